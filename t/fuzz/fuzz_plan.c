/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * Fuzzes the decision on a whole request (manta_check_head, then
 * manta_check_body): random method, Content-Type, query and body.
 * Invariants: the reason is the first broken rule's (a method other than
 * POST wins over everything); a rejection forwards nothing and its message
 * is valid UTF-8 without any token or secret the caller did not send; a
 * forwarded request has the query "botId=<percent-encoded botId>" that
 * decodes back to the botId, the body {"secret":S,"name":N} with the bot's
 * secret first and an accepted name, and the bot's Authorization.
 *
 * Input: one byte of options, then method, Content-Type and query, each
 * ended by '\n', then the body.
 */


#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "manta_plan.h"
#include "fuzz.h"


#define CREDS                                                                \
    "{\"token\":\"tok-dflt\",\"secret\":\"dflt-\\\"secret\","                \
    "\"bots\":{\"alpha\":{\"token\":\"tok-alpha\",\"secret\":\"s3cr3t\"},"   \
    "\"old\":{\"token\":\"eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjEwMH0.c2ln\"}},"   \
    "\"callers\":{\"svc-a\":{\"bots\":[\"alpha\"]},"                           \
    "\"svc-all\":{\"bots\":[\"*\"]}}}"


static const char *next_field(const char **p, const char *last,
    size_t *len);
static void forwarded(const manta_plan_t *plan, size_t max_length);


static manta_creds_t  *creds;
static manta_re_t     *bot_id_re;

static const char *const  secrets[] = {
    "tok-dflt", "dflt-\"secret", "dflt-\\\"secret", "tok-alpha", "s3cr3t",
    "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjEwMH0.c2ln"
};


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char  err[128];

    (void) argc;
    (void) argv;

    fuzz_json_init();

    creds = manta_creds_parse(S(CREDS), err, sizeof(err));
    fuzz_assert(creds != NULL);

    bot_id_re = fuzz_re(S("^[^<>]+$"), 0);

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char               *hbuf, *bbuf;
    size_t              body_len;
    unsigned            o;
    const char         *p, *last, *body, *hash;
    manta_head_t        head;
    manta_plan_t        plan;
    manta_reason_t      rc;
    manta_plan_conf_t   conf;

    if (size == 0) {
        return 0;
    }

    o = data[0];
    p = (const char *) data + 1;
    last = (const char *) data + size;

    conf.creds = creds;
    conf.bot_id_re = (o & 1) ? bot_id_re : NULL;
    conf.body_max_size = (o & 2) ? 64 : 8192;
    conf.body.name_max_length = (o & 4) ? 8 : 64;
    conf.body.name_re = NULL;
    conf.body.unknown_fields = (o & 8) ? MANTA_UNKNOWN_FIELDS_DROP
                                       : MANTA_UNKNOWN_FIELDS_REJECT;
    conf.body.client_secret = (o & 16) ? MANTA_CLIENT_SECRET_REPLACE
                                       : MANTA_CLIENT_SECRET_REJECT;
    conf.token_expiry_check = (o & 32) != 0;

    head.method = next_field(&p, last, &head.method_len);
    head.content_type = next_field(&p, last, &head.content_type_len);
    head.args = next_field(&p, last, &head.args_len);
    head.content_length = (o & 64) ? (long long) (last - p) : -1;

    /* "args#caller": manta_caller is set, to what follows the '#' */

    hash = memchr(head.args, '#', head.args_len);
    head.caller_set = (hash != NULL);
    head.caller = hash ? hash + 1 : NULL;
    head.caller_len = hash ? head.args_len - (size_t) (hash + 1 - head.args)
                           : 0;
    head.args_len = hash ? (size_t) (hash - head.args) : head.args_len;

    if (o & 128) {
        head.content_type = NULL;
        head.content_type_len = 0;
    }

    body = p;
    body_len = (size_t) (last - p);

    hbuf = malloc(manta_check_head_len(head.args_len));
    fuzz_assert(hbuf != NULL);
    bbuf = NULL;

    rc = manta_check_head(&conf, &head, &plan, hbuf);

    if (head.method_len != 4 || memcmp(head.method, "POST", 4) != 0) {
        fuzz_assert(rc == MANTA_METHOD_NOT_ALLOWED);
    }

    if (rc == MANTA_OK) {
        fuzz_assert(plan.cred != NULL);
        fuzz_assert(fuzz_utf8_valid(plan.bot_id, plan.bot_id_len));

        bbuf = malloc(manta_check_body_len(&conf, &plan, body_len));
        fuzz_assert(bbuf != NULL);

        rc = manta_check_body(&conf, &plan, body, body_len, 1000, bbuf);
    }

    fuzz_assert(plan.reason == rc);
    fuzz_assert(rc != MANTA_NOMEM);

    /* a caller passed only when the map allows it this bot */

    if (!head.caller_set) {
        fuzz_assert(rc != MANTA_UNKNOWN_CALLER
                    && rc != MANTA_CALLER_NOT_ALLOWED);
        fuzz_assert(plan.caller == NULL);

    } else if (rc == MANTA_OK || rc > MANTA_CALLER_NOT_ALLOWED) {
        fuzz_assert(head.caller_len > 0 && plan.caller != NULL);
        fuzz_assert(manta_caller_allowed(creds, head.caller, head.caller_len,
                                         plan.bot_id, plan.bot_id_len, NULL)
                    == MANTA_CALLER_OK);

    } else {
        fuzz_assert(plan.caller == NULL);
        fuzz_assert(rc != MANTA_UNKNOWN_CALLER || head.caller_len == 0);
    }

    if (rc == MANTA_OK) {
        forwarded(&plan, conf.body.name_max_length);

    } else {
        fuzz_assert(plan.query == NULL && plan.query_len == 0);
        fuzz_assert(plan.body == NULL && plan.body_len == 0);
        fuzz_assert(plan.authorization == NULL);
        fuzz_assert(fuzz_utf8_valid(plan.message, strlen(plan.message)));

        /* what the caller sent may come back; the server's never does */

        fuzz_assert(!fuzz_holds(plan.message, strlen(plan.message), secrets,
                                sizeof(secrets) / sizeof(secrets[0]))
                    || fuzz_holds((const char *) data, size, secrets,
                                  sizeof(secrets) / sizeof(secrets[0])));
    }

    free(hbuf);
    free(bbuf);

    return 0;
}


