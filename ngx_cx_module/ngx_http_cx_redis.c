
/*
 * Copyright (C) ngx_cx authors
 *
 * One hiredis async connection per worker, driven by nginx's event loop:
 * hiredis asks for read/write interest through the ev hooks below, nginx
 * calls back into redisAsyncHandleRead/Write.  hiredis 0.14 has no async
 * timeouts, so connect and request deadlines are nginx timers.
 *
 * Events are registered level-triggered: hiredis reads at most one buffer
 * per redisAsyncHandleRead() and keeps write interest until its output
 * buffer is empty, the model its own libevent/libev adapters assume.
 * Once connected, a request for write interest first becomes a posted
 * event: everything queued during one turn of the event loop goes out in
 * one write at its end, and only a full socket buffer costs an epoll
 * registration.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include <ngx_http_cx_module.h>


#define NGX_HTTP_CX_BACKOFF_MIN   50
#define NGX_HTTP_CX_BACKOFF_MAX   2000


typedef struct {
    redisAsyncContext          *ac;
    ngx_http_cx_main_conf_t    *conf;
    ngx_log_t                  *log;
    ngx_cycle_t                *cycle;

    ngx_event_t                 reconnect;
    ngx_event_t                 connect_timer;
    ngx_event_t                 flush;
    ngx_msec_t                  backoff;

    ngx_http_cx_slot_t         *slots;
    ngx_http_cx_slot_t         *free;
    ngx_uint_t                  pending;

    unsigned                    connected:1;
    unsigned                    failing:1;
    unsigned                    flushing:1;
} ngx_http_cx_redis_t;


static void ngx_http_cx_redis_connect(ngx_http_cx_redis_t *rd);
static void ngx_http_cx_redis_close(ngx_http_cx_redis_t *rd);
static void ngx_http_cx_redis_schedule(ngx_http_cx_redis_t *rd);
static void ngx_http_cx_redis_reconnect_handler(ngx_event_t *ev);
static void ngx_http_cx_redis_connect_timeout(ngx_event_t *ev);
static void ngx_http_cx_redis_flush_handler(ngx_event_t *ev);
static void ngx_http_cx_redis_connected(const redisAsyncContext *ac,
    int status);
static void ngx_http_cx_redis_disconnected(const redisAsyncContext *ac,
    int status);
static void ngx_http_cx_redis_setup_reply(redisAsyncContext *ac, void *r,
    void *privdata);
static void ngx_http_cx_redis_cycle_cleanup(void *data);

static ngx_int_t ngx_http_cx_redis_attach(redisAsyncContext *ac);
static void ngx_http_cx_redis_read_handler(ngx_event_t *ev);
static void ngx_http_cx_redis_write_handler(ngx_event_t *ev);
static void ngx_http_cx_redis_add_read(void *data);
static void ngx_http_cx_redis_del_read(void *data);
static void ngx_http_cx_redis_add_write(void *data);
static void ngx_http_cx_redis_del_write(void *data);
static void ngx_http_cx_redis_cleanup(void *data);


static ngx_http_cx_redis_t  ngx_http_cx_redis;


ngx_int_t
ngx_http_cx_redis_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                i;
    ngx_pool_cleanup_t       *cln;
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

    rd->reconnect.handler = ngx_http_cx_redis_reconnect_handler;
    rd->reconnect.data = rd;
    rd->reconnect.log = rd->log;
    rd->reconnect.cancelable = 1;

    rd->connect_timer.handler = ngx_http_cx_redis_connect_timeout;
    rd->connect_timer.data = rd;
    rd->connect_timer.log = rd->log;
    rd->connect_timer.cancelable = 1;

    rd->flush.handler = ngx_http_cx_redis_flush_handler;
    rd->flush.data = rd;
    rd->flush.log = rd->log;

    rd->backoff = NGX_HTTP_CX_BACKOFF_MIN;

    ngx_http_cx_redis_connect(rd);

    return NGX_OK;
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

    ngx_http_cx_redis_t  *rd;

    rd = &ngx_http_cx_redis;

    if (rd->cycle != cycle) {
        /* an old cycle freed late, after the worker moved on */
        return;
    }

    if (rd->reconnect.timer_set) {
        ngx_del_timer(&rd->reconnect);
    }

    ngx_http_cx_redis_close(rd);

    rd->cycle = NULL;
    rd->free = NULL;
    rd->slots = NULL;
}


