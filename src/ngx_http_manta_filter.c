/*
 * Copyright (C) ngx_http_manta_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_manta_module.h"
#include "manta_error.h"


static ngx_int_t ngx_http_manta_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_manta_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_manta_limit_headers(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx, ngx_http_manta_loc_conf_t *mlcf);

static size_t ngx_http_manta_patterns(ngx_http_manta_ctx_t *ctx,
    manta_str_t *pat);
static ngx_uint_t ngx_http_manta_holds(manta_str_t *pat, size_t npat,
    ngx_str_t *value);
static void ngx_http_manta_redact_headers(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx);
static void ngx_http_manta_redact_list(ngx_http_request_t *r,
    ngx_list_t *list, manta_str_t *pat, size_t npat, ngx_uint_t sent);
static void ngx_http_manta_forget_header(ngx_http_request_t *r,
    ngx_table_elt_t *h);
static void ngx_http_manta_forget_in_array(ngx_array_t *a,
    ngx_table_elt_t *h);
static ngx_int_t ngx_http_manta_final_response(ngx_http_request_t *r);
static ngx_int_t ngx_http_manta_mask_start(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx);
static ngx_int_t ngx_http_manta_mask_body(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx, ngx_chain_t *in);
static ngx_int_t ngx_http_manta_mask_buf(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx, ngx_buf_t *b, ngx_chain_t ***ll);
static ngx_int_t ngx_http_manta_append(ngx_http_request_t *r,
    ngx_chain_t ***ll, ngx_buf_t *b);
static void ngx_http_manta_upstream_finalize(ngx_http_request_t *r,
    ngx_int_t rc);

static ngx_int_t ngx_http_manta_error_collect(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx, ngx_buf_t *b);
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
    ngx_str_t                   body;
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

    if (ctx->error_state) {
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

    if (mlcf->limit_zone) {

        if (r->headers_out.status == NGX_HTTP_TOO_MANY_REQUESTS
            && r->upstream && ctx->body && mlcf->upstream_backoff)
        {
            ngx_http_manta_limit_backoff(r, ctx);
        }

        if (mlcf->limit_headers
            && ngx_http_manta_limit_headers(r, ctx, mlcf) != NGX_OK)
        {
            return NGX_ERROR;
        }
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

        ctx->error_state = NGX_HTTP_MANTA_ERROR_SENT;

        if (ngx_http_manta_error_body(r, ctx, NULL, &body) != NGX_OK) {
            return NGX_ERROR;
        }

        r->headers_out.content_length_n = body.len;

        return ngx_http_next_header_filter(r);
    }

    ctx->error_state = NGX_HTTP_MANTA_ERROR_COLLECTING;

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
    ngx_uint_t             last;
    ngx_chain_t           *cl;
    ngx_http_manta_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_manta_module);

    if (ctx == NULL) {
        return ngx_http_next_body_filter(r, in);
    }

    if (ctx->error_state != NGX_HTTP_MANTA_ERROR_COLLECTING) {

        if (ctx->mask_on) {
            return ngx_http_manta_mask_body(r, ctx, in);
        }

        return ngx_http_next_body_filter(r, in);
    }

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

    ctx->error_state = NGX_HTTP_MANTA_ERROR_SENT;

    return ngx_http_manta_error_send(r, ctx);
}


/*
 * RateLimit-Policy and RateLimit, structured fields of the IETF httpapi
 * ratelimit-headers draft 11, named after the zone; Retry-After on the
 * module's own 429.
 */

