/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * manta_error.c: the error bodies the caller sees, all ErrorResponses:
 * {"success":false,"errResponse":{"message":M,"code":C,"botId":B}}.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "manta_error.h"
#include "manta_json.h"
#include "manta_reason.h"
#include "manta_util.h"
#include "alloc.h"
#include "tap.h"
#include "tests.h"


#define S(s)  (s), (sizeof(s) - 1)

#define TOKEN     "tok.EN-123"
#define SECRET    "s3\"cr"

/* SECRET as it appears in a JSON body */
#define SECRET_J  "s3\\\"cr"

#define NCREDS    (sizeof(creds) / sizeof(creds[0]))

/* a member name of 63 bytes */
#define N63                                                                  \
    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk"

#define ER(m, c, b)                                                          \
    "{\"success\":false,\"errResponse\":{\"message\":\"" m "\",\"code\":"    \
    c ",\"botId\":\"" b "\"}}"

#define ER_NOBOT(m, c)                                                       \
    "{\"success\":false,\"errResponse\":{\"message\":\"" m "\",\"code\":"    \
    c "}}"

/* U+00E9 two bytes, U+65E5 three bytes, U+1F600 four bytes */
#define E2        "\xc3\xa9"
#define CJK       "\xe6\x97\xa5"
#define EMOJI     "\xf0\x9f\x98\x80"


/* rewrite_is() with the credentials as the values to redact */

typedef struct {
    const char  *body;
    size_t       len;
    int          status;
    const char  *bot_id;
    const char  *expected;
    const char  *test;
} rewrite_case_t;

#define NCASES(a)  (sizeof(a) / sizeof(a[0]))


static void passes(const char *body, size_t len, const char *bot_id,
    const manta_str_t *redact, size_t nredact, const char *test);
static void rewrite_is(const char *body, size_t len, int status,
    const char *bot_id, const manta_str_t *redact, size_t nredact,
    const char *expected, const char *test);
static void rewrites_are(const rewrite_case_t *cases, size_t n);
static void shape_is(const char *body, size_t len, int status,
    const char *bot_id, const manta_str_t *redact, size_t nredact,
    const char *message, const char *test);


/* long messages: the body repeats a unit between a head and a tail; the
 * message expected repeats another */

typedef struct {
    const char  *head;
    const char  *unit;
    size_t       n;
    const char  *tail;
    const char  *mhead;
    const char  *munit;
    size_t       mn;
    const char  *mtail;
    const char  *test;
} cut_case_t;


static const cut_case_t  cut_cases[] = {
    { "{\"message\":\"", "x", 512, "\"}",
      "", "x", 512, "",
      "cut: 512 bytes kept" },
    { "{\"message\":\"", "x", 513, "\"}",
      "", "x", 512, "",
      "cut: 513 ASCII bytes to 512" },
    { "{\"message\":\"a", E2, 300, "\"}",
      "a", E2, 255, "",
      "cut: 2-byte character straddling 512 dropped (511 bytes)" },
    { "{\"message\":\"", CJK, 200, "\"}",
      "", CJK, 170, "",
      "cut: 3-byte character straddling 512 dropped (510 bytes)" },
    { "{\"message\":\"a\\u00e9", CJK, 200, "\"}",
      "a" E2, CJK, 169, "",
      "cut: escaped input, 3-byte character dropped (510 bytes)" },
    { "{\"message\":\"", EMOJI, 200, "\"}",
      "", EMOJI, 128, "",
      "cut: 4-byte characters ending at 512" },
    { "{\"message\":\"x", EMOJI, 200, "\"}",
      "x", EMOJI, 127, "",
      "cut: 4-byte character straddling 512 dropped (509 bytes)" },
    { "{\"message\":\"", "x", 505, TOKEN "yyyy\"}",
      "", "x", 505, "[redact",
      "cut: token across the cut redacted first" },
    { "{\"message\":\"", TOKEN, 60, "\"}",
      "", "[redacted]", 51, "[r",
      "cut: 60 tokens redacted, then cut" },
};


static const manta_str_t  creds[] = {
    { S(TOKEN) },
    { S(SECRET) }
};


static const rewrite_case_t  fill_cases[] = {
    { S(ER_NOBOT("m", "4001")), 400, "bot-1",
      ER("m", "4001", "bot-1"), "botId filled: upstream code kept" },
    { S("{\"errResponse\":{\"code\":404,\"x\":null,"
        "\"message\":\"m\"},\"z\":[true],\"success\":false}"), 404, "b",
      "{\"errResponse\":{\"code\":404,\"x\":null,\"message\":\"m\","
        "\"botId\":\"b\"},\"z\":[true],\"success\":false}",
      "botId filled: key order preserved, compact" },
    { S(" {\"success\": false, \"errResponse\": {\"message\": "
        "\"caf\\u00e9 \\\"x\\\"\\n\", \"code\": 500}} "), 500, "b",
      ER("caf" E2 " \\\"x\\\"\\n", "500", "b"),
      "botId filled: re-serialized with UTF-8 unescaped" },
};


static const rewrite_case_t  redact_cases[] = {
    { S(ER("bad token " TOKEN, "401", "b")), 401, "b",
      ER("bad token [redacted]", "401", "b"), "redact: token in the message" },
    { S(ER("secret " SECRET_J "!", "403", "b")), 403, "b",
      ER("secret [redacted]!", "403", "b"),
      "redact: secret with '\"', JSON-escaped in the body" },
    { S(ER("\\u0073\\u0033\\u0022cr", "403", "b")), 403, "b",
      ER("[redacted]", "403", "b"),
      "redact: secret spelled with \\u escapes" },
    { S(ER_NOBOT(TOKEN, "401")), 401, "bot-1",
      ER("[redacted]", "401", "bot-1"), "redact: and botId filled" },
    { S(ER("m", "401", TOKEN)), 401, "b",
      ER("m", "401", "[redacted]"), "redact: the botId string" },
    { S("{\"success\":false,\"errResponse\":{\"message\":\"m\","
        "\"code\":400,\"botId\":\"b\",\"details\":{\"a\":[\"x "
        TOKEN " y\",{\"b\":\"" SECRET_J SECRET_J "\"}],\"n\":1}},"
        "\"trace\":[[[\"" TOKEN "\"]],2]}"), 400, "b",
      "{\"success\":false,\"errResponse\":{\"message\":\"m\","
        "\"code\":400,\"botId\":\"b\",\"details\":{\"a\":[\"x "
        "[redacted] y\",{\"b\":\"[redacted][redacted]\"}],\"n\":1}},"
        "\"trace\":[[[\"[redacted]\"]],2]}",
      "redact: nested objects and arrays, adjacent occurrences" },
    { S(ER(TOKEN TOKEN SECRET_J TOKEN, "401", "b")), 401, "b",
      ER("[redacted][redacted][redacted][redacted]", "401", "b"),
      "redact: adjacent token and secret" },
};


