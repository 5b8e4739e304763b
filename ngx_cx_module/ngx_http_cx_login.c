
/*
 * Copyright (C) ngx_cx authors
 *
 * A customer who logs in mid-journey: a request whose id came from a
 * cx_id source (L, the login) and that also carries the cookie of an
 * anonymous visit (A), a different id.  After the response, in the log
 * phase, the anonymous history moves into the login's keys, once, by a
 * chain of commands that each name one customer's keys (one hash tag,
 * one Cluster slot), nothing waiting for it:
 *
 *   SET P{A}:m 1 NX EX 3600      the claim: of the requests that carry
 *                                both ids at once only the one that sets
 *                                it goes on, and the login's requests of
 *                                the next hour do not try again; then
 *   HMGET P{A}:s ...             the anonymous state
 *   LRANGE P{A}:seq 0 <history-1>  its steps
 *   ZREVRANGE P{A}:p 0 63 WITHSCORES  its transitions
 *   LRANGE P{A}:g 0 9            its paths to the goal
 *   DEL P{A}:seq P{A}:s P{A}:p P{A}:g
 *   LLEN P{L}:seq, HMGET P{L}:s ...   the login's steps and state
 *
 * and, as the replies come, the writes into the login's keys, each
 * bounded and given cx_ttl as the record's are: the steps appended after
 * the login's own, as older ones (RPUSH, LTRIM), the transitions added
 * to the login's (ZINCRBY, the 64 heaviest kept), the paths appended
 * (RPUSH, LTRIM), the state combined (ngx_http_cx_combine(), HSET).
 *
 * The anonymous keys are deleted before anything is written, so a fault
 * (Redis gone, a write refused) can drop a part of the history, never
 * count it twice; a claim whose reads were not answered leaves the keys
 * as they were, and the login's first request after the hour merges
 * them.  The shared model is not touched: the anonymous steps taught it
 * when they were taken.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include <ngx_http_cx_module.h>


/* the state fields, in the order ngx_http_cx_reply_state() reads them */
#define ngx_http_cx_login_fields                                             \
    ngx_http_cx_lit("ts"), ngx_http_cx_lit("jlen"),                         \
    ngx_http_cx_lit("goals"), ngx_http_cx_lit("gap"),                       \
    ngx_http_cx_lit("ngaps"), ngx_http_cx_lit("lday"),                      \
    ngx_http_cx_lit("learned"), ngx_http_cx_lit("lstart")


static void ngx_http_cx_login_claim(redisAsyncContext *ac, void *data,
    void *privdata);
static void ngx_http_cx_login_state(redisAsyncContext *ac, void *data,
    void *privdata);
static void ngx_http_cx_login_seq(redisAsyncContext *ac, void *data,
    void *privdata);
static void ngx_http_cx_login_habits(redisAsyncContext *ac, void *data,
    void *privdata);
static void ngx_http_cx_login_paths(redisAsyncContext *ac, void *data,
    void *privdata);
static void ngx_http_cx_login_steps(redisAsyncContext *ac, void *data,
    void *privdata);
static void ngx_http_cx_login_done(redisAsyncContext *ac, void *data,
    void *privdata);
static void ngx_http_cx_login_put(ngx_http_cx_slot_t *slot);
static ngx_uint_t ngx_http_cx_login_push(ngx_str_t *key, redisReply *reply,
    ngx_uint_t max, size_t len_max, ngx_uint_t path);
static ngx_uint_t ngx_http_cx_login_habit(u_char *data, size_t len);
static ngx_uint_t ngx_http_cx_login_path(u_char *data, size_t len);
static ngx_str_t ngx_http_cx_login_key(u_char *buf, ngx_http_cx_slot_t *slot,
    uint64_t hash, const char *suffix);


/* from the log phase: claims the anonymous history for the login */

