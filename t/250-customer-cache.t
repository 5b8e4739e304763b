# Issue 11: cx_model_cache customers=, a customer's state kept at the
# edge.  What the batch read of a customer is kept in the zone for every
# worker, each step this edge records is applied to it as Redis applies
# it, and for "customers=" after it was read a request of that customer
# reads none of it: with the step's rules in the zone too, it is answered
# at once.  Redis stays the customer's record: the copy is what Redis has
# after this edge's writes, cx_forget drops it, and what another edge
# wrote is seen once it expires.
#
# Requests carry their time in X-CX-Time (cx_time): the copy's age follows
# it.  Redis's own INFO commandstats counts what a block made it do.  Each
# block has a cx_prefix of its own.  This file starts a redis-server of
# its own.

use Test::Nginx::Socket;
use lib 't/cx';
use CxTest;
use IO::Select ();
use IO::Socket::INET ();
use JSON::PP ();
use Time::HiRes ();

our $Redis = CxTest::start_redis();

$ENV{TEST_NGINX_CX_REDIS_PORT} = $Redis->{port};

# an upstream the test answers itself, when it chooses (TEST 18)
our $Held = IO::Socket::INET->new(Listen => 8, ReuseAddr => 1,
                                  LocalAddr => '127.0.0.1', LocalPort => 0)
    or die "held upstream: $!";
$ENV{TEST_NGINX_CX_HELD_PORT} = $Held->sockport;

our $T0 = 15000 * 32 * 3600 * 1000;

master_on();
workers(2);
# sixty requests at once (TEST 9, 12) must not find a worker short of
# connections: it would close some before reading them
worker_connections(1024);
repeat_each(1);

