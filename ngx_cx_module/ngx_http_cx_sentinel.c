
/*
 * Copyright (C) ngx_cx authors
 *
 * cx_redis_sentinel: which Redis is the primary.  A worker asks the
 * sentinels in turn, starting with the one that answered last,
 * "SENTINEL get-master-addr-by-name <name>" on a connection of its own,
 * closed once answered; ngx_http_cx_redis.c connects to the address
 * named and checks it with ROLE.  A sentinel that is down, does not
 * answer within cx_connect_timeout (to connect, then as long again to
 * answer) or does not know the name is skipped; when none answers, the
 * worker serves pages without suggestions and asks again after the
 * reconnect backoff.
 *
 * Another connection, to a sentinel that answered, stays subscribed to
 * +switch-master: a message for our name moves the worker to the new
 * primary at once, without a reload.  Losing it subscribes again, after
 * a backoff of its own, with a question first: a switch may have been
 * missed meanwhile.
 *
 * Both are connections of ngx_http_cx_conn.c, with TLS when
 * cx_redis_sentinel has sentinel_tls; their deadlines are nginx timers.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <hiredis/hiredis.h>

#include <ngx_http_cx_module.h>


#define NGX_HTTP_CX_SENTINEL_MIN  50      /* ms, resubscribe backoff */
#define NGX_HTTP_CX_SENTINEL_MAX  2000

#define NGX_HTTP_CX_SENTINEL_AUTH  ((void *) 1)


/* a connection to one sentinel */
typedef struct {
    ngx_http_cx_conn_t         *ac;
    ngx_event_t                 timer;          /* connect, then answer */
    ngx_http_cx_addr_t         *addr;
} ngx_http_cx_sentinel_conn_t;


typedef struct {
    ngx_http_cx_main_conf_t    *conf;
    ngx_log_t                  *log;

    ngx_http_cx_sentinel_conn_t ask;            /* get-master-addr-by-name */
    ngx_http_cx_sentinel_conn_t sub;            /* +switch-master */

    ngx_event_t                 resubscribe;
    ngx_msec_t                  backoff;

    ngx_uint_t                  first;          /* asked first */
    ngx_uint_t                  asked;          /* in this round */
    ngx_uint_t                  need;           /* no primary meanwhile */

    ngx_resolver_ctx_t         *resolving;      /* resolve: a sentinel's */

    u_char                      error[NGX_SOCKADDR_STRLEN + 160];
} ngx_http_cx_sentinel_t;


static void ngx_http_cx_sentinel_next(ngx_http_cx_sentinel_t *sn);
static ngx_int_t ngx_http_cx_sentinel_question(ngx_http_cx_sentinel_t *sn,
    ngx_http_cx_addr_t *addr);
static void ngx_http_cx_sentinel_resolved(ngx_resolver_ctx_t *ctx);
static ngx_http_cx_conn_t *ngx_http_cx_sentinel_connect(
    ngx_http_cx_sentinel_t *sn, ngx_http_cx_sentinel_conn_t *sc,
    ngx_http_cx_addr_t *addr);
static void ngx_http_cx_sentinel_close(ngx_http_cx_sentinel_conn_t *sc);
static void ngx_http_cx_sentinel_fault(ngx_http_cx_sentinel_t *sn,
    ngx_http_cx_addr_t *addr, const char *what, size_t len,
    const char *detail);
static void ngx_http_cx_sentinel_answer(ngx_http_cx_conn_t *ac, void *r,
    void *privdata);
static void ngx_http_cx_sentinel_subscribe(ngx_http_cx_sentinel_t *sn,
    ngx_http_cx_addr_t *addr);
static void ngx_http_cx_sentinel_message(ngx_http_cx_conn_t *ac, void *r,
    void *privdata);
static void ngx_http_cx_sentinel_sub_auth(ngx_http_cx_conn_t *ac, void *r,
    void *privdata);
static void ngx_http_cx_sentinel_lost(ngx_http_cx_sentinel_t *sn);
static ngx_int_t ngx_http_cx_sentinel_address(u_char *host, size_t len,
    u_char *port, size_t port_len, ngx_int_t *n);
static void ngx_http_cx_sentinel_connected(ngx_http_cx_conn_t *ac,
    ngx_int_t status);
