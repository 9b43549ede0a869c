#!/usr/bin/perl

# Tests for the local rejections' own ways of writing (README "Rate
# limiting", "What a request goes through"): the "limiting requests" line
# is written byte for byte as nginx's ngx_log_error() writes a line (its
# time, level, pid#tid and connection as nginx's own line of the same
# request has them, the same context, the token and the secret masked),
# one a second for a bot however often it is rejected, each bot its own,
# every rejection still answered and in the access log; the ErrorResponse
# of a reason's own message (copied unread: it needs no escaping) is the
# one written in full, with botIds that need escapes and manta_limit_status
# differing by location, one after the other; an ErrorResponse too large
# for the stack is written as before; keep-alive and pipelining stay
# intact after 429s.

###############################################################################

use warnings;
use strict;

use Test::More;
use Time::HiRes qw(sleep);

use FindBin;
use lib "$FindBin::Bin/lib";
use Manta::Test;

###############################################################################

my $t = Manta::Test->new()->write_gateway(<<'EOF',
listen  127.0.0.1:%%PORT_H2%%  http2;

%%MANTA_TAG(/tiny/clientTag; manta_limit zone=tiny)%%

%%MANTA_TAG(/info/clientTag; manta_limit zone=tiny;
            manta_limit_log_level info)%%

%%MANTA_TAG(/dry/clientTag; manta_limit zone=tiny; manta_limit_dry_run on)%%

%%MANTA_TAG(/quoted/clientTag; manta_limit zone=tiny;
            manta_bot_id_pattern "^[^&]{1,600}$")%%

%%MANTA_TAG(/other/clientTag; manta_limit zone=tiny;
            manta_limit_status 503;
            manta_bot_id_pattern "^[^&]{1,600}$")%%
EOF
    client_tag => 0,
    http => "manta_limit_zone  zone=tiny:1m  rate=1r/m;\n");

$t->write_creds({token => 'TOKEN-LOCAL', secret => 'SECRET-LOCAL'});

$t->run();

###############################################################################

my $limited = 'too many requests for this botId';
my ($r, @r, @lines);

# the line's parts: time, level, pid, tid, connection, message, context

