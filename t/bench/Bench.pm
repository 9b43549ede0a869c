package Bench;

# What "make bench" and "make bench-profile" share: the paths they measure,
# the gateway and upstream configurations (in a temporary directory), one
# HTTP/1.1 request on a keep-alive socket, and small process and file
# helpers.
#
# Every path is a pair of locations of one gateway nginx, measured side by
# side: the gateway's location and its reference, both forwarding to the
# same fast upstream nginx over keepalive connections (but for the local
# rejections, which the gateway answers itself).  A reference "bare" is a
# plain proxy_pass with a fixed body (proxy_set_body) and Authorization
# (proxy_set_header), sent the same caller body as the gateway; "local
# limit" is the gateway's own location with its local zone.  The upstream
# answers by location: 200 with the success JSON, 409 problem+json, or
# 409 ErrorResponse.

use strict;
use warnings;

use Exporter qw(import);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use Time::HiRes qw(sleep);

our @EXPORT_OK = qw(setup cases usable conf_head upstream_conf wait_port
    stop_pidfile read_file write_file request free_port wrk_command
    gateway_worker cpu_ns cpus mask median run_ok);

my $jwt = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.'
    . 'eyJzdWIiOiJiZW5jaCIsImV4cCI6NDEwMjQ0NDgwMH0.YmVuY2g';

my $ascii = '{"name":"  Team  Alpha  "}';

# The paths, in the order of the table.  name: what BENCH_PATHS selects;
# body: the caller's body (bytes, sent as they are); gw, ref: the
# locations; vs: what the reference is; status, ref_status: the expected
# answers; message: the gateway's ErrorResponse message; as_ref: the
# gateway answers the reference's bytes; target: the ratio of CPU per
# request the path is held to; bots: the distinct botIds (100; one bot
# over its limit passes once a minute); h2: over HTTP/2 (h2c, prior
# knowledge); redis: needs a redis-server.

my @cases = (
    { name => 'ascii', what => 'ASCII name with spaces', body => $ascii },
    { name => 'escapes', what => 'JSON escapes \u00e9 \" \/',
      body => '{"name":"Caf\u00e9 \"x\" \/ y"}' },
    { name => 'precomposed', what => 'raw UTF-8 e-acute, u-umlaut, CJK',
      body => qq({"name":"Caf\xc3\xa9 \xc3\x9cber \xe6\x9d\xb1\xe4\xba\xac"}) },
    { name => 'nfc', what => 'e + U+0301, changed by NFC',
      body => qq({"name":"Cafe\xcc\x81"}) },
    { name => 'mixed', what => 'escapes, U+3000, spaces, accents',
      body => '{"name":"  Caf\u00e9 \u3000 cr\u00e8me   br\u00fbl\u00e9e "}' },
    { name => 'error_rewrite', what => 'upstream 409 problem+json',
      body => $ascii, gw => '/problem/clientTag',
      ref => '/bare-problem/clientTag', status => 409,
      message => 'a tag with this name exists' },
    { name => 'error_pass', what => 'upstream 409 ErrorResponse',
      body => $ascii, gw => '/errresp/clientTag',
      ref => '/bare-errresp/clientTag', status => 409, as_ref => 1 },
    { name => 'reject_400', what => 'local 400 invalid_json',
      body => '{"name":"Team Alpha",}', status => 400, ref_status => 200,
      vs => 'bare fwd', target => 0.5 },
    { name => 'reject_429', what => 'local 429 rate_limited',
      body => $ascii, gw => '/tiny/clientTag', status => 429,
      ref_status => 200, vs => 'bare fwd', target => 0.5, bots => 1 },
    { name => 'h2', what => 'ASCII name over HTTP/2 (h2c)', body => $ascii,
      h2 => 1 },
    { name => 'redis', what => 'ASCII name, limit in Redis', body => $ascii,
      gw => '/redis/clientTag', ref => '/openapi/clientTag',
      vs => 'local limit', target => 1.15, redis => 1 },
);

for my $c (@cases) {
    $c->{gw} //= '/openapi/clientTag';
    $c->{ref} //= '/bare/clientTag';
    $c->{vs} //= 'bare';
    $c->{status} //= 200;
    $c->{ref_status} //= $c->{status};
    $c->{target} //= 1.05;
    $c->{bots} //= 100;
}

# cases($list): the paths named in the comma-separated list (all when it
# is empty or undefined), in the table's order; dies on an unknown name

sub cases {
    my ($list) = @_;

    return @cases unless defined $list && $list ne '';

    my %want = map { $_ => 1 } split /\s*,\s*/, $list;

    for my $n (keys %want) {
        die "BENCH_PATHS: no path \"$n\"; the paths are "
            . join(',', map { $_->{name} } @cases) . "\n"
            unless grep { $_->{name} eq $n } @cases;
    }

    return grep { $want{ $_->{name} } } @cases;
}

