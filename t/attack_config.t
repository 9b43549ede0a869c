#!/usr/bin/perl

# Attacks on the promise of README "Security" with configurations an
# operator could plausibly write: proxy directives copied from an older
# configuration or inherited from http and server (proxy_set_header
# Authorization, proxy_set_body, proxy_method, proxy_pass_request_headers
# and proxy_pass_request_body off) are refused by nginx -t, naming the
# line at fault and never a header's value; the ones that cannot change
# the forwarded request are accepted and do not; auth_request, error_page
# and manta_limit pointed at or written where they do not belong, the
# variables an access log may hold (with client_body_in_file_only on) and
# a reload that removes a bot while its request waits in the limit keep
# the token and the secret where they belong.

###############################################################################

use warnings;
use strict;

use Test::More;

use POSIX qw(_exit);
use Time::HiRes qw(sleep);

use FindBin;
use lib "$FindBin::Bin/lib";
use Manta::Test;

###############################################################################

my $TOKEN = 'TOKEN-CFG-0123456789abcdef';
my $SECRET = 'SECRET-CFG-fedcba9876543210';
my $body = '{"name":"x"}';
my @auth = (headers => ['Authorization' => 'Bearer caller-own']);

my $t = Manta::Test->new();

$t->write_creds({token => $TOKEN, secret => $SECRET,
    bots => {gone => {token => 'TOKEN-GONE-0123456789',
        secret => 'SECRET-GONE-0123456789'}}});

# nginx -t: each proxy directive that would change the forwarded request,
# in the gateway location or inherited from server or http

my $frame = $t->gateway_text(<<'EOF', http => "HTTPX\n", client_tag => 0);
SRVX

%%MANTA_TAG(/g/clientTag; LOCX)%%
EOF

my %refused = (
    'proxy_set_header Authorization $http_authorization' => ['', '',
        'proxy_set_header Authorization $http_authorization',
        'proxy_set_header Authorization'],
    'proxy_set_header authorization at http level, inherited' => [
        'proxy_set_header authorization "Bearer OLD-SECRET-VALUE";', '',
        'proxy_buffering on', 'proxy_set_header authorization'],
    'proxy_set_header Authorization at server level, inherited' => ['',
        'proxy_set_header Authorization "Bearer OLD-SECRET-VALUE";',
        'proxy_buffering on', 'proxy_set_header Authorization'],
    'proxy_set_header Content-Length $http_content_length' => ['', '',
        'proxy_set_header Content-Length $http_content_length',
        'proxy_set_header Content-Length'],
    'proxy_set_header Transfer-Encoding' => ['', '',
        'proxy_set_header Transfer-Encoding chunked',
        'proxy_set_header Transfer-Encoding'],
    'proxy_set_body $request_body' => ['', '',
        'proxy_set_body $request_body', 'proxy_set_body'],
    'proxy_set_body at http level, inherited' => [
        'proxy_set_body \'{"secret":"OLD-SECRET-VALUE","name":"$arg_n"}\';',
        '', 'proxy_buffering on', 'proxy_set_body'],
    'proxy_method GET' => ['', '', 'proxy_method GET', 'proxy_method GET'],
    'proxy_pass_request_headers off' => ['', '',
        'proxy_pass_request_headers off', 'proxy_pass_request_headers off'],
    'proxy_pass_request_body off at server level, inherited' => ['',
        'proxy_pass_request_body off;', 'proxy_buffering on',
        'proxy_pass_request_body off'],
);

for my $case (sort keys %refused) {
    my ($http, $srv, $loc, $what) = @{ $refused{$case} };

    my ($status, $out) = $t->test_config_text('bad.conf',
        conf($http, $srv, $loc));
    my $n = line_of('bad.conf', $http || $srv || $loc);

    isnt($status, 0, "nginx -t: $case: refused");
    my $re = quotemeta("\"$what\" applies to the \"manta_endpoint\" "
        . 'location "/g/clientTag": ');

    like($out, qr/\[emerg\] .*$re.* in \S+bad\.conf:$n$/m,
        "nginx -t: $case: the message names the directive and its line");
    unlike($out, qr/OLD-SECRET-VALUE|\$http_authorization|\$request_body/,
        "nginx -t: $case: the message never holds the value");
}

# accepted: what cannot change the forwarded request, and an inherited
# proxy_set_header Authorization that the location's own lines replace

