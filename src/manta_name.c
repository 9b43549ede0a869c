/*
 * Copyright (C) ngx_http_manta_module authors
 * Pure C core: no nginx types or headers.
 *
 * Name normalization, in this order:
 *
 *   1. reject C0/C1 controls, DEL, the bidi controls and marks,
 *      noncharacters, private-use and unassigned code points;
 *   2. remove every other Default_Ignorable_Code_Point;
 *   3. reject text that is not Stream-Safe (more than 30 non-starters in a
 *      row, counted in canonical decompositions), so that the reordering
 *      NFC does is bounded and the whole work linear in the input;
 *   4. Unicode NFC, unless the quick check of UAX #15 (NFC_Quick_Check
 *      and the canonical order of the combining classes) finds the text
 *      is NFC already, as almost every real name is;
 *   5. trim Unicode White_Space, collapse inner runs of it to one U+0020;
 *   6. reject an empty or blank result, or one starting with a combining
 *      mark; then the length and pattern checks.
 *
 * Steps 1 to 3 are one pass over the input, steps 5 and 6 one pass over
 * the NFC form.
 */


#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "manta_json.h"
#include "manta_request.h"
#include "manta_util.h"

/* generated at build time by tools/gen_nfc_qc.c: see there */
#include "manta_nfc_qc.h"


#define MANTA_NON_STARTERS_MAX  30      /* UAX #15, Stream-Safe Text */
#define MANTA_BRAILLE_BLANK     0x2800

/* code points NFC works on without malloc() */
#define MANTA_NFC_STACK         256

#define manta_nfc_lead(v)       (((v) >> 2) & 3)
#define manta_nfc_trail(v)      (((v) >> 4) & 3)
#define manta_nfc_all_lead(v)   (((v) >> 6) & 1)

/* what manta_name_scan()'s helpers read: a code point, a space, neither */
#define MANTA_SCAN_FAIL         -1
#define MANTA_SCAN_CHAR         0
#define MANTA_SCAN_SPACE        1

/*
 * the bytes of a string, as manta_name_scan() reads them: plain is
 * printable ASCII other than the space, '"' and '\\'
 */
#define MANTA_BYTE_PLAIN        0
#define MANTA_BYTE_SPACE        1
#define MANTA_BYTE_QUOTE        2
#define MANTA_BYTE_ESCAPE       3
#define MANTA_BYTE_UTF8         4       /* 0x80 and above */
#define MANTA_BYTE_FAIL         5       /* the controls and DEL */


static char *manta_name_collapse(const unsigned char *p,
    const unsigned char *last, char *out, size_t *count, int *visible);
static inline const unsigned char *manta_name_next(const unsigned char *p,
    const unsigned char *last, int32_t *cp);
static inline char *manta_name_copy_cp(char *o, const unsigned char *p,
    size_t n);
static inline manta_reason_t manta_name_check(const manta_body_opts_t *opts,
    const char *out, const char *o, size_t count, int visible, char *msg,
    size_t msg_size);
static manta_reason_t manta_name_filter(const char *src, size_t len,
    char **kept, size_t *kept_len, int *is_nfc, size_t *stable, char *msg,
    size_t msg_size);
static inline const unsigned char *manta_name_filter_ascii(const char *src,
    const unsigned char *p, const unsigned char *last, char **k, char *kept,
    manta_nfc_qc_t qc, size_t *stable);
static inline size_t manta_name_at(const char *src, const unsigned char *p,
    const char *k, const char *kept);
static size_t manta_name_cp(const unsigned char *p,
    const unsigned char *last, int32_t *cp, const utf8proc_property_t **prop,
    char *msg, size_t msg_size);
static manta_reason_t manta_name_marks(int32_t cp, utf8proc_propval_t ccc,
    size_t *run, utf8proc_propval_t *last_ccc, manta_nfc_qc_t *qc, char *msg,
    size_t msg_size);
static char *manta_name_keep(const char *src, size_t len,
    const unsigned char *start, char **kept);
static manta_reason_t manta_name_bad_cp(utf8proc_int32_t cp,
    const utf8proc_property_t *prop, char *msg, size_t msg_size);
static manta_nfc_qc_t manta_nfc_qc_step(unsigned v,
    utf8proc_propval_t ccc, utf8proc_propval_t *last_ccc,
    manta_nfc_qc_t qc);
static manta_reason_t manta_nfc(const char *src, size_t len,
    size_t stable, utf8proc_int32_t *stack, size_t stack_cap,
    utf8proc_uint8_t **nfc, size_t *nfc_len);
static size_t manta_nfc_decompose(const utf8proc_uint8_t *p, size_t len,
    utf8proc_int32_t *buf, size_t cap);
static manta_reason_t manta_nfc_order(utf8proc_int32_t *buf, size_t n);
static inline int manta_white_space(int32_t cp);
static inline manta_reason_t manta_body_text_judge(
    const manta_body_opts_t *opts, int empty, const char *dst,
    const char *o, size_t count, char *msg, size_t msg_size);
static inline const unsigned char *manta_name_quote(
    const unsigned char *v, const unsigned char *last);
static const unsigned char *manta_name_scan(const unsigned char *p,
    const unsigned char *q, char *dst, char **end, size_t *count,
    int *escaped);
static inline const unsigned char *manta_name_copy_run(
    const unsigned char *p, char **op);
static inline int manta_name_scan_escape(const unsigned char **pp,
    const unsigned char *last, const char *dst, char **op, size_t *extra,
    int *esc);
static inline int manta_name_scan_u(const unsigned char **pp,
    const unsigned char *last, const char *dst, char **op, size_t *extra,
    int *esc);
static inline int manta_name_scan_utf8(const unsigned char **pp,
    const unsigned char *last, const char *dst, char **op, size_t *extra);
