
/*
 * Copyright (C) ngx_cx authors
 *
 * Who the customer is.  cx_id lists where the id comes from, the first
 * source that is neither empty nor longer than NGX_HTTP_CX_ID_MAX wins,
 * and the cookie named by cx_cookie is always the last source.  A visitor
 * with no id at all gets a random one in that cookie.  When another
 * source (a login) wins over a cookie id that differs, the cookie's
 * customer is the anonymous one whose history the login takes over, after
 * the response (ngx_http_cx_login.c).  Ids are hashed with cx_secret
 * before anything reaches Redis, a login's and a cookie's apart: a client
 * sets its cookie to anything, a login's name among them.  With cx_cookie
 * if=, the cookie is issued and read only with the visitor's consent.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <sys/random.h>

#include <ngx_http_cx_module.h>


static void ngx_http_cx_id_cookie(ngx_str_t *value, ngx_str_t *name);
static ngx_uint_t ngx_http_cx_same_cookie(ngx_str_t *a, ngx_str_t *b);
static void ngx_http_cx_cookie_of(ngx_http_request_t *r, ngx_str_t *name,
    ngx_str_t *value);
static ngx_int_t ngx_http_cx_issue(ngx_http_request_t *r,
    ngx_http_cx_loc_conf_t *clcf, ngx_http_cx_ctx_t *ctx, ngx_str_t *id);


/* cx_id value ...: the first that is not empty wins */

