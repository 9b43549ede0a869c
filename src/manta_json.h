/*
 * Copyright (C) ngx_http_manta_module authors
 * Pure C core: no nginx types or headers.
 */


#ifndef _MANTA_JSON_H_INCLUDED_
#define _MANTA_JSON_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <string.h>


/* JSON's white space (RFC 8259) and its digits */
#define manta_json_ws(c)                                                     \
    ((c) == ' ' || (c) == '\t' || (c) == '\n' || (c) == '\r')
#define manta_json_digit(c)  ((c) >= '0' && (c) <= '9')


/*
 * JSON string escaping as jansson does without JSON_ENSURE_ASCII: UTF-8 is
 * copied unescaped, '"' and '\\' are escaped, \b \f \n \r \t use their short
 * forms, other bytes below 0x20 and 0x7f become \u00XX.  No quotes are added.
 */

size_t manta_json_escape_len(const char *src, size_t len);
char *manta_json_escape(char *dst, const char *src, size_t len);

/*
 * Skips the bytes that a JSON string holds as they are: no control
 * character, '"' or '\\'; with utf8, no byte of UTF-8 (which a tokenizer
 * decodes), else no DEL (which the escaper escapes).  Sixteen bytes at a
 * time and then eight with SSE2 (manta_json_block()), else eight in a
 * 64-bit word (manta_json_words()); the last few bytes of a run of eight
 * or more are read with the eight (or the sixteen) that end at last,
 * which overlap bytes already seen.  Returns the first byte that is none
 * of those, or last; where fewer than eight bytes are left from p, p
 * itself (and where the compiler or the byte order do not allow, always
 * p): the caller's own table goes on from there, byte by byte.
 */
static inline const unsigned char *manta_json_run(
    const unsigned char *p, const unsigned char *last, int utf8);


#if (defined __GNUC__ && defined __BYTE_ORDER__                               \
     && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
#define MANTA_JSON_WORDS  1
#endif

#if (defined MANTA_JSON_WORDS && defined __SSE2__)
#include <emmintrin.h>
#define MANTA_JSON_SSE2  1
#endif


/* a 1 in each byte of a 64-bit word */
#define MANTA_JSON_ONES  0x0101010101010101ULL


#if (defined MANTA_JSON_WORDS)
static inline uint64_t manta_json_word(const unsigned char *p, int utf8);
static inline const unsigned char *manta_json_words(const unsigned char *p,
    const unsigned char *last, int utf8);
#endif

#if (defined MANTA_JSON_SSE2)
static inline unsigned manta_json_block(__m128i x, int utf8);
#endif


#if (defined MANTA_JSON_WORDS)

/*
 * In the word's bytes, taken as 64-bit lanes of 8: a byte below 0x20 sets
 * its top bit when 0x20 is subtracted, a byte made 0 by an XOR (with '"',
 * '\\' or DEL) when 1 is subtracted; "& ~y" keeps bytes of 0x80 and more
 * from being taken for either; a byte of UTF-8 has the top bit set.  A
 * borrow comes only from a byte so marked and goes to a later one, never
 * an earlier one: the lowest marked byte is the one sought.  Returns the
 * top bits of the marked bytes (0: none).
 */

static inline uint64_t
manta_json_word(const unsigned char *p, int utf8)
{
    uint64_t  x, q, b, d, m;

    memcpy(&x, p, 8);

    q = x ^ (MANTA_JSON_ONES * '"');
    b = x ^ (MANTA_JSON_ONES * '\\');

    m = ((x - MANTA_JSON_ONES * 0x20) & ~x) | ((q - MANTA_JSON_ONES) & ~q)
        | ((b - MANTA_JSON_ONES) & ~b);

    if (utf8) {
        m |= x;

    } else {
        d = x ^ (MANTA_JSON_ONES * 0x7f);
        m |= (d - MANTA_JSON_ONES) & ~d;
    }

    return m & (MANTA_JSON_ONES * 0x80);
}


