/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * manta_reason.c: the reasons for an answer from the gateway (status,
 * code, message) and the status phrases.
 */


#include <stddef.h>

#include "manta_reason.h"
#include "tap.h"
#include "tests.h"


typedef struct {
    manta_reason_t   reason;
    int              status;
    const char      *code;
    const char      *message;
} reason_case_t;


static const reason_case_t  reasons[] = {
    { MANTA_OK, 200, "", "" },
    { MANTA_METHOD_NOT_ALLOWED, 405, "method_not_allowed",
      "method not allowed: use POST" },
    { MANTA_UNSUPPORTED_MEDIA_TYPE, 415, "unsupported_media_type",
      "Content-Type must be application/json" },
    { MANTA_BAD_BOT_ID, 400, "bad_bot_id",
      "botId query argument is missing or invalid" },
    { MANTA_UNKNOWN_BOT, 403, "unknown_bot", "unknown botId" },
    { MANTA_UNKNOWN_CALLER, 401, "unknown_caller",
      "the caller is not identified" },
    { MANTA_CALLER_NOT_ALLOWED, 403, "caller_not_allowed",
      "the caller may not act for this botId" },
    { MANTA_BODY_TOO_LARGE, 413, "body_too_large",
      "request body is too large" },
    { MANTA_INVALID_JSON, 400, "invalid_json",
      "request body must be one JSON object" },
    { MANTA_INVALID_NAME, 400, "invalid_name",
      "name must be a non-empty string of allowed characters" },
    { MANTA_CLIENT_SECRET, 400, "client_secret",
      "secret must not be sent by the caller" },
    { MANTA_UNKNOWN_FIELD, 400, "unknown_field",
      "request body has unknown members" },
    { MANTA_TOKEN_EXPIRED, 401, "token_expired",
      "the gateway's token has expired" },
    { MANTA_RATE_LIMITED, 429, "rate_limited",
      "too many requests for this botId" },
    { MANTA_SUBREQUEST, 403, "subrequest",
      "subrequests are not served by the gateway" },
    { MANTA_NOMEM, 500, "", "Internal Server Error" }
};


static const struct {
    int          status;
    const char  *phrase;
} phrases[] = {
    { 400, "Bad Request" },
    { 401, "Unauthorized" },
    { 403, "Forbidden" },
    { 404, "Not Found" },
    { 405, "Method Not Allowed" },
    { 408, "Request Timeout" },
    { 413, "Payload Too Large" },
    { 414, "URI Too Long" },
    { 415, "Unsupported Media Type" },
    { 422, "Unprocessable Entity" },
    { 429, "Too Many Requests" },
    { 431, "Request Header Fields Too Large" },
    { 451, "Unavailable For Legal Reasons" },
    { 500, "Internal Server Error" },
    { 501, "Not Implemented" },
    { 502, "Bad Gateway" },
    { 503, "Service Unavailable" },
    { 504, "Gateway Timeout" },
    { 505, "HTTP Version Not Supported" },
    { 507, "Insufficient Storage" },
    { 511, "Network Authentication Required" },
    { 419, "Error" },
    { 430, "Error" },
    { 499, "Error" },
    { 509, "Error" },
    { 512, "Error" },
    { 600, "Error" },
    { 399, "Error" },
    { 200, "Error" },
    { 0, "Error" },
    { -1, "Error" }
};


void
test_reason(void)
{
    size_t  i;

    for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
        is_int(manta_reason_status(reasons[i].reason), reasons[i].status,
               "reason %d: status %d", (int) reasons[i].reason,
               reasons[i].status);
        is_str(manta_reason_code(reasons[i].reason), reasons[i].code,
               "reason %d: code \"%s\"", (int) reasons[i].reason,
               reasons[i].code);
        is_str(manta_reason_message(reasons[i].reason), reasons[i].message,
               "reason %d: message", (int) reasons[i].reason);
    }

    is_int(manta_reason_status((manta_reason_t) 1000), 500,
           "out of range reason: 500");
    is_str(manta_reason_code((manta_reason_t) 1000), "",
           "out of range reason: empty code");

    for (i = 0; i < sizeof(phrases) / sizeof(phrases[0]); i++) {
        is_str(manta_status_phrase(phrases[i].status), phrases[i].phrase,
               "phrase of %d", phrases[i].status);
    }
}
