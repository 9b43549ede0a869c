#!/usr/bin/perl

# Tests for the request checks of ngx_http_manta_module (README's check
# table, all rows but the rate limit): each failure is answered locally with its status
# and exact ErrorResponse ("botId" only once validated), logged with its
# $manta_reject_reason, and nothing reaches upstream; the checks run in the
# documented order; the directives that relax a check.

###############################################################################

use warnings;
use strict;

use Test::More;

use FindBin;
use lib "$FindBin::Bin/lib";
use Manta::Test;

###############################################################################

my $t = Manta::Test->new()->write_gateway(<<'EOF');
%%MANTA_TAG(/strict/clientTag; manta_credentials %%TESTDIR%%/strict.json)%%

%%MANTA_TAG(/small/clientTag; manta_body_max_size 64)%%

%%MANTA_TAG(/replace/clientTag; manta_client_secret replace)%%

%%MANTA_TAG(/drop/clientTag; manta_unknown_fields drop)%%

%%MANTA_TAG(/expired/clientTag; manta_credentials %%TESTDIR%%/expired.json)%%

%%MANTA_TAG(/early/clientTag; manta_credentials %%TESTDIR%%/early.json)%%

%%MANTA_TAG(/fresh/clientTag; manta_credentials %%TESTDIR%%/fresh.json)%%

%%MANTA_TAG(/nocheck/clientTag; manta_credentials %%TESTDIR%%/expired.json;
            manta_token_expiry_check off)%%
EOF

my $expired = jwt(sub => 'gw', exp => time() - 3600);
my $early = jwt(sub => 'gw', nbf => time() + 3600, exp => time() + 7200);
my $fresh = jwt(sub => 'gw', exp => time() + 3600);

$t->write_creds();
$t->write_file('strict.json',
    '{"bots":{"bot-a":{"token":"TOKEN-STRICT","secret":"SECRET-STRICT"}}}',
    0600);
$t->write_file('expired.json',
    qq({"token":"$expired","secret":"SECRET-EXP"}), 0600);
$t->write_file('early.json', qq({"token":"$early","secret":"SECRET-EXP"}),
    0600);
$t->write_file('fresh.json', qq({"token":"$fresh","secret":"SECRET-FRESH"}),
    0600);

$t->run();

###############################################################################

my $ep = '/openapi/clientTag?botId=bot-a';
my $ok = '{"name":"x"}';
my $r;

# method

$r = $t->post($ep, $ok, method => 'GET');
$t->is_rejected($r, 'method_not_allowed', undef, 'GET');
is($r->{headers}{allow}, 'POST', 'GET: Allow: POST');

$r = $t->post($ep, $ok, method => 'PUT');
$t->is_rejected($r, 'method_not_allowed', undef, 'PUT');
is($r->{headers}{allow}, 'POST', 'PUT: Allow: POST');

$r = $t->post('/openapi/clientTag', 'junk', method => 'DELETE',
    content_type => 'text/plain');
$t->is_rejected($r, 'method_not_allowed', undef,
    'DELETE, text/plain, no botId: method checked first');

# media type

$r = $t->post($ep, $ok, content_type => undef);
$t->is_rejected($r, 'unsupported_media_type', undef, 'no Content-Type');

$r = $t->post($ep, $ok, content_type => 'text/plain');
$t->is_rejected($r, 'unsupported_media_type', undef, 'text/plain');

$r = $t->post($ep, $ok, content_type => 'application/json; charset=latin1');
$t->is_rejected($r, 'unsupported_media_type', undef, 'charset=latin1');

$r = $t->post($ep, $ok, content_type => 'application/jsonp');
$t->is_rejected($r, 'unsupported_media_type', undef, 'application/jsonp');

$r = $t->post($ep, $ok, content_type => 'application/json; boundary=x');
$t->is_rejected($r, 'unsupported_media_type', undef, 'other parameter');

$r = $t->post('/openapi/clientTag', 'junk', content_type => 'text/plain');
$t->is_rejected($r, 'unsupported_media_type', undef,
    'text/plain, no botId: media type checked before botId');

# botId

$r = $t->post('/openapi/clientTag', $ok);
$t->is_rejected($r, 'bad_bot_id', undef, 'no query');

