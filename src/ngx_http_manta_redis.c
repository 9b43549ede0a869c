/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * The Redis transport of a fleet-wide limit zone: per worker one
 * persistent connection on nginx's event loop, pipelined (the requests
 * parked on it are answered in the order their commands were sent), AUTH
 * and SELECT on connect, the script loaded on connect and again after a
 * NOSCRIPT, a timer per parked request, and the circuit breaker shared by
 * the workers.  Replies are read with libhiredis's redisReader only.  With
 * "tls", nothing is sent before nginx's OpenSSL has completed the
 * handshake and the certificate is verified (the CA, then the name).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_manta_module.h"
#include "ngx_http_manta_redis.h"


/* defaults of "fails=" and "probe=" (ms) */
#define NGX_HTTP_MANTA_REDIS_FAILS     3
#define NGX_HTTP_MANTA_REDIS_PROBE     1000

/* the reconnect backoff, ms */
#define NGX_HTTP_MANTA_REDIS_RETRY     100
#define NGX_HTTP_MANTA_REDIS_RETRY_MAX 2000

#define NGX_HTTP_MANTA_REDIS_AUTH      0
#define NGX_HTTP_MANTA_REDIS_SELECT    1
#define NGX_HTTP_MANTA_REDIS_LOAD      2
#define NGX_HTTP_MANTA_REDIS_TAKE      3
#define NGX_HTTP_MANTA_REDIS_BACKOFF   4


typedef struct {
    ngx_queue_t                       queue;
    ngx_http_manta_redis_t           *rd;
    ngx_http_manta_redis_breaker_t   *br;
    ngx_http_request_t               *r;      /* NULL: nobody waits */
    ngx_pool_cleanup_t               *cln;
    ngx_http_manta_redis_handler_pt   handler;
    ngx_event_t                       timer;
    u_char                           *cmd;    /* kept for NOSCRIPT */
    size_t                            len;
    size_t                            size;   /* of cmd, kept with the op */
    ngx_uint_t                        kind;
    unsigned                          retried:1;
} ngx_http_manta_redis_op_t;


/* what "manta_limit_redis" reads before it checks and applies it */

typedef struct {
    ngx_str_t                         name;
    ngx_str_t                         file;
    ngx_str_t                         trusted;
    ngx_str_t                         host;
    ngx_uint_t                        depth;
    unsigned                          tls:1;
    unsigned                          tls_opts:1;
} ngx_http_manta_redis_args_t;

typedef ngx_int_t (*ngx_http_manta_redis_parse_pt)(ngx_conf_t *cf,
    ngx_http_manta_redis_t *rd, ngx_http_manta_redis_args_t *args,
    ngx_str_t *v);


static ngx_int_t ngx_http_manta_redis_ready(ngx_http_manta_redis_t *rd,
    ngx_http_manta_redis_breaker_t *br);
static ngx_int_t ngx_http_manta_redis_connect(ngx_http_manta_redis_t *rd,
    ngx_http_manta_redis_breaker_t *br);
static ngx_int_t ngx_http_manta_redis_attach(ngx_http_manta_redis_t *rd,
    ngx_http_manta_redis_breaker_t *br, ngx_int_t rc);
static ngx_int_t ngx_http_manta_redis_prologue(ngx_http_manta_redis_t *rd,
    ngx_http_manta_redis_breaker_t *br);
static ngx_int_t ngx_http_manta_redis_queue(ngx_http_manta_redis_t *rd,
    ngx_http_manta_redis_breaker_t *br, ngx_uint_t kind, char *cmd, int len);
static ngx_http_manta_redis_op_t *ngx_http_manta_redis_op(
    ngx_http_manta_redis_t *rd, ngx_http_manta_redis_breaker_t *br,
    ngx_uint_t kind, size_t size);
static ngx_int_t ngx_http_manta_redis_send(ngx_http_manta_redis_t *rd,
    ngx_http_manta_redis_op_t *op);
static void ngx_http_manta_redis_flush(ngx_http_manta_redis_t *rd);
static void ngx_http_manta_redis_post(ngx_http_manta_redis_t *rd);
static void ngx_http_manta_redis_write_handler(ngx_event_t *wev);
static void ngx_http_manta_redis_read_handler(ngx_event_t *rev);
static ngx_int_t ngx_http_manta_redis_replies(ngx_http_manta_redis_t *rd,
    ngx_connection_t *c, ngx_http_manta_redis_breaker_t *br, u_char *buf,
    ssize_t n);
static ngx_int_t ngx_http_manta_redis_dispatch(ngx_http_manta_redis_t *rd,
    redisReply *reply);
static ngx_int_t ngx_http_manta_redis_prologue_reply(
    ngx_http_manta_redis_t *rd, ngx_http_manta_redis_op_t *op,
    redisReply *reply);
static ngx_int_t ngx_http_manta_redis_retry(ngx_http_manta_redis_t *rd,
    ngx_http_manta_redis_op_t *op);
static void ngx_http_manta_redis_close(ngx_http_manta_redis_t *rd,
    ngx_http_manta_redis_breaker_t *br, ngx_uint_t failed);
static void ngx_http_manta_redis_free(ngx_http_manta_redis_op_t *op);
static void ngx_http_manta_redis_answer(ngx_http_manta_redis_op_t *op,
    manta_redis_result_t *res);
static void ngx_http_manta_redis_timeout(ngx_event_t *ev);
static void ngx_http_manta_redis_cleanup(void *data);
static void ngx_http_manta_redis_failure(ngx_http_manta_redis_t *rd,
    ngx_http_manta_redis_breaker_t *br);
static void ngx_http_manta_redis_success(ngx_http_manta_redis_t *rd,
    ngx_http_manta_redis_breaker_t *br);
static ngx_uint_t ngx_http_manta_redis_waited(ngx_http_manta_redis_t *rd);
static void ngx_http_manta_redis_exit(void *data);
static ngx_int_t ngx_http_manta_redis_parse_server(ngx_conf_t *cf,
    ngx_http_manta_redis_t *rd, ngx_http_manta_redis_args_t *args,
    ngx_str_t *v);
static ngx_int_t ngx_http_manta_redis_parse_auth(ngx_conf_t *cf,
    ngx_http_manta_redis_t *rd, ngx_http_manta_redis_args_t *args,
    ngx_str_t *v);
static ngx_int_t ngx_http_manta_redis_parse_timeout(ngx_conf_t *cf,
    ngx_http_manta_redis_t *rd, ngx_http_manta_redis_args_t *args,
    ngx_str_t *v);
static ngx_int_t ngx_http_manta_redis_parse_tls(ngx_conf_t *cf,
    ngx_http_manta_redis_t *rd, ngx_http_manta_redis_args_t *args,
    ngx_str_t *v);
static ngx_uint_t ngx_http_manta_redis_arg(ngx_str_t *v, char *name,
    ngx_str_t *value);
static ngx_int_t ngx_http_manta_redis_number(ngx_conf_t *cf, ngx_str_t *v,
    ngx_str_t *s, ngx_uint_t time, ngx_int_t min, ngx_int_t max,
    ngx_uint_t *value, char *give);
static ngx_int_t ngx_http_manta_redis_enum(ngx_conf_t *cf, ngx_str_t *v,
    ngx_str_t *s, ngx_conf_enum_t *e, ngx_uint_t *value, char *give);
