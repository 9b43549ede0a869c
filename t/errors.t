#!/usr/bin/perl

# Tests for the errors a caller of ngx_http_manta_module sees (SPEC section
# 5): an upstream ErrorResponse passes with secrets redacted and botId
# filled in; any other error body, the upstream's or nginx's own (502, 504,
# 413), becomes an ErrorResponse whose message comes from the upstream's
# message/error/detail/title or the reason phrase; success responses and
# manta_errors off pass untouched.

###############################################################################

use warnings;
use strict;

use Test::More;
use JSON::PP;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Manta::Test;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $t = Manta::Test->new();

$t->write_config(<<'EOF');

%%MODULE%%
%%GLOBALS%%

events {
}

http {
    %%HTTP_GLOBALS%%

    log_format  rewritten  '$http_x_seq $status $manta_error_rewritten';

    manta_credentials  %%TESTDIR%%/creds.json;

    upstream mock {
        server  127.0.0.1:%%PORT_MOCK%%;
    }

    server {
        listen       127.0.0.1:%%PORT_8080%%;
        server_name  localhost;

        access_log  %%TESTDIR%%/rewritten.log  rewritten;

        location = /openapi/clientTag {
            manta_endpoint  client_tag;
            proxy_pass      http://mock/api/openapi/clientTag;
        }

        location = /down/clientTag {
            manta_endpoint  client_tag;
            proxy_pass      http://127.0.0.1:%%PORT_CLOSED%%/api;
        }

        location = /slow/clientTag {
            manta_endpoint      client_tag;
            proxy_read_timeout  200ms;
            proxy_pass          http://mock/api/openapi/clientTag;
        }

        location = /smallerr/clientTag {
            manta_endpoint        client_tag;
            manta_error_body_max  1k;
            proxy_pass            http://mock/api/openapi/clientTag;
        }

        location = /tiny/clientTag {
            manta_endpoint        client_tag;
            client_max_body_size  10;
            proxy_pass            http://mock/api/openapi/clientTag;
        }

        location = /raw/clientTag {
            manta_endpoint  client_tag;
            manta_errors    off;
            proxy_pass      http://mock/api/openapi/clientTag;
        }
    }
}

EOF

$t->write_file('creds.json', '{"token":"TOKEN-DEFAULT-xyz",'
    . '"secret":"SECRET-DEFAULT-xyz",'
    . '"bots":{"bot-a":{"token":"TOKEN-A","secret":"SECRET-A"}}}', 0600);

my $json = 'application/json';

# what the mock answers, by the name forwarded

my %answer = (
    valid401 => [401, $json, '{"success":false,"errResponse":'
        . '{"message":"token invalid","code":401,"botId":"bot-a"}}'],
    nobot403 => [403, $json, '{"success":false,"errResponse":'
        . '{"message":"permission denied","code":403}}'],
    leak401 => [401, $json, '{"success":false,"errResponse":{"message":'
        . '"bad token TOKEN-A for secret SECRET-A","code":401,'
        . '"botId":"bot-a"}}'],
    html500 => [500, 'text/html', '<h1>oops</h1>'],
    notjson404 => [404, 'text/plain', 'not json{'],
    detail404 => [404, $json, '{"detail":"no such tag"}'],
    error403 => [403, $json, '{"error":"forbidden here"}'],
    title409 => [409, 'application/problem+json',
        '{"title":"conflict title","status":409}'],
    message422 => [422, $json, '{"message":"bad thing","code":"E1"}'],
    leakmsg500 => [500, $json, '{"error":"SECRET-A leaked with TOKEN-A"}'],
    long500 => [500, $json, '{"message":"' . 'L' x 2000 . '"}'],
    gzip500 => [500, $json, "\x1f\x8b\x08\x00\x00garbage", 'gzip'],
    big500 => [500, $json, '{"message":"parsed"' . ' ' x 2000 . '}'],
    small500 => [500, $json, '{"message":"parsed"}'],
    ok201 => [201, 'text/plain', 'created, not json'],
);

