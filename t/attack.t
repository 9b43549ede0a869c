#!/usr/bin/perl

# Attacks on the promises of README "Where the token and secret go" and
# "Security: what upstream cannot do": a hostile upstream, a caller and
# plausible operator configurations try to get the server's token or
# secret to the caller, to another upstream or into a log line.  Each test
# states the safe behaviour; a failing one is an open finding.

###############################################################################

use warnings;
use strict;

use Test::More;

use JSON::PP;

use FindBin;
use lib "$FindBin::Bin/lib";
use Manta::Test;

###############################################################################

my $t = Manta::Test->new()->write_gateway(<<'EOF',
# an operator who serves HTML fragments with SSI in the gateway

%%MANTA_TAG(/ssi/clientTag; ssi on)%%

# two Manta accounts; the first fails over to the second

%%MANTA_TAG(/a/clientTag; proxy_intercept_errors on;
            error_page 503 = /b/clientTag;
            proxy_pass http://mock/api-a/clientTag)%%

%%MANTA_TAG(/b/clientTag; manta_credentials %%TESTDIR%%/creds-b.json;
            manta_limit zone=strict nodelay;
            proxy_pass http://mock/api-b/clientTag)%%

# two accounts, one zone: bot "x" is 1r/m in the first

%%MANTA_TAG(/c/clientTag; manta_credentials %%TESTDIR%%/creds-c.json;
            manta_limit zone=shared nodelay;
            proxy_pass http://mock/api-c/clientTag)%%

%%MANTA_TAG(/d/clientTag; manta_credentials %%TESTDIR%%/creds-d.json;
            manta_limit zone=shared burst=5 nodelay;
            proxy_pass http://mock/api-d/clientTag)%%

# where an X-Accel-Redirect of upstream lands

location = /landing {
    return  200 "landed\n";
}

# an ordinary proxied location of the same server

location = /side {
    proxy_pass  http://mock/side;
}
EOF
    main => 'worker_processes  1;',
    log => [attack => 'ux=$upstream_http_x_debug uk=$upstream_cookie_s'],
    http => <<'EOF');
manta_limit_zone  zone=strict:1m rate=1r/m;
manta_limit_zone  zone=shared:1m rate=10r/s;
EOF

my $TOKEN = 'TOKEN-ATK-0123456789abcdef';
my $SECRET = 'SECRET-ATK-fedcba9876543210';
my $QSECRET = 'SE"CRET-Q-0123456789';
(my $QSECRET_JSON = $QSECRET) =~ s/"/\\"/g;

$t->write_creds({token => $TOKEN, secret => $SECRET,
    bots => {quote => {token => 'TOKEN-Q-0123456789', secret => $QSECRET}}});
$t->write_file('creds-b.json',
    '{"token":"TOKEN-B-0123456789","secret":"SECRET-B-0123456789"}', 0600);

$t->write_file('creds-c.json', '{"bots":{"x":{"token":"TOKEN-C-0123456789",'
    . '"secret":"SECRET-C-0123456789","rate":"1r/m"}}}', 0600);
$t->write_file('creds-d.json',
    '{"token":"TOKEN-D-0123456789","secret":"SECRET-D-0123456789"}', 0600);

my $json = 'application/json';
my $ok = '{"success":true,"message":"client tag created"}';

my %answer = (

    # X-Accel-Redirect: nginx copies Set-Cookie, Content-Disposition,
    # Cache-Control, Expires and Content-Type into the redirected response,
    # before any filter of the gateway location runs

    xacookie => [200, ['X-Accel-Redirect' => '/landing',
        'Set-Cookie' => "s=$TOKEN; Path=/",
        'Content-Disposition' => "attachment; filename=$SECRET",
        'X-Debug' => $TOKEN], ''],

    # SSI in the gateway location: upstream includes another location

    ssi => [200, ['Content-Type' => 'text/html'],
        'a <!--# include virtual="/side" --> b'],

    # nginx logs these values at "error", before any filter runs

    charset => [200, ['Content-Type' => $json,
        'X-Accel-Charset' => "x-$TOKEN"], $ok],
    named => [200, ['X-Accel-Redirect' => "\@$TOKEN"], ''],
    unsafe => [200, ['X-Accel-Redirect' => "/../$SECRET"], ''],
    nul => \("HTTP/1.1 200 OK\r\nContent-Type: $json\r\n"
        . "X-Debug: $TOKEN\0\r\nContent-Length: 2\r\n\r\nok"),

    # a Set-Cookie the gateway drops, as $upstream_cookie_s sees it

    cookie => [200, ['Content-Type' => $json, 'Set-Cookie' => "s=$TOKEN"],
        $ok],

    # a success body echoing the token: masked for the caller

    echo200 => [200, ['Content-Type' => $json],
        qq({"success":true,"message":"hello $TOKEN"})],

    # the token as a header's name

    hname => [200, ['Content-Type' => $json, "X-$TOKEN" => '1'], $ok],

    # an error message echoing the forwarded body: the secret as JSON
    # spells it inside a JSON string

    quote => [400, ['Content-Type' => $json],
        JSON::PP->new->ascii->encode({error => 'invalid request body '
            . qq({"secret":"$QSECRET_JSON","name":"x"})})],
);

$t->mock_responder(sub {
    my ($req) = @_;

    return (503, ['Content-Type' => 'text/plain'], 'down')
        if $req->{uri} =~ m{^/api-a/};
    return (200, ['Content-Type' => $json], $ok)
        if $req->{uri} !~ m{^/api/};

    my ($bot) = $req->{uri} =~ /botId=([\w-]+)/;
    my $a = $answer{$bot // ''} // [200, ['Content-Type' => $json], $ok];

    return ref $a eq 'ARRAY' ? @$a : ($a);
});

mkdir $t->dir() . '/store';
chmod 0777, $t->dir() . '/store';

$t->run();

###############################################################################

my $body = '{"name":"x"}';

# 1. X-Accel-Redirect with the token in headers nginx copies

my $r = $t->post('/openapi/clientTag?botId=xacookie', $body);

is($r->{status}, 200,
    'X-Accel-Redirect: 200, the upstream\'s own answer (the header ignored)');
unlike($r->{raw}, qr/\Q$TOKEN\E/,
    'X-Accel-Redirect: a Set-Cookie holding the token does not reach the '
    . 'caller with the redirected response');
unlike($r->{raw}, qr/\Q$SECRET\E/,
    'X-Accel-Redirect: a Content-Disposition holding the secret does not '
    . 'reach the caller with the redirected response');
unlike($t->log_tail('attack.log'), qr/\Q$TOKEN\E/,
    'X-Accel-Redirect: $upstream_http_x_debug and $upstream_cookie_s do not '
    . 'show the token in the landing location\'s access log');

# 2. $upstream_cookie_* of a Set-Cookie the gateway dropped

$r = $t->post('/openapi/clientTag?botId=cookie', $body);

is($r->{status}, 200, 'upstream Set-Cookie with the token: 200');
unlike($r->{raw}, qr/\Q$TOKEN\E/, 'the Set-Cookie is not passed');
unlike($t->log_tail('attack.log'), qr/\Q$TOKEN\E/,
    '$upstream_cookie_s is empty for a Set-Cookie holding the token');

# 3. SSI include from the upstream's body: a subrequest of the forwarded
# request shares its headers and body

$r = $t->post('/ssi/clientTag?botId=ssi', $body);

my ($side) = grep { $_->{uri} =~ m{^/side} } $t->mock_requests();

is($r->{status}, 200, 'SSI in a gateway location: 200');
carries_nothing($side,
    'SSI include from upstream: the other location\'s request does not '
    . 'carry the injected Authorization',
    'SSI include from upstream: the other location\'s request does not '
    . 'carry the rewritten body with the secret');

# 4. error_page from one gateway location into another with other
# credentials

$r = $t->post('/a/clientTag?botId=fail', $body);

my ($b) = grep { $_->{uri} =~ m{^/api-b/} } $t->mock_requests();

carries_nothing($b,
    'error_page into a gateway location with other credentials: the '
    . 'first location\'s token does not reach the second one\'s upstream',
    'error_page into a gateway location with other credentials: nor the '
    . 'first location\'s secret');

# 5. the failover location's limit: 1r/m, no burst

$t->post('/a/clientTag?botId=again', $body);
$t->mock_clear();
$r = $t->post('/a/clientTag?botId=again', $body);

is(scalar(grep { $_->{uri} =~ m{^/api-b/} } $t->mock_requests()), 0,
    'error_page into a gateway location with its own limit: a second '
    . 'request within the minute does not reach its upstream (the '
    . 'location\'s manta_limit applies)');

# 6. one zone, two credentials files: a bot limited to 1r/m in one cannot
# drain its bucket at the other's 10r/s by alternating locations

is($t->post('/c/clientTag?botId=x', $body)->{status}, 200,
    'shared zone: the 1r/m bot\'s first request passes');
select undef, undef, undef, 0.3;
$t->post('/d/clientTag?botId=x', $body);
select undef, undef, undef, 0.3;
is($t->post('/c/clientTag?botId=x', $body)->{status}, 429,
    'shared zone: a request of the same botId through a location with '
    . 'other credentials does not let the 1r/m bot pass again within the '
    . 'minute');

# 7. log lines nginx writes at "error" from upstream header values

for my $bot (qw(charset named unsafe nul)) {
    $t->post("/openapi/clientTag?botId=$bot", $body);
}

my $log = $t->read_file('error.log');

unlike($log, qr/\Q$TOKEN\E/,
    'error.log: never the token of an upstream X-Accel-Charset, '
    . 'X-Accel-Redirect to a named location or invalid header line');
unlike($log, qr/\Q$SECRET\E/,
    'error.log: never the secret of an unsafe X-Accel-Redirect URI');

# 8. the token as a header's name

$r = $t->post('/openapi/clientTag?botId=hname', $body);

is($r->{status}, 200, 'a header named after the token: 200');
unlike($r->{raw}, qr/\Q$TOKEN\E/,
    'a header whose name holds the token is not passed');

# 9. proxy_store and proxy_cache: a copy of the upstream's answer on disk,
# unmasked; nginx -t refuses proxy_store in a gateway location (a stored
# file is meant to be served) and warns about a cache of POST

for my $keep ('proxy_store  %%TESTDIR%%/store/stored.json;',
    'proxy_cache  keep; proxy_cache_methods POST;')
{
    $t->write_file_expand('keep.conf', <<"EOF");

%%MANTA_MAIN%%

http {
    %%HTTP_GLOBALS%%

    manta_credentials  %%TESTDIR%%/creds.json;
    proxy_cache_path   %%TESTDIR%%/cache  keys_zone=keep:1m;

    server {
        listen  127.0.0.1:%%PORT_8080%%;

        location = /store/clientTag {
            manta_endpoint  client_tag;
            $keep
            proxy_pass      http://127.0.0.1:%%PORT_MOCK%%/api;
        }
    }
}

EOF

    my ($name) = $keep =~ /^(\w+)/;
    my ($rc, $out) = $t->test_config('keep.conf');

    if ($name eq 'proxy_store') {
        isnt($rc, 0, "$name in a gateway location: nginx -t fails");
    } else {
        is($rc, 0, "$name of POST in a gateway location: nginx -t passes");
    }

    like($out, qr/\[(?:emerg|warn)\] \d+#\d+: "$name"(?: of POST)? in the "manta_endpoint" location .* in \S+keep\.conf:\d+/,
        "$name in a gateway location: nginx -t says why and where");
}

# 10. an error body echoing the forwarded body

$r = $t->post('/openapi/clientTag?botId=quote', $body);

is($r->{status}, 400, 'echoed body in an error: 400');
my $msg = eval { decode_json($r->{body})->{errResponse}{message} } // '';
unlike($msg, qr/\Q$QSECRET_JSON\E|\Q$QSECRET\E/,
    'an error message echoing the forwarded body does not hold the secret '
    . 'as JSON spells it (a secret with a quote)');

$t->done();

###############################################################################

# A request the mock received (or none): the token in none of its headers
# ($no_token names that test), the secret not in its body ($no_secret).

sub carries_nothing {
    my ($req, $no_token, $no_secret) = @_;

    local $Test::Builder::Level = $Test::Builder::Level + 1;

    ok(!$req || !grep({ "@$_" =~ /\Q$TOKEN\E/ } @{ $req->{headers} }),
        $no_token);
    ok(!$req || $req->{body} !~ /\Q$SECRET\E/, $no_secret);
}
