
/*
 * Copyright (C) ngx_cx authors
 *
 * The rule credits of a worker's steps, written behind: summed in a
 * table by rule key and successor, and written every cx_write_behind, or
 * once the table holds its "credits=", as one pipelined write:
 *
 *   ZREMRANGEBYRANK Pt:{<name>}:E 0 -256    a key, before its credits
 *   ZINCRBY Pt:{<name>}:E <sum> <member>    each successor, summed
 *   EXPIRE Pt:{<name>}:E <ttl>              a key, its shop's cx_ttl
 *
 * The worker remembers the keys it wrote (ngx_http_cx_rule_memo_t), so
 * that a key it knows is trimmed every NGX_HTTP_CX_TRIM writes of its, or
 * with more than NGX_HTTP_CX_TRIM_CREDITS successors (so that it holds
 * at most 8 * 32 more than the 256 kept), not at each write; and renewed
 * every cx_ttl/16, or when the reply to its first ZINCRBY says that the
 * successor is new to it: then the key may be new too (it was deleted, or
 * expired, and the ZINCRBY made it again), and its EXPIRE follows that
 * reply.  A key the worker does not know is trimmed and renewed at each
 * write.
 *
 * "cx_write_behind 0" writes at the end of the event loop's turn (a
 * posted event): what one turn recorded, summed, and no later.  The
 * table is the worker's, allocated per cycle; it holds copies of the keys
 * and members, and is emptied by each write, so that a Redis that is
 * down costs the credits of one interval, never more memory.
 *
 * A worker that exits gracefully (a reload, a shutdown) writes what it
 * holds first: while credits are held, and while the last write is not
 * answered, a timer that is not cancelable keeps the worker, which so
 * notices that it is exiting within NGX_HTTP_CX_CREDIT_TICK.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <xxhash.h>

#include <ngx_http_cx_module.h>


#define NGX_HTTP_CX_CREDIT_TICK   1000    /* ms, exiting noticed within */
#define NGX_HTTP_CX_CREDIT_WAIT   1000    /* ms, for a write's answer */
#define NGX_HTTP_CX_TRIM          8       /* a known key trimmed each */
#define NGX_HTTP_CX_TRIM_CREDITS  32      /* or with more successors */
#define NGX_HTTP_CX_RULE_MEMOS    1024    /* keys the worker remembers */


typedef struct ngx_http_cx_credit_key_s  ngx_http_cx_credit_key_t;
typedef struct ngx_http_cx_credit_s      ngx_http_cx_credit_t;


/* a rule key: its successors credited, with the ttl of its shop */
struct ngx_http_cx_credit_key_s {
    ngx_str_t                   str;            /* the key, copied */
    uint32_t                    hash;           /* credit_hash() */
    ngx_http_cx_credit_key_t   *next;           /* in its bucket */
    ngx_queue_t                 queue;          /* the table's keys */
    ngx_queue_t                 credits;
    ngx_uint_t                  n;              /* successors credited */
    ngx_str_t                  *ttl;            /* its shop's, for EXPIRE */
    time_t                      ttl_sec;
};


/*
 * A rule key the worker wrote: a slot by its hash, the last one wins,
 * known by its bytes (keys hashed alike are steps a client names)
 */
typedef struct {
    size_t                      len;            /* 0: none */
    time_t                      renewed;        /* its last EXPIRE */
    ngx_uint_t                  writes;         /* since its last trim */
    u_char                      key[NGX_HTTP_CX_KEY_MAX];
} ngx_http_cx_rule_memo_t;


/* a successor of a key and its credits, summed */
struct ngx_http_cx_credit_s {
    ngx_str_t                   str;            /* "name url", copied */
    uint32_t                    hash;           /* credit_hash() */
    ngx_http_cx_credit_key_t   *key;
    ngx_http_cx_credit_t       *next;           /* in its bucket */
    ngx_queue_t                 queue;
    double                      weight;
};


