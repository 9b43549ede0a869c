/*
 * Copyright (C) ngx_http_manta_module authors
 * Pure C core: no nginx types or headers.
 *
 * The counters' snapshot written as Prometheus text format 0.0.4 and as
 * JSON; histogram buckets and quantiles; label escaping.
 */


#include <stdio.h>
#include <string.h>

#include "manta_status.h"


typedef struct {
    char    *p;          /* NULL once the buffer is full: nothing more */
    char    *end;
    size_t   len;        /* the whole document's */
} manta_out_t;


static void manta_out_mem(manta_out_t *o, const char *s, size_t n);
static void manta_out_str(manta_out_t *o, const char *s);
static void manta_out_u64(manta_out_t *o, uint64_t v);
static void manta_out_i64(manta_out_t *o, long long v);
static void manta_out_u64_line(manta_out_t *o, uint64_t v);
static void manta_out_i64_line(manta_out_t *o, long long v);
static void manta_out_ms(manta_out_t *o, uint64_t ms);
static void manta_out_label(manta_out_t *o, const char *s, size_t len);
static void manta_out_json_str(manta_out_t *o, const char *s, size_t len);
static void manta_out_family(manta_out_t *o, const char *name,
    const char *type, const char *help);
static void manta_out_bot_series(manta_out_t *o, const char *name,
    const manta_status_bot_t *b, const char *label, const char *value);
static void manta_out_quantile(manta_out_t *o, const manta_status_bot_t *b,
    double q);
static void manta_out_series(manta_out_t *o, const char *open,
    const char *value, size_t len);
static void manta_out_json_count(manta_out_t *o, size_t k, const char *name,
    uint64_t count);
static void manta_prom_requests(manta_out_t *o, const manta_status_t *st);
static void manta_prom_histogram(manta_out_t *o, const manta_status_t *st);
static void manta_prom_limit(manta_out_t *o, const manta_status_t *st);
static void manta_prom_tokens(manta_out_t *o, const manta_status_t *st);
static void manta_prom_zones(manta_out_t *o, const manta_status_t *st);
static void manta_prom_callers(manta_out_t *o, const manta_status_t *st);
static void manta_json_bot(manta_out_t *o, const manta_status_t *st,
    const manta_status_bot_t *b);
static void manta_json_zone(manta_out_t *o, const manta_status_zone_t *z);


static const char  manta_status_hex[] = "0123456789abcdef";


static const char  *manta_status_classes[MANTA_STATUS_CLASSES] = {
    "1xx", "2xx", "3xx", "4xx", "5xx", "none"
};


/* the one list of limit decision sources (MANTA_STATUS_SOURCE_*) */

static const char  *manta_status_sources[MANTA_STATUS_SOURCES] = {
    "local", "redis", "fallback", "cached"
};


static const uint64_t  manta_status_bounds[MANTA_STATUS_BUCKETS - 1] = {
    5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000
};


static const char  *manta_status_le[MANTA_STATUS_BUCKETS] = {
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5",
    "10", "+Inf"
};


const char *
manta_status_outcome(unsigned outcome)
{
    if (outcome == 0) {
        return "forwarded";
    }

    if (outcome >= MANTA_STATUS_ERROR) {
        return "error";
    }

    return manta_reason_code((manta_reason_t) outcome);
}


unsigned
manta_status_outcome_of(manta_reason_t reason, int forwarded)
{
    if (reason != MANTA_OK && reason < MANTA_NOMEM) {
        return (unsigned) reason;
    }

    return (reason == MANTA_OK && forwarded) ? 0 : MANTA_STATUS_ERROR;
}


const char *
manta_status_class_name(unsigned cls)
{
    return manta_status_classes[cls < MANTA_STATUS_CLASSES
                                ? cls : MANTA_STATUS_NONE];
}


unsigned
manta_status_class(unsigned status)
{
    if (status < 100 || status > 599) {
        return MANTA_STATUS_NONE;
    }

    return status / 100 - 1;
}


const char *
manta_status_source(unsigned source)
{
    return manta_status_sources[source < MANTA_STATUS_SOURCES ? source : 0];
}


unsigned
manta_status_bucket(uint64_t ms)
{
    unsigned  i;

    for (i = 0; i < MANTA_STATUS_BUCKETS - 1; i++) {
        if (ms <= manta_status_bounds[i]) {
            return i;
        }
    }

    return MANTA_STATUS_BUCKETS - 1;
}


uint64_t
manta_status_bound_ms(unsigned i)
{
    return i < MANTA_STATUS_BUCKETS - 1 ? manta_status_bounds[i] : 0;
}


