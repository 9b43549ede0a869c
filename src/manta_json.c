/*
 * Copyright (C) ngx_http_manta_module authors
 * Pure C core: no nginx types or headers.
 *
 * JSON string escaping.
 */


#include <string.h>

#include "manta_json.h"
#include "manta_util.h"


/*
 * 0: copied as is; 'u': escaped as \u00XX; any other value: escaped as a
 * backslash and that character; 0x80 .. 0xff (UTF-8) are copied as is
 */

static const unsigned char  manta_json_escapes[256] = {
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',         /* 0x00 .. 0x07 */
    'b', 't', 'n', 'u', 'f', 'r', 'u', 'u',         /* 0x08 .. 0x0f */
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',         /* 0x10 .. 0x17 */
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',         /* 0x18 .. 0x1f */
    0, 0, '"', 0, 0, 0, 0, 0,                       /* 0x20 .. 0x27 */
    0, 0, 0, 0, 0, 0, 0, 0,                         /* 0x28 .. 0x2f */
    0, 0, 0, 0, 0, 0, 0, 0,                         /* 0x30 .. 0x37 */
    0, 0, 0, 0, 0, 0, 0, 0,                         /* 0x38 .. 0x3f */
    0, 0, 0, 0, 0, 0, 0, 0,                         /* 0x40 .. 0x47 */
    0, 0, 0, 0, 0, 0, 0, 0,                         /* 0x48 .. 0x4f */
    0, 0, 0, 0, 0, 0, 0, 0,                         /* 0x50 .. 0x57 */
    0, 0, 0, 0, '\\', 0, 0, 0,                      /* 0x58 .. 0x5f */
    0, 0, 0, 0, 0, 0, 0, 0,                         /* 0x60 .. 0x67 */
    0, 0, 0, 0, 0, 0, 0, 0,                         /* 0x68 .. 0x6f */
    0, 0, 0, 0, 0, 0, 0, 0,                         /* 0x70 .. 0x77 */
    0, 0, 0, 0, 0, 0, 0, 'u'                        /* 0x78 .. 0x7f */
};


/* the bytes an escape adds, by its manta_json_escapes[] value */

static const unsigned char  manta_json_extra[256] = {
    ['"'] = 1, ['\\'] = 1, ['b'] = 1, ['f'] = 1, ['n'] = 1, ['r'] = 1,
    ['t'] = 1, ['u'] = 5
};


size_t
manta_json_escape_len(const char *src, size_t len)
{
    size_t                n;
    const unsigned char  *p, *last;

    n = len;
    p = (const unsigned char *) src;
    last = p + len;

    /* no branch a byte: \u00XX adds 5 bytes, \X adds 1 */

    while (p < last) {
        n += manta_json_extra[manta_json_escapes[*p++]];
    }

    return n;
}


char *
manta_json_escape(char *dst, const char *src, size_t len)
{
    unsigned char         c, e;
    const unsigned char  *p, *run, *last;

    p = (const unsigned char *) src;
    last = p + len;

    while (p < last) {

        /* a run of bytes copied as they are, in one go */

        run = p;

        while (p < last && manta_json_escapes[*p] == 0) {
            p++;
        }

        memcpy(dst, run, p - run);
        dst += p - run;

        if (p == last) {
            break;
        }

        c = *p++;
        e = manta_json_escapes[c];

        *dst++ = '\\';

        if (e != 'u') {
            *dst++ = (char) e;
            continue;
        }

        *dst++ = 'u';
        *dst++ = '0';
        *dst++ = '0';
        dst = manta_hex_byte(dst, c, 0);
    }

    return dst;
}
