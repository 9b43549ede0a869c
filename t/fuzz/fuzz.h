/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * Helpers shared by the libFuzzer drivers in t/fuzz/fuzz_*.c.
 */


#ifndef _FUZZ_H_INCLUDED_
#define _FUZZ_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "manta_request.h"


#define S(s)  (s), (sizeof(s) - 1)

/* an invariant: a violation aborts, which libFuzzer reports as a crash */
#define fuzz_assert(cond)                                                    \
    ((cond) ? (void) 0 : fuzz_fail(#cond, __FILE__, __LINE__))


/* fuzz.c has a weak one that seeds jansson: a driver may define its own */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

void fuzz_fail(const char *cond, const char *file, int line)
    __attribute__ ((noreturn));

/* seeds jansson's hash function once, as the module does at start-up */
void fuzz_json_init(void);

/* a compiled regular expression the driver needs: a failure aborts */
manta_re_t *fuzz_re(const char *pattern, size_t len, int flags);

/*
 * The body options a driver's first input byte picks: bit 0 drops unknown
 * members, bit 1 replaces a caller's secret, the six others the name's
 * maximum length (64 when 0); no name pattern.
 */
void fuzz_body_opts(manta_body_opts_t *opts, uint8_t byte);

/* strict UTF-8: no overlong forms, surrogates or code points > U+10FFFF */
int fuzz_utf8_valid(const char *s, size_t len);

/* decodes one code point of valid UTF-8 at *p, advancing it */
uint32_t fuzz_utf8_next(const char **p);

/* 1 when valid UTF-8 is in NFC: utf8proc's NFC of it is the same bytes */
int fuzz_nfc(const char *s, size_t len);

/*
 * Aborts unless name is an accepted name: NUL-terminated valid UTF-8 in
 * NFC, at most max_length code points, not starting with a combining mark,
 * without controls, noncharacters, private-use, unassigned, bidi control or
 * other Default_Ignorable code points, trimmed, white space only single
 * U+0020.
 */
void fuzz_name_invariants(const char *name, size_t len, size_t max_length);

/* 1 when the bytes hold a C0 control (NUL included), DEL or a C1 control */
int fuzz_control(const char *s, size_t len);

/* 1 when the bytes hold any of the n needles (empty needles never match) */
int fuzz_holds(const char *s, size_t len, const char *const *needles,
    size_t n);


#endif /* _FUZZ_H_INCLUDED_ */
