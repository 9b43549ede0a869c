/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * Fuzzes the streaming masker (manta_mask_step): the first byte picks the
 * patterns (and, by its bit 2, whether the length is known beforehand, as
 * from a Content-Length), the second seeds the piece lengths; the rest is
 * the body.  The
 * body is masked in pieces, alternately in place and copied, and must come
 * out exactly as the whole body masked at once: same length, every byte of
 * every occurrence of a pattern a '*', every other byte unchanged, and
 * never more than the longest pattern less one byte held back, nothing
 * once a known length is complete.  The fast path alongside: a twin mask
 * started from a pattern set (manta_mask_start(), its memory given at its
 * first step) passes a piece by manta_mask_clean() exactly when the first
 * needs no work, steps the same, and the set's search (manta_mask_any())
 * answers as manta_mask_holds() on every piece and the whole body.  The
 * log writer's masker of a whole line (manta_mask_set() with the set,
 * manta_mask_all() with the patterns) masks the body as each pattern's
 * occurrences found from left to right, one after the other, would be.
 */


#include <stdlib.h>
#include <string.h>

#include "manta_mask.h"
#include "manta_util.h"
#include "fuzz.h"


static void fuzz_mask_line(const manta_pats_t *ps, const manta_str_t *pat,
    const size_t *anchor, const unsigned char *body, size_t len);


