/*
 * Copyright (C) ngx_http_manta_module authors
 * Pure C core: no nginx types or headers.
 *
 * Error responses the caller sees: the ErrorResponse the module builds
 * and the rewrite of upstream's error bodies.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#if (defined __SSE2__ && defined __GNUC__)
#include <emmintrin.h>
#endif

#include "manta_reason.h"
#include "manta_json.h"
#include "manta_jscan.h"
#include "manta_error.h"
#include "manta_util.h"


#define MANTA_REDACTED      "[redacted]"
#define MANTA_REDACTED_LEN  (sizeof(MANTA_REDACTED) - 1)

#define MANTA_ERR_BODY_START                                                 \
    "{\"success\":false,\"errResponse\":{\"message\":\""
#define MANTA_ERR_BODY_CODE   "\",\"code\":"
#define MANTA_ERR_BODY_BOT    ",\"botId\":\""
#define MANTA_ERR_BODY_END    "}}"

/*
 * The most an ErrorResponse takes: every byte of the message and the botId
 * escaped as \u00XX, a code of 11 characters
 */
#define MANTA_ERROR_BODY_MAX(message_len, bot_id_len)                        \
    (sizeof(MANTA_ERR_BODY_START) - 1 + 6 * (message_len)                    \
     + sizeof(MANTA_ERR_BODY_CODE) - 1 + 11                                  \
     + sizeof(MANTA_ERR_BODY_BOT) - 1 + 6 * (bot_id_len) + 1                 \
     + sizeof(MANTA_ERR_BODY_END) - 1)

/* the members of an object manta_error_plain() reads, at most */
#define MANTA_ERROR_PLAIN_MEMBERS  16

/*
 * The longest run of bytes without '"' in the ErrorResponse's template
 * ("errResponse"), and those of its code (':', the digits, then ',' or
 * "}}"): manta_error_direct_holds()
 */
#define MANTA_ERROR_RUN           11
#define MANTA_ERROR_CODE_RUN(d)   ((d) + 3)

/* the tokens of a body the fast path reads, and a decoded string's room */
#define MANTA_ERROR_TOKENS  64
#define MANTA_ERROR_STACK   1024


static manta_error_rc_t manta_error_make(const char *body, size_t len,
    int status, const char *bot_id, size_t bot_id_len,
    const manta_str_t *redact, size_t nredact, char **out, size_t *out_len);
static manta_error_rc_t manta_error_shape(const char *body, size_t len,
    int status, const char *bot_id, size_t bot_id_len,
    const manta_str_t *redact, size_t nredact, int fresh, char **out,
    size_t *out_len);
static int manta_error_shape_fast(const char *body, size_t len, int status,
    const char *bot_id, size_t bot_id_len, const manta_str_t *redact,
    size_t nredact, int fresh, char **out, size_t *out_len,
    manta_error_rc_t *rc);
static int manta_error_direct(const char *body, size_t len, int status,
    const char *bot_id, size_t bot_id_len, const manta_str_t *redact,
    const size_t *anchor, size_t nredact, char *out, size_t *out_len,
    manta_error_rc_t *rc);
static int manta_error_direct_read(const char *body, size_t len,
    manta_jtok_t *tok, int *v, int *plain, const char *bot_id,
    const manta_str_t *redact, const size_t *anchor, size_t nredact,
    manta_error_rc_t *rc);
static inline const char *manta_error_direct_message(const char *body,
    const manta_jtok_t *tok, int v, int status, const manta_str_t *redact,
    size_t nredact, char *buf, size_t *len);
static int manta_error_direct_holds(const char *out, size_t n,
    int verbatim, size_t mlen, int status, int bot, const char *msg,
    size_t msg_len, const manta_str_t *redact, const size_t *anchor,
    size_t nredact);
static int manta_redact_any(const char *s, size_t len,
    const manta_str_t *redact, const size_t *anchor, size_t nredact);
static int manta_error_plain(const char *body, size_t len,
    manta_jtok_t *tok, int *v, manta_error_rc_t *rc);
static inline int manta_error_plain_name(const char **pos, const char *last,
    const char *body, const char **keys, size_t *lens, size_t n,
    uint64_t *seen);
static inline size_t manta_error_top_index(const char *key, size_t klen);
static inline const char *manta_error_plain_member(const char *p,
    const char *last, const char *body, size_t k, size_t *i,
    manta_jtok_t *tok);
static int manta_error_plain_pass(const char *p, const char *last,
    const char *body);
static const char *manta_error_plain_value(const char *p, const char *last);
static inline const char *manta_error_plain_string(const char *p,
    const char *last, const char *body);
#if (defined __SSE2__ && defined __GNUC__)
static inline unsigned int manta_error_plain_stops(const char *p);
#endif
static int manta_error_read(const char *body, size_t len,
    manta_jtok_t *tok, int pass, int clean, const char *bot_id,
    const manta_str_t *redact, size_t nredact, int *v, manta_error_rc_t *rc);
static void manta_error_fast_members(const char *body,
    const manta_jtok_t *tok, int obj, const manta_str_t *names, size_t n,
    int *idx);
static inline int manta_error_same(const char *a, const char *b,
    size_t len);
static int manta_error_fast_pass(const char *body, const manta_jtok_t *tok,
    size_t count, const int *top, const char *bot_id,
    const manta_str_t *redact, size_t nredact, int body_clean);
static int manta_error_fast_clean(const char *body, const manta_jtok_t *tok,
    size_t count, const manta_str_t *redact, size_t nredact,
    int body_clean);
static int manta_error_fast_message(const char *body,
    const manta_jtok_t *tok, const int *top);
static int manta_error_fast_holds(const char *body, const manta_jtok_t *t,
    const manta_str_t *redact, size_t nredact);
static manta_error_rc_t manta_error_fill(json_t *root, const char *bot_id,
    size_t bot_id_len, const manta_str_t *redact, size_t nredact, char **out,
    size_t *out_len);
static json_t *manta_error_message(json_t *root);
static int manta_error_is_response(json_t *root);
static int manta_redact_tree(json_t *value, const manta_str_t *redact,
    size_t nredact);
static int manta_redact_keys(json_t *value, const manta_str_t *redact,
    size_t nredact);
static char *manta_redact_copy(const char *s, size_t len,
    const manta_str_t *redact, size_t nredact, size_t *out_len);
static const char *manta_redact_find(const char *s, size_t len,
    const manta_str_t *redact, size_t nredact, size_t *found);
static size_t manta_redact_match(const char *s, size_t len,
    const manta_str_t *redact, size_t nredact);
static size_t manta_int_format(char *buf, int n);
static inline int manta_error_verbatim(const char *message, size_t len,
    int plain);