static ngx_int_t ngx_http_manta_redis_empty(ngx_conf_t *cf, ngx_str_t *value,
    char *msg);
static char *ngx_http_manta_redis_secure(ngx_conf_t *cf,
    ngx_http_manta_redis_t *rd, ngx_http_manta_redis_args_t *args);
static char *ngx_http_manta_redis_password(ngx_conf_t *cf,
    ngx_http_manta_redis_t *rd, ngx_str_t *file);
static char *ngx_http_manta_redis_tls(ngx_conf_t *cf,
    ngx_http_manta_redis_t *rd, ngx_str_t *trusted, ngx_int_t depth);
#if (NGX_SSL)
static void ngx_http_manta_redis_handshake(ngx_http_manta_redis_t *rd);
static ngx_int_t ngx_http_manta_redis_verify(ngx_http_manta_redis_t *rd,
    ngx_connection_t *c);
#endif


/* the values of "fallback=" and "tls_verify=" */

static ngx_conf_enum_t  ngx_http_manta_redis_fallbacks[] = {
    { ngx_string("local"), NGX_HTTP_MANTA_REDIS_LOCAL },
    { ngx_string("allow"), NGX_HTTP_MANTA_REDIS_ALLOW },
    { ngx_string("deny"), NGX_HTTP_MANTA_REDIS_DENY },
    { ngx_null_string, 0 }
};


static ngx_conf_enum_t  ngx_http_manta_redis_flags[] = {
    { ngx_string("on"), 1 },
    { ngx_string("off"), 0 },
    { ngx_null_string, 0 }
};


/* the parameter groups of "manta_limit_redis", each tried in turn */

static ngx_http_manta_redis_parse_pt  ngx_http_manta_redis_parsers[] = {
    ngx_http_manta_redis_parse_server,
    ngx_http_manta_redis_parse_auth,
    ngx_http_manta_redis_parse_timeout,
    ngx_http_manta_redis_parse_tls
};


ngx_int_t
ngx_http_manta_redis_take(ngx_http_manta_redis_t *rd,
    ngx_http_manta_redis_breaker_t *br, ngx_http_request_t *r,
    manta_redis_key_t *key, ngx_str_t *args,
    ngx_http_manta_redis_handler_pt handler)
{
    ngx_pool_cleanup_t         *cln;
    ngx_http_manta_redis_op_t  *op;

    if (ngx_http_manta_redis_ready(rd, br) != NGX_OK) {
        return NGX_DECLINED;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_DECLINED;
    }

    op = ngx_http_manta_redis_op(rd, br, NGX_HTTP_MANTA_REDIS_TAKE,
                                 MANTA_REDIS_CMD_SIZE(key->head_len
                                                      + key->bot_id_len + 1)
                                 + args->len);
    if (op == NULL) {
        return NGX_DECLINED;
    }

    op->len = manta_redis_take_cmd((char *) op->cmd, key,
                                   (char *) args->data, args->len);

    if (ngx_http_manta_redis_send(rd, op) != NGX_OK) {
        return NGX_DECLINED;
    }

    op->r = r;
    op->handler = handler;
    op->cln = cln;

    cln->handler = ngx_http_manta_redis_cleanup;
    cln->data = op;

    ngx_add_timer(&op->timer, rd->timeout);

    ngx_http_manta_redis_post(rd);

    return NGX_AGAIN;
}


void
ngx_http_manta_redis_backoff(ngx_http_manta_redis_t *rd,
    ngx_http_manta_redis_breaker_t *br, manta_redis_key_t *key,
    unsigned seconds)
{
    ngx_http_manta_redis_op_t  *op;

    if (ngx_http_manta_redis_ready(rd, br) != NGX_OK) {
        return;
    }

    op = ngx_http_manta_redis_op(rd, br, NGX_HTTP_MANTA_REDIS_BACKOFF,
                                 MANTA_REDIS_CMD_SIZE(key->head_len
                                                      + key->bot_id_len + 1));
    if (op == NULL) {
        return;
    }

    op->len = manta_redis_backoff_cmd((char *) op->cmd, key, seconds);

    if (ngx_http_manta_redis_send(rd, op) != NGX_OK) {
        return;
    }

    ngx_http_manta_redis_post(rd);
}


/*
 * NGX_OK when a command may be sent: the circuit is closed or it is this
 * request's turn to probe, and the connection is up or may be opened.
 */

static ngx_int_t
ngx_http_manta_redis_ready(ngx_http_manta_redis_t *rd,
    ngx_http_manta_redis_breaker_t *br)
{
    ngx_msec_t         now;
    ngx_atomic_uint_t  probe;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        /* the worker is going: no new connection to leave behind */
        return rd->connected ? NGX_OK : NGX_DECLINED;
    }

    now = ngx_current_msec;

    if (br->open) {
        probe = br->probe;

        if ((ngx_msec_int_t) (now - (ngx_msec_t) probe) < 0
            || !ngx_atomic_cmp_set(&br->probe, probe, now + rd->probe))
        {
            return NGX_DECLINED;
        }

        /* this request probes */
        rd->retry_at = now;
    }

    if (rd->connected) {
        return NGX_OK;
    }

    if ((ngx_msec_int_t) (now - rd->retry_at) < 0) {
        ngx_http_manta_redis_failure(rd, br);
        return NGX_DECLINED;
    }

    return ngx_http_manta_redis_connect(rd, br);
}


