
/*
 * Copyright (C) ngx_cx authors
 *
 * From the replies to the answer: candidates from everyone's rules and the
 * customer's own habits, blended by experience, only declared steps, help
 * first for a customer going in circles, the shortcut along the customer's
 * habitual path, as many as the customer's pace wants; then $cx_next and
 * $cx_next_json.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <ngx_http_cx_module.h>


static ngx_int_t ngx_http_cx_json(ngx_http_cx_ctx_t *ctx);
static ngx_uint_t ngx_http_cx_candidate(ngx_http_cx_loc_conf_t *clcf,
    ngx_http_cx_cand_t *cands, ngx_uint_t nc, ngx_uint_t max,
    ngx_http_cx_ref_t *ref, double shared, double personal);
static ngx_int_t ngx_http_cx_list(ngx_http_cx_ctx_t *ctx,
    ngx_http_cx_loc_conf_t *clcf, ngx_http_cx_cand_t *cands, ngx_uint_t n,
    ngx_http_cx_ref_t *shortcut);
static u_char *ngx_http_cx_json_str(u_char *p, ngx_str_t *s);
static ngx_uint_t ngx_http_cx_earlier(ngx_http_cx_ctx_t *ctx,
    ngx_http_cx_loc_conf_t *clcf, ngx_http_cx_cand_t *cands, ngx_uint_t nc,
    ngx_uint_t max, ngx_http_cx_ref_t *journey, ngx_uint_t steps);
static ngx_int_t ngx_http_cx_offer(ngx_http_cx_ctx_t *ctx,
    ngx_http_cx_cand_t *cands, ngx_uint_t n, ngx_http_cx_ref_t *shortcut);
static ngx_uint_t ngx_http_cx_reversed(ngx_http_cx_ctx_t *ctx,
    ngx_http_cx_loc_conf_t *clcf, ngx_http_cx_main_conf_t *cmcf,
    ngx_http_cx_cand_t *cands, ngx_uint_t nc, ngx_http_cx_ref_t *journey);
static ngx_uint_t ngx_http_cx_revisits(ngx_http_cx_loc_conf_t *clcf,
    ngx_http_cx_cand_t *cands, ngx_uint_t nc, ngx_uint_t max,
    ngx_http_cx_ref_t *journey, ngx_uint_t nj);


/*
 * An answer's candidates, with room for the journey's earlier steps
 * (cx_revisit) and their successors, and the members of one earlier
 * step's entry that are declared, with their weights and candidates:
 * the worker's own, as an answer is made in one go, never across events
 */
static ngx_http_cx_cand_t  ngx_http_cx_cands[NGX_HTTP_CX_CANDIDATES
    + NGX_HTTP_CX_RECENT
    + (NGX_HTTP_CX_JOURNEY_MAX - 1) * NGX_HTTP_CX_BLEND_TOP];
static ngx_http_cx_ref_t   ngx_http_cx_members[NGX_HTTP_CX_BLEND_TOP];
static double              ngx_http_cx_members_w[NGX_HTTP_CX_BLEND_TOP];
static ngx_uint_t          ngx_http_cx_members_at[NGX_HTTP_CX_BLEND_TOP];


/* a JSON string's length, quotes included */
#define ngx_http_cx_json_len(s)                                              \
    ((s)->len + 2 + ngx_http_cx_escape_json(NULL, (s)->data, (s)->len))


ngx_str_t  ngx_http_cx_level_names[] = {
    ngx_string("new"),
    ngx_string("returning"),
    ngx_string("expert")
};


ngx_str_t  ngx_http_cx_pace_names[] = {
    ngx_string("steady"),
    ngx_string("hurried"),
    ngx_string("relaxed")
};


ngx_str_t  ngx_http_cx_reason_names[] = {
    ngx_string("popular"),
    ngx_string("personal"),
    ngx_string("help"),
    ngx_string("shortcut")
};


/* how much the customer's own habits weigh, by level */
static double  ngx_http_cx_personal_weight[] = { 0, 0.5, 0.75 };