static size_t manta_error_write(char *dst, const char *message,
    size_t message_len, int copy, int code, const char *bot_id,
    size_t bot_id_len, int bot_id_copy);
static manta_error_rc_t manta_error_build(const char *message, size_t len,
    int status, const char *bot_id, size_t bot_id_len, char **out,
    size_t *out_len);


static const char  *manta_error_members[] = {
    "message", "error", "detail", "title", NULL
};


/*
 * The members the fast path looks up in the top object, the message
 * candidates first and in manta_error_members' order, then those of
 * errResponse; MANTA_ERROR_TOP and MANTA_ERROR_ER of them.
 */

#define MANTA_ERROR_CANDIDATES  4
#define MANTA_ERROR_SUCCESS     4
#define MANTA_ERROR_ERRRESP     5
#define MANTA_ERROR_TOP         6

#define MANTA_ERROR_ER_MESSAGE  0
#define MANTA_ERROR_ER_CODE     1
#define MANTA_ERROR_ER_BOT      2
#define MANTA_ERROR_ER          3

#define manta_error_name(s)  { s, sizeof(s) - 1 }

/* manta_error_top_index() finds them by their length and first byte */

static const manta_str_t  manta_error_top[MANTA_ERROR_TOP] = {
    manta_error_name("message"),
    manta_error_name("error"),
    manta_error_name("detail"),
    manta_error_name("title"),
    manta_error_name("success"),
    manta_error_name("errResponse")
};

static const manta_str_t  manta_error_er[MANTA_ERROR_ER] = {
    manta_error_name("message"),
    manta_error_name("code"),
    manta_error_name("botId")
};


int  manta_error_fast = 1;


manta_error_rc_t
manta_error_rewrite(const char *body, size_t len, int status,
    const char *bot_id, size_t bot_id_len, const manta_str_t *redact,
    size_t nredact, char *out, size_t *out_len)
{
    return manta_error_rewrite_at(body, len, status, bot_id, bot_id_len,
                                  redact, NULL, nredact, out, out_len);
}


manta_error_rc_t
manta_error_rewrite_at(const char *body, size_t len, int status,
    const char *bot_id, size_t bot_id_len, const manta_str_t *redact,
    const size_t *anchor, size_t nredact, char *out, size_t *out_len)
{
    char              *p;
    size_t             n;
    manta_error_rc_t   rc;

    if (manta_error_fast
        && manta_error_direct(body, len, status, bot_id, bot_id_len, redact,
                              anchor, nredact, out, out_len, &rc))
    {
        if (rc == MANTA_ERROR_PASS) {
            *out_len = 0;
        }

        return rc;
    }

    rc = manta_error_make(body, len, status, bot_id, bot_id_len, redact,
                          nredact, &p, &n);

    if (rc != MANTA_ERROR_REWRITTEN) {
        *out_len = 0;
        return rc;
    }

    if (n + 1 > *out_len) {
        rc = MANTA_ERROR_SHORT;
        *out_len = n + 1;

    } else {
        memcpy(out, p, n);
        out[n] = '\0';
        *out_len = n;
    }

    /* upstream may have echoed what was redacted from the copy */
    manta_wipe(p, n);
    free(p);

    return rc;
}


size_t
manta_error_body_len(const char *message, size_t message_len, int code,
    const char *bot_id, size_t bot_id_len, unsigned *plain)
{
    char    buf[16];
    size_t  len, n;

    len = sizeof(MANTA_ERR_BODY_START) - 1 + message_len
          + sizeof(MANTA_ERR_BODY_CODE) - 1
          + ((code >= 100 && code <= 999) ? 3 : manta_int_format(buf, code))
          + sizeof(MANTA_ERR_BODY_END) - 1;

    if (!(*plain & MANTA_ERROR_PLAIN_MESSAGE)) {
        n = manta_json_escape_len(message, message_len);

        if (n == message_len) {
            *plain |= MANTA_ERROR_PLAIN_MESSAGE;
        }

        len += n - message_len;
    }

    if (bot_id == NULL) {
        return len;
    }

    len += sizeof(MANTA_ERR_BODY_BOT) - 1 + bot_id_len + 1;

    if (!(*plain & MANTA_ERROR_PLAIN_BOT_ID)) {
        n = manta_json_escape_len(bot_id, bot_id_len);

        if (n == bot_id_len) {
            *plain |= MANTA_ERROR_PLAIN_BOT_ID;
        }

        len += n - bot_id_len;
    }

    return len;
}


size_t
manta_error_body(char *dst, const char *message, size_t message_len,
    int code, const char *bot_id, size_t bot_id_len, unsigned plain)
{
    return manta_error_write(dst, message, message_len,
                             (plain & MANTA_ERROR_PLAIN_MESSAGE) != 0, code,
                             bot_id, bot_id_len,
                             (plain & MANTA_ERROR_PLAIN_BOT_ID) != 0);
}


/*
 * manta_error_body(); copy: the message holds no byte JSON escapes and is
 * copied as it is; bot_id_copy: so is the botId, which is read otherwise.
 */

static size_t
manta_error_write(char *dst, const char *message, size_t message_len,
    int copy, int code, const char *bot_id, size_t bot_id_len,
    int bot_id_copy)
{
    char           *p;
    size_t          i;
    unsigned        q, r;
    unsigned char   c;

    p = manta_cpylit(dst, MANTA_ERR_BODY_START);

    if (copy) {
        p = manta_cpymem(p, message, message_len);

    } else {
        p = manta_json_escape(p, message, message_len);
    }

    p = manta_cpylit(p, MANTA_ERR_BODY_CODE);

    if (code >= 100 && code <= 999) {
        /* a status: three digits */
        q = (unsigned) code / 100;
        r = (unsigned) code - q * 100;
        *p++ = (char) ('0' + q);
        *p++ = (char) ('0' + r / 10);
        *p++ = (char) ('0' + r % 10);

    } else {
        /* in the room manta_error_body_len() measured with it */
        p += manta_int_format(p, code);
    }

    if (bot_id != NULL) {
        p = manta_cpylit(p, MANTA_ERR_BODY_BOT);

        /* a botId JSON escapes no byte of (UTF-8 aside) is copied */

        for (i = 0; !bot_id_copy && i < bot_id_len; i++) {
            c = (unsigned char) bot_id[i];

            if (c < 0x20 || c == '"' || c == '\\' || c == 0x7f) {
                break;
            }
        }

        if (bot_id_copy || i == bot_id_len) {
            p = manta_cpymem(p, bot_id, bot_id_len);

        } else {
            p = manta_json_escape(p, bot_id, bot_id_len);
        }

        *p++ = '"';
    }

    p = manta_cpylit(p, MANTA_ERR_BODY_END);

    return (size_t) (p - dst);
}


/* manta_error_write() copies the message as it is */

