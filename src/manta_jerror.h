/*
 * Copyright (C) ngx_http_manta_module authors
 * Pure C core: no nginx types or headers.
 *
 * Where jansson (json_loadb() with JSON_REJECT_DUPLICATES) rejects a text
 * and how it says so, found without jansson: its lexer and parser
 * followed step by step, with no allocation, for the texts whose every
 * step can be followed exactly.
 */


#ifndef _MANTA_JERROR_H_INCLUDED_
#define _MANTA_JERROR_H_INCLUDED_


#include <stddef.h>

#include <jansson.h>


/* nesting deeper than this, or more names in one object: "ask jansson" */
#define MANTA_JERROR_DEPTH    32
#define MANTA_JERROR_MEMBERS  32


/*
 * 1 when jansson rejects the text, with its error code
 * (json_error_invalid_syntax, json_error_premature_end_of_input or
 * json_error_end_of_input_expected) and byte position as json_loadb()
 * reports them; 0 when jansson accepts the text or when the text leaves
 * what is followed here: a byte that is not printable ASCII or JSON white
 * space, a "\u" escape, a number with an exponent or of more than 18
 * bytes (300 with a fraction), a member name with an escape or given
 * twice in one object, more than MANTA_JERROR_MEMBERS names in one object,
 * nesting deeper than MANTA_JERROR_DEPTH.
 */

int manta_jerror(const char *data, size_t len, enum json_error_code *code,
    size_t *position);


#endif /* _MANTA_JERROR_H_INCLUDED_ */
