#!/usr/bin/perl

# Tests for the Content-Length of the module's own answers (README "Errors
# the caller sees"): the module hands it to nginx as a header field, as a
# proxied answer's is, so that nginx's header filters send it as it is.
# Every local rejection (400, 401, 403, 405 with and without HEAD, 413,
# 415, 429 and manta_limit_status 503) and every upstream error the module
# rewrites carries exactly one Content-Length, the length of its body, over
# HTTP/1.1 (counted in the raw bytes) and HTTP/2, also in $sent_http_* and
# after pipelined answers; a filter after the module that changes the body
# (gzip) takes it away, and the answer is chunked without one.

###############################################################################

use warnings;
use strict;

use Test::More;

use FindBin;
use lib "$FindBin::Bin/lib";
use Manta::Test;

###############################################################################

my $t = Manta::Test->new()->write_gateway(<<'EOF',
listen  127.0.0.1:%%PORT_H2%%  http2;

%%MANTA_TAG(/tiny/clientTag; manta_limit zone=tiny)%%

%%MANTA_TAG(/busy/clientTag; manta_limit zone=tiny; manta_limit_status 503)%%

%%MANTA_TAG(/small/clientTag; manta_body_max_size 16)%%

%%MANTA_TAG(/gzip/clientTag; gzip on; gzip_types application/json;
            gzip_min_length 1)%%

%%MANTA_TAG(/caller/clientTag; manta_caller $http_x_caller)%%
EOF
    log => ['length', '$sent_http_content_length'],
    http => "manta_limit_zone  zone=tiny:1m  rate=1r/m;\n");

$t->write_creds();

$t->mock_answers({
    plain500 => [500, ['Content-Type' => 'text/plain'], 'upstream broke'],
    json404  => [404, ['Content-Type' => 'application/json'],
        '{"error":"no such tag"}'],
}, 200, ['Content-Type' => 'application/json'], '{"ok":true}');

$t->run();

###############################################################################

my $json = ['Content-Type' => 'application/json'];

# [name, method, uri, headers, body, status]

my @cases = (
    ['invalid_json', 'POST', '/openapi/clientTag?botId=bot-a', $json,
        '{"name":"x",}', 400],
    ['bad_bot_id', 'POST', '/openapi/clientTag?botId=', $json,
        '{"name":"x"}', 400],
    ['unknown_caller', 'POST', '/caller/clientTag?botId=bot-a', $json,
        '{"name":"x"}', 401],
    ['unknown_field', 'POST', '/openapi/clientTag?botId=bot-a', $json,
        '{"name":"x","other":1}', 400],
    ['method', 'GET', '/openapi/clientTag?botId=bot-a', [], undef, 405],
    ['too_large', 'POST', '/small/clientTag?botId=bot-a', $json,
        '{"name":"' . ('x' x 40) . '"}', 413],
    ['media_type', 'POST', '/openapi/clientTag?botId=bot-a',
        ['Content-Type' => 'text/plain'], '{"name":"x"}', 415],
    ['upstream 500', 'POST', '/openapi/clientTag?botId=bot-a', $json,
        '{"name":"plain500"}', 500],
    ['upstream 404', 'POST', '/openapi/clientTag?botId=bot-a', $json,
        '{"name":"json404"}', 404],
    ['forwarded', 'POST', '/openapi/clientTag?botId=bot-a', $json,
        '{"name":"x"}', 200],
);

# the Content-Length lines of a raw HTTP/1.1 answer's head

