
/*
 * Copyright (C) ngx_cx authors
 *
 * $cx_step, $cx_next, $cx_status.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <ngx_http_cx_module.h>


static ngx_int_t ngx_http_cx_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


ngx_str_t  ngx_http_cx_status_names[] = {
    ngx_string("BYPASS"),
    ngx_string("HIT"),
    ngx_string("MISS"),
    ngx_string("TIMEOUT"),
    ngx_string("ERROR"),
    ngx_string("PENDING")
};


enum {
    NGX_HTTP_CX_VAR_STEP = 0,
    NGX_HTTP_CX_VAR_NEXT,
    NGX_HTTP_CX_VAR_STATUS,
    NGX_HTTP_CX_VAR_LEVEL,
    NGX_HTTP_CX_VAR_PACE,
    NGX_HTTP_CX_VAR_SHORTCUT,
    NGX_HTTP_CX_VAR_JSON
};


static ngx_http_variable_t  ngx_http_cx_vars[] = {

    { ngx_string("cx_step"), NULL, ngx_http_cx_variable,
      NGX_HTTP_CX_VAR_STEP, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("cx_next"), NULL, ngx_http_cx_variable,
      NGX_HTTP_CX_VAR_NEXT, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("cx_status"), NULL, ngx_http_cx_variable,
      NGX_HTTP_CX_VAR_STATUS, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("cx_level"), NULL, ngx_http_cx_variable,
      NGX_HTTP_CX_VAR_LEVEL, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("cx_pace"), NULL, ngx_http_cx_variable,
      NGX_HTTP_CX_VAR_PACE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("cx_shortcut"), NULL, ngx_http_cx_variable,
      NGX_HTTP_CX_VAR_SHORTCUT, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("cx_next_json"), NULL, ngx_http_cx_variable,
      NGX_HTTP_CX_VAR_JSON, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_cx_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_cx_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_cx_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    ngx_str_t          *s, json;
    ngx_http_cx_ctx_t  *ctx;

    ctx = ngx_http_cx_get_ctx(r->main);

    switch (data) {

    case NGX_HTTP_CX_VAR_LEVEL:
        s = (ctx && ctx->known) ? &ngx_http_cx_level_names[ctx->level]
                                : NULL;
        break;

    case NGX_HTTP_CX_VAR_PACE:
        s = (ctx && ctx->known) ? &ngx_http_cx_pace_names[ctx->pace] : NULL;
        break;

    case NGX_HTTP_CX_VAR_SHORTCUT:
        s = ctx ? &ctx->shortcut : NULL;
        break;

    case NGX_HTTP_CX_VAR_JSON:
        if (ngx_http_cx_json_of(r, ctx, &json) != NGX_OK) {
            return NGX_ERROR;
        }

        s = &json;
        break;

    case NGX_HTTP_CX_VAR_STEP:
        s = ctx ? &ctx->step.name : NULL;
        break;

    case NGX_HTTP_CX_VAR_NEXT:
        s = ctx ? &ctx->next : NULL;
        break;

    default: /* NGX_HTTP_CX_VAR_STATUS */
        s = &ngx_http_cx_status_names[ctx ? ctx->status : NGX_HTTP_CX_BYPASS];
        break;
    }

    if (s == NULL) {
        v->len = 0;
        v->data = (u_char *) "";

    } else {
        v->len = s->len;
        v->data = s->data;
    }

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}
