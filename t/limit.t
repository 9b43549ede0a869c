#!/usr/bin/perl

# Tests for the per-botId rate limit of ngx_http_manta_module (README "Rate
# limiting" and "RateLimit headers"): exact counting over parallel
# connections across four workers, burst with nodelay, delay=N and plain
# burst (delayed, not rejected), the exact RateLimit-Policy, RateLimit and
# Retry-After fields and where they are (not) sent, bots limited
# independently, a bot's own rate and burst from the credentials file,
# manta_limit_status, manta_limit_dry_run, manta_limit_log_level (one
# "limiting requests" line a second per bot, across workers),
# $manta_limit_status, and that rejected requests are not counted.

###############################################################################

use warnings;
use strict;

use List::Util qw(max min);
use Test::More;
use Time::HiRes qw(time);

use FindBin;
use lib "$FindBin::Bin/lib";
use Manta::Test;

###############################################################################

# one listening socket per worker: connections are spread over all four
# workers by the kernel

my $t = Manta::Test->new()->write_gateway(<<'EOF',
%%MANTA_TAG(/openapi/clientTag; manta_limit zone=bots burst=5 nodelay)%%

%%MANTA_TAG(/minutes/clientTag;
            manta_limit zone=minutes burst=5 nodelay)%%

%%MANTA_TAG(/delay/clientTag; manta_limit zone=tens burst=5 delay=2;
            manta_limit_log_level warn)%%

%%MANTA_TAG(/burst/clientTag; manta_limit zone=tens burst=5)%%

%%MANTA_TAG(/status/clientTag; manta_limit zone=bots burst=1 nodelay;
            manta_limit_status 503; manta_limit_log_level warn)%%

%%MANTA_TAG(/dry/clientTag; manta_limit zone=bots burst=1 nodelay;
            manta_limit_dry_run on; manta_limit_log_level notice)%%

%%MANTA_TAG(/drydelay/clientTag; manta_limit zone=tens burst=5;
            manta_limit_dry_run on)%%

%%MANTA_TAG(/noheaders/clientTag;
            manta_limit zone=bots burst=1 nodelay;
            manta_limit_headers off)%%

%%MANTA_TAG(/unlimited/clientTag)%%

%%MANTA_TAG(/strict/clientTag;
            manta_credentials %%TESTDIR%%/strict.json;
            manta_limit zone=bots burst=5 nodelay)%%

%%MANTA_TAG(/noburst/clientTag; manta_limit zone=bots)%%

%%MANTA_TAG(/invalid/clientTag; manta_limit zone=bots burst=1 nodelay)%%
EOF
    main => 'worker_processes  4;', listen => 'reuseport', client_tag => 0,
    log => [limit => '$manta_limit_status $manta_bot_id $pid $request_time'],
    http => <<'EOF');
manta_limit_zone  zone=bots:1m     rate=1r/m;
manta_limit_zone  zone=minutes:1m  rate=10r/m;
manta_limit_zone  zone=tens:1m     rate=10r/s;
EOF

$t->write_creds({token => 'TOKEN-D', secret => 'SECRET-D',
    bots => {fast => {rate => '100r/s', burst => 50},
        wide => {burst => 20}}});
$t->write_file('strict.json',
    '{"bots":{"known":{"token":"TOKEN-K","secret":"SECRET-K"}}}', 0600);

$t->run();

###############################################################################

my $ok = '{"name":"x"}';
my $limited = 'too many requests for this botId';
my $default = $Manta::Mock::DEFAULT_BODY;
my ($r, @r);

# exact counting: 12 requests of one bot at once over 12 connections spread
# over 4 workers; 1r/m burst=5 nodelay lets exactly 6 through

$t->mock_clear();
my $from = nginx_second();
@r = $t->parallel([map { post_req('/openapi/clientTag?botId=count') }
    1 .. 12]);
my $to = nginx_second();

my @passed = grep { $_ && $_->{status} == 200 } @r;
my @rejected = grep { $_ && $_->{status} == 429 } @r;

