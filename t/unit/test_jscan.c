/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * manta_jscan.c: the strict tokenizer's answers (valid, invalid as jansson
 * also says, unsure), its tokens, and the string decoder.
 */


#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "manta_jscan.h"
#include "tap.h"
#include "tests.h"


#define S(s)  (s), (sizeof(s) - 1)


static void jscan_is(const char *json, size_t len, manta_jscan_rc_t rc,
    const char *types, const char *name);
static void decode_is(const char *s, size_t len, const char *expected,
    size_t expected_len, const char *name);
static void jscan_runs(void);
static void jscan_names(void);


/*
 * types: one letter a token, in order: o object, a array, k member name,
 * s string, n integer, r real, t true, f false, z null
 */

static const struct {
    const char        *json;
    manta_jscan_rc_t   rc;
    const char        *types;
    const char        *name;
} jscan_cases[] = {

    /* valid */
    { "{}", MANTA_JSCAN_OK, "o", "empty object" },
    { " \t\r\n[ ] \n", MANTA_JSCAN_OK, "a", "empty array, white space" },
    { "{\"a\":1}", MANTA_JSCAN_OK, "okn", "one member" },
    { "{\"type\":\"about:blank\",\"status\":409,\"detail\":\"x\"}",
      MANTA_JSCAN_OK, "okskn" "ks", "problem+json" },
    { "[1,-0,0.5,-1.5e+10,2E-3,true,false,null]", MANTA_JSCAN_OK,
      "annrrrtfz", "every scalar" },
    { "{\"a\":{\"b\":[{}]},\"c\":\"\"}", MANTA_JSCAN_OK, "okokaoks",
      "nested" },
    { "\"top\"", MANTA_JSCAN_OK, "s", "a string at the top" },
    { "42", MANTA_JSCAN_OK, "n", "a number at the top" },
    { "{\"a\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\x7f\"}", MANTA_JSCAN_OK,
      "oks", "UTF-8 and DEL in a string" },
    { "{\"a\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\"}",
      MANTA_JSCAN_OK, "oks", "every escape, a surrogate pair" },
    { "{\"a\":1,\"b\":1,\"ab\":1}", MANTA_JSCAN_OK, "oknknkn",
      "names that share a prefix are not duplicates" },
    { "{\"a\":{\"a\":1}}", MANTA_JSCAN_OK, "okokn",
      "one name in two objects is no duplicate" },
    { "123456789012345678", MANTA_JSCAN_OK, "n", "18 digits" },
    { "1.5e99", MANTA_JSCAN_OK, "r", "2-digit exponent" },

    /* invalid, as for jansson */
    { "", MANTA_JSCAN_INVALID, "", "empty" },
    { "   ", MANTA_JSCAN_INVALID, "", "white space only" },
    { "<html>", MANTA_JSCAN_INVALID, "", "HTML" },
    { "{", MANTA_JSCAN_INVALID, "", "unclosed object" },
    { "{\"a\":1,}", MANTA_JSCAN_INVALID, "", "trailing comma" },
    { "[1,]", MANTA_JSCAN_INVALID, "", "trailing comma in array" },
    { "{\"a\" 1}", MANTA_JSCAN_INVALID, "", "no colon" },
    { "{a:1}", MANTA_JSCAN_INVALID, "", "bare name" },
    { "{'a':1}", MANTA_JSCAN_INVALID, "", "single quotes" },
    { "[1}", MANTA_JSCAN_INVALID, "", "mismatched bracket" },
    { "{}}", MANTA_JSCAN_INVALID, "", "trailing bracket" },
    { "{} x", MANTA_JSCAN_INVALID, "", "trailing garbage" },
    { "{}{}", MANTA_JSCAN_INVALID, "", "two texts" },
    { "[01]", MANTA_JSCAN_INVALID, "", "leading zero" },
    { "[-]", MANTA_JSCAN_INVALID, "", "minus alone" },
    { "[1.]", MANTA_JSCAN_INVALID, "", "no fraction digit" },
    { "[.5]", MANTA_JSCAN_INVALID, "", "no integer digit" },
    { "[1e]", MANTA_JSCAN_INVALID, "", "no exponent digit" },
    { "[+1]", MANTA_JSCAN_INVALID, "", "plus sign" },
    { "[tru]", MANTA_JSCAN_INVALID, "", "cut literal" },
    { "[truex]", MANTA_JSCAN_INVALID, "", "longer literal" },
    { "[True]", MANTA_JSCAN_INVALID, "", "capitalized literal" },
    { "[\"a\tb\"]", MANTA_JSCAN_INVALID, "", "raw tab in a string" },
    { "[\"a\\x\"]", MANTA_JSCAN_INVALID, "", "unknown escape" },
    { "[\"\\u12g4\"]", MANTA_JSCAN_INVALID, "", "bad hex digit" },
    { "[\"\\u12\"]", MANTA_JSCAN_INVALID, "", "short \\u" },
    { "[\"abc]", MANTA_JSCAN_INVALID, "", "unterminated string" },
    { "[\"caf\xe9\"]", MANTA_JSCAN_INVALID, "", "Latin-1 byte" },
    { "[\"\xc0\xaf\"]", MANTA_JSCAN_INVALID, "", "overlong UTF-8" },
    { "[\"\xed\xa0\x80\"]", MANTA_JSCAN_INVALID, "",
      "UTF-8 encoded surrogate" },
    { "[\"\xf4\x90\x80\x80\"]", MANTA_JSCAN_INVALID, "",
      "above U+10FFFF" },
    { "\xef\xbb\xbf{}", MANTA_JSCAN_INVALID, "", "byte order mark" },
    { "[1]\x0b", MANTA_JSCAN_INVALID, "", "vertical tab is no white space" },

    /* unsure: jansson's own rules */
    { "{\"a\":1,\"a\":2}", MANTA_JSCAN_UNSURE, "", "duplicate name" },
    { "{\"x\":{\"b\":1,\"c\":2,\"b\":3}}", MANTA_JSCAN_UNSURE, "",
      "duplicate name in a nested object" },
    { "{\"\\u0061\":1}", MANTA_JSCAN_UNSURE, "", "escaped name" },
    { "[\"a\\u0000b\"]", MANTA_JSCAN_UNSURE, "", "\\u0000" },
    { "[\"\\ud800\"]", MANTA_JSCAN_UNSURE, "", "lone high surrogate" },
    { "[\"\\ud800\\u0041\"]", MANTA_JSCAN_UNSURE, "",
      "high surrogate and no low one" },
    { "[\"\\udc00\"]", MANTA_JSCAN_UNSURE, "", "lone low surrogate" },
    { "1234567890123456789", MANTA_JSCAN_UNSURE, "", "19 digits" },
    { "1e400", MANTA_JSCAN_UNSURE, "", "3-digit exponent" },
    { "0.1234567890123456789", MANTA_JSCAN_UNSURE, "", "long real" },
};


