
/*
 * Copyright (C) ngx_cx authors
 *
 * Everyone's successors of a step, the shared model: read in a step's
 * batch (ngx_http_cx_batch.c), or found in cx_model_cache
 * (ngx_http_cx_cache.c), whose entry a reply refreshes.  A stale entry
 * is served as it is while one refresh, for all workers, reads it again
 * in the background.  Entries follow the request's time (cx_time), so a
 * replayed log sees them as stale as a live shop would.  Each worker
 * keeps the fresh entries it read of the zone, unpacked, in a memo of
 * its own (ngx_http_cx_memo_t), so that a step asked again within valid=
 * takes nothing from the zone but a touch a second.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <math.h>

#include <hiredis/hiredis.h>

#include <xxhash.h>

#include <ngx_http_cx_module.h>


#define NGX_HTTP_CX_MEMOS       64      /* model entries a worker keeps */
#define NGX_HTTP_CX_MEMO_MAX    16384   /* bytes of an entry, at most */

/* the two slots of the memo where an entry may be, i 0 or 1 */
#define ngx_http_cx_memo_slot(hash, i)                                        \
    (((hash) >> (32 * (i))) & (NGX_HTTP_CX_MEMOS - 1))


/*
 * A model entry as this worker read it fresh from cx_model_cache,
 * unpacked: served as the zone's would be while it is fresh, within
 * valid= of when it was stored and in the request's decay epoch, and in
 * the meantime whatever another worker stores in the zone (the staleness
 * the zone itself promises); this worker's own store of the step forgets
 * it.  Made once and never changed, and freed with its last reference:
 * the memo's, and that of each request given it (a cleanup of its pool),
 * so that a request waiting for Redis keeps its successors whatever the
 * memo keeps meanwhile.  Found by a hash of what it is for ("prefix
 * name"), not by the zone's key, which costs a SipHash or a lookup of
 * its own: in one of two slots that the hash picks.  An entry replaces
 * another only once asked twice in a row with both slots taken, so that
 * the steps of a large catalog, each seldom asked, do not copy their
 * entries in turns.
 *
 * The members are kept as ngx_http_cx_declared() finds them for a
 * location's steps too, split, once asked for them
 * (ngx_http_cx_memo_declared()), not again with every request: the one
 * part changed after, for another location's steps, while no answer is
 * made.  An earlier step's blend (ngx_http_cx_model_earlier()) takes the
 * first NGX_HTTP_CX_BLEND_TOP of them.
 *
 * A hit of the memo uses the zone's entry too, once a second
 * (NGX_HTTP_CX_CACHE_MOVE, ngx_http_cx_cache_touch()), as often as the
 * zone's least recently used order is kept: an entry a worker serves
 * from its memo is no likelier to make room than one it reads.
 */

typedef struct {
    ngx_uint_t                  refs;
    uint64_t                    hash;           /* XXH3 of the id */
    int64_t                     stored;         /* ms, the zone's meta */
    int64_t                     epoch;
    ngx_msec_t                  used;           /* the zone's entry, last */
    ngx_str_t                  *m;              /* into the entry's blob */
    double                     *w;
    ngx_uint_t                  n;
    ngx_uint_t                  nblend;         /* NGX_HTTP_CX_BLEND_TOP */
    ngx_array_t                *steps;          /* what declared[] is of */
    ngx_http_cx_ref_t          *declared;       /* m[]: url.data NULL, not */
    size_t                      id_len;
    u_char                      id[NGX_HTTP_CX_MODEL_ID_MAX];
} ngx_http_cx_memo_t;


static ngx_http_cx_memo_t **ngx_http_cx_memo_find(uint64_t hash,
    ngx_str_t *id);
static ngx_http_cx_ref_t *ngx_http_cx_memo_declared(ngx_http_cx_memo_t *memo,
    ngx_http_cx_loc_conf_t *clcf);
static ngx_http_cx_memo_t *ngx_http_cx_memo_get(ngx_http_cx_ctx_t *ctx,
    uint64_t hash, ngx_str_t *id, int64_t within);
static void ngx_http_cx_memo_add(uint64_t hash, ngx_str_t *id,
    ngx_str_t *blob, int64_t stored, int64_t epoch, ngx_str_t *m, double *w,
    ngx_uint_t n);
