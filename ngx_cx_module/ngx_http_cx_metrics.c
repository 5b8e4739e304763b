
/*
 * Copyright (C) ngx_cx authors
 *
 * The module's counters, in one shared memory zone: one struct of
 * ngx_atomic_t that every worker adds to (no lock on the request path),
 * so the sums over workers are there by construction.  The zone is kept
 * across a reload (nginx hands the same memory to the new cycle when its
 * name and size are the same); a zone of another layout starts afresh.
 *
 * The funnel counts the steps declared by cx_step, by name as written, in
 * a bounded table of the zone: a reload finds the names it had and adds
 * the new ones; past NGX_HTTP_CX_METRICS_STEPS names, or for a name
 * longer than NGX_HTTP_CX_METRICS_NAME, the step counts as "(other)",
 * which no step can be named.
 *
 * cx_metrics serves them: Prometheus text, ?format=json, ?format=html
 * (the dashboard, ngx_http_cx_dashboard.c).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <ngx_http_cx_module.h>


#define NGX_HTTP_CX_METRICS_MAGIC    0x6378316d      /* "cx1m" */
#define NGX_HTTP_CX_METRICS_VERSION  1
#define NGX_HTTP_CX_METRICS_STEPS    64
#define NGX_HTTP_CX_METRICS_NAME     64
#define NGX_HTTP_CX_METRICS_OTHER    NGX_HTTP_CX_METRICS_STEPS
#define NGX_HTTP_CX_LEVELS           3
#define NGX_HTTP_CX_RTT_BUCKETS      10              /* and +Inf */
#define NGX_HTTP_CX_GOAL_BUCKETS     15              /* and +Inf */
#define NGX_HTTP_CX_STATUSES         6               /* BYPASS..UNASKED */

/* the output but the funnel, generously: about 14k are written */
#define NGX_HTTP_CX_METRICS_FIXED    65536


typedef struct {
    ngx_atomic_t                goals;
    ngx_atomic_t                assisted;
    ngx_atomic_t                steps_sum;
    ngx_atomic_t                steps_squares;
    ngx_atomic_t                buckets[NGX_HTTP_CX_GOAL_BUCKETS + 1];
} ngx_http_cx_goal_metrics_t;


typedef struct {
    ngx_atomic_t                journeys;
    ngx_atomic_t                offered;
    ngx_atomic_t                follows[NGX_HTTP_CX_SUGGEST_MAX];
    ngx_atomic_t                shortcuts_offered;
    ngx_atomic_t                shortcut_follows;
    ngx_http_cx_goal_metrics_t  levels[NGX_HTTP_CX_LEVELS];
} ngx_http_cx_variant_metrics_t;


typedef struct {
    ngx_atomic_t                count;
    size_t                      len;
    u_char                      name[NGX_HTTP_CX_METRICS_NAME];
} ngx_http_cx_step_metrics_t;


/* the zone; buckets are kept per bucket and made cumulative when shown */
typedef struct {
    ngx_uint_t                  magic;
    ngx_uint_t                  version;
    size_t                      size;
    time_t                      since;

    ngx_atomic_t                requests[NGX_HTTP_CX_STATUSES];
    ngx_atomic_t                served;
    ngx_atomic_t                shortcuts_served;

    ngx_atomic_t                round_trips;
    ngx_atomic_t                redis[3];       /* NGX_HTTP_CX_M_ERRORS.. */
    ngx_atomic_t                in_flight;      /* may be seen below 0 */
    ngx_atomic_t                rtt[NGX_HTTP_CX_RTT_BUCKETS + 1];
    ngx_atomic_t                rtt_sum;        /* microseconds */
    ngx_atomic_t                cache[NGX_HTTP_CX_M_CACHE];

    ngx_uint_t                  nsteps;         /* written by the master */
    ngx_http_cx_step_metrics_t  steps[NGX_HTTP_CX_METRICS_STEPS + 1];

    ngx_http_cx_variant_metrics_t  variants[NGX_HTTP_CX_VARIANTS];
} ngx_http_cx_metrics_t;


/* the zone's data: the struct, and each declared name's entry in it */
typedef struct {
    ngx_http_cx_metrics_t      *sh;
    ngx_uint_t                 *map;            /* by step->metric */
    ngx_array_t                *names;          /* cxmcf->step_names */
} ngx_http_cx_metrics_ctx_t;


static ngx_int_t ngx_http_cx_metrics_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_http_cx_metrics_ctx_t *ngx_http_cx_metrics_get(void);
static ngx_int_t ngx_http_cx_metrics_handler(ngx_http_request_t *r);
static u_char *ngx_http_cx_metrics_prometheus(u_char *p, u_char *last,
    ngx_http_cx_metrics_ctx_t *mctx);
static u_char *ngx_http_cx_metrics_json(u_char *p, u_char *last,
    ngx_http_cx_metrics_ctx_t *mctx);
static u_char *ngx_http_cx_metrics_family(u_char *p, u_char *last,
    const char *name, const char *type, const char *help);
static u_char *ngx_http_cx_metrics_label(u_char *p, u_char *last,
    u_char *name, size_t len);


static ngx_str_t  ngx_http_cx_metrics_zone_name = ngx_string("cx_metrics");

static ngx_str_t  ngx_http_cx_metrics_other = ngx_string("(other)");

static ngx_str_t  ngx_http_cx_cache_control = ngx_string("Cache-Control");
static ngx_str_t  ngx_http_cx_no_store = ngx_string("no-store");


