/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * A tiny TAP producer for the unit tests, and repeat(), which builds their
 * long inputs.
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"


static int tap_result(int pass, const char *file, int line, const char *fmt,
    va_list args);
static void tap_diag_value(const char *label, const char *s, size_t len);


static int  tap_run;
static int  tap_failed;


int
tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    tap_result(pass, file, line, fmt, args);
    va_end(args);

    return pass;
}


int
tap_is_int(long long got, long long expected, const char *file, int line,
    const char *fmt, ...)
{
    int      pass;
    va_list  args;

    pass = (got == expected);

    va_start(args, fmt);
    tap_result(pass, file, line, fmt, args);
    va_end(args);

    if (!pass) {
        diag("         got: %lld", got);
        diag("    expected: %lld", expected);
    }

    return pass;
}


int
tap_is_str(const char *got, const char *expected, const char *file, int line,
    const char *fmt, ...)
{
    int      pass;
    va_list  args;

    if (got == NULL || expected == NULL) {
        pass = (got == expected);

    } else {
        pass = (strcmp(got, expected) == 0);
    }

    va_start(args, fmt);
    tap_result(pass, file, line, fmt, args);
    va_end(args);

    if (!pass) {
        tap_diag_value("got", got, got ? strlen(got) : 0);
        tap_diag_value("expected", expected, expected ? strlen(expected) : 0);
    }

    return pass;
}


int
tap_is_mem(const char *got, size_t got_len, const char *expected,
    const char *file, int line, const char *fmt, ...)
{
    int      pass;
    va_list  args;

    if (got == NULL || expected == NULL) {
        pass = (got == NULL && expected == NULL);

    } else {
        pass = (got_len == strlen(expected)
                && memcmp(got, expected, got_len) == 0);
    }

    va_start(args, fmt);
    tap_result(pass, file, line, fmt, args);
    va_end(args);

    if (!pass) {
        tap_diag_value("got", got, got_len);
        tap_diag_value("expected", expected, expected ? strlen(expected) : 0);
    }

    return pass;
}


void
diag(const char *fmt, ...)
{
    va_list  args;

    fputs("# ", stdout);

    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);

    fputc('\n', stdout);
}


int
done_testing(void)
{
    printf("1..%d\n", tap_run);

    if (tap_failed) {
        diag("Looks like you failed %d test%s of %d.", tap_failed,
             tap_failed == 1 ? "" : "s", tap_run);
    }

    fflush(stdout);

    return tap_failed ? 1 : 0;
}


static int
tap_result(int pass, const char *file, int line, const char *fmt,
    va_list args)
{
    char  *p, name[512];

    tap_run++;

    vsnprintf(name, sizeof(name), fmt, args);

    /* a test name is one line */

    for (p = name; *p; p++) {
        if (*p == '\r' || *p == '\n') {
            *p = ' ';
        }
    }

    printf("%s %d - %s\n", pass ? "ok" : "not ok", tap_run, name);

    if (!pass) {
        tap_failed++;
        diag("  Failed test at %s line %d.", file, line);
    }

    return pass;
}


static void
tap_diag_value(const char *label, const char *s, size_t len)
{
    size_t         i;
    unsigned char  c;

    if (s == NULL) {
        diag("%12s: NULL", label);
        return;
    }

    printf("# %12s: '", label);

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (c >= 0x20 && c < 0x7f) {
            fputc(c, stdout);

        } else {
            printf("\\x%02x", c);
        }
    }

    fputs("'\n", stdout);
}


char *
repeat(const char *head, const char *unit, size_t n, const char *tail)
{
    char    *s, *p;
    size_t   i, hl, ul, tl;

    hl = strlen(head);
    ul = strlen(unit);
    tl = strlen(tail);

    s = malloc(hl + ul * n + tl + 1);
    p = s;

    memcpy(p, head, hl);
    p += hl;

    for (i = 0; i < n; i++) {
        memcpy(p, unit, ul);
        p += ul;
    }

    memcpy(p, tail, tl + 1);

    return s;
}
