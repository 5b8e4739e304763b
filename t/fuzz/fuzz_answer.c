
/*
 * Copyright (C) ngx_cx authors
 *
 * Fuzz target: candidates as Redis could hand them back -> the answer
 * (ngx_http_cx_answer(): blend, help, shortcut, $cx_next, $cx_next_json)
 * -> the html block of cx_inject (ngx_http_cx_block(), static, so
 * ngx_http_cx_filter.c is included).
 *
 * Input: a byte of settings, then records split by '\n', each a kind
 * byte, a weight byte and the member's bytes.  Kinds: a shared rule's
 * successor, the customer's own habit, an earlier step of the journey, a
 * goal path ("name url|name url"), the current step.  As many of each as
 * the batch's replies can give; the habits stand for the earlier steps'
 * successors too (cx_journey_steps by the input's size), and an odd
 * size credits the earlier steps in reverse (cx_rule_reverse).  What holds:
 * ngx_http_cx_fuzz_out.h.
 */


#include "ngx_http_cx_fuzz.h"

#include "../../ngx_cx_module/ngx_http_cx_filter.c"


/* the record (ngx_http_cx_record.c): no step is recorded here */

void
ngx_http_cx_record_response(ngx_http_request_t *r)
{
}

#include "ngx_http_cx_fuzz_out.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


#define NGX_HTTP_CX_FUZZ_SHARED  (2 * NGX_HTTP_CX_FANOUT)


/* where the answer finds cx_journey_steps and the shop's prefix */
static ngx_http_cx_main_conf_t  ngx_http_cx_fuzz_answer_cmcf;
static ngx_http_cx_srv_conf_t   ngx_http_cx_fuzz_answer_cxscf;
static void  *ngx_http_cx_fuzz_answer_main_conf[1] = {
    &ngx_http_cx_fuzz_answer_cmcf
};
static void  *ngx_http_cx_fuzz_answer_srv_conf[1] = {
    &ngx_http_cx_fuzz_answer_cxscf
};


/* the last byte of the input odd: members as the worker's memo has them */
static ngx_uint_t  ngx_http_cx_fuzz_answer_memo;


/*
 * Members split, and if the memo has them, as ngx_http_cx_declared()
 * finds them (url.data NULL: not declared), as ngx_http_cx_memo_declared()
 * does
 */

static void
ngx_http_cx_fuzz_answer_split(ngx_http_cx_loc_conf_t *clcf, ngx_str_t *m,
    ngx_uint_t n, ngx_http_cx_ref_t *refs)
{
    ngx_uint_t  i;

    for (i = 0; i < n; i++) {
        ngx_http_cx_member_split(m[i].data, m[i].len, &refs[i]);

        if (ngx_http_cx_fuzz_answer_memo
            && ngx_http_cx_declared(clcf, &refs[i]) != NGX_OK)
        {
            refs[i].url.data = NULL;
        }
    }
}


/*
 * An earlier step's successors, as cx_model_cache would hand them (the
 * zone's entries were checked when they were read): the input's habits.
 */

ngx_int_t
ngx_http_cx_model_earlier(ngx_http_cx_ctx_t *ctx,
    ngx_http_cx_srv_conf_t *cxscf, ngx_http_cx_loc_conf_t *clcf,
    ngx_str_t *name, ngx_http_cx_ref_t **refs, double **w, ngx_uint_t *np,
    ngx_uint_t *declared)
{
    ngx_uint_t  n;

    static ngx_http_cx_ref_t  split[NGX_HTTP_CX_BLEND_TOP];

    n = ngx_min(ctx->npersonal, NGX_HTTP_CX_BLEND_TOP);

    if (n == 0) {
        return NGX_DECLINED;
    }

    ngx_http_cx_fuzz_answer_split(clcf, ctx->personal, n, split);

    *refs = split;
    *w = ctx->personal_w;
    *np = n;
    *declared = ngx_http_cx_fuzz_answer_memo;

    return NGX_OK;
}


/* the step's successors, if the memo has them */