static const rewrite_case_t  other_cases[] = {
    { S("<html><body><h1>502 Bad Gateway</h1></body></html>"), 502, "b",
      ER("Bad Gateway", "502", "b"), "HTML body: reason phrase" },
    { S("<html>" TOKEN "</html>"), 502, NULL,
      ER_NOBOT("Bad Gateway", "502"), "HTML body without botId" },
    { S(""), 413, "b",
      ER("Payload Too Large", "413", "b"), "empty body" },
    { NULL, 0, 504, "b",
      ER("Gateway Timeout", "504", "b"), "NULL body" },
};


static const rewrite_case_t  message_cases[] = {
    { S("upstream says no\n"), 500, "b",
      ER("Internal Server Error", "500", "b"), "text/plain body" },
    { S("{\"message\":\"upstream message\"}"), 500, "b",
      ER("upstream message", "500", "b"), "{\"message\":...}" },
    { S("{\"error\":\"invalid_token\"}"), 401, "b",
      ER("invalid_token", "401", "b"), "{\"error\":...}" },
    { S("{\"type\":\"about:blank\",\"title\":\"Too Many\","
        "\"status\":429,\"detail\":\"slow down\"}"), 429, "b",
      ER("slow down", "429", "b"), "problem+json: detail before title" },
    { S("{\"title\":\"Too Many\",\"status\":429}"), 429, "b",
      ER("Too Many", "429", "b"), "problem+json: title alone" },
    { S("{\"title\":\"t\",\"detail\":\"d\",\"error\":\"e\","
        "\"message\":\"m\"}"), 400, "b",
      ER("m", "400", "b"), "message before error, detail, title" },
    { S("{\"title\":\"t\",\"detail\":\"d\",\"error\":\"e\"}"), 400, "b",
      ER("e", "400", "b"), "error before detail and title" },
    { S("{\"errResponse\":{\"message\":\"inner\"},\"title\":"
        "\"t\"}"), 400, "b",
      ER("t", "400", "b"), "title before errResponse.message" },
    { S("{\"errResponse\":{\"message\":\"inner\",\"code\":\"x\"}}"), 400, "b",
      ER("inner", "400", "b"), "errResponse.message last" },
    { S("{\"message\":42,\"error\":\"e\"}"), 400, "b",
      ER("e", "400", "b"), "non-string message skipped" },
    { S("{\"message\":null,\"error\":{\"message\":\"x\"},"
        "\"detail\":[\"y\"],\"title\":true}"), 400, "b",
      ER("Bad Request", "400", "b"), "no string member: phrase" },
    { S("{\"errResponse\":[\"x\"],\"message\":1}"), 400, "b",
      ER("Bad Request", "400", "b"), "errResponse not an object: phrase" },
    { S("{\"message\":\"\"}"), 403, "b",
      ER("Forbidden", "403", "b"), "empty message: phrase" },
    { S("{\"message\":\"\",\"error\":\"e\"}"), 403, "b",
      ER("e", "403", "b"),
      "empty message: the next member with a message is used" },
    { S("{\"Message\":\"x\",\"ERROR\":\"y\"}"), 400, "b",
      ER("Bad Request", "400", "b"), "member names are case-sensitive" },
    { S("{\"error\":\"bad " TOKEN " and " SECRET_J "\"}"), 401, "b",
      ER("bad [redacted] and [redacted]", "401",
        "b"),
      "rewritten message redacted" },
    { S("{\"message\":\"a\\\"b\\\\c\\n\\u0001\"}"), 400, "b",
      ER("a\\\"b\\\\c\\n\\u0001", "400", "b"),
      "rewritten message JSON-escaped" },
    { S("{\"message\":\"" CJK EMOJI "\"}"), 400, "b",
      ER(CJK EMOJI, "400", "b"), "rewritten message keeps UTF-8" },
    { S("{\"detail\":\"del \x7f here\"}"), 409, "b",
      ER("del \\u007F here", "409", "b"),
      "unescaped message with DEL: DEL escaped" },
    { S("{\"title\":\"x\",\"detail\":\"a \\u007f and \\u00e9\"}"), 409,
      "b", ER("a \\u007F and " E2, "409", "b"),
      "escaped message decoded, DEL escaped again" },
    { S("{\"detail\":\"caf\\u00e9 " TOKEN "\"}"), 409, "b",
      ER("caf" E2 " [redacted]", "409", "b"),
      "escaped message holding the token: redacted" },
    { S("{\"detail\":\"\\u0074ok.EN-123\"}"), 409, "b",
      ER("[redacted]", "409", "b"),
      "escaped message decoding to the token: redacted" },
};


static const rewrite_case_t  invalid_cases[] = {
    { S("{\"message\":\"x\""), 502, "b",
      ER("Bad Gateway", "502", "b"), "invalid JSON: truncated" },
    { S("{\"message\":\"x\"} {}"), 502, "b",
      ER("Bad Gateway", "502", "b"), "invalid JSON: two objects" },
    { S("[{\"message\":\"x\"}]"), 502, "b",
      ER("Bad Gateway", "502", "b"), "top-level array" },
    { S("\"message\""), 502, "b",
      ER("Bad Gateway", "502", "b"), "top-level string" },
    { S("{\"message\":\"a\",\"message\":\"b\"}"), 400, "b",
      ER("Bad Request", "400", "b"), "duplicate keys: not parsed" },
    { S("{\"success\":false,\"success\":false,\"errResponse\":"
        "{\"message\":\"m\",\"code\":400,\"botId\":\"b\"}}"), 400, "b",
      ER("Bad Request", "400", "b"),
      "duplicate keys: an ErrorResponse otherwise, not passed" },
    { S("{\"success\":false,\"errResponse\":{\"message\":\"m\","
        "\"code\":400,\"code\":401,\"botId\":\"b\"}}"), 400, "b",
      ER("Bad Request", "400", "b"), "duplicate keys in errResponse" },
    { S("{\"message\":\"a\\u0000b\"}"), 400, "b",
      ER("Bad Request", "400", "b"), "\\u0000: not parsed" },
    { S("{\"message\":\"a\0b\"}"), 400, "b",
      ER("Bad Request", "400", "b"), "raw NUL: not parsed" },
    { S("{\"message\":\"\xff\"}"), 400, "b",
      ER("Bad Request", "400", "b"), "invalid UTF-8: not parsed" },
    { S("{\"message\":\"x\",\"n\":1e999}"), 400, "b",
      ER("Bad Request", "400", "b"), "real overflow: not parsed" },
};