static inline int
manta_error_verbatim(const char *message, size_t len, int plain)
{
    return plain == 2 || (plain && memchr(message, 0x7f, len) == NULL);
}


/*
 * The common answers written straight into the caller's buffer, without
 * jansson or malloc(): what manta_error_make() would answer when the
 * tokenizer is sure of the body, no redacted value is in the bytes the
 * answer takes from it (manta_error_direct_read()), nor in its message,
 * decoded, nor in the answer, and the result fits.  0 when any of that is
 * not so: manta_error_make() then answers.  Otherwise 1 and *rc.
 */

static int
manta_error_direct(const char *body, size_t len, int status,
    const char *bot_id, size_t bot_id_len, const manta_str_t *redact,
    const size_t *anchor, size_t nredact, char *out, size_t *out_len,
    manta_error_rc_t *rc)
{
    int            r, v, plain, copy, verbatim;
    char           buf[MANTA_ERROR_STACK];
    size_t         n, mlen;
    unsigned       found;
    const char    *m;
    manta_jtok_t   tok[MANTA_ERROR_TOKENS];

    v = -1;
    plain = 1;

    if (body != NULL && len != 0) {
        r = manta_error_direct_read(body, len, tok, &v, &plain, bot_id,
                                    redact, anchor, nredact, rc);
        if (r != 0) {
            return r > 0;
        }
    }

    m = manta_error_direct_message(body, tok, v, status, redact, nredact,
                                   buf, &n);
    if (m == NULL) {
        return 0;
    }

    /* the exact size is only worked out when the largest may not fit */

    found = 0;

    if (MANTA_ERROR_BODY_MAX(n, bot_id ? bot_id_len : 0) + 1 > *out_len
        && manta_error_body_len(m, n, status, bot_id, bot_id_len, &found) + 1
           > *out_len)
    {
        return 0;
    }

    /* a message of the body's bytes, searched with them or alone */

    copy = (m != buf && manta_error_verbatim(m, n, plain));
    verbatim = (v >= 0 && copy);
    mlen = n;

    n = manta_error_write(out, m, n, copy, status, bot_id, bot_id_len, 0);
    out[n] = '\0';

    if (nredact != 0
        && manta_error_direct_holds(out, n, verbatim, mlen, status,
                                    bot_id != NULL,
                                    plain == 2 ? body + tok[0].start : NULL,
                                    plain == 2 ? tok[0].end - tok[0].start
                                               : 0,
                                    redact, anchor, nredact))
    {
        manta_wipe(out, n);
        return 0;
    }

    *out_len = n;
    *rc = MANTA_ERROR_REWRITTEN;

    return 1;
}


/*
 * manta_error_direct()'s reading of the body: -1 when the answer is not
 * given here (the tokenizer is unsure, or the bytes the answer would take
 * from the body hold a redacted value), 1 with *rc for a body passed, else
 * 0 and *v the token of the message (-1: the reason phrase), *plain 2 for
 * one of printable ASCII, copied as it is.  Of an object
 * manta_error_plain() reads, the answer takes only the message, whose
 * string manta_error_direct_holds() searches; any other body is searched
 * whole here.
 */

static int
manta_error_direct_read(const char *body, size_t len, manta_jtok_t *tok,
    int *v, int *plain, const char *bot_id, const manta_str_t *redact,
    const size_t *anchor, size_t nredact, manta_error_rc_t *rc)
{
    int  r;

    r = manta_error_plain(body, len, tok, v, rc);

    if (r == 0) {
        if (*v < 0) {
            return 0;
        }

        /* its message's string is searched with the answer */

        *plain = 2;

        return 0;
    }

    if (nredact != 0
        && manta_redact_any(body, len, redact, anchor, nredact))
    {
        return -1;
    }

    if (r < 0) {
        r = manta_error_read(body, len, tok, 1, 1, bot_id, redact, nredact,
                             v, rc);
    }

    return r;
}


/*
 * The message of manta_error_direct()'s answer: the status's reason
 * phrase (v < 0) or tok[v]'s string, decoded into buf (MANTA_ERROR_STACK
 * bytes) when it holds an escape, cut to MANTA_ERROR_MESSAGE_MAX bytes;
 * NULL when it does not fit buf or, decoded, holds a redacted value (the
 * body's bytes hold none)
 */

static inline const char *
manta_error_direct_message(const char *body, const manta_jtok_t *tok, int v,
    int status, const manta_str_t *redact, size_t nredact, char *buf,
    size_t *len)
{
    size_t       n, found;
    const char  *m;

    if (v < 0) {
        m = manta_status_phrase(status);
        *len = strlen(m);
        return m;
    }

    m = body + tok[v].start;
    n = tok[v].end - tok[v].start;

    if (tok[v].flags & MANTA_JT_ESCAPED) {

        if (n > MANTA_ERROR_STACK) {
            return NULL;
        }

        n = manta_jscan_decode(m, n, buf);
        m = buf;

        if (nredact != 0
            && manta_redact_find(buf, n, redact, nredact, &found) != NULL)
        {
            manta_wipe(buf, n);
            return NULL;
        }
    }

    *len = manta_utf8_cut(m, n, MANTA_ERROR_MESSAGE_MAX);

    return m;
}


/*
 * 1 when out, manta_error_write()'s answer of n bytes for status (bot: with
 * a botId), or the message's string msg (when not NULL: the body's, cut
 * to become out's message), holds a redacted value.  verbatim: out's
 * message, mlen bytes, was copied from msg or from a body searched
 * already (it is then msg's only when msg is not NULL).
 *
 * msg is searched whole: manta_error_make() redacts it before cutting.  A
 * redacted value without '"' lies within a run of out without '"': of
 * the template, of the code, of the message or of the botId.  The
 * message's holding none, a value longer than all the others is not in
 * out and is not searched for there.
 */

static int
manta_error_direct_holds(const char *out, size_t n, int verbatim,
    size_t mlen, int status, int bot, const char *msg, size_t msg_len,
    const manta_str_t *redact, const size_t *anchor, size_t nredact)
{
    char         buf[16];
    size_t       i, len, run, d, rest, a;
    const char  *r;

    if (!verbatim) {
        return manta_redact_any(out, n, redact, anchor, nredact);
    }

    d = (status >= 100 && status <= 999) ? 3 : manta_int_format(buf, status);

    run = MANTA_ERROR_CODE_RUN(d);

    if (run < MANTA_ERROR_RUN) {
        run = MANTA_ERROR_RUN;
    }

    if (bot) {
        /* the botId as written: what follows the message less the rest */

        rest = n - (sizeof(MANTA_ERR_BODY_START) - 1) - mlen
               - (sizeof(MANTA_ERR_BODY_CODE) - 1) - d
               - (sizeof(MANTA_ERR_BODY_BOT) - 1) - 1
               - (sizeof(MANTA_ERR_BODY_END) - 1);

        if (run < rest) {
            run = rest;
        }
    }

    for (i = 0; i < nredact; i++) {
        r = redact[i].data;
        len = redact[i].len;
        a = anchor ? anchor[i] : 0;

        if (len == 0) {
            continue;
        }

        if (msg != NULL && len <= msg_len
            && manta_find_at(msg, msg_len, r, len, a) != NULL)
        {
            return 1;
        }

        if (len <= n && (len <= run || memchr(r, '"', len) != NULL)
            && manta_find_at(out, n, r, len, a) != NULL)
        {
            return 1;
        }
    }

    return 0;
}


