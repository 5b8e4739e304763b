
/*
 * Copyright (C) ngx_cx authors
 *
 * cx_model_cache: entries kept for every worker in one shared memory
 * zone, found by a 64-bit key in a hash index and queued in least
 * recently used order.  An entry is an opaque blob with its metadata,
 * copied in and out under the zone's mutex: no pointer into the zone
 * escapes it.  When the zone is full, the least recently used entries
 * are freed until the new one fits, as ngx_http_limit_req_module does: a
 * full zone never fails a request.  An entry larger than an eighth of the
 * zone is not kept at all.
 *
 * Keys are SipHash-2-4 of what the entry is for, with a key drawn at
 * random when the zone is made, so that no one can choose names that
 * share a key or a bucket; the caller still keeps in the blob what the
 * entry is for (ngx_http_cx_pack.c).  The index is an array of buckets
 * made with the zone, one per kilobyte of it rounded down to a power of
 * two (64m: 65536 buckets, 512k of the zone), about an entry each in a
 * full zone of entries of a kilobyte; a key's low bits are its bucket,
 * where its entries are chained.
 *
 * A reload keeps the zone and its entries when its size is the same, as
 * nginx's own zones.  nginx does so only for the same tag, the module's
 * address, that is for the module loaded already: the zone is always of
 * this code's layout.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <sys/random.h>

#include <xxhash.h>

#include <ngx_http_cx_module.h>


#define NGX_HTTP_CX_CACHE_PART   8      /* an entry's share of the zone */
#define NGX_HTTP_CX_CLAIM_MIN    1000   /* ms, the least a claim holds */
#define NGX_HTTP_CX_CACHE_BUCKET 1024   /* bytes of the zone per bucket */
#define NGX_HTTP_CX_KEY_MEMOS    64     /* model keys a worker keeps */


typedef struct ngx_http_cx_cache_node_s  ngx_http_cx_cache_node_t;

struct ngx_http_cx_cache_node_s {
    ngx_http_cx_cache_node_t   *next;           /* in its bucket */
    ngx_queue_t                 queue;
    uint64_t                    key;
    ngx_http_cx_meta_t          meta;
    int64_t                     claimed;        /* ms; 0: no refresh out */
    ngx_msec_t                  used;           /* moved up in the queue */
    size_t                      len;            /* 0: its counts alone */
    size_t                      room;           /* for data, allocated */
    uint32_t                    count[3];       /* a day, and its counts */
    u_char                      data[1];
};


typedef struct {
    ngx_http_cx_cache_node_t  **buckets;
    uint64_t                    mask;           /* buckets - 1 */
    ngx_queue_t                 queue;          /* most recent first */
    uint64_t                    hash_key[2];
    uint64_t                    version;        /* the last one given */
} ngx_http_cx_cache_sh_t;


typedef struct {
    ngx_http_cx_cache_sh_t     *sh;
    ngx_slab_pool_t            *shpool;
    size_t                      max;            /* an entry's bytes */
    int64_t                     claim;          /* ms a claim holds */
} ngx_http_cx_cache_t;


/*
 * A model entry's key, as ngx_http_cx_cache_key() made it, kept per
 * worker by its bytes and the zone's keys: the same few steps' entries
 * are looked up with every request, and each SipHash of their "prefix
 * name" cost more than finding it again.  A slot by a hash of the bytes,
 * the last one wins.
 */

typedef struct {
    uint64_t                    k[2];           /* the zone's, kind mixed */
    uint64_t                    key;
    size_t                      len;            /* 0: none */
    u_char                      id[NGX_HTTP_CX_MODEL_ID_MAX];
} ngx_http_cx_key_memo_t;


static ngx_int_t ngx_http_cx_cache_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_http_cx_cache_t *ngx_http_cx_cache_zone(void);
static ngx_http_cx_cache_node_t *ngx_http_cx_cache_lookup(
    ngx_http_cx_cache_t *cache, uint64_t key);
static ngx_http_cx_cache_node_t *ngx_http_cx_cache_alloc(
    ngx_http_cx_cache_t *cache, uint64_t key, size_t len,
    ngx_uint_t *evicted);
static void ngx_http_cx_cache_free(ngx_http_cx_cache_t *cache,
    ngx_http_cx_cache_node_t *cn);
