package Test::Nginx::Socket;

# A minimal runner for the Test::Nginx::Socket file format, written from
# its public documentation for the sections this suite uses.  The real
# CPAN module is preferred: scripts/test.sh puts t/lib on @INC only when
# "perl -MTest::Nginx::Socket -e1" fails.  Test counts follow the real
# module: one test per status code, per response header, per body check,
# per error_log/no_error_log pattern; must_die counts one plus its
# error_log patterns, repeated repeat_each() times.

use Test::Base -Base;

use POSIX qw(SIGQUIT SIGKILL WNOHANG);
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(sleep time);
use HTTP::Response;
use List::Util qw(shuffle);
use Cwd qw(cwd);

our @EXPORT = qw(run_tests repeat_each no_shuffle master_on master_off
                 workers log_level no_long_string no_root_location
                 env_to_nginx server_port server_root html_dir timeout
                 worker_connections add_block_preprocessor
                 add_cleanup_handler bail_out config_preamble);

my $RepeatEach = 1;
my $NoShuffle = 0;
my $Master = 'off';
my $Workers = 1;
my $WorkerConnections = 64;
my $LogLevel = 'debug';
my $NoRootLocation = 0;
my $Timeout = $ENV{TEST_NGINX_TIMEOUT} || 3;
my $ConfigPreamble = '';
my @EnvToNginx;
my @BlockPreprocessors;
my @CleanupHandlers;

my $ServerPort = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT}
                 || 1984;
my $ServRoot = $ENV{TEST_NGINX_SERVROOT} || cwd() . '/t/servroot';
my $NginxBinary = $ENV{TEST_NGINX_BINARY} || 'nginx';
my $UseValgrind = $ENV{TEST_NGINX_USE_VALGRIND};

my $ErrLogFile = "$ServRoot/logs/error.log";
my $ErrLogPos = 0;
my $NginxPid;       # the nginx we started and must stop
my $ValgrindPid;

$ENV{TEST_NGINX_SERVER_PORT} = $ServerPort;
$ENV{TEST_NGINX_SERVROOT} = $ServRoot;

sub repeat_each (@) { $RepeatEach = shift if @_; $RepeatEach }
sub no_shuffle () { $NoShuffle = 1 }
sub master_on () { $Master = 'on' }
sub master_off () { $Master = 'off' }
sub workers ($) { $Workers = shift }
sub worker_connections ($) { $WorkerConnections = shift }
sub log_level ($) { $LogLevel = shift }
sub no_long_string () { }
sub no_root_location () { $NoRootLocation = 1 }
sub env_to_nginx (@) { push @EnvToNginx, @_ }
sub server_port () { $ServerPort }
sub server_root () { $ServRoot }
sub html_dir () { "$ServRoot/html" }
sub timeout (@) { $Timeout = shift if @_; $Timeout }
sub config_preamble ($) { $ConfigPreamble = shift }
sub add_block_preprocessor (&) { push @BlockPreprocessors, shift }
sub add_cleanup_handler (&) { push @CleanupHandlers, shift }

sub bail_out (@) {
    stop_nginx();
    Test::More::BAIL_OUT(@_);
}

sub expand_env ($) {
    my $s = shift;
    return undef unless defined $s;
    $s =~ s/\$(TEST_NGINX_[_A-Z0-9]+)/
        defined $ENV{$1} ? $ENV{$1} : bail_out("No environment $1 defined.\n")
    /eg;
    return $s;
}

sub run_tests () {
    my @blocks = Test::Base::blocks();
    @blocks = shuffle @blocks unless $NoShuffle;

    for my $block (@blocks) {
        $_->($block) for @BlockPreprocessors;
        run_block($block);
    }

    stop_nginx();
    $_->() for @CleanupHandlers;
}

