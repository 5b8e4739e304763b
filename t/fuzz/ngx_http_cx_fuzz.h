
/*
 * Copyright (C) ngx_cx authors
 *
 * What the fuzz targets of t/fuzz/ share: nginx's globals set up once, a
 * location with representative cx_step definitions made through the
 * directive's own handler, a fake request with a pool of its own.
 * ngx_http_cx_fuzz_redis.h adds Redis's replies, ngx_http_cx_fuzz_out.h
 * what an answer must be.
 * scripts/fuzz builds each target with libFuzzer, ASan and UBSan, linked
 * against the objects of the sanitized nginx of scripts/build-asan.sh
 * (built with NGX_DEBUG_PALLOC: every pool allocation is its own malloc(),
 * so ASan sees the end of each buffer).
 */


#ifndef _NGX_HTTP_CX_FUZZ_H_INCLUDED_
#define _NGX_HTTP_CX_FUZZ_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <ngx_http_cx_module.h>


#define ngx_http_cx_fuzz_check(cond)                                         \
    if (!(cond)) {                                                           \
        fprintf(stderr, "fuzz: %s:%d: \"%s\" does not hold\n",              \
                __FILE__, __LINE__, #cond);                                  \
        abort();                                                             \
    }


/* the module, for its ctx_index and its conf's: 0 */

ngx_module_t  ngx_http_cx_module;

static ngx_log_t                ngx_http_cx_fuzz_log;
static ngx_cycle_t              ngx_http_cx_fuzz_cycle;
static ngx_open_file_t          ngx_http_cx_fuzz_log_file;
static ngx_pool_t              *ngx_http_cx_fuzz_conf_pool;
static ngx_http_cx_loc_conf_t   ngx_http_cx_fuzz_clcf;
static void                    *ngx_http_cx_fuzz_loc_conf[1];


/* the counters (ngx_http_cx_metrics.c): none here */

ngx_int_t
ngx_http_cx_metrics_declare(ngx_conf_t *cf, ngx_http_cx_step_t *step)
{
    return NGX_OK;
}

void ngx_http_cx_metric_served(ngx_uint_t suggestions, ngx_uint_t shortcut) {}
void ngx_http_cx_metric_step(ngx_http_cx_ctx_t *ctx, ngx_uint_t variant,
    ngx_uint_t begins) {}
void ngx_http_cx_metric_follow(ngx_uint_t variant, ngx_uint_t offered,
    ngx_uint_t shortcut_offered, ngx_uint_t followed) {}
void ngx_http_cx_metric_goal(ngx_uint_t variant, ngx_uint_t level,
    ngx_uint_t steps, ngx_uint_t assisted) {}
void ngx_http_cx_metric_status(ngx_uint_t status) {}
void ngx_http_cx_metric_redis(ngx_uint_t what) {}
void ngx_http_cx_metric_in_flight(ngx_int_t n) {}
uint64_t ngx_http_cx_metric_clock(void) { return 0; }
void ngx_http_cx_metric_round_trip(uint64_t sent) {}
void ngx_http_cx_metric_cache(ngx_uint_t what, ngx_uint_t n) {}


/* the customers' copies (ngx_http_cx_customer.c): none here */

ngx_int_t
ngx_http_cx_customer_get(ngx_http_cx_ctx_t *ctx,
    ngx_http_cx_srv_conf_t *cxscf, int64_t now)
{
    return NGX_DECLINED;
}

void ngx_http_cx_customer_put(ngx_http_cx_ctx_t *ctx,
    ngx_http_cx_customer_t *cu) {}

ngx_uint_t
ngx_http_cx_customer_count(ngx_http_cx_ctx_t *ctx, ngx_uint_t floor,
    ngx_uint_t count)
{
    return floor + count;
}

void ngx_http_cx_customer_drop(ngx_http_cx_srv_conf_t *cxscf,
    uint64_t hash) {}

ngx_uint_t ngx_http_cx_customer_unsent(ngx_http_cx_ctx_t *ctx) { return 0; }
ngx_uint_t ngx_http_cx_customer_unsend(ngx_http_cx_ctx_t *ctx, ngx_uint_t n)
{
    return 0;
}


/* the model cache (ngx_http_cx_cache.c): no zone here */

ngx_uint_t ngx_http_cx_cache_enabled(void) { return 0; }
uint64_t ngx_http_cx_cache_key(u_char kind, u_char *p, size_t len)
{
    return 0;
}
ngx_int_t ngx_http_cx_cache_get(uint64_t key, ngx_pool_t *pool,
    ngx_str_t *blob, ngx_http_cx_meta_t *meta)
{
    return NGX_DECLINED;
}
ngx_int_t ngx_http_cx_cache_put(uint64_t key, u_char *data, size_t len,
    ngx_http_cx_meta_t *meta)
{
    return NGX_DECLINED;
}
ngx_uint_t ngx_http_cx_cache_claim(uint64_t key, int64_t now) { return 1; }
void ngx_http_cx_cache_drop(uint64_t key) {}
void ngx_http_cx_cache_touch(uint64_t key) {}


/* cx_step name uri [url] [label=...], through the directive's handler */

static void
ngx_http_cx_fuzz_step(char *name, char *uri, char *url, char *label)
{
    ngx_str_t    *v;
    ngx_conf_t    cf;
    ngx_array_t  *args;

    args = ngx_array_create(ngx_http_cx_fuzz_conf_pool, 5, sizeof(ngx_str_t));
    ngx_http_cx_fuzz_check(args != NULL);

    v = ngx_array_push_n(args, 3);
    ngx_http_cx_fuzz_check(v != NULL);

    ngx_str_set(&v[0], "cx_step");
    v[1].data = (u_char *) name;
    v[1].len = ngx_strlen(name);
    v[2].data = (u_char *) uri;
    v[2].len = ngx_strlen(uri);

    if (url) {
        v = ngx_array_push(args);
        ngx_http_cx_fuzz_check(v != NULL);

        v->data = (u_char *) url;
        v->len = ngx_strlen(url);
    }

    if (label) {
        /* the directive's handler cuts "label=" off the argument */

        v = ngx_array_push(args);
        ngx_http_cx_fuzz_check(v != NULL);

        v->len = sizeof("label=") - 1 + ngx_strlen(label);
        v->data = ngx_pnalloc(ngx_http_cx_fuzz_conf_pool, v->len);
        ngx_http_cx_fuzz_check(v->data != NULL);

        ngx_sprintf(v->data, "label=%s", label);
    }

    ngx_memzero(&cf, sizeof(ngx_conf_t));
    cf.args = args;
    cf.pool = ngx_http_cx_fuzz_conf_pool;
    cf.temp_pool = ngx_http_cx_fuzz_conf_pool;
    cf.log = &ngx_http_cx_fuzz_log;

    ngx_http_cx_fuzz_check(ngx_http_cx_step(&cf, NULL, &ngx_http_cx_fuzz_clcf)
                           == NGX_CONF_OK);
}


/* steps of each kind: exact, exact with its own url, regexes with captures
 * in the name and the url, a name and a url that fill their limits; labels
 * of markup and quotes, with captures, too long once expanded */

static void
ngx_http_cx_fuzz_steps(void)
{
    ngx_http_cx_fuzz_step("home", "/", NULL, NULL);
    ngx_http_cx_fuzz_step("cart", "/cart", NULL,
                          "<b>\"Your\" cart</b> & 'more' 100% caf\xc3\xa9");
    ngx_http_cx_fuzz_step("checkout", "/checkout", "/checkout?from=cx&s=2",
                          "Checkout $$");
    ngx_http_cx_fuzz_step("help", "/help", NULL, NULL);
    ngx_http_cx_fuzz_step("search", "~*^/search", NULL, "Search <again>");
    ngx_http_cx_fuzz_step("cat:$1", "~^/c/([^/]+)", NULL, "Category $1 \"$1\"");
    ngx_http_cx_fuzz_step("item:$1", "~^/item/(.+)$", "/item/$1",
                          "<i>Item</i> '$1' & $");
    ngx_http_cx_fuzz_step("p:$2:$1", "~^/p/([a-z]*)/(.*?)(/x)?$",
                          "/p/$1/$2?q=$2", "$2$1$3$2$1$3$2$1$3");
    ngx_http_cx_fuzz_step("l:$1$1$1$1", "~^/l/(.*)", "/l/$1$1$1$1$1$1$1",
                          NULL);
    ngx_http_cx_fuzz_step(
        "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
        "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn:$1",
        "~^/n/(.{0,3})", NULL,
        "LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL"
        "LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL"
        "LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL"
        "LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL<$1>");
    ngx_http_cx_fuzz_step(
        "u:$1", "~^/u/(.*)$",
        "/uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu"
        "uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu"
        "uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu"
        "uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu/$1",
        NULL);
}


/* a location of those steps with help, levels and pace as a shop has
 * them; r->loc_conf of the targets that answer */

static void
ngx_http_cx_fuzz_location(void)
{
    ngx_http_cx_loc_conf_t  *clcf;

    clcf = &ngx_http_cx_fuzz_clcf;

    ngx_http_cx_fuzz_steps();

    clcf->enable = 1;
    clcf->suggest = 3;
    clcf->demote = 250;
    clcf->returning = 1;
    clcf->expert = 3;
    clcf->hurried = 5000;
    clcf->relaxed = 60000;

    ngx_str_set(&clcf->help.name, "help");
    ngx_str_set(&clcf->help_ref.name, "help");
    ngx_str_set(&clcf->help_ref.url, "/help");

    ngx_http_cx_fuzz_loc_conf[0] = clcf;
}


static void
ngx_http_cx_fuzz_init(void)
{
    ngx_pagesize = getpagesize();
    ngx_cacheline_size = NGX_CPU_CACHE_LINE;
    for (ngx_pagesize_shift = 0; (ngx_pagesize >> ngx_pagesize_shift) > 1;
         ngx_pagesize_shift++) { /* void */ }

    ngx_time_init();
    ngx_regex_init();

    /* alerts, such as a regex that hits PCRE2's match limit, stay quiet */

    ngx_http_cx_fuzz_log_file.fd = ngx_stderr;
    ngx_http_cx_fuzz_log.file = &ngx_http_cx_fuzz_log_file;
    ngx_http_cx_fuzz_log.log_level = NGX_LOG_EMERG;

    /* ngx_regex_malloc() logs to ngx_cycle->log */

    ngx_http_cx_fuzz_cycle.log = &ngx_http_cx_fuzz_log;
    ngx_cycle = &ngx_http_cx_fuzz_cycle;

    ngx_http_cx_fuzz_conf_pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE,
                                                 &ngx_http_cx_fuzz_log);
    ngx_http_cx_fuzz_check(ngx_http_cx_fuzz_conf_pool != NULL);
}


