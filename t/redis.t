#!/usr/bin/perl

# Tests for the fleet-wide limit in Redis (README "Fleet-wide limits
# (Redis)"): two gateways sharing one real redis-server share one limit
# exactly; delay, dry run and a bot's own rate as locally; an upstream 429
# blocks the bot on the other gateway; a cached rejection makes no Redis
# call; a bot rejected by Redis and then from the cache has one
# "limiting requests" line a second; SCRIPT FLUSH is recovered from (NOSCRIPT); SELECT db and the key's
# layout; AUTH with an ACL user and a password file, and a wrong password;
# a slow Redis (DEBUG SLEEP) and a dead one: answers within the timeout
# from the fallback (local at rate/fleet, allow, deny), one warn when the
# circuit opens and one when it closes; $manta_limit_source.

###############################################################################

use warnings;
use strict;

use Test::More;

use JSON::PP ();
use Time::HiRes qw(time sleep);

use FindBin;
use lib "$FindBin::Bin/lib";
use Manta::Test;
use Manta::Redis;

###############################################################################

my $ga = Manta::Test->new();
my $gb = Manta::Test->new();
my $gc = Manta::Test->new();

my $redis = Manta::Redis->for_test($ga);

$redis->acl_user('gw', 'gw-secret-pass');

my @log = (log => [limit => '$manta_limit_status $manta_limit_source'
    . ' $manta_bot_id']);

my $conf = $ga->gateway_text(<<'EOF',
%%MANTA_TAG(/fleet/clientTag; manta_limit zone=bots burst=5 nodelay)%%

%%MANTA_TAG(/delay/clientTag; manta_limit zone=tens burst=5 delay=2)%%

location = /manta/status {
    manta_status;
}

%%MANTA_TAG(/dry/clientTag; manta_limit zone=bots burst=1 nodelay;
            manta_limit_dry_run on)%%
EOF
    @log, main => 'worker_processes  2;', listen => 'reuseport',
    creds => 'CREDS_PATH', client_tag => 0, http => <<'EOF');
manta_limit_zone   zone=bots:1m  rate=1r/m;
manta_limit_redis  zone=bots  server=127.0.0.1:REDIS_PORT  db=3
                   timeout=300ms  fleet=2;

manta_status_zone  zone=status:1m;

manta_limit_zone   zone=tens:1m  rate=10r/s;
manta_limit_redis  zone=tens  server=127.0.0.1:REDIS_PORT  db=3
                   timeout=300ms  prefix=t:;
EOF

my $creds = '{"token":"TOKEN-D","secret":"SECRET-D",'
    . '"bots":{"fast":{"rate":"100r/s","burst":50}}}';

# both gateways read the same credentials path: the same account in keys

my $creds_path = $ga->dir() . '/creds.json';
$ga->write_file('creds.json', $creds, 0600);

$_->write_config($redis->config($conf, CREDS_PATH => $creds_path))
    for $ga, $gb;

$gc->write_file('creds.json', $creds, 0600);
$gc->write_file('redis.pass', "gw-secret-pass\n", 0600);
$gc->write_file('wrong.pass', "not-the-password\n", 0600);

my $cconf = $gc->gateway_text(<<'EOF', @log, client_tag => 0, http => <<'EOF');
%%MANTA_TAG(/auth/clientTag; manta_limit zone=auth burst=5 nodelay)%%

%%MANTA_TAG(/wrong/clientTag; manta_limit zone=wrong burst=5 nodelay)%%

%%MANTA_TAG(/quick/clientTag; manta_limit zone=quick burst=5 nodelay)%%

%%MANTA_TAG(/allow/clientTag; manta_limit zone=allow burst=5 nodelay)%%

%%MANTA_TAG(/deny/clientTag; manta_limit zone=deny burst=5 nodelay)%%

location = /plain/ {
    return  200 "plain\n";
}
EOF
manta_limit_zone   zone=auth:1m  rate=1r/m;
manta_limit_redis  zone=auth  server=127.0.0.1:REDIS_PORT  username=gw
                   password_file=%%TESTDIR%%/redis.pass  timeout=300ms;

manta_limit_zone   zone=wrong:1m  rate=1r/m;
manta_limit_redis  zone=wrong  server=127.0.0.1:REDIS_PORT  username=gw
                   password_file=%%TESTDIR%%/wrong.pass  timeout=300ms
                   fallback=deny;

manta_limit_zone   zone=quick:1m  rate=1r/m;
manta_limit_redis  zone=quick  server=127.0.0.1:REDIS_PORT
                   timeout=50ms  fleet=3;