sub write_config ($) {
    my $block = shift;

    my $config = expand_env($block->config) // '';
    my $http_config = expand_env($block->http_config) // '';
    my $main_config = expand_env($block->main_config) // '';
    my $post_main_config = expand_env($block->post_main_config) // '';
    my $daemon = $UseValgrind ? 'off' : 'on';
    my $master = $UseValgrind ? 'off' : $Master;

    my $modules = '';
    for my $m (split /\s+/, $ENV{TEST_NGINX_LOAD_MODULES} // '') {
        $modules .= "load_module $m;\n" if length $m;
    }

    my $env = join '', map { "env $_;\n" } @EnvToNginx;

    my $root = $NoRootLocation ? '' : <<_EOC_;
        location / {
            root $ServRoot/html;
            index index.html index.htm;
        }
_EOC_

    open my $out, '>', "$ServRoot/conf/nginx.conf"
        or bail_out("cannot write nginx.conf: $!");

    print $out <<_EOC_;
$modules
worker_processes  $Workers;
daemon $daemon;
master_process $master;
error_log $ErrLogFile $LogLevel;
pid       $ServRoot/logs/nginx.pid;
$env
$main_config

http {
    access_log $ServRoot/logs/access.log;

    default_type text/plain;
    keepalive_timeout  68;

$http_config

    server {
        listen          $ServerPort;
        server_name     'localhost';

        client_max_body_size 30M;

$ConfigPreamble

$config

$root
    }
}

$post_main_config

events {
    accept_mutex off;
    worker_connections  $WorkerConnections;
}
_EOC_

    close $out;
}

sub write_user_files ($) {
    my $block = shift;
    my $files = $block->user_files;
    return unless defined $files;

    $files = [ map { [ $_->[0], $_->[1] ] } @$files ] if ref $files;

    if (!ref $files) {
        my @list;
        while ($files =~ /^>>> (\S+)\n(.*?)(?=^>>> |\z)/gms) {
            push @list, [$1, $2];
        }
        $files = \@list;
    }

    for my $f (@$files) {
        my ($name, $body) = @$f;
        my $path = "$ServRoot/html/$name";
        (my $dir = $path) =~ s{/[^/]+$}{};
        system("mkdir", "-p", $dir) == 0 or bail_out("mkdir $dir failed");
        open my $out, '>', $path or bail_out("cannot write $path: $!");
        print $out $body;
        close $out;
    }
}

sub setup_server_root () {
    system("rm", "-rf", $ServRoot) == 0 or bail_out("rm -rf $ServRoot");
    for my $d ('', '/conf', '/logs', '/html') {
        mkdir "$ServRoot$d" or bail_out("mkdir $ServRoot$d: $!");
    }
}

sub nginx_pid () {
    open my $in, '<', "$ServRoot/logs/nginx.pid" or return undef;
    my $pid = <$in>;
    close $in;
    chomp $pid if defined $pid;
    return $pid;
}

# a daemon that exited is a zombie until init reaps it: count it as gone
sub is_running ($) {
    my $pid = shift;
    return 0 unless kill 0, $pid;
    open my $in, '<', "/proc/$pid/stat" or return 1;
    my $stat = <$in>;
    close $in;
    return $stat !~ /^\d+ \(.*\) Z /;
}

sub stop_nginx () {
    my $pid = $ValgrindPid // nginx_pid();
    return unless $pid && is_running($pid);

    kill SIGQUIT, $pid;

    for (1 .. 200) {
        if ($ValgrindPid) {
            last if waitpid($ValgrindPid, WNOHANG) == $ValgrindPid;
        } else {
            last unless is_running($pid);
        }
        sleep 0.02;
    }

    if (is_running($pid)) {
        warn "WARNING: killing nginx $pid with force\n";
        kill SIGKILL, $pid;
        waitpid($pid, 0) if $ValgrindPid;
    }

    undef $ValgrindPid;
}

sub wait_for_port () {
    my $deadline = time + ($UseValgrind ? 60 : 10);
    while (time < $deadline) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $ServerPort,
                                      Proto => 'tcp');
        if ($s) {
            close $s;
            return 1;
        }
        sleep 0.02;
    }
    return 0;
}

sub error_log_data () {
    open my $in, '<', $ErrLogFile or return [];
    seek $in, $ErrLogPos, 0;
    my @lines = <$in>;
    $ErrLogPos = tell $in;
    close $in;
    return \@lines;
}