plan tests => CxTest::planned(qr/Test::More::(?!diag)\w+\(/, 1);

no_shuffle();
no_root_location();

our $Block;

add_block_preprocessor(sub {
    my $block = shift;
    my ($n) = $block->name =~ /TEST (\d+)/;

    unless (defined $block->must_die) {
        my $timeout = ($block->http_config // "") =~ /cx_timeout/
                      ? "" : "    cx_timeout 10s;\n";
        $block->set_value("http_config", <<"_EOC_"
    cx_redis 127.0.0.1:\$TEST_NGINX_CX_REDIS_PORT;
${timeout}    cx_secret k250-0123456789abcdef;
    cx_prefix t250b$n:;
    cx_half_life 1h;
_EOC_
            . ($block->http_config
               // "    cx_model_cache 1m valid=1h customers=60s;\n"));

        $block->set_value("config", <<"_EOC_" . ($block->config // ''));
    cx on;
    cx_suggest 20;
    cx_levels returning=1 expert=3;
    cx_pace hurried=0 relaxed=1000d;
    cx_time \$http_x_cx_time;
    cx_cookie cx_id;
    cx_step home /;
    cx_step cart /cart;
    cx_step buy /buy;
    cx_step item:\$1 ~^/item/(\\d+)\$;
    cx_goal buy;
    cx_shortcut buy;
    location = /block { cx off; return 200 "$n"; }
    location = /metrics { cx off; cx_metrics; }
    location = /forget { cx_forget; }
    location / {
        return 200 "status=\$cx_status level=\$cx_level next=\$cx_next shortcut=\$cx_shortcut\\n";
    }
_EOC_

        $block->set_value("init", "main::begin($n);\n"
                                  . ($block->init // ''));
    }

    CxTest::quiet($block);
});

sub main::port { Test::Nginx::Socket::server_port() }

# in HUP mode, the workers of this block's configuration answer; then the
# block's keys, none yet
sub main::begin {
    $main::Block = shift;
    CxTest::wait_block(main::port(), $main::Block);
    CxTest::clear($main::Redis->{port}, "t250b$main::Block:");
}

# GET uri at T0 + ms, as a customer if an id is given, else as a new
# visitor (who is given an id, and has nothing to read): (body, headers)
sub main::get {
    my ($uri, $ms, $id, $ahead) = @_;
    my %h = ("X-CX-Time" => $main::T0 + $ms);
    $h{Cookie} = "cx_id=$id" if defined $id;
    # fetched ahead by the browser: answered, never recorded
    $h{"Sec-Purpose"} = "prefetch" if $ahead;
    # Redis's count of writes of the customer's hash before their first
    $main::Mark{"$main::Block $id"} //= main::calls()->{hset} // 0
        if defined $id && !$ahead;
    my ($s, $h, $b) = CxTest::http_get(main::port(), $uri, \%h);
    die "GET $uri: $s $b" unless $s && $s == 200;
    return ($b, $h);
}

# Redis's count of each command (CxTest::calls()), the counters of
# cx_metrics (CxTest::metrics())
sub main::calls { CxTest::calls($main::Redis->{port}) }
sub main::metrics { CxTest::metrics(main::port(), "/metrics") }

# everyone's rules of a step in an epoch (0: epoch 15000): score, member
sub main::rules {
    my ($name, $epoch, @pairs) = @_;
    CxTest::redis($main::Redis->{port}, "ZADD",
                  "t250b$main::Block:t:{$name}:" . (15000 + $epoch), @pairs);
}


# n GETs of uri (uri.N) as customer id at T0 + ms, at once: how many
# were answered 200
sub main::parallel {
    my ($n, $uri, $ms, $id) = @_;
    my @s = map { CxTest::connect_to(main::port(), 10) or die "connect" }
            1 .. $n;
    my $i = 0;
    for my $s (@s) {
        $i++;
        print $s "GET $uri$i HTTP/1.1\r\nHost: localhost\r\n"
                 . "Cookie: cx_id=$id\r\n"
                 . "X-CX-Time: " . ($main::T0 + $ms) . "\r\n"
                 . "Connection: close\r\n\r\n";
    }
    my $ok = 0;
    for my $s (@s) {
        local $/;
        my $r = <$s>;
        close $s;
        $ok++ if defined $r && $r =~ m{^HTTP/1\.1 200 };
    }
    return $ok;
}

# once Redis has the customer's n steps (10s at most), each written by
# one HSET of their hash (the block's only customer stepping): a step's
# writes go out at the end of the worker's loop turn, after its
# response, and the next step, on the other worker, must not overtake
# them
sub main::settled {
    my ($id, $n) = @_;
    my $deadline = Time::HiRes::time() + 10;
    while (Time::HiRes::time() < $deadline) {
        return if (main::calls()->{hset} // 0)
                  - $main::Mark{"$main::Block $id"} >= $n;
        Time::HiRes::sleep(0.01);
    }
    die "Redis has not got the $n steps of $id";
}

# the customer's own transitions "from name url" => count, from their hash
sub main::habits {
    my %s = CxTest::redis($main::Redis->{port}, "HGETALL",
                          main::key($_[0], "s") // "");
    return map { substr($_, 1) => $s{$_} } grep { /^>/ } keys %s;
}

# a field of the customer's state in Redis, once it is value (10s at most)
sub main::until_field {
    my ($id, $field, $value) = @_;
    my ($v, $deadline) = ("", Time::HiRes::time() + 10);
    while (Time::HiRes::time() < $deadline) {
        my $k = main::key($id, "s");
        $v = $k ? CxTest::redis($main::Redis->{port}, "HGET", $k, $field)
                : "";
        return $v if $v eq $value;
        Time::HiRes::sleep(0.02);
    }
    return $v;
}

# A customer walks one journey to the goal through each of @items (an
# hour apart), then steps on / and /item/1, and /item/1 is asked without
# being a step: from the copy, and once it has expired, from Redis.  The
# copy's answer, Redis's, and the HGETALLs each of the two sent.
sub main::copy_then_read {
    my ($id, @items) = @_;
    my ($t, $n) = (1000, 0);
    for my $item (@items) {
        for my $u ("/", $item, "/cart", "/buy") {
            main::get($u, $t, $id);
            main::settled($id, ++$n);
            $t += 1000;
        }
        $t += 3600 * 1000;
    }
    main::get("/", $t, $id);
    main::settled($id, ++$n);
    main::get("/item/1", $t + 1000, $id);
    main::settled($id, ++$n);
    my $c0 = main::calls();
    my ($copy) = main::get("/item/1", $t + 2000, $id, 1);
    my $c1 = main::calls();
    my ($read) = main::get("/item/1", $t + 120000, $id, 1);
    my $c2 = main::calls();
    return ($copy, $read, CxTest::ran($c0, $c1, "hgetall"),
            CxTest::ran($c1, $c2, "hgetall"));
}

# the customer's keys in Redis
sub main::key {
    my ($id, $suffix) = @_;
    my ($k) = grep { /:\Q$suffix\E$/ }
              CxTest::keys_of($main::Redis->{port}, "t250b$main::Block:");
    return $k;
}

run_tests();

__DATA__

=== TEST 1: a customer's next request reads nothing of theirs
The first request reads the customer (and the rules of the step); the
next ones, within customers=, read nothing and are answered at once;
each step is still written.
--- init
main::get($_, 500) for "/item/1", "/cart";      # the rules, kept
my ($c0, $m0) = (main::calls(), main::metrics());
main::get("/", 1000, "c1");
main::settled("c1", 1);
my ($c1, $m1) = (main::calls(), main::metrics());
my ($b2) = main::get("/item/1", 2000, "c1");
my ($b3) = main::get("/cart", 3000, "c1");
main::settled("c1", 3);
my ($c2, $m2) = (main::calls(), main::metrics());
Test::More::is(join(" ", map { CxTest::ran($c0, $c1, $_) }
                         qw(hgetall lrange zrevrange)), "1 1 2",
               "the first request reads the customer and the rules");
Test::More::is(join(" ", map { CxTest::ran($c1, $c2, $_) }
                         qw(hgetall lrange zrevrange)), "0 0 0",
               "the next two read nothing of the customer");
Test::More::is(CxTest::ran($c1, $c2, "hset"), 2,
               "and their steps are written");
Test::More::is(CxTest::moved($m1, $m2, "requests_without_round_trip"), 2,
               "both answered with no round trip");
Test::More::like($b3, qr/^status=(HIT|MISS) /, "answered: $b3");
Test::More::is(join(" ", map { $m2->{customer_cache}{$_}
                               - $m0->{customer_cache}{$_} } qw(hit miss)),
               "2 1", "counted: a miss, then two hits");
--- request
GET /block
--- response_body chomp
1



=== TEST 2: what the copy answers is what Redis would
A customer walks three journeys to the goal (hits after the first
request), then the same page is asked twice without being a step
(a prefetch): from the copy, and once it has expired, from Redis.
The answers, level, shortcut and suggestions included, are the same.
--- http_config
    cx_model_cache 1m valid=1h customers=60s;
    cx_revisit 0;
--- init
my ($copy, $read, $from_copy, $read_again)
    = main::copy_then_read("c2", "/item/1", "/item/2", "/item/3");
Test::More::is($from_copy, 0, "first from the copy");
Test::More::is($read_again, 1, "then read again");
Test::More::is($copy, $read, "the same answer: $read");
Test::More::like($read, qr/level=expert next=\/cart \/buy /,
                 "an expert, with their habits");
--- request
GET /block
--- response_body chomp
2



=== TEST 3: what Redis has after the steps from the copy is what the steps wrote
Five steps, four of them from the copy: the sequence, the state, the
transitions and the path to the goal are all there.  The steps counted
from the copy go to Redis with its next read's own.
--- init
my ($t, $n) = (1000, 0);
for my $u ("/", "/item/7", "/cart", "/item/7", "/buy") {
    main::get($u, $t, "c3");
    main::settled("c3", ++$n);
    $t += 1000;
}
my $rp = $main::Redis->{port};
main::until_field("c3", "goals", 1);
my @seq = CxTest::steps($rp, main::key("c3", "s") =~ s/:s$//r);
Test::More::is(join(",", @seq),
               "buy /buy,item:7 /item/7,cart /cart,item:7 /item/7,home /",
               "the sequence");
my %s = CxTest::redis($rp, "HGETALL", main::key("c3", "s"));
Test::More::is("$s{goals} $s{jlen} $s{learned}", "1 0 1",
               "the state: a goal, the journey over, the first step counted");
main::get("/item/8", $t + 120000, "c3");
Test::More::is(main::until_field("c3", "learned", 6), 6,
               "the four from the copy counted with the next read's own");
my %p = main::habits("c3");
Test::More::is(scalar(keys %p), 4, "four transitions");
my @g = CxTest::redis($rp, "LRANGE", main::key("c3", "g"), 0, -1);
Test::More::is(scalar @g, 1, "one path to the goal");
--- request
GET /block
--- response_body chomp
3



=== TEST 4: the learning budget is counted in the copy
Thirty steps at once, all from the copy: twenty teach, as when each
read its count from Redis.
--- init
main::get("/", 1000, "c4");
my $t = 1100;
for my $i (1 .. 30) {
    main::get("/item/$i", $t, "c4");
    $t += 10;
}
my $rp = $main::Redis->{port};
my @p = keys %{{ main::habits("c4") }};
Test::More::is(scalar @p, 19,
               "the first 20 steps teach, their 19 transitions");
main::get("/", $t + 120000, "c4");
Test::More::is(main::until_field("c4", "learned", 32), 32,
               "31 steps counted today, and the next read's");
--- request
GET /block
--- response_body chomp
4



=== TEST 5: cx_forget drops the copy
--- init
main::get("/", 1000, "c5");
main::get("/item/1", 2000, "c5");
main::get("/buy", 3000, "c5");
my $c0 = main::calls();
my ($s) = CxTest::http_request(main::port(), "POST", "/forget",
                               { Cookie => "cx_id=c5",
                                 "X-CX-Time" => $main::T0 + 3500 });
my ($b) = main::get("/cart", 4000, "c5");
my $c1 = main::calls();
Test::More::is($s, 200, "forgotten");
Test::More::is(CxTest::ran($c0, $c1, "hgetall"), 1,
               "the next request reads the customer again");
Test::More::like($b, qr/level=new /, "a new customer: $b");
--- request
GET /block
--- response_body chomp
5



=== TEST 6: a step written elsewhere is seen once the copy expires
Another edge's step, written straight into Redis, is not in this edge's
copy; once the copy is older than customers=, the customer is read again.
--- init
main::get("/", 1000, "c6");
main::get("/item/1", 2000, "c6");
my $rp = $main::Redis->{port};
my $k = main::key("c6", "s");
CxTest::redis($rp, "HSET", $k, "goals", 3);
my ($copy) = main::get("/cart", 3000, "c6", 1);
my ($read) = main::get("/cart", 70000, "c6", 1);
Test::More::like($copy, qr/level=new /, "the copy: $copy");
Test::More::like($read, qr/level=expert /, "read again: $read");
--- request
GET /block
--- response_body chomp
6



=== TEST 7: without customers=, every request reads the customer
--- http_config
    cx_model_cache 1m valid=1h;
--- init
main::get("/", 1000, "c7");
my $c0 = main::calls();
main::get("/item/1", 2000, "c7");
main::get("/cart", 3000, "c7");
my $c1 = main::calls();
Test::More::is(CxTest::ran($c0, $c1, "hgetall"), 2, "two reads");
--- request
GET /block
--- response_body chomp
7



=== TEST 8: keys made again after they were deleted have their TTL
The shop's erasure of every customer (README, Privacy), then the
customer's next steps: every key they make expires.
--- init
main::get($_, 500) for "/item/1", "/cart";
main::get("/", 1000, "c8");
main::get("/item/1", 2000, "c8");
my $rp = $main::Redis->{port};
CxTest::redis($rp, "DEL", $_)
    for CxTest::keys_of($rp, "t250b$main::Block:{");
main::get("/cart", 3000, "c8");
main::get("/buy", 4000, "c8");
main::settled("c8", 4);
my @keys = CxTest::keys_of($rp, "t250b$main::Block:{");
# each EXPIRE follows its write's reply
my ($deadline, @nottl) = (Time::HiRes::time() + 10);
while ((@nottl = grep { CxTest::redis($rp, "TTL", $_) <= 0 } @keys)
       && Time::HiRes::time() < $deadline)
{
    Time::HiRes::sleep(0.01);
}
Test::More::is(scalar @keys, 2, "the keys made again: @keys");
Test::More::is("@nottl", "", "each with its TTL");
--- request
GET /block
--- response_body chomp
8



=== TEST 9: steps of one customer at once still teach twenty
Sixty requests of one customer whose copy the edge has, sent at once
(two workers): each is counted once, in Redis and in the copy, and no
more than twenty teach.
--- init
main::get("/", 1000, "c9");
main::get("/cart", 2000, "c9");
Test::More::is(main::parallel(60, "/item/", 2500, "c9"), 60,
               "sixty answered");
my $rp = $main::Redis->{port};
main::get("/", 120000, "c9");
Test::More::is(main::until_field("c9", "learned", 63), 63,
               "62 steps counted, once each, and the next read's");
my @p = keys %{{ main::habits("c9") }};
Test::More::cmp_ok(scalar @p, "<=", 19, scalar(@p) . " transitions taught");
--- request
GET /block
--- response_body chomp
9



=== TEST 10: steps from the copy renew no TTL until cx_ttl/16 after the read
The first step, after a read of Redis, renews each key's TTL; the next
ones, from the copy, renew none of the keys that are there (their
replies say so); the customer's hash keeps the TTL the
test gave them.  One cx_ttl/16 (10s here) after the read, a step renews
them again.
--- http_config
    cx_model_cache 1m valid=1h customers=60s;
    cx_ttl 160s;
--- init
my $rp = $main::Redis->{port};
main::get($_, 500) for "/item/1", "/cart";
main::get("/", 1000, "c10");
main::settled("c10", 1);
my @keys = (main::key("c10", "s"));
CxTest::redis($rp, "EXPIRE", $_, 1000) for @keys;
# each step's whole sequence written before the next (on either worker)
# is taken
my $n = 1;
for my $u ("/item/1", "/cart", "/buy") {
    main::get($u, 1000 + 1000 * $n, "c10");
    main::settled("c10", ++$n);
}
Test::More::is(scalar(CxTest::steps($rp, $keys[0] =~ s/:s$//r)), 4,
               "the steps written");
my @kept = grep { CxTest::redis($rp, "TTL", $_) > 160 } @keys;
Test::More::is(scalar @kept, 1, "no TTL renewed from the copy: @kept");
main::get("/", 11000, "c10");
my @all = CxTest::keys_of($rp, "t250b$main::Block:{");
my @ttl = map { CxTest::redis($rp, "TTL", $_) } @all;
Test::More::is(scalar(grep { $_ > 0 && $_ <= 160 } @ttl), scalar @all,
               "10s after the read, each key renewed: @all (@ttl)");
--- request
GET /block
--- response_body chomp
10



=== TEST 11: a new day's steps from the copy teach again
Twenty-six steps just before midnight (past the day's burst), then two
just after, all but the first from the copy: the day's count starts
again, and the second step of the new day teaches its transition.
--- init
my $day = 86400 * 1000;
main::get("/", $day - 30000, "c11");
main::get("/item/$_", $day - 29000 + $_ * 10, "c11") for 1 .. 25;
main::get("/item/101", $day + 1000, "c11");
main::get("/item/102", $day + 2000, "c11");
main::settled("c11", 28);
my %p = main::habits("c11");
Test::More::ok(exists $p{"item:101 item:102 /item/102"},
               "the new day's second step taught: "
               . join(" ", grep { /10[12]/ } sort keys %p));
--- request
GET /block
--- response_body chomp
11



=== TEST 12: a new day's steps at once still teach twenty
Two steps late in a day, the copy left to expire, then sixty steps of
the customer at once just after midnight: every read finds the earlier
day in the state, and the day's count (the zone's) says which of the
sixty teach: no more than twenty.
--- init
my $day = 86400 * 1000;
main::get("/", $day - 120000, "c12");
main::get("/cart", $day - 119000, "c12");
main::settled("c12", 2);
Test::More::is(main::parallel(60, "/item/", $day + 1000, "c12"), 60,
               "sixty answered");
main::settled("c12", 62);
my @p = keys %{{ main::habits("c12") }};
Test::More::cmp_ok(scalar(grep { /^cart / } @p), "<=", 20,
                   scalar(grep { /^cart / } @p) . " transitions taught");
--- request
GET /block
--- response_body chomp
12



=== TEST 13: a zone that evicts a customer's count loses few of their steps
Thirty steps of one customer from the copy (nineteen transitions
taught), then four hundred new visitors' pages, which evict the copy and
its counts from a zone of 64k; thirty more steps of the customer, at
once in the customer's time: Redis had their count within a few steps,
and nothing more is taught.
--- http_config
    cx_model_cache 64k valid=1h customers=60s;
--- init
my $rp = $main::Redis->{port};
main::get("/", 1000, "c13");
main::get("/item/$_", 1000 + $_ * 10, "c13") for 1 .. 30;
main::settled("c13", 31);
my $learned = CxTest::redis($rp, "HGET", main::key("c13", "s"), "learned");
Test::More::cmp_ok($learned, ">=", 31 - 8, "Redis has $learned of 31");
main::get("/item/$_", 1500) for 1000 .. 1400;
main::get("/item/$_", 1500 + $_ * 10, "c13") for 31 .. 60;
main::settled("c13", 61);
my @p = keys %{{ main::habits("c13") }};
Test::More::is(scalar @p, 19, scalar(@p) . " transitions taught");
--- request
GET /block
--- response_body chomp
13



=== TEST 14: a key made by a write whose connection was lost expires
The customer's keys deleted behind the copy, then a step from the copy
while Redis is stopped: the connection is given up with the writes'
replies (cx_timeout 50ms: after 500ms), and once the next connection is
ready each key the writes may have made gets its TTL.
--- http_config
    cx_model_cache 1m valid=1h customers=60s;
    cx_timeout 50ms;
--- init
my $rp = $main::Redis->{port};
main::get($_, 500) for "/item/1", "/cart";
main::get("/", 1000, "c14");
main::get("/item/1", 2000, "c14");
main::settled("c14", 2);
CxTest::redis($rp, "DEL", $_) for CxTest::keys_of($rp, "t250b$main::Block:{");
my $file = Test::Nginx::Socket::server_root() . "/logs/error.log";
CxTest::pause_redis($main::Redis);
main::get("/cart", 3000, "c14");
my $gone = CxTest::wait_for_log($file, qr/without a reply .* reconnecting/,
                                10);
CxTest::resume_redis($main::Redis);
Test::More::ok($gone, "the connection given up");
my ($ttl, $deadline) = ("", Time::HiRes::time() + 10);
while (Time::HiRes::time() < $deadline) {
    my @keys = CxTest::keys_of($rp, "t250b$main::Block:{");
    $ttl = join " ", map { CxTest::redis($rp, "TTL", $_) } @keys;
    last if @keys >= 2 && $ttl !~ /-1/;
    Time::HiRes::sleep(0.05);
}
Test::More::unlike($ttl, qr/-1|^$/, "each key made again has its TTL: $ttl");
--- request
GET /block
--- response_body chomp
14
--- no_error_log
[alert]
[crit]



=== TEST 15: a step sent on to cx_forget: none of its suggestions in $cx_next_json
A step's request that an internal redirect (here try_files) hands to
cx_forget is answered nowhere: what the step found is in none of its
variables, $cx_next_json included, which says what cx_forget did.
--- config
    location /item/ {
        try_files /none /forget/2;
    }
    location = /forget/2 {
        cx_forget;
        add_header X-Json $cx_next_json always;
    }
--- init
main::rules("item:5", 0, 9, "item:2 /item/2");
--- request
POST /item/5
--- more_headers
X-CX-Time: 1728000000000
--- response_headers
X-Json: {"status":"MISS","next":[]}



=== TEST 16: a step from the copy writes what it changed, not what it kept
The copy keeps the customer as Redis has them; a step from it writes
only the fields it changes.  A field changed in Redis meanwhile (here
the goals, as another edge's step would) is left as it is.
--- init
my $rp = $main::Redis->{port};
main::get($_, 500) for "/item/1", "/cart";
main::get("/", 1000, "c16");
main::settled("c16", 1);
main::get("/item/1", 2000, "c16");
main::settled("c16", 2);
my $k = main::key("c16", "s");
CxTest::redis($rp, "HINCRBY", $k, "goals", 7);
my $read = main::calls()->{hgetall} // 0;
main::get("/cart", 3000, "c16");
main::settled("c16", 3);
Test::More::is((main::calls()->{hgetall} // 0) - $read, 0,
               "the step from the copy");
my %s = CxTest::redis($rp, "HGETALL", $k);
Test::More::is("$s{goals} $s{jlen}", "7 3",
               "the goals kept, the journey stepped");
--- request
GET /block
--- response_body chomp
16



=== TEST 17: a hash deleted behind the copy: the copy is dropped
A step from the copy whose hash Redis no longer has makes it again with
what that step wrote alone, and gives it its TTL: the copy, which knows
more, is dropped, and the next step reads what Redis has.
--- init
my $rp = $main::Redis->{port};
main::get($_, 500) for "/item/1", "/cart";
main::get("/", 1000, "c17");
main::settled("c17", 1);
main::get("/item/1", 2000, "c17");
main::settled("c17", 2);
my $k = main::key("c17", "s");
CxTest::redis($rp, "DEL", $k);
main::get("/cart", 3000, "c17");
main::settled("c17", 3);
my ($ttl, $deadline) = (-2, Time::HiRes::time() + 10);
while (($ttl = CxTest::redis($rp, "TTL", $k)) <= 0
       && Time::HiRes::time() < $deadline)
{
    Time::HiRes::sleep(0.01);
}
Test::More::cmp_ok($ttl, ">", 0, "the hash made again has its TTL");
my $read = main::calls()->{hgetall} // 0;
main::get("/buy", 4000, "c17");
Test::More::is((main::calls()->{hgetall} // 0) - $read, 1,
               "the next step reads Redis");
--- request
GET /block
--- response_body chomp
17



=== TEST 18: a step in flight when cx_forget drops the copy puts none back
A step whose request read the copy, held at its upstream while cx_forget
drops the copy, does not put its own back when its response comes: the
customer's next request, of a step whose successors are in the zone,
reads Redis (paused here: it times out) instead of being answered at
once from what was forgotten.
--- http_config
    cx_model_cache 1m valid=1h customers=60s;
    cx_timeout 3s;
--- config
    location = /cart {
        proxy_pass http://127.0.0.1:$TEST_NGINX_CX_HELD_PORT;
    }
--- init
main::get("/", 1000, "c18");
main::settled("c18", 1);
main::get("/item/1", 2000, "c18");
main::settled("c18", 2);
my $c = CxTest::connect_to(main::port(), 10) or die "connect";
print $c "GET /cart HTTP/1.1\r\nHost: localhost\r\nCookie: cx_id=c18\r\n"
         . "X-CX-Time: " . ($main::T0 + 3000) . "\r\n"
         . "Connection: close\r\n\r\n";
IO::Select->new($main::Held)->can_read(30) or die "no request upstream";
my $u = $main::Held->accept or die "accept: $!";
my ($req, $in) = ("", IO::Select->new($u));
while ($req !~ /\r\n\r\n/ && $in->can_read(10)) {
    sysread($u, $req, 4096, length $req) or last;
}
my ($s) = CxTest::http_request(main::port(), "POST", "/forget",
                               { Cookie => "cx_id=c18",
                                 "X-CX-Time" => $main::T0 + 3500 });
Test::More::is($s, 200, "forgotten while the step waits");
CxTest::pause_redis($main::Redis);
print $u "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
         . "Content-Length: 3\r\nConnection: close\r\n\r\nok\n";
close $u;
my $r = do { local $/; <$c> };
close $c;
my ($b) = main::get("/item/1", 4000, "c18");
CxTest::resume_redis($main::Redis);
Test::More::like($r // "", qr{^HTTP/1\.1 200 }, "the held step answered");
Test::More::like($b, qr/^status=TIMEOUT /,
                 "no copy: the next request waits for Redis: $b");
--- request
GET /block
--- response_body chomp
18
--- error_log
did not answer within cx_timeout



=== TEST 19: a read of Redis in flight when cx_forget finds no copy puts none back
The customer's copy has made room (a small zone filled with steps'
entries), so the edge has nothing of them.  A request of theirs (a
prefetch: it writes nothing) reads Redis, paused, and cx_forget comes
meanwhile: its DEL waits behind that read.  The read's answer is what
was forgotten and must not become the edge's copy: the customer's next
request, of the step whose successors the read kept in the zone, reads
Redis (paused again: it times out) instead of being answered at once
(from the copy put back, with the forgotten journey's steps).
--- http_config
    cx_model_cache 32k valid=1h customers=60s;
    cx_timeout 3s;
--- init
main::get("/", 1000, "c19");
main::settled("c19", 1);
main::get("/item/1", 2000, "c19");
main::settled("c19", 2);
main::get("/item/$_", 2500) for 100 .. 400;
my $m0 = main::metrics();
CxTest::pause_redis($main::Redis);
my $c = CxTest::connect_to(main::port(), 10) or die "connect";
print $c "GET /item/2 HTTP/1.1\r\nHost: localhost\r\nCookie: cx_id=c19\r\n"
         . "X-CX-Time: " . ($main::T0 + 3000) . "\r\n"
         . "Sec-Purpose: prefetch\r\nConnection: close\r\n\r\n";
Time::HiRes::sleep(0.3);
my $f = CxTest::connect_to(main::port(), 10) or die "connect";
print $f "POST /forget HTTP/1.1\r\nHost: localhost\r\nCookie: cx_id=c19\r\n"
         . "X-CX-Time: " . ($main::T0 + 3100) . "\r\n"
         . "Content-Length: 0\r\nConnection: close\r\n\r\n";
Time::HiRes::sleep(0.3);
CxTest::resume_redis($main::Redis);
my ($r, $g) = map { local $/; my $x = <$_>; close $_; $x } $c, $f;
my $m1 = main::metrics();
CxTest::pause_redis($main::Redis);
my ($b) = main::get("/item/2", 4000, "c19");
CxTest::resume_redis($main::Redis);
Test::More::is($m1->{customer_cache}{miss} - $m0->{customer_cache}{miss}, 1,
               "the edge had no copy: the prefetch read Redis");
Test::More::like($r // "", qr{^HTTP/1\.1 200 }, "the prefetch answered");
Test::More::like($g // "", qr{^HTTP/1\.1 200 .*"forgotten":[1-9]}s,
                 "forgotten while the read waits");
Test::More::like($b, qr/^status=TIMEOUT /,
                 "no copy: the next request waits for Redis: $b");
--- request
GET /block
--- response_body chomp
19
--- error_log
did not answer within cx_timeout



=== TEST 20: a read of Redis that cx_forget's DEL comes after puts no copy back
cx_forget drops the copy before its DEL is sent; a request of the
customer on another worker (another connection to Redis) that comes
in between reads Redis before the DEL is done (Redis holds writes
here: CLIENT PAUSE WRITE), and its answer is what is being forgotten:
it must not be the edge's copy once cx_forget has answered.  The next
request reads Redis (paused: it times out) instead of being answered at
once from the forgotten journey.
--- http_config
    cx_model_cache 1m valid=1h customers=60s;
    cx_timeout 3s;
--- config
    location = /pid { cx off; return 200 $pid; }
--- init
main::get("/", 1000, "c20");
main::settled("c20", 1);
main::get("/item/1", 2000, "c20");
main::settled("c20", 2);
# two connections kept alive, each to a worker of its own
my (%by, @two);
for (1 .. 50) {
    my $s = CxTest::connect_to(main::port(), 10) or die "connect";
    print $s "GET /pid HTTP/1.1\r\nHost: localhost\r\n\r\n";
    my $resp = '';
    sysread($s, $resp, 4096, length $resp) until $resp =~ /\r\n\r\n(\d+)$/;
    $by{$1} //= $s;
    last if (@two = values %by) == 2;
}
die "one worker answered" unless @two == 2;
my ($a, $f) = @two;
CxTest::redis($main::Redis->{port}, "CLIENT", "PAUSE", 10000, "WRITE");
print $f "POST /forget HTTP/1.1\r\nHost: localhost\r\nCookie: cx_id=c20\r\n"
         . "X-CX-Time: " . ($main::T0 + 3000) . "\r\n"
         . "Content-Length: 0\r\nConnection: close\r\n\r\n";
Time::HiRes::sleep(0.3);
print $a "GET /item/2 HTTP/1.1\r\nHost: localhost\r\nCookie: cx_id=c20\r\n"
         . "X-CX-Time: " . ($main::T0 + 3100) . "\r\n"
         . "Sec-Purpose: prefetch\r\nConnection: close\r\n\r\n";
my $r = do { local $/; <$a> };
close $a;
CxTest::redis($main::Redis->{port}, "CLIENT", "UNPAUSE");
my $g = do { local $/; <$f> };
close $f;
CxTest::pause_redis($main::Redis);
my ($b) = main::get("/item/2", 4000, "c20");
CxTest::resume_redis($main::Redis);
Test::More::like($r // "", qr{^HTTP/1\.1 200 .*next=\S}s,
                 "the read before the DEL answered with what it found");
Test::More::like($g // "", qr{^HTTP/1\.1 200 .*"forgotten":[1-9]}s,
                 "forgotten");
Test::More::like($b, qr/^status=TIMEOUT /,
                 "no copy: the next request waits for Redis: $b");
--- request
GET /block
--- response_body chomp
20
--- error_log
did not answer within cx_timeout



=== TEST 21: without customers=, cx_forget keeps nothing in the zone
No customer has a copy at the edge, nor counts in the zone: 300
customers forgotten make no room in a zone of 8 pages, where the
steps' entries stay.
--- http_config
    cx_model_cache 32k valid=1h;
--- init
main::get($_, 500) for "/item/1", "/cart";
my $m0 = main::metrics();
for my $i (1 .. 300) {
    my ($s) = CxTest::http_request(main::port(), "POST", "/forget",
                                   { Cookie => "cx_id=f21x$i",
                                     "X-CX-Time" => $main::T0 + 1000 });
    die "forget: $s" unless $s == 200;
}
my $m1 = main::metrics();
Test::More::is(CxTest::moved($m0, $m1, "evictions"), 0,
               "nothing made room");
--- request
GET /block
--- response_body chomp
21



=== TEST 22: a route taken again and again: what the copy answers is what Redis would
A customer walks one journey to the goal three times (their paths the
same, each kept by the copy as the one before it), then the same page
is asked twice without being a step: from the copy, and once it has
expired, from Redis.  The answers, shortcut included, are the same.
--- http_config
    cx_model_cache 1m valid=1h customers=60s;
    cx_revisit 0;
--- init
my ($copy, $read, $from_copy, $read_again)
    = main::copy_then_read("c22", ("/item/1") x 3);
my @g = CxTest::redis($main::Redis->{port}, "LRANGE",
                      main::key("c22", "g"), 0, -1);
Test::More::is(scalar(@g) . " " . scalar(grep { $_ eq $g[0] } @g), "3 3",
               "three paths to the goal, the same");
Test::More::is($from_copy, 0, "first from the copy");
Test::More::is($read_again, 1, "then read again");
Test::More::is($copy, $read, "the same answer: $read");
Test::More::like($read, qr/shortcut=\S/, "with a shortcut");
--- request
GET /block
--- response_body chomp
22
