
/*
 * Copyright (C) ngx_cx authors
 *
 * A step's batch of Redis commands and what its replies lead to: the
 * reads and the recording sent together, the writes that depend on the
 * replies sent when they come, and the answer handed to the request.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <math.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include <ngx_http_cx_module.h>


#define NGX_HTTP_CX_ARGS_MAX   16

/* an argument: a literal, or bytes with their length */
#define ngx_http_cx_lit(s)     ((ngx_str_t) ngx_string(s))
#define ngx_http_cx_str(d, n)  ((ngx_str_t) { (n), (u_char *) (d) })


static ngx_int_t ngx_http_cx_cmd(ngx_http_cx_redis_cb_pt fn,
    ngx_http_cx_slot_t *slot, ngx_uint_t argc, ...);
static void ngx_http_cx_state_reply(redisAsyncContext *ac, void *data,
    void *privdata);
static void ngx_http_cx_today_reply(redisAsyncContext *ac, void *data,
    void *privdata);
static void ngx_http_cx_recent_reply(redisAsyncContext *ac, void *data,
    void *privdata);
static ngx_uint_t ngx_http_cx_learn(ngx_http_cx_slot_t *slot);
static void ngx_http_cx_credit(ngx_http_cx_slot_t *slot, ngx_str_t *m,
    ngx_uint_t n, ngx_http_cx_main_conf_t *cmcf);
static void ngx_http_cx_save_state(ngx_http_cx_slot_t *slot,
    ngx_http_cx_main_conf_t *cmcf);
static void ngx_http_cx_save_path(ngx_http_cx_slot_t *slot, ngx_str_t *m,
    ngx_uint_t n, ngx_http_cx_main_conf_t *cmcf);
static void ngx_http_cx_habits_reply(redisAsyncContext *ac, void *data,
    void *privdata);
static void ngx_http_cx_paths_reply(redisAsyncContext *ac, void *data,
    void *privdata);
static void ngx_http_cx_past_reply(redisAsyncContext *ac, void *data,
    void *privdata);
static void ngx_http_cx_final_reply(redisAsyncContext *ac, void *data,
    void *privdata);
static ngx_int_t ngx_http_cx_scored(ngx_http_cx_ctx_t *ctx,
    redisReply *reply, ngx_uint_t max, ngx_uint_t room, size_t len_max,
    const char *what, ngx_str_t **mp, double **wp);
static void ngx_http_cx_skipped(ngx_uint_t n, const char *what);


/*
 * One pipelined batch; only its last reply is waited for.  All but the
 * last key belong to the customer (one hash tag, one Cluster slot):
 *
 *   HMGET P{H}:s ...              the state: last step, journey, pace
 *   HINCRBY P{H}:s learned 1      steps today, for the learning budget
 *   LRANGE P{H}:seq 0 15          the steps before this one
 *   LPUSH, LTRIM, EXPIRE P{H}:seq this step
 *   ZREVRANGE P{H}:p 0 63         the customer's own transitions
 *   LRANGE P{H}:g 0 9             the customer's paths to the goal
 *   ZREVRANGE Pt:{<name>}:E-1 0 99, then Pt:{<name>}:E 0 99
 *                                 where everyone went next, decayed: the
 *                                 previous epoch's weights are scaled by
 *                                 2^-32 here, and never more than 100 of
 *                                 each are read, whatever a set holds
 *
 * A visitor whose id was issued with this very response has nothing to
 * read and gets nothing written: only the shared reads are sent, so
 * cookieless clients (crawlers, one-page visits) leave no keys behind.
 *
 * What depends on the replies (rule credits, the new state, the goal
 * path) is written when they come, off the request's critical path.
 */

