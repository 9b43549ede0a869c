package Manta::Client;

# The HTTP clients of Manta::Test, inherited by it: http(), post(), raw(),
# keepalive(), parallel(), h2(), curl_h2(); and the wire helpers they share
# (build_request, write_all, read_some, read_until, parse_response), which
# Manta::Test re-exports under its own name.
#
# Methods use the test object's port(), next_seq(), mock_clear(),
# write_file() and run_command(); every wait is scaled by
# $Manta::Test::SCALE.

use strict;
use warnings;

use Exporter qw(import);
use IO::Select;
use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(sleep time);

use Manta::HTTP2;

our @EXPORT_OK = qw(build_request write_all read_some read_until
    parse_response);

sub default_timeout {
    return 5 * ($Manta::Test::SCALE // 1);
}

###############################################################################

# http(METHOD, URI, headers => [Name => value, ...], body => BYTES,
#      chunks => [BYTES, ...], parts => [BYTES, ...], delay => SECONDS,
#      expect_continue => 1, version => 'HTTP/1.0', keepalive => 1,
#      no_length => 1, no_host => 1, port => N, timeout => SECONDS)
#
# Returns {status, reason, version, headers => {lc name => value},
# header_list => [[name, value], ...], body (de-chunked), raw, interim =>
# [1xx status lines]}, or undef when no response could be read.

sub http {
    my ($self, $method, $uri, %o) = @_;

    my $port = $o{port} // $self->port('8080');
    my ($head, $body) = build_request($method, $uri, %o,
        seq => $self->next_seq());
    my $timeout = $o{timeout} // default_timeout();

    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
        Proto => 'tcp', Timeout => $timeout);

    if (!$s) {
        diag("connect to 127.0.0.1:$port: $@");
        return undef;
    }

    binmode $s;
    my $buf = '';
    my $continue;

    if ($o{expect_continue}) {
        write_all($s, $head);

        # the interim response or a final one, before the body is sent

        read_until($s, \$buf, qr/\r\n\r\n/, $timeout);

        if ($buf =~ s{^(HTTP/1\.[01] 100[^\r\n]*)\r\n\r\n}{}) {
            $continue = $1;
            write_all($s, $body);
        }

    } elsif ($o{parts}) {
        write_all($s, $head);
        for my $part (@{ $o{parts} }) {
            sleep($o{delay} // 0.05);
            write_all($s, $part);
        }

    } else {
        write_all($s, $head . $body);
    }

    read_until($s, \$buf, undef, $timeout);
    close $s;

    my $res = parse_response($buf, method => $method, eof => 1)
        or return undef;

    unshift @{ $res->{interim} }, $continue if defined $continue;

    return $res;
}

# POST with Content-Type: application/json (content_type => VALUE, or
# undef for none), after clearing the mock's record.

sub post {
    my ($self, $uri, $body, %o) = @_;

    my $ct = exists $o{content_type} ? delete $o{content_type}
        : 'application/json';
    my @headers = @{ delete $o{headers} // [] };
    unshift @headers, 'Content-Type' => $ct if defined $ct;

    $self->mock_clear();

    return $self->http(delete $o{method} // 'POST', $uri,
        headers => \@headers, body => $body, %o);
}

# Sends exact bytes (a string, or a list of parts sent "delay" apart) and
# reads until the server closes or the timeout passes.

sub raw {
    my ($self, $bytes, %o) = @_;

    my $port = $o{port} // $self->port('8080');
    my $timeout = $o{timeout} // default_timeout();

    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
        Proto => 'tcp', Timeout => $timeout) or return undef;
    binmode $s;

    my @parts = ref $bytes ? @$bytes : ($bytes);

    for my $i (0 .. $#parts) {
        sleep($o{delay} // 0.05) if $i;
        write_all($s, $parts[$i]);
    }

    my $buf = '';
    read_until($s, \$buf, undef, $timeout);
    close $s;

    return $buf;
}

# Several requests on one connection: each [METHOD, URI, %opts as http()];
# pipeline => 1 sends them all in one write, else one at a time after the
# previous response.  Returns one response (or undef) per request.

sub keepalive {
    my ($self, $requests, %o) = @_;

    my $port = $o{port} // $self->port('8080');
    my $timeout = $o{timeout} // default_timeout();

    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
        Proto => 'tcp', Timeout => $timeout) or return ();
    binmode $s;

    my @wire = map {
        my ($m, $u, %ro) = @$_;
        join '', build_request($m, $u, keepalive => 1, %ro,
            seq => $self->next_seq());
    } @$requests;

    write_all($s, join '', @wire) if $o{pipeline};

    my ($buf, @responses) = ('');

    for my $i (0 .. $#$requests) {
        write_all($s, $wire[$i]) unless $o{pipeline};

        my $method = $requests->[$i][0];
        my ($res, $used);
        my $deadline = time() + $timeout;
        my $eof = 0;

        while (1) {
            ($res, $used) = parse_response($buf, method => $method,
                eof => $eof);
            last if $res || $eof || time() >= $deadline;
            $eof = !read_some($s, \$buf, $deadline - time());
        }

        push @responses, $res;
        last unless $res;
        substr($buf, 0, $used) = '';
    }

    close $s;

    return @responses;
}

# Several requests at once, one connection each: every connection is
# opened, then every request is written, before any response is read.
# Each request is [METHOD, URI, %opts as http()] (body, headers, chunks).
# Returns one response (or undef) per request, in order, each with
# "elapsed": seconds from just before the first write to its arrival, and
# "seq": its X-Seq number.

sub parallel {
    my ($self, $requests, %o) = @_;

    my $port = $o{port} // $self->port('8080');
    my $timeout = $o{timeout} // default_timeout();
    my (@socks, @wire, @bufs, @seqs, @responses, %left);

    for my $i (0 .. $#$requests) {
        my ($m, $u, %ro) = @{ $requests->[$i] };

        $socks[$i] = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
            Proto => 'tcp', Timeout => $timeout);

        if (!$socks[$i]) {
            diag("connect to 127.0.0.1:$port: $@");
            next;
        }

        binmode $socks[$i];
        $seqs[$i] = $self->next_seq();
        $wire[$i] = join '', build_request($m, $u, %ro, seq => $seqs[$i]);
        $bufs[$i] = '';
        $left{ fileno $socks[$i] } = $i;
    }

    my $start = time();

    write_all($socks[$_], $wire[$_]) for values %left;

    my $sel = IO::Select->new(map { $socks[$_] } values %left);
    my $deadline = $start + $timeout;

    while (%left && time() < $deadline) {
        for my $s ($sel->can_read($deadline - time())) {
            my $i = $left{ fileno $s };
            my $n = sysread($s, $bufs[$i], 65536, length $bufs[$i]);
            my $res = parse_response($bufs[$i], method => $requests->[$i][0],
                eof => !$n);

            next unless $res || !$n;

            if ($res) {
                $res->{elapsed} = time() - $start;
                $res->{seq} = $seqs[$i];
            }

            $responses[$i] = $res;
            delete $left{ fileno $s };
            $sel->remove($s);
            close $s;
        }
    }

    close $socks[$_] for values %left;

    return map { $responses[$_] } 0 .. $#$requests;
}

