#!/usr/bin/perl

# Tests for the shared zone of the per-botId limit of ngx_http_manta_module
# (README "Rate limiting", manta_limit_zone, manta_limit): a full zone
# forgets no bot that has not drained, rejects new bots instead, never
# crashes and never gives a bot a free pass (t/limit_evict.t has more); the
# zone's state survives a reload, a zone whose size changed starts afresh;
# the configuration errors nginx -t reports.

###############################################################################

use warnings;
use strict;

use Test::More;
use Time::HiRes qw(time);

use FindBin;
use lib "$FindBin::Bin/lib";
use Manta::Test;

###############################################################################

my $t = Manta::Test->new();

my $conf = $t->gateway_text(<<'EOF',
%%MANTA_TAG(/tiny/clientTag; manta_limit zone=tiny nodelay)%%

%%MANTA_TAG(/keep/clientTag; manta_limit zone=keep burst=1 nodelay)%%

%%MANTA_TAG(/resize/clientTag;
            manta_limit zone=resize burst=1 nodelay)%%
EOF
    keepalive => 1, client_tag => 0, log => [limit => '$manta_limit_status'],
    http => <<'EOF');
manta_limit_zone  zone=tiny:32k     rate=1r/m;
manta_limit_zone  zone=keep:1m      rate=1r/m;
manta_limit_zone  zone=resize:SIZE  rate=1r/m;
EOF

$t->write_creds({token => 'TOKEN-D', secret => 'SECRET-D'});

(my $c = $conf) =~ s/SIZE/1m/;
$t->write_config($c);
$t->allow_log(qr/\[alert\] .* manta_limit_zone "tiny" is full /);
$t->run();

###############################################################################

my $limited = 'too many requests for this botId';
my $default = $Manta::Mock::DEFAULT_BODY;
my ($r, @r);

# a full zone: 2000 bots through a 32k zone (room for some 190), pipelined
# on keep-alive connections; 1r/m without burst: no bucket drains during
# the test, so the bots the zone holds pass once and the others get 429

my $n = 2000;
my $start = time();

$t->mock_clear();

for (my $i = 1; $i <= $n; $i += 200) {
    push @r, $t->keepalive([map { ['POST', "/tiny/clientTag?botId=b$_",
        headers => ['Content-Type' => 'application/json'],
        body => '{"name":"x"}'] } $i .. $i + 199], pipeline => 1);
}

my $took = time() - $start;

is(scalar(grep { $_ } @r), $n, "full zone: $n responses");
is(scalar(grep { !valid($_) } @r), 0,
    'full zone: each is the mock\'s 200 or the rate_limited ErrorResponse');
my $passed = grep { $_ && $_->{status} == 200 && $_->{body} eq $default } @r;
cmp_ok($passed, '>', 100, "full zone: the bots it had room for passed "
    . "($passed)");
cmp_ok($passed, '<', 250, 'full zone: no bot made room by force');
is(scalar(my @seen = $t->mock_requests()), $passed,
    'full zone: only those forwarded');
cmp_ok($took, '<', 5, "full zone: $n requests in under 5 s ("
    . sprintf('%.1f', $took) . ')');
unlike($t->read_file('error.log'), qr/could not allocate node/,
    'full zone: no node allocation failure logged');

$r = post("/tiny/clientTag?botId=b$n");
is_error_response($r, 429, "b$n", $limited,
    'full zone: the most recent bot still rejected, no free pass');

$r = post('/tiny/clientTag?botId=b' . ($n - 50));
is($r->{status}, 429, 'full zone: a bot 50 bots back still rejected');

$r = post('/tiny/clientTag?botId=b1');
is($r->{status}, 429,
    'full zone: the first bot, not drained, was not evicted: still 429');
is($t->log_tail('limit.log'), '429 REJECTED', 'full zone: logged REJECTED');

# state across a reload: exhaust a bot in "keep" and in "resize"

for my $zone (qw/keep resize/) {
    @r = map { post("/$zone/clientTag?botId=r") } 1 .. 3;
    is(join(' ', map { $_->{status} } @r), '200 200 429',
        "before reload: $zone: 1r/m burst=1 exhausted");
}

($c = $conf) =~ s/SIZE/2m/;
$t->write_config($c);

ok($t->reload(), 'reload with "resize" grown to 2m');

$r = post('/keep/clientTag?botId=r');
is_error_response($r, 429, 'r', $limited,
    'after reload: the zone kept its state, the bot still rejected');
like($r->{headers}{'retry-after'} // '', qr/^\d+$/,
    'after reload: with Retry-After');

$r = post('/tiny/clientTag?botId=b1');
is($r->{status}, 429, 'after reload: the full zone kept its state too');

