
/*
 * Copyright (C) ngx_cx authors
 *
 * Fuzz target: what Redis answers the merge of a login into its account
 * (ngx_http_cx_login.c).  The claim, and the reads it queues once
 * answered, go through the fakes of ngx_http_cx_redis.c below, which keep
 * the reply handlers in order and check every write: each key is the
 * login's (the anonymous one's for the DEL), each step, transition and
 * path written is of ngx_cx's format, each count and state value a
 * number.  The input, after a byte of settings, goes through hiredis's
 * own reader; each reply goes to the next handler, and once the reader
 * runs dry or fails, the rest get NULL, as when the connection goes away.
 * The slot is given back exactly once.
 */


#include "ngx_http_cx_fuzz.h"

#include <hiredis/hiredis.h>
#include <hiredis/async.h>


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


#define NGX_HTTP_CX_FUZZ_READS     16
#define NGX_HTTP_CX_FUZZ_ELEMENTS  1024
#define NGX_HTTP_CX_FUZZ_ARGS      (2 + NGX_HTTP_CX_LOGIN_PUSH)


typedef struct {
    ngx_http_cx_redis_cb_pt   fn;
    ngx_http_cx_slot_t       *slot;
} ngx_http_cx_fuzz_read_t;


ngx_module_t  ngx_http_cx_module;

static ngx_http_cx_fuzz_read_t  ngx_http_cx_fuzz_reads[NGX_HTTP_CX_FUZZ_READS];
static ngx_uint_t               ngx_http_cx_fuzz_nreads;
static ngx_uint_t               ngx_http_cx_fuzz_acquired;
static ngx_uint_t               ngx_http_cx_fuzz_released;
static ngx_uint_t               ngx_http_cx_fuzz_pushed;
static ngx_http_cx_slot_t       ngx_http_cx_fuzz_slot;
static u_char                   ngx_http_cx_fuzz_login[NGX_HTTP_CX_CKEY_MAX];
static size_t                   ngx_http_cx_fuzz_login_len;
static u_char                   ngx_http_cx_fuzz_anon[NGX_HTTP_CX_CKEY_MAX];
static size_t                   ngx_http_cx_fuzz_anon_len;

static ngx_http_cx_main_conf_t  ngx_http_cx_fuzz_cmcf;
static void                    *ngx_http_cx_fuzz_main_conf[1];
static ngx_http_cx_srv_conf_t   ngx_http_cx_fuzz_cxscf;
static void                    *ngx_http_cx_fuzz_srv_conf[1];
static ngx_http_conf_ctx_t      ngx_http_cx_fuzz_http_ctx;
static void                    *ngx_http_cx_fuzz_conf_ctx[1];


/* the fakes of ngx_http_cx_batch.c and ngx_http_cx_redis.c */

ngx_int_t
ngx_http_cx_cmd(ngx_http_cx_redis_cb_pt fn, ngx_http_cx_slot_t *slot,
    ngx_uint_t argc, ...)
{
    va_list     args;
    ngx_str_t   argv[NGX_HTTP_CX_FUZZ_ARGS];
    ngx_uint_t  i;

    ngx_http_cx_fuzz_check(argc <= NGX_HTTP_CX_FUZZ_ARGS);

    va_start(args, argc);

    for (i = 0; i < argc; i++) {
        argv[i] = va_arg(args, ngx_str_t);
    }

    va_end(args);

    return ngx_http_cx_redis_command(fn, slot, argc, argv);
}


void
ngx_http_cx_skipped(ngx_uint_t n, const char *what)
{
}


ngx_http_cx_slot_t *
ngx_http_cx_redis_acquire(ngx_log_t *log, ngx_uint_t *status)
{
    ngx_http_cx_fuzz_acquired++;

    return &ngx_http_cx_fuzz_slot;
}


void
ngx_http_cx_redis_release(ngx_http_cx_slot_t *slot)
{
    ngx_http_cx_fuzz_check(slot == &ngx_http_cx_fuzz_slot);

    ngx_http_cx_fuzz_released++;
}


