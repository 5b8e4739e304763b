
/*
 * Copyright (C) ngx_cx authors
 *
 * Fuzz target: what Redis answers a step's batch.  ngx_http_cx_send()
 * queues its commands through the fakes of ngx_http_cx_redis.c below,
 * which format each command (ngx_http_cx_resp()) into a buffer of its
 * exact size and discard it, and keep the reply handlers in order,
 * whichever they are.  The input, after a byte of settings, goes through
 * hiredis's own reader; each reply goes to the next handler, and once the
 * reader runs dry or fails, the rest get NULL, as when the connection
 * goes away.  The answer then must be as ngx_http_cx_fuzz_out.h says.
 */


#include "ngx_http_cx_fuzz.h"

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "../../ngx_cx_module/ngx_http_cx_filter.c"

#include "ngx_http_cx_fuzz_out.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


#define NGX_HTTP_CX_FUZZ_READS     32
#define NGX_HTTP_CX_FUZZ_ELEMENTS  1024


typedef struct {
    ngx_http_cx_redis_cb_pt   fn;
    ngx_http_cx_slot_t       *slot;
} ngx_http_cx_fuzz_read_t;


static ngx_http_cx_fuzz_read_t  ngx_http_cx_fuzz_reads[NGX_HTTP_CX_FUZZ_READS];
static ngx_uint_t               ngx_http_cx_fuzz_nreads;
static ngx_uint_t               ngx_http_cx_fuzz_released;

static void                    *ngx_http_cx_fuzz_loc_conf[1];
static ngx_http_cx_main_conf_t  ngx_http_cx_fuzz_cmcf;
static void                    *ngx_http_cx_fuzz_main_conf[1];
static ngx_http_cx_srv_conf_t   ngx_http_cx_fuzz_cxscf;
static void                    *ngx_http_cx_fuzz_srv_conf[1];
static ngx_http_conf_ctx_t      ngx_http_cx_fuzz_http_ctx;
static void                    *ngx_http_cx_fuzz_conf_ctx[1];


/* the fakes of ngx_http_cx_redis.c */

static void
ngx_http_cx_fuzz_format(ngx_uint_t argc, ngx_str_t *argv)
{
    u_char  *buf, *p;
    size_t   len;

    len = ngx_http_cx_resp_len(argc, argv);

    buf = malloc(len);
    ngx_http_cx_fuzz_check(buf != NULL);

    p = ngx_http_cx_resp(buf, argc, argv);
    ngx_http_cx_fuzz_check((size_t) (p - buf) <= len);

    free(buf);
}


ngx_int_t
ngx_http_cx_redis_command(ngx_http_cx_redis_cb_pt fn,
    ngx_http_cx_slot_t *slot, ngx_uint_t argc, ngx_str_t *argv)
{
    ngx_http_cx_fuzz_format(argc, argv);

    if (fn == NULL) {
        return NGX_OK;
    }

    ngx_http_cx_fuzz_check(ngx_http_cx_fuzz_nreads < NGX_HTTP_CX_FUZZ_READS);

    ngx_http_cx_fuzz_reads[ngx_http_cx_fuzz_nreads].fn = fn;
    ngx_http_cx_fuzz_reads[ngx_http_cx_fuzz_nreads].slot = slot;
    ngx_http_cx_fuzz_nreads++;

    return NGX_OK;
}


void
ngx_http_cx_redis_episode(ngx_uint_t ok, const char *what,
    const char *detail)
{
}


void
ngx_http_cx_redis_release(ngx_http_cx_slot_t *slot)
{
    ngx_http_cx_fuzz_released++;
}


ngx_http_cx_slot_t *
ngx_http_cx_redis_acquire(ngx_log_t *log, ngx_uint_t *status)
{
    /* only a login's merge asks, and no request here logs in */
    return NULL;
}


static void
ngx_http_cx_fuzz_configure(void)
{
    ngx_http_cx_srv_conf_t   *cxscf;
    ngx_http_cx_main_conf_t  *cmcf;

    ngx_http_cx_fuzz_steps();

    ngx_http_cx_fuzz_clcf.enable = 1;
    ngx_http_cx_fuzz_clcf.suggest = 20;
    ngx_http_cx_fuzz_clcf.demote = 250;
    ngx_http_cx_fuzz_clcf.returning = 1;
    ngx_http_cx_fuzz_clcf.expert = 3;
    ngx_http_cx_fuzz_clcf.hurried = 5000;
    ngx_http_cx_fuzz_clcf.relaxed = 60000;
    ngx_str_set(&ngx_http_cx_fuzz_clcf.help.name, "help");
    ngx_str_set(&ngx_http_cx_fuzz_clcf.help_ref.name, "help");
    ngx_str_set(&ngx_http_cx_fuzz_clcf.help_ref.url, "/help");

    ngx_http_cx_fuzz_loc_conf[0] = &ngx_http_cx_fuzz_clcf;

    /* the longest prefix, so that every key is as long as it gets */

    cxscf = &ngx_http_cx_fuzz_cxscf;

    ngx_str_set(&cxscf->prefix,
        "cx:pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp:");
    cxscf->ttl = 86400;
    ngx_str_set(&cxscf->ttl_text, "86400");

    ngx_http_cx_fuzz_srv_conf[0] = cxscf;

    cmcf = &ngx_http_cx_fuzz_cmcf;

    cmcf->history = 16;
    cmcf->distance = 3;
    cmcf->half_life = 3600000;
    cmcf->journey_gap = 1800000;
    ngx_str_set(&cmcf->trim_text, "15");

    /* ngx_http_cycle_get_module_main_conf(ngx_cycle, ngx_http_cx_module) */

    ngx_http_cx_fuzz_main_conf[0] = cmcf;
    ngx_http_cx_fuzz_http_ctx.main_conf = ngx_http_cx_fuzz_main_conf;
    ngx_http_cx_fuzz_conf_ctx[0] = &ngx_http_cx_fuzz_http_ctx;
    ngx_http_cx_fuzz_cycle.conf_ctx = (void ****) ngx_http_cx_fuzz_conf_ctx;
    ngx_http_module.index = 0;
}