static void ngx_http_cx_sentinel_disconnected(ngx_http_cx_conn_t *ac,
    ngx_int_t status);
static void ngx_http_cx_sentinel_timeout(ngx_event_t *ev);
static void ngx_http_cx_sentinel_resubscribe(ngx_event_t *ev);


static ngx_http_cx_sentinel_t  ngx_http_cx_sentinel;


ngx_int_t
ngx_http_cx_sentinel_init_process(ngx_cycle_t *cycle)
{
    ngx_http_cx_sentinel_t   *sn;
    ngx_http_cx_main_conf_t  *cmcf;

    cmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_cx_module);

    sn = &ngx_http_cx_sentinel;

    ngx_http_cx_sentinel_cleanup();

    ngx_memzero(sn, sizeof(ngx_http_cx_sentinel_t));

    sn->conf = cmcf;
    sn->log = cycle->log;

    sn->ask.timer.handler = ngx_http_cx_sentinel_timeout;
    sn->ask.timer.data = &sn->ask;
    sn->ask.timer.log = sn->log;
    sn->ask.timer.cancelable = 1;

    sn->sub.timer.handler = ngx_http_cx_sentinel_timeout;
    sn->sub.timer.data = &sn->sub;
    sn->sub.timer.log = sn->log;
    sn->sub.timer.cancelable = 1;

    sn->resubscribe.handler = ngx_http_cx_sentinel_resubscribe;
    sn->resubscribe.data = sn;
    sn->resubscribe.log = sn->log;
    sn->resubscribe.cancelable = 1;

    sn->backoff = NGX_HTTP_CX_SENTINEL_MIN;

    /* each worker starts with a sentinel of its own: the load spreads */

    sn->first = (ngx_uint_t) ngx_pid % cmcf->sentinels->nelts;

    ngx_http_cx_sentinel_ask(1);

    return NGX_OK;
}


void
ngx_http_cx_sentinel_cleanup(void)
{
    ngx_http_cx_sentinel_t  *sn;

    sn = &ngx_http_cx_sentinel;

    if (sn->conf == NULL) {
        return;
    }

    if (sn->resubscribe.timer_set) {
        ngx_del_timer(&sn->resubscribe);
    }

    if (sn->resolving) {
        ngx_resolve_name_done(sn->resolving);
        sn->resolving = NULL;
    }

    ngx_http_cx_sentinel_close(&sn->ask);
    ngx_http_cx_sentinel_close(&sn->sub);

    sn->conf = NULL;
}


/*
 * Asks for the primary, unless a question is out already; need: the
 * worker has no primary meanwhile, so that no answer is a fault.
 */

void
ngx_http_cx_sentinel_ask(ngx_uint_t need)
{
    ngx_http_cx_sentinel_t  *sn;

    sn = &ngx_http_cx_sentinel;

    if (sn->conf == NULL) {
        return;
    }

    sn->need |= need;

    if (sn->ask.ac || sn->resolving) {
        return;
    }

    sn->asked = 0;
    sn->error[0] = '\0';

    ngx_http_cx_sentinel_next(sn);
}


static void
ngx_http_cx_sentinel_next(ngx_http_cx_sentinel_t *sn)
{
    ngx_uint_t            n;
    ngx_http_cx_addr_t   *addr;

    n = sn->conf->sentinels->nelts;

    while (sn->asked < n) {
        addr = sn->conf->sentinels->elts;
        addr = &addr[(sn->first + sn->asked++) % n];

        if (addr->name.len) {
            /* resolve: asked once the resolver names its address */

            if (ngx_http_cx_redis_ask_name(addr,
                                           ngx_http_cx_sentinel_resolved,
                                           &sn->resolving)
                == NGX_OK)
            {
                return;
            }

            continue;
        }

        if (ngx_http_cx_sentinel_question(sn, addr) == NGX_OK) {
            return;
        }
    }

    /* none named the primary */

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    if (sn->need) {
        ngx_http_cx_redis_retry("no sentinel named the primary",
                                sn->error[0] ? (char *) sn->error : NULL);
        return;
    }

    if (sn->sub.ac == NULL && !sn->resubscribe.timer_set) {
        ngx_add_timer(&sn->resubscribe, sn->backoff);
        sn->backoff = ngx_min(sn->backoff * 2, NGX_HTTP_CX_SENTINEL_MAX);
    }
}