/* $cx_status as the output names it, in the order it is shown */
static ngx_uint_t  ngx_http_cx_metrics_statuses[] = {
    NGX_HTTP_CX_HIT, NGX_HTTP_CX_MISS, NGX_HTTP_CX_TIMEOUT,
    NGX_HTTP_CX_ERROR, NGX_HTTP_CX_BYPASS, NGX_HTTP_CX_UNASKED
};

static char  *ngx_http_cx_metrics_status_names[] = {
    "hit", "miss", "timeout", "error", "bypass", "unasked"
};

/*
 * The zone of the cycle that last asked, found once: a request counts
 * seven things (its conf behind the cycle's, then the zone's).  Forgotten
 * with each configuration read, before its cycle is the current one, so
 * that a cycle made where a freed one was is never taken for it.
 */

static ngx_cycle_t                *ngx_http_cx_metrics_cycle;
static ngx_http_cx_metrics_ctx_t  *ngx_http_cx_metrics_current;


static char  *ngx_http_cx_metrics_variants[] = { "treatment", "holdout" };

/* NGX_HTTP_CX_M_MODEL_HIT, _STALE, _MISS */
static char  *ngx_http_cx_metrics_cache_results[] = { "hit", "stale", "miss" };


/* round trip buckets: microseconds, and as shown (seconds) */
static ngx_uint_t  ngx_http_cx_rtt_le[] = {
    500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000
};

static char  *ngx_http_cx_rtt_le_text[] = {
    "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
    "0.25", "1"
};

/* steps to the goal */
static ngx_uint_t  ngx_http_cx_goal_le[] = {
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 15, 20, 30, 50
};


/* cx_metrics */

char *
ngx_http_cx_metrics(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *hclcf;
    ngx_http_cx_main_conf_t   *cxmcf;

    hclcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (hclcf->handler == ngx_http_cx_metrics_handler) {
        return "is duplicate";
    }

    hclcf->handler = ngx_http_cx_metrics_handler;

    cxmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_cx_module);
    cxmcf->metrics = 1;

    return NGX_CONF_OK;
}


/* a cx_step's name among the declared ones: its entry, once per name */

ngx_int_t
ngx_http_cx_metrics_declare(ngx_conf_t *cf, ngx_http_cx_step_t *step)
{
    ngx_str_t                *name;
    ngx_uint_t                i;
    ngx_http_cx_main_conf_t  *cxmcf;

    cxmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_cx_module);

    if (cxmcf->step_names == NULL) {
        cxmcf->step_names = ngx_array_create(cf->pool, 8, sizeof(ngx_str_t));
        if (cxmcf->step_names == NULL) {
            return NGX_ERROR;
        }
    }

    name = cxmcf->step_names->elts;

    for (i = 0; i < cxmcf->step_names->nelts; i++) {
        if (ngx_http_cx_same(&name[i], &step->name)) {
            step->metric = i;
            return NGX_OK;
        }
    }

    name = ngx_array_push(cxmcf->step_names);
    if (name == NULL) {
        return NGX_ERROR;
    }

    *name = step->name;
    step->metric = i;

    return NGX_OK;
}


/* postconfiguration: the zone, whenever the module is used */

ngx_int_t
ngx_http_cx_metrics_init(ngx_conf_t *cf)
{
    size_t                      size;
    ngx_shm_zone_t             *shm_zone;
    ngx_http_cx_main_conf_t    *cxmcf;
    ngx_http_cx_metrics_ctx_t  *mctx;

    ngx_http_cx_metrics_cycle = NULL;
    ngx_http_cx_metrics_current = NULL;

    cxmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_cx_module);

    if (cxmcf->on_file == NULL && !cxmcf->metrics) {
        return NGX_OK;
    }

    mctx = ngx_pcalloc(cf->pool, sizeof(ngx_http_cx_metrics_ctx_t));
    if (mctx == NULL) {
        return NGX_ERROR;
    }

    mctx->names = cxmcf->step_names;

    if (mctx->names && mctx->names->nelts) {
        mctx->map = ngx_pcalloc(cf->pool,
                                mctx->names->nelts * sizeof(ngx_uint_t));
        if (mctx->map == NULL) {
            return NGX_ERROR;
        }
    }

    /* the struct in whole pages, and the slab pool's own */

    size = ngx_align(sizeof(ngx_http_cx_metrics_t), ngx_pagesize)
           + 8 * ngx_pagesize;

    shm_zone = ngx_shared_memory_add(cf, &ngx_http_cx_metrics_zone_name,
                                     size, &ngx_http_cx_module);
    if (shm_zone == NULL) {
        return NGX_ERROR;
    }

    if (shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate zone \"%V\"",
                           &ngx_http_cx_metrics_zone_name);
        return NGX_ERROR;
    }

    shm_zone->init = ngx_http_cx_metrics_init_zone;
    shm_zone->data = mctx;

    cxmcf->metrics_zone = shm_zone;

    return NGX_OK;
}


/*
 * In the master, at start and at each reload: data is the previous
 * cycle's ctx when nginx reuses the zone.  Its counters are kept if the
 * layout is this build's; the declared names are looked up, and added
 * at the end when new (the old workers' entries never move).
 */

