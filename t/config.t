#!/usr/bin/perl

# Tests for the configuration-time safety of ngx_http_manta_module: nginx -t
# refuses a gateway location that could send the token somewhere else (a
# prefix, regex or named location, no proxy_pass, a proxy_pass with
# variables, https without certificate verification, a mirror of its own or
# inherited, an "if" or "limit_except" block inside), each message naming
# the file and line of the directive at fault (also for the cross-directive
# errors found after the parse, and in an included file);
# manta_upstream_tls_verify off turns the TLS error into a warning; the
# debug-log warnings; an inherited error_page does not replace the
# ErrorResponse (also with proxy_intercept_errors); a failed reload leaves
# the other modules' directives working once the module is gone.

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

$t->write_creds({token => 'TOKEN-C', secret => 'SECRET-C'});
$t->write_file('ca.crt', '');

# a CA certificate proxy_ssl_trusted_certificate can load

my ($rc) = $t->run_command('openssl', 'req', '-x509', '-newkey', 'rsa:2048',
    '-nodes', '-keyout', "$dir/ca.key", '-out', "$dir/ca.crt", '-days', '2',
    '-subj', '/CN=config test CA');
is($rc, 0, 'openssl made a CA certificate');

###############################################################################

# nginx -t on a configuration: the gateway location (LOCATION, BODY) inside
# a server (SERVER) inside http (HTTP); the line holding "#AT" is the one
# the message must name

sub conf {
    my (%o) = @_;

    my $location = $o{location} // 'location = /openapi/clientTag';
    my $body = $o{body} // "manta_endpoint  client_tag;\n"
        . "            proxy_pass  http://127.0.0.1:%%PORT_MOCK%%/api;";
    my $http = $o{http} // '';
    my $server = $o{server} // '';
    my $creds = exists $o{creds} ? $o{creds}
        : "manta_credentials  $dir/creds.json;";
    my $events = $o{events} // '';

    return <<"EOF";

%%MODULE%%
%%GLOBALS%%

events {
    $events
}

http {
    %%HTTP_GLOBALS%%

    $creds
    $http

    server {
        %%MANTA_LISTEN%%
        $server

        $location {
            $body
        }

        location = /50x.html {
            root  $dir;
        }
    }
}

EOF
}

my $n = 0;

# (status, output, file, line of "#AT") of nginx -t on that configuration

sub check {
    my (%o) = @_;

    my $name = 'c' . ++$n . '.conf';
    my $text = $t->expand(conf(%o));
    my ($file, $at) = ("$dir/$name", $text);

    if (my $inc = $o{include}) {
        $at = $t->expand($inc);
        $file = "$dir/inc$n.conf";
        $t->write_file("inc$n.conf", $at);
        $text =~ s/INCLUDE/include  $file;/;
    }

    my $line;
    my @lines = split /\n/, $at, -1;
    for my $i (0 .. $#lines) {
        $line = $i + 1, last if $lines[$i] =~ /#AT/;
    }

    my ($status, $out) = $t->test_config_text($name, $text);

    return ($status, $out, $file, $line);
}

# nginx -t fails, and its [emerg] matches $re and names FILE:LINE of #AT

sub refused {
    my ($test, $re, %o) = @_;

    my ($status, $out, $file, $line) = check(%o);

    local $Test::Builder::Level = $Test::Builder::Level + 1;

    isnt($status, 0, "$test: nginx -t fails");
    like($out, qr/\[emerg\] .*$re.* in \Q$file\E:$line$/m,
        "$test: the message names the problem and $line, the line at "
        . 'fault') or diag($out);
}

# nginx -t passes; with $re, a [warn] matches it and names FILE:LINE

sub accepted {
    my ($test, $re, %o) = @_;

    my ($status, $out, $file, $line) = check(%o);

    local $Test::Builder::Level = $Test::Builder::Level + 1;

    is($status, 0, "$test: nginx -t passes") or diag($out);

    if (!defined $re) {
        unlike($out, qr/\[(?:warn|emerg)\]/, "$test: no warning")
            or diag($out);
        return;
    }

    like($out, qr/\[warn\] .*$re.* in \Q$file\E:$line$/m,
        "$test: a warning names the problem and line $line") or diag($out);
}

my $pp = 'proxy_pass  http://127.0.0.1:%%PORT_MOCK%%/api;';

accepted('exact-match gateway', undef);

# which locations may hold the gateway

refused('prefix location', qr/requires an exact-match location/,
    location => 'location /pfx/clientTag',
    body => "manta_endpoint  client_tag;  #AT\n$pp");