manta_limit_zone   zone=allow:1m  rate=1r/m;
manta_limit_redis  zone=allow  server=127.0.0.1:REDIS_PORT
                   timeout=50ms  fallback=allow;

manta_limit_zone   zone=deny:1m  rate=1r/m;
manta_limit_redis  zone=deny  server=127.0.0.1:REDIS_PORT
                   timeout=50ms  fallback=deny;
EOF

$gc->write_config($redis->config($cconf));

$_->run() for $ga, $gb, $gc;

###############################################################################

my $ok = '{"name":"x"}';

# two gateways, one limit: 1r/m burst=5 nodelay lets exactly 6 of 12
# through, the requests spread over both gateways at once

$ga->mock_clear();
$gb->mock_clear();

my @r = parallel2('/fleet/clientTag?botId=shared', 12);
my @codes = map { $_ ? $_->{status} : 'none' } @r;
is(scalar(grep { $_ eq '200' } @codes), 6,
    'fleet: exactly 6 of 12 pass across two gateways');
is(scalar(grep { $_ eq '429' } @codes), 6, 'fleet: the other 6 are 429');
is(scalar(my @ma = $ga->mock_requests())
    + scalar(my @mb = $gb->mock_requests()), 6,
    'fleet: upstream received exactly 6');
is(scalar(grep { source_of($_) =~ /^(redis|cached)$/ } @r), 12,
    'fleet: $manta_limit_source redis (or cached for a rejection)');

is(post($ga, '/fleet/clientTag?botId=shared')->{status}, 429,
    'fleet: the next is 429 on gateway A');
is(post($gb, '/fleet/clientTag?botId=shared')->{status}, 429,
    'fleet: and on gateway B');

# a cached rejection: answered without a Redis call

my $calls = $redis->calls('evalsha');
my $res = post($ga, '/fleet/clientTag?botId=shared');
is($res->{status}, 429, 'cached: rejected again');
is(source_of($res), 'cached', 'cached: $manta_limit_source cached');
like($res->{headers}{'retry-after'} // '', qr/^\d+$/,
    'cached: Retry-After sent');
is($redis->calls('evalsha'), $calls, 'cached: no EVALSHA reached Redis');

# other bots' first requests do not take the cached rejection's place in
# the zone: a Redis zone's bucket is in use while Redis has answered for
# it within the minute, or its rejection is cached

post($ga, "/fleet/clientTag?botId=other-$_") for 1 .. 3;
$calls = $redis->calls('evalsha');
$res = post($ga, '/fleet/clientTag?botId=shared');
is(source_of($res), 'cached', 'cached: still cached after 3 other bots');
is($redis->calls('evalsha'), $calls,
    'cached: after 3 other bots, no EVALSHA reached Redis');

# a flood of one bot, rejected by Redis and then from the cache: one
# "limiting requests" line a second of nginx's clock

is(join(' ', map { post($ga, '/fleet/clientTag?botId=rflood')->{status} }
    1 .. 6), '200 200 200 200 200 200', 'flood: the burst passes');

my $from = nginx_second();
@r = map { post($ga, '/fleet/clientTag?botId=rflood') } 1 .. 20;
my $to = nginx_second();

is(join(' ', map { $_->{status} } @r), join(' ', ('429') x 20),
    'flood: the next 20 are 429');
is(join(' ', map { source_of($_) } @r[0, 1, 19]), 'redis cached cached',
    'flood: the first rejected by Redis, the others from the cache');

my $n = count($ga, qr/\[error\] .* limiting requests by zone "bots", /
    . qr/botId "rflood",/);
ok($n >= 1 && $n <= $to - $from + 1, 'flood: 20 rejections, one line a '
    . "second: $n line(s) in " . ($to - $from + 1) . ' second(s)');

# the status zone counts decisions by where they were taken

my %decisions;

for my $g ($ga, $gb) {
    my $st = $g->http('GET', '/manta/status?format=json');
    my $d = eval { JSON::PP::decode_json($st->{body})->{limit_decisions} }
        // {};
    $decisions{$_} += $d->{$_} // 0 for keys %$d;
}

cmp_ok($decisions{redis} // 0, '>=', 6,
    'status: manta_limit_decisions_total{source="redis"} counts Redis '
    . 'decisions (at least the 6 that passed)');
cmp_ok($decisions{cached} // 0, '>=', 1,
    'status: and {source="cached"} the cached rejections');