/*
 * The table: the keys and the successors, each found by its hash in
 * buckets of a power of two, at least "credits=" of them (a successor's
 * bucket by its key's hash too), where a red-black tree of the keys and
 * one of each key's successors took a walk down each tree.  The buckets
 * are the cycle's; a write empties those it used.
 */

typedef struct {
    ngx_cycle_t                *cycle;
    ngx_pool_t                 *pool;           /* the copies; reset */
    ngx_http_cx_credit_key_t  **kbuckets;
    ngx_http_cx_credit_t      **cbuckets;
    ngx_uint_t                  mask;           /* buckets - 1 */
    ngx_queue_t                 keys;
    ngx_uint_t                  n;              /* credits held */
    ngx_uint_t                  max;            /* cx_write_behind credits= */
    ngx_msec_t                  interval;       /* cx_write_behind */
    ngx_msec_t                  start;          /* the first credit held */
    ngx_uint_t                  unanswered;     /* writes in flight */
    ngx_event_t                 flush;          /* a timer, or posted */
    ngx_event_t                 wait;           /* for the answers */
} ngx_http_cx_credits_t;


static void ngx_http_cx_credit_cycle_cleanup(void *data);
static void ngx_http_cx_credit_handler(ngx_event_t *ev);
static void ngx_http_cx_credit_wait_handler(ngx_event_t *ev);
static void ngx_http_cx_credit_written(ngx_http_cx_conn_t *ac,
    void *reply, void *privdata);
static void ngx_http_cx_credit_reset(ngx_http_cx_credits_t *tb);


#define ngx_http_cx_credit_bucket(tb, kh, mh)                                 \
    (((mh) ^ ((kh) * 0x9e3779b1U)) & (tb)->mask)


static ngx_http_cx_credits_t    ngx_http_cx_credits;
static ngx_http_cx_rule_memo_t  ngx_http_cx_rule_memos[NGX_HTTP_CX_RULE_MEMOS];


ngx_int_t
ngx_http_cx_credit_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                buckets;
    ngx_pool_cleanup_t       *cln;
    ngx_http_cx_credits_t    *tb;
    ngx_http_cx_main_conf_t  *cmcf;

    cmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_cx_module);

    if (cmcf == NULL || cmcf->on_file == NULL) {
        return NGX_OK;
    }

    tb = &ngx_http_cx_credits;

    if (tb->cycle == cycle) {
        return NGX_OK;
    }

    if (tb->cycle) {
        ngx_http_cx_credit_cycle_cleanup(tb->cycle);
    }

    ngx_memzero(tb, sizeof(ngx_http_cx_credits_t));

    for (buckets = 64; buckets < cmcf->credits; buckets <<= 1) {
        /* void */
    }

    tb->kbuckets = ngx_pcalloc(cycle->pool,
                               buckets * sizeof(ngx_http_cx_credit_key_t *));
    tb->cbuckets = ngx_pcalloc(cycle->pool,
                               buckets * sizeof(ngx_http_cx_credit_t *));
    if (tb->kbuckets == NULL || tb->cbuckets == NULL) {
        return NGX_ERROR;
    }

    tb->mask = buckets - 1;

    tb->pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE, cycle->log);
    if (tb->pool == NULL) {
        return NGX_ERROR;
    }

    /* in single process mode a reload frees the cycle without exit_process */

    cln = ngx_pool_cleanup_add(cycle->pool, 0);
    if (cln == NULL) {
        ngx_destroy_pool(tb->pool);
        tb->pool = NULL;
        return NGX_ERROR;
    }

    cln->handler = ngx_http_cx_credit_cycle_cleanup;
    cln->data = cycle;

    tb->cycle = cycle;
    tb->max = cmcf->credits;
    tb->interval = cmcf->write_behind;

    tb->flush.handler = ngx_http_cx_credit_handler;
    tb->flush.data = tb;
    tb->flush.log = cycle->log;

    tb->wait.handler = ngx_http_cx_credit_wait_handler;
    tb->wait.data = tb;
    tb->wait.log = cycle->log;

    ngx_queue_init(&tb->keys);
    ngx_http_cx_credit_reset(tb);

    return NGX_OK;
}


