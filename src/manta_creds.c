/*
 * Copyright (C) ngx_http_manta_module authors
 * Pure C core: no nginx types or headers.
 *
 * The credentials file (a default token and secret, per-bot entries with
 * their own token, secret, rate and burst), the callers that may act for
 * which bots, and the JWT claims of its tokens.
 * While the file is parsed, jansson allocates through a malloc/free pair
 * that wipes every block before releasing it, so the copies of tokens and
 * secrets jansson makes (lexer buffers, string values) leave nothing behind.
 * Error messages name members, bots, lines and columns, never any byte of a
 * token or secret: jansson's own error text is never used, as it may quote
 * the input.
 */


#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "manta_creds.h"
#include "manta_json.h"
#include "manta_request.h"
#include "manta_limit.h"
#include "manta_util.h"


#define MANTA_BEARER        "Bearer "
#define MANTA_PREFIX_START  "{\"secret\":\""
#define MANTA_PREFIX_END    "\",\"name\":\""

/* bytes of a bot id or member name quoted in an error message */
#define MANTA_QUOTE_MAX     64
#define MANTA_QUOTE_SIZE    (MANTA_QUOTE_MAX * 4 + 4)


typedef union {
    size_t        size;
    long double   ld;
    long long     ll;
    void         *ptr;
} manta_wipe_hdr_t;


/* the top-level members of the file, each NULL when absent */

typedef struct {
    json_t  *token;
    json_t  *secret;
    json_t  *bots;
    json_t  *callers;
} manta_creds_top_t;


static void *manta_wipe_malloc(size_t size);
static void manta_wipe_free(void *ptr);
static manta_creds_t *manta_creds_parse_json(const char *data, size_t len,
    char *err, size_t errlen);
static int manta_creds_top(json_t *root, manta_creds_top_t *top, char *err,
    size_t errlen);
static int manta_creds_bots(manta_creds_t *creds, json_t *bots, char *err,
    size_t errlen);
static int manta_creds_bot(manta_creds_t *creds, manta_cred_t *cred,
    const char *bot_id, json_t *bot, char *err, size_t errlen);
static int manta_creds_inherit(json_t *value, const char *member,
    const manta_cred_t *dflt, const char *bot_id, const char **data,
    size_t *len, char *err, size_t errlen);
static int manta_creds_bot_limit(manta_cred_t *cred, const char *bot_id,
    json_t *rate, json_t *burst, char *err, size_t errlen);
static int manta_creds_caller_bots(manta_creds_t *creds,
    manta_caller_t *caller, json_t *bots, char *err, size_t errlen);
static int manta_jwt_payload(const char *token, size_t token_len,
    const char **payload, size_t *len);
static int manta_creds_callers(manta_creds_t *creds, json_t *callers,
    char *err, size_t errlen);
static int manta_creds_caller(manta_creds_t *creds, manta_caller_t *caller,
    const char *id, json_t *value, char *err, size_t errlen);
static int manta_str_dup(manta_creds_str_t *str, const char *s, size_t len);
static int manta_str_cmp(const void *one, const void *two);
static int manta_caller_cmp(const void *one, const void *two);
static int manta_creds_string(json_t *value, const char *member,
    const char *bot_id, char *err, size_t errlen);
static int manta_cred_derive(manta_cred_t *cred);
static int manta_cred_init(manta_cred_t *cred, const char *bot_id,
    const char *token, size_t token_len, const char *secret,
    size_t secret_len);
static void manta_cred_claims(manta_cred_t *cred);
static int manta_claim(json_t *claims, const char *name, long long *value);
static void manta_cred_wipe(manta_cred_t *cred);
static void manta_cred_str_free(char *p, size_t len);
static int manta_cred_cmp(const void *one, const void *two);
static int manta_creds_group(manta_creds_t *creds);
static int manta_token_id_cmp(const void *one, const void *two);
static int manta_control(const char *s, size_t len);
static void manta_json_error(const json_error_t *jerr, char *err,
    size_t errlen);
static const char *manta_quote(char *buf, const char *s, size_t len);
static void manta_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));


/* the base64url alphabet mapped to base64's; 0: not in the alphabet */

static const unsigned char  manta_b64url[256] = {
    0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 0, 0, 0, 0, 0,    /* 0x00 .. 0x0f */
    0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 0, 0, 0, 0, 0,    /* 0x10 .. 0x1f */
    0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 0, 0, '+', 0, 0,  /* 0x20 .. 0x2f */
    '0', '1', '2', '3', '4', '5', '6', '7',             /* 0x30 .. 0x37 */
    '8', '9', 0, 0, 0, 0, 0, 0,                         /* 0x38 .. 0x3f */
    0, 'A', 'B', 'C', 'D', 'E', 'F', 'G',               /* 0x40 .. 0x47 */
    'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O',             /* 0x48 .. 0x4f */
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W',             /* 0x50 .. 0x57 */
    'X', 'Y', 'Z', 0, 0, 0, 0, '/',                     /* 0x58 .. 0x5f */
    0, 'a', 'b', 'c', 'd', 'e', 'f', 'g',               /* 0x60 .. 0x67 */
    'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',             /* 0x68 .. 0x6f */
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w',             /* 0x70 .. 0x77 */
    'x', 'y', 'z', 0, 0, 0, 0, 0                        /* 0x78 .. 0x7f */
};


