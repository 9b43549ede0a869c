/*
 * Copyright (C) ngx_http_manta_module authors
 */


#ifndef _NGX_HTTP_MANTA_STATUS_H_INCLUDED_
#define _NGX_HTTP_MANTA_STATUS_H_INCLUDED_


#include "ngx_http_manta_module.h"


/* the counters and the status page: manta_status_zone, manta_status */

void ngx_http_manta_status_count(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx);
ngx_int_t ngx_http_manta_status_init(ngx_conf_t *cf);
char *ngx_http_manta_status_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_manta_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);


#endif /* _NGX_HTTP_MANTA_STATUS_H_INCLUDED_ */
