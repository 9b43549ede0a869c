/*
 * Copyright (C) ngx_http_manta_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_manta_module.h"
#include "ngx_http_manta_limit.h"
#include "ngx_http_manta_status.h"
#include "manta_status.h"


#define NGX_HTTP_MANTA_STATUS_BOTS        1000
#define NGX_HTTP_MANTA_STATUS_BOTS_MAX    1000000

/* seconds between two upstream 5xx warnings of one botId */
#define NGX_HTTP_MANTA_STATUS_WARN_EVERY  60

#define NGX_HTTP_MANTA_STATUS_PROMETHEUS  0
#define NGX_HTTP_MANTA_STATUS_JSON        1
#define NGX_HTTP_MANTA_STATUS_HTML        2


/*
 * A botId's counters.  Nodes are never freed while the zone lives: a
 * pointer found under the lock stays valid, and the counters are updated
 * without it, with atomic adds.
 */

typedef struct {
    ngx_str_node_t                  sn;
    ngx_queue_t                     queue;       /* in creation order */
    ngx_atomic_t                    requests[MANTA_STATUS_OUTCOMES];
    ngx_atomic_t                    classes[MANTA_STATUS_CLASSES];
    ngx_atomic_t                    buckets[MANTA_STATUS_BUCKETS];
    ngx_atomic_t                    sum_ms;
    ngx_atomic_t                    remaining;   /* + 1; 0: never limited */
    ngx_atomic_t                    backoff_until;
    ngx_atomic_t                    warned;      /* the last 5xx warning */
    u_char                          data[1];
} ngx_http_manta_status_node_t;


/*
 * A caller id's counters (an accepted id, "__unknown__" or "__other__"),
 * kept as a botId's are
 */

typedef struct {
    ngx_str_node_t                  sn;
    ngx_queue_t                     queue;       /* in creation order */
    ngx_atomic_t                    requests[MANTA_STATUS_OUTCOMES];
    u_char                          data[1];
} ngx_http_manta_status_caller_t;


typedef struct {
    ngx_rbtree_t                    rbtree;
    ngx_rbtree_node_t               sentinel;
    ngx_queue_t                     queue;
    ngx_uint_t                      nodes;
    ngx_uint_t                      bots;        /* with their own series */
    ngx_http_manta_status_node_t   *other;
    ngx_http_manta_status_node_t   *nobot;
    ngx_atomic_t                    decisions[MANTA_STATUS_SOURCES];

    /* the callers: made when first counted, the special ones too */
    ngx_rbtree_t                    callers_rbtree;
    ngx_rbtree_node_t               callers_sentinel;
    ngx_queue_t                     callers_queue;
    ngx_uint_t                      callers_nodes;
    ngx_uint_t                      callers;     /* with their own series */
} ngx_http_manta_status_shctx_t;


typedef struct {
    ngx_http_manta_status_shctx_t  *sh;
    ngx_slab_pool_t                *shpool;
    ngx_uint_t                      bots;        /* bots=N, callers too */
} ngx_http_manta_status_ctx_t;


typedef ngx_int_t (*ngx_http_manta_status_copy_pt)(ngx_pool_t *pool,
    ngx_queue_t *q, void *elt);


static ngx_int_t ngx_http_manta_status_log_handler(ngx_http_request_t *r);
static void ngx_http_manta_status_warn_5xx(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx);
static ngx_http_manta_status_node_t *ngx_http_manta_status_node(
    ngx_http_manta_status_ctx_t *sctx, ngx_str_t *bot);
static void ngx_http_manta_status_count_caller(
    ngx_http_manta_status_ctx_t *sctx, ngx_http_manta_ctx_t *ctx,
    ngx_uint_t outcome);
static ngx_http_manta_status_caller_t *ngx_http_manta_status_caller_locked(
    ngx_http_manta_status_ctx_t *sctx, ngx_str_t *id, ngx_uint_t own);
static void ngx_http_manta_status_warn(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx, ngx_uint_t status, ngx_atomic_t *warned,
    ngx_uint_t per_bot);
static ngx_uint_t ngx_http_manta_status_source(ngx_http_manta_ctx_t *ctx);
static ngx_uint_t ngx_http_manta_status_upstream(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx, ngx_uint_t *status, ngx_msec_t *ms);
static void ngx_http_manta_status_count_limit(
    ngx_http_manta_status_ctx_t *sctx, ngx_http_manta_status_node_t *node,
    ngx_http_manta_ctx_t *ctx);
