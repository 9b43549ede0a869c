#!/usr/bin/perl

# Tests for the credentials of ngx_http_manta_module: the per-bot entries
# and the defaults, unknown bots, rotation by reload (and a failed reload
# keeping the old credentials), the nginx -t failures that name the file
# but never a secret (a FIFO, a device or a directory at once, without
# hanging; a token or secret with a control character), the warning for a
# world-readable file, the expiry warnings of nginx -t and the run-time
# token_expired warning, and no token or secret in any log line.

###############################################################################

use warnings;
use strict;

use POSIX qw(mkfifo);
use Test::More;
use Time::HiRes qw(time);

use FindBin;
use lib "$FindBin::Bin/lib";
use Manta::Test;

###############################################################################

my $t = Manta::Test->new();

my $conf = <<'EOF';

%%MANTA_MAIN%%

http {
    %%HTTP_GLOBALS%%

    log_format  manta  '$http_x_seq $status $manta_reject_reason '
                       '$manta_bot_id $manta_token_id';
    log_format  all    '$request "$http_authorization" "$request_body" '
                       '$status $manta_reject_reason $manta_bot_id '
                       '$manta_token_id $manta_limit_status '
                       '$manta_error_rewritten $upstream_status '
                       '$sent_http_content_type';

    CREDENTIALS

    %%MANTA_MOCK%%

    server {
        %%MANTA_LISTEN%%

        access_log  %%TESTDIR%%/manta.log  manta;
        access_log  %%TESTDIR%%/all.log    all;

        %%MANTA_CLIENT_TAG%%

        %%MANTA_TAG(/strict/clientTag;
                    manta_credentials %%TESTDIR%%/strict.json)%%
    }
}

EOF

(my $main = $conf) =~
    s{CREDENTIALS}{manta_credentials  %%TESTDIR%%/creds.json;};

$t->write_config($main);

my @secrets = qw/TOKEN-DEFAULT-xyz SECRET-DEFAULT-xyz TOKEN-A SECRET-A
    SECRET-S TOKEN-T TOKEN-STRICT SECRET-STRICT TOKEN-ROTATED SECRET-ROTATED
    BROKEN-TOKEN-9 BROKEN-SECRET-9/;

$t->write_creds({%Manta::Test::CREDS, bots => {
    %{ $Manta::Test::CREDS{bots} },
    'bot-s' => {secret => 'SECRET-S'},
    'bot-t' => {token => 'TOKEN-T'}}});
$t->write_file('strict.json',
    '{"bots":{"bot-a":{"token":"TOKEN-STRICT","secret":"SECRET-STRICT"}}}',
    0600);

my ($status, $out) = $t->test_config();
is($status, 0, 'nginx -t: valid credentials');
unlike($out, qr/\[warn\]/, 'nginx -t: no warning for a 0600 file');

$t->run();

###############################################################################

my ($r, $req);

# which entry a botId gets

$r = $t->post('/openapi/clientTag?botId=bot-a', '{"name":"x"}');
is(sent(), 'Bearer TOKEN-A {"secret":"SECRET-A","name":"x"}',
    'bot-a: its own token and secret');
is($t->log_tail('manta.log'), '200 - bot-a ' . token_id('TOKEN-A'),
    'bot-a: its token fingerprint logged');

$r = $t->post('/openapi/clientTag?botId=other', '{"name":"x"}');
is(sent(),
    'Bearer TOKEN-DEFAULT-xyz {"secret":"SECRET-DEFAULT-xyz","name":"x"}',
    'bot not listed: the defaults');

$r = $t->post('/openapi/clientTag?botId=bot-s', '{"name":"x"}');
is(sent(), 'Bearer TOKEN-DEFAULT-xyz {"secret":"SECRET-S","name":"x"}',
    'bot with only a secret: default token, own secret');
is($t->log_tail('manta.log'), '200 - bot-s ' . token_id('TOKEN-DEFAULT-xyz'),
    'bot with only a secret: default token fingerprint logged');

$r = $t->post('/openapi/clientTag?botId=bot-t', '{"name":"x"}');
is(sent(), 'Bearer TOKEN-T {"secret":"SECRET-DEFAULT-xyz","name":"x"}',
    'bot with only a token: own token, default secret');

$r = $t->post('/openapi/clientTag?botId=BOT-A', '{"name":"x"}');
is(sent(),
    'Bearer TOKEN-DEFAULT-xyz {"secret":"SECRET-DEFAULT-xyz","name":"x"}',
    'botIds are case-sensitive: BOT-A is not bot-a');

$r = $t->post('/strict/clientTag?botId=other', '{"name":"x"}');
$t->is_rejected($r, 'unknown_bot', 'other', 'bots without a default: other');

