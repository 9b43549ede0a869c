/*
 * Copyright (C) ngx_http_manta_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_manta_module.h"
#include "ngx_http_manta_credentials.h"
#include "ngx_http_manta_request.h"
#include "ngx_http_manta_filter.h"
#include "ngx_http_manta_limit.h"
#include "ngx_http_manta_redis.h"
#include "ngx_http_manta_variables.h"
#include "ngx_http_manta_status.h"
#include "manta_util.h"


#define NGX_HTTP_MANTA_BOT_ID_PATTERN  MANTA_RE_BOT_ID


/*
 * A directive of another module whose handler is wrapped while the http
 * block is parsed, to learn what a gateway location holds: see
 * ngx_http_manta_hooks_install().
 */

typedef struct {
    char                      *module;
    char                      *command;
    void                     (*record)(ngx_conf_t *cf,
                                       ngx_http_manta_loc_conf_t *mlcf);
    ngx_command_t             *cmd;
    char                    *(*set)(ngx_conf_t *cf, ngx_command_t *cmd,
                                    void *conf);
} ngx_http_manta_hook_t;


static void ngx_http_manta_cleanup(void *data);
static ngx_int_t ngx_http_manta_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_manta_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_manta_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_manta_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_manta_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_manta_merge_limit(ngx_conf_t *cf,
    ngx_http_manta_loc_conf_t *prev, ngx_http_manta_loc_conf_t *conf);
