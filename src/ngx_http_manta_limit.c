/*
 * Copyright (C) ngx_http_manta_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_manta_module.h"
#include "ngx_http_manta_limit.h"
#include "ngx_http_manta_redis.h"
#include "manta_util.h"


/* as the credentials file's "burst": no overflow in thousandths */
#define NGX_HTTP_MANTA_LIMIT_MAX     MANTA_LIMIT_MAX

/* nodes a full zone examines for an idle one before it gives up */
#define NGX_HTTP_MANTA_LIMIT_SCAN    64

/* ms a bucket is kept unused before a new node may free it */
#define NGX_HTTP_MANTA_LIMIT_EXPIRE  60000


typedef struct {
    u_char                         color;
    u_char                         dummy;
    u_short                        len;         /* of the botId in data */
    uint32_t                       account;     /* limit_account */
    ngx_queue_t                    queue;
    manta_bucket_t                 bucket;      /* with the backoff block */
    u_char                         data[1];
} ngx_http_manta_limit_node_t;


/*
 * What a zone in Redis keeps of a bot, after its key in the node (local
 * zones do not pay for it): Redis's bucket as last seen, and until when
 * the bot is rejected without asking Redis.
 */

typedef struct {
    manta_bucket_t                 remote;
    uint64_t                       cached;      /* rejected until, ms */
    ngx_uint_t                     cached_status;
} ngx_http_manta_limit_remote_t;

#define ngx_http_manta_limit_remote_of(lr)                                   \
    ((ngx_http_manta_limit_remote_t *)                                       \
         ngx_align_ptr((lr)->data + (lr)->len, NGX_ALIGNMENT))


typedef struct {
    ngx_rbtree_t                   rbtree;
    ngx_rbtree_node_t              sentinel;
    ngx_queue_t                    queue;
    ngx_msec_t                     alerted;     /* the last "full" alert */
    ngx_uint_t                     evictions;   /* idle buckets freed */
    ngx_http_manta_redis_breaker_t breaker;     /* manta_limit_redis */
} ngx_http_manta_limit_shctx_t;


typedef struct {
    ngx_http_manta_limit_shctx_t  *sh;
    ngx_slab_pool_t               *shpool;
    ngx_uint_t                     rate;        /* requests per 1000 s */
    ngx_http_manta_redis_t        *redis;       /* or NULL: local only */
} ngx_http_manta_limit_ctx_t;


static ngx_str_t  ngx_http_manta_limit_policy_name =
    ngx_string("RateLimit-Policy");
static ngx_str_t  ngx_http_manta_limit_name = ngx_string("RateLimit");
static ngx_str_t  ngx_http_manta_limit_retry_name = ngx_string("Retry-After");

/* what a "limiting requests" line says of a rejection by a backoff */
static char      *ngx_http_manta_limit_after[2] = {
    "", " after upstream 429"
};


static void ngx_http_manta_limit_log(ngx_http_request_t *r,
    ngx_http_manta_loc_conf_t *mlcf, ngx_http_manta_ctx_t *ctx);
static void ngx_http_manta_limit_key(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx);
static ngx_inline void ngx_http_manta_limit_effective(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx, manta_limit_t *limit);
static void ngx_http_manta_limit_peek(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx);
static void ngx_http_manta_limit_fields(ngx_http_manta_ctx_t *ctx,
    manta_bucket_t *bucket, manta_limit_t *limit, uint64_t now);
static void ngx_http_manta_limit_backoff(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx);
static ngx_int_t ngx_http_manta_limit_headers(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx, ngx_http_manta_loc_conf_t *mlcf);
static ngx_inline ngx_str_t *ngx_http_manta_limit_policy_of(
    ngx_http_request_t *r, ngx_http_manta_ctx_t *ctx,
    ngx_http_manta_loc_conf_t *mlcf, ngx_str_t *own);
static ngx_int_t ngx_http_manta_limit_header(ngx_http_request_t *r,
    ngx_str_t *name, u_char *value, size_t len);
static ngx_str_t *ngx_http_manta_limit_own(ngx_http_manta_loc_conf_t *mlcf,
    ngx_uint_t rate);
static ngx_int_t ngx_http_manta_limit_own_merge(ngx_conf_t *cf,
    ngx_http_manta_loc_conf_t *conf);
static ngx_int_t ngx_http_manta_limit_log_merge(ngx_conf_t *cf,
    ngx_http_manta_loc_conf_t *conf);
static int ngx_libc_cdecl ngx_http_manta_limit_rate_cmp(const void *one,
    const void *two);
static u_char *ngx_http_manta_limit_value(u_char *p, ngx_str_t *zone,
    u_char k1, unsigned v1, u_char k2, unsigned v2);
static ngx_int_t ngx_http_manta_limit_lookup(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx, ngx_http_manta_loc_conf_t *mlcf,
    manta_limit_t *limit);
static ngx_int_t ngx_http_manta_limit_remote(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx, ngx_http_manta_loc_conf_t *mlcf,
    manta_limit_t *limit);
static void ngx_http_manta_limit_remote_done(ngx_http_request_t *r,
    manta_redis_result_t *res);
static ngx_int_t ngx_http_manta_limit_fallback(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx, ngx_http_manta_loc_conf_t *mlcf,
    manta_limit_t *limit);
static void ngx_http_manta_limit_redis_key(ngx_http_manta_ctx_t *ctx,
    ngx_http_manta_loc_conf_t *mlcf, manta_redis_key_t *key);
static ngx_int_t ngx_http_manta_limit_redis_merge(ngx_conf_t *cf,
    ngx_http_manta_loc_conf_t *conf);
static void ngx_http_manta_limit_delay(ngx_http_request_t *r);
static ngx_http_manta_limit_node_t *ngx_http_manta_limit_node(
    ngx_http_manta_limit_ctx_t *lctx, ngx_http_manta_ctx_t *ctx,
    ngx_uint_t create);
static ngx_http_manta_limit_node_t *ngx_http_manta_limit_create(
    ngx_http_manta_limit_ctx_t *lctx, ngx_http_manta_ctx_t *ctx);
static ngx_inline ngx_int_t ngx_http_manta_limit_cmp(uint32_t account,
    u_char *data, size_t len, ngx_http_manta_limit_node_t *lr);
static ngx_rbtree_node_t *ngx_http_manta_limit_alloc(
    ngx_http_manta_limit_ctx_t *lctx, size_t size);
static void ngx_http_manta_limit_expire(ngx_http_manta_limit_ctx_t *lctx);
static ngx_uint_t ngx_http_manta_limit_idle(ngx_http_manta_limit_ctx_t *lctx,
    ngx_http_manta_limit_node_t *lr, ngx_msec_t now, ngx_msec_t unused);
static void ngx_http_manta_limit_free(ngx_http_manta_limit_ctx_t *lctx,
    ngx_http_manta_limit_node_t *lr);
static ngx_uint_t ngx_http_manta_limit_full(ngx_http_manta_limit_ctx_t *lctx);
static void ngx_http_manta_limit_full_alert(ngx_http_request_t *r,
    ngx_http_manta_loc_conf_t *mlcf, ngx_http_manta_ctx_t *ctx,
    char *what);
static void ngx_http_manta_limit_rbtree_insert_value(
    ngx_rbtree_node_t *temp, ngx_rbtree_node_t *node,
    ngx_rbtree_node_t *sentinel);