manta_creds_t *
manta_creds_parse(const char *data, size_t len, char *err, size_t errlen)
{
    json_free_t     old_free;
    json_malloc_t   old_malloc;
    manta_creds_t  *creds;

    if (errlen) {
        err[0] = '\0';
    }

    json_get_alloc_funcs(&old_malloc, &old_free);
    json_set_alloc_funcs(manta_wipe_malloc, manta_wipe_free);

    /* every json_t is released inside */

    creds = manta_creds_parse_json(data, len, err, errlen);

    json_set_alloc_funcs(old_malloc, old_free);

    return creds;
}


void
manta_creds_free(manta_creds_t *creds)
{
    size_t           i, j;
    manta_caller_t  *c;

    if (creds == NULL) {
        return;
    }

    if (creds->dflt) {
        manta_cred_wipe(creds->dflt);
        free(creds->dflt);
    }

    if (creds->bots) {
        for (i = 0; i < creds->nbots; i++) {
            manta_cred_wipe(&creds->bots[i]);
        }

        free(creds->bots);
    }

    if (creds->callers) {
        for (i = 0; i < creds->ncallers; i++) {
            c = &creds->callers[i];

            for (j = 0; j < c->nbots; j++) {
                free(c->bots[j].data);
            }

            free(c->bots);
            free(c->id.data);
        }

        free(creds->callers);
    }

    free(creds);
}


const manta_cred_t *
manta_creds_lookup(const manta_creds_t *creds, const char *bot_id,
    size_t len)
{
    manta_cred_t   key;
    manta_cred_t  *cred;

    if (creds->nbots) {
        key.bot_id = (char *) bot_id;
        key.bot_id_len = len;

        cred = bsearch(&key, creds->bots, creds->nbots, sizeof(manta_cred_t),
                       manta_cred_cmp);
        if (cred) {
            return cred;
        }
    }

    return creds->dflt;
}


int
manta_caller_allowed(const manta_creds_t *creds, const char *id,
    size_t id_len, const char *bot_id, size_t bot_id_len,
    const manta_caller_t **caller)
{
    manta_caller_t      key;
    manta_caller_t     *c;
    manta_creds_str_t   bot;

    if (caller) {
        *caller = NULL;
    }

    if (creds->ncallers == 0 || id_len == 0) {
        return MANTA_CALLER_UNKNOWN;
    }

    key.id.data = (char *) id;
    key.id.len = id_len;

    c = bsearch(&key, creds->callers, creds->ncallers,
                sizeof(manta_caller_t), manta_caller_cmp);
    if (c == NULL) {
        return MANTA_CALLER_UNKNOWN;
    }

    if (caller) {
        *caller = c;
    }

    if (c->any) {
        return MANTA_CALLER_OK;
    }

    bot.data = (char *) bot_id;
    bot.len = bot_id_len;

    if (c->nbots
        && bsearch(&bot, c->bots, c->nbots, sizeof(manta_creds_str_t),
                   manta_str_cmp))
    {
        return MANTA_CALLER_OK;
    }

    return MANTA_CALLER_DENIED;
}


int
manta_cred_expired(const manta_cred_t *cred, time_t now)
{
    if (cred->has_exp && (long long) now >= cred->exp) {
        return 1;
    }

    if (cred->has_nbf && (long long) now < cred->nbf) {
        return 1;
    }

    return 0;
}


int
manta_cred_expiry(const manta_cred_t *cred, time_t now, time_t window)
{
    if (cred->has_exp && (long long) now >= cred->exp) {
        return MANTA_CRED_EXPIRED;
    }

    if (cred->has_nbf && (long long) now < cred->nbf) {
        return MANTA_CRED_NOT_YET_VALID;
    }

    if (cred->has_exp && window >= 0
        && cred->exp - (long long) now <= (long long) window)
    {
        return MANTA_CRED_EXPIRING;
    }

    return MANTA_CRED_VALID;
}


int
manta_cred_warn_due(const manta_cred_t *cred, time_t now, time_t interval)
{
    long long  *at;

    at = cred->warned;

    if (at == NULL) {
        return 1;
    }

    if (*at != 0 && (long long) now - *at < (long long) interval
        && (long long) now >= *at)
    {
        return 0;
    }

    /* 0 means "never": a clock at the epoch still logs every time */

    *at = (long long) now;

    return 1;
}


