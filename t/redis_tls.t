#!/usr/bin/perl

# Tests for TLS to Redis (README "Fleet-wide limits (Redis)", the tls
# parameters of manta_limit_redis): a real redis-server with a TLS port and
# certificates made here with openssl.  With the right CA the decisions
# come from Redis, by address or by tls_name; with the wrong CA, a name the
# certificate does not hold, or a plaintext gateway on the TLS port, the
# request takes the fallback, a clear error line says why and Redis
# decides nothing; the password never reaches the log; nginx -t refuses
# "tls" without a CA unless tls_verify=off.

###############################################################################

use warnings;
use strict;

use Test::More;

use FindBin;
use lib "$FindBin::Bin/lib";
use Manta::Test;
use Manta::Redis;

###############################################################################

# before the certificates are made (their commands are tests)

plan(skip_all => 'redis-server not installed (make deps)')
    unless Manta::Redis::available();

my $t = Manta::Test->new();
my $dir = $t->dir();

# the certificates: a CA, a server certificate it signs for 127.0.0.1 and
# localhost, and an unrelated CA

$t->write_certs('Redis Test CA', 'redis');

# Redis: the plaintext port for the test's own commands, the TLS port for
# the gateway

my $redis = eval {
    Manta::Redis->for_test($t, '--tls-port', $t->port('REDIS_TLS'),
        '--tls-cert-file', "$dir/redis.crt",
        '--tls-key-file', "$dir/redis.key",
        '--tls-ca-cert-file', "$dir/ca.crt", '--tls-auth-clients', 'no');
};

plan(skip_all => "redis-server without TLS: $@") unless $redis;

$redis->acl_user('gw', 'tls-secret-pass');

$t->write_file('creds.json', '{"token":"TOKEN-R","secret":"SECRET-R"}',
    0600);
$t->write_file('redis.pass', "tls-secret-pass\n", 0600);

# the zones, each 1r/m, refused when Redis does not decide: how each
# reaches Redis (over TLS but for "plain"); manta_limit takes no variable,
# so one location each

my $auth = 'username=gw  password_file=%%TESTDIR%%/redis.pass';
my $ca = 'tls  tls_trusted_certificate=%%TESTDIR%%';

my @zones = (
    [tls => "$ca/ca.crt  $auth"],
    [named => "$ca/ca.crt  tls_name=localhost"],
    [noverify => 'tls  tls_verify=off'],
    [wrongca => "$ca/other.crt  $auth"],
    [badname => "$ca/ca.crt  tls_name=redis.example.com"],
    [plain => $auth],
);

my ($zones, $locations) = ('', '');

for my $z (@zones) {
    my ($name, $how) = @$z;

    $zones .= "manta_limit_zone   zone=$name:1m  rate=1r/m;\n"
        . "manta_limit_redis  zone=$name  server=127.0.0.1:%%PORT_REDIS_TLS%%"
        . "  $how  timeout=500ms  fallback=deny;\n\n";
    $locations .= "%%MANTA_TAG(/$name/clientTag;"
        . " manta_limit zone=$name burst=2 nodelay)%%\n\n";
}

my $conf = $t->gateway_text($locations, client_tag => 0, http => $zones,
    log => [limit => '$manta_limit_status $manta_limit_source $manta_bot_id']);

$t->write_config($conf);

# nginx -t: tls without a CA is refused, unless tls_verify=off

(my $nocA = $conf) =~ s/tls  tls_verify=off/tls/
    or die "no zone noverify in the config\n";
my ($rc, $out) = $t->test_config_text('noca.conf', $nocA);
isnt($rc, 0, 'nginx -t: "tls" without tls_trusted_certificate fails');
my $want = '"tls" verifies the certificate of Redis: give '
    . '"tls_trusted_certificate=FILE"';
like($out, qr/\[emerg\].*\Q$want\E.*"tls_verify=off"/,
    'nginx -t: the message says to give the CA or tls_verify=off');

(my $noTls = $conf) =~ s/(zone=named  server=\S+)  tls  /$1  /
    or die "no zone named in the config\n";
