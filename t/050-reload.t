# A reload (HUP) replaces the workers: the new ones connect to Redis, the
# old ones leave no socket behind.

use Test::Nginx::Socket;
use lib 't/cx';
use CxTest;

if ($ENV{TEST_NGINX_USE_VALGRIND}) {
    # Test::Nginx runs valgrind with master_process off: no workers to replace
    plan skip_all => "a reload needs a master process";
}

master_on();
repeat_each(2);

plan tests => CxTest::planned(qr/Test::More::(?!diag)\w+\(/, 1);

no_shuffle();
no_root_location();

$ENV{TEST_NGINX_REDIS_PORT} ||= 6379;

add_block_preprocessor(sub {
    CxTest::quiet(shift);
});

run_tests();

__DATA__

=== TEST 1: the module keeps working across a reload
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    cx_timeout 10s;
    cx_secret k5-0123456789abcdef;
    cx_prefix t050:;
--- config
    cx on;
    cx_header on;
    cx_step home /;
    location = /pid { cx off; return 200 "$pid"; }
    location / { return 200 "$cx_status\n"; }
--- init
my $port = Test::Nginx::Socket::server_port();
my $root = Test::Nginx::Socket::server_root();
# the old worker holds a Redis connection
CxTest::http_get($port, "/", { Cookie => "cx_id=r" });
my (undef, undef, $old) = CxTest::http_get($port, "/pid");
open my $in, '<', "$root/logs/nginx.pid";
my $master = <$in>;
chomp $master;
kill 'HUP', $master;
my $new = $old;
for (1 .. 500) {
    (undef, undef, $new) = CxTest::http_get($port, "/pid");
    last if $new && $new ne $old;
    select undef, undef, undef, 0.02;
}
Test::More::isnt($new, $old, "a new worker serves after the reload");
Test::More::ok(CxTest::wait_for_log("$root/logs/error.log",
                                    qr/worker process $old exited/, 10),
               "the old worker exited");
Test::More::ok(CxTest::wait_for_log("$root/logs/error.log",
                                    qr/ $new#\d+: cx: redis connected/, 10),
               "the new worker connected to redis");
--- request
GET /
--- more_headers
Cookie: cx_id=r
--- response_headers_like
X-CX-Status: MISS|HIT
--- no_error_log
[alert]
[crit]
[emerg]
