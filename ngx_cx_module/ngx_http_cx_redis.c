
/*
 * Copyright (C) ngx_cx authors
 *
 * One connection per worker to each Redis node, of the module's own
 * (ngx_http_cx_conn.c: nginx's connection, plain or TLS, hiredis's reply
 * parser); everything queued during one turn of the event loop goes out
 * in one write at its end.  Connect and request deadlines are nginx
 * timers.
 *
 * Every command goes through one callback of ours, with the command's
 * name and key kept in a queue of the commands in flight (replies come
 * in order): an error reply names them in the log, counts against the
 * request that sent it, and a connection that stops answering with
 * commands in flight is dropped and opened again.  A write that may
 * make its key (ngx_http_cx_redis_write()) is followed by the key's
 * EXPIRE when its reply says it did.
 *
 * With cx_redis_sentinel, the address is the primary that a sentinel
 * named (ngx_http_cx_sentinel.c): each reconnect asks the sentinels
 * again, a connection is usable once ROLE says "master", and a READONLY
 * reply (a primary turned replica under us) drops it.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <hiredis/hiredis.h>

#include <ngx_http_cx_module.h>


#define NGX_HTTP_CX_BACKOFF_MIN   50
#define NGX_HTTP_CX_BACKOFF_MAX   2000
#define NGX_HTTP_CX_CALM          1000    /* ms without faults: recovered */
#define NGX_HTTP_CX_STALL_MIN     100     /* ms, the least stall bound */
#define NGX_HTTP_CX_FLIGHT_MIN    1024    /* commands in flight, first */
#define NGX_HTTP_CX_FLIGHT_MAX    65536   /* and at most */
#define NGX_HTTP_CX_LOST          256     /* keys to expire, reconnected */
#define NGX_HTTP_CX_NODES_MAX     64      /* connections a worker holds */
#define NGX_HTTP_CX_MAP_EVERY     10000   /* ms, the cluster's slots asked */
#define NGX_HTTP_CX_MAP_SOON      100     /* ms, asked again at the soonest */
#define NGX_HTTP_CX_RESOLVE_EVERY 1000    /* ms, cx_redis ... resolve asked */
#define NGX_HTTP_CX_AGAIN_FIRST   5       /* ms, TRYAGAIN: sent again, */
#define NGX_HTTP_CX_AGAIN_MAX     200     /* doubling to this */
#define NGX_HTTP_CX_AGAIN_WRITES  5000    /* ms, a write's, at most */
#define NGX_HTTP_CX_AGAINS_MAX    1024    /* commands waiting at most */


/* a command in flight */
typedef struct {
    ngx_http_cx_redis_cb_pt     fn;
    ngx_http_cx_slot_t         *slot;
    ngx_str_t                  *ttl;            /* made: its EXPIRE */
    u_char                      cmd[16];
    u_char                      key[NGX_HTTP_CX_FOLLOW_MAX];
    u_char                      key_len;
    u_char                      made;           /* NGX_HTTP_CX_MADE_* */
    u_char                      moved;          /* redirected once */
    u_char                      read;           /* slot->reading */
    ngx_int_t                   made_n;
    double                      made_w;         /* MADE_SCORE: argv[2] */
    u_char                     *again;          /* cluster: the command, */
    size_t                      again_len;      /* to follow a redirect */
    ngx_uint_t                  hslot;          /* its key's slot */
    ngx_msec_t                  until;          /* TRYAGAIN: sent again */
    ngx_uint_t                  tries;          /* until then */
} ngx_http_cx_flight_t;


/* a cluster's command refused TRYAGAIN, waiting to be sent again */
typedef struct {
    ngx_event_t                 ev;
    ngx_queue_t                 queue;
    ngx_http_cx_flight_t        f;
} ngx_http_cx_again_t;


/* a key a write may have made when its connection was lost */
typedef struct {
    ngx_str_t                  *ttl;
    u_char                      key[NGX_HTTP_CX_FOLLOW_MAX];
    u_char                      key_len;
} ngx_http_cx_lost_t;


/* a connection to one Redis node, and what it has in flight */
typedef struct {
    ngx_http_cx_conn_t         *ac;
    void                       *session;        /* TLS, to resume */

    u_char                      host[NGX_SOCKADDR_STRLEN + 1];
    ngx_int_t                   port;           /* 0: unix socket */

    ngx_event_t                 reconnect;
    ngx_event_t                 connect_timer;
    ngx_event_t                 stall;          /* no reply in flight */
    ngx_msec_t                  backoff;
    ngx_msec_t                  last_reply;

    ngx_http_cx_flight_t       *flight;         /* a ring, by sequence */
    ngx_uint_t                  nflight;        /* its size, a power of 2 */
    ngx_uint_t                  head;           /* oldest in flight */
    ngx_uint_t                  tail;           /* next to send */

    ngx_http_cx_lost_t          lost[NGX_HTTP_CX_LOST];
    ngx_uint_t                  nlost;

    unsigned                    connected:1;    /* TCP */
    unsigned                    ready:1;        /* AUTH, SELECT answered */
    unsigned                    used:1;         /* cluster: slots, or asked */
} ngx_http_cx_node_t;


/* the worker's: its nodes, the request slots, the fault episode */
typedef struct {
    ngx_http_cx_main_conf_t    *conf;
    ngx_log_t                  *log;
    ngx_cycle_t                *cycle;

    ngx_http_cx_node_t         *node[NGX_HTTP_CX_NODES_MAX];
    ngx_uint_t                  nnodes;

    ngx_event_t                 calm;           /* no fault for a while */
    ngx_msec_t                  stall_after;

    ngx_http_cx_slot_t         *slots;
    ngx_http_cx_slot_t         *free;
    ngx_uint_t                  pending;

    u_char                     *buf;            /* a command, formatted */
    size_t                      buf_size;

    ngx_uint_t                  connects;       /* attempts, this cycle's */
    ngx_uint_t                  faults;         /* in this episode */
    ngx_msec_t                  fault_start;

    /* cx_redis_cluster: each slot's primary, as a node's index + 1 */
    u_char                      map[NGX_HTTP_CX_SLOTS];
    u_char                      next[NGX_HTTP_CX_SLOTS];    /* coming */
    ngx_event_t                 refresh;        /* CLUSTER SLOTS, again */
    ngx_http_cx_node_t         *asked;          /* that is in flight */
    ngx_msec_t                  asked_at;
    ngx_uint_t                  seed;           /* the next one to ask */
    ngx_queue_t                 agains;         /* TRYAGAIN, to send again */
    ngx_uint_t                  nagains;

    /* cx_redis ... resolve: the name asked again */
    ngx_event_t                 resolve;
    ngx_resolver_ctx_t         *resolving;      /* that is in flight */

    unsigned                    failing:1;
    unsigned                    unresolved:1;   /* the name's last answer */
    unsigned                    mapped:1;       /* a map came */
    unsigned                    stale:1;        /* ask again, once answered */
} ngx_http_cx_redis_t;


static ngx_http_cx_node_t *ngx_http_cx_redis_node(ngx_http_cx_redis_t *rd,
    u_char *host, size_t len, ngx_int_t port);
static void ngx_http_cx_redis_connect(ngx_http_cx_node_t *nd);
static void ngx_http_cx_redis_close(ngx_http_cx_node_t *nd);
static void ngx_http_cx_redis_schedule(ngx_http_cx_node_t *nd);
static ngx_http_cx_flight_t *ngx_http_cx_redis_kept(ngx_http_cx_node_t *nd,
    ngx_uint_t argc, ngx_str_t *argv);
static ngx_http_cx_flight_t *ngx_http_cx_redis_queue(ngx_http_cx_node_t *nd,
    ngx_http_cx_redis_cb_pt fn, ngx_http_cx_slot_t *slot, ngx_uint_t argc,
    ngx_str_t *argv);
static ngx_http_cx_flight_t *ngx_http_cx_redis_send(ngx_http_cx_node_t *nd,
    u_char *buf, size_t len);
static void ngx_http_cx_redis_reconnect_handler(ngx_event_t *ev);
static void ngx_http_cx_redis_connect_timeout(ngx_event_t *ev);
static void ngx_http_cx_redis_connected(ngx_http_cx_conn_t *ac,
    ngx_int_t status);
static void ngx_http_cx_redis_disconnected(ngx_http_cx_conn_t *ac,
    ngx_int_t status);
static void ngx_http_cx_redis_setup_reply(ngx_http_cx_conn_t *ac, void *r,
    void *privdata);
static void ngx_http_cx_redis_reply(ngx_http_cx_conn_t *ac, void *r,
    void *privdata);
static void ngx_http_cx_redis_made(ngx_http_cx_flight_t *f,
    redisReply *reply);
static void ngx_http_cx_redis_lost(ngx_http_cx_node_t *nd,
    ngx_http_cx_flight_t *f);
static void ngx_http_cx_redis_renew(ngx_http_cx_node_t *nd);
static void ngx_http_cx_redis_stall_handler(ngx_event_t *ev);
static void ngx_http_cx_redis_calm_handler(ngx_event_t *ev);
static void ngx_http_cx_redis_fault(ngx_http_cx_node_t *nd, const char *what,
    const char *detail);
static void ngx_http_cx_redis_cycle_cleanup(void *data);
static void ngx_http_cx_redis_resolve(ngx_event_t *ev);
static void ngx_http_cx_redis_resolved(ngx_resolver_ctx_t *ctx);

static ngx_http_cx_node_t *ngx_http_cx_cluster_route(ngx_uint_t argc,
    ngx_str_t *argv);
