/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * manta_plan.c: the order of the checks and the forwarded request.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manta_plan.h"
#include "manta_json.h"
#include "tap.h"
#include "tests.h"


#define NOW  1000               /* the expired bot's token ended at 100 */

#define CREDS                                                                \
    "{\"bots\":{"                                                            \
    "\"alpha\":{\"token\":\"tok-alpha\",\"secret\":\"se\\\"cr\\\\et\"},"     \
    "\"a b/c\":{\"token\":\"tok-space\",\"secret\":\"s2\"},"                 \
    "\"old\":{\"token\":\"eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjEwMH0.c2ln\","      \
    "\"secret\":\"s3\"}},"                                                  \
    "\"callers\":{\"svc-a\":{\"bots\":[\"alpha\"]},"                           \
    "\"svc-ops\":{\"bots\":[\"*\"]},\"svc-none\":{\"bots\":[]}}}"

#define OK_BODY  "{\"name\":\" Tag  42 \"}"


typedef struct {
    const char      *method;
    const char      *content_type;      /* NULL: none */
    const char      *args;
    long long        content_length;
    const char      *body;              /* NULL: the head fails */
    manta_reason_t   reason;
    const char      *test;
    const char      *caller;            /* NULL: manta_caller not set */
} plan_case_t;


static void plan_case(const manta_plan_conf_t *conf, const plan_case_t *c);
static void forward_is(const manta_plan_conf_t *conf, const char *args,
    const char *body, const char *query, const char *fwd_body,
    const char *auth, const char *test);


/*
 * Each row breaks one rule and every rule after it: the reason is the
 * first broken one in check order.
 */

