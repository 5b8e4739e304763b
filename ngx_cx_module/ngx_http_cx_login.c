
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
 *   HGETALL P{A}:s               the anonymous state, steps, transitions
 *   LRANGE P{A}:g 0 9            its paths to the goal
 *   LRANGE P{A}:seq 0 <history-1>  its whole history, with cx_history
 *                                over NGX_HTTP_CX_RECENT
 *   DEL P{A}:seq P{A}:s P{A}:p P{A}:g
 *   HGETALL P{L}:s               the login's, once P{A}:s is answered (on
 *                                a cluster another node's reply may come
 *                                first)
 *
 * and, as the replies come, the writes into the login's keys, each
 * bounded and given cx_ttl as the record's are: the paths (and the
 * history) appended after the login's own, as older ones (RPUSH, LTRIM);
 * once the login's hash is read, the two combined into it by one HSET:
 * the state (ngx_http_cx_combine()), the recent steps, the login's then
 * the visit's, and the transitions added up, the NGX_HTTP_CX_HABITS
 * heaviest kept (HDEL of the others).  What the login's steps write
 * between its read and that HSET may be lost.
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

#include <ngx_http_cx_module.h>


/* the state's fields a merge writes, the learning day left the login's */
static ngx_str_t  ngx_http_cx_login_fields[] = {
    ngx_string("ts"),
    ngx_string("jlen"),
    ngx_string("goals"),
    ngx_string("gap"),
    ngx_string("ngaps")
};


static void ngx_http_cx_login_claim(ngx_http_cx_conn_t *ac, void *data,
    void *privdata);
static void ngx_http_cx_login_visit(ngx_http_cx_conn_t *ac, void *data,
    void *privdata);
static void ngx_http_cx_login_seq(ngx_http_cx_conn_t *ac, void *data,
    void *privdata);
static void ngx_http_cx_login_paths(ngx_http_cx_conn_t *ac, void *data,
    void *privdata);
static void ngx_http_cx_login_done(ngx_http_cx_conn_t *ac, void *data,
    void *privdata);
static void ngx_http_cx_login_put(ngx_http_cx_slot_t *slot);
static ngx_uint_t ngx_http_cx_login_push(ngx_str_t *key, redisReply *reply,
    ngx_uint_t max, size_t len_max, ngx_uint_t path);
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
ngx_http_cx_login_claim(ngx_http_cx_conn_t *ac, void *data, void *privdata)
{
    redisReply          *reply = data;
    ngx_http_cx_slot_t  *slot = privdata;

    u_char                    sk[NGX_HTTP_CX_CKEY_MAX];
    u_char                    qk[NGX_HTTP_CX_CKEY_MAX];
    u_char                    pk[NGX_HTTP_CX_CKEY_MAX];
    u_char                    gk[NGX_HTTP_CX_CKEY_MAX];
    ngx_str_t                 s_k, seq_k, p_k, g_k;
    ngx_http_cx_main_conf_t  *cmcf;

    if (reply == NULL || reply->type != REDIS_REPLY_STATUS) {
        ngx_http_cx_redis_release(slot);
        return;
    }

    /* what the visit's hash tells, until the login's is read */

    slot->pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE, ngx_cycle->log);
    if (slot->pool == NULL) {
        ngx_http_cx_redis_release(slot);
        return;
    }

    slot->visit = ngx_pcalloc(slot->pool, sizeof(ngx_http_cx_customer_t));
    if (slot->visit == NULL) {
        ngx_destroy_pool(slot->pool);
        slot->pool = NULL;
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

    slot->count += ngx_http_cx_cmd(ngx_http_cx_login_visit, slot, 2,
                                   ngx_http_cx_lit("HGETALL"), s_k)
                   == NGX_OK;
    slot->count += ngx_http_cx_cmd(ngx_http_cx_login_paths, slot, 4,
                                   ngx_http_cx_lit("LRANGE"), g_k,
                                   ngx_http_cx_lit("0"),
                                   ngx_http_cx_lit(NGX_HTTP_CX_PATHS_STOP))
                   == NGX_OK;

    if (cmcf->history > NGX_HTTP_CX_RECENT) {
        slot->count += ngx_http_cx_cmd(ngx_http_cx_login_seq, slot, 4,
                                       ngx_http_cx_lit("LRANGE"), seq_k,
                                       ngx_http_cx_lit("0"), cmcf->trim_text)
                       == NGX_OK;
    }

    /* gone before anything is written: never merged twice */

    (void) ngx_http_cx_cmd(NULL, NULL, 5, ngx_http_cx_lit("DEL"), seq_k, s_k,
                           p_k, g_k);

    if (slot->count == 0) {
        ngx_destroy_pool(slot->pool);
        slot->pool = NULL;
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

        ngx_destroy_pool(slot->pool);
        slot->pool = NULL;

        ngx_http_cx_redis_release(slot);
    }
}


