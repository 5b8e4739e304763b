# Issue 11: cx_model_cache, everyone's successors of a step kept for all
# workers in a shared memory zone.  A fresh entry (valid=, 1s) spares the
# two ZREVRANGE of the step's rules; a stale one (up to twice valid=) is
# served as it is while one refresh, for all requests and workers, reads
# it again in the background; an older one is read in the batch, as none
# would be; a request with nothing else to read is answered at once,
# without a round trip.
#
# What Redis did is counted with its own INFO commandstats, around what
# a block does.  Requests carry their time in X-CX-Time (cx_time): the
# cache's freshness follows it, so nothing here waits for a clock.  At
# T0, the start of a decay epoch (cx_half_life 1h, epochs of 32 h), the
# rules read are those of epoch 15000.  Each block has a cx_prefix of its
# own, so that entries of a block before (HUP mode keeps the zone) are
# never this block's.  This file starts a redis-server of its own.

use Test::Nginx::Socket;
use lib 't/cx';
use CxTest;
use JSON::PP ();
use Time::HiRes ();

our $Redis = CxTest::start_redis();

$ENV{TEST_NGINX_CX_REDIS_PORT} = $Redis->{port};

# a decay epoch's first millisecond: 15000 epochs of 32 hours
our $T0 = 15000 * 32 * 3600 * 1000;
our $SPAN = 32 * 3600 * 1000;

master_on();
workers(2);
repeat_each(1);

