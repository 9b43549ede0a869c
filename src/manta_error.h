/*
 * Copyright (C) ngx_http_manta_module authors
 * Pure C core: no nginx types or headers.
 *
 * Error responses the caller sees: the ErrorResponse the module builds
 * and the rewrite of upstream's error bodies.
 */


#ifndef _MANTA_ERROR_H_INCLUDED_
#define _MANTA_ERROR_H_INCLUDED_


#include <stddef.h>


#define MANTA_ERROR_MESSAGE_MAX  512


typedef struct {
    const char  *data;
    size_t       len;
} manta_str_t;


typedef enum {
    MANTA_ERROR_PASS = 0,       /* a valid ErrorResponse: send it as is */
    MANTA_ERROR_REWRITTEN,      /* out replaces the body */
    MANTA_ERROR_SHORT,          /* out is too small: *out_len is needed */
    MANTA_ERROR_NOMEM
} manta_error_rc_t;


/*
 * Turns an error body (status >= 400) into an ErrorResponse.
 *
 * body is NULL when the body must not be parsed (encoded, or larger than
 * manta_error_body_max): the message is then the status's reason phrase.
 * A body that already is a valid ErrorResponse (an object with "success"
 * false and "errResponse" an object with a string "message", an integer
 * "code" and, if present, a string "botId") passes as is when none of its
 * strings holds a redacted value and it has a "botId" or bot_id is NULL;
 * otherwise every occurrence of a redacted value in its strings becomes
 * "[redacted]", a missing "botId" is set to bot_id, and it is
 * re-serialized.  One with a redacted value in a member name, which cannot
 * be replaced in place, is treated as any other body.  Any other body gives
 * {"success":false,"errResponse":{"message":M,"code":status,"botId":B}}
 * with M the first string among "message", "error", "detail", "title" and
 * "errResponse"."message" of a JSON object body (redacted, then cut to at
 * most MANTA_ERROR_MESSAGE_MAX bytes on a UTF-8 boundary), else the reason
 * phrase; "botId" only when bot_id is not NULL.
 *
 * Redaction works on the decoded strings; a redacted value that the bytes
 * of the result would still hold (a digits-only secret written as a JSON
 * number, a value spanning members) makes the body be treated as any other
 * body, and when even that result holds it, the message is the reason
 * phrase: no redacted value is taken from the body into the result.
 *
 * out is the caller's buffer of *out_len bytes.  On MANTA_ERROR_REWRITTEN
 * it holds the new body and a NUL, *out_len the body's length; when they
 * do not fit, MANTA_ERROR_SHORT with *out_len set to the size needed (call
 * again with that much); otherwise *out_len is 0.  Nothing allocated
 * inside outlives the call; every json_t is released on every path.
 */
manta_error_rc_t manta_error_rewrite(const char *body, size_t len,
    int status, const char *bot_id, size_t bot_id_len,
    const manta_str_t *redact, size_t nredact, char *out, size_t *out_len);

/*
 * manta_error_rewrite() with each redact[i] searched for its byte
 * anchor[i] first (manta_anchor(), or manta_mask_patterns()'s anchors; 0
 * for its first byte): the same answer, found sooner.  anchor may be NULL.
 */
manta_error_rc_t manta_error_rewrite_at(const char *body, size_t len,
    int status, const char *bot_id, size_t bot_id_len,
    const manta_str_t *redact, const size_t *anchor, size_t nredact,
    char *out, size_t *out_len);

/*
 * 1 (the default): bodies whose answer needs no jansson tree are read with
 * the tokenizer of manta_jscan.h, others with jansson.  0: every body with
 * jansson.  The answer is the same either way; only the tests set it.
 */
extern int  manta_error_fast;

/*
 * ErrorResponse, compact:
 * {"success":false,"errResponse":{"message":M,"code":C,"botId":B}}
 * "botId" is omitted when bot_id is NULL.  Returns the length written;
 * manta_error_body_len() gives the exact size needed.
 *
 * plain: MANTA_ERROR_PLAIN_MESSAGE when the message is known to hold no
 * byte JSON escapes (every manta_reason_message() and
 * manta_status_phrase(): a unit test sees to it), MANTA_ERROR_PLAIN_BOT_ID
 * when the botId is; those are copied without being read.
 * manta_error_body_len() adds to *plain the flag of each it reads and
 * finds holding none, for manta_error_body() with the same arguments.
 */

#define MANTA_ERROR_PLAIN_MESSAGE  0x1
#define MANTA_ERROR_PLAIN_BOT_ID   0x2

size_t manta_error_body_len(const char *message, size_t message_len,
    int code, const char *bot_id, size_t bot_id_len, unsigned *plain);
size_t manta_error_body(char *dst, const char *message, size_t message_len,
    int code, const char *bot_id, size_t bot_id_len, unsigned plain);



#endif /* _MANTA_ERROR_H_INCLUDED_ */
