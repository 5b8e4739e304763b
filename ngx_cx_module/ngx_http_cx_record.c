
/*
 * Copyright (C) ngx_cx authors
 *
 * What a step teaches, and only once the customer really took it.  The
 * request's batch reads; what the step changes (the customer's sequence,
 * state and paths, everyone's rules) is written once the response is
 * known, from the header filter, before the response goes out (the edge's
 * copy of the customer so has it before their next request can come):
 * a final 2xx, a 304, or a 3xx answering a POST,
 * to a GET or POST that is not a prefetch, a prerender or a preview, and
 * that no cx_skip condition excludes.
 *
 * A page the browser had fetched ahead (the module's own Link: prefetch)
 * and then showed sends no request when opened: the next request's
 * Referer names it, and it is recorded then, before that request's step,
 * for the customer alone: a Referer is the client's word, so it teaches
 * no one, is never the goal, and never a step already in the journey.
 *
 * How much a step teaches everyone is capped: a rule is taught once per
 * journey, a customer's k-th time along a transition adds 1/k, customers
 * without a goal weigh less (ngx_http_cx_trust()), and a customer learns
 * at a bounded rate and at most NGX_HTTP_CX_LEARN_DAY steps a day
 * (ngx_http_cx_rate()).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <ngx_http_cx_module.h>


static void ngx_http_cx_referer(ngx_http_request_t *r,
    ngx_http_cx_loc_conf_t *clcf, ngx_http_cx_ctx_t *ctx);
static ngx_uint_t ngx_http_cx_collapse(ngx_str_t *src, ngx_uint_t n,
    ngx_str_t *self, ngx_str_t *dst);
static void ngx_http_cx_record_step(ngx_http_request_t *r,
    ngx_http_cx_ctx_t *ctx, ngx_uint_t sent);
static ngx_uint_t ngx_http_cx_skip(ngx_http_request_t *r,
    ngx_http_cx_loc_conf_t *clcf);
static ngx_uint_t ngx_http_cx_learn(ngx_http_cx_ctx_t *ctx,
    ngx_http_cx_state_t *st, ngx_uint_t steps);
static void ngx_http_cx_credit(ngx_http_cx_ctx_t *ctx,
    ngx_http_cx_main_conf_t *cmcf, ngx_http_cx_srv_conf_t *cxscf,
    ngx_str_t *member, ngx_str_t *m, ngx_uint_t n, double factor,
    ngx_str_t *habit);
static ngx_int_t ngx_http_cx_save(ngx_http_cx_ctx_t *ctx,
    ngx_http_cx_main_conf_t *cmcf, ngx_http_cx_srv_conf_t *cxscf,
    ngx_http_cx_state_t *st, ngx_http_cx_customer_t *cu,
    ngx_http_cx_customer_t *after,
    ngx_str_t *habits, ngx_uint_t nhabits, ngx_str_t *path);
static void ngx_http_cx_field(ngx_str_t **a, u_char **p, ngx_str_t name,
    int64_t value, int64_t was);
static ngx_int_t ngx_http_cx_habit_of(ngx_http_cx_ctx_t *ctx,
    ngx_str_t *habit, ngx_str_t *field);
static ngx_int_t ngx_http_cx_forsake(ngx_http_cx_ctx_t *ctx,
    ngx_http_cx_customer_t *cu, ngx_http_cx_customer_t *after,
    ngx_str_t *key);
static void ngx_http_cx_path_of(ngx_http_cx_ctx_t *ctx, ngx_str_t *member,
    ngx_str_t *m, ngx_uint_t n, ngx_str_t *path);
static ngx_int_t ngx_http_cx_write(ngx_http_cx_srv_conf_t *cxscf,
    ngx_uint_t renew, ngx_uint_t made, ngx_int_t n, ngx_uint_t argc, ...);
static ngx_uint_t ngx_http_cx_taught(ngx_str_t *m, ngx_uint_t n,
    ngx_uint_t i, ngx_str_t *member, ngx_uint_t distance);


/*
 * The customer as a step leaves them, while it is recorded: the worker's
 * (2 kB, most of it room for more entries, that the request's pool would
 * hold to its end), stepped from the request's copy, which stays as it
 * was read for an answer made after the record (ngx_http_cx_ask()).
 * One step at a time: nothing a record sends resumes a request at once
 * (a reply's wait is posted, ngx_http_cx_batch.c).
 */
static ngx_http_cx_customer_t  ngx_http_cx_stepped;


/*
 * The HSET's longer values, the recent steps and the fields of the
 * transitions a step made, formatted here, not in the request's pool:
 * the command is formatted into the connection's output before the
 * record returns.  A value longer than its room (no step's is) takes the
 * pool's.
 */
static u_char  ngx_http_cx_recent_text[NGX_HTTP_CX_RECENT
                                       * (NGX_HTTP_CX_MEMBER_MAX + 1)];
static u_char  ngx_http_cx_habit_fields[2][1 + NGX_HTTP_CX_HABIT_MAX];


/* request headers of speculative loads, whatever their value */
static ngx_str_t  ngx_http_cx_purpose[] = {
    ngx_string("Sec-Purpose"),      /* prefetch, prefetch;prerender */
    ngx_string("X-Sec-Purpose"),    /* prefetch (Turbo) */
    ngx_string("Purpose"),          /* prefetch */
    ngx_string("X-Purpose"),        /* preview */
    ngx_string("X-Moz"),            /* prefetch */
    ngx_null_string
};


