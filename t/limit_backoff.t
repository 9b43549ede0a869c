#!/usr/bin/perl

# Tests for manta_upstream_backoff of ngx_http_manta_module (README "Rate
# limiting"): an upstream 429 reaches the caller, then blocks that botId
# locally (429 with Retry-After, $manta_limit_status BACKOFF, nothing
# forwarded) until upstream's Retry-After (seconds or an HTTP-date; 1 s when
# absent or invalid; 60 s at most); other bots are not affected; the bot
# flows again afterwards; manta_upstream_backoff off blocks nothing.

###############################################################################

use warnings;
use strict;

use POSIX qw(strftime);
use Test::More;
use Time::HiRes qw(sleep time);

use FindBin;
use lib "$FindBin::Bin/lib";
use Manta::Test;

###############################################################################

my $t = Manta::Test->new()->write_gateway(<<'EOF',
%%MANTA_TAG(/openapi/clientTag;
            manta_limit zone=backoff burst=100 nodelay)%%

%%MANTA_TAG(/nobackoff/clientTag;
            manta_limit zone=backoff burst=100 nodelay;
            manta_upstream_backoff off)%%

%%MANTA_TAG(/dryback/clientTag;
            manta_limit zone=backoff burst=100 nodelay;
            manta_limit_dry_run on)%%
EOF
    main => 'worker_processes  2;', listen => 'reuseport', client_tag => 0,
    log => [limit => '$manta_limit_status $upstream_status'],
    http => 'manta_limit_zone  zone=backoff:1m rate=100r/s;');

$t->write_creds({token => 'TOKEN-D', secret => 'SECRET-D'});

# the mock answers 429 for a botId while the file busy-<botId> exists, with
# the file's content as Retry-After (none when empty)

my $dir = $t->dir();

$t->mock_responder(sub {
    my ($req) = @_;

    my ($bot) = $req->{uri} =~ /botId=([\w-]+)/;

    if (defined $bot && -e "$dir/busy-$bot") {
        my $after = $t->read_file("busy-$bot");

        return (429, ['Content-Type' => 'application/json',
            length $after ? ('Retry-After' => $after) : ()],
            upstream_429($bot));
    }

    return (200, ['Content-Type' => 'application/json'],
        $Manta::Mock::DEFAULT_BODY);
});

$t->run();

###############################################################################

my $limited = 'too many requests for this botId';
my $default = $Manta::Mock::DEFAULT_BODY;
my $r;

busy('slow', '2');
busy('slow2', '');

# upstream's 429 reaches the caller, then the bot is blocked for 2 s

$r = post('slow');
my $t0 = time();

is($r->{status}, 429, 'upstream 429: to the caller');
is($r->{body}, upstream_429('slow'),
    'upstream 429: its ErrorResponse unchanged');
is(join(',', header_values($r, 'Retry-After')), '2',
    'upstream 429: its Retry-After: 2, once');
is(forwarded(), 1, 'upstream 429: the request was forwarded');
is($t->log_tail('limit.log'), '429 PASSED 429',
    'upstream 429: the limit passed it, upstream answered 429');
my $line = 'upstream answered 429: botId "slow" backs off for 2 s in zone '
    . '"backoff"';
like($t->read_file('error.log'), qr/\[error\] .* \Q$line\E/,
    'upstream 429: the backoff logged with its duration');

$r = post('slow');

is_error_response($r, 429, 'slow', $limited,
    'backoff: the next request answered 429 locally');
is(forwarded(), 0, 'backoff: not forwarded');
is($t->log_tail('limit.log'), '429 BACKOFF -',
    'backoff: $manta_limit_status BACKOFF, no upstream');
like($r->{headers}{'retry-after'} // '', qr/^[12]$/,
    'backoff: Retry-After what is left of the 2 s');
$line = 'limiting requests after upstream 429 by zone "backoff", '
    . 'botId "slow",';
like($t->read_file('error.log'), qr/\[error\] .* \Q$line\E/,
    'backoff: "limiting requests after upstream 429" logged');

$r = post('other');
is($r->{status}, 200, 'backoff: another bot is not affected');
is(forwarded(), 1, 'backoff: another bot is forwarded');

# no Retry-After from upstream: 1 s

$r = post('slow2');
my $t2 = time();
is($r->{status}, 429, 'no upstream Retry-After: upstream 429 to the caller');

