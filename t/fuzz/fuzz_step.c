
/*
 * Copyright (C) ngx_cx authors
 *
 * Fuzz target: a request uri -> the step it is (ngx_http_cx_classify(),
 * regex captures expanded into name and url templates); bytes read back
 * from Redis as "name url" -> ngx_http_cx_declared(); and the same bytes
 * as a Referer -> ngx_http_cx_referer_path(), then its step.
 *
 * Holds: a step found is "name url" within NGX_HTTP_CX_MEMBER_MAX, one
 * space, nothing but url characters, and reads back as a member.
 */


#include "ngx_http_cx_fuzz.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char              *member, *p, path[NGX_HTTP_CX_URL_MAX];
    size_t               name_len, member_len, i;
    ngx_str_t            uri, host;
    ngx_int_t            rc;
    ngx_http_cx_ref_t    ref;
    ngx_http_request_t  *r;

    static ngx_uint_t  initialized;

    if (!initialized) {
        ngx_http_cx_fuzz_init();
        ngx_http_cx_fuzz_steps();
        ngx_http_cx_fuzz_loc_conf[0] = &ngx_http_cx_fuzz_clcf;
        initialized = 1;
    }

    r = ngx_http_cx_fuzz_request(ngx_http_cx_fuzz_loc_conf);

    ngx_str_set(&host, "shop.example");

    uri.data = ngx_http_cx_fuzz_copy(data, size);
    uri.len = size;

    member = malloc(NGX_HTTP_CX_MEMBER_MAX);
    ngx_http_cx_fuzz_check(member != NULL);

    name_len = 0;
    member_len = 0;

    rc = ngx_http_cx_classify(r, &ngx_http_cx_fuzz_clcf, &uri, member,
                              &name_len, &member_len, NULL);

    if (rc == NGX_OK) {
        ngx_http_cx_fuzz_check(name_len > 0
                               && name_len <= NGX_HTTP_CX_NAME_MAX);
        ngx_http_cx_fuzz_check(member_len > name_len + 1
                               && member_len <= NGX_HTTP_CX_MEMBER_MAX);
        ngx_http_cx_fuzz_check(member[name_len] == ' ');

        for (i = 0; i < member_len; i++) {
            if (i != name_len) {
                ngx_http_cx_fuzz_check(ngx_http_cx_url_char(member[i]));
            }
        }

        ngx_http_cx_fuzz_check(ngx_http_cx_member_parse(member, member_len,
                                                        &ref)
                               == NGX_OK);
        ngx_http_cx_fuzz_check(ref.name.len == name_len);

        (void) ngx_http_cx_declared(&ngx_http_cx_fuzz_clcf, &ref);

    } else {
        ngx_http_cx_fuzz_check(rc == NGX_DECLINED);
    }

    /* the same bytes as a member read back from Redis, "name url" */

    p = ngx_strlchr(uri.data, uri.data + uri.len, ' ');

    if (p) {
        ref.name.data = uri.data;
        ref.name.len = p - uri.data;
        ref.url.data = p + 1;
        ref.url.len = uri.data + uri.len - p - 1;

        (void) ngx_http_cx_declared(&ngx_http_cx_fuzz_clcf, &ref);
    }

    if (ngx_http_cx_member_parse(uri.data, uri.len, &ref) == NGX_OK) {
        (void) ngx_http_cx_declared(&ngx_http_cx_fuzz_clcf, &ref);
    }

    /* and as a Referer: a path of this host, decoded, then its step */

    if (ngx_http_cx_referer_path(&uri, &host, path, sizeof(path), &ref.url)
        == NGX_OK)
    {
        ngx_http_cx_fuzz_check(ref.url.len > 0
                               && ref.url.len <= sizeof(path)
                               && ref.url.data[0] == '/');

        for (i = 0; i < ref.url.len; i++) {
            ngx_http_cx_fuzz_check(ref.url.data[i] >= 0x20
                                   && ref.url.data[i] != 0x7f);

            ngx_http_cx_fuzz_check(i + 1 == ref.url.len
                                   || ref.url.data[i] != '/'
                                   || (ref.url.data[i + 1] != '/'
                                       && ref.url.data[i + 1] != '.'));
        }

        (void) ngx_http_cx_classify(r, &ngx_http_cx_fuzz_clcf, &ref.url,
                                    member, &name_len, &member_len, NULL);
    }

    free(member);
    free(uri.data);
    ngx_destroy_pool(r->pool);

    return 0;
}
