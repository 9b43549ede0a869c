/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * manta_mask.c: same-length masking of the token and the secret in a
 * streamed body, across piece boundaries.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manta_mask.h"
#include "manta_util.h"
#include "tap.h"
#include "tests.h"


#define S(s)  (s), (sizeof(s) - 1)

#define TOKEN       "TOKEN-42"
#define TOKENSTARS  "********"      /* TOKEN masked */
#define SECRET      "s3cr3t"

#define MAXLEN  4096


typedef struct {
    const char  *body;
    size_t       cuts[8];    /* piece lengths, 0-terminated; rest last */
    const char  *expected;
    const char  *test;
} mask_case_t;


static size_t run(const manta_str_t *pat, size_t npat, const char *body,
    size_t len, const size_t *cuts, int mode, char *out, size_t *max_held,
    size_t *found);
static void reference(const manta_str_t *pat, size_t npat, const char *body,
    size_t len, char *out);
static void test_mask_set(void);
static void test_mask_set_edges(void);
static void test_mask_set_streams(void);
static void test_mask_cred_pats(void);
static void test_mask_line(void);
static size_t mask_line_naive(const manta_str_t *pat, size_t npat,
    char *s, size_t len);
static size_t run_set(const manta_pats_t *ps, const char *body, size_t len,
    const size_t *cuts, int mode, char *out, size_t *bad);
static unsigned next_rand(unsigned *seed);
static const void *naive_find(const char *hay, size_t hlen,
    const char *needle, size_t nlen);


static const size_t  none[8];

static const manta_str_t  creds[] = {
    { S(TOKEN) },
    { S(SECRET) }
};


static const mask_case_t  cases[] = {

    { "no secret at all", { 0 }, "no secret at all",
      "untouched without an occurrence" },
    { "", { 0 }, "", "empty body" },
    { "a " TOKEN " b", { 0 }, "a ******** b", "token in one piece" },
    { SECRET, { 0 }, "******", "the whole body is the secret" },
    { "x" TOKEN SECRET "y", { 0 }, "x**************y",
      "token then secret, adjacent" },
    { "{\"n\":" SECRET "}", { 3, 4, 0 }, "{\"n\":******}",
      "secret split over three pieces" },
    { "ab" TOKEN "cd", { 3, 1, 1, 1, 1, 1, 1, 0 }, "ab********cd",
      "token one byte a piece" },
    { "TOKEN-4" "TOKEN-42", { 7, 0 }, "TOKEN-4********",
      "prefix, then the token from the next piece" },
    { "TOKEN-4", { 0 }, "TOKEN-4", "a prefix at the end is released" },
    { "TOKEN-4", { 3, 0 }, "TOKEN-4",
      "a prefix over two pieces at the end is released" },
    { "s3cs3cr3t", { 4, 0 }, "s3c******",
      "a false start, then the secret" },
    { "TOKEN-42" "TOKEN-42", { 9, 0 }, "****************",
      "two tokens over the cut" },
    { "TOKEN-s3cr3t", { 8, 0 }, "TOKEN-******",
      "secret overlapping a token prefix" },
    { "TOKEN-42", { 0 }, "********", "exactly the token" },
    { "-", { 0 }, "-", "one byte" },
};


/* manta_mask_all()'s contract, written the plain way */

static size_t
mask_line_naive(const manta_str_t *pat, size_t npat, char *s, size_t len)
{
    size_t  k, i, n;

    n = 0;

    for (k = 0; k < npat; k++) {
        for (i = 0; pat[k].len && i + pat[k].len <= len; /* void */ ) {
            if (memcmp(s + i, pat[k].data, pat[k].len) == 0) {
                memset(s + i, MANTA_MASK_BYTE, pat[k].len);
                i += pat[k].len;
                n++;

            } else {
                i++;
            }
        }
    }

    return n;
}


/*
 * The log writer's masking of a whole line with a credential's set
 * (manta_mask_set()), and manta_mask_all(), against the plain way: lines
 * of up to 300 bytes (short ones searched with memchr(), longer ones
 * with memmem()) of a few letters, one to three patterns anchored
 * anywhere, occurrences side by side, overlapping, at both ends
 */

