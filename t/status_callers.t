#!/usr/bin/perl

# Tests for the per-caller counters of ngx_http_manta_module (README
# "Status and metrics", manta_caller_requests_total{caller,outcome}): the
# requests of a location with manta_caller counted under the accepted
# caller id, exact under concurrency across two workers; the refused ones
# (unknown_caller, caller_not_allowed, or rejected before the caller was
# checked) under caller="__unknown__", so no value a caller sends becomes a
# label; callers beyond the zone's "bots" number under "__other__";
# locations without manta_caller not counted; the Prometheus text read by
# python3-prometheus-client's parser, the JSON "callers" object and the
# page's table.

###############################################################################

use warnings;
use strict;

use Test::More;
use JSON::PP;
use Time::HiRes qw(time);

use FindBin;
use lib "$FindBin::Bin/lib";
use Manta::Test;

###############################################################################

my $PYTHON = '/usr/bin/python3';

plan(skip_all => 'python3-prometheus-client is not installed')
    unless system("$PYTHON -c 'import prometheus_client' 2>/dev/null") == 0;

my $t = Manta::Test->new();

$t->write_creds({
    bots => {
        map { ($_ => {token => "TOKEN-$_", secret => "SECRET-$_"}) }
            qw/bot-a bot-b bot-c/
    },
    callers => {
        'svc-a' => {bots => ['bot-a']},
        'svc-b' => {bots => ['*']},
        'svc-c' => {bots => ['*']},
    },
});

$t->write_config(<<'EOF');

%%MANTA_MAIN%%

worker_processes  2;

http {
    %%MANTA_HTTP%%

    manta_status_zone  zone=manta_status:1m bots=3;

    # the caller named by a request header, whatever it says: only for
    # these tests, as nothing verifies it (see the README's rule)

    map $http_x_test_caller $svc {
        default  $http_x_test_caller;
    }

    server {
        %%MANTA_SERVER%%

        keepalive_requests  10000;

        %%MANTA_TAG(/openapi/clientTag; manta_caller $svc)%%

        %%MANTA_TAG(/plain/clientTag)%%

        location = /manta/status {
            manta_status;
        }
    }
}

EOF

$t->run();

###############################################################################

my $N = 20;
my $body = '{"name":"x"}';
my $U = '/openapi/clientTag';

sub req {
    my ($bot, $caller, $uri) = @_;
    return ['POST', ($uri // $U) . "?botId=$bot", headers => [
        'Content-Type' => 'application/json',
        (defined $caller ? ('X-Test-Caller' => $caller) : ()),
    ], body => $body];
}

# N of svc-a at once over two workers, with the refused ones among them

my @r = $t->parallel([
    (map { req('bot-a', 'svc-a') } 1 .. $N),
    (map { req('bot-b', 'svc-a') } 1 .. 3),         # not for svc-a
    (map { req('bot-a', undef) } 1 .. 2),           # no caller
    (map { req('bot-a', "evil-$_") } 1 .. 5),       # not in the map
    req('nobody', 'svc-a'),                         # unknown_bot
    (map { req('bot-a', 'svc-a', '/plain/clientTag') } 1 .. 4),
]);

is(scalar(grep { $_ && $_->{status} } @r), $N + 3 + 2 + 5 + 1 + 4,
    'parallel: every request answered');
is(scalar(grep { $_->{status} == 200 } @r), $N + 4,
    'parallel: svc-a for bot-a and the plain location forwarded');

is($t->http(@{ req('bot-c', 'svc-b') })->{status}, 200, 'svc-b forwarded');

my $total = $N + 3 + 2 + 5 + 1 + 1;
my $st = status_settled($total);
my $c = $st->{callers};

is($c->{'svc-a'}{forwarded}, $N, "json: svc-a forwarded $N exactly");
is($c->{'svc-a'}{caller_not_allowed}, 0,
    'json: svc-a refused for bot-b is not counted under svc-a');
is($c->{__unknown__}{caller_not_allowed}, 3 + 5,
    'json: caller_not_allowed (not allowed the bot, not in the map) 8 '
    . 'under __unknown__');