static void ngx_http_cx_memo_forget(ngx_str_t *id);
static void ngx_http_cx_memo_unref(void *data);
static ngx_int_t ngx_http_cx_model_unpack(ngx_http_cx_ctx_t *ctx,
    uint64_t key, ngx_str_t *blob, ngx_str_t *id, int64_t *epoch,
    ngx_str_t *m, double *w, ngx_uint_t max, ngx_uint_t *n);
static void ngx_http_cx_past_reply(ngx_http_cx_conn_t *ac, void *data,
    void *privdata);
static void ngx_http_cx_rules_reply(ngx_http_cx_conn_t *ac, void *data,
    void *privdata);
static ngx_int_t ngx_http_cx_rules(ngx_pool_t *pool, redisReply *reply,
    ngx_uint_t room, ngx_str_t **mp, double **wp);
static void ngx_http_cx_rules_use(ngx_http_cx_slot_t *slot, ngx_pool_t *pool,
    ngx_str_t *m, double *w, ngx_uint_t n);
static size_t ngx_http_cx_model_id(u_char *buf, ngx_str_t *prefix,
    u_char *name, size_t len);
static void ngx_http_cx_model_put(ngx_http_cx_slot_t *slot, ngx_pool_t *pool,
    ngx_str_t *m, double *w, ngx_uint_t n);


static ngx_http_cx_memo_t  *ngx_http_cx_memos[NGX_HTTP_CX_MEMOS];
static uint64_t             ngx_http_cx_memo_seen[NGX_HTTP_CX_MEMOS];

/*
 * An earlier step's entry as ngx_http_cx_model_earlier() unpacks it when
 * the memo has none: the worker's own, used before the next is asked for
 */
static ngx_str_t            ngx_http_cx_earlier_m[NGX_HTTP_CX_RULES];
static double               ngx_http_cx_earlier_w[NGX_HTTP_CX_RULES];
static ngx_http_cx_ref_t    ngx_http_cx_earlier_refs[NGX_HTTP_CX_BLEND_TOP];


/*
 * Where everyone went next from the step, decayed: the previous epoch's
 * rules, then this one's, in the epoch of slot->now.
 */

void
ngx_http_cx_read_model(ngx_http_cx_srv_conf_t *cxscf,
    ngx_http_cx_slot_t *slot)
{
    u_char     prev[NGX_HTTP_CX_KEY_MAX], cur[NGX_HTTP_CX_KEY_MAX];
    ngx_str_t  prev_k, cur_k;

    prev_k.data = prev;
    prev_k.len = ngx_http_cx_step_key(prev, &cxscf->prefix, slot->member,
                                      slot->name_len, slot->epoch - 1)
                 - prev;
    cur_k.data = cur;
    cur_k.len = ngx_http_cx_step_key(cur, &cxscf->prefix, slot->member,
                                     slot->name_len, slot->epoch)
                - cur;

    if (ngx_http_cx_cmd(ngx_http_cx_past_reply, slot, 5,
                        ngx_http_cx_lit("ZREVRANGE"), prev_k,
                        ngx_http_cx_lit("0"),
                        ngx_http_cx_lit(NGX_HTTP_CX_FANOUT_STOP),
                        ngx_http_cx_lit("WITHSCORES"))
        != NGX_OK)
    {
        /* no answer to wait for */
        slot->pasted = 1;
    }

    (void) ngx_http_cx_cmd(ngx_http_cx_rules_reply, slot, 5,
                           ngx_http_cx_lit("ZREVRANGE"), cur_k,
                           ngx_http_cx_lit("0"),
                           ngx_http_cx_lit(NGX_HTTP_CX_FANOUT_STOP),
                           ngx_http_cx_lit("WITHSCORES"));
}


/* the pool that what a reply leads to is kept in, NULL: the request gone */
#define ngx_http_cx_slot_pool(slot)                                          \
    ((slot)->ctx ? (slot)->ctx->request->pool : (slot)->pool)


/*
 * The previous decay epoch's rules, weighed 2^-NGX_HTTP_CX_EPOCH.  On a
 * cluster they may come after this epoch's, when the slot of the step's
 * keys is being migrated key by key: these were asked of the node they
 * moved to (ASK), this epoch's where they still were.  Those are kept
 * until these are in (slot->rules).
 */