char *
ngx_http_cx_id(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cx_loc_conf_t *clcf = conf;

    ngx_str_t                         *value;
    ngx_uint_t                         i;
    ngx_http_cx_id_t                  *src;
    ngx_http_compile_complex_value_t   ccv;

    if (clcf->ids != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    clcf->ids = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                 sizeof(ngx_http_cx_id_t));
    if (clcf->ids == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (value[i].len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid value \"%V\" in \"%V\" directive, "
                               "it must not be empty", &value[i], &cmd->name);
            return NGX_CONF_ERROR;
        }

        src = ngx_array_push(clcf->ids);
        if (src == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_http_cx_id_cookie(&value[i], &src->cookie);

        ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

        ccv.cf = cf;
        ccv.value = &value[i];
        ccv.complex_value = &src->value;

        if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/*
 * A source that is a cookie alone, "$cookie_NAME" or "${cookie_NAME}", in
 * any case: its name.  Whatever it holds, a client has set.
 */

static void
ngx_http_cx_id_cookie(ngx_str_t *value, ngx_str_t *name)
{
    u_char  *v;
    size_t   n;

    static u_char  var[] = "cookie_";

    ngx_str_null(name);

    v = value->data;
    n = value->len;

    if (n < 2 || v[0] != '$') {
        return;
    }

    v++;
    n--;

    if (v[0] == '{') {
        if (n < 2 || v[n - 1] != '}') {
            return;
        }

        v++;
        n -= 2;
    }

    if (n <= sizeof(var) - 1
        || ngx_strncasecmp(v, var, sizeof(var) - 1) != 0)
    {
        return;
    }

    v += sizeof(var) - 1;
    n -= sizeof(var) - 1;

    /* a variable's name ends at the first byte that is not of one */

    name->data = v;

    while (n && ((*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z')
                 || (*v >= '0' && *v <= '9') || *v == '_'))
    {
        v++;
        n--;
    }

    name->len = (n == 0) ? (size_t) (v - name->data) : 0;
}


static ngx_uint_t
ngx_http_cx_same_cookie(ngx_str_t *a, ngx_str_t *b)
{
    return a->len == b->len && a->len
           && ngx_strncasecmp(a->data, b->data, a->len) == 0;
}


/*
 * The value of the cookie name, as "$cookie_name" has it (the first one,
 * the name in any case), or empty; read in the request's headers, where
 * a complex value ran its script, looked the variable up and copied it.
 */

static void
ngx_http_cx_cookie_of(ngx_http_request_t *r, ngx_str_t *name,
    ngx_str_t *value)
{
#if (nginx_version >= 1023000)
    if (ngx_http_parse_multi_header_lines(r, r->headers_in.cookie, name,
                                          value)
        == NULL)
#else
    if (ngx_http_parse_multi_header_lines(&r->headers_in.cookies, name,
                                          value)
        == NGX_DECLINED)
#endif
    {
        ngx_str_null(value);
    }
}


/*
 * The customer's id, in "id": the first cx_id source with an id, else the
 * cookie; "login" tells which, for the hash.  A cookie id that a login
 * wins over, and that is not the same id, is the anonymous customer to
 * merge, in "anon" (empty if none).  Without any id, and with
 * NGX_HTTP_CX_ID_ISSUE, a new one in the cookie.
 *
 * Without consent (cx_cookie if=), the cookie is neither read nor issued,
 * unless NGX_HTTP_CX_ID_ANY (cx_forget: a customer who withdrew consent
 * is still forgotten); a visitor who would have been issued one is
 * NGX_OK with an empty id: not tracked, served the shared model.
 */

ngx_int_t
ngx_http_cx_identify(ngx_http_request_t *r, ngx_http_cx_loc_conf_t *clcf,
    ngx_http_cx_ctx_t *ctx, ngx_str_t *id, ngx_uint_t *login,
    ngx_str_t *anon, ngx_uint_t flags)
{
    ngx_str_t          cookie;
    ngx_uint_t         i, consent;
    ngx_http_cx_id_t  *src;

    ngx_str_null(id);
    ngx_str_null(anon);
    *login = 0;

    consent = 1;

    if (clcf->cookie.len && clcf->cookie_if) {
        if (ngx_http_complex_value(r, clcf->cookie_if, &cookie) != NGX_OK) {
            return NGX_ERROR;
        }

        /* access_log's "if=": empty or "0" is false */
        consent = cookie.len && !(cookie.len == 1 && cookie.data[0] == '0');
    }

    if (clcf->ids) {
        src = clcf->ids->elts;

        for (i = 0; i < clcf->ids->nelts; i++) {

            if (ngx_http_cx_same_cookie(&src[i].cookie,
                                        &clcf->id_cookie_name))
            {
                /* the id cookie listed: it is read last, below */
                continue;
            }

            if (src[i].cookie.len) {
                ngx_http_cx_cookie_of(r, &src[i].cookie, id);

            } else if (ngx_http_complex_value(r, &src[i].value, id)
                       != NGX_OK)
            {
                return NGX_ERROR;
            }

            if (id->len > 0 && id->len <= NGX_HTTP_CX_ID_MAX) {
                /* a cookie alone is a visitor's, whatever its name */
                *login = (src[i].cookie.len == 0);
                break;
            }

            /* empty or too long: counts as none */
            ngx_str_null(id);
        }
    }

    if (clcf->id_cookie_name.len && (consent || (flags & NGX_HTTP_CX_ID_ANY)))
    {
        ngx_http_cx_cookie_of(r, &clcf->id_cookie_name, &cookie);

        if (cookie.len > 0 && cookie.len <= NGX_HTTP_CX_ID_MAX) {

            if (id->len == 0) {
                *id = cookie;

            } else if (clcf->cookie.len && *login
                       && !ngx_http_cx_same(id, &cookie))
            {
                /* logged in, with the cookie of an anonymous visit */
                *anon = cookie;
            }
        }
    }

    if (id->len) {
        return NGX_OK;
    }

    if (clcf->cookie.len == 0 || !(flags & NGX_HTTP_CX_ID_ISSUE)) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "cx: no customer id");
        return NGX_DECLINED;
    }

    if (!consent) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "cx: no consent to the id cookie");
        return NGX_OK;
    }

    return ngx_http_cx_issue(r, clcf, ctx, id);
}


/* a new visitor: 128 random bits, sent back in a first-party cookie */

static ngx_int_t
ngx_http_cx_issue(ngx_http_request_t *r, ngx_http_cx_loc_conf_t *clcf,
    ngx_http_cx_ctx_t *ctx, ngx_str_t *id)
{
    u_char  *p, rnd[NGX_HTTP_CX_COOKIE_ID_LEN / 2];
    size_t   len;

    if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t) sizeof(rnd))
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, ngx_errno,
                      "cx: getrandom() failed");
        return NGX_ERROR;
    }

    len = clcf->cookie.len + 1 + NGX_HTTP_CX_COOKIE_ID_LEN
          + clcf->cookie_attrs.len;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->cookie.data = p;
    ctx->cookie.len = len;

    p = ngx_cpymem(p, clcf->cookie.data, clcf->cookie.len);
    *p++ = '=';

    id->data = p;
    id->len = NGX_HTTP_CX_COOKIE_ID_LEN;

    p = ngx_http_cx_hex_id(p, rnd, sizeof(rnd));
    ngx_memcpy(p, clcf->cookie_attrs.data, clcf->cookie_attrs.len);

    return NGX_OK;
}