refused('regex location', qr/requires an exact-match location/,
    location => 'location ~ ^/openapi/clientTag$',
    body => "manta_endpoint  client_tag;  #AT\n"
        . 'proxy_pass  http://127.0.0.1:%%PORT_MOCK%%;');

refused('named location', qr/requires an exact-match location/,
    location => 'location @gw',
    body => "manta_endpoint  client_tag;  #AT\n"
        . 'proxy_pass  http://127.0.0.1:%%PORT_MOCK%%;');

refused('"if" block inside', qr/"if" and "limit_except" blocks are not/,
    body => "manta_endpoint  client_tag;  #AT\n$pp\n"
        . 'if ($http_x_other) { proxy_pass  http://127.0.0.1:1; }');

refused('"limit_except" block inside', qr/"if" and "limit_except" blocks/,
    body => "manta_endpoint  client_tag;  #AT\n$pp\n"
        . 'limit_except POST { deny all; }');

# what the location forwards to

refused('no proxy_pass', qr/requires "proxy_pass"/,
    body => "manta_endpoint  client_tag;  #AT\nroot  $dir;");

refused('proxy_pass with $request_uri', qr/must not use variables/,
    body => "manta_endpoint  client_tag;\n"
        . 'proxy_pass  http://127.0.0.1:%%PORT_MOCK%%$request_uri;  #AT');

refused('proxy_pass with a variable host', qr/must not use variables/,
    http => 'map $host $up { default 127.0.0.1:%%PORT_MOCK%%; }',
    body => "manta_endpoint  client_tag;\n"
        . 'proxy_pass  http://$up/api;  #AT');

# TLS

my $https = 'proxy_pass  https://127.0.0.1:%%PORT_MOCK%%/api;  #AT';

refused('https without proxy_ssl_verify',
    qr/sends the token over TLS without checking.*proxy_ssl_verify on/,
    body => "manta_endpoint  client_tag;\n$https");

refused('https with proxy_ssl_verify off',
    qr/without checking the upstream's certificate/,
    body => "manta_endpoint  client_tag;\nproxy_ssl_verify  off;\n$https");

refused('https, proxy_ssl_verify on only at another location',
    qr/without checking the upstream's certificate/,
    server => "location /other { proxy_ssl_verify on; "
        . "proxy_ssl_trusted_certificate $dir/ca.crt; }",
    body => "manta_endpoint  client_tag;\n$https");

accepted('https with proxy_ssl_verify on', undef,
    body => "manta_endpoint  client_tag;\nproxy_ssl_verify  on;\n"
        . "proxy_ssl_trusted_certificate  $dir/ca.crt;\n$https");

accepted('https with proxy_ssl_verify on inherited from http', undef,
    http => "proxy_ssl_verify  on;\n"
        . "proxy_ssl_trusted_certificate  $dir/ca.crt;",
    body => "manta_endpoint  client_tag;\n$https");

accepted('https with manta_upstream_tls_verify off',
    qr/certificate is not checked \("manta_upstream_tls_verify off"\)/,
    body => "manta_endpoint  client_tag;\nmanta_upstream_tls_verify  off;\n"
        . $https);

accepted('manta_upstream_tls_verify off inherited from http',
    qr/certificate is not checked/,
    http => 'manta_upstream_tls_verify  off;',
    body => "manta_endpoint  client_tag;\n$https");

refused('manta_upstream_tls_verify takes on or off', qr/invalid value "no"/,
    http => 'manta_upstream_tls_verify  no;  #AT');

# mirror

refused('mirror in the location', qr/"mirror" applies to the/,
    body => "manta_endpoint  client_tag;\n$pp\nmirror  /copy;  #AT");

refused('mirror inherited from server', qr/mirror off;/,
    server => 'mirror  /copy;  #AT');

refused('mirror inherited from http', qr/"mirror" applies to the/,
    http => 'mirror  /copy;  #AT');

accepted('mirror at server, "mirror off" in the gateway', undef,
    server => 'mirror  /copy;',
    body => "manta_endpoint  client_tag;\n$pp\nmirror  off;");

# cross-directive errors: the directive's own line, not the end of http

refused('unknown manta_limit_zone', qr/unknown manta_limit_zone "x"/,
    body => "manta_endpoint  client_tag;\n$pp\n"
        . 'manta_limit  zone=x burst=1;  #AT');

refused('unknown manta_limit_zone inherited from server',
    qr/unknown manta_limit_zone "nozone"/,
    server => 'manta_limit  zone=nozone;  #AT');

