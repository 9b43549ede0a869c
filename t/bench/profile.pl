#!/usr/bin/perl

# "make bench-profile": instructions per request, counted by callgrind
# (repeatable, unlike timings), for every path of "make bench": the
# gateway's location and its reference (see Bench.pm).
#
# The gateway runs under valgrind --tool=callgrind with one process
# (master_process off) in front of a fast upstream nginx; a keep-alive
# client (h2load -c 1 -m 1 for HTTP/2) sends BENCH_REQUESTS requests to
# each location (after a warm-up of 200), the counters being zeroed before
# and dumped after each batch.  Printed: one table, the instructions per
# request of the whole gateway process for the reference and the gateway
# and their ratio; then, for the gateway location of the path
# BENCH_DETAIL (ascii), those spent in the module's own functions and in
# the libraries it calls (jansson, utf8proc, PCRE2, libcrypto, hiredis),
# function by function.
#
# Environment: MANTA_MODULE (the .so), NGINX_BIN, BENCH_REQUESTS (2000),
# BENCH_PATHS (all), BENCH_DETAIL (ascii; "none" for no detail),
# MANTA_KEEP=1 keeps the temporary directory.

use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin, "$FindBin::Bin/../lib";
use IO::Socket::INET;
use Time::HiRes qw(sleep);

use Bench qw(setup cases usable wait_port stop_pidfile read_file write_file
    request);

my $nginx = $ENV{NGINX_BIN} // '/usr/sbin/nginx';
my $requests = $ENV{BENCH_REQUESTS} // 2000;
my $detail = $ENV{BENCH_DETAIL} // 'ascii';

my ($redis_port, @cases) = usable(cases($ENV{BENCH_PATHS}));
my $redis;

# the gateway of "make bench", in one process

my $bench = setup(gw => "master_process  off;\ndaemon  off;",
    up => 'worker_processes  1;', keepalive => 8, redis_port => $redis_port);

my ($dir, $gw_port, $h2_port) = @$bench{qw(dir gw_port h2_port)};

$redis = Manta::Redis->new(port => $redis_port, dir => $dir) if $redis_port;

system($nginx, '-p', "$dir/up/", '-c', "$dir/up/nginx.conf", '-e',
    "$dir/up/error.log") == 0 or die "upstream nginx failed\n";

my $out = "$dir/callgrind.out";

my $vg = fork() // die "fork: $!\n";

if ($vg == 0) {
    open STDOUT, '>', "$dir/valgrind.log";
    open STDERR, '>&', \*STDOUT;
    exec('valgrind', '--tool=callgrind', "--callgrind-out-file=$out",
        $nginx, '-p', "$dir/gw/", '-c', "$dir/gw/nginx.conf", '-e',
        "$dir/gw/error.log");
    exit 1;
}

END {
    local $?;                   # what stop_all() waits for keeps the exit code
    stop_all() if $dir;
}

wait_port($_, 300) for $gw_port, $h2_port;

# a location sent the same body twice is counted once

my (%ir, %dump, @rows);

for my $c (@cases) {
    my %n;

    for my $which ('ref', 'gw') {
        my $key = join ' ', $c->{h2} ? 'h2' : 'h1', $c->{bots}, $c->{$which},
            $c->{body};

        ($ir{$key}, $dump{$key}) = profile($c, $which) unless $ir{$key};
        $n{$which} = $ir{$key};
        $c->{dump} = $dump{$key} if $which eq 'gw';
    }

    push @rows, [$c, $n{ref}, $n{gw}];
    printf STDERR "%-14s %8.0f %8.0f\n", $c->{name}, $n{ref}, $n{gw};
}

printf "\nmake bench-profile: instructions per request, whole gateway "
    . "process (callgrind, %d requests each)\n\n", $requests;
printf "%-14s %-11s %10s %10s %8s  %s\n", 'path', 'vs', 'reference',
    'gateway', 'ratio', 'target (bench cpu/req)';

for my $row (@rows) {
    my ($c, $ref, $gw) = @$row;
    printf "%-14s %-11s %10.0f %10.0f %8.3f  %s %.2f\n", $c->{name},
        $c->{vs}, $ref, $gw, $gw / $ref, $c->{target} < 1 ? '<' : '<=',
        $c->{target};
}

for my $row (grep { $_->[0]{name} eq $detail } @rows) {
    my ($c, $ref, $gw) = @$row;
    my $stages = stages($c->{dump});
    my $sum = 0;

    printf "\n%s, gateway location: the %.0f instructions a request over "
        . "its reference, by stage (inclusive)\n", $c->{name}, $gw - $ref;

    for my $st (@$stages) {
        next unless $st->[1];
        $sum += $st->[1];
        printf "  %8.0f  %s\n", $st->[1] / $requests, $st->[0];
    }

    printf "  %8.0f  %s\n", $gw - $ref - $sum / $requests,
        "the rest: nginx's own work around the stages (the phases resumed "
        . "after the body, pool allocations, more header lines out), less "
        . "what the reference does and the gateway does not";
}

for my $c (grep { $_->{name} eq $detail } @cases) {
    my ($own, $fns) = own($c->{dump});

    printf "\n%s, gateway location: %.0f instructions per request in the "
        . "module and its libraries (self cost)\n", $c->{name},
        $own / $requests;

    for my $fn (@$fns) {
        printf "  %8.0f  %s\n", $fn->[0] / $requests, $fn->[1];
    }
}

exit 0;

###############################################################################

# the instructions per request of one location of the case, and its dump

