/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * "make bench-core": the pure core's per-request work in ns/op, the median
 * of several runs of many iterations each.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "manta_reason.h"
#include "manta_json.h"
#include "manta_re.h"
#include "manta_request.h"
#include "manta_creds.h"
#include "manta_error.h"
#include "manta_limit.h"
#include "manta_plan.h"
#include "manta_mask.h"
#include "manta_util.h"


#define BENCH_RUNS  7


typedef void (*bench_pt)(void);


static double bench_now(void);
static void bench(const char *name, bench_pt fn, long iterations);
static int bench_cmp(const void *one, const void *two);
static void bench_body(const char *body, size_t len);
static void bench_body_ascii(void);
static void bench_plan_ascii(void);
static void bench_body_unicode(void);
static void bench_body_precomposed(void);
static void bench_body_cjk(void);
static void bench_body_escaped(void);
static void bench_body_issue(void);
static void bench_body_nfc_changes(void);
static char *bench_marks_body(size_t size, size_t run);
static void bench_reject(const char *body, size_t len);
static void bench_marks_flood(void);
static void bench_marks_runs(void);
static void bench_bot_id(void);
static void bench_content_type(void);
static void bench_error(const char *body, size_t len);
static void bench_error_rewrite(void);
static void bench_error_passthrough(void);
static void bench_limit(void);
static void bench_search(int anchored);
static void bench_search_first(void);
static void bench_search_rarest(void);


static manta_body_opts_t  opts;
static manta_re_t        *bot_id_re;
static manta_creds_t     *creds;
static volatile size_t    sink;
static char              *marks_flood, *marks_runs;
static char               search_body[4096];
static size_t             search_len;


static const char  body_ascii[] = "{\"name\": \"  Tag   number 42  \"}";
static const char  body_unicode[] =
    "{\"name\": \"  Caf\xc3\xa9   number\xe3\x80\x80" "42  \"}";
/* é ü: NFC already, each with a canonical decomposition */
static const char  body_precomposed[] =
    "{\"name\": \"  Caf\xc3\xa9   M\xc3\xbcller 42  \"}";
static const char  body_cjk[] =
    "{\"name\": \"\xe6\x9d\xb1\xe4\xba\xac \xe3\x82\xbf\xe3\x82\xb0 42\"}";
/* the ASCII name with JSON escapes */
static const char  body_escaped[] =
    "{\"name\": \"  Tag \\\"number\\\" \\u0034\\u0032 \\/ 7  \"}";
/* issue 14's name: escapes, precomposed letters, U+3000 */
static const char  body_issue[] =
    "{\"name\":\"  Caf\\u00e9 \\u3000 cr\\u00e8me   br\\u00fbl\\u00e9e \"}";
/* e + U+0301: NFC composes it */
static const char  body_nfc_changes[] =
    "{\"name\": \"  Cafe\xcc\x81   number 42  \"}";
static const char  args[] = "botId=bot-42";
static const char  ctype[] = "application/json; charset=utf-8";
static const char  upstream_error[] =
    "{\"type\":\"about:blank\",\"title\":\"Forbidden\","
    "\"detail\":\"bot is not allowed to create tags\"}";
static const char  upstream_response[] =
    "{\"success\":false,\"errResponse\":{\"message\":\"denied\","
    "\"code\":403,\"botId\":\"bot-42\"}}";


