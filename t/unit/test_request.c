/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * manta_request.c: Content-Type, botId, percent-encoding.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manta_request.h"
#include "tap.h"
#include "tests.h"


#define S(s)  (s), (sizeof(s) - 1)

#define DEFAULT_BOT_ID  "^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$"

#define BOT_ID_DEFAULT  0
#define BOT_ID_ANY      1
#define BOT_ID_NONE     2


static void bot_id_is(const manta_re_t *re, const char *args,
    const char *expected, const char *name);
static int bot_id_same(const manta_re_t *re, const manta_re_t *slow,
    const char *args, size_t len);
static void bot_id_plain_is(const char *args, int expected,
    const char *name);
static void pct_is(const char *src, size_t len, const char *expected,
    const char *name);


static const char  *types_ok[] = {
    "application/json",
    "Application/JSON",
    "APPLICATION/JSON",
    "application/json; charset=utf-8",
    "application/json;charset=\"UTF-8\"",
    "application/json;charset=utf-8",
    "application/json ; charset = utf-8",
    "application/json;\tCharSet=UTF-8\t",
    " application/json ",
    "application/json; charset=\"utf-8\"  ",
    NULL
};


static const char  *types_bad[] = {
    "text/plain",
    "application/json; charset=latin1",
    "application/json; charset=utf8",
    "application/jsonx",
    "application/json; foo=bar",
    "",
    "application/json;",
    "application/json; ",
    "application/json; charset",
    "application/json; charset=",
    "application/json; charset=\"utf-8",
    "application/json; charset=utf-8;",
    "application/json; charset=utf-8; charset=utf-8",
    "application/json; charset=utf-8 x",
    "application/json, text/plain",
    "application/ json",
    "application/problem+json",
    "application/json-patch+json",
    "application",
    "json",
    "*/*",
    "application/json\r\n",
    NULL
};


/* botId in a query: the pattern it is checked against, the value or NULL */