/*
 * The rewrite into a malloc()ed body: the new ErrorResponse, then, while
 * its bytes still hold a redacted value, a fresh one, then one with the
 * reason phrase.
 */

static manta_error_rc_t
manta_error_make(const char *body, size_t len, int status,
    const char *bot_id, size_t bot_id_len, const manta_str_t *redact,
    size_t nredact, char **out, size_t *out_len)
{
    size_t             found;
    const char        *phrase;
    manta_error_rc_t   rc;

    rc = manta_error_shape(body, len, status, bot_id, bot_id_len, redact,
                           nredact, 0, out, out_len);

    /*
     * Redaction works on JSON strings: a value also present in the bytes
     * after it (a digits-only secret as a JSON number, one spanning
     * members) makes a new ErrorResponse of the body, and when even that
     * holds it, one with the reason phrase.
     */

    if (rc == MANTA_ERROR_NOMEM || nredact == 0
        || (rc == MANTA_ERROR_PASS
            && manta_redact_find(body, len, redact, nredact, &found) == NULL)
        || (rc == MANTA_ERROR_REWRITTEN
            && manta_redact_find(*out, *out_len, redact, nredact, &found)
               == NULL))
    {
        return rc;
    }

    free(*out);
    *out = NULL;

    rc = manta_error_shape(body, len, status, bot_id, bot_id_len, redact,
                           nredact, 1, out, out_len);

    if (rc != MANTA_ERROR_REWRITTEN
        || manta_redact_find(*out, *out_len, redact, nredact, &found) == NULL)
    {
        return rc;
    }

    free(*out);
    *out = NULL;

    phrase = manta_status_phrase(status);

    return manta_error_build(phrase, strlen(phrase), status, bot_id,
                             bot_id_len, out, out_len);
}


/* fresh: do not keep a valid ErrorResponse, build a new one */

static manta_error_rc_t
manta_error_shape(const char *body, size_t len, int status,
    const char *bot_id, size_t bot_id_len, const manta_str_t *redact,
    size_t nredact, int fresh, char **out, size_t *out_len)
{
    char              *m;
    size_t             n;
    json_t            *root, *v;
    const char        *phrase;
    manta_error_rc_t   rc;

    *out = NULL;
    *out_len = 0;

    if (body != NULL && len != 0 && manta_error_fast
        && manta_error_shape_fast(body, len, status, bot_id, bot_id_len,
                                  redact, nredact, fresh, out, out_len, &rc))
    {
        return rc;
    }

    root = NULL;

    if (body != NULL && len != 0) {
        root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    }

    if (root != NULL && !json_is_object(root)) {
        json_decref(root);
        root = NULL;
    }

    /* a member name cannot be redacted in place: such a body is rebuilt */

    if (root != NULL && !fresh && manta_error_is_response(root)
        && !manta_redact_keys(root, redact, nredact))
    {
        return manta_error_fill(root, bot_id, bot_id_len, redact, nredact,
                                out, out_len);
    }

    v = manta_error_message(root);

    if (v != NULL) {
        m = manta_redact_copy(json_string_value(v), json_string_length(v),
                               redact, nredact, &n);
        json_decref(root);

        if (m == NULL) {
            return MANTA_ERROR_NOMEM;
        }

        n = manta_utf8_cut(m, n, MANTA_ERROR_MESSAGE_MAX);

        rc = manta_error_build(m, n, status, bot_id, bot_id_len, out,
                               out_len);
        free(m);

        return rc;
    }

    json_decref(root);

    phrase = manta_status_phrase(status);

    return manta_error_build(phrase, strlen(phrase), status, bot_id,
                             bot_id_len, out, out_len);
}


/*
 * The commonest bodies read without the tokenizer, in one pass over their
 * bytes: manta_error_read()'s answer for a body with no white space and
 * no string holding an escape, a control character, DEL or UTF-8 (a
 * string is then its bytes), that is an ErrorResponse of
 * manta_error_body()'s shape
 * (1, *rc MANTA_ERROR_PASS: the caller has found no redacted value in the
 * body) or an object of at most MANTA_ERROR_PLAIN_MEMBERS members whose
 * values are such strings, integers of at most 18 digits, true, false or
 * null and none of whose names is "success" or "errResponse" (0, *v 0 and
 * tok[0] the message, or *v -1).  -1 for any other body: the tokenizer
 * then reads it.
 */

static int
manta_error_plain(const char *body, size_t len, manta_jtok_t *tok, int *v,
    manta_error_rc_t *rc)
{
    int          r;
    size_t       n, i, lens[MANTA_ERROR_PLAIN_MEMBERS];
    uint64_t     seen;
    const char  *p, *last, *keys[MANTA_ERROR_PLAIN_MEMBERS];

    p = body;
    last = body + len;

    if (len < 2 || len >= 0x7fffffff || p[0] != '{' || last[-1] != '}') {
        return -1;
    }

    if (len > sizeof(MANTA_ERR_BODY_START) - 1
        && memcmp(p, MANTA_ERR_BODY_START, sizeof(MANTA_ERR_BODY_START) - 1)
           == 0)
    {
        if (!manta_error_plain_pass(p + sizeof(MANTA_ERR_BODY_START) - 1,
                                    last, body))
        {
            return -1;
        }

        *rc = MANTA_ERROR_PASS;
        return 1;
    }

    /* the message: the first of the candidates that is a string not empty */

    *v = -1;
    tok[0].flags = 0;
    i = MANTA_ERROR_CANDIDATES;
    seen = 0;

    p++;

    for (n = 0; /* void */; n++) {

        if (n == MANTA_ERROR_PLAIN_MEMBERS) {
            return -1;
        }

        r = manta_error_plain_name(&p, last, body, keys, lens, n, &seen);
        if (r < 0) {
            return -1;
        }

        p = manta_error_plain_member(p, last, body, (size_t) r, &i, tok);
        if (p == NULL) {
            return -1;
        }

        /* last[-1] is the '}' */

        if (p == last - 1) {
            break;
        }

        if (*p != ',') {
            return -1;
        }

        p++;
    }

    if (i < MANTA_ERROR_CANDIDATES) {
        *v = 0;
    }

    return 0;
}