static ngx_http_cx_node_t *ngx_http_cx_cluster_node(u_char *host, size_t len,
    ngx_int_t port);
static void ngx_http_cx_cluster_ask(ngx_event_t *ev);
static void ngx_http_cx_cluster_resolved(ngx_resolver_ctx_t *ctx);
static void ngx_http_cx_cluster_stale(void);
static void ngx_http_cx_cluster_slots(ngx_http_cx_conn_t *ac, void *r,
    void *privdata);
static ngx_int_t ngx_http_cx_cluster_follow(ngx_http_cx_node_t *nd,
    ngx_http_cx_flight_t *f, redisReply *reply);
static ngx_int_t ngx_http_cx_cluster_again(ngx_http_cx_flight_t *f);
static void ngx_http_cx_cluster_retry(ngx_event_t *ev);
static void ngx_http_cx_cluster_give_up(ngx_http_cx_flight_t *f);
static ngx_int_t ngx_http_cx_numeric(u_char *host, size_t len);


static ngx_http_cx_redis_t  ngx_http_cx_redis;


ngx_int_t
ngx_http_cx_redis_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                i;
    ngx_pool_cleanup_t       *cln;
    ngx_http_cx_node_t       *nd;
    ngx_http_cx_redis_t      *rd;
    ngx_http_cx_main_conf_t  *cmcf;

    cmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_cx_module);

    if (cmcf == NULL || cmcf->on_file == NULL) {
        return NGX_OK;
    }

    rd = &ngx_http_cx_redis;

    if (rd->cycle == cycle) {
        return NGX_OK;
    }

    if (rd->cycle) {
        ngx_http_cx_redis_cycle_cleanup(rd->cycle);
    }

    ngx_memzero(rd, sizeof(ngx_http_cx_redis_t));

    rd->conf = cmcf;
    rd->log = cycle->log;
    rd->cycle = cycle;

    ngx_queue_init(&rd->agains);

    rd->slots = ngx_pcalloc(cycle->pool,
                            cmcf->max_pending * sizeof(ngx_http_cx_slot_t));
    if (rd->slots == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < cmcf->max_pending; i++) {
        rd->slots[i].next = rd->free;
        rd->free = &rd->slots[i];
    }

    /* in single process mode a reload frees the cycle without exit_process */

    cln = ngx_pool_cleanup_add(cycle->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_cx_redis_cycle_cleanup;
    cln->data = cycle;

    rd->calm.handler = ngx_http_cx_redis_calm_handler;
    rd->calm.data = rd;
    rd->calm.log = rd->log;
    rd->calm.cancelable = 1;

    /* a connection with commands in flight and no reply for this long */
    rd->stall_after = ngx_max(10 * cmcf->timeout, NGX_HTTP_CX_STALL_MIN);

    if (cmcf->sentinels) {
        /* the primary's address comes from a sentinel */
        if (ngx_http_cx_redis_node(rd, (u_char *) "", 0, 0) == NULL) {
            return NGX_ERROR;
        }

        return ngx_http_cx_sentinel_init_process(cycle);
    }

    if (cmcf->cluster) {
        /* the primaries come from a node's CLUSTER SLOTS */
        rd->refresh.handler = ngx_http_cx_cluster_ask;
        rd->refresh.data = rd;
        rd->refresh.log = rd->log;
        rd->refresh.cancelable = 1;

        rd->seed = (ngx_uint_t) ngx_pid % cmcf->cluster->nelts;

        ngx_http_cx_cluster_ask(&rd->refresh);

        return NGX_OK;
    }

    nd = ngx_http_cx_redis_node(rd, cmcf->redis_host.data,
                                cmcf->redis_host.len, cmcf->redis_port);
    if (nd == NULL) {
        return NGX_ERROR;
    }

    if (cmcf->redis_resolve.len) {
        /* connected once the resolver names an address */
        rd->resolve.handler = ngx_http_cx_redis_resolve;
        rd->resolve.data = rd;
        rd->resolve.log = rd->log;
        rd->resolve.cancelable = 1;

        ngx_http_cx_redis_resolve(&rd->resolve);

        return NGX_OK;
    }

    ngx_http_cx_redis_connect(nd);

    return NGX_OK;
}


/* a node of the worker's, new and unconnected: host is numeric, or a path */

static ngx_http_cx_node_t *
ngx_http_cx_redis_node(ngx_http_cx_redis_t *rd, u_char *host, size_t len,
    ngx_int_t port)
{
    ngx_http_cx_node_t  *nd;

    if (rd->nnodes == NGX_HTTP_CX_NODES_MAX || len > NGX_SOCKADDR_STRLEN) {
        return NULL;
    }

    nd = ngx_calloc(sizeof(ngx_http_cx_node_t), rd->log);
    if (nd == NULL) {
        return NULL;
    }

    nd->nflight = NGX_HTTP_CX_FLIGHT_MIN;
    nd->flight = ngx_alloc(nd->nflight * sizeof(ngx_http_cx_flight_t),
                           rd->log);
    if (nd->flight == NULL) {
        ngx_free(nd);
        return NULL;
    }

    ngx_cpystrn(nd->host, host, len + 1);
    nd->port = port;

    nd->reconnect.handler = ngx_http_cx_redis_reconnect_handler;
    nd->reconnect.data = nd;
    nd->reconnect.log = rd->log;
    nd->reconnect.cancelable = 1;

    nd->connect_timer.handler = ngx_http_cx_redis_connect_timeout;
    nd->connect_timer.data = nd;
    nd->connect_timer.log = rd->log;
    nd->connect_timer.cancelable = 1;

    nd->stall.handler = ngx_http_cx_redis_stall_handler;
    nd->stall.data = nd;
    nd->stall.log = rd->log;
    nd->stall.cancelable = 1;

    nd->backoff = NGX_HTTP_CX_BACKOFF_MIN;

    rd->node[rd->nnodes++] = nd;

    return nd;
}


void
ngx_http_cx_redis_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_cx_redis_cycle_cleanup(cycle);
}


static void
ngx_http_cx_redis_cycle_cleanup(void *data)
{
    ngx_cycle_t *cycle = data;

    ngx_uint_t            i;
    ngx_queue_t          *q;
    ngx_http_cx_node_t   *nd;
    ngx_http_cx_again_t  *ag;
    ngx_http_cx_redis_t  *rd;

    rd = &ngx_http_cx_redis;

    if (rd->cycle != cycle) {
        /* an old cycle freed late, after the worker moved on */
        return;
    }

    if (rd->calm.timer_set) {
        ngx_del_timer(&rd->calm);
    }

    if (rd->refresh.timer_set) {
        ngx_del_timer(&rd->refresh);
    }

    if (rd->resolve.timer_set) {
        ngx_del_timer(&rd->resolve);
    }

    if (rd->resolving) {
        ngx_resolve_name_done(rd->resolving);
        rd->resolving = NULL;
    }

    /* what the closes below answer NULL asks for no map */
    rd->refresh.handler = NULL;

    for (i = 0; i < rd->nnodes; i++) {
        nd = rd->node[i];

        if (nd->reconnect.timer_set) {
            ngx_del_timer(&nd->reconnect);
        }

        ngx_http_cx_redis_close(nd);
    }

    /* the commands to send again: answered NULL, as those in flight */

    while (!ngx_queue_empty(&rd->agains)) {
        q = ngx_queue_head(&rd->agains);
        ag = ngx_queue_data(q, ngx_http_cx_again_t, queue);

        ngx_queue_remove(q);
        rd->nagains--;

        if (ag->ev.timer_set) {
            ngx_del_timer(&ag->ev);
        }

        ngx_http_cx_cluster_give_up(&ag->f);
        ngx_free(ag);
    }

    ngx_http_cx_sentinel_cleanup();

    for (i = 0; i < rd->nnodes; i++) {
        ngx_http_cx_conn_forget(&rd->node[i]->session);
        ngx_free(rd->node[i]->flight);
        ngx_free(rd->node[i]);
    }

    rd->nnodes = 0;

    if (rd->buf) {
        ngx_free(rd->buf);
        rd->buf = NULL;
    }

    rd->cycle = NULL;
    rd->free = NULL;
    rd->slots = NULL;
}