static ngx_int_t
ngx_http_cx_metrics_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_cx_metrics_ctx_t  *octx = data;

    ngx_str_t                  *name;
    ngx_uint_t                  i, j;
    ngx_slab_pool_t            *shpool;
    ngx_http_cx_metrics_t      *sh;
    ngx_http_cx_metrics_ctx_t  *mctx;

    mctx = shm_zone->data;
    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (octx) {
        sh = octx->sh;

    } else if (shm_zone->shm.exists) {
        sh = shpool->data;

    } else {
        sh = ngx_slab_alloc(shpool, sizeof(ngx_http_cx_metrics_t));
        if (sh == NULL) {
            return NGX_ERROR;
        }

        shpool->data = sh;
        sh->magic = 0;
    }

    if (sh->magic != NGX_HTTP_CX_METRICS_MAGIC
        || sh->version != NGX_HTTP_CX_METRICS_VERSION
        || sh->size != sizeof(ngx_http_cx_metrics_t))
    {
        ngx_memzero(sh, sizeof(ngx_http_cx_metrics_t));

        sh->magic = NGX_HTTP_CX_METRICS_MAGIC;
        sh->version = NGX_HTTP_CX_METRICS_VERSION;
        sh->size = sizeof(ngx_http_cx_metrics_t);
        sh->since = ngx_time();

        sh->steps[NGX_HTTP_CX_METRICS_OTHER].len =
                                             ngx_http_cx_metrics_other.len;
        ngx_memcpy(sh->steps[NGX_HTTP_CX_METRICS_OTHER].name,
                   ngx_http_cx_metrics_other.data,
                   ngx_http_cx_metrics_other.len);
    }

    mctx->sh = sh;

    if (mctx->map == NULL) {
        return NGX_OK;
    }

    name = mctx->names->elts;

    for (i = 0; i < mctx->names->nelts; i++) {

        mctx->map[i] = NGX_HTTP_CX_METRICS_OTHER;

        if (name[i].len > NGX_HTTP_CX_METRICS_NAME) {
            continue;
        }

        for (j = 0; j < sh->nsteps; j++) {
            if (sh->steps[j].len == name[i].len
                && ngx_memcmp(sh->steps[j].name, name[i].data, name[i].len)
                   == 0)
            {
                break;
            }
        }

        if (j == sh->nsteps) {
            if (j == NGX_HTTP_CX_METRICS_STEPS) {
                continue;
            }

            ngx_memcpy(sh->steps[j].name, name[i].data, name[i].len);
            sh->steps[j].len = name[i].len;
            sh->steps[j].count = 0;
            sh->nsteps++;
        }

        mctx->map[i] = j;
    }

    return NGX_OK;
}


/* the current cycle's zone, NULL when the module is unused */

static ngx_http_cx_metrics_ctx_t *
ngx_http_cx_metrics_get(void)
{
    ngx_http_cx_main_conf_t    *cxmcf;
    ngx_http_cx_metrics_ctx_t  *mctx;

    if (ngx_http_cx_metrics_cycle == ngx_cycle) {
        return ngx_http_cx_metrics_current;
    }

    cxmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                                ngx_http_cx_module);

    if (cxmcf == NULL || cxmcf->metrics_zone == NULL) {
        return NULL;
    }

    mctx = cxmcf->metrics_zone->data;

    if (mctx->sh == NULL) {
        /* not yet made: asked again */
        return NULL;
    }

    ngx_http_cx_metrics_cycle = (ngx_cycle_t *) ngx_cycle;
    ngx_http_cx_metrics_current = mctx;

    return mctx;
}


#define ngx_http_cx_count(v, n)  (void) ngx_atomic_fetch_add(&(v), (n))


void
ngx_http_cx_metric_served(ngx_uint_t suggestions, ngx_uint_t shortcut)
{
    ngx_http_cx_metrics_ctx_t  *mctx;

    mctx = ngx_http_cx_metrics_get();
    if (mctx == NULL) {
        return;
    }

    if (suggestions) {
        ngx_http_cx_count(mctx->sh->served, suggestions);
    }

    if (shortcut) {
        ngx_http_cx_count(mctx->sh->shortcuts_served, 1);
    }
}


void
ngx_http_cx_metric_step(ngx_http_cx_ctx_t *ctx, ngx_uint_t variant,
    ngx_uint_t begins)
{
    ngx_http_cx_metrics_ctx_t  *mctx;

    mctx = ngx_http_cx_metrics_get();
    if (mctx == NULL || variant >= NGX_HTTP_CX_VARIANTS) {
        return;
    }

    if (ctx->declared && mctx->map
        && ctx->declared->metric < mctx->names->nelts)
    {
        ngx_http_cx_count(
            mctx->sh->steps[mctx->map[ctx->declared->metric]].count, 1);
    }

    if (begins) {
        ngx_http_cx_count(mctx->sh->variants[variant].journeys, 1);
    }
}


void
ngx_http_cx_metric_follow(ngx_uint_t variant, ngx_uint_t offered,
    ngx_uint_t shortcut_offered, ngx_uint_t followed)
{
    ngx_http_cx_metrics_ctx_t      *mctx;
    ngx_http_cx_variant_metrics_t  *vm;

    mctx = ngx_http_cx_metrics_get();
    if (mctx == NULL || variant >= NGX_HTTP_CX_VARIANTS) {
        return;
    }

    vm = &mctx->sh->variants[variant];

    if (offered) {
        ngx_http_cx_count(vm->offered, 1);
    }

    if (shortcut_offered) {
        ngx_http_cx_count(vm->shortcuts_offered, 1);
    }

    if (followed >= 1 && followed <= NGX_HTTP_CX_SUGGEST_MAX) {
        ngx_http_cx_count(vm->follows[followed - 1], 1);

    } else if (followed == NGX_HTTP_CX_FOLLOW_SHORTCUT) {
        ngx_http_cx_count(vm->shortcut_follows, 1);
    }
}