/* what is held is written (best effort: the connection closes next) */

void
ngx_http_cx_credit_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_cx_credit_cycle_cleanup(cycle);
}


static void
ngx_http_cx_credit_cycle_cleanup(void *data)
{
    ngx_cycle_t *cycle = data;

    ngx_http_cx_credits_t  *tb;

    tb = &ngx_http_cx_credits;

    if (tb->cycle != cycle) {
        /* an old cycle freed late, after the worker moved on */
        return;
    }

    ngx_http_cx_credit_flush();

    if (tb->wait.timer_set) {
        ngx_del_timer(&tb->wait);
    }

    ngx_destroy_pool(tb->pool);

    tb->pool = NULL;
    tb->cycle = NULL;
}


/*
 * A key's or a member's hash in the table: XXH3, where crc32 took a table
 * lookup a byte; 32 bits, its buckets' and the memos' index.  A step's
 * credits name the step and its reverse key up to five times each: the
 * caller hashes each string once.
 */

uint32_t
ngx_http_cx_credit_hash(ngx_str_t *s)
{
    return (uint32_t) XXH3_64bits(s->data, s->len);
}


/*
 * Adds a credit of weight to member in the rule key, each with its
 * ngx_http_cx_credit_hash(): summed with the credits the table holds for
 * them, else copied into it.  The first credit held starts the interval;
 * a full table is written at once.
 */

ngx_int_t
ngx_http_cx_credit_add(ngx_http_cx_srv_conf_t *cxscf, ngx_str_t *key,
    uint32_t key_hash, ngx_str_t *member, uint32_t member_hash,
    double weight)
{
    ngx_http_cx_credit_t      *cr, **cb;
    ngx_http_cx_credits_t     *tb;
    ngx_http_cx_credit_key_t  *ck, **kb;

    if (key->len > NGX_HTTP_CX_KEY_MAX) {
        /* a step's key is no longer: the memo keeps it whole */
        return NGX_ERROR;
    }

    tb = &ngx_http_cx_credits;

    if (tb->cycle != ngx_cycle) {
        /* single process mode after a reload */
        if (ngx_http_cx_credit_init_process((ngx_cycle_t *) ngx_cycle)
            != NGX_OK || tb->pool == NULL)
        {
            return NGX_ERROR;
        }
    }

    kb = &tb->kbuckets[key_hash & tb->mask];

    for (ck = *kb; ck; ck = ck->next) {
        if (ck->hash == key_hash
            && ck->str.len == key->len
            && ngx_memcmp(ck->str.data, key->data, key->len) == 0)
        {
            break;
        }
    }

    if (ck == NULL) {
        ck = ngx_palloc(tb->pool, sizeof(ngx_http_cx_credit_key_t)
                                  + key->len);
        if (ck == NULL) {
            return NGX_ERROR;
        }

        ck->hash = key_hash;
        ck->str.len = key->len;
        ck->str.data = (u_char *) (ck + 1);
        ngx_memcpy(ck->str.data, key->data, key->len);

        ngx_queue_init(&ck->credits);
        ck->n = 0;

        ck->next = *kb;
        *kb = ck;
        ngx_queue_insert_tail(&tb->keys, &ck->queue);
    }

    /* the ttl of the shop that credited it last, as each EXPIRE set it */

    ck->ttl = &cxscf->ttl_text;
    ck->ttl_sec = cxscf->ttl;

    cb = &tb->cbuckets[ngx_http_cx_credit_bucket(tb, key_hash, member_hash)];

    for (cr = *cb; cr; cr = cr->next) {
        if (cr->key == ck
            && cr->hash == member_hash
            && cr->str.len == member->len
            && ngx_memcmp(cr->str.data, member->data, member->len) == 0)
        {
            cr->weight += weight;
            return NGX_OK;
        }
    }

    cr = ngx_palloc(tb->pool, sizeof(ngx_http_cx_credit_t) + member->len);
    if (cr == NULL) {
        return NGX_ERROR;
    }

    cr->hash = member_hash;
    cr->key = ck;
    cr->str.len = member->len;
    cr->str.data = (u_char *) (cr + 1);
    ngx_memcpy(cr->str.data, member->data, member->len);
    cr->weight = weight;

    cr->next = *cb;
    *cb = cr;
    ngx_queue_insert_tail(&ck->credits, &cr->queue);
    ck->n++;

    if (tb->n++ == 0) {
        tb->start = ngx_current_msec;

        if (tb->interval == 0) {
            ngx_post_event(&tb->flush, &ngx_posted_events);

        } else {
            ngx_add_timer(&tb->flush,
                          ngx_min(tb->interval, NGX_HTTP_CX_CREDIT_TICK));
        }
    }

    if (tb->n >= tb->max) {
        ngx_http_cx_credit_flush();
    }

    return NGX_OK;
}


