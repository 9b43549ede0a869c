/*
 * Copyright (C) ngx_http_manta_module authors
 * Pure C core: no nginx types or headers.
 *
 * jansson's verdict on a text it rejects, without jansson: see
 * manta_jerror.h.  jansson reads the text byte by byte; its position is
 * the number of bytes read and not put back when the error is set.  The
 * lexer reads one byte past a number or a word and puts it back; white
 * space before a token is read; the first error set is the one reported,
 * the lexer's own (in a string) before the parser's; an error at the end
 * of the text is "premature end of input".
 */


#include <stdint.h>
#include <string.h>

#include "manta_jerror.h"
#include "manta_json.h"


/* the tokens besides the punctuation, which stands for itself */
#define MANTA_JE_EOF       0
#define MANTA_JE_INVALID   (-1)
#define MANTA_JE_STRING    256
#define MANTA_JE_NUMBER    257
#define MANTA_JE_LITERAL   258

/* how a step ends */
#define MANTA_JE_GOON      0       /* the walk goes on */
#define MANTA_JE_REJECTED  1       /* code and position are jansson's */
#define MANTA_JE_UNSURE    2       /* a text not followed here */

/*
 * jansson converts the integer with strtoll(), a real without exponent
 * with strtod(): these lengths never overflow
 */
#define MANTA_JE_INTEGER   18
#define MANTA_JE_REAL      300

#define manta_je_alpha(c)  (((c) >= 'a' && (c) <= 'z')                      \
                            || ((c) >= 'A' && (c) <= 'Z'))


typedef struct {
    const unsigned char   *start;
    const unsigned char   *p;
    const unsigned char   *last;
    const unsigned char   *str;        /* the last string's bytes */
    size_t                 str_len;
    int                    escaped;    /* ... hold an escape */
    int                    token;
    size_t                 depth;
    enum json_error_code   code;
} manta_je_t;


static int manta_je_text(const unsigned char *p, const unsigned char *last);
static inline int manta_je_word(const unsigned char *p);
static int manta_je_scan(manta_je_t *je);
static int manta_je_string(manta_je_t *je);
static int manta_je_escape(manta_je_t *je, const unsigned char **pp);
static int manta_je_number(manta_je_t *je, unsigned char c);
static int manta_je_value(manta_je_t *je);
static int manta_je_container(manta_je_t *je, int close);
static int manta_je_member(manta_je_t *je, const unsigned char **name,
    size_t *len, size_t *n);
static int manta_je_reject(manta_je_t *je);


int
manta_jerror(const char *data, size_t len, enum json_error_code *code,
    size_t *position)
{
    int                   rc;
    manta_je_t            je;
    const unsigned char  *p, *last;

    p = (const unsigned char *) data;
    last = p + len;

    if (len > 0x7fffffff) {
        /* jansson's position is an int */
        return 0;
    }

    if (!manta_je_text(p, last)) {
        return 0;
    }

    je.start = (const unsigned char *) data;
    je.p = je.start;
    je.last = last;
    je.depth = 0;
    je.token = MANTA_JE_INVALID;

    rc = manta_je_scan(&je);

    if (rc == MANTA_JE_GOON) {
        rc = (je.token == '{' || je.token == '[') ? manta_je_value(&je)
                                                  : manta_je_reject(&je);
    }

    if (rc == MANTA_JE_GOON) {
        rc = manta_je_scan(&je);

        if (rc == MANTA_JE_GOON && je.token != MANTA_JE_EOF) {
            je.code = json_error_end_of_input_expected;
            rc = MANTA_JE_REJECTED;
        }
    }

    if (rc != MANTA_JE_REJECTED) {
        /* accepted, or not followed */
        return 0;
    }

    *code = je.code;
    *position = (size_t) (je.p - je.start);

    return 1;
}


/*
 * 1 when the text is printable ASCII (DEL included) and JSON white space
 * only: eight bytes at a time while none is below 0x20 or above 0x7f,
 * the last few of a text of eight or more with the eight that end it
 * (those before p in them are seen already), then byte by byte
 */

static int
manta_je_text(const unsigned char *p, const unsigned char *last)
{
    const unsigned char  *start;

    start = p;

    while (last - p >= 8) {
        if (!manta_je_word(p)) {
            break;
        }

        p += 8;
    }

    if (last - p < 8 && last - start >= 8 && manta_je_word(last - 8)) {
        return 1;
    }

    for ( /* void */ ; p < last; p++) {
        if (*p >= 0x80 || (*p < 0x20 && !manta_json_ws(*p))) {
            return 0;
        }
    }

    return 1;
}


