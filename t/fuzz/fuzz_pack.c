
/*
 * Copyright (C) ngx_cx authors
 *
 * Fuzz target: a model's cache entry (ngx_http_cx_pack.c), and the same
 * bytes as a customer's copy.  After a byte
 * of settings, the bytes are either a blob as shared memory would hold
 * it, read back with ngx_http_cx_unpack(): what it accepts must be
 * within every bound and be exactly what ngx_http_cx_pack() makes of
 * it; or members, one per line, each its weight's 8 bytes first, made
 * into a blob and read back: the members that a blob may hold, in
 * order, the first NGX_HTTP_CX_RULES of them.
 */


#include "ngx_http_cx_fuzz.h"

#include <math.h>


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static ngx_str_t  ngx_http_cx_fuzz_id = ngx_string("cx: item:42");


static ngx_uint_t
ngx_http_cx_fuzz_member_ok(ngx_str_t *m, double w)
{
    return m->len > 0 && m->len <= NGX_HTTP_CX_MEMBER_MAX
           && isfinite(w) && w > 0 && w <= NGX_HTTP_CX_SCORE_MAX;
}


/* a blob: refused, or within bounds and as ngx_http_cx_pack() makes it */

static void
ngx_http_cx_fuzz_blob(u_char *blob, size_t len, ngx_uint_t max)
{
    u_char      *again, *p;
    double       w[NGX_HTTP_CX_RULES];
    int64_t      epoch;
    ngx_int_t    rc;
    ngx_str_t    m[NGX_HTTP_CX_RULES], other;
    ngx_uint_t   i, n;

    n = 0;
    rc = ngx_http_cx_unpack(blob, len, &ngx_http_cx_fuzz_id, &epoch, m, w,
                            max, &n);

    ngx_http_cx_fuzz_check(rc == NGX_OK || rc == NGX_DECLINED
                           || rc == NGX_ERROR);

    if (rc != NGX_OK) {
        return;
    }

    ngx_http_cx_fuzz_check(n <= max);

    for (i = 0; i < n; i++) {
        ngx_http_cx_fuzz_check(ngx_http_cx_fuzz_member_ok(&m[i], w[i]));
        ngx_http_cx_fuzz_check(m[i].data > blob
                               && m[i].data + m[i].len <= blob + len);
    }

    /* the same bytes again, and for no other id */

    ngx_http_cx_fuzz_check(ngx_http_cx_pack_len(&ngx_http_cx_fuzz_id, m, w, n)
                           == len);

    again = malloc(len);
    ngx_http_cx_fuzz_check(again != NULL);

    p = ngx_http_cx_pack(again, &ngx_http_cx_fuzz_id, epoch, m, w, n);
    ngx_http_cx_fuzz_check((size_t) (p - again) == len
                           && ngx_memcmp(again, blob, len) == 0);

    free(again);

    ngx_str_set(&other, "cx: item:4");
    ngx_http_cx_fuzz_check(ngx_http_cx_unpack(blob, len, &other, &epoch, m, w,
                                              max, &n)
                           == NGX_DECLINED);
}


/* members, a line each, its weight's bytes first: made and read back */

static void
ngx_http_cx_fuzz_members(const uint8_t *data, size_t size, int64_t epoch)
{
    u_char         *blob, *p, *line, *last, *nl;
    size_t          len;
    double          w[NGX_HTTP_CX_RULES + 8], wo[NGX_HTTP_CX_RULES];
    int64_t         e;
    ngx_str_t       m[NGX_HTTP_CX_RULES + 8], mo[NGX_HTTP_CX_RULES];
    ngx_uint_t      i, k, n, no;

    p = ngx_http_cx_fuzz_copy(data, size);
    line = p;
    last = p + size;
    n = 0;

    while (line < last && n < NGX_HTTP_CX_RULES + 8) {
        nl = ngx_strlchr(line, last, '\n');
        if (nl == NULL) {
            nl = last;
        }

        w[n] = 1;
        if (nl - line >= 8) {
            ngx_memcpy(&w[n], line, 8);
            line += 8;
        }

        m[n].data = line;
        m[n].len = nl - line;
        n++;

        line = nl + 1;
    }

    len = ngx_http_cx_pack_len(&ngx_http_cx_fuzz_id, m, w, n);

    blob = malloc(len);
    ngx_http_cx_fuzz_check(blob != NULL);

    ngx_http_cx_fuzz_check(ngx_http_cx_pack(blob, &ngx_http_cx_fuzz_id, epoch,
                                            m, w, n)
                           == blob + len);

    no = 0;
    ngx_http_cx_fuzz_check(ngx_http_cx_unpack(blob, len, &ngx_http_cx_fuzz_id,
                                              &e, mo, wo, NGX_HTTP_CX_RULES,
                                              &no)
                           == NGX_OK
                           && e == epoch);

    for (i = 0, k = 0; i < n && k < NGX_HTTP_CX_RULES; i++) {
        if (!ngx_http_cx_fuzz_member_ok(&m[i], w[i])) {
            continue;
        }

        ngx_http_cx_fuzz_check(k < no && mo[k].len == m[i].len
                               && ngx_memcmp(mo[k].data, m[i].data, m[i].len)
                                  == 0
                               && ngx_memcmp(&wo[k], &w[i], 8) == 0);
        k++;
    }

    ngx_http_cx_fuzz_check(k == no);

    free(blob);
    free(p);
}


