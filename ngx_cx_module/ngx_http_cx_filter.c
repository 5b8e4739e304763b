
/*
 * Copyright (C) ngx_cx authors
 *
 * Response headers: the customer id cookie for new visitors, and with
 * "cx_header on" X-CX-Status and X-CX-Next.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <ngx_http_cx_module.h>


static ngx_int_t ngx_http_cx_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_cx_add_header(ngx_http_request_t *r,
    ngx_str_t *key, ngx_str_t *value);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;


ngx_int_t
ngx_http_cx_filter_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_cx_header_filter;

    return NGX_OK;
}


static ngx_int_t
ngx_http_cx_header_filter(ngx_http_request_t *r)
{
    u_char                  *p;
    ngx_str_t                value;
    ngx_uint_t               i;
    ngx_http_cx_ctx_t       *ctx;
    ngx_http_cx_loc_conf_t  *clcf;

    static ngx_str_t  set_cookie = ngx_string("Set-Cookie");
    static ngx_str_t  x_status = ngx_string("X-CX-Status");
    static ngx_str_t  x_next = ngx_string("X-CX-Next");

    if (r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_cx_get_ctx(r);

    if (ctx && ctx->cookie.len) {
        if (ngx_http_cx_add_header(r, &set_cookie, &ctx->cookie) != NGX_OK) {
            return NGX_ERROR;
        }

        ngx_str_null(&ctx->cookie);
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_cx_module);

    if (!clcf->header) {
        return ngx_http_next_header_filter(r);
    }

    if (ngx_http_cx_add_header(r, &x_status,
            &ngx_http_cx_status_names[ctx ? ctx->status : NGX_HTTP_CX_BYPASS])
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ctx && ctx->next.len) {

        /* "/a /b" becomes "/a, /b", a header list */

        value.len = ctx->next.len;
        for (i = 0; i < ctx->next.len; i++) {
            if (ctx->next.data[i] == ' ') {
                value.len++;
            }
        }

        value.data = ngx_pnalloc(r->pool, value.len);
        if (value.data == NULL) {
            return NGX_ERROR;
        }

        p = value.data;

        for (i = 0; i < ctx->next.len; i++) {
            if (ctx->next.data[i] == ' ') {
                *p++ = ',';
            }

            *p++ = ctx->next.data[i];
        }

        if (ngx_http_cx_add_header(r, &x_next, &value) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return ngx_http_next_header_filter(r);
}


static ngx_int_t
ngx_http_cx_add_header(ngx_http_request_t *r, ngx_str_t *key,
    ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key = *key;
    h->value = *value;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    return NGX_OK;
}
