/*
 * Copyright (C) ngx_http_manta_module authors
 * Pure C core: no nginx types or headers.
 *
 * The status page's data: a snapshot of the counters (per bot, per limit
 * decision source, per zone, per token, per caller) and its Prometheus
 * text format 0.0.4 and JSON writers, the histogram's buckets and
 * quantiles and the label escaping.  The writers write into a buffer the
 * caller provides.
 */


#ifndef _MANTA_STATUS_H_INCLUDED_
#define _MANTA_STATUS_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "manta_reason.h"


/*
 * Outcomes: 0 "forwarded", then each reason code in manta_reason_t order,
 * the last "error" (an internal error, or the caller gone before the
 * request was forwarded)
 */
#define MANTA_STATUS_OUTCOMES  (MANTA_NOMEM + 1)
#define MANTA_STATUS_ERROR     MANTA_NOMEM

/* upstream status classes: 1xx .. 5xx, then "none" (not forwarded) */
#define MANTA_STATUS_CLASSES   6
#define MANTA_STATUS_NONE      5

/* upstream response time buckets: 11 upper bounds and +Inf */
#define MANTA_STATUS_BUCKETS   12

/*
 * Where a limit decision was taken: the one list of label values of
 * manta_limit_decisions_total{source}; a new source (a shared store) is
 * added here and in manta_status_sources[]
 */
#define MANTA_STATUS_SOURCE_LOCAL     0
#define MANTA_STATUS_SOURCE_REDIS     1
#define MANTA_STATUS_SOURCE_FALLBACK  2
#define MANTA_STATUS_SOURCE_CACHED    3
#define MANTA_STATUS_SOURCES          4

/* the series of bots beyond the configured number, and of no botId */
#define MANTA_STATUS_OTHER     "__other__"
#define MANTA_STATUS_NOBOT     "__none__"

/*
 * the caller series of the requests whose caller was not accepted (empty,
 * not in the "callers" map, not allowed the botId, or not checked yet):
 * the value a caller sent never becomes a label; callers beyond the
 * configured number count under MANTA_STATUS_OTHER
 */
#define MANTA_STATUS_NOCALLER  "__unknown__"


typedef struct {
    const char  *bot;
    size_t       bot_len;
    uint64_t     requests[MANTA_STATUS_OUTCOMES];
    uint64_t     classes[MANTA_STATUS_CLASSES];
    uint64_t     buckets[MANTA_STATUS_BUCKETS];    /* not cumulative */
    uint64_t     sum_ms;
    long long    remaining;        /* -1: never limited */
    long long    backoff_until;    /* Unix time, 0: none */
} manta_status_bot_t;


/* an accepted caller id's requests by outcome */

typedef struct {
    const char  *caller;
    size_t       caller_len;
    uint64_t     requests[MANTA_STATUS_OUTCOMES];
} manta_status_caller_t;


typedef struct {
    const char  *token_id;          /* NUL-terminated */
    long long    expiry;            /* Unix time of "exp" */
} manta_status_token_t;


typedef struct {
    const char  *name;
    size_t       name_len;
    const char  *kind;              /* "limit", "status" */
    uint64_t     used;
    uint64_t     total;
    uint64_t     evictions;
    int          has_evictions;
} manta_status_zone_t;


typedef struct {
    long long                    now;        /* Unix time */
    const manta_status_bot_t    *bots;
    size_t                       nbots;
    uint64_t                     decisions[MANTA_STATUS_SOURCES];
    const manta_status_token_t  *tokens;
    size_t                       ntokens;
    const manta_status_zone_t   *zones;
    size_t                       nzones;
    const manta_status_caller_t *callers;    /* in creation order */
    size_t                       ncallers;
} manta_status_t;


/* "forwarded", "bad_bot_id", ..., "error" */
const char *manta_status_outcome(unsigned outcome);

/* the outcome of a request: reason, or forwarded (0) or not (error) */
unsigned manta_status_outcome_of(manta_reason_t reason, int forwarded);

/* "1xx" .. "5xx", "none" */
const char *manta_status_class_name(unsigned cls);

/* the class of an upstream status: MANTA_STATUS_NONE for 0 or off range */
unsigned manta_status_class(unsigned status);

/* "local" */
const char *manta_status_source(unsigned source);

/* the bucket a time falls in; the bound of bucket i in ms (0 for +Inf) */
unsigned manta_status_bucket(uint64_t ms);
uint64_t manta_status_bound_ms(unsigned i);

/*
 * The q-quantile (0 < q < 1) of a histogram, in ms, interpolated linearly
 * within its bucket as Prometheus' histogram_quantile() does; the highest
 * finite bound when it falls in +Inf; -1 for an empty histogram.
 */
double manta_status_quantile(const uint64_t *buckets, double q);

/*
 * A Prometheus label value escaped (backslash, double quote, line feed)
 * into dst of dst_size bytes; returns the escaped length, whatever
 * dst_size: nothing is written beyond dst_size, no NUL is added.
 */
size_t manta_status_escape(char *dst, size_t dst_size, const char *src,
    size_t len);

/*
 * The Prometheus text format 0.0.4 and the JSON of a snapshot, written
 * into buf (size bytes); each returns the length of the whole document:
 * when it is larger than size only its first size bytes were written, and
 * the caller calls again with a buffer of that length.
 */
size_t manta_status_prometheus(const manta_status_t *st, char *buf,
    size_t size);
size_t manta_status_json(const manta_status_t *st, char *buf, size_t size);

/* the status page: one HTML document that polls the JSON */
extern const char    manta_status_page[];
extern const size_t  manta_status_page_len;


#endif /* _MANTA_STATUS_H_INCLUDED_ */
