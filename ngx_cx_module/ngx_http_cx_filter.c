
/*
 * Copyright (C) ngx_cx authors
 *
 * Response headers: the customer id cookie for new visitors, X-CX-Status
 * and X-CX-Next (cx_header), Link: rel=prefetch (cx_prefetch).  The body:
 * the suggestions as an html block before </body> (cx_inject).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <ngx_http_cx_module.h>


/*
 * Our bit of r->buffered while held bytes wait: its four bits are all
 * nginx's, and 0x08 is the image filter's, which never sees text/html.
 */
#define NGX_HTTP_CX_BUFFERED  0x08


static ngx_int_t ngx_http_cx_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_cx_inject_start(ngx_http_request_t *r,
    ngx_http_cx_loc_conf_t *clcf, ngx_http_cx_ctx_t *ctx);
static ngx_int_t ngx_http_cx_private(ngx_http_request_t *r);
static ngx_int_t ngx_http_cx_block(ngx_http_request_t *r,
    ngx_http_cx_ctx_t *ctx);
static ngx_int_t ngx_http_cx_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_cx_scan(ngx_http_request_t *r,
    ngx_http_cx_ctx_t *ctx, ngx_buf_t *b, ngx_chain_t ***ll);
static ngx_int_t ngx_http_cx_release(ngx_http_request_t *r,
    ngx_http_cx_ctx_t *ctx, ngx_chain_t ***ll);
static ngx_chain_t *ngx_http_cx_flush(ngx_http_request_t *r);
static ngx_int_t ngx_http_cx_emit(ngx_http_request_t *r,
    ngx_chain_t ***ll, u_char *data, size_t len, ngx_uint_t copy);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


