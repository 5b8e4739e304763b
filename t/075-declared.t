# Only declared steps are suggested, each with the url its cx_step gives
# it: a suggestion read back from Redis is found among the location's
# exact steps by its name (ngx_http_cx_exact(), a table of their names),
# else among its regex steps.  Names that differ only in length, or only
# in a byte the table does not look at, are steps of their own; an exact
# step is found before a regex step that makes the same name; a location
# with steps of its own does not see the server's, one without them
# inherits them.

use Test::Nginx::Socket;
use lib 't/cx';
use CxTest;

repeat_each(2);

plan tests => CxTest::planned(qr/Test::More::(?!diag)\w+\(/, 1);

no_shuffle();
no_root_location();

$ENV{TEST_NGINX_REDIS_PORT} ||= 6379;

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("http_config", <<'_EOC_');
    cx_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    cx_timeout 10s;
    cx_secret k075-0123456789abcdef;
    cx_prefix t075:;
    cx_rule_reverse 0;
    cx_revisit 0;
_EOC_

    my $out = $block->out // 'next=$cx_next';

    # "cat-a-x" and "cat-b-x" share length, first, middle and last byte,
    # as "p121" and "p221" do
    $block->set_value("config", <<_EOC_);
    cx on;
    cx_suggest 10;
    cx_pace hurried=0 relaxed=1h;
    cx_step home /;
    cx_step cart /cart;
    cx_step cart2 /cart-two;
    cx_step cat-a-x /a label=A;
    cx_step cat-b-x /b label=B;
    cx_step item:\$1 ~^/item/(\\d+)\$;
    cx_step item:0 /item/zero;
    cx_step p121 /p/121;
    cx_step p221 /p/221;
    location / { return 200 "$out\\n"; }
    location /own/ {
        cx_step home /own/;
        cx_step basket /own/basket;
        return 200 "$out\\n";
    }
_EOC_

    # home's successors as Redis holds them, heaviest first, urls stale
    # or the step's own; the shop's and those of no step
    $block->set_value("init", <<'_EOC_' . ($block->init // ''));
my $p = $ENV{TEST_NGINX_REDIS_PORT};
CxTest::clear($p, "t075:");
CxTest::journeys(Test::Nginx::Socket::server_port(),
                 ["teacher", "/", "/cart"]);
my $key;
CxTest::wait_until(sub { ($key) = CxTest::keys_of($p, "t075:t:{home}:");
                         defined $key }, 10)
    or die "no rules of home";
my $w = 1e30;
for my $m ("cart2 /x", "cart /y", "cat-a-x /z", "cat-b-x /w",
           "item:0 /item/0", "item:7 /item/7", "basket /own/basket",
           "cat-c-x /c", "car /car", "cart22 /cart-two", "home2 /own/")
{
    CxTest::redis($p, "ZINCRBY", $key, $w, $m);
    $w /= 2;
}
_EOC_

    CxTest::quiet($block);
});

run_tests();

__DATA__

=== TEST 1: the server's steps, each by its own name
--- request
GET /
--- more_headers
Cookie: cx_id=first
--- response_body
next=/cart-two /cart /a /b /item/zero /item/7



=== TEST 2: found by name, the label too
--- out: $cx_next_json
--- request
GET /
--- more_headers
Cookie: cx_id=second
--- response_body_like
^\{"status":"HIT","step":"home",.*"next":\[\{"step":"cart2","url":"/cart-two","label":"cart2",[^\]]*\},\{"step":"cart","url":"/cart","label":"cart",[^\]]*\},\{"step":"cat-a-x","url":"/a","label":"A",[^\]]*\},\{"step":"cat-b-x","url":"/b","label":"B",[^\]]*\},\{"step":"item:0","url":"/item/zero","label":"item:0",[^\]]*\},\{"step":"item:7","url":"/item/7","label":"item:7",[^\]]*\}\]\}$



=== TEST 3: a location with steps of its own, not the server's
--- request
GET /own/
--- more_headers
Cookie: cx_id=third
--- response_body
next=/own/basket



=== TEST 4: a suggestion read back with a stale url is its step's, with the
candidate of the url its step gives it; another name's at that url is not
--- out: $cx_next_json
--- init
# after the init above: $p its Redis port, $key the rules of home
CxTest::journeys(Test::Nginx::Socket::server_port(),
                 ["teacher", "/cart", "/a"]);
undef $key;
CxTest::wait_until(sub { ($key) = CxTest::keys_of($p, "t075:t:{cart}:");
                         defined $key }, 10)
    or die "no rules of cart";
CxTest::redis($p, "ZADD", $key, 4, "cat-a-x /a", 3, "cart2 /cart-two",
              2, "cat-a-x /stale", 1, "ghost /a");
--- request
GET /cart
--- more_headers
Cookie: cx_id=fourth
--- response_body_like
^\{"status":"HIT","step":"cart",.*"next":\[\{"step":"cat-a-x","url":"/a","label":"A","score":1\.0000,"reason":"popular"\},\{"step":"cart2","url":"/cart-two","label":"cart2","score":0\.5000,"reason":"popular"\}\]\}$



=== TEST 5: a stale url is its step's candidate, added before another's
--- out: $cx_next_json
--- init
# after the init above: $p its Redis port, $key the rules of home
CxTest::journeys(Test::Nginx::Socket::server_port(),
                 ["teacher", "/cart-two", "/p/121"]);
undef $key;
CxTest::wait_until(sub { ($key) = CxTest::keys_of($p, "t075:t:{cart2}:");
                         defined $key }, 10)
    or die "no rules of cart2";
CxTest::redis($p, "ZADD", $key, 8, "p121 /p/121", 4, "p221 /p/221",
              2, "p121 /stale");
--- request
GET /cart-two
--- more_headers
Cookie: cx_id=fifth
--- response_body_like
^\{"status":"HIT","step":"cart2",.*"next":\[\{"step":"p121","url":"/p/121","label":"p121","score":1\.0000,"reason":"popular"\},\{"step":"p221","url":"/p/221","label":"p221","score":0\.4000,"reason":"popular"\}\]\}$



=== TEST 6: a regex step's suggestion and another name at its url
--- out: $cx_next_json
--- init
# after the init above: $p its Redis port, $key the rules of home
CxTest::journeys(Test::Nginx::Socket::server_port(),
                 ["teacher", "/a", "/item/7"]);
undef $key;
CxTest::wait_until(sub { ($key) = CxTest::keys_of($p, "t075:t:{cat-a-x}:");
                         defined $key }, 10)
    or die "no rules of cat-a-x";
CxTest::redis($p, "ZADD", $key, 4, "item:7 /item/7", 4, "item:8 /item/7",
              2, "cart /cart");
--- request
GET /a
--- more_headers
Cookie: cx_id=sixth
--- response_body_like
^\{"status":"HIT","step":"cat-a-x",.*"next":\[\{"step":"item:7","url":"/item/7","label":"item:7","score":1\.0000,"reason":"popular"\},\{"step":"cart","url":"/cart","label":"cart","score":0\.5000,"reason":"popular"\}\]\}$
