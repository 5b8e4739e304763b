
/*
 * Copyright (C) ngx_cx authors
 */


#ifndef _NGX_HTTP_CX_MODULE_H_INCLUDED_
#define _NGX_HTTP_CX_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


#define NGX_HTTP_CX_NAME_MAX      128     /* an expanded step name */
#define NGX_HTTP_CX_URL_MAX       256     /* an expanded step url */
#define NGX_HTTP_CX_MEMBER_MAX    (NGX_HTTP_CX_NAME_MAX + 1                  \
                                   + NGX_HTTP_CX_URL_MAX)
#define NGX_HTTP_CX_ID_MAX        256     /* longest customer id accepted */
#define NGX_HTTP_CX_PREFIX_MAX    64
#define NGX_HTTP_CX_KEY_MAX       (NGX_HTTP_CX_PREFIX_MAX + 2                \
                                   + NGX_HTTP_CX_NAME_MAX + 16)
#define NGX_HTTP_CX_SUGGEST_MAX   20
#define NGX_HTTP_CX_FANOUT        100     /* successors kept per step */
#define NGX_HTTP_CX_SECRET_SIZE   192     /* derived XXH3 secret */
#define NGX_HTTP_CX_COOKIE_ID_LEN 32      /* 128 random bits, hex */


enum {
    NGX_HTTP_CX_BYPASS = 0,
    NGX_HTTP_CX_HIT,
    NGX_HTTP_CX_MISS,
    NGX_HTTP_CX_TIMEOUT,
    NGX_HTTP_CX_ERROR,
    NGX_HTTP_CX_PENDING
};


/* a name or url template: literal text and $1..$9 captures */
typedef struct {
    ngx_str_t                   text;
    ngx_int_t                   capture;    /* -1: literal text */
} ngx_http_cx_tpl_part_t;


typedef struct {
    ngx_http_cx_tpl_part_t     *parts;
    ngx_uint_t                  nparts;
} ngx_http_cx_tpl_t;


typedef struct {
    ngx_str_t                   name;       /* as written in cx_step */
    ngx_str_t                   uri;        /* exact uri, or regex source */
    ngx_regex_t                *regex;
    ngx_int_t                   captures;
    ngx_http_cx_tpl_t           name_tpl;
    ngx_http_cx_tpl_t           url_tpl;    /* nparts 0: the request uri */
} ngx_http_cx_step_t;


/* a step of one journey: expanded name and url */
typedef struct {
    ngx_str_t                   name;
    ngx_str_t                   url;
} ngx_http_cx_ref_t;


typedef struct {
    ngx_str_t                   redis_name;     /* cx_redis, as written */
    ngx_str_t                   redis_host;     /* numeric, or a path */
    ngx_int_t                   redis_port;     /* 0: unix socket */
    ngx_str_t                   redis_password;
    ngx_int_t                   redis_db;
    ngx_msec_t                  timeout;        /* cx_timeout */
    ngx_msec_t                  connect_timeout; /* cx_connect_timeout */
    ngx_str_t                   secret;         /* cx_secret */
    u_char                     *hash_secret;
    ngx_str_t                   prefix;         /* cx_prefix */
    ngx_uint_t                  history;        /* cx_history */
    time_t                      ttl;            /* cx_ttl */
    ngx_uint_t                  max_pending;    /* cx_max_pending */

    ngx_str_t                   ttl_text;       /* for EXPIRE */
    ngx_str_t                   trim_text;      /* history - 1, LTRIM */

    u_char                     *on_file;        /* first "cx on" */
    ngx_uint_t                  on_line;
} ngx_http_cx_main_conf_t;


typedef struct {
    ngx_flag_t                  enable;         /* cx */
    ngx_http_complex_value_t   *id;             /* cx_id */
    ngx_http_complex_value_t   *id_cookie;      /* default: $cookie_NAME */
    ngx_str_t                   cookie;         /* cx_cookie */
    time_t                      cookie_max_age;
    ngx_uint_t                  cookie_secure;
    ngx_str_t                   cookie_samesite;
    ngx_str_t                   cookie_attrs;   /* "; Path=/; ..." */
    ngx_array_t                *steps;          /* cx_step */
    ngx_str_t                   goal;           /* cx_goal */
    u_char                     *goal_file;
    ngx_uint_t                  goal_line;
    ngx_uint_t                  suggest;        /* cx_suggest */
    ngx_flag_t                  header;         /* cx_header */
} ngx_http_cx_loc_conf_t;


