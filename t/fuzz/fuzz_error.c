/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * Fuzzes the error rewrite (manta_error_rewrite) with a token and a secret
 * to redact, with the body and with a NULL (unparsed) body.  The first
 * byte picks the status, the second whether there is a botId and values
 * to redact, and whether the secret is digits only; the rest is the
 * upstream body.  No result holds a redacted value in its bytes.
 */


#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "manta_error.h"
#include "manta_json.h"
#include "manta_reason.h"
#include "../unit/alloc.h"
#include "fuzz.h"


#define TOKEN   "TOKEN-Zq9"
#define SECRET  "SEC\"RET"
#define DIGITS  "4711"
#define BOT_ID  "bot-1"


static int is_response(json_t *root);
static int tree_holds(json_t *value);
static void shape_ok(const char *out, size_t len, int status,
    const char *bot_id, size_t nredact, int fresh, json_t *in);
static void null_body_ok(int status, const char *bot_id,
    const manta_str_t *redact, size_t nredact);


static const char *const  needles[] = { TOKEN, SECRET };
static const char *const  digit_needles[] = { TOKEN, DIGITS };
static const char *const  *raw_needles;

static const manta_str_t  creds[] = {
    { S(TOKEN) },
    { S(SECRET) }
};

static const manta_str_t  digit_creds[] = {
    { S(TOKEN) },
    { S(DIGITS) }
};


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                 status, fresh, raw;
    char               *out;
    size_t              len, out_len, nredact;
    json_t             *in;
    const char         *body, *bot_id;
    manta_error_rc_t    rc;
    const manta_str_t  *redact;

    if (size < 2) {
        return 0;
    }

    status = 400 + data[0] % 200;
    bot_id = (data[1] & 1) ? NULL : BOT_ID;
    redact = (data[1] & 2) ? NULL : (data[1] & 4) ? digit_creds : creds;
    nredact = (data[1] & 2) ? 0 : 2;
    raw_needles = (data[1] & 4) ? digit_needles : needles;

    body = (const char *) data + 2;
    len = size - 2;

    null_body_ok(status, bot_id, redact, nredact);

    out = (char *) 1;
    out_len = 7;

    rc = alloc_error_rewrite(body, len, status, bot_id,
                             bot_id ? sizeof(BOT_ID) - 1 : 0, redact,
                             nredact, &out, &out_len);

    fuzz_assert(rc == MANTA_ERROR_PASS || rc == MANTA_ERROR_REWRITTEN);

    /* the body as the module parses it: one object, no duplicates */

    in = len ? json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL) : NULL;

    if (!json_is_object(in)) {
        json_decref(in);
        in = NULL;
    }

    fresh = !is_response(in) || (nredact && tree_holds(in) == 2);

    /* held in the bytes: either shape, unless held in strings only */

    raw = nredact && fuzz_holds(body, len, raw_needles, 2);

    if (rc == MANTA_ERROR_PASS) {
        fuzz_assert(out == NULL && out_len == 0);
        fuzz_assert(nredact == 0 || !fuzz_holds(body, len, raw_needles, 2));
        fuzz_assert(!fresh);
        fuzz_assert(bot_id == NULL
                    || json_object_get(json_object_get(in, "errResponse"),
                                       "botId")
                       != NULL);
        fuzz_assert(nredact == 0 || !tree_holds(in));

        json_decref(in);
        return 0;
    }

    /* a valid ErrorResponse with nothing to change passes */

    fuzz_assert(fresh
                || (bot_id != NULL
                    && json_object_get(json_object_get(in, "errResponse"),
                                       "botId")
                       == NULL)
                || (nredact != 0 && tree_holds(in)) || raw);

    shape_ok(out, out_len, status, bot_id, nredact, raw ? -1 : fresh, in);

    json_decref(in);
    free(out);

    return 0;
}


/*
 * A valid ErrorResponse, written again: "success" false, "errResponse" an
 * object with a string "message", an integer "code" and, if present, a
 * string "botId"
 */