static void
ngx_http_cx_redis_connect(ngx_http_cx_node_t *nd)
{
    u_char                    db[NGX_INT_T_LEN];
    ngx_str_t                 argv[3];
    ngx_http_cx_conn_t       *ac;
    ngx_http_cx_redis_t      *rd;
    ngx_http_cx_main_conf_t  *cmcf;

    rd = &ngx_http_cx_redis;
    cmcf = rd->conf;

    if (rd->connects++) {
        ngx_http_cx_metric_redis(NGX_HTTP_CX_M_RECONNECTS);
    }

    /*
     * The address is a numeric one, resolved at configuration time or
     * checked when a sentinel named it: no resolver is asked here.
     */

    ac = ngx_http_cx_conn_open(nd->host, nd->port,
                               cmcf->redis_tls ? &cmcf->tls : NULL,
                               &nd->session, rd->log);

    if (ac == NULL) {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "cx: redis context allocation failed");
        ngx_http_cx_redis_schedule(nd);
        return;
    }

    if (ac->err) {
        ngx_http_cx_redis_fault(nd, "connect failed", ac->errstr);
        ngx_http_cx_conn_free(ac);
        ngx_http_cx_redis_schedule(nd);
        return;
    }

    if (nd->head != nd->tail) {
        ngx_log_error(NGX_LOG_ALERT, rd->log, 0,
                      "cx: %ui redis commands of a closed connection",
                      nd->tail - nd->head);

        for ( /* void */ ; nd->head != nd->tail; nd->head++) {
            if (nd->flight[nd->head & (nd->nflight - 1)].again) {
                ngx_free(nd->flight[nd->head & (nd->nflight - 1)].again);
            }
        }
    }

    ac->data = nd;

    nd->ac = ac;
    nd->connected = 0;
    nd->ready = 0;

    ac->connected = ngx_http_cx_redis_connected;
    ac->disconnected = ngx_http_cx_redis_disconnected;

    /*
     * The connection is usable once its setup is answered: AUTH, SELECT,
     * or a PING when there is nothing to set up.  Only then does the
     * reconnect backoff start again from its least.
     */

    if (cmcf->redis_user.len) {
        /* an ACL user, Redis 6 */
        ngx_str_set(&argv[0], "AUTH");
        argv[1] = cmcf->redis_user;
        argv[2] = cmcf->redis_password;

        (void) ngx_http_cx_redis_queue(nd, ngx_http_cx_redis_setup_reply,
                                       NULL, 3, argv);

    } else if (cmcf->redis_password.len) {
        ngx_str_set(&argv[0], "AUTH");
        argv[1] = cmcf->redis_password;

        (void) ngx_http_cx_redis_queue(nd, ngx_http_cx_redis_setup_reply,
                                       NULL, 2, argv);
    }

    if (cmcf->redis_db) {
        ngx_str_set(&argv[0], "SELECT");
        argv[1].data = db;
        argv[1].len = ngx_sprintf(db, "%i", cmcf->redis_db) - db;

        (void) ngx_http_cx_redis_queue(nd, ngx_http_cx_redis_setup_reply,
                                       NULL, 2, argv);
    }

    if (cmcf->sentinels) {
        /* a sentinel may name a primary that is one no longer */
        ngx_str_set(&argv[0], "ROLE");

        (void) ngx_http_cx_redis_queue(nd, ngx_http_cx_redis_setup_reply,
                                       NULL, 1, argv);

    } else if (cmcf->redis_password.len == 0 && cmcf->redis_db == 0) {
        ngx_str_set(&argv[0], "PING");

        (void) ngx_http_cx_redis_queue(nd, ngx_http_cx_redis_setup_reply,
                                       NULL, 1, argv);
    }

    ngx_add_timer(&nd->connect_timer, cmcf->connect_timeout);
}


static void
ngx_http_cx_redis_close(ngx_http_cx_node_t *nd)
{
    ngx_http_cx_conn_t  *ac;

    if (nd->connect_timer.timer_set) {
        ngx_del_timer(&nd->connect_timer);
    }

    if (nd->stall.timer_set) {
        ngx_del_timer(&nd->stall);
    }

    ac = nd->ac;

    if (ac == NULL) {
        return;
    }

    /* pending callbacks run now with a NULL reply and release their slots */

    nd->ac = NULL;
    nd->connected = 0;
    nd->ready = 0;

    ngx_http_cx_conn_free(ac);
}


static void
ngx_http_cx_redis_schedule(ngx_http_cx_node_t *nd)
{
    if (ngx_http_cx_redis.cycle == NULL
        || ngx_exiting || ngx_terminate || ngx_quit)
    {
        return;
    }

    if (ngx_http_cx_redis.conf->cluster) {
        /* a node lost: are its slots another's now? */
        ngx_http_cx_cluster_stale();

        if (!nd->used) {
            return;
        }
    }

    if (!nd->reconnect.timer_set) {
        ngx_add_timer(&nd->reconnect, nd->backoff);
    }

    nd->backoff = ngx_min(nd->backoff * 2, NGX_HTTP_CX_BACKOFF_MAX);
}


static void
ngx_http_cx_redis_reconnect_handler(ngx_event_t *ev)
{
    ngx_http_cx_node_t *nd = ev->data;

    if (nd->ac || (ngx_http_cx_redis.conf->cluster && !nd->used)) {
        return;
    }

    if (ngx_http_cx_redis.conf->sentinels) {
        /* which primary, again: it may be another one now */
        ngx_http_cx_sentinel_ask(1);
        return;
    }

    /*
     * cx_redis ... resolve: the name is asked again, and the connection
     * made to the address known meanwhile; an answer that names another
     * moves it there.
     */

    if (ngx_http_cx_redis.conf->redis_resolve.len) {
        ngx_http_cx_redis_resolve(NULL);
    }

    if (nd->ac == NULL && nd->host[0]) {
        ngx_http_cx_redis_connect(nd);
    }
}


/*
 * cx_redis host[:port] resolve: every NGX_HTTP_CX_RESOLVE_EVERY ms, and
 * at each reconnect, the name is asked of the http block's resolver,
 * which answers from its cache until the record's TTL (or its valid=)
 * has passed.  ev is NULL when a reconnect asks.
 */

