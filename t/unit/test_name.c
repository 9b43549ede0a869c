/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * manta_name.c: each step of name normalization, in its order, with the
 * message of each rejection; manta_request.c: the messages of the body
 * checks.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "manta_json.h"
#include "manta_re.h"
#include "manta_request.h"
#include "manta_util.h"
#include "alloc.h"
#include "tap.h"
#include "tests.h"


#define S(s)  (s), (sizeof(s) - 1)

#define ACUTE  "\xcc\x81"               /* U+0301, combining class 230 */


typedef struct {
    const char  *src;
    size_t       len;
    const char  *name;                  /* NULL: invalid_name */
    const char  *message;               /* NULL: not compared */
    const char  *test;
} name_case_t;


typedef struct {
    const char      *body;
    manta_reason_t   reason;
    const char      *message;
    const char      *test;
} message_case_t;


static void name_case(const manta_body_opts_t *opts, const name_case_t *c);
static void stream_safe(const manta_body_opts_t *opts);
static void nfc_table(void);
static void plain_table(void);
static void nfc_stable(void);
static void nfc_pairs(void);
static void nfc_quick_check(const manta_body_opts_t *opts);
static void collapse_all(void);
static void compose_table(void);
static void compose_pairs(const manta_body_opts_t *opts);
static void compose_pair(const manta_body_opts_t *opts, int32_t s,
    int32_t m, int32_t c, size_t *bad, size_t *names);
static void compose_others(const manta_body_opts_t *opts);
static int compose_same(const manta_body_opts_t *opts, const char *name,
    size_t len, int *taken, char *out, size_t *out_len);
static size_t compose_put(char *o, int32_t cp, int escaped);
static utf8proc_ssize_t nfc_of(const utf8proc_int32_t *cps,
    utf8proc_ssize_t n, utf8proc_int32_t *out);
static unsigned non_starters(utf8proc_int32_t cp);