/*
 * The same bytes as a customer's copy (ngx_http_cx_customer_unpack()):
 * refused, or within every bound, packed again into the same bytes, and
 * with a step applied still within them, packed into its size and read
 * back.
 */

static void
ngx_http_cx_fuzz_customer(u_char *blob, size_t len)
{
    u_char                   *again, *p;
    ngx_str_t                 steps[2], path;
    ngx_uint_t                i;
    ngx_http_cx_state_t       st;
    ngx_http_cx_customer_t    cu, back;

    if (ngx_http_cx_customer_unpack(blob, len, &cu) != NGX_OK) {
        return;
    }

    ngx_http_cx_fuzz_check(cu.nrecent <= NGX_HTTP_CX_RECENT
                           && cu.nhabits <= NGX_HTTP_CX_HABITS
                           && cu.npaths <= NGX_HTTP_CX_PATHS);

    for (i = 0; i < cu.nhabits; i++) {
        ngx_http_cx_fuzz_check(cu.habits[i].len <= NGX_HTTP_CX_HABIT_MAX
                               && cu.habits_w[i] > 0);
    }

    ngx_http_cx_fuzz_check(ngx_http_cx_customer_size(&cu) == len);

    again = malloc(len);
    ngx_http_cx_fuzz_check(again != NULL);

    p = ngx_http_cx_customer_pack(again, &cu);
    ngx_http_cx_fuzz_check((size_t) (p - again) == len
                           && ngx_memcmp(again, blob, len) == 0);

    free(again);

    st = cu.state;
    ngx_str_set(&steps[0], "cart /cart");
    ngx_str_set(&steps[1], "item:42 /item/42");
    ngx_str_set(&path, "cart /cart|item:42 /item/42");

    ngx_http_cx_customer_step(&cu, &st, steps, 2, cu.habits,
                              cu.nhabits ? 1 : 0, &path, 16);

    ngx_http_cx_fuzz_check(cu.nrecent <= NGX_HTTP_CX_RECENT
                           && cu.nhabits <= NGX_HTTP_CX_HABITS
                           && cu.npaths <= NGX_HTTP_CX_PATHS);

    /*
     * and packed so into its size (the path pushed may be the one after
     * it again), read back with the same paths
     */

    len = ngx_http_cx_customer_size(&cu);

    again = malloc(len);
    ngx_http_cx_fuzz_check(again != NULL);

    p = ngx_http_cx_customer_pack(again, &cu);
    ngx_http_cx_fuzz_check((size_t) (p - again) == len
                           && ngx_http_cx_customer_unpack(again, len, &back)
                              == NGX_OK
                           && back.npaths == cu.npaths);

    for (i = 0; i < cu.npaths; i++) {
        ngx_http_cx_fuzz_check(ngx_http_cx_same(&back.paths[i],
                                                &cu.paths[i]));
    }

    free(again);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char      *blob;
    ngx_uint_t   max;

    if (size == 0) {
        return 0;
    }

    if (data[0] & 1) {
        ngx_http_cx_fuzz_members(data + 1, size - 1,
                                 (int64_t) data[0] * 0x0123456789LL);
        return 0;
    }

    /* room for all members, or fewer */

    max = (data[0] & 2) ? NGX_HTTP_CX_RULES : (ngx_uint_t) (data[0] >> 2);

    blob = ngx_http_cx_fuzz_copy(data + 1, size - 1);

    ngx_http_cx_fuzz_blob(blob, size - 1, max);
    ngx_http_cx_fuzz_customer(blob, size - 1);

    free(blob);

    return 0;
}
