/*
 * Copyright (C) ngx_http_manta_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_manta_module.h"
#include "ngx_http_manta_request.h"
#include "ngx_http_manta_credentials.h"
#include "ngx_http_manta_limit.h"
#include "ngx_http_manta_redact.h"
#include "ngx_http_manta_status.h"
#include "manta_error.h"
#include "manta_plan.h"
#include "manta_util.h"


static ngx_int_t ngx_http_manta_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_manta_subrequest(ngx_http_request_t *r);
static ngx_int_t ngx_http_manta_restore_handler(ngx_http_request_t *r);
static void ngx_http_manta_restore(ngx_http_request_t *r) NGX_HTTP_MANTA_COLD;
static void ngx_http_manta_subrequest_view(ngx_http_request_t *r);
static void ngx_http_manta_guard_log(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx);
static void ngx_http_manta_log_writer(ngx_log_t *log, ngx_uint_t level,
    u_char *buf, size_t len);
static void ngx_http_manta_revalidate(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx);
static manta_reason_t ngx_http_manta_check_head(ngx_http_request_t *r,
    ngx_http_manta_loc_conf_t *mlcf, ngx_http_manta_ctx_t *ctx);
static void ngx_http_manta_body_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_manta_process_body(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx);
static ngx_int_t ngx_http_manta_spend(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx, manta_plan_t *plan);
static void ngx_http_manta_request_resume(ngx_http_request_t *r);
static ngx_int_t ngx_http_manta_join_body(ngx_http_request_t *r,
    ngx_str_t *body);
static ngx_int_t ngx_http_manta_rewrite_request(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx);
static ngx_int_t ngx_http_manta_set_headers(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx);
static void ngx_http_manta_view_save(ngx_http_request_t *r,
    ngx_http_manta_view_t *v);
static void ngx_http_manta_view_apply(ngx_http_request_t *r,
    ngx_http_manta_view_t *v, ngx_http_manta_view_t *other);
static void ngx_http_manta_view_headers(ngx_http_request_t *r,
    ngx_http_manta_view_t *v);
static void ngx_http_manta_list_copy(ngx_list_t *dst, ngx_list_t *src);
static ngx_int_t ngx_http_manta_reject(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx, manta_reason_t reason);
static ngx_int_t ngx_http_manta_reject_message(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx, manta_reason_t reason, const char *message);
static ngx_int_t ngx_http_manta_send_error(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx, ngx_uint_t status, const char *message,
    unsigned plain);
static ngx_int_t ngx_http_manta_request_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_manta_request_body_drop(ngx_http_request_t *r,
    ngx_chain_t *in) NGX_HTTP_MANTA_COLD;


static ngx_http_request_body_filter_pt   ngx_http_next_request_body_filter;


static ngx_str_t   ngx_http_manta_content_type = ngx_string("Content-Type");
static ngx_str_t   ngx_http_manta_content_type_lc = ngx_string("content-type");
static ngx_str_t   ngx_http_manta_authorization = ngx_string("Authorization");
static ngx_str_t   ngx_http_manta_authorization_lc =
    ngx_string("authorization");
static ngx_uint_t  ngx_http_manta_content_type_hash;


/*
 * The gateway runs in the precontent phase: after every access check
 * (auth_request, allow/deny, satisfy), before the proxy content handler,
 * as the mirror module does when it needs the request body.
 */