static const name_case_t  name_cases[] = {

    /* step 1: rejected */

    { S("a\x07" "b"), NULL, "name contains a control character (U+0007)",
      "step 1: C0 control BEL" },
    { S("a\x7f"), NULL, "name contains a control character (U+007F)",
      "step 1: DEL" },
    { S("a\xc2\x85"), NULL, "name contains a control character (U+0085)",
      "step 1: C1 control NEL" },
    { S("a\0b"), NULL, "name contains a control character (U+0000)",
      "step 1: NUL" },
    { S("a\xd8\x9c" "b"), NULL,
      "name contains a bidirectional control character (U+061C)",
      "step 1: U+061C ARABIC LETTER MARK" },
    { S("a\xe2\x80\x8e" "b"), NULL,
      "name contains a bidirectional control character (U+200E)",
      "step 1: U+200E LRM" },
    { S("a\xe2\x80\x8f" "b"), NULL,
      "name contains a bidirectional control character (U+200F)",
      "step 1: U+200F RLM" },
    { S("a\xe2\x80\xaa" "b"), NULL, NULL, "step 1: U+202A" },
    { S("a\xe2\x80\xae" "b"), NULL,
      "name contains a bidirectional control character (U+202E)",
      "step 1: U+202E" },
    { S("a\xe2\x81\xa6" "b"), NULL, NULL, "step 1: U+2066" },
    { S("a\xe2\x81\xa9" "b"), NULL, NULL, "step 1: U+2069" },
    { S("a\xef\xbf\xbe"), NULL, "name contains a noncharacter (U+FFFE)",
      "step 1: noncharacter U+FFFE" },
    { S("a\xef\xbf\xbf"), NULL, NULL, "step 1: noncharacter U+FFFF" },
    { S("a\xf4\x8f\xbf\xbf"), NULL,
      "name contains a noncharacter (U+10FFFF)",
      "step 1: noncharacter U+10FFFF" },
    { S("a\xef\xb7\x90"), NULL, "name contains a noncharacter (U+FDD0)",
      "step 1: noncharacter U+FDD0" },
    { S("a\xee\x80\x80"), NULL,
      "name contains a private-use character (U+E000)",
      "step 1: private use U+E000" },
    { S("a\xf3\xb0\x80\x80"), NULL, NULL,
      "step 1: private use plane 15 U+F0000" },
    { S("a\xcd\xb8"), NULL,
      "name contains an unassigned code point (U+0378)",
      "step 1: unassigned U+0378" },
    { S("a\xf3\xa0\x80\x80"), NULL,
      "name contains an unassigned code point (U+E0000)",
      "step 1: unassigned tag U+E0000" },
    { S("a\xe2\x81\xa5"), NULL, NULL,
      "step 1: unassigned Default_Ignorable U+2065" },
    { S("\xff"), NULL, "name is not valid UTF-8", "step 1: invalid UTF-8" },
    { S("\xed\xa0\x80"), NULL, "name is not valid UTF-8",
      "step 1: encoded surrogate" },
    { S("\xe2\x80\x8b" "a\x07"), NULL, NULL,
      "step 1: control after a removable character" },

    /* step 2: removed */

    { S("a\xc2\xad" "b"), "ab", NULL, "step 2: U+00AD SOFT HYPHEN" },
    { S("a\xcd\x8f" "b"), "ab", NULL, "step 2: U+034F CGJ" },
    { S("a\xe1\xa0\x8e" "b"), "ab", NULL, "step 2: U+180E" },
    { S("a\xe2\x80\x8b" "b\xe2\x80\x8c" "c\xe2\x80\x8d"), "abc", NULL,
      "step 2: U+200B .. U+200D" },
    { S("a\xe2\x81\xa0" "b\xe2\x81\xa4"), "ab", NULL,
      "step 2: U+2060, U+2064" },
    { S("a\xe2\x81\xaa" "b\xe2\x81\xaf"), "ab", NULL,
      "step 2: U+206A, U+206F" },
    { S("\xe3\x85\xa4" "a"), "a", NULL, "step 2: U+3164 HANGUL FILLER" },
    { S("a\xe1\x85\x9f\xe1\x85\xa0"), "a", NULL,
      "step 2: U+115F, U+1160 Hangul fillers" },
    { S("a\xef\xbe\xa0"), "a", NULL, "step 2: U+FFA0" },
    { S("a\xef\xb8\x80" "b\xef\xb8\x8f"), "ab", NULL,
      "step 2: variation selectors U+FE00, U+FE0F" },
    { S("\xef\xbb\xbf" "a"), "a", NULL, "step 2: U+FEFF" },
    { S("a\xf3\xa0\x80\x81\xf3\xa0\x81\x81\xf3\xa0\x81\xbf"), "a", NULL,
      "step 2: tag characters U+E0001, U+E0041, U+E007F" },
    { S("a\xf3\xa0\x84\x80"), "a", NULL,
      "step 2: variation selector U+E0100" },
    { S("\xe3\x85\xa4"), NULL,
      "name is blank: it has only white space or invisible characters",
      "step 2: U+3164 alone" },
    { S("\xc2\xad\xe2\x80\x8b\xef\xbb\xbf"), NULL, NULL,
      "step 2: only removable characters" },

    /* step 4 after step 2: NFC sees the text without them */

    { S("A\xef\xbb\xbf\xcc\x8a"), "\xc3\x85", NULL,
      "step 4: A U+FEFF U+030A becomes U+00C5" },
    { S("e\xe2\x80\x8b" ACUTE), "\xc3\xa9", NULL,
      "step 4: e U+200B U+0301 becomes U+00E9" },
    { S("e\xcd\x8f" ACUTE), "\xc3\xa9", NULL,
      "step 4: e U+034F U+0301 becomes U+00E9" },
    { S("\xe2\x84\xab"), "\xc3\x85", NULL, "step 4: U+212B becomes U+00C5" },

    /* step 5 */

    { S(" \xe3\x80\x80 a \xc2\xa0\xe2\x80\x83 b\xe3\x80\x80"), "a b", NULL,
      "step 5: trim and collapse Unicode white space" },
    { S("a\xe2\x80\x8b \xe2\x80\x8b" "b"), "a b", NULL,
      "step 5: after removal" },

    /* step 6 */

    { S(""), NULL, "name is empty", "step 6: empty" },
    { S(" \xe3\x80\x80 "), NULL,
      "name is blank: it has only white space or invisible characters",
      "step 6: white space only" },
    { S(ACUTE), NULL, "name starts with a combining mark (U+0301)",
      "step 6: lone U+0301" },
    { S(" " ACUTE "a"), NULL, "name starts with a combining mark (U+0301)",
      "step 6: U+0301 after trimmed white space" },
    { S("\xe2\x80\x8b" ACUTE "a"), NULL, NULL,
      "step 6: U+0301 after a removed U+200B" },
    { S("\xe0\xa4\x83" "a"), NULL,
      "name starts with a combining mark (U+0903)",
      "step 6: spacing mark Mc U+0903" },
    { S("\xe2\x83\x9d"), NULL, NULL, "step 6: enclosing mark Me U+20DD" },
    { S("a " ACUTE), "a " ACUTE, NULL,
      "step 6: a mark after an inner space is kept" },
    { S("\xe2\xa0\x80"), NULL,
      "name is blank: it has only white space or invisible characters",
      "step 6: U+2800 BRAILLE PATTERN BLANK alone" },
    { S("\xe2\xa0\x80 \xe2\xa0\x80\xe3\x80\x80"), NULL, NULL,
      "step 6: U+2800 and white space only" },
    { S("a\xe2\xa0\x80" "b"), "a\xe2\xa0\x80" "b", NULL,
      "step 6: U+2800 inside a name is kept" },
    { S("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
      NULL, "name is 65 characters long, at most 64 are allowed",
      "step 6: 65 characters" },
    { S("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      NULL, "step 6: 64 characters" },
};


static const message_case_t  message_cases[] = {
    { "{\"name\":\"x\",\"color\":\"red\"}", MANTA_UNKNOWN_FIELD,
      "unknown member \"color\"", "unknown member named" },
    { "{\"size\":1,\"name\":\"x\",\"color\":\"red\"}", MANTA_UNKNOWN_FIELD,
      "unknown member \"size\"", "first unknown member in body order" },
    { "{\"name\":\"x\",\"a\\u0007b\\u202ec\\nd\":1}", MANTA_UNKNOWN_FIELD,
      "unknown member \"a?b?c?d\"",
      "control and bidi characters of a member name not echoed" },
    { "{\"name\":\"x\",\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":1}",
      MANTA_UNKNOWN_FIELD,
      "unknown member \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      "aaaaaaaaaaa...\"", "long member name cut at 64 bytes" },
    { "{\"name\":\"x\",\"\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5"
      "\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5"
      "\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5"
      "\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5"
      "\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\":1}",
      MANTA_UNKNOWN_FIELD,
      "unknown member \"\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5"
      "\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5"
      "\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5"
      "\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5"
      "\xe6\x97\xa5\xe6\x97\xa5...\"",
      "long member name cut on a character boundary" },
    { "{\"name\":\"a\",\"name\":\"b\"}", MANTA_INVALID_JSON,
      "duplicate member \"name\"", "duplicate member named" },
    { "{\"name\":\"a\",\"n\\u0061me\":\"b\"}", MANTA_INVALID_JSON,
      "duplicate member \"name\"", "duplicate member, escaped, decoded" },
    { "{\"name\":\"a\",\"q\\\"x\\\\\":1,\"q\\\"x\\\\\":2}", MANTA_INVALID_JSON,
      "duplicate member \"q\"x\\\"",
      "duplicate member with escaped quote and backslash" },
    { "{\"secret\":\"hunter2\",\"name\":\"x\"}", MANTA_CLIENT_SECRET,
      "member \"secret\" must not be sent: the gateway adds its own",
      "client secret: its value not echoed" },
    { "{\"secret\":\"hunter2", MANTA_INVALID_JSON,
      "body ends before the JSON object is complete",
      "truncated secret: its value not echoed" },
    { "{}", MANTA_INVALID_NAME, "member \"name\" is missing", "name missing" },
    { "{\"name\":5}", MANTA_INVALID_NAME,
      "member \"name\" must be a string, not a number", "name a number" },
    { "{\"name\":null}", MANTA_INVALID_NAME,
      "member \"name\" must be a string, not null", "name null" },
    { "[1]", MANTA_INVALID_JSON, "body must be a JSON object, not an array",
      "top-level array" },
    { " \n", MANTA_INVALID_JSON, "body is empty: it must be one JSON object",
      "empty body" },
    { "{\"name\":\"x\"} x", MANTA_INVALID_JSON,
      "body has more after the JSON object (near byte 14): it must be one "
      "JSON object", "trailing garbage" },
    { "{\"name\":\"a\\u0000\"}", MANTA_INVALID_JSON,
      "body contains a NUL character (\\u0000)", "escaped NUL" },
    { "{\"name\":1e999}", MANTA_INVALID_JSON,
      "body has a number out of range (near byte 13)", "number overflow" },
    { "{\"name\":\"\xff\"}", MANTA_INVALID_JSON,
      "body is not valid UTF-8 (near byte 9)", "invalid UTF-8" },
    { "{'name':1}", MANTA_INVALID_JSON,
      "body is not valid JSON (near byte 2): it must be one JSON object",
      "syntax error" },
    { "{\"name\":\"a\x07\"}", MANTA_INVALID_JSON, NULL,
      "raw control in a string: invalid JSON" },
    { "{\"name\":\"a\\u0007\"}", MANTA_INVALID_NAME,
      "name contains a control character (U+0007)",
      "escaped control in the name (jansson path)" },
    { "{\"name\":\"a\xe2\x80\xae\"}", MANTA_INVALID_NAME,
      "name contains a bidirectional control character (U+202E)",
      "bidi control in the name (fast path)" },
};


void
test_name(void)
{
    char                  *out, msg[MANTA_MESSAGE_MAX];
    size_t                 i, out_len;
    manta_reason_t         rc;
    manta_body_opts_t      opts;
    const message_case_t  *c;

    static const utf8proc_int32_t  ignorable[] = {
        0x00ad, 0x034f, 0x180e, 0x200b, 0x200c, 0x200d, 0x2060, 0x2061,
        0x2062, 0x2063, 0x2064, 0x206a, 0x206b, 0x206c, 0x206d, 0x206e,
        0x206f, 0x3164, 0xfe00, 0xfe0f, 0xfeff, 0xffa0, 0xe0001, 0xe0020,
        0xe007f, 0xe0100, 0xe01ef
    };

    /* the Unicode property, as utf8proc has it, covers the examples */

    for (i = 0; i < sizeof(ignorable) / sizeof(ignorable[0]); i++) {
        ok(utf8proc_get_property(ignorable[i])->ignorable,
           "utf8proc: U+%04X is Default_Ignorable", (unsigned) ignorable[i]);
    }

    ok(!utf8proc_get_property(0x2800)->ignorable,
       "utf8proc: U+2800 is not Default_Ignorable");

    opts.name_max_length = 64;
    opts.name_re = NULL;
    opts.unknown_fields = MANTA_UNKNOWN_FIELDS_REJECT;
    opts.client_secret = MANTA_CLIENT_SECRET_REJECT;

    for (i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]); i++) {
        name_case(&opts, &name_cases[i]);
    }

    stream_safe(&opts);
    nfc_table();
    plain_table();
    nfc_stable();
    nfc_pairs();
    nfc_quick_check(&opts);
    collapse_all();
    compose_table();
    compose_pairs(&opts);
    compose_others(&opts);

    for (i = 0; i < sizeof(message_cases) / sizeof(message_cases[0]); i++) {
        c = &message_cases[i];

        rc = alloc_body_check(&opts, c->body, strlen(c->body), &out,
                              &out_len, msg, sizeof(msg));

        is_int(rc, c->reason, "message: %s: reason", c->test);

        if (c->message != NULL) {
            is_str(msg, c->message, "message: %s", c->test);

        } else {
            ok(msg[0] != '\0', "message: %s: a message (%s)", c->test, msg);
        }

        ok(strstr(msg, "hunter2") == NULL, "message: %s: no secret value",
           c->test);

        if (rc == MANTA_OK) {
            free(out);
        }
    }
}


