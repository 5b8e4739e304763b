
/*
 * Copyright (C) ngx_cx authors
 *
 * A step's successors as the model cache keeps them (ngx_http_cx_cache.c):
 * one blob, made here and read back here; and a customer's state, after
 * them.  Pure functions, unit tested in
 * t/unit and fuzzed in t/fuzz: what comes out of shared memory is parsed
 * as what comes from Redis is, every length and count checked before it
 * is followed, and a blob that is not exactly what ngx_http_cx_pack()
 * makes is refused whole.
 *
 *   version  1 byte
 *   id_len   1 byte       the entry's "prefix name", so that a key that
 *   n        2 bytes      two steps share never serves the other's
 *   epoch    8 bytes      the decay epoch the rules were read in
 *   id       id_len bytes
 *   n times: len 2 bytes, weight 8 bytes, member len bytes
 *
 * Numbers in the host's order, copied byte by byte (the blob has no
 * alignment); the previous epoch's weights already scaled by
 * 2^-NGX_HTTP_CX_EPOCH, as ngx_http_cx_answer() adds them up.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <math.h>

#include <ngx_http_cx_module.h>


#define NGX_HTTP_CX_PACK_VERSION  1
#define NGX_HTTP_CX_PACK_HEAD     (1 + 1 + 2 + 8)
#define NGX_HTTP_CX_PACK_ENTRY    (2 + 8)


static ngx_uint_t ngx_http_cx_pack_ok(ngx_str_t *m, double w);
static ngx_uint_t ngx_http_cx_path_again(ngx_str_t *paths, ngx_uint_t i);


/* a member and its weight as the blob may hold them */

static ngx_uint_t
ngx_http_cx_pack_ok(ngx_str_t *m, double w)
{
    return m->len > 0 && m->len <= NGX_HTTP_CX_MEMBER_MAX
           && isfinite(w) && w > 0 && w <= NGX_HTTP_CX_SCORE_MAX;
}


/*
 * The blob's length for id and the first NGX_HTTP_CX_RULES members that
 * it may hold (the others are left out, here and by ngx_http_cx_pack()
 * alike); 0 for an id it cannot hold.
 */

size_t
ngx_http_cx_pack_len(ngx_str_t *id, ngx_str_t *m, double *w, ngx_uint_t n)
{
    size_t      len;
    ngx_uint_t  i, k;

    if (id->len > NGX_HTTP_CX_MODEL_ID_MAX) {
        return 0;
    }

    len = NGX_HTTP_CX_PACK_HEAD + id->len;

    for (i = 0, k = 0; i < n && k < NGX_HTTP_CX_RULES; i++) {
        if (ngx_http_cx_pack_ok(&m[i], w[i])) {
            len += NGX_HTTP_CX_PACK_ENTRY + m[i].len;
            k++;
        }
    }

    return len;
}


/* into p, of ngx_http_cx_pack_len() bytes: the end */

u_char *
ngx_http_cx_pack(u_char *p, ngx_str_t *id, int64_t epoch, ngx_str_t *m,
    double *w, ngx_uint_t n)
{
    u_char      *count;
    uint16_t     len;
    ngx_uint_t   i, k;

    *p++ = NGX_HTTP_CX_PACK_VERSION;
    *p++ = (u_char) id->len;

    count = p;
    p += 2;

    p = ngx_cpymem(p, &epoch, 8);
    p = ngx_cpymem(p, id->data, id->len);

    for (i = 0, k = 0; i < n && k < NGX_HTTP_CX_RULES; i++) {
        if (!ngx_http_cx_pack_ok(&m[i], w[i])) {
            continue;
        }

        len = (uint16_t) m[i].len;

        p = ngx_cpymem(p, &len, 2);
        p = ngx_cpymem(p, &w[i], 8);
        p = ngx_cpymem(p, m[i].data, m[i].len);
        k++;
    }

    len = (uint16_t) k;
    ngx_memcpy(count, &len, 2);

    return p;
}


/* how many members a blob holds, for their room: at most NGX_HTTP_CX_RULES */

ngx_uint_t
ngx_http_cx_unpack_count(u_char *p, size_t len)
{
    uint16_t  count;

    if (len < NGX_HTTP_CX_PACK_HEAD) {
        return 0;
    }

    ngx_memcpy(&count, p + 2, 2);

    return ngx_min(count, NGX_HTTP_CX_RULES);
}


/*
 * The members of a blob of len bytes into m[] and w[] (room for max),
 * pointing into it: NGX_OK; NGX_DECLINED if the blob is another id's;
 * NGX_ERROR if it is not a blob of ngx_http_cx_pack()'s making.
 */