ngx_str_t *
ngx_http_cx_keep(ngx_pool_t *pool, ngx_str_t *m, ngx_uint_t n)
{
    u_char      *p;
    size_t       len;
    ngx_str_t   *out;
    ngx_uint_t   i;

    len = 0;
    for (i = 0; i < n; i++) {
        len += m[i].len;
    }

    out = ngx_palloc(pool, n * sizeof(ngx_str_t) + len + 1);
    if (out == NULL) {
        return NULL;
    }

    p = (u_char *) (out + n);

    for (i = 0; i < n; i++) {
        out[i].data = p;
        out[i].len = m[i].len;
        p = ngx_cpymem(p, m[i].data, m[i].len);
    }

    return out;
}


void
ngx_http_cx_answer(ngx_http_cx_ctx_t *ctx, ngx_str_t *shared,
    double *weights, ngx_uint_t n)
{
    u_char                   *p;
    size_t                    len;
    ngx_uint_t                i, nc, nj, want, max, steps;
    ngx_http_cx_ref_t         ref, shortcut, journey[NGX_HTTP_CX_RECENT + 1];
    ngx_http_cx_ref_t        *declared;
    ngx_http_cx_cand_t       *cands, help;
    ngx_http_cx_loc_conf_t   *clcf;
    ngx_http_cx_main_conf_t  *cmcf;

    /* the step's location: the request may be in another by now */
    clcf = ctx->conf;
    cmcf = ngx_http_get_module_main_conf(ctx->request, ngx_http_cx_module);

    /* the journey so far, newest first, this step included */

    journey[0] = ctx->step;
    nj = 1;

    for (i = 0; i < ctx->njourney && nj <= NGX_HTTP_CX_RECENT; i++) {
        ngx_http_cx_member_split(ctx->journey[i].data, ctx->journey[i].len,
                                 &journey[nj++]);
    }

    /* room for the journey's earlier steps, and their successors too */

    steps = ngx_min(nj, cmcf->journey_steps);
    max = NGX_HTTP_CX_CANDIDATES + (clcf->revisit ? nj - 1 : 0)
          + (steps > 1 ? (steps - 1) * NGX_HTTP_CX_BLEND_TOP : 0);

    cands = ngx_http_cx_cands;
    nc = 0;

    /* the members were checked as they came in (ngx_http_cx_reply.c) */

    declared = ngx_http_cx_model_declared(ctx, clcf, shared, n);

    for (i = 0; declared && i < n; i++) {
        /* as ngx_http_cx_candidate() does, declared once for the memo */

        if (declared[i].url.data) {
            nc = ngx_http_cx_merge(cands, nc, NGX_HTTP_CX_CANDIDATES,
                                   &declared[i], weights[i], 0);
        }
    }

    for (i = 0; declared == NULL && i < n; i++) {
        ngx_http_cx_member_split(shared[i].data, shared[i].len, &ref);

        nc = ngx_http_cx_candidate(clcf, cands, nc, NGX_HTTP_CX_CANDIDATES,
                                   &ref, weights[i], 0);
    }

    /*
     * a step that may teach: ctx->count, not ctx->learn, which the
     * record clears before an answer made late (ngx_http_cx_ask())
     */

    if (cmcf->reverse && ctx->count) {
        nc = ngx_http_cx_reversed(ctx, clcf, cmcf, cands, nc, journey + 1);
    }

    for (i = 0; i < ctx->npersonal; i++) {
        ngx_http_cx_member_split(ctx->personal[i].data, ctx->personal[i].len,
                                 &ref);

        nc = ngx_http_cx_candidate(clcf, cands, nc, NGX_HTTP_CX_CANDIDATES,
                                   &ref, 0, ctx->personal_w[i]);
    }

    if (clcf->revisit) {
        nc = ngx_http_cx_revisits(clcf, cands, nc, max, journey, nj);
    }

    if (steps > 1) {
        nc = ngx_http_cx_earlier(ctx, clcf, cands, nc, max, journey, steps);
    }

    ctx->level = ngx_http_cx_level(ctx->state.goals, clcf->returning,
                                   clcf->expert);
    ctx->pace = ngx_http_cx_pace(&ctx->state, clcf->hurried, clcf->relaxed);

    nc = ngx_http_cx_rank(cands, nc,
                          ngx_http_cx_personal_weight[ctx->level],
                          (double) clcf->demote / 1000,
                          (double) clcf->revisit / 1000, &ctx->step.name,
                          journey + 1, nj - 1);

    /* going in circles: the help step first */

    if (clcf->help.name.len
        && !ngx_http_cx_same(&clcf->help.name, &ctx->step.name)
        && ngx_http_cx_stuck(journey, nj))
    {
        for (i = 0; i < nc; i++) {
            if (ngx_http_cx_same(&cands[i].ref.name, &clcf->help.name)) {
                break;
            }
        }

        if (i == nc && nc == max) {
            i--;
        }

        ngx_memmove(&cands[1], &cands[0], i * sizeof(ngx_http_cx_cand_t));

        ngx_memzero(&help, sizeof(ngx_http_cx_cand_t));
        help.ref = clcf->help_ref;
        help.score = 1;
        help.reason = NGX_HTTP_CX_REASON_HELP;
        cands[0] = help;

        if (i == nc) {
            nc++;
        }
    }

    /* the shortcut along the customer's own path to the goal */

    ngx_str_null(&shortcut.url);

    if (ctx->level != NGX_HTTP_CX_LEVEL_NEW && clcf->shortcuts
        && ngx_http_cx_shortcut(ctx->paths, ctx->npaths, &ctx->step.name,
                                clcf->shortcuts->elts,
                                clcf->shortcuts->nelts, &shortcut)
           == NGX_OK
        && ngx_http_cx_declared(clcf, &shortcut) == NGX_OK)
    {
        ctx->shortcut = shortcut.url;

    } else {
        ngx_str_null(&shortcut.url);
    }

    if (ctx->shortcut.len) {
        /* the shortcut is offered once, not again in the list */

        for (i = 0; i < nc; i++) {
            if (ngx_http_cx_same(&cands[i].ref.url, &ctx->shortcut)) {
                ngx_memmove(&cands[i], &cands[i + 1],
                            (nc - i - 1) * sizeof(ngx_http_cx_cand_t));
                nc--;
                break;
            }
        }
    }

    want = (ctx->pace == NGX_HTTP_CX_PACE_HURRIED) ? 1 : clcf->suggest;
    nc = ngx_min(nc, want);

    if (ngx_http_cx_offer(ctx, cands, nc, &shortcut) != NGX_OK) {
        ctx->status = NGX_HTTP_CX_ERROR;
        return;
    }

    /* the goal's own response records the purchase: never fetched ahead */
    ctx->top_goal = nc && clcf->goal.name.len
                    && ngx_http_cx_same(&cands[0].ref.name, &clcf->goal.name);

    if (ctx->variant == NGX_HTTP_CX_HOLDOUT) {
        /* held out: what would have been offered is kept, not shown */
        nc = 0;
        ngx_str_null(&ctx->shortcut);
        ngx_str_null(&shortcut.url);
    }

    ctx->status = (nc || ctx->shortcut.len) ? NGX_HTTP_CX_HIT
                                            : NGX_HTTP_CX_MISS;

    if (ctx->status == NGX_HTTP_CX_HIT && !ctx->api
        && ngx_http_cx_shows(clcf))
    {
        /* the page is this customer's: never a 304 for a stale copy */
        ctx->request->disable_not_modified = 1;
    }

    len = 0;
    for (i = 0; i < nc; i++) {
        len += cands[i].ref.url.len + 1;
    }

    p = ngx_pnalloc(ctx->request->pool, len + 1);
    if (p == NULL) {
        ctx->status = NGX_HTTP_CX_ERROR;
        return;
    }

    ctx->next.data = p;

    for (i = 0; i < nc; i++) {
        if (i) {
            *p++ = ' ';
        }

        p = ngx_cpymem(p, cands[i].ref.url.data, cands[i].ref.url.len);
    }

    ctx->next.len = p - ctx->next.data;

    if (ngx_http_cx_list(ctx, clcf, cands, nc,
                         shortcut.url.len ? &shortcut : NULL)
        != NGX_OK)
    {
        ctx->status = NGX_HTTP_CX_ERROR;
        return;
    }

    if (ctx->status == NGX_HTTP_CX_HIT) {
        /* the list, then the shortcut: ctx->nitems in all */
        ngx_http_cx_metric_served(ctx->nitems - (shortcut.url.len ? 1 : 0),
                                  shortcut.url.len ? 1 : 0);
    }
}