static void
name_case(const manta_body_opts_t *opts, const name_case_t *c)
{
    char            *out, msg[MANTA_MESSAGE_MAX];
    size_t           out_len;
    manta_reason_t   rc;

    rc = alloc_name_normalize(opts, c->src, c->len, &out, &out_len, msg,
                              sizeof(msg));

    if (c->name == NULL) {
        is_int(rc, MANTA_INVALID_NAME, "%s: invalid_name", c->test);
        ok(out == NULL, "%s: no name", c->test);

        if (c->message != NULL) {
            is_str(msg, c->message, "%s: message", c->test);

        } else {
            ok(msg[0] != '\0', "%s: a message (%s)", c->test, msg);
        }

        return;
    }

    if (is_int(rc, MANTA_OK, "%s: accepted (%s)", c->test, msg)) {
        is_mem(out, out_len, c->name, "%s: name", c->test);
        free(out);
    }
}


/*
 * Step 3: at most 30 non-starters in a row, counted in canonical
 * decompositions, after the removal of step 2, before NFC.
 */

static void
stream_safe(const manta_body_opts_t *opts)
{
    char               *s, *out, msg[MANTA_MESSAGE_MAX];
    size_t              i, out_len;
    manta_reason_t      rc;
    manta_body_opts_t   o;

    static const struct {
        const char  *head;
        size_t       n;
        const char  *unit;
        const char  *tail;
        int          ok;
        const char  *test;
    } cases[] = {
        { "a", 30, ACUTE, "", 1, "a + 30 U+0301 pass" },
        { "a", 31, ACUTE, "", 0, "a + 31 U+0301 fail" },
        { "", 30, ACUTE, "", 0, "30 U+0301 alone: starts with a mark" },
        { "a", 15, "\xcd\x84", "", 1, "a + 15 U+0344 (two marks each) pass" },
        { "a", 16, "\xcd\x84", "", 0, "a + 16 U+0344 (32 marks) fail" },
        { "a", 15, "\xcd\x84", ACUTE, 0, "a + 15 U+0344 + U+0301 fail" },
        { "a", 20, ACUTE, "\xcd\x8f" ACUTE ACUTE ACUTE ACUTE ACUTE ACUTE
          ACUTE ACUTE ACUTE ACUTE ACUTE, 0,
          "a run joined by the removal of U+034F fails" },
        { "a", 29, ACUTE, "\xc3\xa9" ACUTE ACUTE ACUTE ACUTE ACUTE ACUTE
          ACUTE ACUTE ACUTE ACUTE ACUTE ACUTE ACUTE ACUTE ACUTE ACUTE ACUTE
          ACUTE ACUTE ACUTE ACUTE ACUTE ACUTE ACUTE ACUTE ACUTE ACUTE ACUTE
          ACUTE ACUTE, 0,
          "U+00E9 decomposes with a trailing mark: 1 + 30 fail" },
        { "a", 29, ACUTE, "\xc3\xa9" ACUTE ACUTE ACUTE ACUTE ACUTE ACUTE
          ACUTE ACUTE ACUTE ACUTE ACUTE ACUTE ACUTE ACUTE ACUTE ACUTE ACUTE
          ACUTE ACUTE ACUTE ACUTE ACUTE ACUTE ACUTE ACUTE ACUTE ACUTE ACUTE
          ACUTE, 1, "U+00E9 decomposes with a trailing mark: 1 + 29 pass" },
        { "a", 30, "\xcd\x85", "", 1, "a + 30 U+0345 pass" },
    };

    o = *opts;
    o.name_max_length = 200;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        s = repeat(cases[i].head, cases[i].unit, cases[i].n, cases[i].tail);

        rc = alloc_name_normalize(&o, s, strlen(s), &out, &out_len, msg,
                                  sizeof(msg));

        if (cases[i].ok) {
            if (is_int(rc, MANTA_OK, "step 3: %s (%s)", cases[i].test, msg))
            {
                free(out);
            }

        } else {
            is_int(rc, MANTA_INVALID_NAME, "step 3: %s", cases[i].test);
        }

        free(s);
    }

    s = repeat("a", ACUTE, 31, "");
    alloc_name_normalize(&o, s, strlen(s), &out, &out_len, msg, sizeof(msg));
    is_str(msg, "name has more than 30 combining marks in a row",
           "step 3: message");
    free(s);
}


/*
 * The generated table against utf8proc, for every code point but the
 * surrogates: NFC leaves a code point with NFC_Quick_Check Yes or Maybe
 * as it is and changes one with No; the non-starter counts are those of
 * its canonical decomposition.
 */

