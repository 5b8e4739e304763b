
/*
 * Copyright (C) ngx_cx authors
 *
 * What the answer's outputs must be, whatever went into them, for the
 * fuzz targets that make answers (answer, reply): $cx_next is urls of url
 * characters, one space apart; every label is text a customer may read
 * (UTF-8, no control character); $cx_next_json is JSON without a raw "<",
 * ">" or "&"; the html block has its markup's '<' and '"' and no more
 * (every value escaped, the words of cx_inject_text too).
 *
 * Include after ngx_http_cx_fuzz.h and ngx_http_cx_filter.c.
 */


#ifndef _NGX_HTTP_CX_FUZZ_OUT_H_INCLUDED_
#define _NGX_HTTP_CX_FUZZ_OUT_H_INCLUDED_


static u_char *ngx_http_cx_fuzz_json_value(u_char *p, u_char *last,
    ngx_uint_t depth);
static ngx_uint_t ngx_http_cx_fuzz_count(u_char *p, size_t len, u_char c);


/* the fake of what handler.c would give */

ngx_http_cx_ctx_t *
ngx_http_cx_get_ctx(ngx_http_request_t *r)
{
    return ngx_http_get_module_ctx(r, ngx_http_cx_module);
}


static u_char *
ngx_http_cx_fuzz_json_space(u_char *p, u_char *last)
{
    while (p < last && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r'))
    {
        p++;
    }

    return p;
}


static u_char *
ngx_http_cx_fuzz_json_string(u_char *p, u_char *last)
{
    if (p == last || *p++ != '"') {
        return NULL;
    }

    while (p < last) {
        if (*p == '"') {
            return p + 1;
        }

        if (*p < 0x20) {
            return NULL;
        }

        if (*p++ != '\\') {
            continue;
        }

        if (p == last) {
            return NULL;
        }

        if (*p == 'u') {
            if (last - p < 5
                || !isxdigit(p[1]) || !isxdigit(p[2])
                || !isxdigit(p[3]) || !isxdigit(p[4]))
            {
                return NULL;
            }

            p += 5;
            continue;
        }

        if (ngx_strlchr((u_char *) "\"\\/bfnrt", (u_char *) "\"\\/bfnrt" + 8,
                        *p)
            == NULL)
        {
            return NULL;
        }

        p++;
    }

    return NULL;
}


static u_char *
ngx_http_cx_fuzz_json_value(u_char *p, u_char *last, ngx_uint_t depth)
{
    u_char  close, *start;

    p = ngx_http_cx_fuzz_json_space(p, last);

    if (p == last || depth > 16) {
        return NULL;
    }

    if (*p == '"') {
        return ngx_http_cx_fuzz_json_string(p, last);
    }

    if (*p == '{' || *p == '[') {
        close = (*p == '{') ? '}' : ']';
        p = ngx_http_cx_fuzz_json_space(p + 1, last);

        if (p < last && *p == close) {
            return p + 1;
        }

        for ( ;; ) {
            if (close == '}') {
                p = ngx_http_cx_fuzz_json_string(
                        ngx_http_cx_fuzz_json_space(p, last), last);
                if (p == NULL) {
                    return NULL;
                }

                p = ngx_http_cx_fuzz_json_space(p, last);
                if (p == last || *p++ != ':') {
                    return NULL;
                }
            }

            p = ngx_http_cx_fuzz_json_value(p, last, depth + 1);
            if (p == NULL) {
                return NULL;
            }

            p = ngx_http_cx_fuzz_json_space(p, last);
            if (p == last) {
                return NULL;
            }

            if (*p == close) {
                return p + 1;
            }

            if (*p++ != ',') {
                return NULL;
            }
        }
    }

    if (last - p >= 4 && ngx_strncmp(p, "null", 4) == 0) {
        return p + 4;
    }

    if (last - p >= 4 && ngx_strncmp(p, "true", 4) == 0) {
        return p + 4;
    }

    if (last - p >= 5 && ngx_strncmp(p, "false", 5) == 0) {
        return p + 5;
    }

    /* a number, loosely: sign, digits, point, exponent */

    start = p;

    while (p < last && (isdigit(*p) || *p == '-' || *p == '+' || *p == '.'
                        || *p == 'e' || *p == 'E'))
    {
        p++;
    }

    return (p > start && (isdigit(p[-1]))) ? p : NULL;
}


static void
ngx_http_cx_fuzz_json(ngx_str_t *json)
{
    u_char  *p;

    p = ngx_http_cx_fuzz_json_value(json->data, json->data + json->len, 0);

    if (p == NULL || ngx_http_cx_fuzz_json_space(p, json->data + json->len)
                     != json->data + json->len)
    {
        fprintf(stderr, "fuzz: not JSON: \"%.*s\"\n", (int) json->len,
                json->data);
        abort();
    }

    /* safe in an inline script: no "</script>", no markup */

    if (ngx_http_cx_fuzz_count(json->data, json->len, '<')
        || ngx_http_cx_fuzz_count(json->data, json->len, '>')
        || ngx_http_cx_fuzz_count(json->data, json->len, '&'))
    {
        fprintf(stderr, "fuzz: JSON with <, > or &: \"%.*s\"\n",
                (int) json->len, json->data);
        abort();
    }
}


static ngx_uint_t
ngx_http_cx_fuzz_count(u_char *p, size_t len, u_char c)
{
    ngx_uint_t  n;

    for (n = 0; len--; p++) {
        n += (*p == c);
    }

    return n;
}


/* the answer of ctx as it is once ngx_http_cx_answer() has run */

static void
ngx_http_cx_fuzz_outputs(ngx_http_request_t *r, ngx_http_cx_ctx_t *ctx)
{
    size_t      i;
    ngx_str_t   json, markup;
    ngx_uint_t  n, lt, quot;

    ngx_http_cx_fuzz_check(ctx->status == NGX_HTTP_CX_HIT
                           || ctx->status == NGX_HTTP_CX_MISS
                           || ctx->status == NGX_HTTP_CX_ERROR);

    if (ctx->status == NGX_HTTP_CX_ERROR) {
        return;
    }

    /* $cx_next: "url url url" */

    n = ctx->next.len ? 1 : 0;

    for (i = 0; i < ctx->next.len; i++) {
        if (ctx->next.data[i] == ' ') {
            ngx_http_cx_fuzz_check(i > 0 && i + 1 < ctx->next.len
                                   && ctx->next.data[i - 1] != ' ');
            n++;
            continue;
        }

        ngx_http_cx_fuzz_check(ngx_http_cx_url_char(ctx->next.data[i]));
    }

    for (i = 0; i < ctx->shortcut.len; i++) {
        ngx_http_cx_fuzz_check(ngx_http_cx_url_char(ctx->shortcut.data[i]));
    }

    /* the items: the list, then the shortcut, with their labels */

    ngx_http_cx_fuzz_check(ctx->nitems == n + (ctx->shortcut.len ? 1 : 0));

    for (i = 0; i < ctx->nitems; i++) {
        ngx_http_cx_fuzz_check(ctx->items[i].label.len > 0
                               && ngx_http_cx_text_check(
                                      ctx->items[i].label.data,
                                      ctx->items[i].label.len)
                                  == NULL);
    }

    /* $cx_next_json */

    ngx_http_cx_fuzz_check(ngx_http_cx_json_of(r, ctx, &json) == NGX_OK);
    ngx_http_cx_fuzz_json(&json);

    if (getenv("CX_FUZZ_PRINT")) {
        /* to see what a seed gives: CX_FUZZ_PRINT=1 fuzz_x file */
        fprintf(stderr, "next: \"%.*s\"\njson: %.*s\n",
                (int) ctx->next.len, ctx->next.data, (int) json.len,
                json.data);
    }

    /* the html block: as many '<' and '"' as its markup holds */

    if (ctx->next.len == 0 && ctx->shortcut.len == 0) {
        return;
    }

    /* the block's words, as cx_inject_text could set them */

    ngx_str_set(&ngx_http_cx_fuzz_clcf.text_next, "Next <b>\"steps\"</b> &");
    ngx_str_set(&ngx_http_cx_fuzz_clcf.text_shortcut, "<i>Straight</i> to");

    ngx_http_cx_fuzz_check(ngx_http_cx_block(r, ctx) == NGX_OK);

    markup.data = (u_char *)
        "<nav class=\"cx-next\" aria-label=\"\"><ul></ul></nav>";
    markup.len = ngx_strlen(markup.data);

    lt = ngx_http_cx_fuzz_count(markup.data, markup.len, '<');
    quot = ngx_http_cx_fuzz_count(markup.data, markup.len, '"');

    /* <li><a href="URL">LABEL</a></li> */
    lt += 4 * n;
    quot += 2 * n;

    if (ctx->shortcut.len) {
        /* <p><a class="cx-shortcut" href="URL">WORDS LABEL</a></p> */
        lt += 4;
        quot += 4;
    }

    if (ngx_http_cx_fuzz_count(ctx->block.data, ctx->block.len, '<') != lt
        || ngx_http_cx_fuzz_count(ctx->block.data, ctx->block.len, '"')
           != quot)
    {
        fprintf(stderr, "fuzz: html block: \"%.*s\"\n", (int) ctx->block.len,
                ctx->block.data);
        abort();
    }
}


#endif /* _NGX_HTTP_CX_FUZZ_OUT_H_INCLUDED_ */
