# Labels: what a suggestion is shown as (cx_step label=), in the block, the
# JSON and the per-item template (cx_inject_item_template, $cx_items,
# $cx_item_*); the block's words (cx_inject_text); hostile labels and
# captures escaped; labels refused when the configuration is read.

use Test::Nginx::Socket;
use lib 't/cx';
use CxTest;

repeat_each(2);

plan tests => CxTest::planned(undef, 1);

no_shuffle();
no_root_location();

$ENV{TEST_NGINX_REDIS_PORT} ||= 6379;

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("http_config", <<'_EOC_');
    cx_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    cx_timeout 10s;
    cx_secret k15-0123456789abcdef;
    cx_prefix t150:;
    cx_rule_reverse 0;
    cx_rule_distance 3;
_EOC_

    if (defined $block->must_die) {
        CxTest::quiet($block);
        return;
    }

    # a hostile label of the shop's own, a label with a capture (client
    # bytes), steps without a label
    $block->set_value("config", <<'_EOC_' . ($block->config // ''));
    cx on;
    cx_step page /page.html;
    cx_step cart /cart "label=Your <cart> & \"more\" 'stuff' 100% café";
    cx_step item:$1 ~^/item/([^/]+)$ /item/$1 "label=Item $1 for $$5";
    cx_step plain /plain;
    cx_step help /help "label=Need help?";
    cx_step checkout /checkout label=Checkout;
    cx_goal checkout;
    cx_help help;
    cx_shortcut checkout;
    location / {
        default_type text/html;
        return 200 "<html><body>page</body></html>";
    }
_EOC_

    # two shoppers: page, cart, an item whose id is markup, plain,
    # checkout; from the page: cart, then the item, then plain
    $block->set_value("init", <<'_EOC_' . ($block->init // ''));
CxTest::clear($ENV{TEST_NGINX_REDIS_PORT}, "t150:");
CxTest::journeys(Test::Nginx::Socket::server_port(),
                 map { [$_, "/page.html", "/cart", "/item/%3Cb%3E%22x%27%20y",
                        "/plain", "/checkout"] } qw(a b));
_EOC_

    CxTest::quiet($block);
});

run_tests();

__DATA__

=== TEST 1: the block shows labels, else step names, every one escaped
--- config
    cx_inject on;
    cx_header on;
--- request
GET /page.html
--- more_headers
Cookie: cx_id=new
--- response_body chomp
<html><body>page<nav class="cx-next" aria-label="Suggested next steps"><ul><li><a href="/cart">Your &lt;cart&gt; &amp; &quot;more&quot; &#39;stuff&#39; 100% café</a></li><li><a href="/item/%3Cb%3E%22x%27%20y">Item %3Cb%3E%22x%27%20y for $5</a></li><li><a href="/plain">plain</a></li></ul></nav></body></html>
--- response_headers
X-CX-Next: /cart, /item/%3Cb%3E%22x%27%20y, /plain



=== TEST 2: $cx_next_json: a label beside each url, JSON-escaped, <>& too
--- config
    location = /page.html {
        return 200 "$cx_next_json";
    }
--- request
GET /page.html
--- more_headers
Cookie: cx_id=new
--- response_body chomp
{"status":"HIT","step":"page","level":"new","pace":"steady","shortcut":null,"next":[{"step":"cart","url":"/cart","label":"Your \u003ccart\u003e \u0026 \"more\" 'stuff' 100% café","score":1.0000,"reason":"popular"},{"step":"item:%3Cb%3E%22x%27%20y","url":"/item/%3Cb%3E%22x%27%20y","label":"Item %3Cb%3E%22x%27%20y for $5","score":0.5000,"reason":"popular"},{"step":"plain","url":"/plain","label":"plain","score":0.3333,"reason":"popular"}]}



=== TEST 3: cx_api, with the shortcut's label
--- config
    location = /cx/next { cx_api; }
--- init
CxTest::journeys(Test::Nginx::Socket::server_port(),
                 map { ["sc", "/page.html", "/cart", "/checkout"] } 1 .. 2);
--- request
GET /cx/next?uri=/page.html
--- more_headers
Cookie: cx_id=sc
--- response_body_like chomp
^\{"status":"HIT","step":"page","level":"returning","pace":"[a-z]+","shortcut":\{"step":"checkout","url":"/checkout","label":"Checkout"\},"next":\[\{"step":"cart","url":"/cart","label":"Your \\u003ccart\\u003e \\u0026 \\"more\\" 'stuff' 100% café","score":1\.0000,"reason":"(personal|popular)"\}.*\]\}$
--- response_headers
Content-Type: application/json



=== TEST 4: the block's words, set and escaped; the shortcut's label
--- config
    cx_inject on;
    cx_inject_text "next=Nächste Schritte & <mehr>" "shortcut=Direkt zu:";
    cx_suggest 1;
--- init
CxTest::journeys(Test::Nginx::Socket::server_port(),
                 map { ["sc", "/page.html", "/cart", "/checkout"] } 1 .. 2);
--- request
GET /page.html
--- more_headers
Cookie: cx_id=sc
--- response_body chomp
<html><body>page<nav class="cx-next" aria-label="Nächste Schritte &amp; &lt;mehr&gt;"><ul><li><a href="/cart">Your &lt;cart&gt; &amp; &quot;more&quot; &#39;stuff&#39; 100% café</a></li></ul><p><a class="cx-shortcut" href="/checkout">Direkt zu: Checkout</a></p></nav></body></html>



=== TEST 5: no words before the shortcut's label; the default for next
--- config
    cx_inject on;
    cx_inject_text shortcut=;
    cx_suggest 1;
--- init
CxTest::journeys(Test::Nginx::Socket::server_port(),
                 map { ["sc", "/page.html", "/cart", "/checkout"] } 1 .. 2);
--- request
GET /page.html
--- more_headers
Cookie: cx_id=sc
--- response_body_like chomp
<nav class="cx-next" aria-label="Suggested next steps"><ul><li>.*</li></ul><p><a class="cx-shortcut" href="/checkout">Checkout</a></p></nav></body></html>$



=== TEST 6: one element per suggestion: three
--- config
    cx_inject on;
    cx_inject_template '<ol class="cx">$cx_items</ol>';
    cx_inject_item_template '<li class="$cx_item_reason"><a href="$cx_item_url" title=\'$cx_item_label\'>$cx_item_label</a></li>';
--- request
GET /page.html
--- more_headers
Cookie: cx_id=new
--- response_body chomp
<html><body>page<ol class="cx"><li class="popular"><a href="/cart" title='Your &lt;cart&gt; &amp; &quot;more&quot; &#39;stuff&#39; 100% café'>Your &lt;cart&gt; &amp; &quot;more&quot; &#39;stuff&#39; 100% café</a></li><li class="popular"><a href="/item/%3Cb%3E%22x%27%20y" title='Item %3Cb%3E%22x%27%20y for $5'>Item %3Cb%3E%22x%27%20y for $5</a></li><li class="popular"><a href="/plain" title='plain'>plain</a></li></ol></body></html>



=== TEST 7: one element per suggestion: one, then the shortcut
--- config
    cx_inject on;
    cx_suggest 1;
    cx_inject_template '<ol>$cx_items</ol>';
    cx_inject_item_template '<li class="$cx_item_reason"><a href="$cx_item_url">$cx_item_label</a></li>';
--- init
CxTest::journeys(Test::Nginx::Socket::server_port(),
                 map { ["sc", "/page.html", "/cart", "/checkout"] } 1 .. 2);
--- request
GET /page.html
--- more_headers
Cookie: cx_id=sc
--- response_body_like chomp
^<html><body>page<ol><li class="(personal|popular)"><a href="/cart">Your &lt;cart&gt; &amp; &quot;more&quot; &#39;stuff&#39; 100% café</a></li><li class="shortcut"><a href="/checkout">Checkout</a></li></ol></body></html>$



=== TEST 8: one element per suggestion: the help step first for a lost one
--- config
    cx_inject on;
    cx_suggest 1;
    cx_inject_template '<ol>$cx_items</ol>';
    cx_inject_item_template '<li class="$cx_item_reason">$cx_item_label</li>';
--- init
CxTest::journeys(Test::Nginx::Socket::server_port(),
                 ["lost", "/cart", "/plain", "/cart"]);
--- request
GET /plain
--- more_headers
Cookie: cx_id=lost
--- response_body chomp
<html><body>page<ol><li class="help">Need help?</li></ol></body></html>



=== TEST 9: no suggestion, no element: the page is untouched
--- config
    cx_inject on;
    cx_inject_template '<ol>$cx_items</ol>';
    cx_inject_item_template '<li>$cx_item_label</li>';
--- request
GET /checkout
--- more_headers
Cookie: cx_id=new
--- response_body chomp
<html><body>page</body></html>
--- response_headers
!Cache-Control



=== TEST 10: the item template alone is the block
--- config
    cx_inject on;
    cx_suggest 2;
    cx_inject_item_template '[$cx_item_label]';
--- request
GET /page.html
--- more_headers
Cookie: cx_id=new
--- response_body chomp
<html><body>page[Your &lt;cart&gt; &amp; &quot;more&quot; &#39;stuff&#39; 100% café][Item %3Cb%3E%22x%27%20y for $5]</body></html>



=== TEST 11: $cx_item_* outside the item template are empty, before and after
--- config
    cx_inject on;
    cx_suggest 2;
    cx_inject_template '<p>[$cx_item_label|$cx_item_url|$cx_item_reason]$cx_items[$cx_item_label|$cx_item_url|$cx_item_reason]</p>';
    cx_inject_item_template '<i>$cx_item_url $cx_item_reason $cx_items</i>';
--- request
GET /page.html
--- more_headers
Cookie: cx_id=new
--- response_body chomp
<html><body>page<p>[||]<i>/cart popular </i><i>/item/%3Cb%3E%22x%27%20y popular </i>[||]</p></body></html>



=== TEST 12: $cx_items anywhere a variable is
--- config
    cx_inject_item_template '$cx_item_reason:$cx_item_url;';
    location = /plain {
        return 200 "$cx_items\n";
    }
--- init
CxTest::journeys(Test::Nginx::Socket::server_port(),
                 map { [$_, "/plain", "/cart", "/checkout"] } qw(p1 p2));
--- request
GET /plain
--- more_headers
Cookie: cx_id=new
--- response_body
popular:/checkout;popular:/cart;



=== TEST 13: a label too long once its capture is in: the name
--- config eval
"    cx_inject on;\n"
. '    cx_step long:$1 ~^/long/(\w+)$ "label=' . ("L" x 250) . ' $1";' . "\n"
--- init
CxTest::journeys(Test::Nginx::Socket::server_port(),
                 map { [$_, "/plain", "/long/1", "/long/1234567890"] }
                 qw(l1 l2));
--- request
GET /long/1
--- more_headers
Cookie: cx_id=new
--- response_body chomp
<html><body>page<nav class="cx-next" aria-label="Suggested next steps"><ul><li><a href="/long/1234567890">long:1234567890</a></li></ul></nav></body></html>



=== TEST 14: a label with a control character is refused
--- config
    cx_step cart /cart "label=Your\ncart";
--- must_die
--- error_log eval
qr/\[emerg\] .*the "cx_step" label of "cart" has a control character in \S+nginx\.conf:\d+/



=== TEST 15: a label that is not UTF-8 is refused
--- config eval
qq{    cx_step cart /cart "label=caf\xe9";\n}
--- must_die
--- error_log eval
qr/\[emerg\] .*the "cx_step" label of "cart" is not valid UTF-8 in \S+nginx\.conf:\d+/



=== TEST 16: a label longer than 256 bytes is refused
--- config eval
"    cx_step cart /cart label=" . ("x" x 257) . ";\n"
--- must_die
--- error_log eval
qr/\[emerg\] .*the "cx_step" label of "cart" is longer than 256 bytes in \S+nginx\.conf:\d+/



=== TEST 17: an empty label is refused
--- config
    cx_step cart /cart label=;
--- must_die
--- error_log eval
qr/\[emerg\] .*the "cx_step" label of "cart" is empty in \S+nginx\.conf:\d+/



=== TEST 18: label="..." is not nginx's quoting: refused with the fix
--- config
    cx_step cart /cart label="Your cart";
--- must_die
--- error_log eval
qr/\[emerg\] .*the "cx_step" label of "cart" starts with a quote, write the parameter in quotes as a whole: "label=\.\.\." in \S+nginx\.conf:\d+/



=== TEST 19: a label with a capture its regex does not have
--- config
    cx_step item:$1 ~^/item/(\d+)$ "label=Item $2";
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid step label "Item \$2" in "cx_step" directive, it uses \$2, but its uri has 1 captures in \S+nginx\.conf:\d+/



=== TEST 20: a second label
--- config
    cx_step cart /cart label=a label=b;
--- must_die
--- error_log eval
qr/\[emerg\] .*duplicate parameter "label=b" in "cx_step" directive in \S+nginx\.conf:\d+/



=== TEST 21: cx_inject_text: a control character
--- config
    cx_inject_text "shortcut=Go\tto";
--- must_die
--- error_log eval
qr/\[emerg\] .*the "cx_inject_text" value of "shortcut" has a control character in \S+nginx\.conf:\d+/



=== TEST 22: cx_inject_text: an empty next
--- config
    cx_inject_text next=;
--- must_die
--- error_log eval
qr/\[emerg\] .*the "cx_inject_text" value of "next" is empty in \S+nginx\.conf:\d+/



=== TEST 23: cx_inject_text: an unknown parameter
--- config
    cx_inject_text next=Next heading=Go;
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid parameter "heading=Go" in "cx_inject_text" directive, it must be "next=" or "shortcut=" in \S+nginx\.conf:\d+/



=== TEST 24: JSON in an inline script cannot end it: <, > and & as \u escapes
--- config
    location = /page.html {
        cx_step page /page.html;
        cx_step cart /cart "label=</script><script>alert(1)</script>";
        cx_step plain /plain /plain?a=1&b=2 "label=A & B";
        cx_step help /help;
        cx_step checkout /checkout;
        default_type text/html;
        return 200 "<script>var cx = $cx_next_json;</script>";
    }
--- request
GET /page.html
--- more_headers
Cookie: cx_id=new
--- response_body chomp
<script>var cx = {"status":"HIT","step":"page","level":"new","pace":"steady","shortcut":null,"next":[{"step":"cart","url":"/cart","label":"\u003c/script\u003e\u003cscript\u003ealert(1)\u003c/script\u003e","score":1.0000,"reason":"popular"},{"step":"plain","url":"/plain?a=1\u0026b=2","label":"A \u0026 B","score":0.3333,"reason":"popular"}]};</script>