static void
ngx_http_cx_redis_resolve(ngx_event_t *ev)
{
    ngx_resolver_ctx_t       *ctx;
    ngx_http_cx_redis_t      *rd;
    ngx_http_cx_main_conf_t  *cmcf;

    rd = &ngx_http_cx_redis;
    cmcf = rd->conf;

    if (rd->cycle == NULL || ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    if (ev && !rd->resolve.timer_set) {
        ngx_add_timer(&rd->resolve, NGX_HTTP_CX_RESOLVE_EVERY);
    }

    if (rd->resolving) {
        return;
    }

    ctx = ngx_resolve_start(cmcf->resolver, NULL);

    if (ctx == NULL || ctx == NGX_NO_RESOLVER) {
        ngx_log_error(NGX_LOG_ALERT, rd->log, 0,
                      "cx: redis \"%V\" could not start resolving",
                      &cmcf->redis_name);
        return;
    }

    ctx->name = cmcf->redis_resolve;
    ctx->handler = ngx_http_cx_redis_resolved;
    ctx->data = rd;
    ctx->timeout = cmcf->resolver_timeout;
    ctx->cancelable = 1;

    /* a cached answer calls the handler before ngx_resolve_name() returns */

    rd->resolving = ctx;

    if (ngx_resolve_name(ctx) != NGX_OK) {
        /* ctx is freed */
        rd->resolving = NULL;
    }
}


/*
 * The name's answer: an address that is among those answered is kept,
 * else the connection moves to the first answered (nginx's resolver
 * rotates them); commands in flight on the old one are answered NULL,
 * their requests served without suggestions.  A name that does not
 * resolve keeps the address it had: one line until it resolves again.
 */

static void
ngx_http_cx_redis_resolved(ngx_resolver_ctx_t *ctx)
{
    u_char                    host[NGX_SOCKADDR_STRLEN + 1];
    size_t                    len;
    ngx_uint_t                i;
    ngx_http_cx_node_t       *nd;
    ngx_http_cx_redis_t      *rd;
    ngx_http_cx_main_conf_t  *cmcf;

    rd = ctx->data;
    cmcf = rd->conf;
    nd = rd->node[0];

    if (ctx->state != NGX_OK || ctx->naddrs == 0) {
        if (nd->host[0] == '\0') {
            /* no address yet: the module's fault episode */
            ngx_http_cx_redis_episode(0, "could not be resolved",
                                      ngx_resolver_strerror(ctx->state));
            goto done;
        }

        if (!rd->unresolved) {
            rd->unresolved = 1;

            ngx_log_error(NGX_LOG_WARN, rd->log, 0,
                          "cx: redis \"%V\" could not be resolved "
                          "(%i: %s), keeping %s:%i", &cmcf->redis_name,
                          ctx->state, ngx_resolver_strerror(ctx->state),
                          nd->host, nd->port);
        }

        goto done;
    }

    if (rd->unresolved) {
        rd->unresolved = 0;

        ngx_log_error(NGX_LOG_NOTICE, rd->log, 0,
                      "cx: redis \"%V\" resolves again",
                      &cmcf->redis_name);
    }

    len = 0;

    for (i = 0; i < ctx->naddrs; i++) {
        len = ngx_sock_ntop(ctx->addrs[i].sockaddr, ctx->addrs[i].socklen,
                            host, NGX_SOCKADDR_STRLEN, 0);

        if (ngx_strlen(nd->host) == len
            && ngx_strncmp(nd->host, host, len) == 0)
        {
            goto done;
        }
    }

    len = ngx_sock_ntop(ctx->addrs[0].sockaddr, ctx->addrs[0].socklen,
                        host, NGX_SOCKADDR_STRLEN, 0);
    host[len] = '\0';

    if (nd->host[0]) {
        ngx_log_error(NGX_LOG_NOTICE, rd->log, 0,
                      "cx: redis \"%V\" is %s:%i now, was %s:%i",
                      &cmcf->redis_name, host, nd->port, nd->host, nd->port);

    } else {
        ngx_log_error(NGX_LOG_NOTICE, rd->log, 0,
                      "cx: redis \"%V\" is %s:%i",
                      &cmcf->redis_name, host, nd->port);
    }

    ngx_http_cx_redis_close(nd);

    ngx_cpystrn(nd->host, host, len + 1);

    if (nd->reconnect.timer_set) {
        ngx_del_timer(&nd->reconnect);
    }

    nd->backoff = NGX_HTTP_CX_BACKOFF_MIN;

    ngx_http_cx_redis_connect(nd);

done:

    ngx_resolve_name_done(ctx);
    rd->resolving = NULL;
}


/*
 * A host of cx_redis_sentinel or cx_redis_cluster ... resolve: its name
 * asked of the http block's resolver.  *resolving is the question in
 * flight, NULL again once handler has run, which may be before this
 * returns (an answer in the resolver's cache).
 */

ngx_int_t
ngx_http_cx_redis_ask_name(ngx_http_cx_addr_t *a,
    ngx_resolver_handler_pt handler, ngx_resolver_ctx_t **resolving)
{
    ngx_resolver_ctx_t       *ctx;
    ngx_http_cx_main_conf_t  *cmcf;

    cmcf = ngx_http_cx_redis.conf;

    ctx = ngx_resolve_start(cmcf->resolver, NULL);

    if (ctx == NULL || ctx == NGX_NO_RESOLVER) {
        ngx_log_error(NGX_LOG_ALERT, ngx_http_cx_redis.log, 0,
                      "cx: redis \"%V\" could not start resolving",
                      &a->name);
        return NGX_ERROR;
    }

    ctx->name = a->name;
    ctx->handler = handler;
    ctx->data = a;
    ctx->timeout = cmcf->resolver_timeout;
    ctx->cancelable = 1;

    *resolving = ctx;

    if (ngx_resolve_name(ctx) != NGX_OK) {
        /* ctx is freed */
        *resolving = NULL;
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* the name's answer: its first address is the host's, NGX_OK; or none */

ngx_int_t
ngx_http_cx_redis_answered(ngx_resolver_ctx_t *ctx, ngx_http_cx_addr_t *a)
{
    size_t  len;

    if (ctx->state != NGX_OK || ctx->naddrs == 0) {
        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ngx_http_cx_redis.log, 0,
                       "cx: redis \"%V\" could not be resolved (%s), "
                       "keeping \"%V\"", &a->name,
                       ngx_resolver_strerror(ctx->state), &a->host);
        return NGX_DECLINED;
    }

    len = ngx_sock_ntop(ctx->addrs[0].sockaddr, ctx->addrs[0].socklen,
                        a->host.data, NGX_SOCKADDR_STRLEN, 0);

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ngx_http_cx_redis.log, 0,
                   "cx: redis \"%V\" is %*s", &a->name, len, a->host.data);

    a->host.len = len;

    return NGX_OK;
}


/*
 * A sentinel named the primary: connect to it, unless this worker is
 * connected or connecting to it already.  A new primary (a failover,
 * +switch-master) closes the connection to the old one: its commands
 * in flight are answered NULL and their requests served without
 * suggestions.
 */

void
ngx_http_cx_redis_primary(u_char *host, size_t len, ngx_int_t port,
    ngx_http_cx_addr_t *by)
{
    ngx_http_cx_node_t   *nd;
    ngx_http_cx_redis_t  *rd;

    rd = &ngx_http_cx_redis;

    if (rd->cycle == NULL || rd->nnodes == 0 || len > NGX_SOCKADDR_STRLEN) {
        return;
    }

    nd = rd->node[0];

    if (nd->port == port
        && ngx_strlen(nd->host) == len
        && ngx_strncmp(nd->host, host, len) == 0)
    {
        if (nd->ac == NULL) {
            if (nd->reconnect.timer_set) {
                ngx_del_timer(&nd->reconnect);
            }

            ngx_http_cx_redis_connect(nd);
        }

        return;
    }

    ngx_log_error(NGX_LOG_NOTICE, rd->log, 0,
                  "cx: redis \"%V\" primary is %*s:%i, by sentinel %V:%i",
                  &rd->conf->redis_name, len, host, port, &by->host,
                  by->port);

    ngx_http_cx_redis_close(nd);

    ngx_cpystrn(nd->host, host, len + 1);
    nd->port = port;

    if (nd->reconnect.timer_set) {
        ngx_del_timer(&nd->reconnect);
    }

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    ngx_http_cx_redis_connect(nd);
}


/* no sentinel named the primary: asked again after the backoff */

void
ngx_http_cx_redis_retry(const char *what, const char *detail)
{
    ngx_http_cx_redis_t  *rd;

    rd = &ngx_http_cx_redis;

    if (rd->cycle == NULL || rd->nnodes == 0) {
        return;
    }

    ngx_http_cx_redis_episode(0, what, detail);
    ngx_http_cx_redis_schedule(rd->node[0]);
}


static void
ngx_http_cx_redis_connect_timeout(ngx_event_t *ev)
{
    ngx_http_cx_node_t *nd = ev->data;

    ngx_http_cx_redis_fault(nd, "connect timed out", NULL);

    ngx_http_cx_redis_close(nd);
    ngx_http_cx_redis_schedule(nd);
}


static void
ngx_http_cx_redis_connected(ngx_http_cx_conn_t *ac, ngx_int_t status)
{
    ngx_http_cx_node_t  *nd = ac->data;

    if (nd == NULL || ac != nd->ac) {
        return;
    }

    if (nd->connect_timer.timer_set) {
        ngx_del_timer(&nd->connect_timer);
    }

    if (status != NGX_OK) {
        /* the connection is freed after this callback returns */
        ngx_http_cx_redis_fault(nd, "connect failed", ac->errstr);
        nd->ac = NULL;
        ngx_http_cx_redis_schedule(nd);
        return;
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, ngx_http_cx_redis.log, 0,
                   "cx: redis connected");

    nd->connected = 1;
    nd->last_reply = ngx_current_msec;

    if (nd->head != nd->tail && !nd->stall.timer_set) {
        ngx_add_timer(&nd->stall, ngx_http_cx_redis.stall_after);
    }
}


static void
ngx_http_cx_redis_disconnected(ngx_http_cx_conn_t *ac, ngx_int_t status)
{
    ngx_http_cx_node_t  *nd = ac->data;

    if (nd == NULL || ac != nd->ac) {
        /* our own ngx_http_cx_conn_free(), nothing to do */
        return;
    }

    ngx_http_cx_redis_fault(nd, "connection lost",
                            ac->err ? ac->errstr : "closed by server");

    if (nd->stall.timer_set) {
        ngx_del_timer(&nd->stall);
    }

    nd->ac = NULL;
    nd->connected = 0;
    nd->ready = 0;

    ngx_http_cx_redis_schedule(nd);
}


static void
ngx_http_cx_redis_setup_reply(ngx_http_cx_conn_t *ac, void *r,
    void *privdata)
{
    redisReply  *reply = r;

    ngx_http_cx_node_t  *nd = ac->data;

    if (reply == NULL || nd == NULL || ac != nd->ac) {
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        /* logged by ngx_http_cx_redis_reply() */
        ngx_http_cx_conn_disconnect(ac);
        return;
    }

    if (reply->type == REDIS_REPLY_ARRAY
        && (reply->elements == 0
            || reply->element[0]->type != REDIS_REPLY_STRING
            || reply->element[0]->len != 6
            || ngx_strncmp(reply->element[0]->str, "master", 6) != 0))
    {
        /* ROLE: a replica, or what a sentinel no longer names */
        ngx_http_cx_redis_episode(0, "is not the primary",
                                  reply->elements
                                  && reply->element[0]->type
                                     == REDIS_REPLY_STRING
                                  ? reply->element[0]->str : NULL);
        ngx_http_cx_conn_disconnect(ac);
        return;
    }

    /* the last setup reply: no other is left in flight */

    if (!nd->ready
        && (nd->head == nd->tail
            || nd->flight[nd->head & (nd->nflight - 1)].fn
               != ngx_http_cx_redis_setup_reply))
    {
        nd->ready = 1;
        nd->backoff = NGX_HTTP_CX_BACKOFF_MIN;

        ngx_http_cx_redis_renew(nd);

        if (ngx_http_cx_redis.conf->cluster
            && (!ngx_http_cx_redis.mapped || ngx_http_cx_redis.stale))
        {
            ngx_http_cx_cluster_stale();
        }
    }
}


/*
 * Logs once per episode: the first fault after success, and the return
 * to success once no fault has come for NGX_HTTP_CX_CALM ms, never one
 * line per request nor a pair per short pause.
 */

void
ngx_http_cx_redis_episode(ngx_uint_t ok, const char *what, const char *detail)
{
    ngx_http_cx_redis_t  *rd;

    rd = &ngx_http_cx_redis;

    if (rd->conf == NULL) {
        return;
    }

    if (ok) {
        if (rd->failing && !rd->calm.timer_set) {
            ngx_add_timer(&rd->calm, NGX_HTTP_CX_CALM);
        }

        return;
    }

    if (rd->calm.timer_set) {
        ngx_del_timer(&rd->calm);
    }

    rd->faults++;

    if (rd->failing) {
        return;
    }

    rd->failing = 1;
    rd->faults = 1;
    rd->fault_start = ngx_current_msec;

    ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                  "cx: redis \"%V\" %s%s%s, serving pages without "
                  "suggestions", &rd->conf->redis_name, what,
                  detail ? ": " : "", detail ? detail : "");
}


/* a node's fault, the episode's if first: on a cluster, naming the node */

static void
ngx_http_cx_redis_fault(ngx_http_cx_node_t *nd, const char *what,
    const char *detail)
{
    u_char  buf[NGX_SOCKADDR_STRLEN + NGX_INT_T_LEN + 256], *p;

    if (ngx_http_cx_redis.conf->cluster == NULL) {
        ngx_http_cx_redis_episode(0, what, detail);
        return;
    }

    p = ngx_snprintf(buf, sizeof(buf) - 1, "%s:%i%s%s", nd->host, nd->port,
                     detail ? ": " : "", detail ? detail : "");
    *p = '\0';

    ngx_http_cx_redis_episode(0, what, (char *) buf);
}


