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

$t->write_file('server.ext', "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
    . "basicConstraints=CA:FALSE\n");

for my $cmd (
    [qw/req -x509 -newkey rsa:2048 -nodes -days 2 -subj/, '/CN=Manta Test CA',
        '-keyout', "$dir/ca.key", '-out', "$dir/ca.crt"],
    [qw/req -x509 -newkey rsa:2048 -nodes -days 2 -subj/, '/CN=Other CA',
        '-keyout', "$dir/other.key", '-out', "$dir/other.crt"],
    [qw/req -newkey rsa:2048 -nodes -subj/, '/CN=localhost',
        '-keyout', "$dir/server.key", '-out', "$dir/server.csr"],
    [qw/x509 -req -days 2 -set_serial 2/, '-in', "$dir/server.csr",
        '-CA', "$dir/ca.crt", '-CAkey', "$dir/ca.key",
        '-extfile', "$dir/server.ext", '-out', "$dir/server.crt"])
{
    my ($rc, $out) = $t->run_command('openssl', @$cmd);
    is($rc, 0, "openssl $cmd->[0] $cmd->[-1]") or diag($out);
}

chmod 0644, "$dir/server.key";

$t->write_config(<<'EOF');

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

        location = /openapi/clientTag {
            manta_endpoint                 client_tag;
            proxy_pass                     https://127.0.0.1:%%PORT_TLS%%/api/openapi/clientTag;
            proxy_ssl_verify               on;
            proxy_ssl_trusted_certificate  %%TESTDIR%%/ca.crt;
            proxy_ssl_name                 localhost;
            proxy_ssl_server_name          on;
        }

        location = /wrong-ca/clientTag {
            manta_endpoint                 client_tag;
            proxy_pass                     https://127.0.0.1:%%PORT_TLS%%/api/openapi/clientTag;
            proxy_ssl_verify               on;
            proxy_ssl_trusted_certificate  %%TESTDIR%%/other.crt;
            proxy_ssl_name                 localhost;
            proxy_ssl_server_name          on;

            # the implicit upstream 127.0.0.1:PORT is shared with the
            # location above, and so is its cached TLS session: a resumed
            # session keeps the verification result of the first handshake
            proxy_ssl_session_reuse        off;
        }

        location = /wrong-name/clientTag {
            manta_endpoint                 client_tag;
            proxy_pass                     https://127.0.0.1:%%PORT_TLS%%/api/openapi/clientTag;
            proxy_ssl_verify               on;
            proxy_ssl_trusted_certificate  %%TESTDIR%%/ca.crt;
            proxy_ssl_name                 mantago.cc;
            proxy_ssl_session_reuse        off;
        }
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