/* the visit's hash: its state, steps and transitions, kept for the login's */

static void
ngx_http_cx_login_visit(ngx_http_cx_conn_t *ac, void *data, void *privdata)
{
    redisReply          *reply = data;
    ngx_http_cx_slot_t  *slot = privdata;

    u_char                   ls[NGX_HTTP_CX_CKEY_MAX];
    ngx_str_t                extra[NGX_HTTP_CX_HABITS], *kept;
    ngx_uint_t               bad, nextra;
    ngx_http_cx_customer_t  *cu;

    cu = slot->visit;

    bad = ngx_http_cx_reply_customer(reply, cu, extra, &nextra);

    if (bad && reply && reply->type != REDIS_REPLY_ERROR) {
        ngx_http_cx_skipped(bad, "customer hash");
    }

    kept = ngx_http_cx_keep(slot->pool, cu->recent, cu->nrecent);
    cu->nrecent = kept ? cu->nrecent : 0;
    ngx_memcpy(cu->recent, kept, cu->nrecent * sizeof(ngx_str_t));

    kept = ngx_http_cx_keep(slot->pool, cu->habits, cu->nhabits);
    cu->nhabits = kept ? cu->nhabits : 0;
    ngx_memcpy(cu->habits, kept, cu->nhabits * sizeof(ngx_str_t));

    slot->state = cu->state;

    /*
     * The login's hash, read once the visit's is in: on a cluster the two
     * are two slots, whose replies may come in either order.
     */

    slot->count += ngx_http_cx_cmd(ngx_http_cx_login_done, slot, 2,
                                   ngx_http_cx_lit("HGETALL"),
                                   ngx_http_cx_login_key(ls, slot, slot->hash,
                                                         "s"))
                   == NGX_OK;

    ngx_http_cx_login_put(slot);
}


/* the anonymous steps, newest first: after the login's, as older ones */

static void
ngx_http_cx_login_seq(ngx_http_cx_conn_t *ac, void *data, void *privdata)
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


/* the anonymous paths to the goal, after the login's */

static void
ngx_http_cx_login_paths(ngx_http_cx_conn_t *ac, void *data, void *privdata)
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


/*
 * The login's hash, combined with the visit's: one HSET of the state,
 * the recent steps and the transitions added up, HDEL of those that no
 * longer are among the heaviest.
 */

