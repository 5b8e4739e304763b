# Issue 9, item 6: two shops in one nginx learn apart.
#
# Each server is a shop: its cx_prefix names the keys its requests read
# and write (the customer's and the shared model's, the record of the log
# phase, cx_api), its cx_secret the key ids are hashed with, its cx_ttl
# how long its keys live; a server that sets none of them takes http's.
#
# Three servers on the test port: a.shop and b.shop with prefixes of
# their own (a.shop also with its own secret and TTL), and the test's
# own "localhost" server, which inherits everything from http.  This file
# starts a redis-server of its own.

use Test::Nginx::Socket;
use lib 't/cx';
use CxTest;

our $Redis = CxTest::start_redis();

$ENV{TEST_NGINX_CX_REDIS_PORT} = $Redis->{port};

repeat_each(1);

# one worker, one connection to Redis: what a request wrote is in Redis
# before the next request's batch is answered (main::sync)
workers(1);

plan tests => CxTest::planned(qr/Test::More::(?!diag)\w+\(/, 1);

no_shuffle();
no_root_location();

# what every shop declares
our $Shop = <<'_EOC_';
        cx on;
        cx_header on;
        cx_suggest 5;
        cx_pace hurried=0 relaxed=1h;
        cx_cookie cx_id;
        cx_step home /;
        cx_step search /search;
        cx_step cart /cart;
        cx_step item:$1 ~^/item/(\d+)$;
        location / {
            return 200 "step=$cx_step status=$cx_status next=$cx_next\n";
        }
        location = /cx/next {
            cx_api;
        }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("http_config", <<"_EOC_");
    cx_redis 127.0.0.1:\$TEST_NGINX_CX_REDIS_PORT;
    cx_timeout 10s;
    cx_secret k170-0123456789abcdef;
    cx_prefix t170:;
    cx_rule_reverse 0;
    cx_ttl 1h;

    server {
        listen \$TEST_NGINX_SERVER_PORT;
        server_name a.shop;
        cx_prefix t170a:;
        cx_secret shop-a-0123456789abcdef;
        cx_ttl 2h;
$Shop
    }

    server {
        listen \$TEST_NGINX_SERVER_PORT;
        server_name b.shop;
        cx_prefix t170b:;
$Shop
    }
_EOC_

    $block->set_value("config", $Shop);

    $block->set_value("init", <<'_EOC_' . ($block->init // ''));
CxTest::clear($main::Redis->{port}, "t170");
_EOC_

    CxTest::quiet($block);
});

# a GET to one shop, as customer id (none: undef)
sub main::get {
    my ($host, $id, $uri) = @_;
    my %h = (Host => $host);
    $h{Cookie} = "cx_id=$id" if defined $id;
    return CxTest::http_get(Test::Nginx::Socket::server_port(), $uri, \%h);
}

# customers walk a shop: [id, uri, ...]
sub main::walk {
    my ($host, @journeys) = @_;
    for my $j (@journeys) {
        my ($id, @uris) = @$j;
        main::get($host, $id, $_) for @uris;
    }
}

# what the requests before wrote is in Redis once this is answered
sub main::sync {
    main::get("a.shop", "sync", "/cx/next?uri=/");
}

# the keys under a prefix, hash tags and epochs written as {H} and E
sub main::keys {
    my $prefix = shift;
    return join " ", map { s/\{[0-9a-f]{16}\}/{H}/r =~ s/:\d+$/:E/r }
                     CxTest::keys_of($main::Redis->{port}, $prefix);
}

# the hash tag of the one customer with steps under a prefix
sub main::tag {
    my ($prefix) = @_;
    my @c = CxTest::customers($main::Redis->{port}, $prefix);
    return @c == 1 && $c[0] =~ /\{([0-9a-f]{16})\}/ ? $1 : "@c";
}

run_tests();

__DATA__

=== TEST 1: a journey taught to one shop is offered there, not by the others
--- init
main::walk("a.shop", map { ["a$_", "/", "/search", "/item/7"] } 1 .. 3);
main::sync();
my (undef, $h) = main::get("a.shop", "newa", "/search");
Test::More::is($h->{"x-cx-status"}, "HIT", "shop a knows what follows search");
Test::More::like($h->{"x-cx-next"} // "", qr{(^|, )/item/7(,|$)},
                 "and offers the item its customers went to");
(undef, $h) = main::get("b.shop", "newb", "/search");
Test::More::is($h->{"x-cx-status"} . " " . ($h->{"x-cx-next"} // ""),
               "MISS ", "shop b offers nothing of it");
--- request
GET /search
--- more_headers
Cookie: cx_id=newc
--- response_body
step=search status=MISS next=



=== TEST 2: cx_api answers from the keys of its own shop
--- init
main::walk("a.shop", map { ["a$_", "/", "/search", "/item/7"] } 1 .. 3);
main::sync();
my (undef, undef, $ja) = main::get("a.shop", "x", "/cx/next?uri=/search");
Test::More::like($ja, qr/^\{"status":"HIT".*"url":"\/item\/7"/,
                 "shop a's endpoint offers the item");
my (undef, undef, $jb) = main::get("b.shop", "x", "/cx/next?uri=/search");
Test::More::like($jb, qr/^\{"status":"MISS".*"next":\[\]\}$/,
                 "shop b's endpoint knows nothing of it");
--- request
GET /cx/next?uri=/search
--- more_headers
Cookie: cx_id=x
--- response_body_like chomp
^\{"status":"MISS".*"next":\[\]\}$



=== TEST 3: each shop's requests write under its prefix; the server without one, under http's
--- init
main::walk("a.shop", ["alice", "/", "/search"]);
main::walk("b.shop", ["bob", "/", "/cart"]);
main::walk("localhost", ["carol", "/", "/item/3"]);
main::sync();
Test::More::is(main::keys("t170a:"),
               "t170a:t:{home}:E t170a:{H}:s",
               "alice's steps in shop a: under t170a:");
Test::More::is(main::keys("t170b:"),
               "t170b:t:{home}:E t170b:{H}:s",
               "bob's steps in shop b: under t170b:");
Test::More::is(main::keys("t170:"),
               "t170:t:{home}:E t170:{H}:s",
               "carol's steps in the server without a prefix: under http's");
Test::More::is(join(" ", CxTest::keys_of($main::Redis->{port}, "cx:")), "",
               "none under the default prefix");
my $rules = join " ", map {
    CxTest::redis($main::Redis->{port}, "ZRANGE", $_, 0, -1)
} grep { /:t:/ } CxTest::keys_of($main::Redis->{port}, "t170");
Test::More::is($rules, "item:3 /item/3 search /search cart /cart",
               "each shop's model holds its own step");
--- request
GET /
--- more_headers
Cookie: cx_id=carol
--- response_body
step=home status=HIT next=/item/3



=== TEST 4: a shop's own cx_secret and cx_ttl; the others inherit http's
--- init
main::walk($_, ["dana", "/"]) for "a.shop", "b.shop", "localhost";
main::sync();
my ($ta, $tb, $th) = map { main::tag($_) } "t170a:", "t170b:", "t170:";
Test::More::like($tb, qr/^[0-9a-f]{16}$/, "dana has steps in shop b");
Test::More::is($th, $tb, "the same hash under http's secret");
Test::More::isnt($ta, $tb, "another under shop a's own secret");
my $port = $main::Redis->{port};
my $la = CxTest::redis($port, "TTL", "t170a:{$ta}:s");
my $lb = CxTest::redis($port, "TTL", "t170b:{$tb}:s");
Test::More::ok($la > 3600 && $la <= 7200, "shop a's keys live 2h ($la)");
Test::More::ok($lb > 0 && $lb <= 3600, "shop b's keys 1h, as http says ($lb)");
my (undef, $h) = main::get("a.shop", undef, "/");
Test::More::like($h->{"set-cookie"}, qr/; Max-Age=7200;/,
                 "shop a's id cookie lasts its cx_ttl");
(undef, $h) = main::get("b.shop", undef, "/");
Test::More::like($h->{"set-cookie"}, qr/; Max-Age=3600;/,
                 "shop b's lasts http's");
--- request
GET /
--- response_headers_like
Set-Cookie: cx_id=[0-9a-f]{32}; Path=/; Max-Age=3600; HttpOnly
--- response_body
step=home status=MISS next=