/*
 * A member's name, from its opening quote at *pos to its ':' (*pos then
 * after it), the n-th of the object (keys and lens: those before it, bit
 * k of *seen set for a length k, 63 for 63 or more): its index in
 * manta_error_top, MANTA_ERROR_TOP for another name; -1 for a name the
 * tokenizer must read: not a plain string, a duplicate (which jansson
 * rejects), "success" or "errResponse" (perhaps an ErrorResponse)
 */

static inline int
manta_error_plain_name(const char **pos, const char *last,
    const char *body, const char **keys, size_t *lens, size_t n,
    uint64_t *seen)
{
    size_t       k, klen;
    uint64_t     bit;
    const char  *e, *key;

    if (**pos != '"') {
        return -1;
    }

    key = *pos + 1;

    e = manta_error_plain_string(key, last, body);
    if (e == NULL || last - e < 3 || e[1] != ':') {
        return -1;
    }

    klen = (size_t) (e - key);
    bit = (uint64_t) 1 << (klen < 63 ? klen : 63);

    /* a name as long as one before it only may be the same */

    for (k = 0; k < n && (*seen & bit); k++) {
        if (lens[k] == klen && manta_error_same(keys[k], key, klen)) {
            return -1;
        }
    }

    *seen |= bit;
    keys[n] = key;
    lens[n] = klen;

    k = manta_error_top_index(key, klen);

    if (k >= MANTA_ERROR_CANDIDATES && k < MANTA_ERROR_TOP) {
        return -1;
    }

    *pos = e + 2;

    return (int) k;
}


/* the index in manta_error_top of a name, MANTA_ERROR_TOP for another */

static inline size_t
manta_error_top_index(const char *key, size_t klen)
{
    size_t  k;

    switch (klen) {

    case 5:
        k = (key[0] == 'e') ? 1 : 3;        /* "error", "title" */
        break;

    case 6:
        k = 2;                              /* "detail" */
        break;

    case 7:
        k = (key[0] == 'm') ? 0 : 4;        /* "message", "success" */
        break;

    case 11:
        k = 5;                              /* "errResponse" */
        break;

    default:
        return MANTA_ERROR_TOP;
    }

    return manta_error_same(manta_error_top[k].data, key, klen)
           ? k : MANTA_ERROR_TOP;
}


/*
 * A member's value at p, of the name of index k: where it ends, NULL when
 * it is not one manta_error_plain() reads.  A string not empty of a
 * candidate before the message found so far (index *i) becomes tok[0].
 */

static inline const char *
manta_error_plain_member(const char *p, const char *last, const char *body,
    size_t k, size_t *i, manta_jtok_t *tok)
{
    const char  *e;

    if (*p != '"') {
        return manta_error_plain_value(p, last);
    }

    e = manta_error_plain_string(p + 1, last, body);
    if (e == NULL) {
        return NULL;
    }

    if (k < *i && e != p + 1) {
        *i = k;
        tok[0].start = (uint32_t) (p + 1 - body);
        tok[0].end = (uint32_t) (e - body);
    }

    return e + 1;
}


/*
 * The rest of an ErrorResponse of manta_error_body()'s shape after the
 * opening quote of its message, up to last: 1 when it is so
 */

static int
manta_error_plain_pass(const char *p, const char *last, const char *body)
{
    size_t  n;

    p = manta_error_plain_string(p, last, body);

    if (p == NULL
        || (size_t) (last - p) < sizeof(MANTA_ERR_BODY_CODE) - 1
        || memcmp(p, MANTA_ERR_BODY_CODE, sizeof(MANTA_ERR_BODY_CODE) - 1)
           != 0)
    {
        return 0;
    }

    p += sizeof(MANTA_ERR_BODY_CODE) - 1;

    /* a code of 1 to 9 digits, no leading zero */

    if (p == last || *p == '0') {
        return 0;
    }

    for (n = 0; p < last && manta_json_digit(*p); n++) {
        p++;
    }

    if (n == 0 || n > 9
        || (size_t) (last - p) < sizeof(MANTA_ERR_BODY_BOT) - 1
        || memcmp(p, MANTA_ERR_BODY_BOT, sizeof(MANTA_ERR_BODY_BOT) - 1)
           != 0)
    {
        return 0;
    }

    p = manta_error_plain_string(p + sizeof(MANTA_ERR_BODY_BOT) - 1, last,
                                 body);

    return p != NULL && last - p == 3 && p[1] == '}' && p[2] == '}';
}


/*
 * A value other than a string at p, before last: an integer of at most 18
 * digits, true, false or null.  The byte after it, or NULL.
 */

static const char *
manta_error_plain_value(const char *p, const char *last)
{
    int     zero;
    size_t  n;

    switch (*p) {

    case 't':
        return (last - p > 4 && memcmp(p, "true", 4) == 0) ? p + 4 : NULL;

    case 'f':
        return (last - p > 5 && memcmp(p, "false", 5) == 0) ? p + 5 : NULL;

    case 'n':
        return (last - p > 4 && memcmp(p, "null", 4) == 0) ? p + 4 : NULL;

    case '-':
        p++;
        break;

    default:
        break;
    }

    zero = (*p == '0');

    for (n = 0; p < last && manta_json_digit(*p); n++) {
        p++;
    }

    /* no leading zero, no fraction or exponent ('.', 'e' and 'E' stop) */

    if (n == 0 || n > 18 || (n > 1 && zero)) {
        return NULL;
    }

    return p;
}


/*
 * The closing quote of a string starting at p, before last, whose bytes
 * are printable ASCII but '"' and '\\', or NULL; sixteen bytes at once
 * where SSE2 allows (signed, a byte of 0x80 or more is below 0x20), the
 * last ones read with the bytes of the body before them
 */

static inline const char *
manta_error_plain_string(const char *p, const char *last, const char *body)
{
    unsigned char  c;
#if (defined __SSE2__ && defined __GNUC__)
    unsigned int   m;

    while (last - p >= 16) {
        m = manta_error_plain_stops(p);

        if (m != 0) {
            p += __builtin_ctz(m);
            return (*p == '"') ? p : NULL;
        }

        p += 16;
    }

    if (last - body >= 16) {
        /* the bytes from p to last are the block's last ones */

        m = manta_error_plain_stops(last - 16) >> (16 - (last - p));

        if (m != 0) {
            p += __builtin_ctz(m);
            return (*p == '"') ? p : NULL;
        }

        return NULL;
    }
#else
    (void) body;
#endif

    for ( /* void */ ; p < last; p++) {
        c = (unsigned char) *p;

        if (c == '"') {
            return p;
        }

        if (c < 0x20 || c >= 0x7f || c == '\\') {
            return NULL;
        }
    }

    return NULL;
}


