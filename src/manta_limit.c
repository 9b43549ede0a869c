/*
 * Copyright (C) ngx_http_manta_module authors
 * Pure C core: no nginx types or headers.
 *
 * Rate arithmetic of the per-bot limit, as limit_req does it: excess is
 * kept in thousandths of a request, drains at "rate" thousandths per
 * second, grows by 1000 a request, and a request that would make it exceed
 * burst * 1000 is rejected.  Unlike limit_req the bucket keeps the rate it
 * was charged with and drains at it, and it holds the upstream backoff.
 */


#define _GNU_SOURCE
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "manta_limit.h"


static inline manta_limit_rc_t manta_limit_do_take(manta_bucket_t *b,
    const manta_limit_t *l, uint64_t now, uint64_t *delay_ms,
    int64_t *level);
static unsigned manta_limit_reset(int64_t level, unsigned rate);
static uint64_t manta_limit_wait(int64_t level, unsigned rate,
    unsigned burst);
static unsigned manta_limit_quota(unsigned rate, unsigned *window);
static unsigned manta_limit_rate(const manta_bucket_t *b,
    const manta_limit_t *l);
static int64_t manta_limit_level(const manta_bucket_t *b, unsigned rate,
    uint64_t now);


manta_limit_rc_t
manta_limit_take(manta_bucket_t *b, const manta_limit_t *l, uint64_t now,
    uint64_t *delay_ms)
{
    int64_t  level;

    return manta_limit_do_take(b, l, now, delay_ms, &level);
}


/*
 * manta_limit_take(), inlined in manta_limit_charge() too; *level: the
 * level at "now" of a bucket that was charged before (of a rejection
 * too), as manta_limit_fields() finds it
 */

static inline manta_limit_rc_t
manta_limit_do_take(manta_bucket_t *b, const manta_limit_t *l, uint64_t now,
    uint64_t *delay_ms, int64_t *level)
{
    int64_t  excess;

    *delay_ms = 0;
    *level = -1000;

    if (b->last == 0) {
        excess = 0;

    } else {
        *level = manta_limit_level(b, manta_limit_rate(b, l), now);
        excess = *level + 1000;

        if (excess < 0) {
            excess = 0;
        }

        if ((uint64_t) excess > (uint64_t) l->burst * 1000) {
            return MANTA_LIMIT_REJECTED;
        }
    }

    if (b->last == 0 || now > b->last) {
        b->last = now;
    }

    b->excess = (uint64_t) excess;
    b->rate = l->rate;

    if ((uint64_t) excess <= (uint64_t) l->delay * 1000 || l->rate == 0) {
        return MANTA_LIMIT_PASSED;
    }

    *delay_ms = ((uint64_t) excess - (uint64_t) l->delay * 1000) * 1000
                / l->rate;

    return MANTA_LIMIT_DELAYED;
}


manta_limit_rc_t
manta_limit_charge(manta_bucket_t *b, const manta_limit_t *l, uint64_t now,
    uint64_t *delay_ms, unsigned *remaining, unsigned *reset)
{
    int64_t           level;
    uint64_t          next, burst, r;
    unsigned          quota, window, rate;
    manta_limit_rc_t  rc;

    rc = manta_limit_do_take(b, l, now, delay_ms, &level);

    if (rc == MANTA_LIMIT_REJECTED) {
        /*
         * not charged: manta_limit_fields() and manta_limit_retry_ms()
         * would find the level just read, one request above the burst,
         * so nothing remains
         */

        rate = manta_limit_rate(b, l);

        *remaining = 0;
        *reset = manta_limit_reset(level, rate);
        *delay_ms = manta_limit_wait(level, rate, l->burst);

        return rc;
    }

    if (b->last == 0) {
        manta_limit_fields(b, l, now, &quota, &window, remaining, reset);
        return rc;
    }

    /*
     * charged: the bucket's rate is l's, its last request is now or later,
     * so manta_limit_fields() would find the level at b->excess (>= 0)
     */

    quota = manta_limit_quota(l->rate, &window);

    next = b->excess + 1000;
    burst = (uint64_t) l->burst * 1000;

    r = (next > burst) ? 0 : (burst - next) / 1000 + 1;

    *remaining = (r > quota) ? quota : (unsigned) r;
    *reset = manta_limit_reset((int64_t) b->excess, l->rate);

    return rc;
}


