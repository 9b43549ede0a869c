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

/*
 * The largest burst, delay or per-bot burst: limit_req keeps burst * 1000
 * in an ngx_uint_t
 */
#define MANTA_LIMIT_MAX        1000000000


typedef enum {
    MANTA_LIMIT_PASSED = 0,
    MANTA_LIMIT_DELAYED,
    MANTA_LIMIT_REJECTED
} manta_limit_rc_t;


/*
 * A bucket as limit_req keeps it: excess in thousandths of a request,
 * last the time in milliseconds of the last accounted request.  It owns
 * the rate it was charged with (requests per 1000 s, 0 when never
 * charged): the excess drains at that rate, whatever the zone's rate, so
 * expiry cannot hand a slow bot a fresh burst.  blocked is the time in
 * milliseconds until which upstream asked the bot to back off (0: never).
 * logged is the second of the bot's last "limiting requests" line
 * (manta_limit_log_due(); 0: none), in what would be the struct's padding.
 * All zero is a new bucket.
 */
typedef struct {
    uint64_t    last;
    uint64_t    excess;
    uint64_t    blocked;
    uint32_t    rate;
    uint32_t    logged;
} manta_bucket_t;


typedef struct {
    unsigned    rate;        /* requests per 1000 s (manta_rate_parse()) */
    unsigned    burst;       /* requests */
    unsigned    delay;       /* requests passed without delay: nodelay is
                                burst, the default 0 */
} manta_limit_t;


/*
 * Accounts one request at "now" (monotonic milliseconds).  The excess
 * drains at the bucket's own rate since its last request, then the
 * request is charged at l's rate, which the bucket keeps.  PASSED and
 * DELAYED update the bucket (*delay_ms is set for DELAYED); REJECTED
 * leaves it as it was.  A bucket with last == 0 is new.  The backoff
 * block is not looked at: see manta_limit_blocked().
 */
manta_limit_rc_t manta_limit_take(manta_bucket_t *b, const manta_limit_t *l,
    uint64_t now, uint64_t *delay_ms);

/*
 * 1 when the bucket may be forgotten at "now": it is not blocked and it
 * has fully drained at its own rate, so that the next request finds it
 * exactly as a new bucket (same decision, same RateLimit fields).
 */
int manta_limit_idle(const manta_bucket_t *b, uint64_t now);

/* upstream asked the bot to wait "seconds" from "now" */
void manta_backoff(manta_bucket_t *b, uint64_t now, unsigned seconds);

/*
 * Whether a rejection of the bot at "now" (monotonic milliseconds) gets its
 * "limiting requests" line: 1 for the first in a second of the clock (the
 * bucket keeps that second), 0 for the others, so that a bot rejected a
 * thousand times a second costs one line a second, not a thousand writes.
 */
int manta_limit_log_due(manta_bucket_t *b, uint64_t now);

/*
 * milliseconds the bot still has to back off at "now", 0 when none; here,
 * to be inlined: it runs under the zone's lock on every request
 */
static inline uint64_t manta_limit_blocked(const manta_bucket_t *b,
    uint64_t now);

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

/*
 * manta_limit_take(), then manta_limit_fields() at "now" but for quota and
 * window, in one: a request that was charged has its fields from its new
 * excess, with none of manta_limit_fields()'s draining arithmetic, a
 * rejected one from the level the take read; *delay_ms of a rejected
 * request (manta_limit_take()'s is 0): manta_limit_retry_ms()
 */
manta_limit_rc_t manta_limit_charge(manta_bucket_t *b, const manta_limit_t *l,
    uint64_t now, uint64_t *delay_ms, unsigned *remaining, unsigned *reset);

/* whole seconds, rounded up, a rejected request should wait (>= 1) */
unsigned manta_limit_retry_after(const manta_bucket_t *b,
    const manta_limit_t *l, uint64_t now);

/* manta_limit_retry_after() of manta_limit_retry_ms()'s milliseconds */
unsigned manta_limit_retry_seconds(uint64_t ms);

/*
 * milliseconds, rounded up, until a rejected request would pass (0 when
 * it would now)
 */
uint64_t manta_limit_retry_ms(const manta_bucket_t *b, const manta_limit_t *l,
    uint64_t now);

/*
 * Upstream's Retry-After (delay-seconds or an HTTP-date) as seconds from
 * "now": MANTA_BACKOFF_DEFAULT when absent or invalid, at most
 * MANTA_BACKOFF_MAX, at least 1.
 */
unsigned manta_backoff_seconds(const char *value, size_t len, time_t now);


/*
 * The hash of a bucket's key (seed: its account, key: the botId) that
 * orders a zone's tree before the key's bytes do: a few multiplications a
 * word instead of CRC32's table lookup a byte.  The tree stays balanced
 * whatever the keys, so its quality only decides how often whole keys are
 * compared.
 */
uint32_t manta_limit_hash(uint32_t seed, const void *key, size_t len);


/*
 * Parses "Nr/s" or "Nr/m" into requests per 1000 seconds as limit_req
 * does (N * 1000 / scale); 0 when invalid.
 */
unsigned manta_rate_parse(const char *s, size_t len);


static inline uint64_t
manta_limit_blocked(const manta_bucket_t *b, uint64_t now)
{
    return (b->blocked > now) ? b->blocked - now : 0;
}


#endif /* _MANTA_LIMIT_H_INCLUDED_ */