static void
nfc_table(void)
{
    unsigned          v, qc;
    utf8proc_int32_t  cp, out[8];
    utf8proc_ssize_t  n;
    size_t            bad_yes, bad_no, bad_counts, counts[3];

    bad_yes = 0;
    bad_no = 0;
    bad_counts = 0;
    counts[0] = counts[1] = counts[2] = 0;

    for (cp = 0; cp <= 0x10ffff; cp++) {
        if (cp >= 0xd800 && cp <= 0xdfff) {
            continue;
        }

        v = manta_nfc_qc(cp);
        qc = v & 3;
        counts[qc < 3 ? qc : 0]++;

        n = nfc_of(&cp, 1, out);

        if (qc == MANTA_NFC_NO) {
            if (n == 1 && out[0] == cp) {
                if (bad_no++ == 0) {
                    diag("U+%04X: NFC_QC No, NFC leaves it", (unsigned) cp);
                }
            }

        } else if (qc > MANTA_NFC_NO || n != 1 || out[0] != cp) {
            if (bad_yes++ == 0) {
                diag("U+%04X: NFC_QC %u, NFC changes it", (unsigned) cp, qc);
            }
        }

        if ((v & ~3u) != non_starters(cp)) {
            if (bad_counts++ == 0) {
                diag("U+%04X: non-starters 0x%02x, utf8proc 0x%02x",
                     (unsigned) cp, v & ~3u, non_starters(cp));
            }
        }
    }

    is_int(bad_yes, 0, "NFC table: NFC leaves every code point with "
           "NFC_Quick_Check Yes or Maybe as it is");
    is_int(bad_no, 0, "NFC table: NFC changes every code point with "
           "NFC_Quick_Check No");
    is_int(bad_counts, 0, "NFC table: the leading and trailing non-starters "
           "of every code point are utf8proc's");

    /* Unicode 15's DerivedNormalizationProps.txt: 1120 No, 111 Maybe */

    ok(counts[MANTA_NFC_NO] >= 1120, "NFC table: %zu code points with "
       "NFC_Quick_Check No", counts[MANTA_NFC_NO]);
    ok(counts[MANTA_NFC_MAYBE] >= 111, "NFC table: %zu code points with "
       "NFC_Quick_Check Maybe", counts[MANTA_NFC_MAYBE]);

    /* utf8proc composes (drops) U+11A7 after an LV syllable */

    is_int(manta_nfc_qc(0x11a7) & 3, MANTA_NFC_MAYBE,
           "NFC table: U+11A7, which utf8proc composes with U+AC00 (Maybe)");

    is_int(manta_nfc_qc(0x0301) & 3, MANTA_NFC_MAYBE,
           "NFC table: U+0301 composes with the letter before it (Maybe)");
    is_int(manta_nfc_qc(0x1161) & 3, MANTA_NFC_MAYBE,
           "NFC table: Hangul vowel jamo U+1161 (Maybe)");
    is_int(manta_nfc_qc(0x11a8) & 3, MANTA_NFC_MAYBE,
           "NFC table: Hangul trailing jamo U+11A8 (Maybe)");
    is_int(manta_nfc_qc(0x0b3e) & 3, MANTA_NFC_MAYBE,
           "NFC table: the starter U+0B3E composes with U+0B47 (Maybe)");
    is_int(manta_nfc_qc(0x00e9) & 3, MANTA_NFC_YES,
           "NFC table: precomposed U+00E9 (Yes)");
    is_int(manta_nfc_qc(0x212b) & 3, MANTA_NFC_NO,
           "NFC table: singleton U+212B ANGSTROM SIGN (No)");
    is_int(manta_nfc_qc(0x0344) & 3, MANTA_NFC_NO,
           "NFC table: non-starter decomposition U+0344 (No)");
}


/*
 * The table's MANTA_NFC_QC_PLAIN (manta_name_plain()), which
 * manta_name_scan() copies without steps 1 to 4, for every code point but
 * the surrogates: one is never ASCII, is a starter whose decomposition
 * starts with one, NFC_Quick_Check Yes, not Default_Ignorable; between
 * two letters manta_name_normalize() keeps it as it is, and alone too,
 * unless it is a combining mark (rejected at the start of a name).  The
 * White_Space that manta_name_scan() takes for a space (table value 0)
 * manta_name_normalize() takes for one too.
 */

static void
plain_table(void)
{
    int                        plain;
    char                       src[16], msg[MANTA_MESSAGE_MAX], *out;
    size_t                     n, len, out_len, bad_props, bad_kept, count;
    manta_reason_t             rc;
    utf8proc_int32_t           cp;
    manta_body_opts_t          opts;
    const utf8proc_property_t  *prop;

    opts.name_max_length = 64;
    opts.name_re = NULL;
    opts.unknown_fields = MANTA_UNKNOWN_FIELDS_REJECT;
    opts.client_secret = MANTA_CLIENT_SECRET_REJECT;

    bad_props = 0;
    bad_kept = 0;
    count = 0;

    for (cp = 0; cp <= 0x10ffff; cp++) {
        if (cp >= 0xd800 && cp <= 0xdfff) {
            continue;
        }

        plain = manta_name_plain(cp);

        if (!plain && !(manta_nfc_qc(cp) == 0 && cp >= 0x80
                        && (cp == 0xa0 || cp == 0x1680
                            || (cp >= 0x2000 && cp <= 0x200a)
                            || cp == 0x2028 || cp == 0x2029
                            || cp == 0x202f || cp == 0x205f
                            || cp == 0x3000)))
        {
            continue;
        }

        count += plain;
        prop = utf8proc_get_property(cp);

        if (cp < 0x80 || prop->combining_class != 0 || prop->ignorable
            || (manta_nfc_qc(cp) & 0x0f) != MANTA_NFC_YES)
        {
            if (bad_props++ == 0) {
                diag("U+%04X: plain, but its properties say not",
                     (unsigned) cp);
            }

            continue;
        }

        src[0] = 'x';
        n = 1 + (size_t) (manta_utf8_encode(src + 1, cp) - (src + 1));
        len = n + 1;
        src[n] = 'x';

        rc = alloc_name_normalize(&opts, src, len, &out, &out_len, msg,
                                  sizeof(msg));

        if (rc != MANTA_OK
            || (plain && (out_len != len || memcmp(out, src, len) != 0))
            || (!plain && (out_len != 3 || memcmp(out, "x x", 3) != 0)))
        {
            if (bad_kept++ == 0) {
                diag("U+%04X: between two letters: %s", (unsigned) cp, msg);
            }
        }

        if (rc == MANTA_OK) {
            free(out);
        }

        if (!plain) {
            continue;
        }

        rc = alloc_name_normalize(&opts, src + 1, n - 1, &out, &out_len,
                                  msg, sizeof(msg));

        if (rc == MANTA_OK) {
            if (out_len != n - 1 || memcmp(out, src + 1, n - 1) != 0) {
                if (bad_kept++ == 0) {
                    diag("U+%04X: alone, changed", (unsigned) cp);
                }
            }

            free(out);

        } else if (strncmp(msg, "name starts with a combining mark", 33)
                   != 0)
        {
            if (bad_kept++ == 0) {
                diag("U+%04X: alone: %s", (unsigned) cp, msg);
            }
        }
    }

    is_int(bad_props, 0, "plain table: every plain code point a starter, "
           "NFC_Quick_Check Yes, not Default_Ignorable");
    is_int(bad_kept, 0, "plain table: every plain code point kept as it "
           "is, every White_Space taken for a space");
    ok(count > 100000, "plain table: %zu plain code points", count);
    ok(!manta_name_plain(0x2800) && !manta_name_plain(0x3000)
       && !manta_name_plain(0x200b) && !manta_name_plain(0xe000)
       && !manta_name_plain(0x0301) && !manta_name_plain(0x212b)
       && !manta_name_plain(0x0378) && !manta_name_plain(0x202e)
       && !manta_name_plain(0x0085) && !manta_name_plain(0x41),
       "plain table: U+2800, White_Space, ignorable, private-use, marks of "
       "a class, NFC_QC No, unassigned, bidi controls, C1, ASCII are not "
       "plain");
    ok(manta_name_plain(0xe9) && manta_name_plain(0x6771)
       && manta_name_plain(0x1f600) && manta_name_plain(0x093f),
       "plain table: e-acute, CJK, emoji, U+093F are plain");
}