static ngx_int_t
ngx_http_manta_redis_connect(ngx_http_manta_redis_t *rd,
    ngx_http_manta_redis_breaker_t *br)
{
    ngx_int_t            rc;
    ngx_pool_cleanup_t  *cln;

    if (!rd->inited) {
        cln = ngx_pool_cleanup_add(ngx_cycle->pool, 0);
        if (cln == NULL) {
            return NGX_DECLINED;
        }

        cln->handler = ngx_http_manta_redis_exit;
        cln->data = rd;

        ngx_queue_init(&rd->pending);
        ngx_queue_init(&rd->free);
        rd->inited = 1;
    }

    ngx_memzero(&rd->pc, sizeof(ngx_peer_connection_t));

    rd->pc.sockaddr = rd->addr->sockaddr;
    rd->pc.socklen = rd->addr->socklen;
    rd->pc.name = &rd->server;
    rd->pc.get = ngx_event_get_peer;
    rd->pc.log = ngx_cycle->log;
    rd->pc.log_error = NGX_ERROR_ERR;

    rc = ngx_event_connect_peer(&rd->pc);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {

        if (rd->pc.connection) {
            ngx_close_connection(rd->pc.connection);
            rd->pc.connection = NULL;
        }

        ngx_http_manta_redis_close(rd, br, 1);
        return NGX_DECLINED;
    }

    if (ngx_http_manta_redis_attach(rd, br, rc) != NGX_OK) {
        return NGX_DECLINED;
    }

    if (ngx_http_manta_redis_prologue(rd, br) != NGX_OK) {
        ngx_http_manta_redis_close(rd, br, 1);
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * The new connection becomes the worker's: its handlers, its reply
 * reader and, with "tls", the handshake to come first (rc is
 * ngx_event_connect_peer()'s); NGX_DECLINED when it was closed.
 */

static ngx_int_t
ngx_http_manta_redis_attach(ngx_http_manta_redis_t *rd,
    ngx_http_manta_redis_breaker_t *br, ngx_int_t rc)
{
    ngx_connection_t  *c;

    c = rd->pc.connection;
    c->data = rd;
    rd->br = br;
    c->read->handler = ngx_http_manta_redis_read_handler;
    c->write->handler = ngx_http_manta_redis_write_handler;
    c->log = ngx_cycle->log;
    c->read->log = c->log;
    c->write->log = c->log;

    /* closed by nginx when the worker exits (c->close, read handler) */
    c->idle = 1;
    ngx_reusable_connection(c, 1);

    rd->reader = manta_redis_reader();
    if (rd->reader == NULL) {
        ngx_close_connection(c);
        rd->pc.connection = NULL;
        return NGX_DECLINED;
    }

    rd->connected = 1;
    rd->out_len = 0;

#if (NGX_SSL)
    if (rd->ssl) {
        /* ngx_ssl_create_connection() allocates from it */
        c->pool = ngx_create_pool(512, c->log);
        if (c->pool == NULL) {
            ngx_http_manta_redis_close(rd, br, 1);
            return NGX_DECLINED;
        }

        /* the commands below wait for the handshake */
        rd->handshaking = 1;

        if (rc == NGX_OK) {
            /* connected at once: no write event may come to start it */
            ngx_post_event(c->write, &ngx_posted_events);
        }
    }
#endif

    return NGX_OK;
}


/* the first commands on a connection: AUTH, SELECT, then SCRIPT LOAD */

static ngx_int_t
ngx_http_manta_redis_prologue(ngx_http_manta_redis_t *rd,
    ngx_http_manta_redis_breaker_t *br)
{
    int    len;
    char  *cmd;

    if (rd->password.len) {
        len = manta_redis_auth_cmd(&cmd, (char *) rd->username.data,
                                   rd->username.len,
                                   (char *) rd->password.data,
                                   rd->password.len);

        if (ngx_http_manta_redis_queue(rd, br, NGX_HTTP_MANTA_REDIS_AUTH,
                                       cmd, len)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (rd->db) {
        len = manta_redis_select_cmd(&cmd, (unsigned) rd->db);

        if (ngx_http_manta_redis_queue(rd, br, NGX_HTTP_MANTA_REDIS_SELECT,
                                       cmd, len)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    len = manta_redis_load_cmd(&cmd);

    return ngx_http_manta_redis_queue(rd, br, NGX_HTTP_MANTA_REDIS_LOAD, cmd,
                                      len);
}


/* a command built by the core (len < 0: it was not), sent and freed */

static ngx_int_t
ngx_http_manta_redis_queue(ngx_http_manta_redis_t *rd,
    ngx_http_manta_redis_breaker_t *br, ngx_uint_t kind, char *cmd, int len)
{
    ngx_http_manta_redis_op_t  *op;

    if (len < 0) {
        return NGX_ERROR;
    }

    op = ngx_http_manta_redis_op(rd, br, kind, len);

    if (op != NULL) {
        ngx_memcpy(op->cmd, cmd, len);
        op->len = len;
    }

    if (kind == NGX_HTTP_MANTA_REDIS_AUTH) {
        ngx_explicit_memzero(cmd, len);
    }

    redisFreeCommand(cmd);

    if (op == NULL) {
        return NGX_ERROR;
    }

    return ngx_http_manta_redis_send(rd, op);
}


/*
 * An op for a command of at most size bytes, written into op->cmd: the
 * op's own memory, kept with it when it is freed, so that an op reused
 * (most are) writes its command without an allocation
 */

static ngx_http_manta_redis_op_t *
ngx_http_manta_redis_op(ngx_http_manta_redis_t *rd,
    ngx_http_manta_redis_breaker_t *br, ngx_uint_t kind, size_t size)
{
    u_char                     *cmd;
    ngx_queue_t                *q;
    ngx_http_manta_redis_op_t  *op;

    if (!ngx_queue_empty(&rd->free)) {
        q = ngx_queue_head(&rd->free);
        ngx_queue_remove(q);
        op = ngx_queue_data(q, ngx_http_manta_redis_op_t, queue);

    } else {
        op = ngx_alloc(sizeof(ngx_http_manta_redis_op_t), ngx_cycle->log);
        if (op == NULL) {
            return NULL;
        }

        op->cmd = NULL;
        op->size = 0;
    }

    op->rd = rd;

    if (size > op->size) {
        cmd = ngx_alloc(ngx_max(size, 256), ngx_cycle->log);
        if (cmd == NULL) {
            ngx_queue_insert_head(&rd->free, &op->queue);
            return NULL;
        }

        if (op->cmd) {
            ngx_free(op->cmd);
        }

        op->cmd = cmd;
        op->size = ngx_max(size, 256);
    }

    op->br = br;
    op->r = NULL;
    op->cln = NULL;
    op->handler = NULL;
    op->len = 0;
    op->kind = kind;
    op->retried = 0;

    ngx_memzero(&op->timer, sizeof(ngx_event_t));
    op->timer.handler = ngx_http_manta_redis_timeout;
    op->timer.data = op;
    op->timer.log = ngx_cycle->log;

    return op;
}


/* queues op's command: appended to what goes out; op freed if it cannot */

static ngx_int_t
ngx_http_manta_redis_send(ngx_http_manta_redis_t *rd,
    ngx_http_manta_redis_op_t *op)
{
    u_char  *p;
    size_t   size;

    if (rd->out_len + op->len > rd->out_size) {
        size = ngx_max(rd->out_size * 2, rd->out_len + op->len + 4096);

        p = ngx_alloc(size, ngx_cycle->log);
        if (p == NULL) {
            ngx_http_manta_redis_free(op);
            return NGX_ERROR;
        }

        if (rd->out_len) {
            ngx_memcpy(p, rd->out, rd->out_len);
        }

        if (rd->out) {
            ngx_free(rd->out);
        }

        rd->out = p;
        rd->out_size = size;
    }

    ngx_memcpy(rd->out + rd->out_len, op->cmd, op->len);
    rd->out_len += op->len;

    ngx_queue_insert_tail(&rd->pending, &op->queue);

    return NGX_OK;
}


static void
ngx_http_manta_redis_flush(ngx_http_manta_redis_t *rd)
{
    ssize_t                     n;
    ngx_connection_t           *c;
    ngx_http_manta_redis_op_t  *op;

    c = rd->pc.connection;

    if (c == NULL || rd->out_len == 0 || !c->write->ready
        || rd->handshaking)
    {
        return;
    }

    n = c->send(c, rd->out, rd->out_len);

    if (n == NGX_AGAIN) {
        (void) ngx_handle_write_event(c->write, 0);
        return;
    }

    if (n == NGX_ERROR) {
        op = ngx_queue_data(ngx_queue_head(&rd->pending),
                            ngx_http_manta_redis_op_t, queue);
        ngx_http_manta_redis_close(rd, op->br, 1);
        return;
    }

    if ((size_t) n < rd->out_len) {
        ngx_memmove(rd->out, rd->out + n, rd->out_len - n);
    }

    rd->out_len -= n;

    if (rd->out_len) {
        (void) ngx_handle_write_event(c->write, 0);
    }
}


/*
 * The commands of the requests this turn of the event loop handles go out
 * together, in one send() when the posted write event runs, not one each
 */

static void
ngx_http_manta_redis_post(ngx_http_manta_redis_t *rd)
{
    ngx_connection_t  *c;

    c = rd->pc.connection;

    if (c == NULL || rd->handshaking) {
        /* sent once connected, or once the handshake is over */
        return;
    }

    if (!c->write->posted) {
        ngx_post_event(c->write, &ngx_posted_events);
    }
}


static void
ngx_http_manta_redis_write_handler(ngx_event_t *wev)
{
    ngx_connection_t        *c;
    ngx_http_manta_redis_t  *rd;

    c = wev->data;
    rd = c->data;

#if (NGX_SSL)
    if (rd->handshaking) {
        ngx_http_manta_redis_handshake(rd);
        return;
    }
#endif

    ngx_http_manta_redis_flush(rd);
}


static void
ngx_http_manta_redis_read_handler(ngx_event_t *rev)
{
    u_char                           buf[16384];
    ssize_t                          n;
    ngx_connection_t                *c;
    ngx_http_manta_redis_t          *rd;
    ngx_http_manta_redis_op_t       *op;
    ngx_http_manta_redis_breaker_t  *br;

    c = rev->data;
    rd = c->data;

    if (c->close) {
        c->close = 0;

        if (!ngx_http_manta_redis_waited(rd)) {
            ngx_http_manta_redis_close(rd, NULL, 0);
            return;
        }

        /*
         * the worker is going (a reload): the requests parked here get
         * Redis's answer, not the fallback; closed after the last one
         */
    }

#if (NGX_SSL)
    if (rd->handshaking) {
        ngx_http_manta_redis_handshake(rd);
        return;
    }
#endif

    for ( ;; ) {

        br = NULL;

        if (!ngx_queue_empty(&rd->pending)) {
            op = ngx_queue_data(ngx_queue_head(&rd->pending),
                                ngx_http_manta_redis_op_t, queue);
            br = op->br;
        }

        n = c->recv(c, buf, sizeof(buf));

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == 0 || n == NGX_ERROR || br == NULL) {
            /* closed by Redis, or bytes nobody asked for */
            ngx_log_error(NGX_LOG_ERR, c->log, 0,
                          "manta_limit_redis zone \"%V\": connection to %V "
                          "lost", &rd->zone, &rd->server);
            ngx_http_manta_redis_close(rd, br, 1);
            return;
        }

        if (ngx_http_manta_redis_replies(rd, c, br, buf, n) != NGX_OK) {
            return;
        }

        if (!rd->connected) {
            return;
        }

        if (ngx_exiting && !ngx_http_manta_redis_waited(rd)) {
            ngx_http_manta_redis_close(rd, NULL, 0);
            return;
        }

        if (!rev->ready) {
            /* the socket is drained (nginx's recv() knows) */
            break;
        }
    }

    if (ngx_handle_read_event(rev, 0) != NGX_OK) {
        ngx_http_manta_redis_close(rd, br, 1);
    }
}


/*
 * The bytes read, fed to the reader; each complete reply goes to the
 * oldest command.  NGX_ERROR when the connection was closed (or a reply
 * closed it).
 */

static ngx_int_t
ngx_http_manta_redis_replies(ngx_http_manta_redis_t *rd,
    ngx_connection_t *c, ngx_http_manta_redis_breaker_t *br, u_char *buf,
    ssize_t n)
{
    void       *reply;
    ngx_int_t   rc;

    if (redisReaderFeed(rd->reader, (char *) buf, n) != REDIS_OK) {
        ngx_http_manta_redis_close(rd, br, 1);
        return NGX_ERROR;
    }

    for ( ;; ) {
        reply = NULL;

        if (redisReaderGetReply(rd->reader, &reply) != REDIS_OK) {
            ngx_log_error(NGX_LOG_ERR, c->log, 0,
                          "manta_limit_redis zone \"%V\": invalid reply "
                          "from %V", &rd->zone, &rd->server);
            ngx_http_manta_redis_close(rd, br, 1);
            return NGX_ERROR;
        }

        if (reply == NULL) {
            return NGX_OK;
        }

        rc = ngx_http_manta_redis_dispatch(rd, reply);

        manta_redis_reply_free(reply);

        if (rc != NGX_OK) {
            return NGX_ERROR;
        }

        if (!manta_redis_reader_unread(rd->reader)) {
            /* no byte left for another reply */
            return NGX_OK;
        }
    }
}


/* the reply to the oldest command; NGX_ERROR when the connection closed */

static ngx_int_t
ngx_http_manta_redis_dispatch(ngx_http_manta_redis_t *rd, redisReply *reply)
{
    int                              rc;
    ngx_int_t                        retry;
    const char                      *err;
    ngx_queue_t                     *q;
    manta_redis_result_t             res;
    ngx_http_manta_redis_op_t       *op;
    ngx_http_manta_redis_breaker_t  *br;

    if (ngx_queue_empty(&rd->pending)) {
        ngx_http_manta_redis_close(rd, NULL, 1);
        return NGX_ERROR;
    }

    q = ngx_queue_head(&rd->pending);
    ngx_queue_remove(q);
    op = ngx_queue_data(q, ngx_http_manta_redis_op_t, queue);
    br = op->br;

    if (op->kind <= NGX_HTTP_MANTA_REDIS_LOAD) {
        return ngx_http_manta_redis_prologue_reply(rd, op, reply);
    }

    rc = manta_redis_reply(reply, &res, &err);

    if (rc == MANTA_REDIS_NOSCRIPT && !op->retried) {
        /* Redis restarted or SCRIPT FLUSH: load it, then ask again */
        retry = ngx_http_manta_redis_retry(rd, op);
        if (retry != NGX_DECLINED) {
            return retry;
        }
    }

    if (rc != MANTA_REDIS_OK) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "manta_limit_redis zone \"%V\": %s from %V%s%*s",
                      &rd->zone, err, &rd->server,
                      (reply->type == REDIS_REPLY_ERROR) ? ": " : "",
                      (reply->type == REDIS_REPLY_ERROR)
                      ? ngx_min(reply->len, 200) : 0,
                      (reply->type == REDIS_REPLY_ERROR) ? reply->str : "");

        ngx_http_manta_redis_failure(rd, br);
        ngx_http_manta_redis_answer(op, NULL);
        return rd->connected ? NGX_OK : NGX_ERROR;
    }

    ngx_http_manta_redis_success(rd, br);
    rd->backoff = 0;

    ngx_http_manta_redis_answer(op, &res);

    return rd->connected ? NGX_OK : NGX_ERROR;
}


/*
 * The reply to AUTH, SELECT or SCRIPT LOAD (op, taken off the queue): a
 * refusal closes the connection, and the next attempt waits.
 */

static ngx_int_t
ngx_http_manta_redis_prologue_reply(ngx_http_manta_redis_t *rd,
    ngx_http_manta_redis_op_t *op, redisReply *reply)
{
    const char                      *what;
    ngx_http_manta_redis_breaker_t  *br;

    if (manta_redis_reply_ok(reply)) {
        ngx_http_manta_redis_free(op);
        return NGX_OK;
    }

    br = op->br;

    what = (op->kind == NGX_HTTP_MANTA_REDIS_AUTH) ? "AUTH"
           : (op->kind == NGX_HTTP_MANTA_REDIS_SELECT) ? "SELECT"
           : "SCRIPT LOAD";

    /* Redis's own message names no secret */

    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "manta_limit_redis zone \"%V\": %s on %V failed: "
                  "\"%*s\"", &rd->zone, what, &rd->server,
                  (reply->type == REDIS_REPLY_ERROR)
                  ? ngx_min(reply->len, 200) : 0,
                  (reply->type == REDIS_REPLY_ERROR) ? reply->str : "");

    ngx_http_manta_redis_free(op);
    ngx_http_manta_redis_close(rd, br, 1);

    /* no reconnect storm on a wrong password */
    rd->retry_at = ngx_current_msec + NGX_HTTP_MANTA_REDIS_RETRY_MAX;
    return NGX_ERROR;
}


/*
 * NOSCRIPT to op (taken off the queue): SCRIPT LOAD, then op's command
 * again, once, for the same request and within its timer.  NGX_DECLINED
 * when SCRIPT LOAD could not be queued: op is answered as a failure.
 */

static ngx_int_t
ngx_http_manta_redis_retry(ngx_http_manta_redis_t *rd,
    ngx_http_manta_redis_op_t *op)
{
    int                              len;
    char                            *cmd;
    size_t                           size;
    ngx_http_manta_redis_op_t       *again;
    ngx_http_manta_redis_breaker_t  *br;

    br = op->br;

    len = manta_redis_load_cmd(&cmd);

    if (ngx_http_manta_redis_queue(rd, br, NGX_HTTP_MANTA_REDIS_LOAD, cmd,
                                   len)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    /* the command again, in op's memory: again's goes to op */

    again = ngx_http_manta_redis_op(rd, br, op->kind, 0);

    if (again != NULL) {
        cmd = (char *) again->cmd;
        size = again->size;

        again->cmd = op->cmd;
        again->size = op->size;
        again->len = op->len;

        op->cmd = (u_char *) cmd;
        op->size = size;

        if (ngx_http_manta_redis_send(rd, again) != NGX_OK) {
            again = NULL;
        }
    }

    if (again == NULL) {
        ngx_http_manta_redis_failure(rd, br);
        ngx_http_manta_redis_answer(op, NULL);
        return rd->connected ? NGX_OK : NGX_ERROR;
    }

    again->retried = 1;
    again->r = op->r;
    again->handler = op->handler;
    again->cln = op->cln;

    if (again->cln) {
        again->cln->data = again;
    }

    if (op->timer.timer_set) {
        ngx_add_timer(&again->timer, op->timer.timer.key - ngx_current_msec);
    }

    op->r = NULL;
    op->cln = NULL;

    ngx_http_manta_redis_free(op);
    ngx_http_manta_redis_flush(rd);

    return NGX_OK;
}


#if (NGX_SSL)

/*
 * One step of the TLS handshake, called from the connection's handlers
 * (they stay the module's, so that a worker that exits closes it); once
 * the certificate is verified, the queued commands go out.
 */

static void
ngx_http_manta_redis_handshake(ngx_http_manta_redis_t *rd)
{
    ngx_int_t          rc;
    ngx_connection_t  *c;

    c = rd->pc.connection;

    if (c->ssl == NULL) {
        if (ngx_ssl_create_connection(rd->ssl, c, NGX_SSL_CLIENT) != NGX_OK) {
            ngx_http_manta_redis_close(rd, rd->br, 1);
            return;
        }

#ifdef SSL_CTRL_SET_TLSEXT_HOSTNAME
        if (!rd->tls_ip
            && SSL_set_tlsext_host_name(c->ssl->connection,
                                        (char *) rd->tls_name.data)
               == 0)
        {
            ngx_ssl_error(NGX_LOG_ERR, c->log, 0,
                          "SSL_set_tlsext_host_name(\"%V\") failed",
                          &rd->tls_name);
            ngx_http_manta_redis_close(rd, rd->br, 1);
            return;
        }
#endif
    }

    rc = ngx_ssl_handshake(c);

    /* ngx_ssl_handshake() set its own handlers: the module's again */
    c->read->handler = ngx_http_manta_redis_read_handler;
    c->write->handler = ngx_http_manta_redis_write_handler;

    if (rc == NGX_AGAIN) {
        return;
    }

    if (rc != NGX_OK || c->ssl == NULL || !c->ssl->handshaked) {
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "manta_limit_redis zone \"%V\": TLS handshake with %V "
                      "failed: is it a TLS port?", &rd->zone, &rd->server);
        ngx_http_manta_redis_close(rd, rd->br, 1);
        return;
    }

    if (rd->tls_verify && ngx_http_manta_redis_verify(rd, c) != NGX_OK) {
        ngx_http_manta_redis_close(rd, rd->br, 1);

        /* a wrong certificate is not a blip: no reconnect storm */
        rd->retry_at = ngx_current_msec + NGX_HTTP_MANTA_REDIS_RETRY_MAX;
        return;
    }

    rd->handshaking = 0;

    ngx_http_manta_redis_flush(rd);
}


/* the certificate: signed by a trusted CA, and for tls_name */

static ngx_int_t
ngx_http_manta_redis_verify(ngx_http_manta_redis_t *rd, ngx_connection_t *c)
{
    long   rc;
    X509  *cert;

    rc = SSL_get_verify_result(c->ssl->connection);

    if (rc != X509_V_OK) {
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "manta_limit_redis zone \"%V\": the TLS certificate of "
                      "%V is not trusted (%l: %s): tls_trusted_certificate "
                      "must hold the CA that signed it", &rd->zone,
                      &rd->server, rc, X509_verify_cert_error_string(rc));
        return NGX_ERROR;
    }

    if (rd->tls_ip) {
        cert = SSL_get_peer_certificate(c->ssl->connection);

        rc = (cert != NULL
              && X509_check_ip_asc(cert, (char *) rd->tls_name.data, 0)
                 == 1);

        if (cert) {
            X509_free(cert);
        }

        if (rc) {
            return NGX_OK;
        }

    } else if (ngx_ssl_check_host(c, &rd->tls_name) == NGX_OK) {
        return NGX_OK;
    }

    ngx_log_error(NGX_LOG_ERR, c->log, 0,
                  "manta_limit_redis zone \"%V\": the TLS certificate of %V "
                  "is not for \"%V\": give the name it holds with tls_name=",
                  &rd->zone, &rd->server, &rd->tls_name);

    return NGX_ERROR;
}

#endif


/* the op's request gets its answer; the op is freed first */

static void
ngx_http_manta_redis_answer(ngx_http_manta_redis_op_t *op,
    manta_redis_result_t *res)
{
    ngx_connection_t                 *c;
    ngx_http_request_t               *r;
    ngx_http_manta_redis_handler_pt   handler;

    r = op->r;
    handler = op->handler;

    ngx_http_manta_redis_free(op);

    if (r == NULL) {
        return;
    }

    c = r->connection;

    handler(r, res);

    ngx_http_run_posted_requests(c);
}


/*
 * Closes the connection; every parked request takes the fallback.  The
 * next connection waits for the backoff.
 */

static void
ngx_http_manta_redis_close(ngx_http_manta_redis_t *rd,
    ngx_http_manta_redis_breaker_t *br, ngx_uint_t failed)
{
    ngx_pool_t                 *pool;
    ngx_queue_t                *q;
    ngx_connection_t           *c;
    ngx_http_manta_redis_op_t  *op;

    c = rd->pc.connection;

    if (c) {
#if (NGX_SSL)
        if (c->ssl) {
            /* no close_notify exchange: never a wait here */
            c->ssl->no_wait_shutdown = 1;
            c->ssl->no_send_shutdown = 1;
            (void) ngx_ssl_shutdown(c);
        }
#endif

        pool = c->pool;

        ngx_reusable_connection(c, 0);
        ngx_close_connection(c);
        rd->pc.connection = NULL;

        if (pool) {
            ngx_destroy_pool(pool);
        }
    }

    rd->handshaking = 0;

    if (rd->reader) {
        manta_redis_reader_free(rd->reader);
        rd->reader = NULL;
    }

    rd->connected = 0;
    rd->out_len = 0;

    if (failed) {
        rd->backoff = rd->backoff ? ngx_min(rd->backoff * 2,
                                            NGX_HTTP_MANTA_REDIS_RETRY_MAX)
                                  : NGX_HTTP_MANTA_REDIS_RETRY;
        rd->retry_at = ngx_current_msec + rd->backoff;

        if (br) {
            ngx_http_manta_redis_failure(rd, br);
        }
    }

    while (!ngx_queue_empty(&rd->pending)) {
        q = ngx_queue_head(&rd->pending);
        ngx_queue_remove(q);
        op = ngx_queue_data(q, ngx_http_manta_redis_op_t, queue);

        ngx_http_manta_redis_answer(op, NULL);
    }
}


static void
ngx_http_manta_redis_free(ngx_http_manta_redis_op_t *op)
{
    if (op->timer.timer_set) {
        ngx_del_timer(&op->timer);
    }

    if (op->cln) {
        op->cln->handler = NULL;
        op->cln = NULL;
    }

    if (op->kind == NGX_HTTP_MANTA_REDIS_AUTH) {
        /* the op's memory outlives it: no password left there */
        ngx_explicit_memzero(op->cmd, op->len);
    }

    op->r = NULL;

    ngx_queue_insert_head(&op->rd->free, &op->queue);
}


/*
 * Redis did not answer in time: the request takes the fallback, and the
 * connection, whose replies are late, is closed (its other parked
 * requests take the fallback too).
 */

static void
ngx_http_manta_redis_timeout(ngx_event_t *ev)
{
    ngx_http_manta_redis_op_t  *op;

    op = ev->data;

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, ev->log, 0,
                   "manta redis timeout");

    ngx_http_manta_redis_close(op->rd, op->br, 1);
}


/* the request went away while parked: its reply will be dropped */

static void
ngx_http_manta_redis_cleanup(void *data)
{
    ngx_http_manta_redis_op_t  *op = data;

    op->r = NULL;
    op->cln = NULL;

    if (op->timer.timer_set) {
        ngx_del_timer(&op->timer);
    }

    if (ngx_exiting && !ngx_http_manta_redis_waited(op->rd)) {
        /* nobody left to wait for: no socket left open at exit */
        ngx_http_manta_redis_close(op->rd, NULL, 0);
    }
}


static void
ngx_http_manta_redis_failure(ngx_http_manta_redis_t *rd,
    ngx_http_manta_redis_breaker_t *br)
{
    ngx_atomic_uint_t  n;

    n = ngx_atomic_fetch_add(&br->failures, 1) + 1;

    if (n < rd->fails || br->open) {
        return;
    }

    br->probe = ngx_current_msec + rd->probe;

    if (ngx_atomic_cmp_set(&br->open, 0, 1)) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "manta_limit_redis zone \"%V\": %V fails, circuit "
                      "open: fallback=%s until it answers again",
                      &rd->zone, &rd->server,
                      (rd->fallback == NGX_HTTP_MANTA_REDIS_LOCAL) ? "local"
                      : (rd->fallback == NGX_HTTP_MANTA_REDIS_ALLOW)
                        ? "allow" : "deny");
    }
}