$r = $t->post('/openapi/clientTag?other=1', $ok);
$t->is_rejected($r, 'bad_bot_id', undef, 'no botId argument');

$r = $t->post('/openapi/clientTag?botId=', $ok);
$t->is_rejected($r, 'bad_bot_id', undef, 'empty botId');

$r = $t->post('/openapi/clientTag?botId', $ok);
$t->is_rejected($r, 'bad_bot_id', undef, 'botId without a value');

$r = $t->post('/openapi/clientTag?botId=bot-a&botId=bot-a', $ok);
$t->is_rejected($r, 'bad_bot_id', undef, 'repeated botId');

$r = $t->post('/openapi/clientTag?botId=bot-a&x=1&botId=bot-b', $ok);
$t->is_rejected($r, 'bad_bot_id', undef, 'two different botIds');

$r = $t->post('/openapi/clientTag?botId=%zz', $ok);
$t->is_rejected($r, 'bad_bot_id', undef, 'bad percent-encoding %zz');

$r = $t->post('/openapi/clientTag?botId=bot%2', $ok);
$t->is_rejected($r, 'bad_bot_id', undef, 'truncated percent-encoding');

$r = $t->post('/openapi/clientTag?botId=bot%00a', $ok);
$t->is_rejected($r, 'bad_bot_id', undef, 'encoded NUL in botId');

$r = $t->post('/openapi/clientTag?botId=-bot', $ok);
$t->is_rejected($r, 'bad_bot_id', undef, 'botId not matching: leading -');

$r = $t->post('/openapi/clientTag?botId=bot.a', $ok);
$t->is_rejected($r, 'bad_bot_id', undef, 'botId not matching: dot');

$r = $t->post('/openapi/clientTag?botId=bot%20a', $ok);
$t->is_rejected($r, 'bad_bot_id', undef, 'botId not matching: decoded space');

$r = $t->post('/openapi/clientTag?botId=' . 'b' x 129, $ok);
$t->is_rejected($r, 'bad_bot_id', undef, 'botId of 129 characters');

$r = $t->post('/openapi/clientTag?BotId=bot-a', $ok);
$t->is_rejected($r, 'bad_bot_id', undef, 'argument name is case-sensitive');

$r = $t->post('/openapi/clientTag?botId=' . 'b' x 128, $ok);
is($r->{status}, 200, 'botId of 128 characters forwarded');

$r = $t->post('/small/clientTag', 'x' x 100);
$t->is_rejected($r, 'bad_bot_id', undef,
    'no botId, body too large: botId checked before body size');

# known bot: a credentials file with bots and no default

$r = $t->post('/strict/clientTag?botId=other', $ok);
$t->is_rejected($r, 'unknown_bot', 'other', 'bot not listed');

$r = $t->post('/strict/clientTag?botId=other', 'not json');
$t->is_rejected($r, 'unknown_bot', 'other',
    'bot not listed, bad body: bot checked before body');

$r = $t->post('/strict/clientTag?botId=bot-a', $ok);
is($r->{status}, 200, 'listed bot forwarded');
is($t->forwarded_body(), '{"secret":"SECRET-STRICT","name":"x"}',
    'listed bot gets its own secret');

# body size: manta_body_max_size 64

$r = $t->post('/small/clientTag?botId=bot-a', 'x' x 100);
$t->is_rejected($r, 'body_too_large', 'bot-a', 'Content-Length 100 over 64',
    'body is 100 bytes, at most 64 are allowed');

$r = $t->post($ep, '{"name":"' . 'x' x 8989 . '"}');
$t->is_rejected($r, 'body_too_large', 'bot-a', 'body of 9000 bytes over 8192',
    'body is 9000 bytes, at most 8192 are allowed');

$r = $t->post('/small/clientTag?botId=bot-a', undef,
    chunks => ['{"name":"' . 'y' x 40, 'y' x 40 . '"}']);
$t->is_rejected($r, 'body_too_large', 'bot-a', 'chunked body 91 over 64',
    'body is 91 bytes, at most 64 are allowed');

my $body64 = '{"name":"' . 'z' x 53 . '"}';
my $body65 = '{"name":"' . 'z' x 54 . '"}';

$r = $t->post('/small/clientTag?botId=bot-a', $body65);
$t->is_rejected($r, 'body_too_large', 'bot-a', 'body of 65 bytes over 64',
    'body is 65 bytes, at most 64 are allowed');

