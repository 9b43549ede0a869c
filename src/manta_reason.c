/*
 * Copyright (C) ngx_http_manta_module authors
 * Pure C core: no nginx types or headers.
 *
 * The reasons a request is answered by the gateway: status, code and
 * message.
 */


#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "manta_reason.h"
#include "manta_util.h"


#define MANTA_NELTS(a)  ((int) (sizeof(a) / sizeof((a)[0])))


typedef struct {
    int          status;
    const char  *code;
    const char  *message;
} manta_reason_info_t;


/* manta_message()'s output: p the next byte, last the NUL's place */
typedef struct {
    char        *p;
    char        *last;
} manta_msg_out_t;


static const manta_reason_info_t  *manta_reason_info(manta_reason_t reason);
static int manta_msg_format(manta_msg_out_t *out, const char *fmt,
    va_list *args);
static const char *manta_msg_conversion(manta_msg_out_t *out,
    const char *f, va_list *args);
static const char *manta_msg_integer(manta_msg_out_t *out, const char *f,
    int lng, size_t width, int zero, va_list *args);
static void manta_msg_put(manta_msg_out_t *out, const char *s, size_t len);
static void manta_msg_number(manta_msg_out_t *out, unsigned long long v,
    int neg, unsigned base, size_t width, int zero);
static inline void manta_msg_decimal(manta_msg_out_t *out,
    unsigned long long v, int neg);


static const manta_reason_info_t  manta_reasons[] = {

    /* MANTA_OK */
    { 200, "", "" },

    /* MANTA_METHOD_NOT_ALLOWED */
    { 405, "method_not_allowed", "method not allowed: use POST" },

    /* MANTA_UNSUPPORTED_MEDIA_TYPE */
    { 415, "unsupported_media_type",
      "Content-Type must be application/json" },

    /* MANTA_BAD_BOT_ID */
    { 400, "bad_bot_id", "botId query argument is missing or invalid" },

    /* MANTA_UNKNOWN_BOT */
    { 403, "unknown_bot", "unknown botId" },

    /* MANTA_UNKNOWN_CALLER */
    { 401, "unknown_caller", "the caller is not identified" },

    /* MANTA_CALLER_NOT_ALLOWED */
    { 403, "caller_not_allowed", "the caller may not act for this botId" },

    /* MANTA_BODY_TOO_LARGE */
    { 413, "body_too_large", "request body is too large" },

    /* MANTA_INVALID_JSON */
    { 400, "invalid_json", "request body must be one JSON object" },

    /* MANTA_INVALID_NAME */
    { 400, "invalid_name",
      "name must be a non-empty string of allowed characters" },

    /* MANTA_CLIENT_SECRET */
    { 400, "client_secret", "secret must not be sent by the caller" },

    /* MANTA_UNKNOWN_FIELD */
    { 400, "unknown_field", "request body has unknown members" },

    /* MANTA_TOKEN_EXPIRED */
    { 401, "token_expired", "the gateway's token has expired" },

    /* MANTA_RATE_LIMITED */
    { 429, "rate_limited", "too many requests for this botId" },

    /* MANTA_SUBREQUEST */
    { 403, "subrequest", "subrequests are not served by the gateway" },

    /* MANTA_NOMEM */
    { 500, "", "Internal Server Error" }
};


/* indexed by status - 400 and status - 500; NULL: no standard phrase */

static const char  *manta_phrases_4xx[] = {
    "Bad Request",                          /* 400 */
    "Unauthorized",
    "Payment Required",
    "Forbidden",
    "Not Found",
    "Method Not Allowed",
    "Not Acceptable",
    "Proxy Authentication Required",
    "Request Timeout",
    "Conflict",
    "Gone",                                 /* 410 */
    "Length Required",
    "Precondition Failed",
    "Payload Too Large",
    "URI Too Long",
    "Unsupported Media Type",
    "Range Not Satisfiable",
    "Expectation Failed",
    "I'm a teapot",
    NULL,
    NULL,                                   /* 420 */
    "Misdirected Request",
    "Unprocessable Entity",
    "Locked",
    "Failed Dependency",
    "Too Early",
    "Upgrade Required",
    NULL,
    "Precondition Required",
    "Too Many Requests",
    NULL,                                   /* 430 */
    "Request Header Fields Too Large"
};