static ngx_uint_t
ngx_http_cx_fuzz_is(ngx_str_t *s, char *text)
{
    return s->len == ngx_strlen(text)
           && ngx_strncmp(s->data, text, s->len) == 0;
}


/* digits, with a point in a count */

static ngx_uint_t
ngx_http_cx_fuzz_number(ngx_str_t *s)
{
    size_t  i;

    if (s->len == 0) {
        return 0;
    }

    for (i = 0; i < s->len; i++) {
        if ((s->data[i] < '0' || s->data[i] > '9') && s->data[i] != '.') {
            return 0;
        }
    }

    return 1;
}


/* the key is the customer's whose base is base, with one of the suffixes */

static ngx_uint_t
ngx_http_cx_fuzz_key(ngx_str_t *key, u_char *base, size_t len)
{
    ngx_str_t  suffix;

    if (key->len <= len || ngx_strncmp(key->data, base, len) != 0) {
        return 0;
    }

    suffix.data = key->data + len;
    suffix.len = key->len - len;

    return ngx_http_cx_fuzz_is(&suffix, "seq")
           || ngx_http_cx_fuzz_is(&suffix, "s")
           || ngx_http_cx_fuzz_is(&suffix, "p")
           || ngx_http_cx_fuzz_is(&suffix, "g")
           || ngx_http_cx_fuzz_is(&suffix, "m");
}


static void
ngx_http_cx_fuzz_path(ngx_str_t *s)
{
    u_char             *p, *last, *bar;
    ngx_uint_t          n;
    ngx_http_cx_ref_t   ref;

    ngx_http_cx_fuzz_check(s->len <= NGX_HTTP_CX_PATH_MAX);

    p = s->data;
    last = s->data + s->len;

    for (n = 0; ; n++) {
        ngx_http_cx_fuzz_check(n < NGX_HTTP_CX_PATH_STEPS);

        bar = ngx_strlchr(p, last, '|');
        if (bar == NULL) {
            bar = last;
        }

        ngx_http_cx_fuzz_check(ngx_http_cx_member_parse(p, bar - p, &ref)
                               == NGX_OK);

        if (bar == last) {
            return;
        }

        p = bar + 1;
    }
}


static void
ngx_http_cx_fuzz_write(ngx_uint_t argc, ngx_str_t *argv)
{
    u_char             *sp;
    ngx_str_t          *key, tail;
    ngx_uint_t          i;
    ngx_http_cx_ref_t   ref;

    ngx_http_cx_fuzz_check(argc >= 2);

    key = &argv[1];

    if (ngx_http_cx_fuzz_is(&argv[0], "DEL")) {
        for (i = 1; i < argc; i++) {
            ngx_http_cx_fuzz_check(
                ngx_http_cx_fuzz_key(&argv[i], ngx_http_cx_fuzz_anon,
                                     ngx_http_cx_fuzz_anon_len));
        }

        return;
    }

    ngx_http_cx_fuzz_check(ngx_http_cx_fuzz_key(key, ngx_http_cx_fuzz_login,
                                                ngx_http_cx_fuzz_login_len));

    tail.data = key->data + ngx_http_cx_fuzz_login_len;
    tail.len = key->len - ngx_http_cx_fuzz_login_len;

    if (ngx_http_cx_fuzz_is(&argv[0], "RPUSH")) {
        ngx_http_cx_fuzz_check(argc > 2);

        for (i = 2; i < argc; i++) {
            if (ngx_http_cx_fuzz_is(&tail, "seq")) {
                ngx_http_cx_fuzz_check(
                    ngx_http_cx_member_parse(argv[i].data, argv[i].len, &ref)
                    == NGX_OK);

            } else {
                ngx_http_cx_fuzz_check(ngx_http_cx_fuzz_is(&tail, "g"));
                ngx_http_cx_fuzz_path(&argv[i]);
            }

            ngx_http_cx_fuzz_pushed++;
        }

        return;
    }

    if (ngx_http_cx_fuzz_is(&argv[0], "ZINCRBY")) {
        ngx_http_cx_fuzz_check(argc == 4 && ngx_http_cx_fuzz_is(&tail, "p"));
        ngx_http_cx_fuzz_check(ngx_http_cx_fuzz_number(&argv[2]));

        /* "from name url" */
        sp = ngx_strlchr(argv[3].data, argv[3].data + argv[3].len, ' ');
        ngx_http_cx_fuzz_check(sp != NULL && sp > argv[3].data
                               && argv[3].len <= NGX_HTTP_CX_HABIT_MAX);

        for (i = 0; argv[3].data + i < sp; i++) {
            ngx_http_cx_fuzz_check(ngx_http_cx_url_char(argv[3].data[i]));
        }

        ngx_http_cx_fuzz_check(
            ngx_http_cx_member_parse(sp + 1, argv[3].data + argv[3].len
                                             - sp - 1, &ref)
            == NGX_OK);
        return;
    }

    if (ngx_http_cx_fuzz_is(&argv[0], "HSET")) {
        ngx_http_cx_fuzz_check(argc == 12 && ngx_http_cx_fuzz_is(&tail, "s"));

        for (i = 3; i < argc; i += 2) {
            ngx_http_cx_fuzz_check(ngx_http_cx_fuzz_number(&argv[i]));
        }

        return;
    }

    ngx_http_cx_fuzz_check(ngx_http_cx_fuzz_is(&argv[0], "LTRIM")
                           || ngx_http_cx_fuzz_is(&argv[0], "EXPIRE")
                           || ngx_http_cx_fuzz_is(&argv[0],
                                                  "ZREMRANGEBYRANK"));
}