/*
 * A sentinel's name answered (cx_redis_sentinel ... resolve): asked at
 * its first address, or at the one it had if it no longer resolves; a
 * name that never did is skipped, the round's fault.
 */

static void
ngx_http_cx_sentinel_resolved(ngx_resolver_ctx_t *ctx)
{
    const char              *err;
    ngx_http_cx_addr_t      *addr;
    ngx_http_cx_sentinel_t  *sn;

    sn = &ngx_http_cx_sentinel;
    addr = ctx->data;

    if (ngx_http_cx_redis_answered(ctx, addr) != NGX_OK
        && addr->host.len == 0)
    {
        err = ngx_resolver_strerror(ctx->state);
        ngx_http_cx_sentinel_fault(sn, addr, "could not be resolved",
                                   ngx_strlen(err), err);
    }

    ngx_resolve_name_done(ctx);
    sn->resolving = NULL;

    if (addr->host.len && ngx_http_cx_sentinel_question(sn, addr) == NGX_OK) {
        return;
    }

    ngx_http_cx_sentinel_next(sn);
}


/* "SENTINEL get-master-addr-by-name", asked of one: NGX_ERROR, skipped */

static ngx_int_t
ngx_http_cx_sentinel_question(ngx_http_cx_sentinel_t *sn,
    ngx_http_cx_addr_t *addr)
{
    ngx_str_t            argv[3];
    ngx_http_cx_conn_t  *ac;

    ac = ngx_http_cx_sentinel_connect(sn, &sn->ask, addr);
    if (ac == NULL) {
        return NGX_ERROR;
    }

    argv[0] = ngx_http_cx_lit("SENTINEL");
    argv[1] = ngx_http_cx_lit("get-master-addr-by-name");
    argv[2] = sn->conf->redis_name;

    if (ngx_http_cx_conn_command(ac, ngx_http_cx_sentinel_answer, NULL,
                                 3, argv)
        != NGX_OK)
    {
        ngx_http_cx_sentinel_close(&sn->ask);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* a connection to a sentinel, its AUTH queued: NULL, the fault noted */

static ngx_http_cx_conn_t *
ngx_http_cx_sentinel_connect(ngx_http_cx_sentinel_t *sn,
    ngx_http_cx_sentinel_conn_t *sc, ngx_http_cx_addr_t *addr)
{
    u_char               host[NGX_SOCKADDR_STRLEN + 1];
    ngx_str_t            argv[2];
    ngx_http_cx_conn_t  *ac;

    ngx_cpystrn(host, addr->host.data, addr->host.len + 1);

    ac = ngx_http_cx_conn_open(host, addr->port,
                               sn->conf->sentinel_tls ? &sn->conf->tls : NULL,
                               NULL, sn->log);

    if (ac == NULL) {
        ngx_http_cx_sentinel_fault(sn, addr, "no memory", 0, NULL);
        return NULL;
    }

    if (ac->err) {
        ngx_http_cx_sentinel_fault(sn, addr, ac->errstr, 0, NULL);
        ngx_http_cx_conn_free(ac);
        return NULL;
    }

    sc->ac = ac;
    sc->addr = addr;

    ac->connected = ngx_http_cx_sentinel_connected;
    ac->disconnected = ngx_http_cx_sentinel_disconnected;

    if (sn->conf->sentinel_password.len) {
        argv[0] = ngx_http_cx_lit("AUTH");
        argv[1] = sn->conf->sentinel_password;

        if (ngx_http_cx_conn_command(ac, sc == &sn->ask
                                         ? ngx_http_cx_sentinel_answer
                                         : ngx_http_cx_sentinel_sub_auth,
                                     NGX_HTTP_CX_SENTINEL_AUTH, 2, argv)
            != NGX_OK)
        {
            ngx_http_cx_sentinel_close(sc);
            return NULL;
        }
    }

    ngx_add_timer(&sc->timer, sn->conf->connect_timeout);

    return ac;
}


static void
ngx_http_cx_sentinel_close(ngx_http_cx_sentinel_conn_t *sc)
{
    ngx_http_cx_conn_t  *ac;

    if (sc->timer.timer_set) {
        ngx_del_timer(&sc->timer);
    }

    ac = sc->ac;

    if (ac == NULL) {
        return;
    }

    /* its callbacks, run now or after the one running, find it gone */

    sc->ac = NULL;

    ngx_http_cx_conn_free(ac);
}


/*
 * What a sentinel said, for a log line: at most len bytes, each control
 * byte, DEL or byte past ASCII a "?", so that a bulk string (which may
 * hold CR and LF) cannot forge a line.
 */

static size_t
ngx_http_cx_sentinel_text(u_char *dst, const char *src, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        dst[i] = ((u_char) src[i] < 0x20 || (u_char) src[i] >= 0x7f)
                 ? '?' : (u_char) src[i];
    }

    return len;
}


/* what went wrong with a sentinel, for the line of a round that failed */

static void
ngx_http_cx_sentinel_fault(ngx_http_cx_sentinel_t *sn,
    ngx_http_cx_addr_t *addr, const char *what, size_t len,
    const char *detail)
{
    u_char  *p, *last, text[128];

    last = sn->error + sizeof(sn->error) - 1;

    p = ngx_snprintf(sn->error, last - sn->error, "%V:%i: %s",
                     addr->name.len ? &addr->name : &addr->host,
                     addr->port, what);

    if (detail) {
        p = ngx_snprintf(p, last - p, ": %*s",
                         ngx_http_cx_sentinel_text(text, detail,
                                                   ngx_min(len, 128)),
                         text);
    }

    *p = '\0';

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, sn->log, 0, "cx: sentinel %s",
                   sn->error);
}