static ngx_int_t ngx_http_manta_status_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_manta_status_format(ngx_http_request_t *r);
static ngx_int_t ngx_http_manta_status_write(ngx_http_request_t *r,
    ngx_buf_t *b, ngx_int_t format);
static ngx_int_t ngx_http_manta_status_snapshot(ngx_http_request_t *r,
    manta_status_t *st);
static void *ngx_http_manta_status_copy(ngx_http_request_t *r,
    ngx_http_manta_status_ctx_t *sctx, ngx_queue_t *queue, ngx_uint_t nodes,
    size_t size, ngx_http_manta_status_copy_pt copy, size_t *count);
static ngx_int_t ngx_http_manta_status_copy_bot(ngx_pool_t *pool,
    ngx_queue_t *q, void *elt);
static ngx_int_t ngx_http_manta_status_copy_caller(ngx_pool_t *pool,
    ngx_queue_t *q, void *elt);
static ngx_int_t ngx_http_manta_status_tokens(ngx_http_request_t *r,
    manta_status_t *st);
static ngx_int_t ngx_http_manta_status_zones(ngx_http_request_t *r,
    manta_status_t *st);
static ngx_http_manta_status_node_t *ngx_http_manta_status_alloc(
    ngx_slab_pool_t *shpool, char *name);
static ngx_int_t ngx_http_manta_status_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_http_manta_status_setup(ngx_slab_pool_t *shpool,
    void *data);
static ngx_int_t ngx_http_manta_status_bots(ngx_conf_t *cf, ngx_str_t *arg,
    void *data);


/* the log phase: a gateway request counted once, when it ends */

static ngx_int_t
ngx_http_manta_status_log_handler(ngx_http_request_t *r)
{
    ngx_http_manta_ctx_t        *ctx;
    ngx_http_manta_main_conf_t  *mmcf;

    if (r != r->main) {
        /* a subrequest is counted when it is rejected */
        return NGX_OK;
    }

    ctx = ngx_http_manta_get_ctx(r);

    if (ctx == NULL || !ctx->handled) {
        return NGX_OK;
    }

    mmcf = ngx_http_get_module_main_conf(r, ngx_http_manta_module);

    if (mmcf->status_zone == NULL) {
        /* the common case, without ngx_http_manta_status_count()'s frame */
        ngx_http_manta_status_warn_5xx(r, ctx);
        return NGX_OK;
    }

    ngx_http_manta_status_count(r, ctx);

    return NGX_OK;
}


/*
 * Without a status zone there is nothing to count: a forwarded request's
 * last upstream status is only looked at for a 5xx to warn of.
 */

static void
ngx_http_manta_status_warn_5xx(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx)
{
    ngx_uint_t                  status;
    ngx_http_upstream_state_t  *state;
    static ngx_atomic_t         warned;

    if (!ctx->forwarded || r->upstream_states == NULL
        || r->upstream_states->nelts == 0)
    {
        return;
    }

    state = r->upstream_states->elts;
    status = state[r->upstream_states->nelts - 1].status;

    /* manta_status_class() 4, without a call */

    if (status >= 500 && status <= 599) {
        ngx_http_manta_status_warn(r, ctx, status, &warned, 0);
    }
}


void
ngx_http_manta_status_count(ngx_http_request_t *r, ngx_http_manta_ctx_t *ctx)
{
    ngx_uint_t                      cls, outcome, status, timed;
    ngx_msec_t                      ms;
    ngx_http_manta_main_conf_t     *mmcf;
    ngx_http_manta_status_ctx_t    *sctx;
    ngx_http_manta_status_node_t   *node;

    mmcf = ngx_http_get_module_main_conf(r, ngx_http_manta_module);

    if (mmcf->status_zone == NULL) {
        ngx_http_manta_status_warn_5xx(r, ctx);
        return;
    }

    outcome = manta_status_outcome_of(ctx->reason, ctx->forwarded);

    timed = ngx_http_manta_status_upstream(r, ctx, &status, &ms);
    cls = manta_status_class(status);   /* none without a response */

    sctx = mmcf->status_zone->data;

    /*
     * a botId the credentials do not know (unknown_bot) takes no series of
     * its own: callers cannot fill the zone with made-up botIds
     */

    if (ctx->bot_id.len == 0) {
        node = sctx->sh->nobot;

    } else if (ctx->cred == NULL) {
        node = sctx->sh->other;

    } else {
        node = ngx_http_manta_status_node(sctx, &ctx->bot_id);
    }

    (void) ngx_atomic_fetch_add(&node->requests[outcome], 1);
    (void) ngx_atomic_fetch_add(&node->classes[cls], 1);

    if (timed) {
        (void) ngx_atomic_fetch_add(
                   &node->buckets[manta_status_bucket(ms)], 1);
        (void) ngx_atomic_fetch_add(&node->sum_ms, ms);
    }

    ngx_http_manta_status_count_limit(sctx, node, ctx);

    if (cls == 4) {
        ngx_http_manta_status_warn(r, ctx, status, &node->warned, 1);
    }

    if (ctx->gateway && ctx->gateway->caller) {
        ngx_http_manta_status_count_caller(sctx, ctx, outcome);
    }
}


