# Every directive's error path fails "nginx -t" style start-up with
# file:line and nginx's own wording.

use Test::Nginx::Socket;
use lib 't/cx';
use CxTest;

repeat_each(2);

plan tests => CxTest::planned(qr/Test::More::(?!diag)\w+\(/, 1);

no_shuffle();

# the exact message of an [emerg], with nginx's " in file:line" after it
sub emerg {
    my $msg = quotemeta shift;
    return qr/\[emerg\] .*$msg in \S+nginx\.conf:\d+/;
}

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
    cx_secret k-0123456789abcdef;
    cx_prefix shop:;
    cx_history 20;
    cx_ttl 7d;
    cx_max_pending 64;
    cx_write_behind 50ms credits=512;
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
main::emerg('invalid parameter "tls=..." in "cx_redis" directive, it must be "user=", "password=", "db=", "tls" or "resolve"')



=== TEST 4: cx_redis bad db
--- http_config
    cx_redis 127.0.0.1:6379 db=x;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "db=x" in "cx_redis" directive, "db" must be a number between 0 and 2147483646')



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
main::emerg('invalid value "10parsecs" in "cx_timeout" directive, it must be a time between 1ms and 10s')



=== TEST 9: cx_connect_timeout bad time
--- http_config
    cx_connect_timeout -1;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "-1" in "cx_connect_timeout" directive, it must be a time between 1ms and 10s')



=== TEST 10: cx_history out of range
--- http_config
    cx_history 0;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "0" in "cx_history" directive, it must be a number between 1 and 10000')



=== TEST 11: cx_ttl zero
--- http_config
    cx_ttl 0;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "0" in "cx_ttl" directive, it must be a time between 1s and 3650d')



=== TEST 12: cx_prefix that would break the hash tag
--- http_config
    cx_prefix "cx{";
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "cx{" in "cx_prefix" directive, it must be 1 to 64 letters, digits or "-._~/:@!;=+*"')



=== TEST 13: cx_max_pending zero
--- http_config
    cx_max_pending 0;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "0" in "cx_max_pending" directive, it must be a number between 1 and 65536')



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
main::emerg('duplicate step name "cart" in "cx_step" directive')



=== TEST 17: cx_step uri that is neither a path nor a regex
--- config
    cx_step cart cart;
--- must_die
--- error_log eval
main::emerg('invalid step uri "cart" in "cx_step" directive, it must start with "/" or "~"')



=== TEST 18: cx_step name uses a capture the regex lacks
--- config
    cx_step item:$2 ~^/item/(\d+)$;
--- must_die
--- error_log eval
main::emerg('invalid step name "item:$2" in "cx_step" directive, it uses $2, but its uri has 1 captures')



=== TEST 19: cx_step name with a character that is not allowed
--- config
    cx_step "my cart" /cart;
--- must_die
--- error_log eval
main::emerg('invalid step name "my cart" in "cx_step" directive, it may only contain letters, digits, "-._~/:@!;=+*" and captures $1..$9')



=== TEST 20: cx_step url with a quote
--- config
    cx_step cart /cart "/cart\"x";
--- must_die
--- error_log eval
main::emerg('invalid step url "/cart"x" in "cx_step" directive, it may only contain letters, digits, "-._~/:@!;=+*%?&#" and captures $1..$9')



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
main::emerg('invalid parameter "httponly" in "cx_cookie" directive, it must be "max_age=", "secure", "samesite=" or "if="')



=== TEST 24: cx_cookie bad max_age
--- config
    cx_cookie cx_id max_age=forever;
--- must_die
--- error_log eval
main::emerg('invalid value "max_age=forever" in "cx_cookie" directive, "max_age" must be a time between 1s and 3650d')



=== TEST 25: cx_cookie samesite=none without secure
--- config
    cx_cookie cx_id samesite=none;
--- must_die
--- error_log eval
main::emerg('"cx_cookie" directive needs "secure" with "samesite=none"')



=== TEST 26: cx_cookie bad name
--- config
    cx_cookie "a;b";
--- must_die
--- error_log eval
main::emerg('invalid cookie name "a;b" in "cx_cookie" directive, it may only contain letters, digits and "_"')



=== TEST 27: cx_suggest out of range
--- config
    cx_suggest 21;
--- must_die
--- error_log eval
main::emerg('invalid value "21" in "cx_suggest" directive, it must be a number between 1 and 20')



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
main::emerg('invalid value "9" in "cx_rule_distance" directive, it must be a number between 1 and 8')



=== TEST 31: cx_half_life below a second
--- http_config
    cx_half_life 500ms;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "500ms" in "cx_half_life" directive, it must be a time between 1s and 3650d')



=== TEST 32: cx_journey_gap bad time
--- http_config
    cx_journey_gap soon;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "soon" in "cx_journey_gap" directive, it must be a time between 1s and 3650d')



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
main::emerg('invalid parameter "novice=1" in "cx_levels" directive, it must be "returning=" or "expert="')



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
main::emerg('invalid value "1.5" in "cx_demote" directive, it must be a number from 0 to 1 with at most three decimals')



=== TEST 40: cx_api without cx_redis
--- config
    location = /cx/next { cx_api; }
--- must_die
--- error_log eval
qr/\[emerg\] .*no "cx_redis" is defined for the "cx_api" directive in \S+nginx\.conf:\d+/



=== TEST 41: cx_timeout 0: every request would time out
--- http_config
    cx_timeout 0;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "0" in "cx_timeout" directive, it must be a time between 1ms and 10s')



=== TEST 42: cx_timeout above 10s
--- http_config
    cx_timeout 11s;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "11s" in "cx_timeout" directive, it must be a time between 1ms and 10s')



=== TEST 43: cx_connect_timeout 0
--- http_config
    cx_connect_timeout 0;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "0" in "cx_connect_timeout" directive, it must be a time between 1ms and 10s')



=== TEST 44: cx_connect_timeout above 10s
--- http_config
    cx_connect_timeout 1m;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "1m" in "cx_connect_timeout" directive, it must be a time between 1ms and 10s')



=== TEST 45: cx_journey_gap 0
--- http_config
    cx_journey_gap 0;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "0" in "cx_journey_gap" directive, it must be a time between 1s and 3650d')



=== TEST 46: cx_journey_gap below a second
--- http_config
    cx_journey_gap 999ms;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "999ms" in "cx_journey_gap" directive, it must be a time between 1s and 3650d')



=== TEST 47: cx_secret empty
--- http_config
    cx_secret "";
--- config
--- must_die
--- error_log eval
main::emerg('invalid value in "cx_secret" directive, it must be at least 16 bytes long')



=== TEST 48: cx_secret of one character
--- http_config
    cx_secret k;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value in "cx_secret" directive, it must be at least 16 bytes long')



=== TEST 49: cx_secret of 15 bytes
--- http_config
    cx_secret 0123456789abcde;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value in "cx_secret" directive, it must be at least 16 bytes long')



=== TEST 50: cx_prefix empty
--- http_config
    cx_prefix "";
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "" in "cx_prefix" directive, it must be 1 to 64 letters, digits or "-._~/:@!;=+*"')



=== TEST 51: cx_prefix of 65 characters
--- http_config
    cx_prefix ppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "ppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp" in "cx_prefix" directive, it must be 1 to 64 letters, digits or "-._~/:@!;=+*"')



=== TEST 52: cx_history above 10000
--- http_config
    cx_history 10001;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "10001" in "cx_history" directive, it must be a number between 1 and 10000')



=== TEST 53: cx_max_pending above 65536
--- http_config
    cx_max_pending 65537;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "65537" in "cx_max_pending" directive, it must be a number between 1 and 65536')



=== TEST 54: cx_rule_distance 0
--- http_config
    cx_rule_distance 0;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "0" in "cx_rule_distance" directive, it must be a number between 1 and 8')



=== TEST 55: cx_suggest 0
--- config
    cx_suggest 0;
--- must_die
--- error_log eval
main::emerg('invalid value "0" in "cx_suggest" directive, it must be a number between 1 and 20')



=== TEST 56: cx_redis with an empty password
--- http_config
    cx_redis 127.0.0.1:6379 password=;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "password=" in "cx_redis" directive, "password" must not be empty')



=== TEST 57: cx_cookie max_age=0: a new cookie on every page
--- config
    cx_cookie cx_id max_age=0;
--- must_die
--- error_log eval
main::emerg('invalid value "max_age=0" in "cx_cookie" directive, "max_age" must be a time between 1s and 3650d')



=== TEST 58: cx_cookie samesite of another value
--- config
    cx_cookie cx_id samesite=loose;
--- must_die
--- error_log eval
main::emerg('invalid value "samesite=loose" in "cx_cookie" directive, "samesite" must be "lax", "strict" or "none"')



=== TEST 59: cx_cookie name that $cookie_ cannot read back
--- config
    cx_cookie cx-id;
--- must_die
--- error_log eval
main::emerg('invalid cookie name "cx-id" in "cx_cookie" directive, it may only contain letters, digits and "_"')



=== TEST 60: cx_step uri with a query never matches
--- config
    cx_step q /q?y=1;
--- must_die
--- error_log eval
main::emerg('invalid step uri "/q?y=1" in "cx_step" directive, it is compared with the decoded path of a request, without its query, and may not contain "?", "#", "%" or control characters')



=== TEST 61: cx_step uri with a fragment never matches
--- config
    cx_step faq /faq#top /faq;
--- must_die
--- error_log eval
main::emerg('invalid step uri "/faq#top" in "cx_step" directive, it is compared with the decoded path of a request, without its query, and may not contain "?", "#", "%" or control characters')



=== TEST 62: cx_step uri with an escape never matches
--- config
    cx_step cafe /caf%C3%A9;
--- must_die
--- error_log eval
main::emerg('invalid step uri "/caf%C3%A9" in "cx_step" directive, it is compared with the decoded path of a request, without its query, and may not contain "?", "#", "%" or control characters')



=== TEST 63: cx_step uri with a control character
--- config
    cx_step tab "/a\tb" /a;
--- must_die
--- error_log eval
main::emerg('invalid step uri "/a' . "\t" . 'b" in "cx_step" directive, it is compared with the decoded path of a request, without its query, and may not contain "?", "#", "%" or control characters')



=== TEST 64: cx_step url with a space
--- config
    cx_step s /s "/s x";
--- must_die
--- error_log eval
main::emerg('invalid step url "/s x" in "cx_step" directive, it may only contain letters, digits, "-._~/:@!;=+*%?&#" and captures $1..$9')



=== TEST 65: cx_step url with a control character
--- config
    cx_step s /s "/s\tx";
--- must_die
--- error_log eval
main::emerg('invalid step url "/s' . "\t" . 'x" in "cx_step" directive, it may only contain letters, digits, "-._~/:@!;=+*%?&#" and captures $1..$9')



=== TEST 66: cx_step url with a broken escape
--- config
    cx_step s /s /s%zz;
--- must_die
--- error_log eval
main::emerg('invalid step url "/s%zz" in "cx_step" directive, "%" must start an escape of two hex digits')



=== TEST 67: cx_step regex step url with a fragment is never suggested
--- config
    cx_step item:$1 ~^/item/(\d+)$ /item/$1#reviews;
--- must_die
--- error_log eval
main::emerg('invalid step url "/item/$1#reviews" in "cx_step" directive, a regex step\'s url may not have a fragment ("#")')



=== TEST 68: cx_step regex step url its regex does not match is never suggested
--- config
    cx_step search ~^/s/ /search;
--- must_die
--- error_log eval
main::emerg('invalid step url "/search" in "cx_step" directive, its regex "~^/s/" must match its path, or it is never suggested')



=== TEST 69: cx_step empty regex
--- config
    cx_step all ~*;
--- must_die
--- error_log eval
main::emerg('invalid step uri "~*" in "cx_step" directive, a regex must follow "~" or "~*"')



=== TEST 70: cx_demote with more than three decimals
--- config
    cx_demote 0.1255;
--- must_die
--- error_log eval
main::emerg('invalid value "0.1255" in "cx_demote" directive, it must be a number from 0 to 1 with at most three decimals')



=== TEST 71: cx_levels returning=0
--- config
    cx_levels returning=0;
--- must_die
--- error_log eval
main::emerg('invalid value "returning=0" in "cx_levels" directive, "returning" must be a number, 1 or more')



=== TEST 72: cx_levels expert that is no number
--- config
    cx_levels expert=many;
--- must_die
--- error_log eval
main::emerg('invalid value "expert=many" in "cx_levels" directive, "expert" must be a number, 1 or more')



=== TEST 73: cx_pace hurried that is no time
--- config
    cx_pace hurried=soon;
--- must_die
--- error_log eval
main::emerg('invalid value "hurried=soon" in "cx_pace" directive, "hurried" must be a time between 0 and 3650d')



=== TEST 74: cx_pace unknown parameter
--- config
    cx_pace slow=1s;
--- must_die
--- error_log eval
main::emerg('invalid parameter "slow=1s" in "cx_pace" directive, it must be "hurried=" or "relaxed="')



=== TEST 75: cx_id empty
--- config
    cx_id "";
--- must_die
--- error_log eval
main::emerg('invalid value "" in "cx_id" directive, it must not be empty')



=== TEST 76: cx_time empty
--- config
    cx_time "";
--- must_die
--- error_log eval
main::emerg('invalid value "" in "cx_time" directive, it must not be empty')



=== TEST 77: cx_inject_template empty
--- config
    cx_inject_template "";
--- must_die
--- error_log eval
main::emerg('invalid value "" in "cx_inject_template" directive, it must not be empty')



=== TEST 78: the edges of every range start, attributes in any case
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    cx_timeout 10s;
    cx_connect_timeout 1ms;
    cx_secret 0123456789abcdef;
    cx_journey_gap 1s;
    cx_half_life 1s;
    cx_ttl 1s;
    cx_history 10000;
    cx_max_pending 65536;
    cx_rule_distance 8;
--- config
    cx on;
    cx_cookie Cx_Id_2 max_age=1s Secure SameSite=Lax;
    cx_step home /;
    cx_step faq /faq /faq#top;
    cx_step search ~^/search$ /search?from=cx;
    cx_step item:$1 ~^/item/(\d+)$ /item/$1?ref=cx;
    cx_step page "/my page" /my%20page;
    cx_demote 0.125;
    cx_revisit 1;
    cx_levels returning=1 expert=1;
    cx_pace hurried=0 relaxed=1ms;
    cx_suggest 20;
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok



=== TEST 79: cx_timeout -1: the range, not only "invalid value"
--- http_config
    cx_timeout -1;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "-1" in "cx_timeout" directive, it must be a time between 1ms and 10s')



=== TEST 80: cx_connect_timeout in years, which a time in ms cannot be
--- http_config
    cx_connect_timeout 1y;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "1y" in "cx_connect_timeout" directive, it must be a time between 1ms and 10s')



=== TEST 81: cx_ttl 500ms: cx_ttl is in seconds
--- http_config
    cx_ttl 500ms;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "500ms" in "cx_ttl" directive, it must be a time between 1s and 3650d')



=== TEST 82: cx_ttl 1000y: past the cap
--- http_config
    cx_ttl 1000y;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "1000y" in "cx_ttl" directive, it must be a time between 1s and 3650d')



=== TEST 83: cx_ttl 100000d: past the cap
--- http_config
    cx_ttl 100000d;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "100000d" in "cx_ttl" directive, it must be a time between 1s and 3650d')



=== TEST 84: cx_ttl 3651d: a day past the cap, in a server
--- config
    cx_ttl 3651d;
--- must_die
--- error_log eval
main::emerg('invalid value "3651d" in "cx_ttl" directive, it must be a time between 1s and 3650d')



=== TEST 85: cx_ttl too large for nginx to parse
--- http_config
    cx_ttl 99999999999999999999;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "99999999999999999999" in "cx_ttl" directive, it must be a time between 1s and 3650d')



=== TEST 86: cx_half_life past the cap
--- http_config
    cx_half_life 3651d;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "3651d" in "cx_half_life" directive, it must be a time between 1s and 3650d')



=== TEST 87: cx_journey_gap negative
--- http_config
    cx_journey_gap -5m;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "-5m" in "cx_journey_gap" directive, it must be a time between 1s and 3650d')



=== TEST 88: cx_history negative
--- http_config
    cx_history -1;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "-1" in "cx_history" directive, it must be a number between 1 and 10000')



=== TEST 89: cx_max_pending with a unit
--- http_config
    cx_max_pending 64k;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "64k" in "cx_max_pending" directive, it must be a number between 1 and 65536')



=== TEST 90: cx_rule_distance that is no number
--- http_config
    cx_rule_distance far;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "far" in "cx_rule_distance" directive, it must be a number between 1 and 8')



=== TEST 91: cx_suggest negative
--- config
    cx_suggest -3;
--- must_die
--- error_log eval
main::emerg('invalid value "-3" in "cx_suggest" directive, it must be a number between 1 and 20')



=== TEST 92: cx_cookie max_age past the cap
--- config
    cx_cookie cx_id max_age=100000d;
--- must_die
--- error_log eval
main::emerg('invalid value "max_age=100000d" in "cx_cookie" directive, "max_age" must be a time between 1s and 3650d')



=== TEST 93: cx_cookie max_age negative
--- config
    cx_cookie cx_id max_age=-1;
--- must_die
--- error_log eval
main::emerg('invalid value "max_age=-1" in "cx_cookie" directive, "max_age" must be a time between 1s and 3650d')



=== TEST 94: cx_pace relaxed negative
--- config
    cx_pace hurried=1s relaxed=-1s;
--- must_die
--- error_log eval
main::emerg('invalid value "relaxed=-1s" in "cx_pace" directive, "relaxed" must be a time between 1ms and 3650d')



=== TEST 95: cx_pace hurried past the cap
--- config
    cx_pace hurried=3651d;
--- must_die
--- error_log eval
main::emerg('invalid value "hurried=3651d" in "cx_pace" directive, "hurried" must be a time between 0 and 3650d')



=== TEST 96: the caps of the time ranges start
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    cx_secret 0123456789abcdef;
    cx_journey_gap 3650d;
    cx_half_life 87600h;
    cx_ttl 3650d;
--- config
    cx on;
    cx_cookie cx_id max_age=3650d;
    cx_step home /;
    cx_pace hurried=3649d relaxed=3650d;
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok



=== TEST 97: cx_levels returning above the expert it does not give
--- config
    cx_levels returning=5;
--- must_die
--- error_log eval
main::emerg('"cx_levels" directive needs "expert" at least "returning", and "expert" is 3 when not given')



=== TEST 98: cx_pace hurried above the relaxed it does not give
--- config
    cx_pace hurried=90s;
--- must_die
--- error_log eval
main::emerg('"cx_pace" directive needs "relaxed" longer than "hurried", and "relaxed" is 60s when not given')



=== TEST 99: cx_pace relaxed below the hurried it does not give
--- config
    cx_pace relaxed=2s;
--- must_die
--- error_log eval
main::emerg('"cx_pace" directive needs "relaxed" longer than "hurried", and "hurried" is 5s when not given')



=== TEST 100: cx_cookie max_age twice
--- config
    cx_cookie cx_id max_age=1d max_age=2d;
--- must_die
--- error_log eval
main::emerg('duplicate parameter "max_age=2d" in "cx_cookie" directive')



=== TEST 101: cx_cookie secure twice, in another case
--- config
    cx_cookie cx_id secure Secure;
--- must_die
--- error_log eval
main::emerg('duplicate parameter "Secure" in "cx_cookie" directive')



=== TEST 102: cx_cookie samesite twice
--- config
    cx_cookie cx_id samesite=lax samesite=strict;
--- must_die
--- error_log eval
main::emerg('duplicate parameter "samesite=strict" in "cx_cookie" directive')



=== TEST 103: cx_redis db twice
--- http_config
    cx_redis 127.0.0.1:6379 db=1 db=2;
--- config
--- must_die
--- error_log eval
main::emerg('duplicate parameter "db=2" in "cx_redis" directive')



=== TEST 104: cx_levels returning twice
--- config
    cx_levels returning=2 returning=3;
--- must_die
--- error_log eval
main::emerg('duplicate parameter "returning=3" in "cx_levels" directive')



=== TEST 105: cx_pace hurried twice
--- config
    cx_pace hurried=1s hurried=2s;
--- must_die
--- error_log eval
main::emerg('duplicate parameter "hurried=2s" in "cx_pace" directive')



=== TEST 106: cx_inject_text next twice
--- config
    cx_inject_text next=a next=b;
--- must_die
--- error_log eval
main::emerg('duplicate parameter "next=b" in "cx_inject_text" directive')



=== TEST 107: cx_step: a second step on the same uri
--- config
    cx_step cart /cart;
    cx_step basket /cart;
--- must_die
--- error_log eval
main::emerg('duplicate step uri "/cart" in "cx_step" directive')



=== TEST 108: cx_step: a second step on the same regex
--- config
    cx_step item:$1 ~^/item/(\d+)$;
    cx_step product:$1 ~^/item/(\d+)$ /item/$1;
--- must_die
--- error_log eval
main::emerg('duplicate step uri "~^/item/(\d+)$" in "cx_step" directive')



=== TEST 109: cx_step: the same uri in another level, or written otherwise
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    cx_secret 0123456789abcdef;
--- config
    cx on;
    cx_step cart /cart;
    cx_step item ~^/item$;
    cx_step item-any-case ~*^/item$;
    cx_step cart-again ~^/cart$;
    location = /t {
        cx_step cart /cart;
        return 200 "ok\n";
    }
--- request
GET /t
--- response_body
ok



=== TEST 110: cx_redis db past what a redis-server can have
--- http_config
    cx_redis 127.0.0.1:6379 db=2147483647;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "db=2147483647" in "cx_redis" directive, "db" must be a number between 0 and 2147483646')



=== TEST 111: cx_redis db negative
--- http_config
    cx_redis 127.0.0.1:6379 db=-1;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "db=-1" in "cx_redis" directive, "db" must be a number between 0 and 2147483646')



=== TEST 112: cx_inject_item_template empty
--- config
    cx_inject_item_template "";
--- must_die
--- error_log eval
main::emerg('invalid value "" in "cx_inject_item_template" directive, it must not be empty')



=== TEST 113: cx_skip with an empty value, which is never true
--- config
    cx_skip $http_x_bot "";
--- must_die
--- error_log eval
main::emerg('invalid value "" in "cx_skip" directive, it must not be empty')



=== TEST 114: cx_redis never shows a password, twice or misspelt
--- http_config
    cx_redis 127.0.0.1:6379 password=hunter2-a password=hunter2-b;
--- config
--- must_die
--- error_log eval
main::emerg('duplicate parameter "password=..." in "cx_redis" directive')
--- no_error_log
hunter2



=== TEST 115: cx_redis, a misspelt password parameter
--- http_config
    cx_redis 127.0.0.1:6379 Password=hunter2;
--- config
--- must_die
--- error_log eval
main::emerg('invalid parameter "Password=..." in "cx_redis" directive, it must be "user=", "password=", "db=", "tls" or "resolve"')
--- no_error_log
hunter2



=== TEST 116: cx_holdout above 100%
--- config
    cx_holdout 100.5%;
--- must_die
--- error_log eval
main::emerg('invalid value "100.5%" in "cx_holdout" directive, it must be a percentage between 0 and 100 with at most two decimals')



=== TEST 117: cx_holdout with three decimals
--- config
    cx_holdout 0.125;
--- must_die
--- error_log eval
main::emerg('invalid value "0.125" in "cx_holdout" directive, it must be a percentage between 0 and 100 with at most two decimals')



=== TEST 118: cx_holdout twice
--- config
    cx_holdout 5%;
    cx_holdout 10%;
--- must_die
--- error_log eval
main::emerg('"cx_holdout" directive is duplicate')



=== TEST 119: cx_holdout with and without "%", with decimals
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    cx_secret k-0123456789abcdef;
    cx_holdout 12.5%;
--- config
    cx_holdout 0;
    location = /t { cx_holdout 100; return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok



=== TEST 120: the privacy switches start, at every level
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    cx_secret k-0123456789abcdef;
    cx_privacy_signals off;
--- config
    cx on;
    cx_privacy_signals on;
    cx_cookie cx_id max_age=1d if=$cookie_consent;
    cx_step home /;
    location = /t {
        cx_privacy_signals off;
        return 200 "ok\n";
    }
    location = /forget { cx_forget; }
--- request
GET /t
--- response_body
ok
--- no_error_log
[emerg]



=== TEST 121: cx_cookie if twice
--- config
    cx_cookie cx_id if=$cookie_a if=$cookie_b;
--- must_die
--- error_log eval
main::emerg('duplicate parameter "if=$cookie_b" in "cx_cookie" directive')



=== TEST 122: cx_cookie if empty
--- config
    cx_cookie cx_id if=;
--- must_die
--- error_log eval
main::emerg('invalid value "if=" in "cx_cookie" directive, "if" must not be empty')



=== TEST 123: cx_forget without cx_redis
--- config
    location = /forget { cx_forget; }
--- must_die
--- error_log eval
qr/\[emerg\] .*no "cx_redis" is defined for the "cx_forget" directive in \S+nginx\.conf:\d+/



=== TEST 124: cx_forget takes no argument
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /forget { cx_forget all; }
--- must_die
--- error_log eval
main::emerg('invalid number of arguments in "cx_forget" directive')



=== TEST 125: cx_forget is a location's
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    cx_forget;
--- must_die
--- error_log eval
main::emerg('"cx_forget" directive is not allowed here')



=== TEST 126: cx_privacy_signals takes on or off
--- config
    cx_privacy_signals yes;
--- must_die
--- error_log eval
main::emerg('invalid value "yes" in "cx_privacy_signals" directive, it must be "on" or "off"')



=== TEST 127: cx_model_cache with valid= starts
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    cx_model_cache 10m valid=500ms;
--- config
    cx on;
    cx_step home /;
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
--- no_error_log
[emerg]



=== TEST 128: cx_model_cache bad size
--- http_config
    cx_model_cache x;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "x" in "cx_model_cache" directive, it must be a size or "off"')



=== TEST 129: cx_model_cache zone smaller than 8 pages
--- http_config
    cx_model_cache 16k;
--- config
--- must_die
--- error_log eval
main::emerg('zone "cx_model_cache" of "16k" is too small, it must be at least 8 pages (32k)')



=== TEST 130: cx_model_cache unknown parameter
--- http_config
    cx_model_cache 1m inactive=10m;
--- config
--- must_die
--- error_log eval
main::emerg('invalid parameter "inactive=10m" in "cx_model_cache" directive, it must be "valid=" or "customers="')



=== TEST 131: cx_model_cache valid of no time
--- http_config
    cx_model_cache 1m valid=0;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "valid=0" in "cx_model_cache" directive, "valid" must be a time between 1ms and 1h')



=== TEST 132: cx_model_cache valid too long
--- http_config
    cx_model_cache 1m valid=2h;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "valid=2h" in "cx_model_cache" directive, "valid" must be a time between 1ms and 1h')



=== TEST 133: cx_model_cache twice
--- http_config
    cx_model_cache 1m;
    cx_model_cache off;
--- config
--- must_die
--- error_log eval
main::emerg('"cx_model_cache" directive is duplicate')



=== TEST 134: cx_model_cache off takes no parameter
--- http_config
    cx_model_cache off valid=1s;
--- config
--- must_die
--- error_log eval
main::emerg('invalid parameter "valid=1s" in "cx_model_cache" directive, "off" takes none')



=== TEST 135: cx_model_cache is http's
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    cx_model_cache 1m;
--- must_die
--- error_log eval
main::emerg('"cx_model_cache" directive is not allowed here')



=== TEST 136: cx_model_cache takes valid= once
--- http_config
    cx_model_cache 1m valid=1s valid=2s;
--- config
--- must_die
--- error_log eval
main::emerg('duplicate parameter "valid=2s" in "cx_model_cache" directive')



=== TEST 137: cx_model_cache customers of no time
--- http_config
    cx_model_cache 1m customers=forever;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "customers=forever" in "cx_model_cache" directive, "customers" must be a time between 0 and 1d')



=== TEST 138: cx_model_cache customers too long
--- http_config
    cx_model_cache 1m valid=1s customers=2d;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "customers=2d" in "cx_model_cache" directive, "customers" must be a time between 0 and 1d')



=== TEST 139: cx_write_behind bad time
--- http_config
    cx_write_behind soon;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "soon" in "cx_write_behind" directive, it must be a time between 0 and 1h')



=== TEST 140: cx_write_behind beyond an hour
--- http_config
    cx_write_behind 61m;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "61m" in "cx_write_behind" directive, it must be a time between 0 and 1h')



=== TEST 141: cx_write_behind credits=0
--- http_config
    cx_write_behind 100ms credits=0;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "credits=0" in "cx_write_behind" directive, "credits" must be a number between 1 and 8192')



=== TEST 142: cx_write_behind credits beyond the table's bound
--- http_config
    cx_write_behind 0 credits=8193;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "credits=8193" in "cx_write_behind" directive, "credits" must be a number between 1 and 8192')



=== TEST 143: cx_write_behind unknown parameter
--- http_config
    cx_write_behind 0 size=10;
--- config
--- must_die
--- error_log eval
main::emerg('invalid parameter "size=10" in "cx_write_behind" directive, it must be "credits="')



=== TEST 144: cx_write_behind twice
--- http_config
    cx_write_behind 0;
    cx_write_behind 1s;
--- config
--- must_die
--- error_log eval
main::emerg('"cx_write_behind" directive is duplicate')



=== TEST 145: cx_write_behind is the http block's
--- config
    cx_write_behind 0;
--- must_die
--- error_log eval
main::emerg('"cx_write_behind" directive is not allowed here')



=== TEST 146: cx_redis user without a password
--- http_config
    cx_redis 127.0.0.1:6379 user=cxuser;
--- config
--- must_die
--- error_log eval
main::emerg('"user=" in "cx_redis" directive requires "password="')



=== TEST 147: cx_redis with an empty user
--- http_config
    cx_redis 127.0.0.1:6379 user= password=secret;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "user=" in "cx_redis" directive, "user" must be 1 to 256 bytes, without spaces or control characters')



=== TEST 148: cx_redis user with a control character, not shown
--- http_config
    cx_redis 127.0.0.1:6379 "user=cx\tuser" password=secret;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "user=..." in "cx_redis" directive, "user" must be 1 to 256 bytes, without spaces or control characters')



=== TEST 149: cx_redis user with a space
--- http_config
    cx_redis 127.0.0.1:6379 "user=cx user" password=secret;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "user=..." in "cx_redis" directive, "user" must be 1 to 256 bytes, without spaces or control characters')



=== TEST 150: cx_redis user too long
--- http_config eval
"    cx_redis 127.0.0.1:6379 user=" . ("u" x 257) . " password=secret;"
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "user=..." in "cx_redis" directive, "user" must be 1 to 256 bytes, without spaces or control characters')



=== TEST 151: cx_redis user of the longest length
--- http_config eval
"    cx_redis 127.0.0.1:\$TEST_NGINX_REDIS_PORT user=" . ("u" x 256)
. " password=secret;"
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
--- no_error_log
[emerg]



=== TEST 152: cx_redis user twice
--- http_config
    cx_redis 127.0.0.1:6379 user=a password=secret user=b;
--- config
--- must_die
--- error_log eval
main::emerg('duplicate parameter "user=b" in "cx_redis" directive')



=== TEST 153: cx_redis_sentinel, a complete form, starts without asking
--- http_config
    cx_redis_sentinel cx 127.0.0.1:1 127.0.0.1 unix:/nonexistent/sentinel.sock user=cxuser password=secret db=2 sentinel_password=sentpw;
    cx_connect_timeout 200ms;
--- config
    cx on;
    cx_step home /;
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
--- no_error_log
[emerg]
sentpw



=== TEST 154: cx_redis_sentinel with a name only
--- http_config
    cx_redis_sentinel cx;
--- config
--- must_die
--- error_log eval
main::emerg('invalid number of arguments in "cx_redis_sentinel" directive')



=== TEST 155: cx_redis_sentinel with parameters and no sentinel
--- http_config
    cx_redis_sentinel cx password=secret db=1;
--- config
--- must_die
--- error_log eval
main::emerg('invalid number of arguments in "cx_redis_sentinel" directive')



=== TEST 156: cx_redis_sentinel bad port
--- http_config
    cx_redis_sentinel cx 127.0.0.1:26379 127.0.0.1:99999;
--- config
--- must_die
--- error_log eval
main::emerg('invalid port in "127.0.0.1:99999" of the "cx_redis_sentinel" directive')



=== TEST 157: cx_redis_sentinel unknown parameter
--- http_config
    cx_redis_sentinel cx 127.0.0.1 tls=on;
--- config
--- must_die
--- error_log eval
main::emerg('invalid parameter "tls=..." in "cx_redis_sentinel" directive, it must be "user=", "password=", "db=", "tls", "sentinel_password=", "sentinel_tls" or "resolve"')



=== TEST 158: cx_redis_sentinel, a misspelt password parameter, not shown
--- http_config
    cx_redis_sentinel cx 127.0.0.1 Sentinel_password=hunter2;
--- config
--- must_die
--- error_log eval
main::emerg('invalid parameter "Sentinel_password=..." in "cx_redis_sentinel" directive, it must be "user=", "password=", "db=", "tls", "sentinel_password=", "sentinel_tls" or "resolve"')
--- no_error_log
hunter2



=== TEST 159: cx_redis_sentinel empty sentinel_password
--- http_config
    cx_redis_sentinel cx 127.0.0.1 sentinel_password=;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "sentinel_password=" in "cx_redis_sentinel" directive, "sentinel_password" must not be empty')



=== TEST 160: cx_redis_sentinel sentinel_password twice, not shown
--- http_config
    cx_redis_sentinel cx 127.0.0.1 sentinel_password=hunter2-a sentinel_password=hunter2-b;
--- config
--- must_die
--- error_log eval
main::emerg('duplicate parameter "sentinel_password=..." in "cx_redis_sentinel" directive')
--- no_error_log
hunter2



=== TEST 161: cx_redis_sentinel password twice, not shown
--- http_config
    cx_redis_sentinel cx 127.0.0.1 password=hunter2-a password=hunter2-b;
--- config
--- must_die
--- error_log eval
main::emerg('duplicate parameter "password=..." in "cx_redis_sentinel" directive')
--- no_error_log
hunter2



=== TEST 162: cx_redis_sentinel empty password
--- http_config
    cx_redis_sentinel cx 127.0.0.1 password=;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "password=" in "cx_redis_sentinel" directive, "password" must not be empty')



=== TEST 163: cx_redis_sentinel user without a password
--- http_config
    cx_redis_sentinel cx 127.0.0.1 user=cxuser;
--- config
--- must_die
--- error_log eval
main::emerg('"user=" in "cx_redis_sentinel" directive requires "password="')



=== TEST 164: cx_redis_sentinel user with a space
--- http_config
    cx_redis_sentinel cx 127.0.0.1 "user=cx user" password=secret;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "user=..." in "cx_redis_sentinel" directive, "user" must be 1 to 256 bytes, without spaces or control characters')



=== TEST 165: cx_redis_sentinel user twice
--- http_config
    cx_redis_sentinel cx 127.0.0.1 user=a password=secret user=b;
--- config
--- must_die
--- error_log eval
main::emerg('duplicate parameter "user=b" in "cx_redis_sentinel" directive')



=== TEST 166: cx_redis_sentinel bad db
--- http_config
    cx_redis_sentinel cx 127.0.0.1 db=2147483647;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "db=2147483647" in "cx_redis_sentinel" directive, "db" must be a number between 0 and 2147483646')



=== TEST 167: cx_redis_sentinel db twice
--- http_config
    cx_redis_sentinel cx 127.0.0.1 db=1 db=2;
--- config
--- must_die
--- error_log eval
main::emerg('duplicate parameter "db=2" in "cx_redis_sentinel" directive')



=== TEST 168: cx_redis_sentinel master name with a space
--- http_config
    cx_redis_sentinel "c x" 127.0.0.1;
--- config
--- must_die
--- error_log eval
main::emerg('invalid master name "..." in "cx_redis_sentinel" directive, it must be 1 to 256 bytes, without spaces or control characters')



=== TEST 169: cx_redis_sentinel empty master name
--- http_config
    cx_redis_sentinel "" 127.0.0.1;
--- config
--- must_die
--- error_log eval
main::emerg('invalid master name "" in "cx_redis_sentinel" directive, it must be 1 to 256 bytes, without spaces or control characters')



=== TEST 170: cx_redis_sentinel master name too long
--- http_config eval
"    cx_redis_sentinel " . ("m" x 257) . " 127.0.0.1;"
--- config
--- must_die
--- error_log eval
main::emerg('invalid master name "..." in "cx_redis_sentinel" directive, it must be 1 to 256 bytes, without spaces or control characters')



=== TEST 171: cx_redis_sentinel twice
--- http_config
    cx_redis_sentinel cx 127.0.0.1;
    cx_redis_sentinel cx 127.0.0.2;
--- config
--- must_die
--- error_log eval
main::emerg('"cx_redis_sentinel" directive is duplicate')



=== TEST 172: cx_redis, then cx_redis_sentinel
--- http_config
    cx_redis 127.0.0.1:6379;
    cx_redis_sentinel cx 127.0.0.1;
--- config
--- must_die
--- error_log eval
main::emerg('"cx_redis_sentinel" directive conflicts with "cx_redis"')



=== TEST 173: cx_redis_sentinel, then cx_redis
--- http_config
    cx_redis_sentinel cx 127.0.0.1;
    cx_redis 127.0.0.1:6379;
--- config
--- must_die
--- error_log eval
main::emerg('"cx_redis" directive conflicts with "cx_redis_sentinel"')



=== TEST 174: cx_redis_sentinel in a location
--- config
    location / { cx_redis_sentinel cx 127.0.0.1; }
--- must_die
--- error_log eval
main::emerg('"cx_redis_sentinel" directive is not allowed here')



=== TEST 175: cx_rule_reverse above 1
--- http_config
    cx_rule_reverse 1.5;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "1.5" in "cx_rule_reverse" directive, it must be a number from 0 to 1 with at most three decimals')



=== TEST 176: cx_rule_reverse with more than three decimals
--- http_config
    cx_rule_reverse 0.1255;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "0.1255" in "cx_rule_reverse" directive, it must be a number from 0 to 1 with at most three decimals')



=== TEST 177: cx_rule_reverse twice
--- http_config
    cx_rule_reverse 0.5;
    cx_rule_reverse 1;
--- config
--- must_die
--- error_log eval
main::emerg('"cx_rule_reverse" directive is duplicate')



=== TEST 178: cx_journey_steps 0
--- http_config
    cx_journey_steps 0;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "0" in "cx_journey_steps" directive, it must be a number between 1 and 8')



=== TEST 179: cx_journey_steps 9
--- http_config
    cx_journey_steps 9;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "9" in "cx_journey_steps" directive, it must be a number between 1 and 8')



=== TEST 180: cx_rule_reverse and cx_journey_steps at their bounds start
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    cx_secret k-0123456789abcdef;
    cx_rule_reverse 0;
    cx_journey_steps 8;
--- config
    cx on;
    cx_step home /;
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
--- no_error_log
[emerg]



=== TEST 181: cx_redis_cluster, a complete form, starts without asking
--- http_config
    cx_redis_cluster 127.0.0.1:1 127.0.0.1 [::1]:2 user=cxuser password=pw181;
    cx_connect_timeout 200ms;
    cx_secret k-0123456789abcdef;
--- config
    cx on;
    cx_step home /;
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
--- no_error_log
[emerg]
pw181



=== TEST 182: cx_redis_cluster with parameters and no node
--- http_config
    cx_redis_cluster password=secret;
--- config
--- must_die
--- error_log eval
main::emerg('invalid number of arguments in "cx_redis_cluster" directive')



=== TEST 183: cx_redis_cluster with db=
--- http_config
    cx_redis_cluster 127.0.0.1:7000 db=1;
--- config
--- must_die
--- error_log eval
main::emerg('invalid parameter "db=1" in "cx_redis_cluster" directive, a Redis Cluster has database 0 only')



=== TEST 184: cx_redis_cluster unknown parameter
--- http_config
    cx_redis_cluster 127.0.0.1:7000 tls=on;
--- config
--- must_die
--- error_log eval
main::emerg('invalid parameter "tls=..." in "cx_redis_cluster" directive, it must be "user=", "password=", "tls" or "resolve"')



=== TEST 185: cx_redis_cluster, a misspelt password parameter, not shown
--- http_config
    cx_redis_cluster 127.0.0.1:7000 Password=hunter2;
--- config
--- must_die
--- error_log eval
main::emerg('invalid parameter "Password=..." in "cx_redis_cluster" directive, it must be "user=", "password=", "tls" or "resolve"')
--- no_error_log
hunter2



=== TEST 186: cx_redis_cluster bad port
--- http_config
    cx_redis_cluster 127.0.0.1:7000 127.0.0.1:99999;
--- config
--- must_die
--- error_log eval
main::emerg('invalid port in "127.0.0.1:99999" of the "cx_redis_cluster" directive')



=== TEST 187: cx_redis_cluster with a unix socket
--- http_config
    cx_redis_cluster unix:/tmp/redis.sock;
--- config
--- must_die
--- error_log eval
main::emerg('invalid address "unix:/tmp/redis.sock" in "cx_redis_cluster" directive, the nodes of a Redis Cluster are reached over TCP')



=== TEST 188: cx_redis_cluster user= without password=
--- http_config
    cx_redis_cluster 127.0.0.1:7000 user=cxuser;
--- config
--- must_die
--- error_log eval
main::emerg('"user=" in "cx_redis_cluster" directive requires "password="')



=== TEST 189: cx_redis_cluster twice
--- http_config
    cx_redis_cluster 127.0.0.1:7000;
    cx_redis_cluster 127.0.0.1:7001;
--- config
--- must_die
--- error_log eval
main::emerg('"cx_redis_cluster" directive is duplicate')



=== TEST 190: cx_redis, then cx_redis_cluster
--- http_config
    cx_redis 127.0.0.1:6379;
    cx_redis_cluster 127.0.0.1:7000;
--- config
--- must_die
--- error_log eval
main::emerg('"cx_redis_cluster" directive conflicts with "cx_redis"')



=== TEST 191: cx_redis_cluster, then cx_redis
--- http_config
    cx_redis_cluster 127.0.0.1:7000;
    cx_redis 127.0.0.1:6379;
--- config
--- must_die
--- error_log eval
main::emerg('"cx_redis" directive conflicts with "cx_redis_cluster"')



=== TEST 192: cx_redis_sentinel, then cx_redis_cluster
--- http_config
    cx_redis_sentinel cx 127.0.0.1;
    cx_redis_cluster 127.0.0.1:7000;
--- config
--- must_die
--- error_log eval
main::emerg('"cx_redis_cluster" directive conflicts with "cx_redis_sentinel"')



=== TEST 193: cx_redis_cluster, then cx_redis_sentinel
--- http_config
    cx_redis_cluster 127.0.0.1:7000;
    cx_redis_sentinel cx 127.0.0.1;
--- config
--- must_die
--- error_log eval
main::emerg('"cx_redis_sentinel" directive conflicts with "cx_redis_cluster"')



=== TEST 194: cx_redis_cluster in a server block
--- config
    cx_redis_cluster 127.0.0.1:7000;
--- must_die
--- error_log eval
main::emerg('"cx_redis_cluster" directive is not allowed here')



=== TEST 195: cx_redis resolve without a resolver in http
--- http_config
    cx_redis localhost:6379 resolve;
--- config
    cx on;
--- must_die
--- error_log eval
main::emerg('no resolver defined to resolve "localhost" of the "cx_redis" directive')



=== TEST 196: cx_redis resolve of an address
--- http_config
    resolver 127.0.0.1:53;
    cx_redis 127.0.0.1:6379 resolve;
--- config
    cx on;
--- must_die
--- error_log eval
main::emerg('"resolve" in "cx_redis" directive requires a host name, "127.0.0.1:6379" is an address')



=== TEST 197: cx_redis resolve of a unix socket
--- http_config
    resolver 127.0.0.1:53;
    cx_redis unix:/tmp/cx-none.sock resolve;
--- config
    cx on;
--- must_die
--- error_log eval
main::emerg('"resolve" in "cx_redis" directive requires a host name, "unix:/tmp/cx-none.sock" is an address')



=== TEST 198: cx_redis resolve, twice
--- http_config
    resolver 127.0.0.1:53;
    cx_redis localhost:6379 resolve resolve;
--- config
    cx on;
--- must_die
--- error_log eval
main::emerg('duplicate parameter "resolve" in "cx_redis" directive')



=== TEST 199: cx_redis resolve with a resolver in a server only
--- http_config
    cx_redis localhost:6379 resolve;
--- config
    resolver 127.0.0.1:53;
    cx on;
--- must_die
--- error_log eval
main::emerg('no resolver defined to resolve "localhost" of the "cx_redis" directive')



=== TEST 200: cx_redis resolve with the http block's resolver starts
--- http_config
    resolver 127.0.0.1:1 valid=1s;
    resolver_timeout 1s;
    cx_redis localhost:$TEST_NGINX_REDIS_PORT resolve;
--- config
    cx on;
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
--- no_error_log
[emerg]



=== TEST 201: cx_redis tls with its trusted certificate and a name starts
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT tls;
    cx_redis_tls_trusted_certificate /etc/ssl/certs/ca-certificates.crt;
    cx_redis_tls_verify_depth 2;
    cx_redis_tls_name redis.example.com;
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
--- no_error_log
[emerg]



=== TEST 202: cx_redis_sentinel sentinel_tls twice
--- http_config
    cx_redis_sentinel shop 127.0.0.1 sentinel_tls tls sentinel_tls;
--- config
--- must_die
--- error_log eval
main::emerg('duplicate parameter "sentinel_tls" in "cx_redis_sentinel" directive')



=== TEST 203: cx_redis_cluster tls twice
--- http_config
    cx_redis_cluster 127.0.0.1:7000 tls tls;
--- config
--- must_die
--- error_log eval
main::emerg('duplicate parameter "tls" in "cx_redis_cluster" directive')



=== TEST 204: cx_redis_tls_verify_depth 0
--- http_config
    cx_redis 127.0.0.1:6379 tls;
    cx_redis_tls_verify_depth 0;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "0" in "cx_redis_tls_verify_depth" directive, it must be a number between 1 and 100')



=== TEST 205: cx_redis_tls_certificate twice
--- http_config
    cx_redis 127.0.0.1:6379 tls;
    cx_redis_tls_certificate /etc/ssl/certs/ca-certificates.crt;
    cx_redis_tls_certificate /etc/ssl/certs/ca-certificates.crt;
--- config
--- must_die
--- error_log eval
main::emerg('"cx_redis_tls_certificate" directive is duplicate')



=== TEST 206: cx_redis_tls_certificate_key that is not there
--- http_config
    cx_redis 127.0.0.1:6379 tls;
    cx_redis_tls_certificate_key /nonexistent/cx.key;
--- config
--- must_die
--- error_log eval
main::emerg('stat() "/nonexistent/cx.key" failed (2: No such file or directory)')



=== TEST 207: cx_redis_tls_verify with a bad value
--- http_config
    cx_redis 127.0.0.1:6379 tls;
    cx_redis_tls_verify maybe;
--- config
--- must_die
--- error_log eval
main::emerg('invalid value "maybe" in "cx_redis_tls_verify" directive, it must be "on" or "off"')



=== TEST 208: cx_redis_sentinel resolve without a resolver in http
--- http_config
    cx_redis_sentinel shop 127.0.0.1:26379 sentinel.test resolve;
--- config
    cx on;
--- must_die
--- error_log eval
main::emerg('no resolver defined to resolve "sentinel.test" of the "cx_redis_sentinel" directive')



=== TEST 209: cx_redis_cluster resolve without a resolver in http
--- http_config
    cx_redis_cluster node.test:7000 resolve;
--- config
    cx on;
--- must_die
--- error_log eval
main::emerg('no resolver defined to resolve "node.test" of the "cx_redis_cluster" directive')



=== TEST 210: cx_redis_sentinel resolve of addresses only
--- http_config
    resolver 127.0.0.1:53;
    cx_redis_sentinel shop 127.0.0.1:26379 127.0.0.1:26380 resolve;
--- config
    cx on;
--- must_die
--- error_log eval
main::emerg('"cx_redis_sentinel" directive requires a host name with "resolve"')



=== TEST 211: cx_redis_cluster resolve, twice
--- http_config
    resolver 127.0.0.1:53;
    cx_redis_cluster resolve node.test:7000 resolve;
--- config
    cx on;
--- must_die
--- error_log eval
main::emerg('duplicate parameter "resolve" in "cx_redis_cluster" directive')



=== TEST 212: cx_redis_cluster resolve of a unix socket
--- http_config
    resolver 127.0.0.1:53;
    cx_redis_cluster node.test:7000 unix:/tmp/cx-none.sock resolve;
--- config
    cx on;
--- must_die
--- error_log eval
main::emerg('invalid address "unix:/tmp/cx-none.sock" in "cx_redis_cluster" directive, the nodes of a Redis Cluster are reached over TCP')



=== TEST 213: cx_redis_sentinel resolve with the http block's resolver starts, a name beside an address
--- http_config
    resolver 127.0.0.1:1 valid=1s;
    resolver_timeout 1s;
    cx_redis_sentinel shop sentinel.test:26379 127.0.0.1:1 resolve;
--- config
    cx on;
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
--- no_error_log
[emerg]



=== TEST 214: cx_redis_cluster resolve with the http block's resolver starts
--- http_config
    resolver 127.0.0.1:1 valid=1s;
    resolver_timeout 1s;
    cx_redis_cluster node.test:7000 resolve password=secret;
--- config
    cx on;
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
--- no_error_log
[emerg]



=== TEST 215: cx_revisit above 1
--- config
    cx_revisit 1.5;
--- must_die
--- error_log eval
main::emerg('invalid value "1.5" in "cx_revisit" directive, it must be a number from 0 to 1 with at most three decimals')



=== TEST 216: cx_revisit twice
--- config
    cx_revisit 0.5;
    cx_revisit 0;
--- must_die
--- error_log eval
main::emerg('"cx_revisit" directive is duplicate')



=== TEST 217: cx_goal, cx_help and cx_shortcut in http, the steps in one server, another server without steps starts
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    cx_secret k-0123456789abcdef;
    cx_goal checkout;
    cx_help help;
    cx_shortcut checkout;
    server {
        listen $TEST_NGINX_SERVER_PORT;
        server_name other.example.com;
        location / { return 200 "other\n"; }
    }
--- config
    cx on;
    cx_step home /;
    cx_step help /help;
    cx_step checkout /checkout;
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
