#!/usr/bin/perl

# Tests that the server's token and secret stay in the one request that a
# gateway location's proxy_pass forwards: a request that leaves the gateway
# location (error_page, try_files, rewrite ... last, named locations)
# reaches the other location with the caller's query, headers and body; an
# upstream's X-Accel-Redirect is ignored; a subrequest into a gateway
# location (SSI include, another location's mirror) is answered with an
# ErrorResponse and never forwarded; the debug log of a gateway request
# holds neither; and $http_authorization shows what the caller sent.

###############################################################################

use warnings;
use strict;

use Test::More;

use FindBin;
use lib "$FindBin::Bin/lib";
use Manta::Test;

###############################################################################

my $t = Manta::Test->new()->write_config(<<'EOF');

%%MANTA_MAIN%%

http {
    %%HTTP_GLOBALS%%

    log_format  confine  '$http_x_seq $status "$http_authorization" '
                         '$manta_reject_reason';

    %%MANTA_UPSTREAM%%

    server {
        %%MANTA_LISTEN%%

        access_log  %%TESTDIR%%/confine.log  confine;
        error_log   %%TESTDIR%%/debug.log  debug;

        location = /openapi/clientTag {
            manta_endpoint  client_tag;

            proxy_intercept_errors  on;
            error_page  503 /fallback;
            error_page  504 /rewrite;

            proxy_pass  http://mock/api/openapi/clientTag;
        }

        location = /tf/clientTag {
            manta_endpoint  client_tag;

            root       %%TESTDIR%%/html;
            try_files  /nonexistent @named;

            proxy_pass  http://mock/api/openapi/clientTag;
        }

        location = /fallback {
            proxy_pass  http://mock/leak/error_page;
        }

        location = /rewrite {
            rewrite  ^ /leak-rewrite last;
        }

        location = /leak-rewrite {
            proxy_pass  http://mock/leak/rewrite;
        }

        location = /xa {
            internal;
            proxy_pass  http://mock/leak/x-accel-redirect;
        }

        location @named {
            proxy_pass  http://mock;
        }

        location = /page.html {
            ssi   on;
            root  %%TESTDIR%%/html;
        }

        location = /mirrored {
            mirror               /openapi/clientTag;
            mirror_request_body  on;
            proxy_pass           http://mock/leak/mirrored;
        }

        location = /plain {
            proxy_pass  http://mock/plain;
        }
    }
}

EOF

$t->write_creds({token => 'TOKEN-C', secret => 'SECRET-C'});

mkdir $t->dir() . '/html';
$t->write_file('html/page.html',
    'before <!--# include virtual="/openapi/clientTag?botId=ssi" --> after');

# the mock answers by botId: 503 (error_page to a plain location), 504
# (error_page, then rewrite ... last), X-Accel-Redirect; 200 otherwise

$t->mock_responder(sub {
    my ($req) = @_;

    my ($bot) = $req->{uri} =~ /botId=([\w-]+)/;
    $bot //= '';

    return (503, ['Content-Type' => 'text/plain'], 'busy')
        if $bot eq 'ep' && $req->{uri} =~ m{^/api/};
    return (504, ['Content-Type' => 'text/plain'], 'slow')
        if $bot eq 'rw' && $req->{uri} =~ m{^/api/};
    return (200, ['X-Accel-Redirect' => '/xa'], '')
        if $bot eq 'xa' && $req->{uri} =~ m{^/api/};

    return (200, ['Content-Type' => 'application/json'],
        $Manta::Mock::DEFAULT_BODY);
});

$t->run();

###############################################################################

my $caller_body = '{"name":"x"}';
my @caller_auth = (headers => ['Authorization' => 'Bearer caller-own']);

# error_page into a location without manta_endpoint

my $r = $t->post('/openapi/clientTag?botId=ep&extra=1', $caller_body,
    @caller_auth);

is($r->{status}, 503, 'error_page: the fallback location answers, with '
    . 'the status error_page keeps');
left('error_page', '/leak/error_page');

# error_page, then rewrite ... last into a third location

$r = $t->post('/openapi/clientTag?botId=rw&extra=1', $caller_body,
    @caller_auth);

is($r->{status}, 504, 'rewrite last: the rewritten location answers, with '
    . 'the status error_page keeps');
left('rewrite last', '/leak/rewrite');

# X-Accel-Redirect from upstream: ignored in a gateway location, the
# upstream never steers the gateway to another location

$r = $t->post('/openapi/clientTag?botId=xa&extra=1', $caller_body,
    @caller_auth);

is($r->{status}, 200, 'X-Accel-Redirect: the upstream\'s own answer');
is(scalar(grep { $_->{uri} =~ m{^/leak/} } $t->mock_requests()), 0,
    'X-Accel-Redirect: ignored, no other location was reached');