is($c->{__unknown__}{unknown_caller}, 2,
    'json: unknown_caller (empty value) 2 under __unknown__');
is($c->{__unknown__}{unknown_bot}, 1,
    'json: unknown_bot (caller not checked yet) under __unknown__');
is($c->{'svc-b'}{forwarded}, 1, 'json: svc-b forwarded 1');
ok(!(grep { /evil/ } keys %$c), 'json: no caller-sent value as a key');
is(join(',', sort keys %$c), '__unknown__,svc-a,svc-b',
    'json: the accepted callers and __unknown__, nothing else');
is(sum_callers($c), $total,
    'json: the plain location (no manta_caller) is not counted');
is(scalar(keys %{ $c->{'svc-a'} }), 16,
    'json: forwarded, every reason code and error');

# Prometheus, through a real parser

my $prom = $t->http('GET', '/manta/status?format=prometheus')->{body};
my %m = $t->prometheus_samples($prom);

ok(%m, 'prometheus: python3-prometheus-client parses it');
is($m{'manta_caller_requests_total{caller="svc-a",outcome="forwarded"}'}, $N,
    "prometheus: svc-a forwarded $N exactly");
is($m{'manta_caller_requests_total{caller="__unknown__",'
    . 'outcome="caller_not_allowed"}'}, 8,
    'prometheus: __unknown__ caller_not_allowed 8');
is($m{'manta_caller_requests_total{caller="__unknown__",'
    . 'outcome="unknown_caller"}'}, 2,
    'prometheus: __unknown__ unknown_caller 2');
is($m{'manta_caller_requests_total{caller="svc-b",outcome="forwarded"}'}, 1,
    'prometheus: svc-b forwarded 1');
is(scalar(grep { /^manta_caller_requests_total\{/ } keys %m), 3 * 16,
    'prometheus: 16 outcomes for each of the 3 callers, no other series');
unlike($prom, qr/evil/, 'prometheus: no caller-sent value anywhere');
like($prom, qr/^# TYPE manta_caller_requests_total counter$/m,
    'prometheus: a counter family');

my $html = $t->http('GET', '/manta/status?format=html')->{body};
like($html, qr/<table id="callers">/, 'page: a callers table');
like($html, qr/drawCallers\(d\.callers/, 'page: filled from JSON callers');

# the number of caller ids is bounded: a new zone with bots=1 keeps svc-a,
# and svc-b, svc-c count under __other__

my $conf = $t->{config};
$conf =~ s/manta_status:1m bots=3/manta_status2:1m bots=1/
    or die 'no status zone in the config';
$t->write_file('nginx.conf', $conf);
ok($t->reload(), 'reload with a new zone, bots=1');

$t->http(@{ req('bot-a', 'svc-a') });
$t->http(@{ req('bot-a', 'svc-b') }) for 1 .. 2;
$t->http(@{ req('bot-a', 'svc-c') });
$t->http(@{ req('bot-a', 'evil-x') });

$c = status_settled(5)->{callers};

is($c->{'svc-a'}{forwarded}, 1, 'bots=1: the first caller has a series');
ok(!$c->{'svc-b'} && !$c->{'svc-c'}, 'bots=1: the others have none');
is($c->{__other__}{forwarded}, 3, 'bots=1: their 3 requests under __other__');
is($c->{__unknown__}{caller_not_allowed}, 1,
    'bots=1: __unknown__ not bounded by the limit');

$t->stop();

done_testing();

###############################################################################

sub sum_callers {
    my ($callers) = @_;

    my $n = 0;

    for my $o (values %$callers) {
        $n += $_ for values %$o;
    }

    return $n;
}

# The counters once "total" caller requests are counted: a request is
# counted in the log phase, just after its response was sent (at most 2 s)

sub status_settled {
    my ($total) = @_;

    my $deadline = time() + 2 * $Manta::Test::SCALE;
    my $st;

    while (1) {
        my $r = $t->http('GET', '/manta/status?format=json');
        $st = eval { decode_json($r->{body}) } // {};

        return $st if sum_callers($st->{callers} // {}) >= $total
            || time() > $deadline;

        select(undef, undef, undef, 0.02);
    }
}
