# TLS to Redis: cx_redis ... tls, with the server's certificate verified
# (cx_redis_tls_trusted_certificate, cx_redis_tls_name), a client
# certificate for "tls-auth-clients yes", and fail-open when any of it
# does not hold.  The file makes its own CAs and certificates with the
# openssl CLI, and its own redis-servers with a TLS port: nginx speaks
# to that port only; the plain one is the test's, to look at the keys.

use Test::Nginx::Socket;
use lib 't/cx';
use CxTest;
use File::Temp ();
use IO::Socket::INET;

our $Dir = File::Temp::tempdir("cx-tls-XXXXXX", TMPDIR => 1, CLEANUP => 1);

sub sh {
    my $cmd = join " ", map { "'$_'" } @_;
    system("$cmd >/dev/null 2>&1") == 0 or die "failed: $cmd";
}

# a CA, and a certificate it signs for $cn with these subjectAltNames
sub ca {
    my ($name) = @_;
    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
        "-subj", "/CN=cx test $name", "-keyout", "$Dir/$name.key",
        "-out", "$Dir/$name.crt");
}

sub cert {
    my ($ca, $name, $cn, $san) = @_;
    open my $out, '>', "$Dir/$name.ext" or die $!;
    print $out "subjectAltName=$san\n" if $san;
    close $out;
    sh("openssl", "req", "-newkey", "ec", "-pkeyopt",
        "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=$cn",
        "-keyout", "$Dir/$name.key", "-out", "$Dir/$name.csr");
    sh("openssl", "x509", "-req", "-in", "$Dir/$name.csr", "-CA",
        "$Dir/$ca.crt", "-CAkey", "$Dir/$ca.key", "-CAcreateserial",
        "-days", "2", "-extfile", "$Dir/$name.ext", "-out", "$Dir/$name.crt");
}

ca("ca");
ca("other");
# a name longer than an address can be (132 bytes; DNS allows 253)
our $Long = ("a" x 60) . "." . ("b" x 60) . ".redis.test";
cert("ca", "server", "redis.test", "DNS:redis.test,IP:127.0.0.1,DNS:$Long");
cert("ca", "client", "cx client");

# a Redis with a TLS port, clients' certificates asked for or not
sub tls_redis {
    my ($auth, $tport) = @_;
    $tport ||= CxTest::free_port();
    my $r = CxTest::start_redis(undef, undef, "--tls-port", $tport,
                                "--tls-cert-file", "$Dir/server.crt",
                                "--tls-key-file", "$Dir/server.key",
                                "--tls-ca-cert-file", "$Dir/ca.crt",
                                "--tls-auth-clients", $auth);
    $r->{tport} = $tport;
    return $r;
}

our $Redis = tls_redis("no");
our $Strict = tls_redis("yes");

# a primary and a sentinel that watches it, both speaking TLS on their
# TLS ports (the sentinel to the primary too: tls-replication)
our $Primary = tls_redis("no");
our $Sentinel = CxTest::start_sentinel("cx300", $Primary->{tport}, undef,
    "tls-port " . (our $STport = CxTest::free_port()),
    "tls-cert-file $Dir/server.crt", "tls-key-file $Dir/server.key",
    "tls-ca-cert-file $Dir/ca.crt", "tls-auth-clients no",
    "tls-replication yes");

# a cluster of three primaries speaking TLS, its bus too (tls-cluster):
# CLUSTER SLOTS names the TLS ports to a client on TLS
sub bus_free {
    my ($port) = @_;
    return 0 if $port > 55535;
    my $s = IO::Socket::INET->new(Listen => 1, ReuseAddr => 1,
                                  LocalAddr => '127.0.0.1',
                                  LocalPort => $port + 10000)
        or return 0;
    close $s;
    return 1;
}

sub tls_port {
    for (1 .. 100) {
        my $port = CxTest::free_port();
        return $port if bus_free($port);
    }
    die "no free port with a free cluster bus port";
}