/*
 * Writes what the table holds and empties it.  Each key is trimmed
 * before its credits, so that a successor just credited is never the one
 * trimmed.  The answer to each key's last command is waited for
 * (NGX_HTTP_CX_CREDIT_WAIT at most) by a worker that exits.  What cannot
 * be sent is dropped, a key at a time (on a cluster, the keys of a node
 * that is down): the connection's own episode says that Redis is down.
 */

void
ngx_http_cx_credit_flush(void)
{
    u_char                     w[NGX_INT64_LEN + 8];
    time_t                     now;
    ngx_int_t                  rc;
    ngx_str_t                  argv[4];
    ngx_uint_t                 dropped, renew, made, last;
    ngx_queue_t               *q, *c;
    ngx_http_cx_credit_t      *cr;
    ngx_http_cx_credits_t     *tb;
    ngx_http_cx_rule_memo_t   *memo;
    ngx_http_cx_credit_key_t  *ck;

    tb = &ngx_http_cx_credits;

    if (tb->n == 0) {
        return;
    }

    if (tb->flush.timer_set) {
        ngx_del_timer(&tb->flush);
    }

    if (tb->flush.posted) {
        ngx_delete_posted_event(&tb->flush);
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, tb->cycle->log, 0,
                   "cx: writing %ui rule credits", tb->n);

    dropped = 0;
    now = ngx_time();

    for (q = ngx_queue_head(&tb->keys);
         q != ngx_queue_sentinel(&tb->keys);
         q = ngx_queue_next(q))
    {
        ck = ngx_queue_data(q, ngx_http_cx_credit_key_t, queue);

        memo = &ngx_http_cx_rule_memos[ck->hash
                                       % NGX_HTTP_CX_RULE_MEMOS];

        if (memo->len != ck->str.len
            || ngx_memcmp(memo->key, ck->str.data, ck->str.len) != 0)
        {
            memo->len = ck->str.len;
            ngx_memcpy(memo->key, ck->str.data, ck->str.len);
            memo->renewed = 0;
            memo->writes = NGX_HTTP_CX_TRIM;
        }

        /* an exiting worker renews all it writes, and waits for it */

        renew = (ngx_exiting || ngx_terminate || ngx_quit
                 || now - memo->renewed
                    >= ck->ttl_sec / NGX_HTTP_CX_RENEW);

        rc = NGX_OK;

        if (memo->writes++ >= NGX_HTTP_CX_TRIM
            || ck->n > NGX_HTTP_CX_TRIM_CREDITS)
        {
            rc = ngx_http_cx_cmd(NULL, NULL, 4,
                                 ngx_http_cx_lit("ZREMRANGEBYRANK"),
                                 ck->str, ngx_http_cx_lit("0"),
                                 ngx_http_cx_lit(NGX_HTTP_CX_FANOUT_ROOM));
            memo->writes = 1;
        }

        /*
         * The first successor's reply tells whether the key is new; the
         * key's last command is answered to ngx_http_cx_credit_written()
         */

        made = renew ? 0 : NGX_HTTP_CX_MADE_SCORE;
        argv[0] = ngx_http_cx_lit("ZINCRBY");
        argv[1] = ck->str;

        for (c = ngx_queue_head(&ck->credits);
             c != ngx_queue_sentinel(&ck->credits) && rc == NGX_OK;
             c = ngx_queue_next(c))
        {
            cr = ngx_queue_data(c, ngx_http_cx_credit_t, queue);

            /*
             * Each credit below 2^32 (NGX_HTTP_CX_EPOCH half-lives), their
             * sum below 2^45: "%.6f" of it reads back as the same double.
             */

            argv[2].data = w;
            argv[2].len = ngx_sprintf(w, "%.6f", cr->weight) - w;
            argv[3] = cr->str;

            last = (!renew
                    && ngx_queue_next(c) == ngx_queue_sentinel(&ck->credits));

            rc = ngx_http_cx_redis_write(last ? ngx_http_cx_credit_written
                                              : NULL,
                                         made, 0, ck->ttl, 4, argv);
            made = 0;
        }

        if (rc == NGX_OK && renew) {
            rc = ngx_http_cx_cmd(ngx_http_cx_credit_written, NULL, 3,
                                 ngx_http_cx_lit("EXPIRE"), ck->str,
                                 *ck->ttl);
        }

        if (rc != NGX_OK) {
            /* not known to be written: trimmed and renewed next time */
            memo->len = 0;
            dropped++;
            continue;
        }

        if (renew) {
            memo->renewed = now;
        }

        tb->unanswered++;

        if (!tb->wait.timer_set) {
            ngx_add_timer(&tb->wait, NGX_HTTP_CX_CREDIT_WAIT);
        }
    }

    if (dropped) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, tb->cycle->log, 0,
                       "cx: redis unavailable, rule credits of %ui "
                       "steps dropped", dropped);
    }

    ngx_http_cx_credit_reset(tb);
}