refused('manta_endpoint without manta_credentials',
    qr/"manta_endpoint" requires "manta_credentials"/,
    creds => '',
    body => "manta_endpoint  client_tag;  #AT\n$pp");

refused('error in an included file names that file',
    qr/unknown manta_limit_zone "inc"/,
    location => 'INCLUDE location = /unused',
    body => 'return 204;',
    include => "location = /inc/clientTag {\n"
        . "    manta_endpoint  client_tag;\n"
        . "    proxy_pass  http://127.0.0.1:%%PORT_MOCK%%/api;\n"
        . "    manta_limit  zone=inc;  #AT\n}\n");

# debug logging reaching a gateway location

accepted('error_log debug in the gateway location',
    qr/suppresses debug logging/,
    body => "manta_endpoint  client_tag;  #AT\n$pp\n"
        . "error_log  $dir/debug.log  debug;");

accepted('error_log debug_http inherited from the server',
    qr/suppresses debug logging/,
    server => "error_log  $dir/debug.log  debug_http;",
    body => "manta_endpoint  client_tag;  #AT\n$pp");

accepted('a second error_log at debug in the chain',
    qr/suppresses debug logging/,
    http => "error_log  $dir/info.log  info;\n"
        . "error_log  $dir/debug.log  debug;",
    body => "manta_endpoint  client_tag;  #AT\n$pp");

accepted('debug_connection',
    qr/"debug_connection" is set: .*suppresses debug logging/,
    events => 'debug_connection  127.0.0.1;',
    body => "manta_endpoint  client_tag;  #AT\n$pp");

accepted('error_log debug outside the gateway: no warning', undef,
    server => "location /other { error_log  $dir/debug.log  debug; }");

###############################################################################

# an inherited error_page does not replace the ErrorResponse: the upstream
# is down, the caller gets 502 as JSON, not /50x.html; the same with
# proxy_intercept_errors for an upstream 502

$t->write_file('50x.html', '<html>maintenance page</html>');

my $c = conf(
    server => 'error_page  502 503 504  /50x.html;',
    http => 'error_page  500  /50x.html;',
    body => "manta_endpoint  client_tag;\n"
        . "proxy_pass  http://127.0.0.1:%%PORT_CLOSED%%/api;");

$c =~ s{(location = /50x\.html)}{location = /up/clientTag {
            manta_endpoint          client_tag;
            proxy_intercept_errors  on;
            proxy_pass              http://127.0.0.1:%%PORT_MOCK%%/api;
        }

        location = /plain {
            proxy_pass  http://127.0.0.1:%%PORT_CLOSED%%/api;
        }

        $1};
$t->write_config($c);

$t->mock_responder(sub {
    return (502, ['Content-Type' => 'text/html'], '<html>upstream 502</html>');
});

$t->run();

my $r = $t->post('/openapi/clientTag?botId=bot-a', '{"name":"x"}');
is_error_response($r, 502, '*', undef,
    'inherited error_page: upstream down gives the 502 ErrorResponse');
unlike($r->{body}, qr/maintenance/, 'inherited error_page: not the HTML page');

$r = $t->post('/up/clientTag?botId=bot-a', '{"name":"x"}');
is_error_response($r, 502, '*', undef,
    'inherited error_page and proxy_intercept_errors: upstream 502 gives '
    . 'the ErrorResponse');
unlike($r->{body}, qr/maintenance/,
    'inherited error_page and proxy_intercept_errors: not the HTML page');

$r = $t->http('GET', '/plain');
like($r->{body}, qr/maintenance page/,
    'error_page still applies outside the gateway');

# a failed reload puts the other modules' handlers back: nginx then loads
# a configuration without this module (which unloads it) and parses
# proxy_pass, error_page and mirror again

$t->allow_log(qr/\[emerg\].*requires an exact-match location/);

my $bad = conf(location => 'location /pfx/clientTag');
$t->write_file('nginx.conf', $t->expand($bad));
ok(!$t->reload(quiet => 1, timeout => 3),
    'reload with a prefix gateway location is refused');

(my $plain = $c) =~ s{%%MODULE%%}{};
$plain =~ s{^\s*manta_\w+[^\n]*\n}{}mg;
$plain = $t->expand($plain);
$t->write_file('nginx.conf', $plain);
ok($t->reload(), 'reload without the module');

$t->write_file('nginx.conf', $plain . "\n");
ok($t->reload(), 'reload again without the module: proxy_pass parsed');

$r = $t->http('GET', '/plain');
like($r->{body}, qr/maintenance page/,
    'without the module: error_page and proxy_pass work');

$t->done();

###############################################################################
