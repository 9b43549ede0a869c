/*
 * Copyright (C) ngx_http_manta_module authors
 */


#ifndef _NGX_HTTP_MANTA_FILTER_H_INCLUDED_
#define _NGX_HTTP_MANTA_FILTER_H_INCLUDED_


#include "ngx_http_manta_module.h"


/* the response filters: redaction, errors, RateLimit headers */

ngx_int_t ngx_http_manta_filter_init(ngx_conf_t *cf);


#endif /* _NGX_HTTP_MANTA_FILTER_H_INCLUDED_ */
