/*
 * Copyright (C) ngx_http_manta_module authors
 * Pure C core: no nginx types or headers.
 *
 * Streaming same-length masking of the token and the secret in response
 * bodies that pass to the caller.
 */


#ifndef _MANTA_MASK_H_INCLUDED_
#define _MANTA_MASK_H_INCLUDED_


#include <stddef.h>

#include "manta_creds.h"
#include "manta_error.h"


#define MANTA_MASK_PATTERNS  MANTA_PATS_MAX
#define MANTA_MASK_BYTE      '*'


/*
 * A body is a stream of pieces.  Every byte of every occurrence of a
 * pattern, also one spread over several pieces, is replaced by
 * MANTA_MASK_BYTE; nothing else changes and the length stays.  Of each
 * piece, only the longest suffix of the stream seen so far that is a
 * proper prefix of a pattern is held back (at most the longest pattern's
 * length less one byte), to be released with a later piece or by
 * manta_mask_flush() at the end of the stream.
 */
typedef struct {
    const manta_pats_t   *set;      /* the patterns */
    manta_pats_t          own;      /* manta_mask_init()'s */
    size_t                window;   /* the longest pattern less one byte */
    unsigned char        *orig;     /* the bytes held back, as received */
    unsigned char        *held;     /* the same, masked */
    unsigned char        *scratch;
    size_t                carry;    /* the number of bytes held back */
    size_t                found;    /* occurrences masked so far */
    size_t                left;     /* bytes still to come, if known */
    unsigned              known:1;
} manta_mask_t;


/*
 * Sets up the masking of up to MANTA_MASK_PATTERNS patterns (empty ones
 * are ignored; the patterns are not copied and must outlive m), each
 * searched for its byte anchor[i] (manta_anchor(); anchor may be NULL,
 * as in manta_mask_holds() and manta_mask_all()).  Returns the bytes of
 * memory manta_mask_memory() must give (0: none needed).
 */
size_t manta_mask_init(manta_mask_t *m, const manta_str_t *pat,
    const size_t *anchor, size_t npat);

/*
 * The same for a set of patterns made already (a credential's pats), not
 * copied: ps must outlive m, and for a stream total bytes long, as
 * manta_mask_length() sets (total < 0: not known).  Nothing is allocated:
 * the memory is needed by manta_mask_step() only, so it may be given just
 * before the first.
 */
size_t manta_mask_start(manta_mask_t *m, const manta_pats_t *ps,
    long long total);

/*
 * The stream is total bytes long (a response's Content-Length, which the
 * proxy module never lets upstream exceed): the piece that completes it
 * has nothing held back, as nothing can follow.  Bytes beyond total, were
 * any to come, are all masked.
 */
void manta_mask_length(manta_mask_t *m, size_t total);

/* what manta_mask_init() and manta_mask_start() return */
size_t manta_mask_room(const manta_mask_t *m);

/* mem: as many bytes as manta_mask_room() tells, alive as long as m */
void manta_mask_memory(manta_mask_t *m, unsigned char *mem);

/*
 * 1 when manta_mask_step() has work to do on the next piece: bytes are
 * held back, or the piece holds a pattern or ends with a pattern's proper
 * prefix.  0: the piece may pass as it is, and the state is unchanged.
 */
int manta_mask_needed(const manta_mask_t *m, const unsigned char *in,
    size_t len);

/* the next piece of the stream, len bytes, passed as it is */
void manta_mask_pass(manta_mask_t *m, size_t len);

/*
 * manta_mask_needed(), then manta_mask_pass() when it is 0: 1 when the
 * piece may pass as it is, and has been counted as passed; 0 when
 * manta_mask_step() has work to do on it, the state unchanged.
 */
int manta_mask_clean(manta_mask_t *m, const unsigned char *in, size_t len);

/*
 * Masks the next piece of the stream, in[len], into out[len] (out may be
 * in).  released receives the previously held-back bytes now let go
 * (room for m->carry bytes as it was before the call), *nreleased their
 * number: they come first.  Returns the number of leading bytes of out
 * that follow them; the rest of out is held back.
 */
size_t manta_mask_step(manta_mask_t *m, const unsigned char *in,
    unsigned char *out, size_t len, unsigned char *released,
    size_t *nreleased);

/* the end of the stream: the held-back bytes into out (m->carry bytes) */
size_t manta_mask_flush(manta_mask_t *m, unsigned char *out);

/* 1 when s holds one of the npat patterns (empty ones are ignored) */
int manta_mask_holds(const unsigned char *s, size_t len,
    const manta_str_t *pat, const size_t *anchor, size_t npat);

/* 1 when s holds one of the set's patterns */
int manta_mask_any(const manta_pats_t *ps, const unsigned char *s,
    size_t len);

/*
 * Masks, in place, a whole piece of text (a log line): each pattern's
 * occurrences, searched from left to right, become MANTA_MASK_BYTE, so no
 * pattern is left whole.  Returns how many were masked.
 */
size_t manta_mask_all(unsigned char *s, size_t len, const manta_str_t *pat,
    const size_t *anchor, size_t npat);

/* the same for a set of patterns made already (a credential's pats) */
size_t manta_mask_set(const manta_pats_t *ps, unsigned char *s, size_t len);


/*
 * The values nothing from upstream may carry to the caller, with their
 * search anchors: the token and the secret of cred, and the secret as the
 * forwarded JSON body spells it when that differs.  pat and anchor have
 * MANTA_MASK_PATTERNS entries; returns how many are set.
 */
size_t manta_mask_patterns(const manta_cred_t *cred, manta_str_t *pat,
    size_t *anchor);


#endif /* _MANTA_MASK_H_INCLUDED_ */
