/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * manta_request.c and manta_name.c: body checks, name normalization, the
 * forwarded body.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manta_json.h"
#include "manta_request.h"
#include "manta_util.h"
#include "alloc.h"
#include "tap.h"
#include "tests.h"


#define S(s)  (s), (sizeof(s) - 1)

/* U+65E5, three bytes */
#define CJK   "\xe6\x97\xa5"


static void body_is(const manta_body_opts_t *opts, const char *data,
    size_t len, manta_reason_t expected, const char *name,
    const char *test);
static void name_is(const manta_body_opts_t *opts, const char *src,
    size_t len, const char *expected, const char *test);
static void build_is(const char *prefix, const char *name,
    const char *expected, const char *test);
static void escapes(const manta_body_opts_t *opts);
static void ascii(const manta_body_opts_t *opts);
static void text(const manta_body_opts_t *opts);
static int text_is(const manta_body_opts_t *opts, const char *data,
    size_t len, const char *test);
static size_t text_utf8(char *dst, uint32_t cp);
static int text_cp_same(const manta_body_opts_t *opts, const char *data,
    size_t len, int taken);
static void text_hex(const manta_body_opts_t *opts);
static void text_white(const manta_body_opts_t *opts);
static void text_ends(const manta_body_opts_t *opts);
static void body_runs(const manta_body_opts_t *opts);
static int text_same(const manta_body_opts_t *opts, const char *data,
    size_t len, int *taken);


/* bodies checked with the default options */

typedef struct {
    const char      *data;
    size_t           len;
    manta_reason_t   expected;
    const char      *name;
    const char      *test;
} body_case_t;


static const body_case_t  body_cases[] = {
    /* happy paths */

    { S("{\"name\":\"Alice\"}"), MANTA_OK, "Alice", "body: plain name" },
    { S(" \r\n{ \"name\" : \"Bob Smith\" }\n"), MANTA_OK, "Bob Smith",
      "body: white space around JSON" },
    { S("{\"name\":\"a\\\"b\\\\c\\/d\"}"), MANTA_OK, "a\"b\\c/d",
      "body: JSON escapes decoded" },
    { S("{\"name\":\"e\\u0301\"}"), MANTA_OK, "\xc3\xa9",
      "body: NFC (e + U+0301 -> U+00E9)" },
    { S("{\"name\":\"e\xcc\x81\"}"), MANTA_OK, "\xc3\xa9",
      "body: NFC of raw UTF-8" },
    { S("{\"name\":\"\\u3000Bob\\u3000\"}"), MANTA_OK, "Bob",
      "body: U+3000 trimmed" },
    { S("{\"name\":\"a  \\u00a0 b\"}"), MANTA_OK, "a b",
      "body: inner white space collapsed" },
    { S("{\"name\":\"a\\u200bb\\u200c\\u200d\\u2060\\ufeffc\"}"),
      MANTA_OK, "abc",
      "body: zero-width characters removed" },
    { S("{\"name\":\"\\ud83d\\ude00\"}"), MANTA_OK, "\xf0\x9f\x98\x80",
      "body: surrogate pair escape" },

    /* invalid_json */

    { S(""), MANTA_INVALID_JSON, NULL, "body: empty" },
    { S("  \n"), MANTA_INVALID_JSON, NULL, "body: white space only" },
    { S("[\"Alice\"]"), MANTA_INVALID_JSON, NULL, "body: top-level array" },
    { S("\"Alice\""), MANTA_INVALID_JSON, NULL, "body: top-level string" },
    { S("null"), MANTA_INVALID_JSON, NULL, "body: null" },
    { S("{\"name\":\"a\"} x"), MANTA_INVALID_JSON, NULL,
      "body: trailing garbage" },
    { S("{\"name\":\"a\"}{}"), MANTA_INVALID_JSON, NULL, "body: two objects" },
    { S("{\"name\":\"a\""), MANTA_INVALID_JSON, NULL, "body: truncated" },
    { S("{\"name\":\"a\",\"name\":\"b\"}"), MANTA_INVALID_JSON, NULL,
      "body: duplicate keys" },
    { S("{\"name\":\"\xff\"}"), MANTA_INVALID_JSON, NULL,
      "body: invalid UTF-8" },
    { S("{\"name\":\"\xed\xa0\x80\"}"), MANTA_INVALID_JSON, NULL,
      "body: UTF-8 encoded surrogate" },
    { S("{\"name\":\"a\\u0000b\"}"), MANTA_INVALID_JSON, NULL,
      "body: \\u0000" },
    { S("{\"name\":\"a\0b\"}"), MANTA_INVALID_JSON, NULL,
      "body: raw NUL in a string" },
    { S("{\"name\":\"a\"}\0"), MANTA_INVALID_JSON, NULL,
      "body: raw NUL after the object" },
    { S("{\"name\":\"a\\ud800\"}"), MANTA_INVALID_JSON, NULL,
      "body: lone surrogate escape" },
    { S("{'name':'a'}"), MANTA_INVALID_JSON, NULL, "body: single quotes" },

    /* invalid_name */

    { S("{}"), MANTA_INVALID_NAME, NULL, "body: name missing" },
    { S("{\"Name\":\"a\"}"), MANTA_INVALID_NAME, NULL,
      "body: \"Name\" is not name" },
    { S("{\"name\":1}"), MANTA_INVALID_NAME, NULL, "body: name a number" },
    { S("{\"name\":null}"), MANTA_INVALID_NAME, NULL, "body: name null" },
    { S("{\"name\":[\"a\"]}"), MANTA_INVALID_NAME, NULL,
      "body: name an array" },
    { S("{\"name\":\"\"}"), MANTA_INVALID_NAME, NULL, "body: name empty" },
    { S("{\"name\":\" \\u3000\\t\"}"), MANTA_INVALID_NAME, NULL,
      "body: name with a tab" },
    { S("{\"name\":\" \\u3000\\u00a0 \"}"), MANTA_INVALID_NAME, NULL,
      "body: name white space only" },
    { S("{\"name\":\"\\u200b\\ufeff\"}"), MANTA_INVALID_NAME, NULL,
      "body: name zero-width only" },
    { S("{\"name\":\"abc\\u202Edef\"}"), MANTA_INVALID_NAME, NULL,
      "body: bidi override U+202E" },
    { S("{\"name\":\"a\\tb\"}"), MANTA_INVALID_NAME, NULL,
      "body: C0 control (tab)" },

    /* secret, unknown members */

    { S("{\"name\":\"a\",\"secret\":\"x\"}"), MANTA_CLIENT_SECRET, NULL,
      "body: secret rejected" },
    { S("{\"secret\":null,\"name\":\"a\"}"), MANTA_CLIENT_SECRET, NULL,
      "body: secret null rejected" },
    { S("{\"name\":\"\",\"secret\":\"x\"}"), MANTA_INVALID_NAME, NULL,
      "body: invalid_name before secret" },
    { S("{\"name\":\"a\",\"age\":3}"), MANTA_UNKNOWN_FIELD, NULL,
      "body: unknown member rejected" },
    { S("{\"name\":\"a\",\"secret\":\"x\",\"age\":3}"),
      MANTA_CLIENT_SECRET, NULL,
      "body: client_secret before unknown" },
    { S("{\"age\":3}"), MANTA_INVALID_NAME, NULL,
      "body: invalid_name before unknown" },
};


