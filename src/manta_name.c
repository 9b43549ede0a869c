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
 *   4. Unicode NFC;
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

#include "manta_request.h"
#include "manta_util.h"


#define MANTA_NON_STARTERS_MAX  30      /* UAX #15, Stream-Safe Text */
#define MANTA_BRAILLE_BLANK     0x2800


static manta_reason_t manta_name_filter(const char *src, size_t len,
    char **kept, size_t *kept_len, int *inert, char *msg, size_t msg_size);
static manta_reason_t manta_name_bad_cp(utf8proc_int32_t cp,
    const utf8proc_property_t *prop, char *msg, size_t msg_size);
static size_t manta_non_starters(utf8proc_int32_t cp,
    const utf8proc_property_t *prop, size_t *leading, size_t *trailing);
static int manta_nfc_inert(utf8proc_int32_t cp,
    const utf8proc_property_t *prop);
static manta_reason_t manta_nfc(const char *src, size_t len,
    utf8proc_uint8_t **nfc, size_t *nfc_len);
static int manta_white_space(int32_t cp);


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
    int                       space, inert, visible;
    char                     *out, *o, *kept;
    size_t                    count, kept_len;
    int32_t                   cp;
    manta_reason_t            rc;
    utf8proc_uint8_t         *nfc;
    const unsigned char      *p, *last, *start;

    *name_len = 0;

    if (msg_size) {
        msg[0] = '\0';
    }

    if (len == 0) {
        manta_message(msg, msg_size, "name is empty");
        return MANTA_INVALID_NAME;
    }

    /* steps 1 to 3; kept is NULL when nothing was removed */

    rc = manta_name_filter(src, len, &kept, &kept_len, &inert, msg,
                           msg_size);
    if (rc != MANTA_OK) {
        return rc;
    }

    if (kept != NULL) {
        src = kept;
        len = kept_len;
    }

    /* step 4: NFC of NFC-inert text (ASCII, for one) is the identity */

    nfc = NULL;
    p = (const unsigned char *) src;

    if (!inert) {

        rc = manta_nfc(src, len, &nfc, &len);

        if (rc != MANTA_OK) {
            free(kept);
            return rc;
        }

        p = nfc;
    }

    if (len >= name_size) {
        /* not with a buffer of manta_name_size() bytes */
        rc = MANTA_NOMEM;
        goto failed;
    }

    out = name;

    /* step 5, counting code points */

    o = out;
    last = p + len;
    count = 0;
    space = 0;
    visible = 0;

    while (p < last) {
        start = p;

        if (*p > 0x20 && *p < 0x7f) {
            /* printable ASCII other than the space: kept, no decoding */
            p++;
            visible = 1;

        } else {
            p += manta_utf8_decode(p, last, &cp);

            if (manta_white_space(cp)) {
                /* leading white space is dropped, inner runs pending */
                space = (o != out);
                continue;
            }

            if (cp != MANTA_BRAILLE_BLANK) {
                visible = 1;
            }
        }

        if (space) {
            *o++ = ' ';
            count++;
            space = 0;
        }

        count++;

        while (start < p) {
            *o++ = (char) *start++;
        }
    }

    /* a pending space here is trailing white space: dropped */

    /* step 6 */

    if (o == out || !visible) {
        manta_message(msg, msg_size, "name is blank: it has only white "
                      "space or invisible characters");
        rc = MANTA_INVALID_NAME;
        goto failed;
    }

    p = (const unsigned char *) out;
    manta_utf8_decode(p, (const unsigned char *) o, &cp);

    switch (utf8proc_category((utf8proc_int32_t) cp)) {

    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
        manta_message(msg, msg_size, "name starts with a combining mark "
                      "(U+%04X)", (unsigned) cp);
        rc = MANTA_INVALID_NAME;
        goto failed;

    default:
        break;
    }

    if (count > opts->name_max_length) {
        manta_message(msg, msg_size, "name is %zu characters long, at most "
                      "%zu are allowed", count, opts->name_max_length);
        rc = MANTA_INVALID_NAME;
        goto failed;
    }

    if (opts->name_re != NULL
        && manta_re_match(opts->name_re, out, (size_t) (o - out)) != 1)
    {
        manta_message(msg, msg_size,
                      "name does not match the allowed pattern");
        rc = MANTA_INVALID_NAME;
        goto failed;
    }

    free(nfc);
    free(kept);

    *o = '\0';
    *name_len = (size_t) (o - out);

    return MANTA_OK;