static void
test_mask_line(void)
{
    char          want[320], got[320], all[320], pats[3][12];
    size_t        i, k, j, len, npat, bad, nw, ng, na, anchor[3];
    unsigned      seed;
    manta_str_t   pat[3];
    manta_pats_t  ps;

    seed = 11;
    bad = 0;

#define NEXT(n)  (seed = seed * 1103515245 + 12345, (seed >> 16) % (n))

    for (i = 0; i < 30000; i++) {
        len = NEXT(301);
        npat = 1 + NEXT(3);

        manta_pats_init(&ps);

        for (k = 0; k < npat; k++) {
            pat[k].len = 1 + NEXT(sizeof(pats[k]));
            pat[k].data = pats[k];

            for (j = 0; j < pat[k].len; j++) {
                pats[k][j] = "abJ"[NEXT(3)];
            }

            anchor[k] = NEXT(pat[k].len);
            manta_pats_add(&ps, pat[k].data, pat[k].len, anchor[k]);
        }

        for (j = 0; j < len; j++) {
            want[j] = "abJ"[NEXT(3)];
        }

        /* now and then the patterns themselves, at the ends too */

        for (k = 0; k < npat && NEXT(2) && len >= pat[k].len; k++) {
            j = NEXT(3) ? NEXT(len - pat[k].len + 1)
                        : (NEXT(2) ? 0 : len - pat[k].len);
            memcpy(want + j, pat[k].data, pat[k].len);
        }

        memcpy(got, want, len);
        memcpy(all, want, len);

        nw = mask_line_naive(pat, npat, want, len);
        ng = manta_mask_set(&ps, (unsigned char *) got, len);
        na = manta_mask_all((unsigned char *) all, len, pat,
                            NEXT(2) ? anchor : NULL, npat);

        bad += (nw != ng || nw != na || memcmp(want, got, len) != 0
                || memcmp(want, all, len) != 0);
    }

#undef NEXT

    ok(bad == 0, "mask a line: a set and manta_mask_all() mask as the "
       "plain way does (%zu lines differ)", bad);

    manta_pats_init(&ps);
    ok(manta_mask_set(&ps, (unsigned char *) got, 10) == 0,
       "mask a line: an empty set masks nothing");

    manta_pats_add(&ps, TOKEN, sizeof(TOKEN) - 1, 2);
    memcpy(got, "TOKEN-4", 7);
    ok(manta_mask_set(&ps, (unsigned char *) got, 7) == 0
       && memcmp(got, "TOKEN-4", 7) == 0,
       "mask a line: a line shorter than the pattern, its prefix, is kept");
    memcpy(got, "xTOKEN-42", 9);
    ok(manta_mask_set(&ps, (unsigned char *) got, 9) == 1
       && memcmp(got, "x" TOKENSTARS, 9) == 0,
       "mask a line: the pattern that ends the line");
}


