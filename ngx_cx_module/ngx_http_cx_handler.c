
/*
 * Copyright (C) ngx_cx authors
 *
 * The request path, in the rewrite phase so that it runs before the
 * location's own "return" and "rewrite": classify the uri into a step,
 * identify the customer, send one pipelined batch to Redis, wait for the
 * suggestions at most cx_timeout, then let the phases go on.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <sys/random.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include <ngx_http_cx_module.h>


static ngx_int_t ngx_http_cx_identify(ngx_http_request_t *r,
    ngx_http_cx_loc_conf_t *clcf, ngx_http_cx_ctx_t *ctx, ngx_str_t *id);
static ngx_int_t ngx_http_cx_send(ngx_http_cx_main_conf_t *cmcf,
    ngx_http_cx_loc_conf_t *clcf, ngx_http_cx_slot_t *slot, ngx_str_t *id);
static void ngx_http_cx_prev_reply(redisAsyncContext *ac, void *data,
    void *privdata);
static void ngx_http_cx_next_reply(redisAsyncContext *ac, void *data,
    void *privdata);
static ngx_int_t ngx_http_cx_set_next(ngx_http_cx_ctx_t *ctx,
    redisReply *reply);
static void ngx_http_cx_wake_handler(ngx_event_t *ev);
static void ngx_http_cx_cleanup(void *data);


ngx_int_t
ngx_http_cx_handler(ngx_http_request_t *r)
{
    u_char                    member[NGX_HTTP_CX_MEMBER_MAX];
    size_t                    name_len, member_len;
    ngx_str_t                 id;
    ngx_pool_cleanup_t       *cln;
    ngx_http_cx_ctx_t        *ctx;
    ngx_http_cx_slot_t       *slot;
    ngx_http_cx_loc_conf_t   *clcf;
    ngx_http_cx_main_conf_t  *cmcf;

    if (r != r->main) {
        return NGX_DECLINED;
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_cx_module);

    if (!clcf->enable || clcf->steps == NULL) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_cx_get_ctx(r);

    if (ctx) {
        /* after an internal redirect or "rewrite ... last": recorded once */
        return ctx->waiting ? NGX_DONE : NGX_DECLINED;
    }

    if (ngx_http_cx_classify(r, clcf, member, &name_len, &member_len)
        != NGX_OK)
    {
        /* not a step: neither recorded nor delayed */
        return NGX_DECLINED;
    }

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_http_cx_ctx_t));
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx = cln->data;
    ngx_memzero(ctx, sizeof(ngx_http_cx_ctx_t));

    ctx->request = r;
    ctx->status = NGX_HTTP_CX_BYPASS;

    cln->handler = ngx_http_cx_cleanup;
    ngx_http_set_ctx(r, ctx, ngx_http_cx_module);

    ctx->step.name.data = ngx_pnalloc(r->pool, member_len);
    if (ctx->step.name.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(ctx->step.name.data, member, member_len);
    ctx->step.name.len = name_len;
    ctx->step.url.data = ctx->step.name.data + name_len + 1;
    ctx->step.url.len = member_len - name_len - 1;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "cx: step \"%V\" url \"%V\"", &ctx->step.name,
                   &ctx->step.url);

    if (ngx_http_cx_identify(r, clcf, ctx, &id) != NGX_OK) {
        return NGX_DECLINED;
    }

    slot = ngx_http_cx_redis_acquire(r->connection->log, &ctx->status);
    if (slot == NULL) {
        return NGX_DECLINED;
    }

    slot->name_len = name_len;
    slot->member_len = member_len;
    ngx_memcpy(slot->member, member, member_len);

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_cx_module);

    if (ngx_http_cx_send(cmcf, clcf, slot, &id) != NGX_OK) {
        ngx_http_cx_redis_release(slot);
        ctx->status = NGX_HTTP_CX_ERROR;
        return NGX_DECLINED;
    }

    slot->ctx = ctx;
    ctx->slot = slot;
    ctx->status = NGX_HTTP_CX_PENDING;
    ctx->waiting = 1;

    ctx->wake.handler = ngx_http_cx_wake_handler;
    ctx->wake.data = ctx;
    ctx->wake.log = r->connection->log;

    ngx_add_timer(&ctx->wake, cmcf->timeout);

    r->main->count++;
    r->write_event_handler = ngx_http_request_empty_handler;

    return NGX_DONE;
}


