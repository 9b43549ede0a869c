/*
 * Copyright (C) ngx_http_manta_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_manta_module.h"
#include "ngx_http_manta_redact.h"
#include "manta_error.h"
#include "manta_util.h"


/* ngx_hash_key_lc() of the names, as nginx's header parser computes it */

#define NGX_HTTP_MANTA_HASH_REFRESH                                           \
    ngx_hash(ngx_hash(ngx_hash(ngx_hash(ngx_hash(ngx_hash('r', 'e'), 'f'),   \
             'r'), 'e'), 's'), 'h')

#define NGX_HTTP_MANTA_HASH_LOCATION                                          \
    ngx_hash(ngx_hash(ngx_hash(ngx_hash(ngx_hash(ngx_hash(ngx_hash('l',       \
             'o'), 'c'), 'a'), 't'), 'i'), 'o'), 'n')

#define NGX_HTTP_MANTA_HASH_SET_COOKIE                                        \
    ngx_hash(ngx_hash(ngx_hash(ngx_hash(ngx_hash(ngx_hash(ngx_hash(ngx_hash(  \
             ngx_hash('s', 'e'), 't'), '-'), 'c'), 'o'), 'o'), 'k'), 'i'), 'e')


static ngx_uint_t ngx_http_manta_holds(const manta_pats_t *ps,
    ngx_str_t *value);
static ngx_uint_t ngx_http_manta_raw_clean(ngx_http_request_t *r,
    ngx_http_upstream_t *u, const manta_pats_t *ps);
static void ngx_http_manta_redact_rewritten(ngx_http_request_t *r,
    const manta_pats_t *ps);
static void ngx_http_manta_redact_list(ngx_http_request_t *r,
    ngx_list_t *list, const manta_pats_t *ps, ngx_uint_t raw_clean,
    ngx_uint_t sent);
static void ngx_http_manta_redact_one(ngx_http_request_t *r,
    const manta_pats_t *ps, ngx_table_elt_t *h, ngx_uint_t sent);
static ngx_inline ngx_uint_t ngx_http_manta_rewritable(ngx_table_elt_t *h);
static ngx_uint_t ngx_http_manta_upstream_copy(ngx_table_elt_t *h,
    ngx_http_manta_walk_t *uw);
static void ngx_http_manta_forget_header(ngx_http_request_t *r,
    ngx_table_elt_t *h);
static void ngx_http_manta_forget_in_array(ngx_array_t *a,
    ngx_table_elt_t *h);
static ngx_chain_t *ngx_http_manta_mask_chain(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx, ngx_chain_t *in, ngx_chain_t *from);
static ngx_int_t ngx_http_manta_mask_buf(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx, ngx_buf_t *b, ngx_chain_t ***ll);
static ngx_int_t ngx_http_manta_mask_out(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx, ngx_buf_t *b, ngx_chain_t ***ll);
static ngx_buf_t *ngx_http_manta_mask_piece(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx, ngx_buf_t *b, size_t len, ngx_chain_t ***ll);
static ngx_int_t ngx_http_manta_mask_last(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx, ngx_buf_t *b, ngx_chain_t ***ll);
static void ngx_http_manta_buf_flags(ngx_buf_t *nb, ngx_buf_t *b);
static ngx_int_t ngx_http_manta_append(ngx_http_request_t *r,
    ngx_chain_t ***ll, ngx_buf_t *b);


static ngx_uint_t
ngx_http_manta_holds(const manta_pats_t *ps, ngx_str_t *value)
{
    if (value->len < ps->minlen) {
        return 0;
    }

    return manta_mask_any(ps, value->data, value->len);
}


/*
 * Upstream header fields holding the token or the secret: dropped from the
 * response (hash 0, and the pointers nginx keeps to them cleared) and from
 * the upstream's own copy, so that $sent_http_* and $upstream_http_* do
 * not show them either.  The status line's reason phrase and the media
 * type are checked too.
 */