static void *
manta_wipe_malloc(size_t size)
{
    manta_wipe_hdr_t  *hdr;

    if (size > SIZE_MAX - sizeof(manta_wipe_hdr_t)) {
        return NULL;
    }

    hdr = malloc(sizeof(manta_wipe_hdr_t) + size);
    if (hdr == NULL) {
        return NULL;
    }

    hdr->size = size;

    return hdr + 1;
}


static void
manta_wipe_free(void *ptr)
{
    manta_wipe_hdr_t  *hdr;

    if (ptr == NULL) {
        return;
    }

    hdr = (manta_wipe_hdr_t *) ptr - 1;

    manta_wipe(hdr, sizeof(manta_wipe_hdr_t) + hdr->size);
    free(hdr);
}


static manta_creds_t *
manta_creds_parse_json(const char *data, size_t len, char *err,
    size_t errlen)
{
    json_t             *root;
    json_error_t        jerr;
    manta_creds_t      *creds;
    manta_creds_top_t   top;

    root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);

    if (root == NULL) {
        manta_json_error(&jerr, err, errlen);
        manta_wipe(&jerr, sizeof(json_error_t));
        return NULL;
    }

    manta_wipe(&jerr, sizeof(json_error_t));

    creds = NULL;

    if (manta_creds_top(root, &top, err, errlen) != 0) {
        goto failed;
    }

    creds = calloc(1, sizeof(manta_creds_t));
    if (creds == NULL) {
        goto nomem;
    }

    if (top.token) {
        creds->dflt = calloc(1, sizeof(manta_cred_t));
        if (creds->dflt == NULL) {
            goto nomem;
        }

        if (manta_cred_init(creds->dflt, NULL, json_string_value(top.token),
                            json_string_length(top.token),
                            json_string_value(top.secret),
                            json_string_length(top.secret))
            != 0)
        {
            goto nomem;
        }
    }

    if (top.bots && manta_creds_bots(creds, top.bots, err, errlen) != 0) {
        goto failed;
    }

    if (manta_creds_group(creds) != 0) {
        goto nomem;
    }

    if (top.callers
        && manta_creds_callers(creds, top.callers, err, errlen) != 0)
    {
        goto failed;
    }

    json_decref(root);

    return creds;

nomem:

    manta_error(err, errlen, "out of memory");

failed:

    manta_creds_free(creds);
    json_decref(root);

    return NULL;
}


/* the top-level members, each of its type, and the rules between them */

static int
manta_creds_top(json_t *root, manta_creds_top_t *top, char *err,
    size_t errlen)
{
    char         q[MANTA_QUOTE_SIZE];
    json_t      *value;
    const char  *key;

    memset(top, 0, sizeof(manta_creds_top_t));

    if (!json_is_object(root)) {
        manta_error(err, errlen, "the file must hold one JSON object");
        return -1;
    }

    json_object_foreach(root, key, value) {

        if (strcmp(key, "token") == 0) {
            top->token = value;

        } else if (strcmp(key, "secret") == 0) {
            top->secret = value;

        } else if (strcmp(key, "bots") == 0) {
            if (!json_is_object(value)) {
                manta_error(err, errlen, "member \"bots\" must be an object");
                return -1;
            }

            top->bots = value;

        } else if (strcmp(key, "callers") == 0) {
            if (!json_is_object(value)) {
                manta_error(err, errlen,
                            "member \"callers\" must be an object");
                return -1;
            }

            top->callers = value;

        } else {
            manta_error(err, errlen, "unknown member \"%s\"",
                        manta_quote(q, key, strlen(key)));
            return -1;
        }
    }

    if (top->token
        && manta_creds_string(top->token, "token", NULL, err, errlen) != 0)
    {
        return -1;
    }

    if (top->secret
        && manta_creds_string(top->secret, "secret", NULL, err, errlen) != 0)
    {
        return -1;
    }

    if ((top->token == NULL) != (top->secret == NULL)) {
        manta_error(err, errlen, "members \"token\" and \"secret\" must be "
                    "given together");
        return -1;
    }

    if (top->token == NULL
        && (top->bots == NULL || json_object_size(top->bots) == 0))
    {
        manta_error(err, errlen, "no default \"token\" and \"secret\" and "
                    "no \"bots\"");
        return -1;
    }

    return 0;
}


/* "bots": {"id": {...}}, sorted by id for the lookup */