/*
 * The answer of a step answered with no round trip where nothing was
 * sure to read it (ngx_http_cx_start()), made the first time something
 * does: a variable, a filter that shows it.  Its inputs are the
 * request's (the model's entry held by the memo, the customer's copy,
 * which the step's record leaves as it was read), so it is the answer
 * it would have been; only the step's offer, recorded with the response
 * header, no longer takes it.
 */

void
ngx_http_cx_ask(ngx_http_cx_ctx_t *ctx)
{
    if (ctx->status == NGX_HTTP_CX_UNASKED) {
        ngx_http_cx_answer(ctx, ctx->shared, ctx->shared_w, ctx->nshared);
    }
}


/*
 * A suggestion added to the candidates if it is a declared step, with the
 * url its cx_step gives it (ngx_http_cx_merge(): to the candidate of the
 * url, or a candidate of its own; no two candidates have one url, which
 * ngx_http_cx_earlier() counts on too).  One with the name and url of a
 * candidate is that candidate's step, as it was found to be, not looked
 * up again: the journey's steps, a habit, a rule's successor are mostly
 * candidates already.
 */

static ngx_uint_t
ngx_http_cx_candidate(ngx_http_cx_loc_conf_t *clcf, ngx_http_cx_cand_t *cands,
    ngx_uint_t nc, ngx_uint_t max, ngx_http_cx_ref_t *ref, double shared,
    double personal)
{
    ngx_str_t   url;
    ngx_uint_t  i;

    i = ngx_http_cx_cand_find(cands, nc, &ref->url);

    if (i < nc && ngx_http_cx_same(&cands[i].ref.name, &ref->name)) {
        cands[i].shared += shared;
        cands[i].personal += personal;
        return nc;
    }

    url = ref->url;

    if (ngx_http_cx_declared(clcf, ref) != NGX_OK) {
        return nc;
    }

    if (ref->url.data != url.data && !ngx_http_cx_same(&ref->url, &url)) {
        /* the configured url, not the one read */
        return ngx_http_cx_merge(cands, nc, max, ref, shared, personal);
    }

    if (i < nc) {
        /* another name's url: its candidate, as ngx_http_cx_merge() finds */
        cands[i].shared += shared;
        cands[i].personal += personal;
        return nc;
    }

    /* no candidate has its url: one of its own */

    return ngx_http_cx_cand_add(cands, nc, max, ref, shared, personal);
}