ngx_int_t
ngx_http_cx_send(ngx_http_cx_main_conf_t *cmcf, ngx_http_cx_loc_conf_t *clcf,
    ngx_http_cx_slot_t *slot)
{
    u_char     seq[NGX_HTTP_CX_CKEY_MAX], st[NGX_HTTP_CX_CKEY_MAX];
    u_char     pk[NGX_HTTP_CX_CKEY_MAX], gk[NGX_HTTP_CX_CKEY_MAX];
    u_char     prev[NGX_HTTP_CX_KEY_MAX], cur[NGX_HTTP_CX_KEY_MAX];
    ngx_str_t  member, seq_k, st_k, p_k, g_k, prev_k, cur_k;

    member = ngx_http_cx_str(slot->member, slot->member_len);

    /* once for the batch and the rule credits its replies lead to */

    slot->weight = ngx_http_cx_decay(slot->now, cmcf->half_life,
                                     &slot->epoch);

    prev_k.data = prev;
    prev_k.len = ngx_http_cx_step_key(prev, &cmcf->prefix, slot->member,
                                      slot->name_len, slot->epoch - 1)
                 - prev;
    cur_k.data = cur;
    cur_k.len = ngx_http_cx_step_key(cur, &cmcf->prefix, slot->member,
                                     slot->name_len, slot->epoch)
                - cur;

    if (slot->fresh) {
        goto shared;
    }

    seq_k.data = seq;
    seq_k.len = ngx_http_cx_customer_key(seq, &cmcf->prefix, slot->hash,
                                         "seq")
                - seq;
    st_k.data = st;
    st_k.len = ngx_http_cx_customer_key(st, &cmcf->prefix, slot->hash, "s")
               - st;
    g_k.data = gk;
    g_k.len = ngx_http_cx_customer_key(gk, &cmcf->prefix, slot->hash, "g")
              - gk;
    p_k.data = pk;
    p_k.len = ngx_http_cx_customer_key(pk, &cmcf->prefix, slot->hash, "p")
              - pk;

    if (ngx_http_cx_cmd(ngx_http_cx_state_reply, slot, 9,
                        ngx_http_cx_lit("HMGET"), st_k,
                        ngx_http_cx_lit("ts"), ngx_http_cx_lit("jlen"),
                        ngx_http_cx_lit("goals"), ngx_http_cx_lit("gap"),
                        ngx_http_cx_lit("ngaps"), ngx_http_cx_lit("lday"),
                        ngx_http_cx_lit("learned"))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (!slot->readonly) {
        (void) ngx_http_cx_cmd(ngx_http_cx_today_reply, slot, 4,
                               ngx_http_cx_lit("HINCRBY"), st_k,
                               ngx_http_cx_lit("learned"),
                               ngx_http_cx_lit("1"));
    }

    (void) ngx_http_cx_cmd(ngx_http_cx_recent_reply, slot, 4,
                           ngx_http_cx_lit("LRANGE"), seq_k,
                           ngx_http_cx_lit("0"),
                           ngx_http_cx_lit(NGX_HTTP_CX_RECENT_STOP));

    if (!slot->readonly) {
        (void) ngx_http_cx_cmd(NULL, slot, 3, ngx_http_cx_lit("LPUSH"), seq_k,
                               member);
        (void) ngx_http_cx_cmd(NULL, slot, 4, ngx_http_cx_lit("LTRIM"), seq_k,
                               ngx_http_cx_lit("0"), cmcf->trim_text);
        (void) ngx_http_cx_cmd(NULL, slot, 3, ngx_http_cx_lit("EXPIRE"), seq_k,
                               cmcf->ttl_text);
    }

    (void) ngx_http_cx_cmd(ngx_http_cx_habits_reply, slot, 5,
                           ngx_http_cx_lit("ZREVRANGE"), p_k,
                           ngx_http_cx_lit("0"),
                           ngx_http_cx_lit(NGX_HTTP_CX_HABITS_STOP),
                           ngx_http_cx_lit("WITHSCORES"));

    (void) ngx_http_cx_cmd(ngx_http_cx_paths_reply, slot, 4,
                           ngx_http_cx_lit("LRANGE"), g_k,
                           ngx_http_cx_lit("0"),
                           ngx_http_cx_lit(NGX_HTTP_CX_PATHS_STOP));

shared:

    (void) ngx_http_cx_cmd(ngx_http_cx_past_reply, slot, 5,
                           ngx_http_cx_lit("ZREVRANGE"), prev_k,
                           ngx_http_cx_lit("0"),
                           ngx_http_cx_lit(NGX_HTTP_CX_FANOUT_STOP),
                           ngx_http_cx_lit("WITHSCORES"));

    /* every reply comes back in order, so this one comes last */

    return ngx_http_cx_cmd(ngx_http_cx_final_reply, slot, 5,
                           ngx_http_cx_lit("ZREVRANGE"), cur_k,
                           ngx_http_cx_lit("0"),
                           ngx_http_cx_lit(NGX_HTTP_CX_FANOUT_STOP),
                           ngx_http_cx_lit("WITHSCORES"));
}


/* a read with fn, a write without; slot counts its error replies */

static ngx_int_t
ngx_http_cx_cmd(ngx_http_cx_redis_cb_pt fn, ngx_http_cx_slot_t *slot,
    ngx_uint_t argc, ...)
{
    va_list     args;
    ngx_str_t   argv[NGX_HTTP_CX_ARGS_MAX];
    ngx_uint_t  i;

    if (argc > NGX_HTTP_CX_ARGS_MAX) {
        return NGX_ERROR;
    }

    va_start(args, argc);

    for (i = 0; i < argc; i++) {
        argv[i] = va_arg(args, ngx_str_t);
    }

    va_end(args);

    return ngx_http_cx_redis_command(fn, slot, argc, argv);
}


static void
ngx_http_cx_state_reply(redisAsyncContext *ac, void *data, void *privdata)
{
    redisReply          *reply = data;
    ngx_http_cx_slot_t  *slot = privdata;

    ngx_uint_t  bad;

    bad = ngx_http_cx_reply_state(reply, &slot->state);

    if (bad && reply->type != REDIS_REPLY_ERROR) {
        ngx_http_cx_skipped(bad, "customer state");
    }
}


/* the steps of this customer today, this one included, counted atomically */

static void
ngx_http_cx_today_reply(redisAsyncContext *ac, void *data, void *privdata)
{
    redisReply          *reply = data;
    ngx_http_cx_slot_t  *slot = privdata;

    slot->steps_today = NGX_HTTP_CX_LEARN_DAY + 1;

    if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer > 0) {
        slot->steps_today = (ngx_uint_t) reply->integer;
    }
}


