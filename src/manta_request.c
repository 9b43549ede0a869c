/*
 * Copyright (C) ngx_http_manta_module authors
 * Pure C core: no nginx types or headers.
 *
 * The request rules: media type, botId and body.  Name normalization
 * lives in manta_name.c, the order of the checks in manta_plan.c.
 */


#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <utf8proc.h>

#include "manta_request.h"
#include "manta_jerror.h"
#include "manta_json.h"
#include "manta_util.h"


#define MANTA_MEDIA_TYPE  "application/json"
#define MANTA_CHARSET     "charset"
#define MANTA_UTF8        "utf-8"

#define manta_is_ows(c)   ((c) == ' ' || (c) == '\t')

/* what manta_body_fast_head() finds first */
#define MANTA_BODY_HEAD   "{\"name\":\""

/* a member name echoed in a message: at most 64 bytes, then "..." */
#define MANTA_MEMBER_ECHO_MAX   64
#define MANTA_MEMBER_QUOTE_MAX  (MANTA_MEMBER_ECHO_MAX + sizeof("..."))


static int manta_match_ci(const char **pos, const char *last,
    const char *lit, size_t len);
static const char *manta_skip_ows(const char *p, const char *last);
static manta_reason_t manta_bot_id_find(const char *args, size_t len,
    const char **value, const char **value_end);
static manta_reason_t manta_bot_id_check(const char *value,
    const char *value_end, const manta_re_t *re, char *out, size_t *out_len);
static manta_reason_t manta_bot_id_decode(const char *p, const char *last,
    char *out, size_t *len);
static int manta_body_fast(const char *data, size_t len, char *buf,
    size_t buf_size, const char **value, size_t *value_len);
static const unsigned char *manta_body_fast_string(const unsigned char *v,
    const unsigned char *last, char *buf, size_t buf_size,
    const char **value, size_t *value_len);
static const unsigned char *manta_body_fast_unescape(const unsigned char *v,
    const unsigned char *p, const unsigned char *last, char *buf,
    size_t buf_size, const char **value, size_t *value_len);
static const unsigned char *manta_skip_json_ws(const unsigned char *p,
    const unsigned char *last);
static manta_reason_t manta_body_json_name(const manta_body_opts_t *opts,
    json_t *root, char *name, size_t name_size, size_t *name_len, char *msg,
    size_t msg_size);
static manta_reason_t manta_body_json_members(
    const manta_body_opts_t *opts, json_t *root, char *msg, size_t msg_size);
static void manta_json_error_message(const char *data, size_t len,
    enum json_error_code code, int position, char *msg, size_t msg_size);
static int manta_duplicate_member(const char *data, size_t len,
    int position, char *member);
static const char *manta_json_type_name(const json_t *v);
static void manta_member_quote(char *dst, const char *key, size_t len);


/* RFC 3986 unreserved: A-Z a-z 0-9 - . _ ~; 0x80 .. 0xff are not */

static const unsigned char  manta_unreserved[256] = {
    0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 0, 0, 0, 0, 0,    /* 0x00 .. 0x0f */
    0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 0, 0, 0, 0, 0,    /* 0x10 .. 0x1f */
    0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 0, 0, 1, 1, 0,    /* 0x20 .. 0x2f */
    1, 1, 1, 1, 1, 1, 1, 1,  1, 1, 0, 0, 0, 0, 0, 0,    /* 0x30 .. 0x3f */
    0, 1, 1, 1, 1, 1, 1, 1,  1, 1, 1, 1, 1, 1, 1, 1,    /* 0x40 .. 0x4f */
    1, 1, 1, 1, 1, 1, 1, 1,  1, 1, 1, 0, 0, 0, 0, 1,    /* 0x50 .. 0x5f */
    0, 1, 1, 1, 1, 1, 1, 1,  1, 1, 1, 1, 1, 1, 1, 1,    /* 0x60 .. 0x6f */
    1, 1, 1, 1, 1, 1, 1, 1,  1, 1, 1, 0, 0, 0, 1, 0     /* 0x70 .. 0x7f */
};

