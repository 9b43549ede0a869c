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

#include "manta_reason.h"


#define MANTA_NELTS(a)  ((int) (sizeof(a) / sizeof((a)[0])))


typedef struct {
    int          status;
    const char  *code;
    const char  *message;
} manta_reason_info_t;


static const manta_reason_info_t  *manta_reason_info(manta_reason_t reason);


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


void
manta_message(char *msg, size_t msg_size, const char *fmt, ...)
{
    va_list  args;

    if (msg == NULL || msg_size == 0) {
        return;
    }

    va_start(args, fmt);
    (void) vsnprintf(msg, msg_size, fmt, args);
    va_end(args);
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