static const rewrite_case_t  almost_cases[] = {
    { S("{\"success\":true,\"errResponse\":{\"message\":\"quota\","
        "\"code\":429,\"botId\":\"b\"}}"), 429, "bot-1",
      ER("quota", "429", "bot-1"), "success true: not an ErrorResponse" },
    { S("{\"errResponse\":{\"message\":\"m\",\"code\":400,"
        "\"botId\":\"b\"}}"), 400, "bot-1",
      ER("m", "400", "bot-1"), "success missing" },
    { S("{\"success\":\"false\",\"errResponse\":{\"message\":"
        "\"m\",\"code\":400}}"), 400, NULL,
      ER_NOBOT("m", "400"), "success a string" },
    { S("{\"success\":0,\"errResponse\":{\"message\":\"m\","
        "\"code\":400}}"), 400, NULL,
      ER_NOBOT("m", "400"), "success 0" },
    { S("{\"success\":false,\"errResponse\":{\"message\":\"m\","
        "\"code\":\"502\",\"botId\":\"b\"}}"), 502, "bot-1",
      ER("m", "502", "bot-1"), "code a string: not valid" },
    { S("{\"success\":false,\"errResponse\":{\"message\":\"m\","
        "\"code\":502.0,\"botId\":\"b\"}}"), 502, "bot-1",
      ER("m", "502", "bot-1"), "code a real: not valid" },
    { S("{\"success\":false,\"errResponse\":{\"message\":\"m\","
        "\"botId\":\"b\"}}"), 502, "bot-1",
      ER("m", "502", "bot-1"), "code missing: not valid" },
    { S("{\"success\":false,\"errResponse\":{\"message\":\"m\","
        "\"code\":400,\"botId\":7}}"), 400, "bot-1",
      ER("m", "400", "bot-1"), "botId a number: not valid" },
    { S("{\"success\":false,\"errResponse\":{\"message\":\"m\","
        "\"code\":400,\"botId\":null}}"), 400, NULL,
      ER_NOBOT("m", "400"), "botId null: not valid" },
    { S("{\"success\":false,\"errResponse\":{\"message\":1,"
        "\"code\":400,\"botId\":\"b\"}}"), 400, "bot-1",
      ER("Bad Request", "400", "bot-1"),
      "message a number: not valid, phrase" },
    { S("{\"success\":false,\"errResponse\":{\"message\":\"m " TOKEN
        "\",\"code\":\"x\"},\"title\":\"t\"}"), 400, "bot-1",
      ER("t", "400", "bot-1"),
      "not valid: top-level member before errResponse.message" },
};


/*
 * member names as long as one looked up and with its first byte, that
 * differ in a later byte: the tokenizer's lookup compares them in words
 */

static const rewrite_case_t  near_cases[] = {
    { S("{\"messagE\":\"x\",\"detail\":\"d\"}"), 400, "b",
      ER("d", "400", "b"), "near name: last byte of message" },
    { S("{\"mesSage\":\"x\"}"), 400, "b",
      ER("Bad Request", "400", "b"), "near name: middle byte of message" },
    { S("{\"tItle\":\"t\",\"error\":\"e\"}"), 400, "b",
      ER("e", "400", "b"), "near name: second byte of title" },
    { S("{\"titlE\":\"t\",\"erroR\":\"e\",\"detaiL\":\"d\"}"), 400, "b",
      ER("Bad Request", "400", "b"), "near names of 5 and 6 bytes" },
    { S("{\"message1\":\"x\",\"messag\":\"y\"}"), 400, "b",
      ER("Bad Request", "400", "b"), "near names: one byte more or less" },
    { S("{\"errResponsE\":{\"message\":\"m\"}}"), 400, "b",
      ER("Bad Request", "400", "b"), "near name: last byte of errResponse" },
    { S("{\"errRes_onse\":{\"message\":\"m\"}}"), 400, "b",
      ER("Bad Request", "400", "b"),
      "near name: middle byte of errResponse" },
    { S("{\"success\":false,\"errResponse\":{\"messagf\":\"m\","
        "\"code\":400}}"), 400, NULL,
      ER_NOBOT("Bad Request", "400"), "near name: errResponse.messagf" },
    { S("{\"success\":false,\"errResponse\":{\"message\":\"m\","
        "\"codE\":400,\"botId\":\"b\"}}"), 400, "bot-1",
      ER("m", "400", "bot-1"), "near name: errResponse.codE" },
    { S("{\"succesS\":false,\"errResponse\":{\"message\":\"m\","
        "\"code\":400,\"botId\":\"b\"}}"), 400, "bot-1",
      ER("m", "400", "bot-1"), "near name: succesS" },
    { S("{\"success\":false,\"errResponse\":{\"message\":\"m\","
        "\"code\":400,\"botIe\":\"b\"}}"), 400, "bot-1",
      "{\"success\":false,\"errResponse\":{\"message\":\"m\","
      "\"code\":400,\"botIe\":\"b\",\"botId\":\"bot-1\"}}",
      "near name: botIe is not botId, which is filled in" },
};


static void test_error_cases(void);
static void test_error_direct(void);
static void test_error_runs(void);
static void test_error_runs_case(const manta_str_t *value, const char *body,
    int status, const char *bot_id, int held, const char *test);
static void test_error_plain(void);
static void same_as_jansson(const char *body, size_t len, int status,
    const char *bot_id, const char *test);
static int same_answer(const char *body, size_t len, int status,
    const char *bot_id);


/*
 * Every case with the tokenizer and the answers written into the caller's
 * buffer (the default), then with every body parsed by jansson: the
 * answers are the same.
 */

void
test_error(void)
{
    test_error_cases();
    test_error_direct();
    test_error_runs();
    test_error_plain();

    diag("manta_error.c: the same cases with every body parsed by jansson");

    manta_error_fast = 0;
    test_error_cases();
    manta_error_fast = 1;
}


/* the answer written straight into the caller's buffer, and its limits */

/*
 * The bodies read in one pass without the tokenizer (manta_error_plain())
 * and those just beside them, which the tokenizer or jansson read: the
 * answer is the same as jansson's, byte for byte.
 */

