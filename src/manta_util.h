/*
 * Copyright (C) ngx_http_manta_module authors
 * Pure C core: no nginx types or headers.
 *
 * What every part of the core shares: the libraries' set-up, wiping,
 * hex digits, copying and the one UTF-8 decoder.
 */


#ifndef _MANTA_UTIL_H_INCLUDED_
#define _MANTA_UTIL_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <string.h>


#define manta_cpymem(dst, src, n)  (((char *) memcpy(dst, src, n)) + (n))
#define manta_cpylit(dst, s)       manta_cpymem(dst, s, sizeof(s) - 1)


/*
 * Once per process, before the first request or credentials file: seeds
 * jansson's object hashing (against hash flooding).  Further calls do
 * nothing.
 */
void manta_init(void);

/* overwrites len bytes at p in a way the compiler cannot leave out */
void manta_wipe(void *p, size_t len);

/* "0123456789ABCDEF" then "0123456789abcdef" */
extern const char  manta_hex_digits[32];

/* n in decimal at dst (at most 20 bytes); returns the end */
char *manta_uint(char *dst, unsigned long long n);

/* two hex digits of c, upper-case or lower-case; returns dst + 2 */
char *manta_hex_byte(char *dst, unsigned char c, int lower);

/*
 * The value of a hex digit of either case, -1 for another byte.  Here,
 * and manta_utf8_decode() too, to be inlined: both run once a byte or a
 * code point of the caller's text.
 */
static inline int manta_hex_value(unsigned char c);

/*
 * Decodes the well-formed UTF-8 sequence at p (RFC 3629: shortest form,
 * no surrogate, nothing above U+10FFFF) into *cp; returns its length, or
 * 0 (and *cp -1) when p does not start one.  p < last.
 */
static inline size_t manta_utf8_decode(const unsigned char *p,
    const unsigned char *last, int32_t *cp);

/* encodes cp (a scalar value) as UTF-8 at dst; returns dst + its length */
char *manta_utf8_encode(char *dst, int32_t cp);

/* 1 when the bytes are well-formed UTF-8 */
int manta_utf8_valid(const char *p, size_t len);

/*
 * memmem(): the first occurrence of needle in hay, or NULL.  Haystacks of
 * up to MANTA_FIND_SHORT bytes (header values, small bodies) are searched
 * with memchr() and memcmp(), which costs less than memmem()'s set-up;
 * longer ones with memmem(), linear whatever their bytes.
 */
#define MANTA_FIND_SHORT  256

/*
 * The index of the needle's byte least common in HTTP headers and JSON
 * text (ties: the first one), for manta_find_at(): a search then stops
 * at a few places where a search for the first byte (an "e" of a JWT's
 * "eyJ") stops at many.
 */
size_t manta_anchor(const void *needle, size_t nlen);

/* manta_find(), searching for needle[anchor] first */
const void *manta_find_at(const void *hay, size_t hlen, const void *needle,
    size_t nlen, size_t anchor);

const void *manta_find(const void *hay, size_t hlen, const void *needle,
    size_t nlen);

/*
 * Up to MANTA_PATS_MAX byte strings searched for together, each by its
 * byte anchor[k] (manta_anchor()), with the shortest's and the longest's
 * lengths: the values nothing from upstream may carry to the caller, set
 * once per credential (manta_cred_t's pats) and searched for in every
 * response (manta_mask.h).
 */
#define MANTA_PATS_MAX  3

typedef struct {
    const unsigned char  *pat[MANTA_PATS_MAX];
    size_t                len[MANTA_PATS_MAX];
    size_t                anchor[MANTA_PATS_MAX];
    size_t                npat;
    size_t                minlen;   /* the shortest's length (0: none) */
    size_t                maxlen;   /* the longest's length */
} manta_pats_t;

/* an empty set */
void manta_pats_init(manta_pats_t *ps);

/*
 * Adds a pattern, not copied (it must outlive ps), searched for by its
 * byte anchor (0 when anchor is out of it).  An empty pattern, or one
 * beyond MANTA_PATS_MAX, is not added.
 */
void manta_pats_add(manta_pats_t *ps, const void *pat, size_t len,
    size_t anchor);

/* the longest prefix of at most max bytes that splits no UTF-8 sequence */
size_t manta_utf8_cut(const char *s, size_t len, size_t max);


static inline int
manta_hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}


static inline size_t
manta_utf8_decode(const unsigned char *p, const unsigned char *last,
    int32_t *cp)
{
    size_t         n, i;
    int32_t        c;
    unsigned char  lo, hi;

    if (*p < 0x80) {
        *cp = *p;
        return 1;
    }

    *cp = -1;

    lo = 0x80;
    hi = 0xbf;

    if (*p >= 0xc2 && *p <= 0xdf) {
        n = 2;
        c = *p & 0x1f;

    } else if (*p >= 0xe0 && *p <= 0xef) {
        n = 3;
        c = *p & 0x0f;

        if (*p == 0xe0) {
            lo = 0xa0;

        } else if (*p == 0xed) {
            hi = 0x9f;
        }

    } else if (*p >= 0xf0 && *p <= 0xf4) {
        n = 4;
        c = *p & 0x07;

        if (*p == 0xf0) {
            lo = 0x90;

        } else if (*p == 0xf4) {
            hi = 0x8f;
        }

    } else {
        return 0;
    }

    if ((size_t) (last - p) < n || p[1] < lo || p[1] > hi) {
        return 0;
    }

    c = (c << 6) | (p[1] & 0x3f);

    for (i = 2; i < n; i++) {
        if (p[i] < 0x80 || p[i] > 0xbf) {
            return 0;
        }

        c = (c << 6) | (p[i] & 0x3f);
    }

    *cp = c;

    return n;
}


#endif /* _MANTA_UTIL_H_INCLUDED_ */