/* the interval is over, or the worker exits: the table is written */

static void
ngx_http_cx_credit_handler(ngx_event_t *ev)
{
    ngx_http_cx_credits_t *tb = ev->data;

    ngx_msec_int_t  left;

    left = (ngx_msec_int_t) (tb->start + tb->interval - ngx_current_msec);

    if (left > 0 && !ngx_exiting) {
        ngx_add_timer(ev, ngx_min((ngx_msec_t) left,
                                  NGX_HTTP_CX_CREDIT_TICK));
        return;
    }

    ngx_http_cx_credit_flush();
}


static void
ngx_http_cx_credit_wait_handler(ngx_event_t *ev)
{
    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, ev->log, 0,
                   "cx: rule credits written, not answered yet");
}


static void
ngx_http_cx_credit_written(ngx_http_cx_conn_t *ac, void *reply,
    void *privdata)
{
    ngx_http_cx_credits_t  *tb;

    tb = &ngx_http_cx_credits;

    if (tb->unanswered) {
        tb->unanswered--;
    }

    if (tb->unanswered == 0 && tb->wait.timer_set) {
        ngx_del_timer(&tb->wait);
    }
}


/* the table emptied: the buckets it used, then the copies */

static void
ngx_http_cx_credit_reset(ngx_http_cx_credits_t *tb)
{
    ngx_queue_t               *q, *c;
    ngx_http_cx_credit_t      *cr;
    ngx_http_cx_credit_key_t  *ck;

    for (q = ngx_queue_head(&tb->keys);
         q != ngx_queue_sentinel(&tb->keys);
         q = ngx_queue_next(q))
    {
        ck = ngx_queue_data(q, ngx_http_cx_credit_key_t, queue);

        tb->kbuckets[ck->hash & tb->mask] = NULL;

        for (c = ngx_queue_head(&ck->credits);
             c != ngx_queue_sentinel(&ck->credits);
             c = ngx_queue_next(c))
        {
            cr = ngx_queue_data(c, ngx_http_cx_credit_t, queue);

            tb->cbuckets[ngx_http_cx_credit_bucket(tb, ck->hash, cr->hash)]
                = NULL;
        }
    }

    ngx_reset_pool(tb->pool);

    ngx_queue_init(&tb->keys);

    tb->n = 0;
}
