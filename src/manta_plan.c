/*
 * Copyright (C) ngx_http_manta_module authors
 * Pure C core: no nginx types or headers.
 *
 * The order of the checks and the forwarded request: see manta_plan.h.
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "manta_plan.h"
#include "manta_json.h"
#include "manta_util.h"


#define MANTA_QUERY_PREFIX    "botId="

/* a name up to this size is normalized on the stack */
#define MANTA_NAME_STACK      512

/* a valid name has at most this many bytes per code point */
#define MANTA_UTF8_MAX        4


static manta_reason_t manta_plan_bot_id(const manta_plan_conf_t *conf,
    const manta_head_t *head, manta_plan_t *plan, char *buf);
static void manta_plan_empty(manta_plan_t *plan);
static inline int manta_check_body_text(const manta_plan_conf_t *conf,
    manta_plan_t *plan, const char *data, size_t len, time_t now,
    char *query, size_t query_len, char *body, size_t room);
static inline int manta_plan_expired(const manta_plan_conf_t *conf,
    const manta_cred_t *cred, time_t now);
static inline int manta_plan_fits(const char *name, size_t name_len,
    size_t room);
static void manta_plan_forward(manta_plan_t *plan, char *query,
    size_t query_len, char *body, size_t body_len);
static size_t manta_plan_name_max(const manta_plan_conf_t *conf,
    size_t len);


/*
 * Lower-case names, indexed by their length: no two have the same one, so
 * that a header name is compared with one of them at most
 */

#define MANTA_DROP_MIN  (sizeof("content-type") - 1)      /* more than 8 */
#define MANTA_DROP_MAX  (sizeof("transfer-encoding") - 1)

static const char  *manta_drop_headers[MANTA_DROP_MAX + 1] = {
    [sizeof("authorization") - 1] = "authorization",
    [sizeof("accept-encoding") - 1] = "accept-encoding",
    [sizeof("content-type") - 1] = "content-type",
    [sizeof("content-length") - 1] = "content-length",
    [sizeof("transfer-encoding") - 1] = "transfer-encoding"
};


size_t
manta_check_head_len(size_t args_len)
{
    /*
     * the query's prefix, then the botId (never longer decoded than the
     * query), NUL-terminated
     */

    return sizeof(MANTA_QUERY_PREFIX) - 1
           + (args_len < MANTA_BOT_ID_MAX ? args_len : MANTA_BOT_ID_MAX) + 1;
}


manta_reason_t
manta_check_head(const manta_plan_conf_t *conf, const manta_head_t *head,
    manta_plan_t *plan, char *buf)
{
    manta_reason_t  rc;

    plan->message[0] = '\0';
    plan->bot_id = NULL;
    plan->bot_id_len = 0;
    plan->bot_id_plain = 0;
    plan->cred = NULL;
    plan->caller = NULL;
    manta_plan_empty(plan);

    if (head->method_len != sizeof("POST") - 1
        || memcmp(head->method, "POST", sizeof("POST") - 1) != 0)
    {
        rc = MANTA_METHOD_NOT_ALLOWED;
        goto done;
    }

    if (head->content_type == NULL
        || !manta_content_type_ok(head->content_type,
                                  head->content_type_len))
    {
        rc = MANTA_UNSUPPORTED_MEDIA_TYPE;
        goto done;
    }

    rc = manta_plan_bot_id(conf, head, plan, buf);
    if (rc != MANTA_OK) {
        goto done;
    }

    plan->cred = manta_creds_lookup(conf->creds, plan->bot_id,
                                    plan->bot_id_len);

    if (plan->cred == NULL) {
        rc = MANTA_UNKNOWN_BOT;
        goto done;
    }

    if (head->caller_set) {
        if (head->caller_len == 0) {
            rc = MANTA_UNKNOWN_CALLER;
            goto done;
        }

        if (manta_caller_allowed(conf->creds, head->caller, head->caller_len,
                                 plan->bot_id, plan->bot_id_len,
                                 &plan->caller)
            != MANTA_CALLER_OK)
        {
            plan->caller = NULL;
            rc = MANTA_CALLER_NOT_ALLOWED;
            goto done;
        }
    }

    if (head->content_length > (long long) conf->body_max_size) {
        manta_body_size_message(plan->message, sizeof(plan->message),
                                head->content_length, conf->body_max_size);
        rc = MANTA_BODY_TOO_LARGE;
        goto done;
    }

done:

    if (rc != MANTA_OK) {
        /* no query of manta_plan_bot_id() */
        manta_plan_empty(plan);
    }

    plan->reason = rc;

    return rc;
}


