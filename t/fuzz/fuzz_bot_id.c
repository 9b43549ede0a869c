/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * Fuzzes the botId query argument (manta_bot_id_parse) with the default
 * pattern and without one, and its canonical re-encoding
 * (manta_pct_encode).  The input is the query string.  The fast path for
 * plain ASCII is held to manta_bot_id_parse_full() (every value decoded,
 * checked for UTF-8 and matched), the default pattern's hand-written
 * check to PCRE2's.
 */


#include <stdlib.h>
#include <string.h>

#include "manta_request.h"
#include "fuzz.h"


#define DEFAULT_BOT_ID  "^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$"


/* compiled on the first input */
static manta_re_t  *bot_re;
static manta_re_t  *pcre_re;


static void same(const manta_re_t *re, const manta_re_t *slow,
    const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int              plain;
    char            *args, *end, out[MANTA_BOT_ID_MAX],
                     any[MANTA_BOT_ID_MAX], again[MANTA_BOT_ID_MAX];
    size_t           i, len, any_len, again_len, n;
    manta_reason_t   rc, rc_any;

    if (bot_re == NULL) {
        bot_re = fuzz_re(S(DEFAULT_BOT_ID), 0);
        pcre_re = fuzz_re(S(DEFAULT_BOT_ID), MANTA_RE_PCRE);
        fuzz_assert(manta_re_is_bot_id(bot_re));
        fuzz_assert(!manta_re_is_bot_id(pcre_re));
    }

    same(bot_re, pcre_re, data, size);
    same(pcre_re, pcre_re, data, size);
    same(NULL, NULL, data, size);

    len = 12345;
    rc = manta_bot_id_parse((const char *) data, size, bot_re, out, &len,
                            &plain);

    any_len = 12345;
    rc_any = manta_bot_id_parse((const char *) data, size, NULL, any,
                                &any_len, &plain);

    fuzz_assert(rc == MANTA_OK || rc == MANTA_BAD_BOT_ID);
    fuzz_assert(rc_any == MANTA_OK || rc_any == MANTA_BAD_BOT_ID);

    if (rc_any != MANTA_OK) {
        fuzz_assert(rc == MANTA_BAD_BOT_ID && len == 0 && any_len == 0);
        return 0;
    }

    fuzz_assert(any_len >= 1 && any_len <= MANTA_BOT_ID_MAX);
    fuzz_assert(memchr(any, '\0', any_len) == NULL);

    /* the canonical query decodes to the same botId */

    n = manta_pct_encode_len(any, any_len);
    args = malloc(sizeof("botId=") - 1 + n);
    fuzz_assert(args != NULL);

    memcpy(args, "botId=", sizeof("botId=") - 1);
    end = manta_pct_encode(args + sizeof("botId=") - 1, any, any_len);
    fuzz_assert((size_t) (end - args) == sizeof("botId=") - 1 + n);

    for (i = sizeof("botId=") - 1; i < (size_t) (end - args); i++) {
        fuzz_assert(strchr("%-._~", args[i]) != NULL
                    || (args[i] >= '0' && args[i] <= '9')
                    || (args[i] >= 'A' && args[i] <= 'Z')
                    || (args[i] >= 'a' && args[i] <= 'z'));
    }

    fuzz_assert(manta_bot_id_parse(args, (size_t) (end - args), NULL, again,
                                   &again_len, &plain)
                == MANTA_OK);
    fuzz_assert(again_len == any_len && memcmp(again, any, any_len) == 0);

    free(args);

    /* the pattern only adds a check */

    if (rc != MANTA_OK) {
        fuzz_assert(len == 0);
        return 0;
    }

    fuzz_assert(len == any_len && memcmp(out, any, len) == 0);
    fuzz_assert(len >= 1 && len <= 128);

    for (i = 0; i < len; i++) {
        fuzz_assert((out[i] >= '0' && out[i] <= '9')
                    || (out[i] >= 'A' && out[i] <= 'Z')
                    || (out[i] >= 'a' && out[i] <= 'z')
                    || (i > 0 && (out[i] == '_' || out[i] == '-')));
    }

    return 0;
}


/* manta_bot_id_parse() with re as manta_bot_id_parse_full() with slow */

static void
same(const manta_re_t *re, const manta_re_t *slow, const uint8_t *data,
    size_t size)
{
    int             plain;
    char            out[MANTA_BOT_ID_MAX], full[MANTA_BOT_ID_MAX];
    size_t          out_len, full_len;
    manta_reason_t  rc, rc_full;

    out_len = 12345;
    full_len = 54321;

    plain = 2;

    rc = manta_bot_id_parse((const char *) data, size, re, out, &out_len,
                            &plain);
    rc_full = manta_bot_id_parse_full((const char *) data, size, slow, full,
                                      &full_len);

    /* plain: the query is "botId=" and the value, each byte unreserved */

    fuzz_assert(plain == 0 || plain == 1);

    if (plain) {
        fuzz_assert(rc == MANTA_OK && size == 6 + out_len);
        fuzz_assert(memcmp(data, "botId=", 6) == 0);
        fuzz_assert(memcmp(data + 6, out, out_len) == 0);
        fuzz_assert(manta_pct_encode_len(out, out_len) == out_len);
    }

    fuzz_assert(rc == rc_full && out_len == full_len);
    fuzz_assert(memcmp(out, full, out_len) == 0);
}
