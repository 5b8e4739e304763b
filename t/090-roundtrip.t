# One Redis round trip on a step request's critical path, seen in the
# worker's system calls: before it answers the client, it writes to Redis
# once, the whole batch of reads, and reads the replies; what the step
# changes is written after the response.  Needs strace.

use Test::Nginx::Socket;
use lib 't/cx';
use CxTest;
use File::Temp ();

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

=== TEST 1: one write of the whole batch before the response
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    cx_timeout 10s;
    cx_secret k9-0123456789abcdef;
    cx_prefix t090:;
--- config
    cx on;
    cx_step home /;
    cx_step cart /cart;
    location / { return 200 "$cx_status\n"; }
--- init
use POSIX ();
use Time::HiRes ();
my $port = Test::Nginx::Socket::server_port();
my $root = Test::Nginx::Socket::server_root();
# the connection to Redis is up, this customer has a history
CxTest::journeys($port, ["rt", "/"]);
open my $in, '<', "$root/logs/nginx.pid";
chomp(my $pid = <$in>);
# with a master process (HUP mode), its worker serves the requests
my @workers = grep { chomp; length } `pgrep -P $pid`;
$pid = $workers[0] if @workers == 1;
# outside the server root, which the real Test::Nginx removes whole
my $trace = File::Temp::tempdir("cx-090-XXXXXX", TMPDIR => 1, CLEANUP => 1)
            . "/strace.out";
my $st = fork();
if ($st == 0) {
    { exec "strace", "-qq", "-p", $pid, "-s", "8192", "-o", $trace,
           "-e", "trace=read,write,writev,recvfrom,sendto" };
    POSIX::_exit(1);
}
my $traced = 0;
for (1 .. 500) {
    open my $s, '<', "/proc/$pid/status";
    $traced = grep { /^TracerPid:\s+[1-9]/ } <$s>;
    last if $traced;
    Time::HiRes::sleep(0.01);
}
Test::More::ok($traced, "strace attached to the worker");
CxTest::http_get($port, "/cart", { Cookie => "cx_id=rt" });
# the customer's own transition home -> cart is in the record's write
my $rp = $ENV{TEST_NGINX_REDIS_PORT};
for (1 .. 500) {
    last if grep { CxTest::habit($rp, $_, "home cart /cart") }
            CxTest::customers($rp, "t090:");
    Time::HiRes::sleep(0.01);
}
kill 'INT', $st;
waitpid $st, 0;
open my $t, '<', $trace;
my (@writes, @after, $answered);
while (<$t>) {
    $answered = 1
        if /^(writev|write|sendto)\(\d+, \[?\{?(iov_base=)?"HTTP\/1\.1 /;
    push @{ $answered ? \@after : \@writes }, $_
        if /^(write|sendto)\(\d+, "\*\d+\\r\\n/;
}
Test::More::is(scalar @writes, 1,
               "one write to redis before the response");
Test::More::like($writes[0] // "",
                 qr/HGETALL.*HINCRBY.*LRANGE.*ZREVRANGE.*ZREVRANGE/,
                 "it carries the whole batch of reads");
Test::More::unlike($writes[0] // "", qr/LPUSH|ZINCRBY|HSET/,
                   "nothing is recorded before the response");
Test::More::like(join("", @after), qr/HSET.*>home cart \/cart/s,
                 "the step is recorded after it, with its transition");
CxTest::clear($rp, "t090:");
--- request
GET /cart
--- more_headers
Cookie: cx_id=rt2
--- response_body
MISS
