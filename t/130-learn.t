# Issue 8: the model learns only from what customers really did, and no
# one client can steer what everyone else is offered.
#
# A step is recorded once its response is known: a final 2xx (or 304),
# or a 3xx answering a POST, to a GET or POST that is not a prefetch,
# prerender or preview, and that no cx_skip condition excludes.  A page
# fetched ahead and then opened is recorded from the next request's
# Referer.  What one customer teaches everyone is capped; successor lists
# keep room for newcomers; every url served is the configuration's; a
# response with suggestions is private.
#
# This file starts a redis-server of its own.  Blocks that look at the
# weights send the event time in X-CX-Time (cx_time): at T0, the start of
# a decay epoch (cx_half_life 1h, epochs of 32 h), a credit weighs its
# factor exactly.

use Test::Nginx::Socket;
use lib 't/cx';
use CxTest;
use POSIX ();

our $Redis = CxTest::start_redis();

$ENV{TEST_NGINX_CX_REDIS_PORT} = $Redis->{port};

# a decay epoch's first millisecond: 15000 epochs of 32 hours
our $T0 = 15000 * 32 * 3600 * 1000;

repeat_each(1);

# one worker, one connection to Redis: what a request wrote is in Redis
# before the next request's batch is answered (main::sync)
workers(1);

