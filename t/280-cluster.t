# cx_redis_cluster: the slots asked of the cluster, each command sent to
# its key's primary, MOVED and ASK followed, a failover and a resharding
# under load.  Three primaries and three replicas of this file's own, on
# free loopback ports (redis-cli --cluster create), stopped by pid.

use Test::Nginx::Socket;
use lib 't/cx';
use CxTest;
use Time::HiRes qw(sleep time);
use IO::Socket::INET;
use IO::Select;
use File::Temp ();
use POSIX ();

# a free port whose cluster bus port (10000 above) is free too
sub cluster_port {
    for (1 .. 100) {
        my $port = CxTest::free_port();
        next if $port > 55535;
        my $bus = IO::Socket::INET->new(Listen => 1, ReuseAddr => 1,
                                        LocalAddr => '127.0.0.1',
                                        LocalPort => $port + 10000)
            or next;
        close $bus;
        return $port;
    }
    die "no free port with a free cluster bus port";
}

# a node times out after a second: a killed primary's replica takes over
# in about two
our @Nodes = map {
    CxTest::start_redis(cluster_port(), undef, "--cluster-enabled", "yes",
                        "--cluster-config-file", "nodes.conf",
                        "--cluster-node-timeout", "1000")
} 1 .. 6;

system("redis-cli --cluster create "
       . join(" ", map { "127.0.0.1:$_->{port}" } @Nodes)
       . " --cluster-replicas 1 --cluster-yes >/dev/null 2>&1") == 0
    or die "redis-cli --cluster create failed";

# every node sees the whole cluster, every slot served
CxTest::wait_until(sub {
    !grep { !(join("\n", CxTest::redis($_->{port}, "CLUSTER", "INFO"))
              =~ /cluster_state:ok.*cluster_known_nodes:6/s) } @Nodes
}, 30) or die "the cluster did not come up";

$ENV{TEST_NGINX_CX_SEEDS} = join " ", map { "127.0.0.1:$_->{port}" }
                                      @Nodes[0, 1];

# two nodes named where nothing listens, and one of the cluster's
$ENV{TEST_NGINX_CX_SOME} = join " ", (map { "127.0.0.1:" . CxTest::free_port() }
                                      1 .. 2),
                                     "127.0.0.1:$Nodes[2]->{port}";

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

# the primaries as the cluster names them now: { port => node }
sub primaries {
    my %p;
    for my $n (@Nodes) {
        next unless $n->{pid};
        for (CxTest::redis($n->{port}, "CLUSTER", "NODES")) {
            my ($addr, $flags) = (split / /)[1, 2];
            next unless $flags =~ /\bmaster\b/ && $flags !~ /fail/;
            my ($port) = $addr =~ /:(\d+)/;
            my ($node) = grep { $_->{port} == $port } @Nodes;
            $p{$port} = $node if $node;
        }
        last;
    }
    return \%p;
}

# the node whose replica $r is, as $r says
sub primary_of {
    my ($r) = @_;
    my ($port) = map { /^master_port:(\d+)/ ? $1 : () }
                 CxTest::redis($r->{port}, "INFO", "replication");
    return $port ? (grep { $_->{port} == $port } @Nodes)[0] : undef;
}