static void
ngx_http_manta_redis_success(ngx_http_manta_redis_t *rd,
    ngx_http_manta_redis_breaker_t *br)
{
    if (br->failures) {
        br->failures = 0;
    }

    if (br->open && ngx_atomic_cmp_set(&br->open, 1, 0)) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "manta_limit_redis zone \"%V\": %V answers again, "
                      "circuit closed", &rd->zone, &rd->server);
    }
}


/*
 * "manta_limit_redis zone=NAME server=HOST:PORT [password_file=FILE]
 * [username=NAME] [db=N] [timeout=T] [fallback=local|allow|deny]
 * [fleet=N] [prefix=P] [fails=N] [probe=T]
 * [tls [tls_trusted_certificate=FILE]
 * [tls_verify=on|off] [tls_verify_depth=N] [tls_name=NAME]]"
 *
 * Each parameter group has its parser: NGX_OK when it took the parameter,
 * NGX_DECLINED when the parameter is not of its group, NGX_ERROR when the
 * value is invalid (logged).
 */

char *
ngx_http_manta_redis_create(ngx_conf_t *cf, ngx_command_t *cmd,
    ngx_http_manta_redis_t **rdp)
{
    char                         *rv;
    ngx_int_t                     rc;
    ngx_str_t                    *value;
    ngx_uint_t                    i, k, n;
    ngx_http_manta_redis_t       *rd;
    ngx_http_manta_redis_args_t   args;

    value = cf->args->elts;

    rd = ngx_pcalloc(cf->pool, sizeof(ngx_http_manta_redis_t));
    if (rd == NULL) {
        return NGX_CONF_ERROR;
    }

    rd->timeout = 20;
    rd->fleet = 1;
    rd->fails = NGX_HTTP_MANTA_REDIS_FAILS;
    rd->probe = NGX_HTTP_MANTA_REDIS_PROBE;
    ngx_str_set(&rd->prefix, "manta:");
    rd->tls_verify = 1;

    ngx_memzero(&args, sizeof(ngx_http_manta_redis_args_t));
    args.depth = 1;

    n = sizeof(ngx_http_manta_redis_parsers)
        / sizeof(ngx_http_manta_redis_parsers[0]);

    for (i = 1; i < cf->args->nelts; i++) {

        rc = NGX_DECLINED;

        for (k = 0; rc == NGX_DECLINED && k < n; k++) {
            rc = ngx_http_manta_redis_parsers[k](cf, rd, &args, &value[i]);
        }

        if (rc == NGX_ERROR) {
            return NGX_CONF_ERROR;
        }

        if (rc == NGX_DECLINED) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\"", &value[i]);
            return NGX_CONF_ERROR;
        }
    }

    if (args.name.len == 0 || rd->addr == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must have \"zone\" and \"server\" "
                           "parameters", &cmd->name);
        return NGX_CONF_ERROR;
    }

    rv = ngx_http_manta_redis_secure(cf, rd, &args);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    rd->zone = args.name;

    *rdp = rd;

    return NGX_CONF_OK;
}