void
ngx_http_cx_metric_goal(ngx_uint_t variant, ngx_uint_t level,
    ngx_uint_t steps, ngx_uint_t assisted)
{
    ngx_uint_t                   i;
    ngx_http_cx_metrics_ctx_t   *mctx;
    ngx_http_cx_goal_metrics_t  *gm;

    mctx = ngx_http_cx_metrics_get();
    if (mctx == NULL || variant >= NGX_HTTP_CX_VARIANTS
        || level >= NGX_HTTP_CX_LEVELS)
    {
        return;
    }

    gm = &mctx->sh->variants[variant].levels[level];

    for (i = 0; i < NGX_HTTP_CX_GOAL_BUCKETS; i++) {
        if (steps <= ngx_http_cx_goal_le[i]) {
            break;
        }
    }

    ngx_http_cx_count(gm->buckets[i], 1);
    ngx_http_cx_count(gm->steps_sum, steps);
    ngx_http_cx_count(gm->steps_squares, steps * steps);
    ngx_http_cx_count(gm->goals, 1);

    if (assisted) {
        ngx_http_cx_count(gm->assisted, 1);
    }
}


/* a request that was a step, by $cx_status, in the log phase */

void
ngx_http_cx_metric_status(ngx_uint_t status)
{
    ngx_http_cx_metrics_ctx_t  *mctx;

    mctx = ngx_http_cx_metrics_get();
    if (mctx == NULL || status >= NGX_HTTP_CX_STATUSES) {
        return;
    }

    ngx_http_cx_count(mctx->sh->requests[status], 1);
}


void
ngx_http_cx_metric_redis(ngx_uint_t what)
{
    ngx_http_cx_metrics_ctx_t  *mctx;

    mctx = ngx_http_cx_metrics_get();
    if (mctx == NULL || what > NGX_HTTP_CX_M_RECONNECTS) {
        return;
    }

    ngx_http_cx_count(mctx->sh->redis[what], 1);
}


/* a batch acquired (1) or released (-1) */

void
ngx_http_cx_metric_in_flight(ngx_int_t n)
{
    ngx_http_cx_metrics_ctx_t  *mctx;

    mctx = ngx_http_cx_metrics_get();
    if (mctx == NULL) {
        return;
    }

    (void) ngx_atomic_fetch_add(&mctx->sh->in_flight, (ngx_atomic_int_t) n);
}


/* microseconds of a monotonic clock: a batch's send and final reply */

uint64_t
ngx_http_cx_metric_clock(void)
{
#if (NGX_HAVE_CLOCK_MONOTONIC)
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
#else
    struct timeval   tv;

    ngx_gettimeofday(&tv);

    return (uint64_t) tv.tv_sec * 1000000 + tv.tv_usec;
#endif
}


/* the caches' counters: NGX_HTTP_CX_M_MODEL_HIT.. */

void
ngx_http_cx_metric_cache(ngx_uint_t what, ngx_uint_t n)
{
    ngx_http_cx_metrics_ctx_t  *mctx;

    mctx = ngx_http_cx_metrics_get();
    if (mctx == NULL || what >= NGX_HTTP_CX_M_CACHE) {
        return;
    }

    ngx_http_cx_count(mctx->sh->cache[what], n);
}


void
ngx_http_cx_metric_round_trip(uint64_t sent)
{
    uint64_t                    now, us;
    ngx_uint_t                  i;
    ngx_http_cx_metrics_ctx_t  *mctx;

    mctx = ngx_http_cx_metrics_get();
    if (mctx == NULL) {
        return;
    }

    now = ngx_http_cx_metric_clock();
    us = (now > sent) ? now - sent : 0;

    for (i = 0; i < NGX_HTTP_CX_RTT_BUCKETS; i++) {
        if (us <= ngx_http_cx_rtt_le[i]) {
            break;
        }
    }

    ngx_http_cx_count(mctx->sh->rtt[i], 1);
    ngx_http_cx_count(mctx->sh->rtt_sum, (ngx_atomic_int_t) us);
    ngx_http_cx_count(mctx->sh->round_trips, 1);
}