static uint64_t ngx_http_manta_limit_remote_status(
    ngx_http_manta_ctx_t *ctx, manta_redis_result_t *res,
    manta_bucket_t *bucket, manta_limit_t *limit, uint64_t now);
static ngx_int_t ngx_http_manta_limit_count(ngx_conf_t *cf, ngx_str_t *arg);
static ngx_str_t *ngx_http_manta_limit_retry_after(ngx_http_request_t *r);
static ngx_int_t ngx_http_manta_limit_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_http_manta_limit_setup(ngx_slab_pool_t *shpool,
    void *data);
static ngx_int_t ngx_http_manta_limit_rate(ngx_conf_t *cf, ngx_str_t *arg,
    void *data);


/*
 * Charges one request of a validated botId to the location's zone.
 * NGX_OK: forward now; NGX_AGAIN: forward after a delay, the write event
 * handler resumes the phases; NGX_DECLINED: rejected (rate or backoff);
 * NGX_BUSY: parked until Redis answers, then
 * ctx->resume() goes on.
 */

ngx_int_t
ngx_http_manta_limit_account(ngx_http_request_t *r, ngx_http_manta_ctx_t *ctx)
{
    ngx_int_t                    rc;
    manta_limit_t                limit;
    ngx_http_manta_loc_conf_t   *mlcf;
    ngx_http_manta_limit_ctx_t  *lctx;

    mlcf = ngx_http_get_module_loc_conf(r, ngx_http_manta_module);

    if (mlcf->limit_zone == NULL || ctx->limit_status) {
        return NGX_OK;
    }

    lctx = mlcf->limit_zone->data;

    ngx_http_manta_limit_key(r, ctx);

    ngx_http_manta_limit_effective(r, ctx, &limit);

    if (lctx->redis) {
        rc = ngx_http_manta_limit_remote(r, ctx, mlcf, &limit);

        if (rc == NGX_BUSY) {
            ctx->limit_parked = 1;
            r->read_event_handler = ngx_http_test_reading;
            r->write_event_handler = ngx_http_request_empty_handler;
            return NGX_BUSY;
        }

    } else {
        ctx->limit_source = NGX_HTTP_MANTA_SOURCE_LOCAL;
        rc = ngx_http_manta_limit_lookup(r, ctx, mlcf, &limit);
    }

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (ctx->limit_status == NGX_HTTP_MANTA_LIMIT_PASSED) {
        return NGX_OK;
    }

    return ngx_http_manta_limit_decide(r, ctx);
}


/* what the decision in ctx->limit_status means for the request */

ngx_int_t
ngx_http_manta_limit_decide(ngx_http_request_t *r, ngx_http_manta_ctx_t *ctx)
{
    ngx_uint_t                  level;
    ngx_http_manta_loc_conf_t  *mlcf;

    mlcf = ngx_http_get_module_loc_conf(r, ngx_http_manta_module);

    switch (ctx->limit_status) {

    case NGX_HTTP_MANTA_LIMIT_REJECTED:
    case NGX_HTTP_MANTA_LIMIT_BACKOFF:

        if (!ctx->limit_quiet) {
            ngx_http_manta_limit_log(r, mlcf, ctx);
        }

        if (mlcf->limit_dry_run) {
            ctx->limit_status = NGX_HTTP_MANTA_LIMIT_REJECTED_DRY_RUN;
            return NGX_OK;
        }

        return NGX_DECLINED;

    case NGX_HTTP_MANTA_LIMIT_DELAYED:

        if (mlcf->limit_dry_run) {
            ctx->limit_status = NGX_HTTP_MANTA_LIMIT_DELAYED_DRY_RUN;
            return NGX_OK;
        }

        level = (mlcf->limit_log_level == NGX_LOG_INFO)
                ? NGX_LOG_INFO : mlcf->limit_log_level + 1;

        ngx_log_error(level, r->connection->log, 0,
                      "delaying request by %M ms by zone \"%V\", "
                      "botId \"%V\"", ctx->limit_delay,
                      &mlcf->limit_zone->shm.name, &ctx->bot_id);

        r->read_event_handler = ngx_http_test_reading;
        r->write_event_handler = ngx_http_manta_limit_delay;

        r->connection->write->delayed = 1;
        ngx_add_timer(r->connection->write, ctx->limit_delay);

        return NGX_AGAIN;

    default: /* NGX_HTTP_MANTA_LIMIT_PASSED */
        return NGX_OK;
    }
}


/*
 * the "limiting requests" line of a rejection, at manta_limit_log_level:
 * its text up to the botId made at merge (ngx_http_manta_limit_log_merge())
 */

static void
ngx_http_manta_limit_log(ngx_http_request_t *r,
    ngx_http_manta_loc_conf_t *mlcf, ngx_http_manta_ctx_t *ctx)
{
    ngx_str_t  *text;

    text = &mlcf->limit_log[ctx->limit_status
                            != NGX_HTTP_MANTA_LIMIT_REJECTED];

    ngx_log_error(mlcf->limit_log_level, r->connection->log, 0, "%V%V\"",
                  text, &ctx->bot_id);
}


/*
 * What the limit adds to a gateway response: an upstream 429 blocks the
 * bot (manta_upstream_backoff), and the RateLimit headers
 * (manta_limit_headers).
 */