double
manta_status_quantile(const uint64_t *buckets, double q)
{
    double    rank, lower, upper;
    uint64_t  count, cum;
    unsigned  i;

    count = 0;

    for (i = 0; i < MANTA_STATUS_BUCKETS; i++) {
        count += buckets[i];
    }

    if (count == 0) {
        return -1;
    }

    rank = q * (double) count;
    cum = 0;

    for (i = 0; i < MANTA_STATUS_BUCKETS; i++) {

        if (buckets[i] && (double) (cum + buckets[i]) >= rank) {
            break;
        }

        cum += buckets[i];
    }

    if (i >= MANTA_STATUS_BUCKETS - 1) {
        return (double) manta_status_bounds[MANTA_STATUS_BUCKETS - 2];
    }

    lower = i ? (double) manta_status_bounds[i - 1] : 0;
    upper = (double) manta_status_bounds[i];

    return lower + (upper - lower) * (rank - (double) cum)
                   / (double) buckets[i];
}


size_t
manta_status_escape(char *dst, size_t dst_size, const char *src, size_t len)
{
    char    c, esc;
    size_t  i, n;

    n = 0;

    for (i = 0; i < len; i++) {
        c = src[i];

        switch (c) {
        case '\\':
            esc = '\\';
            break;
        case '"':
            esc = '"';
            break;
        case '\n':
            esc = 'n';
            break;
        default:
            esc = 0;
        }

        if (esc) {
            if (n + 2 <= dst_size) {
                dst[n] = '\\';
                dst[n + 1] = esc;
            }

            n += 2;
            continue;
        }

        if (n < dst_size) {
            dst[n] = c;
        }

        n++;
    }

    return n;
}


size_t
manta_status_prometheus(const manta_status_t *st, char *buf, size_t size)
{
    manta_out_t  o;

    o.p = buf;
    o.end = buf + size;
    o.len = 0;

    manta_prom_requests(&o, st);
    manta_prom_histogram(&o, st);
    manta_prom_limit(&o, st);
    manta_prom_tokens(&o, st);
    manta_prom_zones(&o, st);
    manta_prom_callers(&o, st);

    return o.len;
}


/* manta_requests_total and manta_upstream_responses_total */

static void
manta_prom_requests(manta_out_t *o, const manta_status_t *st)
{
    size_t  i, k;

    manta_out_family(o, "manta_requests_total", "counter",
                     "Requests to the gateway by botId and outcome: "
                     "forwarded, or the reason code of the rejection.");

    for (i = 0; i < st->nbots; i++) {
        for (k = 0; k < MANTA_STATUS_OUTCOMES; k++) {
            manta_out_bot_series(o, "manta_requests_total", &st->bots[i],
                                 "outcome", manta_status_outcome(k));
            manta_out_u64_line(o, st->bots[i].requests[k]);
        }
    }

    manta_out_family(o, "manta_upstream_responses_total", "counter",
                     "Upstream responses by botId and status class; none: "
                     "the request got no upstream response.");

    for (i = 0; i < st->nbots; i++) {
        for (k = 0; k < MANTA_STATUS_CLASSES; k++) {
            manta_out_bot_series(o, "manta_upstream_responses_total",
                                 &st->bots[i], "class",
                                 manta_status_classes[k]);
            manta_out_u64_line(o, st->bots[i].classes[k]);
        }
    }
}


static void
manta_prom_histogram(manta_out_t *o, const manta_status_t *st)
{
    size_t                     i, k;
    uint64_t                   cum;
    const manta_status_bot_t  *b;

    manta_out_family(o, "manta_upstream_response_seconds", "histogram",
                     "Time upstream took to answer forwarded requests, by "
                     "botId.");

    for (i = 0; i < st->nbots; i++) {
        b = &st->bots[i];
        cum = 0;

        for (k = 0; k < MANTA_STATUS_BUCKETS; k++) {
            cum += b->buckets[k];
            manta_out_bot_series(o, "manta_upstream_response_seconds_bucket",
                                 b, "le", manta_status_le[k]);
            manta_out_u64_line(o, cum);
        }

        manta_out_bot_series(o, "manta_upstream_response_seconds_sum", b,
                             NULL, NULL);
        manta_out_ms(o, b->sum_ms);
        manta_out_mem(o, "\n", 1);

        manta_out_bot_series(o, "manta_upstream_response_seconds_count", b,
                             NULL, NULL);
        manta_out_u64_line(o, cum);
    }
}


/* the remaining requests, the backoff and the decisions by source */