static ngx_http_cx_cache_node_t *ngx_http_cx_cache_blank(
    ngx_http_cx_cache_t *cache, uint64_t key, ngx_uint_t *evicted);
static void ngx_http_cx_cache_void(ngx_http_cx_cache_t *cache,
    ngx_http_cx_cache_node_t *cn);
static void ngx_http_cx_cache_used(ngx_http_cx_cache_t *cache,
    ngx_http_cx_cache_node_t *cn);


static ngx_str_t  ngx_http_cx_cache_name = ngx_string("cx_model_cache");

static ngx_http_cx_key_memo_t  ngx_http_cx_key_memos[NGX_HTTP_CX_KEY_MEMOS];

/*
 * The zone of the cycle that last asked, found once: a request asks for
 * it ten times and more (its conf behind the cycle's, then the zone's).
 * Forgotten with each configuration read, before its cycle is the
 * current one, so that a cycle made where a freed one was is never
 * taken for it.
 */

static ngx_cycle_t          *ngx_http_cx_cache_cycle;
static ngx_http_cx_cache_t  *ngx_http_cx_cache_current;


/* postconfiguration: the zone, when cx_model_cache is set and cx used */

ngx_int_t
ngx_http_cx_cache_init(ngx_conf_t *cf)
{
    ngx_shm_zone_t           *shm_zone;
    ngx_http_cx_cache_t      *cache;
    ngx_http_cx_main_conf_t  *cxmcf;

    ngx_http_cx_cache_cycle = NULL;
    ngx_http_cx_cache_current = NULL;

    cxmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_cx_module);

    if (cxmcf->on_file == NULL || cxmcf->cache_size == 0) {
        return NGX_OK;
    }

    cache = ngx_pcalloc(cf->pool, sizeof(ngx_http_cx_cache_t));
    if (cache == NULL) {
        return NGX_ERROR;
    }

    cache->max = cxmcf->cache_size / NGX_HTTP_CX_CACHE_PART;

    /*
     * A refresh whose reply is lost gives its claim up after this long:
     * the connection is given up sooner (10 x cx_timeout, at least 100ms),
     * and its commands are answered then, with nothing.
     */

    cache->claim = ngx_max(10 * (int64_t) cxmcf->timeout,
                           NGX_HTTP_CX_CLAIM_MIN);

    shm_zone = ngx_shared_memory_add(cf, &ngx_http_cx_cache_name,
                                     cxmcf->cache_size, &ngx_http_cx_module);
    if (shm_zone == NULL) {
        return NGX_ERROR;
    }

    if (shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "duplicate zone \"%V\"",
                           &ngx_http_cx_cache_name);
        return NGX_ERROR;
    }

    shm_zone->init = ngx_http_cx_cache_init_zone;
    shm_zone->data = cache;

    cxmcf->cache_zone = shm_zone;

    return NGX_OK;
}


/* in the master: data is the previous cycle's when the zone is kept */

static ngx_int_t
ngx_http_cx_cache_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_cx_cache_t  *ocache = data;

    size_t                len, n;
    ngx_http_cx_cache_t  *cache;

    cache = shm_zone->data;

    if (ocache) {
        cache->sh = ocache->sh;
        cache->shpool = ocache->shpool;
        return NGX_OK;
    }

    cache->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        cache->sh = cache->shpool->data;
        return NGX_OK;
    }

    cache->sh = ngx_slab_alloc(cache->shpool, sizeof(ngx_http_cx_cache_sh_t));
    if (cache->sh == NULL) {
        return NGX_ERROR;
    }

    cache->shpool->data = cache->sh;

    /* zones are 8 pages at least: 32 buckets */

    for (n = 1; n * 2 <= shm_zone->shm.size / NGX_HTTP_CX_CACHE_BUCKET;
         n *= 2)
    { /* void */ }

    cache->sh->buckets = ngx_slab_calloc(cache->shpool,
                                       n * sizeof(ngx_http_cx_cache_node_t *));
    if (cache->sh->buckets == NULL) {
        return NGX_ERROR;
    }

    cache->sh->mask = n - 1;
    cache->sh->version = 0;

    ngx_queue_init(&cache->sh->queue);

    if (getrandom(cache->sh->hash_key, sizeof(cache->sh->hash_key),
                  GRND_NONBLOCK)
        != (ssize_t) sizeof(cache->sh->hash_key))
    {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, ngx_errno,
                      "cx: getrandom() failed");
        return NGX_ERROR;
    }

    len = sizeof(" in \"\" zone") + shm_zone->shm.name.len;

    cache->shpool->log_ctx = ngx_slab_alloc(cache->shpool, len);
    if (cache->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(cache->shpool->log_ctx, " in \"%V\" zone%Z",
                &shm_zone->shm.name);

    /* a full zone makes room: no "no memory" in the log */
    cache->shpool->log_nomem = 0;

    return NGX_OK;
}


