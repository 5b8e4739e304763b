
/*
 * Copyright (C) ngx_cx authors
 *
 * A step's batch of Redis commands and what its replies lead to: the
 * reads and the recording sent together, the writes that depend on the
 * replies sent when they come, and the answer handed to the request once
 * the last reply is in.  The shared model's part is ngx_http_cx_shared.c.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <hiredis/hiredis.h>

#include <ngx_http_cx_module.h>


#define NGX_HTTP_CX_ARGS_MAX   32


static void ngx_http_cx_customer_reply(ngx_http_cx_conn_t *ac, void *data,
    void *privdata);
static void ngx_http_cx_today_reply(ngx_http_cx_conn_t *ac, void *data,
    void *privdata);
static void ngx_http_cx_paths_reply(ngx_http_cx_conn_t *ac, void *data,
    void *privdata);
static void ngx_http_cx_batch_reply(ngx_http_cx_conn_t *ac, void *data,
    void *privdata);
static void ngx_http_cx_done(ngx_http_cx_slot_t *slot, redisReply *reply);


/*
 * One pipelined batch; only its last reply is waited for, whichever
 * command it answers.  All but the last key belong to the customer (one
 * hash tag, one Cluster slot):
 *
 *   HGETALL P{H}:s                the state (last step, journey, pace,
 *                                 what the last step offered), the steps
 *                                 before this one, the customer's own
 *                                 transitions
 *   HINCRBY P{H}:s learned n      steps today, for the learning budget,
 *                                 when the request may teach anything:
 *                                 its own, and those the edge's copy
 *                                 counted since the last read
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
 * With the shared model from cx_model_cache (slot->cached), its two
 * reads are not sent; a batch left with nothing to read is never sent
 * (ngx_http_cx_start() answers such a request at once).
 *
 * What the step changes (its sequence, state, rules and paths) is
 * written once the response is known, by ngx_http_cx_record.c.
 */