static inline int manta_name_scan_mark(const char *dst, char **op,
    int32_t m, size_t *extra);
static char *manta_name_scan_compose(const char *dst, char *o, int32_t m);
static inline int32_t manta_nfc_compose(int32_t s, int32_t m);
static inline char *manta_name_put_utf8(char *o, int32_t cp,
    size_t *extra);
static int manta_is_mark(int32_t cp);
static inline int32_t manta_name_hex4(const unsigned char *p);
static unsigned manta_nfc_qc_byte(int32_t cp);


/* manta_name_scan()'s: the MANTA_BYTE_* of a string's byte */

#define F  MANTA_BYTE_FAIL
#define U  MANTA_BYTE_UTF8

static const unsigned char  manta_name_bytes[256] = {
    F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F,     /* 0x00 .. 0x0f */
    F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F,     /* 0x10 .. 0x1f */
    MANTA_BYTE_SPACE, 0, MANTA_BYTE_QUOTE, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0,                             /* 0x28 .. 0x2f */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* 0x30 .. 0x3f */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* 0x40 .. 0x4f */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    MANTA_BYTE_ESCAPE, 0, 0, 0,                         /* 0x50 .. 0x5f */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* 0x60 .. 0x6f */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, F,     /* 0x70 .. 0x7f */
    U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
    U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
    U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
    U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
    U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
    U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
    U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
    U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U      /* 0x80 .. 0xff */
};

#undef F
#undef U


/*
 * manta_name_hex4()'s: the value of a hex digit; 0x10000 for another
 * byte, which stays above 0xffff in the value of four bytes
 */

#define X  0x10000

static const uint32_t  manta_name_hex[256] = {
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    0x0, 0x1, 0x2, 0x3, 0x4, 0x5, 0x6, 0x7,
    0x8, 0x9, X, X, X, X, X, X,
    X, 0xa, 0xb, 0xc, 0xd, 0xe, 0xf, X,
    X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, 0xa, 0xb, 0xc, 0xd, 0xe, 0xf, X,
    X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X
};

#undef X


size_t
manta_name_size(size_t len)
{
    /* NFC makes UTF-8 text at most three times as long */

    return 3 * len + 1;
}


manta_reason_t
manta_name_normalize(const manta_body_opts_t *opts, const char *src,
    size_t len, char *name, size_t name_size, size_t *name_len, char *msg,
    size_t msg_size)
{
    int                   is_nfc, visible;
    char                 *o, *kept;
    size_t                count, kept_len, stable;
    manta_reason_t        rc;
    utf8proc_int32_t      stack[MANTA_NFC_STACK];
    utf8proc_uint8_t     *nfc;
    const unsigned char  *p;

    *name_len = 0;

    if (msg_size) {
        msg[0] = '\0';
    }

    if (len == 0) {
        manta_message(msg, msg_size, "name is empty");
        return MANTA_INVALID_NAME;
    }

    /* steps 1 to 3; kept is NULL when nothing was removed */

    nfc = NULL;

    rc = manta_name_filter(src, len, &kept, &kept_len, &is_nfc, &stable,
                           msg, msg_size);
    if (rc != MANTA_OK) {
        goto failed;
    }

    if (kept != NULL) {
        src = kept;
        len = kept_len;
    }

    /* step 4: skipped when the quick check says the text is NFC */

    p = (const unsigned char *) src;

    if (!is_nfc) {

        rc = manta_nfc(src, len, stable, stack, MANTA_NFC_STACK, &nfc,
                       &len);

        if (rc != MANTA_OK) {
            goto failed;
        }

        p = nfc;
    }

    if (len >= name_size) {
        /* not with a buffer of manta_name_size() bytes */
        rc = MANTA_NOMEM;
        goto failed;
    }

    /* step 5, counting code points, then step 6 */

    o = manta_name_collapse(p, p + len, name, &count, &visible);

    rc = manta_name_check(opts, name, o, count, visible, msg, msg_size);

    if (rc == MANTA_OK) {
        *o = '\0';
        *name_len = (size_t) (o - name);
    }

failed:

    if (nfc != NULL && nfc != (utf8proc_uint8_t *) stack) {
        free(nfc);
    }

    if (kept != NULL) {
        free(kept);
    }

    return rc;
}


/*
 * Step 5, from p to last into out: Unicode White_Space trimmed, inner runs
 * of it collapsed to one U+0020.  Returns the end of what it wrote; *count
 * is the number of code points written, *visible 1 when one of them is
 * neither white space nor U+2800 BRAILLE PATTERN BLANK.
 */

static char *
manta_name_collapse(const unsigned char *p, const unsigned char *last,
    char *out, size_t *count, int *visible)
{
    int                   space, vis;
    char                 *o;
    size_t                n;
    int32_t               cp;
    const unsigned char  *start;

    o = out;
    n = 0;
    vis = 0;
    space = 0;

    while (p < last) {

        if (*p > 0x20 && *p < 0x7f) {
            /* a run of printable ASCII other than the space: kept as is */

            if (space) {
                *o++ = ' ';
                n++;
                space = 0;
            }

            start = p;

            do {
                *o++ = (char) *p++;
            } while (p < last && *p > 0x20 && *p < 0x7f);

            n += (size_t) (p - start);
            vis = 1;

            continue;
        }

        if (*p == ' ') {
            space = (o != out);
            p++;
            continue;
        }

        start = p;
        p = manta_name_next(p, last, &cp);

        if (manta_white_space(cp)) {
            /* leading white space is dropped, inner runs pending */
            space = (o != out);
            continue;
        }

        if (cp != MANTA_BRAILLE_BLANK) {
            vis = 1;
        }

        if (space) {
            *o++ = ' ';
            n++;
            space = 0;
        }

        n++;

        /* one code point: 2 to 4 bytes (1 only were the UTF-8 invalid) */

        o = manta_name_copy_cp(o, start, (size_t) (p - start));
    }

    /* a pending space here is trailing white space: dropped */

    *count = n;
    *visible = vis;

    return o;
}