#if (defined __SSE2__ && defined __GNUC__)

/* a bit for each of the 16 bytes at p that ends a plain string */

static inline unsigned int
manta_error_plain_stops(const char *p)
{
    __m128i  x;

    x = _mm_loadu_si128((const __m128i *) p);

    return (unsigned int) _mm_movemask_epi8(
               _mm_or_si128(
                   _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
                                _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))),
                   _mm_or_si128(_mm_cmplt_epi8(x, _mm_set1_epi8(0x20)),
                                _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f)))));
}

#endif


/*
 * The tokenizer's reading of an error body, shared by both fast paths: 1
 * with *rc MANTA_ERROR_PASS for a valid ErrorResponse to pass as it is
 * (only when pass is 1; clean: 1 when the body is known to hold no
 * redacted value, 0 to search the object for one); -1 when the tokenizer
 * is unsure or the answer needs the jansson tree; else 0, *v the token of
 * the message to take, or -1 for the reason phrase.
 */

static int
manta_error_read(const char *body, size_t len, manta_jtok_t *tok, int pass,
    int clean, const char *bot_id, const manta_str_t *redact, size_t nredact,
    int *v, manta_error_rc_t *rc)
{
    int               top[MANTA_ERROR_TOP];
    size_t            count, found;
    manta_jscan_rc_t  jrc;

    *v = -1;

    jrc = manta_jscan(body, len, tok, MANTA_ERROR_TOKENS, &count);

    if (jrc == MANTA_JSCAN_UNSURE) {
        return -1;
    }

    if (jrc != MANTA_JSCAN_OK || tok[0].type != MANTA_JT_OBJECT) {
        return 0;
    }

    manta_error_fast_members(body, tok, 0, manta_error_top, MANTA_ERROR_TOP,
                             top);

    if (pass) {
        if (!clean) {
            clean = (nredact == 0
                     || manta_redact_find(body + tok[0].start,
                                          tok[0].end - tok[0].start, redact,
                                          nredact, &found)
                        == NULL);
        }

        switch (manta_error_fast_pass(body, tok, count, top, bot_id, redact,
                                      nredact, clean))
        {
        case 1:
            *rc = MANTA_ERROR_PASS;
            return 1;

        case -1:
            return -1;

        default:
            break;
        }
    }

    *v = manta_error_fast_message(body, tok, top);

    return 0;
}


/*
 * manta_error_shape() without a jansson tree, for the bodies whose answer
 * needs none: not a JSON object, a valid ErrorResponse passed as it is, or
 * a message taken from a member.  0 when the tokenizer is unsure or the
 * answer needs the tree (an ErrorResponse re-serialized): the caller then
 * parses the body with jansson.  Otherwise 1 and *rc.
 */

static int
manta_error_shape_fast(const char *body, size_t len, int status,
    const char *bot_id, size_t bot_id_len, const manta_str_t *redact,
    size_t nredact, int fresh, char **out, size_t *out_len,
    manta_error_rc_t *rc)
{
    int            r, v;
    char          *s, *m, buf[MANTA_ERROR_STACK];
    size_t         n;
    const char    *phrase;
    manta_jtok_t   tok[MANTA_ERROR_TOKENS];

    r = manta_error_read(body, len, tok, !fresh, 0, bot_id, redact, nredact,
                         &v, rc);
    if (r != 0) {
        return r > 0;
    }

    if (v < 0) {
        phrase = manta_status_phrase(status);

        *rc = manta_error_build(phrase, strlen(phrase), status, bot_id,
                                bot_id_len, out, out_len);
        return 1;
    }

    n = tok[v].end - tok[v].start;
    s = buf;

    if (n > sizeof(buf)) {
        s = malloc(n);
        if (s == NULL) {
            return 0;
        }
    }

    n = manta_jscan_decode(body + tok[v].start, n, s);

    m = manta_redact_copy(s, n, redact, nredact, &n);

    if (s != buf) {
        free(s);
    }

    if (m == NULL) {
        *rc = MANTA_ERROR_NOMEM;
        return 1;
    }

    n = manta_utf8_cut(m, n, MANTA_ERROR_MESSAGE_MAX);

    *rc = manta_error_build(m, n, status, bot_id, bot_id_len, out, out_len);
    free(m);

    return 1;
}


/*
 * The values of the members of the object at tok[obj] named in names[n]:
 * idx[k] the index of the value of names[k], or -1 (also when tok[obj] is
 * no object).  One walk over the members.
 */

static void
manta_error_fast_members(const char *body, const manta_jtok_t *tok, int obj,
    const manta_str_t *names, size_t n, int *idx)
{
    size_t       k;
    uint32_t     i, m, len;
    const char  *name;

    for (k = 0; k < n; k++) {
        idx[k] = -1;
    }

    if (obj < 0 || tok[obj].type != MANTA_JT_OBJECT) {
        return;
    }

    i = (uint32_t) obj + 1;

    for (m = 0; m < tok[obj].size; m++) {
        name = body + tok[i].start;
        len = tok[i].end - tok[i].start;

        /* names are unique (the tokenizer is unsure of a duplicate) */

        for (k = 0; k < n; k++) {
            if (names[k].len == len && names[k].data[0] == name[0]
                && manta_error_same(names[k].data, name, len))
            {
                idx[k] = (int) i + 1;
                break;
            }
        }

        i = tok[i + 1].next;
    }
}


/*
 * memcmp(a, b, len) == 0 for the short names looked up: two overlapping
 * loads of 8 or 4 bytes, within the len bytes of each, compare them all
 */

static inline int
manta_error_same(const char *a, const char *b, size_t len)
{
    size_t    i;
    uint32_t  x4, y4, z4, w4;
    uint64_t  x8, y8, z8, w8;

    if (len >= 8) {
        if (len > 16) {
            return memcmp(a, b, len) == 0;
        }

        memcpy(&x8, a, 8);
        memcpy(&y8, b, 8);
        memcpy(&z8, a + len - 8, 8);
        memcpy(&w8, b + len - 8, 8);

        return ((x8 ^ y8) | (z8 ^ w8)) == 0;
    }

    if (len >= 4) {
        memcpy(&x4, a, 4);
        memcpy(&y4, b, 4);
        memcpy(&z4, a + len - 4, 4);
        memcpy(&w4, b + len - 4, 4);

        return ((x4 ^ y4) | (z4 ^ w4)) == 0;
    }

    for (i = 0; i < len; i++) {
        if (a[i] != b[i]) {
            return 0;
        }
    }

    return 1;
}