/*
 * The bytes of a botId that need no decoding: MANTA_BOT_ID_LITERAL for
 * 0x01 .. 0x7f but '%' and '+' (such a value is its own decoded form, and
 * ASCII is valid UTF-8) and '&' (which ends it), MANTA_BOT_ID_WORD for
 * [A-Za-z0-9_-], MANTA_BOT_ID_ALNUM for [A-Za-z0-9] (MANTA_RE_BOT_ID's
 * classes); 0x80 .. 0xff have none
 */

#define MANTA_BOT_ID_LITERAL  0x1
#define MANTA_BOT_ID_WORD     0x2
#define MANTA_BOT_ID_ALNUM    0x4

#define MANTA_BOT_ID_ALNUM_WORD  (MANTA_BOT_ID_ALNUM|MANTA_BOT_ID_WORD)

static const unsigned char  manta_bot_id_chars[256] = {
    0, 1, 1, 1, 1, 1, 1, 1,  1, 1, 1, 1, 1, 1, 1, 1,    /* 0x00 .. 0x0f */
    1, 1, 1, 1, 1, 1, 1, 1,  1, 1, 1, 1, 1, 1, 1, 1,    /* 0x10 .. 0x1f */
    1, 1, 1, 1, 1, 0, 0, 1,  1, 1, 1, 0, 1, 3, 1, 1,    /* 0x20 .. 0x2f */
    7, 7, 7, 7, 7, 7, 7, 7,  7, 7, 1, 1, 1, 1, 1, 1,    /* 0x30 .. 0x3f */
    1, 7, 7, 7, 7, 7, 7, 7,  7, 7, 7, 7, 7, 7, 7, 7,    /* 0x40 .. 0x4f */
    7, 7, 7, 7, 7, 7, 7, 7,  7, 7, 7, 1, 1, 1, 1, 3,    /* 0x50 .. 0x5f */
    1, 7, 7, 7, 7, 7, 7, 7,  7, 7, 7, 7, 7, 7, 7, 7,    /* 0x60 .. 0x6f */
    7, 7, 7, 7, 7, 7, 7, 7,  7, 7, 7, 1, 1, 1, 1, 1     /* 0x70 .. 0x7f */
};


int
manta_content_type_ok(const char *value, size_t len)
{
    const char  *p, *last;

    /* what nearly every caller sends */

    if (len == sizeof(MANTA_MEDIA_TYPE) - 1
        && memcmp(value, MANTA_MEDIA_TYPE, len) == 0)
    {
        return 1;
    }

    p = value;
    last = value + len;

    p = manta_skip_ows(p, last);

    if (!manta_match_ci(&p, last, MANTA_MEDIA_TYPE,
                        sizeof(MANTA_MEDIA_TYPE) - 1))
    {
        return 0;
    }

    p = manta_skip_ows(p, last);

    if (p == last) {
        return 1;
    }

    if (*p++ != ';') {
        return 0;
    }

    p = manta_skip_ows(p, last);

    if (!manta_match_ci(&p, last, MANTA_CHARSET, sizeof(MANTA_CHARSET) - 1)) {
        return 0;
    }

    p = manta_skip_ows(p, last);

    if (p == last || *p++ != '=') {
        return 0;
    }

    p = manta_skip_ows(p, last);

    if (p < last && *p == '"') {
        p++;

        if (!manta_match_ci(&p, last, MANTA_UTF8, sizeof(MANTA_UTF8) - 1)) {
            return 0;
        }

        if (p == last || *p++ != '"') {
            return 0;
        }

    } else if (!manta_match_ci(&p, last, MANTA_UTF8, sizeof(MANTA_UTF8) - 1))
    {
        return 0;
    }

    p = manta_skip_ows(p, last);

    return p == last;
}