/* "zone=", "server=", "prefix=" and "fleet=": where the buckets live */

static ngx_int_t
ngx_http_manta_redis_parse_server(ngx_conf_t *cf, ngx_http_manta_redis_t *rd,
    ngx_http_manta_redis_args_t *args, ngx_str_t *v)
{
    ngx_str_t  s;
    ngx_url_t  u;

    if (ngx_http_manta_redis_arg(v, "zone=", &args->name)) {
        return NGX_OK;
    }

    if (ngx_http_manta_redis_arg(v, "server=", &s)) {
        ngx_memzero(&u, sizeof(ngx_url_t));

        u.url = s;
        u.default_port = 6379;
        u.no_resolve = 0;

        if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.naddrs == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid server \"%V\"%s%s: give "
                               "HOST:PORT", v,
                               u.err ? ": " : "", u.err ? u.err : "");
            return NGX_ERROR;
        }

        rd->addr = &u.addrs[0];
        rd->server = u.addrs[0].name;
        args->host = u.host;
        return NGX_OK;
    }

    if (ngx_http_manta_redis_arg(v, "fleet=", &s)) {
        return ngx_http_manta_redis_number(cf, v, &s, 0, 1, 10000,
                                           &rd->fleet,
                                           "give the number of gateways, "
                                           "1 to 10000");
    }

    if (ngx_http_manta_redis_arg(v, "prefix=", &rd->prefix)) {

        if (rd->prefix.len > 64) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%V\" is too long: at most 64 bytes", v);
            return NGX_ERROR;
        }

        return NGX_OK;
    }

    return NGX_DECLINED;
}


