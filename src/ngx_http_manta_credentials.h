/*
 * Copyright (C) ngx_http_manta_module authors
 */


#ifndef _NGX_HTTP_MANTA_CREDENTIALS_H_INCLUDED_
#define _NGX_HTTP_MANTA_CREDENTIALS_H_INCLUDED_


#include "ngx_http_manta_module.h"


/* the credentials file: manta_credentials, token expiry */

char *ngx_http_manta_credentials(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
void ngx_http_manta_token_expiry_check(ngx_conf_t *cf,
    ngx_http_manta_creds_t *mc, time_t window);
void ngx_http_manta_token_expired_log(ngx_http_request_t *r,
    const manta_cred_t *cred);


#endif /* _NGX_HTTP_MANTA_CREDENTIALS_H_INCLUDED_ */