static void
manta_prom_limit(manta_out_t *o, const manta_status_t *st)
{
    size_t                     i, k;
    long long                  left;
    const manta_status_bot_t  *b;

    manta_out_family(o, "manta_limit_remaining", "gauge",
                     "Requests a botId had left in its bucket after its "
                     "last request.");

    for (i = 0; i < st->nbots; i++) {
        if (st->bots[i].remaining >= 0) {
            manta_out_bot_series(o, "manta_limit_remaining", &st->bots[i],
                                 NULL, NULL);
            manta_out_i64_line(o, st->bots[i].remaining);
        }
    }

    manta_out_family(o, "manta_limit_backoff_seconds", "gauge",
                     "Seconds a botId still backs off after an upstream "
                     "429.");

    for (i = 0; i < st->nbots; i++) {
        b = &st->bots[i];

        if (b->remaining >= 0 || b->backoff_until) {
            left = b->backoff_until - st->now;
            manta_out_bot_series(o, "manta_limit_backoff_seconds", b, NULL,
                                 NULL);
            manta_out_i64_line(o, left > 0 ? left : 0);
        }
    }

    manta_out_family(o, "manta_limit_decisions_total", "counter",
                     "Rate limit decisions by where they were taken.");

    for (k = 0; k < MANTA_STATUS_SOURCES; k++) {
        manta_out_series(o, "manta_limit_decisions_total{source=\"",
                         manta_status_sources[k],
                         strlen(manta_status_sources[k]));
        manta_out_u64_line(o, st->decisions[k]);
    }
}


static void
manta_prom_tokens(manta_out_t *o, const manta_status_t *st)
{
    size_t  k;

    manta_out_family(o, "manta_token_expiry_timestamp_seconds", "gauge",
                     "When a Manta token expires (its JWT exp), by token "
                     "id.");

    for (k = 0; k < st->ntokens; k++) {
        manta_out_series(o, "manta_token_expiry_timestamp_seconds{token_id=\"",
                         st->tokens[k].token_id,
                         strlen(st->tokens[k].token_id));
        manta_out_i64_line(o, st->tokens[k].expiry);
    }
}


static void
manta_prom_zones(manta_out_t *o, const manta_status_t *st)
{
    size_t  i, k;

    manta_out_family(o, "manta_zone_bytes", "gauge",
                     "Shared memory zones of the module: bytes used and "
                     "total.");

    for (k = 0; k < st->nzones; k++) {
        for (i = 0; i < 2; i++) {
            manta_out_str(o, "manta_zone_bytes{zone=\"");
            manta_out_label(o, st->zones[k].name, st->zones[k].name_len);
            manta_out_str(o, i ? "\",state=\"total\"} "
                               : "\",state=\"used\"} ");
            manta_out_u64_line(o, i ? st->zones[k].total : st->zones[k].used);
        }
    }

    manta_out_family(o, "manta_zone_evictions_total", "counter",
                     "Idle buckets a limit zone freed to make room for "
                     "new ones.");

    for (k = 0; k < st->nzones; k++) {
        if (st->zones[k].has_evictions) {
            manta_out_series(o, "manta_zone_evictions_total{zone=\"",
                             st->zones[k].name, st->zones[k].name_len);
            manta_out_u64_line(o, st->zones[k].evictions);
        }
    }
}


static void
manta_prom_callers(manta_out_t *o, const manta_status_t *st)
{
    size_t  i, k;

    manta_out_family(o, "manta_caller_requests_total", "counter",
                     "Requests of locations with manta_caller by accepted "
                     "caller id (__unknown__: not accepted) and outcome.");

    for (i = 0; i < st->ncallers; i++) {
        for (k = 0; k < MANTA_STATUS_OUTCOMES; k++) {
            manta_out_str(o, "manta_caller_requests_total{caller=\"");
            manta_out_label(o, st->callers[i].caller,
                            st->callers[i].caller_len);
            manta_out_str(o, "\",outcome=\"");
            manta_out_str(o, manta_status_outcome(k));
            manta_out_str(o, "\"} ");
            manta_out_u64_line(o, st->callers[i].requests[k]);
        }
    }
}


