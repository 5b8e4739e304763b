# cx_redis_sentinel: the primary asked of the sentinels, a failover
# followed without a reload, sentinels that are all down.  One primary,
# one replica and three sentinels of this file's own, on free loopback
# ports; the sentinels want a password.

use Test::Nginx::Socket;
use lib 't/cx';
use CxTest;
use Time::HiRes qw(sleep time);
use IO::Socket::INET;
use IO::Select;
use File::Temp ();
use POSIX ();

our $Primary = CxTest::start_redis();
our $Replica = CxTest::start_redis(undef, undef, "--replicaof", "127.0.0.1",
                                   $Primary->{port});

# the sentinels learn of the replica from the primary: it is in sync first
CxTest::wait_until(sub {
        grep { /^master_link_status:up/ }
             CxTest::redis($Replica->{port}, "INFO", "replication") }, 30)
    or die "the replica did not sync";

our @Sentinels = map {
    CxTest::start_sentinel("cx270", $Primary->{port}, undef,
                           "requirepass sentpw")
} 1 .. 3;

# each sentinel knows the replica, so that a failover has one to promote
for my $s (@Sentinels) {
    CxTest::wait_until(sub { sentinel($s, "SENTINEL", "replicas", "cx270")
                             =~ /\bslave\b/ }, 30)
        or die "sentinel $s->{port} does not know the replica";
}

$ENV{TEST_NGINX_CX_SENTINELS} = join " ",
                                map { "127.0.0.1:$_->{port}" } @Sentinels;

# nothing listens there
$ENV{TEST_NGINX_CX_NONE} = join " ",
                           map { "127.0.0.1:" . CxTest::free_port() } 1 .. 3;

# a primary and a replica no real sentinel watches, and a sentinel that
# names whichever of them the test says
our $Primary2 = CxTest::start_redis();
our $Replica2 = CxTest::start_redis(undef, undef, "--replicaof", "127.0.0.1",
                                    $Primary2->{port});
our $Fake = fake_sentinel();
fake_answers($Replica2->{port});

$ENV{TEST_NGINX_CX_FAKE} = $Fake->{port};

# a sentinel that names a host of CR, LF and a log line (TEST 7)
our $Evil = fake_sentinel();
fake_answers_of($Evil, 1, "evil\r\n2026/11/24 00:00:00 [emerg] 1#1: forged");
$ENV{TEST_NGINX_CX_EVIL} = $Evil->{port};
($ENV{TEST_NGINX_CX_DEAD}) = $ENV{TEST_NGINX_CX_NONE} =~ /^(\S+)/;

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

# a sentinel's answer, one line
sub sentinel {
    my ($s, @cmd) = @_;
    return join " ", CxTest::redis($s->{port}, "-a", "sentpw",
                                   "--no-auth-warning", @cmd);
}

# the replica has everything the primary wrote
sub synced {
    my ($primary, $replica) = @_;
    my ($m) = map { /^master_repl_offset:(\d+)/ ? $1 : () }
              CxTest::redis($primary->{port}, "INFO", "replication");
    my ($r) = map { /^slave_repl_offset:(\d+)/ ? $1 : () }
              CxTest::redis($replica->{port}, "INFO", "replication");
    return defined $m && defined $r && $m == $r;
}