void
test_mask(void)
{
    int           mode;
    char          out[MAXLEN], ref[MAXLEN], body[MAXLEN];
    size_t        i, j, n, len, npat, max_held, found, cuts[8];
    unsigned      seed;
    manta_str_t   pat[2];
    manta_mask_t  m;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (mode = 0; mode < 8; mode++) {
            len = strlen(cases[i].body);
            n = run(creds, 2, cases[i].body, len, cases[i].cuts, mode,
                    out, &max_held, &found);

            ok(n == len && memcmp(out, cases[i].expected, len) == 0,
               "mask: %s (%s, %s, %s)", cases[i].test,
               (mode & 1) ? "in place" : "copied",
               (mode & 2) ? "length known, last piece holds nothing back"
                          : "length unknown",
               (mode & 4) ? "searched by the rarest byte"
                          : "by the first byte");

            if (n != len || memcmp(out, cases[i].expected, len) != 0) {
                diag("got \"%.*s\", expected \"%s\"", (int) n, out,
                     cases[i].expected);
            }

            ok(max_held <= sizeof(TOKEN) - 2,
               "mask: %s: at most %d bytes held back (%zu)", cases[i].test,
               (int) sizeof(TOKEN) - 2, max_held);
        }
    }

    /* nothing to mask: the piece passes as it is */

    manta_mask_init(&m, creds, NULL, 2);
    ok(!manta_mask_needed(&m, (const unsigned char *) S("plain body")),
       "mask: a piece without candidates needs no work");
    ok(manta_mask_needed(&m, (const unsigned char *) S("ends TOK")),
       "mask: a piece ending with a token prefix needs work");
    ok(manta_mask_needed(&m, (const unsigned char *) S("a s3cr3t b")),
       "mask: a piece with the secret needs work");

    /* a whole line (the log writer's): no pattern left whole */

    {
        static const struct {
            const char  *in;
            const char  *out;
            size_t       n;
            const char  *test;
        } lines[] = {
            { "upstream sent invalid header: \"X: " TOKEN "\"",
              "upstream sent invalid header: \"X: " TOKENSTARS "\"", 1,
              "the token in a log line" },
            { "a s3cr3t b s3cr3t", "a ****** b ******", 2,
              "every occurrence of the secret" },
            { "s3cr3" "t" TOKEN, "******" TOKENSTARS, 2,
              "the secret next to the token" },
            { "nothing here", "nothing here", 0, "a line without them" },
        };

        char    line[256];
        size_t  anchors[2];

        anchors[0] = manta_anchor(S(TOKEN));
        anchors[1] = manta_anchor(S(SECRET));

        for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
            len = strlen(lines[i].in);
            memcpy(line, lines[i].in, len);

            n = manta_mask_all((unsigned char *) line, len, creds, NULL, 2);

            ok(n == lines[i].n && memcmp(line, lines[i].out, len) == 0,
               "mask all: %s", lines[i].test);

            memcpy(line, lines[i].in, len);
            n = manta_mask_all((unsigned char *) line, len, creds, anchors, 2);

            ok(n == lines[i].n && memcmp(line, lines[i].out, len) == 0,
               "mask all, searched by the rarest byte: %s", lines[i].test);
            ok(manta_mask_holds((const unsigned char *) lines[i].in, len,
                                creds, NULL, 2) == (lines[i].n != 0)
               && manta_mask_holds((const unsigned char *) lines[i].in, len,
                                   creds, anchors, 2) == (lines[i].n != 0),
               "mask holds: %s", lines[i].test);
        }

        ok(!manta_mask_holds((const unsigned char *) S("s3cr3"), creds,
                             anchors, 2),
           "mask holds: a proper prefix of the secret is not it");
    }

    /* the search by any byte of the needle finds the leftmost occurrence */

    {
        char          hay[300], needle[12];
        size_t        hlen, nlen, anchor, k, bad;
        unsigned      seed2;
        const void   *a, *b;

        seed2 = 5;
        bad = 0;

        for (i = 0; i < 20000; i++) {
            seed2 = seed2 * 1103515245 + 12345;
            hlen = (seed2 >> 16) % sizeof(hay);
            seed2 = seed2 * 1103515245 + 12345;
            nlen = 1 + (seed2 >> 16) % sizeof(needle);
            seed2 = seed2 * 1103515245 + 12345;
            anchor = (seed2 >> 16) % nlen;

            for (k = 0; k < hlen; k++) {
                seed2 = seed2 * 1103515245 + 12345;
                hay[k] = "abcJ"[(seed2 >> 16) % 4];
            }

            for (k = 0; k < nlen; k++) {
                seed2 = seed2 * 1103515245 + 12345;
                needle[k] = "abcJ"[(seed2 >> 16) % 4];
            }

            a = manta_find(hay, hlen, needle, nlen);
            b = manta_find_at(hay, hlen, needle, nlen, anchor);

            bad += (a != b);
        }

        ok(bad == 0, "find: by any byte of the needle, the same leftmost "
           "occurrence as by the first, on 20000 random searches");

        is_int((int) manta_anchor(S("eyJhbGciOi")), 2,
               "anchor: the J of a JWT's eyJ, not its e");
    }

    /*
     * every search against the naive one, by every byte of the needle: hays
     * of every length to 300 (searched with memchr() and a look at the
     * needle's last byte, the longer ones with memmem()), needles at the
     * very end, each hay in a buffer of its own length (read no further
     * under ASan)
     */

    {
        char          *hay, needle[40];
        size_t         hlen, nlen, anchor, k, bad, tries;
        unsigned       seed3;
        const char    *alpha;
        const void    *want, *got;

        seed3 = 7;
        bad = 0;
        tries = 0;

        for (hlen = 0; hlen <= 300; hlen++) {
            hay = malloc(hlen ? hlen : 1);

            for (i = 0; i < 40; i++) {
                seed3 = seed3 * 1103515245 + 12345;
                nlen = 1 + (seed3 >> 16) % (i < 20 ? 4 : sizeof(needle));
                alpha = (i % 3 == 0) ? "ab" : (i % 3 == 1) ? "abcJ"
                                                           : "a\x80\xff\"";

                for (k = 0; k < hlen; k++) {
                    seed3 = seed3 * 1103515245 + 12345;
                    hay[k] = alpha[(seed3 >> 16) % strlen(alpha)];
                }

                for (k = 0; k < nlen; k++) {
                    seed3 = seed3 * 1103515245 + 12345;
                    needle[k] = alpha[(seed3 >> 16) % strlen(alpha)];
                }

                if (hlen >= nlen && i % 2) {
                    /* one occurrence at least, perhaps the very last */
                    seed3 = seed3 * 1103515245 + 12345;
                    k = (i % 4 == 1) ? hlen - nlen
                                     : (seed3 >> 16) % (hlen - nlen + 1);
                    memcpy(hay + k, needle, nlen);
                }

                want = naive_find(hay, hlen, needle, nlen);

                for (anchor = 0; anchor < nlen; anchor++) {
                    got = manta_find_at(hay, hlen, needle, nlen, anchor);
                    bad += (got != want);
                    tries++;
                }

                bad += (manta_find(hay, hlen, needle, nlen) != want);
            }

            free(hay);
        }

        ok(bad == 0, "find: as the naive search, on %d searches of hays "
           "of 0 to 300 bytes by every byte of the needle", (int) tries);
    }

    /* the search by the rarest byte at the edges of the hay */

    {
        size_t             i, a;
        const char        *hit;
        static const struct {
            const char    *hay;
            const char    *needle;
            long           at;          /* -1: not found */
            const char    *test;
        } edges[] = {
            { "eyJxyz", "eyJ", 0, "needle at the very start" },
            { "xyzeyJ", "eyJ", 3, "needle at the very end" },
            { "eyJ", "eyJ", 0, "hay the needle itself" },
            { "ey", "eyJ", -1, "hay shorter than the needle" },
            { "yJ", "eyJ", -1, "hay the needle's end only" },
            { "", "eyJ", -1, "empty hay" },
            { "aaaaaaaZ", "aaZ", 5, "anchor the last byte, after false "
              "starts" },
            { "ZZZZZZ", "ZZZ", 0, "overlapping occurrences: the first" },
            { "JeyJeyJ", "eyJ", 1, "anchor byte before the first place" },
            { "eyeyeJ", "eyJ", -1, "anchor byte where no start fits" },
            { "xxxxJ", "eyJ", -1, "anchor byte at the hay's last byte, "
              "too early for a match" },
        };

        for (i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
            a = manta_anchor(edges[i].needle, strlen(edges[i].needle));
            hit = manta_find_at(edges[i].hay, strlen(edges[i].hay),
                                edges[i].needle, strlen(edges[i].needle), a);

            is_int(hit ? hit - edges[i].hay : -1, edges[i].at,
                   "find by the rarest byte: %s", edges[i].test);
        }
    }

    /* no patterns: no memory, nothing to do */

    is_int(manta_mask_init(&m, NULL, NULL, 0), 0,
           "mask: no pattern, no memory");
    ok(!manta_mask_needed(&m, (const unsigned char *) S(TOKEN)),
       "mask: no pattern, nothing to do");

    /* long random streams over a tiny alphabet: many overlaps */

    seed = 12345;

    for (i = 0; i < 3000; i++) {
        npat = 1 + i % 2;

        /* self-overlapping patterns over "ab" */
        pat[0].data = (i % 3 == 0) ? "abab" : (i % 3 == 1) ? "aab" : "abaab";
        pat[0].len = strlen(pat[0].data);
        pat[1].data = (i % 5 == 0) ? "ba" : "bbab";
        pat[1].len = strlen(pat[1].data);

        len = 1 + (seed = seed * 1103515245 + 12345) % 200;

        for (j = 0; j < len; j++) {
            seed = seed * 1103515245 + 12345;
            body[j] = "abab b"[(seed >> 16) % 6];
        }

        for (j = 0; j < 7; j++) {
            seed = seed * 1103515245 + 12345;
            cuts[j] = (seed >> 16) % 7;    /* 0 ends the list early */
        }

        cuts[7] = 0;

        n = run(pat, npat, body, len, cuts, (int) (i & 7), out, &max_held,
                &found);
        reference(pat, npat, body, len, ref);

        if (n != len || memcmp(out, ref, len) != 0) {
            ok(0, "mask: random stream %zu matches the whole-body masking",
               i);
            diag("body \"%.*s\": got \"%.*s\", expected \"%.*s\"", (int) len,
                 body, (int) n, out, (int) len, ref);
            break;
        }
    }

    ok(i == 3000, "mask: 3000 random streams in random pieces, "
       "overlapping patterns, length known or not, match the whole-body "
       "masking");

    /* bytes beyond the length promised never pass as they are */

    {
        unsigned char  mem[64], piece[16], rel[16];

        manta_mask_init(&m, creds, NULL, 2);
        manta_mask_memory(&m, mem);
        manta_mask_length(&m, 3);

        memcpy(piece, "abc", 3);
        ok(!manta_mask_needed(&m, piece, 3),
           "mask: the piece completing the length needs no work");
        n = manta_mask_step(&m, piece, piece, 3, rel, &found);
        ok(n == 3 && m.carry == 0 && memcmp(piece, "abc", 3) == 0,
           "mask: the piece completing the length passes whole");

        memcpy(piece, "TOKEN-42", 8);
        ok(manta_mask_needed(&m, piece, 8),
           "mask: a piece beyond the length needs work");
        n = manta_mask_step(&m, piece, piece, 8, rel, &found);
        ok(n == 8 && found == 0 && memcmp(piece, TOKENSTARS, 8) == 0,
           "mask: a piece beyond the length is all masked");
    }

    test_mask_set();
}