/*
 * The code point at p, in *cp, for manta_name_collapse(): returns the
 * byte after it.  *cp is 0 for one that is neither White_Space nor U+2800
 * by its first byte alone.
 */

static inline const unsigned char *
manta_name_next(const unsigned char *p, const unsigned char *last,
    int32_t *cp)
{
    size_t                step;
    const unsigned char  *start;

    if (*p >= 0xc3 && (*p < 0xe1 || *p > 0xe3)) {
        /*
         * no White_Space, nor U+2800, starts with this byte: the
         * sequence (the text is valid UTF-8 here) copied undecoded
         */

        step = (*p < 0xe0) ? 2 : (*p < 0xf0) ? 3 : 4;

        if (step > (size_t) (last - p)) {
            step = (size_t) (last - p);
        }

        *cp = 0;

        return p + step;
    }

    start = p;
    p += manta_utf8_decode(p, last, cp);

    if (p == start) {
        /* not valid UTF-8: cannot happen, kept as it is */
        p++;
    }

    return p;
}


/* the n bytes (1 to 4) of one code point at p copied to o: returns o + n */

static inline char *
manta_name_copy_cp(char *o, const unsigned char *p, size_t n)
{
    switch (n) {

    case 4:
        o[3] = (char) p[3];
        /* fall through */

    case 3:
        o[2] = (char) p[2];
        /* fall through */

    case 2:
        o[1] = (char) p[1];
        /* fall through */

    default:
        o[0] = (char) p[0];
    }

    return o + n;
}


/*
 * Step 6 on the result of step 5, from out to o: count code points,
 * visible as manta_name_collapse() gives them.
 */

static inline manta_reason_t
manta_name_check(const manta_body_opts_t *opts, const char *out,
    const char *o, size_t count, int visible, char *msg, size_t msg_size)
{
    int32_t               cp;
    const unsigned char  *p;

    if (o == out || !visible) {
        manta_message(msg, msg_size, "name is blank: it has only white "
                      "space or invisible characters");
        return MANTA_INVALID_NAME;
    }

    p = (const unsigned char *) out;
    cp = *p;

    if (cp >= 0x80) {
        manta_utf8_decode(p, (const unsigned char *) o, &cp);
    }

    /* no ASCII character is a mark */

    if (cp >= 0x80 && manta_is_mark(cp)) {
        manta_message(msg, msg_size, "name starts with a combining mark "
                      "(U+%04X)", (unsigned) cp);
        return MANTA_INVALID_NAME;
    }

    if (count > opts->name_max_length) {
        manta_message(msg, msg_size, "name is %zu characters long, at most "
                      "%zu are allowed", count, opts->name_max_length);
        return MANTA_INVALID_NAME;
    }

    if (opts->name_re != NULL
        && manta_re_match(opts->name_re, out, (size_t) (o - out)) != 1)
    {
        manta_message(msg, msg_size,
                      "name does not match the allowed pattern");
        return MANTA_INVALID_NAME;
    }

    return MANTA_OK;
}


/*
 * Steps 1 to 3 in one pass over src: validates the UTF-8, rejects the
 * forbidden code points, removes the Default_Ignorable ones (into a
 * malloc()ed *kept, only once there is one to remove; the caller frees it,
 * on failure too), counts the runs of non-starters from the table of
 * manta_nfc_qc.h and runs the quick check of UAX #15 on the text as step 2
 * leaves it: *is_nfc = 1 when it is NFC already (NFC_Quick_Check=Yes), 0
 * when it may not be (No or Maybe).  *stable is where NFC has to start
 * then, in that text: the last code point before the quick check stopped
 * saying Yes that is a starter of NFC_Quick_Check=Yes whose decomposition
 * starts with a starter (0 when there is none).  Nothing before such a
 * code point is reordered or composed with it or what follows, and the
 * text before it is NFC: NFC of the whole is that text and NFC of the
 * rest.
 */

static manta_reason_t
manta_name_filter(const char *src, size_t len, char **kept, size_t *kept_len,
    int *is_nfc, size_t *stable, char *msg, size_t msg_size)
{
    char                       *k;
    size_t                      run, step;
    int32_t                     cp;
    manta_reason_t              rc;
    manta_nfc_qc_t              qc;
    utf8proc_propval_t          last_ccc;
    const unsigned char        *p, *last, *start;
    const utf8proc_property_t  *prop;

    *kept = NULL;
    *kept_len = 0;
    *is_nfc = 0;
    *stable = 0;

    k = NULL;
    run = 0;
    qc = MANTA_NFC_YES;
    last_ccc = 0;
    p = (const unsigned char *) src;
    last = p + len;

    while (p < last) {
        start = p;

        if (*p >= 0x20 && *p < 0x7f) {
            /* a run of printable ASCII: starters, NFC_QC=Yes, kept */

            p = manta_name_filter_ascii(src, p, last, &k, *kept, qc, stable);

            run = 0;
            last_ccc = 0;

            continue;
        }

        step = manta_name_cp(p, last, &cp, &prop, msg, msg_size);

        if (step == 0) {
            return MANTA_INVALID_NAME;
        }

        p += step;

        if (prop->ignorable) {

            if (k == NULL) {
                k = manta_name_keep(src, len, start, kept);
                if (k == NULL) {
                    return MANTA_NOMEM;
                }
            }

            continue;
        }

        rc = manta_name_marks(cp, prop->combining_class, &run, &last_ccc,
                              &qc, msg, msg_size);
        if (rc != MANTA_OK) {
            return rc;
        }

        if (qc == MANTA_NFC_YES && prop->combining_class == 0
            && (manta_nfc_qc(cp) & 0x0f) == MANTA_NFC_YES)
        {
            *stable = manta_name_at(src, start, k, *kept);
        }

        if (k != NULL) {
            k = manta_cpymem(k, start, (size_t) (p - start));
        }
    }

    *kept_len = (k != NULL) ? (size_t) (k - *kept) : 0;
    *is_nfc = (qc == MANTA_NFC_YES);

    return MANTA_OK;
}