void
test_body(void)
{
    char                *s, *e, err[128];
    size_t               i;
    manta_re_t          *re;
    manta_body_opts_t    opts, o;
    const body_case_t   *c;

    opts.name_max_length = 64;
    opts.name_re = NULL;
    opts.unknown_fields = MANTA_UNKNOWN_FIELDS_REJECT;
    opts.client_secret = MANTA_CLIENT_SECRET_REJECT;

    for (i = 0; i < sizeof(body_cases) / sizeof(body_cases[0]); i++) {
        c = &body_cases[i];
        body_is(&opts, c->data, c->len, c->expected, c->name, c->test);
    }

    o = opts;
    o.client_secret = MANTA_CLIENT_SECRET_REPLACE;

    body_is(&o, S("{\"name\":\"a\",\"secret\":\"x\"}"), MANTA_OK, "a",
            "body: secret ignored with replace");
    body_is(&o, S("{\"name\":\"a\",\"secret\":\"x\",\"age\":3}"),
            MANTA_UNKNOWN_FIELD, NULL,
            "body: replace, unknown member still rejected");

    o.unknown_fields = MANTA_UNKNOWN_FIELDS_DROP;

    body_is(&o, S("{\"name\":\"a\",\"secret\":\"x\",\"age\":3,\"x\":{}}"),
            MANTA_OK, "a", "body: replace and drop");

    o = opts;
    o.unknown_fields = MANTA_UNKNOWN_FIELDS_DROP;

    body_is(&o, S("{\"age\":3,\"name\":\"a\"}"), MANTA_OK, "a",
            "body: unknown member dropped");
    body_is(&o, S("{\"age\":3,\"name\":\"a\",\"secret\":\"s\"}"),
            MANTA_CLIENT_SECRET, NULL, "body: drop, secret still rejected");

    escapes(&opts);
    ascii(&opts);
    text(&opts);
    text_hex(&opts);
    text_white(&opts);
    text_ends(&opts);
    body_runs(&opts);

    /* lengths in code points */

    s = repeat("{\"name\":\"", CJK, 64, "\"}");
    e = repeat("", CJK, 64, "");
    body_is(&opts, s, strlen(s), MANTA_OK, e, "body: 64 CJK pass");
    free(s);

    s = repeat("{\"name\":\"", CJK, 65, "\"}");
    body_is(&opts, s, strlen(s), MANTA_INVALID_NAME, NULL,
            "body: 65 CJK fail");
    free(s);

    s = repeat("", "a", 64, "");
    name_is(&opts, s, strlen(s), s, "name: 64 ASCII pass");
    free(s);

    s = repeat("", "a", 65, "");
    name_is(&opts, s, strlen(s), NULL, "name: 65 ASCII fail");
    free(s);

    s = repeat("   ", CJK, 64, " \xe3\x80\x80 ");
    name_is(&opts, s, strlen(s), e, "name: trimmed white space is free");
    free(s);

    s = repeat("\xe2\x80\x8b", CJK, 64, "\xef\xbb\xbf");
    name_is(&opts, s, strlen(s), e, "name: removed zero-width is free");
    free(s);
    free(e);

    s = repeat("", "a ", 32, "");
    s[63] = '\0';
    name_is(&opts, s, 63, s, "name: 63 with inner spaces pass");
    free(s);

    s = repeat("", "a  ", 32, "b");
    name_is(&opts, s, strlen(s), NULL, "name: collapsed spaces count");
    free(s);

    o = opts;
    o.name_max_length = 1;
    name_is(&o, S("e\xcc\x81"), "\xc3\xa9", "name: length counted after NFC");

    /* normalization on its own */

    name_is(&opts, S("  John   Doe  "), "John Doe", "name: ASCII trim");
    name_is(&opts, S("\xe6\x97\xa5\xe6\x9c\xac"), "\xe6\x97\xa5\xe6\x9c\xac",
            "name: CJK unchanged");
    name_is(&opts, S("A\xcc\x8a"), "\xc3\x85", "name: A + ring -> U+00C5");
    name_is(&opts, S("\xe2\x84\xab"), "\xc3\x85",
            "name: U+212B (Angstrom) -> U+00C5 (canonical)");
    name_is(&opts, S("\xef\xac\x81"), "\xef\xac\x81",
            "name: U+FB01 ligature kept (NFC, not NFKC)");

    /* text NFC cannot change skips utf8proc; what it can change does not */

    name_is(&opts, S("\xea\xb0\x80\xe1\x86\xa8"), "\xea\xb0\x81",
            "name: Hangul LV + trailing jamo composes (U+AC00 U+11A8)");
    name_is(&opts, S("\xe1\x84\x80\xe1\x85\xa1"), "\xea\xb0\x80",
            "name: Hangul L + V jamo compose (U+1100 U+1161)");
    name_is(&opts, S("\xe0\xae\x92\xe0\xaf\x97"), "\xe0\xae\x94",
            "name: Tamil O + AU length mark compose (U+0B92 U+0BD7)");
    name_is(&opts, S("\xe2\x84\xa6 \xe6\x97\xa5"), "\xce\xa9 \xe6\x97\xa5",
            "name: singleton U+2126 -> U+03A9 among inert text");
    name_is(&opts, S("\xd0\x96\xd1\x91\xe3\x81\x8b\xe3\x82\x99"),
            "\xd0\x96\xd1\x91\xe3\x81\x8c",
            "name: kana + combining voiced mark composes (U+304B U+3099)");
    name_is(&opts, S("a\xe2\x80\x80" "b"), "a b",
            "name: U+2000 is white space");
    name_is(&opts, S("a\xe1\x9a\x80\xe2\x80\xa8\xe2\x80\xa9\xe2\x80\xaf"
                     "\xe2\x81\x9f" "b"),
            "a b", "name: U+1680 U+2028 U+2029 U+202F U+205F collapsed");
    name_is(&opts, S("a \xe2\x80\x8b b"), "a b",
            "name: zero-width between spaces");
    name_is(&opts, S("a\xe2\x80\x8b" "b"), "ab",
            "name: zero-width between letters");
    name_is(&opts, S("\xc2\xa0" "a\xc2\xa0"), "a", "name: U+00A0 trimmed");
    name_is(&opts, S("a\0b"), NULL, "name: NUL");
    name_is(&opts, S("a\nb"), NULL, "name: LF");
    name_is(&opts, S("a\x7f"), NULL, "name: DEL");
    name_is(&opts, S("a\xc2\x85"), NULL, "name: U+0085 (C1)");
    name_is(&opts, S("a\xc2\x9f"), NULL, "name: U+009F (C1)");
    name_is(&opts, S("a\xe2\x80\xaa"), NULL, "name: U+202A");
    name_is(&opts, S("a\xe2\x81\xa6"), NULL, "name: U+2066");
    name_is(&opts, S("a\xe2\x81\xa9"), NULL, "name: U+2069");
    name_is(&opts, S("a\xe2\x80\x8e"), NULL, "name: U+200E (LRM)");
    name_is(&opts, S("\xc3"), NULL, "name: truncated UTF-8");
    name_is(&opts, S("\xc0\xaf"), NULL, "name: overlong UTF-8");
    name_is(&opts, S("\xed\xa0\x80"), NULL, "name: encoded surrogate");
    name_is(&opts, S("\xf4\x90\x80\x80"), NULL, "name: above U+10FFFF");
    name_is(&opts, S(""), NULL, "name: empty");
    name_is(&opts, S("   "), NULL, "name: spaces only");

    /* the name pattern, UTF mode */

    re = manta_re_compile(S("^\\p{L}+( \\p{L}+)*$"), MANTA_RE_UTF, err,
                          sizeof(err));
    ok(re != NULL, "name pattern compiles");

    o = opts;
    o.name_re = re;

    body_is(&o, S("{\"name\":\"  Zo\xc3\xab  Smith \"}"), MANTA_OK,
            "Zo\xc3\xab Smith", "pattern: matches after normalization");
    body_is(&o, S("{\"name\":\"R2D2\"}"), MANTA_INVALID_NAME, NULL,
            "pattern: no match");
    name_is(&o, S("e\xcc\x81t\xc3\xa9"), "\xc3\xa9t\xc3\xa9",
            "pattern: matched on the NFC form");

    manta_re_free(re);

    re = manta_re_compile(S("^[a-z]+$"), MANTA_RE_UTF, err, sizeof(err));
    o.name_re = re;
    name_is(&o, S("abc\xe2\x80\x8b"), "abc",
            "pattern: zero-width removed before matching");
    name_is(&o, S("abc "), "abc", "pattern: trailing space trimmed before");
    manta_re_free(re);

    /* the forwarded body */

    build_is("{\"secret\":\"s\",\"name\":\"", "Alice",
             "{\"secret\":\"s\",\"name\":\"Alice\"}", "build: plain");
    build_is("{\"secret\":\"s\",\"name\":\"", "a\"b\\c",
             "{\"secret\":\"s\",\"name\":\"a\\\"b\\\\c\"}",
             "build: name with '\"' and '\\'");
    build_is("{\"secret\":\"s\",\"name\":\"", "Zo\xc3\xab \xe6\x97\xa5",
             "{\"secret\":\"s\",\"name\":\"Zo\xc3\xab \xe6\x97\xa5\"}",
             "build: UTF-8 unescaped");
    build_is("", "", "\"}", "build: empty prefix and name");
}