# try_files into a named location (try_files runs after the gateway has
# validated and rewritten the request)

$r = $t->post('/tf/clientTag?botId=tf&extra=1', $caller_body, @caller_auth);

is($r->{status}, 200, 'try_files: the named location answers');
left('try_files', '/tf/clientTag', 'botId=tf&extra=1');

# the same with the body in delayed packets: read after the gateway's
# handler has returned, then the phases resume after that handler, and
# try_files runs as before

$t->mock_clear();
$r = $t->post('/tf/clientTag?botId=tf&extra=1', undef,
    parts => ['{"na', 'me":"x"}'], delay => 0.1, @caller_auth);

is($r->{status}, 200,
    'try_files, body in delayed packets: the named location answers');
left('try_files, body in delayed packets', '/tf/clientTag',
    'botId=tf&extra=1');

# a subrequest into a gateway location: SSI include

$t->mock_clear();
$r = $t->http('GET', '/page.html');

is($r->{status}, 200, 'SSI: the page is served');
like($r->{body}, qr/^before \{"success":false,"errResponse":\{"message":"[^"]+","code":403\}\} after$/,
    'SSI: the include is an ErrorResponse, 403, without botId');
is($t->forwarded_body(), '0 requests forwarded',
    'SSI: the subrequest forwarded nothing');

# a subrequest into a gateway location: another location's mirror

$r = $t->post('/mirrored?botId=mirror', $caller_body, @caller_auth);

is($r->{status}, 200, 'mirror: the main request is served');

my @seen = wait_requests(1);

is(scalar @seen, 1, 'mirror: upstream saw only the main request');
is($seen[0]{uri}, '/leak/mirrored?botId=mirror',
    'mirror: and it is the plain location\'s');
ok(!grep({ $_->{uri} =~ m{^/api/} } @seen),
    'mirror: the mirror subrequest was never forwarded');

# a forwarded request: $http_authorization shows the caller's header

$r = $t->post('/openapi/clientTag?botId=logged', $caller_body,
    @caller_auth);

is($r->{status}, 200, 'forwarded: 200');
is(header($t->mock_requests(), 'Authorization'), 'Bearer TOKEN-C',
    'forwarded: upstream got the server token');
like($t->log_tail('confine.log'), qr/^200 "Bearer caller-own" -$/,
    '$http_authorization: the caller\'s header, not "-" nor the token');

$r = $t->post('/openapi/clientTag?botId=logged', $caller_body);

like($t->log_tail('confine.log'), qr/^200 "-" -$/,
    '$http_authorization: "-" when the caller sent none');

# the debug log: a plain location's request is logged at debug (so the
# log is on), a gateway's never holds the token or the secret

$t->post('/plain', $caller_body, headers => ['X-Marker' => 'debug-on']);
$t->post('/openapi/clientTag?botId=dbg', $caller_body, @caller_auth);

my $debug = $t->read_file('debug.log');

like($debug, qr/X-Marker: debug-on/,
    'debug log: a plain location\'s request headers are logged');
unlike($debug, qr/TOKEN-C/, 'debug log: never the token');
unlike($debug, qr/SECRET-C/, 'debug log: never the secret');

$t->done();

###############################################################################

# the request that reached the other location: the caller's query, headers
# and body, no trace of the server's credentials

sub left {
    my ($name, $path, $args) = @_;

    my @seen = $t->mock_requests();
    my ($other) = grep { $_->{uri} =~ m{^\Q$path\E} } @seen;

    ok($other, "$name: the other location forwarded the request")
        or return;

    # an internal redirect sets its own query (none here); a named
    # location keeps the caller's

    is($other->{uri}, defined $args ? "$path?$args" : $path,
        "$name: the query is not the canonical one");
    is(header($other, 'Authorization'), 'Bearer caller-own',
        "$name: with the caller's Authorization, not the server token");
    is($other->{body}, $caller_body,
        "$name: with the caller's body, not the secret");

    unlike(join('', map { "@$_" } @{ $other->{headers} }) . $other->{body},
        qr/TOKEN-C|SECRET-C/, "$name: no token or secret anywhere in it");
}

sub header {
    my ($req, $name) = @_;
    my @v = map { $_->[1] } grep { lc $_->[0] eq lc $name }
        @{ $req->{headers} };
    return join ',', @v;
}

# the mock records a mirror's request when it arrives: wait a little

sub wait_requests {
    my ($n) = @_;

    my @seen;

    for (1 .. 20) {
        @seen = $t->mock_requests();
        last if @seen > $n;
        select undef, undef, undef, 0.05;
    }

    return @seen;
}