/*
 * A run of printable ASCII at p for manta_name_filter(): copied to *k
 * when step 2 has removed a code point (else *k is NULL), and *stable
 * moved to its last byte while qc is Yes.  Returns the byte after it.
 */

static inline const unsigned char *
manta_name_filter_ascii(const char *src, const unsigned char *p,
    const unsigned char *last, char **k, char *kept, manta_nfc_qc_t qc,
    size_t *stable)
{
    const unsigned char  *start;

    start = p;

    do {
        p++;
    } while (p < last && *p >= 0x20 && *p < 0x7f);

    if (*k != NULL) {
        *k = manta_cpymem(*k, start, (size_t) (p - start));
    }

    if (qc == MANTA_NFC_YES) {
        /* the run's last byte, in the text step 2 leaves */
        *stable = manta_name_at(src, p, *k, kept) - 1;
    }

    return p;
}


/*
 * Where p of src is in the text step 2 leaves: k, where the next byte
 * goes in kept, when step 2 has removed a code point, else p's offset
 */

static inline size_t
manta_name_at(const char *src, const unsigned char *p, const char *k,
    const char *kept)
{
    return (k != NULL) ? (size_t) (k - kept)
                       : (size_t) (p - (const unsigned char *) src);
}


/*
 * Step 2 removes its first code point, at start: *kept gets room for the
 * rest of src and the text before start.  Returns where to write next,
 * NULL when out of memory.
 */

static char *
manta_name_keep(const char *src, size_t len, const unsigned char *start,
    char **kept)
{
    size_t  n;

    *kept = malloc(len);
    if (*kept == NULL) {
        return NULL;
    }

    n = (size_t) (start - (const unsigned char *) src);

    return manta_cpymem(*kept, src, n);
}


/*
 * The code point at p, in *cp, and its properties, in *prop: returns its
 * length, or 0 when the UTF-8 is not valid or step 1 rejects it.
 */

static size_t
manta_name_cp(const unsigned char *p, const unsigned char *last,
    int32_t *cp, const utf8proc_property_t **prop, char *msg,
    size_t msg_size)
{
    size_t  n;

    n = manta_utf8_decode(p, last, cp);

    if (n == 0) {
        manta_message(msg, msg_size, "name is not valid UTF-8");
        return 0;
    }

    *prop = utf8proc_get_property(*cp);

    if (manta_name_bad_cp(*cp, *prop, msg, msg_size) != MANTA_OK) {
        return 0;
    }

    return n;
}


/*
 * Step 3 and the quick check for a code point that step 2 keeps, of
 * combining class ccc.  The non-starters of its canonical decomposition
 * that lead it continue the *run, those that trail it start the next one,
 * unless it has no starter.
 */

static manta_reason_t
manta_name_marks(int32_t cp, utf8proc_propval_t ccc, size_t *run,
    utf8proc_propval_t *last_ccc, manta_nfc_qc_t *qc, char *msg,
    size_t msg_size)
{
    unsigned  v;

    v = manta_nfc_qc(cp);

    *run += manta_nfc_lead(v);

    if (!manta_nfc_all_lead(v) && *run <= MANTA_NON_STARTERS_MAX) {
        *run = manta_nfc_trail(v);
    }

    if (*run > MANTA_NON_STARTERS_MAX) {
        manta_message(msg, msg_size, "name has more than %d combining "
                      "marks in a row", MANTA_NON_STARTERS_MAX);
        return MANTA_INVALID_NAME;
    }

    *qc = manta_nfc_qc_step(v, ccc, last_ccc, *qc);

    return MANTA_OK;
}


/* step 1: the code points that make a name invalid */

static manta_reason_t
manta_name_bad_cp(utf8proc_int32_t cp, const utf8proc_property_t *prop,
    char *msg, size_t msg_size)
{
    const char  *what;

    switch (prop->category) {

    case UTF8PROC_CATEGORY_CC:
        what = "a control character";
        break;

    case UTF8PROC_CATEGORY_CO:
        what = "a private-use character";
        break;

    case UTF8PROC_CATEGORY_CN:
        what = ((cp & 0xfffe) == 0xfffe || (cp >= 0xfdd0 && cp <= 0xfdef))
               ? "a noncharacter" : "an unassigned code point";
        break;

    default:
        if (cp >= 0x061c && cp <= 0x2069
            && (cp == 0x061c || cp == 0x200e || cp == 0x200f
                || (cp >= 0x202a && cp <= 0x202e) || cp >= 0x2066))
        {
            what = "a bidirectional control character";
            break;
        }

        return MANTA_OK;
    }

    manta_message(msg, msg_size, "name contains %s (U+%04X)", what,
                  (unsigned) cp);

    return MANTA_INVALID_NAME;
}


int
manta_body_check_text(const manta_body_opts_t *opts, const char *data,
    size_t len, char *dst, size_t dst_size, size_t *name_len,
    manta_reason_t *rc, char *msg, size_t msg_size)
{
    int                   escaped;
    char                 *o;
    size_t                count;
    const unsigned char  *p, *q, *v, *last;

    if (dst_size < len) {
        return 0;
    }

    last = (const unsigned char *) data + len;

    v = manta_body_fast_head((const unsigned char *) data, last);
    if (v == NULL) {
        return 0;
    }

    q = manta_name_quote(v, last);
    if (q == NULL) {
        return 0;
    }

    p = manta_name_scan(v, q, dst, &o, &count, &escaped);

    if (p == NULL) {
        return 0;
    }

    /*
     * step 6 as manta_name_normalize() judges it and in its words; the
     * pattern is matched against the name itself, not its JSON escaping:
     * a name with an escape is left to the general path then
     */

    if (escaped && opts->name_re != NULL && p != v && o != dst
        && count <= opts->name_max_length)
    {
        return 0;
    }

    *rc = manta_body_text_judge(opts, p == v, dst, o, count, msg,
                                msg_size);
    *name_len = (*rc == MANTA_OK) ? (size_t) (o - dst) : 0;

    return 1;
}