static ngx_int_t
ngx_http_manta_limit_headers(ngx_http_request_t *r, ngx_http_manta_ctx_t *ctx,
    ngx_http_manta_loc_conf_t *mlcf)
{
    u_char     *p, *last;
    size_t      len;
    ngx_str_t  *zone, policy;

    zone = &mlcf->limit_zone->shm.name;

    if (!ctx->limit_fields && ctx->cred) {
        /* rejected before the limit: the bot's bucket as it stands */
        ngx_http_manta_limit_peek(r, ctx);
    }

    if (ctx->cred && ctx->cred->rate) {
        /* the bot's own rate */

        if (ngx_http_manta_limit_policy(r->pool, mlcf->limit_zone,
                                        ctx->cred->rate, &policy)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

    } else {
        policy = mlcf->limit_policy;
    }

    if (ngx_http_manta_add_header(r, "RateLimit-Policy",
                                  sizeof("RateLimit-Policy") - 1,
                                  policy.data, policy.len)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (!ctx->limit_fields) {
        return NGX_OK;
    }

    len = sizeof("\"\";r=;t=") - 1 + zone->len + 2 * NGX_INT_T_LEN;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    last = ngx_sprintf(p, "\"%V\";r=%ui;t=%ui", zone,
                       (ngx_uint_t) ctx->limit_remaining,
                       (ngx_uint_t) ctx->limit_reset);

    if (ngx_http_manta_add_header(r, "RateLimit", sizeof("RateLimit") - 1,
                                  p, last - p)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ctx->reason != MANTA_RATE_LIMITED) {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    last = ngx_sprintf(p, "%ui", (ngx_uint_t) ctx->limit_retry_after);

    return ngx_http_manta_add_header(r, "Retry-After",
                                     sizeof("Retry-After") - 1, p, last - p);
}


ngx_int_t
ngx_http_manta_add_header(ngx_http_request_t *r, char *key, size_t key_len,
    u_char *value, size_t value_len)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) key;
    h->key.len = key_len;
    h->value.data = value;
    h->value.len = value_len;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    return NGX_OK;
}


/*
 * The values nothing from upstream may carry to the caller: the token and
 * the secret of the request's credentials, and the secret as the forwarded
 * JSON body spells it when that differs.
 */

static size_t
ngx_http_manta_patterns(ngx_http_manta_ctx_t *ctx, manta_str_t *pat)
{
    size_t               n, head, tail;
    const manta_cred_t  *cred;

    cred = ctx->cred;

    pat[0].data = cred->token;
    pat[0].len = cred->token_len;
    pat[1].data = cred->secret;
    pat[1].len = cred->secret_len;

    n = 2;

    /* {"secret":"<escaped secret>","name":" */

    head = sizeof("{\"secret\":\"") - 1;
    tail = sizeof("\",\"name\":\"") - 1;

    if (cred->body_prefix_len > head + tail
        && cred->body_prefix_len - head - tail != cred->secret_len)
    {
        pat[2].data = cred->body_prefix + head;
        pat[2].len = cred->body_prefix_len - head - tail;
        n = 3;
    }

    return n;
}


static ngx_uint_t
ngx_http_manta_holds(manta_str_t *pat, size_t npat, ngx_str_t *value)
{
    size_t  i;

    for (i = 0; i < npat; i++) {
        if (pat[i].len && pat[i].len <= value->len
            && memmem(value->data, value->len, pat[i].data, pat[i].len)
               != NULL)
        {
            return 1;
        }
    }

    return 0;
}


/*
 * Upstream header fields holding the token or the secret: dropped from the
 * response (hash 0, and the pointers nginx keeps to them cleared) and from
 * the upstream's own copy, so that $sent_http_* and $upstream_http_* do
 * not show them either.  The status line's reason phrase and the media
 * type are checked too.
 */

static void
ngx_http_manta_redact_headers(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx)
{
    size_t                npat;
    manta_str_t           pat[MANTA_MASK_PATTERNS];
    ngx_http_upstream_t  *u;

    u = r->upstream;
    npat = ngx_http_manta_patterns(ctx, pat);

    if (ngx_http_manta_holds(pat, npat, &r->headers_out.status_line)
        || ngx_http_manta_holds(pat, npat, &u->headers_in.status_line))
    {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "manta: upstream status line holds the token or "
                      "the secret: reason phrase not passed");

        ngx_str_null(&r->headers_out.status_line);
        ngx_str_null(&u->headers_in.status_line);
    }

    if (ngx_http_manta_holds(pat, npat, &r->headers_out.content_type)
        || ngx_http_manta_holds(pat, npat, &r->headers_out.charset))
    {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "manta: upstream header \"Content-Type\" holds the "
                      "token or the secret: not passed");

        r->headers_out.content_type.len = 0;
        r->headers_out.content_type.data = NULL;
        r->headers_out.content_type_len = 0;
        r->headers_out.content_type_lowcase = NULL;
        r->headers_out.charset.len = 0;
    }

    ngx_http_manta_redact_list(r, &u->headers_in.headers, pat, npat, 0);
    ngx_http_manta_redact_list(r, &r->headers_out.headers, pat, npat, 1);
}