sub profile {
    my ($c, $which) = @_;

    client($c, $which, 200, 1);

    system("callgrind_control -z $vg > /dev/null 2>&1") == 0
        or die "callgrind_control failed\n";

    client($c, $which, $requests, 0);

    system("callgrind_control -d $vg > /dev/null 2>&1") == 0
        or die "callgrind_control failed\n";

    sleep 0.5;

    my @dumps = sort { (stat $a)[9] <=> (stat $b)[9] || $a cmp $b }
        glob "$out.*";

    return (total($dumps[-1]) / $requests, $dumps[-1]);
}

sub total {
    my ($file) = @_;

    my $a = `callgrind_annotate --auto=no --threshold=100 $file 2>/dev/null`;
    my ($n) = $a =~ /^\s*([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS/m
        or die "no totals in $file\n";
    $n =~ tr/,//d;
    return $n;
}

sub own {
    my ($file) = @_;

    my $a = `callgrind_annotate --auto=no --threshold=100 $file 2>/dev/null`;
    my ($sum, @rows) = (0);

    for my $line (split /\n/, $a) {
        my ($n, $fn, $obj) =
            $line =~ /^\s*([\d,]+) \([\d. ]+%\)\s+(\S+) \[(.*)\]$/
            or next;
        next unless $obj =~ /ngx_http_manta_module\.so|libjansson|libutf8proc
            |libpcre2|libcrypto|libhiredis/x;
        $n =~ tr/,//d;
        $sum += $n;
        $fn =~ s/^.*?://;
        $obj =~ s{^.*/}{};
        push @rows, [$n, "$fn ($obj)"] if $n >= $requests * 5;
    }

    return ($sum, \@rows);
}

# the module's stages and their entry points, whose inclusive costs are
# summed (a function callgrind names with a suffix, such as ".isra.0",
# counts as its own)

sub stage_list {
    return (
    [ 'context, log guard, status counting and cleanup',
      qw(ngx_http_manta_create_ctx ngx_http_manta_guard_log
         ngx_http_manta_status_log_handler ngx_http_manta_cleanup) ],
    [ 'head checks: method, media type, botId, known bot',
      qw(ngx_http_manta_check_head) ],
    [ 'body checks: JSON, name normalization, the forwarded body; a '
      . 'rejection\'s ErrorResponse',
      qw(ngx_http_manta_join_body manta_check_body
         ngx_http_manta_reject_message) ],
    [ 'rate limit: zone lookup and take', qw(ngx_http_manta_limit_account) ],
    [ 'the request rewritten: query, body, headers, Authorization',
      qw(ngx_http_manta_rewrite_request) ],
    [ 'upstream headers searched for the token and the secret',
      qw(ngx_http_manta_redact_headers) ],
    [ 'RateLimit and RateLimit-Policy', qw(ngx_http_manta_limit_response) ],
    [ 'the body masked on its way out',
      qw(ngx_http_manta_mask_start ngx_http_manta_mask_body) ],
    [ 'an upstream error rewritten or passed',
      qw(ngx_http_manta_error_start ngx_http_manta_error_collect
         ngx_http_manta_error_body) ],
    );
}

sub stages {
    my ($file) = @_;

    my $opt = '--auto=no --inclusive=yes --threshold=100';
    my $a = `callgrind_annotate $opt $file 2>/dev/null`;
    my %incl;

    for my $line (split /\n/, $a) {
        my ($n, $fn) = $line =~ /^\s*([\d,]+) \([\d. ]+%\)\s+(\S+) \[/
            or next;
        $n =~ tr/,//d;
        $fn =~ s/^.*?://;
        $fn =~ s/\..*$//;
        $incl{$fn} += $n unless $fn =~ /'/;
    }

    return [ map {
        my ($name, @fns) = @$_;
        my $n = 0;
        $n += $incl{$_} // 0 for @fns;
        [ $name, $n ];
    } stage_list() ];
}

# $n requests of the case's botIds to a location of the case, each
# answered as expected; in the warm-up, the first request of a bot over
# the tiny limit may pass

sub client {
    my ($c, $which, $n, $warm) = @_;

    my $path = $c->{$which};
    my $want = $which eq 'gw' ? $c->{status} : $c->{ref_status};

    return h2($c, $path, $n, $want) if $c->{h2};

    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$gw_port",
        Timeout => 60) or die "connect: $!\n";

    for my $i (1 .. $n) {
        my ($status) = request($s, $path, 'bot-' . ($i % $c->{bots} + 1),
            $c->{body});
        die "$c->{name}: $path answered $status, not $want\n"
            unless $status == $want || $warm && $status == 200;
    }
}

sub h2 {
    my ($c, $path, $n, $want) = @_;

    write_file("$dir/h2.body", $c->{body});
    write_file("$dir/h2.uris", join '', map {
        "http://127.0.0.1:$h2_port$path?botId=bot-$_\n"
    } 1 .. 100);

    open my $fh, '-|', 'h2load', '-t', 1, '-c', 1, '-m', 1, '-n', $n,
        '-H', 'Content-Type: application/json', '-d', "$dir/h2.body",
        '-i', "$dir/h2.uris" or die "h2load: $!\n";
    my $o = join '', <$fh>;
    close $fh;

    my ($ok) = $o =~ /^status codes: .*?(\d+) ${\ substr($want, 0, 1)}xx/m;

    die "$c->{name}: h2 $path: not $n answers $want:\n$o\n"
        unless defined $ok && $ok == $n;
}

sub stop_all {
    if ($vg) {
        kill 'TERM', $vg;
        waitpid $vg, 0;
    }

    stop_pidfile("$dir/up/nginx.pid");
    $redis->stop() if $redis;
}