failed:

    free(nfc);
    free(kept);

    return rc;
}


/*
 * Steps 1 to 3 in one pass over src: validates the UTF-8, rejects the
 * forbidden code points, removes the Default_Ignorable ones (into a
 * malloc()ed *kept, only once there is one to remove), counts the runs of
 * non-starters and tells whether NFC can change the text (*inert = 0 when
 * it may).
 */

static manta_reason_t
manta_name_filter(const char *src, size_t len, char **kept, size_t *kept_len,
    int *inert, char *msg, size_t msg_size)
{
    char                       *k;
    size_t                      run, n, lead, trail;
    size_t                      step;
    int32_t                     cp;
    manta_reason_t              rc;
    const unsigned char        *p, *last, *start;
    const utf8proc_property_t  *prop;

    *kept = NULL;
    *kept_len = 0;
    *inert = 1;

    k = NULL;
    run = 0;
    p = (const unsigned char *) src;
    last = p + len;

    while (p < last) {
        start = p;

        if (*p >= 0x20 && *p < 0x7f) {
            /* printable ASCII: a starter, kept */
            p++;
            run = 0;

            if (k != NULL) {
                *k++ = (char) *start;
            }

            continue;
        }

        step = manta_utf8_decode(p, last, &cp);

        if (step == 0) {
            manta_message(msg, msg_size, "name is not valid UTF-8");
            rc = MANTA_INVALID_NAME;
            goto failed;
        }

        p += step;

        prop = utf8proc_get_property(cp);

        rc = manta_name_bad_cp(cp, prop, msg, msg_size);
        if (rc != MANTA_OK) {
            goto failed;
        }

        if (prop->ignorable) {

            if (k == NULL) {
                *kept = malloc(len);
                if (*kept == NULL) {
                    return MANTA_NOMEM;
                }

                n = (size_t) (start - (const unsigned char *) src);
                memcpy(*kept, src, n);
                k = *kept + n;
            }

            continue;
        }

        n = manta_non_starters(cp, prop, &lead, &trail);

        if (n == 0) {
            run = 0;

        } else if (lead == n) {
            run += n;

        } else {
            run += lead;

            if (run <= MANTA_NON_STARTERS_MAX) {
                run = trail;
            }
        }

        if (run > MANTA_NON_STARTERS_MAX) {
            manta_message(msg, msg_size, "name has more than %d combining "
                          "marks in a row", MANTA_NON_STARTERS_MAX);
            rc = MANTA_INVALID_NAME;
            goto failed;
        }

        if (*inert && !manta_nfc_inert(cp, prop)) {
            *inert = 0;
        }

        if (k != NULL) {
            while (start < p) {
                *k++ = (char) *start++;
            }
        }
    }

    if (k != NULL) {
        *kept_len = (size_t) (k - *kept);
    }

    return MANTA_OK;

failed:

    free(*kept);
    *kept = NULL;

    return rc;
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
        if (cp == 0x061c || cp == 0x200e || cp == 0x200f
            || (cp >= 0x202a && cp <= 0x202e)
            || (cp >= 0x2066 && cp <= 0x2069))
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


/*
 * The non-starters (canonical combining class other than 0) in the
 * canonical decomposition of cp: how many in all, how many lead and how
 * many trail it.
 */

static size_t
manta_non_starters(utf8proc_int32_t cp, const utf8proc_property_t *prop,
    size_t *leading, size_t *trailing)
{
    size_t            i, n, count;
    utf8proc_int32_t  d[8];
    utf8proc_ssize_t  len;

    if (prop->decomp_seqindex == UINT16_MAX || prop->decomp_type != 0) {
        /* no canonical decomposition: the code point itself */
        count = (prop->combining_class != 0);
        *leading = count;
        *trailing = count;
        return count;
    }

    len = utf8proc_decompose_char(cp, d, 8, UTF8PROC_DECOMPOSE, NULL);

    if (len <= 0 || len > 8) {
        /* cannot happen for an assigned code point: count it as a run */
        *leading = 1;
        *trailing = 1;
        return 1;
    }

    n = (size_t) len;
    count = 0;

    for (i = 0; i < n; i++) {
        count += (utf8proc_get_property(d[i])->combining_class != 0);
    }

    for (i = 0; i < n; i++) {
        if (utf8proc_get_property(d[i])->combining_class == 0) {
            break;
        }
    }

    *leading = i;

    for (i = 0; i < n; i++) {
        if (utf8proc_get_property(d[n - 1 - i])->combining_class == 0) {
            break;
        }
    }

    *trailing = i;

    return count;
}


/*
 * 1 when NFC leaves the code point as it is whatever surrounds it, so
 * that text made only of such code points need not go through utf8proc:
 * no canonical decomposition, combining class 0, not a mark (Mn, Mc, Me),
 * not a Hangul jamo, not excluded from composition.  Every character that
 * may compose with the one before it is a mark or a jamo
 * (NFC_Quick_Check=Maybe).  Conservative: 0 only means "let utf8proc
 * decide".
 */

static int
manta_nfc_inert(utf8proc_int32_t cp, const utf8proc_property_t *prop)
{
    return !(prop->category == UTF8PROC_CATEGORY_CN
             || prop->category == UTF8PROC_CATEGORY_MN
             || prop->category == UTF8PROC_CATEGORY_MC
             || prop->category == UTF8PROC_CATEGORY_ME
             || prop->combining_class != 0
             || prop->comp_exclusion
             || (prop->decomp_seqindex != UINT16_MAX
                 && prop->decomp_type == 0)
             || (cp >= 0x1100 && cp <= 0x11ff)
             || (cp >= 0xa960 && cp <= 0xa97f)
             || (cp >= 0xd7b0 && cp <= 0xd7ff));
}


/*
 * NFC of valid UTF-8, as utf8proc_map(UTF8PROC_STABLE | UTF8PROC_COMPOSE)
 * computes it, but decomposing once and putting the marks in canonical
 * order with an insertion sort of each run of non-starters: the runs are
 * at most 30 long (Stream-Safe), so the work is linear.  *nfc is
 * malloc()ed.
 */

static manta_reason_t
manta_nfc(const char *src, size_t len, utf8proc_uint8_t **nfc,
    size_t *nfc_len)
{
    int                      bc;
    size_t                   cap, n, i, j, k;
    utf8proc_int32_t        *buf, cp;
    utf8proc_ssize_t         m;
    utf8proc_propval_t       ccc, run[MANTA_NON_STARTERS_MAX];
    const utf8proc_uint8_t  *p, *last;

    /*
     * a canonical decomposition has at most 4 code points and only
     * characters of 2 bytes or more have one: 2 code points a byte suffice
     */

    if (len > (size_t) PTRDIFF_MAX / 8 - 1) {
        return MANTA_INVALID_NAME;
    }

    cap = 2 * len + 4;

    buf = malloc(cap * sizeof(utf8proc_int32_t));
    if (buf == NULL) {
        return MANTA_NOMEM;
    }

    p = (const utf8proc_uint8_t *) src;
    last = p + len;
    n = 0;

    while (p < last) {
        m = (utf8proc_ssize_t) manta_utf8_decode(p, last, &cp);

        if (m == 0) {
            goto failed;
        }

        p += m;

        bc = 0;
        m = utf8proc_decompose_char(cp, buf + n, (utf8proc_ssize_t) (cap - n),
                                    UTF8PROC_DECOMPOSE, &bc);

        if (m < 0 || (size_t) m > cap - n) {
            goto failed;
        }

        n += (size_t) m;
    }

    /*
     * canonical ordering: each run of non-starters sorted by combining
     * class, stably, with an insertion sort; the classes of the run are
     * kept in run[]
     */

    for (i = 0; i < n; i += k) {

        for (k = 0; i + k < n; k++) {
            ccc = utf8proc_get_property(buf[i + k])->combining_class;

            if (ccc == 0) {
                break;
            }

            if (k == MANTA_NON_STARTERS_MAX) {
                /* cannot happen after the Stream-Safe check */
                goto failed;
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

    /* composes, then encodes the UTF-8 in place */

    m = utf8proc_reencode(buf, (utf8proc_ssize_t) n,
                          UTF8PROC_STABLE | UTF8PROC_COMPOSE);

    if (m < 0) {
        goto failed;
    }

    *nfc = (utf8proc_uint8_t *) buf;
    *nfc_len = (size_t) m;

    return MANTA_OK;

failed:

    free(buf);

    return MANTA_INVALID_NAME;
}


/*
 * Unicode White_Space other than the controls (U+0009 .. U+000D, U+0085),
 * which step 1 has already rejected
 */

static int
manta_white_space(int32_t cp)
{
    if (cp < 0x2000) {
        return cp == 0x20 || cp == 0xa0 || cp == 0x1680;
    }

    return cp <= 0x200a || cp == 0x2028 || cp == 0x2029 || cp == 0x202f
           || cp == 0x205f || cp == 0x3000;
}