# HTTP/2 with prior knowledge through Manta::HTTP2; the response as http().
# h2(METHOD, URI, headers => [...], body => BYTES, body_delay => SECONDS,
#    port => N (default %%PORT_H2%%), clear => 1 (mock_clear first))

sub h2 {
    my ($self, $method, $uri, %o) = @_;

    $self->mock_clear() if $o{clear};

    return Manta::HTTP2::request(port => $o{port} // $self->port('H2'),
        method => $method, path => $uri,
        headers => [@{ $o{headers} // [] }, 'X-Seq' => $self->next_seq()],
        body => $o{body}, body_delay => $o{body_delay},
        timeout => $o{timeout} // default_timeout());
}

# The same through curl --http2-prior-knowledge, for an interoperability
# check with a real client.  Only for requests whose body nginx reads
# before answering: curl 7.88 (Debian 12) reports error 92 or 52 instead
# of the response when a server answers an upload early and resets the
# stream with NO_ERROR, as nginx does (curl/curl#22984).

sub curl_h2 {
    my ($self, $method, $uri, %o) = @_;

    my $port = $o{port} // $self->port('H2');
    my @cmd = ('curl', '-sS', '-i', '--http2-prior-knowledge',
        '--max-time', $o{timeout} // default_timeout(), '-X', $method);

    my @h = (@{ $o{headers} // [] }, 'X-Seq' => $self->next_seq());

    while (my ($n, $v) = splice @h, 0, 2) {
        push @cmd, '-H', "$n: $v";
    }

    if (defined $o{body}) {
        my $file = $self->write_file('h2-body', $o{body});
        push @cmd, '--data-binary', "\@$file";
    }

    push @cmd, "http://127.0.0.1:$port$uri";

    $self->mock_clear() if $o{clear};

    my ($status, $out) = $self->run_command(@cmd);

    if ($status != 0) {
        diag("curl exited with $status: $out");
        return undef;
    }

    return parse_response($out, method => $method, eof => 1);
}

###############################################################################

sub build_request {
    my ($method, $uri, %o) = @_;

    my $version = $o{version} // 'HTTP/1.1';
    my @h = @{ $o{headers} // [] };
    my (%have, $head);

    $head = "$method $uri $version\r\n";

    for (my $i = 0; $i < @h; $i += 2) {
        $have{ lc $h[$i] } = 1;
    }

    $head .= "Host: localhost\r\n" unless $have{host} || $o{no_host};
    $head .= "X-Seq: $o{seq}\r\n" if defined $o{seq};

    for (my $i = 0; $i < @h; $i += 2) {
        $head .= "$h[$i]: $h[$i + 1]\r\n";
    }

    my $body = '';

    if ($o{chunks}) {
        $head .= "Transfer-Encoding: chunked\r\n"
            unless $have{'transfer-encoding'};
        $body = join '', map { sprintf("%x\r\n%s\r\n", length $_, $_) }
            grep { length } @{ $o{chunks} };
        $body .= "0\r\n\r\n";

    } elsif (defined $o{body} || $o{parts}) {
        $body = $o{body} // '';
        my $len = length $body;
        $len += length $_ for @{ $o{parts} // [] };

        $head .= "Content-Length: $len\r\n"
            unless $have{'content-length'} || $o{no_length};
    }

    $head .= "Expect: 100-continue\r\n"
        if $o{expect_continue} && !$have{expect};

    $head .= "Connection: close\r\n" unless $have{connection} || $o{keepalive};
    $head .= "\r\n";

    return ($head, $body);
}

sub write_all {
    my ($s, $data) = @_;

    local $SIG{PIPE} = 'IGNORE';

    while (length $data) {
        my $n = syswrite($s, $data);
        return 0 unless $n;
        substr($data, 0, $n) = '';
    }

    return 1;
}

# One read into $$buf; 0 on EOF, error or timeout.

sub read_some {
    my ($s, $buf, $timeout) = @_;

    return 0 if $timeout <= 0;
    return 0 unless IO::Select->new($s)->can_read($timeout);

    my $n = sysread($s, $$buf, 65536, length $$buf);

    return $n ? 1 : 0;
}

# Reads until $$buf matches $re (or, without $re, until EOF) or timeout.

sub read_until {
    my ($s, $buf, $re, $timeout) = @_;

    my $deadline = time() + $timeout;

    while (!defined $re || $$buf !~ $re) {
        last unless read_some($s, $buf, $deadline - time());
    }
}

# parse_response(BYTES, method => M, eof => 1): in list context also the
# number of bytes used; undef while the response is incomplete (with eof,
# a body without framing runs to the end).

sub parse_response {
    my ($buf, %o) = @_;

    my $method = $o{method} // 'GET';
    my $pos = 0;
    my @interim;

    while (1) {
        my $end = index($buf, "\r\n\r\n", $pos);
        return undef if $end < 0;

        my $head = substr($buf, $pos, $end - $pos);
        my @lines = split /\r\n/, $head;
        my $status_line = shift @lines;

        my ($version, $status, $reason) =
            $status_line =~ m{^(HTTP/[\d.]+) (\d{3})(?: (.*))?$}
            or return undef;

        $pos = $end + 4;

        if ($status =~ /^1/ && $status != 101) {
            push @interim, $status_line;
            next;
        }

        my (%h, @list);

        for my $line (@lines) {
            my ($n, $v) = $line =~ /^([^:]+):\s*(.*?)\s*$/ or next;
            push @list, [$n, $v];
            $h{ lc $n } = exists $h{ lc $n } ? "$h{lc $n}, $v" : $v;
        }

        my $body;

        if ($method eq 'HEAD' || $status =~ /^(?:204|304)$/) {
            $body = '';

        } elsif (($h{'transfer-encoding'} // '') =~ /chunked/i) {
            $body = '';
            while (1) {
                my $nl = index($buf, "\r\n", $pos);
                return undef if $nl < 0;
                my ($size) = substr($buf, $pos, $nl - $pos) =~ /^([0-9a-f]+)/i;
                return undef unless defined $size;
                $size = hex $size;
                $pos = $nl + 2;

                if ($size == 0) {
                    my $t = index($buf, "\r\n\r\n", $pos - 2);
                    return undef if $t < 0;
                    $pos = $t + 4;
                    last;
                }

                return undef if length($buf) < $pos + $size + 2;
                $body .= substr($buf, $pos, $size);
                $pos += $size + 2;
            }

        } elsif (defined $h{'content-length'}
            && $h{'content-length'} =~ /^\d+$/)
        {
            return undef if length($buf) < $pos + $h{'content-length'};
            $body = substr($buf, $pos, $h{'content-length'});
            $pos += $h{'content-length'};

        } else {
            return undef unless $o{eof};
            $body = substr($buf, $pos);
            $pos = length $buf;
        }

        my $res = {
            status      => $status + 0,
            reason      => $reason // '',
            version     => $version,
            headers     => \%h,
            header_list => \@list,
            body        => $body,
            raw         => substr($buf, 0, $pos),
            interim     => \@interim,
        };

        return wantarray ? ($res, $pos) : $res;
    }
}


1;
