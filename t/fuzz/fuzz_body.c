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
#include "fuzz.h"


#define PREFIX  "{\"secret\":\"s\\\"x\",\"name\":\""


static void check(const manta_body_opts_t *opts, const char *data,
    size_t len, int with_re);
static void name_ok(const manta_body_opts_t *opts, const char *name,
    size_t len, int idempotent);
static int zero_width(const char *data, size_t len);


static manta_re_t  *name_re;


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char  err[128];

    (void) argc;
    (void) argv;

    fuzz_json_init();

    name_re = manta_re_compile(S("^[\\p{L}\\p{N}][\\p{L}\\p{N}\\p{M} ._'-]*$"),
                               MANTA_RE_UTF, err, sizeof(err));
    fuzz_assert(name_re != NULL);

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    manta_body_opts_t  opts;

    if (size == 0) {
        return 0;
    }

    opts.unknown_fields = (data[0] & 1) ? MANTA_UNKNOWN_FIELDS_DROP
                                        : MANTA_UNKNOWN_FIELDS_REJECT;
    opts.client_secret = (data[0] & 2) ? MANTA_CLIENT_SECRET_REPLACE
                                       : MANTA_CLIENT_SECRET_REJECT;
    opts.name_max_length = (data[0] >> 2) ? (size_t) (data[0] >> 2) : 64;

    opts.name_re = NULL;
    check(&opts, (const char *) data + 1, size - 1, 0);

    opts.name_re = name_re;
    check(&opts, (const char *) data + 1, size - 1, 1);

    return 0;
}


static void
check(const manta_body_opts_t *opts, const char *data, size_t len,
    int with_re)
{
    char               *name, *plain, *body;
    size_t              name_len, plain_len, n, body_len;
    json_t             *root, *v;
    manta_reason_t      rc, rc_plain;
    manta_body_opts_t   o;

    name = (char *) 1;
    name_len = 7;

    rc = manta_body_check(opts, data, len, &name, &name_len);

    fuzz_assert(rc != MANTA_NOMEM);

    if (rc != MANTA_OK) {
        fuzz_assert(name == NULL && name_len == 0);
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

    name_ok(opts, name, name_len,
            !zero_width(json_string_value(v), json_string_length(v)));

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

        rc_plain = manta_body_check(&o, data, len, &plain, &plain_len);
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


/* the normalized name: SPEC section 3 */

static void
name_ok(const manta_body_opts_t *opts, const char *name, size_t len,
    int idempotent)
{
    char               *again;
    size_t              count, again_len;
    uint32_t            cp, prev;
    const char         *p, *last;
    manta_reason_t      rc;
    manta_body_opts_t   o;

    fuzz_assert(len > 0);
    fuzz_assert(fuzz_utf8_valid(name, len));
    fuzz_assert(name[0] != ' ' && name[len - 1] != ' ');

    p = name;
    last = name + len;
    count = 0;
    prev = 0;

    while (p < last) {
        cp = fuzz_utf8_next(&p);
        count++;

        /* controls, DEL, C1 */
        fuzz_assert(cp >= 0x20 && cp != 0x7f && (cp < 0x80 || cp > 0x9f));

        /* bidi controls */
        fuzz_assert(!(cp >= 0x202a && cp <= 0x202e)
                    && !(cp >= 0x2066 && cp <= 0x2069));

        /* zero-width */
        fuzz_assert(!(cp >= 0x200b && cp <= 0x200d) && cp != 0x2060
                    && cp != 0xfeff);

        /* White_Space other than U+0020 */
        fuzz_assert(cp != 0xa0 && cp != 0x1680
                    && !(cp >= 0x2000 && cp <= 0x200a) && cp != 0x2028
                    && cp != 0x2029 && cp != 0x202f && cp != 0x205f
                    && cp != 0x3000);

        fuzz_assert(!(cp == ' ' && prev == ' '));

        prev = cp;
    }

    fuzz_assert(p == last);
    fuzz_assert(count <= opts->name_max_length);

    /* removing zero-width characters after NFC may leave non-NFC text */

    if (!idempotent) {
        return;
    }

    /* in NFC, and normalizing it again changes nothing */

    fuzz_assert(fuzz_nfc(name, len));

    o = *opts;
    o.name_re = NULL;

    rc = manta_name_normalize(&o, name, len, &again, &again_len);

    fuzz_assert(rc == MANTA_OK && again_len == len
                && memcmp(again, name, len) == 0);

    free(again);
}


/* U+200B .. U+200D, U+2060, U+FEFF in valid UTF-8 */

static int
zero_width(const char *data, size_t len)
{
    return memmem(data, len, "\xe2\x80\x8b", 3) != NULL
           || memmem(data, len, "\xe2\x80\x8c", 3) != NULL
           || memmem(data, len, "\xe2\x80\x8d", 3) != NULL
           || memmem(data, len, "\xe2\x81\xa0", 3) != NULL
           || memmem(data, len, "\xef\xbb\xbf", 3) != NULL;
}
