#!/usr/bin/perl

# "make bench-scale": the limit zone with many bots, measured with a real
# nginx and the module.
#
# 1. Memory per bot.  For each size of SCALE_ZONES (1m, 4m), a gateway
#    with a manta_limit_zone and a manta_status_zone (bots=1000000) of that
#    size and a rate (1r/m) at which no bucket drains during the run gets
#    one request for each of bot-0000001, bot-0000002, ... (all in its
#    credentials file), one after the other, until the first 429; the
#    zone-full alert must then be in the error log.  The bots that got a
#    200 are the bots the limit zone holds; the bots with a series of their
#    own in the status JSON are those the status zone holds.  The same with
#    botIds of 100 bytes in the first size.  Two sizes give the bytes per
#    bot (the difference of sizes over the difference of bots) and the
#    zone's fixed overhead.
#
# 2. Cost per request with N bots in the zone, N in SCALE_BOTS (1000,
#    100000, 1000000).  "nginx -t" is timed with a credentials file of
#    each N (the module reads at most 1 MiB: a larger file fails, and the
#    error is printed) and with the largest that fits, 58,000 bots.  The
#    gateway (one worker pinned to CPU 0; the upstream nginx and wrk on
#    CPU 1) is started with the file of max(N) bots, or that largest one
#    (the file's default token then serves the bots it does not list),
#    and its start time and resident memory printed.  The zone is filled
#    by wrk walking the botIds in order up to each N in turn (rate 1r/m,
#    burst 1000000 nodelay: every request passes and no bucket becomes
#    idle), its use and evictions checked, then wrk sends requests for
#    botIds drawn at random among the N, SCALE_ROUNDS rounds of
#    SCALE_SECONDS alternating /openapi/clientTag (with manta_limit) and
#    /nolimit/clientTag (the same gateway location without it).  Printed:
#    the gateway worker's CPU time per request (its schedstat run time over
#    the run, divided by the requests), the medians, and the limit's cost:
#    the median of the rounds' differences of the two.
#
# Environment: MANTA_MODULE (the .so), NGINX_BIN, SCALE_BOTS
# (1000,100000,1000000), SCALE_ZONES (1m,4m), SCALE_SECONDS (3),
# SCALE_ROUNDS (5), SCALE_CONNECTIONS (32), MANTA_KEEP=1 keeps the
# temporary directory.

use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;
use File::Temp qw(tempdir);
use IO::Socket::INET;
use JSON::PP;
use Time::HiRes qw(sleep time);

use Bench qw(conf_head upstream_conf wait_port stop_pidfile read_file
    write_file free_port wrk_command gateway_worker cpu_ns cpus mask median
    run_ok);

my $nginx = $ENV{NGINX_BIN} // '/usr/sbin/nginx';
my $module = $ENV{MANTA_MODULE} or die "MANTA_MODULE is not set\n";
my @tiers = sort { $a <=> $b } split /,/, $ENV{SCALE_BOTS}
    // '1000,100000,1000000';
my @zones = split /,/, $ENV{SCALE_ZONES} // '1m,4m';
my $seconds = $ENV{SCALE_SECONDS} // 3;
my $rounds = $ENV{SCALE_ROUNDS} // 5;
my $conns = $ENV{SCALE_CONNECTIONS} // 32;
my $here = $FindBin::Bin;
my $started = time;

# "bot-0000001":{}, and a newline: the bots a file of at most 1 MiB lists

my $file_bots = 58000;

my $jwt = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.'
    . 'eyJzdWIiOiJiZW5jaCIsImV4cCI6NDEwMjQ0NDgwMH0.YmVuY2g';
my $long = 'long-bot-' . ('L' x 84);        # and 7 digits: 100 bytes

my ($gw_cpu, $load_cpu) = cpus() >= 2 ? (0, 1) : (0, 0);

delete $ENV{NGINX};     # nginx reads it as inherited sockets

my $dir = tempdir('manta-scale-XXXXXX', TMPDIR => 1,
    CLEANUP => !$ENV{MANTA_KEEP});
chmod 0755, $dir;
mkdir "$dir/$_" for qw(gw up tmp);
chmod 0777, "$dir/tmp";

my ($gw_port, $up_port) = (free_port(), free_port());

END {
    local $?;                   # what stop_all() waits for keeps the exit code
    stop_all() if $dir;
}

write_file("$dir/up/nginx.conf", upstream_conf($dir, $up_port,
    "worker_processes  1;\nworker_cpu_affinity  " . mask($load_cpu) . ';'));

run_ok('taskset', '-c', $load_cpu, $nginx, '-p', "$dir/up/", '-c',
    "$dir/up/nginx.conf", '-e', "$dir/up/error.log");
