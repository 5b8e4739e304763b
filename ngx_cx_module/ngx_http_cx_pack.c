
/*
 * Copyright (C) ngx_cx authors
 *
 * A step's successors as the model cache keeps them (ngx_http_cx_cache.c):
 * one blob, made here and read back here.  Pure functions, unit tested in
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