static void
ngx_http_cx_past_reply(ngx_http_cx_conn_t *ac, void *data, void *privdata)
{
    redisReply          *reply = data;
    ngx_http_cx_slot_t  *slot = privdata;

    double      *w;
    ngx_int_t    i, n;
    ngx_str_t   *m;
    ngx_pool_t  *pool;

    pool = ngx_http_cx_slot_pool(slot);
    slot->pasted = 1;

    if (pool == NULL) {
        return;
    }

    if (reply && reply->type == REDIS_REPLY_ARRAY) {
        n = ngx_http_cx_rules(pool, reply, 0, &m, &w);

        if (n != NGX_ERROR) {
            for (i = 0; i < n; i++) {
                w[i] = ldexp(w[i], -NGX_HTTP_CX_EPOCH);
            }

            slot->past = ngx_http_cx_keep(pool, m, n);
            slot->past_w = w;
            slot->npast = slot->past ? n : 0;
        }
    }

    if (slot->rules == NULL) {
        return;
    }

    /* this epoch's, answered first, and these after them */

    m = ngx_palloc(pool, (slot->nrules + slot->npast) * sizeof(ngx_str_t));
    if (m == NULL) {
        return;
    }

    ngx_memcpy(m, slot->rules, slot->nrules * sizeof(ngx_str_t));
    ngx_memcpy(&m[slot->nrules], slot->past,
               slot->npast * sizeof(ngx_str_t));
    ngx_memcpy(&slot->rules_w[slot->nrules], slot->past_w,
               slot->npast * sizeof(double));

    ngx_http_cx_rules_use(slot, pool, m, slot->rules_w,
                          slot->nrules + slot->npast);
}


/*
 * This epoch's rules, and the previous epoch's after them (answer() adds
 * up): the step's successors for the request, and for cx_model_cache
 * unless a read of the batch was refused.
 */

static void
ngx_http_cx_rules_reply(ngx_http_cx_conn_t *ac, void *data, void *privdata)
{
    redisReply          *reply = data;
    ngx_http_cx_slot_t  *slot = privdata;

    double      *w;
    ngx_int_t    n;
    ngx_str_t   *m;
    ngx_pool_t  *pool;

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        /* logged and counted already */
        return;
    }

    if (reply->type != REDIS_REPLY_ARRAY) {
        ngx_http_cx_redis_episode(0, "answered", "an unexpected reply");
        ngx_http_cx_metric_redis(NGX_HTTP_CX_M_ERRORS);
        slot->errors++;
        return;
    }

    pool = ngx_http_cx_slot_pool(slot);
    if (pool == NULL) {
        return;
    }

    n = ngx_http_cx_rules(pool, reply, NGX_HTTP_CX_FANOUT, &m, &w);
    if (n == NGX_ERROR) {
        slot->errors++;
        return;
    }

    if (!slot->pasted) {
        /* before the previous epoch's (a cluster's ASK): kept for them */
        slot->rules = ngx_http_cx_keep(pool, m, n);
        slot->rules_w = w;
        slot->nrules = slot->rules ? n : 0;
        return;
    }

    if (slot->npast) {
        ngx_memcpy(&m[n], slot->past, slot->npast * sizeof(ngx_str_t));
        ngx_memcpy(&w[n], slot->past_w, slot->npast * sizeof(double));
        n += slot->npast;
    }

    ngx_http_cx_rules_use(slot, pool, m, w, n);
}


/* the step's successors: for cx_model_cache, and for the request */

static void
ngx_http_cx_rules_use(ngx_http_cx_slot_t *slot, ngx_pool_t *pool,
    ngx_str_t *m, double *w, ngx_uint_t n)
{
    ngx_http_cx_ctx_t  *ctx;

    if (slot->errors == 0) {
        ngx_http_cx_model_put(slot, pool, m, w, n);
    }

    ctx = slot->ctx;

    if (ctx) {
        ctx->shared = ngx_http_cx_keep(pool, m, n);
        ctx->shared_w = w;
        ctx->nshared = ctx->shared ? n : 0;
    }
}