manta_reason_t
manta_bot_id_parse(const char *args, size_t len, const manta_re_t *re,
    char *out, size_t *out_len, int *plain)
{
    int                   word;
    size_t                n;
    unsigned              chars;
    const char           *value;
    const unsigned char  *p, *last;

    /*
     * what nearly every caller sends: "botId=<value>", no other argument
     * ('&' is not MANTA_BOT_ID_LITERAL), a value of plain ASCII, its own
     * decoded form; one of MANTA_RE_BOT_ID's classes also matches the
     * default pattern; one of MANTA_BOT_ID_WORD only is unreserved too
     */

    *plain = 0;

    n = len - (sizeof("botId=") - 1);

    if (len > sizeof("botId=") - 1 && n <= MANTA_BOT_ID_MAX
        && memcmp(args, "botId=", sizeof("botId=") - 1) == 0)
    {
        p = (const unsigned char *) args + sizeof("botId=") - 1;
        last = (const unsigned char *) args + len;

        /* MANTA_BOT_ID_ALNUM is the first byte's, the others are all's */

        chars = manta_bot_id_chars[*p];

        while (p < last) {
            chars &= manta_bot_id_chars[*p++] | MANTA_BOT_ID_ALNUM;
        }

        if (chars & MANTA_BOT_ID_LITERAL) {
            value = args + sizeof("botId=") - 1;
            word = (chars & MANTA_BOT_ID_ALNUM_WORD) == MANTA_BOT_ID_ALNUM_WORD
                   && n <= MANTA_RE_BOT_ID_MAX;

            if (re != NULL && !(word && manta_re_is_bot_id(re))
                && manta_re_match(re, value, n) != 1)
            {
                *out_len = 0;
                return MANTA_BAD_BOT_ID;
            }

            memcpy(out, value, n);
            *out_len = n;
            *plain = (chars & MANTA_BOT_ID_WORD) != 0;

            return MANTA_OK;
        }
    }

    return manta_bot_id_parse_full(args, len, re, out, out_len);
}


manta_reason_t
manta_bot_id_parse_full(const char *args, size_t len, const manta_re_t *re,
    char *out, size_t *out_len)
{
    const char      *value, *value_end;
    manta_reason_t   rc;

    *out_len = 0;

    rc = manta_bot_id_find(args, len, &value, &value_end);
    if (rc != MANTA_OK) {
        return rc;
    }

    return manta_bot_id_check(value, value_end, re, out, out_len);
}


/* the value decoded, checked for UTF-8 and matched */

static manta_reason_t
manta_bot_id_check(const char *value, const char *value_end,
    const manta_re_t *re, char *out, size_t *out_len)
{
    size_t          n;
    manta_reason_t  rc;

    rc = manta_bot_id_decode(value, value_end, out, &n);
    if (rc != MANTA_OK) {
        return rc;
    }

    /* the botId goes into JSON error bodies: it must be UTF-8 */

    if (!manta_utf8_valid(out, n)) {
        return MANTA_BAD_BOT_ID;
    }

    if (re != NULL && manta_re_match(re, out, n) != 1) {
        return MANTA_BAD_BOT_ID;
    }

    *out_len = n;

    return MANTA_OK;
}


/*
 * The value of the one "botId" argument of the query string, still
 * percent-encoded: an argument without '=' has an empty value.  None, an
 * empty one or two of them are a bad botId.
 */