cmp_ok(($decisions{redis} // 0) + ($decisions{cached} // 0), '>=', 15,
    'status: every one of the 15 requests counted as redis or cached');
is($decisions{local} // 0, 0, 'status: none counted as local');

# the key: db 3, hash-tagged botId, TTL = drain time + 1 s at most

$redis->cmd('SELECT', 3);
my $keys = $redis->cmd('KEYS', '*shared*');
is(scalar @$keys, 1, 'key: one key per bot in db 3');
like($keys->[0] // '', qr/^manta:bots:[0-9a-f]{8}:\{shared\}$/,
    'key: prefix, zone, account, {botId}');
my $ttl = $redis->cmd('PTTL', $keys->[0]);
cmp_ok($ttl, '>', 370_000, 'key: TTL is the drain time (6 at 1r/m)');
# 1r/m is 16 per 1000 s, as limit_req: 6000 thousandths drain in 375 s
cmp_ok($ttl, '<=', 376_000, 'key: TTL at most drain time + 1 s');
$redis->cmd('SELECT', 0);
is(scalar @{ $redis->cmd('KEYS', '*shared*') }, 0, 'key: none in db 0');

# delay=2 burst=5 at 10r/s: 3 pass, 3 delayed, as locally

@r = parallel2('/delay/clientTag?botId=delayed', 6, 1);
is(join(' ', sort map { status_of($_) } @r),
    'DELAYED DELAYED DELAYED PASSED PASSED PASSED',
    'delay: 3 PASSED, 3 DELAYED through Redis');
is(scalar(grep { $_ && $_->{status} == 200 } @r), 6, 'delay: all 6 served');

# dry run: rejected in Redis, forwarded

@r = map { post($_ % 2 ? $ga : $gb, '/dry/clientTag?botId=dry') } 1 .. 3;
is(join(' ', map { $_->{status} } @r), '200 200 200', 'dry run: all 200');
is(join(' ', map { status_of($_) } @r), 'PASSED PASSED REJECTED_DRY_RUN',
    'dry run: the third REJECTED_DRY_RUN across gateways');

# a bot's own rate and burst from the credentials file

@r = map { post($_ % 2 ? $ga : $gb, '/fleet/clientTag?botId=fast') } 1 .. 20;
is(scalar(grep { $_->{status} == 200 } @r), 20,
    'per-bot: "fast" (100r/s burst 50) passes 20 where the zone allows 6');

# upstream 429 on one gateway: the other holds the bot back

$ga->mock_responder(sub {
    my ($req) = @_;
    return (429, ['Retry-After' => '3', 'Content-Type' => 'text/plain'],
        "slow down\n") if $req->{uri} =~ /botId=backoff/;
    return (200, ['Content-Type' => 'application/json'], '{}');
});

is(post($ga, '/fleet/clientTag?botId=backoff')->{status}, 429,
    'backoff: upstream answered 429 through gateway A');
sleep 0.1;
$gb->mock_clear();
$res = post($gb, '/fleet/clientTag?botId=backoff');
is($res->{status}, 429, 'backoff: gateway B rejects the bot');
is(status_of($res), 'BACKOFF', 'backoff: B says BACKOFF');
is(source_of($res), 'redis', 'backoff: B learnt it from Redis');
is(scalar(my @mb2 = $gb->mock_requests()), 0,
    'backoff: nothing forwarded by B');

# SCRIPT FLUSH (as after a Redis restart): NOSCRIPT, loaded again

$redis->cmd('SCRIPT', 'FLUSH');
$res = post($gb, '/fleet/clientTag?botId=afterflush');
is($res->{status}, 200, 'noscript: served after SCRIPT FLUSH');
is(source_of($res), 'redis', 'noscript: decided in Redis');

# AUTH with an ACL user and a password file; a wrong password

$res = post($gc, '/auth/clientTag?botId=authed');
is($res->{status}, 200, 'auth: ACL user and password file');
is(source_of($res), 'redis', 'auth: decided in Redis');

$res = post($gc, '/wrong/clientTag?botId=authed');
is($res->{status}, 429, 'wrong password: fallback=deny');
is(source_of($res), 'fallback', 'wrong password: fallback');
is(count($gc, qr/\[error\] .*zone "wrong": AUTH on .* failed: "WRONGPASS/),
    1, 'wrong password: one clear error line');
is(count($gc, qr/not-the-password|gw-secret-pass/), 0,
    'wrong password: no password in the log');

# Redis slow: DEBUG SLEEP 0.5 from a side connection

my $sleeper = $redis->send_only('DEBUG', 'SLEEP', '0.5');
sleep 0.05;
my $t0 = time();
$res = post($gc, '/quick/clientTag?botId=slow');
my $elapsed = time() - $t0;
is($res->{status}, 200, 'slow: answered');
is(source_of($res), 'fallback', 'slow: from the fallback');
cmp_ok($elapsed, '<', 0.25, 'slow: within 5 x timeout (50 ms)');
cmp_ok(http_plain($gc), '<', 0.2,
    'slow: a location without the gateway answers at once');
Manta::Redis::read_reply($sleeper);
close $sleeper;

# a client that goes away while parked

$sleeper = $redis->send_only('DEBUG', 'SLEEP', '0.3');
sleep 0.05;
my $gone = IO::Socket::INET->new(
    PeerAddr => '127.0.0.1:' . $gc->port('8080'), Proto => 'tcp');
print $gone "POST /auth/clientTag?botId=gone HTTP/1.1\r\nHost: x\r\n"
    . "Content-Type: application/json\r\nContent-Length: " . length($ok)
    . "\r\n\r\n$ok";
sleep 0.01;
close $gone;
Manta::Redis::read_reply($sleeper);
close $sleeper;
sleep 0.4;
is(post($gc, '/auth/clientTag?botId=after')->{status}, 200,
    'gone: the gateway serves on after a client left while parked');

# Redis down: fallback within the timeout, one warn when the circuit
# opens, one when it closes

$redis->stop('KILL');

my @el;
@r = ();
for (1 .. 6) {
    my $t1 = time();
    push @r, post($gc, '/quick/clientTag?botId=down');
    push @el, time() - $t1;
}

is(join(' ', map { $_->{status} } @r), '200 200 429 429 429 429',
    'down: fallback=local at burst 5 / fleet 3: 2 pass, then 429');
is(join(' ', map { source_of($_) } @r), join(' ', ('fallback') x 6),
    'down: $manta_limit_source fallback');
cmp_ok(max(@el), '<', 0.25, 'down: every answer within 5 x timeout');

is(post($gc, '/allow/clientTag?botId=down')->{status}, 200,
    'down: fallback=allow forwards');
is(post($gc, '/deny/clientTag?botId=down')->{status}, 429,
    'down: fallback=deny rejects');

post($gc, '/quick/clientTag?botId=down' . $_) for 1 .. 3;

is(count($gc, qr/\[warn\] .*zone "quick": .* fails, circuit open/), 1,
    'down: one warn line when the circuit opens');

$redis->start();
sleep 1.2;

for (1 .. 4) {
    $res = post($gc, '/quick/clientTag?botId=back' . $_);
    sleep 0.3;
}

is(source_of($res), 'redis', 'back: decisions return to Redis');
is(count($gc,
    qr/\[warn\] .*zone "quick": .* answers again, circuit closed/), 1,
    'back: one warn line when the circuit closes');

$gc->allow_log(qr/AUTH on .* failed/, qr/circuit open/,
    qr/circuit closed/, qr/connection to .* lost/, qr/connect\(\) failed/);
$ga->allow_log(qr/connection to .* lost/);
$gb->allow_log(qr/connection to .* lost/);

$_->stop() for $ga, $gb;
$gc->done();

$redis->stop();

###############################################################################

sub max {
    my $m = 0;
    $_ > $m and $m = $_ for @_;
    return $m;
}

sub post {
    my ($t, $uri) = @_;

    my $res = $t->http('POST', $uri,
        headers => ['Content-Type' => 'application/json'], body => $ok);
    $res->{seq} = $t->{seq} if $res;
    $res->{gw} = $t if $res;

    return $res;
}

# n requests at once, half on A, half on B (all on A when $one)

sub parallel2 {
    my ($uri, $n, $one) = @_;

    my $req = ['POST', $uri,
        headers => ['Content-Type' => 'application/json'], body => $ok];

    my $na = $one ? $n : int($n / 2);
    my @ra = $ga->parallel([map { $req } 1 .. $na]);
    $_->{gw} = $ga for grep { $_ } @ra;

    my @rb;

    if (!$one) {
        @rb = $gb->parallel([map { $req } 1 .. $n - $na]);
        $_->{gw} = $gb for grep { $_ } @rb;
    }

    return (@ra, @rb);
}

sub log_of {
    my ($res) = @_;
    return '' unless $res && $res->{seq};
    return $res->{gw}->log_tail('limit.log', $res->{seq}) // '';
}

sub status_of {
    return (split ' ', log_of($_[0]))[1] // 'none';
}

sub source_of {
    return (split ' ', log_of($_[0]))[2] // 'none';
}

sub count {
    my ($t, $re) = @_;
    return scalar grep { $_ =~ $re } $t->log_lines('error.log');
}

sub http_plain {
    my ($t) = @_;

    my $t0 = time();
    $t->http('GET', '/plain/');
    return time() - $t0;
}
