package CxTest;

# Helpers for the ngx_cx suite, used from --- init sections: Redis
# instances of a test's own (to stop, pause and restart), Redis queries,
# and a small HTTP client.  Works under the real Test::Nginx and under
# the fallback runner in t/lib alike.

use strict;
use warnings;

use IO::Socket::INET;
use IO::Select;
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use POSIX qw(SIGTERM SIGSTOP SIGCONT);
use Time::HiRes qw(sleep time);
use File::Temp qw(tempdir);
use JSON::PP ();

my @Started;

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0)
        or die "no free port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

# a redis-server of the test's own on a free loopback port
sub start_redis {
    my ($port, $dir, @extra) = @_;
    $port ||= free_port();
    $dir ||= tempdir("cx-redis-XXXXXX", TMPDIR => 1, CLEANUP => 1);

    system("redis-server", "--port", $port, "--bind", "127.0.0.1",
           "--save", "", "--appendonly", "no", "--dir", $dir,
           "--daemonize", "yes", "--pidfile", "$dir/redis.pid",
           "--logfile", "$dir/redis.log", @extra) == 0
        or die "redis-server failed to start";

    my $deadline = time + 10;
    while (time < $deadline) {
        last if -s "$dir/redis.pid" && -s "$dir/redis.log";
        sleep 0.02;
    }
    sleep 0.02 until -S "$dir/redis.sock" || !grep({ /unixsocket/ } @extra)
                     || time > $deadline;

    open my $in, '<', "$dir/redis.pid" or die "no redis pid file";
    my $pid = <$in>;
    chomp $pid;
    close $in;

    my $r = { port => $port, pid => $pid, dir => $dir };
    die "redis-server on $port did not answer"
        unless grep({ /requirepass/ } @extra) || ping($port);
    push @Started, $r;
    return $r;
}

# a redis-sentinel of the test's own on $port (a free loopback port when
# undef), watching the primary on 127.0.0.1:$master as $name (quorum 2);
# its files, the
# configuration it rewrites among them, in a directory of its own; @extra
# are more lines of its configuration.  Stopped as a Redis is.
sub start_sentinel {
    my ($name, $master, $port, @extra) = @_;
    $port ||= free_port();
    my $dir = tempdir("cx-sentinel-XXXXXX", TMPDIR => 1, CLEANUP => 1);

    open my $out, '>', "$dir/sentinel.conf" or die "sentinel.conf: $!";
    print $out map { "$_\n" }
        "port $port", "bind 127.0.0.1", "daemonize yes",
        "pidfile $dir/redis.pid", "logfile $dir/redis.log", "dir $dir",
        "sentinel monitor $name 127.0.0.1 $master 2",
        "sentinel down-after-milliseconds $name 5000",
        "sentinel failover-timeout $name 60000", @extra;
    close $out;

    system("redis-server", "$dir/sentinel.conf", "--sentinel") == 0
        or die "redis-sentinel failed to start";

    my $deadline = time + 10;
    sleep 0.02 until -s "$dir/redis.pid" || time > $deadline;

    open my $in, '<', "$dir/redis.pid" or die "no sentinel pid file";
    my $pid = <$in>;
    chomp $pid;
    close $in;

    my $r = { port => $port, pid => $pid, dir => $dir };
    push @Started, $r;

    # listening, whatever its password
    sleep 0.02 until connect_to($port, 0.1) || time > $deadline;
    die "redis-sentinel on $port did not listen" unless connect_to($port, 1);
    return $r;
}

sub stop_redis {
    my $r = shift;
    return unless $r->{pid} && kill 0, $r->{pid};
    kill SIGCONT, $r->{pid};
    kill SIGTERM, $r->{pid};
    my $deadline = time + 10;
    while (alive($r->{pid}) && time < $deadline) {
        sleep 0.02;
    }
    # the port is free once the process is gone
    delete $r->{pid};
}

# deletes the keys under a prefix, so a Redis the caller provides keeps
# everything else
sub clear {
    my ($port, $prefix) = @_;
    my @keys = redis($port, "--scan", "--pattern", "$prefix*");
    # a few hundred to a redis-cli
    while (my @some = splice @keys, 0, 500) {
        redis($port, "DEL", @some);
    }
}

sub keys_of {
    my ($port, $prefix) = @_;
    return sort(redis($port, "--scan", "--pattern", "$prefix*"));
}