static int
manta_creds_bots(manta_creds_t *creds, json_t *bots, char *err,
    size_t errlen)
{
    size_t       i;
    json_t      *value;
    const char  *key;

    if (json_object_size(bots) == 0) {
        return 0;
    }

    creds->bots = calloc(json_object_size(bots), sizeof(manta_cred_t));
    if (creds->bots == NULL) {
        manta_error(err, errlen, "out of memory");
        return -1;
    }

    i = 0;

    json_object_foreach(bots, key, value) {

        /* counted as it is filled: manta_creds_free() sees them all */

        creds->nbots = ++i;

        if (manta_creds_bot(creds, &creds->bots[i - 1], key, value, err,
                            errlen)
            != 0)
        {
            return -1;
        }
    }

    qsort(creds->bots, creds->nbots, sizeof(manta_cred_t), manta_cred_cmp);

    return 0;
}


static int
manta_creds_bot(manta_creds_t *creds, manta_cred_t *cred, const char *bot_id,
    json_t *bot, char *err, size_t errlen)
{
    char         q[MANTA_QUOTE_SIZE], q2[MANTA_QUOTE_SIZE];
    json_t      *value, *token, *secret, *rate, *burst;
    size_t       len, token_len, secret_len;
    const char  *key, *token_data, *secret_data;

    len = strlen(bot_id);

    if (len == 0 || len > MANTA_BOT_ID_MAX) {
        manta_error(err, errlen, "bot id \"%s\" must have 1 to %d bytes",
                    manta_quote(q, bot_id, len), MANTA_BOT_ID_MAX);
        return -1;
    }

    if (!json_is_object(bot)) {
        manta_error(err, errlen, "bot \"%s\" must be an object",
                    manta_quote(q, bot_id, len));
        return -1;
    }

    token = NULL;
    secret = NULL;
    rate = NULL;
    burst = NULL;

    json_object_foreach(bot, key, value) {

        if (strcmp(key, "token") == 0) {
            token = value;

        } else if (strcmp(key, "secret") == 0) {
            secret = value;

        } else if (strcmp(key, "rate") == 0) {
            rate = value;

        } else if (strcmp(key, "burst") == 0) {
            burst = value;

        } else {
            manta_error(err, errlen, "unknown member \"%s\" in bot \"%s\"",
                        manta_quote(q, key, strlen(key)),
                        manta_quote(q2, bot_id, len));
            return -1;
        }
    }

    if (manta_creds_inherit(token, "token", creds->dflt, bot_id,
                            &token_data, &token_len, err, errlen)
        != 0
        || manta_creds_inherit(secret, "secret", creds->dflt, bot_id,
                               &secret_data, &secret_len, err, errlen)
           != 0)
    {
        return -1;
    }

    if (manta_cred_init(cred, bot_id, token_data, token_len, secret_data,
                        secret_len)
        != 0)
    {
        manta_error(err, errlen, "out of memory");
        return -1;
    }

    return manta_creds_bot_limit(cred, bot_id, rate, burst, err, errlen);
}


/* a bot's token or secret: its own, or else the default's */

static int
manta_creds_inherit(json_t *value, const char *member,
    const manta_cred_t *dflt, const char *bot_id, const char **data,
    size_t *len, char *err, size_t errlen)
{
    char  q[MANTA_QUOTE_SIZE];

    if (value) {
        if (manta_creds_string(value, member, bot_id, err, errlen) != 0) {
            return -1;
        }

        *data = json_string_value(value);
        *len = json_string_length(value);
        return 0;
    }

    if (dflt == NULL) {
        manta_error(err, errlen, "bot \"%s\" has no %s and there is no "
                    "default", manta_quote(q, bot_id, strlen(bot_id)),
                    member);
        return -1;
    }

    if (strcmp(member, "token") == 0) {
        *data = dflt->token;
        *len = dflt->token_len;

    } else {
        *data = dflt->secret;
        *len = dflt->secret_len;
    }

    return 0;
}


/* a bot's "rate" and "burst" */

static int
manta_creds_bot_limit(manta_cred_t *cred, const char *bot_id, json_t *rate,
    json_t *burst, char *err, size_t errlen)
{
    char        q[MANTA_QUOTE_SIZE], q2[MANTA_QUOTE_SIZE];
    size_t      len;
    json_int_t  n;

    len = strlen(bot_id);

    if (rate) {
        if (!json_is_string(rate)) {
            manta_error(err, errlen, "member \"rate\" of bot \"%s\" must be "
                        "a string", manta_quote(q, bot_id, len));
            return -1;
        }

        cred->rate = manta_rate_parse(json_string_value(rate),
                                      json_string_length(rate));

        if (cred->rate == 0) {
            manta_error(err, errlen, "invalid rate \"%s\" for bot \"%s\"",
                        manta_quote(q, json_string_value(rate),
                                    json_string_length(rate)),
                        manta_quote(q2, bot_id, len));
            return -1;
        }
    }

    if (burst) {
        n = json_is_integer(burst) ? json_integer_value(burst) : -1;

        if (n < 0 || n > MANTA_LIMIT_MAX) {
            manta_error(err, errlen, "invalid burst for bot \"%s\": must be "
                        "an integer from 0 to %d",
                        manta_quote(q, bot_id, len), MANTA_LIMIT_MAX);
            return -1;
        }

        cred->burst = (long) n;
    }

    return 0;
}