our @Nodes = map {
    my $tport = tls_port();
    my $r = CxTest::start_redis(undef, undef, "--tls-port", $tport,
                                "--tls-cert-file", "$Dir/server.crt",
                                "--tls-key-file", "$Dir/server.key",
                                "--tls-ca-cert-file", "$Dir/ca.crt",
                                "--tls-auth-clients", "no",
                                "--tls-cluster", "yes",
                                "--tls-replication", "yes",
                                "--cluster-enabled", "yes",
                                "--cluster-config-file", "nodes.conf",
                                "--cluster-node-timeout", "1000");
    $r->{tport} = $tport;
    $r;
} 1 .. 3;

sh("redis-cli", "--tls", "--cacert", "$Dir/ca.crt", "--cluster", "create",
   (map { "127.0.0.1:$_->{tport}" } @Nodes), "--cluster-yes");

CxTest::wait_until(sub {
    !grep { !(join("\n", CxTest::redis($_->{port}, "CLUSTER", "INFO"))
              =~ /cluster_state:ok.*cluster_known_nodes:3/s) } @Nodes
}, 30) or die "the cluster did not come up";

$ENV{TEST_NGINX_CX_TLS} = $Redis->{tport};
$ENV{TEST_NGINX_CX_STRICT} = $Strict->{tport};
$ENV{TEST_NGINX_CX_DIR} = $Dir;
$ENV{TEST_NGINX_CX_LONG} = $Long;
$ENV{TEST_NGINX_CX_SENTINEL} = $STport;
$ENV{TEST_NGINX_CX_NODE} = $Nodes[0]->{tport};

repeat_each(1);