/* "password_file=", "username=" and "db=": sent on connect */

static ngx_int_t
ngx_http_manta_redis_parse_auth(ngx_conf_t *cf, ngx_http_manta_redis_t *rd,
    ngx_http_manta_redis_args_t *args, ngx_str_t *v)
{
    ngx_str_t  s;

    if (ngx_http_manta_redis_arg(v, "password_file=", &args->file)) {
        return NGX_OK;
    }

    if (ngx_http_manta_redis_arg(v, "username=", &rd->username)) {
        return ngx_http_manta_redis_empty(cf, &rd->username,
                                          "empty \"username=\": "
                                          "name the ACL user");
    }

    if (ngx_http_manta_redis_arg(v, "db=", &s)) {
        return ngx_http_manta_redis_number(cf, v, &s, 0, 0, 1000000,
                                           &rd->db,
                                           "give a database number");
    }

    return NGX_DECLINED;
}


/*
 * "timeout=" and "fallback=": how long a request waits, and then what;
 * "fails=" and "probe=": when the circuit opens, how often it is tried
 */

static ngx_int_t
ngx_http_manta_redis_parse_timeout(ngx_conf_t *cf,
    ngx_http_manta_redis_t *rd, ngx_http_manta_redis_args_t *args,
    ngx_str_t *v)
{
    ngx_str_t  s;

    if (ngx_http_manta_redis_arg(v, "timeout=", &s)) {
        return ngx_http_manta_redis_number(cf, v, &s, 1, 1,
                                           NGX_MAX_INT_T_VALUE, &rd->timeout,
                                           "give a time such as \"20ms\"");
    }

    if (ngx_http_manta_redis_arg(v, "fallback=", &s)) {
        return ngx_http_manta_redis_enum(cf, v, &s,
                                         ngx_http_manta_redis_fallbacks,
                                         &rd->fallback,
                                         "give \"local\", \"allow\" or "
                                         "\"deny\"");
    }

    if (ngx_http_manta_redis_arg(v, "fails=", &s)) {
        return ngx_http_manta_redis_number(cf, v, &s, 0, 1, 1000,
                                           &rd->fails,
                                           "give the number of consecutive "
                                           "failures that open the circuit, "
                                           "1 to 1000");
    }

    if (ngx_http_manta_redis_arg(v, "probe=", &s)) {
        return ngx_http_manta_redis_number(cf, v, &s, 1, 1,
                                           NGX_MAX_INT_T_VALUE, &rd->probe,
                                           "give the time between two "
                                           "probes of an open circuit, more "
                                           "than 0, such as \"1s\"");
    }

    return NGX_DECLINED;
}