/*
 * Whether the request may teach anything, decided before the batch: a GET
 * or POST that no browser sent ahead of the customer.  If so, the step the
 * Referer names is looked up too.
 */

ngx_int_t
ngx_http_cx_learnable(ngx_http_request_t *r, ngx_http_cx_loc_conf_t *clcf,
    ngx_http_cx_ctx_t *ctx)
{
    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_POST))
        || ngx_http_cx_header_in(r, ngx_http_cx_purpose, NULL))
    {
        return 0;
    }

    ngx_http_cx_referer(r, clcf, ctx);

    return 1;
}


/* a request header of one of the names, with this value if one is given */

ngx_uint_t
ngx_http_cx_header_in(ngx_http_request_t *r, ngx_str_t *names,
    ngx_str_t *value)
{
    ngx_str_t        *name;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return 0;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (value && !ngx_http_cx_same(&h[i].value, value)) {
            continue;
        }

        for (name = names; name->len; name++) {
            if (h[i].key.len == name->len
                && ngx_strncasecmp(h[i].key.data, name->data, name->len)
                   == 0)
            {
                return 1;
            }
        }
    }
}


/* the step of the page the customer came from, on this host */

static void
ngx_http_cx_referer(ngx_http_request_t *r, ngx_http_cx_loc_conf_t *clcf,
    ngx_http_cx_ctx_t *ctx)
{
    u_char      path[NGX_HTTP_CX_URL_MAX * 4];
    u_char      member[NGX_HTTP_CX_MEMBER_MAX];
    size_t      name_len, member_len;
    ngx_str_t   uri, step;

    if (r->headers_in.referer == NULL
        || ngx_http_cx_referer_path(&r->headers_in.referer->value,
                                    &r->headers_in.server, path,
                                    sizeof(path), &uri)
           != NGX_OK
        || ngx_http_cx_classify(r, clcf, &uri, member, &name_len,
                                &member_len, NULL)
           != NGX_OK)
    {
        return;
    }

    if (clcf->goal.name.len == name_len
        && ngx_strncmp(clcf->goal.name.data, member, name_len) == 0)
    {
        /* a purchase is the goal's own response, never a client's word */
        return;
    }

    step.data = member;
    step.len = member_len;

    ctx->viewed.data = ngx_pstrdup(r->pool, &step);
    ctx->viewed.len = ctx->viewed.data ? member_len : 0;
}


/*
 * The journey as this request leaves it, from the state and the steps
 * m[0..n) read (newest first): the step the Referer names, if it is none
 * of the recent ones, is taken first, dated halfway between the last
 * step and this one (tabs opened from one page, or a Referer cut to the
 * origin, so add nothing); then this step.  Each step's earlier steps in
 * its journey are kept with reloads collapsed; the state is advanced.
 */

void
ngx_http_cx_walk(ngx_http_cx_ctx_t *ctx, ngx_http_cx_state_t *read,
    ngx_str_t *m, ngx_uint_t n)
{
    int64_t                   t;
    ngx_str_t                *src, *first;
    ngx_uint_t                prev, nsrc, went_on;
    ngx_http_cx_ref_t         ref;
    ngx_http_cx_state_t       st;
    ngx_http_cx_main_conf_t  *cmcf;

    cmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle, ngx_http_cx_module);

    st = *read;
    first = &ctx->member;
    went_on = 0;

    ctx->trust = ngx_http_cx_trust(read);
    ctx->blank = (read->ts == 0);

    src = m;
    nsrc = n;

    if (ctx->viewed.len
        && !ngx_http_cx_same(&ctx->viewed, &ctx->member)
        && !ngx_http_cx_among(&ctx->viewed, m, n))
    {
        src = ngx_palloc(ctx->request->pool,
                         (2 * n + 1) * sizeof(ngx_str_t));
        if (src == NULL) {
            return;
        }

        t = (st.ts > 0 && st.ts < ctx->now) ? st.ts + (ctx->now - st.ts) / 2
                                            : ctx->now;

        prev = ngx_http_cx_advance(&st, t, cmcf->journey_gap, 0);

        first = &ctx->viewed;
        went_on = (prev != 0);
        ctx->begins = !went_on;

        ctx->vjourney = src + n + 1;
        ctx->nvjourney = ngx_http_cx_collapse(m, ngx_min(prev, n),
                                              &ctx->viewed, ctx->vjourney);
        ctx->walked = 1;

        src[0] = ctx->viewed;
        ngx_memcpy(&src[1], m, n * sizeof(ngx_str_t));
        nsrc = n + 1;
    }

    prev = ngx_http_cx_advance(&st, ctx->now, cmcf->journey_gap, ctx->goal);

    if (!ctx->walked) {
        went_on = (prev != 0);
        ctx->begins = !went_on;
    }

    if (ctx->goal && prev == 0 && read->goals && read->jlen == 0
        && read->ts > 0 && ctx->now >= read->ts
        && ctx->now - read->ts <= (int64_t) cmcf->journey_gap)
    {
        /*
         * The goal again with no step since the last one: its page
         * reloaded, not another purchase.  The journey stays ended.
         */
        ctx->goal = 0;
        ctx->begins = 0;
        st.goals = read->goals;
        st.jlen = 0;
    }

    /*
     * What the customer did with what their last step offered: only a
     * step of the same journey counts, the first one after the offer (a
     * page the Referer names, the prefetched page opened, if any).
     */

    ctx->followed = NGX_HTTP_CX_FOLLOW_NONE;

    if (went_on && (read->noffer || read->shortcut)) {
        /* a step classified here, or the one the Referer names */
        ngx_http_cx_member_split(first->data, first->len, &ref);

        ctx->offered = (read->noffer != 0);
        ctx->offered_shortcut = (read->shortcut != 0);
        ctx->followed = ngx_http_cx_followed(read, &ref.url);
    }

    st.used = prev != 0
              && ((went_on && read->used)
                  || ctx->followed != NGX_HTTP_CX_FOLLOW_NONE);

    /* the level the customer began the journey with: the goals before */
    ctx->start_level = ngx_http_cx_level(read->goals, ctx->conf->returning,
                                         ctx->conf->expert);
    ctx->goal_steps = prev + 1;

    ctx->journey = ngx_palloc(ctx->request->pool,
                              (nsrc + 1) * sizeof(ngx_str_t));
    if (ctx->journey == NULL) {
        return;
    }

    ctx->njourney = ngx_http_cx_collapse(src, ngx_min(prev, nsrc),
                                         &ctx->member, ctx->journey);

    /* cx_api answers as of the customer's last step */
    ctx->state = ctx->api ? *read : st;
    ctx->known = 1;
}