plan tests => CxTest::planned(qr/Test::More::(?!diag)\w+\(/, 1);

no_shuffle();
no_root_location();

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("config", <<'_EOC_' . ($block->config // ''))
    cx on;
    cx_step home /;
    cx_step cart /cart;
    cx_step checkout /checkout;
    location / { return 200 "next=$cx_next status=$cx_status\n"; }
_EOC_
        unless defined $block->must_die;

    CxTest::quiet($block);
});

# the cart's response for customer $id (CxTest::cart), and customers new
# to the shop teaching home -> cart -> checkout (CxTest::teach)
sub cart { CxTest::cart(Test::Nginx::Socket::server_port(), @_) }
sub teach { CxTest::teach(Test::Nginx::Socket::server_port(), @_) }


run_tests();

__DATA__

=== TEST 1: over TLS, the certificate and its address verified: steps recorded, suggestions served
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_TLS tls;
    cx_redis_tls_trusted_certificate $TEST_NGINX_CX_DIR/ca.crt;
    cx_timeout 10s;
    cx_connect_timeout 2s;
    cx_secret k300-0123456789abcdef;
    cx_prefix t301:;
    cx_rule_reverse 0;
--- init
main::teach("a", "b");
Test::More::ok(CxTest::wait_until(sub {
                     scalar(CxTest::customers($main::Redis->{port}, "t301:"))
                     == 2 }, 10),
               "both customers' steps are in Redis");
--- request
GET /cart
--- more_headers
Cookie: cx_id=new
--- response_body
next=/checkout status=HIT



=== TEST 2: the name cx_redis_tls_name says is the one checked, and sent
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_TLS tls;
    cx_redis_tls_trusted_certificate $TEST_NGINX_CX_DIR/ca.crt;
    cx_redis_tls_name redis.test;
    cx_timeout 10s;
    cx_connect_timeout 2s;
    cx_secret k300-0123456789abcdef;
    cx_prefix t302:;
    cx_rule_reverse 0;
--- init
main::teach("a", "b");
--- request
GET /cart
--- more_headers
Cookie: cx_id=new
--- response_body
next=/checkout status=HIT



=== TEST 3: a server certificate of another CA: the page served, without suggestions, one line naming the verification
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_TLS tls;
    cx_redis_tls_trusted_certificate $TEST_NGINX_CX_DIR/other.crt;
    cx_timeout 10s;
    cx_connect_timeout 2s;
    cx_secret k300-0123456789abcdef;
    cx_prefix t303:;
--- init
my $log = CxTest::log_file();
Test::More::ok(CxTest::wait_for_log($log, qr/serving pages without/, 10),
               "the fault is logged");
for (1 .. 3) {
    CxTest::http_get(Test::Nginx::Socket::server_port(), "/cart",
                     { Cookie => "cx_id=a" });
}
Test::More::is(CxTest::count_log($log, qr/\[error\]/), 1,
               "one line for the episode");
Test::More::is(scalar(() = CxTest::keys_of($main::Redis->{port}, "t303:")),
               0, "nothing reached Redis");
--- request
GET /cart
--- more_headers
Cookie: cx_id=a
--- response_body
next= status=ERROR
--- error_log eval
qr/\[error\] .*cx: redis "127\.0\.0\.1:\d+" connect failed: TLS certificate verify error: \((19:self-signed certificate in certificate chain|20:unable to get local issuer certificate)\), serving pages without suggestions/



=== TEST 4: a name the certificate does not have: the same, naming the name
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_TLS tls;
    cx_redis_tls_trusted_certificate $TEST_NGINX_CX_DIR/ca.crt;
    cx_redis_tls_name redis.example.com;
    cx_timeout 10s;
    cx_connect_timeout 2s;
    cx_secret k300-0123456789abcdef;
    cx_prefix t304:;
--- init
Test::More::ok(CxTest::wait_for_log(CxTest::log_file(),
                                    qr/serving pages without/, 10),
               "the fault is logged");
--- request
GET /cart
--- more_headers
Cookie: cx_id=a
--- response_body
next= status=ERROR
--- error_log eval
qr/\[error\] .*cx: redis "127\.0\.0\.1:\d+" connect failed: TLS certificate does not match "redis\.example\.com", serving pages without suggestions/



=== TEST 5: cx_redis_tls_verify off: another CA's certificate is taken
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_TLS tls;
    cx_redis_tls_trusted_certificate $TEST_NGINX_CX_DIR/other.crt;
    cx_redis_tls_verify off;
    cx_timeout 10s;
    cx_connect_timeout 2s;
    cx_secret k300-0123456789abcdef;
    cx_prefix t305:;
    cx_rule_reverse 0;
--- init
main::teach("a", "b");
--- request
GET /cart
--- more_headers
Cookie: cx_id=new
--- response_body
next=/checkout status=HIT



=== TEST 6: tls-auth-clients yes: with the client's certificate, it works
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_STRICT tls;
    cx_redis_tls_trusted_certificate $TEST_NGINX_CX_DIR/ca.crt;
    cx_redis_tls_certificate $TEST_NGINX_CX_DIR/client.crt;
    cx_redis_tls_certificate_key $TEST_NGINX_CX_DIR/client.key;
    cx_timeout 10s;
    cx_connect_timeout 2s;
    cx_secret k300-0123456789abcdef;
    cx_prefix t306:;
    cx_rule_reverse 0;
--- init
main::teach("a", "b");
Test::More::ok(CxTest::wait_until(sub {
                     scalar(CxTest::customers($main::Strict->{port}, "t306:"))
                     == 2 }, 10),
               "both customers' steps are in Redis");
--- request
GET /cart
--- more_headers
Cookie: cx_id=new
--- response_body
next=/checkout status=HIT



=== TEST 7: tls-auth-clients yes, and no client certificate: the page served without suggestions, one line
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_STRICT tls;
    cx_redis_tls_trusted_certificate $TEST_NGINX_CX_DIR/ca.crt;
    cx_timeout 10s;
    cx_connect_timeout 2s;
    cx_secret k300-0123456789abcdef;
    cx_prefix t307:;
--- init
my $log = CxTest::log_file();
Test::More::ok(CxTest::wait_for_log($log, qr/serving pages without/, 10),
               "the fault is logged");
for (1 .. 3) {
    CxTest::http_get(Test::Nginx::Socket::server_port(), "/cart",
                     { Cookie => "cx_id=a" });
}
Test::More::is(CxTest::count_log($log, qr/\[error\]/), 1,
               "one line for the episode");
--- request
GET /cart
--- more_headers
Cookie: cx_id=a
--- response_body
next= status=ERROR
--- error_log eval
qr/\[error\] .*cx: redis "127\.0\.0\.1:\d+" .*certificate required.*, serving pages without suggestions/



=== TEST 8: cx_redis without tls on the TLS port: no Redis there for it
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_TLS;
    cx_timeout 10s;
    cx_connect_timeout 500ms;
    cx_secret k300-0123456789abcdef;
    cx_prefix t308:;
--- init
Test::More::ok(CxTest::wait_for_log(CxTest::log_file(),
                                    qr/serving pages without/, 10),
               "the fault is logged");
--- request
GET /cart
--- more_headers
Cookie: cx_id=a
--- response_body
next= status=ERROR
--- error_log eval
qr/\[error\] .*cx: redis "127\.0\.0\.1:\d+" .*, serving pages without suggestions/



=== TEST 9: Redis restarted behind TLS: the worker connects again
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_TLS tls;
    cx_redis_tls_trusted_certificate $TEST_NGINX_CX_DIR/ca.crt;
    cx_timeout 10s;
    cx_connect_timeout 2s;
    cx_secret k300-0123456789abcdef;
    cx_prefix t309:;
    cx_rule_reverse 0;
--- init
main::teach("a", "b");
Test::More::ok(CxTest::wait_until(sub { main::cart("c") =~ /status=HIT/ }, 10),
               "suggestions before the restart");
CxTest::stop_redis($main::Redis);
Test::More::ok(CxTest::wait_until(sub { main::cart("c") =~ /status=ERROR/ },
                                  10),
               "none while Redis is down");
$main::Redis = main::tls_redis("no", $main::Redis->{tport});
Test::More::ok(CxTest::wait_until(sub { main::cart("c") !~ /status=ERROR/ },
                                  10),
               "connected again");
main::teach("d", "e");
Test::More::ok(CxTest::wait_until(sub { main::cart("f") =~ /status=HIT/ }, 10),
               "suggestions after the restart");
Test::More::ok(CxTest::wait_for_log(CxTest::log_file(),
                                    qr/cx: redis "[^"]+" answers again/, 5),
               "the recovery is logged");
--- request
GET /cart
--- more_headers
Cookie: cx_id=g
--- response_body
next=/checkout status=HIT
--- no_error_log
[alert]
[crit]



=== TEST 10: a connection dropped: the next one resumes its TLS session
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_TLS tls;
    cx_redis_tls_trusted_certificate $TEST_NGINX_CX_DIR/ca.crt;
    cx_timeout 10s;
    cx_connect_timeout 2s;
    cx_secret k300-0123456789abcdef;
    cx_prefix t310:;
--- init
my $log = CxTest::log_file();
Test::More::ok(CxTest::wait_until(sub { main::cart("a") =~ /status=MISS/ },
                                  10),
               "connected");
Test::More::is(CxTest::count_log($log, qr/SSL reused session/), 0,
               "a full handshake first");
CxTest::redis($main::Redis->{port}, "CLIENT", "KILL", "TYPE", "normal");
Test::More::ok(CxTest::wait_for_log($log, qr/SSL reused session/, 10),
               "the reconnect resumed the session");
Test::More::ok(CxTest::wait_until(sub { main::cart("a") =~ /status=MISS/ },
                                  10),
               "and answers");
--- request
GET /cart
--- more_headers
Cookie: cx_id=a
--- response_body
next= status=MISS
--- no_error_log
[alert]
[crit]



=== TEST 11: cx_redis_sentinel with tls and sentinel_tls: the sentinel asked over TLS, the primary it names spoken to over TLS
--- http_config
    cx_redis_sentinel cx300 127.0.0.1:$TEST_NGINX_CX_SENTINEL tls sentinel_tls;
    cx_redis_tls_trusted_certificate $TEST_NGINX_CX_DIR/ca.crt;
    cx_timeout 10s;
    cx_connect_timeout 2s;
    cx_secret k300-0123456789abcdef;
    cx_prefix t311:;
    cx_rule_reverse 0;
--- init
Test::More::ok(CxTest::wait_for_log(CxTest::log_file(),
    qr/\[notice\] .*cx: redis "cx300" primary is 127\.0\.0\.1:$main::Primary->{tport}, by sentinel 127\.0\.0\.1:$main::STport/),
    "the sentinel named the primary's TLS port");
main::teach("a", "b");
Test::More::ok(CxTest::wait_until(sub {
                     scalar(CxTest::customers($main::Primary->{port}, "t311:"))
                     == 2 }, 10),
               "both customers' steps are in the primary");
--- request
GET /cart
--- more_headers
Cookie: cx_id=new
--- response_body
next=/checkout status=HIT



=== TEST 12: cx_redis_cluster with tls: the slots asked over TLS, each primary spoken to on its TLS port
--- http_config
    cx_redis_cluster 127.0.0.1:$TEST_NGINX_CX_NODE tls;
    cx_redis_tls_trusted_certificate $TEST_NGINX_CX_DIR/ca.crt;
    cx_timeout 10s;
    cx_connect_timeout 2s;
    cx_secret k300-0123456789abcdef;
    cx_prefix t312:;
    cx_rule_reverse 0;
--- init
Test::More::ok(CxTest::wait_until(sub { main::cart("x") =~ /status=MISS/ },
                                  10),
               "the cluster answers");
main::teach("a", "b", "c", "d");
Test::More::ok(CxTest::wait_until(sub {
                     5 == grep { 1 } map { CxTest::customers($_->{port}, "t312:") }
                                     @main::Nodes }, 10),
               "the five customers' steps (x's too) are in the cluster");
Test::More::ok((grep { scalar(() = CxTest::keys_of($_->{port}, "t312:")) }
                @main::Nodes) > 1,
               "on more than one primary");
--- request
GET /cart
--- more_headers
Cookie: cx_id=new
--- response_body
next=/checkout status=HIT



=== TEST 13: cx_redis_tls_verify on without a trusted certificate
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_TLS tls;
    cx_redis_tls_verify on;
    cx_secret k300-0123456789abcdef;
--- config
    cx on;
--- must_die
--- error_log
no cx_redis_tls_trusted_certificate for cx_redis_tls_verify



=== TEST 14: a trusted certificate file that is not there
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_TLS tls;
    cx_redis_tls_trusted_certificate $TEST_NGINX_CX_DIR/none.crt;
    cx_secret k300-0123456789abcdef;
--- config
    cx on;
--- must_die
--- error_log eval
qr/\[emerg\] .*stat\(\) "[^"]*none\.crt" failed \(2: No such file or directory\) in \S+nginx\.conf:\d+/