static const char *
next_field(const char **p, const char *last, size_t *len)
{
    const char  *start, *nl;

    start = *p;
    nl = memchr(start, '\n', (size_t) (last - start));

    if (nl == NULL) {
        *len = (size_t) (last - start);
        *p = last;
        return start;
    }

    *len = (size_t) (nl - start);
    *p = nl + 1;

    return start;
}


static void
forwarded(const manta_plan_t *plan, size_t max_length)
{
    int          plain;
    char         bot_id[MANTA_BOT_ID_MAX],
                 query[sizeof("botId=") - 1 + 3 * MANTA_BOT_ID_MAX];
    size_t       len;
    json_t      *root, *name;
    const char  *key;

    /* exactly botId=<pct>, and it decodes back */

    fuzz_assert(plan->query_len > 6 && memcmp(plan->query, "botId=", 6) == 0);
    fuzz_assert(plan->query_len
                == manta_query_len(plan->bot_id, plan->bot_id_len));
    fuzz_assert(memchr(plan->query, '&', plan->query_len) == NULL);
    fuzz_assert(manta_bot_id_parse(plan->query, plan->query_len, NULL, bot_id,
                                   &len, &plain)
                == MANTA_OK);
    fuzz_assert(len == plan->bot_id_len
                && memcmp(bot_id, plan->bot_id, len) == 0);

    /* the query manta_check_head() keeps is the one manta_query() makes */

    len = manta_query(query, plan->bot_id, plan->bot_id_len);
    fuzz_assert(len == plan->query_len
                && memcmp(query, plan->query, len) == 0);

    /* the bot's secret first, then the name, nothing else */

    fuzz_assert(plan->body_len > plan->cred->body_prefix_len);
    fuzz_assert(memcmp(plan->body, plan->cred->body_prefix,
                       plan->cred->body_prefix_len)
                == 0);

    root = json_loadb(plan->body, plan->body_len, JSON_REJECT_DUPLICATES,
                      NULL);
    fuzz_assert(json_is_object(root) && json_object_size(root) == 2);

    key = json_object_iter_key(json_object_iter(root));
    fuzz_assert(strcmp(key, "secret") == 0);

    fuzz_assert(json_string_length(json_object_get(root, "secret"))
                == plan->cred->secret_len);
    fuzz_assert(memcmp(json_string_value(json_object_get(root, "secret")),
                       plan->cred->secret, plan->cred->secret_len)
                == 0);

    name = json_object_get(root, "name");
    fuzz_assert(json_is_string(name));
    fuzz_name_invariants(json_string_value(name), json_string_length(name),
                         max_length);

    json_decref(root);

    fuzz_assert(plan->authorization == plan->cred->authorization
                && plan->authorization_len
                   == plan->cred->authorization_len);
}
