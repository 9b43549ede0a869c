/*
 * Copyright (C) ngx_http_manta_module authors
 * Pure C core: no nginx types or headers.
 */


#define _GNU_SOURCE
#include <string.h>
#include <jansson.h>

#include "manta_util.h"


const char  manta_hex_digits[32] = "0123456789ABCDEF" "0123456789abcdef";


void
manta_init(void)
{
    static int  seeded;

    if (!seeded) {
        /* before any json_t exists */
        json_object_seed(0);
        seeded = 1;
    }
}


void
manta_wipe(void *p, size_t len)
{
    if (p != NULL && len != 0) {
        /* a memset the compiler may not drop as a dead store */
        explicit_bzero(p, len);
    }
}


char *
manta_uint(char *dst, unsigned long long n)
{
    char                *p;
    unsigned             d, i, m;
    unsigned long long   q;

    static const char  pairs[201] =
        "00010203040506070809101112131415161718192021222324"
        "25262728293031323334353637383940414243444546474849"
        "50515253545556575859606162636465666768697071727374"
        "75767778798081828384858687888990919293949596979899";

    /*
     * One digit (most lengths of a Redis command) at once.  Above 32 bits
     * (a time in milliseconds), the number above the last 8 digits first,
     * then those 8 in four pairs.  A 32-bit number (a header value, a
     * count): its length in a few comparisons, then two digits a division
     * from the end, divisions that are 32-bit multiplications.
     */

    if (n < 10) {
        *dst = (char) ('0' + n);
        return dst + 1;
    }

    if (n > 0xffffffffULL) {
        q = n / 100000000;
        m = (unsigned) (n - q * 100000000);

        dst = manta_uint(dst, q) + 8;
        p = dst;

        for (i = 0; i < 4; i++) {
            d = (m % 100) * 2;
            m /= 100;
            *--p = pairs[d + 1];
            *--p = pairs[d];
        }

        return dst;
    }

    m = (unsigned) n;

    if (m < 100000) {
        p = dst + ((m < 100) ? ((m < 10) ? 1 : 2)
                             : (m < 1000) ? 3 : (m < 10000) ? 4 : 5);

    } else {
        p = dst + ((m < 10000000) ? ((m < 1000000) ? 6 : 7)
                   : (m < 100000000) ? 8 : (m < 1000000000) ? 9 : 10);
    }

    dst = p;

    while (m >= 100) {
        d = (m % 100) * 2;
        m /= 100;
        *--p = pairs[d + 1];
        *--p = pairs[d];
    }

    if (m >= 10) {
        d = m * 2;
        *--p = pairs[d + 1];
        *--p = pairs[d];

    } else {
        *--p = (char) ('0' + m);
    }

    return dst;
}


char *
manta_hex_byte(char *dst, unsigned char c, int lower)
{
    const char  *hex;

    hex = manta_hex_digits + (lower ? 16 : 0);

    *dst++ = hex[c >> 4];
    *dst++ = hex[c & 0xf];

    return dst;
}


char *
manta_utf8_encode(char *dst, int32_t cp)
{
    unsigned char  *d;

    d = (unsigned char *) dst;

    if (cp < 0x80) {
        *d++ = (unsigned char) cp;

    } else if (cp < 0x800) {
        *d++ = (unsigned char) (0xc0 | cp >> 6);
        *d++ = (unsigned char) (0x80 | (cp & 0x3f));

    } else if (cp < 0x10000) {
        *d++ = (unsigned char) (0xe0 | cp >> 12);
        *d++ = (unsigned char) (0x80 | (cp >> 6 & 0x3f));
        *d++ = (unsigned char) (0x80 | (cp & 0x3f));

    } else {
        *d++ = (unsigned char) (0xf0 | cp >> 18);
        *d++ = (unsigned char) (0x80 | (cp >> 12 & 0x3f));
        *d++ = (unsigned char) (0x80 | (cp >> 6 & 0x3f));
        *d++ = (unsigned char) (0x80 | (cp & 0x3f));
    }

    return (char *) d;
}


int
manta_utf8_valid(const char *p, size_t len)
{
    size_t                n;
    int32_t               cp;
    const unsigned char  *u, *last;

    u = (const unsigned char *) p;
    last = u + len;

    while (u < last) {

        if (*u < 0x80) {
            u++;
            continue;
        }

        n = manta_utf8_decode(u, last, &cp);

        if (n == 0) {
            return 0;
        }

        u += n;
    }

    return 1;
}


size_t
manta_utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max) {
        return len;
    }

    len = max;

    while (len > 0 && ((unsigned char) s[len] & 0xc0) == 0x80) {
        len--;
    }

    return len;
}