static const manta_str_t  sets[4][2] = {
    { { S("TOKEN-Zq9") }, { S("s3cr3t") } },
    { { S("abab") }, { S("ba") } },
    { { S("20000123") }, { S("0") } },
    { { S("x") }, { S("") } }
};


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t               i, k, j, len, pos, piece, n, nrel, total, window,
                         anchor[2];
    unsigned             seed;
    size_t               n2, nrel2, total2, size2;
    unsigned char       *mem, *body, *out, *ref, *buf, *copy, *rel;
    unsigned char       *mem2, *out2, *buf2, *rel2;
    manta_mask_t         m, m2;
    manta_pats_t         ps;
    const manta_str_t   *pat;

    if (size < 2) {
        return 0;
    }

    pat = sets[data[0] % 4];
    seed = data[1];
    body = (unsigned char *) data + 2;
    len = size - 2;

    /* bit 3: each pattern searched for its rarest byte */

    anchor[0] = manta_anchor(pat[0].data, pat[0].len);
    anchor[1] = manta_anchor(pat[1].data, pat[1].len);

    mem = malloc(manta_mask_init(&m, pat, (data[0] & 8) ? anchor : NULL, 2)
                 + 1);
    fuzz_assert(mem != NULL);
    manta_mask_memory(&m, mem);

    window = m.window;

    if (data[0] & 4) {
        manta_mask_length(&m, len);
    }

    /* the twin, from a set, its memory taken at its first step */

    manta_pats_init(&ps);

    for (k = 0; k < 2; k++) {
        manta_pats_add(&ps, pat[k].data, pat[k].len,
                       (data[0] & 8) ? anchor[k] : 0);
    }

    size2 = manta_mask_start(&m2, &ps, (data[0] & 4) ? (long long) len : -1);
    fuzz_assert(m2.window == window);
    mem2 = NULL;
    total2 = 0;

    fuzz_assert(manta_mask_any(&ps, body, len)
                == manta_mask_holds(body, len, pat,
                                    (data[0] & 8) ? anchor : NULL, 2));

    out = malloc(len + 1);
    ref = malloc(len + 1);
    buf = malloc(len + 1);
    copy = malloc(len + 1);
    rel = malloc(window + 1);
    out2 = malloc(len + 1);
    buf2 = malloc(len + 1);
    rel2 = malloc(window + 1);
    fuzz_assert(out && ref && buf && copy && rel && out2 && buf2 && rel2);

    /* the whole body at once */

    memcpy(ref, body, len);

    for (i = 0; i < len; i++) {
        for (k = 0; k < 2; k++) {
            if (pat[k].len && pat[k].len <= len - i
                && memcmp(body + i, pat[k].data, pat[k].len) == 0)
            {
                for (j = 0; j < pat[k].len; j++) {
                    ref[i + j] = '*';
                }
            }
        }
    }

    /* in pieces */

    total = 0;

    for (pos = 0, i = 0; pos < len; pos += piece, i++) {
        seed = seed * 1103515245 + 12345;
        piece = 1 + (seed >> 16) % 13;

        if (piece > len - pos) {
            piece = len - pos;
        }

        memcpy(buf, body + pos, piece);
        memcpy(buf2, body + pos, piece);

        fuzz_assert(manta_mask_any(&ps, buf, piece)
                    == manta_mask_holds(buf, piece, pat,
                                        (data[0] & 8) ? anchor : NULL, 2));

        if (manta_mask_clean(&m2, buf2, piece)) {
            memcpy(out2 + total2, buf2, piece);
            total2 += piece;

        } else {
            if (mem2 == NULL) {
                mem2 = malloc(size2 + 1);
                fuzz_assert(mem2 != NULL);
                manta_mask_memory(&m2, mem2);
            }

            n2 = manta_mask_step(&m2, buf2, buf2, piece, rel2, &nrel2);
            memcpy(out2 + total2, rel2, nrel2);
            total2 += nrel2;
            memcpy(out2 + total2, buf2, n2);
            total2 += n2;
        }

        if (!manta_mask_needed(&m, buf, piece)) {
            fuzz_assert(m.carry == 0);
            manta_mask_pass(&m, piece);
            memcpy(out + total, buf, piece);
            total += piece;

            /* the twin passed it too, and stands where m does */

            fuzz_assert(total2 == total && m2.carry == 0
                        && m2.left == m.left && m2.found == m.found);
            continue;
        }

        n = manta_mask_step(&m, buf, (i & 1) ? buf : copy, piece, rel, &nrel);

        fuzz_assert(n <= piece && m.carry <= window);

        memcpy(out + total, rel, nrel);
        total += nrel;
        memcpy(out + total, (i & 1) ? buf : copy, n);
        total += n;

        fuzz_assert(total + m.carry == pos + piece);
        fuzz_assert(!(data[0] & 4) || pos + piece < len || m.carry == 0);

        /* the twin stepped too, the same */

        fuzz_assert(total2 == total && m2.carry == m.carry
                    && m2.left == m.left && m2.found == m.found
                    && memcmp(out2, out, total) == 0);
    }

    total += manta_mask_flush(&m, out + total);
    total2 += manta_mask_flush(&m2, out2 + total2);

    fuzz_assert(total == len && total2 == len);
    fuzz_assert(memcmp(out, ref, len) == 0);
    fuzz_assert(memcmp(out2, ref, len) == 0);

    fuzz_mask_line(&ps, pat, (data[0] & 8) ? anchor : NULL, body, len);

    free(mem);
    free(mem2);
    free(out2);
    free(buf2);
    free(rel2);
    free(out);
    free(ref);
    free(buf);
    free(copy);
    free(rel);

    return 0;
}


static void
fuzz_mask_line(const manta_pats_t *ps, const manta_str_t *pat,
    const size_t *anchor, const unsigned char *body, size_t len)
{
    size_t          i, k, n, n1, n2;
    unsigned char  *want, *set, *all;

    want = malloc(len + 1);
    set = malloc(len + 1);
    all = malloc(len + 1);
    fuzz_assert(want && set && all);

    memcpy(want, body, len);
    memcpy(set, body, len);
    memcpy(all, body, len);

    n = 0;

    for (k = 0; k < 2; k++) {
        for (i = 0; pat[k].len && i + pat[k].len <= len; /* void */ ) {
            if (memcmp(want + i, pat[k].data, pat[k].len) == 0) {
                memset(want + i, MANTA_MASK_BYTE, pat[k].len);
                i += pat[k].len;
                n++;

            } else {
                i++;
            }
        }
    }

    n1 = manta_mask_set(ps, set, len);
    n2 = manta_mask_all(all, len, pat, anchor, 2);

    fuzz_assert(n1 == n && n2 == n);
    fuzz_assert(memcmp(set, want, len) == 0 && memcmp(all, want, len) == 0);

    free(want);
    free(set);
    free(all);
}