size_t
manta_status_json(const manta_status_t *st, char *buf, size_t size)
{
    size_t       i, k;
    manta_out_t  o;

    o.p = buf;
    o.end = buf + size;
    o.len = 0;

    manta_out_str(&o, "{\"time\":");
    manta_out_i64(&o, st->now);

    manta_out_str(&o, ",\"bots\":[");

    for (i = 0; i < st->nbots; i++) {
        manta_out_str(&o, i ? ",\n" : "\n");
        manta_json_bot(&o, st, &st->bots[i]);
    }

    manta_out_str(&o, "],\n\"limit_decisions\":{");

    for (k = 0; k < MANTA_STATUS_SOURCES; k++) {
        manta_out_json_count(&o, k, manta_status_sources[k],
                             st->decisions[k]);
    }

    manta_out_str(&o, "},\n\"tokens\":[");

    for (k = 0; k < st->ntokens; k++) {
        manta_out_str(&o, k ? ",{\"token_id\":" : "{\"token_id\":");
        manta_out_json_str(&o, st->tokens[k].token_id,
                           strlen(st->tokens[k].token_id));
        manta_out_str(&o, ",\"expiry\":");
        manta_out_i64(&o, st->tokens[k].expiry);
        manta_out_str(&o, ",\"expires_in\":");
        manta_out_i64(&o, st->tokens[k].expiry - st->now);
        manta_out_str(&o, "}");
    }

    manta_out_str(&o, "],\n\"zones\":[");

    for (k = 0; k < st->nzones; k++) {
        manta_out_str(&o, k ? "," : "");
        manta_json_zone(&o, &st->zones[k]);
    }

    manta_out_str(&o, "],\n\"callers\":{");

    for (i = 0; i < st->ncallers; i++) {
        manta_out_str(&o, i ? ",\n" : "\n");
        manta_out_json_str(&o, st->callers[i].caller,
                           st->callers[i].caller_len);
        manta_out_str(&o, ":{");

        for (k = 0; k < MANTA_STATUS_OUTCOMES; k++) {
            manta_out_json_count(&o, k, manta_status_outcome(k),
                                 st->callers[i].requests[k]);
        }

        manta_out_str(&o, "}");
    }

    manta_out_str(&o, "}}\n");

    return o.len;
}


/* one element of "bots": {"bot":...,"requests":{...},...,"limit":{...}} */

static void
manta_json_bot(manta_out_t *o, const manta_status_t *st,
    const manta_status_bot_t *b)
{
    size_t     k;
    uint64_t   count;
    long long  left;

    manta_out_str(o, "{\"bot\":");
    manta_out_json_str(o, b->bot, b->bot_len);

    manta_out_str(o, ",\"requests\":{");

    for (k = 0; k < MANTA_STATUS_OUTCOMES; k++) {
        manta_out_json_count(o, k, manta_status_outcome(k), b->requests[k]);
    }

    manta_out_str(o, "},\"upstream\":{");

    for (k = 0; k < MANTA_STATUS_CLASSES; k++) {
        manta_out_json_count(o, k, manta_status_classes[k], b->classes[k]);
    }

    count = 0;

    for (k = 0; k < MANTA_STATUS_BUCKETS; k++) {
        count += b->buckets[k];
    }

    manta_out_str(o, "},\"upstream_seconds\":{\"count\":");
    manta_out_u64(o, count);
    manta_out_str(o, ",\"sum\":");
    manta_out_ms(o, b->sum_ms);
    manta_out_str(o, ",\"p50\":");
    manta_out_quantile(o, b, 0.5);
    manta_out_str(o, ",\"p99\":");
    manta_out_quantile(o, b, 0.99);

    manta_out_str(o, "},\"limit\":{\"remaining\":");

    if (b->remaining >= 0) {
        manta_out_i64(o, b->remaining);

    } else {
        manta_out_str(o, "null");
    }

    left = b->backoff_until - st->now;

    manta_out_str(o, ",\"backoff_seconds\":");
    manta_out_i64(o, left > 0 ? left : 0);
    manta_out_str(o, "}}");
}


static void
manta_json_zone(manta_out_t *o, const manta_status_zone_t *z)
{
    manta_out_str(o, "{\"zone\":");
    manta_out_json_str(o, z->name, z->name_len);
    manta_out_str(o, ",\"kind\":\"");
    manta_out_str(o, z->kind);
    manta_out_str(o, "\",\"used\":");
    manta_out_u64(o, z->used);
    manta_out_str(o, ",\"total\":");
    manta_out_u64(o, z->total);

    if (z->has_evictions) {
        manta_out_str(o, ",\"evictions\":");
        manta_out_u64(o, z->evictions);
    }

    manta_out_str(o, "}");
}


static void
manta_out_mem(manta_out_t *o, const char *s, size_t n)
{
    if (o->p && (size_t) (o->end - o->p) >= n) {
        memcpy(o->p, s, n);
        o->p += n;

    } else {
        o->p = NULL;
    }

    o->len += n;
}


static void
manta_out_str(manta_out_t *o, const char *s)
{
    manta_out_mem(o, s, strlen(s));
}


