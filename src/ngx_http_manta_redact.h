/*
 * Copyright (C) ngx_http_manta_module authors
 */


#ifndef _NGX_HTTP_MANTA_REDACT_H_INCLUDED_
#define _NGX_HTTP_MANTA_REDACT_H_INCLUDED_


#include "ngx_http_manta_module.h"
#include "manta_error.h"


/*
 * What the upstream's response may carry to the caller: its headers
 * without the token or the secret, a final status only, its body masked.
 */

void ngx_http_manta_redact_headers(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx);
ngx_int_t ngx_http_manta_final_response(ngx_http_request_t *r);
ngx_int_t ngx_http_manta_mask_start(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx);
ngx_chain_t *ngx_http_manta_mask_body(ngx_http_request_t *r,
    ngx_http_manta_ctx_t *ctx, ngx_chain_t *in);


#endif /* _NGX_HTTP_MANTA_REDACT_H_INCLUDED_ */