ngx_int_t
ngx_http_cx_unpack(u_char *p, size_t len, ngx_str_t *id, int64_t *epoch,
    ngx_str_t *m, double *w, ngx_uint_t max, ngx_uint_t *n)
{
    u_char      *last;
    size_t       id_len;
    uint16_t     count, mlen;
    ngx_uint_t   i;

    if (len < NGX_HTTP_CX_PACK_HEAD || p[0] != NGX_HTTP_CX_PACK_VERSION) {
        return NGX_ERROR;
    }

    last = p + len;
    id_len = p[1];

    ngx_memcpy(&count, p + 2, 2);
    ngx_memcpy(epoch, p + 4, 8);
    p += NGX_HTTP_CX_PACK_HEAD;

    if (id_len > (size_t) (last - p) || count > NGX_HTTP_CX_RULES
        || count > max)
    {
        return NGX_ERROR;
    }

    if (id_len != id->len || ngx_memcmp(p, id->data, id_len) != 0) {
        return NGX_DECLINED;
    }

    p += id_len;

    for (i = 0; i < count; i++) {
        if ((size_t) (last - p) < NGX_HTTP_CX_PACK_ENTRY) {
            return NGX_ERROR;
        }

        ngx_memcpy(&mlen, p, 2);
        ngx_memcpy(&w[i], p + 2, 8);
        p += NGX_HTTP_CX_PACK_ENTRY;

        m[i].data = p;
        m[i].len = mlen;

        if (mlen > (size_t) (last - p) || !ngx_http_cx_pack_ok(&m[i], w[i])) {
            return NGX_ERROR;
        }

        p += mlen;
    }

    if (p != last) {
        return NGX_ERROR;
    }

    *n = count;

    return NGX_OK;
}


/*
 * A customer's state as the edge keeps it (ngx_http_cx_customer.c): the
 * state, then the recent steps, the transitions with their counts and
 * the paths to the goal, each a length and its bytes.  A path the same
 * as the one before it, as a customer who takes one route to the goal
 * again and again has them, is a length of 0 alone: its bytes are
 * copied out of the zone and back in once a request, not once a path.
 * The encoding is local to one machine, its numbers in the machine's
 * own order.
 */

#define NGX_HTTP_CX_CUSTOMER_MAGIC  0x63786331  /* "cxc1" */


typedef struct {
    uint32_t      magic;
    uint32_t      jlen;
    uint32_t      goals;
    uint32_t      ngaps;
    uint32_t      lday;
    uint32_t      learned;
    uint32_t      used;
    uint32_t      noffer;
    int64_t       ts;
    int64_t       lstart;
    double        gap;
    uint32_t      offer[NGX_HTTP_CX_SUGGEST_MAX];
    uint32_t      shortcut;
    uint16_t      nrecent;
    uint16_t      nhabits;
    uint16_t      npaths;
    uint16_t      reserved;         /* 0, as the rest: no padding */
    uint32_t      pushed;
} ngx_http_cx_packed_t;


size_t
ngx_http_cx_customer_size(ngx_http_cx_customer_t *cu)
{
    size_t      len;
    ngx_uint_t  i;

    len = sizeof(ngx_http_cx_packed_t);

    for (i = 0; i < cu->nrecent; i++) {
        len += sizeof(uint16_t) + cu->recent[i].len;
    }

    for (i = 0; i < cu->nhabits; i++) {
        len += sizeof(double) + sizeof(uint16_t) + cu->habits[i].len;
    }

    for (i = 0; i < cu->npaths; i++) {
        len += sizeof(uint16_t);

        if (!ngx_http_cx_path_again(cu->paths, i)) {
            len += cu->paths[i].len;
        }
    }

    return len;
}


/* path i the same as the one before it: packed as a length of 0 */

static ngx_uint_t
ngx_http_cx_path_again(ngx_str_t *paths, ngx_uint_t i)
{
    ngx_str_t  *a, *b;

    if (i == 0) {
        return 0;
    }

    a = &paths[i];
    b = &paths[i - 1];

    return a->len == b->len
           && (a->data == b->data
               || ngx_memcmp(a->data, b->data, a->len) == 0);
}


static u_char *
ngx_http_cx_pack_str(u_char *p, ngx_str_t *s)
{
    uint16_t  len;

    len = (uint16_t) s->len;
    p = ngx_cpymem(p, &len, sizeof(uint16_t));

    return ngx_cpymem(p, s->data, s->len);
}


/* into p, of ngx_http_cx_customer_size() bytes: the end */

