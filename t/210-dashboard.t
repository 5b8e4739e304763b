# Issue 10: the dashboard of cx_metrics ?format=html, rendered by a real
# browser.  Headless Chromium loads the page, which reads the location's
# ?format=json and draws it; the test reads the DOM the page built (what
# a shop owner sees) and takes a screenshot.  Skipped where chromium is
# not installed (scripts/test.sh installs it).
#
# This file starts a redis-server of its own.

use Test::Nginx::Socket;
use lib 't/cx';
use CxTest;
use File::Temp qw(tempdir);
use POSIX ();
use JSON::PP ();
use Time::HiRes qw(sleep time);

our ($Chromium) = grep { -x } map { "$_/chromium" } split /:/, $ENV{PATH};

unless ($Chromium) {
    plan skip_all => "chromium is not installed (apt-get install chromium):"
                     . " the dashboard is not rendered";
}

our $Redis = CxTest::start_redis();

$ENV{TEST_NGINX_CX_REDIS_PORT} = $Redis->{port};

repeat_each(1);

plan tests => CxTest::planned(qr/Test::More::(?!diag)\w+\(/, 1);

no_shuffle();
no_root_location();

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("http_config", <<'_EOC_');
    cx_redis 127.0.0.1:$TEST_NGINX_CX_REDIS_PORT;
    cx_timeout 10s;
    cx_secret k210-0123456789abcdef;
    cx_prefix t210:;
_EOC_

    $block->set_value("config", <<'_EOC_' . ($block->config // ''));
    cx on;
    cx_step home /;
    cx_step search /search;
    cx_step item:$1 ~^/item/(\d+)$;
    cx_step cart /cart;
    cx_step checkout /checkout;
    cx_goal checkout;
    location / {
        return 200 "step=$cx_step\n";
    }
    location = /cx-metrics {
        cx_metrics;
    }
_EOC_

    CxTest::quiet($block);
});

# the page as Chromium left it (its DOM, serialized) and its text without
# the script and style
sub main::render {
    my ($uri, $shot) = @_;
    my $port = Test::Nginx::Socket::server_port();
    my $dir = tempdir("cx-chromium-XXXXXX", TMPDIR => 1, CLEANUP => 1);
    my @cmd = ("timeout", "120", $Chromium, "--headless", "--no-sandbox",
               "--disable-gpu", "--user-data-dir=$dir",
               "--virtual-time-budget=5000");
    my $url = "http://127.0.0.1:$port$uri";

    # nginx answering first: under valgrind it may still be starting
    CxTest::http_get($port, $uri);

    # its own complaints (no D-Bus, no GPU) in a log of its own
    my $pid = open my $out, '-|';
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDERR, '>', "$dir/chromium.log";
        exec(@cmd, "--dump-dom", $url) or POSIX::_exit(127);
    }
    my $dom = do { local $/; <$out> } // '';
    close $out;

    if ($shot) {
        unlink $shot;
        system("@cmd --screenshot=$shot --window-size=1280,1600 $url"
               . " 2>>$dir/chromium.log") == 0
            or die "chromium --screenshot failed: $?";
    }

    (my $text = $dom) =~ s{<(script|style)\b.*?</\1>}{}gs;
    $text =~ s{<[^>]*>}{ }g;
    $text =~ s{&lt;}{<}g;
    $text =~ s{&gt;}{>}g;
    $text =~ s{&amp;}{&}g;
    $text =~ s{\s+}{ }g;
    return ($dom, $text);
}

# the counters as the JSON says them
sub main::metrics {
    my (undef, undef, $body) = CxTest::http_get(
        Test::Nginx::Socket::server_port(), "/cx-metrics?format=json");
    return JSON::PP::decode_json($body);
}

# width, height and size of a PNG, and whether its pixels differ: a
# compressed image of one colour is small
sub main::png {
    my $file = shift;
    open my $in, '<:raw', $file or return (0, 0, 0);
    my $png = do { local $/; <$in> };
    close $in;
    return (0, 0, 0) unless substr($png, 0, 8) eq "\x89PNG\r\n\x1a\n";
    my ($w, $h) = unpack "NN", substr($png, 16, 8);
    return ($w, $h, length $png);
}

