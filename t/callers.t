#!/usr/bin/perl

# Tests for manta_caller and the credentials file's "callers" map: which
# internal service may act for which bot.  An allowed caller is forwarded
# and logged in $manta_caller; a caller not allowed the botId, one not in
# the map (403 caller_not_allowed) and an empty caller value (401
# unknown_caller) are answered by the gateway, right after unknown_bot:
# nothing forwarded, the rate limit not charged and the body not read.
# A reload changes a caller's bots; nginx -t refuses a caller naming a bot
# the file does not serve and warns when manta_caller has no map to use.
# The two identity sources of the README, for real: mutual TLS
# (the CN of a certificate verified by nginx, made here with
# openssl) and auth_request (an auth service maps the caller's token to a
# service name in a response header).

###############################################################################

use warnings;
use strict;

use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(time);

use FindBin;
use lib "$FindBin::Bin/lib";
use Manta::Test;
use Manta::Client qw(read_until);

###############################################################################

my $t = Manta::Test->new();
my $dir = $t->dir();

# a CA with a server and three client certificates, and another CA

$t->write_file('server.ext', "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
    . "basicConstraints=CA:FALSE\n");
$t->write_file('client.ext', "basicConstraints=CA:FALSE\n"
    . "extendedKeyUsage=clientAuth\n");

my @openssl = (
    [qw/req -x509 -newkey rsa:2048 -nodes -days 2 -subj/, '/CN=Callers CA',
        '-keyout', "$dir/ca.key", '-out', "$dir/ca.crt"],
    [qw/req -x509 -newkey rsa:2048 -nodes -days 2 -subj/, '/CN=Other CA',
        '-keyout', "$dir/other.key", '-out', "$dir/other.crt"],
    cert('server', '/CN=localhost', 'ca', 'server.ext'),
    cert('billing', '/O=Example/CN=svc-billing', 'ca', 'client.ext'),
    cert('ops', '/CN=svc-ops', 'ca', 'client.ext'),
    cert('intruder', '/CN=svc-intruder', 'ca', 'client.ext'),
    cert('forged', '/CN=svc-ops', 'other', 'client.ext'),
);

for my $cmd (@openssl) {
    my ($rc, $out) = $t->run_command('openssl', @$cmd);
    is($rc, 0, "openssl $cmd->[0] $cmd->[-1]") or diag($out);
}

chmod 0644, "$dir/server.key";

my %CREDS = (
    bots => {
        'bot-a' => {token => 'TOKEN-A', secret => 'SECRET-A'},
        'bot-b' => {token => 'TOKEN-B', secret => 'SECRET-B'},
        'bot-l' => {token => 'TOKEN-L', secret => 'SECRET-L'},
    },
    callers => {
        'svc-billing' => {bots => ['bot-a', 'bot-l']},
        'svc-ops'     => {bots => ['*']},
        'svc-none'    => {bots => []},
    },
);

$t->write_creds(\%CREDS);

my $conf = <<'EOF';

%%MANTA_MAIN%%

http {
    %%MANTA_HTTP%%

    log_format  callers  '$http_x_seq $status $manta_reject_reason '
                         '$manta_bot_id caller=$manta_caller';

    manta_limit_zone  zone=one:1m rate=1r/m;

    # the auth service: a caller's token to its service name

    map $http_x_token $svc_of_token {
        default        "";
        tok-billing    svc-billing;
        tok-ops        svc-ops;
    }

    server {
        listen       127.0.0.1:%%PORT_AUTH%%;
        server_name  localhost;

        access_log  %%TESTDIR%%/auth.log  callers;

        location = /auth {
            if ($svc_of_token = "") {
                return 401;
            }

            add_header  X-Service  $svc_of_token  always;
            return      204;
        }
    }

    server {
        %%MANTA_SERVER%%
        access_log  %%TESTDIR%%/callers.log  callers;

        # the caller named by a request header: only for these tests, as
        # nothing verifies it (see the README's rule)

        %%MANTA_TAG(/openapi/clientTag; manta_caller $http_x_test_caller)%%

        %%MANTA_TAG(/limited/clientTag; manta_caller $http_x_test_caller;
                    manta_limit zone=one; manta_body_max_size 4m;
                    client_max_body_size 4m)%%

        # auth_request: the service name from the auth service's answer

        location = /auth {
            internal;
            proxy_pass               http://127.0.0.1:%%PORT_AUTH%%/auth;
            proxy_pass_request_body  off;
            proxy_set_header         Content-Length "";
        }

        %%MANTA_TAG(/authed/clientTag; auth_request /auth;
                    auth_request_set $svc $upstream_http_x_service;
                    manta_caller $svc)%%
    }

    # mutual TLS: only certificates of the callers' CA get in; the caller
    # is the CN of the subject nginx verified (RFC 2253: "CN=...,O=...")

    map $ssl_client_s_dn $ssl_client_cn {
        default                      "";
        "~(?:^|,)CN=(?<cn>[^,]+)"    $cn;
    }

    server {
        listen               127.0.0.1:%%PORT_MTLS%% ssl;
        server_name          localhost;

        ssl_certificate         %%TESTDIR%%/server.crt;
        ssl_certificate_key     %%TESTDIR%%/server.key;
        ssl_client_certificate  %%TESTDIR%%/ca.crt;
        ssl_verify_client       on;

        access_log  %%TESTDIR%%/callers.log  callers;

        %%MANTA_TAG(/openapi/clientTag; manta_caller $ssl_client_cn)%%
    }
}

