# cx_redis user=, password=, db= and unix sockets, against a redis-server of
# this file's own that requires a password and has an ACL user, cxuser.

use Test::Nginx::Socket;
use lib 't/cx';
use CxTest;
use File::Temp qw(tempdir);

our $Dir = tempdir("cx-redis-XXXXXX", TMPDIR => 1, CLEANUP => 1);
our $Redis = CxTest::start_redis(undef, $Dir, "--requirepass", "pw1",
                                 "--unixsocket", "$Dir/redis.sock",
                                 "--unixsocketperm", "700",
                                 "--user", "cxuser", "on", ">secret", "~*",
                                 "+\@all");

$ENV{TEST_NGINX_CX_REDIS_PORT} = $Redis->{port};
$ENV{TEST_NGINX_CX_REDIS_SOCK} = "$Dir/redis.sock";

repeat_each(2);

plan tests => CxTest::planned(qr/Test::More::(?!diag)\w+\(/, 1);

no_shuffle();
no_root_location();

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("config", <<'_EOC_' . ($block->config // ''))
    cx on;
    cx_step step /step;
    location = /step { return 200 "step $cx_status\n"; }
_EOC_
        ;

    CxTest::quiet($block);
});

run_tests();

__DATA__

=== TEST 1: password and db
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_REDIS_PORT password=pw1 db=3;
    cx_timeout 10s;
    cx_prefix t060:;
--- init
my $log = Test::Nginx::Socket::server_root() . "/logs/error.log";
CxTest::wait_for_log($log, qr/\[warn\] .*no "cx_secret" is defined/, 60);
Test::More::is(CxTest::count_log($log,
                                 qr/\[warn\] .*no "cx_secret" is defined/),
               1, "a missing cx_secret is warned about at start-up");
--- request
GET /step
--- more_headers
Cookie: cx_id=a
--- response_body
step MISS



=== TEST 2: the keys went to db 3
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_REDIS_PORT password=pw1;
    cx_timeout 10s;
    cx_prefix t060:;
--- init
my @k = CxTest::redis($main::Redis->{port}, "-a", "pw1", "--no-auth-warning",
                      "-n", 3, "--scan", "--pattern", "t060:*");
Test::More::is(scalar(grep { /\}:s$/ } @k), 1, "the customer is in db 3");
--- request
GET /step
--- more_headers
Cookie: cx_id=a
--- response_body
step MISS



=== TEST 3: a wrong password fails open, and says why once
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_REDIS_PORT password=wrong;
    cx_timeout 10s;
--- init
my $port = Test::Nginx::Socket::server_port();
for (1 .. 3) {
    CxTest::http_get($port, "/step", { Cookie => "cx_id=a" });
}
Test::More::is(CxTest::count_log(Test::Nginx::Socket::server_root()
                                 . "/logs/error.log",
                                 qr/cx: redis .* AUTH: .*(WRONGPASS|invalid)/),
               1, "AUTH failure logged once");
--- request
GET /step
--- more_headers
Cookie: cx_id=a
--- response_body
step ERROR
--- no_error_log
[emerg]



=== TEST 4: a unix socket
--- http_config
    cx_redis unix:$TEST_NGINX_CX_REDIS_SOCK password=pw1;
    cx_timeout 10s;
    cx_prefix t060:;
--- request
GET /step
--- more_headers
Cookie: cx_id=u
--- response_body
step MISS



=== TEST 5: an ACL user: AUTH cxuser secret, and the step is in db 5
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_REDIS_PORT user=cxuser password=secret
             db=5;
    cx_timeout 10s;
    cx_prefix t060u:;
--- init
my $port = $main::Redis->{port};
my @auth = ("--user", "cxuser", "--pass", "secret", "--no-auth-warning");
CxTest::http_get(Test::Nginx::Socket::server_port(), "/step",
                 { Cookie => "cx_id=acl" });
# the step's writes go out after the response: poll for them
my ($deadline, @k) = (time + 10);
until (@k = grep({ /\}:s$/ } CxTest::redis($port, @auth, "-n", 5, "--scan",
                                             "--pattern", "t060u:*"))
       or time > $deadline)
{
    select undef, undef, undef, 0.02;
}
Test::More::is(scalar @k, 1, "the step is in db 5");
# asked as the default user, so that redis-cli itself is not cxuser
Test::More::ok(scalar(grep { /\buser=cxuser\b/ }
                      CxTest::redis($port, "-a", "pw1", "--no-auth-warning",
                                    "CLIENT", "LIST")),
               "the module is connected as cxuser");
--- request
GET /step
--- more_headers
Cookie: cx_id=acl
--- response_body
step MISS



=== TEST 6: a wrong password for an ACL user fails open, and says why once
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_REDIS_PORT user=cxuser password=hunter2;
    cx_timeout 10s;
--- init
my $port = Test::Nginx::Socket::server_port();
for (1 .. 3) {
    CxTest::http_get($port, "/step", { Cookie => "cx_id=a" });
}
Test::More::is(CxTest::count_log(Test::Nginx::Socket::server_root()
                                 . "/logs/error.log",
                                 qr/cx: redis .* AUTH: WRONGPASS/),
               1, "AUTH failure logged once, as Redis answers it");
my @log = CxTest::redis($main::Redis->{port}, "-a", "pw1",
                        "--no-auth-warning", "ACL", "LOG");
Test::More::ok(scalar(grep { $_ eq "cxuser" } @log),
               "Redis saw cxuser's AUTH fail");
--- request
GET /step
--- more_headers
Cookie: cx_id=a
--- response_body
step ERROR
--- no_error_log
[emerg]
hunter2