/*
 * manta_error_is_response(), manta_redact_keys() and manta_error_fill()
 * over the tokens, top[] the members of the top object: 1 when the body
 * passes as it is, 0 when it is not kept (not an ErrorResponse, or a
 * member name holds a redacted value), -1 when it would be re-serialized
 * or a string cannot be decoded.  body_clean: the object's bytes hold no
 * redacted value.
 */

static int
manta_error_fast_pass(const char *body, const manta_jtok_t *tok,
    size_t count, const int *top, const char *bot_id,
    const manta_str_t *redact, size_t nredact, int body_clean)
{
    int  v, er, idx[MANTA_ERROR_ER];

    v = top[MANTA_ERROR_SUCCESS];

    if (v < 0 || tok[v].type != MANTA_JT_FALSE) {
        return 0;
    }

    er = top[MANTA_ERROR_ERRRESP];

    if (er < 0 || tok[er].type != MANTA_JT_OBJECT) {
        return 0;
    }

    manta_error_fast_members(body, tok, er, manta_error_er, MANTA_ERROR_ER,
                             idx);

    v = idx[MANTA_ERROR_ER_MESSAGE];

    if (v < 0 || tok[v].type != MANTA_JT_STRING) {
        return 0;
    }

    v = idx[MANTA_ERROR_ER_CODE];

    if (v < 0 || tok[v].type != MANTA_JT_NUMBER
        || (tok[v].flags & MANTA_JT_REAL))
    {
        return 0;
    }

    v = idx[MANTA_ERROR_ER_BOT];

    if (v >= 0 && tok[v].type != MANTA_JT_STRING) {
        return 0;
    }

    if (v < 0 && bot_id != NULL) {
        /* filled in: re-serialized */
        return -1;
    }

    if (nredact == 0) {
        return 1;
    }

    return manta_error_fast_clean(body, tok, count, redact, nredact,
                                  body_clean);
}


/*
 * The redacted values over the tokens: 0 when a member name holds one
 * (the body is not kept), -1 when a string value does (re-serialized), 1
 * when none does.  Names are never escaped here, and a string without an
 * escape is its bytes: when the body holds no redacted value (body_clean),
 * only the escaped strings are left to decode and search.
 */

static int
manta_error_fast_clean(const char *body, const manta_jtok_t *tok,
    size_t count, const manta_str_t *redact, size_t nredact, int body_clean)
{
    int     rc;
    size_t  i, found;

    for (i = 0; i < count && !body_clean; i++) {
        if ((tok[i].flags & MANTA_JT_KEY)
            && manta_redact_find(body + tok[i].start,
                                 tok[i].end - tok[i].start, redact, nredact,
                                 &found)
               != NULL)
        {
            return 0;
        }
    }

    for (i = 0; i < count; i++) {
        if (tok[i].type == MANTA_JT_STRING
            && !(tok[i].flags & MANTA_JT_KEY)
            && (!body_clean || (tok[i].flags & MANTA_JT_ESCAPED)))
        {
            rc = manta_error_fast_holds(body, &tok[i], redact, nredact);

            if (rc != 0) {
                /* redacted: re-serialized */
                return -1;
            }
        }
    }

    return 1;
}


/*
 * manta_error_message() over the tokens, top[] the members of the top
 * object: the string's index, or -1
 */

static int
manta_error_fast_message(const char *body, const manta_jtok_t *tok,
    const int *top)
{
    int  k, v, idx[MANTA_ERROR_ER];

    /* a string decodes to nothing only when it is empty */

    for (k = 0; k < MANTA_ERROR_CANDIDATES; k++) {
        v = top[k];

        if (v >= 0 && tok[v].type == MANTA_JT_STRING
            && tok[v].end != tok[v].start)
        {
            return v;
        }
    }

    manta_error_fast_members(body, tok, top[MANTA_ERROR_ERRRESP],
                             manta_error_er, 1, idx);

    v = idx[MANTA_ERROR_ER_MESSAGE];

    if (v < 0 || tok[v].type != MANTA_JT_STRING || tok[v].end == tok[v].start)
    {
        return -1;
    }

    return v;
}


/* 1 when the decoded string holds a redacted value, -1 on no memory */

static int
manta_error_fast_holds(const char *body, const manta_jtok_t *t,
    const manta_str_t *redact, size_t nredact)
{
    int          rc;
    char        *s, buf[MANTA_ERROR_STACK];
    size_t       n, found;
    const char  *hit;

    n = t->end - t->start;

    if (!(t->flags & MANTA_JT_ESCAPED)) {
        return manta_redact_find(body + t->start, n, redact, nredact, &found)
               != NULL;
    }

    s = buf;

    if (n > sizeof(buf)) {
        s = malloc(n);
        if (s == NULL) {
            return -1;
        }
    }

    n = manta_jscan_decode(body + t->start, n, s);
    hit = manta_redact_find(s, n, redact, nredact, &found);
    rc = (hit != NULL);

    manta_wipe(s, n);

    if (s != buf) {
        free(s);
    }

    return rc;
}


/*
 * A valid ErrorResponse kept as it is but for its redacted strings and a
 * missing botId filled; root is released here.
 */

static manta_error_rc_t
manta_error_fill(json_t *root, const char *bot_id, size_t bot_id_len,
    const manta_str_t *redact, size_t nredact, char **out, size_t *out_len)
{
    int      changed;
    char    *s;
    json_t  *er;

    er = json_object_get(root, "errResponse");

    changed = manta_redact_tree(root, redact, nredact);

    if (changed < 0) {
        json_decref(root);
        return MANTA_ERROR_NOMEM;
    }

    if (bot_id != NULL && json_object_get(er, "botId") == NULL) {
        if (json_object_set_new(er, "botId",
                                json_stringn(bot_id, bot_id_len))
            != 0)
        {
            json_decref(root);
            return MANTA_ERROR_NOMEM;
        }

        changed++;
    }

    if (changed == 0) {
        json_decref(root);
        return MANTA_ERROR_PASS;
    }

    s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);

    if (s == NULL) {
        return MANTA_ERROR_NOMEM;
    }

    *out = s;
    *out_len = strlen(s);

    return MANTA_ERROR_REWRITTEN;
}


/*
 * The upstream's own message: the first non-empty string of the members
 * in manta_error_members, else errResponse.message; NULL if none.
 */

static json_t *
manta_error_message(json_t *root)
{
    json_t       *v;
    const char  **name;

    if (root == NULL) {
        return NULL;
    }

    for (name = manta_error_members; *name; name++) {
        v = json_object_get(root, *name);

        if (json_is_string(v) && json_string_length(v) != 0) {
            return v;
        }
    }

    v = json_object_get(json_object_get(root, "errResponse"), "message");

    if (!json_is_string(v) || json_string_length(v) == 0) {
        return NULL;
    }

    return v;
}


