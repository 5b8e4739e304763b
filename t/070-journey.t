# Serving at the customer's rhythm: new customers get everyone's guidance,
# returning ones their own habits and a shortcut once a habit exists, a
# hurried one fewer choices, a relaxed one the full list, one going in
# circles the help step first; only declared steps, valid JSON.

use Test::Nginx::Socket;
use lib 't/cx';
use CxTest;
use JSON::PP ();

repeat_each(2);

plan tests => CxTest::planned(qr/Test::More::(?!diag)\w+\(/, 1);

no_shuffle();
no_root_location();

$ENV{TEST_NGINX_REDIS_PORT} ||= 6379;

our $Shop = <<'_EOC_';
    cx on;
    cx_header on;
    cx_step home /;
    cx_step search /search;
    cx_step item:$1 ~^/item/(\d+)$ /item/$1;
    cx_step cart /cart;
    cx_step checkout /checkout;
    cx_step help /help;
    cx_goal checkout;
    cx_help help;
    cx_shortcut checkout;
_EOC_

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("http_config", <<'_EOC_');
    cx_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    cx_timeout 10s;
    cx_secret k7-0123456789abcdef;
    cx_prefix t070:;
    cx_rule_reverse 0;
    cx_revisit 0;
_EOC_

    my $pace = $block->pace // "hurried=0 relaxed=1h";
    my $out = $block->out
              // 'level=$cx_level pace=$cx_pace shortcut=$cx_shortcut '
                 . 'next=$cx_next';

    $block->set_value("config", $main::Shop . <<_EOC_);
    cx_pace $pace;
    location / { return 200 "$out\\n"; }
_EOC_

    # three shoppers: home, search, item 1, cart, checkout
    $block->set_value("init", <<'_EOC_' . ($block->init // ''));
CxTest::clear($ENV{TEST_NGINX_REDIS_PORT}, "t070:");
CxTest::journeys(Test::Nginx::Socket::server_port(),
                 map { [$_, "/", "/search", "/item/1", "/cart", "/checkout"] }
                 qw(s1 s2 s3));
_EOC_

    CxTest::quiet($block);
});

run_tests();

__DATA__

=== TEST 1: a new customer gets everyone's guidance, nearest step first
--- request
GET /search
--- more_headers
Cookie: cx_id=newbie
--- response_body
level=new pace=steady shortcut= next=/item/1 /cart /checkout



=== TEST 2: a returning customer gets the own habit first
--- init
CxTest::journeys(Test::Nginx::Socket::server_port(),
                 ["ret", "/", "/search", "/item/2", "/cart", "/checkout"]);
--- request
GET /search
--- more_headers
Cookie: cx_id=ret
--- response_body
level=returning pace=steady shortcut= next=/item/2 /item/1 /cart



=== TEST 3: the shortcut appears once a habit exists
--- init
my $port = Test::Nginx::Socket::server_port();
CxTest::journeys($port, ["hab", "/", "/item/3", "/cart", "/checkout"]);
my (undef, undef, $body) = CxTest::http_get($port, "/item/3",
                                            { Cookie => "cx_id=hab" });
Test::More::like($body, qr/ shortcut= next=/, "no shortcut after one path");
CxTest::journeys($port, ["hab", "/cart", "/checkout"]);
--- request
GET /item/3
--- more_headers
Cookie: cx_id=hab
--- response_body
level=returning pace=steady shortcut=/checkout next=/cart



=== TEST 4: three purchases make an expert
--- init
CxTest::journeys(Test::Nginx::Socket::server_port(),
                 map { ["exp", "/", "/cart", "/checkout"] } 1 .. 3);
--- request
GET /
--- more_headers
Cookie: cx_id=exp
--- response_body_like
^level=expert pace=steady shortcut=/checkout next=/cart /search /item/1$



=== TEST 5: a hurried customer gets one direct choice
--- pace: hurried=1h relaxed=2h
--- init
CxTest::journeys(Test::Nginx::Socket::server_port(),
                 ["hur", "/", "/search", "/item/1"]);
--- request
GET /cart
--- more_headers
Cookie: cx_id=hur
--- response_body
level=new pace=hurried shortcut= next=/checkout



=== TEST 6: a relaxed customer gets the full list
--- init
my $p = $ENV{TEST_NGINX_REDIS_PORT};
CxTest::journeys(Test::Nginx::Socket::server_port(), ["rel", "/item/777"]);
my ($base) = grep { (CxTest::steps($p, $_))[0] eq "item:777 /item/777" }
             CxTest::customers($p, "t070:");
my $state = "$base:s";
# a day between steps, on average, over five gaps
CxTest::redis($p, "HSET", $state, "gap", 86400000, "ngaps", 5);
Test::More::is(CxTest::redis($p, "HGET", $state, "ngaps"), 5, "pace seeded");
--- request
GET /search
--- more_headers
Cookie: cx_id=rel
--- response_body
level=new pace=relaxed shortcut= next=/item/1 /cart /checkout



=== TEST 7: going in circles brings the help step first
The rest by prediction alone (cx_demote 1 by default): /search, the step
just left, is not demoted.
--- init
CxTest::journeys(Test::Nginx::Socket::server_port(),
                 ["lost", "/", "/search", "/", "/search"]);
--- request
GET /
--- more_headers
Cookie: cx_id=lost
--- response_body_like
^level=new pace=steady shortcut= next=/help /search /item/1$



=== TEST 8: a step no longer declared is never suggested
--- init
my $p = $ENV{TEST_NGINX_REDIS_PORT};
my ($key) = CxTest::keys_of($p, "t070:t:{cart}:");
CxTest::redis($p, "ZINCRBY", $key, "1e30", "ghost /ghost");
CxTest::redis($p, "ZINCRBY", $key, "1e30", "item:9 /item/x");
--- request
GET /cart
--- more_headers
Cookie: cx_id=newbie2
--- response_body
level=new pace=steady shortcut= next=/checkout



=== TEST 9: the answer as JSON
--- out: $cx_next_json
--- init
my $port = Test::Nginx::Socket::server_port();
CxTest::journeys($port, map { ["js", "/", "/item/4", "/cart", "/checkout"] }
                        1 .. 2);
my (undef, undef, $body) = CxTest::http_get($port, "/item/4",
                                            { Cookie => "cx_id=js" });
my $j = eval { JSON::PP::decode_json($body) };
Test::More::ok($j, "the body is JSON") or Test::More::diag($body);
Test::More::is($j && $j->{shortcut}{url}, "/checkout", "with the shortcut");
Test::More::like($j && $j->{next}[0]{reason}, qr/^(personal|popular)$/,
                 "and the reason for a suggestion");
--- request
GET /cart
--- more_headers
Cookie: cx_id=js
--- response_body_like
^\{"status":"HIT","step":"cart","level":"returning","pace":"steady","shortcut":null,"next":\[\{"step":"checkout","url":"/checkout","label":"checkout","score":1\.0000,"reason":"(personal|popular)"\}\]\}$



=== TEST 10: JSON for a request that is no step
--- out: $cx_next_json
--- request
GET /favicon.ico
--- response_body
{"status":"BYPASS","next":[]}