/* manta_json_run() eight bytes at a time, in 64-bit words */

static inline const unsigned char *
manta_json_words(const unsigned char *p, const unsigned char *last, int utf8)
{
    uint64_t              w;
    const unsigned char  *start;

    start = p;

    while (last - p >= 8) {
        w = manta_json_word(p, utf8);

        if (w != 0) {
            return p + (__builtin_ctzll(w) >> 3);
        }

        p += 8;
    }

    if (p != last && last - start >= 8) {
        /* the bytes before p in the last eight are plain: seen above */

        w = manta_json_word(last - 8, utf8);

        return (w != 0) ? last - 8 + (__builtin_ctzll(w) >> 3) : last;
    }

    return p;
}

#endif


#if (defined MANTA_JSON_SSE2)

/*
 * The bytes of x that end a run, one bit a byte (0: none): with utf8, a
 * signed comparison takes the bytes of 0x80 and more for negative, below
 * 0x20; else a byte is below 0x20 when its unsigned minimum with 0x1f is
 * itself
 */

static inline unsigned
manta_json_block(__m128i x, int utf8)
{
    __m128i  m;

    if (utf8) {
        m = _mm_cmplt_epi8(x, _mm_set1_epi8(0x20));

    } else {
        m = _mm_or_si128(
                _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(0x1f)), x),
                _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f)));
    }

    m = _mm_or_si128(m, _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
                                     _mm_cmpeq_epi8(x,
                                                    _mm_set1_epi8('\\'))));

    return (unsigned) _mm_movemask_epi8(m);
}


/* sixteen bytes at p, and eight (the upper eight bytes, zero, cut off) */

#define manta_json_16(p, utf8)                                               \
    manta_json_block(_mm_loadu_si128((const __m128i *) (const void *) (p)),  \
                     utf8)

#define manta_json_8(p, utf8)                                                \
    (manta_json_block(_mm_loadl_epi64((const __m128i *) (const void *) (p)), \
                      utf8) & 0xff)

#endif


static inline const unsigned char *
manta_json_run(const unsigned char *p, const unsigned char *last, int utf8)
{
#if (defined MANTA_JSON_SSE2)

    unsigned  m;

    if (last - p >= 16) {
        do {
            m = manta_json_16(p, utf8);

            if (m != 0) {
                return p + __builtin_ctz(m);
            }

            p += 16;

        } while (last - p >= 16);

        if (p == last) {
            return p;
        }

        /* the bytes before p in the last sixteen are plain: seen above */

        m = manta_json_16(last - 16, utf8);

        return (m != 0) ? last - 16 + __builtin_ctz(m) : last;
    }

    if (last - p >= 8) {
        m = manta_json_8(p, utf8);

        if (m != 0) {
            return p + __builtin_ctz(m);
        }

        if (last - p == 8) {
            return last;
        }

        m = manta_json_8(last - 8, utf8);

        return (m != 0) ? last - 8 + __builtin_ctz(m) : last;
    }

    return p;

#elif (defined MANTA_JSON_WORDS)

    return manta_json_words(p, last, utf8);

#else

    return p;

#endif
}


/*
 * Decodes the escape at p (*p is the backslash) of a JSON string as
 * jansson does: \" \\ \/ \b \f \n \r \t and \uXXXX (hex digits of either
 * case), a surrogate pair as the one code point it stands for; writes it
 * as UTF-8 at *dst and moves *dst on, never by more bytes than the escape
 * has.  Returns the byte after the escape, or NULL for what jansson
 * rejects (another escape, fewer than four hex digits, a lone or reversed
 * surrogate, \u0000 without JSON_ALLOW_NUL), *dst left as it was.
 */
const char *manta_json_unescape(const char *p, const char *last,
    char **dst);

/* the value of the four hex digits at p, -1 if there are not four */
int32_t manta_json_hex4(const unsigned char *p, const unsigned char *last);

#endif /* _MANTA_JSON_H_INCLUDED_ */