void
ngx_http_cx_login(ngx_http_cx_ctx_t *ctx)
{
    u_char               mk[NGX_HTTP_CX_CKEY_MAX];
    ngx_uint_t           status;
    ngx_http_cx_slot_t  *slot;

    slot = ngx_http_cx_redis_acquire(ctx->request->connection->log, &status);
    if (slot == NULL) {
        /* Redis down or busy: the next request with both ids tries */
        return;
    }

    /* the keys of the request's shop */
    slot->shop = ngx_http_get_module_srv_conf(ctx->request,
                                              ngx_http_cx_module);
    slot->hash = ctx->hash;
    slot->anon = ctx->anon;
    slot->steps = 0;
    slot->errors = 0;
    slot->count = 1;
    ngx_memzero(&slot->state, sizeof(ngx_http_cx_state_t));

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ctx->request->connection->log, 0,
                   "cx: login %016xL takes over %016xL", slot->hash,
                   slot->anon);

    if (ngx_http_cx_cmd(ngx_http_cx_login_claim, slot, 6,
                        ngx_http_cx_lit("SET"),
                        ngx_http_cx_login_key(mk, slot, slot->anon, "m"),
                        ngx_http_cx_lit("1"), ngx_http_cx_lit("NX"),
                        ngx_http_cx_lit("EX"),
                        ngx_http_cx_lit(NGX_HTTP_CX_LOGIN_HOLD))
        != NGX_OK)
    {
        ngx_http_cx_redis_release(slot);
    }
}


/* the claim answered: "OK" if this request merges, nil if another did */

static void
ngx_http_cx_login_claim(redisAsyncContext *ac, void *data, void *privdata)
{
    redisReply          *reply = data;
    ngx_http_cx_slot_t  *slot = privdata;

    u_char                    sk[NGX_HTTP_CX_CKEY_MAX];
    u_char                    qk[NGX_HTTP_CX_CKEY_MAX];
    u_char                    pk[NGX_HTTP_CX_CKEY_MAX];
    u_char                    gk[NGX_HTTP_CX_CKEY_MAX];
    u_char                    lq[NGX_HTTP_CX_CKEY_MAX];
    u_char                    ls[NGX_HTTP_CX_CKEY_MAX];
    ngx_str_t                 s_k, seq_k, p_k, g_k;
    ngx_http_cx_main_conf_t  *cmcf;

    if (reply == NULL || reply->type != REDIS_REPLY_STATUS) {
        ngx_http_cx_redis_release(slot);
        return;
    }

    /* each read holds the slot: the last one answered releases it */

    slot->count = 0;

    cmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle, ngx_http_cx_module);

    s_k = ngx_http_cx_login_key(sk, slot, slot->anon, "s");
    seq_k = ngx_http_cx_login_key(qk, slot, slot->anon, "seq");
    p_k = ngx_http_cx_login_key(pk, slot, slot->anon, "p");
    g_k = ngx_http_cx_login_key(gk, slot, slot->anon, "g");

    /* the reads, each reply written into the login's keys as it comes */

    slot->count += ngx_http_cx_cmd(ngx_http_cx_login_state, slot, 10,
                                   ngx_http_cx_lit("HMGET"), s_k,
                                   ngx_http_cx_login_fields)
                   == NGX_OK;
    slot->count += ngx_http_cx_cmd(ngx_http_cx_login_seq, slot, 4,
                                   ngx_http_cx_lit("LRANGE"), seq_k,
                                   ngx_http_cx_lit("0"), cmcf->trim_text)
                   == NGX_OK;
    slot->count += ngx_http_cx_cmd(ngx_http_cx_login_habits, slot, 5,
                                   ngx_http_cx_lit("ZREVRANGE"), p_k,
                                   ngx_http_cx_lit("0"),
                                   ngx_http_cx_lit(NGX_HTTP_CX_HABITS_STOP),
                                   ngx_http_cx_lit("WITHSCORES"))
                   == NGX_OK;
    slot->count += ngx_http_cx_cmd(ngx_http_cx_login_paths, slot, 4,
                                   ngx_http_cx_lit("LRANGE"), g_k,
                                   ngx_http_cx_lit("0"),
                                   ngx_http_cx_lit(NGX_HTTP_CX_PATHS_STOP))
                   == NGX_OK;

    /* gone before anything is written: never merged twice */

    (void) ngx_http_cx_cmd(NULL, NULL, 5, ngx_http_cx_lit("DEL"), seq_k, s_k,
                           p_k, g_k);

    slot->count += ngx_http_cx_cmd(ngx_http_cx_login_steps, slot, 2,
                                   ngx_http_cx_lit("LLEN"),
                                   ngx_http_cx_login_key(lq, slot, slot->hash,
                                                         "seq"))
                   == NGX_OK;
    slot->count += ngx_http_cx_cmd(ngx_http_cx_login_done, slot, 10,
                                   ngx_http_cx_lit("HMGET"),
                                   ngx_http_cx_login_key(ls, slot, slot->hash,
                                                         "s"),
                                   ngx_http_cx_login_fields)
                   == NGX_OK;

    if (slot->count == 0) {
        ngx_http_cx_redis_release(slot);
    }
}


