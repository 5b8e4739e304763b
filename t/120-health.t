# Connection health and Redis errors: a wrong password backs off, error
# replies on reads and writes count and are named once, a connection that
# stops answering is dropped by the module itself, short pauses make one
# episode.  Redis instances of this file's own, since it breaks them.

use Test::Nginx::Socket;
use lib 't/cx';
use CxTest;
use Time::HiRes qw(sleep);

our $Locked = CxTest::start_redis(undef, undef, "--requirepass", "pw1");
our $Redis = CxTest::start_redis();

$ENV{TEST_NGINX_CX_LOCKED_PORT} = $Locked->{port};
$ENV{TEST_NGINX_CX_REDIS_PORT} = $Redis->{port};

repeat_each(1);

# each block: status, body, no [alert]; plus the checks in --- init
plan tests => CxTest::planned(qr/Test::More::(?!diag)\w+\(/, 1);

no_shuffle();
no_root_location();

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("config", <<'_EOC_' . ($block->config // ''))
    cx on;
    cx_header on;
    cx_step step /step;
    cx_step next /next;
    location = /step { return 200 "step $cx_status\n"; }
    location = /next { return 200 "next $cx_status\n"; }
_EOC_
        ;

    CxTest::quiet($block);
});

sub connections {
    my $info = join "\n", CxTest::redis($main::Locked->{port}, "-a", "pw1",
                                        "--no-auth-warning", "INFO", "stats");
    return $info =~ /total_connections_received:(\d+)/ ? $1 : -1;
}

run_tests();

__DATA__

=== TEST 1: a wrong password: few connections, one line that never shows it
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_LOCKED_PORT password=wrong-secret;
    cx_timeout 10ms;
    cx_secret k120-0123456789abcdef;
--- init
my $before = main::connections();
sleep 3;
my $made = main::connections() - $before - 1;
# connecting again at once would make ~20 a second; with the backoff
# (50 ms doubling to 2 s, reset only once AUTH is answered) about 6
Test::More::cmp_ok($made, '<=', 12, "$made connections in 3 s, backing off");
Test::More::is(CxTest::count_log(CxTest::log_file(),
                                 qr/refused: AUTH: .*WRONGPASS/), 1,
               "the refused AUTH is logged once");
Test::More::is(CxTest::count_log(CxTest::log_file(), qr/wrong-secret/), 0,
               "and never the password");
--- request
GET /step
--- more_headers
Cookie: cx_id=a
--- response_body
step ERROR
--- no_error_log
[emerg]



=== TEST 2: a key of the wrong type: that customer ERROR, named once
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_REDIS_PORT;
    cx_prefix t120a:;
    cx_timeout 10s;
    cx_secret k120-0123456789abcdef;
--- init
my ($rp, $hp) = ($main::Redis->{port}, Test::Nginx::Socket::server_port());
my $base = CxTest::customer_key($rp, "t120a:", $hp, "bad", "/step");
CxTest::redis($rp, "DEL", "$base:s");
CxTest::redis($rp, "RPUSH", "$base:s", "planted");
my $seen = CxTest::http_bulk($hp, 200, "/step", { Cookie => "cx_id=bad" });
Test::More::is($seen->{200}, 200, "200 pages served");
my @lines = grep { /refused/ }
            do { open my $in, '<', CxTest::log_file(); <$in> };
Test::More::is(scalar @lines, 1, "one line for 200 refused reads");
Test::More::like($lines[0] // '', qr/refused: HGETALL t120a:\{[0-9a-f]{16}\}:s: WRONGTYPE/,
                 "it names the command and the key");
(undef, my $h, my $body) = CxTest::http_get($hp, "/step",
                                            { Cookie => "cx_id=good" });
Test::More::is($body, "step MISS\n", "other customers are served");
--- request
GET /step
--- more_headers
Cookie: cx_id=bad
--- response_body
step ERROR
--- no_error_log
[emerg]



=== TEST 3: writes refused for want of memory count as errors, logged
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_REDIS_PORT;
    cx_prefix t120b:;
    cx_timeout 10s;
    cx_secret k120-0123456789abcdef;
--- init
my ($rp, $hp) = ($main::Redis->{port}, Test::Nginx::Socket::server_port());
CxTest::redis($rp, "CONFIG", "SET", "maxmemory-policy", "noeviction");
CxTest::redis($rp, "CONFIG", "SET", "maxmemory", "1");
my $seen = CxTest::http_bulk($hp, 100, "/step", { Cookie => "cx_id=oom" });
Test::More::is($seen->{200}, 100, "pages served");
Test::More::is(CxTest::count_log(CxTest::log_file(),
                                 qr/refused: HINCRBY t120b:\{[0-9a-f]{16}\}:s: OOM/),
               1, "the refused write is named once");
my @k = CxTest::keys_of($rp, "t120b:");
Test::More::is(scalar @k, 0, "nothing written");
--- request
GET /step
--- more_headers
Cookie: cx_id=oom
--- response_body
step ERROR
--- no_error_log
[emerg]



=== TEST 4: a silent Redis is noticed by the module, not by TCP
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_REDIS_PORT;
    cx_prefix t120c:;
    cx_timeout 20ms;
    cx_secret k120-0123456789abcdef;
--- init
my ($rp, $hp) = ($main::Redis->{port}, Test::Nginx::Socket::server_port());
CxTest::redis($rp, "CONFIG", "SET", "maxmemory", "0");
# a stopped process: the kernel still acknowledges, no reset ever comes
CxTest::pause_redis($main::Redis);
(undef, undef, my $b) = CxTest::http_get($hp, "/step", { Cookie => "cx_id=c" });
Test::More::is($b, "step TIMEOUT\n", "a request waits cx_timeout at most");
Test::More::ok(CxTest::wait_for_log(CxTest::log_file(),
                   qr/commands without a reply for \d+ ms, reconnecting/, 10),
               "the connection is dropped (max(10 x cx_timeout, 100ms))");
CxTest::resume_redis($main::Redis);
Test::More::is(CxTest::wait_status($hp, "/step", "c"), "MISS",
               "and opened again once Redis answers");
Test::More::ok(CxTest::wait_for_log(CxTest::log_file(), qr/answers again/, 10),
               "the recovery is told");
--- request
GET /next
--- more_headers
Cookie: cx_id=c
--- response_body_like: ^next (MISS|HIT)$
--- no_error_log
[emerg]



=== TEST 5: ten short pauses are one episode: one error line, one recovery
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_REDIS_PORT;
    cx_prefix t120d:;
    cx_timeout 10ms;
    cx_secret k120-0123456789abcdef;
--- init
my ($rp, $hp) = ($main::Redis->{port}, Test::Nginx::Socket::server_port());
CxTest::wait_status($hp, "/step", "d");
for (1 .. 10) {
    CxTest::pause_redis($main::Redis);
    CxTest::http_get($hp, "/step", { Cookie => "cx_id=d" });
    CxTest::resume_redis($main::Redis);
    CxTest::http_get($hp, "/next", { Cookie => "cx_id=d" });
}
Test::More::ok(CxTest::wait_for_log(CxTest::log_file(), qr/answers again/, 10),
               "the recovery is told once calm");
Test::More::is(CxTest::count_log(CxTest::log_file(),
                                 qr/serving pages without suggestions/), 1,
               "one error line for ten pauses");
Test::More::is(CxTest::count_log(CxTest::log_file(), qr/answers again/), 1,
               "and one recovery line");
--- request
GET /step
--- more_headers
Cookie: cx_id=d
--- response_body_like: ^step (MISS|HIT)$
--- no_error_log
[emerg]