sub run_block ($) {
    my $block = shift;
    my $name = $block->name;

    stop_nginx();
    setup_server_root();
    write_user_files($block);
    write_config($block);

    $ErrLogPos = 0;

    my $cmd = "$NginxBinary -p $ServRoot/ -c $ServRoot/conf/nginx.conf";

    if (defined $block->must_die) {
        my $must_die = $block->must_die;
        for my $i (0 .. $RepeatEach - 1) {
            system("$cmd > /dev/null");
            my $status = $?;
            if ($must_die =~ /^\s*\d+\s*$/) {
                is($status >> 8, $must_die + 0,
                   "$name - die with the expected exit code");
            } else {
                isnt($status, 0, "$name - die as expected");
            }
            check_error_log($block, $i);
        }
        return;
    }

    if ($UseValgrind) {
        my $opts = $UseValgrind =~ /^\d+$/
            ? "--tool=memcheck --leak-check=full --show-possibly-lost=no"
            : $UseValgrind;
        $opts .= " --suppressions=valgrind.suppress"
            if -f 'valgrind.suppress' && $UseValgrind =~ /^\d+$/;
        my $pid = fork();
        bail_out("fork failed: $!") unless defined $pid;
        if ($pid == 0) {
            exec "exec valgrind -q --num-callers=100 $opts $cmd";
        }
        $ValgrindPid = $pid;

    } elsif (system("$cmd > /dev/null") != 0) {
        bail_out("$name - Cannot start nginx using command \"$cmd\".");
    }

    wait_for_port() or bail_out("$name - nginx does not listen on "
                                . "$ServerPort");

    if (defined $block->init) {
        eval $block->init;
        bail_out("$name - init failed: $@") if $@;
    }

    for my $i (0 .. $RepeatEach - 1) {
        run_requests($block, $i);
        check_error_log($block, $i);
    }
}

sub build_request ($$$) {
    my ($block, $req, $conn) = @_;

    $req =~ s/^\s+//s;
    my ($line, $body) = split /\n/, $req, 2;
    $body //= '';
    my ($meth, $uri, $ver) = split /\s+/, $line;
    $uri //= '/';
    $ver //= 'HTTP/1.1';

    my $more = $block->more_headers // '';
    my $headers = '';
    for my $h (split /\n+/, $more) {
        next if $h =~ /^\s*#/ || $h !~ /\S/;
        my ($k, $v) = split /:\s*/, $h, 2;
        $headers .= "$k: " . ($v // '') . "\r\n";
    }

    $headers = "Host: localhost\r\n$headers" if $headers !~ /^Host:/mi;
    $headers = "Connection: $conn\r\n$headers"
        if $headers !~ /^Connection/mi;

    if ($body ne '') {
        $body =~ s/^\s+|\s+$//gs;
        $headers .= "Content-Length: " . length($body) . "\r\n"
            if $headers !~ /^Content-Length:/mi;
    }

    return "$meth $uri $ver\r\n$headers\r\n$body";
}

sub send_request ($$) {
    my ($raw, $timeout) = @_;

    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $ServerPort,
                                     Proto => 'tcp',
                                     Timeout => $timeout)
        or return (undef, "connect failed: $!");

    $sock->blocking(1);
    print $sock $raw;

    my $sel = IO::Select->new($sock);
    my $resp = '';
    my $deadline = time + $timeout;

    while (1) {
        my $left = $deadline - time;
        if ($left <= 0) {
            close $sock;
            return ($resp, "timeout");
        }
        last unless $sel->can_read($left);
        my $n = sysread $sock, my $buf, 65536;
        last unless $n;
        $resp .= $buf;
    }

    close $sock;
    return ($resp, undef);
}

sub parse_response ($) {
    my $raw = shift;
    my $res = HTTP::Response->parse($raw);

    my $te = $res->header('Transfer-Encoding');
    if (defined $te && $te eq 'chunked') {
        my $in = $res->content // '';
        my $out = '';
        while ($in =~ s/^([0-9a-fA-F]+)[ \t]*\r\n//) {
            my $n = hex $1;
            last if $n == 0;
            $out .= substr($in, 0, $n, '');
            $in =~ s/^\r\n//;
        }
        $res->content($out);
    }

    return $res;
}

sub indexed ($$$) {
    my ($value, $idx, $many) = @_;
    return $value->[$idx] if ref $value eq 'ARRAY';
    return $value;
}