EOF

$t->write_config($conf);

# under make test-asan, nginx -t leaks the PCRE2 compile context of the
# regex map (nginx's own, reported and triaged as such): the exit status
# must say what nginx decided, not that leak

my ($status, $out) = do {
    local $ENV{ASAN_OPTIONS} = 'exitcode=0';
    $t->test_config();
};
is($status, 0, 'nginx -t: callers map and manta_caller') or diag($out);
unlike($out, qr/\[warn\]/, 'nginx -t: no warning with a callers map');

$t->run();

###############################################################################

my $r;
my $ok = '{"name":"x"}';

# the map: listed bot, another bot, "*", nobody, an empty value

$r = as('svc-billing', 'bot-a');
is($r->{status}, 200, 'allowed: svc-billing for bot-a');
is($t->forwarded_body(), '{"secret":"SECRET-A","name":"x"}',
    'allowed: forwarded with the bot\'s secret');
is($t->log_tail('callers.log'), '200 - bot-a caller=svc-billing',
    'allowed: $manta_caller holds the caller');

$r = as('svc-billing', 'bot-b');
$t->is_rejected($r, 'caller_not_allowed', 'bot-b',
    'not allowed: svc-billing for bot-b');
is($t->log_tail('callers.log'), '403 caller_not_allowed bot-b caller=-',
    'not allowed: $manta_caller empty');

$r = as('svc-ops', 'bot-b');
is($r->{status}, 200, '"*": svc-ops for bot-b');
is($t->forwarded_body(), '{"secret":"SECRET-B","name":"x"}',
    '"*": forwarded with bot-b\'s secret');

$r = as('svc-ops', 'bot-z');
$t->is_rejected($r, 'unknown_bot', 'bot-z',
    '"*": a bot the file does not serve is still unknown_bot');

for my $case (['svc-none', 'a caller with an empty bots list'],
    ['svc-payroll', 'unknown caller: not in the map'],
    ['SVC-BILLING', 'caller ids are case-sensitive'])
{
    $t->is_rejected(as($case->[0], 'bot-a'), 'caller_not_allowed', 'bot-a',
        $case->[1]);
}

$r = $t->post('/openapi/clientTag?botId=bot-a', $ok);
$t->is_rejected($r, 'unknown_caller', 'bot-a',
    'empty caller value (no header): 401');
is($t->log_tail('callers.log'), '401 unknown_caller bot-a caller=-',
    'empty caller value: logged as unknown_caller');

$r = as('svc-billing', 'bot-z');
$t->is_rejected($r, 'unknown_bot', 'bot-z',
    'unknown bot: checked before the caller');

$r = as('svc-x', 'bot-a', 'text/plain');
$t->is_rejected($r, 'unsupported_media_type', undef,
    'media type: checked before the caller');

# a refused caller costs no body and no limit: bot-l has 1 request a
# minute, no burst

for my $caller ('svc-x', 'svc-none', '') {
    $r = as($caller, 'bot-l', undef, '/limited/clientTag');
    is($r->{status}, $caller eq '' ? 401 : 403,
        "limit: refused caller \"$caller\" answered");
}

$r = as('svc-billing', 'bot-l', undef, '/limited/clientTag');
is($r->{status}, 200, 'limit: the allowed caller still passes after three '
    . 'refusals (none charged)');

$r = as('svc-billing', 'bot-l', undef, '/limited/clientTag');
is($r->{status}, 429, 'limit: the next allowed request is limited (the '
    . 'limit is live)');

# the body is never waited for: a 1 MB Content-Length and no body

