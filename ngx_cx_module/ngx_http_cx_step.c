
/*
 * Copyright (C) ngx_cx authors
 *
 * The steps of a journey: cx_step and cx_goal, their name, url and label
 * templates, and matching a request's uri against them.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <xxhash.h>

#include <ngx_http_cx_module.h>


#define NGX_HTTP_CX_CAPTURES  30    /* $0..$9 */
#define NGX_HTTP_CX_VERDICTS  64    /* kept per worker */
#define NGX_HTTP_CX_CLASSES   128   /* kept per worker, two a set */
#define NGX_HTTP_CX_EXACT     64    /* buckets of a location's exact steps */


/*
 * The bucket of an exact step's name (not empty): its length and three of
 * its bytes, where the names of a shop differ ("cart", "checkout",
 * "item-12"); names alike there share a bucket, and are compared whole.
 */

#define ngx_http_cx_exact_bucket(s)                                          \
    ((((s)->len * 31 + (s)->data[0]) * 31 + (s)->data[(s)->len / 2]) * 31   \
     + (s)->data[(s)->len - 1]) % NGX_HTTP_CX_EXACT


/* what a template makes */
enum {
    NGX_HTTP_CX_TPL_NAME = 0,
    NGX_HTTP_CX_TPL_URL,
    NGX_HTTP_CX_TPL_LABEL
};


/*
 * What ngx_http_cx_declared() found of a suggestion that only a regex
 * step could declare: the same successors come back with every answer,
 * and a regex costs more than finding its verdict again.  Kept per
 * worker by the steps asked (a location's, or the ones it inherits) and
 * the suggestion's bytes, compared whole; forgotten with each
 * configuration read, for a single process that reloads.
 */

typedef struct {
    ngx_array_t                *steps;
    ngx_uint_t                  found;
    size_t                      name_len;
    size_t                      url_len;
    u_char                      member[NGX_HTTP_CX_NAME_MAX
                                       + NGX_HTTP_CX_URL_MAX];
} ngx_http_cx_verdict_t;


/*
 * What ngx_http_cx_classify() found of a uri: a shop's pages come back
 * with every customer, and a regex step listed before a page's own step
 * runs on it too.  Kept per worker by the steps asked and the uri's
 * bytes, compared whole, in sets of two, the one used longer ago giving
 * way (with a slot a uri, two of scripts/cost's ten pages shared one and
 * missed it in turns); a uri that a regex failed on (not one it did not
 * match) is not kept; forgotten with each configuration read, as the
 * verdicts.
 */

typedef struct {
    ngx_array_t                *steps;
    ngx_uint_t                  used;           /* a tick, when */
    ngx_http_cx_step_t         *step;           /* NULL: not a step */
    size_t                      uri_len;
    size_t                      name_len;
    size_t                      member_len;
    u_char                      uri[NGX_HTTP_CX_URL_MAX];
    u_char                      member[NGX_HTTP_CX_MEMBER_MAX];
} ngx_http_cx_class_t;


static ngx_int_t ngx_http_cx_class_of(ngx_http_request_t *r,
    ngx_http_cx_loc_conf_t *clcf, ngx_str_t *uri, u_char *member,
    size_t *name_len, size_t *member_len, ngx_http_cx_step_t **declared,
    ngx_uint_t *failed);
static ngx_int_t ngx_http_cx_tpl_compile(ngx_conf_t *cf, ngx_str_t *src,
    ngx_http_cx_tpl_t *tpl, ngx_int_t captures, ngx_uint_t kind);
static ngx_int_t ngx_http_cx_step_label(ngx_conf_t *cf,
    ngx_http_cx_step_t *step, ngx_str_t *text);
static ngx_http_cx_step_t *ngx_http_cx_exact(ngx_http_cx_loc_conf_t *clcf,
    ngx_http_cx_ref_t *ref);
static ngx_http_cx_step_t *ngx_http_cx_lookup(ngx_http_cx_loc_conf_t *clcf,
    ngx_http_cx_ref_t *ref, u_char *path, int *captures, ngx_int_t *n);
static ngx_int_t ngx_http_cx_check_uri(ngx_conf_t *cf, ngx_str_t *uri);
static ngx_int_t ngx_http_cx_check_url(ngx_conf_t *cf,
    ngx_http_cx_step_t *step, ngx_str_t *url);
