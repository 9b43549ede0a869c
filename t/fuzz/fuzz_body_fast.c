/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * Differential: alloc_body_check(), which recognizes the common
 * {"name":"<text>"} body without jansson and decodes the string's escapes
 * itself, must give the same answer, the same normalized name and the same
 * message as alloc_body_check_json(), which parses every body with
 * jansson.  So must manta_body_check() with the smallest name buffer that
 * still decodes escapes (2 * len + 1 bytes: the decoded value then starts
 * right after the bytes the name may take), unless it runs out of room.
 *
 * The first byte picks the options, the rest is the body.
 */


#include <stdlib.h>
#include <string.h>

#include "manta_request.h"
#include "../unit/alloc.h"
#include "fuzz.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char               *fast, *slow, *tight, fast_msg[MANTA_MESSAGE_MAX],
                        slow_msg[MANTA_MESSAGE_MAX],
                        tight_msg[MANTA_MESSAGE_MAX];
    size_t              fast_len, slow_len, tight_len, tight_size;
    manta_reason_t      fast_rc, slow_rc, tight_rc;
    manta_body_opts_t   opts;

    if (size == 0) {
        return 0;
    }

    fuzz_body_opts(&opts, data[0]);

    fast_rc = alloc_body_check(&opts, (const char *) data + 1, size - 1,
                               &fast, &fast_len, fast_msg, sizeof(fast_msg));
    slow_rc = alloc_body_check_json(&opts, (const char *) data + 1, size - 1,
                                    &slow, &slow_len, slow_msg,
                                    sizeof(slow_msg));

    fuzz_assert(fast_rc == slow_rc);
    fuzz_assert(strcmp(fast_msg, slow_msg) == 0);

    tight_size = 2 * (size - 1) + 1;
    tight = malloc(tight_size);
    fuzz_assert(tight != NULL);

    tight_rc = manta_body_check(&opts, (const char *) data + 1, size - 1,
                                tight, tight_size, &tight_len, tight_msg,
                                sizeof(tight_msg));

    if (tight_rc != MANTA_NOMEM) {
        fuzz_assert(tight_rc == slow_rc);
        fuzz_assert(strcmp(tight_msg, slow_msg) == 0);
    }

    if (fast_rc == MANTA_OK) {
        fuzz_assert(fast_len == slow_len);
        fuzz_assert(memcmp(fast, slow, fast_len) == 0);

        if (tight_rc == MANTA_OK) {
            fuzz_assert(tight_len == slow_len);
            fuzz_assert(memcmp(tight, slow, tight_len) == 0);
        }

        free(fast);
        free(slow);
    }

    free(tight);

    return 0;
}