plan tests => CxTest::planned(qr/Test::More::(?!diag)\w+\(/, 1);

no_shuffle();
no_root_location();

our $Block;

add_block_preprocessor(sub {
    my $block = shift;
    my ($n) = $block->name =~ /TEST (\d+)/;

    unless (defined $block->must_die) {
        $block->set_value("http_config", <<"_EOC_"
    cx_redis 127.0.0.1:\$TEST_NGINX_CX_REDIS_PORT;
    cx_timeout 10s;
    cx_secret k230-0123456789abcdef;
    cx_prefix t230b$n:;
    cx_half_life 1h;
_EOC_
            . ($block->http_config // "    cx_model_cache 1m;\n"));

        $block->set_value("config", <<"_EOC_" . ($block->config // ''));
    cx on;
    cx_header on;
    cx_suggest 20;
    cx_pace hurried=0 relaxed=1000d;
    cx_time \$http_x_cx_time;
    cx_cookie cx_id;
    cx_step home /;
    cx_step item:\$1 ~^/item/(\\d+)\$;
    cx_step long:\$1 ~^/long/(\\w+)\$;
    location = /block { cx off; return 200 "$n"; }
    location = /pid { cx off; return 200 "\$pid"; }
    location = /metrics { cx off; cx_metrics; }
    location = /cx/next { cx_api; }
    location / { return 200 "status=\$cx_status next=\$cx_next\\n"; }
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
    CxTest::clear($main::Redis->{port}, "t230b$main::Block:");
}

# GET uri at T0 + ms, as a customer if an id is given, else as a new
# visitor (who is given an id, and has nothing to read): (body, headers)
sub main::get {
    my ($uri, $ms, $id) = @_;
    my %h = ("X-CX-Time" => $main::T0 + $ms);
    $h{Cookie} = "cx_id=$id" if defined $id;
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
                  "t230b$main::Block:t:{$name}:" . (15000 + $epoch), @pairs);
}

# everyone's rules of item:i for each i from first to last (epoch 0),
# in one script: item:i+1 to item:i+5, the nearest heaviest
sub main::items {
    my ($first, $last) = @_;
    CxTest::redis($main::Redis->{port}, "EVAL",
        "for i = $first, $last do for k = 1, 5 do"
        . " redis.call('ZADD', ARGV[1] .. i .. '}:15000', 10 - k,"
        . " 'item:' .. (i + k) .. ' /item/' .. (i + k)) end end",
        0, "t230b$main::Block:t:{item:");
}

# n GETs of uri at T0 + ms on as many connections at once: the bodies
sub main::parallel {
    my ($n, $uri, $ms) = @_;
    my @s = map { CxTest::connect_to(main::port(), 10) or die "connect" }
            1 .. $n;
    for my $s (@s) {
        print $s "GET $uri HTTP/1.1\r\nHost: localhost\r\n"
                 . "X-CX-Time: " . ($main::T0 + $ms) . "\r\n"
                 . "Connection: close\r\n\r\n";
    }
    my @bodies;
    for my $s (@s) {
        local $/;
        my $r = <$s> // '';
        close $s;
        my (undef, $b) = split /\r\n\r\n/, $r, 2;
        push @bodies, $b // '';
    }
    return @bodies;
}

# GETs uri at T0 + ms until its suggestions are want, at most 10 s
sub main::until_next {
    my ($uri, $ms, $want) = @_;
    my $deadline = Time::HiRes::time() + 10;
    while (Time::HiRes::time() < $deadline) {
        my ($b) = main::get($uri, $ms);
        return 1 if CxTest::next_of($b) eq $want;
        Time::HiRes::sleep(0.02);
    }
    return 0;
}

# GET uri at T0 + ms on the connection s, kept alive: the body
sub main::keep {
    my ($s, $uri, $ms) = @_;
    print $s "GET $uri HTTP/1.1\r\nHost: localhost\r\n"
             . "X-CX-Time: " . ($main::T0 + $ms) . "\r\n\r\n";
    my $resp = '';
    until ($resp =~ /\r\n\r\n/
           && length($') >= ($resp =~ /Content-Length: (\d+)/i)[0])
    {
        sysread($s, $resp, 65536, length $resp) or die "read: $!";
    }
    my (undef, $body) = split /\r\n\r\n/, $resp, 2;
    return $body;
}

# the worker processes of the master, by /proc
sub main::children {
    my $root = Test::Nginx::Socket::server_root();
    open my $in, '<', "$root/logs/nginx.pid" or return ();
    my $master = <$in>;
    chomp $master;
    close $in;
    open my $ch, '<', "/proc/$master/task/$master/children" or return ();
    my @pids = split ' ', (<$ch> // '');
    close $ch;
    return ($master, @pids);
}

run_tests();

__DATA__

=== TEST 1: a fresh entry: the step's rules are not read again
The first request reads the rules and keeps them; a rule taught since is
not seen while the entry is fresh (valid=1s by default).
--- init
main::rules("home", 0, 5, "item:1 /item/1", 3, "item:2 /item/2");
my ($c0, $m0) = (main::calls(), main::metrics());
my ($b1) = main::get("/", 1000);
main::rules("home", 0, 9, "item:3 /item/3");
my ($b2) = main::get("/", 1500);
my ($c1, $m1) = (main::calls(), main::metrics());
Test::More::is(CxTest::next_of($b1), "/item/1 /item/2", "read from redis");
Test::More::is(CxTest::next_of($b2), "/item/1 /item/2",
               "then from the cache: the rule taught since is not seen");
Test::More::is(CxTest::ran($c0, $c1, "zrevrange"), 2,
               "two ZREVRANGE, the first request's");
Test::More::is(join(" ", map { CxTest::moved($m0, $m1, $_) }
                         qw(miss hit stale refreshes)),
               "1 1 0 0", "a miss, then a hit");
--- request
GET /
--- more_headers
X-CX-Time: 1728000001999
--- response_body
status=HIT next=/item/1 /item/2



=== TEST 2: a stale entry is served while one refresh, for every request and worker, reads it again
Forty requests at once, 1.5 s later: the first serves the entry as it
is and sends the refresh; none waits for it, none sends another.  Once
its reply is in, requests see the new rule.
--- init
main::rules("home", 0, 5, "item:1 /item/1", 3, "item:2 /item/2");
main::get("/", 1000);
main::rules("home", 0, 9, "item:3 /item/3");
my ($c0, $m0) = (main::calls(), main::metrics());
my @bodies = main::parallel(40, "/", 2500);
my $new = main::until_next("/", 2700, "/item/3 /item/1 /item/2");
my ($c1, $m1) = (main::calls(), main::metrics());
my %seen;
$seen{CxTest::next_of($_)}++ for @bodies;
Test::More::is(($seen{"/item/1 /item/2"} // 0)
               + ($seen{"/item/3 /item/1 /item/2"} // 0), 40,
               "every request answered: the stale list, or the new one");
Test::More::cmp_ok($seen{"/item/1 /item/2"} // 0, '>=', 1,
                   "the stale entry served as it is");
Test::More::ok($new, "a request after the refresh sees the new rule");
Test::More::is(CxTest::moved($m0, $m1, "refreshes"), 1,
               "one refresh for them all");
Test::More::is(CxTest::ran($c0, $c1, "zrevrange"), 2,
               "its two ZREVRANGE, and no request's");
Test::More::cmp_ok(CxTest::moved($m0, $m1, "stale"), '>=', 1,
                   "counted stale");
--- request
GET /
--- more_headers
X-CX-Time: 1728000002800
--- response_body
status=HIT next=/item/3 /item/1 /item/2



=== TEST 3: cx_model_cache off: every step reads the rules, as before
--- http_config
    cx_model_cache off;
--- init
main::rules("home", 0, 5, "item:1 /item/1", 3, "item:2 /item/2");
my ($c0, $m0) = (main::calls(), main::metrics());
my ($b1) = main::get("/", 1000);
main::rules("home", 0, 9, "item:3 /item/3");
my ($b2) = main::get("/", 1100);
my ($c1, $m1) = (main::calls(), main::metrics());
Test::More::is(CxTest::next_of($b1) . ", " . CxTest::next_of($b2),
               "/item/1 /item/2, /item/3 /item/1 /item/2",
               "the next request sees the rule taught");
Test::More::is(CxTest::ran($c0, $c1, "zrevrange"), 4, "two ZREVRANGE each");
Test::More::is(join(" ", map { CxTest::moved($m0, $m1, $_) }
                         qw(miss hit stale refreshes evictions)),
               "0 0 0 0 0", "no cache to count");
Test::More::is(CxTest::moved($m0, $m1, "requests_without_round_trip"), 0,
               "every request a round trip");
--- request
GET /
--- more_headers
X-CX-Time: 1728000001200
--- response_body
status=HIT next=/item/3 /item/1 /item/2



=== TEST 4: a zone of 8 pages and 300 steps: the least recently used make room, every answer right
--- http_config
    cx_model_cache 32k;
--- init
main::items(1, 300);
sub main::want { my $i = shift; join " ", map { "/item/" . ($i + $_) } 1 .. 5 }
my ($c0, $m0) = (main::calls(), main::metrics());
my @bad;
for my $i (1 .. 300) {
    my ($b) = main::get("/item/$i", 1000);
    push @bad, $i unless CxTest::next_of($b) eq main::want($i);
}
my $m1 = main::metrics();
for my $i (reverse 1 .. 300) {
    my ($b) = main::get("/item/$i", 1200);
    push @bad, $i unless CxTest::next_of($b) eq main::want($i);
}
my ($c2, $m2) = (main::calls(), main::metrics());
Test::More::is("@bad", "", "600 answers, each the step's successors");
Test::More::is(CxTest::moved($m0, $m1, "miss"), 300, "300 steps read");
Test::More::cmp_ok(CxTest::moved($m0, $m1, "evictions"), '>=', 200,
                   "most of them evicted since");
Test::More::cmp_ok(CxTest::moved($m1, $m2, "hit"), '>=', 1,
                   "the last ones kept, still there");
Test::More::is(CxTest::moved($m0, $m2, "hit") + CxTest::moved($m0, $m2, "miss"),
               600, "each request a hit or a miss");
Test::More::is(CxTest::ran($c0, $c2, "zrevrange"),
               2 * CxTest::moved($m0, $m2, "miss"),
               "the rules read for each miss only");
--- request
GET /item/7
--- more_headers
X-CX-Time: 1728000001300
--- response_body
status=HIT next=/item/8 /item/9 /item/10 /item/11 /item/12



=== TEST 5: what Redis holds that is not ngx_cx's is kept out of the cache as out of the answer
More successors than are read (150), one longer than a member may be,
one with an infinite score, one of no step: the entry holds what the
first answer was made of, and the next answer, from it, is the same.
--- init
main::rules("home", 0, map { ($_, "item:$_ /item/$_") } 1 .. 150);
main::rules("home", 0, 1000, "item:1000 /item/" . ("9" x 1000),
            "+inf", "item:999 /item/999", 500, "junk");
my ($c0, $m0) = (main::calls(), main::metrics());
my ($b1) = main::get("/", 1000);
my ($b2) = main::get("/", 1500);
my ($c1, $m1) = (main::calls(), main::metrics());
my $want = join " ", map { "/item/$_" } reverse 131 .. 150;
Test::More::is(CxTest::next_of($b1), $want,
               "the heaviest, nothing that is not ngx_cx's");
Test::More::is(CxTest::next_of($b2), $want, "the same from the cache");
Test::More::is(CxTest::ran($c0, $c1, "zrevrange"), 2, "read once");
Test::More::is(CxTest::moved($m0, $m1, "hit"), 1, "then a hit");
--- request
GET /
--- more_headers
X-CX-Time: 1728000001600
--- response_body_like
^status=HIT next=/item/150 /item/149 /item/148 .* /item/131$



=== TEST 6: an entry larger than an eighth of the zone is not kept
A hundred successors of 240 bytes each are some 25k; a zone of 32k
keeps entries of 4k at most.  Each request reads them, and is answered.
--- http_config
    cx_model_cache 32k;
--- init
my $l = "x" x 110;
main::rules("home", 0, map { ($_, "long:$l$_ /long/$l$_") } 100 .. 199);
my ($c0, $m0) = (main::calls(), main::metrics());
my @b = map { (main::get("/", 1000 + $_))[0] } 1 .. 3;
my ($c1, $m1) = (main::calls(), main::metrics());
Test::More::is(scalar(grep { CxTest::next_of($_) =~ m{^/long/x{110}199 } } @b),
               3, "each answered, the heaviest first");
Test::More::is(CxTest::moved($m0, $m1, "miss"), 3, "never found");
Test::More::is(CxTest::ran($c0, $c1, "zrevrange"), 6, "read by each");
--- request
GET /
--- more_headers
X-CX-Time: 1728000001400
--- response_body_like
^status=HIT next=/long/x{110}199 /long/x{110}198 .*$



=== TEST 7: a reload keeps the zone and its entries
--- init
main::rules("home", 0, 5, "item:1 /item/1");
main::rules("item:1", 0, 5, "item:2 /item/2");
main::get("/", 1000);
my ($master, @old) = main::children();
my %old = map { $_ => 1 } @old;
my @new;
if ($ENV{TEST_NGINX_USE_VALGRIND}) {
    # Test::Nginx runs valgrind with master_process off: nothing to reload,
    # the same requests without
    @new = (0);
} else {
    kill 'HUP', $master;
    my $deadline = Time::HiRes::time() + 30;
    while (Time::HiRes::time() < $deadline) {
        (undef, @new) = main::children();
        last if @new && !grep { $old{$_} } @new;
        Time::HiRes::sleep(0.05);
    }
}
Test::More::ok(@new && !grep({ $old{$_} } @new), "new workers serve");
my ($c0, $m0) = (main::calls(), main::metrics());
my ($b1) = main::get("/", 1500);
my ($b2) = main::get("/item/1", 1500);
my ($b3) = main::get("/item/1", 1600);
my ($c1, $m1) = (main::calls(), main::metrics());
Test::More::is(CxTest::next_of($b1) . ", " . CxTest::next_of($b2)
               . ", " . CxTest::next_of($b3), "/item/1, /item/2, /item/2",
               "the answers");
Test::More::is(join(" ", map { CxTest::moved($m0, $m1, $_) } qw(hit miss)),
               "2 1", "the entry from before the reload found, a new one kept");
Test::More::is(CxTest::ran($c0, $c1, "zrevrange"), 2,
               "the new step's rules read, only");
--- request
GET /item/1
--- more_headers
X-CX-Time: 1728000001700
--- response_body
status=HIT next=/item/2



=== TEST 8: nothing to read, no round trip: a new visitor, an untracked one, cx_api
A visitor given an id with this response, and one who asks not to be
tracked (on a page, and of cx_api), have nothing of their own to read:
with the step's entry fresh, Redis sees no command at all.  A customer's batch then reads only what
is theirs, and its last reply still resumes the request.
--- init
main::rules("home", 0, 5, "item:1 /item/1", 3, "item:2 /item/2");
main::get("/", 1000);
my ($c0, $m0) = (main::calls(), main::metrics());
my ($b1, $h1) = main::get("/", 1100);
my (undef, undef, $b2) = CxTest::http_get(main::port(), "/",
    { "X-CX-Time" => $main::T0 + 1200, "Sec-GPC" => 1 });
my (undef, undef, $j) = CxTest::http_get(main::port(), "/cx/next?uri=/",
    { "X-CX-Time" => $main::T0 + 1300, "Sec-GPC" => 1 });
my ($c1, $m1) = (main::calls(), main::metrics());
Test::More::is(CxTest::ran($c0, $c1), 0, "no command to Redis");
Test::More::is(CxTest::moved($m0, $m1, "requests_without_round_trip"), 3,
               "three requests without a round trip");
Test::More::like($h1->{"set-cookie"} // "", qr/^cx_id=[0-9a-f]{32};/,
                 "the new visitor's id issued");
Test::More::is(CxTest::next_of($b1) . ", " . CxTest::next_of($b2),
               "/item/1 /item/2, /item/1 /item/2", "both answered");
Test::More::like($j, qr{"next":\[\{"step":"item:1","url":"/item/1".*\{"step":"item:2","url":"/item/2"},
                 "and cx_api");
my ($b3) = main::get("/", 1400, "c8");
my $c2 = main::calls();
Test::More::is(CxTest::next_of($b3), "/item/1 /item/2", "a customer's answer");
Test::More::is(CxTest::ran($c1, $c2, "zrevrange"), 0,
               "no ZREVRANGE: the rules from the cache");
Test::More::is(CxTest::ran($c1, $c2, "hgetall"), 1,
               "one HGETALL: the customer");
--- request
GET /
--- more_headers
Cookie: cx_id=c8
X-CX-Time: 1728000001500
--- response_body
status=HIT next=/item/1 /item/2



=== TEST 9: an entry of another decay epoch is stale
Stored 300 ms before an epoch ends and asked for 300 ms after: within
valid=, but the rules of the new epoch are others.
--- init
my $end = $main::SPAN;
main::rules("home", 0, 5, "item:1 /item/1");
main::rules("home", 1, 5, "item:2 /item/2");
main::get("/", $end - 300);
my $m0 = main::metrics();
my ($b1) = main::get("/", $end + 300);
my $new = main::until_next("/", $end + 400, "/item/2 /item/1");
my $m1 = main::metrics();
Test::More::is(CxTest::next_of($b1), "/item/1", "the stale entry served");
Test::More::ok($new, "then the new epoch's rules");
Test::More::is(CxTest::moved($m0, $m1, "refreshes"), 1, "one refresh");
--- request
GET /
--- more_headers
X-CX-Time: 1728115200500
--- response_body
status=HIT next=/item/2 /item/1



=== TEST 10: an entry older than twice valid= is read again in the batch, not served
--- http_config
    cx_model_cache 1m valid=500ms;
--- init
main::rules("home", 0, 5, "item:1 /item/1");
main::get("/", 1000);
main::rules("home", 0, 9, "item:2 /item/2");
my ($c0, $m0) = (main::calls(), main::metrics());
my ($b1) = main::get("/", 2001);
my ($c1, $m1) = (main::calls(), main::metrics());
Test::More::is(CxTest::next_of($b1), "/item/2 /item/1",
               "1001 ms after: the rule taught since is seen at once");
Test::More::is(join(" ", map { CxTest::moved($m0, $m1, $_) }
                         qw(hit stale miss refreshes)), "0 0 1 0",
               "counted a miss, no refresh");
Test::More::is(CxTest::ran($c0, $c1, "zrevrange"), 2,
               "the batch's two ZREVRANGE");
--- request
GET /
--- more_headers
X-CX-Time: 1728000002300
--- response_body
status=HIT next=/item/2 /item/1



=== TEST 11: one worker, two locations, two regexes: each its own verdicts
Everyone's successors of item:5 are one that only location / declares
(/item/2) and one that only /q/ declares (/q/item/3).  Asked in turns on
one connection, so that one worker keeps the verdicts for both: each
location suggests its own, never the other's.
--- config
    location /q/ {
        cx_step item:$1 ~^/q/item/(\d+)$;
        return 200 "status=$cx_status next=$cx_next\n";
    }
--- init
main::rules("item:5", 0, 9, "item:2 /item/2", 8, "item:3 /q/item/3");
my $s = CxTest::connect_to(main::port(), 10) or die "connect";
my @got;
for my $uri (("/item/5", "/q/item/5") x 3) {
    print $s "GET $uri HTTP/1.1\r\nHost: localhost\r\n"
             . "X-CX-Time: $main::T0\r\n\r\n";
    my $resp = '';
    until ($resp =~ /\r\n\r\n/
           && length($') >= ($resp =~ /Content-Length: (\d+)/i)[0])
    {
        sysread($s, $resp, 65536, length $resp) or die "read: $!";
    }
    my (undef, $body) = split /\r\n\r\n/, $resp, 2;
    push @got, CxTest::next_of($body);
}
close $s;
Test::More::is(join(",", @got),
               "/item/2,/q/item/3,/item/2,/q/item/3,/item/2,/q/item/3",
               "each location its own suggestion, in turns");
--- request
GET /q/item/5
--- more_headers
X-CX-Time: 1728000000000
--- response_body
status=HIT next=/q/item/3



=== TEST 12: a worker's own copy of an entry is fresh no longer than the zone's: past valid= of its storing, the step is refreshed
On one connection, so one worker: the entry read at 1000 is found in the
zone at 1100, then kept by the worker and served from its copy at 1500.
At 2100, 1100 ms after it was stored, it is stale as the zone's would be:
served as it is, and refreshed; the refreshed successors follow.
--- init
main::rules("home", 0, 5, "item:1 /item/1");
my $s = CxTest::connect_to(main::port(), 10) or die "connect";
my @got = map { CxTest::next_of(main::keep($s, "/", $_)) } 1000, 1100, 1500;
main::rules("home", 0, 9, "item:3 /item/3");
my $m0 = main::metrics();
push @got, CxTest::next_of(main::keep($s, "/", 2100));
my $new = 0;
for (1 .. 500) {
    $new = 1, last
        if CxTest::next_of(main::keep($s, "/", 2200)) eq "/item/3 /item/1";
    Time::HiRes::sleep(0.02);
}
close $s;
my $m1 = main::metrics();
Test::More::is(join(",", @got), "/item/1,/item/1,/item/1,/item/1",
               "read, then kept; stale at 2100, served as it is");
Test::More::ok($new, "then the refreshed successors");
Test::More::cmp_ok(CxTest::moved($m0, $m1, "stale"), '>=', 1,
                   "the worker's copy not served past valid=: stale");
Test::More::is(CxTest::moved($m0, $m1, "refreshes"), 1, "and refreshed");
--- request
GET /
--- more_headers
X-CX-Time: 1728000002300
--- response_body
status=HIT next=/item/3 /item/1



=== TEST 13: what a worker stores of a step replaces its own copy at once
The worker keeps the entry stored at 1000; at 3500 (a replay's time, or
another customer's cx_time) the step is read again in the batch and
stored.  Asked at 1600 then, the worker serves what it stored, stale as
the zone has it, not its copy of 1000, fresh as that would be.
--- init
main::rules("home", 0, 5, "item:1 /item/1");
my $s = CxTest::connect_to(main::port(), 10) or die "connect";
my @got = map { CxTest::next_of(main::keep($s, "/", $_)) } 1000, 1100, 1200;
main::rules("home", 0, 9, "item:3 /item/3");
push @got, map { CxTest::next_of(main::keep($s, "/", $_)) } 3500, 1600;
close $s;
Test::More::is(join(",", @got),
               "/item/1,/item/1,/item/1,/item/3 /item/1,/item/3 /item/1",
               "kept, read again at 3500, and that served at 1600");
--- request
GET /
--- more_headers
X-CX-Time: 1728000001700
--- response_body
status=HIT next=/item/3 /item/1



=== TEST 14: an entry in use is kept while the least recently used make room
Entries moved up when used, at most once a second: an entry used a
second after it was stored is kept while a zone's worth of new entries
less two make room, and the ones stored before it and not used since go.
The zone (8 pages) holds C entries of these steps, counted from the
evictions; C / 2 are stored after A, then A is used, then C - 2 more:
A is still there, stale once valid= is over (not a miss), its first
follower is gone.
--- http_config
    cx_model_cache 32k valid=1s;
--- init
main::items(100, 999);
my $m0 = main::metrics();
main::get("/item/$_", 1000) for 100 .. 399;
my $m1 = main::metrics();
my $c = 300 - CxTest::moved($m0, $m1, "evictions");
Test::More::cmp_ok($c, ">=", 20, "the zone holds $c entries");
main::get("/item/$_", 1000) for 400 .. 400 + int($c / 2);
Time::HiRes::sleep(1.1);
main::get("/item/400", 1000);
main::get("/item/$_", 1000) for 500 .. 500 + $c - 3;
my $m2 = main::metrics();
main::get("/item/400", 2500);
my $m3 = main::metrics();
main::get("/item/401", 2500);
my $m4 = main::metrics();
Test::More::is(CxTest::moved($m2, $m3, "stale"), 1, "the one in use kept");
Test::More::is(CxTest::moved($m3, $m4, "miss"), 1, "the one after it gone");
--- request
GET /block
--- response_body chomp
14



=== TEST 15: an entry a worker serves from its own copy is kept as one it reads
TEST 14 on one connection, so one worker: the entry, read of the zone
once stored, is kept by the worker, and the use of it a second later is
served from the worker's copy, which tells the zone it was used.  A zone
of another size than TEST 14's: in HUP mode a reload keeps a zone of
the same size, full of TEST 14's entries, and none would count C.
--- http_config
    cx_model_cache 36k valid=1s;
--- init
main::items(100, 999);
my $s = CxTest::connect_to(main::port(), 10) or die "connect";
my $m0 = main::metrics();
main::keep($s, "/item/$_", 1000) for 100 .. 399;
my $m1 = main::metrics();
my $c = 300 - CxTest::moved($m0, $m1, "evictions");
main::keep($s, "/item/400", 1000) for 1 .. 2;
main::keep($s, "/item/$_", 1000) for 401 .. 400 + int($c / 2);
Time::HiRes::sleep(1.1);
my $m2 = main::metrics();
main::keep($s, "/item/400", 1000);
my $m3 = main::metrics();
main::keep($s, "/item/$_", 1000) for 500 .. 500 + $c - 3;
my $m4 = main::metrics();
main::keep($s, "/item/400", 2500);
my $m5 = main::metrics();
main::keep($s, "/item/401", 2500);
my $m6 = main::metrics();
close $s;
Test::More::cmp_ok($c, ">=", 20, "the zone holds $c entries");
Test::More::is(join(" ", map { CxTest::moved($m2, $m3, $_) } qw(hit miss)),
               "1 0", "the use a second later a hit");
Test::More::is(CxTest::moved($m4, $m5, "stale"), 1, "the one in use kept");
Test::More::is(CxTest::moved($m5, $m6, "miss"), 1, "the one after it gone");
--- request
GET /block
--- response_body chomp
15
