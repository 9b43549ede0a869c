#!/usr/bin/perl

# Tests for what ngx_http_manta_module forwards (README "What a
# request goes through", what upstream receives): the canonical request line, the rebuilt body with the
# server-held secret, the server-held token as the only Authorization, no
# Accept-Encoding, the per-bot and default credentials, the accepted media
# types, and the upstream's success response passed back untouched.

###############################################################################

use warnings;
use strict;

use Test::More;

use FindBin;
use lib "$FindBin::Bin/lib";
use Manta::Test;

###############################################################################

my $t = Manta::Test->new()->write_gateway(<<'EOF');
%%MANTA_TAG(/spaces/clientTag; manta_bot_id_pattern "^[a-z ~]+$")%%
EOF

$t->write_creds({%Manta::Test::CREDS, bots => {
    %{ $Manta::Test::CREDS{bots} },
    'bot-q' => {token => 'TOKEN-Q', secret => "q\"uo\\te/\x{e9}"}}});

$t->mock_responder(sub {
    my ($req) = @_;

    if ($req->{body} =~ /"name":"created"/) {
        return (201, ['Content-Type' => 'text/plain', 'X-Upstream' => 'yes'],
            "made it\n");
    }

    if ($req->{body} =~ /"name":"big"/) {
        return (200, ['Content-Type' => 'application/json'],
            '{"success":true,"message":"' . 'm' x 100000 . '"}');
    }

    return (200, ['Content-Type' => 'application/json'],
        $Manta::Mock::DEFAULT_BODY);
});

$t->run();

###############################################################################

# the happy path

my $r = $t->post('/openapi/clientTag?botId=bot-a&extra=1',
    '{"name":"  My   Tag "}',
    content_type => 'application/json; charset=UTF-8',
    headers => ['Authorization' => 'Bearer CALLER',
        'Accept-Encoding' => 'gzip']);

my @seen = $t->mock_requests();
my $req = $seen[0];
my $body = '{"secret":"SECRET-A","name":"My Tag"}';

is(scalar @seen, 1, 'one request forwarded');
is("$req->{method} $req->{uri} $req->{version}",
    'POST /api/openapi/clientTag?botId=bot-a HTTP/1.0',
    'request line with the canonical query only');
is($req->{body}, $body, 'body rebuilt with the secret and normalized name');
is(join('|', header_values($req, 'Authorization')), 'Bearer TOKEN-A',
    'the server token is the only Authorization');
is(join('|', header_values($req, 'Content-Type')), 'application/json',
    'Content-Type application/json');
is(join('|', header_values($req, 'Content-Length')), length $body,
    'Content-Length of the rebuilt body');
is(scalar header_values($req, 'Accept-Encoding'), 0,
    'no Accept-Encoding forwarded');
is(scalar header_values($req, 'Transfer-Encoding'), 0,
    'no Transfer-Encoding forwarded');

is($r->{status}, 200, 'upstream status to the caller');
is($r->{body}, $Manta::Mock::DEFAULT_BODY, 'upstream body to the caller');
is($r->{headers}{'content-type'}, 'application/json',
    'upstream Content-Type to the caller');
is($t->log_tail('manta.log'), '200 - bot-a ' . token_id('TOKEN-A'),
    'forwarded: empty reason, botId and token fingerprint logged');

# the defaults for a bot not listed

$r = $t->post('/openapi/clientTag?botId=other', '{"name":"x"}');
$req = ($t->mock_requests())[0];

is($r->{status}, 200, 'bot not listed: forwarded');
is($req->{uri}, '/api/openapi/clientTag?botId=other',
    'bot not listed: its botId forwarded');
is($req->{body}, '{"secret":"SECRET-DEFAULT-xyz","name":"x"}',
    'bot not listed: default secret');
is(join('|', header_values($req, 'Authorization')),
    'Bearer TOKEN-DEFAULT-xyz', 'bot not listed: default token');
is($t->log_tail('manta.log'), '200 - other ' . token_id('TOKEN-DEFAULT-xyz'),
    'bot not listed: default token fingerprint logged');

# the botId is decoded, then forwarded re-encoded