wait_port($up_port);

memory_per_bot();
cost_per_request();

printf "\nbench-scale took %.0f s\n", time - $started;

exit 0;

###############################################################################

sub memory_per_bot {
    # every bot the largest zone could hold, and then some (a zone too
    # large for the file: the default token serves the bots beyond it)

    my $n = int(size_bytes($zones[-1]) / 120);
    my $n_long = int(size_bytes($zones[0]) / 240);

    write_creds("$dir/creds-short.json", $n < $file_bots ? $n : $file_bots,
        []);
    write_creds("$dir/creds-long.json", 0,
        [ map { sprintf '%s%07d', $long, $_ } 1 .. $n_long ]);

    print "1. memory per bot: one request for each of bot-0000001, ... (11 "
        . "bytes) until\n   the first 429, rate 1r/m (no bucket drains); "
        . "status zone of the same size\n\n";

    printf "%-9s %-9s %10s %12s %12s %14s\n", 'zone', 'botIds',
        'limit bots', 'limit used', 'status bots', 'status used';

    my %res;

    for my $size (@zones, "$zones[0] long") {
        my ($zone, $kind) = split / /, $size;
        $kind //= 'short';

        start_gateway(creds => "$dir/creds-$kind.json", zone => $zone,
            status => "$zone bots=1000000");

        my $bots = fill_until_full($kind eq 'long' ? $long : 'bot-',
            $kind eq 'long' ? $n_long : $n);

        my $log = read_file("$dir/gw/error.log");
        die "no zone-full alert in the error log after the first 429\n"
            unless $log =~ /\[alert\].*manta_limit_zone "scale" is full/;

        my $st = status_json();
        my %z = map { $_->{kind} => $_ } @{ $st->{zones} };
        my $sbots = grep { $_->{bot} !~ /^__/ } @{ $st->{bots} };

        $res{$size} = { bots => $bots, size => size_bytes($zone),
            sbots => $sbots };

        printf "%-9s %-9s %10d %12d %12d %14d\n", $zone,
            $kind eq 'long' ? '100 bytes' : '11 bytes', $bots,
            $z{limit}{used}, $sbots, $z{status}{used};

        stop_gateway();
    }

    print "\n";

    for my $size (@zones, "$zones[0] long") {
        my $r = $res{$size};
        printf "%-9s limit zone: %6.0f bots per MB; status zone: %6.0f bots "
            . "per MB\n", $size, $r->{bots} / ($r->{size} / 1048576),
            $r->{sbots} / ($r->{size} / 1048576);
    }

    return if @zones < 2;

    my ($a, $b) = @res{ @zones[0, -1] };

    for my $what ([ 'limit', 'bots' ], [ 'status', 'sbots' ]) {
        my ($name, $k) = @$what;
        next if $b->{$k} == $a->{$k};

        my $per = ($b->{size} - $a->{size}) / ($b->{$k} - $a->{$k});

        printf "%s zone: %.1f bytes per bot (%s to %s), fixed overhead "
            . "%.0f bytes; 1 MB = %.0f bots\n", $name, $per, $zones[0],
            $zones[-1], $a->{size} - $a->{$k} * $per, 1048576 / $per;
    }
}