static ngx_int_t ngx_http_cx_match(ngx_http_cx_step_t *step, ngx_str_t *s,
    int *captures);


static ngx_http_cx_verdict_t  ngx_http_cx_verdicts[NGX_HTTP_CX_VERDICTS];
static ngx_http_cx_class_t    ngx_http_cx_classes[NGX_HTTP_CX_CLASSES];
static ngx_uint_t             ngx_http_cx_class_tick;


static char  *ngx_http_cx_tpl_kinds[] = { "name", "url", "label" };


/* cx_step name uri|~regex [url] [label=text] */

char *
ngx_http_cx_step(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cx_loc_conf_t *clcf = conf;

    u_char               errstr[NGX_MAX_CONF_ERRSTR];
    ngx_str_t           *value, *url, label;
    ngx_uint_t           i, k;
    ngx_regex_compile_t  rc;
    ngx_http_cx_step_t  *step;

    value = cf->args->elts;

    if (clcf->steps == NULL) {
        clcf->steps = ngx_array_create(cf->pool, 8,
                                       sizeof(ngx_http_cx_step_t));
        if (clcf->steps == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    step = clcf->steps->elts;

    for (i = 0; i < clcf->steps->nelts; i++) {
        if (step[i].name.len == value[1].len
            && ngx_strncmp(step[i].name.data, value[1].data, value[1].len)
               == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate step name \"%V\" in \"cx_step\" "
                               "directive", &value[1]);
            return NGX_CONF_ERROR;
        }

        /* as written: a regex with its "~" or "~*" and the same source */

        if (ngx_http_cx_same(&step[i].uri, &value[2])) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate step uri \"%V\" in \"cx_step\" "
                               "directive", &value[2]);
            return NGX_CONF_ERROR;
        }
    }

    step = ngx_array_push(clcf->steps);
    if (step == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(step, sizeof(ngx_http_cx_step_t));

    step->name = value[1];
    step->uri = value[2];

    if (ngx_http_cx_metrics_declare(cf, step) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (value[2].len && value[2].data[0] == '~') {

        ngx_memzero(&rc, sizeof(ngx_regex_compile_t));

        rc.pattern.data = value[2].data + 1;
        rc.pattern.len = value[2].len - 1;

        if (rc.pattern.len && rc.pattern.data[0] == '*') {
            rc.pattern.data++;
            rc.pattern.len--;
            rc.options = NGX_REGEX_CASELESS;
        }

        if (rc.pattern.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid step uri \"%V\" in \"cx_step\" "
                               "directive, a regex must follow \"~\" or "
                               "\"~*\"", &value[2]);
            return NGX_CONF_ERROR;
        }

        rc.pool = cf->pool;
        rc.err.len = NGX_MAX_CONF_ERRSTR;
        rc.err.data = errstr;

        if (ngx_regex_compile(&rc) != NGX_OK) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%V", &rc.err);
            return NGX_CONF_ERROR;
        }

        step->regex = rc.regex;
        step->captures = rc.captures;

    } else if (ngx_http_cx_check_uri(cf, &value[2]) != NGX_OK) {
        return NGX_CONF_ERROR;

    } else {
        step->captures = -1;
    }

    if (ngx_http_cx_tpl_compile(cf, &value[1], &step->name_tpl,
                                step->captures, NGX_HTTP_CX_TPL_NAME)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    url = NULL;
    ngx_str_null(&label);

    for (i = 3; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "label=", 6) == 0) {

            if (label.data) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "duplicate parameter \"%V\" in "
                                   "\"cx_step\" directive", &value[i]);
                return NGX_CONF_ERROR;
            }

            label.data = value[i].data + 6;
            label.len = value[i].len - 6;

            if (ngx_http_cx_step_label(cf, step, &label) != NGX_OK) {
                return NGX_CONF_ERROR;
            }

            clcf->labelled = 1;
            continue;
        }

        if (i == 3) {
            url = &value[i];
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" in \"cx_step\" "
                           "directive, it must be the url or "
                           "\"label=text\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    if (url == NULL && step->regex == NULL) {
        url = &value[2];
    }

    if (url
        && (ngx_http_cx_tpl_compile(cf, url, &step->url_tpl, step->captures,
                                    NGX_HTTP_CX_TPL_URL)
            != NGX_OK
            || ngx_http_cx_check_url(cf, step, url) != NGX_OK))
    {
        return NGX_CONF_ERROR;
    }

    if (step->regex) {
        return NGX_CONF_OK;
    }

    /* an exact step, found by its name (ngx_http_cx_exact()) */

    if (clcf->exact == NULL) {
        clcf->exact = ngx_pcalloc(cf->pool,
                                  NGX_HTTP_CX_EXACT * sizeof(ngx_uint_t));
        if (clcf->exact == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    k = ngx_http_cx_exact_bucket(&step->name);

    step->next = clcf->exact[k];
    clcf->exact[k] = clcf->steps->nelts;

    return NGX_CONF_OK;
}


/*
 * label=text: shop text, any UTF-8 but control characters; $1..$9 are the
 * regex's captures, escaped as in the name, $$ is a "$".  A label without
 * captures is kept as it is shown.
 */

static ngx_int_t
ngx_http_cx_step_label(ngx_conf_t *cf, ngx_http_cx_step_t *step,
    ngx_str_t *text)
{
    char        *err;
    ngx_uint_t   i;

    if (text->len == 0) {
        err = "is empty";

    } else if (text->data[0] == '"' || text->data[0] == '\'') {
        /* label="Your cart": nginx quotes whole parameters only */
        err = "starts with a quote, write the parameter in quotes as a "
              "whole: \"label=...\"";

    } else {
        err = ngx_http_cx_text_check(text->data, text->len);
    }

    if (err) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "the \"cx_step\" label of \"%V\" %s",
                           &step->name, err);
        return NGX_ERROR;
    }

    if (ngx_http_cx_tpl_compile(cf, text, &step->label_tpl, step->captures,
                                NGX_HTTP_CX_TPL_LABEL)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (i = 0; i < step->label_tpl.nparts; i++) {
        if (step->label_tpl.parts[i].capture >= 0) {
            return NGX_OK;
        }
    }

    step->label.data = ngx_pnalloc(cf->pool, text->len);
    if (step->label.data == NULL) {
        return NGX_ERROR;
    }

    step->label.len = ngx_http_cx_expand(&step->label_tpl, NULL, NULL, 0,
                                         step->label.data, text->len);
    step->label_tpl.nparts = 0;

    return NGX_OK;
}


