
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

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include <ngx_http_cx_module.h>


#define NGX_HTTP_CX_ARGS_MAX   16

/* an argument: a literal, or bytes with their length */
#define ngx_http_cx_lit(s)     ((ngx_str_t) ngx_string(s))
#define ngx_http_cx_str(d, n)  ((ngx_str_t) { (n), (u_char *) (d) })


static ngx_int_t ngx_http_cx_cmd(ngx_http_cx_redis_cb_pt fn, void *privdata,
    ngx_uint_t argc, ...);
static void ngx_http_cx_state_reply(redisAsyncContext *ac, void *data,
    void *privdata);
static void ngx_http_cx_recent_reply(redisAsyncContext *ac, void *data,
    void *privdata);
static void ngx_http_cx_rule(ngx_str_t *key, double weight,
    ngx_http_cx_slot_t *slot, ngx_http_cx_main_conf_t *cmcf);
static void ngx_http_cx_personal_reply(redisAsyncContext *ac, void *data,
    void *privdata);
static void ngx_http_cx_paths_reply(redisAsyncContext *ac, void *data,
    void *privdata);
static void ngx_http_cx_reply_pairs(redisReply *reply,
    ngx_http_cx_slot_t *slot, ngx_uint_t scores);
static void ngx_http_cx_final_reply(redisAsyncContext *ac, void *data,
    void *privdata);


/*
 * One pipelined batch; only its last reply is waited for.  All but the
 * last key belong to the customer (one hash tag, one Cluster slot):
 *
 *   HMGET P{H}:s ...              the state: last step, journey, pace
 *   LRANGE P{H}:seq 0 15          the steps before this one
 *   LPUSH, LTRIM, EXPIRE P{H}:seq this step
 *   ZREVRANGE P{H}:p:<name> ...   where this customer went next
 *   LRANGE P{H}:g 0 9             the customer's paths to the goal
 *   ZUNION 2 Pt:{<name>}:E-1 Pt:{<name>}:E WEIGHTS 2^-64 1
 *                                 where everyone went next, decayed
 *
 * What depends on the replies (rule credits, the new state, the goal
 * path) is written when they come, off the request's critical path.
 */

