package Manta::Mock;

# A mock of the Manta API for the tests and for "make run".
#
# An HTTP/1.1 server on 127.0.0.1 that forks one process per connection,
# keeps connections alive, reads Content-Length and chunked request bodies,
# appends every request it receives to a log file, and answers through a
# responder (by default 200 {"success":true,"message":"client tag created"}).
#
# The log is a sequence of netstrings ("<len>:<bytes>,"), binary-safe: per
# request one netstring holding the netstrings of method, uri, version,
# the number of headers, each header's name and value, and the de-chunked
# body.  read_log() gives them back as a list of hashes.
#
# Standalone:  perl t/lib/Manta/Mock.pm --port 9000 [--log FILE] [--quiet]

use strict;
use warnings;

use Fcntl qw(:flock O_WRONLY O_APPEND O_CREAT);
use IO::Select;
use IO::Socket::INET;
use POSIX qw(WNOHANG _exit);

our $DEFAULT_BODY = '{"success":true,"message":"client tag created"}';

my %REASON = (
    100 => 'Continue', 200 => 'OK', 201 => 'Created', 204 => 'No Content',
    301 => 'Moved Permanently', 302 => 'Found', 304 => 'Not Modified',
    400 => 'Bad Request', 401 => 'Unauthorized', 403 => 'Forbidden',
    404 => 'Not Found', 405 => 'Method Not Allowed', 409 => 'Conflict',
    413 => 'Payload Too Large', 415 => 'Unsupported Media Type',
    422 => 'Unprocessable Entity', 429 => 'Too Many Requests',
    500 => 'Internal Server Error', 502 => 'Bad Gateway',
    503 => 'Service Unavailable', 504 => 'Gateway Timeout',
);

###############################################################################

# new(port => N (0: any), log => FILE, responder => CODE, verbose => 0|1,
#     idle_timeout => seconds a kept-alive connection may stay idle)

sub new {
    my ($class, %args) = @_;

    return bless {
        port         => $args{port} // 0,
        log          => $args{log},
        responder    => $args{responder},
        verbose      => $args{verbose} // 0,
        mask         => $args{mask} // 0,
        idle_timeout => $args{idle_timeout} // 30,
    }, $class;
}

sub port {
    return $_[0]->{port};
}

sub listen {
    my ($self) = @_;

    $self->{sock} = IO::Socket::INET->new(
        LocalAddr => '127.0.0.1',
        LocalPort => $self->{port},
        Proto     => 'tcp',
        Listen    => 128,
        ReuseAddr => 1,
    ) or die "mock: cannot listen on 127.0.0.1:$self->{port}: $@\n";

    $self->{port} = $self->{sock}->sockport();

    return $self;
}

# Forks the server.  The listening socket exists before fork() returns, so
# the mock accepts connections as soon as start() is done.

sub start {
    my ($self) = @_;

    $self->listen() unless $self->{sock};

    my $pid = fork();
    die "mock: fork: $!\n" unless defined $pid;

    if ($pid == 0) {
        # its own process group: stop() ends the connection processes too
        setpgrp(0, 0);
        eval { $self->serve() };
        print STDERR "mock: $@" if $@;
        _exit(0);
    }

    close $self->{sock};
    delete $self->{sock};
    $self->{pid} = $pid;

    return $self;
}

sub stop {
    my ($self) = @_;

    my $pid = delete $self->{pid} or return;

    kill 'TERM', -$pid;
    kill 'TERM', $pid;

    for (1 .. 50) {
        return if waitpid($pid, WNOHANG) == $pid;
        select undef, undef, undef, 0.05;
    }

    kill 'KILL', -$pid;
    kill 'KILL', $pid;
    waitpid($pid, 0);
}

sub DESTROY {
    my ($self) = @_;
    $self->stop() if $self->{pid} && !$self->{child};
}

###############################################################################

