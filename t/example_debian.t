#!/usr/bin/perl

# Tests that examples/debian, the Debian layout configuration (conf.d/
# manta.conf inside "http", sites-available/manta a server), is safe as
# shipped (verified TLS to an upstream block kept alive, the manta
# log_format) and works: with the module loaded as modules-enabled would,
# the credentials path, listen port, upstream and log paths substituted for
# test ones, nginx -t passes without a warning and the gateway forwards a
# request with the server-held credentials.  "make test-deb" does the same
# through the installed package and the system's modules-enabled.

###############################################################################

use warnings;
use strict;

use Test::More;

use FindBin;
use lib "$FindBin::Bin/lib";
use Manta::Test;
use Manta::Debian;

###############################################################################

my $t = Manta::Test->new();
my $examples = $Manta::Debian::EXAMPLES;

my $http = $t->read_file("$examples/conf.d/manta.conf") // '';
my $site = $t->read_file("$examples/sites-available/manta") // '';

unlike($http, qr/^\s*load_module/m,
    'conf.d/manta.conf: no load_module (modules-enabled loads the module)');
like($http, qr{^manta_credentials\s+/etc/nginx/manta/credentials\.json;}m,
    'conf.d/manta.conf: the credentials in /etc/nginx/manta');
like($http, qr/^log_format\s+manta\s.*\$manta_token_id/ms,
    'conf.d/manta.conf: the manta log_format, with token ids');
like($http, qr/upstream\s+manta_api\s*\{[^}]*\bkeepalive\s+\d+;/s,
    'conf.d/manta.conf: an upstream block kept alive');
like($site, qr{^\s*location\s*=\s*/openapi/clientTag\s*\{}m,
    'sites-available/manta: an exact-match gateway location');
like($site, qr{^\s*proxy_ssl_verify\s+on;}m,
    'sites-available/manta: the upstream certificate is verified');
like($site, qr{^\s*proxy_ssl_trusted_certificate\s+/etc/ssl/certs/ca-certificates\.crt;}m,
    'sites-available/manta: against the system CA bundle');
ok($site =~ /^\s*proxy_http_version\s+1\.1;/m
    && $site =~ /^\s*proxy_set_header\s+Connection\s+"";/m,
    'sites-available/manta: HTTP/1.1 without "Connection: close"');
like($site, qr{^\s*listen\s+127\.0\.0\.1:8080;}m,
    'sites-available/manta: listens on loopback only');

# with the test's credentials, ports and paths, the module loaded as
# modules-enabled would

Manta::Debian::layout($t, '%%MODULE%%',
    '{"token":"TOKEN-DEB","secret":"SECRET-DEB"}');

my ($status, $out) = $t->test_config();

is($status, 0, 'nginx -t passes the Debian layout configuration')
    or diag($out);
unlike($out, qr/\[(?:warn|emerg|alert)\]/, 'nginx -t: no warning');

$t->run();

my $r = $t->post('/openapi/clientTag?botId=bot-a', '{"name":" debian "}');
my @seen = $t->mock_requests();

is($r->{status}, 200, 'the Debian layout gateway answers');
is($seen[0] && $seen[0]{body}, '{"secret":"SECRET-DEB","name":"debian"}',
    'it forwards the re-serialized body');
is(join('|', header_values($seen[0] // {headers => []}, 'Host')),
    'mantago.cc', 'with the Host Manta expects');
# the log phase comes after the response: the line may follow it a little

my $log = '';
for (1 .. 200) {
    $log = $t->read_file('manta.log') // '';
    last if $log =~ /\n/;
    select(undef, undef, undef, 0.01);
}

like($log, qr/" 200 bot=bot-a reason=- token=/,
    'the manta log_format is written');

$t->done();

###############################################################################
