/*
 * Copyright (C) ngx_http_manta_module authors
 */


#ifndef _NGX_HTTP_MANTA_REDIS_H_INCLUDED_
#define _NGX_HTTP_MANTA_REDIS_H_INCLUDED_


#include "ngx_http_manta_module.h"
#include "manta_redis.h"


#define NGX_HTTP_MANTA_REDIS_LOCAL  0
#define NGX_HTTP_MANTA_REDIS_ALLOW  1
#define NGX_HTTP_MANTA_REDIS_DENY   2


/* the circuit breaker of a zone, in its shared memory */

typedef struct {
    ngx_atomic_t                failures;   /* consecutive */
    ngx_atomic_t                open;
    ngx_atomic_t                probe;      /* ms: the next probe, open */
} ngx_http_manta_redis_breaker_t;


typedef struct ngx_http_manta_redis_s  ngx_http_manta_redis_t;

/* res NULL: Redis did not answer in time, take the fallback */
typedef void (*ngx_http_manta_redis_handler_pt)(ngx_http_request_t *r,
    manta_redis_result_t *res);


struct ngx_http_manta_redis_s {
    ngx_str_t                   zone;
    ngx_str_t                   server;
    ngx_addr_t                 *addr;
    ngx_str_t                   username;
    ngx_str_t                   password;     /* never logged */
    ngx_uint_t                  db;
    ngx_msec_t                  timeout;
    ngx_uint_t                  fallback;
    ngx_uint_t                  fleet;
    ngx_uint_t                  fails;        /* that open the circuit */
    ngx_msec_t                  probe;        /* between probes, open */
    ngx_str_t                   prefix;

#if (NGX_SSL)
    ngx_ssl_t                  *ssl;          /* tls; NULL: plaintext */
#endif
    ngx_str_t                   tls_name;     /* NUL-terminated */
    unsigned                    tls_verify:1;
    unsigned                    tls_ip:1;     /* tls_name is an address */

    /* the worker's own connection */
    ngx_peer_connection_t       pc;
    void                       *reader;       /* redisReader */
    ngx_queue_t                 pending;      /* sent, in order */
    ngx_queue_t                 free;
    u_char                     *out;
    size_t                      out_len;
    size_t                      out_size;
    ngx_msec_t                  retry_at;     /* no reconnect before */
    ngx_msec_t                  backoff;
    ngx_http_manta_redis_breaker_t  *br;      /* of the connection */
    unsigned                    connected:1;
    unsigned                    handshaking:1;  /* TLS: nothing sent yet */
    unsigned                    inited:1;
};


/*
 * Parses "manta_limit_redis" into *rdp (zone holds the zone's name); the
 * limit zone attaches it (ngx_http_manta_limit_redis()).
 */
char *ngx_http_manta_redis_create(ngx_conf_t *cf, ngx_command_t *cmd,
    ngx_http_manta_redis_t **rdp);

/*
 * Asks Redis for the decision on one request, charged with the arguments
 * of manta_redis_take_args(): NGX_AGAIN when the request is parked
 * (handler is called once, with the answer or NULL after the timeout),
 * NGX_DECLINED when Redis cannot be asked now (circuit open, no
 * connection): take the fallback.
 */
ngx_int_t ngx_http_manta_redis_take(ngx_http_manta_redis_t *rd,
    ngx_http_manta_redis_breaker_t *br, ngx_http_request_t *r,
    manta_redis_key_t *key, ngx_str_t *args,
    ngx_http_manta_redis_handler_pt handler);

/* blocks the bot fleet-wide for "seconds"; nobody waits for the answer */
void ngx_http_manta_redis_backoff(ngx_http_manta_redis_t *rd,
    ngx_http_manta_redis_breaker_t *br, manta_redis_key_t *key,
    unsigned seconds);


#endif /* _NGX_HTTP_MANTA_REDIS_H_INCLUDED_ */
