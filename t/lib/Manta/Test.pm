package Manta::Test;

# Test harness for ngx_http_manta_module, core Perl only, shaped like
# nginx-tests' Test::Nginx: nginx runs as a child of the test with
# "daemon off", is stopped with QUIT and reaped with waitpid.
#
#   my $t = Manta::Test->new()->write_config(<<'EOF');
#   ...                            # %%MODULE%% %%GLOBALS%% %%HTTP_GLOBALS%%
#   ...                            # %%MANTA_*%% (see %FIXTURES)
#   EOF                            # %%PORT_<NAME>%% %%TESTDIR%%
#   (or $t->write_gateway(<<'EOF') with the test's own locations)
#   $t->write_creds();             # creds.json, mode 0600
#   $t->run();                     # mock (if %%PORT_MOCK%% is used), nginx
#   my $r = $t->post('/openapi/clientTag?botId=bot-a', '{"name":"x"}');
#   is($r->{status}, 200, '...');
#   my @seen = $t->mock_requests();
#   $t->done();                    # stop, scan error.log, done_testing
#
# This file: the test directory, ports, configuration, nginx's lifecycle
# (run, reload, stop, workers), logs and the mock.  Inherited from
#   Manta::Client     http, post, raw, keepalive, parallel, h2, curl_h2
#   Manta::Sanitizer  sanitizer and valgrind report triage
#   Manta::Assert     is_rejected, and the exported checkers
#
# Environment: NGINX_BIN (default /usr/sbin/nginx), MANTA_MODULE (the .so,
# required by configurations using %%MODULE%%), MANTA_KEEP=1 keeps the
# temporary directory.

use strict;
use warnings;

use Cwd ();
use Exporter qw(import);
use File::Basename ();
use Fcntl qw(:flock);
use File::Path qw(remove_tree);
use File::Temp qw(tempdir);
use IO::Handle;
use IO::Socket::INET;
use JSON::PP ();
use POSIX qw(WNOHANG _exit);
use Scalar::Util qw(weaken);
use Test::More;
use Time::HiRes qw(sleep time clock_gettime CLOCK_MONOTONIC);

use Manta::Assert qw(is_error_response error_response_problems error_body
    token_id jwt json_str header_values);
use Manta::Client qw(build_request write_all read_some read_until
    parse_response);
use Manta::Mock;
use Manta::Sanitizer;

use parent -norequire, qw(Manta::Client Manta::Sanitizer Manta::Assert);

our @EXPORT = qw(
    is_error_response error_response_problems error_body
    parse_response token_id jwt json_str header_values
    nginx_clock nginx_second
);

# reason code => [status, ErrorResponse message]: see Manta::Assert

our %REASON;
*REASON = \%Manta::Assert::REASON;

# MANTA_TIMEOUT_SCALE (set by make test-asan and make test-valgrind): every
# wait for nginx (start, stop, reload, a response, a log line) is that many
# times longer

