#!/usr/bin/perl

# Tests of the fleet-wide limit under load and failure (README "Fleet-wide
# limits (Redis)"): three gateways of two workers share one real
# redis-server: 90 requests at once, spread over them, for a bot at
# rate=1r/m burst=9 nodelay: exactly 10 pass, also when one gateway is
# reloaded in the middle.  Redis frozen with SIGSTOP (no RST): every
# request is answered within the timeout plus a margin, the circuit opens
# with one warn, a location without the limit answers at once meanwhile;
# SIGCONT: decisions from Redis again, one warn.

###############################################################################

use warnings;
use strict;

use Test::More;

use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);

use FindBin;
use lib "$FindBin::Bin/lib";
use Manta::Test;
use Manta::Client qw(build_request write_all);
use Manta::Redis;

###############################################################################

my $SCALE = $Manta::Test::SCALE;

my @gw = map { Manta::Test->new() } 1 .. 3;
my ($ga, $gb, $gc) = @gw;

my $redis = Manta::Redis->for_test($ga);

# the frozen zone's timeout, scaled with the test's waits (ASan)
my $timeout = int(200 * $SCALE);

my $conf = $ga->gateway_text(<<'EOF',
%%MANTA_TAG(/fleet/clientTag; manta_limit zone=fleet burst=9 nodelay)%%

%%MANTA_TAG(/frozen/clientTag;
            manta_limit zone=frozen burst=5 nodelay)%%

location = /plain/ {
    return  200 "plain\n";
}
EOF
    main => 'worker_processes  2;', creds => 'CREDS_PATH', client_tag => 0,
    log => [limit => '$manta_limit_status $manta_limit_source $manta_bot_id'],
    http => <<'EOF');
manta_limit_zone   zone=fleet:1m  rate=1r/m;
manta_limit_redis  zone=fleet  server=127.0.0.1:REDIS_PORT
                   timeout=2s  fleet=3;

manta_limit_zone   zone=frozen:1m  rate=1r/m;
manta_limit_redis  zone=frozen  server=127.0.0.1:REDIS_PORT
                   timeout=TIMEOUTms  fleet=3;
EOF

# one credentials path for all: the same account in the keys

my $creds_path = $ga->dir() . '/creds.json';
$ga->write_file('creds.json', '{"token":"TOKEN-F","secret":"SECRET-F"}',
    0600);

$_->write_config($redis->config($conf, CREDS_PATH => $creds_path,
    TIMEOUT => $timeout)) for @gw;

$_->run() for @gw;

my $ok = '{"name":"x"}';

###############################################################################

# 90 at once over three gateways: exactly 10 pass (1 + burst 9)

my @r = fleet('/fleet/clientTag?botId=ninety', 90);
is(scalar(grep { $_ } @r), 90, 'fleet: all 90 answered');
is(scalar(grep { $_ && $_->{status} == 200 } @r), 10,
    'fleet: exactly 10 of 90 pass over three gateways of two workers');
is(scalar(grep { $_ && $_->{status} == 429 } @r), 80,
    'fleet: the other 80 are 429');
is(forwarded(), 10, 'fleet: the upstreams received exactly 10');
is(scalar(grep { source_of($_) !~ /^(redis|cached)$/ } @r), 0,
    'fleet: every decision from Redis (or a cached rejection), no fallback');

# the same with a reload of gateway B in the middle

my @first;
my @second;

{
    my @socks = fleet_send('/fleet/clientTag?botId=reload', 45);
    ok($gb->reload(), 'reload: gateway B reloaded in the middle');
    my @more = fleet_send('/fleet/clientTag?botId=reload', 45);
    @first = fleet_read(@socks);
    @second = fleet_read(@more);
}

@r = (@first, @second);
is(scalar(grep { $_ } @r), 90, 'reload: all 90 answered');
is(scalar(grep { $_ && $_->{status} == 200 } @r), 10,
    'reload: exactly 10 of 90 pass across the reload');
is(forwarded(), 10, 'reload: the upstreams received exactly 10');
is(scalar(grep { source_of($_) !~ /^(redis|cached)$/ } @r), 0,
    'reload: no fallback decision, not even on the reloaded gateway');

###############################################################################

# Redis frozen (SIGSTOP: connections stay open, nothing answers)

my $warm = post($ga, '/frozen/clientTag?botId=warm');
is(source_of($warm), 'redis', 'frozen: before, decided in Redis');

$redis->freeze();

my $bound = $timeout / 1000 + 0.3 * $SCALE;
my (@el, @plain);

