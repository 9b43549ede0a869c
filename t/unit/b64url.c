/*
 * Copyright (C) ngx_http_manta_module authors
 */


#include "b64url.h"


char *
b64url_encode(char *dst, const char *src, size_t len)
{
    size_t                i;
    unsigned long         v;
    const unsigned char  *s;

    static const char  alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    s = (const unsigned char *) src;

    for (i = 0; i + 2 < len; i += 3) {
        v = (unsigned long) s[i] << 16 | s[i + 1] << 8 | s[i + 2];
        *dst++ = alphabet[v >> 18 & 0x3f];
        *dst++ = alphabet[v >> 12 & 0x3f];
        *dst++ = alphabet[v >> 6 & 0x3f];
        *dst++ = alphabet[v & 0x3f];
    }

    if (len - i == 1) {
        v = (unsigned long) s[i] << 16;
        *dst++ = alphabet[v >> 18 & 0x3f];
        *dst++ = alphabet[v >> 12 & 0x3f];

    } else if (len - i == 2) {
        v = (unsigned long) s[i] << 16 | s[i + 1] << 8;
        *dst++ = alphabet[v >> 18 & 0x3f];
        *dst++ = alphabet[v >> 12 & 0x3f];
        *dst++ = alphabet[v >> 6 & 0x3f];
    }

    return dst;
}