static void
test_error_plain(void)
{
    size_t             len;
    char               out[512];
    manta_error_rc_t   rc;

    static const char *const  bodies[] = {
        ER("a tag with this name exists", "409", "bot-1"),
        ER("m", "409", ""),
        ER("", "409", "b"),
        ER("m\x7f", "409", "b"),
        ER("m", "0", "b"),
        ER("m", "09", "b"),
        ER("m", "-1", "b"),
        ER("m", "409.0", "b"),
        ER("m", "4e2", "b"),
        ER("m", "123456789", "b"),
        ER("m", "1234567890", "b"),
        ER("m\\n", "409", "b"),
        ER("caf" E2, "409", "b"),
        ER("m", "409", "b" E2),
        ER_NOBOT("m", "409"),
        ER("m", "409", "b") " ",
        ER("m", "409", "b") "}",
        "{\"success\":false,\"errResponse\":{\"message\":\"m\",\"code\":409,"
            "\"botId\":\"b\",\"x\":1}}",
        "{\"success\":false,\"errResponse\":{\"message\":\"m\",\"code\":409,"
            "\"botId\":\"b\"},\"x\":1}",
        "{\"success\":false,\"errResponse\":{\"message\":\"m\",\"code\":409}"
            ",\"botId\":\"b\"}}",
        "{\"success\":false,\"errResponse\":{\"message\":\"m\",\"code\":409,"
            "\"botId\":\"b\"}",
        "{\"success\":false,\"errResponse\":{\"message\":\"m\",\"code\":409,"
            "\"botId\":\"b}}",
        "{\"success\":false,\"errResponse\":{\"message\":\"m\"}}",
        "{\"success\":false,\"errResponse\":{\"message\":\"m",
        "{\"type\":\"about:blank\",\"title\":\"Conflict\",\"status\":409,"
            "\"detail\":\"a tag with this name exists\"}",
        "{\"title\":\"t\",\"detail\":\"d\",\"error\":\"e\",\"message\":\"m\"}",
        "{\"title\":\"t\",\"detail\":\"d\",\"error\":\"e\"}",
        "{\"message\":\"\",\"error\":\"\",\"detail\":\"d\"}",
        "{\"message\":1,\"error\":true,\"detail\":null,\"title\":\"t\"}",
        "{\"message\":\"m\",\"message\":\"n\"}",
        "{\"a\":1,\"b\":2,\"a\":3,\"detail\":\"d\"}",
        /* names of one length, a duplicate after others of its length */
        "{\"ab\":1,\"cd\":2,\"ef\":3,\"cd\":4,\"detail\":\"d\"}",
        "{\"ab\":1,\"cd\":2,\"ef\":3,\"gh\":4,\"detail\":\"d\"}",
        "{\"status\":1,\"detail\":\"d\",\"detail\":\"e\"}",
        "{\"status\":1,\"title\":\"t\",\"stat\":2,\"titles\":\"u\"}",
        /* names of 63 bytes or more, which share a bit */
        "{\"" N63 "\":1,\"" N63 "x\":2,\"" N63 "xy\":3,\"detail\":\"d\"}",
        "{\"" N63 "xy\":1,\"" N63 "x\":2,\"" N63 "xy\":3,"
            "\"detail\":\"d\"}",
        "{\"" N63 "\":1,\"" N63 "\":2}",
        /* a stop byte in the last bytes, read with those before them */
        "{\"detail\":\"a tag with this name exists\",\"x\":\"abc\\\"\"}",
        "{\"detail\":\"a tag with this name exists\",\"x\":\"a\x01\"}",
        "{\"detail\":\"a tag with this name exists\",\"x\":\"a\x7f\"}",
        "{\"detail\":\"a tag with this name exists\",\"x\":\"a" E2 "\"}",
        "{\"detail\":\"a tag with this name exists\",\"xyzw\":\"\"}",
        "{\"detail\":\"a tag with this name exists\",\"x\":\"",
        "{\"title\":\"Conflict\","
            "\"de\x01ail\":\"a tag with this name exists\"}",
        "{\"detail\":\"d\",\"success\":false}",
        "{\"detail\":\"d\",\"errResponse\":{\"message\":\"m\"}}",
        "{\"detail\":\"d\",\"errResponse\":\"e\"}",
        "{\"detail\":\"d\",\"x\":{}}",
        "{\"detail\":\"d\",\"x\":[]}",
        "{\"detail\":\"d\",\"x\":01}",
        "{\"detail\":\"d\",\"x\":-0}",
        "{\"detail\":\"d\",\"x\":-}",
        "{\"detail\":\"d\",\"x\":1.5}",
        "{\"detail\":\"d\",\"x\":1e5}",
        "{\"detail\":\"d\",\"x\":123456789012345678}",
        "{\"detail\":\"d\",\"x\":1234567890123456789}",
        "{\"detail\":\"d\",\"x\":tru}",
        "{\"detail\":\"d\",\"x\":truex}",
        "{\"detail\":\"d\",\"x\":nul}",
        "{\"detail\":\"d\",\"x\":falsey}",
        "{\"detail\":\"d\" }",
        "{ \"detail\":\"d\"}",
        "{\"detail\" :\"d\"}",
        "{\"detail\":\"d\",}",
        "{\"detail\":\"d\"\"x\":1}",
        "{\"detail\":\"d}",
        "{\"detail\":\"d\\\"\"}",
        "{\"detail\":\"d\x01\"}",
        "{\"detail\":\"d\x7f\"}",
        "{\"detail\":\"d" E2 "\"}",
        "{\"det\\u0061il\":\"d\"}",
        "{\"\":\"e\",\"detail\":\"d\"}",
        "{\"detail\":\"d\"}}",
        "{\"detail\"}",
        "{\"detail\":}",
        "{\"detail\":\"d\":1}",
        "{}",
        "{\"a\":1,\"b\":1,\"c\":1,\"d\":1,\"e\":1,\"f\":1,\"g\":1,\"h\":1,"
            "\"i\":1,\"j\":1,\"k\":1,\"l\":1,\"m\":1,\"n\":1,\"o\":1,"
            "\"detail\":\"d\"}",
        "{\"a\":1,\"b\":1,\"c\":1,\"d\":1,\"e\":1,\"f\":1,\"g\":1,\"h\":1,"
            "\"i\":1,\"j\":1,\"k\":1,\"l\":1,\"m\":1,\"n\":1,\"o\":1,"
            "\"p\":1,\"detail\":\"d\"}",
        "{\"detail\":\"" TOKEN "\"}",
        "{\"detail\":\"x" TOKEN "y\",\"title\":\"t\"}",
        "{\"detail\":\"tok.EN-12\",\"x\":\"3\"}",
        "{\"" TOKEN "\":1,\"detail\":\"d\"}",
        ER("tok.EN-123", "409", "b"),
        ER("m", "409", "tok.EN-123"),
        ER("tok.EN", "409", "-123"),
    };

    static const char *const  stops[] = {
        "\x01", "\x1f", "\x7f", "\x80", "\xff", E2, "\\n", "\\u0041",
        "\\\"", "\"", " ", "~"
    };

    int     tail;
    char    msg[64], body[256];
    size_t  i, k, n, bad;

    for (i = 0; i < NCASES(bodies); i++) {
        same_as_jansson(bodies[i], strlen(bodies[i]), 409, "bot-1",
                        bodies[i]);
        same_as_jansson(bodies[i], strlen(bodies[i]), 502, NULL,
                        bodies[i]);
    }

    /*
     * a byte that stops a plain string at every place of a long message
     * and of a name, the string's end near the body's end or not: sixteen
     * bytes at once, then one by one
     */

    for (k = 0; k < NCASES(stops); k++) {
        bad = 0;

        for (i = 0; i < 40; i++) {
            for (tail = 0; tail < 2; tail++) {
                n = strlen(stops[k]);

                memset(msg, 'a', sizeof(msg));
                memcpy(msg + i, stops[k], n);
                msg[i + n > 40 ? i + n : 40] = '\0';

                len = (size_t) snprintf(body, sizeof(body),
                                        "{\"detail\":\"%s\"%s}", msg,
                                        tail ? ",\"x\":null" : "");
                bad += !same_answer(body, len, 409, "bot-1");

                len = (size_t) snprintf(body, sizeof(body),
                                        "{\"%s\":1,\"title\":\"t\"%s}",
                                        msg, tail ? ",\"x\":null" : "");
                bad += !same_answer(body, len, 409, "bot-1");

                len = (size_t) snprintf(body, sizeof(body),
                                        ER("%s", "409", "%s"),
                                        tail ? "m" : msg, tail ? msg : "b");
                bad += !same_answer(body, len, 409, "bot-1");
            }
        }

        is_int(bad, 0, "plain: a stop byte (#%d) at every place",
               (int) k);
    }

    len = sizeof(out);
    rc = manta_error_rewrite(S(ER("a tag", "409", "bot-1")), 409, "bot-1", 5,
                             creds, NCREDS, out, &len);
    ok(rc == MANTA_ERROR_PASS, "plain: an ErrorResponse of our shape passes");

    len = sizeof(out);
    rc = manta_error_rewrite(S("{\"title\":\"Conflict\",\"status\":409,"
                               "\"detail\":\"a tag\"}"),
                             409, "bot-1", 5, creds, NCREDS, out, &len);
    ok(rc == MANTA_ERROR_REWRITTEN
       && len == sizeof(ER("a tag", "409", "bot-1")) - 1
       && memcmp(out, ER("a tag", "409", "bot-1"), len) == 0,
       "plain: problem+json: detail before title");

    len = sizeof(out);
    rc = manta_error_rewrite(S("{\"detail\":\"x" TOKEN "\"}"), 409, "bot-1",
                             5, creds, NCREDS, out, &len);
    ok(rc == MANTA_ERROR_REWRITTEN
       && len == sizeof(ER("x[redacted]", "409", "bot-1")) - 1
       && memcmp(out, ER("x[redacted]", "409", "bot-1"), len) == 0,
       "plain: the token in a message is redacted");

}