/*
 * The fast path: a credential's pattern set (manta_pats_t), searched at
 * once (manta_mask_any()), and a mask started from it (manta_mask_start(),
 * memory given only before the first step) whose clean pieces pass with
 * manta_mask_clean(): checked against a plain search, manta_mask_holds(),
 * and masks made by manta_mask_init() on the same streams.
 */

static void
test_mask_set(void)
{
    int            want, got;
    char           hay[700], pbuf[MANTA_PATS_MAX][12];
    size_t         i, k, bad, hlen, npat, plen[MANTA_PATS_MAX];
    size_t         anchor[MANTA_PATS_MAX];
    unsigned       seed;
    manta_str_t    pat[MANTA_PATS_MAX];
    manta_pats_t   ps;

    /* the set: empty patterns skipped, a fourth ignored, the lengths */

    manta_pats_init(&ps);
    manta_pats_add(&ps, "abc", 3, 1);
    manta_pats_add(&ps, "", 0, 0);
    manta_pats_add(&ps, "x", 1, 5);
    manta_pats_add(&ps, "longer", 6, 2);
    manta_pats_add(&ps, "fourth", 6, 0);

    ok(ps.npat == 3 && ps.minlen == 1 && ps.maxlen == 6
       && ps.len[0] == 3 && ps.len[1] == 1 && ps.len[2] == 6,
       "mask set: empty and fourth patterns left out, shortest and longest");
    ok(ps.anchor[0] == 1 && ps.anchor[1] == 0 && ps.anchor[2] == 2,
       "mask set: an anchor out of its pattern is 0");

    manta_pats_init(&ps);
    ok(!manta_mask_any(&ps, (const unsigned char *) S("abc")),
       "mask set: an empty set finds nothing");

    /*
     * random hays of up to 700 bytes (beyond MANTA_FIND_SHORT: memmem()
     * for an anchor at 0) over a tiny alphabet, 1 to 3 patterns with
     * random anchors: the same answer as a plain search and as
     * manta_mask_holds()
     */

    seed = 777;
    bad = 0;

    for (i = 0; i < 30000; i++) {
        npat = 1 + next_rand(&seed) % MANTA_PATS_MAX;
        hlen = next_rand(&seed) % sizeof(hay);

        for (k = 0; k < hlen; k++) {
            hay[k] = "abJ"[next_rand(&seed) % 3];
        }

        manta_pats_init(&ps);

        for (k = 0; k < npat; k++) {
            size_t  j;

            plen[k] = 1 + next_rand(&seed) % sizeof(pbuf[k]);

            for (j = 0; j < plen[k]; j++) {
                pbuf[k][j] = "abJ"[next_rand(&seed) % 3];
            }

            /* half of them planted, somewhere or at the very end */

            if (plen[k] <= hlen && next_rand(&seed) % 2) {
                j = next_rand(&seed) % 3 ? next_rand(&seed)
                                           % (hlen - plen[k] + 1)
                                         : hlen - plen[k];
                memcpy(hay + j, pbuf[k], plen[k]);
            }

            pat[k].data = pbuf[k];
            pat[k].len = plen[k];
            anchor[k] = next_rand(&seed) % 2 ? next_rand(&seed) % plen[k] : 0;

            manta_pats_add(&ps, pbuf[k], plen[k], anchor[k]);
        }

        want = 0;

        for (k = 0; k < npat; k++) {
            size_t  j;

            for (j = 0; j + plen[k] <= hlen; j++) {
                if (memcmp(hay + j, pbuf[k], plen[k]) == 0) {
                    want = 1;
                }
            }
        }

        got = manta_mask_any(&ps, (const unsigned char *) hay, hlen);

        if (got != want
            || manta_mask_holds((const unsigned char *) hay, hlen, pat,
                                anchor, npat)
               != want)
        {
            if (bad++ == 0) {
                diag("hay of %zu bytes, %zu patterns: got %d, expected %d",
                     hlen, npat, got, want);
            }
        }
    }

    ok(bad == 0, "mask set: 30000 random searches, 1 to 3 patterns, any "
       "anchor, hays beyond %d bytes: the same answer as a plain search",
       MANTA_FIND_SHORT);

    test_mask_set_edges();
    test_mask_set_streams();
    test_mask_cred_pats();
    test_mask_line();
}