static void
ngx_http_cx_login_put(ngx_http_cx_slot_t *slot)
{
    if (--slot->count == 0) {

        /* the edge's copies are behind what the merge wrote */

        ngx_http_cx_customer_drop(slot->shop, slot->hash);
        ngx_http_cx_customer_drop(slot->shop, slot->anon);

        ngx_http_cx_redis_release(slot);
    }
}


static void
ngx_http_cx_login_state(redisAsyncContext *ac, void *data, void *privdata)
{
    redisReply          *reply = data;
    ngx_http_cx_slot_t  *slot = privdata;

    ngx_uint_t  bad;

    bad = ngx_http_cx_reply_state(reply, &slot->state);

    if (bad && reply && reply->type != REDIS_REPLY_ERROR) {
        ngx_http_cx_skipped(bad, "customer state");
    }

    ngx_http_cx_login_put(slot);
}


/* the anonymous steps, newest first: after the login's, as older ones */

static void
ngx_http_cx_login_seq(redisAsyncContext *ac, void *data, void *privdata)
{
    redisReply          *reply = data;
    ngx_http_cx_slot_t  *slot = privdata;

    u_char                    kb[NGX_HTTP_CX_CKEY_MAX];
    ngx_str_t                 key;
    ngx_http_cx_main_conf_t  *cmcf;

    cmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle, ngx_http_cx_module);

    key = ngx_http_cx_login_key(kb, slot, slot->hash, "seq");

    if (ngx_http_cx_login_push(&key, reply, cmcf->history,
                               NGX_HTTP_CX_MEMBER_MAX, 0))
    {
        (void) ngx_http_cx_cmd(NULL, NULL, 4, ngx_http_cx_lit("LTRIM"), key,
                               ngx_http_cx_lit("0"), cmcf->trim_text);
        (void) ngx_http_cx_cmd(NULL, NULL, 3, ngx_http_cx_lit("EXPIRE"), key,
                               slot->shop->ttl_text);
    }

    ngx_http_cx_login_put(slot);
}


/* the anonymous transitions, added up with the login's */

static void
ngx_http_cx_login_habits(redisAsyncContext *ac, void *data, void *privdata)
{
    redisReply          *reply = data;
    ngx_http_cx_slot_t  *slot = privdata;

    u_char       kb[NGX_HTTP_CX_CKEY_MAX], c[NGX_INT64_LEN + 8];
    double       count;
    ngx_str_t    key;
    ngx_uint_t   i, n, bad;
    redisReply  *m, *s;

    key = ngx_http_cx_login_key(kb, slot, slot->hash, "p");

    n = 0;
    bad = 0;

    for (i = 0;
         reply && reply->type == REDIS_REPLY_ARRAY
         && i + 1 < reply->elements && i < 2 * NGX_HTTP_CX_HABITS;
         i += 2)
    {
        m = reply->element[i];
        s = reply->element[i + 1];

        if (m == NULL || s == NULL
            || m->type != REDIS_REPLY_STRING || s->type != REDIS_REPLY_STRING
            || !ngx_http_cx_login_habit((u_char *) m->str, m->len)
            || ngx_http_cx_score((u_char *) s->str, s->len, &count)
               != NGX_OK
            || count > NGX_HTTP_CX_COUNT_MAX)
        {
            bad++;
            continue;
        }

        /* counts of 1 each, below 2^32: "%.6f" is exact */

        (void) ngx_http_cx_cmd(NULL, NULL, 4, ngx_http_cx_lit("ZINCRBY"), key,
                               ngx_http_cx_str(c, ngx_sprintf(c, "%.6f",
                                                              count)
                                                  - c),
                               ngx_http_cx_str(m->str, m->len));
        n++;
    }

    if (bad) {
        ngx_http_cx_skipped(bad, "customer habits");
    }

    if (n) {
        (void) ngx_http_cx_cmd(NULL, NULL, 4,
                               ngx_http_cx_lit("ZREMRANGEBYRANK"), key,
                               ngx_http_cx_lit("0"),
                               ngx_http_cx_lit(NGX_HTTP_CX_HABITS_KEEP));
        (void) ngx_http_cx_cmd(NULL, NULL, 3, ngx_http_cx_lit("EXPIRE"), key,
                               slot->shop->ttl_text);
    }

    ngx_http_cx_login_put(slot);
}


