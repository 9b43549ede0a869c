#!/usr/bin/perl

# Tests for the hostile inputs a gateway meets, sent at ngx_http_manta_module
# (README "What a request goes through"): JSON nested 100k deep, 10k members,
# duplicate keys, numbers out of range, every class of invalid UTF-8 and NUL
# in the name, CR/LF in the botId raw and percent-encoded, repeated and NUL
# botIds, Content-Length with Transfer-Encoding, bodies shorter or longer than
# their Content-Length, clients that vanish or stall mid-body, pipelined
# requests after rejections.  Each case gets its documented answer (the
# module's ErrorResponse, or nginx's own 400 when the request is malformed
# before a location is chosen), nothing reaches upstream that should not,
# and the one worker survives them all (same pid, no alert or signal in
# error.log).

###############################################################################

use warnings;
use strict;

use Test::More;

use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(sleep time);

use FindBin;
use lib "$FindBin::Bin/lib";
use Manta::Test;

###############################################################################

my $t = Manta::Test->new()->write_config(<<'EOF');

%%MANTA_MAIN%%

worker_processes  1;

http {
    %%MANTA_HTTP%%

    log_format  pid  '$http_x_seq $pid';

    server {
        %%MANTA_SERVER%%
        access_log  %%TESTDIR%%/pid.log    pid;

        # big enough for the hostile bodies to reach the JSON parser

        %%MANTA_TAG(/openapi/clientTag; manta_body_max_size 1m;
                    client_max_body_size 2m)%%

        %%MANTA_TAG(/drop/clientTag; manta_body_max_size 1m;
                    client_max_body_size 2m; manta_unknown_fields drop)%%

        %%MANTA_TAG(/slow/clientTag; client_body_timeout 1s)%%
    }
}

EOF

$t->write_creds();

$t->run();

###############################################################################

my $ep = '/openapi/clientTag?botId=bot-a';
my $head = "POST $ep HTTP/1.1\r\nHost: localhost\r\n"
    . "Content-Type: application/json\r\n";
my $x = '{"secret":"SECRET-A","name":"x"}';
my $default = $Manta::Mock::DEFAULT_BODY;
my $html400 = qr{<head><title>400 Bad Request</title></head>};
my $scale = $Manta::Test::SCALE // 1;

my ($worker) = $t->workers();
my ($r, $seq, @r, $buf, $closed, $took);

ok($worker && $t->workers() == 1, 'one worker to watch');

# JSON nested 100k deep: jansson stops at its depth limit

$r = $t->post($ep, '[' x 100000);
$t->is_rejected($r, 'invalid_json', 'bot-a', "100k '['");
survived("100k '['");

$r = $t->post($ep, ('[' x 100000) . (']' x 100000));
$t->is_rejected($r, 'invalid_json', 'bot-a', "100k '[' closed by 100k ']'");
survived("100k '[' ']'");

$r = $t->post($ep, '{"name":"x","a":' . ('{"a":' x 100000));
$t->is_rejected($r, 'invalid_json', 'bot-a', '100k nested objects');
survived('100k nested objects');

$r = $t->post($ep, '{"name":"x","a":' . ('[' x 2047) . (']' x 2047) . '}');
$t->is_rejected($r, 'unknown_field', 'bot-a',
    'depth 2048: parsed, the member rejected');

$r = $t->post($ep, '{"name":"x","a":' . ('[' x 2048) . (']' x 2048) . '}');
$t->is_rejected($r, 'invalid_json', 'bot-a',
    'depth 2049: over the parser limit');
survived('nesting at the depth limit');

# 10k members, duplicate keys

my $many = '{' . join(',', map { qq("a$_":1) } 0 .. 9999);

$r = $t->post($ep, $many . ',"name":"x"}');
$t->is_rejected($r, 'unknown_field', 'bot-a', '10k members');
survived('10k members');

$r = $t->post($ep, $many . ',"name":"x","a9999":2}');
$t->is_rejected($r, 'invalid_json', 'bot-a', '10k members, the last repeated');

$r = $t->post($ep, $many . ',"name":"x","name":"y"}');
$t->is_rejected($r, 'invalid_json', 'bot-a', '10k members, name twice');

$r = $t->post($ep, '{"name":"x","name":"y"}');
$t->is_rejected($r, 'invalid_json', 'bot-a', 'name twice');