void
test_jscan(void)
{
    int            v;
    char          *deep;
    size_t         i, count;
    manta_jtok_t   tok[64];

    for (i = 0; i < sizeof(jscan_cases) / sizeof(jscan_cases[0]); i++) {
        jscan_is(jscan_cases[i].json, strlen(jscan_cases[i].json),
                 jscan_cases[i].rc, jscan_cases[i].types,
                 jscan_cases[i].name);
    }

    /* jansson reads {"a":fa\0lse} as {"a":false} */

    jscan_is(S("[\"a\0b\"]"), MANTA_JSCAN_UNSURE, "",
             "raw NUL in a string is unsure");
    jscan_is(S("{}\0"), MANTA_JSCAN_UNSURE, "",
             "NUL after the text is unsure");
    jscan_is(S("{\"a\":fa\0lse}"), MANTA_JSCAN_UNSURE, "",
             "NUL inside a literal is unsure");

    /* limits: depth and tokens */

    deep = repeat("", "[", MANTA_JSCAN_DEPTH, "");
    jscan_is(deep, strlen(deep), MANTA_JSCAN_INVALID, "",
             "unclosed at the deepest level is invalid");
    free(deep);

    deep = repeat("", "[", MANTA_JSCAN_DEPTH + 1, "");
    jscan_is(deep, strlen(deep), MANTA_JSCAN_UNSURE, "",
             "deeper than MANTA_JSCAN_DEPTH is unsure");
    free(deep);

    is_int(manta_jscan(S("[1,2,3]"), tok, 3, &count), MANTA_JSCAN_UNSURE,
           "jscan: more tokens than the array holds is unsure");
    is_int(manta_jscan(S("[1,2]"), tok, 3, &count), MANTA_JSCAN_OK,
           "jscan: exactly as many tokens as the array holds");

    /* offsets, parents, sizes, next */

    is_int(manta_jscan(S(" {\"a\":[1,\"x\\n\"],\"bc\":{}}"), tok, 64, &count),
           MANTA_JSCAN_OK, "jscan: structure parsed");
    is_int(count, 7, "jscan: structure: 7 tokens");
    ok(tok[0].start == 1 && tok[0].end == 24 && tok[0].size == 2
       && tok[0].parent == -1 && tok[0].next == 7,
       "jscan: object offsets, size, parent, next");
    ok(tok[1].start == 3 && tok[1].end == 4 && tok[1].parent == 0
       && (tok[1].flags & MANTA_JT_KEY), "jscan: name between its quotes");
    ok(tok[2].type == MANTA_JT_ARRAY && tok[2].size == 2
       && tok[2].parent == 0 && tok[2].next == 5,
       "jscan: array size and next");
    ok(tok[4].type == MANTA_JT_STRING && tok[4].parent == 2
       && (tok[4].flags & MANTA_JT_ESCAPED) && tok[4].end - tok[4].start == 3,
       "jscan: escaped string flagged, raw bytes");
    ok(tok[6].type == MANTA_JT_OBJECT && tok[6].size == 0
       && tok[6].next == 7, "jscan: empty object last");

    v = manta_jscan_member(" {\"a\":[1,\"x\\n\"],\"bc\":{}}", tok, 0,
                           S("bc"));
    is_int(v, 6, "jscan: member found after a nested array");
    is_int(manta_jscan_member(" {\"a\":[1,\"x\\n\"],\"bc\":{}}", tok, 0,
                              S("b")), -1, "jscan: member prefix not found");
    is_int(manta_jscan_member(" {\"a\":[1,\"x\\n\"],\"bc\":{}}", tok, 2,
                              S("a")), -1, "jscan: member of an array: none");

    /* the decoder */

    decode_is(S(""), S(""), "decode: empty");
    decode_is(S("plain"), S("plain"), "decode: plain");
    decode_is(S("\\\"\\\\\\/\\b\\f\\n\\r\\t"), S("\"\\/\b\f\n\r\t"),
              "decode: short escapes");
    decode_is(S("\\u0041\\u007f\\u0080"), S("A\x7f\xc2\x80"),
              "decode: 1- and 2-byte boundaries");
    decode_is(S("\\u07ff\\u0800\\uFFFF"), S("\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf"),
              "decode: 2- and 3-byte boundaries, upper-case hex");
    decode_is(S("\\ud83d\\ude00"), S("\xf0\x9f\x98\x80"),
              "decode: surrogate pair");
    decode_is(S("\\udbff\\udfff"), S("\xf4\x8f\xbf\xbf"),
              "decode: U+10FFFF");
    decode_is(S("caf\xc3\xa9 \\u0073ecret"), S("caf\xc3\xa9 secret"),
              "decode: UTF-8 kept, escape decoded");

    jscan_runs();
    jscan_names();
}


