#!/usr/bin/perl

# "make bench": the gateway's cost on every path a caller takes, each side
# by side with its reference location in the same run (see Bench.pm for
# the paths and the locations).
#
# One gateway nginx (one worker pinned to CPU 0); the upstream nginx, the
# load generator (wrk, h2load for HTTP/2) and redis-server share CPU 1.
# For every round and every path, the reference and the gateway location
# run back to back (in alternating order), each BENCH_SECONDS; a run
# yields requests/s, p50/p99 latency and the gateway worker's CPU time per
# request (from /proc/PID/schedstat over the run, divided by the requests).
# Each path's figures are the medians of its per-round ratios
# gateway/reference (a round's two runs are back to back, so their ratio
# is the least disturbed by the machine's drift), printed as one table at
# the end, with the lowest and highest per-round CPU ratio beside the
# median (how far one round may be from it on this machine).  The local
# rejections are compared with the reference that forwards the same
# request: their CPU ratio is the share of a forwarded request's cost
# (target < 0.5).  The Redis path is compared with the local limit, and
# reports the Redis commands per forwarded request (INFO commandstats
# before and after its runs).
#
# Environment: MANTA_MODULE (the .so), NGINX_BIN, BENCH_SECONDS (3),
# BENCH_ROUNDS (3), BENCH_CONNECTIONS (32), BENCH_PATHS (all; a
# comma-separated list such as ascii,nfc,h2), MANTA_KEEP=1 keeps the
# temporary directory.

use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin, "$FindBin::Bin/../lib";
use IO::Socket::INET;
use Time::HiRes qw(sleep);

use Bench qw(setup cases usable wait_port stop_pidfile read_file write_file
    request wrk_command gateway_worker cpu_ns cpus mask median run_ok);

my $nginx = $ENV{NGINX_BIN} // '/usr/sbin/nginx';
my $seconds = $ENV{BENCH_SECONDS} // 3;
my $rounds = $ENV{BENCH_ROUNDS} // 3;
my $conns = $ENV{BENCH_CONNECTIONS} // 32;
my $here = $FindBin::Bin;

my ($redis_port, @cases) = usable(cases($ENV{BENCH_PATHS}));
my $redis;

my ($gw_cpu, $load_cpu) = cpus() >= 2 ? (0, 1) : (0, 0);

my $bench = setup(
    gw => "worker_processes  1;\nworker_cpu_affinity  " . mask($gw_cpu) . ';',
    up => "worker_processes  1;\nworker_cpu_affinity  " . mask($load_cpu)
        . ';',
    keepalive => 64, redis_port => $redis_port);

my ($dir, $gw_port, $h2_port, $up_port) =
    @$bench{qw(dir gw_port h2_port up_port)};

END {
    local $?;                   # what stop_all() waits for keeps the exit code
    stop_all() if $dir;
}

if ($redis_port) {
    $redis = Manta::Redis->new(port => $redis_port, dir => $dir);
    run_ok("taskset -a -p -c $load_cpu $redis->{pid} >/dev/null");
}

run_ok('taskset', '-c', $load_cpu, $nginx, '-p', "$dir/up/", '-c',
    "$dir/up/nginx.conf", '-e', "$dir/up/error.log");
run_ok($nginx, '-p', "$dir/gw/", '-c', "$dir/gw/nginx.conf", '-e',
    "$dir/gw/error.log");

wait_port($_) for $gw_port, $h2_port, $up_port;

my $worker = gateway_worker($dir);

printf "gateway worker %d on CPU %d; upstream nginx, load generator%s on "
    . "CPU %d; %d rounds of %d s per location, %d connections\n"
    . "paths: %s\n\n", $worker, $gw_cpu, $redis ? ', redis-server' : '',
    $load_cpu, $rounds, $seconds, $conns,
    join(',', map { $_->{name} } @cases);

# each location answers as expected, then a warm-up run of each

for my $c (@cases) {
    check($c, $_) for 'ref', 'gw';
}

my %warm;

for my $c (@cases) {
    for my $which ('ref', 'gw') {
        my $key = ($c->{h2} ? 'h2 ' : '') . $c->{$which};
        next if $warm{$key}++;
        measure($c, $which, 1);
    }
}

printf "%-6s %-14s %-4s %12s %9s %9s %11s\n", 'round', 'path', 'loc',
    'requests/s', 'p50 us', 'p99 us', 'cpu us/req';

my %res;
my (%redis_calls, $redis_requests);

