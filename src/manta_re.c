/*
 * Copyright (C) ngx_http_manta_module authors
 * Pure C core: no nginx types or headers.
 *
 * PCRE2 patterns.  Matching allocates nothing: one match data block with a
 * single ovector pair serves every match (nginx workers are single
 * threaded); it is created with the first pattern and released with the
 * last one.  The default botId pattern, the one every request meets, is
 * also checked by hand (its PCRE2 code is kept for nothing else than the
 * unit test that holds the two to the same answers).
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH  8
#include <pcre2.h>

#include "manta_re.h"


struct manta_re_s {
    pcre2_code  *code;
    unsigned     jit:1;
    unsigned     bot_id:1;
};


static int manta_re_bot_id(const char *subject, size_t len);


static pcre2_match_data  *manta_re_match_data;
static size_t             manta_re_count;


manta_re_t *
manta_re_compile(const char *pattern, size_t len, int flags, char *err,
    size_t errlen)
{
    int           rc;
    uint32_t      options;
    manta_re_t   *re;
    PCRE2_SIZE    erroff;
    PCRE2_UCHAR   msg[256];

    if (errlen) {
        err[0] = '\0';
    }

    options = PCRE2_DOLLAR_ENDONLY;

    if (flags & MANTA_RE_UTF) {
        options |= PCRE2_UTF | PCRE2_UCP;
    }

    re = malloc(sizeof(manta_re_t));
    if (re == NULL) {
        if (errlen) {
            snprintf(err, errlen, "out of memory");
        }

        return NULL;
    }

    re->code = pcre2_compile((PCRE2_SPTR) pattern, len, options, &rc,
                             &erroff, NULL);

    if (re->code == NULL) {
        if (errlen) {
            if (pcre2_get_error_message(rc, msg, sizeof(msg)) < 0) {
                snprintf((char *) msg, sizeof(msg), "error %d", rc);
            }

            snprintf(err, errlen, "%s at offset %zu", (char *) msg,
                     (size_t) erroff);
        }

        free(re);
        return NULL;
    }

    if (manta_re_match_data == NULL) {
        manta_re_match_data = pcre2_match_data_create(1, NULL);

        if (manta_re_match_data == NULL) {
            if (errlen) {
                snprintf(err, errlen, "out of memory");
            }

            pcre2_code_free(re->code);
            free(re);
            return NULL;
        }
    }

    /*
     * JIT is an optimization only: a failure leaves the interpreter.  UTF
     * patterns go through pcre2_match(), which checks the subject's UTF-8
     */

    re->jit = pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE) == 0
              && !(flags & MANTA_RE_UTF);

    re->bot_id = !(flags & (MANTA_RE_UTF | MANTA_RE_PCRE))
                 && len == sizeof(MANTA_RE_BOT_ID) - 1
                 && memcmp(pattern, MANTA_RE_BOT_ID, len) == 0;

    manta_re_count++;

    return re;
}


int
manta_re_match(const manta_re_t *re, const char *subject, size_t len)
{
    int  rc;

    if (re == NULL || manta_re_match_data == NULL) {
        return -1;
    }

    if (re->bot_id) {
        return manta_re_bot_id(subject, len);
    }

    if (re->jit) {
        rc = pcre2_jit_match(re->code, (PCRE2_SPTR) subject, len, 0, 0,
                             manta_re_match_data, NULL);

    } else {
        rc = pcre2_match(re->code, (PCRE2_SPTR) subject, len, 0, 0,
                         manta_re_match_data, NULL);
    }

    if (rc >= 0) {
        return 1;
    }

    if (rc == PCRE2_ERROR_NOMATCH
        || (rc <= PCRE2_ERROR_UTF8_ERR1 && rc >= PCRE2_ERROR_UTF8_ERR21))
    {
        return 0;
    }

    return -1;
}


int
manta_re_is_bot_id(const manta_re_t *re)
{
    return re->bot_id;
}


void
manta_re_free(manta_re_t *re)
{
    if (re == NULL) {
        return;
    }

    pcre2_code_free(re->code);
    free(re);

    if (--manta_re_count == 0) {
        pcre2_match_data_free(manta_re_match_data);
        manta_re_match_data = NULL;
    }
}


/* MANTA_RE_BOT_ID: a letter or digit, then up to 127 of those, _ and - */

static int
manta_re_bot_id(const char *subject, size_t len)
{
    size_t         i;
    unsigned char  c;

    if (len == 0 || len > MANTA_RE_BOT_ID_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = (unsigned char) subject[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9'))
        {
            continue;
        }

        if (i == 0 || (c != '_' && c != '-')) {
            return 0;
        }
    }

    return 1;
}