static char *ngx_http_manta_pattern(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static manta_re_t *ngx_http_manta_compile(ngx_conf_t *cf, ngx_str_t *value,
    int flags);
static void ngx_http_manta_re_cleanup(void *data);
static char *ngx_http_manta_set_pos(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_manta_zone_size(ngx_conf_t *cf, ngx_str_t *arg,
    ngx_str_t *name, ssize_t *size);
static void ngx_http_manta_conf_pos(ngx_conf_t *cf,
    ngx_http_manta_conf_pos_t *pos);
static char *ngx_http_manta_check_gateway(ngx_conf_t *cf,
    ngx_http_manta_loc_conf_t *conf);
static char *ngx_http_manta_check_location(ngx_conf_t *cf,
    ngx_http_manta_loc_conf_t *conf, ngx_http_core_loc_conf_t *clcf);
static char *ngx_http_manta_check_upstream(ngx_conf_t *cf,
    ngx_http_manta_loc_conf_t *conf);
#if (NGX_HTTP_SSL || NGX_COMPAT)
static char *ngx_http_manta_check_upstream_tls(ngx_conf_t *cf,
    ngx_http_manta_loc_conf_t *conf, ngx_http_upstream_conf_t *ucf);
#endif
static char *ngx_http_manta_check_mirror(ngx_conf_t *cf,
    ngx_http_manta_loc_conf_t *conf);
static char *ngx_http_manta_check_proxy(ngx_conf_t *cf,
    ngx_http_manta_loc_conf_t *conf);
static void ngx_http_manta_check_debug(ngx_conf_t *cf,
    ngx_http_manta_loc_conf_t *conf);
static ngx_module_t *ngx_http_manta_find_module(ngx_cycle_t *cycle,
    char *name);
static ngx_int_t ngx_http_manta_hooks_install(ngx_conf_t *cf);
static void ngx_http_manta_hooks_restore(void *data);
static char *ngx_http_manta_hook(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void ngx_http_manta_hook_proxy_pass(ngx_conf_t *cf,
    ngx_http_manta_loc_conf_t *mlcf);
static void ngx_http_manta_hook_error_page(ngx_conf_t *cf,
    ngx_http_manta_loc_conf_t *mlcf);
static void ngx_http_manta_hook_mirror(ngx_conf_t *cf,
    ngx_http_manta_loc_conf_t *mlcf);
static void ngx_http_manta_hook_set_header(ngx_conf_t *cf,
    ngx_http_manta_loc_conf_t *mlcf);
static void ngx_http_manta_hook_set_body(ngx_conf_t *cf,
    ngx_http_manta_loc_conf_t *mlcf);
static void ngx_http_manta_hook_method(ngx_conf_t *cf,
    ngx_http_manta_loc_conf_t *mlcf);
static void ngx_http_manta_hook_pass_request(ngx_conf_t *cf,
    ngx_http_manta_loc_conf_t *mlcf);
static void ngx_http_manta_proxy_set(ngx_conf_t *cf,
    ngx_http_manta_proxy_set_t *set, ngx_str_t *value);


static ngx_conf_enum_t  ngx_http_manta_endpoint_values[] = {
    { ngx_string("off"), NGX_HTTP_MANTA_OFF },
    { ngx_string("client_tag"), NGX_HTTP_MANTA_CLIENT_TAG },
    { ngx_null_string, 0 }
};


static ngx_conf_enum_t  ngx_http_manta_unknown_fields[] = {
    { ngx_string("reject"), MANTA_UNKNOWN_FIELDS_REJECT },
    { ngx_string("drop"), MANTA_UNKNOWN_FIELDS_DROP },
    { ngx_null_string, 0 }
};


static ngx_conf_enum_t  ngx_http_manta_client_secret[] = {
    { ngx_string("reject"), MANTA_CLIENT_SECRET_REJECT },
    { ngx_string("replace"), MANTA_CLIENT_SECRET_REPLACE },
    { ngx_null_string, 0 }
};


static ngx_conf_num_bounds_t  ngx_http_manta_name_max_length_bounds = {
    ngx_conf_check_num_bounds, 1, 4096
};


static ngx_conf_enum_t  ngx_http_manta_limit_log_levels[] = {
    { ngx_string("info"), NGX_LOG_INFO },
    { ngx_string("notice"), NGX_LOG_NOTICE },
    { ngx_string("warn"), NGX_LOG_WARN },
    { ngx_string("error"), NGX_LOG_ERR },
    { ngx_null_string, 0 }
};


static ngx_conf_num_bounds_t  ngx_http_manta_limit_status_bounds = {
    ngx_conf_check_num_bounds, 400, 599
};


static ngx_command_t  ngx_http_manta_commands[] = {

    { ngx_string("manta_endpoint"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_manta_set_pos,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_manta_loc_conf_t, endpoint),
      &ngx_http_manta_endpoint_values },

    { ngx_string("manta_credentials"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_manta_credentials,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("manta_caller"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_manta_loc_conf_t, caller),
      NULL },

    { ngx_string("manta_bot_id_pattern"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_manta_pattern,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_manta_loc_conf_t, bot_id_re),
      NULL },

    { ngx_string("manta_name_max_length"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_manta_loc_conf_t, name_max_length),
      &ngx_http_manta_name_max_length_bounds },

    { ngx_string("manta_name_pattern"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_manta_pattern,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_manta_loc_conf_t, name_re),
      (void *) MANTA_RE_UTF },

    { ngx_string("manta_body_max_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_manta_loc_conf_t, body_max_size),
      NULL },

    { ngx_string("manta_unknown_fields"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_manta_loc_conf_t, unknown_fields),
      &ngx_http_manta_unknown_fields },

    { ngx_string("manta_client_secret"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_manta_loc_conf_t, client_secret),
      &ngx_http_manta_client_secret },

    { ngx_string("manta_errors"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_manta_loc_conf_t, errors),
      NULL },

    { ngx_string("manta_error_body_max"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_manta_loc_conf_t, error_body_max),
      NULL },

    { ngx_string("manta_limit_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_manta_limit_zone,
      0,
      0,
      NULL },

    { ngx_string("manta_limit_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_manta_limit_redis,
      0,
      0,
      NULL },

    { ngx_string("manta_limit"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE123,
      ngx_http_manta_set_pos,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("manta_limit_dry_run"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_manta_loc_conf_t, limit_dry_run),
      NULL },

    { ngx_string("manta_limit_log_level"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_manta_loc_conf_t, limit_log_level),
      &ngx_http_manta_limit_log_levels },

    { ngx_string("manta_limit_status"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_manta_loc_conf_t, limit_reject_code),
      &ngx_http_manta_limit_status_bounds },

    { ngx_string("manta_limit_headers"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_manta_loc_conf_t, limit_headers),
      NULL },

    { ngx_string("manta_upstream_backoff"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_manta_loc_conf_t, upstream_backoff),
      NULL },

    { ngx_string("manta_token_expiry_check"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_manta_loc_conf_t, token_expiry_check),
      NULL },

    { ngx_string("manta_token_expiry_warn"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_manta_loc_conf_t, token_expiry_warn),
      NULL },

    { ngx_string("manta_upstream_tls_verify"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_manta_loc_conf_t, upstream_tls_verify),
      NULL },

    { ngx_string("manta_status_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_manta_status_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("manta_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_manta_status,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


/*
 * Why a proxy directive at fault in a gateway location is refused, by
 * NGX_HTTP_MANTA_PROXY_* index
 */

static char  *ngx_http_manta_proxy_faults[] = {
    "the module sets Authorization (the server token) and the body's "
        "Content-Length itself: another value would send the caller's "
        "header upstream or cut the body",
    "it would forward its own body instead of the one the module "
        "validated and filled in",
    "the Manta API takes POST only",
    "the Authorization header with the server token would not be sent",
    "the body the module filled in would not be sent"
};


static ngx_http_module_t  ngx_http_manta_module_ctx = {
    ngx_http_manta_preconfiguration,       /* preconfiguration */
    ngx_http_manta_postconfiguration,      /* postconfiguration */

    ngx_http_manta_create_main_conf,       /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_manta_create_loc_conf,        /* create location configuration */
    ngx_http_manta_merge_loc_conf          /* merge location configuration */
};


static ngx_http_manta_hook_t  ngx_http_manta_hooks[] = {
    { "ngx_http_proxy_module", "proxy_pass",
      ngx_http_manta_hook_proxy_pass, NULL, NULL },
    { "ngx_http_core_module", "error_page",
      ngx_http_manta_hook_error_page, NULL, NULL },
    { "ngx_http_mirror_module", "mirror",
      ngx_http_manta_hook_mirror, NULL, NULL },
    { "ngx_http_proxy_module", "proxy_set_header",
      ngx_http_manta_hook_set_header, NULL, NULL },
    { "ngx_http_proxy_module", "proxy_set_body",
      ngx_http_manta_hook_set_body, NULL, NULL },
    { "ngx_http_proxy_module", "proxy_method",
      ngx_http_manta_hook_method, NULL, NULL },
    { "ngx_http_proxy_module", "proxy_pass_request_headers",
      ngx_http_manta_hook_pass_request, NULL, NULL },
    { "ngx_http_proxy_module", "proxy_pass_request_body",
      ngx_http_manta_hook_pass_request, NULL, NULL },
    { NULL, NULL, NULL, NULL, NULL }
};


ngx_module_t  ngx_http_manta_module = {
    NGX_MODULE_V1,
    &ngx_http_manta_module_ctx,            /* module context */
    ngx_http_manta_commands,               /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


ngx_uint_t  ngx_http_manta_limit_tag;
ngx_uint_t  ngx_http_manta_status_tag;


ngx_http_manta_ctx_t *
ngx_http_manta_create_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t    *cln;
    ngx_http_manta_ctx_t  *ctx;

    /* the members set before they are read stay as the pool has them */

    ctx = ngx_palloc(r->pool, sizeof(ngx_http_manta_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    ngx_memzero(ctx, NGX_HTTP_MANTA_CTX_ZEROED);

    ctx->request = r;
    ctx->status = NGX_DONE;

    /*
     * the pool's cleanup is the ctx's own, as ngx_pool_cleanup_add() would
     * link it: one allocation instead of two
     */

    cln = &ctx->cleanup;

    cln->handler = ngx_http_manta_cleanup;
    cln->data = ctx;
    cln->next = r->pool->cleanup;

    r->pool->cleanup = cln;

    ngx_http_set_ctx(r, ctx, ngx_http_manta_module);

    return ctx;
}


/*
 * The module context survives internal redirects (which clear r->ctx)
 * through its pool cleanup, as the realip module's does.
 */

ngx_http_manta_ctx_t *
ngx_http_manta_get_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t    *cln;
    ngx_http_manta_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_manta_module);

    if (ctx == NULL && (r->internal || r->filter_finalize)) {

        for (cln = r->pool->cleanup; cln; cln = cln->next) {
            if (cln->handler == ngx_http_manta_cleanup) {
                ctx = cln->data;

                if (ctx->request == r) {
                    ngx_http_set_ctx(r, ctx, ngx_http_manta_module);
                    break;
                }

                ctx = NULL;
            }
        }
    }

    return ctx;
}


/*
 * The forwarded body holds the secret, the proxy module's request header
 * buffer the token: both are wiped before the request's pool is freed.
 */

static void
ngx_http_manta_cleanup(void *data)
{
    ngx_http_manta_ctx_t  *ctx = data;

    ngx_buf_t           *b;
    ngx_chain_t         *cl;
    ngx_http_request_t  *r;

    if (ctx->body) {
        manta_wipe(ctx->body, ctx->body_len);
    }

    if (ctx->error_body) {
        /* upstream may have echoed the secret */
        manta_wipe(ctx->error_body, ctx->error_len);
    }

    r = ctx->request;

    if (ctx->log && ctx->log->wdata == ctx) {
        /* the connection's log outlives the request */
        ctx->log->writer = ctx->log_writer;
        ctx->log->wdata = ctx->log_wdata;
    }

    if (!ctx->forwarded || r->upstream == NULL) {
        return;
    }

    for (cl = r->upstream->request_bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (b->temporary && b->start && b->last > b->start) {
            manta_wipe(b->start, b->last - b->start);
        }
    }
}


/* a response header of the module's own */

ngx_int_t
ngx_http_manta_add_header(ngx_http_request_t *r, char *key, size_t key_len,
    u_char *value, size_t value_len)
{
    ngx_str_t  name;

    name.data = (u_char *) key;
    name.len = key_len;

    if (ngx_http_manta_push_header(&r->headers_out.headers, &name, NULL, 1,
                                   value, value_len)
        == NULL)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * The next entry of a header list named "name" (len bytes, any case) after
 * the walk's position, NULL when there is none; entries with a zero hash
 * (deleted) are passed over
 */

ngx_table_elt_t *
ngx_http_manta_walk_find(ngx_http_manta_walk_t *w, char *name, size_t len)
{
    ngx_table_elt_t  *h;

    for (h = ngx_http_manta_walk_next(w); h; h = ngx_http_manta_walk_next(w)) {

        if (h->hash && h->key.len == len
            && ngx_strncasecmp(h->key.data, (u_char *) name, len) == 0)
        {
            return h;
        }
    }

    return NULL;
}


/*
 * The one way the module sends a JSON body of its own (an ErrorResponse):
 * with its headers through the whole filter chain, or, from inside the
 * module's filters, through the filters after them (next_header and
 * next_body).  A subrequest's body is part of its parent's output.
 */

ngx_int_t
ngx_http_manta_send_json(ngx_http_request_t *r, ngx_str_t *json,
    ngx_http_output_header_filter_pt next_header,
    ngx_http_output_body_filter_pt next_body)
{
    u_char           *p, *last;
    ngx_int_t         rc;
    ngx_buf_t        *b;
    ngx_chain_t       out;
    ngx_table_elt_t  *h;

    static ngx_str_t  content_length = ngx_string("Content-Length");

    /*
     * Content-Length as a header field, as a proxied answer's is: nginx's
     * header filters send it as it is and do not format content_length_n
     * again (ngx_sprintf() is slow)
     */

    ngx_http_clear_content_length(r);

    p = ngx_pnalloc(r->pool, NGX_OFF_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    last = (u_char *) manta_uint((char *) p, json->len);

    h = ngx_http_manta_push_header(&r->headers_out.headers, &content_length,
                                   NULL, 1, p, last - p);
    if (h == NULL) {
        return NGX_ERROR;
    }

    r->headers_out.content_length = h;
    r->headers_out.content_length_n = json->len;

    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = sizeof("application/json") - 1;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.charset.len = 0;

    rc = next_header ? next_header(r) : ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    /* ngx_calloc_buf(), its zeroing of a known size inlined */

    b = ngx_palloc(r->pool, sizeof(ngx_buf_t));
    if (b == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(b, sizeof(ngx_buf_t));

    b->pos = json->data;
    b->last = json->data + json->len;
    b->start = b->pos;
    b->end = b->last;
    b->memory = json->len ? 1 : 0;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return next_body ? next_body(r, &out) : ngx_http_output_filter(r, &out);
}


static ngx_int_t
ngx_http_manta_preconfiguration(ngx_conf_t *cf)
{
    ngx_module_t                *m;
    ngx_http_manta_main_conf_t  *mmcf;

    /* once per process, before any json_t exists: hash-flooding */
    manta_init();

    mmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_manta_module);

    m = ngx_http_manta_find_module(cf->cycle, "ngx_http_proxy_module");
    mmcf->proxy_index = m ? (ngx_int_t) m->ctx_index : -1;

    m = ngx_http_manta_find_module(cf->cycle, "ngx_http_mirror_module");
    mmcf->mirror_index = m ? (ngx_int_t) m->ctx_index : -1;

    if (ngx_http_manta_hooks_install(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_manta_add_variables(cf);
}


static ngx_int_t
ngx_http_manta_postconfiguration(ngx_conf_t *cf)
{
#if (NGX_DEBUG)
    void                        ***ecfs;
    ngx_event_conf_t              *ecf;
#endif
    ngx_http_manta_main_conf_t    *mmcf;

    /* the http block is parsed: the other modules' handlers are theirs */

    ngx_http_manta_hooks_restore(NULL);

    mmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_manta_module);

#if (NGX_DEBUG)

    /* the events block, when it comes before http as it usually does */

    ecfs = (void ***) ngx_get_conf(cf->cycle->conf_ctx, ngx_events_module);

    if (mmcf->gateways && ecfs && *ecfs) {
        ecf = (*ecfs)[ngx_event_core_module.ctx_index];

        if (ecf && ecf->debug_connection.nelts) {
            ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                          "\"debug_connection\" is set: the manta module "
                          "suppresses debug logging for requests in its "
                          "gateway locations, so their token and secret "
                          "are never logged; the first gateway location "
                          "in %V:%ui",
                          &mmcf->gateway_pos.file, mmcf->gateway_pos.line);
        }
    }

#endif

    if (ngx_http_manta_request_init(cf) != NGX_OK
        || ngx_http_manta_status_init(cf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_manta_filter_init(cf);
}


static void *
ngx_http_manta_create_main_conf(ngx_conf_t *cf)
{
    ngx_str_t                    pattern;
    ngx_http_manta_main_conf_t  *mmcf;

    mmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_manta_main_conf_t));
    if (mmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     mmcf->gateways = 0;
     *     mmcf->gateway_pos = { { 0, NULL }, 0 };
     */

    mmcf->proxy_index = -1;
    mmcf->mirror_index = -1;

    ngx_str_set(&pattern, NGX_HTTP_MANTA_BOT_ID_PATTERN);

    mmcf->default_bot_id_re = ngx_http_manta_compile(cf, &pattern, 0);
    if (mmcf->default_bot_id_re == NULL) {
        return NULL;
    }

    return mmcf;
}


static void *
ngx_http_manta_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_manta_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_manta_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->limit_policy = { 0, NULL };
     *     conf->limit_own = NULL;
     *     conf->limit_nown = 0;
     *     conf->limit_fresh = { 0, NULL };
     *     conf->limit_fresh_remaining = 0;
     *     conf->limit_fresh_reset = 0;
     *     conf->limit_burst = 0;
     *     conf->limit_delay = 0;
     *     conf->endpoint_pos = { { 0, NULL }, 0 };
     *     conf->limit_pos = { { 0, NULL }, 0 };
     *     conf->proxy_url = { 0, NULL };
     *     conf->proxy_pos = { { 0, NULL }, 0 };
     *     conf->proxy_handler = NULL;
     *     conf->mirror_pos = { { 0, NULL }, 0 };
     *     conf->proxy_set = { { { 0, NULL }, 0 }, { 0, NULL }, 0 }, ...;
     *     conf->proxy_pass = 0;
     *     conf->proxy_variables = 0;
     *     conf->proxy_https = 0;
     *     conf->error_page = 0;
     */

    conf->endpoint = NGX_CONF_UNSET_UINT;
    conf->creds = NGX_CONF_UNSET_PTR;
    conf->caller = NGX_CONF_UNSET_PTR;
    conf->bot_id_re = NGX_CONF_UNSET_PTR;
    conf->name_re = NGX_CONF_UNSET_PTR;
    conf->body_max_size = NGX_CONF_UNSET_SIZE;
    conf->name_max_length = NGX_CONF_UNSET_UINT;
    conf->unknown_fields = NGX_CONF_UNSET_UINT;
    conf->client_secret = NGX_CONF_UNSET_UINT;
    conf->token_expiry_check = NGX_CONF_UNSET;
    conf->errors = NGX_CONF_UNSET;
    conf->error_body_max = NGX_CONF_UNSET_SIZE;
    conf->limit_zone = NGX_CONF_UNSET_PTR;
    conf->limit_dry_run = NGX_CONF_UNSET;
    conf->limit_log_level = NGX_CONF_UNSET_UINT;
    conf->limit_reject_code = NGX_CONF_UNSET_UINT;
    conf->limit_headers = NGX_CONF_UNSET;
    conf->upstream_backoff = NGX_CONF_UNSET;
    conf->upstream_tls_verify = NGX_CONF_UNSET;
    conf->token_expiry_warn = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_http_manta_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_manta_loc_conf_t *prev = parent;
    ngx_http_manta_loc_conf_t *conf = child;

    ngx_uint_t                   i;
    ngx_http_manta_main_conf_t  *mmcf;

    mmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_manta_module);

    /* inherited only by "if" and "limit_except" blocks, then refused */

    if (conf->endpoint == NGX_CONF_UNSET_UINT) {
        conf->endpoint = prev->endpoint;
        conf->endpoint_pos = prev->endpoint_pos;
    }

    if (conf->endpoint == NGX_CONF_UNSET_UINT) {
        conf->endpoint = NGX_HTTP_MANTA_OFF;
    }

    ngx_conf_merge_ptr_value(conf->creds, prev->creds, NULL);
    ngx_conf_merge_ptr_value(conf->caller, prev->caller, NULL);
    ngx_conf_merge_ptr_value(conf->bot_id_re, prev->bot_id_re,
                             mmcf->default_bot_id_re);
    ngx_conf_merge_ptr_value(conf->name_re, prev->name_re, NULL);
    ngx_conf_merge_size_value(conf->body_max_size, prev->body_max_size,
                              8 * 1024);
    ngx_conf_merge_uint_value(conf->name_max_length, prev->name_max_length,
                              64);
    ngx_conf_merge_uint_value(conf->unknown_fields, prev->unknown_fields,
                              MANTA_UNKNOWN_FIELDS_REJECT);
    ngx_conf_merge_uint_value(conf->client_secret, prev->client_secret,
                              MANTA_CLIENT_SECRET_REJECT);
    ngx_conf_merge_value(conf->token_expiry_check, prev->token_expiry_check,
                         1);
    ngx_conf_merge_sec_value(conf->token_expiry_warn, prev->token_expiry_warn,
                             7 * 24 * 60 * 60);
    ngx_conf_merge_value(conf->upstream_tls_verify, prev->upstream_tls_verify,
                         1);

    if (conf->mirror_pos.line == 0) {
        conf->mirror_pos = prev->mirror_pos;
    }

    /* as the proxy module inherits them: the block's own, else all */

    for (i = 0; i < NGX_HTTP_MANTA_PROXY_DIRECTIVES; i++) {
        if (!conf->proxy_set[i].set) {
            conf->proxy_set[i] = prev->proxy_set[i];
        }
    }

    ngx_conf_merge_value(conf->errors, prev->errors, 1);
    ngx_conf_merge_size_value(conf->error_body_max, prev->error_body_max,
                              16 * 1024);

    if (ngx_http_manta_merge_limit(cf, prev, conf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    if (conf->endpoint != NGX_HTTP_MANTA_OFF) {
        return ngx_http_manta_check_gateway(cf, conf);
    }

    return NGX_CONF_OK;
}


/* "manta_limit" and its companions, and the zone it names declared */

static char *
ngx_http_manta_merge_limit(ngx_conf_t *cf, ngx_http_manta_loc_conf_t *prev,
    ngx_http_manta_loc_conf_t *conf)
{
    if (conf->limit_zone == NGX_CONF_UNSET_PTR) {
        conf->limit_zone = prev->limit_zone;
        conf->limit_burst = prev->limit_burst;
        conf->limit_delay = prev->limit_delay;
        conf->limit_pos = prev->limit_pos;
    }

    if (conf->limit_zone == NGX_CONF_UNSET_PTR) {
        conf->limit_zone = NULL;
    }

    ngx_conf_merge_value(conf->limit_dry_run, prev->limit_dry_run, 0);
    ngx_conf_merge_uint_value(conf->limit_log_level, prev->limit_log_level,
                              NGX_LOG_ERR);
    ngx_conf_merge_uint_value(conf->limit_reject_code, prev->limit_reject_code,
                              NGX_HTTP_TOO_MANY_REQUESTS);
    ngx_conf_merge_value(conf->limit_headers, prev->limit_headers, 1);
    ngx_conf_merge_value(conf->upstream_backoff, prev->upstream_backoff, 1);

    if (conf->limit_zone && conf->limit_zone->data == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "unknown manta_limit_zone \"%V\": declare it with "
                      "\"manta_limit_zone zone=%V:SIZE rate=RATE;\" at "
                      "http level in %V:%ui",
                      &conf->limit_zone->shm.name,
                      &conf->limit_zone->shm.name,
                      &conf->limit_pos.file, conf->limit_pos.line);
        return NGX_CONF_ERROR;
    }

    if (conf->limit_zone && ngx_http_manta_limit_merge(cf, conf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_manta_pattern(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_str_t    *value;
    manta_re_t  **re;

    re = (manta_re_t **) (p + cmd->offset);

    if (*re != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    *re = ngx_http_manta_compile(cf, &value[1], (int) (uintptr_t) cmd->post);
    if (*re == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static manta_re_t *
ngx_http_manta_compile(ngx_conf_t *cf, ngx_str_t *value, int flags)
{
    u_char               err[NGX_MAX_CONF_ERRSTR];
    manta_re_t          *re;
    ngx_pool_cleanup_t  *cln;

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    re = manta_re_compile((char *) value->data, value->len, flags,
                          (char *) err, sizeof(err));
    if (re == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid pattern \"%V\": %s", value, err);
        return NULL;
    }

    cln->handler = ngx_http_manta_re_cleanup;
    cln->data = re;

    return re;
}


static void
ngx_http_manta_re_cleanup(void *data)
{
    manta_re_free(data);
}


/*
 * "manta_endpoint" (an enum slot) and "manta_limit": set, then the file
 * and line of the directive kept for the errors found later
 */

static char *
ngx_http_manta_set_pos(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_manta_loc_conf_t *mlcf = conf;

    char                       *rv;
    ngx_http_manta_conf_pos_t  *pos;

    if (cmd->post == ngx_http_manta_endpoint_values) {
        rv = ngx_conf_set_enum_slot(cf, cmd, conf);
        pos = &mlcf->endpoint_pos;

    } else {
        rv = ngx_http_manta_limit(cf, cmd, conf);
        pos = &mlcf->limit_pos;
    }

    if (rv == NGX_CONF_OK) {
        ngx_http_manta_conf_pos(cf, pos);
    }

    return rv;
}


static void
ngx_http_manta_conf_pos(ngx_conf_t *cf, ngx_http_manta_conf_pos_t *pos)
{
    /* the names live as long as the cycle's pool, as upstream's do */

    pos->file = cf->conf_file->file.name;
    pos->line = cf->conf_file->line;
}


/*
 * manta_limit_zone and manta_status_zone: "zone=NAME:SIZE" and the
 * directive's own parameter ("rate=", "bots="; parse() takes each value
 * into the ctx, data) in any order; the zone's shared memory, with data,
 * init and the kind's tag, NULL on error
 */

ngx_shm_zone_t *
ngx_http_manta_zone(ngx_conf_t *cf, ngx_command_t *cmd, char *own,
    ngx_http_manta_zone_arg_pt parse, void *data, ngx_shm_zone_init_pt init,
    void *tag)
{
    size_t           len;
    ssize_t          size;
    ngx_str_t       *value, name;
    ngx_uint_t       i;
    ngx_shm_zone_t  *shm_zone;

    value = cf->args->elts;
    len = ngx_strlen(own);

    size = 0;
    name.len = 0;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "zone=", 5) == 0) {

            if (ngx_http_manta_zone_size(cf, &value[i], &name, &size)
                != NGX_OK)
            {
                return NULL;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, own, len) == 0) {

            if (parse(cf, &value[i], data) != NGX_OK) {
                return NULL;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NULL;
    }

    if (name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must have \"zone\" parameter",
                           &cmd->name);
        return NULL;
    }

    shm_zone = ngx_shared_memory_add(cf, &name, size, tag);
    if (shm_zone == NULL) {
        return NULL;
    }

    if (shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V \"%V\" is already defined", &cmd->name,
                           &name);
        return NULL;
    }

    shm_zone->init = init;
    shm_zone->data = data;

    return shm_zone;
}


/* "zone=NAME:SIZE": a name that is not empty, a size of 8 pages at least */

static ngx_int_t
ngx_http_manta_zone_size(ngx_conf_t *cf, ngx_str_t *arg,
    ngx_str_t *name, ssize_t *size)
{
    u_char     *p;
    ngx_str_t   s;

    name->data = arg->data + 5;

    p = (u_char *) ngx_strchr(name->data, ':');

    if (p == NULL || p == name->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone \"%V\": use zone=NAME:SIZE", arg);
        return NGX_ERROR;
    }

    name->len = p - name->data;

    s.data = p + 1;
    s.len = arg->data + arg->len - s.data;

    *size = ngx_parse_size(&s);

    if (*size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone size \"%V\"", arg);
        return NGX_ERROR;
    }

    if (*size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is too small", arg);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * A zone's state in its slab pool: the one it keeps over a reload (data,
 * the old cycle's ctx, shares the pool) or finds in place; else "size"
 * bytes newly allocated, zeroed, and set up by setup().  The pool's
 * messages name the directive and the zone; its allocation failures are
 * not logged: a full zone is its user's to handle (the limit evicts, the
 * status counts "__other__").  NULL on error.
 */

void *
ngx_http_manta_zone_init(ngx_shm_zone_t *shm_zone, void *data,
    char *directive, size_t size, ngx_http_manta_zone_setup_pt setup)
{
    void             *sh;
    size_t            len;
    ngx_slab_pool_t  *shpool;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (data || shm_zone->shm.exists) {
        return shpool->data;
    }

    sh = ngx_slab_calloc(shpool, size);
    if (sh == NULL) {
        return NULL;
    }

    shpool->data = sh;

    len = sizeof(" in  \"\"") + ngx_strlen(directive)
          + shm_zone->shm.name.len;

    shpool->log_ctx = ngx_slab_alloc(shpool, len);
    if (shpool->log_ctx == NULL) {
        return NULL;
    }

    ngx_sprintf(shpool->log_ctx, " in %s \"%V\"%Z", directive,
                &shm_zone->shm.name);

    shpool->log_nomem = 0;

    return (setup(shpool, sh) == NGX_OK) ? sh : NULL;
}


/*
 * A gateway location, after every static module (core, proxy, mirror)
 * has merged its own configuration: the rules that keep the token and the
 * secret on their way to the configured upstream.  Errors name the file
 * and line of the directive at fault, not the end of the http block.
 */

static char *
ngx_http_manta_check_gateway(ngx_conf_t *cf, ngx_http_manta_loc_conf_t *conf)
{
    ngx_http_manta_conf_pos_t    *ep;
    ngx_http_core_loc_conf_t     *clcf;
    ngx_http_manta_main_conf_t   *mmcf;

    ep = &conf->endpoint_pos;

    mmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_manta_module);
    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (ngx_http_manta_check_location(cf, conf, clcf) != NGX_CONF_OK
        || ngx_http_manta_check_upstream(cf, conf) != NGX_CONF_OK
        || ngx_http_manta_check_mirror(cf, conf) != NGX_CONF_OK
        || ngx_http_manta_check_proxy(cf, conf) != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    /*
     * an error_page inherited from server or http must not replace the
     * ErrorResponse: nginx's own error pages are rewritten by the module;
     * one written in the location itself is the operator's choice
     */

    if (!conf->error_page) {
        clcf->error_pages = NULL;
    }

    ngx_http_manta_check_debug(cf, conf);

    if (conf->creds->creds) {
        ngx_http_manta_token_expiry_check(cf, conf->creds,
                                          conf->token_expiry_warn);
    }

    if (conf->caller && conf->creds->creds
        && conf->creds->creds->ncallers == 0)
    {
        ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                      "\"manta_caller\" is set but credentials file \"%V\" "
                      "has no \"callers\": every request of the location "
                      "in %V:%ui is refused; add a \"callers\" map naming "
                      "the bots each caller may use", &conf->creds->file,
                      &ep->file, ep->line);
    }

    if (mmcf->gateways++ == 0) {
        mmcf->gateway_pos = *ep;
    }

    ngx_http_manta_plan_conf(conf, &conf->plan);

    return NGX_CONF_OK;
}


/*
 * The location itself: exact match, no "if" or "limit_except" inside it,
 * credentials, and a "proxy_pass" of its own with a literal URL.
 */

static char *
ngx_http_manta_check_location(ngx_conf_t *cf, ngx_http_manta_loc_conf_t *conf,
    ngx_http_core_loc_conf_t *clcf)
{
    ngx_http_manta_conf_pos_t  *ep;

    ep = &conf->endpoint_pos;

    if (clcf->noname) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"if\" and \"limit_except\" blocks are not allowed in "
                      "a \"manta_endpoint\" location (\"%V\"): they would "
                      "inherit the gateway; the module itself allows only "
                      "POST, remove the block in %V:%ui",
                      &clcf->name, &ep->file, ep->line);
        return NGX_CONF_ERROR;
    }

    if (!clcf->exact_match) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"manta_endpoint\" requires an exact-match location "
                      "(\"location = /openapi/clientTag\"), not \"%V\": a "
                      "prefix, regex or named location would send other "
                      "paths upstream with the token in %V:%ui",
                      &clcf->name, &ep->file, ep->line);
        return NGX_CONF_ERROR;
    }

    if (conf->creds == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"manta_endpoint\" requires \"manta_credentials\": "
                      "add \"manta_credentials FILE;\" to this location, "
                      "its server or http in %V:%ui", &ep->file, ep->line);
        return NGX_CONF_ERROR;
    }

    if (!conf->proxy_pass || clcf->handler != conf->proxy_handler) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"manta_endpoint\" requires \"proxy_pass\" in the "
                      "same location, e.g. \"proxy_pass "
                      "https://HOST/api/openapi/clientTag;\" in %V:%ui",
                      &ep->file, ep->line);
        return NGX_CONF_ERROR;
    }

    if (conf->proxy_variables) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"proxy_pass %V\" in a \"manta_endpoint\" location "
                      "must not use variables: write the upstream URL "
                      "literally (the module forwards the canonical query) "
                      "in %V:%ui", &conf->proxy_url,
                      &conf->proxy_pos.file, conf->proxy_pos.line);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * What the location's proxy module may do with the upstream's answer: no
 * copy on disk meant to be served, no steering by X-Accel-* headers, and
 * TLS only with the upstream's certificate verified.
 */

static char *
ngx_http_manta_check_upstream(ngx_conf_t *cf, ngx_http_manta_loc_conf_t *conf)
{
    ngx_http_conf_ctx_t          *ctx;
    ngx_http_manta_conf_pos_t    *ep;
    ngx_http_core_loc_conf_t     *clcf;
    ngx_http_manta_main_conf_t   *mmcf;
    ngx_http_upstream_conf_t     *ucf;

    ctx = cf->ctx;
    ep = &conf->endpoint_pos;

    mmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_manta_module);
    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (mmcf->proxy_index < 0) {
        return NGX_CONF_OK;
    }

    /* ngx_http_proxy_loc_conf_t begins with its ngx_http_upstream_conf_t */

    ucf = ctx->loc_conf[mmcf->proxy_index];

    if (ucf->store) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"proxy_store\" in the \"manta_endpoint\" "
                      "location \"%V\" would write the upstream's "
                      "answer, unmasked, to disk: remove it "
                      "in %V:%ui", &clcf->name, &ep->file, ep->line);
        return NGX_CONF_ERROR;
    }

#if (NGX_HTTP_CACHE)
    /* the gateway forwards POST only: caching it must be asked for */

    if (ucf->cache && (ucf->cache_methods & NGX_HTTP_POST)) {
        ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                      "\"proxy_cache\" of POST in the "
                      "\"manta_endpoint\" location \"%V\" keeps the "
                      "upstream's answers on disk as upstream sent "
                      "them, unmasked (callers get them masked) "
                      "in %V:%ui", &clcf->name, &ep->file, ep->line);
    }
#endif

    /*
     * the upstream never steers this nginx: an X-Accel-Redirect would
     * send the request, with headers nginx copies from the answer, to
     * another location; nginx logs X-Accel-* values it cannot use
     */

    ucf->ignore_headers |= NGX_HTTP_UPSTREAM_IGN_XA_REDIRECT
                           |NGX_HTTP_UPSTREAM_IGN_XA_EXPIRES
                           |NGX_HTTP_UPSTREAM_IGN_XA_LIMIT_RATE
                           |NGX_HTTP_UPSTREAM_IGN_XA_BUFFERING
                           |NGX_HTTP_UPSTREAM_IGN_XA_CHARSET;

#if (NGX_HTTP_SSL || NGX_COMPAT)

    if (conf->proxy_https) {
        return ngx_http_manta_check_upstream_tls(cf, conf, ucf);
    }

#endif

    return NGX_CONF_OK;
}


#if (NGX_HTTP_SSL || NGX_COMPAT)

/* "proxy_pass https://": the token goes only to a verified certificate */

static char *
ngx_http_manta_check_upstream_tls(ngx_conf_t *cf,
    ngx_http_manta_loc_conf_t *conf, ngx_http_upstream_conf_t *ucf)
{
    if (!ucf->ssl_verify && conf->upstream_tls_verify) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"proxy_pass %V\" in a \"manta_endpoint\" "
                      "location sends the token over TLS without "
                      "checking the upstream's certificate: add "
                      "\"proxy_ssl_verify on;\" and "
                      "\"proxy_ssl_trusted_certificate FILE;\", or "
                      "\"manta_upstream_tls_verify off;\" to accept "
                      "that risk in %V:%ui", &conf->proxy_url,
                      &conf->proxy_pos.file, conf->proxy_pos.line);
        return NGX_CONF_ERROR;
    }

    if (!ucf->ssl_verify) {
        ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                      "\"proxy_pass %V\" in a \"manta_endpoint\" "
                      "location: the upstream's certificate is not "
                      "checked (\"manta_upstream_tls_verify off\"), "
                      "anyone in the middle can read the token "
                      "in %V:%ui", &conf->proxy_url,
                      &conf->proxy_pos.file, conf->proxy_pos.line);
    }

    return NGX_CONF_OK;
}