/* src[0..n) without the steps that repeat the one after them */

static ngx_uint_t
ngx_http_cx_collapse(ngx_str_t *src, ngx_uint_t n, ngx_str_t *self,
    ngx_str_t *dst)
{
    ngx_str_t   *last;
    ngx_uint_t   i, k;

    last = self;
    k = 0;

    for (i = 0; i < n; i++) {
        if (ngx_http_cx_same(&src[i], last)) {
            continue;
        }

        last = &src[i];
        dst[k++] = src[i];
    }

    return k;
}


/*
 * A transition of the customer's own, "from name url", read with how
 * often they made it: kept if it leads into this step from "from", the
 * step before it.
 */

void
ngx_http_cx_habit(ngx_http_cx_ctx_t *ctx, ngx_str_t *from, ngx_str_t *habit,
    double count)
{
    ngx_str_t  to;

    /* "from " and this step's member, or another: told by the length */

    if (from->len
        && habit->len == from->len + 1 + ctx->member.len
        && ngx_http_cx_habit_to(habit, from->data, from->len, &to) == NGX_OK
        && ngx_http_cx_same(&to, &ctx->member))
    {
        ctx->again = count;
    }
}


/*
 * The step, once the response is known: from the header filter, before
 * the response goes out, so that the customer's next request, on any
 * worker, finds what this one changed (the edge's copy).
 */

void
ngx_http_cx_record_response(ngx_http_request_t *r)
{
    ngx_http_cx_ctx_t  *ctx;

    ctx = ngx_http_cx_get_ctx(r);

    if (ctx && ctx->learn) {
        ctx->learn = 0;
        ngx_http_cx_record_step(r, ctx, 1);
    }
}


/*
 * The log phase handler: the step, then, for a customer who logged in
 * with the cookie of an anonymous visit, the merge of that visit's
 * history (ngx_http_cx_login.c), which so reads the step's writes.
 */

ngx_int_t
ngx_http_cx_record(ngx_http_request_t *r)
{
    ngx_http_cx_ctx_t  *ctx;

    ctx = ngx_http_cx_get_ctx(r);

    if (ctx == NULL) {
        return NGX_OK;
    }

    /* each once, whichever request of r->main logs it */

    if (!ctx->counted && !ctx->forget) {
        /* a step's answer; cx_forget's is no step */
        ctx->counted = 1;
        ngx_http_cx_metric_status(ctx->status);
    }

    if (ctx->learn) {
        /* no response went out (the client gave up, 499): no step */
        ctx->learn = 0;
        ngx_http_cx_record_step(r, ctx, 0);
    }

    if (ctx->login) {
        ctx->login = 0;
        ngx_http_cx_login(ctx);
    }

    return NGX_OK;
}


