/*
 * Copyright (C) ngx_http_manta_module authors
 * Pure C core: no nginx types or headers.
 *
 * JSON string escaping and the ErrorResponse body.
 */


#include <stdio.h>
#include <string.h>

#include "manta_json.h"


#define MANTA_ERR_BODY_START                                                 \
    "{\"success\":false,\"errResponse\":{\"message\":\""
#define MANTA_ERR_BODY_CODE   "\",\"code\":"
#define MANTA_ERR_BODY_BOT    ",\"botId\":\""
#define MANTA_ERR_BODY_END    "}}"

#define manta_cpymem(dst, src, n)  (((char *) memcpy(dst, src, n)) + (n))
#define manta_cpylit(dst, s)       manta_cpymem(dst, s, sizeof(s) - 1)


static size_t manta_int_format(char *buf, int n);


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


size_t
manta_json_escape_len(const char *src, size_t len)
{
    size_t                n;
    const unsigned char  *p, *last;

    n = len;
    p = (const unsigned char *) src;
    last = p + len;

    while (p < last) {
        switch (manta_json_escapes[*p++]) {

        case 0:
            break;

        case 'u':
            n += 5;
            break;

        default:
            n += 1;
            break;
        }
    }

    return n;
}


char *
manta_json_escape(char *dst, const char *src, size_t len)
{
    unsigned char         c, e;
    const unsigned char  *p, *last;

    static const char  hex[] = "0123456789ABCDEF";

    p = (const unsigned char *) src;
    last = p + len;

    while (p < last) {
        c = *p++;
        e = manta_json_escapes[c];

        if (e == 0) {
            *dst++ = (char) c;
            continue;
        }

        *dst++ = '\\';

        if (e != 'u') {
            *dst++ = (char) e;
            continue;
        }

        *dst++ = 'u';
        *dst++ = '0';
        *dst++ = '0';
        *dst++ = hex[c >> 4];
        *dst++ = hex[c & 0xf];
    }

    return dst;
}


size_t
manta_error_body_len(const char *message, size_t message_len, int code,
    const char *bot_id, size_t bot_id_len)
{
    char    buf[16];
    size_t  len;

    len = sizeof(MANTA_ERR_BODY_START) - 1
          + manta_json_escape_len(message, message_len)
          + sizeof(MANTA_ERR_BODY_CODE) - 1
          + manta_int_format(buf, code)
          + sizeof(MANTA_ERR_BODY_END) - 1;

    if (bot_id != NULL) {
        len += sizeof(MANTA_ERR_BODY_BOT) - 1
               + manta_json_escape_len(bot_id, bot_id_len)
               + 1;
    }

    return len;
}


size_t
manta_error_body(char *dst, const char *message, size_t message_len,
    int code, const char *bot_id, size_t bot_id_len)
{
    char  *p;
    char   buf[16];

    p = manta_cpylit(dst, MANTA_ERR_BODY_START);
    p = manta_json_escape(p, message, message_len);
    p = manta_cpylit(p, MANTA_ERR_BODY_CODE);
    p = manta_cpymem(p, buf, manta_int_format(buf, code));

    if (bot_id != NULL) {
        p = manta_cpylit(p, MANTA_ERR_BODY_BOT);
        p = manta_json_escape(p, bot_id, bot_id_len);
        *p++ = '"';
    }

    p = manta_cpylit(p, MANTA_ERR_BODY_END);

    return (size_t) (p - dst);
}


static size_t
manta_int_format(char *buf, int n)
{
    /* buf holds at least 12 bytes; no NUL is counted */

    return (size_t) snprintf(buf, 16, "%d", n);
}
