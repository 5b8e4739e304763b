# Issue 11: the rule credits of a worker's steps are summed and written
# behind (cx_write_behind): many steps crediting one rule within an
# interval cost one ZINCRBY of their sum; a full table is written at
# once; a worker that exits (a reload, a shutdown) writes what it holds;
# a Redis that is gone costs the credits held, never more memory, and one
# log line per episode.
#
# This file starts two redis-servers of its own: one that MONITOR watches
# and one that TEST 7 and 8 stop.  Each block has a cx_prefix of its own,
# since a worker of the block before may write its credits as it exits (in
# HUP mode, after this block's reload).  Steps are sent at T0, the start of
# a decay epoch (cx_half_life 1h, epochs of 32 h): a credit weighs its
# factor exactly, 1/2 for a customer without a goal.

use Test::Nginx::Socket;
use lib 't/cx';
use CxTest;
use POSIX ();
use Time::HiRes qw(sleep time);

if ($ENV{TEST_NGINX_USE_VALGRIND}) {
    # Test::Nginx runs valgrind with master_process off: no workers to replace
    plan skip_all => "a reload needs a master process";
}

our $Redis = CxTest::start_redis();
our $Gone = CxTest::start_redis();

$ENV{TEST_NGINX_CX_REDIS_PORT} = $Redis->{port};
$ENV{TEST_NGINX_CX_GONE_PORT} = $Gone->{port};

# a decay epoch's first millisecond: 15000 epochs of 32 hours
our $T0 = 15000 * 32 * 3600 * 1000;

master_on();
workers(1);
repeat_each(1);

plan tests => CxTest::planned(qr/Test::More::(?!diag)\w+\(/, 1);

no_shuffle();
no_root_location();

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("http_config", <<'_EOC_' . $block->http_config);
    cx_timeout 10s;
    cx_secret k240-0123456789abcdef;
    cx_half_life 1h;
    cx_rule_reverse 0;
_EOC_

    $block->set_value("config", <<'_EOC_');
    cx on;
    cx_header on;
    cx_time $http_x_cx_time;
    cx_step home /;
    cx_step search /search;
    cx_step cart /cart;
    cx_step checkout /checkout;
    cx_step item:$1 ~^/item/(.+)$;
    location / {
        return 200 "step=$cx_step status=$cx_status\n";
    }
    location = /t {
        cx off;
        return 200 "ok\n";
    }
_EOC_

    CxTest::quiet($block);
});

sub main::error_log {
    return Test::Nginx::Socket::server_root() . "/logs/error.log";
}

# the master's pid, once it wrote it (a daemon, it may still be starting)
sub main::master {
    my $file = Test::Nginx::Socket::server_root() . "/logs/nginx.pid";
    my $deadline = time + 10;
    while (time < $deadline) {
        if (open my $in, '<', $file) {
            my $pid = <$in> // '';
            close $in;
            return $1 if $pid =~ /^(\d+)$/;
        }
        sleep 0.02;
    }
    die "no pid in $file";
}

# the one worker of the master, once the workers of a configuration
# before (HUP mode) are gone: every request of the block goes to it
sub main::worker {
    my $master = main::master();
    my $deadline = time + 10;
    while (time < $deadline) {
        my @workers;
        for my $stat (glob "/proc/[0-9]*/stat") {
            open my $in, '<', $stat or next;
            my $line = <$in> // '';
            close $in;
            push @workers, $1 if $line =~ /^(\d+) \(.*\) [^Z] (\d+) /
                                 && $2 == $master;
        }
        return $workers[0] if @workers == 1;
        sleep 0.02;
    }
    die "nginx $master has not one worker";
}

# customers walk at T0: [id, uri, ...]
sub main::walk {
    my $port = Test::Nginx::Socket::server_port();
    for my $j (@_) {
        my ($id, @uris) = @$j;
        for my $uri (@uris) {
            my ($status) = CxTest::http_get($port, $uri,
                { Cookie => "cx_id=$id", "X-CX-Time" => $main::T0 });
            die "GET $uri for $id: $status" unless $status && $status == 200;
        }
    }
}

