/*
 * Copyright (C) ngx_http_manta_module authors
 * Pure C core: no nginx types or headers.
 *
 * The request rules: media type, botId, body.  Their order and the
 * forwarded request are manta_plan.h's.
 */


#ifndef _MANTA_REQUEST_H_INCLUDED_
#define _MANTA_REQUEST_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include "manta_reason.h"
#include "manta_re.h"


#define MANTA_BOT_ID_MAX  1024      /* decoded bytes; longer is bad_bot_id */


/*
 * 1 when the Content-Type value is application/json with at most a
 * "charset=utf-8" parameter (case-insensitive, optional white space around
 * ';' and '=', charset value optionally quoted); 0 otherwise.
 */
int manta_content_type_ok(const char *value, size_t len);

/*
 * Finds exactly one "botId" argument in the query string (args without '?';
 * '&' separates, names compared case-sensitively, an argument without '='
 * is a name with an empty value), percent-decodes it ('+' is a space) into
 * out (room for min(len, MANTA_BOT_ID_MAX) bytes: the decoded value is
 * never longer than the query), and matches it against re.
 * Returns MANTA_OK with *out_len set, or MANTA_BAD_BOT_ID when missing,
 * empty, repeated, badly encoded, longer than MANTA_BOT_ID_MAX, holding a
 * NUL byte, not valid UTF-8 once decoded, or not matching.  *plain is 1
 * only for a query of "botId=" and a value of [A-Za-z0-9_-] alone, that
 * is its own canonical form (manta_query()); 0 otherwise.
 */
manta_reason_t manta_bot_id_parse(const char *args, size_t len,
    const manta_re_t *re, char *out, size_t *out_len, int *plain);

/*
 * manta_bot_id_parse() without its fast path for a value of plain ASCII
 * (kept as it is, matched without the pattern when it is MANTA_RE_BOT_ID
 * and the value is made of its classes): every value decoded, checked for
 * UTF-8 and matched.  The unit test and fuzz_bot_id hold the two to the
 * same answers.
 */
manta_reason_t manta_bot_id_parse_full(const char *args, size_t len,
    const manta_re_t *re, char *out, size_t *out_len);

/* percent-encodes everything but RFC 3986 unreserved; upper-case hex */
size_t manta_pct_encode_len(const char *src, size_t len);
char *manta_pct_encode(char *dst, const char *src, size_t len);


typedef enum {
    MANTA_UNKNOWN_FIELDS_REJECT = 0,
    MANTA_UNKNOWN_FIELDS_DROP
} manta_unknown_fields_t;

typedef enum {
    MANTA_CLIENT_SECRET_REJECT = 0,
    MANTA_CLIENT_SECRET_REPLACE
} manta_client_secret_t;

typedef struct {
    size_t                   name_max_length;   /* code points */
    const manta_re_t        *name_re;           /* NULL: none; UTF mode */
    manta_unknown_fields_t   unknown_fields;
    manta_client_secret_t    client_secret;
} manta_body_opts_t;


/*
 * Validates the request body, in this order: a JSON object (invalid_json),
 * a valid "name" (invalid_name), no "secret" unless it is replaced
 * (client_secret), no other member unless they are dropped
 * (unknown_field); and normalizes the name.  name is the caller's buffer of
 * name_size bytes, manta_name_size(len) is enough.  On MANTA_OK it holds
 * the NUL-terminated UTF-8 name of *name_len bytes; on any other result
 * *name_len is 0 and msg (msg_size bytes, MANTA_MESSAGE_MAX is enough)
 * holds the message for the caller: what was wrong and the limit, e.g.
 * "unknown member \"color\"", "name is 65 characters long, at most 64 are
 * allowed"; ""
 * means manta_reason_message().  A message never holds the value of a
 * member; member names in it are valid UTF-8, at most 64 bytes, without
 * control characters.
 * A body other than the plain {"name":"<text>"} (no other member; the
 * string's JSON escapes are decoded, as jansson decodes them, into the end
 * of the name buffer) is parsed with jansson: JSON_REJECT_DUPLICATES, no
 * JSON_DECODE_ANY, no JSON_ALLOW_NUL; every json_t is released before
 * returning.  So is a name whose escapes jansson rejects (a lone
 * surrogate, \u0000): its answer and message are jansson's.
 */
manta_reason_t manta_body_check(const manta_body_opts_t *opts,
    const char *data, size_t len, char *name, size_t name_size,
    size_t *name_len, char *msg, size_t msg_size);

/*
 * manta_body_check() for the common body: {"name":"<text>"} (JSON white
 * space between the tokens) whose string holds printable ASCII, JSON
 * escapes (\" \\ \/ and \uXXXX, surrogate pairs too) and UTF-8, every
 * code point above U+007F MANTA_NFC_QC_PLAIN or White_Space (but U+2000
 * and U+2001), or a mark composed with the one before it (a pair of
 * manta_nfc_pair()), normalized in one pass: returns 1 for such a body, with
 * the answer in *rc and msg, and on MANTA_OK the normalized name at dst
 * (not NUL-terminated), JSON-escaped as manta_body_build() would write
 * it, *name_len bytes.  Returns 0 (dst may have been written to, msg not)
 * for any other body, which is left to manta_body_check(), for a dst_size
 * below len, and for a name with an escape when opts->name_re is set.
 * Same answers and messages as manta_body_check() (t/fuzz/fuzz_body_fast.c
 * holds it to that).
 */
