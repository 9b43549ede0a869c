/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * Fuzzes the rate parser (manta_rate_parse) and the leaky bucket run at
 * that rate (manta_limit_take, manta_limit_fields,
 * manta_limit_retry_after, manta_limit_idle, manta_backoff), and
 * manta_limit_charge against take then fields.  The input is
 * "RATE\nOPS": the rate as in "10r/s", then binary: the rate to use when
 * RATE is invalid, the burst, the delay, then two bytes per request: 14
 * bits of a number and 2 of what it is (ms later, ms earlier, minutes
 * later, other): "other" with bit 13 set is an upstream backoff of the
 * low 6 bits in seconds, with bit 12 set a new rate for the bot (a reload
 * changed it: the bucket drains at the rate it was charged with), else
 * more requests at once.
 */


#include <limits.h>
#include <string.h>

#include "manta_creds.h"
#include "manta_limit.h"
#include "fuzz.h"


#define BURST_MAX  1000000000


static unsigned rate_ref(const char *s, size_t len);
static void step(manta_bucket_t *b, const manta_limit_t *l, uint64_t now);


static const unsigned  rates[] = {
    16, 500, 1000, 1500, 10000, 71582783, 4294967000U
};


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t           len, i;
    unsigned         n, budget;
    uint64_t         now, delay;
    const uint8_t   *nl, *ops, *last;
    manta_limit_t    l;
    manta_bucket_t   b;

    nl = memchr(data, '\n', size);
    len = nl ? (size_t) (nl - data) : size;

    l.rate = manta_rate_parse((const char *) data, len);
    fuzz_assert(l.rate == rate_ref((const char *) data, len));

    if (nl == NULL) {
        return 0;
    }

    ops = nl + 1;
    last = data + size;

    if (last - ops < 3) {
        return 0;
    }

    if (l.rate == 0) {
        l.rate = rates[ops[0] % (sizeof(rates) / sizeof(rates[0]))];
    }

    if (ops[1] & 0x80) {
        l.burst = (unsigned) (((uint64_t) ops[1] * 2654435761U) % BURST_MAX);

    } else {
        l.burst = ops[1];
    }

    l.delay = (ops[2] == 0xff) ? l.burst : ops[2];

    memset(&b, 0, sizeof(manta_bucket_t));
    now = 1;
    budget = 4000;

    for (i = 3; ops + i + 1 < last; i += 2) {
        n = ops[i] | (unsigned) (ops[i + 1] & 0x3f) << 8;

        switch (ops[i + 1] >> 6) {

        case 0:
            now += n;
            break;

        case 1:
            now -= (n < now) ? n : now - 1;
            break;

        case 2:
            now += (uint64_t) n * 60000;
            break;

        default:

            if (n & 0x2000) {
                manta_backoff(&b, now, n & 0x3f);
                break;
            }

            if (n & 0x1000) {
                l.rate = rates[n % (sizeof(rates) / sizeof(rates[0]))];
                break;
            }

            /* n more requests at once, to fill large buckets */
            n = (n < budget) ? n : budget;
            budget -= n;

            while (n--) {
                (void) manta_limit_take(&b, &l, now, &delay);
            }

            break;
        }

        step(&b, &l, now);
    }

    return 0;
}


/* "Nr/s" or "Nr/m", N from 1 to UINT_MAX / 1000, as N * 1000 / scale */

static unsigned
rate_ref(const char *s, size_t len)
{
    size_t    i;
    uint64_t  n;

    if (len < 4 || s[len - 3] != 'r' || s[len - 2] != '/'
        || (s[len - 1] != 's' && s[len - 1] != 'm'))
    {
        return 0;
    }

    n = 0;

    for (i = 0; i < len - 3; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }

        if (n <= 4294967) {
            n = n * 10 + (uint64_t) (s[i] - '0');
        }
    }

    if (n == 0 || n > 4294967) {
        return 0;
    }

    return (unsigned) (n * 1000 / (s[len - 1] == 's' ? 1 : 60));
}


