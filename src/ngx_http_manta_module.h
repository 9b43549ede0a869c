/*
 * Copyright (C) ngx_http_manta_module authors
 */


#ifndef _NGX_HTTP_MANTA_MODULE_H_INCLUDED_
#define _NGX_HTTP_MANTA_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "manta_reason.h"
#include "manta_json.h"
#include "manta_re.h"
#include "manta_request.h"
#include "manta_creds.h"
#include "manta_limit.h"
#include "manta_mask.h"
#include "manta_plan.h"


#define NGX_HTTP_MANTA_OFF         0
#define NGX_HTTP_MANTA_CLIENT_TAG  1

/* the error filter's phases (ctx->error_phase) */

#define NGX_HTTP_MANTA_ERROR_PASS     0
#define NGX_HTTP_MANTA_ERROR_COLLECT  1
#define NGX_HTTP_MANTA_ERROR_SENT     2

#define NGX_HTTP_MANTA_LIMIT_PASSED            1
#define NGX_HTTP_MANTA_LIMIT_DELAYED           2
#define NGX_HTTP_MANTA_LIMIT_REJECTED          3
#define NGX_HTTP_MANTA_LIMIT_DELAYED_DRY_RUN   4
#define NGX_HTTP_MANTA_LIMIT_REJECTED_DRY_RUN  5
#define NGX_HTTP_MANTA_LIMIT_BACKOFF           6

#define NGX_HTTP_MANTA_LIMIT_NODELAY  ((ngx_uint_t) -1)

/* $manta_limit_source */

#define NGX_HTTP_MANTA_SOURCE_LOCAL     1
#define NGX_HTTP_MANTA_SOURCE_REDIS     2
#define NGX_HTTP_MANTA_SOURCE_FALLBACK  3
#define NGX_HTTP_MANTA_SOURCE_CACHED    4


/*
 * A function on a rare path kept out of its only caller, so that the
 * caller's common path saves no registers for it
 */
#if (defined __GNUC__ || defined __clang__)
#define NGX_HTTP_MANTA_COLD  __attribute__ ((noinline))
#else
#define NGX_HTTP_MANTA_COLD
#endif


/* RateLimit-Policy of a location for bots of their own rate */

typedef struct {
    ngx_uint_t                 rate;
    ngx_str_t                  value;
} ngx_http_manta_policy_t;


typedef struct {
    ngx_str_t                  file;
    uint32_t                   account;   /* the file's: limit buckets */
    manta_creds_t             *creds;
    unsigned                   expiry_checked:1;
} ngx_http_manta_creds_t;


/* where a directive was written, for errors found after the parse */

typedef struct {
    ngx_str_t                  file;
    ngx_uint_t                 line;
} ngx_http_manta_conf_pos_t;


/*
 * A proxy directive that would change what the module forwards (see
 * ngx_http_manta_check_proxy()): whether the block has one of its own,
 * and where the first one at fault was written, with the value it names
 */

#define NGX_HTTP_MANTA_PROXY_SET_HEADER     0
#define NGX_HTTP_MANTA_PROXY_SET_BODY       1
#define NGX_HTTP_MANTA_PROXY_METHOD         2
#define NGX_HTTP_MANTA_PROXY_PASS_HEADERS   3
#define NGX_HTTP_MANTA_PROXY_PASS_BODY      4
#define NGX_HTTP_MANTA_PROXY_DIRECTIVES     5

typedef struct {
    ngx_http_manta_conf_pos_t  pos;     /* line 0: none at fault */
    ngx_str_t                  value;   /* never a header's value */
    unsigned                   set:1;
} ngx_http_manta_proxy_set_t;


typedef struct {
    manta_re_t                *default_bot_id_re;
    ngx_int_t                  request_body_index;
    ngx_int_t                  proxy_index;     /* ctx_index, or -1 */
    ngx_int_t                  mirror_index;    /* ctx_index, or -1 */
    ngx_uint_t                 gateways;
    ngx_http_manta_conf_pos_t  gateway_pos;     /* the first one */
    ngx_array_t               *creds;  /* every manta_credentials' */
    ngx_shm_zone_t            *status_zone;     /* manta_status_zone */
    ngx_http_manta_conf_pos_t  status_pos;      /* the first manta_status */
} ngx_http_manta_main_conf_t;