$r = post('slow2');
is_error_response($r, 429, 'slow2', $limited,
    'no upstream Retry-After: then blocked locally');
is($r->{headers}{'retry-after'}, '1', 'no upstream Retry-After: 1 s');
is(forwarded(), 0, 'no upstream Retry-After: not forwarded');

# other forms of Retry-After, not waited for

busy('date', strftime('%a, %d %b %Y %H:%M:%S GMT', gmtime(time() + 3)));
busy('cap', '3600');
busy('junk', 'soon');

post($_) for qw/date cap junk/;

$r = post('date');
like(($r->{status} // 0) . ' ' . ($r->{headers}{'retry-after'} // '-'),
    qr/^429 [23]$/, 'upstream Retry-After an HTTP-date 3 s ahead: 2-3 s');
is(forwarded(), 0, 'HTTP-date: not forwarded');

$r = post('cap');
like(($r->{status} // 0) . ' ' . ($r->{headers}{'retry-after'} // '-'),
    qr/^429 (?:59|60)$/, 'upstream Retry-After 3600: capped at 60 s');

$r = post('junk');
is(($r->{status} // 0) . ' ' . ($r->{headers}{'retry-after'} // '-'),
    '429 1', 'upstream Retry-After invalid: 1 s');

# after 1 s slow2 flows again, slow is still blocked

unbusy('slow2');
sleep($t2 + 1.1 - time());

$r = post('slow2');
is($r->{status}, 200, 'after 1.1 s: slow2 forwarded again');
is(forwarded(), 1, 'after 1.1 s: slow2 reached the mock');
is($t->log_tail('limit.log'), '200 PASSED 200',
    'after 1.1 s: slow2 PASSED');

$r = post('slow');
is($r->{status}, 429, 'after 1.1 s: slow still blocked');
is($t->log_tail('limit.log'), '429 BACKOFF -',
    'after 1.1 s: slow still BACKOFF');
is(forwarded(), 0, 'after 1.1 s: slow not forwarded');

# after 2 s slow flows again

unbusy('slow');
sleep($t0 + 2.1 - time());

$r = post('slow');
is($r->{status}, 200, 'after 2.1 s: slow forwarded again');
is($r->{body}, $default, 'after 2.1 s: the mock\'s answer');
is(forwarded(), 1, 'after 2.1 s: slow reached the mock');

# manta_upstream_backoff off: nothing blocked

busy('slow3', '2');

$r = post('slow3', '/nobackoff/clientTag');
is($r->{status}, 429, 'backoff off: upstream 429 to the caller');

$r = post('slow3', '/nobackoff/clientTag');
is($r->{body}, upstream_429('slow3'),
    'backoff off: the next request gets upstream\'s answer');
is(forwarded(), 1, 'backoff off: the next request forwarded');
is($t->log_tail('limit.log'), '429 PASSED 429',
    'backoff off: PASSED, not BACKOFF');

# manta_limit_dry_run: the backoff is logged, the request forwarded

busy('slow4', '2');

$r = post('slow4', '/dryback/clientTag');
is($r->{status}, 429, 'dry run: upstream 429 to the caller');

$r = post('slow4', '/dryback/clientTag');
is(forwarded(), 1, 'dry run: the next request forwarded all the same');
$line = 'limiting requests, dry run, after upstream 429 by zone "backoff", '
    . 'botId "slow4",';
like($t->read_file('error.log'), qr/\[error\] .* \Q$line\E/,
    'dry run: "limiting requests, dry run, after upstream 429" logged');

$t->done();

###############################################################################

sub upstream_429 {
    my ($bot) = @_;
    return '{"success":false,"errResponse":{"message":"upstream quota '
        . 'exceeded","code":429,"botId":"' . $bot . '"}}';
}

sub busy {
    my ($bot, $after) = @_;
    $t->write_file("busy-$bot", $after);
}

sub unbusy {
    my ($bot) = @_;
    unlink "$dir/busy-$bot";
}

# POST a valid body for $bot after clearing the mock's record

sub post {
    my ($bot, $path) = @_;
    return $t->post(($path // '/openapi/clientTag') . "?botId=$bot",
        '{"name":"x"}');
}

sub forwarded {
    return scalar(my @seen = $t->mock_requests());
}

###############################################################################