/*
 * At most NGX_HTTP_CX_FANOUT rules of a reply, heaviest first, into
 * arrays of pool with room for more after them: their number.
 */

static ngx_int_t
ngx_http_cx_rules(ngx_pool_t *pool, redisReply *reply, ngx_uint_t room,
    ngx_str_t **mp, double **wp)
{
    double             *w;
    ngx_str_t          *m;
    ngx_uint_t          i, k, n, bad, max;
    ngx_http_cx_ref_t   ref;

    max = NGX_HTTP_CX_FANOUT;

    m = ngx_palloc(pool, (max + room) * (sizeof(ngx_str_t) + sizeof(double)));
    if (m == NULL) {
        return NGX_ERROR;
    }

    w = (double *) (m + max + room);

    bad = 0;
    n = ngx_http_cx_reply_scored(reply, m, w, max, 0, NGX_HTTP_CX_MEMBER_MAX,
                                 &bad);

    /*
     * "name url" each, checked here once: the cache keeps them, and
     * ngx_http_cx_answer() only splits them
     */

    for (i = 0, k = 0; i < n; i++) {
        if (ngx_http_cx_member_parse(m[i].data, m[i].len, &ref) != NGX_OK) {
            bad++;
            continue;
        }

        m[k] = m[i];
        w[k++] = w[i];
    }

    n = k;

    if (bad) {
        ngx_http_cx_skipped(bad, "rules");
    }

    *mp = m;
    *wp = w;

    return n;
}


/*
 * The successors an entry of the model's zone holds, into m[] and w[]
 * (room for NGX_HTTP_CX_RULES), its epoch in *epoch: NGX_DECLINED for
 * another step's entry under the same key, or a damaged one, dropped.
 */

static ngx_int_t
ngx_http_cx_model_unpack(ngx_http_cx_ctx_t *ctx, uint64_t key,
    ngx_str_t *blob, ngx_str_t *id, int64_t *epoch, ngx_str_t *m, double *w,
    ngx_uint_t max, ngx_uint_t *n)
{
    ngx_int_t  rc;

    rc = ngx_http_cx_unpack(blob->data, blob->len, id, epoch, m, w, max, n);

    if (rc == NGX_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, ctx->request->connection->log, 0,
                      "cx: an entry of cx_model_cache is damaged, dropped");
        ngx_http_cx_cache_drop(key);
        return NGX_DECLINED;
    }

    return rc;
}


/*
 * The step's successors from cx_model_cache, for the request: NGX_OK
 * fresh, stored within valid= of the request's time; NGX_AGAIN stale,
 * within twice that, or of another decay epoch: served as it is, and
 * read again; NGX_DECLINED none, or older, which the batch reads.
 */