u_char *
ngx_http_cx_customer_pack(u_char *p, ngx_http_cx_customer_t *cu)
{
    ngx_uint_t             i;
    ngx_http_cx_packed_t   h;
    ngx_http_cx_state_t   *st;

    st = &cu->state;

    ngx_memzero(&h, sizeof(ngx_http_cx_packed_t));

    h.magic = NGX_HTTP_CX_CUSTOMER_MAGIC;
    h.jlen = (uint32_t) st->jlen;
    h.goals = (uint32_t) st->goals;
    h.ngaps = (uint32_t) st->ngaps;
    h.lday = (uint32_t) st->lday;
    h.learned = (uint32_t) st->learned;
    h.used = (uint32_t) st->used;
    h.noffer = (uint32_t) st->noffer;
    h.ts = st->ts;
    h.lstart = st->lstart;
    h.gap = st->gap;
    ngx_memcpy(h.offer, st->offer, sizeof(h.offer));
    h.shortcut = st->shortcut;
    h.nrecent = (uint16_t) cu->nrecent;
    h.nhabits = (uint16_t) cu->nhabits;
    h.npaths = (uint16_t) cu->npaths;
    h.pushed = (uint32_t) st->pushed;

    p = ngx_cpymem(p, &h, sizeof(ngx_http_cx_packed_t));

    for (i = 0; i < cu->nrecent; i++) {
        p = ngx_http_cx_pack_str(p, &cu->recent[i]);
    }

    for (i = 0; i < cu->nhabits; i++) {
        p = ngx_cpymem(p, &cu->habits_w[i], sizeof(double));
        p = ngx_http_cx_pack_str(p, &cu->habits[i]);
    }

    for (i = 0; i < cu->npaths; i++) {
        if (ngx_http_cx_path_again(cu->paths, i)) {
            *p++ = 0;
            *p++ = 0;
            continue;
        }

        p = ngx_http_cx_pack_str(p, &cu->paths[i]);
    }

    return p;
}


static u_char *
ngx_http_cx_unpack_str(u_char *p, u_char *last, size_t max, ngx_str_t *s)
{
    uint16_t  len;

    if ((size_t) (last - p) < sizeof(uint16_t)) {
        return NULL;
    }

    ngx_memcpy(&len, p, sizeof(uint16_t));
    p += sizeof(uint16_t);

    if (len == 0 || len > max || (size_t) (last - p) < len) {
        return NULL;
    }

    s->data = p;
    s->len = len;

    return p + len;
}


/*
 * The customer of p[0..len), its strings pointing into p: NGX_ERROR if it
 * is not all and only what ngx_http_cx_customer_pack() writes.
 */

ngx_int_t
ngx_http_cx_customer_unpack(u_char *p, size_t len, ngx_http_cx_customer_t *cu)
{
    u_char                *last;
    ngx_uint_t             i;
    ngx_http_cx_packed_t   h;
    ngx_http_cx_state_t   *st;

    last = p + len;

    if (len < sizeof(ngx_http_cx_packed_t)) {
        return NGX_ERROR;
    }

    ngx_memcpy(&h, p, sizeof(ngx_http_cx_packed_t));
    p += sizeof(ngx_http_cx_packed_t);

    if (h.magic != NGX_HTTP_CX_CUSTOMER_MAGIC
        || h.reserved || h.pushed > NGX_HTTP_CX_RECENT
        || h.nrecent > NGX_HTTP_CX_RECENT
        || h.nhabits > NGX_HTTP_CX_HABITS
        || h.npaths > NGX_HTTP_CX_PATHS
        || h.noffer > NGX_HTTP_CX_SUGGEST_MAX
        || !(h.gap >= 0 && h.gap <= NGX_HTTP_CX_COUNT_MAX * 1000.0))
    {
        return NGX_ERROR;
    }

    st = &cu->state;

    ngx_memzero(st, sizeof(ngx_http_cx_state_t));

    st->ts = h.ts;
    st->jlen = h.jlen;
    st->goals = h.goals;
    st->gap = h.gap;
    st->ngaps = h.ngaps;
    st->lday = h.lday;
    st->learned = h.learned;
    st->lstart = h.lstart;
    st->used = h.used;
    st->noffer = h.noffer;
    ngx_memcpy(st->offer, h.offer, sizeof(h.offer));
    st->shortcut = h.shortcut;
    st->pushed = h.pushed;

    cu->nrecent = h.nrecent;
    cu->nhabits = h.nhabits;
    cu->npaths = h.npaths;

    for (i = 0; i < cu->nrecent; i++) {
        p = ngx_http_cx_unpack_str(p, last, NGX_HTTP_CX_MEMBER_MAX,
                                   &cu->recent[i]);
        if (p == NULL) {
            return NGX_ERROR;
        }
    }

    for (i = 0; i < cu->nhabits; i++) {
        if ((size_t) (last - p) < sizeof(double)) {
            return NGX_ERROR;
        }

        ngx_memcpy(&cu->habits_w[i], p, sizeof(double));
        p += sizeof(double);

        if (!(cu->habits_w[i] > 0 && cu->habits_w[i] <= NGX_HTTP_CX_SCORE_MAX))
        {
            return NGX_ERROR;
        }

        p = ngx_http_cx_unpack_str(p, last, NGX_HTTP_CX_HABIT_MAX,
                                   &cu->habits[i]);
        if (p == NULL) {
            return NGX_ERROR;
        }
    }

    for (i = 0; i < cu->npaths; i++) {

        /* the one before again: a length of 0, and only so */

        if (i > 0 && last - p >= 2 && p[0] == 0 && p[1] == 0) {
            cu->paths[i] = cu->paths[i - 1];
            p += 2;
            continue;
        }

        p = ngx_http_cx_unpack_str(p, last, NGX_HTTP_CX_PATH_MAX,
                                   &cu->paths[i]);
        if (p == NULL || ngx_http_cx_path_again(cu->paths, i)) {
            return NGX_ERROR;
        }
    }

    return (p == last) ? NGX_OK : NGX_ERROR;
}