/* a request with what the module reads of it: pool, connection, log */

static ngx_http_request_t *
ngx_http_cx_fuzz_request(void **loc_conf)
{
    ngx_pool_t          *pool;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE, &ngx_http_cx_fuzz_log);
    ngx_http_cx_fuzz_check(pool != NULL);

    r = ngx_pcalloc(pool, sizeof(ngx_http_request_t));
    c = ngx_pcalloc(pool, sizeof(ngx_connection_t));
    ngx_http_cx_fuzz_check(r != NULL && c != NULL);

    c->log = &ngx_http_cx_fuzz_log;
    c->pool = pool;
    r->connection = c;
    r->pool = pool;
    r->main = r;
    r->loc_conf = loc_conf;

    /* the module's ctx, ctx_index 0 of the fake ngx_http_cx_module */
    r->ctx = ngx_pcalloc(pool, sizeof(void *));
    ngx_http_cx_fuzz_check(r->ctx != NULL);

    return r;
}


/* a copy of fuzz bytes in a malloc() of their exact size */

static u_char *
ngx_http_cx_fuzz_copy(const uint8_t *data, size_t size)
{
    u_char  *p;

    p = malloc(size ? size : 1);
    ngx_http_cx_fuzz_check(p != NULL);

    if (size) {
        ngx_memcpy(p, data, size);
    }

    return p;
}


#endif /* _NGX_HTTP_CX_FUZZ_H_INCLUDED_ */