/* the current cycle's zone, NULL without one */

static ngx_http_cx_cache_t *
ngx_http_cx_cache_zone(void)
{
    ngx_http_cx_cache_t      *cache;
    ngx_http_cx_main_conf_t  *cxmcf;

    if (ngx_http_cx_cache_cycle == ngx_cycle) {
        return ngx_http_cx_cache_current;
    }

    cxmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                                ngx_http_cx_module);

    if (cxmcf == NULL || cxmcf->cache_zone == NULL) {
        return NULL;
    }

    cache = cxmcf->cache_zone->data;

    if (cache->sh == NULL) {
        /* not yet made: asked again */
        return NULL;
    }

    ngx_http_cx_cache_cycle = (ngx_cycle_t *) ngx_cycle;
    ngx_http_cx_cache_current = cache;

    return cache;
}


ngx_uint_t
ngx_http_cx_cache_enabled(void)
{
    return ngx_http_cx_cache_zone() != NULL;
}


/* the key of what p names, an entry of this kind; 0 without a zone */

uint64_t
ngx_http_cx_cache_key(u_char kind, u_char *p, size_t len)
{
    uint64_t                 k[2];
    ngx_http_cx_cache_t     *cache;
    ngx_http_cx_key_memo_t  *memo;

    cache = ngx_http_cx_cache_zone();
    if (cache == NULL) {
        return 0;
    }

    /* set once when the zone was made: read without the lock */

    k[0] = cache->sh->hash_key[0] ^ kind;
    k[1] = cache->sh->hash_key[1];

    if (kind != NGX_HTTP_CX_CACHE_MODEL || len > NGX_HTTP_CX_MODEL_ID_MAX) {
        /* a customer's: one a request, seldom the same */
        return ngx_http_cx_siphash(k, p, len);
    }

    memo = &ngx_http_cx_key_memos[XXH3_64bits(p, len)
                                  % NGX_HTTP_CX_KEY_MEMOS];

    if (memo->len == len && memo->k[0] == k[0] && memo->k[1] == k[1]
        && ngx_memcmp(memo->id, p, len) == 0)
    {
        return memo->key;
    }

    memo->key = ngx_http_cx_siphash(k, p, len);
    memo->k[0] = k[0];
    memo->k[1] = k[1];
    memo->len = len;
    ngx_memcpy(memo->id, p, len);

    return memo->key;
}


/* keys are SipHash already: their low bits pick the bucket as they are */

static ngx_http_cx_cache_node_t *
ngx_http_cx_cache_lookup(ngx_http_cx_cache_t *cache, uint64_t key)
{
    ngx_http_cx_cache_node_t  *cn;

    for (cn = cache->sh->buckets[key & cache->sh->mask]; cn; cn = cn->next) {

        if (cn->key == key) {
            return cn;
        }
    }

    return NULL;
}


static void
ngx_http_cx_cache_free(ngx_http_cx_cache_t *cache,
    ngx_http_cx_cache_node_t *cn)
{
    ngx_http_cx_cache_node_t  **p;

    for (p = &cache->sh->buckets[cn->key & cache->sh->mask];
         *p != cn;
         p = &(*p)->next)
    { /* void */ }

    *p = cn->next;

    ngx_queue_remove(&cn->queue);
    ngx_slab_free_locked(cache->shpool, cn);
}


