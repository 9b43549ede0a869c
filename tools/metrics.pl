#!/usr/bin/perl
# Size and shape of src/: lines per file, the functions whose body is
# longer than a limit, and the graph of which glue file includes which
# header, checked for a cycle.
#
#   perl tools/metrics.pl [--over N] [DIR]     (make metrics)
#
# A function is found the nginx way: its return type on one line, its name
# at column 0 followed by '(' on the next, its body from a '{' at column 0
# to the next '}' at column 0. Body lines count both braces.

use strict;
use warnings;

my $over = 80;
my $dir = 'src';

while (@ARGV) {
    my $arg = shift @ARGV;
    if ($arg eq '--over') {
        $over = shift @ARGV;
        die "--over takes a whole number\n"
            unless defined $over && $over =~ /^\d+$/;
    } else {
        $dir = $arg;
    }
}

opendir(my $dh, $dir) or die "$dir: $!\n";
my @files = sort grep { /\.[ch]$/ && -f "$dir/$_" } readdir $dh;
closedir $dh;

my (%lines, %src, @long);

for my $f (@files) {
    open(my $fh, '<', "$dir/$f") or die "$dir/$f: $!\n";
    my @l = <$fh>;
    close $fh;
    $lines{$f} = scalar @l;
    $src{$f} = \@l;
    push @long, functions($f, \@l);
}

my $total = 0;
print "## Lines per file of $dir/ (wc -l)\n\n";
for my $f (sort { $lines{$a} <=> $lines{$b} || $a cmp $b } @files) {
    printf "%6d %s\n", $lines{$f}, "$dir/$f";
    $total += $lines{$f};
}
printf "%6d total\n\n", $total;

@long = sort { $b->[2] <=> $a->[2] || $a->[0] cmp $b->[0] } @long;
my @over = grep { $_->[2] > $over } @long;
printf "## Functions over %d lines: %d\n\n", $over, scalar @over;
printf "%5d %s:%d %s\n", $_->[2], "$dir/$_->[0]", $_->[3], $_->[1] for @over;
print "\n";

# the include graph: file X -> file Y when X.c or X.h includes "Y.h" (a
# unit is its .c and its .h together). ngx_http_manta_module is the hub of
# the star: every glue file uses its types and ctx, and it registers every
# glue file, so edges to and from it are shown but a cycle through it is
# not one; any other cycle is. The core must include no glue header.

my %edge;
my @bad;
for my $f (@files) {
    (my $from = $f) =~ s/\.[ch]$//;
    for (@{ $src{$f} }) {
        next unless /^#include\s+"([^"]+)\.h"/;
        my $to = $1;
        next unless exists $lines{"$to.h"};
        next if $to eq $from;
        push @bad, "$f includes $to.h"
            if $from =~ /^manta_/ && $to =~ /^ngx_/;
        push @{ $edge{$from} }, $to
            unless grep { $_ eq $to } @{ $edge{$from} || [] };
    }
}

print "## Include graph of $dir/ (glue files)\n\n";
for my $n (sort grep { /^ngx_http_manta_/ } keys %edge) {
    printf "%s -> %s\n", $n, join(' ', sort @{ $edge{$n} });
}
print "\n";

my $hub = 'ngx_http_manta_module';
my %leaf;
for my $n (keys %edge) {
    next if $n eq $hub;
    $leaf{$n} = [grep { $_ ne $hub } @{ $edge{$n} }];
}

my @cycles = cycles(\%leaf);
printf "## Core files including a glue header: %s\n\n",
    @bad ? join(', ', @bad) : 'none';
if (@cycles) {
    print "## Cycles (not through $hub): ", scalar @cycles, "\n\n";
    print join(' -> ', @$_), "\n" for @cycles;
} else {
    print "## Cycles (not through $hub): none\n";
}

exit 0;


sub functions {
    my ($f, $l) = @_;
    my @found;

    for (my $i = 1; $i < @$l; $i++) {
        next unless $l->[$i] =~ /^([A-Za-z_]\w*)\(/;
        my $name = $1;
        next unless $l->[$i - 1] =~ /^[A-Za-z_]/
            && $l->[$i - 1] !~ /[;{}]\s*$/;

        my $j = $i;
        $j++ while $j < @$l && $l->[$j] !~ /^[{;]/ && $l->[$j] !~ /\);\s*$/;
        next if $j >= @$l || $l->[$j] !~ /^\{/;

        my $k = $j + 1;
        $k++ while $k < @$l && $l->[$k] !~ /^\}/;
        last if $k >= @$l;

        push @found, [$f, $name, $k - $j + 1, $i + 1];
        $i = $k;
    }

    return @found;
}


sub cycles {
    my ($edge) = @_;
    my (%state, @stack, @found);

    my $visit;
    $visit = sub {
        my ($n) = @_;
        $state{$n} = 1;
        push @stack, $n;
        for my $m (@{ $edge->{$n} || [] }) {
            if (($state{$m} // 0) == 1) {
                my ($at) = grep { $stack[$_] eq $m } 0 .. $#stack;
                push @found, [@stack[$at .. $#stack], $m];
            } elsif (!$state{$m}) {
                $visit->($m);
            }
        }
        pop @stack;
        $state{$n} = 2;
    };

    for my $n (sort keys %$edge) {
        $visit->($n) unless $state{$n};
    }
    return @found;
}