/*
 * Step 6 as manta_name_normalize() judges it and in its words, for
 * manta_body_check_text(): the name at dst, to o, of count code points;
 * empty when the string was.  Every code point the scan writes is
 * visible (it takes no U+2800 and no Default_Ignorable code point).
 */

static inline manta_reason_t
manta_body_text_judge(const manta_body_opts_t *opts, int empty,
    const char *dst, const char *o, size_t count, char *msg, size_t msg_size)
{
    if (msg_size) {
        msg[0] = '\0';
    }

    if (empty) {
        manta_message(msg, msg_size, "name is empty");
        return MANTA_INVALID_NAME;
    }

    return manta_name_check(opts, dst, o, count, 1, msg, msg_size);
}


/*
 * The closing quote of the string that starts at v, for
 * manta_body_check_text(): the last '"' of data, followed by '}' alone,
 * with JSON white space around it; NULL when data does not end so.
 */

static inline const unsigned char *
manta_name_quote(const unsigned char *v, const unsigned char *last)
{
    const unsigned char  *p;

    p = last;

    if (last - v >= 2 && p[-1] == '}' && p[-2] == '"') {
        /* as almost every caller sends it */
        return p - 2;
    }

    while (p > v && manta_json_ws(p[-1])) {
        p--;
    }

    if (p == v || *--p != '}') {
        return NULL;
    }

    while (p > v && manta_json_ws(p[-1])) {
        p--;
    }

    if (p == v || *--p != '"') {
        return NULL;
    }

    return p;
}


/*
 * Steps 1 to 5 of manta_name_normalize() in one pass as a JSON string is
 * read, for the common name: p is the byte after the string's opening
 * quote, q its closing one (manta_name_quote()), which stops every run of bytes
 * read here.  The string may hold printable ASCII, JSON escapes (\" \\ \/ and
 * \uXXXX, surrogate pairs too) and UTF-8, where every code point above U+007F
 * is MANTA_NFC_QC_PLAIN or White_Space of NFC_Quick_Check=Yes (a table value of
 * 0), or a mark manta_name_scan_compose() composes with the one before it, and
 * every one below it printable or the space.  Writes the normalized name at dst
 * with its JSON escaping (\" and \\; dst needs as many bytes as there are from
 * p to q: nothing it writes is longer than what it read) and returns q, with
 * *end the end of what it wrote, *count its code points and *escaped 1 when it
 * wrote an escape.  NULL for any other string, or one that ends before q (dst
 * may have been written to): the general path decides.
 */

static const unsigned char *
manta_name_scan(const unsigned char *p, const unsigned char *q,
    char *dst, char **end, size_t *count, int *escaped)
{
    int       esc, rc;
    char     *o;
    size_t    extra;
    unsigned  t;

    o = dst;
    esc = 0;

    /* the bytes written that are not code points of their own */

    extra = 0;

    for ( ;; ) {
        t = manta_name_bytes[*p];

        if (t == MANTA_BYTE_PLAIN) {
            p = manta_name_copy_run(p, &o);
            t = manta_name_bytes[*p];
        }

        if (t == MANTA_BYTE_SPACE) {
            do {
                p++;
            } while (*p == ' ');

            rc = MANTA_SCAN_SPACE;

        } else if (t == MANTA_BYTE_ESCAPE) {
            rc = manta_name_scan_escape(&p, q, dst, &o, &extra, &esc);

        } else if (t == MANTA_BYTE_UTF8) {
            rc = manta_name_scan_utf8(&p, q, dst, &o, &extra);

        } else if (t == MANTA_BYTE_QUOTE) {
            break;

        } else {
            return NULL;
        }

        if (rc == MANTA_SCAN_FAIL) {
            return NULL;
        }

        /*
         * White_Space: dropped at the start, a run of it written as one
         * space (no other code point is written as a space), taken back
         * at the end
         */

        if (rc == MANTA_SCAN_SPACE && o != dst && o[-1] != ' ') {
            *o++ = ' ';
        }
    }

    if (p != q) {
        return NULL;
    }

    if (o != dst && o[-1] == ' ') {
        o--;
    }

    *end = o;
    *count = (size_t) (o - dst) - extra;
    *escaped = esc;

    return p;
}


/*
 * The run of plain bytes at p (printable ASCII other than the space, '"'
 * and '\\', at least one) copied to *op for manta_name_scan(): returns the
 * byte after it, *op moved on.  The closing quote ends every run.
 */

static inline const unsigned char *
manta_name_copy_run(const unsigned char *p, char **op)
{
    char    *o;
    size_t   c;

    o = *op;
    c = *p;

    do {
        *o++ = (char) c;
        c = *++p;
    } while (manta_name_bytes[c] == MANTA_BYTE_PLAIN);

    *op = o;

    return p;
}


/*
 * The escape at *pp for manta_name_scan(), of \" \\ \/ or \uXXXX: a code
 * point written at *op (with its JSON escaping), a space, or one the
 * general path must take.  *pp and *op are moved past what was read and
 * written, *extra counts the bytes written that are not code points of
 * their own, *esc is set when an escape is written.
 */