# the weight of the rule from the step name to member, "none" if none
sub main::score {
    my ($port, $prefix, $name, $member) = @_;
    my $score = CxTest::redis($port, "ZSCORE", "${prefix}t:{$name}:15000",
                              $member);
    return defined $score && length $score ? $score : "none";
}

# the same once it is there, polled for 10 s at most
sub main::credited {
    my @rule = @_;
    my $deadline = time + 10;
    my $score = main::score(@rule);
    while ($score eq "none" && time < $deadline) {
        sleep 0.02;
        $score = main::score(@rule);
    }
    return $score;
}

# the member's score in key, once it is score (10 s at most)
sub main::until_score {
    my ($port, $key, $member, $score) = @_;
    my ($s, $deadline) = ("none", time + 10);
    while (time < $deadline) {
        $s = CxTest::redis($port, "ZSCORE", $key, $member) // "none";
        last if $s eq $score;
        sleep 0.02;
    }
    return $s;
}

# polls until a customer under the prefix holds n steps: the
# log phase of the n-th step ran, and wrote what it does not hold back
sub main::recorded {
    my ($port, $prefix, $n) = @_;
    my $deadline = time + 10;
    while (time < $deadline) {
        for my $base (CxTest::customers($port, $prefix)) {
            return 1 if CxTest::steps($port, $base) == $n;
        }
        sleep 0.02;
    }
    die "no sequence of $n steps under $prefix";
}

# a MONITOR of the redis, by a redis-cli of the test's own, into a file
sub main::monitor {
    my $port = shift;
    my $file = Test::Nginx::Socket::server_root() . "/logs/monitor.log";
    unlink $file;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', $file or POSIX::_exit(1);
        exec("redis-cli", "-p", $port, "MONITOR") or POSIX::_exit(1);
    }
    die "no MONITOR" unless CxTest::wait_for_log($file, qr/^OK/, 10);
    return { pid => $pid, file => $file };
}

# the writes MONITOR saw of keys that begin with $key, once one of them
# matches $last: [name, key, arguments...] each
sub main::monitored {
    my ($m, $key, $last) = @_;
    CxTest::wait_for_log($m->{file}, $last, 10);
    kill 'TERM', $m->{pid};
    waitpid $m->{pid}, 0;
    my @cmds;
    open my $in, '<', $m->{file} or die "$m->{file}: $!";
    while (my $line = <$in>) {
        my @args = map { s/\\(.)/$1/gr } $line =~ /"((?:[^"\\]|\\.)*)"/g;
        next unless @args > 1 && index($args[1], $key) == 0;
        push @cmds, \@args if $args[0] =~ /^(ZREMRANGEBYRANK|ZINCRBY|EXPIRE)$/;
    }
    close $in;
    return @cmds;
}

run_tests();

__DATA__

=== TEST 1: steps crediting one rule within an interval cost one write
Ten customers go from home to the search, each crediting the rule 1/2,
with an interval of an hour: the table holds one credit, their sum.  A
second rule fills the table (credits=2), which is written at once: the
rule's set is trimmed, credited 5 by one ZINCRBY, its ttl set.
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_REDIS_PORT;
    cx_prefix t240a:;
    cx_write_behind 1h credits=2;
--- init
my $r = $main::Redis->{port};
main::worker();
my $m = main::monitor($r);
main::walk(map { ["c$_", "/", "/search"] } 1 .. 10);
main::walk(["x", "/cart", "/checkout"]);
Test::More::is(main::credited($r, "t240a:", "home", "search /search"), 5,
               "ten credits of 1/2 summed");
