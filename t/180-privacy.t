# Issue 10: the privacy switches.
#
# A request with Sec-GPC: 1 or DNT: 1 (cx_privacy_signals, on by
# default), or of a visitor without consent to the id cookie (cx_cookie
# if=), is recorded nowhere and gets the shared model's suggestions only:
# nothing of the customer read or written, no cookie issued.  cx_forget
# deletes everything stored for the requesting customer and expires the
# cookie; the shared model, which holds no id, stays.
#
# One worker: what a request wrote is in Redis once a later request of
# the worker is answered (main::sync), as in t/160-ids.t.

use Test::Nginx::Socket;
use lib 't/cx';
use CxTest;
use IO::Socket::INET;
use Time::HiRes qw(sleep time);

repeat_each(1);

workers(1);

plan tests => CxTest::planned(qr/Test::More::(?!diag)\w+\(/, 1);

no_shuffle();
no_root_location();

$ENV{TEST_NGINX_REDIS_PORT} ||= 6379;

# where no Redis listens, and a listener that never answers
$ENV{TEST_NGINX_CX_DEAD_PORT} = CxTest::free_port();
our $Silent = IO::Socket::INET->new(Listen => 128, LocalAddr => '127.0.0.1',
                                    LocalPort => 0)
    or die "silent listener: $!";
$ENV{TEST_NGINX_CX_SILENT_PORT} = $Silent->sockport;

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("http_config", $block->http_config // <<'_EOC_');
    cx_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    cx_timeout 10s;
    cx_secret k180-0123456789abcdef;
    cx_prefix t180:;
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
CxTest::clear($ENV{TEST_NGINX_REDIS_PORT}, "t180:");
_EOC_

    CxTest::quiet($block);
});

sub main::get {
    my ($uri, $h) = @_;
    return CxTest::http_get(Test::Nginx::Socket::server_port(), $uri, $h);
}

sub main::req {
    my ($method, $uri, $h) = @_;
    return CxTest::http_request(Test::Nginx::Socket::server_port(), $method,
                                $uri, $h);
}

sub main::r { CxTest::redis($ENV{TEST_NGINX_REDIS_PORT}, @_) }

sub main::keys { CxTest::keys_of($ENV{TEST_NGINX_REDIS_PORT}, "t180:") }

sub main::nkeys { return scalar(my @k = main::keys()) }