/*
 * This step's own reverse credits (cx_rule_reverse), added to its
 * successors as read: the step before at distance d gains factor times
 * 1/d, as the credits this step writes after its response give it, so
 * that the answer ranks by the rules as this step leaves them (the read
 * went out before them).  No read, at most cx_rule_distance candidates;
 * the learning budget, decided as the step is recorded, is not asked, nor
 * whether the journey taught the rule already (then it is counted twice).
 * The journey's steps as ngx_http_cx_answer() split them, ctx->journey's
 * (cx_rule_distance is less than NGX_HTTP_CX_RECENT).
 */

static ngx_uint_t
ngx_http_cx_reversed(ngx_http_cx_ctx_t *ctx, ngx_http_cx_loc_conf_t *clcf,
    ngx_http_cx_main_conf_t *cmcf, ngx_http_cx_cand_t *cands, ngx_uint_t nc,
    ngx_http_cx_ref_t *journey)
{
    double             w;
    ngx_uint_t         i;
    ngx_http_cx_ref_t  ref;

    w = ctx->weight * ctx->trust / (1 + ctx->again)
        * (double) cmcf->reverse / 1000;

    for (i = 0; i < ngx_min(ctx->njourney, cmcf->distance); i++) {

        if (ngx_http_cx_same(&ctx->journey[i], &ctx->member)
            || (ctx->walked && ngx_http_cx_same(&ctx->journey[i],
                                                &ctx->viewed)))
        {
            continue;
        }

        ref = journey[i];

        nc = ngx_http_cx_candidate(clcf, cands, nc, NGX_HTTP_CX_CANDIDATES,
                                   &ref, w / (double) (i + 1), 0);
    }

    return nc;
}


