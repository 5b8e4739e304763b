# Issue 12: the journey so far, not only the current step.  The answer
# blends the successors of the journey's earlier steps with the current
# step's (cx_journey_steps, each step back half as much), those of the
# earlier steps from cx_model_cache alone; and a step credits the
# journey's earlier steps as its successors too (cx_rule_reverse, 0.5
# by default); and the journey's earlier steps gain 0.4 of the best
# score, the step before, half as much each step back (cx_revisit, 0.4
# by default).  Blocks about the blend and the credits pin cx_revisit 0.
#
# Requests carry their time in X-CX-Time (cx_time), from T0, the start of
# a decay epoch (cx_half_life 1h, epochs of 32 h): the rules seeded are
# those of epoch 15000, unless a block's "half_life" section says
# otherwise.  Each block has a cx_prefix of its own.  This
# file starts a redis-server of its own.

use Test::Nginx::Socket;
use lib 't/cx';
use CxTest;
use Time::HiRes ();

our $Redis = CxTest::start_redis();

$ENV{TEST_NGINX_CX_REDIS_PORT} = $Redis->{port};

our $T0 = 15000 * 32 * 3600 * 1000;

# one worker: a step's writes go out on its connection before the next
# step's reads, whatever Redis's layout of a customer
master_on();
workers(1);
repeat_each(1);

