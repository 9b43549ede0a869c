#!/usr/bin/perl

# Tests for how ngx_http_manta_module reads request bodies (README "What a
# request goes through"): chunked, in delayed pieces, spooled to a temp file,
# Expect: 100-continue, HTTP/2; and the body of a request rejected before
# it was read is discarded, so keep-alive and pipelining stay intact.

###############################################################################

use warnings;
use strict;

use Test::More;

use FindBin;
use lib "$FindBin::Bin/lib";
use Manta::Test;

###############################################################################

my $t = Manta::Test->new()->write_gateway(<<'EOF');
listen       127.0.0.1:%%PORT_H2%% http2;

%%MANTA_TAG(/spool/clientTag; client_body_buffer_size 16)%%

%%MANTA_TAG(/file/clientTag; client_body_in_file_only clean)%%

%%MANTA_TAG(/small/clientTag; manta_body_max_size 64)%%
EOF

$t->write_creds();

$t->run();

###############################################################################

my $ep = '/openapi/clientTag?botId=bot-a';
my $x = '{"secret":"SECRET-A","name":"x"}';
my $long = 'n' x 60;
my $xlong = qq({"secret":"SECRET-A","name":"$long"});
my ($r, $req, @res);

# chunked

$r = $t->post($ep, undef, chunks => ['{"na', 'me":', '"x"}']);
$req = ($t->mock_requests())[0];

is($r->{status}, 200, 'chunked: forwarded');
is($req && $req->{body}, $x, 'chunked: body rebuilt');
is(join('|', header_values($req, 'Content-Length')), length $x,
    'chunked: forwarded with Content-Length');
is(scalar header_values($req, 'Transfer-Encoding'), 0,
    'chunked: no Transfer-Encoding forwarded');

$t->mock_clear();
$r = parse_response($t->raw([
    "POST $ep HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        . "Content-Type: application/json\r\n"
        . "Transfer-Encoding: chunked\r\n\r\n4\r\n{\"na\r\n",
    "4\r\nme\":\r\n",
    "4\r\n\"x\"}\r\n0\r\n\r\n"], delay => 0.1), eof => 1);
is($r && $r->{status}, 200, 'chunks in delayed packets: forwarded');
is($t->forwarded_body(), $x, 'chunks in delayed packets: body rebuilt');

# Content-Length body in delayed packets

$r = $t->post($ep, undef, parts => ['{"na', 'me":"', 'x"}'], delay => 0.1);
is($r->{status}, 200, 'body in delayed packets: forwarded');
is($t->forwarded_body(), $x, 'body in delayed packets: body rebuilt');

# a body at the default 8k limit, white space padded, in several packets

my $pad = ' ' x (8192 - length '{"name":"x"}');
$r = $t->post($ep, undef, parts => ["{$pad", '"name"', ':"x"}'], delay => 0.05);
is($r->{status}, 200, 'body of 8192 bytes in packets: forwarded');
is($t->forwarded_body(), $x, 'body of 8192 bytes in packets: body rebuilt');

$r = $t->post($ep, "{ $pad\"name\":\"x\"}");
$t->is_rejected($r, 'body_too_large', 'bot-a', 'body of 8193 bytes');

# bodies nginx writes to a temp file

$r = $t->post("/spool/clientTag?botId=bot-a", qq({"name":"$long"}));
is($r->{status}, 200, 'body over client_body_buffer_size: forwarded');
is($t->forwarded_body(), $xlong,
    'body over client_body_buffer_size: body rebuilt');

$r = $t->post("/spool/clientTag?botId=bot-a", undef,
    chunks => ['{"name":"', $long, '"}']);
is($t->forwarded_body(), $xlong,
    'chunked body over client_body_buffer_size: body rebuilt');

$r = $t->post("/file/clientTag?botId=bot-a", '{"name":"x"}');
is($r->{status}, 200, 'client_body_in_file_only: forwarded');
is($t->forwarded_body(), $x, 'client_body_in_file_only: body rebuilt');

# Expect: 100-continue

$r = $t->post($ep, '{"name":"x"}', expect_continue => 1);
is($r->{interim}[0], 'HTTP/1.1 100 Continue', '100-continue: interim response');
is($r->{status}, 200, '100-continue: forwarded');
is($t->forwarded_body(), $x, '100-continue: body rebuilt');

$r = $t->post($ep, '{"name":"x"}', expect_continue => 1,
    content_type => 'text/plain');
$t->is_rejected($r, 'unsupported_media_type', undef,
    '100-continue, text/plain');

# HTTP/2

my $h2body = '{"secret":"SECRET-A","name":"h2"}';

$r = $t->h2('POST', $ep, body => '{"name":"  h2 "}', clear => 1,
    headers => ['Content-Type' => 'application/json',
        'Authorization' => 'Bearer CALLER', 'Accept-Encoding' => 'gzip']);
$req = ($t->mock_requests())[0];

