/*
 * Copyright (C) ngx_http_manta_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_manta_module.h"
#include "ngx_http_manta_credentials.h"
#include "manta_util.h"


#define NGX_HTTP_MANTA_CREDS_MAX  (1024 * 1024)


static ngx_int_t ngx_http_manta_creds_load(ngx_conf_t *cf,
    ngx_http_manta_creds_t *mc);
static ngx_int_t ngx_http_manta_creds_check(ngx_conf_t *cf,
    ngx_http_manta_creds_t *mc, ngx_fd_t fd, ngx_file_info_t *fi);
static void ngx_http_manta_creds_close(ngx_conf_t *cf,
    ngx_http_manta_creds_t *mc, ngx_fd_t fd);
static void ngx_http_manta_creds_cleanup(void *data);
static void ngx_http_manta_token_warn(ngx_conf_t *cf,
    ngx_http_manta_creds_t *mc, const manta_cred_t *cred, time_t window);
static char *ngx_http_manta_file_type(ngx_file_info_t *fi);


/*
 * "manta_credentials FILE": the file is read and parsed while the
 * configuration loads, so "nginx -t" checks it and "nginx -s reload"
 * rotates it; the parsed secrets live until the cycle's pool is destroyed,
 * when they are wiped.  The file is opened non-blocking and checked with
 * fstat() before any read: a FIFO, a device or a directory is refused at
 * once instead of hanging "nginx -t" or a reload.
 */

char *
ngx_http_manta_credentials(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_manta_loc_conf_t *mlcf = conf;

    ngx_str_t                    *value;
    ngx_pool_cleanup_t           *cln;
    ngx_http_manta_creds_t       *mc, **pmc;
    ngx_http_manta_main_conf_t   *mmcf;

    if (mlcf->creds != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    mc = ngx_pcalloc(cf->pool, sizeof(ngx_http_manta_creds_t));
    if (mc == NULL) {
        return NGX_CONF_ERROR;
    }

    mc->file = value[1];

    if (ngx_conf_full_name(cf->cycle, &mc->file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    mc->account = ngx_crc32_short(mc->file.data, mc->file.len);

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_manta_creds_load(cf, mc) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_manta_creds_cleanup;
    cln->data = mc;

    mlcf->creds = mc;

    /* the status page lists every file's token expiry */

    mmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_manta_module);

    if (mmcf->creds == NULL) {
        mmcf->creds = ngx_array_create(cf->pool, 2,
                                       sizeof(ngx_http_manta_creds_t *));
        if (mmcf->creds == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    pmc = ngx_array_push(mmcf->creds);
    if (pmc == NULL) {
        return NGX_CONF_ERROR;
    }

    *pmc = mc;

    return NGX_CONF_OK;
}


/*
 * Opens the file without blocking (a FIFO or a device would hang "nginx
 * -t" and a reload), checks it is a regular file of a sane size, reads and
 * parses it; the bytes read are wiped.
 */

static ngx_int_t
ngx_http_manta_creds_load(ngx_conf_t *cf, ngx_http_manta_creds_t *mc)
{
    u_char           err[NGX_MAX_CONF_ERRSTR], *buf;
    size_t           size;
    ssize_t          n;
    ngx_fd_t         fd;
    ngx_file_t       file;
    ngx_file_info_t  fi;

    fd = ngx_open_file(mc->file.data, NGX_FILE_RDONLY|NGX_FILE_NONBLOCK,
                       NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "credentials file \"%V\": "
                           ngx_open_file_n " failed", &mc->file);
        return NGX_ERROR;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));

    file.fd = fd;
    file.name = mc->file;
    file.log = cf->log;

    buf = NULL;
    size = 0;

    if (ngx_http_manta_creds_check(cf, mc, fd, &fi) != NGX_OK) {
        goto failed;
    }

    size = (size_t) ngx_file_size(&fi);

    buf = ngx_alloc(size + 1, cf->log);
    if (buf == NULL) {
        goto failed;
    }

    n = ngx_read_file(&file, buf, size, 0);

    if (n == NGX_ERROR) {
        goto failed;
    }

    if ((size_t) n != size) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "credentials file \"%V\": read only %z of %uz bytes",
                           &mc->file, n, size);
        goto failed;
    }

    mc->creds = manta_creds_parse((char *) buf, size, (char *) err,
                                  sizeof(err));

    manta_wipe(buf, size);
    ngx_free(buf);
    buf = NULL;

    if (mc->creds == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "credentials file \"%V\": %s", &mc->file, err);
        goto failed;
    }

    ngx_http_manta_creds_close(cf, mc, fd);

    return NGX_OK;

failed:

    if (buf) {
        manta_wipe(buf, size);
        ngx_free(buf);
    }

    ngx_http_manta_creds_close(cf, mc, fd);

    return NGX_ERROR;
}


/* a regular file, not too large; a warning if others may read it */

