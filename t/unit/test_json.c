/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * manta_json.c: string escaping and the ErrorResponse body.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manta_json.h"
#include "manta_error.h"
#include "manta_util.h"
#include "tap.h"
#include "tests.h"


#define S(s)  (s), (sizeof(s) - 1)


static void escape_is(const char *src, size_t len, const char *expected,
    const char *name);
static void error_body_is(const char *message, int code, const char *bot_id,
    const char *expected, const char *name);
static void escape_runs(void);
static void run_every_place(void);
static void run_random(void);
static size_t run_scalar(const unsigned char *p, size_t len, int utf8);
static int run_check(const unsigned char *p, size_t len, int utf8);
static void uint_runs(void);


void
test_json(void)
{
    size_t  i;
    char    buf[32], *end;

    static const struct {
        unsigned long long   n;
        const char          *s;
    } uints[] = {
        { 0, "0" }, { 7, "7" }, { 10, "10" }, { 99, "99" }, { 100, "100" },
        { 101, "101" }, { 1000000, "1000000" }, { 4294967295ULL, "4294967295" },
        { 18446744073709551615ULL, "18446744073709551615" }
    };

    for (i = 0; i < sizeof(uints) / sizeof(uints[0]); i++) {
        end = manta_uint(buf, uints[i].n);
        *end = '\0';
        is_str(buf, uints[i].s, "manta_uint: %s", uints[i].s);
    }

    uint_runs();

    escape_is(S(""), "", "escape: empty");
    escape_is(S("plain text"), "plain text", "escape: plain");
    escape_is(S("a\"b\\c"), "a\\\"b\\\\c", "escape: quote and backslash");
    escape_is(S("\b\f\n\r\t"), "\\b\\f\\n\\r\\t", "escape: short forms");
    escape_is(S("\x01\x0b\x1f\x7f"), "\\u0001\\u000B\\u001F\\u007F",
              "escape: other controls and DEL as \\u00XX");
    escape_is(S("a\0b"), "a\\u0000b", "escape: NUL");
    escape_is(S("/<>'&"), "/<>'&", "escape: slash and HTML kept");
    escape_is(S("\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80"),
              "\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80", "escape: UTF-8 kept");
    escape_is(S("\xe2\x80\xa8"), "\xe2\x80\xa8", "escape: U+2028 kept");
    escape_runs();
    run_every_place();
    run_random();

    error_body_is("bad", 400, "bot-1",
                  "{\"success\":false,\"errResponse\":{\"message\":\"bad\","
                  "\"code\":400,\"botId\":\"bot-1\"}}",
                  "error body with botId");
    error_body_is("unknown botId", 403, NULL,
                  "{\"success\":false,\"errResponse\":{\"message\":"
                  "\"unknown botId\",\"code\":403}}",
                  "error body without botId");
    error_body_is("say \"hi\"\n\\", 502, "a\"b",
                  "{\"success\":false,\"errResponse\":{\"message\":"
                  "\"say \\\"hi\\\"\\n\\\\\",\"code\":502,"
                  "\"botId\":\"a\\\"b\"}}",
                  "error body escapes message and botId");
    error_body_is("", 429, "",
                  "{\"success\":false,\"errResponse\":{\"message\":\"\","
                  "\"code\":429,\"botId\":\"\"}}",
                  "error body with empty message and empty botId");
    error_body_is("caf\xc3\xa9", 500, NULL,
                  "{\"success\":false,\"errResponse\":{\"message\":"
                  "\"caf\xc3\xa9\",\"code\":500}}",
                  "error body keeps UTF-8");
    error_body_is("x", -2147483647 - 1, NULL,
                  "{\"success\":false,\"errResponse\":{\"message\":\"x\","
                  "\"code\":-2147483648}}",
                  "error body with the smallest int");
    error_body_is("too many requests for this botId", 429, "bot\x7f",
                  "{\"success\":false,\"errResponse\":{\"message\":"
                  "\"too many requests for this botId\",\"code\":429,"
                  "\"botId\":\"bot\\u007F\"}}",
                  "error body: a plain message, a botId with DEL");
    error_body_is("a message of some words\twith a tab", 403, "bot-1",
                  "{\"success\":false,\"errResponse\":{\"message\":"
                  "\"a message of some words\\twith a tab\",\"code\":403,"
                  "\"botId\":\"bot-1\"}}",
                  "error body: a message with a tab, a plain botId");
    error_body_is("unknown botId", 1000, "bot-bot-bot-bot\"",
                  "{\"success\":false,\"errResponse\":{\"message\":"
                  "\"unknown botId\",\"code\":1000,"
                  "\"botId\":\"bot-bot-bot-bot\\\"\"}}",
                  "error body: a code of four digits, '\"' ending a botId");
}