is($r && $r->{status}, 200, 'HTTP/2: forwarded');
is($r && $r->{body}, $Manta::Mock::DEFAULT_BODY, 'HTTP/2: upstream body');
is($req && "$req->{method} $req->{uri}",
    'POST /api/openapi/clientTag?botId=bot-a', 'HTTP/2: request line');
is($req && $req->{body}, $h2body, 'HTTP/2: body rebuilt');
is(join('|', header_values($req, 'Authorization')), 'Bearer TOKEN-A',
    'HTTP/2: server token only');
is(join('|', header_values($req, 'Content-Length')), length $h2body,
    'HTTP/2: Content-Length');
is(scalar header_values($req, 'Accept-Encoding'), 0,
    'HTTP/2: no Accept-Encoding');

$r = $t->h2('POST', $ep, body => '{"name":"  h2 "}', clear => 1,
    body_delay => 0.1, headers => ['Content-Type' => 'application/json']);
is($t->forwarded_body(), $h2body, 'HTTP/2: body after the headers, later');

$r = $t->h2('POST', $ep, body => "{$pad\"name\":\"x\"}", clear => 1,
    headers => ['Content-Type' => 'application/json']);
is($t->forwarded_body(), $x, 'HTTP/2: 8192 bytes in DATA frames');

$r = $t->curl_h2('POST', $ep, body => '{"name":"  h2 "}', clear => 1,
    headers => ['Content-Type' => 'application/json']);
is($r && $r->{status}, 200, 'curl --http2-prior-knowledge: forwarded');
is($t->forwarded_body(), $h2body, 'curl --http2-prior-knowledge: body');

$r = $t->h2('POST', $ep, body => '{"name":"x"}', clear => 1,
    headers => ['Content-Type' => 'text/plain']);
$t->is_rejected($r, 'unsupported_media_type', undef, 'HTTP/2, text/plain');

$r = $t->h2('GET', $ep, clear => 1);
$t->is_rejected($r, 'method_not_allowed', undef, 'HTTP/2, GET');
is($r && $r->{headers}{allow}, 'POST', 'HTTP/2, GET: Allow: POST');

$r = $t->h2('POST', $ep, body => '{"name":"' . 'n' x 20000 . '"}', clear => 1,
    headers => ['Content-Type' => 'application/json']);
$t->is_rejected($r, 'body_too_large', 'bot-a', 'HTTP/2, 20k body');

$r = $t->h2('POST', $ep, body => '{"name":5}', clear => 1,
    headers => ['Content-Type' => 'application/json']);
$t->is_rejected($r, 'invalid_name', 'bot-a', 'HTTP/2, number name');

# keep-alive and pipelining after a rejection with an unread body

my $valid = ['POST', $ep, body => '{"name":"second"}',
    headers => ['Content-Type' => 'application/json']];
my $second = '{"secret":"SECRET-A","name":"second"}';

my %rejects = (
    'text/plain (415)' => ['POST', $ep, body => '{"name":"first"}',
        headers => ['Content-Type' => 'text/plain']],
    'GET with a body (405)' => ['GET', $ep, body => '{"name":"first"}',
        headers => ['Content-Type' => 'application/json']],
    'no botId (400)' => ['POST', '/openapi/clientTag', body => '{"name":"f"}',
        headers => ['Content-Type' => 'application/json']],
    'too large (413)' => ['POST', '/small/clientTag?botId=bot-a',
        body => 'GET /evil HTTP/1.1' . ' ' x 100,
        headers => ['Content-Type' => 'application/json']],
    'chunked, text/plain (415)' => ['POST', $ep, chunks => ['{"na', 'me":1}'],
        headers => ['Content-Type' => 'text/plain']],
    'chunked too large (413)' => ['POST', '/small/clientTag?botId=bot-a',
        chunks => ['x' x 50, 'y' x 50],
        headers => ['Content-Type' => 'application/json']],
);

my %status = ('text/plain (415)' => 415, 'GET with a body (405)' => 405,
    'no botId (400)' => 400, 'too large (413)' => 413,
    'chunked, text/plain (415)' => 415, 'chunked too large (413)' => 413);

for my $name (sort keys %rejects) {
    for my $pipeline (0, 1) {
        my $how = $pipeline ? 'pipelined' : 'keep-alive';

        $t->mock_clear();
        @res = $t->keepalive([$rejects{$name}, $valid], pipeline => $pipeline);

        is(join(' ', map { $_ ? $_->{status} : 'none' } @res[0, 1]),
            "$status{$name} 200", "$how after $name: both answered");
        is($t->forwarded_body(), $second,
            "$how after $name: only the second forwarded, intact");
    }
}

@res = $t->keepalive([$valid, $valid, $valid], pipeline => 1);
is(join(' ', map { $_ ? $_->{status} : 'none' } @res), '200 200 200',
    'three valid requests pipelined');

$t->done();

###############################################################################