$r = $t->post('/small/clientTag?botId=bot-a', $body64);
is($r->{status}, 200, 'body of exactly 64 bytes forwarded');
is($t->forwarded_body(), '{"secret":"SECRET-A","name":"' . 'z' x 53 . '"}',
    'body of 64 bytes forwarded rebuilt');

# one JSON object

$r = $t->post($ep, '{"name":"x"');
$t->is_rejected($r, 'invalid_json', 'bot-a', 'truncated JSON',
    'body ends before the JSON object is complete');

$r = $t->post($ep, '[{"name":"x"}]');
$t->is_rejected($r, 'invalid_json', 'bot-a', 'top-level array',
    'body must be a JSON object, not an array');

$r = $t->post($ep, '"x"');
$t->is_rejected($r, 'invalid_json', 'bot-a', 'top-level string');

$r = $t->post($ep, 'null');
$t->is_rejected($r, 'invalid_json', 'bot-a', 'top-level null');

$r = $t->post($ep, '{"name":"a","name":"b"}');
$t->is_rejected($r, 'invalid_json', 'bot-a', 'duplicate keys',
    'duplicate member "name"');

$r = $t->post($ep, '{"name":"a","n\\u0061me":"b"}');
$t->is_rejected($r, 'invalid_json', 'bot-a', 'duplicate keys, one escaped',
    'duplicate member "name"');

$r = $t->post($ep, '{"name":"a","x\\u0007":1,"x\\u0007":2}');
$t->is_rejected($r, 'invalid_json', 'bot-a',
    'duplicate key with a control character: not echoed',
    'duplicate member "x?"');

$r = $t->post($ep, "{\"name\":\"a\xffb\"}");
$t->is_rejected($r, 'invalid_json', 'bot-a', 'invalid UTF-8');

$r = $t->post($ep, '{"name":"a\u0000b"}');
$t->is_rejected($r, 'invalid_json', 'bot-a', 'escaped NUL');

$r = $t->post($ep, '{"name":"x"} x');
$t->is_rejected($r, 'invalid_json', 'bot-a', 'trailing garbage');

$r = $t->post($ep, '{"name":"x"}{"name":"y"}');
$t->is_rejected($r, 'invalid_json', 'bot-a', 'two objects');

$r = $t->post($ep, '');
$t->is_rejected($r, 'invalid_json', 'bot-a', 'empty body',
    'body is empty: it must be one JSON object');

$r = $t->post($ep, undef);
$t->is_rejected($r, 'invalid_json', 'bot-a', 'no body at all');

# name

$r = $t->post($ep, '{}');
$t->is_rejected($r, 'invalid_name', 'bot-a', 'no name',
    'member "name" is missing');

$r = $t->post($ep, '{"name":5}');
$t->is_rejected($r, 'invalid_name', 'bot-a', 'number name',
    'member "name" must be a string, not a number');

$r = $t->post($ep, '{"name":null}');
$t->is_rejected($r, 'invalid_name', 'bot-a', 'null name');

$r = $t->post($ep, '{"name":["x"]}');
$t->is_rejected($r, 'invalid_name', 'bot-a', 'array name');

$r = $t->post($ep, '{"name":""}');
$t->is_rejected($r, 'invalid_name', 'bot-a', 'empty name',
    'name is empty');

$r = $t->post($ep, '{"name":"   "}');
$t->is_rejected($r, 'invalid_name', 'bot-a', 'blank name',
    'name is blank: it has only white space or invisible characters');

$r = $t->post($ep, '{"name":"' . 'n' x 65 . '"}');
$t->is_rejected($r, 'invalid_name', 'bot-a', 'name of 65 characters',
    'name is 65 characters long, at most 64 are allowed');

$r = $t->post($ep, '{"name":"a\\u0007b"}');
$t->is_rejected($r, 'invalid_name', 'bot-a', 'name with BEL',
    'name contains a control character (U+0007)');

$r = $t->post($ep, '{"secret":"mine","color":"red"}');
$t->is_rejected($r, 'invalid_name', 'bot-a',
    'no name, secret, unknown member: name checked first');

# secret sent by the caller

