/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * Helpers shared by the libFuzzer drivers in t/fuzz/fuzz_*.c.
 */


#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <utf8proc.h>

#include "fuzz.h"


void
fuzz_fail(const char *cond, const char *file, int line)
{
    fprintf(stderr, "invariant violated at %s:%d: %s\n", file, line, cond);
    abort();
}


/*
 * The start-up of a driver that defines none of its own (a driver's own
 * LLVMFuzzerInitialize replaces this weak one): jansson's seed.
 */

__attribute__ ((weak)) int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;

    fuzz_json_init();

    return 0;
}


void
fuzz_json_init(void)
{
    json_object_seed(0x6d616e74);
}


manta_re_t *
fuzz_re(const char *pattern, size_t len, int flags)
{
    char         err[128];
    manta_re_t  *re;

    re = manta_re_compile(pattern, len, flags, err, sizeof(err));
    fuzz_assert(re != NULL);

    return re;
}


void
fuzz_body_opts(manta_body_opts_t *opts, uint8_t byte)
{
    opts->unknown_fields = (byte & 1) ? MANTA_UNKNOWN_FIELDS_DROP
                                      : MANTA_UNKNOWN_FIELDS_REJECT;
    opts->client_secret = (byte & 2) ? MANTA_CLIENT_SECRET_REPLACE
                                     : MANTA_CLIENT_SECRET_REJECT;
    opts->name_max_length = (byte >> 2) ? (size_t) (byte >> 2) : 64;
    opts->name_re = NULL;
}


int
fuzz_utf8_valid(const char *s, size_t len)
{
    size_t                n;
    uint32_t              cp, min;
    const unsigned char  *p, *last;

    p = (const unsigned char *) s;
    last = p + len;

    while (p < last) {
        cp = *p++;

        if (cp < 0x80) {
            continue;
        }

        if (cp >= 0xc2 && cp <= 0xdf) {
            n = 1;
            cp &= 0x1f;
            min = 0x80;

        } else if (cp >= 0xe0 && cp <= 0xef) {
            n = 2;
            cp &= 0x0f;
            min = 0x800;

        } else if (cp >= 0xf0 && cp <= 0xf4) {
            n = 3;
            cp &= 0x07;
            min = 0x10000;

        } else {
            return 0;
        }

        if ((size_t) (last - p) < n) {
            return 0;
        }

        while (n--) {
            if ((*p & 0xc0) != 0x80) {
                return 0;
            }

            cp = (cp << 6) | (*p++ & 0x3f);
        }

        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return 0;
        }
    }

    return 1;
}


uint32_t
fuzz_utf8_next(const char **pos)
{
    size_t                n;
    uint32_t              cp;
    const unsigned char  *p;

    p = (const unsigned char *) *pos;
    cp = *p++;

    if (cp >= 0xf0) {
        n = 3;
        cp &= 0x07;

    } else if (cp >= 0xe0) {
        n = 2;
        cp &= 0x0f;

    } else if (cp >= 0xc0) {
        n = 1;
        cp &= 0x1f;

    } else {
        n = 0;
    }

    while (n--) {
        cp = (cp << 6) | (*p++ & 0x3f);
    }

    *pos = (const char *) p;

    return cp;
}


int
fuzz_nfc(const char *s, size_t len)
{
    int                rc;
    utf8proc_ssize_t   n;
    utf8proc_uint8_t  *nfc;

    n = utf8proc_map((const utf8proc_uint8_t *) s, (utf8proc_ssize_t) len,
                     &nfc, UTF8PROC_STABLE | UTF8PROC_COMPOSE);

    fuzz_assert(n >= 0);

    rc = ((size_t) n == len && memcmp(nfc, s, len) == 0);

    free(nfc);

    return rc;
}


int
fuzz_holds(const char *s, size_t len, const char *const *needles, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (needles[i][0] != '\0'
            && memmem(s, len, needles[i], strlen(needles[i])) != NULL)
        {
            return 1;
        }
    }

    return 0;
}


void
fuzz_name_invariants(const char *name, size_t len, size_t max_length)
{
    size_t                      count;
    uint32_t                    cp, prev;
    const char                 *p, *last;
    const utf8proc_property_t  *prop;

    fuzz_assert(len > 0 && name[len] == '\0');
    fuzz_assert(fuzz_utf8_valid(name, len));
    fuzz_assert(fuzz_nfc(name, len));
    fuzz_assert(name[0] != ' ' && name[len - 1] != ' ');

    p = name;
    last = name + len;
    count = 0;
    prev = 0;

    while (p < last) {
        cp = fuzz_utf8_next(&p);
        prop = utf8proc_get_property((utf8proc_int32_t) cp);

        if (count == 0) {
            fuzz_assert(prop->category != UTF8PROC_CATEGORY_MN
                        && prop->category != UTF8PROC_CATEGORY_MC
                        && prop->category != UTF8PROC_CATEGORY_ME);
        }

        count++;

        /* controls, noncharacters, private use, unassigned */
        fuzz_assert(prop->category != UTF8PROC_CATEGORY_CC
                    && prop->category != UTF8PROC_CATEGORY_CN
                    && prop->category != UTF8PROC_CATEGORY_CO
                    && prop->category != UTF8PROC_CATEGORY_CS);

        /* bidi controls and marks; any other Default_Ignorable */
        fuzz_assert(cp != 0x061c && cp != 0x200e && cp != 0x200f
                    && !(cp >= 0x202a && cp <= 0x202e)
                    && !(cp >= 0x2066 && cp <= 0x2069));
        fuzz_assert(!prop->ignorable);

        /* White_Space other than U+0020, and no two U+0020 in a row */
        fuzz_assert(cp != 0xa0 && cp != 0x1680
                    && !(cp >= 0x2000 && cp <= 0x200a) && cp != 0x2028
                    && cp != 0x2029 && cp != 0x202f && cp != 0x205f
                    && cp != 0x3000);
        fuzz_assert(!(cp == ' ' && prev == ' '));

        prev = cp;
    }

    fuzz_assert(p == last && count <= max_length);
}


int
fuzz_control(const char *s, size_t len)
{
    size_t          i;
    unsigned char   c;

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (c < 0x20 || c == 0x7f
            || (c == 0xc2 && i + 1 < len
                && ((unsigned char) s[i + 1] & 0xe0) == 0x80))
        {
            return 1;
        }
    }

    return 0;
}
