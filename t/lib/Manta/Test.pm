package Manta::Test;

# Test harness for ngx_http_manta_module, core Perl only.
#
#   my $t = Manta::Test->new();
#   $t->write_config(<<'EOF');     # %%MODULE%% %%GLOBALS%% %%HTTP_GLOBALS%%
#   ...                            # %%PORT_<NAME>%% %%TESTDIR%%
#   EOF
#   $t->run();                     # mock (if %%PORT_MOCK%% is used), nginx
#   my $r = $t->post('/openapi/clientTag?botId=bot-a', '{"name":"x"}');
#   is($r->{status}, 200, '...');
#   my @seen = $t->mock_requests();
#   $t->done();                    # stop, scan error.log, done_testing
#
# Environment: NGINX_BIN (default /usr/sbin/nginx), MANTA_MODULE (the .so,
# required by configurations using %%MODULE%%), MANTA_KEEP=1 keeps the
# temporary directory.

use strict;
use warnings;

use Digest::SHA qw(sha256_hex);
use Exporter qw(import);
use Fcntl qw(:flock);
use File::Path qw(remove_tree);
use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::INET;
use JSON::PP ();
use MIME::Base64 qw(encode_base64);
use POSIX qw(WNOHANG _exit);
use Scalar::Util qw(weaken);
use Test::More;
use Time::HiRes qw(sleep time);

use Manta::HTTP2;
use Manta::Mock;

our @EXPORT = qw(
    is_error_response error_response_problems error_body
    parse_response token_id jwt json_str header_values
);

# SPEC section 3: reason code => [status, ErrorResponse message]