static ngx_int_t
ngx_http_manta_handler(ngx_http_request_t *r)
{
    ngx_int_t                   rc;
    manta_reason_t              reason;
    ngx_http_manta_ctx_t       *ctx;
    ngx_http_manta_loc_conf_t  *mlcf;

    mlcf = ngx_http_get_module_loc_conf(r, ngx_http_manta_module);

    if (mlcf->endpoint == NGX_HTTP_MANTA_OFF) {
        return NGX_DECLINED;
    }

    if (r != r->main) {
        return ngx_http_manta_subrequest(r);
    }

    ctx = ngx_http_manta_get_ctx(r);

    if (ctx && ctx->handled && ctx->gateway != mlcf
        && (ctx->gateway->creds != mlcf->creds
            || ctx->gateway->limit_zone != mlcf->limit_zone
            || ctx->gateway->caller != mlcf->caller))
    {
        /*
         * an internal redirect into another gateway location, with other
         * credentials or another limit: validated and charged there anew
         */

        ngx_http_manta_revalidate(r, ctx);
    }

    if (ctx && ctx->handled) {
        /* the body has been read, or an internal redirect came back */

        ngx_http_manta_guard_log(r, ctx);

        if (ctx->forwarded && !ctx->applied) {
            ngx_http_manta_view_apply(r, &ctx->forward, &ctx->caller);
            ctx->applied = 1;
        }

        return ctx->status;
    }

    if (ctx == NULL) {
        ctx = ngx_http_manta_create_ctx(r);
        if (ctx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    ngx_http_manta_guard_log(r, ctx);

    ctx->handled = 1;
    ctx->gateway = mlcf;

    reason = ngx_http_manta_check_head(r, mlcf, ctx);

    if (reason != MANTA_OK) {
        rc = ngx_http_manta_reject(r, ctx, reason);
        ngx_http_finalize_request(r, rc);
        return NGX_DONE;
    }

    ctx->reading = 1;

    rc = ngx_http_read_client_request_body(r, ngx_http_manta_body_handler);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        ctx->status = rc;
        return rc;
    }

    ngx_http_finalize_request(r, NGX_DONE);
    return NGX_DONE;
}


/*
 * A subrequest (SSI include, another location's mirror, ...) shares the
 * main request's headers and body, validated by nobody: it is answered,
 * never forwarded.
 */

static ngx_int_t
ngx_http_manta_subrequest(ngx_http_request_t *r)
{
    ngx_int_t              rc;
    ngx_http_manta_ctx_t  *ctx;

    ctx = ngx_http_manta_create_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->handled = 1;

    rc = ngx_http_manta_reject(r, ctx, MANTA_SUBREQUEST);

    /* the log phase sees the main request only */
    ngx_http_manta_status_count(r, ctx);

    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}


/*
 * The first handler of the server rewrite and rewrite phases, where a
 * request arrives after an internal redirect or at a named location: one
 * that leaves a gateway location takes the caller's query, headers and
 * body back, so that no other location (error_page, try_files,
 * X-Accel-Redirect, rewrite ... last) sees the server's token or secret.
 * The gateway's handler applies the forwarded version again when the
 * request comes back to a gateway location.
 */

static ngx_int_t
ngx_http_manta_restore_handler(ngx_http_request_t *r)
{
    /* a request as the client sent it: nothing to restore */

    if (r == r->main && !r->internal) {
        return NGX_DECLINED;
    }

    ngx_http_manta_restore(r);

    return NGX_DECLINED;
}


/*
 * A subrequest, or a request redirected (NGX_HTTP_MANTA_COLD: the
 * handler, which every request of every location passes twice, saves no
 * registers for it)
 */

static void
ngx_http_manta_restore(ngx_http_request_t *r)
{
    ngx_http_manta_ctx_t  *ctx;

    if (r != r->main) {
        ngx_http_manta_subrequest_view(r);
        return;
    }

    ctx = ngx_http_manta_get_ctx(r);

    if (ctx && ctx->applied) {
        ngx_http_manta_view_apply(r, &ctx->caller, &ctx->forward);
        ctx->applied = 0;
    }
}


/*
 * A subrequest copies its parent's headers when it is made and shares its
 * body: one made while the forwarded version is applied (an SSI include or
 * add_before_body in the gateway location, fed by upstream's answer) gets
 * the caller's version instead, before its first handler runs.
 */

static void
ngx_http_manta_subrequest_view(ngx_http_request_t *r)
{
    ngx_http_manta_ctx_t     *mctx;
    ngx_http_manta_view_t    *v;
    ngx_http_request_body_t  *rb;

    mctx = ngx_http_manta_get_ctx(r->main);

    if (mctx == NULL || !mctx->applied
        || r->headers_in.headers.part.elts
           != mctx->forward.headers.part.elts)
    {
        return;
    }

    v = &mctx->caller;

    ngx_http_manta_view_headers(r, v);

    if (r->request_body && r->request_body == r->main->request_body) {
        rb = ngx_palloc(r->pool, sizeof(ngx_http_request_body_t));
        if (rb == NULL) {
            r->request_body = NULL;
            return;
        }

        *rb = *r->request_body;
        rb->bufs = v->bufs;
        r->request_body = rb;
    }
}


/*
 * A gateway request's log lines: nginx's debug lines hold every request
 * header the proxy module sends, the injected Authorization included, so
 * the request logs at "info" at most; and a line nginx writes from what
 * upstream sent (an invalid header line, ...) has the token and the secret
 * masked, whatever its level, by a writer in front of the log's own.
 * ngx_http_update_location_config() sets both anew for another location;
 * the ctx's cleanup puts the writer back when the request ends.
 */

static void
ngx_http_manta_guard_log(ngx_http_request_t *r, ngx_http_manta_ctx_t *ctx)
{
    ngx_log_t  *log;

    log = r->connection->log;

    if (log->log_level & (NGX_LOG_DEBUG_ALL|NGX_LOG_DEBUG_CONNECTION)) {
        log->log_level &= ~(NGX_LOG_DEBUG_ALL|NGX_LOG_DEBUG_CONNECTION);

        if (log->log_level == 0) {
            log->log_level = NGX_LOG_INFO;
        }
    }

    if (log->writer == ngx_http_manta_log_writer) {
        return;
    }

    ctx->log = log;
    ctx->log_writer = log->writer;
    ctx->log_wdata = log->wdata;

    log->writer = ngx_http_manta_log_writer;
    log->wdata = ctx;
}


static void
ngx_http_manta_log_writer(ngx_log_t *log, ngx_uint_t level, u_char *buf,
    size_t len)
{
    ngx_http_manta_ctx_t  *ctx;

    ctx = log->wdata;

    if (ctx->cred) {
        /* the line is masked in place: the logs after this one see it so */
        (void) manta_mask_set(&ctx->cred->pats, buf, len);
    }

    if (ctx->log_writer) {
        ctx->log_writer(log, level, buf, len);
        return;
    }

    (void) ngx_write_fd(log->file->fd, buf, len);
}


/* the request as the caller sent it, to be validated anew */

static void
ngx_http_manta_revalidate(ngx_http_request_t *r, ngx_http_manta_ctx_t *ctx)
{
    if (ctx->applied) {
        ngx_http_manta_view_apply(r, &ctx->caller, &ctx->forward);
    }

    if (ctx->body) {
        manta_wipe(ctx->body, ctx->body_len);
    }

    ctx->body = NULL;
    ctx->body_len = 0;
    ctx->reason = MANTA_OK;
    ctx->status = NGX_DONE;
    ngx_str_null(&ctx->bot_id);
    ngx_str_null(&ctx->limit_key);
    ngx_str_null(&ctx->caller_id);
    ctx->cred = NULL;
    ctx->limit_status = 0;
    ctx->limit_delay = 0;
    ctx->limit_retry_after = 0;
    ctx->limit_remaining = 0;
    ctx->limit_reset = 0;
    ctx->limit_backoff = 0;
    ctx->limit_fields = 0;
    ctx->handled = 0;
    ctx->too_large = 0;
    ctx->forwarded = 0;
    ctx->applied = 0;
}


/*
 * the checks that need no body: method, media type, botId, known bot, the
 * caller (manta_caller), declared size
 */

static manta_reason_t
ngx_http_manta_check_head(ngx_http_request_t *r,
    ngx_http_manta_loc_conf_t *mlcf, ngx_http_manta_ctx_t *ctx)
{
    u_char           *p;
    ngx_str_t         caller;
    manta_plan_t      plan;
    manta_head_t      head;
    ngx_table_elt_t  *ct;

    ct = r->headers_in.content_type;

    head.method = (char *) r->method_name.data;
    head.method_len = r->method_name.len;
    head.content_type = ct ? (char *) ct->value.data : NULL;
    head.content_type_len = ct ? ct->value.len : 0;
    head.args = (char *) r->args.data;
    head.args_len = r->args.len;
    head.content_length = r->headers_in.content_length_n;

    ngx_str_null(&caller);

    if (mlcf->caller
        && ngx_http_complex_value(r, mlcf->caller, &caller) != NGX_OK)
    {
        return MANTA_NOMEM;
    }

    head.caller_set = (mlcf->caller != NULL);
    head.caller = (char *) caller.data;
    head.caller_len = caller.len;

    p = ngx_pnalloc(r->pool, manta_check_head_len(r->args.len));
    if (p == NULL) {
        return MANTA_NOMEM;
    }

    manta_check_head(&mlcf->plan, &head, &plan, (char *) p);

    if (plan.bot_id != NULL) {
        ctx->bot_id.data = (u_char *) plan.bot_id;
        ctx->bot_id.len = plan.bot_id_len;
        ctx->bot_id_plain = plan.bot_id_plain;
    }

    ctx->cred = plan.cred;

    /* the canonical query, if the caller's is one: NULL otherwise */
    ctx->query.data = (u_char *) plan.query;
    ctx->query.len = plan.query_len;

    if (plan.caller != NULL) {
        ctx->caller_id = caller;
    }

    return plan.reason;
}


static void
ngx_http_manta_body_handler(ngx_http_request_t *r)
{
    ngx_int_t              rc;
    ngx_http_manta_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_manta_module);

    ctx->reading = 0;

    rc = ngx_http_manta_process_body(r, ctx);

    if (rc == NGX_AGAIN) {
        ctx->status = NGX_DECLINED;
        return;
    }

    if (rc != NGX_DECLINED) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    ctx->status = NGX_DECLINED;

    /*
     * the phases go on after the gateway's handler, as its NGX_DECLINED
     * would have them: it has nothing left to do for the request here
     */

    r->phase_handler++;

    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
}


