#!/usr/bin/perl

# Tests the Debian package as an administrator uses it ("make test-deb"
# sets MANTA_DEB to the .deb that "make deb" built; skipped otherwise):
# dpkg -i installs the module and its modules-available snippet and links
# it into /etc/nginx/modules-enabled; the system nginx, with the Debian
# layout configuration of examples/debian (conf.d/manta.conf and
# sites-available/manta), passes nginx -t and serves a request through the
# packaged module; dpkg --purge leaves nothing of it behind.

###############################################################################

use warnings;
use strict;

use Test::More;

use FindBin;
use lib "$FindBin::Bin/lib";
use Manta::Test;
use Manta::Debian;

###############################################################################

my $deb = $ENV{MANTA_DEB};

plan(skip_all => 'MANTA_DEB is not set (make test-deb sets it)')
    unless defined $deb;
plan(skip_all => 'installing a package needs root') if $> != 0;

my $PKG = 'libnginx-mod-http-manta';
my $SO = '/usr/lib/nginx/modules/ngx_http_manta_module.so';
my $AVAILABLE = '/usr/share/nginx/modules-available/mod-http-manta.conf';
my $ENABLED = '/etc/nginx/modules-enabled/50-mod-http-manta.conf';
my $DOC = "/usr/share/doc/$PKG";

ok(-f $deb, "the package exists: $deb") or BAIL_OUT("no $deb");

system('dpkg', '--purge', $PKG) if installed();

is(system("dpkg -i $deb >/dev/null 2>&1"), 0, 'dpkg -i installs it');

ok(installed(), 'dpkg knows it installed');
ok(-f $SO, 'the module is in /usr/lib/nginx/modules');
unlike(`readelf -S $SO`, qr/\.symtab\b/,
    'the module is stripped (no .symtab)');
is(read_text($AVAILABLE), "load_module modules/ngx_http_manta_module.so;\n",
    'modules-available/mod-http-manta.conf loads it');
is(readlink($ENABLED), $AVAILABLE, 'modules-enabled links the snippet');
ok(-f "$DOC/README.md" || -f "$DOC/README.md.gz", 'the README is in '
    . '/usr/share/doc');
ok(-f "$DOC/examples/credentials.json.example",
    'credentials.json.example is in /usr/share/doc');
ok(-f "$DOC/examples/debian/sites-available/manta",
    'the Debian layout examples are in /usr/share/doc');
like(`dpkg-query -W -f='\${Depends}' $PKG`, qr/\bnginx-abi-[\d.]+-\d+\b/,
    'it depends on the nginx ABI it was built for');

# the Debian layout: nginx.conf includes modules-enabled (the system's, as
# Debian's does) and the test's own conf.d and sites-enabled

my $t = Manta::Test->new();
my $dir = $t->dir();

# load_module's relative paths resolve against the prefix, as in Debian's
# /usr/share/nginx/modules

symlink('/usr/lib/nginx/modules', "$dir/modules");

Manta::Debian::layout($t, 'include /etc/nginx/modules-enabled/*.conf;',
    '{"token":"TOKEN-PKG","secret":"SECRET-PKG"}');

my ($status, $out) = $t->test_config();

is($status, 0, 'nginx -t passes the Debian layout configuration')
    or diag($out);

$t->run();

my $r = $t->post('/openapi/clientTag?botId=bot-a', '{"name":"packaged"}');
my @seen = $t->mock_requests();

is($r->{status}, 200, 'the packaged module serves a request');
is($seen[0] && $seen[0]{body}, '{"secret":"SECRET-PKG","name":"packaged"}',
    'and forwards the re-serialized body');
like($t->read_file('manta.log') // '', qr/" 200 bot=bot-a reason=- token=/,
    'the manta log_format of conf.d/manta.conf is written');

$t->stop();

is(system('dpkg', '--purge', $PKG), 0, 'dpkg --purge removes it');

ok(!installed(), 'dpkg knows it is gone');
ok(!-e $SO, 'no module file left');
ok(!-e $AVAILABLE, 'no modules-available snippet left');
ok(!-l $ENABLED && !-e $ENABLED, 'no modules-enabled link left');
ok(!-e $DOC, 'no documentation left');

$t->done();

###############################################################################

sub installed {
    my $s = `dpkg-query -W -f='\${Status}' $PKG 2>/dev/null` // '';
    return $s =~ /install ok installed/;
}

sub read_text {
    my ($file) = @_;
    open(my $fh, '<', $file) or return undef;
    local $/;
    return scalar <$fh>;
}

END {
    local $?;
    system("dpkg --purge $PKG >/dev/null 2>&1") if defined $deb && $> == 0
        && installed();
}