static manta_reason_t
manta_bot_id_find(const char *args, size_t len, const char **value,
    const char **value_end)
{
    size_t       n;
    const char  *p, *last, *arg, *eq, *end;

    *value = NULL;
    *value_end = NULL;

    p = args;
    last = args + len;

    while (p < last) {
        arg = p;

        end = memchr(p, '&', (size_t) (last - p));
        if (end == NULL) {
            end = last;
        }

        p = (end < last) ? end + 1 : last;

        eq = memchr(arg, '=', (size_t) (end - arg));
        n = (size_t) ((eq ? eq : end) - arg);

        if (n != sizeof("botId") - 1 || memcmp(arg, "botId", n) != 0) {
            continue;
        }

        if (*value != NULL) {
            return MANTA_BAD_BOT_ID;        /* repeated */
        }

        *value = eq ? eq + 1 : end;
        *value_end = end;
    }

    if (*value == NULL || *value == *value_end) {
        return MANTA_BAD_BOT_ID;            /* missing or empty */
    }

    return MANTA_OK;
}


/*
 * The value from p to last percent-decoded into out, '+' as a space:
 * a bad botId when it decodes to more than MANTA_BOT_ID_MAX bytes, holds
 * a truncated or non-hex escape, or a NUL byte, raw or as "%00".
 */

static manta_reason_t
manta_bot_id_decode(const char *p, const char *last, char *out, size_t *len)
{
    int      hi, lo;
    char    *o;
    size_t   n;

    o = out;

    for (n = 0; p < last; n++) {

        if (n == MANTA_BOT_ID_MAX) {
            return MANTA_BAD_BOT_ID;
        }

        switch (*p) {

        case '%':
            if (last - p < 3) {
                return MANTA_BAD_BOT_ID;
            }

            hi = manta_hex_value((unsigned char) p[1]);
            lo = manta_hex_value((unsigned char) p[2]);

            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                return MANTA_BAD_BOT_ID;
            }

            *o++ = (char) (hi << 4 | lo);
            p += 3;
            break;

        case '+':
            *o++ = ' ';
            p++;
            break;

        case '\0':
            return MANTA_BAD_BOT_ID;

        default:
            *o++ = *p++;
            break;
        }
    }

    *len = n;

    return MANTA_OK;
}


size_t
manta_pct_encode_len(const char *src, size_t len)
{
    size_t                n;
    const unsigned char  *p, *last;

    n = 0;
    p = (const unsigned char *) src;
    last = p + len;

    /* no branch a byte: the unreserved ones counted, %XX is 3 bytes */

    while (p < last) {
        n += manta_unreserved[*p++];
    }

    return 3 * len - 2 * n;
}


char *
manta_pct_encode(char *dst, const char *src, size_t len)
{
    const unsigned char  *p, *run, *last;

    p = (const unsigned char *) src;
    last = p + len;

    while (p < last) {

        /* a run of unreserved bytes copied in one go */

        run = p;

        while (p < last && manta_unreserved[*p]) {
            p++;
        }

        memcpy(dst, run, p - run);
        dst += p - run;

        if (p == last) {
            break;
        }

        *dst++ = '%';
        dst = manta_hex_byte(dst, *p++, 0);
    }

    return dst;
}


manta_reason_t
manta_body_check(const manta_body_opts_t *opts, const char *data, size_t len,
    char *name, size_t name_size, size_t *name_len, char *msg,
    size_t msg_size)
{
    char        *buf;
    size_t       value_len, buf_size;
    const char  *value;

    /*
     * a name with escapes is decoded into the last len bytes of the name
     * buffer, where manta_name_normalize() reads it: it writes the name
     * from the start of the buffer, at most len bytes and the NUL while
     * the decoded name is still read (trimming and collapsing only
     * shrink), more only from the copy NFC makes
     */

    if (name_size > 2 * len) {
        buf_size = len;
        buf = name + name_size - buf_size;

    } else {
        buf_size = 0;
        buf = NULL;
    }

    if (manta_body_fast(data, len, buf, buf_size, &value, &value_len)) {
        return manta_name_normalize(opts, value, value_len, name, name_size,
                                    name_len, msg, msg_size);
    }

    return manta_body_check_json(opts, data, len, name, name_size, name_len,
                                 msg, msg_size);
}