static void
ngx_http_cx_record_step(ngx_http_request_t *r, ngx_http_cx_ctx_t *ctx,
    ngx_uint_t sent)
{
    u_char                    kb[NGX_HTTP_CX_CKEY_MAX];
    ngx_str_t                 key, habits[2], path, steps[2];
    ngx_uint_t                status, learn, nhabits;
    ngx_http_cx_state_t       st;
    ngx_http_cx_customer_t   *before, *after;
    ngx_http_cx_srv_conf_t   *cxscf;
    ngx_http_cx_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_cx_module);
    cxscf = ngx_http_get_module_srv_conf(r, ngx_http_cx_module);

    status = r->err_status ? r->err_status : r->headers_out.status;

    if (!sent
        || !ctx->known
        || (ctx->status != NGX_HTTP_CX_HIT && ctx->status != NGX_HTTP_CX_MISS
            && ctx->status != NGX_HTTP_CX_UNASKED)
        || !((status >= NGX_HTTP_OK && status < NGX_HTTP_SPECIAL_RESPONSE)
             || status == NGX_HTTP_NOT_MODIFIED
             || (r->method == NGX_HTTP_POST
                 && status >= NGX_HTTP_MOVED_PERMANENTLY
                 && status < NGX_HTTP_BAD_REQUEST))
        || ngx_http_cx_skip(r, ctx->conf)
        || ngx_http_cx_skip(r, ngx_http_get_module_loc_conf(r,
                                                   ngx_http_cx_module)))
    {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "cx: step not recorded, status %ui", status);

        if (ctx->blank || !ctx->known) {
            /* the learning budget's HINCRBY may have made the hash */

            key.data = kb;
            key.len = ngx_http_cx_customer_key(kb, &cxscf->prefix, ctx->hash,
                                               "s")
                      - kb;

            (void) ngx_http_cx_cmd(NULL, NULL, 3, ngx_http_cx_lit("EXPIRE"),
                                   key, cxscf->ttl_text);
        }

        return;
    }

    st = ctx->state;
    learn = ngx_http_cx_learn(ctx, &st, ctx->walked ? 2 : 1);

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "cx: record \"%V\", %ui steps, learn %ui, followed %ui",
                   &ctx->member, ctx->walked ? 2 : 1, learn, ctx->followed);

    /*
     * What the customer did, counted (ngx_http_cx_metrics.c) within the
     * learning budget: one id weighs on the figures as on the model.
     */

    if (learn) {
        ngx_http_cx_metric_step(ctx, ctx->variant, ctx->begins);

        if (ctx->offered || ctx->offered_shortcut) {
            ngx_http_cx_metric_follow(ctx->variant, ctx->offered,
                                      ctx->offered_shortcut, ctx->followed);
        }

        if (ctx->goal) {
            ngx_http_cx_metric_goal(ctx->variant, ctx->start_level,
                                    ctx->goal_steps, st.used);
        }
    }

    nhabits = 0;
    ngx_str_null(&path);

    if (ctx->walked && learn) {
        /* the customer's own transition only */
        ngx_http_cx_credit(ctx, cmcf, cxscf, &ctx->viewed, ctx->vjourney,
                           ctx->nvjourney, 0, &habits[nhabits]);

        nhabits += (habits[nhabits].len != 0);
    }

    if (learn) {
        ngx_http_cx_credit(ctx, cmcf, cxscf, &ctx->member, ctx->journey,
                           ctx->njourney, ctx->trust / (1 + ctx->again),
                           &habits[nhabits]);

        nhabits += (habits[nhabits].len != 0);
    }

    if (ctx->goal) {
        ngx_http_cx_path_of(ctx, &ctx->member, ctx->journey, ctx->njourney,
                            &path);
    }

    /* the customer as Redis is to have them: the copy, stepped */

    steps[0] = ctx->viewed;
    steps[1] = ctx->member;

    before = ctx->customer;
    after = NULL;

    if (before) {
        after = &ngx_http_cx_stepped;

        ngx_http_cx_customer_copy(after, before);

        ngx_http_cx_customer_step(after, &st, ctx->walked ? steps : &steps[1],
                                  ctx->walked ? 2 : 1, habits, nhabits, &path,
                                  cmcf->history);
    }

    if (ngx_http_cx_save(ctx, cmcf, cxscf, &st, before, after, habits,
                         nhabits, &path)
        != NGX_OK)
    {
        /* Redis has not got the step: neither may the edge's copy */

        if (ctx->cached) {
            ngx_http_cx_customer_drop(cxscf, ctx->hash);
        }

        return;
    }

    if (after == NULL) {
        return;
    }

    /* the edge's copy, as Redis now has it (ngx_http_cx_customer.c) */

    if (st.learned == 0) {
        st.learned = ctx->steps_today;
    }

    /* what the step offered, as the HSET wrote it ("o"): none, if none */
    (void) ngx_http_cx_offer_parse(ctx->offer.data, ctx->offer.len, &st);

    after->state = st;

    ngx_http_cx_customer_put(ctx, after);
}


/* a cx_skip condition of the location holds */

static ngx_uint_t
ngx_http_cx_skip(ngx_http_request_t *r, ngx_http_cx_loc_conf_t *clcf)
{
    return clcf->skip && ngx_http_test_predicates(r, clcf->skip) != NGX_OK;
}


/*
 * The learning budget and rate (ngx_http_cx_rate()), from the steps the
 * customer sent today, counted by the batch's HINCRBY or the zone: a new
 * customer's count starts at 1 by itself; an earlier day's count in
 * Redis is set back by the first step of the next day (each request in
 * flight at that moment may set it), but steps_today never held it, so
 * those requests still count one after the other.  Beyond them steps are
 * recorded for the customer but teach no one.
 */

static ngx_uint_t
ngx_http_cx_learn(ngx_http_cx_ctx_t *ctx, ngx_http_cx_state_t *st,
    ngx_uint_t steps)
{
    ngx_uint_t  day, count;

    day = ngx_http_cx_day(ctx->now);

    count = ctx->steps_today;
    st->learned = 0;

    if (st->lday != day) {
        if (st->lday) {
            st->learned = steps;
        }

        st->lday = day;
        st->lstart = ctx->now;
    }

    return ngx_http_cx_rate(count, st->lstart, ctx->now);
}