/*
 * An exact step's uri is compared with the request's path, as nginx
 * decoded it and without its query: a "?", "#" or "%" there never
 * matches.
 */

static ngx_int_t
ngx_http_cx_check_uri(ngx_conf_t *cf, ngx_str_t *uri)
{
    u_char      c;
    ngx_uint_t  i;

    if (uri->len == 0 || uri->data[0] != '/') {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid step uri \"%V\" in \"cx_step\" "
                           "directive, it must start with \"/\" or \"~\"",
                           uri);
        return NGX_ERROR;
    }

    for (i = 0; i < uri->len; i++) {
        c = uri->data[i];

        if (c == '?' || c == '#' || c == '%' || c < 0x20 || c == 0x7f) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid step uri \"%V\" in \"cx_step\" "
                               "directive, it is compared with the decoded "
                               "path of a request, without its query, and "
                               "may not contain \"?\", \"#\", \"%%\" or "
                               "control characters", uri);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * A url is a path, starting with one "/", with whole "%XX" escapes.  A
 * regex step's suggestion is read back by matching its url's path with
 * the regex (ngx_http_cx_declared()): so no fragment, and a url without
 * captures must be a path that the regex matches.
 */

static ngx_int_t
ngx_http_cx_check_url(ngx_conf_t *cf, ngx_http_cx_step_t *step,
    ngx_str_t *url)
{
    u_char                   path[NGX_HTTP_CX_URL_MAX], *q;
    ngx_int_t                n;
    ngx_str_t                s;
    ngx_uint_t               i;
    ngx_http_cx_tpl_part_t  *part;

    if (url->data[0] != '/' || (url->len > 1 && url->data[1] == '/')) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid step url \"%V\" in \"cx_step\" "
                           "directive, it must start with one \"/\"", url);
        return NGX_ERROR;
    }

    part = step->url_tpl.parts;

    for (i = 0; i < step->url_tpl.nparts; i++) {
        s = part[i].text;
        q = s.data;

        while (s.len && (q = ngx_strlchr(q, s.data + s.len, '%')) != NULL) {
            if (s.data + s.len - q < 3 || ngx_hextoi(q + 1, 2) == NGX_ERROR) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid step url \"%V\" in \"cx_step\" "
                                   "directive, \"%%\" must start an escape "
                                   "of two hex digits", url);
                return NGX_ERROR;
            }

            q += 3;
        }
    }

    if (step->regex == NULL) {
        return NGX_OK;
    }

    if (ngx_strlchr(url->data, url->data + url->len, '#')) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid step url \"%V\" in \"cx_step\" "
                           "directive, a regex step's url may not have a "
                           "fragment (\"#\")", url);
        return NGX_ERROR;
    }

    if (step->url_tpl.nparts != 1 || part[0].capture >= 0) {
        return NGX_OK;
    }

    q = ngx_strlchr(url->data, url->data + url->len, '?');

    n = ngx_http_cx_path(url->data, (q ? q : url->data + url->len) - url->data,
                         path, sizeof(path));

    if (n != NGX_ERROR) {
        s.data = path;
        s.len = n;

        n = ngx_regex_exec(step->regex, &s, NULL, 0);
    }

    if (n < 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid step url \"%V\" in \"cx_step\" "
                           "directive, its regex \"%V\" must match its path, "
                           "or it is never suggested", url, &step->uri);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Splits "item:$1" into literal and capture parts; literals of a name or
 * url must be safe as they are (a label's were checked before), captures
 * are escaped when expanded.
 */

static ngx_int_t
ngx_http_cx_tpl_compile(ngx_conf_t *cf, ngx_str_t *src,
    ngx_http_cx_tpl_t *tpl, ngx_int_t captures, ngx_uint_t kind)
{
    u_char                  *p, *last, *start;
    size_t                   max;
    ngx_int_t                n;
    ngx_array_t              parts;
    ngx_http_cx_tpl_part_t  *part;

    max = (kind == NGX_HTTP_CX_TPL_NAME) ? NGX_HTTP_CX_NAME_MAX
          : (kind == NGX_HTTP_CX_TPL_URL) ? NGX_HTTP_CX_URL_MAX
          : NGX_HTTP_CX_LABEL_MAX;

    if (src->len == 0 || src->len > max) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid step %s \"%V\" in \"cx_step\" "
                           "directive, it must be 1 to %uz characters long",
                           ngx_http_cx_tpl_kinds[kind], src, max);
        return NGX_ERROR;
    }

    if (ngx_array_init(&parts, cf->pool, 4, sizeof(ngx_http_cx_tpl_part_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    p = src->data;
    last = p + src->len;

    while (p < last) {

        part = ngx_array_push(&parts);
        if (part == NULL) {
            return NGX_ERROR;
        }

        if (*p == '$') {
            if (kind == NGX_HTTP_CX_TPL_LABEL
                && (p + 1 == last || p[1] < '1' || p[1] > '9'))
            {
                /* in a label, "$$" is a "$", and any other "$" is text */
                part->capture = -1;
                part->text.data = p;
                part->text.len = 1;
                p += (p + 1 < last && p[1] == '$') ? 2 : 1;
                continue;
            }

            if (p + 1 == last || p[1] < '1' || p[1] > '9') {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid step %s \"%V\" in \"cx_step\" "
                                   "directive, \"$\" must start a capture "
                                   "$1..$9", ngx_http_cx_tpl_kinds[kind], src);
                return NGX_ERROR;
            }

            n = p[1] - '0';

            if (n > captures) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid step %s \"%V\" in \"cx_step\" "
                                   "directive, it uses $%i, but its uri has "
                                   "%i captures", ngx_http_cx_tpl_kinds[kind],
                                   src, n, captures < 0 ? 0 : captures);
                return NGX_ERROR;
            }

            part->capture = n;
            ngx_str_null(&part->text);
            p += 2;
            continue;
        }

        start = p;

        while (p < last && *p != '$') {
            if (kind != NGX_HTTP_CX_TPL_LABEL
                && !(kind == NGX_HTTP_CX_TPL_URL ? ngx_http_cx_url_char(*p)
                                                 : ngx_http_cx_safe_char(*p)))
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid step %s \"%V\" in \"cx_step\" "
                                   "directive, it may only contain letters, "
                                   "digits, \"%s\" and captures $1..$9",
                                   ngx_http_cx_tpl_kinds[kind], src,
                                   kind == NGX_HTTP_CX_TPL_URL
                                   ? "-._~/:@!;=+*%?&#" : "-._~/:@!;=+*");
                return NGX_ERROR;
            }

            p++;
        }

        part->capture = -1;
        part->text.data = start;
        part->text.len = p - start;
    }

    tpl->parts = parts.elts;
    tpl->nparts = parts.nelts;

    return NGX_OK;
}