/*
 * The checks on the body (JSON, name, secret, unknown members, token
 * expiry) and the limit, then the request is rewritten for upstream.
 * NGX_DECLINED means "forward".
 */

static ngx_int_t
ngx_http_manta_process_body(ngx_http_request_t *r, ngx_http_manta_ctx_t *ctx)
{
    u_char                     *buf;
    ngx_str_t                   body;
    manta_plan_t                plan;
    manta_reason_t              reason;
    ngx_http_manta_loc_conf_t  *mlcf;

    if (ctx->too_large) {
        return ngx_http_manta_reject(r, ctx, MANTA_BODY_TOO_LARGE);
    }

    mlcf = ngx_http_get_module_loc_conf(r, ngx_http_manta_module);

    if (ngx_http_manta_join_body(r, &body) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the plan of manta_check_head(), as the context keeps it */

    plan.bot_id = (char *) ctx->bot_id.data;
    plan.bot_id_len = ctx->bot_id.len;
    plan.cred = ctx->cred;
    plan.query = (char *) ctx->query.data;
    plan.query_len = ctx->query.len;

    buf = NULL;

    if (body.len <= mlcf->body_max_size) {
        buf = ngx_pnalloc(r->pool,
                          manta_check_body_len(&mlcf->plan, &plan, body.len));
        if (buf == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    reason = manta_check_body(&mlcf->plan, &plan, (char *) body.data, body.len,
                              ngx_time(), (char *) buf);

    if (reason == MANTA_TOKEN_EXPIRED) {
        ngx_http_manta_token_expired_log(r, plan.cred);
    }

    if (reason != MANTA_OK) {
        return ngx_http_manta_reject_message(r, ctx, reason, plan.message);
    }

    return ngx_http_manta_spend(r, ctx, &plan);
}


/*
 * A request whose body passed every check, and only such a request,
 * spends the bot's quota; then it is rewritten for upstream, or parked
 * until Redis answers.  The planned body holds the secret: it is wiped
 * when the request goes no further.
 */

static ngx_int_t
ngx_http_manta_spend(ngx_http_request_t *r, ngx_http_manta_ctx_t *ctx,
    manta_plan_t *plan)
{
    ngx_int_t  rc;

    ctx->resume = ngx_http_manta_request_resume;

    /* the canonical query, built by the plan */
    ctx->query.data = (u_char *) plan->query;
    ctx->query.len = plan->query_len;

    rc = ngx_http_manta_limit_account(r, ctx);

    if (rc == NGX_BUSY) {
        /* parked until Redis answers: ctx->resume() */
        ctx->body = (u_char *) plan->body;
        ctx->body_len = plan->body_len;

        return NGX_AGAIN;
    }

    if (rc == NGX_ERROR || rc == NGX_DECLINED) {
        /* the body holds the secret */
        manta_wipe(plan->body, plan->body_len);

        return (rc == NGX_ERROR)
               ? NGX_HTTP_INTERNAL_SERVER_ERROR
               : ngx_http_manta_reject(r, ctx, MANTA_RATE_LIMITED);
    }

    ctx->body = (u_char *) plan->body;
    ctx->body_len = plan->body_len;

    if (ngx_http_manta_rewrite_request(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* NGX_AGAIN: delayed by the limit, the timer resumes the phases */

    return (rc == NGX_AGAIN) ? NGX_AGAIN : NGX_DECLINED;
}


static void
ngx_http_manta_request_resume(ngx_http_request_t *r)
{
    ngx_int_t              rc;
    ngx_http_manta_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_manta_module);

    rc = ngx_http_manta_limit_decide(r, ctx);

    if (rc == NGX_ERROR || rc == NGX_DECLINED) {
        /* the body holds the secret */
        manta_wipe(ctx->body, ctx->body_len);
        ctx->body = NULL;
        ctx->body_len = 0;

        rc = (rc == NGX_ERROR)
             ? NGX_HTTP_INTERNAL_SERVER_ERROR
             : ngx_http_manta_reject(r, ctx, MANTA_RATE_LIMITED);

        ngx_http_finalize_request(r, rc);
        return;
    }

    if (ngx_http_manta_rewrite_request(r, ctx) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (rc == NGX_AGAIN) {
        /* delayed by the limit, the timer resumes the phases */
        return;
    }

    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
}


/* the caller's body as one piece, wherever nginx has put it */

static ngx_int_t
ngx_http_manta_join_body(ngx_http_request_t *r, ngx_str_t *body)
{
    u_char       *p;
    size_t        len, size;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    ngx_str_null(body);

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    cl = r->request_body->bufs;

    if (cl->next == NULL && !cl->buf->in_file) {
        body->data = cl->buf->pos;
        body->len = cl->buf->last - cl->buf->pos;
        return NGX_OK;
    }

    len = 0;

    for ( /* void */ ; cl; cl = cl->next) {
        len += (size_t) ngx_buf_size(cl->buf);
    }

    if (len == 0) {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    body->data = p;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (!b->in_file) {

            /* the chunked parser's last_buf has no memory: pos is NULL */

            if (b->last != b->pos) {
                p = ngx_cpymem(p, b->pos, b->last - b->pos);
            }

            continue;
        }

        size = (size_t) (b->file_last - b->file_pos);

        n = ngx_read_file(b->file, p, size, b->file_pos);

        if (n == NGX_ERROR) {
            return NGX_ERROR;
        }

        if ((size_t) n != size) {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          ngx_read_file_n " read only %z of %uz bytes "
                          "of the request body", n, size);
            return NGX_ERROR;
        }

        p += n;
    }

    body->len = p - body->data;

    return NGX_OK;
}


/*
 * What the proxy module sends: the canonical query, the re-serialized body
 * and the headers of ngx_http_manta_set_headers().  The caller's version is
 * kept beside it (ngx_http_manta_restore_handler()).
 */

static ngx_int_t
ngx_http_manta_rewrite_request(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx)
{
    ngx_buf_t                   *b;
    ngx_chain_t                 *cl;
    ngx_http_manta_view_t       *fw;
    ngx_http_manta_main_conf_t  *mmcf;

    /*
     * $request_body is evaluated (and cached) before the body is replaced:
     * it keeps showing what the caller sent, never the server's secret
     */

    mmcf = ngx_http_get_module_main_conf(r, ngx_http_manta_module);

    if (ngx_http_get_indexed_variable(r, mmcf->request_body_index) == NULL) {
        return NGX_ERROR;
    }

    ngx_http_manta_view_save(r, &ctx->caller);

    /*
     * each member of the forwarded view is set below, the headers and the
     * fields parsed from them by ngx_http_manta_set_headers()
     */

    fw = &ctx->forward;

    fw->args = ctx->query;

    /* proxy_pass without a URI would send the caller's request line */
    fw->valid_unparsed_uri = 0;

    /* the body's buffer and link are the ctx's own: no allocation */

    b = &ctx->forward_buf;
    ngx_memzero(b, sizeof(ngx_buf_t));

    b->start = ctx->body;
    b->pos = ctx->body;
    b->last = ctx->body + ctx->body_len;
    b->end = b->last;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    cl = &ctx->forward_link;

    cl->buf = b;
    cl->next = NULL;

    fw->bufs = cl;
    fw->content_length_n = ctx->body_len;
    fw->chunked = 0;

    if (ngx_http_manta_set_headers(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    ctx->forwarded = 1;

    ngx_http_manta_view_apply(r, fw, &ctx->caller);
    ctx->applied = 1;

    return NGX_OK;
}


/*
 * The forwarded headers: the caller's without those manta_drop_header()
 * names, then Content-Type and Authorization.  The
 * Authorization entry has a zero hash, nginx's mark for a header that
 * variables must not see; the proxy module forwards every entry of the
 * list all the same.  r->headers_in.authorization keeps pointing to the
 * caller's own header: $http_authorization shows what the caller sent.
 */

static ngx_int_t
ngx_http_manta_set_headers(ngx_http_request_t *r, ngx_http_manta_ctx_t *ctx)
{
    ngx_uint_t              n;
    ngx_table_elt_t        *h, *header;
    ngx_list_part_t        *part;
    ngx_http_manta_walk_t   w;
    ngx_http_manta_view_t  *fw;

    fw = &ctx->forward;

    n = 2;

    for (part = &r->headers_in.headers.part; part; part = part->next) {
        n += part->nelts;
    }

    /* one part with room for them all: filled in place, never pushed */

    if (ngx_list_init(&fw->headers, r->pool, n, sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    h = fw->headers.part.elts;

    ngx_http_manta_walk_init(&w, &r->headers_in.headers);

    for (header = ngx_http_manta_walk_next(&w);
         header;
         header = ngx_http_manta_walk_next(&w))
    {
        if (manta_drop_header((char *) header->lowcase_key, header->key.len)) {
            continue;
        }

        *h++ = *header;
    }

    h->hash = ngx_http_manta_content_type_hash;
    h->key = ngx_http_manta_content_type;
    h->lowcase_key = ngx_http_manta_content_type_lc.data;
    ngx_str_set(&h->value, "application/json");
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    fw->content_type = h++;

    h->hash = 0;
    h->key = ngx_http_manta_authorization;
    h->lowcase_key = ngx_http_manta_authorization_lc.data;
    h->value.data = (u_char *) ctx->cred->authorization;
    h->value.len = ctx->cred->authorization_len;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    h++;

    fw->headers.part.nelts = h - (ngx_table_elt_t *) fw->headers.part.elts;

    fw->content_length = NULL;
    fw->transfer_encoding = NULL;

    return NGX_OK;
}


static void
ngx_http_manta_view_save(ngx_http_request_t *r, ngx_http_manta_view_t *v)
{
    ngx_http_manta_list_copy(&v->headers, &r->headers_in.headers);

    v->content_type = r->headers_in.content_type;
    v->content_length = r->headers_in.content_length;
    v->transfer_encoding = r->headers_in.transfer_encoding;
    v->content_length_n = r->headers_in.content_length_n;
    v->chunked = r->headers_in.chunked;
    v->args = r->args;
    v->valid_unparsed_uri = r->valid_unparsed_uri;
    v->bufs = r->request_body ? r->request_body->bufs : NULL;
}


static void
ngx_http_manta_view_apply(ngx_http_request_t *r, ngx_http_manta_view_t *v,
    ngx_http_manta_view_t *other)
{
    ngx_http_manta_view_headers(r, v);

    /*
     * the query only while it is the other version's: an internal redirect
     * has set its own (and cleared valid_unparsed_uri); a named location
     * keeps the request's
     */

    if (r->args.data == other->args.data && r->args.len == other->args.len) {
        r->args = v->args;
        r->valid_unparsed_uri = v->valid_unparsed_uri;
    }

    if (r->request_body) {
        r->request_body->bufs = v->bufs;
    }
}


/* a version's headers: the list and the fields nginx parsed from it */

static void
ngx_http_manta_view_headers(ngx_http_request_t *r, ngx_http_manta_view_t *v)
{
    ngx_http_manta_list_copy(&r->headers_in.headers, &v->headers);

    r->headers_in.content_type = v->content_type;
    r->headers_in.content_length = v->content_length;
    r->headers_in.transfer_encoding = v->transfer_encoding;
    r->headers_in.content_length_n = v->content_length_n;
    r->headers_in.chunked = v->chunked;
}


/* a list whose first part is inline must point to its own copy of it */

static void
ngx_http_manta_list_copy(ngx_list_t *dst, ngx_list_t *src)
{
    *dst = *src;

    if (src->last == &src->part) {
        dst->last = &dst->part;
    }
}


static ngx_int_t
ngx_http_manta_reject(ngx_http_request_t *r, ngx_http_manta_ctx_t *ctx,
    manta_reason_t reason)
{
    return ngx_http_manta_reject_message(r, ctx, reason, NULL);
}


/*
 * The ErrorResponse of a rejection; message: what the check found, NULL
 * or "" for the reason's own message
 */

static ngx_int_t
ngx_http_manta_reject_message(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx, manta_reason_t reason, const char *message)
{
    char                        buf[MANTA_MESSAGE_MAX];
    off_t                       size;
    unsigned                    plain;
    ngx_int_t                   rc;
    ngx_uint_t                  status;
    ngx_http_manta_loc_conf_t  *mlcf;

    if (reason == MANTA_NOMEM) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->reason = reason;

    mlcf = ngx_http_get_module_loc_conf(r, ngx_http_manta_module);

    if (reason == MANTA_BODY_TOO_LARGE) {
        /* Content-Length, or all that was read of a chunked body */
        size = (r->headers_in.content_length_n >= 0)
               ? r->headers_in.content_length_n : ctx->received;

        manta_body_size_message(buf, sizeof(buf), (long long) size,
                                mlcf->body_max_size);
        message = buf;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "manta: request rejected: %s", manta_reason_code(reason));

    if (reason == MANTA_METHOD_NOT_ALLOWED
        && ngx_http_manta_add_header(r, "Allow", sizeof("Allow") - 1,
                                     (u_char *) "POST", sizeof("POST") - 1)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (reason == MANTA_RATE_LIMITED) {
        status = mlcf->limit_reject_code;

    } else {
        status = manta_reason_status(reason);
    }

    plain = 0;

    if (message == NULL || message[0] == '\0') {
        /* the reason's own message needs no escaping: see test_reason */
        message = manta_reason_message(reason);
        plain = MANTA_ERROR_PLAIN_MESSAGE;
    }

    return ngx_http_manta_send_error(r, ctx, status, message, plain);
}


/*
 * An ErrorResponse with the status as its code, sent by the module;
 * plain: manta_error_body()'s flags for the message
 */

static ngx_int_t
ngx_http_manta_send_error(ngx_http_request_t *r, ngx_http_manta_ctx_t *ctx,
    ngx_uint_t status, const char *message, unsigned plain)
{
    size_t       len;
    ngx_str_t    body;
    const char  *bot_id;

    bot_id = ctx->bot_id.len ? (char *) ctx->bot_id.data : NULL;
    len = ngx_strlen(message);

    if (ctx->bot_id_plain) {
        plain |= MANTA_ERROR_PLAIN_BOT_ID;
    }

    body.len = manta_error_body_len(message, len, (int) status, bot_id,
                                    ctx->bot_id.len, &plain);

    body.data = ngx_pnalloc(r->pool, body.len);
    if (body.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    body.len = manta_error_body((char *) body.data, message, len,
                                (int) status, bot_id, ctx->bot_id.len, plain);

    r->headers_out.status = status;

    return ngx_http_manta_send_json(r, &body, NULL, NULL);
}


/*
 * Counts the body while it is read.  Past manta_body_max_size the rest is
 * read and dropped, as a discarded body would be, so that the answer is a
 * 413 ErrorResponse and the connection stays usable.
 */

static ngx_int_t
ngx_http_manta_request_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_chain_t                *cl;
    ngx_http_manta_ctx_t       *ctx;
    ngx_http_manta_loc_conf_t  *mlcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_manta_module);

    if (ctx == NULL || !ctx->reading) {
        return ngx_http_next_request_body_filter(r, in);
    }

    mlcf = ngx_http_get_module_loc_conf(r, ngx_http_manta_module);

    for (cl = in; cl; cl = cl->next) {
        ctx->received += ngx_buf_size(cl->buf);
    }

    if (ctx->received > (off_t) mlcf->body_max_size) {
        ctx->too_large = 1;
    }

    if (!ctx->too_large) {
        return ngx_http_next_request_body_filter(r, in);
    }

    return ngx_http_manta_request_body_drop(r, in);
}


/*
 * The body past manta_body_max_size: its bytes consumed, only the mark of
 * its end passed on (NGX_HTTP_MANTA_COLD: the filter, which every request
 * body of every location passes, then keeps no stack guard for its list)
 */

static ngx_int_t
ngx_http_manta_request_body_drop(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_chain_t  *cl, *out, **ll;

    out = NULL;
    ll = &out;

    for (cl = in; cl; cl = cl->next) {
        if (cl->buf->last_buf) {
            *ll = cl;
            ll = &cl->next;
            continue;
        }

        cl->buf->pos = cl->buf->last;
    }

    *ll = NULL;

    return ngx_http_next_request_body_filter(r, out);
}


void
ngx_http_manta_plan_conf(ngx_http_manta_loc_conf_t *mlcf,
    manta_plan_conf_t *conf)
{
    conf->creds = mlcf->creds->creds;
    conf->bot_id_re = mlcf->bot_id_re;
    conf->body_max_size = mlcf->body_max_size;
    conf->body.name_max_length = mlcf->name_max_length;
    conf->body.name_re = mlcf->name_re;
    conf->body.unknown_fields = mlcf->unknown_fields;
    conf->body.client_secret = mlcf->client_secret;
    conf->token_expiry_check = mlcf->token_expiry_check;
}


ngx_int_t
ngx_http_manta_request_init(ngx_conf_t *cf)
{
    ngx_str_t                    name;
    ngx_http_handler_pt         *h;
    ngx_http_core_main_conf_t   *cmcf;
    ngx_http_manta_main_conf_t  *mmcf;

    mmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_manta_module);

    ngx_str_set(&name, "request_body");

    mmcf->request_body_index = ngx_http_get_variable_index(cf, &name);

    if (mmcf->request_body_index == NGX_ERROR) {
        return NGX_ERROR;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_manta_handler;

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_SERVER_REWRITE_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_manta_restore_handler;

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_REWRITE_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_manta_restore_handler;

    ngx_http_manta_content_type_hash =
        ngx_hash_key(ngx_http_manta_content_type_lc.data,
                     ngx_http_manta_content_type_lc.len);

    ngx_http_next_request_body_filter = ngx_http_top_request_body_filter;
    ngx_http_top_request_body_filter = ngx_http_manta_request_body_filter;

    return NGX_OK;
}