/*
 * The ctx lives in a cleanup of r->pool, so it survives internal redirects
 * (try_files, index, error_page), which reset r->ctx: realip's idiom.
 */

ngx_http_cx_ctx_t *
ngx_http_cx_get_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t  *cln;
    ngx_http_cx_ctx_t   *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_cx_module);

    if (ctx == NULL && (r->internal || r->filter_finalize)) {

        for (cln = r->pool->cleanup; cln; cln = cln->next) {
            if (cln->handler == ngx_http_cx_cleanup) {
                ctx = cln->data;
                ngx_http_set_ctx(r, ctx, ngx_http_cx_module);
                break;
            }
        }
    }

    return ctx;
}


static ngx_int_t
ngx_http_cx_identify(ngx_http_request_t *r, ngx_http_cx_loc_conf_t *clcf,
    ngx_http_cx_ctx_t *ctx, ngx_str_t *id)
{
    u_char  *p, rnd[NGX_HTTP_CX_COOKIE_ID_LEN / 2];
    size_t   len;

    if (ngx_http_complex_value(r, clcf->id ? clcf->id : clcf->id_cookie, id)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (id->len > 0 && id->len <= NGX_HTTP_CX_ID_MAX) {
        return NGX_OK;
    }

    if (clcf->cookie.len == 0) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "cx: no customer id");
        return NGX_DECLINED;
    }

    /* a new visitor: 128 random bits, sent back in a first-party cookie */

    if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t) sizeof(rnd))
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, ngx_errno,
                      "cx: getrandom() failed");
        return NGX_ERROR;
    }

    len = clcf->cookie.len + 1 + NGX_HTTP_CX_COOKIE_ID_LEN
          + clcf->cookie_attrs.len;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->cookie.data = p;
    ctx->cookie.len = len;

    p = ngx_cpymem(p, clcf->cookie.data, clcf->cookie.len);
    *p++ = '=';

    id->data = p;
    id->len = NGX_HTTP_CX_COOKIE_ID_LEN;

    p = ngx_http_cx_hex_id(p, rnd, sizeof(rnd));
    ngx_memcpy(p, clcf->cookie_attrs.data, clcf->cookie_attrs.len);

    return NGX_OK;
}


/*
 * One pipelined batch; only its last reply is waited for:
 *
 *   LPUSH P{H}:seq member; LTRIM ...; EXPIRE ...;
 *   LINDEX P{H}:seq 1 (the previous step), ZREVRANGE Pt:<name> 0 k
 *
 * The transition previous -> this step is counted when LINDEX answers,
 * off the request's critical path.
 */

