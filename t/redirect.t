#!/usr/bin/perl

# Tests for ngx_http_manta_module across an internal redirect (README
# "Where the token and secret go"): when an upstream error is intercepted and error_page sends the
# request to another manta_endpoint location, the request is neither
# validated again nor charged to the limit again, and it is forwarded with
# the same canonical request line, body and token.

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
    %%MANTA_HTTP%%

    log_format  redirect  '$http_x_seq $status $manta_limit_status '
                          '$manta_reject_reason $upstream_status';

    manta_limit_zone  zone=once:1m rate=1r/m;

    server {
        %%MANTA_SERVER%%
        access_log  %%TESTDIR%%/redirect.log  redirect;

        location = /openapi/clientTag {
            manta_endpoint  client_tag;
            manta_limit     zone=once burst=1 nodelay;

            proxy_intercept_errors  on;
            error_page  503 = /again/clientTag?$args;

            proxy_pass  http://mock/api/openapi/clientTag;
        }

        # a gateway location must be an exact-match one (not a named one):
        # the error_page above redirects here by URI, with $args (a URI
        # redirect drops the query otherwise), the canonical one by then

        location = /again/clientTag {
            manta_endpoint  client_tag;
            manta_limit     zone=once burst=1 nodelay;

            # the canonical query, never the caller's raw request line
            proxy_pass  http://mock/openapi/clientTag;
        }
    }
}

EOF

$t->write_creds({token => 'TOKEN-R', secret => 'SECRET-R'});

# the mock answers 503 to the first request it sees for a botId, then 200

my $dir = $t->dir();

$t->mock_responder(sub {
    my ($req) = @_;

    my ($bot) = $req->{uri} =~ /botId=([\w-]+)/;

    if (defined $bot && !-e "$dir/seen-$bot") {
        $t->write_file("seen-$bot", '1');
        return (503, ['Content-Type' => 'text/html'], '<html>busy</html>');
    }

    return (200, ['Content-Type' => 'application/json'],
        $Manta::Mock::DEFAULT_BODY);
});

$t->run();

###############################################################################

my $r = post('r1');

is($r->{status}, 200, 'redirected: the second upstream answer reaches the '
    . 'caller');
is($r->{body}, $Manta::Mock::DEFAULT_BODY, 'redirected: its body');

my @seen = $t->mock_requests();

is(scalar @seen, 2, 'redirected: upstream saw the request twice');
is($seen[0]{uri}, '/api/openapi/clientTag?botId=r1',
    'redirected: first forward, canonical query');
is($seen[1]{uri}, '/openapi/clientTag?botId=r1',
    'redirected: second forward, the canonical query, not the caller\'s');
is($seen[1]{body}, '{"secret":"SECRET-R","name":"x"}',
    'redirected: second forward, the re-serialized body again');
is($seen[0]{body}, $seen[1]{body}, 'redirected: both bodies the same');
is(header($seen[1], 'Authorization'), 'Bearer TOKEN-R',
    'redirected: second forward, the server token');
is($t->log_tail('redirect.log'), '200 PASSED - 503 : 200',
    'redirected: logged once, PASSED, both upstream answers');

# burst=1 at 1r/m: two requests of a botId pass, the third does not; had
# the redirect charged the limit again, the second would be rejected

$t->mock_clear();

$r = post('r1');

is($r->{status}, 200, 'limit: the second request of the bot still passes');
is(scalar(my @again = $t->mock_requests()), 1,
    'limit: forwarded once (no 503 any more)');

$r = post('r1');

is($r->{status}, 429, 'limit: the third request of the bot is rejected');
is($t->log_tail('redirect.log'), '429 REJECTED rate_limited -',
    'limit: logged as rejected');

$t->done();

###############################################################################

sub post {
    my ($bot) = @_;
    return $t->post("/openapi/clientTag?botId=$bot&extra=1", '{"name":"x"}');
}

sub header {
    my ($req, $name) = @_;
    my @v = map { $_->[1] } grep { lc $_->[0] eq lc $name }
        @{ $req->{headers} };
    return join ',', @v;
}