static void
ngx_http_cx_redis_calm_handler(ngx_event_t *ev)
{
    ngx_http_cx_redis_t *rd = ev->data;

    if (!rd->failing) {
        return;
    }

    rd->failing = 0;

    ngx_log_error(NGX_LOG_NOTICE, rd->log, 0,
                  "cx: redis \"%V\" answers again, %ui faults in %M ms",
                  &rd->conf->redis_name, rd->faults,
                  ngx_current_msec - rd->fault_start);
}


ngx_http_cx_slot_t *
ngx_http_cx_redis_acquire(ngx_log_t *log, ngx_uint_t *status)
{
    ngx_http_cx_node_t   *nd;
    ngx_http_cx_slot_t   *slot;
    ngx_http_cx_redis_t  *rd;

    rd = &ngx_http_cx_redis;

    if (rd->cycle != ngx_cycle) {
        /* single process mode after a reload */
        if (ngx_http_cx_redis_init_process((ngx_cycle_t *) ngx_cycle)
            != NGX_OK)
        {
            *status = NGX_HTTP_CX_ERROR;
            return NULL;
        }
    }

    nd = rd->nnodes ? rd->node[0] : NULL;

    if (rd->conf->cluster) {
        /* each command finds its node up or down: ngx_http_cx_cmd() */
        nd = rd->mapped ? nd : NULL;

    } else if (nd && (nd->ac == NULL || (!nd->ready && rd->failing))) {
        nd = NULL;
    }

    if (nd == NULL) {
        /* down: do not make the request wait for a connect */
        ngx_http_cx_metric_redis(NGX_HTTP_CX_M_ERRORS);
        *status = NGX_HTTP_CX_ERROR;
        return NULL;
    }

    slot = rd->free;

    if (slot == NULL) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, log, 0,
                       "cx: %ui requests in flight, bypass", rd->pending);
        *status = NGX_HTTP_CX_BYPASS;
        return NULL;
    }

    rd->free = slot->next;
    rd->pending++;

    ngx_http_cx_metric_in_flight(1);

    slot->next = NULL;
    slot->ctx = NULL;

    return slot;
}


void
ngx_http_cx_redis_release(ngx_http_cx_slot_t *slot)
{
    ngx_http_cx_redis_t  *rd;

    rd = &ngx_http_cx_redis;

    if (rd->slots == NULL
        || slot < rd->slots || slot >= rd->slots + rd->conf->max_pending)
    {
        /* the slot table of a cycle gone in single process mode */
        return;
    }

    slot->ctx = NULL;
    slot->next = rd->free;
    rd->free = slot;
    rd->pending--;

    ngx_http_cx_metric_in_flight(-1);
}


/*
 * Queues one command on the node that holds its key (argv[1]): with
 * cx_redis or cx_redis_sentinel, the one node; with cx_redis_cluster,
 * the primary of the key's slot, an error when that node is down.  A
 * read has fn: it gets the reply (NULL when the connection went away)
 * and the slot; a write has none.  An error reply is logged and, if
 * there is a slot, counted in slot->errors before fn runs.
 */

ngx_int_t
ngx_http_cx_redis_command(ngx_http_cx_redis_cb_pt fn, ngx_http_cx_slot_t *slot,
    ngx_uint_t argc, ngx_str_t *argv)
{
    ngx_http_cx_node_t  *nd;

    nd = ngx_http_cx_cluster_route(argc, argv);
    if (nd == NULL) {
        return NGX_ERROR;
    }

    return ngx_http_cx_redis_queue(nd, fn, slot, argc, argv)
           ? NGX_OK : NGX_ERROR;
}


/*
 * Queues one command on a node's connection, formatted here (hiredis's
 * printf-style formatting costs more than the rest of the request path
 * together), with its name and key at the tail of the commands in
 * flight.
 */

static ngx_http_cx_flight_t *
ngx_http_cx_redis_queue(ngx_http_cx_node_t *nd, ngx_http_cx_redis_cb_pt fn,
    ngx_http_cx_slot_t *slot, ngx_uint_t argc, ngx_str_t *argv)
{
    u_char                *p, *last;
    ngx_uint_t             n;
    ngx_http_cx_flight_t  *f;
    ngx_http_cx_redis_t   *rd;

    rd = &ngx_http_cx_redis;

    if (nd->ac == NULL || argc == 0) {
        return NULL;
    }

    if (!rd->conf->cluster || fn == ngx_http_cx_redis_setup_reply) {

        /* formatted where it is sent from: no copy */

        p = ngx_http_cx_conn_room(nd->ac, ngx_http_cx_resp_len(argc, argv));
        if (p == NULL) {
            return NULL;
        }

        last = ngx_http_cx_resp(p, argc, argv);

        f = ngx_http_cx_redis_send(nd, NULL, last - p);

    } else {
        f = ngx_http_cx_redis_kept(nd, argc, argv);
    }

    if (f == NULL) {
        return NULL;
    }

    f->fn = fn;
    f->slot = slot;
    f->read = (u_char) (slot ? slot->reading : 0);

    n = ngx_min(argv[0].len, sizeof(f->cmd) - 1);
    ngx_memcpy(f->cmd, argv[0].data, n);
    f->cmd[n] = '\0';

    f->key_len = 0;
    f->made = 0;
    f->moved = 0;

    if (argc > 1 && fn != ngx_http_cx_redis_setup_reply) {
        /* a key; never AUTH's user or password */
        f->key_len = (u_char) ngx_min(argv[1].len, sizeof(f->key));
        ngx_memcpy(f->key, argv[1].data, f->key_len);
    }

    return f;
}


/*
 * A command of a cluster, formatted, NUL-terminated, and a copy kept to
 * follow a MOVED or ASK to another node
 */

static ngx_http_cx_flight_t *
ngx_http_cx_redis_kept(ngx_http_cx_node_t *nd, ngx_uint_t argc,
    ngx_str_t *argv)
{
    u_char                *p, *last;
    size_t                 len;
    ngx_http_cx_flight_t  *f;
    ngx_http_cx_redis_t   *rd;

    rd = &ngx_http_cx_redis;

    len = ngx_http_cx_resp_len(argc, argv) + 1;

    if (len > rd->buf_size) {
        p = ngx_alloc(ngx_max(len, 4096), rd->log);
        if (p == NULL) {
            return NULL;
        }

        if (rd->buf) {
            ngx_free(rd->buf);
        }

        rd->buf = p;
        rd->buf_size = ngx_max(len, 4096);
    }

    last = ngx_http_cx_resp(rd->buf, argc, argv);
    *last = '\0';

    p = ngx_alloc(last + 1 - rd->buf, rd->log);
    if (p == NULL) {
        return NULL;
    }

    ngx_memcpy(p, rd->buf, last + 1 - rd->buf);

    f = ngx_http_cx_redis_send(nd, rd->buf, last - rd->buf);
    if (f == NULL) {
        ngx_free(p);
        return NULL;
    }

    f->again = p;
    f->again_len = last - rd->buf;

    if (argc > 1) {
        f->hslot = ngx_http_cx_keyslot(argv[1].data, argv[1].len);
    }

    return f;
}


/*
 * A command, formatted and NUL-terminated, at the tail of a node's ring;
 * buf NULL: len bytes formatted in the connection's room already
 * (ngx_http_cx_conn_room())
 */

static ngx_http_cx_flight_t *
ngx_http_cx_redis_send(ngx_http_cx_node_t *nd, u_char *buf, size_t len)
{
    ngx_uint_t             i, n;
    ngx_http_cx_flight_t  *f, *flight;
    ngx_http_cx_redis_t   *rd;

    rd = &ngx_http_cx_redis;

    if (nd->ac == NULL) {
        return NULL;
    }

    if (nd->tail - nd->head == nd->nflight) {

        /* grow the ring, each command staying at its sequence number */

        n = 2 * nd->nflight;

        if (n > NGX_HTTP_CX_FLIGHT_MAX) {
            ngx_log_debug0(NGX_LOG_DEBUG_HTTP, rd->log, 0,
                           "cx: too many redis commands in flight");
            return NULL;
        }

        flight = ngx_alloc(n * sizeof(ngx_http_cx_flight_t), rd->log);
        if (flight == NULL) {
            return NULL;
        }

        for (i = nd->head; i != nd->tail; i++) {
            flight[i & (n - 1)] = nd->flight[i & (nd->nflight - 1)];
        }

        ngx_free(nd->flight);
        nd->flight = flight;
        nd->nflight = n;
    }

    /* the sequence number is all the connection keeps for us */

    if ((buf ? ngx_http_cx_conn_send(nd->ac, ngx_http_cx_redis_reply,
                                     (void *) (uintptr_t) nd->tail, buf, len)
             : ngx_http_cx_conn_push(nd->ac, ngx_http_cx_redis_reply,
                                     (void *) (uintptr_t) nd->tail, len))
        != NGX_OK)
    {
        return NULL;
    }

    f = &nd->flight[nd->tail & (nd->nflight - 1)];

    f->fn = NULL;
    f->slot = NULL;
    f->again = NULL;
    f->key_len = 0;
    f->made = 0;
    f->moved = 0;
    f->read = 0;
    f->hslot = 0;
    f->until = 0;
    f->tries = 0;
    f->cmd[0] = '\0';

    if (nd->head == nd->tail) {
        /* the first in flight: the stall clock starts */
        nd->last_reply = ngx_current_msec;

        if (!nd->stall.timer_set) {
            ngx_add_timer(&nd->stall, rd->stall_after);
        }
    }

    nd->tail++;

    return f;
}


