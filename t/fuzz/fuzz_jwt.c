/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * Fuzzes the JWT claims of a token (exp, nbf) through the credentials
 * file.  An even first byte: the rest is the claims JSON, sent as the
 * base64url payload of a JWT; an odd one: the rest is the token itself.
 * Either is JSON-escaped into {"token":"...","secret":"s"}.
 */


#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "manta_creds.h"
#include "manta_json.h"
#include "fuzz.h"
#include "../unit/b64url.h"


#define JWT_HEAD  "eyJhbGciOiJIUzI1NiJ9."
#define JWT_SIG   ".c2ln"


static char *jwt(const char *payload, size_t len, size_t *out_len);
static void claim_is(const char *payload, size_t len, const char *name,
    int has, long long value);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                  valid;
    char                *token, *json, *p, err[256];
    size_t               token_len, len;
    manta_creds_t       *creds;
    const manta_cred_t  *cred;

    if (size == 0) {
        return 0;
    }

    if (data[0] & 1) {
        token_len = size - 1;
        token = malloc(token_len + 1);
        fuzz_assert(token != NULL);
        memcpy(token, data + 1, token_len);

    } else {
        token = jwt((const char *) data + 1, size - 1, &token_len);
    }

    len = sizeof("{\"token\":\"\",\"secret\":\"s\"}") - 1
          + manta_json_escape_len(token, token_len);
    json = malloc(len);
    fuzz_assert(json != NULL);

    p = memcpy(json, "{\"token\":\"", 10);
    p = manta_json_escape(p + 10, token, token_len);
    memcpy(p, "\",\"secret\":\"s\"}", 15);
    fuzz_assert((size_t) (p + 15 - json) == len);

    creds = manta_creds_parse(json, len, err, sizeof(err));

    valid = token_len > 0 && fuzz_utf8_valid(token, token_len)
            && !fuzz_control(token, token_len);

    fuzz_assert((creds != NULL) == valid);

    if (creds == NULL) {
        free(json);
        free(token);
        return 0;
    }

    cred = creds->dflt;

    fuzz_assert(cred != NULL && creds->nbots == 0);
    fuzz_assert(cred->token_len == token_len
                && memcmp(cred->token, token, token_len) == 0);

    if (!(data[0] & 1)) {
        claim_is((const char *) data + 1, size - 1, "exp", cred->has_exp,
                 cred->exp);
        claim_is((const char *) data + 1, size - 1, "nbf", cred->has_nbf,
                 cred->nbf);
    }

    if (!cred->has_exp && !cred->has_nbf) {
        fuzz_assert(manta_cred_expired(cred, 0) == 0);
        fuzz_assert(manta_cred_expired(cred, 1700000000) == 0);
    }

    if (cred->has_exp) {
        fuzz_assert(manta_cred_expired(cred, (time_t) cred->exp) == 1);
    }

    if (cred->has_nbf && cred->nbf > LLONG_MIN) {
        fuzz_assert(manta_cred_expired(cred, (time_t) (cred->nbf - 1)) == 1);
    }

    if (cred->has_exp && !cred->has_nbf && cred->exp > LLONG_MIN) {
        fuzz_assert(manta_cred_expired(cred, (time_t) (cred->exp - 1)) == 0);
    }

    if (cred->has_nbf && !cred->has_exp) {
        fuzz_assert(manta_cred_expired(cred, (time_t) cred->nbf) == 0);
    }

    manta_creds_free(creds);
    free(json);
    free(token);

    return 0;
}


/* HEAD.base64url(payload).SIG, base64url without padding */

static char *
jwt(const char *payload, size_t len, size_t *out_len)
{
    char  *dst, *p;

    dst = malloc(sizeof(JWT_HEAD) + (len + 2) / 3 * 4 + sizeof(JWT_SIG));
    fuzz_assert(dst != NULL);

    p = memcpy(dst, JWT_HEAD, sizeof(JWT_HEAD) - 1);
    p = b64url_encode(p + sizeof(JWT_HEAD) - 1, payload, len);

    memcpy(p, JWT_SIG, sizeof(JWT_SIG) - 1);
    p += sizeof(JWT_SIG) - 1;

    *out_len = (size_t) (p - dst);

    return dst;
}


/* the claim as jansson reads the payload: integers exact, reals rounded up */

static void
claim_is(const char *payload, size_t len, const char *name, int has,
    long long value)
{
    double   d;
    json_t  *root, *v;

    root = json_loadb(payload, len, 0, NULL);
    v = json_is_object(root) ? json_object_get(root, name) : NULL;

    if (json_is_integer(v)) {
        fuzz_assert(has && value == json_integer_value(v));

    } else if (json_is_real(v)) {
        d = json_real_value(v);

        fuzz_assert(has);

        if (d > -4503599627370496.0 && d < 4503599627370496.0) {
            fuzz_assert((double) value >= d && (double) (value - 1) < d);
        }

    } else {
        fuzz_assert(!has);
    }

    json_decref(root);
}