/*
 * "callers": {"svc": {"bots": ["bot-a", "*"]}}: parsed once the bots are,
 * as every bot named must be one the file serves.
 */

static int
manta_creds_callers(manta_creds_t *creds, json_t *callers, char *err,
    size_t errlen)
{
    size_t       i;
    json_t      *value;
    const char  *key;

    if (json_object_size(callers) == 0) {
        return 0;
    }

    creds->callers = calloc(json_object_size(callers),
                            sizeof(manta_caller_t));
    if (creds->callers == NULL) {
        manta_error(err, errlen, "out of memory");
        return -1;
    }

    i = 0;

    json_object_foreach(callers, key, value) {

        /* counted as it is filled: manta_creds_free() sees them all */

        creds->ncallers = ++i;

        if (manta_creds_caller(creds, &creds->callers[i - 1], key, value,
                               err, errlen)
            != 0)
        {
            return -1;
        }
    }

    qsort(creds->callers, creds->ncallers, sizeof(manta_caller_t),
          manta_caller_cmp);

    return 0;
}


static int
manta_creds_caller(manta_creds_t *creds, manta_caller_t *caller,
    const char *id, json_t *value, char *err, size_t errlen)
{
    char         q[MANTA_QUOTE_SIZE], q2[MANTA_QUOTE_SIZE];
    size_t       len;
    json_t      *bots, *member;
    const char  *key;

    len = strlen(id);

    if (len == 0 || len > MANTA_CALLER_MAX || manta_control(id, len)) {
        manta_error(err, errlen, "caller \"%s\" must have 1 to %d bytes "
                    "and no control characters",
                    manta_quote(q, id, len), MANTA_CALLER_MAX);
        return -1;
    }

    if (manta_str_dup(&caller->id, id, len) != 0) {
        manta_error(err, errlen, "out of memory");
        return -1;
    }

    if (!json_is_object(value)) {
        manta_error(err, errlen, "caller \"%s\" must be an object "
                    "{\"bots\": [...]}", manta_quote(q, id, len));
        return -1;
    }

    bots = NULL;

    json_object_foreach(value, key, member) {

        if (strcmp(key, "bots") != 0) {
            manta_error(err, errlen, "unknown member \"%s\" in caller "
                        "\"%s\"", manta_quote(q, key, strlen(key)),
                        manta_quote(q2, id, len));
            return -1;
        }

        bots = member;
    }

    if (!json_is_array(bots)) {
        manta_error(err, errlen, "caller \"%s\" needs a member \"bots\": "
                    "an array of bot ids or \"*\"",
                    manta_quote(q, id, len));
        return -1;
    }

    return manta_creds_caller_bots(creds, caller, bots, err, errlen);
}


/* a caller's "bots": ids the file serves, or "*" for any */

static int
manta_creds_caller_bots(manta_creds_t *creds, manta_caller_t *caller,
    json_t *bots, char *err, size_t errlen)
{
    char         q[MANTA_QUOTE_SIZE], q2[MANTA_QUOTE_SIZE];
    size_t       i, bot_len;
    json_t      *bot;
    const char  *bot_id;

    if (json_array_size(bots)) {
        caller->bots = calloc(json_array_size(bots),
                              sizeof(manta_creds_str_t));
        if (caller->bots == NULL) {
            manta_error(err, errlen, "out of memory");
            return -1;
        }
    }

    json_array_foreach(bots, i, bot) {

        if (!json_is_string(bot)) {
            manta_error(err, errlen, "bots of caller \"%s\" must be "
                        "strings", manta_quote(q, caller->id.data,
                                               caller->id.len));
            return -1;
        }

        bot_id = json_string_value(bot);
        bot_len = json_string_length(bot);

        if (bot_len == 1 && bot_id[0] == '*') {
            caller->any = 1;
            continue;
        }

        if (bot_len == 0 || bot_len > MANTA_BOT_ID_MAX
            || manta_creds_lookup(creds, bot_id, bot_len) == NULL)
        {
            manta_error(err, errlen, "caller \"%s\" names bot \"%s\", "
                        "which this file does not serve: add it to "
                        "\"bots\" or remove it from the caller",
                        manta_quote(q, caller->id.data, caller->id.len),
                        manta_quote(q2, bot_id, bot_len));
            return -1;
        }

        if (manta_str_dup(&caller->bots[caller->nbots], bot_id, bot_len)
            != 0)
        {
            manta_error(err, errlen, "out of memory");
            return -1;
        }

        caller->nbots++;
    }

    if (caller->nbots) {
        qsort(caller->bots, caller->nbots, sizeof(manta_creds_str_t),
              manta_str_cmp);
    }

    return 0;
}


