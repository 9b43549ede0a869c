/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * manta_limit.c: the leaky bucket, RateLimit fields, Retry-After.
 */


#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manta_creds.h"
#include "manta_limit.h"
#include "tap.h"
#include "tests.h"


#define S(s)  (s), (sizeof(s) - 1)

/* monotonic milliseconds of the first request */
#define T0    1000000

/* Sun, 06 Nov 1994 08:49:37 GMT */
#define DATE       "Sun, 06 Nov 1994 08:49:37 GMT"
#define DATE_TIME  784111777


/* take_is() in turn on one bucket */

typedef struct {
    uint64_t           now;
    manta_limit_rc_t   expected;
    uint64_t           delay_ms;
    const char        *test;
} take_step_t;

#define NSTEPS(a)  (sizeof(a) / sizeof(a[0]))


static manta_limit_t limit(unsigned rate, unsigned burst, unsigned delay);
static void take_is(manta_bucket_t *b, const manta_limit_t *l, uint64_t now,
    manta_limit_rc_t expected, uint64_t delay_ms, const char *test);
static void takes_are(manta_bucket_t *b, const manta_limit_t *l,
    const take_step_t *steps, size_t n);
static void fields_are(const manta_bucket_t *b, const manta_limit_t *l,
    uint64_t now, unsigned quota, unsigned window, unsigned remaining,
    unsigned reset, const char *test);
static void backoff_is(const char *value, time_t now, unsigned expected,
    const char *test);
static void test_idle(void);
static void test_own_rate(void);
static void test_hash(void);
static void test_charge(void);
static void test_log_due(void);
static int hash_cmp(const void *a, const void *b);


static const take_step_t  take_burst2[] = {
    { T0, MANTA_LIMIT_PASSED, 0, "1r/s burst 2: 1st passes" },
    { T0, MANTA_LIMIT_PASSED, 0, "1r/s burst 2: 2nd passes" },
    { T0, MANTA_LIMIT_PASSED, 0, "1r/s burst 2: 3rd passes" },
    { T0, MANTA_LIMIT_REJECTED, 0, "1r/s burst 2: 4th rejected" },
    { T0 + 999, MANTA_LIMIT_REJECTED, 0,
      "1r/s burst 2: rejected 999 ms later" },
    { T0 + 1000, MANTA_LIMIT_PASSED, 0, "1r/s burst 2: passes 1 s later" },
    { T0 + 1000, MANTA_LIMIT_REJECTED, 0,
      "1r/s burst 2: then rejected again" },
    { T0 + 500, MANTA_LIMIT_REJECTED, 0,
      "1r/s burst 2: a time in the past drains nothing" },
    { T0 + 4000, MANTA_LIMIT_PASSED, 0, "1r/s burst 2: 3 s later drained" },
};


static const take_step_t  take_burst2_drained[] = {
    { T0 + 4000, MANTA_LIMIT_PASSED, 0, "1r/s burst 2: drained, 2nd passes" },
    { T0 + 4000, MANTA_LIMIT_PASSED, 0, "1r/s burst 2: drained, 3rd passes" },
    { T0 + 4000, MANTA_LIMIT_REJECTED, 0,
      "1r/s burst 2: drained, 4th rejected" },
    { T0 + 4000 + 86400000ULL * 365, MANTA_LIMIT_PASSED, 0,
      "1r/s burst 2: a year later" },
};


static const take_step_t  take_burst0[] = {
    { T0, MANTA_LIMIT_PASSED, 0, "burst 0: 1st passes" },
    { T0 + 999, MANTA_LIMIT_REJECTED, 0,
      "burst 0: rejected within the second" },
    { T0 + 1000, MANTA_LIMIT_PASSED, 0, "burst 0: passes a second later" },
};


static const take_step_t  take_delay2[] = {
    { T0, MANTA_LIMIT_PASSED, 0, "delay=2: 1st passed" },
    { T0, MANTA_LIMIT_PASSED, 0, "delay=2: 2nd passed" },
    { T0, MANTA_LIMIT_PASSED, 0, "delay=2: 3rd passed" },
    { T0, MANTA_LIMIT_DELAYED, 1000, "delay=2: 4th delayed 1000 ms" },
    { T0, MANTA_LIMIT_DELAYED, 2000, "delay=2: 5th delayed 2000 ms" },
    { T0, MANTA_LIMIT_DELAYED, 3000, "delay=2: 6th delayed 3000 ms" },
    { T0, MANTA_LIMIT_REJECTED, 0, "delay=2: 7th rejected" },
    { T0 + 1500, MANTA_LIMIT_DELAYED, 2500,
      "delay=2: 1.5 s later delayed 2500 ms" },
};


static const take_step_t  take_default[] = {
    { T0, MANTA_LIMIT_PASSED, 0, "10r/s burst 3: 1st passed" },
    { T0, MANTA_LIMIT_DELAYED, 100, "10r/s burst 3: 2nd delayed 100 ms" },
    { T0, MANTA_LIMIT_DELAYED, 200, "10r/s burst 3: 3rd delayed 200 ms" },
    { T0, MANTA_LIMIT_DELAYED, 300, "10r/s burst 3: 4th delayed 300 ms" },
    { T0, MANTA_LIMIT_REJECTED, 0, "10r/s burst 3: 5th rejected" },
    { T0 + 50, MANTA_LIMIT_REJECTED, 0,
      "10r/s burst 3: 50 ms later rejected" },
    { T0 + 100, MANTA_LIMIT_DELAYED, 300,
      "10r/s burst 3: 100 ms later delayed 300 ms" },
};


