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

use FindBin;
use lib "$FindBin::Bin/lib";
use Manta::Test;

###############################################################################

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
like($example, qr{^\s*location\s*=\s*/openapi/clientTag\s*\{}m,
    'example: the gateway is an exact-match location');
like($example, qr{^\s*proxy_pass\s+https://manta/api/openapi/clientTag;}m,
    'example: proxy_pass over https to the upstream block');
like($example, qr{^\s*proxy_ssl_verify\s+on;}m,
    'example: the upstream certificate is verified');
like($example, qr{^\s*proxy_ssl_trusted_certificate\s+/etc/ssl/certs/ca-certificates\.crt;}m,
    'example: against the system CA bundle');
like($example, qr{^\s*proxy_ssl_name\s+mantago\.cc;}m,
    'example: for the name mantago.cc');
like($example, qr{^\s*proxy_ssl_server_name\s+on;}m, 'example: with SNI');
like($example, qr/upstream\s+manta\s*\{[^}]*\bkeepalive\s+\d+;/s,
    'example: an upstream block with keepalive');
like($example, qr{^\s*proxy_http_version\s+1\.1;}m,
    'example: HTTP/1.1 to the upstream');
like($example, qr{^\s*proxy_set_header\s+Connection\s+"";}m,
    'example: no "Connection: close" to the upstream');
unlike($example, qr{manta_upstream_tls_verify\s+off}, 'example: no opt-out');

(my $conf = $example) =~ s{^load_module\s+modules/ngx_http_manta_module\.so;}
    {%%MODULE%%\n%%GLOBALS%%}m;

$conf =~ s{/etc/nginx/manta/credentials\.json}{%%TESTDIR%%/creds.json}g;
$conf =~ s{\blisten(\s+)(?:[\d.]+:)?8080\b}{listen${1}127.0.0.1:%%PORT_8080%%}g;

# the mock speaks plain HTTP (t/tls.t tests a verified TLS upstream)

$conf =~ s{\bserver\s+mantago\.cc:443;}{server  127.0.0.1:%%PORT_MOCK%%;}g;
$conf =~ s{https://manta/}{http://manta/}g;
$conf =~ s{/var/log/nginx/}{%%TESTDIR%%/}g;
$conf =~ s{^\s*(?:pid|daemon)\s[^;]*;}{}mg;
$conf =~ s{^(http\s*\{)}{$1\n    %%HTTP_GLOBALS%%\n}m;

$t->write_config($conf);
$t->write_creds();

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