/*
 * The fast paths and jansson alone, into a buffer large enough for either
 * (alloc_error_rewrite() asks for the size first: a fast answer longer
 * than jansson's would not fit and jansson's would be taken): 1 when they
 * agree
 */

static int
same_answer(const char *body, size_t len, int status, const char *bot_id)
{
    int                same;
    char               fast[2048], slow[2048];
    size_t             fast_len, slow_len;
    manta_error_rc_t   fast_rc, slow_rc;

    fast_len = sizeof(fast);
    fast_rc = manta_error_rewrite(body, len, status, bot_id,
                                  bot_id ? strlen(bot_id) : 0, creds, NCREDS,
                                  fast, &fast_len);

    manta_error_fast = 0;
    slow_len = sizeof(slow);
    slow_rc = manta_error_rewrite(body, len, status, bot_id,
                                  bot_id ? strlen(bot_id) : 0, creds, NCREDS,
                                  slow, &slow_len);
    manta_error_fast = 1;

    same = (fast_rc == slow_rc && fast_len == slow_len
            && (fast_len == 0 || memcmp(fast, slow, fast_len) == 0));

    if (!same) {
        diag("differs: %.*s", (int) len, body);
    }

    return same;
}


/* manta_error_rewrite() with the fast paths and with jansson alone */

static void
same_as_jansson(const char *body, size_t len, int status, const char *bot_id,
    const char *test)
{
    char              *fast, *slow, *at;
    size_t             i, fast_len, slow_len, at_len, anchor[NCREDS];
    manta_error_rc_t   fast_rc, slow_rc, at_rc;

    fast_rc = alloc_error_rewrite(body, len, status, bot_id,
                                  bot_id ? strlen(bot_id) : 0, creds, NCREDS,
                                  &fast, &fast_len);

    for (i = 0; i < NCREDS; i++) {
        anchor[i] = manta_anchor(creds[i].data, creds[i].len);
    }

    at_rc = alloc_error_rewrite_at(body, len, status, bot_id,
                                   bot_id ? strlen(bot_id) : 0, creds,
                                   anchor, NCREDS, &at, &at_len);

    ok(at_rc == fast_rc && at_len == fast_len
       && (at_len == 0 || memcmp(at, fast, at_len) == 0),
       "plain, anchored (%d, %s): %s", status, bot_id ? bot_id : "no botId",
       test);

    free(at);

    manta_error_fast = 0;
    slow_rc = alloc_error_rewrite(body, len, status, bot_id,
                                  bot_id ? strlen(bot_id) : 0, creds, NCREDS,
                                  &slow, &slow_len);
    manta_error_fast = 1;

    ok(fast_rc == slow_rc && fast_len == slow_len
       && (fast_len == 0 || memcmp(fast, slow, fast_len) == 0)
       && same_answer(body, len, status, bot_id),
       "plain, as jansson (%d, %s): %s", status, bot_id ? bot_id : "no botId",
       test);

    free(fast);
    free(slow);
}


static void
test_error_direct(void)
{
    int                status;
    char               out[256];
    size_t             len, need, bad;
    const char        *phrase;
    manta_error_rc_t   rc;

    static const char  body[] = "{\"detail\":\"a tag with this name\"}";
    static const char  expected[] = ER("a tag with this name", "409", "b1");

    need = sizeof(expected);
    len = need - 1;
    rc = manta_error_rewrite(S(body), 409, "b1", 2, creds, NCREDS, out,
                             &len);
    ok(rc == MANTA_ERROR_SHORT && len == need,
       "direct: no room for the NUL: MANTA_ERROR_SHORT and the size needed");

    len = need;
    rc = manta_error_rewrite(S(body), 409, "b1", 2, creds, NCREDS, out,
                             &len);
    ok(rc == MANTA_ERROR_REWRITTEN && len == need - 1
       && memcmp(out, expected, len) == 0 && out[len] == '\0',
       "direct: exactly the size needed");

    len = sizeof(out);
    rc = manta_error_rewrite(S(ER("m", "409", "b1")), 409, "b1", 2, creds,
                             NCREDS, out, &len);
    ok(rc == MANTA_ERROR_PASS && len == 0, "direct: a pass sets no length");

    /* a reason phrase is copied as it is: no byte of it is escaped */

    bad = 0;

    for (status = 400; status < 600; status++) {
        phrase = manta_status_phrase(status);

        if (manta_json_escape_len(phrase, strlen(phrase)) != strlen(phrase)
            || memchr(phrase, 0x7f, strlen(phrase)) != NULL)
        {
            bad++;
            diag("reason phrase of %d needs escaping", status);
        }
    }

    is_int(bad, 0, "direct: no reason phrase of 400 to 599 needs escaping");
}


