#!/usr/bin/perl

# "make bench": the gateway's cost side by side with a bare proxy_pass.
#
# One gateway nginx (one worker pinned to CPU 0) serves two locations that
# forward to the same fast upstream nginx over keepalive connections:
#
#   /bare/clientTag      proxy_pass with a fixed body (proxy_set_body) and
#                        Authorization header (proxy_set_header)
#   /openapi/clientTag   manta_endpoint with a rate limit that never
#                        rejects, 100 distinct botIds, a name to normalize
#
# The upstream nginx and wrk share CPU 1.  Runs of the two locations
# alternate, BENCH_ROUNDS times; each prints requests/s, p50/p99 latency
# and the gateway worker's CPU time per request (utime + stime from /proc
# over the run, divided by the requests), then the medians, the ratios
# manta/bare, and the median of the per-round throughput ratios, the
# figure held to the project's 0.90 floor.
#
# Environment: MANTA_MODULE (the .so), NGINX_BIN, BENCH_SECONDS (6),
# BENCH_ROUNDS (5), BENCH_CONNECTIONS (32), MANTA_KEEP=1 keeps the
# temporary directory.

use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;
use Time::HiRes qw(sleep);

use Bench qw(setup wait_port stop_pidfile read_file);

my $nginx = $ENV{NGINX_BIN} // '/usr/sbin/nginx';
my $seconds = $ENV{BENCH_SECONDS} // 6;
my $rounds = $ENV{BENCH_ROUNDS} // 5;
my $conns = $ENV{BENCH_CONNECTIONS} // 32;
my $here = $FindBin::Bin;

my $cpus = `nproc`;
chomp $cpus;
my ($gw_cpu, $load_cpu) = $cpus >= 2 ? (0, 1) : (0, 0);

my $bench = setup(
    gw => "worker_processes  1;\nworker_cpu_affinity  " . mask($gw_cpu) . ';',
    up => "worker_processes  1;\nworker_cpu_affinity  " . mask($load_cpu)
        . ';',
    keepalive => 64);

my ($dir, $gw_port, $up_port) = @$bench{qw(dir gw_port up_port)};

run_ok('taskset', '-c', $load_cpu, $nginx, '-p', "$dir/up/", '-c',
    "$dir/up/nginx.conf", '-e', "$dir/up/error.log");
run_ok($nginx, '-p', "$dir/gw/", '-c', "$dir/gw/nginx.conf", '-e',
    "$dir/gw/error.log");

END { stop_all() if $dir }

wait_port($_) for $gw_port, $up_port;

my $worker = gateway_worker();

print "gateway worker $worker on CPU $gw_cpu; upstream nginx and wrk on "
    . "CPU $load_cpu; $rounds rounds of $seconds s, $conns connections\n\n";

# warm up both paths, and check that they answer 200

for my $path ('/bare/clientTag', '/openapi/clientTag') {
    my $r = wrk($path, 1);
    die "warm-up of $path failed: $r->{errors} errors\n" if $r->{errors};
}

my %res = (bare => [], manta => []);

printf "%-6s %-6s %12s %10s %10s %12s\n", 'round', 'path', 'requests/s',
    'p50 us', 'p99 us', 'cpu us/req';

for my $round (1 .. $rounds) {
    for my $which ('bare', 'manta') {
        my $path = $which eq 'bare' ? '/bare/clientTag' : '/openapi/clientTag';

        my $before = cpu_ticks($worker);
        my $r = wrk($path, $seconds);
        my $after = cpu_ticks($worker);

        die "$which: $r->{errors} errors (non-2xx or socket)\n"
            if $r->{errors};

        $r->{rps} = $r->{requests} / ($r->{duration_us} / 1e6);
        $r->{cpu_us} = ($after - $before) / ticks_per_second() * 1e6
            / $r->{requests};

        push @{ $res{$which} }, $r;

        printf "%-6d %-6s %12.0f %10d %10d %12.2f\n", $round, $which,
            $r->{rps}, $r->{p50_us}, $r->{p99_us}, $r->{cpu_us};
    }
}

my %med;

for my $which ('bare', 'manta') {
    for my $k (qw(rps p50_us p99_us cpu_us)) {
        $med{$which}{$k} = median(map { $_->{$k} } @{ $res{$which} });
    }
}

print "\nmedians\n";

for my $which ('bare', 'manta') {
    printf "%-13s %12.0f %10d %10d %12.2f\n", $which,
        @{ $med{$which} }{qw(rps p50_us p99_us cpu_us)};
}

# rounds are paired: the ratio of each round's runs, which ran one after
# the other, is less sensitive to the machine's drift than the medians'

my @paired = map { $res{manta}[$_]{rps} / $res{bare}[$_]{rps} }
    0 .. $rounds - 1;
my $ratio = median(@paired);

printf "\nthroughput manta/bare per round: %s; median %.3f\n",
    join(' ', map { sprintf '%.3f', $_ } @paired), $ratio;

printf "ratio of the medians manta/bare: throughput %.3f, p50 %.3f, "
    . "p99 %.3f, cpu/request %.3f\n", $med{manta}{rps} / $med{bare}{rps},
    $med{manta}{p50_us} / $med{bare}{p50_us},
    $med{manta}{p99_us} / $med{bare}{p99_us},
    $med{manta}{cpu_us} / $med{bare}{cpu_us};

printf "floor, median paired throughput ratio >= 0.90: %s\n",
    $ratio >= 0.90 ? 'met' : 'NOT MET';

exit 0;

###############################################################################

sub wrk {
    my ($path, $secs) = @_;

    local $ENV{BENCH_PATH} = $path;

    my @cmd = ('taskset', '-c', $load_cpu, 'wrk', '-t', 1, '-c', $conns,
        '-d', "${secs}s", '-s', "$here/wrk.lua",
        "http://127.0.0.1:$gw_port");

    open my $fh, '-|', @cmd or die "wrk: $!\n";
    my $out = join '', <$fh>;
    close $fh;

    my ($line) = $out =~ /^(BENCH .*)$/m
        or die "wrk printed no result:\n$out";

    my %r = $line =~ /(\w+)=(\d+)/g;
    return \%r;
}

sub cpu_ticks {
    my ($pid) = @_;

    my $stat = read_file("/proc/$pid/stat");

    # after the command name: state is the 3rd field, utime the 14th
    $stat =~ s/^.*\) //;
    my @f = split ' ', $stat;
    return $f[11] + $f[12];
}

sub ticks_per_second {
    my $t = `getconf CLK_TCK`;
    chomp $t;
    return $t || 100;
}

sub gateway_worker {
    my $master = read_file("$dir/gw/nginx.pid");
    chomp $master;

    for (1 .. 50) {
        for my $p (glob '/proc/[0-9]*') {
            open my $fh, '<', "$p/stat" or next;
            my $stat = <$fh>;
            close $fh;
            next unless defined $stat;
            my ($pid, $ppid) = $stat =~ /^(\d+) \(.*\) \S (\d+)/;
            return $pid if defined $ppid && $ppid == $master;
        }
        sleep 0.1;
    }

    die "no gateway worker\n";
}

sub median {
    my @v = sort { $a <=> $b } @_;
    return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}

sub mask {
    my ($cpu) = @_;
    return 'auto' if $cpus < 2;
    return '0' x ($cpus - $cpu - 1) . '1' . '0' x $cpu;
}

sub stop_all {
    stop_pidfile("$dir/$_/nginx.pid") for qw(gw up);
    sleep 0.3;
}

sub run_ok {
    system(@_) == 0 or die "@_: failed\n";
}