/* sent: the response's list, else the upstream's copy (which is logged) */

static void
ngx_http_manta_redact_list(ngx_http_request_t *r, ngx_list_t *list,
    manta_str_t *pat, size_t npat, ngx_uint_t sent)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &list->part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash == 0 || !ngx_http_manta_holds(pat, npat, &h[i].value))
        {
            continue;
        }

        h[i].hash = 0;

        if (sent) {
            ngx_http_manta_forget_header(r, &h[i]);
            continue;
        }

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "manta: upstream header \"%V\" holds the token or "
                      "the secret: not passed", &h[i].key);
    }
}


/* the pointers nginx keeps to a response header dropped */

static void
ngx_http_manta_forget_header(ngx_http_request_t *r, ngx_table_elt_t *h)
{
    ngx_uint_t         i;
    ngx_table_elt_t  **p[] = {
        &r->headers_out.server, &r->headers_out.date,
        &r->headers_out.content_length, &r->headers_out.content_encoding,
        &r->headers_out.location, &r->headers_out.refresh,
        &r->headers_out.last_modified, &r->headers_out.content_range,
        &r->headers_out.accept_ranges, &r->headers_out.www_authenticate,
        &r->headers_out.expires, &r->headers_out.etag
    };

    for (i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
        if (*p[i] == h) {
            *p[i] = NULL;
        }
    }

#if (nginx_version < 1023000)
    ngx_http_manta_forget_in_array(&r->headers_out.cache_control, h);
    ngx_http_manta_forget_in_array(&r->headers_out.link, h);
#endif
}


static void
ngx_http_manta_forget_in_array(ngx_array_t *a, ngx_table_elt_t *h)
{
    ngx_uint_t         i;
    ngx_table_elt_t  **e;

    e = a->elts;

    for (i = 0; i < a->nelts; /* void */) {
        if (e[i] == h) {
            ngx_memmove(&e[i], &e[i + 1],
                        (a->nelts - i - 1) * sizeof(ngx_table_elt_t *));
            a->nelts--;
            continue;
        }

        i++;
    }
}


/*
 * Only a final response is relayed: a status below 200, no valid status
 * line (the proxy module then sets HTTP/0.9 and relays the raw bytes) or
 * a success body in a Content-Encoding the gateway never asked for (its
 * bytes cannot be checked) is answered 502; the upstream's headers and
 * body are dropped and its connection is not reused.
 */

static ngx_int_t
ngx_http_manta_final_response(ngx_http_request_t *r)
{
    ngx_uint_t            status;
    ngx_table_elt_t      *ce;
    ngx_http_upstream_t  *u;

    u = r->upstream;
    status = r->headers_out.status;
    ce = r->headers_out.content_encoding;

    if (r->post_action) {
        return NGX_OK;
    }

    if (r->http_version == NGX_HTTP_VERSION_9) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "manta: upstream sent no valid status line: "
                      "answered 502");

    } else if (status < NGX_HTTP_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "manta: upstream sent status %ui, not a final "
                      "response: answered 502", status);

    } else if (status < NGX_HTTP_BAD_REQUEST
               && status != NGX_HTTP_NO_CONTENT
               && status != NGX_HTTP_NOT_MODIFIED
               && ce && ce->hash && ce->value.len
               && !(ce->value.len == sizeof("identity") - 1
                    && ngx_strncasecmp(ce->value.data, (u_char *) "identity",
                                       ce->value.len)
                       == 0))
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "manta: upstream sent an encoded body, which cannot "
                      "be checked: answered 502");

    } else {
        return NGX_OK;
    }

    u->keepalive = 0;
    u->headers_in.connection_close = 1;

    /* the caller's protocol, not the HTTP/0.9 taken from upstream */

#if (NGX_HTTP_V2)
    if (r->stream) {
        r->http_version = NGX_HTTP_VERSION_20;

    } else
#endif
    {
        r->http_version = r->http_major * 1000 + r->http_minor;
    }

    ngx_http_clean_header(r);

    return NGX_HTTP_BAD_GATEWAY;
}


