# Issue 11: a step's answer is made where something asks for it.  A step
# answered with no round trip (cx_model_cache customers=), in a location
# that shows nothing, in a configuration that names no variable of the
# answer and has no cx_api, is recorded without one: counted as
# "unasked", nothing served, nothing offered.  Where something shows it
# (cx_header), reads it by name (SSI's echo), or may read it later
# (a log_format, a map, cx_api), it is made, served and offered as
# before.  The answer read late (SSI's echo, after the step is recorded)
# is the one the step would have shown (cx_header); the dashboard counts
# the unasked steps.
#
# Requests carry their time in X-CX-Time (cx_time); everyone's rules of
# a step are written into Redis by the test.  Each block has a cx_prefix
# of its own.  This file starts a redis-server of its own.

use Test::Nginx::Socket;
use lib 't/cx';
use CxTest;

our $Redis = CxTest::start_redis();

$ENV{TEST_NGINX_CX_REDIS_PORT} = $Redis->{port};
$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

our $T0 = 15000 * 32 * 3600 * 1000;

master_on();
workers(1);
repeat_each(1);

plan tests => CxTest::planned(qr/Test::More::(?!diag)\w+\(/, 1);

no_shuffle();
no_root_location();

our $Block;
our (%Steps, %Key);

add_block_preprocessor(sub {
    my $block = shift;
    my ($n) = $block->name =~ /TEST (\d+)/;

    $block->set_value("http_config", <<"_EOC_" . ($block->http_config // ''));
    cx_redis 127.0.0.1:\$TEST_NGINX_CX_REDIS_PORT;
    cx_timeout 10s;
    cx_secret k320-0123456789abcdef;
    cx_prefix t320b$n:;
    cx_half_life 1h;
    cx_model_cache 1m valid=1h customers=60s;
_EOC_

    $block->set_value("config", <<"_EOC_" . ($block->config // ''));
    cx on;
    cx_suggest 20;
    cx_pace hurried=0 relaxed=1000d;
    cx_time \$http_x_cx_time;
    cx_cookie cx_id;
    cx_step home /;
    cx_step page ~^/[hs]/page\$ /h/page;
    cx_step cart /cart;
    cx_step buy /buy;
    cx_goal buy;
    location = /block { cx off; return 200 "$n"; }
    location = /metrics { cx off; cx_metrics; }
_EOC_

    $block->set_value("init", "main::begin($n);\n" . ($block->init // ''));

    CxTest::quiet($block);
});

sub main::port { Test::Nginx::Socket::server_port() }

# in HUP mode, the workers of this block's configuration answer; then the
# block's keys, none yet, and everyone's rules out of home and page
sub main::begin {
    $main::Block = shift;
    CxTest::wait_block(main::port(), $main::Block);
    my $p = "t320b$main::Block:";
    CxTest::clear($main::Redis->{port}, $p);
    for my $from ("home", "page") {
        CxTest::redis($main::Redis->{port}, "ZADD", "${p}t:{$from}:15000",
                      5, "cart /cart", 3, "buy /buy", 2, "page /h/page");
    }
}

# GET uri at T0 + ms as customer id, once Redis has the steps the
# customer sent before (with a prefetch, answered, never recorded):
# (headers, body)
sub main::get {
    my ($uri, $ms, $id, $ahead) = @_;
    my %h = ("X-CX-Time" => $main::T0 + $ms, Cookie => "cx_id=$id");
    $h{"Sec-Purpose"} = "prefetch" if $ahead;
    my ($s, $h, $b) = CxTest::http_get(main::port(), $uri, \%h);
    die "GET $uri: $s $b" unless $s && $s == 200;
    $b = CxTest::dechunk($h, $b);
    main::settled($id, ++$main::Steps{$id}) unless $ahead;
    return ($h, $b);
}

# once Redis has the customer's n steps (10s at most)
sub main::settled {
    my ($id, $n) = @_;
    my $ok = CxTest::wait_until(sub {
        my $k = main::key($id);
        return $k && scalar(CxTest::steps($main::Redis->{port}, $k)) >= $n;
    }, 10);
    die "Redis has not got the $n steps of $id" unless $ok;
}

# the customer's key base "P{H}": their id's, the one new under the
# prefix at their first step
sub main::key {
    my ($id) = @_;
    return $main::Key{"$main::Block $id"} if $main::Key{"$main::Block $id"};
    my @new = grep { my $k = $_; !grep { $_ eq $k } values %main::Key }
              CxTest::customers($main::Redis->{port}, "t320b$main::Block:");
    return undef unless @new == 1;
    return $main::Key{"$main::Block $id"} = $new[0];
}

# what the customer's last recorded step offered (the state's "o")
sub main::offer {
    my $o = CxTest::redis($main::Redis->{port}, "HGET",
                          main::key($_[0]) . ":s", "o");
    return $o // "";
}

sub main::metrics { CxTest::metrics(main::port(), "/metrics") }

# the steps' rules into cx_model_cache: a new visitor's GETs (an id
# issued, nothing read of theirs, nothing recorded)
sub main::warm {
    for my $uri (@_) {
        my ($s) = CxTest::http_get(main::port(), $uri,
                                   { "X-CX-Time" => $main::T0 + 500 });
        die "GET $uri: $s" unless $s && $s == 200;
    }
}

# a customer's visit: home, read from Redis; page and cart from the edge's
# copy, with no round trip: the metrics before and after those two
sub main::visit {
    my ($id, $page) = @_;
    main::warm("/", $page, "/cart");
    main::get("/", 1000, $id);
    my $m0 = main::metrics();
    main::get($page, 2000, $id);
    main::get("/cart", 3000, $id);
    return ($m0, main::metrics());
}

run_tests();

__DATA__

=== TEST 1: a location that shows nothing: recorded, not answered
Nothing in the configuration reads the answer: the two steps from the
copy are recorded, counted as unasked, and serve and offer nothing.
--- config
    location / { return 200 "ok\n"; }
--- init
my ($m0, $m1) = main::visit("u1", "/h/page");
Test::More::is(CxTest::moved($m0, $m1, "requests_without_round_trip"), 2,
               "both from the copy, with no round trip");
Test::More::is($m1->{requests}{unasked} - ($m0->{requests}{unasked} // 0), 2,
               "both counted as unasked");
Test::More::is(join(" ", map { $m1->{requests}{$_} - $m0->{requests}{$_} }
                         qw(hit miss error)), "0 0 0",
               "none answered");
Test::More::is(CxTest::moved($m0, $m1, "suggestions_served"), 0,
               "nothing served");
Test::More::is(join(",", CxTest::steps($main::Redis->{port}, main::key("u1"))),
               "cart /cart,page /h/page,home /", "the three steps recorded");
Test::More::is(main::offer("u1"), "", "the last step offered nothing");
Test::More::is($m1->{variants}{treatment}{offered}
               - $m0->{variants}{treatment}{offered}, 1,
               "page counts home's offer, cart none of page's");
--- request
GET /block
--- response_body chomp
1



=== TEST 2: the same location with cx_header on: answered, served, offered
--- config
    location / { cx_header on; return 200 "ok\n"; }
--- init
my ($m0, $m1) = main::visit("u2", "/h/page");
Test::More::is(CxTest::moved($m0, $m1, "requests_without_round_trip"), 2,
               "both from the copy, with no round trip");
Test::More::is($m1->{requests}{unasked} - $m0->{requests}{unasked}, 0,
               "none unasked");
Test::More::is($m1->{requests}{hit} - $m0->{requests}{hit}, 2,
               "both answered");
Test::More::cmp_ok(CxTest::moved($m0, $m1, "suggestions_served"), '>=', 2,
                   "and served");
Test::More::like(main::offer("u2"), qr/^[0-9a-f]{8}/,
                 "the last step offered its list");
Test::More::is($m1->{variants}{treatment}{offered}
               - $m0->{variants}{treatment}{offered}, 2,
               "page counts home's offer, cart page's");
--- request
GET /block
--- response_body chomp
2



=== TEST 3: SSI's echo of $cx_next, read by name after the record
/s/page is not answered before its response header: its SSI reads
$cx_next and $cx_status as the body goes out, after the step is
recorded.  They are what cx_header shows for the same customer, asked
the same step ahead (a prefetch, not recorded).
--- http_config
    cx_rule_reverse 0;
--- config
    location /s/ {
        alias $TEST_NGINX_HTML_DIR/;
        default_type text/html;
        ssi on;
    }
    location /h/ { cx_header on; return 200 "ok\n"; }
    location / { return 200 "ok\n"; }
--- init
open my $out, '>', "$ENV{TEST_NGINX_HTML_DIR}/page" or die $!;
print $out qq{<!--# echo var="cx_status" -->|<!--# echo var="cx_next" -->\n};
close $out;
main::warm("/", "/h/page", "/cart", "/buy");
main::get("/", 1000, "u3");
main::get("/cart", 2000, "u3");
main::get("/buy", 3000, "u3");
main::get("/", 4000, "u3");
my ($h) = main::get("/h/page", 5000, "u3", 1);
my $m0 = main::metrics();
my (undef, $b) = main::get("/s/page", 5000, "u3");
my $m1 = main::metrics();
Test::More::like($h->{"x-cx-next"}, qr/\S/, "the header has a list");
Test::More::is($b, "HIT|" . join(" ", split /,\s*/, $h->{"x-cx-next"})
                   . "\n", "the page has the same: $b");
Test::More::is(join(",", CxTest::steps($main::Redis->{port}, main::key("u3"))),
               "page /h/page,home /,buy /buy,cart /cart,home /",
               "the step recorded");
Test::More::cmp_ok(CxTest::moved($m0, $m1, "suggestions_served"), '>=', 1,
                   "what the page showed counted as served");
Test::More::is($m1->{requests}{hit} - $m0->{requests}{hit}, 1,
               "and the step as a hit");
--- request
GET /block
--- response_body chomp
3



=== TEST 4: a log_format that names $cx_status: every step answered
--- http_config
    log_format cx '$request $cx_status';
--- config
    access_log logs/cx.log cx;
    location / { return 200 "ok\n"; }
--- init
my ($m0, $m1) = main::visit("u4", "/h/page");
Test::More::is($m1->{requests}{unasked} - $m0->{requests}{unasked}, 0,
               "none unasked");
Test::More::is($m1->{requests}{hit} - $m0->{requests}{hit}, 2,
               "both answered");
Test::More::like(main::offer("u4"), qr/^[0-9a-f]{8}/,
                 "the last step offered its list");
--- request
GET /block
--- response_body chomp
4



=== TEST 5: a cx_api location: every step answered, its offer recorded
The browser asks cx_api for what to show: the page's step, which shows
nothing itself, offers what cx_api answers, and the next step counts it.
--- config
    location = /api { cx_api; }
    location / { return 200 "ok\n"; }
--- init
my ($m0, $m1) = main::visit("u5", "/h/page");
Test::More::is($m1->{requests}{unasked} - $m0->{requests}{unasked}, 0,
               "none unasked");
Test::More::like(main::offer("u5"), qr/^[0-9a-f]{8}/,
                 "the last step offered its list");
Test::More::is($m1->{variants}{treatment}{offered}
               - $m0->{variants}{treatment}{offered}, 2,
               "page counts home's offer, cart page's");
--- request
GET /block
--- response_body chomp
5



=== TEST 6: SSI's echo reads what cx_header shows, reverse credits included
Two customers with the same journey take the page, one where cx_header
shows its answer before the record, the other where SSI reads $cx_next
after it.  With cx_rule_reverse at its default, the answer counts the
reverse credits of a step that is recorded (home, the step before): the
late answer must count them too.  Page's own rules are light, so that
home's reverse credit ranks it first.
--- config
    location /s/ {
        alias $TEST_NGINX_HTML_DIR/;
        default_type text/html;
        ssi on;
    }
    location /h/ { cx_header on; return 200 "ok\n"; }
    location / { return 200 "ok\n"; }
--- init
open my $out, '>', "$ENV{TEST_NGINX_HTML_DIR}/page" or die $!;
print $out qq{<!--# echo var="cx_status" -->|<!--# echo var="cx_next" -->\n};
close $out;
CxTest::redis($main::Redis->{port}, "ZADD", "t320b$main::Block:t:{page}:15000",
              0.2, "cart /cart", 0.1, "buy /buy");
CxTest::redis($main::Redis->{port}, "ZREM", "t320b$main::Block:t:{page}:15000",
              "page /h/page");
main::warm("/", "/h/page", "/cart", "/buy");
for my $id ("a6", "b6") {
    main::get("/", 1000, $id);
    main::get("/cart", 2000, $id);
    main::get("/buy", 3000, $id);
    main::get("/", 4000, $id);
}
my ($h) = main::get("/h/page", 5000, "a6");
my (undef, $b) = main::get("/s/page", 5000, "b6");
Test::More::like($h->{"x-cx-next"}, qr{^/,}, "the header has home first: "
                 . $h->{"x-cx-next"});
Test::More::is($b, "HIT|" . join(" ", split /,\s*/, $h->{"x-cx-next"})
                   . "\n", "the page has the same: $b");
--- request
GET /block
--- response_body chomp
6



=== TEST 7: the dashboard's requests by status name each the JSON counts
Each status of the JSON's "requests" has its part of the dashboard's bar
and its total: "unasked", most steps of a shop that shows nothing, too.
--- config
    location / { return 200 "ok\n"; }
--- init
my @json = sort keys %{ main::metrics()->{requests} };
my (undef, undef, $html) = CxTest::http_get(main::port(), "/metrics?format=html");
my ($list) = $html =~ /var STATUS = \[(.*?)\];/s;
my @html = sort $list =~ /\['(\w+)',/g;
Test::More::cmp_ok(scalar(@json), '>=', 6, "the JSON's statuses: @json");
Test::More::is("@html", "@json", "the dashboard's");
--- request
GET /block
--- response_body chomp
7



=== TEST 8: a map that names $cx_next, used nowhere: every step answered
A page that SSI shows the answer of offers it with the response header
when the configuration names a variable of the answer (README,
Variables): a map of http{} is enough, as a log_format is.
--- http_config
    map $cx_next $cx_named { default 1; }
--- config
    location /s/ {
        alias $TEST_NGINX_HTML_DIR/;
        default_type text/html;
        ssi on;
    }
    location / { return 200 "ok\n"; }
--- init
open my $out, '>', "$ENV{TEST_NGINX_HTML_DIR}/page" or die $!;
print $out qq{<!--# echo var="cx_next" -->\n};
close $out;
my ($m0, $m1) = main::visit("u8", "/s/page");
Test::More::is($m1->{requests}{unasked} - $m0->{requests}{unasked}, 0,
               "none unasked");
Test::More::is($m1->{requests}{hit} - $m0->{requests}{hit}, 2,
               "both answered");
Test::More::like(main::offer("u8"), qr/^[0-9a-f]{8}/,
                 "the last step offered its list");
Test::More::is($m1->{variants}{treatment}{offered}
               - $m0->{variants}{treatment}{offered}, 2,
               "page counts home's offer, cart page's");
--- request
GET /block
--- response_body chomp
8



=== TEST 9: $cx_item_url read by name outside a template asks nothing
Outside cx_inject_item_template the $cx_item_* are empty: read there
(SSI's echo), they make no answer, and the step stays unasked, nothing
counted as served.
--- config
    location /s/ {
        alias $TEST_NGINX_HTML_DIR/;
        default_type text/html;
        ssi on;
    }
    location / { return 200 "ok\n"; }
--- init
open my $out, '>', "$ENV{TEST_NGINX_HTML_DIR}/page" or die $!;
print $out qq{<!--# echo var="cx_item_url" default="" -->.\n};
close $out;
my ($m0, $m1) = main::visit("u9", "/s/page");
Test::More::is($m1->{requests}{unasked} - $m0->{requests}{unasked}, 2,
               "both unasked");
Test::More::is(CxTest::moved($m0, $m1, "suggestions_served"), 0,
               "nothing served");
--- request
GET /block
--- response_body chomp
9
