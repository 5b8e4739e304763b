
/*
 * Copyright (C) ngx_cx authors
 *
 * The key schema and the pure logic around it: hashing customer ids,
 * building keys, expanding step templates, reading candidates back.
 * Nothing here calls into the nginx runtime, so t/unit tests it alone.
 *
 * Keys (P is cx_prefix, H the 16 hex digits of the keyed hash of the id):
 *
 *   P{H}:seq      list of "name url", newest first, cx_history long
 *   Pt:<name>     zset "name url" -> times seen right after <name>
 *
 * All keys of one customer share the hash tag {H}, so under Redis Cluster
 * they live in one slot.  Every write refreshes the key's TTL (cx_ttl).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include <ngx_http_cx_module.h>


static u_char  ngx_http_cx_hex[] = "0123456789abcdef";


void
ngx_http_cx_derive_secret(u_char *out, ngx_str_t *secret)
{
    if (secret->len == 0) {
        XXH3_generateSecret(out, NGX_HTTP_CX_SECRET_SIZE, "ngx_cx", 6);
        return;
    }

    XXH3_generateSecret(out, NGX_HTTP_CX_SECRET_SIZE, secret->data,
                        secret->len);
}


uint64_t
ngx_http_cx_hash_id(u_char *secret, u_char *id, size_t len)
{
    return XXH3_64bits_withSecret(id, len, secret, NGX_HTTP_CX_SECRET_SIZE);
}


u_char *
ngx_http_cx_hex_id(u_char *p, u_char *bytes, size_t n)
{
    while (n--) {
        *p++ = ngx_http_cx_hex[*bytes >> 4];
        *p++ = ngx_http_cx_hex[*bytes++ & 0xf];
    }

    return p;
}


u_char *
ngx_http_cx_customer_key(u_char *p, ngx_str_t *prefix, uint64_t hash,
    const char *suffix)
{
    ngx_int_t  i;

    p = ngx_cpymem(p, prefix->data, prefix->len);
    *p++ = '{';

    for (i = 60; i >= 0; i -= 4) {
        *p++ = ngx_http_cx_hex[(hash >> i) & 0xf];
    }

    *p++ = '}';
    *p++ = ':';

    return ngx_cpymem(p, suffix, ngx_strlen(suffix));
}


u_char *
ngx_http_cx_step_key(u_char *p, ngx_str_t *prefix, u_char *name, size_t len)
{
    p = ngx_cpymem(p, prefix->data, prefix->len);
    *p++ = 't';
    *p++ = ':';

    return ngx_cpymem(p, name, len);
}


/*
 * Characters that may stand in a step name or url as they are.  Everything
 * else taken from a request is percent-encoded, so a name or url never
 * carries spaces, quotes, angle brackets, braces or control characters into
 * Redis, headers, HTML or JSON.
 */

ngx_uint_t
ngx_http_cx_safe_char(u_char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9'))
    {
        return 1;
    }

    switch (c) {
    case '-': case '.': case '_': case '~': case '/': case ':': case '@':
    case '!': case ',': case ';': case '=': case '+': case '*':
        return 1;
    }

    return 0;
}


/* a url from the configuration may also carry a query */

ngx_uint_t
ngx_http_cx_url_char(u_char c)
{
    return ngx_http_cx_safe_char(c) || c == '%' || c == '?' || c == '&'
           || c == '#';
}


/*
 * Expands a template with the captures of a match against subject.
 * Returns the length written, or 0 if it would not fit in size bytes.
 */

size_t
ngx_http_cx_expand(ngx_http_cx_tpl_t *tpl, u_char *subject, int *captures,
    ngx_int_t ncaptures, u_char *out, size_t size)
{
    u_char                  *p, *last, *s, *end;
    ngx_uint_t               i;
    ngx_http_cx_tpl_part_t  *part;

    p = out;
    last = out + size;

    for (i = 0; i < tpl->nparts; i++) {
        part = &tpl->parts[i];

        if (part->capture < 0) {
            if ((size_t) (last - p) < part->text.len) {
                return 0;
            }

            p = ngx_cpymem(p, part->text.data, part->text.len);
            continue;
        }

        if (part->capture > ncaptures || captures[2 * part->capture] < 0) {
            continue;
        }

        s = subject + captures[2 * part->capture];
        end = subject + captures[2 * part->capture + 1];

        for ( /* void */ ; s < end; s++) {

            if (ngx_http_cx_safe_char(*s)) {
                if (p == last) {
                    return 0;
                }

                *p++ = *s;
                continue;
            }

            if (last - p < 3) {
                return 0;
            }

            *p++ = '%';
            *p++ = ngx_http_cx_hex[*s >> 4];
            *p++ = ngx_http_cx_hex[*s & 0xf];
        }
    }

    return p - out;
}


/* "name url" as stored in Redis; anything else is not ours */

ngx_int_t
ngx_http_cx_member_parse(u_char *data, size_t len, ngx_http_cx_ref_t *ref)
{
    u_char  *sp, *p, *end;

    if (len == 0 || len > NGX_HTTP_CX_MEMBER_MAX) {
        return NGX_DECLINED;
    }

    end = data + len;
    sp = NULL;

    for (p = data; p < end; p++) {
        if (*p == ' ' && sp == NULL) {
            sp = p;
            continue;
        }

        if (!ngx_http_cx_url_char(*p)) {
            return NGX_DECLINED;
        }
    }

    if (sp == NULL || sp == data || sp + 1 == end) {
        return NGX_DECLINED;
    }

    ref->name.data = data;
    ref->name.len = sp - data;
    ref->url.data = sp + 1;
    ref->url.len = end - sp - 1;

    return NGX_OK;
}


/*
 * Picks up to "want" suggestions from candidates, best first, skipping
 * the current step, duplicates and anything that does not parse.
 */

ngx_uint_t
ngx_http_cx_pick(ngx_str_t *current, ngx_str_t *members, ngx_uint_t n,
    ngx_uint_t want, ngx_http_cx_ref_t *out)
{
    ngx_uint_t         i, j, k;
    ngx_http_cx_ref_t  ref;

    k = 0;

    for (i = 0; i < n && k < want; i++) {

        if (ngx_http_cx_member_parse(members[i].data, members[i].len, &ref)
            != NGX_OK)
        {
            continue;
        }

        if (ref.name.len == current->len
            && ngx_strncmp(ref.name.data, current->data, current->len) == 0)
        {
            continue;
        }

        for (j = 0; j < k; j++) {
            if (out[j].url.len == ref.url.len
                && ngx_strncmp(out[j].url.data, ref.url.data, ref.url.len)
                   == 0)
            {
                break;
            }
        }

        if (j < k) {
            continue;
        }

        out[k++] = ref;
    }

    return k;
}
