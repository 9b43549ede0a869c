/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * Differential: manta_error_rewrite() with its fast path (the tokenizer of
 * manta_jscan.h) must give the same answer and the same bytes as with
 * every body parsed by jansson (manta_error_fast = 0), and so must it with
 * the redacted values searched for by their anchors (manta_anchor()).
 *
 * The first byte picks the status, the second the botId and the pool of
 * values (the short ones, or the long ones: not searched for in the
 * runs of the answer without '"' they cannot fit, see
 * manta_error_direct_holds()), the third which values are redacted; the
 * rest is the upstream body.
 */


#include <stdlib.h>
#include <string.h>

#include "manta_error.h"
#include "manta_util.h"
#include "../unit/alloc.h"
#include "fuzz.h"


static const char *const  bot_ids[] = {
    NULL, "bot-1", "secret-bot", "caf\xc3\xa9", "a-long-secret-bot-id",
    "bot\"with-a-long-secret", "Conflict", "errResponse-errResponse"
};

/* some of them are also what an escape in a body decodes to */
static const manta_str_t  pool[] = {
    { S("TOKEN-Zq9") },
    { S("secret") },
    { S("SEC\"RET") },
    { S("4711") },
    { S("sec") },
    { S("caf\xc3\xa9") },
    { S("\xf0\x9f\x98\x80!") },
    { S("") }
};

static const manta_str_t  pool_long[] = {
    { S("a-long-secret-bot-id") },
    { S("-long-secret-") },
    { S("errResponse") },
    { S("\",\"code\":4") },
    { S("exists\",\"code\":409,\"botId\":\"a") },
    { S("Internal Server Error") },
    { S("012345678901") },
    { S("\xf0\x9f\x98\x80-long-secret-\xf0\x9f\x98\x80") }
};

/* answers written straight into a buffer large enough for any */
static char  big[2][65536];


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                status;
    char              *fast, *slow, *at;
    size_t             i, len, fast_len, slow_len, at_len, nredact;
    size_t             anchor[8], big_len[2];
    const char        *body, *bot_id;
    manta_str_t        redact[8];
    const manta_str_t *values;
    manta_error_rc_t   fast_rc, slow_rc, at_rc;

    if (size < 3) {
        return 0;
    }

    status = 400 + data[0] % 200;
    bot_id = bot_ids[data[1] % 8];
    values = (data[1] & 8) ? pool_long : pool;

    nredact = 0;

    for (i = 0; i < 8; i++) {
        if (data[2] & (1u << i)) {
            anchor[nredact] = manta_anchor(values[i].data, values[i].len);
            redact[nredact++] = values[i];
        }
    }

    body = (const char *) data + 3;
    len = size - 3;

    manta_error_fast = 1;
    fast_rc = alloc_error_rewrite(len ? body : NULL, len, status, bot_id,
                                  bot_id ? strlen(bot_id) : 0, redact,
                                  nredact, &fast, &fast_len);

    at_rc = alloc_error_rewrite_at(len ? body : NULL, len, status, bot_id,
                                   bot_id ? strlen(bot_id) : 0, redact,
                                   anchor, nredact, &at, &at_len);

    fuzz_assert(at_rc == fast_rc);
    fuzz_assert(at_len == fast_len);
    fuzz_assert(at_len == 0 || memcmp(at, fast, at_len) == 0);

    free(at);

    manta_error_fast = 0;
    slow_rc = alloc_error_rewrite(len ? body : NULL, len, status, bot_id,
                                  bot_id ? strlen(bot_id) : 0, redact,
                                  nredact, &slow, &slow_len);

    fuzz_assert(fast_rc == slow_rc);
    fuzz_assert(fast_len == slow_len);
    fuzz_assert(fast_len == 0 || memcmp(fast, slow, fast_len) == 0);

    free(fast);
    free(slow);

    /*
     * into a buffer large enough for either: asked for the size first, a
     * fast answer longer than jansson's would not fit and would not count
     */

    big_len[0] = sizeof(big[0]);
    big_len[1] = sizeof(big[1]);

    manta_error_fast = 1;
    fast_rc = manta_error_rewrite(len ? body : NULL, len, status, bot_id,
                                  bot_id ? strlen(bot_id) : 0, redact,
                                  nredact, big[0], &big_len[0]);

    manta_error_fast = 0;
    slow_rc = manta_error_rewrite(len ? body : NULL, len, status, bot_id,
                                  bot_id ? strlen(bot_id) : 0, redact,
                                  nredact, big[1], &big_len[1]);

    if (fast_rc != MANTA_ERROR_SHORT && slow_rc != MANTA_ERROR_SHORT) {
        fuzz_assert(fast_rc == slow_rc);
        fuzz_assert(big_len[0] == big_len[1]);
        fuzz_assert(big_len[0] == 0
                    || memcmp(big[0], big[1], big_len[0]) == 0);
    }

    manta_error_fast = 1;

    return 0;
}