/*
 * Starters of many scripts, each followed by every code point: when the
 * quick check says Yes, NFC leaves the pair as it is (a code point that
 * composes with the one before it is never Yes)
 */

static void
nfc_pairs(void)
{
    char              pair[8];
    size_t            i, len, yes, bad;
    utf8proc_int32_t  cp, cps[2], out[8];
    utf8proc_ssize_t  n;

    static const utf8proc_int32_t  bases[] = {
        'A', 'e', 'z', 0x00dc, 0x00fc, 0x0112, 0x01b0,     /* Latin */
        0x03b1, 0x03c9, 0x1f00,                             /* Greek */
        0x0418, 0x0435, 0x0456,                             /* Cyrillic */
        0x05d0, 0x0627, 0x0928, 0x09c7, 0x0b47, 0x0bc6,     /* Hebrew .. */
        0x0cc6, 0x0d46, 0x0dd9, 0x1025, 0x1b05,             /* Indic .. */
        0x1100, 0xac00, 0xac01,                             /* Hangul */
        0x304b, 0x30cf, 0x4e00, 0x6771,                     /* kana, CJK */
        0x11099, 0x11131, 0x11347, 0x114b9, 0x115b8, 0x11935
    };

    yes = 0;
    bad = 0;

    for (i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
        cps[0] = bases[i];

        for (cp = 0; cp <= 0x10ffff; cp++) {
            if (cp >= 0xd800 && cp <= 0xdfff) {
                continue;
            }

            len = (size_t) utf8proc_encode_char(bases[i],
                                                (utf8proc_uint8_t *) pair);
            len += (size_t) utf8proc_encode_char(cp,
                                             (utf8proc_uint8_t *) pair + len);

            if (manta_nfc_quick_check(pair, len) != MANTA_NFC_YES) {
                continue;
            }

            yes++;
            cps[1] = cp;
            n = nfc_of(cps, 2, out);

            if (n != 2 || out[0] != cps[0] || out[1] != cp) {
                if (bad++ == 0) {
                    diag("U+%04X U+%04X: quick check Yes, NFC changes it",
                         (unsigned) cps[0], (unsigned) cp);
                }
            }
        }
    }

    is_int(bad, 0, "NFC quick check: Yes for %zu pairs of %zu starters and "
           "every code point, NFC leaves each as it is", yes,
           sizeof(bases) / sizeof(bases[0]));
}


/*
 * NFC from the last stable code point on (manta_nfc()): after prefixes
 * of ASCII, precomposed letters, CJK, a mark, a removed Default_Ignorable
 * and a Hangul jamo, a starter and every code point that is not a starter
 * of NFC_Quick_Check=Yes, then a letter: the name is utf8proc's NFC of
 * the whole (the ignorable left out).
 */

static void
nfc_stable(void)
{
    char                text[64], want[64], msg[MANTA_MESSAGE_MAX], *out;
    size_t              i, j, len, wlen, out_len, tried, bad;
    manta_reason_t      rc;
    utf8proc_int32_t    cp;
    utf8proc_ssize_t    n;
    utf8proc_uint8_t   *nfc;
    manta_body_opts_t   opts;

    static const char  *const prefixes[][2] = {
        { "xy", "xy" },
        { "x\xc3\xa9", "x\xc3\xa9" },
        { "\xe6\x9d\xb1", "\xe6\x9d\xb1" },
        { "a\xcc\x96", "a\xcc\x96" },
        { "a\xe2\x80\x8b" "b", "ab" },
        { "\xe1\x84\x80", "\xe1\x84\x80" }
    };

    static const utf8proc_int32_t  bases[] = {
        'e', 'A', 0x00e9, 0x0627, 0x0b47, 0x1100, 0xac00, 0x05d0
    };

    opts.name_max_length = 64;
    opts.name_re = NULL;
    opts.unknown_fields = MANTA_UNKNOWN_FIELDS_REJECT;
    opts.client_secret = MANTA_CLIENT_SECRET_REJECT;

    tried = 0;
    bad = 0;

    for (cp = 0x80; cp <= 0x10ffff; cp++) {
        /* U+2000 and U+2001 are White_Space, collapsed after NFC */

        if ((cp >= 0xd800 && cp <= 0xdfff) || cp == 0x2000 || cp == 0x2001
            || ((manta_nfc_qc(cp) & 3) == MANTA_NFC_YES
                && utf8proc_get_property(cp)->combining_class == 0))
        {
            continue;
        }

        for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
            for (j = 0; j < sizeof(bases) / sizeof(bases[0]); j++) {
                len = strlen(prefixes[i][0]);
                memcpy(text, prefixes[i][0], len);
                len += (size_t) utf8proc_encode_char(bases[j],
                                        (utf8proc_uint8_t *) text + len);
                len += (size_t) utf8proc_encode_char(cp,
                                        (utf8proc_uint8_t *) text + len);
                text[len++] = 'z';

                wlen = strlen(prefixes[i][1]);
                memcpy(want, prefixes[i][1], wlen);
                memcpy(want + wlen, text + strlen(prefixes[i][0]),
                       len - strlen(prefixes[i][0]));
                wlen += len - strlen(prefixes[i][0]);

                rc = alloc_name_normalize(&opts, text, len, &out, &out_len,
                                          msg, sizeof(msg));

                if (rc != MANTA_OK) {
                    continue;
                }

                tried++;

                n = utf8proc_map((const utf8proc_uint8_t *) want,
                                 (utf8proc_ssize_t) wlen, &nfc,
                                 UTF8PROC_STABLE | UTF8PROC_COMPOSE);

                if (n < 0 || (size_t) n != out_len
                    || memcmp(nfc, out, out_len) != 0)
                {
                    if (bad++ == 0) {
                        diag("prefix %zu, U+%04X U+%04X: not utf8proc's NFC",
                             i, (unsigned) bases[j], (unsigned) cp);
                    }
                }

                if (n >= 0) {
                    free(nfc);
                }

                free(out);
            }
        }
    }

    ok(tried > 50000, "NFC from the stable code point: %zu names", tried);
    is_int(bad, 0, "NFC from the stable code point: every one utf8proc's "
           "NFC of the whole");
}