static int
is_response(json_t *root)
{
    json_t  *er, *v;

    if (root == NULL || !json_is_false(json_object_get(root, "success"))) {
        return 0;
    }

    er = json_object_get(root, "errResponse");

    if (!json_is_object(er)
        || !json_is_string(json_object_get(er, "message"))
        || !json_is_integer(json_object_get(er, "code")))
    {
        return 0;
    }

    v = json_object_get(er, "botId");

    return v == NULL || json_is_string(v);
}


/* 2: a member name holds the token or secret, 1: a string does, else 0 */

static int
tree_holds(json_t *value)
{
    int          rc, n;
    size_t       i;
    json_t      *v;
    const char  *key;

    rc = 0;

    if (value == NULL) {
        return 0;
    }

    switch (json_typeof(value)) {

    case JSON_OBJECT:
        json_object_foreach(value, key, v) {
            if (fuzz_holds(key, strlen(key), raw_needles, 2)) {
                return 2;
            }

            n = tree_holds(v);

            if (n > rc) {
                rc = n;
            }
        }

        return rc;

    case JSON_ARRAY:
        json_array_foreach(value, i, v) {
            n = tree_holds(v);

            if (n > rc) {
                rc = n;
            }
        }

        return rc;

    case JSON_STRING:
        return fuzz_holds(json_string_value(value), json_string_length(value),
                          raw_needles, 2);

    default:
        return 0;
    }
}


static void
shape_ok(const char *out, size_t len, int status, const char *bot_id,
    size_t nredact, int fresh, json_t *in)
{
    json_t  *root, *er, *v;

    fuzz_assert(out != NULL && out[len] == '\0' && strlen(out) == len);

    root = json_loadb(out, len, JSON_REJECT_DUPLICATES, NULL);

    fuzz_assert(is_response(root));
    fuzz_assert(nredact == 0 || tree_holds(root) == 0);
    fuzz_assert(nredact == 0 || !fuzz_holds(out, len, raw_needles, 2));

    er = json_object_get(root, "errResponse");
    v = json_object_get(er, "botId");

    if (bot_id) {
        fuzz_assert(v != NULL);
    }

    if (fresh < 0) {
        json_decref(root);
        return;
    }

    if (!fresh) {
        /* the upstream's ErrorResponse, re-serialized: its code kept */

        fuzz_assert(json_integer_value(json_object_get(er, "code"))
                    == json_integer_value(json_object_get(
                           json_object_get(in, "errResponse"), "code")));
        fuzz_assert(json_object_size(root) == json_object_size(in));

        json_decref(root);
        return;
    }

    /* a new ErrorResponse */

    fuzz_assert(json_object_size(root) == 2);
    fuzz_assert(json_object_size(er) == (bot_id ? 3 : 2));
    fuzz_assert(json_integer_value(json_object_get(er, "code")) == status);
    fuzz_assert(json_string_length(json_object_get(er, "message"))
                <= MANTA_ERROR_MESSAGE_MAX);

    if (bot_id) {
        fuzz_assert(strcmp(json_string_value(v), bot_id) == 0);
    }

    json_decref(root);
}


/* no body: exactly the reason phrase */

static void
null_body_ok(int status, const char *bot_id, const manta_str_t *redact,
    size_t nredact)
{
    char              *out, *expected;
    size_t             out_len, n, bot_id_len;
    unsigned           plain;
    const char        *phrase;
    manta_error_rc_t   rc;

    bot_id_len = bot_id ? strlen(bot_id) : 0;

    rc = alloc_error_rewrite(NULL, 0, status, bot_id, bot_id_len, redact,
                             nredact, &out, &out_len);

    fuzz_assert(rc == MANTA_ERROR_REWRITTEN);

    phrase = manta_status_phrase(status);

    plain = 0;
    n = manta_error_body_len(phrase, strlen(phrase), status, bot_id,
                             bot_id_len, &plain);
    expected = malloc(n);
    fuzz_assert(expected != NULL);

    fuzz_assert(manta_error_body(expected, phrase, strlen(phrase), status,
                                 bot_id, bot_id_len, plain)
                == n);
    fuzz_assert(out_len == n && memcmp(out, expected, n) == 0);

    free(expected);
    free(out);
}