$r = $t->post('/strict/clientTag?botId=bot-a', '{"name":"x"}');
is(sent(), 'Bearer TOKEN-STRICT {"secret":"SECRET-STRICT","name":"x"}',
    'bots without a default: listed bot served');

# read at configuration load only

$t->write_creds({token => 'TOKEN-ROTATED', secret => 'SECRET-ROTATED',
    bots => {'bot-a' => {token => 'TOKEN-A2', secret => 'SECRET-A2'}}});
push @secrets, qw/TOKEN-A2 SECRET-A2/;

$r = $t->post('/openapi/clientTag?botId=bot-a', '{"name":"x"}');
is(sent(), 'Bearer TOKEN-A {"secret":"SECRET-A","name":"x"}',
    'file changed without reload: old credentials still used');

# rotation by reload

ok($t->reload(), 'reload with new credentials');

$r = $t->post('/openapi/clientTag?botId=bot-a', '{"name":"x"}');
is(sent(), 'Bearer TOKEN-A2 {"secret":"SECRET-A2","name":"x"}',
    'after reload: rotated bot token and secret');
is($t->log_tail('manta.log'), '200 - bot-a ' . token_id('TOKEN-A2'),
    'after reload: rotated token fingerprint logged');

$r = $t->post('/openapi/clientTag?botId=other', '{"name":"x"}');
is(sent(), 'Bearer TOKEN-ROTATED {"secret":"SECRET-ROTATED","name":"x"}',
    'after reload: rotated defaults');

$r = $t->post('/openapi/clientTag?botId=bot-s', '{"name":"x"}');
is(sent(), 'Bearer TOKEN-ROTATED {"secret":"SECRET-ROTATED","name":"x"}',
    'after reload: bot removed from the file gets the defaults');

# a reload with a broken file is refused; the old credentials keep serving

$t->write_creds('{"token":"BROKEN-TOKEN-9","secret" "BROKEN-SECRET-9"}');
$t->allow_log(qr/\[emerg\].*\Q$t->{dir}\/creds.json\E/);

ok(!$t->reload(quiet => 1, timeout => 3), 'reload with a malformed file fails');
like($t->read_file('error.log'), qr/\[emerg\].*\Q$t->{dir}\/creds.json\E/,
    'failed reload: error.log names the file');

$r = $t->post('/openapi/clientTag?botId=bot-a', '{"name":"x"}');
is(sent(), 'Bearer TOKEN-A2 {"secret":"SECRET-A2","name":"x"}',
    'failed reload: previous credentials still served');

# a few rejections for the logs

$t->post('/openapi/clientTag?botId=bot-a', '{"name":"x"}',
    content_type => 'text/plain', headers => ['Authorization' => 'Bearer C']);
$t->post('/openapi/clientTag?botId=bot-a', '{"name":"x","secret":"mine"}');
$t->post('/openapi/clientTag?botId=bot-a', '{"name":"x","color":"red"}');
$t->post('/openapi/clientTag?botId=bot-a', '{"name":"\u202e"}');
$t->post('/openapi/clientTag?botId=bot-a', 'x' x 9000);
$t->post('/strict/clientTag?botId=nobody', '{"name":"x"}');
$t->http('GET', '/openapi/clientTag?botId=bot-a');

like($t->read_file('all.log'), qr/"\{\\x22name\\x22:\\x22x\\x22\}"/,
    '$request_body is logged (so the check below can fail)');

$t->stop();

for my $log (qw/error.log access.log manta.log all.log/) {
    my $text = $t->read_file($log) // '';
    my @found = grep { index($text, $_) >= 0 } @secrets;
    is("@found", '', "no token or secret in $log");
}

# nginx -t failures: the file and the problem named, never a secret

my %bad = (
    'missing file' => [undef, 'nothing.json'],
    'directory'    => [undef, 'client_body_temp'],
    'empty file'   => ['', 'empty.json'],
    'malformed'    => ['{"token":"MALFORMED-TOKEN-1","secret" '
        . '"MALFORMED-SECRET-1"}', 'malformed.json'],
    'token CR LF'  => ['{"token":"CRLF-TOKEN-2\r\nX-Evil: 1",'
        . '"secret":"CRLF-SECRET-2"}', 'crlf.json'],
    'secret NUL'   => ['{"token":"NUL-TOKEN-3",'
        . '"secret":"NUL-SECRET-3\u0000x"}', 'nul.json'],
    'bot token LF' => ['{"bots":{"bot-a":{"token":"BOT-TOKEN-4\nx",'
        . '"secret":"BOT-SECRET-4"}}}', 'botlf.json'],
    'token TAB'    => ['{"token":"TAB-TOKEN-6\tx","secret":"TAB-SECRET-6"}',
        'tab.json'],
    'token U+0001' => ['{"token":"CTL-TOKEN-7\u0001","secret":"CTL-SECRET-7"}',
        'ctl.json'],
    'token DEL'    => ["{\"token\":\"DEL-TOKEN-8\x7f\",\"secret\":\"DEL-SECRET-8\"}",
        'del.json'],
    'secret C1'    => ['{"token":"C1-TOKEN-9","secret":"C1-SECRET-9\u0085"}',
        'c1.json'],
    'bot secret U+001B' => ['{"bots":{"bot-a":{"token":"ESC-TOKEN-1",'
        . '"secret":"ESC-SECRET-1\u001b[2J"}}}', 'esc.json'],
);