static const plan_case_t  plan_cases[] = {
    { "GET", "text/plain", "", 99999, "[", MANTA_METHOD_NOT_ALLOWED,
      "method first: before media type, botId and size", NULL },
    { "post", "application/json", "botId=alpha", 10, OK_BODY,
      MANTA_METHOD_NOT_ALLOWED, "method: exactly POST", NULL },
    { "POST", NULL, "", 99999, "[", MANTA_UNSUPPORTED_MEDIA_TYPE,
      "no Content-Type: before botId", NULL },
    { "POST", "text/plain", "botId=alpha", 10, OK_BODY,
      MANTA_UNSUPPORTED_MEDIA_TYPE, "media type: not JSON", NULL },
    { "POST", "application/json", "botId=nobody&botId=alpha", 99999, "[",
      MANTA_BAD_BOT_ID, "repeated botId: before the known-bot check", NULL },
    { "POST", "application/json", "botid=alpha", 10, OK_BODY,
      MANTA_BAD_BOT_ID, "botId: name is case-sensitive", NULL },
    { "POST", "application/json", "botId=%GG", 10, OK_BODY,
      MANTA_BAD_BOT_ID, "botId: bad encoding", NULL },
    { "POST", "application/json", "botId=bad!", 10, OK_BODY,
      MANTA_BAD_BOT_ID, "botId: not matching the pattern", NULL },
    { "POST", "application/json", "botId=nobody", 99999, "[",
      MANTA_UNKNOWN_BOT, "unknown bot: before the declared size", NULL },
    { "POST", "application/json", "botId=nobody", 99999, "[",
      MANTA_UNKNOWN_BOT, "unknown bot: before the caller", "" },
    { "POST", "application/json", "botId=alpha", 99999, "[",
      MANTA_UNKNOWN_CALLER, "empty caller: before the declared size", "" },
    { "POST", "application/json", "botId=alpha", 99999, "[",
      MANTA_CALLER_NOT_ALLOWED, "caller not in the map: before the size",
      "svc-x" },
    { "POST", "application/json", "botId=old", 99999, "[",
      MANTA_CALLER_NOT_ALLOWED, "caller not allowed this bot", "svc-a" },
    { "POST", "application/json", "botId=alpha", 10, OK_BODY,
      MANTA_CALLER_NOT_ALLOWED, "caller ids are case-sensitive", "SVC-A" },
    { "POST", "application/json", "botId=alpha", 10, OK_BODY,
      MANTA_CALLER_NOT_ALLOWED, "caller with no bots", "svc-none" },
    { "POST", "application/json", "botId=alpha", 10, OK_BODY,
      MANTA_CALLER_NOT_ALLOWED, "a prefix of a caller id", "svc" },
    { "POST", "application/json", "botId=alpha", 101, OK_BODY,
      MANTA_BODY_TOO_LARGE, "allowed caller: then the declared size",
      "svc-a" },
    { "POST", "application/json", "botId=old", -1, OK_BODY,
      MANTA_TOKEN_EXPIRED, "\"*\": any bot, then the body checks",
      "svc-ops" },
    { "POST", "application/json", "botId=a+b%2fc", 20, OK_BODY, MANTA_OK,
      "\"*\": every check passes", "svc-ops" },
    { "POST", "application/json", "botId=alpha", 20, OK_BODY, MANTA_OK,
      "allowed caller: every check passes", "svc-a" },
    { "POST", "application/json", "botId=alpha", 101, OK_BODY,
      MANTA_BODY_TOO_LARGE, "declared Content-Length over the limit", NULL },
    { "POST", "application/json", "botId=alpha", -1,
      "{\"name\":\"" "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"",
      MANTA_BODY_TOO_LARGE, "body over the limit: before JSON", NULL },
    { "POST", "application/json", "botId=old", -1, "[",
      MANTA_INVALID_JSON, "invalid JSON: before the token's expiry", NULL },
    { "POST", "application/json", "botId=alpha", -1, "{\"name\":1,\"x\":2}",
      MANTA_INVALID_NAME, "invalid name: before unknown members", NULL },
    { "POST", "application/json", "botId=alpha", -1,
      "{\"name\":\"a\",\"x\":1,\"secret\":\"mine\"}", MANTA_CLIENT_SECRET,
      "client secret: before unknown members", NULL },
    { "POST", "application/json", "botId=old", -1,
      "{\"name\":\"a\",\"x\":1}", MANTA_UNKNOWN_FIELD,
      "unknown member: before the token's expiry", NULL },
    { "POST", "application/json", "botId=old", -1, OK_BODY,
      MANTA_TOKEN_EXPIRED, "expired token: the last check", NULL },
    { "POST", "application/json; charset=UTF-8", "x=1&botId=alpha", 20,
      OK_BODY, MANTA_OK, "every check passes", NULL },
};