/* cx_goal, cx_help, cx_shortcut: a step name, checked when merged */

char *
ngx_http_cx_named(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_str_t            *value;
    ngx_array_t         **a;
    ngx_http_cx_named_t  *named;

    value = cf->args->elts;

    if (cmd->offset == offsetof(ngx_http_cx_loc_conf_t, shortcut_steps)) {
        a = (ngx_array_t **) (p + cmd->offset);

        if (*a == NULL) {
            *a = ngx_array_create(cf->pool, 2, sizeof(ngx_http_cx_named_t));
            if (*a == NULL) {
                return NGX_CONF_ERROR;
            }
        }

        named = ngx_array_push(*a);
        if (named == NULL) {
            return NGX_CONF_ERROR;
        }

    } else {
        named = (ngx_http_cx_named_t *) (p + cmd->offset);

        if (named->name.data) {
            return "is duplicate";
        }
    }

    named->name = value[1];
    named->file = cf->conf_file->file.name.data;
    named->line = cf->conf_file->line;

    return NGX_CONF_OK;
}


/*
 * The step a directive names must be declared here; with "fixed", it must
 * also have a url of its own (no captures), which is returned.
 */

ngx_int_t
ngx_http_cx_check_named(ngx_conf_t *cf, ngx_http_cx_loc_conf_t *clcf,
    const char *directive, ngx_http_cx_named_t *named,
    ngx_http_cx_ref_t *fixed)
{
    ngx_uint_t           i, j;
    ngx_http_cx_step_t  *step;

    step = clcf->steps ? clcf->steps->elts : NULL;

    for (i = 0; step && i < clcf->steps->nelts; i++) {
        if (step[i].name.len == named->name.len
            && ngx_strncmp(step[i].name.data, named->name.data,
                           named->name.len) == 0)
        {
            break;
        }
    }

    if (step == NULL || i == clcf->steps->nelts) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"%s\" names \"%V\", which is not a declared "
                      "\"cx_step\" in %s:%ui", directive, &named->name,
                      named->file, named->line);
        return NGX_ERROR;
    }

    if (fixed == NULL) {
        return NGX_OK;
    }

    for (j = 0; j < step[i].name_tpl.nparts; j++) {
        if (step[i].name_tpl.parts[j].capture >= 0) {
            break;
        }
    }

    if (j < step[i].name_tpl.nparts
        || step[i].url_tpl.nparts != 1
        || step[i].url_tpl.parts[0].capture >= 0)
    {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"%s\" names \"%V\", a step without a fixed name "
                      "and url in %s:%ui", directive, &named->name,
                      named->file, named->line);
        return NGX_ERROR;
    }

    fixed->name = step[i].name;
    fixed->url = step[i].url_tpl.parts[0].text;

    return NGX_OK;
}


