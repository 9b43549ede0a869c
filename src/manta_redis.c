/*
 * Copyright (C) ngx_http_manta_module authors
 * Pure C core: no nginx types or headers.
 *
 * The per-bot limit in Redis.  The script below is manta_limit_take(),
 * manta_limit_idle() and manta_backoff() written in Lua: the same bucket
 * (excess in thousandths, the rate it was charged with, the last request
 * and the backoff block, in a hash with fields e, r, l and b), the same
 * integer arithmetic (idiv() is exact where Lua's doubles would round),
 * with Redis TIME in milliseconds as the clock, so that gateways with
 * skewed clocks agree.  A sixth argument of "take", never sent by the
 * module, replaces the clock: t/redis_parity.t replays one sequence of
 * (time, rate, burst, delay) here and through manta_limit_take().  A key
 * expires once its bucket is idle (drained at its own rate and not
 * blocked) plus one second: forgetting it then changes no decision.  The
 * answer is one status line of six numbers, "code delay excess age rate
 * blocked" (string.format()'s %d truncates as Redis converts a Lua number
 * to an integer reply): hiredis's reader frames it as one item, not as an
 * array of six.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "manta_redis.h"
#include "manta_util.h"


/*
 * Reply objects come from a small pool kept with the reader instead of a
 * calloc() each (a take's answer is seven of them): hiredis's reader
 * builds them through these functions, manta_redis_reply_free() gives
 * them back.  A string longer than fits, a longer array or an empty pool
 * falls back to malloc().
 */

#define MANTA_REDIS_OBJS      16
#define MANTA_REDIS_ELEMS     8
#define MANTA_REDIS_INLINE    48

/*
 * No reply the module reads is longer (HELLO's map, 14 entries, is the
 * longest): an array header asking for more is a broken or hostile
 * server's, refused before anything is allocated for it, as "*555555550"
 * would otherwise have the reader calloc() 4 GB of element pointers
 */
#define MANTA_REDIS_ARRAY_MAX 1024

typedef struct manta_redis_pool_s  manta_redis_pool_t;
typedef struct manta_redis_obj_s  manta_redis_obj_t;

struct manta_redis_obj_s {
    redisReply            reply;        /* first: what the reader returns */
    manta_redis_pool_t   *pool;         /* NULL: malloc()ed */
    manta_redis_obj_t    *next;         /* in the pool's free list */
    redisReply           *elem[MANTA_REDIS_ELEMS];
    char                  str[MANTA_REDIS_INLINE];
};

struct manta_redis_pool_s {
    manta_redis_obj_t    *free;
    size_t                out;          /* objects given and not back */
    unsigned              orphan:1;     /* its reader is freed */
    manta_redis_obj_t     objs[MANTA_REDIS_OBJS];
};


static char *manta_redis_evalsha(char *p, const char *argc,
    const manta_redis_key_t *key);
static char *manta_redis_arg(char *p, const char *arg, size_t len);
static char *manta_redis_number(char *p, unsigned long long n);
static int manta_redis_numbers(const char *p, size_t len, uint64_t *v);
static manta_redis_obj_t *manta_redis_obj(const redisReadTask *task);
static void *manta_redis_string(const redisReadTask *task, char *str,
    size_t len);
static void *manta_redis_array(const redisReadTask *task, int n);
static void *manta_redis_integer(const redisReadTask *task, long long v);
static void *manta_redis_nil(const redisReadTask *task);


static redisReplyObjectFunctions  manta_redis_functions = {
    manta_redis_string,
    manta_redis_array,
    manta_redis_integer,
    manta_redis_nil,
    manta_redis_reply_free
};


