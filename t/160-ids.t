# Issue 9: several id sources.
#
# cx_id takes several values, the first that is not empty wins, and the
# cookie named by cx_cookie is always the last source.
#
# This file starts a redis-server of its own, and runs one worker: what
# a request wrote is in Redis once a later request of the worker is
# answered (main::sync).

use Test::Nginx::Socket;
use lib 't/cx';
use CxTest;

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
    cx_secret k160;
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

# what the requests before wrote is in Redis once this is answered
sub main::sync { main::get("/cx/next?uri=/", { Cookie => "cx_id=sync" }) }

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
main::buyer();
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



=== TEST 6: cx_id takes no empty source
--- config
    cx_id $http_x_customer_id "";
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid value "" in \S+nginx\.conf:\d+/
