# What a step leaves in Redis: the customer's hash under the hashed id,
# with its TTL, their steps and transition counts, never the raw id.

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

    # the same shop in every block, unless it says otherwise
    $block->set_value("http_config", <<'_EOC_') unless $block->http_config;
    cx_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    cx_timeout 10s;
    cx_secret k1-0123456789abcdef;
    cx_prefix t010:;
    cx_rule_reverse 0;
    cx_history 3;
    cx_ttl 1h;
_EOC_

    $block->set_value("config", <<'_EOC_');
    cx on;
    cx_header on;
    cx_step home /;
    cx_step cart /cart;
    cx_step checkout /checkout;
    cx_goal checkout;
    location / { return 200 "$cx_step\n"; }
_EOC_

    CxTest::quiet($block);
});

run_tests();

__DATA__

=== TEST 1: a step is recorded
--- init
CxTest::clear($ENV{TEST_NGINX_REDIS_PORT}, "t010:");
--- request
GET /cart
--- more_headers
Cookie: cx_id=alice-raw-id
--- response_body
cart
--- response_headers
X-CX-Status: MISS



=== TEST 2: the steps are stored under the hashed id, with a TTL
--- init
my $p = $ENV{TEST_NGINX_REDIS_PORT};
my @keys = CxTest::keys_of($p, "t010:");
Test::More::is("@{[ map { s/\{[0-9a-f]{16}\}/{H}/r } @keys ]}",
               "t010:{H}:s",
               "one hash, under the hashed id as hash tag");
(my $base = $keys[0] // "") =~ s/:s$//;
Test::More::is_deeply([CxTest::steps($p, $base)],
                      [("cart /cart") x Test::Nginx::Socket::repeat_each()],
                      "it holds the step");
my $ttl = CxTest::redis($p, "TTL", $keys[0] // "");
Test::More::ok($ttl > 0 && $ttl <= 3600, "it expires ($ttl)");
Test::More::ok(!grep({ /alice/ } @keys,
                     CxTest::redis($p, "HGETALL", $keys[0] // "")),
               "the raw id is stored nowhere");
Test::More::is(CxTest::redis($p, "HGET", $keys[0], "goals"), 0,
               "no goal reached yet");
--- request eval
["GET /", "GET /cart", "GET /checkout", "GET /"]
--- more_headers
Cookie: cx_id=bob
--- response_body eval
["home\n", "cart\n", "checkout\n", "home\n"]



=== TEST 3: rules, habits, goal paths are kept; the history is bounded
--- init
my $p = $ENV{TEST_NGINX_REDIS_PORT};
my $n = Test::Nginx::Socket::repeat_each();
my ($bob) = grep { CxTest::steps($p, $_) == 3 }
            CxTest::customers($p, "t010:");
Test::More::ok($bob, "the history is bounded by cx_history");
Test::More::is_deeply([CxTest::steps($p, $bob // "")],
                      ["home /", "checkout /checkout", "cart /cart"],
                      "newest step first");
my ($home) = CxTest::keys_of($p, "t010:t:{home}:");
my $w1 = CxTest::redis($p, "ZSCORE", $home // "", "cart /cart") || 0;
my $w2 = CxTest::redis($p, "ZSCORE", $home // "", "checkout /checkout") || 0;
Test::More::ok($w1 > $w2 && $w2 > 0,
               "home -> cart (distance 1) outweighs home -> checkout (2)");
my $h = $bob // "";
Test::More::is(CxTest::habit($p, $h, "cart checkout /checkout"),
               $n, "the customer's own cart -> checkout counted");
Test::More::is(CxTest::redis($p, "HGET", "$h:s", "goals"), $n,
               "each journey to checkout counts as a goal");
Test::More::is(CxTest::redis($p, "LINDEX", "$h:g", 0),
               "home /|cart /cart|checkout /checkout",
               "the path to the goal is kept");
my @nottl = grep { CxTest::redis($p, "TTL", $_) <= 0 }
            CxTest::keys_of($p, "t010:");
Test::More::is("@nottl", "", "every key has a TTL");
Test::More::ok(!grep({ /^t010:t:\{checkout\}/ } CxTest::keys_of($p, "t010:")),
               "no rule crosses the end of a journey");
--- request
GET /
--- more_headers
Cookie: cx_id=carol
--- response_body
home
--- response_headers
X-CX-Status: HIT
X-CX-Next: /cart, /checkout



=== TEST 4: with cx_history over 16, the whole history in a list too
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    cx_timeout 10s;
    cx_secret k1-0123456789abcdef;
    cx_prefix t010h:;
    cx_history 20;
    cx_ttl 1h;
--- init
CxTest::clear($ENV{TEST_NGINX_REDIS_PORT}, "t010h:");
--- request eval
[map { $_ % 2 ? "GET /cart" : "GET /" } 1 .. 25]
--- more_headers
Cookie: cx_id=dave
--- response_body eval
[map { $_ % 2 ? "cart\n" : "home\n" } 1 .. 25]



=== TEST 5: the list is bounded, and the hash keeps the last 16
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    cx_timeout 10s;
    cx_secret k1-0123456789abcdef;
    cx_prefix t010h:;
    cx_history 20;
    cx_ttl 1h;
--- init
my $p = $ENV{TEST_NGINX_REDIS_PORT};
my ($dave) = CxTest::customers($p, "t010h:");
my $seq = ($dave // "") . ":seq";
my $len = CxTest::redis($p, "LLEN", $seq);
Test::More::ok($len >= 20 && $len <= 35,
               "the list holds cx_history steps, at most 15 more ($len)");
Test::More::is(join(",", CxTest::redis($p, "LRANGE", $seq, 0, 1)),
               "cart /cart,home /", "newest first");
my $ttl = CxTest::redis($p, "TTL", $seq);
Test::More::ok($ttl > 0 && $ttl <= 3600, "it expires ($ttl)");
Test::More::is(scalar(CxTest::steps($p, $dave // "")), 16,
               "the hash keeps the 16 the module reads");
--- request
GET /
--- more_headers
Cookie: cx_id=erin
--- response_body
home
