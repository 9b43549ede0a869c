/*
 * Copyright (C) ngx_http_manta_module authors
 */


#ifndef _NGX_HTTP_MANTA_LIMIT_H_INCLUDED_
#define _NGX_HTTP_MANTA_LIMIT_H_INCLUDED_


#include "ngx_http_manta_module.h"
#include "ngx_http_manta_redis.h"


/* the per-bot limit zone: manta_limit_zone, manta_limit */

ngx_int_t ngx_http_manta_limit_account(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx);
ngx_int_t ngx_http_manta_limit_decide(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx);
ngx_int_t ngx_http_manta_limit_response(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx);
ngx_int_t ngx_http_manta_limit_policy(ngx_pool_t *pool,
    ngx_shm_zone_t *shm_zone, ngx_uint_t rate, ngx_str_t *policy);
ngx_int_t ngx_http_manta_limit_merge(ngx_conf_t *cf,
    ngx_http_manta_loc_conf_t *conf);
ngx_int_t ngx_http_manta_limit_evictions(ngx_shm_zone_t *shm_zone,
    ngx_uint_t *evictions);
char *ngx_http_manta_limit_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_manta_limit(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_manta_limit_redis(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


#endif /* _NGX_HTTP_MANTA_LIMIT_H_INCLUDED_ */