#endif


/* a mirror would copy the forwarded request, token and secret included */

static char *
ngx_http_manta_check_mirror(ngx_conf_t *cf, ngx_http_manta_loc_conf_t *conf)
{
    ngx_array_t                 **mirror;
    ngx_http_conf_ctx_t          *ctx;
    ngx_http_manta_conf_pos_t    *ep;
    ngx_http_core_loc_conf_t     *clcf;
    ngx_http_manta_main_conf_t   *mmcf;

    ctx = cf->ctx;
    ep = &conf->endpoint_pos;

    mmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_manta_module);
    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (mmcf->mirror_index >= 0) {

        /* ngx_http_mirror_loc_conf_t begins with "ngx_array_t *mirror" */

        mirror = ctx->loc_conf[mmcf->mirror_index];

        if (*mirror != NULL && *mirror != NGX_CONF_UNSET_PTR) {
            if (conf->mirror_pos.line == 0) {
                conf->mirror_pos = *ep;
            }

            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"mirror\" applies to the \"manta_endpoint\" "
                          "location \"%V\": the mirrored request would "
                          "carry the token and secret; add \"mirror off;\" "
                          "to the location or remove the \"mirror\" "
                          "in %V:%ui", &clcf->name,
                          &conf->mirror_pos.file, conf->mirror_pos.line);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/*
 * proxy_set_header of Authorization, Content-Length or Transfer-Encoding,
 * proxy_set_body, a proxy_method other than POST, and
 * proxy_pass_request_headers or proxy_pass_request_body off, own or
 * inherited: each would change the request the module forwards (the
 * caller's Authorization next to the server's, a body cut short or not
 * the validated one, no token at all).  A value is named in the error
 * only when it cannot be a secret: a header's name, never its value.
 */

static char *
ngx_http_manta_check_proxy(ngx_conf_t *cf, ngx_http_manta_loc_conf_t *conf)
{
    ngx_uint_t                   i;
    ngx_http_core_loc_conf_t    *clcf;
    ngx_http_manta_proxy_set_t  *set;

    static char  *directives[] = {
        "proxy_set_header", "proxy_set_body", "proxy_method",
        "proxy_pass_request_headers", "proxy_pass_request_body"
    };

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    for (i = 0; i < NGX_HTTP_MANTA_PROXY_DIRECTIVES; i++) {
        set = &conf->proxy_set[i];

        if (set->pos.line == 0) {
            continue;
        }

        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"%s%s%V\" applies to the \"manta_endpoint\" "
                      "location \"%V\": %s; remove it (a location's own "
                      "proxy directives replace the inherited ones) "
                      "in %V:%ui", directives[i], set->value.len ? " " : "",
                      &set->value, &clcf->name,
                      ngx_http_manta_proxy_faults[i],
                      &set->pos.file, set->pos.line);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void
ngx_http_manta_check_debug(ngx_conf_t *cf, ngx_http_manta_loc_conf_t *conf)
{
#if (NGX_DEBUG)
    ngx_log_t                 *log;
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    for (log = clcf->error_log; log; log = log->next) {

        /* "debug" and "debug_http" ... set bits above NGX_LOG_DEBUG */

        if (log->log_level >= NGX_LOG_DEBUG) {
            ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                          "\"error_log ... debug\" reaches the "
                          "\"manta_endpoint\" location \"%V\": the module "
                          "suppresses debug logging for its requests, so "
                          "their token and secret are never logged "
                          "in %V:%ui", &clcf->name,
                          &conf->endpoint_pos.file, conf->endpoint_pos.line);
            return;
        }
    }
#endif
}


static ngx_module_t *
ngx_http_manta_find_module(ngx_cycle_t *cycle, char *name)
{
    ngx_uint_t  i;

    for (i = 0; cycle->modules[i]; i++) {
        if (cycle->modules[i]->type == NGX_HTTP_MODULE
            && cycle->modules[i]->name
            && ngx_strcmp(cycle->modules[i]->name, name) == 0)
        {
            return cycle->modules[i];
        }
    }

    return NULL;
}


/*
 * Wraps the handlers of proxy_pass, error_page and mirror while the http
 * block is parsed: each calls the original, then notes in this module's
 * configuration of the same block what it set and where.  That needs no
 * knowledge of the other modules' private structures.  The originals are
 * put back in postconfiguration and, should the configuration fail before
 * that, by the cleanup of its pool: a failed reload leaves no pointer into
 * this module, which may then be unloaded.
 */

static ngx_int_t
ngx_http_manta_hooks_install(ngx_conf_t *cf)
{
    ngx_module_t           *m;
    ngx_command_t          *cmd;
    ngx_pool_cleanup_t     *cln;
    ngx_http_manta_hook_t  *h;

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_manta_hooks_restore;
    cln->data = NULL;

    for (h = ngx_http_manta_hooks; h->module; h++) {

        if (h->cmd) {
            /* installed already and not restored: keep the original */
            continue;
        }

        m = ngx_http_manta_find_module(cf->cycle, h->module);
        if (m == NULL || m->commands == NULL) {
            continue;
        }

        for (cmd = m->commands; cmd->name.len; cmd++) {
            if (ngx_strcmp(cmd->name.data, h->command) != 0) {
                continue;
            }

            if (cmd->set != ngx_http_manta_hook) {
                h->set = cmd->set;
                h->cmd = cmd;
                cmd->set = ngx_http_manta_hook;
            }

            break;
        }
    }

    return NGX_OK;
}


static void
ngx_http_manta_hooks_restore(void *data)
{
    ngx_http_manta_hook_t  *h;

    for (h = ngx_http_manta_hooks; h->module; h++) {

        if (h->cmd == NULL) {
            continue;
        }

        if (h->cmd->set == ngx_http_manta_hook) {
            h->cmd->set = h->set;
        }

        h->cmd = NULL;
        h->set = NULL;
    }
}


static char *
ngx_http_manta_hook(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char                       *rv;
    ngx_http_manta_hook_t      *h;
    ngx_http_manta_loc_conf_t  *mlcf;

    for (h = ngx_http_manta_hooks; h->module; h++) {
        if (h->cmd == cmd) {
            break;
        }
    }

    if (h->module == NULL || h->set == NULL) {
        return "is not available to the manta module (internal error)";
    }

    rv = h->set(cf, cmd, conf);

    if (rv != NGX_CONF_OK) {
        return rv;
    }

    mlcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_manta_module);

    h->record(cf, mlcf);

    return NGX_CONF_OK;
}


