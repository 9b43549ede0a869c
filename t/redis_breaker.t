#!/usr/bin/perl

# Tests for the circuit breaker's settings of manta_limit_redis (README
# "Fleet-wide limits (Redis)"): "fails=1" opens the circuit on the first
# failure (one warn) where the default 3 needs three; "probe=200ms" takes
# the decisions back to Redis within about 200 ms of Redis answering again
# where the default 1 s has not yet; nginx -t refuses "fails=0",
# "fails=1001", "probe=0" and a time it cannot read, naming the value.

###############################################################################

use warnings;
use strict;

use Test::More;

use Time::HiRes qw(time sleep);

use FindBin;
use lib "$FindBin::Bin/lib";
use Manta::Test;
use Manta::Redis;

###############################################################################

my $SCALE = $Manta::Test::SCALE;

my $t = Manta::Test->new();

my $redis = Manta::Redis->for_test($t);

# the time a request may wait on Redis, scaled with the test's waits (ASan)
my $timeout = int(100 * $SCALE);

my $conf = $t->gateway_text(<<'EOF', client_tag => 0, http => <<'EOF');
add_header  X-Source  $manta_limit_source  always;

%%MANTA_TAG(/one/clientTag; manta_limit zone=one burst=100 nodelay)%%

%%MANTA_TAG(/three/clientTag;
            manta_limit zone=three burst=100 nodelay)%%
EOF
manta_limit_zone   zone=one:1m  rate=100r/s;
manta_limit_redis  zone=one  server=127.0.0.1:REDIS_PORT
                   timeout=TIMEOUTms  fails=1  probe=200ms;

manta_limit_zone   zone=three:1m  rate=100r/s;
manta_limit_redis  zone=three  server=127.0.0.1:REDIS_PORT
                   timeout=TIMEOUTms  prefix=d:;
EOF

$conf = $redis->config($conf, TIMEOUT => $timeout);

$t->write_creds();
$t->write_config($conf);

###############################################################################

# nginx -t: the refused values, each named in the message

for my $case (
    ['fails=0', qr/invalid "fails=0": give the number of .* 1 to 1000/],
    ['fails=1001', qr/invalid "fails=1001": give the number of .* 1 to/],
    ['probe=0', qr/invalid "probe=0": give the time between .* more than 0/],
    ['probe=soon', qr/invalid "probe=soon": give the time between two/],
    )
{
    my ($param, $re) = @$case;

    (my $bad = $conf) =~ s/fails=1  probe=200ms/$param/;
    (my $file = "bad-$param.conf") =~ s/=/-/;

    my ($rc, $out) = $t->test_config_text($file, $bad);
    isnt($rc, 0, "nginx -t: \"$param\" is refused");
    like($out, qr/\[emerg\] .*$re/, "nginx -t: the message names \"$param\"");
}

my ($rc, $out) = $t->test_config();
is($rc, 0, 'nginx -t: "fails=1 probe=200ms" and the defaults are valid')
    or diag($out);

$t->run();

###############################################################################

# both zones decide in Redis while it answers

is(source('one'), 'redis', 'up: zone one decides in Redis');
is(source('three'), 'redis', 'up: zone three decides in Redis');

# Redis killed: fails=1 opens zone one's circuit on its first failure

$redis->stop('KILL');
sleep 0.3;

is(source('one'), 'fallback',
    'fails=1: the first request takes the fallback');
is(count(qr/\[warn\] .*zone "one": .* fails, circuit open/), 1,
    'fails=1: the first failure opens the circuit, one warn line');

is(source('three'), 'fallback',
    'default: the first request takes the fallback');
is(count(qr/\[warn\] .*zone "three": .* fails, circuit open/), 0,
    'default fails=3: one failure leaves the circuit closed');

source('three') for 1 .. 2;
is(count(qr/\[warn\] .*zone "three": .* fails, circuit open/), 1,
    'default fails=3: the third failure opens it, one warn line');

# no second warn line while a circuit stays open (zone one probes every
# 200 ms meanwhile, each probe fails)

my $t0 = time();
my @down;
while (time() - $t0 < 0.5) {
    push @down, source('one');
    sleep 0.02;
}

is(scalar(grep { $_ ne 'fallback' } @down), 0,
    'down: every answer from the fallback');
is(count(qr/\[warn\] .*zone "one": .* fails, circuit open/), 1,
    'down: no second warn line while the circuit stays open');

# Redis back: both zones return to Redis (zone three within its 1 s)

$redis->start();

ok(defined back_after('one', time(), 3 * $SCALE),
    'restart: zone one returns to Redis');
ok(defined back_after('three', time(), 3 * $SCALE),
    'restart: zone three returns to Redis');
is(count(qr/\[warn\] .*zone "one": .* answers again, circuit closed/), 1,
    'restart: one warn line when zone one\'s circuit closes');

# Redis frozen (SIGSTOP) for one request: it waits the timeout, the
# circuit of zone one opens; thawed at once, Redis answers again, but the
# decisions return to it only with the probe 200 ms after the opening; the
# same with the defaults (zone three): three timeouts open it, back after
# 1 s.  Of each: the requests that open it, the name of its probe, when it
# may be back at the earliest and the latest after the opening.

for my $case (
    ['one', 1, 'probe=200ms', 'the probe', 0.15, 0.2 + 0.15 * $SCALE,
        '200 ms'],
    ['three', 3, 'default probe=1s', 'its probe', 0.8, 1 + 0.3 * $SCALE,
        '1 s'])
{
    my ($zone, $n, $probe, $its, $min, $max, $about) = @$case;

    $redis->freeze();
    if ($n == 1) {
        is(source($zone), 'fallback',
            "frozen: zone $zone takes the fallback");
    } else {
        source($zone) for 1 .. $n;
    }
    my $opened = time();
    $redis->thaw();

    is(count(qr/\[warn\] .*zone "$zone": .* fails, circuit open/), 2,
        "frozen: zone $zone\'s circuit opens again");

    my $back = back_after($zone, $opened, 3 * $SCALE);
    ok(defined $back, "$probe: zone $zone returns to Redis");
    note("zone $zone back " . ($back // 'never') . ' s after the opening');
    cmp_ok($back // 0, '>=', $min,
        "$probe: not before $its, though Redis answers");
    cmp_ok($back // 99, '<', $max,
        "$probe: back within about $about of the opening");
}

$redis->stop();

$t->done();

###############################################################################

# $manta_limit_source of one request to a zone's location

sub source {
    my ($zone) = @_;

    my $res = $t->http('POST', "/$zone/clientTag?botId=b",
        headers => ['Content-Type' => 'application/json'],
        body => '{"name":"x"}');

    return 'none' unless $res;
    return $res->{headers}{'x-source'} // 'unset';
}

# the time after $since when a zone decides in Redis again, polling every
# 10 ms until $wait seconds have passed (undef: never)

sub back_after {
    my ($zone, $since, $wait) = @_;

    while (time() < $since + $wait) {
        return time() - $since if source($zone) eq 'redis';
        sleep 0.01;
    }

    return undef;
}

sub count {
    my ($re) = @_;
    return scalar grep { $_ =~ $re } $t->log_lines('error.log');
}

###############################################################################