/*
 * A write of argv[1] that may make the key (Redis deleted or evicted it
 * behind the caller's back): its reply tells, as "made" says how, and
 * then "EXPIRE key ttl" follows.  A key too long to keep in flight gets
 * its EXPIRE at once.  made 0: a write whose EXPIRE the caller sends.
 * fn, if any, is called with the reply.
 */

ngx_int_t
ngx_http_cx_redis_write(ngx_http_cx_redis_cb_pt fn, ngx_uint_t made,
    ngx_int_t n, ngx_str_t *ttl, ngx_uint_t argc, ngx_str_t *argv)
{
    ngx_str_t              expire[3];
    ngx_http_cx_node_t    *nd;
    ngx_http_cx_flight_t  *f;

    nd = ngx_http_cx_cluster_route(argc, argv);
    if (nd == NULL) {
        return NGX_ERROR;
    }

    f = ngx_http_cx_redis_queue(nd, fn, NULL, argc, argv);
    if (f == NULL) {
        return NGX_ERROR;
    }

    if (made == 0) {
        return NGX_OK;
    }

    if (made == NGX_HTTP_CX_MADE_SCORE
        && ngx_http_cx_score(argv[2].data, argv[2].len, &f->made_w)
           != NGX_OK)
    {
        f->made_w = 0;
    }

    if (argv[1].len > sizeof(f->key)) {
        expire[0] = ngx_http_cx_lit("EXPIRE");
        expire[1] = argv[1];
        expire[2] = *ttl;

        return ngx_http_cx_redis_command(NULL, NULL, 3, expire);
    }

    f->made = (u_char) made;
    f->made_n = n;
    f->ttl = ttl;

    return NGX_OK;
}


/* the reply to a write that may have made its key: if it did, EXPIRE */

static void
ngx_http_cx_redis_made(ngx_http_cx_flight_t *f, redisReply *reply)
{
    double      score;
    ngx_str_t   argv[3];
    ngx_uint_t  made;

    switch (f->made) {

    case NGX_HTTP_CX_MADE_LEN:
        /* LPUSH: the list's length is what was pushed */
        made = (reply->type == REDIS_REPLY_INTEGER
                && reply->integer <= f->made_n);
        break;

    case NGX_HTTP_CX_MADE_SCORE:
        /*
         * ZINCRBY: the score is the increment, the member is new (scores
         * are positive), and so may the key be; a score that cannot be
         * read counts so too
         */
        made = (reply->type != REDIS_REPLY_STRING
                || ngx_http_cx_score((u_char *) reply->str, reply->len,
                                     &score)
                   != NGX_OK
                || score <= f->made_w * (1 + 1e-9));
        break;

    default: /* NGX_HTTP_CX_MADE_FIELDS, NGX_HTTP_CX_MADE_STATE */
        /* HSET: more fields added than could be new to a hash that lives */
        made = (reply->type == REDIS_REPLY_INTEGER
                && reply->integer > f->made_n);
        break;
    }

    if (!made) {
        return;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_http_cx_redis.log, 0,
                   "cx: redis write made \"%*s\", expire",
                   (size_t) f->key_len, f->key);

    argv[0] = ngx_http_cx_lit("EXPIRE");
    argv[1].data = f->key;
    argv[1].len = f->key_len;
    argv[2] = *f->ttl;

    (void) ngx_http_cx_redis_command(NULL, NULL, 3, argv);

    if (f->made == NGX_HTTP_CX_MADE_STATE) {
        ngx_http_cx_customer_remade(f->key, f->key_len);
    }
}


/*
 * The connection was lost before the reply to a write that may have made
 * its key: the key's EXPIRE goes out once the next connection is ready,
 * behind what Redis still had of the old one.  Beyond NGX_HTTP_CX_LOST
 * such keys, the oldest are given up.
 */

static void
ngx_http_cx_redis_lost(ngx_http_cx_node_t *nd, ngx_http_cx_flight_t *f)
{
    ngx_http_cx_lost_t  *l;

    if (nd->nlost == NGX_HTTP_CX_LOST) {
        ngx_memmove(&nd->lost[0], &nd->lost[1],
                    (NGX_HTTP_CX_LOST - 1) * sizeof(ngx_http_cx_lost_t));
        nd->nlost--;
    }

    l = &nd->lost[nd->nlost++];

    l->ttl = f->ttl;
    l->key_len = f->key_len;
    ngx_memcpy(l->key, f->key, f->key_len);
}


/* the EXPIRE of each key a lost connection may have made */

static void
ngx_http_cx_redis_renew(ngx_http_cx_node_t *nd)
{
    ngx_str_t   argv[3];
    ngx_uint_t  i;

    argv[0] = ngx_http_cx_lit("EXPIRE");

    for (i = 0; i < nd->nlost; i++) {
        argv[1].data = nd->lost[i].key;
        argv[1].len = nd->lost[i].key_len;
        argv[2] = *nd->lost[i].ttl;

        if (ngx_http_cx_redis_command(NULL, NULL, 3, argv) != NGX_OK) {
            break;
        }
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_http_cx_redis.log, 0,
                   "cx: redis keys to expire again: %ui of %ui", i,
                   nd->nlost);

    ngx_memmove(&nd->lost[0], &nd->lost[i],
                (nd->nlost - i) * sizeof(ngx_http_cx_lost_t));
    nd->nlost -= i;
}


static void
ngx_http_cx_redis_reply(ngx_http_cx_conn_t *ac, void *r, void *privdata)
{
    redisReply  *reply = r;

    u_char                 detail[256], *p;
    ngx_uint_t             seq;
    ngx_http_cx_node_t    *nd;
    ngx_http_cx_flight_t   f;
    ngx_http_cx_redis_t   *rd;

    rd = &ngx_http_cx_redis;
    nd = ac->data;
    seq = (ngx_uint_t) (uintptr_t) privdata;

    if (nd == NULL || seq != nd->head || nd->head == nd->tail) {
        ngx_log_error(NGX_LOG_ALERT, rd->log, 0,
                      "cx: redis reply %ui out of order, %ui expected",
                      seq, nd ? nd->head : 0);
        return;
    }

    f = nd->flight[nd->head & (nd->nflight - 1)];
    nd->head++;

    if (reply) {
        nd->last_reply = ngx_current_msec;
    }

    if (reply && reply->type == REDIS_REPLY_ERROR && f.again
        && ngx_http_cx_cluster_follow(nd, &f, reply) == NGX_OK)
    {
        /* sent to the node named, or again later: its reply is the
         * command's */
        return;
    }

    if (f.again) {
        ngx_free(f.again);
    }

    if (reply) {
        if (reply->type == REDIS_REPLY_ERROR) {
            if (f.slot) {
                f.slot->errors++;
            }

            ngx_http_cx_metric_redis(NGX_HTTP_CX_M_ERRORS);

            p = ngx_snprintf(detail, sizeof(detail) - 1, "%s%s%*s%s: %*s",
                             f.cmd, f.key_len ? " " : "",
                             (size_t) f.key_len, f.key,
                             f.key_len == sizeof(f.key) ? "..." : "",
                             ngx_min(reply->len, 128), reply->str);
            *p = '\0';

            ngx_http_cx_redis_fault(nd, "refused", (char *) detail);

            if (rd->conf->sentinels && ac == nd->ac
                && ngx_strncmp(reply->str, "READONLY", 8) == 0)
            {
                /* a replica now: ask the sentinels which is the primary */
                nd->ready = 0;
                ngx_http_cx_conn_disconnect(ac);
            }

        } else {
            ngx_http_cx_redis_episode(1, NULL, NULL);
        }

        if (f.made) {
            ngx_http_cx_redis_made(&f, reply);
        }

    } else if (f.made) {
        ngx_http_cx_redis_lost(nd, &f);
    }

    if (f.fn) {
        if (f.slot) {
            f.slot->reading = f.read;
        }

        f.fn(ac, reply, f.slot);
    }
}


/*
 * Commands in flight and no reply for stall_after ms: a peer that went
 * silent without a reset (a blackhole, a stopped host).  The connection
 * is dropped, which answers its commands with NULL, and opened again.
 */

static void
ngx_http_cx_redis_stall_handler(ngx_event_t *ev)
{
    ngx_http_cx_node_t *nd = ev->data;

    ngx_msec_t            idle;
    ngx_http_cx_redis_t  *rd;

    rd = &ngx_http_cx_redis;

    if (nd->ac == NULL || !nd->connected || nd->head == nd->tail) {
        /* connecting: the connect timer keeps that time */
        return;
    }

    idle = ngx_current_msec - nd->last_reply;

    if (idle < rd->stall_after) {
        ngx_add_timer(&nd->stall, rd->stall_after - idle);
        return;
    }

    ngx_http_cx_redis_fault(nd, "stopped answering", NULL);

    ngx_log_error(NGX_LOG_INFO, rd->log, 0,
                  "cx: redis \"%V\": %ui commands without a reply for "
                  "%M ms, reconnecting", &rd->conf->redis_name,
                  nd->tail - nd->head, idle);

    ngx_http_cx_redis_close(nd);
    ngx_http_cx_redis_schedule(nd);
}


/*
 * cx_redis_cluster: the node of a command's key.  Every command the
 * module sends has its key in argv[1], and those that name more keys
 * (DEL of a customer's keys) name keys of one hash tag, one slot.
 */