static const take_step_t  take_30rm[] = {
    { T0, MANTA_LIMIT_PASSED, 0, "30r/m burst 2: 1st passed" },
    { T0, MANTA_LIMIT_DELAYED, 2000, "30r/m burst 2: 2nd delayed 2 s" },
    { T0, MANTA_LIMIT_DELAYED, 4000, "30r/m burst 2: 3rd delayed 4 s" },
};


static const take_step_t  take_retry_30rm[] = {
    { T0, MANTA_LIMIT_PASSED, 0, "retry 30r/m: 1st passes" },
    { T0, MANTA_LIMIT_PASSED, 0, "retry 30r/m: 2nd passes" },
    { T0, MANTA_LIMIT_REJECTED, 0, "retry 30r/m: rejected" },
};


/*
 * manta_limit_idle(): a bucket charged "requests" times at T0 with
 * "rate" and "burst" (nodelay), then blocked at T0 for "backoff" seconds
 * (0: never), looked at "later" ms after T0.
 */

static const struct {
    const char  *rate;
    unsigned     burst;
    unsigned     requests;
    unsigned     backoff;
    int64_t      later;
    int          idle;
    const char  *test;
} idle_cases[] = {
    { "1r/s", 0, 0, 0, 0, 1, "a new bucket is idle" },
    { "1r/s", 0, 0, 5, 4999, 0, "a new bucket backing off is not idle" },
    { "1r/s", 0, 0, 5, 5000, 1, "... and is once the backoff is over" },

    /* the issue: 1r/m burst 5 in a 10r/s zone, 6 requests */
    { "1r/m", 5, 6, 0, 61000, 0,
      "1r/m burst 5 full: not idle 61 s later (10r/s would be)" },
    { "1r/m", 5, 6, 0, 374999, 0,
      "1r/m burst 5 full: not idle 374.999 s later" },
    { "1r/m", 5, 6, 0, 375000, 1,
      "1r/m burst 5 full: idle after 6 requests at 16/1000 r/s" },

    { "1r/s", 2, 3, 0, 1200, 0, "1r/s burst 2 full: not idle 1.2 s later" },
    { "1r/s", 2, 3, 0, 2999, 0, "1r/s burst 2 full: not idle at 2.999 s" },
    { "1r/s", 2, 3, 0, 3000, 1, "1r/s burst 2 full: idle at 3 s" },
    { "1r/s", 2, 1, 0, 999, 0, "1r/s one request: not idle at 999 ms" },
    { "1r/s", 2, 1, 0, 1000, 1, "1r/s one request: idle at 1 s" },
    { "10r/s", 20, 1, 0, 99, 0, "10r/s one request: not idle at 99 ms" },
    { "10r/s", 20, 1, 0, 100, 1, "10r/s one request: idle at 100 ms" },
    { "1r/s", 2, 1, 0, 0, 0, "just charged: not idle" },
    { "1r/s", 2, 1, 0, -500, 0, "a time before the last request: not idle" },
    { "1r/s", 2, 1, 0, 86400000LL * 365 * 100, 1,
      "a century later: idle, no overflow" },

    { "1r/s", 2, 1, 30, 1000, 0, "drained but backing off: not idle" },
    { "1r/s", 2, 1, 30, 29999, 0, "backing off 1 ms more: not idle" },
    { "1r/s", 2, 1, 30, 30000, 1, "drained, backoff over: idle" },
    { "1r/s", 2, 3, 1, 2000, 0, "backoff over, not drained: not idle" },
};