void
ngx_http_manta_redact_headers(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx)
{
    ngx_list_t           *list;
    const manta_pats_t   *ps;
    ngx_http_upstream_t  *u;

    u = r->upstream;

    /* the patterns and their anchors, set when the credential was loaded */
    ps = &ctx->cred->pats;

    if (ngx_http_manta_raw_clean(r, u, ps)) {
        list = &r->headers_out.headers;

        if (list->part.nelts == 0 && list->part.next == NULL) {
            /*
             * the response has no entry, so none was copied from the
             * upstream's list and rewritten in place (a value is rewritten
             * in the response's copy of its entry, which shares its bytes)
             */
            return;
        }

        /*
         * the upstream's list is all copies but for the values nginx
         * rewrites in place: those, and the response's entries
         */
        ngx_http_manta_redact_rewritten(r, ps);
        ngx_http_manta_redact_list(r, list, ps, 1, 1);

        return;
    }

    if (ngx_http_manta_holds(ps, &r->headers_out.status_line)
        || ngx_http_manta_holds(ps, &u->headers_in.status_line))
    {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "manta: upstream status line holds the token or "
                      "the secret: reason phrase not passed");

        ngx_str_null(&r->headers_out.status_line);
        ngx_str_null(&u->headers_in.status_line);
    }

    if (ngx_http_manta_holds(ps, &r->headers_out.content_type)
        || ngx_http_manta_holds(ps, &r->headers_out.charset))
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

    ngx_http_manta_redact_list(r, &u->headers_in.headers, ps, 0, 0);
    ngx_http_manta_redact_list(r, &r->headers_out.headers, ps, 0, 1);
}


/*
 * The status line and the header lines as received, searched at once:
 * when they hold none, neither do the proxy module's copies of them (the
 * upstream's status line and header list, and the response's entries and
 * media type taken from those), and only what nginx or a module built (a
 * rewritten Location, joined values...) is searched.  1 when the block
 * holds none and the response's status line and media type are such
 * copies.  proxy_redirect and proxy_cookie_* rewrite Location, Refresh
 * and Set-Cookie in place when the replacement is no longer than what it
 * replaces: the bytes change, not the pointers, so these are searched in
 * both lists whatever the block holds.
 */

static ngx_uint_t
ngx_http_manta_raw_clean(ngx_http_request_t *r, ngx_http_upstream_t *u,
    const manta_pats_t *ps)
{
    u_char           *start;
    ngx_buf_t        *b;
    ngx_table_elt_t  *ct;

    b = &u->buffer;
    start = b->start;

#if (NGX_HTTP_CACHE)

    /*
     * a response to be cached has its buffer's first bytes kept for the
     * cache file's header, not yet written; one from the cache has that
     * header there: the block begins after it
     */

    if (r->cache && start != NULL) {
        start += r->cache->header_start;
    }

#endif

    if (r->http_version == NGX_HTTP_VERSION_9
        || start == NULL || b->pos <= start || b->pos > b->last
        || manta_mask_any(ps, start, b->pos - start))
    {
        return 0;
    }

    ct = u->headers_in.content_type;

    return r->headers_out.status_line.data == u->headers_in.status_line.data
           && r->headers_out.status_line.len <= u->headers_in.status_line.len
           && (r->headers_out.content_type.len == 0
               || (ct && r->headers_out.content_type.data == ct->value.data
                   && r->headers_out.content_type.len <= ct->value.len
                   && (r->headers_out.charset.len == 0
                       || (r->headers_out.charset.data >= ct->value.data
                           && r->headers_out.charset.data
                              + r->headers_out.charset.len
                              <= ct->value.data + ct->value.len))));
}


/*
 * The upstream's list when its header block holds none: only the entries
 * nginx may have rewritten in place are searched, found by the parser's
 * hash in one tight loop
 */

static void
ngx_http_manta_redact_rewritten(ngx_http_request_t *r,
    const manta_pats_t *ps)
{
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h, *end;

    for (part = &r->upstream->headers_in.headers.part;
         part;
         part = part->next)
    {
        h = part->elts;

        for (end = h + part->nelts; h < end; h++) {

            /* Refresh, Location or Set-Cookie: 7 to 10 bytes */

            if (h->key.len - 7 <= 3 && ngx_http_manta_rewritable(h)) {
                ngx_http_manta_redact_one(r, ps, h, 0);
            }
        }
    }
}


/* sent: the response's list, else the upstream's copy (which is logged) */

static void
ngx_http_manta_redact_list(ngx_http_request_t *r, ngx_list_t *list,
    const manta_pats_t *ps, ngx_uint_t raw_clean, ngx_uint_t sent)
{
    size_t                  minlen;
    ngx_table_elt_t        *h;
    ngx_http_manta_walk_t   w, uw;

    minlen = ps->minlen;

    ngx_http_manta_walk_init(&w, list);
    ngx_http_manta_walk_init(&uw, &r->upstream->headers_in.headers);

    for (h = ngx_http_manta_walk_next(&w);
         h;
         h = ngx_http_manta_walk_next(&w))
    {
        if (h->hash == 0
            || (h->key.len < minlen && h->value.len < minlen)
            || (raw_clean && !ngx_http_manta_rewritable(h)
                && (!sent || ngx_http_manta_upstream_copy(h, &uw))))
        {
            continue;
        }

        ngx_http_manta_redact_one(r, ps, h, sent);
    }
}


/* an entry searched, and dropped when it holds the token or the secret */

