#!/usr/bin/perl

# The fast paths of the response side attacked (README "Security: what
# upstream cannot do"): the credential's patterns searched at once in the
# upstream's header block and in a body's buffers, a clean buffer passed
# with no mask state or memory set up.  Bodies: the token or the secret
# at the very end or start of a one-buffer body with its Content-Length,
# the whole body, split at every offset over two reads (with a length,
# chunked, to the connection's close), a Content-Length promising more
# than comes, token prefixes that never complete (passed byte for byte),
# and a secret the forwarded JSON body escapes, in that spelling.  Headers:
# the token as the last bytes of the header block, a value that is the
# secret exactly and one a byte short, the secret in a name, in the
# reason phrase, the escaped secret in Content-Type.

use strict;

use Test::More;

use FindBin;
use lib "$FindBin::Bin/lib";
use Manta::Test;

###############################################################################

my $t = Manta::Test->new()->write_config(<<'EOF');

%%MANTA_MAIN%%

worker_processes  1;

http {
    %%HTTP_GLOBALS%%

    log_format  seen  '$http_x_seq $status ul=$upstream_http_x_last '
                      'uf=$upstream_http_x_fit us=$upstream_http_x_short';
    log_format  loc   '$http_x_seq $status l=$sent_http_location '
                      'ul=$upstream_http_location '
                      'uct=$upstream_http_content_type';

    %%MANTA_UPSTREAM%%

    upstream kept {
        server     127.0.0.1:%%PORT_MOCK%%;
        keepalive  4;
    }

    server {
        listen       127.0.0.1:%%PORT_8080%%;
        server_name  localhost;

        access_log  %%TESTDIR%%/seen.log  seen;

        %%MANTA_CLIENT_TAG%%

        %%MANTA_TAG(/unbuffered/clientTag; proxy_buffering off)%%

        # nginx rewrites the Location in place (the replacement no longer
        # than what it replaces): the response's only header entry

        location = /inplace/clientTag {
            manta_endpoint  client_tag;
            proxy_redirect  /cb/0123456789abcdefghijklmnopqrstuv/
                            /SECRET-F-fedc;
            proxy_pass      http://mock/api/openapi/clientTag;
            access_log      %%TESTDIR%%/loc.log  loc;
        }

        %%MANTA_TAG(/kept/clientTag; proxy_http_version 1.1;
                    proxy_set_header Connection "";
                    proxy_pass http://kept/api/openapi/clientTag)%%
    }
}

EOF

my $TOKEN = 'TOKEN-F-0123456789abcdef';
my $SECRET = 'SECRET-F-fedcba9876543210';
my $QSECRET = 'SEC"RET-Q-0123456789';
my $QESCAPED = 'SEC\\"RET-Q-0123456789';

$t->write_creds({%Manta::Test::CREDS, bots => {
    'bot-f' => {token => $TOKEN, secret => $SECRET},
    'bot-q' => {token => 'TOKEN-Q-0123456789', secret => $QSECRET}}});

my $json = 'application/json';
my $ok = '{"success":true,"message":"client tag created"}';
my $stars = '*' x length $TOKEN;
my $head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n";

# a body in two reads, cut after $at bytes: with its length, chunked, or
# ended by the connection's close

sub two_reads {
    my ($body, $at, $framing) = @_;

    my @p = (substr($body, 0, $at), substr($body, $at));

    return sub {
        my ($c) = @_;

        if ($framing eq 'length') {
            print $c $head . 'Content-Length: ' . length($body)
                . "\r\nConnection: close\r\n\r\n" . $p[0];
            sleep 0.05;
            print $c $p[1];

        } elsif ($framing eq 'chunked') {
            print $c $head . "Transfer-Encoding: chunked\r\n"
                . "Connection: close\r\n\r\n"
                . sprintf("%x\r\n%s\r\n", length $p[0], $p[0]);
            sleep 0.05;
            print $c sprintf("%x\r\n%s\r\n0\r\n\r\n", length $p[1], $p[1]);

        } else {
            print $c $head . "Connection: close\r\n\r\n" . $p[0];
            sleep 0.05;
            print $c $p[1];
        }
    };
}

my $cut_body = "ab${TOKEN}cd";
my %framing = (l => 'length', c => 'chunked', e => 'close');

my %answer = (

    # one buffer with its Content-Length

    end200 => [200, ['Content-Type' => 'text/plain'], 'x' x 40 . $TOKEN],
    endsecret200 => [200, ['Content-Type' => 'text/plain'], "abc$SECRET"],
    exact200 => [200, ['Content-Type' => 'text/plain'], $SECRET],
    start200 => [200, ['Content-Type' => 'text/plain'], "${TOKEN}tail"],
    short200 => [200, ['Content-Type' => 'text/plain'],
        substr($SECRET, 0, -1)],

    # to the connection's close, no length

    eof200 => \("${head}Connection: close\r\n\r\nabc $SECRET"),

    # the length promises more than comes: the token whole in what does

    long200 => sub {
        my ($c) = @_;
        my $body = "ab$TOKEN";
        print $c $head . 'Content-Length: ' . (length($body) + 10)
            . "\r\nConnection: close\r\n\r\n" . $body;
        sleep 0.2;
    },

    # prefixes of the token ending each read, never completed

    prefix200 => sub {
        my ($c) = @_;
        my @p = ('ab' . substr($TOKEN, 0, 10),
            'zz' . substr($TOKEN, 0, length($TOKEN) - 1));
        print $c $head . 'Content-Length: ' . length(join '', @p)
            . "\r\nConnection: close\r\n\r\n" . $p[0];
        sleep 0.05;
        print $c $p[1];
    },

    # the secret as the forwarded JSON body spells it

    escaped200 => [200, ['Content-Type' => 'text/plain'],
        "echo: {\"secret\":\"$QESCAPED\""],
    escapedhdr200 => [200, ['Content-Type' => "text/plain; x=$QESCAPED",
        'X-Echo' => $QESCAPED, 'X-Fine' => 'kept'], 'fine'],

    # headers

    lasthdr200 => \("${head}Content-Length: 2\r\nX-Fine: kept\r\n"
        . "X-Last: $TOKEN\r\n\r\nok"),
    fits200 => [200, ['Content-Type' => 'text/plain', 'X-Fit' => $SECRET,
        'X-Short' => substr($SECRET, 0, -1)], 'ok'],
    name200 => [200, ['Content-Type' => 'text/plain', "X-$SECRET" => 'v',
        'X-Fine' => 'kept'], 'ok'],
    phrase200 => \("HTTP/1.1 200 Fine $TOKEN\r\nContent-Type: text/plain\r\n"
        . "Content-Length: 2\r\nConnection: close\r\n\r\nok"),
    many200 => [200, ['Content-Type' => 'text/plain',
        map { ("X-H$_" => substr($SECRET, 0, $_)) } 1 .. 24], 'ok'],

    # the response's header list: one rewritten entry, or none

    onlyloc302 => \("HTTP/1.1 302 Found\r\nContent-Length: 0\r\n"
        . "Location: /cb/0123456789abcdefghijklmnopqrstuv/ba9876543210\r\n"
        . "Connection: close\r\n\r\n"),
    nolist200 => \("${head}Content-Length: 2\r\nConnection: close\r\n\r\nok"),
);

for my $at (1 .. length($cut_body) - 1) {
    for my $f (keys %framing) {
        $answer{"cut$f$at"} = two_reads($cut_body, $at, $framing{$f});
    }
}

$t->mock_answers(\%answer, 200, ['Content-Type' => $json], $ok);

$t->run();

###############################################################################

my $r;

# bodies in one buffer, with their length

for my $loc ('openapi', 'unbuffered', 'kept') {
    $r = call('end200', $loc);
    is($r && $r->{body}, 'x' x 40 . $stars,
        "the token at the very end of a one-buffer body ($loc): masked");

    $r = call('endsecret200', $loc);
    is($r && $r->{body}, 'abc' . '*' x length $SECRET,
        "the secret at the very end ($loc): masked");

    $r = call('exact200', $loc);
    is($r && $r->{body}, '*' x length $SECRET,
        "a body that is the secret ($loc): masked");

    $r = call('start200', $loc);
    is($r && $r->{body}, "${stars}tail",
        "the token at the very start ($loc): masked");

    $r = call('short200', $loc);
    is($r && $r->{body}, substr($SECRET, 0, -1),
        "the secret one byte short ($loc): byte for byte");

    $r = call('prefix200', $loc);
    is($r && $r->{body}, 'ab' . substr($TOKEN, 0, 10) . 'zz'
        . substr($TOKEN, 0, length($TOKEN) - 1),
        "token prefixes ending each read, never completed ($loc): byte for "
        . 'byte');

    $r = call('after', $loc);
    is($r && $r->{body}, $ok, "a clean body ($loc): byte for byte");
}

$r = call('eof200');
is($r && $r->{body}, 'abc ' . '*' x length $SECRET,
    'the secret at the end of a body ended by the close: masked');

# the token split at every offset over two reads

for my $f (sort keys %framing) {
    my @bad;

    for my $at (1 .. length($cut_body) - 1) {
        for my $loc ('openapi', 'unbuffered') {
            $r = call("cut$f$at", $loc);
            push @bad, "$loc/$at" unless $r && $r->{body} eq "ab${stars}cd";
        }
    }

    is("@bad", '', "the token split at every offset over two reads "
        . "($framing{$f}), buffered or not: masked");
}

# a Content-Length promising more than comes

for my $loc ('openapi', 'unbuffered') {
    my $raw = $t->raw("POST /$loc/clientTag?botId=bot-f HTTP/1.1\r\n"
        . "Host: localhost\r\nContent-Type: $json\r\nContent-Length: "
        . length(qq({"name":"long200"})) . "\r\nConnection: close\r\n\r\n"
        . qq({"name":"long200"})) // '';

    like($raw, qr/^HTTP\/1\.1 200/, "a length promising more ($loc): 200");
    unlike($raw, qr/\Q$TOKEN\E/,
        "a length promising more, the token whole in what came ($loc): "
        . 'not passed');
}

# the secret as the forwarded JSON body spells it

$r = call('escaped200', 'openapi', 'bot-q');
is($r && $r->{body}, 'echo: {"secret":"' . '*' x length($QESCAPED) . '"',
    'the escaped secret in a body: masked');

$r = call('escapedhdr200', 'openapi', 'bot-q');
is(join(' ', map { $r->{headers}{$_} // '-' } qw/x-echo x-fine/), '- kept',
    'the escaped secret in a header value: dropped, the others kept');
unlike($r->{headers}{'content-type'} // '', qr/\Q$QESCAPED\E/,
    'the escaped secret in Content-Type: not passed');
clean($r, 'the escaped secret in headers', $QESCAPED);

# headers

$r = call('lasthdr200');
is(join(' ', map { $r->{headers}{$_} // '-' } qw/x-last x-fine/), '- kept',
    'the token as the last bytes of the header block: dropped');
clean($r, 'the token as the last bytes of the header block');
like($t->log_tail('seen.log'), qr/^200 ul=- /,
    'the token as the last bytes of the header block: not in '
    . '$upstream_http_x_last');

$r = call('fits200');
is(join(' ', map { $r->{headers}{$_} // '-' } qw/x-fit x-short/),
    '- ' . substr($SECRET, 0, -1),
    'a value that is the secret: dropped; one a byte short: kept');
clean($r, 'a value that is the secret');
like($t->log_tail('seen.log'), qr/^200 ul=- uf=- us=\Q${\ substr($SECRET, 0,
    -1)}\E$/, 'a value that is the secret: not in $upstream_http_x_fit');

$r = call('name200');
ok($r && $r->{status} == 200 && ($r->{headers}{'x-fine'} // '') eq 'kept',
    'the secret in a header name: 200, the others kept');
clean($r, 'the secret in a header name');

$r = call('phrase200');
ok($r && $r->{status} == 200, 'the token in the reason phrase: 200');
clean($r, 'the token in the reason phrase');

$r = call('many200');
is(join(' ', map { length($r->{headers}{"x-h$_"} // '') } 1 .. 24),
    join(' ', 1 .. 24),
    'prefixes of the secret in 24 header values: all kept');

# the response's header list holds the rewritten Location only, or nothing

$r = call('onlyloc302', 'inplace');
is(join(' ', $r->{status}, $r->{headers}{location} // '-'), '302 -',
    'a Location rewritten in place into the secret, the only entry of the '
    . 'response\'s list: dropped');
clean($r, 'a Location rewritten in place, the only entry');
like($t->log_tail('loc.log'), qr/^302 l=- ul=- /,
    'the only entry rewritten in place: $sent_http_location and '
    . '$upstream_http_location empty');

$r = call('nolist200', 'inplace');
is($r && "$r->{status} $r->{body}", '200 ok',
    'no entry in the response\'s list, clean upstream headers: passed');
like($t->log_tail('loc.log'), qr/^200 l=- ul=- uct=text\/plain$/,
    'no entry in the response\'s list: $upstream_http_content_type kept');

$t->done();

###############################################################################

sub call {
    my ($name, $loc, $bot, %o) = @_;

    return $t->post('/' . ($loc // 'openapi') . '/clientTag?botId='
        . ($bot // 'bot-f'), qq({"name":"$name"}), %o);
}

# neither the token nor the secret (nor the extra value) in what came

sub clean {
    my ($res, $what, $extra) = @_;

    local $Test::Builder::Level = $Test::Builder::Level + 1;

    my $raw = $res ? ($res->{raw} // '') . join('', map { "$_->[0]: $_->[1]" }
        @{ $res->{header_list} // [] }) . ($res->{body} // '') : '';

    ok($res && $raw !~ /\Q$TOKEN\E|\Q$SECRET\E/
        && (!defined $extra || $raw !~ /\Q$extra\E/),
        "$what: neither token nor secret reached the caller");
}

###############################################################################