static const struct {
    int          re;
    const char  *args;
    const char  *expected;
    const char  *test;
} bot_ids[] = {
    { BOT_ID_DEFAULT, "botId=abc", "abc", "botId: plain" },
    { BOT_ID_DEFAULT, "", NULL, "botId: no arguments" },
    { BOT_ID_DEFAULT, "foo=1", NULL, "botId: missing" },
    { BOT_ID_DEFAULT, "botId=", NULL, "botId: empty" },
    { BOT_ID_DEFAULT, "botId", NULL, "botId: no '=' is empty" },
    { BOT_ID_DEFAULT, "botId&x=1", NULL, "botId: no '=' then more args" },
    { BOT_ID_DEFAULT, "botId=a&botId=a", NULL, "botId: repeated, equal" },
    { BOT_ID_DEFAULT, "botId=a&botId=b", NULL, "botId: repeated" },
    { BOT_ID_DEFAULT, "botId=a&botId=", NULL, "botId: repeated, second empty" },
    { BOT_ID_DEFAULT, "botId=a&botId", NULL, "botId: repeated without '='" },
    { BOT_ID_DEFAULT, "botId=%41bc", "Abc", "botId: %41 decoded" },
    { BOT_ID_DEFAULT, "botId=%4a%4B", "JK",
      "botId: hex digits of either case" },
    { BOT_ID_DEFAULT, "botId=%4", NULL, "botId: %4 truncated" },
    { BOT_ID_DEFAULT, "botId=ab%4", NULL, "botId: %4 truncated at the end" },
    { BOT_ID_DEFAULT, "botId=%zz", NULL, "botId: %zz" },
    { BOT_ID_DEFAULT, "botId=%4g", NULL, "botId: %4g" },
    { BOT_ID_DEFAULT, "botId=%", NULL, "botId: lone %" },
    { BOT_ID_DEFAULT, "botId=%00", NULL, "botId: %00" },
    { BOT_ID_ANY, "botId=a%00", NULL, "botId: %00 with any pattern" },
    { BOT_ID_DEFAULT, "botId=abc%0A", NULL,
      "botId: %0A at the end fails the default pattern" },
    { BOT_ID_DEFAULT, "botId=a+b", NULL, "botId: '+' decoded, fails pattern" },
    { BOT_ID_ANY, "botId=a+b%20c", "a b c", "botId: '+' is a space" },
    { BOT_ID_ANY, "botId=%2B", "+", "botId: %2B is '+'" },
    { BOT_ID_DEFAULT, "botId=%2Dabc", NULL, "botId: decoded before matching" },
    { BOT_ID_DEFAULT, "a=1&botId=xyz&b=2", "xyz", "botId: among other args" },
    { BOT_ID_DEFAULT, "a=1&b=2&botId=xyz", "xyz", "botId: last argument" },
    { BOT_ID_DEFAULT, "&&botId=xyz&&", "xyz", "botId: empty arguments around" },
    { BOT_ID_DEFAULT, "botid=abc", NULL, "botId: \"botid\" does not count" },
    { BOT_ID_DEFAULT, "BotId=abc", NULL, "botId: \"BotId\" does not count" },
    { BOT_ID_DEFAULT, "botIds=abc", NULL, "botId: \"botIds\" does not count" },
    { BOT_ID_DEFAULT, "xbotId=abc", NULL, "botId: \"xbotId\" does not count" },
    { BOT_ID_DEFAULT, "bot%49d=abc", NULL, "botId: name is not decoded" },
    { BOT_ID_DEFAULT, "botid=x&botId=abc", "abc", "botId: botid ignored" },
    { BOT_ID_DEFAULT, "botId=abc=def", NULL, "botId: '=' in the value" },
    { BOT_ID_ANY, "botId=abc=def", "abc=def", "botId: value after first =" },
    { BOT_ID_NONE, "botId=a%20b", "a b", "botId: no pattern" },

    /* the fast path for a value of plain ASCII */
    { BOT_ID_DEFAULT, "botId=a", "a", "botId: one character" },
    { BOT_ID_DEFAULT, "botId=A-b_9", "A-b_9", "botId: every class" },
    { BOT_ID_DEFAULT, "botId=-ab", NULL, "botId: '-' first" },
    { BOT_ID_DEFAULT, "botId=_ab", NULL, "botId: '_' first" },
    { BOT_ID_DEFAULT, "botId=9-", "9-", "botId: digit then '-'" },
    { BOT_ID_DEFAULT, "botId=a.b", NULL, "botId: '.' fails the pattern" },
    { BOT_ID_ANY, "botId=a.b", "a.b", "botId: '.' with any pattern" },
    { BOT_ID_NONE, "botId=a.b~c", "a.b~c", "botId: '.' '~' no pattern" },
    { BOT_ID_DEFAULT, "botId=a&", "a", "botId: a trailing '&'" },
    { BOT_ID_DEFAULT, "botId=a&&", "a", "botId: trailing '&&'" },
    { BOT_ID_DEFAULT, "botId=ab&botId=ab", NULL, "botId: repeated, plain" },
    { BOT_ID_DEFAULT, "botId=ab&x", "ab", "botId: then a bare name" },
    { BOT_ID_DEFAULT, "botIdx=ab", NULL, "botId: \"botIdx\" does not count" },
    { BOT_ID_DEFAULT, "botId=a\x80", NULL, "botId: a raw 0x80" },
    { BOT_ID_ANY, "botId=a\xc3\xa9", "a\xc3\xa9", "botId: raw UTF-8" },
    { BOT_ID_ANY, "botId=a\xc3", NULL, "botId: raw truncated UTF-8" },
    { BOT_ID_NONE, "botId=\xff", NULL, "botId: raw 0xff, no pattern" },
    { BOT_ID_ANY, "botId=a\nb", NULL, "botId: '.' does not match LF" },
    { BOT_ID_NONE, "botId=a\nb", "a\nb", "botId: LF, no pattern" },
    { BOT_ID_DEFAULT, "botId=a\x7f", NULL, "botId: DEL fails the pattern" },
    { BOT_ID_NONE, "botId=\x7f", "\x7f", "botId: DEL, no pattern" },
    { BOT_ID_NONE, "botId=a b", "a b", "botId: raw space, no pattern" },
    { BOT_ID_DEFAULT, "botId=a%2D", "a-", "botId: %2D after the first" },
    { BOT_ID_DEFAULT, "botId=+", NULL, "botId: '+' alone" },
    { BOT_ID_NONE, "botId=+", " ", "botId: '+' alone, no pattern" },
};