my @cmds = main::monitored($m, "t240a:t:{home}:",
                           qr/"EXPIRE" "t240a:t:\{home\}/);
Test::More::is(join(" ", map { $_->[0] } @cmds),
               "ZREMRANGEBYRANK ZINCRBY EXPIRE",
               "one write: trimmed, then credited, then its ttl");
my ($z) = grep { $_->[0] eq "ZINCRBY" } @cmds;
Test::More::is(join(" ", @{ $z || [] }),
               "ZINCRBY t240a:t:{home}:15000 5.000000 search /search",
               "the sum, formatted as each credit was");
Test::More::is(join(" ", @{ $cmds[0] }),
               "ZREMRANGEBYRANK t240a:t:{home}:15000 0 -256",
               "the trim keeps room for the credits");
--- request
GET /t
--- response_body
ok



=== TEST 2: the credits are written once the interval is over
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_REDIS_PORT;
    cx_prefix t240b:;
    cx_write_behind 300ms;
--- init
my $r = $main::Redis->{port};
main::worker();
main::walk(["a", "/", "/search"]);
Test::More::is(main::credited($r, "t240b:", "home", "search /search"), 0.5,
               "written once the interval is over");
--- request
GET /t
--- response_body
ok



=== TEST 3: a full table is written at once, and is never more than full
One customer's step credits a rule: held for the hour.  Their next step
credits two more (the steps 1 and 2 before it): the table holds three,
its credits=, and is written.  A customer walking through many items
makes many writes, none of more than three credits.
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_REDIS_PORT;
    cx_prefix t240c:;
    cx_write_behind 1h credits=3;
--- init
my $r = $main::Redis->{port};
my $w = main::worker();
main::walk(["a", "/", "/search"]);
main::recorded($r, "t240c:", 2);
Test::More::is(main::score($r, "t240c:", "home", "search /search"), "none",
               "one credit is held");
main::walk(["a", "/item/1"]);
Test::More::is(main::credited($r, "t240c:", "search", "item:1 /item/1"), 0.5,
               "the third credit fills the table: written");
Test::More::is(main::score($r, "t240c:", "home", "item:1 /item/1"), 0.25,
               "with the credit of the step two before");
Test::More::is(main::score($r, "t240c:", "home", "search /search"), 0.5,
               "and the one held");
main::walk(["b", "/", map { "/item/b$_" } 1 .. 15]);
Test::More::is(main::credited($r, "t240c:", "item:b14", "item:b15 /item/b15"),
               0.5, "the last step's credits written");
my @writes = map { /cx: writing (\d+) rule credits/ ? $1 : () }
             grep { /\] $w#/ } do {
                 open my $in, '<', main::error_log() or die;
                 <$in>;
             };
Test::More::cmp_ok(scalar @writes, '>=', 14, "a write each step or so");
Test::More::is((grep { $_ > 3 } @writes), 0, "none of more than 3 credits");
--- request
GET /t
--- response_body
ok



=== TEST 4: a reload writes what the old worker holds
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_REDIS_PORT;
    cx_prefix t240d:;
    cx_write_behind 1h;
--- init
my $r = $main::Redis->{port};
my $old = main::worker();
main::walk(["a", "/", "/search"]);
main::recorded($r, "t240d:", 2);
Test::More::is(main::score($r, "t240d:", "home", "search /search"), "none",
               "held for the hour");
kill 'HUP', main::master();
Test::More::is(main::credited($r, "t240d:", "home", "search /search"), 0.5,
               "written by the worker that the reload replaces");
Test::More::ok(CxTest::wait_for_log(main::error_log(),
                                    qr/worker process $old exited/, 10),
               "which exited");
--- request
GET /t
--- response_body
ok



=== TEST 5: a worker that shuts down writes what it holds
A shutdown (QUIT) sends each worker a QUIT; here the one worker gets it
alone, and the master starts another.
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_REDIS_PORT;
    cx_prefix t240e:;
    cx_write_behind 1h;
--- init
my $r = $main::Redis->{port};
my $old = main::worker();
main::walk(["a", "/", "/search"]);
main::recorded($r, "t240e:", 2);
Test::More::is(main::score($r, "t240e:", "home", "search /search"), "none",
               "held for the hour");