/*
 * Strings are scanned eight bytes at a time: the byte that ends a run of
 * plain bytes ('"', '\\', a control character, UTF-8) is found at every
 * place in a word and across words, with the string's end anywhere.
 */

static void
jscan_runs(void)
{
    char           json[64];
    size_t         i, k, n, count, bad;
    manta_jtok_t   tok[4];

    static const struct {
        const char        *bytes;
        size_t             len;
        manta_jscan_rc_t   rc;
        size_t             decoded;      /* the string's raw length - k */
        const char        *what;
    } stops[] = {
        { "\"", 1, MANTA_JSCAN_OK, 0, "the closing quote" },
        { "\\\"x\"", 4, MANTA_JSCAN_OK, 3, "an escaped quote" },
        { "\\n\"", 3, MANTA_JSCAN_OK, 2, "an escape" },
        { "\xc3\xa9\"", 3, MANTA_JSCAN_OK, 2, "a 2-byte sequence" },
        { "\xe6\x97\xa5!\"", 5, MANTA_JSCAN_OK, 4, "a 3-byte sequence" },
        { "\x7f~ }\"", 5, MANTA_JSCAN_OK, 4, "DEL, '~', ' ', '}'" },
        { "\x1f\"", 2, MANTA_JSCAN_INVALID, 0, "a control character" },
        { "\t\"", 2, MANTA_JSCAN_INVALID, 0, "a tab" },
        { "\xff\"", 2, MANTA_JSCAN_INVALID, 0, "a byte not in UTF-8" },
        { "\xc3(\"", 3, MANTA_JSCAN_INVALID, 0, "a cut sequence" },
        { "", 0, MANTA_JSCAN_INVALID, 0, "the end of the text" }
    };

    for (i = 0; i < sizeof(stops) / sizeof(stops[0]); i++) {
        bad = 0;

        for (k = 0; k <= 20; k++) {
            json[0] = '"';
            memset(json + 1, 'a' + (int) (k % 26), k);
            memcpy(json + 1 + k, stops[i].bytes, stops[i].len);
            n = 1 + k + stops[i].len;

            if (manta_jscan(json, n, tok, 4, &count) != stops[i].rc
                || (stops[i].rc == MANTA_JSCAN_OK
                    && (count != 1 || tok[0].start != 1
                        || tok[0].end != 1 + k + stops[i].decoded)))
            {
                bad++;
                diag("%s after %zu plain bytes", stops[i].what, k);
            }
        }

        is_int(bad, 0, "jscan: %s after 0 to 20 plain bytes", stops[i].what);
    }
}