static ngx_int_t
ngx_http_cx_send(ngx_http_cx_main_conf_t *cmcf, ngx_http_cx_loc_conf_t *clcf,
    ngx_http_cx_slot_t *slot, ngx_str_t *id)
{
    u_char       seq[NGX_HTTP_CX_KEY_MAX], tkey[NGX_HTTP_CX_KEY_MAX];
    u_char       stop[NGX_INT_T_LEN], *p;
    size_t       seq_len, tkey_len, stop_len;
    uint64_t     hash;
    const char  *argv[4];
    size_t       argvlen[4];

    hash = ngx_http_cx_hash_id(cmcf->hash_secret, id->data, id->len);

    seq_len = ngx_http_cx_customer_key(seq, &cmcf->prefix, hash, "seq") - seq;
    tkey_len = ngx_http_cx_step_key(tkey, &cmcf->prefix, slot->member,
                                    slot->name_len)
               - tkey;

    p = ngx_sprintf(stop, "%ui", clcf->suggest * 2);
    stop_len = p - stop;

    argv[1] = (char *) seq;
    argvlen[1] = seq_len;

    argv[0] = "LPUSH";
    argvlen[0] = 5;
    argv[2] = (char *) slot->member;
    argvlen[2] = slot->member_len;

    if (ngx_http_cx_redis_exec(NULL, NULL, 3, argv, argvlen) != NGX_OK) {
        return NGX_ERROR;
    }

    argv[0] = "LTRIM";
    argvlen[0] = 5;
    argv[2] = "0";
    argvlen[2] = 1;
    argv[3] = (char *) cmcf->trim_text.data;
    argvlen[3] = cmcf->trim_text.len;

    (void) ngx_http_cx_redis_exec(NULL, NULL, 4, argv, argvlen);

    argv[0] = "EXPIRE";
    argvlen[0] = 6;
    argv[2] = (char *) cmcf->ttl_text.data;
    argvlen[2] = cmcf->ttl_text.len;

    (void) ngx_http_cx_redis_exec(NULL, NULL, 3, argv, argvlen);

    argv[0] = "LINDEX";
    argvlen[0] = 6;
    argv[2] = "1";
    argvlen[2] = 1;

    (void) ngx_http_cx_redis_exec(ngx_http_cx_prev_reply, slot, 3, argv,
                                  argvlen);

    argv[0] = "ZREVRANGE";
    argvlen[0] = 9;
    argv[1] = (char *) tkey;
    argvlen[1] = tkey_len;
    argv[2] = "0";
    argvlen[2] = 1;
    argv[3] = (char *) stop;
    argvlen[3] = stop_len;

    /* every reply comes back in order, so this one comes last */

    return ngx_http_cx_redis_exec(ngx_http_cx_next_reply, slot, 4, argv,
                                  argvlen);
}


static void
ngx_http_cx_prev_reply(redisAsyncContext *ac, void *data, void *privdata)
{
    redisReply          *reply = data;
    ngx_http_cx_slot_t  *slot = privdata;

    u_char                   tkey[NGX_HTTP_CX_KEY_MAX];
    u_char                   stop[NGX_INT_T_LEN + 1];
    const char              *argv[4];
    size_t                   argvlen[4];
    ngx_http_cx_ref_t        prev;
    ngx_http_cx_main_conf_t  *cmcf;

    if (reply == NULL || reply->type != REDIS_REPLY_STRING) {
        return;
    }

    if ((size_t) reply->len == slot->member_len
        && ngx_memcmp(reply->str, slot->member, slot->member_len) == 0)
    {
        /* the same step again: a reload is no transition */
        return;
    }

    if (ngx_http_cx_member_parse((u_char *) reply->str, reply->len, &prev)
        != NGX_OK)
    {
        return;
    }

    cmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle, ngx_http_cx_module);

    argv[1] = (char *) tkey;
    argvlen[1] = ngx_http_cx_step_key(tkey, &cmcf->prefix, prev.name.data,
                                      prev.name.len)
                 - tkey;

    argv[0] = "ZINCRBY";
    argvlen[0] = 7;
    argv[2] = "1";
    argvlen[2] = 1;
    argv[3] = (char *) slot->member;
    argvlen[3] = slot->member_len;

    if (ngx_http_cx_redis_exec(NULL, NULL, 4, argv, argvlen) != NGX_OK) {
        return;
    }

    argv[0] = "EXPIRE";
    argvlen[0] = 6;
    argv[2] = (char *) cmcf->ttl_text.data;
    argvlen[2] = cmcf->ttl_text.len;

    (void) ngx_http_cx_redis_exec(NULL, NULL, 3, argv, argvlen);

    /* keep the NGX_HTTP_CX_FANOUT most frequent successors */

    argv[0] = "ZREMRANGEBYRANK";
    argvlen[0] = 15;
    argv[2] = "0";
    argvlen[2] = 1;
    argv[3] = (char *) stop;
    argvlen[3] = ngx_sprintf(stop, "%i", (ngx_int_t) -NGX_HTTP_CX_FANOUT - 1)
                 - stop;

    (void) ngx_http_cx_redis_exec(NULL, NULL, 4, argv, argvlen);
}