static void
manta_out_u64(manta_out_t *o, uint64_t v)
{
    char   buf[24], *p;

    p = buf + sizeof(buf);

    do {
        *--p = (char) ('0' + v % 10);
        v /= 10;
    } while (v);

    manta_out_mem(o, p, buf + sizeof(buf) - p);
}


static void
manta_out_i64(manta_out_t *o, long long v)
{
    if (v < 0) {
        manta_out_mem(o, "-", 1);
        manta_out_u64(o, (uint64_t) 0 - (uint64_t) v);
        return;
    }

    manta_out_u64(o, (uint64_t) v);
}


/* a sample's value and the end of its line */

static void
manta_out_u64_line(manta_out_t *o, uint64_t v)
{
    manta_out_u64(o, v);
    manta_out_mem(o, "\n", 1);
}


static void
manta_out_i64_line(manta_out_t *o, long long v)
{
    manta_out_i64(o, v);
    manta_out_mem(o, "\n", 1);
}


/* milliseconds as seconds: "1.250" */

static void
manta_out_ms(manta_out_t *o, uint64_t ms)
{
    char  frac[4];

    manta_out_u64(o, ms / 1000);

    frac[0] = '.';
    frac[1] = (char) ('0' + ms % 1000 / 100);
    frac[2] = (char) ('0' + ms % 100 / 10);
    frac[3] = (char) ('0' + ms % 10);

    manta_out_mem(o, frac, 4);
}


static void
manta_out_label(manta_out_t *o, const char *s, size_t len)
{
    size_t  n;

    if (o->p == NULL) {
        o->len += manta_status_escape(NULL, 0, s, len);
        return;
    }

    n = manta_status_escape(o->p, o->end - o->p, s, len);

    if (n <= (size_t) (o->end - o->p)) {
        o->p += n;

    } else {
        o->p = NULL;
    }

    o->len += n;
}


static void
manta_out_json_str(manta_out_t *o, const char *s, size_t len)
{
    char            esc[6];
    size_t          i, start;
    unsigned char   c;

    manta_out_mem(o, "\"", 1);

    start = 0;

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f) {
            continue;
        }

        manta_out_mem(o, s + start, i - start);

        esc[0] = '\\';
        esc[1] = 'u';
        esc[2] = '0';
        esc[3] = '0';
        esc[4] = manta_status_hex[c >> 4];
        esc[5] = manta_status_hex[c & 0xf];

        manta_out_mem(o, esc, 6);

        start = i + 1;
    }

    manta_out_mem(o, s + start, len - start);
    manta_out_mem(o, "\"", 1);
}


static void
manta_out_family(manta_out_t *o, const char *name, const char *type,
    const char *help)
{
    manta_out_str(o, "# HELP ");
    manta_out_str(o, name);
    manta_out_str(o, " ");
    manta_out_str(o, help);
    manta_out_str(o, "\n# TYPE ");
    manta_out_str(o, name);
    manta_out_str(o, " ");
    manta_out_str(o, type);
    manta_out_str(o, "\n");
}


/* name{bot="...",label="value"} with the trailing space */

static void
manta_out_bot_series(manta_out_t *o, const char *name,
    const manta_status_bot_t *b, const char *label, const char *value)
{
    manta_out_str(o, name);
    manta_out_str(o, "{bot=\"");
    manta_out_label(o, b->bot, b->bot_len);

    if (label) {
        manta_out_str(o, "\",");
        manta_out_str(o, label);
        manta_out_str(o, "=\"");
        manta_out_str(o, value);
    }

    manta_out_str(o, "\"} ");
}


/* a quantile in seconds, null for an empty histogram */

static void
manta_out_quantile(manta_out_t *o, const manta_status_bot_t *b, double q)
{
    double  ms;

    ms = manta_status_quantile(b->buckets, q);

    if (ms < 0) {
        manta_out_str(o, "null");
        return;
    }

    manta_out_ms(o, (uint64_t) (ms + 0.5));
}


/* open{label="value"} with the trailing space: open ends in '="' */

static void
manta_out_series(manta_out_t *o, const char *open, const char *value,
    size_t len)
{
    manta_out_str(o, open);
    manta_out_label(o, value, len);
    manta_out_str(o, "\"} ");
}


/* "name":count in a JSON object, after a comma unless it is the first */

static void
manta_out_json_count(manta_out_t *o, size_t k, const char *name,
    uint64_t count)
{
    manta_out_str(o, k ? ",\"" : "\"");
    manta_out_str(o, name);
    manta_out_str(o, "\":");
    manta_out_u64(o, count);
}