void
test_limit(void)
{
    char             digits[200];
    unsigned         i, q, w, r, t, prev;
    uint64_t         delay;
    manta_bucket_t   b, saved;
    manta_limit_t    l;

    /* 1r/m burst 5 nodelay: 6 immediate passes, then rejections */

    l = limit(manta_rate_parse(S("1r/m")), 5, 5);
    is_int(l.rate, 16, "1r/m is 16 per 1000 s");

    memset(&b, 0, sizeof(manta_bucket_t));

    for (i = 1; i <= 6; i++) {
        take_is(&b, &l, T0, MANTA_LIMIT_PASSED, 0,
                "1r/m burst 5 nodelay: request passes");
        is_int(b.excess, (i - 1) * 1000, "1r/m burst 5 nodelay: excess %u",
               (i - 1) * 1000);
    }

    is_int(b.last, T0, "1r/m burst 5 nodelay: last is now");

    saved = b;

    take_is(&b, &l, T0, MANTA_LIMIT_REJECTED, 0,
            "1r/m burst 5 nodelay: 7th request rejected");
    ok(memcmp(&b, &saved, sizeof(manta_bucket_t)) == 0,
       "rejected request leaves the bucket as it was");

    take_is(&b, &l, T0 + 62499, MANTA_LIMIT_REJECTED, 0,
            "1r/m: still rejected 62.499 s later");
    ok(memcmp(&b, &saved, sizeof(manta_bucket_t)) == 0,
       "second rejection leaves the bucket as it was");

    take_is(&b, &l, T0 + 62500, MANTA_LIMIT_PASSED, 0,
            "1r/m: passes 62.5 s later (one request drained)");
    is_int(b.last, T0 + 62500, "1r/m: last moved");
    is_int(b.excess, 5000, "1r/m: excess back at the burst");
    take_is(&b, &l, T0 + 62500, MANTA_LIMIT_REJECTED, 0,
            "1r/m: and the next one is rejected");

    /* 1r/s burst 2 nodelay: draining */

    l = limit(1000, 2, 2);
    memset(&b, 0, sizeof(manta_bucket_t));

    takes_are(&b, &l, take_burst2, NSTEPS(take_burst2));
    is_int(b.excess, 0, "1r/s burst 2: excess never below 0");
    takes_are(&b, &l, take_burst2_drained, NSTEPS(take_burst2_drained));
    is_int(b.excess, 0, "1r/s burst 2: a year later the bucket is empty");

    /* a large bucket drains completely, however long that takes */

    l = limit(manta_rate_parse(S("1r/m")), 2000, 2000);
    memset(&b, 0, sizeof(manta_bucket_t));

    for (i = 0; i <= 2000; i++) {
        (void) manta_limit_take(&b, &l, T0, &delay);
    }

    is_int(b.excess, 2000000, "1r/m burst 2000: 2001 requests fill it");
    take_is(&b, &l, T0, MANTA_LIMIT_REJECTED, 0,
            "1r/m burst 2000: the next one rejected");
    fields_are(&b, &l, T0, 1, 60, 0, 125063,
               "1r/m burst 2000: full, all back in 125063 s");
    fields_are(&b, &l, T0 + 86400000, 1, 60, 1, 38663,
               "1r/m burst 2000: a day later, 38663 s left");
    fields_are(&b, &l, T0 + 125063000, 1, 60, 1, 0,
               "1r/m burst 2000: all back after 125063 s (over a day)");
    take_is(&b, &l, T0 + 125063000, MANTA_LIMIT_PASSED, 0,
            "1r/m burst 2000: passes once drained");
    is_int(b.excess, 0, "1r/m burst 2000: and the bucket is empty");
    take_is(&b, &l, UINT64_MAX, MANTA_LIMIT_PASSED, 0,
            "1r/m burst 2000: at the end of time, no overflow");
    is_int(b.excess, 0, "1r/m burst 2000: empty at the end of time");

    l = limit(manta_rate_parse(S("1r/m")), 1000000000, 1000000000);
    b.last = T0;
    b.excess = 1000000000000ULL;

    fields_are(&b, &l, T0, 1, 60, 0, UINT_MAX,
               "burst 1e9 at 1r/m: reset capped, not wrapped");
    is_int(manta_limit_retry_after(&b, &l, T0), 63,
           "burst 1e9 at 1r/m: Retry-After 63 s");

    /* burst 0 */

    l = limit(1000, 0, 0);
    memset(&b, 0, sizeof(manta_bucket_t));

    takes_are(&b, &l, take_burst0, NSTEPS(take_burst0));

    /* delay=2: passed, then delayed */

    l = limit(1000, 5, 2);
    memset(&b, 0, sizeof(manta_bucket_t));

    takes_are(&b, &l, take_delay2, NSTEPS(take_delay2));

    /* the default: no delay=, no nodelay */

    l = limit(10000, 3, 0);
    memset(&b, 0, sizeof(manta_bucket_t));

    takes_are(&b, &l, take_default, NSTEPS(take_default));

    l = limit(manta_rate_parse(S("30r/m")), 2, 0);
    memset(&b, 0, sizeof(manta_bucket_t));

    takes_are(&b, &l, take_30rm, NSTEPS(take_30rm));

    /* RateLimit fields: 10r/s burst 20 nodelay */

    l = limit(manta_rate_parse(S("10r/s")), 20, 20);
    is_int(l.rate, 10000, "10r/s is 10000 per 1000 s");
    memset(&b, 0, sizeof(manta_bucket_t));

    fields_are(&b, &l, T0, 10, 1, 10, 0, "10r/s burst 20: new bucket");

    prev = 11;

    for (i = 1; i <= 21; i++) {
        take_is(&b, &l, T0, MANTA_LIMIT_PASSED, 0, "10r/s burst 20: passes");

        manta_limit_fields(&b, &l, T0, &q, &w, &r, &t);

        is_int(r, (21 - i < 10) ? 21 - i : 10,
               "10r/s burst 20: remaining after %u requests", i);
        ok(r <= prev, "10r/s burst 20: remaining does not grow");
        prev = r;
    }

    fields_are(&b, &l, T0, 10, 1, 0, 3,
               "10r/s burst 20: full (2.1 s rounded up)");
    fields_are(&b, &l, T0 + 500, 10, 1, 5, 2,
               "10r/s burst 20: 0.5 s later (1.6 s rounded up)");
    fields_are(&b, &l, T0 + 1000, 10, 1, 10, 2,
               "10r/s burst 20: 1 s later (1.1 s rounded up)");
    fields_are(&b, &l, T0 + 1001, 10, 1, 10, 2,
               "10r/s burst 20: 1.001 s later (1.099 s rounded up)");
    fields_are(&b, &l, T0 + 2000, 10, 1, 10, 1,
               "10r/s burst 20: 2 s later (0.1 s rounded up)");
    fields_are(&b, &l, T0 + 2099, 10, 1, 10, 1,
               "10r/s burst 20: 2.099 s later (1 ms rounded up)");
    fields_are(&b, &l, T0 + 2100, 10, 1, 10, 0,
               "10r/s burst 20: 2.1 s later the full burst is back");
    fields_are(&b, &l, T0 + 100000, 10, 1, 10, 0,
               "10r/s burst 20: long drained");

    /* 30r/m burst 5 */

    l = limit(manta_rate_parse(S("30r/m")), 5, 5);
    is_int(l.rate, 500, "30r/m is 500 per 1000 s");
    memset(&b, 0, sizeof(manta_bucket_t));

    fields_are(&b, &l, T0, 30, 60, 6, 0, "30r/m burst 5: new bucket");

    take_is(&b, &l, T0, MANTA_LIMIT_PASSED, 0, "30r/m burst 5: 1st");
    fields_are(&b, &l, T0, 30, 60, 5, 2, "30r/m burst 5: after 1 (2 s)");
    take_is(&b, &l, T0, MANTA_LIMIT_PASSED, 0, "30r/m burst 5: 2nd");
    fields_are(&b, &l, T0, 30, 60, 4, 4, "30r/m burst 5: after 2 (4 s)");
    take_is(&b, &l, T0, MANTA_LIMIT_PASSED, 0, "30r/m burst 5: 3rd");
    fields_are(&b, &l, T0, 30, 60, 3, 6, "30r/m burst 5: after 3 (6 s)");
    fields_are(&b, &l, T0 + 2000, 30, 60, 4, 4,
               "30r/m burst 5: after 3, 2 s later (4 s)");
    fields_are(&b, &l, T0 + 6000, 30, 60, 6, 0,
               "30r/m burst 5: after 3, 6 s later all back");

    /* burst 0: no request left until the next one may pass */

    l = limit(manta_rate_parse(S("30r/m")), 0, 0);
    memset(&b, 0, sizeof(manta_bucket_t));

    take_is(&b, &l, T0, MANTA_LIMIT_PASSED, 0, "30r/m burst 0: 1st");
    fields_are(&b, &l, T0, 30, 60, 0, 2, "30r/m burst 0: after 1 (2 s)");
    fields_are(&b, &l, T0 + 1999, 30, 60, 0, 1,
               "30r/m burst 0: 1.999 s later (1 ms rounded up)");
    fields_are(&b, &l, T0 + 2000, 30, 60, 1, 0,
               "30r/m burst 0: 2 s later");

    /* quota and window of other rates */

    l = limit(manta_rate_parse(S("1r/m")), 0, 0);
    memset(&b, 0, sizeof(manta_bucket_t));
    fields_are(&b, &l, T0, 1, 60, 1, 0, "1r/m: q=1;w=60");

    l = limit(manta_rate_parse(S("90r/m")), 0, 0);
    fields_are(&b, &l, T0, 90, 60, 1, 0, "90r/m: q=90;w=60");

    l = limit(manta_rate_parse(S("120r/m")), 0, 0);
    fields_are(&b, &l, T0, 2, 1, 1, 0, "120r/m reads as 2r/s");

    l = limit(manta_rate_parse(S("4294967r/s")), 0, 0);
    fields_are(&b, &l, T0, 4294967, 1, 1, 0, "4294967r/s: largest r/s");

    l = limit(manta_rate_parse(S("4294967r/m")), 0, 0);
    fields_are(&b, &l, T0, 4294967, 60, 1, 0,
               "4294967r/m: largest r/m, no overflow");

    l = limit(manta_rate_parse(S("1r/s")), 100, 100);
    fields_are(&b, &l, T0, 1, 1, 1, 0, "remaining at most the quota");

    /* Retry-After of a rejected request */

    l = limit(10000, 2, 2);
    memset(&b, 0, sizeof(manta_bucket_t));

    for (i = 0; i < 3; i++) {
        take_is(&b, &l, T0, MANTA_LIMIT_PASSED, 0, "retry 10r/s: passes");
    }

    take_is(&b, &l, T0, MANTA_LIMIT_REJECTED, 0, "retry 10r/s: rejected");
    is_int(manta_limit_retry_after(&b, &l, T0), 1,
           "retry 10r/s: 0.1 s rounded up to 1");

    l = limit(manta_rate_parse(S("1r/m")), 0, 0);
    memset(&b, 0, sizeof(manta_bucket_t));

    take_is(&b, &l, T0, MANTA_LIMIT_PASSED, 0, "retry 1r/m: passes");
    take_is(&b, &l, T0, MANTA_LIMIT_REJECTED, 0, "retry 1r/m: rejected");
    is_int(manta_limit_retry_after(&b, &l, T0), 63,
           "retry 1r/m: 62.5 s rounded up to 63");
    is_int(manta_limit_retry_after(&b, &l, T0 + 62000), 1,
           "retry 1r/m: 62 s later, 1");

    l = limit(manta_rate_parse(S("30r/m")), 1, 1);
    memset(&b, 0, sizeof(manta_bucket_t));

    takes_are(&b, &l, take_retry_30rm, NSTEPS(take_retry_30rm));
    is_int(manta_limit_retry_after(&b, &l, T0), 2, "retry 30r/m: 2 s");
    is_int(manta_limit_retry_after(&b, &l, T0 + 1500), 1,
           "retry 30r/m: 0.5 s left rounded up to 1");
    is_int(manta_limit_retry_after(&b, &l, T0 + 1000), 1,
           "retry 30r/m: 1 s left");
    is_int(manta_limit_retry_after(&b, &l, T0 + 999), 2,
           "retry 30r/m: 1.001 s left rounded up to 2");
    is_int(manta_limit_retry_after(&b, &l, T0 + 60000), 1,
           "retry 30r/m: nothing left is still 1");

    memset(&b, 0, sizeof(manta_bucket_t));
    is_int(manta_limit_retry_after(&b, &l, T0), 1, "retry: new bucket 1");

    l = limit(0, 1, 1);
    is_int(manta_limit_retry_after(&b, &l, T0), MANTA_BACKOFF_MAX,
           "retry: rate 0 gives the maximum");

    l = limit(0, 5, 0);
    memset(&b, 0, sizeof(manta_bucket_t));

    take_is(&b, &l, T0, MANTA_LIMIT_PASSED, 0, "rate 0: 1st passed");
    take_is(&b, &l, T0, MANTA_LIMIT_PASSED, 0,
            "rate 0: 2nd passed, no division by zero");

    /* upstream's Retry-After */

    backoff_is("2", 1000, 2, "backoff: \"2\"");
    backoff_is("1", 1000, 1, "backoff: \"1\"");
    backoff_is("60", 1000, 60, "backoff: \"60\"");
    backoff_is("61", 1000, 60, "backoff: \"61\" capped");
    backoff_is("0", 1000, 1, "backoff: \"0\" is at least 1");
    backoff_is("00", 1000, 1, "backoff: \"00\"");
    backoff_is("007", 1000, 7, "backoff: leading zeros");
    backoff_is("120", 1000, 60, "backoff: \"120\" capped");
    backoff_is("99999999999999999999", 1000, 60,
               "backoff: 20 digits capped, no overflow");
    backoff_is("", 1000, 1, "backoff: empty");
    backoff_is(NULL, 1000, 1, "backoff: absent");
    backoff_is("abc", 1000, 1, "backoff: \"abc\"");
    backoff_is("-5", 1000, 1, "backoff: negative");
    backoff_is("+5", 1000, 1, "backoff: plus sign");
    backoff_is("1.5", 1000, 1, "backoff: fraction");
    backoff_is(" 5", 1000, 1, "backoff: leading space");
    backoff_is("5 ", 1000, 1, "backoff: trailing space");
    backoff_is("5s", 1000, 1, "backoff: unit");

    is_int(manta_backoff_seconds("25x", 2, 1000), 25,
           "backoff: length respected");
    is_int(manta_backoff_seconds("5\0" "0", 3, 1000), 1,
           "backoff: NUL after digits");

    memset(digits, '9', sizeof(digits) - 1);
    digits[sizeof(digits) - 1] = '\0';
    backoff_is(digits, 1000, 60, "backoff: 199 digits capped");

    memset(digits, '0', sizeof(digits) - 1);
    digits[sizeof(digits) - 2] = '5';
    digits[sizeof(digits) - 1] = '\0';
    backoff_is(digits, 1000, 5, "backoff: 199 digits with leading zeros");

    backoff_is(DATE, DATE_TIME - 30, 30, "backoff: date 30 s ahead");
    backoff_is(DATE, DATE_TIME - 1, 1, "backoff: date 1 s ahead");
    backoff_is(DATE, DATE_TIME - 60, 60, "backoff: date 60 s ahead");
    backoff_is(DATE, DATE_TIME - 61, 60, "backoff: date 61 s ahead capped");
    backoff_is(DATE, DATE_TIME - 86400 * 365, 60,
               "backoff: date a year ahead capped");
    backoff_is(DATE, DATE_TIME, 1, "backoff: date now");
    backoff_is(DATE, DATE_TIME + 30, 1, "backoff: date in the past");
    backoff_is("Fri, 31 Dec 9999 23:59:59 GMT", DATE_TIME, 60,
               "backoff: date far in the future");
    backoff_is("Thu, 01 Jan 1970 00:00:00 GMT", DATE_TIME, 1,
               "backoff: the epoch");
    backoff_is("Sun, 06 Nov 1994 08:50:07 GMT", DATE_TIME, 30,
               "backoff: date 30 s ahead, other spelling");
    backoff_is("Sun, 06 Nov 1994 08:49:37 UTC", DATE_TIME - 30, 1,
               "backoff: UTC is not GMT");
    backoff_is("Sun, 06 Nov 1994 08:49:37", DATE_TIME - 30, 1,
               "backoff: no zone");
    backoff_is(DATE " ", DATE_TIME - 30, 1, "backoff: trailing space");
    backoff_is(DATE "x", DATE_TIME - 30, 1, "backoff: trailing garbage");
    backoff_is("Sun, 06 Foo 1994 08:49:37 GMT", DATE_TIME - 30, 1,
               "backoff: bad month");
    backoff_is("Sun, 32 Nov 1994 08:49:37 GMT", DATE_TIME - 30, 1,
               "backoff: day 32");
    backoff_is("Sun, 06 Nov 1994 25:49:37 GMT", DATE_TIME - 30, 1,
               "backoff: hour 25");
    backoff_is("yesterday", DATE_TIME, 1, "backoff: not a date");

    is_int(manta_backoff_seconds(DATE "\0x", sizeof(DATE) + 1,
                                 DATE_TIME - 30),
           1, "backoff: NUL and garbage after a date");

    test_idle();
    test_own_rate();
    test_hash();
    test_charge();
    test_log_due();
}


