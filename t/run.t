#!/usr/bin/perl

# Tests "make run" (t/lib/run.sh) as a new user meets it: on free ports it
# prints its banner once the gateway serves, the printed examples answer as
# they say (forwarded, unknown_bot, rate limited), the mock's console line
# masks the token and the secret; a port in use fails at once with a
# message saying how to choose another.

###############################################################################

use warnings;
use strict;

use Test::More;

use IO::Select;
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

use FindBin;
use lib "$FindBin::Bin/lib";
use Manta::Test;

###############################################################################

plan(skip_all => 'make run under valgrind: too slow to start')
    if $Manta::Test::VALGRIND;

my $t = Manta::Test->new();
my $dir = $t->dir();
my $module = $t->module_path();

# a port in use: the answer comes at once, with what to do

my $busy = IO::Socket::INET->new(LocalAddr => '127.0.0.1:0', Listen => 5)
    or die "listen: $!\n";
my $busy_port = $busy->sockport();

my $start = time();
my $out = `PORT=$busy_port RUN_DIR=$dir/busy MANTA_MODULE=$module \\
    ../t/lib/run.sh 2>&1`;

isnt($? >> 8, 0, 'port in use: make run fails');
like($out, qr/127\.0\.0\.1:$busy_port is in use.*make run PORT=/s,
    'port in use: the message names the port and how to choose another');
ok(time() - $start < 3, 'port in use: at once');

close $busy;

# on free ports

my ($port, $mock_port) = ($t->port('RUN'), $t->port('RUN_MOCK'));

pipe(my $rd, my $wr) or die "pipe: $!\n";

my $pid = fork() // die "fork: $!\n";

if ($pid == 0) {
    close $rd;
    open(STDOUT, '>&', $wr) or exit 127;
    open(STDERR, '>&', $wr) or exit 127;
    setpgrp(0, 0);
    $ENV{PORT} = $port;
    $ENV{MOCK_PORT} = $mock_port;
    $ENV{RUN_DIR} = "$dir/run";
    $ENV{MANTA_MODULE} = $module;
    exec('../t/lib/run.sh') or exit 127;
}

close $wr;

my $console = read_until($rd, qr/Ctrl-C stops both\.\n/, 15);

like($console, qr/The gateway listens on 127\.0\.0\.1:$port, the mock Manta on 127\.0\.0\.1:$mock_port/,
    'banner: says where the gateway and the mock listen');

my $url = "/openapi/clientTag";

my $r = $t->post("$url?botId=bot-a", '{"name": "  My   first\u3000tag "}',
    port => $port);

is($r->{status}, 200, 'example: bot-a is forwarded');

$r = $t->post("$url?botId=bot-z", '{"name": "x"}', port => $port);

is($r->{status}, 403, 'example: bot-z is unknown_bot');

my @codes = map { $t->post("$url?botId=bot-slow", '{"name": "x"}',
    port => $port)->{status} } 1 .. 3;

is("@codes", '200 200 429', 'example: bot-slow is rate limited at the third');

$console .= read_until($rd, qr/(?:mock: .*\n){3}/, 5);

like($console, qr/mock: POST \/api\/openapi\/clientTag\?botId=bot-a \(Authorization: Bearer \S{1,6}\.\.\.\) body: \{"secret":"\*\*\*","name":"My first tag"\}/,
    'console: one line per forwarded request');
unlike($console, qr/demo-secret|\.ZGVtbw/,
    'console: neither the secret nor the whole token');

kill 'TERM', -$pid;
waitpid($pid, 0);

ok(!IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port"),
    'Ctrl-C (TERM): the gateway is gone');

$t->done();

###############################################################################

sub read_until {
    my ($fh, $re, $timeout) = @_;

    my $sel = IO::Select->new($fh);
    my $buf = '';
    my $deadline = time() + $timeout;

    while (time() < $deadline && $buf !~ $re) {
        next unless $sel->can_read(0.1);
        sysread($fh, $buf, 4096, length $buf) or last;
    }

    return $buf;
}
