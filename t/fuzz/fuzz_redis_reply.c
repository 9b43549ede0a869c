/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * Fuzzes what a Redis server (or anything answering on its port) can
 * send: the bytes, fed in two pieces to hiredis's redisReader as the
 * transport does, then every reply read is interpreted by
 * manta_redis_reply(); an accepted one is turned into a bucket and its
 * RateLimit fields and Retry-After are computed.  An accepted one is a
 * status line that is its six numbers written back, no byte more.
 */


#include <stdio.h>
#include <string.h>

#include "manta_redis.h"
#include "fuzz.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                    rc, n, len;
    char                   line[128];
    void                  *reply;
    size_t                 half;
    unsigned               q, w, r, t;
    const char            *err;
    redisReader           *reader;
    manta_limit_t          l;
    manta_bucket_t         b;
    manta_redis_result_t   res;

    reader = manta_redis_reader();
    fuzz_assert(reader != NULL);

    half = size ? data[0] % (size + 1) : 0;

    if (redisReaderFeed(reader, (const char *) data, half) != REDIS_OK
        || redisReaderFeed(reader, (const char *) data + half, size - half)
           != REDIS_OK)
    {
        manta_redis_reader_free(reader);
        return 0;
    }

    l.rate = 16;
    l.burst = 5;
    l.delay = 5;

    for (n = 0; n < 64; n++) {
        reply = NULL;

        if (redisReaderGetReply(reader, &reply) != REDIS_OK
            || reply == NULL)
        {
            break;
        }

        err = NULL;
        rc = manta_redis_reply(reply, &res, &err);

        fuzz_assert(rc == MANTA_REDIS_OK || rc == MANTA_REDIS_NOSCRIPT
                    || rc == MANTA_REDIS_ERROR);
        fuzz_assert((rc == MANTA_REDIS_OK) == (err == NULL));

        if (rc == MANTA_REDIS_OK) {
            fuzz_assert(res.code >= MANTA_REDIS_PASSED
                        && res.code <= MANTA_REDIS_BLOCKED);

            len = snprintf(line, sizeof(line),
                           "%d %llu %llu %llu %llu %llu", res.code,
                           (unsigned long long) res.delay,
                           (unsigned long long) res.excess,
                           (unsigned long long) res.age,
                           (unsigned long long) res.rate,
                           (unsigned long long) res.blocked);

            fuzz_assert(((redisReply *) reply)->type == REDIS_REPLY_STATUS
                        && ((redisReply *) reply)->len == (size_t) len
                        && memcmp(((redisReply *) reply)->str, line, len)
                           == 0);

            manta_redis_bucket(&res, 1000000, &b);
            manta_limit_fields(&b, &l, 1000000, &q, &w, &r, &t);
            fuzz_assert(r <= q);
            (void) manta_limit_retry_after(&b, &l, 1000000);
            (void) manta_limit_retry_ms(&b, &l, 1000000);
        }

        (void) manta_redis_reply_ok(reply);

        manta_redis_reply_free(reply);
    }

    manta_redis_reader_free(reader);

    return 0;
}
