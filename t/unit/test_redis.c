/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * manta_redis.c: the key, the commands (RESP), the script's replies read
 * with redisReader, and the bucket they describe on the local clock.
 */


#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manta_redis.h"
#include "tap.h"
#include "tests.h"


#define S(s)  (s), (sizeof(s) - 1)


static int reply_of(const char *resp, size_t len, manta_redis_result_t *res,
    const char **err);
static size_t take(char *buf, const char *head, size_t head_len,
    const char *bot_id, size_t bot_id_len, const manta_limit_t *l,
    int backoff);
static size_t backoff(char *buf, const char *head, size_t head_len,
    const char *bot_id, size_t bot_id_len, unsigned seconds);
static void test_redis_cmds(void);
static void test_redis_answers(void);
static int answer_ref(const char *s, size_t len, uint64_t *v);


static const struct {
    const char  *resp;
    int          rc;
    int          code;
    uint64_t     delay;
    uint64_t     excess;
    const char  *test;
} replies[] = {
    { "+0 0 0 0 16 0\r\n", MANTA_REDIS_OK, MANTA_REDIS_PASSED, 0, 0,
      "passed" },
    { "+1 199 4000 0 10000 0\r\n", MANTA_REDIS_OK, MANTA_REDIS_DELAYED,
      199, 4000, "delayed 199 ms" },
    { "+2 0 5000 120 16 0\r\n", MANTA_REDIS_OK, MANTA_REDIS_REJECTED, 0,
      5000, "rejected" },
    { "+3 0 0 0 0 2500\r\n", MANTA_REDIS_OK, MANTA_REDIS_BACKOFF, 0, 0,
      "backing off" },
    { "+4 4503599627370496 1000000001000 4503599627370496 4294967295 "
      "61000\r\n", MANTA_REDIS_OK, MANTA_REDIS_BLOCKED,
      4503599627370496ULL, 1000000001000ULL, "every number at its limit" },
    { "-NOSCRIPT No matching script. Please use EVAL.\r\n",
      MANTA_REDIS_NOSCRIPT, 0, 0, 0, "NOSCRIPT: load and retry" },
    { "-ERR wrong number of arguments\r\n", MANTA_REDIS_ERROR, 0, 0, 0,
      "an error reply" },
    { "+OK\r\n", MANTA_REDIS_ERROR, 0, 0, 0, "a status is not an answer" },
    { "+0 0 0 0 16\r\n", MANTA_REDIS_ERROR, 0, 0, 0, "5 numbers" },
    { "+0 0 0 0 16 0 0\r\n", MANTA_REDIS_ERROR, 0, 0, 0, "7 numbers" },
    { "+5 0 0 0 16 0\r\n", MANTA_REDIS_ERROR, 0, 0, 0, "an unknown code" },
    { "+0 -1 0 0 16 0\r\n", MANTA_REDIS_ERROR, 0, 0, 0,
      "a negative delay" },
    { "+0 +1 0 0 16 0\r\n", MANTA_REDIS_ERROR, 0, 0, 0, "a plus sign" },
    { "+0 0 0 0 016 0\r\n", MANTA_REDIS_ERROR, 0, 0, 0, "a leading zero" },
    { "+00 0 0 0 16 0\r\n", MANTA_REDIS_ERROR, 0, 0, 0,
      "a zero written twice" },
    { "+0 0 0 0 16 0 \r\n", MANTA_REDIS_ERROR, 0, 0, 0,
      "a space after the last number" },
    { "+ 0 0 0 0 16 0\r\n", MANTA_REDIS_ERROR, 0, 0, 0,
      "a space before the first" },
    { "+0 0  0 0 16 0\r\n", MANTA_REDIS_ERROR, 0, 0, 0, "two spaces" },
    { "+0 0\t0 0 16 0\r\n", MANTA_REDIS_ERROR, 0, 0, 0,
      "a tab between numbers" },
    { "+0 0 0 0 16 0x\r\n", MANTA_REDIS_ERROR, 0, 0, 0,
      "a byte after the last number" },
    { "+0 0 0 0 16 1e+15\r\n", MANTA_REDIS_ERROR, 0, 0, 0,
      "a number in exponent form" },
    { "+0 0 0 0 1.5 0\r\n", MANTA_REDIS_ERROR, 0, 0, 0,
      "a fraction" },
    { "+\r\n", MANTA_REDIS_ERROR, 0, 0, 0, "an empty status" },
    { "$12\r\n0 0 0 0 16 0\r\n", MANTA_REDIS_ERROR, 0, 0, 0,
      "the numbers in a bulk string, not a status" },
    { ":0\r\n", MANTA_REDIS_ERROR, 0, 0, 0, "an integer" },
    { "*6\r\n:0\r\n:0\r\n:0\r\n:0\r\n:16\r\n:0\r\n",
      MANTA_REDIS_ERROR, 0, 0, 0, "the array of six integers (the answer "
      "of scripts before 0.8) is not this script's" },
    { "*1\r\n+0 0 0 0 16 0\r\n", MANTA_REDIS_ERROR, 0, 0, 0,
      "the status in an array" },
    { "+0 99999999999999999999999999 0 0 16 0\r\n", MANTA_REDIS_ERROR, 0,
      0, 0, "a delay beyond 64 bits" },
    { "+0 4503599627370497 0 0 16 0\r\n", MANTA_REDIS_ERROR, 0, 0, 0,
      "a delay beyond 2^52" },
    { "+0 0 1000000001001 0 16 0\r\n", MANTA_REDIS_ERROR, 0, 0, 0,
      "an excess beyond the largest burst" },
    { "+0 0 0 4503599627370497 16 0\r\n", MANTA_REDIS_ERROR, 0, 0, 0,
      "an age beyond 2^52" },
    { "+0 0 0 0 4294967296 0\r\n", MANTA_REDIS_ERROR, 0, 0, 0,
      "a rate beyond 32 bits" },
    { "+0 0 0 0 16 61001\r\n", MANTA_REDIS_ERROR, 0, 0, 0,
      "a block longer than the longest backoff" },

    /* the attacks of the array shape, refused as before */

    { "*5\r\n:0\r\n:0\r\n:0\r\n:0\r\n:16\r\n", MANTA_REDIS_ERROR, 0, 0, 0,
      "array: 5 elements" },
    { "*6\r\n:5\r\n:0\r\n:0\r\n:0\r\n:16\r\n:0\r\n", MANTA_REDIS_ERROR, 0,
      0, 0, "array: an unknown code" },
    { "*6\r\n:0\r\n:-1\r\n:0\r\n:0\r\n:16\r\n:0\r\n", MANTA_REDIS_ERROR, 0,
      0, 0, "array: a negative delay" },
    { "*6\r\n:0\r\n:0\r\n$1\r\n0\r\n:0\r\n:16\r\n:0\r\n", MANTA_REDIS_ERROR,
      0, 0, 0, "array: a string where an integer is due" },
    { "*6\r\n:0\r\n:0\r\n:0\r\n:0\r\n:4294967296\r\n:0\r\n",
      MANTA_REDIS_ERROR, 0, 0, 0, "array: a rate beyond 32 bits" },
    { "*6\r\n:0\r\n:0\r\n:0\r\n:0\r\n:16\r\n:61001\r\n", MANTA_REDIS_ERROR,
      0, 0, 0, "array: a block longer than the longest backoff" },
};


