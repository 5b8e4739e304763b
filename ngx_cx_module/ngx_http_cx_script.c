
/*
 * Copyright (C) ngx_cx authors
 *
 * The scripts Redis runs for ngx_cx: a customer's reads in one command,
 * their step's writes in another.  Each connection loads them first
 * (SCRIPT LOAD, ngx_http_cx_redis.c), then calls them by their SHA1
 * (EVALSHA), computed here once.  Every key a script touches is one of
 * the customer's, passed in KEYS: one hash tag, one Cluster slot.
 *
 * Scripts, not FUNCTION LOAD: EVALSHA runs on Redis 2.6 and later, and a
 * connection loads them again whenever Redis has forgotten them (a
 * restart, a failover, SCRIPT FLUSH answer NOSCRIPT).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_sha1.h>

#include <ngx_http_cx_module.h>


/*
 * KEYS: P{H}:s P{H}:seq P{H}:p P{H}:g
 * ARGV: the steps to count against the learning budget (0: none)
 *
 * The state (HMGET), the day's steps after HINCRBY (or nil), the steps
 * before this one, the customer's transitions, their paths to the goal.
 */

static char  ngx_http_cx_script_read[] =
    "local n = tonumber(ARGV[1])\n"
    "local s = redis.call('HMGET', KEYS[1], 'ts', 'jlen', 'goals', 'gap',"
    " 'ngaps', 'lday', 'learned', 'lstart', 'u', 'o')\n"
    "local c = false\n"
    "if n > 0 then c = redis.call('HINCRBY', KEYS[1], 'learned', n) end\n"
    "return {s, c,"
    " redis.call('LRANGE', KEYS[2], 0, " NGX_HTTP_CX_RECENT_STOP "),"
    " redis.call('ZREVRANGE', KEYS[3], 0, " NGX_HTTP_CX_HABITS_STOP ","
    " 'WITHSCORES'),"
    " redis.call('LRANGE', KEYS[4], 0, " NGX_HTTP_CX_PATHS_STOP ")}\n";


/*
 * KEYS: P{H}:s P{H}:seq P{H}:p P{H}:g
 * ARGV: ttl, the last index of the sequence kept, the number of steps and
 *       the steps (oldest first), the number of state fields and the
 *       fields with their values, the number of the customer's own
 *       transitions and the transitions, the path to the goal or ""
 *
 * What a recorded step changes of the customer, each key's TTL renewed.
 */

static char  ngx_http_cx_script_step[] =
    "local ttl = ARGV[1]\n"
    "local i = 3\n"
    "local n = tonumber(ARGV[i])\n"
    "if n > 0 then\n"
    "  redis.call('LPUSH', KEYS[2], unpack(ARGV, i + 1, i + n))\n"
    "  redis.call('LTRIM', KEYS[2], 0, ARGV[2])\n"
    "  redis.call('EXPIRE', KEYS[2], ttl)\n"
    "end\n"
    "i = i + n + 1\n"
    "n = tonumber(ARGV[i])\n"
    "if n > 0 then\n"
    "  redis.call('HSET', KEYS[1], unpack(ARGV, i + 1, i + 2 * n))\n"
    "end\n"
    "redis.call('EXPIRE', KEYS[1], ttl)\n"
    "i = i + 2 * n + 1\n"
    "n = tonumber(ARGV[i])\n"
    "for k = i + 1, i + n do\n"
    "  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, "
    NGX_HTTP_CX_HABITS_TRIM ")\n"
    "  redis.call('ZINCRBY', KEYS[3], 1, ARGV[k])\n"
    "end\n"
    "if n > 0 then redis.call('EXPIRE', KEYS[3], ttl) end\n"
    "i = i + n + 1\n"
    "if ARGV[i] ~= '' then\n"
    "  redis.call('LPUSH', KEYS[4], ARGV[i])\n"
    "  redis.call('LTRIM', KEYS[4], 0, " NGX_HTTP_CX_PATHS_STOP ")\n"
    "  redis.call('EXPIRE', KEYS[4], ttl)\n"
    "end\n"
    "return 1\n";


ngx_http_cx_script_t  ngx_http_cx_scripts[NGX_HTTP_CX_SCRIPTS] = {
    { ngx_string(ngx_http_cx_script_read), { 0 } },
    { ngx_string(ngx_http_cx_script_step), { 0 } }
};


void
ngx_http_cx_script_init(void)
{
    u_char       digest[20];
    ngx_sha1_t   sha1;
    ngx_uint_t   i;

    for (i = 0; i < NGX_HTTP_CX_SCRIPTS; i++) {
        ngx_sha1_init(&sha1);
        ngx_sha1_update(&sha1, ngx_http_cx_scripts[i].text.data,
                        ngx_http_cx_scripts[i].text.len);
        ngx_sha1_final(digest, &sha1);

        ngx_hex_dump(ngx_http_cx_scripts[i].sha, digest, 20);
    }
}
