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


void
fuzz_json_init(void)
{
    json_object_seed(0x6d616e74);
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