/*
 * The steps before this one: advances the state, credits the rules
 * previous -> this step (1/d for distance d), counts the customer's own
 * transition, and on the goal keeps the journey's path.
 */

static void
ngx_http_cx_recent_reply(redisAsyncContext *ac, void *data, void *privdata)
{
    redisReply          *reply = data;
    ngx_http_cx_slot_t  *slot = privdata;

    ngx_str_t                m[NGX_HTTP_CX_RECENT], member, last;
    ngx_uint_t               i, k, n, prev, bad;
    ngx_http_cx_state_t      st;
    ngx_http_cx_ctx_t       *ctx;
    ngx_http_cx_main_conf_t  *cmcf;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        /* gone, or refused (counted): nothing to learn from */
        return;
    }

    cmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle, ngx_http_cx_module);

    bad = 0;
    n = ngx_http_cx_reply_members(reply, m, NGX_HTTP_CX_RECENT, &bad);

    if (bad) {
        ngx_http_cx_skipped(bad, "customer steps");
    }

    st = slot->state;
    prev = ngx_http_cx_advance(&st, slot->now, cmcf->journey_gap,
                               slot->goal);
    prev = ngx_min(prev, n);

    if (!slot->readonly) {
        slot->state = st;
    }

    member = ngx_http_cx_str(slot->member, slot->member_len);

    /* the journey's earlier steps, newest first, reloads collapsed */

    last = member;
    k = 0;

    for (i = 0; i < prev; i++) {
        if (ngx_http_cx_same(&m[i], &last)) {
            continue;
        }

        last = m[i];
        m[k++] = m[i];
    }

    prev = k;

    if (!slot->readonly) {
        if (ngx_http_cx_learn(slot) && prev) {
            ngx_http_cx_credit(slot, m, prev, cmcf);
        }

        ngx_http_cx_save_state(slot, cmcf);

        if (slot->goal) {
            ngx_http_cx_save_path(slot, m, prev, cmcf);
        }
    }

    ctx = slot->ctx;

    if (ctx == NULL) {
        return;
    }

    ctx->state = slot->state;
    ctx->known = 1;

    /* the journey's earlier steps, newest first */

    ctx->journey = ngx_http_cx_keep(ctx->request->pool, m, prev);
    ctx->njourney = ctx->journey ? prev : 0;
}


