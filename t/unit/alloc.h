/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * The core writes into buffers its caller provides.  For the unit tests
 * and the fuzz targets, which compare results more than they size
 * buffers: the same calls with a malloc()ed result (NULL unless the call
 * succeeded), released with free().
 */


#ifndef _ALLOC_H_INCLUDED_
#define _ALLOC_H_INCLUDED_


#include <stdlib.h>

#include "manta_request.h"
#include "manta_error.h"


typedef manta_reason_t (*alloc_name_pt)(const manta_body_opts_t *opts,
    const char *data, size_t len, char *name, size_t name_size,
    size_t *name_len, char *msg, size_t msg_size);


static inline manta_reason_t
alloc_name(alloc_name_pt check, const manta_body_opts_t *opts,
    const char *data, size_t len, char **name, size_t *name_len, char *msg,
    size_t msg_size)
{
    manta_reason_t  rc;

    *name = malloc(manta_name_size(len));
    *name_len = 0;

    if (*name == NULL) {
        return MANTA_NOMEM;
    }

    rc = check(opts, data, len, *name, manta_name_size(len), name_len, msg,
               msg_size);

    if (rc != MANTA_OK) {
        free(*name);
        *name = NULL;
    }

    return rc;
}


#define alloc_body_check(opts, data, len, name, name_len, msg, msg_size)     \
    alloc_name(manta_body_check, opts, data, len, name, name_len, msg,       \
               msg_size)
#define alloc_body_check_json(opts, data, len, name, name_len, msg,          \
                              msg_size)                                      \
    alloc_name(manta_body_check_json, opts, data, len, name, name_len, msg,  \
               msg_size)
#define alloc_name_normalize(opts, data, len, name, name_len, msg, msg_size) \
    alloc_name(manta_name_normalize, opts, data, len, name, name_len, msg,   \
               msg_size)


/* asks for the size first: MANTA_ERROR_SHORT is part of what is tested */

#define alloc_error_rewrite(body, len, status, bot_id, bot_id_len, redact,  \
                            nredact, out, out_len)                           \
    alloc_error_rewrite_at(body, len, status, bot_id, bot_id_len, redact,    \
                           NULL, nredact, out, out_len)

static inline manta_error_rc_t
alloc_error_rewrite_at(const char *body, size_t len, int status,
    const char *bot_id, size_t bot_id_len, const manta_str_t *redact,
    const size_t *anchor, size_t nredact, char **out, size_t *out_len)
{
    size_t            size;
    manta_error_rc_t  rc;

    *out = NULL;
    size = 0;

    rc = manta_error_rewrite_at(body, len, status, bot_id, bot_id_len,
                                redact, anchor, nredact, NULL, &size);

    if (rc != MANTA_ERROR_SHORT) {
        *out_len = size;
        return rc;
    }

    *out = malloc(size);
    if (*out == NULL) {
        return MANTA_ERROR_NOMEM;
    }

    *out_len = size;

    rc = manta_error_rewrite_at(body, len, status, bot_id, bot_id_len,
                                redact, anchor, nredact, *out, out_len);

    if (rc != MANTA_ERROR_REWRITTEN) {
        free(*out);
        *out = NULL;
    }

    return rc;
}


#endif /* _ALLOC_H_INCLUDED_ */
