# Suggestions reach the page whatever produces it: return, proxy_pass,
# static files, try_files; "if" sees them; other requests are untouched.

use Test::Nginx::Socket;
use lib 't/cx';
use CxTest;

repeat_each(2);

plan tests => CxTest::planned(qr/Test::More::(?!diag)\w+\(/, 1);

no_shuffle();
no_root_location();

$ENV{TEST_NGINX_REDIS_PORT} ||= 6379;
$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

add_block_preprocessor(sub {
    my $block = shift;

    # the same shop in every block: three steps, one goal
    $block->set_value("http_config", <<'_EOC_' . ($block->http_config // ''))
    cx_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    cx_timeout 10s;
    cx_secret k2-0123456789abcdef;
    cx_prefix t020:;
    cx_rule_reverse 0;
_EOC_
        ;

    # seed the model through the module: two customers, same journey
    $block->set_value("init", <<'_EOC_' . ($block->init // ''));
CxTest::clear($ENV{TEST_NGINX_REDIS_PORT}, "t020:");
CxTest::journeys(Test::Nginx::Socket::server_port(),
                 ["a", "/", "/cart", "/checkout"],
                 ["b", "/", "/cart", "/checkout"]);
_EOC_

    CxTest::quiet($block);
});

run_tests();

__DATA__

=== TEST 1: return
--- config
    cx on;
    cx_step home /;
    cx_step cart /cart;
    cx_step checkout /checkout;
    location / { return 200 "next=$cx_next status=$cx_status\n"; }
--- request
GET /cart
--- more_headers
Cookie: cx_id=new
--- response_body
next=/checkout status=HIT



=== TEST 2: proxy_pass with the suggestions in a request header
--- config
    cx on;
    cx_step home /;
    cx_step cart /cart;
    cx_step checkout /checkout;
    location / {
        proxy_pass http://127.0.0.1:$server_port/backend;
        proxy_set_header X-CX-Next $cx_next;
        proxy_set_header X-CX-Step $cx_step;
    }
    location = /backend {
        cx off;
        return 200 "app sees step=$http_x_cx_step next=$http_x_cx_next\n";
    }
--- request
GET /cart
--- more_headers
Cookie: cx_id=new
--- response_body
app sees step=cart next=/checkout



=== TEST 3: static files, with the response headers
--- config
    cx on;
    cx_header on;
    cx_step home /;
    cx_step cart /cart.html;
    cx_step checkout /checkout.html;
    location / { root $TEST_NGINX_HTML_DIR; log_not_found off; }
--- init
CxTest::journeys(Test::Nginx::Socket::server_port(),
                 ["c", "/", "/cart.html", "/checkout.html"]);
--- user_files
>>> index.html
home
>>> cart.html
cart
>>> checkout.html
checkout
--- request
GET /cart.html
--- more_headers
Cookie: cx_id=new
--- response_body
cart
--- response_headers
X-CX-Status: HIT
X-CX-Next: /checkout.html



=== TEST 4: try_files: an internal redirect keeps the step and its answer
--- config
    cx on;
    cx_step home /;
    cx_step cart /cart;
    cx_step checkout /checkout;
    location / { try_files $uri /app; }
    location = /app {
        return 200 "app: step=$cx_step next=$cx_next status=$cx_status\n";
    }
--- request
GET /cart
--- more_headers
Cookie: cx_id=new
--- response_body
app: step=cart next=/checkout status=HIT



=== TEST 5: "if" in the same location sees the answer
--- config
    cx on;
    cx_step home /;
    cx_step cart /cart;
    cx_step checkout /checkout;
    location / {
        if ($cx_status = HIT) {
            return 200 "hit: $cx_next\n";
        }
        return 200 "no\n";
    }
--- request
GET /cart
--- more_headers
Cookie: cx_id=new
--- response_body
hit: /checkout



=== TEST 6: a request that is no step is untouched
--- config
    cx on;
    cx_header on;
    cx_cookie cx_id;
    cx_step home /;
    cx_step cart /cart;
    cx_step checkout /checkout;
    location / { return 200 "step=$cx_step status=$cx_status\n"; }
--- request
GET /favicon.ico
--- response_body
step= status=BYPASS
--- response_headers
X-CX-Status: BYPASS
!X-CX-Next
!Set-Cookie
--- no_error_log
[error]



=== TEST 7: cx off
--- config
    cx off;
    cx_header on;
    cx_step home /;
    cx_step cart /cart;
    location / { return 200 "status=$cx_status\n"; }
--- request
GET /cart
--- more_headers
Cookie: cx_id=new
--- response_body
status=BYPASS
--- response_headers
X-CX-Status: BYPASS
