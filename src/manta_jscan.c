/*
 * Copyright (C) ngx_http_manta_module authors
 * Pure C core: no nginx types or headers.
 *
 * A strict, non-allocating JSON tokenizer for the common error bodies,
 * with jansson as the reference: see manta_jscan.h.
 */


#include <string.h>

#include "manta_jscan.h"
#include "manta_util.h"


#define MANTA_JSCAN_MAX      0x7fffffff

/* names compared pairwise: more members in one object are "unsure" */
#define MANTA_JSCAN_MEMBERS  64

#define manta_jscan_ws(c)                                                    \
    ((c) == ' ' || (c) == '\t' || (c) == '\n' || (c) == '\r')

#define manta_jscan_digit(c)  ((c) >= '0' && (c) <= '9')


/* what comes next */

typedef enum {
    MANTA_JS_VALUE = 0,         /* a value */
    MANTA_JS_FIRST_VALUE,       /* after '[': a value or ']' */
    MANTA_JS_FIRST_KEY,         /* after '{': a name or '}' */
    MANTA_JS_KEY,               /* after ',' in an object: a name */
    MANTA_JS_COLON,             /* after a name */
    MANTA_JS_NEXT,              /* after a value in a container */
    MANTA_JS_DONE               /* after the top value: white space */
} manta_jscan_state_t;


static manta_jscan_rc_t manta_jscan_string(const unsigned char **pp,
    const unsigned char *last, uint8_t *flags);
static int manta_jscan_u(const unsigned char *p, const unsigned char *last);
static manta_jscan_rc_t manta_jscan_number(const unsigned char **pp,
    const unsigned char *last, uint8_t *flags);
static manta_jscan_rc_t manta_jscan_unique(const char *buf,
    const manta_jtok_t *tok, int obj);


/* 1: a byte a string holds as it is (printable ASCII but '"' and '\\') */

static const unsigned char  manta_jscan_plain[256] = {
    ['\x20'] = 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
};