/*
 * Finds the step of a uri and writes "name url" into member, and, if
 * declared is not NULL, the cx_step it matched there.  Regexes run with
 * captures of our own, so the location's $1.. stay untouched.  What a
 * uri of at most NGX_HTTP_CX_URL_MAX was found to be is kept per worker
 * (ngx_http_cx_class_t): found again, it is copied, no regex run.
 */

ngx_int_t
ngx_http_cx_classify(ngx_http_request_t *r, ngx_http_cx_loc_conf_t *clcf,
    ngx_str_t *uri, u_char *member, size_t *name_len, size_t *member_len,
    ngx_http_cx_step_t **declared)
{
    uint64_t              hash;
    ngx_int_t             rc;
    ngx_uint_t            failed, k;
    ngx_http_cx_class_t  *c;
    ngx_http_cx_step_t   *step;

    if (uri->len > NGX_HTTP_CX_URL_MAX) {
        return ngx_http_cx_class_of(r, clcf, uri, member, name_len,
                                    member_len, declared, &failed);
    }

    hash = XXH3_64bits_withSeed(uri->data, uri->len,
                                (uint64_t) (uintptr_t) clcf->steps);

    c = &ngx_http_cx_classes[hash % (NGX_HTTP_CX_CLASSES / 2) * 2];

    for (k = 0; k < 2; k++) {

        if (c[k].steps != clcf->steps
            || c[k].uri_len != uri->len
            || ngx_memcmp(c[k].uri, uri->data, uri->len) != 0)
        {
            continue;
        }

        c[k].used = ++ngx_http_cx_class_tick;

        if (c[k].step == NULL) {
            return NGX_DECLINED;
        }

        ngx_memcpy(member, c[k].member, c[k].member_len);
        *name_len = c[k].name_len;
        *member_len = c[k].member_len;

        if (declared) {
            *declared = c[k].step;
        }

        return NGX_OK;
    }

    /* the set's one used longer ago gives way */

    c = (c[0].used <= c[1].used) ? &c[0] : &c[1];

    step = NULL;
    failed = 0;

    rc = ngx_http_cx_class_of(r, clcf, uri, member, name_len, member_len,
                              &step, &failed);

    if (failed) {
        return rc;
    }

    c->steps = clcf->steps;
    c->used = ++ngx_http_cx_class_tick;
    c->uri_len = uri->len;
    ngx_memcpy(c->uri, uri->data, uri->len);

    if (rc != NGX_OK) {
        c->step = NULL;
        return rc;
    }

    c->step = step;
    c->name_len = *name_len;
    c->member_len = *member_len;
    ngx_memcpy(c->member, member, *member_len);

    if (declared) {
        *declared = step;
    }

    return NGX_OK;
}