/*
 * Names are hashed into a bit of their object by length and first and
 * last byte: names that share the bit are compared, a real duplicate
 * found wherever it is; names that only share the bit are no duplicate.
 */

static void
jscan_names(void)
{
    char    *json, *types, *p;
    size_t   i, m;

    jscan_is(S("{\"abc\":1,\"axc\":2}"), MANTA_JSCAN_OK, "oknkn",
             "names of one length, first and last byte are no duplicate");
    jscan_is(S("{\"\":1,\"a\":2,\"\":3}"), MANTA_JSCAN_UNSURE, "",
             "duplicate empty name");
    jscan_is(S("{\"a\":{\"b\":1},\"b\":{\"a\":2,\"b\":3}}"),
             MANTA_JSCAN_OK, "okoknkoknkn",
             "a name in the parent and in the child is no duplicate");
    jscan_is(S("{\"a\":{\"b\":1,\"b\":2},\"c\":3}"), MANTA_JSCAN_UNSURE,
             "", "a duplicate in a closed child object");
    jscan_is(S("{\"a\":[{\"a\":1}],\"b\":[{\"a\":1}],\"a\":0}"),
             MANTA_JSCAN_UNSURE, "",
             "a duplicate after objects of the same depth closed");
    jscan_is(S("[{\"a\":1,\"b\":2},{\"b\":1,\"a\":2}]"), MANTA_JSCAN_OK,
             "aoknknoknkn",
             "the same names in sibling objects are no duplicate");

    /*
     * 31 names "n00" .. "n30" (as many as jscan_is()'s 64 tokens hold)
     * share 10 bits, by their last byte: the last one is distinct, or a
     * duplicate of the first
     */

    types = repeat("o", "kn", 31, "");

    for (i = 0; i < 2; i++) {
        json = malloc(64 * 8 + 16);
        p = json;
        *p++ = '{';

        for (m = 0; m < 30; m++) {
            p += sprintf(p, "\"n%02zu\":0,", m);
        }

        strcpy(p, i ? "\"n00\":1}" : "\"n30\":1}");

        jscan_is(json, strlen(json),
                 i ? MANTA_JSCAN_UNSURE : MANTA_JSCAN_OK, types,
                 i ? "31 names, the last a duplicate of the first"
                   : "31 distinct names, sharing 10 bits");
        free(json);
    }

    free(types);
}


static void
jscan_is(const char *json, size_t len, manta_jscan_rc_t rc,
    const char *types, const char *name)
{
    char              got[65];
    size_t            i, count;
    json_t           *root;
    manta_jtok_t      tok[64];
    manta_jscan_rc_t  r;

    r = manta_jscan(json, len, tok, 64, &count);

    is_int(r, rc, "jscan: %s", name);

    /* jansson, the reference, agrees where the tokenizer is sure */

    if (rc != MANTA_JSCAN_UNSURE) {
        root = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
                          NULL);
        ok((root != NULL) == (rc == MANTA_JSCAN_OK),
           "jscan: %s: jansson agrees", name);
        json_decref(root);
    }

    if (r != MANTA_JSCAN_OK) {
        is_int(count, 0, "jscan: %s: no tokens", name);
        return;
    }

    for (i = 0; i < count; i++) {
        switch (tok[i].type) {
        case MANTA_JT_OBJECT: got[i] = 'o'; break;
        case MANTA_JT_ARRAY:  got[i] = 'a'; break;
        case MANTA_JT_STRING:
            got[i] = (tok[i].flags & MANTA_JT_KEY) ? 'k' : 's';
            break;
        case MANTA_JT_NUMBER:
            got[i] = (tok[i].flags & MANTA_JT_REAL) ? 'r' : 'n';
            break;
        case MANTA_JT_TRUE:   got[i] = 't'; break;
        case MANTA_JT_FALSE:  got[i] = 'f'; break;
        default:              got[i] = 'z'; break;
        }
    }

    got[count] = '\0';

    is_str(got, types, "jscan: %s: tokens", name);
}


static void
decode_is(const char *s, size_t len, const char *expected,
    size_t expected_len, const char *name)
{
    char          *dst, *json;
    size_t         n, count;
    manta_jtok_t   tok[2];

    /* what the decoder is given comes from the tokenizer */

    json = malloc(len + 2);
    json[0] = '"';
    memcpy(json + 1, s, len);
    json[len + 1] = '"';

    ok(manta_jscan(json, len + 2, tok, 2, &count) == MANTA_JSCAN_OK
       && count == 1 && tok[0].end - tok[0].start == len,
       "%s: a valid string", name);

    dst = malloc(len + 1);
    n = manta_jscan_decode(s, len, dst);

    is_mem(dst, n, expected, "%s", name);
    is_int(n, expected_len, "%s: length", name);

    free(dst);
    free(json);
}
