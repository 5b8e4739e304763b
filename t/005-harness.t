# What the suite assumes of Test::Nginx::Socket, so that the runner in
# t/lib and the real one (openresty/test-nginx) agree.  TEST 1 and 2 are
# where they once differed (the old runner failed them); the others pin
# the counting that CxTest::planned() does for every file's plan.

our $HtmlDir;

BEGIN { $HtmlDir = $ENV{TEST_NGINX_HTML_DIR} }

use Test::Nginx::Socket;
use lib 't/cx';
use CxTest;

repeat_each(2);

plan tests => CxTest::planned(qr/Test::More::(?!diag)\w+\(/, 1);

no_shuffle();

add_block_preprocessor(sub {
    CxTest::quiet(shift);
});

run_tests();

__DATA__

=== TEST 1: the harness leaves TEST_NGINX_HTML_DIR to the test file
--- init
Test::More::is($ENV{TEST_NGINX_HTML_DIR}, $main::HtmlDir,
               "TEST_NGINX_HTML_DIR is as it was before the harness loaded");
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok



=== TEST 2: response_headers_like is not checked beside response_headers
--- config
    location = /t {
        add_header X-A a;
        return 200 "ok\n";
    }
--- request
GET /t
--- response_headers
X-A: a
--- response_headers_like
X-A: never
--- response_body
ok



=== TEST 3: a header that must be absent
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_headers
!X-A
--- response_body
ok



=== TEST 4: several requests: the log is checked after each
--- config
    location = /t { return 200 "ok\n"; }
--- request eval
["GET /t", "GET /t"]
--- response_body eval
["ok\n", "ok\n"]



=== TEST 5: must_die counts its exit and each pattern
--- config
    no_such_directive;
--- must_die
--- error_log
unknown directive "no_such_directive"
