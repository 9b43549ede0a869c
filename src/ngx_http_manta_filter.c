/*
 * Copyright (C) ngx_http_manta_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_manta_module.h"
#include "ngx_http_manta_filter.h"
#include "ngx_http_manta_limit.h"
#include "ngx_http_manta_redact.h"
#include "manta_error.h"


static ngx_int_t ngx_http_manta_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_manta_error_start(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx, ngx_http_manta_loc_conf_t *mlcf);
static ngx_int_t ngx_http_manta_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_manta_error_filter(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx, ngx_chain_t *in) NGX_HTTP_MANTA_COLD;

static void ngx_http_manta_upstream_finalize(ngx_http_request_t *r,
    ngx_int_t rc);

static ngx_int_t ngx_http_manta_error_collect(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx, ngx_buf_t *b);
static ngx_int_t ngx_http_manta_error_room(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx, size_t size, ngx_http_manta_loc_conf_t *mlcf);
static ngx_int_t ngx_http_manta_error_send(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx);
static ngx_int_t ngx_http_manta_error_body(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx, ngx_str_t *in, ngx_str_t *out);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


/*
 * In a manta_endpoint location:
 *
 * - no upstream header whose value holds the token or the secret is
 *   passed, nor kept for $upstream_http_*;
 * - an upstream status below 200 (nginx 1.22 takes a 1xx for the final
 *   response), no valid status line (nginx falls back to HTTP/0.9) or an
 *   encoded success body is answered 502, the upstream connection closed;
 * - responses with a status of 400 or more, upstream's or nginx's own, are
 *   held back: their body is collected (up to manta_error_body_max) and
 *   replaced by an ErrorResponse, sent with its headers once the body's
 *   last buffer has been seen, or a 502 ErrorResponse when the upstream's
 *   body breaks off;
 * - other bodies from upstream are streamed with the token and the secret
 *   masked.
 *
 * The module's own rejections already have the ErrorResponse shape and
 * pass.
 */