void
test_redis(void)
{
    int                    len, rc;
    char                  *cmd, key[MANTA_REDIS_KEY_MAX];
    char                   buf[MANTA_REDIS_CMD_SIZE(MANTA_REDIS_KEY_MAX)];
    size_t                 i, n;
    const char            *err;
    manta_limit_t          l;
    manta_bucket_t         b;
    manta_redis_result_t   res;

    n = manta_redis_key(key, sizeof(key), S("manta:"), S("bots"),
                        0x1a2b3c4d);
    is_mem(key, n, "manta:bots:1a2b3c4d:{",
           "key: prefix, zone, account, the hash tag opened");
    is_int(manta_redis_key(key, 10, S("manta:"), S("bots"), 1), 0,
           "key: 0 when it does not fit");

    l.rate = 16;
    l.burst = 5;
    l.delay = 5;

    len = (int) take(buf, key, n, S("bot-1"), &l, 0);
    ok(memmem(buf, len, S("\r\n$1\r\n1\r\n$27\r\nmanta:bots:1a2b3c4d:{bot-1}"
                          "\r\n$4\r\ntake\r\n")) != NULL,
       "key: prefix, zone, account, botId as the hash tag, in the command");

    len = (int) backoff(buf, key, n, S("bot-1"), 30);
    ok(memmem(buf, len, S("\r\n$1\r\n1\r\n$27\r\nmanta:bots:1a2b3c4d:{bot-1}"
                          "\r\n$7\r\nbackoff\r\n")) != NULL,
       "key: the same in a backoff");

    is_int(strlen(manta_redis_sha()), 40, "sha: 40 hex digits");

    l.rate = 16;
    l.burst = 5;
    l.delay = 5;

    cmd = buf;
    len = (int) take(cmd, S("k{"), S("b"), &l, 1);
    ok(len > 0 && memmem(cmd, len, manta_redis_sha(), 40) != NULL
       && memmem(cmd, len, S("$4\r\ntake\r\n$2\r\n16\r\n$1\r\n5\r\n"
                             "$1\r\n5\r\n$1\r\n1\r\n")) != NULL,
       "take: EVALSHA sha 1 key take rate burst delay backoff");

    /* byte for byte what hiredis's printf-based formatter writes */

    {
        int          ref_len;
        char        *ref, num[3][16];
        size_t       alen[9];
        const char  *argv[9];

        l.rate = 4294967295U;
        l.burst = 0;
        l.delay = 1000000;

        len = (int) take(buf, S("manta:z:00000001:{"), S("b-1"), &l, 0);
        cmd = buf;

        snprintf(num[0], 16, "%u", l.rate);
        snprintf(num[1], 16, "%u", l.burst);
        snprintf(num[2], 16, "%u", l.delay);

        argv[0] = "EVALSHA";
        argv[1] = manta_redis_sha();
        argv[2] = "1";
        argv[3] = "manta:z:00000001:{b-1}";
        argv[4] = "take";
        argv[5] = num[0];
        argv[6] = num[1];
        argv[7] = num[2];
        argv[8] = "0";

        for (i = 0; i < 9; i++) {
            alen[i] = strlen(argv[i]);
        }

        ref_len = redisFormatCommandArgv(&ref, 9, argv, alen);

        ok(len == ref_len && memcmp(cmd, ref, len) == 0,
           "take: the same bytes as redisFormatCommandArgv (largest rate, "
           "burst 0)");

        free(ref);
    }

    /* any command, as hiredis formats it: random arguments, empty, binary */

    {
        int           ref_len, argc, same;
        char         *ref, arg[8][64];
        size_t        alen[8], k;
        unsigned      seed;
        const char   *argv[8];

        seed = 11;
        same = 1;

        for (i = 0; i < 2000 && same; i++) {
            seed = seed * 1103515245 + 12345;
            argc = 1 + (seed >> 16) % 8;

            for (k = 0; k < (size_t) argc; k++) {
                seed = seed * 1103515245 + 12345;
                alen[k] = (seed >> 16) % 64;

                for (n = 0; n < alen[k]; n++) {
                    seed = seed * 1103515245 + 12345;
                    arg[k][n] = (char) (seed >> 16);
                }

                argv[k] = arg[k];
            }

            len = manta_redis_command(&cmd, argc, argv, alen);
            ref_len = redisFormatCommandArgv(&ref, argc, argv, alen);

            same = len == ref_len && memcmp(cmd, ref, len) == 0;

            free(cmd);
            free(ref);
        }

        ok(same, "command: 2000 random commands, the same bytes as "
           "redisFormatCommandArgv");
    }

    /* pooled replies: a reply outlives its reader; long strings, arrays */

    {
        void         *reply;
        redisReader  *reader;
        redisReply   *r;

        static const char  resp[] =
            "*9\r\n:1\r\n:2\r\n:3\r\n:4\r\n:5\r\n:6\r\n:7\r\n:8\r\n"
            "$60\r\n"
            "123456789012345678901234567890123456789012345678901234567890"
            "\r\n";

        reader = manta_redis_reader();
        reply = NULL;

        rc = reader != NULL && redisReaderFeed(reader, resp, sizeof(resp) - 1)
                               == REDIS_OK
             && redisReaderGetReply(reader, &reply) == REDIS_OK
             && reply != NULL;

        manta_redis_reader_free(reader);

        r = reply;
        ok(rc && r->type == REDIS_REPLY_ARRAY && r->elements == 9
           && r->element[7]->integer == 8 && r->element[8]->len == 60
           && r->element[8]->str[60] == '\0',
           "reader: a 9-element array with a 60-byte string, from the pool "
           "and beyond it");

        /* under ASan: no use of the pool after its reader is freed */
        manta_redis_reply_free(reply);
    }

    /* an array header asking for 555,555,550 elements: refused at once */

    {
        int           refused, fits;
        void         *reply;
        redisReader  *reader;

        static const char  huge[] = "*555555550\r\n:1\r\n";
        static const char  most[] = "*1024\r\n";

        reader = manta_redis_reader();
        reply = NULL;

        refused = reader != NULL
                  && redisReaderFeed(reader, huge, sizeof(huge) - 1)
                     == REDIS_OK
                  && redisReaderGetReply(reader, &reply) == REDIS_ERR
                  && reply == NULL;

        manta_redis_reader_free(reader);

        /* 1024 elements still read: the header waits for them */

        reader = manta_redis_reader();
        reply = NULL;

        fits = reader != NULL
               && redisReaderFeed(reader, most, sizeof(most) - 1) == REDIS_OK
               && redisReaderGetReply(reader, &reply) == REDIS_OK
               && reply == NULL;

        for (i = 0; fits && i < 1024; i++) {
            fits = redisReaderFeed(reader, ":7\r\n", 4) == REDIS_OK;
        }

        fits = fits && redisReaderGetReply(reader, &reply) == REDIS_OK
               && reply != NULL
               && ((redisReply *) reply)->elements == 1024
               && ((redisReply *) reply)->element[1023]->integer == 7;

        manta_redis_reply_free(reply);
        manta_redis_reader_free(reader);

        ok(refused && fits, "reader: an array of 555555550 elements refused "
           "before any allocation, one of 1024 read");
    }

    cmd = buf;
    len = (int) backoff(cmd, S("k{"), S("b"), 30);
    ok(len > 0 && memmem(cmd, len, S("$7\r\nbackoff\r\n$2\r\n30\r\n"))
                  != NULL, "backoff: the seconds");

    len = manta_redis_auth_cmd(&cmd, S("gw"), S("pw"));
    is_mem(cmd, len, "*3\r\n$4\r\nAUTH\r\n$2\r\ngw\r\n$2\r\npw\r\n",
           "auth: ACL user and password");
    free(cmd);

    len = manta_redis_auth_cmd(&cmd, NULL, 0, S("pw"));
    is_mem(cmd, len, "*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n",
           "auth: password only");
    free(cmd);

    len = manta_redis_select_cmd(&cmd, 3);
    is_mem(cmd, len, "*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n", "select");
    free(cmd);

    len = manta_redis_load_cmd(&cmd);
    ok(len > (int) strlen(manta_redis_script), "script load: the script");
    free(cmd);

    for (i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
        rc = reply_of(replies[i].resp, strlen(replies[i].resp), &res, &err);

        is_int(rc, replies[i].rc, "reply: %s", replies[i].test);

        if (rc == MANTA_REDIS_OK) {
            ok(res.code == replies[i].code && res.delay == replies[i].delay
               && res.excess == replies[i].excess,
               "reply: %s: the values", replies[i].test);
        }
    }

    test_redis_cmds();
    test_redis_answers();

    /* the bucket on the local clock: age and block relative to now */

    memset(&res, 0, sizeof(res));
    res.excess = 5000;
    res.age = 120;
    res.rate = 16;
    res.blocked = 2500;

    manta_redis_bucket(&res, 100000, &b);
    ok(b.last == 99880 && b.excess == 5000 && b.rate == 16
       && b.blocked == 102500, "bucket: last = now - age, blocked = now + "
       "block");

    memset(&res, 0, sizeof(res));
    manta_redis_bucket(&res, 100000, &b);
    ok(b.last == 0 && b.blocked == 0, "bucket: never charged is new");

    /* the script's rejection leads to the same Retry-After as locally */

    l.rate = 16;
    l.burst = 5;
    memset(&b, 0, sizeof(b));
    b.last = 100000;
    b.excess = 5000;
    b.rate = 16;

    is_int(manta_limit_retry_ms(&b, &l, 100000), 62500,
           "retry_ms: one request's worth at 1r/m (16/1000 s)");
    is_int(manta_limit_retry_after(&b, &l, 100000), 63,
           "retry_after: the same, in whole seconds");
    is_int(manta_limit_retry_ms(&b, &l, 162500), 0,
           "retry_ms: 0 once a request would pass");
}


