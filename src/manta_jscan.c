/*
 * Copyright (C) ngx_http_manta_module authors
 * Pure C core: no nginx types or headers.
 *
 * A strict, non-allocating JSON tokenizer for the common error bodies,
 * with jansson as the reference: see manta_jscan.h.
 */


#include <string.h>

#include "manta_jscan.h"
#include "manta_json.h"
#include "manta_util.h"


#define MANTA_JSCAN_MAX      0x7fffffff

/* names compared pairwise: more members in one object are "unsure" */
#define MANTA_JSCAN_MEMBERS  64


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


/* the tokenizer's state, passed by pointer to the helper of each token */

typedef struct {
    const char           *buf;
    manta_jtok_t         *tok;
    size_t                ntok;
    size_t                n;            /* the tokens written */
    size_t                depth;        /* the containers open */
    int                   cur;          /* the innermost open one, or -1 */
    manta_jscan_state_t   state;
    const unsigned char  *base;
    const unsigned char  *p;
    const unsigned char  *last;
    uint64_t              dup;          /* by depth: two names may match */
    uint64_t              seen[MANTA_JSCAN_DEPTH + 1];  /* names' hashes */
} manta_jscan_t;


/* besides manta_jscan_rc_t: a token ended, the scan goes on */
#define MANTA_JSCAN_AGAIN  (-1)


static int manta_jscan_between(manta_jscan_t *js, unsigned char c);
static int manta_jscan_token(manta_jscan_t *js, unsigned char c);
static int manta_jscan_open(manta_jscan_t *js, manta_jtok_t *t,
    unsigned char c);
static int manta_jscan_close(manta_jscan_t *js, unsigned char c);
static int manta_jscan_quoted(manta_jscan_t *js, manta_jtok_t *t);
static int manta_jscan_literal(manta_jscan_t *js, manta_jtok_t *t,
    unsigned char c);
static int manta_jscan_numeric(manta_jscan_t *js, manta_jtok_t *t,
    unsigned char c);
static void manta_jscan_name(manta_jscan_t *js, const manta_jtok_t *t);
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


/* 1: JSON's white space, as manta_json_ws() */

static const unsigned char  manta_jscan_ws[256] = {
    ['\t'] = 1, ['\n'] = 1, ['\r'] = 1, [' '] = 1
};


manta_jscan_rc_t
manta_jscan(const char *buf, size_t len, manta_jtok_t *tok, size_t ntok,
    size_t *count)
{
    int            rc;
    manta_jscan_t  js;

    *count = 0;

    /* jansson's reader skips a NUL byte wherever it is */

    if (len >= MANTA_JSCAN_MAX || memchr(buf, '\0', len) != NULL) {
        return MANTA_JSCAN_UNSURE;
    }

    js.buf = buf;
    js.tok = tok;
    js.base = (const unsigned char *) buf;
    js.p = js.base;
    js.last = js.p + len;
    js.ntok = ntok;
    js.n = 0;
    js.depth = 0;
    js.cur = -1;
    js.state = MANTA_JS_VALUE;
    js.dup = 0;

    for ( ;; ) {

        while (js.p < js.last && manta_jscan_ws[*js.p]) {
            js.p++;
        }

        if (js.p == js.last) {
            if (js.state != MANTA_JS_DONE) {
                return MANTA_JSCAN_INVALID;
            }

            *count = js.n;
            return MANTA_JSCAN_OK;
        }

        rc = manta_jscan_between(&js, *js.p);

        if (rc == MANTA_JSCAN_AGAIN) {
            continue;
        }

        if (rc == MANTA_JSCAN_OK) {
            rc = manta_jscan_token(&js, *js.p);
        }

        if (rc != MANTA_JSCAN_OK) {
            return (manta_jscan_rc_t) rc;
        }
    }
}


/*
 * What the state allows at c, a byte other than white space: ':' after a
 * name and ',' after a value are consumed (MANTA_JSCAN_AGAIN), so is the
 * '}' or ']' that closes the open container; MANTA_JSCAN_OK when a value,
 * or a member's name, starts at c.  Anything after the top value is
 * invalid.
 */

static int
manta_jscan_between(manta_jscan_t *js, unsigned char c)
{
    switch (js->state) {

    case MANTA_JS_DONE:
        return MANTA_JSCAN_INVALID;

    case MANTA_JS_COLON:
        if (c != ':') {
            return MANTA_JSCAN_INVALID;
        }

        js->p++;
        js->state = MANTA_JS_VALUE;
        return MANTA_JSCAN_AGAIN;

    case MANTA_JS_NEXT:
        if (c == ',') {
            js->p++;
            js->state = js->tok[js->cur].type == MANTA_JT_OBJECT
                        ? MANTA_JS_KEY : MANTA_JS_VALUE;
            return MANTA_JSCAN_AGAIN;
        }

        break;

    case MANTA_JS_FIRST_KEY:
    case MANTA_JS_FIRST_VALUE:
        if (c == '}' || c == ']') {
            break;
        }

        if (js->state == MANTA_JS_FIRST_VALUE) {
            return MANTA_JSCAN_OK;
        }

        /* fall through */

    case MANTA_JS_KEY:
        return (c == '"') ? MANTA_JSCAN_OK : MANTA_JSCAN_INVALID;

    default: /* MANTA_JS_VALUE */
        return MANTA_JSCAN_OK;
    }

    return manta_jscan_close(js, c);
}


