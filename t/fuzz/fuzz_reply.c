
/*
 * Copyright (C) ngx_cx authors
 *
 * Fuzz target: what Redis answers a step's batch.  ngx_http_cx_send()
 * queues its commands through the fakes of ngx_http_cx_fuzz_redis.h,
 * whose reply handlers are kept in order, whichever they are.  The
 * input, after a byte of settings, goes through hiredis's own reader to
 * them.  The answer then must be as ngx_http_cx_fuzz_out.h says, and the
 * step is recorded.
 */


#include "ngx_http_cx_fuzz.h"
#include "ngx_http_cx_fuzz_redis.h"

#include "../../ngx_cx_module/ngx_http_cx_filter.c"

#include "ngx_http_cx_fuzz_out.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


/* the fakes of the rest of ngx_http_cx_redis.c */

void
ngx_http_cx_redis_episode(ngx_uint_t ok, const char *what,
    const char *detail)
{
}


ngx_http_cx_slot_t *
ngx_http_cx_redis_acquire(ngx_log_t *log, ngx_uint_t *status)
{
    /* only a login's merge asks, and no request here logs in */
    return NULL;
}


/* the fake of ngx_http_cx_credit.c: each credit written as its write would */

uint32_t
ngx_http_cx_credit_hash(ngx_str_t *s)
{
    return ngx_crc32_short(s->data, s->len);
}


ngx_int_t
ngx_http_cx_credit_add(ngx_http_cx_srv_conf_t *cxscf, ngx_str_t *key,
    uint32_t key_hash, ngx_str_t *member, uint32_t member_hash,
    double weight)
{
    u_char     w[NGX_INT64_LEN + 8];
    ngx_str_t  s;

    s.data = w;
    s.len = ngx_sprintf(w, "%.6f", weight) - w;

    (void) ngx_http_cx_cmd(NULL, NULL, 4, ngx_http_cx_lit("ZREMRANGEBYRANK"),
                           *key, ngx_http_cx_lit("0"),
                           ngx_http_cx_lit(NGX_HTTP_CX_FANOUT_ROOM));
    (void) ngx_http_cx_cmd(NULL, NULL, 4, ngx_http_cx_lit("ZINCRBY"), *key, s,
                           *member);

    return ngx_http_cx_cmd(NULL, NULL, 3, ngx_http_cx_lit("EXPIRE"), *key,
                           cxscf->ttl_text);
}