static void
body_is(const manta_body_opts_t *opts, const char *data, size_t len,
    manta_reason_t expected, const char *name, const char *test)
{
    char            *out, msg[MANTA_MESSAGE_MAX];
    size_t           out_len;
    manta_reason_t   rc;

    out = (char *) 1;
    out_len = 77;

    rc = alloc_body_check(opts, data, len, &out, &out_len, msg, sizeof(msg));

    is_int(rc, expected, "%s: reason %d", test, (int) expected);

    if (expected != MANTA_OK) {
        ok(out == NULL && out_len == 0, "%s: no name", test);
        ok(msg[0] != '\0', "%s: a message (%s)", test, msg);
        return;
    }

    if (rc == MANTA_OK) {
        is_mem(out, out_len, name, "%s: name", test);
        ok(out[out_len] == '\0', "%s: NUL-terminated", test);
    }

    free(out);
}


static void
name_is(const manta_body_opts_t *opts, const char *src, size_t len,
    const char *expected, const char *test)
{
    char            *out, msg[MANTA_MESSAGE_MAX];
    size_t           out_len;
    manta_reason_t   rc;

    out = (char *) 1;
    out_len = 77;

    rc = alloc_name_normalize(opts, src, len, &out, &out_len, msg,
                              sizeof(msg));

    if (expected == NULL) {
        is_int(rc, MANTA_INVALID_NAME, "%s: invalid_name", test);
        ok(out == NULL && out_len == 0, "%s: no name", test);
        ok(msg[0] != '\0', "%s: a message (%s)", test, msg);
        return;
    }

    if (is_int(rc, MANTA_OK, "%s: ok", test)) {
        is_mem(out, out_len, expected, "%s: name", test);
        ok(out[out_len] == '\0', "%s: NUL-terminated", test);
        free(out);
    }
}


static void
build_is(const char *prefix, const char *name, const char *expected,
    const char *test)
{
    char    *buf;
    size_t   n, len;

    len = manta_body_build_len(strlen(prefix), name, strlen(name));
    is_int(len, strlen(expected), "%s: length", test);

    buf = malloc(len);
    n = manta_body_build(buf, prefix, strlen(prefix), name, strlen(name));

    is_int(n, len, "%s: written length", test);
    is_mem(buf, n, expected, "%s", test);

    free(buf);
}


/*
 * The fast path decodes JSON escapes itself, into the end of the name
 * buffer: the same answer, name and message as jansson's, with a buffer of
 * manta_name_size(len) bytes and with the smallest that still decodes
 * (2 * len + 1); what jansson rejects is jansson's to answer.
 */

