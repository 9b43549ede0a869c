/*
 * Copyright (C) ngx_http_manta_module authors
 * Pure C core: no nginx types or headers.
 *
 * Streaming same-length masking of the token and the secret.
 */


#define _GNU_SOURCE

#include <string.h>

#include "manta_mask.h"
#include "manta_util.h"


static inline int manta_mask_work(const manta_mask_t *m,
    const unsigned char *in, size_t len);
static inline int manta_mask_search(const manta_pats_t *ps,
    const unsigned char *s, size_t len);
static inline const unsigned char *manta_mask_find(const manta_pats_t *ps,
    size_t k, const unsigned char *s, size_t len);
static const unsigned char *manta_mask_verify(const manta_pats_t *ps,
    size_t k, const unsigned char *h, const unsigned char *last);
static size_t manta_mask_straddle(manta_mask_t *m, const unsigned char *in,
    size_t len);
static size_t manta_mask_hold(manta_mask_t *m, const unsigned char *in,
    size_t len, unsigned char *released, size_t *nreleased);
static void manta_mask_within(manta_mask_t *m, const unsigned char *in,
    unsigned char *out, size_t len, size_t jend);
static size_t manta_mask_tail(const manta_mask_t *m, const unsigned char *s,
    size_t len);
static size_t manta_mask_next(const manta_mask_t *m, size_t k,
    const unsigned char *in, size_t len, size_t from);
static void manta_mask_fill(unsigned char *out, size_t from, size_t to);
static int manta_mask_ends(const manta_mask_t *m, size_t len);


size_t
manta_mask_init(manta_mask_t *m, const manta_str_t *pat,
    const size_t *anchor, size_t npat)
{
    size_t  i;

    manta_pats_init(&m->own);

    for (i = 0; i < npat; i++) {
        manta_pats_add(&m->own, pat[i].data, pat[i].len,
                       anchor ? anchor[i] : 0);
    }

    return manta_mask_start(m, &m->own, -1);
}


size_t
manta_mask_start(manta_mask_t *m, const manta_pats_t *ps, long long total)
{
    m->set = ps;
    m->window = ps->maxlen ? ps->maxlen - 1 : 0;
    m->orig = NULL;
    m->held = NULL;
    m->scratch = NULL;
    m->carry = 0;
    m->found = 0;
    m->left = 0;
    m->known = 0;

    if (total >= 0) {
        m->left = (size_t) total;
        m->known = 1;
    }

    return 3 * m->window;
}


void
manta_mask_length(manta_mask_t *m, size_t total)
{
    m->known = 1;
    m->left = total;
}


size_t
manta_mask_room(const manta_mask_t *m)
{
    return 3 * m->window;
}


void
manta_mask_memory(manta_mask_t *m, unsigned char *mem)
{
    m->orig = mem;
    m->held = mem + m->window;
    m->scratch = mem + 2 * m->window;
}


/*
 * The public functions of the module's fast path wrap static ones: the
 * calls between them in this file, made once a response or a piece, are
 * then inlined (the module is built with -fPIC, where an exported
 * function may be interposed, so never inlined).
 */

int
manta_mask_needed(const manta_mask_t *m, const unsigned char *in, size_t len)
{
    return manta_mask_work(m, in, len);
}


static inline int
manta_mask_work(const manta_mask_t *m, const unsigned char *in, size_t len)
{
    if (m->carry) {
        return 1;
    }

    if (m->known && m->left == 0) {
        return 1;
    }

    if (manta_mask_search(m->set, in, len)) {
        return 1;
    }

    return !manta_mask_ends(m, len) && manta_mask_tail(m, in, len) != 0;
}


void
manta_mask_pass(manta_mask_t *m, size_t len)
{
    if (m->known) {
        m->left = len < m->left ? m->left - len : 0;
    }
}


int
manta_mask_clean(manta_mask_t *m, const unsigned char *in, size_t len)
{
    if (manta_mask_work(m, in, len)) {
        return 0;
    }

    if (m->known) {
        m->left = len < m->left ? m->left - len : 0;
    }

    return 1;
}


size_t
manta_mask_step(manta_mask_t *m, const unsigned char *in, unsigned char *out,
    size_t len, unsigned char *released, size_t *nreleased)
{
    size_t  jend, tail;

    if (m->known && m->left == 0) {
        /* beyond the length promised: nothing of it passes as it is */
        manta_mask_fill(out, 0, len);
        *nreleased = 0;
        return len;
    }

    jend = manta_mask_straddle(m, in, len);

    tail = manta_mask_hold(m, in, len, released, nreleased);

    if (out != in) {
        memcpy(out, in, len);
    }

    manta_mask_within(m, in, out, len, jend);

    /* the masked copy of what is held back */

    if (tail > len) {
        memcpy(m->held + tail - len, out, len);

    } else {
        memcpy(m->held, out + len - tail, tail);
    }

    m->carry = tail;

    manta_mask_pass(m, len);

    return tail > len ? 0 : len - tail;
}