const char  manta_redis_script[] =
    "local function idiv(a, b)\n"
    "  local q = math.floor(a / b)\n"
    "  if q * b > a then q = q - 1\n"
    "  elseif (q + 1) * b <= a then q = q + 1 end\n"
    "  return q\n"
    "end\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + idiv(tonumber(t[2]), 1000)\n"
    "if ARGV[1] == 'take' and ARGV[6] then now = tonumber(ARGV[6]) end\n"
    "local key = KEYS[1]\n"
    "local h = redis.call('HMGET', key, 'l', 'e', 'r', 'b')\n"
    "local last = tonumber(h[1]) or 0\n"
    "local excess = tonumber(h[2]) or 0\n"
    "local brate = tonumber(h[3]) or 0\n"
    "local blocked = tonumber(h[4]) or 0\n"
    "local function level(rate)\n"
    "  local ms = 0\n"
    "  if now > last then ms = now - last end\n"
    "  if rate > 0 then\n"
    "    local empty = idiv((excess + 1000) * 1000, rate) + 1\n"
    "    if ms > empty then ms = empty end\n"
    "  end\n"
    "  return excess - idiv(rate * ms, 1000)\n"
    "end\n"
    "local function answer(code, delay)\n"
    "  local age, b = 0, 0\n"
    "  if last > 0 and now > last then age = now - last end\n"
    "  if blocked > now then b = blocked - now end\n"
    "  return {ok = string.format('%d %d %d %d %d %d', code, delay, excess,\n"
    "    age, brate, b)}\n"
    "end\n"
    "local function expire()\n"
    "  local ttl = 1000\n"
    "  if brate > 0 and last > 0 then\n"
    "    ttl = idiv((excess + 1000) * 1000 + brate - 1, brate) + 1000\n"
    "  end\n"
    "  if blocked > now and blocked - now + 1000 > ttl then\n"
    "    ttl = blocked - now + 1000\n"
    "  end\n"
    "  redis.call('PEXPIRE', key, ttl)\n"
    "end\n"
    "if ARGV[1] == 'backoff' then\n"
    "  blocked = now + tonumber(ARGV[2]) * 1000\n"
    "  redis.call('HSET', key, 'b', blocked)\n"
    "  expire()\n"
    "  return answer(4, 0)\n"
    "end\n"
    "local lrate = tonumber(ARGV[2])\n"
    "local burst = tonumber(ARGV[3])\n"
    "local delay = tonumber(ARGV[4])\n"
    "if ARGV[5] == '1' and blocked > now then return answer(3, 0) end\n"
    "local e = 0\n"
    "if last > 0 then\n"
    "  local rate = lrate\n"
    "  if brate > 0 then rate = brate end\n"
    "  e = level(rate) + 1000\n"
    "  if e < 0 then e = 0 end\n"
    "  if e > burst * 1000 then return answer(2, 0) end\n"
    "end\n"
    "if last == 0 or now > last then last = now end\n"
    "excess = e\n"
    "brate = lrate\n"
    "redis.call('HSET', key, 'l', last, 'e', excess, 'r', brate)\n"
    "expire()\n"
    "if excess <= delay * 1000 or lrate == 0 then return answer(0, 0) end\n"
    "return answer(1, idiv((excess - delay * 1000) * 1000, lrate))\n";


/*
 * What every EVALSHA of the script starts with after its argument count:
 * the command, the SHA1 and the number of keys, made with the SHA1
 */

#define MANTA_REDIS_EVALSHA  "$7\r\nEVALSHA\r\n$40\r\n"
#define MANTA_REDIS_NUMKEYS  "\r\n$1\r\n1\r\n"

static char  manta_redis_head[sizeof(MANTA_REDIS_EVALSHA) - 1
                              + 2 * SHA_DIGEST_LENGTH
                              + sizeof(MANTA_REDIS_NUMKEYS) - 1];
static char  manta_redis_hex[2 * SHA_DIGEST_LENGTH + 1];


const char *
manta_redis_sha(void)
{
    int             i;
    char           *p;
    unsigned char   md[SHA_DIGEST_LENGTH];

    if (manta_redis_hex[0] == '\0') {
        SHA1((const unsigned char *) manta_redis_script,
             sizeof(manta_redis_script) - 1, md);

        for (i = 0; i < SHA_DIGEST_LENGTH; i++) {
            manta_hex_byte(manta_redis_hex + 2 * i, md[i], 1);
        }

        p = manta_redis_head;
        memcpy(p, MANTA_REDIS_EVALSHA, sizeof(MANTA_REDIS_EVALSHA) - 1);
        p += sizeof(MANTA_REDIS_EVALSHA) - 1;
        memcpy(p, manta_redis_hex, 2 * SHA_DIGEST_LENGTH);
        p += 2 * SHA_DIGEST_LENGTH;
        memcpy(p, MANTA_REDIS_NUMKEYS, sizeof(MANTA_REDIS_NUMKEYS) - 1);
    }

    return manta_redis_hex;
}


size_t
manta_redis_key(char *buf, size_t size, const char *prefix,
    size_t prefix_len, const char *zone, size_t zone_len, uint32_t account)
{
    char    *p;
    size_t   len;

    len = prefix_len + zone_len + sizeof(":12345678:{") - 1;

    if (len > size) {
        return 0;
    }

    p = buf;
    memcpy(p, prefix, prefix_len);
    p += prefix_len;
    memcpy(p, zone, zone_len);
    p += zone_len;
    *p++ = ':';
    p = manta_hex_byte(p, (unsigned char) (account >> 24), 1);
    p = manta_hex_byte(p, (unsigned char) (account >> 16), 1);
    p = manta_hex_byte(p, (unsigned char) (account >> 8), 1);
    p = manta_hex_byte(p, (unsigned char) account, 1);
    *p++ = ':';
    *p++ = '{';

    return p - buf;
}