static int
reply_of(const char *resp, size_t len, manta_redis_result_t *res,
    const char **err)
{
    int           rc;
    void         *reply;
    redisReader  *reader;

    reader = manta_redis_reader();
    reply = NULL;

    if (redisReaderFeed(reader, resp, len) != REDIS_OK
        || redisReaderGetReply(reader, &reply) != REDIS_OK
        || reply == NULL)
    {
        manta_redis_reader_free(reader);
        return -1;
    }

    rc = manta_redis_reply(reply, res, err);

    manta_redis_reply_free(reply);
    manta_redis_reader_free(reader);

    return rc;
}


/*
 * The script's commands, written where the caller says: within
 * MANTA_REDIS_CMD_SIZE() with the longest key and the largest numbers,
 * byte for byte what hiredis's formatter writes
 */

static void
test_redis_cmds(void)
{
    int            ref_len, same;
    char          *ref, *buf, *key, num[4][24];
    size_t         len, i, k, alen[9];
    const char    *argv[9];
    manta_limit_t  l;

    static const unsigned  values[] = { 0, 9, 10, 999999999, 1000000000,
                                        4294967295U };
    static const size_t    klen[] = { 1, 9, MANTA_REDIS_KEY_MAX };

    /* keys of 'k's closed with "}": a head and an empty botId */

    key = malloc(MANTA_REDIS_KEY_MAX);
    memset(key, 'k', MANTA_REDIS_KEY_MAX);

    same = 1;

    for (i = 0; i < 3 * 6 * 6 && same; i++) {
        l.rate = values[i % 6];
        l.burst = values[i / 6 % 6];
        l.delay = values[(i + 3) % 6];

        snprintf(num[0], 24, "%u", l.rate);
        snprintf(num[1], 24, "%u", l.burst);
        snprintf(num[2], 24, "%u", l.delay);

        argv[0] = "EVALSHA";
        argv[1] = manta_redis_sha();
        argv[2] = "1";
        argv[3] = key;
        argv[4] = "take";
        argv[5] = num[0];
        argv[6] = num[1];
        argv[7] = num[2];
        argv[8] = (i & 1) ? "1" : "0";

        for (k = 0; k < 9; k++) {
            alen[k] = (k == 3) ? klen[i / 36] : strlen(argv[k]);
        }

        memset(key, 'k', MANTA_REDIS_KEY_MAX);
        key[alen[3] - 1] = '}';

        /* exactly the size: ASan sees a byte written beyond it */

        buf = malloc(MANTA_REDIS_CMD_SIZE(alen[3]));
        len = take(buf, key, alen[3] - 1, "", 0, &l, (int) (i & 1));

        ref_len = redisFormatCommandArgv(&ref, 9, argv, alen);
        same = (size_t) ref_len == len && memcmp(ref, buf, len) == 0;

        free(ref);
        free(buf);
    }

    free(key);

    ok(same, "take: keys of 1, 9 and %d bytes, numbers of 1 to 10 "
       "digits: within MANTA_REDIS_CMD_SIZE, the bytes of "
       "redisFormatCommandArgv", MANTA_REDIS_KEY_MAX);

    buf = malloc(MANTA_REDIS_CMD_SIZE(4));

    argv[0] = "EVALSHA";
    argv[1] = manta_redis_sha();
    argv[2] = "1";
    argv[3] = "k{b}";
    argv[4] = "backoff";
    argv[5] = num[3];

    snprintf(num[3], 24, "%u", 4294967295U);

    for (len = 0; len < 6; len++) {
        alen[len] = strlen(argv[len]);
    }

    ref_len = redisFormatCommandArgv(&ref, 6, argv, alen);
    len = backoff(buf, S("k{"), S("b"), 4294967295U);

    ok((size_t) ref_len == len && len <= MANTA_REDIS_CMD_SIZE(4)
       && memcmp(ref, buf, len) == 0,
       "backoff: the bytes of redisFormatCommandArgv, within "
       "MANTA_REDIS_CMD_SIZE");

    free(ref);
    free(buf);
}


