/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * manta_creds.c: the credentials file, token ids, JWT claims, rates.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "manta_creds.h"
#include "manta_limit.h"
#include "b64url.h"
#include "tap.h"
#include "tests.h"


#define S(s)  (s), (sizeof(s) - 1)

#define JWT_HEAD  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"


/* a token with this JWT payload, expired or not at a time */

static const struct {
    const char  *payload;
    long long    now;
    int          expired;
    const char  *test;
} expiry[] = {
    { "{\"exp\":100,\"nbf\":50}", 49, 1, "expiry: before nbf" },
    { "{\"exp\":100,\"nbf\":50}", 50, 0, "expiry: at nbf" },
    { "{\"exp\":100,\"nbf\":50}", 99, 0, "expiry: before exp" },
    { "{\"exp\":100,\"nbf\":50}", 100, 1, "expiry: at exp" },
    { "{\"exp\":100,\"nbf\":50}", 101, 1, "expiry: after exp" },
    { "{\"exp\":100}", 0, 0, "expiry: exp only, before exp" },
    { "{\"exp\":100}", 100, 1, "expiry: exp only, at exp" },
    { "{\"nbf\":100}", 99, 1, "expiry: nbf only, before nbf" },
    { "{\"nbf\":100}", 2000000000, 0, "expiry: nbf only, after nbf" },
};


/* the configuration-time state of a token with exp 1000 and nbf 100 */

static const struct {
    time_t       now;
    time_t       window;
    int          state;
    const char  *test;
} expiry_state[] = {
    { 99, 0, MANTA_CRED_NOT_YET_VALID, "expiry state: before nbf" },
    { 100, 0, MANTA_CRED_VALID, "expiry state: valid, no window" },
    { 100, 899, MANTA_CRED_VALID, "expiry state: exp just beyond the window" },
    { 100, 900, MANTA_CRED_EXPIRING, "expiry state: exp at the window's end" },
    { 999, 0, MANTA_CRED_VALID, "expiry state: one second left, no window" },
    { 1000, 604800, MANTA_CRED_EXPIRED, "expiry state: at exp" },
    { 5000, 0, MANTA_CRED_EXPIRED, "expiry state: after exp" },
};


static manta_creds_t *parse(const char *json, char *err, size_t errlen);
static void parse_fails(const char *json, size_t len, const char *message,
    const char *test);
static char *b64url(const char *src, size_t len);
static char *jwt(const char *payload);
static manta_creds_t *parse_token(const char *token);
static void claims_are(const char *payload, int has_exp, long long exp,
    int has_nbf, long long nbf, const char *test);
static void opaque(const char *token, const char *test);
static void callers(void);