static void
nfc_quick_check(const manta_body_opts_t *opts)
{
    size_t  i;

    static const struct {
        const char      *text;
        manta_nfc_qc_t   qc;
        const char      *test;
    } cases[] = {
        { "Tag 42", MANTA_NFC_YES, "ASCII" },
        { "Caf\xc3\xa9 M\xc3\xbcller", MANTA_NFC_YES, "precomposed letters" },
        { "\xe6\x9d\xb1\xe4\xba\xac \xe3\x82\xb0", MANTA_NFC_YES,
          "CJK and precomposed kana" },
        { "\xed\x95\x9c\xea\xb8\x80", MANTA_NFC_YES, "Hangul syllables" },
        { "a\xcc\x96\xcc\x81", MANTA_NFC_MAYBE,
          "marks in canonical order (220, 230): Maybe" },
        { "a\xcc\x81\xcc\x96", MANTA_NFC_NO,
          "marks out of canonical order (230, 220): No" },
        { "e" ACUTE, MANTA_NFC_MAYBE, "e + U+0301: Maybe" },
        { "\xe2\x84\xab", MANTA_NFC_NO, "U+212B: No" },
        { "\xe1\x84\x80\xe1\x85\xa1", MANTA_NFC_MAYBE,
          "Hangul L + V jamo: Maybe" },
    };

    static const name_case_t  names[] = {
        { S("  Caf\xc3\xa9   cr\xc3\xa8me "), "Caf\xc3\xa9 cr\xc3\xa8me", NULL,
          "quick check Yes: the name as it is, trimmed" },
        { S("Cafe" ACUTE), "Caf\xc3\xa9", NULL,
          "quick check Maybe: NFC composes e + U+0301" },
        { S("a\xcc\x81\xcc\x96"), "\xc3\xa1\xcc\x96", NULL,
          "quick check No: NFC reorders the marks, composes a + U+0301" },
        { S("\xe2\x84\xab"), "\xc3\x85", NULL,
          "quick check No: NFC maps U+212B to U+00C5" },
        { S("\xe1\x84\x80\xe1\x85\xa1\xe1\x86\xa8"), "\xea\xb0\x81", NULL,
          "quick check Maybe: NFC composes Hangul jamo L V T" },
        { S("e\xe2\x80\x8b" ACUTE), "\xc3\xa9", NULL,
          "quick check after step 2: e U+200B U+0301 composes" },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        is_int(manta_nfc_quick_check(cases[i].text, strlen(cases[i].text)),
               cases[i].qc, "NFC quick check: %s", cases[i].test);
    }

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        name_case(opts, &names[i]);
    }
}


/* NFC of n code points, as utf8proc computes it: its length, in out[8] */

static utf8proc_ssize_t
nfc_of(const utf8proc_int32_t *cps, utf8proc_ssize_t n,
    utf8proc_int32_t *out)
{
    utf8proc_uint8_t  buf[16];
    utf8proc_ssize_t  i, len, m;

    len = 0;

    for (i = 0; i < n; i++) {
        len += utf8proc_encode_char(cps[i], buf + len);
    }

    m = utf8proc_decompose(buf, len, out, 8,
                           UTF8PROC_STABLE | UTF8PROC_COMPOSE);

    if (m < 0 || m > 8) {
        return -1;
    }

    return utf8proc_normalize_utf32(out, m,
                                    UTF8PROC_STABLE | UTF8PROC_COMPOSE);
}


/*
 * Bits 2 to 6 of the table, from utf8proc: the non-starters leading and
 * trailing the canonical decomposition of cp (cp itself when it has
 * none), whether they all lead
 */

static unsigned
non_starters(utf8proc_int32_t cp)
{
    unsigned                    count, lead, trail;
    utf8proc_int32_t            d[8];
    utf8proc_ssize_t            n, i;
    const utf8proc_property_t  *prop;

    prop = utf8proc_get_property(cp);

    if (prop->decomp_seqindex == UINT16_MAX || prop->decomp_type != 0) {
        d[0] = cp;
        n = 1;

    } else {
        n = utf8proc_decompose_char(cp, d, 8, UTF8PROC_DECOMPOSE, NULL);

        if (n <= 0 || n > 8) {
            return 0xff;
        }
    }

    count = 0;

    for (i = 0; i < n; i++) {
        count += (utf8proc_get_property(d[i])->combining_class != 0);
    }

    for (lead = 0; lead < (unsigned) n; lead++) {
        if (utf8proc_get_property(d[lead])->combining_class == 0) {
            break;
        }
    }

    for (trail = 0; trail < (unsigned) n; trail++) {
        if (utf8proc_get_property(d[n - 1 - trail])->combining_class == 0) {
            break;
        }
    }

    return lead << 2 | trail << 4 | (count != 0 && lead == count) << 6;
}


/*
 * Step 5 copies the UTF-8 of most code points without decoding it (only
 * those whose first byte may start White_Space or U+2800 are decoded):
 * every code point, between two letters, gives what utf8proc's NFC of it
 * gives, or one space for White_Space, nothing for Default_Ignorable; and
 * is counted as one character (the length message with a maximum of 0).
 */