static inline int
manta_name_scan_escape(const unsigned char **pp, const unsigned char *last,
    const char *dst, char **op, size_t *extra, int *esc)
{
    char                 *o;
    const unsigned char  *p;

    p = *pp;
    o = *op;

    if (last - p >= 6 && p[1] == 'u') {
        return manta_name_scan_u(pp, last, dst, op, extra, esc);
    }

    if (last - p < 2) {
        return MANTA_SCAN_FAIL;
    }

    switch (p[1]) {

    case '"':
    case '\\':
        o[0] = '\\';
        o[1] = (char) p[1];
        *op = o + 2;
        *pp = p + 2;
        (*extra)++;
        *esc = 1;
        return MANTA_SCAN_CHAR;

    case '/':
        o[0] = '/';
        *op = o + 1;
        *pp = p + 2;
        return MANTA_SCAN_CHAR;

    default:
        /* \b \f \n \r \t are controls, \u too short, the others invalid */
        return MANTA_SCAN_FAIL;
    }
}


/* the escape \uXXXX at *pp (a surrogate pair too), as above */

static inline int
manta_name_scan_u(const unsigned char **pp, const unsigned char *last,
    const char *dst, char **op, size_t *extra, int *esc)
{
    char                 *o;
    int32_t               cp, lo;
    unsigned              v;
    const unsigned char  *p;

    p = *pp;
    o = *op;

    if (last - p < 6) {
        return MANTA_SCAN_FAIL;
    }

    cp = manta_name_hex4(p + 2);
    p += 6;
    *pp = p;

    if (cp < 0x80) {

        if (cp == ' ') {
            return MANTA_SCAN_SPACE;
        }

        if (cp < 0x20 || cp == 0x7f) {
            /* bad hex digits (-1), \u0000 and the controls */
            return MANTA_SCAN_FAIL;
        }

        if (cp == '"' || cp == '\\') {
            *o++ = '\\';
            (*extra)++;
            *esc = 1;
        }

        *o++ = (char) cp;
        *op = o;

        return MANTA_SCAN_CHAR;
    }

    if (cp >= 0xd800 && cp <= 0xdfff) {

        /* a high surrogate and a low one */

        if (cp >= 0xdc00 || last - p < 6 || p[0] != '\\' || p[1] != 'u') {
            return MANTA_SCAN_FAIL;
        }

        lo = manta_name_hex4(p + 2);

        if (lo < 0xdc00 || lo > 0xdfff) {
            return MANTA_SCAN_FAIL;
        }

        cp = 0x10000 + ((cp & 0x3ff) << 10) + (lo & 0x3ff);
        *pp = p + 6;
    }

    v = manta_nfc_qc_byte(cp);

    if (!(v & MANTA_NFC_QC_PLAIN)) {

        if ((v & 3) == MANTA_NFC_MAYBE) {
            return manta_name_scan_mark(dst, op, cp, extra);
        }

        return (v == MANTA_NFC_YES && manta_white_space(cp))
               ? MANTA_SCAN_SPACE : MANTA_SCAN_FAIL;
    }

    *op = manta_name_put_utf8(o, cp, extra);

    return MANTA_SCAN_CHAR;
}


/*
 * The byte at *pp for manta_name_scan(), neither plain, nor '"', '\\' or
 * the space: UTF-8 copied as it is, White_Space, or what the general path
 * must take; as above.
 */

static inline int
manta_name_scan_utf8(const unsigned char **pp, const unsigned char *last,
    const char *dst, char **op, size_t *extra)
{
    size_t                n;
    int32_t               cp;
    unsigned              v;
    const unsigned char  *p;

    p = *pp;

    if (*p < 0x80) {
        /* controls (jansson rejects them raw) and DEL */
        return MANTA_SCAN_FAIL;
    }

    n = manta_utf8_decode(p, last, &cp);

    if (n == 0) {
        return MANTA_SCAN_FAIL;
    }

    v = manta_nfc_qc_byte(cp);

    if (!(v & MANTA_NFC_QC_PLAIN)) {

        if (v == MANTA_NFC_YES && manta_white_space(cp)) {
            *pp = p + n;
            return MANTA_SCAN_SPACE;
        }

        if ((v & 3) == MANTA_NFC_MAYBE
            && manta_name_scan_mark(dst, op, cp, extra) == MANTA_SCAN_CHAR)
        {
            *pp = p + n;
            return MANTA_SCAN_CHAR;
        }

        return MANTA_SCAN_FAIL;
    }

    /* the sequence copied as it is */

    *op = manta_name_copy_cp(*op, p, n);
    *pp = p + n;
    *extra += n - 1;

    return MANTA_SCAN_CHAR;
}


/*
 * The mark m, a code point of NFC_Quick_Check Maybe that is not plain,
 * read by manta_name_scan_utf8() or manta_name_scan_u(): composed with
 * the code point before it by manta_name_scan_compose(), *op and *extra
 * moved as above, or MANTA_SCAN_FAIL
 */

static inline int
manta_name_scan_mark(const char *dst, char **op, int32_t m, size_t *extra)
{
    char  *end;

    end = manta_name_scan_compose(dst, *op, m);

    if (end == NULL) {
        return MANTA_SCAN_FAIL;
    }

    /* as long as the code point it replaced or longer, one code point */

    *extra += (size_t) (end - *op);
    *op = end;

    return MANTA_SCAN_CHAR;
}


/*
 * For manta_name_scan_mark(): when the code point written before o (from
 * dst) and m are a pair of manta_nfc_pairs[], that code point is
 * rewritten as their composite, which is NFC whatever the scanner takes
 * after it (tools/gen_nfc_qc.c says why), and the end of it returned: it
 * is as long as the code point it replaces or longer, never longer than
 * the pair.  NULL for any other pair, and for a mark at the start of the
 * name: the general path decides.  Out of line, and given o by value, so
 * that the scanner keeps its o and extra in registers.
 */

