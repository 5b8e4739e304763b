
/*
 * Copyright (C) ngx_cx authors
 *
 * cx_forget: a location that deletes everything stored for the requesting
 * customer, for deletion requests.  The customer is identified as a step
 * identifies them (ngx_http_cx_identify()), consent to the cookie or not:
 * a login and the cookie of its anonymous visit are both forgotten.  One
 * command per customer, whose keys share one hash tag (one Cluster slot):
 *
 *   DEL P{H}:seq P{H}:s P{H}:p P{H}:g P{H}:m
 *
 * The shared model holds steps, never ids: nothing of it is removed.
 * Only POST and DELETE: a link or an <img> of another site must not
 * erase a customer's data.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <hiredis/hiredis.h>

#include <ngx_http_cx_module.h>


static ngx_int_t ngx_http_cx_forget_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_cx_forget_del(ngx_http_cx_slot_t *slot,
    ngx_str_t *prefix, uint64_t hash);
static void ngx_http_cx_forget_reply(ngx_http_cx_conn_t *ac, void *data,
    void *privdata);


static const char  *ngx_http_cx_forget_keys[] = {
    "seq", "s", "p", "g", "m"
};


static ngx_str_t  ngx_http_cx_allow = ngx_string("Allow");
static ngx_str_t  ngx_http_cx_set_cookie = ngx_string("Set-Cookie");
static ngx_str_t  ngx_http_cx_retry_after = ngx_string("Retry-After");
static ngx_str_t  ngx_http_cx_cache_control = ngx_string("Cache-Control");
static ngx_str_t  ngx_http_cx_no_store = ngx_string("no-store");


char *
ngx_http_cx_forget(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *hclcf;

    hclcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    hclcf->handler = ngx_http_cx_forget_handler;

    ngx_http_cx_needs_redis(cf, "cx_forget");

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_cx_forget_handler(ngx_http_request_t *r)
{
    ngx_int_t                rc;
    ngx_str_t                id, anon, allow;
    ngx_uint_t               login, n;
    uint64_t                 hash[2];
    ngx_http_cx_ctx_t       *ctx;
    ngx_http_cx_slot_t      *slot;
    ngx_http_cx_loc_conf_t  *clcf;
    ngx_http_cx_srv_conf_t  *cxscf;

    if (!(r->method & (NGX_HTTP_POST|NGX_HTTP_DELETE))) {
        ngx_str_set(&allow, "POST, DELETE");

        if (ngx_http_cx_add_header(r, &ngx_http_cx_allow, &allow) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    ctx = ngx_http_cx_get_ctx(r);

    if (ctx == NULL) {
        ctx = ngx_http_cx_create_ctx(r);
        if (ctx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

    } else {
        /* a step of this request is recorded nowhere, nor answered */
        ctx->learn = 0;
        ctx->login = 0;
        ngx_str_null(&ctx->cookie);
        ngx_str_null(&ctx->next);
        ngx_str_null(&ctx->shortcut);
        ngx_str_null(&ctx->json);
        ctx->items = NULL;
        ctx->nitems = 0;
        ctx->nnext = 0;
    }

    ctx->api = 1;
    ctx->forget = 1;
    ctx->forgotten = 0;
    ctx->status = NGX_HTTP_CX_ERROR;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_cx_module);

    rc = ngx_http_cx_identify(r, clcf, NULL, &id, &login, &anon,
                              NGX_HTTP_CX_ID_ANY);

    if (rc == NGX_ERROR) {
        return ngx_http_cx_forget_send(r, ctx);
    }

    if (id.len == 0) {
        ctx->status = NGX_HTTP_CX_MISS;
        return ngx_http_cx_forget_send(r, ctx);
    }

    cxscf = ngx_http_get_module_srv_conf(r, ngx_http_cx_module);

    hash[0] = ngx_http_cx_hash_id(cxscf->hash_keys, login, id.data, id.len);
    n = 1;

    if (anon.len) {
        hash[1] = ngx_http_cx_hash_id(cxscf->hash_keys, 0, anon.data,
                                      anon.len);
        n = (hash[1] != hash[0]) ? 2 : 1;
    }

    slot = ngx_http_cx_redis_acquire(r->connection->log, &ctx->status);
    if (slot == NULL) {
        ctx->status = NGX_HTTP_CX_ERROR;
        return ngx_http_cx_forget_send(r, ctx);
    }

    /* slot->count: the commands whose replies are still to come */

    slot->errors = 0;
    slot->count = 0;

    /* the customers whose copies the last reply drops again */

    slot->shop = cxscf;
    slot->hash = hash[0];
    slot->anon = hash[n - 1];

    while (n--) {

        /* and the edge's copy (ngx_http_cx_customer.c) */
        ngx_http_cx_customer_drop(cxscf, hash[n]);

        if (ngx_http_cx_forget_del(slot, &cxscf->prefix, hash[n]) == NGX_OK) {
            slot->count++;

        } else {
            slot->errors++;
        }
    }

    if (slot->count == 0) {
        ngx_http_cx_redis_release(slot);
        return ngx_http_cx_forget_send(r, ctx);
    }

    ngx_http_cx_wait(r, ctx, slot);

    return NGX_DONE;
}


