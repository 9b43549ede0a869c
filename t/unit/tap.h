/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * A tiny TAP producer for the unit tests: the plan is printed at the end.
 */


#ifndef _TAP_H_INCLUDED_
#define _TAP_H_INCLUDED_


#include <stddef.h>


#define ok(cond, ...)                                                        \
    tap_ok((cond) ? 1 : 0, __FILE__, __LINE__, __VA_ARGS__)

#define is_int(got, expected, ...)                                           \
    tap_is_int((long long) (got), (long long) (expected), __FILE__,          \
               __LINE__, __VA_ARGS__)

#define is_str(got, expected, ...)                                           \
    tap_is_str(got, expected, __FILE__, __LINE__, __VA_ARGS__)

/* compares got_len bytes at got with a C string */
#define is_mem(got, got_len, expected, ...)                                  \
    tap_is_mem(got, got_len, expected, __FILE__, __LINE__, __VA_ARGS__)



int tap_ok(int pass, const char *file, int line, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));
int tap_is_int(long long got, long long expected, const char *file,
    int line, const char *fmt, ...) __attribute__ ((format (printf, 5, 6)));
int tap_is_str(const char *got, const char *expected, const char *file,
    int line, const char *fmt, ...) __attribute__ ((format (printf, 5, 6)));
int tap_is_mem(const char *got, size_t got_len, const char *expected,
    const char *file, int line, const char *fmt, ...)
    __attribute__ ((format (printf, 6, 7)));
/* head, n times unit, tail: a malloc()ed C string */
char *repeat(const char *head, const char *unit, size_t n, const char *tail);
void diag(const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
int done_testing(void);


#endif /* _TAP_H_INCLUDED_ */
