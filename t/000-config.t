# Every directive's error path fails "nginx -t" style start-up with
# file:line and nginx's own wording.

use Test::Nginx::Socket;
use lib 't/cx';
use CxTest;

repeat_each(2);

plan tests => CxTest::planned(qr/Test::More::(?!diag)\w+\(/, 1);

no_shuffle();

$ENV{TEST_NGINX_REDIS_PORT} ||= 6379;

add_block_preprocessor(sub {
    CxTest::quiet(shift);
});

run_tests();

__DATA__

=== TEST 1: a complete configuration starts
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT password=secret db=2;
    cx_timeout 20ms;
    cx_connect_timeout 200ms;
    cx_secret k;
    cx_prefix shop:;
    cx_history 20;
    cx_ttl 7d;
    cx_max_pending 64;
--- config
    cx on;
    cx_id $http_x_customer;
    cx_cookie sid max_age=1y secure samesite=lax;
    cx_step home /;
    cx_step item:$1 ~^/item/(\d+)$ /item/$1;
    cx_step search ~*^/search;
    cx_step checkout /checkout /checkout?from=cx;
    cx_goal checkout;
    cx_suggest 5;
    cx_header on;
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
--- no_error_log
[emerg]



=== TEST 2: cx on without cx_redis
--- config
    cx on;
--- must_die
--- error_log eval
qr/\[emerg\] .*no "cx_redis" is defined for the "cx" directive in \S+nginx\.conf:\d+/



=== TEST 3: cx_redis unknown parameter
--- http_config
    cx_redis 127.0.0.1:6379 tls=on;
--- config
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid parameter "tls=on" in \S+nginx\.conf:\d+/



=== TEST 4: cx_redis bad db
--- http_config
    cx_redis 127.0.0.1:6379 db=x;
--- config
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid parameter "db=x" in \S+nginx\.conf:\d+/



=== TEST 5: cx_redis twice
--- http_config
    cx_redis 127.0.0.1:6379;
    cx_redis 127.0.0.1:6380;
--- config
--- must_die
--- error_log eval
qr/\[emerg\] .*"cx_redis" directive is duplicate in \S+nginx\.conf:\d+/



=== TEST 6: cx_redis bad port
--- http_config
    cx_redis 127.0.0.1:99999;
--- config
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid port in "127\.0\.0\.1:99999" of the "cx_redis" directive in \S+nginx\.conf:\d+/



=== TEST 7: cx_redis in a location
--- config
    location / { cx_redis 127.0.0.1:6379; }
--- must_die
--- error_log eval
qr/\[emerg\] .*"cx_redis" directive is not allowed here in \S+nginx\.conf:\d+/



=== TEST 8: cx_timeout bad time
--- http_config
    cx_timeout 10parsecs;
--- config
--- must_die
--- error_log eval
qr/\[emerg\] .*"cx_timeout" directive invalid value in \S+nginx\.conf:\d+/



=== TEST 9: cx_connect_timeout bad time
--- http_config
    cx_connect_timeout -1;
--- config
--- must_die
--- error_log eval
qr/\[emerg\] .*"cx_connect_timeout" directive invalid value in \S+nginx\.conf:\d+/



=== TEST 10: cx_history out of range
--- http_config
    cx_history 0;
--- config
--- must_die
--- error_log eval
qr/\[emerg\] .*value must be between 1 and 10000 in \S+nginx\.conf:\d+/



=== TEST 11: cx_ttl zero
--- http_config
    cx_ttl 0;
--- config
--- must_die
--- error_log eval
qr/\[emerg\] .*"cx_ttl" directive must be at least 1s in \S+nginx\.conf:\d+/



=== TEST 12: cx_prefix that would break the hash tag
--- http_config
    cx_prefix "cx{";
--- config
--- must_die
--- error_log eval
qr/\[emerg\] .*"cx_prefix" directive may only contain letters, digits and "-\._~\/:@!;=\+\*" in \S+nginx\.conf:\d+/



=== TEST 13: cx_max_pending zero
--- http_config
    cx_max_pending 0;
--- config
--- must_die
--- error_log eval
qr/\[emerg\] .*value must be between 1 and 65536 in \S+nginx\.conf:\d+/



=== TEST 14: cx takes on or off
--- config
    cx maybe;
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid value "maybe" in "cx" directive, it must be "on" or "off" in \S+nginx\.conf:\d+/



=== TEST 15: cx_step regex that does not compile
--- config
    cx_step item ~^/item/(\d+$;
--- must_die
--- error_log eval
qr/\[emerg\] .*pcre2?_compile\(\) failed: missing closing parenthesis in "\^\/item\/\(\\d\+\$" .*in \S+nginx\.conf:\d+/



=== TEST 16: cx_step duplicate name
--- config
    cx_step cart /cart;
    cx_step cart /basket;
--- must_die
--- error_log eval
qr/\[emerg\] .*duplicate step name "cart" in \S+nginx\.conf:\d+/



=== TEST 17: cx_step uri that is neither a path nor a regex
--- config
    cx_step cart cart;
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid step uri "cart", it must start with "\/" or "~" in \S+nginx\.conf:\d+/



=== TEST 18: cx_step name uses a capture the regex lacks
--- config
    cx_step item:$2 ~^/item/(\d+)$;
--- must_die
--- error_log eval
qr/\[emerg\] .*step name "item:\$2" uses \$2, but its uri has 1 captures in \S+nginx\.conf:\d+/



=== TEST 19: cx_step name with a character that is not allowed
--- config
    cx_step "my cart" /cart;
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid character " " in step name "my cart" in \S+nginx\.conf:\d+/



=== TEST 20: cx_step url with a quote
--- config
    cx_step cart /cart "/cart\"x";
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid character """ in step url "\/cart"x" in \S+nginx\.conf:\d+/



=== TEST 21: cx_step with too many arguments
--- config
    cx_step cart /cart /cart label=Cart extra;
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid number of arguments in "cx_step" directive in \S+nginx\.conf:\d+/



=== TEST 22: cx_goal naming an undeclared step
--- config
    cx_step cart /cart;
    cx_goal buy;
--- must_die
--- error_log eval
qr/\[emerg\] .*"cx_goal" names "buy", which is not a declared "cx_step" in \S+nginx\.conf:\d+/



=== TEST 23: cx_cookie unknown parameter
--- config
    cx_cookie cx_id httponly;
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid parameter "httponly" in \S+nginx\.conf:\d+/



=== TEST 24: cx_cookie bad max_age
--- config
    cx_cookie cx_id max_age=forever;
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid parameter "max_age=forever" in \S+nginx\.conf:\d+/



=== TEST 25: cx_cookie samesite=none without secure
--- config
    cx_cookie cx_id samesite=none;
--- must_die
--- error_log eval
qr/\[emerg\] .*"samesite=none" requires "secure" in \S+nginx\.conf:\d+/



=== TEST 26: cx_cookie bad name
--- config
    cx_cookie "a;b";
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid cookie name "a;b" in \S+nginx\.conf:\d+/



=== TEST 27: cx_suggest out of range
--- config
    cx_suggest 21;
--- must_die
--- error_log eval
qr/\[emerg\] .*value must be between 1 and 20 in \S+nginx\.conf:\d+/



=== TEST 28: cx_header takes on or off
--- config
    cx_header yes;
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid value "yes" in "cx_header" directive, it must be "on" or "off" in \S+nginx\.conf:\d+/



=== TEST 29: cx_id with a bad variable
--- config
    cx_id $no_such_variable_here;
--- must_die
--- error_log eval
qr/\[emerg\] .*unknown "no_such_variable_here" variable/



=== TEST 30: cx_rule_distance out of range
--- http_config
    cx_rule_distance 9;
--- config
--- must_die
--- error_log eval
qr/\[emerg\] .*value must be between 1 and 8 in \S+nginx\.conf:\d+/



=== TEST 31: cx_half_life below a second
--- http_config
    cx_half_life 500ms;
--- config
--- must_die
--- error_log eval
qr/\[emerg\] .*"cx_half_life" directive must be at least 1s in \S+nginx\.conf:\d+/



=== TEST 32: cx_journey_gap bad time
--- http_config
    cx_journey_gap soon;
--- config
--- must_die
--- error_log eval
qr/\[emerg\] .*"cx_journey_gap" directive invalid value in \S+nginx\.conf:\d+/



=== TEST 33: cx_levels with expert below returning
--- config
    cx_levels returning=3 expert=2;
--- must_die
--- error_log eval
qr/\[emerg\] .*"cx_levels" directive needs "expert" at least "returning" in \S+nginx\.conf:\d+/



=== TEST 34: cx_levels unknown parameter
--- config
    cx_levels novice=1;
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid parameter "novice=1" in \S+nginx\.conf:\d+/



=== TEST 35: cx_pace with relaxed not above hurried
--- config
    cx_pace hurried=10s relaxed=5s;
--- must_die
--- error_log eval
qr/\[emerg\] .*"cx_pace" directive needs "relaxed" longer than "hurried" in \S+nginx\.conf:\d+/



=== TEST 36: cx_help naming an undeclared step
--- config
    cx_step home /;
    cx_help faq;
--- must_die
--- error_log eval
qr/\[emerg\] .*"cx_help" names "faq", which is not a declared "cx_step" in \S+nginx\.conf:\d+/



=== TEST 37: cx_help naming a step without a fixed url
--- config
    cx_step help:$1 ~^/help/(\w+)$;
    cx_help help:$1;
--- must_die
--- error_log eval
qr/\[emerg\] .*"cx_help" names "help:\$1", a step without a fixed name and url in \S+nginx\.conf:\d+/



=== TEST 38: cx_shortcut naming an undeclared step
--- config
    cx_step home /;
    cx_shortcut checkout;
--- must_die
--- error_log eval
qr/\[emerg\] .*"cx_shortcut" names "checkout", which is not a declared "cx_step" in \S+nginx\.conf:\d+/



=== TEST 39: cx_demote above 1
--- config
    cx_demote 1.5;
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid value "1\.5", it must be a number from 0 to 1 in \S+nginx\.conf:\d+/



=== TEST 40: cx_api without cx_redis
--- config
    location = /cx/next { cx_api; }
--- must_die
--- error_log eval
qr/\[emerg\] .*no "cx_redis" is defined for the "cx_api" directive in \S+nginx\.conf:\d+/
