package Manta::HTTP2;

# A minimal HTTP/2 client (prior knowledge, cleartext) for the tests: one
# request per connection, headers sent as HPACK literals, the response's
# header block decoded (static and dynamic tables, Huffman strings).
#
# It exists because curl 7.88 (Debian 12) fails with error 92 or 52 instead
# of reporting the response when a server answers an upload early and then
# resets the stream with NO_ERROR, as nginx does for any request answered
# before its body is read (curl/curl#22984).
#
#   my $res = Manta::HTTP2::request(port => N, method => 'POST',
#       path => '/x?y', headers => [name => value, ...], body => BYTES,
#       body_delay => SECONDS, timeout => SECONDS);
#
# The response is {status, version => 'HTTP/2', headers => {name => value},
# header_list => [[name, value], ...], body, reset => RST_STREAM code or
# undef, goaway => code or undef}; undef without a response header block.

use strict;
use warnings;

use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(sleep time);

use constant {
    DATA          => 0x0,
    HEADERS       => 0x1,
    RST_STREAM    => 0x3,
    SETTINGS      => 0x4,
    PING          => 0x6,
    GOAWAY        => 0x7,
    WINDOW_UPDATE => 0x8,
    CONTINUATION  => 0x9,

    END_STREAM    => 0x1,
    ACK           => 0x1,
    END_HEADERS   => 0x4,
    PADDED        => 0x8,
    PRIORITY      => 0x20,
};

my $PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
my $MAX_FRAME = 16384;

# RFC 7541 Appendix A

my @STATIC = (undef,
    [':authority', ''], [':method', 'GET'], [':method', 'POST'],
    [':path', '/'], [':path', '/index.html'], [':scheme', 'http'],
    [':scheme', 'https'], [':status', '200'], [':status', '204'],
    [':status', '206'], [':status', '304'], [':status', '400'],
    [':status', '404'], [':status', '500'], ['accept-charset', ''],
    ['accept-encoding', 'gzip, deflate'], ['accept-language', ''],
    ['accept-ranges', ''], ['accept', ''],
    ['access-control-allow-origin', ''], ['age', ''], ['allow', ''],
    ['authorization', ''], ['cache-control', ''],
    ['content-disposition', ''], ['content-encoding', ''],
    ['content-language', ''], ['content-length', ''],
    ['content-location', ''], ['content-range', ''], ['content-type', ''],
    ['cookie', ''], ['date', ''], ['etag', ''], ['expect', ''],
    ['expires', ''], ['from', ''], ['host', ''], ['if-match', ''],
    ['if-modified-since', ''], ['if-none-match', ''], ['if-range', ''],
    ['if-unmodified-since', ''], ['last-modified', ''], ['link', ''],
    ['location', ''], ['max-forwards', ''], ['proxy-authenticate', ''],
    ['proxy-authorization', ''], ['range', ''], ['referer', ''],
    ['refresh', ''], ['retry-after', ''], ['server', ''],
    ['set-cookie', ''], ['strict-transport-security', ''],
    ['transfer-encoding', ''], ['user-agent', ''], ['vary', ''], ['via', ''],
    ['www-authenticate', ''],
);

# RFC 7541 Appendix B: code lengths of symbols 0..256; the code is
# canonical, so the codes follow from the lengths

my @HUFF_LEN = (
    13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
    28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
     6, 10, 10, 12, 13,  6,  8, 11, 10, 10,  8, 11,  8,  6,  6,  6,
     5,  5,  5,  6,  6,  6,  6,  6,  6,  6,  7,  8, 15,  6, 12, 10,
    13,  6,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,
     7,  7,  7,  7,  7,  7,  7,  7,  8,  7,  8, 13, 19, 13, 14,  6,
    15,  5,  6,  5,  6,  5,  6,  6,  6,  5,  7,  7,  6,  6,  6,  5,
     6,  7,  6,  5,  5,  6,  7,  7,  7,  7,  7, 15, 11, 14, 13, 28,
    20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
    24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
    22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
    21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
    26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
    19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
    20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
    26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
    30,
);

my %HUFF;       # "length:code" => symbol

{
    my @sym = sort { $HUFF_LEN[$a] <=> $HUFF_LEN[$b] || $a <=> $b } 0 .. 256;
    my ($code, $len) = (0, $HUFF_LEN[$sym[0]]);

    for my $s (@sym) {
        $code <<= $HUFF_LEN[$s] - $len;
        $len = $HUFF_LEN[$s];
        $HUFF{"$len:$code"} = $s;
        $code++;
    }
}

###############################################################################

