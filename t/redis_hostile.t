#!/usr/bin/perl

# A broken or hostile Redis (or whoever answers on its address): an array
# reply announcing 555,555,550 elements is refused before anything is
# allocated for it (hiredis's reader would have had 4 GB of element
# pointers calloc()ed and waited for them): the connection is closed as
# lost, "invalid reply" is logged, the request takes the fallback at once
# and the worker's address space does not grow.

use warnings;
use strict;

use Test::More;

use IO::Socket::INET;
use POSIX qw(_exit);
use Time::HiRes qw(time);

use FindBin;
use lib "$FindBin::Bin/lib";
use Manta::Test;


my $t = Manta::Test->new();
my $port = $t->port('redis');

# the "Redis": every command read is answered with the array header

my $server = IO::Socket::INET->new(
    LocalAddr => '127.0.0.1',
    LocalPort => $port,
    Listen    => 16,
    ReuseAddr => 1,
) or die "cannot listen on $port: $@\n";

my $pid = fork() // die "fork: $!\n";

if ($pid == 0) {
    while (my $c = $server->accept()) {
        while (sysread($c, my $buf, 65536)) {
            syswrite($c, "*555555550\r\n");
        }
        close $c;
    }
    _exit(0);
}

close $server;

END { kill 'KILL', $pid if $pid; }

my $conf = $t->gateway_text(<<'EOF', client_tag => 0, http => <<"EOF");
add_header  X-Source  $manta_limit_source  always;

%%MANTA_TAG(/one/clientTag; manta_limit zone=one burst=100 nodelay)%%
EOF
manta_limit_zone   zone=one:1m  rate=100r/s;
manta_limit_redis  zone=one  server=127.0.0.1:$port  timeout=5s
                   fallback=local;
EOF

$t->write_creds();
$t->write_config($conf);
$t->allow_log(qr/invalid reply/);
$t->run();

###############################################################################

my ($worker) = $t->workers();
my $before = vm_size($worker);

my $start = time();
my $res = $t->http('POST', '/one/clientTag?botId=b',
    headers => ['Content-Type' => 'application/json'],
    body => '{"name":"x"}');
my $took = time() - $start;

is($res && $res->{status}, 200, 'a 555555550-element array: the request '
    . 'is answered 200');
is($res && $res->{headers}{'x-source'}, 'fallback',
    'a 555555550-element array: the limit took the fallback');
cmp_ok($took, '<', 2.5, 'a 555555550-element array: answered at once, '
    . 'not after the 5 s timeout');

my @invalid = grep { /manta_limit_redis zone "one": invalid reply from /
} $t->log_lines('error.log');
cmp_ok(scalar @invalid, '>=', 1,
    'a 555555550-element array: "invalid reply" logged');

cmp_ok(vm_size($worker) - $before, '<', 512 * 1024,
    'a 555555550-element array: the worker did not map 4 GB for it (kB)');

is(join("\n", $t->error_log_problems()), '', 'no alert, crash or '
    . 'sanitizer report in error.log');

$t->done();

###############################################################################

# a process's address space, kB

sub vm_size {
    my ($p) = @_;

    open(my $fh, '<', "/proc/$p/status") or return 0;
    my ($kb) = map { /^VmSize:\s+(\d+)/ ? $1 : () } <$fh>;
    close $fh;

    return $kb // 0;
}