sub serve {
    my ($self) = @_;

    my %kids;

    local $SIG{CHLD} = sub {
        while ((my $p = waitpid(-1, WNOHANG)) > 0) {
            delete $kids{$p};
        }
    };
    local $SIG{TERM} = sub {
        kill 'TERM', keys %kids;
        _exit(0);
    };

    $self->{child} = 1;

    while (1) {
        my $c = $self->{sock}->accept();

        if (!$c) {
            next if $!{EINTR} || $!{ECONNABORTED};
            die "accept: $!\n";
        }

        my $pid = fork();

        if (!defined $pid) {
            close $c;
            next;
        }

        if ($pid == 0) {
            $SIG{CHLD} = 'DEFAULT';
            $SIG{TERM} = 'DEFAULT';
            close $self->{sock};
            eval { $self->handle($c) };
            print STDERR "mock: $@" if $@ && $self->{verbose};
            _exit(0);
        }

        $kids{$pid} = 1;
        close $c;
    }
}

sub handle {
    my ($self, $c) = @_;

    binmode $c;
    $c->autoflush(1);

    my $buf = '';

    while (1) {
        my $req = read_request($c, \$buf, $self->{idle_timeout}) or return;

        $self->record($req);

        if ($self->{verbose}) {
            my ($auth) = map { $_->[1] } grep { lc $_->[0] eq 'authorization' }
                @{ $req->{headers} };
            my $body = $req->{body};

            if ($self->{mask}) {
                $auth =~ s/^(Bearer \S{0,6})\S*/$1.../ if defined $auth;
                $body =~ s/("secret":")(?:[^"\\]|\\.)*"/$1***"/g;
            }

            printf STDERR "mock: %s %s%s body: %s\n", $req->{method},
                $req->{uri},
                defined $auth ? " (Authorization: $auth)" : '',
                $body;
        }

        my @res = eval {
            $self->{responder} ? $self->{responder}->($req)
                : (200, ['Content-Type' => 'application/json'], $DEFAULT_BODY);
        };

        if ($@) {
            @res = (500, ['Content-Type' => 'text/plain'], "responder: $@");
        }

        # a scalar reference: exact bytes, then close

        if (ref $res[0] eq 'SCALAR') {
            print $c ${ $res[0] };
            return;
        }

        # a code reference: called with the connection, writes the whole
        # response itself (in pieces, with pauses...), then close

        if (ref $res[0] eq 'CODE') {
            $res[0]->($c);
            return;
        }

        my ($status, $headers, $body) = @res;
        $headers //= [];
        $body //= '';

        my $close = wants_close($req);
        my (%have, $out);

        $out = "HTTP/1.1 $status " . ($REASON{$status} // 'Unknown') . "\r\n";

        for (my $i = 0; $i < @$headers; $i += 2) {
            $have{ lc $headers->[$i] } = 1;
            $out .= "$headers->[$i]: $headers->[$i + 1]\r\n";
            $close = 1 if lc $headers->[$i] eq 'connection'
                && $headers->[$i + 1] =~ /close/i;
        }

        if (!$have{'content-length'} && !$have{'transfer-encoding'}) {
            $out .= "Content-Length: " . length($body) . "\r\n";
        }

        $out .= "Connection: close\r\n" if $close && !$have{connection};
        $out .= "\r\n";
        $out .= $body unless $req->{method} eq 'HEAD';

        print $c $out;

        return if $close;
    }
}

sub wants_close {
    my ($req) = @_;

    my $conn = join ',', map { $_->[1] }
        grep { lc $_->[0] eq 'connection' } @{ $req->{headers} };

    return 1 if $conn =~ /\bclose\b/i;
    return 0 if $req->{version} eq 'HTTP/1.1';
    return $conn =~ /\bkeep-alive\b/i ? 0 : 1;
}

# Reads one request from $c into a hash; $$buf holds bytes read ahead.
# Returns undef on EOF or idle timeout before a request starts.