static void
test_idle(void)
{
    size_t            i;
    unsigned          j, f1[4], f2[4];
    uint64_t          now, d1, d2;
    manta_bucket_t    b, fresh;
    manta_limit_t     l;
    manta_limit_rc_t  rc1, rc2;

    for (i = 0; i < sizeof(idle_cases) / sizeof(idle_cases[0]); i++) {
        l = limit(manta_rate_parse(idle_cases[i].rate,
                                   strlen(idle_cases[i].rate)),
                  idle_cases[i].burst, idle_cases[i].burst);

        memset(&b, 0, sizeof(manta_bucket_t));

        for (j = 0; j < idle_cases[i].requests; j++) {
            (void) manta_limit_take(&b, &l, T0, &d1);
        }

        if (idle_cases[i].requests) {
            is_int(b.rate, l.rate, "idle: %s: the bucket keeps its rate",
                   idle_cases[i].test);
        }

        if (idle_cases[i].backoff) {
            manta_backoff(&b, T0, idle_cases[i].backoff);
        }

        now = T0 + idle_cases[i].later;

        is_int(manta_limit_idle(&b, now), idle_cases[i].idle, "idle: %s",
               idle_cases[i].test);

        if (!idle_cases[i].idle) {
            continue;
        }

        /* forgetting an idle bucket changes nothing for its bot */

        memset(&fresh, 0, sizeof(manta_bucket_t));

        manta_limit_fields(&b, &l, now, &f1[0], &f1[1], &f1[2], &f1[3]);
        manta_limit_fields(&fresh, &l, now, &f2[0], &f2[1], &f2[2], &f2[3]);

        ok(memcmp(f1, f2, sizeof(f1)) == 0,
           "idle: %s: RateLimit fields as a new bucket's", idle_cases[i].test);

        rc1 = manta_limit_take(&b, &l, now, &d1);
        rc2 = manta_limit_take(&fresh, &l, now, &d2);

        ok(rc1 == rc2 && d1 == d2 && b.last == fresh.last
           && b.excess == fresh.excess && b.rate == fresh.rate
           && manta_limit_blocked(&b, now) == 0,
           "idle: %s: the next request as in a new bucket",
           idle_cases[i].test);
    }

    memset(&b, 0, sizeof(manta_bucket_t));
    b.last = T0;
    ok(!manta_limit_idle(&b, T0 + 86400000), "idle: rate 0 never drains");

    /* the backoff block */

    memset(&b, 0, sizeof(manta_bucket_t));
    is_int(manta_limit_blocked(&b, T0), 0, "blocked: a new bucket is not");

    manta_backoff(&b, T0, 30);
    is_int(manta_limit_blocked(&b, T0), 30000, "blocked: 30 s at first");
    is_int(manta_limit_blocked(&b, T0 + 29999), 1, "blocked: 1 ms left");
    is_int(manta_limit_blocked(&b, T0 + 30000), 0, "blocked: over at 30 s");

    manta_backoff(&b, T0 + 10000, 2);
    is_int(manta_limit_blocked(&b, T0 + 10000), 2000,
           "blocked: the latest Retry-After wins");

    l = limit(1000, 2, 2);
    take_is(&b, &l, T0 + 10000, MANTA_LIMIT_PASSED, 0,
            "blocked: take() does not look at the backoff");
    is_int(manta_limit_blocked(&b, T0 + 10000), 2000,
           "blocked: and keeps it");
}