static int
manta_str_dup(manta_creds_str_t *str, const char *s, size_t len)
{
    str->data = malloc(len + 1);
    if (str->data == NULL) {
        return -1;
    }

    memcpy(str->data, s, len);
    str->data[len] = '\0';
    str->len = len;

    return 0;
}


static int
manta_str_cmp(const void *one, const void *two)
{
    int                       rc;
    const manta_creds_str_t  *a, *b;

    a = one;
    b = two;

    rc = memcmp(a->data, b->data, a->len < b->len ? a->len : b->len);
    if (rc != 0) {
        return rc;
    }

    return (a->len > b->len) - (a->len < b->len);
}


static int
manta_caller_cmp(const void *one, const void *two)
{
    const manta_caller_t  *a, *b;

    a = one;
    b = two;

    return manta_str_cmp(&a->id, &b->id);
}


static int
manta_creds_string(json_t *value, const char *member, const char *bot_id,
    char *err, size_t errlen)
{
    char         q[MANTA_QUOTE_SIZE], where[MANTA_QUOTE_SIZE + 16];
    size_t       len;
    const char  *s;

    where[0] = '\0';

    if (bot_id) {
        snprintf(where, sizeof(where), " of bot \"%s\"",
                 manta_quote(q, bot_id, strlen(bot_id)));
    }

    if (!json_is_string(value)) {
        manta_error(err, errlen, "member \"%s\"%s must be a string", member,
                    where);
        return -1;
    }

    s = json_string_value(value);
    len = json_string_length(value);

    if (len == 0) {
        manta_error(err, errlen, "member \"%s\"%s must not be empty", member,
                    where);
        return -1;
    }

    if (manta_control(s, len)) {
        manta_error(err, errlen, "%s%s must not contain control characters "
                    "(U+0000..U+001F such as TAB, CR or LF, U+007F, "
                    "U+0080..U+009F)", member, where);
        return -1;
    }

    return 0;
}


static int
manta_cred_init(manta_cred_t *cred, const char *bot_id, const char *token,
    size_t token_len, const char *secret, size_t secret_len)
{
    cred->rate = 0;
    cred->burst = -1;
    cred->warned = NULL;
    cred->warned_at = 0;

    if (bot_id) {
        cred->bot_id_len = strlen(bot_id);
        cred->bot_id = malloc(cred->bot_id_len + 1);
        if (cred->bot_id == NULL) {
            return -1;
        }

        memcpy(cred->bot_id, bot_id, cred->bot_id_len + 1);
    }

    cred->token = malloc(token_len + 1);
    if (cred->token == NULL) {
        return -1;
    }

    cred->token_len = token_len;
    memcpy(cred->token, token, token_len);
    cred->token[token_len] = '\0';

    cred->secret = malloc(secret_len + 1);
    if (cred->secret == NULL) {
        return -1;
    }

    cred->secret_len = secret_len;
    memcpy(cred->secret, secret, secret_len);
    cred->secret[secret_len] = '\0';

    if (manta_cred_derive(cred) != 0) {
        return -1;
    }

    manta_cred_claims(cred);

    return 0;
}


/*
 * What the token and the secret give: the Authorization value, the start
 * of the forwarded body, the search anchors and the token's id
 */

static int
manta_cred_derive(manta_cred_t *cred)
{
    char           *p;
    size_t          i, n;
    unsigned char   md[SHA256_DIGEST_LENGTH];

    cred->authorization = malloc(sizeof(MANTA_BEARER) - 1 + cred->token_len
                                 + 1);
    if (cred->authorization == NULL) {
        return -1;
    }

    p = manta_cpylit(cred->authorization, MANTA_BEARER);
    p = manta_cpymem(p, cred->token, cred->token_len);
    *p = '\0';
    cred->authorization_len = (size_t) (p - cred->authorization);

    cred->body_prefix = malloc(sizeof(MANTA_PREFIX_START) - 1
                               + manta_json_escape_len(cred->secret,
                                                       cred->secret_len)
                               + sizeof(MANTA_PREFIX_END) - 1 + 1);
    if (cred->body_prefix == NULL) {
        return -1;
    }

    p = manta_cpylit(cred->body_prefix, MANTA_PREFIX_START);
    p = manta_json_escape(p, cred->secret, cred->secret_len);
    p = manta_cpylit(p, MANTA_PREFIX_END);
    *p = '\0';
    cred->body_prefix_len = (size_t) (p - cred->body_prefix);

    cred->token_anchor = manta_anchor(cred->token, cred->token_len);
    cred->secret_anchor = manta_anchor(cred->secret, cred->secret_len);
    cred->escaped_anchor = manta_anchor(
        cred->body_prefix + sizeof(MANTA_PREFIX_START) - 1,
        cred->body_prefix_len - (sizeof(MANTA_PREFIX_START) - 1)
                              - (sizeof(MANTA_PREFIX_END) - 1));

    manta_pats_init(&cred->pats);
    manta_pats_add(&cred->pats, cred->token, cred->token_len,
                   cred->token_anchor);
    manta_pats_add(&cred->pats, cred->secret, cred->secret_len,
                   cred->secret_anchor);

    n = cred->body_prefix_len - (sizeof(MANTA_PREFIX_START) - 1)
        - (sizeof(MANTA_PREFIX_END) - 1);

    if (n != cred->secret_len) {
        manta_pats_add(&cred->pats,
                       cred->body_prefix + sizeof(MANTA_PREFIX_START) - 1, n,
                       cred->escaped_anchor);
    }

    SHA256((const unsigned char *) cred->token, cred->token_len, md);

    for (i = 0; i < MANTA_TOKEN_ID_LEN / 2; i++) {
        manta_hex_byte(&cred->token_id[2 * i], md[i], 1);
    }

    cred->token_id[MANTA_TOKEN_ID_LEN] = '\0';

    manta_wipe(md, sizeof(md));

    return 0;
}