my $line_re = qr{^(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) \[(\w+)\] (\d+)#(\d+): \*(\d+) (.*?)(, client: .*)$};

# error.log lines with $text, waited for up to 2 s

sub lines_with {
    my ($text, $n) = @_;

    my @l;

    for (1 .. 200) {
        @l = grep { index($_, $text) >= 0 } $t->log_lines('error.log');
        last if @l >= ($n // 1);
        select undef, undef, undef, 0.01;
    }

    return @l;
}

# waits for the start of the next second of nginx's clock

sub next_second {
    my $now = nginx_clock();
    sleep(int($now) + 1.05 - $now);
}

# the access log's 429 lines of the bots matching $bot, waited for up to
# 2 s until there are $n: nginx writes a request's line after its answer

sub rejections_logged {
    my ($bot, $n) = @_;

    my $c;

    for (1 .. 200) {
        $c = grep { / 429 rate_limited $bot / } $t->log_lines('manta.log');
        last if $c >= $n;
        select undef, undef, undef, 0.01;
    }

    return $c;
}

sub body_of {
    my ($message, $code, $bot) = @_;

    my $m = json_string($message);
    my $b = defined $bot ? ',"botId":' . json_string($bot) : '';

    return '{"success":false,"errResponse":{"message":' . $m
        . ',"code":' . $code . $b . '}}';
}

# as the module escapes: " \ and the short escapes, \u00XX for the other
# control characters and DEL

sub json_string {
    my ($s) = @_;

    my %short = ("\"" => '\\"', "\\" => '\\\\', "\b" => '\\b',
        "\f" => '\\f', "\n" => '\\n', "\r" => '\\r', "\t" => '\\t');

    $s =~ s{(["\\\x00-\x1f\x7f])}{
        $short{$1} // sprintf('\\u%04X', ord $1)
    }ge;

    return "\"$s\"";
}

sub post {
    my ($uri, $body, @headers) = @_;
    return $t->post($uri, $body // '{"name":"x"}', headers => \@headers);
}

# a bot's first request passes, the second is rejected

is(post('/tiny/clientTag?botId=line')->{status}, 200, 'line: first passes');
$r = post('/tiny/clientTag?botId=line');
is($r->{status}, 429, 'line: second is 429');
is($r->{body}, body_of($limited, 429, 'line'), 'line: the ErrorResponse');

@lines = lines_with('limiting requests by zone "tiny", botId "line"');
is(scalar @lines, 1, 'line: one "limiting requests" line');
like($lines[0] // '', $line_re, 'line: the shape of an nginx error line');

{
    my ($time, $level, $pid, $tid, $conn, $msg, $context) =
        ($lines[0] // '') =~ $line_re;

    is($level, 'error', 'line: at error, the default');
    is($msg, 'limiting requests by zone "tiny", botId "line"',
        'line: the message');
    is($tid, $pid, 'line: tid is the pid (the worker\'s main thread)');
    is($context, ', client: 127.0.0.1, server: localhost, request: '
        . '"POST /tiny/clientTag?botId=line HTTP/1.1", host: "localhost"',
        'line: the request\'s context');
}

# at info, nginx's own "request rejected" line of the same request comes
# right after: everything but the message is the same

is(post('/info/clientTag?botId=twin')->{status}, 200, 'twin: first passes');
is(post('/info/clientTag?botId=twin')->{status}, 429, 'twin: second is 429');

@lines = lines_with('botId=twin HTTP/1.1', 2);
@lines = grep { /limiting requests|request rejected: rate_limited/ } @lines;
is(scalar @lines, 2, 'twin: two lines');

{
    my @a = ($lines[0] // '') =~ $line_re;
    my @b = ($lines[1] // '') =~ $line_re;

    is($a[5], 'limiting requests by zone "tiny", botId "twin"',
        'twin: the module\'s line first');
    is($b[5], 'manta: request rejected: rate_limited',
        'twin: nginx\'s line second');
    is(join(' ', @a[1 .. 4], $a[6] // ''), join(' ', @b[1 .. 4], $b[6] // ''),
        'twin: same level, pid#tid, connection and context');
    ok(@a && @b && $a[0] le $b[0], 'twin: the time');
}

# the same over HTTP/2: the stream's log

for my $i (1 .. 2) {
    $r = $t->h2('POST', '/info/clientTag?botId=twin2',
        headers => ['Content-Type' => 'application/json'],
        body => '{"name":"x"}');
    is($r && $r->{status}, $i == 1 ? 200 : 429, "twin h2: request $i");
}

is($r && $r->{body}, body_of($limited, 429, 'twin2'),
    'twin h2: the ErrorResponse');

@lines = lines_with('botId=twin2 HTTP/2.0', 2);
@lines = grep { /limiting requests|request rejected: rate_limited/ } @lines;
is(scalar @lines, 2, 'twin h2: two lines');

{
    my @a = ($lines[0] // '') =~ $line_re;
    my @b = ($lines[1] // '') =~ $line_re;

    is($a[5], 'limiting requests by zone "tiny", botId "twin2"',
        'twin h2: the module\'s line first');
    is($b[5], 'manta: request rejected: rate_limited',
        'twin h2: nginx\'s line second');
    is(join(' ', @a[1 .. 4], $a[6] // ''), join(' ', @b[1 .. 4], $b[6] // ''),
        'twin h2: same level, pid#tid, connection and context');
}

# the line is masked as every line of a gateway request is

is(post('/tiny/clientTag?botId=mask')->{status}, 200, 'mask: first passes');
$r = post('/tiny/clientTag?botId=mask', undef,
    Host => 'SECRET-LOCAL.TOKEN-LOCAL.example');
is($r->{status}, 429, 'mask: second is 429');

@lines = lines_with('botId "mask"');
is(scalar @lines, 1, 'mask: one line');
like($lines[0] // '', qr/, host: "\*{12}\.\*{11}\.example"$/,
    'mask: the secret and the token in the Host are masked');
unlike($t->read_file('error.log'), qr/SECRET-LOCAL|TOKEN-LOCAL/,
    'mask: neither is in error.log');

# dry run: the same line with ", dry run,", the request passes

is(post('/dry/clientTag?botId=dry')->{status}, 200, 'dry: first passes');
is(post('/dry/clientTag?botId=dry')->{status}, 200, 'dry: second passes');

@lines = lines_with('botId "dry"');
is(scalar @lines, 1, 'dry: one line');
is((($lines[0] // '') =~ $line_re)[5],
    'limiting requests, dry run, by zone "tiny", botId "dry"',
    'dry: the message');

# a flood: a bot rejected 50 times in a row has one line a second of
# nginx's clock, another bot rejected in the same second its own line;
# each rejection is answered 429 and written to the access log

is(post('/tiny/clientTag?botId=flood')->{status}, 200, 'flood: first passes');
is(post('/tiny/clientTag?botId=flood2')->{status}, 200,
    'flood: another bot\'s first passes');

my $from = nginx_second();
@r = map { post('/tiny/clientTag?botId=flood') } 1 .. 50;
$r = post('/tiny/clientTag?botId=flood2');
my $to = nginx_second();

is(scalar(grep { $_->{status} == 429 && $_->{body} eq
    body_of($limited, 429, 'flood') } @r), 50,
    'flood: the 50 answered with the 429 ErrorResponse');
is($r->{status}, 429, 'flood: the other bot rejected too');

my $n = @lines = lines_with('botId "flood"');
ok($n >= 1 && $n <= $to - $from + 1, 'flood: 50 rejections, one line a '
    . "second: $n line(s) in " . ($to - $from + 1) . ' second(s)');
is(scalar(@lines = lines_with('botId "flood2"')), 1,
    'flood: the other bot has its own line in the same second');
is(rejections_logged(qr/flood2?/, 51), 51,
    'flood: all 51 rejections are in the access log');

next_second();

is(post('/tiny/clientTag?botId=flood')->{status}, 429,
    'flood: rejected in the next second');
is(post('/tiny/clientTag?botId=flood')->{status}, 429,
    'flood: and again in that second');
is(scalar(@lines = lines_with('botId "flood"', $n + 1)), $n + 1,
    'flood: the next second has one line more, not two');

# botIds that need escapes; manta_limit_status 429 and 503 by location,
# alternating (the start of the ErrorResponse is made for each in turn)

my %bots = (quote => "q\"\\", ctl => "c\x01\x1f\x7f", tab => "t\tb");
my %enc = (quote => 'q%22%5C', ctl => 'c%01%1F%7F', tab => 't%09b');

for my $k (sort keys %bots) {
    is(post("/quoted/clientTag?botId=$enc{$k}")->{status}, 200,
        "escape $k: first passes");

    for my $i (1 .. 2) {
        for my $loc (['quoted', 429], ['other', 503]) {
            $r = post("/$loc->[0]/clientTag?botId=$enc{$k}");
            is($r->{status}, $loc->[1], "escape $k: $loc->[0] $i status");
            is($r->{body}, body_of($limited, $loc->[1], $bots{$k}),
                "escape $k: $loc->[0] $i ErrorResponse");
            is($r->{headers}{'content-length'}, length $r->{body},
                "escape $k: $loc->[0] $i Content-Length");
        }
    }
}

# another message (invalid_json) with botIds whose escapes fit on the stack
# or not: 250 bytes of "\x01" (6 bytes each) fit, 300 do not

for my $n (1, 250, 300, 600) {
    my $bot = "\x01" x $n;
    $r = post("/quoted/clientTag?botId=" . ('%01' x $n), '{');
    is($r->{status}, 400, "long $n: 400");
    is($r->{body}, body_of('body ends before the JSON object is complete',
        400, $bot), "long $n: the ErrorResponse");
}

for my $n (1, 300, 600) {
    my $bot = '"' x $n;
    $r = post("/other/clientTag?botId=" . ('%22' x $n), '[1]');
    is($r->{status}, 400, "quotes $n: 400");
    is($r->{body}, body_of('body must be a JSON object, not an array',
        400, $bot), "quotes $n: the ErrorResponse");
}

# keep-alive and pipelining after local 429s and 400s

is(post('/tiny/clientTag?botId=pipe')->{status}, 200, 'pipe: first passes');

for my $pipeline (0, 1) {
    @r = $t->keepalive([
        map { ['POST', $_->[0], headers => ['Content-Type' =>
            'application/json'], body => $_->[1]] }
        ['/tiny/clientTag?botId=pipe', '{"name":"x"}'],
        ['/tiny/clientTag?botId=pipe', '{"name":"x",}'],
        ['/tiny/clientTag?botId=pipe', '{"name":"x"}'],
        ['/tiny/clientTag?botId=other-pipe-' . $pipeline, '{"name":"x"}'],
    ], pipeline => $pipeline);

    is(join(' ', map { $_ ? $_->{status} : 'none' } @r), '429 400 429 200',
        "pipe $pipeline: the answers in order");
    is($r[0] && $r[0]{body}, body_of($limited, 429, 'pipe'),
        "pipe $pipeline: the 429's body");
    is($r[0] && $r[0]{headers}{'retry-after'} =~ /^\d+$/ ? 1 : 0, 1,
        "pipe $pipeline: Retry-After");
}

my @p = $t->error_log_problems();
is(scalar @p, 0, 'no alert in error.log') or diag(join "\n", @p);

$t->done();

###############################################################################
