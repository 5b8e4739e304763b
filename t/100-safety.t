# Issue 7: what comes back from Redis is not trusted, and no request can
# crash a worker.  Step names and urls at their limits, list entries too
# long or of the wrong type, scores that are not finite, a state hash of
# nonsense: every request is answered 200, the worker lives on, and what
# is not ours is skipped (too long / wrong type / non-finite: skipped).
#
# This file starts a redis-server of its own, since it plants data; the
# customers' keys are found by their ":seq" key after a first request.

use Test::Nginx::Socket;
use lib 't/cx';
use CxTest;
use Time::HiRes ();

our $Redis = CxTest::start_redis();

$ENV{TEST_NGINX_CX_REDIS_PORT} = $Redis->{port};

# stateful: each block plants its own data once, in --- init
repeat_each(1);

# a crashed worker is logged by the master ("[alert] ... exited on
# signal") and replaced, so the requests after it still get answers
master_on();
workers(1);

plan tests => CxTest::planned(qr/Test::More::(?!diag)\w+\(/, 1);

no_shuffle();
no_root_location();

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("http_config", <<'_EOC_');
    cx_redis 127.0.0.1:$TEST_NGINX_CX_REDIS_PORT;
    cx_timeout 10s;
    cx_secret k100-0123456789abcdef;
    cx_prefix t100:;
_EOC_

    $block->set_value("config", <<'_EOC_');
    cx on;
    cx_header on;
    cx_pace hurried=0 relaxed=1h;
    cx_step cat:$1 ~^/c/([^/]+);
    cx_step checkout /checkout;
    cx_step a /a;
    cx_step b /b;
    cx_step c /c;
    cx_step d /d;
    cx_step e /e;
    cx_goal checkout;
    location / {
        return 200 "step=$cx_step status=$cx_status next=$cx_next\n";
    }
    location = /cx/next {
        cx_api;
    }
_EOC_

    # a block with --- keep looks at what the block before it left
    $block->set_value("init", <<'_EOC_' . ($block->init // ''))
CxTest::clear($main::Redis->{port}, "t100:");
_EOC_
        unless defined $block->keep;

    CxTest::quiet($block);
});

# what a planted customer needs: a key base, a journey going on
sub main::plant {
    my ($id, @entries) = @_;
    my $p = $main::Redis->{port};
    my $port = Test::Nginx::Socket::server_port();
    my $base = CxTest::customer_key($p, "t100:", $port, $id, "/c/first");
    # what the module writes after the answer goes out lands before the
    # next request's batch (one worker, one connection, in order)
    CxTest::http_get($port, "/cx/next?uri=/a", { Cookie => "cx_id=sync" });
    # the customer's recent steps, newest first, as their hash keeps them
    CxTest::redis($p, "HSET", "$base:s", "r", join("|", @entries), "jlen", 20,
                  "ts", int(Time::HiRes::time() * 1000));
    return $base;
}

run_tests();

__DATA__

=== TEST 1: steps at the name and url limits, 16 in a journey, then the goal
One customer alternates two steps whose name is 128 bytes and url 256, the
longest the module accepts; the goal keeps the journey's 16 steps as the
path; then one more step.
--- request eval
my $a = "/c/" . ("a" x 124) . "/" . ("p" x 128);
my $b = "/c/" . ("b" x 124) . "/" . ("p" x 128);
[ (map { ("GET $a", "GET $b") } 1 .. 8), "GET /checkout", "GET /c/x" ]
--- more_headers
Cookie: cx_id=longsteps
--- response_body_like eval
[ (map { ("^step=cat:a{124} status=(MISS|HIT) ",
          "^step=cat:b{124} status=(MISS|HIT) ") } 1 .. 8),
  "^step=checkout status=(MISS|HIT) ",
  "^step=cat:x status=(MISS|HIT) " ]
--- no_error_log
[alert]
[error]



=== TEST 2: the path to the goal from 16 entries of 1000 bytes in Redis
--- init
my $e = "cat:" . ("x" x 500) . " /c/" . ("y" x 492);
main::plant("big", map { $e . sprintf("%04d", $_) } 1 .. 16);
--- request eval
["GET /checkout", "GET /c/y"]
--- more_headers
Cookie: cx_id=big
--- response_body_like eval
["^step=checkout status=(MISS|HIT) ", "^step=cat:y status=(MISS|HIT) "]
--- no_error_log
[alert]
[error]



=== TEST 3: a 383-byte step name in the sequence: too long, skipped
--- init
main::plant("n383", ("n" x 383) . " /x", "cat:z /c/z");
--- request
GET /c/y
--- more_headers
Cookie: cx_id=n383
--- response_body_like chomp
^step=cat:y status=(MISS|HIT) 
--- no_error_log
[alert]



=== TEST 4: a 383-byte entry (a 380-byte name) in the sequence: skipped
--- init
main::plant("e383", ("n" x 380) . " /x", "cat:z /c/z");
--- request eval
["GET /c/y", "GET /cx/next?uri=/a"]
--- more_headers
Cookie: cx_id=e383
--- response_body_like eval
["^step=cat:y status=(MISS|HIT) ", '^\{"status":"(MISS|HIT)"']
--- no_error_log
[alert]



=== TEST 5: no rule or habit was written under the 380-byte name
--- keep
--- init
Test::More::is_deeply([grep { /nnnnnnnn/ }
                       CxTest::keys_of($main::Redis->{port}, "t100:")],
                      [], "no key names the over-long step");
--- request
GET /cx/next?uri=/a
--- response_body_like chomp
^\{"status":"BYPASS"



=== TEST 6: a name over 128 bytes in the sequence: skipped, no key made of it
--- init
main::plant("n200", ("n" x 200) . " /x", "cat:z /c/z");
--- request eval
["GET /c/y", "GET /cx/next?uri=/a"]
--- more_headers
Cookie: cx_id=n200
--- response_body_like eval
["^step=cat:y status=(MISS|HIT) ", '^\{"status":"(MISS|HIT)"']
--- no_error_log
[alert]



=== TEST 7: no rule or habit was written under the 200-byte name
--- keep
--- init
Test::More::is_deeply([grep { /nnnnnnnn/ }
                       CxTest::keys_of($main::Redis->{port}, "t100:")],
                      [], "no key names the over-long step");
--- request
GET /cx/next?uri=/a
--- response_body_like chomp
^\{"status":"BYPASS"



=== TEST 8: a url over 256 bytes in the sequence: skipped, no rule from it
--- init
main::plant("u300", "a /" . ("u" x 300), "cat:z /c/z");
--- request eval
["GET /c/y", "GET /cx/next?uri=/a"]
--- more_headers
Cookie: cx_id=u300
--- response_body_like eval
["^step=cat:y status=(MISS|HIT) ", '^\{"status":"(MISS|HIT)"']
--- no_error_log
[alert]



=== TEST 9: no rule a -> cat:y was learned from the over-long entry
--- keep
--- init
Test::More::is_deeply([grep { /t:\{a\}/ }
                       CxTest::keys_of($main::Redis->{port}, "t100:")],
                      [], "no rule from the entry with the 300-byte url");
--- request
GET /cx/next?uri=/a
--- response_body_like chomp
^\{"status":"BYPASS"



=== TEST 10: the customer's hash of the wrong type (a list): served
--- init
my $base = main::plant("wrongtype");
CxTest::redis($main::Redis->{port}, "DEL", "$base:s");
CxTest::redis($main::Redis->{port}, "RPUSH", "$base:s", "cat:z /c/z");
--- request eval
["GET /c/y", "GET /checkout"]
--- more_headers
Cookie: cx_id=wrongtype
--- response_body_like eval
["^step=cat:y status=[A-Z]+ ", "^step=checkout status=[A-Z]+ "]
--- no_error_log
[alert]



=== TEST 11: paths of the wrong type, a hash of fields not ours: served
--- init
my $p = $main::Redis->{port};
my $base = main::plant("wrongtypes", "cat:z /c/z");
CxTest::redis($p, "SET", "$base:g", "cat:z /c/z|checkout /checkout");
CxTest::redis($p, "HSET", "$base:s", "r", "cat:z /c/z|<b> x|" . ("|" x 20),
              ">cat:z cat:y /c/y", "many", ">cat:z", 1, "> /c/y", 2,
              "seq", "cat:z /c/z", "", "", "o", "zz");
--- request eval
["GET /c/y", "GET /checkout"]
--- more_headers
Cookie: cx_id=wrongtypes
--- response_body_like eval
["^step=cat:y status=[A-Z]+ ", "^step=checkout status=[A-Z]+ "]
--- no_error_log
[alert]



=== TEST 12: everyone's rules with scores inf, 1e308 and -inf: skipped
Two customers walk /a -> /b; then the rule zset of a gets c at inf, d at
1e308 and e at -inf.  /b is still suggested, c and e never; d, finite but
no weight the module writes, is skipped or first; scores stay in [0, 1].
--- init
my $p = $main::Redis->{port};
my $port = Test::Nginx::Socket::server_port();
CxTest::journeys($port, ["w1", "/a", "/b"], ["w2", "/a", "/b"]);
CxTest::http_get($port, "/cx/next?uri=/a", { Cookie => "cx_id=sync" });
my ($rule) = grep { /t:\{a\}:\d+$/ } CxTest::keys_of($p, "t100:");
Test::More::ok($rule, "the rule zset of a exists");
CxTest::redis($p, "ZADD", $rule, "inf", "c /c", "1e308", "d /d",
              "-inf", "e /e");
--- request eval
["GET /a", "GET /cx/next?uri=/a"]
--- more_headers
Cookie: cx_id=newcomer
--- response_body_like eval
["^step=a status=HIT next=(/d )?/b\n\\z",
 '^\{"status":"HIT","step":"a","level":"new","pace":"steady","shortcut":null,"next":\[(\{"step":"d","url":"/d","label":"d","score":1\.0000,"reason":"popular"\},)?\{"step":"b","url":"/b","label":"b","score":[01]\.[0-9]{4},"reason":"popular"\}\]\}\z']
--- response_headers_like eval
["X-CX-Status: HIT\nX-CX-Next: (/d,\\s*)?/b", "X-CX-Status: HIT"]
--- no_error_log
[alert]



=== TEST 13: a customer's own habits with scores inf, 1e308 and -inf: skipped
--- init
my $p = $main::Redis->{port};
my $port = Test::Nginx::Socket::server_port();
CxTest::journeys($port, ["w1", "/a", "/b"], ["habit", "/a", "/b"]);
CxTest::http_get($port, "/cx/next?uri=/a", { Cookie => "cx_id=sync" });
# the habits after a: fields ">a name url" of each customer's hash
my @own = grep { CxTest::habit($p, $_, "a b /b") }
          CxTest::customers($p, "t100:");
Test::More::is(scalar @own, 2, "the habits of a exist");
for my $k (@own) {
    CxTest::redis($p, "HSET", "$k:s", ">a c /c", "inf", ">a d /d", "1e308",
                  ">a e /e", "-inf", ">a f /f", "1.5", ">a g /g", "0",
                  ">a h /h", "99999999999");
}
--- request eval
["GET /a", "GET /cx/next?uri=/a"]
--- more_headers
Cookie: cx_id=habit
--- response_body_like eval
["^step=a status=HIT next=/b\n\\z",
 '^\{"status":"HIT","step":"a","level":"new","pace":"steady","shortcut":null,"next":\[\{"step":"b","url":"/b","label":"b","score":[01]\.[0-9]{4},"reason":"popular"\}\]\}\z']
--- response_headers_like eval
["X-CX-Status: HIT\nX-CX-Next: /b", "X-CX-Status: HIT"]
--- no_error_log
[alert]



=== TEST 14: a state hash of nonsense: served, not an error
--- init
my $base = main::plant("absurd", "cat:z /c/z");
CxTest::redis($main::Redis->{port}, "HSET", "$base:s",
              "jlen", "99999999999999999999", "ts", "-5", "goals", "abc",
              "gap", "1e400", "ngaps", "-1");
--- request eval
["GET /c/y", "GET /checkout", "GET /c/y"]
--- more_headers
Cookie: cx_id=absurd
--- response_body_like eval
["^step=cat:y status=(MISS|HIT) ", "^step=checkout status=(MISS|HIT) ",
 "^step=cat:y status=(MISS|HIT) "]
--- no_error_log
[alert]
[error]



=== TEST 15: a state at the limits of int64: served, written back sane
--- init
my $base = main::plant("huge", "cat:z /c/z");
$main::Huge = $base;
my $max = "9223372036854775807";
CxTest::redis($main::Redis->{port}, "HSET", "$base:s", "jlen", $max,
              "goals", $max, "gap", $max, "ngaps", $max);
--- request eval
["GET /c/y", "GET /cx/next?uri=/a"]
--- more_headers
Cookie: cx_id=huge
--- response_body_like eval
["^step=cat:y status=(MISS|HIT) ", '^\{"status":"(MISS|HIT)"']
--- no_error_log
[alert]



=== TEST 16: what the module wrote back into that state is no nonsense
--- keep
--- init
my %s = CxTest::redis($main::Redis->{port}, "HGETALL", "$main::Huge:s");
Test::More::is_deeply([grep { $_ ne "o" && $_ ne "r"
                              && $s{$_} !~ /^[0-9]{1,15}\z/ }
                       sort keys %s],
                      [], "every field a count or ms below 10^15")
    or Test::More::diag(join " ", %s);
Test::More::is($s{r}, "cat:y /c/y|cat:z /c/z", "the steps, newest first");
Test::More::like($s{o}, qr/^(?:[0-9a-f]{8})*(?::[0-9a-f]{8})?\z/,
                 "the offer: hashed urls");
--- request
GET /cx/next?uri=/a
--- response_body_like chomp
^\{"status":"BYPASS"



=== TEST 17: everyone's rules with members that are not ngx_cx's: skipped
Two customers walk /a -> /b; then the rule zset of a gets, heavier than
b, a member with markup in its url, one with a second space, one with no
url.  Only /b is suggested, from Redis and from the answer's JSON.
--- init
my $p = $main::Redis->{port};
my $port = Test::Nginx::Socket::server_port();
CxTest::journeys($port, ["v1", "/a", "/b"], ["v2", "/a", "/b"]);
CxTest::http_get($port, "/cx/next?uri=/a", { Cookie => "cx_id=sync" });
my ($rule) = grep { /t:\{a\}:\d+$/ } CxTest::keys_of($p, "t100:");
Test::More::ok($rule, "the rule zset of a exists");
CxTest::redis($p, "ZADD", $rule, "1000", "c /c<x>", "1000", "d /d x",
              "1000", "e");
--- request eval
["GET /a", "GET /cx/next?uri=/a"]
--- more_headers
Cookie: cx_id=stranger
--- response_body_like eval
["^step=a status=HIT next=/b\n\\z",
 '^\{"status":"HIT","step":"a","level":"new","pace":"steady","shortcut":null,"next":\[\{"step":"b","url":"/b","label":"b","score":[01]\.[0-9]{4},"reason":"popular"\}\]\}\z']
--- no_error_log
[alert]



=== TEST 18: a customer's hash grown to 20,000 fields: deleted, written anew
Something else grew the customer's hash far past what ngx_cx writes: the
step's read deletes it and the step writes the state whole, so that the
next read costs what a customer's hash costs, and the key keeps a TTL.
--- init
my $p = $main::Redis->{port};
my $base = main::plant("grown", "cat:z /c/z");
CxTest::redis($p, "EVAL", "for i = 1, 20000 do redis.call('HSET', KEYS[1],"
              . " 'x' .. i, i) end", 1, "$base:s");
Test::More::ok(CxTest::redis($p, "HLEN", "$base:s") > 20000,
               "the hash grown");
my ($s) = CxTest::http_get(Test::Nginx::Socket::server_port(), "/c/y",
                           { Cookie => "cx_id=grown" });
CxTest::http_get(Test::Nginx::Socket::server_port(), "/cx/next?uri=/a",
                 { Cookie => "cx_id=sync" });
Test::More::is($s, 200, "served");
my $n = CxTest::redis($p, "HLEN", "$base:s");
Test::More::ok($n > 0 && $n <= 80, "written anew, $n fields");
Test::More::is(CxTest::redis($p, "HGET", "$base:s", "x1"), "",
               "none of the fields not ours");
Test::More::ok(CxTest::redis($p, "TTL", "$base:s") > 0, "with a TTL");
--- request
GET /c/x
--- more_headers
Cookie: cx_id=grown
--- response_body_like eval
"^step=cat:x status=(MISS|HIT) "
--- no_error_log
[alert]
