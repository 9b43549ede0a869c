#!/usr/bin/perl

# Tests for the name rules of ngx_http_manta_module (SPEC section 3), seen
# in the body forwarded upstream: Unicode NFC, zero-width removal, control
# and bidi rejection, trimming and collapsing of Unicode white space, the
# length limit in code points, manta_name_pattern, manta_name_max_length,
# and the JSON text rules (UTF-8, NUL, duplicates, one object).

###############################################################################

use warnings;
use strict;

use Test::More;
use Encode qw(encode_utf8);

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Manta::Test;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $t = Manta::Test->new();

$t->write_config(<<'EOF');

%%MODULE%%
%%GLOBALS%%

events {
}

http {
    %%HTTP_GLOBALS%%

    log_format  manta  '$http_x_seq $status $manta_reject_reason '
                       '$manta_bot_id $manta_token_id';

    manta_credentials  %%TESTDIR%%/creds.json;

    upstream mock {
        server  127.0.0.1:%%PORT_MOCK%%;
    }

    server {
        listen       127.0.0.1:%%PORT_8080%%;
        server_name  localhost;

        access_log  %%TESTDIR%%/manta.log  manta;

        location = /openapi/clientTag {
            manta_endpoint  client_tag;
            proxy_pass      http://mock/api/openapi/clientTag;
        }

        location = /pattern/clientTag {
            manta_endpoint      client_tag;
            manta_name_pattern  "^[a-z ]+$";
            proxy_pass          http://mock/api/openapi/clientTag;
        }

        location = /short/clientTag {
            manta_endpoint         client_tag;
            manta_name_max_length  5;
            proxy_pass             http://mock/api/openapi/clientTag;
        }
    }
}

EOF

$t->write_file('creds.json', '{"token":"TOKEN-DEFAULT-xyz",'
    . '"secret":"SECRET-DEFAULT-xyz",'
    . '"bots":{"bot-a":{"token":"TOKEN-A","secret":"SECRET-A"}}}', 0600);

$t->run();

###############################################################################

my $ep = '/openapi/clientTag?botId=bot-a';
my $r;

# normalization, seen in the forwarded body

$r = name('"e\u0301"');
is($t->forwarded_body(), body_for("\x{e9}"), 'NFC: e + U+0301 becomes U+00E9');

$r = name("\"Cafe\xcc\x81 Ame\xcc\x81lie\"");
is($t->forwarded_body(), body_for("Caf\x{e9} Am\x{e9}lie"),
    'NFC on raw UTF-8 input');

$r = name('"\u212b"');
is($t->forwarded_body(), body_for("\x{c5}"),
    'NFC: ANGSTROM SIGN becomes its canonical equivalent');

$r = name('"\u3000Tag\u3000"');
is($t->forwarded_body(), body_for('Tag'), 'ideographic space U+3000 trimmed');

$r = name('"  My   Tag "');
is($t->forwarded_body(), body_for('My Tag'),
    'spaces trimmed, inner run collapsed');

$r = name('"a\u00a0\u2003 \u3000b"');
is($t->forwarded_body(), body_for('a b'),
    'inner run of Unicode white space collapsed to one U+0020');

$r = name('"\u2028x\u2029"');
is($t->forwarded_body(), body_for('x'), 'line/paragraph separators trimmed');

$r = name('"a\u200bb\u200cc\u200dd\u2060e\ufefff"');
is($t->forwarded_body(), body_for('abcdef'), 'zero-width characters removed');

$r = name('"a \u200b b"');
is($t->forwarded_body(), body_for('a b'),
    'zero-width removed before white space is collapsed');

$r = name('"\ufeffTag"');
is($t->forwarded_body(), body_for('Tag'), 'leading BOM removed');

$r = name('"\ud83d\ude00"');
is($t->forwarded_body(), body_for("\x{1f600}"),
    'surrogate pair forwarded as one 4-byte UTF-8 character');

$r = name('"\u200b"');
$t->is_rejected($r, 'invalid_name', 'bot-a', 'only zero-width');

$r = name('"\u3000 \u00a0"');
$t->is_rejected($r, 'invalid_name', 'bot-a', 'only Unicode white space');

$r = name('"a\u202eb"');
$t->is_rejected($r, 'invalid_name', 'bot-a', 'bidi override U+202E');

$r = name('"\u2066x\u2069"');
$t->is_rejected($r, 'invalid_name', 'bot-a', 'bidi isolates U+2066/U+2069');

$r = name('"a\u0007b"');
$t->is_rejected($r, 'invalid_name', 'bot-a', 'C0 control BEL');

$r = name('"a\u007fb"');
$t->is_rejected($r, 'invalid_name', 'bot-a', 'DEL');

