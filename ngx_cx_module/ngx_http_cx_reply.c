
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


#define NGX_HTTP_CX_STATE_FIELDS  8


static int64_t ngx_http_cx_number(u_char *p, size_t len, int64_t max);


/* the largest value each field of the state hash may hold */
static int64_t  ngx_http_cx_state_max[NGX_HTTP_CX_STATE_FIELDS] = {
    NGX_MAX_INT_T_VALUE,            /* ts */
    NGX_HTTP_CX_JLEN_MAX,           /* jlen */
    NGX_HTTP_CX_COUNT_MAX,          /* goals */
    NGX_HTTP_CX_COUNT_MAX * 1000LL, /* gap, ms */
    NGX_HTTP_CX_COUNT_MAX,          /* ngaps */
    NGX_HTTP_CX_COUNT_MAX,          /* lday */
    NGX_HTTP_CX_COUNT_MAX,          /* learned */
    NGX_MAX_INT_T_VALUE             /* lstart */
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
 * HMGET of ts jlen goals gap ngaps lday learned lstart, and for a step's
 * batch u o, what the journey did with offers and what the last step
 * offered: a missing field is 0, a field that is no number in range, or
 * an offer not of ngx_http_cx_offer_text()'s making, is 0 (none) and
 * counted.
 */

ngx_uint_t
ngx_http_cx_reply_state(redisReply *reply, ngx_http_cx_state_t *st)
{
    int64_t      v[NGX_HTTP_CX_STATE_FIELDS];
    ngx_uint_t   i, bad;
    redisReply  *e;

    ngx_memzero(st, sizeof(ngx_http_cx_state_t));

    if (reply == NULL) {
        return 0;
    }

    if (reply->type != REDIS_REPLY_ARRAY
        || (reply->elements != NGX_HTTP_CX_STATE_FIELDS
            && reply->elements != NGX_HTTP_CX_STATE_FIELDS + 2
            && reply->elements != NGX_HTTP_CX_STATE_FIELDS + 3))
    {
        return 1;
    }

    bad = 0;

    for (i = 0; i < NGX_HTTP_CX_STATE_FIELDS; i++) {
        e = reply->element[i];
        v[i] = 0;

        if (e == NULL || e->type == REDIS_REPLY_NIL) {
            continue;
        }

        if (e->type == REDIS_REPLY_STRING) {
            v[i] = ngx_http_cx_number((u_char *) e->str, e->len,
                                      ngx_http_cx_state_max[i]);
            if (v[i] >= 0) {
                continue;
            }
        }

        v[i] = 0;
        bad++;
    }

    st->ts = v[0];
    st->jlen = (ngx_uint_t) v[1];
    st->goals = (ngx_uint_t) v[2];
    st->gap = (double) v[3];
    st->ngaps = (ngx_uint_t) v[4];
    st->lday = (ngx_uint_t) v[5];
    st->learned = (ngx_uint_t) v[6];
    st->lstart = v[7];

    if (reply->elements == NGX_HTTP_CX_STATE_FIELDS) {
        return bad;
    }

    e = reply->element[NGX_HTTP_CX_STATE_FIELDS];

    if (e && e->type == REDIS_REPLY_STRING) {
        v[0] = ngx_http_cx_number((u_char *) e->str, e->len, 1);
        st->used = (v[0] == 1);
        bad += (v[0] < 0);

    } else if (e && e->type != REDIS_REPLY_NIL) {
        bad++;
    }

    e = reply->element[NGX_HTTP_CX_STATE_FIELDS + 1];

    if (e && e->type == REDIS_REPLY_STRING) {
        if (e->len > NGX_HTTP_CX_OFFER_MAX
            || ngx_http_cx_offer_parse((u_char *) e->str, e->len, st)
               != NGX_OK)
        {
            st->noffer = 0;
            st->shortcut = 0;
            bad++;
        }

    } else if (e && e->type != REDIS_REPLY_NIL) {
        bad++;
    }

    if (reply->elements == NGX_HTTP_CX_STATE_FIELDS + 2) {
        return bad;
    }

    /* the steps pushed since the sequence was last cut */

    e = reply->element[NGX_HTTP_CX_STATE_FIELDS + 2];

    if (e && e->type == REDIS_REPLY_STRING) {
        v[0] = ngx_http_cx_number((u_char *) e->str, e->len,
                                  NGX_HTTP_CX_RECENT);
        st->pushed = (v[0] < 0) ? 0 : (ngx_uint_t) v[0];
        bad += (v[0] < 0);

    } else if (e && e->type != REDIS_REPLY_NIL) {
        bad++;
    }

    return bad;
}


/* a list of "name url" members, at most max of them */

ngx_uint_t
ngx_http_cx_reply_members(redisReply *reply, ngx_str_t *out, ngx_uint_t max,
    ngx_uint_t *bad)
{
    ngx_uint_t         i, n;
    redisReply        *e;
    ngx_http_cx_ref_t  ref;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        *bad += (reply != NULL);
        return 0;
    }

    n = 0;

    for (i = 0; i < reply->elements && n < max; i++) {
        e = reply->element[i];

        if (e == NULL || e->type != REDIS_REPLY_STRING
            || ngx_http_cx_member_parse((u_char *) e->str, e->len, &ref)
               != NGX_OK)
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