ngx_int_t
ngx_http_cx_send(ngx_http_cx_main_conf_t *cmcf, ngx_http_cx_loc_conf_t *clcf,
    ngx_http_cx_slot_t *slot)
{
    u_char     seq[NGX_HTTP_CX_KEY_MAX], st[NGX_HTTP_CX_KEY_MAX];
    u_char     pk[NGX_HTTP_CX_KEY_MAX], gk[NGX_HTTP_CX_KEY_MAX];
    u_char     prev[NGX_HTTP_CX_KEY_MAX], cur[NGX_HTTP_CX_KEY_MAX];
    ngx_str_t  member, seq_k, st_k, p_k, g_k, prev_k, cur_k;

    member = ngx_http_cx_str(slot->member, slot->member_len);

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
    p_k.len = ngx_http_cx_personal_key(pk, &cmcf->prefix, slot->hash,
                                       slot->member, slot->name_len)
              - pk;

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

    if (ngx_http_cx_cmd(ngx_http_cx_state_reply, slot, 7,
                        ngx_http_cx_lit("HMGET"), st_k,
                        ngx_http_cx_lit("ts"), ngx_http_cx_lit("jlen"),
                        ngx_http_cx_lit("goals"), ngx_http_cx_lit("gap"),
                        ngx_http_cx_lit("ngaps"))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    (void) ngx_http_cx_cmd(ngx_http_cx_recent_reply, slot, 4,
                           ngx_http_cx_lit("LRANGE"), seq_k,
                           ngx_http_cx_lit("0"),
                           ngx_http_cx_lit(NGX_HTTP_CX_RECENT_STOP));

    if (!slot->readonly) {
        (void) ngx_http_cx_cmd(NULL, NULL, 3, ngx_http_cx_lit("LPUSH"),
                               seq_k, member);
        (void) ngx_http_cx_cmd(NULL, NULL, 4, ngx_http_cx_lit("LTRIM"),
                               seq_k, ngx_http_cx_lit("0"), cmcf->trim_text);
        (void) ngx_http_cx_cmd(NULL, NULL, 3, ngx_http_cx_lit("EXPIRE"),
                               seq_k, cmcf->ttl_text);
    }

    (void) ngx_http_cx_cmd(ngx_http_cx_personal_reply, slot, 5,
                           ngx_http_cx_lit("ZREVRANGE"), p_k,
                           ngx_http_cx_lit("0"),
                           ngx_http_cx_lit(NGX_HTTP_CX_PERSONAL_STOP),
                           ngx_http_cx_lit("WITHSCORES"));

    (void) ngx_http_cx_cmd(ngx_http_cx_paths_reply, slot, 4,
                           ngx_http_cx_lit("LRANGE"), g_k,
                           ngx_http_cx_lit("0"),
                           ngx_http_cx_lit(NGX_HTTP_CX_PATHS_STOP));

    /* every reply comes back in order, so this one comes last */

    return ngx_http_cx_cmd(ngx_http_cx_final_reply, slot, 8,
                           ngx_http_cx_lit("ZUNION"), ngx_http_cx_lit("2"),
                           prev_k, cur_k, ngx_http_cx_lit("WEIGHTS"),
                           ngx_http_cx_lit(NGX_HTTP_CX_EPOCH_WEIGHT),
                           ngx_http_cx_lit("1"),
                           ngx_http_cx_lit("WITHSCORES"));
}


static ngx_int_t
ngx_http_cx_cmd(ngx_http_cx_redis_cb_pt fn, void *privdata,
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

    return ngx_http_cx_redis_command(fn, privdata, argc, argv);
}


static void
ngx_http_cx_state_reply(redisAsyncContext *ac, void *data, void *privdata)
{
    redisReply          *reply = data;
    ngx_http_cx_slot_t  *slot = privdata;

    int64_t      v[5];
    ngx_uint_t   i;
    redisReply  *e;

    ngx_memzero(&slot->state, sizeof(ngx_http_cx_state_t));

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 5)
    {
        return;
    }

    for (i = 0; i < 5; i++) {
        e = reply->element[i];
        v[i] = 0;

        if (e->type == REDIS_REPLY_STRING) {
            v[i] = ngx_atoi((u_char *) e->str, e->len);
            if (v[i] < 0) {
                v[i] = 0;
            }
        }
    }

    slot->state.ts = v[0];
    slot->state.jlen = (ngx_uint_t) v[1];
    slot->state.goals = (ngx_uint_t) v[2];
    slot->state.gap = (double) v[3];
    slot->state.ngaps = (ngx_uint_t) v[4];
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

    u_char                   kb[NGX_HTTP_CX_KEY_MAX];
    u_char                   v[5][NGX_INT64_LEN];
    size_t                   vl[5];
    u_char                   path[NGX_HTTP_CX_RECENT * NGX_HTTP_CX_MEMBER_MAX];
    u_char                  *p;
    ngx_str_t                key, member;
    ngx_str_t                m[NGX_HTTP_CX_RECENT], last;
    ngx_uint_t               i, k, n, prev;
    ngx_http_cx_state_t      st;
    ngx_http_cx_ref_t        ref;
    ngx_http_cx_ctx_t       *ctx;
    ngx_http_cx_main_conf_t  *cmcf;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        return;
    }

    cmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle, ngx_http_cx_module);

    n = 0;
    for (i = 0; i < reply->elements && n < NGX_HTTP_CX_RECENT; i++) {
        if (reply->element[i]->type == REDIS_REPLY_STRING) {
            m[n].data = (u_char *) reply->element[i]->str;
            m[n].len = reply->element[i]->len;
            n++;
        }
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

    if (slot->readonly) {
        goto done;
    }

    for (i = 0; i < ngx_min(prev, cmcf->distance); i++) {

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

        ngx_http_cx_rule(&key, slot->weight / (double) (i + 1), slot, cmcf);

        if (i == 0) {
            /* the customer's own transition */

            key.len = ngx_http_cx_personal_key(kb, &cmcf->prefix, slot->hash,
                                               ref.name.data, ref.name.len)
                      - kb;

            (void) ngx_http_cx_cmd(NULL, NULL, 4, ngx_http_cx_lit("ZINCRBY"),
                                   key, ngx_http_cx_lit("1"), member);
            (void) ngx_http_cx_cmd(NULL, NULL, 3, ngx_http_cx_lit("EXPIRE"),
                                   key, cmcf->ttl_text);
        }
    }

    key.data = kb;
    key.len = ngx_http_cx_customer_key(kb, &cmcf->prefix, slot->hash, "s")
              - kb;

    vl[0] = ngx_sprintf(v[0], "%L", slot->state.ts) - v[0];
    vl[1] = ngx_sprintf(v[1], "%ui", slot->state.jlen) - v[1];
    vl[2] = ngx_sprintf(v[2], "%ui", slot->state.goals) - v[2];
    vl[3] = ngx_sprintf(v[3], "%L", (int64_t) slot->state.gap) - v[3];
    vl[4] = ngx_sprintf(v[4], "%ui", slot->state.ngaps) - v[4];

    (void) ngx_http_cx_cmd(NULL, NULL, 12, ngx_http_cx_lit("HSET"), key,
                           ngx_http_cx_lit("ts"), ngx_http_cx_str(v[0], vl[0]),
                           ngx_http_cx_lit("jlen"),
                           ngx_http_cx_str(v[1], vl[1]),
                           ngx_http_cx_lit("goals"),
                           ngx_http_cx_str(v[2], vl[2]),
                           ngx_http_cx_lit("gap"), ngx_http_cx_str(v[3], vl[3]),
                           ngx_http_cx_lit("ngaps"),
                           ngx_http_cx_str(v[4], vl[4]));
    (void) ngx_http_cx_cmd(NULL, NULL, 3, ngx_http_cx_lit("EXPIRE"), key,
                           cmcf->ttl_text);

    if (slot->goal) {
        /* the journey's path, oldest step first, ending at the goal */

        p = path;

        for (i = prev; i > 0; i--) {
            p = ngx_cpymem(p, m[i - 1].data, m[i - 1].len);
            *p++ = '|';
        }

        p = ngx_cpymem(p, slot->member, slot->member_len);

        key.len = ngx_http_cx_customer_key(kb, &cmcf->prefix, slot->hash,
                                           "g")
                  - kb;

        (void) ngx_http_cx_cmd(NULL, NULL, 3, ngx_http_cx_lit("LPUSH"), key,
                               ngx_http_cx_str(path, p - path));
        (void) ngx_http_cx_cmd(NULL, NULL, 4, ngx_http_cx_lit("LTRIM"), key,
                               ngx_http_cx_lit("0"),
                               ngx_http_cx_lit(NGX_HTTP_CX_PATHS_STOP));
        (void) ngx_http_cx_cmd(NULL, NULL, 3, ngx_http_cx_lit("EXPIRE"), key,
                               cmcf->ttl_text);
    }

done:

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


static void
ngx_http_cx_rule(ngx_str_t *key, double weight, ngx_http_cx_slot_t *slot,
    ngx_http_cx_main_conf_t *cmcf)
{
    u_char  w[NGX_INT64_LEN + 8];

    (void) ngx_http_cx_cmd(NULL, NULL, 4, ngx_http_cx_lit("ZINCRBY"), *key,
                           ngx_http_cx_str(w, ngx_sprintf(w, "%.6f", weight)
                                              - w),
                           ngx_http_cx_str(slot->member, slot->member_len));
    (void) ngx_http_cx_cmd(NULL, NULL, 3, ngx_http_cx_lit("EXPIRE"), *key,
                           cmcf->ttl_text);

    /* keep the NGX_HTTP_CX_FANOUT heaviest successors */

    (void) ngx_http_cx_cmd(NULL, NULL, 4, ngx_http_cx_lit("ZREMRANGEBYRANK"),
                           *key, ngx_http_cx_lit("0"),
                           ngx_http_cx_lit(NGX_HTTP_CX_FANOUT_TRIM));
}


static void
ngx_http_cx_personal_reply(redisAsyncContext *ac, void *data,
    void *privdata)
{
    ngx_http_cx_reply_pairs(data, privdata, 1);
}


static void
ngx_http_cx_paths_reply(redisAsyncContext *ac, void *data, void *privdata)
{
    ngx_http_cx_reply_pairs(data, privdata, 0);
}


/* copies a reply into the request's ctx: WITHSCORES pairs, or strings */

static void
ngx_http_cx_reply_pairs(redisReply *reply, ngx_http_cx_slot_t *slot,
    ngx_uint_t scores)
{
    double              sc[NGX_HTTP_CX_CANDIDATES];
    ngx_str_t           m[NGX_HTTP_CX_CANDIDATES];
    ngx_uint_t          i, n, step;
    redisReply         *e;
    ngx_http_cx_ctx_t  *ctx;

    ctx = slot->ctx;

    if (ctx == NULL || reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        return;
    }

    step = scores ? 2 : 1;
    n = 0;

    for (i = 0; i + step <= reply->elements && n < NGX_HTTP_CX_CANDIDATES;
         i += step)
    {
        e = reply->element[i];

        if (e->type != REDIS_REPLY_STRING) {
            continue;
        }

        m[n].data = (u_char *) e->str;
        m[n].len = e->len;
        sc[n] = 0;

        if (scores && reply->element[i + 1]->type == REDIS_REPLY_STRING) {
            sc[n] = strtod(reply->element[i + 1]->str, NULL);
        }

        n++;
    }

    if (!scores) {
        ctx->paths = ngx_http_cx_keep(ctx->request->pool, m, n);
        ctx->npaths = ctx->paths ? n : 0;
        return;
    }

    ctx->personal = ngx_http_cx_keep(ctx->request->pool, m, n);
    ctx->personal_w = ngx_palloc(ctx->request->pool, n * sizeof(double) + 1);

    if (ctx->personal == NULL || ctx->personal_w == NULL) {
        return;
    }

    ngx_memcpy(ctx->personal_w, sc, n * sizeof(double));
    ctx->npersonal = n;
}


static void
ngx_http_cx_final_reply(redisAsyncContext *ac, void *data, void *privdata)
{
    redisReply          *reply = data;
    ngx_http_cx_slot_t  *slot = privdata;

    double              w[2 * NGX_HTTP_CX_FANOUT];
    ngx_int_t           i;
    ngx_str_t           m[2 * NGX_HTTP_CX_FANOUT];
    ngx_uint_t          status, n;
    redisReply         *e;
    ngx_http_cx_ctx_t  *ctx;

    ctx = slot->ctx;

    if (reply == NULL) {
        /* the connection went away; its own callback logs it */
        status = NGX_HTTP_CX_ERROR;

    } else if (reply->type != REDIS_REPLY_ARRAY) {
        ngx_http_cx_redis_episode(0, "answered",
                                  reply->type == REDIS_REPLY_ERROR
                                  ? reply->str : "an unexpected reply");
        status = NGX_HTTP_CX_ERROR;

    } else {
        ngx_http_cx_redis_episode(1, NULL, NULL);
        status = NGX_HTTP_CX_MISS;

        if (ctx) {
            /* ascending by score: read from the end, heaviest first */

            n = 0;

            for (i = (ngx_int_t) reply->elements - 2;
                 i >= 0 && n < 2 * NGX_HTTP_CX_FANOUT;
                 i -= 2)
            {
                e = reply->element[i];

                if (e->type != REDIS_REPLY_STRING
                    || reply->element[i + 1]->type != REDIS_REPLY_STRING)
                {
                    continue;
                }

                m[n].data = (u_char *) e->str;
                m[n].len = e->len;
                w[n] = strtod(reply->element[i + 1]->str, NULL);
                n++;
            }

            ngx_http_cx_answer(ctx, m, w, n);
            status = ctx->status;
        }
    }

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