static const char  *manta_phrases_5xx[] = {
    "Internal Server Error",                /* 500 */
    "Not Implemented",
    "Bad Gateway",
    "Service Unavailable",
    "Gateway Timeout",
    "HTTP Version Not Supported",
    "Variant Also Negotiates",
    "Insufficient Storage",
    "Loop Detected",
    NULL,
    "Not Extended",                         /* 510 */
    "Network Authentication Required"
};


const char *
manta_reason_code(manta_reason_t reason)
{
    return manta_reason_info(reason)->code;
}


int
manta_reason_status(manta_reason_t reason)
{
    return manta_reason_info(reason)->status;
}


const char *
manta_reason_message(manta_reason_t reason)
{
    return manta_reason_info(reason)->message;
}


/*
 * vsnprintf()'s text for the conversions the messages use (%s, %d, %u, %x
 * and %X with the length modifiers l, ll and z, a zero flag and a width
 * on numbers, %%), written without its set-up; any other conversion is
 * left to vsnprintf() for the whole message
 */

void
manta_message(char *msg, size_t msg_size, const char *fmt, ...)
{
    va_list          args, again;
    manta_msg_out_t  out;

    if (msg == NULL || msg_size == 0) {
        return;
    }

    out.p = msg;
    out.last = msg + msg_size - 1;

    va_start(args, fmt);
    va_copy(again, args);

    if (manta_msg_format(&out, fmt, &args) == 0) {
        *out.p = '\0';

    } else {
        (void) vsnprintf(msg, msg_size, fmt, again);
    }

    va_end(again);
    va_end(args);
}


/* 0: the whole of fmt written; -1: a conversion left to vsnprintf() */

static int
manta_msg_format(manta_msg_out_t *out, const char *fmt, va_list *args)
{
    const char  *pct;

    for ( ;; ) {
        pct = strchr(fmt, '%');

        if (pct == NULL) {
            manta_msg_put(out, fmt, strlen(fmt));
            return 0;
        }

        manta_msg_put(out, fmt, (size_t) (pct - fmt));

        fmt = manta_msg_conversion(out, pct + 1, args);

        if (fmt == NULL) {
            return -1;
        }
    }
}


/* the conversion after a '%' at f; returns what follows it, or NULL */

static const char *
manta_msg_conversion(manta_msg_out_t *out, const char *f, va_list *args)
{
    int          zero, lng;
    size_t       width;
    const char  *s;

    zero = (*f == '0');
    f += zero;

    for (width = 0; *f >= '0' && *f <= '9'; f++) {
        width = width * 10 + (size_t) (*f - '0');

        if (width > MANTA_MESSAGE_MAX) {
            return NULL;
        }
    }

    lng = 0;

    if (*f == 'z') {
        lng = 'z';
        f++;

    } else if (f[0] == 'l' && f[1] == 'l') {
        lng = 'q';
        f += 2;

    } else if (*f == 'l') {
        lng = 'l';
        f++;
    }

    if (*f != 's' && *f != '%') {
        return manta_msg_integer(out, f, lng, width, zero, args);
    }

    if (zero || width || lng) {
        return NULL;
    }

    s = (*f == 's') ? va_arg(*args, const char *) : "%";

    if (s == NULL) {
        return NULL;
    }

    manta_msg_put(out, s, strlen(s));

    return f + 1;
}


/* an integer conversion at f, its modifiers given */

