# cx_redis host:port resolve: the name asked again of the http block's
# resolver, the worker moved to the new address without a reload.  A DNS
# server of this file's own (UDP, a free loopback port) answers A queries
# for redis.test with the address the test writes, TTL 1; two Redis of
# the file's own listen on one port, on 127.0.0.1 and on 127.0.0.2.  The
# resolve of cx_redis_sentinel and cx_redis_cluster: a sentinel of the
# file's own watching a third Redis, and a cluster of one node, which
# serves every slot.

use Test::Nginx::Socket;
use lib 't/cx';
use CxTest;
use Time::HiRes qw(sleep time);
use IO::Socket::INET;
use File::Temp ();
use POSIX ();

our $A = CxTest::start_redis();
our $Port = $A->{port};
our $B = CxTest::start_redis($Port, undef, "--bind", "127.0.0.2");

die "no redis on 127.0.0.2:$Port" unless r2("PING") eq "PONG";

our $C = CxTest::start_redis();
our $Sentinel = CxTest::start_sentinel("t295", $C->{port});

# a node of a cluster of its own, whose bus port (10000 above) is free
our $Node;
for (1 .. 100) {
    my $port = CxTest::free_port();
    next if $port > 55535;
    my $bus = IO::Socket::INET->new(Listen => 1, ReuseAddr => 1,
                                    LocalAddr => '127.0.0.1',
                                    LocalPort => $port + 10000)
        or next;
    close $bus;
    $Node = CxTest::start_redis($port, undef, "--cluster-enabled", "yes",
                                "--cluster-config-file", "nodes.conf");
    last;
}
die "no cluster node" unless $Node;
CxTest::redis($Node->{port}, "CLUSTER", "ADDSLOTSRANGE", 0, 16383) eq "OK"
    or die "CLUSTER ADDSLOTSRANGE failed";
CxTest::wait_until(sub {
    join("\n", CxTest::redis($Node->{port}, "CLUSTER", "INFO"))
    =~ /cluster_state:ok/ }, 10) or die "the cluster of one did not come up";

our $Dns = fake_dns();
answer("127.0.0.1");

$ENV{TEST_NGINX_CX_DNS} = $Dns->{port};
$ENV{TEST_NGINX_CX_PORT} = $Port;
$ENV{TEST_NGINX_CX_SENTINEL} = $Sentinel->{port};
$ENV{TEST_NGINX_CX_NODE} = $Node->{port};

repeat_each(1);

plan tests => CxTest::planned(qr/Test::More::(?!diag)\w+\(/, 1);

no_shuffle();
no_root_location();

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("config", <<'_EOC_' . ($block->config // ''))
    cx on;
    cx_step home /;
    cx_step cart /cart;
    cx_step checkout /checkout;
    location / { return 200 "next=$cx_next status=$cx_status\n"; }
_EOC_
        ;

    CxTest::quiet($block);
});

# one command to the Redis on 127.0.0.2 (CxTest::redis asks 127.0.0.1)
sub r2 {
    open my $fh, '-|', "redis-cli", "-h", "127.0.0.2", "-p", $Port,
                       "--raw", @_
        or die "redis-cli: $!";
    my @lines = <$fh>;
    close $fh;
    chomp @lines;
    return wantarray ? @lines : $lines[0];
}

# the customers' hashes under the prefix, on 127.0.0.1 or 127.0.0.2
sub hashes {
    my ($host, $prefix) = @_;
    my @k = $host eq "127.0.0.2"
            ? r2("--scan", "--pattern", "$prefix*")
            : CxTest::redis($Port, "--scan", "--pattern", "$prefix*");
    return scalar grep { /\}:s$/ } @k;
}

# the cart's response for customer $id (CxTest::cart), and customers new
# to the shop teaching home -> cart -> checkout (CxTest::teach)
sub cart { CxTest::cart(Test::Nginx::Socket::server_port(), @_) }
sub teach { CxTest::teach(Test::Nginx::Socket::server_port(), @_) }

# The DNS server: a child process on a free UDP loopback port.  It reads
# $Dns->{dir}/answer at each query: an IPv4 address is the A record of
# the name after it, redis.test unless the test names another (TTL 1);
# "mute" answers nothing.  AAAA and other names: no records.  Stopped by pid at the end.
sub fake_dns {
    my $sock = IO::Socket::INET->new(Proto => 'udp', LocalAddr => '127.0.0.1',
                                     LocalPort => 0)
        or die "fake dns: $!";
    my $dir = File::Temp::tempdir("cx-dns-XXXXXX", TMPDIR => 1,
                                  CLEANUP => 1);
    my $parent = $$;

    STDOUT->flush;
    STDERR->flush;
    my $pid = fork // die "fork: $!";

    if ($pid == 0) {
        # never the parent's END blocks: _exit only
        eval {
            my $sel = IO::Select->new($sock);
            while (getppid() == $parent) {
                next unless $sel->can_read(0.2);
                my $peer = $sock->recv(my $q, 512) // next;
                my $a = dns_answer($dir, $q);
                $sock->send($a, 0, $peer) if defined $a;
            }
        };
        POSIX::_exit(0);
    }

    my $port = $sock->sockport;
    close $sock;
    return { pid => $pid, port => $port, dir => $dir };
}