# usable(@cases): the cases this machine can measure, and a free port
# for redis-server when one of them needs it: without redis-server or
# h2load, the paths that need them are skipped, saying so

sub usable {
    my (@cases) = @_;

    my $redis_port;

    if (grep { $_->{redis} } @cases) {
        require Manta::Redis;

        if (Manta::Redis::available()) {
            $redis_port = free_port();
        } else {
            print "redis-server is missing: the redis path is skipped "
                . "(make deps installs it)\n";
            @cases = grep { !$_->{redis} } @cases;
        }
    }

    if (grep { $_->{h2} } @cases and !`which h2load 2>/dev/null`) {
        print "h2load is missing: the h2 path is skipped (Debian package "
            . "nghttp2-client)\n";
        @cases = grep { !$_->{h2} } @cases;
    }

    die "no path to measure\n" unless @cases;

    return ($redis_port, @cases);
}

# conf_head($dir, $name, $head): the start of the configuration of the
# nginx in $dir/$name ("gw" or "up"), its process-level directives $head,
# up to the inside of its http block

sub conf_head {
    my ($dir, $name, $head) = @_;

    return <<"CONF";
$head
pid  $dir/$name/nginx.pid;
error_log  $dir/$name/error.log  error;
events { worker_connections  4096; }
http {
    access_log  off;
    client_body_temp_path  $dir/tmp/${name}_body;
    proxy_temp_path  $dir/tmp/${name}_proxy;
    keepalive_requests  1000000;
CONF
}

# upstream_conf($dir, $port, $head, $locations): the configuration of the
# fast upstream nginx in $dir/up, its process-level directives $head,
# answering 200 with the success JSON at "/" and at the locations given

sub upstream_conf {
    my ($dir, $port, $head, $locations) = @_;

    $locations //= '';

    return conf_head($dir, 'up', $head) . <<"CONF";
    server {
        listen  127.0.0.1:$port  backlog=4096;
        location / {
            default_type  application/json;
            return  200  '{"success":true,"message":"client tag created"}';
        }
$locations    }
}
CONF
}

# setup(gw => "process-level directives", up => "...", keepalive => N,
# redis_port => P) writes both configurations and returns { dir, gw_port,
# h2_port, up_port }.  Without redis_port, /redis/clientTag is not
# configured.  BENCH_STATUS=1: the gateway counts in a manta_status_zone
# (to compare the cost of counting, runs with and without it)

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

    my ($gw_port, $h2_port, $up_port) = (free_port(), free_port(),
        free_port());

    write_file("$dir/creds.json",
        qq({"token":"$jwt","secret":"bench-secret"}\n), 0600);

    # the upstream's errors: problem+json, and an ErrorResponse that
    # names the botId it was sent
    my $problem = '{"type":"about:blank","title":"Conflict","status":409,'
        . '"detail":"a tag with this name exists"}';
    my $errresp = '{"success":false,"errResponse":{"message":'
        . '"a tag with this name exists","code":409,"botId":"$arg_botId"}}';

    write_file("$dir/up/nginx.conf", upstream_conf($dir, $up_port, $o{up},
        <<"CONF"));
        location /problem/ {
            default_type  application/problem+json;
            return  409  '$problem';
        }
        location /errresp/ {
            default_type  application/json;
            return  409  '$errresp';
        }
CONF

    my ($redis_zone, $redis_loc) = ('', '');

    if ($o{redis_port}) {
        $redis_zone = <<"CONF";
    manta_limit_zone   zone=remote:1m rate=1000000r/s;
    manta_limit_redis  zone=remote server=127.0.0.1:$o{redis_port}
                       timeout=1s;
CONF
        $redis_loc = <<"CONF";
        location = /redis/clientTag {
            manta_endpoint  client_tag;
            manta_limit     zone=remote burst=1000000 nodelay;
            proxy_pass      http://manta/api/openapi/clientTag;
        }
CONF
    }

    my $locations = <<"CONF";
        location = /openapi/clientTag {
            manta_endpoint  client_tag;
            manta_limit     zone=bench burst=1000000 nodelay;
            proxy_pass      http://manta/api/openapi/clientTag;
        }

        location = /problem/clientTag {
            manta_endpoint  client_tag;
            manta_limit     zone=bench burst=1000000 nodelay;
            proxy_pass      http://manta/problem/api/openapi/clientTag;
        }

        location = /errresp/clientTag {
            manta_endpoint  client_tag;
            manta_limit     zone=bench burst=1000000 nodelay;
            proxy_pass      http://manta/errresp/api/openapi/clientTag;
        }

        # every bot is over its limit after its first request of a minute
        location = /tiny/clientTag {
            manta_endpoint  client_tag;
            manta_limit     zone=tiny;
            proxy_pass      http://manta/api/openapi/clientTag;
        }