$r = $t->post($ep, '{"name":"x","secret":"mine"}');
$t->is_rejected($r, 'client_secret', 'bot-a', 'secret after name',
    'member "secret" must not be sent: the gateway adds its own');
unlike($r->{body}, qr/mine/, 'secret after name: its value not echoed');

$r = $t->post($ep, '{"name":"x","secret":"mine');
$t->is_rejected($r, 'invalid_json', 'bot-a', 'truncated secret',
    'body ends before the JSON object is complete');
unlike($r->{body}, qr/mine/, 'truncated secret: its value not echoed');

$r = $t->post($ep, '{"secret":"mine","name":"x"}');
$t->is_rejected($r, 'client_secret', 'bot-a', 'secret before name');

$r = $t->post($ep, '{"name":"x","secret":"mine","color":"red"}');
$t->is_rejected($r, 'client_secret', 'bot-a',
    'secret and unknown member: secret checked first');

$r = $t->post('/replace/clientTag?botId=bot-a', '{"name":"x","secret":"mine"}');
is($r->{status}, 200, 'manta_client_secret replace: forwarded');
is($t->forwarded_body(), '{"secret":"SECRET-A","name":"x"}',
    'manta_client_secret replace: server secret forwarded');

$r = $t->post('/replace/clientTag?botId=bot-a',
    '{"name":"x","secret":"mine","color":"red"}');
$t->is_rejected($r, 'unknown_field', 'bot-a',
    'manta_client_secret replace: unknown member still rejected');

# unknown members

$r = $t->post($ep, '{"name":"x","color":"red"}');
$t->is_rejected($r, 'unknown_field', 'bot-a', 'unknown member',
    'unknown member "color"');

$r = $t->post($ep, '{"name":"x","' . 'k' x 100 . '":1}');
$t->is_rejected($r, 'unknown_field', 'bot-a',
    'unknown member of 100 bytes: its name cut at 64',
    'unknown member "' . 'k' x 64 . '..."');

$r = $t->post($ep, '{"name":"x","a\\u0000b":1}');
$t->is_rejected($r, 'invalid_json', 'bot-a', 'member name with \\u0000',
    'body contains a NUL character (\\u0000)');

$r = $t->post($ep, '{"name":"x","a\\u001b[31m\\u202e\\"":1}');
$t->is_rejected($r, 'unknown_field', 'bot-a',
    'unknown member with ESC, bidi override and quote: no control echoed',
    'unknown member "a?[31m?""');

$r = $t->post($ep, '{"Name":"x","name":"x"}');
$t->is_rejected($r, 'unknown_field', 'bot-a', 'member names are exact',
    'unknown member "Name"');

$r = $t->post('/drop/clientTag?botId=bot-a', '{"color":"red","name":"x"}');
is($r->{status}, 200, 'manta_unknown_fields drop: forwarded');
is($t->forwarded_body(), '{"secret":"SECRET-A","name":"x"}',
    'manta_unknown_fields drop: member dropped');

$r = $t->post('/drop/clientTag?botId=bot-a',
    '{"name":"x","secret":"mine","color":"red"}');
$t->is_rejected($r, 'client_secret', 'bot-a',
    'manta_unknown_fields drop: secret still rejected');

# token expiry

$r = $t->post('/expired/clientTag?botId=bot-a', $ok);
$t->is_rejected($r, 'token_expired', 'bot-a', 'expired token');

$r = $t->post('/early/clientTag?botId=bot-a', $ok);
$t->is_rejected($r, 'token_expired', 'bot-a', 'token before nbf');

$r = $t->post('/expired/clientTag?botId=bot-a', '{"name":"x","color":"red"}');
$t->is_rejected($r, 'unknown_field', 'bot-a',
    'expired token, unknown member: body checked first');

$r = $t->post('/fresh/clientTag?botId=bot-a', $ok);
is($r->{status}, 200, 'token before exp forwarded');
is(join(',', header_values(($t->mock_requests())[0], 'Authorization')),
    "Bearer $fresh", 'token before exp sent');

$r = $t->post('/nocheck/clientTag?botId=bot-a', $ok);
is($r->{status}, 200, 'manta_token_expiry_check off: expired token forwarded');
is(join(',', header_values(($t->mock_requests())[0], 'Authorization')),
    "Bearer $expired", 'manta_token_expiry_check off: expired token sent');

$t->done();

###############################################################################
