/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * Generates manta_nfc_qc.h, the per-code-point table name normalization
 * (src/manta_name.c) reads, from the Unicode data of the utf8proc the
 * module is built with:
 *
 *   gen_nfc_qc > manta_nfc_qc.h
 *
 * For each code point one byte:
 *
 *   bits 0-1  NFC_Quick_Check (UAX #15): MANTA_NFC_QC_YES, _MAYBE, _NO;
 *   bits 2-3  the non-starters (canonical combining class other than 0)
 *             that lead its canonical decomposition (itself when it has
 *             none);
 *   bits 4-5  the non-starters that trail it;
 *   bit 6     set when it has non-starters and all of them lead;
 *   bit 7     MANTA_NFC_QC_PLAIN: a code point above U+007F that steps 1
 *             to 5 of name normalization keep as it is, whatever its
 *             neighbours: step 1 does not reject it (not a control,
 *             private-use, unassigned or surrogate code point, nor a
 *             bidi control), step 2 does not remove it (not
 *             Default_Ignorable), it is a starter (combining class 0)
 *             whose canonical decomposition starts with a starter (no
 *             non-starter leads) and NFC_Quick_Check=Yes (so the text
 *             stays Stream-Safe and NFC around it), and it is neither
 *             White_Space nor U+2800 (steps 5 and 6).  It may be a
 *             combining mark of class 0, which step 6 rejects only at
 *             the start of a name.
 *
 * The Unicode data files are not needed: the properties are derived from
 * utf8proc's normalization itself.
 *
 *   No     NFC of the code point alone differs from it: singletons,
 *          composition exclusions, non-starter decompositions.
 *   Maybe  the code point can compose with a character before it: it ends
 *          the full canonical decomposition of a primary composite (a
 *          code point with a canonical decomposition of two or more code
 *          points that NFC leaves as it is), Hangul syllables included
 *          (their last jamo, V or T).  The canonical decomposition of a
 *          primary composite is a pair whose second element decomposes no
 *          further, so that this is the second element of the pair: the
 *          generator checks it (the code points before it must compose
 *          into one, the first element) and fails otherwise.  Hangul
 *          composition is algorithmic: the code points utf8proc composes
 *          with U+1100 (a leading consonant) or U+AC00 (an LV syllable)
 *          are Maybe too.  That adds U+11A7, which utf8proc 2.8 takes for
 *          a trailing consonant (and drops) after an LV syllable although
 *          Unicode does not compose it: with Maybe such text still goes
 *          through utf8proc and is normalized as it always was.
 *   Yes    every other code point.
 *
 * The stage-one index maps cp >> MANTA_NFC_QC_SHIFT to a block of the
 * stage-two data; equal blocks are stored once.  The shift is the one
 * that gives the smallest table.
 *
 * Then manta_nfc_pairs[], the pairs manta_name_scan() composes in its one
 * pass: S << 42 | M << 21 | C for each code point C whose full canonical
 * decomposition is that of S followed by M, where
 *
 *   C      is MANTA_NFC_QC_PLAIN (so NFC leaves it as it is: not a
 *          composition exclusion);
 *   M      has a combining class other than 0, NFC_Quick_Check Maybe and
 *          no decomposition; step 1 does not reject it, step 2 does not
 *          remove it;
 *   S      is printable ASCII but the space, '"' and '\\' (which the
 *          scanner writes escaped), or MANTA_NFC_QC_PLAIN, and no
 *          non-starter trails its canonical decomposition (bits 4-5 are
 *          0);
 *
 * and utf8proc's NFC of S M is C, C's UTF-8 no shorter than S's and no
 * longer than S's and M's together (the generator checks these, and fails
 * otherwise).  S is a
 * starter of NFC_Quick_Check Yes whose decomposition starts and ends with
 * a starter: nothing before it composes with it or what follows, and M,
 * alone after it, is not reordered.  So NFC(... S M X ...) is ... C X ...
 * for every X that is a starter of NFC_Quick_Check Yes whose
 * decomposition starts with a starter of NFC_Quick_Check Yes (printable
 * ASCII, White_Space, a MANTA_NFC_QC_PLAIN code point: the generator
 * checks that every such starter has such a decomposition), the end of
 * the name too;
 * C itself is never an S (a non-starter, M, trails it: checked too), so
 * the scanner leaves any other X, a second mark say, to the general path.
 * The table is a hash table of 2^MANTA_NFC_PAIR_BITS entries, at most a
 * third of them used, 0 for none: a pair is looked for from entry
 * manta_nfc_pair_slot(S << 21 | M) on, to the first that is 0.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>


#define CP_MAX       0x110000
#define QC_YES       0
#define QC_MAYBE     1
#define QC_NO        2
#define QC_PLAIN     0x80
#define PAIRS_MAX    4096

/* the hash of the key S << 21 | M (a uint64_t), into manta_nfc_qc.h */
#define PAIR_SLOT(k, bits)                                                   \
    ((size_t) ((k) * 0x9e3779b97f4a7c15ULL >> (64 - (bits))))
#define STRING(x)    STRING_(x)
#define STRING_(x)   #x


static int nfc_single(utf8proc_int32_t *cps, utf8proc_ssize_t n,
    utf8proc_int32_t *out);
static unsigned non_starters(utf8proc_int32_t cp);
static int plain(utf8proc_int32_t cp, unsigned v);
static size_t table_size(int shift, size_t *blocks);
static void emit(int shift);
static int stable_starters(void);
static size_t pairs(uint64_t *out);
static int pair_of(utf8proc_int32_t c, utf8proc_int32_t *s,
    utf8proc_int32_t *m);
static int utf8_len(utf8proc_int32_t cp);
static int pair_cmp(const void *a, const void *b);
static void emit_pairs(const uint64_t *pair, size_t n);


static unsigned char  value[CP_MAX];
static uint64_t       composed[PAIRS_MAX];
static uint64_t       slots[4 * PAIRS_MAX];


int
main(void)
{
    int                         shift, best, i;
    size_t                      size, min, blocks, counts[3];
    utf8proc_int32_t            cp, one, d[8], pair[2];
    utf8proc_ssize_t            n;
    const utf8proc_property_t  *prop;

    static const utf8proc_int32_t  hangul[2] = { 0x1100, 0xac00 };

    for (cp = 0; cp < CP_MAX; cp++) {
        if (cp >= 0xd800 && cp <= 0xdfff) {
            continue;
        }

        if (nfc_single(&cp, 1, &one) != 1 || one != cp) {
            value[cp] = QC_NO;
        }
    }

    for (cp = 0; cp < CP_MAX; cp++) {
        if ((cp >= 0xd800 && cp <= 0xdfff) || value[cp] == QC_NO) {
            continue;
        }

        prop = utf8proc_get_property(cp);

        if (prop->decomp_type != 0 && prop->decomp_seqindex != UINT16_MAX) {
            /* a compatibility decomposition: NFC does not compose it */
            continue;
        }

        n = utf8proc_decompose_char(cp, d, 8, UTF8PROC_DECOMPOSE, NULL);

        if (n < 0 || n > 8) {
            fprintf(stderr, "gen_nfc_qc: cannot decompose U+%04X\n",
                    (unsigned) cp);
            return 1;
        }

        if (n < 2) {
            continue;
        }

        if (nfc_single(d, n - 1, &one) != 1) {
            fprintf(stderr, "gen_nfc_qc: the canonical decomposition of "
                    "U+%04X is not a pair ending in U+%04X\n", (unsigned) cp,
                    (unsigned) d[n - 1]);
            return 1;
        }

        if (value[d[n - 1]] == QC_NO) {
            fprintf(stderr, "gen_nfc_qc: U+%04X composes but NFC changes "
                    "it\n", (unsigned) d[n - 1]);
            return 1;
        }

        value[d[n - 1]] = QC_MAYBE;
    }

    /*
     * Hangul composition is algorithmic: every code point utf8proc
     * composes with a leading consonant or an LV syllable
     */

    for (cp = 0; cp < CP_MAX; cp++) {
        if ((cp >= 0xd800 && cp <= 0xdfff) || value[cp] != QC_YES) {
            continue;
        }

        pair[1] = cp;

        for (i = 0; i < 2; i++) {
            pair[0] = hangul[i];

            if (nfc_single(pair, 2, &one) != 2) {
                value[cp] = QC_MAYBE;
            }
        }
    }

    counts[0] = counts[1] = counts[2] = 0;

    for (cp = 0; cp < CP_MAX; cp++) {
        counts[value[cp]]++;

        if (cp >= 0xd800 && cp <= 0xdfff) {
            continue;
        }

        value[cp] |= non_starters(cp);

        if (plain(cp, value[cp])) {
            value[cp] |= QC_PLAIN;
        }
    }

    best = 0;
    min = (size_t) -1;

    for (shift = 4; shift <= 10; shift++) {
        size = table_size(shift, &blocks);

        if (blocks <= 256 && size < min) {
            min = size;
            best = shift;
        }
    }

    if (best == 0) {
        fprintf(stderr, "gen_nfc_qc: no table of at most 256 blocks\n");
        return 1;
    }

    if (stable_starters() != 0) {
        return 1;
    }

    size = pairs(composed);

    if (size == 0) {
        return 1;
    }

    emit(best);
    emit_pairs(composed, size);

    fprintf(stderr, "gen_nfc_qc: Unicode %s, NFC_QC No %zu, Maybe %zu; "
            "%zu bytes; %zu pairs composed\n", utf8proc_unicode_version(),
            counts[QC_NO], counts[QC_MAYBE], min, size);

    return 0;
}


/* NFC of n code points: how many code points it has, the first in *out */

static int
nfc_single(utf8proc_int32_t *cps, utf8proc_ssize_t n, utf8proc_int32_t *out)
{
    int                n_out;
    utf8proc_uint8_t   buf[64], *nfc;
    utf8proc_int32_t   cp;
    utf8proc_ssize_t   i, len, m;

    len = 0;

    for (i = 0; i < n; i++) {
        len += utf8proc_encode_char(cps[i], buf + len);
    }

    m = utf8proc_map(buf, len, &nfc, UTF8PROC_STABLE | UTF8PROC_COMPOSE);

    if (m < 0) {
        fprintf(stderr, "gen_nfc_qc: utf8proc_map(U+%04X): %s\n",
                (unsigned) cps[0], utf8proc_errmsg(m));
        exit(1);
    }

    n_out = 0;

    for (i = 0; i < m; i += len) {
        len = utf8proc_iterate(nfc + i, m - i, &cp);

        if (n_out++ == 0) {
            *out = cp;
        }
    }

    free(nfc);

    return n_out;
}


/*
 * The non-starters of the canonical decomposition of cp (cp itself when
 * it has none), as bits 2 to 6 of its value
 */

static unsigned
non_starters(utf8proc_int32_t cp)
{
    unsigned                    count, lead, trail, i;
    utf8proc_int32_t            d[8];
    utf8proc_ssize_t            n;
    const utf8proc_property_t  *prop;

    prop = utf8proc_get_property(cp);

    if (prop->decomp_seqindex == UINT16_MAX || prop->decomp_type != 0) {
        count = (prop->combining_class != 0);
        lead = count;
        trail = count;

    } else {
        n = utf8proc_decompose_char(cp, d, 8, UTF8PROC_DECOMPOSE, NULL);

        if (n <= 0 || n > 8) {
            fprintf(stderr, "gen_nfc_qc: cannot decompose U+%04X\n",
                    (unsigned) cp);
            exit(1);
        }

        count = 0;

        for (i = 0; i < (unsigned) n; i++) {
            count += (utf8proc_get_property(d[i])->combining_class != 0);
        }

        for (lead = 0; lead < (unsigned) n; lead++) {
            if (utf8proc_get_property(d[lead])->combining_class == 0) {
                break;
            }
        }

        for (trail = 0; trail < (unsigned) n; trail++) {
            if (utf8proc_get_property(d[n - 1 - trail])->combining_class
                == 0)
            {
                break;
            }
        }
    }

    if (lead > 3 || trail > 3) {
        fprintf(stderr, "gen_nfc_qc: U+%04X has more than 3 non-starters "
                "at one end\n", (unsigned) cp);
        exit(1);
    }

    return lead << 2 | trail << 4 | (count != 0 && lead == count) << 6;
}


/*
 * The code points of bit 7 (see above), the same rules as
 * src/manta_name.c's manta_name_bad_cp(), manta_white_space() and
 * MANTA_BRAILLE_BLANK; t/unit/test_name.c checks the table against them
 */

static int
plain(utf8proc_int32_t cp, unsigned v)
{
    const utf8proc_property_t  *prop;

    if (cp < 0x80 || (v & 0x0f) != QC_YES) {
        return 0;
    }

    prop = utf8proc_get_property(cp);

    switch (prop->category) {

    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CN:
    case UTF8PROC_CATEGORY_CS:
        return 0;

    default:
        break;
    }

    if (cp == 0x061c || cp == 0x200e || cp == 0x200f
        || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
    {
        /* bidi controls */
        return 0;
    }

    if (prop->ignorable || prop->combining_class != 0) {
        return 0;
    }

    /* White_Space (but the controls) and U+2800 BRAILLE PATTERN BLANK */

    if (cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a)
        || cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f
        || cp == 0x3000 || cp == 0x2800)
    {
        return 0;
    }

    return 1;
}


static size_t
table_size(int shift, size_t *blocks)
{
    size_t  i, j, n, size;

    size = (size_t) 1 << shift;
    n = 0;

    for (i = 0; i < CP_MAX; i += size) {
        for (j = 0; j < i; j += size) {
            if (memcmp(value + i, value + j, size) == 0) {
                break;
            }
        }

        if (j == i) {
            n++;
        }
    }

    *blocks = n;

    return (CP_MAX >> shift) + n * size;
}


static void
emit(int shift)
{
    size_t  i, j, k, size, n, *index;

    size = (size_t) 1 << shift;
    n = CP_MAX >> shift;

    index = malloc(n * sizeof(size_t));
    if (index == NULL) {
        exit(1);
    }

    printf("/*\n"
           " * Generated by tools/gen_nfc_qc.c from utf8proc %s (Unicode "
           "%s):\n"
           " * do not edit.  Included once, by src/manta_name.c.\n"
           " */\n\n\n", utf8proc_version(), utf8proc_unicode_version());

    printf("#define MANTA_NFC_QC_SHIFT  %d\n\n\n", shift);

    printf("static const unsigned char  manta_nfc_qc_data[] = {");

    k = 0;

    for (i = 0; i < n; i++) {
        for (j = 0; j < i; j++) {
            if (memcmp(value + (i << shift), value + (j << shift), size)
                == 0)
            {
                break;
            }
        }

        if (j < i) {
            index[i] = index[j];
            continue;
        }

        index[i] = k++;

        for (j = 0; j < size; j++) {
            printf("%s0x%02x,", (j % 12 == 0) ? "\n    " : " ",
                   value[(i << shift) + j]);
        }
    }

    printf("\n};\n\n\n");

    printf("static const unsigned char  manta_nfc_qc_index[] = {");

    for (i = 0; i < n; i++) {
        printf("%s%3zu,", (i % 12 == 0) ? "\n    " : " ", index[i]);
    }

    printf("\n};\n");

    free(index);
}


/*
 * What the scanner's composition relies on for the code point X after
 * the mark: every starter of NFC_Quick_Check Yes whose decomposition
 * starts with a starter (table value 0 in bits 0-3: those the scanner
 * takes, printable ASCII, White_Space and MANTA_NFC_QC_PLAIN, among them)
 * has a canonical decomposition that starts with a starter of
 * NFC_Quick_Check Yes, so that no composite before it composes with it.
 * 0 when so.
 */

static int
stable_starters(void)
{
    utf8proc_int32_t  cp, d[8];
    utf8proc_ssize_t  n;

    for (cp = 0; cp < CP_MAX; cp++) {
        if ((cp >= 0xd800 && cp <= 0xdfff) || (value[cp] & 0x0f) != QC_YES
            || utf8proc_get_property(cp)->combining_class != 0)
        {
            continue;
        }

        n = utf8proc_decompose_char(cp, d, 8, UTF8PROC_DECOMPOSE, NULL);

        if (n <= 0 || n > 8 || utf8proc_get_property(d[0])->combining_class
            || (value[d[0]] & 3) != QC_YES)
        {
            fprintf(stderr, "gen_nfc_qc: U+%04X does not decompose to a "
                    "starter of NFC_Quick_Check Yes first\n", (unsigned) cp);
            return 1;
        }
    }

    return 0;
}


/*
 * The pairs of manta_nfc_pairs[] (see above) into out, sorted: returns
 * how many, 0 on failure
 */

static size_t
pairs(uint64_t *out)
{
    size_t            n, i, j;
    utf8proc_int32_t  c, s, m;

    n = 0;

    for (c = 0x80; c < CP_MAX; c++) {
        if (!(value[c] & QC_PLAIN) || !pair_of(c, &s, &m)) {
            continue;
        }

        if (n == PAIRS_MAX) {
            fprintf(stderr, "gen_nfc_qc: more than %d pairs\n", PAIRS_MAX);
            return 0;
        }

        out[n++] = (uint64_t) s << 42 | (uint64_t) m << 21 | (uint64_t) c;
    }

    qsort(out, n, sizeof(uint64_t), pair_cmp);

    /* no composite is the first of a pair, no pair is there twice */

    for (i = 0; i < n; i++) {
        for (j = 0; j < n; j++) {
            if ((out[i] & 0x1fffff) == out[j] >> 42
                || (j > i && out[i] >> 21 == out[j] >> 21))
            {
                fprintf(stderr, "gen_nfc_qc: U+%04X: a composite composed "
                        "again, or a pair twice\n",
                        (unsigned) (out[i] & 0x1fffff));
                return 0;
            }
        }
    }

    return n;
}


/*
 * The pair (S, M) of the composite c, a MANTA_NFC_QC_PLAIN code point, as
 * above: 1 when it has one the scanner may compose, 0 when not; exits
 * when utf8proc's NFC of the pair is not c
 */

static int
pair_of(utf8proc_int32_t c, utf8proc_int32_t *s, utf8proc_int32_t *m)
{
    utf8proc_int32_t            d[8], one, two[2];
    utf8proc_ssize_t            n;
    const utf8proc_property_t  *prop;

    n = utf8proc_decompose_char(c, d, 8, UTF8PROC_DECOMPOSE, NULL);

    if (n < 2 || n > 8) {
        return 0;
    }

    *m = d[n - 1];
    prop = utf8proc_get_property(*m);

    if (prop->combining_class == 0 || (value[*m] & 3) != QC_MAYBE
        || prop->ignorable || prop->category == UTF8PROC_CATEGORY_CN
        || prop->category == UTF8PROC_CATEGORY_CC
        || prop->category == UTF8PROC_CATEGORY_CO)
    {
        return 0;
    }

    if (nfc_single(d, n - 1, s) != 1) {
        return 0;
    }

    /* neither the space, '"' and '\\', nor any other White_Space */

    if ((*s < 0x80 && (*s <= 0x20 || *s >= 0x7f || *s == '"' || *s == '\\'))
        || (*s >= 0x80 && !(value[*s] & QC_PLAIN))
        || (value[*s] & 0x30) != 0)
    {
        return 0;
    }

    two[0] = *s;
    two[1] = *m;

    if (nfc_single(two, 2, &one) != 1 || one != c
        || utf8_len(c) > utf8_len(*s) + utf8_len(*m)
        || utf8_len(c) < utf8_len(*s))
    {
        fprintf(stderr, "gen_nfc_qc: U+%04X U+%04X: NFC is not U+%04X, or "
                "its length is not between theirs\n", (unsigned) *s,
                (unsigned) *m, (unsigned) c);
        exit(1);
    }

    return 1;
}


static int
utf8_len(utf8proc_int32_t cp)
{
    return (cp < 0x80) ? 1 : (cp < 0x800) ? 2 : (cp < 0x10000) ? 3 : 4;
}


static int
pair_cmp(const void *a, const void *b)
{
    uint64_t  x, y;

    x = *(const uint64_t *) a;
    y = *(const uint64_t *) b;

    return (x > y) - (x < y);
}


static void
emit_pairs(const uint64_t *pair, size_t n)
{
    int     bits;
    size_t  i, k, size, probes;

    for (bits = 4; ((size_t) 1 << bits) < 3 * n; bits++) { /* void */ }

    size = (size_t) 1 << bits;
    probes = 0;

    for (i = 0; i < n; i++) {
        k = PAIR_SLOT(pair[i] >> 21, bits);

        while (slots[k] != 0) {
            k = (k + 1) & (size - 1);
            probes++;
        }

        slots[k] = pair[i];
    }

    printf("\n\n/* S << 42 | M << 21 | C, hashed: see tools/gen_nfc_qc.c */"
           "\n\n#define MANTA_NFC_PAIRS      %zu\n"
           "#define MANTA_NFC_PAIR_BITS  %d\n\n"
           "/* k: a uint64_t */\n"
           "#define manta_nfc_pair_slot(k)                                   "
           "     \\\n    %s\n\n\n", n, bits,
           STRING(PAIR_SLOT(k, MANTA_NFC_PAIR_BITS)));

    printf("static const uint64_t  manta_nfc_pairs[] = {");

    for (i = 0; i < size; i++) {
        printf("%s0x%016llx,", (i % 3 == 0) ? "\n    " : " ",
               (unsigned long long) slots[i]);
    }

    printf("\n};\n");

    fprintf(stderr, "gen_nfc_qc: %zu pairs in %zu entries, %zu probes past "
            "their own\n", n, size, probes);
}
