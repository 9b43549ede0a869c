#!/usr/bin/perl

# Tests for the name rules of ngx_http_manta_module (README "What a request
# goes through", name normalization), seen in the body forwarded upstream,
# in their order: controls, bidi controls, noncharacters, private-use and
# unassigned code points rejected; other Default_Ignorable code points
# removed; Stream-Safe (a combining-mark flood rejected quickly); Unicode
# NFC; trimming and collapsing of Unicode white space; no leading combining
# mark; the messages that say why; the length limit in code points,
# manta_name_pattern, manta_name_max_length, and the JSON text rules (UTF-8,
# NUL, duplicates, one object).

###############################################################################

use warnings;
use strict;

use Test::More;
use Encode qw(encode_utf8);
use Time::HiRes ();

use FindBin;
use lib "$FindBin::Bin/lib";
use Manta::Test;

###############################################################################

my $t = Manta::Test->new()->write_gateway(<<'EOF');
%%MANTA_TAG(/pattern/clientTag; manta_name_pattern "^[a-z ]+$")%%

%%MANTA_TAG(/short/clientTag; manta_name_max_length 5)%%
EOF

$t->write_creds();

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

# a mark composed with the letter before it as the name is read (the
# one-pass scanner), or left to the full NFC when more follows

$r = name("\"Cafe\xcc\x81\"");
is($t->forwarded_body(), body_for("Caf\x{e9}"),
    'NFC: raw Cafe + U+0301 forwarded as Caf U+00E9');

$r = name("\"xA\xcc\xa3y \xe3\x81\x8b\xe3\x82\x99 a\xcc\x81\"");
is($t->forwarded_body(), body_for("x\x{1ea0}y \x{304c} \x{e1}"),
    'NFC: A + U+0323, kana + U+3099, a + U+0301 composed, in one name');

$r = name('"\ud804\udc99\ud804\udcba z"');
is($t->forwarded_body(), body_for("\x{1109a} z"),
    'NFC: U+11099 + U+110BA (escaped surrogate pairs) composed');

$r = name('"a\u0301\u0323b"');
is($t->forwarded_body(), body_for("\x{1ea1}\x{301}b"),
    'NFC: a + U+0301 + U+0323 reordered, then composed');

$r = name("\"a \xcc\x81\"");
is($t->forwarded_body(), body_for("a \x{301}"),
    'NFC: a mark after a space is not composed with it');

$r = name("\"\xe1\x84\x80\xe1\x85\xa1e\xcc\x81\xe1\x85\xa1\"");
is($t->forwarded_body(), body_for("\x{ac00}\x{e9}\x{1161}"),
    'NFC: Hangul L + V, e + U+0301, then a V jamo alone');

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

# the order of the rules: forbidden code points rejected, the other
# Default_Ignorable code points removed, Stream-Safe, NFC, white space,
# no leading combining mark

for my $c (
    ['\u3164', 'U+3164 HANGUL FILLER'],
    ['\u00ad', 'U+00AD SOFT HYPHEN'],
    ['\u034f', 'U+034F COMBINING GRAPHEME JOINER'],
    ['\ufe0f', 'U+FE0F VARIATION SELECTOR-16'],
    ['\u180e', 'U+180E MONGOLIAN VOWEL SEPARATOR'],
    ['\u206a', 'U+206A INHIBIT SYMMETRIC SWAPPING'],
    ['\udb40\udc41', 'tag character U+E0041'],
) {
    my ($esc, $what) = @$c;

    $r = name("\"Ta${esc}g\"");
    is($t->forwarded_body(), body_for('Tag'), "$what removed");
}

$r = name('"\u3164"');
$t->is_rejected($r, 'invalid_name', 'bot-a', 'U+3164 alone',
    'name is blank: it has only white space or invisible characters');

for my $c (
    ['\uffff', 'a noncharacter (U+FFFF)', 'noncharacter U+FFFF'],
    ["\xef\xbf\xbe", 'a noncharacter (U+FFFE)', 'noncharacter U+FFFE'],
    ['\udbff\udfff', 'a noncharacter (U+10FFFF)', 'noncharacter U+10FFFF'],
    ['\ue000', 'a private-use character (U+E000)', 'private use U+E000'],
    ['\u0378', 'an unassigned code point (U+0378)', 'unassigned U+0378'],
    ['\u200e', 'a bidirectional control character (U+200E)', 'LRM U+200E'],
    ['\u200f', 'a bidirectional control character (U+200F)', 'RLM U+200F'],
    ['\u061c', 'a bidirectional control character (U+061C)', 'ALM U+061C'],
    ['\u0007', 'a control character (U+0007)', 'BEL U+0007'],
) {
    my ($esc, $msg, $what) = @$c;

    $r = name("\"Ta${esc}g\"");
    $t->is_rejected($r, 'invalid_name', 'bot-a', $what,
        "name contains $msg");
}

$r = name('"\u0301"');
$t->is_rejected($r, 'invalid_name', 'bot-a', 'lone U+0301',
    'name starts with a combining mark (U+0301)');

$r = name('" \u0301x"');
$t->is_rejected($r, 'invalid_name', 'bot-a',
    'U+0301 first once white space is trimmed',
    'name starts with a combining mark (U+0301)');

$r = name('"A\ufeff\u030a"');
is($t->forwarded_body(), body_for("\x{c5}"),
    'A U+FEFF U+030A forwarded as U+00C5: NFC after the removal');