int
manta_limit_idle(const manta_bucket_t *b, uint64_t now)
{
    if (manta_limit_blocked(b, now)) {
        return 0;
    }

    if (b->last == 0) {
        return 1;
    }

    if (b->rate == 0) {
        return 0;
    }

    /* at -1000 the next request's excess is 0, as in a new bucket */

    return manta_limit_level(b, b->rate, now) <= -1000;
}


void
manta_backoff(manta_bucket_t *b, uint64_t now, unsigned seconds)
{
    b->blocked = now + (uint64_t) seconds * 1000;
}


int
manta_limit_log_due(manta_bucket_t *b, uint64_t now)
{
    uint32_t  second;

    /* 0 is "no line yet": the clock's first second is 1 */

    second = (uint32_t) (now / 1000) + 1;

    if (b->logged == second) {
        return 0;
    }

    b->logged = second;

    return 1;
}


void
manta_limit_fields(const manta_bucket_t *b, const manta_limit_t *l,
    uint64_t now, unsigned *quota, unsigned *window, unsigned *remaining,
    unsigned *reset)
{
    int64_t   level, next;
    uint64_t  r;
    unsigned  rate;

    *quota = manta_limit_quota(l->rate, window);

    rate = manta_limit_rate(b, l);

    level = (b->last == 0) ? -1000 : manta_limit_level(b, rate, now);

    next = level + 1000;

    if (next < 0) {
        next = 0;
    }

    if ((uint64_t) next > (uint64_t) l->burst * 1000) {
        r = 0;

    } else {
        r = ((uint64_t) l->burst * 1000 - (uint64_t) next) / 1000 + 1;
    }

    *remaining = (r > *quota) ? *quota : (unsigned) r;
    *reset = manta_limit_reset(level, rate);
}


/*
 * RateLimit's reset: whole seconds until the full burst is available
 * again, once the level is -1000 or less
 */

static unsigned
manta_limit_reset(int64_t level, unsigned rate)
{
    uint64_t  t;

    if (level <= -1000 || rate == 0) {
        return 0;
    }

    t = ((uint64_t) (level + 1000) + rate - 1) / rate;

    return (t > UINT_MAX) ? UINT_MAX : (unsigned) t;
}


unsigned
manta_limit_retry_after(const manta_bucket_t *b, const manta_limit_t *l,
    uint64_t now)
{
    return manta_limit_retry_seconds(manta_limit_retry_ms(b, l, now));
}


unsigned
manta_limit_retry_seconds(uint64_t ms)
{
    /* whole seconds, at least one: ceil(ceil(x / a) / b) is ceil(x / ab) */

    return (ms == 0) ? 1 : (unsigned) ((ms + 999) / 1000);
}


uint64_t
manta_limit_retry_ms(const manta_bucket_t *b, const manta_limit_t *l,
    uint64_t now)
{
    unsigned  rate;

    rate = manta_limit_rate(b, l);

    /* a bucket of rate 0 never drains: its level is not read */

    return manta_limit_wait(rate ? manta_limit_level(b, rate, now) : 0, rate,
                            l->burst);
}


/* manta_limit_retry_ms() of a bucket at that level, draining at rate */

static uint64_t
manta_limit_wait(int64_t level, unsigned rate, unsigned burst)
{
    int64_t  need;

    if (rate == 0) {
        return (uint64_t) MANTA_BACKOFF_MAX * 1000;
    }

    need = level + 1000 - (int64_t) burst * 1000;

    if (need <= 0) {
        return 0;
    }

    return ((uint64_t) need * 1000 + rate - 1) / rate;
}


