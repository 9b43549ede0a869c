#!/usr/bin/perl

# Tests for what a hostile or broken upstream can do to the caller of
# ngx_http_manta_module (README "Security: what upstream cannot do"): an
# upstream 1xx (103, 100, 101, 099), an HTTP/0.9 answer or an encoded
# success body is answered 502 ErrorResponse, over HTTP/1.1 keep-alive and
# HTTP/2, and the upstream connection is not reused (no planted second
# response); no header holding the token or the secret is passed (on any
# status, reason phrase and Content-Type included) nor logged through
# $sent_http_* / $upstream_http_*; success bodies are masked byte for byte
# with '*' wherever the token or the secret appears, also split over TCP
# writes, buffered or not, chunked or not, in large bodies and in bodies
# spooled to a temp file; a digits-only secret as a JSON number in an error
# body is redacted; an error body that breaks off (reset, early close, read
# timeout, bad chunked framing) gives a complete 502 ErrorResponse.

###############################################################################

use warnings;
use strict;

use Test::More;

use Digest::SHA qw(sha256_hex);
use JSON::PP;
use IO::Select;
use Socket qw(SOL_SOCKET SO_LINGER);
use Time::HiRes qw(sleep time);

use FindBin;
use lib "$FindBin::Bin/lib";
use Manta::Test;

###############################################################################

my $t = Manta::Test->new()->write_config(<<'EOF');

%%MANTA_MAIN%%

worker_processes  1;

