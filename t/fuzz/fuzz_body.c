/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * Fuzzes the request body check and name normalization (manta_body_check,
 * with and without a name pattern) and the forwarded body built from the
 * normalized name (manta_body_build).
 *
 * The first byte picks the options, the rest is the body.
 */


#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "manta_request.h"
#include "../unit/alloc.h"
#include "fuzz.h"


#define PREFIX  "{\"secret\":\"s\\\"x\",\"name\":\""


static void check(const manta_body_opts_t *opts, const char *data,
    size_t len, int with_re);
static void name_ok(const manta_body_opts_t *opts, const char *name,
    size_t len);


static manta_re_t  *name_re;


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;

    fuzz_json_init();

    name_re = fuzz_re(S("^[\\p{L}\\p{N}][\\p{L}\\p{N}\\p{M} ._'-]*$"),
                      MANTA_RE_UTF);

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    manta_body_opts_t  opts;

    if (size == 0) {
        return 0;
    }

    fuzz_body_opts(&opts, data[0]);
    check(&opts, (const char *) data + 1, size - 1, 0);

    opts.name_re = name_re;
    check(&opts, (const char *) data + 1, size - 1, 1);

    return 0;
}


static void
check(const manta_body_opts_t *opts, const char *data, size_t len,
    int with_re)
{
    char               *name, *plain, *body, msg[MANTA_MESSAGE_MAX];
    size_t              name_len, plain_len, n, body_len;
    json_t             *root, *v;
    manta_reason_t      rc, rc_plain;
    manta_body_opts_t   o;

    name = (char *) 1;
    name_len = 7;

    rc = alloc_body_check(opts, data, len, &name, &name_len, msg,
                          sizeof(msg));

    fuzz_assert(rc != MANTA_NOMEM);

    if (rc != MANTA_OK) {
        fuzz_assert(name == NULL && name_len == 0);

        /* every rejection says why, in valid UTF-8 without a control */
        fuzz_assert(msg[0] != '\0' && fuzz_utf8_valid(msg, strlen(msg)));

        for (n = 0; msg[n] != '\0'; n++) {
            fuzz_assert((unsigned char) msg[n] >= 0x20 && msg[n] != 0x7f);
        }

        fuzz_assert(rc == MANTA_INVALID_JSON || rc == MANTA_INVALID_NAME
                    || rc == MANTA_CLIENT_SECRET
                    || rc == MANTA_UNKNOWN_FIELD);
        return;
    }

    fuzz_assert(name != NULL && name[name_len] == '\0');

    root = json_loadb(data, len, JSON_REJECT_DUPLICATES, NULL);
    fuzz_assert(json_is_object(root));

    v = json_object_get(root, "name");
    fuzz_assert(json_is_string(v));

    name_ok(opts, name, name_len);

    if (opts->client_secret == MANTA_CLIENT_SECRET_REJECT) {
        fuzz_assert(json_object_get(root, "secret") == NULL);
    }

    if (opts->unknown_fields == MANTA_UNKNOWN_FIELDS_REJECT) {
        fuzz_assert(json_object_size(root)
                    == 1 + (json_object_get(root, "secret") != NULL));
    }

    json_decref(root);

    if (with_re) {
        fuzz_assert(manta_re_match(name_re, name, name_len) == 1);

        /* the pattern only adds a check */

        o = *opts;
        o.name_re = NULL;

        rc_plain = alloc_body_check(&o, data, len, &plain, &plain_len, NULL,
                                    0);
        fuzz_assert(rc_plain == MANTA_OK && plain_len == name_len
                    && memcmp(plain, name, name_len) == 0);
        free(plain);
    }

    /* the forwarded body is one object with the server's secret */

    body_len = manta_body_build_len(sizeof(PREFIX) - 1, name, name_len);
    body = malloc(body_len);
    fuzz_assert(body != NULL);

    n = manta_body_build(body, PREFIX, sizeof(PREFIX) - 1, name, name_len);
    fuzz_assert(n == body_len);

    root = json_loadb(body, body_len, JSON_REJECT_DUPLICATES, NULL);
    fuzz_assert(json_is_object(root) && json_object_size(root) == 2);

    v = json_object_get(root, "secret");
    fuzz_assert(json_is_string(v) && strcmp(json_string_value(v), "s\"x") == 0);

    v = json_object_get(root, "name");
    fuzz_assert(json_is_string(v) && json_string_length(v) == name_len
                && memcmp(json_string_value(v), name, name_len) == 0);

    /* compact, in that key order */

    fuzz_assert(memcmp(body, PREFIX, sizeof(PREFIX) - 1) == 0);
    fuzz_assert(memcmp(body + body_len - 2, "\"}", 2) == 0);

    json_decref(root);
    free(body);
    free(name);
}


/* the normalized name is NFC: normalizing it again changes nothing */

static void
name_ok(const manta_body_opts_t *opts, const char *name, size_t len)
{
    char               *again;
    size_t              again_len;
    manta_reason_t      rc;
    manta_body_opts_t   o;

    fuzz_name_invariants(name, len, opts->name_max_length);

    o = *opts;
    o.name_re = NULL;

    rc = alloc_name_normalize(&o, name, len, &again, &again_len, NULL, 0);

    fuzz_assert(rc == MANTA_OK && again_len == len
                && memcmp(again, name, len) == 0);

    free(again);
}