int manta_body_check_text(const manta_body_opts_t *opts, const char *data,
    size_t len, char *dst, size_t dst_size, size_t *name_len,
    manta_reason_t *rc, char *msg, size_t msg_size);

/*
 * The two ends of the body {"name":"<text>"}: manta_body_fast_head()
 * reads '{', "name", ':' and '"', with JSON white space between, and
 * returns what follows, or NULL; manta_body_fast_tail(), from after the
 * string's closing quote, is 1 for '}' with white space around and
 * nothing more.
 */
const unsigned char *manta_body_fast_head(const unsigned char *p,
    const unsigned char *last);
int manta_body_fast_tail(const unsigned char *p, const unsigned char *last);

/*
 * manta_body_check() with jansson for every body.  manta_body_check()
 * recognizes the common {"name":"<plain text>"} without it and gives the
 * same answers and messages (the differential fuzz target holds it to
 * that).
 */
manta_reason_t manta_body_check_json(const manta_body_opts_t *opts,
    const char *data, size_t len, char *name, size_t name_size,
    size_t *name_len, char *msg, size_t msg_size);

/*
 * Name normalization alone, in this order: reject controls, bidi controls,
 * noncharacters, private-use and unassigned code points; remove the other
 * Default_Ignorable code points; reject text that is not Stream-Safe (more
 * than 30 non-starters in a row); NFC; trim and collapse white space; then
 * reject an empty or blank result (only white space and U+2800), one
 * starting with a combining mark, one longer than name_max_length code
 * points or not matching name_re.  Linear in len.  Same buffer and
 * messages as manta_body_check(); a name_size below manta_name_size(len)
 * may give MANTA_NOMEM.
 */
manta_reason_t manta_name_normalize(const manta_body_opts_t *opts,
    const char *src, size_t len, char *name, size_t name_size,
    size_t *name_len, char *msg, size_t msg_size);

/*
 * The quick check of UAX #15, section 9, over valid UTF-8: MANTA_NFC_YES
 * when the text is NFC, MANTA_NFC_NO when it is not, MANTA_NFC_MAYBE when
 * only the full algorithm can tell.  manta_name_normalize() runs NFC only
 * when it is not MANTA_NFC_YES.
 */
typedef enum {
    MANTA_NFC_YES = 0,
    MANTA_NFC_MAYBE,
    MANTA_NFC_NO
} manta_nfc_qc_t;

manta_nfc_qc_t manta_nfc_quick_check(const char *src, size_t len);

/*
 * The generated table's byte for cp: bits 0-1 NFC_Quick_Check
 * (manta_nfc_qc_t); bits 2-3 and 4-5 the non-starters that lead and that
 * trail its canonical decomposition (cp itself when it has none); bit 6
 * set when it has non-starters and all of them lead.  Its bit 7,
 * MANTA_NFC_QC_PLAIN, is not returned: manta_name_plain() gives it.
 */
#define MANTA_NFC_QC_PLAIN  0x80

unsigned manta_nfc_qc(int32_t cp);

/*
 * 1 for a code point above U+007F that steps 1 to 5 keep as it is,
 * whatever its neighbours: allowed, not Default_Ignorable, a starter
 * whose canonical decomposition starts with a starter, NFC_Quick_Check
 * Yes, neither White_Space nor U+2800 (it may be a combining mark of
 * class 0, which step 6 rejects at the start of a name).  The table's
 * MANTA_NFC_QC_PLAIN.
 */
int manta_name_plain(int32_t cp);

/*
 * The i-th pair (s, m) of code points that the one-pass scanner of
 * manta_body_check_text() writes as their composite c, as NFC does
 * (tools/gen_nfc_qc.c says when): 1, or 0 past the last
 */
int manta_nfc_pair(size_t i, int32_t *s, int32_t *m, int32_t *c);


/* the name buffer for len bytes of input: NFC at most triples UTF-8 */
size_t manta_name_size(size_t len);

/* the body_too_large message: "body is 9000 bytes, at most 8192 ..." */
void manta_body_size_message(char *msg, size_t msg_size, long long size,
    size_t max);

/*
 * The forwarded body: prefix (see manta_creds.h, {"secret":"...","name":")
 * + the JSON-escaped name + "\"}".
 */
size_t manta_body_build_len(size_t prefix_len, const char *name,
    size_t name_len);
size_t manta_body_build(char *dst, const char *prefix, size_t prefix_len,
    const char *name, size_t name_len);


#endif /* _MANTA_REQUEST_H_INCLUDED_ */