/*
 * The answer written straight into the caller's buffer is searched only
 * for the redacted values that its runs without '"' other than the
 * body's message can hold: values that span the message and the template,
 * or lie in the botId, the code, the reason phrase or the template, make
 * the same answer as jansson's, which searches the whole answer.
 */

static void
test_error_runs(void)
{
    static const char  problem[] =
        "{\"title\":\"Conflict\",\"status\":409,"
        "\"detail\":\"a tag with this name exists\"}";

    static const manta_str_t  values[] = {
        { S("bot-with-a-long-secret") },        /* the botId */
        { S("exists\",\"code\":409,\"botId\":\"b") },  /* spans */
        { S("\",\"code\":409,\"botId\":\"bot-1\"}}") },
        { S("{\"success\":false,\"errResponse\":{\"message\":\"a") },
        { S("errResponse") },                   /* the longest run */
        { S("success") },
        { S(":2147483647,") },                  /* the code, 10 digits */
        { S(":2147483647}}") },
        { S("Internal Server Error") },         /* the reason phrase */
        { S("long-secret-not-anywhere") },
        { S("with this name") },                /* the message */
        { S("-with-a-long-") },                 /* in the botId */
        { S(":123456789,") }                    /* the code, 9 digits */
    };

    /* held: the answer holds the value whatever is done */

    test_error_runs_case(&values[0], problem, 409,
                         "bot-with-a-long-secret", 1, "the botId");
    test_error_runs_case(&values[1], problem, 409, "bot-1", 0,
                         "message and template");
    test_error_runs_case(&values[1], problem, 409, NULL, 0,
                         "message and template, no botId");
    test_error_runs_case(&values[2], problem, 409, "bot-1", 1,
                         "template and botId");
    test_error_runs_case(&values[3], problem, 409, "bot-1", 0,
                         "template and message");
    test_error_runs_case(&values[4], problem, 409, "bot-1", 1,
                         "the template's longest run");
    test_error_runs_case(&values[5], problem, 409, NULL, 1,
                         "a run of the template");
    test_error_runs_case(&values[6], problem, 2147483647, "bot-1", 1,
                         "the code");
    test_error_runs_case(&values[7], problem, 2147483647, NULL, 1,
                         "the code, no botId");
    test_error_runs_case(&values[8], "{\"status\":500}", 500, "bot-1", 1,
                         "the reason phrase");
    test_error_runs_case(&values[9], problem, 409, "bot-1", 0,
                         "nowhere");
    test_error_runs_case(&values[10], problem, 409, "bot-1", 0,
                         "the message");
    test_error_runs_case(&values[11], problem, 409,
                         "bot-with-a-long-secret", 1, "within the botId");
    test_error_runs_case(&values[11], problem, 409,
                         "bot\"with-a-long-secret", 0,
                         "within the botId, escaped");

    /*
     * of an object read in one pass, only the message's string is searched:
     * a value elsewhere in the body is not in the answer; one in the
     * message past the cut is redacted before the cut, as jansson's
     */

    test_error_runs_case(&values[9],
                         "{\"title\":\"long-secret-not-anywhere\","
                         "\"x\":\"long-secret-not-anywhere\","
                         "\"detail\":\"a tag\"}", 409, "bot-1", 0,
                         "a value in other members");
    test_error_runs_case(&values[9],
                         "{\"long-secret-not-anywhere\":1,"
                         "\"detail\":\"a tag\",\"y\":2}", 409, "bot-1", 0,
                         "a value as a member name");
    test_error_runs_case(&values[9],
                         "{\"detail\":\"a tag long-secret-not-anywhere\"}",
                         409, NULL, 0, "a value in the message");

    {
        char    body[700];
        size_t  cut;

        for (cut = 490; cut < 515; cut += 3) {
            memcpy(body, "{\"detail\":\"", 11);
            memset(body + 11, 'x', cut);
            memcpy(body + 11 + cut, values[9].data, values[9].len);
            memcpy(body + 11 + cut + values[9].len, "yy\"}", 5);

            test_error_runs_case(&values[9], body, 409, "bot-1", 0,
                                 "a value in the message across its cut");
        }
    }

    /*
     * an ErrorResponse of our shape passes as it is only when none of its
     * bytes holds a redacted value: in its message, its botId, its code,
     * across them and the template
     */

    test_error_runs_case(&values[9],
                         ER("a long-secret-not-anywhere tag", "409", "b1"),
                         409, "b1", -1,
                         "pass: a value in the message");
    test_error_runs_case(&values[9],
                         ER("long-secret-not-anywhere", "409", "b1"),
                         409, "b1", -1,
                         "pass: the message the value");
    test_error_runs_case(&values[9],
                         ER("a long-secret-not-anywhere", "409", "b1"),
                         409, "b1", -1,
                         "pass: the value at the message's end");
    test_error_runs_case(&values[9],
                         ER("a tag", "409", "long-secret-not-anywhere"),
                         409, "b1", -1,
                         "pass: the botId the value");
    test_error_runs_case(&values[9],
                         ER("a tag", "409", "a-long-secret-not-anywhere"),
                         409, "b1", -1,
                         "pass: the value at the botId's end");
    test_error_runs_case(&values[11],
                         ER("a tag", "409", "bot-with-a-long-secret"),
                         409, "b1", -1,
                         "pass: the value in the botId");
    test_error_runs_case(&values[1],
                         ER("a tag with this name exists", "409", "b"),
                         409, "b1", -1,
                         "pass: the value spans message and template");
    test_error_runs_case(&values[4], ER("a tag", "409", "b1"), 409, "b1",
                         -1,
                         "pass: the template's longest run");
    test_error_runs_case(&values[6], ER("a tag", "2147483647", "b1"), 409,
                         "b1", -1, "pass: the value in a code of 10 digits");
    test_error_runs_case(&values[9], ER("a tag", "2147483647", "b1"), 409,
                         "b1", 2, "pass: a code of 10 digits, not ours");
    test_error_runs_case(&values[12], ER("a tag", "123456789", "b1"), 409,
                         "b1", -1,
                         "pass: the value in the code");
    test_error_runs_case(&values[9], ER("a tag", "409", "b1"), 409, "b1",
                         2, "pass: the value nowhere");
    test_error_runs_case(&values[9],
                         ER("long-secret-not-anywher", "409",
                            "ong-secret-not-anywhere"),
                         409, "b1", 2,
                         "pass: the value's ends in message and botId");
}


