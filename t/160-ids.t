# Issue 9: several id sources, and the anonymous history follows the
# customer into their account.
#
# cx_id takes several values, the first that is not empty wins, and the
# cookie named by cx_cookie is always the last source.  A request whose
# id came from another source (a login) and that carries the cookie of
# an anonymous visit merges that visit's history into the login's keys,
# once, after the response.
#
# This file starts a redis-server of its own (the last block pauses it),
# and runs one worker: what a request wrote is in Redis once a later
# request of the worker is answered (main::sync); a merge takes three
# round trips after its request (main::settle).

use Test::Nginx::Socket;
use lib 't/cx';
use CxTest;
use POSIX ();
use Time::HiRes qw(sleep time);

our $Redis = CxTest::start_redis();

$ENV{TEST_NGINX_CX_REDIS_PORT} = $Redis->{port};

repeat_each(1);

workers(1);

plan tests => CxTest::planned(qr/Test::More::(?!diag)\w+\(/, 1);

no_shuffle();
no_root_location();

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("http_config", $block->http_config // <<'_EOC_');
    cx_redis 127.0.0.1:$TEST_NGINX_CX_REDIS_PORT;
    cx_timeout 10s;
    cx_secret k160-0123456789abcdef;
    cx_prefix t160:;
_EOC_

    $block->set_value("config", <<'_EOC_' . ($block->config // ''));
    cx on;
    cx_header on;
    cx_step home /;
    cx_step search /search;
    cx_step cart /cart;
    cx_step checkout /checkout;
    cx_step item:$1 ~^/item/(\d+)$;
    cx_goal checkout;
    location / {
        return 200 "level=$cx_level status=$cx_status\n";
    }
    location = /cx/next {
        cx_api;
    }
_EOC_

    $block->set_value("init", <<'_EOC_' . ($block->init // ''));
CxTest::clear($main::Redis->{port}, "t160:");
_EOC_

    CxTest::quiet($block);
});

sub main::get {
    my ($uri, $h) = @_;
    return CxTest::http_get(Test::Nginx::Socket::server_port(), $uri, $h);
}

sub main::r { CxTest::redis($main::Redis->{port}, @_) }

# a customer's recent steps, newest first, from their hash
sub main::seq { join " ", CxTest::steps($main::Redis->{port}, $_[0]) }

# how often the customer made the transition "from name url" (undef: never)
sub main::habit { CxTest::habit($main::Redis->{port}, @_) }

# the key bases "P{H}" of the customers with a step
sub main::customers { CxTest::customers($main::Redis->{port}, "t160:{") }

# what a key holds, whatever its type
sub main::held {
    my $k = shift;
    my $type = main::r("TYPE", $k);
    return $type eq "list" ? main::r("LRANGE", $k, 0, -1)
         : $type eq "hash" ? main::r("HGETALL", $k)
         : $type eq "zset" ? main::r("ZRANGE", $k, 0, -1, "WITHSCORES")
         : main::r("GET", $k);
}

# what the requests before wrote is in Redis once this is answered
sub main::sync { main::get("/cx/next?uri=/", { Cookie => "cx_id=sync" }) }

# and a merge: its claim, its reads, its writes
sub main::settle { main::sync() for 1 .. 3 }

# polls until the check holds, at most 10 s; true if it did
sub main::until {
    my $check = shift;
    my $deadline = time + 10;
    while (time < $deadline) {
        return 1 if $check->();
        sleep 0.02;
    }
    return $check->();
}

# the key base "P{H}" of the customer whose first step the request is
sub main::base_of {
    my ($uri, $h) = @_;
    my %before = map { $_ => 1 } main::customers();
    main::get($uri, $h);
    my @new;
    main::until(sub {
        @new = grep { !$before{$_} } main::customers();
        return @new;
    });
    die "no single new customer after $uri: @new" unless @new == 1;
    return $new[0];
}

# a customer who bought once, known by the cookie "buyer"
sub main::buyer {
    main::get($_, { Cookie => "cx_id=buyer" }) for "/cart", "/checkout";
    main::sync();
}

run_tests();

__DATA__

=== TEST 1: several sources: the first with an id wins
--- config
    cx_id $http_x_customer_id $cookie_cx_id;
--- init
main::get($_, { "X-Customer-Id" => "buyer" }) for "/cart", "/checkout";
main::sync();
--- request
GET /
--- more_headers
X-Customer-Id: buyer
Cookie: cx_id=somebody
--- response_body_like chomp
^level=returning status=(HIT|MISS)$



=== TEST 2: several sources: without the header, the next one
--- config
    cx_id $http_x_customer_id $cookie_cx_id;
--- init
main::buyer();
--- request
GET /
--- more_headers
Cookie: cx_id=buyer
--- response_body_like chomp
^level=returning status=(HIT|MISS)$



=== TEST 3: several sources: an empty header counts as none
--- config
    cx_id $http_x_customer_id $cookie_cx_id;
--- init
main::buyer();
--- request
GET /
--- more_headers
X-Customer-Id:
Cookie: cx_id=buyer
--- response_body_like chomp
^level=returning status=(HIT|MISS)$



=== TEST 4: cx_id naming a header reads the cx_cookie back, and issues none to its visitor
A visitor with neither still gets a cookie.
--- config
    cx_id $http_x_customer_id;
    cx_cookie cx_id;
--- init
main::buyer();
my (undef, $h) = main::get("/", {});
Test::More::like($h->{"set-cookie"} // "", qr/^cx_id=[0-9a-f]{32}; Path=\//,
                 "a visitor without an id gets a cookie");
--- request
GET /
--- more_headers
Cookie: cx_id=buyer
--- response_headers
!Set-Cookie
--- response_body_like chomp
^level=returning status=(HIT|MISS)$



=== TEST 5: an id past 256 bytes counts as none: the cookie wins
--- config
    cx_id $http_x_customer_id;
    cx_cookie cx_id;
--- init
main::buyer();
--- request
GET /
--- more_headers eval
"X-Customer-Id: " . ("x" x 300) . "\nCookie: cx_id=buyer"
--- response_headers
!Set-Cookie
--- response_body_like chomp
^level=returning status=(HIT|MISS)$



=== TEST 6: the anonymous history follows the customer into their account, once
alice walked on another device; on this one, a guest bought item 1, then
looked at item 2; alice logs in at the cart.  Her recent steps get the
visit's after her own (as older ones), her transitions the visit's
added up, her state its purchase and path; the visit's keys are deleted
and the shared model is not taught again.  Her next request with both
ids merges nothing; steps of the same cookie logged out are merged only
once the claim's hour is over.
--- config
    cx_id $http_x_customer_id;
    cx_cookie cx_id;
--- init
my $rp = $main::Redis->{port};
my $alice = { "X-Customer-Id" => "alice" };
my $guest = { Cookie => "cx_id=anon1" };
my $both = { %$alice, %$guest };
my $a = main::base_of("/search", $alice);
main::get("/item/1", $alice);
my $n = main::base_of("/search", $guest);
main::get($_, $guest) for "/item/1", "/checkout", "/search", "/item/2";
main::sync();
my ($rules) = CxTest::keys_of($rp, "t160:t:{search}:");
my $taught = main::r("ZSCORE", $rules, "item:2 /item/2");
my (undef, $h, $body) = main::get("/cart", $both);
Test::More::is(($h->{"set-cookie"} // "") . $body,
               "level=new status=" . $h->{"x-cx-status"} . "\n",
               "the login's page is alice's as it was, with no cookie");
my $want = "cart /cart item:1 /item/1 search /search item:2 /item/2 "
           . "search /search checkout /checkout item:1 /item/1 search /search";
Test::More::ok(main::until(sub {
                   main::seq($a) eq $want
                   && (main::r("HGET", "$a:s", "goals") // "") eq "1" }),
               "the visit's steps follow hers, as older ones");
Test::More::is(main::habit($a, "search item:1 /item/1"), 2,
               "a transition of both is added up");
Test::More::is(main::habit($a, "search item:2 /item/2"), 1,
               "one of the visit's is hers");
Test::More::is(join("|", main::r("LRANGE", "$a:g", 0, -1)),
               "search /search|item:1 /item/1|checkout /checkout",
               "and the visit's path to the goal");
my (undef, undef, $json) = main::get("/cx/next?uri=/", $alice);
Test::More::like($json, qr/"level":"returning"/,
                 "the guest purchase makes her a returning customer");
Test::More::is(join(" ", grep { index($_, "$n:") == 0 }
                         CxTest::keys_of($main::Redis->{port}, "t160:{")),
               "$n:m", "the visit's keys are deleted, its claim left");
my $hold = main::r("TTL", "$n:m");
Test::More::ok($hold > 0 && $hold <= 3600, "its claim holds an hour: $hold");
Test::More::is(main::r("ZSCORE", $rules, "item:2 /item/2"), $taught,
               "the shared model is not taught again");
main::get("/cart", $both);
main::settle();
Test::More::is(main::seq($a), "cart /cart $want",
               "a second request with both ids adds its step only");
Test::More::is(main::habit($a, "search item:1 /item/1") . " "
               . main::r("HGET", "$a:s", "goals"), "2 1",
               "and counts nothing again");
main::get("/item/3", $guest);
main::get("/cart", $both);
main::settle();
Test::More::is(main::seq($n) . " | " . main::seq($a),
               "item:3 /item/3 | cart /cart cart /cart $want",
               "steps logged out are not merged within the hour");
main::r("DEL", "$n:m");
main::get("/cart", $both);
Test::More::ok(main::until(sub {
                   main::seq($a) eq "cart /cart cart /cart cart /cart $want "
                                    . "item:3 /item/3"
                   && !main::r("EXISTS", "$n:s") }),
               "and are after it");
--- request
GET /cx/next?uri=/cart
--- more_headers
X-Customer-Id: alice
Cookie: cx_id=anon1
--- response_body_like chomp
"level":"returning"



=== TEST 7: requests with both ids at once merge once
Ten at once on the worker's connection: the visit is taken once, and its
steps follow bea's once at most (of her ten steps at once, the hash
keeps those the last write knew, which may not be the merge's); then one
that finds the visit claimed by another connection (another worker's
merge) leaves it alone.
--- config
    cx_id $http_x_customer_id;
    cx_cookie cx_id;
--- init
my $port = Test::Nginx::Socket::server_port();
my $guest = { Cookie => "cx_id=anon7" };
my $n = main::base_of("/item/7", $guest);
main::get("/item/8", $guest);
main::sync();
my %before = map { $_ => 1 } main::customers();
my @kids;
for my $c (1 .. 10) {
    my $pid = fork();
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        CxTest::http_get($port, "/cart",
                         { %$guest, "X-Customer-Id" => "bea" });
        POSIX::_exit(0);
    }
    push @kids, $pid;
}
waitpid($_, 0) for @kids;
my $a;
main::until(sub { ($a) = grep { !$before{$_} } main::customers(); $a });
# the merge ran: the visit's hash is gone
Test::More::ok(main::until(sub { !main::r("EXISTS", "$n:s") }),
               "the visit is taken");
main::settle();
my $visit = "item:8 /item/8 item:7 /item/7";
my $want = main::seq($a);
# a step of hers that read her hash before the merge wrote it, and
# recorded after it, writes back what it read: the visit's steps may be
# gone again, never there twice
Test::More::like($want, qr{^(?:cart /cart(?: |$))+(?:\Q$visit\E)?$},
                 "her steps, then the visit's, at most once: $want");
Test::More::cmp_ok(main::habit($a, "item:7 item:8 /item/8") // 0, "<=", 1,
                   "the visit's transition counted once at most");
my $m = main::base_of("/item/5", { Cookie => "cx_id=anon7b" });
Test::More::is(main::r("SET", "$m:m", 1, "NX", "EX", 3600), "OK",
               "another connection claims the next visit");
main::get("/cart", { Cookie => "cx_id=anon7b", "X-Customer-Id" => "bea" });
main::settle();
Test::More::is(main::seq($m) . " | " . main::seq($a),
               "item:5 /item/5 | cart /cart $want",
               "this request does not merge it");
--- request
GET /
--- more_headers
X-Customer-Id: bea
--- response_body_like chomp
^level=new status=(HIT|MISS)$



=== TEST 8: a login without an anonymous history
bob's step is recorded as any; the cookie's claim is all that is left of
the visit, for an hour.
--- config
    cx_id $http_x_customer_id;
    cx_cookie cx_id;
--- init
main::get("/cart", { "X-Customer-Id" => "bob", Cookie => "cx_id=fresh" });
main::settle();
my @keys = CxTest::keys_of($main::Redis->{port}, "t160:{");
my ($b) = main::customers();
my @other = grep { index($_, $b) != 0 } @keys;
Test::More::is(join(" ", map { s/^\Q$b\E//r } grep { index($_, $b) == 0 }
                         @keys),
               ":s", "bob has his hash");
Test::More::is(main::seq($b) . " " . main::r("HGET", "$b:s", "jlen") . " "
               . main::r("HGET", "$b:s", "goals"), "cart /cart 1 0",
               "with his step alone");
my $hold = @other == 1 && $other[0] =~ /:m$/ ? main::r("TTL", $other[0]) : 0;
Test::More::ok($hold > 0 && $hold <= 3600,
               "the visit left its claim only: @other, $hold s");
--- request
GET /cart
--- more_headers
X-Customer-Id: bob
Cookie: cx_id=fresh
--- response_headers
!Set-Cookie
--- response_body_like chomp
^level=new status=(HIT|MISS)$



=== TEST 9: hostile ids are merged as any, and only ever hashed
--- config
    cx_id $http_x_customer_id;
    cx_cookie cx_id;
--- init
my $login = q{<svg onload=alert(1)>{t160:x}:seq "' %00 \\};
my $anon = q{anon%3C{z}:s<b>};
my $n = main::base_of("/search", { Cookie => "cx_id=$anon" });
main::get("/item/1", { Cookie => "cx_id=$anon" });
main::sync();
my $a = main::base_of("/cart", { "X-Customer-Id" => $login,
                                 Cookie => "cx_id=$anon" });
Test::More::ok(main::until(sub {
                   main::seq($a) eq "cart /cart item:1 /item/1 search /search"
               }), "the visit is merged");
main::settle();
my @keys = CxTest::keys_of($main::Redis->{port}, "t160:");
Test::More::is(join(" ", grep {
                   !/^t160:(\{[0-9a-f]{16}\}:(s|g|m)|t:\{[a-z:0-9]+\}:\d+)$/
               } @keys), "", "every key is a customer's hash or a step's");
Test::More::is(join(" ", grep { my $k = $_;
                                grep { /svg|onload|anon|<|\{[tz]/ }
                                main::held($k) } @keys),
               "", "no key holds a raw id");
--- request
GET /cart
--- more_headers
X-Customer-Id: <svg onload=alert(1)>
--- response_body_like chomp
^level=new status=(HIT|MISS)$



=== TEST 10: cx_id takes no empty source
--- config
    cx_id $http_x_customer_id "";
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid value "" in "cx_id" directive, it must not be empty in \S+nginx\.conf:\d+/



=== TEST 11: a cookie that names a login is no login
alice bought, logged in.  A client with no login and the cookie
"cx_id=alice" is a visitor of its own: it sees nothing of hers and writes
nothing into her keys; logged in as mallory with that cookie, it merges
a visit of that name, never alice's history.
--- config
    cx_id $http_x_customer_id;
    cx_cookie cx_id;
--- init
my $alice = { "X-Customer-Id" => "alice" };
my $a = main::base_of("/search", $alice);
main::get($_, $alice) for "/item/1", "/checkout";
main::sync();
my $want = "checkout /checkout item:1 /item/1 search /search";
Test::More::is(main::seq($a), $want, "alice's steps");
my $fake = { Cookie => "cx_id=alice" };
my (undef, undef, $json) = main::get("/cx/next?uri=/", $fake);
Test::More::like($json, qr/"level":"new"/,
                 "the cookie alice is not the returning alice");
my $n = main::base_of("/item/9", $fake);
Test::More::isnt($n, $a, "its steps go to keys of their own");
my $m = main::base_of("/cart", { %$fake, "X-Customer-Id" => "mallory" });
main::settle();
Test::More::is(main::seq($a) . " | " . main::r("HGET", "$a:s", "goals"),
               "$want | 1", "alice's keys are as they were");
Test::More::is(main::seq($m), "cart /cart item:9 /item/9",
               "mallory merged the cookie's own visit, nothing of alice's");
--- request
GET /cx/next?uri=/
--- more_headers
Cookie: cx_id=alice
--- response_body_like chomp
"level":"new"



=== TEST 12: the cookie listed among the sources is still the cookie
Listed first, "$cookie_cx_id" is read last as the visitor's cookie: the
login wins over it, and a cookie naming a login is no login.
--- config
    cx_id ${COOKIE_cx_id} $http_x_customer_id $cookie_cx_id;
    cx_cookie cx_id;
--- init
my $alice = { "X-Customer-Id" => "alice" };
my $a = main::base_of("/search", $alice);
main::get($_, $alice) for "/item/1", "/checkout";
main::sync();
my $n = main::base_of("/item/4", { Cookie => "cx_id=anon12" });
main::get("/cart", { %$alice, Cookie => "cx_id=anon12" });
Test::More::ok(main::until(sub {
                   main::seq($a) eq "cart /cart checkout /checkout "
                                    . "item:1 /item/1 search /search "
                                    . "item:4 /item/4" }),
               "the login wins over the listed cookie, and takes its visit");
--- request
GET /cx/next?uri=/
--- more_headers
Cookie: cx_id=alice
--- response_body_like chomp
"level":"new"



=== TEST 13: a cookie is a visitor's wherever it is listed
Any source that is a cookie alone, whatever its name and wherever
cx_cookie is set, is a visitor's id: the cookie "alice" is never the
login alice, and "cx_id $cookie_cx_id;" written out is the default.
--- config
    cx_id $http_x_customer_id $cookie_cx_id $cookie_sid;
    location /item/ {
        cx_cookie cx_id;
        return 200 "level=$cx_level status=$cx_status\n";
    }
    location = /cx/sid {
        cx_cookie sid;
        cx_api;
    }
    location = /cx/plain {
        cx_id $cookie_cx_id;
        cx_api;
    }
--- init
my $alice = { "X-Customer-Id" => "alice" };
main::get($_, $alice) for "/search", "/item/1", "/checkout";
main::buyer();
my %level;
for my $try (["/cx/next?uri=/", $alice],
             ["/cx/next?uri=/", { Cookie => "cx_id=alice" }],
             ["/cx/next?uri=/", { Cookie => "sid=alice" }],
             ["/cx/sid?uri=/", { Cookie => "sid=alice" }],
             ["/cx/sid?uri=/", { Cookie => "cx_id=alice" }],
             ["/item/2", { Cookie => "cx_id=alice" }],
             ["/cx/plain?uri=/", { Cookie => "cx_id=buyer" }],
             ["/cx/sid?uri=/", { Cookie => "sid=buyer" }]) {
    my (undef, undef, $body) = main::get(@$try);
    my ($level) = $body =~ /level"?[=:]"?(\w+)/;
    push @{ $level{$level // "?"} },
         $try->[0] . " " . join(";", values %{ $try->[1] });
}
Test::More::is(join(", ", @{ $level{returning} }),
               "/cx/next?uri=/ alice, /cx/plain?uri=/ cx_id=buyer, "
               . "/cx/sid?uri=/ sid=buyer",
               "alice by her login, the buyer by any cookie of his");
Test::More::is(scalar @{ $level{new} }, 5,
               "no cookie alice is the login alice");
--- request
GET /item/2
--- more_headers
Cookie: cx_id=alice
--- response_body_like chomp
^level=new status=(HIT|MISS)$



=== TEST 14: no cookie is forged to name a login, not even with the built-in key
Without cx_secret the key is public.  The eight bytes below hashed as the
login alice under XXH3, which mixes short ids invertibly: a client that
knew the key made a cookie for any login.  SipHash leaves no such way.
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_REDIS_PORT;
    cx_timeout 10s;
    cx_prefix t160:;
--- config
    cx_id $http_x_customer_id;
    cx_cookie cx_id;
--- init
my $alice = { "X-Customer-Id" => "alice" };
main::get($_, $alice) for "/search", "/item/1", "/checkout";
main::sync();
my (undef, undef, $json) = main::get("/cx/next?uri=/", $alice);
Test::More::like($json, qr/"level":"returning"/, "alice bought");
--- request
GET /cx/next?uri=/
--- more_headers eval
"Cookie: cx_id=\xCD\xF6\xC5\xBF\x54\xA0\x96\x9F"
--- response_body_like chomp
"level":"new"
--- error_log
no "cx_secret" is defined
--- no_error_log
[error]



=== TEST 15: a cookie that wins over the id cookie is no login: nothing merged
--- config
    cx_id $cookie_sess;
    cx_cookie cx_id;
--- init
my $n = main::base_of("/item/6", { Cookie => "cx_id=victimvisit" });
main::get("/cart", { Cookie => "sess=attacker; cx_id=victimvisit" });
main::settle();
Test::More::is(main::seq($n), "item:6 /item/6", "the visit keeps its steps");
--- request
GET /
--- more_headers
Cookie: sess=attacker; cx_id=victimvisit
--- response_body_like chomp
^level=new status=(HIT|MISS)$



=== TEST 16: a location's own cx_cookie reads the cookie its server's names
--- config
    cx_id $cookie_a $http_x_customer_id;
    cx_cookie a;
    location = /cx/b {
        cx_cookie b;
        cx_api;
    }
--- init
main::get($_, { Cookie => "a=buyer" }) for "/cart", "/checkout";
main::sync();
--- request
GET /cx/b?uri=/
--- more_headers
Cookie: a=buyer
--- response_body_like chomp
"level":"returning"



=== TEST 17: Redis gone with a merge in flight: the page is served, the merge comes later
Redis is paused when alice's login request comes: the page is served
within cx_timeout; the connection, silent with the merge's claim in
flight, is dropped.  The visit's history is where it was, and once the
claim's hour is over (its key deleted here) the next request with both
ids merges it.
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_REDIS_PORT;
    cx_timeout 50ms;
    cx_secret k160-0123456789abcdef;
    cx_prefix t160:;
--- config
    cx_id $http_x_customer_id;
    cx_cookie cx_id;
--- init
my $port = Test::Nginx::Socket::server_port();
my $log = Test::Nginx::Socket::server_root() . "/logs/error.log";
my $guest = { Cookie => "cx_id=anon11" };
my $both = { %$guest, "X-Customer-Id" => "carl" };
my $n = main::base_of("/search", $guest);
main::get("/item/1", $guest);
main::sync();
CxTest::pause_redis($main::Redis);
my ($status, undef, $body) = main::get("/cart", $both);
Test::More::like("$status $body", qr/^200 level=\S* status=TIMEOUT$/,
                 "the login's page is served within cx_timeout");
Test::More::ok(CxTest::wait_for_log($log, qr/without a reply .* reconnecting/,
                                    10),
               "the silent connection is dropped");
CxTest::resume_redis($main::Redis);
Test::More::like(CxTest::wait_status($port, "/", "sync"), qr/^(HIT|MISS)$/,
                 "Redis answers again");
Test::More::is(main::seq($n), "item:1 /item/1 search /search",
               "the visit's history is where it was");
main::r("DEL", "$n:m");
my $a = main::base_of("/cart", $both);
Test::More::ok(main::until(sub {
                   main::seq($a) eq "cart /cart item:1 /item/1 search /search"
               }), "the next request with both ids merges it");
--- request
GET /cart
--- more_headers
X-Customer-Id: carl
--- response_body_like chomp
^level=new status=(HIT|MISS)$
--- error_log
did not answer within cx_timeout



=== TEST 18: with cx_history over 16, the visit's whole history follows too
The hash keeps 16 recent steps, the login's then the visit's newest; the
list keeps all of them, the visit's after the login's.
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_REDIS_PORT;
    cx_timeout 10s;
    cx_secret k160-0123456789abcdef;
    cx_prefix t160:;
    cx_history 20;
--- config
    cx_id $http_x_customer_id;
    cx_cookie cx_id;
--- init
my $dan = { "X-Customer-Id" => "dan" };
my $guest = { Cookie => "cx_id=anon18" };
my $a = main::base_of("/search", $dan);
main::get("/item/1", $dan);
my $n = main::base_of("/item/101", $guest);
main::get("/item/$_", $guest) for 102 .. 115;
main::sync();
my @visit = map { "item:$_ /item/$_" } reverse 101 .. 115;
Test::More::is(join("|", main::r("LRANGE", "$n:seq", 0, -1)),
               join("|", @visit), "the visit's list holds its 15 steps");
main::get("/cart", { %$dan, %$guest });
my @dan = ("cart /cart", "item:1 /item/1", "search /search");
Test::More::ok(main::until(sub {
                   main::seq($a) eq join(" ", @dan, @visit[0 .. 12]) }),
               "the hash: hers, then the visit's newest, 16 in all");
main::settle();
Test::More::is(join("|", main::r("LRANGE", "$a:seq", 0, -1)),
               join("|", @dan, @visit), "the list: hers, then all the visit's");
Test::More::ok(main::r("TTL", "$a:seq") > 0, "the list expires");
Test::More::is(join(" ", grep { index($_, "$n:") == 0 }
                         CxTest::keys_of($main::Redis->{port}, "t160:{")),
               "$n:m", "the visit's keys are deleted, its list too");
--- request
GET /
--- more_headers
X-Customer-Id: dan
--- response_body_like chomp
^level=new status=(HIT|MISS)$



=== TEST 19: a short cx_history cuts the merged steps
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_REDIS_PORT;
    cx_timeout 10s;
    cx_secret k160-0123456789abcdef;
    cx_prefix t160:;
    cx_history 3;
--- config
    cx_id $http_x_customer_id;
    cx_cookie cx_id;
--- init
my $eve = { "X-Customer-Id" => "eve" };
my $guest = { Cookie => "cx_id=anon19" };
my $a = main::base_of("/search", $eve);
my $n = main::base_of("/item/7", $guest);
main::get("/item/8", $guest);
main::sync();
main::get("/cart", { %$eve, %$guest });
Test::More::ok(main::until(sub {
                   main::seq($a) eq "cart /cart search /search item:8 /item/8"
               }), "hers, then the visit's newest, cx_history in all");
main::settle();
Test::More::is(main::habit($a, "item:7 item:8 /item/8"), 1,
               "the visit's transition is hers");
Test::More::is(join(" ", grep { /:seq$/ }
                         CxTest::keys_of($main::Redis->{port}, "t160:{")),
               "", "no list");
--- request
GET /
--- more_headers
X-Customer-Id: eve
--- response_body_like chomp
^level=new status=(HIT|MISS)$



=== TEST 20: the transitions added up, the 64 heaviest kept, the others deleted
fay's hash holds 70 transitions of her own (the read keeps the 64
heaviest), the visit's 11, one of them hers too: of them all, the 64
heaviest are in her hash after the merge, and no other.
--- config
    cx_id $http_x_customer_id;
    cx_cookie cx_id;
--- init
my $fay = { "X-Customer-Id" => "fay" };
my $guest = { Cookie => "cx_id=anon20" };
my $a = main::base_of("/search", $fay);
my $n = main::base_of("/item/500", $guest);
my $t = sub { "home item:$_[0] /item/$_[0]" };
main::r("HSET", "$a:s", map { (">" . $t->($_), 10 * $_) } 1 .. 70);
main::r("HSET", "$n:s", map { (">" . $t->($_), $_ == 70 ? 5 : 1000) }
                        70 .. 80);
main::get("/cart", { %$fay, %$guest });
my %want = map { $t->($_) => $_ == 70 ? 705 : $_ > 70 ? 1000 : 10 * $_ }
           17 .. 80;
my $want = join ",", map { "$_=$want{$_}" } sort keys %want;
my $got;
Test::More::ok(main::until(sub {
                   my %h = main::r("HGETALL", "$a:s");
                   $got = join ",", map { substr($_, 1) . "=$h{$_}" }
                                    sort grep { /^>/ } keys %h;
                   return $got eq $want }),
               "the 64 heaviest, added up: $got");
--- request
GET /
--- more_headers
X-Customer-Id: fay
--- response_body_like chomp
^level=new status=(HIT|MISS)$



=== TEST 21: a transition of the visit's that the login's read left beyond the 64 is kept
gil's hash holds 70 transitions of his own (the read keeps the 64
heaviest, the 6 lightest are to delete), the visit one of those 6, made
1000 times: the merge writes it, and does not delete it after.  The
merging request is a step not taken (a 404), so that no step of gil's
trims his hash before the merge reads it.
--- config
    cx_id $http_x_customer_id;
    cx_cookie cx_id;
    location = /checkout {
        return 404;
    }
--- init
my $gil = { "X-Customer-Id" => "gil" };
my $guest = { Cookie => "cx_id=anon21" };
my $a = main::base_of("/search", $gil);
my $n = main::base_of("/item/500", $guest);
my $t = sub { "home item:$_[0] /item/$_[0]" };
main::r("HSET", "$a:s", map { (">" . $t->($_), 10 * $_) } 1 .. 70);
main::r("HSET", "$n:s", ">" . $t->(1), 1000);
main::get("/checkout", { %$gil, %$guest });
my %want = map { $t->($_) => $_ == 1 ? 1000 : 10 * $_ } 1, 8 .. 70;
my $want = join ",", map { "$_=$want{$_}" } sort keys %want;
my $got;
Test::More::ok(main::until(sub {
                   return 0 if main::r("EXISTS", "$n:s");
                   my %h = main::r("HGETALL", "$a:s");
                   $got = join ",", map { substr($_, 1) . "=$h{$_}" }
                                    sort grep { /^>/ } keys %h;
                   return $got eq $want }),
               "the visit's heavy transition kept: $got");
--- request
GET /
--- more_headers
X-Customer-Id: gil
--- response_body_like chomp
^level=new status=(HIT|MISS)$