my %accepted = (
    'proxy_set_header Authorization inherited, the location has its own' => [
        'proxy_set_header Authorization $http_authorization;', '',
        'proxy_set_header X-Caller-Auth $http_authorization'],
    'proxy_method POST' => ['', '', 'proxy_method POST'],
    'proxy_pass_request_headers and _body on' => ['',
        'proxy_pass_request_body on;', 'proxy_pass_request_headers on'],
);

for my $case (sort keys %accepted) {
    my ($status, $out) = $t->test_config_text('good.conf',
        conf(@{ $accepted{$case} }));

    is($status, 0, "nginx -t: $case: accepted") or diag($out);
}

# the gateway the run-time attacks go through

my $run_http = <<'EOF';
manta_limit_zone  zone=slow:1m rate=1r/s;

proxy_set_header  Authorization $http_authorization;

log_format  cfg  '$http_x_seq $status "$request_body" "$http_authorization" '
                 '"$sent_http_x_debug" "$upstream_http_x_debug" '
                 '$manta_limit_status';
EOF

my $run_loc = 'proxy_set_header X-Caller-Auth $http_authorization; '
    . 'client_body_in_file_only on; manta_limit zone=slow burst=5; '
    . 'access_log %%TESTDIR%%/cfg.log cfg';

$t->write_config(conf($run_http, <<'EOF', $run_loc));
listen  127.0.0.1:%%PORT_H2%% http2;

access_log  %%TESTDIR%%/cfg.log  cfg;

location = /auth {
    auth_request  /g/clientTag;
    proxy_pass    http://mock/leak/auth;
}

location = /err {
    proxy_intercept_errors  on;
    error_page              404 = /g/clientTag;
    proxy_pass              http://mock/leak/err;
}

location = /plain {
    manta_limit  zone=slow;
    proxy_pass   http://mock/plain;
}
EOF

$t->mock_responder(sub {
    my ($req) = @_;

    return (404, ['Content-Type' => 'text/plain'], 'not here')
        if $req->{uri} =~ m{^/leak/err};
    return (200, ['Content-Type' => 'application/json',
        'X-Debug' => "token=$TOKEN"], $Manta::Mock::DEFAULT_BODY);
});

$t->run();

###############################################################################

my ($r, @seen);

# an inherited proxy_set_header Authorization the location's own lines
# replace: the caller's header only in the header the operator named

$r = $t->post('/g/clientTag?botId=a', $body, @auth);
@seen = $t->mock_requests();

is($r->{status}, 200, 'gateway with its own proxy_set_header: 200');
is(header($seen[0], 'Authorization'), "Bearer $TOKEN",
    'upstream got one Authorization: the server token');
is(header($seen[0], 'X-Caller-Auth'), 'Bearer caller-own',
    'the caller\'s header only where the operator put it');
unlike($r->{raw}, qr/\Q$TOKEN\E/,
    'an upstream header with the token is not relayed');

# the access log: $request_body, $http_authorization, $sent_http_*,
# $upstream_http_* of a forwarded request, the body kept in a file

my $log = $t->log_tail('cfg.log');

like($log, qr/^200 "-" "Bearer caller-own" "-" "-" PASSED$/,
    'access log: the caller\'s Authorization, no body (it is in a file), '
    . 'no dropped header');
unlike($t->read_file('cfg.log'), qr/\Q$TOKEN\E|\Q$SECRET\E/,
    'access log: neither the token nor the secret');
is(scalar(grep { file_has($_, qr/\Q$SECRET\E/) }
    glob($t->dir() . '/client_body_temp/*')), 0,
    'client_body_in_file_only: the files kept hold no secret');

# the same over HTTP/2, the body kept in a file

$r = $t->h2('POST', '/g/clientTag?botId=h2', clear => 1, body => $body,
    headers => ['content-type' => 'application/json',
        'authorization' => 'Bearer caller-own']);
@seen = $t->mock_requests();

is($r->{status}, 200, 'HTTP/2, client_body_in_file_only: 200');
is(header($seen[0], 'Authorization'), "Bearer $TOKEN",
    'HTTP/2: upstream got one Authorization: the server token');
is($seen[0]{body}, qq({"secret":"$SECRET","name":"x"}),
    'HTTP/2: the body read from the file, re-serialized');
like($t->log_tail('cfg.log'),
    qr/^200 "-" "Bearer caller-own" "-" "-" PASSED$/,
    'HTTP/2: access log as over HTTP/1.1');