ngx_int_t
ngx_http_cx_cache_get(uint64_t key, ngx_pool_t *pool, ngx_str_t *blob,
    ngx_http_cx_meta_t *meta)
{
    u_char                    *p;
    ngx_http_cx_cache_t       *cache;
    ngx_http_cx_cache_node_t  *cn;

    cache = ngx_http_cx_cache_zone();
    if (cache == NULL) {
        return NGX_DECLINED;
    }

    ngx_shmtx_lock(&cache->shpool->mutex);

    cn = ngx_http_cx_cache_lookup(cache, key);

    if (cn && cn->len == 0) {
        /* its counts alone: the version a put is to replace */
        *meta = cn->meta;
        cn = NULL;
    }

    p = cn ? ngx_pnalloc(pool, cn->len) : NULL;

    if (p == NULL) {
        ngx_shmtx_unlock(&cache->shpool->mutex);
        return NGX_DECLINED;
    }

    ngx_memcpy(p, cn->data, cn->len);
    blob->data = p;
    blob->len = cn->len;
    *meta = cn->meta;

    ngx_http_cx_cache_used(cache, cn);

    ngx_shmtx_unlock(&cache->shpool->mutex);

    return NGX_OK;
}


/* key's entry used from a worker's own copy of it (ngx_http_cx_shared.c) */

void
ngx_http_cx_cache_touch(uint64_t key)
{
    ngx_http_cx_cache_t       *cache;
    ngx_http_cx_cache_node_t  *cn;

    cache = ngx_http_cx_cache_zone();
    if (cache == NULL) {
        return;
    }

    ngx_shmtx_lock(&cache->shpool->mutex);

    cn = ngx_http_cx_cache_lookup(cache, key);
    if (cn) {
        ngx_http_cx_cache_used(cache, cn);
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);
}


/*
 * An entry used: first in the queue, where the least recently used are
 * last, unless it was moved there within NGX_HTTP_CX_CACHE_MOVE (a
 * second of the workers' shared monotonic clock).  Each move writes its
 * neighbours, two other entries seldom in the CPU's caches, and the
 * entries of a customer's request are used four times and more: the
 * order is the least recently used to within that second, and an entry
 * in use is never last for longer.  Each worker's clock is the time of
 * its own last event: one a little behind the worker that moved the
 * entry finds it moved later than its own now, not a lifetime ago (as
 * the unsigned difference has it), and leaves it.  Under the mutex.
 */

static void
ngx_http_cx_cache_used(ngx_http_cx_cache_t *cache,
    ngx_http_cx_cache_node_t *cn)
{
    if ((ngx_msec_int_t) (ngx_current_msec - cn->used)
        < NGX_HTTP_CX_CACHE_MOVE)
    {
        return;
    }

    cn->used = ngx_current_msec;

    ngx_queue_remove(&cn->queue);
    ngx_queue_insert_head(&cache->sh->queue, &cn->queue);
}


/*
 * A node for len bytes under key, in its bucket but not yet in the queue,
 * the least recently used freed to make room (counted in evicted), with
 * the room its slab chunk really has: a power of two below half a page.
 * NULL if even an empty zone has none.  Under the mutex.
 */

static ngx_http_cx_cache_node_t *
ngx_http_cx_cache_alloc(ngx_http_cx_cache_t *cache, uint64_t key, size_t len,
    ngx_uint_t *evicted)
{
    size_t                      size, room;
    ngx_queue_t                *q;
    ngx_http_cx_cache_node_t   *cn, **bucket;

    size = offsetof(ngx_http_cx_cache_node_t, data) + len;

    if (size < ngx_pagesize / 2) {
        for (room = 8; room < size; room *= 2) { /* void */ }
        size = room;
    }

    for ( ;; ) {
        cn = ngx_slab_alloc_locked(cache->shpool, size);
        if (cn) {
            break;
        }

        if (ngx_queue_empty(&cache->sh->queue)) {
            return NULL;
        }

        /* the least recently used makes room */

        q = ngx_queue_last(&cache->sh->queue);
        ngx_http_cx_cache_free(cache,
                        ngx_queue_data(q, ngx_http_cx_cache_node_t, queue));
        (*evicted)++;
    }

    cn->key = key;
    cn->room = size - offsetof(ngx_http_cx_cache_node_t, data);

    bucket = &cache->sh->buckets[key & cache->sh->mask];
    cn->next = *bucket;
    *bucket = cn;

    return cn;
}


/*
 * The entry of key, in place of the one before, if any, and no longer
 * claimed.  NGX_DECLINED: not kept (none at all then), too large for the
 * zone, or larger than the zone holds even emptied.
 */

ngx_int_t
ngx_http_cx_cache_put(uint64_t key, u_char *data, size_t len,
    ngx_http_cx_meta_t *meta)
{
    return ngx_http_cx_cache_swap(key, data, len, meta,
                                  NGX_HTTP_CX_CACHE_ANY);
}