static void
collapse_all(void)
{
    int                 ws;
    char                src[8], *o, *name, msg[MANTA_MESSAGE_MAX],
                        want[MANTA_MESSAGE_MAX];
    size_t              name_len, bad, checked, count;
    int32_t             cp;
    manta_reason_t      rc;
    utf8proc_ssize_t    n, i;
    utf8proc_int32_t    c;
    utf8proc_uint8_t   *nfc;
    manta_body_opts_t   opts;

    opts.name_max_length = 64;
    opts.name_re = NULL;
    opts.unknown_fields = MANTA_UNKNOWN_FIELDS_REJECT;
    opts.client_secret = MANTA_CLIENT_SECRET_REJECT;

    bad = 0;
    checked = 0;

    for (cp = 0x80; cp <= 0x10ffff; cp++) {

        if (cp == 0xd800) {
            cp = 0xe000;
        }

        src[0] = 'a';
        o = manta_utf8_encode(src + 1, cp);
        *o++ = 'b';

        opts.name_max_length = 64;

        rc = alloc_name_normalize(&opts, src, (size_t) (o - src), &name,
                                  &name_len, msg, sizeof(msg));

        if (rc != MANTA_OK) {
            continue;
        }

        checked++;

        ws = (cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a)
              || cp == 0x2028 || cp == 0x2029 || cp == 0x202f
              || cp == 0x205f || cp == 0x3000);

        if (ws) {
            bad += (name_len != 3 || memcmp(name, "a b", 3) != 0);

        } else if (utf8proc_get_property(cp)->ignorable) {
            bad += (name_len != 2 || memcmp(name, "ab", 2) != 0);

        } else {
            n = utf8proc_map((const utf8proc_uint8_t *) src, o - src, &nfc,
                             UTF8PROC_STABLE | UTF8PROC_COMPOSE);

            bad += (n < 0 || (size_t) n != name_len
                    || memcmp(nfc, name, name_len) != 0);

            free(nfc);
        }

        /* counted one code point each */

        count = 0;

        for (i = 0; i < (utf8proc_ssize_t) name_len; i += n) {
            n = utf8proc_iterate((const utf8proc_uint8_t *) name + i,
                                 (utf8proc_ssize_t) name_len - i, &c);
            if (n <= 0) {
                bad++;
                break;
            }

            count++;
        }

        free(name);

        opts.name_max_length = 0;

        rc = alloc_name_normalize(&opts, src, (size_t) (o - src), &name,
                                  &name_len, msg, sizeof(msg));

        snprintf(want, sizeof(want), "name is %zu characters long, at most "
                 "0 are allowed", count);

        if (rc != MANTA_INVALID_NAME || strcmp(msg, want) != 0) {
            if (bad++ < 5) {
                diag("U+%04X: %s", (unsigned) cp, msg);
            }
        }
    }

    ok(checked > 100000 && bad == 0, "collapse: %zu code points between "
       "letters as NFC and White_Space say, each counted once (%zu wrong)",
       checked, bad);

    /* the bidi controls, and only they, from U+0100 to U+2FFF */

    bad = 0;
    opts.name_max_length = 64;

    for (cp = 0x100; cp < 0x3000; cp++) {
        src[0] = 'a';
        o = manta_utf8_encode(src + 1, cp);
        *o++ = 'b';

        rc = alloc_name_normalize(&opts, src, (size_t) (o - src), &name,
                                  &name_len, msg, sizeof(msg));

        if (rc == MANTA_OK) {
            free(name);
        }

        ws = (cp == 0x061c || cp == 0x200e || cp == 0x200f
              || (cp >= 0x202a && cp <= 0x202e)
              || (cp >= 0x2066 && cp <= 0x2069));

        bad += (ws != (strstr(msg, "bidirectional") != NULL));
    }

    ok(bad == 0, "bidi: U+0100 .. U+2FFF rejected as bidi controls exactly "
       "when they are (%zu wrong)", bad);
}


/*
 * The pairs the one-pass scanner composes (manta_nfc_pair(), generated by
 * tools/gen_nfc_qc.c), each against utf8proc: S printable ASCII (not the
 * space, '"' or '\\') or plain with no non-starter trailing its
 * decomposition, M a mark of a combining class other than 0 and
 * NFC_Quick_Check Maybe, C plain and utf8proc's NFC of S M, never the S
 * of a pair; each pair once.
 */

static void
compose_table(void)
{
    size_t            i, j, n, bad;
    int32_t           s, m, c;
    utf8proc_int32_t  cps[2], out[8];

    static int32_t    pair[4096][3];

    bad = 0;

    for (n = 0; manta_nfc_pair(n, &s, &m, &c) && n < 4096; n++) {
        cps[0] = s;
        cps[1] = m;

        if (!((s > 0x20 && s < 0x7f && s != '"' && s != '\\')
              || manta_name_plain(s))
            || (manta_nfc_qc(s) & 0x30) != 0
            || utf8proc_get_property(m)->combining_class == 0
            || (manta_nfc_qc(m) & 3) != MANTA_NFC_MAYBE
            || manta_name_plain(m) || !manta_name_plain(c)
            || nfc_of(cps, 2, out) != 1 || out[0] != c)
        {
            if (bad++ == 0) {
                diag("pair %zu: U+%04X U+%04X -> U+%04X", n, (unsigned) s,
                     (unsigned) m, (unsigned) c);
            }
        }

        pair[n][0] = s;
        pair[n][1] = m;
        pair[n][2] = c;
    }

    for (i = 0; i < n; i++) {
        for (j = 0; j < n; j++) {
            bad += (pair[j][0] == pair[i][2]
                    || (j != i && pair[j][0] == pair[i][0]
                        && pair[j][1] == pair[i][1]));
        }
    }

    ok(n > 500 && n < 4096, "compose: %zu pairs", n);
    is_int(bad, 0, "compose: every pair's properties and composite are "
           "utf8proc's, no composite is composed again, no pair twice");
    ok(!manta_nfc_pair(n, &s, &m, &c), "compose: no pair past the last");
}


/*
 * Every pair composed by manta_body_check_text() as manta_body_check()
 * does it (utf8proc, tested above): the pair alone, between letters,
 * between spaces, then another mark of each of four classes, a Hangul
 * vowel jamo, a space between the two, a length that just fits and one
 * that does not, a pattern; S and M raw and escaped.
 */

static void
compose_pairs(const manta_body_opts_t *opts)
{
    size_t   i, bad, names;
    int32_t  s, m, c;

    bad = 0;
    names = 0;

    for (i = 0; manta_nfc_pair(i, &s, &m, &c); i++) {
        compose_pair(opts, s, m, c, &bad, &names);
    }

    ok(names > 10000, "compose: %zu names of %zu pairs", names, i);
    is_int(bad, 0, "compose: every pair taken and composed as the general "
           "path composes it");
}


