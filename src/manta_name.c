/*
 * Copyright (C) ngx_http_manta_module authors
 * Pure C core: no nginx types or headers.
 *
 * Name normalization of SPEC section 3, in this order: Unicode NFC, removal
 * of zero-width characters, rejection of C0/C1 controls, DEL and bidi
 * controls, trimming of white space and collapsing of inner white space to
 * one U+0020; then the non-empty, length and pattern checks.  One pass over
 * the NFC form does everything after NFC.
 */


#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "manta_request.h"


typedef enum {
    MANTA_CP_KEEP = 0,
    MANTA_CP_DROP,                  /* zero-width: removed */
    MANTA_CP_BAD,                   /* control or bidi: invalid_name */
    MANTA_CP_SPACE                  /* White_Space: trimmed, collapsed */
} manta_cp_class_t;


static int manta_name_nfc_inert(const unsigned char *p, size_t len);
static uint32_t manta_utf8_next(const unsigned char **pos,
    const unsigned char *last);
static manta_cp_class_t manta_cp_class(uint32_t cp);


manta_reason_t
manta_name_normalize(const manta_body_opts_t *opts, const char *src,
    size_t len, char **name, size_t *name_len)
{
    int                       space;
    char                     *out, *o;
    size_t                    count;
    uint32_t                  cp;
    manta_reason_t            rc;
    utf8proc_ssize_t          n;
    utf8proc_uint8_t         *nfc;
    const unsigned char      *p, *last, *start;

    *name = NULL;
    *name_len = 0;

    nfc = NULL;
    p = (const unsigned char *) src;

    /* NFC of NFC-inert text (ASCII, for one) is the identity */

    if (!manta_name_nfc_inert(p, len)) {

        if (len > (size_t) PTRDIFF_MAX / 8) {
            return MANTA_INVALID_NAME;
        }

        n = utf8proc_map((const utf8proc_uint8_t *) src,
                         (utf8proc_ssize_t) len, &nfc,
                         UTF8PROC_STABLE | UTF8PROC_COMPOSE);

        if (n < 0) {
            return (n == UTF8PROC_ERROR_NOMEM) ? MANTA_NOMEM
                                               : MANTA_INVALID_NAME;
        }

        p = nfc;
        len = (size_t) n;
    }

    out = malloc(len + 1);
    if (out == NULL) {
        free(nfc);
        return MANTA_NOMEM;
    }

    o = out;
    last = p + len;
    count = 0;
    space = 0;

    while (p < last) {
        start = p;

        if (*p > 0x20 && *p < 0x7f) {
            /* printable ASCII other than the space: kept, no decoding */
            p++;

        } else {
            cp = manta_utf8_next(&p, last);

            switch (manta_cp_class(cp)) {

            case MANTA_CP_DROP:
                continue;

            case MANTA_CP_BAD:
                rc = MANTA_INVALID_NAME;
                goto failed;

            case MANTA_CP_SPACE:
                /* leading white space is dropped, inner runs pending */
                space = (o != out);
                continue;

            default: /* MANTA_CP_KEEP */
                break;
            }
        }

        if (space) {
            *o++ = ' ';
            count++;
            space = 0;
        }

        if (++count > opts->name_max_length) {
            rc = MANTA_INVALID_NAME;
            goto failed;
        }

        while (start < p) {
            *o++ = (char) *start++;
        }
    }

    /* a pending space here is trailing white space: dropped */

    if (o == out) {
        rc = MANTA_INVALID_NAME;
        goto failed;
    }

    if (opts->name_re != NULL
        && manta_re_match(opts->name_re, out, (size_t) (o - out)) != 1)
    {
        rc = MANTA_INVALID_NAME;
        goto failed;
    }

    free(nfc);

    *o = '\0';
    *name = out;
    *name_len = (size_t) (o - out);

    return MANTA_OK;

failed:

    free(nfc);
    free(out);

    return rc;
}


/*
 * 1 when the text is valid UTF-8 that NFC leaves as it is, so that
 * utf8proc need not run: no code point is unassigned, has a canonical
 * decomposition, a non-zero combining class, is a mark (Mn, Mc, Me) or a
 * Hangul jamo.  Every character that may compose with the one before it is
 * a mark or a jamo (NFC_Quick_Check=Maybe), so text without them is
 * stable.  Conservative: 0 only means "let utf8proc decide".
 */

static int
manta_name_nfc_inert(const unsigned char *p, size_t len)
{
    utf8proc_int32_t            cp;
    utf8proc_ssize_t            n;
    const utf8proc_property_t  *prop;

    while (len) {

        if (*p < 0x80) {
            p++;
            len--;
            continue;
        }

        n = utf8proc_iterate(p, (utf8proc_ssize_t) len, &cp);

        if (n <= 0) {
            return 0;
        }

        prop = utf8proc_get_property(cp);

        if (prop->category == UTF8PROC_CATEGORY_CN
            || prop->category == UTF8PROC_CATEGORY_MN
            || prop->category == UTF8PROC_CATEGORY_MC
            || prop->category == UTF8PROC_CATEGORY_ME
            || prop->combining_class != 0
            || prop->comp_exclusion
            || (prop->decomp_seqindex != UINT16_MAX
                && prop->decomp_type == 0)
            || (cp >= 0x1100 && cp <= 0x11ff)
            || (cp >= 0xa960 && cp <= 0xa97f)
            || (cp >= 0xd7b0 && cp <= 0xd7ff))
        {
            return 0;
        }

        p += n;
        len -= (size_t) n;
    }

    return 1;
}


/* decodes one code point of UTF-8 already known to be valid */

static uint32_t
manta_utf8_next(const unsigned char **pos, const unsigned char *last)
{
    size_t                n;
    uint32_t              cp;
    const unsigned char  *p;

    p = *pos;
    cp = *p++;

    if (cp >= 0x80) {

        if (cp < 0xe0) {
            n = 1;
            cp &= 0x1f;

        } else if (cp < 0xf0) {
            n = 2;
            cp &= 0x0f;

        } else {
            n = 3;
            cp &= 0x07;
        }

        while (n-- && p < last) {
            cp = (cp << 6) | (*p++ & 0x3f);
        }
    }

    *pos = p;

    return cp;
}


static manta_cp_class_t
manta_cp_class(uint32_t cp)
{
    if (cp < 0x80) {

        if (cp == 0x20) {
            return MANTA_CP_SPACE;
        }

        return (cp < 0x20 || cp == 0x7f) ? MANTA_CP_BAD : MANTA_CP_KEEP;
    }

    if (cp < 0xa0) {
        return MANTA_CP_BAD;                        /* C1 */
    }

    if (cp == 0xa0 || cp == 0x1680 || cp == 0x3000) {
        return MANTA_CP_SPACE;
    }

    if (cp < 0x2000 || cp > 0x206f) {
        return (cp == 0xfeff) ? MANTA_CP_DROP : MANTA_CP_KEEP;
    }

    /* U+2000 .. U+206F, General Punctuation */

    if (cp <= 0x200a || cp == 0x2028 || cp == 0x2029 || cp == 0x202f
        || cp == 0x205f)
    {
        return MANTA_CP_SPACE;
    }

    if (cp <= 0x200d || cp == 0x2060) {
        return MANTA_CP_DROP;                       /* U+200B .. U+200D */
    }

    if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069)) {
        return MANTA_CP_BAD;                        /* bidi controls */
    }

    return MANTA_CP_KEEP;
}
