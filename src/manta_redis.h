/*
 * Copyright (C) ngx_http_manta_module authors
 * Pure C core: no nginx types or headers.
 *
 * The per-bot limit kept in Redis: the Lua script that runs the local
 * zone's arithmetic (manta_limit_take()) with Redis TIME as the clock, the
 * commands that call it, and the interpretation of its replies.  Commands
 * are built as libhiredis's formatter builds them (manta_redis_command()),
 * replies read with its redisReader into objects of a pool; the transport
 * is the caller's.
 */


#ifndef _MANTA_REDIS_H_INCLUDED_
#define _MANTA_REDIS_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "manta_limit.h"


/* what the script answered (its first element) */

#define MANTA_REDIS_PASSED    0
#define MANTA_REDIS_DELAYED   1
#define MANTA_REDIS_REJECTED  2
#define MANTA_REDIS_BACKOFF   3     /* blocked after an upstream 429 */
#define MANTA_REDIS_BLOCKED   4     /* the answer to a backoff call */

/* manta_redis_reply() */

#define MANTA_REDIS_OK        0
#define MANTA_REDIS_NOSCRIPT  1     /* EVALSHA before SCRIPT LOAD: retry */
#define MANTA_REDIS_ERROR     2

/* the longest key: prefix, zone, account and botId */
#define MANTA_REDIS_KEY_MAX   1024


typedef struct {
    int         code;       /* MANTA_REDIS_PASSED... */
    uint64_t    delay;      /* ms, for DELAYED */
    uint64_t    excess;     /* the bucket after the call, in thousandths */
    uint64_t    age;        /* ms since the bucket's last request */
    uint64_t    rate;       /* the bucket's own rate, 0 when never charged */
    uint64_t    blocked;    /* ms the bot still backs off, 0 when none */
} manta_redis_result_t;


/* the script and its SHA1 in hex, as EVALSHA wants it */
extern const char  manta_redis_script[];
const char *manta_redis_sha(void);

/*
 * The key of a bot's bucket is prefix, zone, account, then the botId as
 * the hash tag ("manta:bots:1a2b3c4d:{bot}"), so that a Redis Cluster
 * keeps a bot's keys in one slot.  manta_redis_key() writes its head, up
 * to the "{" (a location's, once); the commands add the botId and "}".
 * Returns the length, 0 when it does not fit in size.
 */
size_t manta_redis_key(char *buf, size_t size, const char *prefix,
    size_t prefix_len, const char *zone, size_t zone_len, uint32_t account);

typedef struct {
    const char  *head;          /* manta_redis_key()'s */
    size_t       head_len;
    const char  *bot_id;
    size_t       bot_id_len;
} manta_redis_key_t;

/*
 * Any command: argc arguments in the protocol's form, as hiredis's
 * redisFormatCommandArgv() writes them, in memory free() releases.
 * Returns the length, -1 when out of memory.
 */
int manta_redis_command(char **cmd, int argc, const char **argv,
    const size_t *len);

/*
 * The script's commands, as RESP, written into buf, which holds
 * MANTA_REDIS_CMD_SIZE() of the key's length (head, botId and "}"): one
 * request charged, with the arguments after the key that
 * manta_redis_take_args() wrote (at most MANTA_REDIS_ARGS_SIZE bytes): the
 * limit l, honouring the backoff block when "backoff" is set; the bot
 * blocked for "seconds".  Return the length.
 */
#define MANTA_REDIS_CMD_SIZE(key_len)  ((key_len) + 160)
#define MANTA_REDIS_ARGS_SIZE          72

size_t manta_redis_take_args(char *buf, const manta_limit_t *l, int backoff);
size_t manta_redis_take_cmd(char *buf, const manta_redis_key_t *key,
    const char *args, size_t args_len);
size_t manta_redis_backoff_cmd(char *buf, const manta_redis_key_t *key,
    unsigned seconds);

/*
 * The other commands, as RESP (free() them): SCRIPT LOAD, AUTH (user may
 * be NULL) and SELECT.  -1 on error, else the length.
 */
int manta_redis_load_cmd(char **cmd);
int manta_redis_auth_cmd(char **cmd, const char *user, size_t user_len,
    const char *password, size_t password_len);
int manta_redis_select_cmd(char **cmd, unsigned db);

/*
 * A reply reader (hiredis's redisReader) whose replies come from a pool of
 * its own: release each with manta_redis_reply_free(), never
 * freeReplyObject(), and the reader with manta_redis_reader_free().
 */
redisReader *manta_redis_reader(void);

/* 1 when bytes fed to the reader are not yet in a reply it returned */
#define manta_redis_reader_unread(reader)                                    \
    (((redisReader *) (reader))->pos < ((redisReader *) (reader))->len)

void manta_redis_reader_free(redisReader *reader);
void manta_redis_reply_free(void *reply);

/*
 * A reply of the script: MANTA_REDIS_OK with *res filled from its status
 * line of six numbers, NOSCRIPT, or ERROR for an error reply or anything
 * that is not the script's answer; err then says what it was (never the
 * reply's bytes: no secret there).
 */
int manta_redis_reply(const redisReply *reply, manta_redis_result_t *res,
    const char **err);

/* 1 when a reply to AUTH, SELECT or SCRIPT LOAD is a success */
int manta_redis_reply_ok(const redisReply *reply);

/*
 * The bucket as Redis keeps it, on the local clock "now" (monotonic ms),
 * for manta_limit_fields() and manta_limit_retry_after().
 */
void manta_redis_bucket(const manta_redis_result_t *res, uint64_t now,
    manta_bucket_t *b);


#endif /* _MANTA_REDIS_H_INCLUDED_ */