typedef struct {
    ngx_uint_t                 endpoint;
    ngx_http_manta_conf_pos_t  endpoint_pos;
    ngx_http_manta_creds_t    *creds;
    ngx_http_complex_value_t  *caller;      /* manta_caller; NULL: off */
    manta_re_t                *bot_id_re;
    manta_re_t                *name_re;
    size_t                     body_max_size;
    ngx_uint_t                 name_max_length;
    ngx_uint_t                 unknown_fields;
    ngx_uint_t                 client_secret;
    ngx_flag_t                 token_expiry_check;
    ngx_flag_t                 errors;
    size_t                     error_body_max;

    ngx_shm_zone_t            *limit_zone;
    ngx_str_t                  limit_policy;   /* for the zone's rate */
    ngx_http_manta_policy_t   *limit_own;      /* for bots' own rates */
    ngx_uint_t                 limit_nown;
    /*
     * RateLimit for a bot charged from a drained bucket at the zone's rate
     * and the location's burst, its r and t: sent as it is whenever a
     * response's fields are these
     */
    ngx_str_t                  limit_fresh;
    unsigned                   limit_fresh_remaining;
    unsigned                   limit_fresh_reset;
    ngx_uint_t                 limit_burst;
    ngx_uint_t                 limit_delay;
    ngx_flag_t                 limit_dry_run;
    ngx_uint_t                 limit_log_level;
    /*
     * the "limiting requests" lines up to the botId, for a rejection by
     * the limit and by an upstream 429's backoff
     */
    ngx_str_t                  limit_log[2];
    ngx_uint_t                 limit_reject_code;  /* manta_limit_status */
    ngx_flag_t                 limit_headers;
    ngx_flag_t                 upstream_backoff;
    ngx_http_manta_conf_pos_t  limit_pos;
    /* the location's limit: the zone's rate, the burst and delay here */
    manta_limit_t              limit_base;
    /*
     * manta_limit_redis: the key up to the botId, and a take's arguments
     * after the key for limit_base
     */
    ngx_str_t                  limit_redis_key;
    ngx_str_t                  limit_redis_args;

    ngx_flag_t                 upstream_tls_verify;
    time_t                     token_expiry_warn;

    /*
     * this location's own proxy_pass and error_page; mirror and the
     * proxy directives of ngx_http_manta_check_proxy() (merged)
     */
    ngx_str_t                  proxy_url;
    ngx_http_manta_conf_pos_t  proxy_pos;
    ngx_http_handler_pt        proxy_handler;
    ngx_http_manta_conf_pos_t  mirror_pos;
    ngx_http_manta_proxy_set_t proxy_set[NGX_HTTP_MANTA_PROXY_DIRECTIVES];
    unsigned                   proxy_pass:1;
    unsigned                   proxy_variables:1;
    unsigned                   proxy_https:1;
    unsigned                   error_page:1;

    /* a gateway's rules as manta_plan.h takes them, set once merged */
    manta_plan_conf_t          plan;
} ngx_http_manta_loc_conf_t;


/*
 * What the upstream-bound parts of a request hold: the caller's version,
 * or the forwarded one with the server's token and secret.  A request that
 * leaves the gateway location (internal redirect, named location) gets the
 * caller's version back before any other location sees it.
 */

typedef struct {
    ngx_list_t                 headers;
    ngx_table_elt_t           *content_type;
    ngx_table_elt_t           *content_length;
    ngx_table_elt_t           *transfer_encoding;
    off_t                      content_length_n;
    ngx_str_t                  args;
    ngx_chain_t               *bufs;
    unsigned                   chunked:1;
    unsigned                   valid_unparsed_uri:1;
} ngx_http_manta_view_t;


typedef struct {
    ngx_http_request_t        *request;
    ngx_pool_cleanup_t         cleanup;     /* in the request's pool */
    ngx_int_t                  status;      /* the phase handler's answer */
    ngx_str_t                  bot_id;      /* decoded and validated */
    ngx_str_t                  query;       /* the canonical query */
    ngx_str_t                  limit_key;   /* botId, in limit_account */
    const manta_cred_t        *cred;
    ngx_str_t                  caller_id;   /* accepted: $manta_caller */
    u_char                    *body;        /* forwarded, wiped at the end */
    size_t                     body_len;
    off_t                      received;
    u_char                    *error_body;  /* upstream's, up to the max */
    size_t                     error_len;
    size_t                     error_size;  /* its room, or Content-Length */
    ngx_uint_t                 limit_status;  /* $manta_limit_status */
    ngx_msec_t                 limit_delay;
    void                     (*resume)(ngx_http_request_t *r);

    ngx_http_manta_loc_conf_t *gateway;       /* the validating one */
    ngx_log_t                 *log;           /* guarded: its writer */
    ngx_log_writer_pt          log_writer;
    void                      *log_wdata;

    /* the upstream's response: its finalizer while held */
    void                     (*upstream_finalize)(ngx_http_request_t *r,
                                                  ngx_int_t rc);

    /* the 4-byte members, then the flags: no padding between them */
    manta_reason_t             reason;
    uint32_t                   limit_account;
    uint32_t                   limit_hash;  /* manta_limit_hash() */
    unsigned                   limit_retry_after;
    unsigned                   limit_remaining;
    unsigned                   limit_reset;
    unsigned                   limit_backoff;  /* s, after upstream 429 */

    unsigned                   limit_source:3;
    unsigned                   limit_parked:1;  /* waits for Redis */
    unsigned                   limit_quiet:1;   /* the bot had its line
                                                   this second */
    unsigned                   limit_fields:1;
    unsigned                   bot_id_plain:1;  /* plan.bot_id_plain */
    unsigned                   handled:1;
    unsigned                   reading:1;
    unsigned                   too_large:1;
    unsigned                   error_phase:2;
    unsigned                   error_skip:1;
    unsigned                   error_rewritten:1;
    unsigned                   forwarded:1;  /* "forward" is built */
    unsigned                   applied:1;    /* r holds "forward" */
    unsigned                   mask_on:1;    /* the body is masked */
    unsigned                   mask_logged:1;

    /*
     * The members from here on are not zeroed when the ctx is made (see
     * NGX_HTTP_MANTA_CTX_ZEROED): each is written whole before it is read,
     * the views and the body's buffer by ngx_http_manta_rewrite_request()
     * ("forwarded" and "applied" guard them), the mask by
     * manta_mask_start() ("mask_on" guards it).
     */
    ngx_http_manta_view_t      caller;
    ngx_http_manta_view_t      forward;
    ngx_buf_t                  forward_buf;   /* forward.bufs: the body */
    ngx_chain_t                forward_link;
    manta_mask_t               mask;
} ngx_http_manta_ctx_t;


