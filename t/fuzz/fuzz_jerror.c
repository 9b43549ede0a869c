/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * Fuzzes manta_jerror() against jansson itself: a text it judges is one
 * json_loadb() (JSON_REJECT_DUPLICATES) rejects with the same error code
 * and byte position; a text jansson accepts is never judged.
 *
 * The first byte picks the input's shape: odd, the other bytes are taken
 * as they are; even, each is mapped onto the bytes JSON is made of, so
 * that most inputs come near to JSON and go deep into the parser.
 */


#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "manta_jerror.h"
#include "fuzz.h"


static const char  alphabet[] = "{}[]:,\"\"\"\\ \t\n\r0123456789-.eE+"
                                "truefalsenulxa/bfu@'\x7f";


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                   judged;
    char                 *text;
    size_t                i, len, position;
    json_t               *root;
    json_error_t          err;
    enum json_error_code  code;

    if (size == 0) {
        return 0;
    }

    len = size - 1;

    text = malloc(len + 1);
    fuzz_assert(text != NULL);

    for (i = 0; i < len; i++) {
        text[i] = (data[0] & 1) ? (char) data[i + 1]
                  : alphabet[data[i + 1] % (sizeof(alphabet) - 1)];
    }

    code = json_error_unknown;
    position = 0;

    judged = manta_jerror(text, len, &code, &position);

    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);

    if (judged) {
        fuzz_assert(root == NULL);
        fuzz_assert(code == json_error_code(&err));
        fuzz_assert(position == (size_t) err.position);
    }

    json_decref(root);
    free(text);

    return 0;
}
