/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * Fuzzes upstream's Retry-After (manta_backoff_seconds): delay-seconds or
 * an HTTP-date.  The input is the header value.
 */


#include <string.h>
#include <time.h>

#include "manta_limit.h"
#include "fuzz.h"


/* Tue, 14 Nov 2023 22:13:20 GMT */
#define NOW  1700000000


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t       i;
    unsigned     n, expected;
    const char  *value;

    value = (const char *) data;

    n = manta_backoff_seconds(value, size, NOW);

    fuzz_assert(n >= 1 && n <= MANTA_BACKOFF_MAX);
    fuzz_assert(manta_backoff_seconds(value, size, 0) >= 1);
    fuzz_assert(manta_backoff_seconds(value, size, (time_t) -1)
                <= MANTA_BACKOFF_MAX);

    if (size == 0) {
        fuzz_assert(n == MANTA_BACKOFF_DEFAULT);
        return 0;
    }

    /* delay-seconds: any number of digits, capped */

    expected = 0;

    for (i = 0; i < size; i++) {
        if (value[i] < '0' || value[i] > '9') {
            break;
        }

        if (expected < MANTA_BACKOFF_MAX) {
            expected = expected * 10 + (unsigned) (value[i] - '0');
        }
    }

    if (i == size) {
        expected = expected < 1 ? 1
                   : expected > MANTA_BACKOFF_MAX ? MANTA_BACKOFF_MAX
                   : expected;

        fuzz_assert(n == expected);
        return 0;
    }

    /* an HTTP-date holds no NUL */

    if (memchr(value, '\0', size) != NULL) {
        fuzz_assert(n == MANTA_BACKOFF_DEFAULT);
    }

    return 0;
}