kill 'QUIT', $old;
Test::More::is(main::credited($r, "t240e:", "home", "search /search"), 0.5,
               "written by the worker as it shuts down");
Test::More::ok(CxTest::wait_for_log(main::error_log(),
                                    qr/worker process $old exited/, 10),
               "which exited");
--- request
GET /t
--- response_body
ok



=== TEST 6: a rule's set is trimmed before its credits
The rule from home holds 256 successors already, each weighing 5.  Two
customers credit two new ones, of 1/2 each, lower than all: written
together, the set is trimmed to 255 first, and both are kept.
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_REDIS_PORT;
    cx_prefix t240f:;
    cx_write_behind 1h credits=2;
--- init
my $r = $main::Redis->{port};
main::worker();
CxTest::redis($r, "ZADD", "t240f:t:{home}:15000",
              map { (5, "item:f$_ /item/f$_") } 1 .. 256);
main::walk(["a", "/", "/search"], ["b", "/", "/cart"]);
Test::More::is(main::credited($r, "t240f:", "home", "search /search"), 0.5,
               "the first successor credited is kept");
Test::More::is(main::credited($r, "t240f:", "home", "cart /cart"), 0.5,
               "the second too");
Test::More::is(CxTest::redis($r, "ZCARD", "t240f:t:{home}:15000"), 257,
               "255 of the others are");
--- request
GET /t
--- response_body
ok



=== TEST 7: a Redis gone costs the credits held, and one log line
Credits are written every 100ms.  Redis stops: steps are served without
suggestions, and teach nothing; the worker logs the episode once.  Redis
starts again, empty: what was held when it stopped is not written to it
(dropped, or written before it stopped), and a new credit of the same
rule is written as before, alone.
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_GONE_PORT;
    cx_prefix t240g:;
    cx_write_behind 100ms;
--- init
my $g = $main::Gone->{port};
my $port = Test::Nginx::Socket::server_port();
my $w = main::worker();
main::walk(["a", "/", "/search"]);
CxTest::stop_redis($main::Gone);
Test::More::ok(CxTest::wait_for_log(main::error_log(),
                                    qr/ $w#\d+: .*cx: redis .*connection lost/,
                                    10),
               "the worker finds redis gone");
for my $i (1 .. 20) {
    CxTest::http_get($port, "/cart",
                     { Cookie => "cx_id=a", "X-CX-Time" => $main::T0 });
    sleep 0.02;
}
$main::Gone = CxTest::start_redis($g, $main::Gone->{dir});
Test::More::isnt(CxTest::wait_status($port, "/", "w"), "ERROR",
                 "the worker connects again");
main::walk(["b", "/", "/search"]);
Test::More::is(main::credited($g, "t240g:", "home", "search /search"), 0.5,
               "a new credit is written, alone");
