# Redis paused, stopped, restarted: pages are served, within the budget,
# and a waiting request never holds up the worker.  This file starts a
# redis-server of its own, since it stops and pauses it.

use Test::Nginx::Socket;
use lib 't/cx';
use CxTest;
use File::Temp ();

our $Redis = CxTest::start_redis();

$ENV{TEST_NGINX_CX_REDIS_PORT} = $Redis->{port};

repeat_each(2);

plan tests => CxTest::planned(qr/Test::More::(?!diag)\w+\(/, 1);

no_shuffle();
no_root_location();

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("config", <<'_EOC_' . ($block->config // ''))
    cx on;
    cx_header on;
    cx_step step /step;
    location = /step { return 200 "step $cx_status\n"; }
    location = /ping { return 200 "pong\n"; }
_EOC_
        ;

    CxTest::quiet($block);
});

run_tests();

__DATA__

=== TEST 1: the instance of this file answers
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_REDIS_PORT;
    cx_secret k4-0123456789abcdef;
    cx_timeout 10s;
--- request
GET /step
--- more_headers
Cookie: cx_id=a
--- response_body
step MISS
--- response_headers
X-CX-Status: MISS



=== TEST 2: Redis paused: a step request waits, the worker serves others
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_REDIS_PORT;
    cx_secret k4-0123456789abcdef;
    cx_timeout 10s;
--- init
use POSIX ();
my $port = Test::Nginx::Socket::server_port();
my $log = Test::Nginx::Socket::server_root() . "/logs/error.log";
# outside the server root, which the real Test::Nginx removes whole
my $done = File::Temp::tempdir("cx-040-XXXXXX", TMPDIR => 1, CLEANUP => 1)
           . "/step.done";
CxTest::pause_redis($main::Redis);
my $pid = fork();
if ($pid == 0) {
    my (undef, undef, $body) = CxTest::http_get($port, "/step",
                                                { Cookie => "cx_id=a" }, 60);
    open my $out, '>', $done;
    print $out $body;
    close $out;
    POSIX::_exit(0);
}
# the step request has reached the module and waits on the paused Redis
Test::More::ok(CxTest::wait_for_log($log, qr/cx: step "step"/, 10),
               "the step request is waiting on redis");
my (undef, undef, $body) = CxTest::http_get($port, "/ping", {}, 10);
Test::More::is($body, "pong\n", "the same worker serves another request");
Test::More::ok(!-e $done, "while the step request is still waiting");
CxTest::resume_redis($main::Redis);
waitpid($pid, 0);
open my $in, '<', $done;
Test::More::is(scalar <$in>, "step MISS\n",
               "the step request completes once redis answers");
--- request
GET /ping
--- response_body
pong



=== TEST 3: Redis paused: the answer within the budget, TIMEOUT (ERROR once the silent connection was dropped)
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_REDIS_PORT;
    cx_secret k4-0123456789abcdef;
    cx_timeout 50ms;
--- init
my $port = Test::Nginx::Socket::server_port();
my $log = Test::Nginx::Socket::server_root() . "/logs/error.log";
CxTest::pause_redis($main::Redis);
for (1 .. 3) {
    CxTest::http_get($port, "/step", { Cookie => "cx_id=a" });
}
Test::More::is(CxTest::count_log($log, qr/did not answer within cx_timeout/),
               1, "one log line for the episode, not one per request");
--- request
GET /step
--- more_headers
Cookie: cx_id=a
--- timeout: 2
--- response_body_like: ^step (TIMEOUT|ERROR)$
--- response_headers_like
X-CX-Status: ^(TIMEOUT|ERROR)$
--- no_error_log
[alert]



=== TEST 4: Redis stopped: the page is served, ERROR, one log line
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_REDIS_PORT;
    cx_secret k4-0123456789abcdef;
    cx_timeout 10s;
--- init
my $port = Test::Nginx::Socket::server_port();
my $log = Test::Nginx::Socket::server_root() . "/logs/error.log";
CxTest::resume_redis($main::Redis);
CxTest::stop_redis($main::Redis);
for (1 .. 3) {
    CxTest::http_get($port, "/step", { Cookie => "cx_id=a" });
}
Test::More::is(CxTest::count_log($log, qr/serving pages without suggestions/),
               1, "one log line for the episode, not one per request");
--- request
GET /step
--- more_headers
Cookie: cx_id=a
--- response_body
step ERROR
--- response_headers
X-CX-Status: ERROR
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 5: Redis restarted: recording resumes
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_REDIS_PORT;
    cx_secret k4-0123456789abcdef;
    cx_timeout 10s;
--- init
my $port = Test::Nginx::Socket::server_port();
# nginx started with Redis down; see it fail first
(undef, my $h0) = CxTest::http_get($port, "/step", { Cookie => "cx_id=b" });
Test::More::is($h0->{"x-cx-status"}, "ERROR", "redis is down");
$main::Redis = CxTest::start_redis($main::Redis->{port});
Test::More::is(CxTest::wait_status($port, "/step", "b"), "MISS",
               "suggestions come back after the restart");
Test::More::ok(scalar(() = CxTest::keys_of($main::Redis->{port}, "cx:")),
               "and steps are recorded again");
# the recovery is told once no fault has come for a second
my $log = Test::Nginx::Socket::server_root() . "/logs/error.log";
CxTest::wait_for_log($log, qr/answers again/, 5);
Test::More::is(CxTest::count_log($log, qr/answers again/), 1,
               "the recovery is logged once");
# now a restart under a live connection
CxTest::stop_redis($main::Redis);
$main::Redis = CxTest::start_redis($main::Redis->{port});
Test::More::is(CxTest::wait_status($port, "/step", "b"), "MISS",
               "and after a restart under a live connection");
--- request
GET /step
--- more_headers
Cookie: cx_id=b
--- response_body
step MISS
--- no_error_log
[alert]
