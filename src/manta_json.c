/*
 * Copyright (C) ngx_http_manta_module authors
 * Pure C core: no nginx types or headers.
 *
 * JSON string escaping and unescaping.
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

    /* \u00XX adds 5 bytes, \X adds 1 */

    p = manta_json_run(p, last, 0);

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
        p = manta_json_run(p, last, 0);

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


const char *
manta_json_unescape(const char *p, const char *last, char **dst)
{
    int32_t               cp, lo;
    const unsigned char  *u, *end;

    u = (const unsigned char *) p + 1;
    end = (const unsigned char *) last;

    if (u == end) {
        return NULL;
    }

    switch (*u) {

    case '"':
    case '\\':
    case '/':
        *(*dst)++ = (char) *u;
        return (const char *) u + 1;

    case 'b':
        *(*dst)++ = '\b';
        return (const char *) u + 1;

    case 'f':
        *(*dst)++ = '\f';
        return (const char *) u + 1;

    case 'n':
        *(*dst)++ = '\n';
        return (const char *) u + 1;

    case 'r':
        *(*dst)++ = '\r';
        return (const char *) u + 1;

    case 't':
        *(*dst)++ = '\t';
        return (const char *) u + 1;

    case 'u':
        break;

    default:
        return NULL;
    }

    cp = manta_json_hex4(u + 1, end);

    if (cp <= 0 || (cp >= 0xdc00 && cp <= 0xdfff)) {
        /* bad hex digits, \u0000 or a lone low surrogate */
        return NULL;
    }

    u += 5;

    if (cp >= 0xd800 && cp <= 0xdbff) {

        if (end - u < 6 || u[0] != '\\' || u[1] != 'u') {
            return NULL;
        }

        lo = manta_json_hex4(u + 2, end);

        if (lo < 0xdc00 || lo > 0xdfff) {
            return NULL;
        }

        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        u += 6;
    }

    *dst = manta_utf8_encode(*dst, cp);

    return (const char *) u;
}


int32_t
manta_json_hex4(const unsigned char *p, const unsigned char *last)
{
    int      i, d;
    int32_t  v;

    if (last - p < 4) {
        return -1;
    }

    v = 0;

    for (i = 0; i < 4; i++) {
        d = manta_hex_value(p[i]);

        if (d < 0) {
            return -1;
        }

        v = v << 4 | d;
    }

    return v;
}