/* ngx_http_cx_classify() of a uri not kept; "failed": a regex failed */

static ngx_int_t
ngx_http_cx_class_of(ngx_http_request_t *r, ngx_http_cx_loc_conf_t *clcf,
    ngx_str_t *uri, u_char *member, size_t *name_len, size_t *member_len,
    ngx_http_cx_step_t **declared, ngx_uint_t *failed)
{
    int                      captures[NGX_HTTP_CX_CAPTURES];
    u_char                  *p;
    size_t                   len;
    ngx_int_t                n;
    ngx_uint_t               i;
    ngx_http_cx_tpl_t        whole, *url;
    ngx_http_cx_step_t      *step;
    ngx_http_cx_tpl_part_t   part;

    step = clcf->steps->elts;
    n = 0;

    for (i = 0; i < clcf->steps->nelts; i++) {

        if (step[i].regex == NULL) {
            if (uri->len == step[i].uri.len
                && ngx_strncmp(uri->data, step[i].uri.data, uri->len)
                   == 0)
            {
                break;
            }

            continue;
        }

        n = ngx_http_cx_match(&step[i], uri, captures);

        if (n == NGX_REGEX_NO_MATCHED) {
            continue;
        }

        if (n < 0) {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          ngx_regex_exec_n " failed: %i on \"%V\" using "
                          "\"%V\"", n, uri, &step[i].uri);
            *failed = 1;
            continue;
        }

        break;
    }

    if (i == clcf->steps->nelts) {
        return NGX_DECLINED;
    }

    *name_len = ngx_http_cx_expand(&step[i].name_tpl, uri->data, captures,
                                   n, member, NGX_HTTP_CX_NAME_MAX);
    if (*name_len == 0) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "cx: step name for \"%V\" empty or too long",
                       uri);
        return NGX_DECLINED;
    }

    p = member + *name_len;
    *p++ = ' ';

    url = &step[i].url_tpl;

    if (url->nparts == 0) {
        /* the request's own uri, escaped */
        part.capture = 0;
        whole.parts = &part;
        whole.nparts = 1;
        url = &whole;
        n = 0;
        captures[0] = 0;
        captures[1] = uri->len;
    }

    len = ngx_http_cx_expand(url, uri->data, captures, n, p,
                             NGX_HTTP_CX_URL_MAX);
    if (len == 0) {
        return NGX_DECLINED;
    }

    *member_len = *name_len + 1 + len;

    if (declared) {
        *declared = &step[i];
    }

    return NGX_OK;
}