/*
 * The script's answer: all six numbers read; split over reads byte by
 * byte; and against a reference (sscanf(), then the numbers written back
 * must be the line, each within its limit) on lines made of valid ones by
 * random edits
 */

static void
test_redis_answers(void)
{
    int                    rc, same;
    char                   line[128];
    size_t                 i, k, n, len;
    void                  *reply;
    uint64_t               v[6];
    unsigned               seed;
    const char            *err;
    redisReader           *reader;
    manta_redis_result_t   res;

    static const char  all[] = "+4 4503599627370496 1000000001000 "
                               "4503599627370496 4294967295 61000\r\n";
    static const char  alphabet[] = "0123456789 -+\tx\0e.";

    rc = reply_of(S(all), &res, &err);
    ok(rc == MANTA_REDIS_OK && res.code == 4
       && res.delay == 4503599627370496ULL && res.excess == 1000000001000ULL
       && res.age == 4503599627370496ULL && res.rate == 4294967295U
       && res.blocked == 61000, "answer: the six numbers at their limits");

    reader = manta_redis_reader();
    reply = NULL;
    rc = 1;

    for (i = 0; i < sizeof(all) - 1 && rc; i++) {
        rc = redisReaderFeed(reader, all + i, 1) == REDIS_OK
             && redisReaderGetReply(reader, &reply) == REDIS_OK
             && (reply == NULL) == (i < sizeof(all) - 2);
    }

    ok(rc && manta_redis_reply(reply, &res, &err) == MANTA_REDIS_OK
       && res.age == 4503599627370496ULL && res.blocked == 61000,
       "answer: split byte by byte, read once whole");

    manta_redis_reply_free(reply);
    manta_redis_reader_free(reader);

    /* the bytes left unread: a second reply, then part of a third */

    {
        void  *one, *two, *three;

        static const char  replies[] = "+0 0 0 0 16 0\r\n+1 1 1 1 1 1\r\n";

        reader = manta_redis_reader();
        one = NULL;
        two = NULL;
        three = NULL;

        rc = redisReaderFeed(reader, replies, sizeof(replies) - 1) == REDIS_OK
             && redisReaderGetReply(reader, &one) == REDIS_OK && one != NULL
             && manta_redis_reader_unread(reader)
             && redisReaderGetReply(reader, &two) == REDIS_OK && two != NULL
             && !manta_redis_reader_unread(reader)
             && redisReaderFeed(reader, S("+2 0")) == REDIS_OK
             && manta_redis_reader_unread(reader)
             && redisReaderGetReply(reader, &three) == REDIS_OK
             && three == NULL
             && redisReaderFeed(reader, S(" 0 0 16 0\r\n")) == REDIS_OK
             && manta_redis_reader_unread(reader)
             && redisReaderGetReply(reader, &three) == REDIS_OK
             && three != NULL && !manta_redis_reader_unread(reader);

        ok(rc, "reader: bytes unread after a reply followed by another, "
           "none after the last, some of a reply in part");

        manta_redis_reply_free(one);
        manta_redis_reply_free(two);
        manta_redis_reply_free(three);
        manta_redis_reader_free(reader);
    }

    seed = 7;
    same = 1;

    for (i = 0; i < 20000 && same; i++) {
        for (k = 0; k < 6; k++) {
            seed = seed * 1103515245 + 12345;
            v[k] = (seed >> 16) % 4 == 0 ? 0 : (uint64_t) (seed >> 8)
                                               * ((seed >> 20) % 3 + 1);
        }

        v[0] %= 6;
        v[5] %= 70000;
        v[1] = (i % 7 == 0) ? (uint64_t) 1 << 52 : v[1];
        v[3] = (i % 11 == 0) ? ((uint64_t) 1 << 52) + 1 : v[3];

        line[0] = '+';
        len = 1 + snprintf(line + 1, 100, "%llu %llu %llu %llu %llu %llu",
                           (unsigned long long) v[0],
                           (unsigned long long) v[1],
                           (unsigned long long) v[2],
                           (unsigned long long) v[3],
                           (unsigned long long) v[4],
                           (unsigned long long) v[5]);

        for (n = (i % 4); n > 0 && len > 1; n--) {
            seed = seed * 1103515245 + 12345;
            k = 1 + (seed >> 8) % (len - 1);
            seed = seed * 1103515245 + 12345;

            switch ((seed >> 16) % 3) {
            case 0:
                line[k] = alphabet[(seed >> 4) % (sizeof(alphabet) - 1)];
                break;
            case 1:
                memmove(line + k, line + k + 1, len - k - 1);
                len--;
                break;
            default:
                memmove(line + k + 1, line + k, len - k);
                line[k] = alphabet[(seed >> 4) % (sizeof(alphabet) - 1)];
                len++;
            }
        }

        memcpy(line + len, "\r\n", 2);

        rc = reply_of(line, len + 2, &res, &err);

        if (answer_ref(line + 1, len - 1, v) == 0) {
            same = rc == MANTA_REDIS_OK && (uint64_t) res.code == v[0]
                   && res.delay == v[1] && res.excess == v[2]
                   && res.age == v[3] && res.rate == v[4]
                   && res.blocked == v[5];

        } else {
            same = rc == MANTA_REDIS_ERROR;
        }

        if (!same) {
            diag("line %.*s", (int) len, line);
        }
    }

    ok(same, "answer: 20000 lines, valid and edited: read as the reference "
       "reads them");
}


