
/*
 * Copyright (C) ngx_cx authors
 *
 * Fuzz target: what Redis answers the merge of a login into its account
 * (ngx_http_cx_login.c).  The claim, and the reads it queues once
 * answered, go through the fakes of ngx_http_cx_fuzz_redis.h, which keep
 * the reply handlers in order and give every write to the check below:
 * each key is the login's (the anonymous one's for the DEL), each step,
 * transition and path written is of ngx_cx's format, each count and
 * state value a number.  The input, after a byte of settings, goes
 * through hiredis's own reader to the handlers.  The slot is given back
 * exactly once.
 */


#include "ngx_http_cx_fuzz.h"
#include "ngx_http_cx_fuzz_redis.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


#define NGX_HTTP_CX_FUZZ_ARGS  (2 + NGX_HTTP_CX_LOGIN_PUSH)


static ngx_uint_t          ngx_http_cx_fuzz_acquired;
static ngx_uint_t          ngx_http_cx_fuzz_pushed;
static ngx_http_cx_slot_t  ngx_http_cx_fuzz_merge;
static u_char              ngx_http_cx_fuzz_login[NGX_HTTP_CX_CKEY_MAX];
static size_t              ngx_http_cx_fuzz_login_len;
static u_char              ngx_http_cx_fuzz_anon[NGX_HTTP_CX_CKEY_MAX];
static size_t              ngx_http_cx_fuzz_anon_len;


/* the fakes of ngx_http_cx_batch.c and the rest of ngx_http_cx_redis.c */

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


/* the fake of ngx_http_cx_answer.c's: the strings copied into the pool */

ngx_str_t *
ngx_http_cx_keep(ngx_pool_t *pool, ngx_str_t *m, ngx_uint_t n)
{
    ngx_str_t   *out;
    ngx_uint_t   i;

    out = ngx_palloc(pool, (n + 1) * sizeof(ngx_str_t));
    if (out == NULL) {
        return NULL;
    }

    for (i = 0; i < n; i++) {
        out[i].len = m[i].len;
        out[i].data = ngx_pnalloc(pool, m[i].len + 1);
        if (out[i].data == NULL) {
            return NULL;
        }

        ngx_memcpy(out[i].data, m[i].data, m[i].len);
    }

    return out;
}


ngx_http_cx_slot_t *
ngx_http_cx_redis_acquire(ngx_log_t *log, ngx_uint_t *status)
{
    ngx_http_cx_fuzz_acquired++;

    return &ngx_http_cx_fuzz_merge;
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


/* the recent steps as the hash keeps them: at most 16 of our format */

static void
ngx_http_cx_fuzz_recent(ngx_str_t *s)
{
    u_char             *p, *last, *bar;
    ngx_uint_t          n;
    ngx_http_cx_ref_t   ref;

    p = s->data;
    last = s->data + s->len;

    for (n = 0; p < last; n++) {
        ngx_http_cx_fuzz_check(n < NGX_HTTP_CX_RECENT);

        bar = ngx_strlchr(p, last, '|');
        if (bar == NULL) {
            bar = last;
        }

        ngx_http_cx_fuzz_check(ngx_http_cx_member_parse(p, bar - p, &ref)
                               == NGX_OK);
        p = bar + 1;
    }
}


static void
ngx_http_cx_fuzz_written(ngx_uint_t argc, ngx_str_t *argv)
{
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

    if (ngx_http_cx_fuzz_is(&argv[0], "HSET")) {
        ngx_http_cx_fuzz_check(argc % 2 == 0 && argc >= 4
                               && ngx_http_cx_fuzz_is(&tail, "s"));

        for (i = 2; i < argc; i += 2) {
            if (argv[i].len && argv[i].data[0] == '>') {
                /* a transition "from name url", its count */
                argv[i].data++;
                argv[i].len--;
                ngx_http_cx_fuzz_check(ngx_http_cx_habit_ok(&argv[i]));
                ngx_http_cx_fuzz_check(ngx_http_cx_fuzz_number(&argv[i + 1]));
                argv[i].data--;
                argv[i].len++;

            } else if (ngx_http_cx_fuzz_is(&argv[i], "r")) {
                ngx_http_cx_fuzz_recent(&argv[i + 1]);

            } else {
                ngx_http_cx_fuzz_check(ngx_http_cx_fuzz_number(&argv[i + 1]));
            }
        }

        return;
    }

    if (ngx_http_cx_fuzz_is(&argv[0], "HDEL")) {
        ngx_http_cx_fuzz_check(argc > 2 && ngx_http_cx_fuzz_is(&tail, "s"));

        for (i = 2; i < argc; i++) {
            ngx_http_cx_fuzz_check(argv[i].len && argv[i].data[0] == '>');
        }

        return;
    }

    ngx_http_cx_fuzz_check(ngx_http_cx_fuzz_is(&argv[0], "LTRIM")
                           || ngx_http_cx_fuzz_is(&argv[0], "EXPIRE"));
}


static void
ngx_http_cx_fuzz_configure(void)
{
    ngx_http_cx_fuzz_conf();

    ngx_http_cx_fuzz_cmcf.history = 40;
    ngx_str_set(&ngx_http_cx_fuzz_cmcf.trim_text, "39");

    ngx_http_cx_fuzz_write = ngx_http_cx_fuzz_written;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char               flags;
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

    ngx_memset(&ngx_http_cx_fuzz_merge, flags, sizeof(ngx_http_cx_slot_t));

    ngx_http_cx_fuzz_slot = &ngx_http_cx_fuzz_merge;
    ngx_http_cx_fuzz_nreads = 0;
    ngx_http_cx_fuzz_acquired = 0;
    ngx_http_cx_fuzz_released = 0;
    ngx_http_cx_fuzz_pushed = 0;

    ngx_http_cx_login(ctx);

    ngx_http_cx_fuzz_check(ngx_http_cx_fuzz_acquired == 1
                           && ngx_http_cx_fuzz_nreads == 1);

    /* the claim's handler queues the reads: they get their replies too */

    ngx_http_cx_fuzz_replies(data + 1, size - 1);

    /* the last handler gives the slot back; no more steps than kept */

    ngx_http_cx_fuzz_check(ngx_http_cx_fuzz_released == 1);
    ngx_http_cx_fuzz_check(ngx_http_cx_fuzz_pushed
                           <= ngx_http_cx_fuzz_cmcf.history
                              + NGX_HTTP_CX_PATHS);

    ngx_destroy_pool(r->pool);

    return 0;
}
