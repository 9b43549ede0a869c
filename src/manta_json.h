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
 * Skips whole words of eight bytes that a JSON string holds as they are:
 * no control character, '"' or '\\'; with utf8, no byte of UTF-8 (which a
 * tokenizer decodes), else no DEL (which the escaper escapes).  Returns the
 * first byte that is none of those, or where fewer than eight bytes are
 * left (p itself where the compiler or the byte order do not allow): the
 * caller's own table goes on from there, byte by byte.
 */
static inline const unsigned char *manta_json_run(
    const unsigned char *p, const unsigned char *last, int utf8);


/* a 1 in each byte of a 64-bit word */
#define MANTA_JSON_ONES  0x0101010101010101ULL


/*
 * In the word's bytes, taken as 64-bit lanes of 8: a byte below 0x20 sets
 * its top bit when 0x20 is subtracted, a byte made 0 by an XOR (with '"',
 * '\\' or DEL) when 1 is subtracted; "& ~y" keeps bytes of 0x80 and more
 * from being taken for either; a byte of UTF-8 has the top bit set.  A
 * borrow comes only from a byte so marked and goes to a later one, never
 * an earlier one: the lowest marked byte is the one sought.
 */

static inline const unsigned char *
manta_json_run(const unsigned char *p, const unsigned char *last, int utf8)
{
#if (defined __GNUC__ && defined __BYTE_ORDER__                               \
     && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)

    uint64_t  x, q, b, d, m;

    while (last - p >= 8) {
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

        m &= MANTA_JSON_ONES * 0x80;

        if (m != 0) {
            return p + (__builtin_ctzll(m) >> 3);
        }

        p += 8;
    }

#endif

    return p;
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
