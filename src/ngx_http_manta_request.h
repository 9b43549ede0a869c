/*
 * Copyright (C) ngx_http_manta_module authors
 */


#ifndef _NGX_HTTP_MANTA_REQUEST_H_INCLUDED_
#define _NGX_HTTP_MANTA_REQUEST_H_INCLUDED_


#include "ngx_http_manta_module.h"


/* the request path: checks, limit, rewrite for upstream */

ngx_int_t ngx_http_manta_request_init(ngx_conf_t *cf);

/* a location's rules as manta_plan.h takes them */
void ngx_http_manta_plan_conf(ngx_http_manta_loc_conf_t *mlcf,
    manta_plan_conf_t *conf);

/* the limit's decision came (from Redis, or its fallback): go on */


#endif /* _NGX_HTTP_MANTA_REQUEST_H_INCLUDED_ */