static int
answer_ref(const char *s, size_t len, uint64_t *v)
{
    int                 i;
    char                buf[128], canon[128];
    unsigned long long  a[6];

    static const unsigned long long  max[6] = {
        4, 1ULL << 52, 1000000001000ULL, 1ULL << 52, 4294967295ULL, 61000
    };

    if (len >= sizeof(buf) || memchr(s, '\0', len) != NULL) {
        return -1;
    }

    memcpy(buf, s, len);
    buf[len] = '\0';

    if (sscanf(buf, "%llu %llu %llu %llu %llu %llu", &a[0], &a[1], &a[2],
               &a[3], &a[4], &a[5])
        != 6)
    {
        return -1;
    }

    snprintf(canon, sizeof(canon), "%llu %llu %llu %llu %llu %llu", a[0],
             a[1], a[2], a[3], a[4], a[5]);

    if (strcmp(canon, buf) != 0) {
        return -1;
    }

    for (i = 0; i < 6; i++) {
        if (a[i] > max[i]) {
            return -1;
        }

        v[i] = a[i];
    }

    return 0;
}


/* a command as the glue writes it: a key's head, the botId, arguments */

static size_t
take(char *buf, const char *head, size_t head_len, const char *bot_id,
    size_t bot_id_len, const manta_limit_t *l, int backoff)
{
    char               args[MANTA_REDIS_ARGS_SIZE];
    size_t             len;
    manta_redis_key_t  key;

    key.head = head;
    key.head_len = head_len;
    key.bot_id = bot_id;
    key.bot_id_len = bot_id_len;

    len = manta_redis_take_args(args, l, backoff);

    if (len > MANTA_REDIS_ARGS_SIZE) {
        abort();
    }

    return manta_redis_take_cmd(buf, &key, args, len);
}


