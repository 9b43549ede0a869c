/*
 * Copyright (C) ngx_http_manta_module authors
 * Pure C core: no nginx types or headers.
 */


#ifndef _MANTA_REASON_H_INCLUDED_
#define _MANTA_REASON_H_INCLUDED_


#include <stddef.h>


/*
 * Why a request is not forwarded, in the order of the checks (the first
 * broken rule is the answer, see manta_plan.h); MANTA_OK is "forwarded"
 */

typedef enum {
    MANTA_OK = 0,
    MANTA_METHOD_NOT_ALLOWED,
    MANTA_UNSUPPORTED_MEDIA_TYPE,
    MANTA_BAD_BOT_ID,
    MANTA_UNKNOWN_BOT,
    MANTA_UNKNOWN_CALLER,       /* manta_caller set, its value empty */
    MANTA_CALLER_NOT_ALLOWED,   /* not in "callers", or not for this bot */
    MANTA_BODY_TOO_LARGE,
    MANTA_INVALID_JSON,
    MANTA_INVALID_NAME,
    MANTA_CLIENT_SECRET,
    MANTA_UNKNOWN_FIELD,
    MANTA_TOKEN_EXPIRED,
    MANTA_RATE_LIMITED,
    MANTA_SUBREQUEST,           /* a subrequest into a gateway location */
    MANTA_NOMEM                 /* internal: allocation failed, answer 500 */
} manta_reason_t;


/* "bad_bot_id"; "" for MANTA_OK and MANTA_NOMEM */
const char *manta_reason_code(manta_reason_t reason);

/* 400, 403, ...; 200 for MANTA_OK, 500 for MANTA_NOMEM */
int manta_reason_status(manta_reason_t reason);

/* a short English sentence for the ErrorResponse message */
const char *manta_reason_message(manta_reason_t reason);

/*
 * A message that says what exactly was wrong, written by the checks into
 * a buffer the caller provides (msg_size bytes, NUL-terminated, truncated
 * to fit; nothing is written when msg_size is 0).  "" means: use
 * manta_reason_message().  MANTA_MESSAGE_MAX is enough for every message.
 */
#define MANTA_MESSAGE_MAX  256

void manta_message(char *msg, size_t msg_size, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* the HTTP reason phrase of a status ("Not Found"), "Error" if unknown */
const char *manta_status_phrase(int status);


#endif /* _MANTA_REASON_H_INCLUDED_ */