/* the excess drains at the rate it was charged with, not the caller's */

static void
test_own_rate(void)
{
    unsigned        i, q, w, r, t;
    uint64_t        delay;
    manta_bucket_t  b;
    manta_limit_t   slow, zone;

    slow = limit(manta_rate_parse(S("1r/m")), 5, 5);
    zone = limit(manta_rate_parse(S("10r/s")), 5, 5);

    memset(&b, 0, sizeof(manta_bucket_t));

    for (i = 0; i < 6; i++) {
        (void) manta_limit_take(&b, &slow, T0, &delay);
    }

    /* 61 s at 16/1000 r/s drain 0.976 request */

    take_is(&b, &zone, T0 + 61000, MANTA_LIMIT_REJECTED, 0,
            "own rate: 1r/m bucket 61 s later at 10r/s: still rejected");
    is_int(b.rate, slow.rate, "own rate: a rejection keeps the rate");

    manta_limit_fields(&b, &zone, T0 + 61000, &q, &w, &r, &t);
    is_int(t, 375 - 61, "own rate: reset counts at the bucket's rate");
    is_int(manta_limit_retry_after(&b, &zone, T0 + 61000), 2,
           "own rate: Retry-After at the bucket's rate (1.5 s)");

    take_is(&b, &zone, T0 + 62500, MANTA_LIMIT_PASSED, 0,
            "own rate: one request drained at 62.5 s passes");
    is_int(b.rate, zone.rate, "own rate: the bucket now has the new rate");
    take_is(&b, &zone, T0 + 62600, MANTA_LIMIT_PASSED, 0,
            "own rate: and drains at it: 100 ms later one more passes");
}