sub cost_per_request {
    my $max = $tiers[-1];
    my $listed = $max < $file_bots ? $max : $file_bots;

    print "\n2. cost per request with N bots in the limit zone\n\n";

    # the file the module reads is at most 1 MiB: a file of every bot when
    # it fits, otherwise the default token serves the bots it cannot list

    for my $n (@tiers, $max > $file_bots ? $file_bots : ()) {
        my $file = "$dir/creds-$n.json";
        write_creds($file, $n, []);

        my $t = time;
        my $out = `$nginx -t -p $dir/gw/ -e $dir/gw/error.log -c @{[
            gateway_conf(creds => $file, zone => '1m') ]} 2>&1`;
        my $ok = $? == 0;
        $t = time - $t;

        printf "nginx -t, credentials file of %7d bots (%5.2f MB): %s in "
            . "%.2f s\n", $n, (-s $file) / 1048576, $ok ? 'ok' : 'FAILED', $t;

        print map { "    $_\n" } grep { /emerg/ } split /\n/, $out
            unless $ok;
    }

    # the zone: 1.5 times 129 bytes a bot, and a megabyte

    my $zone = int($max * 129 * 1.5 / 1048576 + 1) . 'm';

    my $t = start_gateway(creds => "$dir/creds-$listed.json", zone => $zone,
        status => '1m bots=1');

    my $rss = gateway_rss();

    printf "\ngateway with a file of $listed bots and a $zone zone: started "
        . "in %.2f s (to the first\naccepted connection); RSS master %d MB, "
        . "worker %d MB\n", $t, $rss->{master} / 1024, $rss->{worker} / 1024;

    printf "botIds above bot-%07d are served by the file's default token\n",
        $listed if $listed < $max;

    print "\n";

    my $worker = $rss->{worker_pid};

    printf "%-9s %-8s %-6s %12s %10s %10s %12s\n", 'bots', 'path', 'round',
        'requests/s', 'p50 us', 'p99 us', 'cpu us/req';

    my ($filled, %med) = (0);

    for my $n (@tiers) {
        my $t0 = time;
        my $f = wrk('fill', '/openapi/clientTag', $filled + 1, $n, 600);
        die "fill up to $n: $f->{errors} errors\n" if $f->{errors};
        my $fill_s = time - $t0;
        $filled = $n;

        my $st = status_json();
        my ($z) = grep { $_->{kind} eq 'limit' } @{ $st->{zones} };

        printf "%-9d filled in %.1f s (%.0f requests/s): zone used %d of "
            . "%d bytes, evictions %d\n", $n, $fill_s,
            $f->{requests} / $fill_s, $z->{used}, $z->{total},
            $z->{evictions};

        print "WARNING: the zone freed idle buckets while it was filled "
            . "(a fill of more than a minute): it holds fewer than $n bots; "
            . "run with fewer SCALE_BOTS\n" if $z->{evictions};

        my %cpu;

        for my $round (1 .. $rounds) {
            for my $path ('/openapi/clientTag', '/nolimit/clientTag') {
                my $which = $path =~ /nolimit/ ? 'nolimit' : 'limit';

                my $before = cpu_ns($worker);
                my $r = wrk('random', $path, 1, $n, $seconds);
                my $after = cpu_ns($worker);

                die "$which: $r->{errors} errors\n" if $r->{errors};

                my $us = ($after - $before) / 1000 / $r->{requests};
                push @{ $cpu{$which} }, $us;

                printf "%-9d %-8s %-6d %12.0f %10d %10d %12.2f\n", $n,
                    $which, $round,
                    $r->{requests} / ($r->{duration_us} / 1e6),
                    $r->{p50_us}, $r->{p99_us}, $us;
            }
        }

        $med{$n} = { map { $_ => median(@{ $cpu{$_} }) } keys %cpu };

        # a round's two runs are back to back: their difference is the
        # least disturbed by the machine's drift

        $med{$n}{cost} = median(map { $cpu{limit}[$_] - $cpu{nolimit}[$_] }
            0 .. $rounds - 1);
    }

    print "\nmedian CPU per request (us), gateway worker\n";
    printf "%-9s %10s %10s %12s\n", 'bots', 'limit', 'nolimit',
        'limit cost';

    for my $n (@tiers) {
        printf "%-9d %10.2f %10.2f %12.2f\n", $n,
            @{ $med{$n} }{qw(limit nolimit cost)};
    }

    print "(limit cost: the median of the rounds' differences limit - "
        . "nolimit)\n";

    $rss = gateway_rss();
    printf "\ngateway RSS after the runs: master %d MB, worker %d MB\n",
        $rss->{master} / 1024, $rss->{worker} / 1024;

    stop_gateway();
}


# one keep-alive connection, one request per botId, in order: the number
# of 200s before the first 429

sub fill_until_full {
    my ($prefix, $max) = @_;

    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$gw_port")
        or die "connect: $!\n";
    my $body = '{"name":"Tag number"}';

    for my $i (1 .. $max) {
        my $bot = sprintf '%s%07d', $prefix, $i;

        print $s "POST /openapi/clientTag?botId=$bot HTTP/1.1\r\n"
            . "Host: localhost\r\nContent-Type: application/json\r\n"
            . 'Content-Length: ' . length($body) . "\r\n\r\n$body";

        my $status = read_response($s);

        return $i - 1 if $status == 429;
        die "bot $i: status $status\n" if $status != 200;
    }

    die "the zone held all $max bots: make the credentials file larger\n";
}


sub read_response {
    my ($s) = @_;

    my $head = '';

    while ($head !~ /\r\n\r\n/) {
        my $n = sysread($s, $head, 4096, length $head);
        die "connection closed\n" unless $n;
    }

    my ($h, $rest) = split /\r\n\r\n/, $head, 2;
    my ($status) = $h =~ m{^HTTP/1\.1 (\d+)} or die "bad response\n";
    my ($len) = $h =~ /^Content-Length: (\d+)/mi;

    die "no Content-Length\n" unless defined $len;

    while (length $rest < $len) {
        my $n = sysread($s, $rest, $len - length $rest, length $rest);
        die "connection closed\n" unless $n;
    }

    return $status;
}