manta_reason_t
manta_body_check_json(const manta_body_opts_t *opts, const char *data,
    size_t len, char *name, size_t name_size, size_t *name_len, char *msg,
    size_t msg_size)
{
    size_t                 position;
    json_t                *root;
    json_error_t           err;
    manta_reason_t         rc;
    enum json_error_code   code;

    *name_len = 0;

    if (msg_size) {
        msg[0] = '\0';
    }

    /* most texts jansson rejects are judged without it */

    if (manta_jerror(data, len, &code, &position)) {
        manta_json_error_message(data, len, code, (int) position, msg,
                                 msg_size);
        return MANTA_INVALID_JSON;
    }

    root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &err);

    if (root == NULL) {
        manta_json_error_message(data, len, json_error_code(&err),
                                 err.position, msg, msg_size);
        return MANTA_INVALID_JSON;
    }

    rc = manta_body_json_name(opts, root, name, name_size, name_len, msg,
                              msg_size);

    if (rc == MANTA_OK) {
        rc = manta_body_json_members(opts, root, msg, msg_size);
    }

    json_decref(root);

    if (rc != MANTA_OK) {
        *name_len = 0;
    }

    return rc;
}


/*
 * The body must be an object whose member "name" is a string: that
 * string normalized into name.
 */

static manta_reason_t
manta_body_json_name(const manta_body_opts_t *opts, json_t *root,
    char *name, size_t name_size, size_t *name_len, char *msg,
    size_t msg_size)
{
    json_t  *jname;

    if (!json_is_object(root)) {
        manta_message(msg, msg_size, "body must be a JSON object, not %s",
                      manta_json_type_name(root));
        return MANTA_INVALID_JSON;
    }

    jname = json_object_get(root, "name");

    if (jname == NULL) {
        manta_message(msg, msg_size, "member \"name\" is missing");
        return MANTA_INVALID_NAME;
    }

    if (!json_is_string(jname)) {
        manta_message(msg, msg_size, "member \"name\" must be a string, "
                      "not %s", manta_json_type_name(jname));
        return MANTA_INVALID_NAME;
    }

    return manta_name_normalize(opts, json_string_value(jname),
                                json_string_length(jname), name, name_size,
                                name_len, msg, msg_size);
}


/*
 * The members besides "name": "secret" as client_secret says, any other
 * as unknown_fields says; the first one rejected, in body order, is
 * named in msg (never a secret's value).
 */

static manta_reason_t
manta_body_json_members(const manta_body_opts_t *opts, json_t *root,
    char *msg, size_t msg_size)
{
    char         member[MANTA_MEMBER_QUOTE_MAX];
    json_t      *v;
    size_t       known;
    const char  *key;

    known = 1;

    if (json_object_get(root, "secret") != NULL) {

        if (opts->client_secret == MANTA_CLIENT_SECRET_REJECT) {
            /* the value is the caller's secret: never echoed */
            manta_message(msg, msg_size, "member \"secret\" must not be "
                          "sent: the gateway adds its own");
            return MANTA_CLIENT_SECRET;
        }

        known++;
    }

    if (json_object_size(root) > known
        && opts->unknown_fields == MANTA_UNKNOWN_FIELDS_REJECT)
    {
        /* the first member other than "name" and "secret", in body order */

        json_object_foreach(root, key, v) {
            if (strcmp(key, "name") != 0 && strcmp(key, "secret") != 0) {
                manta_member_quote(member, key, strlen(key));
                manta_message(msg, msg_size, "unknown member \"%s\"",
                              member);
                break;
            }
        }

        return MANTA_UNKNOWN_FIELD;
    }

    return MANTA_OK;
}


void
manta_body_size_message(char *msg, size_t msg_size, long long size,
    size_t max)
{
    if (size > 0) {
        manta_message(msg, msg_size, "body is %lld bytes, at most %zu are "
                      "allowed", size, max);

    } else {
        manta_message(msg, msg_size, "body is larger than %zu bytes, the "
                      "most allowed", max);
    }
}


