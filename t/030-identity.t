# Who the customer is: the id cookie, other id sources, and hostile input
# that must come back bounded and escaped.

use Test::Nginx::Socket;
use lib 't/cx';
use CxTest;

repeat_each(2);

plan tests => CxTest::planned(qr/Test::More::(?!diag)\w+\(/, 1);

no_shuffle();
no_root_location();

$ENV{TEST_NGINX_REDIS_PORT} ||= 6379;

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("http_config", <<'_EOC_' . ($block->http_config // ''))
    cx_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    cx_timeout 10s;
    cx_secret k3-0123456789abcdef;
    cx_prefix t030:;
_EOC_
        ;

    CxTest::quiet($block);
});

run_tests();

__DATA__

=== TEST 1: a new visitor gets a random 128-bit id in an HttpOnly cookie
--- config
    cx on;
    cx_cookie cx_id;
    cx_step home /;
    location / { return 200 "$cx_status\n"; }
--- request
GET /
--- response_headers_like
Set-Cookie: cx_id=[0-9a-f]{32}; Path=/; Max-Age=2592000; HttpOnly
--- response_body_like
^(MISS|HIT)$



=== TEST 2: a returning visitor keeps the id and gets no new cookie
--- config
    cx on;
    cx_header on;
    cx_cookie cx_id;
    cx_step home /;
    location / { return 200 "$cx_status\n"; }
--- request
GET /
--- more_headers
Cookie: other=1; cx_id=0123456789abcdef0123456789abcdef
--- response_headers
!Set-Cookie
--- response_body_like
^(MISS|HIT)$



=== TEST 3: cookie attributes
--- config
    cx on;
    cx_cookie shop_id max_age=1d secure samesite=strict;
    cx_step home /;
    location / { return 200 "$cx_status\n"; }
--- request
GET /
--- response_headers_like
Set-Cookie: shop_id=[0-9a-f]{32}; Path=/; Max-Age=86400; HttpOnly; Secure; SameSite=Strict
--- response_body_like
^(MISS|HIT)$



=== TEST 4: the cookie named by cx_cookie is the default id
--- config
    cx on;
    cx_header on;
    cx_cookie shop_id;
    cx_step home /;
    location / { return 200 "$cx_status\n"; }
--- request
GET /
--- more_headers
Cookie: cx_id=ignored; shop_id=abc
--- response_headers
!Set-Cookie
X-CX-Status: MISS
--- response_body
MISS



=== TEST 5: no id and no cx_cookie: bypass, nothing recorded
--- config
    cx on;
    cx_header on;
    cx_step home /;
    location / { return 200 "$cx_status\n"; }
--- request
GET /
--- response_headers
X-CX-Status: BYPASS
--- response_body
BYPASS



=== TEST 6: an id longer than 256 bytes counts as none
--- config
    cx on;
    cx_cookie cx_id;
    cx_step home /;
    location / { return 200 "$cx_status\n"; }
--- request
GET /
--- more_headers eval
"Cookie: cx_id=" . ("x" x 300)
--- response_headers_like
Set-Cookie: cx_id=[0-9a-f]{32}; .*
--- response_body_like
^(MISS|HIT)$



=== TEST 7: cx_id from a header
--- config
    cx on;
    cx_id $http_x_customer;
    cx_step home /;
    location / { return 200 "$cx_status\n"; }
--- request
GET /
--- more_headers
X-Customer: 42
--- response_headers
!Set-Cookie
--- response_body_like
^(MISS|HIT)$



=== TEST 8: a hostile uri is escaped in the step name and url
--- config
    cx on;
    cx_step p:$1 ~^/p/(.+)$ /p/$1;
    location / { return 200 "$cx_step\n"; }
--- request
GET /p/%3Cscript%3E%22'%7B%7D%20x
--- more_headers
Cookie: cx_id=mallory
--- response_body
p:%3Cscript%3E%22%27%7B%7D%20x
--- no_error_log
[error]



=== TEST 9: a step name past 128 bytes is no step
--- config
    cx on;
    cx_header on;
    cx_step p:$1 ~^/p/(.+)$;
    location / { return 200 "[$cx_step]\n"; }
--- request eval
"GET /p/" . ("%22" x 50)
--- more_headers
Cookie: cx_id=mallory
--- response_body
[]
--- response_headers
X-CX-Status: BYPASS



=== TEST 10: one worker, two servers, one uri: each server's own steps
The page /p/7 is "page:7" here and "other" on b.shop, /q a step here and
none there; asked in turns, each server classifies a uri as its own
steps say, though the worker keeps what it found of a uri.
--- http_config
    server {
        listen $TEST_NGINX_SERVER_PORT;
        server_name b.shop;
        cx on;
        cx_cookie cx_id;
        cx_step other /p/7;
        location / { return 200 "[$cx_step]\n"; }
    }
--- config
    cx on;
    cx_cookie cx_id;
    cx_step page:$1 ~^/p/(\d+)$;
    cx_step q /q;
    location / { return 200 "[$cx_step]\n"; }
--- init
my @got;
for my $host (("localhost", "b.shop") x 3) {
    for my $uri ("/p/7", "/q") {
        my (undef, undef, $body) =
            CxTest::http_get(Test::Nginx::Socket::server_port(), $uri,
                             { Host => $host, Cookie => "cx_id=c10" });
        push @got, $body =~ s/\n//r;
    }
}
Test::More::is(join(" ", @got),
               join(" ", ("[page:7] [q] [other] []") x 3),
               "each server its own step of a uri, in turns");
--- request
GET /p/7
--- more_headers
Cookie: cx_id=c10
--- response_body
[page:7]



=== TEST 11: the id cookie is read as "$cookie_cx_id" reads it
The first cookie of its name, the name in any case, is the customer of
"cx_id=c11" alone, and so is the cookie of a cx_id source; a cookie whose
name only holds "cx_id" is no id cookie: a new id is issued.
--- config
    cx on;
    cx_id $http_x_customer $cookie_sid;
    cx_cookie cx_id;
    cx_step home /;
    cx_step cart /cart;
    cx_step item:$1 ~^/item/(\d+)$;
    location / { return 200 "$cx_status\n"; }
--- init
my ($p, $h) = ($ENV{TEST_NGINX_REDIS_PORT},
               Test::Nginx::Socket::server_port());
CxTest::clear($p, "t030:");
my $c = CxTest::customer_key($p, "t030:", $h, "c11", "/");
my $s = CxTest::customer_key($p, "t030:", $h, "other", "/");
CxTest::http_get($h, $_->[0], { Cookie => $_->[1] })
    for ["/cart", "CX_ID=c11"],
        ["/item/1", "a=1; cx_id=c11; cx_id=other"],
        ["/item/2", "xcx_id=other; cx_idx=other;  cx_id=c11"],
        ["/item/3", "cx_id=c11; SID=s11"],
        ["/item/4", "sid=s11; cx_id=c11"];
my @want = ("item:2 /item/2", "item:1 /item/1", "cart /cart", "home /");
CxTest::wait_until(sub { CxTest::steps($p, $c) >= 4 }, 10);
Test::More::is(join(", ", CxTest::steps($p, $c)), join(", ", @want),
               "the first cookie of its name, in any case");
Test::More::is(join(", ", CxTest::steps($p, $s)), "home /",
               "never the second one");
Test::More::is(scalar(CxTest::customers($p, "t030:")), 3,
               "and a source's cookie is a customer of its own");
--- request
GET /
--- more_headers
Cookie: xcx_id=1; cx_idx=2; cx_id_=3
--- response_headers_like
Set-Cookie: cx_id=[0-9a-f]{32}; .*
--- response_body_like
^(MISS|HIT)$



=== TEST 12: the id cookie is the customer "$cookie_cx_id" names, in any form
Cookie headers as a client may send them (two of them, spaces around
"=", a comma, an empty value first, a value past the 256 bytes of an id)
are read by nginx's own $cookie_cx_id first; a step sent with the same
headers is that customer's, and gets no new cookie, or, when that
value is empty or too long, a new id in a cookie.
--- config
    cx on;
    cx_cookie cx_id;
    cx_step home /;
    cx_step item:$1 ~^/item/(\d+)$;
    location / { return 200 "$cx_status\n"; }
    location = /echo {
        cx off;
        return 200 "[$cookie_cx_id]";
    }
--- init
my ($p, $h) = ($ENV{TEST_NGINX_REDIS_PORT},
               Test::Nginx::Socket::server_port());
CxTest::clear($p, "t030:");
my $long = "L" x 300;
my @forms = ({ Cookie => "a=1", cookie => "cx_id=d1" },
             { Cookie => "cx_id=d2", cookie => "cx_id=other" },
             { Cookie => "b=2;cx_id = d3;c=3" },
             { Cookie => "cx_id=d4,cx_id=other" },
             { Cookie => "Cx_Id=d5", cookie => "cx_id=other" },
             { Cookie => "cx_id=; cx_id=other" },
             { Cookie => "cx_id=$long; cx_id=other" },
             { Cookie => "x=1", cookie => "cx_id=$long" });
my (@got, @want);
for my $k (0 .. $#forms) {
    my (undef, undef, $v) = CxTest::http_get($h, "/echo", $forms[$k]);
    $v =~ s/^\[(.*)\]$/$1/s;
    my $known = length $v > 0 && length $v <= 256;
    my $c = $known ? CxTest::customer_key($p, "t030:", $h, $v, "/") : undef;
    my (undef, $hd) = CxTest::http_get($h, "/item/$k", $forms[$k]);
    my $issued = defined $hd->{"set-cookie"} ? "new id" : "no new id";
    if ($known) {
        CxTest::wait_until(sub { CxTest::steps($p, $c) >= 2 }, 10);
        push @got, "$k: $issued, " . join(", ", CxTest::steps($p, $c));
        push @want, "$k: no new id, item:$k /item/$k, home /";
    } else {
        push @got, "$k: $issued";
        push @want, "$k: new id";
    }
}
Test::More::is(join("\n", @got), join("\n", @want),
               "each form the customer of nginx's own \$cookie_cx_id");
--- request
GET /echo
--- more_headers
Cookie: cx_id=e12
--- response_body chomp
[e12]