/*
 * "tls", "tls_trusted_certificate=", "tls_verify=", "tls_verify_depth="
 * and "tls_name="; the "tls_..." ones are checked against "tls" later
 */

static ngx_int_t
ngx_http_manta_redis_parse_tls(ngx_conf_t *cf, ngx_http_manta_redis_t *rd,
    ngx_http_manta_redis_args_t *args, ngx_str_t *v)
{
    ngx_int_t   rc;
    ngx_str_t   s;
    ngx_uint_t  on;

    if (ngx_strcmp(v->data, "tls") == 0) {
        args->tls = 1;
        return NGX_OK;
    }

    if (ngx_http_manta_redis_arg(v, "tls_trusted_certificate=",
                                 &args->trusted))
    {
        rc = ngx_http_manta_redis_empty(cf, &args->trusted,
                                        "empty \"tls_trusted_certificate=\""
                                        ": name the file of the CA "
                                        "certificates");

    } else if (ngx_http_manta_redis_arg(v, "tls_verify=", &s)) {
        on = rd->tls_verify;
        rc = ngx_http_manta_redis_enum(cf, v, &s, ngx_http_manta_redis_flags,
                                       &on, "give \"on\" or \"off\"");
        rd->tls_verify = on;

    } else if (ngx_http_manta_redis_arg(v, "tls_verify_depth=", &s)) {
        rc = ngx_http_manta_redis_number(cf, v, &s, 0, 1, 100,
                                         &args->depth,
                                         "give the length of the "
                                         "certificate chain, 1 to 100");

    } else if (ngx_http_manta_redis_arg(v, "tls_name=", &rd->tls_name)) {
        rc = ngx_http_manta_redis_empty(cf, &rd->tls_name,
                                        "empty \"tls_name=\": give the "
                                        "name in the certificate of Redis");

    } else {
        return NGX_DECLINED;
    }

    args->tls_opts = 1;

    return rc;
}


/* "NAME=VALUE": 1 and the value when v is the parameter NAME, else 0 */

static ngx_uint_t
ngx_http_manta_redis_arg(ngx_str_t *v, char *name, ngx_str_t *value)
{
    size_t  len;

    len = ngx_strlen(name);

    if (v->len < len || ngx_strncmp(v->data, name, len) != 0) {
        return 0;
    }

    value->data = v->data + len;
    value->len = v->len - len;

    return 1;
}


/*
 * The value s of the parameter v, a number (ngx_atoi) or a time in
 * milliseconds (ngx_parse_time), from min to max into *value; NGX_ERROR
 * with "invalid "v": give" logged otherwise.
 */

static ngx_int_t
ngx_http_manta_redis_number(ngx_conf_t *cf, ngx_str_t *v, ngx_str_t *s,
    ngx_uint_t time, ngx_int_t min, ngx_int_t max, ngx_uint_t *value,
    char *give)
{
    ngx_int_t  n;

    n = time ? ngx_parse_time(s, 0) : ngx_atoi(s->data, s->len);

    if (n == NGX_ERROR || n < min || n > max) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid \"%V\": %s",
                           v, give);
        return NGX_ERROR;
    }

    *value = n;

    return NGX_OK;
}


/* the same for one of the names of e, its value stored in *value */