int
main(void)
{
    char  err[256];

    static const char  creds_json[] =
        "{\"token\":\"eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjQxMDI0NDQ4MDB9.c2ln\","
        "\"secret\":\"bench-secret\"}";

    bot_id_re = manta_re_compile("^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$",
                                 sizeof("^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
                                 - 1, 0, err, sizeof(err));

    creds = manta_creds_parse(creds_json, sizeof(creds_json) - 1, err,
                              sizeof(err));

    if (bot_id_re == NULL || creds == NULL) {
        fprintf(stderr, "bench-core: set-up failed: %s\n", err);
        return 1;
    }

    opts.name_max_length = 64;
    opts.name_re = NULL;
    opts.unknown_fields = MANTA_UNKNOWN_FIELDS_REJECT;
    opts.client_secret = MANTA_CLIENT_SECRET_REJECT;

    printf("%-44s %10s\n", "operation (median of 7 runs)", "ns/op");

    bench("body check + normalize + build (ASCII)", bench_body_ascii,
          400000);
    bench("plan: body checks + forward (ASCII)", bench_plan_ascii, 400000);
    bench("body check + normalize + build (NFC, U+3000)",
          bench_body_unicode, 400000);
    bench("body check + normalize + build (precomposed)",
          bench_body_precomposed, 400000);
    bench("body check + normalize + build (CJK)", bench_body_cjk, 400000);
    bench("body check + normalize + build (escapes)", bench_body_escaped,
          400000);
    bench("body check + normalize + build (issue 14)", bench_body_issue,
          400000);
    bench("body check + normalize + build (e + U+0301)",
          bench_body_nfc_changes, 400000);

    /* worst cases: 8 KB bodies (manta_body_max_size) of combining marks */

    marks_flood = bench_marks_body(8192, 0);
    marks_runs = bench_marks_body(8192, 30);

    bench("8 KB mark flood (rejected: not Stream-Safe)", bench_marks_flood,
          2000);
    bench("8 KB runs of 30 marks (NFC, then too long)", bench_marks_runs,
          2000);

    free(marks_flood);
    free(marks_runs);

    bench("botId parse + pattern + re-encode", bench_bot_id, 2000000);
    bench("Content-Type check", bench_content_type, 5000000);
    bench("error rewrite (problem+json)", bench_error_rewrite, 400000);
    bench("error passthrough (ErrorResponse)", bench_error_passthrough,
          400000);
    bench("limit take + RateLimit fields", bench_limit, 5000000);

    /* a 4 KB JSON success body searched for the token and the secret */

    while (search_len + sizeof("{\"name\":\"Team Alpha\",\"created\":true},")
           < sizeof(search_body))
    {
        search_len += (size_t) sprintf(search_body + search_len,
                                       "{\"name\":\"Team Alpha\","
                                       "\"created\":true},");
    }

    bench("4 KB body: token and secret, by first byte", bench_search_first,
          200000);
    bench("4 KB body: token and secret, by rarest byte",
          bench_search_rarest, 200000);

    manta_creds_free(creds);
    manta_re_free(bot_id_re);

    return 0;
}


static double
bench_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec * 1e9 + ts.tv_nsec;
}


static void
bench(const char *name, bench_pt fn, long iterations)
{
    int     run;
    long    i;
    double  start, ns[BENCH_RUNS];

    for (run = 0; run < BENCH_RUNS; run++) {
        start = bench_now();

        for (i = 0; i < iterations; i++) {
            fn();
        }

        ns[run] = (bench_now() - start) / iterations;
    }

    qsort(ns, BENCH_RUNS, sizeof(double), bench_cmp);

    printf("%-44s %10.1f\n", name, ns[BENCH_RUNS / 2]);
}


static int
bench_cmp(const void *one, const void *two)
{
    double  a, b;

    a = *(const double *) one;
    b = *(const double *) two;

    return (a > b) - (a < b);
}


static void
bench_body(const char *body, size_t len)
{
    char            out[256], msg[MANTA_MESSAGE_MAX];
    size_t          name_len;
    manta_reason_t  reason;

    static char  name[3 * 8192 + 1];

    reason = manta_body_check(&opts, body, len, name, sizeof(name),
                              &name_len, msg, sizeof(msg));

    if (reason != MANTA_OK) {
        fprintf(stderr, "bench-core: body rejected\n");
        exit(1);
    }

    sink += manta_body_build(out, creds->dflt->body_prefix,
                             creds->dflt->body_prefix_len, name, name_len);
}


/* the glue's path: the body checks and the forwarded query and body */

static void
bench_plan_ascii(void)
{
    char               buf[1024], bot_id[] = "bot-42";
    manta_plan_t       plan;
    manta_plan_conf_t  conf;

    conf.creds = creds;
    conf.bot_id_re = NULL;
    conf.body_max_size = 8192;
    conf.body = opts;
    conf.token_expiry_check = 1;

    plan.bot_id = bot_id;
    plan.bot_id_len = sizeof(bot_id) - 1;
    plan.cred = creds->dflt;

    if (manta_check_body_len(&conf, &plan, sizeof(body_ascii) - 1)
        > sizeof(buf)
        || manta_check_body(&conf, &plan, body_ascii, sizeof(body_ascii) - 1,
                            time(NULL), buf)
           != MANTA_OK)
    {
        fprintf(stderr, "bench-core: plan rejected\n");
        exit(1);
    }

    sink += plan.body_len + plan.query_len;
}


static void
bench_body_ascii(void)
{
    bench_body(body_ascii, sizeof(body_ascii) - 1);
}


static void
bench_body_unicode(void)
{
    bench_body(body_unicode, sizeof(body_unicode) - 1);
}


static void
bench_body_precomposed(void)
{
    bench_body(body_precomposed, sizeof(body_precomposed) - 1);
}


static void
bench_body_cjk(void)
{
    bench_body(body_cjk, sizeof(body_cjk) - 1);
}


static void
bench_body_escaped(void)
{
    bench_body(body_escaped, sizeof(body_escaped) - 1);
}