/*
 * Whether a suggestion read back from Redis is a step of this location,
 * with the url the configuration gives it, so that what Redis holds can
 * never point elsewhere: an exact step's url is the configured one; a
 * regex step's url must decode to a path as nginx would have left it,
 * which its regex matches, and that match must expand to the same name
 * and url again.  What the
 * configuration no longer declares is never suggested.
 */

ngx_int_t
ngx_http_cx_declared(ngx_http_cx_loc_conf_t *clcf, ngx_http_cx_ref_t *ref)
{
    int                     captures[NGX_HTTP_CX_CAPTURES];
    u_char                  path[NGX_HTTP_CX_URL_MAX];
    uint64_t                hash;
    ngx_int_t               n;
    ngx_http_cx_step_t     *step;
    ngx_http_cx_verdict_t  *v;

    if (clcf->steps == NULL) {
        return NGX_DECLINED;
    }

    step = ngx_http_cx_exact(clcf, ref);

    if (step) {
        ref->url = step->url_tpl.parts[0].text;
        return NGX_OK;
    }

    if (ref->name.len > NGX_HTTP_CX_NAME_MAX
        || ref->url.len > NGX_HTTP_CX_URL_MAX)
    {
        return NGX_DECLINED;
    }

    /*
     * XXH3, where crc32 took a table lookup a byte, of the url with the
     * name's length: a regex step's name is made of its url's captures
     */

    hash = XXH3_64bits_withSeed(ref->url.data, ref->url.len, ref->name.len);

    v = &ngx_http_cx_verdicts[hash % NGX_HTTP_CX_VERDICTS];

    if (v->steps == clcf->steps
        && v->name_len == ref->name.len
        && v->url_len == ref->url.len
        && ngx_memcmp(v->member, ref->name.data, ref->name.len) == 0
        && ngx_memcmp(v->member + ref->name.len, ref->url.data, ref->url.len)
           == 0)
    {
        return v->found ? NGX_OK : NGX_DECLINED;
    }

    v->steps = clcf->steps;
    v->found = (ngx_http_cx_lookup(clcf, ref, path, captures, &n) != NULL);
    v->name_len = ref->name.len;
    v->url_len = ref->url.len;
    ngx_memcpy(ngx_cpymem(v->member, ref->name.data, ref->name.len),
               ref->url.data, ref->url.len);

    return v->found ? NGX_OK : NGX_DECLINED;
}


/* a configuration read anew: its steps may be where the old ones were */

void
ngx_http_cx_declared_reset(void)
{
    ngx_memzero(ngx_http_cx_verdicts, sizeof(ngx_http_cx_verdicts));
    ngx_memzero(ngx_http_cx_classes, sizeof(ngx_http_cx_classes));
}


/*
 * What a declared suggestion is shown as, written into text (of
 * NGX_HTTP_CX_LABEL_MAX): its step's label, with the captures of its url
 * escaped as in the name, or else (without a label, or too long once
 * expanded) its name.  Returns the length.
 */

size_t
ngx_http_cx_label(ngx_http_cx_loc_conf_t *clcf, ngx_http_cx_ref_t *ref,
    u_char *text)
{
    int                  captures[NGX_HTTP_CX_CAPTURES];
    u_char               path[NGX_HTTP_CX_URL_MAX];
    size_t               len;
    ngx_int_t            n;
    ngx_http_cx_step_t  *step;

    /* without labels, no step to look for (nor a regex to run again) */

    n = 0;
    step = clcf->labelled ? ngx_http_cx_lookup(clcf, ref, path, captures, &n)
                          : NULL;

    if (step && step->label.len) {
        ngx_memcpy(text, step->label.data, step->label.len);
        return step->label.len;
    }

    if (step && step->label_tpl.nparts) {
        len = ngx_http_cx_expand(&step->label_tpl, path, captures, n, text,
                                 NGX_HTTP_CX_LABEL_MAX);
        if (len) {
            return len;
        }
    }

    len = ngx_min(ref->name.len, NGX_HTTP_CX_LABEL_MAX);
    ngx_memcpy(text, ref->name.data, len);

    return len;
}


/*
 * The exact step (not a regex step) of a suggestion's name, or NULL: from
 * the bucket of its name, as ngx_http_cx_step() put them there.
 */