static void
escapes(const manta_body_opts_t *opts)
{
    char            *name, msg[MANTA_MESSAGE_MAX], json_msg[MANTA_MESSAGE_MAX];
    char            *json_name;
    size_t           i, k, len, size, name_len, json_len;
    manta_reason_t   rc, json_rc;

    static const struct {
        const char      *body;
        manta_reason_t   reason;
        const char      *name;
        const char      *message;
        const char      *test;
    } cases[] = {
        { "{\"name\":\"  Caf\\u00e9 \\u3000 cr\\u00e8me   "
          "br\\u00fbl\\u00e9e \"}",
          MANTA_OK, "Caf\xc3\xa9 cr\xc3\xa8" "me br\xc3\xbbl\xc3\xa9" "e", NULL,
          "issue 14's name: \\u escapes, U+3000, white space" },
        { "{\"name\":\"\\u00E9\\u00e9\"}", MANTA_OK, "\xc3\xa9\xc3\xa9", NULL,
          "hex digits of either case" },
        { "{\"name\":\"a\\\"b\\\\c\\/d\"}", MANTA_OK, "a\"b\\c/d", NULL,
          "\\\" \\\\ \\/" },
        { "{\"name\":\"\\u0041\\u0100\\u4e00\\uD83D\\uDE00\"}", MANTA_OK,
          "A\xc4\x80\xe4\xb8\x80\xf0\x9f\x98\x80", NULL,
          "one to four UTF-8 bytes, a surrogate pair in upper case" },
        { "{\"name\":\"x \\u00e9 \xc3\xa9 \\u0065\\u0301\"}", MANTA_OK,
          "x \xc3\xa9 \xc3\xa9 \xc3\xa9", NULL,
          "escapes among raw UTF-8; escaped e + U+0301 composes" },
        { "{\"name\":\"a\\u0344\\u0344\"}", MANTA_OK,
          "\xc3\xa4\xcc\x81\xcc\x88\xcc\x81", NULL,
          "NFC longer than the decoded name (U+0344 -> two marks)" },
        { "{\"name\":\"a\\tb\"}", MANTA_INVALID_NAME, NULL,
          "name contains a control character (U+0009)", "\\t: a control" },
        { "{\"name\":\"\\b\\f\\n\\r\"}", MANTA_INVALID_NAME, NULL,
          "name contains a control character (U+0008)",
          "\\b \\f \\n \\r: controls" },
        { "{\"name\":\"a\\u202eb\"}", MANTA_INVALID_NAME, NULL,
          "name contains a bidirectional control character (U+202E)",
          "escaped bidi control" },
        { "{\"name\":\"a\\u0000b\"}", MANTA_INVALID_JSON, NULL,
          "body contains a NUL character (\\u0000)", "\\u0000" },
        { "{\"name\":\"a\\udc00\"}", MANTA_INVALID_JSON, NULL, NULL,
          "lone low surrogate" },
        { "{\"name\":\"a\\ud800\"}", MANTA_INVALID_JSON, NULL, NULL,
          "lone high surrogate" },
        { "{\"name\":\"a\\ud800\\u0041\"}", MANTA_INVALID_JSON, NULL, NULL,
          "high surrogate before another escape" },
        { "{\"name\":\"a\\udc00\\ud800\"}", MANTA_INVALID_JSON, NULL, NULL,
          "reversed surrogate pair" },
        { "{\"name\":\"a\\x\"}", MANTA_INVALID_JSON, NULL, NULL,
          "unknown escape" },
        { "{\"name\":\"a\\u12\"}", MANTA_INVALID_JSON, NULL, NULL,
          "\\u with two hex digits" },
        { "{\"name\":\"a\\u12g4\"}", MANTA_INVALID_JSON, NULL, NULL,
          "\\u with a bad hex digit" },
        { "{\"name\":\"a\\", MANTA_INVALID_JSON, NULL, NULL,
          "body ends in an escape" },
        { "{\"name\":\"a\\u00e9\"", MANTA_INVALID_JSON, NULL, NULL,
          "body ends after an escape" },
        { "{\"name\":\"a\\u00e9\",\"age\":1}", MANTA_UNKNOWN_FIELD, NULL,
          "unknown member \"age\"", "escaped name, another member" },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        len = strlen(cases[i].body);

        json_rc = alloc_body_check_json(opts, cases[i].body, len, &json_name,
                                        &json_len, json_msg,
                                        sizeof(json_msg));

        is_int(json_rc, cases[i].reason, "escapes: %s: jansson's answer",
               cases[i].test);

        if (cases[i].message != NULL) {
            is_str(json_msg, cases[i].message, "escapes: %s: message",
                   cases[i].test);
        }

        for (k = 0; k < 2; k++) {
            size = k ? 2 * len + 1 : manta_name_size(len);

            name = malloc(size);
            if (name == NULL) {
                break;
            }

            rc = manta_body_check(opts, cases[i].body, len, name, size,
                                  &name_len, msg, sizeof(msg));

            is_int(rc, json_rc, "escapes: %s: same answer (%zu bytes)",
                   cases[i].test, size);
            is_str(msg, json_msg, "escapes: %s: same message (%zu bytes)",
                   cases[i].test, size);

            if (rc == MANTA_OK && json_rc == MANTA_OK) {
                is_mem(name, name_len, cases[i].name,
                       "escapes: %s: name (%zu bytes)", cases[i].test, size);
            }

            free(name);
        }

        free(json_name);
    }
}


/*
 * The ASCII bodies (once those of manta_body_check_ascii(), gone since
 * manta_body_check_text() took its place): text_is() holds
 * manta_body_check_text() to jansson on each, into a buffer of exactly len
 * bytes and never taking one a byte shorter.
 */

static void
ascii(const manta_body_opts_t *opts)
{
    int                 taken;
    char                body[64], err[128], *s;
    size_t              i, k, len, n;
    uint32_t            seed;
    manta_re_t         *re;
    manta_reason_t      rc;
    manta_body_opts_t   o;

    static const char  *const taken_bodies[] = {
        "{\"name\":\"  Team  Alpha  \"}",
        "{\"name\":\"Alice\"}",
        " \r\n{ \"name\" : \"Bob Smith\" }\n",
        "{\"name\":\"\"}",
        "{\"name\":\"        \"}",
        "{\"name\":\" \"}",
        "{\"name\":\"!#$%&'()*+,-./0123456789:;<=>?@[]^_`{|}~\"}",
        "{\"name\":\"abcdefg \"}",
        "{\"name\":\"abcdefgh\"}",
        "{\"name\":\"abcdefghi        j\"}"
    };

    /*
     * bodies manta_body_check_ascii() left to the general path that
     * manta_body_check_text() takes: an escape, UTF-8, U+3000
     */

    static const char  *const text_bodies[] = {
        "{\"name\":\"a\\\"b\"}",
        "{\"name\":\"Caf\xc3\xa9\"}",
        "{\"name\":\"abcdefgh\\u0041\"}",
        "{\"name\":\"   \xe3\x80\x80\"}"
    };

    static const char  *const left_bodies[] = {
        "{\"name\":\"a\x7f\"}",
        "{\"name\":\"abcdefg\x7f\"}",
        "{\"name\":\"a\tb\"}",
        "{\"name\":\"abc\"",
        "{\"name\":\"abc",
        "{\"name\":\"abc\"}x",
        "{\"name\":\"abc\",\"age\":3}",
        "{\"name\":\"abc\"}}",
        "{\"nam\":\"abc\"}",
        "[\"abc\"]",
        ""
    };

    static const unsigned char  stops[] = {
        0x00, 0x09, 0x1f, 0x20, 0x21, '"', '\\', 0x7e, 0x7f, 0x80, 0xc3,
        0xff, '}', 'a'
    };

    static const char  *const values[] = {
        "ab  cdefgh ijklmnopqrstu", "abc"
    };

    for (i = 0; i < sizeof(taken_bodies) / sizeof(taken_bodies[0]); i++) {
        taken = text_is(opts, taken_bodies[i], strlen(taken_bodies[i]),
                         "ascii: plain body");
        ok(taken, "ascii: plain body %zu taken", i);
    }

    for (i = 0; i < sizeof(text_bodies) / sizeof(text_bodies[0]); i++) {
        taken = text_is(opts, text_bodies[i], strlen(text_bodies[i]),
                        "ascii: escape or UTF-8");
        ok(taken, "ascii: escape or UTF-8 body %zu taken", i);
    }

    for (i = 0; i < sizeof(left_bodies) / sizeof(left_bodies[0]); i++) {
        taken = text_is(opts, left_bodies[i], strlen(left_bodies[i]),
                        "ascii: other body");
        ok(!taken, "ascii: other body %zu left to the general path", i);
    }

    /* a buffer one byte short of the body: left to the general path */

    s = malloc(sizeof("{\"name\":\"Alice\"}") - 2);
    ok(manta_body_check_text(opts, S("{\"name\":\"Alice\"}"), s,
                             sizeof("{\"name\":\"Alice\"}") - 2, &n,
                             &rc, err, sizeof(err))
       == 0, "ascii: buffer shorter than the body");
    free(s);

    /*
     * every byte that stops a word, at every place of a value across
     * three words (and the tail it leaves) and of one in the byte loop
     */

    for (k = 0; k < 2; k++) {
        len = strlen(values[k]);

        for (i = 0; i < len; i++) {
            for (n = 0; n < sizeof(stops); n++) {
                memcpy(body, "{\"name\":\"", 9);
                memcpy(body + 9, values[k], len);
                body[9 + i] = (char) stops[n];
                memcpy(body + 9 + len, "\"}", 2);

                text_is(opts, body, 9 + len + 2, "ascii: stop byte");
            }
        }
    }

    /* lengths: just fits, one too many, counted after collapsing */

    o = *opts;
    o.name_max_length = 8;

    ok(text_is(&o, S("{\"name\":\"  abcd efg  \"}"), "ascii: 8 fit"),
       "ascii: 8 of 8 taken");
    ok(text_is(&o, S("{\"name\":\"abcd  efgh\"}"), "ascii: 9 too many"),
       "ascii: 9 of 8 taken");
    ok(text_is(&o, S("{\"name\":\"abcdefghijklmnopqrstuvwxyz\"}"),
                "ascii: 26 too many"), "ascii: 26 of 8 taken");

    /* the pattern sees the collapsed name */

    re = manta_re_compile(S("^[A-Z][a-z]+( [A-Z][a-z]+)*$"), MANTA_RE_UTF, err,
                          sizeof(err));
    ok(re != NULL, "ascii: pattern compiled");

    if (re != NULL) {
        o = *opts;
        o.name_re = re;

        ok(text_is(&o, S("{\"name\":\" Team   Alpha \"}"),
                    "ascii: pattern matches"), "ascii: pattern taken");
        ok(text_is(&o, S("{\"name\":\"team alpha\"}"),
                    "ascii: pattern does not match"),
           "ascii: pattern taken (no match)");

        manta_re_free(re);
    }

    /* random bodies over the bytes that matter, both paths compared */

    seed = 14;

    for (i = 0; i < 3000; i++) {
        static const char  alphabet[] = " aZ~\"\\}\x7f\x80\t:,{";

        len = 9;
        memcpy(body, "{\"name\":\"", 9);

        n = (seed = seed * 1103515245 + 12345) >> 16;
        n %= 40;

        for (k = 0; k < n; k++) {
            seed = seed * 1103515245 + 12345;
            body[len++] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
        }

        seed = seed * 1103515245 + 12345;

        if ((seed >> 16) % 4 != 0) {
            memcpy(body + len, "\"}", 2);
            len += 2;
        }

        o = *opts;
        o.name_max_length = 1 + (seed >> 20) % 20;

        text_is(&o, body, len, "ascii: random");
    }
}