=== TEST 15: a client certificate without its key
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_TLS tls;
    cx_redis_tls_certificate $TEST_NGINX_CX_DIR/client.crt;
    cx_secret k300-0123456789abcdef;
--- config
    cx on;
--- must_die
--- error_log
no "cx_redis_tls_certificate_key" is defined for certificate



=== TEST 16: tls twice
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_TLS tls tls;
    cx_secret k300-0123456789abcdef;
--- config
    cx on;
--- must_die
--- error_log eval
qr/\[emerg\] .*duplicate.*"tls".*"cx_redis" directive in \S+nginx\.conf:\d+/



=== TEST 17: a name of 132 bytes, as the certificate has it: checked as any name
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_TLS tls;
    cx_redis_tls_trusted_certificate $TEST_NGINX_CX_DIR/ca.crt;
    cx_redis_tls_name $TEST_NGINX_CX_LONG;
    cx_timeout 10s;
    cx_connect_timeout 2s;
    cx_secret k300-0123456789abcdef;
    cx_prefix t317:;
    cx_rule_reverse 0;
--- init
main::teach("a", "b");
--- request
GET /cart
--- more_headers
Cookie: cx_id=new
--- response_body
next=/checkout status=HIT



=== TEST 18: tls on a unix socket, verified, and no cx_redis_tls_name: no name to check
--- http_config
    cx_redis unix:$TEST_NGINX_CX_DIR/redis.sock tls;
    cx_redis_tls_trusted_certificate $TEST_NGINX_CX_DIR/ca.crt;
    cx_secret k300-0123456789abcdef;
--- config
    cx on;
--- must_die
--- error_log eval
qr/\[emerg\] .*no cx_redis_tls_name for "tls" on "unix:\S+redis\.sock"/