static manta_limit_t
limit(unsigned rate, unsigned burst, unsigned delay)
{
    manta_limit_t  l;

    l.rate = rate;
    l.burst = burst;
    l.delay = delay;

    return l;
}


static void
take_is(manta_bucket_t *b, const manta_limit_t *l, uint64_t now,
    manta_limit_rc_t expected, uint64_t delay_ms, const char *test)
{
    uint64_t          delay;
    manta_limit_rc_t  rc;

    delay = 12345;

    rc = manta_limit_take(b, l, now, &delay);

    is_int(rc, expected, "%s: %s", test,
           expected == MANTA_LIMIT_PASSED ? "PASSED"
           : expected == MANTA_LIMIT_DELAYED ? "DELAYED" : "REJECTED");
    is_int(delay, delay_ms, "%s: delay %llu ms", test,
           (unsigned long long) delay_ms);
}


static void
takes_are(manta_bucket_t *b, const manta_limit_t *l,
    const take_step_t *steps, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        take_is(b, l, steps[i].now, steps[i].expected, steps[i].delay_ms,
                steps[i].test);
    }
}


static void
fields_are(const manta_bucket_t *b, const manta_limit_t *l, uint64_t now,
    unsigned quota, unsigned window, unsigned remaining, unsigned reset,
    const char *test)
{
    unsigned  q, w, r, t;

    q = w = r = t = 12345;

    manta_limit_fields(b, l, now, &q, &w, &r, &t);

    ok(q == quota && w == window && r == remaining && t == reset,
       "%s: q=%u;w=%u r=%u;t=%u", test, quota, window, remaining, reset);

    if (q != quota || w != window || r != remaining || t != reset) {
        diag("    got: q=%u;w=%u r=%u;t=%u", q, w, r, t);
    }
}


