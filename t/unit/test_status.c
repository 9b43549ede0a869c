/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * manta_status.c: outcomes and classes, histogram buckets and quantiles,
 * label escaping, and the Prometheus and JSON writers (exact documents,
 * the callers' series and object, and the length returned when the buffer
 * is too small).
 */


#include <string.h>

#include "manta_status.h"
#include "tap.h"
#include "tests.h"


static const struct {
    const char  *in;
    const char  *out;
} escapes[] = {
    { "bot-1", "bot-1" },
    { "", "" },
    { "a\"b", "a\\\"b" },
    { "a\\b", "a\\\\b" },
    { "a\nb", "a\\nb" },
    { "\\\"\n", "\\\\\\\"\\n" },
    { "tab\there\r", "tab\there\r" },
    { "h\xc3\xa9", "h\xc3\xa9" }
};


static const struct {
    unsigned  ms;
    unsigned  bucket;
} buckets[] = {
    { 0, 0 }, { 5, 0 }, { 6, 1 }, { 10, 1 }, { 11, 2 }, { 100, 4 },
    { 1000, 7 }, { 1001, 8 }, { 10000, 10 }, { 10001, 11 },
    { 4000000000u, 11 }
};


/* needles each document must hold, and what each proves */

typedef struct {
    const char  *needle;
    const char  *test;
} holds_t;

#define NCASES(a)  (sizeof(a) / sizeof(a[0]))


static const holds_t  prometheus_one[] = {
    { "# TYPE manta_requests_total counter\n"
      "manta_requests_total{bot=\"b\\\"1\",outcome=\"forwarded\"}"
      " 3\n",
      "prometheus: TYPE, escaped bot label, forwarded count" },
    { "{bot=\"b\\\"1\",outcome=\"rate_limited\"} 2\n",
      "prometheus: rate_limited count" },
    { "{bot=\"b\\\"1\",outcome=\"method_not_allowed\"} 0\n",
      "prometheus: zero outcomes present" },
    { "manta_upstream_response_seconds_bucket{bot=\"b\\\"1\","
      "le=\"0.005\"} 2\n",
      "prometheus: first bucket" },
    { "le=\"0.1\"} 3\n",
      "prometheus: buckets cumulative" },
    { "le=\"+Inf\"} 3\n",
      "prometheus: +Inf bucket" },
    { "manta_upstream_response_seconds_sum{bot=\"b\\\"1\"} "
      "1.234\n",
      "prometheus: sum in seconds" },
    { "manta_upstream_response_seconds_count{bot=\"b\\\"1\"} "
      "3\n",
      "prometheus: count" },
    { "manta_limit_remaining{bot=\"b\\\"1\"} 7\n",
      "prometheus: remaining" },
    { "manta_limit_backoff_seconds{bot=\"b\\\"1\"} 10\n",
      "prometheus: backoff left" },
    { "manta_limit_decisions_total{source=\"local\"} 5\n",
      "prometheus: decisions" },
    { "manta_token_expiry_timestamp_seconds{token_id="
      "\"0123456789ab\"} 2000\n",
      "prometheus: token expiry" },
    { "manta_zone_bytes{zone=\"manta_status\",state=\"used\"} "
      "8192\n",
      "prometheus: zone used" },
};


static const holds_t  json_one[] = {
    { "{\"bot\":\"b\\u00221\",\"requests\":{\"forwarded\":3,",
      "json: bot escaped, forwarded" },
    { "\"upstream_seconds\":{\"count\":3,\"sum\":1.234,"
      "\"p50\":0.004,\"p99\":0.098},",
      "json: count, sum, p50, p99 in seconds" },
    { "\"limit\":{\"remaining\":7,\"backoff_seconds\":10}",
      "json: limit" },
    { "\"tokens\":[{\"token_id\":\"0123456789ab\","
      "\"expiry\":2000,\"expires_in\":1000}]",
      "json: tokens" },
    { "\"zones\":[{\"zone\":\"manta_status\",\"kind\":\"status\","
      "\"used\":8192,\"total\":1048576}]",
      "json: zones" },
};