# how many keys of customers there are
sub main::ncustomer {
    return scalar(my @k = grep { /^t180:\{/ } main::keys());
}

# what a key holds, whatever its type
sub main::held {
    my $k = shift;
    my $type = main::r("TYPE", $k);
    return $type eq "list" ? main::r("LRANGE", $k, 0, -1)
         : $type eq "hash" ? main::r("HGETALL", $k)
         : $type eq "zset" ? main::r("ZRANGE", $k, 0, -1, "WITHSCORES")
         : main::r("GET", $k);
}

# every key under the prefix with what it holds
sub main::dump {
    return join "\n", map { "$_ = " . join(" ", main::held($_)) }
                      main::keys();
}

# what the requests before wrote is in Redis once this is answered
sub main::sync { main::get("/cx/next?uri=/", { Cookie => "cx_id=sync" }) }

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

# the key bases "P{H}" of the customers with a step
sub main::customers { CxTest::customers($ENV{TEST_NGINX_REDIS_PORT}, "t180:") }

# a customer's recent steps, newest first, from their hash
sub main::steps { CxTest::steps($ENV{TEST_NGINX_REDIS_PORT}, $_[0]) }

# how many steps of the customer the hash holds
sub main::nsteps { return scalar(my @s = main::steps($_[0])) }

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

# the keys of a customer, by key base
sub main::mine {
    my $base = shift;
    return grep { index($_, "$base:") == 0 } main::keys();
}

# a customer who bought once along search, item 1, checkout: the shared
# model knows search -> item:1
sub main::buyer {
    my $h = shift;
    my $base = main::base_of("/search", $h);
    main::get($_, $h) for "/item/1", "/checkout";
    main::sync();
    return $base;
}

run_tests();

__DATA__

=== TEST 1: Sec-GPC: 1: a returning customer gets the shared model only, nothing read or written, no cookie
--- config
    cx_cookie cx_id;
--- init
my $alice = { Cookie => "cx_id=alice" };
main::buyer($alice);
my (undef, undef, $body) = main::get("/search", $alice);
Test::More::like($body, qr/^level=returning /, "alice returns");
main::sync();
my $before = main::dump();
my (undef, $h, $b) = main::get("/search", { %$alice, "Sec-GPC" => "1" });
Test::More::is($b, "level=new status=HIT\n", "as new, from the shared model");
Test::More::is($h->{"x-cx-next"}, "/item/1, /checkout",
               "the shared suggestions");
Test::More::ok(!exists $h->{"set-cookie"}, "no cookie");
main::sync();
Test::More::is(main::dump(), $before, "nothing written to redis");
--- request
GET /search
--- more_headers
Cookie: cx_id=alice
Sec-GPC: 1
--- response_headers
!Set-Cookie
X-CX-Status: HIT
X-CX-Next: /item/1, /checkout
--- response_body
level=new status=HIT



=== TEST 2: DNT: 1: no cookie for a new visitor, nothing written for a known one; "0" is no signal
--- config
    cx_cookie cx_id;
--- init
my $bob = { Cookie => "cx_id=bob" };
my $base = main::buyer($bob);
my $before = main::dump();
my (undef, $h, $b) = main::get("/search", { DNT => "1" });
Test::More::is($b, "level=new status=HIT\n", "a new visitor, the shared model");
Test::More::ok(!exists $h->{"set-cookie"}, "no cookie issued");
main::get("/cart", { %$bob, DNT => "1" });
main::sync();
Test::More::is(main::dump(), $before, "nothing written to redis");
my $steps = main::nsteps($base);
main::get("/cart", { %$bob, DNT => "0", "Sec-GPC" => "0" });
Test::More::ok(main::until(sub { main::nsteps($base) == $steps + 1 }),
               "DNT: 0 and Sec-GPC: 0 are tracked");
(undef, $h) = main::get("/search", { DNT => "0" });
Test::More::like($h->{"set-cookie"} // "", qr/^cx_id=[0-9a-f]{32}; /,
                 "and get a cookie");
--- request
GET /search
--- more_headers
DNT: 1
--- response_headers
!Set-Cookie
X-CX-Status: HIT
X-CX-Next: /item/1, /checkout
--- response_body
level=new status=HIT



=== TEST 3: Sec-GPC: 1 logging in: the login is not recorded, the anonymous visit not merged
--- config
    cx_id $http_x_customer_id;
    cx_cookie cx_id;
--- init
my $guest = { Cookie => "cx_id=guest" };
main::buyer($guest);
main::buyer({ "X-Customer-Id" => "carol" });
my $before = main::dump();
my (undef, $h, $b) = main::get("/search", { %$guest,
                                            "X-Customer-Id" => "carol",
                                            "Sec-GPC" => "1" });
Test::More::is($b, "level=new status=HIT\n", "carol's history not read");
main::sync() for 1 .. 3;
Test::More::is(main::dump(), $before, "nothing written, nothing merged");
--- request
GET /search
--- more_headers
X-Customer-Id: carol
Cookie: cx_id=guest
Sec-GPC: 1
--- response_headers
!Set-Cookie
--- response_body
level=new status=HIT



=== TEST 4: cx_privacy_signals off: Sec-GPC and DNT are tracked as before
--- config
    cx_privacy_signals off;
    cx_cookie cx_id;
--- init
my $dave = { Cookie => "cx_id=dave" };
my $base = main::buyer($dave);
my $steps = main::nsteps($base);
my (undef, undef, $b) = main::get("/cart", { %$dave, "Sec-GPC" => "1" });
Test::More::like($b, qr/^level=returning /, "her history read");
Test::More::ok(main::until(sub { main::nsteps($base) == $steps + 1 }),
               "and her step recorded");
main::get("/search", { %$dave, DNT => "1" });
Test::More::ok(main::until(sub { main::nsteps($base) == $steps + 2 }),
               "with DNT too");
--- request
GET /search
--- more_headers
DNT: 1
Sec-GPC: 1
--- response_headers_like
Set-Cookie: ^cx_id=[0-9a-f]{32}; Path=/; Max-Age=2592000; HttpOnly$
--- response_body_like
^level=new status=(HIT|MISS)$



=== TEST 5: cx_privacy_signals off in one location only
--- config
    cx_cookie cx_id;
    location = /cart {
        cx_privacy_signals off;
        return 200 "level=$cx_level\n";
    }
--- init
my $erin = { Cookie => "cx_id=erin" };
my $base = main::buyer($erin);
my $steps = main::nsteps($base);
main::get("/search", { %$erin, "Sec-GPC" => "1" });
main::get("/cart", { %$erin, "Sec-GPC" => "1" });
main::until(sub { main::nsteps($base) > $steps });
main::sync();
Test::More::is((main::steps($base))[0], "cart /cart",
               "the cart recorded, not the search");
Test::More::is(main::nsteps($base), $steps + 1, "one step");
--- request
GET /cart
--- more_headers
Cookie: cx_id=erin
Sec-GPC: 1
--- response_body
level=returning



=== TEST 6: $cx_private tells a request that was not tracked; cx_api under GPC answers from the shared model
--- config
    cx_cookie cx_id;
    location = /search {
        return 200 "[$cx_private] level=$cx_level\n";
    }
--- init
my $fay = { Cookie => "cx_id=fay" };
main::buyer($fay);
my (undef, undef, $b) = main::get("/search", $fay);
Test::More::is($b, "[] level=returning\n", "tracked: empty");
(undef, undef, $b) = main::get("/search", {});
Test::More::is($b, "[] level=new\n", "a cookie issued: tracked, empty");
(undef, undef, $b) = main::get("/cx/next?uri=/search",
                               { %$fay, "Sec-GPC" => "1" });
Test::More::like($b, qr/"level":"new"/, "cx_api: as new");
Test::More::like($b, qr/"url":"\/item\/1"/, "the shared suggestion");
(undef, undef, $b) = main::get("/cx/next?uri=/search", $fay);
Test::More::like($b, qr/"level":"returning"/, "without GPC: returning");
--- request
GET /search
--- more_headers
Cookie: cx_id=fay
Sec-GPC: 1
--- response_headers
!Set-Cookie
--- response_body
[1] level=new



=== TEST 7: consent given: the cookie is issued, and the visitor tracked
--- config
    cx_cookie cx_id if=$cookie_consent;
--- init
my (undef, $h) = main::get("/search", { Cookie => "consent=yes" });
Test::More::like($h->{"set-cookie"} // "", qr/^cx_id=([0-9a-f]{32}); /,
                 "a cookie with consent");
my ($id) = ($h->{"set-cookie"} // "") =~ /^cx_id=([0-9a-f]{32})/;
my $base = main::base_of("/item/1", { Cookie => "consent=yes; cx_id=$id" });
Test::More::is(join(" ", main::steps($base)), "item:1 /item/1",
               "the step recorded");
--- request
GET /search
--- more_headers
Cookie: consent=1
--- response_headers_like
Set-Cookie: ^cx_id=[0-9a-f]{32}; Path=/; Max-Age=2592000; HttpOnly$
--- response_body_like
^level=new status=(HIT|MISS)$



=== TEST 8: consent absent ("0" or none): no cookie, nothing written, the shared model
--- config
    cx_cookie cx_id if=$cookie_consent;
--- init
main::buyer({ Cookie => "consent=1; cx_id=gil" });
my $before = main::dump();
my $got = "";
for my $c ("consent=0", "other=1", "consent=") {
    my (undef, $h, $b) = main::get("/search", { Cookie => $c });
    $got .= "$c: " . ($h->{"set-cookie"} // "no cookie") . ", $b";
}
Test::More::is($got, "consent=0: no cookie, level=new status=HIT\n"
                     . "other=1: no cookie, level=new status=HIT\n"
                     . "consent=: no cookie, level=new status=HIT\n",
               "no cookie, the shared model");
main::sync();
Test::More::is(main::dump(), $before, "nothing written to redis");
--- request
GET /search
--- response_headers
!Set-Cookie
X-CX-Next: /item/1, /checkout
--- response_body
level=new status=HIT



=== TEST 9: consent withdrawn: the cookie is neither read nor written, nor expired
--- config
    cx_cookie cx_id if=$cookie_consent;
--- init
main::buyer({ Cookie => "consent=1; cx_id=hal" });
my (undef, undef, $b) = main::get("/search",
                                  { Cookie => "consent=1; cx_id=hal" });
Test::More::like($b, qr/^level=returning /, "with consent: returning");
main::sync();
my $before = main::dump();
my $h;
(undef, $h, $b) = main::get("/search", { Cookie => "consent=0; cx_id=hal" });
Test::More::is($b, "level=new status=HIT\n", "withdrawn: not read");
Test::More::ok(!exists $h->{"set-cookie"}, "no cookie set");
main::sync();
Test::More::is(main::dump(), $before, "nothing written to redis");
--- request
GET /search
--- more_headers
Cookie: consent=0; cx_id=hal
--- response_headers
!Set-Cookie
--- response_body
level=new status=HIT



=== TEST 10: consent is the cookie's: a login without it is tracked, its anonymous cookie not merged
--- config
    cx_id $http_x_customer_id;
    cx_cookie cx_id if=$cookie_consent;
--- init
my $anon = main::buyer({ Cookie => "consent=1; cx_id=ivy" });
my $login = main::buyer({ "X-Customer-Id" => "ivan" });
my $anon_keys = join " ", map { "$_=" . join(",", main::held($_)) }
                          main::mine($anon);
my $steps = main::nsteps($login);
my (undef, undef, $b) = main::get("/cart", { Cookie => "consent=0; cx_id=ivy",
                                             "X-Customer-Id" => "ivan" });
Test::More::like($b, qr/^level=returning /, "the login is read");
Test::More::ok(main::until(sub { main::nsteps($login) == $steps + 1 }),
               "and its step recorded");
main::sync() for 1 .. 3;
Test::More::is(join(" ", map { "$_=" . join(",", main::held($_)) }
                         main::mine($anon)),
               $anon_keys, "the visit's keys as they were, not merged");
Test::More::is(main::nsteps($login), $steps + 1, "nothing merged in");
--- request
GET /search
--- more_headers
Cookie: consent=0
--- response_headers
!Set-Cookie
--- response_body
level=new status=HIT



=== TEST 11: cx_forget: the customer's keys deleted, the cookie expired, the rules kept
--- config
    cx_cookie cx_id;
    location = /cx/forget {
        cx_forget;
    }
--- init
my $jo = { Cookie => "cx_id=jo" };
my $kim = main::buyer({ Cookie => "cx_id=kim" });
my $base = main::buyer($jo);
my @mine = main::mine($base);
Test::More::is(join(" ", map { /:(\w+)$/ } @mine), "g s",
               "jo has her hash and her path");
my @rules = grep { /^t180:t:/ } main::keys();
my $rules = join "\n", map { "$_ = " . join(" ", main::held($_)) } @rules;
my $kims = join "\n", map { "$_ = " . join(" ", main::held($_)) }
                      main::mine($kim);
my ($s, $h, $b) = main::req("POST", "/cx/forget", $jo);
Test::More::is("$s $b", "200 {\"forgotten\":2}", "both keys deleted");
Test::More::is($h->{"set-cookie"}, "cx_id=; Path=/; Max-Age=0; HttpOnly",
               "the cookie expired");
Test::More::is($h->{"content-type"}, "application/json", "json");
Test::More::is($h->{"cache-control"}, "no-store", "kept by no cache");
Test::More::is(join(" ", main::mine($base)), "", "none of jo's keys left");
Test::More::ok(scalar @rules, "there are rules");
Test::More::is(join("\n", map { "$_ = " . join(" ", main::held($_)) } @rules),
               $rules, "the rules are still there");
Test::More::is(join("\n", map { "$_ = " . join(" ", main::held($_)) }
                          main::mine($kim)),
               $kims, "another customer's keys too");
(undef, undef, $b) = main::get("/search", $jo);
Test::More::like($b, qr/^level=new /, "jo comes back as new");
--- request
POST /cx/forget
--- more_headers
Cookie: cx_id=jo
--- response_headers
Set-Cookie: cx_id=; Path=/; Max-Age=0; HttpOnly
Content-Type: application/json
--- response_body chomp
{"forgotten":1}



=== TEST 12: cx_forget: a login and the cookie of its anonymous visit, both; DELETE too
--- config
    cx_id $http_x_customer_id;
    cx_cookie cx_id secure samesite=strict;
    location = /cx/forget {
        cx_forget;
    }
--- init
my $lee = { "X-Customer-Id" => "lee" };
my $visit = { Cookie => "cx_id=visit1" };
my $login = main::buyer($lee);
my $anon = main::buyer($visit);
# a visit that a login took over leaves its claim, P{H}:m
my $taken = main::buyer({ Cookie => "cx_id=visit0" });
main::get("/search", { %$lee, Cookie => "cx_id=visit0" });
Test::More::ok(main::until(sub {
                   main::ncustomer() == 5
                   && (main::r("HGET", "$login:s", "goals") // "") eq "2" }),
               "the merge leaves the claim alone");
Test::More::is(join(" ", map { /:(\w+)$/ } main::mine($taken)), "m",
               "the claim");
my ($s, $h, $b) = main::req("DELETE", "/cx/forget", { %$lee, %$visit });
Test::More::is("$s $b", "200 {\"forgotten\":4}", "both customers' keys");
Test::More::is(join(" ", main::mine($login), main::mine($anon)), "",
               "none left");
($s, $h, $b) = main::req("DELETE", "/cx/forget",
                         { %$lee, Cookie => "cx_id=visit0" });
Test::More::is("$s $b", "200 {\"forgotten\":1}", "the claim too");
Test::More::is(join(" ", main::mine($taken)), "", "none left");
--- request
DELETE /cx/forget
--- more_headers
Cookie: cx_id=nobody
--- response_headers
Set-Cookie: cx_id=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict
--- response_body chomp
{"forgotten":0}



=== TEST 13: cx_forget: no id, consent withdrawn, a privacy signal
Without any id there is nothing to forget; a customer who withdrew
consent, or who sends Sec-GPC, is still forgotten.
--- config
    cx_cookie cx_id if=$cookie_consent;
    location = /cx/forget {
        cx_forget;
    }
--- init
my $base = main::buyer({ Cookie => "consent=1; cx_id=max" });
my $base2 = main::buyer({ Cookie => "consent=1; cx_id=ned" });
my $n = main::nkeys();
my ($s, $h, $b) = main::req("POST", "/cx/forget", {});
Test::More::is("$s $b", "200 {\"forgotten\":0}", "no id: nothing");
Test::More::is(main::nkeys(), $n, "nothing deleted");
($s, $h, $b) = main::req("POST", "/cx/forget", { Cookie => "cx_id=max" });
Test::More::is("$s $b", "200 {\"forgotten\":2}", "without consent");
Test::More::is(join(" ", main::mine($base)), "", "none of max's keys left");
($s, $h, $b) = main::req("POST", "/cx/forget", { Cookie => "cx_id=ned",
                                                 "Sec-GPC" => "1" });
Test::More::is("$s $b", "200 {\"forgotten\":2}", "with Sec-GPC");
Test::More::is(join(" ", main::mine($base2)), "", "none of ned's keys left");
--- request
POST /cx/forget
--- response_headers
Set-Cookie: cx_id=; Path=/; Max-Age=0; HttpOnly
--- response_body chomp
{"forgotten":0}



=== TEST 14: cx_forget: GET and HEAD are 405 and delete nothing
--- config
    cx_cookie cx_id;
    location = /cx/forget {
        cx_forget;
    }
--- init
my $base = main::buyer({ Cookie => "cx_id=olga" });
my $before = main::dump();
my $got = "";
for my $m ("GET", "HEAD", "PUT") {
    my ($s, $h) = main::req($m, "/cx/forget", { Cookie => "cx_id=olga" });
    $got .= "$m $s " . ($h->{allow} // "") . ", "
            . ($h->{"set-cookie"} // "no cookie") . "\n";
}
Test::More::is($got, "GET 405 POST, DELETE, no cookie\n"
                     . "HEAD 405 POST, DELETE, no cookie\n"
                     . "PUT 405 POST, DELETE, no cookie\n",
               "405, the cookie kept");
main::sync();
Test::More::is(main::dump(), $before, "nothing deleted");
--- request
GET /cx/forget
--- more_headers
Cookie: cx_id=olga
--- error_code: 405
--- response_headers
Allow: POST, DELETE
!Set-Cookie



=== TEST 15: cx_forget: Redis down: 503, Retry-After, the cookie not expired
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_DEAD_PORT;
    cx_timeout 10s;
    cx_secret k180-0123456789abcdef;
    cx_prefix t180:;
--- config
    cx_cookie cx_id;
    location = /cx/forget {
        cx_forget;
    }
--- request
POST /cx/forget
--- more_headers
Cookie: cx_id=pat
--- error_code: 503
--- response_headers
Retry-After: 1
Content-Type: application/json
!Set-Cookie
--- response_body chomp
{"error":"unavailable"}
--- error_log
cx: redis "127.0.0.1:



=== TEST 16: cx_forget: Redis not answering within cx_timeout: 503, the cookie not expired
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_SILENT_PORT;
    cx_timeout 2s;
    cx_connect_timeout 10s;
    cx_secret k180-0123456789abcdef;
    cx_prefix t180:;
--- config
    cx_cookie cx_id;
    location = /cx/forget {
        cx_forget;
    }
--- request
POST /cx/forget
--- more_headers
Cookie: cx_id=pat
--- error_code: 503
--- response_headers
Retry-After: 1
X-CX-Status: TIMEOUT
!Set-Cookie
--- response_body chomp
{"error":"unavailable"}
--- error_log
did not answer within cx_timeout