/*
 * A customer's learning budget: NGX_HTTP_CX_LEARN_DAY steps a day teach
 * the model, the rest are served but not learned, so that no one id can
 * create rule keys without bound whatever urls it invents.  The count is
 * Redis's HINCRBY, so requests of one id in parallel cannot share one
 * value.  A new customer's count starts at 1 by itself; an earlier day's
 * count is set back to 1 by the first step of the next day (each request
 * in flight at that moment may take it for the first).
 */

static ngx_uint_t
ngx_http_cx_learn(ngx_http_cx_slot_t *slot)
{
    ngx_uint_t  day;

    day = (ngx_uint_t) (slot->now / 86400000);

    slot->state.learned = 0;

    if (slot->state.lday != day) {
        if (slot->state.lday) {
            slot->state.learned = 1;
        }

        slot->state.lday = day;

        if (slot->state.learned) {
            return 1;
        }
    }

    return slot->steps_today <= NGX_HTTP_CX_LEARN_DAY;
}


/*
 * The rules from the journey's last steps m[0..n) to this one, and the
 * customer's own transition from m[0].  Each sorted set is trimmed before
 * the credit, so that a successor just added is never the one trimmed.
 */

static void
ngx_http_cx_credit(ngx_http_cx_slot_t *slot, ngx_str_t *m, ngx_uint_t n,
    ngx_http_cx_main_conf_t *cmcf)
{
    u_char             kb[NGX_HTTP_CX_KEY_MAX], w[NGX_INT64_LEN + 8];
    u_char             habit[NGX_HTTP_CX_HABIT_MAX], *p;
    ngx_str_t          key, member, weight;
    ngx_uint_t         i;
    ngx_http_cx_ref_t  ref;

    member = ngx_http_cx_str(slot->member, slot->member_len);

    for (i = 0; i < ngx_min(n, cmcf->distance); i++) {

        if (ngx_http_cx_same(&m[i], &member)
            || ngx_http_cx_member_parse(m[i].data, m[i].len, &ref) != NGX_OK)
        {
            /* no rule from a step to itself */
            continue;
        }

        key.data = kb;
        key.len = ngx_http_cx_step_key(kb, &cmcf->prefix, ref.name.data,
                                       ref.name.len, slot->epoch)
                  - kb;

        /* below 2^32 (NGX_HTTP_CX_EPOCH half-lives): "%.6f" is exact */

        weight.data = w;
        weight.len = ngx_sprintf(w, "%.6f", slot->weight / (double) (i + 1))
                     - w;

        (void) ngx_http_cx_cmd(NULL, NULL, 4,
                               ngx_http_cx_lit("ZREMRANGEBYRANK"), key,
                               ngx_http_cx_lit("0"),
                               ngx_http_cx_lit(NGX_HTTP_CX_FANOUT_ROOM));
        (void) ngx_http_cx_cmd(NULL, NULL, 4, ngx_http_cx_lit("ZINCRBY"), key,
                               weight, member);
        (void) ngx_http_cx_cmd(NULL, NULL, 3, ngx_http_cx_lit("EXPIRE"), key,
                               cmcf->ttl_text);

        if (i > 0) {
            continue;
        }

        /* the customer's own transition: "from name url" in one key */

        p = ngx_cpymem(habit, ref.name.data, ref.name.len);
        *p++ = ' ';
        p = ngx_cpymem(p, slot->member, slot->member_len);

        key.len = ngx_http_cx_customer_key(kb, &cmcf->prefix, slot->hash, "p")
                  - kb;

        (void) ngx_http_cx_cmd(NULL, NULL, 4,
                               ngx_http_cx_lit("ZREMRANGEBYRANK"), key,
                               ngx_http_cx_lit("0"),
                               ngx_http_cx_lit(NGX_HTTP_CX_HABITS_TRIM));
        (void) ngx_http_cx_cmd(NULL, NULL, 4, ngx_http_cx_lit("ZINCRBY"), key,
                               ngx_http_cx_lit("1"),
                               ngx_http_cx_str(habit, p - habit));
        (void) ngx_http_cx_cmd(NULL, NULL, 3, ngx_http_cx_lit("EXPIRE"), key,
                               cmcf->ttl_text);
    }
}


