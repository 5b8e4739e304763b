
/*
 * Copyright (C) ngx_cx authors
 *
 * The request path, in the rewrite phase so that it runs before the
 * location's own "return" and "rewrite": classify the uri into a step,
 * identify the customer (ngx_http_cx_id.c), send the batch
 * (ngx_http_cx_batch.c), wait for the suggestions at most cx_timeout,
 * then let the phases go on.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <ngx_http_cx_module.h>


static void ngx_http_cx_wake_handler(ngx_event_t *ev);
static void ngx_http_cx_cleanup(void *data);


/* request headers by which a customer asks not to be tracked, set to 1 */
static ngx_str_t  ngx_http_cx_do_not_track[] = {
    ngx_string("Sec-GPC"),          /* Global Privacy Control */
    ngx_string("DNT"),              /* Do Not Track */
    ngx_null_string
};

static ngx_str_t  ngx_http_cx_do_not_track_on = ngx_string("1");


ngx_int_t
ngx_http_cx_handler(ngx_http_request_t *r)
{
    ngx_http_cx_ctx_t       *ctx;
    ngx_http_cx_loc_conf_t  *clcf;

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

    return ngx_http_cx_start(r, clcf, &r->uri, 0);
}


/*
 * Classifies the uri, identifies the customer and sends the batch of
 * reads; the step is recorded in the log phase (ngx_http_cx_record.c).
 * NGX_DONE: waiting for Redis, with a reference on the request that the
 * wake handler gives back.  NGX_DECLINED: answered already (not a step,
 * no id, Redis down, too many in flight, or nothing to read: a new id
 * and the shared model from cx_model_cache); ctx->status tells which.
 * With "api", nothing is recorded and no id cookie is issued.
 *
 * A step answered with no round trip whose location shows nothing
 * (cx_header, cx_prefetch, cx_inject), in a configuration that names no
 * variable of the answer and has no cx_api, is recorded without one:
 * the answer is made only if something reads it after all (SSI, Lua),
 * and only what was asked for is counted as served and offered.
 *
 * A customer who asks not to be tracked (Sec-GPC or DNT, with
 * cx_privacy_signals), or a visitor without consent to the id cookie, is
 * served as a visitor whose id is issued with this response: the shared
 * model only, nothing read of theirs, nothing written, no cookie.
 */