/*
 * manta_body_check_text() against manta_body_check_json() (jansson for
 * every body) and manta_body_check(): where it takes a body, the same
 * answer and message, and the name JSON-escaped as manta_body_build()
 * writes it; into a buffer of exactly len bytes (ASan sees an overrun),
 * and never taken with one a byte shorter.  Returns what
 * manta_body_check_text() returned.
 */

static int
text_is(const manta_body_opts_t *opts, const char *data, size_t len,
    const char *test)
{
    int              taken;
    char            *dst, *json_name, *gen_name, *esc, msg[MANTA_MESSAGE_MAX],
                     json_msg[MANTA_MESSAGE_MAX], gen_msg[MANTA_MESSAGE_MAX];
    size_t           name_len, json_len, gen_len, esc_len;
    manta_reason_t   rc, json_rc, gen_rc;

    dst = malloc(len ? len : 1);
    name_len = 77;
    rc = MANTA_NOMEM;
    strcpy(msg, "untouched");

    taken = manta_body_check_text(opts, data, len, dst, len, &name_len, &rc,
                                  msg, sizeof(msg));

    json_rc = alloc_body_check_json(opts, data, len, &json_name, &json_len,
                                    json_msg, sizeof(json_msg));
    gen_rc = alloc_body_check(opts, data, len, &gen_name, &gen_len,
                              gen_msg, sizeof(gen_msg));

    ok(gen_rc == json_rc && strcmp(gen_msg, json_msg) == 0,
       "%s: manta_body_check() and jansson agree", test);

    if (gen_rc == MANTA_OK) {
        free(gen_name);
    }

    if (len > 0) {
        size_t          n2;
        manta_reason_t  rc2;
        char            msg2[MANTA_MESSAGE_MAX];

        ok(manta_body_check_text(opts, data, len, dst, len - 1, &n2, &rc2,
                                 msg2, sizeof(msg2))
           == 0, "%s: not taken with a buffer a byte short", test);
    }

    if (!taken) {
        ok(strcmp(msg, "untouched") == 0, "%s: not taken, msg untouched",
           test);
        free(dst);

        if (json_rc == MANTA_OK) {
            free(json_name);
        }

        return 0;
    }

    is_int(rc, json_rc, "%s: reason", test);
    is_str(msg, json_msg, "%s: message", test);

    if (rc == MANTA_OK && json_rc == MANTA_OK) {
        esc_len = manta_json_escape_len(json_name, json_len);
        esc = malloc(esc_len + 1);
        manta_json_escape(esc, json_name, json_len);
        esc[esc_len] = '\0';

        is_mem(dst, name_len, esc, "%s: name, JSON-escaped", test);
        free(esc);

    } else {
        is_int(name_len, 0, "%s: no name", test);
    }

    free(dst);

    if (json_rc == MANTA_OK) {
        free(json_name);
    }

    return 1;
}


/*
 * text_is() without a test line, for the sweep over every code point:
 * 1 when manta_body_check_text() and manta_body_check() agree (and, with
 * taken 1, it was taken)
 */

static int
text_cp_same(const manta_body_opts_t *opts, const char *data, size_t len,
    int taken)
{
    int              t;
    char             dst[64], name[256], esc[256], msg[MANTA_MESSAGE_MAX],
                     gen_msg[MANTA_MESSAGE_MAX];
    size_t           name_len, gen_len;
    manta_reason_t   rc, gen_rc;

    t = manta_body_check_text(opts, data, len, dst, len, &name_len, &rc, msg,
                              sizeof(msg));

    if (!t) {
        return taken != 1;
    }

    gen_rc = manta_body_check(opts, data, len, name, sizeof(name), &gen_len,
                              gen_msg, sizeof(gen_msg));

    if (rc != gen_rc || strcmp(msg, gen_msg) != 0) {
        return 0;
    }

    if (rc != MANTA_OK) {
        return name_len == 0;
    }

    return (size_t) (manta_json_escape(esc, name, gen_len) - esc) == name_len
           && memcmp(esc, dst, name_len) == 0;
}


static size_t
text_utf8(char *dst, uint32_t cp)
{
    return (size_t) (manta_utf8_encode(dst, (int32_t) cp) - dst);
}