static void
ngx_http_cx_save_state(ngx_http_cx_slot_t *slot,
    ngx_http_cx_main_conf_t *cmcf)
{
    u_char                kb[NGX_HTTP_CX_CKEY_MAX], v[7][NGX_INT64_LEN];
    ngx_str_t             key, s[7];
    ngx_uint_t            i;
    ngx_http_cx_state_t  *st;

    st = &slot->state;

    for (i = 0; i < 7; i++) {
        s[i].data = v[i];
    }

    s[0].len = ngx_sprintf(v[0], "%L", st->ts) - v[0];
    s[1].len = ngx_sprintf(v[1], "%ui", st->jlen) - v[1];
    s[2].len = ngx_sprintf(v[2], "%ui", st->goals) - v[2];
    s[3].len = ngx_sprintf(v[3], "%L", (int64_t) st->gap) - v[3];
    s[4].len = ngx_sprintf(v[4], "%ui", st->ngaps) - v[4];
    s[5].len = ngx_sprintf(v[5], "%ui", st->lday) - v[5];
    s[6].len = ngx_sprintf(v[6], "%ui", st->learned) - v[6];

    key.data = kb;
    key.len = ngx_http_cx_customer_key(kb, &cmcf->prefix, slot->hash, "s")
              - kb;

    /* "learned" only when a new day starts it again: HINCRBY counts */

    (void) ngx_http_cx_cmd(NULL, NULL, st->learned ? 16 : 14,
                           ngx_http_cx_lit("HSET"), key,
                           ngx_http_cx_lit("ts"), s[0],
                           ngx_http_cx_lit("jlen"), s[1],
                           ngx_http_cx_lit("goals"), s[2],
                           ngx_http_cx_lit("gap"), s[3],
                           ngx_http_cx_lit("ngaps"), s[4],
                           ngx_http_cx_lit("lday"), s[5],
                           ngx_http_cx_lit("learned"), s[6]);
    (void) ngx_http_cx_cmd(NULL, NULL, 3, ngx_http_cx_lit("EXPIRE"), key,
                           cmcf->ttl_text);
}


/* the journey's path, oldest step first, ending at the goal */

static void
ngx_http_cx_save_path(ngx_http_cx_slot_t *slot, ngx_str_t *m, ngx_uint_t n,
    ngx_http_cx_main_conf_t *cmcf)
{
    u_char      kb[NGX_HTTP_CX_CKEY_MAX], *path, *p;
    size_t      len;
    ngx_str_t   key;
    ngx_uint_t  i;

    len = slot->member_len;

    for (i = 0; i < n; i++) {
        len += m[i].len + 1;
    }

    /* the request may be gone: not from its pool */

    path = ngx_alloc(len, ngx_cycle->log);
    if (path == NULL) {
        return;
    }

    p = path;

    for (i = n; i > 0; i--) {
        p = ngx_cpymem(p, m[i - 1].data, m[i - 1].len);
        *p++ = '|';
    }

    p = ngx_cpymem(p, slot->member, slot->member_len);

    key.data = kb;
    key.len = ngx_http_cx_customer_key(kb, &cmcf->prefix, slot->hash, "g")
              - kb;

    (void) ngx_http_cx_cmd(NULL, NULL, 3, ngx_http_cx_lit("LPUSH"), key,
                           ngx_http_cx_str(path, p - path));
    (void) ngx_http_cx_cmd(NULL, NULL, 4, ngx_http_cx_lit("LTRIM"), key,
                           ngx_http_cx_lit("0"),
                           ngx_http_cx_lit(NGX_HTTP_CX_PATHS_STOP));
    (void) ngx_http_cx_cmd(NULL, NULL, 3, ngx_http_cx_lit("EXPIRE"), key,
                           cmcf->ttl_text);

    ngx_free(path);
}