void
test_request(void)
{
    int          i, same;
    char         err[128], long_id[1100], args[1200];
    size_t       n, args_len;
    manta_re_t  *re, *any, *pcre;

    for (i = 0; types_ok[i]; i++) {
        is_int(manta_content_type_ok(types_ok[i], strlen(types_ok[i])), 1,
               "Content-Type accepted: \"%s\"", types_ok[i]);
    }

    for (i = 0; types_bad[i]; i++) {
        is_int(manta_content_type_ok(types_bad[i], strlen(types_bad[i])), 0,
               "Content-Type rejected: \"%s\"", types_bad[i]);
    }

    is_int(manta_content_type_ok("application/json; charset=utf-8", 16), 1,
           "Content-Type: length respected");
    is_int(manta_content_type_ok("application/json\0", 17), 0,
           "Content-Type: NUL after the type rejected");

    re = manta_re_compile(S(DEFAULT_BOT_ID), 0, err, sizeof(err));
    any = manta_re_compile(S("^.*$"), 0, err, sizeof(err));
    pcre = manta_re_compile(S(DEFAULT_BOT_ID), MANTA_RE_PCRE, err,
                            sizeof(err));

    is_int(manta_re_is_bot_id(re), 1, "botId: the default pattern by hand");
    is_int(manta_re_is_bot_id(pcre), 0, "botId: MANTA_RE_PCRE is PCRE2");
    is_int(manta_re_is_bot_id(any), 0, "botId: another pattern is PCRE2");

    for (i = 0; i < (int) (sizeof(bot_ids) / sizeof(bot_ids[0])); i++) {
        bot_id_is(bot_ids[i].re == BOT_ID_DEFAULT ? re
                  : bot_ids[i].re == BOT_ID_ANY ? any : NULL,
                  bot_ids[i].args, bot_ids[i].expected, bot_ids[i].test);

        /* the fast path against decode, UTF-8 check and PCRE2 */

        args_len = strlen(bot_ids[i].args);

        ok(bot_id_same(re, pcre, bot_ids[i].args, args_len)
           && bot_id_same(pcre, pcre, bot_ids[i].args, args_len)
           && bot_id_same(any, any, bot_ids[i].args, args_len)
           && bot_id_same(NULL, NULL, bot_ids[i].args, args_len),
           "%s: fast path as decoded and matched", bot_ids[i].test);
    }

    /* every length around the pattern's and MANTA_BOT_ID_MAX */

    memcpy(args, "botId=", 6);
    same = 1;

    for (n = 1; n <= MANTA_BOT_ID_MAX + 2; n++) {
        memset(args + 6, 'x', n);
        args[6 + n - 1] = (n % 3 == 0) ? '-' : 'y';

        same &= bot_id_same(re, pcre, args, 6 + n);
        same &= bot_id_same(NULL, NULL, args, 6 + n);

        args[6 + n] = '&';
        same &= bot_id_same(re, pcre, args, 6 + n + 1);

        args[6 + n] = '%';
        same &= bot_id_same(re, pcre, args, 6 + n + 1);
        same &= bot_id_same(NULL, NULL, args, 6 + n + 1);
    }

    ok(same, "botId: 1 .. MANTA_BOT_ID_MAX + 2 bytes, fast path as decoded "
       "and matched");

    memset(long_id, 'a', 128);
    long_id[128] = '\0';
    snprintf(args, sizeof(args), "botId=%s", long_id);
    bot_id_is(re, args, long_id, "botId: 128 characters");

    snprintf(args, sizeof(args), "botId=%sa", long_id);
    bot_id_is(re, args, NULL, "botId: 129 characters");

    memset(long_id, 'b', MANTA_BOT_ID_MAX);
    long_id[MANTA_BOT_ID_MAX] = '\0';
    snprintf(args, sizeof(args), "botId=%s", long_id);
    bot_id_is(any, args, long_id, "botId: MANTA_BOT_ID_MAX bytes");

    snprintf(args, sizeof(args), "botId=%sb", long_id);
    bot_id_is(any, args, NULL, "botId: MANTA_BOT_ID_MAX + 1 bytes");

    snprintf(args, sizeof(args), "botId=%s%%41", long_id);
    bot_id_is(any, args, NULL, "botId: decoded MANTA_BOT_ID_MAX + 1 bytes");

    snprintf(args, sizeof(args), "botId=%.*s%%41", MANTA_BOT_ID_MAX - 1,
             long_id);
    long_id[MANTA_BOT_ID_MAX - 1] = 'A';
    bot_id_is(any, args, long_id, "botId: decoded MANTA_BOT_ID_MAX bytes");

    bot_id_is(any, "botId=%C3%A9", "\xc3\xa9",
              "botId: UTF-8 with a permissive pattern");
    bot_id_is(any, "botId=%FF", NULL,
              "botId: invalid UTF-8 even with a permissive pattern");
    bot_id_is(any, "botId=%C0%AF", NULL, "botId: overlong UTF-8");
    bot_id_is(any, "botId=%ED%A0%80", NULL, "botId: UTF-8 surrogate");

    /* a query that is its own canonical form, and queries that are not */

    bot_id_plain_is("botId=bot-1", 1, "plain: word bytes");
    bot_id_plain_is("botId=A_z-09", 1, "plain: every word class");
    bot_id_plain_is("botId=a", 1, "plain: one byte");
    bot_id_plain_is("botId=bot.1", 0, "plain: '.' left to manta_query()");
    bot_id_plain_is("botId=bot~1", 0, "plain: '~' left to manta_query()");
    bot_id_plain_is("botId=b%41", 0, "plain: not with an escape");
    bot_id_plain_is("botId=b%2D", 0, "plain: not with an escaped '-'");
    bot_id_plain_is("botId=b+c", 0, "plain: not with '+'");
    bot_id_plain_is("botId=b!c", 0, "plain: not with '!'");
    bot_id_plain_is("botId=b*c", 0, "plain: not with '*'");
    bot_id_plain_is("botId=b'c", 0, "plain: not with a quote");
    bot_id_plain_is("botId=bot-1&x=1", 0, "plain: not with a second "
                    "argument");
    bot_id_plain_is("x=1&botId=bot-1", 0, "plain: not after an argument");
    bot_id_plain_is("botid=bot-1", 0, "plain: not another name");

    manta_re_free(pcre);
    manta_re_free(any);
    manta_re_free(re);

    pct_is(S(""), "", "pct: empty");
    pct_is(S("AZaz09-._~"), "AZaz09-._~", "pct: unreserved kept");
    pct_is(S("a b/c?d&e=f+g%h"), "a%20b%2Fc%3Fd%26e%3Df%2Bg%25h",
           "pct: reserved encoded");
    pct_is(S("\xc3\xa9\x7f\x00"), "%C3%A9%7F%00",
           "pct: upper-case hex, bytes >= 0x7f, NUL");
    pct_is(S("!*'();:@$,[]#"), "%21%2A%27%28%29%3B%3A%40%24%2C%5B%5D%23",
           "pct: sub-delims encoded");
}