static void
ngx_http_manta_redact_one(ngx_http_request_t *r, const manta_pats_t *ps,
    ngx_table_elt_t *h, ngx_uint_t sent)
{
    ngx_uint_t  named;

    if (h->hash == 0) {
        return;
    }

    if (ngx_http_manta_holds(ps, &h->key)) {
        /* its name: never logged */
        named = 1;

    } else if (ngx_http_manta_holds(ps, &h->value)) {
        named = 0;

    } else {
        return;
    }

    h->hash = 0;

    if (sent) {
        ngx_http_manta_forget_header(r, h);
        return;
    }

#if (nginx_version < 1023000)
    /* $upstream_cookie_* parses this array, whatever the hash */
    ngx_http_manta_forget_in_array(&r->upstream->headers_in.cookies, h);
#endif

    if (named) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "manta: an upstream header's name holds the "
                      "token or the secret: not passed");
        return;
    }

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "manta: upstream header \"%V\" holds the token or "
                  "the secret: not passed", &h->key);
}


/* 1 for the header lines the proxy module may rewrite in place */

static ngx_inline ngx_uint_t
ngx_http_manta_rewritable(ngx_table_elt_t *h)
{
    /* the parser's hash of the lower-case name first: one compare mostly */

    switch (h->hash) {

    case NGX_HTTP_MANTA_HASH_REFRESH:
    case NGX_HTTP_MANTA_HASH_LOCATION:
    case NGX_HTTP_MANTA_HASH_SET_COOKIE:
        break;

    default:
        return 0;
    }

    switch (h->key.len) {

    case sizeof("Refresh") - 1:
        return ngx_strncasecmp(h->key.data, (u_char *) "Refresh",
                               h->key.len)
               == 0;

    case sizeof("Location") - 1:
        return ngx_strncasecmp(h->key.data, (u_char *) "Location",
                               h->key.len)
               == 0;

    case sizeof("Set-Cookie") - 1:
        return ngx_strncasecmp(h->key.data, (u_char *) "Set-Cookie",
                               h->key.len)
               == 0;

    default:
        return 0;
    }
}


/*
 * 1 when h is the proxy module's copy of an entry of the upstream's list:
 * the same bytes, or a part of them.  The response's list keeps the
 * upstream's order, so the search goes on from the last one found, and
 * looks at a few entries only.
 */

static ngx_uint_t
ngx_http_manta_upstream_copy(ngx_table_elt_t *h, ngx_http_manta_walk_t *uw)
{
    ngx_uint_t              n;
    ngx_table_elt_t        *e;
    ngx_http_manta_walk_t   w;

    w = *uw;

    for (n = 0; n < 8; n++) {

        e = ngx_http_manta_walk_next(&w);

        if (e == NULL) {
            return 0;
        }

        if (e->key.data == h->key.data && e->value.data == h->value.data
            && h->key.len <= e->key.len && h->value.len <= e->value.len)
        {
            *uw = w;

            /* dropped, were it dirty, from the upstream's list already */
            return e->hash != 0;
        }
    }

    return 0;
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

ngx_int_t
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


/*
 * The patterns are the credential's, set when it was loaded; the memory
 * for bytes held back is taken when a piece first needs masking
 * (ngx_http_manta_mask_chain()), which a clean body never does.
 */

ngx_int_t
ngx_http_manta_mask_start(ngx_http_request_t *r, ngx_http_manta_ctx_t *ctx)
{
    if (r->header_only) {
        return NGX_OK;
    }

    if (ctx->cred->pats.npat == 0) {
        return NGX_OK;
    }

    (void) manta_mask_start(&ctx->mask, &ctx->cred->pats,
                            r->headers_out.content_length_n);

    ctx->mask_on = 1;

    /* buffers in a temp file are read into memory before they come here */

    r->filter_need_in_memory = 1;

    return NGX_OK;
}


/*
 * A body streamed to the caller with every occurrence of the token and the
 * secret masked: the chain passes as it is unless a buffer holds one, ends
 * with the start of one, or bytes are held back.  Returns the chain to
 * pass on, or NGX_CHAIN_ERROR.
 */

ngx_chain_t *
ngx_http_manta_mask_body(ngx_http_request_t *r, ngx_http_manta_ctx_t *ctx,
    ngx_chain_t *in)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if (ctx->mask.carry) {
        return ngx_http_manta_mask_chain(r, ctx, in, in);
    }

    /* each clean buffer is counted as passed, until one is not */

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_in_memory(b) && b->last > b->pos
            && !manta_mask_clean(&ctx->mask, b->pos, b->last - b->pos))
        {
            return ngx_http_manta_mask_chain(r, ctx, in, cl);
        }
    }

    /* all clean: the chain passes as it is */

    return in;
}