static void
ngx_http_cx_fuzz_configure(void)
{
    ngx_http_cx_main_conf_t  *cmcf;

    ngx_http_cx_fuzz_location();

    ngx_http_cx_fuzz_clcf.suggest = 20;

    ngx_http_cx_fuzz_conf();

    cmcf = &ngx_http_cx_fuzz_cmcf;

    cmcf->history = 16;
    cmcf->distance = 3;
    cmcf->half_life = 3600000;
    ngx_str_set(&cmcf->trim_text, "15");
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char               flags;
    size_t               i;
    ngx_http_cx_ctx_t   *ctx;
    ngx_http_cx_slot_t  *slot;
    ngx_http_request_t  *r;

    static ngx_uint_t  initialized;

    static char  *members[] = {
        "cart /cart",
        "cat:shoes /c/shoes",
        "item:42 /item/42",
        "checkout /checkout?from=cx&s=2",
        "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
        "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
        " /n/"
    };

    if (!initialized) {
        ngx_http_cx_fuzz_init();
        ngx_http_cx_fuzz_configure();
        initialized = 1;
    }

    if (size == 0 || ngx_http_cx_fuzz_too_large(data + 1, data + size)) {
        return 0;
    }

    flags = data[0];

    ngx_queue_init(&ngx_posted_events);

    r = ngx_http_cx_fuzz_request(ngx_http_cx_fuzz_loc_conf);
    r->main_conf = ngx_http_cx_fuzz_main_conf;
    r->srv_conf = ngx_http_cx_fuzz_srv_conf;

    /* the slot as ngx_http_cx_start() fills it (the model not cached);
     * copied out of the batch, it outlives the request, so malloc()ed
     * apart */

    slot = calloc(1, sizeof(ngx_http_cx_slot_t));
    ngx_http_cx_fuzz_check(slot != NULL);

    slot->hash = 0x0123456789abcdefULL * (flags + 1);
    slot->now = 1700000000000LL + (int64_t) flags * 7777777;
    slot->weight = ngx_http_cx_decay(slot->now,
                                     ngx_http_cx_fuzz_cmcf.half_life,
                                     &slot->epoch);
    slot->fresh = (flags >> 5) & 1;
    slot->count = (slot->fresh || ((flags >> 4) & 1))
                  ? 0 : 1 + ((flags >> 6) & 1);

    slot->member_len = ngx_strlen(members[flags % 5]);
    ngx_memcpy(slot->member, members[flags % 5], slot->member_len);
    slot->name_len = (u_char *) ngx_strlchr(slot->member,
                                            slot->member + slot->member_len,
                                            ' ')
                     - slot->member;

    ctx = NULL;

    if (!(flags & 0x80)) {
        /* else the request is gone already */

        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_cx_ctx_t));
        ngx_http_cx_fuzz_check(ctx != NULL);

        ctx->request = r;
        ctx->slot = slot;
        ctx->status = NGX_HTTP_CX_PENDING;
        ctx->step.name.data = slot->member;
        ctx->step.name.len = slot->name_len;
        ctx->step.url.data = slot->member + slot->name_len + 1;
        ctx->step.url.len = slot->member_len - slot->name_len - 1;
        ctx->member.data = slot->member;
        ctx->member.len = slot->member_len;
        ctx->conf = &ngx_http_cx_fuzz_clcf;
        ctx->api = (flags >> 4) & 1;
        ctx->goal = (flags >> 3) & 1;
        ctx->hash = slot->hash;
        ctx->now = slot->now;
        ctx->epoch = slot->epoch;
        ctx->weight = slot->weight;
        ctx->learn = (slot->count != 0);

        if ((flags >> 6) & 1) {
            /* and the Referer named another step */
            ctx->viewed.data = (u_char *) members[(flags + 1) % 5];
            ctx->viewed.len = ngx_strlen(members[(flags + 1) % 5]);
        }

        slot->ctx = ctx;

        ngx_http_set_ctx(r, ctx, ngx_http_cx_module);
    }

    ngx_http_cx_fuzz_slot = slot;
    ngx_http_cx_fuzz_nreads = 0;
    ngx_http_cx_fuzz_released = 0;

    ngx_http_cx_fuzz_check(ngx_http_cx_send(&ngx_http_cx_fuzz_cmcf,
                                            &ngx_http_cx_fuzz_cxscf, slot)
                           == NGX_OK);

    ngx_http_cx_fuzz_replies(data + 1, size - 1);

    /* the last handler gives the slot back, and the answer */

    ngx_http_cx_fuzz_check(ngx_http_cx_fuzz_released == 1);

    if (ctx) {
        ngx_http_cx_fuzz_check(ctx->slot == NULL);
        ngx_http_cx_fuzz_check(ctx->status != NGX_HTTP_CX_PENDING);
        ngx_http_cx_fuzz_outputs(r, ctx);

        /* and the step recorded once the response is known */

        r->method = NGX_HTTP_GET;
        r->headers_out.status = NGX_HTTP_OK;

        ngx_http_cx_record_response(r);
        ngx_http_cx_fuzz_check(ngx_http_cx_record(r) == NGX_OK);
    }

    for (i = 0; i < slot->member_len; i++) {
        ngx_http_cx_fuzz_check(slot->member[i] != '\0');
    }

    free(slot);
    ngx_destroy_pool(r->pool);

    return 0;
}
