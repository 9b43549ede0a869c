/*
 * Copyright (C) ngx_http_manta_module authors
 * Pure C core: no nginx types or headers.
 *
 * Rate arithmetic of the per-bot limit: limit_req's leaky bucket, the
 * RateLimit header fields and upstream's Retry-After.
 */


#ifndef _MANTA_LIMIT_H_INCLUDED_
#define _MANTA_LIMIT_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <time.h>


#define MANTA_BACKOFF_DEFAULT  1       /* seconds */
#define MANTA_BACKOFF_MAX      60      /* seconds */


typedef enum {
    MANTA_LIMIT_PASSED = 0,
    MANTA_LIMIT_DELAYED,
    MANTA_LIMIT_REJECTED
} manta_limit_rc_t;


/*
 * A bucket as limit_req keeps it: excess in thousandths of a request,
 * last the time in milliseconds of the last accounted request.
 */
typedef struct {
    uint64_t    last;
    uint64_t    excess;
} manta_bucket_t;


typedef struct {
    unsigned    rate;        /* requests per 1000 s (manta_rate_parse()) */
    unsigned    burst;       /* requests */
    unsigned    delay;       /* requests passed without delay: nodelay is
                                burst, the default 0 */
} manta_limit_t;


/*
 * Accounts one request at "now" (monotonic milliseconds).  PASSED and
 * DELAYED update the bucket (*delay_ms is set for DELAYED); REJECTED
 * leaves it as it was.  A bucket with last == 0 is new.
 */
manta_limit_rc_t manta_limit_take(manta_bucket_t *b, const manta_limit_t *l,
    uint64_t now, uint64_t *delay_ms);

/*
 * The RateLimit fields after the request was accounted:
 * remaining (r): requests that would pass at once now, at most quota;
 * reset (t): whole seconds until the full burst is available again (0
 * when it is).
 * quota (q) and window (w): the rate, "Nr/s" as q=N;w=1 and "Nr/m" as
 * q=N;w=60 (a rate that is a whole number per second reads as r/s).
 */
void manta_limit_fields(const manta_bucket_t *b, const manta_limit_t *l,
    uint64_t now, unsigned *quota, unsigned *window, unsigned *remaining,
    unsigned *reset);

/* whole seconds, rounded up, a rejected request should wait (>= 1) */
unsigned manta_limit_retry_after(const manta_bucket_t *b,
    const manta_limit_t *l, uint64_t now);

/*
 * Upstream's Retry-After (delay-seconds or an HTTP-date) as seconds from
 * "now": MANTA_BACKOFF_DEFAULT when absent or invalid, at most
 * MANTA_BACKOFF_MAX, at least 1.
 */
unsigned manta_backoff_seconds(const char *value, size_t len, time_t now);


#endif /* _MANTA_LIMIT_H_INCLUDED_ */
