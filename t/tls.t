#!/usr/bin/perl

# Tests that a gateway location verifies its TLS upstream: a CA, a server
# certificate for localhost/127.0.0.1 and an unrelated second CA are made
# with openssl; a second server block of the same nginx terminates TLS in
# front of the mock.  With the right CA the request is forwarded with the
# token; with the wrong CA the caller gets a 502 ErrorResponse and the mock
# receives nothing.

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

# the certificates

$t->write_certs('Manta Test CA', 'server');

chmod 0644, "$dir/server.key";

# the gateway's locations, over TLS to the mock: the CA each trusts and the
# name it verifies; the implicit upstream 127.0.0.1:PORT is shared by them,
# and so is its cached TLS session: a resumed session keeps the result of
# the first handshake, so the other two do not reuse it

my $locations = '';

for my $l (['/openapi', 'ca', 'localhost; proxy_ssl_server_name on'],
    ['/wrong-ca', 'other', 'localhost; proxy_ssl_server_name on;'
        . ' proxy_ssl_session_reuse off'],
    ['/wrong-name', 'ca', 'mantago.cc; proxy_ssl_session_reuse off'])
{
    $locations .= "%%MANTA_TAG($l->[0]/clientTag; proxy_pass https://"
        . "127.0.0.1:%%PORT_TLS%%/api/openapi/clientTag; proxy_ssl_verify on;"
        . " proxy_ssl_trusted_certificate %%TESTDIR%%/$l->[1].crt;"
        . " proxy_ssl_name $l->[2])%%\n\n";
}

$t->write_config(<<'EOF' =~ s/LOCATIONS\n/$locations/r);

%%MANTA_MAIN%%

http {
    %%HTTP_GLOBALS%%

    log_format  tls  '$http_x_seq $status $manta_reject_reason '
                     '$upstream_status';

    manta_credentials  %%TESTDIR%%/creds.json;

    # TLS in front of the mock

    server {
        listen               127.0.0.1:%%PORT_TLS%% ssl;
        server_name          localhost;

        ssl_certificate      %%TESTDIR%%/server.crt;
        ssl_certificate_key  %%TESTDIR%%/server.key;

        location / {
            proxy_pass  http://127.0.0.1:%%PORT_MOCK%%;
        }
    }

    server {
        %%MANTA_LISTEN%%

        access_log  %%TESTDIR%%/tls.log  tls;

LOCATIONS
    }
}

EOF

$t->write_creds({token => 'TOKEN-TLS', secret => 'SECRET-TLS'});

my ($status, $out) = $t->test_config();
is($status, 0, 'nginx -t: verified TLS gateway accepted') or diag($out);
unlike($out, qr/\[(?:warn|emerg)\]/, 'nginx -t: no warning');

$t->allow_log(qr/upstream SSL certificate (?:verify error|does not match)/);
$t->run();

###############################################################################

# the right CA: forwarded over TLS with the token

my $r = $t->post('/openapi/clientTag?botId=bot-a', '{"name":"x"}');
my @seen = $t->mock_requests();

is($r->{status}, 200, 'right CA: the caller gets the upstream answer');
is(scalar @seen, 1, 'right CA: the mock received the request');
is(join('|', header_values($seen[0] // {headers => []}, 'Authorization')),
    'Bearer TOKEN-TLS', 'right CA: with the server token');
is($seen[0] && $seen[0]{body}, '{"secret":"SECRET-TLS","name":"x"}',
    'right CA: with the secret in the body');

# the wrong CA, the wrong name: 502 ErrorResponse, nothing reaches upstream

$t->mock_clear();

$r = $t->post('/wrong-ca/clientTag?botId=bot-a', '{"name":"x"}');
is_error_response($r, 502, '*', undef,
    'wrong CA: the caller gets a 502 ErrorResponse');
is(scalar(@seen = $t->mock_requests()), 0, 'wrong CA: the mock received '
    . 'nothing');
unlike($r->{body}, qr/TOKEN-TLS|SECRET-TLS/, 'wrong CA: no credentials in '
    . 'the answer');

$r = $t->post('/wrong-name/clientTag?botId=bot-a', '{"name":"x"}');
is_error_response($r, 502, '*', undef,
    'certificate for another name: 502 ErrorResponse');
is(scalar(@seen = $t->mock_requests()), 0,
    'certificate for another name: the mock received nothing');

my $log = $t->read_file('error.log');
like($log, qr/upstream SSL certificate verify error: .*wrong-ca/,
    'error.log says why the upstream with the wrong CA was refused');
like($log, qr/upstream SSL certificate does not match "mantago.cc"/,
    'error.log says why the upstream with the wrong name was refused');

$t->done();

###############################################################################
