#!/usr/bin/perl

# Tests that a location without manta_endpoint is untouched by
# ngx_http_manta_module, in a server and http block that
# configure it: any method passes, the caller's Authorization, Accept-Encoding,
# query and body bytes reach upstream as sent, and error responses (the
# upstream's and nginx's own) are not rewritten into ErrorResponse.

###############################################################################

use warnings;
use strict;

use Test::More;

use FindBin;
use lib "$FindBin::Bin/lib";
use Manta::Test;

###############################################################################

my $t = Manta::Test->new()->write_gateway(<<'EOF');
location /plain {
    proxy_pass  http://mock;
}

location /static/ {
    root  %%TESTDIR%%;
}

location /tiny {
    client_max_body_size  10;
    proxy_pass            http://mock;
}
EOF

$t->write_creds();

mkdir $t->dir() . '/static';
$t->write_file('static/file.txt', "static\n", 0644);

$t->mock_responder(sub {
    my ($req) = @_;

    if ($req->{uri} =~ /missing/) {
        return (404, ['Content-Type' => 'text/html'], '<h1>nope</h1>');
    }

    if ($req->{uri} =~ /broken/) {
        return (500, ['Content-Type' => 'application/json'],
            '{"error":"upstream broke"}');
    }

    if ($req->{uri} =~ /gzip/) {
        return (200, ['Content-Type' => 'text/plain',
            'Content-Encoding' => 'gzip'], "\x1f\x8b\x08\x00zz");
    }

    return (200, ['Content-Type' => 'text/plain'], 'plain');
});

$t->run();

###############################################################################

my ($r, $req);

$r = $t->post('/plain/x?botId=zz&a=%zz', undef, method => 'GET',
    content_type => undef);
$req = ($t->mock_requests())[0];

is("$r->{status} $r->{body}", '200 plain', 'GET passes');
is($req && "$req->{method} $req->{uri}", 'GET /plain/x?botId=zz&a=%zz',
    'GET: method and query as sent');
is($t->log_tail('manta.log'), '200 - - -', 'no manta variables set');

my $bytes = "not json \x00\xff {\"secret\":\"mine\"}";

$r = $t->post('/plain/y', $bytes, content_type => 'text/plain',
    headers => ['Authorization' => 'Bearer CALLER',
        'Accept-Encoding' => 'gzip']);
$req = ($t->mock_requests())[0];

is($r->{status}, 200, 'POST of any body passes');
is($req && $req->{body}, $bytes, 'body bytes as sent');
is(join('|', header_values($req, 'Authorization')), 'Bearer CALLER',
    'caller Authorization passes unchanged');
is(join('|', header_values($req, 'Accept-Encoding')), 'gzip',
    'caller Accept-Encoding passes');
is(join('|', header_values($req, 'Content-Type')), 'text/plain',
    'caller Content-Type passes');

$r = $t->post('/plain/json', '{"name":"  a  b  "}');
is(($t->mock_requests())[0]{body}, '{"name":"  a  b  "}',
    'JSON body not normalized, no secret added');

$r = $t->post('/plain/chunked', undef, chunks => ['ab', 'cd']);
is(($t->mock_requests())[0]{body}, 'abcd', 'chunked body passes');

$r = $t->post('/plain/delete', undef, method => 'DELETE');
is($r->{status}, 200, 'DELETE passes');
ok(!defined $r->{headers}{allow}, 'no Allow header added');

# error responses are not rewritten

$r = $t->post('/plain/missing', undef, method => 'GET');
is("$r->{status} $r->{headers}{'content-type'} $r->{body}",
    '404 text/html <h1>nope</h1>', 'upstream 404 passes unchanged');

$r = $t->post('/plain/broken', '{}');
is("$r->{status} $r->{body}", '500 {"error":"upstream broke"}',
    'upstream 500 JSON passes unchanged');

$r = $t->post('/plain/gzip', undef, method => 'GET');
is($r->{headers}{'content-encoding'}, 'gzip', 'Content-Encoding passes');
is($r->{body}, "\x1f\x8b\x08\x00zz", 'encoded body passes');

$r = $t->http('GET', '/static/file.txt');
is("$r->{status} $r->{body}", "200 static\n", 'static file served');

$r = $t->http('GET', '/static/none.txt');
is($r->{status}, 404, 'nginx 404');
like($r->{headers}{'content-type'}, qr{^text/html}, 'nginx 404 stays HTML');
like($r->{body}, qr{<title>404 Not Found</title>}, 'nginx 404 page');

$r = $t->post('/tiny', 'x' x 100);
is($r->{status}, 413, 'nginx 413');
like($r->{body}, qr{<title>413 Request Entity Too Large</title>},
    'nginx 413 page not rewritten');

$r = $t->post('/unknown', '{"name":"x"}');
like($r->{body}, qr{<title>404 Not Found</title>},
    'nginx 404 outside any location not rewritten');

$t->done();

###############################################################################