static void
ngx_http_cx_login_done(ngx_http_cx_conn_t *ac, void *data, void *privdata)
{
    redisReply          *reply = data;
    ngx_http_cx_slot_t  *slot = privdata;

    u_char                    kb[NGX_HTTP_CX_CKEY_MAX], *p;
    double                   *w;
    int64_t                   v[5];
    ngx_str_t                 key, *argv, *a, *hs, *h, *extra;
    ngx_str_t                 recent[NGX_HTTP_CX_RECENT];
    ngx_uint_t                i, j, n, nh, nrecent, nextra, bad, keep;
    ngx_http_cx_customer_t   *visit, *login;
    ngx_http_cx_main_conf_t  *cmcf;

    visit = slot->visit;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || visit->state.ts <= 0)
    {
        /* gone, or nothing known of the anonymous visit */
        ngx_http_cx_login_put(slot);
        return;
    }

    login = ngx_palloc(slot->pool, sizeof(ngx_http_cx_customer_t)
                                   + 2 * NGX_HTTP_CX_HABITS * sizeof(double)
                                   + 3 * NGX_HTTP_CX_HABITS
                                     * sizeof(ngx_str_t));
    if (login == NULL) {
        ngx_http_cx_login_put(slot);
        return;
    }

    w = (double *) (login + 1);
    h = (ngx_str_t *) (w + 2 * NGX_HTTP_CX_HABITS);
    extra = h + 2 * NGX_HTTP_CX_HABITS;

    bad = ngx_http_cx_reply_customer(reply, login, extra, &nextra);

    if (bad) {
        ngx_http_cx_skipped(bad, "customer hash");
    }

    cmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle, ngx_http_cx_module);

    ngx_http_cx_combine(&login->state, &visit->state, login->nrecent,
                        cmcf->journey_gap);

    /* the login's steps, then the visit's as older ones */

    keep = ngx_min(NGX_HTTP_CX_RECENT, cmcf->history);

    nrecent = ngx_min(login->nrecent, keep);
    ngx_memcpy(recent, login->recent, nrecent * sizeof(ngx_str_t));

    n = ngx_min(visit->nrecent, keep - nrecent);
    ngx_memcpy(&recent[nrecent], visit->recent, n * sizeof(ngx_str_t));
    nrecent += n;

    /* the transitions added up, the heaviest kept */

    nh = 0;

    for (i = 0; i < login->nhabits + visit->nhabits; i++) {
        hs = (i < login->nhabits) ? &login->habits[i]
                                 : &visit->habits[i - login->nhabits];

        for (j = 0; j < nh; j++) {
            if (ngx_http_cx_same(&h[j], hs)) {
                break;
            }
        }

        if (j < nh) {
            /* the visit's count of one the login has: up again */
            n = (ngx_uint_t) ngx_min(w[j] + visit->habits_w[i
                                                      - login->nhabits],
                                     NGX_HTTP_CX_COUNT_MAX);
            ngx_memmove(&h[j], &h[j + 1], (nh - j - 1) * sizeof(ngx_str_t));
            ngx_memmove(&w[j], &w[j + 1], (nh - j - 1) * sizeof(double));
            nh--;

            nh = ngx_http_cx_habit_insert(h, w, nh, 2 * NGX_HTTP_CX_HABITS,
                                          hs, (double) n);
            continue;
        }

        nh = ngx_http_cx_habit_insert(h, w, nh, 2 * NGX_HTTP_CX_HABITS, hs,
                                      (i < login->nhabits)
                                      ? login->habits_w[i]
                                      : visit->habits_w[i - login->nhabits]);
    }

    key = ngx_http_cx_login_key(kb, slot, slot->hash, "s");

    argv = ngx_palloc(slot->pool, (2 + 2 * (6 + 2 * NGX_HTTP_CX_HABITS)
                                   + NGX_HTTP_CX_HABITS)
                                  * sizeof(ngx_str_t));
    p = ngx_pnalloc(slot->pool, 5 * NGX_INT64_LEN
                                + NGX_HTTP_CX_HABITS * NGX_INT64_LEN
                                + nrecent * (NGX_HTTP_CX_MEMBER_MAX + 1)
                                + 2 * NGX_HTTP_CX_HABITS
                                  * (NGX_HTTP_CX_HABIT_MAX + 1));
    if (argv == NULL || p == NULL) {
        ngx_http_cx_login_put(slot);
        return;
    }

    a = argv;
    *a++ = ngx_http_cx_lit("HSET");
    *a++ = key;

    /* the learning day stays the login's: HINCRBY counts it */

    v[0] = login->state.ts;
    v[1] = login->state.jlen;
    v[2] = login->state.goals;
    v[3] = (int64_t) login->state.gap;
    v[4] = login->state.ngaps;

    for (i = 0; i < 5; i++) {
        *a++ = ngx_http_cx_login_fields[i];
        a->data = p;
        p = ngx_sprintf(p, "%L", v[i]);
        a->len = p - a->data;
        a++;
    }

    *a++ = ngx_http_cx_lit("r");
    a->data = p;
    p = ngx_http_cx_steps_text(p, recent, nrecent);
    a->len = p - a->data;
    a++;

    for (i = 0; i < ngx_min(nh, NGX_HTTP_CX_HABITS); i++) {
        a->data = p;
        p = ngx_http_cx_habit_field(p, &h[i]);
        a->len = p - a->data;
        a++;

        a->data = p;
        p = ngx_sprintf(p, "%L", (int64_t) w[i]);
        a->len = p - a->data;
        a++;
    }

    (void) ngx_http_cx_redis_command(NULL, NULL, a - argv, argv);

    /*
     * beyond the heaviest: deleted, the login's and what its read left,
     * but one of those that the visit's count made heavy, just written
     */

    a = argv + 2;
    *argv = ngx_http_cx_lit("HDEL");

    for (i = NGX_HTTP_CX_HABITS; i < nh + nextra; i++) {
        hs = (i < nh) ? &h[i] : &extra[i - nh];

        if (i >= nh
            && ngx_http_cx_among(hs, h, ngx_min(nh, NGX_HTTP_CX_HABITS)))
        {
            continue;
        }

        a->data = p;
        p = ngx_http_cx_habit_field(p, hs);
        a->len = p - a->data;
        a++;

        if (a - argv == 2 + NGX_HTTP_CX_HABITS) {
            break;
        }
    }

    if (a - argv > 2) {
        (void) ngx_http_cx_redis_command(NULL, NULL, a - argv, argv);
    }

    (void) ngx_http_cx_cmd(NULL, NULL, 3, ngx_http_cx_lit("EXPIRE"), key,
                           slot->shop->ttl_text);

    ngx_http_cx_login_put(slot);
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
