package Manta::Redis;

# A redis-server of its own for a test: started on a free port as a child
# (no persistence), a tiny RESP client for the test's own commands, and
# stop/kill/restart.  Skips the test when redis-server is missing.

use warnings;
use strict;

use IO::Socket::INET;
use POSIX qw(:sys_wait_h);
use Test::More ();
use Time::HiRes qw(sleep time);

# every server started, for END: a frozen one is thawed and killed even
# when the test dies

my %RUNNING;

sub new {
    my ($class, %args) = @_;

    my $self = bless { port => $args{port}, dir => $args{dir},
        args => $args{args} // [] }, $class;

    return $self->start();
}

sub available {
    return -x '/usr/bin/redis-server' || `which redis-server 2>/dev/null`;
}

# The redis-server of a test: on the port REDIS of the Manta::Test $t, in
# its directory, with the extra arguments given; the whole test is skipped
# when redis-server is not installed.

sub for_test {
    my ($class, $t, @args) = @_;

    Test::More::plan(skip_all => 'redis-server not installed (make deps)')
        unless available();

    return $class->new(port => $t->port('REDIS'), dir => $t->dir(),
        args => \@args);
}

# An ACL user with every key, channel and command, and its password.

sub acl_user {
    my ($self, $user, $password) = @_;

    return $self->cmd('ACL', 'SETUSER', $user, 'on', ">$password", '~*',
        '&*', '+@all');
}

# A configuration of several gateways sharing this server: REDIS_PORT in
# $conf becomes the port of this server, each other NAME given the value
# given, wherever they stand.

sub config {
    my ($self, $conf, %subst) = @_;

    $subst{REDIS_PORT} = $self->{port};

    for my $name (sort keys %subst) {
        $conf =~ s/\Q$name\E/$subst{$name}/g;
    }

    return $conf;
}

sub start {
    my ($self) = @_;

    my $pid = fork();
    die "fork: $!\n" unless defined $pid;

    if (!$pid) {
        open(STDOUT, '>>', "$self->{dir}/redis.log");
        open(STDERR, '>&', \*STDOUT);
        exec('redis-server', '--port', $self->{port}, '--bind', '127.0.0.1',
            '--save', '', '--appendonly', 'no', '--daemonize', 'no',
            '--enable-debug-command', 'local', '--dir', $self->{dir},
            @{ $self->{args} })
            or POSIX::_exit(127);
    }

    $self->{pid} = $pid;
    $RUNNING{$pid} = 1;

    my $deadline = time() + 10;

    while (time() < $deadline) {
        my $r = eval { $self->cmd('PING') };
        return $self if defined $r && $r eq 'PONG';
        sleep 0.02;
    }

    die "redis-server did not start on port $self->{port}\n";
}

sub stop {
    my ($self, $sig) = @_;

    return unless $self->{pid};

    kill $sig // 'TERM', $self->{pid};
    kill 'CONT', $self->{pid};
    waitpid($self->{pid}, 0);
    delete $RUNNING{$self->{pid}};
    delete $self->{pid};
    delete $self->{sock};
}

# One command, its reply: a string, an integer, an array ref, undef for
# nil; an error reply dies with its text.

sub cmd {
    my ($self, @args) = @_;

    my $s = $self->send(@args);
    return read_reply($s);
}

# Sends a command on a connection of its own and does not wait (DEBUG
# SLEEP); returns the socket.

sub send_only {
    my ($self, @args) = @_;

    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$self->{port}",
        Proto => 'tcp') or die "redis connect: $!\n";
    print $s resp(@args);

    return $s;
}

sub send {
    my ($self, @args) = @_;

    $self->{sock} //= IO::Socket::INET->new(
        PeerAddr => "127.0.0.1:$self->{port}", Proto => 'tcp')
        or die "redis connect: $!\n";

    my $s = $self->{sock};
    print $s resp(@args);

    return $s;
}

sub resp {
    my (@args) = @_;
    return join '', "*" . @args . "\r\n",
        map { '$' . length($_) . "\r\n$_\r\n" } @args;
}

sub read_reply {
    my ($s) = @_;

    my $line = <$s>;
    die "redis: connection closed\n" unless defined $line;
    $line =~ s/\r\n$//;

    my ($t, $v) = (substr($line, 0, 1), substr($line, 1));

    return $v if $t eq '+';
    return $v + 0 if $t eq ':';
    die "redis: $v\n" if $t eq '-';

    if ($t eq '$') {
        return undef if $v < 0;
        my $buf = '';
        read($s, $buf, $v + 2);
        return substr($buf, 0, $v);
    }

    if ($t eq '*') {
        return undef if $v < 0;
        return [map { read_reply($s) } 1 .. $v];
    }

    die "redis: unexpected \"$line\"\n";
}

# calls of a command from INFO commandstats (0 when never called)

sub calls {
    my ($self, $name) = @_;

    my $info = $self->cmd('INFO', 'commandstats');
    return $info =~ /^cmdstat_\Q$name\E:calls=(\d+)/m ? $1 : 0;
}

# SIGSTOP: the server freezes, its connections stay open (no RST);
# thaw() sends SIGCONT

sub freeze {
    my ($self) = @_;
    kill 'STOP', $self->{pid} if $self->{pid};
}

sub thaw {
    my ($self) = @_;
    kill 'CONT', $self->{pid} if $self->{pid};
}

sub pid {
    my ($self) = @_;
    return $self->{pid};
}

END {
    local $?;   # the test's exit status

    for my $pid (keys %RUNNING) {
        kill 'CONT', $pid;
        kill 'KILL', $pid;
        waitpid($pid, 0);
    }
}

sub DESTROY {
    my ($self) = @_;
    $self->stop('KILL') if $self->{pid};
}

1;