sub status_json {
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$gw_port")
        or die "connect: $!\n";

    print $s "GET /status?format=json HTTP/1.1\r\nHost: localhost\r\n"
        . "Connection: close\r\n\r\n";

    local $/;
    my $r = <$s>;
    my ($body) = $r =~ /\r\n\r\n(.*)\z/s;

    return decode_json($body);
}


sub wrk {
    my ($mode, $path, $from, $to, $secs) = @_;

    local $ENV{SCALE_MODE} = $mode;
    local $ENV{SCALE_PATH} = $path;
    local $ENV{SCALE_FROM} = $from;
    local $ENV{SCALE_TO} = $to;

    my @cmd = wrk_command($load_cpu, $conns, $secs, "$here/scale.lua",
        $gw_port);

    my $pid = open my $fh, '-|', @cmd or die "wrk: $!\n";
    my $out = '';

    while (my $l = <$fh>) {
        $out .= $l;
        kill 'INT', $pid if $l eq "FILLED\n";
    }

    close $fh;

    my ($line) = $out =~ /^(BENCH .*)$/m
        or die "wrk printed no result:\n$out";

    my %r = $line =~ /(\w+)=(\d+)/g;
    return \%r;
}


sub write_creds {
    my ($file, $n, $extra) = @_;

    open my $fh, '>', $file or die "$file: $!\n";
    print $fh qq({"token":"$jwt","secret":"bench-secret","bots":{\n);
    printf $fh qq("bot-%07d":{},\n), $_ for 1 .. $n;
    print $fh qq("$_":{},\n) for @$extra;
    print $fh qq("bot-0000000":{}}}\n);
    close $fh;
    chmod 0600, $file;
}


sub gateway_conf {
    my (%o) = @_;

    my $status = $o{status}
        ? "manta_status_zone  zone=status:$o{status};" : '';
    my $status_loc = $o{status}
        ? 'location = /status { manta_status; }' : '';

    my $head = "load_module  $module;\nworker_processes  1;\n"
        . 'worker_cpu_affinity  ' . mask($gw_cpu) . ';';

    write_file("$dir/gw/nginx.conf", conf_head($dir, 'gw', $head) . <<"CONF");

    manta_credentials  $o{creds};
    manta_limit_zone   zone=scale:$o{zone} rate=1r/m;
    manta_limit_log_level  info;
    $status

    upstream manta {
        server  127.0.0.1:$up_port;
        keepalive  64;
    }

    server {
        listen  127.0.0.1:$gw_port  backlog=4096;

        proxy_http_version  1.1;
        proxy_set_header    Connection  "";

        location = /openapi/clientTag {
            manta_endpoint  client_tag;
            manta_limit     zone=scale burst=1000000 nodelay;
            proxy_pass      http://manta/api/openapi/clientTag;
        }

        location = /nolimit/clientTag {
            manta_endpoint  client_tag;
            proxy_pass      http://manta/api/openapi/clientTag;
        }

        $status_loc
    }
}
CONF

    return "$dir/gw/nginx.conf";
}


# starts the gateway; the seconds until it accepted a connection

sub start_gateway {
    my (%o) = @_;

    my $conf = gateway_conf(%o);
    unlink "$dir/gw/error.log";

    my $t = time;
    run_ok($nginx, '-p', "$dir/gw/", '-c', $conf, '-e', "$dir/gw/error.log");
    wait_port($gw_port, 600);

    return time - $t;
}


sub stop_gateway {
    my $pid = read_file("$dir/gw/nginx.pid");
    chomp $pid;

    stop_pidfile("$dir/gw/nginx.pid");

    for (1 .. 300) {
        return unless kill 0, $pid;
        sleep 0.1;
    }

    die "the gateway did not stop\n";
}


# VmRSS in kB of the gateway's master and (only) worker

sub gateway_rss {
    my $master = read_file("$dir/gw/nginx.pid");
    chomp $master;

    my $pid = gateway_worker($dir);

    return { master => rss($master), worker => rss($pid),
        worker_pid => $pid };
}


sub rss {
    my ($pid) = @_;
    my ($kb) = read_file("/proc/$pid/status") =~ /^VmRSS:\s+(\d+)/m;
    return $kb;
}


sub size_bytes {
    my ($s) = @_;
    my ($n, $u) = $s =~ /^(\d+)([km]?)$/i or die "bad size $s\n";
    return $n * ({ '' => 1, k => 1024, m => 1048576 }->{ lc $u });
}


sub stop_all {
    stop_pidfile("$dir/$_/nginx.pid") for qw(gw up);
    sleep 0.3;
}

