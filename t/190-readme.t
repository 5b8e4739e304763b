# The configurations the README shows work as written: every ```nginx
# block of README.md, with its ports and paths substituted and nothing
# else (a part of a configuration put in a server of its own), passes
# "nginx -t"; the small shop also serves a browser, a crawler
# and an asset through a gzip-capable application.  A plain Test::More
# file: the configurations are whole nginx.conf files, not Test::Nginx
# blocks.

use strict;
use warnings;

use Test::More;
use lib 't/cx';
use CxTest;
use File::Temp qw(tempdir);
use IO::Socket::INET;
use IO::Compress::Gzip qw(gzip);
use IO::Uncompress::Gunzip qw(gunzip);
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

my $module = $ENV{TEST_NGINX_LOAD_MODULES};
my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
my $rport = $ENV{TEST_NGINX_REDIS_PORT};

plan skip_all => "needs TEST_NGINX_LOAD_MODULES (the module) and "
                 . "TEST_NGINX_REDIS_PORT (a redis-server)"
    unless $module && $rport;

open my $in, '<', 'README.md' or die "README.md: $!";
my $readme = do { local $/; <$in> };
close $in;

my @blocks = $readme =~ /^```nginx\n(.*?)^```/msg;
my ($shop) = grep { /\bserver\s*\{/ && /\bcx_step\b/ && /\bhttp\s*\{/ }
             @blocks;

plan tests => 2 * @blocks + 21;

ok(scalar @blocks, scalar(@blocks) . " nginx blocks in the README");
ok($shop, "one of them is a whole shop");

my $dir = tempdir("cx-readme-XXXXXX", TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;
for my $d (qw(logs srv srv/static)) {
    mkdir "$dir/$d" or die "mkdir $dir/$d: $!";
    chmod 0755, "$dir/$d";
}
write_file("$dir/srv/static/shop.css", "body { color: #222 }\n");

# "include mime.types;" next to the configuration, as in /etc/nginx
for my $m ("/etc/nginx/mime.types", "build/nginx-src/conf/mime.types") {
    next unless -f $m;
    open my $mt, '<', $m or die "$m: $!";
    write_file("$dir/mime.types", do { local $/; <$mt> });
    last;
}

my $hport = CxTest::free_port();
my $app_port = CxTest::free_port();

# a block that is not a whole nginx.conf is a part of the small shop's:
# the http level if it has a "server", else the server level
sub whole {
    my $conf = shift;
    return $conf if $conf =~ /^\s*http\s*\{/m;
    $conf =~ s/^/    /mg;
    $conf = "server {\n    listen 80;\n    cx on;\n$conf}\n"
        unless $conf =~ /^\s*server\s*\{/m;
    $conf =~ s/^/    /mg;
    return "events {}\n\nhttp {\n    cx_redis 127.0.0.1:6379;\n"
           . "    cx_secret \"a long random string, kept out of git\";\n"
           . "$conf}\n";
}

# what may change between the README and this machine: ports and paths
sub localize {
    my $conf = whole(shift);
    $conf =~ s{^(\s*)load_module\s+\S+;}{$1load_module $module;}m
        or $conf = "load_module $module;\n$conf";
    $conf =~ s{\blisten\s+\d+\s*;}{listen 127.0.0.1:$hport;}g;
    $conf =~ s{127\.0\.0\.1:6379\b}{127.0.0.1:$rport}g;
    $conf =~ s{127\.0\.0\.1:8000\b}{127.0.0.1:$app_port}g;
    $conf =~ s{/srv/shop\b}{$dir/srv}g;
    $conf =~ s{/var/log/nginx/}{$dir/logs/}g;
    return $conf;
}

sub write_file {
    my ($f, $s) = @_;
    open my $out, '>', $f or die "$f: $!";
    print $out $s;
    close $out;
}

my @cmd = ($nginx, "-p", "$dir/", "-g",
           "pid $dir/logs/nginx.pid; error_log $dir/logs/error.log;");

my $i = 0;
for my $b (@blocks) {
    $i++;
    my $conf = localize($b);
    write_file("$dir/nginx$i.conf", $conf);
    my @t = ($nginx, "-p", "$dir/", "-g", "pid $dir/logs/t.pid; "
             . "error_log $dir/logs/t$i.log;", "-t", "-c", "$dir/nginx$i.conf");
    my $out = `@{[ map { "'$_'" } @t ]} 2>&1`;
    my $first = (split /\n/, $b)[0];
    is($?, 0, "README block $i ($first): nginx -t") or diag($out);
    unlike($out, qr/\[(warn|emerg|alert|crit)\]/,
           "README block $i: nginx -t says nothing but ok");
}

my ($Parent, $App) = ($$);

END {
    return unless $$ == $Parent;
    local $?;
    if ($App) {
        kill 'TERM', $App;
        waitpid($App, 0);
    }
    my $pid = do { local @ARGV = ("$dir/logs/nginx.pid");
                   -e $ARGV[0] ? scalar <> : undef };
    kill 'QUIT', $1 if $pid && $pid =~ /^(\d+)/ && CxTest::alive($1);
}

# the application behind the shop: a page per path, with validators, 304
# to a conditional request, gzipped to a client that accepts it, as
# frameworks do
sub app {
    my $l = IO::Socket::INET->new(Listen => 16, LocalAddr => '127.0.0.1',
                                  LocalPort => $app_port, ReuseAddr => 1)
        or die "app: $!";
    my $pid = fork() // die "fork: $!";
    if ($pid) {
        close $l;
        return $pid;
    }
    while (my $c = $l->accept) {
        my $head = '';
        while (my $line = <$c>) {
            $head .= $line;
            last if $line eq "\r\n";
        }
        my ($path) = $head =~ m{^GET (\S+)};
        my $valid = "ETag: \"v1\"\r\n"
                    . "Last-Modified: Mon, 23 Nov 2026 08:00:00 GMT\r\n";
        if ($head =~ /^If-(None-Match|Modified-Since):/mi) {
            print $c "HTTP/1.1 304 Not Modified\r\n$valid"
                     . "Connection: close\r\n\r\n";
            close $c;
            next;
        }
        my $page = "<!doctype html>\n<html><body>\n<h1>"
                   . ($path // "?") . "</h1>\n</body>\n</html>\n";
        my $enc = '';
        if ($head =~ /^Accept-Encoding:.*gzip/mi) {
            gzip(\(my $plain = $page) => \my $z);
            $page = $z;
            $enc = "Content-Encoding: gzip\r\n";
        }
        print $c "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n$enc$valid"
                 . "Content-Length: " . length($page)
                 . "\r\nConnection: close\r\n\r\n$page";
        close $c;
    }
    exit 0;
}

# a browser's GET: (status, headers, the page as the browser reads it)
sub browse {
    my ($uri, $id, $ua, $more) = @_;
    my ($status, $h, $body) = CxTest::http_get($hport, $uri, {
        "User-Agent" => $ua // "Mozilla/5.0 (X11; Linux x86_64) Firefox/128",
        "Accept-Encoding" => "gzip, deflate, br",
        $id ? (Cookie => "cx_id=$id") : (), %{ $more // {} } });
    if (($h->{"transfer-encoding"} // '') =~ /chunked/) {
        my $plain = '';
        while ($body =~ s/^([0-9a-fA-F]+)\r\n//) {
            my $n = hex $1;
            last unless $n;
            $plain .= substr($body, 0, $n, '');
            $body =~ s/^\r\n//;
        }
        $body = $plain;
    }
    if (($h->{"content-encoding"} // '') eq 'gzip') {
        gunzip(\(my $z = $body) => \my $plain);
        $body = $plain;
    }
    return ($status, $h, $body);
}

SKIP: {
    skip "no shop in the README", 19 unless $shop;

    CxTest::clear($rport, "cx:");
    write_file("$dir/shop.conf", localize($shop));
    system(@cmd, "-c", "$dir/shop.conf") == 0
        or BAIL_OUT("the README's shop does not start");
    $App = app();
    my $deadline = time + 10;
    sleep 0.05 until IO::Socket::INET->new("127.0.0.1:$hport") || time > $deadline;

    my ($status, $h, $body) = browse("/");
    is($status, 200, "the shop serves / through the application");
    like($body, qr{<h1>/</h1>}, "the application's page, whole");
    like($h->{"set-cookie"} // '', qr/^cx_id=[0-9a-f]{32};/,
         "a new customer gets an id");

    # customers before: home, an item, the cart, the checkout
    for my $c (1 .. 3) {
        for my $uri ("/", "/item/7", "/cart", "/checkout") {
            browse($uri, "readme$c");
        }
    }

    # a newcomer on the item page: the cart is offered in the block
    my $offered = 0;
    $deadline = time + 10;
    while (time < $deadline) {
        ($status, $h, $body) = browse("/item/7", "newcomer");
        last if $offered = $body =~ m{<a [^>]*href="/cart"};
        sleep 0.05;
    }
    is($status, 200, "an item page");
    ok($offered, "the block offers the cart, in a gzip-accepting browser")
        or diag($body);
    like($body, qr{<h1>/item/7</h1>\n.*</body>\n</html>\n\z}s,
         "the page is whole, the block before </body>");
    is(($h->{"cache-control"} // ''), "private",
       "a personalised page is private");

    # a browser that kept a copy of the page asks again: the application
    # would answer 304, which has no body for the block
    my %kept = ("If-None-Match" => '"v1"',
                "If-Modified-Since" => "Mon, 23 Nov 2026 08:00:00 GMT");
    ($status) = CxTest::http_get($app_port, "/item/7", \%kept);
    is($status, 304, "the application answers a conditional request 304");
    ($status, $h, $body) = browse("/item/7", "newcomer", undef, \%kept);
    is($status, 200, "through the shop, a conditional request gets 200");
    like($body, qr{<h1>/item/7</h1>\n<nav class="cx-next".*</body>}s,
         "the page whole, with this visit's block");
    ok(!defined $h->{etag} && !defined $h->{"last-modified"},
       "without validators");

    # a crawler: served the same way, recorded nowhere
    my @before = CxTest::customers($rport, "cx:");
    ($status, undef, $body) = browse("/item/8", "crawler",
                                     "Mozilla/5.0 (compatible; Googlebot/2.1)");
    is($status, 200, "a crawler is served");
    like($body, qr{<h1>/item/8</h1>}, "the page");
    # a person's visit after it: recorded, and the crawler's would have
    # been written before it, on the same connection to Redis
    CxTest::customer_key($rport, "cx:", $hport, "human", "/item/9");
    my %was = map { $_ => 1 } @before;
    my @new = grep { !$was{$_} } CxTest::customers($rport, "cx:");
    is(scalar @new, 1, "the person's visit is recorded, not the crawler's")
        or diag("@new");

    # an asset, from the disk, no step
    ($status, $h, $body) = browse("/static/shop.css", "readme1");
    is($status, 200, "an asset");
    is($body, "body { color: #222 }\n", "from the disk");
    is($h->{"content-type"}, "text/css", "of its type, from mime.types");
    ok(!defined $h->{"set-cookie"}, "without a cookie");

    my $pid = do { local @ARGV = ("$dir/logs/nginx.pid"); <> };
    chomp $pid;
    kill 'QUIT', $pid;
    $deadline = time + 10;
    sleep 0.05 while CxTest::alive($pid) && time < $deadline;

    my @bad = grep { /\[(alert|crit|emerg)\]/ }
              do { open my $log, '<', "$dir/logs/error.log"; <$log> };
    is("@bad", "", "no alert in the shop's error log");
}