static void
ngx_http_cx_next_reply(redisAsyncContext *ac, void *data, void *privdata)
{
    redisReply          *reply = data;
    ngx_http_cx_slot_t  *slot = privdata;

    ngx_uint_t          status;
    ngx_http_cx_ctx_t  *ctx;

    ctx = slot->ctx;

    if (reply == NULL) {
        /* the connection went away; its own callback logs it */
        status = NGX_HTTP_CX_ERROR;

    } else if (reply->type != REDIS_REPLY_ARRAY) {
        ngx_http_cx_redis_episode(0, "answered",
                                  reply->type == REDIS_REPLY_ERROR
                                  ? reply->str : "an unexpected reply");
        status = NGX_HTTP_CX_ERROR;

    } else {
        ngx_http_cx_redis_episode(1, NULL, NULL);
        status = NGX_HTTP_CX_MISS;

        if (ctx) {
            status = ngx_http_cx_set_next(ctx, reply);
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

    /* resume from the posted events queue, not from inside hiredis */

    ngx_post_event(&ctx->wake, &ngx_posted_events);
}


static ngx_int_t
ngx_http_cx_set_next(ngx_http_cx_ctx_t *ctx, redisReply *reply)
{
    u_char                  *p;
    size_t                   len;
    ngx_uint_t               i, n, want;
    ngx_str_t                members[2 * NGX_HTTP_CX_SUGGEST_MAX];
    ngx_http_cx_ref_t        next[NGX_HTTP_CX_SUGGEST_MAX];
    ngx_http_cx_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(ctx->request, ngx_http_cx_module);

    n = 0;

    for (i = 0; i < reply->elements && n < 2 * NGX_HTTP_CX_SUGGEST_MAX; i++)
    {
        if (reply->element[i]->type != REDIS_REPLY_STRING) {
            continue;
        }

        members[n].data = (u_char *) reply->element[i]->str;
        members[n].len = reply->element[i]->len;
        n++;
    }

    want = ngx_min(clcf->suggest, NGX_HTTP_CX_SUGGEST_MAX);
    n = ngx_http_cx_pick(&ctx->step.name, members, n, want, next);

    if (n == 0) {
        return NGX_HTTP_CX_MISS;
    }

    len = 0;
    for (i = 0; i < n; i++) {
        len += next[i].url.len + 1;
    }

    p = ngx_pnalloc(ctx->request->pool, len);
    if (p == NULL) {
        return NGX_HTTP_CX_ERROR;
    }

    ctx->next.data = p;

    for (i = 0; i < n; i++) {
        if (i) {
            *p++ = ' ';
        }

        p = ngx_cpymem(p, next[i].url.data, next[i].url.len);
    }

    ctx->next.len = p - ctx->next.data;

    return NGX_HTTP_CX_HIT;
}


static void
ngx_http_cx_wake_handler(ngx_event_t *ev)
{
    ngx_connection_t    *c;
    ngx_http_request_t  *r;
    ngx_http_cx_ctx_t   *ctx;

    ctx = ev->data;
    r = ctx->request;
    c = r->connection;

    if (ev->timedout) {
        ev->timedout = 0;

        if (ctx->slot) {
            ctx->slot->ctx = NULL;
            ctx->slot = NULL;
        }

        ctx->status = NGX_HTTP_CX_TIMEOUT;

        ngx_http_cx_redis_episode(0, "did not answer within cx_timeout",
                                  NULL);
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, c->log, 0, "cx: resume, %V",
                   &ngx_http_cx_status_names[ctx->status]);

    ctx->waiting = 0;

    r->main->count--;
    r->write_event_handler = ngx_http_core_run_phases;

    ngx_http_core_run_phases(r);
    ngx_http_run_posted_requests(c);
}


static void
ngx_http_cx_cleanup(void *data)
{
    ngx_http_cx_ctx_t  *ctx = data;

    if (ctx->wake.timer_set) {
        ngx_del_timer(&ctx->wake);
    }

    if (ctx->wake.posted) {
        ngx_delete_posted_event(&ctx->wake);
    }

    if (ctx->slot) {
        /* a reply that comes later finds no request */
        ctx->slot->ctx = NULL;
        ctx->slot = NULL;
    }
}
