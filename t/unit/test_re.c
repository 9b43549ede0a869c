/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * manta_re.c: compilation, errors, matching, UTF mode.
 */


#include <string.h>

#include "manta_re.h"
#include "tap.h"
#include "tests.h"


#define S(s)  (s), (sizeof(s) - 1)

#define DEFAULT_BOT_ID  "^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$"


static void test_re_bot_id(void);


void
test_re(void)
{
    char         err[256], small[8];
    manta_re_t  *re, *utf, *bad;

    re = manta_re_compile(S(DEFAULT_BOT_ID), 0, err, sizeof(err));
    ok(re != NULL, "default botId pattern compiles");
    is_str(err, "", "no error message on success");

    is_int(manta_re_match(re, S("abc")), 1, "match: abc");
    is_int(manta_re_match(re, S("A-b_9")), 1, "match: A-b_9");
    is_int(manta_re_match(re, S("")), 0, "no match: empty");
    is_int(manta_re_match(re, S("-abc")), 0, "no match: leading -");
    is_int(manta_re_match(re, S("abc\n")), 0,
           "no match: abc\\n (PCRE2_DOLLAR_ENDONLY)");
    is_int(manta_re_match(re, S("ab c")), 0, "no match: space");
    is_int(manta_re_match(re, S("ab\0c")), 0, "no match: embedded NUL");
    is_int(manta_re_match(re, S("\xc3\xa9")), 0, "no match: UTF-8 byte");

    test_re_bot_id();

    utf = manta_re_compile(S("^\\p{L}+$"), MANTA_RE_UTF, err, sizeof(err));
    ok(utf != NULL, "UTF pattern compiles");
    is_int(manta_re_match(utf, S("Zo\xc3\xab")), 1, "UTF: letters match");
    is_int(manta_re_match(utf, S("\xe6\x97\xa5\xe6\x9c\xac")), 1,
           "UTF: CJK letters match");
    is_int(manta_re_match(utf, S("a1")), 0, "UTF: digit does not match");
    is_int(manta_re_match(utf, S("a\xff")), 0,
           "UTF: invalid UTF-8 counts as no match");

    manta_re_free(utf);

    utf = manta_re_compile(S("^\\w+$"), MANTA_RE_UTF, err, sizeof(err));
    is_int(manta_re_match(utf, S("\xc3\xa9t\xc3\xa9")), 1,
           "UTF mode has UCP: \\w matches \xc3\xa9");
    manta_re_free(utf);

    utf = manta_re_compile(S("^\\w+$"), 0, err, sizeof(err));
    is_int(manta_re_match(utf, S("\xc3\xa9t\xc3\xa9")), 0,
           "without UTF \\w is ASCII only");
    manta_re_free(utf);

    bad = manta_re_compile(S("a("), 0, err, sizeof(err));
    ok(bad == NULL, "bad pattern: NULL");
    ok(strstr(err, "at offset 2") != NULL, "bad pattern: message \"%s\"",
       err);
    ok(strstr(err, "missing") != NULL, "bad pattern: PCRE2's message");

    bad = manta_re_compile(S("[z-a]"), 0, small, sizeof(small));
    ok(bad == NULL, "bad range: NULL");
    is_int(strlen(small), sizeof(small) - 1,
           "bad pattern: message truncated to errlen - 1");

    bad = manta_re_compile(S("\xff"), MANTA_RE_UTF, err, sizeof(err));
    ok(bad == NULL, "invalid UTF-8 pattern in UTF mode: NULL");

    bad = manta_re_compile(S("a("), 0, NULL, 0);
    ok(bad == NULL, "bad pattern without an error buffer");

    /* a pattern given with its length needs no NUL */

    utf = manta_re_compile("^ab$XYZ", 4, 0, err, sizeof(err));
    is_int(manta_re_match(utf, S("ab")), 1, "pattern length respected");
    manta_re_free(utf);

    is_int(manta_re_match(re, S("still-works")), 1,
           "match data survives freeing other patterns");

    manta_re_free(re);
    manta_re_free(NULL);

    re = manta_re_compile(S("^x$"), 0, err, sizeof(err));
    is_int(manta_re_match(re, S("x")), 1,
           "match data recreated after the last pattern was freed");
    manta_re_free(re);
}


/*
 * The default botId pattern is checked by hand: it answers as PCRE2 does
 * on every short string over a telling alphabet and on random strings of
 * every length around the 128-byte limit.
 */

static void
test_re_bot_id(void)
{
    char         s[160], err[256];
    size_t       i, k, v, len, total, n, bad;
    unsigned     seed;
    manta_re_t  *fast, *pcre;

    static const char  alphabet[] = "aZ09_-\n .\0\xc3/Az";
    static const char  valid[] = "abcXYZ019_-";

    fast = manta_re_compile(S(DEFAULT_BOT_ID), 0, err, sizeof(err));
    pcre = manta_re_compile(S(DEFAULT_BOT_ID), MANTA_RE_PCRE, err,
                            sizeof(err));

    bad = 0;
    n = 0;

    /* every string of up to 3 bytes over the alphabet */

    for (len = 0, total = 1; len <= 3; len++) {

        for (i = 0; i < total; i++) {
            for (k = 0, v = i; k < len; k++) {
                s[k] = alphabet[v % (sizeof(alphabet) - 1)];
                v /= sizeof(alphabet) - 1;
            }

            n++;
            bad += manta_re_match(fast, s, len) != manta_re_match(pcre, s, len);
        }

        total *= sizeof(alphabet) - 1;
    }

    /* random strings of 0 to 159 bytes, mostly of allowed bytes */

    seed = 7;

    for (i = 0; i < 20000; i++) {
        seed = seed * 1103515245 + 12345;
        len = (seed >> 16) % 160;

        for (k = 0; k < len; k++) {
            seed = seed * 1103515245 + 12345;
            s[k] = ((seed >> 16) % 50)
                   ? valid[(seed >> 8) % (sizeof(valid) - 1)]
                   : alphabet[(seed >> 8) % (sizeof(alphabet) - 1)];
        }

        n++;
        bad += manta_re_match(fast, s, len) != manta_re_match(pcre, s, len);
    }

    ok(bad == 0, "default botId pattern: the hand-written check answers as "
       "PCRE2 on %zu strings", n);

    memset(s, 'a', 129);
    is_int(manta_re_match(fast, s, 0), 0, "hand-written check: empty fails");
    is_int(manta_re_match(fast, s, 128), 1,
           "hand-written check: 128 bytes pass");
    is_int(manta_re_match(fast, s, 129), 0,
           "hand-written check: 129 bytes fail");

    manta_re_free(fast);
    manta_re_free(pcre);
}