/*
 * A forwarded request's last upstream status (0 without one) and the sum
 * of its upstreams' response times; 1 when any of them was timed.
 */

static ngx_uint_t
ngx_http_manta_status_upstream(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx, ngx_uint_t *status, ngx_msec_t *ms)
{
    ngx_uint_t                  i, timed;
    ngx_http_upstream_state_t  *state;

    *status = 0;
    *ms = 0;
    timed = 0;

    if (!ctx->forwarded || r->upstream_states == NULL
        || r->upstream_states->nelts == 0)
    {
        return 0;
    }

    state = r->upstream_states->elts;

    for (i = 0; i < r->upstream_states->nelts; i++) {
        if (state[i].response_time != (ngx_msec_t) -1) {
            *ms += state[i].response_time;
            timed = 1;
        }
    }

    *status = state[r->upstream_states->nelts - 1].status;

    return timed;
}


/* the limit's decision, the bucket's remaining requests and the backoff */

static void
ngx_http_manta_status_count_limit(ngx_http_manta_status_ctx_t *sctx,
    ngx_http_manta_status_node_t *node, ngx_http_manta_ctx_t *ctx)
{
    if (ctx->limit_status) {
        (void) ngx_atomic_fetch_add(
            &sctx->sh->decisions[ngx_http_manta_status_source(ctx)], 1);
    }

    if (ctx->limit_fields) {
        node->remaining = ctx->limit_remaining + 1;
    }

    if (ctx->limit_status == NGX_HTTP_MANTA_LIMIT_BACKOFF) {
        node->backoff_until = ngx_time() + ctx->limit_retry_after;
    }

    if (ctx->limit_backoff) {
        node->backoff_until = ngx_time() + ctx->limit_backoff;
    }
}


/*
 * A request of a location with manta_caller: under its caller id when the
 * "callers" map accepted it, else under "__unknown__" (a value the map did
 * not accept never becomes a label, so callers cannot make series); at
 * most "bots" caller ids get their own series, the others "__other__"
 */

static void
ngx_http_manta_status_count_caller(ngx_http_manta_status_ctx_t *sctx,
    ngx_http_manta_ctx_t *ctx, ngx_uint_t outcome)
{
    ngx_str_t                        other, unknown;
    ngx_http_manta_status_caller_t  *node;

    ngx_str_set(&other, MANTA_STATUS_OTHER);
    ngx_str_set(&unknown, MANTA_STATUS_NOCALLER);

    ngx_shmtx_lock(&sctx->shpool->mutex);

    if (ctx->caller_id.len) {
        node = ngx_http_manta_status_caller_locked(sctx, &ctx->caller_id, 1);

        if (node == NULL) {
            node = ngx_http_manta_status_caller_locked(sctx, &other, 0);
        }

    } else {
        node = ngx_http_manta_status_caller_locked(sctx, &unknown, 0);
    }

    ngx_shmtx_unlock(&sctx->shpool->mutex);

    if (node) {
        (void) ngx_atomic_fetch_add(&node->requests[outcome], 1);
    }
}


/*
 * The node of a caller id, found or made; "own": an id that counts
 * against the limit (NULL when it is reached); NULL when the zone is full
 */