static void
step(manta_bucket_t *b, const manta_limit_t *l, uint64_t now)
{
    unsigned          q, w, r, t, retry, quota, f[4], g[4];
    uint64_t          delay, base, empty, d;
    manta_bucket_t    saved, later, fresh;
    manta_limit_rc_t  rc, rc2;

    manta_limit_fields(b, l, now, &q, &w, &r, &t);

    if (l->rate % 1000 == 0) {
        fuzz_assert(w == 1 && q == l->rate / 1000);

    } else {
        quota = (unsigned) (((uint64_t) l->rate * 60 + 500) / 1000);
        fuzz_assert(w == 60 && q == quota);
    }

    fuzz_assert(q >= 1 && r <= q);

    saved = *b;
    delay = 12345;

    /* an idle bucket may be forgotten: the next request finds it new */

    if (manta_limit_idle(b, now)) {
        fuzz_assert(manta_limit_blocked(b, now) == 0);

        memset(&fresh, 0, sizeof(manta_bucket_t));

        manta_limit_fields(&fresh, l, now, &f[0], &f[1], &f[2], &f[3]);
        fuzz_assert(f[0] == q && f[1] == w && f[2] == r && f[3] == t);

        later = *b;

        fuzz_assert(manta_limit_take(&later, l, now, &delay)
                    == manta_limit_take(&fresh, l, now, &d));
        fuzz_assert(delay == d && later.last == fresh.last
                    && later.excess == fresh.excess
                    && later.rate == fresh.rate);

        delay = 12345;
    }

    /* a time before the last request counts as that time */

    base = (b->last > now) ? b->last : now;

    rc = manta_limit_take(b, l, now, &delay);

    /* manta_limit_charge(): the same decision, bucket and fields */

    later = saved;
    d = 12345;

    rc2 = manta_limit_charge(&later, l, now, &d, &g[2], &g[3]);
    manta_limit_fields(b, l, now, &g[0], &g[1], &f[2], &f[3]);

    /* a rejection's delay: manta_limit_retry_ms() (the bucket as it was) */

    fuzz_assert(rc2 == rc
                && d == (rc == MANTA_LIMIT_REJECTED
                         ? manta_limit_retry_ms(b, l, now) : delay)
                && memcmp(&later, b, sizeof(manta_bucket_t)) == 0
                && g[2] == f[2] && g[3] == f[3]);

    /* remaining > 0 exactly when this request was not rejected */

    fuzz_assert((r > 0) == (rc != MANTA_LIMIT_REJECTED));

    switch (rc) {

    case MANTA_LIMIT_REJECTED:
        fuzz_assert(delay == 0);
        fuzz_assert(memcmp(b, &saved, sizeof(manta_bucket_t)) == 0);

        retry = manta_limit_retry_after(b, l, now);
        fuzz_assert(retry >= 1 && retry <= 63);

        /* after Retry-After seconds the request passes */

        later = *b;
        fuzz_assert(manta_limit_take(&later, l, base + retry * 1000ULL,
                                     &delay)
                    != MANTA_LIMIT_REJECTED);
        break;

    case MANTA_LIMIT_PASSED:
        fuzz_assert(delay == 0);
        fuzz_assert(b->excess <= (uint64_t) l->delay * 1000);
        break;

    default: /* MANTA_LIMIT_DELAYED */
        fuzz_assert(b->excess > (uint64_t) l->delay * 1000);
        fuzz_assert(delay == (b->excess - (uint64_t) l->delay * 1000) * 1000
                             / l->rate);
        break;
    }

    fuzz_assert(b->excess <= (uint64_t) l->burst * 1000);

    if (rc != MANTA_LIMIT_REJECTED) {
        fuzz_assert(b->last == (saved.last > now ? saved.last : now));
    }

    /* charged and not backing off, it is idle once it has drained */

    if (b->last && b->rate) {
        empty = (b->excess + 1000) * 1000 / b->rate + 1;

        if (b->blocked <= base + empty) {
            fuzz_assert(manta_limit_idle(b, base + empty));
        }

        /* just charged or over its limit: never */

        fuzz_assert(!manta_limit_idle(b, base));
    }

    /* after reset seconds the bucket has drained */

    manta_limit_fields(b, l, now, &q, &w, &r, &t);

    if (t < UINT_MAX) {
        manta_limit_fields(b, l, base + t * 1000ULL, &q, &w, &r, &t);
        fuzz_assert(t == 0);
    }
}
