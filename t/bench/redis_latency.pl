#!/usr/bin/perl

# The added latency of a decision in Redis (loopback) against the local
# zone: N sequential requests of distinct bots on each location, median
# and p99 of the answer time.  Usage: MANTA_MODULE=... perl
# t/bench/redis_latency.pl [N]

use warnings;
use strict;

use Time::HiRes qw(time);

BEGIN { use FindBin; chdir("$FindBin::Bin/.."); }

use lib 'lib';
use Manta::Test;
use Manta::Redis;

my $n = shift // 500;
my $t = Manta::Test->new();
my $redis = Manta::Redis->new(port => $t->port('REDIS'), dir => $t->dir());
my $rport = $t->port('REDIS');

$t->write_file('creds.json', '{"token":"T","secret":"S"}', 0600);
(my $conf = <<'EOF') =~ s/REDIS_PORT/$rport/;
%%MODULE%%
%%GLOBALS%%
events {
}
http {
    %%HTTP_GLOBALS%%
    manta_credentials  %%TESTDIR%%/creds.json;
    manta_limit_zone   zone=local:10m  rate=100r/s;
    manta_limit_zone   zone=remote:10m rate=100r/s;
    manta_limit_redis  zone=remote server=127.0.0.1:REDIS_PORT;
    upstream mock {
        server  127.0.0.1:%%PORT_MOCK%%;
    }
    server {
        listen  127.0.0.1:%%PORT_8080%%;
        location = /local/clientTag {
            manta_endpoint  client_tag;
            manta_limit     zone=local burst=10 nodelay;
            proxy_pass      http://mock/api/openapi/clientTag;
        }
        location = /remote/clientTag {
            manta_endpoint  client_tag;
            manta_limit     zone=remote burst=10 nodelay;
            proxy_pass      http://mock/api/openapi/clientTag;
        }
    }
}
EOF
$t->write_config($conf);
$t->run();

my %lat;

for my $i (1 .. $n) {
    for my $where (qw/local remote/) {
        my $t0 = time();
        my $r = $t->http('POST', "/$where/clientTag?botId=b$i",
            headers => ['Content-Type' => 'application/json'],
            body => '{"name":"x"}');
        die "$where: " . ($r ? $r->{status} : 'none') . "\n"
            unless $r && $r->{status} == 200;
        push @{ $lat{$where} }, time() - $t0;
    }
}

for my $where (qw/local remote/) {
    my @s = sort { $a <=> $b } @{ $lat{$where} };
    printf "%-6s p50 %.3f ms  p99 %.3f ms\n", $where,
        1000 * $s[int(@s / 2)], 1000 * $s[int(@s * 0.99)];
}

printf "redis commands: %d EVALSHA for %d requests\n",
    $redis->calls('evalsha'), $n;

$t->stop();
$redis->stop();