/* a pattern at every place of a hay, by every anchor; cut short by one */

static void
test_mask_set_edges(void)
{
    char          hay[300 + sizeof(TOKEN)];
    size_t        a, pos, hlen, bad;
    manta_pats_t  ps;

    bad = 0;

    for (a = 0; a < sizeof(TOKEN) - 1; a++) {
        manta_pats_init(&ps);
        manta_pats_add(&ps, S(SECRET), 0);
        manta_pats_add(&ps, S(TOKEN), a);

        for (hlen = sizeof(TOKEN) - 1; hlen < sizeof(hay); hlen += 37) {
            for (pos = 0; pos + sizeof(TOKEN) - 1 <= hlen; pos++) {
                memset(hay, 'T', hlen);
                memcpy(hay + pos, TOKEN, sizeof(TOKEN) - 1);

                bad += !manta_mask_any(&ps, (const unsigned char *) hay,
                                       hlen);

                /* the token's last byte, or its first, changed */

                hay[pos + sizeof(TOKEN) - 2] = 'x';
                bad += manta_mask_any(&ps, (const unsigned char *) hay,
                                      hlen);

                hay[pos + sizeof(TOKEN) - 2] = '2';
                hay[pos] = 'x';
                bad += manta_mask_any(&ps, (const unsigned char *) hay,
                                      hlen);
            }

            /* the token cut short by the end of the hay */

            memset(hay, 'T', hlen);
            memcpy(hay + hlen - (sizeof(TOKEN) - 2), TOKEN,
                   sizeof(TOKEN) - 2);
            bad += manta_mask_any(&ps, (const unsigned char *) hay, hlen);
        }
    }

    ok(bad == 0, "mask set: the token at every place of hays up to 300 "
       "bytes, by every anchor, found; one byte changed or cut, not found");

    manta_pats_init(&ps);
    manta_pats_add(&ps, S(SECRET), 0);
    manta_pats_add(&ps, S(TOKEN), 7);

    ok(manta_mask_any(&ps, (const unsigned char *) S(SECRET))
       && !manta_mask_any(&ps, (const unsigned char *) S("s3cr3"))
       && !manta_mask_any(&ps, (const unsigned char *) S("3cr3t")),
       "mask set: a hay that is the secret; one byte shorter, either end");

    /*
     * the anchor's byte at many places before the pattern, the first of
     * them where the pattern would be cut by the end, and last at the
     * last place an occurrence fits: the search goes on from each
     */

    manta_pats_init(&ps);
    manta_pats_add(&ps, S("aJJb"), 2);

    bad = 0;

    for (hlen = 4; hlen < 80; hlen++) {
        memset(hay, 'J', hlen);
        memcpy(hay + hlen - 4, "aJJb", 4);

        bad += !manta_mask_any(&ps, (const unsigned char *) hay, hlen);

        hay[hlen - 1] = 'J';
        bad += manta_mask_any(&ps, (const unsigned char *) hay, hlen);

        /* a place of 'J' after the last one an occurrence fits */

        memset(hay, 'x', hlen);
        memcpy(hay + hlen - 3, "aJJ", 3);
        bad += manta_mask_any(&ps, (const unsigned char *) hay, hlen);
    }

    ok(bad == 0, "mask set: the anchor's byte at every place before the "
       "pattern, the pattern at the end found; cut, or its last byte "
       "changed, not found");
}