is(scalar @passed, 6, 'parallel: exactly 6 of 12 answered 200');
is(scalar @rejected, 6, 'parallel: exactly 6 of 12 answered 429');
is(scalar(grep { $_->{body} eq $default } @passed), 6,
    'parallel: the 200s are the mock\'s answer');
is(scalar(grep { !error_response_problems($_, 429, 'count', $limited) }
    @rejected), 6, 'parallel: the 429s are the rate_limited ErrorResponse');
is(scalar(my @seen = $t->mock_requests()), 6,
    'parallel: the mock received exactly 6 requests');
is(scalar(grep { $_->{uri} eq '/api/openapi/clientTag?botId=count' } @seen),
    6, 'parallel: all 6 for botId count');
is(join(' ', sort(statuses(@r))), join(' ', ('PASSED') x 6, ('REJECTED') x 6),
    'parallel: $manta_limit_status 6 PASSED, 6 REJECTED');
my %pids = map { (split ' ', log_of($_))[3] // 'none' => 1 } @r;
cmp_ok(scalar(grep { /^\d+$/ } keys %pids), '>', 1,
    'parallel: the requests were served by more than one worker');
my $n = count(qr/\[error\] .* limiting requests by zone "bots", /
    . qr/botId "count",/);
ok($n >= 1 && $n <= $to - $from + 1,
    'parallel: the 6 rejections over 4 workers logged at the default level '
    . "error, one line a second of nginx's clock: $n line(s) in "
    . ($to - $from + 1) . ' second(s)');

# another bot is limited independently: its own 6, then rejected

@r = map { post('/openapi/clientTag?botId=other') } 1 .. 7;
is(join(' ', map { $_->{status} } @r), '200 200 200 200 200 200 429',
    'another bot: its own burst while count is rejected, then 429');
is(post('/openapi/clientTag?botId=count')->{status}, 429,
    'another bot: count still rejected');

# delay=2: 3 at once, the next 3 delayed 100, 200, 300 ms, the rest rejected

$t->mock_clear();
$from = nginx_second();
@r = $t->parallel([map { post_req('/delay/clientTag?botId=d') } 1 .. 8]);
$to = nginx_second();

my @ok = sort { $a->{elapsed} <=> $b->{elapsed} }
    grep { $_ && $_->{status} == 200 } @r;
my @no = grep { $_ && $_->{status} == 429 } @r;
my %by = (PASSED => [], DELAYED => [], REJECTED => []);
push @{ $by{ status_of($_) } }, time_of($_) for grep { $_ } @r;

is(scalar @ok, 6, 'delay=2: 6 of 8 answered 200');
is(scalar(grep { !error_response_problems($_, 429, 'd', $limited) } @no), 2,
    'delay=2: 2 of 8 rejected with the 429 ErrorResponse');
is(scalar(my @d = $t->mock_requests()), 6, 'delay=2: 6 forwarded');
is(join(' ', map { scalar @{ $by{$_} } } qw/PASSED DELAYED REJECTED/),
    '3 3 2', 'delay=2: 3 PASSED, 3 DELAYED, 2 REJECTED');
cmp_ok(max(@{ $by{PASSED} }, 0), '<', min(@{ $by{DELAYED} }, 1e9),
    'delay=2: the passed ones took less time in nginx ($request_time) than '
    . 'any delayed one');
cmp_ok(max((map { $_->{elapsed} } @no), 0), '<', $ok[-1]{elapsed},
    'delay=2: rejections answered at once, before the last delayed one');
cmp_ok($ok[-1]{elapsed}, '>=', 0.25,
    'delay=2: the 6th answered at least 250 ms after the start');
cmp_ok($ok[-1]{elapsed}, '<', 1.5, 'delay=2: ... and not much later');
cmp_ok(max(@{ $by{PASSED} }) // 1e9, '<', 0.1,
    'delay=2: the first 3 answered at once ($request_time under 100 ms)');
cmp_ok(min(@{ $by{DELAYED} }) // 0, '>=', 0.09,
    'delay=2: each delayed one held at least its first slot (~100 ms) in '
    . 'nginx ($request_time)');
like($r[0]{headers}{'ratelimit-policy'} // '', qr/^"tens";q=10;w=1$/,
    'RateLimit-Policy of 10r/s: "tens";q=10;w=1');
is(count(qr/\[notice\] .* delaying request by \d+ ms by zone "tens", /
    . qr/botId "d",/), 3,
    'delay=2: 3 delays logged one level below warn: notice');
$n = count(qr/\[warn\] .* limiting requests by zone "tens", botId "d",/);
ok($n >= 1 && $n <= min(2, $to - $from + 1),
    'delay=2: the 2 rejections logged at manta_limit_log_level warn, one line '
    . "a second: $n line(s) in " . ($to - $from + 1) . ' second(s)');

# burst without nodelay or delay: delayed, not rejected, within the burst

$t->mock_clear();
@r = $t->parallel([map { post_req('/burst/clientTag?botId=b') } 1 .. 6]);

@ok = sort { $a->{elapsed} <=> $b->{elapsed} }
    grep { $_ && $_->{status} == 200 } @r;

is(scalar @ok, 6, 'plain burst: all 6 answered 200, none rejected');
is(scalar(@d = $t->mock_requests()), 6, 'plain burst: all 6 forwarded');
is(join(' ', sort(statuses(@r))), join(' ', ('DELAYED') x 5, 'PASSED'),
    'plain burst: 1 PASSED, 5 DELAYED');
cmp_ok($ok[-1]{elapsed}, '>=', 0.4,
    'plain burst: the last one delayed to about 500 ms');
cmp_ok($ok[-1]{elapsed}, '<', 2, 'plain burst: ... and not much later');

# headers: 1r/m burst=5 nodelay, one request after the other

my @fields = rate_fields('/openapi/clientTag?botId=hdr');

is(join(' ', map { $_->[0] } @fields), '200 200 200 200 200 200 429',
    'headers: 6 passed then rejected');
is(scalar(grep { ($_->[1] // '') eq '"bots";q=1;w=60' } @fields), 7,
    'headers: RateLimit-Policy "bots";q=1;w=60 for 1r/m on each response');
is(scalar(grep { ($_->[2] // '') =~ /^"bots";r=\d+;t=\d+$/ } @fields), 7,
    'headers: RateLimit "bots";r=N;t=N on each response');
is(join(' ', map { ($_->[2] // '') =~ /;r=(\d+)/ ? $1 : '-' } @fields),
    '1 1 1 1 1 0 0', 'headers: r at most q=1, 0 once the burst is used');
is(steps(@fields[0 .. 5]), 'ok ok ok ok ok',
    'headers: t grows by about 60 s with each passed request');
is(reset_of($fields[6][2]), reset_of($fields[5][2]),
    'headers: t of the rejection unchanged, the bucket unchanged');
is(scalar(grep { defined $_->[3] } @fields[0 .. 5]), 0,
    'headers: no Retry-After on the passed ones');
like($fields[6][3] // '', qr/^\d+$/, 'headers: Retry-After on the 429');
ok(($fields[6][3] // 0) >= 60 && ($fields[6][3] // 0) <= 63,
    'headers: Retry-After about 60 s for 1r/m with a full bucket ('
    . ($fields[6][3] // 'none') . ')');

# 10r/m, q=10: r counts down

$r = post('/minutes/clientTag?botId=dec', '{"name":');
is($r->{headers}{ratelimit}, '"minutes";r=6;t=0',
    '10r/m burst=5: a bot not seen yet: r=6 (burst + 1), t=0');

@fields = rate_fields('/minutes/clientTag?botId=dec');

is(join(' ', map { $_->[0] } @fields), '200 200 200 200 200 200 429',
    '10r/m: 6 passed then rejected');
is(scalar(grep { ($_->[1] // '') eq '"minutes";q=10;w=60' } @fields), 7,
    '10r/m: RateLimit-Policy "minutes";q=10;w=60');
is(join(' ', map { ($_->[2] // '') =~ /^"minutes";r=(\d+);t=\d+$/ ? $1 : '-' }
    @fields), '5 4 3 2 1 0 0', '10r/m: r decreases 5 4 3 2 1 0, then 0');
is(steps(@fields[0 .. 5]), 'ok ok ok ok ok',
    '10r/m: t grows by about 6 s with each passed request');
ok(($fields[6][3] // 0) >= 6 && ($fields[6][3] // 0) <= 7,
    '10r/m: Retry-After about 6 s (' . ($fields[6][3] // 'none') . ')');

# no burst: after one request nothing is left until the bucket has drained;
# r=0 with t=0 would tell the client its quota is back already

@fields = map { my $x = post('/noburst/clientTag?botId=nb');
    [$x->{status}, $x->{headers}{ratelimit}, $x->{headers}{'retry-after'}] }
    1 .. 2;

is(join(' ', map { "$_->[0] " . ($_->[1] // '-') =~ s/;t=\d+$//r } @fields),
    '200 "bots";r=0 429 "bots";r=0', 'no burst: 1 passed, r=0, then 429');
ok(($fields[1][2] // 0) >= 60 && ($fields[1][2] // 0) <= 63,
    'no burst: Retry-After about 60 s (' . ($fields[1][2] // 'none') . ')');
cmp_ok(reset_of($fields[0][1]), '>', 0,
    'no burst: r=0 after the passed request, so t > 0');
cmp_ok(reset_of($fields[1][1]), '>=', $fields[1][2] // 1e9,
    'no burst: the rejection\'s t (r=0) is not before its Retry-After');

# rejections before the botId is validated and known: only the policy

for my $case (['415', 'text/plain', '/openapi/clientTag?botId=hdr'],
    ['405', 'GET', '/openapi/clientTag?botId=hdr'],
    ['400 bad_bot_id', 'application/json', '/openapi/clientTag?botId=-x'],
    ['403 unknown_bot', 'application/json', '/strict/clientTag?botId=x'])
{
    my ($name, $how, $uri) = @$case;

    $r = $how eq 'GET' ? post($uri, $ok, method => 'GET')
        : post($uri, $ok, content_type => $how);

    is(($r->{status} // 0) . ' ' . ($r->{headers}{'ratelimit-policy'} // '-')
        . ' ' . ($r->{headers}{ratelimit} // '-')
        . ' ' . ($r->{headers}{'retry-after'} // '-'),
        substr($name, 0, 3) . ' "bots";q=1;w=60 - -',
        "$name: RateLimit-Policy only");
}

# after validation, a rejection that is not the limit: the bucket as it is

$r = post('/openapi/clientTag?botId=hdr', '{"name":');
like(($r->{status} // 0) . ' ' . ($r->{headers}{ratelimit} // '-') . ' '
    . ($r->{headers}{'retry-after'} // '-'), qr/^400 "bots";r=0;t=3\d\d -$/,
    'invalid_json of an exhausted bot: RateLimit r=0 t=3xx, no Retry-After');

# the credentials' own rate and burst: 100r/s burst=50

$t->mock_clear();
@fields = ();

for my $i (1 .. 10) {
    $r = post('/openapi/clientTag?botId=fast');
    push @fields, [$r->{status}, $r->{headers}{'ratelimit-policy'},
        $r->{headers}{ratelimit}];
}

is(join(' ', map { $_->[0] } @fields), join(' ', ('200') x 10),
    'bot with its own rate and burst: 10 passed where the default stops at 6');
is(scalar(@d = $t->mock_requests()), 10, 'bot with its own rate: 10 forwarded');
is(scalar(grep { ($_->[1] // '') eq '"bots";q=100;w=1' } @fields), 10,
    'bot with its own rate: RateLimit-Policy "bots";q=100;w=1');
like($fields[0][2] // '', qr/^"bots";r=50;t=\d+$/,
    'bot with its own burst: r=50 at first');

# a burst of its own in a nodelay location: its delay is that burst, not
# the location's (at 1r/m, a request delayed would wait a minute)

@r = map { post('/openapi/clientTag?botId=wide') } 1 .. 12;
is(join(' ', statuses(@r)), join(' ', ('PASSED') x 12),
    'bot with its own burst=20 in a burst=5 nodelay location: 12 passed, '
    . 'none delayed');

# manta_limit_status 503

$r = post('/status/clientTag?botId=st') for 1 .. 2;
is($r->{status}, 200, 'manta_limit_status 503: 2 passed (burst=1)');

$r = post('/status/clientTag?botId=st');
is_error_response($r, 503, 'st', $limited,
    'manta_limit_status 503: status and code 503');
like($r->{headers}{'retry-after'} // '', qr/^[1-9]\d*$/,
    'manta_limit_status 503: with Retry-After');
is(status_of($r), 'REJECTED', 'manta_limit_status 503: logged REJECTED');
is(count(qr/\[warn\] .* limiting requests by zone "bots", botId "st",/), 1,
    'manta_limit_log_level warn: the line at [warn]');
is(count(qr/\[(?!warn).*limiting requests.*botId "st",/), 0,
    'manta_limit_log_level warn: at no other level');

# dry run: counted and logged, never rejected

$t->mock_clear();
$from = nginx_second();
@r = map { post('/dry/clientTag?botId=dry') } 1 .. 4;
$to = nginx_second();

is(join(' ', map { $_->{status} } @r), '200 200 200 200',
    'dry run: never rejected');
is(scalar(@d = $t->mock_requests()), 4, 'dry run: all 4 forwarded');
is(join(' ', statuses(@r)), 'PASSED PASSED REJECTED_DRY_RUN REJECTED_DRY_RUN',
    'dry run: $manta_limit_status REJECTED_DRY_RUN for the excess');
is(scalar(grep { defined $_->{headers}{'retry-after'} } @r), 0,
    'dry run: no Retry-After');
$n = count(qr/\[notice\] .* limiting requests, dry run, by zone "bots", /
    . qr/botId "dry",/);
ok($n >= 1 && $n <= min(2, $to - $from + 1),
    'dry run: "limiting requests, dry run," at manta_limit_log_level notice, '
    . "one line a second: $n line(s) in " . ($to - $from + 1)
    . ' second(s)');

my $start = time();
@r = map { post('/drydelay/clientTag?botId=dd') } 1 .. 3;
my $took = time() - $start;

is(join(' ', map { $_->{status} } @r), '200 200 200',
    'dry run, no nodelay: passed');
is(join(' ', statuses(@r)), 'PASSED DELAYED_DRY_RUN DELAYED_DRY_RUN',
    'dry run, no nodelay: DELAYED_DRY_RUN');
cmp_ok($took, '<', 0.25, 'dry run, no nodelay: not delayed (300 ms else)');

# manta_limit_headers off

@r = map { post('/noheaders/clientTag?botId=quiet') } 1 .. 3;
push @r, post('/noheaders/clientTag?botId=quiet', $ok,
    content_type => 'text/plain');

is(join(' ', map { $_->{status} } @r), '200 200 429 415',
    'manta_limit_headers off: still limited');
is(join(' ', map { header_values($_, 'RateLimit-Policy'),
    header_values($_, 'RateLimit'), header_values($_, 'Retry-After') } @r),
    '', 'manta_limit_headers off: no RateLimit-Policy, RateLimit, Retry-After');

# a location without manta_limit

@r = map { post('/unlimited/clientTag?botId=count') } 1 .. 8;
push @r, post('/unlimited/clientTag?botId=count', $ok,
    content_type => 'text/plain');

is(join(' ', map { $_->{status} } @r), join(' ', ('200') x 8, '415'),
    'no manta_limit: not limited');
is(join(' ', map { header_values($_, 'RateLimit-Policy'),
    header_values($_, 'RateLimit'), header_values($_, 'Retry-After') } @r),
    '', 'no manta_limit: no RateLimit-Policy, RateLimit, Retry-After');
is(join(' ', statuses(@r)), join(' ', ('-') x 9),
    'no manta_limit: $manta_limit_status empty');

# rejected requests are not counted: 1r/m burst=1

@r = map { post('/invalid/clientTag?botId=v', '{"name":') } 1 .. 5;
is(join(' ', map { $_->{status} } @r), '400 400 400 400 400',
    'not counted: 5 invalid_json');
is(join(' ', statuses(@r)), '- - - - -',
    'not counted: $manta_limit_status empty for them');

$t->mock_clear();
@r = map { post('/invalid/clientTag?botId=v') } 1 .. 3;
is(join(' ', map { $_->{status} } @r), '200 200 429',
    'not counted: then 2 valid passed (burst=1), the third 429');
is(scalar(@d = $t->mock_requests()), 2, 'not counted: 2 forwarded');

$t->done();

###############################################################################

# A POST of $body (a valid one by default) without clearing the mock's
# record; %o as Manta::Test::http(), content_type => VALUE, method => M.
# The response remembers its X-Seq for its log line.

sub post {
    my ($uri, $body, %o) = @_;

    my (undef, undef, %ro) = @{ post_req($uri, $body,
        delete $o{content_type}) };
    my $res = $t->http(delete $o{method} // 'POST', $uri, %ro, %o);

    $res->{seq} = $t->{seq} if $res;

    return $res;
}

sub post_req {
    my ($uri, $body, $type) = @_;
    return ['POST', $uri,
        headers => ['Content-Type' => $type // 'application/json'],
        body => $body // $ok];
}

# Seven requests to $uri: of each, the status, RateLimit-Policy, RateLimit
# and Retry-After.

sub rate_fields {
    my ($uri) = @_;

    my @fields;

    for my $i (1 .. 7) {
        my $res = post($uri);
        push @fields, [$res->{status}, $res->{headers}{'ratelimit-policy'},
            $res->{headers}{ratelimit}, $res->{headers}{'retry-after'}];
    }

    return @fields;
}

# The request's line in limit.log: "status limit_status botId pid
# request_time".

sub log_of {
    my ($res) = @_;
    return '' unless $res && $res->{seq};
    return $t->log_tail('limit.log', $res->{seq}) // '';
}

sub status_of {
    my ($res) = @_;
    return (split ' ', log_of($res))[1] // 'none';
}

# The request's time in nginx, $request_time (the log line's last field).

sub time_of {
    my ($res) = @_;
    return (split ' ', log_of($res))[-1] // 1e9;
}

sub statuses {
    return map { status_of($_) } @_;
}

# Lines of error.log matching $re.

sub count {
    my ($re) = @_;
    return scalar grep { $_ =~ $re } $t->log_lines('error.log');
}

# The t of a RateLimit value ("none" without one).

sub reset_of {
    my ($value) = @_;
    return ($value // '') =~ /;t=(\d+)$/ ? $1 : 'none';
}

# Per pair of consecutive [status, policy, RateLimit] rows: "ok" when t
# grew by the rate's period per request (q=1;w=60: 60 s, q=10;w=60: 6 s,
# rounded up, +1 for the rate's truncation to 1/1000 r/s), else "t1->t2".

sub steps {
    my (@rows) = @_;

    my @out;

    for my $i (1 .. $#rows) {
        my ($q, $w) = ($rows[$i][1] // '') =~ /;q=(\d+);w=(\d+)$/;
        my ($from, $to) = map { reset_of($rows[$_][2]) } $i - 1, $i;

        if (!$q || $from eq 'none' || $to eq 'none') {
            push @out, "$from->$to";
            next;
        }

        my $period = $w / $q;
        my $d = $to - $from;

        push @out, ($d >= $period - 1 && $d <= $period * 1.05 + 1) ? 'ok'
            : "$from->$to";
    }

    return join ' ', @out;
}

###############################################################################