ngx_int_t
ngx_http_cx_filter_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_cx_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_cx_body_filter;

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
    static ngx_str_t  link = ngx_string("Link");

    if (r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_cx_get_ctx(r);
    clcf = ngx_http_get_module_loc_conf(r, ngx_http_cx_module);

    if (ctx && ngx_http_cx_shows(clcf)) {
        /* a location the request went on to may show what the step's not */
        ngx_http_cx_ask(ctx);
    }

    /* the step, if it is one, before the response goes out */
    ngx_http_cx_record_response(r);

    if (ctx && ctx->cookie.len) {
        if (ngx_http_cx_add_header(r, &set_cookie, &ctx->cookie) != NGX_OK) {
            return NGX_ERROR;
        }

        ngx_str_null(&ctx->cookie);
    }

    if (clcf->inject && ctx && !ctx->api && !ctx->inject
        && (ctx->next.len || ctx->shortcut.len)
        && ngx_http_cx_inject_start(r, clcf, ctx) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ctx && !ctx->api && (ctx->next.len || ctx->shortcut.len)
        && (ctx->inject || clcf->prefetch || clcf->header)
        && ngx_http_cx_private(r) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (clcf->prefetch && ctx && ctx->next.len && !ctx->api
        && !ctx->top_goal)
    {
        /*
         * Link: </next>; rel=prefetch, the top suggestion, unless it is
         * the goal: a purchase opened from the browser's cache would send
         * no request, and the goal is never taken from a Referer
         */

        p = ngx_strlchr(ctx->next.data, ctx->next.data + ctx->next.len, ' ');

        value.len = sizeof("<>; rel=prefetch") - 1
                    + (p ? (size_t) (p - ctx->next.data) : ctx->next.len);
        value.data = ngx_pnalloc(r->pool, value.len);
        if (value.data == NULL) {
            return NGX_ERROR;
        }

        ngx_sprintf(value.data, "<%*s>; rel=prefetch",
                    value.len - (sizeof("<>; rel=prefetch") - 1),
                    ctx->next.data);

        if (ngx_http_cx_add_header(r, &link, &value) != NGX_OK) {
            return NGX_ERROR;
        }
    }

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


/* a response header of the module's own */

ngx_int_t
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


/* only a whole, uncompressed html page that gets something to show */

static ngx_int_t
ngx_http_cx_inject_start(ngx_http_request_t *r, ngx_http_cx_loc_conf_t *clcf,
    ngx_http_cx_ctx_t *ctx)
{
    if (r->headers_out.status != NGX_HTTP_OK
        || r->headers_out.content_type.len < sizeof("text/html") - 1
        || ngx_strncasecmp(r->headers_out.content_type.data,
                           (u_char *) "text/html", sizeof("text/html") - 1)
           != 0
        || (r->headers_out.content_encoding
            && r->headers_out.content_encoding->value.len))
    {
        return NGX_OK;
    }

    if (clcf->template) {
        if (ngx_http_complex_value(r, clcf->template, &ctx->block)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

    } else if (clcf->item_template) {
        if (ngx_http_cx_items(r, ctx, &ctx->block) != NGX_OK) {
            return NGX_ERROR;
        }

    } else if (ngx_http_cx_block(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ctx->block.len == 0) {
        return NGX_OK;
    }

    ctx->inject = 1;

    ngx_http_clear_content_length(r);
    ngx_http_clear_accept_ranges(r);

    r->allow_ranges = 0;
    r->filter_need_in_memory = 1;

    return NGX_OK;
}


/*
 * A response with a customer's suggestions (the block, X-CX-*, Link) is
 * theirs alone, and of this visit: Cache-Control: private in place of
 * what it had (unless that said no-store), no validator and no Expires,
 * so that no cache reuses it; and never a 304, which would keep an old
 * copy (ngx_http_cx_answer() turned nginx's off for the location of the
 * step, this for the location of the response).
 */

static ngx_int_t
ngx_http_cx_private(ngx_http_request_t *r)
{
    ngx_uint_t        i, no_store;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    static ngx_str_t  cache_control = ngx_string("Cache-Control");
    static ngx_str_t  private = ngx_string("private");

    r->disable_not_modified = 1;

    ngx_http_clear_etag(r);
    ngx_http_clear_last_modified(r);

    if (r->headers_out.expires) {
        r->headers_out.expires->hash = 0;
        r->headers_out.expires = NULL;
    }

    no_store = 0;

    part = &r->headers_out.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash == 0 || h[i].key.len != cache_control.len
            || ngx_strncasecmp(h[i].key.data, cache_control.data,
                               cache_control.len) != 0)
        {
            continue;
        }

        if (ngx_strlcasestrn(h[i].value.data,
                             h[i].value.data + h[i].value.len,
                             (u_char *) "no-store", 8 - 1)
            != NULL)
        {
            no_store = 1;
            continue;
        }

        h[i].hash = 0;
    }

    if (no_store) {
        return NGX_OK;
    }

    return ngx_http_cx_add_header(r, &cache_control, &private);
}


/*
 * <nav class="cx-next" aria-label="Suggested next steps"><ul>
 * <li><a href="/cart">Your cart</a></li>...</ul>
 * <p><a class="cx-shortcut" href="/checkout">Straight to Checkout</a></p>
 * </nav>: labels (or step names), the words of cx_inject_text, every
 * value html-escaped
 */

static ngx_int_t
ngx_http_cx_block(ngx_http_request_t *r, ngx_http_cx_ctx_t *ctx)
{
    u_char                  *p;
    size_t                   len;
    ngx_str_t               *words;
    ngx_uint_t               i, n;
    ngx_http_cx_item_t      *item, *shortcut;
    ngx_http_cx_loc_conf_t  *cxlcf;

    /* the markup, counted and written from the same pieces */

    static u_char  head[] = "<nav class=\"cx-next\" aria-label=\"";
    static u_char  head_end[] = "\"><ul>";
    static u_char  li[] = "<li><a href=\"";
    static u_char  li_mid[] = "\">";
    static u_char  li_end[] = "</a></li>";
    static u_char  tail[] = "</ul>";
    static u_char  sc[] = "<p><a class=\"cx-shortcut\" href=\"";
    static u_char  sc_mid[] = "\">";
    static u_char  sc_end[] = "</a></p>";
    static u_char  end[] = "</nav>";

#define ngx_http_cx_piece(p, s)  ngx_cpymem(p, s, sizeof(s) - 1)
#define ngx_http_cx_escaped(s)                                               \
    ((s)->len + ngx_http_cx_escape_html(NULL, (s)->data, (s)->len))
#define ngx_http_cx_escape(p, s)                                             \
    (u_char *) ngx_http_cx_escape_html(p, (s)->data, (s)->len)

    ngx_str_null(&ctx->block);

    if (ctx->nitems == 0) {
        return NGX_OK;
    }

    cxlcf = ngx_http_get_module_loc_conf(r, ngx_http_cx_module);
    words = &cxlcf->text_shortcut;

    /* the list, then the shortcut if any: ngx_http_cx_list() */

    n = ctx->nitems;
    shortcut = &ctx->items[n - 1];

    if (shortcut->reason == NGX_HTTP_CX_REASON_SHORTCUT) {
        n--;

    } else {
        shortcut = NULL;
    }

    /* urls are html-safe by construction, but escaped all the same */

    len = sizeof(head) + ngx_http_cx_escaped(&cxlcf->text_next)
          + sizeof(head_end) + sizeof(tail) + sizeof(end);

    for (i = 0; i < n; i++) {
        item = &ctx->items[i];

        len += sizeof(li) + ngx_http_cx_escaped(&item->url) + sizeof(li_mid)
               + ngx_http_cx_escaped(&item->label) + sizeof(li_end);
    }

    if (shortcut) {
        len += sizeof(sc) + ngx_http_cx_escaped(&shortcut->url)
               + sizeof(sc_mid) + ngx_http_cx_escaped(words) + 1
               + ngx_http_cx_escaped(&shortcut->label) + sizeof(sc_end);
    }

    ctx->block.data = ngx_pnalloc(r->pool, len);
    if (ctx->block.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_http_cx_piece(ctx->block.data, head);
    p = ngx_http_cx_escape(p, &cxlcf->text_next);
    p = ngx_http_cx_piece(p, head_end);

    for (i = 0; i < n; i++) {
        item = &ctx->items[i];

        p = ngx_http_cx_piece(p, li);
        p = ngx_http_cx_escape(p, &item->url);
        p = ngx_http_cx_piece(p, li_mid);
        p = ngx_http_cx_escape(p, &item->label);
        p = ngx_http_cx_piece(p, li_end);
    }

    p = ngx_http_cx_piece(p, tail);

    if (shortcut) {
        p = ngx_http_cx_piece(p, sc);
        p = ngx_http_cx_escape(p, &shortcut->url);
        p = ngx_http_cx_piece(p, sc_mid);

        if (words->len) {
            p = ngx_http_cx_escape(p, words);
            *p++ = ' ';
        }

        p = ngx_http_cx_escape(p, &shortcut->label);
        p = ngx_http_cx_piece(p, sc_end);
    }

    p = ngx_http_cx_piece(p, end);

#undef ngx_http_cx_piece
#undef ngx_http_cx_escaped
#undef ngx_http_cx_escape

    ctx->block.len = p - ctx->block.data;

    return NGX_OK;
}


/*
 * $cx_items: cx_inject_item_template once per suggestion, the list then
 * the shortcut, with $cx_item_* set to it; empty without the template or
 * suggestions, and inside the template itself.
 */

ngx_int_t
ngx_http_cx_items(ngx_http_request_t *r, ngx_http_cx_ctx_t *ctx,
    ngx_str_t *out)
{
    u_char                  *p;
    size_t                   len;
    ngx_int_t                rc;
    ngx_str_t               *one;
    ngx_uint_t               i;
    ngx_http_cx_loc_conf_t  *cxlcf;

    ngx_str_null(out);

    cxlcf = ngx_http_get_module_loc_conf(r, ngx_http_cx_module);

    if (cxlcf->item_template == NULL || ctx == NULL || ctx->nitems == 0
        || ctx->item)
    {
        return NGX_OK;
    }

    one = ngx_palloc(r->pool, ctx->nitems * sizeof(ngx_str_t));
    if (one == NULL) {
        return NGX_ERROR;
    }

    len = 0;
    rc = NGX_OK;

    for (i = 0; i < ctx->nitems; i++) {
        ctx->item = &ctx->items[i];

        rc = ngx_http_complex_value(r, cxlcf->item_template, &one[i]);
        if (rc != NGX_OK) {
            break;
        }

        len += one[i].len;
    }

    /* what the last item left in $cx_item_* is no value outside */

    ctx->item = NULL;
    ngx_http_cx_item_flush(r);

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    out->data = p;

    for (i = 0; i < ctx->nitems; i++) {
        p = ngx_cpymem(p, one[i].data, one[i].len);
    }

    out->len = len;

    return NGX_OK;
}


/*
 * Inserts the block before the first "</body>", any case, and loses no
 * byte: the bytes at the end of a buffer that may begin the tag are held
 * back (copied, the buffer cut short before them, as the range filter
 * cuts) until the next buffer tells, and are written out as text with the
 * last buffer.  A flush sends everything else on: the few bytes of a tag
 * it cut wait for the rest of it, as sub_filter's partial match does.
 * While bytes are held, r->buffered says so.
 */

static ngx_int_t
ngx_http_cx_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_buf_t           *b;
    ngx_chain_t         *cl, *next, *out, **ll;
    ngx_http_cx_ctx_t   *ctx;

    if (r != r->main || in == NULL) {
        return ngx_http_next_body_filter(r, in);
    }

    ctx = ngx_http_cx_get_ctx(r);

    if (ctx == NULL || !ctx->inject || ctx->injected) {
        return ngx_http_next_body_filter(r, in);
    }

    out = NULL;
    ll = &out;

    for (cl = in; cl; cl = next) {
        next = cl->next;
        b = cl->buf;

        if (!ctx->injected && ngx_buf_in_memory(b) && b->pos < b->last) {

            if (ngx_http_cx_scan(r, ctx, b, &ll) != NGX_OK) {
                return NGX_ERROR;
            }

            if (b->pos == b->last) {

                /* all of it held: given back, or a flush in its place */

                if (!b->flush) {
                    continue;
                }

                cl = ngx_http_cx_flush(r);
                if (cl == NULL) {
                    return NGX_ERROR;
                }
            }

        } else if (ngx_buf_size(b) && ngx_http_cx_release(r, ctx, &ll)
                                      != NGX_OK)
        {
            /* bytes in a file only: what was held cannot go on in them */
            return NGX_ERROR;
        }

        if ((b->last_buf || b->last_in_chain)
            && ngx_http_cx_release(r, ctx, &ll) != NGX_OK)
        {
            return NGX_ERROR;
        }

        *ll = cl;
        ll = &cl->next;
    }

    *ll = NULL;

    if (ctx->nheld) {
        r->buffered |= NGX_HTTP_CX_BUFFERED;

    } else {
        r->buffered &= ~NGX_HTTP_CX_BUFFERED;
    }

    return ngx_http_next_body_filter(r, out);
}


/*
 * Looks for the tag in b, after the bytes held before it.  On the tag:
 * what comes before it, the block, what was held, and b from the tag on.
 * Else the bytes at the end that may begin the tag are held back, unless
 * b is the last.
 */

static ngx_int_t
ngx_http_cx_scan(ngx_http_request_t *r, ngx_http_cx_ctx_t *ctx,
    ngx_buf_t *b, ngx_chain_t ***ll)
{
    u_char  *p, *start;
    size_t   k;

    static u_char  tag[] = "</body>";

    for (p = b->pos; p < b->last; p++) {

        if (ngx_tolower(*p) == tag[ctx->match]) {
            if (++ctx->match == sizeof(tag) - 1) {
                break;
            }

            continue;
        }

        if ((size_t) (p - b->pos) < ctx->match
            && ngx_http_cx_release(r, ctx, ll) != NGX_OK)
        {
            /* what was held is no tag after all: plain text */
            return NGX_ERROR;
        }

        /* "<" begins the tag, and nowhere else in it */
        ctx->match = (*p == '<') ? 1 : 0;
    }

    if (p < b->last) {
        start = p + 1 - (sizeof(tag) - 1 - ctx->nheld);

        if (ngx_http_cx_emit(r, ll, b->pos, start - b->pos, 0) != NGX_OK
            || ngx_http_cx_emit(r, ll, ctx->block.data, ctx->block.len, 0)
               != NGX_OK
            || ngx_http_cx_release(r, ctx, ll) != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (b->in_file) {
            b->file_pos += start - b->pos;
        }

        b->pos = start;
        ctx->injected = 1;

        return NGX_OK;
    }

    if (ctx->match == 0 || b->last_buf || b->last_in_chain) {
        return ngx_http_cx_release(r, ctx, ll);
    }

    /* the tag may go on in the next buffer */

    k = ctx->match - ctx->nheld;

    ngx_memcpy(ctx->held + ctx->nheld, b->last - k, k);
    ctx->nheld += k;

    b->last -= k;

    if (b->in_file) {
        b->file_last -= k;
    }

    return NGX_OK;
}


/* what was held goes out as text */

static ngx_int_t
ngx_http_cx_release(ngx_http_request_t *r, ngx_http_cx_ctx_t *ctx,
    ngx_chain_t ***ll)
{
    size_t  n;

    n = ctx->nheld;

    ctx->nheld = 0;
    ctx->match = 0;

    return ngx_http_cx_emit(r, ll, ctx->held, n, 1);
}


static ngx_chain_t *
ngx_http_cx_flush(ngx_http_request_t *r)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NULL;
    }

    b->flush = 1;

    cl = ngx_alloc_chain_link(r->pool);
    if (cl == NULL) {
        return NULL;
    }

    cl->buf = b;

    return cl;
}


static ngx_int_t
ngx_http_cx_emit(ngx_http_request_t *r, ngx_chain_t ***ll, u_char *data,
    size_t len, ngx_uint_t copy)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if (len == 0) {
        return NGX_OK;
    }

    if (copy) {
        b = ngx_create_temp_buf(r->pool, len);
        if (b == NULL) {
            return NGX_ERROR;
        }

        b->last = ngx_cpymem(b->pos, data, len);

    } else {
        b = ngx_calloc_buf(r->pool);
        if (b == NULL) {
            return NGX_ERROR;
        }

        b->pos = data;
        b->last = data + len;
        b->memory = 1;
    }

    cl = ngx_alloc_chain_link(r->pool);
    if (cl == NULL) {
        return NGX_ERROR;
    }

    cl->buf = b;
    **ll = cl;
    *ll = &cl->next;

    return NGX_OK;
}