static ngx_http_manta_status_caller_t *
ngx_http_manta_status_caller_locked(ngx_http_manta_status_ctx_t *sctx,
    ngx_str_t *id, ngx_uint_t own)
{
    uint32_t                         hash;
    ngx_str_node_t                  *sn;
    ngx_http_manta_status_caller_t  *node;

    hash = ngx_crc32_short(id->data, id->len);

    sn = ngx_str_rbtree_lookup(&sctx->sh->callers_rbtree, id, hash);

    if (sn) {
        return (ngx_http_manta_status_caller_t *) sn;
    }

    if (own && sctx->sh->callers >= sctx->bots) {
        return NULL;
    }

    node = ngx_slab_alloc_locked(sctx->shpool,
                        offsetof(ngx_http_manta_status_caller_t, data)
                        + id->len);
    if (node == NULL) {
        return NULL;
    }

    ngx_memzero(node, offsetof(ngx_http_manta_status_caller_t, data));
    ngx_memcpy(node->data, id->data, id->len);

    node->sn.node.key = hash;
    node->sn.str.len = id->len;
    node->sn.str.data = node->data;

    ngx_rbtree_insert(&sctx->sh->callers_rbtree, &node->sn.node);
    ngx_queue_insert_tail(&sctx->sh->callers_queue, &node->queue);

    sctx->sh->callers_nodes++;

    if (own) {
        sctx->sh->callers++;
    }

    return node;
}


/*
 * Where the limit decision was taken: the one place that maps a request
 * to a manta_limit_decisions_total{source} label
 */

static ngx_uint_t
ngx_http_manta_status_source(ngx_http_manta_ctx_t *ctx)
{
    switch (ctx->limit_source) {

    case NGX_HTTP_MANTA_SOURCE_REDIS:
        return MANTA_STATUS_SOURCE_REDIS;

    case NGX_HTTP_MANTA_SOURCE_FALLBACK:
        return MANTA_STATUS_SOURCE_FALLBACK;

    case NGX_HTTP_MANTA_SOURCE_CACHED:
        return MANTA_STATUS_SOURCE_CACHED;

    default: /* NGX_HTTP_MANTA_SOURCE_LOCAL, or none recorded */
        return MANTA_STATUS_SOURCE_LOCAL;
    }
}


/*
 * An upstream 5xx at warn, at most once a minute: per botId series with a
 * status zone (per_bot), else for all bots of the worker
 */

static void
ngx_http_manta_status_warn(ngx_http_request_t *r, ngx_http_manta_ctx_t *ctx,
    ngx_uint_t status, ngx_atomic_t *warned, ngx_uint_t per_bot)
{
    ngx_atomic_uint_t  now, last;

    now = (ngx_atomic_uint_t) ngx_time();
    last = *warned;

    if (last && now - last < NGX_HTTP_MANTA_STATUS_WARN_EVERY) {
        return;
    }

    if (!ngx_atomic_cmp_set(warned, last, now)) {
        return;
    }

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "manta: upstream answered %ui to botId \"%V\" (logged at "
                  "most once a minute%s)", status, &ctx->bot_id,
                  per_bot ? " per botId" : "");
}


/*
 * The node of a botId, created when there is room: at most "bots" botIds
 * get their own, the others share "__other__"
 */

static ngx_http_manta_status_node_t *
ngx_http_manta_status_node(ngx_http_manta_status_ctx_t *sctx, ngx_str_t *bot)
{
    uint32_t                       hash;
    ngx_str_node_t                *sn;
    ngx_http_manta_status_node_t  *node;

    hash = ngx_crc32_short(bot->data, bot->len);

    ngx_shmtx_lock(&sctx->shpool->mutex);

    sn = ngx_str_rbtree_lookup(&sctx->sh->rbtree, bot, hash);

    if (sn) {
        ngx_shmtx_unlock(&sctx->shpool->mutex);
        return (ngx_http_manta_status_node_t *) sn;
    }

    if (sctx->sh->bots >= sctx->bots) {
        ngx_shmtx_unlock(&sctx->shpool->mutex);
        return sctx->sh->other;
    }

    node = ngx_slab_alloc_locked(sctx->shpool,
                        offsetof(ngx_http_manta_status_node_t, data)
                        + bot->len);
    if (node == NULL) {
        ngx_shmtx_unlock(&sctx->shpool->mutex);
        return sctx->sh->other;
    }

    ngx_memzero(node, offsetof(ngx_http_manta_status_node_t, data));
    ngx_memcpy(node->data, bot->data, bot->len);

    node->sn.node.key = hash;
    node->sn.str.len = bot->len;
    node->sn.str.data = node->data;

    ngx_rbtree_insert(&sctx->sh->rbtree, &node->sn.node);
    ngx_queue_insert_tail(&sctx->sh->queue, &node->queue);

    sctx->sh->nodes++;
    sctx->sh->bots++;

    ngx_shmtx_unlock(&sctx->shpool->mutex);

    return node;
}