/*
 * The script's commands are written where the caller says: the constant
 * head made once, the key, then the arguments (a take's made by the
 * caller, for a location's own limit once), numbers without printf()
 */

size_t
manta_redis_take_args(char *buf, const manta_limit_t *l, int backoff)
{
    char  *p;

    p = buf;

    memcpy(p, "$4\r\ntake\r\n", 10);
    p += 10;

    p = manta_redis_number(p, l->rate);
    p = manta_redis_number(p, l->burst);
    p = manta_redis_number(p, l->delay);

    memcpy(p, backoff ? "$1\r\n1\r\n" : "$1\r\n0\r\n", 7);

    return p + 7 - buf;
}


size_t
manta_redis_take_cmd(char *buf, const manta_redis_key_t *key,
    const char *args, size_t args_len)
{
    char  *p;

    p = manta_redis_evalsha(buf, "*9\r\n", key);

    memcpy(p, args, args_len);

    return p + args_len - buf;
}


size_t
manta_redis_backoff_cmd(char *buf, const manta_redis_key_t *key,
    unsigned seconds)
{
    char  *p;

    p = manta_redis_evalsha(buf, "*6\r\n", key);

    memcpy(p, "$7\r\nbackoff\r\n", 13);
    p += 13;

    p = manta_redis_number(p, seconds);

    return p - buf;
}


int
manta_redis_load_cmd(char **cmd)
{
    size_t       len[3];
    const char  *argv[3];

    argv[0] = "SCRIPT";
    argv[1] = "LOAD";
    argv[2] = manta_redis_script;

    len[0] = 6;
    len[1] = 4;
    len[2] = sizeof(manta_redis_script) - 1;

    return manta_redis_command(cmd, 3, argv, len);
}


int
manta_redis_auth_cmd(char **cmd, const char *user, size_t user_len,
    const char *password, size_t password_len)
{
    int          n;
    size_t       len[3];
    const char  *argv[3];

    n = 0;
    argv[n] = "AUTH";
    len[n++] = 4;

    if (user && user_len) {
        argv[n] = user;
        len[n++] = user_len;
    }

    argv[n] = password;
    len[n++] = password_len;

    return manta_redis_command(cmd, n, argv, len);
}


int
manta_redis_select_cmd(char **cmd, unsigned db)
{
    char         s[24];
    size_t       len[2];
    const char  *argv[2];

    len[1] = manta_uint(s, db) - s;

    argv[0] = "SELECT";
    argv[1] = s;

    len[0] = 6;

    return manta_redis_command(cmd, 2, argv, len);
}


int
manta_redis_reply(const redisReply *reply, manta_redis_result_t *res,
    const char **err)
{
    uint64_t  v[6];

    memset(res, 0, sizeof(manta_redis_result_t));

    if (reply == NULL) {
        *err = "no reply";
        return MANTA_REDIS_ERROR;
    }

    if (reply->type == REDIS_REPLY_ERROR) {

        if (reply->str && reply->len >= 8
            && memcmp(reply->str, "NOSCRIPT", 8) == 0)
        {
            *err = "script not loaded";
            return MANTA_REDIS_NOSCRIPT;
        }

        *err = "error reply";
        return MANTA_REDIS_ERROR;
    }

    if (reply->type != REDIS_REPLY_STATUS || reply->str == NULL
        || manta_redis_numbers(reply->str, reply->len, v) != 0)
    {
        *err = "unexpected reply";
        return MANTA_REDIS_ERROR;
    }

    res->code = (int) v[0];
    res->delay = v[1];
    res->excess = v[2];
    res->age = v[3];
    res->rate = v[4];
    res->blocked = v[5];

    *err = NULL;

    return MANTA_REDIS_OK;
}


int
manta_redis_reply_ok(const redisReply *reply)
{
    return reply != NULL
           && (reply->type == REDIS_REPLY_STATUS
               || reply->type == REDIS_REPLY_STRING);
}


void
manta_redis_bucket(const manta_redis_result_t *res, uint64_t now,
    manta_bucket_t *b)
{
    memset(b, 0, sizeof(manta_bucket_t));

    b->excess = res->excess;
    b->rate = (uint32_t) res->rate;

    if (res->rate) {
        /* a charged bucket; never "new" (last 0) on the local clock */
        b->last = (now > res->age) ? now - res->age : 1;
    }

    if (res->blocked) {
        b->blocked = now + res->blocked;
    }
}


