/*
 * Copyright (C) ngx_http_manta_module authors
 * Pure C core: no nginx types or headers.
 */


#ifndef _MANTA_RE_H_INCLUDED_
#define _MANTA_RE_H_INCLUDED_


#include <stddef.h>


typedef struct manta_re_s  manta_re_t;


#define MANTA_RE_UTF   0x1          /* PCRE2_UTF | PCRE2_UCP */
#define MANTA_RE_PCRE  0x2          /* PCRE2 always, no hand-written check */

/* the default botId pattern, which manta_re_match() checks by hand */
#define MANTA_RE_BOT_ID      "^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$"
#define MANTA_RE_BOT_ID_MAX  128    /* the longest subject it matches */


/*
 * Compiles a PCRE2 pattern (PCRE2_DOLLAR_ENDONLY always, JIT when
 * available).  On failure returns NULL and writes a message naming the
 * offset into err (never longer than errlen - 1).
 */
manta_re_t *manta_re_compile(const char *pattern, size_t len, int flags,
    char *err, size_t errlen);

/* 1 match, 0 no match, -1 error (bad UTF-8 in UTF mode counts as 0) */
int manta_re_match(const manta_re_t *re, const char *subject, size_t len);

/* 1 when manta_re_match() checks MANTA_RE_BOT_ID by hand, 0 otherwise */
int manta_re_is_bot_id(const manta_re_t *re);

void manta_re_free(manta_re_t *re);


#endif /* _MANTA_RE_H_INCLUDED_ */
