/*
 * Copyright (C) ngx_http_manta_module authors
 * Pure C core: no nginx types or headers.
 */


#ifndef _MANTA_JSON_H_INCLUDED_
#define _MANTA_JSON_H_INCLUDED_


#include <stddef.h>


/*
 * JSON string escaping as jansson does without JSON_ENSURE_ASCII: UTF-8 is
 * copied unescaped, '"' and '\\' are escaped, \b \f \n \r \t use their short
 * forms, other bytes below 0x20 and 0x7f become \u00XX.  No quotes are added.
 */

size_t manta_json_escape_len(const char *src, size_t len);
char *manta_json_escape(char *dst, const char *src, size_t len);

#endif /* _MANTA_JSON_H_INCLUDED_ */