static void
backoff_is(const char *value, time_t now, unsigned expected,
    const char *test)
{
    is_int(manta_backoff_seconds(value, value ? strlen(value) : 0, now),
           expected, "%s", test);
}


static int
hash_cmp(const void *a, const void *b)
{
    uint32_t  x = *(const uint32_t *) a, y = *(const uint32_t *) b;

    return (x > y) - (x < y);
}


/*
 * manta_limit_hash(): a function of the account and the key's bytes alone
 * (not of what follows them, not of their address), every byte of keys
 * of each length up to 40 counts, and 100000 botIds of one account hardly
 * collide
 */

static void
test_hash(void)
{
    char       key[64], copy[80];
    size_t     i, len, n, moved, collisions;
    uint32_t   h, account, *hs;

    account = 0x5eed1234;
    moved = 0;
    n = 0;

    for (len = 1; len <= 40; len++) {

        for (i = 0; i < len; i++) {
            key[i] = (char) ('a' + (i * 7 + len) % 26);
        }

        h = manta_limit_hash(account, key, len);

        memset(copy, 0xff, sizeof(copy));
        memcpy(copy + 3, key, len);

        if (manta_limit_hash(account, copy + 3, len) != h) {
            moved++;
        }

        for (i = 0; i < len; i++) {
            copy[3 + i] ^= 0x20;
            n += (manta_limit_hash(account, copy + 3, len) == h);
            copy[3 + i] ^= 0x20;
        }

        n += (len > 1 && manta_limit_hash(account, key, len - 1) == h);
        n += (manta_limit_hash(account + 1, key, len) == h);
        n += (manta_limit_hash(account ^ 0x80000000, key, len) == h);
    }

    is_int(moved, 0, "hash: the same bytes elsewhere, the same hash");
    is_int(n, 0, "hash: any byte changed, the length shortened or another "
           "account, another hash");

    hs = malloc(100000 * sizeof(uint32_t));
    if (hs == NULL) {
        ok(0, "hash: malloc");
        return;
    }

    for (i = 0; i < 100000; i++) {
        len = (size_t) snprintf(key, 32, "bot-%zu", i);
        hs[i] = manta_limit_hash(account, key, len);
    }

    qsort(hs, 100000, sizeof(uint32_t), hash_cmp);

    collisions = 0;

    for (i = 1; i < 100000; i++) {
        collisions += (hs[i] == hs[i - 1]);
    }

    free(hs);

    /* about one expected of a 32-bit hash */
    ok(collisions <= 5, "hash: %zu collisions in 100000 botIds", collisions);
}


/*
 * manta_limit_charge() against manta_limit_take() then
 * manta_limit_fields() on the same buckets: the decision, the delay (of a
 * rejection: manta_limit_retry_ms()), the bucket and the fields, over
 * random requests of bots whose limit changes (their own rate, another
 * location's burst), at times that go on, stand still, go back, or start
 * at 0
 */