static ngx_int_t
ngx_http_manta_mask_start(ngx_http_request_t *r, ngx_http_manta_ctx_t *ctx)
{
    u_char       *mem;
    size_t        size, npat;
    manta_str_t   pat[MANTA_MASK_PATTERNS];

    if (r->header_only) {
        return NGX_OK;
    }

    npat = ngx_http_manta_patterns(ctx, pat);

    size = manta_mask_init(&ctx->mask, pat, npat);

    if (ctx->mask.npat == 0) {
        return NGX_OK;
    }

    if (size) {
        mem = ngx_pnalloc(r->pool, size);
        if (mem == NULL) {
            return NGX_ERROR;
        }

        manta_mask_memory(&ctx->mask, mem);
    }

    ctx->mask_on = 1;

    /* buffers in a temp file are read into memory before they come here */

    r->filter_need_in_memory = 1;

    return NGX_OK;
}


/*
 * A body streamed to the caller with every occurrence of the token and the
 * secret masked: the chain passes as it is unless a buffer holds one, ends
 * with the start of one, or bytes are held back.
 */

static ngx_int_t
ngx_http_manta_mask_body(ngx_http_request_t *r, ngx_http_manta_ctx_t *ctx,
    ngx_chain_t *in)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl, *out, **ll;

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;

        if (ctx->mask.carry
            || (ngx_buf_in_memory(b) && b->last > b->pos
                && manta_mask_needed(&ctx->mask, b->pos, b->last - b->pos)))
        {
            break;
        }
    }

    if (cl == NULL) {
        return ngx_http_next_body_filter(r, in);
    }

    out = NULL;
    ll = &out;

    for (cl = in; cl; cl = cl->next) {
        if (ngx_http_manta_mask_buf(r, ctx, cl->buf, &ll) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (ctx->mask.found && !ctx->mask_logged) {
        ctx->mask_logged = 1;

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "manta: upstream response body holds the token or "
                      "the secret: masked");
    }

    return ngx_http_next_body_filter(r, out);
}


static ngx_int_t
ngx_http_manta_mask_buf(ngx_http_request_t *r, ngx_http_manta_ctx_t *ctx,
    ngx_buf_t *b, ngx_chain_t ***ll)
{
    u_char      *dst, none[1];
    size_t       len, n, nrel;
    ngx_buf_t   *nb, *rel;

    len = ngx_buf_in_memory(b) ? (size_t) (b->last - b->pos) : 0;

    if (len && (ctx->mask.carry
                || manta_mask_needed(&ctx->mask, b->pos, len)))
    {
        rel = NULL;

        if (ctx->mask.carry) {
            rel = ngx_create_temp_buf(r->pool, ctx->mask.carry);
            if (rel == NULL) {
                return NGX_ERROR;
            }
        }

        /*
         * In place when the buffer may be written, else into a copy; a
         * buffer also in a temp file (which sendfile would send) is copied
         */

        nb = b;

        if (!b->temporary || b->in_file) {
            nb = ngx_create_temp_buf(r->pool, len);
            if (nb == NULL) {
                return NGX_ERROR;
            }

            nb->flush = b->flush;
            nb->last_buf = b->last_buf;
            nb->last_in_chain = b->last_in_chain;
            nb->sync = b->sync;
        }

        dst = nb->pos;

        n = manta_mask_step(&ctx->mask, b->pos, dst, len,
                            rel ? rel->pos : none, &nrel);

        if (nb != b) {
            b->pos = b->last;

            if (b->in_file) {
                b->file_pos = b->file_last;
            }
        }

        nb->last = nb->pos + n;

        if (nrel) {
            rel->last = rel->pos + nrel;

            if (ngx_http_manta_append(r, ll, rel) != NGX_OK) {
                return NGX_ERROR;
            }
        }

        b = nb;
    }

    if (b->last_buf && ctx->mask.carry) {
        /* the end of the body: what was held back goes first */

        nb = ngx_create_temp_buf(r->pool, ctx->mask.carry);
        if (nb == NULL) {
            return NGX_ERROR;
        }

        nb->last += manta_mask_flush(&ctx->mask, nb->pos);
        nb->last_buf = 1;
        nb->last_in_chain = 1;
        nb->flush = b->flush;

        b->last_buf = 0;
        b->last_in_chain = 0;

        if (ngx_buf_size(b) && ngx_http_manta_append(r, ll, b) != NGX_OK) {
            return NGX_ERROR;
        }

        return ngx_http_manta_append(r, ll, nb);
    }

    if (ngx_buf_in_memory(b) && b->pos == b->last) {
        /* all held back: an empty buffer is passed only for its flags */

        if (!b->flush && !b->last_buf && !b->sync) {
            return NGX_OK;
        }

        nb = ngx_calloc_buf(r->pool);
        if (nb == NULL) {
            return NGX_ERROR;
        }

        nb->flush = b->flush;
        nb->last_buf = b->last_buf;
        nb->last_in_chain = b->last_in_chain;
        nb->sync = b->sync;

        b = nb;
    }

    return ngx_http_manta_append(r, ll, b);
}