static void
bot_id_is(const manta_re_t *re, const char *args, const char *expected,
    const char *name)
{
    int             plain;
    char            out[MANTA_BOT_ID_MAX];
    size_t          len;
    manta_reason_t  rc;

    len = 12345;
    rc = manta_bot_id_parse(args, strlen(args), re, out, &len, &plain);

    if (expected == NULL) {
        is_int(rc, MANTA_BAD_BOT_ID, "%s: bad_bot_id", name);
        return;
    }

    if (is_int(rc, MANTA_OK, "%s: ok", name)) {
        is_mem(out, len, expected, "%s: value", name);
    }
}


/*
 * 1 when manta_bot_id_parse() with re gives what manta_bot_id_parse_full()
 * gives with slow
 */

static int
bot_id_same(const manta_re_t *re, const manta_re_t *slow, const char *args,
    size_t len)
{
    int             plain;
    char            out[MANTA_BOT_ID_MAX], full[MANTA_BOT_ID_MAX];
    size_t          out_len, full_len;
    manta_reason_t  rc, rc_full;

    out_len = 12345;
    full_len = 54321;
    plain = 2;

    rc = manta_bot_id_parse(args, len, re, out, &out_len, &plain);
    rc_full = manta_bot_id_parse_full(args, len, slow, full, &full_len);

    /* plain: the query is "botId=" and the value, each byte unreserved */

    if (plain != 0
        && (plain != 1 || rc != MANTA_OK || len != 6 + out_len
            || memcmp(args, "botId=", 6) != 0
            || memcmp(args + 6, out, out_len) != 0
            || manta_pct_encode_len(out, out_len) != out_len))
    {
        diag("%zu bytes: plain %d, not the canonical query", len, plain);
        return 0;
    }

    if (rc == rc_full && out_len == full_len
        && memcmp(out, full, out_len) == 0)
    {
        return 1;
    }

    diag("%zu bytes: fast path %d, %zu bytes; decoded and matched %d, "
         "%zu bytes", len, (int) rc, out_len, (int) rc_full, full_len);

    return 0;
}



/* whether manta_bot_id_parse() finds the query its own canonical form */

static void
bot_id_plain_is(const char *args, int expected, const char *name)
{
    int             plain;
    char            out[MANTA_BOT_ID_MAX];
    size_t          len;

    plain = 2;

    (void) manta_bot_id_parse(args, strlen(args), NULL, out, &len, &plain);

    is_int(plain, expected, "%s", name);
    ok(bot_id_same(NULL, NULL, args, strlen(args)), "%s: as decoded", name);
}

static void
pct_is(const char *src, size_t len, const char *expected, const char *name)
{
    char    buf[256], *end;
    size_t  n;

    n = manta_pct_encode_len(src, len);
    is_int(n, strlen(expected), "%s: length", name);

    end = manta_pct_encode(buf, src, len);
    is_mem(buf, (size_t) (end - buf), expected, "%s", name);
}