static ngx_int_t
ngx_http_manta_creds_check(ngx_conf_t *cf, ngx_http_manta_creds_t *mc,
    ngx_fd_t fd, ngx_file_info_t *fi)
{
    if (ngx_fd_info(fd, fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "credentials file \"%V\": "
                           ngx_fd_info_n " failed", &mc->file);
        return NGX_ERROR;
    }

    if (!ngx_is_file(fi)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "credentials file \"%V\" is %s, not a regular "
                           "file: give the path of the JSON credentials "
                           "file (mode 0600)",
                           &mc->file, ngx_http_manta_file_type(fi));
        return NGX_ERROR;
    }

    if (ngx_file_size(fi) > NGX_HTTP_MANTA_CREDS_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "credentials file \"%V\" has %O bytes, at most "
                           "%uz are allowed", &mc->file, ngx_file_size(fi),
                           (size_t) NGX_HTTP_MANTA_CREDS_MAX);
        return NGX_ERROR;
    }

    if (ngx_file_access(fi) & 0004) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "credentials file \"%V\" is readable by others: "
                           "run \"chmod 600 %V\" (the master process, "
                           "which reads it, runs as root)",
                           &mc->file, &mc->file);
    }

    return NGX_OK;
}


static void
ngx_http_manta_creds_close(ngx_conf_t *cf, ngx_http_manta_creds_t *mc,
    ngx_fd_t fd)
{
    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_ALERT, cf, ngx_errno,
                           ngx_close_file_n " \"%V\" failed", &mc->file);
    }
}


static void
ngx_http_manta_creds_cleanup(void *data)
{
    ngx_http_manta_creds_t  *mc = data;

    manta_creds_free(mc->creds);
    mc->creds = NULL;
}


/*
 * Called for every gateway location: the first one to use a credentials
 * file warns, at configuration time, for each token (the default and
 * every bot's own) that has expired, is not valid yet or expires within
 * "manta_token_expiry_warn".  The token is named by its id only.
 */

void
ngx_http_manta_token_expiry_check(ngx_conf_t *cf, ngx_http_manta_creds_t *mc,
    time_t window)
{
    size_t          i;
    manta_creds_t  *creds;

    if (mc->expiry_checked) {
        return;
    }

    mc->expiry_checked = 1;
    creds = mc->creds;

    if (creds->dflt) {
        ngx_http_manta_token_warn(cf, mc, creds->dflt, window);
    }

    for (i = 0; i < creds->nbots; i++) {

        /* a bot sharing the default token was named with it */

        if (creds->dflt
            && ngx_strcmp(creds->bots[i].token_id, creds->dflt->token_id)
               == 0)
        {
            continue;
        }

        ngx_http_manta_token_warn(cf, mc, &creds->bots[i], window);
    }
}


/*
 * A token_expired rejection: at "warn", at most once a minute per token
 * id in each worker process (the record is the worker's own copy).
 */

void
ngx_http_manta_token_expired_log(ngx_http_request_t *r,
    const manta_cred_t *cred)
{
    if (!manta_cred_warn_due(cred, ngx_time(), 60)) {
        return;
    }

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "manta token %s %s: requests with it are rejected as "
                  "token_expired; put a valid token in the credentials "
                  "file and reload (logged at most once a minute per token)",
                  cred->token_id,
                  cred->has_exp && (long long) ngx_time() >= cred->exp
                  ? "has expired" : "is not valid yet (nbf)");
}


static void
ngx_http_manta_token_warn(ngx_conf_t *cf, ngx_http_manta_creds_t *mc,
    const manta_cred_t *cred, time_t window)
{
    int         state;
    u_char      who[32 + MANTA_BOT_ID_MAX], date[32], *p;
    time_t      t;
    ngx_tm_t    tm;

    state = manta_cred_expiry(cred, ngx_time(), window);

    if (state == MANTA_CRED_VALID) {
        return;
    }

    if (cred->bot_id) {
        p = ngx_snprintf(who, sizeof(who) - 1, "of bot \"%*s\"",
                         cred->bot_id_len, cred->bot_id);

    } else {
        p = ngx_cpymem(who, "(the default)", sizeof("(the default)") - 1);
    }

    *p = '\0';

    t = (time_t) (state == MANTA_CRED_NOT_YET_VALID ? cred->nbf : cred->exp);

    if (t < 0) {
        t = 0;
    }

    ngx_gmtime(t, &tm);

    p = ngx_snprintf(date, sizeof(date) - 1, "%4d-%02d-%02d %02d:%02d:%02d UTC",
                     tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                     tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec);
    *p = '\0';

    switch (state) {

    case MANTA_CRED_EXPIRED:
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "credentials file \"%V\": token %s %s expired "
                           "at %s: every request with it is rejected as "
                           "token_expired; put a new token in the file and "
                           "reload", &mc->file, cred->token_id, who, date);
        break;

    case MANTA_CRED_NOT_YET_VALID:
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "credentials file \"%V\": token %s %s is not "
                           "valid before %s (nbf): requests with it are "
                           "rejected as token_expired until then",
                           &mc->file, cred->token_id, who, date);
        break;

    default: /* MANTA_CRED_EXPIRING */
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "credentials file \"%V\": token %s %s expires "
                           "at %s, within manta_token_expiry_warn (%T s): "
                           "put a new token in the file and reload before "
                           "then", &mc->file, cred->token_id, who, date,
                           window);
        break;
    }
}


static char *
ngx_http_manta_file_type(ngx_file_info_t *fi)
{
    if (ngx_is_dir(fi)) {
        return "a directory";
    }

#if !(NGX_WIN32)

    if (S_ISFIFO(fi->st_mode)) {
        return "a FIFO";
    }

    if (S_ISCHR(fi->st_mode) || S_ISBLK(fi->st_mode)) {
        return "a device";
    }

    if (S_ISSOCK(fi->st_mode)) {
        return "a socket";
    }

#endif

    return "a special file";
}