/*
 * The script's answer, "code delay excess age rate blocked": six numbers
 * in decimal, without sign or leading zero, one space between them and
 * nothing else, each at most its limit, the largest a sane bucket holds
 */

static int
manta_redis_numbers(const char *p, size_t len, uint64_t *v)
{
    size_t       i, w;
    unsigned     d;
    uint64_t     n;
    const char  *last, *start;

    static const uint64_t  max[6] = {
        MANTA_REDIS_BLOCKED,
        (uint64_t) 1 << 52,
        (uint64_t) MANTA_LIMIT_MAX * 1000 + 1000,
        (uint64_t) 1 << 52,
        UINT32_MAX,
        (uint64_t) MANTA_BACKOFF_MAX * 1000 + 1000
    };

    last = p + len;

    for (i = 0; /* void */; i++) {
        start = p;
        n = 0;

        while (p < last && (d = (unsigned) (*p - '0')) < 10) {
            n = n * 10 + d;
            p++;
        }

        /* 1 to 16 digits (every limit is below 10^16: n cannot wrap) */

        w = (size_t) (p - start);

        if (w - 1 > 15 || (w > 1 && *start == '0') || n > max[i]) {
            return -1;
        }

        v[i] = n;

        if (i == 5) {
            return (p == last) ? 0 : -1;
        }

        if (p == last || *p++ != ' ') {
            return -1;
        }
    }
}


/*
 * The command in the protocol's form (an array of bulk strings), into
 * memory that free() (redisFreeCommand) releases.  The bytes are those of
 * hiredis's redisFormatCommandArgv(), which the unit tests hold it to;
 * that one calls printf() for each length, some 7,000 instructions a
 * command, and its sds variant about as many in reallocations.
 */

int
manta_redis_command(char **cmd, int argc, const char **argv,
    const size_t *len)
{
    int      i;
    char    *p, *buf;
    size_t   n;

    /* "*" argc CRLF, then "$" len CRLF arg CRLF each: 20 digits at most */

    n = 1 + 20 + 2;

    for (i = 0; i < argc; i++) {
        n += 1 + 20 + 2 + len[i] + 2;
    }

    buf = malloc(n + 1);
    if (buf == NULL) {
        return -1;
    }

    p = buf;

    *p++ = '*';
    p = manta_uint(p, (unsigned) argc);
    *p++ = '\r';
    *p++ = '\n';

    for (i = 0; i < argc; i++) {
        p = manta_redis_arg(p, argv[i], len[i]);
    }

    *p = '\0';
    *cmd = buf;

    return (int) (p - buf);
}


/*
 * "*N" CRLF, EVALSHA sha 1, then the key, its head and the botId closed
 * with "}": a command of the script
 */

static char *
manta_redis_evalsha(char *p, const char *argc, const manta_redis_key_t *key)
{
    (void) manta_redis_sha();

    memcpy(p, argc, 4);
    p += 4;

    memcpy(p, manta_redis_head, sizeof(manta_redis_head));
    p += sizeof(manta_redis_head);

    *p++ = '$';
    p = manta_uint(p, key->head_len + key->bot_id_len + 1);
    *p++ = '\r';
    *p++ = '\n';
    memcpy(p, key->head, key->head_len);
    p += key->head_len;
    memcpy(p, key->bot_id, key->bot_id_len);
    p += key->bot_id_len;
    *p++ = '}';
    *p++ = '\r';
    *p++ = '\n';

    return p;
}


/* one argument: "$" len CRLF arg CRLF */

static char *
manta_redis_arg(char *p, const char *arg, size_t len)
{
    *p++ = '$';
    p = manta_uint(p, len);
    *p++ = '\r';
    *p++ = '\n';
    memcpy(p, arg, len);
    p += len;
    *p++ = '\r';
    *p++ = '\n';

    return p;
}


/*
 * A number as an argument, its digits written once: below 10^9 they are
 * at most 9, whose length is one digit, else two
 */

static char *
manta_redis_number(char *p, unsigned long long n)
{
    char    *d;
    size_t   len;

    d = p + ((n < 1000000000) ? 4 : 5);
    len = manta_uint(d, n) - d;

    *p++ = '$';
    p = manta_uint(p, len);
    *p++ = '\r';
    *p++ = '\n';
    p += len;
    *p++ = '\r';
    *p++ = '\n';

    return p;
}