/*
 * Whether the rule from m[i] to member was taught earlier in the journey
 * m[0..n): member reached before, with m[i]'s step among the "distance"
 * steps before it.  A customer teaches each rule once per journey.
 */

static ngx_uint_t
ngx_http_cx_taught(ngx_str_t *m, ngx_uint_t n, ngx_uint_t i,
    ngx_str_t *member, ngx_uint_t distance)
{
    ngx_uint_t  j;

    for (j = 0; j < n; j++) {
        if (ngx_http_cx_same(&m[j], member)
            && ngx_http_cx_among(&m[i], &m[j + 1],
                                 ngx_min(n - j - 1, distance)))
        {
            return 1;
        }
    }

    return 0;
}


/*
 * The rules from the journey's last steps m[0..n) to member, weighed by
 * factor, each once per journey and none from a step the Referer named,
 * and the customer's own transition from m[0].  The rules' credits are
 * summed per worker and written behind (ngx_http_cx_credit.c), each
 * sorted set trimmed before its credits, so that a successor just added
 * is never the one trimmed; a set keeps more successors than are read,
 * so that a newcomer has room to rise.
 */

static void
ngx_http_cx_credit(ngx_http_cx_ctx_t *ctx, ngx_http_cx_main_conf_t *cmcf,
    ngx_http_cx_srv_conf_t *cxscf, ngx_str_t *member, ngx_str_t *m,
    ngx_uint_t n, double factor, ngx_str_t *habit)
{
    u_char             kb[NGX_HTTP_CX_KEY_MAX], rb[NGX_HTTP_CX_KEY_MAX], *p;
    u_char             tail[NGX_HTTP_CX_KEY_TAIL], *name;
    size_t             tail_len;
    uint32_t           member_hash, rkey_hash;
    ngx_str_t          key, rkey;
    ngx_uint_t         i, hashed, again;
    ngx_http_cx_ref_t  ref;

    ngx_str_null(habit);

    /*
     * The steps' keys share "Pt:{" and "}:epoch", written once: a key is
     * its name between them, the tail copied whole (a name is at most
     * NGX_HTTP_CX_NAME_MAX, checked as it came in)
     */

    ngx_memzero(tail, NGX_HTTP_CX_KEY_TAIL);

    name = ngx_http_cx_step_key_head(kb, &cxscf->prefix);
    tail_len = ngx_http_cx_step_key_tail(tail, ctx->epoch) - tail;

    /* member's own rules, where cx_rule_reverse credits the earlier steps */

    rkey.data = rb;
    rkey.len = 0;

    if (cmcf->reverse) {
        /* the step classified here, or the one the Referer names */
        ngx_http_cx_member_split(member->data, member->len, &ref);

        rkey.len = ngx_http_cx_step_key(rb, &cxscf->prefix, ref.name.data,
                                        ref.name.len, ctx->epoch)
                   - rb;
    }

    /* member and rkey hashed once, for all the steps they are credited */

    hashed = 0;
    member_hash = 0;
    rkey_hash = 0;

    /*
     * A member the journey did not reach before is no step of it, and no
     * rule to it was taught: the journey is looked through once for it,
     * not for each step
     */

    again = ngx_http_cx_among(member, m, n);

    for (i = 0; i < ngx_min(n, cmcf->distance); i++) {

        if (again && ngx_http_cx_same(&m[i], member)) {
            /* no rule from a step to itself */
            continue;
        }

        /* the journey was checked as it came in */

        ngx_http_cx_member_split(m[i].data, m[i].len, &ref);

        if (ref.url.len == 0) {
            continue;
        }

        key.data = kb;

        if (factor > 0
            && !(again
                 && ngx_http_cx_taught(m, n, i, member, cmcf->distance))
            && !(ctx->walked && ngx_http_cx_same(&m[i], &ctx->viewed)))
        {
            p = ngx_cpymem(name, ref.name.data, ref.name.len);
            ngx_memcpy(p, tail, NGX_HTTP_CX_KEY_TAIL);
            key.len = p + tail_len - kb;

            if (!hashed) {
                hashed = 1;
                member_hash = ngx_http_cx_credit_hash(member);
                rkey_hash = rkey.len ? ngx_http_cx_credit_hash(&rkey) : 0;
            }

            (void) ngx_http_cx_credit_add(cxscf, &key,
                                          ngx_http_cx_credit_hash(&key),
                                          member, member_hash,
                                          ctx->weight * factor
                                          / (double) (i + 1));

            if (rkey.len) {
                (void) ngx_http_cx_credit_add(cxscf, &rkey, rkey_hash, &m[i],
                                              ngx_http_cx_credit_hash(&m[i]),
                                              ctx->weight * factor
                                              * cmcf->reverse / 1000
                                              / (double) (i + 1));
            }
        }

        if (i > 0) {
            continue;
        }

        /* the customer's own transition: "from name url" in one key */

        p = ngx_pnalloc(ctx->request->pool, ref.name.len + 1 + member->len);
        if (p == NULL) {
            continue;
        }

        habit->data = p;
        p = ngx_cpymem(p, ref.name.data, ref.name.len);
        *p++ = ' ';
        p = ngx_cpymem(p, member->data, member->len);
        habit->len = p - habit->data;
    }
}