ngx_int_t
ngx_http_cx_send(ngx_http_cx_main_conf_t *cmcf, ngx_http_cx_srv_conf_t *cxscf,
    ngx_http_cx_slot_t *slot)
{
    u_char     st[NGX_HTTP_CX_CKEY_MAX], gk[NGX_HTTP_CX_CKEY_MAX];
    u_char     nb[NGX_INT_T_LEN];
    ngx_str_t  st_k, g_k, n;

    ngx_http_cx_batch_init(slot);

    if (slot->fresh || slot->kept) {
        goto shared;
    }

    st_k.data = st;
    st_k.len = ngx_http_cx_customer_key(st, &cxscf->prefix, slot->hash, "s")
               - st;
    g_k.data = gk;
    g_k.len = ngx_http_cx_customer_key(gk, &cxscf->prefix, slot->hash, "g")
              - gk;

    if (ngx_http_cx_cmd(ngx_http_cx_customer_reply, slot, 2,
                        ngx_http_cx_lit("HGETALL"), st_k)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (slot->count) {
        /* this request's steps, and those the edge's copy counted */

        n.data = nb;
        n.len = ngx_sprintf(nb, "%ui", slot->count + slot->unsent) - nb;

        (void) ngx_http_cx_cmd(ngx_http_cx_today_reply, slot, 4,
                               ngx_http_cx_lit("HINCRBY"), st_k,
                               ngx_http_cx_lit("learned"), n);
    }

    (void) ngx_http_cx_cmd(ngx_http_cx_paths_reply, slot, 4,
                           ngx_http_cx_lit("LRANGE"), g_k,
                           ngx_http_cx_lit("0"),
                           ngx_http_cx_lit(NGX_HTTP_CX_PATHS_STOP));

shared:

    if (!slot->cached) {
        ngx_http_cx_read_model(cxscf, slot);
    }

    if (slot->reads == 0) {
        /* nothing in flight: the caller gives the slot back */
        slot->batch = 0;
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* a batch, or a refresh: each read counted, none answered yet */

void
ngx_http_cx_batch_init(ngx_http_cx_slot_t *slot)
{
    slot->batch = 1;
    slot->reads = 0;
    slot->replies = 0;
    slot->gone = 0;
    slot->hashed = 0;
    slot->pathed = 0;
    slot->past = NULL;
    slot->past_w = NULL;
    slot->npast = 0;
    slot->pasted = 0;
    slot->rules = NULL;
}


/*
 * A read with fn, a write without; slot counts its error replies.  The
 * reads of a batch go through ngx_http_cx_batch_reply(), which hands
 * each reply to its fn and the last one on to ngx_http_cx_done().  On a
 * cluster the replies of two nodes come in either order: each read's
 * number comes back with its reply, in slot->reading.
 */

ngx_int_t
ngx_http_cx_cmd(ngx_http_cx_redis_cb_pt fn, ngx_http_cx_slot_t *slot,
    ngx_uint_t argc, ...)
{
    va_list     args;
    ngx_int_t   rc;
    ngx_str_t   argv[NGX_HTTP_CX_ARGS_MAX];
    ngx_uint_t  i, read;

    if (argc > NGX_HTTP_CX_ARGS_MAX) {
        return NGX_ERROR;
    }

    va_start(args, argc);

    for (i = 0; i < argc; i++) {
        argv[i] = va_arg(args, ngx_str_t);
    }

    va_end(args);

    read = (fn && slot && slot->batch);

    if (read) {
        if (slot->reads == NGX_HTTP_CX_READS) {
            return NGX_ERROR;
        }

        slot->read[slot->reads] = fn;
        slot->reading = slot->reads;
        fn = ngx_http_cx_batch_reply;
    }

    rc = ngx_http_cx_redis_command(fn, slot, argc, argv);

    if (rc == NGX_OK && read) {
        slot->reads++;
    }

    return rc;
}


static void
ngx_http_cx_batch_reply(ngx_http_cx_conn_t *ac, void *data, void *privdata)
{
    ngx_http_cx_slot_t  *slot = privdata;

    slot->gone += (data == NULL);
    slot->replies++;

    slot->read[slot->reading](ac, data, slot);

    /* the batch's last reply; NULL if a connection went away */

    if (slot->replies == slot->reads) {
        ngx_http_cx_done(slot, slot->gone ? NULL : data);
    }
}


/*
 * The customer's hash: their state, recent steps and transitions, kept
 * in the request's pool (the reply is freed with it).  Transitions
 * beyond NGX_HTTP_CX_HABITS are kept too, for the record to delete.
 */

static void
ngx_http_cx_customer_reply(ngx_http_cx_conn_t *ac, void *data, void *privdata)
{
    redisReply          *reply = data;
    ngx_http_cx_slot_t  *slot = privdata;

    u_char                   kb[NGX_HTTP_CX_CKEY_MAX];
    ngx_str_t                extra[NGX_HTTP_CX_HABITS], *kept, key;
    ngx_str_t                paths[NGX_HTTP_CX_PATHS];
    ngx_uint_t               bad, nextra, npaths;
    ngx_http_cx_ctx_t       *ctx;
    ngx_http_cx_customer_t  *cu;

    ctx = slot->ctx;

    if (ctx == NULL || ctx->customer == NULL) {
        /* the request is gone: nothing to keep */
        return;
    }

    cu = ctx->customer;
    slot->hashed = 1;

    /* the paths, if they came first: kept apart, the hash is read anew */

    npaths = slot->pathed ? cu->npaths : 0;
    ngx_memcpy(paths, cu->paths, npaths * sizeof(ngx_str_t));

    bad = ngx_http_cx_reply_customer(reply, cu, extra, &nextra);

    if (bad && reply && reply->type != REDIS_REPLY_ERROR) {
        ngx_http_cx_skipped(bad, "customer hash");
    }

    slot->state = cu->state;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        /* gone, or refused (counted): nothing to go on */
        ctx->customer = NULL;
        return;
    }

    if (reply->elements / 2 > NGX_HTTP_CX_FIELDS_MAX) {

        /*
         * More fields than ngx_cx ever writes: grown by something else,
         * and each read would cost its size.  Deleted, and written anew
         * by this step: the state whole, as what was read of it is
         * unsure.
         */

        key.data = kb;
        key.len = ngx_http_cx_customer_key(kb, &slot->shop->prefix,
                                           slot->hash, "s")
                  - kb;

        (void) ngx_http_cx_cmd(NULL, NULL, 2, ngx_http_cx_lit("DEL"), key);

        cu->state.unsure = 1;
        slot->state.unsure = 1;
        nextra = 0;
    }

    kept = ngx_http_cx_keep(ctx->request->pool, cu->recent, cu->nrecent);
    if (kept == NULL && cu->nrecent) {
        ctx->customer = NULL;
        return;
    }

    ngx_memcpy(cu->recent, kept, cu->nrecent * sizeof(ngx_str_t));

    kept = ngx_http_cx_keep(ctx->request->pool, cu->habits, cu->nhabits);
    if (kept == NULL && cu->nhabits) {
        ctx->customer = NULL;
        return;
    }

    ngx_memcpy(cu->habits, kept, cu->nhabits * sizeof(ngx_str_t));

    ctx->extra = ngx_http_cx_keep(ctx->request->pool, extra, nextra);
    ctx->nextra = ctx->extra ? nextra : 0;

    if (slot->pathed) {
        ngx_memcpy(cu->paths, paths, npaths * sizeof(ngx_str_t));
        cu->npaths = npaths;

        ngx_http_cx_use(ctx, cu);
    }
}


/*
 * The steps this customer may teach today, this one included, counted
 * atomically when asked, so that requests of one id in parallel never
 * share one count: the learning budget (ngx_http_cx_record.c).
 */

static void
ngx_http_cx_today_reply(ngx_http_cx_conn_t *ac, void *data, void *privdata)
{
    redisReply          *reply = data;
    ngx_http_cx_slot_t  *slot = privdata;

    ngx_uint_t          n;
    ngx_http_cx_ctx_t  *ctx;

    ctx = slot->ctx;

    if (ctx == NULL) {
        return;
    }

    ctx->steps_today = NGX_HTTP_CX_LEARN_DAY + 1;

    if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer > 0
        && reply->integer <= NGX_HTTP_CX_COUNT_MAX)
    {
        n = (ngx_uint_t) reply->integer;

        if (slot->state.lday
            && slot->state.lday != ngx_http_cx_day(ctx->now))
        {
            /* an earlier day's count, which the step sets back */
            n = slot->count;
        }

        ctx->steps_today = ngx_http_cx_customer_count(ctx,
                               n > slot->count ? n - slot->count : 0,
                               slot->count);
    }
}


/*
 * Their paths to the goal: the last of the customer's reads.  On a
 * cluster it may come before the hash, when the slot is being migrated
 * key by key: the hash was asked of the node it moved to (ASK), this
 * list where it still was.  Kept, and used once the hash is in.
 */

static void
ngx_http_cx_paths_reply(ngx_http_cx_conn_t *ac, void *data, void *privdata)
{
    redisReply          *reply = data;
    ngx_http_cx_slot_t  *slot = privdata;

    ngx_str_t                m[NGX_HTTP_CX_PATHS], *kept;
    ngx_uint_t               n, bad;
    ngx_http_cx_ctx_t       *ctx;
    ngx_http_cx_customer_t  *cu;

    ctx = slot->ctx;

    if (ctx == NULL || ctx->customer == NULL) {
        return;
    }

    cu = ctx->customer;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        /* gone, or refused: nothing known */
        ctx->customer = NULL;
        return;
    }

    bad = 0;
    n = ngx_http_cx_reply_strings(reply, m, NGX_HTTP_CX_PATHS,
                                  NGX_HTTP_CX_PATH_MAX, &bad);

    if (bad) {
        ngx_http_cx_skipped(bad, "customer paths");
    }

    kept = ngx_http_cx_keep(ctx->request->pool, m, n);
    if (kept == NULL) {
        ctx->customer = NULL;
        return;
    }

    ngx_memcpy(cu->paths, kept, n * sizeof(ngx_str_t));
    cu->npaths = n;

    if (!slot->hashed) {
        slot->pathed = 1;
        return;
    }

    ngx_http_cx_use(ctx, cu);
}