static char *
manta_name_scan_compose(const char *dst, char *o, int32_t m)
{
    char     *s;
    int32_t   c, cp;

    if (o == dst) {
        return NULL;
    }

    /* the last code point written: ASCII, or valid UTF-8 */

    s = o - 1;
    cp = (unsigned char) *s;

    if (cp >= 0x80) {
        while (s > dst && (*s & 0xc0) == 0x80) {
            s--;
        }

        if (manta_utf8_decode((const unsigned char *) s,
                              (const unsigned char *) o, &cp)
            != (size_t) (o - s))
        {
            return NULL;
        }
    }

    c = manta_nfc_compose(cp, m);

    if (c < 0) {
        return NULL;
    }

    return manta_utf8_encode(s, c);
}


/*
 * The composite of the pair (s, m) in manta_nfc_pairs[], -1 when the
 * pair is not there: its hash table is looked up from the pair's slot to
 * the first empty entry
 */

static inline int32_t
manta_nfc_compose(int32_t s, int32_t m)
{
    size_t    i;
    uint64_t  key, e;

    key = (uint64_t) s << 21 | (uint64_t) m;

    for (i = manta_nfc_pair_slot(key); /* void */ ;
         i = (i + 1) & ((1 << MANTA_NFC_PAIR_BITS) - 1))
    {
        e = manta_nfc_pairs[i];

        if ((e >> 21) == key) {
            return (int32_t) (e & 0x1fffff);
        }

        if (e == 0) {
            return -1;
        }
    }
}


int
manta_nfc_pair(size_t i, int32_t *s, int32_t *m, int32_t *c)
{
    size_t    k;
    uint64_t  e;

    /* the i-th entry used */

    for (k = 0; k < (1 << MANTA_NFC_PAIR_BITS); k++) {
        e = manta_nfc_pairs[k];

        if (e != 0 && i-- == 0) {
            *s = (int32_t) (e >> 42);
            *m = (int32_t) (e >> 21 & 0x1fffff);
            *c = (int32_t) (e & 0x1fffff);

            return 1;
        }
    }

    return 0;
}


/*
 * cp, above U+007F, written at o as UTF-8 of 2 to 4 bytes, never longer
 * than the escape it was read from: returns the end, *extra counts the
 * bytes after the first
 */

static inline char *
manta_name_put_utf8(char *o, int32_t cp, size_t *extra)
{
    if (cp < 0x800) {
        o[0] = (char) (0xc0 | (cp >> 6));
        o[1] = (char) (0x80 | (cp & 0x3f));
        *extra += 1;
        return o + 2;
    }

    if (cp < 0x10000) {
        o[0] = (char) (0xe0 | (cp >> 12));
        o[1] = (char) (0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char) (0x80 | (cp & 0x3f));
        *extra += 2;
        return o + 3;
    }

    o[0] = (char) (0xf0 | (cp >> 18));
    o[1] = (char) (0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char) (0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char) (0x80 | (cp & 0x3f));
    *extra += 3;

    return o + 4;
}


/* a combining mark: step 6 rejects a name that starts with one */

static int
manta_is_mark(int32_t cp)
{
    switch (utf8proc_category((utf8proc_int32_t) cp)) {

    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
        return 1;

    default:
        return 0;
    }
}


/*
 * The value of the four hex digits at p, of either case; -1 otherwise.
 * One table look-up a digit.
 */

static inline int32_t
manta_name_hex4(const unsigned char *p)
{
    uint32_t  v;

    v = manta_name_hex[p[0]] << 12 | manta_name_hex[p[1]] << 8
        | manta_name_hex[p[2]] << 4 | manta_name_hex[p[3]];

    return (v > 0xffff) ? -1 : (int32_t) v;
}


unsigned
manta_nfc_qc(int32_t cp)
{
    return manta_nfc_qc_byte(cp) & ~MANTA_NFC_QC_PLAIN;
}


int
manta_name_plain(int32_t cp)
{
    return (manta_nfc_qc_byte(cp) & MANTA_NFC_QC_PLAIN) != 0;
}


/* the table's byte for cp, MANTA_NFC_QC_PLAIN included */

static unsigned
manta_nfc_qc_byte(int32_t cp)
{
    size_t    block;
    uint32_t  u;

    if (cp < 0 || cp > 0x10ffff) {
        return MANTA_NFC_YES;
    }

    u = (uint32_t) cp;
    block = manta_nfc_qc_index[u >> MANTA_NFC_QC_SHIFT];

    return manta_nfc_qc_data[block << MANTA_NFC_QC_SHIFT
                             | (u & ((1 << MANTA_NFC_QC_SHIFT) - 1))];
}


manta_nfc_qc_t
manta_nfc_quick_check(const char *src, size_t len)
{
    size_t                n;
    int32_t               cp;
    manta_nfc_qc_t        qc;
    utf8proc_propval_t    last_ccc;
    const unsigned char  *p, *last;

    qc = MANTA_NFC_YES;
    last_ccc = 0;

    p = (const unsigned char *) src;
    last = p + len;

    while (p < last && qc != MANTA_NFC_NO) {

        if (*p < 0x80) {
            p++;
            last_ccc = 0;
            continue;
        }

        n = manta_utf8_decode(p, last, &cp);

        if (n == 0) {
            return MANTA_NFC_NO;
        }

        p += n;

        qc = manta_nfc_qc_step(manta_nfc_qc(cp),
                               utf8proc_get_property(cp)->combining_class,
                               &last_ccc, qc);
    }

    return qc;
}


/*
 * One code point of the quick check of UAX #15 (section 9): its table
 * value v, its combining class ccc; qc is the answer so far.
 */