/*
 * The botId decoded into buf after the query's prefix, NUL-terminated;
 * the query itself when it is "botId=" and unreserved bytes only: its own
 * canonical form, as manta_query() would write it.
 */

static manta_reason_t
manta_plan_bot_id(const manta_plan_conf_t *conf, const manta_head_t *head,
    manta_plan_t *plan, char *buf)
{
    int             plain;
    char           *bot_id;
    size_t          len;
    manta_reason_t  rc;

    bot_id = manta_cpylit(buf, MANTA_QUERY_PREFIX);

    rc = manta_bot_id_parse(head->args, head->args_len, conf->bot_id_re,
                            bot_id, &len, &plain);
    if (rc != MANTA_OK) {
        return rc;
    }

    bot_id[len] = '\0';
    plan->bot_id = bot_id;
    plan->bot_id_len = len;
    plan->bot_id_plain = plain;

    if (plain) {
        plan->query = buf;
        plan->query_len = sizeof(MANTA_QUERY_PREFIX) - 1 + len;
    }

    return MANTA_OK;
}


size_t
manta_check_body_len(const manta_plan_conf_t *conf, const manta_plan_t *plan,
    size_t len)
{
    /*
     * the query is at most "botId=" and three bytes a byte of the botId
     * (not measured: the botId is read once, by manta_query()); a valid
     * name holds no control character: escaping at most doubles it ('"'
     * and '\\')
     */

    return sizeof(MANTA_QUERY_PREFIX) - 1 + 3 * plan->bot_id_len
           + plan->cred->body_prefix_len
           + 2 * manta_plan_name_max(conf, len) + sizeof("\"}") - 1;
}


manta_reason_t
manta_check_body(const manta_plan_conf_t *conf, manta_plan_t *plan,
    const char *data, size_t len, time_t now, char *buf)
{
    char                stack[MANTA_NAME_STACK], *name, *query;
    size_t              size, name_len, room, query_len;
    manta_reason_t      rc;
    const manta_cred_t *cred;

    query = plan->query;            /* manta_check_head()'s, or NULL */
    query_len = plan->query_len;
    plan->message[0] = '\0';
    manta_plan_empty(plan);

    cred = plan->cred;

    if (len > conf->body_max_size) {
        manta_body_size_message(plan->message, sizeof(plan->message),
                                (long long) len, conf->body_max_size);
        plan->reason = MANTA_BODY_TOO_LARGE;
        return MANTA_BODY_TOO_LARGE;
    }

    /*
     * the query first (unless manta_check_head() made it): the forwarded
     * body follows, and the name of a common body (manta_body_check_text())
     * is normalized and JSON-escaped straight into its place there, after
     * the prefix, which holds the secret and is written once the body passed
     */

    if (query == NULL) {
        query = buf;
        query_len = manta_query(buf, plan->bot_id, plan->bot_id_len);
        buf += query_len;
    }

    room = 2 * manta_plan_name_max(conf, len);

    if (manta_check_body_text(conf, plan, data, len, now, query, query_len,
                              buf, room))
    {
        return plan->reason;
    }

    size = manta_name_size(len);
    name = stack;

    if (size > sizeof(stack)) {
        name = malloc(size);
        if (name == NULL) {
            plan->reason = MANTA_NOMEM;
            return MANTA_NOMEM;
        }
    }

    rc = manta_body_check(&conf->body, data, len, name, size, &name_len,
                          plan->message, sizeof(plan->message));

    if (rc == MANTA_OK && manta_plan_expired(conf, cred, now)) {
        rc = MANTA_TOKEN_EXPIRED;
    }

    if (rc == MANTA_OK && !manta_plan_fits(name, name_len, room)) {
        /* cannot happen with a buffer of manta_check_body_len() */
        rc = MANTA_NOMEM;
    }

    if (rc == MANTA_OK) {
        /* the body after the query, or alone in buf */
        manta_plan_forward(plan, query, query_len, buf,
                           manta_body_build(buf, cred->body_prefix,
                                            cred->body_prefix_len, name,
                                            name_len));
    }

    if (name != stack) {
        free(name);
    }

    plan->reason = rc;

    return rc;
}


