/*
 * Copyright (C) ngx_http_manta_module authors
 * Pure C core: no nginx types or headers.
 *
 * A small strict JSON tokenizer (RFC 8259, UTF-8 only) that allocates
 * nothing: it writes tokens into the caller's array, as jsmn does, and
 * leaves the strings in the caller's buffer.  It is conservative: it only
 * answers where jansson (json_loadb with JSON_REJECT_DUPLICATES) would
 * answer the same, and says "unsure" otherwise, so that its caller can
 * fall back to jansson.
 */


#ifndef _MANTA_JSCAN_H_INCLUDED_
#define _MANTA_JSCAN_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


/* nesting deeper than this is "unsure" */
#define MANTA_JSCAN_DEPTH  32


typedef enum {
    MANTA_JT_OBJECT = 1,
    MANTA_JT_ARRAY,
    MANTA_JT_STRING,
    MANTA_JT_NUMBER,
    MANTA_JT_TRUE,
    MANTA_JT_FALSE,
    MANTA_JT_NULL
} manta_jtype_t;


#define MANTA_JT_KEY      0x1       /* a string that names a member */
#define MANTA_JT_ESCAPED  0x2       /* a string holding an escape */
#define MANTA_JT_REAL     0x4       /* a number with a fraction or exponent */


/*
 * Tokens are in document order, a member's name right before its value.
 * start and end are byte offsets into the buffer: for a string, the bytes
 * between its quotes (still escaped); for an object or array, from its
 * bracket to past the closing one.  parent is the index of the object or
 * array holding the token (names and values alike), -1 for the top value;
 * size the number of members or elements; next the index of the token
 * after this one and all it holds.
 */

typedef struct {
    uint8_t   type;
    uint8_t   flags;
    int32_t   parent;
    uint32_t  start;
    uint32_t  end;
    uint32_t  size;
    uint32_t  next;
} manta_jtok_t;


typedef enum {
    MANTA_JSCAN_OK = 0,
    MANTA_JSCAN_INVALID,        /* not JSON: jansson rejects it as well */
    MANTA_JSCAN_UNSURE          /* ask jansson */
} manta_jscan_rc_t;


/*
 * Tokenizes one JSON text (any value at the top, surrounded by optional
 * white space) into tok[0 .. *count).  MANTA_JSCAN_INVALID for a text
 * that breaks RFC 8259's grammar or holds a byte sequence that is not
 * well-formed UTF-8.  MANTA_JSCAN_UNSURE, with nothing else meant, for a
 * text that needs more than ntok tokens or is nested deeper than
 * MANTA_JSCAN_DEPTH, for an object of more than 64 members, for a member
 * name that holds an escape (so a name's bytes are its value) or is a
 * duplicate, for a NUL byte anywhere (jansson's reader skips them) and for
 * "\u0000", for an escaped surrogate not in a pair, for an integer of more
 * than 18 digits, a real of more than 20 bytes or with an exponent of more
 * than 2 digits, and for a buffer of 2 GB or more.
 */
manta_jscan_rc_t manta_jscan(const char *buf, size_t len, manta_jtok_t *tok,
    size_t ntok, size_t *count);

/*
 * Decodes the bytes of a string token that manta_jscan() returned
 * (buf + start, end - start bytes) into dst, which has room for len bytes
 * (decoding never grows a string); returns the decoded length.  Surrogate
 * pairs become one 4-byte UTF-8 sequence.
 */
size_t manta_jscan_decode(const char *s, size_t len, char *dst);

/*
 * The index of the value of the member named name (unescaped bytes) of the
 * object at tok[obj], or -1 when it has none.
 */
int manta_jscan_member(const char *buf, const manta_jtok_t *tok, int obj,
    const char *name, size_t len);


#endif /* _MANTA_JSCAN_H_INCLUDED_ */