static ngx_http_cx_node_t *
ngx_http_cx_cluster_route(ngx_uint_t argc, ngx_str_t *argv)
{
    ngx_uint_t            i;
    ngx_http_cx_node_t   *nd;
    ngx_http_cx_redis_t  *rd;

    rd = &ngx_http_cx_redis;

    if (rd->nnodes == 0) {
        return NULL;
    }

    if (rd->conf->cluster == NULL) {
        return rd->node[0];
    }

    if (argc < 2) {
        return NULL;
    }

    i = rd->map[ngx_http_cx_keyslot(argv[1].data, argv[1].len)];

    if (i == 0) {
        /* a slot no primary serves, as the cluster last said */
        return NULL;
    }

    nd = rd->node[i - 1];

    if (nd->ac == NULL) {
        /* down: the request goes on without it */
        return NULL;
    }

    return nd;
}


/* the node of an address, made and connected when new */

static ngx_http_cx_node_t *
ngx_http_cx_cluster_node(u_char *host, size_t len, ngx_int_t port)
{
    ngx_uint_t            i;
    ngx_http_cx_node_t   *nd;
    ngx_http_cx_redis_t  *rd;

    rd = &ngx_http_cx_redis;

    for (i = 0; i < rd->nnodes; i++) {
        nd = rd->node[i];

        if (nd->port == port
            && ngx_strlen(nd->host) == len
            && ngx_strncmp(nd->host, host, len) == 0)
        {
            if (nd->ac == NULL && !nd->reconnect.timer_set) {
                nd->used = 1;
                ngx_http_cx_redis_connect(nd);
            }

            return nd;
        }
    }

    if (rd->nnodes == NGX_HTTP_CX_NODES_MAX && len <= NGX_SOCKADDR_STRLEN) {

        /*
         * A node of an address gone (a primary replaced, in a new place):
         * closed, serving no slot, asked nothing, it takes the new one.
         */

        for (i = 0; i < rd->nnodes; i++) {
            nd = rd->node[i];

            if (!nd->used && nd->ac == NULL && nd != rd->asked
                && nd->head == nd->tail && !nd->reconnect.timer_set)
            {
                ngx_cpystrn(nd->host, host, len + 1);
                nd->port = port;
                nd->backoff = NGX_HTTP_CX_BACKOFF_MIN;

                goto connect;
            }
        }
    }

    nd = ngx_http_cx_redis_node(rd, host, len, port);
    if (nd == NULL) {
        return NULL;
    }

connect:

    nd->used = 1;
    ngx_http_cx_redis_connect(nd);

    return nd;
}


/*
 * The refresh: CLUSTER SLOTS asked of a node that is ready, the next
 * one each time; with none ready, a node of cx_redis_cluster is
 * connected, asked once its setup is answered.  Every
 * NGX_HTTP_CX_MAP_EVERY ms, and soon after a connection fails or a
 * MOVED.
 */

static void
ngx_http_cx_cluster_ask(ngx_event_t *ev)
{
    ngx_str_t             argv[2];
    ngx_uint_t            i;
    ngx_http_cx_addr_t   *seed;
    ngx_http_cx_node_t   *nd;
    ngx_http_cx_redis_t  *rd;

    rd = &ngx_http_cx_redis;

    if (rd->cycle == NULL || ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    if (rd->refresh.timer_set) {
        ngx_del_timer(&rd->refresh);
    }

    ngx_add_timer(&rd->refresh, NGX_HTTP_CX_MAP_EVERY);

    if (rd->asked) {
        rd->stale = 1;
        return;
    }

    rd->stale = 0;
    rd->asked_at = ngx_current_msec;

    argv[0] = ngx_http_cx_lit("CLUSTER");
    argv[1] = ngx_http_cx_lit("SLOTS");

    for (i = 0; i < rd->nnodes; i++) {
        nd = rd->node[(rd->seed + i) % rd->nnodes];

        if (nd->ready
            && ngx_http_cx_redis_queue(nd, ngx_http_cx_cluster_slots, NULL,
                                       2, argv))
        {
            ngx_log_debug2(NGX_LOG_DEBUG_HTTP, rd->log, 0,
                           "cx: redis cluster slots asked of %s:%i",
                           nd->host, nd->port);

            rd->asked = nd;
            rd->seed = (rd->seed + i + 1) % rd->nnodes;
            return;
        }
    }

    /* no node ready: a seed, asked when it is */

    seed = rd->conf->cluster->elts;
    seed = &seed[rd->seed++ % rd->conf->cluster->nelts];

    rd->stale = 1;

    if (seed->name.len) {
        /* resolve: connected once the resolver names its address */

        if (rd->resolving == NULL) {
            (void) ngx_http_cx_redis_ask_name(seed,
                                              ngx_http_cx_cluster_resolved,
                                              &rd->resolving);
        }

        return;
    }

    (void) ngx_http_cx_cluster_node(seed->host.data, seed->host.len,
                                    seed->port);
}


/*
 * A seed's name answered: its first address connected (nginx's resolver
 * rotates them), asked once ready.  A name that does not resolve keeps
 * the address it had; one that never did is a fault, and the next seed
 * is tried soon.
 */

static void
ngx_http_cx_cluster_resolved(ngx_resolver_ctx_t *ctx)
{
    u_char                buf[NGX_SOCKADDR_STRLEN + NGX_INT_T_LEN + 64];
    u_char               *p;
    ngx_http_cx_addr_t   *seed;
    ngx_http_cx_redis_t  *rd;

    rd = &ngx_http_cx_redis;
    seed = ctx->data;

    if (ngx_http_cx_redis_answered(ctx, seed) != NGX_OK
        && seed->host.len == 0)
    {
        p = ngx_snprintf(buf, sizeof(buf) - 1, "%V:%i: %s", &seed->name,
                         seed->port, ngx_resolver_strerror(ctx->state));
        *p = '\0';

        ngx_resolve_name_done(ctx);
        rd->resolving = NULL;

        ngx_http_cx_redis_episode(0, "could not be resolved", (char *) buf);
        ngx_http_cx_cluster_stale();
        return;
    }

    ngx_resolve_name_done(ctx);
    rd->resolving = NULL;

    (void) ngx_http_cx_cluster_node(seed->host.data, seed->host.len,
                                    seed->port);
}


/* the slots may have moved: asked soon, NGX_HTTP_CX_MAP_SOON ms apart */

static void
ngx_http_cx_cluster_stale(void)
{
    ngx_msec_t            since;
    ngx_http_cx_redis_t  *rd;

    rd = &ngx_http_cx_redis;

    if (rd->cycle == NULL || rd->refresh.handler == NULL) {
        return;
    }

    if (rd->asked) {
        rd->stale = 1;
        return;
    }

    since = ngx_current_msec - rd->asked_at;

    if (rd->refresh.timer_set) {
        ngx_del_timer(&rd->refresh);
    }

    ngx_add_timer(&rd->refresh, since < NGX_HTTP_CX_MAP_SOON
                                ? NGX_HTTP_CX_MAP_SOON - since : 1);
}


/*
 * CLUSTER SLOTS: [start, end, [host, port, id], replicas...] for each
 * range.  A host that is no numeric address (a name announced with
 * cluster-announce-hostname) is never resolved: its slots stay
 * unserved.  Nodes that serve no slot any longer are closed once idle.
 */

static void
ngx_http_cx_cluster_slots(ngx_http_cx_conn_t *ac, void *r, void *privdata)
{
    redisReply  *reply = r;

    u_char               *map;
    ngx_int_t             port, start, end, k;
    ngx_uint_t            i, j, served, bad, full, down;
    redisReply           *range, *node;
    ngx_http_cx_node_t   *nd, *asked;
    ngx_http_cx_redis_t  *rd;

    rd = &ngx_http_cx_redis;
    asked = ac->data;

    if (rd->asked == asked) {
        rd->asked = NULL;
    }

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        /* gone, or refused (logged): another node is asked soon */
        ngx_http_cx_cluster_stale();
        return;
    }

    map = rd->next;
    ngx_memzero(map, NGX_HTTP_CX_SLOTS);
    served = 0;
    bad = 0;
    full = 0;

    for (i = 0; i < reply->elements; i++) {
        range = reply->element[i];

        if (range->type != REDIS_REPLY_ARRAY || range->elements < 3
            || range->element[0]->type != REDIS_REPLY_INTEGER
            || range->element[1]->type != REDIS_REPLY_INTEGER
            || range->element[2]->type != REDIS_REPLY_ARRAY
            || range->element[2]->elements < 2
            || range->element[2]->element[0]->type != REDIS_REPLY_STRING
            || range->element[2]->element[1]->type != REDIS_REPLY_INTEGER)
        {
            bad++;
            continue;
        }

        start = range->element[0]->integer;
        end = range->element[1]->integer;
        node = range->element[2];
        port = node->element[1]->integer;

        if (start < 0 || end >= NGX_HTTP_CX_SLOTS || start > end
            || port < 1 || port > 65535)
        {
            bad++;
            continue;
        }

        if (node->element[0]->len == 0) {
            /* "": the node that answered */
            nd = ngx_http_cx_cluster_node(asked->host,
                                          ngx_strlen(asked->host), port);

        } else if (ngx_http_cx_numeric((u_char *) node->element[0]->str,
                                       node->element[0]->len)
                   == NGX_OK)
        {
            nd = ngx_http_cx_cluster_node((u_char *) node->element[0]->str,
                                          node->element[0]->len, port);

        } else {
            bad++;
            continue;
        }

        if (nd == NULL) {
            /* no room: a node that serves nothing now makes some */
            full++;
            continue;
        }

        for (j = 0; j < rd->nnodes; j++) {
            if (rd->node[j] == nd) {
                break;
            }
        }

        for (k = start; k <= end; k++) {
            map[k] = (u_char) (j + 1);
        }

        served += end - start + 1;
    }

    if (bad) {
        ngx_log_error(NGX_LOG_WARN, rd->log, 0,
                      "cx: redis \"%V\": %ui ranges of CLUSTER SLOTS "
                      "skipped, of no numeric address or not understood",
                      &rd->conf->redis_name, bad);
    }

    if (served == 0) {
        ngx_http_cx_cluster_stale();
        return;
    }

    ngx_memcpy(rd->map, map, NGX_HTTP_CX_SLOTS);
    rd->mapped = 1;
    down = 0;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, rd->log, 0,
                   "cx: redis cluster map: %ui slots of %ui nodes", served,
                   rd->nnodes);

    /*
     * A node that serves no slot: not reconnected, and closed (what it
     * still has in flight answered NULL, as a MOVED would be).
     */

    for (j = 0; j < rd->nnodes; j++) {
        nd = rd->node[j];

        for (k = 0; k < NGX_HTTP_CX_SLOTS; k++) {
            if (map[k] == j + 1) {
                break;
            }
        }

        nd->used = (k < NGX_HTTP_CX_SLOTS);

        if (nd->used && !nd->ready) {
            down = 1;
        }

        if (!nd->used) {
            if (nd->reconnect.timer_set) {
                ngx_del_timer(&nd->reconnect);
            }

            if (nd->ac && nd != asked) {
                ngx_http_cx_redis_close(nd);
            }
        }
    }

    if (rd->stale || down || full) {
        /*
         * A primary down: its replica's promotion is looked for soon; or
         * a new primary had no room, which the nodes closed above make.
         */
        ngx_http_cx_cluster_stale();
    }
}


