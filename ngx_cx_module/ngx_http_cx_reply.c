
/*
 * Copyright (C) ngx_cx authors
 *
 * What Redis answers, checked before anything is copied or computed from
 * it.  Redis may be shared with other applications, or hold what a bug
 * or an attacker wrote: every entry of the wrong type, too long, not of
 * our format or with a score that is not a finite positive number is
 * skipped and counted, never trusted.  Pure functions, fuzzed in t/fuzz.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <math.h>
#include <stdlib.h>

#include <hiredis/hiredis.h>

#include <ngx_http_cx_module.h>


#define NGX_HTTP_CX_STATE_FIELDS  10


static int64_t ngx_http_cx_number(u_char *p, size_t len, int64_t max);


/* the state's numbers: their fields, the largest value each may hold */
static struct {
    ngx_str_t   name;
    int64_t     max;
} ngx_http_cx_state_fields[NGX_HTTP_CX_STATE_FIELDS] = {
    { ngx_string("ts"), NGX_MAX_INT_T_VALUE },
    { ngx_string("jlen"), NGX_HTTP_CX_JLEN_MAX },
    { ngx_string("goals"), NGX_HTTP_CX_COUNT_MAX },
    { ngx_string("gap"), NGX_HTTP_CX_COUNT_MAX * 1000LL },     /* ms */
    { ngx_string("ngaps"), NGX_HTTP_CX_COUNT_MAX },
    { ngx_string("lday"), NGX_HTTP_CX_COUNT_MAX },
    { ngx_string("learned"), NGX_HTTP_CX_COUNT_MAX },
    { ngx_string("lstart"), NGX_MAX_INT_T_VALUE },
    { ngx_string("u"), 1 },
    { ngx_string("q"), NGX_HTTP_CX_RECENT }
};


/* decimal digits only, at most max; -1 if not */

static int64_t
ngx_http_cx_number(u_char *p, size_t len, int64_t max)
{
    int64_t  n;

    if (len == 0) {
        return -1;
    }

    for (n = 0; len--; p++) {
        if (*p < '0' || *p > '9' || n > (max - (*p - '0')) / 10) {
            return -1;
        }

        n = n * 10 + (*p - '0');
    }

    /* a single digit over a max below 10 passes the test above */
    return (n <= max) ? n : -1;
}


/*
 * HGETALL of a customer's hash (ngx_http_cx_record.c writes it): the
 * state's numbers; "u" and "o", what the journey did with offers and
 * what the last step offered; "q", the steps pushed since the sequence
 * list was last cut; "r", the recent steps, "name url|name url|...",
 * newest first; and a field ">from name url" for each of the customer's
 * own transitions, its count the value.  A missing field is 0 (nothing);
 * an entry that is not ours (a value no number in range, an offer not of
 * ngx_http_cx_offer_text()'s making, a step or transition not of our
 * format, a field we never write) is skipped and counted, and the state
 * is marked unsure when one of its fields was.  Of the transitions, the
 * NGX_HTTP_CX_HABITS heaviest go to cu in ZREVRANGE's order (the larger
 * count, then the later bytes first), others, up to as many again, to
 * extra[] for the record to delete.  Only the first
 * NGX_HTTP_CX_FIELDS_MAX fields are looked at.  Strings point into the
 * reply.
 */

