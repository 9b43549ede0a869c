/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * base64url for the JWTs the unit tests and t/fuzz/fuzz_jwt.c build.
 */


#ifndef _B64URL_H_INCLUDED_
#define _B64URL_H_INCLUDED_


#include <stddef.h>


/*
 * Writes base64url of src, without padding, at dst, which has room for
 * (len + 2) / 3 * 4 bytes; returns the end of what it wrote.
 */
char *b64url_encode(char *dst, const char *src, size_t len);


#endif /* _B64URL_H_INCLUDED_ */
