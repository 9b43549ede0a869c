#!/usr/bin/perl

# Tests for the exact bytes of the RateLimit fields of ngx_http_manta_module
# (README "RateLimit headers") where a location sends a value it made at
# configuration (a bot charged from a drained bucket at the zone's rate and
# the location's burst) and where it formats one: the same r and t give the
# same bytes either way, on passed requests and on 429s, in locations of
# other bursts sharing the zone, for bots with their own rate or burst,
# with numbers of many digits.

###############################################################################

use warnings;
use strict;

use Test::More;

use FindBin;
use lib "$FindBin::Bin/lib";
use Manta::Test;

###############################################################################

my $t = Manta::Test->new()->write_gateway(<<'EOF',
%%MANTA_TAG(/five/clientTag; manta_limit zone=fields burst=5 nodelay)%%

%%MANTA_TAG(/two/clientTag; manta_limit zone=fields burst=2 nodelay)%%

%%MANTA_TAG(/zero/clientTag; manta_limit zone=fields)%%

%%MANTA_TAG(/dry/clientTag; manta_limit zone=fields;
            manta_limit_dry_run on)%%
EOF
    client_tag => 0, http => <<'EOF');
manta_limit_zone  zone=fields:1m  rate=1r/s;
EOF

$t->write_creds({token => 'TOKEN-D', secret => 'SECRET-D',
    bots => {own => {burst => 2}, quick => {rate => '3r/s'},
        slow => {rate => '30r/m'}, quick2 => {rate => '3r/s', burst => 1},
        same => {rate => '1r/s'},
        big => {rate => '1000000r/s', burst => 123456}}});

$t->run();

###############################################################################

my ($r, @r);

# 1r/s (q=1;w=1) burst=5 nodelay, a request after the other (all within a
# second, so that no whole request drains): the first one's value is the
# location's ready one, the others are formatted

@r = map { post("/five/clientTag?botId=a") } 1 .. 7;

is(join(' ', map { $_->{status} } @r), '200 200 200 200 200 200 429',
    'burst=5: 6 passed, then 429');
is(join(' ', map { $_->{headers}{'ratelimit-policy'} // '-' } @r),
    join(' ', ('"fields";q=1;w=1') x 7), 'burst=5: RateLimit-Policy');
is(join(' ', map { $_->{headers}{ratelimit} // '-' } @r),
    join(' ', map { "\"fields\";r=$_" } qw/1;t=1 1;t=2 1;t=3 1;t=4 1;t=5
    0;t=6 0;t=6/), 'burst=5: RateLimit r and t, byte for byte');
is(join(' ', map { $_->{headers}{'retry-after'} // '-' } @r),
    '- - - - - - 1', 'burst=5: Retry-After on the 429 only');

# another location of the zone, burst=2: its ready value is the same text
# as burst=5's, its sequence another

@r = map { post("/two/clientTag?botId=b") } 1 .. 4;

is(join(' ', map { ($_->{status} // 0) . ' '
    . ($_->{headers}{ratelimit} // '-') } @r),
    '200 "fields";r=1;t=1 200 "fields";r=1;t=2 200 "fields";r=0;t=3 '
    . '429 "fields";r=0;t=3', 'burst=2 in the same zone: r and t');

# no burst: the first request and the 429 after it have the same r and t,
# the location's ready value, on a rejection too

@r = map { post("/zero/clientTag?botId=c") } 1 .. 2;

is(join(' ', map { ($_->{status} // 0) . ' '
    . ($_->{headers}{ratelimit} // '-') . ' '
    . ($_->{headers}{'retry-after'} // '-') } @r),
    '200 "fields";r=0;t=1 - 429 "fields";r=0;t=1 1',
    'no burst: the ready value on the 200 and on the 429');

# dry run: the excess is forwarded with the fields of the bucket

@r = map { post("/dry/clientTag?botId=d") } 1 .. 2;

is(join(' ', map { ($_->{status} // 0) . ' '
    . ($_->{headers}{ratelimit} // '-') . ' '
    . ($_->{headers}{'retry-after'} // '-') } @r),
    '200 "fields";r=0;t=1 - 200 "fields";r=0;t=1 -',
    'dry run: the ready value, no Retry-After');

# a bot's own burst in the burst=5 location: its first value is the burst=2
# location's ready text, formatted here

@r = map { post("/five/clientTag?botId=own") } 1 .. 4;

is(join(' ', map { ($_->{status} // 0) . ' '
    . ($_->{headers}{ratelimit} // '-') } @r),
    '200 "fields";r=1;t=1 200 "fields";r=1;t=2 200 "fields";r=0;t=3 '
    . '429 "fields";r=0;t=3', 'own burst=2: r and t');

# a bot's own rate: its own policy, r up to its own quota

$r = post("/five/clientTag?botId=quick");

is(($r->{headers}{'ratelimit-policy'} // '-') . ' '
    . ($r->{headers}{ratelimit} // '-'),
    '"fields";q=3;w=1 "fields";r=3;t=1', 'own rate 3r/s: q=3, r=3');

$r = post("/five/clientTag?botId=slow");

is(($r->{headers}{'ratelimit-policy'} // '-') . ' '
    . ($r->{headers}{ratelimit} // '-'),
    '"fields";q=30;w=60 "fields";r=5;t=2', 'own rate 30r/m: q=30;w=60');

# two bots of one rate share the location's ready policy; a bot's own rate
# that is the zone's has the zone's

@r = map { post("/five/clientTag?botId=$_") } qw/quick2 same/;

is(join(' ', map { ($_->{headers}{'ratelimit-policy'} // '-') . ' '
    . ($_->{headers}{ratelimit} // '-') } @r),
    '"fields";q=3;w=1 "fields";r=1;t=1 "fields";q=1;w=1 "fields";r=1;t=1',
    'own rates: one of two bots of 3r/s, one of the zone\'s 1r/s');

# many digits: 1000000r/s, burst 123456

$r = post("/five/clientTag?botId=big");

is(($r->{headers}{'ratelimit-policy'} // '-') . ' '
    . ($r->{headers}{ratelimit} // '-'),
    '"fields";q=1000000;w=1 "fields";r=123456;t=1',
    'own rate 1000000r/s, burst 123456: every digit');

# one RateLimit and one RateLimit-Policy a response

$r = post("/five/clientTag?botId=e");

is(scalar(my @v = header_values($r, 'RateLimit')) . ' '
    . scalar(my @p = header_values($r, 'RateLimit-Policy')), '1 1',
    'a fresh bot: one RateLimit, one RateLimit-Policy');

$t->done();

###############################################################################

sub post {
    my ($uri) = @_;

    return $t->http('POST', $uri,
        headers => ['Content-Type' => 'application/json'],
        body => '{"name":"x"}');
}

###############################################################################