/*
 * What the customer's reads tell this request, whether Redis answered
 * them or the edge kept them: the journey as this step leaves it (for
 * the answer now and the record once the response is known), the
 * customer's own transitions out of this step, their paths to the goal.
 */

void
ngx_http_cx_use(ngx_http_cx_ctx_t *ctx, ngx_http_cx_customer_t *cu)
{
    double             *sc;
    ngx_str_t          *m, to;
    ngx_uint_t          i, k, bad;
    ngx_http_cx_ref_t   ref, from;

    ngx_http_cx_walk(ctx, &cu->state, cu->recent, cu->nrecent);

    m = ngx_palloc(ctx->request->pool,
                   cu->nhabits * (sizeof(ngx_str_t) + sizeof(double)) + 1);
    if (m == NULL) {
        return;
    }

    sc = (double *) (m + cu->nhabits);

    bad = 0;
    k = 0;

    /* the step before this one: checked as it came in, as the journey */

    ngx_str_null(&from.name);

    if (ctx->njourney) {
        ngx_http_cx_member_split(ctx->journey[0].data, ctx->journey[0].len,
                                 &from);
    }

    for (i = 0; i < cu->nhabits; i++) {

        /* the transitions into this step: made before? */
        ngx_http_cx_habit(ctx, &from.name, &cu->habits[i], cu->habits_w[i]);

        if (ngx_http_cx_habit_to(&cu->habits[i], ctx->step.name.data,
                                 ctx->step.name.len, &to)
            != NGX_OK)
        {
            /* another step's, or not ours */
            continue;
        }

        if (ngx_http_cx_member_parse(to.data, to.len, &ref) != NGX_OK) {
            bad++;
            continue;
        }

        m[k] = to;
        sc[k] = cu->habits_w[i];
        k++;
    }

    if (bad) {
        ngx_http_cx_skipped(bad, "customer habits");
    }

    ctx->personal = m;
    ctx->personal_w = sc;
    ctx->npersonal = k;

    ctx->paths = cu->paths;
    ctx->npaths = cu->npaths;
}