static void
ngx_http_cx_redis_connect(ngx_http_cx_redis_t *rd)
{
    int                       port;
    u_char                    host[NGX_SOCKADDR_STRLEN + 1];
    const char               *argv[2];
    size_t                    argvlen[2];
    redisAsyncContext        *ac;
    ngx_http_cx_main_conf_t  *cmcf;

    cmcf = rd->conf;

    /* the address was resolved to a numeric one at configuration time */

    ngx_cpystrn(host, cmcf->redis_host.data, cmcf->redis_host.len + 1);
    port = (int) cmcf->redis_port;

    if (port) {
        ac = redisAsyncConnect((char *) host, port);

    } else {
        ac = redisAsyncConnectUnix((char *) host);
    }

    if (ac == NULL) {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "cx: redis context allocation failed");
        ngx_http_cx_redis_schedule(rd);
        return;
    }

    if (ac->err) {
        ngx_http_cx_redis_episode(0, "connect failed", ac->errstr);
        redisAsyncFree(ac);
        ngx_http_cx_redis_schedule(rd);
        return;
    }

    if (ngx_http_cx_redis_attach(ac) != NGX_OK) {
        redisAsyncFree(ac);
        ngx_http_cx_redis_schedule(rd);
        return;
    }

    rd->ac = ac;
    rd->connected = 0;

    redisAsyncSetConnectCallback(ac, ngx_http_cx_redis_connected);
    redisAsyncSetDisconnectCallback(ac, ngx_http_cx_redis_disconnected);

    if (cmcf->redis_password.len) {
        argv[0] = "AUTH";
        argvlen[0] = 4;
        argv[1] = (char *) cmcf->redis_password.data;
        argvlen[1] = cmcf->redis_password.len;

        redisAsyncCommandArgv(ac, ngx_http_cx_redis_setup_reply, "AUTH",
                              2, argv, argvlen);
    }

    if (cmcf->redis_db) {
        redisAsyncCommand(ac, ngx_http_cx_redis_setup_reply, "SELECT",
                          "SELECT %d", (int) cmcf->redis_db);
    }


    /* write interest tells us when the non-blocking connect completes */

    ngx_http_cx_redis_add_write(ac->ev.data);

    ngx_add_timer(&rd->connect_timer, cmcf->connect_timeout);
}


static void
ngx_http_cx_redis_close(ngx_http_cx_redis_t *rd)
{
    redisAsyncContext  *ac;

    if (rd->connect_timer.timer_set) {
        ngx_del_timer(&rd->connect_timer);
    }

    if (rd->flush.posted) {
        ngx_delete_posted_event(&rd->flush);
    }

    ac = rd->ac;

    if (ac == NULL) {
        return;
    }

    /* pending callbacks run now with a NULL reply and release their slots */

    rd->ac = NULL;
    rd->connected = 0;

    redisAsyncFree(ac);
}


static void
ngx_http_cx_redis_schedule(ngx_http_cx_redis_t *rd)
{
    if (rd->cycle == NULL || ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    if (!rd->reconnect.timer_set) {
        ngx_add_timer(&rd->reconnect, rd->backoff);
    }

    rd->backoff = ngx_min(rd->backoff * 2, NGX_HTTP_CX_BACKOFF_MAX);
}


static void
ngx_http_cx_redis_reconnect_handler(ngx_event_t *ev)
{
    ngx_http_cx_redis_t *rd = ev->data;

    if (rd->ac == NULL) {
        ngx_http_cx_redis_connect(rd);
    }
}


static void
ngx_http_cx_redis_connect_timeout(ngx_event_t *ev)
{
    ngx_http_cx_redis_t *rd = ev->data;

    ngx_http_cx_redis_episode(0, "connect timed out", NULL);

    ngx_http_cx_redis_close(rd);
    ngx_http_cx_redis_schedule(rd);
}


static void
ngx_http_cx_redis_flush_handler(ngx_event_t *ev)
{
    ngx_http_cx_redis_t *rd = ev->data;

    if (rd->ac == NULL) {
        return;
    }

    /* a write that does not complete asks for a real write event */

    rd->flushing = 1;
    redisAsyncHandleWrite(rd->ac);
    rd->flushing = 0;
}


static void
ngx_http_cx_redis_connected(const redisAsyncContext *ac, int status)
{
    ngx_http_cx_redis_t  *rd;

    rd = &ngx_http_cx_redis;

    if (ac != rd->ac) {
        return;
    }

    if (rd->connect_timer.timer_set) {
        ngx_del_timer(&rd->connect_timer);
    }

    if (status != REDIS_OK) {
        /* hiredis frees the context after this callback returns */
        ngx_http_cx_redis_episode(0, "connect failed", ac->errstr);
        rd->ac = NULL;
        ngx_http_cx_redis_schedule(rd);
        return;
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, rd->log, 0, "cx: redis connected");

    rd->connected = 1;
    rd->backoff = NGX_HTTP_CX_BACKOFF_MIN;
}


static void
ngx_http_cx_redis_disconnected(const redisAsyncContext *ac, int status)
{
    ngx_http_cx_redis_t  *rd;

    rd = &ngx_http_cx_redis;

    if (ac != rd->ac) {
        /* our own redisAsyncFree(), nothing to do */
        return;
    }

    ngx_http_cx_redis_episode(0, "connection lost",
                              ac->err ? ac->errstr : "closed by server");

    rd->ac = NULL;
    rd->connected = 0;

    ngx_http_cx_redis_schedule(rd);
}


static void
ngx_http_cx_redis_setup_reply(redisAsyncContext *ac, void *r,
    void *privdata)
{
    redisReply  *reply = r;

    if (reply == NULL) {
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        ngx_http_cx_redis_episode(0, privdata, reply->str);
        redisAsyncDisconnect(ac);
    }
}


/*
 * Logs once per episode: the first failure after success, and the first
 * success after failures, never one line per request.
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
        if (rd->failing) {
            rd->failing = 0;
            ngx_log_error(NGX_LOG_NOTICE, rd->log, 0,
                          "cx: redis \"%V\" answers again",
                          &rd->conf->redis_name);
        }

        return;
    }

    if (rd->failing) {
        return;
    }

    rd->failing = 1;

    ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                  "cx: redis \"%V\" %s%s%s, serving pages without "
                  "suggestions", &rd->conf->redis_name, what,
                  detail ? ": " : "", detail ? detail : "");
}


ngx_http_cx_slot_t *
ngx_http_cx_redis_acquire(ngx_log_t *log, ngx_uint_t *status)
{
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

    if (rd->ac == NULL || (!rd->connected && rd->failing)) {
        /* down: do not make the request wait for a connect */
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
}