run_tests();

__DATA__

=== TEST 1: markup in the JSON is shown as text
Step names come from the configuration, which refuses "<" and "&" in
them; the page treats every string of the JSON as untrusted anyway.  A
location answers ?format=json with names made of markup; the page shows
them as text and builds no element from them.
--- config
    location = /fixture {
        if ($arg_format = json) {
            rewrite ^ /fixture.json last;
        }
        cx_metrics;
    }
    location = /fixture.json {
        default_type application/json;
    }
--- user_files
>>> fixture.json
{"version": 1, "since": 1763900000,
 "requests": {"hit": 2, "miss": "x"},
 "steps": [{"step": "<b>bold</b>", "count": 5},
           {"step": "<img src=x onerror=alert(1)>", "count": "NaN"},
           {"step": null}, {}],
 "variants": {"treatment": {"journeys": "<i>", "offered": 4,
                            "follows": [1, "2", null],
                            "levels": {"new": {"goals": 1, "steps_sum": 3,
                                               "le": [1, 2],
                                               "buckets": [0, "<x>", 1]}}},
              "holdout": 7},
 "redis": {"round_trip_seconds": {"le": "x", "buckets": [1]}}}
--- init
my ($dom, $text) = main::render("/fixture?format=html");
Test::More::like($text, qr/<b>bold<\/b> 5/, "the name is in the funnel");
Test::More::like($dom, qr/&lt;b&gt;bold&lt;\/b&gt;/, "as text");
Test::More::unlike($dom, qr/<b>bold|<img|<x>/i, "no element of the JSON");
Test::More::unlike($text, qr/NaN|undefined|Infinity/, "no NaN, undefined");
Test::More::like($text, qr/updated \d\d:\d\d:\d\d/, "drawn");
--- request
GET /fixture?format=html
--- response_body_like chomp
<title>ngx_cx: customer journeys</title>



=== TEST 2: a failed update says so
--- config
    location = /broken {
        if ($arg_format = json) {
            return 503;
        }
        cx_metrics;
    }
--- init
my ($dom, $text) = main::render("/broken?format=html");
Test::More::like($text, qr/update failed at \d\d:\d\d:\d\d [(]HTTP 503[)]/,
                 "the failure is shown");
Test::More::unlike($text, qr/NaN|undefined|Infinity/, "no NaN, undefined");
--- request
GET /broken?format=html
--- response_body_like chomp
Customer journeys



=== TEST 3: a shop's figures, as the page shows them
Three customers walk to the goal in five steps.  The page shows what the
JSON says (counters may have more from before: they are kept across a
reload), in a funnel of the declared steps in their order, the goals and
the mean steps to the goal; the screenshot is a full page.
--- init
my $port = Test::Nginx::Socket::server_port();
my $goals = sub {
    my $l = $_[0]->{variants}{treatment}{levels};
    my ($n, $s) = (0, 0);
    for (values %$l) { $n += $_->{goals}; $s += $_->{steps_sum}; }
    return ($n, $s);
};
my ($n0, $s0) = $goals->(main::metrics());
CxTest::journeys($port, map { ["d210-$_", "/", "/search", "/item/7",
                                "/cart", "/checkout"] } 1 .. 3);
my ($m, $n, $s);
my $deadline = time + 10;
do {
    $m = main::metrics();
    ($n, $s) = $goals->($m);
} while ($n < $n0 + 3 && time < $deadline && sleep 0.05);
my $funnel = join " ", map { "$_->{step} $_->{count}" } @{ $m->{steps} };
my $mean = sprintf "%.1f", $n ? $s / $n : 0;
my $headline = "customers reach the goal in $mean steps on average;"
               . " there is no holdout";
my $shot = Test::Nginx::Socket::html_dir() . "/dashboard.png";
my ($dom, $text) = main::render("/cx-metrics?format=html", $shot);
Test::More::is($n - $n0, 3, "three goals more");
Test::More::is($s - $s0, 15, "of five steps each");
Test::More::like($funnel,
                 qr/^home \d+ search \d+ item:\$1 \d+ cart \d+ checkout \d+$/,
                 "the JSON's funnel: $funnel");