static ngx_int_t
ngx_http_manta_redis_enum(ngx_conf_t *cf, ngx_str_t *v, ngx_str_t *s,
    ngx_conf_enum_t *e, ngx_uint_t *value, char *give)
{
    for ( /* void */ ; e->name.len; e++) {
        if (e->name.len == s->len
            && ngx_strncmp(e->name.data, s->data, s->len) == 0)
        {
            *value = e->value;
            return NGX_OK;
        }
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid \"%V\": %s", v, give);

    return NGX_ERROR;
}


/* NGX_OK for a value that is not empty, else NGX_ERROR with msg logged */

static ngx_int_t
ngx_http_manta_redis_empty(ngx_conf_t *cf, ngx_str_t *value, char *msg)
{
    if (value->len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s", msg);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Once every parameter is read: the password file and its user, then the
 * TLS context ("tls_name=" defaults to the host of "server=").
 */

static char *
ngx_http_manta_redis_secure(ngx_conf_t *cf, ngx_http_manta_redis_t *rd,
    ngx_http_manta_redis_args_t *args)
{
    char       *rv;
    ngx_str_t  *host;

    if (rd->username.len && args->file.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"username=\" needs \"password_file=\"");
        return NGX_CONF_ERROR;
    }

    if (args->file.len) {
        rv = ngx_http_manta_redis_password(cf, rd, &args->file);
        if (rv != NGX_CONF_OK) {
            return rv;
        }
    }

    if (!args->tls && args->tls_opts) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "the \"tls_...\" parameters need \"tls\"");
        return NGX_CONF_ERROR;
    }

    if (!args->tls) {
        return NGX_CONF_OK;
    }

    if (rd->tls_name.len == 0) {
        host = &args->host;
        rd->tls_name = *host;

        if (host->len > 2 && host->data[0] == '[') {
            /* an IPv6 address */
            rd->tls_name.data = host->data + 1;
            rd->tls_name.len = host->len - 2;
        }
    }

    return ngx_http_manta_redis_tls(cf, rd, &args->trusted,
                                    (ngx_int_t) args->depth);
}


/*
 * "tls": the client context, from nginx's OpenSSL as proxy_ssl makes it;
 * verification on unless "tls_verify=off", and then a CA file is due
 */

static char *
ngx_http_manta_redis_tls(ngx_conf_t *cf, ngx_http_manta_redis_t *rd,
    ngx_str_t *trusted, ngx_int_t depth)
{
#if (NGX_SSL)
    u_char              *p;
    ngx_pool_cleanup_t  *cln;

    if (rd->tls_verify && trusted->len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"tls\" verifies the certificate of Redis: give "
                           "\"tls_trusted_certificate=FILE\" (the CA that "
                           "signed it), or \"tls_verify=off\" to encrypt "
                           "without knowing who answers");
        return NGX_CONF_ERROR;
    }

    /* NUL-terminated, for SNI and X509_check_ip_asc() */

    p = ngx_pnalloc(cf->pool, rd->tls_name.len + 1);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(p, rd->tls_name.data, rd->tls_name.len);
    p[rd->tls_name.len] = '\0';
    rd->tls_name.data = p;

    rd->tls_ip = (ngx_inet_addr(p, rd->tls_name.len) != INADDR_NONE);

#if (NGX_HAVE_INET6)
    {
        u_char  addr6[16];

        if (ngx_inet6_addr(p, rd->tls_name.len, addr6) == NGX_OK) {
            rd->tls_ip = 1;
        }
    }
#endif

    rd->ssl = ngx_pcalloc(cf->pool, sizeof(ngx_ssl_t));
    if (rd->ssl == NULL) {
        return NGX_CONF_ERROR;
    }

    rd->ssl->log = cf->log;

    if (ngx_ssl_create(rd->ssl, NGX_SSL_TLSv1_2|NGX_SSL_TLSv1_3, NULL)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        ngx_ssl_cleanup_ctx(rd->ssl);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_ssl_cleanup_ctx;
    cln->data = rd->ssl;

    if (rd->tls_verify
        && ngx_ssl_trusted_certificate(cf, rd->ssl, trusted, depth)
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;

#else

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"tls\" needs an nginx built with OpenSSL "
                       "(--with-http_ssl_module)");
    return NGX_CONF_ERROR;

#endif
}


/* 1 when a request waits for a reply on the connection */

static ngx_uint_t
ngx_http_manta_redis_waited(ngx_http_manta_redis_t *rd)
{
    ngx_queue_t                *q;
    ngx_http_manta_redis_op_t  *op;

    for (q = ngx_queue_head(&rd->pending);
         q != ngx_queue_sentinel(&rd->pending);
         q = ngx_queue_next(q))
    {
        op = ngx_queue_data(q, ngx_http_manta_redis_op_t, queue);

        if (op->r && op->timer.timer_set) {
            return 1;
        }
    }

    return 0;
}


/* the worker exits: what the connection allocated is freed */

static void
ngx_http_manta_redis_exit(void *data)
{
    ngx_http_manta_redis_t  *rd = data;

    ngx_queue_t                *q;
    ngx_http_manta_redis_op_t  *op;

    while (!ngx_queue_empty(&rd->pending)) {
        q = ngx_queue_head(&rd->pending);
        ngx_queue_remove(q);
        op = ngx_queue_data(q, ngx_http_manta_redis_op_t, queue);
        ngx_http_manta_redis_free(op);
    }

    while (!ngx_queue_empty(&rd->free)) {
        q = ngx_queue_head(&rd->free);
        ngx_queue_remove(q);
        op = ngx_queue_data(q, ngx_http_manta_redis_op_t, queue);

        if (op->cmd) {
            ngx_free(op->cmd);
        }

        ngx_free(op);
    }

    if (rd->reader) {
        manta_redis_reader_free(rd->reader);
        rd->reader = NULL;
    }

    if (rd->out) {
        ngx_free(rd->out);
        rd->out = NULL;
    }
}


/* the password: the file's first line, read once at configuration */

static char *
ngx_http_manta_redis_password(ngx_conf_t *cf, ngx_http_manta_redis_t *rd,
    ngx_str_t *file)
{
    u_char           *buf, *p;
    ssize_t           n;
    ngx_fd_t          fd;
    ngx_str_t         name;
    ngx_file_info_t   fi;

    name = *file;

    if (ngx_conf_full_name(cf->cycle, &name, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    fd = ngx_open_file(name.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "cannot open password_file \"%V\"", &name);
        return NGX_CONF_ERROR;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR
        || ngx_file_size(&fi) > 4096)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "password_file \"%V\" is not a file of at most "
                           "4096 bytes", &name);
        (void) ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    buf = ngx_pnalloc(cf->pool, 4097);
    if (buf == NULL) {
        (void) ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    n = ngx_read_fd(fd, buf, 4096);

    (void) ngx_close_file(fd);

    if (n < 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "cannot read password_file \"%V\"", &name);
        return NGX_CONF_ERROR;
    }

    for (p = buf; p < buf + n && *p != '\n' && *p != '\r'; p++) {
        /* void */
    }

    if (p == buf) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "password_file \"%V\" is empty: write the "
                           "password on its first line", &name);
        return NGX_CONF_ERROR;
    }

    rd->password.data = buf;
    rd->password.len = p - buf;

    return NGX_CONF_OK;
}