/* random streams: a mask from a set, clean pieces passed by one call */

static void
test_mask_set_streams(void)
{
    int           mode;
    char          body[MAXLEN], out[MAXLEN], ref[MAXLEN];
    size_t        i, j, n, len, bad, mismatch, cuts[8];
    unsigned      seed;
    manta_str_t   pat[2];
    manta_pats_t  ps;

    seed = 4242;
    bad = 0;
    mismatch = 0;

    for (i = 0; i < 4000; i++) {
        pat[0].data = (i % 3 == 0) ? "abab" : (i % 3 == 1) ? "aab" : "abaab";
        pat[0].len = strlen(pat[0].data);
        pat[1].data = (i % 5 == 0) ? "ba" : "bbab";
        pat[1].len = strlen(pat[1].data);

        manta_pats_init(&ps);
        manta_pats_add(&ps, pat[0].data, pat[0].len,
                       manta_anchor(pat[0].data, pat[0].len));
        manta_pats_add(&ps, pat[1].data, pat[1].len, i % pat[1].len);

        len = 1 + next_rand(&seed) % 300;

        for (j = 0; j < len; j++) {
            body[j] = "abab bc"[next_rand(&seed) % 7];
        }

        for (j = 0; j < 7; j++) {
            cuts[j] = next_rand(&seed) % 9;
        }

        cuts[7] = 0;
        mode = (int) (i & 3);

        n = run_set(&ps, body, len, cuts, mode, out, &bad);
        reference(pat, 2, body, len, ref);

        if (n != len || memcmp(out, ref, len) != 0) {
            if (mismatch++ == 0) {
                diag("body \"%.*s\": got \"%.*s\", expected \"%.*s\"",
                     (int) len, body, (int) n, out, (int) len, ref);
            }
        }
    }

    ok(mismatch == 0, "mask set: 4000 random streams masked from a set, "
       "memory given at the first step only, match the whole-body masking");
    ok(bad == 0, "mask set: manta_mask_clean() is manta_mask_needed() then "
       "manta_mask_pass() on every piece of them");

    /* the piece completing a known length, ending with a token prefix */

    {
        manta_mask_t   m;
        unsigned char  piece[16];

        manta_pats_init(&ps);
        manta_pats_add(&ps, S(TOKEN), 0);
        manta_pats_add(&ps, S(SECRET), 0);

        ok(manta_mask_start(&m, &ps, 10) == 3 * (sizeof(TOKEN) - 2)
           && manta_mask_room(&m) == 3 * (sizeof(TOKEN) - 2)
           && m.orig == NULL && m.known && m.left == 10,
           "mask start: the memory's size, none taken, the length");

        memcpy(piece, "abcdeTOKEN", 10);
        ok(manta_mask_clean(&m, piece, 10) && m.left == 0 && m.carry == 0,
           "mask clean: a token prefix ending the length passes");

        ok(!manta_mask_clean(&m, piece, 1) && m.left == 0,
           "mask clean: a byte beyond the length does not pass");

        manta_mask_start(&m, &ps, 12);

        ok(!manta_mask_clean(&m, piece, 10) && m.left == 12,
           "mask clean: a token prefix before the length's end is held, "
           "nothing counted");

        memcpy(piece, "xxs3cr3t", 8);
        manta_mask_start(&m, &ps, -1);
        ok(!manta_mask_clean(&m, piece, 8) && m.left == 0 && !m.known,
           "mask clean: the secret at the very end of a piece, length "
           "unknown");
    }
}


