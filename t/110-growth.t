# Issue 7: a visitor without a cookie costs Redis nothing, and one id
# inventing urls teaches the model at most 20 steps at once (and 500 a
# day), however many requests it sends at once.
#
# A visitor without a cookie costs Redis nothing.  Each such
# request is issued a fresh id; if it were recorded under that id, every
# bot or cookieless client would leave a customer's keys behind, 10,000
# requests 20,000 keys.  Recording starts when the id comes back.
#
# This file starts a redis-server of its own, so that DBSIZE counts only
# what these requests wrote.

use Test::Nginx::Socket;
use lib 't/cx';
use CxTest;
use POSIX ();

our $Redis = CxTest::start_redis();

$ENV{TEST_NGINX_CX_REDIS_PORT} = $Redis->{port};

repeat_each(1);

# the init's own checks, then the status, body and two log patterns
plan tests => CxTest::planned(qr/Test::More::(?!diag)\w+\(/, 1);

no_shuffle();
no_root_location();

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("http_config", <<'_EOC_');
    cx_redis 127.0.0.1:$TEST_NGINX_CX_REDIS_PORT;
    cx_timeout 10s;
    cx_secret k110-0123456789abcdef;
    cx_prefix t110:;
_EOC_

    $block->set_value("config", <<'_EOC_');
    cx on;
    cx_header on;
    cx_cookie cx_id;
    cx_step home /;
    cx_step cart /cart;
    cx_step item:$1 ~^/item/(\d+)$;
    location / { return 200 "step=$cx_step\n"; }
_EOC_

    CxTest::quiet($block);
});

run_tests();

__DATA__

=== TEST 1: 10,000 requests without a cookie add no key to Redis
--- init
my $p = $main::Redis->{port};
my $port = Test::Nginx::Socket::server_port();
CxTest::redis($p, "FLUSHALL");
my $seen = CxTest::http_bulk($port, 10000, "/cart");
Test::More::is($seen->{200}, 10000, "every request answered 200")
    or Test::More::diag(join " ", %$seen);
Test::More::is($seen->{cookie}, 10000, "each one offered an id cookie");
# one customer with an id: the keys it leaves are found by its sequence,
# and its answer comes after what the requests before it wrote (one
# worker, one connection to Redis, in order)
my $sync = CxTest::customer_key($p, "t110:", $port, "sync", "/");
CxTest::http_get($port, "/", { Cookie => "cx_id=sync" });
my @left = grep { index($_, "$sync:") != 0 } CxTest::keys_of($p, "t110:");
Test::More::is(scalar @left, 0, "no key from the cookieless requests")
    or Test::More::diag("DBSIZE " . CxTest::redis($p, "DBSIZE")
                        . ", e.g. $left[0]");
--- request
GET /cart
--- response_body
step=cart
--- no_error_log
[alert]
[error]



=== TEST 2: one id inventing 1200 urls on 12 connections at once: 20 steps teach
--- init
my $p = $main::Redis->{port};
my $port = Test::Nginx::Socket::server_port();
CxTest::redis($p, "FLUSHALL");
my @kids;
for my $c (0 .. 11) {
    my $pid = fork();
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        my $ok = 0;
        for my $i (0 .. 99) {
            my ($st) = CxTest::http_get($port, "/item/" . ($c * 100 + $i),
                                        { Cookie => "cx_id=inventor" });
            $ok++ if $st == 200;
        }
        POSIX::_exit($ok == 100 ? 0 : 1);
    }
    push @kids, $pid;
}
my $bad = 0;
for (@kids) { waitpid($_, 0); $bad++ if $?; }
Test::More::is($bad, 0, "every request answered 200");
CxTest::customer_key($p, "t110:", $port, "sync2", "/");
my @rules = grep { /^t110:t:\{item:/ } CxTest::keys_of($p, "t110:");
# the learning rate lets 20 steps through at once, counted by Redis
# (t/130-learn.t); each teaches the rules from at most 3 steps before it
Test::More::cmp_ok(scalar @rules, '<=', 60,
                   scalar(@rules) . " rule keys from one id's 1200 steps");
Test::More::cmp_ok(scalar @rules, '>=', 1, "its first steps were learned");
--- request
GET /item/1
--- more_headers
Cookie: cx_id=inventor
--- response_body
step=item:1
--- no_error_log
[alert]
[error]