const void *
manta_find(const void *hay, size_t hlen, const void *needle, size_t nlen)
{
    const unsigned char  *p, *last, *n;

    if (nlen == 0 || nlen > hlen) {
        return NULL;
    }

    if (hlen > MANTA_FIND_SHORT) {
        return memmem(hay, hlen, needle, nlen);
    }

    n = needle;
    p = hay;
    last = p + hlen - nlen + 1;

    while (p < last) {
        p = memchr(p, n[0], last - p);

        if (p == NULL) {
            return NULL;
        }

        /* the last byte first: most false starts end there, no call */

        if (p[nlen - 1] == n[nlen - 1]
            && memcmp(p + 1, n + 1, nlen - 1) == 0)
        {
            return p;
        }

        p++;
    }

    return NULL;
}


/*
 * How common a byte is in HTTP header lines and JSON text, 0 (never) to
 * 7: the lower-case letters most used in English and header names, then
 * white space and JSON's punctuation, digits, the other letters; control
 * characters, bytes of UTF-8 and rarer punctuation least
 */

static const unsigned char  manta_byte_rank[256] = {
    ['\t'] = 4, ['\n'] = 4, ['\r'] = 4, [' '] = 7,
    ['"'] = 6, [','] = 5, ['-'] = 5, ['.'] = 4, ['/'] = 4, [':'] = 6,
    [';'] = 3, ['='] = 3, ['{'] = 4, ['}'] = 4, ['['] = 2, [']'] = 2,
    ['_'] = 2, ['('] = 2, [')'] = 2, ['\''] = 2, ['+'] = 2, ['&'] = 2,
    ['0'] = 5, ['1'] = 5, ['2'] = 5, ['3'] = 4, ['4'] = 4, ['5'] = 4,
    ['6'] = 4, ['7'] = 4, ['8'] = 4, ['9'] = 4,
    ['e'] = 7, ['t'] = 7, ['a'] = 7, ['o'] = 7, ['i'] = 7, ['n'] = 7,
    ['s'] = 7, ['r'] = 7, ['h'] = 6, ['l'] = 6, ['d'] = 6, ['c'] = 6,
    ['u'] = 6, ['m'] = 6, ['p'] = 6, ['g'] = 5, ['f'] = 5, ['y'] = 5,
    ['w'] = 5, ['b'] = 5, ['v'] = 5, ['k'] = 5, ['x'] = 4, ['j'] = 3,
    ['q'] = 3, ['z'] = 3,
    ['A'] = 4, ['C'] = 5, ['D'] = 4, ['T'] = 5, ['S'] = 4, ['M'] = 4,
    ['G'] = 4, ['N'] = 4, ['O'] = 4, ['E'] = 3, ['L'] = 4, ['H'] = 3,
    ['P'] = 3, ['R'] = 3, ['U'] = 3, ['I'] = 3, ['B'] = 3, ['F'] = 3,
    ['K'] = 3, ['W'] = 3, ['V'] = 2, ['Y'] = 2, ['J'] = 2, ['X'] = 2,
    ['Q'] = 2, ['Z'] = 2
};


size_t
manta_anchor(const void *needle, size_t nlen)
{
    size_t                i, best;
    const unsigned char  *n;

    n = needle;
    best = 0;

    for (i = 1; i < nlen; i++) {
        if (manta_byte_rank[n[i]] < manta_byte_rank[n[best]]) {
            best = i;
        }
    }

    return best;
}


void
manta_pats_init(manta_pats_t *ps)
{
    ps->npat = 0;
    ps->minlen = 0;
    ps->maxlen = 0;
}


void
manta_pats_add(manta_pats_t *ps, const void *pat, size_t len, size_t anchor)
{
    size_t  k;

    if (len == 0 || ps->npat == MANTA_PATS_MAX) {
        return;
    }

    k = ps->npat++;

    ps->pat[k] = pat;
    ps->len[k] = len;
    ps->anchor[k] = anchor < len ? anchor : 0;

    if (ps->minlen == 0 || len < ps->minlen) {
        ps->minlen = len;
    }

    if (len > ps->maxlen) {
        ps->maxlen = len;
    }
}


const void *
manta_find_at(const void *hay, size_t hlen, const void *needle, size_t nlen,
    size_t anchor)
{
    const unsigned char  *p, *last, *n, *h;

    if (anchor == 0 || anchor >= nlen) {
        return manta_find(hay, hlen, needle, nlen);
    }

    if (nlen > hlen) {
        return NULL;
    }

    /* p walks the places of needle[anchor] in the hay */

    n = needle;
    h = hay;
    p = h + anchor;
    last = h + hlen - nlen + anchor + 1;

    while (p < last) {
        p = memchr(p, n[anchor], last - p);

        if (p == NULL) {
            return NULL;
        }

        if (p[nlen - 1 - anchor] == n[nlen - 1]
            && memcmp(p - anchor, n, nlen) == 0)
        {
            return p - anchor;
        }

        p++;
    }

    return NULL;
}