$r = post('/resize/clientTag?botId=r');
is($r->{status}, 200, 'after reload: a zone with a new size starts afresh');
is($t->log_tail('limit.log'), '200 PASSED', 'after reload: logged PASSED');

# a reload that makes the limit zone "keep" (its bucket in use) a status
# zone of the same name and size: the status zone gets memory of its own,
# never the limit zone's

(my $as_status = $c) =~ s/manta_limit_zone  zone=keep:1m      rate=1r\/m;/
    manta_status_zone  zone=keep:1m;/ or die "no keep zone\n";
$as_status =~ s/manta_limit zone=keep burst=1 nodelay/manta_limit zone=tiny/
    or die "no keep limit\n";
$as_status =~ s{(server \{)}{$1
        location = /manta/status {
            manta_status;
        }
} or die "no server\n";
$t->write_config($as_status);

ok($t->reload(), 'reload with the limit zone "keep" made a status zone');

$r = post('/keep/clientTag?botId=s');
is($r->{status}, 429, 'limit zone made a status zone: the request counted');

$r = $t->http('GET', '/manta/status?format=json');
is($r->{status}, 200, 'limit zone made a status zone: the status page '
    . 'answers');
like($r->{body}, qr/"bot":"s"|"s":\{/,
    'limit zone made a status zone: it counts in memory of its own');
unlike($t->read_file('error.log'), qr/exited on signal/,
    'limit zone made a status zone: no worker crashed');

$t->stop();

# configuration errors

my %bad = (
    'undefined zone' => ['zone=resize burst=1', 'zone=nozone burst=1',
        qr/unknown manta_limit_zone "nozone"/],
    'zone of 16k' => ['zone=resize:1m', 'zone=resize:16k',
        qr/zone "zone=resize:16k" is too small/],
    'rate 10r/h' => ['zone=resize:1m  rate=1r/m', 'zone=resize:1m rate=10r/h',
        qr/invalid rate "rate=10r\/h"/],
    'rate 0r/s' => ['zone=resize:1m  rate=1r/m', 'zone=resize:1m rate=0r/s',
        qr/invalid rate "rate=0r\/s"/],
    'rate r/s' => ['zone=resize:1m  rate=1r/m', 'zone=resize:1m rate=r/s',
        qr/invalid rate "rate=r\/s"/],
    'no rate' => ['zone=resize:1m  rate=1r/m', 'zone=resize:1m',
        qr/invalid number of arguments in "manta_limit_zone"/],
    'zone twice' => ['zone=keep:1m', 'zone=tiny:32k',
        qr/"tiny" is already defined/],
    'a status zone named by manta_limit' => [
        'manta_limit_zone  zone=keep:1m      rate=1r/m;',
        'manta_status_zone  zone=keep:1m;',
        qr/the shared memory zone "keep" is already declared for a different/],
    'status 600' => ['manta_limit zone=keep burst=1 nodelay)',
        'manta_limit zone=keep burst=1 nodelay; manta_limit_status 600)',
        qr/value must be between 400 and 599/],
);

($c = $conf) =~ s/SIZE/1m/;

my ($status, $out) = $t->test_config_text('good.conf', $c);
is($status, 0, 'nginx -t: the configuration the errors are made from is valid')
    or diag($out);

for my $case (sort keys %bad) {
    my ($from, $to, $re) = @{ $bad{$case} };

    (my $bad = $c) =~ s/\Q$from\E/$to/ or die "no \"$from\" in the config\n";
    ($status, $out) = $t->test_config_text('bad.conf', $bad);

    isnt($status, 0, "nginx -t: $case fails");
    like($out, qr/\[emerg\].*$re/, "nginx -t: $case: the message says why");
}

$t->write_file('rate.json', '{"token":"T","secret":"S",'
    . '"bots":{"b":{"rate":"10r/h"}}}', 0600);
(my $bad = $c) =~ s{creds\.json}{rate.json};
($status, $out) = $t->test_config_text('bad.conf', $bad);
isnt($status, 0, 'nginx -t: a bot\'s rate 10r/h in the credentials fails');
like($out, qr/\[emerg\].*invalid rate "10r\/h" for bot "b"/,
    'nginx -t: a bot\'s bad rate: the message says why');

$t->done();

###############################################################################

# A POST of a valid body after clearing the mock's record.

sub post {
    my ($uri) = @_;
    return $t->post($uri, '{"name":"x"}');
}

# The mock's 200 or a rate_limited 429 ErrorResponse.

sub valid {
    my ($res) = @_;

    return 0 unless $res;
    return $res->{body} eq $default if $res->{status} == 200;

    my ($bot) = $res->{body} =~ /"botId":"(b\d+)"/;

    return $res->{status} == 429 && defined $bot
        && !error_response_problems($res, 429, $bot, $limited);
}

###############################################################################