/*
 * Occurrences that begin in the bytes held back and end in this piece:
 * their held-back part is masked; returns how many bytes of the piece
 * they cover.
 */

static size_t
manta_mask_straddle(manta_mask_t *m, const unsigned char *in, size_t len)
{
    size_t                i, k, c, head, pl, jstart, jend;
    const manta_pats_t   *ps;
    const unsigned char  *p;

    ps = m->set;
    c = m->carry;

    jstart = c;
    jend = 0;

    for (i = 0; i < c; i++) {
        head = c - i;

        for (k = 0; k < ps->npat; k++) {
            p = ps->pat[k];
            pl = ps->len[k];

            /* one wholly held back was masked when it was complete */

            if (pl <= head || len < pl - head || m->orig[i] != p[0]
                || memcmp(m->orig + i, p, head) != 0
                || memcmp(in, p + head, pl - head) != 0)
            {
                continue;
            }

            m->found++;

            if (i < jstart) {
                jstart = i;
            }

            if (pl - head > jend) {
                jend = pl - head;
            }
        }
    }

    manta_mask_fill(m->held, jstart, c);

    return jend;
}


/*
 * What to hold back now, the end of (held back || in) that may begin a
 * pattern: the held-back bytes let go are copied to released, and the
 * originals of those kept are kept with the piece's; returns their number.
 */

static size_t
manta_mask_hold(manta_mask_t *m, const unsigned char *in, size_t len,
    unsigned char *released, size_t *nreleased)
{
    size_t                c, w, tail, nrel;
    const unsigned char  *view;

    c = m->carry;

    w = c + len < m->window ? c + len : m->window;

    if (len >= w) {
        view = in + len - w;

    } else {
        memcpy(m->scratch, m->orig + c - (w - len), w - len);
        memcpy(m->scratch + w - len, in, len);
        view = m->scratch;
    }

    tail = manta_mask_ends(m, len) ? 0 : manta_mask_tail(m, view, w);

    nrel = tail > len ? c - (tail - len) : c;

    memcpy(released, m->held, nrel);
    *nreleased = nrel;

    if (tail > len) {
        memmove(m->held, m->held + nrel, tail - len);
        memmove(m->orig, m->orig + nrel, tail - len);
        memcpy(m->orig + tail - len, in, len);

    } else {
        memcpy(m->orig, in + len - tail, tail);
    }

    return tail;
}


/*
 * Occurrences within the piece, leftmost first over all patterns, all
 * found in the bytes as received (in), masked in out from its first
 * jend bytes on: a range is masked only once the next occurrence begins
 * after it, and no search reads before that.
 */

static void
manta_mask_within(manta_mask_t *m, const unsigned char *in,
    unsigned char *out, size_t len, size_t jend)
{
    size_t               k, rs, re, pos, best, npat;
    size_t               nxt[MANTA_MASK_PATTERNS];
    const manta_pats_t  *ps;

    ps = m->set;
    npat = ps->npat;

    rs = 0;
    re = jend;

    for (k = 0; k < npat; k++) {
        nxt[k] = manta_mask_next(m, k, in, len, 0);
    }

    for ( ;; ) {
        best = npat;

        for (k = 0; k < npat; k++) {
            if (nxt[k] != len && (best == npat || nxt[k] < nxt[best])) {
                best = k;
            }
        }

        if (best == npat) {
            break;
        }

        pos = nxt[best];

        if (pos > re) {
            manta_mask_fill(out, rs, re);
            rs = pos;
        }

        if (pos + ps->len[best] > re) {
            re = pos + ps->len[best];
        }

        m->found++;

        nxt[best] = manta_mask_next(m, best, in, len, pos + 1);
    }

    manta_mask_fill(out, rs, re);
}


size_t
manta_mask_flush(manta_mask_t *m, unsigned char *out)
{
    size_t  n;

    n = m->carry;

    if (n) {
        /* none held back: no memory may have been given */
        memcpy(out, m->held, n);
        m->carry = 0;
    }

    return n;
}


int
manta_mask_holds(const unsigned char *s, size_t len, const manta_str_t *pat,
    const size_t *anchor, size_t npat)
{
    size_t  k;

    for (k = 0; k < npat; k++) {
        if (pat[k].len && pat[k].len <= len
            && manta_find_at(s, len, pat[k].data, pat[k].len,
                             anchor ? anchor[k] : 0))
        {
            return 1;
        }
    }

    return 0;
}


size_t
manta_mask_all(unsigned char *s, size_t len, const manta_str_t *pat,
    const size_t *anchor, size_t npat)
{
    size_t        k;
    manta_pats_t  ps;

    manta_pats_init(&ps);

    for (k = 0; k < npat; k++) {
        manta_pats_add(&ps, pat[k].data, pat[k].len, anchor ? anchor[k] : 0);
    }

    return manta_mask_set(&ps, s, len);
}