redisReader *
manta_redis_reader(void)
{
    size_t               i;
    redisReader         *reader;
    manta_redis_pool_t  *pool;

    pool = malloc(sizeof(manta_redis_pool_t));
    if (pool == NULL) {
        return NULL;
    }

    pool->free = NULL;
    pool->out = 0;
    pool->orphan = 0;

    for (i = 0; i < MANTA_REDIS_OBJS; i++) {
        pool->objs[i].pool = pool;
        pool->objs[i].next = pool->free;
        pool->free = &pool->objs[i];
    }

    reader = redisReaderCreateWithFunctions(&manta_redis_functions);
    if (reader == NULL) {
        free(pool);
        return NULL;
    }

    reader->privdata = pool;

    return reader;
}


void
manta_redis_reader_free(redisReader *reader)
{
    manta_redis_pool_t  *pool;

    if (reader == NULL) {
        return;
    }

    /*
     * A reply the reader still holds goes back to the pool first; one the
     * caller still holds (the reader may be freed while its reply is
     * being dispatched) frees the pool when it comes back
     */

    pool = reader->privdata;
    redisReaderFree(reader);

    if (pool->out == 0) {
        free(pool);
        return;
    }

    pool->orphan = 1;
}


void
manta_redis_reply_free(void *reply)
{
    size_t              i;
    redisReply         *r;
    manta_redis_obj_t  *o;

    if (reply == NULL) {
        return;
    }

    o = reply;
    r = &o->reply;

    if (r->type == REDIS_REPLY_ARRAY && r->element != NULL) {
        for (i = 0; i < r->elements; i++) {
            manta_redis_reply_free(r->element[i]);
        }

        if (r->element != o->elem) {
            free(r->element);
        }

    } else if (r->str != NULL && r->str != o->str) {
        free(r->str);
    }

    if (o->pool == NULL) {
        free(o);
        return;
    }

    o->next = o->pool->free;
    o->pool->free = o;

    if (--o->pool->out == 0 && o->pool->orphan) {
        free(o->pool);
    }
}


static manta_redis_obj_t *
manta_redis_obj(const redisReadTask *task)
{
    redisReply          *parent;
    manta_redis_obj_t   *o;
    manta_redis_pool_t  *pool;

    pool = task->privdata;

    if (pool != NULL && pool->free != NULL) {
        o = pool->free;
        pool->free = o->next;
        pool->out++;

    } else {
        o = malloc(sizeof(manta_redis_obj_t));
        if (o == NULL) {
            return NULL;
        }

        o->pool = NULL;
    }

    memset(&o->reply, 0, sizeof(redisReply));
    o->reply.type = task->type;

    if (task->parent != NULL) {
        parent = task->parent->obj;
        parent->element[task->idx] = &o->reply;
    }

    return o;
}


static void *
manta_redis_string(const redisReadTask *task, char *str, size_t len)
{
    char               *buf;
    manta_redis_obj_t  *o;

    if (len < MANTA_REDIS_INLINE) {
        buf = NULL;

    } else {
        buf = malloc(len + 1);
        if (buf == NULL) {
            return NULL;
        }
    }

    o = manta_redis_obj(task);
    if (o == NULL) {
        free(buf);
        return NULL;
    }

    o->reply.str = buf ? buf : o->str;
    memcpy(o->reply.str, str, len);
    o->reply.str[len] = '\0';
    o->reply.len = len;

    return o;
}


static void *
manta_redis_array(const redisReadTask *task, int n)
{
    redisReply        **elem;
    manta_redis_obj_t  *o;

    if (n > MANTA_REDIS_ARRAY_MAX) {
        /* the reader fails as out of memory: "invalid reply" is logged */
        return NULL;
    }

    elem = NULL;

    if (n > MANTA_REDIS_ELEMS) {
        elem = calloc((size_t) n, sizeof(redisReply *));
        if (elem == NULL) {
            return NULL;
        }
    }

    o = manta_redis_obj(task);
    if (o == NULL) {
        free(elem);
        return NULL;
    }

    if (n > 0) {
        if (elem == NULL) {
            elem = o->elem;
            memset(elem, 0, (size_t) n * sizeof(redisReply *));
        }

        o->reply.element = elem;
    }

    o->reply.elements = (size_t) (n > 0 ? n : 0);

    return o;
}


static void *
manta_redis_integer(const redisReadTask *task, long long v)
{
    manta_redis_obj_t  *o;

    o = manta_redis_obj(task);
    if (o == NULL) {
        return NULL;
    }

    o->reply.integer = v;

    return o;
}


static void *
manta_redis_nil(const redisReadTask *task)
{
    return manta_redis_obj(task);
}
