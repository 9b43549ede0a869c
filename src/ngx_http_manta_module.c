/*
 * Copyright (C) ngx_http_manta_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <jansson.h>

#include "ngx_http_manta_module.h"


#define NGX_HTTP_MANTA_BOT_ID_PATTERN  "^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$"


static ngx_int_t ngx_http_manta_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_manta_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_manta_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_manta_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_manta_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_manta_pattern(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static manta_re_t *ngx_http_manta_compile(ngx_conf_t *cf, ngx_str_t *value,
    int flags);
static void ngx_http_manta_re_cleanup(void *data);


static ngx_conf_enum_t  ngx_http_manta_endpoint[] = {
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
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_manta_loc_conf_t, endpoint),
      &ngx_http_manta_endpoint },

    { ngx_string("manta_credentials"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_manta_credentials,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
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

    { ngx_string("manta_limit"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE123,
      ngx_http_manta_limit,
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
      offsetof(ngx_http_manta_loc_conf_t, limit_status),
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

      ngx_null_command
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


static ngx_int_t
ngx_http_manta_preconfiguration(ngx_conf_t *cf)
{
    static ngx_uint_t  seeded;

    if (!seeded) {
        /* once per process, before any json_t exists: hash-flooding */
        json_object_seed(0);
        seeded = 1;
    }

    return ngx_http_manta_add_variables(cf);
}


static ngx_int_t
ngx_http_manta_postconfiguration(ngx_conf_t *cf)
{
    if (ngx_http_manta_request_init(cf) != NGX_OK) {
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
     *     conf->limit_burst = 0;
     *     conf->limit_delay = 0;
     */

    conf->endpoint = NGX_CONF_UNSET_UINT;
    conf->creds = NGX_CONF_UNSET_PTR;
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
    conf->limit_status = NGX_CONF_UNSET_UINT;
    conf->limit_headers = NGX_CONF_UNSET;
    conf->upstream_backoff = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_http_manta_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_manta_loc_conf_t *prev = parent;
    ngx_http_manta_loc_conf_t *conf = child;

    ngx_http_manta_main_conf_t  *mmcf;

    mmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_manta_module);

    ngx_conf_merge_uint_value(conf->endpoint, prev->endpoint,
                              NGX_HTTP_MANTA_OFF);
    ngx_conf_merge_ptr_value(conf->creds, prev->creds, NULL);
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
    ngx_conf_merge_value(conf->errors, prev->errors, 1);
    ngx_conf_merge_size_value(conf->error_body_max, prev->error_body_max,
                              16 * 1024);

    if (conf->limit_zone == NGX_CONF_UNSET_PTR) {
        conf->limit_zone = prev->limit_zone;
        conf->limit_burst = prev->limit_burst;
        conf->limit_delay = prev->limit_delay;
    }

    if (conf->limit_zone == NGX_CONF_UNSET_PTR) {
        conf->limit_zone = NULL;
    }

    ngx_conf_merge_value(conf->limit_dry_run, prev->limit_dry_run, 0);
    ngx_conf_merge_uint_value(conf->limit_log_level, prev->limit_log_level,
                              NGX_LOG_ERR);
    ngx_conf_merge_uint_value(conf->limit_status, prev->limit_status,
                              NGX_HTTP_TOO_MANY_REQUESTS);
    ngx_conf_merge_value(conf->limit_headers, prev->limit_headers, 1);
    ngx_conf_merge_value(conf->upstream_backoff, prev->upstream_backoff, 1);

    if (conf->limit_zone && conf->limit_zone->data == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown manta_limit_zone \"%V\"",
                           &conf->limit_zone->shm.name);
        return NGX_CONF_ERROR;
    }

    if (conf->limit_zone
        && ngx_http_manta_limit_policy(cf->pool, conf->limit_zone, 0,
                                       &conf->limit_policy)
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (conf->endpoint != NGX_HTTP_MANTA_OFF && conf->creds == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"manta_endpoint\" requires \"manta_credentials\"");
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