plan tests => CxTest::planned(qr/Test::More::(?!diag)\w+\(|main::level\(/, 1);

no_shuffle();
no_root_location();

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("http_config", <<'_EOC_');
    cx_redis 127.0.0.1:$TEST_NGINX_CX_REDIS_PORT;
    cx_timeout 10s;
    cx_secret k130-0123456789abcdef;
    cx_prefix t130:;
    cx_rule_reverse 0;
    cx_rule_distance 3;
    cx_half_life 1h;
    map $http_user_agent $cx_bot {
        ~*bot    1;
        default  0;
    }
_EOC_

    $block->set_value("config", <<'_EOC_' . ($block->config // ''));
    cx on;
    cx_header on;
    cx_suggest 5;
    cx_pace hurried=0 relaxed=1h;
    cx_time $http_x_cx_time;
    cx_skip $cx_bot;
    cx_step home /;
    cx_step search /search;
    cx_step cart /cart;
    cx_step checkout /checkout;
    cx_step away /away;
    cx_step redir /redir;
    cx_step page /page.html;
    cx_step item:$1 ~^/item/(.+)$;
    cx_step gone:$1 ~^/gone/(\d+)$;
    cx_goal checkout;
    location / {
        return 200 "step=$cx_step status=$cx_status next=$cx_next\n";
    }
    location /gone/ {
        return 404;
    }
    location = /away {
        return 302 /;
    }
    location = /redir {
        try_files /nonexistent @nolearn;
    }
    location @nolearn {
        cx_skip 1;
        return 200 "step=$cx_step\n";
    }
    location = /checkout {
        if ($request_method = POST) {
            return 303 /thanks;
        }
        return 200 "step=$cx_step status=$cx_status next=$cx_next\n";
    }
    location = /cx/next {
        cx_api;
    }
_EOC_

    $block->set_value("init", <<'_EOC_' . ($block->init // ''));
CxTest::clear($main::Redis->{port}, "t130:");
_EOC_

    CxTest::quiet($block);
});

# customers walk: [id, uri, ...]; a uri may be "METHOD uri", and a
# hash of headers may come first
sub main::walk {
    my $port = Test::Nginx::Socket::server_port();
    my $h = ref $_[0] eq 'HASH' ? shift : {};
    for my $j (@_) {
        my ($id, @uris) = @$j;
        for my $u (@uris) {
            my ($m, $uri) = $u =~ /^(GET|HEAD|POST) (.*)$/ ? ($1, $2)
                                                          : ("GET", $u);
            CxTest::http_request($port, $m, $uri,
                                 { %$h, Cookie => "cx_id=$id" });
        }
    }
}

# what the requests before wrote is in Redis once this is answered
sub main::sync {
    CxTest::http_get(Test::Nginx::Socket::server_port(), "/cx/next?uri=/",
                     { Cookie => "cx_id=sync" });
}

# the customer's level, as the JSON endpoint tells it
sub main::level {
    my ($id, $level, $what) = @_;
    main::sync();
    my (undef, undef, $body) = CxTest::http_get(
        Test::Nginx::Socket::server_port(), "/cx/next?uri=/",
        { Cookie => "cx_id=$id" });
    Test::More::like($body, qr/"level":"$level"/, $what);
}

sub main::score {
    my ($key, $member) = @_;
    main::sync();
    return CxTest::redis($main::Redis->{port}, "ZSCORE", "t130:$key",
                         $member) // "none";
}

run_tests();

__DATA__

=== TEST 1: prefetches, prerenders and previews are not steps
A customer at the cart whose browser prefetches the checkout (the goal)
six ways, and whose next pages name a "checkout" of another site and of
this one as their Referer, has bought nothing: still a new customer.
--- init
main::walk(["pf", "/cart"]);
for my $h ("Sec-Purpose: prefetch", "Sec-Purpose: prefetch;prerender",
           "Purpose: prefetch", "X-Purpose: preview", "X-Moz: prefetch",
           "X-Sec-Purpose: prefetch") {
    my ($k, $v) = split /: /, $h;
    main::walk({ $k => $v }, ["pf", "/checkout"]);
}
main::walk({ Referer => "http://evil.example/checkout" }, ["pf", "/cart"]);
main::walk({ Referer => "http://localhost/checkout" }, ["pf", "/cart"]);
--- request
GET /cx/next?uri=/cart
--- more_headers
Cookie: cx_id=pf
--- response_body_like chomp
"level":"new"
--- no_error_log
[error]



=== TEST 2: a prefetched page then opened is the customer's step, from the next Referer
The browser showed the prefetched item without a request; the next page's
Referer names it: it is recorded before that page, for the customer alone
(a Referer is the client's word: it teaches no one).  Tabs opened from one
page name a step already in the journey: nothing is added.
--- init
main::walk(["po", "/search"]);
main::walk({ "Sec-Purpose" => "prefetch" }, ["po", "/item/seen"]);
main::walk({ Referer => "http://localhost/item/seen?x=1" }, ["po", "/cart"]);
main::walk({ Referer => "http://localhost/search" }, ["po", "/item/tab"]);
main::sync();
my ($base) = CxTest::customers($main::Redis->{port}, "t130:{");
my @seq = CxTest::steps($main::Redis->{port}, $base);
Test::More::is("@seq", "item:tab /item/tab cart /cart item:seen /item/seen "
                       . "search /search",
               "the opened page is a step, before the next one");
--- request
GET /search
--- more_headers
Cookie: cx_id=newbie
--- response_body
step=search status=HIT next=/cart /item/tab
--- no_error_log
[error]



=== TEST 3: a 404 and a HEAD teach nothing
--- init
main::walk(map { ["g$_", "/search", "/gone/7"] } 1 .. 3);
main::walk(map { ["h$_", "/search", "HEAD /item/head"] } 1 .. 3);
main::walk(["r1", "/search", "/item/real"]);
--- request
GET /search
--- more_headers
Cookie: cx_id=newbie
--- response_body
step=search status=HIT next=/item/real
--- no_error_log
[error]



=== TEST 4: a POST answered 303 is a step, a GET answered 302 is not
--- init
main::walk(["buyer", "/cart", "POST /checkout"]);
main::walk(map { ["b$_", "/cart", "/away"] } 1 .. 3);
main::level("buyer", "returning", "the POST to the goal is counted");
--- request
GET /cart
--- more_headers
Cookie: cx_id=newbie
--- response_body
step=cart status=HIT next=/checkout
--- no_error_log
[error]



=== TEST 5: cx_skip: crawlers are served, not learned from
Also when the location that answers, after an internal redirect, says so.
--- init
main::walk({ "User-Agent" => "Mozilla/5.0 (compatible; Googlebot/2.1)" },
           map { ["bot$_", "/search", "/item/bot"] } 1 .. 3);
main::walk(map { ["redir$_", "/search", "/redir"] } 1 .. 3);
main::walk(["r1", "/search", "/item/real"]);
my (undef, undef, $body) = CxTest::http_get(
    Test::Nginx::Socket::server_port(), "/search",
    { Cookie => "cx_id=bot1", "User-Agent" => "Googlebot" });
Test::More::is($body, "step=search status=HIT next=/item/real\n",
               "a crawler is served the suggestions");
--- request
GET /search
--- more_headers
Cookie: cx_id=newbie
--- response_body
step=search status=HIT next=/item/real
--- no_error_log
[error]



=== TEST 6: one client cannot steer everyone; an honest new favourite rises
30 customers go from the search to /item/good.  One client then sends
4000 requests alternating /search and /item/buy-from-evil-example: it
teaches that transition once.  Then 40 customers choose another item:
it becomes the first suggestion.
--- init
main::walk(map { ["honest$_", "/search", "/item/good"] } 1 .. 30);
my $seen = CxTest::http_bulk(Test::Nginx::Socket::server_port(), 4000,
                             ["/search", "/item/buy-from-evil-example"],
                             { Cookie => "cx_id=evil" });
Test::More::is($seen->{200}, 4000, "the 4000 requests are answered");
main::sync();
my (undef, undef, $top) = CxTest::http_get(
    Test::Nginx::Socket::server_port(), "/search", { Cookie => "cx_id=look" });
Test::More::like($top, qr{next=/item/good }, "the honest favourite leads");
main::walk(map { ["later$_", "/search", "/item/new-favourite"] } 1 .. 40);
--- request
GET /search
--- more_headers
Cookie: cx_id=newbie
--- response_body_like chomp
^step=search status=HIT next=/item/new-favourite /item/good /item/buy-from-evil-example
--- no_error_log
[error]



=== TEST 7: a step full of junk successors still admits a new one
97 junk successors of the home page, each worth five credits, beside
three real ones worth 1.5 each: 30 customers going to a new product
make it the first suggestion.
--- init
my $t = $main::T0;
main::walk({ "X-CX-Time" => $t },
           map { my $c = $_; map { ["r$c$_", "/", $_] }
                                 qw(/cart /search /checkout) } 1 .. 3);
CxTest::redis($main::Redis->{port}, "ZADD", "t130:t:{home}:15000",
              map { (5, "item:junk$_ /item/junk$_") } 1 .. 97);
main::walk({ "X-CX-Time" => $t },
           map { ["n$_", "/", "/item/new-product"] } 1 .. 30);
Test::More::is(main::score("t:{home}:15000",
                           "item:new-product /item/new-product"),
               15, "the newcomer has its 30 credits");
--- request
GET /
--- more_headers
Cookie: cx_id=newbie
X-CX-Time: 1728000000000
--- response_body_like chomp
^step=home status=HIT next=/item/new-product /item/junk
--- no_error_log
[error]



=== TEST 8: escaped captures are suggested as they were walked
--- init
main::walk(map { ["e$_", "/search", "/item/caf%C3%A9"] } 1 .. 3);
main::walk(map { ["s$_", "/search", "/item/red%20shoes"] } 1 .. 2);
main::walk(["c1", "/search", "/item/a,b"]);
--- request
GET /search
--- more_headers
Cookie: cx_id=newbie
--- response_body
step=search status=HIT next=/item/caf%C3%A9 /item/red%20shoes /item/a%2Cb
--- response_headers
X-CX-Next: /item/caf%C3%A9, /item/red%20shoes, /item/a%2Cb
--- no_error_log
[error]



=== TEST 9: what Redis holds never points elsewhere
Members planted in the search step's successors: an exact step with
another url, regex steps with a url of another host, a comma, or an
escape their path would not have: only the cart is suggested, at its own
url.
--- config
    cx_prefetch on;
--- init
main::walk(["r1", "/search", "/cart"]);
main::sync();
my ($key) = CxTest::keys_of($main::Redis->{port}, "t130:t:{search}:");
CxTest::redis($main::Redis->{port}, "ZADD", $key,
              1e12, "cart //evil.example/x",
              1e12, "item:1 //evil.example/item/1",
              1e12, "item:x /item/x,javascript:location=name",
              1e12, "item:x%2Cjavascript:location=name /item/x,javascript:location=name",
              1e12, "item:2 /item/%32");
--- request
GET /search
--- more_headers
Cookie: cx_id=newbie
--- response_body
step=search status=HIT next=/cart
--- response_headers
X-CX-Next: /cart
Link: </cart>; rel=prefetch
--- no_error_log
[error]



=== TEST 10: a page with suggestions is private, never a stale 304
--- config
    location = /page.html {
        root html;
        cx_inject on;
        expires 1h;
        if_modified_since before;
    }
--- user_files
>>> page.html
<html><body>page</body></html>
--- init
main::walk(map { ["p$_", "/page.html", "/cart"] } 1 .. 3);
--- request
GET /page.html
--- more_headers
Cookie: cx_id=newbie
If-Modified-Since: Thu, 31 Dec 2099 00:00:00 GMT
--- response_body_like chomp
<nav class="cx-next".*href="/cart"
--- response_headers
Cache-Control: private
X-CX-Next: /cart
!Last-Modified
!ETag
!Expires
--- no_error_log
[error]



=== TEST 11: what one customer teaches everyone is capped
At T0 a credit weighs its factor: 1/2 for a customer without a goal, 1
after one; a step named by the Referer teaches no one; a rule taught
again in a journey adds nothing, a customer's second time along a
transition half.
--- init
my $k = "t:{search}:15000";
my $m = "item:1 /item/1";
my $t = { "X-CX-Time" => $main::T0 };
main::walk($t, ["a", "/search", "/item/1"]);
Test::More::is(main::score($k, $m), 0.5, "a customer without a goal: 1/2");
main::walk($t, ["b", "/checkout", "/search", "/item/1"]);
Test::More::is(main::score($k, $m), 1.5, "after a goal: 1");
main::walk({ %$t, Referer => "http://localhost/search" }, ["c", "/item/1"]);
Test::More::is(main::score($k, $m), 1.5, "from a Referer's step: nothing");
main::walk($t, ["d", "/search", "/item/1", "/search", "/item/1",
                "/search", "/item/1"]);
Test::More::is(main::score($k, $m), 2, "again in a journey: nothing");
main::walk($t, ["b", "/checkout", "/search", "/item/1"]);
Test::More::is(main::score($k, $m), 2.5, "a second time: 1/2");
--- request
GET /search
--- more_headers
Cookie: cx_id=newbie
X-CX-Time: 1728000000000
--- response_body
step=search status=HIT next=/item/1 /checkout
--- no_error_log
[error]



=== TEST 12: a customer teaches 20 steps at once, then one per 3 s of all sent
Redis counts every step a customer sends (HINCRBY), so requests in
parallel never share a count: of 40 steps at once, 20 teach; the 41st, 3
s later, does not; the 42nd does, 22 x 3 s later.
--- init
my $t = $main::T0;
main::walk({ "X-CX-Time" => $t }, ["fast", map { "/item/r$_" } 1 .. 40]);
main::sync();
my @rules = CxTest::keys_of($main::Redis->{port}, "t130:t:{item:r");
Test::More::is(scalar @rules, 19, "20 steps learned: 19 rules");
main::walk({ "X-CX-Time" => $t + 3000 }, ["fast", "/item/r41"]);
main::walk({ "X-CX-Time" => $t + 66000 }, ["fast", "/item/r42"]);
main::sync();
@rules = CxTest::keys_of($main::Redis->{port}, "t130:t:{item:r");
Test::More::is(scalar @rules, 22,
               "66 s later, one more: its rules from the 3 steps before");
--- request
GET /item/r1
--- more_headers
Cookie: cx_id=newbie
X-CX-Time: 1728000000000
--- response_body
step=item:r1 status=HIT next=/item/r2 /item/r3 /item/r4
--- no_error_log
[error]



=== TEST 13: 200 requests of one id at once teach at most the 20 the rate allows
Each request decides from what it read; Redis's count of the steps sent
is what stops requests in parallel.
--- init
my $port = Test::Nginx::Socket::server_port();
my $t = { "X-CX-Time" => $main::T0 };
main::walk($t, ["par", "/search"]);
main::sync();
my @kids;
for my $c (1 .. 10) {
    my $pid = fork();
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        CxTest::http_get($port, "/item/3",
                         { %$t, Cookie => "cx_id=par" }) for 1 .. 20;
        POSIX::_exit(0);
    }
    push @kids, $pid;
}
waitpid($_, 0) for @kids;
my $score = main::score("t:{search}:15000", "item:3 /item/3");
Test::More::cmp_ok($score, '<=', 10, "at most 20 credits of 1/2: $score");
--- request
GET /search
--- more_headers
Cookie: cx_id=newbie
X-CX-Time: 1728000000000
--- response_body
step=search status=HIT next=/item/3
--- no_error_log
[error]



=== TEST 14: X-CX-Next alone makes the response private, without validators
--- config
    location = /page.html {
        root html;
        expires 1h;
    }
--- user_files
>>> page.html
<html><body>page</body></html>
--- init
main::walk(map { ["p$_", "/page.html", "/cart"] } 1 .. 3);
--- request
GET /page.html
--- more_headers
Cookie: cx_id=newbie
If-Modified-Since: Thu, 31 Dec 2099 00:00:00 GMT
--- response_body
<html><body>page</body></html>
--- response_headers
Cache-Control: private
X-CX-Next: /cart
!Last-Modified
!ETag
!Expires
--- no_error_log
[error]