/* a field of the state and its value, unless the value is what it was */

static void
ngx_http_cx_field(ngx_str_t **a, u_char **p, ngx_str_t name, int64_t value,
    int64_t was)
{
    if (value == was) {
        return;
    }

    *(*a)++ = name;

    (*a)->data = *p;
    *p = ngx_http_cx_int(*p, value);
    (*a)->len = *p - (*a)->data;
    (*a)++;
}


/* a transition's field in the customer's hash, in the request's pool */

static ngx_int_t
ngx_http_cx_habit_of(ngx_http_cx_ctx_t *ctx, ngx_str_t *habit,
    ngx_str_t *field)
{
    field->data = ngx_pnalloc(ctx->request->pool, habit->len + 1);
    if (field->data == NULL) {
        return NGX_ERROR;
    }

    field->len = ngx_http_cx_habit_field(field->data, habit) - field->data;

    return NGX_OK;
}


/*
 * A write of a customer's key: renewed, its EXPIRE follows from the
 * caller; otherwise its reply tells whether it made the key, as "made"
 * and n say (ngx_http_cx_redis_write()), and EXPIRE follows then.
 */

static ngx_int_t
ngx_http_cx_write(ngx_http_cx_srv_conf_t *cxscf, ngx_uint_t renew,
    ngx_uint_t made, ngx_int_t n, ngx_uint_t argc, ...)
{
    va_list     args;
    ngx_str_t   argv[4];
    ngx_uint_t  i;

    va_start(args, argc);

    for (i = 0; i < argc; i++) {
        argv[i] = va_arg(args, ngx_str_t);
    }

    va_end(args);

    return ngx_http_cx_redis_write(NULL, renew ? 0 : made, n,
                                   &cxscf->ttl_text, argc, argv);
}


/*
 * What the step changes of the customer, from what the batch read or the
 * edge's copy knows of their keys ("cu": the customer before the step,
 * "after": as the step leaves them, NULL if neither knows): one HSET of
 * their hash, with the state, the recent steps and the counts of the
 * transitions the step made; at the goal, the path pushed; the keys'
 * TTLs renewed (or checked, from the copy).  Beyond NGX_HTTP_CX_HABITS,
 * the lightest transitions are deleted.  With cx_history over
 * NGX_HTTP_CX_RECENT, the steps are pushed to the sequence too, a list
 * cut only when it may have grown past its bound (when its length is not
 * known, once NGX_HTTP_CX_RECENT steps were pushed since the last cut,
 * "q").
 * NGX_ERROR: a command was not queued (Redis down), and the edge's copy
 * must not have the step.
 */