/*
 * value redacted from body: the answer as jansson's (with and without
 * anchors), each written into a buffer large enough for any (a fast answer
 * longer than jansson's must not be hidden by a buffer of jansson's size),
 * and holding the value only when held; held 2: the body passes, -1: it
 * is rewritten and may still hold the value
 */

static void
test_error_runs_case(const manta_str_t *value, const char *body, int status,
    const char *bot_id, int held, const char *test)
{
    char              out[3][2048];
    size_t            len[3], anchor, bot_id_len;
    manta_error_rc_t  rc[3];

    bot_id_len = bot_id ? strlen(bot_id) : 0;
    anchor = manta_anchor(value->data, value->len);

    len[0] = sizeof(out[0]);
    rc[0] = manta_error_rewrite(body, strlen(body), status, bot_id,
                                bot_id_len, value, 1, out[0], &len[0]);

    len[1] = sizeof(out[1]);
    rc[1] = manta_error_rewrite_at(body, strlen(body), status, bot_id,
                                   bot_id_len, value, &anchor, 1, out[1],
                                   &len[1]);

    manta_error_fast = 0;
    len[2] = sizeof(out[2]);
    rc[2] = manta_error_rewrite(body, strlen(body), status, bot_id,
                                bot_id_len, value, 1, out[2], &len[2]);
    manta_error_fast = 1;

    ok(rc[0] == (held == 2 ? MANTA_ERROR_PASS : MANTA_ERROR_REWRITTEN)
       && rc[0] == rc[2] && rc[1] == rc[2]
       && len[0] == len[2] && len[1] == len[2]
       && memcmp(out[0], out[2], len[2]) == 0
       && memcmp(out[1], out[2], len[2]) == 0,
       "runs: %s: the answer is jansson's", test);

    if (held < 0 || held == 2) {
        return;
    }

    ok((manta_find(out[2], len[2], value->data, value->len) != NULL)
       == held,
       "runs: %s: the value is %s the answer", test,
       held ? "still in" : "not in");
}


static void
test_error_cases(void)
{
    char              *s, *m;
    size_t             i;
    manta_str_t        r[2];
    const cut_case_t  *c;

    /* valid ErrorResponses pass as they are */

    passes(S(ER("Not Found", "404", "b1")), "bot-1", creds, NCREDS,
           "pass: with botId, bot_id given");
    passes(S(ER("Not Found", "404", "b1")), NULL, creds, NCREDS,
           "pass: with botId, no bot_id");
    passes(S(ER_NOBOT("Unauthorized", "401")), NULL, creds, NCREDS,
           "pass: without botId, no bot_id");
    passes(S(" { \"errResponse\" : {\"code\":4001, \"message\":\"nope\","
             "\"botId\":\"x\",\"extra\":[1,{}]}, \"success\" : false,"
             "\"more\":null }\n"),
           "bot-1", creds, NCREDS,
           "pass: extra members, white space, any order");
    passes(S(ER("", "0", "")), "bot-1", creds, NCREDS,
           "pass: empty message and botId, code 0");
    passes(S(ER("Too Many Requests", "-1", "b")), "bot-1", creds, NCREDS,
           "pass: negative code");
    passes(S("{\"success\":false,\"errResponse\":{\"message\":"
             "\"tok.EN-12\",\"code\":401,\"botId\":\"TOK.EN-123\"},"
             "\"t\":\"OKEN-123 s3cr s3\\\\\\\"cr\"}"),
           "b", creds, NCREDS, "pass: parts of the values do not count");

    /* a missing botId is filled */

    rewrite_is(S(ER_NOBOT("Not Found", "404")), 404, "bot-1", creds, NCREDS,
               ER("Not Found", "404", "bot-1"), "botId filled");
    shape_is(S(ER_NOBOT("Not Found", "404")), 404, "bot-1", creds, NCREDS,
             "Not Found", "botId filled");
    rewrites_are(fill_cases, NCASES(fill_cases));
    shape_is(S(" {\"success\": false, \"errResponse\": {\"message\": "
               "\"caf\\u00e9 \\\"x\\\"\\n\", \"code\": 500}} "),
             500, "b", creds, NCREDS, "caf" E2 " \"x\"\n",
             "botId filled: escapes");

    /* redaction inside a valid ErrorResponse */

    rewrites_are(redact_cases, NCASES(redact_cases));

    r[0].data = "aXa";
    r[0].len = 3;
    r[1].data = "aXaXaY";
    r[1].len = 6;

    rewrite_is(S(ER("aXaXa", "400", "b")), 400, "b", r, 1,
               ER("[redacted]", "400", "b"),
               "redact: overlapping occurrences, redacted as one span");
    rewrite_is(S(ER("aXaXaXa", "400", "b")), 400, "b", r, 1,
               ER("[redacted]", "400", "b"),
               "redact: a chain of overlapping occurrences, one span");
    rewrite_is(S(ER("aXaQaXa", "400", "b")), 400, "b", r, 1,
               ER("[redacted]Q[redacted]", "400", "b"),
               "redact: separate occurrences, separate spans");
    rewrite_is(S(ER("baXaXaYb", "400", "b")), 400, "b", r, 2,
               ER("b[redacted]b", "400", "b"),
               "redact: the longest value at the leftmost position");

    r[0].data = "cdef";
    r[0].len = 4;
    r[1].data = "abcd";
    r[1].len = 4;

    rewrite_is(S(ER("abcdef", "400", "b")), 400, "b", r, 2,
               ER("[redacted]", "400", "b"),
               "redact: overlapping values, no part of either is left");

    r[0].data = "";
    r[0].len = 0;
    r[1].data = "x";
    r[1].len = 1;

    passes(S(ER("m", "400", "b")), "b", r, 2,
           "redact: empty value ignored");
    rewrite_is(S(ER("xx", "400", "b")), 400, "b", r, 2,
               ER("[redacted][redacted]", "400", "b"),
               "redact: one-byte value, empty value ignored");

    passes(S(ER("bad token " TOKEN, "401", "b")), NULL, NULL, 0,
           "redact: nothing to redact without values");

    /* a redacted value in a member name: rebuilt, not passed */

    rewrite_is(S("{\"success\":false,\"errResponse\":{\"message\":\"m\","
                 "\"code\":401,\"botId\":\"b\",\"" TOKEN "\":1}}"),
               401, "bot-1", creds, NCREDS, ER("m", "401", "bot-1"),
               "redact: token as a member name");
    rewrite_is(S("{\"success\":false,\"errResponse\":{\"message\":\"m\","
                 "\"code\":4001},\"x\":[{\"" SECRET_J "\":null}]}"),
               401, NULL, creds, NCREDS, ER_NOBOT("m", "401"),
               "redact: secret in a nested member name");

    /* a value in the bytes but in no string: rebuilt, not passed */

    r[0].data = "tok";
    r[0].len = 3;
    r[1].data = "20240531";
    r[1].len = 8;

    rewrite_is(S("{\"success\":false,\"errResponse\":{\"message\":\"m\","
                 "\"code\":20240531,\"botId\":\"b\"}}"),
               401, "b", r, 2, ER("m", "401", "b"),
               "redact: digits-only secret as the code: rebuilt");
    rewrite_is(S("{\"success\":false,\"errResponse\":{\"message\":\"m\","
                 "\"code\":401,\"botId\":\"b\",\"n\":[1.20240531e3]}}"),
               401, "b", r, 2, ER("m", "401", "b"),
               "redact: digits-only secret inside a number: rebuilt");
    rewrite_is(S("{\"message\":\"x\",\"id\":120240531}"), 500, "b", r, 2,
               ER("x", "500", "b"),
               "redact: digits-only secret in any body's number");
    r[1].data = "ab\",\"co";
    r[1].len = 7;

    rewrite_is(S("{\"success\":false,\"errResponse\":{\"message\":\"ab"
                 "\",\"code\":401,\"botId\":\"b\"}}"),
               401, "b", r, 2,
               ER("Unauthorized", "401", "b"),
               "redact: value spanning members, also in the new body: "
               "reason phrase");

    /* bodies that are not ErrorResponses */

    rewrites_are(other_cases, NCASES(other_cases));
    rewrite_is(NULL, 0, 599, NULL, NULL, 0, ER_NOBOT("Error", "599"),
               "NULL body, unknown status");
    rewrites_are(message_cases, NCASES(message_cases));

    /* not JSON, not one object, not valid UTF-8 */

    rewrites_are(invalid_cases, NCASES(invalid_cases));

    /* almost ErrorResponses: rewritten with their message */

    rewrites_are(almost_cases, NCASES(almost_cases));
    rewrites_are(near_cases, NCASES(near_cases));

    /* long messages: redacted, then cut on a UTF-8 boundary */

    for (i = 0; i < NCASES(cut_cases); i++) {
        c = &cut_cases[i];
        s = repeat(c->head, c->unit, c->n, c->tail);
        m = repeat(c->mhead, c->munit, c->mn, c->mtail);
        shape_is(s, strlen(s), 400, NULL, creds, NCREDS, m, c->test);
        free(s);
        free(m);
    }

    s = repeat("{\"success\":false,\"errResponse\":{\"code\":400,"
               "\"message\":\"", "x", 600, "\"}}");
    passes(s, strlen(s), NULL, creds, NCREDS,
           "cut: a valid ErrorResponse is not cut");
    free(s);
}