# a daemon that exited is a zombie until init reaps it: count it as gone
sub alive {
    my $pid = shift;
    return 0 unless kill 0, $pid;
    open my $in, '<', "/proc/$pid/stat" or return 1;
    my $stat = <$in>;
    close $in;
    return $stat !~ /^\d+ \(.*\) Z /;
}

sub pause_redis { kill SIGSTOP, $_[0]->{pid} }
sub resume_redis { kill SIGCONT, $_[0]->{pid} }

END {
    stop_redis($_) for @Started;
}

sub ping {
    my $port = shift;
    my $out = redis($port, "PING");
    return defined $out && $out eq "PONG";
}

# runs one command with redis-cli --raw; returns the output lines
sub redis {
    my ($port, @args) = @_;
    open my $fh, '-|', "redis-cli", "-p", $port, "--raw", @args
        or die "redis-cli: $!";
    my @lines = <$fh>;
    close $fh;
    chomp @lines;
    return wantarray ? @lines : $lines[0];
}

# OpenResty's habit: every block that expects no error says so.  Adds
# "[alert]" and "[crit]" to a block's --- no_error_log, and "[error]"
# to a block that names no log lines of its own (one that expects an
# error says so in --- error_log, or lists in --- no_error_log what it
# must not see, when the error it provokes is logged once, not at each
# repetition).  For add_block_preprocessor; planned() counts what it adds.
sub quiet_patterns {
    my $b = shift;
    my @have = patterns_of($b->no_error_log);
    return @have if defined $b->must_die;
    my $own = defined($b->error_log) || defined($b->no_error_log);
    my @want = ("[alert]", "[crit]", $own ? () : "[error]");
    return (@have, grep { my $p = $_; !grep { $_ eq $p } @have } @want);
}

sub quiet {
    my $b = shift;
    my @pats = quiet_patterns($b);
    return unless @pats;
    if (grep { ref } @pats) {
        $b->set_value("no_error_log", \@pats);
    } else {
        $b->set_value("no_error_log", join("\n", @pats) . "\n");
    }
}

sub patterns_of {
    my $v = shift;
    return () unless defined $v;
    return @$v if ref $v eq 'ARRAY';
    return ($v) if ref $v;
    return grep { /\S/ } split /\n/, $v;
}