/*
 * The journey's earlier steps as candidates (cx_revisit), those no rule
 * made one at no weight of their own: ngx_http_cx_rank() adds what they
 * gain for having been taken.  Customers go back to what they saw.
 */

static ngx_uint_t
ngx_http_cx_revisits(ngx_http_cx_loc_conf_t *clcf, ngx_http_cx_cand_t *cands,
    ngx_uint_t nc, ngx_uint_t max, ngx_http_cx_ref_t *journey, ngx_uint_t nj)
{
    ngx_uint_t         i;
    ngx_http_cx_ref_t  ref;

    for (i = 1; i < nj; i++) {
        ref = journey[i];

        if (!ngx_http_cx_same(&ref.name, &journey[0].name)) {
            nc = ngx_http_cx_candidate(clcf, cands, nc, max, &ref, 0, 0);
        }
    }

    return nc;
}


/*
 * The journey's earlier steps, "steps" in all with this one (at most
 * cx_journey_steps): their successors blended with this step's, each
 * step back weighing half as much as the one after it, all relative to
 * their heaviest.
 * This step's successors, merged first, are scaled so.  Those of the
 * earlier steps come from cx_model_cache alone (never a read of their
 * own: the journey is known only once the batch is answered); a step
 * whose entry the zone does not hold is left out.
 */

static ngx_uint_t
ngx_http_cx_earlier(ngx_http_cx_ctx_t *ctx, ngx_http_cx_loc_conf_t *clcf,
    ngx_http_cx_cand_t *cands, ngx_uint_t nc, ngx_uint_t max,
    ngx_http_cx_ref_t *journey, ngx_uint_t steps)
{
    double                   top, weight, *w, *kept;
    ngx_uint_t               i, j, k, c, n, blended, declared, *at;
    ngx_http_cx_ref_t       *m, *refs;
    ngx_http_cx_srv_conf_t  *cxscf;

    cxscf = ngx_http_get_module_srv_conf(ctx->request, ngx_http_cx_module);

    refs = ngx_http_cx_members;
    kept = ngx_http_cx_members_w;
    at = ngx_http_cx_members_at;

    blended = 0;
    weight = 1;

    for (j = 1; j < steps; j++) {
        weight /= 2;

        for (i = 0; i < j; i++) {
            if (ngx_http_cx_same(&journey[i].name, &journey[j].name)) {
                break;
            }
        }

        if (i < j) {
            /* the same step again: counted once, where it was last */
            continue;
        }

        if (ngx_http_cx_model_earlier(ctx, cxscf, clcf, &journey[j].name,
                                      &m, &w, &n, &declared)
            != NGX_OK)
        {
            continue;
        }

        if (!blended) {
            /* this step's successors, relative to their heaviest */

            top = 0;

            for (i = 0; i < nc; i++) {
                top = ngx_max(top, cands[i].shared);
            }

            for (i = 0; top > 0 && i < nc; i++) {
                cands[i].shared /= top;
            }

            blended = 1;
        }

        if (declared) {
            /* the memo's, declared once: merged, as below */

            for (i = 0, k = 0; i < n; i++) {
                if (m[i].url.data) {
                    refs[k] = m[i];
                    kept[k++] = w[i];
                }
            }

            nc = ngx_http_cx_blend(cands, nc, max, refs, kept, NULL, k,
                                   weight);
            continue;
        }

        for (i = 0, k = 0; i < n; i++) {
            refs[k] = m[i];

            /*
             * a candidate already is declared: no lookup again, and the
             * blend adds to it, the one candidate of its url
             */

            c = ngx_http_cx_cand_find(cands, nc, &refs[k].url);

            if (c < nc && ngx_http_cx_same(&cands[c].ref.name, &refs[k].name))
            {
                at[k] = c;
                kept[k++] = w[i];

            } else if (ngx_http_cx_declared(clcf, &refs[k]) == NGX_OK) {
                at[k] = NGX_HTTP_CX_UNSEEN;
                kept[k++] = w[i];
            }
        }

        nc = ngx_http_cx_blend(cands, nc, max, refs, kept, at, k, weight);
    }

    return nc;
}