for my $round (1 .. $rounds) {
    for my $c (@cases) {
        my @order = $round % 2 ? ('ref', 'gw') : ('gw', 'ref');

        for my $which (@order) {
            my $before = $c->{redis} && $which eq 'gw' ? redis_calls() : 0;
            my $r = measure($c, $which, $seconds);

            if ($before) {
                my $after = redis_calls();
                $redis_calls{$_} += $after->{$_} - ($before->{$_} // 0)
                    for keys %$after;
                $redis_requests += $r->{sent};
            }

            push @{ $res{ $c->{name} }{$which} }, $r;

            printf "%-6d %-14s %-4s %12.0f %9d %9d %11.2f\n", $round,
                $c->{name}, $which, $r->{rps}, $r->{p50_us}, $r->{p99_us},
                $r->{cpu_us};
        }
    }
}

report();

exit 0;

###############################################################################

sub report {
    print "\nmake bench: gateway / reference, median of $rounds per-round "
        . "ratios ($seconds s runs, $conns connections)\n\n";

    printf "%-14s %-11s %8s %11s %8s %8s %8s %9s %9s  %s\n", 'path',
        'vs', 'cpu/req', 'rounds', 'req/s', 'p50', 'p99', 'gw us/req',
        'vs us/req', 'target (cpu/req)';

    for my $c (@cases) {
        my $ref = $res{ $c->{name} }{ref};
        my $gw = $res{ $c->{name} }{gw};
        my (%ratio, @cpu);

        for my $k (qw(cpu_us rps p50_us p99_us)) {
            my @r = map {
                $ref->[$_]{$k} ? $gw->[$_]{$k} / $ref->[$_]{$k} : 0
            } 0 .. $#$gw;

            $ratio{$k} = median(@r);
            @cpu = sort { $a <=> $b } @r if $k eq 'cpu_us';
        }

        my $cmp = $c->{target} < 1 ? '<' : '<=';
        my $met = $c->{target} < 1 ? $ratio{cpu_us} < $c->{target}
            : $ratio{cpu_us} <= $c->{target};

        printf "%-14s %-11s %8.3f %5.2f-%5.2f %8.3f %8.3f %8.3f %9.2f %9.2f"
            . "  %s %.2f %s\n", $c->{name}, $c->{vs}, $ratio{cpu_us},
            $cpu[0], $cpu[-1], @ratio{qw(rps p50_us p99_us)},
            median(map { $_->{cpu_us} } @$gw),
            median(map { $_->{cpu_us} } @$ref), $cmp, $c->{target},
            $met ? 'met' : 'NOT MET';
    }

    for my $c (grep { $_->{redis} } @cases) {
        my $ref = $res{ $c->{name} }{ref};
        my $gw = $res{ $c->{name} }{gw};

        my $added = median(map { $gw->[$_]{p50_us} - $ref->[$_]{p50_us} }
            0 .. $#$gw);

        # a script's own commands (TIME, HSET ...) count in commandstats
        # too: the gateway sent those Redis refuses in a script (EVALSHA,
        # FCALL, AUTH, HELLO, SCRIPT LOAD ...)
        my ($sent, $run) = (0, 0);

        for my $name (keys %redis_calls) {
            $run += $redis_calls{$name};
            $sent += $redis_calls{$name} if not_in_scripts($name);
        }

        printf "\nredis: p50 %+.3f ms against the local limit (target < "
            . "0.3 ms)\nRedis commands per request sent: %.3f sent by the "
            . "gateway (target <= 1.0), %.3f run\n  (%s)\n",
            $added / 1000, $sent / $redis_requests, $run / $redis_requests,
            join(', ', map { sprintf '%s %.3f', $_,
                $redis_calls{$_} / $redis_requests }
                grep { $redis_calls{$_} } sort keys %redis_calls);
    }
}

sub not_in_scripts {
    my ($name) = @_;

    return 1 if $name =~ /\|/;     # SCRIPT LOAD, CLIENT SETNAME ...

    my $info = $redis->cmd('COMMAND', 'INFO', $name);
    return grep { $_ eq 'noscript' } @{ $info->[0][2] // [] };
}

# one request to a location of the case, its answer checked: the status,
# and for the gateway's errors the ErrorResponse shape

sub check {
    my ($c, $which) = @_;

    my $path = $c->{$which};
    my $want = $which eq 'gw' ? $c->{status} : $c->{ref_status};

    if ($c->{h2}) {
        my $r = h2load($path, $c->{body}, 0);
        die "h2 $path: not answered $want\n"
            unless $r->{requests}
            && $r->{ substr($want, 0, 1) . 'xx' } == $r->{requests};
        return;
    }

    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$gw_port",
        Timeout => 10) or die "connect: $!\n";

    # the first request of a bot within the minute passes the tiny limit
    request($s, $path, 'bot-1', $c->{body}) if $c->{gw} =~ /tiny/;

    my ($status, $head, $body) = request($s, $path, 'bot-1', $c->{body});

    die "$c->{name}: $path answered $status, not $want:\n$head\n\n$body\n"
        unless $status == $want;

    $c->{ref_body} = $body if $which eq 'ref';

    return unless $which eq 'gw';

    die "$c->{name}: $path: not the reference's answer:\n$body\n"
        if $c->{as_ref} && $body ne $c->{ref_body};

    return unless $status >= 400;

    die "$c->{name}: $path: not an ErrorResponse:\n$head\n\n$body\n"
        unless $head =~ m{^Content-Type: application/json\r?$}mi
        && $body =~ /^\{"success":false,"errResponse":\{"message":"([^"]+)",
            "code":$status\b/x
        && (!$c->{message} || $1 eq $c->{message});
}

# one run of a location of the case: { requests, rps, p50_us, p99_us,
# cpu_us }, checked for the expected answers

sub measure {
    my ($c, $which, $secs) = @_;

    my $path = $c->{$which};
    my $want = $which eq 'gw' ? $c->{status} : $c->{ref_status};

    my $before = cpu_ns($worker);
    my $r = $c->{h2} ? h2load($path, $c->{body}, $secs)
        : wrk($path, $c->{body}, $c->{bots}, $secs);
    my $after = cpu_ns($worker);

    die "$c->{name} $path: no request answered\n" unless $r->{requests};
    die "$c->{name} $path: $r->{errors} socket errors\n" if $r->{errors};

    # the bot over the tiny limit passes once a minute
    my $rejected = $r->{rejected} / $r->{requests};
    die sprintf("%s %s: %.1f%% answered 400 or more, expected %s\n",
        $c->{name}, $path, 100 * $rejected, $want)
        if $want >= 400 ? $rejected < 0.99 : $rejected > 0;

    $r->{rps} //= $r->{requests} / ($r->{duration_us} / 1e6);
    $r->{cpu_us} = ($after - $before) / 1000 / $r->{requests};

    return $r;
}

sub wrk {
    my ($path, $body, $bots, $secs) = @_;

    local $ENV{BENCH_PATH} = $path;
    local $ENV{BENCH_BODY} = $body;
    local $ENV{BENCH_BOTS} = $bots;

    my @cmd = wrk_command($load_cpu, $conns, $secs, "$here/wrk.lua",
        $gw_port);

    open my $fh, '-|', @cmd or die "wrk: $!\n";
    my $out = join '', <$fh>;
    close $fh;

    my ($line) = $out =~ /^(BENCH .*)$/m
        or die "wrk printed no result:\n$out";

    my %r = $line =~ /(\w+)=(\d+)/g;
    return \%r;
}

# h2load over h2c (prior knowledge), 100 botIds; $secs 0: one request.
# Latency percentiles from its per-request log.

sub h2load {
    my ($path, $body, $secs) = @_;

    write_file("$dir/h2.body", $body);
    write_file("$dir/h2.uris", join '', map {
        "http://127.0.0.1:$h2_port$path?botId=bot-$_\n"
    } 1 .. 100);
    unlink "$dir/h2.log";

    my @cmd = ('taskset', '-c', $load_cpu, 'h2load', '-t', 1,
        '-H', 'Content-Type: application/json',
        '-d', "$dir/h2.body", '-i', "$dir/h2.uris",
        '--log-file', "$dir/h2.log",
        $secs ? ('-c', $conns, '-m', 1, '-D', $secs) : ('-n', 1, '-c', 1));

    open my $fh, '-|', @cmd or die "h2load: $!\n";
    my $out = join '', <$fh>;
    close $fh;

    my %r;

    my %unit = (s => 1e6, ms => 1e3, us => 1);

    my $finished = qr/^finished in ([\d.]+)(s|ms|us), ([\d.]+) req\/s/m;

    @r{qw(duration_us req_s)} = $out =~ $finished
        ? ($1 * $unit{$2}, $3) : die "h2load printed no result:\n$out";

    # "requests: 9 total, 9 started, 9 done, 9 succeeded, 0 failed, ..."
    # and "status codes: 9 2xx, 0 3xx, 0 4xx, 0 5xx"
    for my $what ('requests', 'status codes') {
        my ($line) = $out =~ /^$what: (.*)$/m
            or die "h2load printed no $what:\n$out";
        my %n = reverse $line =~ /(\d+) (\w+)/g;
        $r{$_} = $n{$_} // 0 for keys %n;
    }

    $r{requests} = $r{done};
    $r{rejected} = $r{'4xx'} + $r{'5xx'};
    $r{errors} = $r{errored} + $r{timeout};
    $r{rps} = $r{req_s} if $secs;

    my @lat = sort { $a <=> $b } map { (split /\t/)[2] }
        split /\n/, read_file("$dir/h2.log");
    @r{qw(p50_us p99_us)} = @lat ? ($lat[int(@lat * 0.50)],
        $lat[int(@lat * 0.99)]) : (0, 0);

    return \%r;
}

# the Redis commands run so far by name, but for INFO itself

sub redis_calls {
    my $info = $redis->cmd('INFO', 'commandstats');
    my %n;

    while ($info =~ /^cmdstat_(\S+?):calls=(\d+)/mg) {
        $n{$1} = $2 unless $1 eq 'info';
    }

    return \%n;
}

sub stop_all {
    stop_pidfile("$dir/$_/nginx.pid") for qw(gw up);
    $redis->stop() if $redis;
    sleep 0.3;
}