/*
 * A put if the entry is still the version the caller read (0: none), then
 * of the zone's next version, in meta; else the entry is dropped.
 */

ngx_int_t
ngx_http_cx_cache_swap(uint64_t key, u_char *data, size_t len,
    ngx_http_cx_meta_t *meta, uint64_t expect)
{
    uint32_t                   count[3];
    ngx_int_t                  rc;
    ngx_uint_t                 evicted;
    ngx_http_cx_cache_t       *cache;
    ngx_http_cx_cache_node_t  *cn, *old;

    cache = ngx_http_cx_cache_zone();
    if (cache == NULL) {
        return NGX_DECLINED;
    }

    evicted = 0;
    rc = NGX_OK;

    ngx_shmtx_lock(&cache->shpool->mutex);

    old = ngx_http_cx_cache_lookup(cache, key);

    if (expect != NGX_HTTP_CX_CACHE_ANY
        && expect != (old ? old->meta.version : 0))
    {
        /*
         * Changed since the caller read it (another request's step, a
         * cx_forget): neither copy can be trusted, the next reads Redis
         */

        if (old) {
            ngx_http_cx_cache_void(cache, old);
        }

        rc = NGX_DECLINED;
        goto done;
    }

    if (expect != NGX_HTTP_CX_CACHE_ANY) {
        /* the zone's next: never one that an entry made room had */
        meta->version = ++cache->sh->version;
    }

    if (old && len <= old->room && len >= old->room / 2) {

        /* in the entry's own room, as most updates of one are */

        cn = old;
        ngx_http_cx_cache_used(cache, cn);
        goto store;
    }

    ngx_memzero(count, sizeof(count));

    if (old) {
        ngx_memcpy(count, old->count, sizeof(count));
        ngx_http_cx_cache_free(cache, old);
    }

    cn = (len > cache->max) ? NULL
         : ngx_http_cx_cache_alloc(cache, key, len, &evicted);

    if (cn == NULL) {
        rc = NGX_DECLINED;
        goto done;
    }

    ngx_memcpy(cn->count, count, sizeof(count));
    cn->used = ngx_current_msec;
    ngx_queue_insert_head(&cache->sh->queue, &cn->queue);

store:

    cn->meta = *meta;
    cn->claimed = 0;
    cn->len = len;
    ngx_memcpy(cn->data, data, len);

done:

    ngx_shmtx_unlock(&cache->shpool->mutex);

    if (evicted) {
        ngx_http_cx_metric_cache(NGX_HTTP_CX_M_EVICTIONS, evicted);
    }

    return rc;
}


/*
 * Whether the caller refreshes key now, at its time now (ms): not while
 * another holds a claim younger than cache->claim either way (clocks of
 * workers a little apart agree, a time from cx_time far off claims
 * anew), nor once the entry is stored as of now or later: a refresh that
 * came back while the caller looked is all the caller would read.  A key
 * without an entry is anyone's to read.
 */

ngx_uint_t
ngx_http_cx_cache_claim(uint64_t key, int64_t now)
{
    ngx_uint_t                 mine;
    ngx_http_cx_cache_t       *cache;
    ngx_http_cx_cache_node_t  *cn;

    cache = ngx_http_cx_cache_zone();
    if (cache == NULL) {
        return 1;
    }

    mine = 1;

    ngx_shmtx_lock(&cache->shpool->mutex);

    cn = ngx_http_cx_cache_lookup(cache, key);

    if (cn) {
        if (cn->meta.stored >= now
            || (cn->claimed && now - cn->claimed < cache->claim
                && cn->claimed - now < cache->claim))
        {
            mine = 0;

        } else {
            cn->claimed = now;
        }
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);

    return mine;
}


/*
 * Counts of the day that never go down, kept with an entry (a
 * customer's copy: NGX_HTTP_CX_COUNT_TODAY and NGX_HTTP_CX_COUNT_UNSENT),
 * and alone where it has none or was dropped
 * (ngx_http_cx_cache_void()): count i the larger of it and floor, plus
 * n; a new day starts each from 0.  0 if the zone has no room for them.
 */

