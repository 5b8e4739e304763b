
/*
 * Copyright (C) ngx_cx authors
 *
 * cx_api: a location that answers $cx_next_json for the current customer,
 * without recording a step, so that a single-page app can ask.  The page
 * is ?uri=/path, or else the path of a Referer of this host, decoded as a
 * page request's Referer is (ngx_http_cx_referer_path()).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <ngx_http_cx_module.h>


static ngx_int_t ngx_http_cx_api_handler(ngx_http_request_t *r);
static void ngx_http_cx_api_uri(ngx_http_request_t *r, ngx_str_t *uri);


static ngx_str_t  ngx_http_cx_cache_control = ngx_string("Cache-Control");
static ngx_str_t  ngx_http_cx_no_store = ngx_string("no-store");


char *
ngx_http_cx_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cx_main_conf_t   *cmcf;
    ngx_http_core_loc_conf_t  *hclcf;

    hclcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    hclcf->handler = ngx_http_cx_api_handler;

    /* the steps' offers are what cx_api answers: each step makes its own */
    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_cx_module);
    cmcf->api = 1;

    ngx_http_cx_needs_redis(cf, "cx_api");

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_cx_api_handler(ngx_http_request_t *r)
{
    ngx_int_t                rc;
    ngx_str_t                uri;
    ngx_http_cx_loc_conf_t  *clcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_cx_module);

    ngx_http_cx_api_uri(r, &uri);

    if (uri.len && uri.data[0] == '/' && clcf->steps
        && ngx_http_cx_get_ctx(r) == NULL)
    {
        rc = ngx_http_cx_start(r, clcf, &uri, 1);

        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    return ngx_http_cx_api_send(r, ngx_http_cx_get_ctx(r));
}


static void
ngx_http_cx_api_uri(ngx_http_request_t *r, ngx_str_t *uri)
{
    u_char     *p, *dst, *src;
    size_t      size;
    ngx_str_t   arg, *referer;

    ngx_str_null(uri);

    if (ngx_http_arg(r, (u_char *) "uri", 3, &arg) == NGX_OK && arg.len) {
        p = ngx_pnalloc(r->pool, arg.len);
        if (p == NULL) {
            return;
        }

        dst = p;
        src = arg.data;
        ngx_unescape_uri(&dst, &src, arg.len, NGX_UNESCAPE_URI);

        uri->data = p;
        uri->len = dst - p;
        return;
    }

    if (r->headers_in.referer == NULL) {
        return;
    }

    /* decoded, never longer; as much room as ngx_http_cx_referer() has */

    referer = &r->headers_in.referer->value;
    size = ngx_min(referer->len, NGX_HTTP_CX_URL_MAX * 4);

    p = ngx_pnalloc(r->pool, size);
    if (p == NULL) {
        return;
    }

    if (ngx_http_cx_referer_path(referer, &r->headers_in.server, p, size,
                                 uri)
        != NGX_OK)
    {
        ngx_str_null(uri);
    }
}


ngx_int_t
ngx_http_cx_api_send(ngx_http_request_t *r, ngx_http_cx_ctx_t *ctx)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_str_t     json;
    ngx_chain_t   out;

    if (ngx_http_cx_json_of(r, ctx, &json) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = json.len;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    /* one customer's answer: no cache may keep it */

    if (ngx_http_cx_add_header(r, &ngx_http_cx_cache_control,
                               &ngx_http_cx_no_store)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = json.data;
    b->last = json.data + json.len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}
