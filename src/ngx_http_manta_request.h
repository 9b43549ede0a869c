/*
 * Copyright (C) ngx_http_manta_module authors
 */


#ifndef _NGX_HTTP_MANTA_REQUEST_H_INCLUDED_
#define _NGX_HTTP_MANTA_REQUEST_H_INCLUDED_


#include "ngx_http_manta_module.h"


/* the request path: checks, limit, rewrite for upstream */

ngx_int_t ngx_http_manta_request_init(ngx_conf_t *cf);

/* the limit's decision came (from Redis, or its fallback): go on */


#endif /* _NGX_HTTP_MANTA_REQUEST_H_INCLUDED_ */
