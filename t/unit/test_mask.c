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