/* where this customer went from the current step: "from name url" */

static void
ngx_http_cx_habits_reply(redisAsyncContext *ac, void *data, void *privdata)
{
    redisReply          *reply = data;
    ngx_http_cx_slot_t  *slot = privdata;

    double              *sc;
    ngx_int_t            n;
    ngx_str_t           *m;
    ngx_uint_t           i, k, bad;
    ngx_http_cx_ref_t    ref;
    ngx_http_cx_ctx_t   *ctx;

    ctx = slot->ctx;

    if (ctx == NULL || reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        return;
    }

    n = ngx_http_cx_scored(ctx, reply, NGX_HTTP_CX_HABITS, 0,
                           NGX_HTTP_CX_HABIT_MAX, "customer habits", &m, &sc);
    if (n == NGX_ERROR) {
        return;
    }

    bad = 0;
    k = 0;

    for (i = 0; i < (ngx_uint_t) n; i++) {
        if (m[i].len <= slot->name_len + 1
            || ngx_strncmp(m[i].data, slot->member, slot->name_len) != 0
            || m[i].data[slot->name_len] != ' ')
        {
            /* another step's, or not ours */
            continue;
        }

        m[i].data += slot->name_len + 1;
        m[i].len -= slot->name_len + 1;

        if (ngx_http_cx_member_parse(m[i].data, m[i].len, &ref) != NGX_OK) {
            bad++;
            continue;
        }

        m[k] = m[i];
        sc[k] = sc[i];
        k++;
    }

    if (bad) {
        ngx_http_cx_skipped(bad, "customer habits");
    }

    ctx->personal = ngx_http_cx_keep(ctx->request->pool, m, k);
    ctx->personal_w = sc;
    ctx->npersonal = ctx->personal ? k : 0;
}


static void
ngx_http_cx_paths_reply(redisAsyncContext *ac, void *data, void *privdata)
{
    redisReply          *reply = data;
    ngx_http_cx_slot_t  *slot = privdata;

    ngx_str_t           m[NGX_HTTP_CX_PATHS];
    ngx_uint_t          n, bad;
    ngx_http_cx_ctx_t  *ctx;

    ctx = slot->ctx;

    if (ctx == NULL || reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        return;
    }

    bad = 0;
    n = ngx_http_cx_reply_strings(reply, m, NGX_HTTP_CX_PATHS,
                                  NGX_HTTP_CX_PATH_MAX, &bad);

    if (bad) {
        ngx_http_cx_skipped(bad, "customer paths");
    }

    ctx->paths = ngx_http_cx_keep(ctx->request->pool, m, n);
    ctx->npaths = ctx->paths ? n : 0;
}


/* the previous decay epoch's rules, weighed 2^-NGX_HTTP_CX_EPOCH */

static void
ngx_http_cx_past_reply(redisAsyncContext *ac, void *data, void *privdata)
{
    redisReply          *reply = data;
    ngx_http_cx_slot_t  *slot = privdata;

    double             *w;
    ngx_int_t           i, n;
    ngx_str_t          *m;
    ngx_http_cx_ctx_t  *ctx;

    ctx = slot->ctx;

    if (ctx == NULL || reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        return;
    }

    n = ngx_http_cx_scored(ctx, reply, NGX_HTTP_CX_FANOUT, 0,
                           NGX_HTTP_CX_MEMBER_MAX, "rules", &m, &w);
    if (n == NGX_ERROR) {
        return;
    }

    for (i = 0; i < n; i++) {
        w[i] = ldexp(w[i], -NGX_HTTP_CX_EPOCH);
    }

    ctx->past = ngx_http_cx_keep(ctx->request->pool, m, n);
    ctx->past_w = w;
    ctx->npast = ctx->past ? n : 0;
}


