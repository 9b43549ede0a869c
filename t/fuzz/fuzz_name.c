/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * Fuzzes name normalization on raw bytes (manta_name_normalize), with and
 * without a name pattern: invalid UTF-8 included, which a JSON body cannot
 * carry.
 *
 * Every accepted name is NFC, free of controls, bidi controls and
 * Default_Ignorable code points, does not start with a combining mark
 * (fuzz_name_invariants), and normalizing it again changes nothing.  The
 * NFC quick check agrees with utf8proc: text it finds NFC (Yes) is
 * utf8proc's NFC, text it finds not NFC (No) is not.
 *
 * The first byte picks the maximum length, the rest is the name.
 */


#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "manta_request.h"
#include "../unit/alloc.h"
#include "fuzz.h"


static void check(const manta_body_opts_t *opts, const char *src,
    size_t len);
static int plain(const char *src, size_t len);
static void nfc_quick_check(const char *src, size_t len);


/* compiled on the first input */
static manta_re_t  *name_re;


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char               *plain, *with;
    size_t              plain_len, with_len, len;
    const char         *src;
    manta_reason_t      rc, rc_re;
    manta_body_opts_t   opts;

    if (name_re == NULL) {
        name_re = fuzz_re(S("^\\p{L}+( \\p{L}+)*$"), MANTA_RE_UTF);
    }

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

    nfc_quick_check(src, len);

    /* invalid UTF-8 never passes; the pattern only adds a check */

    opts.name_re = NULL;
    rc = alloc_name_normalize(&opts, src, len, &plain, &plain_len, NULL, 0);

    opts.name_re = name_re;
    rc_re = alloc_name_normalize(&opts, src, len, &with, &with_len, NULL, 0);

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
    char               *name, *again, msg[MANTA_MESSAGE_MAX];
    size_t              name_len, again_len;
    manta_reason_t      rc;
    utf8proc_ssize_t    n;
    utf8proc_uint8_t   *nfc;
    manta_body_opts_t   o;

    name = (char *) 1;
    name_len = 7;

    rc = alloc_name_normalize(opts, src, len, &name, &name_len, msg,
                              sizeof(msg));

    fuzz_assert(rc == MANTA_OK || rc == MANTA_INVALID_NAME);

    if (rc != MANTA_OK) {
        fuzz_assert(name == NULL && name_len == 0);

        /* every rejection says why, in valid UTF-8 */
        fuzz_assert(msg[0] != '\0' && fuzz_utf8_valid(msg, strlen(msg)));
        return;
    }

    fuzz_name_invariants(name, name_len, opts->name_max_length);

    /* nothing removed, trimmed or collapsed: exactly utf8proc's NFC */

    if (plain(src, len)) {
        n = utf8proc_map((const utf8proc_uint8_t *) src,
                         (utf8proc_ssize_t) len, &nfc,
                         UTF8PROC_STABLE | UTF8PROC_COMPOSE);

        fuzz_assert(n >= 0 && (size_t) n == name_len
                    && memcmp(nfc, name, name_len) == 0);
        free(nfc);
    }

    if (opts->name_re) {
        fuzz_assert(manta_re_match(opts->name_re, name, name_len) == 1);
    }

    /* normalizing an accepted name again changes nothing */

    o = *opts;
    o.name_re = NULL;

    rc = alloc_name_normalize(&o, name, name_len, &again, &again_len, msg,
                              sizeof(msg));

    fuzz_assert(rc == MANTA_OK && again_len == name_len
                && memcmp(again, name, name_len) == 0);

    free(again);
    free(name);
}


/* 1 when no code point is Default_Ignorable or White_Space */

static int
plain(const char *src, size_t len)
{
    utf8proc_int32_t        cp;
    utf8proc_ssize_t        n;
    const utf8proc_uint8_t  *p, *last;

    p = (const utf8proc_uint8_t *) src;
    last = p + len;

    while (p < last) {
        n = utf8proc_iterate(p, last - p, &cp);

        if (n <= 0) {
            return 0;
        }

        if (utf8proc_get_property(cp)->ignorable
            || cp == 0x20 || cp == 0xa0 || cp == 0x1680
            || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028
            || cp == 0x2029 || cp == 0x202f || cp == 0x205f
            || cp == 0x3000)
        {
            return 0;
        }

        p += n;
    }

    return 1;
}


static void
nfc_quick_check(const char *src, size_t len)
{
    manta_nfc_qc_t     qc;
    utf8proc_ssize_t   n;
    utf8proc_uint8_t  *nfc;

    if (!fuzz_utf8_valid(src, len)) {
        return;
    }

    qc = manta_nfc_quick_check(src, len);

    if (qc == MANTA_NFC_MAYBE) {
        return;
    }

    n = utf8proc_map((const utf8proc_uint8_t *) src, (utf8proc_ssize_t) len,
                     &nfc, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    fuzz_assert(n >= 0);

    if (qc == MANTA_NFC_YES) {
        fuzz_assert((size_t) n == len && memcmp(nfc, src, len) == 0);

    } else {
        fuzz_assert((size_t) n != len || memcmp(nfc, src, len) != 0);
    }

    free(nfc);
}