manta_jscan_rc_t
manta_jscan(const char *buf, size_t len, manta_jtok_t *tok, size_t ntok,
    size_t *count)
{
    int                   cur, i;
    size_t                n, depth;
    uint8_t               flags;
    unsigned char         c;
    manta_jscan_rc_t      rc;
    manta_jscan_state_t   state;
    const unsigned char  *p, *start, *last, *base;

    *count = 0;

    /* jansson's reader skips a NUL byte wherever it is */

    if (len >= MANTA_JSCAN_MAX || memchr(buf, '\0', len) != NULL) {
        return MANTA_JSCAN_UNSURE;
    }

    base = (const unsigned char *) buf;
    p = base;
    last = p + len;

    n = 0;
    cur = -1;
    depth = 0;
    state = MANTA_JS_VALUE;

    for ( ;; ) {

        while (p < last && manta_jscan_ws(*p)) {
            p++;
        }

        if (p == last) {
            if (state != MANTA_JS_DONE) {
                return MANTA_JSCAN_INVALID;
            }

            *count = n;
            return MANTA_JSCAN_OK;
        }

        c = *p;

        switch (state) {

        case MANTA_JS_DONE:
            return MANTA_JSCAN_INVALID;

        case MANTA_JS_COLON:
            if (c != ':') {
                return MANTA_JSCAN_INVALID;
            }

            p++;
            state = MANTA_JS_VALUE;
            continue;

        case MANTA_JS_NEXT:
            if (c == ',') {
                p++;
                state = tok[cur].type == MANTA_JT_OBJECT ? MANTA_JS_KEY
                                                         : MANTA_JS_VALUE;
                continue;
            }

            goto close;

        case MANTA_JS_FIRST_KEY:
        case MANTA_JS_FIRST_VALUE:
            if (c == '}' || c == ']') {
                goto close;
            }

            if (state == MANTA_JS_FIRST_VALUE) {
                break;
            }

            /* fall through */

        case MANTA_JS_KEY:
            if (c != '"') {
                return MANTA_JSCAN_INVALID;
            }

            break;

        default: /* MANTA_JS_VALUE */
            break;
        }

        /* a value, or a member's name */

        if (n == ntok) {
            return MANTA_JSCAN_UNSURE;
        }

        tok[n].parent = cur;
        tok[n].flags = 0;
        tok[n].size = 0;
        tok[n].start = (uint32_t) (p - base);

        if (state == MANTA_JS_FIRST_KEY || state == MANTA_JS_KEY) {
            tok[cur].size++;
            tok[n].flags = MANTA_JT_KEY;

        } else if (cur >= 0 && tok[cur].type == MANTA_JT_ARRAY) {
            tok[cur].size++;
        }

        switch (c) {

        case '{':
        case '[':
            if (++depth > MANTA_JSCAN_DEPTH) {
                return MANTA_JSCAN_UNSURE;
            }

            tok[n].type = (c == '{') ? MANTA_JT_OBJECT : MANTA_JT_ARRAY;
            cur = (int) n++;
            p++;
            state = (c == '{') ? MANTA_JS_FIRST_KEY : MANTA_JS_FIRST_VALUE;
            continue;

        case '"':
            p++;
            tok[n].start++;
            flags = 0;

            rc = manta_jscan_string(&p, last, &flags);
            if (rc != MANTA_JSCAN_OK) {
                return rc;
            }

            tok[n].type = MANTA_JT_STRING;
            tok[n].flags |= flags;
            tok[n].end = (uint32_t) (p - base);
            tok[n].next = (uint32_t) (n + 1);
            p++;

            if (tok[n].flags & MANTA_JT_KEY) {
                if (flags & MANTA_JT_ESCAPED) {
                    return MANTA_JSCAN_UNSURE;
                }

                n++;
                state = MANTA_JS_COLON;
                continue;
            }

            break;

        case 't':
        case 'f':
        case 'n':
            start = (c == 't') ? (const unsigned char *) "true"
                    : (c == 'f') ? (const unsigned char *) "false"
                    : (const unsigned char *) "null";
            i = (c == 'f') ? 5 : 4;

            if (last - p < i || memcmp(p, start, i) != 0) {
                return MANTA_JSCAN_INVALID;
            }

            tok[n].type = (c == 't') ? MANTA_JT_TRUE
                          : (c == 'f') ? MANTA_JT_FALSE : MANTA_JT_NULL;
            p += i;
            tok[n].end = (uint32_t) (p - base);
            tok[n].next = (uint32_t) (n + 1);
            break;

        default:
            if (c != '-' && !manta_jscan_digit(c)) {
                return MANTA_JSCAN_INVALID;
            }

            flags = 0;

            rc = manta_jscan_number(&p, last, &flags);
            if (rc != MANTA_JSCAN_OK) {
                return rc;
            }

            tok[n].type = MANTA_JT_NUMBER;
            tok[n].flags = flags;
            tok[n].end = (uint32_t) (p - base);
            tok[n].next = (uint32_t) (n + 1);
            break;
        }

        n++;
        state = (cur < 0) ? MANTA_JS_DONE : MANTA_JS_NEXT;
        continue;

    close:

        if (c != (tok[cur].type == MANTA_JT_OBJECT ? '}' : ']')) {
            return MANTA_JSCAN_INVALID;
        }

        if (tok[cur].type == MANTA_JT_OBJECT && tok[cur].size > 1) {
            rc = manta_jscan_unique(buf, tok, cur);
            if (rc != MANTA_JSCAN_OK) {
                return rc;
            }
        }

        p++;
        tok[cur].end = (uint32_t) (p - base);
        tok[cur].next = (uint32_t) n;
        cur = tok[cur].parent;
        depth--;
        state = (cur < 0) ? MANTA_JS_DONE : MANTA_JS_NEXT;
    }
}


