
/*
 * Copyright (C) ngx_cx authors
 *
 * $cx_step, $cx_next, $cx_status and the rest of the answer, $cx_private
 * (the request was not tracked); $cx_items and, while
 * cx_inject_item_template renders one, $cx_item_*.
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
    ngx_string("UNASKED"),
    ngx_string("PENDING")
};


ngx_str_t  ngx_http_cx_variant_names[] = {
    ngx_string("treatment"),
    ngx_string("holdout")
};


enum {
    NGX_HTTP_CX_VAR_STEP = 0,
    NGX_HTTP_CX_VAR_NEXT,
    NGX_HTTP_CX_VAR_STATUS,
    NGX_HTTP_CX_VAR_LEVEL,
    NGX_HTTP_CX_VAR_PACE,
    NGX_HTTP_CX_VAR_SHORTCUT,
    NGX_HTTP_CX_VAR_JSON,
    NGX_HTTP_CX_VAR_VARIANT,
    NGX_HTTP_CX_VAR_PRIVATE,
    NGX_HTTP_CX_VAR_ITEMS,
    NGX_HTTP_CX_VAR_ITEM_URL,
    NGX_HTTP_CX_VAR_ITEM_LABEL,
    NGX_HTTP_CX_VAR_ITEM_REASON
};


/*
 * A variable that the answer makes: not the step, the variant nor
 * $cx_private, known before it; nor $cx_item_*, set only while an answer
 * is rendered (cx_inject_item_template), which the module indexes itself
 */
#define ngx_http_cx_var_answered(data)                                        \
    ((data) != NGX_HTTP_CX_VAR_STEP && (data) != NGX_HTTP_CX_VAR_VARIANT      \
     && (data) != NGX_HTTP_CX_VAR_PRIVATE                                     \
     && (data) < NGX_HTTP_CX_VAR_ITEM_URL)


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

    { ngx_string("cx_variant"), NULL, ngx_http_cx_variable,
      NGX_HTTP_CX_VAR_VARIANT, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("cx_private"), NULL, ngx_http_cx_variable,
      NGX_HTTP_CX_VAR_PRIVATE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("cx_items"), NULL, ngx_http_cx_variable,
      NGX_HTTP_CX_VAR_ITEMS, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("cx_item_url"), NULL, ngx_http_cx_variable,
      NGX_HTTP_CX_VAR_ITEM_URL, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("cx_item_label"), NULL, ngx_http_cx_variable,
      NGX_HTTP_CX_VAR_ITEM_LABEL, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("cx_item_reason"), NULL, ngx_http_cx_variable,
      NGX_HTTP_CX_VAR_ITEM_REASON, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


/* the indexes of $cx_item_url, _label, _reason, for ngx_http_cx_item_flush */
static ngx_int_t  ngx_http_cx_item_index[3];


ngx_int_t
ngx_http_cx_add_variables(ngx_conf_t *cf)
{
    ngx_int_t             n;
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_cx_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;

        if (v->data >= NGX_HTTP_CX_VAR_ITEM_URL) {
            n = ngx_http_get_variable_index(cf, &v->name);
            if (n == NGX_ERROR) {
                return NGX_ERROR;
            }

            ngx_http_cx_item_index[v->data - NGX_HTTP_CX_VAR_ITEM_URL] = n;
        }
    }

    return NGX_OK;
}


/*
 * Whether the configuration names a variable of the answer (the core's
 * indexed ones, at postconfiguration): then every step makes its answer
 * before the response header, for what reads it later, an access log or
 * an add_header.  $cx_item_* are indexed here, and only a template reads
 * them.
 */

ngx_flag_t
ngx_http_cx_answer_named(ngx_conf_t *cf)
{
    ngx_uint_t                  i;
    ngx_http_variable_t        *v, *cx;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    v = cmcf->variables.elts;

    for (i = 0; i < cmcf->variables.nelts; i++) {

        for (cx = ngx_http_cx_vars; cx->name.len; cx++) {

            if (!ngx_http_cx_var_answered(cx->data)) {
                continue;
            }

            if (v[i].name.len == cx->name.len
                && ngx_strncasecmp(v[i].name.data, cx->name.data,
                                   cx->name.len)
                   == 0)
            {
                return 1;
            }
        }
    }

    return 0;
}


/*
 * Once cx_inject_item_template is rendered, $cx_item_* must be read again
 * (and be empty) where a template uses them outside: a value cached from
 * the last item would not be the one the template's length was counted
 * with.
 */

void
ngx_http_cx_item_flush(ngx_http_request_t *r)
{
    ngx_uint_t  i;

    for (i = 0; i < 3; i++) {
        r->variables[ngx_http_cx_item_index[i]].valid = 0;
        r->variables[ngx_http_cx_item_index[i]].not_found = 0;
    }
}


static ngx_int_t
ngx_http_cx_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    ngx_str_t           *s, json, items, escaped, *raw;
    ngx_http_cx_ctx_t   *ctx;
    ngx_http_cx_item_t  *item;

    static ngx_str_t  one = ngx_string("1");

    ctx = ngx_http_cx_get_ctx(r->main);

    if (ctx && ngx_http_cx_var_answered(data)) {
        /* the answer, if it was left until read (ngx_http_cx_start()) */
        ngx_http_cx_ask(ctx);
    }

    item = ctx ? ctx->item : NULL;

    switch (data) {

    case NGX_HTTP_CX_VAR_ITEMS:
        if (ngx_http_cx_items(r, ctx, &items) != NGX_OK) {
            return NGX_ERROR;
        }

        s = &items;
        break;

    case NGX_HTTP_CX_VAR_ITEM_URL:
    case NGX_HTTP_CX_VAR_ITEM_LABEL:
        s = NULL;

        if (item == NULL) {
            break;
        }

        /* html-escaped: a template puts them in markup */

        raw = (data == NGX_HTTP_CX_VAR_ITEM_URL) ? &item->url : &item->label;

        escaped.len = raw->len
                      + ngx_http_cx_escape_html(NULL, raw->data, raw->len);
        escaped.data = ngx_pnalloc(r->pool, escaped.len);
        if (escaped.data == NULL) {
            return NGX_ERROR;
        }

        ngx_http_cx_escape_html(escaped.data, raw->data, raw->len);
        s = &escaped;
        break;

    case NGX_HTTP_CX_VAR_ITEM_REASON:
        s = item ? &ngx_http_cx_reason_names[item->reason] : NULL;
        break;

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

    case NGX_HTTP_CX_VAR_VARIANT:
        /* once the customer is known */
        s = (ctx && ctx->hash) ? &ngx_http_cx_variant_names[ctx->variant]
                               : NULL;
        break;

    case NGX_HTTP_CX_VAR_STEP:
        s = ctx ? &ctx->step.name : NULL;
        break;

    case NGX_HTTP_CX_VAR_NEXT:
        s = ctx ? &ctx->next : NULL;
        break;

    case NGX_HTTP_CX_VAR_PRIVATE:
        s = (ctx && ctx->untracked) ? &one : NULL;
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