ngx_int_t
ngx_http_cx_model(ngx_http_cx_ctx_t *ctx, ngx_http_cx_srv_conf_t *cxscf)
{
    u_char                    buf[NGX_HTTP_CX_MODEL_ID_MAX];
    double                   *w;
    int64_t                   epoch, valid, age;
    uint64_t                  key, hash;
    ngx_str_t                 id, blob, *m;
    ngx_uint_t                n, max;
    ngx_http_cx_memo_t       *memo;
    ngx_http_cx_meta_t        meta;
    ngx_http_cx_main_conf_t  *cmcf;

    if (!ngx_http_cx_cache_enabled()) {
        return NGX_DECLINED;
    }

    cmcf = ngx_http_get_module_main_conf(ctx->request, ngx_http_cx_module);
    valid = (int64_t) cmcf->cache_valid;

    id.data = buf;
    id.len = ngx_http_cx_model_id(buf, &cxscf->prefix, ctx->step.name.data,
                                  ctx->step.name.len);
    hash = XXH3_64bits(id.data, id.len);

    memo = ngx_http_cx_memo_get(ctx, hash, &id, valid);

    if (memo) {
        ctx->shared = memo->m;
        ctx->shared_w = memo->w;
        ctx->nshared = memo->n;
        ctx->memo = memo;

        ngx_http_cx_metric_cache(NGX_HTTP_CX_M_MODEL_HIT, 1);
        return NGX_OK;
    }

    key = ngx_http_cx_cache_key(NGX_HTTP_CX_CACHE_MODEL, id.data, id.len);

    if (ngx_http_cx_cache_get(key, ctx->request->pool, &blob, &meta)
        != NGX_OK)
    {
        goto miss;
    }

    /* either way: clocks of workers a little apart, or cx_time */

    age = ngx_abs(ctx->now - meta.stored);

    if (age > 2 * valid) {
        /* too old to be served even while it is read again */
        goto miss;
    }

    /* room for the members it holds: a step has a few, seldom 200 */

    max = ngx_http_cx_unpack_count(blob.data, blob.len);

    m = ngx_palloc(ctx->request->pool,
                   (max + 1) * (sizeof(ngx_str_t) + sizeof(double)));
    if (m == NULL) {
        goto miss;
    }

    w = (double *) (m + max + 1);

    if (ngx_http_cx_model_unpack(ctx, key, &blob, &id, &epoch, m, w, max, &n)
        != NGX_OK)
    {
        /* another step's, whose key is this one's: read, and replaced */
        goto miss;
    }

    ctx->shared = m;
    ctx->shared_w = w;
    ctx->nshared = n;

    if (epoch == ctx->epoch && age <= valid) {
        ngx_http_cx_memo_add(hash, &id, &blob, meta.stored, epoch, m, w, n);

        ngx_http_cx_metric_cache(NGX_HTTP_CX_M_MODEL_HIT, 1);
        return NGX_OK;
    }

    ngx_http_cx_metric_cache(NGX_HTTP_CX_M_MODEL_STALE, 1);
    return NGX_AGAIN;

miss:

    ngx_http_cx_metric_cache(NGX_HTTP_CX_M_MODEL_MISS, 1);
    return NGX_DECLINED;
}


/*
 * The successors of an earlier step of the journey, for the blend: from
 * cx_model_cache only, never read for it, in *refs and *w, split, not to
 * be changed (the memo's, or the worker's until it asks again), the
 * NGX_HTTP_CX_BLEND_TOP first of its entry counted in *np (the heaviest
 * of the entry's epoch).  The entry was
 * stored, or found, when the customer was on that step; one stored
 * within the model's half-life of the request's time is used whatever
 * valid= says.  NGX_DECLINED: none, another step's, or older; the step
 * is left out of the blend.  *declared 1: the memo's, as
 * ngx_http_cx_declared() found them for clcf (url.data NULL, not
 * declared); 0: as read.
 */