void
test_creds(void)
{
    char                 err[256], *tok, *json;
    size_t               i;
    manta_creds_t       *c;
    json_free_t          f0, f1;
    json_malloc_t        m0, m1;
    const manta_cred_t  *cr;

    json_get_alloc_funcs(&m0, &f0);

    callers();

    /* the default entry only */

    c = parse("{\"token\":\"abc\",\"secret\":\"s3cr\\\"et\\\\\"}", err,
              sizeof(err));

    if (ok(c != NULL, "default only: parsed (%s)", err)) {
        ok(c->dflt != NULL, "default only: default entry");
        is_int(c->nbots, 0, "default only: no bots");
        ok(c->dflt->bot_id == NULL, "default only: bot_id NULL");
        is_mem(c->dflt->token, c->dflt->token_len, "abc",
               "default only: token");
        is_mem(c->dflt->secret, c->dflt->secret_len, "s3cr\"et\\",
               "default only: secret");
        is_mem(c->dflt->authorization, c->dflt->authorization_len,
               "Bearer abc", "default only: authorization");
        is_mem(c->dflt->body_prefix, c->dflt->body_prefix_len,
               "{\"secret\":\"s3cr\\\"et\\\\\",\"name\":\"",
               "default only: body prefix escapes the secret");
        is_str(c->dflt->token_id, "ba7816bf8f01",
               "default only: token id of \"abc\"");
        is_int(c->dflt->rate, 0, "default only: no rate");
        is_int(c->dflt->burst, -1, "default only: no burst");
        ok(!c->dflt->has_exp && !c->dflt->has_nbf,
           "default only: opaque token, no claims");
        ok(manta_creds_lookup(c, S("any")) == c->dflt,
           "default only: any bot gets the default");
        is_int(manta_cred_expired(c->dflt, 0), 0,
               "default only: opaque token never expires");
    }

    manta_creds_free(c);

    json_get_alloc_funcs(&m1, &f1);
    ok(m0 == m1 && f0 == f1, "jansson allocation functions restored");

    /* bots: overrides and inheritance */

    c = parse("{\"token\":\"T\",\"secret\":\"S\",\"bots\":{"
              "\"b\":{\"token\":\"TB\"},"
              "\"a\":{\"secret\":\"SA\",\"rate\":\"20r/s\",\"burst\":40},"
              "\"c\":{},"
              "\"B\":{\"token\":\"TBB\",\"secret\":\"SBB\",\"rate\":\"6r/m\","
              "\"burst\":0},"
              "\"ab\":{}}}", err, sizeof(err));

    if (ok(c != NULL, "bots: parsed (%s)", err)) {
        ok(c->dflt != NULL, "bots: default entry");
        is_int(c->nbots, 5, "bots: 5 bots");

        if (c->nbots == 5) {
            is_str(c->bots[0].bot_id, "B", "bots: sorted 0 B");
            is_str(c->bots[1].bot_id, "a", "bots: sorted 1 a");
            is_str(c->bots[2].bot_id, "ab", "bots: sorted 2 ab");
            is_str(c->bots[3].bot_id, "b", "bots: sorted 3 b");
            is_str(c->bots[4].bot_id, "c", "bots: sorted 4 c");
        }

        cr = manta_creds_lookup(c, S("a"));
        if (ok(cr != NULL && cr != c->dflt, "bots: lookup a")) {
            is_mem(cr->bot_id, cr->bot_id_len, "a", "bots: a: bot_id");
            is_str(cr->token, "T", "bots: a: token inherited");
            is_str(cr->secret, "SA", "bots: a: own secret");
            is_str(cr->authorization, "Bearer T", "bots: a: authorization");
            is_str(cr->body_prefix, "{\"secret\":\"SA\",\"name\":\"",
                   "bots: a: body prefix");
            is_int(cr->rate, 20000, "bots: a: rate 20r/s");
            is_int(cr->burst, 40, "bots: a: burst");
            is_str(cr->token_id, c->dflt->token_id,
                   "bots: a: token id of the inherited token");
        }

        cr = manta_creds_lookup(c, S("b"));
        if (ok(cr != NULL && cr != c->dflt, "bots: lookup b")) {
            is_str(cr->token, "TB", "bots: b: own token");
            is_str(cr->secret, "S", "bots: b: secret inherited");
            is_str(cr->authorization, "Bearer TB", "bots: b: authorization");
            is_int(cr->rate, 0, "bots: b: no rate");
            is_int(cr->burst, -1, "bots: b: no burst");
            ok(strcmp(cr->token_id, c->dflt->token_id) != 0,
               "bots: b: own token id");
        }

        cr = manta_creds_lookup(c, S("B"));
        if (ok(cr != NULL && cr != c->dflt, "bots: lookup B")) {
            is_str(cr->token, "TBB", "bots: B: own token");
            is_str(cr->secret, "SBB", "bots: B: own secret");
            is_int(cr->rate, 100, "bots: B: rate 6r/m");
            is_int(cr->burst, 0, "bots: B: burst 0");
        }

        cr = manta_creds_lookup(c, S("c"));
        if (ok(cr != NULL && cr != c->dflt, "bots: lookup c")) {
            is_str(cr->token, "T", "bots: c: token inherited");
            is_str(cr->secret, "S", "bots: c: secret inherited");
        }

        cr = manta_creds_lookup(c, S("ab"));
        ok(cr != NULL && cr->bot_id_len == 2, "bots: lookup ab");

        ok(manta_creds_lookup(c, S("zz")) == c->dflt,
           "bots: unknown bot gets the default");
        ok(manta_creds_lookup(c, S("A")) == c->dflt,
           "bots: lookup is case-sensitive");
        ok(manta_creds_lookup(c, "abc", 1) == &c->bots[1],
           "bots: lookup uses the length");
    }

    manta_creds_free(c);

    /* bots without a default */

    c = parse("{\"bots\":{\"x\":{\"token\":\"t\",\"secret\":\"s\"}}}", err,
              sizeof(err));

    if (ok(c != NULL, "no default: parsed (%s)", err)) {
        ok(c->dflt == NULL, "no default: no default entry");
        cr = manta_creds_lookup(c, S("x"));
        ok(cr != NULL && strcmp(cr->token, "t") == 0, "no default: x found");
        ok(manta_creds_lookup(c, S("y")) == NULL, "no default: y unknown");
        ok(manta_creds_lookup(c, S("xx")) == NULL, "no default: xx unknown");
        ok(manta_creds_lookup(c, S("")) == NULL, "no default: empty unknown");
    }

    manta_creds_free(c);

    c = parse("{\"bots\":{},\"token\":\"t\",\"secret\":\"s\"}", err,
              sizeof(err));
    ok(c != NULL && c->nbots == 0 && c->dflt != NULL,
       "empty bots with a default: parsed");
    manta_creds_free(c);

    c = manta_creds_parse(S("{\"token\":\"t\",\"secret\":\"s\"}"), NULL, 0);
    ok(c != NULL, "parsed without an error buffer");
    manta_creds_free(c);

    manta_creds_free(NULL);

    /* errors */

    parse_fails(S("{\"token\":\"t\",\"secret\":SUPERSECRET-1}"),
                "malformed JSON at line 1, column",
                "malformed: bare word at the secret");
    parse_fails(S("{\"token\":\"t\",\"secret\":\"SUPERSECRET-2"),
                "at line 1, column", "malformed: unterminated secret");
    parse_fails(S("{\"token\":\"t\",\n\"secret\":\"SUPERSECRET-3\"x}"),
                "malformed JSON at line 2, column",
                "malformed: garbage after the secret, line 2");
    parse_fails(S("{\"token\":\"SUPERSECRET-4\xff\",\"secret\":\"s\"}"),
                "invalid UTF-8 at line 1", "malformed: invalid UTF-8");
    parse_fails(S(""), "at line", "malformed: empty file");
    parse_fails(S("{\"token\":\"t\",\"secret\":\"s\"} {}"), "at line 1",
                "malformed: data after the object");
    parse_fails(S("{\"token\":\"t\",\"secret\":\"s\",\"token\":\"u\"}"),
                "duplicate member", "malformed: duplicate member");
    parse_fails(S("{\"token\":\"SUPERSECRET-5\\u0000\",\"secret\":\"s\"}"),
                "NUL", "NUL via \\u0000 in the token");
    parse_fails(S("{\"token\":\"t\",\"secret\":\"s\0\"}"), "at line",
                "raw NUL in the secret");
    {
        static const struct {
            const char  *json;
            size_t       len;
            const char  *message;
            const char  *name;
        } controls[] = {
            { S("{\"token\":\"SUPERSECRET-6\\r\",\"secret\":\"s\"}"),
              "token must not contain control characters",
              "CR in the token" },
            { S("{\"token\":\"t\",\"secret\":\"SUPERSECRET-7\\n\"}"),
              "secret must not contain control characters",
              "LF in the secret" },
            { S("{\"bots\":{\"x\":{\"token\":\"a\\nb\",\"secret\":\"s\"}}}"),
              "token of bot \"x\" must not contain control characters",
              "LF in a bot's token" },
            { S("{\"token\":\"SUPERSECRET-8\\t\",\"secret\":\"s\"}"),
              "token must not contain control characters",
              "TAB in the token" },
            { S("{\"token\":\"SUPERSECRET-9\x09x\",\"secret\":\"s\"}"),
              "at line",
              "raw TAB in the token (invalid JSON)" },
            { S("{\"token\":\"SUPERSECRET-10\\u0001\",\"secret\":\"s\"}"),
              "token must not contain control characters",
              "U+0001 in the token" },
            { S("{\"token\":\"t\",\"secret\":\"SUPERSECRET-11\\u001f\"}"),
              "secret must not contain control characters",
              "U+001F in the secret" },
            { S("{\"token\":\"SUPERSECRET-12\x7f\",\"secret\":\"s\"}"),
              "token must not contain control characters",
              "raw DEL in the token" },
            { S("{\"token\":\"t\",\"secret\":\"SUPERSECRET-13\\u007f\"}"),
              "secret must not contain control characters",
              "escaped DEL in the secret" },
            { S("{\"token\":\"SUPERSECRET-14\\u0080\",\"secret\":\"s\"}"),
              "token must not contain control characters",
              "C1 U+0080 in the token" },
            { S("{\"token\":\"SUPERSECRET-15\xc2\x85\",\"secret\":\"s\"}"),
              "token must not contain control characters",
              "raw C1 U+0085 (NEL) in the token" },
            { S("{\"token\":\"t\",\"secret\":\"SUPERSECRET-16\\u009f\"}"),
              "secret must not contain control characters",
              "C1 U+009F in the secret" },
            { S("{\"bots\":{\"b\":{\"token\":\"t\",\"secret\":"
                "\"SUPERSECRET-17\\u0085\"}}}"),
              "secret of bot \"b\" must not contain control characters",
              "C1 in a bot's secret" },
        };

        for (i = 0; i < sizeof(controls) / sizeof(controls[0]); i++) {
            parse_fails(controls[i].json, controls[i].len,
                        controls[i].message, controls[i].name);
        }
    }

    c = parse("{\"token\":\"t\\u00a0\\u00ff~\",\"secret\":\" \"}", err,
              sizeof(err));
    ok(c != NULL, "U+00A0, U+00FF, ~ and space are not control characters "
       "(%s)", err);
    manta_creds_free(c);

    parse_fails(S("{\"token\":\"\",\"secret\":\"s\"}"),
                "member \"token\" must not be empty", "empty token");
    parse_fails(S("{\"token\":\"t\",\"secret\":\"\"}"),
                "member \"secret\" must not be empty", "empty secret");
    parse_fails(S("{\"token\":1,\"secret\":\"s\"}"),
                "member \"token\" must be a string", "token not a string");
    parse_fails(S("{\"token\":\"t\",\"secret\":null}"),
                "member \"secret\" must be a string", "secret null");
    parse_fails(S("{\"token\":\"t\"}"), "\"token\" and \"secret\"",
                "secret missing");
    parse_fails(S("{\"secret\":\"SUPERSECRET-8\"}"), "\"token\" and \"secret\"",
                "token missing");
    parse_fails(S("{\"token\":\"t\",\"secret\":\"s\",\"foo\":1}"),
                "unknown member \"foo\"", "unknown member");
    parse_fails(S("{\"token\":\"t\",\"secret\":\"s\",\"Token\":\"x\"}"),
                "unknown member \"Token\"", "member names are case-sensitive");
    parse_fails(S("{\"token\":\"t\",\"secret\":\"s\",\"rate\":\"1r/s\"}"),
                "unknown member \"rate\"", "rate is a bot member");
    parse_fails(S("{}"), "no default", "empty object");
    parse_fails(S("{\"bots\":{}}"), "no default", "empty bots, no default");
    parse_fails(S("[]"), "one JSON object", "top-level array");
    parse_fails(S("{\"token\":\"t\",\"secret\":\"s\",\"bots\":[]}"),
                "member \"bots\" must be an object", "bots an array");
    parse_fails(S("{\"token\":\"t\",\"secret\":\"s\",\"bots\":{\"x\":1}}"),
                "bot \"x\" must be an object", "bot not an object");
    parse_fails(S("{\"token\":\"t\",\"secret\":\"s\",\"bots\":{\"\":{}}}"),
                "bot id \"\" must have", "empty bot id");
    parse_fails(S("{\"bots\":{\"x\":{\"secret\":\"s\"}}}"),
                "bot \"x\" has no token and there is no default",
                "bot without token, no default");
    parse_fails(S("{\"bots\":{\"x\":{\"token\":\"t\"}}}"),
                "bot \"x\" has no secret and there is no default",
                "bot without secret, no default");
    parse_fails(S("{\"token\":\"t\",\"secret\":\"s\",\"bots\":{\"x\":"
                  "{\"limit\":1}}}"),
                "unknown member \"limit\" in bot \"x\"",
                "unknown member in a bot");
    parse_fails(S("{\"token\":\"t\",\"secret\":\"s\",\"bots\":{\"x\":"
                  "{\"rate\":\"10r/h\"}}}"),
                "invalid rate \"10r/h\" for bot \"x\"", "bad rate");
    parse_fails(S("{\"token\":\"t\",\"secret\":\"s\",\"bots\":{\"x\":"
                  "{\"rate\":\"0r/s\"}}}"),
                "invalid rate \"0r/s\" for bot \"x\"", "zero rate");
    parse_fails(S("{\"token\":\"t\",\"secret\":\"s\",\"bots\":{\"x\":"
                  "{\"rate\":10}}}"),
                "member \"rate\" of bot \"x\" must be a string",
                "rate a number");
    parse_fails(S("{\"token\":\"t\",\"secret\":\"s\",\"bots\":{\"x\":"
                  "{\"burst\":-1}}}"),
                "invalid burst for bot \"x\"", "negative burst");
    parse_fails(S("{\"token\":\"t\",\"secret\":\"s\",\"bots\":{\"x\":"
                  "{\"burst\":1.5}}}"),
                "invalid burst for bot \"x\"", "real burst");
    parse_fails(S("{\"token\":\"t\",\"secret\":\"s\",\"bots\":{\"x\":"
                  "{\"burst\":\"3\"}}}"),
                "invalid burst for bot \"x\"", "string burst");
    parse_fails(S("{\"token\":\"t\",\"secret\":\"s\",\"bots\":{\"x\\\"y\":"
                  "{\"burst\":true}}}"),
                "invalid burst for bot \"x\\x22y\"",
                "bot ids are quoted safely");

    c = manta_creds_parse(S("{\"token\":\"t\"}"), err, 8);
    ok(c == NULL && strlen(err) == 7, "error truncated to errlen - 1");

    json_get_alloc_funcs(&m1, &f1);
    ok(m0 == m1 && f0 == f1,
       "jansson allocation functions restored after errors");

    /* JWT claims */

    claims_are("{\"exp\":2000000000,\"nbf\":1000000000}", 1, 2000000000LL, 1,
               1000000000LL, "JWT: exp and nbf");
    claims_are("{\"exp\":1}", 1, 1, 0, 0, "JWT: payload without padding");
    claims_are("{\"exp\":12}", 1, 12, 0, 0, "JWT: payload needing ==");
    claims_are("{\"exp\":123}", 1, 123, 0, 0, "JWT: payload needing =");
    claims_are("{\"sub\":\"x\",\"exp\":1500000000.25}", 1, 1500000001LL, 0,
               0, "JWT: real exp rounded up");
    claims_are("{\"nbf\":-5.5}", 0, 0, 1, -5, "JWT: negative real nbf");
    claims_are("{\"exp\":\"2000000000\",\"nbf\":null}", 0, 0, 0, 0,
               "JWT: non-numeric claims ignored");
    claims_are("{\"sub\":\"\xe2\x82\xac>?~\"}", 0, 0, 0, 0,
               "JWT: no time claims (base64url - and _)");
    claims_are("{\"exp\":1e300}", 1, 9223372036854775807LL, 0, 0,
               "JWT: huge exp clamped");

    opaque("abc", "opaque: no dot");
    opaque("a.b", "opaque: one dot");
    opaque("x.eyJleHAiOjF9.y.z", "opaque: three dots");
    opaque("x.!!!!.y", "opaque: bad base64url");
    opaque("x.eyJleHAiOjF9+.y", "opaque: base64 '+' is not base64url");
    opaque("x.YWJj.y", "opaque: payload not JSON");
    opaque("x.WzFd.y", "opaque: payload a JSON array");
    opaque("x..y", "opaque: empty payload");
    opaque("x.eyJleHAiOjF9a.y", "opaque: payload length 1 mod 4");

    tok = jwt("{\"exp\":12}");
    json = malloc(strlen(tok) + 3);
    snprintf(json, strlen(tok) + 3, "%s", tok);
    free(tok);

    /* the same payload with explicit padding */

    tok = strchr(strchr(json, '.') + 1, '.');
    memmove(tok + 2, tok, strlen(tok) + 1);
    tok[0] = '=';
    tok[1] = '=';

    c = parse_token(json);
    ok(c != NULL && c->dflt->has_exp && c->dflt->exp == 12,
       "JWT: padded payload accepted");
    manta_creds_free(c);
    free(json);

    /* expiry */

    for (i = 0; i < sizeof(expiry) / sizeof(expiry[0]); i++) {
        tok = jwt(expiry[i].payload);
        c = parse_token(tok);
        ok(c != NULL
           && manta_cred_expired(c->dflt, expiry[i].now) == expiry[i].expired,
           "%s", expiry[i].test);
        manta_creds_free(c);
        free(tok);
    }

    /* a bot's own JWT */

    tok = jwt("{\"exp\":77}");
    json = malloc(strlen(tok) + 128);
    snprintf(json, strlen(tok) + 128,
             "{\"token\":\"t\",\"secret\":\"s\",\"bots\":{\"j\":"
             "{\"token\":\"%s\"}}}", tok);
    c = parse(json, err, sizeof(err));

    if (ok(c != NULL, "bot JWT: parsed (%s)", err)) {
        cr = manta_creds_lookup(c, S("j"));
        ok(cr->has_exp && cr->exp == 77, "bot JWT: bot's claims");
        ok(!c->dflt->has_exp, "bot JWT: default's token opaque");
    }

    manta_creds_free(c);
    free(json);
    free(tok);

    /* the configuration-time expiry state */

    tok = jwt("{\"exp\":1000,\"nbf\":100}");
    c = parse_token(tok);

    if (ok(c != NULL, "expiry state: parsed")) {
        for (i = 0; i < sizeof(expiry_state) / sizeof(expiry_state[0]); i++)
        {
            is_int(manta_cred_expiry(c->dflt, expiry_state[i].now,
                                     expiry_state[i].window),
                   expiry_state[i].state, "%s", expiry_state[i].test);
        }
    }

    manta_creds_free(c);
    free(tok);

    c = parse_token("opaque-token");
    ok(c && manta_cred_expiry(c->dflt, 2000000000, 2000000000)
            == MANTA_CRED_VALID, "expiry state: opaque token never warned");
    manta_creds_free(c);

    /* the run-time token_expired log: once a minute per token id */

    c = parse("{\"token\":\"T0\",\"secret\":\"s\",\"bots\":{"
              "\"a\":{\"secret\":\"sa\"},\"b\":{\"token\":\"T1\"},"
              "\"c\":{\"token\":\"T1\"},\"d\":{\"token\":\"T0\"},"
              "\"e\":{\"token\":\"T2\"}}}", err, sizeof(err));

    if (ok(c != NULL, "warn: parsed (%s)", err)) {
        const manta_cred_t  *a, *b, *cc, *d, *e;

        a = manta_creds_lookup(c, S("a"));
        b = manta_creds_lookup(c, S("b"));
        cc = manta_creds_lookup(c, S("c"));
        d = manta_creds_lookup(c, S("d"));
        e = manta_creds_lookup(c, S("e"));

        is_int(manta_cred_warn_due(c->dflt, 1000, 60), 1,
               "warn: first rejection logged");
        is_int(manta_cred_warn_due(c->dflt, 1059, 60), 0,
               "warn: again within the minute: not logged");
        is_int(manta_cred_warn_due(a, 1030, 60), 0,
               "warn: bot inheriting the default token shares its record");
        is_int(manta_cred_warn_due(d, 1030, 60), 0,
               "warn: bot listing the default token again shares it too");
        is_int(manta_cred_warn_due(b, 1030, 60), 1,
               "warn: another token id is logged");
        is_int(manta_cred_warn_due(cc, 1031, 60), 0,
               "warn: two bots with one token share one record");
        is_int(manta_cred_warn_due(e, 1031, 60), 1,
               "warn: a third token id is logged");
        is_int(manta_cred_warn_due(c->dflt, 1060, 60), 1,
               "warn: logged again after a minute");
        is_int(manta_cred_warn_due(c->dflt, 900, 60), 1,
               "warn: clock stepped back: logged");
    }

    manta_creds_free(c);

    /* rates */

    is_int(manta_rate_parse(S("10r/s")), 10000, "rate: 10r/s");
    is_int(manta_rate_parse(S("1r/s")), 1000, "rate: 1r/s");
    is_int(manta_rate_parse(S("1r/m")), 16, "rate: 1r/m");
    is_int(manta_rate_parse(S("60r/m")), 1000, "rate: 60r/m");
    is_int(manta_rate_parse(S("007r/s")), 7000, "rate: leading zeros");
    is_int(manta_rate_parse(S("4294967r/s")), 4294967000U,
           "rate: largest");
    is_int(manta_rate_parse(S("4294968r/s")), 0, "rate: overflow");
    is_int(manta_rate_parse(S("99999999999999999999r/s")), 0,
           "rate: huge");
    is_int(manta_rate_parse(S("0r/s")), 0, "rate: zero");
    is_int(manta_rate_parse(S("r/s")), 0, "rate: no number");
    is_int(manta_rate_parse(S("10r/h")), 0, "rate: r/h");
    is_int(manta_rate_parse(S("10r/S")), 0, "rate: r/S");
    is_int(manta_rate_parse(S("10")), 0, "rate: no unit");
    is_int(manta_rate_parse(S("-1r/s")), 0, "rate: negative");
    is_int(manta_rate_parse(S("+1r/s")), 0, "rate: plus sign");
    is_int(manta_rate_parse(S(" 1r/s")), 0, "rate: leading space");
    is_int(manta_rate_parse(S("1 r/s")), 0, "rate: inner space");
    is_int(manta_rate_parse(S("1.5r/s")), 0, "rate: fraction");
    is_int(manta_rate_parse(S("")), 0, "rate: empty");
    is_int(manta_rate_parse("10r/sX", 5), 10000, "rate: length respected");
}