static const holds_t  prometheus_callers[] = {
    { "manta_caller_requests_total{caller=\"svc-a\","
      "outcome=\"rate_limited\"} 1\n",
      "callers prometheus: svc-a rate_limited 1" },
    { "manta_caller_requests_total{caller=\"svc-a\","
      "outcome=\"error\"} 0\n",
      "callers prometheus: zero outcomes present" },
    { "manta_caller_requests_total{caller=\"__unknown__\","
      "outcome=\"unknown_caller\"} 2\n",
      "callers prometheus: __unknown__ unknown_caller 2" },
    { "manta_caller_requests_total{caller=\"__unknown__\","
      "outcome=\"caller_not_allowed\"} 3\n",
      "callers prometheus: __unknown__ caller_not_allowed 3" },
};


static void test_status_callers(void);
static void holds_all(const char *buf, const holds_t *cases, size_t n);
static size_t render(const manta_status_t *st, int json, char *buf,
    size_t size, const char *what);



/* an HTTP status and its class; a source and its name */

static const struct {
    unsigned     status;
    const char  *name;
} classes[] = {
    { 204, "2xx" }, { 599, "5xx" }, { 0, "none" }, { 600, "none" }
};

static const struct {
    unsigned     source;
    const char  *name;
} sources[] = {
    { MANTA_STATUS_SOURCE_LOCAL, "local" },
    { MANTA_STATUS_SOURCE_REDIS, "redis" },
    { MANTA_STATUS_SOURCE_FALLBACK, "fallback" },
    { MANTA_STATUS_SOURCE_CACHED, "cached" }
};

