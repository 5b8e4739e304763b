# Issue 10: the module's counters in one shared memory zone, served by
# cx_metrics as Prometheus text, JSON and a page.
#
# Each block reads the metrics before and after what it does, in its
# --- init, and checks what moved: so it holds in HUP mode too, where the
# zone and its counts survive from the block before.  One worker: the
# log phase of a request has run when the next request is read.  This
# file starts a redis-server of its own, since it pauses it.

use Test::Nginx::Socket;
use lib 't/cx';
use CxTest;
use JSON::PP ();
use Time::HiRes ();

our $Redis = CxTest::start_redis();

$ENV{TEST_NGINX_CX_REDIS_PORT} = $Redis->{port};

master_on();
workers(1);
repeat_each(1);

plan tests => CxTest::planned(qr/Test::More::(?!diag)\w+\(|main::\w+_ok\(/,
                              1);

no_shuffle();
no_root_location();

add_block_preprocessor(sub {
    my $block = shift;
    my ($n) = $block->name =~ /TEST (\d+)/;

    unless (defined $block->http_config || defined $block->must_die) {
        $block->set_value("http_config", <<'_EOC_');
    cx_redis 127.0.0.1:$TEST_NGINX_CX_REDIS_PORT;
    cx_timeout 10s;
    cx_secret k200-0123456789abcdef;
    cx_prefix t200:;
    cx_rule_reverse 0;
    cx_revisit 0;
_EOC_
    }

    unless (defined $block->must_die) {
        $block->set_value("config", <<"_EOC_" . ($block->config // ''));
    cx on;
    cx_header on;
    location = /block { cx off; return 200 "$n"; }
    location = /pid { cx off; return 200 "\$pid"; }
    location = /metrics { cx off; cx_metrics; }
_EOC_

        # in HUP mode, the workers of this block's configuration answer
        $block->set_value("init", "main::wait_block($n);\n"
                                  . ($block->init // ''));
    }

    CxTest::quiet($block);
});

sub main::port { Test::Nginx::Socket::server_port() }

sub main::wait_block {
    my $n = shift;
    my $deadline = Time::HiRes::time() + 30;
    while (Time::HiRes::time() < $deadline) {
        my (undef, undef, $b) = CxTest::http_get(main::port(), "/block");
        return if $b eq $n;
        Time::HiRes::sleep(0.05);
    }
    die "the configuration of TEST $n never answered";
}

# a fresh number, so that steps and customers are new to Redis
my $Seq = 0;
sub main::fresh { return $$ . int(rand(1e6)) . $Seq++ }

# GET as a customer; the X-CX-Status
sub main::step {
    my ($id, $uri) = @_;
    my ($s, $h) = CxTest::http_get(main::port(), $uri,
                                   { Cookie => "cx_id=$id" });
    die "GET $uri: $s" unless $s && $s == 200;
    return $h->{"x-cx-status"} // "";
}

sub main::text {
    my ($uri) = @_;
    my ($s, $h, $b) = CxTest::http_get(main::port(), $uri // "/metrics");
    die "GET /metrics: $s $b" unless $s && $s == 200;
    return $b;
}

# the samples of a Prometheus text, by name{labels} as written
sub main::prom {
    my $text = shift // main::text();
    my %m;
    for (split /\n/, $text) {
        next if /^#/;
        my ($k, $v) = /^(\S+) (\S+)$/ or next;
        $m{$k} = $v;
    }
    return \%m;
}

# the strict check of the text format: the errors found, one per line
sub main::format_errors {
    my $text = shift;
    my $name = qr/[a-zA-Z_:][a-zA-Z0-9_:]*/;
    my $label = qr/[a-zA-Z_][a-zA-Z0-9_]*/;
    my $value = qr/"(?:[^"\\\n]|\\[\\"n])*"/;
    my $num = qr/[-+]?(?:[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?|Inf)|NaN/;
    my (@err, %help, %type, %seen, %hist);

    push @err, "no final newline" unless $text =~ /\n\z/;

    for my $line (split /\n/, $text) {
        if ($line =~ /^# HELP ($name) (\S.*)$/) {
            push @err, "HELP $1 twice" if $help{$1}++;

        } elsif ($line =~ /^# TYPE ($name) (counter|gauge|histogram)$/) {
            my ($n, $t) = ($1, $2);
            push @err, "TYPE $n twice or late" if $type{$n} || $seen{$n};
            push @err, "TYPE $n without HELP before" unless $help{$n};
            push @err, "counter $n does not end in _total"
                if $t eq 'counter' && $n !~ /_total$/;
            $type{$n} = $t;

        } elsif ($line =~ /^($name)(?:\{(.*)\})? ($num)$/) {
            my ($n, $labels, $v) = ($1, $2 // '', $3);
            my @l;
            while ($labels =~ /\G($label)=($value)(,|$)/gc) {
                push @l, [$1, $2];
                last if $3 eq '';
            }
            push @err, "bad labels: $line"
                unless (pos($labels) // 0) == length $labels;
            my %names;
            push @err, "label twice: $line" if grep { $names{$_->[0]}++ } @l;

            my $family = $n;
            if (!$type{$n} && $n =~ /^(.*)_(bucket|sum|count)$/
                && ($type{$1} // '') eq 'histogram')
            {
                $family = $1;
                my $part = $2;
                my $set = join ",", map { "$_->[0]=$_->[1]" }
                                    grep { $_->[0] ne 'le' } @l;
                my $h = $hist{"$family\{$set}"} //= { b => [] };
                if ($part eq 'bucket') {
                    my ($le) = map { $_->[1] } grep { $_->[0] eq 'le' } @l;
                    push @err, "bucket without le: $line" unless defined $le;
                    push @{ $h->{b} }, [$le // '""', $v];
                } else {
                    $h->{$part} = $v;
                }
            }
            push @err, "sample of $family without TYPE before: $line"
                unless $type{$family};
            push @err, "histogram sample $line"
                if ($type{$family} // '') eq 'histogram' && $family eq $n;
            push @err, "negative value: $line" if $v =~ /^-/;
            $seen{$family}++;

        } else {
            push @err, "bad line: $line";
        }
    }

    for my $k (sort keys %hist) {
        my $h = $hist{$k};
        my @b = @{ $h->{b} };
        push @err, "$k: no buckets" unless @b;
        my ($prev_le, $prev_v) = (-1, 0);
        for my $b (@b) {
            (my $le = $b->[0]) =~ s/^"|"$//g;
            my $x = $le eq '+Inf' ? 9**9**9 : $le;
            push @err, "$k: le $le not increasing" unless $x > $prev_le;
            push @err, "$k: bucket $le not cumulative" if $b->[1] < $prev_v;
            ($prev_le, $prev_v) = ($x, $b->[1]);
        }
        push @err, "$k: last bucket is not +Inf"
            unless @b && $b[-1][0] eq '"+Inf"';
        push @err, "$k: +Inf is not _count"
            unless defined $h->{count} && @b && $b[-1][1] == $h->{count};
        push @err, "$k: no _sum" unless defined $h->{sum};
    }

    for my $t (sort keys %type) {
        push @err, "$t: TYPE without samples" unless $seen{$t};
    }

    return join "\n", @err;
}

# the change of each name{labels} from a to b
sub main::delta {
    my ($a, $b, $k) = @_;
    die "no sample $k" unless defined $b->{$k};
    return $b->{$k} - ($a->{$k} // 0);
}

sub main::moved_ok {
    my ($a, $b, $want, $what) = @_;
    my %got = map { $_ => main::delta($a, $b, $_) } keys %$want;
    Test::More::is_deeply(\%got, $want, $what);
}

run_tests();

__DATA__

=== TEST 1: a MISS, a MISS, a HIT: the requests, the funnel, the journeys, the round trips, the suggestion served
--- config
    cx_step home /;
    cx_step item:$1 ~^/item/(\d+)$;
    location / { return 200 "$cx_status\n"; }
--- init
my ($n1, $n2) = (main::fresh(), main::fresh());
my ($a, $b) = ("a" . main::fresh(), "b" . main::fresh());
my $before = main::prom();
my @s = (main::step($a, "/item/$n1"), main::step($a, "/item/$n2"),
         main::step($b, "/item/$n1"));
Test::More::is("@s", "MISS MISS HIT", "two new steps, then the rule taught");
my $after = main::prom();
main::moved_ok($before, $after, {
    'cx_requests_total{status="hit"}' => 1,
    'cx_requests_total{status="miss"}' => 2,
    'cx_requests_total{status="timeout"}' => 0,
    'cx_requests_total{status="error"}' => 0,
    'cx_requests_total{status="bypass"}' => 0,
    'cx_steps_total{step="item:$1"}' => 3,
    'cx_steps_total{step="home"}' => 0,
    'cx_journeys_total{variant="treatment"}' => 2,
    'cx_journeys_total{variant="holdout"}' => 0,
    'cx_suggestions_served_total' => 1,
    'cx_shortcuts_served_total' => 0,
    'cx_redis_round_trips_total' => 3,
    'cx_redis_round_trip_seconds_count' => 3,
    'cx_redis_round_trip_seconds_bucket{le="+Inf"}' => 3,
    'cx_redis_errors_total' => 0,
    'cx_redis_timeouts_total' => 0,
    'cx_redis_in_flight' => 0,
}, "each counter moved by what the three requests did");
Test::More::cmp_ok(main::delta($before, $after,
                               'cx_redis_round_trip_seconds_sum'),
                   '>', 0, "the round trips took some time");
--- request
GET /metrics
--- response_headers
Content-Type: text/plain; version=0.0.4; charset=utf-8
Cache-Control: no-store
--- response_body_like eval
qr/^# HELP cx_requests_total .*\n# TYPE cx_requests_total counter\ncx_requests_total\{status="hit"\} [1-9]/



=== TEST 2: the text passes a strict check of the exposition format
--- config
    cx_step home /;
    cx_step item:$1 ~^/item/(\d+)$;
    location / { return 200 "$cx_status\n"; }
--- init
main::step("c" . main::fresh(), "/item/" . main::fresh());
my $text = main::text();
Test::More::is(main::format_errors($text), "", "no line breaks the format");
my @families = $text =~ /^# TYPE (\S+) /mg;
Test::More::is("@families", join(" ", qw(cx_requests_total
    cx_suggestions_served_total cx_shortcuts_served_total
    cx_redis_round_trips_total cx_redis_errors_total cx_redis_timeouts_total
    cx_redis_reconnects_total cx_redis_in_flight cx_redis_round_trip_seconds
    cx_requests_without_round_trip_total cx_model_cache_total
    cx_model_cache_refreshes_total cx_model_cache_evictions_total
    cx_customer_cache_total cx_steps_total cx_journeys_total cx_offers_total cx_follows_total
    cx_shortcut_offers_total cx_shortcut_follows_total cx_goals_total
    cx_assisted_goals_total cx_steps_to_goal cx_steps_to_goal_squares_total)),
    "every family, in order");
my @steps = $text =~ /^cx_steps_total\{step="([^"]*)"\}/mg;
Test::More::is("@steps", 'home item:$1', "the funnel: the declared steps");
my @follows = $text =~ /^cx_follows_total\{variant="treatment",rank="(\d+)"\}/mg;
Test::More::is("@follows", join(" ", 1 .. 20), "follows by rank 1..20");
my @le = $text =~ /^cx_steps_to_goal_bucket\{variant="holdout",level="expert",le="([^"]+)"\}/mg;
Test::More::is("@le", "1 2 3 4 5 6 7 8 9 10 12 15 20 30 50 +Inf",
               "steps to the goal: its buckets");
Test::More::is(scalar(() = $text =~ /^cx_steps_to_goal_squares_total\{/mg),
               6, "two variants by three levels");
--- request
HEAD /metrics
--- response_headers
Cache-Control: no-store
--- response_body



=== TEST 3: the JSON has every key of the schema and the text's counts
--- config
    cx_step home /;
    cx_step cart /cart;
    cx_step item:$1 ~^/item/(\d+)$;
    location / { return 200 "$cx_status\n"; }
--- init
main::step("d" . main::fresh(), "/cart");
my ($s, $h, $body) = CxTest::http_get(main::port(), "/metrics?format=json");
my $text = main::prom();
my $j = eval { JSON::PP->new->decode($body) };
Test::More::ok($j, "the JSON parses") or Test::More::diag($@);
$j //= {};
my @top = sort keys %$j;
Test::More::is("@top", "customer_cache model_cache redis requests "
               . "requests_without_round_trip shortcuts_served since steps "
               . "suggestions_served variants version", "its keys");
Test::More::is($j->{version}, 1, "version 1");
Test::More::cmp_ok(abs(time - ($j->{since} // 0)), '<', 86400 * 365,
                   "since: a unix time");
Test::More::is(join(" ", sort keys %{ $j->{requests} }),
               "bypass error hit miss timeout unasked", "requests by status");
Test::More::is(join(" ", sort keys %{ $j->{redis} }),
               "errors in_flight reconnects round_trip_seconds round_trips "
               . "timeouts", "redis");
Test::More::is(join(" ", sort keys %{ $j->{model_cache} }),
               "evictions hit miss refreshes stale", "model_cache");
my $rt = $j->{redis}{round_trip_seconds} // {};
Test::More::is(join(" ", sort keys %$rt), "buckets count le sum",
               "the round trip histogram");
Test::More::is(join(",", @{ $rt->{le} // [] }),
               "0.0005,0.001,0.0025,0.005,0.01,0.025,0.05,0.1,0.25,1",
               "its bounds");
Test::More::is(scalar @{ $rt->{buckets} // [] }, 11, "and a bucket more");
Test::More::is($rt->{buckets}[-1], $rt->{count}, "the last is the count");
Test::More::is(join(" ", map { $_->{step} } @{ $j->{steps} }),
               'home cart item:$1', "steps in declaration order");
Test::More::is(join(" ", sort keys %{ $j->{variants} }), "holdout treatment",
               "both variants");
my @bad;
for my $v (qw(treatment holdout)) {
    my $x = $j->{variants}{$v} // {};
    push @bad, "$v keys" unless join(" ", sort keys %$x) eq
        "follows journeys levels offered shortcut_follows shortcuts_offered";
    push @bad, "$v follows" unless @{ $x->{follows} // [] } == 20;
    push @bad, "$v levels" unless join(" ", sort keys %{ $x->{levels} // {} })
                                  eq "expert new returning";
    for my $l (qw(new returning expert)) {
        my $y = $x->{levels}{$l} // {};
        push @bad, "$v $l keys" unless join(" ", sort keys %$y) eq
            "assisted buckets goals le steps_squares steps_sum";
        push @bad, "$v $l le" unless join(",", @{ $y->{le} // [] })
                                     eq "1,2,3,4,5,6,7,8,9,10,12,15,20,30,50";
        push @bad, "$v $l buckets" unless @{ $y->{buckets} // [] } == 16
                                          && $y->{buckets}[-1] == $y->{goals};
        push @bad, "$v $l goals" unless $y->{goals}
            == $text->{"cx_goals_total{variant=\"$v\",level=\"$l\"}"};
    }
    push @bad, "$v journeys" unless $x->{journeys}
        == $text->{"cx_journeys_total{variant=\"$v\"}"};
}
Test::More::is("@bad", "", "each variant and level as the schema has it");
my %st = map { $_->{step} => $_->{count} } @{ $j->{steps} };
Test::More::is_deeply([ @{ $j->{requests} }{qw(hit miss timeout error bypass)},
                        $j->{suggestions_served}, $j->{redis}{round_trips},
                        $rt->{count}, $st{cart},
                        $j->{requests_without_round_trip},
                        @{ $j->{model_cache} }{qw(hit stale miss refreshes
                                                  evictions)} ],
                      [ (map { $text->{"cx_requests_total{status=\"$_\"}"} }
                         qw(hit miss timeout error bypass)),
                        $text->{cx_suggestions_served_total},
                        $text->{cx_redis_round_trips_total},
                        $text->{cx_redis_round_trip_seconds_count},
                        $text->{'cx_steps_total{step="cart"}'},
                        $text->{cx_requests_without_round_trip_total},
                        (map { $text->{"cx_model_cache_total{result=\"$_\"}"} }
                         qw(hit stale miss)),
                        $text->{cx_model_cache_refreshes_total},
                        $text->{cx_model_cache_evictions_total} ],
                      "the counts are the text's");
Test::More::cmp_ok($st{cart}, '>=', 1, "the cart step counted");
--- request
GET /metrics?format=json
--- response_headers
Content-Type: application/json
Cache-Control: no-store
--- response_body_like eval
qr/^\{"version":1,"since":\d+,"requests":\{"hit":\d+,/



=== TEST 4: Redis down (a closed port): an ERROR, a Redis error, reconnects
--- http_config eval
"cx_redis 127.0.0.1:" . CxTest::free_port() . ";
cx_timeout 10s;
cx_secret k200-0123456789abcdef;
cx_prefix t200:;"
--- config
    cx_step item:$1 ~^/item/(\d+)$;
    location / { return 200 "$cx_status\n"; }
--- init
my $before = main::prom();
my $s = main::step("e" . main::fresh(), "/item/" . main::fresh());
Test::More::is($s, "ERROR", "the step is served without suggestions");
my $after = main::prom();
main::moved_ok($before, $after, {
    'cx_requests_total{status="error"}' => 1,
    'cx_requests_total{status="hit"}' => 0,
    'cx_requests_total{status="miss"}' => 0,
    'cx_redis_errors_total' => 1,
    'cx_redis_round_trips_total' => 0,
    'cx_steps_total{step="item:$1"}' => 0,
    'cx_suggestions_served_total' => 0,
}, "an error, and no step recorded");
my $deadline = Time::HiRes::time() + 10;
until (main::delta($before, main::prom(), 'cx_redis_reconnects_total') > 0
       || Time::HiRes::time() > $deadline)
{
    Time::HiRes::sleep(0.05);
}
Test::More::cmp_ok(main::delta($before, main::prom(),
                               'cx_redis_reconnects_total'),
                   '>', 0, "the worker tries again");
--- request
GET /metrics?format=prometheus
--- response_body_like eval
qr/cx_redis_errors_total [1-9]/
--- no_error_log
[emerg]



=== TEST 5: Redis paused: a TIMEOUT, the batch in flight, its round trip counted once it is answered
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_REDIS_PORT;
    cx_timeout 300ms;
    cx_secret k200-0123456789abcdef;
    cx_prefix t200:;
--- config
    cx_step item:$1 ~^/item/(\d+)$;
    location / { return 200 "$cx_status\n"; }
--- init
my $before = main::prom();
CxTest::pause_redis($main::Redis);
my $s = main::step("f" . main::fresh(), "/item/" . main::fresh());
my $during = main::prom();
CxTest::resume_redis($main::Redis);
Test::More::is($s, "TIMEOUT", "the step waited cx_timeout");
main::moved_ok($before, $during, {
    'cx_requests_total{status="timeout"}' => 1,
    'cx_redis_timeouts_total' => 1,
    'cx_redis_in_flight' => 1,
    'cx_redis_round_trips_total' => 0,
}, "a timeout, its batch still in flight");
my $after;
my $deadline = Time::HiRes::time() + 10;
do {
    Time::HiRes::sleep(0.02);
    $after = main::prom();
} until main::delta($before, $after, 'cx_redis_round_trips_total') > 0
        || Time::HiRes::time() > $deadline;
main::moved_ok($before, $after, {
    'cx_requests_total{status="timeout"}' => 1,
    'cx_redis_in_flight' => 0,
    'cx_redis_round_trips_total' => 1,
    'cx_redis_round_trip_seconds_count' => 1,
    'cx_redis_round_trip_seconds_bucket{le="0.25"}' => 0,
    'cx_redis_round_trip_seconds_bucket{le="+Inf"}' => 1,
    'cx_redis_errors_total' => 0,
}, "the reply came: one round trip, longer than 0.25 s");
Test::More::cmp_ok(main::delta($before, $after,
                               'cx_redis_round_trip_seconds_sum'),
                   '>=', 0.3, "its time is in the sum");
--- request
GET /metrics
--- response_body_like eval
qr/cx_redis_timeouts_total [1-9]/
--- error_log
did not answer within cx_timeout



=== TEST 6: more steps than the table holds: the rest count as "(other)", in both formats
--- config eval
CORE::join("", map { "    cx_step s$_ /s$_;\n" } 1 .. 70)
. "    location / { return 200 \"\$cx_status\\n\"; }\n"
--- init
my $before = main::prom();
main::step("g" . main::fresh(), "/s70");
main::step("g" . main::fresh(), "/s1");
my $after = main::prom();
main::moved_ok($before, $after, {
    'cx_steps_total{step="(other)"}' => 1,
    'cx_steps_total{step="s1"}' => 1,
    'cx_steps_total{step="s2"}' => 0,
}, "s70 is past the table, s1 in it");
Test::More::ok(!exists $after->{'cx_steps_total{step="s70"}'},
               "s70 has no entry of its own");
my (undef, undef, $body) = CxTest::http_get(main::port(),
                                            "/metrics?format=json");
my $j = JSON::PP->new->decode($body);
my %st = map { $_->{step} => $_->{count} } @{ $j->{steps} };
Test::More::is($st{"(other)"}, $after->{'cx_steps_total{step="(other)"}'},
               "the JSON has it too");
Test::More::is($j->{steps}[-1]{step}, "(other)", "last");
--- request
GET /metrics
--- response_body_like eval
qr/cx_steps_total\{step="\(other\)"\} [1-9]/



=== TEST 7: POST is not allowed
--- config
    location / { return 200 "$cx_status\n"; }
--- request
POST /metrics
--- error_code: 405
--- response_body_like eval
qr/405 Not Allowed/



=== TEST 8: an unknown format: 400, a line that does not echo it
--- config
    location / { return 200 "$cx_status\n"; }
--- request
GET /metrics?format=xml%3Cb%3E
--- error_code: 400
--- response_headers
Cache-Control: no-store
--- response_body
unknown format, it must be "json", "html" or "prometheus"



=== TEST 9: the page
--- config
    location / { return 200 "$cx_status\n"; }
--- request
GET /metrics?format=html
--- response_headers
Content-Type: text/html; charset=utf-8
Cache-Control: no-store
--- response_body_like eval
qr/^<!DOCTYPE html>.*location\.pathname \+ ['"]\?format=json['"]/s



=== TEST 10: cx_metrics where cx is on, and without any cx_step
--- http_config
    cx_redis 127.0.0.1:$TEST_NGINX_CX_REDIS_PORT;
    cx_prefix t200:;
--- config
    location = /m2 { cx_metrics; }
--- init
my ($s, undef, $b) = CxTest::http_get(main::port(), "/m2");
Test::More::is($s, 200, "served");
Test::More::is(main::format_errors($b), "", "in the format");
Test::More::unlike($b, qr/cx_steps_total/, "no funnel without cx_step");
--- request
GET /m2?format=json
--- response_body_like eval
qr/"steps":\[\],/



=== TEST 11: the counts survive a reload
--- config
    cx_step item:$1 ~^/item/(\d+)$;
    location / { return 200 "$cx_status\n"; }
--- init
main::step("h" . main::fresh(), "/item/" . main::fresh());
my $before = main::prom();
my (undef, undef, $json) = CxTest::http_get(main::port(),
                                            "/metrics?format=json");
my $since = JSON::PP->new->decode($json)->{since};
my ($old, $new, $after) = (0, 1, $before);
# Test::Nginx runs valgrind with master_process off: no reload there
unless ($ENV{TEST_NGINX_USE_VALGRIND}) {
    (undef, undef, $old) = CxTest::http_get(main::port(), "/pid");
    my $root = Test::Nginx::Socket::server_root();
    open my $in, '<', "$root/logs/nginx.pid" or die "no pid file";
    my $master = <$in>;
    chomp $master;
    kill 'HUP', $master;
    $new = $old;
    my $deadline = Time::HiRes::time() + 10;
    while (Time::HiRes::time() < $deadline) {
        (undef, undef, $new) = CxTest::http_get(main::port(), "/pid");
        last if $new && $new ne $old;
        Time::HiRes::sleep(0.02);
    }
    $after = main::prom();
    (undef, undef, $json) = CxTest::http_get(main::port(),
                                             "/metrics?format=json");
}
Test::More::isnt($new, $old, "a new worker answers");
my @lower = grep { !/in_flight/ && $after->{$_} < $before->{$_} }
            sort keys %$before;
Test::More::is("@lower", "", "no count is lower");
Test::More::cmp_ok($after->{'cx_requests_total{status="miss"}'}, '>=', 1,
                   "the miss before is still counted");
Test::More::is(JSON::PP->new->decode($json)->{since}, $since,
               "since is the same");
--- request
GET /metrics
--- response_body_like eval
qr/cx_steps_total\{step="item:\$1"\} [1-9]/



=== TEST 12: cx_metrics takes no argument
--- config
    location = /m { cx_metrics on; }
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid number of arguments in "cx_metrics" directive/



=== TEST 13: cx_metrics is a location's
--- config
    cx_metrics;
--- must_die
--- error_log eval
qr/\[emerg\] .*"cx_metrics" directive is not allowed here/



=== TEST 14: cx_metrics twice in a location
--- config
    location = /m { cx_metrics; cx_metrics; }
--- must_die
--- error_log eval
qr/\[emerg\] .*"cx_metrics" directive is duplicate/



=== TEST 15: a cx_forget is no step: no request counted
--- config
    cx_step home /;
    location / { return 200 "$cx_status\n"; }
    location = /forget { cx_forget; }
--- init
my $id = "f" . main::fresh();
main::step($id, "/");
my $before = main::prom();
my ($status) = CxTest::http_request(main::port(), "POST", "/forget",
                                    { Cookie => "cx_id=$id" });
Test::More::is($status, 200, "forgotten");
main::moved_ok($before, main::prom(), {
    'cx_requests_total{status="hit"}' => 0,
    'cx_requests_total{status="miss"}' => 0,
    'cx_requests_total{status="error"}' => 0,
}, "no step request counted");
--- request
GET /metrics
--- response_body_like chomp
cx_requests_total\{status="miss"\} [1-9]
