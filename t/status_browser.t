#!/usr/bin/perl

# The status page of ngx_http_manta_module (README "Status and metrics") in
# a real browser: headless chromium loads it from a running gateway, and
# the DOM it dumps shows the per-bot rows, the token and the zones filled
# from live data.  Run by "make test-browser" (MANTA_BROWSER=1); with
# MANTA_SCREENSHOT=FILE ("make screenshot") it also writes a PNG of the
# page while traffic flows.

###############################################################################

use warnings;
use strict;

use Test::More;
use JSON::PP;
use File::Copy qw(copy);
use Time::HiRes qw(time sleep);

use FindBin;
use lib "$FindBin::Bin/lib";
use Manta::Test;

###############################################################################

my $CHROMIUM = $ENV{CHROMIUM} // '/usr/bin/chromium';

plan(skip_all => 'the browser check runs with "make test-browser"')
    unless $ENV{MANTA_BROWSER};
plan(skip_all => "no browser at $CHROMIUM") unless -x $CHROMIUM;

my $t = Manta::Test->new()->write_config(<<'EOF');

%%MANTA_MAIN%%

worker_processes  2;

http {
    %%HTTP_GLOBALS%%

    manta_credentials  %%TESTDIR%%/creds.json;

    manta_status_zone  zone=manta_status:1m;
    manta_limit_zone   zone=bots:1m rate=20r/s;

    %%MANTA_MOCK%%

    server {
        %%MANTA_LISTEN%%

        %%MANTA_TAG(/api/openapi/clientTag;
                    manta_limit zone=bots burst=10 nodelay;
                    proxy_pass http://mock)%%

        location = /manta/status {
            manta_status;
            allow  127.0.0.1;
            deny   all;
        }
    }
}

EOF

my $exp = int(time()) + 5 * 86400;
my $jwt = jwt(sub => 'gw', exp => $exp);

$t->write_file('creds.json', encode_json({
    token => 'TOKEN-OPAQUE', secret => 'SECRET-O',
    bots => {
        'weather-bot' => { token => $jwt, secret => 'SECRET-J' },
    },
}), 0600);

$t->mock_responder(sub {
    my ($req) = @_;
    select(undef, undef, undef, 0.002 + rand(0.03));
    return (502, ['Content-Type' => 'text/plain'], 'down')
        if $req->{uri} =~ /botId=flaky/ && rand() < 0.3;
    return (200, ['Content-Type' => 'application/json'],
        '{"success":true}');
});

$t->run();

###############################################################################

my $ct = ['Content-Type' => 'application/json'];

sub traffic {
    my ($rounds) = @_;

    for (1 .. $rounds) {
        $t->post('/api/openapi/clientTag?botId=weather-bot', '{"name":"x"}');
        $t->post('/api/openapi/clientTag?botId=news-bot', '{"name":"x"}')
            for 1 .. 3;
        $t->post('/api/openapi/clientTag?botId=flaky', '{"name":"x"}');
        $t->post('/api/openapi/clientTag?botId=news-bot', '{"name":');
        $t->post('/api/openapi/clientTag?botId=bad%20id', '{"name":"x"}');
        sleep(0.02);
    }
}

traffic(3);

my $url = 'http://127.0.0.1:' . $t->port('8080') . '/manta/status';
my $profile = $t->dir() . '/chromium';
my @flags = ('--headless', '--no-sandbox', '--disable-gpu',
    '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', '--disable-dev-shm-usage',
    "--user-data-dir=$profile");

my $cmd = "$CHROMIUM @flags --virtual-time-budget=5000 --dump-dom '$url'";
my $dom = `$cmd 2>/dev/null`;

like($dom, qr{<tbody><tr><td>}, 'page: the bots table has rows');
like($dom, qr{<td>weather-bot</td><td>3</td>},
    'page: weather-bot, its 3 requests from live data');
like($dom, qr{<td>news-bot</td><td>12</td>},
    'page: news-bot, 12 requests');
like($dom, qr{<td>__none__</td><td>3</td>},
    'page: 3 requests without a valid botId');
like($dom, qr{<td>\Q${\ token_id($jwt)}\E</td>.*?<td class="warn">5\.0 d</td>}s,
    'page: the token expiring in 5 days, highlighted');
like($dom, qr{<td>manta_status</td><td>status</td>},
    'page: the status zone');
like($dom, qr{<td>bots</td><td>limit</td>}, 'page: the limit zone');
like($dom, qr{id="state"[^>]*>updated }, 'page: updated from the JSON');
unlike($dom, qr{TOKEN-OPAQUE|SECRET|\Q$jwt\E}, 'page: no token or secret');

# "make screenshot": the page while traffic flows

if (my $png = $ENV{MANTA_SCREENSHOT}) {
    my $pid = fork() // die "fork: $!";

    if ($pid == 0) {
        my $end = time() + 12;
        traffic(1) while time() < $end;
        exit 0;
    }

    sleep 1;

    system($CHROMIUM, @flags, '--hide-scrollbars', '--window-size=1200,700',
        '--virtual-time-budget=9000', '--screenshot=' . $t->dir()
        . '/status.png', "$url?format=html");

    kill 'TERM', $pid;
    waitpid($pid, 0);

    ok(-s $t->dir() . '/status.png', "screenshot: $png");
    copy($t->dir() . '/status.png', $png) or diag("copy to $png: $!");
}

$t->stop();

done_testing();

###############################################################################