void
test_status(void)
{
    char                  buf[4096], small[16];
    size_t                i, n, len;
    manta_status_t        st;
    manta_status_bot_t    bot;
    manta_status_zone_t   zone;
    manta_status_token_t  token;
    uint64_t              h[MANTA_STATUS_BUCKETS];

    is_str(manta_status_outcome(0), "forwarded", "outcome 0: forwarded");
    is_str(manta_status_outcome(MANTA_RATE_LIMITED), "rate_limited",
           "outcome of rate_limited: its code");
    is_str(manta_status_outcome(MANTA_SUBREQUEST), "subrequest",
           "outcome of subrequest: its code");
    is_str(manta_status_outcome(MANTA_STATUS_ERROR), "error",
           "last outcome: error");
    is_int(manta_status_outcome_of(MANTA_OK, 1), 0, "forwarded: outcome 0");
    is_int(manta_status_outcome_of(MANTA_OK, 0), MANTA_STATUS_ERROR,
           "not forwarded without a reason: error");
    is_int(manta_status_outcome_of(MANTA_NOMEM, 0), MANTA_STATUS_ERROR,
           "no memory: error");
    is_int(manta_status_outcome_of(MANTA_BAD_BOT_ID, 0), MANTA_BAD_BOT_ID,
           "a reason: itself");

    for (i = 1; i < MANTA_STATUS_OUTCOMES; i++) {
        ok(manta_status_outcome(i)[0] != '\0', "outcome %zu has a name", i);
    }

    for (i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
        is_str(manta_status_class_name(manta_status_class(classes[i].status)),
               classes[i].name, "%u: %s", classes[i].status, classes[i].name);
    }

    for (i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
        is_str(manta_status_source(sources[i].source), sources[i].name,
               "source %s", sources[i].name);
    }

    for (i = 0; i < sizeof(buckets) / sizeof(buckets[0]); i++) {
        is_int(manta_status_bucket(buckets[i].ms), buckets[i].bucket,
               "%u ms: bucket %u", buckets[i].ms, buckets[i].bucket);
    }

    memset(h, 0, sizeof(h));
    ok(manta_status_quantile(h, 0.5) < 0, "empty histogram: no quantile");

    h[1] = 10;                               /* 5..10 ms */
    is_int((long long) (manta_status_quantile(h, 0.5) * 1000), 7500,
           "10 in 5..10 ms: p50 7.5 ms");
    h[11] = 10;                              /* > 10 s */
    is_int((long long) manta_status_quantile(h, 0.99), 10000,
           "p99 in +Inf: the highest bound");
    is_int((long long) manta_status_quantile(h, 0.25), 7,
           "p25: within the first non-empty bucket");

    for (i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++) {
        n = manta_status_escape(buf, sizeof(buf), escapes[i].in,
                                strlen(escapes[i].in));
        is_mem(buf, n, escapes[i].out, "escape %zu", i);
    }

    n = manta_status_escape(small, 3, "\"\"\"", 3);
    is_int(n, 6, "escape: the whole length returned when it does not fit");

    /* one bot, one token, one zone: the exact documents */

    memset(&bot, 0, sizeof(bot));
    bot.bot = "b\"1";
    bot.bot_len = 3;
    bot.requests[0] = 3;
    bot.requests[MANTA_RATE_LIMITED] = 2;
    bot.classes[1] = 3;
    bot.buckets[0] = 2;
    bot.buckets[4] = 1;
    bot.sum_ms = 1234;
    bot.remaining = 7;
    bot.backoff_until = 1010;

    token.token_id = "0123456789ab";
    token.expiry = 2000;

    zone.name = "manta_status";
    zone.name_len = 12;
    zone.kind = "status";
    zone.used = 8192;
    zone.total = 1048576;
    zone.evictions = 0;
    zone.has_evictions = 0;

    memset(&st, 0, sizeof(st));
    st.now = 1000;
    st.bots = &bot;
    st.nbots = 1;
    st.decisions[0] = 5;
    st.tokens = &token;
    st.ntokens = 1;
    st.zones = &zone;
    st.nzones = 1;

    len = render(&st, 0, buf, sizeof(buf), "prometheus");

    holds_all(buf, prometheus_one, NCASES(prometheus_one));
    ok(strstr(buf, "manta_zone_evictions_total{") == NULL,
       "prometheus: no evictions series for a status zone");


    len = render(&st, 1, buf, sizeof(buf), "json");

    holds_all(buf, json_one, NCASES(json_one));


    bot.remaining = -1;
    bot.backoff_until = 0;
    len = manta_status_prometheus(&st, buf, sizeof(buf));
    buf[len < sizeof(buf) ? len : 0] = '\0';
    ok(strstr(buf, "manta_limit_remaining{") == NULL,
       "prometheus: a bot never limited has no limit series");

    /* no caller counted: the family alone, an empty object */

    ok(strstr(buf, "# TYPE manta_caller_requests_total counter\n") != NULL
       && strstr(buf, "manta_caller_requests_total{") == NULL,
       "prometheus: no caller counted, the family without series");

    len = manta_status_json(&st, buf, sizeof(buf));
    buf[len < sizeof(buf) ? len : 0] = '\0';
    ok(len >= 15 && strcmp(buf + len - 15, "\n\"callers\":{}}\n") == 0,
       "json: no caller counted, callers {}");

    test_status_callers();

    ok(manta_status_page_len > 1000
       && strncmp(manta_status_page, "<!DOCTYPE html>", 15) == 0,
       "the page is an HTML document");
}


/* two callers: the exact Prometheus series and JSON object */

#define SVC_A_FORWARDED                                                       \
    "manta_caller_requests_total{caller=\"svc-a\",outcome=\"forwarded\"} 4\n"