ngx_int_t
ngx_http_cx_model_earlier(ngx_http_cx_ctx_t *ctx,
    ngx_http_cx_srv_conf_t *cxscf, ngx_http_cx_loc_conf_t *clcf,
    ngx_str_t *name, ngx_http_cx_ref_t **refs, double **wp, ngx_uint_t *np,
    ngx_uint_t *declared)
{
    u_char                    buf[NGX_HTTP_CX_MODEL_ID_MAX];
    double                   *w;
    int64_t                   epoch, valid, age, half_life;
    uint64_t                  key, hash;
    ngx_str_t                 id, blob, *m;
    ngx_uint_t                i, n;
    ngx_http_cx_memo_t       *memo;
    ngx_http_cx_meta_t        meta;
    ngx_http_cx_main_conf_t  *cmcf;

    if (!ngx_http_cx_cache_enabled()) {
        return NGX_DECLINED;
    }

    cmcf = ngx_http_get_module_main_conf(ctx->request, ngx_http_cx_module);
    valid = (int64_t) cmcf->cache_valid;
    half_life = (int64_t) cmcf->half_life;

    id.data = buf;
    id.len = ngx_http_cx_model_id(buf, &cxscf->prefix, name->data,
                                  name->len);
    hash = XXH3_64bits(id.data, id.len);

    memo = ngx_http_cx_memo_get(ctx, hash, &id, ngx_min(valid, half_life));

    if (memo) {
        /* held until the request is done */

        *refs = ngx_http_cx_memo_declared(memo, clcf);
        *wp = memo->w;
        *np = memo->nblend;
        *declared = 1;

        return NGX_OK;
    }

    key = ngx_http_cx_cache_key(NGX_HTTP_CX_CACHE_MODEL, id.data, id.len);

    if (ngx_http_cx_cache_get(key, ctx->request->pool, &blob, &meta)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    age = ngx_abs(ctx->now - meta.stored);

    if (age > half_life) {
        return NGX_DECLINED;
    }

    m = ngx_http_cx_earlier_m;
    w = ngx_http_cx_earlier_w;

    if (ngx_http_cx_model_unpack(ctx, key, &blob, &id, &epoch, m, w,
                                 NGX_HTTP_CX_RULES, &n)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    if (epoch == ctx->epoch && age <= valid) {
        ngx_http_cx_memo_add(hash, &id, &blob, meta.stored, epoch, m, w, n);
    }

    n = ngx_min(n, NGX_HTTP_CX_BLEND_TOP);

    for (i = 0; i < n; i++) {
        ngx_http_cx_member_split(m[i].data, m[i].len,
                                 &ngx_http_cx_earlier_refs[i]);
    }

    *refs = ngx_http_cx_earlier_refs;
    *wp = w;
    *np = n;
    *declared = 0;

    return NGX_OK;
}


/*
 * The members of ctx->shared as ngx_http_cx_declared() finds them for
 * clcf, url.data NULL for one not declared, if they are the memo's entry
 * (shared and n are what is answered); else NULL, not known.
 */

ngx_http_cx_ref_t *
ngx_http_cx_model_declared(ngx_http_cx_ctx_t *ctx,
    ngx_http_cx_loc_conf_t *clcf, ngx_str_t *shared, ngx_uint_t n)
{
    ngx_http_cx_memo_t  *memo;

    memo = ctx->memo;

    if (memo == NULL || memo->m != shared || memo->n != n) {
        return NULL;
    }

    return ngx_http_cx_memo_declared(memo, clcf);
}


/*
 * A stale entry read again in the background, once at a time for all
 * workers: on a slot of its own with a pool of its own and no request,
 * sent after the request's batch, so that no request waits for it.
 */

void
ngx_http_cx_refresh(ngx_http_cx_ctx_t *ctx, ngx_http_cx_srv_conf_t *cxscf)
{
    u_char               buf[NGX_HTTP_CX_MODEL_ID_MAX];
    size_t               len;
    ngx_uint_t           status;
    ngx_http_cx_slot_t  *slot;

    len = ngx_http_cx_model_id(buf, &cxscf->prefix, ctx->step.name.data,
                               ctx->step.name.len);

    if (!ngx_http_cx_cache_claim(ngx_http_cx_cache_key(
                                     NGX_HTTP_CX_CACHE_MODEL, buf, len),
                                 ctx->now))
    {
        return;
    }

    /* Redis down or busy: the claim lapses, the next request tries */

    slot = ngx_http_cx_redis_acquire(ctx->request->connection->log, &status);
    if (slot == NULL) {
        return;
    }

    slot->pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE, ngx_cycle->log);
    if (slot->pool == NULL) {
        ngx_http_cx_redis_release(slot);
        return;
    }

    slot->shop = cxscf;
    slot->hash = 0;
    slot->now = ctx->now;
    slot->epoch = ctx->epoch;
    slot->weight = ctx->weight;
    slot->fresh = 1;
    slot->count = 0;
    slot->errors = 0;
    slot->cached = 0;
    slot->name_len = ctx->step.name.len;
    slot->member_len = ctx->member.len;
    ngx_memcpy(slot->member, ctx->member.data, ctx->member.len);

    ngx_http_cx_batch_init(slot);
    ngx_http_cx_read_model(cxscf, slot);

    if (slot->reads == 0) {
        slot->batch = 0;
        ngx_destroy_pool(slot->pool);
        slot->pool = NULL;
        ngx_http_cx_redis_release(slot);
        return;
    }

    ngx_http_cx_metric_cache(NGX_HTTP_CX_M_REFRESHES, 1);
}


/* "prefix name": what a model's entry is for */

static size_t
ngx_http_cx_model_id(u_char *buf, ngx_str_t *prefix, u_char *name,
    size_t len)
{
    u_char  *p;

    p = ngx_cpymem(buf, prefix->data, prefix->len);
    *p++ = ' ';
    p = ngx_cpymem(p, name, len);

    return p - buf;
}


/* the step's successors into cx_model_cache, read at slot->now */

static void
ngx_http_cx_model_put(ngx_http_cx_slot_t *slot, ngx_pool_t *pool,
    ngx_str_t *m, double *w, ngx_uint_t n)
{
    u_char              buf[NGX_HTTP_CX_MODEL_ID_MAX], *p;
    size_t              len;
    ngx_str_t           id;
    ngx_http_cx_meta_t  meta;

    if (!ngx_http_cx_cache_enabled() || slot->shop == NULL) {
        return;
    }

    id.data = buf;
    id.len = ngx_http_cx_model_id(buf, &slot->shop->prefix, slot->member,
                                  slot->name_len);

    len = ngx_http_cx_pack_len(&id, m, w, n);
    if (len == 0) {
        return;
    }

    p = ngx_pnalloc(pool, len);
    if (p == NULL) {
        return;
    }

    (void) ngx_http_cx_pack(p, &id, slot->epoch, m, w, n);

    meta.stored = slot->now;
    meta.version = 0;

    /* what this worker kept of the step is no longer what the zone has */

    ngx_http_cx_memo_forget(&id);

    (void) ngx_http_cx_cache_put(ngx_http_cx_cache_key(
                                     NGX_HTTP_CX_CACHE_MODEL, id.data, id.len),
                                 p, len, &meta);
}


/* where the memo keeps id, whose hash is hash: NULL, nowhere */

static ngx_http_cx_memo_t **
ngx_http_cx_memo_find(uint64_t hash, ngx_str_t *id)
{
    ngx_uint_t           i;
    ngx_http_cx_memo_t  *memo;

    for (i = 0; i < 2; i++) {
        memo = ngx_http_cx_memos[ngx_http_cx_memo_slot(hash, i)];

        if (memo && memo->hash == hash && memo->id_len == id->len
            && ngx_memcmp(memo->id, id->data, id->len) == 0)
        {
            return &ngx_http_cx_memos[ngx_http_cx_memo_slot(hash, i)];
        }
    }

    return NULL;
}


/*
 * The memo's entry of id for the request, fresh: stored within "within"
 * of the request's time, in its epoch; held until the request is done.
 * NULL: none, or not fresh, which the zone tells.
 */

static ngx_http_cx_memo_t *
ngx_http_cx_memo_get(ngx_http_cx_ctx_t *ctx, uint64_t hash, ngx_str_t *id,
    int64_t within)
{
    ngx_pool_cleanup_t   *cln;
    ngx_http_cx_memo_t   *memo, **mp;

    mp = ngx_http_cx_memo_find(hash, id);
    if (mp == NULL) {
        return NULL;
    }

    memo = *mp;

    if (memo->epoch != ctx->epoch
        || ngx_abs(ctx->now - memo->stored) > within)
    {
        return NULL;
    }

    if (ngx_current_msec - memo->used >= NGX_HTTP_CX_CACHE_MOVE) {
        memo->used = ngx_current_msec;
        ngx_http_cx_cache_touch(ngx_http_cx_cache_key(NGX_HTTP_CX_CACHE_MODEL,
                                                      id->data, id->len));
    }

    cln = ngx_pool_cleanup_add(ctx->request->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_cx_memo_unref;
    cln->data = memo;
    memo->refs++;

    return memo;
}


/*
 * A fresh entry of the zone, as blob and as unpacked from it (m[] into
 * blob), kept by the memo: in place of the step's own, else in a free
 * slot of its two, else in the first if it was the one asked last there;
 * not one over NGX_HTTP_CX_MEMO_MAX bytes.
 */

static void
ngx_http_cx_memo_add(uint64_t hash, ngx_str_t *id, ngx_str_t *blob,
    int64_t stored, int64_t epoch, ngx_str_t *m, double *w, ngx_uint_t n)
{
    u_char               *p;
    ngx_uint_t            i, first;
    ngx_http_cx_memo_t   *memo, **mp;

    if (blob->len > NGX_HTTP_CX_MEMO_MAX) {
        return;
    }

    first = ngx_http_cx_memo_slot(hash, 0);

    mp = ngx_http_cx_memo_find(hash, id);

    if (mp == NULL) {
        if (ngx_http_cx_memos[first] == NULL) {
            mp = &ngx_http_cx_memos[first];

        } else if (ngx_http_cx_memos[ngx_http_cx_memo_slot(hash, 1)] == NULL) {
            mp = &ngx_http_cx_memos[ngx_http_cx_memo_slot(hash, 1)];

        } else if (ngx_http_cx_memo_seen[first] == hash) {
            mp = &ngx_http_cx_memos[first];

        } else {
            /* others' slots: this one's if asked again first */
            ngx_http_cx_memo_seen[first] = hash;
            return;
        }
    }

    memo = ngx_alloc(sizeof(ngx_http_cx_memo_t)
                     + n * (sizeof(ngx_str_t) + sizeof(double))
                     + n * sizeof(ngx_http_cx_ref_t) + blob->len,
                     ngx_cycle->log);
    if (memo == NULL) {
        return;
    }

    memo->refs = 1;
    memo->hash = hash;
    memo->stored = stored;
    memo->epoch = epoch;
    memo->used = ngx_current_msec;
    memo->m = (ngx_str_t *) (memo + 1);
    memo->w = (double *) (memo->m + n);
    memo->n = n;
    memo->nblend = ngx_min(n, NGX_HTTP_CX_BLEND_TOP);
    memo->declared = (ngx_http_cx_ref_t *) (memo->w + n);
    memo->id_len = id->len;
    ngx_memcpy(memo->id, id->data, id->len);

    p = ngx_cpymem((u_char *) (memo->declared + n), blob->data, blob->len)
        - blob->len;

    for (i = 0; i < n; i++) {
        memo->m[i].data = p + (m[i].data - blob->data);
        memo->m[i].len = m[i].len;
        memo->w[i] = w[i];
    }

    /* none declared: what ngx_http_cx_declared() says of no steps */

    memo->steps = NULL;
    ngx_memzero(memo->declared, n * sizeof(ngx_http_cx_ref_t));

    if (*mp) {
        ngx_http_cx_memo_unref(*mp);
    }

    *mp = memo;
    ngx_http_cx_memo_seen[first] = 0;
}


/*
 * The entry's members as ngx_http_cx_declared() finds them for the
 * location's steps: found again only for other steps than last time (a
 * location of its own cx_step); a configuration read anew forgets the
 * memo (ngx_http_cx_memo_reset()), so steps are never another's that
 * took their place.
 */

static ngx_http_cx_ref_t *
ngx_http_cx_memo_declared(ngx_http_cx_memo_t *memo,
    ngx_http_cx_loc_conf_t *clcf)
{
    ngx_uint_t          i;
    ngx_http_cx_ref_t  *ref;

    if (memo->steps == clcf->steps) {
        return memo->declared;
    }

    for (i = 0; i < memo->n; i++) {
        ref = &memo->declared[i];

        ngx_http_cx_member_split(memo->m[i].data, memo->m[i].len, ref);

        if (ngx_http_cx_declared(clcf, ref) != NGX_OK) {
            ref->url.data = NULL;
        }
    }

    memo->steps = clcf->steps;

    return memo->declared;
}


static void
ngx_http_cx_memo_forget(ngx_str_t *id)
{
    ngx_http_cx_memo_t  *memo, **mp;

    mp = ngx_http_cx_memo_find(XXH3_64bits(id->data, id->len), id);

    if (mp) {
        memo = *mp;
        *mp = NULL;
        ngx_http_cx_memo_unref(memo);
    }
}


/* a request done with an entry, or the memo */

static void
ngx_http_cx_memo_unref(void *data)
{
    ngx_http_cx_memo_t  *memo = data;

    if (--memo->refs == 0) {
        ngx_free(memo);
    }
}


/*
 * Every entry forgotten: a configuration read anew (its zone may be
 * another, its keys others), a worker's exit.  Requests given one keep
 * it until they are done.
 */

void
ngx_http_cx_memo_reset(void)
{
    ngx_uint_t           i;
    ngx_http_cx_memo_t  *memo;

    for (i = 0; i < NGX_HTTP_CX_MEMOS; i++) {
        memo = ngx_http_cx_memos[i];

        if (memo) {
            ngx_http_cx_memos[i] = NULL;
            ngx_http_cx_memo_unref(memo);
        }
    }

    ngx_memzero(ngx_http_cx_memo_seen, sizeof(ngx_http_cx_memo_seen));
}
