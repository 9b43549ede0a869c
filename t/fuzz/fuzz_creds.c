/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * Fuzzes the credentials file (manta_creds_parse), the lookup of every
 * bot, token expiry and release (manta_creds_free).  The input is the
 * file.
 */


#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "manta_creds.h"
#include "manta_json.h"
#include "fuzz.h"


static void cred_ok(const manta_cred_t *cred);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                  rc;
    char                 err[256], small[8];
    size_t               i, n;
    manta_creds_t       *creds, *again;
    const manta_cred_t  *cred;

    memset(err, 'X', sizeof(err));

    creds = manta_creds_parse((const char *) data, size, err, sizeof(err));

    /* the same answer with a short error buffer, truncated */

    memset(small, 'X', sizeof(small));
    again = manta_creds_parse((const char *) data, size, small,
                              sizeof(small));

    fuzz_assert((creds == NULL) == (again == NULL));
    fuzz_assert(memchr(small, '\0', sizeof(small)) != NULL);
    fuzz_assert(memchr(err, '\0', sizeof(err)) != NULL);

    manta_creds_free(again);

    if (creds == NULL) {
        fuzz_assert(err[0] != '\0');
        fuzz_assert(strncmp(err, small, strlen(small)) == 0);
        return 0;
    }

    fuzz_assert(err[0] == '\0');
    fuzz_assert(creds->dflt != NULL || creds->nbots > 0);

    if (creds->dflt) {
        fuzz_assert(creds->dflt->bot_id == NULL);
        cred_ok(creds->dflt);
    }

    for (i = 0; i < creds->nbots; i++) {
        cred = &creds->bots[i];

        fuzz_assert(cred->bot_id != NULL && cred->bot_id_len > 0);
        fuzz_assert(strlen(cred->bot_id) == cred->bot_id_len);

        if (i > 0) {
            /* sorted bytewise, no duplicates */
            n = cred[-1].bot_id_len < cred->bot_id_len ? cred[-1].bot_id_len
                                                       : cred->bot_id_len;
            rc = memcmp(cred[-1].bot_id, cred->bot_id, n);
            fuzz_assert(rc < 0
                        || (rc == 0 && cred[-1].bot_id_len < cred->bot_id_len));
        }

        fuzz_assert(manta_creds_lookup(creds, cred->bot_id, cred->bot_id_len)
                    == cred);

        if (cred->bot_id_len > 1) {
            fuzz_assert(manta_creds_lookup(creds, cred->bot_id,
                                           cred->bot_id_len - 1)
                        != cred);
        }

        cred_ok(cred);
    }

    cred = manta_creds_lookup(creds, S("\x01-no-such-bot"));
    fuzz_assert(cred == creds->dflt);

    /* every caller is found, allowed each bot it lists, and serves them */

    for (i = 0; i < creds->ncallers; i++) {
        const manta_caller_t  *c, *found;

        c = &creds->callers[i];

        fuzz_assert(c->id.len > 0 && strlen(c->id.data) == c->id.len);

        if (c->nbots == 0 && !c->any) {
            fuzz_assert(manta_caller_allowed(creds, c->id.data, c->id.len,
                                             S("\x01-no-such-bot"), &found)
                        == MANTA_CALLER_DENIED);
            fuzz_assert(found == c);
        }

        for (n = 0; n < c->nbots; n++) {
            fuzz_assert(manta_creds_lookup(creds, c->bots[n].data,
                                           c->bots[n].len)
                        != NULL);
            fuzz_assert(manta_caller_allowed(creds, c->id.data, c->id.len,
                                             c->bots[n].data, c->bots[n].len,
                                             &found)
                        == MANTA_CALLER_OK);
            fuzz_assert(found == c);
        }
    }

    manta_creds_free(creds);

    return 0;
}


static void
cred_ok(const manta_cred_t *cred)
{
    char      *body;
    size_t     i, len;
    json_t    *root, *v;
    long long  t;

    fuzz_assert(cred->token_len > 0 && cred->secret_len > 0);
    fuzz_assert(strlen(cred->token) == cred->token_len);
    fuzz_assert(strlen(cred->secret) == cred->secret_len);
    fuzz_assert(!fuzz_control(cred->token, cred->token_len));
    fuzz_assert(!fuzz_control(cred->secret, cred->secret_len));

    /* the shared token_expired log record */

    fuzz_assert(cred->warned != NULL);

    fuzz_assert(cred->authorization_len == 7 + cred->token_len);
    fuzz_assert(memcmp(cred->authorization, "Bearer ", 7) == 0);
    fuzz_assert(memcmp(cred->authorization + 7, cred->token, cred->token_len)
                == 0);
    fuzz_assert(cred->authorization[cred->authorization_len] == '\0');

    fuzz_assert(strlen(cred->token_id) == MANTA_TOKEN_ID_LEN);

    for (i = 0; i < MANTA_TOKEN_ID_LEN; i++) {
        fuzz_assert(strchr("0123456789abcdef", cred->token_id[i]) != NULL);
    }

    fuzz_assert(cred->burst >= -1 && cred->burst <= 1000000000);

    /* the forwarded body made with the prefix carries the secret */

    len = cred->body_prefix_len + sizeof("n\"}") - 1;
    body = malloc(len);
    fuzz_assert(body != NULL);

    memcpy(body, cred->body_prefix, cred->body_prefix_len);
    memcpy(body + cred->body_prefix_len, "n\"}", sizeof("n\"}") - 1);

    root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    fuzz_assert(json_is_object(root) && json_object_size(root) == 2);

    v = json_object_get(root, "secret");
    fuzz_assert(json_is_string(v) && json_string_length(v) == cred->secret_len
                && memcmp(json_string_value(v), cred->secret,
                          cred->secret_len)
                   == 0);

    v = json_object_get(root, "name");
    fuzz_assert(json_is_string(v) && strcmp(json_string_value(v), "n") == 0);

    json_decref(root);
    free(body);

    /* expiry */

    if (!cred->has_exp && !cred->has_nbf) {
        fuzz_assert(manta_cred_expired(cred, 0) == 0);
        fuzz_assert(manta_cred_expired(cred, 1700000000) == 0);
        return;
    }

    if (cred->has_exp) {
        fuzz_assert(manta_cred_expired(cred, (time_t) cred->exp) == 1);
    }

    if (cred->has_nbf && cred->nbf > LLONG_MIN) {
        fuzz_assert(manta_cred_expired(cred, (time_t) (cred->nbf - 1)) == 1);
    }

    if (cred->has_exp && cred->has_nbf && cred->nbf < cred->exp) {
        t = cred->nbf + (long long) (((unsigned long long) cred->exp
                                      - (unsigned long long) cred->nbf) / 2);
        fuzz_assert(manta_cred_expired(cred, (time_t) t) == 0);
    }
}