sub dns_answer {
    my ($dir, $q) = @_;
    return undef if length $q < 17;

    my ($id, $flags, $qd) = unpack "n n n", $q;
    return undef if $qd != 1;

    # the question: labels, then type and class
    my ($off, @labels) = (12);
    while ((my $l = ord substr $q, $off, 1) != 0) {
        push @labels, substr $q, $off + 1, $l;
        $off += $l + 1;
        return undef if $off >= length $q;
    }
    $off++;
    my ($type) = unpack "n", substr $q, $off, 2;
    my $question = substr $q, 12, $off + 4 - 12;

    open my $in, '<', "$dir/answer" or return undef;
    my ($addr, $name) = split " ", <$in> // '';
    close $in;
    return undef if !defined $addr || $addr eq "mute";

    my @rr;
    if ($type == 1 && lc(join ".", @labels) eq $name) {
        push @rr, pack("n n n N n", 0xc00c, 1, 1, 1, 4)
                  . pack("C4", split /\./, $addr);
    }

    return pack("n n n n n n", $id, 0x8180, 1, scalar @rr, 0, 0)
           . $question . join "", @rr;
}

sub answer {
    my ($addr, $name) = @_;
    open my $out, '>', "$Dns->{dir}/answer.new" or die "answer: $!";
    print $out "$addr ", $name // "redis.test", "\n";
    close $out;
    rename "$Dns->{dir}/answer.new", "$Dns->{dir}/answer" or die $!;
}

END {
    local $?;
    if ($Dns && $Dns->{pid}) {
        kill 'TERM', $Dns->{pid};
        waitpid $Dns->{pid}, 0;
    }
}

run_tests();

__DATA__

=== TEST 1: the name's address: steps in the first Redis; the answer changes and the first Redis stops: steps in the second, no request failed
--- http_config
    resolver 127.0.0.1:$TEST_NGINX_CX_DNS valid=1s ipv6=off;
    resolver_timeout 1s;
    cx_redis redis.test:$TEST_NGINX_CX_PORT resolve;
    cx_timeout 10s;
    cx_connect_timeout 1s;
    cx_secret k290-0123456789abcdef;
    cx_prefix t290:;
    cx_rule_reverse 0;
--- init
main::answer("127.0.0.1");
main::teach("a", "b");
Test::More::ok(CxTest::wait_until(sub {
                     main::hashes("127.0.0.1", "t290:") == 2 }, 10),
               "steps in the Redis on 127.0.0.1");
Test::More::is(main::hashes("127.0.0.2", "t290:"), 0,
               "none on 127.0.0.2");

my $hport = Test::Nginx::Socket::server_port();
my $load = CxTest::load($hport, "/cart", "load");
Time::HiRes::sleep(0.3);

# the name moves, and the old Redis goes away: its connection lost, if
# the worker has not moved yet, is the episode's [error] line, and the
# reconnects find the old answer until its TTL is over
my $start = Time::HiRes::time();
main::answer("127.0.0.2");
CxTest::stop_redis($main::A);

Test::More::ok(CxTest::wait_until(sub {
                     main::hashes("127.0.0.2", "t290:") > 0 }, 30),
               "steps land in the Redis on 127.0.0.2");
my $moved = Time::HiRes::time() - $start;

main::teach("c", "d");
Test::More::ok(CxTest::wait_until(sub { main::cart("probe") =~ /status=HIT/ },
                                  10),
               "suggestions from the Redis on 127.0.0.2");
my $back = Time::HiRes::time() - $start;
Test::More::diag(sprintf "steps in the new address %.0f ms after the "
                 . "answer changed, suggestions %.0f ms", 1000 * $moved,
                 1000 * $back);

my $seen = CxTest::unload($load);
my $all = 0;
$all += $_ for values %$seen;
Test::More::ok($all > 0, "the load ran through the move");
Test::More::is(join(",", map { "$_=$seen->{$_}" } grep { $_ ne 200 }
                         sort keys %$seen),
               "", "no request of the load failed");