static ngx_int_t
ngx_http_cx_forget_del(ngx_http_cx_slot_t *slot, ngx_str_t *prefix,
    uint64_t hash)
{
    u_char      keys[5][NGX_HTTP_CX_CKEY_MAX];
    ngx_str_t   argv[6];
    ngx_uint_t  i;

    ngx_str_set(&argv[0], "DEL");

    for (i = 0; i < 5; i++) {
        argv[i + 1].data = keys[i];
        argv[i + 1].len = ngx_http_cx_customer_key(keys[i], prefix, hash,
                                                ngx_http_cx_forget_keys[i])
                          - keys[i];
    }

    return ngx_http_cx_redis_command(ngx_http_cx_forget_reply, slot, 6,
                                     argv);
}


/* replies come in order: the last one answers the request */

static void
ngx_http_cx_forget_reply(ngx_http_cx_conn_t *ac, void *data, void *privdata)
{
    redisReply          *reply = data;
    ngx_http_cx_slot_t  *slot = privdata;

    ngx_http_cx_ctx_t  *ctx;

    ctx = slot->ctx;

    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
        /* gone, or refused (logged) */
        slot->errors++;

    } else if (ctx && reply->integer > 0) {
        ctx->forgotten += (ngx_uint_t) reply->integer;
    }

    if (--slot->count) {
        return;
    }

    /*
     * Dropped again now that Redis has done the DEL: a read of another
     * connection that came before it may have put what it read, over
     * the drop made before the DEL was sent.
     */

    ngx_http_cx_customer_drop(slot->shop, slot->hash);

    if (slot->anon != slot->hash) {
        ngx_http_cx_customer_drop(slot->shop, slot->anon);
    }

    ngx_http_cx_redis_release(slot);

    if (ctx == NULL) {
        /* timed out or finalized already */
        return;
    }

    ctx->slot = NULL;
    ctx->status = slot->errors ? NGX_HTTP_CX_ERROR : NGX_HTTP_CX_HIT;

    if (ctx->wake.timer_set) {
        ngx_del_timer(&ctx->wake);
    }

    /* answered from the posted events queue, not from inside a reply */

    ngx_post_event(&ctx->wake, &ngx_posted_events);
}


/*
 * 200 {"forgotten":N} with the id cookie expired, or, while the data may
 * still be there (Redis down, too slow, too many in flight), 503 with
 * Retry-After and the cookie kept.
 */

ngx_int_t
ngx_http_cx_forget_send(ngx_http_request_t *r, ngx_http_cx_ctx_t *ctx)
{
    u_char                  *p;
    ngx_int_t                rc;
    ngx_buf_t               *b;
    ngx_str_t                value;
    ngx_chain_t              out;
    ngx_http_cx_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_cx_module);

    b = ngx_create_temp_buf(r->pool, sizeof("{\"forgotten\":}")
                                     + NGX_INT_T_LEN);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->status == NGX_HTTP_CX_HIT || ctx->status == NGX_HTTP_CX_MISS) {
        r->headers_out.status = NGX_HTTP_OK;
        b->last = ngx_sprintf(b->pos, "{\"forgotten\":%ui}", ctx->forgotten);

        if (clcf->cookie.len) {
            p = ngx_pnalloc(r->pool, clcf->cookie.len
                                     + sizeof("=; Path=/; Max-Age=0"
                                              "; HttpOnly; Secure"
                                              "; SameSite=") - 1
                                     + clcf->cookie_samesite.len);
            if (p == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            value.data = p;

            p = ngx_sprintf(p, "%V=; Path=/; Max-Age=0; HttpOnly",
                            &clcf->cookie);

            if (clcf->cookie_secure) {
                p = ngx_cpymem(p, "; Secure", sizeof("; Secure") - 1);
            }

            if (clcf->cookie_samesite.len) {
                p = ngx_sprintf(p, "; SameSite=%V", &clcf->cookie_samesite);
            }

            value.len = p - value.data;

            if (ngx_http_cx_add_header(r, &ngx_http_cx_set_cookie, &value)
                != NGX_OK)
            {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
        }

    } else {
        r->headers_out.status = NGX_HTTP_SERVICE_UNAVAILABLE;
        b->last = ngx_cpymem(b->pos, "{\"error\":\"unavailable\"}",
                             sizeof("{\"error\":\"unavailable\"}") - 1);

        ngx_str_set(&value, "1");

        if (ngx_http_cx_add_header(r, &ngx_http_cx_retry_after, &value)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (ngx_http_cx_add_header(r, &ngx_http_cx_cache_control,
                               &ngx_http_cx_no_store)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.content_length_n = b->last - b->pos;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}