ngx_http_cx_ref_t *
ngx_http_cx_model_declared(ngx_http_cx_ctx_t *ctx,
    ngx_http_cx_loc_conf_t *clcf, ngx_str_t *shared, ngx_uint_t n)
{
    static ngx_http_cx_ref_t  refs[NGX_HTTP_CX_FUZZ_SHARED];

    if (!ngx_http_cx_fuzz_answer_memo) {
        return NULL;
    }

    ngx_http_cx_fuzz_answer_split(clcf, shared, n, refs);

    return refs;
}


static void
ngx_http_cx_fuzz_configure(void)
{
    ngx_str_t               *name;
    ngx_http_cx_loc_conf_t  *clcf;

    clcf = &ngx_http_cx_fuzz_clcf;

    ngx_http_cx_fuzz_location();

    clcf->shortcuts = ngx_array_create(ngx_http_cx_fuzz_conf_pool, 2,
                                       sizeof(ngx_str_t));
    ngx_http_cx_fuzz_check(clcf->shortcuts != NULL);

    name = ngx_array_push_n(clcf->shortcuts, 2);
    ngx_http_cx_fuzz_check(name != NULL);

    ngx_str_set(&name[0], "checkout");
    ngx_str_set(&name[1], "cart");
}


/*
 * The input's request, answered: its copy of the input in *copy, freed
 * by the caller
 */

static ngx_http_cx_ctx_t *
ngx_http_cx_fuzz_answer_make(const uint8_t *data, size_t size, u_char **copy)
{
    u_char              *p, *last, *nl, flags;
    double               w, *shared_w;
    ngx_str_t           *shared, s;
    ngx_uint_t           n;
    ngx_http_cx_ref_t    ref;
    ngx_http_cx_ctx_t   *ctx;
    ngx_http_request_t  *r;

    flags = data[0];

    ngx_http_cx_fuzz_clcf.suggest = 1 + flags % NGX_HTTP_CX_SUGGEST_MAX;
    ngx_http_cx_fuzz_clcf.demote = (flags & 0x80) ? 1500 : 250;

    r = ngx_http_cx_fuzz_request(ngx_http_cx_fuzz_loc_conf);
    r->main_conf = ngx_http_cx_fuzz_answer_main_conf;
    r->srv_conf = ngx_http_cx_fuzz_answer_srv_conf;

    /* the earlier steps blended: none to all eight */
    ngx_http_cx_fuzz_answer_cmcf.journey_steps = 1 + size % 8;

    /* the step's own reverse credits, at any distance, on odd sizes */
    ngx_http_cx_fuzz_answer_cmcf.reverse = (size & 1) ? 500 : 0;
    ngx_http_cx_fuzz_answer_cmcf.distance = 1 + (size >> 3) % 8;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_cx_ctx_t));
    ngx_http_cx_fuzz_check(ctx != NULL);

    ctx->request = r;
    ctx->conf = &ngx_http_cx_fuzz_clcf;
    ngx_http_set_ctx(r, ctx, ngx_http_cx_module);

    ngx_str_set(&ctx->step.name, "cart");
    ngx_str_set(&ctx->step.url, "/cart");
    ngx_str_set(&ctx->member, "cart /cart");
    ctx->learn = 1;
    ctx->count = 1;
    ctx->weight = 1;
    ctx->trust = 0.5;

    /* level and pace from the settings byte */

    ctx->state.goals = (flags >> 5) & 3;
    ctx->state.ngaps = (flags >> 4) & 1 ? 5 : 0;
    ctx->state.gap = (flags & 0x40) ? 100 : 100000;
    ctx->known = 1;

    shared = ngx_palloc(r->pool, NGX_HTTP_CX_FUZZ_SHARED * sizeof(ngx_str_t));
    shared_w = ngx_palloc(r->pool, NGX_HTTP_CX_FUZZ_SHARED * sizeof(double));
    ctx->personal = ngx_palloc(r->pool,
                               NGX_HTTP_CX_CANDIDATES * sizeof(ngx_str_t));
    ctx->personal_w = ngx_palloc(r->pool,
                                 NGX_HTTP_CX_CANDIDATES * sizeof(double));
    ctx->journey = ngx_palloc(r->pool, NGX_HTTP_CX_RECENT * sizeof(ngx_str_t));
    ctx->paths = ngx_palloc(r->pool, NGX_HTTP_CX_PATHS * sizeof(ngx_str_t));

    ngx_http_cx_fuzz_check(shared && shared_w && ctx->personal
                           && ctx->personal_w && ctx->journey && ctx->paths);

    *copy = ngx_http_cx_fuzz_copy(data + 1, size - 1);

    p = *copy;
    last = *copy + size - 1;
    n = 0;

    while (p + 2 <= last) {
        nl = ngx_strlchr(p + 2, last, '\n');
        if (nl == NULL) {
            nl = last;
        }

        s.data = p + 2;
        s.len = nl - s.data;
        w = (double) p[1] / 16;

        if (p[0] % 5 < 3
            && ngx_http_cx_member_parse(s.data, s.len, &ref) != NGX_OK)
        {
            /* the batch's replies keep no other (ngx_http_cx_reply.c) */
            p = nl + 1;
            continue;
        }

        switch (p[0] % 5) {

        case 0:
            if (n < NGX_HTTP_CX_FUZZ_SHARED) {
                shared[n] = s;
                shared_w[n++] = w;
            }
            break;

        case 1:
            if (ctx->npersonal < NGX_HTTP_CX_CANDIDATES) {
                ctx->personal[ctx->npersonal] = s;
                ctx->personal_w[ctx->npersonal++] = w;
            }
            break;

        case 2:
            if (ctx->njourney < NGX_HTTP_CX_RECENT) {
                ctx->journey[ctx->njourney++] = s;
            }
            break;

        case 3:
            if (ctx->npaths < NGX_HTTP_CX_PATHS) {
                ctx->paths[ctx->npaths++] = s;
            }
            break;

        default:
            /* the current step: as ngx_http_cx_classify() makes it */
            (void) ngx_http_cx_member_parse(s.data, s.len, &ctx->step);
        }

        p = nl + 1;
    }

    ngx_http_cx_answer(ctx, shared, shared_w, n);

    return ctx;
}


