#!/usr/bin/perl

# Tests for the harness's nginx lifecycle and fixtures, with plain nginx
# and no module: nginx is the test's child, workers() follows error.log
# through a crashed worker and a reload, stop() reaps the master, and
# write_creds() and %%MANTA_HTTP%%/%%MANTA_SERVER%% write what they say.

###############################################################################

use warnings;
use strict;

use Test::More;

use FindBin;
use lib "$FindBin::Bin/lib";
use Manta::Test;

use JSON::PP ();
use POSIX qw(WNOHANG);

###############################################################################

my $t = Manta::Test->new()->write_config(<<'EOF');

%%GLOBALS%%

worker_processes  2;

events {
}

http {
    %%HTTP_GLOBALS%%

    server {
        %%MANTA_LISTEN%%

        location / {
            return  200 "$pid\n";
        }
    }
}

EOF

$t->run();

###############################################################################

my $master = $t->{master};
my @workers = $t->workers();

is(scalar @workers, 2, 'run() waits for both workers');
is(waitpid($master, WNOHANG), 0, 'the master is a child of the test');
like($t->read_file('nginx.conf'), qr/^daemon off;$/m,
    '%%GLOBALS%% keeps nginx in the foreground');

# a worker killed: the master logs it and starts another

$t->allow_log(qr/worker process $workers[0] exited on signal 9/);
kill 'KILL', $workers[0];

my $deadline = time() + 5 * $Manta::Test::SCALE;
my @now;

while (time() < $deadline) {
    @now = $t->workers();
    last if @now == 2 && !grep { $_ == $workers[0] } @now;
    select undef, undef, undef, 0.02;
}

is(scalar(grep { $_ == $workers[0] } @now), 0, 'a killed worker is gone');
is(scalar @now, 2, 'its replacement is listed');

# a reload: only the new generation

ok($t->reload(), 'reload');
my @new = $t->workers();
is(scalar(grep { my $w = $_; grep { $_ == $w } @now } @new), 0,
    'after reload only new workers are listed');

my $r = $t->http('GET', '/');
ok($r && grep({ "$_\n" eq $r->{body} } @new), 'a new worker serves');

# stop: QUIT, then waitpid

$t->stop();

is(waitpid($master, WNOHANG), -1, 'stop() reaped the master');
is(scalar $t->workers(), 0, 'no workers after stop');

# fixtures

$t->write_creds();
my $creds = JSON::PP->new->decode($t->read_file('creds.json'));
is($creds->{bots}{'bot-a'}{token}, 'TOKEN-A', 'write_creds(): default bot');
is((stat $t->dir() . '/creds.json')[2] & 07777, 0600,
    'write_creds(): mode 0600');

$t->write_creds({token => "T\x{e9}"}, 0640);
is($t->read_file('creds.json'), '{"token":"T\u00e9"}',
    'write_creds(HASH): ASCII JSON');
is((stat $t->dir() . '/creds.json')[2] & 07777, 0640,
    'write_creds(): mode given');

$t->write_creds('{"secret":"raw"}');
is($t->read_file('creds.json'), '{"secret":"raw"}',
    'write_creds(TEXT): as given');

my $conf = $t->expand("http {\n    %%MANTA_HTTP%%\n    server {\n"
    . "        %%MANTA_SERVER%%\n    }\n}\n");
my $dir = $t->dir();
my $mock = $t->port('MOCK');
my $port = $t->port('8080');

like($conf, qr/^    manta_credentials  \Q$dir\E\/creds\.json;$/m,
    '%%MANTA_HTTP%%: the credentials file, indented');
like($conf, qr/^        server  127\.0\.0\.1:$mock;$/m,
    '%%MANTA_HTTP%%: the mock upstream');
like($conf, qr/^        listen       127\.0\.0\.1:$port;$/m,
    '%%MANTA_SERVER%%: the listener, indented');
like($conf, qr/^        access_log  \Q$dir\E\/manta\.log  manta;$/m,
    '%%MANTA_SERVER%%: manta.log');

$conf = $t->expand("    %%MANTA_UPSTREAM%%\n        %%MANTA_LISTEN%%\n");
is($conf, "    manta_credentials  $dir/creds.json;\n\n"
    . "    upstream mock {\n        server  127.0.0.1:$mock;\n    }\n"
    . "        listen       127.0.0.1:$port;\n"
    . "        server_name  localhost;\n",
    '%%MANTA_UPSTREAM%%, %%MANTA_LISTEN%%: no log format, no access_log');

my ($rc, $out) = $t->test_config_text('snippet.conf', <<'EOF');
%%GLOBALS%%
events {
}
http {
    bogus_directive;
}
EOF

ok($rc != 0
    && $out =~ /unknown directive "bogus_directive" in \Q$dir\E\/snippet/
    && $t->read_file('snippet.conf') !~ /%%/,
    'test_config_text(): nginx -t on the text written, expanded, to a file')
    or diag($out);

done_testing();

###############################################################################