$r = name('"a\u009fb"');
$t->is_rejected($r, 'invalid_name', 'bot-a', 'C1 control U+009F');

# length in code points of the normalized name (default 64)

$r = name('"' . "\xe6\x9d\xb1" x 64 . '"');
is($t->forwarded_body(), body_for("\x{6771}" x 64),
    '64 CJK characters forwarded');

$r = name('"' . "\xe6\x9d\xb1" x 65 . '"');
$t->is_rejected($r, 'invalid_name', 'bot-a', '65 CJK characters');

$r = name('"' . 'e\u0301' x 64 . '"');
is($t->forwarded_body(), body_for("\x{e9}" x 64),
    '128 code points composing to 64 forwarded');

$r = name('"   ' . 'x' x 64 . '   "');
is($t->forwarded_body(), body_for('x' x 64),
    '64 characters after trimming forwarded');

# manta_name_pattern "^[a-z ]+$", matched against the normalized name

$r = name('"  abc   def "', '/pattern/clientTag');
is($t->forwarded_body(), body_for('abc def'),
    'manta_name_pattern: normalized name matches');

$r = name('"Abc"', '/pattern/clientTag');
$t->is_rejected($r, 'invalid_name', 'bot-a', 'manta_name_pattern: upper case');

$r = name('"abc1"', '/pattern/clientTag');
$t->is_rejected($r, 'invalid_name', 'bot-a', 'manta_name_pattern: digit');

$r = name('"ab\u00e9"', '/pattern/clientTag');
$t->is_rejected($r, 'invalid_name', 'bot-a', 'manta_name_pattern: non-ASCII');

# manta_name_max_length 5

$r = name('"abcde"', '/short/clientTag');
is($t->forwarded_body(), body_for('abcde'),
    'manta_name_max_length 5: 5 characters forwarded');

$r = name('"abcdef"', '/short/clientTag');
$t->is_rejected($r, 'invalid_name', 'bot-a',
    'manta_name_max_length 5: 6 characters');

$r = name('"  ab   cd  "', '/short/clientTag');
is($t->forwarded_body(), body_for('ab cd'),
    'manta_name_max_length 5: counted after normalization');

$r = name('"' . 'e\u0301' x 5 . '"', '/short/clientTag');
is($t->forwarded_body(), body_for("\x{e9}" x 5),
    'manta_name_max_length 5: counted after NFC');

$r = name('"' . "\xc3\xa9" x 6 . '"', '/short/clientTag');
$t->is_rejected($r, 'invalid_name', 'bot-a',
    'manta_name_max_length 5: 6 two-byte characters');

# the JSON text

$r = $t->post($ep, '{"name":"a","name":"b"}');
$t->is_rejected($r, 'invalid_json', 'bot-a', 'duplicate keys');

$r = $t->post($ep, "{\"name\":\"\xc3\x28\"}");
$t->is_rejected($r, 'invalid_json', 'bot-a', 'invalid UTF-8 sequence');

$r = $t->post($ep, "{\"name\":\"\xed\xa0\x80\"}");
$t->is_rejected($r, 'invalid_json', 'bot-a', 'UTF-8 encoded surrogate');

$r = $t->post($ep, "{\"name\":\"\xc0\xaf\"}");
$t->is_rejected($r, 'invalid_json', 'bot-a', 'overlong UTF-8');

$r = $t->post($ep, '{"name":"\ud800"}');
$t->is_rejected($r, 'invalid_json', 'bot-a', 'lone surrogate escape');

$r = $t->post($ep, '{"name":"\u0000"}');
$t->is_rejected($r, 'invalid_json', 'bot-a', 'escaped NUL');

$r = $t->post($ep, "{\"name\":\"x\"}\x00");
$t->is_rejected($r, 'invalid_json', 'bot-a', 'raw NUL after the object');

$r = $t->post($ep, '[{"name":"x"}]');
$t->is_rejected($r, 'invalid_json', 'bot-a', 'top-level array');

$r = $t->post($ep, '{"name":"x"},');
$t->is_rejected($r, 'invalid_json', 'bot-a', 'trailing comma');

$r = $t->post($ep, '');
$t->is_rejected($r, 'invalid_json', 'bot-a', 'empty body');

$r = $t->post($ep, "  \r\n\t{\"name\" : \"x\"}\n");
is($t->forwarded_body(), body_for('x'),
    'white space around the JSON object accepted, body rebuilt compactly');

$t->done();

###############################################################################

sub name {
    my ($json, $location) = @_;
    return $t->post(($location // '/openapi/clientTag') . '?botId=bot-a',
        "{\"name\":$json}");
}

sub body_for {
    my ($name) = @_;
    return '{"secret":"SECRET-A","name":"' . encode_utf8($name) . '"}';
}

###############################################################################