our $SCALE = ($ENV{MANTA_TIMEOUT_SCALE} // q{}) =~ /^\d+(?:\.\d+)?$/
    && $ENV{MANTA_TIMEOUT_SCALE} > 0 ? $ENV{MANTA_TIMEOUT_SCALE} : 1;

my $TIMEOUT = 5 * $SCALE;

# MANTA_VALGRIND (make test-valgrind): nginx runs under valgrind, far too
# slowly for a test's timing bounds; such a test skips them on
# $Manta::Test::VALGRIND

our $VALGRIND = $ENV{MANTA_VALGRIND} ? 1 : 0;

# a test runs in t/ (relative paths such as lib/ or ../src), wherever it
# was started from: the directory above this file's lib/

chdir(Cwd::abs_path(File::Basename::dirname(__FILE__) . '/../..'))
    or die "cannot chdir to t/: $!\n";

# a test's output unbuffered, as nginx-tests' files set it each

STDERR->autoflush(1);
STDOUT->autoflush(1);
my @INSTANCES;
my %PORTS_TAKEN;

###############################################################################

sub new {
    my ($class, %args) = @_;

    my $dir = tempdir('manta-test-XXXXXXXX', TMPDIR => 1, CLEANUP => 0);

    # workers run as nobody: they traverse the directory and write the
    # temp paths; the master (root) reads the credentials

    chmod 0755, $dir;

    for my $sub (qw/client_body_temp proxy_temp fastcgi_temp uwsgi_temp
        scgi_temp/)
    {
        mkdir "$dir/$sub";
        chmod 0777, "$dir/$sub";
    }

    my $self = bless {
        dir     => $dir,
        nginx   => $ENV{NGINX_BIN} // '/usr/sbin/nginx',
        module  => $ENV{MANTA_MODULE},
        ports   => {},
        allowed => [],
        owner   => $$,
        %args,
    }, $class;

    push @INSTANCES, $self;
    weaken($INSTANCES[-1]);

    return $self;
}

sub dir {
    return $_[0]->{dir};
}

# A free port per name: bound to port 0 on 127.0.0.1, read, closed.

sub port {
    my ($self, $name) = @_;

    return $self->{ports}{$name} if $self->{ports}{$name};

    for (1 .. 100) {
        my $s = IO::Socket::INET->new(
            LocalAddr => '127.0.0.1',
            LocalPort => 0,
            Proto     => 'tcp',
            Listen    => 1,
        ) or die "cannot bind a free port: $@\n";

        my $port = $s->sockport();
        close $s;

        next if $PORTS_TAKEN{$port}++;
        return $self->{ports}{$name} = $port;
    }

    die "no free port found\n";
}

sub write_file {
    my ($self, $name, $content, $mode) = @_;

    my $path = "$self->{dir}/$name";

    open(my $fh, '>', $path) or die "cannot write $path: $!\n";
    binmode $fh;
    print $fh $content;
    close $fh;

    chmod $mode, $path if defined $mode;

    return $path;
}

sub read_file {
    my ($self, $name) = @_;

    my $path = $name =~ m{^/} ? $name : "$self->{dir}/$name";

    open(my $fh, '<', $path) or return undef;
    binmode $fh;
    local $/;
    my $content = <$fh>;
    close $fh;

    return $content // '';
}

sub module_path {
    my ($self) = @_;

    my $m = $self->{module};

    if (!defined $m || !-f $m || !-r $m) {
        fail('MANTA_MODULE names a readable module file ('
            . ($m // 'unset') . ')');
        done_testing();
        exit 1;
    }

    return $m;
}

# Configuration blocks most gateway tests share, each expanded at the
# indentation of its placeholder:
#   %%MANTA_MAIN%%      (main level) %%MODULE%%, %%GLOBALS%% and an empty
#                       events block: a test's own main-level directives
#                       (worker_processes) follow it
#   %%MANTA_HTTP%%      (http level) %%HTTP_GLOBALS%%, log_format "manta"
#                       (as is_rejected() reads manta.log), then
#                       %%MANTA_UPSTREAM%%
#   %%MANTA_UPSTREAM%%  (http level) manta_credentials creds.json (see
#                       write_creds), then %%MANTA_MOCK%%
#   %%MANTA_MOCK%%      (http level) upstream "mock", the mock Manta
#   %%MANTA_MOCK_KEEPALIVE%% (http level) upstream "mock" keeping 8 idle
#                       connections, for %%MANTA_KEEPALIVE%%
#   %%MANTA_KEEPALIVE%% (server level) keepalive_requests 10000, HTTP/1.1
#                       with keepalive to the upstream
#   %%MANTA_SERVER%%    (server level) %%MANTA_LISTEN%%, then access_log
#                       manta.log in format "manta"
#   %%MANTA_LISTEN%%    (server level) listen %%PORT_8080%%, server_name
#                       localhost
#   %%MANTA_CLIENT_TAG%% (server level) location = /openapi/clientTag, the
#                       client_tag endpoint with every default, proxied to
#                       the mock's /api/openapi/clientTag
#   %%MANTA_TAG(PATH; DIRECTIVE; ...)%% (server level) location = PATH, the
#                       client_tag endpoint with the test's own directives
#                       (split at "; ", the list may go on over lines),
#                       proxied to the mock's
#                       /api/openapi/clientTag unless one is a proxy_pass
# A test with a log format of its own uses the two smaller ones.

our %FIXTURES = (
    MANTA_MAIN => <<'CONF',
%%MODULE%%
%%GLOBALS%%

events {
}
CONF
    MANTA_HTTP => <<'CONF',
%%HTTP_GLOBALS%%

log_format  manta  '$http_x_seq $status $manta_reject_reason '
                   '$manta_bot_id $manta_token_id';

%%MANTA_UPSTREAM%%
CONF
    MANTA_UPSTREAM => <<'CONF',
manta_credentials  %%TESTDIR%%/creds.json;

%%MANTA_MOCK%%
CONF
    MANTA_MOCK => <<'CONF',
upstream mock {
    server  127.0.0.1:%%PORT_MOCK%%;
}
CONF
    MANTA_MOCK_KEEPALIVE => <<'CONF',
upstream mock {
    server     127.0.0.1:%%PORT_MOCK%%;
    keepalive  8;
}
CONF
    MANTA_KEEPALIVE => <<'CONF',
keepalive_requests  10000;

proxy_http_version  1.1;
proxy_set_header    Connection "";
CONF
    MANTA_SERVER => <<'CONF',
%%MANTA_LISTEN%%

access_log  %%TESTDIR%%/manta.log  manta;
CONF
    MANTA_LISTEN => <<'CONF',
listen       127.0.0.1:%%PORT_8080%%;
server_name  localhost;
CONF
    MANTA_CLIENT_TAG => <<'CONF',
location = /openapi/clientTag {
    manta_endpoint  client_tag;
    proxy_pass      http://mock/api/openapi/clientTag;
}
CONF
);

# location = PATH for %%MANTA_TAG(PATH; DIRECTIVE; ...)%%, its directives
# aligned as the tests write them

sub tag_location {
    my ($args) = @_;

    my ($path, @own) = map { join ' ', split ' ' } split /;\s+/, $args;
    my @d = (['manta_endpoint', 'client_tag'],
        map { [split ' ', $_, 2] } @own);

    push @d, ['proxy_pass', 'http://mock/api/openapi/clientTag']
        unless grep { $_->[0] eq 'proxy_pass' } @d;

    my $w = 0;
    $w = length $_->[0] > $w ? length $_->[0] : $w for @d;

    return "location = $path {\n"
        . join('', map { defined $_->[1]
            ? sprintf("    %-*s  %s;\n", $w, @$_) : "    $_->[0];\n" } @d)
        . "}\n";
}

sub expand_fixtures {
    my ($self, $text) = @_;

    $text =~ s{^([ \t]*)%%(MANTA_\w+)(?:\(([^)]*)\))?%%[ \t]*\n}{
        my ($indent, $name, $args) = ($1, $2, $3);
        die "unknown placeholder %%$name%%\n"
            unless $FIXTURES{$name} || ($name eq 'MANTA_TAG' && defined $args);
        join '', map { /\S/ ? "$indent$_" : $_ }
            split /^/, defined $args ? tag_location($args)
                : $self->expand_fixtures($FIXTURES{$name});
    }mge;

    return $text;
}

sub expand {
    my ($self, $text) = @_;

    my $dir = $self->{dir};

    $text = $self->expand_fixtures($text);

    if ($text =~ /%%MODULE%%/) {
        my $m = $self->module_path();
        $text =~ s/%%MODULE%%/load_module $m;/g;
    }

    # nginx stays in the foreground, a child of the test (see run)

    $text =~ s{%%GLOBALS%%}{daemon off;
master_process on;
pid $dir/nginx.pid;
error_log $dir/error.log info;}g;

    $text =~ s{%%HTTP_GLOBALS%%}{access_log $dir/access.log;
    client_body_temp_path $dir/client_body_temp;
    proxy_temp_path $dir/proxy_temp;
    fastcgi_temp_path $dir/fastcgi_temp;
    uwsgi_temp_path $dir/uwsgi_temp;
    scgi_temp_path $dir/scgi_temp;}g;

    $text =~ s/%%PORT_(\w+?)%%/$self->port($1)/ge;
    $text =~ s/%%TESTDIR%%/$dir/g;

    return $text;
}

sub write_file_expand {
    my ($self, $name, $text, $mode) = @_;
    return $self->write_file($name, $self->expand($text), $mode);
}

# creds.json in the test directory (manta_credentials of %%MANTA_HTTP%%):
# the JSON text as given, or a hash reference encoded as JSON (ASCII, keys
# sorted), or without an argument the credentials most tests use: a
# default token and secret and bot "bot-a" with its own.  Mode 0600 unless
# given (the module warns about a file others can read).

our %CREDS = (
    token  => 'TOKEN-DEFAULT-xyz',
    secret => 'SECRET-DEFAULT-xyz',
    bots   => {'bot-a' => {token => 'TOKEN-A', secret => 'SECRET-A'}},
);

sub write_creds {
    my ($self, $creds, $mode) = @_;

    $creds //= \%CREDS;
    $creds = JSON::PP->new->canonical->ascii->encode($creds) if ref $creds;

    return $self->write_file('creds.json', $creds, $mode // 0600);
}

sub write_config {
    my ($self, $text) = @_;

    $text = $self->expand_fixtures($text);
    $self->{uses_mock} = 1 if $text =~ /%%PORT_MOCK%%/;
    $self->{config} = $self->expand($text);
    $self->write_file('nginx.conf', $self->{config});

    return $self;
}

# The gateway most tests run, written by write_config() with the text of
# the test at its place and indentation:
#
#   %%MANTA_MAIN%%
#   (main => main-level text)
#   http {
#       %%MANTA_HTTP%%
#       (http => http-level text)
#       server {
#           %%MANTA_SERVER%%
#           %%MANTA_CLIENT_TAG%%
#           $server: the server-level text, the test's own locations
#       }
#   }
#
# and the options that change its frame:
#   log => [NAME, FIELDS]  log_format NAME '$http_x_seq $status FIELDS' and
#                          access_log NAME.log in it, for "manta"
#   creds => PATH          manta_credentials PATH, for creds.json
#   listen => PARAMS       more parameters of the listen directive
#                          (reuseport: one socket a worker)
#   keepalive => 1         %%MANTA_MOCK_KEEPALIVE%% and %%MANTA_KEEPALIVE%%
#   client_tag => 0        without %%MANTA_CLIENT_TAG%%
# gateway_text() returns the text, placeholders unexpanded.

sub gateway_text {
    my ($self, $server, %o) = @_;

    my $at = sub {
        my ($indent, $text) = @_;
        return '' unless defined $text;
        return "\n" . join '', map { /\S/ ? "$indent$_" : $_ }
            split /^/, $text;
    };

    my $frame = defined $o{log} || defined $o{creds} || defined $o{listen}
        || $o{keepalive};
    my ($log, $fields) = @{ $o{log} // ['manta', "\$manta_reject_reason"
        . " \$manta_bot_id \$manta_token_id"] };
    my $mock = $o{keepalive} ? 'MANTA_MOCK_KEEPALIVE' : 'MANTA_MOCK';
    my $listen = join ' ', '127.0.0.1:%%PORT_8080%%', $o{listen} // ();

    my $http = $frame ? "%%HTTP_GLOBALS%%\n\n"
        . "log_format  $log  '\$http_x_seq \$status $fields';\n\n"
        . 'manta_credentials  ' . ($o{creds} // '%%TESTDIR%%/creds.json')
        . ";\n\n%%$mock%%\n" : "%%MANTA_HTTP%%\n";
    my $frontend = $frame ? "listen       $listen;\n"
        . "server_name  localhost;\n\n"
        . "access_log  %%TESTDIR%%/$log.log  $log;\n"
        . ($o{keepalive} ? "\n%%MANTA_KEEPALIVE%%\n" : '')
        : "%%MANTA_SERVER%%\n";

    return "%%MANTA_MAIN%%\n"
        . $at->('', $o{main})
        . "\nhttp {\n" . $at->(' ' x 4, $http)
        . $at->(' ' x 4, $o{http})
        . "\n    server {\n" . $at->(' ' x 8, $frontend)
        . (($o{client_tag} // 1) ? "\n        %%MANTA_CLIENT_TAG%%\n" : '')
        . $at->(' ' x 8, $server)
        . "    }\n}\n";
}

sub write_gateway {
    my ($self, @gateway) = @_;
    return $self->write_config($self->gateway_text(@gateway));
}

# Certificates in the test directory, each openssl command a test: a CA
# (ca.key, ca.crt, subject /CN=$ca), an unrelated one (other.*) and
# $name.key/$name.crt, a server certificate the CA signs for 127.0.0.1 and
# localhost.

sub write_certs {
    my ($self, $ca, $name) = @_;

    my $dir = $self->{dir};

    $self->write_file('server.ext', "subjectAltName=DNS:localhost,"
        . "IP:127.0.0.1\nbasicConstraints=CA:FALSE\n");

    for my $cmd (
        [qw/req -x509 -newkey rsa:2048 -nodes -days 2 -subj/, "/CN=$ca",
            '-keyout', "$dir/ca.key", '-out', "$dir/ca.crt"],
        [qw/req -x509 -newkey rsa:2048 -nodes -days 2 -subj/, '/CN=Other CA',
            '-keyout', "$dir/other.key", '-out', "$dir/other.crt"],
        [qw/req -newkey rsa:2048 -nodes -subj/, '/CN=localhost',
            '-keyout', "$dir/$name.key", '-out', "$dir/$name.csr"],
        [qw/x509 -req -days 2 -set_serial 2/, '-in', "$dir/$name.csr",
            '-CA', "$dir/ca.crt", '-CAkey', "$dir/ca.key",
            '-extfile', "$dir/server.ext", '-out', "$dir/$name.crt"])
    {
        my ($rc, $out) = $self->run_command('openssl', @$cmd);
        is($rc, 0, "openssl $cmd->[0] $cmd->[-1]") or diag($out);
    }

    return $self;
}

# The ports nginx listens on, from the configuration.

sub listen_ports {
    my ($self) = @_;

    my %seen;
    return grep { !$seen{$_}++ }
        ($self->{config} // '') =~ /^\s*listen\s+(?:127\.0\.0\.1:)?(\d+)/mg;
}


# The number of workers the configuration starts (worker_processes; at
# least one for "auto").

sub worker_processes {
    my ($self) = @_;

    my ($n) = ($self->{config} // '') =~ /^\s*worker_processes\s+(\w+)/m;

    return defined $n && $n =~ /^\d+$/ ? $n : 1;
}

###############################################################################

# Forks and executes a command, its stdout and stderr written ('>') or
# appended ('>>') to a file; returns its pid.

sub spawn {
    my ($how, $out, @cmd) = @_;

    my $pid = fork();
    die "fork: $!\n" unless defined $pid;

    return $pid if $pid;

    # nginx takes $NGINX for inherited listening sockets (binary upgrade):
    # "make test" sets it to the binary's path

    delete $ENV{NGINX};

    open(STDOUT, $how, $out) or _exit(127);
    open(STDERR, '>&', \*STDOUT) or _exit(127);
    exec(@cmd) or _exit(127);
}

# Runs a command with stdout and stderr in a file; (exit status, output).

sub run_command {
    my ($self, @cmd) = @_;

    my $out = "$self->{dir}/command.out";
    my $pid = spawn('>', $out, @cmd);

    my $deadline = time() + 15 * $SCALE;

    while (waitpid($pid, WNOHANG) != $pid) {
        if (time() > $deadline) {
            kill 'KILL', $pid;
            waitpid($pid, 0);
            diag("killed after " . 15 * $SCALE . " s: @cmd");
            return (-1, $self->read_file($out) // '');
        }
        sleep 0.01;
    }

    my $status = $? >> 8;
    my $output = $self->read_file($out) // '';

    $self->sanitizer_output("@cmd", $output);

    return ($status, $output);
}

sub nginx_args {
    my ($self, $conf) = @_;

    $conf //= 'nginx.conf';

    return ('-p', "$self->{dir}/", '-c', "$self->{dir}/$conf");
}

# nginx -t: (exit status, combined output).

sub test_config {
    my ($self, $conf) = @_;
    return $self->run_command($self->{nginx}, '-t', $self->nginx_args($conf),
        '-e', 'stderr');
}

# nginx -t on configuration text, written with its placeholders expanded
# to $name in the test directory: (exit status, combined output).

sub test_config_text {
    my ($self, $name, $text) = @_;

    $self->write_file_expand($name, $text);
    return $self->test_config($name);
}

# A responder for the mock: sub { my ($req) = @_; return ($status,
# [Name => value, ...], $body) }, or a scalar reference to exact bytes, or
# a code reference called with the connection to write the response itself
# (then the connection is closed).
# Restarts a running mock.

sub mock_responder {
    my ($self, $code) = @_;

    $self->{responder} = $code;
    $self->{uses_mock} = 1;

    if ($self->{mock}) {
        $self->{mock}->stop();
        $self->start_mock();
    }

    return $self;
}

# The mock answers by the caller's name ("name":"<word>" in the body):
# %$answers maps a name to [status, [headers], body], or to a scalar or
# code reference as mock_responder() takes them; any other name is
# answered @default (status, [headers], body).

sub mock_answers {
    my ($self, $answers, @default) = @_;

    return $self->mock_responder(sub {
        my ($req) = @_;

        my ($name) = $req->{body} =~ /"name":"(\w+)"/;
        my $a = $answers->{$name // ''} or return @default;

        return ($a) if ref $a eq 'SCALAR' || ref $a eq 'CODE';

        return @$a;
    });
}

sub start_mock {
    my ($self) = @_;

    $self->{mock} = Manta::Mock->new(
        port      => $self->port('MOCK'),
        log       => "$self->{dir}/mock.log",
        responder => $self->{responder},
    )->start();
}

# Starts nginx in the foreground as a child (the configuration says
# "daemon off"; its stdout and stderr go to nginx.stderr), then waits until
# every listening port accepts a connection and error.log shows the
# workers started.  One mechanism whatever NGINX_BIN is: nginx itself, or
# a wrapper that execs it (t/lib/nginx-sanitized, t/lib/nginx-valgrind),
# so the child's pid is the master's.

sub run {
    my ($self) = @_;

    $self->start_mock() if $self->{uses_mock} && !$self->{mock};

    my $stderr = "$self->{dir}/nginx.stderr";

    # only this run's notices tell its workers

    $self->{log_pos} = -s "$self->{dir}/error.log" // 0;
    $self->{worker_state} = {};
    $self->{stderr_pos} = -s $stderr // 0;

    $self->{master} = spawn('>>', $stderr, $self->{nginx},
        $self->nginx_args(), '-e', "$self->{dir}/error.log");

    my $deadline = time() + $TIMEOUT;
    my @ports = $self->listen_ports();
    my $want = $self->worker_processes();

    while (1) {
        if (!$self->master_alive()) {
            fail('nginx started');
            diag($self->nginx_stderr());
            return $self;
        }

        @ports = grep {
            !IO::Socket::INET->new(PeerAddr => "127.0.0.1:$_",
                Proto => 'tcp')
        } @ports;

        my $workers = () = $self->workers();

        last if !@ports && $workers >= $want;

        if (time() > $deadline) {
            fail("nginx listens on port $_") for @ports;
            fail("nginx started $want worker(s), not $workers")
                if $workers < $want;
            last;
        }

        sleep 0.02;
    }

    return $self;
}

# What nginx wrote on stdout and stderr since the last look.

sub nginx_stderr {
    my ($self) = @_;

    my $out = $self->read_file('nginx.stderr') // '';
    my $pos = $self->{stderr_pos} // 0;

    $self->{stderr_pos} = length $out;

    return $pos <= length $out ? substr($out, $pos) : $out;
}

# Reaps the master if it exited: then false, and $self->{master} is gone.

sub master_alive {
    my ($self) = @_;

    my $pid = $self->{master} or return 0;

    return 1 if waitpid($pid, WNOHANG) == 0;

    delete $self->{master};
    return 0;
}

# Whether a process exists (and, for a child of the test, is not a zombie:
# that one is reaped).

sub alive {
    my ($pid) = @_;

    return 0 unless $pid && kill(0, $pid);
    return waitpid($pid, WNOHANG) == $pid ? 0 : 1;
}

# The worker processes of the running master that still accept requests,
# from error.log's notices (read on from where the last call stopped):
# started by the master, not yet shutting down, exiting or reaped.  An old
# worker logs "gracefully shutting down" as it closes its listening
# sockets.

sub workers {
    my ($self) = @_;

    my @pids;

    return @pids unless $self->{master};

    my $state = $self->{worker_state} //= {};
    my $path = "$self->{dir}/error.log";

    if (open(my $fh, '<', $path)) {
        binmode $fh;
        seek($fh, $self->{log_pos} //= 0, 0);

        my $text = do { local $/; <$fh> } // '';
        close $fh;

        # whole lines only: the rest is read next time

        $text = substr($text, 0, rindex($text, "\n") + 1);
        $self->{log_pos} += length $text;

        worker_log($text, $state);
    }

    @pids = sort { $a <=> $b } grep { $state->{$_} eq 'up' } keys %$state;

    return @pids;
}

# pid => 'up' or 'leaving', from error.log's notices; a reaped worker is
# removed.  Adds to %$state when given.

sub worker_log {
    my ($log, $state) = @_;

    $state //= {};

    my $leaving = qr/gracefully shutting down|exiting/;

    for my $line (split /\n/, $log // '') {
        if ($line =~ /\[notice\] \d+#\d+: start worker process (\d+)$/) {
            $state->{$1} = 'up';

        } elsif ($line =~ /\[notice\] (\d+)#\d+: (?:$leaving)$/) {
            $state->{$1} = 'leaving' if $state->{$1};

        } elsif ($line =~ /\] \d+#\d+: worker process (\d+) exited /) {
            delete $state->{$1};
        }
    }

    return $state;
}

# HUP to the master; true once a new generation of workers serves (the old
# ones have exited or closed their listening sockets), false when nginx
# refused the new configuration (an [emerg] after "reconfiguring").

sub reload {
    my ($self, %opts) = @_;

    my $master = $self->{master} or return 0;
    my %old = map { $_ => 1 } $self->workers();
    my $offset = -s "$self->{dir}/error.log" // 0;

    kill 'HUP', $master;

    my $deadline = time() + ($opts{timeout} // 10) * $SCALE;

    while (time() < $deadline) {
        my $log = substr($self->read_file('error.log') // '', $offset);

        if ($log =~ /reconfiguring/ && $log =~ /\[emerg\]/) {
            diag("reload failed:\n$log") unless $opts{quiet};
            return 0;
        }

        my @workers = $self->workers();
        my @new = grep { !$old{$_} } @workers;
        my @left = grep { $old{$_} } @workers;

        if (@new && !@left) {
            sleep 0.05;
            return 1;
        }

        sleep 0.02;
    }

    diag('reload: no new generation of workers') unless $opts{quiet};
    return 0;
}

# Stops nginx: QUIT (the master exits after its workers), then TERM, then
# KILL, each waited for with waitpid; and the mock.  Scans error.log once
# and fails a test per [alert], [crit], [emerg] or crashed worker that was
# not declared with allow_log(), and per sanitizer report.

sub stop {
    my ($self, %opts) = @_;

    if (my $pid = $self->{master}) {
        my @signals = ([QUIT => 10 * $SCALE], [TERM => 5 * $SCALE],
            [KILL => 2 * $SCALE]);

        SIGNAL: for my $s (@signals) {
            kill $s->[0], $pid;
            my $deadline = time() + $s->[1];
            while (time() < $deadline) {
                last SIGNAL unless $self->master_alive();
                sleep 0.02;
            }
            diag("nginx did not stop on $s->[0]") unless $opts{quiet};
        }

        waitpid($pid, 0) if delete $self->{master};

        $self->sanitizer_output('nginx', $self->nginx_stderr());
    }

    if (my $mock = delete $self->{mock}) {
        $mock->stop();
    }

    # every stop: later nginx -t runs have their own logs

    $self->check_sanitizers(quiet => $opts{quiet});

    return $self if $self->{scanned}++;

    for my $p ($self->error_log_problems()) {
        if ($opts{quiet}) {
            diag("error.log: $p");
        } else {
            fail("error.log has no unexpected alert/emerg/crash: $p");
        }
    }

    return $self;
}

sub allow_log {
    my ($self, @re) = @_;
    push @{ $self->{allowed} }, @re;
    return $self;
}

sub error_log_problems {
    my ($self, $file) = @_;

    my $log = $self->read_file($file // 'error.log') // '';
    my @problems;

    LINE: for my $line (split /\n/, $log) {
        next unless $line =~ /\[(?:alert|crit|emerg)\]/
            || $line =~ /exited on signal/
            || $line =~ /runtime error:/;
        for my $re (@{ $self->{allowed} }) {
            next LINE if $line =~ $re;
        }
        push @problems, $line;
    }

    return @problems;
}

sub done {
    my ($self) = @_;
    $self->stop();
    done_testing();
}

sub cleanup {
    my ($self) = @_;

    return if $self->{cleaned}++ || $$ != $self->{owner};

    $self->stop(quiet => 1);

    if ($ENV{MANTA_KEEP}) {
        diag("kept $self->{dir}");
    } else {
        remove_tree($self->{dir});
    }
}

sub DESTROY {
    my ($self) = @_;
    local ($?, $@, $!);
    $self->cleanup();
}

END {
    local ($?, $@, $!);
    $_ && $_->cleanup() for @INSTANCES;
}

###############################################################################

# Logs written by nginx.

# A Prometheus text exposition read by Debian's python3-prometheus-client:
# name{labels sorted} => value; () when the parser refuses it.

sub prometheus_samples {
    my ($self, $text) = @_;

    $self->write_file('scrape.txt', $text);
    $self->write_file('parse.py', <<'PY');
import sys
from prometheus_client.parser import text_string_to_metric_families
for f in text_string_to_metric_families(open(sys.argv[1]).read()):
    for s in f.samples:
        labels = ",".join('%s="%s"' % kv for kv in sorted(s.labels.items()))
        print("%s{%s}\t%r" % (s.name, labels, s.value))
PY

    my $dir = $self->{dir};
    my $out = `/usr/bin/python3 $dir/parse.py $dir/scrape.txt 2>&1`;

    if ($?) {
        diag($out);
        return ();
    }

    return map { my ($k, $v) = split /\t/; $k =~ s/\{\}$//; ($k => $v + 0) }
        split /\n/, $out;
}

sub log_lines {
    my ($self, $name) = @_;
    return split /\n/, $self->read_file($name) // '';
}

# Every request sent by http(), post(), keepalive(), h2() and curl_h2()
# carries "X-Seq: N", N counting up.  nginx may write a request's access
# log line after the client has read the whole response (lingering close),
# so a line is found by its sequence number: test log formats start with
# $http_x_seq.

sub next_seq {
    my ($self) = @_;
    return ++$self->{seq};
}

# The line of the last request (or of the request numbered $seq) in a log
# whose format starts with $http_x_seq, without that field; waits up to 2
# seconds for it.

sub log_tail {
    my ($self, $name, $seq) = @_;

    $seq //= $self->{seq} // 0;
    my $deadline = time() + 2 * $SCALE;

    while (1) {
        for my $line (reverse $self->log_lines($name)) {
            return $1 if $line =~ /^$seq (.*)$/;
        }
        return undef if time() > $deadline;
        sleep 0.01;
    }
}

# The requests the mock received, oldest first: {method, uri, version,
# headers => [[name, value], ...], body}.

sub mock_requests {
    my ($self) = @_;
    return Manta::Mock::read_log("$self->{dir}/mock.log");
}

# Empties the record, under the lock the mock takes to append to it.

sub mock_clear {
    my ($self) = @_;

    open(my $fh, '>>', "$self->{dir}/mock.log") or return $self;
    flock($fh, LOCK_EX);
    truncate($fh, 0);
    close $fh;

    return $self;
}

# nginx's clock, in seconds, and its whole second: the one of a bot's
# "limiting requests" line.  ngx_time_update() reads ngx_current_msec from
# CLOCK_MONOTONIC on Linux (CLOCK_MONOTONIC_FAST only where it exists; the
# coarse clock lags it by up to a tick, so a test reading that one could
# see one second where nginx had already seen the next), once each turn of
# its event loop: a worker's value lies between a test's readings before
# it sends and after it is answered.

sub nginx_clock {
    return clock_gettime(CLOCK_MONOTONIC);
}

sub nginx_second {
    return int(nginx_clock());
}

# The one forwarded body, or a note saying how many requests the mock got.

sub forwarded_body {
    my ($self) = @_;

    my @seen = $self->mock_requests();

    return @seen == 1 ? $seen[0]{body} : scalar(@seen) . ' requests forwarded';
}

1;