static ngx_http_cx_step_t *
ngx_http_cx_exact(ngx_http_cx_loc_conf_t *clcf, ngx_http_cx_ref_t *ref)
{
    ngx_uint_t           i;
    ngx_http_cx_step_t  *step;

    if (clcf->exact == NULL || ref->name.len == 0) {
        return NULL;
    }

    step = clcf->steps->elts;

    for (i = clcf->exact[ngx_http_cx_exact_bucket(&ref->name)];
         i;
         i = step[i - 1].next)
    {
        if (ngx_http_cx_same(&step[i - 1].name, &ref->name)) {
            return &step[i - 1];
        }
    }

    return NULL;
}


/*
 * The step of a suggestion (see above), or NULL; for a regex step, its
 * match on the decoded path: path, captures and their number in n.
 */

static ngx_http_cx_step_t *
ngx_http_cx_lookup(ngx_http_cx_loc_conf_t *clcf, ngx_http_cx_ref_t *ref,
    u_char *path, int *captures, ngx_int_t *n)
{
    int                      all[2];
    u_char                   name[NGX_HTTP_CX_NAME_MAX];
    u_char                   url[NGX_HTTP_CX_URL_MAX], *q;
    ngx_int_t                rc;
    ngx_str_t                decoded, expanded;
    ngx_uint_t               i;
    ngx_http_cx_tpl_t        whole;
    ngx_http_cx_step_t      *step;
    ngx_http_cx_tpl_part_t   part;

    *n = 0;

    if (clcf->steps == NULL) {
        return NULL;
    }

    step = ngx_http_cx_exact(clcf, ref);

    if (step) {
        return step;
    }

    step = clcf->steps->elts;

    /* "/path", never "//host/path" */

    if (ref->url.len == 0 || ref->url.data[0] != '/'
        || (ref->url.len > 1 && ref->url.data[1] == '/'))
    {
        return NULL;
    }

    q = ngx_strlchr(ref->url.data, ref->url.data + ref->url.len, '?');

    rc = ngx_http_cx_path(ref->url.data,
                          (q ? q : ref->url.data + ref->url.len)
                          - ref->url.data,
                          path, NGX_HTTP_CX_URL_MAX);
    if (rc == NGX_ERROR) {
        return NULL;
    }

    decoded.data = path;
    decoded.len = rc;

    part.capture = 0;
    ngx_str_null(&part.text);
    whole.parts = &part;
    whole.nparts = 1;

    for (i = 0; i < clcf->steps->nelts; i++) {

        if (step[i].regex == NULL) {
            continue;
        }

        *n = ngx_http_cx_match(&step[i], &decoded, captures);
        if (*n < 0) {
            continue;
        }

        expanded.data = name;
        expanded.len = ngx_http_cx_expand(&step[i].name_tpl, path, captures,
                                          *n, name, sizeof(name));

        if (!ngx_http_cx_same(&expanded, &ref->name)) {
            continue;
        }

        expanded.data = url;

        if (step[i].url_tpl.nparts) {
            expanded.len = ngx_http_cx_expand(&step[i].url_tpl, path,
                                              captures, *n, url, sizeof(url));

        } else {
            /* the request's own uri, as ngx_http_cx_classify() wrote it */
            all[0] = 0;
            all[1] = decoded.len;
            expanded.len = ngx_http_cx_expand(&whole, path, all, 0, url,
                                              sizeof(url));
        }

        if (ngx_http_cx_same(&expanded, &ref->url)) {
            return &step[i];
        }
    }

    return NULL;
}


/*
 * Runs a regex step on s with captures of our own: the number of captures
 * to expand with, or ngx_regex_exec()'s error (NGX_REGEX_NO_MATCHED).
 */

static ngx_int_t
ngx_http_cx_match(ngx_http_cx_step_t *step, ngx_str_t *s, int *captures)
{
    ngx_int_t  rc;

    rc = ngx_regex_exec(step->regex, s, captures, NGX_HTTP_CX_CAPTURES);

    if (rc < 0) {
        return rc;
    }

    /* 0: more captures than the vector holds, all of them set */

    return (rc == 0) ? NGX_HTTP_CX_CAPTURES / 3 - 1 : rc - 1;
}