static void
text(const manta_body_opts_t *opts)
{
    int                 taken;
    char                body[128], err[128], *s;
    size_t              i, k, len, n, m, bad;
    uint32_t            seed, cp;
    manta_re_t         *re;
    manta_body_opts_t   o;

    static const char  *const taken_bodies[] = {
        "{\"name\":\"  Team  Alpha  \"}",
        "{\"name\":\"Caf\\u00e9 \\\"x\\\" \\/ y\"}",
        "{\"name\":\"Caf\xc3\xa9 \xc3\x9c" "ber \xe6\x9d\xb1\xe4\xba\xac\"}",
        "{\"name\":\"  Caf\\u00e9 \\u3000 cr\\u00e8me   br\\u00fbl\\u00e9e \"}",
        " \r\n{ \"name\" : \"B\xc3\xb6" "b \\\\ Smith\" }\n",
        "{\"name\":\"\\u0041\\u0062\\u0020\\u0020c\"}",
        "{\"name\":\"\\u0022\\u005c\\u002F\"}",
        "{\"name\":\"\\ud83d\\ude00 smile\"}",
        "{\"name\":\"\xf0\x9f\x98\x80 smile\"}",
        "{\"name\":\"\xe3\x80\x80\xe3\x80\x80\"}",
        "{\"name\":\" \\u3000\xc2\xa0 \"}",
        "{\"name\":\"\xc2\xa0" "a\xe2\x80\xaf" "b\xe3\x80\x80\"}",
        "{\"name\":\"\\u00e9\"}",
        "{\"name\":\"\xe0\xa4\xbf" "abc\"}",
        "{\"name\":\"a\xe0\xa4\xbf" "bc\"}",
        "{\"name\":\"\\u093f\"}",
        "{\"name\":\"\\\"\"}",
        "{\"name\":\"\\\\\\\\\\\\\"}",
        "{\"name\":\"abcdefgh\\u0041\"}",
        "{\"name\":\"\"}",
        "{\"name\":\"\\u0020\"}",
        "{\"name\":\"e\xcc\x81\"}",
        "{\"name\":\"e\\u0301\"}"
    };

    static const char  *const left_bodies[] = {
        "{\"name\":\"a\\nb\"}",
        "{\"name\":\"a\\tb\"}",
        "{\"name\":\"a\\u0000b\"}",
        "{\"name\":\"a\\u0009b\"}",
        "{\"name\":\"a\\u007fb\"}",
        "{\"name\":\"a\\ud83db\"}",
        "{\"name\":\"a\\ude00b\"}",
        "{\"name\":\"a\\ud83d\\u0041\"}",
        "{\"name\":\"a\\ud83d\\n\"}",
        "{\"name\":\"a\\u00\"}",
        "{\"name\":\"a\\u00g0\"}",
        "{\"name\":\"a\\x\"}",
        "{\"name\":\"a\\",
        "{\"name\":\"a\\u00e",
        "{\"name\":\"e\xcc\x81\xcc\x81\"}",
        "{\"name\":\"\xcc\x81\"}",
        "{\"name\":\"e\\u0301\\u0323\"}",
        "{\"name\":\"a\xe2\x80\x8b" "b\"}",
        "{\"name\":\"a\xc2\xad" "b\"}",
        "{\"name\":\"a\xe2\x80\x8e" "b\"}",
        "{\"name\":\"a\xee\x80\x80" "b\"}",
        "{\"name\":\"a\xcd\xb8" "b\"}",
        "{\"name\":\"a\xe2\x80\x80" "b\"}",
        "{\"name\":\"\xe2\xa0\x80\"}",
        "{\"name\":\"a\xc3\"}",
        "{\"name\":\"a\xc0\xaf\"}",
        "{\"name\":\"a\xed\xa0\x80\"}",
        "{\"name\":\"a\xc2\x85" "b\"}",
        "{\"name\":\"\xe2\x84\xab\"}",
        "{\"name\":\"Caf\xc3\xa9\",\"age\":3}",
        "{\"name\":\"Caf\xc3\xa9\"}x",
        "{\"name\":\"Caf\xc3\xa9\""
    };

    /* code points and escapes at every place around the words of eight */

    static const char  *const pieces[] = {
        "\xc3\xa9", "\xe6\x9d\xb1", "\xf0\x9f\x98\x80", "\\u00e9",
        "\\u3000", "\xe3\x80\x80", "\\\"", "\\\\", "\\/", "\\ud83d\\ude00",
        " ", "\xc2\xa0", "\xcc\x81", "\\n", "\xc3"
    };

    for (i = 0; i < sizeof(taken_bodies) / sizeof(taken_bodies[0]); i++) {
        taken = text_is(opts, taken_bodies[i], strlen(taken_bodies[i]),
                        "text: body");
        ok(taken, "text: body %zu taken", i);
    }

    for (i = 0; i < sizeof(left_bodies) / sizeof(left_bodies[0]); i++) {
        taken = text_is(opts, left_bodies[i], strlen(left_bodies[i]),
                        "text: other body");
        ok(!taken, "text: other body %zu left to the general path", i);
    }

    for (k = 0; k < sizeof(pieces) / sizeof(pieces[0]); k++) {
        m = strlen(pieces[k]);

        for (i = 0; i <= 20; i++) {
            len = 0;
            len += (size_t) sprintf(body, "{\"name\":\"");
            memcpy(body + len, "abcdefghijklmnopqrstuvwxyz", i);
            len += i;
            memcpy(body + len, pieces[k], m);
            len += m;
            memcpy(body + len, "xyz\"}", 5);
            len += 5;

            text_is(opts, body, len, "text: piece in words");

            /* the piece last, right before the closing quote */

            memcpy(body + len - 5, "\"}", 2);
            text_is(opts, body, len - 3, "text: piece last");
        }
    }

    /* lengths in code points: just fits, one too many */

    o = *opts;
    o.name_max_length = 4;

    ok(text_is(&o, S("{\"name\":\" \xc3\xa9\\u00e9 \\\"\xe6\x9d\xb1 \"}"),
               "text: 4 fit"), "text: 4 of 4 taken");
    ok(text_is(&o, S("{\"name\":\"\xc3\xa9\\u00e9 \\\"\xe6\x9d\xb1\"}"),
               "text: 5 too many"), "text: 5 of 4 taken");

    /* the pattern: matched on the name, a name with escapes left alone */

    re = manta_re_compile(S("^\\p{Lu}\\p{Ll}+( \\p{Lu}\\p{Ll}+)*$"),
                          MANTA_RE_UTF, err, sizeof(err));
    ok(re != NULL, "text: pattern compiled");

    if (re != NULL) {
        o = *opts;
        o.name_re = re;

        ok(text_is(&o, S("{\"name\":\" \\u00c9mile   Zola \"}"),
                   "text: pattern matches"), "text: pattern taken");
        ok(text_is(&o, S("{\"name\":\"\xc3\xa9mile\"}"),
                   "text: pattern does not match"),
           "text: pattern taken (no match)");
        ok(!text_is(&o, S("{\"name\":\"Emile \\\"Zola\\\"\"}"),
                    "text: pattern, escaped name"),
           "text: pattern, a name with an escape left to the general path");
        o.name_max_length = 2;

        ok(text_is(&o, S("{\"name\":\"\\\"\\\"\\\"\"}"),
                   "text: pattern, escaped name too long"),
           "text: pattern, escaped name judged on its length first");

        manta_re_free(re);
    }

    /*
     * every code point above U+007F raw and as an escape, between two
     * letters and alone: taken or not, the same answers; the ones taken
     * are MANTA_NFC_QC_PLAIN or White_Space
     */

    bad = 0;
    n = 0;

    for (cp = 0x80; cp <= 0x10ffff; cp++) {
        if (cp >= 0xd800 && cp <= 0xdfff) {
            continue;
        }

        len = (size_t) sprintf(body, "{\"name\":\"a");
        len += text_utf8(body + len, cp);
        memcpy(body + len, "b\"}", 3);
        len += 3;

        taken = manta_name_plain((int32_t) cp);
        n += taken;

        if (!text_cp_same(opts, body, len, taken ? 1 : -1)) {
            if (bad++ == 0) {
                diag("U+%04X raw: the two paths differ", (unsigned) cp);
            }
        }

        if (cp < 0x10000) {
            len = (size_t) sprintf(body, "{\"name\":\"\\u%04x\"}",
                                   (unsigned) cp);

        } else {
            len = (size_t) sprintf(body, "{\"name\":\"\\u%04X\\u%04x\"}",
                                   (unsigned) (0xd800 + ((cp - 0x10000)
                                                         >> 10)),
                                   (unsigned) (0xdc00 + ((cp - 0x10000)
                                                         & 0x3ff)));
        }

        if (!text_cp_same(opts, body, len, -1)) {
            if (bad++ == 0) {
                diag("U+%04X escaped: the two paths differ", (unsigned) cp);
            }
        }
    }

    is_int(bad, 0, "text: every code point, raw and escaped, same answers");
    ok(n > 100000, "text: %zu code points MANTA_NFC_QC_PLAIN", n);

    /* random bodies over the bytes and pieces that matter */

    seed = 15;

    for (i = 0; i < 5000; i++) {
        static const char  *const alphabet[] = {
            " ", "a", "Z", "~", "\"", "\\", "}", "\x7f", "\t", ":",
            "\xc3\xa9", "\xe3\x80\x80", "\\u3000", "\\u00e9", "\\\"",
            "\\\\", "\\/", "\xcc\x81", "\\ud83d", "\\ude00", "\xc3",
            "\xe2\xa0\x80", "\\u0020", "\\u0041"
        };

        len = 9;
        memcpy(body, "{\"name\":\"", 9);

        n = (seed = seed * 1103515245 + 12345) >> 16;
        n %= 16;

        for (k = 0; k < n; k++) {
            seed = seed * 1103515245 + 12345;
            s = (char *) alphabet[(seed >> 16)
                                  % (sizeof(alphabet) / sizeof(alphabet[0]))];
            m = strlen(s);
            memcpy(body + len, s, m);
            len += m;
        }

        seed = seed * 1103515245 + 12345;

        if ((seed >> 16) % 4 != 0) {
            memcpy(body + len, "\"}", 2);
            len += 2;
        }

        o = *opts;
        o.name_max_length = 1 + (seed >> 20) % 12;

        text_is(&o, body, len, "text: random");
    }
}