/*
 * manta_json_run() (and manta_json_words()) against a byte by byte reading
 * of the same bytes, in both modes: every length up to 70 (sixteen, eight, the last bytes of a
 * run read again), a byte that ends a run at every place or none, plain
 * bytes of every kind around it.  The bytes are the end of a buffer of
 * their own size, and p its start: AddressSanitizer sees any byte read
 * outside.
 */

static void
run_every_place(void)
{
    int             utf8, bad;
    size_t          len, at, i, s;
    unsigned char  *buf;

    static const unsigned char  stops[] = {
        0x00, 0x09, 0x1f, '"', '\\', 0x7f, 0x80, 0xc3, 0xff, ' ', '~', '!'
    };

    /* every plain byte: from ' ' to '~' but '"' and '\\' */
    static const char  plain[] =
        " !#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`"
        "abcdefghijklmnopqrstuvwxyz{|}~";

    bad = 0;

    for (utf8 = 0; utf8 <= 1; utf8++) {
        for (len = 0; len <= 70; len++) {
            for (at = 0; at <= len; at++) {
                for (s = 0; s < sizeof(stops); s++) {
                    buf = malloc(len ? len : 1);

                    for (i = 0; i < len; i++) {
                        buf[i] = (unsigned char)
                                     plain[(7 * i + s) % (sizeof(plain) - 1)];
                    }

                    if (at < len) {
                        buf[at] = stops[s];
                    }

                    bad += run_check(buf, len, utf8);

                    free(buf);

                    if (at == len) {
                        break;
                    }
                }
            }
        }
    }

    is_int(bad, 0, "manta_json_run, manta_json_words: as byte by byte, "
           "every length to 70, a byte that ends a run at every place");
}


/* random bytes, mostly plain: lengths 0 to 100, some of several stops */

static void
run_random(void)
{
    int             bad, utf8;
    size_t          len, i, n;
    uint32_t        seed;
    unsigned char  *buf;

    seed = 2463534242u;
    bad = 0;

    for (n = 0; n < 200000; n++) {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;

        len = seed % 101;
        utf8 = (seed >> 8) & 1;

        buf = malloc(len ? len : 1);

        for (i = 0; i < len; i++) {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;

            buf[i] = (seed % 64 == 0) ? (unsigned char) (seed >> 8)
                                      : (unsigned char) ('a' + seed % 26);
        }

        bad += run_check(buf, len, utf8);

        free(buf);
    }

    is_int(bad, 0, "manta_json_run, manta_json_words: as byte by byte, "
           "200000 random texts");
}


/* the first byte that ends a run, read byte by byte; len if none */

static size_t
run_scalar(const unsigned char *p, size_t len, int utf8)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (p[i] < 0x20 || p[i] == '"' || p[i] == '\\'
            || (utf8 ? p[i] >= 0x80 : p[i] == 0x7f))
        {
            break;
        }
    }

    return i;
}


/*
 * 0 when manta_json_run() returns where the byte by byte reading stops,
 * from eight bytes on (p below that), and so does manta_json_words() (the
 * run without SSE2) where it is built; 1 with a diagnostic otherwise
 */

static int
run_check(const unsigned char *p, size_t len, int utf8)
{
    int                   bad;
    size_t                want;
    const unsigned char  *got;

    bad = 0;
    want = run_scalar(p, len, utf8);

#if (defined MANTA_JSON_WORDS)

    if (len < 8) {
        want = 0;
    }

    got = manta_json_words(p, p + len, utf8);

    if (got != p + want) {
        diag("manta_json_words: %zu bytes, utf8 %d: %td, not %zu", len, utf8,
             got - p, want);
        bad = 1;
    }

#else

    want = 0;

#endif

    got = manta_json_run(p, p + len, utf8);

    if (got != p + want) {
        diag("manta_json_run: %zu bytes, utf8 %d: %td, not %zu", len, utf8,
             got - p, want);
        bad = 1;
    }

    return bad;
}


/*
 * Runs are found eight bytes at a time: each byte that ends one ('"',
 * '\\', a control character, DEL, UTF-8) is escaped right at every place
 * in a word and across words, with more plain bytes or the end after it.
 */

