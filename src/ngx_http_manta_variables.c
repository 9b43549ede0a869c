/*
 * Copyright (C) ngx_http_manta_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_manta_module.h"
#include "ngx_http_manta_variables.h"
#include "ngx_http_manta_version.h"


static ngx_int_t ngx_http_manta_ctx_str_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_manta_reject_reason_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_manta_token_id_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_manta_limit_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_manta_error_rewritten_variable(
    ngx_http_request_t *r, ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_manta_version_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_manta_authorization_variable(
    ngx_http_request_t *r, ngx_http_variable_value_t *v, uintptr_t data);
static ngx_http_manta_ctx_t *ngx_http_manta_variable_ctx(
    ngx_http_request_t *r, ngx_http_variable_value_t *v);
static void ngx_http_manta_set_variable(ngx_http_variable_value_t *v,
    u_char *data, size_t len);


static ngx_http_variable_t  ngx_http_manta_vars[] = {

    { ngx_string("manta_bot_id"), NULL,
      ngx_http_manta_ctx_str_variable,
      offsetof(ngx_http_manta_ctx_t, bot_id), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    /* the caller id that manta_caller gave and the "callers" map accepted */

    { ngx_string("manta_caller"), NULL,
      ngx_http_manta_ctx_str_variable,
      offsetof(ngx_http_manta_ctx_t, caller_id), NGX_HTTP_VAR_NOCACHEABLE,
      0 },

    { ngx_string("manta_reject_reason"), NULL,
      ngx_http_manta_reject_reason_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("manta_token_id"), NULL,
      ngx_http_manta_token_id_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("manta_limit_status"), NULL,
      ngx_http_manta_limit_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("manta_limit_source"), NULL,
      ngx_http_manta_limit_variable, 1, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("manta_error_rewritten"), NULL,
      ngx_http_manta_error_rewritten_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("manta_version"), NULL,
      ngx_http_manta_version_variable, 0, 0, 0 },

    /*
     * as nginx's own $http_authorization, which reads the request's header
     * list; a forwarded request's list holds the server's header instead
     * of the caller's, r->headers_in.authorization keeps the caller's
     */

    { ngx_string("http_authorization"), NULL,
      ngx_http_manta_authorization_variable, 0, 0, 0 },

      ngx_http_null_variable
};


/* an ngx_str_t of the request's ctx, data its offset */

static ngx_int_t
ngx_http_manta_ctx_str_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t             *s;
    ngx_http_manta_ctx_t  *ctx;

    ctx = ngx_http_manta_variable_ctx(r, v);

    if (ctx) {
        s = (ngx_str_t *) ((char *) ctx + data);
        ngx_http_manta_set_variable(v, s->data, s->len);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_manta_reject_reason_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    const char            *code;
    ngx_http_manta_ctx_t  *ctx;

    ctx = ngx_http_manta_variable_ctx(r, v);

    if (ctx) {
        code = manta_reason_code(ctx->reason);
        ngx_http_manta_set_variable(v, (u_char *) code, ngx_strlen(code));
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_manta_token_id_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_manta_ctx_t  *ctx;

    ctx = ngx_http_manta_variable_ctx(r, v);

    if (ctx && ctx->cred) {
        ngx_http_manta_set_variable(v, (u_char *) ctx->cred->token_id,
                                    MANTA_TOKEN_ID_LEN);
    }

    return NGX_OK;
}


static ngx_str_t  ngx_http_manta_limit_statuses[] = {
    ngx_null_string,
    ngx_string("PASSED"),
    ngx_string("DELAYED"),
    ngx_string("REJECTED"),
    ngx_string("DELAYED_DRY_RUN"),
    ngx_string("REJECTED_DRY_RUN"),
    ngx_string("BACKOFF")
};


/* who decided: the values of NGX_HTTP_MANTA_SOURCE_* */

static ngx_str_t  ngx_http_manta_limit_sources[] = {
    ngx_null_string,
    ngx_string("local"),
    ngx_string("redis"),
    ngx_string("fallback"),
    ngx_string("cached")
};


/*
 * $manta_limit_status (data 0) and $manta_limit_source (data 1): the name
 * of the limit's decision and of who took it, none without a decision
 */

static ngx_int_t
ngx_http_manta_limit_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t             *s;
    ngx_http_manta_ctx_t  *ctx;

    ctx = ngx_http_manta_variable_ctx(r, v);

    if (ctx && ctx->limit_status) {
        s = data ? &ngx_http_manta_limit_sources[ctx->limit_source]
                 : &ngx_http_manta_limit_statuses[ctx->limit_status];
        ngx_http_manta_set_variable(v, s->data, s->len);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_manta_error_rewritten_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_manta_ctx_t  *ctx;

    ctx = ngx_http_manta_get_ctx(r->main);

    if (ctx && ctx->error_rewritten) {
        ngx_http_manta_set_variable(v, (u_char *) "1", 1);

    } else {
        ngx_http_manta_set_variable(v, (u_char *) "0", 1);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_manta_version_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_manta_set_variable(v, (u_char *) NGX_HTTP_MANTA_VERSION,
                                sizeof(NGX_HTTP_MANTA_VERSION) - 1);

    return NGX_OK;
}


static ngx_int_t
ngx_http_manta_authorization_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_table_elt_t  *h;

    h = r->headers_in.authorization;

    if (h == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->len = h->value.len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->data = h->value.data;

    return NGX_OK;
}


/*
 * The request's ctx (or NULL), the variable not found until a value is
 * set: every path without a value leaves it so.
 */

static ngx_http_manta_ctx_t *
ngx_http_manta_variable_ctx(ngx_http_request_t *r,
    ngx_http_variable_value_t *v)
{
    v->not_found = 1;

    return ngx_http_manta_get_ctx(r->main);
}


static void
ngx_http_manta_set_variable(ngx_http_variable_value_t *v, u_char *data,
    size_t len)
{
    if (len == 0) {
        /* logged as "-", as nginx does for an empty module variable */
        v->not_found = 1;
        return;
    }

    v->len = len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->data = data;
}


ngx_int_t
ngx_http_manta_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_manta_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}