/*
 * A cluster's redirect: "MOVED slot host:port", the slot is that node's
 * now (the map is asked again soon), or "ASK slot host:port", the key is
 * being migrated there.  The command is sent there once, behind ASKING
 * for an ASK; its reply goes to the command's callback then.  A second
 * redirect, or a node that is no numeric address, is an error reply.
 * "TRYAGAIN": the command's keys are split between the two nodes of a
 * slot being migrated; it is sent again a little later.
 */

static ngx_int_t
ngx_http_cx_cluster_follow(ngx_http_cx_node_t *nd, ngx_http_cx_flight_t *f,
    redisReply *reply)
{
    u_char                *p, *last, *colon;
    ngx_int_t              slot, port;
    ngx_uint_t             ask, i;
    ngx_http_cx_node_t    *to;
    ngx_http_cx_flight_t  *nf;
    ngx_http_cx_redis_t   *rd;

    rd = &ngx_http_cx_redis;

    p = (u_char *) reply->str;
    last = p + reply->len;

    if (reply->len >= 8 && ngx_strncmp(p, "TRYAGAIN", 8) == 0) {
        return ngx_http_cx_cluster_again(f);
    }

    if (f->moved) {
        return NGX_DECLINED;
    }

    if (reply->len > 6 && ngx_strncmp(p, "MOVED ", 6) == 0) {
        ask = 0;
        p += 6;

    } else if (reply->len > 4 && ngx_strncmp(p, "ASK ", 4) == 0) {
        ask = 1;
        p += 4;

    } else {
        return NGX_DECLINED;
    }

    for (slot = 0; p < last && *p >= '0' && *p <= '9'; p++) {
        slot = slot * 10 + (*p - '0');

        if (slot >= NGX_HTTP_CX_SLOTS) {
            return NGX_DECLINED;
        }
    }

    if (p == last || *p++ != ' ') {
        return NGX_DECLINED;
    }

    for (colon = last; colon > p; colon--) {
        if (colon[-1] == ':') {
            break;
        }
    }

    if (colon == p) {
        return NGX_DECLINED;
    }

    port = ngx_atoi(colon, last - colon);

    if (port < 1 || port > 65535
        || ngx_http_cx_numeric(p, colon - 1 - p) != NGX_OK)
    {
        return NGX_DECLINED;
    }

    if (!ask) {
        /* followed or not, the map is asked again soon */
        ngx_http_cx_cluster_stale();
    }

    to = ngx_http_cx_cluster_node(p, colon - 1 - p, port);
    if (to == NULL || to->ac == NULL) {
        return NGX_DECLINED;
    }

    if (!ask) {
        for (i = 0; i < rd->nnodes; i++) {
            if (rd->node[i] == to) {
                rd->map[slot] = (u_char) (i + 1);
                break;
            }
        }

    } else if (ngx_http_cx_redis_send(to, (u_char *) "*1\r\n$6\r\nASKING\r\n",
                                      sizeof("*1\r\n$6\r\nASKING\r\n") - 1)
               == NULL)
    {
        return NGX_DECLINED;
    }

    nf = ngx_http_cx_redis_send(to, f->again, f->again_len);
    if (nf == NULL) {
        return NGX_DECLINED;
    }

    ngx_log_debug5(NGX_LOG_DEBUG_HTTP, rd->log, 0,
                   "cx: redis %s %*s: %s to %s",
                   f->cmd, (size_t) f->key_len, f->key,
                   ask ? "ASK" : "MOVED", to->host);

    *nf = *f;
    nf->moved = 1;

    return NGX_OK;
}


/*
 * TRYAGAIN: a command of several keys (a customer's DEL) while its slot
 * is migrated key by key, some of its keys moved and some not.  It is
 * sent again after NGX_HTTP_CX_AGAIN_FIRST ms, doubling, to the node the
 * map then names, for a request's (it waits for the reply, in its slot)
 * within cx_timeout, for a write within NGX_HTTP_CX_AGAIN_WRITES ms:
 * after that, the TRYAGAIN is its reply, an error.
 */

static ngx_int_t
ngx_http_cx_cluster_again(ngx_http_cx_flight_t *f)
{
    ngx_msec_t            delay;
    ngx_msec_int_t        left;
    ngx_http_cx_again_t  *ag;
    ngx_http_cx_redis_t  *rd;

    rd = &ngx_http_cx_redis;

    if (f->tries == 0) {
        f->until = ngx_current_msec + (f->slot ? rd->conf->timeout
                                               : NGX_HTTP_CX_AGAIN_WRITES);
    }

    left = (ngx_msec_int_t) (f->until - ngx_current_msec);

    if (left <= 0 || rd->nagains == NGX_HTTP_CX_AGAINS_MAX
        || ngx_exiting || ngx_terminate || ngx_quit)
    {
        return NGX_DECLINED;
    }

    ag = ngx_calloc(sizeof(ngx_http_cx_again_t), rd->log);
    if (ag == NULL) {
        return NGX_DECLINED;
    }

    delay = NGX_HTTP_CX_AGAIN_FIRST << ngx_min(f->tries, 8);
    delay = ngx_min(delay, NGX_HTTP_CX_AGAIN_MAX);
    delay = ngx_min(delay, (ngx_msec_t) left);

    ag->f = *f;
    ag->f.tries++;

    ag->ev.handler = ngx_http_cx_cluster_retry;
    ag->ev.data = ag;
    ag->ev.log = rd->log;
    ag->ev.cancelable = 1;

    ngx_add_timer(&ag->ev, delay);

    ngx_queue_insert_tail(&rd->agains, &ag->queue);
    rd->nagains++;

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, rd->log, 0,
                   "cx: redis %s %*s: TRYAGAIN, again in %M ms",
                   f->cmd, (size_t) f->key_len, f->key, delay);

    return NGX_OK;
}


/* a command refused TRYAGAIN, sent again to its slot's node */

static void
ngx_http_cx_cluster_retry(ngx_event_t *ev)
{
    ngx_http_cx_again_t *ag = ev->data;

    ngx_uint_t             i;
    ngx_http_cx_node_t    *nd;
    ngx_http_cx_flight_t   f, *nf;
    ngx_http_cx_redis_t   *rd;

    rd = &ngx_http_cx_redis;

    f = ag->f;

    ngx_queue_remove(&ag->queue);
    rd->nagains--;
    ngx_free(ag);

    i = rd->map[f.hslot];
    nd = i ? rd->node[i - 1] : NULL;

    nf = (nd && nd->ac) ? ngx_http_cx_redis_send(nd, f.again, f.again_len)
                        : NULL;

    if (nf == NULL) {
        /* the node down: as a command of a connection lost */
        ngx_http_cx_cluster_give_up(&f);
        return;
    }

    *nf = f;
    nf->moved = 0;
}


/*
 * A command to send again that will not be: its callback gets NULL, as
 * when a connection is lost (TRYAGAIN ran nothing, so no EXPIRE is due).
 * No callback of one, CLUSTER SLOTS's, reads the context.
 */

static void
ngx_http_cx_cluster_give_up(ngx_http_cx_flight_t *f)
{
    ngx_free(f->again);

    if (f->fn) {
        if (f->slot) {
            f->slot->reading = f->read;
        }

        f->fn(NULL, NULL, f->slot);
    }
}


/* a host as CLUSTER SLOTS, MOVED and ASK name it: numeric, never resolved */

static ngx_int_t
ngx_http_cx_numeric(u_char *host, size_t len)
{
#if (NGX_HAVE_INET6)
    u_char  addr6[16];
#endif

    if (len == 0 || len > NGX_SOCKADDR_STRLEN) {
        return NGX_ERROR;
    }

    if (ngx_inet_addr(host, len) != INADDR_NONE) {
        return NGX_OK;
    }

#if (NGX_HAVE_INET6)
    if (ngx_inet6_addr(host, len, addr6) == NGX_OK) {
        return NGX_OK;
    }
#endif

    return NGX_ERROR;
}
