# Issue 10: a holdout and live attribution.  cx_holdout keeps a share of
# customers, by the keyed hash of their id, from every suggestion while
# they are still recorded; each step keeps what it offered, and the next
# step of the journey tells which rank the customer took, the shortcut,
# or none; a goal counts the journey's steps.  The counts are read from
# cx_metrics before and after a walk in the same block, so that they hold
# in Test::Nginx's HUP mode too, where the zone outlives a block.

use Test::Nginx::Socket;
use lib 't/cx';
use CxTest;
use JSON::PP ();

repeat_each(1);

# one worker, one connection to Redis: a step's writes are in Redis
# before the next step's reads
workers(1);

plan tests => CxTest::planned(qr/Test::More::(?!diag)\w+\(|main::moved\(/,
                              1);

no_shuffle();
no_root_location();

$ENV{TEST_NGINX_REDIS_PORT} ||= 6379;

our $Shop = <<'_EOC_';
    cx on;
    cx_header on;
    cx_step home /;
    cx_step search /search;
    cx_step item:$1 ~^/item/(\d+)$ /item/$1;
    cx_step cart /cart;
    cx_step checkout /checkout;
    cx_goal checkout;
    cx_shortcut checkout;
    cx_pace hurried=0 relaxed=1h;
    cx_prefetch on;
    location = /cx-metrics { cx_metrics; }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("http_config", <<'_EOC_');
    cx_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    cx_timeout 10s;
    cx_secret k220-0123456789abcdef;
    cx_prefix t220:;
    cx_rule_reverse 0;
    cx_revisit 0;
_EOC_
    $block->set_value("http_config",
                      $block->http_config . ($block->other // ""));

    my $holdout = defined $block->holdout
                  ? "cx_holdout " . $block->holdout . ";\n" : "";

    $block->set_value("config", $main::Shop . $holdout . <<'_EOC_');
    location / {
        return 200 "variant=$cx_variant status=$cx_status next=$cx_next shortcut=$cx_shortcut\n";
    }
_EOC_

    # three shoppers teach: search -> item 1 -> cart -> checkout
    $block->set_value("init", <<'_EOC_' . ($block->init // ''));
CxTest::clear($ENV{TEST_NGINX_REDIS_PORT}, "t220:");
CxTest::journeys(Test::Nginx::Socket::server_port(),
                 map { [$_, "/", "/search", "/item/1", "/cart", "/checkout"] }
                 qw(s1 s2 s3));
_EOC_

    CxTest::quiet($block);
});

# the metrics as JSON
sub metrics {
    my ($status, undef, $body) = CxTest::http_get(
        Test::Nginx::Socket::server_port(), "/cx-metrics?format=json");
    die "cx_metrics: $status" unless $status && $status == 200;
    return JSON::PP::decode_json($body);
}

# the counters of a variant (and of its level "new") after minus before,
# as "name=delta" for those that moved, sorted
sub moved {
    my ($before, $after, $variant, $expect, $what) = @_;
    my ($b, $a) = map { $_->{variants}{$variant} } $before, $after;
    my @d;
    for my $k (qw(journeys offered shortcuts_offered shortcut_follows)) {
        my $n = $a->{$k} - $b->{$k};
        push @d, "$k=$n" if $n;
    }
    for my $i (0 .. $#{ $a->{follows} }) {
        my $n = $a->{follows}[$i] - $b->{follows}[$i];
        push @d, "rank" . ($i + 1) . "=$n" if $n;
    }
    for my $l (sort keys %{ $a->{levels} }) {
        my ($lb, $la) = ($b->{levels}{$l}, $a->{levels}{$l});
        for my $k (qw(goals assisted steps_sum steps_squares)) {
            my $n = $la->{$k} - $lb->{$k};
            push @d, "$l.$k=$n" if $n;
        }
        for my $i (0 .. $#{ $la->{buckets} }) {
            my $n = $la->{buckets}[$i] - $lb->{buckets}[$i];
            my $le = $la->{le}[$i] // "inf";
            push @d, "$l.le$le=$n" if $n;
        }
    }
    Test::More::is(join(" ", @d), $expect, $what);
}

run_tests();

__DATA__

=== TEST 1: a customer held out gets nothing shown, and is still recorded
--- holdout: 100%
--- init
my $port = Test::Nginx::Socket::server_port();
CxTest::journeys($port, ["h1", "/search"]);
--- request
GET /item/1
--- more_headers
Cookie: cx_id=h1
--- response_body
variant=holdout status=MISS next= shortcut=
--- response_headers
X-CX-Next:
X-CX-Status: MISS



=== TEST 2: ... their steps are recorded as anyone's
--- holdout: 100%
--- init
my $port = Test::Nginx::Socket::server_port();
my $base = CxTest::customer_key($ENV{TEST_NGINX_REDIS_PORT}, "t220:", $port,
                                "h2", "/search");
CxTest::journeys($port, ["h2", "/item/1"]);
my @seq = CxTest::steps($ENV{TEST_NGINX_REDIS_PORT}, $base);
Test::More::is("@seq", "item:1 /item/1 search /search",
               "a held-out customer's steps are recorded");
--- request
GET /search
--- more_headers
Cookie: cx_id=h2
--- response_body
variant=holdout status=MISS next= shortcut=



=== TEST 3: no holdout: everyone is treated
--- request
GET /search
--- more_headers
Cookie: cx_id=t3
--- response_body
variant=treatment status=HIT next=/item/1 /cart /checkout shortcut=



=== TEST 4: a customer's side is the same on every request and server
--- holdout: 50%
--- init
my $port = Test::Nginx::Socket::server_port();
my (%side, $changed, $held);
for my $round (1 .. 2) {
    for my $i (1 .. 200) {
        my (undef, undef, $body) = CxTest::http_get($port, "/search",
            { Cookie => "cx_id=v$i", Host => $round == 1 ? "localhost"
                                                         : "other" });
        my ($v) = $body =~ /^variant=(\w+)/;
        $changed++ if $side{$i} && $side{$i} ne $v;
        $side{$i} = $v;
    }
}
$held = grep { $_ eq "holdout" } values %side;
Test::More::ok(!$changed, "each id keeps its side, on both servers");
Test::More::cmp_ok(abs($held - 100), '<=', 25,
                   "about half of 200 ids are held out ($held)");
--- other
    server {
        listen $TEST_NGINX_SERVER_PORT;
        server_name other;
        cx on;
        cx_holdout 50;
        cx_step search /search;
        location / { return 200 "variant=$cx_variant\n"; }
    }
--- request
GET /search
--- more_headers
Cookie: cx_id=v1
--- response_body_like
^variant=(treatment|holdout)\b.*



=== TEST 5: taking the second suggestion moves exactly that counter
--- init
my $port = Test::Nginx::Socket::server_port();
my $before = main::metrics();
my (undef, undef, $body) = CxTest::http_get($port, "/search",
                                            { Cookie => "cx_id=r2" });
Test::More::is($body, "variant=treatment status=HIT next=/item/1 /cart "
               . "/checkout shortcut=\n", "offered: item 1, cart, checkout");
CxTest::journeys($port, ["r2", "/cart"]);
main::moved($before, main::metrics(), "treatment",
            "journeys=1 offered=1 rank2=1", "rank 2 taken");
--- request
GET /cx-metrics
--- response_body_like
cx_follows_total\{variant="treatment",rank="2"\} [1-9]



=== TEST 6: a step off the list is offered, not followed
--- init
my $port = Test::Nginx::Socket::server_port();
my $before = main::metrics();
CxTest::journeys($port, ["n6", "/search", "/item/9"]);
main::moved($before, main::metrics(), "treatment", "journeys=1 offered=1",
            "none taken");
--- request
GET /search
--- more_headers
Cookie: cx_id=n6
--- response_body_like
^variant=treatment status=.*



=== TEST 7: steps to the goal, counted once per journey
--- init
my $port = Test::Nginx::Socket::server_port();
my $before = main::metrics();
CxTest::journeys($port, ["g7", "/", "/search", "/item/1", "/cart",
                         "/checkout"]);
main::moved($before, main::metrics(), "treatment",
            "journeys=1 offered=4 rank1=4 new.goals=1 new.assisted=1 "
            . "new.steps_sum=5 new.steps_squares=25 new.le5=1 new.le6=1 "
            . "new.le7=1 new.le8=1 new.le9=1 new.le10=1 new.le12=1 "
            . "new.le15=1 new.le20=1 new.le30=1 new.le50=1 new.leinf=1",
            "five steps, each the first suggestion");
--- request
GET /search
--- more_headers
Cookie: cx_id=g7
--- response_body_like
^variant=treatment status=.*



=== TEST 8: the shortcut taken, by a returning customer
--- init
my $port = Test::Nginx::Socket::server_port();
CxTest::journeys($port, ["s8", "/", "/item/3", "/cart", "/checkout"],
                 ["s8", "/item/3", "/cart", "/checkout"]);
my $before = main::metrics();
my (undef, undef, $body) = CxTest::http_get($port, "/item/3",
                                            { Cookie => "cx_id=s8" });
Test::More::is($body, "variant=treatment status=HIT next=/cart "
               . "shortcut=/checkout\n", "the shortcut offered");
CxTest::journeys($port, ["s8", "/checkout"]);
main::moved($before, main::metrics(), "treatment",
            "journeys=1 offered=1 shortcuts_offered=1 shortcut_follows=1 "
            . "returning.goals=1 returning.assisted=1 returning.steps_sum=2 "
            . "returning.steps_squares=4 returning.le2=1 returning.le3=1 "
            . "returning.le4=1 returning.le5=1 returning.le6=1 "
            . "returning.le7=1 returning.le8=1 returning.le9=1 "
            . "returning.le10=1 returning.le12=1 returning.le15=1 "
            . "returning.le20=1 returning.le30=1 returning.le50=1 "
            . "returning.leinf=1", "two steps, the shortcut");
--- request
GET /item/3
--- more_headers
Cookie: cx_id=s8
--- response_body
variant=treatment status=HIT next=/cart shortcut=/checkout



=== TEST 9: held out, what would have been offered is the baseline
--- holdout: 100%
--- init
my $port = Test::Nginx::Socket::server_port();
my $before = main::metrics();
CxTest::journeys($port, ["b9", "/search", "/item/1", "/item/7"]);
main::moved($before, main::metrics(), "holdout",
            "journeys=1 offered=2 rank1=1", "held out: rank 1 taken unseen");
main::moved($before, main::metrics(), "treatment", "",
            "and nothing counted for the treatment");
--- request
GET /search
--- more_headers
Cookie: cx_id=b9
--- response_body
variant=holdout status=MISS next= shortcut=



=== TEST 10: an offer in Redis that is not ngx_cx's is none
--- init
my $port = Test::Nginx::Socket::server_port();
my $rp = $ENV{TEST_NGINX_REDIS_PORT};
my $base = CxTest::customer_key($rp, "t220:", $port, "x10", "/search");
CxTest::redis($rp, "HSET", "$base:s", "o", "<script>alert(1)</script>",
              "u", "7");
my $before = main::metrics();
CxTest::journeys($port, ["x10", "/item/1"]);
main::moved($before, main::metrics(), "treatment", "",
            "no offer read, nothing counted");
--- request
GET /cart
--- more_headers
Cookie: cx_id=x10
--- response_body_like
^variant=treatment status=HIT next=.*
--- error_log
entries of the customer hash read from redis are not ngx_cx's
--- no_error_log
[alert]
[crit]



=== TEST 11: the goal's page reloaded is one purchase, not three
--- init
my $port = Test::Nginx::Socket::server_port();
my $before = main::metrics();
CxTest::journeys($port, ["g11", "/search", "/checkout", "/checkout",
                         "/checkout"]);
main::moved($before, main::metrics(), "treatment",
            "journeys=1 offered=1 rank3=1 new.goals=1 new.assisted=1 "
            . "new.steps_sum=2 new.steps_squares=4 new.le2=1 new.le3=1 "
            . "new.le4=1 new.le5=1 new.le6=1 new.le7=1 new.le8=1 new.le9=1 "
            . "new.le10=1 new.le12=1 new.le15=1 new.le20=1 new.le30=1 "
            . "new.le50=1 new.leinf=1", "one goal of two steps");
--- request
GET /search
--- more_headers
Cookie: cx_id=g11
--- response_body_like
^variant=treatment status=HIT next=.*



=== TEST 12: the goal is never fetched ahead: its response is the purchase
--- init
my $port = Test::Nginx::Socket::server_port();
my (undef, $h) = CxTest::http_get($port, "/item/1", { Cookie => "cx_id=p12" });
Test::More::is($h->{link}, "</cart>; rel=prefetch",
               "the top suggestion is fetched ahead");
--- request
GET /cart
--- more_headers
Cookie: cx_id=p12
--- response_body
variant=treatment status=HIT next=/checkout shortcut=
--- response_headers
!Link
