#!/usr/bin/perl

# Parity of the two limits (README "Fleet-wide limits (Redis)"): one
# sequence of requests (time, rate, burst, delay) goes through
# manta_limit_take() (the local zone's arithmetic, through the unit
# binary's limit-trace) and through the Redis script in a real
# redis-server (EVAL with the script's test clock): every decision, delay
# and excess must be the same.

###############################################################################

use warnings;
use strict;

use Test::More;

use FindBin;
use lib "$FindBin::Bin/lib";
use Manta::Test;
use Manta::Redis;

###############################################################################

plan(skip_all => 'redis-server not installed (make deps)')
    unless Manta::Redis::available();

my $unit = $ENV{MANTA_UNIT} // '../build/unit/manta_unit';
$unit = "../$unit" if $unit !~ m{^/} && !-x $unit;
plan(skip_all => "no unit binary $unit (make unit)") unless -x $unit;

my $t = Manta::Test->new();
my $dir = $t->dir();
my $redis = Manta::Redis->new(port => $t->port('REDIS'), dir => $dir);

my $script = `$unit redis-script`;
like($script, qr/redis\.call\('TIME'\)/, 'the script, from the unit binary');

# sequences: each a bot with its own key; times from an epoch-like start,
# steps from 0 ms (a burst) to minutes; a bot's rate changes now and then
# (its credentials were edited), burst and delay too

my %sequences = (
    'slow nodelay' => sub { (16, 9, 9) },
    'fast delay=2' => sub { (10000, 5, 2) },
    'mixed' => sub {
        my @rates = (16, 1000, 10000, 100000, 1667);
        my $burst = int(rand(8));
        return ($rates[int(rand(@rates))], $burst, int(rand($burst + 1)));
    },
);

srand(11);

for my $name (sort keys %sequences) {
    my $now = 1_700_000_000_000 + int(rand(1000));
    my (@steps, $rate, $burst, $delay);

    for my $i (0 .. 299) {
        ($rate, $burst, $delay) = $sequences{$name}->()
            if $i == 0 || $name eq 'mixed' && rand() < 0.1;

        my $r = rand();
        $now += $r < 0.5 ? int(rand(5))
            : $r < 0.8 ? int(rand(500))
            : $r < 0.95 ? int(rand(10_000)) : int(rand(600_000));

        push @steps, "$now $rate $burst $delay";
    }

    $t->write_file('steps', join("\n", @steps) . "\n");
    my @local = split /\n/, `$unit limit-trace < $dir/steps`;
    is(scalar @local, scalar @steps, "$name: manta_limit_take() traced");

    my $key = "parity:{$name}";
    my (@remote, $first);

    for my $i (0 .. $#steps) {
        my ($n, $rt, $b, $d) = split ' ', $steps[$i];
        my $a = $redis->cmd('EVAL', $script, 1, $key, 'take', $rt, $b, $d,
            '0', $n);
        my @a = $a =~ /^(0|[1-9]\d*)(?: (0|[1-9]\d*)){5}$/
            ? split(/ /, $a) : ('not six numbers:', $a, '');
        push @remote, "$a[0] $a[1] $a[2]";
        $first //= $i if $remote[$i] ne ($local[$i] // '');
    }

    is($first, undef, "$name: the script decides as manta_limit_take() "
        . 'at every one of ' . scalar(@steps) . ' steps')
        or diag("step $first: $steps[$first]: local $local[$first], "
            . "redis $remote[$first]");

    my %codes;
    $codes{ (split ' ', $_)[0] }++ for @local;
    ok($codes{0} && $codes{2} && ($name eq 'slow nodelay' || $codes{1}),
        "$name: the sequence passes, rejects" .
        ($name eq 'slow nodelay' ? '' : ' and delays'));
}

$t->done();
$redis->stop();