sub run_requests ($$) {
    my ($block, $rep) = @_;
    my $name = $block->name;

    my $req = $block->request;
    bail_out("$name - no --- request") unless defined $req;

    my @reqs = ref $req eq 'ARRAY' ? @$req : ($req);
    my $many = @reqs > 1;
    my $timeout = $block->timeout // $Timeout;

    for my $idx (0 .. $#reqs) {
        my $raw = build_request($block, $reqs[$idx], 'close');
        my ($resp, $err) = send_request($raw, $timeout);

        my $res;
        if (defined $resp && $resp ne '') {
            $res = parse_response($resp);
        }

        if ($err) {
            diag("$name - $err");
        }

        my $code = $res ? $res->code : '';
        if (defined $block->error_code) {
            is($code, indexed($block->error_code, $idx, $many),
               "$name - status code ok");
        } else {
            is($code, 200, "$name - status code ok");
        }

        check_headers($block, $res, $idx, $many);
        check_body($block, $res, $idx, $many, $rep);

        check_error_log($block, $rep) if $idx < $#reqs;
    }
}

sub parse_header_spec ($) {
    my $spec = shift;
    my @h;
    for my $line (split /\n/, $spec) {
        $line =~ s/^\s+|\s+$//g;
        next if $line eq '';
        if ($line =~ s/^!\s*//) {
            push @h, [$line, undef];
        } else {
            my ($k, $v) = split /\s*:\s*/, $line, 2;
            push @h, [$k, $v];
        }
    }
    return @h;
}

sub check_headers ($$$$) {
    my ($block, $res, $idx, $many) = @_;
    my $name = $block->name;

    if (defined $block->response_headers) {
        for my $h (parse_header_spec(indexed($block->response_headers,
                                             $idx, $many)))
        {
            my ($k, $v) = @$h;
            my $actual = $res ? $res->header($k) : undef;
            if (!defined $v) {
                ok(!defined $actual,
                   "$name - header $k not present in the raw headers");
                next;
            }
            is($actual // '', $v, "$name - header $k ok");
        }

    } elsif (defined $block->response_headers_like) {
        for my $h (parse_header_spec(indexed($block->response_headers_like,
                                             $idx, $many)))
        {
            my ($k, $v) = @$h;
            my $actual = $res ? $res->header($k) : undef;
            like($actual // '', qr/^$v$/, "$name - header $k like ok");
        }
    }
}

sub check_body ($$$$$) {
    my ($block, $res, $idx, $many, $rep) = @_;
    my $name = $block->name;
    my $content = $res ? $res->content : undef;

    if (defined $block->response_body) {
        my $expected = indexed($block->response_body, $idx, $many);
        if (ref $expected) {
            like($content, $expected,
                 "$name - response_body - like (repeated req $rep, req $idx)");
        } else {
            is($content, $expected,
               "$name - response_body - response is expected "
               . "(repeated req $rep, req $idx)");
        }

    } elsif (defined $block->response_body_like) {
        my $pat = indexed($block->response_body_like, $idx, $many);
        like($content // '', qr/$pat/s,
             "$name - response_body_like - response is expected");
    }
}

sub patterns ($) {
    my $pats = shift;
    return () unless defined $pats;
    return @$pats if ref $pats eq 'ARRAY';
    return ($pats) if ref $pats eq 'Regexp';
    chomp $pats;
    return grep { $_ ne '' } split /\n+/, $pats;
}

sub line_matches ($$) {
    my ($line, $pat) = @_;
    return ref $pat ? $line =~ $pat : index($line, $pat) >= 0;
}

sub check_error_log ($$) {
    my ($block, $rep) = @_;
    my $name = $block->name;
    my $lines = error_log_data();

    for my $pat (patterns($block->error_log)) {
        my $found = grep { line_matches($_, $pat) } @$lines;
        ok($found, "$name - pattern \"$pat\" "
                   . ($found ? "matches a line" : "should match a line")
                   . " in error.log (req $rep)");
    }

    for my $pat (patterns($block->no_error_log)) {
        my @hits = grep { line_matches($_, $pat) } @$lines;
        ok(!@hits, "$name - pattern \"$pat\" does not match a line in "
                   . "error.log (req $rep)")
            or diag("matched: $hits[0]");
    }

    for my $line (@$lines) {
        warn "WARNING: $name - $line" if $line =~ /\[(alert|crit|emerg)\]/
            && !defined $block->must_die;
    }
}

1;