Test::More::like($text, qr/Funnel \Q$funnel\E goals $n /,
                 "the page's funnel, the goals");
Test::More::like($text, qr/\Q$headline\E/, "the headline: $mean steps");
Test::More::like($text, qr/\Q$mean\E steps with suggestions, mean of $n goals/,
                 "the mean");
Test::More::like($text, qr/hit \d+% [(]\d+ of \d+[)]/, "requests by status");
Test::More::unlike($text, qr/NaN|undefined|Infinity|null/,
                   "no NaN, undefined");
Test::More::cmp_ok(scalar(() = $dom =~ /<svg /g), ">=", 4, "SVG drawn");
my ($w, $h, $size) = main::png($shot);
Test::More::is("$w x $h", "1280 x 1600", "a screenshot, $shot");
Test::More::cmp_ok($size, ">", 40000, "not a blank one ($size bytes)");
--- request
GET /cx-metrics?format=json
--- response_body_like chomp
"steps":\[\{"step":"home","count":\d+\}



=== TEST 4: with a holdout, the difference and its 95% interval
A hundred customers, half of them in the holdout by their ids' hash (the
same half at every run), walk to the goal in 3 to 5 steps.  The page's
means, difference and interval are the ones computed here from the JSON's
sums and sums of squares (Welch, normal approximation), to its rounding.
--- config
    cx_holdout 50;
--- init
my $port = Test::Nginx::Socket::server_port();
my $goals = sub {
    my $m = shift;
    return map { my $l = $m->{variants}{$_}{levels}; my ($n, $s, $q) = (0) x 3;
                 for (values %$l) { $n += $_->{goals}; $s += $_->{steps_sum};
                                    $q += $_->{steps_squares}; }
                 ($_ => [$n, $s, $q]) } qw(treatment holdout);
};
my %g0 = $goals->(main::metrics());
CxTest::journeys($port, map { ["h210-$_", "/", ("/item/$_") x ($_ % 3),
                                "/cart", "/checkout"] } 1 .. 100);
my ($m, %g);
my $deadline = time + 10;
do {
    $m = main::metrics();
    %g = $goals->($m);
} while ($g{treatment}[0] + $g{holdout}[0]
         < $g0{treatment}[0] + $g0{holdout}[0] + 100
         && time < $deadline && sleep 0.05);
my ($nt, $nh) = ($g{treatment}[0], $g{holdout}[0]);
my %mean = map { $_ => $g{$_}[1] / $g{$_}[0] } keys %g;
my %var = map { my ($n, $s, $q) = @{ $g{$_} };
                $_ => ($q - $s * $s / $n) / ($n - 1) } keys %g;
my $d = $mean{treatment} - $mean{holdout};
my $se = sqrt($var{treatment} / $nt + $var{holdout} / $nh);
my ($dom, $text) = main::render("/cx-metrics?format=html");
my @shown = $text =~ /([-+]?[\d.]+)\ steps\ 95%\ interval\ ([-+]?[\d.]+)
                      \ to\ ([-+]?[\d.]+)\ /x;
my $near = @shown == 3 && abs($shown[0] - $d) <= 0.051
           && abs($shown[1] - ($d - 1.96 * $se)) <= 0.051
           && abs($shown[2] - ($d + 1.96 * $se)) <= 0.051;
Test::More::cmp_ok($nh, ">=", 30, "30 goals or more in the holdout");
Test::More::cmp_ok($nt, ">=", 30, "30 goals or more with suggestions");
Test::More::ok($near, sprintf "the difference %.2f, interval %.2f to %.2f:"
               . " shown @shown", $d, $d - 1.96 * $se, $d + 1.96 * $se);
Test::More::like($text, qr/holdout, mean of $nh goals/, "the holdout's");
Test::More::like($text, qr/Steps\ to\ the\ goal\ (With\ suggestions,
                           \ customers\ (reach|take)|No\ clear)/x,
                 "a verdict");
Test::More::unlike($text, qr/NaN|undefined|Infinity|null/,
                   "no NaN, undefined");
--- request
GET /cx-metrics?format=json
--- response_body_like chomp
"holdout":\{"journeys":[1-9]