plan tests => CxTest::planned(qr/Test::More::(?!diag)\w+\(/, 1);

no_shuffle();
no_root_location();

our $Block;

add_block_preprocessor(sub {
    my $block = shift;
    my ($n) = $block->name =~ /TEST (\d+)/;

    $block->set_value("http_config", <<"_EOC_"
    cx_redis 127.0.0.1:\$TEST_NGINX_CX_REDIS_PORT;
    cx_timeout 10s;
    cx_secret k260-0123456789abcdef;
    cx_prefix t260b$n:;
_EOC_
        . ($block->half_life // "    cx_half_life 1h;\n")
        . ($block->http_config // "    cx_model_cache 1m;\n"));

    $block->set_value("config", <<"_EOC_");
    cx on;
    cx_suggest 20;
    cx_pace hurried=0 relaxed=1000d;
    cx_time \$http_x_cx_time;
    cx_cookie cx_id;
    cx_step item:\$1 ~^/item/(\\d+)\$;
    location = /block { cx off; return 200 "$n"; }
    location / { return 200 "status=\$cx_status next=\$cx_next\\n"; }
_EOC_

    $block->set_value("init", "main::begin($n);\n" . ($block->init // ''));

    CxTest::quiet($block);
});

sub main::port { Test::Nginx::Socket::server_port() }

# in HUP mode, the workers of this block's configuration answer; then the
# block's keys, none yet
sub main::begin {
    $main::Block = shift;
    CxTest::wait_block(main::port(), $main::Block);
    CxTest::clear($main::Redis->{port}, "t260b$main::Block:");
}

# GET uri at T0 + ms as customer id: the urls suggested
sub main::get {
    my ($uri, $ms, $id) = @_;
    my ($s, $h, $b) = CxTest::http_get(main::port(), $uri,
                                       { "X-CX-Time" => $main::T0 + $ms,
                                         Cookie => "cx_id=$id" });
    die "GET $uri: $s $b" unless $s && $s == 200;
    return CxTest::next_of($b);
}

# a journey: GETs of each uri, a second apart, from T0 + 1 s
sub main::walk {
    my ($id, @uris) = @_;
    my ($ms, $next) = (0, "");
    $next = main::get($_, $ms += 1000, $id) for @uris;
    return $next;
}

# everyone's rules of a step, epoch 15000: score, member
sub main::rules {
    my ($name, @pairs) = @_;
    CxTest::redis($main::Redis->{port}, "ZADD",
                  "t260b$main::Block:t:{$name}:15000", @pairs);
}

# a member's weight in a step's rules, once the worker wrote it, at most
# 10 s
sub main::score {
    my ($name, $member) = @_;
    my $deadline = Time::HiRes::time() + 10;
    while (Time::HiRes::time() < $deadline) {
        my $s = CxTest::redis($main::Redis->{port}, "ZSCORE",
                              "t260b$main::Block:t:{$name}:15000", $member);
        return $s if defined $s && $s ne '';
        Time::HiRes::sleep(0.02);
    }
    return undef;
}

# item:2's rules alone rank item:3 first; item:1's make it item:4
sub main::seed {
    main::rules("item:2", 10, "item:3 /item/3", 9, "item:4 /item/4");
    main::rules("item:1", 10, "item:4 /item/4");
    main::rules("item:8", 10, "item:9 /item/9");
}

run_tests();

__DATA__




=== TEST 1: the step before weighs half: its successor comes first
item:4 weighs 0.9 of item:2's own, plus half of item:1's heaviest: 1.4
against item:3's 1.  Last, item:1 itself, at this step's own reverse
credit (TEST 10).
--- init
main::seed();
Test::More::is(main::get("/item/2", 500, "alone"), "/item/3 /item/4",
               "item:2 first in a journey: its own successors");
Test::More::is(main::walk("c1", "/item/1", "/item/2"),
               "/item/4 /item/3 /item/1",
               "after item:1: item:1's successor first");
--- request
GET /block
--- response_body chomp
1



=== TEST 2: two steps back weigh a quarter; cx_journey_steps 3 counts them
item:4: 0.9 plus a quarter of item:1's heaviest, 1.15 against item:3's 1;
item:9, item:8's, a half; then item:8 and item:1 themselves, at this
step's own reverse credits, 1/2 and 1/4 of 0.25.
--- http_config
    cx_model_cache 1m;
    cx_revisit 0;
--- init
main::seed();
Test::More::is(main::walk("c1", "/item/1", "/item/8", "/item/2"),
               "/item/4 /item/3 /item/9 /item/8 /item/1",
               "item:1, two steps back, counts");
--- request
GET /block
--- response_body chomp
2



=== TEST 3: cx_journey_steps 2: the step two back is not blended
--- http_config
    cx_model_cache 1m;
    cx_journey_steps 2;
    cx_revisit 0;
--- init
main::seed();
Test::More::is(main::walk("c1", "/item/1", "/item/8", "/item/2"),
               "/item/3 /item/4 /item/9 /item/8 /item/1",
               "item:8 only, the step before");
--- request
GET /block
--- response_body chomp
3



=== TEST 4: cx_journey_steps 1: the current step's successors only
--- http_config
    cx_model_cache 1m;
    cx_journey_steps 1;
--- init
main::seed();
Test::More::is(main::walk("c1", "/item/1", "/item/2"),
               "/item/3 /item/4 /item/1", "item:1 is not blended");
--- request
GET /block
--- response_body chomp
4



=== TEST 5: an earlier step's successors come from the zone alone: none without it
The step's rules are read in the batch; the journey is known only with
its reply, too late for a read of the earlier steps'.  The step before
is credited as a successor of the step at half its rule's weight
(cx_rule_reverse 0.5).
--- http_config
    cx_model_cache off;
    cx_rule_reverse 0.5;
--- init
main::seed();
Test::More::is(main::walk("c1", "/item/1", "/item/2"),
               "/item/3 /item/4 /item/1", "item:1's successors are left out");
my $fw = main::score("item:1", "item:2 /item/2");
my $bw = main::score("item:2", "item:1 /item/1");
Test::More::ok(defined $fw && defined $bw && abs($bw / $fw - 0.5) < 1e-6,
               "item:2 -> item:1 credited half of item:1 -> item:2")
    or Test::More::diag("forward ", $fw // "none", ", back ", $bw // "none");
--- request
GET /block
--- response_body chomp
5



=== TEST 6: cx_rule_reverse 1: as much as the rule
--- http_config
    cx_rule_reverse 1;
--- init
main::walk("c1", "/item/5", "/item/6", "/item/7");
my $fw = main::score("item:5", "item:7 /item/7");
my $bw = main::score("item:7", "item:5 /item/5");
Test::More::ok(defined $fw && defined $bw && abs($bw / $fw - 1) < 1e-6,
               "item:7 -> item:5 credited as item:5 -> item:7, at distance 2")
    or Test::More::diag("forward ", $fw // "none", ", back ", $bw // "none");
--- request
GET /block
--- response_body chomp
6



=== TEST 7: by default, rules in both orders, the reverse at half, and the journey blended
cx_rule_reverse 0.5 and cx_journey_steps 3.
--- init
main::seed();
Test::More::is(main::walk("c1", "/item/1", "/item/2"),
               "/item/4 /item/3 /item/1",
               "after item:1: item:1's successor first");
main::walk("c2", "/item/5", "/item/6");
my $fw = main::score("item:5", "item:6 /item/6");
my $bw = main::score("item:6", "item:5 /item/5");
Test::More::ok(defined $fw && defined $bw && abs($bw / $fw - 0.5) < 1e-6,
               "item:6 -> item:5 credited half of item:5 -> item:6")
    or Test::More::diag("forward ", $fw // "none", ", back ", $bw // "none");
--- request
GET /block
--- response_body chomp
7



=== TEST 8: cx_half_life is 30d by default
Two steps one half-life into epoch 21 of 30-day half-lives (epochs of
960 days): item:5 -> item:6 weighs 2 (one half-life) times 1/2 (no goal
yet), in the rules of epoch 21; with 7d, epoch 90 and 2^4.3.
--- half_life
    # cx_half_life as by default
--- init
my $span = 32 * 30 * 86400 * 1000;
my $at = 21 * $span + 30 * 86400 * 1000 - $main::T0;
main::get("/item/5", $at + 1000, "c1");
main::get("/item/6", $at + 2000, "c1");
my ($s, $deadline) = (undef, Time::HiRes::time() + 10);
while (Time::HiRes::time() < $deadline) {
    $s = CxTest::redis($main::Redis->{port}, "ZSCORE",
                       "t260b$main::Block:t:{item:5}:21", "item:6 /item/6");
    last if defined $s && $s ne '';
    Time::HiRes::sleep(0.02);
}
Test::More::ok(defined $s && $s ne '' && abs($s - 1) < 1e-6,
               "item:5 -> item:6 credited 1 in epoch 21")
    or Test::More::diag("score ", $s // "none");
--- request
GET /block
--- response_body chomp
8



=== TEST 9: cx_demote is 1 by default: a step already taken ranks by its weight
item:2's rules put item:1, where the customer came from, first; with
0.25, item:3 would be.
--- init
main::rules("item:2", 10, "item:1 /item/1", 9, "item:3 /item/3");
Test::More::is(main::walk("c1", "/item/1", "/item/2"), "/item/1 /item/3",
               "item:1 first, taken or not");
--- request
GET /block
--- response_body chomp
9



=== TEST 10: the step's own reverse credit is in its answer
After item:1, item:2's rules gain item:1 at 0.5 (cx_rule_reverse) times
1/2 (no goal yet): 0.25, between item:4's 0.3 and item:3's 0.2, before
the credit is written.
--- http_config
    cx_model_cache 1m;
    cx_revisit 0;
--- init
main::rules("item:2", 0.2, "item:3 /item/3", 0.3, "item:4 /item/4");
Test::More::is(main::walk("c1", "/item/1", "/item/2"),
               "/item/4 /item/1 /item/3", "item:1 at 0.25");
--- request
GET /block
--- response_body chomp
10



=== TEST 11: cx_rule_distance is 5 by default
item:11 -> item:15, four steps on, credited 1/4 of 1/2 (no goal yet);
item:16, five on, too.
--- init
main::walk("c1", map { "/item/$_" } 11 .. 16);
my $s = main::score("item:11", "item:15 /item/15");
Test::More::ok(defined $s && abs($s - 0.125) < 1e-3,
               "item:11 -> item:15 credited at distance 4")
    or Test::More::diag("score ", $s // "none");
Test::More::ok(defined main::score("item:11", "item:16 /item/16"),
               "item:11 -> item:16 credited at distance 5");
--- request
GET /block
--- response_body chomp
11



=== TEST 12: cx_revisit is 0.4 by default: the step before gains 0.4 of the best
After item:1, item:2's rules hold item:3 at 10, item:4 at 3 and item:1
at 0.25, this step's own reverse credit: item:1 0.425 of the best,
before item:4's 0.3.
--- init
main::rules("item:2", 10, "item:3 /item/3", 3, "item:4 /item/4");
Test::More::is(main::walk("c1", "/item/1", "/item/2"),
               "/item/3 /item/1 /item/4", "item:1 second");
--- request
GET /block
--- response_body chomp
12



=== TEST 13: the journey's steps no rule suggests, each step back half
Rules in strict order: no rule of item:2 holds item:1 or item:5, yet the
step before gains 0.4, the one before it 0.2, around item:4's 0.3.
--- http_config
    cx_model_cache 1m;
    cx_rule_reverse 0;
--- init
main::rules("item:2", 10, "item:3 /item/3", 3, "item:4 /item/4");
Test::More::is(main::walk("c1", "/item/5", "/item/1", "/item/2"),
               "/item/3 /item/1 /item/4 /item/5",
               "item:1 and item:5 suggested");
--- request
GET /block
--- response_body chomp
13



=== TEST 14: cx_revisit 0: the rules alone
--- http_config
    cx_model_cache 1m;
    cx_rule_reverse 0;
    cx_revisit 0;
--- init
main::rules("item:2", 10, "item:3 /item/3", 3, "item:4 /item/4");
Test::More::is(main::walk("c1", "/item/5", "/item/1", "/item/2"),
               "/item/3 /item/4", "no step of the journey");
--- request
GET /block
--- response_body chomp
14



=== TEST 15: cx_demote counts the gain too
With cx_demote 0.5, item:1 0.2 and item:5 0.1, after item:4's 0.3.
--- http_config
    cx_model_cache 1m;
    cx_rule_reverse 0;
    cx_demote 0.5;
--- init
main::rules("item:2", 10, "item:3 /item/3", 3, "item:4 /item/4");
Test::More::is(main::walk("c1", "/item/5", "/item/1", "/item/2"),
               "/item/3 /item/4 /item/1 /item/5",
               "item:4 before the steps taken");
--- request
GET /block
--- response_body chomp
15