sub request {
    my (%o) = @_;

    my $timeout = $o{timeout} // 5;

    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$o{port}",
        Proto => 'tcp', Timeout => $timeout) or return undef;
    binmode $s;

    local $SIG{PIPE} = 'IGNORE';

    # a large receive window: the responses are read whole

    syswrite($s, $PREFACE
        . frame(SETTINGS, 0, 0, pack('nN', 0x4, 0x7fffffff))
        . frame(WINDOW_UPDATE, 0, 0, pack('N', 0x7fff0000)));

    my @h = (':method' => $o{method} // 'GET', ':scheme' => 'http',
        ':authority' => "127.0.0.1:$o{port}", ':path' => $o{path} // '/');
    my @extra = @{ $o{headers} // [] };

    while (my ($n, $v) = splice @extra, 0, 2) {
        push @h, lc($n) => $v;
    }

    my $block = '';

    while (my ($n, $v) = splice @h, 0, 2) {
        $block .= "\x00" . hpack_string($n) . hpack_string($v);
    }

    my $body = $o{body};
    my $flags = END_HEADERS | (defined $body ? 0 : END_STREAM);

    syswrite($s, frame(HEADERS, $flags, 1, $block));

    my $c = {
        s        => $s,
        buf      => '',
        head     => '',
        dynamic  => [],
        res      => { body => '' },
        deadline => time() + $timeout,
        window   => 65535,          # the connection's send window
        swindow  => 65535,          # stream 1's send window
    };

    if (defined $body) {
        sleep($o{body_delay}) if $o{body_delay};

        my $sent = 0;

        # DATA within the flow control windows, the last with END_STREAM

        while (!$c->{done}) {
            my $n = length($body) - $sent;
            $n = $MAX_FRAME if $n > $MAX_FRAME;
            $n = $c->{window} if $n > $c->{window};
            $n = $c->{swindow} if $n > $c->{swindow};

            if ($n > 0 || $sent == length $body) {
                my $last = $sent + $n == length $body;
                syswrite($s, frame(DATA, $last ? END_STREAM : 0, 1,
                    substr($body, $sent, $n)));
                $sent += $n;
                $c->{window} -= $n;
                $c->{swindow} -= $n;
                last if $last;
                next;
            }

            last unless read_frame($c);
        }
    }

    1 while !$c->{done} && read_frame($c);

    my %res = %{ $c->{res} };

    close $s;

    return undef unless $res{header_list};

    my %h;
    for (@{ $res{header_list} }) {
        $h{ $_->[0] } = exists $h{ $_->[0] } ? "$h{$_->[0]}, $_->[1]"
            : $_->[1];
    }

    $res{headers} = \%h;
    $res{status} += 0;
    $res{version} = 'HTTP/2';
    $res{reason} = '';
    $res{interim} = [];

    return \%res;
}

# Reads and handles one frame; 0 at EOF or timeout.

sub read_frame {
    my ($c) = @_;

    my $buf = \$c->{buf};
    my $res = $c->{res};
    my $s = $c->{s};

    while (length $$buf < 9 || length $$buf < 9 + frame_length($$buf)) {
        return 0 unless read_more($s, $buf, $c->{deadline});
    }

    my ($len, $type, $fl, $sid) = unpack('a3 C C N', $$buf);
    $len = unpack('N', "\x00$len");
    $sid &= 0x7fffffff;
    my $payload = substr($$buf, 9, $len);
    substr($$buf, 0, 9 + $len) = '';

    if ($type == SETTINGS) {
        return 1 if $fl & ACK;

        for my $p (unpack('(a6)*', $payload)) {
            my ($id, $value) = unpack('n N', $p);
            next unless $id == 0x4;
            $c->{swindow} += $value - ($c->{initial} // 65535);
            $c->{initial} = $value;
        }

        syswrite($s, frame(SETTINGS, ACK, 0, ''));

    } elsif ($type == PING) {
        syswrite($s, frame(PING, ACK, 0, $payload)) unless $fl & ACK;

    } elsif ($type == WINDOW_UPDATE) {
        my $inc = unpack('N', $payload) & 0x7fffffff;
        if ($sid == 0) {
            $c->{window} += $inc;
        } elsif ($sid == 1) {
            $c->{swindow} += $inc;
        }

    } elsif ($type == GOAWAY) {
        $res->{goaway} = unpack('x4 N', $payload);
        $c->{done} = 1;

    } elsif ($sid != 1) {
        return 1;

    } elsif ($type == RST_STREAM) {
        $res->{reset} = unpack('N', $payload);
        $c->{done} = 1;

    } elsif ($type == HEADERS || $type == CONTINUATION) {
        if ($type == HEADERS) {
            $payload = unpad($payload, $fl);
            $payload = substr($payload, 5) if $fl & PRIORITY;
        }

        $c->{head} .= $payload;

        if ($fl & END_HEADERS) {
            my @list = hpack_decode($c->{head}, $c->{dynamic});
            $c->{head} = '';
            my %hh = map { @$_ } @list;

            if (!$res->{header_list} && ($hh{':status'} // '') !~ /^1/) {
                $res->{header_list} = [grep { $_->[0] !~ /^:/ } @list];
                $res->{status} = $hh{':status'};
            }
        }

        $c->{done} = 1 if $fl & END_STREAM;

    } elsif ($type == DATA) {
        $res->{body} .= unpad($payload, $fl);
        $c->{done} = 1 if $fl & END_STREAM;
    }

    return 1;
}

sub frame {
    my ($type, $flags, $sid, $payload) = @_;
    return substr(pack('N', length $payload), 1)
        . pack('C C N', $type, $flags, $sid) . $payload;
}

sub frame_length {
    return unpack('N', "\x00" . substr($_[0], 0, 3));
}

sub unpad {
    my ($payload, $flags) = @_;

    return $payload unless $flags & PADDED;

    my $pad = ord $payload;
    return substr($payload, 1, length($payload) - 1 - $pad);
}

sub read_more {
    my ($s, $buf, $deadline) = @_;

    my $left = $deadline - time();
    return 0 if $left <= 0 || !IO::Select->new($s)->can_read($left);

    return sysread($s, $$buf, 65536, length $$buf) ? 1 : 0;
}

###############################################################################

sub hpack_int {
    my ($value, $bits, $first) = @_;

    my $max = (1 << $bits) - 1;

    return chr($first | $value) if $value < $max;

    my $out = chr($first | $max);
    $value -= $max;

    while ($value >= 128) {
        $out .= chr(($value & 0x7f) | 0x80);
        $value >>= 7;
    }

    return $out . chr($value);
}

sub hpack_string {
    my ($s) = @_;
    return hpack_int(length $s, 7, 0) . $s;
}

sub decode_int {
    my ($data, $pos, $bits) = @_;

    my $max = (1 << $bits) - 1;
    my $value = ord(substr($$data, $$pos++, 1)) & $max;

    return $value if $value < $max;

    my $shift = 0;

    while (1) {
        my $b = ord(substr($$data, $$pos++, 1));
        $value += ($b & 0x7f) << $shift;
        $shift += 7;
        last unless $b & 0x80;
    }

    return $value;
}

sub decode_string {
    my ($data, $pos) = @_;

    my $huffman = ord(substr($$data, $$pos, 1)) & 0x80;
    my $len = decode_int($data, $pos, 7);
    my $s = substr($$data, $$pos, $len);
    $$pos += $len;

    return $huffman ? huffman_decode($s) : $s;
}

sub huffman_decode {
    my ($bytes) = @_;

    my ($out, $code, $len) = ('', 0, 0);

    for my $bit (split //, unpack('B*', $bytes)) {
        $code = ($code << 1) | $bit;
        $len++;

        my $sym = $HUFF{"$len:$code"};
        next unless defined $sym;

        $out .= chr $sym if $sym < 256;
        ($code, $len) = (0, 0);
    }

    # what is left is padding: at most 7 one bits

    return $out;
}

sub table_entry {
    my ($index, $dynamic) = @_;

    return $STATIC[$index] if $index <= $#STATIC;
    return $dynamic->[$index - @STATIC] // ['?', '?'];
}

sub hpack_decode {
    my ($block, $dynamic) = @_;

    my $pos = 0;
    my @list;

    while ($pos < length $block) {
        my $b = ord substr($block, $pos, 1);
        my ($name, $value, $index);

        if ($b & 0x80) {
            push @list, [@{ table_entry(decode_int(\$block, \$pos, 7),
                $dynamic) }];
            next;
        }

        if (($b & 0xe0) == 0x20) {
            decode_int(\$block, \$pos, 5);
            next;
        }

        my $incremental = ($b & 0xc0) == 0x40;
        $index = decode_int(\$block, \$pos, $incremental ? 6 : 4);

        $name = $index ? table_entry($index, $dynamic)->[0]
            : decode_string(\$block, \$pos);
        $value = decode_string(\$block, \$pos);

        unshift @$dynamic, [$name, $value] if $incremental;
        push @list, [$name, $value];
    }

    return @list;
}

1;