static void
passes(const char *body, size_t len, const char *bot_id,
    const manta_str_t *redact, size_t nredact, const char *test)
{
    char              *out;
    size_t             out_len;
    manta_error_rc_t   rc;

    out = (char *) 1;
    out_len = 77;

    rc = alloc_error_rewrite(body, len, 400, bot_id,
                             bot_id ? strlen(bot_id) : 0, redact, nredact,
                             &out, &out_len);

    is_int(rc, MANTA_ERROR_PASS, "%s: passes", test);
    ok(out == NULL && out_len == 0, "%s: no output", test);

    if (rc == MANTA_ERROR_REWRITTEN) {
        free(out);
    }
}


static void
rewrite_is(const char *body, size_t len, int status, const char *bot_id,
    const manta_str_t *redact, size_t nredact, const char *expected,
    const char *test)
{
    char              *out;
    size_t             out_len;
    manta_error_rc_t   rc;

    out = (char *) 1;
    out_len = 77;

    rc = alloc_error_rewrite(body, len, status, bot_id,
                             bot_id ? strlen(bot_id) : 0, redact, nredact,
                             &out, &out_len);

    if (!is_int(rc, MANTA_ERROR_REWRITTEN, "%s: rewritten", test)) {
        return;
    }

    is_mem(out, out_len, expected, "%s: body", test);
    ok(out[out_len] == '\0', "%s: NUL-terminated", test);

    free(out);
}



static void
rewrites_are(const rewrite_case_t *cases, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        rewrite_is(cases[i].body, cases[i].len, cases[i].status,
                   cases[i].bot_id, creds, NCREDS, cases[i].expected,
                   cases[i].test);
    }
}

/* parses the output and checks its members and their types */

static void
shape_is(const char *body, size_t len, int status, const char *bot_id,
    const manta_str_t *redact, size_t nredact, const char *message,
    const char *test)
{
    int                pass;
    char              *out;
    size_t             out_len;
    json_t            *root, *er, *v;
    manta_error_rc_t   rc;

    rc = alloc_error_rewrite(body, len, status, bot_id,
                             bot_id ? strlen(bot_id) : 0, redact, nredact,
                             &out, &out_len);

    if (!is_int(rc, MANTA_ERROR_REWRITTEN, "%s: rewritten", test)) {
        return;
    }

    root = json_loadb(out, out_len, JSON_REJECT_DUPLICATES, NULL);

    if (!ok(json_is_object(root), "%s: output is a JSON object", test)) {
        json_decref(root);
        free(out);
        return;
    }

    er = json_object_get(root, "errResponse");

    ok(json_object_size(root) == 2
       && json_is_false(json_object_get(root, "success"))
       && json_is_object(er),
       "%s: success false and errResponse", test);

    v = json_object_get(er, "message");

    pass = json_is_string(v);
    ok(pass, "%s: message a string", test);

    if (pass) {
        is_mem(json_string_value(v), json_string_length(v), message,
               "%s: message", test);
        ok(json_string_length(v) <= MANTA_ERROR_MESSAGE_MAX,
           "%s: message at most %d bytes", test, MANTA_ERROR_MESSAGE_MAX);
    }

    v = json_object_get(er, "code");
    ok(json_is_integer(v) && json_integer_value(v) == status,
       "%s: code %d", test, status);

    v = json_object_get(er, "botId");

    if (bot_id == NULL) {
        ok(v == NULL && json_object_size(er) == 2, "%s: no botId", test);

    } else {
        ok(json_is_string(v) && strcmp(json_string_value(v), bot_id) == 0
           && json_object_size(er) == 3, "%s: botId", test);
    }

    json_decref(root);
    free(out);
}
