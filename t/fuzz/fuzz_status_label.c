/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * Fuzzes the Prometheus label escaper (manta_status_escape): the input is
 * a label value.  The escaped value holds no bare double quote or line
 * feed and no backslash that does not start \\, \" or \n; unescaped it is
 * the input again; its length is the one returned; into a smaller buffer
 * the same length is returned, nothing is written past the buffer, and
 * what is written is the beginning of the whole.
 */


#include <stdlib.h>
#include <string.h>

#include "manta_status.h"
#include "fuzz.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char    *out, *part, *back;
    size_t   n, i, j, cut;

    out = malloc(2 * size + 1);
    back = malloc(size + 1);
    fuzz_assert(out != NULL && back != NULL);

    n = manta_status_escape(out, 2 * size, (const char *) data, size);
    fuzz_assert(n >= size && n <= 2 * size);

    for (i = 0, j = 0; i < n; i++) {
        fuzz_assert(out[i] != '"' && out[i] != '\n');

        if (out[i] == '\\') {
            fuzz_assert(i + 1 < n);
            i++;
            fuzz_assert(out[i] == '\\' || out[i] == '"' || out[i] == 'n');
            back[j++] = (out[i] == 'n') ? '\n' : out[i];
            continue;
        }

        back[j++] = out[i];
    }

    fuzz_assert(j == size && memcmp(back, data, size) == 0);

    cut = size ? data[0] % (n + 1) : 0;

    part = malloc(cut + 1);
    fuzz_assert(part != NULL);

    part[cut] = 'Z';
    fuzz_assert(manta_status_escape(part, cut, (const char *) data, size)
                == n);
    fuzz_assert(part[cut] == 'Z');

    /* a character that does not fit whole is not written at all */
    for (i = 0; i < cut && part[i] == out[i]; i++) { /* void */ }
    fuzz_assert(i == cut || (i == cut - 1 && out[i] == '\\'));

    free(part);
    free(back);
    free(out);

    return 0;
}