$r = $t->post('/openapi/clientTag?botId=bot%2Da', '{"name":"x"}');
$req = ($t->mock_requests())[0];

is($req->{uri}, '/api/openapi/clientTag?botId=bot-a',
    'percent-encoded botId forwarded canonically');
is(join('|', header_values($req, 'Authorization')), 'Bearer TOKEN-A',
    'percent-encoded botId selects its bot');

$r = $t->post('/openapi/clientTag?x=%zz&botId=bot-a&y', '{"name":"x"}');
is(($t->mock_requests())[0]{uri}, '/api/openapi/clientTag?botId=bot-a',
    'other arguments, even malformed ones, are dropped');

$r = $t->post('/spaces/clientTag?botId=my+bot%7e', '{"name":"x"}');
is(($t->mock_requests())[0]{uri}, '/api/openapi/clientTag?botId=my%20bot~',
    'botId re-encoded: space as %20, unreserved ~ as is');
is($t->log_tail('manta.log'), '200 - my bot~ ' . token_id('TOKEN-DEFAULT-xyz'),
    'decoded botId logged');

# the secret is escaped in the rebuilt body

$r = $t->post('/openapi/clientTag?botId=bot-q', '{"name":"x"}');
is($t->forwarded_body(),
    "{\"secret\":\"q\\\"uo\\\\te/\xc3\xa9\",\"name\":\"x\"}",
    'secret JSON-escaped, UTF-8 and slash unescaped');

# the name is escaped in the rebuilt body

$r = $t->post('/openapi/clientTag?botId=bot-a', '{"name":"a\"b\\\\c/d"}');
is($t->forwarded_body(), '{"secret":"SECRET-A","name":"a\"b\\\\c/d"}',
    'name with quote, backslash, slash re-escaped');

$r = $t->post('/openapi/clientTag?botId=bot-a',
    '{"name":"Z\u00fcrich \u6771\u4eac"}');
is($t->forwarded_body(),
    '{"secret":"SECRET-A","name":"' . "Z\xc3\xbcrich \xe6\x9d\xb1\xe4\xba\xac"
    . '"}',
    'escaped non-ASCII name forwarded as UTF-8');

$r = $t->post('/openapi/clientTag?botId=bot-a',
    "{\"name\":\"Z\xc3\xbcrich\"}");
is($t->forwarded_body(), "{\"secret\":\"SECRET-A\",\"name\":\"Z\xc3\xbcrich\"}",
    'UTF-8 name forwarded as is');

# accepted media types

for my $ct ('application/json', 'Application/JSON; Charset=UTF-8',
    'application/json;charset=utf-8', 'application/json; charset="utf-8"')
{
    $r = $t->post('/openapi/clientTag?botId=bot-a', '{"name":"x"}',
        content_type => $ct);
    is($t->forwarded_body(), '{"secret":"SECRET-A","name":"x"}',
        "Content-Type '$ct' accepted");
}

# the caller's other headers

$r = $t->post('/openapi/clientTag?botId=bot-a', '{"name":"x"}',
    headers => ['Authorization' => 'Basic Y2FsbGVyOnB3', 'X-Request-Id' => 'r1',
        'Accept-Encoding' => 'br, gzip', 'Content-Length' => 12]);
$req = ($t->mock_requests())[0];

is(join('|', header_values($req, 'Authorization')), 'Bearer TOKEN-A',
    'caller Basic Authorization replaced');
is(join('|', header_values($req, 'Content-Length')),
    length('{"secret":"SECRET-A","name":"x"}'),
    'caller Content-Length replaced');

# success responses pass untouched

$r = $t->post('/openapi/clientTag?botId=bot-a', '{"name":"created"}');
is($r->{status}, 201, 'upstream 201 status passed');
is($r->{headers}{'x-upstream'}, 'yes', 'upstream header passed');
is($r->{headers}{'content-type'}, 'text/plain', 'upstream Content-Type passed');
is($r->{body}, "made it\n", 'upstream non-JSON success body passed');

$r = $t->post('/openapi/clientTag?botId=bot-a', '{"name":"big"}');
is($r->{body}, '{"success":true,"message":"' . 'm' x 100000 . '"}',
    'large success body passed whole');

$t->done();

###############################################################################
