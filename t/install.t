#!/usr/bin/perl

# Tests "make install" as a packager or an administrator uses it: with
# DESTDIR and MODULES_DIR it creates the directories, installs the module
# stripped and the modules-available snippet that loads it, says how to
# enable it, and never calls sudo.

###############################################################################

use warnings;
use strict;

use Test::More;

use FindBin;
use lib "$FindBin::Bin/lib";
use Manta::Test;

###############################################################################

my $t = Manta::Test->new();
my $dir = $t->dir();
my $module = $t->module_path();
my $top = "$FindBin::Bin/..";

my $stage = "$dir/stage";

my $out = `make -s -C $top install-files MODULE=$module DESTDIR=$stage \\
    MODULES_DIR=/opt/nginx/modules 2>&1`;

is($?, 0, 'make install-files with DESTDIR succeeds') or diag($out);

my $so = "$stage/opt/nginx/modules/ngx_http_manta_module.so";
my $snippet = "$stage/usr/share/nginx/modules-available/mod-http-manta.conf";

ok(-f $so, 'the module is installed in DESTDIR/MODULES_DIR');
unlike(`readelf -S $so 2>&1`, qr/\.symtab\b/, 'the module is stripped');
is((stat $so)[2] & 07777, 0644, 'the module is mode 0644');
is($t->read_file($snippet), "load_module modules/ngx_http_manta_module.so;\n",
    'the modules-available snippet loads it');
like($out, qr{modules-enabled/50-mod-http-manta\.conf}, 'make install says '
    . 'how to enable it');
like($out, qr/not both|loading it twice/, 'and warns against loading it '
    . 'twice');
# as root $(SUDO) is empty: a dry run with it set shows whether the
# recipe would call it

my $dry = `make -n -C $top install-files MODULE=$module DESTDIR=$stage \\
    SUDO=sudo 2>&1`;

like($dry, qr/^install /m, 'the dry run lists the install commands');
unlike($dry, qr/^\s*sudo\b/m, 'make install never calls sudo itself');

$t->done();

###############################################################################