/*
 * What the step offers, as the state keeps it for the next step to tell
 * which one the customer took (ngx_http_cx_followed()): for a customer
 * held out, what would have been offered, the baseline of the rate at
 * which offers are taken.
 */

static ngx_int_t
ngx_http_cx_offer(ngx_http_cx_ctx_t *ctx, ngx_http_cx_cand_t *cands,
    ngx_uint_t n, ngx_http_cx_ref_t *shortcut)
{
    u_char      *p;
    uint32_t     urls[NGX_HTTP_CX_SUGGEST_MAX], sc;
    ngx_uint_t   i;

    n = ngx_min(n, NGX_HTTP_CX_SUGGEST_MAX);

    for (i = 0; i < n; i++) {
        urls[i] = ngx_http_cx_url_hash(&cands[i].ref.url);
    }

    sc = shortcut->url.len ? ngx_http_cx_url_hash(&shortcut->url) : 0;

    p = ngx_pnalloc(ctx->request->pool, NGX_HTTP_CX_OFFER_MAX);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->offer.data = p;
    ctx->offer.len = ngx_http_cx_offer_text(p, urls, n, sc) - p;

    return NGX_OK;
}


/*
 * The suggestions as shown, the list then the shortcut, with their urls
 * and labels copied: what they point to now may be a reply's.
 */

static ngx_int_t
ngx_http_cx_list(ngx_http_cx_ctx_t *ctx, ngx_http_cx_loc_conf_t *clcf,
    ngx_http_cx_cand_t *cands, ngx_uint_t n, ngx_http_cx_ref_t *shortcut)
{
    u_char               text[NGX_HTTP_CX_LABEL_MAX];
    size_t               len;
    ngx_uint_t           i;
    ngx_http_cx_ref_t   *ref;
    ngx_http_cx_item_t  *item;

    ctx->items = ngx_palloc(ctx->request->pool,
                            (n + 1) * sizeof(ngx_http_cx_item_t));
    if (ctx->items == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < n + 1; i++) {

        if (i < n) {
            ref = &cands[i].ref;

        } else if (shortcut) {
            ref = shortcut;

        } else {
            break;
        }

        item = &ctx->items[i];
        item->reason = (i < n) ? cands[i].reason
                               : NGX_HTTP_CX_REASON_SHORTCUT;
        item->score = (i < n) ? cands[i].score : 0;

        len = ngx_http_cx_label(clcf, ref, text);

        item->name.data = ngx_pnalloc(ctx->request->pool,
                                      ref->name.len + ref->url.len + len);
        if (item->name.data == NULL) {
            return NGX_ERROR;
        }

        item->name.len = ref->name.len;
        item->url.data = ngx_cpymem(item->name.data, ref->name.data,
                                    ref->name.len);
        item->url.len = ref->url.len;
        item->label.data = ngx_cpymem(item->url.data, ref->url.data,
                                      ref->url.len);
        item->label.len = len;
        ngx_memcpy(item->label.data, text, len);
    }

    ctx->nitems = i;
    ctx->nnext = n;

    return NGX_OK;
}


/* the answer's JSON, or the status alone when there is no answer */

ngx_int_t
ngx_http_cx_json_of(ngx_http_request_t *r, ngx_http_cx_ctx_t *ctx,
    ngx_str_t *json)
{
    u_char  *p;

    if (ctx && ctx->json.len == 0 && ctx->items
        && ngx_http_cx_json(ctx) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ctx && ctx->json.len) {
        *json = ctx->json;
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, sizeof("{\"status\":\"\",\"next\":[]}")
                             + sizeof("PENDING"));
    if (p == NULL) {
        return NGX_ERROR;
    }

    json->data = p;
    json->len = ngx_sprintf(p, "{\"status\":\"%V\",\"next\":[]}",
                            &ngx_http_cx_status_names[ctx ? ctx->status
                                                  : NGX_HTTP_CX_BYPASS])
                - p;

    return NGX_OK;
}


/*
 * {"status":"HIT","step":"cart","level":"returning","pace":"steady",
 *  "shortcut":{"step":"checkout","url":"/checkout","label":"Checkout"},
 *  "next":[{"step":"..","url":"..","label":"..","score":0.8750,
 *           "reason":"popular"}]}
 *
 * Made from ctx->items (ngx_http_cx_list()) once $cx_next_json or
 * cx_api asks for it, never for a page that does not show it.
 */