/*
 * The last reply of a batch: the answer, handed to the request; a
 * refresh, which no request waits for, only ends.
 */

static void
ngx_http_cx_done(ngx_http_cx_slot_t *slot, redisReply *reply)
{
    ngx_uint_t          status;
    ngx_http_cx_ctx_t  *ctx;

    ctx = slot->ctx;
    slot->batch = 0;

    if (slot->pool) {
        ngx_destroy_pool(slot->pool);
        slot->pool = NULL;
        ngx_http_cx_redis_release(slot);
        return;
    }

    if (reply) {
        ngx_http_cx_metric_round_trip(slot->sent);
    }

    if (reply == NULL || slot->errors) {
        /* the connection went away, or a command of the batch was
         * refused: both logged already, the refusal counted */
        status = NGX_HTTP_CX_ERROR;

        if (reply == NULL) {
            ngx_http_cx_metric_redis(NGX_HTTP_CX_M_ERRORS);
        }

    } else {
        status = NGX_HTTP_CX_MISS;

        if (ctx) {
            if (slot->fresh) {
                /* nothing to read for a new id: new, steady */
                ctx->known = 1;
            }

            ngx_http_cx_answer(ctx, ctx->shared, ctx->shared_w,
                               ctx->nshared);
            status = ctx->status;

            if (ctx->customer && !ctx->cached && ctx->known) {
                /* what Redis told of the customer, kept at the edge */

                if (slot->count) {
                    ctx->customer->state.learned = ctx->steps_today;
                }

                ngx_http_cx_customer_put(ctx, ctx->customer);
            }
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
     * Resume from the posted events queue, not from inside a reply; ahead
     * of the flush of what the replies made us write, so that the
     * response goes first.
     */

    if (!ctx->wake.posted) {
        ctx->wake.posted = 1;
        ngx_queue_insert_head(&ngx_posted_events, &ctx->wake.queue);
    }
}


/*
 * Entries that are not ngx_cx's (too long, of the wrong type or format, a
 * score that is no finite positive number) are skipped; the first time
 * in a worker's life it is logged.
 */

void
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