/* the anonymous paths to the goal, after the login's */

static void
ngx_http_cx_login_paths(redisAsyncContext *ac, void *data, void *privdata)
{
    redisReply          *reply = data;
    ngx_http_cx_slot_t  *slot = privdata;

    u_char     kb[NGX_HTTP_CX_CKEY_MAX];
    ngx_str_t  key;

    key = ngx_http_cx_login_key(kb, slot, slot->hash, "g");

    if (ngx_http_cx_login_push(&key, reply, NGX_HTTP_CX_PATHS,
                               NGX_HTTP_CX_PATH_MAX, 1))
    {
        (void) ngx_http_cx_cmd(NULL, NULL, 4, ngx_http_cx_lit("LTRIM"), key,
                               ngx_http_cx_lit("0"),
                               ngx_http_cx_lit(NGX_HTTP_CX_PATHS_STOP));
        (void) ngx_http_cx_cmd(NULL, NULL, 3, ngx_http_cx_lit("EXPIRE"), key,
                               slot->shop->ttl_text);
    }

    ngx_http_cx_login_put(slot);
}


/* the login's steps before the anonymous ones, for the journey */

static void
ngx_http_cx_login_steps(redisAsyncContext *ac, void *data, void *privdata)
{
    redisReply          *reply = data;
    ngx_http_cx_slot_t  *slot = privdata;

    if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer > 0) {
        slot->steps = (ngx_uint_t) reply->integer;
    }

    ngx_http_cx_login_put(slot);
}


/* the login's state, combined with the anonymous one */

static void
ngx_http_cx_login_done(redisAsyncContext *ac, void *data, void *privdata)
{
    redisReply          *reply = data;
    ngx_http_cx_slot_t  *slot = privdata;

    u_char                    kb[NGX_HTTP_CX_CKEY_MAX], v[5][NGX_INT64_LEN];
    ngx_str_t                 key, s[5];
    ngx_uint_t                i, bad;
    ngx_http_cx_state_t       st;
    ngx_http_cx_main_conf_t  *cmcf;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || slot->state.ts <= 0)
    {
        /* gone, or nothing known of the anonymous visit */
        ngx_http_cx_login_put(slot);
        return;
    }

    bad = ngx_http_cx_reply_state(reply, &st);

    if (bad) {
        ngx_http_cx_skipped(bad, "customer state");
    }

    cmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle, ngx_http_cx_module);

    ngx_http_cx_combine(&st, &slot->state, slot->steps, cmcf->journey_gap);

    key = ngx_http_cx_login_key(kb, slot, slot->hash, "s");

    ngx_http_cx_login_put(slot);

    for (i = 0; i < 5; i++) {
        s[i].data = v[i];
    }

    s[0].len = ngx_sprintf(v[0], "%L", st.ts) - v[0];
    s[1].len = ngx_sprintf(v[1], "%ui", st.jlen) - v[1];
    s[2].len = ngx_sprintf(v[2], "%ui", st.goals) - v[2];
    s[3].len = ngx_sprintf(v[3], "%L", (int64_t) st.gap) - v[3];
    s[4].len = ngx_sprintf(v[4], "%ui", st.ngaps) - v[4];

    /* the learning day stays the login's: HINCRBY counts it */

    (void) ngx_http_cx_cmd(NULL, NULL, 12, ngx_http_cx_lit("HSET"), key,
                           ngx_http_cx_lit("ts"), s[0],
                           ngx_http_cx_lit("jlen"), s[1],
                           ngx_http_cx_lit("goals"), s[2],
                           ngx_http_cx_lit("gap"), s[3],
                           ngx_http_cx_lit("ngaps"), s[4]);
    (void) ngx_http_cx_cmd(NULL, NULL, 3, ngx_http_cx_lit("EXPIRE"), key,
                           slot->shop->ttl_text);
}


