#!/usr/bin/perl

# Tests for the errors a caller of ngx_http_manta_module sees (README
# "Errors the caller sees"): an upstream ErrorResponse passes byte
# for byte, or with the token and secret redacted and botId filled in; any
# other error body, the upstream's or nginx's own (502, 504, 413), becomes
# an ErrorResponse whose message comes from the upstream's
# message/error/detail/title or the reason phrase, whatever its media type,
# encoding, size, framing (chunked, many small pieces, spooled to a temp
# file) or buffering; the response has Content-Type application/json, the
# right Content-Length, no Content-Encoding, ETag, Last-Modified or
# Accept-Ranges, and upstream's other headers; success responses (also
# large, also unbuffered), locations without manta_endpoint and
# manta_errors off pass untouched.

###############################################################################

use warnings;
use strict;

use Test::More;

use Digest::SHA qw(sha256_hex);
use IO::Compress::Gzip qw(gzip $GzipError);
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use Time::HiRes qw(sleep time);

use FindBin;
use lib "$FindBin::Bin/lib";
use Manta::Test;

###############################################################################

my $t = Manta::Test->new()->write_config(<<'EOF');

%%MANTA_MAIN%%

http {
    %%HTTP_GLOBALS%%

    log_format  rewritten  '$http_x_seq $status $manta_error_rewritten';

    proxy_cache_path  %%TESTDIR%%/cache  keys_zone=errors:1m;

    %%MANTA_UPSTREAM%%

    server {
        %%MANTA_LISTEN%%

        access_log  %%TESTDIR%%/rewritten.log  rewritten;

        %%MANTA_CLIENT_TAG%%

        %%MANTA_TAG(/down/clientTag;
                    proxy_pass http://127.0.0.1:%%PORT_CLOSED%%/api)%%

        %%MANTA_TAG(/slow/clientTag; proxy_read_timeout 200ms)%%

        %%MANTA_TAG(/smallerr/clientTag; manta_error_body_max 1k)%%

        %%MANTA_TAG(/tiny/clientTag; client_max_body_size 10)%%

        %%MANTA_TAG(/raw/clientTag; manta_errors off)%%

        %%MANTA_TAG(/unbuffered/clientTag; proxy_buffering off)%%

        %%MANTA_TAG(/smallbuf/clientTag; manta_error_body_max 16k;
                    proxy_buffer_size 1k; proxy_buffers 2 1k;
                    proxy_busy_buffers_size 1k)%%

        # the filter takes every buffer at once, so the client is never
        # slow and small buffers alone never spool: a cacheable response
        # always goes through a temp file; with sendfile the copy filter
        # leaves its buffers in the file

        %%MANTA_TAG(/spool/clientTag; sendfile on; manta_error_body_max 16k;
                    proxy_buffer_size 1k; proxy_buffers 2 1k;
                    proxy_busy_buffers_size 1k; proxy_cache errors;
                    proxy_cache_methods POST; proxy_cache_valid any 1m)%%

        location = /plain/clientTag {
            proxy_pass  http://mock/api/openapi/clientTag;
        }
    }
}

EOF

$t->write_creds();

my $json = 'application/json';
my $go = $t->dir() . '/go';

my $gzipped;
gzip(\'{"message":"compressed message"}' => \$gzipped)
    or die "gzip: $GzipError\n";

# 1 MB that no filter would leave as it is by chance

my $big = pack('N*', map { ($_ * 2654435761 + 12345) % 4294967296 }
    0 .. 262143);

# what the mock answers, by the name forwarded: [status, [headers], body],
# or a code reference writing the response itself

my %answer = (
    valid401 => [401, [], '{ "success" : false, "errResponse" : { '
        . '"code" : 401, "message" : "token invalid", "botId" : "bot-a" } }'],
    nobot403 => [403, [], '{"success":false,"errResponse":'
        . '{"message":"permission denied","code":403}}'],
    leak401 => [401, [], '{"success":false,"errResponse":{"message":'
        . '"bad token TOKEN-A for secret SECRET-A","code":401,'
        . '"botId":"bot-a"}}'],
    html500 => [500, ['Content-Type' => 'text/html'], '<h1>oops</h1>'],
    empty503 => [503, ['Content-Type' => 'text/plain'], ''],
    notjson404 => [404, ['Content-Type' => 'text/plain'], 'not json{'],
    problem422 => [422, ['Content-Type' => 'application/problem+json'],
        '{"type":"about:blank","title":"Unprocessable Name",'
        . '"status":422,"detail":"name is not allowed here"}'],
    title409 => [409, ['Content-Type' => 'application/problem+json'],
        '{"title":"conflict title","status":409}'],
    error401 => [401, ['WWW-Authenticate' => 'Bearer realm="manta"'],
        '{"error":"invalid bearer token"}'],
    message422 => [422, [], '{"message":"bad thing","code":"E1"}'],
    leakmsg500 => [500, [], '{"error":"SECRET-A leaked with TOKEN-A"}'],
    long500 => [500, [], '{"message":"' . 'L' x 2000 . '"}'],
    busy429 => [429, ['Retry-After' => '7'], '{"message":"slow down"}'],
    gzip500 => [500, ['Content-Encoding' => 'gzip'], $gzipped],
    encoded500 => [500, ['Content-Encoding' => 'x-custom'],
        '{"message":"would be parsed"}'],
    big500 => [500, [], '{"message":"parsed"' . ' ' x 2000 . '}'],
    small500 => [500, [], '{"message":"parsed"}'],
    etag500 => [500, ['Content-Type' => 'text/html', 'ETag' => '"e-1"',
        'Last-Modified' => 'Mon, 01 Jan 2024 00:00:00 GMT',
        'Accept-Ranges' => 'bytes'], '<h1>cached oops</h1>'],
    spool500 => [500, [], '{"pad":"' . 'p' x 12000 . '",'
        . '"message":"read back from a temp file"}'],
    drip500 => sub {
        chunked(shift, 500, '{"message":"assembled from many chunks"}', 3,
            0.01);
    },
    dripbig500 => sub {
        chunked(shift, 500, '{"message":"parsed"' . ' ' x 2000 . '}', 100,
            0);
    },
    stream200 => sub {
        my ($c) = @_;
        print $c "HTTP/1.1 200 OK\r\nContent-Type: text/x-stream\r\n"
            . "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            . "a\r\nfirst-part\r\n";
        my $deadline = time() + 3;
        sleep 0.01 while !-e $go && time() < $deadline;
        print $c "b\r\nsecond-part\r\n0\r\n\r\n";
    },
    big200 => [200, ['Content-Type' => 'application/octet-stream'], $big],
    ok201 => [201, ['Content-Type' => 'text/plain'], 'created, not json'],
);

$t->mock_responder(sub {
    my ($req) = @_;

    my ($name) = $req->{body} =~ /"name":"(\w+)"/;

    sleep 1 if ($name // '') eq 'slow';

    my $a = $answer{$name // ''} or return (200, [], 'default');

    return ($a) if ref $a eq 'CODE';

    return ($a->[0], ['Content-Type' => $json, @{ $a->[1] }], $a->[2])
        unless grep { lc eq 'content-type' } @{ $a->[1] };

    return @$a;
});

$t->run();

###############################################################################

my $r;

# an upstream ErrorResponse

$r = call('valid401');
is_error_response($r, 401, 'bot-a', undef,
    'upstream ErrorResponse: status, shape and headers');
is($r->{body}, $answer{valid401}[2],
    'upstream ErrorResponse: passed byte for byte');
is($t->log_tail('rewritten.log'), '401 0',
    'upstream ErrorResponse passed: $manta_error_rewritten 0');

$r = call('nobot403');
is_error_response($r, 403, 'bot-a', 'permission denied',
    'upstream ErrorResponse without botId: botId filled in');
is($t->log_tail('rewritten.log'), '403 1',
    'botId filled in: $manta_error_rewritten 1');

$r = call('leak401');
is_error_response($r, 401, 'bot-a',
    'bad token [redacted] for secret [redacted]',
    'upstream ErrorResponse: token and secret redacted');
is($t->log_tail('rewritten.log'), '401 1',
    'token and secret redacted: $manta_error_rewritten 1');

# other error bodies are replaced

$r = call('html500');
is_error_response($r, 500, 'bot-a', 'Internal Server Error',
    'upstream HTML 500: reason phrase');
is($t->log_tail('rewritten.log'), '500 1',
    'upstream HTML 500: $manta_error_rewritten 1');

errors_are(
    [ 'empty503', undef, 503, 'Service Unavailable',
        'upstream empty 503: reason phrase' ],
    [ 'notjson404', undef, 404, 'Not Found',
        'upstream text/plain 404: reason phrase' ],
    [ 'problem422', undef, 422, 'name is not allowed here',
        'upstream problem+json 422: "detail" wins over "title"' ],
    [ 'title409', undef, 409, 'conflict title',
        'upstream problem+json "title" alone: message' ],
);

$r = call('error401');
is_error_response($r, 401, 'bot-a', 'invalid bearer token',
    'upstream JSON "error" 401: message');
is($r->{headers}{'www-authenticate'}, 'Bearer realm="manta"',
    'upstream JSON "error" 401: WWW-Authenticate passes');

errors_are(
    [ 'message422', undef, 422, 'bad thing',
        'upstream JSON "message": message' ],
    [ 'leakmsg500', undef, 500, '[redacted] leaked with [redacted]',
        'upstream JSON "error": token and secret redacted' ],
    [ 'long500', undef, 500, 'L' x 512,
        'upstream message of 2000 bytes: cut to 512 bytes' ],
);

$r = call('busy429');
is_error_response($r, 429, 'bot-a', 'slow down',
    'upstream 429: message');
is(join(',', map { defined $_ ? $_ : '-' }
    @{ $r->{headers} }{qw/retry-after ratelimit ratelimit-policy/}),
    '7,-,-', 'upstream 429: Retry-After passes, no RateLimit fields');

$r = call('after429');
is(join(' ', $r->{status}, scalar(my @seen = $t->mock_requests())), '200 1',
    'upstream 429 without manta_limit: next request forwarded');

errors_are(
    [ 'gzip500', undef, 500, 'Internal Server Error',
        'gzip-encoded upstream error: reason phrase, no Content-Encoding' ],
    [ 'encoded500', undef, 500, 'Internal Server Error',
        'encoded error body that reads as JSON: not parsed' ],
    [ 'big500', '/smallerr/clientTag', 500, 'Internal Server Error',
        'error body over manta_error_body_max: not parsed' ],
    [ 'dripbig500', '/smallerr/clientTag', 500, 'Internal Server Error',
        'chunked error body over manta_error_body_max: not parsed' ],
    [ 'small500', '/smallerr/clientTag', 500, 'parsed',
        'error body under manta_error_body_max: parsed' ],
    [ 'drip500', undef, 500, 'assembled from many chunks',
        'error body in many small chunks: parsed' ],
);

$r = call('etag500');
is_error_response($r, 500, 'bot-a', 'Internal Server Error',
    'upstream error with validators: ErrorResponse');
is(join(',', grep { exists $r->{headers}{$_} }
    qw/etag last-modified accept-ranges/), '',
    'upstream error: ETag, Last-Modified, Accept-Ranges removed');

# proxy_buffering off

errors_are(
    [ 'html500', '/unbuffered/clientTag', 500, 'Internal Server Error',
        'proxy_buffering off: upstream HTML 500 replaced' ],
    [ 'drip500', '/unbuffered/clientTag', 500, 'assembled from many chunks',
        'proxy_buffering off: error body in many small chunks parsed' ],
);

my ($early, $res) = stream('stream200', '/unbuffered/clientTag');
ok($early, 'proxy_buffering off: success streamed before upstream ends');
is($res && "$res->{status} $res->{headers}{'content-type'} $res->{body}",
    '200 text/x-stream first-partsecond-part',
    'proxy_buffering off: success untouched');

# an error body of 12k through 1k proxy buffers, then in a temp file

$r = call('spool500', '/smallbuf/clientTag');
is_error_response($r, 500, 'bot-a', 'read back from a temp file',
    'error body larger than all proxy buffers: parsed');

$r = call('spool500', '/spool/clientTag');
is_error_response($r, 500, 'bot-a', 'read back from a temp file',
    'error body spooled to a temp file: parsed');
like(join(' ', map { $t->read_file($_) // '' } cache_files()),
    qr/"message":"read back from a temp file"/,
    'error body spooled to a temp file: it was (now in the cache)');

# nginx's own errors

errors_are(
    [ 'any', '/down/clientTag', 502, 'Bad Gateway',
        'upstream down: 502' ],
    [ 'slow', '/slow/clientTag', 504, 'Gateway Timeout',
        'upstream timeout: 504' ],
);

$r = $t->post('/tiny/clientTag?botId=bot-a', '{"name":"' . 'x' x 20 . '"}');
is_error_response($r, 413, undef, 'Payload Too Large',
    'client_max_body_size: nginx 413 as ErrorResponse');
is($t->forwarded_body(), '0 requests forwarded',
    'client_max_body_size: nothing forwarded');

# HEAD: the module's 405, headers only

my $raw = $t->raw("HEAD /openapi/clientTag?botId=bot-a HTTP/1.1\r\n"
    . "Host: localhost\r\nConnection: close\r\n\r\n") // '';
my ($head, $rest) = split /\r\n\r\n/, $raw, 2;
$head //= '';
my $want = error_body('method not allowed: use POST', 405, undef);

like($head, qr{^HTTP/1\.1 405 }, 'HEAD: 405');
is(join(' ', map { $head =~ /^$_: ([^\r]*)/mi ? $1 : '-' }
    qw/Content-Type Content-Length Allow/),
    "application/json " . length($want) . ' POST',
    'HEAD: Content-Type, Content-Length of the ErrorResponse, Allow');
is($rest, '', 'HEAD: no body bytes');

# untouched

$r = call('ok201');
is("$r->{status} $r->{headers}{'content-type'} $r->{body}",
    '201 text/plain created, not json', 'success response untouched');
is($t->log_tail('rewritten.log'), '201 0', '$manta_error_rewritten 0');

$r = call('big200');
is(join(' ', $r->{status}, $r->{headers}{'content-type'},
    $r->{headers}{'content-length'} // '-', sha256_hex($r->{body})),
    "200 application/octet-stream 1048576 " . sha256_hex($big),
    '1 MB success response: byte for byte, own Content-Type');

$r = call('html500', '/plain/clientTag');
is("$r->{status} $r->{headers}{'content-type'} $r->{body}",
    '500 text/html <h1>oops</h1>', 'no manta_endpoint: error untouched');

$r = call('notjson404', '/plain/clientTag');
is("$r->{status} $r->{headers}{'content-type'} $r->{body}",
    '404 text/plain not json{', 'no manta_endpoint: 4xx untouched');

$r = call('html500', '/raw/clientTag');
is("$r->{status} $r->{headers}{'content-type'} $r->{body}",
    '500 text/html <h1>oops</h1>', 'manta_errors off: error untouched');
is($t->log_tail('rewritten.log'), '500 0',
    'manta_errors off: $manta_error_rewritten 0');

$t->done();

###############################################################################

# each [answer, location (undef: the default), status, message, test]: the
# caller gets an ErrorResponse with that status and message

sub errors_are {
    for my $c (@_) {
        my ($answer, $location, $status, $message, $test) = @$c;
        is_error_response(call($answer, $location), $status, 'bot-a',
            $message, $test);
    }
}

sub call {
    my ($name, $location) = @_;
    return $t->post(($location // '/openapi/clientTag') . '?botId=bot-a',
        qq({"name":"$name"}));
}

sub cache_files {
    my @files;
    my @dirs = ($t->dir() . '/cache');

    while (my $dir = shift @dirs) {
        opendir(my $dh, $dir) or next;
        for my $e (grep { !/^\.\.?$/ } readdir $dh) {
            -d "$dir/$e" ? push(@dirs, "$dir/$e") : push(@files, "$dir/$e");
        }
        closedir $dh;
    }

    return @files;
}

# In the mock: a chunked response, $size bytes per chunk, $delay apart.

sub chunked {
    my ($c, $status, $body, $size, $delay) = @_;

    print $c "HTTP/1.1 $status Error\r\nContent-Type: $json\r\n"
        . "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";

    for (my $i = 0; $i < length $body; $i += $size) {
        my $chunk = substr($body, $i, $size);
        printf $c "%x\r\n%s\r\n", length $chunk, $chunk;
        sleep $delay if $delay;
    }

    print $c "0\r\n\r\n";
}

# A request whose response upstream sends in two parts, the second once
# the test has created the file "go": (whether the first part reached the
# caller before that, the response).

sub stream {
    my ($name, $location) = @_;

    unlink $go;
    $t->mock_clear();

    my $body = qq({"name":"$name"});
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $t->port('8080'),
        Proto => 'tcp') or return (0, undef);
    binmode $s;

    print $s "POST $location?botId=bot-a HTTP/1.1\r\nHost: localhost\r\n"
        . "Content-Type: $json\r\nContent-Length: " . length($body) . "\r\n"
        . "Connection: close\r\n\r\n$body";

    my ($buf, $early) = ('', 0);
    my $sel = IO::Select->new($s);
    my $deadline = time() + 2;

    while (time() < $deadline && $sel->can_read($deadline - time())) {
        last unless sysread($s, $buf, 65536, length $buf);
        if ($buf =~ /first-part/) {
            $early = $buf !~ /second-part/;
            last;
        }
    }

    $t->write_file('go', '');

    $deadline = time() + 3;
    while ($sel->can_read($deadline - time())) {
        last unless sysread($s, $buf, 65536, length $buf);
    }

    close $s;

    return ($early, parse_response($buf, method => 'POST', eof => 1));
}

###############################################################################