/*
 * The body in pieces, as the glue does: clean pieces pass by
 * manta_mask_clean(), checked against manta_mask_needed() on a twin mask
 * made by manta_mask_init() (*bad counts differences); the memory is
 * given before the first step only.
 */

static size_t
run_set(const manta_pats_t *ps, const char *body, size_t len,
    const size_t *cuts, int mode, char *out, size_t *bad)
{
    int             last, clean, needed;
    size_t          i, k, pos, piece, n, nrel, total, size;
    manta_str_t     pat[MANTA_PATS_MAX];
    manta_mask_t    m, twin;
    unsigned char  *mem, *mem2, buf[MAXLEN], rel[MAXLEN];

    for (k = 0; k < ps->npat; k++) {
        pat[k].data = (const char *) ps->pat[k];
        pat[k].len = ps->len[k];
    }

    size = manta_mask_start(&m, ps, (mode & 2) ? (long long) len : -1);
    mem = NULL;

    mem2 = malloc(manta_mask_init(&twin, pat, ps->anchor, ps->npat) + 1);
    manta_mask_memory(&twin, mem2);

    if (mode & 2) {
        manta_mask_length(&twin, len);
    }

    total = 0;
    pos = 0;
    last = 0;

    for (i = 0; !last; i++) {
        if (i < 8 && cuts[i] != 0 && cuts[i] < len - pos) {
            piece = cuts[i];

        } else {
            piece = len - pos;
            last = 1;
        }

        memcpy(buf, body + pos, piece);

        needed = manta_mask_needed(&twin, buf, piece);
        clean = manta_mask_clean(&m, buf, piece);

        if (clean == needed) {
            (*bad)++;
        }

        if (clean) {
            manta_mask_pass(&twin, piece);
            memcpy(out + total, buf, piece);
            total += piece;

        } else {
            if (mem == NULL) {
                mem = malloc(size + 1);
                manta_mask_memory(&m, mem);
            }

            n = manta_mask_step(&m, buf, buf, piece, rel, &nrel);

            /* the twin keeps pace: the same step on a copy */
            {
                size_t         n2, nrel2;
                unsigned char  b2[MAXLEN], r2[MAXLEN];

                memcpy(b2, body + pos, piece);
                n2 = manta_mask_step(&twin, b2, b2, piece, r2, &nrel2);

                if (n2 != n || nrel2 != nrel) {
                    (*bad)++;
                }
            }

            memcpy(out + total, rel, nrel);
            total += nrel;
            memcpy(out + total, buf, n);
            total += n;
        }

        if (m.carry != twin.carry || m.left != twin.left) {
            (*bad)++;
        }

        pos += piece;
    }

    if (mode & 2 && m.carry != 0) {
        (*bad)++;
    }

    total += manta_mask_flush(&m, (unsigned char *) out + total);

    free(mem);
    free(mem2);

    return total;
}


/* the credential's set: the token, the secret, the escaped secret */