static void
ngx_http_cx_sentinel_answer(ngx_http_cx_conn_t *ac, void *r, void *privdata)
{
    redisReply  *reply = r;

    ngx_int_t                port;
    redisReply              *host, *p;
    ngx_http_cx_addr_t      *addr;
    ngx_http_cx_sentinel_t  *sn;

    sn = &ngx_http_cx_sentinel;

    if (reply == NULL || ac != sn->ask.ac) {
        /* gone: its disconnect callback or our own close */
        return;
    }

    addr = sn->ask.addr;

    if (reply->type == REDIS_REPLY_ERROR) {
        ngx_http_cx_sentinel_fault(sn, addr,
                                   privdata == NGX_HTTP_CX_SENTINEL_AUTH
                                   ? "AUTH" : "SENTINEL",
                                   reply->len, reply->str);
        goto next;
    }

    if (privdata == NGX_HTTP_CX_SENTINEL_AUTH) {
        return;
    }

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2
        || reply->element[0]->type != REDIS_REPLY_STRING
        || reply->element[1]->type != REDIS_REPLY_STRING)
    {
        /* nil: the sentinel does not monitor that name */
        ngx_http_cx_sentinel_fault(sn, addr, "does not know the name", 0,
                                   NULL);
        goto next;
    }

    host = reply->element[0];
    p = reply->element[1];

    if (ngx_http_cx_sentinel_address((u_char *) host->str, host->len,
                                     (u_char *) p->str, p->len, &port)
        != NGX_OK)
    {
        ngx_http_cx_sentinel_fault(sn, addr, "named no address", host->len,
                                   host->str);
        goto next;
    }

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, sn->log, 0,
                   "cx: sentinel %V:%i: the primary is %s:%i", &addr->host,
                   addr->port, host->str, port);

    /* this sentinel is asked first next time */

    sn->first = addr - (ngx_http_cx_addr_t *) sn->conf->sentinels->elts;
    sn->need = 0;

    ngx_http_cx_sentinel_close(&sn->ask);

    if (sn->sub.ac == NULL) {
        ngx_http_cx_sentinel_subscribe(sn, addr);
    }

    ngx_http_cx_redis_primary((u_char *) host->str, host->len, port, addr);

    return;

next:

    ngx_http_cx_sentinel_close(&sn->ask);
    ngx_http_cx_sentinel_next(sn);
}


/* the subscription, on a connection to a sentinel that answered */