size_t
manta_body_build_len(size_t prefix_len, const char *name, size_t name_len)
{
    return prefix_len + manta_json_escape_len(name, name_len) + 2;
}


size_t
manta_body_build(char *dst, const char *prefix, size_t prefix_len,
    const char *name, size_t name_len)
{
    char  *p;

    p = memcpy(dst, prefix, prefix_len);
    p = manta_json_escape(p + prefix_len, name, name_len);

    *p++ = '"';
    *p++ = '}';

    return (size_t) (p - dst);
}


static int
manta_match_ci(const char **pos, const char *last, const char *lit,
    size_t len)
{
    char         c;
    size_t       i;
    const char  *p;

    p = *pos;

    if ((size_t) (last - p) < len) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = p[i];

        if (c >= 'A' && c <= 'Z') {
            c |= 0x20;
        }

        if (c != lit[i]) {
            return 0;
        }
    }

    *pos = p + len;

    return 1;
}


static const char *
manta_skip_ows(const char *p, const char *last)
{
    while (p < last && manta_is_ows(*p)) {
        p++;
    }

    return p;
}


/*
 * The body every caller sends, {"name":"<text>"} with JSON white space
 * between the tokens, is recognized here without building a jansson
 * tree: jansson would accept it as an object whose one member, "name",
 * has exactly the value this finds.  The value is data's own bytes when
 * the string has no escape; with escapes, it is decoded into buf (up to
 * buf_size bytes, enough for the string's own length: no escape decodes
 * to more bytes than it has).  Any other body, valid or not, is left to
 * jansson, and so is a string with a control character, ill-formed
 * UTF-8, an escape jansson rejects (a lone surrogate, \u0000: its answer
 * and message are jansson's) or more bytes than buf holds.
 * t/fuzz/fuzz_body_fast.c holds both paths to the same answers.
 */

static int
manta_body_fast(const char *data, size_t len, char *buf, size_t buf_size,
    const char **value, size_t *value_len)
{
    const unsigned char  *p, *last;

    last = (const unsigned char *) data + len;

    p = manta_body_fast_head((const unsigned char *) data, last);
    if (p == NULL) {
        return 0;
    }

    p = manta_body_fast_string(p, last, buf, buf_size, value, value_len);
    if (p == NULL) {
        return 0;
    }

    return manta_body_fast_tail(p + 1, last);
}



const unsigned char *
manta_body_fast_head(const unsigned char *p, const unsigned char *last)
{
    if (last - p >= (ptrdiff_t) sizeof(MANTA_BODY_HEAD) - 1
        && memcmp(p, MANTA_BODY_HEAD, sizeof(MANTA_BODY_HEAD) - 1) == 0)
    {
        /* without white space, as almost every caller sends it */
        return p + sizeof(MANTA_BODY_HEAD) - 1;
    }

    p = manta_skip_json_ws(p, last);

    if (p == last || *p++ != '{') {
        return NULL;
    }

    p = manta_skip_json_ws(p, last);

    if ((size_t) (last - p) < sizeof("\"name\"") - 1
        || memcmp(p, "\"name\"", sizeof("\"name\"") - 1) != 0)
    {
        return NULL;
    }

    p = manta_skip_json_ws(p + sizeof("\"name\"") - 1, last);

    if (p == last || *p++ != ':') {
        return NULL;
    }

    p = manta_skip_json_ws(p, last);

    if (p == last || *p++ != '"') {
        return NULL;
    }

    return p;
}


/*
 * The string from v on: data's own bytes up to its closing quote, which
 * is returned, or up to its first escape, and then decoded by
 * manta_body_fast_unescape().  NULL at the end of data, a control
 * character or ill-formed UTF-8 (left to jansson).
 */