/*
 * \uXXXX as manta_name_scan() reads its digits: every byte at each of
 * the four places of an escape (of a code point of 2 and of 3 bytes of
 * UTF-8, and of both halves of a surrogate pair), the others digits of
 * either case: where one is not a hex digit the body is left to the
 * general path (jansson rejects it), and where taken the answers and the
 * name are jansson's
 */

static void
text_hex(const manta_body_opts_t *opts)
{
    int          taken;
    char         body[64];
    size_t       i, k, at, len, bad, wrong;
    unsigned     c;

    static const char  *const escapes[] = {
        "\\u00e9", "\\u00E9", "\\u00c9", "\\u4e2d", "\\u4E2D", "\\uFF21",
        "\\ud83d\\ude00", "\\uD83D\\uDE00"
    };

    for (k = 0; k < sizeof(escapes) / sizeof(escapes[0]); k++) {
        bad = 0;
        wrong = 0;

        for (i = 0; i < strlen(escapes[k]); i++) {
            if (escapes[k][i] == '\\' || escapes[k][i] == 'u') {
                continue;
            }

            for (c = 0; c < 256; c++) {
                len = (size_t) sprintf(body, "{\"name\":\"a%sb\"}",
                                       escapes[k]);
                at = sizeof("{\"name\":\"a") - 1 + i;
                body[at] = (char) c;

                if (!text_same(opts, body, len, &taken)) {
                    if (bad++ == 0) {
                        diag("%s, byte 0x%02x at %zu: the paths differ",
                             escapes[k], c, i);
                    }
                }

                if (taken && manta_hex_value((unsigned char) c) < 0) {
                    if (wrong++ == 0) {
                        diag("%s, byte 0x%02x at %zu: taken %d", escapes[k],
                             c, i, taken);
                    }
                }
            }
        }

        is_int(bad, 0, "text: %s, every byte at each digit, same answers",
               escapes[k]);
        is_int(wrong, 0, "text: %s, never taken with a byte not a digit",
               escapes[k]);
    }

    /* every pair of a digit and a letter, of either case, at each place */

    bad = 0;

    for (i = 0; i < 4; i++) {
        for (c = 0; c < 22; c++) {
            char  digits[5];

            strcpy(digits, "00e9");
            digits[i] = "0123456789abcdefABCDEF"[c];

            len = (size_t) sprintf(body, "{\"name\":\"x\\u%sy\"}", digits);

            if (!text_same(opts, body, len, &taken)) {
                if (bad++ == 0) {
                    diag("\\u%s: the paths differ", digits);
                }
            }
        }
    }

    is_int(bad, 0, "text: every hex digit at each place, same answers");

    /* surrogates: pairs, lone halves, reversed, cut by the closing quote */

    text_is(opts, S("{\"name\":\"\\udbff\\udfff\"}"), "text: U+10FFFF");
    text_is(opts, S("{\"name\":\"\\ud800\\udc00\"}"), "text: U+10000");
    text_is(opts, S("{\"name\":\"\\ud83d\"}"), "text: lone high last");
    text_is(opts, S("{\"name\":\"\\ude00\\ud83d\"}"), "text: reversed");
    text_is(opts, S("{\"name\":\"\\ud83d\\ud83d\"}"), "text: two highs");
    text_is(opts, S("{\"name\":\"\\ud83d\\u0041\"}"), "text: high, ASCII");
    text_is(opts, S("{\"name\":\"\\ud83d\\ude0\"}"), "text: low cut");
    text_is(opts, S("{\"name\":\"\\ud83d\\\"}"), "text: high, quote");
    text_is(opts, S("{\"name\":\"\\ud83d\\\\\"}"), "text: high, backslash");
    text_is(opts, S("{\"name\":\"\\u00e\"}"), "text: 3 digits, quote");
    text_is(opts, S("{\"name\":\"\\u00e9\"}"), "text: 4 digits, quote");
    text_is(opts, S("{\"name\":\"\\u\"}"), "text: \\u, quote");
}


/*
 * Every White_Space code point (and a few that are not), raw and
 * escaped, alone, twice, at the start, between letters, at the end and
 * next to spaces: the answers and the names are jansson's, and those of
 * NFC_Quick_Check=Yes taken
 */