size_t
manta_mask_set(const manta_pats_t *ps, unsigned char *s, size_t len)
{
    size_t                k, n;
    unsigned char        *p, *last;
    const unsigned char  *hit;

    n = 0;

    if (len < ps->minlen) {
        return 0;
    }

    for (k = 0; k < ps->npat; k++) {
        p = s;
        last = s + len;

        while ((size_t) (last - p) >= ps->len[k]) {
            hit = manta_mask_find(ps, k, p, last - p);
            if (hit == NULL) {
                break;
            }

            p = (unsigned char *) hit;
            manta_mask_fill(p, 0, ps->len[k]);
            p += ps->len[k];
            n++;
        }
    }

    return n;
}


int
manta_mask_any(const manta_pats_t *ps, const unsigned char *s, size_t len)
{
    return manta_mask_search(ps, s, len);
}


static inline int
manta_mask_search(const manta_pats_t *ps, const unsigned char *s, size_t len)
{
    size_t  k;

    if (len < ps->minlen) {
        return 0;
    }

    for (k = 0; k < ps->npat; k++) {
        if (ps->len[k] <= len && manta_mask_find(ps, k, s, len) != NULL) {
            return 1;
        }
    }

    return 0;
}


/*
 * The first occurrence of pattern k in s[len], or NULL; s is at least as
 * long as the pattern.  Its byte anchor[k] is searched for first, with
 * memchr(), but for a long text and an anchor at 0 (memmem(), linear
 * whatever the bytes), as manta_find_at() does.  Most texts hold no such
 * byte: that first memchr() is all the callers' loops inline, and
 * manta_mask_verify() goes on from a place it finds.
 */

static inline const unsigned char *
manta_mask_find(const manta_pats_t *ps, size_t k, const unsigned char *s,
    size_t len)
{
    size_t                a, n;
    const unsigned char  *h;

    n = ps->len[k];
    a = ps->anchor[k];

    if (a == 0 && len > MANTA_FIND_SHORT) {
        return memmem(s, len, ps->pat[k], n);
    }

    /* the places of p[a] a whole occurrence fits around */

    h = memchr(s + a, ps->pat[k][a], len - n + 1);

    if (h == NULL) {
        return NULL;
    }

    return manta_mask_verify(ps, k, h, s + len - n + a + 1);
}


/*
 * The first occurrence of pattern k whose byte anchor[k] is at h, a place
 * of that byte, or after it and before last; NULL when none is.
 */

static const unsigned char *
manta_mask_verify(const manta_pats_t *ps, size_t k, const unsigned char *h,
    const unsigned char *last)
{
    size_t                a, n;
    const unsigned char  *p;

    p = ps->pat[k];
    n = ps->len[k];
    a = ps->anchor[k];

    for ( ;; ) {

        /* the pattern's last byte first: most places fail there */

        if (h[n - 1 - a] == p[n - 1] && memcmp(h - a, p, n) == 0) {
            return h - a;
        }

        if (++h >= last) {
            return NULL;
        }

        h = memchr(h, p[a], last - h);

        if (h == NULL) {
            return NULL;
        }
    }
}


/* the longest suffix of s[len] that is a proper prefix of a pattern */

static size_t
manta_mask_tail(const manta_mask_t *m, const unsigned char *s, size_t len)
{
    size_t                k, j, best;
    const manta_pats_t   *ps;
    const unsigned char  *p, *hit;

    ps = m->set;
    best = 0;

    for (k = 0; k < ps->npat; k++) {
        p = ps->pat[k];

        /* at most the pattern's length less one byte */

        j = len > ps->len[k] - 1 ? len - (ps->len[k] - 1) : 0;

        while (j < len && len - j > best) {
            hit = memchr(s + j, p[0], len - j);

            if (hit == NULL) {
                break;
            }

            j = hit - s;

            if (len - j > best && memcmp(s + j, p, len - j) == 0) {
                best = len - j;
                break;
            }

            j++;
        }
    }

    return best;
}


/* the next occurrence of pattern k in in[len] from "from", or len */

static size_t
manta_mask_next(const manta_mask_t *m, size_t k, const unsigned char *in,
    size_t len, size_t from)
{
    const unsigned char  *hit;

    if (from >= len || len - from < m->set->len[k]) {
        return len;
    }

    hit = manta_mask_find(m->set, k, in + from, len - from);

    return hit ? (size_t) (hit - in) : len;
}


static void
manta_mask_fill(unsigned char *out, size_t from, size_t to)
{
    if (to > from) {
        memset(out + from, MANTA_MASK_BYTE, to - from);
    }
}


/* 1 when a piece of len bytes completes a stream of known length */

static int
manta_mask_ends(const manta_mask_t *m, size_t len)
{
    return m->known && len >= m->left;
}


size_t
manta_mask_patterns(const manta_cred_t *cred, manta_str_t *pat,
    size_t *anchor)
{
    size_t               k;
    const manta_pats_t  *ps;

    /* set when the credential was loaded */

    ps = &cred->pats;

    for (k = 0; k < ps->npat; k++) {
        pat[k].data = (const char *) ps->pat[k];
        pat[k].len = ps->len[k];
        anchor[k] = ps->anchor[k];
    }

    return ps->npat;
}