static ngx_int_t
ngx_http_cx_metrics_handler(ngx_http_request_t *r)
{
    u_char                     *p, *last;
    size_t                      size;
    ngx_int_t                   rc;
    ngx_buf_t                  *b;
    ngx_str_t                   format, *name;
    ngx_uint_t                  i, json;
    ngx_chain_t                 out;
    ngx_http_cx_metrics_ctx_t  *mctx;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    mctx = ngx_http_cx_metrics_get();
    if (mctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_arg(r, (u_char *) "format", 6, &format) != NGX_OK) {
        ngx_str_null(&format);
    }

    json = 0;
    b = NULL;

    if (format.len == 4 && ngx_strncmp(format.data, "html", 4) == 0) {
        ngx_str_set(&r->headers_out.content_type, "text/html; charset=utf-8");

        b = ngx_calloc_buf(r->pool);
        if (b == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        b->pos = ngx_http_cx_dashboard_html.data;
        b->last = b->pos + ngx_http_cx_dashboard_html.len;
        b->memory = 1;

    } else if (format.len == 4 && ngx_strncmp(format.data, "json", 4) == 0) {
        ngx_str_set(&r->headers_out.content_type, "application/json");
        json = 1;

    } else if (format.len == 0
               || (format.len == 10
                   && ngx_strncmp(format.data, "prometheus", 10) == 0))
    {
        ngx_str_set(&r->headers_out.content_type,
                    "text/plain; version=0.0.4; charset=utf-8");

    } else {
        /* the format as sent is never echoed */
        ngx_str_set(&r->headers_out.content_type, "text/plain");

        b = ngx_calloc_buf(r->pool);
        if (b == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        b->pos = (u_char *) "unknown format, it must be \"json\", "
                            "\"html\" or \"prometheus\"\n";
        b->last = b->pos + ngx_strlen(b->pos);
        b->memory = 1;

        r->headers_out.status = NGX_HTTP_BAD_REQUEST;
    }

    if (b == NULL) {

        /* the funnel's names escaped (at most 6 bytes each) */

        size = NGX_HTTP_CX_METRICS_FIXED;
        name = mctx->names ? mctx->names->elts : NULL;

        for (i = 0; mctx->names && i < mctx->names->nelts; i++) {
            size += 6 * name[i].len + 128;
        }

        size += 6 * ngx_http_cx_metrics_other.len + 128;

        p = ngx_pnalloc(r->pool, size);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        b = ngx_calloc_buf(r->pool);
        if (b == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        last = p + size;

        b->pos = p;
        b->last = json ? ngx_http_cx_metrics_json(p, last, mctx)
                       : ngx_http_cx_metrics_prometheus(p, last, mctx);
        b->memory = 1;

        if (b->last == last) {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          "cx: metrics output exceeds %uz bytes", size);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (r->headers_out.status == 0) {
        r->headers_out.status = NGX_HTTP_OK;
    }

    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_length_n = b->last - b->pos;

    if (ngx_http_cx_add_header(r, &ngx_http_cx_cache_control,
                               &ngx_http_cx_no_store)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    if (b->last == b->pos) {
        return ngx_http_send_special(r, NGX_HTTP_LAST);
    }

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


#define ngx_http_cx_read(v)   ((ngx_atomic_uint_t) (v))


static u_char *
ngx_http_cx_metrics_family(u_char *p, u_char *last, const char *name,
    const char *type, const char *help)
{
    return ngx_slprintf(p, last, "# HELP %s %s\n# TYPE %s %s\n",
                        name, help, name, type);
}


/* a label value: \, " and newline escaped as the exposition format has */

static u_char *
ngx_http_cx_metrics_label(u_char *p, u_char *last, u_char *name, size_t len)
{
    if ((size_t) (last - p)
        <= len + ngx_http_cx_escape_label(NULL, name, len))
    {
        return last;
    }

    return (u_char *) ngx_http_cx_escape_label(p, name, len);
}


static u_char *
ngx_http_cx_metrics_prometheus(u_char *p, u_char *last,
    ngx_http_cx_metrics_ctx_t *mctx)
{
    char                           *v;
    ngx_uint_t                      i, j, k, e, n;
    ngx_atomic_int_t                gauge;
    ngx_atomic_uint_t               sum, other;
    ngx_http_cx_metrics_t          *sh;
    ngx_http_cx_step_metrics_t     *st;
    ngx_http_cx_goal_metrics_t     *gm;

    sh = mctx->sh;

    p = ngx_http_cx_metrics_family(p, last, "cx_requests_total", "counter",
            "Requests that were steps, by $cx_status.");

    for (i = 0; i < NGX_HTTP_CX_STATUSES; i++) {
        p = ngx_slprintf(p, last, "cx_requests_total{status=\"%s\"} %uA\n",
                         ngx_http_cx_metrics_status_names[i],
                         ngx_http_cx_read(
                             sh->requests[ngx_http_cx_metrics_statuses[i]]));
    }

    p = ngx_http_cx_metrics_family(p, last, "cx_suggestions_served_total",
            "counter", "Suggestions shown in a list.");
    p = ngx_slprintf(p, last, "cx_suggestions_served_total %uA\n",
                     ngx_http_cx_read(sh->served));

    p = ngx_http_cx_metrics_family(p, last, "cx_shortcuts_served_total",
            "counter", "Shortcuts shown.");
    p = ngx_slprintf(p, last, "cx_shortcuts_served_total %uA\n",
                     ngx_http_cx_read(sh->shortcuts_served));

    p = ngx_http_cx_metrics_family(p, last, "cx_redis_round_trips_total",
            "counter", "Batches of a step that got their final reply.");
    p = ngx_slprintf(p, last, "cx_redis_round_trips_total %uA\n",
                     ngx_http_cx_read(sh->round_trips));

    p = ngx_http_cx_metrics_family(p, last, "cx_redis_errors_total",
            "counter", "Error replies, and batches that failed or lost "
            "their connection.");
    p = ngx_slprintf(p, last, "cx_redis_errors_total %uA\n",
                     ngx_http_cx_read(sh->redis[NGX_HTTP_CX_M_ERRORS]));

    p = ngx_http_cx_metrics_family(p, last, "cx_redis_timeouts_total",
            "counter", "Requests that waited cx_timeout for Redis.");
    p = ngx_slprintf(p, last, "cx_redis_timeouts_total %uA\n",
                     ngx_http_cx_read(sh->redis[NGX_HTTP_CX_M_TIMEOUTS]));

    p = ngx_http_cx_metrics_family(p, last, "cx_redis_reconnects_total",
            "counter", "Connects to Redis after the first of a worker.");
    p = ngx_slprintf(p, last, "cx_redis_reconnects_total %uA\n",
                     ngx_http_cx_read(sh->redis[NGX_HTTP_CX_M_RECONNECTS]));

    gauge = (ngx_atomic_int_t) sh->in_flight;

    p = ngx_http_cx_metrics_family(p, last, "cx_redis_in_flight", "gauge",
            "Batches waiting for Redis, all workers.");
    p = ngx_slprintf(p, last, "cx_redis_in_flight %uA\n",
                     (ngx_atomic_uint_t) (gauge > 0 ? gauge : 0));

    p = ngx_http_cx_metrics_family(p, last, "cx_redis_round_trip_seconds",
            "histogram", "Time from a batch's send to its final reply.");

    n = 0;

    for (i = 0; i <= NGX_HTTP_CX_RTT_BUCKETS; i++) {
        n += ngx_http_cx_read(sh->rtt[i]);
        p = ngx_slprintf(p, last,
                         "cx_redis_round_trip_seconds_bucket{le=\"%s\"} %ui\n",
                         i < NGX_HTTP_CX_RTT_BUCKETS
                         ? ngx_http_cx_rtt_le_text[i] : "+Inf", n);
    }

    sum = ngx_http_cx_read(sh->rtt_sum);

    p = ngx_slprintf(p, last, "cx_redis_round_trip_seconds_sum %uA.%06uA\n"
                     "cx_redis_round_trip_seconds_count %ui\n",
                     sum / 1000000, sum % 1000000, n);

    p = ngx_http_cx_metrics_family(p, last,
            "cx_requests_without_round_trip_total", "counter",
            "Steps answered with no Redis round trip: nothing to wait for.");
    p = ngx_slprintf(p, last, "cx_requests_without_round_trip_total %uA\n",
                     ngx_http_cx_read(
                         sh->cache[NGX_HTTP_CX_M_NO_ROUND_TRIP]));

    p = ngx_http_cx_metrics_family(p, last, "cx_model_cache_total",
            "counter", "Steps that looked their successors up in "
            "cx_model_cache, by what they found.");

    for (i = 0; i < 3; i++) {
        p = ngx_slprintf(p, last, "cx_model_cache_total{result=\"%s\"} "
                         "%uA\n", ngx_http_cx_metrics_cache_results[i],
                         ngx_http_cx_read(
                             sh->cache[NGX_HTTP_CX_M_MODEL_HIT + i]));
    }

    p = ngx_http_cx_metrics_family(p, last,
            "cx_model_cache_refreshes_total", "counter",
            "Reads of a step's successors sent to refresh a stale entry.");
    p = ngx_slprintf(p, last, "cx_model_cache_refreshes_total %uA\n",
                     ngx_http_cx_read(sh->cache[NGX_HTTP_CX_M_REFRESHES]));

    p = ngx_http_cx_metrics_family(p, last,
            "cx_model_cache_evictions_total", "counter",
            "Entries freed to make room in a full cx_model_cache zone.");
    p = ngx_slprintf(p, last, "cx_model_cache_evictions_total %uA\n",
                     ngx_http_cx_read(sh->cache[NGX_HTTP_CX_M_EVICTIONS]));

    p = ngx_http_cx_metrics_family(p, last, "cx_customer_cache_total",
            "counter", "Steps of customers with an id that looked their "
            "copy up (cx_model_cache customers=), by what they found.");

    for (i = 0; i < 2; i++) {
        p = ngx_slprintf(p, last, "cx_customer_cache_total{result=\"%s\"} "
                         "%uA\n", i ? "miss" : "hit",
                         ngx_http_cx_read(
                             sh->cache[NGX_HTTP_CX_M_CUSTOMER_HIT + i]));
    }

    /* the funnel: a family without samples would have no lines */

    if (mctx->map) {
        p = ngx_http_cx_metrics_family(p, last, "cx_steps_total", "counter",
                "Steps recorded, by cx_step name as written (the funnel).");
    }

    other = 0;

    for (i = 0; mctx->map && i < mctx->names->nelts; i++) {
        e = mctx->map[i];

        if (e == NGX_HTTP_CX_METRICS_OTHER) {
            other = 1;
            continue;
        }

        st = &sh->steps[e];

        p = ngx_slprintf(p, last, "cx_steps_total{step=\"");
        p = ngx_http_cx_metrics_label(p, last, st->name, st->len);
        p = ngx_slprintf(p, last, "\"} %uA\n", ngx_http_cx_read(st->count));
    }

    if (other) {
        st = &sh->steps[NGX_HTTP_CX_METRICS_OTHER];
        p = ngx_slprintf(p, last, "cx_steps_total{step=\"%V\"} %uA\n",
                         &ngx_http_cx_metrics_other,
                         ngx_http_cx_read(st->count));
    }

    /* by variant */

#define ngx_http_cx_by_variant(name, type, help, field)                      \
    p = ngx_http_cx_metrics_family(p, last, name, type, help);               \
    for (i = 0; i < NGX_HTTP_CX_VARIANTS; i++) {                             \
        p = ngx_slprintf(p, last, name "{variant=\"%s\"} %uA\n",             \
                         ngx_http_cx_metrics_variants[i],                    \
                         ngx_http_cx_read(sh->variants[i].field));           \
    }

    ngx_http_cx_by_variant("cx_journeys_total", "counter",
                           "Journeys begun.", journeys)

    ngx_http_cx_by_variant("cx_offers_total", "counter",
                           "Steps taken after a list of suggestions.",
                           offered)

    p = ngx_http_cx_metrics_family(p, last, "cx_follows_total", "counter",
            "Steps to the suggestion of this rank in the list before.");

    for (i = 0; i < NGX_HTTP_CX_VARIANTS; i++) {
        for (j = 0; j < NGX_HTTP_CX_SUGGEST_MAX; j++) {
            p = ngx_slprintf(p, last,
                             "cx_follows_total{variant=\"%s\",rank=\"%ui\"} "
                             "%uA\n", ngx_http_cx_metrics_variants[i], j + 1,
                             ngx_http_cx_read(sh->variants[i].follows[j]));
        }
    }

    ngx_http_cx_by_variant("cx_shortcut_offers_total", "counter",
                           "Steps taken after a shortcut.",
                           shortcuts_offered)

    ngx_http_cx_by_variant("cx_shortcut_follows_total", "counter",
                           "Steps to the shortcut offered before.",
                           shortcut_follows)

#undef ngx_http_cx_by_variant

    /* by variant and level */

#define ngx_http_cx_by_level(name, help, field)                              \
    p = ngx_http_cx_metrics_family(p, last, name, "counter", help);          \
    for (i = 0; i < NGX_HTTP_CX_VARIANTS; i++) {                             \
        for (j = 0; j < NGX_HTTP_CX_LEVELS; j++) {                           \
            p = ngx_slprintf(p, last,                                        \
                             name "{variant=\"%s\",level=\"%V\"} %uA\n",     \
                             ngx_http_cx_metrics_variants[i],                \
                             &ngx_http_cx_level_names[j],                    \
                             ngx_http_cx_read(                               \
                                 sh->variants[i].levels[j].field));          \
        }                                                                    \
    }

    ngx_http_cx_by_level("cx_goals_total",
                         "Journeys that reached the goal, by the level at "
                         "their start.", goals)

    ngx_http_cx_by_level("cx_assisted_goals_total",
                         "Goals of journeys where a suggestion or the "
                         "shortcut was followed.", assisted)

    p = ngx_http_cx_metrics_family(p, last, "cx_steps_to_goal", "histogram",
            "Steps of a journey to the goal, the goal included.");

    for (i = 0; i < NGX_HTTP_CX_VARIANTS; i++) {
        v = ngx_http_cx_metrics_variants[i];

        for (j = 0; j < NGX_HTTP_CX_LEVELS; j++) {
            gm = &sh->variants[i].levels[j];
            n = 0;

            for (k = 0; k <= NGX_HTTP_CX_GOAL_BUCKETS; k++) {
                n += ngx_http_cx_read(gm->buckets[k]);

                p = ngx_slprintf(p, last, "cx_steps_to_goal_bucket{"
                                 "variant=\"%s\",level=\"%V\",le=\"", v,
                                 &ngx_http_cx_level_names[j]);

                if (k < NGX_HTTP_CX_GOAL_BUCKETS) {
                    p = ngx_slprintf(p, last, "%ui\"} %ui\n",
                                     ngx_http_cx_goal_le[k], n);

                } else {
                    p = ngx_slprintf(p, last, "+Inf\"} %ui\n", n);
                }
            }

            p = ngx_slprintf(p, last,
                             "cx_steps_to_goal_sum{variant=\"%s\","
                             "level=\"%V\"} %uA\n"
                             "cx_steps_to_goal_count{variant=\"%s\","
                             "level=\"%V\"} %ui\n",
                             v, &ngx_http_cx_level_names[j],
                             ngx_http_cx_read(gm->steps_sum),
                             v, &ngx_http_cx_level_names[j], n);
        }
    }

    ngx_http_cx_by_level("cx_steps_to_goal_squares_total",
                         "Sum of the squares of the steps to the goal.",
                         steps_squares)

#undef ngx_http_cx_by_level

    return p;
}


static u_char *
ngx_http_cx_metrics_json(u_char *p, u_char *last,
    ngx_http_cx_metrics_ctx_t *mctx)
{
    size_t                          len;
    ngx_uint_t                      i, j, k, e, n, other;
    ngx_atomic_int_t                gauge;
    ngx_atomic_uint_t               sum;
    ngx_http_cx_metrics_t          *sh;
    ngx_http_cx_step_metrics_t     *st;
    ngx_http_cx_variant_metrics_t  *vm;
    ngx_http_cx_goal_metrics_t     *gm;

    sh = mctx->sh;

    p = ngx_slprintf(p, last, "{\"version\":%d,\"since\":%T,\"requests\":{",
                     NGX_HTTP_CX_METRICS_VERSION, sh->since);

    for (i = 0; i < NGX_HTTP_CX_STATUSES; i++) {
        p = ngx_slprintf(p, last, "%s\"%s\":%uA", i ? "," : "",
                         ngx_http_cx_metrics_status_names[i],
                         ngx_http_cx_read(
                             sh->requests[ngx_http_cx_metrics_statuses[i]]));
    }

    gauge = (ngx_atomic_int_t) sh->in_flight;

    p = ngx_slprintf(p, last, "},\"suggestions_served\":%uA,"
                     "\"shortcuts_served\":%uA,"
                     "\"redis\":{\"round_trips\":%uA,\"errors\":%uA,"
                     "\"timeouts\":%uA,\"reconnects\":%uA,"
                     "\"in_flight\":%uA,\"round_trip_seconds\":{\"le\":[",
                     ngx_http_cx_read(sh->served),
                     ngx_http_cx_read(sh->shortcuts_served),
                     ngx_http_cx_read(sh->round_trips),
                     ngx_http_cx_read(sh->redis[NGX_HTTP_CX_M_ERRORS]),
                     ngx_http_cx_read(sh->redis[NGX_HTTP_CX_M_TIMEOUTS]),
                     ngx_http_cx_read(sh->redis[NGX_HTTP_CX_M_RECONNECTS]),
                     (ngx_atomic_uint_t) (gauge > 0 ? gauge : 0));

    for (i = 0; i < NGX_HTTP_CX_RTT_BUCKETS; i++) {
        p = ngx_slprintf(p, last, "%s%s", i ? "," : "",
                         ngx_http_cx_rtt_le_text[i]);
    }

    p = ngx_slprintf(p, last, "],\"buckets\":[");

    n = 0;

    for (i = 0; i <= NGX_HTTP_CX_RTT_BUCKETS; i++) {
        n += ngx_http_cx_read(sh->rtt[i]);
        p = ngx_slprintf(p, last, "%s%ui", i ? "," : "", n);
    }

    sum = ngx_http_cx_read(sh->rtt_sum);

    p = ngx_slprintf(p, last, "],\"sum\":%uA.%06uA,\"count\":%ui}},"
                     "\"requests_without_round_trip\":%uA,"
                     "\"model_cache\":{\"hit\":%uA,\"stale\":%uA,"
                     "\"miss\":%uA,\"refreshes\":%uA,\"evictions\":%uA},"
                     "\"customer_cache\":{\"hit\":%uA,\"miss\":%uA},"
                     "\"steps\":[", sum / 1000000, sum % 1000000, n,
                     ngx_http_cx_read(sh->cache[NGX_HTTP_CX_M_NO_ROUND_TRIP]),
                     ngx_http_cx_read(sh->cache[NGX_HTTP_CX_M_MODEL_HIT]),
                     ngx_http_cx_read(sh->cache[NGX_HTTP_CX_M_MODEL_STALE]),
                     ngx_http_cx_read(sh->cache[NGX_HTTP_CX_M_MODEL_MISS]),
                     ngx_http_cx_read(sh->cache[NGX_HTTP_CX_M_REFRESHES]),
                     ngx_http_cx_read(sh->cache[NGX_HTTP_CX_M_EVICTIONS]),
                     ngx_http_cx_read(sh->cache[NGX_HTTP_CX_M_CUSTOMER_HIT]),
                     ngx_http_cx_read(
                         sh->cache[NGX_HTTP_CX_M_CUSTOMER_MISS]));

    other = 0;
    n = 0;

    for (i = 0; mctx->map && i < mctx->names->nelts; i++) {
        e = mctx->map[i];

        if (e == NGX_HTTP_CX_METRICS_OTHER) {
            other = 1;
            continue;
        }

        st = &sh->steps[e];
        len = st->len + ngx_http_cx_escape_json(NULL, st->name, st->len);

        p = ngx_slprintf(p, last, "%s{\"step\":\"", n++ ? "," : "");

        if ((size_t) (last - p) <= len) {
            return last;
        }

        p = (u_char *) ngx_http_cx_escape_json(p, st->name, st->len);
        p = ngx_slprintf(p, last, "\",\"count\":%uA}",
                         ngx_http_cx_read(st->count));
    }

    if (other) {
        st = &sh->steps[NGX_HTTP_CX_METRICS_OTHER];
        p = ngx_slprintf(p, last, "%s{\"step\":\"%V\",\"count\":%uA}",
                         n ? "," : "", &ngx_http_cx_metrics_other,
                         ngx_http_cx_read(st->count));
    }

    p = ngx_slprintf(p, last, "],\"variants\":{");

    for (i = 0; i < NGX_HTTP_CX_VARIANTS; i++) {
        vm = &sh->variants[i];

        p = ngx_slprintf(p, last, "%s\"%s\":{\"journeys\":%uA,"
                         "\"offered\":%uA,\"follows\":[", i ? "," : "",
                         ngx_http_cx_metrics_variants[i],
                         ngx_http_cx_read(vm->journeys),
                         ngx_http_cx_read(vm->offered));

        for (j = 0; j < NGX_HTTP_CX_SUGGEST_MAX; j++) {
            p = ngx_slprintf(p, last, "%s%uA", j ? "," : "",
                             ngx_http_cx_read(vm->follows[j]));
        }

        p = ngx_slprintf(p, last, "],\"shortcuts_offered\":%uA,"
                         "\"shortcut_follows\":%uA,\"levels\":{",
                         ngx_http_cx_read(vm->shortcuts_offered),
                         ngx_http_cx_read(vm->shortcut_follows));

        for (j = 0; j < NGX_HTTP_CX_LEVELS; j++) {
            gm = &vm->levels[j];

            p = ngx_slprintf(p, last, "%s\"%V\":{\"goals\":%uA,"
                             "\"assisted\":%uA,\"steps_sum\":%uA,"
                             "\"steps_squares\":%uA,\"le\":[",
                             j ? "," : "", &ngx_http_cx_level_names[j],
                             ngx_http_cx_read(gm->goals),
                             ngx_http_cx_read(gm->assisted),
                             ngx_http_cx_read(gm->steps_sum),
                             ngx_http_cx_read(gm->steps_squares));

            for (k = 0; k < NGX_HTTP_CX_GOAL_BUCKETS; k++) {
                p = ngx_slprintf(p, last, "%s%ui", k ? "," : "",
                                 ngx_http_cx_goal_le[k]);
            }

            p = ngx_slprintf(p, last, "],\"buckets\":[");

            n = 0;

            for (k = 0; k <= NGX_HTTP_CX_GOAL_BUCKETS; k++) {
                n += ngx_http_cx_read(gm->buckets[k]);
                p = ngx_slprintf(p, last, "%s%ui", k ? "," : "", n);
            }

            p = ngx_slprintf(p, last, "]}");
        }

        p = ngx_slprintf(p, last, "}}");
    }

    return ngx_slprintf(p, last, "}}\n");
}