static const unsigned char *
manta_body_fast_string(const unsigned char *v, const unsigned char *last,
    char *buf, size_t buf_size, const char **value, size_t *value_len)
{
    size_t                n;
    int32_t               cp;
    const unsigned char  *p;

    p = v;

    for ( ;; ) {

        /* eight bytes at a time, then byte by byte */

        p = manta_json_run(p, last, 1);

        while (p < last && *p >= 0x20 && *p < 0x80 && *p != '"'
               && *p != '\\')
        {
            p++;
        }

        if (p == last || *p < 0x20) {
            return NULL;
        }

        if (*p == '"') {
            *value = (const char *) v;
            *value_len = (size_t) (p - v);
            return p;
        }

        if (*p == '\\') {
            return manta_body_fast_unescape(v, p, last, buf, buf_size, value,
                                            value_len);
        }

        n = manta_utf8_decode(p, last, &cp);

        if (n == 0) {
            return NULL;
        }

        p += n;
    }
}


/*
 * The string v, its first escape at p, decoded into buf: the bytes
 * before p copied, then the rest decoded.  NULL when buf_size is less
 * than the bytes left in data, for what manta_body_fast_string() leaves
 * to jansson, and for an escape jansson rejects; else the closing quote,
 * *value is buf and *value_len the decoded length.
 */

static const unsigned char *
manta_body_fast_unescape(const unsigned char *v, const unsigned char *p,
    const unsigned char *last, char *buf, size_t buf_size,
    const char **value, size_t *value_len)
{
    char     *d;
    size_t    n;
    int32_t   cp;

    if ((size_t) (last - v) > buf_size) {
        return NULL;
    }

    d = manta_cpymem(buf, v, (size_t) (p - v));

    for ( ;; ) {

        while (p < last && *p >= 0x20 && *p < 0x80 && *p != '"'
               && *p != '\\')
        {
            *d++ = (char) *p++;
        }

        if (p == last || *p < 0x20) {
            return NULL;
        }

        if (*p == '"') {
            break;
        }

        if (*p == '\\') {
            p = (const unsigned char *)
                    manta_json_unescape((const char *) p, (const char *) last,
                                        &d);
            if (p == NULL) {
                return NULL;
            }

            continue;
        }

        n = manta_utf8_decode(p, last, &cp);

        if (n == 0) {
            return NULL;
        }

        while (n--) {
            *d++ = (char) *p++;
        }
    }

    *value = buf;
    *value_len = (size_t) (d - buf);

    return p;
}



int
manta_body_fast_tail(const unsigned char *p, const unsigned char *last)
{
    if (last - p == 1 && *p == '}') {
        /* as almost every caller sends it */
        return 1;
    }

    p = manta_skip_json_ws(p, last);

    if (p == last || *p++ != '}') {
        return 0;
    }

    return manta_skip_json_ws(p, last) == last;
}


static const unsigned char *
manta_skip_json_ws(const unsigned char *p, const unsigned char *last)
{
    while (p < last && manta_json_ws(*p)) {
        p++;
    }

    return p;
}


/*
 * The invalid_json message from jansson's error code and byte position
 * (or manta_jerror()'s, the same).
 * jansson's own text is not used: it quotes the input near the error,
 * which may be the caller's secret.
 */

static void
manta_json_error_message(const char *data, size_t len,
    enum json_error_code code, int position, char *msg, size_t msg_size)
{
    char  member[MANTA_MEMBER_QUOTE_MAX];

    if (manta_skip_json_ws((const unsigned char *) data,
                           (const unsigned char *) data + len)
        == (const unsigned char *) data + len)
    {
        manta_message(msg, msg_size, "body is empty: it must be one JSON "
                      "object");
        return;
    }

