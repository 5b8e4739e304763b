
/*
 * Copyright (C) ngx_cx authors
 *
 * Fuzz target: the customer id.  The bytes are Cookie header lines (one
 * per line), read as $cookie_cx_id is, with nginx's own
 * ngx_http_parse_multi_header_lines(); the id found, and the bytes
 * themselves as an id from any other variable (cx_id), are hashed and
 * made into every key of the customer, with the longest prefix and step
 * name the configuration allows, into buffers of NGX_HTTP_CX_KEY_MAX.
 */


#include "ngx_http_cx_fuzz.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


#define NGX_HTTP_CX_FUZZ_LINES  8


static uint64_t  ngx_http_cx_fuzz_hash_keys[NGX_HTTP_CX_KEYS];

static ngx_str_t  ngx_http_cx_fuzz_prefix = ngx_string(
    "cx:pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp:");


static void
ngx_http_cx_fuzz_keys(ngx_uint_t login, u_char *id, size_t len,
    const uint8_t *data, size_t size)
{
    u_char     *key, *p, name[NGX_HTTP_CX_NAME_MAX], hex[2 * 8];
    size_t      n;
    int64_t     epoch;
    uint64_t    hash;
    ngx_uint_t  i;

    static const char  *suffixes[] = { "seq", "s", "g", "p:" };

    if (len == 0 || len > NGX_HTTP_CX_ID_MAX) {
        /* what ngx_http_cx_identify() accepts */
        return;
    }

    hash = ngx_http_cx_hash_id(ngx_http_cx_fuzz_hash_keys, login, id, len);

    key = malloc(NGX_HTTP_CX_KEY_MAX);
    ngx_http_cx_fuzz_check(key != NULL);

    for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        p = ngx_http_cx_customer_key(key, &ngx_http_cx_fuzz_prefix, hash,
                                     suffixes[i]);
        ngx_http_cx_fuzz_check((size_t) (p - key) <= NGX_HTTP_CX_KEY_MAX);
    }

    /* a step name of the bytes, as long as a name may be */

    n = ngx_min(size, NGX_HTTP_CX_NAME_MAX);
    ngx_memcpy(name, data, n);

    epoch = 0;
    if (size >= sizeof(int64_t)) {
        ngx_memcpy(&epoch, data + size - sizeof(int64_t), sizeof(int64_t));
    }

    p = ngx_http_cx_step_key(key, &ngx_http_cx_fuzz_prefix, name,
                             NGX_HTTP_CX_NAME_MAX, epoch);
    ngx_http_cx_fuzz_check((size_t) (p - key) <= NGX_HTTP_CX_KEY_MAX);

    p = ngx_http_cx_step_key(key, &ngx_http_cx_fuzz_prefix, name, n,
                             (int64_t) hash);
    ngx_http_cx_fuzz_check((size_t) (p - key) <= NGX_HTTP_CX_KEY_MAX);

    p = ngx_http_cx_hex_id(hex, (u_char *) &hash, sizeof(hash));
    ngx_http_cx_fuzz_check(p == hex + sizeof(hex));

    free(key);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char               *copy, *p, *last, *nl;
    ngx_str_t             value;
    ngx_uint_t            n;
    ngx_array_t           cookies;
    ngx_table_elt_t      *h, **hp;
    ngx_http_request_t   *r;

    static ngx_str_t      name = ngx_string("cx_id");
    static ngx_uint_t     initialized;

    if (!initialized) {
        ngx_http_cx_fuzz_init();
        ngx_http_cx_derive_keys(ngx_http_cx_fuzz_hash_keys,
                                &ngx_http_cx_fuzz_prefix);
        initialized = 1;
    }

    r = ngx_http_cx_fuzz_request(NULL);

    copy = ngx_http_cx_fuzz_copy(data, size);

    /* an id from any variable: the bytes as they are */

    ngx_http_cx_fuzz_keys(1, copy, size, data, size);

    /* Cookie: lines, each in a buffer of its own */

    ngx_http_cx_fuzz_check(ngx_array_init(&cookies, r->pool,
                                          NGX_HTTP_CX_FUZZ_LINES,
                                          sizeof(ngx_table_elt_t *))
                           == NGX_OK);

    p = copy;
    last = copy + size;

    for (n = 0; p <= last && n < NGX_HTTP_CX_FUZZ_LINES; n++) {
        nl = ngx_strlchr(p, last, '\n');
        if (nl == NULL) {
            nl = last;
        }

        h = ngx_pcalloc(r->pool, sizeof(ngx_table_elt_t));
        hp = ngx_array_push(&cookies);
        ngx_http_cx_fuzz_check(h != NULL && hp != NULL);

        ngx_str_set(&h->key, "Cookie");
        h->value.len = nl - p;
        h->value.data = ngx_pnalloc(r->pool, h->value.len + 1);
        ngx_http_cx_fuzz_check(h->value.data != NULL);

        /* nginx ends header values with a NUL */
        ngx_memcpy(h->value.data, p, h->value.len);
        h->value.data[h->value.len] = '\0';
        h->hash = 1;
        *hp = h;

        p = nl + 1;
    }

    if (ngx_http_parse_multi_header_lines(&cookies, &name, &value)
        != NGX_DECLINED)
    {
        ngx_http_cx_fuzz_check(value.len <= size);
        ngx_http_cx_fuzz_keys(0, value.data, value.len, data, size);
    }

    free(copy);
    ngx_destroy_pool(r->pool);

    return 0;
}