/*
 * A value, or a member's name, starting at c: its token is started (its
 * parent counts it: an object its names, an array its values), then
 * finished by the scanner of its kind.  More tokens than the caller
 * gave room for are "unsure".
 */

static int
manta_jscan_token(manta_jscan_t *js, unsigned char c)
{
    manta_jtok_t  *t;

    if (js->n == js->ntok) {
        return MANTA_JSCAN_UNSURE;
    }

    t = &js->tok[js->n];

    t->parent = js->cur;
    t->flags = 0;
    t->size = 0;
    t->start = (uint32_t) (js->p - js->base);

    if (js->state == MANTA_JS_FIRST_KEY || js->state == MANTA_JS_KEY) {
        js->tok[js->cur].size++;
        t->flags = MANTA_JT_KEY;

    } else if (js->cur >= 0 && js->tok[js->cur].type == MANTA_JT_ARRAY) {
        js->tok[js->cur].size++;
    }

    switch (c) {

    case '{':
    case '[':
        return manta_jscan_open(js, t, c);

    case '"':
        return manta_jscan_quoted(js, t);

    case 't':
    case 'f':
    case 'n':
        return manta_jscan_literal(js, t, c);

    default:
        return manta_jscan_numeric(js, t, c);
    }
}


/* '{' or '[': the container is the parent of the tokens that follow */

static int
manta_jscan_open(manta_jscan_t *js, manta_jtok_t *t, unsigned char c)
{
    if (++js->depth > MANTA_JSCAN_DEPTH) {
        return MANTA_JSCAN_UNSURE;
    }

    t->type = (c == '{') ? MANTA_JT_OBJECT : MANTA_JT_ARRAY;
    js->seen[js->depth] = 0;
    js->dup &= ~((uint64_t) 1 << js->depth);
    js->cur = (int) js->n++;
    js->p++;
    js->state = (c == '{') ? MANTA_JS_FIRST_KEY : MANTA_JS_FIRST_VALUE;

    return MANTA_JSCAN_OK;
}


/*
 * '}' or ']', which must match the open container: an object's names
 * must be unique.  The container's token ends here, and its parent is
 * open again.
 */

static int
manta_jscan_close(manta_jscan_t *js, unsigned char c)
{
    int            rc;
    manta_jtok_t  *t;

    t = &js->tok[js->cur];

    if (c != (t->type == MANTA_JT_OBJECT ? '}' : ']')) {
        return MANTA_JSCAN_INVALID;
    }

    /* the names are compared only when two of them share a hash */

    if (t->type == MANTA_JT_OBJECT && t->size > 1
        && ((js->dup >> js->depth) & 1 || t->size > MANTA_JSCAN_MEMBERS))
    {
        rc = manta_jscan_unique(js->buf, js->tok, js->cur);
        if (rc != MANTA_JSCAN_OK) {
            return rc;
        }
    }

    js->p++;
    t->end = (uint32_t) (js->p - js->base);
    t->next = (uint32_t) js->n;
    js->cur = t->parent;
    js->depth--;
    js->state = (js->cur < 0) ? MANTA_JS_DONE : MANTA_JS_NEXT;

    return MANTA_JSCAN_AGAIN;
}


/*
 * A string: a member's name is followed by ':' and must hold no escape
 * (names are compared as they are); a value by ',' or the container's
 * end.  The token spans the string's bytes, without the quotes.
 */

static int
manta_jscan_quoted(manta_jscan_t *js, manta_jtok_t *t)
{
    uint8_t           flags;
    manta_jscan_rc_t  rc;

    js->p++;
    t->start++;
    flags = 0;

    rc = manta_jscan_string(&js->p, js->last, &flags);
    if (rc != MANTA_JSCAN_OK) {
        return rc;
    }

    t->type = MANTA_JT_STRING;
    t->flags |= flags;
    t->end = (uint32_t) (js->p - js->base);
    t->next = (uint32_t) (js->n + 1);
    js->p++;
    js->n++;

    if (t->flags & MANTA_JT_KEY) {
        if (flags & MANTA_JT_ESCAPED) {
            return MANTA_JSCAN_UNSURE;
        }

        manta_jscan_name(js, t);

        js->state = MANTA_JS_COLON;
        return MANTA_JSCAN_OK;
    }

    js->state = (js->cur < 0) ? MANTA_JS_DONE : MANTA_JS_NEXT;

    return MANTA_JSCAN_OK;
}