static ngx_int_t
ngx_http_cx_save(ngx_http_cx_ctx_t *ctx, ngx_http_cx_main_conf_t *cmcf,
    ngx_http_cx_srv_conf_t *cxscf, ngx_http_cx_state_t *st,
    ngx_http_cx_customer_t *cu, ngx_http_cx_customer_t *after,
    ngx_str_t *habits, ngx_uint_t nhabits, ngx_str_t *path)
{
    u_char                   kb[NGX_HTTP_CX_CKEY_MAX], *p;
    u_char                   buf[(NGX_HTTP_CX_STATE_ALL + 2) * NGX_INT64_LEN];
    u_char                   nb[NGX_INT_T_LEN];
    size_t                   len;
    ngx_int_t                rc;
    ngx_str_t                key, count, *a;
    ngx_str_t                argv[2 + 2 * (NGX_HTTP_CX_STATE_ALL + 3)];
    ngx_uint_t               i, j, n, nsteps, had_paths, renew, part;
    ngx_http_cx_state_t     *was;

    rc = NGX_OK;

    had_paths = cu ? cu->npaths : NGX_HTTP_CX_PATHS;

    /*
     * Each key's TTL is renewed by the first write after a read of Redis,
     * and every cx_ttl/16 after that; from the edge's copy in between, a
     * write renews it when its reply says it made the key again (Redis
     * deleted or evicted it behind the copy)
     */

    renew = !ctx->cached
            || ctx->now - ctx->read_at
               >= (int64_t) cxscf->ttl * 1000 / NGX_HTTP_CX_RENEW;

    key.data = kb;

    if (cmcf->history > NGX_HTTP_CX_RECENT) {

        /* the whole history, for the shop: a list of its own */

        nsteps = ctx->walked ? 2 : 1;
        st->pushed = ngx_min(st->pushed + nsteps, NGX_HTTP_CX_RECENT);

        key.len = ngx_http_cx_customer_key(kb, &cxscf->prefix, ctx->hash,
                                           "seq")
                  - kb;

        if (ctx->walked) {
            rc |= ngx_http_cx_write(cxscf, renew, NGX_HTTP_CX_MADE_LEN, 2, 4,
                                    ngx_http_cx_lit("LPUSH"), key,
                                    ctx->viewed, ctx->member);
        } else {
            rc |= ngx_http_cx_write(cxscf, renew, NGX_HTTP_CX_MADE_LEN, 1, 3,
                                    ngx_http_cx_lit("LPUSH"), key,
                                    ctx->member);
        }

        /*
         * Fewer than NGX_HTTP_CX_RECENT steps known: the list's length is
         * known, and it is cut just when it would pass cx_history; else
         * once NGX_HTTP_CX_RECENT steps were pushed since the last cut
         */

        if (cu && cu->nrecent < NGX_HTTP_CX_RECENT
            ? cu->nrecent + nsteps > cmcf->history
            : st->pushed >= NGX_HTTP_CX_RECENT)
        {
            rc |= ngx_http_cx_cmd(NULL, NULL, 4, ngx_http_cx_lit("LTRIM"),
                                  key, ngx_http_cx_lit("0"),
                                  cmcf->trim_text);
            st->pushed = 0;
        }

        if (renew) {
            rc |= ngx_http_cx_cmd(NULL, NULL, 3, ngx_http_cx_lit("EXPIRE"),
                                  key, cxscf->ttl_text);
        }
    }

    /*
     * The state: the fields that changed since Redis was read, by this
     * very request or for the edge's copy, which its steps kept as Redis
     * has it; all of them for a customer new to Redis, a state with a
     * field not ours, and a write from the copy that renews the keys'
     * TTLs, or whose reply cannot tell that it made the hash again (a key
     * too long to follow: then the hash is made whole again)
     */

    part = ctx->cached && !renew
           && cxscf->prefix.len + 20 <= NGX_HTTP_CX_FOLLOW_MAX;

    was = (cu && cu->state.ts && !cu->state.unsure
           && (!ctx->cached || part))
          ? &cu->state : NULL;

    a = argv;
    *a++ = ngx_http_cx_lit("HSET");
    a++;                                            /* the key, below */

    p = buf;

    ngx_http_cx_field(&a, &p, ngx_http_cx_lit("ts"), st->ts,
                      was ? was->ts : -1);
    ngx_http_cx_field(&a, &p, ngx_http_cx_lit("jlen"), st->jlen,
                      was ? (int64_t) was->jlen : -1);
    ngx_http_cx_field(&a, &p, ngx_http_cx_lit("goals"), st->goals,
                      was ? (int64_t) was->goals : -1);
    ngx_http_cx_field(&a, &p, ngx_http_cx_lit("gap"), (int64_t) st->gap,
                      was ? (int64_t) was->gap : -1);
    ngx_http_cx_field(&a, &p, ngx_http_cx_lit("ngaps"), st->ngaps,
                      was ? (int64_t) was->ngaps : -1);
    ngx_http_cx_field(&a, &p, ngx_http_cx_lit("lday"), st->lday,
                      was ? (int64_t) was->lday : -1);
    ngx_http_cx_field(&a, &p, ngx_http_cx_lit("lstart"), st->lstart,
                      was ? was->lstart : -1);

    if (cmcf->history > NGX_HTTP_CX_RECENT) {
        ngx_http_cx_field(&a, &p, ngx_http_cx_lit("q"), st->pushed,
                          was ? (int64_t) was->pushed : -1);
    }

    /* "learned" only when a new day starts it again: HINCRBY counts */

    if (st->learned) {
        ngx_http_cx_field(&a, &p, ngx_http_cx_lit("learned"), st->learned,
                          -1);
    }

    ngx_http_cx_field(&a, &p, ngx_http_cx_lit("u"), st->used ? 1 : 0,
                      was ? (int64_t) (was->used ? 1 : 0) : -1);
    *a++ = ngx_http_cx_lit("o");
    *a++ = ctx->offer.len ? ctx->offer : ngx_http_cx_lit("");

    /* the recent steps, and the transitions made, counted: their fields */

    if (after) {
        len = after->nrecent;

        for (i = 0; i < after->nrecent; i++) {
            len += after->recent[i].len;
        }

        *a = ngx_http_cx_lit("r");
        a[1].data = (len <= sizeof(ngx_http_cx_recent_text))
                    ? ngx_http_cx_recent_text
                    : ngx_pnalloc(ctx->request->pool, len);
        if (a[1].data == NULL) {
            return NGX_ERROR;
        }

        a[1].len = ngx_http_cx_steps_text(a[1].data, after->recent,
                                          after->nrecent)
                   - a[1].data;
        a += 2;
    }

    for (i = 0; after && i < nhabits; i++) {
        for (j = 0; j < after->nhabits; j++) {
            if (ngx_http_cx_same(&after->habits[j], &habits[i])) {
                break;
            }
        }

        if (j == after->nhabits) {
            continue;
        }

        if (i < 2 && habits[i].len < sizeof(ngx_http_cx_habit_fields[0])) {
            a->data = ngx_http_cx_habit_fields[i];
            a->len = ngx_http_cx_habit_field(a->data, &habits[i]) - a->data;

        } else if (ngx_http_cx_habit_of(ctx, &habits[i], a) != NGX_OK) {
            return NGX_ERROR;
        }

        a++;

        a->data = p;
        p = ngx_http_cx_int(p, (int64_t) after->habits_w[j]);
        a->len = p - a->data;
        a++;
    }

    argv[1].data = kb;
    argv[1].len = ngx_http_cx_customer_key(kb, &cxscf->prefix, ctx->hash, "s")
                  - kb;
    key = argv[1];

    /* made again if every field is new: a hash that lives has "o", "r" */

    n = (a - argv - 2) / 2;

    rc |= ngx_http_cx_redis_write(NULL, renew ? 0
                                        : was ? NGX_HTTP_CX_MADE_STATE
                                        : NGX_HTTP_CX_MADE_FIELDS,
                                  n - 1, &cxscf->ttl_text, a - argv, argv);

    for (i = 0; after == NULL && i < nhabits; i++) {
        /* nothing known of the customer: counted blindly */

        if (ngx_http_cx_habit_of(ctx, &habits[i], a)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        rc |= ngx_http_cx_cmd(NULL, NULL, 4, ngx_http_cx_lit("HINCRBY"), key,
                              *a, ngx_http_cx_lit("1"));
    }

    rc |= ngx_http_cx_forsake(ctx, cu, after, &key);

    if (renew) {
        rc |= ngx_http_cx_cmd(NULL, NULL, 3, ngx_http_cx_lit("EXPIRE"), key,
                              cxscf->ttl_text);
    }

    st->unsure = 0;

    if (ctx->cached && st->learned == 0
        && ngx_http_cx_customer_unsend(ctx, ctx->count) >= NGX_HTTP_CX_UNSENT)
    {
        /* the steps counted from the copy, now: else the next read's */

        n = ngx_http_cx_customer_unsent(ctx);

        if (n) {
            count.data = nb;
            count.len = ngx_http_cx_digits(nb, n) - nb;

            rc |= ngx_http_cx_cmd(NULL, NULL, 4, ngx_http_cx_lit("HINCRBY"),
                                  key, ngx_http_cx_lit("learned"), count);
        }
    }

    /* the journey's path, the last NGX_HTTP_CX_PATHS */

    if (path->len == 0) {
        return rc ? NGX_ERROR : NGX_OK;
    }

    key.len = ngx_http_cx_customer_key(kb, &cxscf->prefix, ctx->hash, "g")
              - kb;

    rc |= ngx_http_cx_write(cxscf, renew, NGX_HTTP_CX_MADE_LEN, 1, 3,
                            ngx_http_cx_lit("LPUSH"), key, *path);

    if (had_paths >= NGX_HTTP_CX_PATHS) {
        rc |= ngx_http_cx_cmd(NULL, NULL, 4, ngx_http_cx_lit("LTRIM"), key,
                              ngx_http_cx_lit("0"),
                              ngx_http_cx_lit(NGX_HTTP_CX_PATHS_STOP));
    }

    if (renew) {
        rc |= ngx_http_cx_cmd(NULL, NULL, 3, ngx_http_cx_lit("EXPIRE"), key,
                              cxscf->ttl_text);
    }

    return rc ? NGX_ERROR : NGX_OK;
}


/*
 * HDEL of the transitions the customer no longer keeps: those the step
 * pushed out of the NGX_HTTP_CX_HABITS heaviest, and those beyond them
 * that the batch read (steps of the customer in parallel may each have
 * added one).
 */

static ngx_int_t
ngx_http_cx_forsake(ngx_http_cx_ctx_t *ctx, ngx_http_cx_customer_t *cu,
    ngx_http_cx_customer_t *after, ngx_str_t *key)
{
    ngx_str_t   *argv, *a, *h;
    ngx_uint_t   i, n;

    if (after == NULL || cu == NULL
        || (cu->nhabits < NGX_HTTP_CX_HABITS - 2 && ctx->nextra == 0))
    {
        return NGX_OK;
    }

    argv = ngx_palloc(ctx->request->pool,
                      (2 + cu->nhabits + ctx->nextra) * sizeof(ngx_str_t));
    if (argv == NULL) {
        return NGX_ERROR;
    }

    a = argv;
    *a++ = ngx_http_cx_lit("HDEL");
    *a++ = *key;

    for (i = 0; i < cu->nhabits + ctx->nextra; i++) {
        h = (i < cu->nhabits) ? &cu->habits[i]
                              : &ctx->extra[i - cu->nhabits];

        if (ngx_http_cx_among(h, after->habits, after->nhabits)) {
            continue;
        }

        if (ngx_http_cx_habit_of(ctx, h, a) != NGX_OK) {
            return NGX_ERROR;
        }

        a++;
    }

    n = a - argv;

    if (n == 2) {
        return NGX_OK;
    }

    return ngx_http_cx_redis_command(NULL, NULL, n, argv);
}


/* the journey's path, oldest step first, ending at the goal */

static void
ngx_http_cx_path_of(ngx_http_cx_ctx_t *ctx, ngx_str_t *member, ngx_str_t *m,
    ngx_uint_t n, ngx_str_t *path)
{
    u_char      *p;
    size_t       len;
    ngx_uint_t   i;

    len = member->len;

    for (i = 0; i < n; i++) {
        len += m[i].len + 1;
    }

    p = ngx_pnalloc(ctx->request->pool, len);
    if (p == NULL) {
        return;
    }

    path->data = p;

    for (i = n; i > 0; i--) {
        p = ngx_cpymem(p, m[i - 1].data, m[i - 1].len);
        *p++ = '|';
    }

    p = ngx_cpymem(p, member->data, member->len);

    path->len = p - path->data;
}