static void
ngx_http_cx_sentinel_subscribe(ngx_http_cx_sentinel_t *sn,
    ngx_http_cx_addr_t *addr)
{
    ngx_str_t            argv[2];
    ngx_http_cx_conn_t  *ac;

    if (sn->resubscribe.timer_set) {
        ngx_del_timer(&sn->resubscribe);
    }

    ac = ngx_http_cx_sentinel_connect(sn, &sn->sub, addr);
    if (ac == NULL) {
        ngx_http_cx_sentinel_lost(sn);
        return;
    }

    argv[0] = ngx_http_cx_lit("SUBSCRIBE");
    argv[1] = ngx_http_cx_lit("+switch-master");

    /* the messages that follow answer no command */

    ac->push = ngx_http_cx_sentinel_message;

    if (ngx_http_cx_conn_command(ac, ngx_http_cx_sentinel_message, NULL, 2,
                                 argv)
        != NGX_OK)
    {
        ngx_http_cx_sentinel_close(&sn->sub);
        ngx_http_cx_sentinel_lost(sn);
    }
}


static void
ngx_http_cx_sentinel_sub_auth(ngx_http_cx_conn_t *ac, void *r,
    void *privdata)
{
    redisReply  *reply = r;

    ngx_http_cx_sentinel_t  *sn;

    sn = &ngx_http_cx_sentinel;

    if (reply == NULL || ac != sn->sub.ac
        || reply->type != REDIS_REPLY_ERROR)
    {
        return;
    }

    ngx_log_error(NGX_LOG_WARN, sn->log, 0,
                  "cx: sentinel %V:%i refused AUTH: %*s, not subscribed",
                  &sn->sub.addr->host, sn->sub.addr->port,
                  ngx_min(reply->len, 128), reply->str);

    ngx_http_cx_sentinel_close(&sn->sub);
    ngx_http_cx_sentinel_lost(sn);
}


/*
 * "subscribe +switch-master 1", then for each failover "message
 * +switch-master <name> <old-ip> <old-port> <new-ip> <new-port>".
 */

static void
ngx_http_cx_sentinel_message(ngx_http_cx_conn_t *ac, void *r, void *privdata)
{
    redisReply  *reply = r;

    u_char                  *p, *last, *word[5], safe[64];
    size_t                   len[5];
    ngx_int_t                port;
    ngx_uint_t               n;
    redisReply              *kind, *text;
    ngx_http_cx_sentinel_t  *sn;

    sn = &ngx_http_cx_sentinel;

    if (reply == NULL || ac != sn->sub.ac) {
        return;
    }

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3
        || reply->element[0]->type != REDIS_REPLY_STRING)
    {
        return;
    }

    kind = reply->element[0];
    text = reply->element[2];

    if (kind->len == 9 && ngx_strncmp(kind->str, "subscribe", 9) == 0) {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, sn->log, 0,
                       "cx: sentinel %V:%i: subscribed to +switch-master",
                       &sn->sub.addr->host, sn->sub.addr->port);

        if (sn->sub.timer.timer_set) {
            ngx_del_timer(&sn->sub.timer);
        }

        sn->backoff = NGX_HTTP_CX_SENTINEL_MIN;
        return;
    }

    if (kind->len != 7 || ngx_strncmp(kind->str, "message", 7) != 0
        || text->type != REDIS_REPLY_STRING)
    {
        return;
    }

    p = (u_char *) text->str;
    last = p + text->len;

    for (n = 0; n < 5 && p < last; n++) {
        word[n] = p;

        while (p < last && *p != ' ') {
            p++;
        }

        len[n] = p - word[n];

        if (p < last) {
            p++;
        }
    }

    if (n < 5 || p != last
        || len[0] != sn->conf->redis_name.len
        || ngx_strncmp(word[0], sn->conf->redis_name.data, len[0]) != 0)
    {
        /* another master's, or not a message we know */
        return;
    }

    if (ngx_http_cx_sentinel_address(word[3], len[3], word[4], len[4], &port)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_WARN, sn->log, 0,
                      "cx: sentinel %V:%i: +switch-master names no "
                      "address: \"%*s\"", &sn->sub.addr->host,
                      sn->sub.addr->port,
                      ngx_http_cx_sentinel_text(safe, (char *) word[3],
                                                ngx_min(len[3], 64)),
                      safe);
        return;
    }

    ngx_http_cx_redis_primary(word[3], len[3], port, sn->sub.addr);
}


/* the subscription is gone: again, after the backoff, asking first */

