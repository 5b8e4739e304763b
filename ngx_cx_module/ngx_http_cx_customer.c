
/*
 * Copyright (C) ngx_cx authors
 *
 * A customer's state kept at the edge (cx_customer_cache): what the
 * batch's reads of a customer returned is kept in the cx_model_cache
 * zone, for every worker, and each step this edge records is applied to
 * it as Redis applies it (ngx_http_cx_customer_step()).  For "valid"
 * after it was read, a request of that customer sends none of those
 * reads: with the model in the zone too, it is answered at once, with
 * no round trip.  Redis stays the customer's record, across edges and
 * devices: what another edge recorded meanwhile is seen once the copy
 * expires, and a cx_forget or a login's merge drops it.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <ngx_http_cx_module.h>


static void ngx_http_cx_copy_drop(ngx_str_t *prefix, uint64_t hash);


/*
 * A customer packed for the zone, in the worker's room rather than the
 * request's pool: ngx_http_cx_cache_swap() copies it at once.  A larger
 * one (a customer with long paths) takes the pool's.
 */
static u_char  ngx_http_cx_packed[4096];


static uint64_t
ngx_http_cx_customer_id(ngx_str_t *prefix, uint64_t hash)
{
    u_char  buf[NGX_HTTP_CX_PREFIX_MAX + sizeof(uint64_t)], *p;

    p = ngx_cpymem(buf, prefix->data, prefix->len);
    p = ngx_cpymem(p, &hash, sizeof(uint64_t));

    return ngx_http_cx_cache_key(NGX_HTTP_CX_CACHE_CUSTOMER, buf, p - buf);
}


/*
 * The customer's entry: a SipHash of the shop's prefix and the customer,
 * once a request; their copy and their counts of the day
 * (ngx_http_cx_cache_count()) are one entry, found once.
 */

static uint64_t
ngx_http_cx_customer_of(ngx_http_cx_ctx_t *ctx, ngx_http_cx_srv_conf_t *cxscf)
{
    if (ctx->cache_id == 0) {
        ctx->cache_id = ngx_http_cx_customer_id(&cxscf->prefix, ctx->hash);
    }

    return ctx->cache_id;
}


/*
 * The customer's copy, if the edge has one read within "valid" of now:
 * NGX_OK with ctx->customer and the time it was read set; NGX_DECLINED
 * otherwise.
 */

ngx_int_t
ngx_http_cx_customer_get(ngx_http_cx_ctx_t *ctx, ngx_http_cx_srv_conf_t *cxscf,
    int64_t now)
{
    ngx_str_t                 blob;
    ngx_http_cx_meta_t        meta;
    ngx_http_cx_customer_t   *cu;
    ngx_http_cx_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(ctx->request, ngx_http_cx_module);

    if (cmcf->customer_valid == 0 || !ngx_http_cx_cache_enabled()) {
        return NGX_DECLINED;
    }

    ngx_memzero(&meta, sizeof(ngx_http_cx_meta_t));

    if (ngx_http_cx_cache_get(ngx_http_cx_customer_of(ctx, cxscf),
                              ctx->request->pool, &blob, &meta)
        != NGX_OK
        || now - meta.stored > (int64_t) cmcf->customer_valid)
    {
        /* the version of a copy too old: what the read replaces */

        ctx->version = meta.version;

        ngx_http_cx_metric_cache(NGX_HTTP_CX_M_CUSTOMER_MISS, 1);
        return NGX_DECLINED;
    }

    cu = ngx_palloc(ctx->request->pool, sizeof(ngx_http_cx_customer_t));
    if (cu == NULL) {
        return NGX_DECLINED;
    }

    if (ngx_http_cx_customer_unpack(blob.data, blob.len, cu) != NGX_OK) {
        ngx_log_error(NGX_LOG_ALERT, ctx->request->connection->log, 0,
                      "cx: a customer's copy in the cache is not ours");
        return NGX_DECLINED;
    }

    ctx->customer = cu;
    ctx->read_at = meta.stored;
    ctx->version = meta.version;
    ctx->cached = 1;

    ngx_http_cx_metric_cache(NGX_HTTP_CX_M_CUSTOMER_HIT, 1);

    return NGX_OK;
}


/* the customer as known now, read at ctx->read_at, kept for every worker */

void
ngx_http_cx_customer_put(ngx_http_cx_ctx_t *ctx, ngx_http_cx_customer_t *cu)
{
    u_char                   *p;
    size_t                    len;
    ngx_http_cx_meta_t        meta;
    ngx_http_cx_srv_conf_t   *cxscf;
    ngx_http_cx_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(ctx->request, ngx_http_cx_module);
    cxscf = ngx_http_get_module_srv_conf(ctx->request, ngx_http_cx_module);

    if (cu == NULL || cmcf->customer_valid == 0
        || !ngx_http_cx_cache_enabled())
    {
        return;
    }

    len = ngx_http_cx_customer_size(cu);

    p = (len <= sizeof(ngx_http_cx_packed))
        ? ngx_http_cx_packed : ngx_pnalloc(ctx->request->pool, len);
    if (p == NULL) {
        return;
    }

    (void) ngx_http_cx_customer_pack(p, cu);

    ngx_memzero(&meta, sizeof(ngx_http_cx_meta_t));
    meta.stored = ctx->read_at;

    /*
     * Only over the copy this request read: another request's step or a
     * cx_forget since then drops it instead, and the next request reads
     * Redis.
     */

    if (ngx_http_cx_cache_swap(ngx_http_cx_customer_of(ctx, cxscf),
                               p, len, &meta, ctx->version)
        == NGX_OK)
    {
        ctx->version = meta.version;

    } else {
        ctx->version = NGX_HTTP_CX_CACHE_ANY - 1;
    }
}