/*
 * A copy of the customer's state and of the entries they hold, not of
 * the struct's room for more (2 kB, most of it unused): a step's record
 * copies the customer it then steps.  The strings are referenced.
 */

void
ngx_http_cx_customer_copy(ngx_http_cx_customer_t *dst,
    ngx_http_cx_customer_t *src)
{
    dst->state = src->state;
    dst->nrecent = src->nrecent;
    dst->nhabits = src->nhabits;
    dst->npaths = src->npaths;

    ngx_memcpy(dst->recent, src->recent, src->nrecent * sizeof(ngx_str_t));
    ngx_memcpy(dst->habits, src->habits, src->nhabits * sizeof(ngx_str_t));
    ngx_memcpy(dst->habits_w, src->habits_w, src->nhabits * sizeof(double));
    ngx_memcpy(dst->paths, src->paths, src->npaths * sizeof(ngx_str_t));
}


/*
 * What a recorded step does to the customer, as Redis does it: the steps
 * (newest first) pushed and the sequence cut to "history", each
 * transition counted once more after the set is cut to its heaviest
 * NGX_HTTP_CX_HABITS - 1, the path to the goal pushed, and the state.
 * The strings are referenced, not copied.
 */

void
ngx_http_cx_customer_step(ngx_http_cx_customer_t *cu,
    ngx_http_cx_state_t *st, ngx_str_t *steps, ngx_uint_t nsteps,
    ngx_str_t *habits, ngx_uint_t nhabits, ngx_str_t *path,
    ngx_uint_t history)
{
    double      w;
    ngx_str_t   s;
    ngx_uint_t  i, j, keep;

    cu->state = *st;

    /* the sequence, the newest first */

    keep = ngx_min(NGX_HTTP_CX_RECENT, history);
    nsteps = ngx_min(nsteps, keep);

    j = ngx_min(cu->nrecent, keep - nsteps);
    ngx_memmove(&cu->recent[nsteps], cu->recent, j * sizeof(ngx_str_t));

    for (i = 0; i < nsteps; i++) {
        cu->recent[i] = steps[nsteps - 1 - i];
    }

    cu->nrecent = nsteps + j;

    /* the transitions, heaviest first */

    for (i = 0; i < nhabits; i++) {

        cu->nhabits = ngx_min(cu->nhabits, NGX_HTTP_CX_HABITS - 1);

        for (j = 0; j < cu->nhabits; j++) {
            if (ngx_http_cx_same(&cu->habits[j], &habits[i])) {
                break;
            }
        }

        if (j == cu->nhabits) {
            cu->habits[j] = habits[i];
            cu->habits_w[j] = 0;
            cu->nhabits++;
        }

        /* no more than ngx_http_cx_reply_customer() reads back */

        if (cu->habits_w[j] < NGX_HTTP_CX_COUNT_MAX) {
            cu->habits_w[j] += 1;
        }

        /* up to its place */

        s = cu->habits[j];
        w = cu->habits_w[j];

        while (j > 0
               && ngx_http_cx_habit_before(w, &s, cu->habits_w[j - 1],
                                           &cu->habits[j - 1]))
        {
            cu->habits[j] = cu->habits[j - 1];
            cu->habits_w[j] = cu->habits_w[j - 1];
            j--;
        }

        cu->habits[j] = s;
        cu->habits_w[j] = w;
    }

    /* the path to the goal */

    if (path && path->len) {
        j = ngx_min(cu->npaths, NGX_HTTP_CX_PATHS - 1);
        ngx_memmove(&cu->paths[1], cu->paths, j * sizeof(ngx_str_t));
        cu->paths[0] = *path;
        cu->npaths = j + 1;
    }
}
