#!/usr/bin/perl

# Tests that nginx.conf.example at the repository root is a working
# configuration: with the module path, the credentials file, the listen port,
# the upstream and the log paths substituted for test ones, nginx -t passes,
# and the gateway it describes forwards a request with the server-held
# credentials.

###############################################################################

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Manta::Test;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $t = Manta::Test->new();

my $example = $t->read_file("$FindBin::Bin/../nginx.conf.example");

if (!defined $example) {
    fail('nginx.conf.example exists at the repository root');
    done_testing();
    exit;
}

my $dir = $t->dir();

like($example, qr{^load_module\s+modules/ngx_http_manta_module\.so;}m,
    'example loads the module from modules/');
like($example, qr{manta_credentials\s+/etc/nginx/manta/credentials\.json;},
    'example reads /etc/nginx/manta/credentials.json');
like($example, qr{manta_endpoint\s+client_tag;}, 'example has a gateway');

(my $conf = $example) =~ s{^load_module\s+modules/ngx_http_manta_module\.so;}
    {%%MODULE%%\n%%GLOBALS%%}m;

$conf =~ s{/etc/nginx/manta/credentials\.json}{%%TESTDIR%%/creds.json}g;
$conf =~ s{\blisten(\s+)(?:[\d.]+:)?8080\b}{listen${1}127.0.0.1:%%PORT_8080%%}g;
$conf =~ s{https://mantago\.cc\b}{http://127.0.0.1:%%PORT_MOCK%%}g;
$conf =~ s{/var/log/nginx/}{%%TESTDIR%%/}g;
$conf =~ s{^\s*(?:pid|daemon)\s[^;]*;}{}mg;
$conf =~ s{^(http\s*\{)}{$1\n    %%HTTP_GLOBALS%%\n}m;

$t->write_config($conf);
$t->write_file('creds.json', '{"token":"TOKEN-DEFAULT-xyz",'
    . '"secret":"SECRET-DEFAULT-xyz",'
    . '"bots":{"bot-a":{"token":"TOKEN-A","secret":"SECRET-A"}}}', 0600);

my ($status, $out) = $t->test_config();

is($status, 0, 'nginx -t passes the example') or diag($out);
unlike($out, qr/\[(?:warn|emerg|alert)\]/, 'nginx -t: no warning');

$t->run();

my $r = $t->post('/openapi/clientTag?botId=bot-a', '{"name":"  Example "}');
my @seen = $t->mock_requests();

is($r->{status}, 200, 'example gateway answers');
is(scalar @seen, 1, 'example gateway forwards');
is($seen[0] && "$seen[0]{uri} $seen[0]{body}",
    '/api/openapi/clientTag?botId=bot-a '
    . '{"secret":"SECRET-A","name":"Example"}',
    'example gateway forwards the canonical request');
is(join('|', header_values($seen[0] // {headers => []}, 'Authorization')),
    'Bearer TOKEN-A', 'example gateway sends the server token');

$r = $t->post('/openapi/clientTag?botId=bot-a', '{"name":"x"}',
    content_type => 'text/plain');
is($r->{status}, 415, 'example gateway rejects locally');

$t->done();

###############################################################################