/*
 * manta_check_body() for the common body, that manta_body_check_text()
 * takes: returns 1 for one, with plan->reason set, and the name
 * normalized and JSON-escaped straight into its place in the forwarded
 * body, at buf + query_len after the prefix; room is what it may take.
 */

static inline int
manta_check_body_text(const manta_plan_conf_t *conf, manta_plan_t *plan,
    const char *data, size_t len, time_t now, char *query, size_t query_len,
    char *body, size_t room)
{
    size_t               name_len;
    manta_reason_t       rc;
    const manta_cred_t  *cred;

    cred = plan->cred;

    if (!manta_body_check_text(&conf->body, data, len,
                               body + cred->body_prefix_len, room, &name_len,
                               &rc, plan->message, sizeof(plan->message)))
    {
        return 0;
    }

    if (rc == MANTA_OK && manta_plan_expired(conf, cred, now)) {
        rc = MANTA_TOKEN_EXPIRED;
    }

    if (rc == MANTA_OK) {
        /* the name is JSON-escaped already */
        memcpy(body, cred->body_prefix, cred->body_prefix_len);
        memcpy(body + cred->body_prefix_len + name_len, "\"}", 2);

        manta_plan_forward(plan, query, query_len, body,
                           cred->body_prefix_len + name_len
                           + sizeof("\"}") - 1);
    }

    plan->reason = rc;

    return 1;
}


/* the token has expired, and the location checks that */

static inline int
manta_plan_expired(const manta_plan_conf_t *conf, const manta_cred_t *cred,
    time_t now)
{
    return conf->token_expiry_check && manta_cred_expired(cred, now);
}


/*
 * The name JSON-escaped fits in room bytes.  A valid name has no control
 * character: escaping at most doubles it, and it has at most room / 2
 * bytes; only a name that could be longer escaped, were it not valid, is
 * measured.
 */

static inline int
manta_plan_fits(const char *name, size_t name_len, size_t room)
{
    return name_len <= room / 6
           || manta_json_escape_len(name, name_len) <= room;
}


/* what manta_check_body() forwards once the body passed */

static void
manta_plan_forward(manta_plan_t *plan, char *query, size_t query_len,
    char *body, size_t body_len)
{
    plan->query = query;
    plan->query_len = query_len;
    plan->body = body;
    plan->body_len = body_len;
    plan->authorization = plan->cred->authorization;
    plan->authorization_len = plan->cred->authorization_len;
}


size_t
manta_query_len(const char *bot_id, size_t len)
{
    return sizeof(MANTA_QUERY_PREFIX) - 1 + manta_pct_encode_len(bot_id, len);
}


size_t
manta_query(char *dst, const char *bot_id, size_t len)
{
    char  *p;

    p = manta_cpylit(dst, MANTA_QUERY_PREFIX);
    p = manta_pct_encode(p, bot_id, len);

    return (size_t) (p - dst);
}


int
manta_drop_header(const char *lowcase, size_t len)
{
    uint64_t     a, b;
    const char  *name;

    if (len < MANTA_DROP_MIN || len > MANTA_DROP_MAX) {
        return 0;
    }

    name = manta_drop_headers[len];

    if (name == NULL) {
        return 0;
    }

    /*
     * a name of 9 .. 16 bytes is covered by its first 8 and its last 8,
     * one of 17 also needs the byte between them: no call to memcmp()
     */

    memcpy(&a, lowcase, 8);
    memcpy(&b, name, 8);

    if (a != b) {
        return 0;
    }

    memcpy(&a, lowcase + len - 8, 8);
    memcpy(&b, name + len - 8, 8);

    return a == b && lowcase[8] == name[8];
}


static void
manta_plan_empty(manta_plan_t *plan)
{
    plan->query = NULL;
    plan->query_len = 0;
    plan->body = NULL;
    plan->body_len = 0;
    plan->authorization = NULL;
    plan->authorization_len = 0;
}


/*
 * The most bytes a valid name of a body of len bytes has: the NFC form of
 * the input, and at most MANTA_UTF8_MAX bytes for each of the allowed code
 * points.
 */

static size_t
manta_plan_name_max(const manta_plan_conf_t *conf, size_t len)
{
    size_t  max;

    max = manta_name_size(len) - 1;

    if (conf->body.name_max_length < max / MANTA_UTF8_MAX) {
        max = conf->body.name_max_length * MANTA_UTF8_MAX;
    }

    return max;
}