static void
ngx_http_cx_final_reply(redisAsyncContext *ac, void *data, void *privdata)
{
    redisReply          *reply = data;
    ngx_http_cx_slot_t  *slot = privdata;

    double             *w;
    ngx_int_t           n;
    ngx_str_t          *m;
    ngx_uint_t          status;
    ngx_http_cx_ctx_t  *ctx;

    ctx = slot->ctx;

    if (reply == NULL || slot->errors) {
        /* the connection went away, or a command of the batch was
         * refused: both logged already */
        status = NGX_HTTP_CX_ERROR;

    } else if (reply->type != REDIS_REPLY_ARRAY) {
        ngx_http_cx_redis_episode(0, "answered", "an unexpected reply");
        status = NGX_HTTP_CX_ERROR;

    } else {
        status = NGX_HTTP_CX_MISS;

        if (ctx) {
            n = ngx_http_cx_scored(ctx, reply, NGX_HTTP_CX_FANOUT,
                                   NGX_HTTP_CX_FANOUT, NGX_HTTP_CX_MEMBER_MAX,
                                   "rules", &m, &w);
            if (n == NGX_ERROR) {
                status = NGX_HTTP_CX_ERROR;
                goto done;
            }

            /* and the previous epoch's after them; answer() adds up */

            if (ctx->npast) {
                ngx_memcpy(&m[n], ctx->past, ctx->npast * sizeof(ngx_str_t));
                ngx_memcpy(&w[n], ctx->past_w, ctx->npast * sizeof(double));
                n += ctx->npast;
            }

            if (slot->fresh) {
                /* nothing to read for a new id: new, steady */
                ctx->known = 1;
            }

            ngx_http_cx_answer(ctx, m, w, n);
            status = ctx->status;
        }
    }

done:

    ngx_http_cx_redis_release(slot);

    if (ctx == NULL) {
        /* timed out or finalized already */
        return;
    }

    ctx->slot = NULL;
    ctx->status = status;

    if (ctx->wake.timer_set) {
        ngx_del_timer(&ctx->wake);
    }

    /*
     * Resume from the posted events queue, not from inside hiredis; ahead
     * of the flush of what the replies made us write, so that the
     * response goes first.
     */

    if (!ctx->wake.posted) {
        ctx->wake.posted = 1;
        ngx_queue_insert_head(&ngx_posted_events, &ctx->wake.queue);
    }
}


/*
 * At most max scored pairs of a reply, heaviest first, into arrays of the
 * request's pool with room for more after them: their number.
 */

static ngx_int_t
ngx_http_cx_scored(ngx_http_cx_ctx_t *ctx, redisReply *reply, ngx_uint_t max,
    ngx_uint_t room, size_t len_max, const char *what, ngx_str_t **mp,
    double **wp)
{
    double      *w;
    ngx_str_t   *m;
    ngx_uint_t   n, bad;

    m = ngx_palloc(ctx->request->pool,
                   (max + room) * (sizeof(ngx_str_t) + sizeof(double)));
    if (m == NULL) {
        return NGX_ERROR;
    }

    w = (double *) (m + max + room);

    bad = 0;
    n = ngx_http_cx_reply_scored(reply, m, w, max, 0, len_max, &bad);

    if (bad) {
        ngx_http_cx_skipped(bad, what);
    }

    *mp = m;
    *wp = w;

    return n;
}


/*
 * Entries that are not ngx_cx's (too long, of the wrong type or format, a
 * score that is no finite positive number) are skipped; the first time
 * in a worker's life it is logged.
 */

static void
ngx_http_cx_skipped(ngx_uint_t n, const char *what)
{
    static ngx_uint_t  logged;

    if (logged) {
        return;
    }

    logged = 1;

    ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                  "cx: %ui entries of the %s read from redis are not "
                  "ngx_cx's and were skipped (logged once)", n, what);
}