/* the bytes of a new ctx that are zeroed: up to its views */
#define NGX_HTTP_MANTA_CTX_ZEROED  offsetof(ngx_http_manta_ctx_t, caller)


typedef struct {
    ngx_list_part_t           *part;
    ngx_uint_t                 i;
    size_t                     size;
} ngx_http_manta_walk_t;


/*
 * Appends a header field to a request's or a response's list; lowcase_key
 * may be NULL for a response header, a zero hash hides it from variables.
 */

static ngx_inline ngx_table_elt_t *
ngx_http_manta_push_header(ngx_list_t *headers, ngx_str_t *key,
    ngx_str_t *lowcase_key, ngx_uint_t hash, u_char *value, size_t value_len)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(headers);
    if (h == NULL) {
        return NULL;
    }

    h->hash = hash;
    h->key = *key;
    h->lowcase_key = lowcase_key ? lowcase_key->data : NULL;
    h->value.data = value;
    h->value.len = value_len;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    return h;
}


/*
 * A walk over the entries of an ngx_list_t, part after part: init, then
 * next until NULL.  Inline: it runs once a header line of every request.
 */

static ngx_inline void
ngx_http_manta_walk_init(ngx_http_manta_walk_t *w, ngx_list_t *list)
{
    w->part = &list->part;
    w->i = 0;
    w->size = list->size;
}


static ngx_inline void *
ngx_http_manta_walk_next(ngx_http_manta_walk_t *w)
{
    while (w->i >= w->part->nelts) {

        if (w->part->next == NULL) {
            return NULL;
        }

        w->part = w->part->next;
        w->i = 0;
    }

    return (u_char *) w->part->elts + w->size * w->i++;
}


/* takes a zone directive's own parameter (arg) into its ctx (data) */

typedef ngx_int_t (*ngx_http_manta_zone_arg_pt)(ngx_conf_t *cf,
    ngx_str_t *arg, void *data);

/* sets up the new state (sh) of a zone in its slab pool */

typedef ngx_int_t (*ngx_http_manta_zone_setup_pt)(ngx_slab_pool_t *shpool,
    void *sh);


ngx_http_manta_ctx_t *ngx_http_manta_get_ctx(ngx_http_request_t *r);
ngx_http_manta_ctx_t *ngx_http_manta_create_ctx(ngx_http_request_t *r);
ngx_int_t ngx_http_manta_add_header(ngx_http_request_t *r, char *key,
    size_t key_len, u_char *value, size_t value_len);
ngx_int_t ngx_http_manta_send_json(ngx_http_request_t *r, ngx_str_t *json,
    ngx_http_output_header_filter_pt next_header,
    ngx_http_output_body_filter_pt next_body);

ngx_table_elt_t *ngx_http_manta_walk_find(ngx_http_manta_walk_t *w,
    char *name, size_t len);
ngx_shm_zone_t *ngx_http_manta_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    char *own, ngx_http_manta_zone_arg_pt parse, void *data,
    ngx_shm_zone_init_pt init, void *tag);
void *ngx_http_manta_zone_init(ngx_shm_zone_t *shm_zone, void *data,
    char *directive, size_t size, ngx_http_manta_zone_setup_pt setup);


extern ngx_module_t  ngx_http_manta_module;

/*
 * The tags of the module's shared memory zones, one a kind: a zone name
 * is a limit zone's or a status zone's, nginx refuses it for the other
 * kind, and a reload that turns one kind into the other gives the zone
 * memory of its own instead of the old zone's.
 */
extern ngx_uint_t    ngx_http_manta_limit_tag;
extern ngx_uint_t    ngx_http_manta_status_tag;


#endif /* _NGX_HTTP_MANTA_MODULE_H_INCLUDED_ */
