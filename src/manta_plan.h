/*
 * Copyright (C) ngx_http_manta_module authors
 * Pure C core: no nginx types or headers.
 *
 * The decision on a request, in check order, and what is forwarded when it
 * passes.  The head is checked before the body is read: the method is
 * POST, the media type application/json, botId is in the query exactly
 * once, decodes and matches the pattern, the bot is known (own entry or
 * the default), the caller (when one is asked for) is named and may act
 * for the bot, a declared Content-Length is within the body limit.  Then
 * the body: within the limit, a JSON object, a valid name, no "secret"
 * unless it is replaced, no unknown member unless they are dropped, and a
 * token that is not expired (when checked).  The rate limit comes after,
 * in the caller.  A request that passes is forwarded with the query
 * "botId=<percent-encoded botId>", the body {"secret":S,"name":N} (the
 * bot's secret, the normalized name), "Authorization: Bearer <token>" and
 * none of the caller's headers that manta_drop_header() names.
 *
 * Everything is written into memory the caller provides: nothing the core
 * allocates outlives a call.
 */


#ifndef _MANTA_PLAN_H_INCLUDED_
#define _MANTA_PLAN_H_INCLUDED_


#include <stddef.h>
#include <time.h>

#include "manta_reason.h"
#include "manta_re.h"
#include "manta_request.h"
#include "manta_creds.h"


typedef struct {
    const manta_creds_t   *creds;
    const manta_re_t      *bot_id_re;       /* NULL: any botId */
    size_t                 body_max_size;
    manta_body_opts_t      body;
    int                    token_expiry_check;
} manta_plan_conf_t;


typedef struct {
    const char            *method;
    size_t                 method_len;
    const char            *content_type;    /* NULL: no Content-Type */
    size_t                 content_type_len;
    const char            *args;            /* the query, without '?' */
    size_t                 args_len;
    long long              content_length;  /* -1: not declared */

    /* manta_caller: checked only when caller_set; "" is no caller */
    int                    caller_set;
    const char            *caller;
    size_t                 caller_len;
} manta_head_t;


typedef struct {
    manta_reason_t         reason;

    /* what the check found; "" means manta_reason_message(reason) */
    char                   message[MANTA_MESSAGE_MAX];

    /* from manta_check_head(): the decoded botId, in the caller's buffer */
    char                  *bot_id;
    size_t                 bot_id_len;
    /* 1: the botId is of [A-Za-z0-9_-] only (no byte JSON escapes) */
    int                    bot_id_plain;
    const manta_cred_t    *cred;

    /* the "callers" entry of an accepted caller; NULL otherwise */
    const manta_caller_t  *caller;

    /*
     * when manta_check_body() gives MANTA_OK, in its caller's buffer (the
     * authorization is the cred's); empty (NULL, 0) otherwise.  The query
     * may be set by manta_check_head() already, in its buffer, when the
     * caller's query is its own canonical form; manta_check_body() keeps
     * it then.
     */
    char                  *query;
    size_t                 query_len;
    char                  *body;
    size_t                 body_len;
    const char            *authorization;
    size_t                 authorization_len;
} manta_plan_t;


/* the size of the botId buffer for a query of args_len bytes */
size_t manta_check_head_len(size_t args_len);

/*
 * The checks that need no body, in order.  buf: manta_check_head_len()
 * bytes, kept alive by the caller as long as the plan.  Returns and sets
 * plan->reason; plan->bot_id and bot_id_len are set once the botId is
 * valid (also when a later check fails), plan->cred once the bot is known,
 * plan->caller once the caller is accepted.
 */
manta_reason_t manta_check_head(const manta_plan_conf_t *conf,
    const manta_head_t *head, manta_plan_t *plan, char *buf);

/*
 * Continues a plan that passed manta_check_head() (or one whose bot_id,
 * bot_id_len, cred, query and query_len a caller kept and set again).
 * The size of the buffer manta_check_body() needs for a body of len bytes.
 */
size_t manta_check_body_len(const manta_plan_conf_t *conf,
    const manta_plan_t *plan, size_t len);

/*
 * The checks on the body, in order, the token's expiry at "now" last.  On
 * MANTA_OK the forwarded query and body are written into buf
 * (manta_check_body_len() bytes) and plan->authorization is set; on
 * anything else the forward is empty and plan->message may say more.
 */
manta_reason_t manta_check_body(const manta_plan_conf_t *conf,
    manta_plan_t *plan, const char *data, size_t len, time_t now, char *buf);

/* the canonical query "botId=<percent-encoded botId>" */
size_t manta_query_len(const char *bot_id, size_t len);
size_t manta_query(char *dst, const char *bot_id, size_t len);

/*
 * 1 for a request header of the caller that is never forwarded (lowcase:
 * its lower-case name): the module sets its own Authorization and
 * Content-Type, the proxy the body's length, and the response is never
 * encoded by upstream.
 */
int manta_drop_header(const char *lowcase, size_t len);


#endif /* _MANTA_PLAN_H_INCLUDED_ */