ngx_int_t
ngx_http_cx_start(ngx_http_request_t *r, ngx_http_cx_loc_conf_t *clcf,
    ngx_str_t *uri, ngx_uint_t api)
{
    u_char                    member[NGX_HTTP_CX_MEMBER_MAX];
    size_t                    name_len, member_len;
    ngx_int_t                 ms, cached;
    ngx_str_t                 id, anon, t;
    ngx_uint_t                login, fresh, count;
    ngx_time_t               *tp;
    ngx_http_cx_ctx_t        *ctx;
    ngx_http_cx_slot_t       *slot;
    ngx_http_cx_step_t       *declared;
    ngx_http_cx_state_t      *st;
    ngx_http_cx_srv_conf_t   *cxscf;
    ngx_http_cx_main_conf_t  *cmcf;

    if (ngx_http_cx_classify(r, clcf, uri, member, &name_len, &member_len,
                             &declared)
        != NGX_OK)
    {
        /* not a step: neither recorded nor delayed */
        return NGX_DECLINED;
    }

    ctx = ngx_http_cx_create_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->api = api;

    ctx->step.name.data = ngx_pnalloc(r->pool, member_len);
    if (ctx->step.name.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(ctx->step.name.data, member, member_len);
    ctx->step.name.len = name_len;
    ctx->step.url.data = ctx->step.name.data + name_len + 1;
    ctx->step.url.len = member_len - name_len - 1;
    ctx->member.data = ctx->step.name.data;
    ctx->member.len = member_len;
    ctx->conf = clcf;
    ctx->declared = declared;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "cx: step \"%V\" url \"%V\"", &ctx->step.name,
                   &ctx->step.url);

    if (clcf->privacy
        && ngx_http_cx_header_in(r, ngx_http_cx_do_not_track,
                                 &ngx_http_cx_do_not_track_on))
    {
        ngx_str_null(&id);
        ngx_str_null(&anon);
        login = 0;

    } else if (ngx_http_cx_identify(r, clcf, ctx, &id, &login, &anon,
                                    api ? 0 : NGX_HTTP_CX_ID_ISSUE)
               != NGX_OK)
    {
        return NGX_DECLINED;
    }

    /* no id, and none issued: not tracked */
    ctx->untracked = (id.len == 0);

    /* the shop: the server's keys and the key ids are hashed with */
    cxscf = ngx_http_get_module_srv_conf(r, ngx_http_cx_module);

    if (!ctx->untracked) {
        ctx->hash = ngx_http_cx_hash_id(cxscf->hash_keys, login, id.data,
                                        id.len);
        ctx->variant = ngx_http_cx_variant(ctx->hash, clcf->holdout);
    }

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_cx_module);

    tp = ngx_timeofday();

    ctx->now = (int64_t) tp->sec * 1000 + tp->msec;

    if (clcf->time) {
        /* replaying a log: the event's own time, in ms */

        if (ngx_http_complex_value(r, clcf->time, &t) == NGX_OK) {
            ms = ngx_atoi(t.data, t.len);
            if (ms > 0) {
                ctx->now = ms;
            }
        }
    }

    /* once for the batch, the model's entry and the rule credits */

    ctx->weight = ngx_http_cx_decay(ctx->now, cmcf->half_life, &ctx->epoch);

    if (anon.len && !api) {
        /* a login: the cookie's history is merged after the response */
        ctx->anon = ngx_http_cx_hash_id(cxscf->hash_keys, 0, anon.data,
                                        anon.len);
        ctx->login = (ctx->anon != ctx->hash);
    }

    ctx->goal = clcf->goal.name.len == name_len
                && ngx_strncmp(clcf->goal.name.data, member, name_len) == 0;

    /* an id issued with this response, or none, has nothing to read */
    fresh = (ctx->cookie.len != 0 || ctx->untracked);

    /* a step to record once the response is known: ngx_http_cx_record.c */

    count = 0;

    if (!api && !fresh && ngx_http_cx_learnable(r, clcf, ctx)) {
        count = ctx->viewed.len ? 2 : 1;
    }

    ctx->count = count;

    if (!fresh) {
        if (ngx_http_cx_customer_get(ctx, cxscf, ctx->now) == NGX_OK) {

            /*
             * The edge's copy (ngx_http_cx_customer.c): none of the
             * customer's reads; the steps today are counted in the zone,
             * and sent to Redis with its next read.
             */

            st = &ctx->customer->state;

            /* an earlier day's count is none of today's */

            ctx->steps_today = ngx_http_cx_customer_count(ctx,
                                 st->lday == ngx_http_cx_day(ctx->now)
                                 ? st->learned : 0,
                                 count);
            ngx_http_cx_use(ctx, ctx->customer);

        } else {
            /* what the batch reads of the customer goes there */

            ctx->customer = ngx_pcalloc(r->pool,
                                        sizeof(ngx_http_cx_customer_t));
            if (ctx->customer == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            ctx->read_at = ctx->now;
        }
    }

    cached = ngx_http_cx_model(ctx, cxscf);

    if ((fresh || ctx->cached) && cached != NGX_DECLINED) {
        /* nothing to read: answered at once, no slot, no round trip */

        if (cached == NGX_AGAIN) {
            ngx_http_cx_refresh(ctx, cxscf);
        }

        ctx->known = 1;
        ctx->learn = (count != 0);

        if (api || cmcf->asked || ngx_http_cx_shows(clcf)) {
            ngx_http_cx_answer(ctx, ctx->shared, ctx->shared_w,
                               ctx->nshared);

        } else {
            /* nothing here shows it: made if read (ngx_http_cx_ask()) */
            ctx->status = NGX_HTTP_CX_UNASKED;
        }

        ngx_http_cx_metric_cache(NGX_HTTP_CX_M_NO_ROUND_TRIP, 1);

        return NGX_DECLINED;
    }

    slot = ngx_http_cx_redis_acquire(r->connection->log, &ctx->status);
    if (slot == NULL) {
        return NGX_DECLINED;
    }

    slot->shop = cxscf;
    slot->hash = ctx->hash;
    slot->now = ctx->now;
    slot->epoch = ctx->epoch;
    slot->weight = ctx->weight;
    slot->fresh = fresh;
    slot->cached = (cached != NGX_DECLINED);
    slot->kept = ctx->cached;
    slot->errors = 0;
    slot->count = count;
    slot->unsent = (count && !ctx->cached) ? ngx_http_cx_customer_unsent(ctx)
                                           : 0;
    slot->name_len = name_len;
    slot->member_len = member_len;
    ngx_memcpy(slot->member, member, member_len);

    slot->sent = ngx_http_cx_metric_clock();

    if (ngx_http_cx_send(cmcf, cxscf, slot) != NGX_OK) {
        slot->batch = 0;
        ngx_http_cx_redis_release(slot);
        ngx_http_cx_metric_redis(NGX_HTTP_CX_M_ERRORS);
        ctx->status = NGX_HTTP_CX_ERROR;
        return NGX_DECLINED;
    }

    ctx->learn = (slot->count != 0);

    ngx_http_cx_wait(r, ctx, slot);

    if (cached == NGX_AGAIN) {
        /* after the batch: its replies never come behind the refresh's */
        ngx_http_cx_refresh(ctx, cxscf);
    }

    return NGX_DONE;
}


/* the ctx of a request that reads Redis: a step, cx_api, cx_forget */

ngx_http_cx_ctx_t *
ngx_http_cx_create_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t  *cln;
    ngx_http_cx_ctx_t   *ctx;

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_http_cx_ctx_t));
    if (cln == NULL) {
        return NULL;
    }

    ctx = cln->data;
    ngx_memzero(ctx, sizeof(ngx_http_cx_ctx_t));

    ctx->request = r;
    ctx->status = NGX_HTTP_CX_BYPASS;

    cln->handler = ngx_http_cx_cleanup;
    ngx_http_set_ctx(r, ctx, ngx_http_cx_module);

    return ctx;
}


/*
 * Waits for the slot's last reply at most cx_timeout, with a reference on
 * the request: the caller returns NGX_DONE, the wake handler goes on.
 */

void
ngx_http_cx_wait(ngx_http_request_t *r, ngx_http_cx_ctx_t *ctx,
    ngx_http_cx_slot_t *slot)
{
    ngx_http_cx_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_cx_module);

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

        ngx_http_cx_metric_redis(NGX_HTTP_CX_M_TIMEOUTS);

        ngx_http_cx_redis_episode(0, "did not answer within cx_timeout",
                                  NULL);
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, c->log, 0, "cx: resume, %V",
                   &ngx_http_cx_status_names[ctx->status]);

    ctx->waiting = 0;

    if (ctx->api) {
        /* the content handler's NGX_DONE gave the reference back */
        r->write_event_handler = ngx_http_request_empty_handler;
        ngx_http_finalize_request(r, ctx->forget
                                     ? ngx_http_cx_forget_send(r, ctx)
                                     : ngx_http_cx_api_send(r, ctx));
        ngx_http_run_posted_requests(c);
        return;
    }

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