static void
ngx_http_cx_sentinel_lost(ngx_http_cx_sentinel_t *sn)
{
    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    if (!sn->resubscribe.timer_set) {
        ngx_add_timer(&sn->resubscribe, sn->backoff);
        sn->backoff = ngx_min(sn->backoff * 2, NGX_HTTP_CX_SENTINEL_MAX);
    }
}


static void
ngx_http_cx_sentinel_resubscribe(ngx_event_t *ev)
{
    ngx_http_cx_sentinel_ask(0);
}


/*
 * An address a sentinel names, numeric: connected to without a
 * resolver (a sentinel with "announce-hostnames yes" names hosts).
 */

static ngx_int_t
ngx_http_cx_sentinel_address(u_char *host, size_t len, u_char *port,
    size_t port_len, ngx_int_t *n)
{
#if (NGX_HAVE_INET6)
    u_char  addr6[16];
#endif

    if (len == 0 || len > NGX_SOCKADDR_STRLEN) {
        return NGX_ERROR;
    }

    if (ngx_inet_addr(host, len) == INADDR_NONE
#if (NGX_HAVE_INET6)
        && ngx_inet6_addr(host, len, addr6) != NGX_OK
#endif
       )
    {
        return NGX_ERROR;
    }

    *n = ngx_atoi(port, port_len);

    if (*n < 1 || *n > 65535) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_cx_sentinel_connected(ngx_http_cx_conn_t *ac, ngx_int_t status)
{
    ngx_http_cx_sentinel_t  *sn;

    sn = &ngx_http_cx_sentinel;

    if (status == NGX_OK) {
        /* connected: as long again for the answer, or the subscription */

        if (ac == sn->ask.ac) {
            ngx_add_timer(&sn->ask.timer, sn->conf->connect_timeout);

        } else if (ac == sn->sub.ac) {
            ngx_add_timer(&sn->sub.timer, sn->conf->connect_timeout);
        }

        return;
    }

    /* the connection is freed after this callback returns */

    if (ac == sn->ask.ac) {
        ngx_http_cx_sentinel_fault(sn, sn->ask.addr, ac->errstr, 0, NULL);
        sn->ask.ac = NULL;

        if (sn->ask.timer.timer_set) {
            ngx_del_timer(&sn->ask.timer);
        }

        ngx_http_cx_sentinel_next(sn);

    } else if (ac == sn->sub.ac) {
        sn->sub.ac = NULL;

        if (sn->sub.timer.timer_set) {
            ngx_del_timer(&sn->sub.timer);
        }

        ngx_http_cx_sentinel_lost(sn);
    }
}


static void
ngx_http_cx_sentinel_disconnected(ngx_http_cx_conn_t *ac, ngx_int_t status)
{
    ngx_http_cx_sentinel_t  *sn;

    sn = &ngx_http_cx_sentinel;

    if (ac == sn->ask.ac) {
        ngx_http_cx_sentinel_fault(sn, sn->ask.addr, "connection lost", 0,
                                   NULL);
        sn->ask.ac = NULL;

        if (sn->ask.timer.timer_set) {
            ngx_del_timer(&sn->ask.timer);
        }

        ngx_http_cx_sentinel_next(sn);

    } else if (ac == sn->sub.ac) {
        ngx_log_error(NGX_LOG_INFO, sn->log, 0,
                      "cx: sentinel %V:%i: subscription lost",
                      &sn->sub.addr->host, sn->sub.addr->port);

        sn->sub.ac = NULL;

        if (sn->sub.timer.timer_set) {
            ngx_del_timer(&sn->sub.timer);
        }

        ngx_http_cx_sentinel_lost(sn);
    }

    /* else our own close */
}


static void
ngx_http_cx_sentinel_timeout(ngx_event_t *ev)
{
    ngx_http_cx_sentinel_conn_t *sc = ev->data;

    ngx_http_cx_sentinel_t  *sn;

    sn = &ngx_http_cx_sentinel;

    ngx_http_cx_sentinel_fault(sn, sc->addr, "timed out", 0, NULL);

    ngx_http_cx_sentinel_close(sc);

    if (sc == &sn->ask) {
        ngx_http_cx_sentinel_next(sn);

    } else {
        ngx_http_cx_sentinel_lost(sn);
    }
}