/*
 * A JWT is three base64url parts separated by two dots; the claims are the
 * JSON object in the middle one.  Anything else is an opaque token.
 */

static void
manta_cred_claims(manta_cred_t *cred)
{
    int             n;
    json_t         *claims;
    size_t          i, len, pad, size;
    const char     *payload;
    unsigned char  *b64, *raw;

    cred->has_exp = 0;
    cred->has_nbf = 0;

    if (manta_jwt_payload(cred->token, cred->token_len, &payload, &len)
        != 0)
    {
        return;
    }

    pad = (4 - len % 4) % 4;
    size = len + pad;

    b64 = malloc(size + 1);
    raw = malloc(size / 4 * 3 + 1);

    if (b64 == NULL || raw == NULL) {
        goto done;
    }

    for (i = 0; i < len; i++) {
        b64[i] = manta_b64url[(unsigned char) payload[i]];

        if (b64[i] == 0) {
            goto done;
        }
    }

    for ( /* void */ ; i < size; i++) {
        b64[i] = '=';
    }

    n = EVP_DecodeBlock(raw, b64, (int) size);

    if (n < (int) pad) {
        goto done;
    }

    claims = json_loadb((const char *) raw, (size_t) n - pad, 0, NULL);

    if (json_is_object(claims)) {
        cred->has_exp = manta_claim(claims, "exp", &cred->exp);
        cred->has_nbf = manta_claim(claims, "nbf", &cred->nbf);
    }

    json_decref(claims);

done:

    if (b64) {
        manta_wipe(b64, size + 1);
        free(b64);
    }

    if (raw) {
        manta_wipe(raw, size / 4 * 3 + 1);
        free(raw);
    }
}


/*
 * The payload of a JWT: the middle of exactly three dot-separated parts,
 * its optional padding dropped; -1 when it cannot be base64url.
 */

static int
manta_jwt_payload(const char *token, size_t token_len, const char **payload,
    size_t *len)
{
    size_t       i, n;
    const char  *dot, *last, *p;

    last = token + token_len;

    dot = memchr(token, '.', token_len);
    if (dot == NULL) {
        return -1;
    }

    p = dot + 1;

    dot = memchr(p, '.', (size_t) (last - p));
    if (dot == NULL || memchr(dot + 1, '.', (size_t) (last - dot - 1))) {
        return -1;
    }

    n = (size_t) (dot - p);

    for (i = 0; i < 2 && n && p[n - 1] == '='; i++) {
        n--;
    }

    if (n == 0 || n % 4 == 1 || n > INT_MAX / 2) {
        return -1;
    }

    *payload = p;
    *len = n;

    return 0;
}


/* a NumericDate, rounded up: "now >= exp" holds for an integer now */

static int
manta_claim(json_t *claims, const char *name, long long *value)
{
    double     d;
    json_t    *claim;
    long long  v;

    claim = json_object_get(claims, name);

    if (json_is_integer(claim)) {
        *value = json_integer_value(claim);
        return 1;
    }

    if (!json_is_real(claim)) {
        return 0;
    }

    d = json_real_value(claim);

    if (d >= 9.2e18) {
        v = LLONG_MAX;

    } else if (d <= -9.2e18) {
        v = LLONG_MIN;

    } else {
        v = (long long) d;

        if ((double) v < d) {
            v++;
        }
    }

    *value = v;

    return 1;
}


static void
manta_cred_wipe(manta_cred_t *cred)
{
    free(cred->bot_id);

    manta_cred_str_free(cred->token, cred->token_len);
    manta_cred_str_free(cred->secret, cred->secret_len);
    manta_cred_str_free(cred->authorization, cred->authorization_len);
    manta_cred_str_free(cred->body_prefix, cred->body_prefix_len);

    manta_wipe(cred, sizeof(manta_cred_t));
}