/* *pp after the opening quote; leaves it at the closing one */

static manta_jscan_rc_t
manta_jscan_string(const unsigned char **pp, const unsigned char *last,
    uint8_t *flags)
{
    int                   u, lo;
    size_t                n;
    int32_t               cp;
    const unsigned char  *p;

    p = *pp;

    for ( ;; ) {

        while (p < last && manta_jscan_plain[*p]) {
            p++;
        }

        if (p == last) {
            return MANTA_JSCAN_INVALID;
        }

        if (*p == '"') {
            *pp = p;
            return MANTA_JSCAN_OK;
        }

        if (*p >= 0x80) {
            n = manta_utf8_decode(p, last, &cp);
            if (n == 0) {
                return MANTA_JSCAN_INVALID;
            }

            p += n;
            continue;
        }

        if (*p != '\\') {
            /* a control character */
            return MANTA_JSCAN_INVALID;
        }

        *flags |= MANTA_JT_ESCAPED;

        if (last - p < 2) {
            return MANTA_JSCAN_INVALID;
        }

        switch (p[1]) {

        case '"': case '\\': case '/': case 'b': case 'f': case 'n':
        case 'r': case 't':
            p += 2;
            continue;

        case 'u':
            break;

        default:
            return MANTA_JSCAN_INVALID;
        }

        u = manta_jscan_u(p, last);
        if (u < 0) {
            return MANTA_JSCAN_INVALID;
        }

        p += 6;

        if (u == 0 || (u >= 0xdc00 && u <= 0xdfff)) {
            return MANTA_JSCAN_UNSURE;
        }

        if (u >= 0xd800 && u <= 0xdbff) {
            lo = manta_jscan_u(p, last);

            if (lo < 0xdc00 || lo > 0xdfff) {
                return MANTA_JSCAN_UNSURE;
            }

            p += 6;
        }
    }
}


/* the value of "\uXXXX" at p, or -1 */

static int
manta_jscan_u(const unsigned char *p, const unsigned char *last)
{
    int  i, d, u;

    if (last - p < 6 || p[0] != '\\' || p[1] != 'u') {
        return -1;
    }

    u = 0;

    for (i = 2; i < 6; i++) {
        d = manta_hex_value(p[i]);
        if (d < 0) {
            return -1;
        }

        u = (u << 4) | d;
    }

    return u;
}


/*
 * -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?  What follows it is left
 * to the caller: a digit after a leading 0 is then not a delimiter.
 */

static manta_jscan_rc_t
manta_jscan_number(const unsigned char **pp, const unsigned char *last,
    uint8_t *flags)
{
    size_t                digits;
    const unsigned char  *p, *start, *e;

    p = *pp;
    start = p;

    if (*p == '-') {
        p++;
    }

    if (p == last || !manta_jscan_digit(*p)) {
        return MANTA_JSCAN_INVALID;
    }

    if (*p == '0') {
        p++;

    } else {
        while (p < last && manta_jscan_digit(*p)) {
            p++;
        }
    }

    digits = p - start - (*start == '-');

    if (p < last && *p == '.') {
        *flags |= MANTA_JT_REAL;
        p++;

        if (p == last || !manta_jscan_digit(*p)) {
            return MANTA_JSCAN_INVALID;
        }

        while (p < last && manta_jscan_digit(*p)) {
            p++;
        }
    }

    if (p < last && (*p == 'e' || *p == 'E')) {
        *flags |= MANTA_JT_REAL;
        p++;

        if (p < last && (*p == '+' || *p == '-')) {
            p++;
        }

        if (p == last || !manta_jscan_digit(*p)) {
            return MANTA_JSCAN_INVALID;
        }

        e = p;

        while (p < last && manta_jscan_digit(*p)) {
            p++;
        }

        /* jansson fails on an overflow; stay far from it */

        if (p - e > 2) {
            return MANTA_JSCAN_UNSURE;
        }
    }

    *pp = p;

    /* an integer must fit json_int_t (long long), a real a double */

    if (*flags & MANTA_JT_REAL) {
        return (p - start > 20) ? MANTA_JSCAN_UNSURE : MANTA_JSCAN_OK;
    }

    return (digits > 18) ? MANTA_JSCAN_UNSURE : MANTA_JSCAN_OK;
}