typedef struct ngx_http_cx_ctx_s  ngx_http_cx_ctx_t;

struct redisAsyncContext;

typedef void (*ngx_http_cx_redis_cb_pt)(struct redisAsyncContext *ac,
    void *reply, void *privdata);


/* one command batch in flight; outlives the request that sent it */
typedef struct ngx_http_cx_slot_s  ngx_http_cx_slot_t;

struct ngx_http_cx_slot_s {
    ngx_http_cx_slot_t         *next;           /* free list */
    ngx_http_cx_ctx_t          *ctx;            /* NULL: request gone */
    size_t                      name_len;
    size_t                      member_len;
    u_char                      member[NGX_HTTP_CX_MEMBER_MAX];
};


struct ngx_http_cx_ctx_s {
    ngx_http_request_t         *request;
    ngx_uint_t                  status;
    ngx_http_cx_ref_t           step;
    ngx_str_t                   next;           /* urls, space separated */
    ngx_str_t                   cookie;         /* Set-Cookie to send */
    ngx_event_t                 wake;
    ngx_http_cx_slot_t         *slot;
    unsigned                    waiting:1;
};


/* ngx_http_cx_module.c */
extern ngx_module_t  ngx_http_cx_module;

/* ngx_http_cx_handler.c */
ngx_int_t ngx_http_cx_handler(ngx_http_request_t *r);
ngx_http_cx_ctx_t *ngx_http_cx_get_ctx(ngx_http_request_t *r);

/* ngx_http_cx_step.c */
char *ngx_http_cx_step(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_cx_goal(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
ngx_int_t ngx_http_cx_classify(ngx_http_request_t *r,
    ngx_http_cx_loc_conf_t *clcf, u_char *member, size_t *name_len,
    size_t *member_len);

/* ngx_http_cx_redis.c */
ngx_int_t ngx_http_cx_redis_init_process(ngx_cycle_t *cycle);
void ngx_http_cx_redis_exit_process(ngx_cycle_t *cycle);
ngx_http_cx_slot_t *ngx_http_cx_redis_acquire(ngx_log_t *log,
    ngx_uint_t *status);
void ngx_http_cx_redis_release(ngx_http_cx_slot_t *slot);
ngx_int_t ngx_http_cx_redis_exec(ngx_http_cx_redis_cb_pt fn, void *privdata,
    int argc, const char **argv, const size_t *argvlen);
void ngx_http_cx_redis_episode(ngx_uint_t ok, const char *what,
    const char *detail);

/* ngx_http_cx_model.c: pure functions, unit tested in t/unit */
void ngx_http_cx_derive_secret(u_char *out, ngx_str_t *secret);
uint64_t ngx_http_cx_hash_id(u_char *secret, u_char *id, size_t len);
u_char *ngx_http_cx_customer_key(u_char *p, ngx_str_t *prefix,
    uint64_t hash, const char *suffix);
u_char *ngx_http_cx_step_key(u_char *p, ngx_str_t *prefix, u_char *name,
    size_t len);
ngx_uint_t ngx_http_cx_safe_char(u_char c);
ngx_uint_t ngx_http_cx_url_char(u_char c);
size_t ngx_http_cx_expand(ngx_http_cx_tpl_t *tpl, u_char *subject,
    int *captures, ngx_int_t ncaptures, u_char *out, size_t size);
ngx_int_t ngx_http_cx_member_parse(u_char *data, size_t len,
    ngx_http_cx_ref_t *ref);
ngx_uint_t ngx_http_cx_pick(ngx_str_t *current, ngx_str_t *members,
    ngx_uint_t n, ngx_uint_t want, ngx_http_cx_ref_t *out);
u_char *ngx_http_cx_hex_id(u_char *p, u_char *bytes, size_t n);

/* ngx_http_cx_filter.c */
ngx_int_t ngx_http_cx_filter_init(ngx_conf_t *cf);

/* ngx_http_cx_var.c */
ngx_int_t ngx_http_cx_add_variables(ngx_conf_t *cf);
extern ngx_str_t  ngx_http_cx_status_names[];


#endif /* _NGX_HTTP_CX_MODULE_H_INCLUDED_ */