our %REASON = (
    method_not_allowed     => [405, 'method not allowed: use POST'],
    unsupported_media_type => [415, 'Content-Type must be application/json'],
    bad_bot_id    => [400, 'botId query argument is missing or invalid'],
    unknown_bot   => [403, 'unknown botId'],
    body_too_large => [413, qr/^body is \d+ bytes, at most \d+ are allowed$/],
    invalid_json  => [400, qr/^(?:body |duplicate member ")/],
    invalid_name  => [400, qr/^(?:name |member "name" )/],
    client_secret =>
        [400, 'member "secret" must not be sent: the gateway adds its own'],
    unknown_field => [400, qr/^unknown member "/],
    token_expired => [401, "the gateway's token has expired"],
);

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

sub expand {
    my ($self, $text) = @_;

    my $dir = $self->{dir};

    if ($text =~ /%%MODULE%%/) {
        my $m = $self->module_path();
        $text =~ s/%%MODULE%%/load_module $m;/g;
    }

    $text =~ s{%%GLOBALS%%}{daemon on;
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

sub write_config {
    my ($self, $text) = @_;

    $self->{uses_mock} = 1 if $text =~ /%%PORT_MOCK%%/;
    $self->{config} = $self->expand($text);

    return $self->write_file('nginx.conf', $self->{config});
}

# The ports nginx listens on, from the configuration.

sub listen_ports {
    my ($self) = @_;

    my %seen;
    return grep { !$seen{$_}++ }
        ($self->{config} // '') =~ /^\s*listen\s+(?:127\.0\.0\.1:)?(\d+)/mg;
}

###############################################################################

# Runs a command with stdout and stderr in a file; (exit status, output).

sub run_command {
    my ($self, @cmd) = @_;

    my $out = "$self->{dir}/command.out";

    my $pid = fork();
    die "fork: $!\n" unless defined $pid;

    if ($pid == 0) {
        # nginx takes $NGINX for inherited listening sockets (binary
        # upgrade) and then does not daemonize: "make test" sets it to the
        # binary's path

        delete $ENV{NGINX};

        open(STDOUT, '>', $out) or _exit(127);
        open(STDERR, '>&', \*STDOUT) or _exit(127);
        exec(@cmd) or _exit(127);
    }

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

    # a sanitizer's report on stderr (UBSan's always is: see
    # sanitizer_problems), failed by stop()

    push @{ $self->{sanitizer_output} }, "@cmd:\n$output"
        if $output =~ /runtime error:|ERROR: (?:Address|Leak)Sanitizer/;

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

sub start_mock {
    my ($self) = @_;

    $self->{mock} = Manta::Mock->new(
        port      => $self->port('MOCK'),
        log       => "$self->{dir}/mock.log",
        responder => $self->{responder},
    )->start();
}

sub run {
    my ($self) = @_;

    $self->start_mock() if $self->{uses_mock} && !$self->{mock};

    unlink "$self->{dir}/nginx.pid";

    my ($status, $out) = $self->run_command($self->{nginx},
        $self->nginx_args(), '-e', "$self->{dir}/error.log");

    if ($status != 0) {
        fail('nginx started');
        diag($out);
        return $self;
    }

    my $deadline = time() + $TIMEOUT;
    my $pid;

    while (time() < $deadline) {
        $pid = $self->read_file('nginx.pid');
        last if defined $pid && $pid =~ /^\d+\s*$/;
        undef $pid;
        sleep 0.02;
    }

    if (!$pid) {
        fail('nginx wrote its pid file');
        return $self;
    }

    chomp $pid;
    $self->{master} = $pid;

    for my $port ($self->listen_ports()) {
        my $up;

        while (time() < $deadline) {
            $up = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                Proto => 'tcp');
            last if $up;
            sleep 0.02;
        }

        fail("nginx listens on port $port") unless $up;
    }

    # the workers: requests are served only once they exist

    while (time() < $deadline && !(my @w = $self->workers())) {
        sleep 0.02;
    }

    return $self;
}

sub alive {
    my ($pid) = @_;

    return 0 unless $pid && kill(0, $pid);

    # the master is not our child: a zombie left to init is dead too

    open(my $fh, '<', "/proc/$pid/stat") or return 0;
    my $stat = <$fh> // '';
    close $fh;

    return $stat =~ /\)\s+Z\s/ ? 0 : 1;
}

# The worker processes of the running master that still accept requests
# (an old one being shut down retitles itself "... is shutting down" and
# has closed its listening sockets).

sub workers {
    my ($self) = @_;

    my $master = $self->{master} or return ();
    my ($read_log, @pids);

    opendir(my $dh, '/proc') or return ();

    for my $pid (grep { /^\d+$/ } readdir $dh) {
        open(my $fh, '<', "/proc/$pid/stat") or next;
        my $stat = <$fh> // '';
        close $fh;

        my ($state, $ppid) = $stat =~ /\)\s+(\S)\s+(\d+)/ or next;
        next unless $ppid == $master && $state ne 'Z';

        open($fh, '<', "/proc/$pid/cmdline") or next;
        my $cmd = <$fh> // '';
        close $fh;

        if ($cmd =~ m{^(?:[^\0]*/)?valgrind(?:\.bin)?\0}) {

            # under valgrind (make test-valgrind) the command line is
            # valgrind's, not nginx's title: error.log tells the workers
            # and which of them are shutting down

            $self->{worker_log} = worker_log($self->read_file('error.log'))
                unless $read_log++;
            push @pids, $pid if ($self->{worker_log}{$pid} // '') eq 'up';
            next;
        }

        push @pids, $pid
            if $cmd =~ /worker process/ && $cmd !~ /shutting down/;
    }

    closedir $dh;

    @pids = sort { $a <=> $b } @pids;

    return @pids;
}

# pid => 'up' or 'leaving', from error.log's notices

sub worker_log {
    my ($log) = @_;

    my %state;

    for my $line (split /\n/, $log // '') {
        if ($line =~ /\[notice\] \d+#\d+: start worker process (\d+)/) {
            $state{$1} = 'up';
        } elsif ($line =~ /\[notice\] (\d+)#\d+: (?:gracefully shutting down|exiting)$/) {
            $state{$1} = 'leaving';
        }
    }

    return \%state;
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

# Stops nginx (QUIT, then TERM, then KILL) and the mock; scans error.log
# once and fails a test per [alert], [crit], [emerg] or crashed worker that
# was not declared with allow_log().

sub stop {
    my ($self, %opts) = @_;

    if (my $pid = delete $self->{master}) {
        my @signals = ([QUIT => 10 * $SCALE], [TERM => 5 * $SCALE],
            [KILL => 2 * $SCALE]);

        SIGNAL: for my $s (@signals) {
            kill $s->[0], $pid;
            my $deadline = time() + $s->[1];
            while (time() < $deadline) {
                last SIGNAL unless alive($pid);
                sleep 0.02;
            }
            diag("nginx did not stop on $s->[0]") unless $opts{quiet};
        }
    }

    if (my $mock = delete $self->{mock}) {
        $mock->stop();
    }

    # every stop: later nginx -t runs have their own logs

    my ($problems, $ignored) = $self->sanitizer_problems();

    for my $p (@$problems) {
        if ($opts{quiet}) {
            diag("sanitizer: $p");
        } else {
            fail("no sanitizer report: " . ($p =~ /^(.*)/)[0]);
            diag($p);
        }
    }

    diag("sanitizer: $ignored leak report(s) without a module frame "
        . '(nginx\'s own) ignored') if $ignored;

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

# make test-asan and make test-valgrind: the reports in DIR/sanitizer/ (see
# t/lib/nginx-sanitized and t/lib/nginx-valgrind) not scanned yet, and the
# sanitizer output of commands.  Returns ([problem, ...], number of leak
# reports ignored).  A problem: any AddressSanitizer or valgrind error, any
# UBSan "runtime error:" (UBSan writes to stderr, which is error.log or
# the command's output: the gcc runtimes share the report path setting and
# ASan's wins), a LeakSanitizer failure, or a leak (LeakSanitizer's, or
# valgrind's "definitely lost") with a frame of the module.  Leaks without
# one are nginx's own start-up allocations: counted, not failed.

sub sanitizer_problems {
    my ($self) = @_;

    my (@problems, $ignored);
    my $dir = "$self->{dir}/sanitizer";

    push @problems, @{ delete $self->{sanitizer_output} // [] };

    for my $file (sort glob("$dir/asan.* $dir/ubsan.* $dir/valgrind.*")) {
        my $text = $self->read_file($file) // next;
        my $seen = "$file " . length $text;

        next if $self->{sanitizer_seen}{$seen}++;

        (my $name = $file) =~ s{.*/}{};
        my @blocks;

        if ($name =~ /^valgrind/) {
            $text =~ s/^==\d+== ?//mg;
            @blocks = grep { /^\s+(?:at|by) 0x/m } split /\n\s*\n/, $text;
        } else {

            # an ASan error ends the process: the report is the rest

            if ($text =~ s/^(==\d+==ERROR: AddressSanitizer.*)//ms) {
                my @lines = split /\n/, $1;
                splice @lines, 60, @lines - 60, '...' if @lines > 61;
                push @problems, join "\n", "$name: $lines[0]",
                    @lines[1 .. $#lines];
            }

            @blocks = split /\n\s*\n/, $text;
        }

        for my $block (@blocks) {
            my $leak = $block =~ /^(?:Direct|Indirect) leak of /
                || $block =~ /are definitely lost in loss record/;

            # <unknown module>: code unloaded before the report, as the
            # module is when nginx frees its cycle (unless linked with
            # -z nodelete, as make test-asan does)

            my $module = grep { /\b(?:ngx_http_)?manta_|<unknown module>/ }
                grep { /^\s*(?:#\d+ |(?:at|by) 0x)/ } split /\n/, $block;

            if ($leak && !$module) {
                $ignored++;
                next;
            }

            next unless $leak
                || $name =~ /^valgrind/
                || $block =~ /runtime error:/
                || $block =~ /LeakSanitizer has encountered a fatal error/
                || $block =~ /ERROR: LeakSanitizer: (?!detected memory leaks)/;

            my @lines = split /\n/, $block;
            splice @lines, 40, @lines - 40, '...' if @lines > 41;
            push @problems, join "\n", "$name: $lines[0]", @lines[1 .. $#lines];
        }
    }

    return (\@problems, $ignored // 0);
}

sub allow_log {
    my ($self, $re) = @_;
    push @{ $self->{allowed} }, $re;
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

# The one forwarded body, or a note saying how many requests the mock got.

sub forwarded_body {
    my ($self) = @_;

    my @seen = $self->mock_requests();

    return @seen == 1 ? $seen[0]{body} : scalar(@seen) . ' requests forwarded';
}

# A local rejection (SPEC section 3), three tests: the exact ErrorResponse,
# the request's line in manta.log written with log_format
# '$http_x_seq $status $manta_reject_reason $manta_bot_id $manta_token_id',
# and nothing forwarded to the mock.

# The message: the exact one given, else the reason's (a pattern for the
# reasons whose message says what exactly was wrong).

sub is_rejected {
    my ($self, $r, $reason, $bot_id, $name, $exact) = @_;

    my ($status, $message) = @{ $REASON{$reason} };
    $message = $exact if defined $exact;

    local $Test::Builder::Level = $Test::Builder::Level + 1;

    is_error_response($r, $status, $bot_id, $message,
        "$name: $status ErrorResponse");

    # no token is chosen before the botId is known

    my $bot = defined $bot_id ? quotemeta($bot_id) : '-';
    my $token = defined $bot_id && $reason ne 'unknown_bot'
        ? '(?:-|[0-9a-f]{12})' : '-';

    like($self->log_tail('manta.log') // '', qr/^$status $reason $bot $token$/,
        "$name: logged as $reason");

    is($self->forwarded_body(), '0 requests forwarded',
        "$name: nothing forwarded");
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
    my $timeout = $o{timeout} // $TIMEOUT;

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
    my $timeout = $o{timeout} // $TIMEOUT;

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
    my $timeout = $o{timeout} // $TIMEOUT;

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
    my $timeout = $o{timeout} // $TIMEOUT;
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
        timeout => $o{timeout} // $TIMEOUT);
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
        '--max-time', $o{timeout} // $TIMEOUT, '-X', $method);

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

###############################################################################

# The values of a header in a recorded request or a response's header_list.

sub header_values {
    my ($req, $name) = @_;

    my $list = $req->{header_list} // $req->{headers};

    return map { $_->[1] } grep { lc $_->[0] eq lc $name } @$list;
}

sub json_str {
    my ($s) = @_;
    return JSON::PP->new->allow_nonref->encode($s);
}

# The exact ErrorResponse body the module sends for a local rejection.

sub error_body {
    my ($message, $code, $bot_id) = @_;

    return '{"success":false,"errResponse":{"message":' . json_str($message)
        . ',"code":' . $code
        . (defined $bot_id ? ',"botId":' . json_str($bot_id) : '') . '}}';
}

# What is wrong with $res as an ErrorResponse of $status; $bot_id undef:
# "botId" must be absent, '*': not checked; $message defined: the body must
# be exactly error_body($message, $status, $bot_id).

sub error_response_problems {
    my ($res, $status, $bot_id, $message) = @_;

    return ('no response') unless $res && defined $res->{status};

    my @p;
    my $h = $res->{headers};
    my $body = $res->{body};

    push @p, "status $res->{status}, expected $status"
        unless $res->{status} == $status;

    push @p, 'Content-Type ' . ($h->{'content-type'} // 'missing')
        . ', expected application/json'
        unless ($h->{'content-type'} // '') eq 'application/json';

    push @p, 'Content-Length ' . ($h->{'content-length'} // 'missing')
        . ', body has ' . length($body) . ' bytes'
        unless ($h->{'content-length'} // '') eq length($body);

    push @p, "Content-Encoding $h->{'content-encoding'}"
        if defined $h->{'content-encoding'};

    my $json = eval { JSON::PP->new->decode($body) };

    if (ref $json ne 'HASH') {
        push @p, "body is not a JSON object: $body";
        return @p;
    }

    my @keys = sort keys %$json;
    push @p, "members @keys, expected errResponse success"
        unless "@keys" eq 'errResponse success';

    push @p, 'success is not JSON false'
        unless JSON::PP::is_bool($json->{success}) && !$json->{success};

    my $e = $json->{errResponse};

    if (ref $e ne 'HASH') {
        push @p, 'errResponse is not an object';
        return @p;
    }

    for my $k (sort keys %$e) {
        push @p, "unexpected errResponse member $k"
            unless $k =~ /^(?:message|code|botId)$/;
    }

    push @p, 'message is not a non-empty string'
        unless defined $e->{message} && !ref $e->{message}
            && !number($e->{message}) && length $e->{message};

    push @p, 'code ' . ($e->{code} // 'missing') . ", expected $status"
        unless defined $e->{code} && number($e->{code})
            && $e->{code} =~ /^\d+$/ && $e->{code} == $status;

    if (!defined $bot_id) {
        push @p, "botId present ($e->{botId}), expected none"
            if exists $e->{botId};
    } elsif ($bot_id ne '*') {
        push @p, 'botId ' . ($e->{botId} // 'missing') . ", expected $bot_id"
            unless defined $e->{botId} && $e->{botId} eq $bot_id;
    }

    if (ref $message eq 'Regexp') {
        push @p, "message $e->{message} does not match $message"
            unless ($e->{message} // '') =~ $message;

    } elsif (defined $message && !@p) {
        my $want = error_body($message, $status, $bot_id);
        push @p, "body $body, expected $want" unless $body eq $want;
    }

    return @p;
}

# A JSON number, as JSON::PP decoded it, rather than a string.

sub number {
    my ($v) = @_;
    require B;
    my $flags = B::svref_2object(\$v)->FLAGS;
    return ($flags & (B::SVp_IOK() | B::SVp_NOK()))
        && !($flags & B::SVp_POK()) ? 1 : 0;
}

sub is_error_response {
    my ($res, $status, $bot_id, $message, $name) = @_;

    my @p = error_response_problems($res, $status, $bot_id, $message);

    local $Test::Builder::Level = $Test::Builder::Level + 1;

    ok(!@p, $name) or diag(join "\n", @p);
}

# First 12 hex digits of SHA-256 of a token, as $manta_token_id.

sub token_id {
    return substr(sha256_hex($_[0]), 0, 12);
}

sub base64url {
    my $s = encode_base64($_[0], '');
    $s =~ tr{+/}{-_};
    $s =~ s/=+$//;
    return $s;
}

# An HS256-looking JWT with the given claims (the signature is not checked
# by the gateway: it only reads exp and nbf).

sub jwt {
    my (%claims) = @_;

    my $json = JSON::PP->new->canonical;

    return join '.', base64url($json->encode({alg => 'HS256', typ => 'JWT'})),
        base64url($json->encode(\%claims)), base64url('not-a-real-signature');
}

1;