/*
 * hiredis 0.14 allocates an array of as many elements as a reply says it
 * has, before any of them comes: far more than Redis sends us is not
 * worth a malloc() of gigabytes.
 */

static ngx_uint_t
ngx_http_cx_fuzz_too_large(const uint8_t *p, const uint8_t *last)
{
    uint64_t  n;

    for ( /* void */ ; p < last; p++) {
        if (*p != '*') {
            continue;
        }

        for (n = 0; p + 1 < last && p[1] >= '0' && p[1] <= '9'; p++) {
            n = n * 10 + (p[1] - '0');

            if (n > NGX_HTTP_CX_FUZZ_ELEMENTS) {
                return 1;
            }
        }
    }

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char               flags, *buf;
    size_t               i;
    redisReply          *reply;
    redisReader         *reader;
    ngx_uint_t           k, dry;
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

    /* the slot as ngx_http_cx_start() fills it; copied out of the batch,
     * it outlives the request, so malloc()ed apart */

    slot = calloc(1, sizeof(ngx_http_cx_slot_t));
    ngx_http_cx_fuzz_check(slot != NULL);

    slot->hash = 0x0123456789abcdefULL * (flags + 1);
    slot->now = 1700000000000LL + (int64_t) flags * 7777777;
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
        ctx->learn = (slot->count != 0);

        if ((flags >> 6) & 1) {
            /* and the Referer named another step */
            ctx->viewed.data = (u_char *) members[(flags + 1) % 5];
            ctx->viewed.len = ngx_strlen(members[(flags + 1) % 5]);
        }

        slot->ctx = ctx;

        ngx_http_set_ctx(r, ctx, ngx_http_cx_module);
    }

    ngx_http_cx_fuzz_nreads = 0;
    ngx_http_cx_fuzz_released = 0;

    ngx_http_cx_fuzz_check(ngx_http_cx_send(&ngx_http_cx_fuzz_cmcf,
                                            &ngx_http_cx_fuzz_cxscf, slot)
                           == NGX_OK);

    if (ctx) {
        ctx->epoch = slot->epoch;
        ctx->weight = slot->weight;
    }

    /* the replies, in a buffer of their exact size */

    buf = ngx_http_cx_fuzz_copy(data + 1, size - 1);

    reader = redisReaderCreate();
    ngx_http_cx_fuzz_check(reader != NULL);

    dry = (redisReaderFeed(reader, (char *) buf, size - 1) != REDIS_OK);

    /* replies to the writes come in between, unread: the handlers only
     * see the replies to their own commands, in order */

    for (k = 0; k < ngx_http_cx_fuzz_nreads; k++) {
        reply = NULL;

        if (!dry && (redisReaderGetReply(reader, (void **) &reply) != REDIS_OK
                     || reply == NULL))
        {
            dry = 1;
            reply = NULL;
        }

        ngx_http_cx_fuzz_reads[k].fn(NULL, reply,
                                     ngx_http_cx_fuzz_reads[k].slot);

        if (reply) {
            freeReplyObject(reply);
        }
    }

    redisReaderFree(reader);

    /* the last handler gives the slot back, and the answer */

    ngx_http_cx_fuzz_check(ngx_http_cx_fuzz_released == 1);

    if (ctx) {
        ngx_http_cx_fuzz_check(ctx->slot == NULL);
        ngx_http_cx_fuzz_check(ctx->status != NGX_HTTP_CX_PENDING);
        ngx_http_cx_fuzz_outputs(r, ctx);

        /* and the step recorded once the response is known */

        r->method = NGX_HTTP_GET;
        r->headers_out.status = NGX_HTTP_OK;
        r->main_conf = ngx_http_cx_fuzz_main_conf;
        r->srv_conf = ngx_http_cx_fuzz_srv_conf;

        ngx_http_cx_fuzz_check(ngx_http_cx_record(r) == NGX_OK);
    }

    for (i = 0; i < slot->member_len; i++) {
        ngx_http_cx_fuzz_check(slot->member[i] != '\0');
    }

    free(buf);
    free(slot);
    ngx_destroy_pool(r->pool);

    return 0;
}