/* jansson rejects a duplicate name: one is "unsure" (names are unescaped) */

static manta_jscan_rc_t
manta_jscan_unique(const char *buf, const manta_jtok_t *tok, int obj)
{
    uint32_t             i, j, m, k, len;
    const manta_jtok_t  *a, *b;

    if (tok[obj].size > MANTA_JSCAN_MEMBERS) {
        return MANTA_JSCAN_UNSURE;
    }

    i = (uint32_t) obj + 1;

    for (m = 0; m < tok[obj].size; m++) {
        a = &tok[i];
        len = a->end - a->start;
        j = (uint32_t) obj + 1;

        for (k = 0; k < m; k++) {
            b = &tok[j];

            if (b->end - b->start == len
                && memcmp(buf + a->start, buf + b->start, len) == 0)
            {
                return MANTA_JSCAN_UNSURE;
            }

            j = tok[j + 1].next;
        }

        i = tok[i + 1].next;
    }

    return MANTA_JSCAN_OK;
}


size_t
manta_jscan_decode(const char *s, size_t len, char *dst)
{
    int                   u, lo;
    char                 *d;
    const unsigned char  *p, *last, *run;

    d = dst;
    p = (const unsigned char *) s;
    last = p + len;

    while (p < last) {
        run = p;

        while (p < last && *p != '\\') {
            p++;
        }

        d = manta_cpymem(d, run, p - run);

        if (p == last) {
            break;
        }

        switch (p[1]) {
        case 'b':  *d++ = '\b'; p += 2; continue;
        case 'f':  *d++ = '\f'; p += 2; continue;
        case 'n':  *d++ = '\n'; p += 2; continue;
        case 'r':  *d++ = '\r'; p += 2; continue;
        case 't':  *d++ = '\t'; p += 2; continue;
        case 'u':  break;
        default:   *d++ = (char) p[1]; p += 2; continue;
        }

        u = manta_jscan_u(p, last);
        p += 6;

        if (u >= 0xd800 && u <= 0xdbff) {
            lo = manta_jscan_u(p, last);
            p += 6;
            u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
        }

        if (u < 0x80) {
            *d++ = (char) u;

        } else if (u < 0x800) {
            *d++ = (char) (0xc0 | (u >> 6));
            *d++ = (char) (0x80 | (u & 0x3f));

        } else if (u < 0x10000) {
            *d++ = (char) (0xe0 | (u >> 12));
            *d++ = (char) (0x80 | ((u >> 6) & 0x3f));
            *d++ = (char) (0x80 | (u & 0x3f));

        } else {
            *d++ = (char) (0xf0 | (u >> 18));
            *d++ = (char) (0x80 | ((u >> 12) & 0x3f));
            *d++ = (char) (0x80 | ((u >> 6) & 0x3f));
            *d++ = (char) (0x80 | (u & 0x3f));
        }
    }

    return (size_t) (d - dst);
}


int
manta_jscan_member(const char *buf, const manta_jtok_t *tok, int obj,
    const char *name, size_t len)
{
    uint32_t  i, m;

    if (obj < 0 || tok[obj].type != MANTA_JT_OBJECT) {
        return -1;
    }

    i = (uint32_t) obj + 1;

    for (m = 0; m < tok[obj].size; m++) {
        if (tok[i].end - tok[i].start == len
            && memcmp(buf + tok[i].start, name, len) == 0)
        {
            return (int) i + 1;
        }

        i = tok[i + 1].next;
    }

    return -1;
}