Test::More::diag("load: $all requests, "
                 . join(", ", map { "$_: $seen->{$_}" } sort keys %$seen));
Test::More::cmp_ok(CxTest::count_log(CxTest::log_file(), qr/\[error\]/),
                   '<=', 1, "the old Redis stopped: one error line at most");
--- request
GET /cart
--- more_headers
Cookie: cx_id=new
--- response_body
next=/checkout status=HIT
--- error_log eval
[qr/\[notice\] .*cx: redis "redis\.test:\d+" is 127\.0\.0\.1:\d+$/m,
 qr/\[notice\] .*cx: redis "redis\.test:\d+" is 127\.0\.0\.2:\d+ now, was 127\.0\.0\.1:\d+/]
--- no_error_log
[warn]



=== TEST 2: the DNS server silent: the address known kept, suggestions served, one line; it answers again: one line
--- http_config
    resolver 127.0.0.1:$TEST_NGINX_CX_DNS valid=1s ipv6=off;
    resolver_timeout 200ms;
    cx_redis redis.test:$TEST_NGINX_CX_PORT resolve;
    cx_timeout 10s;
    cx_connect_timeout 1s;
    cx_secret k290-0123456789abcdef;
    cx_prefix t292:;
    cx_rule_reverse 0;
--- init
main::answer("127.0.0.2");
my $log = CxTest::log_file();
main::teach("e", "f");
Test::More::ok(CxTest::wait_until(sub { main::cart("g") =~ /status=HIT/ }, 10),
               "suggestions before");

main::answer("mute");
Test::More::ok(CxTest::wait_for_log($log,
    qr/\[warn\] .*cx: redis "redis\.test:\d+" could not be resolved \(110: Operation timed out\), keeping 127\.0\.0\.2:\d+/,
    15), "the name unresolved: said once");

# more rounds of the resolver go unanswered: requests go on
my ($n, %seen) = (0);
my $until = Time::HiRes::time() + 2.5;
while (Time::HiRes::time() < $until) {
    my ($b, $status) = main::cart("h" . $n++);
    $seen{$status}++;
    $seen{hit}++ if $b =~ /status=HIT/;
    Time::HiRes::sleep(0.05);
}
Test::More::is(join(",", map { "$_=$seen{$_}" } grep { $_ ne 200 && $_ ne "hit" }
                         sort keys %seen),
               "", "no request failed while the name does not resolve");
Test::More::is($seen{hit}, $seen{200},
               "each served with suggestions, from the address kept");
Test::More::is(CxTest::count_log($log, qr/could not be resolved/), 1,
               "one line for all the rounds unanswered");

main::answer("127.0.0.2");
Test::More::ok(CxTest::wait_for_log($log,
    qr/\[notice\] .*cx: redis "redis\.test:\d+" resolves again/, 15),
    "the name resolves again: said once");
--- request
GET /cart
--- more_headers
Cookie: cx_id=new
--- response_body
next=/checkout status=HIT
--- no_error_log
[error]



=== TEST 3: without resolve, the address read with the configuration is kept whatever the DNS says
--- http_config
    resolver 127.0.0.1:$TEST_NGINX_CX_DNS valid=1s ipv6=off;
    cx_redis 127.0.0.2:$TEST_NGINX_CX_PORT;
    cx_timeout 10s;
    cx_connect_timeout 1s;
    cx_secret k290-0123456789abcdef;
    cx_prefix t293:;
    cx_rule_reverse 0;
--- init
main::answer("127.0.0.1");
main::teach("i", "j");
Test::More::ok(CxTest::wait_until(sub { main::cart("k") =~ /status=HIT/ }, 10),
               "suggestions from the address configured");
--- request
GET /cart
--- more_headers
Cookie: cx_id=new
--- response_body
next=/checkout status=HIT
--- no_error_log eval
["[error]", qr/\[notice\] .*cx: redis/]



=== TEST 4: a name unknown at start: pages without suggestions, the episode's one line; the name known: connected, suggestions
--- http_config
    resolver 127.0.0.1:$TEST_NGINX_CX_DNS valid=1s ipv6=off;
    resolver_timeout 200ms;
    cx_redis late.test:$TEST_NGINX_CX_PORT resolve;
    cx_timeout 10s;
    cx_connect_timeout 1s;
    cx_secret k290-0123456789abcdef;
    cx_prefix t294:;
    cx_rule_reverse 0;
--- init
my $log = CxTest::log_file();
Test::More::ok(CxTest::wait_for_log($log,
    qr/\[error\] .*cx: redis "late\.test:\d+" could not be resolved: Host not found, serving pages without suggestions/,
    15), "no address: the episode's line");