static void
manta_cred_str_free(char *p, size_t len)
{
    if (p == NULL) {
        return;
    }

    /* the lengths exclude the terminating NUL */

    manta_wipe(p, len + 1);
    free(p);
}


static int
manta_cred_cmp(const void *one, const void *two)
{
    int                  rc;
    const manta_cred_t  *a, *b;

    a = one;
    b = two;

    rc = memcmp(a->bot_id, b->bot_id,
                a->bot_id_len < b->bot_id_len ? a->bot_id_len
                                              : b->bot_id_len);
    if (rc != 0) {
        return rc;
    }

    return (a->bot_id_len > b->bot_id_len) - (a->bot_id_len < b->bot_id_len);
}


/*
 * Points the "warned" record of every entry to one slot per token id:
 * the default's for the bots that share its token, else the first entry
 * (in token id order) with that token.
 */

static int
manta_creds_group(manta_creds_t *creds)
{
    size_t         i;
    manta_cred_t  *c, *first, **order;

    if (creds->dflt) {
        creds->dflt->warned = &creds->dflt->warned_at;
    }

    if (creds->nbots == 0) {
        return 0;
    }

    order = malloc(creds->nbots * sizeof(manta_cred_t *));
    if (order == NULL) {
        return -1;
    }

    for (i = 0; i < creds->nbots; i++) {
        order[i] = &creds->bots[i];
    }

    qsort(order, creds->nbots, sizeof(manta_cred_t *), manta_token_id_cmp);

    first = NULL;

    for (i = 0; i < creds->nbots; i++) {
        c = order[i];

        if (first == NULL
            || strcmp(first->token_id, c->token_id) != 0)
        {
            first = c;

            if (creds->dflt
                && strcmp(creds->dflt->token_id, c->token_id) == 0)
            {
                first = creds->dflt;
            }
        }

        c->warned = (first == c) ? &c->warned_at : first->warned;
    }

    free(order);

    return 0;
}


static int
manta_token_id_cmp(const void *one, const void *two)
{
    const manta_cred_t  *a, *b;

    a = *(const manta_cred_t * const *) one;
    b = *(const manta_cred_t * const *) two;

    return strcmp(a->token_id, b->token_id);
}


/*
 * 1 when the UTF-8 string holds a C0 control (U+0000..U+001F), DEL
 * (U+007F) or a C1 control (U+0080..U+009F, encoded 0xc2 0x80..0x9f).
 */

static int
manta_control(const char *s, size_t len)
{
    size_t          i;
    unsigned char   c;

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (c < 0x20 || c == 0x7f) {
            return 1;
        }

        if (c == 0xc2 && i + 1 < len
            && (unsigned char) s[i + 1] >= 0x80
            && (unsigned char) s[i + 1] <= 0x9f)
        {
            return 1;
        }
    }

    return 0;
}


static void
manta_json_error(const json_error_t *jerr, char *err, size_t errlen)
{
    const char  *what;

    switch (json_error_code(jerr)) {

    case json_error_out_of_memory:
        manta_error(err, errlen, "out of memory");
        return;

    case json_error_invalid_utf8:
        what = "invalid UTF-8";
        break;

    case json_error_null_character:
        what = "NUL character (\\u0000) in a string";
        break;

    case json_error_duplicate_key:
        what = "duplicate member";
        break;

    case json_error_premature_end_of_input:
        what = "unexpected end of JSON";
        break;

    case json_error_end_of_input_expected:
        what = "data after the JSON object";
        break;

    default:
        what = "malformed JSON";
        break;
    }

    manta_error(err, errlen, "%s at line %d, column %d", what, jerr->line,
                jerr->column);
}


/*
 * Quotes a bot id, member name or rate for a message: printable ASCII as
 * is, other bytes as \xNN, at most MANTA_QUOTE_MAX bytes then "...".
 */

static const char *
manta_quote(char *buf, const char *s, size_t len)
{
    char           *p;
    size_t          i, n;
    unsigned char   c;

    p = buf;
    n = len < MANTA_QUOTE_MAX ? len : MANTA_QUOTE_MAX;

    for (i = 0; i < n; i++) {
        c = (unsigned char) s[i];

        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            *p++ = (char) c;
            continue;
        }

        *p++ = '\\';
        *p++ = 'x';
        p = manta_hex_byte(p, c, 1);
    }

    if (n < len) {
        p = manta_cpylit(p, "...");
    }

    *p = '\0';

    return buf;
}


static void
manta_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list  args;

    if (errlen == 0) {
        return;
    }

    va_start(args, fmt);
    vsnprintf(err, errlen, fmt, args);
    va_end(args);
}