# the role a node says it has
sub role { (CxTest::redis($_[0]->{port}, "ROLE"))[0] // "" }

# the node that holds a key's slot, as the cluster says
sub owner {
    my ($key) = @_;
    my $slot = CxTest::redis($Nodes[0]->{port}, "CLUSTER", "KEYSLOT", $key);
    my $p = primaries();
    for my $n (values %$p) {
        for (CxTest::redis($n->{port}, "CLUSTER", "NODES")) {
            my ($addr, $flags, @ranges) = (split / /)[1, 2, 8 .. 100];
            next unless $flags =~ /\bmyself\b/;
            for (@ranges) {
                next unless defined && /^(\d+)(?:-(\d+))?$/;
                return $n if $slot >= $1 && $slot <= ($2 // $1);
            }
        }
    }
    return undef;
}

# the customers under the prefix, of every primary: { base => node }
sub customers {
    my ($prefix) = @_;
    my %c;
    my $p = primaries();
    for my $n (values %$p) {
        $c{$_} = $n for CxTest::customers($n->{port}, $prefix);
    }
    return \%c;
}

# a command on a node after ASKING, as a client that followed an ASK
sub asking {
    my ($n, @cmd) = @_;
    open my $fh, '-|', "sh", "-c",
         'printf "ASKING\n%s\n" "$*" | redis-cli -p ' . $n->{port}
         . ' --raw', "sh", @cmd
        or die "redis-cli: $!";
    my @lines = <$fh>;
    close $fh;
    chomp @lines;
    shift @lines;
    return @lines;
}

# the key base "P{H}" of a customer new to the cluster, after one step
sub base_of {
    my ($id, $prefix) = @_;
    $prefix //= "t280:";
    my %before = %{ customers($prefix) };
    CxTest::http_get(Test::Nginx::Socket::server_port(), "/",
                     { Cookie => "cx_id=$id" });
    my @new;
    CxTest::wait_until(sub {
        @new = grep { !$before{$_} } keys %{ customers($prefix) };
        @new == 1 }, 10) or die "no single new customer for $id: @new";
    return $new[0];
}

# a slot's migration begun as redis-cli begins it: IMPORTING on the
# node it goes to, MIGRATING on the one it leaves; the nodes' ids
sub migrating {
    my ($slot, $src, $dst) = @_;
    my $src_id = CxTest::redis($src->{port}, "CLUSTER", "MYID");
    my $dst_id = CxTest::redis($dst->{port}, "CLUSTER", "MYID");
    CxTest::redis($dst->{port}, "CLUSTER", "SETSLOT", $slot, "IMPORTING",
                  $src_id) eq "OK"
        and CxTest::redis($src->{port}, "CLUSTER", "SETSLOT", $slot,
                          "MIGRATING", $dst_id) eq "OK"
        or die "SETSLOT $slot failed";
    return ($src_id, $dst_id);
}

# keys migrated, then the slot the new node's on every primary
sub migrate {
    my ($src, $dst, @keys) = @_;
    CxTest::redis($src->{port}, "MIGRATE", "127.0.0.1", $dst->{port}, "", 0,
                  5000, "KEYS", @keys) eq "OK"
        or die "MIGRATE @keys failed";
}

sub migrated {
    my ($slot, $src, $dst, $dst_id) = @_;
    for my $n ($dst, $src, grep { $_ != $src && $_ != $dst }
                           values %{ primaries() }) {
        CxTest::redis($n->{port}, "CLUSTER", "SETSLOT", $slot, "NODE",
                      $dst_id);
    }
}

# the cart's response for customer $id (CxTest::cart), and customers new
# to the shop teaching home -> cart -> checkout (CxTest::teach)
sub cart { CxTest::cart(Test::Nginx::Socket::server_port(), @_) }
sub teach { CxTest::teach(Test::Nginx::Socket::server_port(), @_) }

# a customer who keeps stepping, home, cart and checkout in turn, in a
# child process until unwalk()
sub walk {
    my ($port, $id) = @_;
    my (undef, $file) = File::Temp::tempfile("cx-walk-XXXXXX", TMPDIR => 1,
                                             UNLINK => 1);
    my $parent = $$;

    STDOUT->flush;
    STDERR->flush;
    my $pid = fork // die "fork: $!";

    if ($pid == 0) {
        my ($n, %seen) = (0);
        my @uris = ("/", "/cart", "/checkout");
        while (!-e "$file.stop" && getppid() == $parent) {
            my ($status, undef, $b) = CxTest::http_get(
                $port, $uris[$n++ % 3], { Cookie => "cx_id=$id" });
            $seen{$status || 0}++;
            $seen{"cx:$1"}++ if ($b // "") =~ /status=(\w+)/;
        }
        if (open my $out, '>', $file) {
            print $out map { "$_ $seen{$_}\n" } sort keys %seen;
            close $out;
        }
        POSIX::_exit(0);
    }

    return { pid => $pid, file => $file };
}

# stops a walk(): { status => count }, and each $cx_status as "cx:STATUS"
sub unwalk {
    my $w = shift;
    open my $stop, '>', "$w->{file}.stop" or die "$w->{file}.stop: $!";
    close $stop;
    waitpid $w->{pid}, 0;
    unlink "$w->{file}.stop";
    my %seen;
    open my $in, '<', $w->{file} or return \%seen;
    while (<$in>) {
        $seen{$1} = $2 if /^(\S+) (\d+)$/;
    }
    close $in;
    return \%seen;
}

# the slots a primary serves, as it says: a sorted list
sub slots_of {
    my ($n) = @_;
    for (CxTest::redis($n->{port}, "CLUSTER", "NODES")) {
        my ($flags, @ranges) = (split / /)[2, 8 .. 16391];
        next unless $flags =~ /\bmyself\b/;
        return map { /^(\d+)(?:-(\d+))?$/ ? ($1 .. ($2 // $1)) : () }
               grep { defined } @ranges;
    }
    return ();
}

run_tests();

__DATA__

=== TEST 1: thirty customers, their hashes on each of the three primaries, the rules on theirs; suggestions served
--- http_config
    cx_redis_cluster $TEST_NGINX_CX_SEEDS;
    cx_timeout 10s;
    cx_connect_timeout 2s;
    cx_secret k280-0123456789abcdef;
    cx_prefix t280:;
    cx_rule_reverse 0;
--- init
Test::More::ok(CxTest::wait_until(sub { main::cart("probe") =~ /status=MISS/ },
                                  10),
               "the slots are known: requests read the cluster");
main::teach(map { "c$_" } 1 .. 30);
my $c;
Test::More::ok(CxTest::wait_until(sub {
                     $c = main::customers("t280:"); keys %$c == 31 }, 10),
               "thirty customers' hashes and the probe's in the cluster")
    or Test::More::diag(scalar keys %$c);
my %on;
$on{$c->{$_}{port}}++ for keys %$c;
Test::More::is(scalar(keys %on), 3, "on each of the three primaries")
    or Test::More::diag(join " ", %on);
Test::More::ok(scalar(grep { /^t280:t:\{home\}:\d+$/ }
                      CxTest::keys_of(main::owner("{home}")->{port},
                                      "t280:t:")),
               "the rules of home on the primary of {home}");
--- request
GET /cart
--- more_headers
Cookie: cx_id=new
--- response_body
next=/checkout status=HIT



=== TEST 2: CLUSTER FAILOVER of the primary of {cart} under load: no request fails, MOVED followed, suggestions from the new primary, no customer lost
--- http_config
    cx_redis_cluster $TEST_NGINX_CX_SEEDS;
    cx_timeout 10s;
    cx_connect_timeout 2s;
    cx_secret k280-0123456789abcdef;
    cx_prefix t280:;
    cx_rule_reverse 0;
--- init
my $hport = Test::Nginx::Socket::server_port();
Test::More::ok(CxTest::wait_until(sub { main::cart("e") =~ /status=HIT/ }, 10),
               "suggestions before the failover");
my %before = %{ main::customers("t280:") };
my $old = main::owner("{cart}");
my ($new) = grep { my $p = main::primary_of($_); $p && $p == $old } @main::Nodes;

my $load = CxTest::load($hport, "/cart", "load2");
Time::HiRes::sleep(0.3);

my $start = Time::HiRes::time();
Test::More::is(CxTest::redis($new->{port}, "CLUSTER", "FAILOVER"), "OK",
               "CLUSTER FAILOVER accepted");
Test::More::ok(CxTest::wait_until(sub { main::role($new) eq "master"
                                        && main::role($old) eq "slave" }, 30),
               "the replica is the primary, the primary a replica");
my $switched = Time::HiRes::time() - $start;
my $back = CxTest::wait_until(sub {
    main::cart("probe2") =~ m{next=/checkout status=HIT} }, 60);
my $took = Time::HiRes::time() - $start;
Test::More::ok($back, "suggestions from the new primary");
Test::More::diag(sprintf "suggestions back %.0f ms after CLUSTER FAILOVER"
                 . " (roles switched at %.0f ms)", 1000 * $took,
                 1000 * $switched);

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

my $after = main::customers("t280:");
Test::More::is(scalar(grep { !$after->{$_} } keys %before), 0,
               "every customer of before is still there");
Test::More::ok(CxTest::wait_for_log(CxTest::log_file(),
                                    qr/cx: redis \w+ \S+: MOVED to /, 1),
               "a MOVED was followed");
--- request
GET /cart
--- more_headers
Cookie: cx_id=new
--- response_body
next=/checkout status=HIT
--- no_error_log
[emerg]



=== TEST 3: ASK: the slot of a customer's keys migrated by hand under load, MIGRATING and IMPORTING; the customer's steps read and written on the new node, then MOVED
--- http_config
    cx_redis_cluster $TEST_NGINX_CX_SEEDS;
    cx_timeout 10s;
    cx_connect_timeout 2s;
    cx_secret k280-0123456789abcdef;
    cx_prefix t280:;
    cx_rule_reverse 0;
--- init
my $hport = Test::Nginx::Socket::server_port();
my $base = main::base_of("m1");
my $slot = CxTest::redis($main::Nodes[0]->{port}, "CLUSTER", "KEYSLOT",
                         "$base:s");
my $src = main::owner("$base:s");
my ($dst) = grep { $_ != $src } values %{ main::primaries() };
my $src_id = CxTest::redis($src->{port}, "CLUSTER", "MYID");
my $dst_id = CxTest::redis($dst->{port}, "CLUSTER", "MYID");
CxTest::journeys($hport, ["m1", "/cart"]);
Test::More::ok(CxTest::wait_until(sub {
                     (CxTest::steps($src->{port}, $base))[0] =~ /^cart / }, 10),
               "the customer's last step, cart, on the node of its slot");

my $load = CxTest::load($hport, "/cart", "load3");
Time::HiRes::sleep(0.3);

Test::More::is(CxTest::redis($dst->{port}, "CLUSTER", "SETSLOT", $slot,
                             "IMPORTING", $src_id), "OK", "IMPORTING");
Test::More::is(CxTest::redis($src->{port}, "CLUSTER", "SETSLOT", $slot,
                             "MIGRATING", $dst_id), "OK", "MIGRATING");
my @keys = CxTest::redis($src->{port}, "CLUSTER", "GETKEYSINSLOT", $slot,
                         100);
Test::More::is(CxTest::redis($src->{port}, "MIGRATE", "127.0.0.1",
                             $dst->{port}, "", 0, 5000, "KEYS", @keys),
               "OK", "the slot's keys migrated");

# the slot is the source's still: each command of the customer's is
# answered ASK there, and sent to the new node behind ASKING
CxTest::journeys($hport, ["m1", "/checkout"]);
Test::More::ok(CxTest::wait_until(sub {
                     (main::asking($dst, "HGET", "$base:s", "r"))[0]
                     =~ m{^checkout /checkout\|cart /cart} }, 10),
               "the step after the migration written on the new node");
Test::More::like(main::cart("m1"), qr/status=/, "the customer served");
Test::More::ok(CxTest::wait_for_log(CxTest::log_file(),
                                    qr/cx: redis HGETALL \Q$base\E:s: ASK to /,
                                    1),
               "the customer's read followed an ASK");

# the slot is the new node's: MOVED
for my $n ($dst, $src, grep { $_ != $src && $_ != $dst }
                       values %{ main::primaries() }) {
    CxTest::redis($n->{port}, "CLUSTER", "SETSLOT", $slot, "NODE", $dst_id);
}
CxTest::journeys($hport, ["m1", "/checkout"]);
Test::More::ok(CxTest::wait_until(sub {
                     join("|", CxTest::steps($dst->{port}, $base))
                     =~ m{^checkout /checkout\|cart /cart\|checkout /checkout\|}
                     }, 10),
               "the next step on the new node, the slot its own");

Time::HiRes::sleep(0.3);
my $seen = CxTest::unload($load);
Test::More::is(join(",", map { "$_=$seen->{$_}" } grep { $_ ne 200 }
                         sort keys %$seen),
               "", "no request of the load failed");
--- request
GET /cart
--- more_headers
Cookie: cx_id=new
--- response_body
next=/checkout status=HIT



=== TEST 4: cx_model_cache and cx_write_behind on the cluster: rule credits written behind to each step's primary, suggestions from the zone
--- http_config
    cx_redis_cluster $TEST_NGINX_CX_SEEDS;
    cx_timeout 10s;
    cx_connect_timeout 2s;
    cx_secret k280-0123456789abcdef;
    cx_prefix t284:;
    cx_rule_reverse 0;
    cx_model_cache 1m valid=100ms customers=60s;
    cx_write_behind 100ms;
--- init
Test::More::ok(CxTest::wait_until(sub { main::cart("w0") =~ /status=MISS/ },
                                  10),
               "the slots are known");
main::teach(map { "w$_" } 1 .. 6);
my %rules;
Test::More::ok(CxTest::wait_until(sub {
    %rules = ();
    for my $n (values %{ main::primaries() }) {
        $rules{$_} = $n for grep { /^t284:t:\{\w+\}:\d+$/ }
                              CxTest::keys_of($n->{port}, "t284:t:");
    }
    2 == grep { /\{(home|cart)\}/ } keys %rules }, 10),
               "the credits of home and cart written behind");
Test::More::is(scalar(grep { main::owner($_) != $rules{$_} } keys %rules), 0,
               "each rule key on the primary of its step's slot");
Test::More::ok(CxTest::wait_until(sub { main::cart("w7") =~ /status=HIT/ }, 10),
               "suggestions");
--- request
GET /cart
--- more_headers
Cookie: cx_id=new
--- response_body
next=/checkout status=HIT



=== TEST 5: two of the three nodes named are down: the third is asked, the slots served
--- http_config
    cx_redis_cluster $TEST_NGINX_CX_SOME;
    cx_timeout 10s;
    cx_connect_timeout 2s;
    cx_secret k280-0123456789abcdef;
    cx_prefix t280:;
    cx_rule_reverse 0;
--- init
Test::More::ok(CxTest::wait_until(sub { main::cart("s1") =~ /status=HIT/ }, 10),
               "suggestions once the node that answers is asked");
--- request
GET /cart
--- more_headers
Cookie: cx_id=new
--- response_body
next=/checkout status=HIT
--- no_error_log
[emerg]



=== TEST 6: a primary killed under load: no request fails, its replica takes over, suggestions come back
--- http_config
    cx_redis_cluster $TEST_NGINX_CX_SEEDS;
    cx_timeout 10s;
    cx_connect_timeout 2s;
    cx_secret k280-0123456789abcdef;
    cx_prefix t280:;
    cx_rule_reverse 0;
--- init
my $hport = Test::Nginx::Socket::server_port();
Test::More::ok(CxTest::wait_until(sub { main::cart("e4") =~ /status=HIT/ }, 10),
               "suggestions before the primary is killed");
my $old = main::owner("{cart}");
my ($new) = grep { my $p = main::primary_of($_); $p && $p == $old } @main::Nodes;
my %before = %{ main::customers("t280:") };
my @old_keys = grep { $before{$_} == $old } keys %before;

my $load = CxTest::load($hport, "/cart", "load4");
Time::HiRes::sleep(0.3);

my $start = Time::HiRes::time();
kill 'KILL', $old->{pid};
CxTest::wait_until(sub { !CxTest::alive($old->{pid}) }, 10);
delete $old->{pid};

Test::More::ok(CxTest::wait_until(sub { main::role($new) eq "master" }, 30),
               "the replica took over");
Test::More::ok(CxTest::wait_for_log(CxTest::log_file(),
    qr/\[error\] .*cx: redis "[^"]+" connection lost: 127\.0\.0\.1:$old->{port}: .*, serving pages without suggestions/),
    "the episode's line names the node lost");
my $switched = Time::HiRes::time() - $start;
my $back = CxTest::wait_until(sub {
    main::cart("probe4") =~ m{next=/checkout status=HIT} }, 60);
my $took = Time::HiRes::time() - $start;
Test::More::ok($back, "suggestions from the new primary");
Test::More::diag(sprintf "suggestions back %.0f ms after the primary was"
                 . " killed (its replica took over at %.0f ms)",
                 1000 * $took, 1000 * $switched);

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
my $after = main::customers("t280:");
Test::More::is(scalar(grep { !$after->{$_} } keys %before), 0,
               "every customer of before is there, "
               . scalar(@old_keys) . " of them from the killed primary");
--- request
GET /cart
--- more_headers
Cookie: cx_id=new
--- response_body
next=/checkout status=HIT
--- no_error_log
[emerg]



=== TEST 7: redis-cli --cluster reshard of the slot of a customer who keeps stepping, under load: no request fails, every step on the new node
--- http_config
    cx_redis_cluster $TEST_NGINX_CX_SEEDS;
    cx_timeout 10s;
    cx_connect_timeout 2s;
    cx_secret k280-0123456789abcdef;
    cx_prefix t287:;
    cx_rule_reverse 0;
    cx_history 10000;
--- init
my $hport = Test::Nginx::Socket::server_port();
Test::More::ok(CxTest::wait_until(sub { main::cart("r0") =~ /status=MISS/ },
                                  10),
               "the slots are known");
my %before = %{ main::customers("t287:") };
CxTest::http_get($hport, "/", { Cookie => "cx_id=r1" });
my $base;
CxTest::wait_until(sub {
    ($base) = grep { !$before{$_} } keys %{ main::customers("t287:") };
    $base }, 10) or die "no key of r1";
my $slot = CxTest::redis($main::Nodes[0]->{port}, "CLUSTER", "KEYSLOT",
                         "$base:s");
my $src = main::owner("$base:s");
my ($dst) = grep { $_ != $src } values %{ main::primaries() };
my $src_id = CxTest::redis($src->{port}, "CLUSTER", "MYID");
my $dst_id = CxTest::redis($dst->{port}, "CLUSTER", "MYID");

# redis-cli moves the source's lowest slots: as many as reach the customer's
my $n = grep { $_ <= $slot } main::slots_of($src);
Test::More::diag("slot $slot of $base: $n slots of its node up to it");

my $load = CxTest::load($hport, "/cart", "load7");
my $walk = main::walk($hport, "r1");
Time::HiRes::sleep(0.3);

my $start = Time::HiRes::time();
my $out = `redis-cli --cluster reshard 127.0.0.1:$src->{port} --cluster-from $src_id --cluster-to $dst_id --cluster-slots $n --cluster-yes 2>&1`;
my $took = Time::HiRes::time() - $start;
Test::More::is($?, 0, "redis-cli --cluster reshard of $n slots")
    or Test::More::diag($out);
Test::More::diag(sprintf "reshard of %d slots: %.0f ms", $n, 1000 * $took);

Time::HiRes::sleep(0.3);
my $walked = main::unwalk($walk);
my $seen = CxTest::unload($load);
Test::More::is(join(",", map { "$_=$seen->{$_}" } grep { $_ ne 200 }
                         sort keys %$seen),
               "", "no request of the load failed");
Test::More::is(join(",", map { "$_=$walked->{$_}" }
                         grep { !/^(200|cx:.*)$/ } sort keys %$walked),
               "", "no step of the customer failed");
my $steps = 1 + ($walked->{200} // 0);
my $have;
Test::More::ok(CxTest::wait_until(sub {
    $have = CxTest::redis($dst->{port}, "LLEN", "$base:seq"); $have == $steps
    }, 10), "every step of the customer's on the new node")
    or Test::More::diag("$have of $steps");
my $all = 0;
$all += $_ for values %$seen;
Test::More::diag("load: $all requests, "
                 . join(", ", map { "$_: $seen->{$_}" } sort keys %$seen)
                 . "; the customer: $steps steps, $have on the new node, "
                 . join(", ", map { "$_: $walked->{$_}" } sort keys %$walked));
Test::More::diag(join ", ", map {
    CxTest::count_log(CxTest::log_file(),
                      qr/cx: redis \w+ \Q$base\E:\w+: $_ to /) . " $_"
    } "ASK", "MOVED");
Test::More::is(CxTest::redis($src->{port}, "CLUSTER", "COUNTKEYSINSLOT",
                             $slot), 0, "none left on the old node");
--- request
GET /cart
--- more_headers
Cookie: cx_id=new
--- response_body_like
status=HIT



=== TEST 8: TRYAGAIN: cx_forget's DEL of a customer's keys while their slot migrates, sent again until the migration ends; the keys deleted on the new node
--- http_config
    cx_redis_cluster $TEST_NGINX_CX_SEEDS;
    cx_timeout 10s;
    cx_connect_timeout 2s;
    cx_secret k280-0123456789abcdef;
    cx_prefix t288:;
    cx_rule_reverse 0;
--- config
    location = /cx/forget { cx_forget; }
--- init
my $hport = Test::Nginx::Socket::server_port();
Test::More::ok(CxTest::wait_until(sub { main::cart("t0") =~ /status=MISS/ },
                                  10),
               "the slots are known");
my $base = main::base_of("f1", "t288:");
my $slot = CxTest::redis($main::Nodes[0]->{port}, "CLUSTER", "KEYSLOT",
                         "$base:s");
my $src = main::owner("$base:s");
my ($dst) = grep { $_ != $src } values %{ main::primaries() };
my (undef, $dst_id) = main::migrating($slot, $src, $dst);

# the DEL names five keys, one there: the source answers TRYAGAIN
my $s = CxTest::connect_to($hport, 5) or die "connect: $!";
print $s "POST /cx/forget HTTP/1.1\r\nHost: localhost\r\n"
         . "Cookie: cx_id=f1\r\nContent-Length: 0\r\n"
         . "Connection: close\r\n\r\n";
Test::More::ok(CxTest::wait_for_log(CxTest::log_file(),
                   qr/cx: redis DEL \Q$base\E:\w+: TRYAGAIN, again in \d+ ms/,
                   10),
               "the DEL refused TRYAGAIN, to be sent again");

main::migrate($src, $dst, "$base:s");
main::migrated($slot, $src, $dst, $dst_id);

my ($resp, $buf) = ("", "");
my $sel = IO::Select->new($s);
while ($sel->can_read(10) && sysread($s, $buf, 4096)) {
    $resp .= $buf;
}
close $s;
Test::More::like($resp, qr{^HTTP/1\.1 200 .*\{"forgotten":1\}}s,
                 "the customer forgotten, once the slot moved")
    or Test::More::diag($resp);
Test::More::is(CxTest::redis($dst->{port}, "EXISTS", "$base:s"), 0,
               "their hash deleted on the new node");
--- request
GET /cart
--- more_headers
Cookie: cx_id=new
--- response_body
next= status=MISS



=== TEST 9: a customer's hash migrated before their paths: the paths answer first, from the old node; the step read and recorded whole
--- http_config
    cx_redis_cluster $TEST_NGINX_CX_SEEDS;
    cx_timeout 10s;
    cx_connect_timeout 2s;
    cx_secret k280-0123456789abcdef;
    cx_prefix t289:;
    cx_rule_reverse 0;
--- config
    cx_goal checkout;
--- init
my $hport = Test::Nginx::Socket::server_port();
Test::More::ok(CxTest::wait_until(sub { main::cart("u0") =~ /status=MISS/ },
                                  10),
               "the slots are known");
my $base = main::base_of("h1", "t289:");
CxTest::journeys($hport, ["h1", "/cart", "/checkout"]);
my $slot = CxTest::redis($main::Nodes[0]->{port}, "CLUSTER", "KEYSLOT",
                         "$base:s");
my $src = main::owner("$base:s");
my ($dst) = grep { $_ != $src } values %{ main::primaries() };
Test::More::ok(CxTest::wait_until(sub {
    CxTest::redis($src->{port}, "LLEN", "$base:g") == 1
    && (CxTest::steps($src->{port}, $base))[0] =~ /^checkout / }, 10),
               "the customer's hash and path on the node of their slot");
my (undef, $dst_id) = main::migrating($slot, $src, $dst);
main::migrate($src, $dst, "$base:s");

# their hash is asked of the new node (ASK), their paths answered first
CxTest::journeys($hport, ["h1", "/", "/cart"]);
Test::More::ok(CxTest::wait_until(sub {
    join("|", main::asking($dst, "HGET", "$base:s", "r"))
    =~ m{^cart /cart\|home /\|checkout /checkout\|cart /cart\|home /$} }, 10),
               "both steps in the customer's recent steps, on the new node")
    or Test::More::diag(main::asking($dst, "HGET", "$base:s", "r"));
Test::More::is(CxTest::redis($src->{port}, "LLEN", "$base:g"), 1,
               "their path still on the old node");

main::migrate($src, $dst, "$base:g");
main::migrated($slot, $src, $dst, $dst_id);
Test::More::like(main::cart("h1"), qr{status=HIT}, "the customer served");
--- request
GET /cart
--- more_headers
Cookie: cx_id=new
--- response_body
next=/checkout status=HIT



=== TEST 10: a step's previous epoch migrated before this epoch: its rules answered after this epoch's, through ASK; both in the answer
--- http_config
    cx_redis_cluster $TEST_NGINX_CX_SEEDS;
    cx_timeout 10s;
    cx_connect_timeout 2s;
    cx_secret k280-0123456789abcdef;
    cx_prefix t28a:;
    cx_rule_reverse 0;
--- init
Test::More::ok(CxTest::wait_until(sub { main::cart("v0") =~ /status=MISS/ },
                                  10),
               "the slots are known");
main::teach(map { "v$_" } 1 .. 3);
my $src = main::owner("{cart}");
my ($cur) = grep { /^t28a:t:\{cart\}:\d+$/ }
            CxTest::keys_of($src->{port}, "t28a:t:{cart}:");
my ($epoch) = ($cur // "") =~ /:(\d+)$/ or die "no rules of cart";
my $past = "t28a:t:{cart}:" . ($epoch - 1);
CxTest::redis($src->{port}, "ZADD", $past, 1000, "home /");
CxTest::redis($src->{port}, "EXPIRE", $past, 3600);
Test::More::is(main::cart("v4"), "next=/checkout / status=HIT\n",
               "the previous epoch's rules after this one's");

my $slot = CxTest::redis($src->{port}, "CLUSTER", "KEYSLOT", $cur);
my ($dst) = grep { $_ != $src } values %{ main::primaries() };
my (undef, $dst_id) = main::migrating($slot, $src, $dst);
main::migrate($src, $dst, $past);
Test::More::is(main::cart("v5"), "next=/checkout / status=HIT\n",
               "both epochs' rules, the previous one's from the new node");
Test::More::ok(CxTest::wait_for_log(CxTest::log_file(),
                   qr/cx: redis ZREVRANGE \Q$past\E: ASK to /, 1),
               "the previous epoch's read followed an ASK");

main::migrate($src, $dst, CxTest::redis($src->{port}, "CLUSTER",
                                        "GETKEYSINSLOT", $slot, 1000));
main::migrated($slot, $src, $dst, $dst_id);
Test::More::is(main::cart("v6"), "next=/checkout / status=HIT\n",
               "both from the new node, the slot its own");
--- request
GET /cart
--- more_headers
Cookie: cx_id=new
--- response_body
next=/checkout / status=HIT



=== TEST 11: TRYAGAIN of a write: a login's DEL of the visit it takes over while the visit's slot migrates, sent again until the migration ends; the visit's keys deleted on the new node
--- http_config
    cx_redis_cluster $TEST_NGINX_CX_SEEDS;
    cx_timeout 10s;
    cx_connect_timeout 2s;
    cx_secret k280-0123456789abcdef;
    cx_prefix t28b:;
    cx_rule_reverse 0;
--- config
    cx_id $http_x_customer_id;
    cx_cookie cx_id;
--- init
my $hport = Test::Nginx::Socket::server_port();
Test::More::ok(CxTest::wait_until(sub { main::cart("x0") =~ /status=MISS/ },
                                  10),
               "the slots are known");
my $visit = main::base_of("xv", "t28b:");
my $slot = CxTest::redis($main::Nodes[0]->{port}, "CLUSTER", "KEYSLOT",
                         "$visit:s");
my $src = main::owner("$visit:s");
my ($dst) = grep { $_ != $src } values %{ main::primaries() };
my (undef, $dst_id) = main::migrating($slot, $src, $dst);

# the login takes the visit over: its DEL names four keys, one there
CxTest::http_get($hport, "/cart",
                 { Cookie => "cx_id=xv", "X-Customer-Id" => "xl" });
Test::More::ok(CxTest::wait_for_log(CxTest::log_file(),
                   qr/cx: redis DEL \Q$visit\E:\w+: TRYAGAIN, again in \d+ ms/,
                   10),
               "the visit's DEL refused TRYAGAIN, to be sent again");

main::migrate($src, $dst, CxTest::redis($src->{port}, "CLUSTER",
                                        "GETKEYSINSLOT", $slot, 100));
main::migrated($slot, $src, $dst, $dst_id);
Test::More::ok(CxTest::wait_until(sub {
                   CxTest::redis($dst->{port}, "EXISTS", "$visit:s") == 0 },
                                  10),
               "the visit's hash deleted on the new node");
--- request
GET /cart
--- more_headers
Cookie: cx_id=new
--- response_body
next= status=MISS