ngx_int_t
ngx_http_cx_redis_command(ngx_http_cx_redis_cb_pt fn,
    ngx_http_cx_slot_t *slot, ngx_uint_t argc, ngx_str_t *argv)
{
    u_char  *buf, *p;
    size_t   len;

    len = ngx_http_cx_resp_len(argc, argv);

    buf = malloc(len);
    ngx_http_cx_fuzz_check(buf != NULL);

    p = ngx_http_cx_resp(buf, argc, argv);
    ngx_http_cx_fuzz_check((size_t) (p - buf) <= len);

    free(buf);

    if (fn == NULL) {
        ngx_http_cx_fuzz_write(argc, argv);
        return NGX_OK;
    }

    ngx_http_cx_fuzz_check(slot == &ngx_http_cx_fuzz_slot);
    ngx_http_cx_fuzz_check(ngx_http_cx_fuzz_nreads < NGX_HTTP_CX_FUZZ_READS);

    ngx_http_cx_fuzz_reads[ngx_http_cx_fuzz_nreads].fn = fn;
    ngx_http_cx_fuzz_reads[ngx_http_cx_fuzz_nreads].slot = slot;
    ngx_http_cx_fuzz_nreads++;

    return NGX_OK;
}


static void
ngx_http_cx_fuzz_configure(void)
{
    ngx_http_cx_main_conf_t  *cmcf;

    /* the longest prefix, so that every key is as long as it gets */

    ngx_str_set(&ngx_http_cx_fuzz_cxscf.prefix,
        "cx:pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp:");
    ngx_http_cx_fuzz_cxscf.ttl = 86400;
    ngx_str_set(&ngx_http_cx_fuzz_cxscf.ttl_text, "86400");
    ngx_http_cx_fuzz_srv_conf[0] = &ngx_http_cx_fuzz_cxscf;

    cmcf = &ngx_http_cx_fuzz_cmcf;

    cmcf->history = 40;
    cmcf->journey_gap = 1800000;
    ngx_str_set(&cmcf->trim_text, "39");

    /* ngx_http_cycle_get_module_main_conf(ngx_cycle, ngx_http_cx_module) */

    ngx_http_cx_fuzz_main_conf[0] = cmcf;
    ngx_http_cx_fuzz_http_ctx.main_conf = ngx_http_cx_fuzz_main_conf;
    ngx_http_cx_fuzz_conf_ctx[0] = &ngx_http_cx_fuzz_http_ctx;
    ngx_http_cx_fuzz_cycle.conf_ctx = (void ****) ngx_http_cx_fuzz_conf_ctx;
    ngx_http_module.index = 0;
}


/* as in fuzz_reply.c: no reply of more elements than Redis would send */