static void
compose_pair(const manta_body_opts_t *opts, int32_t s, int32_t m,
    int32_t c, size_t *bad, size_t *names)
{
    int                taken;
    char               name[64], out[64], want[16], err[128];
    size_t             e, k, n, out_len, want_len, pair;
    manta_re_t        *re;
    manta_body_opts_t  o;

    static const int32_t  after[] = { 0x0323, 0x0301, 0x0345, 0x05b0,
                                      0x1161 };

    want_len = (size_t) (manta_utf8_encode(want, c) - want);
    o = *opts;

    for (e = 0; e < 4; e++) {
        pair = compose_put(name, s, e & 1);
        pair += compose_put(name + pair, m, e & 2);

        /* alone: taken, C (or a mark at the start, as judged) */

        if (!compose_same(opts, name, pair, &taken, out, &out_len)
            || !taken
            || (out_len != 0
                && (out_len != want_len || memcmp(out, want, want_len))))
        {
            if ((*bad)++ == 0) {
                diag("U+%04X U+%04X (%zu): alone", (unsigned) s,
                     (unsigned) m, e);
            }
        }

        /* between letters: taken, accepted, C */

        n = 0;
        name[n++] = 'x';
        n += compose_put(name + n, s, e & 1);
        n += compose_put(name + n, m, e & 2);
        name[n++] = 'y';

        if (!compose_same(opts, name, n, &taken, out, &out_len) || !taken
            || out_len != want_len + 2 || memcmp(out + 1, want, want_len))
        {
            if ((*bad)++ == 0) {
                diag("U+%04X U+%04X (%zu): between letters", (unsigned) s,
                     (unsigned) m, e);
            }
        }

        /* three code points: just fits, one too many, a pattern */

        for (k = 2; k <= 3; k++) {
            o.name_max_length = k;

            if (!compose_same(&o, name, n, &taken, out, &out_len) || !taken)
            {
                if ((*bad)++ == 0) {
                    diag("U+%04X U+%04X (%zu): at most %zu", (unsigned) s,
                         (unsigned) m, e, k);
                }
            }
        }

        o.name_max_length = 64;
        re = manta_re_compile(S("^x.y$"), MANTA_RE_UTF, err, sizeof(err));

        if (re != NULL) {
            o.name_re = re;
            *bad += !compose_same(&o, name, n, &taken, out, &out_len)
                    || !taken || out_len != want_len + 2;
            o.name_re = NULL;
            manta_re_free(re);
        }

        /* between spaces: as alone */

        name[0] = ' ';
        name[n - 1] = ' ';

        if (!compose_same(opts, name, n, &taken, out, &out_len) || !taken
            || (out_len != 0
                && (out_len != want_len || memcmp(out, want, want_len))))
        {
            if ((*bad)++ == 0) {
                diag("U+%04X U+%04X (%zu): between spaces", (unsigned) s,
                     (unsigned) m, e);
            }
        }

        /* then another mark, or a jamo: left, or the same answer */

        for (k = 0; k < sizeof(after) / sizeof(after[0]); k++) {
            n = pair + compose_put(name + pair, after[k], e & 2);

            if (!compose_same(opts, name, n, &taken, out, &out_len)) {
                if ((*bad)++ == 0) {
                    diag("U+%04X U+%04X U+%04X (%zu): differ", (unsigned) s,
                         (unsigned) m, (unsigned) after[k], e);
                }
            }
        }

        /* a space between the two: never composed */

        n = compose_put(name, s, e & 1);
        name[n++] = ' ';
        n += compose_put(name + n, m, e & 2);

        *bad += !compose_same(opts, name, n, &taken, out, &out_len);

        *names += 13;
    }
}


/*
 * Every code point of NFC_Quick_Check Maybe (marks, the Hangul jamo, the
 * starters that compose) after printable ASCII and a sample of plain code
 * points and White_Space, most of them not the S of a pair, and after
 * what the scanner writes as two bytes or as a space: what
 * manta_body_check_text() takes, it takes with the general path's answer.
 */

static void
compose_others(const manta_body_opts_t *opts)
{
    int      taken;
    char     name[64], out[64];
    size_t   bad, names, composed, e, n, k, out_len;
    int32_t  s, m;

    static const char  *const before[] = {
        "\\\"", "\\\\", "\\/", "\\u0022", "\\u005C", " ", "\\u0020",
        "\\u3000", "\xe3\x80\x80", "\xc2\xa0", "e\xcc\x81", "e\\u0301"
    };

    bad = 0;
    names = 0;
    composed = 0;

    for (m = 0x80; m <= 0x10ffff; m++) {
        if ((m >= 0xd800 && m <= 0xdfff)
            || (manta_nfc_qc(m) & 3) != MANTA_NFC_MAYBE)
        {
            continue;
        }

        for (s = 0x20; s <= 0x10ffff; s += (s < 0x7f) ? 1 : 61) {
            if (s >= 0xd800 && s <= 0xdfff) {
                continue;
            }

            for (e = 0; e < 2; e++) {
                n = 0;
                name[n++] = 'x';
                n += compose_put(name + n, s, 0);
                n += compose_put(name + n, m, (int) e);
                name[n++] = 'y';

                names++;

                if (!compose_same(opts, name, n, &taken, out, &out_len)) {
                    if (bad++ == 0) {
                        diag("x U+%04X U+%04X y (%zu): differ", (unsigned) s,
                             (unsigned) m, e);
                    }
                }

                composed += taken;
            }
        }

        for (k = 0; k < sizeof(before) / sizeof(before[0]); k++) {
            for (e = 0; e < 2; e++) {
                n = (size_t) sprintf(name, "x%s", before[k]);
                n += compose_put(name + n, m, (int) e);
                name[n++] = 'y';

                names++;

                if (!compose_same(opts, name, n, &taken, out, &out_len)) {
                    if (bad++ == 0) {
                        diag("x%s U+%04X y (%zu): differ", before[k],
                             (unsigned) m, e);
                    }
                }

                composed += taken;
            }
        }
    }

    ok(names > 100000, "compose: %zu names of a Maybe code point after "
       "another, %zu taken", names, composed);
    is_int(bad, 0, "compose: each taken with the general path's answer");
}


/*
 * manta_body_check_text() and manta_body_check() on {"name":"<name>"}:
 * 0 when the first takes the body with another answer, message or name
 * than the second's (JSON-escaped); *taken whether it took it, out and
 * *out_len its name (0 when not accepted)
 */

static int
compose_same(const manta_body_opts_t *opts, const char *name, size_t len,
    int *taken, char *out, size_t *out_len)
{
    char            body[128], gen[256], esc[256], msg[MANTA_MESSAGE_MAX],
                    gen_msg[MANTA_MESSAGE_MAX];
    size_t          n, gen_len;
    manta_reason_t  rc, gen_rc;

    memcpy(body, "{\"name\":\"", 9);
    memcpy(body + 9, name, len);
    memcpy(body + 9 + len, "\"}", 2);
    n = len + 11;

    *out_len = 0;

    *taken = manta_body_check_text(opts, body, n, out, n, out_len, &rc, msg,
                                   sizeof(msg));

    if (!*taken) {
        *out_len = 0;
        return 1;
    }

    gen_rc = manta_body_check(opts, body, n, gen, sizeof(gen), &gen_len,
                              gen_msg, sizeof(gen_msg));

    if (rc != gen_rc || strcmp(msg, gen_msg) != 0) {
        return 0;
    }

    if (rc != MANTA_OK) {
        return *out_len == 0;
    }

    return (size_t) (manta_json_escape(esc, gen, gen_len) - esc) == *out_len
           && memcmp(esc, out, *out_len) == 0;
}


/* cp at o as UTF-8, or as the JSON escape \uXXXX (two for a pair) */

static size_t
compose_put(char *o, int32_t cp, int escaped)
{
    if (!escaped) {
        return (size_t) (manta_utf8_encode(o, cp) - o);
    }

    if (cp < 0x10000) {
        return (size_t) sprintf(o, "\\u%04x", (unsigned) cp);
    }

    return (size_t) sprintf(o, "\\u%04X\\u%04x",
                            (unsigned) (0xd800 + ((cp - 0x10000) >> 10)),
                            (unsigned) (0xdc00 + ((cp - 0x10000) & 0x3ff)));
}
