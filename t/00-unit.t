#!/usr/bin/perl

# Unit tests of the pure C core (src/manta_*.c): runs the TAP binary that
# "make unit" builds, so that prove shows its results.

use strict;
use warnings;

my $unit = $ENV{MANTA_UNIT} || 'build/unit/manta_unit';

unless (-x $unit) {

    # "make test" sets MANTA_UNIT after building it: missing is an error

    if ($ENV{MANTA_UNIT}) {
        print "1..1\nnot ok 1 - $unit is not an executable\n";
        exit 1;
    }

    print "1..0 # SKIP $unit not built: run 'make unit'\n";
    exit 0;
}

exec $unit or die "cannot run $unit: $!\n";