ngx_int_t
ngx_http_manta_limit_response(ngx_http_request_t *r, ngx_http_manta_ctx_t *ctx)
{
    ngx_http_manta_loc_conf_t  *mlcf;

    mlcf = ngx_http_get_module_loc_conf(r, ngx_http_manta_module);

    if (r->headers_out.status == NGX_HTTP_TOO_MANY_REQUESTS
        && r->upstream && ctx->forwarded && mlcf->upstream_backoff)
    {
        ngx_http_manta_limit_backoff(r, ctx);
    }

    if (!mlcf->limit_headers) {
        return NGX_OK;
    }

    return ngx_http_manta_limit_headers(r, ctx, mlcf);
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
    ngx_str_t  *zone, *policy, own;

    if (!ctx->limit_fields && ctx->cred) {
        /* rejected before the limit: the bot's bucket as it stands */
        ngx_http_manta_limit_peek(r, ctx);
    }

    policy = ngx_http_manta_limit_policy_of(r, ctx, mlcf, &own);

    if (policy == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_manta_limit_header(r, &ngx_http_manta_limit_policy_name,
                                    policy->data, policy->len)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (!ctx->limit_fields) {
        return NGX_OK;
    }

    if (ctx->limit_remaining == mlcf->limit_fresh_remaining
        && ctx->limit_reset == mlcf->limit_fresh_reset)
    {
        /* the most frequent value, made once by the configuration */

        p = mlcf->limit_fresh.data;
        last = p + mlcf->limit_fresh.len;

    } else {
        zone = &mlcf->limit_zone->shm.name;

        p = ngx_pnalloc(r->pool, sizeof("\"\";r=;t=") - 1 + zone->len
                                 + 2 * NGX_INT_T_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        last = ngx_http_manta_limit_value(p, zone, 'r', ctx->limit_remaining,
                                          't', ctx->limit_reset);
    }

    if (ngx_http_manta_limit_header(r, &ngx_http_manta_limit_name, p,
                                    last - p)
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

    last = (u_char *) manta_uint((char *) p, ctx->limit_retry_after);

    return ngx_http_manta_limit_header(r, &ngx_http_manta_limit_retry_name, p,
                                       last - p);
}


/*
 * The RateLimit-Policy of the request: the location's, or that of the
 * bot's own rate, ready unless the bot is another location's (then made
 * in *own); NULL on error.
 */

static ngx_inline ngx_str_t *
ngx_http_manta_limit_policy_of(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx, ngx_http_manta_loc_conf_t *mlcf,
    ngx_str_t *own)
{
    ngx_str_t  *policy;

    if (ctx->cred == NULL || ctx->cred->rate == 0) {
        return &mlcf->limit_policy;
    }

    policy = ngx_http_manta_limit_own(mlcf, ctx->cred->rate);

    if (policy != NULL) {
        return policy;
    }

    if (ngx_http_manta_limit_policy(r->pool, mlcf->limit_zone,
                                    ctx->cred->rate, own)
        != NGX_OK)
    {
        return NULL;
    }

    return own;
}


/* the location's ready RateLimit-Policy for a bot's own rate, or NULL */

static ngx_str_t *
ngx_http_manta_limit_own(ngx_http_manta_loc_conf_t *mlcf, ngx_uint_t rate)
{
    ngx_uint_t                lo, hi, mid;
    ngx_http_manta_policy_t  *own;

    own = mlcf->limit_own;
    lo = 0;
    hi = mlcf->limit_nown;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;

        if (own[mid].rate == rate) {
            return &own[mid].value;
        }

        if (own[mid].rate < rate) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    return NULL;
}


/* a response header field of the limit's own */

static ngx_int_t
ngx_http_manta_limit_header(ngx_http_request_t *r, ngx_str_t *name,
    u_char *value, size_t len)
{
    if (ngx_http_manta_push_header(&r->headers_out.headers, name, NULL, 1,
                                   value, len)
        == NULL)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * A RateLimit or RateLimit-Policy value, "zone";r=N;t=N or "zone";q=N;w=N
 * (k1, k2 the keys), at p without ngx_sprintf()'s cost; returns its end
 */

static u_char *
ngx_http_manta_limit_value(u_char *p, ngx_str_t *zone, u_char k1,
    unsigned v1, u_char k2, unsigned v2)
{
    *p++ = '"';
    p = ngx_cpymem(p, zone->data, zone->len);
    *p++ = '"';
    *p++ = ';';
    *p++ = k1;
    *p++ = '=';
    p = (u_char *) manta_uint((char *) p, v1);
    *p++ = ';';
    *p++ = k2;
    *p++ = '=';

    return (u_char *) manta_uint((char *) p, v2);
}


/* the local decision on "limit", taken under the zone's lock */

static ngx_int_t
ngx_http_manta_limit_lookup(ngx_http_request_t *r, ngx_http_manta_ctx_t *ctx,
    ngx_http_manta_loc_conf_t *mlcf, manta_limit_t *limit)
{
    uint64_t                      delay, blocked;
    ngx_msec_t                    now;
    ngx_uint_t                    alert;
    ngx_http_manta_limit_ctx_t   *lctx;
    ngx_http_manta_limit_node_t  *lr;

    lctx = mlcf->limit_zone->data;

    now = ngx_current_msec;

    ngx_shmtx_lock(&lctx->shpool->mutex);

    lr = ngx_http_manta_limit_node(lctx, ctx, 1);

    if (lr == NULL) {
        alert = ngx_http_manta_limit_full(lctx);

        ngx_shmtx_unlock(&lctx->shpool->mutex);

        if (alert) {
            ngx_http_manta_limit_full_alert(r, mlcf, ctx, "rejected");
        }

        ctx->limit_status = NGX_HTTP_MANTA_LIMIT_REJECTED;
        ctx->limit_retry_after = 1;
        return NGX_OK;
    }

    blocked = mlcf->upstream_backoff ? manta_limit_blocked(&lr->bucket, now)
                                     : 0;

    if (blocked) {
        ctx->limit_status = NGX_HTTP_MANTA_LIMIT_BACKOFF;
        ctx->limit_retry_after = (blocked + 999) / 1000;
        ctx->limit_quiet = !manta_limit_log_due(&lr->bucket, now);

        ngx_http_manta_limit_fields(ctx, &lr->bucket, limit, now);

        ngx_shmtx_unlock(&lctx->shpool->mutex);

        return NGX_OK;
    }

    /* the decision and the RateLimit fields after it */

    switch (manta_limit_charge(&lr->bucket, limit, now, &delay,
                               &ctx->limit_remaining, &ctx->limit_reset))
    {
    case MANTA_LIMIT_REJECTED:
        /* delay: the milliseconds until the bot's next request passes */
        ctx->limit_status = NGX_HTTP_MANTA_LIMIT_REJECTED;
        ctx->limit_retry_after = manta_limit_retry_seconds(delay);
        ctx->limit_quiet = !manta_limit_log_due(&lr->bucket, now);
        break;

    case MANTA_LIMIT_DELAYED:
        ctx->limit_status = NGX_HTTP_MANTA_LIMIT_DELAYED;
        ctx->limit_delay = (ngx_msec_t) delay;
        break;

    default: /* MANTA_LIMIT_PASSED */
        ctx->limit_status = NGX_HTTP_MANTA_LIMIT_PASSED;
        break;
    }

    ctx->limit_fields = 1;

    ngx_shmtx_unlock(&lctx->shpool->mutex);

    return NGX_OK;
}


/*
 * The decision in Redis.  A bot this gateway saw rejected (or backing off)
 * is answered from the zone until its retry time, with no round trip:
 * nothing can make Redis accept it earlier.  Otherwise the request is
 * parked (NGX_BUSY), or, when Redis cannot be asked (circuit open, no
 * connection), it takes the fallback at once.
 */

static ngx_int_t
ngx_http_manta_limit_remote(ngx_http_request_t *r, ngx_http_manta_ctx_t *ctx,
    ngx_http_manta_loc_conf_t *mlcf, manta_limit_t *limit)
{
    u_char                          buf[MANTA_REDIS_ARGS_SIZE];
    uint64_t                        now;
    ngx_str_t                       args;
    ngx_int_t                       rc;
    manta_redis_key_t               key;
    ngx_http_manta_limit_ctx_t     *lctx;
    ngx_http_manta_limit_node_t    *lr;
    ngx_http_manta_limit_remote_t  *rm;

    lctx = mlcf->limit_zone->data;

    now = ngx_current_msec;

    ngx_shmtx_lock(&lctx->shpool->mutex);

    lr = ngx_http_manta_limit_node(lctx, ctx, 0);
    rm = lr ? ngx_http_manta_limit_remote_of(lr) : NULL;

    if (rm && rm->cached > now) {
        ctx->limit_status = rm->cached_status;
        ctx->limit_retry_after = (unsigned) ((rm->cached - now + 999) / 1000);
        ctx->limit_source = NGX_HTTP_MANTA_SOURCE_CACHED;
        ctx->limit_quiet = !manta_limit_log_due(&lr->bucket, now);

        ngx_http_manta_limit_fields(ctx, &rm->remote, limit, now);

        ngx_shmtx_unlock(&lctx->shpool->mutex);

        return NGX_OK;
    }

    ngx_shmtx_unlock(&lctx->shpool->mutex);

    ngx_http_manta_limit_redis_key(ctx, mlcf, &key);

    /* the location's own limit's arguments were made at configuration */

    if (limit->rate == mlcf->limit_base.rate
        && limit->burst == mlcf->limit_base.burst
        && limit->delay == mlcf->limit_base.delay)
    {
        args = mlcf->limit_redis_args;

    } else {
        args.data = buf;
        args.len = manta_redis_take_args((char *) buf, limit,
                                         (int) mlcf->upstream_backoff);
    }

    rc = ngx_http_manta_redis_take(lctx->redis, &lctx->sh->breaker, r, &key,
                                   &args, ngx_http_manta_limit_remote_done);

    if (rc == NGX_AGAIN) {
        return NGX_BUSY;
    }

    return ngx_http_manta_limit_fallback(r, ctx, mlcf, limit);
}


/* Redis answered (res), or did not in time (NULL) */

static void
ngx_http_manta_limit_remote_done(ngx_http_request_t *r,
    manta_redis_result_t *res)
{
    uint64_t                      now, ms;
    manta_limit_t                 limit;
    manta_bucket_t                bucket;
    ngx_http_manta_ctx_t         *ctx;
    ngx_http_manta_loc_conf_t    *mlcf;
    ngx_http_manta_limit_ctx_t     *lctx;
    ngx_http_manta_limit_node_t    *lr;
    ngx_http_manta_limit_remote_t  *rm;

    ctx = ngx_http_get_module_ctx(r, ngx_http_manta_module);
    mlcf = ngx_http_get_module_loc_conf(r, ngx_http_manta_module);
    lctx = mlcf->limit_zone->data;

    ctx->limit_parked = 0;
    r->read_event_handler = ngx_http_block_reading;

    ngx_http_manta_limit_effective(r, ctx, &limit);

    if (res == NULL || res->code > MANTA_REDIS_BACKOFF) {
        if (ngx_http_manta_limit_fallback(r, ctx, mlcf, &limit) != NGX_OK) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        ctx->resume(r);
        return;
    }

    now = ngx_current_msec;

    manta_redis_bucket(res, now, &bucket);

    ctx->limit_source = NGX_HTTP_MANTA_SOURCE_REDIS;

    ms = ngx_http_manta_limit_remote_status(ctx, res, &bucket, &limit, now);

    ngx_http_manta_limit_fields(ctx, &bucket, &limit, now);

    ngx_shmtx_lock(&lctx->shpool->mutex);

    lr = ngx_http_manta_limit_node(lctx, ctx, 1);

    if (lr) {
        rm = ngx_http_manta_limit_remote_of(lr);
        rm->remote = bucket;

        if (ms) {
            rm->cached = now + ms;
            rm->cached_status = ctx->limit_status;
            ctx->limit_quiet = !manta_limit_log_due(&lr->bucket, now);
        }
    }

    ngx_shmtx_unlock(&lctx->shpool->mutex);

    ctx->resume(r);
}


/*
 * Redis's decision as the request's limit status; the milliseconds it
 * holds for this gateway to cache (0: nothing to cache)
 */

static uint64_t
ngx_http_manta_limit_remote_status(ngx_http_manta_ctx_t *ctx,
    manta_redis_result_t *res, manta_bucket_t *bucket, manta_limit_t *limit,
    uint64_t now)
{
    switch (res->code) {

    case MANTA_REDIS_DELAYED:
        ctx->limit_status = NGX_HTTP_MANTA_LIMIT_DELAYED;
        ctx->limit_delay = (ngx_msec_t) res->delay;
        return 0;

    case MANTA_REDIS_REJECTED:
        ctx->limit_status = NGX_HTTP_MANTA_LIMIT_REJECTED;
        ctx->limit_retry_after = manta_limit_retry_after(bucket, limit, now);
        return manta_limit_retry_ms(bucket, limit, now);

    case MANTA_REDIS_BACKOFF:
        ctx->limit_status = NGX_HTTP_MANTA_LIMIT_BACKOFF;
        ctx->limit_retry_after = (unsigned) ((res->blocked + 999) / 1000);
        return res->blocked;

    default: /* MANTA_REDIS_PASSED */
        ctx->limit_status = NGX_HTTP_MANTA_LIMIT_PASSED;
        return 0;
    }
}


/*
 * Redis cannot decide: fallback=local limits the bot in this gateway's
 * zone at rate / fleet and burst / fleet (so that the fleet together
 * stays within the limit), allow forwards, deny rejects.
 */

static ngx_int_t
ngx_http_manta_limit_fallback(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx, ngx_http_manta_loc_conf_t *mlcf,
    manta_limit_t *limit)
{
    manta_limit_t                local;
    ngx_http_manta_redis_t      *rd;
    ngx_http_manta_limit_ctx_t  *lctx;

    lctx = mlcf->limit_zone->data;
    rd = lctx->redis;

    ctx->limit_source = NGX_HTTP_MANTA_SOURCE_FALLBACK;

    if (rd->fallback == NGX_HTTP_MANTA_REDIS_ALLOW) {
        ctx->limit_status = NGX_HTTP_MANTA_LIMIT_PASSED;
        return NGX_OK;
    }

    if (rd->fallback == NGX_HTTP_MANTA_REDIS_DENY) {
        ctx->limit_status = NGX_HTTP_MANTA_LIMIT_REJECTED;
        ctx->limit_retry_after = 1;
        return NGX_OK;
    }

    local = *limit;
    local.rate = ngx_max(1, limit->rate / rd->fleet);
    local.burst = limit->burst / rd->fleet;

    if (local.delay > local.burst) {
        local.delay = local.burst;
    }

    return ngx_http_manta_limit_lookup(r, ctx, mlcf, &local);
}


/* "prefix" "zone" ":" account ":{", made at configuration, then botId */

static void
ngx_http_manta_limit_redis_key(ngx_http_manta_ctx_t *ctx,
    ngx_http_manta_loc_conf_t *mlcf, manta_redis_key_t *key)
{
    key->head = (char *) mlcf->limit_redis_key.data;
    key->head_len = mlcf->limit_redis_key.len;
    key->bot_id = (char *) ctx->bot_id.data;
    key->bot_id_len = ctx->bot_id.len;
}


/*
 * A location's Redis key up to the botId, and the arguments after the key
 * of a take against its limit_base (the backoff honoured or not): a bot
 * without a rate or burst of its own is charged with them as they are
 */

static ngx_int_t
ngx_http_manta_limit_redis_merge(ngx_conf_t *cf,
    ngx_http_manta_loc_conf_t *conf)
{
    size_t                       len;
    ngx_str_t                   *zone;
    ngx_http_manta_redis_t      *rd;
    ngx_http_manta_limit_ctx_t  *lctx;

    lctx = conf->limit_zone->data;
    rd = lctx->redis;
    zone = &conf->limit_zone->shm.name;

    len = rd->prefix.len + zone->len + sizeof(":12345678:{") - 1;

    conf->limit_redis_key.data = ngx_pnalloc(cf->pool, len);
    conf->limit_redis_args.data = ngx_pnalloc(cf->pool,
                                              MANTA_REDIS_ARGS_SIZE);

    if (conf->limit_redis_key.data == NULL
        || conf->limit_redis_args.data == NULL)
    {
        return NGX_ERROR;
    }

    conf->limit_redis_key.len = manta_redis_key(
                                    (char *) conf->limit_redis_key.data, len,
                                    (char *) rd->prefix.data, rd->prefix.len,
                                    (char *) zone->data, zone->len,
                                    conf->creds ? conf->creds->account : 0);

    conf->limit_redis_args.len = manta_redis_take_args(
                                     (char *) conf->limit_redis_args.data,
                                     &conf->limit_base,
                                     (int) conf->upstream_backoff);

    return NGX_OK;
}


/*
 * A bucket is a bot's of one Manta account: the credentials file's
 * fingerprint, then the botId.  Locations of other accounts sharing a zone
 * never drain or fill each other's buckets.
 */

static void
ngx_http_manta_limit_key(ngx_http_request_t *r, ngx_http_manta_ctx_t *ctx)
{
    ngx_http_manta_loc_conf_t  *mlcf;

    if (ctx->limit_key.len) {
        return;
    }

    mlcf = ngx_http_get_module_loc_conf(r, ngx_http_manta_module);

    ctx->limit_key = ctx->bot_id;
    ctx->limit_account = mlcf->creds->account;

    /* outside the zone's lock */
    ctx->limit_hash = manta_limit_hash(ctx->limit_account,
                                       ctx->limit_key.data,
                                       ctx->limit_key.len);
}


/* the limit a bot has: the zone's rate and the location's burst, or its own */

static ngx_inline void
ngx_http_manta_limit_effective(ngx_http_request_t *r, ngx_http_manta_ctx_t *ctx,
    manta_limit_t *limit)
{
    ngx_http_manta_loc_conf_t  *mlcf;

    mlcf = ngx_http_get_module_loc_conf(r, ngx_http_manta_module);

    *limit = mlcf->limit_base;

    if (ctx->cred && ctx->cred->rate) {
        limit->rate = ctx->cred->rate;
    }

    if (ctx->cred && ctx->cred->burst >= 0) {
        limit->burst = (unsigned) ctx->cred->burst;

        if (mlcf->limit_delay == NGX_HTTP_MANTA_LIMIT_NODELAY) {
            limit->delay = limit->burst;
        }
    }
}


/*
 * The RateLimit fields of a response the limit did not account (a
 * rejection after the botId was validated): the bucket as it is.
 */

static void
ngx_http_manta_limit_peek(ngx_http_request_t *r, ngx_http_manta_ctx_t *ctx)
{
    manta_limit_t                 limit;
    manta_bucket_t                bucket;
    ngx_http_manta_loc_conf_t    *mlcf;
    ngx_http_manta_limit_ctx_t   *lctx;
    ngx_http_manta_limit_node_t  *lr;

    mlcf = ngx_http_get_module_loc_conf(r, ngx_http_manta_module);
    lctx = mlcf->limit_zone->data;

    ngx_http_manta_limit_key(r, ctx);

    ngx_http_manta_limit_effective(r, ctx, &limit);

    ngx_memzero(&bucket, sizeof(manta_bucket_t));

    ngx_shmtx_lock(&lctx->shpool->mutex);

    lr = ngx_http_manta_limit_node(lctx, ctx, 0);

    if (lr) {
        /* with Redis: its bucket as last seen, no round trip */
        bucket = lctx->redis ? ngx_http_manta_limit_remote_of(lr)->remote
                             : lr->bucket;
    }

    ngx_shmtx_unlock(&lctx->shpool->mutex);

    ngx_http_manta_limit_fields(ctx, &bucket, &limit, ngx_current_msec);
}


/* the RateLimit header fields of a bucket, kept in the request's ctx */

static void
ngx_http_manta_limit_fields(ngx_http_manta_ctx_t *ctx, manta_bucket_t *bucket,
    manta_limit_t *limit, uint64_t now)
{
    unsigned  quota, window;

    manta_limit_fields(bucket, limit, now, &quota, &window,
                       &ctx->limit_remaining, &ctx->limit_reset);
    ctx->limit_fields = 1;
}


/*
 * The RateLimit-Policy value, "zone";q=N;w=W, for the zone's rate (rate 0)
 * or a bot's own; the location keeps the zone's one ready.
 */

ngx_int_t
ngx_http_manta_limit_policy(ngx_pool_t *pool, ngx_shm_zone_t *shm_zone,
    ngx_uint_t rate, ngx_str_t *policy)
{
    u_char                      *p;
    unsigned                     quota, window, remaining, reset;
    manta_limit_t                limit;
    manta_bucket_t               empty;
    ngx_http_manta_limit_ctx_t  *lctx;

    lctx = shm_zone->data;

    ngx_memzero(&limit, sizeof(manta_limit_t));
    ngx_memzero(&empty, sizeof(manta_bucket_t));

    limit.rate = (unsigned) (rate ? rate : lctx->rate);

    manta_limit_fields(&empty, &limit, 0, &quota, &window, &remaining,
                       &reset);

    p = ngx_pnalloc(pool, sizeof("\"\";q=;w=") - 1 + shm_zone->shm.name.len
                          + 2 * NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    policy->data = p;
    policy->len = ngx_http_manta_limit_value(p, &shm_zone->shm.name, 'q', quota,
                                             'w', window)
                  - p;

    return NGX_OK;
}


/*
 * A location's ready values: RateLimit-Policy for the zone's rate, and
 * RateLimit as a bot charged from a drained bucket at the zone's rate and
 * the location's burst gets it, as every request of a bot well under its
 * limit does.
 */

ngx_int_t
ngx_http_manta_limit_merge(ngx_conf_t *cf, ngx_http_manta_loc_conf_t *conf)
{
    u_char                      *p;
    uint64_t                     delay;
    unsigned                     quota, window;
    ngx_str_t                   *zone;
    manta_bucket_t               bucket;
    ngx_http_manta_limit_ctx_t  *lctx;

    if (ngx_http_manta_limit_policy(cf->pool, conf->limit_zone, 0,
                                    &conf->limit_policy)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_manta_limit_own_merge(cf, conf) != NGX_OK
        || ngx_http_manta_limit_log_merge(cf, conf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    lctx = conf->limit_zone->data;
    zone = &conf->limit_zone->shm.name;

    conf->limit_base.rate = (unsigned) lctx->rate;
    conf->limit_base.burst = (unsigned) conf->limit_burst;
    conf->limit_base.delay = (conf->limit_delay
                              == NGX_HTTP_MANTA_LIMIT_NODELAY)
                             ? conf->limit_base.burst
                             : (unsigned) conf->limit_delay;

    if (lctx->redis && ngx_http_manta_limit_redis_merge(cf, conf) != NGX_OK) {
        return NGX_ERROR;
    }

    /* a new bucket's fields after its first request (which passes) */

    ngx_memzero(&bucket, sizeof(manta_bucket_t));

    (void) manta_limit_take(&bucket, &conf->limit_base, 1, &delay);

    manta_limit_fields(&bucket, &conf->limit_base, 1, &quota, &window,
                       &conf->limit_fresh_remaining, &conf->limit_fresh_reset);

    p = ngx_pnalloc(cf->pool, sizeof("\"\";r=;t=") - 1 + zone->len
                              + 2 * NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    conf->limit_fresh.data = p;
    conf->limit_fresh.len = ngx_http_manta_limit_value(p, zone,
                                'r', conf->limit_fresh_remaining,
                                't', conf->limit_fresh_reset)
                            - p;

    return NGX_OK;
}


/*
 * The "limiting requests" lines of the location, up to the botId and its
 * opening quote: a rejection by the limit, and by an upstream 429's
 * backoff
 */

static ngx_int_t
ngx_http_manta_limit_log_merge(ngx_conf_t *cf, ngx_http_manta_loc_conf_t *conf)
{
    u_char      *p;
    ngx_str_t   *zone;
    ngx_uint_t   i;

    zone = &conf->limit_zone->shm.name;

    for (i = 0; i < 2; i++) {
        p = ngx_pnalloc(cf->pool,
                        sizeof("limiting requests, dry run, after upstream "
                               "429 by zone \"\", botId \"") - 1 + zone->len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        conf->limit_log[i].data = p;

        p = ngx_sprintf(p, "limiting requests%s%s by zone \"%V\", botId \"",
                        conf->limit_dry_run ? ", dry run," : "",
                        ngx_http_manta_limit_after[i], zone);

        conf->limit_log[i].len = p - conf->limit_log[i].data;
    }

    return NGX_OK;
}


/*
 * RateLimit-Policy for each rate of its own a bot of the location's
 * credentials has, sorted by rate
 */

static ngx_int_t
ngx_http_manta_limit_own_merge(ngx_conf_t *cf, ngx_http_manta_loc_conf_t *conf)
{
    ngx_uint_t                i, n, *rates;
    manta_creds_t            *creds;
    ngx_http_manta_policy_t  *own;

    if (conf->creds == NULL || conf->creds->creds == NULL) {
        return NGX_OK;
    }

    creds = conf->creds->creds;

    rates = ngx_palloc(cf->temp_pool, (creds->nbots + 1) * sizeof(ngx_uint_t));
    if (rates == NULL) {
        return NGX_ERROR;
    }

    n = 0;

    for (i = 0; i < creds->nbots; i++) {
        if (creds->bots[i].rate) {
            rates[n++] = creds->bots[i].rate;
        }
    }

    if (creds->dflt && creds->dflt->rate) {
        rates[n++] = creds->dflt->rate;
    }

    if (n == 0) {
        return NGX_OK;
    }

    ngx_qsort(rates, n, sizeof(ngx_uint_t), ngx_http_manta_limit_rate_cmp);

    own = ngx_palloc(cf->pool, n * sizeof(ngx_http_manta_policy_t));
    if (own == NULL) {
        return NGX_ERROR;
    }

    conf->limit_own = own;
    conf->limit_nown = 0;

    for (i = 0; i < n; i++) {

        if (i && rates[i] == rates[i - 1]) {
            continue;
        }

        own[conf->limit_nown].rate = rates[i];

        if (ngx_http_manta_limit_policy(cf->pool, conf->limit_zone, rates[i],
                                        &own[conf->limit_nown].value)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        conf->limit_nown++;
    }

    return NGX_OK;
}


static int ngx_libc_cdecl
ngx_http_manta_limit_rate_cmp(const void *one, const void *two)
{
    ngx_uint_t  a, b;

    a = *(const ngx_uint_t *) one;
    b = *(const ngx_uint_t *) two;

    return (a > b) - (a < b);
}


/* upstream answered 429: the bot waits locally until its Retry-After */

static void
ngx_http_manta_limit_backoff(ngx_http_request_t *r, ngx_http_manta_ctx_t *ctx)
{
    unsigned                      seconds;
    ngx_str_t                    *value;
    ngx_uint_t                    alert;
    manta_redis_key_t             key;
    ngx_http_manta_loc_conf_t    *mlcf;
    ngx_http_manta_limit_ctx_t   *lctx;
    ngx_http_manta_limit_node_t    *lr;
    ngx_http_manta_limit_remote_t  *rm;

    mlcf = ngx_http_get_module_loc_conf(r, ngx_http_manta_module);
    lctx = mlcf->limit_zone->data;

    ngx_http_manta_limit_key(r, ctx);

    value = ngx_http_manta_limit_retry_after(r);

    seconds = manta_backoff_seconds(value ? (char *) value->data : NULL,
                                    value ? value->len : 0, ngx_time());

    alert = 0;
    ctx->limit_backoff = seconds;

    ngx_shmtx_lock(&lctx->shpool->mutex);

    lr = ngx_http_manta_limit_node(lctx, ctx, 1);

    if (lr) {
        manta_backoff(&lr->bucket, ngx_current_msec, seconds);

        if (lctx->redis) {
            /* this gateway knows at once; the others through Redis */
            rm = ngx_http_manta_limit_remote_of(lr);
            rm->cached = ngx_current_msec + (uint64_t) seconds * 1000;
            rm->cached_status = NGX_HTTP_MANTA_LIMIT_BACKOFF;
            manta_backoff(&rm->remote, ngx_current_msec, seconds);
        }

    } else {
        alert = ngx_http_manta_limit_full(lctx);
    }

    ngx_shmtx_unlock(&lctx->shpool->mutex);

    if (alert) {
        ngx_http_manta_limit_full_alert(r, mlcf, ctx,
                                        "cannot be held back");
    }

    if (lctx->redis) {
        ngx_http_manta_limit_redis_key(ctx, mlcf, &key);
        ngx_http_manta_redis_backoff(lctx->redis, &lctx->sh->breaker, &key,
                                     seconds);
    }

    ngx_log_error(mlcf->limit_log_level, r->connection->log, 0,
                  "upstream answered 429: botId \"%V\" backs off for %ud s "
                  "in zone \"%V\"", &ctx->bot_id, seconds,
                  &mlcf->limit_zone->shm.name);
}


/* the upstream's Retry-After, NULL without one */

static ngx_str_t *
ngx_http_manta_limit_retry_after(ngx_http_request_t *r)
{
    ngx_table_elt_t        *h;
    ngx_http_manta_walk_t   w;

    ngx_http_manta_walk_init(&w, &r->headers_out.headers);

    h = ngx_http_manta_walk_find(&w, "Retry-After",
                                 sizeof("Retry-After") - 1);

    return h ? &h->value : NULL;
}


static void
ngx_http_manta_limit_delay(ngx_http_request_t *r)
{
    ngx_event_t  *wev;

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "manta limit delay");

    wev = r->connection->write;

    if (wev->delayed) {

        if (ngx_handle_write_event(wev, 0) != NGX_OK) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        }

        return;
    }

    if (ngx_handle_read_event(r->connection->read, 0) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    r->read_event_handler = ngx_http_block_reading;
    r->write_event_handler = ngx_http_core_run_phases;

    ngx_http_core_run_phases(r);
}


/* called with the zone locked; bumps the node in the LRU queue */

static ngx_http_manta_limit_node_t *
ngx_http_manta_limit_node(ngx_http_manta_limit_ctx_t *lctx,
    ngx_http_manta_ctx_t *ctx, ngx_uint_t create)
{
    uint32_t                      hash;
    ngx_int_t                     rc;
    ngx_str_t                    *key;
    ngx_rbtree_node_t            *node, *sentinel;
    ngx_http_manta_limit_node_t  *lr;

    key = &ctx->limit_key;
    hash = ctx->limit_hash;

    node = lctx->sh->rbtree.root;
    sentinel = lctx->sh->rbtree.sentinel;

    while (node != sentinel) {

        if (hash < node->key) {
            node = node->left;
            continue;
        }

        if (hash > node->key) {
            node = node->right;
            continue;
        }

        /* hash == node->key */

        lr = (ngx_http_manta_limit_node_t *) &node->color;

        rc = ngx_http_manta_limit_cmp(ctx->limit_account, key->data,
                                      key->len, lr);

        if (rc == 0) {
            ngx_queue_remove(&lr->queue);
            ngx_queue_insert_head(&lctx->sh->queue, &lr->queue);
            return lr;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    if (!create) {
        return NULL;
    }

    return ngx_http_manta_limit_create(lctx, ctx);
}


/* a new node for the request's bucket, zeroed, in the tree and the queue */

static ngx_http_manta_limit_node_t *
ngx_http_manta_limit_create(ngx_http_manta_limit_ctx_t *lctx,
    ngx_http_manta_ctx_t *ctx)
{
    size_t                        size;
    ngx_str_t                    *key;
    ngx_rbtree_node_t            *node;
    ngx_http_manta_limit_node_t  *lr;

    key = &ctx->limit_key;

    size = offsetof(ngx_rbtree_node_t, color)
           + offsetof(ngx_http_manta_limit_node_t, data)
           + key->len;

    if (lctx->redis) {
        size = ngx_align(size, NGX_ALIGNMENT)
               + sizeof(ngx_http_manta_limit_remote_t);
    }

    ngx_http_manta_limit_expire(lctx);

    node = ngx_http_manta_limit_alloc(lctx, size);

    if (node == NULL) {
        return NULL;
    }

    node->key = ctx->limit_hash;

    lr = (ngx_http_manta_limit_node_t *) &node->color;

    lr->len = (u_short) key->len;
    lr->account = ctx->limit_account;
    ngx_memzero(&lr->bucket, sizeof(manta_bucket_t));
    ngx_memcpy(lr->data, key->data, key->len);

    if (lctx->redis) {
        ngx_memzero(ngx_http_manta_limit_remote_of(lr),
                    sizeof(ngx_http_manta_limit_remote_t));
    }

    ngx_rbtree_insert(&lctx->sh->rbtree, node);

    ngx_queue_insert_head(&lctx->sh->queue, &lr->queue);

    return lr;
}


/*
 * The order of two buckets of the same hash: by account, then by botId;
 * the same hash is almost always the same bucket, one memcmp()
 */

static ngx_inline ngx_int_t
ngx_http_manta_limit_cmp(uint32_t account, u_char *data, size_t len,
    ngx_http_manta_limit_node_t *lr)
{
    if (account != lr->account) {
        return (account < lr->account) ? -1 : 1;
    }

    if (len == (size_t) lr->len) {
        return ngx_memcmp(data, lr->data, len);
    }

    return ngx_memn2cmp(data, lr->data, len, (size_t) lr->len);
}


/*
 * A node for a new bot when the zone is full.  Only an idle bucket
 * (manta_limit_idle(): fully drained at its own rate and not backing off)
 * is freed: forgetting it changes nothing for its bot.  Unlike limit_req,
 * which frees the least recently used node whatever its state, a bucket
 * that is not idle is never freed, so a flood of new botIds can neither
 * hand a bot a fresh burst nor lift its upstream backoff; the new bot is
 * rejected instead.
 *
 * The scan looks at most NGX_HTTP_MANTA_LIMIT_SCAN nodes from the tail of
 * the LRU queue, so a request never holds the lock for long however large
 * the zone.  A node that is not idle is moved to the head: the next scan
 * looks at other nodes instead of the same busy tail, and the queue works
 * as a clock, every node examined once per (nodes / SCAN) full-zone
 * requests, so a bucket that has drained is found and the zone recovers.
 * The price is that the queue is then no longer strictly LRU, which only
 * changes which idle bucket goes first.  Idle buckets of another slab size
 * class free no room for this one: the scan goes on after them.
 */

static ngx_rbtree_node_t *
ngx_http_manta_limit_alloc(ngx_http_manta_limit_ctx_t *lctx, size_t size)
{
    ngx_msec_t                    now;
    ngx_uint_t                    i;
    ngx_queue_t                  *q;
    ngx_rbtree_node_t            *node;
    ngx_http_manta_limit_node_t  *lr;

    node = ngx_slab_alloc_locked(lctx->shpool, size);

    if (node) {
        return node;
    }

    now = ngx_current_msec;

    for (i = 0; i < NGX_HTTP_MANTA_LIMIT_SCAN; i++) {

        if (ngx_queue_empty(&lctx->sh->queue)) {
            break;
        }

        q = ngx_queue_last(&lctx->sh->queue);

        lr = ngx_queue_data(q, ngx_http_manta_limit_node_t, queue);

        if (!ngx_http_manta_limit_idle(lctx, lr, now, 0)) {
            ngx_queue_remove(q);
            ngx_queue_insert_head(&lctx->sh->queue, q);
            continue;
        }

        ngx_http_manta_limit_free(lctx, lr);

        node = ngx_slab_alloc_locked(lctx->shpool, size);

        if (node) {
            return node;
        }
    }

    return NULL;
}


/*
 * As limit_req before each new node: frees up to two idle nodes at the
 * tail of the LRU queue, stopping at the first one that is not idle.
 */

static void
ngx_http_manta_limit_expire(ngx_http_manta_limit_ctx_t *lctx)
{
    ngx_msec_t                    now;
    ngx_uint_t                    n;
    ngx_queue_t                  *q;
    ngx_http_manta_limit_node_t  *lr;

    now = ngx_current_msec;

    for (n = 0; n < 2; n++) {

        if (ngx_queue_empty(&lctx->sh->queue)) {
            return;
        }

        q = ngx_queue_last(&lctx->sh->queue);

        lr = ngx_queue_data(q, ngx_http_manta_limit_node_t, queue);

        /*
         * as limit_req, only a bucket unused for a minute: freeing one that
         * is merely drained would make a bot that comes back within the
         * minute allocate it again (a full zone frees any idle one)
         */

        if (!ngx_http_manta_limit_idle(lctx, lr, now,
                                       NGX_HTTP_MANTA_LIMIT_EXPIRE))
        {
            return;
        }

        ngx_http_manta_limit_free(lctx, lr);
    }
}


/*
 * 1 when no request needs the node: its bucket idle (and unused for the
 * last "unused" ms, when not 0).  In a Redis zone, the bucket Redis last
 * answered and a cached rejection count too: the local bucket there is
 * charged only by the fallback, and taking its emptiness alone had every
 * new bot's node free those Redis decides for, their cached rejections
 * with them.
 */

static ngx_uint_t
ngx_http_manta_limit_idle(ngx_http_manta_limit_ctx_t *lctx,
    ngx_http_manta_limit_node_t *lr, ngx_msec_t now, ngx_msec_t unused)
{
    ngx_http_manta_limit_remote_t  *rm;

    if ((unused
         && (ngx_msec_int_t) (now - (ngx_msec_t) lr->bucket.last)
            < (ngx_msec_int_t) unused)
        || !manta_limit_idle(&lr->bucket, now))
    {
        return 0;
    }

    if (lctx->redis == NULL) {
        return 1;
    }

    rm = ngx_http_manta_limit_remote_of(lr);

    if (rm->cached > now
        || (unused && rm->remote.last
            && (ngx_msec_int_t) (now - (ngx_msec_t) rm->remote.last)
               < (ngx_msec_int_t) unused))
    {
        return 0;
    }

    return manta_limit_idle(&rm->remote, now);
}


static void
ngx_http_manta_limit_free(ngx_http_manta_limit_ctx_t *lctx,
    ngx_http_manta_limit_node_t *lr)
{
    ngx_rbtree_node_t  *node;

    ngx_queue_remove(&lr->queue);

    node = (ngx_rbtree_node_t *)
               ((u_char *) lr - offsetof(ngx_rbtree_node_t, color));

    ngx_rbtree_delete(&lctx->sh->rbtree, node);

    ngx_slab_free_locked(lctx->shpool, node);

    lctx->sh->evictions++;
}


/* the idle buckets a limit zone freed; NGX_DECLINED: not a limit zone */

ngx_int_t
ngx_http_manta_limit_evictions(ngx_shm_zone_t *shm_zone,
    ngx_uint_t *evictions)
{
    ngx_http_manta_limit_ctx_t  *lctx;

    if (shm_zone->init != ngx_http_manta_limit_init_zone
        || shm_zone->data == NULL)
    {
        return NGX_DECLINED;
    }

    lctx = shm_zone->data;

    if (lctx->sh == NULL) {
        return NGX_DECLINED;
    }

    *evictions = lctx->sh->evictions;

    return NGX_OK;
}


/*
 * Called with the zone locked when no node could be had: 1 when the
 * "zone is full" alert is due, at most one a second per zone.
 */

static ngx_uint_t
ngx_http_manta_limit_full(ngx_http_manta_limit_ctx_t *lctx)
{
    ngx_msec_t  now;

    now = ngx_current_msec;

    if (lctx->sh->alerted && now - lctx->sh->alerted < 1000) {
        return 0;
    }

    lctx->sh->alerted = now;

    return 1;
}


/*
 * "what" happens to the bot: "rejected", or after an upstream 429 "cannot
 * be held back" (its backoff is not recorded)
 */

static void
ngx_http_manta_limit_full_alert(ngx_http_request_t *r,
    ngx_http_manta_loc_conf_t *mlcf, ngx_http_manta_ctx_t *ctx, char *what)
{
    ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                  "manta_limit_zone \"%V\" is full and none of its bots "
                  "is idle (drained and not backing off): botId \"%V\" "
                  "%s; make the zone larger",
                  &mlcf->limit_zone->shm.name, &ctx->bot_id, what);
}


static void
ngx_http_manta_limit_rbtree_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t            **p;
    ngx_http_manta_limit_node_t   *lrn, *lrnt;

    for ( ;; ) {

        if (node->key < temp->key) {

            p = &temp->left;

        } else if (node->key > temp->key) {

            p = &temp->right;

        } else { /* node->key == temp->key */

            lrn = (ngx_http_manta_limit_node_t *) &node->color;
            lrnt = (ngx_http_manta_limit_node_t *) &temp->color;

            p = (ngx_http_manta_limit_cmp(lrn->account, lrn->data, lrn->len,
                                          lrnt)
                 < 0)
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


static ngx_int_t
ngx_http_manta_limit_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_manta_limit_ctx_t  *lctx = shm_zone->data;

    lctx->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;
    lctx->sh = ngx_http_manta_zone_init(shm_zone, data, "manta_limit_zone",
                                        sizeof(ngx_http_manta_limit_shctx_t),
                                        ngx_http_manta_limit_setup);

    return lctx->sh ? NGX_OK : NGX_ERROR;
}


/* a new zone: an empty tree and LRU queue (the breaker zeroed, closed) */

static ngx_int_t
ngx_http_manta_limit_setup(ngx_slab_pool_t *shpool, void *data)
{
    ngx_http_manta_limit_shctx_t  *sh = data;

    ngx_rbtree_init(&sh->rbtree, &sh->sentinel,
                    ngx_http_manta_limit_rbtree_insert_value);

    ngx_queue_init(&sh->queue);

    return NGX_OK;
}


/* "manta_limit_zone zone=NAME:SIZE rate=RATE" */

char *
ngx_http_manta_limit_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_manta_limit_ctx_t  *lctx;

    lctx = ngx_pcalloc(cf->pool, sizeof(ngx_http_manta_limit_ctx_t));
    if (lctx == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_manta_zone(cf, cmd, "rate=", ngx_http_manta_limit_rate,
                            lctx, ngx_http_manta_limit_init_zone,
                            &ngx_http_manta_limit_tag)
        == NULL)
    {
        return NGX_CONF_ERROR;
    }

    if (lctx->rate == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must have \"rate\" parameter",
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* "rate=RATE" of manta_limit_zone */

static ngx_int_t
ngx_http_manta_limit_rate(ngx_conf_t *cf, ngx_str_t *arg, void *data)
{
    ngx_http_manta_limit_ctx_t  *lctx = data;

    lctx->rate = manta_rate_parse((char *) arg->data + 5, arg->len - 5);

    if (lctx->rate == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid rate \"%V\"", arg);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* "manta_limit zone=NAME [burst=N] [nodelay | delay=N]" */

char *
ngx_http_manta_limit(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_manta_loc_conf_t *mlcf = conf;

    ngx_int_t        burst, delay;
    ngx_str_t       *value, s;
    ngx_uint_t       i;
    ngx_shm_zone_t  *shm_zone;

    if (mlcf->limit_zone != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    shm_zone = NULL;
    burst = 0;
    delay = 0;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "zone=", 5) == 0) {

            s.len = value[i].len - 5;
            s.data = value[i].data + 5;

            shm_zone = ngx_shared_memory_add(cf, &s, 0,
                                             &ngx_http_manta_limit_tag);
            if (shm_zone == NULL) {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "burst=", 6) == 0) {

            burst = ngx_http_manta_limit_count(cf, &value[i]);
            if (burst == NGX_ERROR) {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "delay=", 6) == 0) {

            delay = ngx_http_manta_limit_count(cf, &value[i]);
            if (delay == NGX_ERROR) {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strcmp(value[i].data, "nodelay") == 0) {
            delay = NGX_HTTP_MANTA_LIMIT_NODELAY;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    if (shm_zone == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must have \"zone\" parameter",
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    mlcf->limit_zone = shm_zone;
    mlcf->limit_burst = burst;
    mlcf->limit_delay = delay;

    return NGX_CONF_OK;
}


/* "burst=N" or "delay=N" of manta_limit: 1 to NGX_HTTP_MANTA_LIMIT_MAX */

static ngx_int_t
ngx_http_manta_limit_count(ngx_conf_t *cf, ngx_str_t *arg)
{
    ngx_int_t  n;

    n = ngx_atoi(arg->data + 6, arg->len - 6);

    if (n <= 0 || n > NGX_HTTP_MANTA_LIMIT_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid %*s value \"%V\"", (size_t) 5,
                           arg->data, arg);
        return NGX_ERROR;
    }

    return n;
}


/*
 * "manta_limit_redis zone=NAME server=HOST:PORT ...": the zone's decisions
 * taken in Redis (ngx_http_manta_redis.c parses the rest)
 */

char *
ngx_http_manta_limit_redis(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char                        *rv;
    ngx_shm_zone_t              *shm_zone;
    ngx_http_manta_redis_t      *rd;
    ngx_http_manta_limit_ctx_t  *lctx;

    rd = NULL;

    rv = ngx_http_manta_redis_create(cf, cmd, &rd);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    shm_zone = ngx_shared_memory_add(cf, &rd->zone, 0,
                                     &ngx_http_manta_limit_tag);
    if (shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    lctx = shm_zone->data;

    if (lctx == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "manta_limit_zone \"%V\" must be defined before "
                           "its \"%V\"", &rd->zone, &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (lctx->redis) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" already has a \"%V\": one per zone",
                           &rd->zone, &cmd->name);
        return NGX_CONF_ERROR;
    }

    lctx->redis = rd;

    return NGX_CONF_OK;
}
