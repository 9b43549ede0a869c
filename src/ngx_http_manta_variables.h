/*
 * Copyright (C) ngx_http_manta_module authors
 */


#ifndef _NGX_HTTP_MANTA_VARIABLES_H_INCLUDED_
#define _NGX_HTTP_MANTA_VARIABLES_H_INCLUDED_


#include "ngx_http_manta_module.h"


/* $manta_* variables, $http_authorization */

ngx_int_t ngx_http_manta_add_variables(ngx_conf_t *cf);


#endif /* _NGX_HTTP_MANTA_VARIABLES_H_INCLUDED_ */