static void
test_charge(void)
{
    size_t            i, j, bad;
    uint64_t          now, d1, d2, x;
    unsigned          q, w, r1, t1, r2, t2;
    manta_limit_t     l;
    manta_bucket_t    b1, b2;
    manta_limit_rc_t  rc1, rc2;

    static const unsigned  rates[] = {
        0, 1, 16, 999, 1000, 1001, 2000, 16666, 60000, 1000000,
        1000000000, 4294967000U
    };

    static const unsigned  bursts[] = {
        0, 1, 2, 5, 60, 1000, MANTA_LIMIT_MAX
    };

    bad = 0;
    x = 0x2545f4914f6cdd1dULL;

    for (i = 0; i < 2000; i++) {
        memset(&b1, 0, sizeof(manta_bucket_t));
        now = (i % 4 == 0) ? 0 : T0;

        for (j = 0; j < 50; j++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;

            if (j == 0 || x % 8 == 0) {
                l.rate = rates[(x >> 8) % (sizeof(rates) / sizeof(rates[0]))];
                l.burst = bursts[(x >> 16)
                                 % (sizeof(bursts) / sizeof(bursts[0]))];
                l.delay = ((x >> 24) % 3 == 0) ? l.burst
                          : ((x >> 24) % 3 == 1) ? 0 : l.burst / 2;
            }

            switch ((x >> 32) % 6) {
            case 0:
                break;
            case 1:
                now = (now > 50) ? now - (x >> 40) % 50 : now;
                break;
            case 2:
                now += (x >> 40) % 100000000;
                break;
            default:
                now += (x >> 40) % 2000;
            }

            b2 = b1;

            rc1 = manta_limit_take(&b1, &l, now, &d1);
            manta_limit_fields(&b1, &l, now, &q, &w, &r1, &t1);

            rc2 = manta_limit_charge(&b2, &l, now, &d2, &r2, &t2);

            if (rc1 == MANTA_LIMIT_REJECTED) {
                /* a rejection left the bucket as it was, b1 too */
                d1 = manta_limit_retry_ms(&b1, &l, now);
            }

            if (rc1 != rc2 || d1 != d2 || r1 != r2 || t1 != t2
                || memcmp(&b1, &b2, sizeof(manta_bucket_t)) != 0)
            {
                if (bad++ < 5) {
                    diag("charge: rate %u burst %u delay %u now %llu: "
                         "%d %llu %u %u, charge %d %llu %u %u",
                         l.rate, l.burst, l.delay, (unsigned long long) now,
                         rc1, (unsigned long long) d1, r1, t1,
                         rc2, (unsigned long long) d2, r2, t2);
                }
            }
        }
    }

    is_int(bad, 0, "charge: as take then fields (a rejection's delay as "
           "manta_limit_retry_ms()), 100000 requests");
}


/* one "limiting requests" line a second per bucket */

static void
test_log_due(void)
{
    unsigned         i, n;
    manta_bucket_t   b, saved;
    manta_limit_t    l;

    memset(&b, 0, sizeof(manta_bucket_t));

    is_int(manta_limit_log_due(&b, T0 + 500), 1,
           "log: a bucket's first rejection is logged");

    for (n = 0, i = 501; i <= 999; i++) {
        n += manta_limit_log_due(&b, T0 + i);
    }

    is_int(n, 0, "log: none of the 499 others in the same second is");
    is_int(manta_limit_log_due(&b, T0 + 1000), 1,
           "log: the first of the next second is, 500 ms later");
    is_int(manta_limit_log_due(&b, T0 + 1999), 0,
           "log: not the last ms of that second");
    is_int(manta_limit_log_due(&b, T0 + 5000), 1,
           "log: a rejection seconds later is");
    is_int(manta_limit_log_due(&b, T0 + 5000), 0,
           "log: and a second one at the same ms is not");

    /* over a minute of rejections at 1 ms apart: one line a second */

    for (n = 0, i = 0; i < 60000; i++) {
        n += manta_limit_log_due(&b, T0 + 10000 + i);
    }

    is_int(n, 60, "log: 60,000 rejections over 60 s make 60 lines");

    /* the clock's first second (0 to 999 ms) is not "no line yet" */

    memset(&b, 0, sizeof(manta_bucket_t));

    is_int(manta_limit_log_due(&b, 0), 1, "log: ms 0 is logged");
    is_int(manta_limit_log_due(&b, 999), 0, "log: not again at ms 999");
    is_int(manta_limit_log_due(&b, 1000), 1, "log: at ms 1000 again");

    /* the mark is the bucket's own: the decisions do not move it */

    l = limit(manta_rate_parse(S("1r/m")), 0, 0);
    memset(&b, 0, sizeof(manta_bucket_t));

    take_is(&b, &l, T0, MANTA_LIMIT_PASSED, 0, "log: the first passes");
    take_is(&b, &l, T0 + 1, MANTA_LIMIT_REJECTED, 0,
            "log: the second is rejected");
    is_int(manta_limit_log_due(&b, T0 + 1), 1, "log: ... and logged");

    saved = b;
    b.logged = 0;

    is_int(manta_limit_log_due(&b, T0 + 2), 1,
           "log: a bucket without the mark logs again");
    take_is(&b, &l, T0 + 3, MANTA_LIMIT_REJECTED, 0,
            "log: the mark does not change the decision");
    ok(memcmp(&b, &saved, sizeof(manta_bucket_t)) == 0,
       "log: the bucket is the one logged at T0 + 1, to the byte");
    is_int(manta_limit_log_due(&b, T0 + 3), 0,
           "log: the third in the second is not logged");
}
