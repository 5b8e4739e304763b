
/*
 * Copyright (C) ngx_cx authors
 *
 * What the fuzz targets of Redis's replies share (reply, login): the
 * fakes of ngx_http_cx_redis.c, which format each command
 * (ngx_http_cx_resp()) into a buffer of its exact size and discard it,
 * hand each write to the target's check, if it has one, and keep the
 * reply handlers of the reads in order; the main and server
 * configurations; and the input, through hiredis's own reader, to those
 * handlers.
 *
 * Include after ngx_http_cx_fuzz.h.
 */


#ifndef _NGX_HTTP_CX_FUZZ_REDIS_H_INCLUDED_
#define _NGX_HTTP_CX_FUZZ_REDIS_H_INCLUDED_


#include <hiredis/hiredis.h>


#define NGX_HTTP_CX_FUZZ_READS     32
#define NGX_HTTP_CX_FUZZ_ELEMENTS  1024


typedef struct {
    ngx_http_cx_redis_cb_pt   fn;
    ngx_http_cx_slot_t       *slot;
} ngx_http_cx_fuzz_read_t;


static ngx_http_cx_fuzz_read_t  ngx_http_cx_fuzz_reads[NGX_HTTP_CX_FUZZ_READS];
static ngx_uint_t               ngx_http_cx_fuzz_nreads;
static ngx_uint_t               ngx_http_cx_fuzz_released;

/* the slot of the batch or the merge: each read is of it, and it is
 * given back */
static ngx_http_cx_slot_t      *ngx_http_cx_fuzz_slot;

static ngx_http_cx_main_conf_t  ngx_http_cx_fuzz_cmcf;
static void                    *ngx_http_cx_fuzz_main_conf[1];
static ngx_http_cx_srv_conf_t   ngx_http_cx_fuzz_cxscf;
static void                    *ngx_http_cx_fuzz_srv_conf[1];
static ngx_http_conf_ctx_t      ngx_http_cx_fuzz_http_ctx;
static void                    *ngx_http_cx_fuzz_conf_ctx[1];

/* the target's check of each write, if it has one */
static void  (*ngx_http_cx_fuzz_write)(ngx_uint_t argc, ngx_str_t *argv);


/* the fakes of ngx_http_cx_redis.c */

ngx_int_t
ngx_http_cx_redis_command(ngx_http_cx_redis_cb_pt fn,
    ngx_http_cx_slot_t *slot, ngx_uint_t argc, ngx_str_t *argv)
{
    u_char  *buf, *p;
    size_t   len;

    len = ngx_http_cx_resp_len(argc, argv);

    buf = malloc(len);
    ngx_http_cx_fuzz_check(buf != NULL);

    p = ngx_http_cx_resp(buf, argc, argv);
    ngx_http_cx_fuzz_check((size_t) (p - buf) <= len);

    free(buf);

    if (fn == NULL) {
        if (ngx_http_cx_fuzz_write) {
            ngx_http_cx_fuzz_write(argc, argv);
        }

        return NGX_OK;
    }

    ngx_http_cx_fuzz_check(slot == ngx_http_cx_fuzz_slot);
    ngx_http_cx_fuzz_check(ngx_http_cx_fuzz_nreads < NGX_HTTP_CX_FUZZ_READS);

    ngx_http_cx_fuzz_reads[ngx_http_cx_fuzz_nreads].fn = fn;
    ngx_http_cx_fuzz_reads[ngx_http_cx_fuzz_nreads].slot = slot;
    ngx_http_cx_fuzz_nreads++;

    return NGX_OK;
}


/* a write that may make its key: formatted and checked as the others */

ngx_int_t
ngx_http_cx_redis_write(ngx_http_cx_redis_cb_pt fn, ngx_uint_t made,
    ngx_int_t n, ngx_str_t *ttl, ngx_uint_t argc, ngx_str_t *argv)
{
    return ngx_http_cx_redis_command(fn, NULL, argc, argv);
}


void
ngx_http_cx_redis_release(ngx_http_cx_slot_t *slot)
{
    ngx_http_cx_fuzz_check(slot == ngx_http_cx_fuzz_slot);

    ngx_http_cx_fuzz_released++;
}


/* the server's keys under the longest prefix, so that every key is as
 * long as it gets; the main conf where the module finds it */

static void
ngx_http_cx_fuzz_conf(void)
{
    ngx_str_set(&ngx_http_cx_fuzz_cxscf.prefix,
        "cx:pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp:");
    ngx_http_cx_fuzz_cxscf.ttl = 86400;
    ngx_str_set(&ngx_http_cx_fuzz_cxscf.ttl_text, "86400");
    ngx_http_cx_fuzz_srv_conf[0] = &ngx_http_cx_fuzz_cxscf;

    ngx_http_cx_fuzz_cmcf.journey_gap = 1800000;
    ngx_http_cx_fuzz_cmcf.journey_steps = 3;
    ngx_http_cx_fuzz_cmcf.reverse = 500;

    /* ngx_http_cycle_get_module_main_conf(ngx_cycle, ngx_http_cx_module) */

    ngx_http_cx_fuzz_main_conf[0] = &ngx_http_cx_fuzz_cmcf;
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


/*
 * The replies, through hiredis's reader, each to the next read queued (a
 * handler that queues more reads gets theirs in turn; replies to the
 * writes come in between, unread: the handlers only see the replies to
 * their own commands).  Once the reader runs dry or fails, the rest get
 * NULL, as when the connection goes away.  No handler runs once the slot
 * is given back.
 */

static void
ngx_http_cx_fuzz_replies(const uint8_t *data, size_t size)
{
    u_char       *buf;
    redisReply   *reply;
    redisReader  *reader;
    ngx_uint_t    k, dry;

    /* in a buffer of their exact size */

    buf = ngx_http_cx_fuzz_copy(data, size);

    reader = redisReaderCreate();
    ngx_http_cx_fuzz_check(reader != NULL);

    dry = (redisReaderFeed(reader, (char *) buf, size) != REDIS_OK);

    for (k = 0; k < ngx_http_cx_fuzz_nreads; k++) {
        reply = NULL;

        if (!dry && (redisReaderGetReply(reader, (void **) &reply) != REDIS_OK
                     || reply == NULL))
        {
            dry = 1;
            reply = NULL;
        }

        ngx_http_cx_fuzz_check(ngx_http_cx_fuzz_released == 0);

        ngx_http_cx_fuzz_reads[k].fn(NULL, reply,
                                     ngx_http_cx_fuzz_reads[k].slot);

        if (reply) {
            freeReplyObject(reply);
        }
    }

    redisReaderFree(reader);
    free(buf);
}


#endif /* _NGX_HTTP_CX_FUZZ_REDIS_H_INCLUDED_ */
