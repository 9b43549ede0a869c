#!/usr/bin/perl

# Tests for the test harness itself, with plain nginx and no module: the
# mock's record of requests (line, headers in order, exact and de-chunked
# bodies), the HTTP client (keep-alive, pipelining, 100-continue, HTTP/2),
# reload, nginx -t, the ErrorResponse checker and the error.log scan.

###############################################################################

use warnings;
use strict;

use Test::More;

use FindBin;
use lib "$FindBin::Bin/lib";
use Manta::Test;
use Manta::Mock;

###############################################################################

my $t = Manta::Test->new();

my $conf = <<'EOF';

%%GLOBALS%%

events {
}

http {
    %%HTTP_GLOBALS%%

    log_format  seq  '$http_x_seq $status $request_method';

    server {
        %%MANTA_LISTEN%%

        access_log  %%TESTDIR%%/seq.log  seq;

        location / {
            proxy_pass  http://127.0.0.1:%%PORT_MOCK%%;
        }

        location /stream {
            proxy_pass               http://127.0.0.1:%%PORT_MOCK%%;
            proxy_http_version       1.1;
            proxy_request_buffering  off;
        }

        location = /generation {
            return 200 "GENERATION\n";
        }
    }

    server {
        listen       127.0.0.1:%%PORT_H2%% http2;
        server_name  localhost;

        location = /early {
            return 415 "early\n";
        }

        location / {
            proxy_pass  http://127.0.0.1:%%PORT_MOCK%%;
        }
    }
}

EOF

(my $one = $conf) =~ s/GENERATION/one/;
(my $two = $conf) =~ s/GENERATION/two/;

$t->write_config($one);
$t->run();

###############################################################################

# a request through nginx to the mock, binary body

my $bytes = "\x00\xff{\"a\":1}\r\n\x80";
my $r = $t->post('/echo?x=1', $bytes, content_type => 'application/x-test',
    headers => ['X-Test' => 'one', 'X-Test' => 'two']);

is($r->{status}, 200, 'proxied request status');
is($r->{headers}{'content-type'}, 'application/json', 'mock content type');
is($r->{body}, $Manta::Mock::DEFAULT_BODY, 'mock default body');

my @seen = $t->mock_requests();
is(scalar @seen, 1, 'mock recorded one request');
is("$seen[0]{method} $seen[0]{uri} $seen[0]{version}",
    'POST /echo?x=1 HTTP/1.0', 'mock recorded the request line');
is($seen[0]{body}, $bytes, 'mock recorded the exact body bytes');
is(join(',', map { $_->[0] } @{ $seen[0]{headers} }[0, 1]), 'Host,Connection',
    'mock recorded headers in order');
is(join(',', map { $_->[1] } grep { $_->[0] eq 'X-Test' }
    @{ $seen[0]{headers} }), 'one,two', 'mock recorded repeated headers');
is(join(',', header_values($seen[0], 'Content-Length')), length $bytes,
    'mock recorded Content-Length');

$t->mock_clear();
is(scalar $t->mock_requests(), 0, 'mock_clear empties the record');

is($t->log_tail('seq.log'), '200 POST', 'log line found by X-Seq');
$t->http('DELETE', '/generation');
is($t->log_tail('seq.log'), '200 DELETE', 'next log line found by X-Seq');

# chunked request bodies

$r = $t->http('POST', '/buffered', chunks => ['{"na', 'me":', '"x"}'],
    headers => ['Content-Type' => 'application/json']);
@seen = $t->mock_requests();
is($r->{status}, 200, 'chunked request status');
is($seen[0]{body}, '{"name":"x"}', 'chunked request body buffered by nginx');

# the rest of the body comes later: nginx streams it to the mock chunked

$t->mock_clear();
$t->raw(["POST /stream HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
    . "Transfer-Encoding: chunked\r\n\r\n4\r\n{\"na\r\n",
    "4\r\nme\":\r\n", "4\r\n\"x\"}\r\n0\r\n\r\n"], delay => 0.1);
@seen = $t->mock_requests();
is(join(',', header_values($seen[0], 'Transfer-Encoding')), 'chunked',
    'unbuffered request reached the mock chunked');
is($seen[0]{body}, '{"name":"x"}', 'mock de-chunked the body');

# responders