# from its "+try-failover" to its "+switch-master", by the sentinel's log
sub failover_ms {
    my ($s) = @_;
    my %at;
    open my $in, '<', "$s->{dir}/redis.log" or return "?";
    while (<$in>) {
        next unless / (\d\d):(\d\d):(\d\d\.\d+) [#*] (\+try-failover|\+switch-master) /;
        $at{$4} //= $1 * 3600 + $2 * 60 + $3;
    }
    close $in;
    return "?" unless defined $at{"+try-failover"}
                      && defined $at{"+switch-master"};
    return sprintf "%.0f", 1000 * ($at{"+switch-master"}
                                   - $at{"+try-failover"});
}

# the primary as the sentinels name it now, and the other one
sub primary {
    my ($host, $port) = split / /, sentinel($Sentinels[0], "SENTINEL",
                                            "get-master-addr-by-name",
                                            "cx270");
    return $port == $Primary->{port} ? ($Primary, $Replica)
                                     : ($Replica, $Primary);
}

# the cart's response for customer $id (CxTest::cart), and customers new
# to the shop teaching home -> cart -> checkout (CxTest::teach)
sub cart { CxTest::cart(Test::Nginx::Socket::server_port(), @_) }
sub teach { CxTest::teach(Test::Nginx::Socket::server_port(), @_) }

# A sentinel of the file's own, for what a real one does not do on
# demand: whatever it is asked of a master, it names 127.0.0.1 and the
# port written in $Fake->{dir}/answer; it takes SUBSCRIBE and never
# publishes; it answers anything else +OK.  A child process, stopped by
# pid at the end.
sub fake_sentinel {
    my $listen = IO::Socket::INET->new(Listen => 16, ReuseAddr => 1,
                                       LocalAddr => '127.0.0.1',
                                       LocalPort => 0)
        or die "fake sentinel: $!";
    my $dir = File::Temp::tempdir("cx-fake-XXXXXX", TMPDIR => 1,
                                  CLEANUP => 1);
    my $parent = $$;

    STDOUT->flush;
    STDERR->flush;
    my $pid = fork // die "fork: $!";

    if ($pid == 0) {
        # never the parent's END blocks: _exit only
        eval {
            my $sel = IO::Select->new($listen);
            my %in;
            while (getppid() == $parent) {
                for my $c ($sel->can_read(0.2)) {
                    if ($c == $listen) {
                        my $new = $listen->accept or next;
                        $sel->add($new);
                        $in{$new} = '';
                        next;
                    }
                    unless (sysread $c, $in{$c}, 4096, length $in{$c}) {
                        $sel->remove($c);
                        delete $in{$c};
                        close $c;
                        next;
                    }
                    while (my @argv = take_command(\$in{$c})) {
                        syswrite $c, fake_reply($dir, @argv);
                    }
                }
            }
        };
        POSIX::_exit(0);
    }

    my $port = $listen->sockport;
    close $listen;
    return { pid => $pid, port => $port, dir => $dir };
}

sub fake_reply {
    my ($dir, $cmd, @args) = @_;
    my $bulk = sub { join "", map { '$' . length($_) . "\r\n$_\r\n" } @_ };
    if (uc $cmd eq "SENTINEL") {
        open my $in, '<', "$dir/answer" or return "*-1\r\n";
        binmode $in;
        my $port = <$in> // '';
        chomp $port;
        # a host of the test's own after the port, if any, bytes as they are
        my $host = do { local $/; <$in> } // '';
        return "*2\r\n" . $bulk->(length $host ? $host : "127.0.0.1", $port);
    }
    if (uc $cmd eq "SUBSCRIBE") {
        return "*3\r\n" . $bulk->("subscribe", $args[0]) . ":1\r\n";
    }
    return "+OK\r\n";
}

# one whole RESP command off the front of the buffer, or none yet
sub take_command {
    my $b = shift;
    return () unless $$b =~ /^\*(\d+)\r\n/;
    my ($n, $off, @argv) = ($1, length $&);
    for (1 .. $n) {
        return () unless substr($$b, $off) =~ /^\$(\d+)\r\n/;
        my $len = $1;
        $off += length $&;
        return () if length($$b) < $off + $len + 2;
        push @argv, substr($$b, $off, $len);
        $off += $len + 2;
    }
    substr($$b, 0, $off, '');
    return @argv;
}

sub fake_answers { fake_answers_of($Fake, @_) }

sub fake_answers_of {
    my ($fake, $port, $host) = @_;
    open my $out, '>', "$fake->{dir}/answer.new" or die "answer: $!";
    binmode $out;
    print $out "$port\n", $host // '';
    close $out;
    rename "$fake->{dir}/answer.new", "$fake->{dir}/answer" or die $!;
}

END {
    local $?;
    for my $f ($Fake, $Evil) {
        next unless $f && $f->{pid};
        kill 'TERM', $f->{pid};
        waitpid $f->{pid}, 0;
    }
}

run_tests();

__DATA__

=== TEST 1: the primary a sentinel names: steps recorded there, suggested
--- http_config
    cx_redis_sentinel cx270 $TEST_NGINX_CX_SENTINELS sentinel_password=sentpw;
    cx_timeout 10s;
    cx_connect_timeout 2s;
    cx_secret k270-0123456789abcdef;
    cx_prefix t270:;
    cx_rule_reverse 0;
--- init
my ($p) = main::primary();
Test::More::ok(CxTest::wait_for_log(CxTest::log_file(),
    qr/\[notice\] .*cx: redis "cx270" primary is 127\.0\.0\.1:$p->{port}, by sentinel 127\.0\.0\.1:\d+/),
    "the worker connects to the primary a sentinel names");
main::teach("a", "b");
Test::More::ok(CxTest::wait_until(sub {
                     scalar(CxTest::customers($p->{port}, "t270:")) == 2 }, 10),
               "both customers' steps are in the primary");
--- request
GET /cart
--- more_headers
Cookie: cx_id=new
--- response_body
next=/checkout status=HIT



=== TEST 2: SENTINEL FAILOVER under load: +switch-master followed, no request fails, suggestions come back from the new primary, steps land there
--- http_config
    cx_redis_sentinel cx270 $TEST_NGINX_CX_SENTINELS sentinel_password=sentpw;
    cx_timeout 10s;
    cx_connect_timeout 2s;
    cx_secret k270-0123456789abcdef;
    cx_prefix t270:;
    cx_rule_reverse 0;
--- init
my ($old, $new) = main::primary();
my $hport = Test::Nginx::Socket::server_port();
main::teach("c", "d");
Test::More::ok(CxTest::wait_until(sub { main::cart("e") =~ /status=HIT/ }, 10),
               "suggestions before the failover");

# the replica has all of it before the failover
Test::More::ok(CxTest::wait_until(sub { main::synced($old, $new) }, 30),
               "the replica caught up");

my $load = CxTest::load($hport, "/cart", "load");
Time::HiRes::sleep(0.3);

my $start = Time::HiRes::time();
Test::More::ok(CxTest::wait_until(sub {
    main::sentinel($main::Sentinels[0], "SENTINEL", "FAILOVER", "cx270")
    eq "OK" }, 30), "SENTINEL FAILOVER accepted");

# the log read as it grows: it is long, with the load's debug lines
my $switched = qr/cx: redis "cx270" primary is 127\.0\.0\.1:$new->{port}/;
open my $log, '<', CxTest::log_file() or die "error.log: $!";
my $seen_switch;
my $back = CxTest::wait_until(sub {
    while (!$seen_switch && defined(my $line = <$log>)) {
        $seen_switch = 1 if $line =~ $switched;
    }
    seek $log, 0, 1;
    $seen_switch && main::cart("probe") =~ m{next=/checkout status=HIT} }, 60);
close $log;
my $took = Time::HiRes::time() - $start;
Test::More::ok($back, "suggestions from the new primary after the failover");
Test::More::diag(sprintf "suggestions back %.0f ms after SENTINEL FAILOVER"
                 . " (the sentinel's own failover: %s ms)", 1000 * $took,
                 main::failover_ms($main::Sentinels[0]));

# the load goes on a little past the switch, then stops
Time::HiRes::sleep(0.3);
my $seen = CxTest::unload($load);
my $all = 0;
$all += $_ for values %$seen;
Test::More::ok($all > 0, "the load ran through the failover");
Test::More::is(join(",", map { "$_=$seen->{$_}" } grep { $_ ne 200 }
                         sort keys %$seen),
               "", "no request of the load failed");
Test::More::diag("load: $all requests, "
                 . join(", ", map { "$_: $seen->{$_}" } sort keys %$seen));

# a new customer's steps go to the new primary
my $key = eval { CxTest::customer_key($new->{port}, "t270:", $hport, "after",
                                      "/cart") };
Test::More::ok($key, "a step after the failover is in the new primary")
    or Test::More::diag($@);
--- request
GET /cart
--- more_headers
Cookie: cx_id=new
--- response_body
next=/checkout status=HIT



=== TEST 3: all sentinels down at start: pages without suggestions, one line; a sentinel up: suggestions again
--- http_config
    cx_redis_sentinel cx270 $TEST_NGINX_CX_NONE sentinel_password=sentpw;
    cx_timeout 10s;
    cx_connect_timeout 2s;
    cx_secret k270-0123456789abcdef;
    cx_prefix t270:;
    cx_rule_reverse 0;
--- init
my $hport = Test::Nginx::Socket::server_port();
my $down = qr/\[error\] .*cx: redis "cx270" no sentinel named the primary: 127\.0\.0\.1:\d+: Connection refused, serving pages without suggestions/;
Test::More::ok(CxTest::wait_for_log(CxTest::log_file(), $down),
               "no sentinel named the primary: said once");
my %seen;
for my $i (1 .. 20) {
    my ($status, undef, $b) = CxTest::http_get($hport, "/cart",
                                               { Cookie => "cx_id=d$i" });
    $seen{$status}++;
    $seen{nothing}++ if $b eq "next= status=ERROR\n";
    Time::HiRes::sleep(0.05);
}
Test::More::is_deeply(\%seen, { 200 => 20, nothing => 20 },
                      "twenty pages served without suggestions");
Test::More::is(CxTest::count_log(CxTest::log_file(), qr/\[error\]/), 1,
               "one error line for all the rounds asked");

# a sentinel comes up where the first was named: found without a reload
my ($p) = main::primary();
my ($none) = $ENV{TEST_NGINX_CX_NONE} =~ /:(\d+)/;
my $s = CxTest::start_sentinel("cx270", $p->{port}, $none,
                               "requirepass sentpw");
Test::More::ok(CxTest::wait_until(sub { main::cart("late") =~ /status=HIT/ },
                                  30),
               "suggestions once a sentinel answers");
CxTest::stop_redis($s);
--- request
GET /cart
--- more_headers
Cookie: cx_id=new
--- response_body
next=/checkout status=HIT
--- no_error_log
[emerg]



=== TEST 4: a sentinel that names a replica: ROLE says so, asked again; a primary turned replica: READONLY, asked again
--- http_config
    cx_redis_sentinel cx270 $TEST_NGINX_CX_DEAD 127.0.0.1:$TEST_NGINX_CX_FAKE;
    cx_timeout 10s;
    cx_connect_timeout 2s;
    cx_secret k270-0123456789abcdef;
    cx_prefix t274:;
    cx_rule_reverse 0;
--- init
my $hport = Test::Nginx::Socket::server_port();
my $log = CxTest::log_file();
Test::More::ok(CxTest::wait_for_log($log,
    qr/\[error\] .*cx: redis "cx270" is not the primary: slave, serving pages without suggestions/),
    "ROLE: the replica named is not used");
Test::More::is(main::cart("r1"), "next= status=ERROR\n",
               "pages without suggestions meanwhile");

# the sentinel names the primary now: the worker asks again, on its own
main::fake_answers($main::Primary2->{port});
Test::More::ok(CxTest::wait_until(sub { main::cart("r2") =~ /status=MISS/ },
                                  30),
               "the primary once the sentinel names it");
main::teach("r3", "r4");
Test::More::ok(CxTest::wait_until(sub { main::cart("r5") =~ /status=HIT/ }, 10),
               "suggestions from it");
Test::More::ok(CxTest::wait_for_log($log, qr/\[notice\] .*"cx270" answers again/),
               "the episode ends");

# the primary becomes a replica behind the sentinel's back, its replica
# the primary, with all it had
CxTest::wait_until(sub { main::synced($main::Primary2, $main::Replica2) }, 30)
    or Test::More::diag("the replica did not catch up");
main::fake_answers($main::Replica2->{port});
CxTest::redis($main::Replica2->{port}, "REPLICAOF", "NO", "ONE");
CxTest::redis($main::Primary2->{port}, "REPLICAOF", "127.0.0.1",
              $main::Replica2->{port});
my $n = 0;
Test::More::ok(CxTest::wait_until(sub {
    my %before = map { $_ => 1 } CxTest::customers($main::Replica2->{port},
                                                   "t274:");
    main::cart("w" . $n++);
    CxTest::wait_until(sub {
        grep { !$before{$_} }
             CxTest::customers($main::Replica2->{port}, "t274:") }, 0.5) },
    30),
    "steps go to the new primary after a READONLY");
Test::More::ok(CxTest::count_log($log, qr/\[error\] .*cx: redis "cx270" refused: \S+ t274:\S+: READONLY /),
               "the READONLY is the episode's line");
--- request
GET /cart
--- more_headers
Cookie: cx_id=new
--- response_body
next=/checkout status=HIT
--- no_error_log
[emerg]



=== TEST 5: a wrong sentinel_password: each sentinel skipped, one line as they answer it, the password never logged
--- http_config
    cx_redis_sentinel cx270 $TEST_NGINX_CX_SENTINELS sentinel_password=wrong-secret;
    cx_timeout 10s;
    cx_connect_timeout 2s;
    cx_secret k270-0123456789abcdef;
    cx_prefix t270:;
    cx_rule_reverse 0;
--- init
Test::More::ok(CxTest::wait_for_log(CxTest::log_file(),
    qr/\[error\] .*cx: redis "cx270" no sentinel named the primary: 127\.0\.0\.1:\d+: AUTH: WRONGPASS invalid username-password pair/),
    "the sentinels' answer, once");
--- request
GET /cart
--- more_headers
Cookie: cx_id=new
--- response_body
next= status=ERROR
--- no_error_log
wrong-secret



=== TEST 6: a master name no sentinel knows
--- http_config
    cx_redis_sentinel nosuch $TEST_NGINX_CX_SENTINELS sentinel_password=sentpw;
    cx_timeout 10s;
    cx_connect_timeout 2s;
    cx_secret k270-0123456789abcdef;
    cx_prefix t270:;
    cx_rule_reverse 0;
--- init
Test::More::ok(CxTest::wait_for_log(CxTest::log_file(),
    qr/\[error\] .*cx: redis "nosuch" no sentinel named the primary: 127\.0\.0\.1:\d+: does not know the name, serving pages without suggestions/),
    "said once");
--- request
GET /cart
--- more_headers
Cookie: cx_id=new
--- response_body
next= status=ERROR
--- no_error_log
sentpw



=== TEST 7: what a sentinel names is logged with its control bytes made "?"
A sentinel that names, as the primary's host, a bulk string with CR and
LF and what looks like a log line of its own: the fault's line shows it
escaped, and no forged line starts in the log.
--- http_config
    cx_redis_sentinel cx270 127.0.0.1:$TEST_NGINX_CX_EVIL;
    cx_timeout 10s;
    cx_connect_timeout 2s;
    cx_secret k270-0123456789abcdef;
    cx_prefix t277:;
    cx_rule_reverse 0;
--- init
my $log = CxTest::log_file();
Test::More::ok(CxTest::wait_for_log($log,
    qr/\[error\] .*named no address: evil\?\?2026\/11\/24 00:00:00 \[emerg\] 1#1: forged, serving pages without suggestions/),
    "the host named, escaped");
open my $in, '<', $log or die "$log: $!";
Test::More::is(scalar(grep { /^2026\/11\/24 00:00:00 \[emerg\]/ } <$in>), 0,
               "no line forged");
--- request
GET /cart
--- more_headers
Cookie: cx_id=new
--- response_body
next= status=ERROR
--- no_error_log
[crit]