/*
 * 1 when none of the eight bytes at p has its top bit set or is below
 * 0x20: with the top bits set, no subtraction borrows from the next byte,
 * and a top bit is left clear by those below 0x20 only
 */

static inline int
manta_je_word(const unsigned char *p)
{
    uint64_t  w;

    memcpy(&w, p, 8);

    return ((w | ~((w | 0x8080808080808080ULL) - 0x2020202020202020ULL))
            & 0x8080808080808080ULL) == 0;
}


/* lex_scan(): white space, then one token */

static int
manta_je_scan(manta_je_t *je)
{
    size_t                n;
    unsigned char         c;
    const unsigned char  *p, *word;

    p = je->p;

    while (p < je->last && manta_json_ws(*p)) {
        p++;
    }

    if (p == je->last) {
        je->p = p;
        je->token = MANTA_JE_EOF;
        return MANTA_JE_GOON;
    }

    c = *p;
    je->p = p + 1;

    switch (c) {

    case '{':
    case '}':
    case '[':
    case ']':
    case ':':
    case ',':
        je->token = c;
        return MANTA_JE_GOON;

    case '"':
        return manta_je_string(je);

    default:
        break;
    }

    if (c == '-' || manta_json_digit(c)) {
        return manta_je_number(je, c);
    }

    if (manta_je_alpha(c)) {
        /* the whole word is read, the byte after it put back */

        word = je->p - 1;

        while (je->p < je->last && manta_je_alpha(*je->p)) {
            je->p++;
        }

        n = (size_t) (je->p - word);

        je->token = ((n == 4 && memcmp(word, "true", 4) == 0)
                     || (n == 5 && memcmp(word, "false", 5) == 0)
                     || (n == 4 && memcmp(word, "null", 4) == 0))
                    ? MANTA_JE_LITERAL : MANTA_JE_INVALID;

        return MANTA_JE_GOON;
    }

    /* any other byte is an invalid token by itself */

    je->token = MANTA_JE_INVALID;

    return MANTA_JE_GOON;
}


/*
 * lex_scan_string(), after the opening quote; the text is printable ASCII
 * and white space (manta_jerror() checked it): the bytes that end a run
 * of plain ones are '"', '\\' and the control characters
 */

static int
manta_je_string(manta_je_t *je)
{
    int                   rc;
    unsigned char         c;
    const unsigned char  *p, *last;

    je->token = MANTA_JE_INVALID;
    je->str = je->p;
    je->escaped = 0;

    p = je->p;
    last = je->last;

    for ( ;; ) {

        /* many bytes at a time, then byte by byte (DEL stops the runs) */

        p = manta_json_run(p, last, 0);

        while (p < last && *p >= 0x20 && *p != '"' && *p != '\\') {
            p++;
        }

        if (p == last) {
            je->code = json_error_premature_end_of_input;
            rc = MANTA_JE_REJECTED;
            break;
        }

        c = *p++;

        if (c == '"') {
            je->str_len = (size_t) (p - 1 - je->str);
            je->token = MANTA_JE_STRING;
            rc = MANTA_JE_GOON;
            break;
        }

        if (c < 0x20) {
            /* a control character: put back before the error */
            p--;
            je->code = json_error_invalid_syntax;
            rc = MANTA_JE_REJECTED;
            break;
        }

        rc = manta_je_escape(je, &p);

        if (rc != MANTA_JE_GOON) {
            break;
        }
    }

    je->p = p;

    return rc;
}


/* the escape after a backslash at *pp */

static int
manta_je_escape(manta_je_t *je, const unsigned char **pp)
{
    if (*pp == je->last) {
        /* "invalid escape", the text read */
        je->code = json_error_invalid_syntax;
        return MANTA_JE_REJECTED;
    }

    switch (*(*pp)++) {

    case 'u':
        /* surrogates, "\u0000", the decoded key: left to jansson */
        return MANTA_JE_UNSURE;

    case '"':
    case '\\':
    case '/':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
        je->escaped = 1;
        return MANTA_JE_GOON;

    default:
        /* "invalid escape", after the byte read */
        je->code = json_error_invalid_syntax;
        return MANTA_JE_REJECTED;
    }
}


/*
 * lex_scan_number(), after its first byte c: an invalid token ends where
 * jansson stops reading, the byte it read past put back
 */