$t->mock_responder(sub {
    my ($req) = @_;
    return (401, ['Content-Type' => 'application/json', 'X-Uri' => $req->{uri}],
        '{"success":false,"errResponse":{"message":"no","code":401}}');
});

$r = $t->post('/denied', '{}');
is($r->{status}, 401, 'responder status');
is($r->{headers}{'x-uri'}, '/denied', 'responder sees the request');
is($r->{body}, '{"success":false,"errResponse":{"message":"no","code":401}}',
    'responder body');
is(scalar $t->mock_requests(), 1, 'record kept across a responder change');

$t->mock_responder(sub {
    return \"HTTP/1.1 503 Busy\r\nContent-Length: 4\r\n\r\nbusy";
});

$r = $t->http('GET', '/raw');
is("$r->{status} $r->{body}", '503 busy', 'raw responder bytes');

$t->mock_responder(undef);

# the mock alone: keep-alive, pipelining, chunked

my $mock = $t->port('MOCK');
my $raw = $t->raw("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab"
    . "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    . "3\r\ncde\r\n0\r\n\r\n"
    . "GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    port => $mock);

my $answers = () = $raw =~ m{HTTP/1\.1 200 OK\r\n}g;
is($answers, 3, 'mock answered 3 pipelined requests');
@seen = $t->mock_requests();
is(join(' ', map { "$_->{uri}=$_->{body}" } @seen[-3 .. -1]),
    '/a=ab /b=cde /c=', 'mock recorded pipelined requests in order');

# the client: keep-alive and pipelining through nginx

my @res = $t->keepalive([['GET', '/generation'], ['GET', '/generation']]);
is(join(' ', map { $_ ? "$_->{status}:$_->{body}" : 'none' } @res),
    "200:one\n 200:one\n", 'keep-alive: two responses on one connection');

@res = $t->keepalive([['GET', '/generation'], ['POST', '/k', body => 'xy'],
    ['GET', '/generation']], pipeline => 1);
is(join(' ', map { $_ ? $_->{status} : 'none' } @res), '200 200 200',
    'pipelining: three responses to one write');

# Expect: 100-continue, and a body sent in delayed parts

$r = $t->post('/continue', 'abc', expect_continue => 1);
is($r->{interim}[0], 'HTTP/1.1 100 Continue', '100 Continue received');
is(($t->mock_requests())[0]{body}, 'abc', 'body sent after 100 Continue');

$r = $t->post('/parts', undef, parts => ['ab', 'cd', 'ef'], delay => 0.05);
is(($t->mock_requests())[0]{body}, 'abcdef', 'body sent in delayed parts');

# HTTP/2

$r = $t->h2('POST', '/h2?a=1', body => '{"h2":true}', clear => 1,
    headers => ['Content-Type' => 'application/json', 'X-Long' => 'v' x 300]);
@seen = $t->mock_requests();
is($r && "$r->{version} $r->{status}", 'HTTP/2 200', 'HTTP/2 response');
is($r && $r->{headers}{'content-type'}, 'application/json',
    'HTTP/2 response header decoded');
is($r && $r->{body}, $Manta::Mock::DEFAULT_BODY, 'HTTP/2 response body');
is("$seen[0]{uri} $seen[0]{body}", '/h2?a=1 {"h2":true}',
    'HTTP/2 request proxied');
is(join('', header_values($seen[0], 'X-Long')), 'v' x 300,
    'HTTP/2 long header value sent');

$r = $t->h2('POST', '/h2', body => 'x' x 40000, clear => 1);
is(length(($t->mock_requests())[0]{body}), 40000,
    'HTTP/2 body in several DATA frames');

$r = $t->h2('GET', '/h2-get', clear => 1);
is($r && "$r->{status} " . ($t->mock_requests())[0]{method}, '200 GET',
    'HTTP/2 GET without a body');

# nginx answers before the body is read, then resets the stream: the
# case curl 7.88 cannot report

for (1 .. 3) {
    $r = $t->h2('POST', '/early', body => 'z' x 100000);
    is($r && "$r->{status} $r->{body}", "415 early\n",
        "HTTP/2 early answer to an upload, try $_");
}

$r = $t->curl_h2('POST', '/h2', body => '{"h2":true}', clear => 1,
    headers => ['Content-Type' => 'application/json']);
is($r && "$r->{version} $r->{status}", 'HTTP/2 200', 'curl HTTP/2 response');
is(($t->mock_requests())[0]{body}, '{"h2":true}', 'curl HTTP/2 body proxied');

$t->mock_responder(sub {
    return (415, ['Content-Type' => 'text/x-early', 'X-Huffman' => 'abc%$#~'],
        'early');
});
$r = $t->h2('POST', '/h2', body => 'y' x 70000);
is($r && "$r->{status} $r->{headers}{'content-type'} $r->{body}",
    '415 text/x-early early', 'HTTP/2 status and Huffman-coded header');
is($r && $r->{headers}{'x-huffman'}, 'abc%$#~', 'HTTP/2 header value decoded');
$t->mock_responder(undef);

# reload

my @old = $t->workers();
$t->write_config($two);
ok($t->reload(), 'reload reported the new generation');
is($t->http('GET', '/generation')->{body}, "two\n", 'new configuration serves');
ok(!grep({ my $w = $_; grep { $_ == $w } @old } $t->workers()),
    'old workers are gone');

$t->write_config("events {\n");
$t->allow_log(qr/\[emerg\].*unexpected end of file/);
ok(!$t->reload(quiet => 1, timeout => 3), 'failed reload reported');
is($t->http('GET', '/generation')->{body}, "two\n",
    'old configuration serves after a failed reload');

# nginx -t

$t->write_config($two);
my ($status, $out) = $t->test_config();
is($status, 0, 'nginx -t passes a valid configuration');
like($out, qr/syntax is ok/, 'nginx -t output');

$t->write_file('bad.conf', "events {}\nhttp { no_such_directive on; }\n");
($status, $out) = $t->test_config('bad.conf');
isnt($status, 0, 'nginx -t fails an invalid configuration');
like($out, qr/unknown directive "no_such_directive".*bad\.conf/,
    'nginx -t output names the problem and the file');

# the ErrorResponse checker

my $good = fake(400, '{"success":false,"errResponse":'
    . '{"message":"unknown botId","code":400,"botId":"b"}}');

is(join('; ', error_response_problems($good, 400, 'b', 'unknown botId')), '',
    'checker accepts a correct ErrorResponse');
like(join('; ', error_response_problems($good, 400, undef)),
    qr/botId present/, 'checker rejects an unexpected botId');
like(join('; ', error_response_problems($good, 403, 'b')),
    qr/status 400, expected 403.*code 400, expected 403/,
    'checker rejects a wrong status and code');
like(join('; ', error_response_problems($good, 400, 'b', 'other')),
    qr/expected \{"success":false/, 'checker compares the exact body');

my $bad = fake(400, '{"success":0,"errResponse":{"message":"","code":"400"}}');
$bad->{headers}{'content-length'}++;
$bad->{headers}{'content-type'} = 'text/html';
my $problems = join('; ', error_response_problems($bad, 400, undef));
like($problems,
    qr/^Content-Type text\/html, .*; Content-Length 56, body has 55/,
    'checker rejects a wrong Content-Type and Content-Length');
like($problems,
    qr/success is not JSON false; message is not a non-empty string; code 400/,
    'checker rejects a non-false success, empty message and string code');

# helpers

is(token_id('abc'), 'ba7816bf8f01', 'token_id is SHA-256, 12 hex digits');
like(jwt(exp => 1), qr/^eyJ[\w-]+\.eyJleHAiOjF9\.[\w-]+$/, 'jwt shape');

# the error.log scan

$t->write_file('fake.log', "2024/01/01 [alert] 1#1: boom\n"
    . "2024/01/01 [notice] 1#1: worker process 7 exited on signal 11\n"
    . "2024/01/01 [emerg] 1#1: unexpected end of file\n"
    . "2024/01/01 [error] 1#1: only an error\n");

is(scalar $t->error_log_problems('fake.log'), 2,
    'error.log scan finds an alert and a crash, skips allowed and errors');

# stop

my $master = $t->{master};
$t->stop();

ok(!Manta::Test::alive($master), 'nginx master stopped');
ok(!IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $t->port('8080')),
    'nginx no longer listens');
ok(!IO::Socket::INET->new(PeerAddr => "127.0.0.1:$mock"),
    'mock no longer listens');

done_testing();

###############################################################################

sub fake {
    my ($status, $body) = @_;
    return {
        status  => $status,
        headers => {
            'content-type'   => 'application/json',
            'content-length' => length $body,
        },
        body    => $body,
    };
}

###############################################################################
