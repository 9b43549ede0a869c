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
 * So must manta_body_check_text() for every body it takes, into a buffer
 * of exactly len bytes, with the name JSON-escaped as manta_body_build()
 * writes it; it never takes one with a buffer a byte shorter.
 *
 * The first byte picks the options, the rest is the body.
 */


#include <stdlib.h>
#include <string.h>

#include "manta_json.h"
#include "manta_request.h"
#include "../unit/alloc.h"
#include "fuzz.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                 taken;
    char               *fast, *slow, *tight, *plain, *esc,
                        fast_msg[MANTA_MESSAGE_MAX],
                        slow_msg[MANTA_MESSAGE_MAX],
                        tight_msg[MANTA_MESSAGE_MAX],
                        plain_msg[MANTA_MESSAGE_MAX];
    size_t              fast_len, slow_len, tight_len, tight_size, plain_len,
                        esc_len;
    manta_reason_t      fast_rc, slow_rc, tight_rc, plain_rc;
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

    /* exactly len bytes (1 for an empty body): ASan sees any overrun */

    plain = malloc(size > 1 ? size - 1 : 1);
    fuzz_assert(plain != NULL);

    /*
     * manta_body_check_text() for every body it takes: the same answer and
     * message, the name JSON-escaped
     */

    plain_rc = MANTA_NOMEM;
    plain_len = 0;

    taken = manta_body_check_text(&opts, (const char *) data + 1, size - 1,
                                  plain, size - 1, &plain_len, &plain_rc,
                                  plain_msg, sizeof(plain_msg));

    if (taken) {
        fuzz_assert(plain_rc == slow_rc);
        fuzz_assert(strcmp(plain_msg, slow_msg) == 0);

        if (plain_rc == MANTA_OK) {
            esc = malloc(manta_json_escape_len(slow, slow_len) + 1);
            fuzz_assert(esc != NULL);
            esc_len = (size_t) (manta_json_escape(esc, slow, slow_len) - esc);

            fuzz_assert(plain_len == esc_len);
            fuzz_assert(memcmp(plain, esc, esc_len) == 0);
            free(esc);

        } else {
            fuzz_assert(plain_len == 0);
        }
    }

    if (size > 1) {
        fuzz_assert(manta_body_check_text(&opts, (const char *) data + 1,
                                          size - 1, plain, size - 2,
                                          &plain_len, &plain_rc, plain_msg,
                                          sizeof(plain_msg))
                    == 0);
    }

    free(plain);

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