$r = $t->post($ep, '{"name":"x","name":"x"}');
$t->is_rejected($r, 'invalid_json', 'bot-a', 'name twice, same value');

$r = $t->post($ep, '{"name":"x","n\u0061me":"y"}');
$t->is_rejected($r, 'invalid_json', 'bot-a', 'name twice, once escaped');
survived('duplicate keys');

$r = $t->post('/drop/clientTag?botId=bot-a', $many . ',"name":"x"}');
is($r->{status}, 200, '10k members, manta_unknown_fields drop: forwarded');
is($t->forwarded_body(), $x,
    '10k members, manta_unknown_fields drop: forwarded once, rebuilt');
survived('10k members dropped');

# numbers out of range: rejected by the parser, wherever they are

$r = $t->post($ep, '{"name":"x","n":1e999999}');
$t->is_rejected($r, 'invalid_json', 'bot-a', 'member 1e999999');

$r = $t->post($ep, '{"name":"x","n":-1e999999}');
$t->is_rejected($r, 'invalid_json', 'bot-a', 'member -1e999999');

$r = $t->post($ep, '{"name":"x","n":123456789012345678901234567890}');
$t->is_rejected($r, 'invalid_json', 'bot-a', 'member of 30 digits');

$r = $t->post($ep, '{"name":1e999999}');
$t->is_rejected($r, 'invalid_json', 'bot-a', 'name 1e999999');

$r = $t->post($ep, '{"name":123456789012345678901234567890}');
$t->is_rejected($r, 'invalid_json', 'bot-a', 'name of 30 digits');

$r = $t->post($ep, '{"name":1e308}');
$t->is_rejected($r, 'invalid_name', 'bot-a', 'name 1e308: a number in range');
survived('huge numbers');

# invalid UTF-8 in the name, every class

my %utf8 = (
    'overlong C0 AF'             => "\xc0\xaf",
    'overlong E0 80 AF'          => "\xe0\x80\xaf",
    'surrogate ED A0 80'         => "\xed\xa0\x80",
    'truncated E3 80'            => "\xe3\x80",
    'truncated at the end F0 9F' => "\xf0\x9f",
    'over U+10FFFF F4 90 80 80'  => "\xf4\x90\x80\x80",
    'lone continuation 80'       => "\x80",
    'FF'                         => "\xff",
    'five bytes F8 88 80 80 80'  => "\xf8\x88\x80\x80\x80",
);

