# Delivery into the page: the html block before </body>, only where it
# belongs; the JSON endpoint for single-page apps; prefetch of the top
# suggestion.

use Test::Nginx::Socket;
use lib 't/cx';
use CxTest;

repeat_each(2);

plan tests => CxTest::planned(qr/Test::More::(?!diag)\w+\(/, 1);

no_shuffle();
no_root_location();

$ENV{TEST_NGINX_REDIS_PORT} ||= 6379;
$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("http_config", <<'_EOC_');
    cx_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    cx_timeout 10s;
    cx_secret k8-0123456789abcdef;
    cx_prefix t080:;
    cx_rule_reverse 0;
_EOC_

    $block->set_value("config", <<'_EOC_' . $block->config);
    cx on;
    cx_step home /;
    cx_step cart /cart;
    cx_step checkout /checkout;
    cx_step page /page.html;
    cx_step split /split.html;
_EOC_

    # two shoppers: home, page, cart, checkout; split, cart
    $block->set_value("init", <<'_EOC_' . ($block->init // ''));
CxTest::clear($ENV{TEST_NGINX_REDIS_PORT}, "t080:");
CxTest::journeys(Test::Nginx::Socket::server_port(),
                 map { [$_, "/", "/page.html", "/cart", "/checkout"],
                       [$_ . "x", "/split.html", "/cart"] } qw(a b));
_EOC_

    # every step of the journeys is a page: 404s teach nothing
    $block->set_value("user_files", <<'_EOC_'
>>> index.html
<html><body>home</body></html>
>>> cart
cart
>>> checkout
checkout
>>> pay
pay
>>> page.html
<html><body><h1>page</h1></BODY></html>
>>> split.html
<html><body>helloo</body></html>
>>> plain.txt
</body>
_EOC_
        . ($block->user_files // ''));

    CxTest::quiet($block);
});

run_tests();

__DATA__

=== TEST 1: the block goes before </body>, the page becomes private
--- config
    cx_inject on;
    location / { root $TEST_NGINX_HTML_DIR; }
--- request
GET /page.html
--- more_headers
Cookie: cx_id=new
--- response_body
<html><body><h1>page</h1><nav class="cx-next" aria-label="Suggested next steps"><ul><li><a href="/cart">cart</a></li><li><a href="/checkout">checkout</a></li></ul></nav></BODY></html>
--- response_headers
Cache-Control: private
!Content-Length
!ETag



=== TEST 2: a tag cut by buffer boundaries, and a cache header replaced
--- config
    cx_inject on;
    cx_suggest 1;
    location / {
        root $TEST_NGINX_HTML_DIR;
        output_buffers 1 8;
        add_header Cache-Control "public, max-age=600";
    }
--- request
GET /split.html
--- more_headers
Cookie: cx_id=new
--- response_body
<html><body>helloo<nav class="cx-next" aria-label="Suggested next steps"><ul><li><a href="/cart">cart</a></li></ul></nav></body></html>
--- response_headers
Cache-Control: private
!Accept-Ranges
--- no_error_log
[alert]



=== TEST 3: a template of the shop's own
--- config
    cx_inject on;
    cx_inject_template '<div id="cx" data-level="$cx_level">$cx_next</div>';
    location / { root $TEST_NGINX_HTML_DIR; }
--- request
GET /page.html
--- more_headers
Cookie: cx_id=new
--- response_body
<html><body><h1>page</h1><div id="cx" data-level="new">/cart /checkout</div></BODY></html>
--- response_headers
Cache-Control: private



=== TEST 4: not html: untouched
--- config
    cx_inject on;
    cx_step plain /plain.txt;
    location / { root $TEST_NGINX_HTML_DIR; }
--- init
CxTest::journeys(Test::Nginx::Socket::server_port(),
                 ["p", "/plain.txt", "/cart"]);
--- request
GET /plain.txt
--- more_headers
Cookie: cx_id=new
--- response_body
</body>
--- response_headers
!Cache-Control



=== TEST 5: a compressed body from upstream: untouched
--- config
    cx_inject on;
    location = /page.html {
        proxy_pass http://127.0.0.1:$server_port/gz;
    }
    location = /gz {
        cx off;
        default_type text/html;
        add_header Content-Encoding gzip;
        return 200 "<html><body>gz</body></html>";
    }
--- request
GET /page.html
--- more_headers
Cookie: cx_id=new
--- response_body chomp
<html><body>gz</body></html>
--- response_headers
Content-Encoding: gzip



=== TEST 6: not a 200: untouched
--- config
    cx_inject on;
    location / {
        default_type text/html;
        return 404 "<html><body>missing</body></html>";
    }
--- request
GET /cart
--- more_headers
Cookie: cx_id=new
--- error_code: 404
--- response_body chomp
<html><body>missing</body></html>



=== TEST 7: nothing to show: untouched, still cacheable
--- config
    cx_inject on;
    location / {
        default_type text/html;
        add_header Cache-Control "public";
        return 200 "<html><body>end</body></html>";
    }
--- request
GET /checkout
--- more_headers
Cookie: cx_id=new
--- response_body chomp
<html><body>end</body></html>
--- response_headers
Cache-Control: public



=== TEST 8: the JSON endpoint, for the page in ?uri=
--- config
    location = /cx/next { cx_api; }
--- request
GET /cx/next?uri=%2Fpage.html
--- more_headers
Cookie: cx_id=spa
--- response_body chomp
{"status":"HIT","step":"page","level":"new","pace":"steady","shortcut":null,"next":[{"step":"cart","url":"/cart","label":"cart","score":1.0000,"reason":"popular"},{"step":"checkout","url":"/checkout","label":"checkout","score":0.5000,"reason":"popular"}]}
--- response_headers
Content-Type: application/json
Cache-Control: no-store



=== TEST 9: the JSON endpoint records nothing
--- config
    location = /cx/next { cx_api; }
--- init
my $port = Test::Nginx::Socket::server_port();
my @before = CxTest::keys_of($ENV{TEST_NGINX_REDIS_PORT}, "t080:");
CxTest::http_get($port, "/cx/next?uri=/cart", { Cookie => "cx_id=ghost" });
my @after = CxTest::keys_of($ENV{TEST_NGINX_REDIS_PORT}, "t080:");
Test::More::is("@after", "@before", "no key written by cx_api");
--- request
GET /cx/next?uri=/cart
--- more_headers
Cookie: cx_id=ghost
--- response_body chomp
{"status":"HIT","step":"cart","level":"new","pace":"steady","shortcut":null,"next":[{"step":"checkout","url":"/checkout","label":"checkout","score":1.0000,"reason":"popular"}]}



=== TEST 10: the page from the Referer, of this host
--- config
    location = /cx/next { cx_api; }
--- request
GET /cx/next
--- more_headers
Host: shop.example
Cookie: cx_id=spa2
Referer: https://shop.example/cart?ref=1
--- response_body_like chomp
^\{"status":"HIT","step":"cart",.*"url":"/checkout"
--- response_headers
Content-Type: application/json



=== TEST 11: no page, no customer: the status alone
--- config
    location = /cx/next { cx_api; }
--- request
GET /cx/next?uri=/cart
--- response_body chomp
{"status":"BYPASS","next":[]}



=== TEST 12: only GET and HEAD
--- config
    location = /cx/next { cx_api; }
--- request
POST /cx/next
hello
--- error_code: 405



=== TEST 13: prefetch of the top suggestion
--- config
    cx_prefetch on;
    location / { return 200 "ok\n"; }
--- request
GET /page.html
--- more_headers
Cookie: cx_id=new
--- response_headers
Link: </cart>; rel=prefetch



=== TEST 14: no suggestion, no prefetch
--- config
    cx_prefetch on;
    location / { return 200 "ok\n"; }
--- request
GET /checkout
--- more_headers
Cookie: cx_id=new
--- response_body
ok
--- response_headers
!Link



=== TEST 15: the block escapes what it shows
--- config
    cx_inject on;
    cx_step pay /pay /pay?from=cx&step=2;
    location / { root $TEST_NGINX_HTML_DIR; }
--- init
CxTest::journeys(Test::Nginx::Socket::server_port(),
                 ["e1", "/split.html", "/pay"], ["e2", "/split.html", "/pay"],
                 ["e3", "/split.html", "/pay"]);
--- request
GET /split.html
--- more_headers
Cookie: cx_id=new
--- response_body
<html><body>helloo<nav class="cx-next" aria-label="Suggested next steps"><ul><li><a href="/pay?from=cx&amp;step=2">pay</a></li><li><a href="/cart">cart</a></li></ul></nav></body></html>



=== TEST 16: the Referer's path decoded as a page request's Referer is
--- config
    location = /cx/next { cx_api; }
--- request
GET /cx/next
--- more_headers
Cookie: cx_id=spa3
Referer: http://localhost:8080/c%61rt#top
--- response_body chomp
{"status":"HIT","step":"cart","level":"new","pace":"steady","shortcut":null,"next":[{"step":"checkout","url":"/checkout","label":"checkout","score":1.0000,"reason":"popular"}]}



=== TEST 17: another site's Referer names no page of this one
--- config
    location = /cx/next { cx_api; }
--- request
GET /cx/next
--- more_headers
Cookie: cx_id=spa4
Referer: https://elsewhere.example/cart
--- response_body chomp
{"status":"BYPASS","next":[]}