Test::More::is(main::cart("m"), "next= status=ERROR\n",
               "pages without suggestions meanwhile");

main::answer("127.0.0.2", "late.test");
Test::More::ok(CxTest::wait_until(sub { main::cart("p") =~ /status=MISS/ }, 15),
               "Redis asked once the name resolves");
main::teach("n", "o");
Test::More::ok(CxTest::wait_until(sub { main::cart("q") =~ /status=HIT/ }, 10),
               "suggestions");
Test::More::is(CxTest::count_log($log, qr/\[error\]/), 1,
               "one error line");
--- request
GET /cart
--- more_headers
Cookie: cx_id=new
--- response_body
next=/checkout status=HIT
--- error_log eval
qr/\[notice\] .*cx: redis "late\.test:\d+" is 127\.0\.0\.2:\d+$/m
--- no_error_log
[warn]



=== TEST 5: cx_redis_sentinel resolve: a sentinel's name unknown at start, pages without suggestions, one line; the name known: the sentinel asked, suggestions
--- http_config
    resolver 127.0.0.1:$TEST_NGINX_CX_DNS valid=1s ipv6=off;
    resolver_timeout 200ms;
    cx_redis_sentinel t295 sentinel.test:$TEST_NGINX_CX_SENTINEL resolve;
    cx_timeout 10s;
    cx_connect_timeout 1s;
    cx_secret k290-0123456789abcdef;
    cx_prefix t295:;
    cx_rule_reverse 0;
--- init
my $log = CxTest::log_file();
Test::More::ok(CxTest::wait_for_log($log,
    qr/\[error\] .*cx: redis "t295" no sentinel named the primary: sentinel\.test:\d+: could not be resolved: Host not found, serving pages without suggestions/,
    15), "the sentinel's name unknown: the episode's line, naming it");
Test::More::is(main::cart("s1"), "next= status=ERROR\n",
               "pages without suggestions meanwhile");

main::answer("127.0.0.1", "sentinel.test");
Test::More::ok(CxTest::wait_until(sub { main::cart("s2") =~ /status=MISS/ },
                                  15),
               "the primary asked of the sentinel once its name resolves");
main::teach("s3", "s4");
Test::More::ok(CxTest::wait_until(sub { main::cart("s5") =~ /status=HIT/ },
                                  10),
               "suggestions");
Test::More::ok(scalar(grep { /^t295:/ }
                      CxTest::keys_of($main::C->{port}, "t295:")),
               "the steps in the primary the sentinel names");
Test::More::is(CxTest::count_log($log, qr/\[error\]/), 1, "one error line");
--- request
GET /cart
--- more_headers
Cookie: cx_id=new
--- response_body
next=/checkout status=HIT
--- error_log eval
qr/\[notice\] .*cx: redis "t295" primary is 127\.0\.0\.1:\d+, by sentinel 127\.0\.0\.1:\d+/
--- no_error_log
[warn]



=== TEST 6: cx_redis_cluster resolve: a seed's name unknown at start, pages without suggestions, one line; the name known: the cluster asked, suggestions
--- http_config
    resolver 127.0.0.1:$TEST_NGINX_CX_DNS valid=1s ipv6=off;
    resolver_timeout 200ms;
    cx_redis_cluster node.test:$TEST_NGINX_CX_NODE resolve;
    cx_timeout 10s;
    cx_connect_timeout 1s;
    cx_secret k290-0123456789abcdef;
    cx_prefix t296:;
    cx_rule_reverse 0;
--- init
my $log = CxTest::log_file();
Test::More::ok(CxTest::wait_for_log($log,
    qr/\[error\] .*cx: redis "node\.test:\d+" could not be resolved: node\.test:\d+: Host not found, serving pages without suggestions/,
    15), "the seed's name unknown: the episode's line, naming it");
Test::More::is(main::cart("n1"), "next= status=ERROR\n",
               "pages without suggestions meanwhile");

main::answer("127.0.0.1", "node.test");
Test::More::ok(CxTest::wait_until(sub { main::cart("n2") =~ /status=MISS/ },
                                  15),
               "the slots asked of the seed once its name resolves");
main::teach("n3", "n4");
Test::More::ok(CxTest::wait_until(sub { main::cart("n5") =~ /status=HIT/ },
                                  10),
               "suggestions");
Test::More::ok(scalar(grep { /^t296:/ }
                      CxTest::keys_of($main::Node->{port}, "t296:")),
               "the steps in the cluster");
Test::More::is(CxTest::count_log($log, qr/\[error\]/), 1, "one error line");
--- request
GET /cart
--- more_headers
Cookie: cx_id=new
--- response_body
next=/checkout status=HIT
--- no_error_log
[warn]