unlike($t->read_file('cfg.log') . join('', map { slurp($_) }
    glob($t->dir() . '/client_body_temp/*')), qr/\Q$TOKEN\E|\Q$SECRET\E/,
    'HTTP/2: neither the token nor the secret in the log or the kept files');

# auth_request into a gateway location: a subrequest, never forwarded

$r = $t->post('/auth?botId=a', $body, @auth);

is($r->{status}, 403,
    'auth_request into a gateway location: its 403 denies the request');
is(scalar($t->mock_requests()), 0,
    'auth_request into a gateway location: nothing forwarded');

# error_page of another location into a gateway location: nginx makes it
# a GET, which the gateway refuses; the token is not sent anywhere

$r = $t->post('/err?botId=a', $body, @auth);
@seen = $t->mock_requests();

is_error_response($r, 405, undef,
    'method not allowed: use POST',
    'error_page into a gateway location: 405 ErrorResponse');
is(scalar(grep { $_->{uri} !~ m{^/leak/err} } @seen), 0,
    'error_page into a gateway location: nothing else forwarded');
unlike(join('', map { "@$_" } map { @{ $_->{headers} } } @seen)
    . join('', map { $_->{body} } @seen), qr/\Q$TOKEN\E|\Q$SECRET\E/,
    'error_page into a gateway location: no token or secret sent');

# manta_limit in a location without manta_endpoint: untouched, not limited

my @st = map { $t->post('/plain?botId=a', $body)->{status} } 1 .. 3;

is("@st", '200 200 200', 'manta_limit without manta_endpoint: not limited');
is(header(($t->mock_requests())[0], 'Authorization'), '',
    'manta_limit without manta_endpoint: no token injected');

# a reload that removes the bot a request waits for (delayed by the
# limit): the request completes with the credentials it was accepted with

is($t->post('/g/clientTag?botId=gone', $body)->{status}, 200,
    'bot "gone" passes once');

my $pid = fork() // die "fork: $!\n";

if ($pid == 0) {
    my $res = $t->http('POST', '/g/clientTag?botId=gone',
        headers => ['Content-Type' => 'application/json'], body => $body);
    $t->write_file('delayed', $res ? $res->{status} : 'none');
    _exit(0);
}

sleep 0.3;

$t->write_creds({token => $TOKEN, secret => $SECRET});
ok($t->reload(), 'reload without bot "gone" while its request waits');

waitpid($pid, 0);

is($t->read_file('delayed'), '200',
    'the delayed request of the removed bot completes');
like($t->read_file('cfg.log'), qr/^\S+ 200 .* DELAYED$/m,
    'it was delayed by the limit, then forwarded');

$r = $t->post('/g/clientTag?botId=gone', $body);
is($r->{status}, 200, 'after the reload the bot gets the default '
    . 'credentials');
is(header(($t->mock_requests())[0], 'Authorization'), "Bearer $TOKEN",
    'after the reload: the default token, not the removed bot\'s');
unlike($t->read_file('error.log'), qr/exited on signal/,
    'no worker crashed');

$t->done();

###############################################################################

# The test configuration: the gateway /g/clientTag with the location's own
# directives (split at "; "), the http-level and server-level text.

sub conf {
    my ($http, $srv, $loc) = @_;

    (my $c = $frame) =~ s/HTTPX/$http/;
    $c =~ s/SRVX/$srv/;
    $c =~ s/LOCX/$loc/;

    return $c;
}

# The line number of the first line of a file that holds the text of a
# directive (up to its first ';' or end).

sub line_of {
    my ($name, $text) = @_;

    my ($want) = $text =~ /^\s*([^;]+)/;
    my @lines = split /\n/, $t->read_file($name);

    for my $i (0 .. $#lines) {
        my $l = join ' ', split ' ', $lines[$i];
        return $i + 1 if index($l, join ' ', split ' ', $want) >= 0;
    }

    return 0;
}

sub file_has {
    my ($file, $re) = @_;
    return slurp($file) =~ $re;
}

sub slurp {
    my ($file) = @_;

    open my $fh, '<', $file or return '';
    local $/;

    return <$fh> // '';
}

sub header {
    my ($req, $name) = @_;

    return '' unless $req;

    my @v = map { $_->[1] } grep { lc $_->[0] eq lc $name }
        @{ $req->{headers} };

    return join ',', @v;
}

###############################################################################