void
test_plan(void)
{
    int                same;
    char               err[256], name[32];
    size_t             i, j, len;
    manta_creds_t     *creds;
    manta_plan_conf_t  conf;

    static const char  *drop[] = {
        "authorization", "accept-encoding", "content-type",
        "content-length", "transfer-encoding"
    };

    creds = manta_creds_parse(CREDS, sizeof(CREDS) - 1, err, sizeof(err));

    if (!ok(creds != NULL, "plan: credentials parsed (%s)", err)) {
        return;
    }

    conf.creds = creds;
    conf.bot_id_re = manta_re_compile("^[a-z /]+$", 10, 0, err, sizeof(err));
    conf.body_max_size = 100;
    conf.body.name_max_length = 64;
    conf.body.name_re = NULL;
    conf.body.unknown_fields = MANTA_UNKNOWN_FIELDS_REJECT;
    conf.body.client_secret = MANTA_CLIENT_SECRET_REJECT;
    conf.token_expiry_check = 1;

    for (i = 0; i < sizeof(plan_cases) / sizeof(plan_cases[0]); i++) {
        plan_case(&conf, &plan_cases[i]);
    }

    /* the forwarding rules */

    forward_is(&conf, "botId=alpha", OK_BODY, "botId=alpha",
               "{\"secret\":\"se\\\"cr\\\\et\",\"name\":\"Tag 42\"}",
               "Bearer tok-alpha", "the bot's secret first, then the name");

    forward_is(&conf, "botId=a+b%2fc&z=9", "{\"name\":\"say \\\"hi\\\"\"}",
               "botId=a%20b%2Fc",
               "{\"secret\":\"s2\",\"name\":\"say \\\"hi\\\"\"}",
               "Bearer tok-space",
               "canonical query: only botId, upper-case percent-encoding");

    conf.body.unknown_fields = MANTA_UNKNOWN_FIELDS_DROP;
    conf.body.client_secret = MANTA_CLIENT_SECRET_REPLACE;

    forward_is(&conf, "botId=alpha",
               "{\"extra\":[1],\"secret\":\"mine\",\"name\":\"n\"}",
               "botId=alpha", "{\"secret\":\"se\\\"cr\\\\et\",\"name\":\"n\"}",
               "Bearer tok-alpha",
               "dropped members and a replaced secret are not forwarded");

    conf.token_expiry_check = 0;

    forward_is(&conf, "botId=old", OK_BODY, "botId=old",
               "{\"secret\":\"s3\",\"name\":\"Tag 42\"}",
               "Bearer eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjEwMH0.c2ln",
               "expiry not checked: an expired token is forwarded");

    /* the headers that never reach upstream */

    ok(manta_drop_header("authorization", 13), "drop: authorization");
    ok(manta_drop_header("accept-encoding", 15), "drop: accept-encoding");
    ok(manta_drop_header("content-type", 12), "drop: content-type");
    ok(manta_drop_header("content-length", 14), "drop: content-length");
    ok(manta_drop_header("transfer-encoding", 17),
       "drop: transfer-encoding");
    ok(!manta_drop_header("content-typ", 11), "keep: a prefix of a name");
    ok(!manta_drop_header("x-authorization", 15), "keep: x-authorization");
    ok(!manta_drop_header("user-agent", 10), "keep: user-agent");
    ok(!manta_drop_header("transferXencoding", 17),
       "keep: transfer-encoding but its byte 8");
    ok(!manta_drop_header("", 0), "keep: an empty name");
    ok(!manta_drop_header("transfer-encodings", 18), "keep: 18 bytes");

    /* any one byte of a name changed, or one its length of the others */

    same = 1;

    for (i = 0; i < sizeof(drop) / sizeof(drop[0]); i++) {
        len = strlen(drop[i]);

        for (j = 0; j < len; j++) {
            memcpy(name, drop[i], len);
            name[j] ^= 0x20;
            same &= !manta_drop_header(name, len);
            name[j] = 'x';
            same &= !manta_drop_header(name, len);
        }

        memset(name, 'z', len);
        same &= !manta_drop_header(name, len);
        same &= manta_drop_header(drop[i], len);
    }

    ok(same, "drop: exactly the five names, no byte of them overlooked");

    manta_re_free((manta_re_t *) conf.bot_id_re);
    manta_creds_free(creds);
}