static void
bench_body_issue(void)
{
    bench_body(body_issue, sizeof(body_issue) - 1);
}


static void
bench_body_nfc_changes(void)
{
    bench_body(body_nfc_changes, sizeof(body_nfc_changes) - 1);
}


/*
 * {"name":"a<marks>"} of exactly size bytes: combining marks of falling
 * combining classes, the worst order for canonical reordering, in runs of
 * run marks each followed by the starter "a" (run 0: one run)
 */

static char *
bench_marks_body(size_t size, size_t run)
{
    char    *body, *p, *last;
    size_t   i, n;

    static const char  *marks[] = {
        "\xcd\x85", "\xcd\x9d", "\xcd\x9c", "\xcc\x95", "\xcc\x81",
        "\xcc\x96", "\xcc\x9b", "\xcc\xa7", "\xcc\xb4"
    };

    body = malloc(size + 1);
    if (body == NULL) {
        fprintf(stderr, "bench-core: no memory\n");
        exit(1);
    }

    p = body;
    last = body + size - 2;

    memcpy(p, "{\"name\":\"a", sizeof("{\"name\":\"a") - 1);
    p += sizeof("{\"name\":\"a") - 1;

    for (i = 0, n = 0; p + 2 <= last; i++) {

        if (run && n == run) {
            *p++ = 'a';
            n = 0;
            continue;
        }

        memcpy(p, marks[i % 9], 2);
        p += 2;
        n++;
    }

    while (p < last) {
        *p++ = 'a';
    }

    memcpy(p, "\"}", 3);

    return body;
}


static void
bench_reject(const char *body, size_t len)
{
    char            msg[MANTA_MESSAGE_MAX];
    size_t          name_len;
    manta_reason_t  reason;

    static char  name[3 * 8192 + 1];

    reason = manta_body_check(&opts, body, len, name, sizeof(name),
                              &name_len, msg, sizeof(msg));

    if (reason != MANTA_INVALID_NAME) {
        fprintf(stderr, "bench-core: mark body not rejected\n");
        exit(1);
    }

    sink += strlen(msg);
}


static void
bench_marks_flood(void)
{
    bench_reject(marks_flood, 8192);
}


static void
bench_marks_runs(void)
{
    bench_reject(marks_runs, 8192);
}


static void
bench_bot_id(void)
{
    int     plain;
    char    out[MANTA_BOT_ID_MAX], enc[3 * MANTA_BOT_ID_MAX];
    size_t  len;

    if (manta_bot_id_parse(args, sizeof(args) - 1, bot_id_re, out, &len,
                           &plain)
        != MANTA_OK)
    {
        fprintf(stderr, "bench-core: botId rejected\n");
        exit(1);
    }

    sink += manta_pct_encode(enc, out, len) - enc;
}


static void
bench_content_type(void)
{
    sink += manta_content_type_ok(ctype, sizeof(ctype) - 1);
}


static void
bench_error(const char *body, size_t len)
{
    char          out[4096];
    size_t        out_len;
    manta_str_t   redact[2];

    redact[0].data = creds->dflt->token;
    redact[0].len = creds->dflt->token_len;
    redact[1].data = creds->dflt->secret;
    redact[1].len = creds->dflt->secret_len;

    out_len = sizeof(out);

    if (manta_error_rewrite(body, len, 403, "bot-42", 6, redact, 2, out,
                            &out_len)
        == MANTA_ERROR_REWRITTEN)
    {
        sink += out_len;
    }
}


static void
bench_error_rewrite(void)
{
    bench_error(upstream_error, sizeof(upstream_error) - 1);
}


static void
bench_error_passthrough(void)
{
    bench_error(upstream_response, sizeof(upstream_response) - 1);
}


static void
bench_limit(void)
{
    unsigned         q, w, r, t;
    uint64_t         delay;
    manta_limit_t    limit;

    static manta_bucket_t  bucket;
    static uint64_t        now = 1;

    limit.rate = 100000000;
    limit.burst = 1000;
    limit.delay = 1000;

    now++;

    sink += manta_limit_take(&bucket, &limit, now, &delay);

    manta_limit_fields(&bucket, &limit, now, &q, &w, &r, &t);

    sink += r;
}


static void
bench_search(int anchored)
{
    size_t       n, anchor[MANTA_MASK_PATTERNS];
    manta_str_t  pat[MANTA_MASK_PATTERNS];

    n = manta_mask_patterns(manta_creds_lookup(creds, NULL, 0), pat, anchor);

    sink += manta_mask_holds((const unsigned char *) search_body, search_len,
                             pat, anchored ? anchor : NULL, n);
}


static void
bench_search_first(void)
{
    bench_search(0);
}


static void
bench_search_rarest(void)
{
    bench_search(1);
}