static ngx_int_t
ngx_http_manta_status_handler(ngx_http_request_t *r)
{
    ngx_int_t     rc, format;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    format = ngx_http_manta_status_format(r);

    if (format == NGX_ERROR) {
        return NGX_HTTP_BAD_REQUEST;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (format == NGX_HTTP_MANTA_STATUS_HTML) {
        ngx_str_set(&r->headers_out.content_type, "text/html; charset=utf-8");

        b->pos = (u_char *) manta_status_page;
        b->last = b->pos + manta_status_page_len;
        b->memory = 1;

    } else if (ngx_http_manta_status_write(r, b, format) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;

    if (ngx_http_manta_add_header(r, "Cache-Control",
                                  sizeof("Cache-Control") - 1,
                                  (u_char *) "no-store",
                                  sizeof("no-store") - 1)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* the counters as JSON or Prometheus text into b, in a buffer that fits */

static ngx_int_t
ngx_http_manta_status_write(ngx_http_request_t *r, ngx_buf_t *b,
    ngx_int_t format)
{
    size_t          size, len;
    manta_status_t  st;

    if (ngx_http_manta_status_snapshot(r, &st) != NGX_OK) {
        return NGX_ERROR;
    }

    /* the snapshot is the request's: no lock while writing */

    size = 16384 + st.nbots * 4096 + st.ncallers * 2048;

    for ( ;; ) {
        b->start = ngx_pnalloc(r->pool, size);
        if (b->start == NULL) {
            return NGX_ERROR;
        }

        len = (format == NGX_HTTP_MANTA_STATUS_JSON)
              ? manta_status_json(&st, (char *) b->start, size)
              : manta_status_prometheus(&st, (char *) b->start, size);

        if (len <= size) {
            break;
        }

        size = len;
    }

    b->pos = b->start;
    b->last = b->start + len;
    b->end = b->start + size;
    b->temporary = 1;

    if (format == NGX_HTTP_MANTA_STATUS_JSON) {
        ngx_str_set(&r->headers_out.content_type, "application/json");

    } else {
        ngx_str_set(&r->headers_out.content_type,
                    "text/plain; version=0.0.4; charset=utf-8");
    }

    return NGX_OK;
}


/*
 * format=html|json|prometheus, else Accept: text/html, application/json,
 * anything else Prometheus; NGX_ERROR for another format= value
 */

static ngx_int_t
ngx_http_manta_status_format(ngx_http_request_t *r)
{
    u_char                 *p;
    ngx_str_t               value;
    ngx_table_elt_t        *h;
    ngx_http_manta_walk_t   w;

    if (ngx_http_arg(r, (u_char *) "format", 6, &value) == NGX_OK) {

        if (value.len == 4 && ngx_strncmp(value.data, "html", 4) == 0) {
            return NGX_HTTP_MANTA_STATUS_HTML;
        }

        if (value.len == 4 && ngx_strncmp(value.data, "json", 4) == 0) {
            return NGX_HTTP_MANTA_STATUS_JSON;
        }

        if (value.len == 10
            && ngx_strncmp(value.data, "prometheus", 10) == 0)
        {
            return NGX_HTTP_MANTA_STATUS_PROMETHEUS;
        }

        return NGX_ERROR;
    }

    ngx_http_manta_walk_init(&w, &r->headers_in.headers);

    for ( ;; ) {
        h = ngx_http_manta_walk_find(&w, "Accept", sizeof("Accept") - 1);

        if (h == NULL) {
            break;
        }

        p = h->value.data;

        if (ngx_strlcasestrn(p, p + h->value.len, (u_char *) "text/html",
                             sizeof("text/html") - 2))
        {
            return NGX_HTTP_MANTA_STATUS_HTML;
        }

        if (ngx_strlcasestrn(p, p + h->value.len,
                             (u_char *) "application/json",
                             sizeof("application/json") - 2))
        {
            return NGX_HTTP_MANTA_STATUS_JSON;
        }
    }

    return NGX_HTTP_MANTA_STATUS_PROMETHEUS;
}


static ngx_int_t
ngx_http_manta_status_snapshot(ngx_http_request_t *r, manta_status_t *st)
{
    ngx_uint_t                    k;
    ngx_http_manta_main_conf_t   *mmcf;
    ngx_http_manta_status_ctx_t  *sctx;

    ngx_memzero(st, sizeof(manta_status_t));

    st->now = ngx_time();

    mmcf = ngx_http_get_module_main_conf(r, ngx_http_manta_module);
    sctx = mmcf->status_zone->data;

    for (k = 0; k < MANTA_STATUS_SOURCES; k++) {
        st->decisions[k] = sctx->sh->decisions[k];
    }

    st->bots = ngx_http_manta_status_copy(r, sctx, &sctx->sh->queue,
                                          sctx->sh->nodes,
                                          sizeof(manta_status_bot_t),
                                          ngx_http_manta_status_copy_bot,
                                          &st->nbots);

    st->callers = ngx_http_manta_status_copy(r, sctx,
                                             &sctx->sh->callers_queue,
                                             sctx->sh->callers_nodes,
                                             sizeof(manta_status_caller_t),
                                             ngx_http_manta_status_copy_caller,
                                             &st->ncallers);

    if (st->bots == NULL
        || st->callers == NULL
        || ngx_http_manta_status_tokens(r, st) != NGX_OK
        || ngx_http_manta_status_zones(r, st) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * The nodes of one of the zone's queues copied under the lock, into an
 * array of "size" bytes an entry with room for the nodes made while this
 * waits for the lock: copy() takes one node; NULL when memory ran out
 */

static void *
ngx_http_manta_status_copy(ngx_http_request_t *r,
    ngx_http_manta_status_ctx_t *sctx, ngx_queue_t *queue, ngx_uint_t nodes,
    size_t size, ngx_http_manta_status_copy_pt copy, size_t *count)
{
    u_char       *elts;
    ngx_uint_t    i, n;
    ngx_queue_t  *q;

    n = nodes + 64;

    elts = ngx_palloc(r->pool, n * size);
    if (elts == NULL) {
        return NULL;
    }

    i = 0;

    ngx_shmtx_lock(&sctx->shpool->mutex);

    for (q = ngx_queue_head(queue);
         q != ngx_queue_sentinel(queue) && i < n;
         q = ngx_queue_next(q))
    {
        if (copy(r->pool, q, elts + i * size) != NGX_OK) {
            break;
        }

        i++;
    }

    ngx_shmtx_unlock(&sctx->shpool->mutex);

    if (q != ngx_queue_sentinel(queue) && i < n) {
        return NULL;
    }

    *count = i;

    return elts;
}


/* a bot's counters, for a few microseconds under the lock */

static ngx_int_t
ngx_http_manta_status_copy_bot(ngx_pool_t *pool, ngx_queue_t *q, void *elt)
{
    manta_status_bot_t *b = elt;

    ngx_uint_t                     k;
    ngx_http_manta_status_node_t  *node;

    node = ngx_queue_data(q, ngx_http_manta_status_node_t, queue);

    b->bot = (char *) ngx_pstrdup(pool, &node->sn.str);
    if (b->bot == NULL) {
        return NGX_ERROR;
    }

    b->bot_len = node->sn.str.len;

    for (k = 0; k < MANTA_STATUS_OUTCOMES; k++) {
        b->requests[k] = node->requests[k];
    }

    for (k = 0; k < MANTA_STATUS_CLASSES; k++) {
        b->classes[k] = node->classes[k];
    }

    for (k = 0; k < MANTA_STATUS_BUCKETS; k++) {
        b->buckets[k] = node->buckets[k];
    }

    b->sum_ms = node->sum_ms;
    b->remaining = (long long) node->remaining - 1;
    b->backoff_until = (long long) node->backoff_until;

    return NGX_OK;
}


/* a caller's counters, copied as a bot's are */

static ngx_int_t
ngx_http_manta_status_copy_caller(ngx_pool_t *pool, ngx_queue_t *q,
    void *elt)
{
    manta_status_caller_t *c = elt;

    ngx_uint_t                       k;
    ngx_http_manta_status_caller_t  *node;

    node = ngx_queue_data(q, ngx_http_manta_status_caller_t, queue);

    c->caller = (char *) ngx_pstrdup(pool, &node->sn.str);
    if (c->caller == NULL) {
        return NGX_ERROR;
    }

    c->caller_len = node->sn.str.len;

    for (k = 0; k < MANTA_STATUS_OUTCOMES; k++) {
        c->requests[k] = node->requests[k];
    }

    return NGX_OK;
}


/* the JWT tokens of every credentials file: their id and "exp" */

static ngx_int_t
ngx_http_manta_status_tokens(ngx_http_request_t *r, manta_status_t *st)
{
    size_t                        n, i, k, j;
    manta_creds_t                *creds;
    const manta_cred_t           *cred;
    manta_status_token_t         *tokens;
    ngx_http_manta_creds_t      **mc;
    ngx_http_manta_main_conf_t   *mmcf;

    mmcf = ngx_http_get_module_main_conf(r, ngx_http_manta_module);

    if (mmcf->creds == NULL) {
        return NGX_OK;
    }

    mc = mmcf->creds->elts;
    n = 0;

    for (i = 0; i < mmcf->creds->nelts; i++) {
        n += mc[i]->creds->nbots + 1;
    }

    tokens = ngx_palloc(r->pool, n * sizeof(manta_status_token_t));
    if (tokens == NULL) {
        return NGX_ERROR;
    }

    n = 0;

    for (i = 0; i < mmcf->creds->nelts; i++) {
        creds = mc[i]->creds;

        for (k = 0; k <= creds->nbots; k++) {
            cred = (k == creds->nbots) ? creds->dflt : &creds->bots[k];

            if (cred == NULL || !cred->has_exp) {
                continue;
            }

            for (j = 0; j < n; j++) {
                if (ngx_strcmp(tokens[j].token_id, cred->token_id) == 0) {
                    break;
                }
            }

            if (j == n) {
                tokens[n].token_id = cred->token_id;
                tokens[n].expiry = cred->exp;
                n++;
            }
        }
    }

    st->tokens = tokens;
    st->ntokens = n;

    return NGX_OK;
}


/* the module's shared zones: status and limit zones */

static ngx_int_t
ngx_http_manta_status_zones(ngx_http_request_t *r, manta_status_t *st)
{
    size_t                  n;
    ngx_uint_t              evictions;
    ngx_list_t             *list;
    ngx_shm_zone_t         *shm_zone;
    ngx_slab_pool_t        *shpool;
    manta_status_zone_t    *zones, *z;
    ngx_http_manta_walk_t   w;

    list = (ngx_list_t *) &ngx_cycle->shared_memory;

    n = 0;
    ngx_http_manta_walk_init(&w, list);

    while (ngx_http_manta_walk_next(&w)) {
        n++;
    }

    zones = ngx_palloc(r->pool, (n + 1) * sizeof(manta_status_zone_t));
    if (zones == NULL) {
        return NGX_ERROR;
    }

    n = 0;
    ngx_http_manta_walk_init(&w, list);

    for (shm_zone = ngx_http_manta_walk_next(&w);
         shm_zone;
         shm_zone = ngx_http_manta_walk_next(&w))
    {
        if ((shm_zone->tag != &ngx_http_manta_limit_tag
             && shm_zone->tag != &ngx_http_manta_status_tag)
            || shm_zone->shm.addr == NULL)
        {
            continue;
        }

        z = &zones[n++];

        shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

        z->name = (char *) shm_zone->shm.name.data;
        z->name_len = shm_zone->shm.name.len;
        z->total = shm_zone->shm.size;
        z->used = z->total - (uint64_t) shpool->pfree * ngx_pagesize;
        z->has_evictions = 0;
        z->evictions = 0;

        if (shm_zone->tag == &ngx_http_manta_status_tag) {
            z->kind = "status";
            continue;
        }

        z->kind = "limit";

        if (ngx_http_manta_limit_evictions(shm_zone, &evictions) == NGX_OK) {
            z->evictions = evictions;
            z->has_evictions = 1;
        }
    }

    st->zones = zones;
    st->nzones = n;

    return NGX_OK;
}


ngx_int_t
ngx_http_manta_status_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt         *h;
    ngx_http_core_main_conf_t   *cmcf;
    ngx_http_manta_main_conf_t  *mmcf;

    mmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_manta_module);

    if (mmcf->status_pos.line && mmcf->status_zone == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"manta_status\" in %V:%ui has no counters: add "
                      "\"manta_status_zone zone=NAME:SIZE\" to the http "
                      "block", &mmcf->status_pos.file,
                      mmcf->status_pos.line);
        return NGX_ERROR;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_manta_status_log_handler;

    return NGX_OK;
}


static ngx_http_manta_status_node_t *
ngx_http_manta_status_alloc(ngx_slab_pool_t *shpool, char *name)
{
    size_t                         len;
    ngx_http_manta_status_node_t  *node;

    len = ngx_strlen(name);

    node = ngx_slab_alloc(shpool,
                          offsetof(ngx_http_manta_status_node_t, data) + len);
    if (node == NULL) {
        return NULL;
    }

    ngx_memzero(node, offsetof(ngx_http_manta_status_node_t, data));
    ngx_memcpy(node->data, name, len);

    node->sn.str.len = len;
    node->sn.str.data = node->data;

    return node;
}


static ngx_int_t
ngx_http_manta_status_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_manta_status_ctx_t  *sctx = shm_zone->data;

    sctx->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;
    sctx->sh = ngx_http_manta_zone_init(shm_zone, data, "manta_status_zone",
                                        sizeof(ngx_http_manta_status_shctx_t),
                                        ngx_http_manta_status_setup);

    return sctx->sh ? NGX_OK : NGX_ERROR;
}


/* a new zone: the bots' and the callers' trees, "__other__" and "__none__" */

static ngx_int_t
ngx_http_manta_status_setup(ngx_slab_pool_t *shpool, void *data)
{
    ngx_http_manta_status_shctx_t  *sh = data;

    ngx_rbtree_init(&sh->rbtree, &sh->sentinel, ngx_str_rbtree_insert_value);

    ngx_queue_init(&sh->queue);

    ngx_rbtree_init(&sh->callers_rbtree, &sh->callers_sentinel,
                    ngx_str_rbtree_insert_value);

    ngx_queue_init(&sh->callers_queue);

    sh->other = ngx_http_manta_status_alloc(shpool, MANTA_STATUS_OTHER);
    sh->nobot = ngx_http_manta_status_alloc(shpool, MANTA_STATUS_NOBOT);

    if (sh->other == NULL || sh->nobot == NULL) {
        return NGX_ERROR;
    }

    ngx_queue_insert_tail(&sh->queue, &sh->other->queue);
    ngx_queue_insert_tail(&sh->queue, &sh->nobot->queue);
    sh->nodes = 2;

    return NGX_OK;
}


/* "manta_status_zone zone=NAME:SIZE [bots=N]" */

char *
ngx_http_manta_status_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_manta_main_conf_t   *mmcf;
    ngx_http_manta_status_ctx_t  *sctx;

    mmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_manta_module);

    if (mmcf->status_zone) {
        return "is duplicate";
    }

    sctx = ngx_pcalloc(cf->pool, sizeof(ngx_http_manta_status_ctx_t));
    if (sctx == NULL) {
        return NGX_CONF_ERROR;
    }

    sctx->bots = NGX_HTTP_MANTA_STATUS_BOTS;

    mmcf->status_zone = ngx_http_manta_zone(cf, cmd, "bots=",
                                            ngx_http_manta_status_bots,
                                            sctx,
                                            ngx_http_manta_status_init_zone,
                                            &ngx_http_manta_status_tag);

    return mmcf->status_zone ? NGX_CONF_OK : NGX_CONF_ERROR;
}


/* "bots=N" of manta_status_zone */

static ngx_int_t
ngx_http_manta_status_bots(ngx_conf_t *cf, ngx_str_t *arg, void *data)
{
    ngx_http_manta_status_ctx_t  *sctx = data;

    ngx_int_t  bots;

    bots = ngx_atoi(arg->data + 5, arg->len - 5);

    if (bots <= 0 || bots > NGX_HTTP_MANTA_STATUS_BOTS_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid bots value \"%V\": use a number "
                           "from 1 to %d", arg,
                           NGX_HTTP_MANTA_STATUS_BOTS_MAX);
        return NGX_ERROR;
    }

    sctx->bots = bots;

    return NGX_OK;
}


/* "manta_status": the location answers with the counters */

char *
ngx_http_manta_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t    *clcf;
    ngx_http_manta_main_conf_t  *mmcf;

    mmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_manta_module);

    if (mmcf->status_pos.line == 0) {
        mmcf->status_pos.file = cf->conf_file->file.name;
        mmcf->status_pos.line = cf->conf_file->line;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_manta_status_handler;

    return NGX_CONF_OK;
}