for my $i (1 .. 8) {
    my $t0 = time();
    my @pair = $ga->parallel([
        ['POST', "/frozen/clientTag?botId=ice$i",
            headers => ['Content-Type' => 'application/json'], body => $ok],
        ['GET', '/plain/']]);
    push @el, time() - $t0;
    push @plain, $pair[1] ? $pair[1]{elapsed} : 99;
    push @r, $pair[0];
    sleep 0.05;
}

cmp_ok(max(@el), '<', $bound,
    "frozen: every request answered within timeout ($timeout ms) + "
    . "a margin");
cmp_ok(max(@plain), '<', $timeout / 1000,
    'frozen: a location without the limit answers before the timeout, '
    . 'meanwhile (no worker blocked)');

my @frozen = map { post($_, '/frozen/clientTag?botId=ice') } @gw;
is(join(' ', map { source_of($_) } @frozen), 'fallback fallback fallback',
    'frozen: the decisions come from the fallback');

is(count($ga, qr/\[warn\] .*zone "frozen": .* fails, circuit open/), 1,
    'frozen: one warn when the circuit opens');

# thawed: decisions return to Redis, one warn

$redis->thaw();

my $res;
my $deadline = time() + 5 * $SCALE;

while (time() < $deadline) {
    $res = post($ga, '/frozen/clientTag?botId=thawed' . int(time() * 1000));
    last if source_of($res) eq 'redis';
    sleep 0.2;
}

is(source_of($res), 'redis', 'thawed: decisions return to Redis');
sleep 0.3;
is(count($ga, qr/\[warn\] .*zone "frozen": .* answers again, circuit closed/),
    1, 'thawed: one warn when the circuit closes');

for my $t (@gw) {
    $t->allow_log(qr/circuit open/, qr/circuit closed/,
        qr/connection to .* lost/);
}

$_->stop() for $gb, $gc;
$ga->done();

$redis->stop();

###############################################################################

# n requests at once, round robin over the three gateways

sub fleet {
    my ($uri, $n) = @_;
    return fleet_read(fleet_send($uri, $n));
}

sub fleet_send {
    my ($uri, $n) = @_;

    my @sent;

    for my $i (0 .. $n - 1) {
        my $t = $gw[$i % 3];
        my $s = IO::Socket::INET->new(
            PeerAddr => '127.0.0.1:' . $t->port('8080'), Proto => 'tcp')
            or die "connect: $!\n";
        my $seq = $t->next_seq();
        binmode $s;
        write_all($s, join '', build_request('POST', $uri,
            headers => ['Content-Type' => 'application/json'], body => $ok,
            seq => $seq));
        push @sent, [$s, $t, $seq];
    }

    return @sent;
}

sub fleet_read {
    my (@sent) = @_;

    my (%left, @res, @buf);
    my $sel = IO::Select->new();

    for my $i (0 .. $#sent) {
        $left{ fileno $sent[$i][0] } = $i;
        $buf[$i] = '';
        $sel->add($sent[$i][0]);
    }

    my $deadline = time() + 10 * $SCALE;

    while (%left && time() < $deadline) {
        for my $s ($sel->can_read($deadline - time())) {
            my $i = $left{ fileno $s };
            my $n = sysread($s, $buf[$i], 65536, length $buf[$i]);
            my $r = parse_response($buf[$i], method => 'POST', eof => !$n);

            next unless $r || !$n;

            if ($r) {
                $r->{seq} = $sent[$i][2];
                $r->{gw} = $sent[$i][1];
            }

            $res[$i] = $r;
            delete $left{ fileno $s };
            $sel->remove($s);
            close $s;
        }
    }

    return map { $res[$_] } 0 .. $#sent;
}

sub forwarded {
    my $n = 0;

    for my $t (@gw) {
        $n += scalar(my @m = $t->mock_requests());
        $t->mock_clear();
    }

    return $n;
}

sub post {
    my ($t, $uri) = @_;

    my $res = $t->http('POST', $uri,
        headers => ['Content-Type' => 'application/json'], body => $ok);
    if ($res) {
        $res->{seq} = $t->{seq};
        $res->{gw} = $t;
    }

    return $res;
}

sub source_of {
    my ($res) = @_;
    return 'none' unless $res && $res->{seq};
    return (split ' ', $res->{gw}->log_tail('limit.log', $res->{seq}) // '')
        [2] // 'none';
}

sub count {
    my ($t, $re) = @_;
    return scalar grep { $_ =~ $re } $t->log_lines('error.log');
}

sub max {
    my $m = 0;
    $_ > $m and $m = $_ for @_;
    return $m;
}