uint32_t
ngx_http_cx_cache_count(uint64_t key, uint32_t day, ngx_uint_t i,
    uint32_t floor, uint32_t n)
{
    uint32_t                   v;
    ngx_uint_t                 evicted;
    ngx_http_cx_cache_t       *cache;
    ngx_http_cx_cache_node_t  *cn;

    cache = ngx_http_cx_cache_zone();
    if (cache == NULL) {
        return 0;
    }

    evicted = 0;

    ngx_shmtx_lock(&cache->shpool->mutex);

    cn = ngx_http_cx_cache_lookup(cache, key);

    if (cn == NULL) {
        cn = ngx_http_cx_cache_blank(cache, key, &evicted);

        if (cn == NULL) {
            ngx_shmtx_unlock(&cache->shpool->mutex);
            return 0;
        }

    } else {
        ngx_http_cx_cache_used(cache, cn);
    }

    if (cn->count[0] != day) {
        cn->count[0] = day;
        cn->count[1] = 0;
        cn->count[2] = 0;
    }

    v = ngx_max(cn->count[i], floor) + n;
    cn->count[i] = v;

    ngx_shmtx_unlock(&cache->shpool->mutex);

    if (evicted) {
        ngx_http_cx_metric_cache(NGX_HTTP_CX_M_EVICTIONS, evicted);
    }

    return v;
}


/*
 * Count i of ngx_http_cx_cache_count() taken: its value today, and 0
 * left in its place.
 */

uint32_t
ngx_http_cx_cache_take(uint64_t key, uint32_t day, ngx_uint_t i)
{
    uint32_t                   n;
    ngx_http_cx_cache_t       *cache;
    ngx_http_cx_cache_node_t  *cn;

    cache = ngx_http_cx_cache_zone();
    if (cache == NULL) {
        return 0;
    }

    n = 0;

    ngx_shmtx_lock(&cache->shpool->mutex);

    cn = ngx_http_cx_cache_lookup(cache, key);

    if (cn) {
        if (cn->count[0] == day) {
            n = cn->count[i];

        } else {
            cn->count[0] = day;
            cn->count[1] = 0;
            cn->count[2] = 0;
        }

        cn->count[i] = 0;
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);

    return n;
}


/*
 * key's entry no longer trusted: what it holds, and not its counts.
 * Where there is none, a read of Redis begun before may put what it read
 * once the caller's change is made (cx_forget drops the copy before its
 * DEL): an entry is made, of counts alone, for that put not to match.
 */

void
ngx_http_cx_cache_drop(uint64_t key)
{
    ngx_uint_t                 evicted;
    ngx_http_cx_cache_t       *cache;
    ngx_http_cx_cache_node_t  *cn;

    cache = ngx_http_cx_cache_zone();
    if (cache == NULL) {
        return;
    }

    evicted = 0;

    ngx_shmtx_lock(&cache->shpool->mutex);

    cn = ngx_http_cx_cache_lookup(cache, key);

    if (cn == NULL) {
        cn = ngx_http_cx_cache_blank(cache, key, &evicted);
    }

    if (cn) {
        ngx_http_cx_cache_void(cache, cn);
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);

    if (evicted) {
        ngx_http_cx_metric_cache(NGX_HTTP_CX_M_EVICTIONS, evicted);
    }
}


/*
 * An entry of key with no data and no counts, of version 0 (that of none
 * at all), first in the queue: NULL if even an empty zone has no room for
 * it.  Under the mutex.
 */

static ngx_http_cx_cache_node_t *
ngx_http_cx_cache_blank(ngx_http_cx_cache_t *cache, uint64_t key,
    ngx_uint_t *evicted)
{
    ngx_http_cx_cache_node_t  *cn;

    cn = ngx_http_cx_cache_alloc(cache, key, 0, evicted);
    if (cn == NULL) {
        return NULL;
    }

    ngx_memzero(&cn->meta, sizeof(ngx_http_cx_meta_t));
    cn->claimed = 0;
    cn->len = 0;
    ngx_memzero(cn->count, sizeof(cn->count));
    cn->used = ngx_current_msec;
    ngx_queue_insert_head(&cache->sh->queue, &cn->queue);

    return cn;
}


/*
 * An entry's data dropped: the entry kept for its counts alone, of a
 * version of the zone's that no put of what was read before matches
 * (freed, the entry would take a put of one that read none).  Under the
 * mutex.
 */

static void
ngx_http_cx_cache_void(ngx_http_cx_cache_t *cache,
    ngx_http_cx_cache_node_t *cn)
{
    cn->len = 0;
    cn->meta.stored = 0;
    cn->meta.version = ++cache->sh->version;
}