($rc, $out) = $t->test_config_text('notls.conf', $noTls);
isnt($rc, 0, 'nginx -t: tls_trusted_certificate without "tls" fails');
like($out, qr/\[emerg\].*the "tls_\.\.\." parameters need "tls"/,
    'nginx -t: the message says "tls" is needed');

($rc, $out) = $t->test_config();
is($rc, 0, 'nginx -t: the TLS configuration (with tls_verify=off) is valid')
    or diag($out);

$t->run();

###############################################################################

my $ok = '{"name":"x"}';

# the right CA: decided in Redis, over TLS, with AUTH

my @r = map { post("/tls/clientTag?botId=over-tls") } 1 .. 4;
is(join(' ', map { $_->{status} } @r), '200 200 200 429',
    'tls: burst=2 in Redis lets 3 pass, the 4th is 429');
is(join(' ', map { source_of($_) } @r[0 .. 2]), 'redis redis redis',
    'tls: $manta_limit_source redis');
ok(key_exists('tls', 'over-tls'), 'tls: the bucket is in Redis');

my $res = post('/named/clientTag?botId=by-name');
is($res->{status}, 200, 'tls_name=localhost: served');
is(source_of($res), 'redis', 'tls_name=localhost: decided in Redis');

$res = post('/noverify/clientTag?botId=unverified');
is(source_of($res), 'redis',
    'tls_verify=off: decided in Redis (encrypted, not verified)');

# the wrong CA, the wrong name, plaintext on the TLS port: fallback=deny,
# a clear line in the log, nothing decided in Redis

my $calls = $redis->calls('evalsha') + $redis->calls('eval');

for my $z (qw/wrongca badname plain/) {
    @r = map { post("/$z/clientTag?botId=refused-$z") } 1 .. 2;
    is(join(' ', map { $_->{status} } @r), '429 429',
        "$z: fallback=deny: 429");
    is(join(' ', map { source_of($_) } @r), 'fallback fallback',
        "$z: \$manta_limit_source fallback");
    ok(!key_exists($z, "refused-$z"), "$z: no bucket in Redis");
}

is($redis->calls('evalsha') + $redis->calls('eval'), $calls,
    'refused: no script call reached Redis from the refused zones');

is(count(qr/\[error\]\ .*zone\ "wrongca":\ the\ TLS\ certificate\ of
    \ 127\.0\.0\.1:\d+\ is\ not\ trusted\ \(\d+:\ [^)]+\):
    \ tls_trusted_certificate\ must\ hold\ the\ CA\ that\ signed\ it/x),
    1, 'wrong CA: one clear error line (then the reconnect waits)');
cmp_ok(count(qr/\[error\]\ .*zone\ "badname":\ the\ TLS\ certificate
    \ of\ \S+\ is\ not\ for\ "redis\.example\.com"/x),
    '>=', 1, 'wrong name: the error line names the name');
cmp_ok(count(qr/\[error\] .*zone "plain": connection to \S+ lost/), '>=', 1,
    'plaintext to the TLS port: the connection is lost, said in the log');

is(scalar(grep { /tls-secret-pass/ } $t->log_lines('error.log')), 0,
    'the password is nowhere in the error log');
is(scalar(grep { /tls-secret-pass/ } $t->log_lines('limit.log')), 0,
    'nor in the access log');

$t->allow_log(qr/not trusted/, qr/is not for/, qr/connection to .* lost/,
    qr/circuit open/, qr/SSL_do_handshake|SSL_read|SSL_write/);
$t->done();

$redis->stop();

###############################################################################

sub post {
    my ($uri) = @_;

    my $res = $t->http('POST', $uri,
        headers => ['Content-Type' => 'application/json'], body => $ok);
    $res->{seq} = $t->{seq} if $res;

    return $res;
}

sub source_of {
    my ($res) = @_;
    return 'none' unless $res && $res->{seq};
    return (split ' ', $t->log_tail('limit.log', $res->{seq}) // '')[2]
        // 'none';
}

sub key_exists {
    my ($zone, $bot) = @_;
    my $keys = $redis->cmd('KEYS', "manta:$zone:*:{$bot}");
    return scalar @$keys;
}

sub count {
    my ($re) = @_;
    return scalar grep { $_ =~ $re } $t->log_lines('error.log');
}