static void
plan_case(const manta_plan_conf_t *conf, const plan_case_t *c)
{
    char            *hbuf, *bbuf;
    size_t           len;
    manta_head_t     head;
    manta_plan_t     plan;
    manta_reason_t   rc;

    head.method = c->method;
    head.method_len = strlen(c->method);
    head.content_type = c->content_type;
    head.content_type_len = c->content_type ? strlen(c->content_type) : 0;
    head.args = c->args;
    head.args_len = strlen(c->args);
    head.content_length = c->content_length;
    head.caller_set = (c->caller != NULL);
    head.caller = c->caller;
    head.caller_len = c->caller ? strlen(c->caller) : 0;

    hbuf = malloc(manta_check_head_len(head.args_len));
    bbuf = NULL;

    rc = manta_check_head(conf, &head, &plan, hbuf);

    if (c->caller) {
        ok((plan.caller != NULL)
           == (rc == MANTA_OK || rc > MANTA_CALLER_NOT_ALLOWED),
           "%s: the caller is kept only once accepted", c->test);
    }

    if (plan.caller) {
        is_mem(plan.caller->id.data, plan.caller->id.len, c->caller,
               "%s: the accepted caller's entry", c->test);
    }

    if (rc == MANTA_OK) {
        ok(plan.cred != NULL && plan.bot_id != NULL, "%s: head keeps the "
           "bot", c->test);

        len = strlen(c->body);
        bbuf = malloc(manta_check_body_len(conf, &plan, len));

        rc = manta_check_body(conf, &plan, c->body, len, NOW, bbuf);
    }

    is_int(rc, c->reason, "%s: %s", c->test, manta_reason_code(c->reason));
    is_int(plan.reason, rc, "%s: the plan holds the reason", c->test);

    if (rc != MANTA_OK) {
        ok(plan.query == NULL && plan.query_len == 0 && plan.body == NULL
           && plan.body_len == 0 && plan.authorization == NULL,
           "%s: nothing to forward", c->test);
        ok(strstr(plan.message, "se\"cr") == NULL
           && strstr(plan.message, "mine") == NULL,
           "%s: no secret in the message", c->test);

    } else {
        ok(plan.query != NULL && plan.body != NULL
           && plan.authorization != NULL, "%s: a forward", c->test);
    }

    free(hbuf);
    free(bbuf);
}


static void
forward_is(const manta_plan_conf_t *conf, const char *args, const char *body,
    const char *query, const char *fwd_body, const char *auth,
    const char *test)
{
    int              word;
    char            *hbuf, *bbuf,
                     qbuf[sizeof("botId=") - 1 + 3 * MANTA_BOT_ID_MAX];
    size_t           len;
    manta_head_t     head;
    manta_plan_t     plan;
    manta_reason_t   rc;

    head.method = "POST";
    head.method_len = 4;
    head.content_type = "application/json";
    head.content_type_len = 16;
    head.args = args;
    head.args_len = strlen(args);
    head.content_length = -1;
    head.caller_set = 0;
    head.caller = NULL;
    head.caller_len = 0;

    hbuf = malloc(manta_check_head_len(head.args_len));
    bbuf = NULL;

    rc = manta_check_head(conf, &head, &plan, hbuf);

    if (is_int(rc, MANTA_OK, "%s: head passes", test)) {
        /* the flag the ErrorResponse trusts: [A-Za-z0-9_-] alone */

        word = plan.bot_id_len != 0
               && strspn(plan.bot_id, "abcdefghijklmnopqrstuvwxyz"
                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
                  == plan.bot_id_len
               && head.args_len == sizeof("botId=") - 1 + plan.bot_id_len;

        is_int(plan.bot_id_plain, word, "%s: botId plain", test);
        ok(!plan.bot_id_plain
           || manta_json_escape_len(plan.bot_id, plan.bot_id_len)
              == plan.bot_id_len,
           "%s: a plain botId needs no JSON escapes", test);

        len = strlen(body);
        bbuf = malloc(manta_check_body_len(conf, &plan, len));

        rc = manta_check_body(conf, &plan, body, len, NOW, bbuf);

        if (is_int(rc, MANTA_OK, "%s: body passes (%s)", test,
                   plan.message))
        {
            is_mem(plan.query, plan.query_len, query, "%s: query", test);
            ok(plan.query_len == manta_query(qbuf, plan.bot_id,
                                             plan.bot_id_len)
               && memcmp(qbuf, plan.query, plan.query_len) == 0,
               "%s: query as manta_query() makes it", test);
            is_mem(plan.body, plan.body_len, fwd_body, "%s: body", test);
            is_mem(plan.authorization, plan.authorization_len, auth,
                   "%s: Authorization", test);
            is_int(plan.query_len, manta_query_len(plan.bot_id,
                                                   plan.bot_id_len),
                   "%s: query length as announced", test);
        }
    }

    free(hbuf);
    free(bbuf);
}