/* the "callers" map: who may act for which bot */

static void
callers(void)
{
    char                   err[256];
    manta_creds_t         *c;
    const manta_caller_t  *e;

    c = parse("{\"bots\":{\"b1\":{\"token\":\"t\",\"secret\":\"s\"},"
              "\"b2\":{\"token\":\"t\",\"secret\":\"s\"}},"
              "\"callers\":{\"svc-z\":{\"bots\":[\"b2\",\"b1\"]},"
              "\"svc-a\":{\"bots\":[\"b2\"]},\"ops\":{\"bots\":[\"*\"]},"
              "\"none\":{\"bots\":[]}}}", err, sizeof(err));

    if (ok(c != NULL, "callers: parsed (%s)", err)) {
        is_int(c->ncallers, 4, "callers: four entries");
        is_int(manta_caller_allowed(c, S("svc-a"), S("b2"), &e),
               MANTA_CALLER_OK, "callers: listed bot allowed");
        ok(e != NULL && e->id.len == 5 && memcmp(e->id.data, "svc-a", 5) == 0,
           "callers: the entry found is the caller's");
        is_int(manta_caller_allowed(c, S("svc-a"), S("b1"), NULL),
               MANTA_CALLER_DENIED, "callers: unlisted bot refused");
        is_int(manta_caller_allowed(c, S("svc-z"), S("b1"), NULL),
               MANTA_CALLER_OK, "callers: bots in any order (b1)");
        is_int(manta_caller_allowed(c, S("svc-z"), S("b2"), NULL),
               MANTA_CALLER_OK, "callers: bots in any order (b2)");
        is_int(manta_caller_allowed(c, S("svc-z"), S("b"), NULL),
               MANTA_CALLER_DENIED, "callers: a bot id prefix refused");
        is_int(manta_caller_allowed(c, S("ops"), S("b1"), NULL),
               MANTA_CALLER_OK, "callers: \"*\" allows b1");
        is_int(manta_caller_allowed(c, S("ops"), S("zzz"), NULL),
               MANTA_CALLER_OK, "callers: \"*\" allows any botId");
        is_int(manta_caller_allowed(c, S("none"), S("b1"), NULL),
               MANTA_CALLER_DENIED, "callers: empty bots list");
        is_int(manta_caller_allowed(c, S("svc-b"), S("b1"), &e),
               MANTA_CALLER_UNKNOWN, "callers: unknown caller");
        ok(e == NULL, "callers: no entry for an unknown caller");
        is_int(manta_caller_allowed(c, S("svc"), S("b2"), NULL),
               MANTA_CALLER_UNKNOWN, "callers: a caller id prefix");
        is_int(manta_caller_allowed(c, "", 0, S("b2"), NULL),
               MANTA_CALLER_UNKNOWN, "callers: empty caller id");
    }

    manta_creds_free(c);

    c = parse("{\"token\":\"t\",\"secret\":\"s\","
              "\"callers\":{\"svc\":{\"bots\":[\"any-bot\"]}}}", err,
              sizeof(err));

    if (ok(c != NULL, "callers with a default: parsed (%s)", err)) {
        is_int(manta_caller_allowed(c, S("svc"), S("any-bot"), NULL),
               MANTA_CALLER_OK, "callers with a default: any bot served");
    }

    manta_creds_free(c);

    c = parse("{\"token\":\"t\",\"secret\":\"s\"}", err, sizeof(err));

    if (ok(c != NULL, "no callers: parsed (%s)", err)) {
        is_int(c->ncallers, 0, "no callers: empty map");
        is_int(manta_caller_allowed(c, S("svc"), S("b"), NULL),
               MANTA_CALLER_UNKNOWN, "no callers: nobody is found");
    }

    manta_creds_free(c);

    c = parse("{\"token\":\"t\",\"secret\":\"s\",\"callers\":{}}", err,
              sizeof(err));
    ok(c != NULL && c->ncallers == 0, "callers: an empty map is valid");
    manta_creds_free(c);

#define CB  "{\"bots\":{\"b1\":{\"token\":\"t\",\"secret\":\"SUPERSECRET\"}},"

    parse_fails(S(CB "\"callers\":[]}"), "member \"callers\" must be an "
                "object", "callers: not an object");
    parse_fails(S(CB "\"callers\":{\"svc\":[\"b1\"]}}"),
                "caller \"svc\" must be an object", "callers: entry not an "
                "object");
    parse_fails(S(CB "\"callers\":{\"svc\":{\"bots\":[\"b1\"],\"rate\":1}}}"),
                "unknown member \"rate\" in caller \"svc\"",
                "callers: unknown member");
    parse_fails(S(CB "\"callers\":{\"svc\":{}}}"),
                "caller \"svc\" needs a member \"bots\"",
                "callers: no bots member");
    parse_fails(S(CB "\"callers\":{\"svc\":{\"bots\":\"b1\"}}}"),
                "caller \"svc\" needs a member \"bots\"",
                "callers: bots not an array");
    parse_fails(S(CB "\"callers\":{\"svc\":{\"bots\":[1]}}}"),
                "bots of caller \"svc\" must be strings",
                "callers: a bot not a string");
    parse_fails(S(CB "\"callers\":{\"svc\":{\"bots\":[\"b1\",\"b9\"]}}}"),
                "caller \"svc\" names bot \"b9\", which this file does not "
                "serve", "callers: a bot the file does not serve");
    parse_fails(S(CB "\"callers\":{\"svc\":{\"bots\":[\"\"]}}}"),
                "caller \"svc\" names bot \"\"",
                "callers: an empty bot id");
    parse_fails(S(CB "\"callers\":{\"\":{\"bots\":[\"b1\"]}}}"),
                "caller \"\" must have 1 to 256 bytes",
                "callers: an empty caller id");
    parse_fails(S(CB "\"callers\":{\"a\\tb\":{\"bots\":[\"b1\"]}}}"),
                "no control characters", "callers: a control character");

#undef CB
}