ngx_uint_t
ngx_http_cx_reply_customer(redisReply *reply, ngx_http_cx_customer_t *cu,
    ngx_str_t *extra, ngx_uint_t *nextra)
{
    int64_t              v;
    ngx_str_t            f, val, *out;
    ngx_uint_t           i, k, n, bad, unsure;
    redisReply          *fe, *ve;
    ngx_http_cx_state_t *st;

    ngx_memzero(cu, sizeof(ngx_http_cx_customer_t));
    *nextra = 0;

    if (reply == NULL) {
        return 0;
    }

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements % 2) {
        return 1;
    }

    st = &cu->state;
    bad = 0;
    unsure = 0;

    n = ngx_min(reply->elements / 2, NGX_HTTP_CX_FIELDS_MAX);
    bad += (reply->elements / 2 > n);

    for (i = 0; i < n; i++) {
        fe = reply->element[2 * i];
        ve = reply->element[2 * i + 1];

        if (fe == NULL || ve == NULL || fe->type != REDIS_REPLY_STRING
            || ve->type != REDIS_REPLY_STRING || fe->len == 0)
        {
            bad++;
            continue;
        }

        f.data = (u_char *) fe->str;
        f.len = fe->len;
        val.data = (u_char *) ve->str;
        val.len = ve->len;

        if (f.data[0] == '>') {
            f.data++;
            f.len--;

            v = ngx_http_cx_number(val.data, val.len, NGX_HTTP_CX_COUNT_MAX);

            if (v <= 0 || !ngx_http_cx_habit_ok(&f)) {
                bad++;
                continue;
            }

            /* the heaviest kept; the one that falls off, to delete */

            out = &f;

            if (cu->nhabits == NGX_HTTP_CX_HABITS
                && ngx_http_cx_habit_before((double) v, &f,
                                            cu->habits_w[cu->nhabits - 1],
                                            &cu->habits[cu->nhabits - 1]))
            {
                out = &cu->habits[cu->nhabits - 1];
            }

            if (cu->nhabits == NGX_HTTP_CX_HABITS
                && *nextra < NGX_HTTP_CX_HABITS)
            {
                extra[(*nextra)++] = *out;
            }

            cu->nhabits = ngx_http_cx_habit_insert(cu->habits, cu->habits_w,
                                                   cu->nhabits,
                                                   NGX_HTTP_CX_HABITS, &f,
                                                   (double) v);
            continue;
        }

        if (f.len == 1 && f.data[0] == 'r') {
            cu->nrecent = ngx_http_cx_steps_parse(&val, cu->recent,
                                                  NGX_HTTP_CX_RECENT, &bad);
            continue;
        }

        if (f.len == 1 && f.data[0] == 'o') {
            if (val.len > NGX_HTTP_CX_OFFER_MAX
                || ngx_http_cx_offer_parse(val.data, val.len, st) != NGX_OK)
            {
                st->noffer = 0;
                st->shortcut = 0;
                bad++;
                unsure = 1;
            }

            continue;
        }

        for (k = 0; k < NGX_HTTP_CX_STATE_FIELDS; k++) {
            if (f.len == ngx_http_cx_state_fields[k].name.len
                && ngx_strncmp(f.data, ngx_http_cx_state_fields[k].name.data,
                               f.len)
                   == 0)
            {
                break;
            }
        }

        if (k == NGX_HTTP_CX_STATE_FIELDS) {
            /* a field we never write */
            bad++;
            continue;
        }

        v = ngx_http_cx_number(val.data, val.len,
                               ngx_http_cx_state_fields[k].max);

        if (v < 0) {
            bad++;
            unsure = 1;
            continue;
        }

        switch (k) {
        case 0: st->ts = v; break;
        case 1: st->jlen = (ngx_uint_t) v; break;
        case 2: st->goals = (ngx_uint_t) v; break;
        case 3: st->gap = (double) v; break;
        case 4: st->ngaps = (ngx_uint_t) v; break;
        case 5: st->lday = (ngx_uint_t) v; break;
        case 6: st->learned = (ngx_uint_t) v; break;
        case 7: st->lstart = v; break;
        case 8: st->used = (ngx_uint_t) v; break;
        default: st->pushed = (ngx_uint_t) v; break;
        }
    }

    st->unsure = unsure;

    return bad;
}


/*
 * WITHSCORES pairs, heaviest first: read from the end when Redis sends
 * them ascending.  Members are strings of 1..len_max bytes, scores finite
 * and positive; the caller checks the members' format.
 */

ngx_uint_t
ngx_http_cx_reply_scored(redisReply *reply, ngx_str_t *out, double *scores,
    ngx_uint_t max, ngx_uint_t ascending, size_t len_max, ngx_uint_t *bad)
{
    ngx_uint_t   i, k, n, pairs;
    redisReply  *m, *s;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        *bad += (reply != NULL);
        return 0;
    }

    pairs = reply->elements / 2;
    n = 0;

    for (k = 0; k < pairs && n < max; k++) {
        i = ascending ? 2 * (pairs - 1 - k) : 2 * k;

        m = reply->element[i];
        s = reply->element[i + 1];

        if (m == NULL || s == NULL
            || m->type != REDIS_REPLY_STRING || s->type != REDIS_REPLY_STRING
            || m->len == 0 || (size_t) m->len > len_max
            || ngx_http_cx_score((u_char *) s->str, s->len, &scores[n])
               != NGX_OK)
        {
            (*bad)++;
            continue;
        }

        out[n].data = (u_char *) m->str;
        out[n].len = m->len;
        n++;
    }

    return n;
}


/* a list of strings of 1..len_max bytes */

ngx_uint_t
ngx_http_cx_reply_strings(redisReply *reply, ngx_str_t *out, ngx_uint_t max,
    size_t len_max, ngx_uint_t *bad)
{
    ngx_uint_t   i, n;
    redisReply  *e;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        *bad += (reply != NULL);
        return 0;
    }

    n = 0;

    for (i = 0; i < reply->elements && n < max; i++) {
        e = reply->element[i];

        if (e == NULL || e->type != REDIS_REPLY_STRING || e->len == 0
            || (size_t) e->len > len_max)
        {
            (*bad)++;
            continue;
        }

        out[n].data = (u_char *) e->str;
        out[n].len = e->len;
        n++;
    }

    return n;
}


/* a score as Redis prints it: a finite number in (0, SCORE_MAX] */

ngx_int_t
ngx_http_cx_score(u_char *data, size_t len, double *score)
{
    char    buf[NGX_HTTP_CX_SCORE_LEN + 1], *end;
    double  d;

    if (len == 0 || len > NGX_HTTP_CX_SCORE_LEN) {
        return NGX_DECLINED;
    }

    ngx_memcpy(buf, data, len);
    buf[len] = '\0';

    d = strtod(buf, &end);

    if (end != buf + len || !isfinite(d) || d <= 0
        || d > NGX_HTTP_CX_SCORE_MAX)
    {
        return NGX_DECLINED;
    }

    *score = d;

    return NGX_OK;
}