$t->mock_responder(sub {
    my ($req) = @_;

    my ($name) = $req->{body} =~ /"name":"(\w+)"/;

    sleep 1 if ($name // '') eq 'slow';

    my $a = $answer{$name // ''} or return (200, [], 'default');
    my @h = ('Content-Type' => $a->[1]);
    push @h, 'Content-Encoding' => $a->[3] if $a->[3];

    return ($a->[0], \@h, $a->[2]);
});

$t->run();

###############################################################################

my $r;

# an upstream ErrorResponse

$r = call('valid401');
is($r->{status}, 401, 'upstream ErrorResponse: status kept');
is($r->{body}, $answer{valid401}[2], 'upstream ErrorResponse: body unchanged');
is_error_response($r, 401, 'bot-a', 'token invalid',
    'upstream ErrorResponse: headers right');

$r = call('nobot403');
is_error_response($r, 403, 'bot-a', 'permission denied',
    'upstream ErrorResponse without botId: botId filled in');

$r = call('leak401');
is_error_response($r, 401, 'bot-a',
    'bad token [redacted] for secret [redacted]',
    'upstream ErrorResponse: token and secret redacted');

# other error bodies are replaced

$r = call('html500');
is_error_response($r, 500, 'bot-a', 'Internal Server Error',
    'upstream HTML 500: reason phrase');
is($t->log_tail('rewritten.log'), '500 1', '$manta_error_rewritten 1');

$r = call('notjson404');
is_error_response($r, 404, 'bot-a', 'Not Found',
    'upstream text 404: reason phrase');

$r = call('detail404');
is_error_response($r, 404, 'bot-a', 'no such tag',
    'upstream JSON "detail": message');

$r = call('error403');
is_error_response($r, 403, 'bot-a', 'forbidden here',
    'upstream JSON "error": message');

$r = call('title409');
is_error_response($r, 409, 'bot-a', 'conflict title',
    'upstream problem+json "title": message');

$r = call('message422');
is_error_response($r, 422, 'bot-a', 'bad thing',
    'upstream JSON "message": message');

$r = call('leakmsg500');
is_error_response($r, 500, 'bot-a', '[redacted] leaked with [redacted]',
    'upstream JSON "error": token and secret redacted');

$r = call('long500');
is_error_response($r, 500, 'bot-a', undef,
    'upstream message of 2000 bytes: ErrorResponse');
my $m = eval { decode_json($r->{body})->{errResponse}{message} } // '';
ok(length $m > 0 && length $m <= 512 && $m =~ /^L+/,
    'upstream message of 2000 bytes: at most 512 bytes kept');

$r = call('gzip500');
is_error_response($r, 500, 'bot-a', 'Internal Server Error',
    'gzip-encoded upstream error: replaced, no Content-Encoding');

$r = call('big500', '/smallerr/clientTag');
is_error_response($r, 500, 'bot-a', 'Internal Server Error',
    'error body over manta_error_body_max: not parsed');

$r = call('small500', '/smallerr/clientTag');
is_error_response($r, 500, 'bot-a', 'parsed',
    'error body under manta_error_body_max: parsed');

# nginx's own errors

$r = call('any', '/down/clientTag');
is_error_response($r, 502, 'bot-a', 'Bad Gateway', 'upstream down: 502');

$r = call('slow', '/slow/clientTag');
is_error_response($r, 504, 'bot-a', 'Gateway Timeout',
    'upstream timeout: 504');

$r = $t->post('/tiny/clientTag?botId=bot-a', '{"name":"' . 'x' x 20 . '"}');
is_error_response($r, 413, '*', undef,
    'client_max_body_size: nginx 413 as ErrorResponse');
is($t->forwarded_body(), '0 requests forwarded',
    'client_max_body_size: nothing forwarded');

# untouched

$r = call('ok201');
is("$r->{status} $r->{headers}{'content-type'} $r->{body}",
    '201 text/plain created, not json', 'success response untouched');
is($t->log_tail('rewritten.log'), '201 0', '$manta_error_rewritten 0');

$r = call('html500', '/raw/clientTag');
is("$r->{status} $r->{headers}{'content-type'} $r->{body}",
    '500 text/html <h1>oops</h1>', 'manta_errors off: error untouched');

$t->done();

###############################################################################

sub call {
    my ($name, $location) = @_;
    return $t->post(($location // '/openapi/clientTag') . '?botId=bot-a',
        qq({"name":"$name"}));
}

###############################################################################