static ngx_int_t
ngx_http_manta_append(ngx_http_request_t *r, ngx_chain_t ***ll, ngx_buf_t *b)
{
    ngx_chain_t  *cl;

    cl = ngx_alloc_chain_link(r->pool);
    if (cl == NULL) {
        return NGX_ERROR;
    }

    cl->buf = b;
    cl->next = NULL;

    **ll = cl;
    *ll = &cl->next;

    return NGX_OK;
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

    if (ctx->error_state != NGX_HTTP_MANTA_ERROR_COLLECTING
        || rc == NGX_OK || rc == NGX_DONE || rc == NGX_DECLINED
        || rc == NGX_HTTP_CLIENT_CLOSED_REQUEST
        || rc == NGX_HTTP_REQUEST_TIME_OUT
        || r->connection->error)
    {
        return;
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "manta: upstream error response broke off: answered 502");

    ctx->error_state = NGX_HTTP_MANTA_ERROR_SENT;
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
    ssize_t                     n;
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

    if (ctx->error_body == NULL) {
        ctx->error_body = ngx_pnalloc(r->pool, mlcf->error_body_max);
        if (ctx->error_body == NULL) {
            return NGX_ERROR;
        }
    }

    if (ngx_buf_in_memory(b)) {
        ngx_memcpy(ctx->error_body + ctx->error_len, b->pos, (size_t) size);

    } else {
        n = ngx_read_file(b->file, ctx->error_body + ctx->error_len,
                          (size_t) size, b->file_pos);

        if (n != (ssize_t) size) {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          ngx_read_file_n " read %z of %O bytes of an "
                          "error response", n, size);
            return NGX_ERROR;
        }
    }

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


static ngx_int_t
ngx_http_manta_error_send(ngx_http_request_t *r, ngx_http_manta_ctx_t *ctx)
{
    ngx_int_t     rc;
    ngx_str_t     in, body;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    in.data = ctx->error_body;
    in.len = ctx->error_len;

    if (ngx_http_manta_error_body(r, ctx, ctx->error_skip ? NULL : &in,
                                  &body)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    r->headers_out.content_length_n = body.len;

    rc = ngx_http_next_header_filter(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = body.data;
    b->last = body.data + body.len;
    b->start = b->pos;
    b->end = b->last;
    b->memory = body.len ? 1 : 0;
    b->last_buf = 1;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_next_body_filter(r, &out);
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
    size_t             len, size, nredact;
    manta_str_t        redact[2];
    const char        *bot_id;
    manta_error_rc_t   rc;

    nredact = 0;

    if (ctx->cred) {
        redact[0].data = ctx->cred->token;
        redact[0].len = ctx->cred->token_len;
        redact[1].data = ctx->cred->secret;
        redact[1].len = ctx->cred->secret_len;
        nredact = 2;
    }

    bot_id = ctx->bot_id.len ? (char *) ctx->bot_id.data : NULL;

    /* enough for most bodies; the core tells how much when it is not */

    size = (in ? in->len : 0) + 1024;

    for ( ;; ) {
        p = ngx_pnalloc(r->pool, size);
        if (p == NULL) {
            return NGX_ERROR;
        }

        len = size;

        rc = manta_error_rewrite(in ? (char *) in->data : NULL,
                                 in ? in->len : 0,
                                 (int) r->headers_out.status, bot_id,
                                 ctx->bot_id.len, redact, nredact,
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