static ngx_uint_t
ngx_http_cx_fuzz_too_large(const uint8_t *p, const uint8_t *last)
{
    uint64_t  n;

    for ( /* void */ ; p < last; p++) {
        if (*p != '*') {
            continue;
        }

        for (n = 0; p + 1 < last && p[1] >= '0' && p[1] <= '9'; p++) {
            n = n * 10 + (p[1] - '0');

            if (n > NGX_HTTP_CX_FUZZ_ELEMENTS) {
                return 1;
            }
        }
    }

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char               flags, *buf;
    redisReply          *reply;
    redisReader         *reader;
    ngx_uint_t           k, dry;
    ngx_http_cx_ctx_t   *ctx;
    ngx_http_request_t  *r;

    static ngx_uint_t  initialized;

    if (!initialized) {
        ngx_http_cx_fuzz_init();
        ngx_http_cx_fuzz_configure();
        initialized = 1;
    }

    if (size == 0 || ngx_http_cx_fuzz_too_large(data + 1, data + size)) {
        return 0;
    }

    flags = data[0];

    r = ngx_http_cx_fuzz_request(NULL);

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_cx_ctx_t));
    ngx_http_cx_fuzz_check(ctx != NULL);

    r->srv_conf = ngx_http_cx_fuzz_srv_conf;

    ctx->request = r;
    ctx->hash = 0x0123456789abcdefULL * (flags + 1);
    ctx->anon = 0xfedcba9876543210ULL ^ ctx->hash;
    ctx->now = 1700000000000LL + (int64_t) flags * 7777777;

    ngx_http_cx_fuzz_login_len =
        ngx_http_cx_customer_key(ngx_http_cx_fuzz_login,
                                 &ngx_http_cx_fuzz_cxscf.prefix, ctx->hash, "")
        - ngx_http_cx_fuzz_login;
    ngx_http_cx_fuzz_anon_len =
        ngx_http_cx_customer_key(ngx_http_cx_fuzz_anon,
                                 &ngx_http_cx_fuzz_cxscf.prefix, ctx->anon, "")
        - ngx_http_cx_fuzz_anon;

    /* a slot as a request left it: the merge sets what it reads */

    ngx_memset(&ngx_http_cx_fuzz_slot, flags, sizeof(ngx_http_cx_slot_t));

    ngx_http_cx_fuzz_nreads = 0;
    ngx_http_cx_fuzz_acquired = 0;
    ngx_http_cx_fuzz_released = 0;
    ngx_http_cx_fuzz_pushed = 0;

    ngx_http_cx_login(ctx);

    ngx_http_cx_fuzz_check(ngx_http_cx_fuzz_acquired == 1
                           && ngx_http_cx_fuzz_nreads == 1);

    /* the replies, in a buffer of their exact size */

    buf = ngx_http_cx_fuzz_copy(data + 1, size - 1);

    reader = redisReaderCreate();
    ngx_http_cx_fuzz_check(reader != NULL);

    dry = (redisReaderFeed(reader, (char *) buf, size - 1) != REDIS_OK);

    /* the claim's handler queues the reads: the loop takes them too */

    for (k = 0; k < ngx_http_cx_fuzz_nreads; k++) {
        reply = NULL;

        if (!dry && (redisReaderGetReply(reader, (void **) &reply) != REDIS_OK
                     || reply == NULL))
        {
            dry = 1;
            reply = NULL;
        }

        ngx_http_cx_fuzz_check(ngx_http_cx_fuzz_released == 0);

        ngx_http_cx_fuzz_reads[k].fn(NULL, reply,
                                     ngx_http_cx_fuzz_reads[k].slot);

        if (reply) {
            freeReplyObject(reply);
        }
    }

    redisReaderFree(reader);

    /* the last handler gives the slot back; no more steps than kept */

    ngx_http_cx_fuzz_check(ngx_http_cx_fuzz_released == 1);
    ngx_http_cx_fuzz_check(ngx_http_cx_fuzz_pushed
                           <= ngx_http_cx_fuzz_cmcf.history
                              + NGX_HTTP_CX_PATHS);

    free(buf);
    ngx_destroy_pool(r->pool);

    return 0;
}