/*
 * A member's name, t, in the object open at js->depth: a bit of the
 * object's 64 picked by its length and its first and last bytes.  When
 * the bit is already set, two names may be the same: the object's names
 * are compared when it closes.
 */

static void
manta_jscan_name(manta_jscan_t *js, const manta_jtok_t *t)
{
    uint32_t         len, h;
    uint64_t         bit;
    const uint8_t   *s;

    len = t->end - t->start;
    h = len;

    if (len != 0) {
        s = js->base + t->start;
        h += (uint32_t) s[0] * 2 + (uint32_t) s[len - 1] * 4;
    }

    bit = (uint64_t) 1 << (h & 63);

    if (js->seen[js->depth] & bit) {
        js->dup |= (uint64_t) 1 << js->depth;
    }

    js->seen[js->depth] |= bit;
}


/* true, false or null, spelled out in full */

static int
manta_jscan_literal(manta_jscan_t *js, manta_jtok_t *t, unsigned char c)
{
    int                   i;
    const unsigned char  *word;

    word = (c == 't') ? (const unsigned char *) "true"
           : (c == 'f') ? (const unsigned char *) "false"
           : (const unsigned char *) "null";
    i = (c == 'f') ? 5 : 4;

    if (js->last - js->p < i || memcmp(js->p, word, i) != 0) {
        return MANTA_JSCAN_INVALID;
    }

    t->type = (c == 't') ? MANTA_JT_TRUE
              : (c == 'f') ? MANTA_JT_FALSE : MANTA_JT_NULL;
    js->p += i;
    t->end = (uint32_t) (js->p - js->base);
    t->next = (uint32_t) (js->n + 1);
    js->n++;
    js->state = (js->cur < 0) ? MANTA_JS_DONE : MANTA_JS_NEXT;

    return MANTA_JSCAN_OK;
}


/* a number, or any other byte, which starts no value */

static int
manta_jscan_numeric(manta_jscan_t *js, manta_jtok_t *t, unsigned char c)
{
    uint8_t           flags;
    manta_jscan_rc_t  rc;

    if (c != '-' && !manta_json_digit(c)) {
        return MANTA_JSCAN_INVALID;
    }

    flags = 0;

    rc = manta_jscan_number(&js->p, js->last, &flags);
    if (rc != MANTA_JSCAN_OK) {
        return rc;
    }

    t->type = MANTA_JT_NUMBER;
    t->flags = flags;
    t->end = (uint32_t) (js->p - js->base);
    t->next = (uint32_t) (js->n + 1);
    js->n++;
    js->state = (js->cur < 0) ? MANTA_JS_DONE : MANTA_JS_NEXT;

    return MANTA_JSCAN_OK;
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

        p = manta_json_run(p, last, 1);

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

        if (*p != '\\' || last - p < 2) {
            /* a control character, or a backslash at the end */
            return MANTA_JSCAN_INVALID;
        }

        *flags |= MANTA_JT_ESCAPED;

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
    if (last - p < 6 || p[0] != '\\' || p[1] != 'u') {
        return -1;
    }

    return manta_json_hex4(p + 2, last);
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

    if (p == last || !manta_json_digit(*p)) {
        return MANTA_JSCAN_INVALID;
    }

    if (*p == '0') {
        p++;

    } else {
        while (p < last && manta_json_digit(*p)) {
            p++;
        }
    }

    digits = p - start - (*start == '-');

    if (p < last && *p == '.') {
        *flags |= MANTA_JT_REAL;
        p++;

        if (p == last || !manta_json_digit(*p)) {
            return MANTA_JSCAN_INVALID;
        }

        while (p < last && manta_json_digit(*p)) {
            p++;
        }
    }

    if (p < last && (*p == 'e' || *p == 'E')) {
        *flags |= MANTA_JT_REAL;
        p++;

        if (p < last && (*p == '+' || *p == '-')) {
            p++;
        }

        if (p == last || !manta_json_digit(*p)) {
            return MANTA_JSCAN_INVALID;
        }

        e = p;

        while (p < last && manta_json_digit(*p)) {
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
    char        *d;
    const char  *p, *last, *run;

    d = dst;
    p = s;
    last = s + len;

    while (p < last) {
        run = p;

        while (p < last && *p != '\\') {
            p++;
        }

        d = manta_cpymem(d, run, p - run);

        if (p == last) {
            break;
        }

        /* the tokenizer let through only escapes jansson decodes */

        p = manta_json_unescape(p, last, &d);

        if (p == NULL) {
            break;
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