static manta_nfc_qc_t
manta_nfc_qc_step(unsigned v, utf8proc_propval_t ccc,
    utf8proc_propval_t *last_ccc, manta_nfc_qc_t qc)
{
    if (ccc != 0 && *last_ccc > ccc) {
        /* not in canonical order */
        qc = MANTA_NFC_NO;

    } else if ((v & 3) == MANTA_NFC_NO) {
        qc = MANTA_NFC_NO;

    } else if ((v & 3) == MANTA_NFC_MAYBE && qc == MANTA_NFC_YES) {
        qc = MANTA_NFC_MAYBE;
    }

    *last_ccc = ccc;

    return qc;
}


/*
 * NFC of valid UTF-8, as utf8proc_map(UTF8PROC_STABLE | UTF8PROC_COMPOSE)
 * computes it, but decomposing once and putting the marks in canonical
 * order with an insertion sort of each run of non-starters: the runs are
 * at most 30 long (Stream-Safe), so the work is linear.  The first stable
 * bytes are NFC and nothing after them interacts with them (see
 * manta_name_filter()): they are copied, only the rest is normalized.
 * *nfc is the caller's stack (stack_cap code points) when the
 * decomposition surely fits there, else malloc()ed.
 */

static manta_reason_t
manta_nfc(const char *src, size_t len, size_t stable,
    utf8proc_int32_t *stack, size_t stack_cap, utf8proc_uint8_t **nfc,
    size_t *nfc_len)
{
    size_t             cap, n;
    utf8proc_int32_t  *buf;
    utf8proc_ssize_t   m;

    /*
     * a canonical decomposition has at most 4 code points and only
     * characters of 2 bytes or more have one: 2 code points a byte
     * suffice; their 8 bytes a byte also hold the stable bytes and the
     * UTF-8 of the rest, at most 3 bytes a byte of it
     */

    if (len > (size_t) PTRDIFF_MAX / 8 - 1 || stable > len) {
        return MANTA_INVALID_NAME;
    }

    cap = 2 * len + 4;

    if (cap <= stack_cap) {
        buf = stack;

    } else {
        buf = malloc(cap * sizeof(utf8proc_int32_t));
        if (buf == NULL) {
            return MANTA_NOMEM;
        }
    }

    n = manta_nfc_decompose((const utf8proc_uint8_t *) src + stable,
                            len - stable, buf, cap);

    if (n == (size_t) -1 || manta_nfc_order(buf, n) != MANTA_OK) {
        goto failed;
    }

    /* composes, then encodes the UTF-8 in place */

    m = utf8proc_reencode(buf, (utf8proc_ssize_t) n,
                          UTF8PROC_STABLE | UTF8PROC_COMPOSE);

    if (m < 0) {
        goto failed;
    }

    *nfc = (utf8proc_uint8_t *) buf;
    *nfc_len = stable + (size_t) m;

    if (stable) {
        memmove(*nfc + stable, *nfc, (size_t) m);
        memcpy(*nfc, src, stable);
    }

    return MANTA_OK;

failed:

    if (buf != stack) {
        free(buf);
    }

    return MANTA_INVALID_NAME;
}


/*
 * The canonical decomposition of the len bytes at p into buf, of cap code
 * points: returns how many it wrote, (size_t) -1 on invalid UTF-8 or when
 * buf is too small.
 */

static size_t
manta_nfc_decompose(const utf8proc_uint8_t *p, size_t len,
    utf8proc_int32_t *buf, size_t cap)
{
    int                      bc;
    size_t                   n;
    utf8proc_int32_t         cp;
    utf8proc_ssize_t         m;
    const utf8proc_uint8_t  *last;

    last = p + len;
    n = 0;

    while (p < last) {
        m = (utf8proc_ssize_t) manta_utf8_decode(p, last, &cp);

        if (m == 0) {
            return (size_t) -1;
        }

        p += m;

        if (cp < 0x80) {
            /* ASCII has no decomposition */

            if (n == cap) {
                return (size_t) -1;
            }

            buf[n++] = cp;
            continue;
        }

        bc = 0;
        m = utf8proc_decompose_char(cp, buf + n, (utf8proc_ssize_t) (cap - n),
                                    UTF8PROC_DECOMPOSE, &bc);

        if (m < 0 || (size_t) m > cap - n) {
            return (size_t) -1;
        }

        n += (size_t) m;
    }

    return n;
}


/*
 * Canonical ordering of the n code points of buf: each run of non-starters
 * sorted by combining class, stably, with an insertion sort; the classes
 * of the run are kept in run[].
 */

static manta_reason_t
manta_nfc_order(utf8proc_int32_t *buf, size_t n)
{
    size_t              i, j, k;
    utf8proc_int32_t    cp;
    utf8proc_propval_t  ccc, run[MANTA_NON_STARTERS_MAX];

    for (i = 0; i < n; i += k) {

        for (k = 0; i + k < n; k++) {
            /* ASCII: starters */
            ccc = (buf[i + k] < 0x80)
                  ? 0 : utf8proc_get_property(buf[i + k])->combining_class;

            if (ccc == 0) {
                break;
            }

            if (k == MANTA_NON_STARTERS_MAX) {
                /* cannot happen after the Stream-Safe check */
                return MANTA_INVALID_NAME;
            }

            cp = buf[i + k];

            for (j = k; j > 0 && run[j - 1] > ccc; j--) {
                run[j] = run[j - 1];
                buf[i + j] = buf[i + j - 1];
            }

            run[j] = ccc;
            buf[i + j] = cp;
        }

        if (k == 0) {
            k = 1;
        }
    }

    return MANTA_OK;
}


/*
 * Unicode White_Space other than the controls (U+0009 .. U+000D, U+0085),
 * which step 1 has already rejected
 */

static inline int
manta_white_space(int32_t cp)
{
    if (cp < 0x2000) {
        return cp == 0x20 || cp == 0xa0 || cp == 0x1680;
    }

    return cp <= 0x200a || cp == 0x2028 || cp == 0x2029 || cp == 0x202f
           || cp == 0x205f || cp == 0x3000;
}