my ($res, $elapsed) = head_only('svc-x', 'bot-l', 1024 * 1024);
like($res, qr{^HTTP/1\.1 403 },
    'body not read: the refusal comes without the body');
like($res, qr/"the caller may not act for this botId"/,
    'body not read: the caller_not_allowed ErrorResponse');
cmp_ok($elapsed, '<', 2 * ($Manta::Test::SCALE // 1),
    'body not read: answered at once, not after a read timeout');
is($t->forwarded_body(), '0 requests forwarded',
    'body not read: nothing forwarded');

###############################################################################

# auth_request: the auth service names the caller; a header the caller
# sends itself is not taken

$r = $t->post('/authed/clientTag?botId=bot-a', $ok,
    headers => ['X-Token' => 'tok-billing']);
is($r->{status}, 200, 'auth_request: tok-billing is svc-billing, bot-a');
is($t->log_tail('callers.log'), '200 - bot-a caller=svc-billing',
    'auth_request: $manta_caller from the auth service');

$r = $t->post('/authed/clientTag?botId=bot-b', $ok,
    headers => ['X-Token' => 'tok-billing', 'X-Service' => 'svc-ops']);
$t->is_rejected($r, 'caller_not_allowed', 'bot-b',
    'auth_request: a caller-sent X-Service does not make it svc-ops');

$r = $t->post('/authed/clientTag?botId=bot-b', $ok,
    headers => ['X-Token' => 'tok-ops']);
is($r->{status}, 200, 'auth_request: tok-ops is svc-ops, any bot');

$r = $t->post('/authed/clientTag?botId=bot-a', $ok,
    headers => ['X-Token' => 'tok-stolen']);
is($r->{status}, 401, 'auth_request: an unknown token is refused by the '
    . 'auth service');
is($t->forwarded_body(), '0 requests forwarded',
    'auth_request: unknown token: nothing forwarded');

###############################################################################

# mutual TLS: the CN of a certificate nginx verified

my ($code, $body);

($code, $body) = mtls('billing', 'bot-a');
is($code, 200, 'mTLS: CN svc-billing for bot-a');
is($t->forwarded_body(), '{"secret":"SECRET-A","name":"x"}',
    'mTLS: forwarded');
is($t->log_tail('callers.log'), '200 - bot-a caller=svc-billing',
    'mTLS: $manta_caller is the certificate\'s CN');

($code, $body) = mtls('billing', 'bot-b');
is($code, 403, 'mTLS: CN svc-billing for bot-b refused');
like($body, qr/"caller_not_allowed"|may not act for this botId/,
    'mTLS: caller_not_allowed');

($code, $body) = mtls('ops', 'bot-b');
is($code, 200, 'mTLS: CN svc-ops for bot-b');

($code, $body) = mtls('intruder', 'bot-a');
is($code, 403, 'mTLS: a certificate of the CA whose CN is not in the map');
is($t->forwarded_body(), '0 requests forwarded',
    'mTLS: CN not in the map: nothing forwarded');

($code, $body) = mtls(undef, 'bot-a');
is($code, 400, 'mTLS: no client certificate: nginx answers 400');
is($t->forwarded_body(), '0 requests forwarded',
    'mTLS: no client certificate: nothing forwarded');
unlike($t->log_tail('callers.log') // '', qr/caller=svc/,
    'mTLS: no client certificate: no caller');

($code, $body) = mtls('forged', 'bot-a');
is($code, 400, 'mTLS: CN svc-ops signed by another CA: nginx answers 400');
is($t->forwarded_body(), '0 requests forwarded',
    'mTLS: another CA: nothing forwarded');

###############################################################################

# reload: a caller's bots change

$CREDS{callers}{'svc-billing'}{bots} = ['bot-b'];
$t->write_creds(\%CREDS);
ok($t->reload(), 'reload: new callers map');

$r = as('svc-billing', 'bot-a');
$t->is_rejected($r, 'caller_not_allowed', 'bot-a',
    'reload: svc-billing no longer for bot-a');

$r = as('svc-billing', 'bot-b');
is($r->{status}, 200, 'reload: svc-billing now for bot-b');

###############################################################################

# nginx -t: a caller naming a bot the file does not serve; no callers map

$t->write_file('unserved.json', '{"bots":{"bot-a":{"token":"T1",'
    . '"secret":"SUPERSECRET"}},"callers":{"svc-x":{"bots":["bot-a",'
    . '"bot-gone"]}}}', 0600);
$t->write_file('nomap.json', '{"token":"T1","secret":"SUPERSECRET"}', 0600);
$t->write_file('emptymap.json',
    '{"token":"T1","secret":"SUPERSECRET","callers":{}}', 0600);
$t->write_file('unknown.json', '{"token":"T1","secret":"SUPERSECRET",'
    . '"callers":{"svc-x":{"bots":["*"],"rate":"1r/s"}}}', 0600);

for my $case (
    ['unserved.json', 1, qr/caller "svc-x" names bot "bot-gone", which this /,
        'a caller naming a bot the file does not serve'],
    ['unknown.json', 1, qr/unknown member "rate" in caller "svc-x"/,
        'an unknown member in a caller'],
    ['nomap.json', 0, qr/\[warn\] .*"manta_caller" is set but credentials /,
        'manta_caller and no callers map: a warning'],
    ['emptymap.json', 0, qr/\[warn\] .*has no "callers"/,
        'manta_caller and an empty callers map: a warning'])
{
    my ($file, $fails, $re, $name) = @$case;

    $t->write_file_expand("$file.conf", <<"EOF");
%%MODULE%%
%%GLOBALS%%
events {
}
http {
    server {
        listen  127.0.0.1:%%PORT_8080%%;
        %%MANTA_TAG(/openapi/clientTag; manta_credentials %%TESTDIR%%/$file;
                    manta_caller \$remote_user;
                    proxy_pass http://127.0.0.1:1/api/openapi/clientTag)%%
    }
}
EOF

    ($status, $out) = $t->test_config("$file.conf");

    if ($fails) {
        isnt($status, 0, "nginx -t: $name: fails");
    } else {
        is($status, 0, "nginx -t: $name: passes") or diag($out);
    }

    like($out, $re, "nginx -t: $name: the message") or diag($out);
    unlike($out, qr/SUPERSECRET/, "nginx -t: $name: no secret");
}

$t->done();

###############################################################################

# openssl commands: a key and a certificate NAME signed by CA

sub cert {
    my ($name, $subject, $ca, $ext) = @_;

    return ([qw/req -newkey rsa:2048 -nodes -subj/, $subject,
            '-keyout', "$dir/$name.key", '-out', "$dir/$name.csr"],
        [qw/x509 -req -days 2 -set_serial/, int(rand(1e9)) + 2,
            '-in', "$dir/$name.csr", '-CA', "$dir/$ca.crt",
            '-CAkey', "$dir/$ca.key", '-extfile', "$dir/$ext",
            '-out', "$dir/$name.crt"]);
}

# a request naming its caller in X-Test-Caller ('' or undef: none)

sub as {
    my ($caller, $bot, $ct, $path) = @_;

    return $t->post(($path // '/openapi/clientTag') . "?botId=$bot", $ok,
        (defined $ct ? (content_type => $ct) : ()),
        headers => [defined $caller && $caller ne ''
            ? ('X-Test-Caller' => $caller) : ()]);
}

# only the head of a request announcing $length bytes: (response, seconds)

sub head_only {
    my ($caller, $bot, $length) = @_;

    $t->mock_clear();

    my $start = time();
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $t->port('8080'),
        Proto => 'tcp', Timeout => 5) or return ('', 0);

    print $s "POST /limited/clientTag?botId=$bot HTTP/1.1\r\n"
        . "Host: localhost\r\nContent-Type: application/json\r\n"
        . "X-Test-Caller: $caller\r\nContent-Length: $length\r\n\r\n";

    my $buf = '';
    read_until($s, \$buf, qr/\}\}\z/, 5 * ($Manta::Test::SCALE // 1));
    my $elapsed = time() - $start;
    close $s;

    return ($buf, $elapsed);
}

# curl over mutual TLS with the client certificate NAME (undef: none):
# (status, body)

sub mtls {
    my ($name, $bot) = @_;

    $t->mock_clear();

    my $seq = $t->next_seq();
    my @cert = defined $name
        ? ('--cert', "$dir/$name.crt", '--key', "$dir/$name.key") : ();

    my ($rc, $out) = $t->run_command('curl', '-sS', '--cacert',
        "$dir/ca.crt", @cert, '-H', 'Content-Type: application/json',
        '-H', "X-Seq: $seq", '--data-binary', $ok, '-o', "$dir/curl.out",
        '-w', '%{http_code}', '--resolve',
        'localhost:' . $t->port('MTLS') . ':127.0.0.1',
        'https://localhost:' . $t->port('MTLS')
        . "/openapi/clientTag?botId=$bot");

    return ($out =~ /(\d{3})\s*\z/ ? $1 : "curl: $out",
        $t->read_file('curl.out') // '');
}

###############################################################################
