#!/usr/bin/perl

# "make bench-profile": instructions per request, counted by callgrind
# (repeatable, unlike timings), for the two locations of "make bench".
#
# The gateway runs under valgrind --tool=callgrind with one process
# (master_process off) in front of a fast upstream nginx; a keep-alive
# client sends BENCH_REQUESTS requests to each location (after a warm-up),
# the counters being zeroed before and dumped after each batch.  Printed:
# the instructions per request of the whole gateway process for each
# location, and, for the manta location, those spent in the module's own
# functions and in the libraries it calls (jansson, utf8proc, PCRE2,
# libcrypto), function by function.
#
# Environment: MANTA_MODULE (the .so), NGINX_BIN, BENCH_REQUESTS (2000),
# MANTA_KEEP=1 keeps the temporary directory.

use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;
use IO::Socket::INET;
use Time::HiRes qw(sleep);

use Bench qw(setup wait_port stop_pidfile);

my $nginx = $ENV{NGINX_BIN} // '/usr/sbin/nginx';
my $requests = $ENV{BENCH_REQUESTS} // 2000;

# the gateway of "make bench", in one process

my $bench = setup(gw => "master_process  off;\ndaemon  off;",
    up => 'worker_processes  1;', keepalive => 8);

my ($dir, $gw_port) = @$bench{qw(dir gw_port)};

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

END { stop_all() if $dir }

wait_port($gw_port, 300);

my %ir;

for my $path ('/bare/clientTag', '/openapi/clientTag') {
    client($path, 200);

    system("callgrind_control -z $vg > /dev/null 2>&1") == 0
        or die "callgrind_control failed\n";

    client($path, $requests);

    system("callgrind_control -d $vg > /dev/null 2>&1") == 0
        or die "callgrind_control failed\n";

    sleep 0.5;

    my @dumps = sort { (stat $a)[9] <=> (stat $b)[9] || $a cmp $b }
        glob "$out.*";
    $ir{$path} = $dumps[-1];
}

my $bare = total($ir{'/bare/clientTag'}) / $requests;
my $manta = total($ir{'/openapi/clientTag'}) / $requests;

printf "instructions per request, whole gateway process (callgrind, "
    . "%d requests each)\n", $requests;
printf "  bare   %8.0f\n  manta  %8.0f\n  ratio  %8.3f\n\n", $bare, $manta,
    $manta / $bare;

my ($own, $rows) = own($ir{'/openapi/clientTag'});

printf "manta location: %.0f instructions per request in the module and "
    . "its libraries (self cost)\n", $own / $requests;

for my $row (@$rows) {
    printf "  %8.0f  %s\n", $row->[0] / $requests, $row->[1];
}

exit 0;

###############################################################################

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
        my ($n, $fn, $obj) = $line =~ /^\s*([\d,]+) \([\d. ]+%\)\s+(\S+) \[(.*)\]$/
            or next;
        next unless $obj =~ /ngx_http_manta_module\.so|libjansson|libutf8proc
            |libpcre2|libcrypto/x;
        $n =~ tr/,//d;
        $sum += $n;
        $fn =~ s/^.*?://;
        $obj =~ s{^.*/}{};
        push @rows, [$n, "$fn ($obj)"] if $n >= $requests * 5;
    }

    return ($sum, \@rows);
}

sub client {
    my ($path, $n) = @_;

    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$gw_port",
        Timeout => 60) or die "connect: $!\n";

    for my $i (1 .. $n) {
        my $body = qq({"name": "  Tag   number\xe3\x80\x80$i  "});
        my $bot = 'bot-' . $i % 100;

        print $s "POST $path?botId=$bot HTTP/1.1\r\nHost: bench\r\n"
            . "Content-Type: application/json\r\n"
            . 'Content-Length: ' . length($body) . "\r\n\r\n$body";

        my $h = '';
        while ($h !~ /\r\n\r\n/) {
            sysread($s, $h, 4096, length $h) or die "$path: eof\n";
        }

        my ($head, $rest) = split /\r\n\r\n/, $h, 2;
        my ($cl) = $head =~ /^Content-Length: (\d+)/mi;
        die "$path: $head\n" unless $head =~ m{^HTTP/1.1 200} && defined $cl;

        while (length $rest < $cl) {
            sysread($s, $rest, $cl - length $rest, length $rest)
                or die "$path: eof\n";
        }
    }
}

sub stop_all {
    if ($vg) {
        kill 'TERM', $vg;
        waitpid $vg, 0;
    }

    stop_pidfile("$dir/up/nginx.pid");
}