/*
 * RPUSH key, NGX_HTTP_CX_LOGIN_PUSH at a time, the entries of an array
 * reply that are ours, at most max of them, in their order: steps, or
 * with "path" paths to the goal.  Returns how many.
 */

static ngx_uint_t
ngx_http_cx_login_push(ngx_str_t *key, redisReply *reply, ngx_uint_t max,
    size_t len_max, ngx_uint_t path)
{
    ngx_str_t          argv[2 + NGX_HTTP_CX_LOGIN_PUSH];
    ngx_uint_t         i, k, n, bad;
    redisReply        *e;
    ngx_http_cx_ref_t  ref;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        return 0;
    }

    argv[0] = ngx_http_cx_lit("RPUSH");
    argv[1] = *key;

    n = 0;
    k = 2;
    bad = 0;

    for (i = 0; i < reply->elements && n < max; i++) {
        e = reply->element[i];

        if (e == NULL || e->type != REDIS_REPLY_STRING
            || e->len == 0 || (size_t) e->len > len_max
            || (path ? !ngx_http_cx_login_path((u_char *) e->str, e->len)
                     : ngx_http_cx_member_parse((u_char *) e->str, e->len,
                                                &ref)
                       != NGX_OK))
        {
            bad++;
            continue;
        }

        argv[k++] = ngx_http_cx_str(e->str, e->len);
        n++;

        if (k == 2 + NGX_HTTP_CX_LOGIN_PUSH) {
            (void) ngx_http_cx_redis_command(NULL, NULL, k, argv);
            k = 2;
        }
    }

    if (k > 2) {
        (void) ngx_http_cx_redis_command(NULL, NULL, k, argv);
    }

    if (bad) {
        ngx_http_cx_skipped(bad, path ? "customer paths" : "customer steps");
    }

    return n;
}


/* a transition as ngx_http_cx_record.c writes it: "from name url" */

static ngx_uint_t
ngx_http_cx_login_habit(u_char *data, size_t len)
{
    u_char             *sp, *p;
    ngx_http_cx_ref_t   ref;

    if (len == 0 || len > NGX_HTTP_CX_HABIT_MAX) {
        return 0;
    }

    sp = ngx_strlchr(data, data + len, ' ');

    if (sp == NULL || sp == data || sp - data > NGX_HTTP_CX_NAME_MAX) {
        return 0;
    }

    for (p = data; p < sp; p++) {
        if (!ngx_http_cx_url_char(*p)) {
            return 0;
        }
    }

    return ngx_http_cx_member_parse(sp + 1, data + len - sp - 1, &ref)
           == NGX_OK;
}


/* a path as ngx_http_cx_record.c writes it: "name url|name url|..." */

static ngx_uint_t
ngx_http_cx_login_path(u_char *data, size_t len)
{
    u_char             *p, *last, *bar;
    ngx_uint_t          n;
    ngx_http_cx_ref_t   ref;

    p = data;
    last = data + len;

    for (n = 0; n < NGX_HTTP_CX_PATH_STEPS; n++) {
        bar = ngx_strlchr(p, last, '|');
        if (bar == NULL) {
            bar = last;
        }

        if (ngx_http_cx_member_parse(p, bar - p, &ref) != NGX_OK) {
            return 0;
        }

        if (bar == last) {
            return 1;
        }

        p = bar + 1;
    }

    return 0;
}


static ngx_str_t
ngx_http_cx_login_key(u_char *buf, ngx_http_cx_slot_t *slot, uint64_t hash,
    const char *suffix)
{
    ngx_str_t  key;

    key.data = buf;
    key.len = ngx_http_cx_customer_key(buf, &slot->shop->prefix, hash,
                                       suffix)
              - buf;

    return key;
}