static void
ngx_http_manta_hook_proxy_pass(ngx_conf_t *cf,
    ngx_http_manta_loc_conf_t *mlcf)
{
    ngx_str_t                 *value;
    ngx_http_core_loc_conf_t  *clcf;

    value = cf->args->elts;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    mlcf->proxy_pass = 1;
    mlcf->proxy_url = value[1];
    mlcf->proxy_handler = clcf->handler;
    mlcf->proxy_variables = ngx_http_script_variables_count(&value[1]) ? 1 : 0;
    mlcf->proxy_https = (value[1].len > 8
                         && ngx_strncasecmp(value[1].data,
                                            (u_char *) "https://", 8) == 0);

    ngx_http_manta_conf_pos(cf, &mlcf->proxy_pos);
}


static void
ngx_http_manta_hook_error_page(ngx_conf_t *cf,
    ngx_http_manta_loc_conf_t *mlcf)
{
    mlcf->error_page = 1;
}


static void
ngx_http_manta_hook_mirror(ngx_conf_t *cf, ngx_http_manta_loc_conf_t *mlcf)
{
    ngx_http_manta_conf_pos(cf, &mlcf->mirror_pos);
}


/* "proxy_set_header NAME VALUE": the names the module sets itself */

static void
ngx_http_manta_hook_set_header(ngx_conf_t *cf,
    ngx_http_manta_loc_conf_t *mlcf)
{
    ngx_str_t                   *value;
    ngx_uint_t                   i;
    ngx_http_manta_proxy_set_t  *set;

    static ngx_str_t  names[] = {
        ngx_string("Authorization"),
        ngx_string("Content-Length"),
        ngx_string("Transfer-Encoding")
    };

    value = cf->args->elts;
    set = &mlcf->proxy_set[NGX_HTTP_MANTA_PROXY_SET_HEADER];

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (value[1].len == names[i].len
            && ngx_strncasecmp(value[1].data, names[i].data, names[i].len)
               == 0)
        {
            ngx_http_manta_proxy_set(cf, set, &value[1]);
            return;
        }
    }

    ngx_http_manta_proxy_set(cf, set, NULL);
}