/* the same answer, whatever the memo had */

static void
ngx_http_cx_fuzz_answer_same(ngx_http_cx_ctx_t *a, ngx_http_cx_ctx_t *b)
{
    ngx_str_t  ja, jb;

    ngx_http_cx_fuzz_check(a->status == b->status
                           && a->top_goal == b->top_goal
                           && ngx_http_cx_same(&a->next, &b->next)
                           && ngx_http_cx_same(&a->offer, &b->offer)
                           && ngx_http_cx_same(&a->shortcut, &b->shortcut));

    if (a->status == NGX_HTTP_CX_ERROR) {
        return;
    }

    ngx_http_cx_fuzz_check(
        ngx_http_cx_json_of(a->request, a, &ja) == NGX_OK
        && ngx_http_cx_json_of(b->request, b, &jb) == NGX_OK
        && ngx_http_cx_same(&ja, &jb));
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char             *copy, *copy2;
    ngx_http_cx_ctx_t  *ctx, *ctx2;

    static ngx_uint_t  initialized;

    if (!initialized) {
        ngx_http_cx_fuzz_init();
        ngx_http_cx_fuzz_configure();
        initialized = 1;
    }

    if (size == 0) {
        return 0;
    }

    ngx_http_cx_fuzz_answer_memo = 0;
    ctx = ngx_http_cx_fuzz_answer_make(data, size, &copy);

    if (data[size - 1] & 1) {
        /* and as the memo has the members: the same answer */

        ngx_http_cx_fuzz_answer_memo = 1;
        ctx2 = ngx_http_cx_fuzz_answer_make(data, size, &copy2);

        ngx_http_cx_fuzz_answer_same(ctx, ctx2);

        free(copy2);
        ngx_destroy_pool(ctx2->request->pool);
    }

    ngx_http_cx_fuzz_outputs(ctx->request, ctx);

    free(copy);
    ngx_destroy_pool(ctx->request->pool);

    return 0;
}
