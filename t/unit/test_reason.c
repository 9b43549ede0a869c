/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * manta_reason.c: the reasons for an answer from the gateway (status,
 * code, message) and the status phrases.
 */


#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "manta_reason.h"
#include "manta_json.h"
#include "tap.h"
#include "tests.h"


/* the truncation of snprintf() is what the message tests compare */
#pragma GCC diagnostic ignored "-Wformat-truncation"


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


static void test_message(void);
static void reason_messages_plain(void);


/*
 * manta_message() against snprintf(), which it must equal byte for byte,
 * for every buffer size from 0 (nothing written) to past the text: the
 * conversions it writes itself and ones it leaves to vsnprintf()
 */

#define MESSAGE_IS(fmt, ...)                                                 \
    do {                                                                     \
        char    want[MANTA_MESSAGE_MAX], got[MANTA_MESSAGE_MAX];             \
        int     same;                                                        \
        size_t  size;                                                        \
                                                                             \
        same = 1;                                                            \
                                                                             \
        for (size = 0; size < sizeof(want); size++) {                        \
            memset(want, 'w', sizeof(want));                                 \
            memset(got, 'w', sizeof(got));                                   \
            (void) snprintf(want, size, fmt, __VA_ARGS__);                   \
            manta_message(size ? got : NULL, size, fmt, __VA_ARGS__);        \
            if (size == 0) {                                                 \
                manta_message(got, 0, fmt, __VA_ARGS__);                     \
            }                                                                \
            same = same && memcmp(want, got, sizeof(want)) == 0;             \
        }                                                                    \
                                                                             \
        ok(same, "message as snprintf: \"%s\"", fmt);                       \
    } while (0)


static void
test_message(void)
{
    const char * volatile  null_string = NULL;
    const char * volatile  long_string =
        "a message that is longer than the buffers of the test, which are "
        "MANTA_MESSAGE_MAX bytes: it is truncated to fit, NUL-terminated, "
        "as vsnprintf() truncates it, whatever the size of the buffer it "
        "is given, from one byte up to the whole of it, and it goes on for "
        "a while so as to be long enough";

    MESSAGE_IS("body is not valid JSON (near byte %d): it must be one JSON "
               "object", 22);
    MESSAGE_IS("body is not valid UTF-8 (near byte %d)", 0);
    MESSAGE_IS("%d %d %d %i", INT_MIN, INT_MAX, -1, -7);
    MESSAGE_IS("%u %u %u %u %u %u %u %d %d", 9u, 10u, 99u, 100u, 999999u,
               1000000u, 4294967295u, -10, -100000);
    MESSAGE_IS("%llu %lld %zu %llu|", 4294967296ULL, -4294967296LL,
               (size_t) 100000000000ULL, 12345678901234567ULL);
    MESSAGE_IS("body is %lld bytes, at most %zu are allowed", LLONG_MIN,
               (size_t) -1);
    MESSAGE_IS("%lld %lld %ld %lu %llu", LLONG_MAX, 0LL, LONG_MIN,
               ULONG_MAX, ULLONG_MAX);
    MESSAGE_IS("name contains %s (U+%04X)", "a control character", 0x7fu);
    MESSAGE_IS("(U+%04X) (U+%04X) %x %X %08x %3u %03d %5d %05d|", 0x10ffffu,
               0u, 0xabcdefu, 0xabcdefu, 0x1fu, 7u, -5, -42, -42);
    MESSAGE_IS("name is %zu characters long, at most %zu are allowed",
               (size_t) 129, (size_t) 128);
    MESSAGE_IS("duplicate member \"%s\"", "\"na\\\"me\"");
    MESSAGE_IS("%s%s%s", "", "x", "");
    MESSAGE_IS("100%% %s %%", "sure");
    MESSAGE_IS("%s", "no conversion after this one");
    MESSAGE_IS("left to vsnprintf: %-5d|%+d|% d|%.3s|%5s|%c|%p", 1, 2, 3,
               "abcdef", "ab", 'c', (void *) 0);
    MESSAGE_IS("then ours: %d %s %hd %d", 1, "two", (short) 3, 4);
    MESSAGE_IS("a width too long for us: %0100d %09999d", 5, 6);
    MESSAGE_IS("a %s string", null_string);
    MESSAGE_IS("%s", long_string);
    MESSAGE_IS("widths up to the buffer's: %0255d|%256u|%0257d", -5, 6u, 7);
}


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

    reason_messages_plain();

    test_message();
}


/*
 * The module copies a reason's own message into its ErrorResponse
 * without reading it (MANTA_ERROR_PLAIN_MESSAGE): none may hold a byte
 * JSON escapes
 */

static void
reason_messages_plain(void)
{
    int          r, bad;
    size_t       len;
    const char  *message;

    bad = 0;

    for (r = MANTA_OK; r <= MANTA_NOMEM + 1; r++) {
        message = manta_reason_message((manta_reason_t) r);
        len = strlen(message);

        if (manta_json_escape_len(message, len) != len) {
            bad++;
            diag("the message of reason %d needs escaping", r);
        }
    }

    is_int(bad, 0, "no reason's message needs JSON escaping");
    is_int(MANTA_NOMEM, MANTA_SUBREQUEST + 1, "MANTA_NOMEM is the last reason");
}
