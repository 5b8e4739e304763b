# cx_inject never loses nor adds a byte: whatever the upstream and however
# the body is cut into buffers, the response is the upstream's body with
# the block before its first "</body>" (any case), or the body itself when
# it has none.  Bodies cut at every byte, "</body>" cut across buffers,
# bodies that end in each beginning of the tag, through proxy_pass with a
# Content-Length, chunked and close-delimited upstream, buffered and not
# (every buffer a flush), static files read a few bytes at a time with and
# without sendfile, SSI, HEAD; and the README's advice for compressing
# upstreams: no Accept-Encoding towards them, nginx's gzip after the block.
#
# The upstream is a child of this file (CxTest::upstream): it answers
# /length/NAME, /chunked/NAME and /close/NAME with case NAME's body, in
# the pieces the case says (the chunks of a chunked body are the pieces,
# so nginx sees them as buffers of their own whatever TCP does).  Static
# cases are written to the html directory as NAME.html.

use Test::Nginx::Socket;
use lib 't/cx';
use CxTest;
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);

repeat_each(2);

no_shuffle();
no_root_location();

$ENV{TEST_NGINX_REDIS_PORT} ||= 6379;
$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

# nginx built from nginx-dev's flags (the sanitized one) has no gunzip
our $Gunzip = `$ENV{TEST_NGINX_BINARY} -V 2>&1` =~ /http_gunzip_module/;
$ENV{TEST_NGINX_CX_GUNZIP} = $Gunzip ? "gunzip on;" : "";

# what a customer of /p/ is offered after the journeys below
our $Block = '<nav class="cx-next" aria-label="Suggested next steps"><ul>'
             . '<li><a href="/cart">cart</a></li></ul></nav>';

# the cases: name => [body, cut positions]
our %Case;
our @Order;

sub case {
    my ($name, $body, @cuts) = @_;
    push @Order, $name unless $Case{$name};
    $Case{$name} = [$body, grep { $_ > 0 && $_ < length $body } @cuts];
}

{
    my $n = 0;

    for my $tag ("</body>", "</BODY>", "</bOdY>") {
        my $page = "<html><body>hello$tag</html>\n";
        my $t = index $page, $tag;
        $n++;

        case("page$n", $page);
        case("page$n-at$_", $page, $_) for 1 .. length($page) - 1;
        case("page$n-bytes", $page, 1 .. length($page) - 1);

        # three buffers, both cuts about the tag
        if ($n == 1) {
            for my $a ($t - 1 .. $t + 6) {
                case("page$n-at$a-$_", $page, $a, $_) for $a + 1 .. $t + 7;
            }
        }

        # the tag's beginnings at the very end, cut about them
        for my $k (1 .. length($tag) - 1) {
            my $body = "<div>x</div>\n" . substr($tag, 0, $k);
            my $l = length $body;
            case("end$n-$k", $body);
            case("end$n-$k-at$_", $body, $_) for $l - 8 .. $l - 1;
            case("end$n-$k-bytes", $body, 1 .. $l - 1);
        }
    }

    my %odd = (
        none => "<p>no end</p>\n",
        empty => "",
        lt => "<",
        tag => "</body>",
        ltlt => "<</body>",
        again => "</bo</body>\n",
        space => "</body </body>\n",
        longer => "<p></bodyx></BODY>\n",
        twice => "<html></body></body>\n",
        after => "<html><body>x</body></html>\n</bo",
    );

    for my $name (sort keys %odd) {
        my $body = $odd{$name};
        case("odd-$name", $body);
        case("odd-$name-at$_", $body, $_) for 1 .. length($body) - 1;
        case("odd-$name-bytes", $body, 1 .. length($body) - 1);
    }
}

# the response nginx must send for a body: the block before the first
# "</body>", any case
sub expected {
    my $body = shift;
    $body =~ s{(?=</body>)}{$Block}i;
    return $body;
}