static size_t
backoff(char *buf, const char *head, size_t head_len, const char *bot_id,
    size_t bot_id_len, unsigned seconds)
{
    manta_redis_key_t  key;

    key.head = head;
    key.head_len = head_len;
    key.bot_id = bot_id;
    key.bot_id_len = bot_id_len;

    return manta_redis_backoff_cmd(buf, &key, seconds);
}


/* the script, as the module loads it */

int
redis_script_print(void)
{
    fputs(manta_redis_script, stdout);

    return 0;
}


/*
 * One bucket through manta_limit_take(): a line "now rate burst delay" in,
 * a line "code delay excess" out, as the script answers a take.
 */

int
limit_trace(void)
{
    char                line[256];
    uint64_t            now, delay_ms;
    unsigned            rate, burst, delay;
    manta_limit_t       l;
    manta_bucket_t      b;
    manta_limit_rc_t    rc;

    memset(&b, 0, sizeof(manta_bucket_t));

    while (fgets(line, sizeof(line), stdin) != NULL) {
        if (sscanf(line, "%" SCNu64 " %u %u %u", &now, &rate, &burst,
                   &delay)
            != 4)
        {
            return 1;
        }

        l.rate = rate;
        l.burst = burst;
        l.delay = delay;
        delay_ms = 0;

        rc = manta_limit_take(&b, &l, now, &delay_ms);

        printf("%d %" PRIu64 " %" PRIu64 "\n", (int) rc,
               rc == MANTA_LIMIT_DELAYED ? delay_ms : 0, b.excess);
    }

    return 0;
}