static void
test_mask_cred_pats(void)
{
    char                 err[256];
    manta_creds_t       *c;
    const manta_pats_t  *ps;

    c = manta_creds_parse(S("{\"token\":\"tok-1\",\"secret\":\"plain\","
                            "\"bots\":{\"q\":{\"secret\":\"a\\\"b\\\\c\"}}}"),
                          err, sizeof(err));

    if (!ok(c != NULL && c->dflt != NULL && c->nbots == 1,
            "cred pats: parsed (%s)", c ? "" : err))
    {
        return;
    }

    ps = &c->dflt->pats;

    ok(ps->npat == 2
       && ps->len[0] == 5 && memcmp(ps->pat[0], "tok-1", 5) == 0
       && ps->len[1] == 5 && memcmp(ps->pat[1], "plain", 5) == 0
       && ps->minlen == 5 && ps->maxlen == 5,
       "cred pats: a plain secret: the token and the secret");
    ok(ps->anchor[0] == c->dflt->token_anchor
       && ps->anchor[1] == c->dflt->secret_anchor,
       "cred pats: their anchors");

    ps = &c->bots[0].pats;

    ok(ps->npat == 3
       && ps->len[1] == 5 && memcmp(ps->pat[1], "a\"b\\c", 5) == 0
       && ps->len[2] == 7 && memcmp(ps->pat[2], "a\\\"b\\\\c", 7) == 0
       && ps->anchor[2] == c->bots[0].escaped_anchor
       && ps->minlen == 5 && ps->maxlen == 7,
       "cred pats: a secret with a quote and a backslash: also as the "
       "forwarded body spells it");

    manta_creds_free(c);
}


static unsigned
next_rand(unsigned *seed)
{
    *seed = *seed * 1103515245 + 12345;

    return *seed >> 16;
}


/* masks body in pieces of cuts[] (then the rest), as the filter does */

static size_t
run(const manta_str_t *pat, size_t npat, const char *body, size_t len,
    const size_t *cuts, int mode, char *out, size_t *max_held,
    size_t *found)
{
    int             in_place;
    int             last;
    size_t          i, pos, piece, n, nrel, total;
    size_t          anchor[2];
    unsigned char  *mem, buf[MAXLEN], copy[MAXLEN], rel[MAXLEN];
    manta_mask_t    m;

    for (i = 0; i < npat && i < 2; i++) {
        anchor[i] = manta_anchor(pat[i].data, pat[i].len);
    }

    mem = malloc(manta_mask_init(&m, pat, (mode & 4) ? anchor : NULL, npat)
                 + 1);
    manta_mask_memory(&m, mem);

    if (mode & 2) {
        manta_mask_length(&m, len);
    }

    in_place = mode & 1;
    total = 0;
    pos = 0;
    last = 0;
    *max_held = 0;

    for (i = 0; !last; i++) {
        if (i < 8 && cuts[i] != 0 && cuts[i] < len - pos) {
            piece = cuts[i];

        } else {
            /* the first 0 ends the list: the rest in one piece */
            cuts = none;
            piece = len - pos;
            last = 1;
        }

        memcpy(buf, body + pos, piece);

        if (!manta_mask_needed(&m, buf, piece)) {
            manta_mask_pass(&m, piece);
            memcpy(out + total, buf, piece);
            total += piece;

        } else {
            n = manta_mask_step(&m, buf, in_place ? buf : copy, piece, rel,
                                &nrel);

            memcpy(out + total, rel, nrel);
            total += nrel;
            memcpy(out + total, in_place ? buf : copy, n);
            total += n;
        }

        if (m.carry > *max_held) {
            *max_held = m.carry;
        }

        pos += piece;

        if ((mode & 2) && last && m.carry != 0) {
            /* nothing may be held back once the length is complete */
            total = (size_t) -1;
        }
    }

    if (total == (size_t) -1) {
        free(mem);
        return total;
    }

    total += manta_mask_flush(&m, (unsigned char *) out + total);

    *found = m.found;
    free(mem);

    return total;
}


/* every occurrence of every pattern in the whole body, masked */

static void
reference(const manta_str_t *pat, size_t npat, const char *body, size_t len,
    char *out)
{
    size_t  i, k, j;

    memcpy(out, body, len);

    for (i = 0; i < len; i++) {
        for (k = 0; k < npat; k++) {
            if (pat[k].len <= len - i
                && memcmp(body + i, pat[k].data, pat[k].len) == 0)
            {
                for (j = 0; j < pat[k].len; j++) {
                    out[i + j] = '*';
                }
            }
        }
    }
}


/* the first occurrence, compared at every place */

static const void *
naive_find(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
    size_t  i;

    for (i = 0; nlen != 0 && i + nlen <= hlen; i++) {
        if (memcmp(hay + i, needle, nlen) == 0) {
            return hay + i;
        }
    }

    return NULL;
}
