/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * Fuzzes the Content-Type check (manta_content_type_ok) against a PCRE2
 * rendering of the same rule.  The input is the header value.
 */


#include "manta_request.h"
#include "fuzz.h"


/* OWS is SP or HTAB; case-insensitive; charset=utf-8, optionally quoted */

#define RULE                                                                 \
    "(?i)^[ \\t]*application/json[ \\t]*"                                    \
    "(;[ \\t]*charset[ \\t]*=[ \\t]*(utf-8|\"utf-8\")[ \\t]*)?$"


/* compiled on the first input */
static manta_re_t  *rule;


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int  rc, expected;

    if (rule == NULL) {
        rule = fuzz_re(S(RULE), 0);
    }

    rc = manta_content_type_ok((const char *) data, size);
    expected = manta_re_match(rule, (const char *) data, size);

    fuzz_assert(expected == 0 || expected == 1);
    fuzz_assert(rc == expected);

    return 0;
}