$redis_loc
        location = /bare/clientTag {
            # a location-level proxy_set_header drops the inherited ones
            proxy_set_header  Connection  "";
            proxy_set_header  Authorization  "Bearer $jwt";
            proxy_set_header  Content-Type  application/json;
            proxy_set_body    '{"secret":"bench-secret","name":"Team Alpha"}';
            proxy_pass        http://manta/api/openapi/clientTag;
        }

        location = /bare-problem/clientTag {
            proxy_set_header  Connection  "";
            proxy_set_header  Authorization  "Bearer $jwt";
            proxy_set_header  Content-Type  application/json;
            proxy_set_body    '{"secret":"bench-secret","name":"Team Alpha"}';
            proxy_pass        http://manta/problem/api/openapi/clientTag;
        }

        location = /bare-errresp/clientTag {
            proxy_set_header  Connection  "";
            proxy_set_header  Authorization  "Bearer $jwt";
            proxy_set_header  Content-Type  application/json;
            proxy_set_body    '{"secret":"bench-secret","name":"Team Alpha"}';
            proxy_pass        http://manta/errresp/api/openapi/clientTag;
        }
CONF

    write_file("$dir/gw/nginx.conf",
        conf_head($dir, 'gw', "load_module  $module;\n$o{gw}") . <<"CONF");

    manta_credentials  $dir/creds.json;
    manta_limit_zone   zone=bench:1m rate=1000000r/s;
    manta_limit_zone   zone=tiny:1m rate=1r/m;
$redis_zone$o{status}

    upstream manta {
        server  127.0.0.1:$up_port;
        keepalive  $o{keepalive};
    }

    proxy_http_version  1.1;
    proxy_set_header    Connection  "";

    server {
        listen  127.0.0.1:$gw_port  backlog=4096;

$locations
    }

    server {
        listen  127.0.0.1:$h2_port  http2  backlog=4096;

$locations
    }
}
CONF

    return { dir => $dir, gw_port => $gw_port, h2_port => $h2_port,
        up_port => $up_port };
}

# request($sock, $path, $bot, $body): one POST on a keep-alive HTTP/1.1
# connection; returns (status, head, body), dies on a broken answer

sub request {
    my ($s, $path, $bot, $body) = @_;

    print $s "POST $path?botId=$bot HTTP/1.1\r\nHost: bench\r\n"
        . "Content-Type: application/json\r\n"
        . 'Content-Length: ' . length($body) . "\r\n\r\n$body";

    my $h = '';
    while ($h !~ /\r\n\r\n/) {
        sysread($s, $h, 4096, length $h) or die "$path: eof\n";
    }

    my ($head, $rest) = split /\r\n\r\n/, $h, 2;
    my ($status) = $head =~ m{^HTTP/1\.1 (\d+)};
    my ($cl) = $head =~ /^Content-Length: (\d+)/mi;
    die "$path: no status or Content-Length in\n$head\n"
        unless defined $status && defined $cl;

    while (length $rest < $cl) {
        sysread($s, $rest, $cl - length $rest, length $rest)
            or die "$path: eof\n";
    }

    return ($status, $head, $rest);
}

# the command of wrk on CPU $cpu: $conns connections for $secs seconds
# to the port, running the Lua script

sub wrk_command {
    my ($cpu, $conns, $secs, $script, $port) = @_;

    return ('taskset', '-c', $cpu, 'wrk', '-t', 1, '-c', $conns,
        '-d', "${secs}s", '-s', $script, "http://127.0.0.1:$port");
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

# the pid of the (only) worker of the gateway nginx in $dir/gw

sub gateway_worker {
    my ($dir) = @_;

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

# CPU time of the process in ns: schedstat when the kernel has it, else
# utime + stime in clock ticks

sub cpu_ns {
    my ($pid) = @_;

    if (open my $fh, '<', "/proc/$pid/schedstat") {
        my ($ns) = split ' ', scalar <$fh>;
        return $ns if defined $ns && $ns > 0;
    }

    my $stat = read_file("/proc/$pid/stat");

    # after the command name: state is the 3rd field, utime the 14th
    $stat =~ s/^.*\) //;
    my @f = split ' ', $stat;
    return ($f[11] + $f[12]) / ticks_per_second() * 1e9;
}

sub ticks_per_second {
    my $t = `getconf CLK_TCK`;
    chomp $t;
    return $t || 100;
}

# the CPUs of the machine; the affinity mask of one of them ("auto" on
# a single CPU)

my $cpus;

sub cpus {
    return $cpus //= do { my $n = `nproc`; chomp $n; $n };
}

sub mask {
    my ($cpu) = @_;
    return 'auto' if cpus() < 2;
    return '0' x (cpus() - $cpu - 1) . '1' . '0' x $cpu;
}

sub median {
    my @v = sort { $a <=> $b } @_;
    return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}

# a command (one string: through the shell), dies when it fails

sub run_ok {
    system(@_) == 0 or die "@_: failed\n";
}

1;