static int
manta_error_is_response(json_t *root)
{
    json_t  *er, *v;

    if (!json_is_false(json_object_get(root, "success"))) {
        return 0;
    }

    er = json_object_get(root, "errResponse");

    if (!json_is_object(er)) {
        return 0;
    }

    if (!json_is_string(json_object_get(er, "message"))
        || !json_is_integer(json_object_get(er, "code")))
    {
        return 0;
    }

    v = json_object_get(er, "botId");

    return v == NULL || json_is_string(v);
}


/* the number of strings changed, -1 on allocation failure */

static int
manta_redact_tree(json_t *value, const manta_str_t *redact,
    size_t nredact)
{
    int          n, rc;
    char        *s;
    size_t       i, len, found;
    json_t      *v;
    const char  *key;

    n = 0;

    switch (json_typeof(value)) {

    case JSON_OBJECT:
        json_object_foreach(value, key, v) {
            rc = manta_redact_tree(v, redact, nredact);
            if (rc < 0) {
                return -1;
            }

            n += rc;
        }

        return n;

    case JSON_ARRAY:
        json_array_foreach(value, i, v) {
            rc = manta_redact_tree(v, redact, nredact);
            if (rc < 0) {
                return -1;
            }

            n += rc;
        }

        return n;

    case JSON_STRING:
        if (manta_redact_find(json_string_value(value),
                             json_string_length(value), redact, nredact,
                             &found)
            == NULL)
        {
            return 0;
        }

        s = manta_redact_copy(json_string_value(value),
                               json_string_length(value), redact, nredact,
                               &len);
        if (s == NULL) {
            return -1;
        }

        rc = json_string_setn(value, s, len);
        free(s);

        return rc == 0 ? 1 : -1;

    default:
        return 0;
    }
}


/* 1 when a member name anywhere in the tree holds a redacted value */

static int
manta_redact_keys(json_t *value, const manta_str_t *redact,
    size_t nredact)
{
    size_t       i, found;
    json_t      *v;
    const char  *key;

    switch (json_typeof(value)) {

    case JSON_OBJECT:
        json_object_foreach(value, key, v) {
            if (manta_redact_find(key, strlen(key), redact, nredact, &found)
                != NULL
                || manta_redact_keys(v, redact, nredact))
            {
                return 1;
            }
        }

        return 0;

    case JSON_ARRAY:
        json_array_foreach(value, i, v) {
            if (manta_redact_keys(v, redact, nredact)) {
                return 1;
            }
        }

        return 0;

    default:
        return 0;
    }
}


/* a malloc()ed copy with every redacted value replaced */

static char *
manta_redact_copy(const char *s, size_t len, const manta_str_t *redact,
    size_t nredact, size_t *out_len)
{
    char        *dst, *p;
    size_t       size, found;
    const char  *last, *hit, *end;

    /* each replacement may grow the string; bound it generously */
    size = len + 1;

    if (nredact) {
        size += (len + 1) * MANTA_REDACTED_LEN;
    }

    dst = malloc(size);
    if (dst == NULL) {
        return NULL;
    }

    p = dst;
    last = s + len;

    while (s < last) {
        hit = manta_redact_find(s, last - s, redact, nredact, &found);

        if (hit == NULL) {
            memcpy(p, s, last - s);
            p += last - s;
            break;
        }

        memcpy(p, s, hit - s);
        p += hit - s;
        memcpy(p, MANTA_REDACTED, MANTA_REDACTED_LEN);
        p += MANTA_REDACTED_LEN;

        /* matches overlapping this one are redacted with it */

        end = hit + found;

        for (s = hit + 1; s < end; s++) {
            found = manta_redact_match(s, last - s, redact, nredact);

            if (s + found > end) {
                end = s + found;
            }
        }

        s = end;
    }

    *p = '\0';
    *out_len = p - dst;

    return dst;
}


/* the leftmost occurrence of any redacted value; the longest one there */

static const char *
manta_redact_find(const char *s, size_t len, const manta_str_t *redact,
    size_t nredact, size_t *found)
{
    size_t       i, room;
    const char  *best, *hit;

    best = NULL;
    *found = 0;

    for (i = 0; i < nredact; i++) {
        if (redact[i].len == 0) {
            continue;
        }

        /* one starting after the leftmost so far does not count */

        room = len;

        if (best != NULL && (size_t) (best - s) + redact[i].len < len) {
            room = (size_t) (best - s) + redact[i].len;
        }

        hit = manta_find(s, room, redact[i].data, redact[i].len);

        if (hit != NULL
            && (best == NULL || hit < best || redact[i].len > *found))
        {
            best = hit;
            *found = redact[i].len;
        }
    }

    return best;
}


/*
 * 1 when s holds a redacted value (manta_redact_find() is not NULL), each
 * searched for its byte anchor[i] first (anchor may be NULL)
 */

static int
manta_redact_any(const char *s, size_t len, const manta_str_t *redact,
    const size_t *anchor, size_t nredact)
{
    size_t  i;

    for (i = 0; i < nredact; i++) {
        if (redact[i].len != 0
            && manta_find_at(s, len, redact[i].data, redact[i].len,
                             anchor ? anchor[i] : 0)
               != NULL)
        {
            return 1;
        }
    }

    return 0;
}


/* the length of the longest redacted value starting at s, or 0 */

static size_t
manta_redact_match(const char *s, size_t len, const manta_str_t *redact,
    size_t nredact)
{
    size_t  i, longest;

    longest = 0;

    for (i = 0; i < nredact; i++) {
        if (redact[i].len > longest && redact[i].len <= len
            && memcmp(s, redact[i].data, redact[i].len) == 0)
        {
            longest = redact[i].len;
        }
    }

    return longest;
}


static manta_error_rc_t
manta_error_build(const char *message, size_t len, int status,
    const char *bot_id, size_t bot_id_len, char **out, size_t *out_len)
{
    char      *p;
    size_t     size;
    unsigned   plain;

    plain = 0;
    size = manta_error_body_len(message, len, status, bot_id, bot_id_len,
                                &plain);

    p = malloc(size + 1);
    if (p == NULL) {
        return MANTA_ERROR_NOMEM;
    }

    *out_len = manta_error_body(p, message, len, status, bot_id, bot_id_len,
                                plain);
    p[*out_len] = '\0';
    *out = p;

    return MANTA_ERROR_REWRITTEN;
}


static size_t
manta_int_format(char *buf, int n)
{
    char  *p;

    /* buf holds at least 12 bytes; no NUL is written */

    p = buf;

    if (n < 0) {
        *p++ = '-';
        p = manta_uint(p, (unsigned long long) -(long long) n);

    } else {
        p = manta_uint(p, (unsigned long long) n);
    }

    return (size_t) (p - buf);
}