for my $class (sort keys %utf8) {
    my $bad = $utf8{$class};
    my $end = $class =~ /at the end/;

    $r = $t->post($ep, $end ? qq({"name":"ab$bad) : qq({"name":"a${bad}b"}));
    $t->is_rejected($r, 'invalid_json', 'bot-a', "name with $class");
}

$r = $t->post($ep, qq({"name":"x","c\xc0\xaf":1}));
$t->is_rejected($r, 'invalid_json', 'bot-a', 'member name with C0 AF');
survived('invalid UTF-8');

# NUL in the name, escaped or raw; an escaped lone surrogate

$r = $t->post($ep, '{"name":"a\u0000b"}');
$t->is_rejected($r, 'invalid_json', 'bot-a', 'name with \u0000');

$r = $t->post($ep, '{"name":"\u0000"}');
$t->is_rejected($r, 'invalid_json', 'bot-a', 'name \u0000 alone');

$r = $t->post($ep, "{\"name\":\"a\x00b\"}");
$t->is_rejected($r, 'invalid_json', 'bot-a', 'name with a raw NUL byte');

$r = $t->post($ep, '{"name":"a\ud800b"}');
$t->is_rejected($r, 'invalid_json', 'bot-a', 'name with \ud800');

$r = $t->post($ep, '{"name":"a\udc00b"}');
$t->is_rejected($r, 'invalid_json', 'bot-a', 'name with \udc00');

$r = $t->post($ep, "{\"name\":\"x\"}\x00");
$t->is_rejected($r, 'invalid_json', 'bot-a', 'NUL after the object');
survived('NUL');

# a name of 900k characters: parsed, too long

$r = $t->post($ep, '{"name":"' . 'n' x 900000 . '"}');
$t->is_rejected($r, 'invalid_name', 'bot-a', 'name of 900k characters');
survived('name of 900k characters');

# CR/LF in the botId, raw: the request line is malformed, nginx answers
# before any location is chosen, so this is nginx's own 400, not an
# ErrorResponse; a bare LF ends the request line (an HTTP/0.9 POST: the
# answer has no status line)

$t->mock_clear();
($buf, $closed) = talk("POST /openapi/clientTag?botId=bot\na HTTP/1.1\r\n"
    . "Host: localhost\r\nContent-Type: application/json\r\n"
    . "Content-Length: 12\r\n\r\n{\"name\":\"x\"}");
like($buf, qr/\A<html>\r?\n$html400/, 'raw LF in botId: HTTP/0.9 400 page');
unlike($buf, qr{HTTP/1}, 'raw LF in botId: no status line, no headers');
ok($closed, 'raw LF in botId: connection closed');
is($t->forwarded_body(), '0 requests forwarded',
    'raw LF in botId: nothing forwarded');
survived('raw LF in botId');

$t->mock_clear();
($buf, $closed) = talk("POST /openapi/clientTag?botId=bot\r\na HTTP/1.1\r\n"
    . "Host: localhost\r\nContent-Type: application/json\r\n"
    . "Content-Length: 12\r\n\r\n{\"name\":\"x\"}");
like($buf, qr/\A<html>\r?\n$html400/, 'raw CRLF in botId: HTTP/0.9 400 page');
ok($closed, 'raw CRLF in botId: connection closed');
is($t->forwarded_body(), '0 requests forwarded',
    'raw CRLF in botId: nothing forwarded');
survived('raw CRLF in botId');

$t->mock_clear();
($buf, $closed) = talk("POST /openapi/clientTag?botId=bot\ra HTTP/1.1\r\n"
    . "Host: localhost\r\nContent-Type: application/json\r\n"
    . "Content-Length: 12\r\n\r\n{\"name\":\"x\"}");
$r = parse_response($buf, method => 'POST', eof => 1);
is($r && $r->{status}, 400, 'raw CR in botId: 400');
like($r && $r->{body}, $html400, "raw CR in botId: nginx's own page");
is($r && $r->{headers}{'content-type'}, 'text/html',
    'raw CR in botId: text/html, no location chosen to rewrite it');
is($r && $r->{headers}{connection}, 'close',
    'raw CR in botId: Connection: close');
ok($closed, 'raw CR in botId: connection closed');
is($t->forwarded_body(), '0 requests forwarded',
    'raw CR in botId: nothing forwarded');
survived('raw CR in botId');

# CR/LF in the botId, percent-encoded: bad_bot_id; elsewhere in the query:
# dropped, the forwarded request line is the canonical one

for my $q ('bot-a%0D%0A', 'bot-a%0D%0AX-Injected:%201', 'bot-a%0A', 'bot-a%0D',
    '%0D%0Abot-a', 'bot%0Aa')
{
    $r = $t->post("/openapi/clientTag?botId=$q", '{"name":"x"}');
    $t->is_rejected($r, 'bad_bot_id', undef, "botId=$q");
}

$r = $t->post("$ep&x=%0D%0AX-Injected:%201%0D%0A", '{"name":"x"}');
@r = $t->mock_requests();
is($r->{status}, 200, 'CR LF in another argument: forwarded');
is(join('|', map { "$_->{method} $_->{uri}" } @r),
    'POST /api/openapi/clientTag?botId=bot-a',
    'CR LF in another argument: dropped from the request line');
is(scalar(grep { lc $_->[0] eq 'x-injected' } map { @{ $_->{headers} } } @r),
    0, 'CR LF in another argument: no header injected');
survived('percent-encoded CR LF');

# botId repeated, with NUL

for my $q ('botId=bot-a&botId=bot-a', 'botId=bot-a&botId=',
    'botId=&botId=bot-a',
    'botId=bot-a%00', 'botId=%00bot-a', 'botId=bot-a%00&botId=bot-a',
    'botId=bot-a;botId=bot-b')
{
    $r = $t->post("/openapi/clientTag?$q", '{"name":"x"}');
    $t->is_rejected($r, 'bad_bot_id', undef, $q);
}

survived('botId repeated or with NUL');

# Content-Length and Transfer-Encoding together: nginx's own 400 while
# reading the headers, before any location is chosen

$t->mock_clear();
$seq = $t->next_seq();
($buf, $closed) = talk("${head}X-Seq: $seq\r\nContent-Length: 12\r\n"
    . "Transfer-Encoding: chunked\r\n\r\nc\r\n{\"name\":\"x\"}\r\n0\r\n\r\n");
$r = parse_response($buf, method => 'POST', eof => 1);
is($r && $r->{status}, 400, 'Content-Length with chunked: 400');
like($r && $r->{body}, $html400, "Content-Length with chunked: nginx's page");
is($r && $r->{headers}{connection}, 'close',
    'Content-Length with chunked: Connection: close');
ok($closed, 'Content-Length with chunked: connection closed');
is($t->forwarded_body(), '0 requests forwarded',
    'Content-Length with chunked: nothing forwarded');
like($t->log_tail('manta.log', $seq) // '', qr/^400 - - -$/,
    'Content-Length with chunked: logged 400, the module never ran');
survived('Content-Length with chunked');

$t->mock_clear();
($buf, $closed) = talk("${head}Transfer-Encoding: chunked\r\n"
    . "Content-Length: 5\r\n\r\nc\r\n{\"name\":\"x\"}\r\n0\r\n\r\n");
$r = parse_response($buf, method => 'POST', eof => 1);
is($r && $r->{status}, 400, 'chunked then Content-Length: 400');
ok($closed, 'chunked then Content-Length: connection closed');
is($t->forwarded_body(), '0 requests forwarded',
    'chunked then Content-Length: nothing forwarded');

# a malformed chunk size: nginx's 400 while the module reads the body, in
# the location: rewritten into an ErrorResponse with the validated botId

$t->mock_clear();
($buf, $closed) = talk("${head}Transfer-Encoding: chunked\r\n\r\n"
    . "zz\r\n{\"name\":\"x\"}\r\n0\r\n\r\n");
$r = parse_response($buf, method => 'POST', eof => 1);
is_error_response($r, 400, 'bot-a', 'Bad Request',
    'malformed chunk size: ErrorResponse 400 Bad Request');
ok($closed, 'malformed chunk size: connection closed');
is($t->forwarded_body(), '0 requests forwarded',
    'malformed chunk size: nothing forwarded');
survived('malformed chunk size');

# over client_max_body_size: nginx's 413 before the module runs, rewritten,
# no botId (not yet validated)

$t->mock_clear();
($buf) = talk("${head}Content-Length: 3000000\r\n\r\n{\"name\":",
    complete => 1);
$r = parse_response($buf, method => 'POST');
is_error_response($r, 413, undef, 'Payload Too Large',
    'over client_max_body_size: ErrorResponse 413');
is($r && $r->{headers}{connection}, 'close',
    'over client_max_body_size: Connection: close');
is($t->forwarded_body(), '0 requests forwarded',
    'over client_max_body_size: nothing forwarded');
survived('over client_max_body_size');

# body shorter than its Content-Length, then the client closes its side

$t->mock_clear();
$seq = $t->next_seq();
($buf, $closed) = talk("${head}X-Seq: $seq\r\nContent-Length: 100\r\n\r\n"
    . '{"name":"x"}', shutdown => 1);
is($buf, '', 'short body, client shuts down: no answer');
ok($closed, 'short body, client shuts down: connection closed');
like($t->log_tail('manta.log', $seq) // '', qr/^400 - bot-a /,
    'short body, client shuts down: logged 400, not a rejection');
is($t->forwarded_body(), '0 requests forwarded',
    'short body, client shuts down: nothing forwarded');
survived('short body');

# a client that disconnects mid-body, Content-Length or chunked

$t->mock_clear();
$seq = $t->next_seq();
talk("${head}X-Seq: $seq\r\nContent-Length: 100\r\n\r\n{\"na", close => 1);
like($t->log_tail('manta.log', $seq) // '', qr/^400 - bot-a /,
    'disconnect mid-body: logged 400, not a rejection');
is($t->forwarded_body(), '0 requests forwarded',
    'disconnect mid-body: nothing forwarded');
survived('disconnect mid-body');

$t->mock_clear();
$seq = $t->next_seq();
talk("${head}X-Seq: $seq\r\nTransfer-Encoding: chunked\r\n\r\n"
    . "c\r\n{\"name\"", close => 1);
like($t->log_tail('manta.log', $seq) // '', qr/^400 - bot-a /,
    'disconnect mid-chunk: logged 400, not a rejection');
is($t->forwarded_body(), '0 requests forwarded',
    'disconnect mid-chunk: nothing forwarded');
survived('disconnect mid-chunk');

# a disconnect while a rejected request's body is being discarded

$t->mock_clear();
$seq = $t->next_seq();
talk("POST $ep HTTP/1.1\r\nHost: localhost\r\nX-Seq: $seq\r\n"
    . "Content-Type: text/plain\r\nContent-Length: 1000\r\n\r\n{\"na",
    close => 1);
like($t->log_tail('manta.log', $seq) // '', qr/^415 unsupported_media_type - /,
    'disconnect while discarding: logged as the rejection');
is($t->forwarded_body(), '0 requests forwarded',
    'disconnect while discarding: nothing forwarded');
survived('disconnect while discarding');

# a slow client: client_body_timeout 1s, nginx's 408 closes without an answer

$t->mock_clear();
$seq = $t->next_seq();
($buf, $closed, $took) = talk("POST /slow/clientTag?botId=bot-a HTTP/1.1\r\n"
    . "Host: localhost\r\nX-Seq: $seq\r\nContent-Type: application/json\r\n"
    . "Content-Length: 100\r\n\r\n{\"name\":\"x\"", timeout => 5 * $scale);
is($buf, '', 'slow body: no answer');
ok($closed, 'slow body: connection closed by nginx');
cmp_ok($took, '>=', 0.9, 'slow body: after client_body_timeout 1s');
cmp_ok($took, '<', 3 * $scale, 'slow body: ... not much later');
like($t->log_tail('manta.log', $seq) // '', qr/^408 - bot-a /,
    'slow body: logged 408, not a rejection');
is($t->forwarded_body(), '0 requests forwarded',
    'slow body: nothing forwarded');
survived('slow body');

# body longer than its Content-Length: the rest is the next request

$t->mock_clear();
($buf, $closed) = talk("${head}Content-Length: 12\r\n\r\n"
    . "{\"name\":\"x\"}GARBAGE\r\n\r\n");
($r, my $used) = parse_response($buf, method => 'POST');
is($r && $r->{status}, 200, 'extra bytes after the body: first answered 200');
is($r && $r->{body}, $default, 'extra bytes after the body: mock\'s answer');
$r = parse_response(substr($buf, $used // 0), method => 'POST', eof => 1);
is($r && $r->{status}, 400, 'extra bytes: taken as a request, nginx\'s 400');
like($r && $r->{body}, $html400,
    'extra bytes: malformed before a location: nginx\'s own page');
ok($closed, 'extra bytes: connection closed after the 400');
is($t->forwarded_body(), $x,
    'extra bytes: only the first forwarded, with its 12 bytes');
survived('extra bytes');

$t->mock_clear();
my $s = connect_8080();
write_all($s, "${head}Content-Length: 12\r\n\r\n{\"name\":\"x\"}"
    . "GET $ep HTTP/1.1\r\nHost: localhost\r\n\r\n");
@r = read_responses($s, 2, 'POST', 'GET');
is($r[0] && $r[0]{status}, 200, 'smuggled GET after the body: first 200');
is_error_response($r[1], 405, undef, 'method not allowed: use POST',
    'smuggled GET after the body: answered as a request of its own, 405');
write_all($s, "${head}Content-Length: 16\r\n\r\n{\"name\":\"third\"}");
@r = read_responses($s, 1, 'POST');
is($r[0] && $r[0]{status}, 200,
    'smuggled GET: the connection stays usable, third request 200');
close $s;
@r = $t->mock_requests();
is(join('|', map { $_->{body} } @r),
    "$x|" . '{"secret":"SECRET-A","name":"third"}',
    'smuggled GET: the first and third forwarded, nothing of the GET');
survived('smuggled GET');

# pipelined: rejected with a body, valid, rejected; in one write

my $valid = ['POST', $ep, body => '{"name":"second"}',
    headers => ['Content-Type' => 'application/json']];
my $second = '{"secret":"SECRET-A","name":"second"}';

$t->mock_clear();
@r = $t->keepalive([
    ['POST', $ep, body => '{"name":"first"}',
        headers => ['Content-Type' => 'text/plain']],
    $valid,
    ['POST', $ep, body => '{"name":"third","x":1}',
        headers => ['Content-Type' => 'application/json']],
], pipeline => 1);

is(join(' ', map { $_ ? $_->{status} : 'none' } @r[0 .. 2]), '415 200 400',
    'pipelined 415, valid, 400: three answers in order');
is_error_response($r[0], 415, undef, 'Content-Type must be application/json',
    'pipelined: first is the 415 ErrorResponse');
is($r[1] && $r[1]{body}, $default, 'pipelined: second is the mock\'s answer');
is_error_response($r[2], 400, 'bot-a', 'unknown member "x"',
    'pipelined: third is the unknown_field ErrorResponse');
is($t->forwarded_body(), $second, 'pipelined: the valid one forwarded once');

$t->mock_clear();
@r = $t->keepalive([
    ['GET', $ep, body => '[' x 5000,
        headers => ['Content-Type' => 'application/json']],
    $valid,
    ['POST', '/openapi/clientTag?botId=a%0D%0Ab', chunks => ['{"na', 'me":1}'],
        headers => ['Content-Type' => 'application/json']],
    $valid,
], pipeline => 1);

is(join(' ', map { $_ ? $_->{status} : 'none' } @r[0 .. 3]),
    '405 200 400 200', 'pipelined 405, valid, chunked 400, valid: in order');
is_error_response($r[2], 400, undef,
    'botId query argument is missing or invalid',
    'pipelined: the chunked one is the bad_bot_id ErrorResponse');
is(join('|', map { $_->{body} } $t->mock_requests()), "$second|$second",
    'pipelined: each valid one forwarded exactly once');
survived('pipelined');

# still serving

$r = $t->post($ep, '{"name":"x"}');
is($r->{status}, 200, 'after all: a valid request answered 200');
is($t->forwarded_body(), $x, 'after all: forwarded once');
survived('the end');

$t->done();

###############################################################################

# The one worker is the one there was at the start, and every request so far
# was logged by it.

sub survived {
    my ($name) = @_;

    local $Test::Builder::Level = $Test::Builder::Level + 1;

    my @lines = $t->log_lines('pid.log');

    is(join(',', $t->workers()), $worker, "$name: the worker is alive");
    is(join(',', grep { !/ $worker$/ } @lines), '',
        "$name: every request served by that worker");
}

sub connect_8080 {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $t->port('8080'),
        Proto => 'tcp', Timeout => 5 * $scale) or die "connect: $@\n";
    binmode $s;
    return $s;
}

sub write_all {
    return Manta::Test::write_all(@_);
}

# Sends $bytes on a new connection; close => 1: closes at once after a
# pause, shutdown => 1: shuts down the write side; reads until nginx closes
# (or the timeout, or with complete => 1 until a whole response is read).
# Returns (bytes read, closed by nginx, seconds taken).

sub talk {
    my ($bytes, %o) = @_;

    my $s = connect_8080();
    write_all($s, $bytes);

    if ($o{close}) {
        sleep 0.2;
        close $s;
        return ('', 1, 0);
    }

    shutdown($s, 1) if $o{shutdown};

    my ($buf, $closed, $start) = ('', 0, time());
    my $deadline = $start + ($o{timeout} // 5 * $scale);
    my $sel = IO::Select->new($s);

    while (time() < $deadline) {
        last unless $sel->can_read($deadline - time());
        my $n = sysread($s, $buf, 65536, length $buf);
        if (!$n) {
            $closed = 1;
            last;
        }
        last if $o{complete} && parse_response($buf, method => 'POST');
    }

    my $took = time() - $start;
    close $s;

    return ($buf, $closed, $took);
}

# $n responses from $s (for requests of the given methods), or fewer.

sub read_responses {
    my ($s, $n, @methods) = @_;

    my ($buf, @res) = ('');
    my $deadline = time() + 5 * $scale;
    my $sel = IO::Select->new($s);

    while (@res < $n && time() < $deadline) {
        my ($res, $used) = parse_response($buf, method => $methods[@res]);

        if ($res) {
            push @res, $res;
            substr($buf, 0, $used) = '';
            next;
        }

        last unless $sel->can_read($deadline - time());
        last unless sysread($s, $buf, 65536, length $buf);
    }

    return @res;
}

###############################################################################