/* "proxy_set_body VALUE": its value may hold a secret, never named */

static void
ngx_http_manta_hook_set_body(ngx_conf_t *cf, ngx_http_manta_loc_conf_t *mlcf)
{
    ngx_str_t                    none = ngx_null_string;
    ngx_http_manta_proxy_set_t  *set;

    set = &mlcf->proxy_set[NGX_HTTP_MANTA_PROXY_SET_BODY];

    ngx_http_manta_proxy_set(cf, set, &none);
}


/* "proxy_method METHOD": POST as it is */

static void
ngx_http_manta_hook_method(ngx_conf_t *cf, ngx_http_manta_loc_conf_t *mlcf)
{
    ngx_str_t  *value;

    value = cf->args->elts;

    if (value[1].len == 4 && ngx_strncmp(value[1].data, "POST", 4) == 0) {
        value = NULL;

    } else {
        value = &value[1];
    }

    ngx_http_manta_proxy_set(cf, &mlcf->proxy_set[NGX_HTTP_MANTA_PROXY_METHOD],
                             value);
}


/* "proxy_pass_request_headers off" and "proxy_pass_request_body off" */

static void
ngx_http_manta_hook_pass_request(ngx_conf_t *cf,
    ngx_http_manta_loc_conf_t *mlcf)
{
    ngx_str_t   *value;
    ngx_uint_t   n;

    value = cf->args->elts;

    n = (value[0].len == sizeof("proxy_pass_request_body") - 1)
        ? NGX_HTTP_MANTA_PROXY_PASS_BODY : NGX_HTTP_MANTA_PROXY_PASS_HEADERS;

    ngx_http_manta_proxy_set(cf, &mlcf->proxy_set[n],
                             ngx_strcasecmp(value[1].data, (u_char *) "off")
                             == 0 ? &value[1] : NULL);
}


/*
 * A proxy directive in this block; value: what it names when it is at
 * fault (the first one is reported), NULL when it is not
 */

static void
ngx_http_manta_proxy_set(ngx_conf_t *cf, ngx_http_manta_proxy_set_t *set,
    ngx_str_t *value)
{
    set->set = 1;

    if (value == NULL || set->pos.line) {
        return;
    }

    set->value = *value;
    ngx_http_manta_conf_pos(cf, &set->pos);
}