$r = name("\"A\xef\xbb\xbf\xcc\x8a\"");
is($t->forwarded_body(), body_for("\x{c5}"),
    'raw A U+FEFF U+030A forwarded as U+00C5 (fast path)');

$r = name('"e\u200b\u0301"');
is($t->forwarded_body(), body_for("\x{e9}"),
    'e U+200B U+0301 forwarded as U+00E9');

$r = name('"\u2800"');
$t->is_rejected($r, 'invalid_name', 'bot-a', 'U+2800 BRAILLE PATTERN BLANK alone',
    'name is blank: it has only white space or invisible characters');

$r = name('"a\u2800b"');
is($t->forwarded_body(), body_for("a\x{2800}b"),
    'U+2800 between letters forwarded');

$r = name('"a' . '\u0301' x 30 . '"');
is($t->forwarded_body(), body_for("\x{e1}" . "\x{301}" x 29),
    'a run of 30 combining marks forwarded (Stream-Safe)');

$r = name('"a' . '\u0301' x 31 . '"');
$t->is_rejected($r, 'invalid_name', 'bot-a', 'a run of 31 combining marks',
    'name has more than 30 combining marks in a row');

# a body of manta_body_max_size (8192 bytes): "a" and marks of falling
# combining classes, the worst order for canonical reordering; rejected
# in linear time, and a request on the same worker is not held up

my @marks = map { chr } 0x345, 0x35d, 0x35c, 0x315, 0x301, 0x316, 0x31b,
    0x327, 0x334;
my $flood = 'a';
my $i = 0;
$flood .= $marks[$i++ % @marks] while length(encode_utf8($flood)) < 8192 - 14;
my $flood_body = encode_utf8('{"name":"' . $flood . '"}');
$flood_body =~ s/"}$/ "}/ while length($flood_body) < 8192;

is(length($flood_body), 8192, 'the combining-mark flood is 8192 bytes');

my $start = Time::HiRes::time();
$r = $t->post($ep, $flood_body);
my $took = Time::HiRes::time() - $start;

$t->is_rejected($r, 'invalid_name', 'bot-a', '8 KB combining-mark flood',
    'name has more than 30 combining marks in a row');

SKIP: {
    skip 'timing under valgrind', 1 if $Manta::Test::VALGRIND;
    cmp_ok($took, '<', 0.05 * $Manta::Test::SCALE,
        sprintf('8 KB combining-mark flood answered in %.1f ms', $took * 1000));
}

# length in code points of the normalized name (default 64)

$r = name('"' . "\xe6\x9d\xb1" x 64 . '"');
is($t->forwarded_body(), body_for("\x{6771}" x 64),
    '64 CJK characters forwarded');

$r = name('"' . "\xe6\x9d\xb1" x 65 . '"');
$t->is_rejected($r, 'invalid_name', 'bot-a', '65 CJK characters',
    'name is 65 characters long, at most 64 are allowed');

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
$t->is_rejected($r, 'invalid_name', 'bot-a', 'manta_name_pattern: upper case',
    'name does not match the allowed pattern');

$r = name('"abc1"', '/pattern/clientTag');
$t->is_rejected($r, 'invalid_name', 'bot-a', 'manta_name_pattern: digit');

$r = name('"ab\u00e9"', '/pattern/clientTag');
$t->is_rejected($r, 'invalid_name', 'bot-a', 'manta_name_pattern: non-ASCII');

$r = name("\"abe\xcc\x81\"", '/pattern/clientTag');
$t->is_rejected($r, 'invalid_name', 'bot-a',
    'manta_name_pattern: e + U+0301 matched composed',
    'name does not match the allowed pattern');

# manta_name_max_length 5

$r = name('"abcde"', '/short/clientTag');
is($t->forwarded_body(), body_for('abcde'),
    'manta_name_max_length 5: 5 characters forwarded');

$r = name('"abcdef"', '/short/clientTag');
$t->is_rejected($r, 'invalid_name', 'bot-a',
    'manta_name_max_length 5: 6 characters',
    'name is 6 characters long, at most 5 are allowed');

$r = name('"  ab   cd  "', '/short/clientTag');
is($t->forwarded_body(), body_for('ab cd'),
    'manta_name_max_length 5: counted after normalization');

$r = name('"' . 'e\u0301' x 5 . '"', '/short/clientTag');
is($t->forwarded_body(), body_for("\x{e9}" x 5),
    'manta_name_max_length 5: counted after NFC');

$r = name('"' . "e\xcc\x81" x 5 . '"', '/short/clientTag');
is($t->forwarded_body(), body_for("\x{e9}" x 5),
    'manta_name_max_length 5: raw e + U+0301 counted once each');

$r = name('"' . "e\xcc\x81" x 6 . '"', '/short/clientTag');
$t->is_rejected($r, 'invalid_name', 'bot-a',
    'manta_name_max_length 5: 6 raw e + U+0301',
    'name is 6 characters long, at most 5 are allowed');

$r = name('"' . "\xc3\xa9" x 6 . '"', '/short/clientTag');
$t->is_rejected($r, 'invalid_name', 'bot-a',
    'manta_name_max_length 5: 6 two-byte characters');

# the JSON text

$r = $t->post($ep, '{"name":"a","name":"b"}');
$t->is_rejected($r, 'invalid_json', 'bot-a', 'duplicate keys',
    'duplicate member "name"');

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
