/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * Fuzzes name normalization on raw bytes (manta_name_normalize), with and
 * without a name pattern: invalid UTF-8 included, which a JSON body cannot
 * carry.
 *
 * The first byte picks the maximum length, the rest is the name.
 */


#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "manta_request.h"
#include "fuzz.h"


static void check(const manta_body_opts_t *opts, const char *src,
    size_t len);
static int zero_width(const char *data, size_t len);


static manta_re_t  *name_re;


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char  err[128];

    (void) argc;
    (void) argv;

    name_re = manta_re_compile(S("^\\p{L}+( \\p{L}+)*$"), MANTA_RE_UTF, err,
                               sizeof(err));
    fuzz_assert(name_re != NULL);

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char               *plain, *with;
    size_t              plain_len, with_len, len;
    const char         *src;
    manta_reason_t      rc, rc_re;
    manta_body_opts_t   opts;

    if (size == 0) {
        return 0;
    }

    opts.unknown_fields = MANTA_UNKNOWN_FIELDS_REJECT;
    opts.client_secret = MANTA_CLIENT_SECRET_REJECT;
    opts.name_max_length = data[0] ? data[0] : 64;
    opts.name_re = NULL;

    src = (const char *) data + 1;
    len = size - 1;

    check(&opts, src, len);

    opts.name_re = name_re;
    check(&opts, src, len);

    /* invalid UTF-8 never passes; the pattern only adds a check */

    opts.name_re = NULL;
    rc = manta_name_normalize(&opts, src, len, &plain, &plain_len);

    opts.name_re = name_re;
    rc_re = manta_name_normalize(&opts, src, len, &with, &with_len);

    if (!fuzz_utf8_valid(src, len)) {
        fuzz_assert(rc == MANTA_INVALID_NAME);
    }

    if (rc != MANTA_OK) {
        fuzz_assert(rc_re == rc);

    } else if (manta_re_match(name_re, plain, plain_len) == 1) {
        fuzz_assert(rc_re == MANTA_OK && with_len == plain_len
                    && memcmp(with, plain, plain_len) == 0);

    } else {
        fuzz_assert(rc_re == MANTA_INVALID_NAME);
    }

    free(plain);
    free(with);

    return 0;
}


static void
check(const manta_body_opts_t *opts, const char *src, size_t len)
{
    char               *name, *again;
    size_t              name_len, again_len, count;
    uint32_t            cp, prev;
    const char         *p, *last;
    manta_reason_t      rc;
    manta_body_opts_t   o;

    name = (char *) 1;
    name_len = 7;

    rc = manta_name_normalize(opts, src, len, &name, &name_len);

    fuzz_assert(rc == MANTA_OK || rc == MANTA_INVALID_NAME);

    if (rc != MANTA_OK) {
        fuzz_assert(name == NULL && name_len == 0);
        return;
    }

    fuzz_assert(name_len > 0 && name[name_len] == '\0');
    fuzz_assert(fuzz_utf8_valid(name, name_len));
    fuzz_assert(name[0] != ' ' && name[name_len - 1] != ' ');

    if (opts->name_re) {
        fuzz_assert(manta_re_match(opts->name_re, name, name_len) == 1);
    }

    p = name;
    last = name + name_len;
    count = 0;
    prev = 0;

    while (p < last) {
        cp = fuzz_utf8_next(&p);
        count++;

        fuzz_assert(cp >= 0x20 && cp != 0x7f && (cp < 0x80 || cp > 0x9f));
        fuzz_assert(!(cp >= 0x202a && cp <= 0x202e)
                    && !(cp >= 0x2066 && cp <= 0x2069));
        fuzz_assert(!(cp >= 0x200b && cp <= 0x200d) && cp != 0x2060
                    && cp != 0xfeff);
        fuzz_assert(cp != 0xa0 && cp != 0x1680
                    && !(cp >= 0x2000 && cp <= 0x200a) && cp != 0x2028
                    && cp != 0x2029 && cp != 0x202f && cp != 0x205f
                    && cp != 0x3000);
        fuzz_assert(!(cp == ' ' && prev == ' '));

        prev = cp;
    }

    fuzz_assert(p == last && count <= opts->name_max_length);

    /*
     * in NFC, and normalizing it again changes nothing; removing zero-width
     * characters after NFC may leave a name that is not in NFC
     */

    if (!zero_width(src, len)) {
        fuzz_assert(fuzz_nfc(name, name_len));

        o = *opts;
        o.name_re = NULL;

        rc = manta_name_normalize(&o, name, name_len, &again, &again_len);

        fuzz_assert(rc == MANTA_OK && again_len == name_len
                    && memcmp(again, name, name_len) == 0);

        free(again);
    }

    free(name);
}


/* U+200B .. U+200D, U+2060, U+FEFF */

static int
zero_width(const char *data, size_t len)
{
    return memmem(data, len, "\xe2\x80\x8b", 3) != NULL
           || memmem(data, len, "\xe2\x80\x8c", 3) != NULL
           || memmem(data, len, "\xe2\x80\x8d", 3) != NULL
           || memmem(data, len, "\xe2\x81\xa0", 3) != NULL
           || memmem(data, len, "\xef\xbb\xbf", 3) != NULL;
}