my %control = (
    'token TAB' => 'token', 'token U+0001' => 'token', 'token DEL' => 'token',
    'secret C1' => 'secret', 'bot secret U+001B' => 'secret of bot "bot-a"',
);

for my $case (sort keys %bad) {
    my ($content, $file) = @{ $bad{$case} };

    $t->write_file($file, $content, 0600) if defined $content;

    (my $c = $conf) =~ s{CREDENTIALS}{manta_credentials  %%TESTDIR%%/$file;};
    ($status, $out) = $t->test_config_text('bad.conf', $c);

    isnt($status, 0, "nginx -t: $case fails");
    like($out, qr/\[emerg\].*\Q$t->{dir}\/$file\E/,
        "nginx -t: $case: the message names the file");

    my @found = grep { index($out, $_) >= 0 }
        ($content // '') =~ /(\w+-(?:TOKEN|SECRET)-\d)/g;
    is("@found", '', "nginx -t: $case: no token or secret in the output");

    next unless $control{$case};

    like($out, qr/\Q$control{$case}\E must not contain control characters/,
        "nginx -t: $case: the message names the member and the rule");
}

# a FIFO, a device, a directory: refused at once (a FIFO used to hang
# nginx -t in open() until a writer came)

ok(mkfifo("$t->{dir}/fifo.json", 0600), 'mkfifo');

for my $case (['FIFO', "$t->{dir}/fifo.json", 'a FIFO'],
    ['device', '/dev/zero', 'a device'],
    ['directory', "$t->{dir}/client_body_temp", 'a directory'])
{
    my ($what, $path, $is) = @$case;

    (my $c = $conf) =~ s{CREDENTIALS}{manta_credentials  $path;};

    my $start = time();
    ($status, $out) = $t->test_config_text('special.conf', $c);

    isnt($status, 0, "nginx -t: a $what fails");
    ok(time() - $start < 5 * $Manta::Test::SCALE,
        "nginx -t: a $what fails at once");
    like($out, qr/\[emerg\] .*credentials file "\Q$path\E" is \Q$is\E, not a regular file: give the path of the JSON credentials file/,
        "nginx -t: a $what: the message names the file, what it is and what "
        . 'to do');
}

(my $none = $conf) =~ s{CREDENTIALS}{};
($status, $out) = $t->test_config_text('none.conf', $none);
isnt($status, 0, 'nginx -t: manta_endpoint without manta_credentials fails');
like($out, qr/\[emerg\].*manta_credentials/,
    'nginx -t: the message names manta_credentials');

$t->write_file('open.json', '{"token":"OPEN-TOKEN-5","secret":"OPEN-SECRET-5"}',
    0644);
(my $open = $conf) =~ s{CREDENTIALS}{manta_credentials  %%TESTDIR%%/open.json;};
($status, $out) = $t->test_config_text('open.conf', $open);
is($status, 0, 'nginx -t: a world-readable file is accepted');
like($out, qr/\[warn\].*\Q$t->{dir}\/open.json\E.*chmod 600 \Q$t->{dir}\/open.json\E/,
    'nginx -t: a world-readable file gets a warning naming it and the fix');
unlike($out, qr/OPEN-(?:TOKEN|SECRET)-5/, 'nginx -t: warning without secrets');

# expiry: nginx -t warns for each token expired, not valid yet or
# expiring within manta_token_expiry_warn (default 7d), naming the file and
# the token id; at run time a token_expired rejection is logged at warn
# once a minute per token id

my $now = time();
my %tok = (
    default => jwt(exp => int($now) - 3600, sub => 'EXPIRED-DEFAULT'),
    soon    => jwt(exp => int($now) + 2 * 86400, sub => 'SOON'),
    later   => jwt(exp => int($now) + 30 * 86400, sub => 'LATER'),
    nbf     => jwt(nbf => int($now) + 3600, exp => int($now) + 90 * 86400,
        sub => 'NBF'),
);

my $x = Manta::Test->new();

$x->write_file('exp.json', '{"token":"' . $tok{default} . '",'
    . '"secret":"EXP-SECRET","bots":{'
    . '"bot-soon":{"token":"' . $tok{soon} . '"},'
    . '"bot-later":{"token":"' . $tok{later} . '"},'
    . '"bot-nbf":{"token":"' . $tok{nbf} . '"},'
    . '"bot-same":{"secret":"SAME-SECRET"}}}', 0600);

(my $exp = $conf) =~ s{CREDENTIALS}{manta_credentials  %%TESTDIR%%/exp.json;
    EXPIRY_WARN};
$x->write_file('strict.json', '{"token":"STRICT-X","secret":"STRICT-Y"}',
    0600);

(my $c = $exp) =~ s{EXPIRY_WARN}{};
$x->write_config($c);
($status, $out) = $x->test_config();

my $file = "$x->{dir}/exp.json";
my %id = map { $_ => token_id($tok{$_}) } keys %tok;

is($status, 0, 'expiry: nginx -t passes with an expired token');
like($out, qr/\[warn\] .*credentials file "\Q$file\E": token $id{default} \(the default\) expired at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC: every request with it is rejected as token_expired; put a new token in the file and reload/,
    'expiry: nginx -t warns for the expired default token, by file and id');
like($out, qr/\[warn\] .*"\Q$file\E": token $id{soon} of bot "bot-soon" expires at .* within manta_token_expiry_warn \(604800 s\)/,
    'expiry: nginx -t warns for a bot token expiring within 7 days');
like($out, qr/\[warn\] .*"\Q$file\E": token $id{nbf} of bot "bot-nbf" is not valid before/,
    'expiry: nginx -t warns for a token not valid yet');
unlike($out, qr/$id{later}/, 'expiry: no warning for a token valid 30 days');
is(() = $out =~ /$id{default}/g, 1,
    'expiry: one warning for the default token, not one per bot sharing it');
unlike($out, qr/EXP-SECRET|SAME-SECRET|\Q$tok{default}\E|\Q$tok{soon}\E/,
    'expiry: no token or secret in the warnings');

($c = $exp) =~ s{EXPIRY_WARN}{manta_token_expiry_warn  1d;};
$x->write_config($c);
($status, $out) = $x->test_config();
unlike($out, qr/$id{soon}/,
    'manta_token_expiry_warn 1d: a token expiring in 2 days not warned');
like($out, qr/$id{default}/,
    'manta_token_expiry_warn 1d: the expired token still warned');

($c = $exp) =~ s{EXPIRY_WARN}{manta_token_expiry_warn  60d;};
$x->write_config($c);
($status, $out) = $x->test_config();
like($out, qr/token $id{later} of bot "bot-later" expires at .*\(5184000 s\)/,
    'manta_token_expiry_warn 60d: a token expiring in 30 days warned');

($c = $exp) =~ s{EXPIRY_WARN}{manta_token_expiry_warn  soon;};
$x->write_config($c);
($status, $out) = $x->test_config();
isnt($status, 0, 'manta_token_expiry_warn takes a time');

($c = $exp) =~ s{EXPIRY_WARN}{};
$x->write_config($c);
$x->run();

for my $i (1 .. 3) {
    $r = $x->post('/openapi/clientTag?botId=other', '{"name":"x"}');
    $x->is_rejected($r, 'token_expired', 'other',
        "expired default token: request $i rejected");
}

$r = $x->post('/openapi/clientTag?botId=bot-same', '{"name":"x"}');
$x->is_rejected($r, 'token_expired', 'bot-same',
    'a bot sharing the expired default token: rejected');

for my $i (1 .. 2) {
    $r = $x->post('/openapi/clientTag?botId=bot-nbf', '{"name":"x"}');
    $x->is_rejected($r, 'token_expired', 'bot-nbf',
        "token not valid yet: request $i rejected");
}

$x->stop();

my $log = $x->read_file('error.log');
my @warn = $log =~ /^.*\[warn\] .*manta token .*$/mg;

is(scalar(grep { /manta token $id{default} has expired: requests with it are rejected as token_expired/ } @warn), 1,
    'run time: the expired token logged at warn once for 4 rejections');
is(scalar(grep { /manta token $id{nbf} is not valid yet/ } @warn), 1,
    'run time: the token not valid yet logged at warn once');
is(scalar(@warn), 2, 'run time: no other token warning');
unlike($log, qr/EXP-SECRET|SAME-SECRET|\Q$tok{default}\E|\Q$tok{nbf}\E/,
    'run time: no token or secret in error.log');

$t->done();

###############################################################################

# "Bearer <token> <body>" of the one forwarded request

sub sent {
    my @seen = $t->mock_requests();
    return scalar(@seen) . ' requests forwarded' unless @seen == 1;
    return join('|', header_values($seen[0], 'Authorization')) . ' '
        . $seen[0]{body};
}

###############################################################################