static void
escape_runs(void)
{
    char    src[64], expected[96], got[96], *e;
    size_t  i, k, tail, n, bad;

    static const struct {
        const char  *bytes;
        size_t       len;
        const char  *escaped;
        const char  *what;
    } stops[] = {
        { "\"", 1, "\\\"", "a quote" },
        { "\\", 1, "\\\\", "a backslash" },
        { "\n", 1, "\\n", "a newline" },
        { "\x01", 1, "\\u0001", "a control character" },
        { "\x1f", 1, "\\u001F", "the last control character" },
        { "\x7f", 1, "\\u007F", "DEL" },
        { "\xc3\xa9", 2, "\xc3\xa9", "a 2-byte sequence" },
        { "\xff", 1, "\xff", "a byte above 0x7f" },
        { " ~", 2, " ~", "the first and last plain bytes" }
    };

    for (i = 0; i < sizeof(stops) / sizeof(stops[0]); i++) {
        bad = 0;

        for (k = 0; k <= 17; k++) {
            for (tail = 0; tail <= 9; tail += 9) {
                memset(src, 'a' + (int) (k % 26), k);
                memcpy(src + k, stops[i].bytes, stops[i].len);
                memset(src + k + stops[i].len, 'z', tail);
                n = k + stops[i].len + tail;

                e = expected;
                memset(e, 'a' + (int) (k % 26), k);
                e += k;
                strcpy(e, stops[i].escaped);
                e += strlen(stops[i].escaped);
                memset(e, 'z', tail);
                e += tail;

                if (manta_json_escape_len(src, n) != (size_t) (e - expected)
                    || manta_json_escape(got, src, n) - got != e - expected
                    || memcmp(got, expected, e - expected) != 0)
                {
                    bad++;
                    diag("%s after %zu plain bytes, then %zu", stops[i].what,
                         k, tail);
                }
            }
        }

        is_int(bad, 0, "escape: %s after 0 to 17 plain bytes, then 0 or 9",
               stops[i].what);
    }
}


static void
escape_is(const char *src, size_t len, const char *expected,
    const char *name)
{
    char    *buf, *end;
    size_t   n;

    n = manta_json_escape_len(src, len);
    is_int(n, strlen(expected), "%s: length", name);

    buf = malloc(n + 1);
    end = manta_json_escape(buf, src, len);

    is_int(end - buf, n, "%s: returns the end", name);
    is_mem(buf, (size_t) (end - buf), expected, "%s", name);

    free(buf);
}


static void
error_body_is(const char *message, int code, const char *bot_id,
    const char *expected, const char *name)
{
    char      *buf;
    size_t     n, len, mlen, blen;
    unsigned   plain, want, known;

    mlen = strlen(message);
    blen = bot_id ? strlen(bot_id) : 0;

    plain = 0;
    len = manta_error_body_len(message, mlen, code, bot_id, blen, &plain);
    is_int(len, strlen(expected), "%s: length", name);

    /* what the length found holding no byte JSON escapes, and only that */

    want = (manta_json_escape_len(message, mlen) == mlen)
           ? MANTA_ERROR_PLAIN_MESSAGE : 0;

    if (bot_id && manta_json_escape_len(bot_id, blen) == blen) {
        want |= MANTA_ERROR_PLAIN_BOT_ID;
    }

    is_int(plain, want, "%s: plain flags", name);

    buf = malloc(len + 1);
    n = manta_error_body(buf, message, mlen, code, bot_id, blen, plain);

    is_int(n, len, "%s: written length", name);
    is_mem(buf, n, expected, "%s", name);

    /* the same with no flag (all read) and with the true ones known */

    n = manta_error_body(buf, message, mlen, code, bot_id, blen, 0);
    is_mem(buf, n, expected, "%s: no flag", name);

    known = want;
    is_int(manta_error_body_len(message, mlen, code, bot_id, blen, &known),
           len, "%s: length, plain known", name);
    is_int(known, want, "%s: known flags kept", name);

    free(buf);
}


/*
 * manta_uint() against snprintf() on both sides of every power of ten, of
 * 2^32 and 2^64, and on a pseudo-random sweep of each length: the digits,
 * the end, and nothing written past it
 */

static void
uint_runs(void)
{
    int                  bad;
    char                 buf[32], want[32], *end;
    size_t               i, k, n;
    unsigned long long   v, p, x, vals[160];

    n = 0;
    p = 1;

    for (k = 0; k < 20; k++) {
        vals[n++] = p - 1;
        vals[n++] = p;
        vals[n++] = p + 1;
        vals[n++] = p * 5 + 3;
        p *= 10;
    }

    vals[n++] = 4294967294ULL;
    vals[n++] = 4294967295ULL;
    vals[n++] = 4294967296ULL;
    vals[n++] = 4294967297ULL;
    vals[n++] = 18446744073709551614ULL;
    vals[n++] = 18446744073709551615ULL;

    bad = 0;
    x = 88172645463325252ULL;

    for (i = 0; i < n + 200000; i++) {

        if (i < n) {
            v = vals[i];

        } else {
            /* xorshift64, then a random length */
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            v = x >> (x % 64);
        }

        memset(buf, 'x', sizeof(buf));
        end = manta_uint(buf, v);
        snprintf(want, sizeof(want), "%llu", v);

        if ((size_t) (end - buf) != strlen(want)
            || memcmp(buf, want, strlen(want)) != 0
            || *end != 'x')
        {
            if (bad++ < 5) {
                diag("manta_uint(%s) wrong", want);
            }
        }
    }

    is_int(bad, 0, "manta_uint: %zu values as snprintf()", n + 200000);
}