static int
manta_je_number(manta_je_t *je, unsigned char c)
{
    const unsigned char  *start;

    start = je->p - 1;
    je->token = MANTA_JE_INVALID;

    if (c == '-') {
        if (je->p == je->last) {
            return MANTA_JE_GOON;
        }

        c = *je->p++;
    }

    if (c == '0') {
        if (je->p < je->last && manta_json_digit(*je->p)) {
            return MANTA_JE_GOON;
        }

    } else if (manta_json_digit(c)) {
        while (je->p < je->last && manta_json_digit(*je->p)) {
            je->p++;
        }

    } else {
        je->p--;
        return MANTA_JE_GOON;
    }

    if (je->p < je->last && (*je->p == 'e' || *je->p == 'E')) {
        return MANTA_JE_UNSURE;
    }

    if (je->p == je->last || *je->p != '.') {
        if (je->p - start > MANTA_JE_INTEGER) {
            return MANTA_JE_UNSURE;
        }

        je->token = MANTA_JE_NUMBER;
        return MANTA_JE_GOON;
    }

    /* the '.' is kept, a byte after it that is no digit put back */

    je->p++;

    if (je->p == je->last || !manta_json_digit(*je->p)) {
        return MANTA_JE_GOON;
    }

    while (je->p < je->last && manta_json_digit(*je->p)) {
        je->p++;
    }

    if ((je->p < je->last && (*je->p == 'e' || *je->p == 'E'))
        || je->p - start > MANTA_JE_REAL)
    {
        return MANTA_JE_UNSURE;
    }

    je->token = MANTA_JE_NUMBER;

    return MANTA_JE_GOON;
}


/* parse_value(), the value's first token scanned */

static int
manta_je_value(manta_je_t *je)
{
    int  rc;

    switch (je->token) {

    case MANTA_JE_STRING:
    case MANTA_JE_NUMBER:
    case MANTA_JE_LITERAL:
        return MANTA_JE_GOON;

    case '{':
    case '[':
        if (++je->depth > MANTA_JERROR_DEPTH) {
            return MANTA_JE_UNSURE;
        }

        rc = manta_je_container(je, (je->token == '{') ? '}' : ']');

        je->depth--;

        return rc;

    default:
        /* "invalid token", "unexpected token" */
        return manta_je_reject(je);
    }
}


/*
 * parse_object() and parse_array(), after '{' or '[': the members or
 * elements up to close.  jansson's array loop stops at the end of the
 * text, where parse_value() would fail the same way: one loop serves both.
 */

static int
manta_je_container(manta_je_t *je, int close)
{
    int                   rc;
    size_t                n;
    size_t                len[MANTA_JERROR_MEMBERS];
    const unsigned char  *name[MANTA_JERROR_MEMBERS];

    rc = manta_je_scan(je);

    if (rc != MANTA_JE_GOON || je->token == close) {
        return rc;
    }

    n = 0;

    for ( ;; ) {

        if (close == '}') {
            rc = manta_je_member(je, name, len, &n);
            if (rc != MANTA_JE_GOON) {
                return rc;
            }
        }

        rc = manta_je_value(je);

        if (rc == MANTA_JE_GOON) {
            rc = manta_je_scan(je);
        }

        if (rc != MANTA_JE_GOON || je->token != ',') {
            break;
        }

        rc = manta_je_scan(je);
        if (rc != MANTA_JE_GOON) {
            return rc;
        }
    }

    if (rc != MANTA_JE_GOON) {
        return rc;
    }

    /* "'}' expected", "']' expected" */

    return (je->token == close) ? MANTA_JE_GOON : manta_je_reject(je);
}


/*
 * A member's name, its ':' and the first token of its value; the names
 * seen in the object so far are name[0 .. *n)
 */

static int
manta_je_member(manta_je_t *je, const unsigned char **name, size_t *len,
    size_t *n)
{
    int     rc;
    size_t  i;

    if (je->token != MANTA_JE_STRING) {
        /* "string or '}' expected" */
        return manta_je_reject(je);
    }

    if (je->escaped || *n == MANTA_JERROR_MEMBERS) {
        return MANTA_JE_UNSURE;
    }

    for (i = 0; i < *n; i++) {
        if (len[i] == je->str_len
            && memcmp(name[i], je->str, je->str_len) == 0)
        {
            /* a duplicate: jansson names it */
            return MANTA_JE_UNSURE;
        }
    }

    name[*n] = je->str;
    len[*n] = je->str_len;
    (*n)++;

    rc = manta_je_scan(je);

    if (rc == MANTA_JE_GOON && je->token != ':') {
        /* "':' expected" */
        return manta_je_reject(je);
    }

    return (rc == MANTA_JE_GOON) ? manta_je_scan(je) : rc;
}


/* the parser's error at the current token: at the end, premature */

static int
manta_je_reject(manta_je_t *je)
{
    je->code = (je->token == MANTA_JE_EOF)
               ? json_error_premature_end_of_input
               : json_error_invalid_syntax;

    return MANTA_JE_REJECTED;
}