unsigned
manta_backoff_seconds(const char *value, size_t len, time_t now)
{
    char        buf[64], *end;
    size_t      i;
    time_t      t;
    struct tm   tm;
    unsigned    n;

    if (value == NULL || len == 0) {
        return MANTA_BACKOFF_DEFAULT;
    }

    for (i = 0; i < len && value[i] >= '0' && value[i] <= '9'; i++) {
        /* void */
    }

    if (i == len) {
        /* delay-seconds; long ones are capped, not parsed */
        n = 0;

        for (i = 0; i < len && n < MANTA_BACKOFF_MAX; i++) {
            n = n * 10 + (value[i] - '0');
        }

        goto clamp;
    }

    if (len >= sizeof(buf)) {
        return MANTA_BACKOFF_DEFAULT;
    }

    memcpy(buf, value, len);
    buf[len] = '\0';

    memset(&tm, 0, sizeof(struct tm));

    end = strptime(buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);

    if (end == NULL || end != buf + len) {
        return MANTA_BACKOFF_DEFAULT;
    }

    t = timegm(&tm);

    if (t == (time_t) -1) {
        return MANTA_BACKOFF_DEFAULT;
    }

    n = (t <= now) ? 0
        : (t - now > MANTA_BACKOFF_MAX) ? MANTA_BACKOFF_MAX
        : (unsigned) (t - now);

clamp:

    if (n < 1) {
        n = 1;
    }

    if (n > MANTA_BACKOFF_MAX) {
        n = MANTA_BACKOFF_MAX;
    }

    return n;
}


uint32_t
manta_limit_hash(uint32_t seed, const void *key, size_t len)
{
    uint32_t              a, b;
    uint64_t              h, w;
    const unsigned char  *p;

    p = key;
    h = ((uint64_t) seed << 32 | len) * 0x9e3779b97f4a7c15ULL;

    /*
     * 8 bytes at a time, the last 1 to 8 as one load of the key's last 8
     * bytes, or of shorter keys two overlapping 4-byte loads or three bytes
     */

    if (len >= 8) {

        while (len > 8) {
            memcpy(&w, p, 8);
            h = (h ^ w) * 0xff51afd7ed558ccdULL;
            h ^= h >> 32;
            p += 8;
            len -= 8;
        }

        memcpy(&w, p + len - 8, 8);

    } else if (len >= 4) {
        memcpy(&a, p, 4);
        memcpy(&b, p + len - 4, 4);
        w = ((uint64_t) a << 32) | b;

    } else if (len) {
        w = (uint64_t) p[0] | (uint64_t) p[len / 2] << 8
            | (uint64_t) p[len - 1] << 16;

    } else {
        w = 0;
    }

    h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 29;

    return (uint32_t) (h >> 32) ^ (uint32_t) h;
}


unsigned
manta_rate_parse(const char *s, size_t len)
{
    unsigned       scale;
    const char    *p, *last;
    unsigned long  n;

    if (len < sizeof("1r/s") - 1) {
        return 0;
    }

    last = s + len - 3;

    if (memcmp(last, "r/s", 3) == 0) {
        scale = 1;

    } else if (memcmp(last, "r/m", 3) == 0) {
        scale = 60;

    } else {
        return 0;
    }

    n = 0;

    for (p = s; p < last; p++) {
        if (*p < '0' || *p > '9') {
            return 0;
        }

        n = n * 10 + (unsigned long) (*p - '0');

        if (n > UINT_MAX / 1000) {
            return 0;
        }
    }

    if (n == 0) {
        return 0;
    }

    return (unsigned) (n * 1000 / scale);
}


/* the RateLimit quota and window of a rate */

static unsigned
manta_limit_quota(unsigned rate, unsigned *window)
{
    if (rate % 1000 == 0) {
        *window = 1;
        return rate / 1000;
    }

    *window = 60;

    return (unsigned) (((uint64_t) rate * 60 + 500) / 1000);
}


/* the rate the excess drains at: the bucket's own once it was charged */

static unsigned
manta_limit_rate(const manta_bucket_t *b, const manta_limit_t *l)
{
    return b->rate ? b->rate : l->rate;
}


/* the excess at "now", drained since the last request; may be negative */

static int64_t
manta_limit_level(const manta_bucket_t *b, unsigned rate, uint64_t now)
{
    uint64_t  ms, empty;

    if (now <= b->last) {
        /* as just charged: nothing drained */
        return (int64_t) b->excess;
    }

    ms = now - b->last;

    /*
     * after "empty" ms the level is below -1000, where it makes no more
     * difference: clamped there, rate * ms cannot overflow however long
     * the bucket was idle, and a large bucket still drains completely
     */

    if (rate) {
        empty = (b->excess + 1000) * 1000 / rate + 1;

        if (ms > empty) {
            ms = empty;
        }
    }

    return (int64_t) b->excess - (int64_t) ((uint64_t) rate * ms / 1000);
}