static void
text_white(const manta_body_opts_t *opts)
{
    int          taken;
    char         raw[8], esc[8], body[128];
    size_t       i, k, f, len, bad, n;
    uint32_t     cp;
    const char  *w;

    static const uint32_t  cps[] = {
        0x0020, 0x00a0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004,
        0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029,
        0x202f, 0x205f, 0x3000, 0x0085, 0x180e, 0x200b, 0x2800, 0xfeff
    };

    static const char  *const forms[] = {
        "%s", "%s%s", "%sab", "a%sb", "ab%s", " %s ", "a %s b", "%s  %s",
        "  a%s%s", "a%s \\u0020", "\\\"%s\\\"", "\\u00e9%s\\u00e9"
    };

    for (i = 0; i < sizeof(cps) / sizeof(cps[0]); i++) {
        cp = cps[i];
        raw[text_utf8(raw, cp)] = '\0';
        sprintf(esc, "\\u%04x", (unsigned) cp);

        for (k = 0; k < 2; k++) {
            w = (k == 0) ? raw : esc;
            bad = 0;
            n = 0;

            for (f = 0; f < sizeof(forms) / sizeof(forms[0]); f++) {
                len = (size_t) sprintf(body, "{\"name\":\"");
                len += (size_t) sprintf(body + len, forms[f], w, w);
                len += (size_t) sprintf(body + len, "\"}");

                if (!text_same(opts, body, len, &taken)) {
                    if (bad++ == 0) {
                        diag("U+%04X %s in \"%s\": the paths differ",
                             (unsigned) cp, k ? "escaped" : "raw", forms[f]);
                    }
                }

                n += taken;
            }

            is_int(bad, 0, "text: U+%04X %s, same answers", (unsigned) cp,
                   k ? "escaped" : "raw");

            if (i < 19 && cp != 0x2000 && cp != 0x2001) {
                is_int(n, f, "text: U+%04X %s, every body taken",
                       (unsigned) cp, k ? "escaped" : "raw");
            }
        }
    }
}


/*
 * The string's closing quote, found from the end of the body: every tail
 * of up to five bytes of white space, braces, quotes, backslashes and
 * letters after a name, the answers are jansson's
 */

static void
text_ends(const manta_body_opts_t *opts)
{
    int      taken;
    char     body[64];
    size_t   i, k, len, bad, n, total;

    static const char  alphabet[] = " \n}\"a\\";
    static const char  *const names[] = { "ab", "", "a\\u00e9", "a " };

    bad = 0;
    n = 0;
    total = 0;

    for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        for (len = 0; len <= 5; len++) {
            size_t  combos, c, m;

            combos = 1;

            for (i = 0; i < len; i++) {
                combos *= sizeof(alphabet) - 1;
            }

            for (c = 0; c < combos; c++) {
                m = (size_t) sprintf(body, "{\"name\":\"%s", names[k]);

                for (i = 0, total = c; i < len; i++) {
                    body[m++] = alphabet[total % (sizeof(alphabet) - 1)];
                    total /= sizeof(alphabet) - 1;
                }

                if (!text_same(opts, body, m, &taken)) {
                    if (bad++ == 0) {
                        diag("\"%.*s\": the paths differ", (int) m, body);
                    }
                }

                n += taken;
            }
        }
    }

    is_int(bad, 0, "text: every short tail, same answers");
    ok(n > 100, "text: %zu of the tails taken", n);

    ok(text_is(opts, S("{\"name\":\"abc\\\\\"}"), "text: \\\\ last"),
       "text: an escaped backslash right before the closing quote taken");
    ok(!text_is(opts, S("{\"name\":\"abc\\\"}"), "text: \\\" last"),
       "text: the closing quote escaped left to the general path");
    ok(!text_is(opts, S("{\"name\":\"a\",\"b\":\"}"), "text: other member"),
       "text: a quote before the last left to the general path");
    ok(text_is(opts, S("{\"name\":\"abc\" \t}\r\n "), "text: white space"),
       "text: white space around the closing brace taken");
    ok(!text_is(opts, S("{\"name\":\"}"), "text: no closing quote"),
       "text: no closing quote left to the general path");
}


/*
 * manta_body_check_text() against jansson, without a test line: 1 when
 * it is not taken, or taken with jansson's answer, message and name
 * (JSON-escaped); *taken is what manta_body_check_text() returned
 */

static int
text_same(const manta_body_opts_t *opts, const char *data, size_t len,
    int *taken)
{
    int              same;
    char            *dst, *copy, *json_name, *esc, msg[MANTA_MESSAGE_MAX],
                     json_msg[MANTA_MESSAGE_MAX];
    size_t           name_len, json_len, esc_len;
    manta_reason_t   rc, json_rc;

    /* exactly len bytes each: ASan sees a byte read or written past them */

    dst = malloc(len ? len : 1);
    copy = malloc(len ? len : 1);
    memcpy(copy, data, len);

    *taken = manta_body_check_text(opts, copy, len, dst, len, &name_len, &rc,
                                   msg, sizeof(msg));
    free(copy);

    if (!*taken) {
        free(dst);
        return 1;
    }

    json_rc = alloc_body_check_json(opts, data, len, &json_name, &json_len,
                                    json_msg, sizeof(json_msg));

    same = (rc == json_rc && strcmp(msg, json_msg) == 0);

    if (same && rc == MANTA_OK) {
        esc_len = manta_json_escape_len(json_name, json_len);
        esc = malloc(esc_len + 1);
        manta_json_escape(esc, json_name, json_len);

        same = (name_len == esc_len && memcmp(dst, esc, esc_len) == 0);
        free(esc);

    } else if (same) {
        same = (name_len == 0);
    }

    if (json_rc == MANTA_OK) {
        free(json_name);
    }

    free(dst);

    return same;
}


/*
 * manta_body_check() reads a name eight bytes at a time: the byte that
 * ends a run (the closing quote, an escape, UTF-8 raw or escaped, a
 * control character, DEL, a byte that is not UTF-8) at each place in a
 * word and across words, with more bytes after it and a body that is or
 * is not valid after the name: jansson's answer, message and name
 */

static void
body_runs(const manta_body_opts_t *opts)
{
    char            *gen, *json, gen_msg[MANTA_MESSAGE_MAX],
                     json_msg[MANTA_MESSAGE_MAX], body[96], *p;
    size_t           i, k, t, n, bad, gen_len, json_len;
    manta_reason_t   gen_rc, json_rc;

    static const char  *ends[] = { "\"", "\\n", "\\u00e9", "\xc3\xa9",
                                   "\t", "\x7f", "\x01", "\xff", "\\\"" };
    static const char  *tails[] = { "\"}", "\",}", "\",\"x\":1}" };

    bad = 0;

    for (i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
        for (k = 0; k <= 17; k++) {
            for (t = 0; t < sizeof(tails) / sizeof(tails[0]); t++) {
                p = body + sprintf(body, "{\"name\":\"");

                for (n = 0; n < k; n++) {
                    *p++ = (char) ('a' + n);
                }

                p += sprintf(p, "%srstuvwxyz%s", ends[i], tails[t]);
                n = (size_t) (p - body);

                gen_rc = alloc_body_check(opts, body, n, &gen, &gen_len,
                                          gen_msg, sizeof(gen_msg));
                json_rc = alloc_body_check_json(opts, body, n, &json,
                                                &json_len, json_msg,
                                                sizeof(json_msg));

                if (gen_rc != json_rc || strcmp(gen_msg, json_msg) != 0
                    || (gen_rc == MANTA_OK
                        && (gen_len != json_len
                            || memcmp(gen, json, gen_len) != 0)))
                {
                    if (bad++ == 0) {
                        diag("\"%.*s\": the paths differ", (int) n, body);
                    }
                }

                if (gen_rc == MANTA_OK) {
                    free(gen);
                }

                if (json_rc == MANTA_OK) {
                    free(json);
                }
            }
        }
    }

    is_int(bad, 0, "body: the byte ending a run of the name at each place, "
           "jansson's answers");
}