static manta_creds_t *
parse(const char *json, char *err, size_t errlen)
{
    return manta_creds_parse(json, strlen(json), err, errlen);
}


static void
parse_fails(const char *json, size_t len, const char *message,
    const char *test)
{
    char            err[256];
    manta_creds_t  *c;

    memset(err, 'X', sizeof(err));

    c = manta_creds_parse(json, len, err, sizeof(err));

    ok(c == NULL, "%s: error", test);
    ok(strstr(err, message) != NULL, "%s: message \"%s\"", test, err);
    ok(strstr(err, "SUPERSECRET") == NULL, "%s: no secret in the message",
       test);

    manta_creds_free(c);
}


static char *
b64url(const char *src, size_t len)
{
    char  *dst;

    dst = malloc((len + 2) / 3 * 4 + 1);
    *b64url_encode(dst, src, len) = '\0';

    return dst;
}


static char *
jwt(const char *payload)
{
    char    *body, *token;
    size_t   len;

    body = b64url(payload, strlen(payload));
    len = sizeof(JWT_HEAD) + strlen(body) + sizeof(".c2ln");

    token = malloc(len);
    snprintf(token, len, JWT_HEAD ".%s.c2ln", body);

    free(body);

    return token;
}


static manta_creds_t *
parse_token(const char *token)
{
    char            *json, err[256];
    size_t           len;
    manta_creds_t   *c;

    len = strlen(token) + 64;
    json = malloc(len);
    snprintf(json, len, "{\"token\":\"%s\",\"secret\":\"s\"}", token);

    c = parse(json, err, sizeof(err));

    if (c == NULL) {
        diag("parse error: %s", err);
    }

    free(json);

    return c;
}


static void
claims_are(const char *payload, int has_exp, long long exp, int has_nbf,
    long long nbf, const char *test)
{
    char           *token;
    manta_creds_t  *c;

    token = jwt(payload);
    c = parse_token(token);

    if (ok(c != NULL, "%s: parsed", test)) {
        is_int(c->dflt->has_exp, has_exp, "%s: has_exp", test);
        is_int(c->dflt->has_nbf, has_nbf, "%s: has_nbf", test);

        if (has_exp) {
            is_int(c->dflt->exp, exp, "%s: exp", test);
        }

        if (has_nbf) {
            is_int(c->dflt->nbf, nbf, "%s: nbf", test);
        }
    }

    manta_creds_free(c);
    free(token);
}


static void
opaque(const char *token, const char *test)
{
    manta_creds_t  *c;

    c = parse_token(token);

    if (ok(c != NULL, "%s: parsed", test)) {
        ok(!c->dflt->has_exp && !c->dflt->has_nbf, "%s: no claims", test);
        is_int(manta_cred_expired(c->dflt, 0), 0, "%s: not expired", test);
    }

    manta_creds_free(c);
}