static ngx_int_t
ngx_http_cx_json(ngx_http_cx_ctx_t *ctx)
{
    u_char              *p;
    size_t               len;
    ngx_uint_t           i, n;
    ngx_http_cx_item_t  *item, *shortcut;

    item = ctx->items;
    n = ctx->nnext;
    shortcut = (ctx->nitems > n) ? &item[n] : NULL;

    len = sizeof("{\"status\":\"\",\"step\":,\"level\":\"\",\"pace\":\"\","
                 "\"shortcut\":null,\"next\":[]}") - 1
          + ngx_http_cx_status_names[ctx->status].len
          + ngx_http_cx_level_names[ctx->level].len
          + ngx_http_cx_pace_names[ctx->pace].len
          + ngx_http_cx_json_len(&ctx->step.name);

    if (shortcut) {
        len += sizeof("{\"step\":,\"url\":,\"label\":}") - 1
               + ngx_http_cx_json_len(&shortcut->name)
               + ngx_http_cx_json_len(&shortcut->url)
               + ngx_http_cx_json_len(&shortcut->label);
    }

    for (i = 0; i < n; i++) {
        len += sizeof("{\"step\":,\"url\":,\"label\":,\"score\":.0000,"
                      "\"reason\":\"\"},") - 1
               + ngx_http_cx_json_len(&item[i].name)
               + ngx_http_cx_json_len(&item[i].url)
               + ngx_http_cx_json_len(&item[i].label)
               + NGX_INT64_LEN
               + ngx_http_cx_reason_names[item[i].reason].len;
    }

    p = ngx_pnalloc(ctx->request->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->json.data = p;

    p = ngx_sprintf(p, "{\"status\":\"%V\",\"step\":",
                    &ngx_http_cx_status_names[ctx->status]);
    p = ngx_http_cx_json_str(p, &ctx->step.name);
    p = ngx_sprintf(p, ",\"level\":\"%V\",\"pace\":\"%V\",\"shortcut\":",
                    &ngx_http_cx_level_names[ctx->level],
                    &ngx_http_cx_pace_names[ctx->pace]);

    if (shortcut) {
        p = ngx_cpymem(p, "{\"step\":", sizeof("{\"step\":") - 1);
        p = ngx_http_cx_json_str(p, &shortcut->name);
        p = ngx_cpymem(p, ",\"url\":", sizeof(",\"url\":") - 1);
        p = ngx_http_cx_json_str(p, &shortcut->url);
        p = ngx_cpymem(p, ",\"label\":", sizeof(",\"label\":") - 1);
        p = ngx_http_cx_json_str(p, &shortcut->label);
        *p++ = '}';

    } else {
        p = ngx_cpymem(p, "null", 4);
    }

    p = ngx_cpymem(p, ",\"next\":[", sizeof(",\"next\":[") - 1);

    for (i = 0; i < n; i++) {
        if (i) {
            *p++ = ',';
        }

        p = ngx_cpymem(p, "{\"step\":", sizeof("{\"step\":") - 1);
        p = ngx_http_cx_json_str(p, &item[i].name);
        p = ngx_cpymem(p, ",\"url\":", sizeof(",\"url\":") - 1);
        p = ngx_http_cx_json_str(p, &item[i].url);
        p = ngx_cpymem(p, ",\"label\":", sizeof(",\"label\":") - 1);
        p = ngx_http_cx_json_str(p, &item[i].label);
        p = ngx_sprintf(p, ",\"score\":%.4f,\"reason\":\"%V\"}",
                        item[i].score,
                        &ngx_http_cx_reason_names[item[i].reason]);
    }

    *p++ = ']';
    *p++ = '}';

    ctx->json.len = p - ctx->json.data;

    return NGX_OK;
}


static u_char *
ngx_http_cx_json_str(u_char *p, ngx_str_t *s)
{
    *p++ = '"';
    p = (u_char *) ngx_http_cx_escape_json(p, s->data, s->len);
    *p++ = '"';

    return p;
}