sub length_lines {
    my ($raw) = @_;

    my ($head) = ($raw // '') =~ /^(.*?\r\n)\r\n/s;

    return grep { /^content-length:/i } split /\r\n/, $head // '';
}

sub lengths_in {
    my ($r) = @_;

    return map { $_->[1] } grep { lc $_->[0] eq 'content-length' }
        @{ $r->{header_list} // [] };
}

sub request_bytes {
    my ($method, $uri, $headers, $body) = @_;

    my $head = "$method $uri HTTP/1.1\r\nHost: localhost\r\n"
        . "Connection: close\r\n";
    my @h = @$headers;

    while (my ($n, $v) = splice @h, 0, 2) {
        $head .= "$n: $v\r\n";
    }

    $head .= 'Content-Length: ' . length($body) . "\r\n" if defined $body;

    return "$head\r\n" . ($body // '');
}

# the bot of the 429s has spent its request of the minute

is($t->post('/tiny/clientTag?botId=bot-a', '{"name":"x"}')->{status}, 200,
    'tiny: the first request passes');
push @cases, ['rate_limited', 'POST', '/tiny/clientTag?botId=bot-a', $json,
    '{"name":"x"}', 429];
push @cases, ['rate_limited 503', 'POST', '/busy/clientTag?botId=bot-a',
    $json, '{"name":"x"}', 503];

for my $c (@cases) {
    my ($name, $method, $uri, $headers, $body, $status) = @$c;

    # HTTP/1.1: the raw bytes

    my $raw = $t->raw(request_bytes($method, $uri, $headers, $body));
    my $r = parse_response($raw, method => $method, eof => 1);
    my @l = length_lines($raw);

    is($r && $r->{status}, $status, "$name: status");
    is(scalar @l, 1, "$name: one Content-Length line")
        or diag(join "\n", @l);
    is($l[0], 'Content-Length: ' . length($r ? $r->{body} : ''),
        "$name: the body's length");
    unlike($raw, qr/^Transfer-Encoding/mi, "$name: not chunked");

    # HTTP/2

    $r = $t->h2($method, $uri, headers => $headers, body => $body);
    my @v = lengths_in($r);

    is($r && $r->{status}, $status, "$name h2: status");
    is(scalar @v, 1, "$name h2: one content-length") or diag(join ',', @v);
    is($v[0], length($r ? $r->{body} : ''), "$name h2: the body's length");
}

# HEAD: the length of the ErrorResponse a GET would have, no body

{
    my $get = $t->http('GET', '/openapi/clientTag?botId=bot-a');
    my $raw = $t->raw("HEAD /openapi/clientTag?botId=bot-a HTTP/1.1\r\n"
        . "Host: localhost\r\nConnection: close\r\n\r\n");
    my @l = length_lines($raw);

    is(scalar @l, 1, 'HEAD: one Content-Length line');
    is($l[0], 'Content-Length: ' . length($get->{body}),
        'HEAD: the length of the GET\'s ErrorResponse');
    like($raw, qr/\r\n\r\n\z/, 'HEAD: no body');

    my $r = $t->h2('HEAD', '/openapi/clientTag?botId=bot-a');
    my @v = lengths_in($r);

    is(scalar @v, 1, 'HEAD h2: one content-length');
    is($v[0], length($get->{body}), 'HEAD h2: the GET\'s length');
}

# gzip after the module (which compresses a 200, 403 or 404 only): no
# Content-Length, chunked

for my $c (['404', '{"name":"json404"}', 404]) {
    my ($name, $body, $status) = @$c;

    my $raw = $t->raw(request_bytes('POST', '/gzip/clientTag?botId=bot-a',
        [@$json, 'Accept-Encoding' => 'gzip', 'X-Seq' => 'gzip'], $body));
    my $r = parse_response($raw, method => 'POST', eof => 1);

    is($r && $r->{status}, $status, "gzip $name: status");
    is(scalar(length_lines($raw)), 0, "gzip $name: no Content-Length");
    like($raw, qr/^Transfer-Encoding: chunked\r$/mi, "gzip $name: chunked");
    is($r && $r->{headers}{'content-encoding'}, 'gzip',
        "gzip $name: gzipped");
}

# pipelined: each answer its own length, the next one read right

{
    my @r = $t->keepalive([
        map { ['POST', $_->[0], headers => $json, body => $_->[1]] }
        ['/openapi/clientTag?botId=bot-a', '{"name":"x",}'],
        ['/tiny/clientTag?botId=bot-a', '{"name":"x"}'],
        ['/openapi/clientTag?botId=bot-a', '{"name":"plain500"}'],
        ['/openapi/clientTag?botId=bot-a', '{"name":"x"}'],
    ], pipeline => 1);

    is(join(' ', map { $_ ? $_->{status} : 'none' } @r), '400 429 500 200',
        'pipelined: the answers in order');
    is(scalar(grep { $_ && $_->{headers}{'content-length'} eq
        length $_->{body} } @r), 4, 'pipelined: each its own length');
}

# $sent_http_content_length: the length sent (none for the gzipped one)

{
    my @lines = grep { /^(?!gzip )\S+ 4\d\d / } $t->log_lines('length.log');
    my $bad = grep { !/^\S+ \d+ \d+$/ } @lines;

    ok(@lines >= 10, 'log: the rejections are logged');
    is($bad, 0, 'log: $sent_http_content_length is a number for each')
        or diag(join "\n", @lines);
}

my @p = $t->error_log_problems();
is(scalar @p, 0, 'no alert in error.log') or diag(join "\n", @p);

$t->done();

###############################################################################