static ngx_int_t
ngx_http_manta_header_filter(ngx_http_request_t *r)
{
    ngx_int_t                   rc;
    ngx_http_manta_ctx_t       *ctx;
    ngx_http_manta_loc_conf_t  *mlcf;

    mlcf = ngx_http_get_module_loc_conf(r, ngx_http_manta_module);

    if (mlcf->endpoint == NGX_HTTP_MANTA_OFF || r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_manta_get_ctx(r);

    if (ctx == NULL) {
        ctx = ngx_http_manta_create_ctx(r);
        if (ctx == NULL) {
            return NGX_ERROR;
        }
    }

    if (ctx->error_phase) {
        /* the held-back headers of an error response, now sent */
        return ngx_http_next_header_filter(r);
    }

    if (r->upstream && ctx->reason == MANTA_OK) {
        /* the upstream's response, or nginx's own error while proxying */

        if (ctx->cred) {
            ngx_http_manta_redact_headers(r, ctx);
        }

        rc = ngx_http_manta_final_response(r);

        if (rc != NGX_OK) {
            return rc;
        }
    }

    if (mlcf->limit_zone && ngx_http_manta_limit_response(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    if (!mlcf->errors
        || r->headers_out.status < NGX_HTTP_BAD_REQUEST
        || ctx->reason != MANTA_OK)
    {
        if (r->upstream && ctx->reason == MANTA_OK && ctx->cred
            && ngx_http_manta_mask_start(r, ctx) != NGX_OK)
        {
            return NGX_ERROR;
        }

        return ngx_http_next_header_filter(r);
    }

    return ngx_http_manta_error_start(r, ctx, mlcf);
}


/*
 * An error response to be rewritten: its headers are made those of an
 * ErrorResponse and held back until its body, collected by the body
 * filter, has been seen whole.
 */

static ngx_int_t
ngx_http_manta_error_start(ngx_http_request_t *r, ngx_http_manta_ctx_t *ctx,
    ngx_http_manta_loc_conf_t *mlcf)
{
    ngx_str_t  body;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "manta error filter: %ui", r->headers_out.status);

    if (r->headers_out.content_encoding
        && r->headers_out.content_encoding->value.len)
    {
        /* an encoded body is never parsed */
        ctx->error_skip = 1;
    }

    if (r->headers_out.content_length_n > (off_t) mlcf->error_body_max) {
        ctx->error_skip = 1;

    } else if (r->headers_out.content_length_n > 0) {
        /* the collected body's room: what upstream announced */
        ctx->error_size = (size_t) r->headers_out.content_length_n;
    }

    if (r->headers_out.content_encoding) {
        r->headers_out.content_encoding->hash = 0;
        r->headers_out.content_encoding = NULL;
    }

    ngx_http_clear_content_length(r);
    ngx_http_clear_accept_ranges(r);
    ngx_http_clear_last_modified(r);
    ngx_http_clear_etag(r);

    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = sizeof("application/json") - 1;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.charset.len = 0;

    if (r->header_only || r->method == NGX_HTTP_HEAD) {
        /* no body will follow: the reason phrase answers */

        ctx->error_phase = NGX_HTTP_MANTA_ERROR_SENT;

        if (ngx_http_manta_error_body(r, ctx, NULL, &body) != NGX_OK) {
            return NGX_ERROR;
        }

        r->headers_out.content_length_n = body.len;

        return ngx_http_next_header_filter(r);
    }

    ctx->error_phase = NGX_HTTP_MANTA_ERROR_COLLECT;

    /* the copy filter reads a body spooled to a file into memory */
    r->filter_need_in_memory = 1;

    if (r->upstream && r->upstream->cleanup && ctx->upstream_finalize == NULL)
    {
        /* the body may break off: see ngx_http_manta_upstream_finalize() */

        ctx->upstream_finalize = r->upstream->finalize_request;
        r->upstream->finalize_request = ngx_http_manta_upstream_finalize;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_manta_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_http_manta_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_manta_module);

    if (ctx == NULL) {
        return ngx_http_next_body_filter(r, in);
    }

    if (ctx->error_phase == NGX_HTTP_MANTA_ERROR_COLLECT) {
        return ngx_http_manta_error_filter(r, ctx, in);
    }

    if (ctx->mask_on) {
        in = ngx_http_manta_mask_body(r, ctx, in);

        if (in == NGX_CHAIN_ERROR) {
            return NGX_ERROR;
        }
    }

    return ngx_http_next_body_filter(r, in);
}


/*
 * The body of an error response to be rewritten, collected; the
 * ErrorResponse is sent once its last buffer has been seen
 * (NGX_HTTP_MANTA_COLD: the path of every other body through
 * ngx_http_manta_body_filter() saves no registers for it).
 */

static ngx_int_t
ngx_http_manta_error_filter(ngx_http_request_t *r, ngx_http_manta_ctx_t *ctx,
    ngx_chain_t *in)
{
    ngx_uint_t    last;
    ngx_chain_t  *cl;

    last = 0;

    for (cl = in; cl; cl = cl->next) {

        if (ngx_http_manta_error_collect(r, ctx, cl->buf) != NGX_OK) {
            return NGX_ERROR;
        }

        if (cl->buf->last_buf) {
            last = 1;
        }
    }

    if (!last) {
        return NGX_OK;
    }

    ctx->error_phase = NGX_HTTP_MANTA_ERROR_SENT;

    return ngx_http_manta_error_send(r, ctx);
}


/*
 * The upstream's error response, held back, breaks off (reset, early
 * close, read timeout, bad chunked framing): nginx would close the
 * connection without a response, as the headers count as sent.  The caller
 * gets a complete 502 ErrorResponse at once, then the connection closes.
 */

static void
ngx_http_manta_upstream_finalize(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_http_manta_ctx_t  *ctx;

    ctx = ngx_http_manta_get_ctx(r);

    if (ctx == NULL) {
        return;
    }

    ctx->upstream_finalize(r, rc);

    if (ctx->error_phase != NGX_HTTP_MANTA_ERROR_COLLECT
        || rc == NGX_OK || rc == NGX_DONE || rc == NGX_DECLINED
        || rc == NGX_HTTP_CLIENT_CLOSED_REQUEST
        || rc == NGX_HTTP_REQUEST_TIME_OUT
        || r->connection->error)
    {
        return;
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "manta: upstream error response broke off: answered 502");

    ctx->error_phase = NGX_HTTP_MANTA_ERROR_SENT;
    ctx->error_skip = 1;

    r->headers_out.status = NGX_HTTP_BAD_GATEWAY;
    ngx_str_null(&r->headers_out.status_line);
    r->keepalive = 0;

    (void) ngx_http_manta_error_send(r, ctx);
}


/* copies a buffer of the error body, then marks it consumed */

static ngx_int_t
ngx_http_manta_error_collect(ngx_http_request_t *r, ngx_http_manta_ctx_t *ctx,
    ngx_buf_t *b)
{
    off_t                       size;
    ngx_http_manta_loc_conf_t  *mlcf;

    size = ngx_buf_size(b);

    if (size == 0 || ngx_buf_special(b)) {
        return NGX_OK;
    }

    mlcf = ngx_http_get_module_loc_conf(r, ngx_http_manta_module);

    if (ctx->error_skip
        || (off_t) ctx->error_len + size > (off_t) mlcf->error_body_max)
    {
        ctx->error_skip = 1;
        goto consumed;
    }

    if (ctx->error_body == NULL || ctx->error_len + size > ctx->error_size)
    {
        if (ngx_http_manta_error_room(r, ctx, (size_t) size, mlcf)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (!ngx_buf_in_memory(b)) {
        /* r->filter_need_in_memory: the copy filter has read it */
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "manta: error response buffer not in memory");
        ctx->error_skip = 1;
        goto consumed;
    }

    ngx_memcpy(ctx->error_body + ctx->error_len, b->pos, (size_t) size);

    ctx->error_len += (size_t) size;

consumed:

    if (ngx_buf_in_memory(b)) {
        b->pos = b->last;
    }

    if (b->in_file) {
        b->file_pos = b->file_last;
    }

    return NGX_OK;
}


/*
 * Room for size more bytes of the error body: as much as upstream's
 * Content-Length announced (a buffer the pool holds, not one as large as
 * manta_error_body_max), growing twofold for a body without one or one
 * longer than announced, up to the max.
 */

static ngx_int_t
ngx_http_manta_error_room(ngx_http_request_t *r, ngx_http_manta_ctx_t *ctx,
    size_t size, ngx_http_manta_loc_conf_t *mlcf)
{
    u_char  *p;
    size_t   need, room;

    need = ctx->error_len + size;

    if (ctx->error_body == NULL) {
        room = ngx_max(need, ctx->error_size);

    } else {
        room = ngx_max(need, 2 * ctx->error_size);
    }

    room = ngx_min(room, mlcf->error_body_max);

    p = ngx_pnalloc(r->pool, room);
    if (p == NULL) {
        return NGX_ERROR;
    }

    if (ctx->error_body) {
        ngx_memcpy(p, ctx->error_body, ctx->error_len);
        ngx_pfree(r->pool, ctx->error_body);
    }

    ctx->error_body = p;
    ctx->error_size = room;

    return NGX_OK;
}


static ngx_int_t
ngx_http_manta_error_send(ngx_http_request_t *r, ngx_http_manta_ctx_t *ctx)
{
    ngx_str_t  in, body;

    in.data = ctx->error_body;
    in.len = ctx->error_len;

    if (ngx_http_manta_error_body(r, ctx, ctx->error_skip ? NULL : &in,
                                  &body)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_manta_send_json(r, &body, ngx_http_next_header_filter,
                                    ngx_http_next_body_filter);
}


/*
 * The ErrorResponse for the collected body: "in" is NULL when the body is
 * not to be parsed.  The token and secret used for the request are
 * redacted.
 */

static ngx_int_t
ngx_http_manta_error_body(ngx_http_request_t *r, ngx_http_manta_ctx_t *ctx,
    ngx_str_t *in, ngx_str_t *out)
{
    u_char            *p;
    size_t             len, size, nredact, anchor[MANTA_MASK_PATTERNS];
    manta_str_t        redact[MANTA_MASK_PATTERNS];
    const char        *bot_id;
    manta_error_rc_t   rc;

    nredact = ctx->cred ? manta_mask_patterns(ctx->cred, redact, anchor)
                        : 0;

    bot_id = ctx->bot_id.len ? (char *) ctx->bot_id.data : NULL;

    /* enough for most bodies; the core tells how much when it is not */

    size = (in ? in->len : 0) + 1024;

    for ( ;; ) {
        p = ngx_pnalloc(r->pool, size);
        if (p == NULL) {
            return NGX_ERROR;
        }

        len = size;

        rc = manta_error_rewrite_at(in ? (char *) in->data : NULL,
                                    in ? in->len : 0,
                                    (int) r->headers_out.status, bot_id,
                                    ctx->bot_id.len, redact, anchor, nredact,
                                    (char *) p, &len);

        if (rc != MANTA_ERROR_SHORT) {
            break;
        }

        size = len;
    }

    switch (rc) {

    case MANTA_ERROR_PASS:
        *out = *in;
        return NGX_OK;

    case MANTA_ERROR_REWRITTEN:
        ctx->error_rewritten = 1;

        out->data = p;
        out->len = len;

        return NGX_OK;

    default: /* MANTA_ERROR_NOMEM */
        return NGX_ERROR;
    }
}


ngx_int_t
ngx_http_manta_filter_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_manta_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_manta_body_filter;

    return NGX_OK;
}
