/*
 * Copyright (C) ngx_http_manta_module authors
 * Pure C core: no nginx types or headers.
 *
 * The credentials file and the JWT claims of its tokens.
 */


#ifndef _MANTA_CREDS_H_INCLUDED_
#define _MANTA_CREDS_H_INCLUDED_


#include <stddef.h>
#include <time.h>

#include "manta_util.h"


#define MANTA_TOKEN_ID_LEN  12


typedef struct {
    char        *bot_id;          /* NULL for the default entry */
    size_t       bot_id_len;

    char        *token;           /* effective: own or inherited default */
    size_t       token_len;
    char        *secret;          /* effective: own or inherited default */
    size_t       secret_len;

    /* "Bearer <token>", the Authorization header value */
    char        *authorization;
    size_t       authorization_len;

    /* {"secret":"<escaped secret>","name":" */
    char        *body_prefix;
    size_t       body_prefix_len;

    /* manta_anchor() of the token, the secret, the escaped secret */
    size_t       token_anchor;
    size_t       secret_anchor;
    size_t       escaped_anchor;

    /*
     * what nothing from upstream may carry to the caller, with those
     * anchors: the token, the secret, and the escaped secret when the
     * forwarded body spells it otherwise
     */
    manta_pats_t  pats;

    /* first 12 hex digits of SHA-256 of the token, NUL-terminated */
    char         token_id[MANTA_TOKEN_ID_LEN + 1];

    /* JWT claims; has_* is 0 for opaque tokens or absent claims */
    unsigned     has_exp:1;
    unsigned     has_nbf:1;
    long long    exp;
    long long    nbf;

    /* per-bot overrides; rate 0 and burst -1 when not set */
    unsigned     rate;            /* requests per 1000 s, as limit_req */
    long         burst;

    /*
     * run time, per process: when a token_expired rejection was last
     * logged; every entry with the same token id points to one slot
     */
    long long   *warned;
    long long    warned_at;
} manta_cred_t;


/* a caller's id, or one of the bot ids it may act for */

typedef struct {
    char        *data;
    size_t       len;
} manta_creds_str_t;


typedef struct {
    manta_creds_str_t   id;
    manta_creds_str_t  *bots;     /* sorted (bytewise) */
    size_t              nbots;
    unsigned            any:1;    /* "*": every bot the file serves */
} manta_caller_t;


typedef struct {
    manta_cred_t   *dflt;         /* NULL when no top-level token+secret */
    manta_cred_t   *bots;         /* sorted by bot_id (bytewise) */
    size_t          nbots;
    manta_caller_t *callers;      /* sorted by id (bytewise) */
    size_t          ncallers;
} manta_creds_t;


/* the longest caller id in a "callers" map, in bytes */
#define MANTA_CALLER_MAX  256


/*
 * Parses the file's bytes.  On error returns NULL and writes into err a
 * message naming the problem (member name, line and column) but never any
 * token or secret byte.  Rules: a JSON object; "token" and "secret"
 * strings (both or neither at top level); "bots" an object of objects with
 * optional "token", "secret", "rate" ("Nr/s" or "Nr/m"), "burst" (integer
 * >= 0); unknown members are errors; a token or secret that is empty or
 * holds a control character (C0 U+0000..U+001F including TAB, CR and LF,
 * DEL U+007F, C1 U+0080..U+009F) is an error; every bot must end up with
 * a token and a secret; with neither a default nor any bot the file is an
 * error.  "callers" is an object of objects {"bots": [...]}, keyed by
 * caller id (1 to MANTA_CALLER_MAX bytes, no control character), each bot
 * "*" or a bot the file serves (listed, or any botId with a default).
 * The jansson allocations made while parsing are wiped before release.
 */
manta_creds_t *manta_creds_parse(const char *data, size_t len, char *err,
    size_t errlen);

/* wipes (manta_wipe()) every byte of token and secret, then frees */
void manta_creds_free(manta_creds_t *creds);

/*
 * The entry for a validated botId: the bot's own entry, else the default;
 * NULL when the bot is not listed and there is no default (unknown_bot).
 */
const manta_cred_t *manta_creds_lookup(const manta_creds_t *creds,
    const char *bot_id, size_t len);

#define MANTA_CALLER_OK           0
#define MANTA_CALLER_UNKNOWN      1   /* not in the "callers" map */
#define MANTA_CALLER_DENIED       2   /* in it, but not for this bot */

/*
 * Whether the caller may act for the botId: its entry lists the bot or
 * "*".  When caller is not NULL it is set to the entry found.
 */
int manta_caller_allowed(const manta_creds_t *creds, const char *id,
    size_t id_len, const char *bot_id, size_t bot_id_len,
    const manta_caller_t **caller);

/* 1 when the token is a JWT past exp or before nbf at "now" */
int manta_cred_expired(const manta_cred_t *cred, time_t now);

#define MANTA_CRED_VALID          0
#define MANTA_CRED_EXPIRED        1   /* now >= exp */
#define MANTA_CRED_EXPIRING       2   /* now + window >= exp */
#define MANTA_CRED_NOT_YET_VALID  3   /* now < nbf */

/*
 * The state of a token at "now", for the configuration-time warning:
 * MANTA_CRED_EXPIRING when it expires within "window" seconds.  Opaque
 * tokens and JWTs without exp or nbf are MANTA_CRED_VALID.
 */
int manta_cred_expiry(const manta_cred_t *cred, time_t now, time_t window);

/*
 * 1 when a token_expired rejection with this token should be logged at
 * "now": the first time, then at most once every "interval" seconds per
 * token id (entries sharing a token share the record).  Per process.
 */
int manta_cred_warn_due(const manta_cred_t *cred, time_t now,
    time_t interval);

#endif /* _MANTA_CREDS_H_INCLUDED_ */