sub read_request {
    my ($c, $buf, $timeout) = @_;

    my $sel = IO::Select->new($c);

    my $more = sub {
        return 0 unless $sel->can_read($timeout);
        my $n = sysread($c, $$buf, 65536, length $$buf);
        return $n ? 1 : 0;
    };

    while ($$buf !~ /\r?\n\r?\n/) {
        return undef unless $more->();
    }

    $$buf =~ s/^(.*?)\r?\n\r?\n//s;
    my @lines = split /\r?\n/, $1;

    my ($method, $uri, $version) = split / /, shift(@lines), 3;
    $version //= 'HTTP/0.9';

    my @headers;

    for my $line (@lines) {
        if ($line =~ /^[ \t]/ && @headers) {
            $headers[-1][1] .= $line;
            next;
        }
        my ($name, $value) = $line =~ /^([^:]*):[ \t]*(.*?)[ \t]*$/;
        push @headers, [$name // $line, $value // ''];
    }

    my %h;
    $h{ lc $_->[0] } = $_->[1] for @headers;

    my $body = '';
    my $need = sub {
        my ($n) = @_;
        while (length $$buf < $n) {
            die "connection closed in the request body\n" unless $more->();
        }
    };

    if (($h{'transfer-encoding'} // '') =~ /chunked/i) {
        while (1) {
            while ($$buf !~ /\r\n/) {
                die "connection closed in a chunk size\n" unless $more->();
            }
            $$buf =~ s/^([0-9a-fA-F]+)[^\r\n]*\r\n//
                or die "bad chunk size line\n";
            my $size = hex $1;

            if ($size == 0) {
                # trailer fields, then the empty line
                while ($$buf !~ /^(?:[^\r\n]+\r\n)*\r\n/) {
                    die "connection closed in the trailer\n"
                        unless $more->();
                }
                $$buf =~ s/^(?:[^\r\n]+\r\n)*\r\n//;
                last;
            }

            $need->($size + 2);
            $body .= substr($$buf, 0, $size);
            substr($$buf, 0, $size + 2) = '';
        }

    } elsif (defined $h{'content-length'}) {
        my $n = $h{'content-length'};
        die "bad Content-Length\n" unless $n =~ /^\d+$/;
        $need->($n);
        $body = substr($$buf, 0, $n);
        substr($$buf, 0, $n) = '';
    }

    return {
        method  => $method,
        uri     => $uri,
        version => $version,
        headers => \@headers,
        body    => $body,
    };
}

###############################################################################

sub netstring {
    return length($_[0]) . ':' . $_[0] . ',';
}

sub record {
    my ($self, $req) = @_;

    return unless defined $self->{log};

    my $rec = join '', map { netstring($_) } $req->{method}, $req->{uri},
        $req->{version}, scalar @{ $req->{headers} },
        (map { @$_ } @{ $req->{headers} }), $req->{body};

    sysopen(my $fh, $self->{log}, O_WRONLY | O_APPEND | O_CREAT, 0644)
        or die "mock: cannot open $self->{log}: $!\n";
    binmode $fh;
    flock($fh, LOCK_EX);
    syswrite($fh, netstring($rec));
    close $fh;
}

# The recorded requests, oldest first.

sub read_log {
    my ($file) = @_;

    open(my $fh, '<', $file) or return ();
    binmode $fh;
    flock($fh, LOCK_SH);
    local $/;
    my $data = <$fh> // '';
    close $fh;

    my @requests;

    while (length $data) {
        my $rec = take_netstring(\$data);
        my @f;
        push @f, take_netstring(\$rec) while length $rec;

        my ($method, $uri, $version, $n) = splice @f, 0, 4;
        my @headers;
        push @headers, [splice @f, 0, 2] for 1 .. $n;

        push @requests, {
            method  => $method,
            uri     => $uri,
            version => $version,
            headers => \@headers,
            body    => $f[0],
        };
    }

    return @requests;
}

sub take_netstring {
    my ($data) = @_;

    $$data =~ s/^(\d+)://s or die "mock log: bad netstring\n";
    my $s = substr($$data, 0, $1);
    substr($$data, 0, $1 + 1) = '';

    return $s;
}

###############################################################################

sub main {
    my (@argv) = @_;

    my %o = (port => 9000, quiet => 0);

    while (@argv) {
        my $a = shift @argv;
        if ($a eq '--port') { $o{port} = shift @argv; }
        elsif ($a eq '--log') { $o{log} = shift @argv; }
        elsif ($a eq '--quiet') { $o{quiet} = 1; }
        elsif ($a eq '--mask') { $o{mask} = 1; }
        else {
            die "usage: $0 --port N [--log FILE] [--quiet] [--mask]\n";
        }
    }

    my $mock = __PACKAGE__->new(port => $o{port}, log => $o{log},
        verbose => !$o{quiet}, mask => $o{mask});
    $mock->listen();

    $| = 1;

    $mock->serve();
}

main(@ARGV) unless caller;

1;
