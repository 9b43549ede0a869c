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

use File::Temp qw(tempdir);
use IO::Socket::INET;
use Time::HiRes qw(sleep);

my $module = $ENV{MANTA_MODULE} or die "MANTA_MODULE is not set\n";
my $nginx = $ENV{NGINX_BIN} // '/usr/sbin/nginx';
my $requests = $ENV{BENCH_REQUESTS} // 2000;

delete $ENV{NGINX};     # nginx reads it as inherited sockets

my $dir = tempdir('manta-profile-XXXXXX', TMPDIR => 1,
    CLEANUP => !$ENV{MANTA_KEEP});
chmod 0755, $dir;
mkdir "$dir/$_" for qw(gw up tmp);
chmod 0777, "$dir/tmp";

my ($gw_port, $up_port) = (free_port(), free_port());

my $jwt = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.'
    . 'eyJzdWIiOiJiZW5jaCIsImV4cCI6NDEwMjQ0NDgwMH0.YmVuY2g';

write_file("$dir/creds.json",
    qq({"token":"$jwt","secret":"bench-secret"}\n), 0600);

write_file("$dir/up/nginx.conf", <<"CONF");
worker_processes  1;
pid  $dir/up/nginx.pid;
error_log  $dir/up/error.log  error;
events { }
http {
    access_log  off;
    client_body_temp_path  $dir/tmp/up_body;
    keepalive_requests  1000000;
    server {
        listen  127.0.0.1:$up_port;
        location / {
            default_type  application/json;
            return  200  '{"success":true,"message":"client tag created"}';
        }
    }
}
CONF

# the gateway of "make bench", in one process

write_file("$dir/gw/nginx.conf", <<"CONF");
load_module  $module;
master_process  off;
daemon  off;
pid  $dir/gw/nginx.pid;
error_log  $dir/gw/error.log  error;
events { }
http {
    access_log  off;
    client_body_temp_path  $dir/tmp/gw_body;
    proxy_temp_path  $dir/tmp/gw_proxy;
    keepalive_requests  1000000;

    manta_credentials  $dir/creds.json;
    manta_limit_zone   zone=bench:1m rate=1000000r/s;

    upstream manta {
        server  127.0.0.1:$up_port;
        keepalive  8;
    }

    server {
        listen  127.0.0.1:$gw_port;

        proxy_http_version  1.1;
        proxy_set_header    Connection  "";

        location = /openapi/clientTag {
            manta_endpoint  client_tag;
            manta_limit     zone=bench burst=1000000 nodelay;
            proxy_pass      http://manta/api/openapi/clientTag;
        }

        location = /bare/clientTag {
            proxy_set_header  Connection  "";
            proxy_set_header  Authorization  "Bearer $jwt";
            proxy_set_header  Content-Type  application/json;
            proxy_set_body    '{"secret":"bench-secret","name":"Tag number"}';
            proxy_pass        http://manta/api/openapi/clientTag;
        }
    }
}
CONF

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
    kill 'TERM', $vg if $vg;
    waitpid $vg, 0 if $vg;

    my $f = "$dir/up/nginx.pid";

    if (-f $f) {
        my $pid = read_file($f);
        chomp $pid;
        kill 'TERM', $pid if $pid;
    }
}

sub wait_port {
    my ($port, $tries) = @_;

    for (1 .. $tries) {
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port");
        return if $s;
        sleep 0.1;
    }

    die "nothing listens on $port\n";
}

sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1:0', Listen => 1)
        or die "socket: $!\n";
    return $s->sockport;
}

sub write_file {
    my ($name, $data, $mode) = @_;
    open my $fh, '>', $name or die "$name: $!\n";
    print $fh $data;
    close $fh;
    chmod $mode, $name if defined $mode;
}

sub read_file {
    my ($name) = @_;
    open my $fh, '<', $name or die "$name: $!\n";
    local $/;
    return <$fh>;
}