#define CALLERS_JSON                                                          \
    "],\n\"callers\":{\n"                                                     \
    "\"svc-a\":{\"forwarded\":4,\"method_not_allowed\":0,"                     \
    "\"unsupported_media_type\":0,\"bad_bot_id\":0,\"unknown_bot\":0,"         \
    "\"unknown_caller\":0,\"caller_not_allowed\":0,\"body_too_large\":0,"      \
    "\"invalid_json\":0,\"invalid_name\":0,\"client_secret\":0,"               \
    "\"unknown_field\":0,\"token_expired\":0,\"rate_limited\":1,"              \
    "\"subrequest\":0,\"error\":0},\n"                                         \
    "\"__unknown__\":{\"forwarded\":0,\"method_not_allowed\":0,"               \
    "\"unsupported_media_type\":0,\"bad_bot_id\":0,\"unknown_bot\":0,"         \
    "\"unknown_caller\":2,\"caller_not_allowed\":3,\"body_too_large\":0,"      \
    "\"invalid_json\":0,\"invalid_name\":0,\"client_secret\":0,"               \
    "\"unknown_field\":0,\"token_expired\":0,\"rate_limited\":0,"              \
    "\"subrequest\":0,\"error\":0}}}\n"

static void
test_status_callers(void)
{
    char                   buf[8192], *p;
    size_t                 len, n, k;
    manta_status_t         st;
    manta_status_caller_t  callers[2];

    memset(callers, 0, sizeof(callers));
    callers[0].caller = "svc-a";
    callers[0].caller_len = 5;
    callers[0].requests[0] = 4;
    callers[0].requests[MANTA_RATE_LIMITED] = 1;
    callers[1].caller = MANTA_STATUS_NOCALLER;
    callers[1].caller_len = sizeof(MANTA_STATUS_NOCALLER) - 1;
    callers[1].requests[MANTA_UNKNOWN_CALLER] = 2;
    callers[1].requests[MANTA_CALLER_NOT_ALLOWED] = 3;

    memset(&st, 0, sizeof(st));
    st.now = 1000;
    st.callers = callers;
    st.ncallers = 2;

    len = render(&st, 0, buf, sizeof(buf), "callers prometheus");

    p = strstr(buf, "# HELP manta_caller_requests_total ");
    ok(p != NULL, "callers prometheus: HELP");
    p = p ? strstr(p, "# TYPE manta_caller_requests_total counter\n") : NULL;
    ok(p != NULL, "callers prometheus: TYPE counter");

    p = p ? strchr(p, '\n') + 1 : buf;

    ok(strncmp(p, SVC_A_FORWARDED, sizeof(SVC_A_FORWARDED) - 1) == 0,
       "callers prometheus: the first series, svc-a forwarded 4");
    holds_all(buf, prometheus_callers, NCASES(prometheus_callers));

    for (n = 0, p = buf; (p = strstr(p, "manta_caller_requests_total{"));
         p++)
    {
        n++;
    }

    is_int(n, 2 * MANTA_STATUS_OUTCOMES,
           "callers prometheus: every outcome of each caller, no more");


    len = render(&st, 1, buf, sizeof(buf), "callers json");

    n = sizeof(CALLERS_JSON) - 1;
    ok(len > n && strcmp(buf + len - n, CALLERS_JSON) == 0,
       "callers json: the exact object, in creation order, closing the "
       "document");

    for (k = 0, n = 0; k < len; k++) {
        n += (buf[k] == '{') - (buf[k] == '}');
    }

    is_int(n, 0, "callers json: braces balanced");

}


static void
holds_all(const char *buf, const holds_t *cases, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        ok(strstr(buf, cases[i].needle) != NULL, "%s", cases[i].test);
    }
}


/*
 * The document into buf, NUL-terminated: it fits, and a buffer too small
 * for it is told the whole length.
 */

static size_t
render(const manta_status_t *st, int json, char *buf, size_t size,
    const char *what)
{
    char    small[16];
    size_t  len, n;

    len = json ? manta_status_json(st, buf, size)
               : manta_status_prometheus(st, buf, size);
    ok(len < size, "%s: fits", what);
    buf[len < size ? len : 0] = '\0';

    n = json ? manta_status_json(st, small, sizeof(small))
             : manta_status_prometheus(st, small, sizeof(small));
    is_int(n, len, "%s: whole length returned to a small buffer", what);

    return len;
}
