/*
 * Copyright (C) ngx_http_manta_module authors
 * Pure C core: no nginx types or headers.
 */


#ifndef _MANTA_JSON_H_INCLUDED_
#define _MANTA_JSON_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


/*
 * JSON string escaping as jansson does without JSON_ENSURE_ASCII: UTF-8 is
 * copied unescaped, '"' and '\\' are escaped, \b \f \n \r \t use their short
 * forms, other bytes below 0x20 and 0x7f become \u00XX.  No quotes are added.
 */

size_t manta_json_escape_len(const char *src, size_t len);
char *manta_json_escape(char *dst, const char *src, size_t len);

/*
 * Decodes the escape at p (*p is the backslash) of a JSON string as
 * jansson does: \" \\ \/ \b \f \n \r \t and \uXXXX (hex digits of either
 * case), a surrogate pair as the one code point it stands for; writes it
 * as UTF-8 at *dst and moves *dst on, never by more bytes than the escape
 * has.  Returns the byte after the escape, or NULL for what jansson
 * rejects (another escape, fewer than four hex digits, a lone or reversed
 * surrogate, \u0000 without JSON_ALLOW_NUL), *dst left as it was.
 */
const char *manta_json_unescape(const char *p, const char *last,
    char **dst);

/* the value of the four hex digits at p, -1 if there are not four */
int32_t manta_json_hex4(const unsigned char *p, const unsigned char *last);

#endif /* _MANTA_JSON_H_INCLUDED_ */