static const char *
manta_msg_integer(manta_msg_out_t *out, const char *f, int lng, size_t width,
    int zero, va_list *args)
{
    long long           v;
    unsigned long long  u;

    switch (*f) {

    case 'd':
    case 'i':
        v = (lng == 'q') ? va_arg(*args, long long)
            : (lng == 'l') ? va_arg(*args, long)
            : (lng == 'z') ? (long long) va_arg(*args, size_t)
            : va_arg(*args, int);
        u = (v < 0) ? 0ULL - (unsigned long long) v : (unsigned long long) v;

        if (width == 0) {
            manta_msg_decimal(out, u, v < 0);

        } else {
            manta_msg_number(out, u, v < 0, 10, width, zero);
        }

        return f + 1;

    case 'u':
    case 'x':
    case 'X':
        u = (lng == 'q') ? va_arg(*args, unsigned long long)
            : (lng == 'l') ? va_arg(*args, unsigned long)
            : (lng == 'z') ? va_arg(*args, size_t)
            : va_arg(*args, unsigned);

        if (width == 0 && *f == 'u') {
            manta_msg_decimal(out, u, 0);

        } else {
            manta_msg_number(out, u, 0, (*f == 'u') ? 10 : (unsigned) *f,
                             width, zero);
        }

        return f + 1;

    default:
        return NULL;
    }
}


/* as much of s as fits before the NUL's place */

static void
manta_msg_put(manta_msg_out_t *out, const char *s, size_t len)
{
    size_t  room;

    room = (size_t) (out->last - out->p);

    if (len > room) {
        len = room;
    }

    memcpy(out->p, s, len);
    out->p += len;
}


/*
 * v, negative when neg, in base 10 without a width: manta_uint()'s digits,
 * straight into the message while the longest number fits there
 */

static inline void
manta_msg_decimal(manta_msg_out_t *out, unsigned long long v, int neg)
{
    char  buf[sizeof("-18446744073709551615")], *p;

    if ((size_t) (out->last - out->p) >= sizeof(buf) - 1) {
        p = out->p;

        if (neg) {
            *p++ = '-';
        }

        out->p = manta_uint(p, v);
        return;
    }

    p = buf;

    if (neg) {
        *p++ = '-';
    }

    p = manta_uint(p, v);

    manta_msg_put(out, buf, (size_t) (p - buf));
}


/*
 * v, negative when neg, in base 10, or 16 with the letters of base ('x' or
 * 'X'), at least width bytes: padded with zeros after the sign when zero,
 * else with spaces before it
 */

static void
manta_msg_number(manta_msg_out_t *out, unsigned long long v, int neg,
    unsigned base, size_t width, int zero)
{
    char         buf[MANTA_MESSAGE_MAX + 32], *p, *digits;
    const char  *letters;

    letters = (base == 'x') ? "0123456789abcdef" : "0123456789ABCDEF";

    p = buf + sizeof(buf);
    digits = p;

    if (base == 10) {
        do {
            *--p = (char) ('0' + v % 10);
            v /= 10;
        } while (v);

    } else {
        do {
            *--p = letters[v % 16];
            v /= 16;
        } while (v);
    }

    while (zero && (size_t) (digits - p) + (size_t) neg < width) {
        *--p = '0';
    }

    if (neg) {
        *--p = '-';
    }

    while ((size_t) (digits - p) < width) {
        *--p = ' ';
    }

    manta_msg_put(out, p, (size_t) (digits - p));
}


const char *
manta_status_phrase(int status)
{
    const char  *phrase;

    phrase = NULL;

    if (status >= 400 && status < 400 + MANTA_NELTS(manta_phrases_4xx)) {
        phrase = manta_phrases_4xx[status - 400];

    } else if (status >= 500
               && status < 500 + MANTA_NELTS(manta_phrases_5xx))
    {
        phrase = manta_phrases_5xx[status - 500];

    } else if (status == 451) {
        phrase = "Unavailable For Legal Reasons";
    }

    return phrase ? phrase : "Error";
}


static const manta_reason_info_t *
manta_reason_info(manta_reason_t reason)
{
    if ((int) reason < 0 || (int) reason >= MANTA_NELTS(manta_reasons)) {
        return &manta_reasons[MANTA_NOMEM];
    }

    return &manta_reasons[reason];
}