    switch (code) {

    case json_error_invalid_utf8:
        manta_message(msg, msg_size, "body is not valid UTF-8 (near byte %d)",
                      position);
        break;

    case json_error_premature_end_of_input:
        manta_message(msg, msg_size, "body ends before the JSON object is "
                      "complete");
        break;

    case json_error_end_of_input_expected:
        manta_message(msg, msg_size, "body has more after the JSON object "
                      "(near byte %d): it must be one JSON object",
                      position);
        break;

    case json_error_null_character:
    case json_error_null_byte_in_key:
        manta_message(msg, msg_size, "body contains a NUL character "
                      "(\\u0000)");
        break;

    case json_error_numeric_overflow:
        manta_message(msg, msg_size, "body has a number out of range "
                      "(near byte %d)", position);
        break;

    case json_error_stack_overflow:
        manta_message(msg, msg_size, "body nests JSON too deeply");
        break;

    case json_error_duplicate_key:
        if (manta_duplicate_member(data, len, position, member)) {
            manta_message(msg, msg_size, "duplicate member \"%s\"", member);

        } else {
            manta_message(msg, msg_size, "body has a duplicate member");
        }

        break;

    default:
        manta_message(msg, msg_size, "body is not valid JSON (near byte %d): "
                      "it must be one JSON object", position);
        break;
    }
}


/*
 * The name of the member jansson found twice: its string token ends just
 * before the error position.  Walking back, the opening quote is the first
 * '"' preceded by an even number of backslashes.  1 with the name quoted
 * into member, 0 if it cannot be found.
 */

static int
manta_duplicate_member(const char *data, size_t len, int position,
    char *member)
{
    size_t   end, i, j;
    json_t  *key;

    if (position < 2 || (size_t) position > len) {
        return 0;
    }

    end = (size_t) position - 1;

    if (data[end] != '"') {
        return 0;
    }

    for (i = end; i-- > 0; /* void */) {

        if (data[i] != '"') {
            continue;
        }

        for (j = i; j > 0 && data[j - 1] == '\\'; j--) {
            /* void */
        }

        if ((i - j) % 2 == 0) {
            break;
        }
    }

    if (i == (size_t) -1) {
        return 0;
    }

    key = json_loadb(data + i, end + 1 - i, JSON_DECODE_ANY, NULL);

    if (!json_is_string(key)) {
        json_decref(key);
        return 0;
    }

    manta_member_quote(member, json_string_value(key),
                       json_string_length(key));
    json_decref(key);

    return 1;
}


static const char *
manta_json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {

    case JSON_OBJECT:
        return "an object";

    case JSON_ARRAY:
        return "an array";

    case JSON_STRING:
        return "a string";

    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";

    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";

    default:
        return "null";
    }
}


/*
 * A member name as a message may show it: valid UTF-8 of at most
 * MANTA_MEMBER_ECHO_MAX bytes (then "..."), every control, format,
 * separator, private-use or unassigned code point shown as '?'.  dst has
 * MANTA_MEMBER_QUOTE_MAX bytes.
 */

static void
manta_member_quote(char *dst, const char *key, size_t len)
{
    char                  *d;
    size_t                 n;
    int32_t                cp;
    const unsigned char   *p, *last;

    d = dst;
    p = (const unsigned char *) key;
    last = p + len;

    while (p < last) {
        n = manta_utf8_decode(p, last, &cp);

        if (n == 0) {
            n = 1;
        }

        if ((size_t) (d - dst) + n > MANTA_MEMBER_ECHO_MAX) {
            memcpy(d, "...", 3);
            d += 3;
            break;
        }

        switch (cp < 0 ? UTF8PROC_CATEGORY_CN : utf8proc_category(cp)) {

        case UTF8PROC_CATEGORY_CC:
        case UTF8PROC_CATEGORY_CF:
        case UTF8PROC_CATEGORY_CS:
        case UTF8PROC_CATEGORY_CO:
        case UTF8PROC_CATEGORY_CN:
        case UTF8PROC_CATEGORY_ZL:
        case UTF8PROC_CATEGORY_ZP:
            *d++ = '?';
            break;

        default:
            memcpy(d, p, n);
            d += n;
            break;
        }

        p += n;
    }

    *d = '\0';
}