/*
 * Queues one command, formatted here: hiredis's printf-style formatting
 * costs more than the rest of the request path together.
 */

ngx_int_t
ngx_http_cx_redis_command(ngx_http_cx_redis_cb_pt fn, void *privdata,
    ngx_uint_t argc, ngx_str_t *argv)
{
    int                 rc;
    u_char              buf[NGX_HTTP_CX_CMD_MAX], *p, *last;
    size_t              len;
    redisAsyncContext  *ac;

    ac = ngx_http_cx_redis.ac;

    if (ac == NULL) {
        return NGX_ERROR;
    }

    len = ngx_http_cx_resp_len(argc, argv);

    p = (len <= sizeof(buf)) ? buf : ngx_alloc(len, ngx_http_cx_redis.log);
    if (p == NULL) {
        return NGX_ERROR;
    }

    last = ngx_http_cx_resp(p, argc, argv);

    rc = redisAsyncFormattedCommand(ac, fn, privdata, (char *) p, last - p);

    if (p != buf) {
        ngx_free(p);
    }

    return rc == REDIS_OK ? NGX_OK : NGX_ERROR;
}


/* the adapter: hiredis event hooks on an nginx connection */

static ngx_int_t
ngx_http_cx_redis_attach(redisAsyncContext *ac)
{
    ngx_connection_t  *c;

    c = ngx_get_connection(ac->c.fd, ngx_http_cx_redis.log);
    if (c == NULL) {
        return NGX_ERROR;
    }

    c->data = ac;
    c->read->handler = ngx_http_cx_redis_read_handler;
    c->write->handler = ngx_http_cx_redis_write_handler;
    c->read->log = c->log;
    c->write->log = c->log;

    ac->ev.data = c;
    ac->ev.addRead = ngx_http_cx_redis_add_read;
    ac->ev.delRead = ngx_http_cx_redis_del_read;
    ac->ev.addWrite = ngx_http_cx_redis_add_write;
    ac->ev.delWrite = ngx_http_cx_redis_del_write;
    ac->ev.cleanup = ngx_http_cx_redis_cleanup;

    return NGX_OK;
}


static void
ngx_http_cx_redis_read_handler(ngx_event_t *ev)
{
    ngx_connection_t  *c = ev->data;

    redisAsyncHandleRead(c->data);
}


static void
ngx_http_cx_redis_write_handler(ngx_event_t *ev)
{
    ngx_connection_t  *c = ev->data;

    redisAsyncHandleWrite(c->data);
}


static void
ngx_http_cx_redis_add_read(void *data)
{
    ngx_connection_t  *c = data;

    if (!c->read->active) {
        if (ngx_add_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT)
            != NGX_OK)
        {
            ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                          "cx: adding redis read event failed");
        }
    }
}


static void
ngx_http_cx_redis_del_read(void *data)
{
    ngx_connection_t  *c = data;

    if (c->read->active) {
        ngx_del_event(c->read, NGX_READ_EVENT, 0);
    }
}


static void
ngx_http_cx_redis_add_write(void *data)
{
    ngx_connection_t  *c = data;

    ngx_http_cx_redis_t  *rd;

    rd = &ngx_http_cx_redis;

    if (rd->connected && !rd->flushing && !c->write->active) {
        if (!rd->flush.posted) {
            ngx_post_event(&rd->flush, &ngx_posted_events);
        }

        return;
    }

    if (!c->write->active) {
        if (ngx_add_event(c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT)
            != NGX_OK)
        {
            ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                          "cx: adding redis write event failed");
        }
    }
}


static void
ngx_http_cx_redis_del_write(void *data)
{
    ngx_connection_t  *c = data;

    if (c->write->active) {
        ngx_del_event(c->write, NGX_WRITE_EVENT, 0);
    }
}


static void
ngx_http_cx_redis_cleanup(void *data)
{
    ngx_connection_t  *c = data;

    if (c == NULL) {
        return;
    }

    ngx_http_cx_redis_del_read(c);
    ngx_http_cx_redis_del_write(c);

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    /* hiredis closes the socket itself */

    c->fd = (ngx_socket_t) -1;
    ngx_free_connection(c);
}