/*
 * The chain "in" into a new one, returned (NGX_CHAIN_ERROR on error), from
 * the buffer "from" on, which needs masking or comes after bytes held
 * back; those before it passed as they are.
 */

static ngx_chain_t *
ngx_http_manta_mask_chain(ngx_http_request_t *r, ngx_http_manta_ctx_t *ctx,
    ngx_chain_t *in, ngx_chain_t *from)
{
    u_char       *mem;
    size_t        size;
    ngx_chain_t  *cl, *out, **ll;

    size = manta_mask_room(&ctx->mask);

    if (ctx->mask.orig == NULL && size) {
        mem = ngx_pnalloc(r->pool, size);
        if (mem == NULL) {
            return NGX_CHAIN_ERROR;
        }

        manta_mask_memory(&ctx->mask, mem);
    }

    out = NULL;
    ll = &out;

    for (cl = in; cl != from; cl = cl->next) {
        if (ngx_http_manta_mask_out(r, ctx, cl->buf, &ll) != NGX_OK) {
            return NGX_CHAIN_ERROR;
        }
    }

    for ( /* void */ ; cl; cl = cl->next) {
        if (ngx_http_manta_mask_buf(r, ctx, cl->buf, &ll) != NGX_OK) {
            return NGX_CHAIN_ERROR;
        }
    }

    if (ctx->mask.found && !ctx->mask_logged) {
        ctx->mask_logged = 1;

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "manta: upstream response body holds the token or "
                      "the secret: masked");
    }

    return out;
}


static ngx_int_t
ngx_http_manta_mask_buf(ngx_http_request_t *r, ngx_http_manta_ctx_t *ctx,
    ngx_buf_t *b, ngx_chain_t ***ll)
{
    size_t  len;

    len = ngx_buf_in_memory(b) ? (size_t) (b->last - b->pos) : 0;

    if (len && (ctx->mask.carry
                || manta_mask_needed(&ctx->mask, b->pos, len)))
    {
        b = ngx_http_manta_mask_piece(r, ctx, b, len, ll);
        if (b == NULL) {
            return NGX_ERROR;
        }

    } else if (len) {
        manta_mask_pass(&ctx->mask, len);
    }

    return ngx_http_manta_mask_out(r, ctx, b, ll);
}


/* a buffer, masked or passed, into the new chain */

static ngx_int_t
ngx_http_manta_mask_out(ngx_http_request_t *r, ngx_http_manta_ctx_t *ctx,
    ngx_buf_t *b, ngx_chain_t ***ll)
{
    ngx_buf_t  *nb;

    if (b->last_buf && ctx->mask.carry) {
        return ngx_http_manta_mask_last(r, ctx, b, ll);
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

        ngx_http_manta_buf_flags(nb, b);

        b = nb;
    }

    return ngx_http_manta_append(r, ll, b);
}


/*
 * The len bytes of b masked, in place when the buffer may be written,
 * else into a copy (a buffer also in a temp file, which sendfile would
 * send, is copied); the held-back bytes let go are appended first.
 * Returns the buffer to pass on, NULL on error.
 */

static ngx_buf_t *
ngx_http_manta_mask_piece(ngx_http_request_t *r, ngx_http_manta_ctx_t *ctx,
    ngx_buf_t *b, size_t len, ngx_chain_t ***ll)
{
    u_char      none[1];
    size_t      n, nrel;
    ngx_buf_t  *nb, *rel;

    rel = NULL;

    if (ctx->mask.carry) {
        rel = ngx_create_temp_buf(r->pool, ctx->mask.carry);
        if (rel == NULL) {
            return NULL;
        }
    }

    nb = b;

    if (!b->temporary || b->in_file) {
        nb = ngx_create_temp_buf(r->pool, len);
        if (nb == NULL) {
            return NULL;
        }

        ngx_http_manta_buf_flags(nb, b);
    }

    n = manta_mask_step(&ctx->mask, b->pos, nb->pos, len,
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
            return NULL;
        }
    }

    return nb;
}


/* the end of the body: b, then what was held back, which ends it */

static ngx_int_t
ngx_http_manta_mask_last(ngx_http_request_t *r, ngx_http_manta_ctx_t *ctx,
    ngx_buf_t *b, ngx_chain_t ***ll)
{
    ngx_buf_t  *nb;

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


/* a buffer passed on in b's place carries its flags */

static void
ngx_http_manta_buf_flags(ngx_buf_t *nb, ngx_buf_t *b)
{
    nb->flush = b->flush;
    nb->last_buf = b->last_buf;
    nb->last_in_chain = b->last_in_chain;
    nb->sync = b->sync;
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