# the plan from blocks(), counted as Test::Nginx::Socket counts: per
# request its status, each response header checked (--- response_headers,
# else --- response_headers_like), the body when one is expected, and each
# error log pattern; a --- must_die block its exit and its patterns.  With
# $quiet, the patterns quiet() adds.  Then the checks the --- init sections
# make themselves (calls matching $checks), once per block.
sub planned {
    my ($checks, $quiet) = @_;
    my ($tests, $inits) = (0, 0);
    for my $b (main::blocks()) {
        my @logs = (patterns_of($b->error_log),
                    $quiet ? quiet_patterns($b)
                           : patterns_of($b->no_error_log));
        if (defined $b->must_die) {
            $tests += 1 + @logs;
            next;
        }
        my $req = $b->request;
        my $reqs = ref $req eq 'ARRAY' ? scalar @$req : 1;
        my $heads = $b->response_headers // $b->response_headers_like;
        my @heads = grep { /\S/ } map { split /\n/ }
                    ref $heads ? @$heads : ($heads // '');
        my $body = defined($b->response_body)
                   || defined($b->response_body_like) ? 1 : 0;
        $tests += $reqs * (1 + $body + @logs) + @heads;
        $inits += scalar(() = ($b->init // '') =~ /$checks/g) if $checks;
    }
    return main::repeat_each() * $tests + $inits;
}

# a connection to nginx, waiting for it to listen (under valgrind, it may
# still be starting when an --- init section runs)
sub connect_to {
    my ($port, $timeout) = @_;
    my $until = time + $timeout;
    my $s;
    until ($s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $port, Proto => 'tcp',
                                      Timeout => $timeout))
    {
        return undef if time > $until;
        sleep 0.05;
    }
    return $s;
}

# GET with optional headers; returns (status, { lc header => value }, body)
sub http_get {
    my ($port, $uri, $headers, $timeout) = @_;
    return http_request($port, "GET", $uri, $headers, $timeout);
}

# the same with another method (HEAD, or POST with an empty body); a
# Host among the headers names another server than "localhost"
sub http_request {
    my ($port, $method, $uri, $headers, $timeout) = @_;
    # under valgrind, nginx may still be starting, and is slow
    $timeout ||= $ENV{TEST_NGINX_USE_VALGRIND} ? 60 : 5;

    my %hdr = %{ $headers || {} };
    my $host = delete $hdr{Host} // "localhost";

    my $s = connect_to($port, $timeout)
        or return (0, {}, "connect: $!");

    my $req = "$method $uri HTTP/1.1\r\nHost: $host\r\n"
              . "Connection: close\r\n"
              . ($method eq "POST" ? "Content-Length: 0\r\n" : "");
    for my $k (sort keys %hdr) {
        $req .= "$k: $hdr{$k}\r\n";
    }
    print $s "$req\r\n";

    my $sel = IO::Select->new($s);
    my $resp = '';
    my $deadline = time + $timeout;
    while (time < $deadline) {
        last unless $sel->can_read($deadline - time);
        my $n = sysread $s, my $buf, 65536;
        last unless $n;
        $resp .= $buf;
    }
    close $s;

    my ($head, $body) = split /\r\n\r\n/, $resp, 2;
    return (0, {}, "no response") unless defined $head && length $head;

    my ($status) = $head =~ m{^HTTP/\S+ (\d+)};
    my %h;
    for my $line (split /\r\n/, $head) {
        $h{lc $1} = $2 if $line =~ /^([^:]+):\s*(.*)$/;
    }
    return ($status, \%h, $body // '');
}

# a chunked body decoded (a body of another framing as it is)
sub dechunk {
    my ($h, $body) = @_;
    return $body unless lc($h->{"transfer-encoding"} // '') eq 'chunked';
    my $out = '';
    while ($body =~ s/^([0-9a-fA-F]+)[^\r]*\r\n//) {
        my $n = hex $1;
        last if $n == 0;
        $out .= substr($body, 0, $n, '');
        $body =~ s/^\r\n//;
    }
    return $out;
}

# an HTTP upstream of the test's own on a free loopback port, in a child
# process that lives as long as the test: for each request, reads the
# head, calls $respond->($method, $target) and writes each piece of the
# list it returns with a write of its own, then closes.  Returns the port.
sub upstream {
    my $respond = shift;
    my $listen = IO::Socket::INET->new(Listen => 64, ReuseAddr => 1,
                                       LocalAddr => '127.0.0.1',
                                       LocalPort => 0)
        or die "upstream: $!";
    my $port = $listen->sockport;
    my $parent = $$;

    STDOUT->flush;
    STDERR->flush;
    my $pid = fork // die "fork: $!";

    if ($pid == 0) {
        # never the parent's END blocks: _exit only
        eval {
            my $sel = IO::Select->new($listen);
            while (getppid() == $parent) {
                next unless $sel->can_read(0.5);
                my $c = $listen->accept or next;
                setsockopt($c, IPPROTO_TCP, TCP_NODELAY, 1);
                my ($req, $in) = ('', IO::Select->new($c));
                while ($req !~ /\r\n\r\n/ && $in->can_read(5)) {
                    sysread($c, $req, 4096, length $req) or last;
                }
                my ($method, $target) = $req =~ m{^(\S+) (\S+)};
                for my $piece ($respond->($method // '', $target // '')) {
                    my $off = 0;
                    while ($off < length $piece) {
                        my $n = syswrite($c, $piece, length($piece) - $off,
                                         $off);
                        last unless $n;
                        $off += $n;
                    }
                }
                close $c;
            }
        };
        POSIX::_exit(0);
    }

    close $listen;
    push @Started, { pid => $pid };
    return $port;
}

# GETs uri until X-CX-Status is no longer "ERROR", at most 10s; returns it
sub wait_status {
    my ($port, $uri, $id) = @_;
    my $status = "";
    my $deadline = time + 10;
    while (time < $deadline) {
        (undef, my $h) = http_get($port, $uri, { Cookie => "cx_id=$id" });
        $status = $h->{"x-cx-status"} // "";
        last if $status ne "ERROR";
        sleep 0.02;
    }
    return $status;
}

# walks customers through steps, one GET each; dies if one fails
# GET /cart as customer id: the body ("" when none), and in list context
# the status too
sub cart {
    my ($port, $id) = @_;
    my ($status, undef, $b) = http_get($port, "/cart",
                                       { Cookie => "cx_id=$id" });
    return wantarray ? ($b // "", $status) : $b // "";
}

# customers new to the shop, each walking home -> cart -> checkout
sub teach {
    my ($port, @ids) = @_;
    journeys($port, map { [$_, "/", "/cart", "/checkout"] } @ids);
}

sub journeys {
    my ($port, @journeys) = @_;
    for my $j (@journeys) {
        my ($id, @uris) = @$j;
        for my $uri (@uris) {
            my ($status) = http_get($port, $uri, { Cookie => "cx_id=$id" });
            die "GET $uri for $id: $status" unless $status && $status < 500;
        }
    }
}

# how many lines of the file match the pattern
sub count_log {
    my ($file, $pat) = @_;
    open my $in, '<', $file or return 0;
    my $n = grep { $_ =~ $pat } <$in>;
    close $in;
    return $n;
}

# polls until the file has a line matching the pattern; true if it did
sub wait_for_log {
    my ($file, $pat, $timeout) = @_;
    my $deadline = time + ($timeout || 10);
    while (time < $deadline) {
        if (open my $in, '<', $file) {
            while (<$in>) {
                return 1 if $_ =~ $pat;
            }
            close $in;
        }
        sleep 0.02;
    }
    return 0;
}

# polls until the sub returns true; true if it did within $timeout s
sub wait_until {
    my ($sub, $timeout) = @_;
    my $deadline = time + $timeout;
    while (time < $deadline) {
        return 1 if $sub->();
        sleep 0.02;
    }
    return $sub->();
}

# until the workers of block n's configuration answer, 30 s at most: in
# HUP mode, those of the block before may still be serving (a block's
# "location = /block" returns its number)
sub wait_block {
    my ($port, $n) = @_;
    my $deadline = time + 30;
    while (time < $deadline) {
        my (undef, undef, $b) = http_get($port, "/block");
        return if $b eq $n;
        sleep 0.05;
    }
}

# the error log of the test's nginx
sub log_file { Test::Nginx::Socket::server_root() . "/logs/error.log" }

# the key bases "P{H}" of the customers under prefix with a step recorded
# (their hash P{H}:s has their recent steps, "r")
sub customers {
    my ($port, $prefix) = @_;
    return map { s/:s$//r }
           grep { /\}:s$/ && redis($port, "HEXISTS", $_, "r") }
           keys_of($port, $prefix);
}

# a customer's recent steps, newest first, from their hash
sub steps {
    my ($port, $base, @opts) = @_;
    my $r = redis($port, @opts, "HGET", "$base:s", "r");
    return (defined $r && length $r) ? split(/\|/, $r) : ();
}

# how often the customer made a transition "from name url" (undef: never)
sub habit {
    my ($port, $base, $transition) = @_;
    my $c = redis($port, "HGET", "$base:s", ">$transition");
    return (defined $c && length $c) ? $c : undef;
}

# the key base "P{H}" of a customer new to Redis: one GET with the id,
# then the one customer under the prefix that was not there before
sub customer_key {
    my ($rport, $prefix, $hport, $id, $uri) = @_;
    my %before = map { $_ => 1 } customers($rport, $prefix);
    http_get($hport, $uri, { Cookie => "cx_id=$id" });
    # the step is written once the response is out: wait for it
    my @new;
    my $deadline = time + 10;
    while (time < $deadline) {
        @new = grep { !$before{$_} } customers($rport, $prefix);
        last if @new;
        sleep 0.02;
    }
    die "no single new customer for $id: @new" unless @new == 1;
    return $new[0];
}

# n GETs of uri (or of each uri of an array in turn) on keep-alive
# connections, pipelined by the hundred; returns { status => count }, and
# in "cookie" how many set a cookie
sub http_bulk {
    my ($port, $n, $uri, $headers) = @_;
    my %seen;
    my $hdrs = join '', map { "$_: $headers->{$_}\r\n" }
                        sort keys %{ $headers || {} };
    my @uris = ref $uri ? @$uri : ($uri);
    my $next = 0;
    my $reqs = sub {
        join '', map { "GET " . $uris[$next++ % @uris]
                       . " HTTP/1.1\r\nHost: localhost\r\n$hdrs\r\n" }
                 1 .. $_[0];
    };

    while ($n > 0) {
        # nginx closes a keep-alive connection after 1000 requests
        my $s = connect_to($port, $ENV{TEST_NGINX_USE_VALGRIND} ? 60 : 5)
            or die "connect: $!";
        my $left = $n < 900 ? $n : 900;
        $n -= $left;
        my $buf = '';
        while ($left > 0) {
            my $burst = $left < 100 ? $left : 100;
            $left -= $burst;
            print $s $reqs->($burst);
            while ($burst > 0) {
                if ($buf =~ s{^HTTP/1\.1 (\d+)[^\r]*\r\n((?:[^\r]+\r\n)*)\r\n}{}) {
                    my ($status, $head) = ($1, $2);
                    my ($len) = $head =~ /^Content-Length:\s*(\d+)/mi;
                    $len //= 0;
                    while (length $buf < $len) {
                        IO::Select->new($s)->can_read(10)
                            && sysread($s, $buf, 65536, length $buf)
                            or last;
                    }
                    substr($buf, 0, $len, '');
                    $seen{$status}++;
                    $seen{cookie}++ if $head =~ /^Set-Cookie:/mi;
                    $burst--;
                    next;
                }
                my $got = IO::Select->new($s)->can_read(10)
                          && sysread($s, $buf, 65536, length $buf);
                unless ($got) {
                    # the connection went away: count what is missing
                    $seen{0} += $burst + $left + 0;
                    $left = 0;
                    $burst = 0;
                }
            }
        }
        close $s;
    }
    return \%seen;
}

# a client of the test's own in a child process: GETs $uri, a connection
# each, as customers "$id-0" to "$id-63" in turn, until unload()
sub load {
    my ($port, $uri, $id) = @_;
    my (undef, $file) = File::Temp::tempfile("cx-load-XXXXXX", TMPDIR => 1,
                                             UNLINK => 1);
    my $parent = $$;

    STDOUT->flush;
    STDERR->flush;
    my $pid = fork // die "fork: $!";

    if ($pid == 0) {
        # never the parent's END blocks: _exit only; stopped between two
        # requests, never in one
        my ($n, %seen) = (0);
        while (!-e "$file.stop" && getppid() == $parent) {
            my ($status) = http_get($port, $uri,
                                    { Cookie => "cx_id=$id-" . $n++ % 64 });
            $seen{$status || 0}++;
        }
        if (open my $out, '>', $file) {
            print $out map { "$_ $seen{$_}\n" } sort keys %seen;
            close $out;
        }
        POSIX::_exit(0);
    }

    my $l = { pid => $pid, file => $file };
    push @Started, $l;
    return $l;
}

# stops a load(); returns { status => count }, 0 for no response
sub unload {
    my $l = shift;
    open my $stop, '>', "$l->{file}.stop" or die "$l->{file}.stop: $!";
    close $stop;
    waitpid $l->{pid}, 0;
    delete $l->{pid};
    unlink "$l->{file}.stop";
    my %seen;
    open my $in, '<', $l->{file} or return \%seen;
    while (<$in>) {
        $seen{$1} = $2 if /^(\d+) (\d+)$/;
    }
    close $in;
    return \%seen;
}

# Redis's own count of each command it ran: { name => calls }
sub calls {
    my $port = shift;
    my %c;
    for (redis($port, "INFO", "commandstats")) {
        $c{$1} = $2 if /^cmdstat_(\w+):calls=(\d+)/;
    }
    return \%c;
}

# the commands between two calls(), of one name or (none) all but INFO
sub ran {
    my ($a, $b, $cmd) = @_;
    my @names = defined $cmd ? ($cmd) : grep { $_ ne 'info' } keys %$b;
    my $n = 0;
    $n += ($b->{$_} // 0) - ($a->{$_} // 0) for @names;
    return $n;
}

# the counters of a cx_metrics location, as its JSON says them
sub metrics {
    my ($port, $uri) = @_;
    my (undef, undef, $b) = http_get($port, $uri . "?format=json");
    return JSON::PP->new->decode($b);
}

# the change of a model_cache counter, or of another top-level one,
# between two metrics()
sub moved {
    my ($a, $b, $k) = @_;
    return exists $b->{model_cache}{$k}
           ? $b->{model_cache}{$k} - $a->{model_cache}{$k}
           : $b->{$k} - $a->{$k};
}

# the urls suggested, as a body with "next=$cx_next" has them
sub next_of {
    my ($b) = @_;
    return $b =~ /next=(.*)$/m ? $1 : "(none: $b)";
}

1;
