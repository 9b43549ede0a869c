package Bench;

# What "make bench" and "make bench-profile" share: the gateway and
# upstream configurations they compare, in a temporary directory, and small
# process and file helpers.
#
# The gateway has two locations forwarding to the same fast upstream nginx
# over keepalive connections:
#
#   /bare/clientTag      proxy_pass with a fixed body (proxy_set_body) and
#                        Authorization header (proxy_set_header)
#   /openapi/clientTag   manta_endpoint with a rate limit that never
#                        rejects

use strict;
use warnings;

use Exporter qw(import);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use Time::HiRes qw(sleep);

our @EXPORT_OK = qw(setup wait_port stop_pidfile read_file);

my $jwt = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.'
    . 'eyJzdWIiOiJiZW5jaCIsImV4cCI6NDEwMjQ0NDgwMH0.YmVuY2g';

# setup(gw => "process-level directives", up => "...", keepalive => N)
# writes both configurations and returns { dir, gw_port, up_port }.
# BENCH_STATUS=1: the gateway counts in a manta_status_zone (to compare
# the cost of counting, runs with and without it)

sub setup {
    my (%o) = @_;

    $o{status} = $ENV{BENCH_STATUS}
        ? '    manta_status_zone  zone=bench_status:1m;' : '';

    my $module = $ENV{MANTA_MODULE} or die "MANTA_MODULE is not set\n";

    delete $ENV{NGINX};     # nginx reads it as inherited sockets

    my $dir = tempdir('manta-bench-XXXXXX', TMPDIR => 1,
        CLEANUP => !$ENV{MANTA_KEEP});
    chmod 0755, $dir;
    mkdir "$dir/$_" for qw(gw up tmp);
    chmod 0777, "$dir/tmp";

    my ($gw_port, $up_port) = (free_port(), free_port());

    write_file("$dir/creds.json",
        qq({"token":"$jwt","secret":"bench-secret"}\n), 0600);

    write_file("$dir/up/nginx.conf", <<"CONF");
$o{up}
pid  $dir/up/nginx.pid;
error_log  $dir/up/error.log  error;
events { worker_connections  4096; }
http {
    access_log  off;
    client_body_temp_path  $dir/tmp/up_body;
    keepalive_requests  1000000;
    server {
        listen  127.0.0.1:$up_port  backlog=4096;
        location / {
            default_type  application/json;
            return  200  '{"success":true,"message":"client tag created"}';
        }
    }
}
CONF

    write_file("$dir/gw/nginx.conf", <<"CONF");
load_module  $module;
$o{gw}
pid  $dir/gw/nginx.pid;
error_log  $dir/gw/error.log  error;
events { worker_connections  4096; }
http {
    access_log  off;
    client_body_temp_path  $dir/tmp/gw_body;
    proxy_temp_path  $dir/tmp/gw_proxy;
    keepalive_requests  1000000;

    manta_credentials  $dir/creds.json;
    manta_limit_zone   zone=bench:1m rate=1000000r/s;
$o{status}

    upstream manta {
        server  127.0.0.1:$up_port;
        keepalive  $o{keepalive};
    }

    server {
        listen  127.0.0.1:$gw_port  backlog=4096;

        proxy_http_version  1.1;
        proxy_set_header    Connection  "";

        location = /openapi/clientTag {
            manta_endpoint  client_tag;
            manta_limit     zone=bench burst=1000000 nodelay;
            proxy_pass      http://manta/api/openapi/clientTag;
        }

        location = /bare/clientTag {
            # a location-level proxy_set_header drops the inherited ones
            proxy_set_header  Connection  "";
            proxy_set_header  Authorization  "Bearer $jwt";
            proxy_set_header  Content-Type  application/json;
            proxy_set_body    '{"secret":"bench-secret","name":"Tag number"}';
            proxy_pass        http://manta/api/openapi/clientTag;
        }
    }
}
CONF

    return { dir => $dir, gw_port => $gw_port, up_port => $up_port };
}

sub wait_port {
    my ($port, $tries) = @_;

    for (1 .. $tries // 50) {
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port");
        return if $s;
        sleep 0.1;
    }

    die "nothing listens on $port\n";
}

sub stop_pidfile {
    my ($file) = @_;

    return unless -f $file;

    my $pid = read_file($file);
    chomp $pid;
    kill 'TERM', $pid if $pid;
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

1;