sub pieces {
    my ($body, @cuts) = @_;
    my ($from, @p) = (0);
    for my $to (@cuts, length $body) {
        push @p, substr($body, $from, $to - $from);
        $from = $to;
    }
    return @p;
}

$ENV{TEST_NGINX_CX_UPSTREAM} = CxTest::upstream(sub {
    my ($method, $target) = @_;
    my ($mode, $name) = $target =~ m{^/(\w+)/([^/?]+)};
    my $case = $Case{$name // ''}
        or return "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
                  . "Connection: close\r\n\r\n";
    my ($body, @cuts) = @$case;
    my $head = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
               . "Connection: close\r\n";
    my @p = $method eq 'HEAD' ? () : pieces($body, @cuts);

    if ($mode eq 'chunked') {
        # one write: the chunks cut the body, not TCP
        return $head . "Transfer-Encoding: chunked\r\n\r\n"
               . join('', map { sprintf("%x\r\n%s\r\n", length, $_) }
                              grep { length } @p)
               . ($method eq 'HEAD' ? '' : "0\r\n\r\n");
    }

    if ($mode eq 'length') {
        $head .= "Content-Length: " . length($body) . "\r\n";
    }

    return ("$head\r\n", @p);
});

# the static cases, as files
sub write_files {
    for my $name (grep { !/-(at\d|bytes)/ } @Order) {
        open my $out, '>', "$ENV{TEST_NGINX_HTML_DIR}/$name.html" or die $!;
        print $out $Case{$name}[0];
        close $out;
    }
}

sub show {
    my $s = shift;
    $s =~ s/([^\x20-\x7e])/sprintf("\\x%02x", ord $1)/ge;
    return $s;
}

# one request as a customer of its own: (status, content encoding, body
# decoded from chunks and gzip)
our $Customer = 0;

sub get {
    my ($method, $uri, $headers) = @_;
    my ($status, $h, $body) = CxTest::http_request(
        Test::Nginx::Socket::server_port(), $method, $uri,
        { Cookie => "cx_id=c" . $Customer++, %$headers });
    $body = CxTest::dechunk($h, $body);
    my $enc = $h->{"content-encoding"} // '';
    if ($enc eq 'gzip') {
        my $plain;
        gunzip(\$body => \$plain) or $plain = "gunzip: $GunzipError";
        $body = $plain;
    }
    return ($status, $enc, $body);
}

# one check: the response to each of @$uris is 200, gzip encoded if the
# request accepted gzip, and its body is expected() of the body of the
# case the uri ends in, byte for byte (or, $untouched, that body itself)
sub exact {
    my ($what, $uris, $headers, $method, $untouched) = @_;
    my $gzip = ($headers->{"Accept-Encoding"} // '') eq 'gzip';
    my @bad;

    $method //= "GET";

    for my $uri (@$uris) {
        my ($name) = $uri =~ m{/([^/]+?)(?:\.html)?$};
        my ($status, $enc, $body) = get($method, $uri, $headers // {});
        my $want = $method eq 'HEAD' ? ''
                   : $untouched ? $Case{$name}[0]
                   : expected($Case{$name}[0]);

        if ($status != 200 || $body ne $want || $enc ne ($gzip ? 'gzip' : ''))
        {
            push @bad, "$uri: $status [$enc] " . show($body) . " != "
                       . show($want);
        }
    }

    Test::More::is(join("\n", @bad[0 .. ($#bad < 9 ? $#bad : 9)]), "",
                   "$what: " . @$uris . " responses exact"
                   . (@bad ? ", " . @bad . " not" : ""));
}

# the uris of the cases under a prefix, the whole ones only for files
sub uris {
    my ($prefix, $files) = @_;
    return map { $files ? "$prefix$_.html" : "$prefix$_" }
           grep { !$files || !/-(at\d|bytes)/ } @Order;
}

# thousands of requests: the error log keeps what the blocks look for
log_level('warn');

plan tests => CxTest::planned(qr/main::exact\(/, 1);

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("http_config", <<'_EOC_');
    cx_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    cx_timeout 10s;
    cx_secret k140-inject-secret-0123;
    cx_prefix t140:;
_EOC_

    $block->set_value("config", <<'_EOC_' . $block->config);
    cx on;
    cx_step page ~^/p/ /p/teach;
    cx_step cart /cart;
    cx_inject on;
    location = /p/teach {
        default_type text/html;
        return 200 "teach\n";
    }
    location = /cart {
        return 200 "cart\n";
    }
_EOC_

    # two shoppers: page, cart
    $block->set_value("init", <<'_EOC_' . ($block->init // ''));
CxTest::clear($ENV{TEST_NGINX_REDIS_PORT}, "t140:");
CxTest::journeys(Test::Nginx::Socket::server_port(),
                 ["a", "/p/teach", "/cart"], ["b", "/p/teach", "/cart"]);
_EOC_

    CxTest::quiet($block);
});

run_tests();

__DATA__

=== TEST 1: proxy_pass, Content-Length: a body ending in "<" arrives whole
--- config
    location /p/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_CX_UPSTREAM/length/;
    }
--- init
main::exact("Content-Length", [main::uris("/p/")]);
--- request
GET /p/end1-1
--- more_headers
Cookie: cx_id=new
--- response_body chomp
<div>x</div>
<



=== TEST 2: proxy_pass, Content-Length, unbuffered: every buffer a flush
--- config
    location /p/ {
        proxy_buffering off;
        proxy_pass http://127.0.0.1:$TEST_NGINX_CX_UPSTREAM/length/;
    }
--- init
main::exact("Content-Length, unbuffered", [main::uris("/p/")]);
--- request
GET /p/end2-4
--- more_headers
Cookie: cx_id=new
--- response_body chomp
<div>x</div>
</BO



=== TEST 3: proxy_pass, chunked: "</body>" cut by chunks anywhere
--- config
    location /p/ {
        proxy_http_version 1.1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_CX_UPSTREAM/chunked/;
    }
--- init
main::exact("chunked", [main::uris("/p/")]);
--- request
GET /p/page1-at19-21
--- more_headers
Cookie: cx_id=new
--- response_body
<html><body>hello<nav class="cx-next" aria-label="Suggested next steps"><ul><li><a href="/cart">cart</a></li></ul></nav></body></html>



=== TEST 4: proxy_pass, chunked, unbuffered: a tag cut by flushes
--- config
    location /p/ {
        proxy_http_version 1.1;
        proxy_buffering off;
        proxy_pass http://127.0.0.1:$TEST_NGINX_CX_UPSTREAM/chunked/;
    }
--- init
main::exact("chunked, unbuffered", [main::uris("/p/")]);
--- request
GET /p/end1-6-bytes
--- more_headers
Cookie: cx_id=new
--- response_body chomp
<div>x</div>
</body



=== TEST 5: proxy_pass, the end of the body at the upstream's close
--- config
    location /p/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_CX_UPSTREAM/close/;
    }
--- init
main::exact("close-delimited", [main::uris("/p/")]);
--- request
GET /p/odd-after
--- more_headers
Cookie: cx_id=new
--- response_body chomp
<html><body>x<nav class="cx-next" aria-label="Suggested next steps"><ul><li><a href="/cart">cart</a></li></ul></nav></body></html>
</bo



=== TEST 6: HEAD: the head alone, nothing held
--- config
    location /p/ {
        proxy_http_version 1.1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_CX_UPSTREAM/chunked/;
    }
--- init
main::exact("HEAD", [grep { !/-(at\d|bytes)/ } main::uris("/p/")], {},
            "HEAD");
--- request
HEAD /p/end1-3
--- more_headers
Cookie: cx_id=new
--- response_body eval
""



=== TEST 7: static files read a few bytes at a time, without sendfile
--- config eval
"    sendfile off;\n" . CORE::join("", map { <<_EOC_ } 1 .. 8);
    location /p/s$_/ {
        alias \$TEST_NGINX_HTML_DIR/;
        default_type text/html;
        output_buffers 1 $_;
    }
_EOC_
--- init
main::write_files();
main::exact("static, 1 to 8 byte buffers",
            [map { main::uris("/p/s$_/", 1) } 1 .. 8]);
--- request
GET /p/s1/end1-2.html
--- more_headers
Cookie: cx_id=new
--- response_body chomp
<div>x</div>
</



=== TEST 8: static files read a few bytes at a time, with sendfile
--- config eval
"    sendfile on;\n" . CORE::join("", map { <<_EOC_ } 1 .. 8);
    location /p/s$_/ {
        alias \$TEST_NGINX_HTML_DIR/;
        default_type text/html;
        output_buffers 1 $_;
    }
_EOC_
--- init
main::write_files();
main::exact("static, 1 to 8 byte buffers, sendfile",
            [map { main::uris("/p/s$_/", 1) } 1 .. 8]);
--- request
GET /p/s3/page3.html
--- more_headers
Cookie: cx_id=new
--- response_body
<html><body>hello<nav class="cx-next" aria-label="Suggested next steps"><ul><li><a href="/cart">cart</a></li></ul></nav></bOdY></html>



=== TEST 9: SSI on the page: its own bytes exact, the included left alone
--- config
    location /p/ {
        alias $TEST_NGINX_HTML_DIR/;
        default_type text/html;
        ssi on;
    }
    location = /part {
        return 200 "<b>part</body></b>";
    }
--- init
for (["ssi", qq{<html><body><!--# include virtual="/part" --></body></html>\n}],
     ["ssi-end", qq{<p><!--# include virtual="/part" --></p>\n</bo}]) {
    open my $out, '>', "$ENV{TEST_NGINX_HTML_DIR}/$_->[0].html" or die $!;
    print $out $_->[1];
    close $out;
}
--- request eval
["GET /p/ssi.html", "GET /p/ssi-end.html"]
--- more_headers
Cookie: cx_id=new
--- response_body eval
["<html><body><b>part</body></b>$main::Block</body></html>\n",
 "<p><b>part</body></b></p>\n</bo"]



=== TEST 10: an upstream that would gzip: no Accept-Encoding, gzip after us
--- config
    location /p/z/ {
        rewrite ^/p/z/(.*) /up/$1 break;
        gzip on;
        gzip_min_length 1;
        proxy_set_header Accept-Encoding "";
        proxy_pass http://127.0.0.1:$server_port;
    }
    location /p/q/ {
        rewrite ^/p/q/(.*) /up/$1 break;
        proxy_pass http://127.0.0.1:$server_port;
    }
    location /p/g/ {
        rewrite ^/p/g/(.*) /up/$1 break;
        $TEST_NGINX_CX_GUNZIP
        proxy_set_header Accept-Encoding gzip;
        proxy_pass http://127.0.0.1:$server_port;
    }
    location /up/ {
        cx off;
        alias $TEST_NGINX_HTML_DIR/;
        default_type text/html;
        gzip on;
        gzip_min_length 1;
        gzip_http_version 1.0;
    }
--- init
main::write_files();
my @z = grep { !/empty/ } main::uris("/p/z/", 1);
main::exact("gzip after the block", \@z, { "Accept-Encoding" => "gzip" });
main::exact("the upstream's gzip, no block", [map { s{/z/}{/q/}r } @z],
            { "Accept-Encoding" => "gzip" }, "GET", 1);
main::exact("gunzip on, no block either"
            . ($main::Gunzip ? "" : " (no gunzip in this nginx)"),
            [$main::Gunzip ? map { s{/z/}{/g/}r } @z : ()],
            { "Accept-Encoding" => "" }, "GET", 1);
--- request
GET /p/z/page1.html
--- more_headers
Cookie: cx_id=new
Accept-Encoding: gzip
--- response_headers
Content-Encoding: gzip
!Content-Length
