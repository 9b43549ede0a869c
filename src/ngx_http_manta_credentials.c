/*
 * Copyright (C) ngx_http_manta_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/crypto.h>

#include "ngx_http_manta_module.h"


#define NGX_HTTP_MANTA_CREDS_MAX  (1024 * 1024)


static void ngx_http_manta_creds_cleanup(void *data);


/*
 * "manta_credentials FILE": the file is read and parsed while the
 * configuration loads, so "nginx -t" checks it and "nginx -s reload"
 * rotates it; the parsed secrets live until the cycle's pool is destroyed,
 * when they are wiped.
 */

char *
ngx_http_manta_credentials(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_manta_loc_conf_t *mlcf = conf;

    u_char                  err[NGX_MAX_CONF_ERRSTR], *buf;
    size_t                  size;
    ssize_t                 n;
    ngx_fd_t                fd;
    ngx_str_t              *value;
    ngx_file_t              file;
    ngx_file_info_t         fi;
    ngx_pool_cleanup_t     *cln;
    ngx_http_manta_creds_t *mc;

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

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    fd = ngx_open_file(mc->file.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "credentials file \"%V\": "
                           ngx_open_file_n " failed", &mc->file);
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));

    file.fd = fd;
    file.name = mc->file;
    file.log = cf->log;

    buf = NULL;
    size = 0;

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "credentials file \"%V\": "
                           ngx_fd_info_n " failed", &mc->file);
        goto failed;
    }

    if (!ngx_is_file(&fi)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "credentials file \"%V\": not a regular file",
                           &mc->file);
        goto failed;
    }

    if (ngx_file_size(&fi) > NGX_HTTP_MANTA_CREDS_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "credentials file \"%V\": larger than %uz bytes",
                           &mc->file, (size_t) NGX_HTTP_MANTA_CREDS_MAX);
        goto failed;
    }

    if (ngx_file_access(&fi) & 0004) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "credentials file \"%V\" is readable by others",
                           &mc->file);
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

    OPENSSL_cleanse(buf, size);
    ngx_free(buf);
    buf = NULL;

    if (mc->creds == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "credentials file \"%V\": %s", &mc->file, err);
        goto failed;
    }

    cln->handler = ngx_http_manta_creds_cleanup;
    cln->data = mc;

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_ALERT, cf, ngx_errno,
                           ngx_close_file_n " \"%V\" failed", &mc->file);
    }

    mlcf->creds = mc;

    return NGX_CONF_OK;

failed:

    if (buf) {
        OPENSSL_cleanse(buf, size);
        ngx_free(buf);
    }

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_ALERT, cf, ngx_errno,
                           ngx_close_file_n " \"%V\" failed", &mc->file);
    }

    return NGX_CONF_ERROR;
}


static void
ngx_http_manta_creds_cleanup(void *data)
{
    ngx_http_manta_creds_t  *mc = data;

    manta_creds_free(mc->creds);
    mc->creds = NULL;
}