/*
 * The customer's steps today, this request's count added, kept with
 * their copy and through its drops (ngx_http_cx_cache_count()), a count
 * that only ever grows: requests of one customer on every worker of the
 * edge count one after the other,
 * whether their copy answers or a read of Redis (floor: Redis's count
 * before this request, or the copy's).  Without the zone, floor + count.
 */

ngx_uint_t
ngx_http_cx_customer_count(ngx_http_cx_ctx_t *ctx, ngx_uint_t floor,
    ngx_uint_t count)
{
    uint32_t                  n;
    ngx_http_cx_srv_conf_t   *cxscf;
    ngx_http_cx_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(ctx->request, ngx_http_cx_module);

    if (cmcf->customer_valid == 0 || !ngx_http_cx_cache_enabled()) {
        return floor + count;
    }

    cxscf = ngx_http_get_module_srv_conf(ctx->request, ngx_http_cx_module);

    n = ngx_http_cx_cache_count(ngx_http_cx_customer_of(ctx, cxscf),
                                (uint32_t) ngx_http_cx_day(ctx->now),
                                NGX_HTTP_CX_COUNT_TODAY,
                                (uint32_t) floor, (uint32_t) count);

    return n ? n : floor + count;
}


/*
 * The steps the edge's copy counted today that Redis has not been sent
 * (ngx_http_cx_customer_unsend()): each is taken once, by the next read
 * of Redis, which adds them to its HINCRBY, or by the step that makes
 * them NGX_HTTP_CX_UNSENT: what the zone may lose of a customer's count,
 * when it evicts their entry, stays under that.
 */

ngx_uint_t
ngx_http_cx_customer_unsent(ngx_http_cx_ctx_t *ctx)
{
    ngx_http_cx_srv_conf_t   *cxscf;
    ngx_http_cx_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(ctx->request, ngx_http_cx_module);

    if (cmcf->customer_valid == 0 || !ngx_http_cx_cache_enabled()) {
        return 0;
    }

    cxscf = ngx_http_get_module_srv_conf(ctx->request, ngx_http_cx_module);

    return ngx_http_cx_cache_take(ngx_http_cx_customer_of(ctx, cxscf),
                                  (uint32_t) ngx_http_cx_day(ctx->now),
                                  NGX_HTTP_CX_COUNT_UNSENT);
}


/*
 * n steps counted from the copy, for the next read of Redis to send: the
 * steps now unsent (0 if the zone has no room for them).
 */

ngx_uint_t
ngx_http_cx_customer_unsend(ngx_http_cx_ctx_t *ctx, ngx_uint_t n)
{
    ngx_http_cx_srv_conf_t  *cxscf;

    if (!ngx_http_cx_cache_enabled()) {
        return 0;
    }

    cxscf = ngx_http_get_module_srv_conf(ctx->request, ngx_http_cx_module);

    return ngx_http_cx_cache_count(ngx_http_cx_customer_of(ctx, cxscf),
                                   (uint32_t) ngx_http_cx_day(ctx->now),
                                   NGX_HTTP_CX_COUNT_UNSENT, 0, (uint32_t) n);
}


/*
 * Redis made the customer's hash (P{H}:s) again, from a step of the
 * edge's copy that wrote only what it changed: the key was deleted or
 * evicted behind the copy, and Redis has what that step wrote alone.
 * The copy is dropped, so that the edge's next step reads what Redis has.
 */

void
ngx_http_cx_customer_remade(u_char *key, size_t len)
{
    uint64_t   hash;
    ngx_str_t  k, prefix;

    k.data = key;
    k.len = len;

    if (ngx_http_cx_customer_of_key(&k, "s", &prefix, &hash) == NGX_OK
        && prefix.len <= NGX_HTTP_CX_PREFIX_MAX)
    {
        ngx_http_cx_copy_drop(&prefix, hash);
    }
}


/* Redis changed the customer behind the copy: a login's merge, cx_forget */

void
ngx_http_cx_customer_drop(ngx_http_cx_srv_conf_t *cxscf, uint64_t hash)
{
    ngx_http_cx_copy_drop(&cxscf->prefix, hash);
}


/*
 * Without customers= no customer has a copy, nor counts: nothing to drop,
 * and no entry of counts alone made for a read in flight
 * (ngx_http_cx_cache_drop()) to find.
 */

static void
ngx_http_cx_copy_drop(ngx_str_t *prefix, uint64_t hash)
{
    ngx_http_cx_main_conf_t  *cmcf;

    cmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle, ngx_http_cx_module);

    if (cmcf && cmcf->customer_valid && ngx_http_cx_cache_enabled()) {
        ngx_http_cx_cache_drop(ngx_http_cx_customer_id(prefix, hash));
    }
}