http {
    %%HTTP_GLOBALS%%

    log_format  seen  '$http_x_seq $status x=$sent_http_x_debug '
                      'ux=$upstream_http_x_debug l=$sent_http_location '
                      'ul=$upstream_http_location '
                      'uw=$upstream_http_www_authenticate '
                      'uc=$upstream_http_set_cookie ct=$sent_http_content_type';

    proxy_cache_path  %%TESTDIR%%/cache  keys_zone=spool:1m;

    %%MANTA_UPSTREAM%%

    upstream kept {
        server     127.0.0.1:%%PORT_MOCK%%;
        keepalive  4;
    }

    server {
        listen       127.0.0.1:%%PORT_8080%%;
        listen       127.0.0.1:%%PORT_H2%% http2;
        server_name  localhost;

        access_log  %%TESTDIR%%/seen.log  seen;

        %%MANTA_CLIENT_TAG%%

        # a Location built by nginx, not copied from the upstream's bytes

        %%MANTA_TAG(/redirect/clientTag;
                    proxy_redirect /cb/  /SECRET-A-fedcba9876543210/)%%

        # nginx rewrites these in place (a replacement no longer than what
        # it replaces): the bytes change, the pointers to them do not

        location = /inplace/clientTag {
            manta_endpoint     client_tag;
            proxy_redirect     /cb/0123456789abcdefghijklmnopqrstuv/
                               /SECRET-A-fedc;
            proxy_cookie_path  /p/0123456789abcdefghijklmnopqrstuv/
                               /SECRET-A-fedc;
            proxy_pass         http://mock/api/openapi/clientTag;
        }

        # the range filter adds part headers to a body of known length

        %%MANTA_TAG(/ranges/clientTag; proxy_force_ranges on)%%

        %%MANTA_TAG(/unbuffered/clientTag; proxy_buffering off)%%

        %%MANTA_TAG(/kept/clientTag; proxy_http_version 1.1;
                    proxy_set_header Connection "";
                    proxy_pass http://kept/api/openapi/clientTag)%%

        %%MANTA_TAG(/timeout/clientTag; proxy_read_timeout 1s)%%

        %%MANTA_TAG(/timeout-unbuffered/clientTag; proxy_buffering off;
                    proxy_read_timeout 1s)%%

        # a cacheable response always goes through a temp file, read back
        # in small buffers

        %%MANTA_TAG(/spool/clientTag; sendfile on; proxy_buffer_size 1k;
                    proxy_buffers 2 1k; proxy_busy_buffers_size 1k;
                    proxy_max_temp_file_size 1m; proxy_cache spool;
                    proxy_cache_key $request_id; proxy_cache_methods POST;
                    proxy_cache_valid any 1m)%%
    }
}

EOF

my $TOKEN = 'TOKEN-A-0123456789abcdef';
my $SECRET = 'SECRET-A-fedcba9876543210';
my $DIGITS = '20240531987';

$t->write_creds({%Manta::Test::CREDS, bots => {
    'bot-a' => {token => $TOKEN, secret => $SECRET},
    'bot-d' => {token => 'TOKEN-D-0123456789', secret => "$DIGITS"}}});

my $json = 'application/json';
my $ok = '{"success":true,"message":"client tag created"}';

# 1 MB with the token and the secret at and across 4k and 8k boundaries

my $big = 'b' x (1 << 20);
my @at = (0, 100, 4090, 8185, 16380, 65530, 500000, (1 << 20) - 30);

for my $i (0 .. $#at) {
    my $v = $i % 2 ? $SECRET : $TOKEN;
    substr($big, $at[$i], length $v) = $v;
}

(my $big_masked = $big) =~ s/\Q$TOKEN\E|\Q$SECRET\E/'*' x length $&/ge;

my $spoken = "head $TOKEN mid $SECRET tail";
(my $spoken_masked = $spoken) =~ s/\Q$TOKEN\E|\Q$SECRET\E/'*' x length $&/ge;

my %answer = (

    # item 1: interim and HTTP/0.9 answers

    early103 => \("HTTP/1.1 103 Early Hints\r\nLink: </style.css>\r\n\r\n"
        . "HTTP/1.1 500 Oops\r\nContent-Type: $json\r\nContent-Length: "
        . length(qq({"message":"$SECRET"})) . "\r\n\r\n"
        . qq({"message":"$SECRET"})),
    cont100 => \("HTTP/1.1 100 Continue\r\n\r\n"
        . "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nPLANTED"),
    switch101 => \("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n"
        . "Connection: upgrade\r\n\r\nraw tunnel $SECRET"),
    status099 => \("HTTP/1.1 099 Odd\r\nContent-Length: 0\r\n\r\n"),
    garbage => \("garbage without a status line $SECRET\r\n\r\n"
        . "HTTP/1.1 200 OK\r\n\r\nPLANTED"),
    gzip200 => [200, ['Content-Type' => $json, 'Content-Encoding' => 'gzip'],
        "\x1f\x8b not really"],

    # an upstream keep-alive connection: a 100 with an empty body, then a
    # second response planted as the answer to the next request sent on
    # the connection

    plant100 => sub {
        my ($c) = @_;
        print $c "HTTP/1.1 100 Continue\r\nContent-Length: 0\r\n\r\n";
        my $buf = '';
        return unless IO::Select->new($c)->can_read(3)
            && sysread($c, $buf, 65536);
        print $c "HTTP/1.1 200 OK\r\nContent-Type: $json\r\n"
            . "Content-Length: 7\r\n\r\nPLANTED";
        sleep 0.5;
    },

    # item 2: headers

    www401 => [401, ['WWW-Authenticate' => qq(Bearer realm="x", token="$TOKEN"),
        'X-Debug' => "secret=$SECRET", 'Set-Cookie' => "s=$SECRET; Path=/",
        'X-Fine' => 'kept'],
        '{"success":false,"errResponse":{"message":"token invalid",'
        . '"code":401,"botId":"bot-a"}}'],
    debug200 => [200, ['Content-Type' => 'text/plain', 'X-Debug' => $TOKEN,
        'X-Fine' => 'kept'], 'fine'],
    redirect302 => [302, ['Location' =>
        "https://elsewhere.example/cb?auth=Bearer%20$TOKEN",
        'Content-Type' => 'text/plain'], ''],
    relative302 => [302, ['Location' => "/cb?auth=Bearer $TOKEN",
        'Content-Type' => 'text/plain'], ''],
    rewritten302 => [302, ['Location' => '/cb/next',
        'Content-Type' => 'text/plain'], ''],
    phrase200 => \("HTTP/1.1 200 Here $SECRET\r\nContent-Type: text/plain\r\n"
        . "Content-Length: 2\r\nConnection: close\r\n\r\nok"),
    type200 => [200, ['Content-Type' => "text/plain; t=$TOKEN"], 'typed'],

    # review: values nginx rewrites in place into the secret, from
    # upstream bytes that hold neither value

    inplace302 => [302, ['Location' =>
        '/cb/0123456789abcdefghijklmnopqrstuv/ba9876543210',
        'Refresh' => '5; url=/cb/0123456789abcdefghijklmnopqrstuv/ba9876543210',
        'Set-Cookie' =>
            's=1; Path=/p/0123456789abcdefghijklmnopqrstuv/ba9876543210',
        'Content-Type' => 'text/plain'], ''],

    # review: the secret \u-escaped in error bodies (the tokenizer's fast
    # path): the caller's JSON decoder would spell it out

    escmsg403 => [403, ['Content-Type' => $json],
        '{"success":false,"errResponse":{"message":"\\u0053ECRET-A-fedcba'
        . '9876543210","code":403,"botId":"bot-a"}}'],
    escextra403 => [403, ['Content-Type' => $json],
        '{"success":false,"errResponse":{"message":"m","code":403,'
        . '"botId":"bot-a"},"extra":["x\\u0053ECRET-A-fedcba987654321'
        . '\\u0030"]}'],
    escbot403 => [403, ['Content-Type' => $json],
        '{"success":false,"errResponse":{"message":"m","code":403,'
        . '"botId":"SECRET-A-fedcba9876543210"}}'],
    escplain500 => [500, ['Content-Type' => $json],
        '{"error":"pre \\u0053\\u0045CRET-A-fedcba9876543210 post"}'],

    # review: bodies whose length nginx knows

    ranged200 => [200, ['Content-Type' => 'text/plain'],
        'abcdefghijklmnopqrstuvwxyz0123456789'],
    more200 => \("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
        . "Content-Length: 4\r\nConnection: close\r\n\r\nokok$SECRET"),
    clchunked200 => \("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
        . "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n"
        . "Connection: close\r\n\r\n"
        . sprintf("%x\r\n%s\r\n0\r\n\r\n", length $spoken, $spoken)),
    bytes200 => sub {
        my ($c) = @_;
        print $c "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
            . "Content-Length: " . length($spoken) . "\r\n"
            . "Connection: close\r\n\r\n";
        for my $b (split //, $spoken) {
            print $c $b;
            sleep 0.005;
        }
    },
    tailsplit200 => sub {
        my ($c) = @_;
        my $body = "x$TOKEN";
        print $c "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
            . "Content-Length: " . length($body) . "\r\n"
            . "Connection: close\r\n\r\n" . substr($body, 0, 5);
        sleep 0.2;
        print $c substr($body, 5);
    },

    # item 2: bodies

    spoken200 => [200, ['Content-Type' => 'text/plain'], $spoken],
    digits401 => [401, [], '{"success":false,"errResponse":{"message":"m",'
        . qq("code":$DIGITS,"botId":"bot-d"}})],
    big200 => [200, ['Content-Type' => 'application/octet-stream'], $big],
    split200 => sub {
        my ($c) = @_;
        print $c "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
            . "Content-Length: " . length($spoken) . "\r\n"
            . "Connection: close\r\n\r\n";
        dribble($c, $spoken);
    },
    splitchunked200 => sub {
        my ($c) = @_;
        print $c "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
            . "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
        for my $piece (pieces($spoken)) {
            printf $c "%x\r\n%s\r\n", length $piece, $piece;
            sleep 0.05;
        }
        print $c "0\r\n\r\n";
    },

    # item 6: error bodies that break off

    reset500 => sub {
        my ($c) = @_;
        print $c "HTTP/1.1 500 Oops\r\nContent-Type: $json\r\n"
            . "Content-Length: 200\r\n\r\n" . qq({"message":"$SECRET);
        sleep 0.2;
        setsockopt($c, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
    },
    short500 => sub {
        my ($c) = @_;
        print $c "HTTP/1.1 500 Oops\r\nContent-Type: $json\r\n"
            . "Content-Length: 200\r\n\r\n" . qq({"message":"$SECRET);
        sleep 0.2;
    },
    stall500 => sub {
        my ($c) = @_;
        print $c "HTTP/1.1 500 Oops\r\nContent-Type: $json\r\n"
            . "Content-Length: 200\r\n\r\n" . qq({"message":"$SECRET);
        sleep 2;
    },
    badchunk500 => sub {
        my ($c) = @_;
        print $c "HTTP/1.1 500 Oops\r\nContent-Type: $json\r\n"
            . "Transfer-Encoding: chunked\r\n\r\n"
            . "5\r\n{\"mes\r\nZZ-not-a-size\r\n" . qq("$SECRET"\r\n);
        sleep 0.5;
    },
);

$t->mock_answers(\%answer, 200, ['Content-Type' => $json], $ok);

$t->run();

###############################################################################

my ($r, @res);

# item 1: only a real final response is relayed

for my $case (['early103', '103 Early Hints, then a 500 with the secret'],
    ['cont100', '100 Continue, then a planted 200'],
    ['switch101', '101 Switching Protocols, then raw bytes'],
    ['status099', 'status 099'],
    ['garbage', 'no status line (HTTP/0.9)'],
    ['gzip200', 'gzip-encoded success body'])
{
    my ($name, $what) = @$case;

    for my $loc ('openapi', 'unbuffered') {
        $r = call($name, $loc);
        is_error_response($r, 502, 'bot-a', 'Bad Gateway',
            "$what ($loc): 502 ErrorResponse");
        is(join(',', @{ $r ? $r->{interim} : ['none'] }), '',
            "$what ($loc): no interim response relayed");
        clean($r, "$what ($loc)");
    }

    $r = $t->h2('POST', '/openapi/clientTag?botId=bot-a',
        body => qq({"name":"$name"}), clear => 1,
        headers => ['Content-Type' => $json]);
    is_error_response($r, 502, 'bot-a', 'Bad Gateway',
        "$what over HTTP/2: 502 ErrorResponse, not :status 000");
    clean($r, "$what over HTTP/2");

    @res = $t->keepalive([req($name), req('after')]);
    is(join(' ', map { $_ ? $_->{status} : 'none' } @res[0, 1]), '502 200',
        "$what, keep-alive: 502, then the next request answered");
    is($res[1] && $res[1]{body}, $ok,
        "$what, keep-alive: the next answer is upstream's fresh one");
    clean($res[0], "$what, keep-alive");
}

like(join('', $t->log_lines('error.log')),
    qr/upstream sent status 103, not a final response: answered 502/,
    '103: logged');
like(join('', $t->log_lines('error.log')),
    qr/upstream sent no valid status line: answered 502/,
    'no status line: logged');

# the upstream connection is not reused: its planted response never
# answers the next request

$r = call('plant100', 'kept');
is_error_response($r, 502, 'bot-a', 'Bad Gateway',
    '100 with an empty body on a kept-alive upstream connection: 502');
$r = call('after', 'kept');
is($r && "$r->{status} $r->{body}", "200 $ok",
    'the next request on that upstream: a fresh answer, nothing planted');
is(scalar(my @seen = $t->mock_requests()), 1,
    'the next request reached upstream on a new connection');

# item 2: headers holding the token or the secret are not passed

$r = call('www401');
is_error_response($r, 401, 'bot-a', undef, '401 with leaking headers: '
    . 'the ErrorResponse');
is(join(',', map { $r->{headers}{$_} // '-' }
    qw/www-authenticate x-debug set-cookie x-fine/), '-,-,-,kept',
    '401: WWW-Authenticate, X-Debug, Set-Cookie with the token or secret '
    . 'dropped, other headers kept');
clean($r, '401 with leaking headers');
is($t->log_tail('seen.log'), '401 x=- ux=- l=- ul=- uw=- uc=- '
    . 'ct=application/json',
    '401: $sent_http_* and $upstream_http_* do not show them');

$r = call('debug200');
is(join(' ', $r->{status}, $r->{body}, $r->{headers}{'x-debug'} // '-',
    $r->{headers}{'x-fine'} // '-'), '200 fine - kept',
    '200 with X-Debug holding the token: dropped, response kept');
is($t->log_tail('seen.log'), '200 x=- ux=- l=- ul=- uw=- uc=- ct=text/plain',
    '200: $sent_http_x_debug and $upstream_http_x_debug do not show it');

for my $name ('redirect302', 'relative302') {
    $r = call($name);
    is(join(' ', $r->{status}, $r->{headers}{location} // '-'), '302 -',
        "$name: Location with the Authorization value dropped");
    clean($r, $name);
    like($t->log_tail('seen.log'), qr/^302 x=- ux=- l=- ul=- /,
        "$name: \$sent_http_location and \$upstream_http_location empty");
}

# the upstream's header bytes hold neither, but nginx rewrites the
# Location into the secret: the built value is searched all the same

$r = call('rewritten302', 'redirect');
is(join(' ', $r->{status}, $r->{headers}{location} // '-'), '302 -',
    'a Location nginx rewrote into the secret: dropped');
clean($r, 'a Location nginx rewrote into the secret');

$r = call('rewritten302');
is(join(' ', $r->{status}, $r->{headers}{location} // '-'), '302 /cb/next',
    'a clean Location: passed');

$r = call('phrase200');
is($r && "$r->{status} $r->{body}", '200 ok',
    'reason phrase with the secret: response kept');
clean($r, 'reason phrase with the secret');

$r = call('type200');
is($r && join(' ', $r->{status}, $r->{body},
    $r->{headers}{'content-type'} // '-'), '200 typed -',
    'Content-Type with the token: dropped');
clean($r, 'Content-Type with the token');

# the same through proxy_cache: the upstream's header block starts after
# the room the buffer keeps for the cache file's header (not yet written
# when the headers are checked), and must be searched from there

$r = call('debug200', 'spool');
is(join(' ', $r->{status}, $r->{body}, $r->{headers}{'x-debug'} // '-',
    $r->{headers}{'x-fine'} // '-'), '200 fine - kept',
    'proxy_cache: X-Debug holding the token dropped, response kept');
clean($r, 'proxy_cache: X-Debug holding the token');

$r = call('phrase200', 'spool');
is($r && "$r->{status} $r->{body}", '200 ok',
    'proxy_cache: reason phrase with the secret: response kept');
clean($r, 'proxy_cache: reason phrase with the secret');

$r = call('type200', 'spool');
is($r && join(' ', $r->{status}, $r->{body},
    $r->{headers}{'content-type'} // '-'), '200 typed -',
    'proxy_cache: Content-Type with the token dropped');
clean($r, 'proxy_cache: Content-Type with the token');

my $log = $t->read_file('error.log');
my $drop = 'holds the token or the secret: not passed';
like($log, qr/\[warn\].*upstream header "WWW-Authenticate" \Q$drop\E/,
    'dropped header logged at warn with its name');
like($log, qr/\[warn\].*upstream header "X-Debug" holds/, 'X-Debug logged');
unlike($log, qr/\Q$TOKEN\E|\Q$SECRET\E/,
    'error.log holds neither the token nor the secret');

# item 2: bodies

$r = call('digits401', 'openapi', 'bot-d');
is_error_response($r, 401, 'bot-d', 'm',
    'digits-only secret as a JSON number in an error body: rebuilt');
unlike($r->{raw}, qr/$DIGITS/, 'digits-only secret: not in the response');

for my $loc ('openapi', 'unbuffered', 'spool') {
    for my $name ('spoken200', 'split200', 'splitchunked200') {
        $r = call($name, $loc);
        is($r && $r->{body}, $spoken_masked,
            "$name ($loc): token and secret masked, same length");
        clean($r, "$name ($loc)");
    }

    $r = call('spoken200', $loc);
    is($r->{headers}{'content-length'}, length $spoken,
        "spoken200 ($loc): Content-Length unchanged");

    $r = call('big200', $loc);
    is(join(' ', $r->{status}, $r->{headers}{'content-length'} // '-',
        sha256_hex($r->{body})),
        "200 1048576 " . sha256_hex($big_masked),
        "1 MB with 8 occurrences across buffer boundaries ($loc): masked");

    $r = call('after', $loc);
    is($r && $r->{body}, $ok, "body without secrets ($loc): byte for byte");
}

like($t->read_file('error.log'),
    qr/\[warn\].*upstream response body holds the token or the secret: masked/,
    'masking logged at warn');

# review: Location, Refresh and Set-Cookie rewritten in place by
# proxy_redirect and proxy_cookie_path into the secret: the upstream's
# header bytes are clean, the values nginx built from them are not

$r = call('inplace302', 'inplace');
is(join(' ', $r->{status}, map { $r->{headers}{$_} // '-' }
    qw/location refresh set-cookie/), '302 - - -',
    'Location, Refresh, Set-Cookie rewritten in place into the secret: '
    . 'dropped');
clean($r, 'values rewritten in place into the secret');
like($t->log_tail('seen.log'), qr/^302 x=- ux=- l=- ul=- uw=- uc=- /,
    'rewritten in place: $sent_http_location, $upstream_http_location and '
    . '$upstream_http_set_cookie empty');

# review: the secret \u-escaped in error bodies, in the message, in an
# extra member, as the botId, in a plain error: not in the decoded JSON

for my $case (['escmsg403', 403, 'bot-a', '[redacted]'],
    ['escextra403', 403, 'bot-a', 'm'],
    ['escbot403', 403, '[redacted]', 'm'],
    ['escplain500', 500, 'bot-a', 'pre [redacted] post'])
{
    my ($name, $status, $bot, $msg) = @$case;

    $r = call($name);
    my $doc = eval { JSON::PP->new->canonical->encode(
        JSON::PP::decode_json($r->{body})) } // '';
    ok($doc ne '' && $doc !~ /\Q$SECRET\E/,
        "$name: the decoded body holds no secret");

    if ($name eq 'escextra403') {
        like($doc, qr/"extra":\["x\[redacted\]"\]/,
            "$name: the extra member kept, redacted");
        next;
    }

    is_error_response($r, $status, $bot, $msg,
        "$name: ErrorResponse with the message redacted");
    clean($r, $name);
}

# no manta_status_zone here: an upstream 5xx is still warned of, at most
# once a minute (the log phase may run after the caller has read the last
# answer: the line is waited for)

my @warned;

for (1 .. 200) {
    @warned = grep {
        /\[warn\].*manta: upstream answered 5\d\d to botId "bot-/
    } $t->log_lines('error.log');
    last if @warned;
    select(undef, undef, undef, 0.01 * $Manta::Test::SCALE);
}

is(scalar(@warned), 1, 'without a status zone: one upstream 5xx warning');
like($warned[0] // '', qr/\(logged at most once a minute\) while /,
    'without a status zone: the warning does not claim to be per botId');

# review: the masking trusts the Content-Length; the range filter's part
# headers, bytes beyond the length, a length with chunked framing, a body
# a byte a read, a token completing the length in the second read

$r = call('ranged200', 'ranges', undef,
    headers => ['Range' => 'bytes=0-3,10-13']);
like($r && $r->{body} // '', qr/abcd.*klmn/s,
    'ranges of a clean body: the bytes asked for');
unlike($r && $r->{body} // '', qr/\*/,
    'multipart ranges of a clean body: no byte masked');

for my $loc ('openapi', 'unbuffered', 'kept') {
    $r = call('more200', $loc);
    is($r && "$r->{status} $r->{body}", '200 okok',
        "more bytes than the Content-Length ($loc): the length only");
    clean($r, "more bytes than the Content-Length ($loc)");

    $r = call('clchunked200', $loc);
    clean($r, "Content-Length with chunked framing ($loc)");

    $r = call('bytes200', $loc);
    is($r && $r->{body}, $spoken_masked,
        "a body a byte a read ($loc): masked");

    $r = call('tailsplit200', $loc);
    is($r && $r->{body}, 'x' . '*' x length $TOKEN,
        "the token completing the length over two reads ($loc): masked");
}

# item 6: error bodies that break off give a complete 502 ErrorResponse

for my $case (['reset500', 'openapi', 'reset mid-body'],
    ['short500', 'openapi', 'early close before Content-Length'],
    ['stall500', 'timeout', 'read timeout'],
    ['badchunk500', 'openapi', 'bad chunked framing'],
    ['reset500', 'unbuffered', 'reset mid-body, unbuffered'],
    ['short500', 'unbuffered', 'early close, unbuffered'],
    ['stall500', 'timeout-unbuffered', 'read timeout, unbuffered'],
    ['badchunk500', 'unbuffered', 'bad chunked framing, unbuffered'])
{
    my ($name, $loc, $what) = @$case;

    @res = $t->keepalive([req($name, $loc), req('after')]);
    is_error_response($res[0], 502, 'bot-a', 'Bad Gateway',
        "$what: complete 502 ErrorResponse over keep-alive");
    is($res[0] && $res[0]{headers}{connection}, 'close',
        "$what: then the connection closes");
    clean($res[0], $what);

    $r = $t->h2('POST', "/$loc/clientTag?botId=bot-a",
        body => qq({"name":"$name"}), clear => 1,
        headers => ['Content-Type' => $json]);
    is_error_response($r, 502, 'bot-a', 'Bad Gateway',
        "$what: complete 502 ErrorResponse over HTTP/2");
}

$t->done();

###############################################################################

sub req {
    my ($name, $loc, $bot) = @_;

    return ['POST', '/' . ($loc // 'openapi') . '/clientTag?botId='
        . ($bot // 'bot-a'), body => qq({"name":"$name"}),
        headers => ['Content-Type' => $json]];
}

sub call {
    my ($name, $loc, $bot, %o) = @_;

    return $t->post('/' . ($loc // 'openapi') . '/clientTag?botId='
        . ($bot // 'bot-a'), qq({"name":"$name"}), %o);
}

# neither the token nor the secret anywhere in the bytes the caller got

sub clean {
    my ($res, $what) = @_;

    local $Test::Builder::Level = $Test::Builder::Level + 1;

    my $raw = $res ? ($res->{raw} // '') . join('', map { "$_->[0]: $_->[1]" }
        @{ $res->{header_list} // [] }) . ($res->{body} // '') : '';

    ok($res && $raw !~ /\Q$TOKEN\E|\Q$SECRET\E|PLANTED/,
        "$what: neither token nor secret (nor a planted response) reached "
        . 'the caller');
}

# the body in pieces that split the token and the secret

sub pieces {
    my ($body) = @_;

    my @cuts = (index($body, $TOKEN) + 3, index($body, $TOKEN) + 10,
        index($body, $SECRET) + 1, index($body, $SECRET) + 20);
    my ($pos, @p) = (0);

    for my $cut (@cuts) {
        push @p, substr($body, $pos, $cut - $pos);
        $pos = $cut;
    }

    return (@p, substr($body, $pos));
}

sub dribble {
    my ($c, $body) = @_;

    for my $piece (pieces($body)) {
        print $c $piece;
        sleep 0.05;
    }
}

###############################################################################
