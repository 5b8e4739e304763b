# The module's own connection to Redis (ngx_http_cx_conn.c) against a
# peer that answers as no Redis does: an array header naming more
# elements than any reply to the module's commands has.  The peers are
# the file's own: each answers a connection's first command with its
# bytes, then says nothing more.

use Test::Nginx::Socket;
use lib 't/cx';
use CxTest;
use IO::Socket::INET;
use IO::Select;
use POSIX ();

our @Peers;

# a peer that answers each connection's first read with $bytes
sub peer {
    my ($bytes) = @_;
    my $listen = IO::Socket::INET->new(Listen => 16, ReuseAddr => 1,
                                       LocalAddr => '127.0.0.1',
                                       LocalPort => 0)
        or die "peer: $!";
    my $port = $listen->sockport;
    my $parent = $$;

    STDOUT->flush;
    STDERR->flush;
    my $pid = fork // die "fork: $!";

    if ($pid == 0) {
        my $sel = IO::Select->new($listen);
        my %said;
        while (getppid() == $parent) {
            for my $s ($sel->can_read(0.5)) {
                if ($s == $listen) {
                    my $c = $listen->accept or next;
                    $sel->add($c);
                    next;
                }
                my $n = sysread($s, my $buf, 65536);
                if (!$n) {
                    $sel->remove($s);
                    delete $said{$s};
                    close $s;
                    next;
                }
                syswrite($s, $bytes) unless $said{$s}++;
            }
        }
        POSIX::_exit(0);
    }

    close $listen;
    push @Peers, $pid;
    return $port;
}

END { kill 'TERM', @Peers if @Peers }

$ENV{TEST_NGINX_CX_HUGE} = peer("*2147483647\r\n");
$ENV{TEST_NGINX_CX_NESTED} = peer("*2\r\n*3000000\r\n*3000000\r\n");

repeat_each(1);

plan tests => CxTest::planned(qr/Test::More::(?!diag)\w+\(/, 1);

no_shuffle();
no_root_location();

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("config", <<'_EOC_' . ($block->config // ''));
    cx on;
    cx_step home /;
    cx_step cart /cart;
    location / { return 200 "next=$cx_next status=$cx_status\n"; }
_EOC_

    CxTest::quiet($block);
});

run_tests();

__DATA__

=== TEST 1: an array of 2147483647 elements: refused as its header arrives, the connection dropped, the page served without suggestions
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_HUGE;
    cx_timeout 100ms;
    cx_secret k310-0123456789abcdef;
    cx_prefix t311:;
--- init
Test::More::ok(CxTest::wait_for_log(CxTest::log_file(),
                                    qr/serving pages without/, 10),
               "the fault is logged");
--- request
GET /cart
--- more_headers
Cookie: cx_id=a
--- response_body_like
^next= status=(ERROR|TIMEOUT)$
--- error_log eval
qr/\[error\] .*cx: redis "127\.0\.0\.1:\d+" connection lost: a reply of more than 4194304 elements, serving pages without suggestions/



=== TEST 2: arrays within an array, 6000000 elements in all: refused the same
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_NESTED;
    cx_timeout 100ms;
    cx_secret k310-0123456789abcdef;
    cx_prefix t312:;
--- init
Test::More::ok(CxTest::wait_for_log(CxTest::log_file(),
                                    qr/serving pages without/, 10),
               "the fault is logged");
--- request
GET /cart
--- more_headers
Cookie: cx_id=a
--- response_body_like
^next= status=(ERROR|TIMEOUT)$
--- error_log eval
qr/\[error\] .*cx: redis "127\.0\.0\.1:\d+" connection lost: a reply of more than 4194304 elements, serving pages without suggestions/