Test::More::is(CxTest::count_log(main::error_log(), qr/\[error\] $w#/), 1,
               "one line for the episode");
--- request
GET /t
--- response_body
ok
--- no_error_log
[emerg]



=== TEST 8: a worker that exits while Redis is gone does not wait for it
With an interval of an hour, the credit held when Redis stops cannot be
written: the worker shuts down at once all the same, dropping it.
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_GONE_PORT;
    cx_prefix t240h:;
    cx_write_behind 1h;
--- init
my $g = $main::Gone->{port};
my $w = main::worker();
main::walk(["a", "/", "/search"]);
main::recorded($g, "t240h:", 2);
CxTest::stop_redis($main::Gone);
Test::More::ok(CxTest::wait_for_log(main::error_log(),
                                    qr/ $w#\d+: .*cx: redis .*connection lost/,
                                    10),
               "the worker finds redis gone");
kill 'QUIT', $w;
Test::More::ok(CxTest::wait_for_log(main::error_log(),
                                    qr/worker process $w exited/, 10),
               "the worker exits");
Test::More::is(CxTest::count_log(main::error_log(), qr/\[error\] $w#/), 1,
               "one line for the episode");
$main::Gone = CxTest::start_redis($g, $main::Gone->{dir});
--- request
GET /t
--- response_body
ok
--- no_error_log
[emerg]



=== TEST 9: a rule the worker wrote is trimmed every 8 writes, renewed every cx_ttl/16
The first write of the rule from home trims its set and sets its ttl.
The test then gives it a longer ttl and 300 heavier successors.  The
next seven writes of the worker, of a successor the rule holds, neither
renew nor trim it (cx_ttl/16 is 10 s); the eighth trims it.
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_REDIS_PORT;
    cx_prefix t240i:;
    cx_ttl 160s;
--- init
my $r = $main::Redis->{port};
my $k = "t240i:t:{home}:15000";
main::worker();
main::walk(["a", "/", "/search"]);
Test::More::is(main::credited($r, "t240i:", "home", "search /search"), 0.5,
               "the first write");
Test::More::cmp_ok(CxTest::redis($r, "TTL", $k), "<=", 160, "its ttl set");
CxTest::redis($r, "EXPIRE", $k, 1000);
CxTest::redis($r, "ZADD", $k, map { (5, "item:i$_ /item/i$_") } 1 .. 300);
my @scores;
for my $n (2 .. 8) {
    main::walk(["c$n", "/", "/search"]);
    push @scores, main::until_score($r, $k, "search /search", $n / 2);
}
Test::More::is("@scores", "1 1.5 2 2.5 3 3.5 4",
               "seven writes more, the successor kept");
Test::More::cmp_ok(CxTest::redis($r, "TTL", $k), ">", 160,
                   "seven writes later, not renewed");
Test::More::is(CxTest::redis($r, "ZCARD", $k), 301, "nor trimmed");
main::walk(["d", "/", "/search"]);
my $deadline = time + 10;
sleep 0.02 while CxTest::redis($r, "ZCARD", $k) > 256 && time < $deadline;
Test::More::is(CxTest::redis($r, "ZCARD", $k), 256,
               "the eighth write after the first trims it");
--- request
GET /t
--- response_body
ok



=== TEST 10: a rule made again by a write gets its ttl from the reply
The rule from home is written, then deleted (the shop's erasure): the
next credit makes it again, within cx_ttl/16 of its renewal; the reply
to its ZINCRBY (the score is the credit: the successor is new) is
followed by its EXPIRE.
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_REDIS_PORT;
    cx_prefix t240j:;
    cx_ttl 160s;
--- init
my $r = $main::Redis->{port};
my $k = "t240j:t:{home}:15000";
main::worker();
main::walk(["a", "/", "/search"]);
Test::More::is(main::credited($r, "t240j:", "home", "search /search"), 0.5,
               "the first write");
CxTest::redis($r, "DEL", $k);
main::walk(["b", "/", "/search"]);
Test::More::is(main::credited($r, "t240j:", "home", "search /search"), 0.5,
               "made again");
my $deadline = time + 10;
sleep 0.02 while CxTest::redis($r, "TTL", $k) < 0 && time < $deadline;
my $ttl = CxTest::redis($r, "TTL", $k);
Test::More::ok($ttl > 0 && $ttl <= 160, "with its ttl: $ttl");
--- request
GET /t
--- response_body
ok



=== TEST 11: a rule's renewal is its own, whatever its hash
Two rules whose keys ngx_http_cx_credit_flush() hashed alike (the same
ngx_hash_key(), "Aa" weighing as "BB", and XXH3 alike where that hash
has no bit set, and the same memo slot): each is renewed when first
written, the second while the first's renewal is not cx_ttl/16 old.
The second exists before, with a longer ttl and its successor: its
ZINCRBY's reply does not show it new (keys of 47 bytes at most, kept in
flight for that reply).
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_REDIS_PORT;
    cx_prefix t240k:;
    cx_ttl 160s;
--- init
my $r = $main::Redis->{port};
my ($a, $b) = ("BBBBBBBBBBAaAaBBAaAaBBBBBB", "BBAaBBAaAaAaBBBBBBAaBBAaBB");
my $k = "t240k:t:{item:$b}:15000";
main::worker();
CxTest::redis($r, "ZADD", $k, 5, "search /search");
CxTest::redis($r, "EXPIRE", $k, 1000);
main::walk(["a", "/item/$a", "/search"]);
Test::More::is(main::credited($r, "t240k:", "item:$a", "search /search"),
               0.5, "the first rule written");
main::walk(["b", "/item/$b", "/search"]);
Test::More::is(main::until_score($r, $k, "search /search", 5.5), 5.5,
               "the second rule written");
my $deadline = time + 10;
sleep 0.02 while CxTest::redis($r, "TTL", $k) > 160 && time < $deadline;
my $ttl = CxTest::redis($r, "TTL", $k);
Test::More::ok($ttl > 0 && $ttl <= 160, "and renewed: its ttl $ttl");
--- request
GET /t
--- response_body
ok



=== TEST 12: eighty rules with one successor in one interval: each its own sum
Eighty rules, item:1 to item:80 to the search, credited once each, then
each again: the table (credits=81, in 128 buckets, which keys and
successors share) finds each rule and holds its sum apart, and a last
rule fills it: each of the eighty written by one ZINCRBY of 1.
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_REDIS_PORT;
    cx_prefix t240l:;
    cx_write_behind 1h credits=81;
--- init
my $r = $main::Redis->{port};
main::worker();
my $m = main::monitor($r);
main::walk(map { ["a$_", "/item/$_", "/search"] } 1 .. 80);
main::walk(map { ["b$_", "/item/$_", "/search"] } 1 .. 80);
main::walk(["x", "/cart", "/checkout"]);
my @cmds = grep { $_->[0] eq "ZINCRBY" }
           main::monitored($m, "t240l:t:{", qr/"EXPIRE" "t240l:t:\{cart\}/);
Test::More::is(join(" ", map { $_->[1] =~ /\{item:(\d+)\}/ ? $1 : "-" }
                         @cmds[0 .. 79]),
               join(" ", 1 .. 80), "one ZINCRBY a rule, in their order");
Test::More::is(join(" ", map { "@$_" }
                         grep { $_->[2] ne "1.000000"
                                || $_->[3] ne "search /search" }
                         @cmds[0 .. 79]),
               "", "each the sum of its two credits");
--- request
GET /t
--- response_body
ok



=== TEST 13: a table filled and written four times: no bucket outlives its write
Four intervals, each eighty rules item:k to the search credited twice
(k from 20r+1 to 20r+80 in round r, a key of a round before among them)
and filled by a rule of its own: each write empties the buckets it used
(128, which the keys and successors share), so no walk of the next
interval meets a copy of the reset pool.  Each rule's score is the
number of rounds that credited it.
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_REDIS_PORT;
    cx_prefix t240m:;
    cx_write_behind 1h credits=81;
--- init
my $r = $main::Redis->{port};
main::worker();
for my $round (0 .. 3) {
    my @k = 20 * $round + 1 .. 20 * $round + 80;
    main::walk(map { ["r${round}a$_", "/item/$_", "/search"] } @k);
    main::walk(map { ["r${round}b$_", "/item/$_", "/search"] } @k);
    main::walk(["r${round}x", "/cart", "/checkout"]);
}
Test::More::is(main::until_score($r, "t240m:t:{cart}:15000",
                                 "checkout /checkout", "2"),
               "2", "four fills, four writes");
my (@got, @want);
for my $k (1 .. 140) {
    push @got, "$k:" . main::score($r, "t240m:", "item:$k", "search /search");
    my $n = grep { $k > 20 * $_ && $k <= 20 * $_ + 80 } 0 .. 3;
    push @want, "$k:$n";
}
Test::More::is("@got", "@want", "each rule the rounds that credited it");
--- request
GET /t
--- response_body
ok
