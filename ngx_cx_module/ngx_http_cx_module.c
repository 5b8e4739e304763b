
/*
 * Copyright (C) ngx_cx authors
 *
 * Directives, configuration create/merge, phase and filter registration.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <ngx_http_cx_module.h>


/* what a bounded value is */
enum {
    NGX_HTTP_CX_NUMBER = 0,
    NGX_HTTP_CX_MSEC,                       /* a time, in ms */
    NGX_HTTP_CX_SEC                         /* a time, in seconds */
};


/* what cx_levels (goals reached) and cx_pace (ms) are when not given */
#define NGX_HTTP_CX_RETURNING  1
#define NGX_HTTP_CX_EXPERT     3
#define NGX_HTTP_CX_HURRIED    5000
#define NGX_HTTP_CX_RELAXED    60000

/* cx_redis user=, bytes at most */
#define NGX_HTTP_CX_USER_MAX   256


/* the longest time taken: far within EXPIRE and ngx_parse_time() */
#define NGX_HTTP_CX_TIME_MAX  (3650 * 86400)
#define NGX_HTTP_CX_TIME_CAP  "3650d"


/* a directive's or a parameter's range, and how its error words it */
typedef struct {
    ngx_uint_t                  type;
    ngx_int_t                   low;
    ngx_int_t                   high;
    char                       *allowed;    /* "a number between 1 and 8" */
} ngx_http_cx_bounds_t;


static ngx_int_t ngx_http_cx_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_cx_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_cx_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_cx_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_cx_create_srv_conf(ngx_conf_t *cf);
static char *ngx_http_cx_merge_srv_conf(ngx_conf_t *cf, void *parent,
    void *child);
static void *ngx_http_cx_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_cx_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_cx_init_process(ngx_cycle_t *cycle);
static void ngx_http_cx_exit_process(ngx_cycle_t *cycle);

static char *ngx_http_cx_redis(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_cx_redis_cluster(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_cx_redis_sentinel(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_cx_redis_param(ngx_conf_t *cf,
    ngx_http_cx_main_conf_t *cmcf, ngx_str_t *value);
static char *ngx_http_cx_redis_unknown(ngx_conf_t *cf, ngx_str_t *value,
    char *allowed);
static ngx_int_t ngx_http_cx_redis_auth(ngx_conf_t *cf,
    ngx_http_cx_main_conf_t *cmcf);
static ngx_int_t ngx_http_cx_redis_url(ngx_conf_t *cf, ngx_str_t *url,
    in_port_t port, ngx_url_t *u);
static ngx_int_t ngx_http_cx_redis_resolve_param(ngx_conf_t *cf,
    ngx_uint_t *resolve);
static ngx_int_t ngx_http_cx_redis_hosts(ngx_conf_t *cf,
    ngx_http_cx_main_conf_t *cmcf, ngx_str_t *value, in_port_t port,
    ngx_uint_t resolve, ngx_array_t *hosts);
static char *ngx_http_cx_redis_addr(ngx_conf_t *cf, ngx_addr_t *addr,
    ngx_str_t *host, ngx_int_t *port);
static char *ngx_http_cx_model_cache(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_cx_write_behind(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_cx(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_cx_cookie(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_cx_set_factor_slot(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_cx_holdout(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_cx_levels(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_cx_pace_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_cx_inject_text(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_cx_set_complex_value_slot(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_cx_set_predicate_slot(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_cx_not_empty(ngx_conf_t *cf, ngx_command_t *cmd);
static char *ngx_http_cx_secret(ngx_conf_t *cf, void *post, void *data);
static char *ngx_http_cx_prefix(ngx_conf_t *cf, void *post, void *data);
static char *ngx_http_cx_set_bounded_slot(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_cx_parse_bounded(ngx_str_t *s,
    ngx_http_cx_bounds_t *bounds);
static char *ngx_http_cx_invalid_value(ngx_conf_t *cf, ngx_str_t *value,
    char *param, ngx_http_cx_bounds_t *bounds);
static char *ngx_http_cx_duplicate_param(ngx_conf_t *cf, ngx_str_t *param);
static ngx_int_t ngx_http_cx_redis_tls(ngx_conf_t *cf, ngx_flag_t *flag,
    ngx_str_t *value);
static char *ngx_http_cx_tls_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_cx_tls_init(ngx_conf_t *cf,
    ngx_http_cx_main_conf_t *cmcf);


static ngx_conf_post_handler_pt  ngx_http_cx_secret_p = ngx_http_cx_secret;
static ngx_conf_post_handler_pt  ngx_http_cx_prefix_p = ngx_http_cx_prefix;

static ngx_http_cx_bounds_t  ngx_http_cx_depth_bounds = {
    NGX_HTTP_CX_NUMBER, 1, 100, "a number between 1 and 100"
};

static ngx_http_cx_bounds_t  ngx_http_cx_timeout_bounds = {
    NGX_HTTP_CX_MSEC, 1, 10000, "a time between 1ms and 10s"
};

static ngx_http_cx_bounds_t  ngx_http_cx_long_bounds = {
    NGX_HTTP_CX_MSEC, 1000, NGX_HTTP_CX_TIME_MAX * 1000LL,
    "a time between 1s and " NGX_HTTP_CX_TIME_CAP
};

static ngx_http_cx_bounds_t  ngx_http_cx_ttl_bounds = {
    NGX_HTTP_CX_SEC, 1, NGX_HTTP_CX_TIME_MAX,
    "a time between 1s and " NGX_HTTP_CX_TIME_CAP
};

static ngx_http_cx_bounds_t  ngx_http_cx_hurried_bounds = {
    NGX_HTTP_CX_MSEC, 0, NGX_HTTP_CX_TIME_MAX * 1000LL,
    "a time between 0 and " NGX_HTTP_CX_TIME_CAP
};

static ngx_http_cx_bounds_t  ngx_http_cx_relaxed_bounds = {
    NGX_HTTP_CX_MSEC, 1, NGX_HTTP_CX_TIME_MAX * 1000LL,
    "a time between 1ms and " NGX_HTTP_CX_TIME_CAP
};

static ngx_http_cx_bounds_t  ngx_http_cx_customer_bounds = {
    NGX_HTTP_CX_MSEC, 0, 86400000, "a time between 0 and 1d"
};

static ngx_http_cx_bounds_t  ngx_http_cx_distance_bounds = {
    NGX_HTTP_CX_NUMBER, 1, 8, "a number between 1 and 8"
};

static ngx_http_cx_bounds_t  ngx_http_cx_journey_steps_bounds = {
    NGX_HTTP_CX_NUMBER, 1, NGX_HTTP_CX_JOURNEY_MAX,
    "a number between 1 and 8"
};

static ngx_http_cx_bounds_t  ngx_http_cx_write_behind_bounds = {
    NGX_HTTP_CX_MSEC, 0, 3600 * 1000, "a time between 0 and 1h"
};

/* a full table's write stays well within NGX_HTTP_CX_FLIGHT_MAX commands */
static ngx_http_cx_bounds_t  ngx_http_cx_credits_bounds = {
    NGX_HTTP_CX_NUMBER, 1, 8192, "a number between 1 and 8192"
};

static ngx_http_cx_bounds_t  ngx_http_cx_history_bounds = {
    NGX_HTTP_CX_NUMBER, 1, 10000, "a number between 1 and 10000"
};

static ngx_http_cx_bounds_t  ngx_http_cx_pending_bounds = {
    NGX_HTTP_CX_NUMBER, 1, 65536, "a number between 1 and 65536"
};

static ngx_http_cx_bounds_t  ngx_http_cx_suggest_bounds = {
    NGX_HTTP_CX_NUMBER, 1, NGX_HTTP_CX_SUGGEST_MAX,
    "a number between 1 and 20"
};

/* redis-server takes "databases" from 1 to 2147483647 (INT_MAX) */
static ngx_http_cx_bounds_t  ngx_http_cx_db_bounds = {
    NGX_HTTP_CX_NUMBER, 0, 2147483646, "a number between 0 and 2147483646"
};

static ngx_http_cx_bounds_t  ngx_http_cx_valid_bounds = {
    NGX_HTTP_CX_MSEC, 1, 3600000, "a time between 1ms and 1h"
};

static ngx_http_cx_bounds_t  ngx_http_cx_level_bounds = {
    NGX_HTTP_CX_NUMBER, 1, NGX_MAX_INT_T_VALUE, "a number, 1 or more"
};


static ngx_command_t  ngx_http_cx_commands[] = {

    { ngx_string("cx_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1234,
      ngx_http_cx_redis,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("cx_redis_sentinel"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_cx_redis_sentinel,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("cx_redis_cluster"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_cx_redis_cluster,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("cx_redis_tls_trusted_certificate"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_cx_tls_file,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_cx_main_conf_t, tls.trusted),
      NULL },

    { ngx_string("cx_redis_tls_certificate"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_cx_tls_file,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_cx_main_conf_t, tls.certificate),
      NULL },

    { ngx_string("cx_redis_tls_certificate_key"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_cx_tls_file,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_cx_main_conf_t, tls.certificate_key),
      NULL },

    { ngx_string("cx_redis_tls_verify"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_cx_main_conf_t, tls.verify),
      NULL },

    { ngx_string("cx_redis_tls_verify_depth"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_cx_set_bounded_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_cx_main_conf_t, tls.verify_depth),
      &ngx_http_cx_depth_bounds },

    { ngx_string("cx_redis_tls_name"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_cx_main_conf_t, tls.name),
      NULL },

    { ngx_string("cx_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_cx_set_bounded_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_cx_main_conf_t, timeout),
      &ngx_http_cx_timeout_bounds },

    { ngx_string("cx_connect_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_cx_set_bounded_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_cx_main_conf_t, connect_timeout),
      &ngx_http_cx_timeout_bounds },

    { ngx_string("cx_secret"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_http_cx_srv_conf_t, secret),
      &ngx_http_cx_secret_p },

    { ngx_string("cx_prefix"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_http_cx_srv_conf_t, prefix),
      &ngx_http_cx_prefix_p },

    { ngx_string("cx_history"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_cx_set_bounded_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_cx_main_conf_t, history),
      &ngx_http_cx_history_bounds },

    { ngx_string("cx_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_http_cx_set_bounded_slot,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_http_cx_srv_conf_t, ttl),
      &ngx_http_cx_ttl_bounds },

    { ngx_string("cx_max_pending"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_cx_set_bounded_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_cx_main_conf_t, max_pending),
      &ngx_http_cx_pending_bounds },

    { ngx_string("cx_rule_distance"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_cx_set_bounded_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_cx_main_conf_t, distance),
      &ngx_http_cx_distance_bounds },

    { ngx_string("cx_rule_reverse"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_cx_set_factor_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_cx_main_conf_t, reverse),
      NULL },

    { ngx_string("cx_journey_steps"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_cx_set_bounded_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_cx_main_conf_t, journey_steps),
      &ngx_http_cx_journey_steps_bounds },

    { ngx_string("cx_half_life"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_cx_set_bounded_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_cx_main_conf_t, half_life),
      &ngx_http_cx_long_bounds },

    { ngx_string("cx_journey_gap"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_cx_set_bounded_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_cx_main_conf_t, journey_gap),
      &ngx_http_cx_long_bounds },

    { ngx_string("cx_model_cache"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE123,
      ngx_http_cx_model_cache,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("cx_write_behind"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_cx_write_behind,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("cx"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_http_cx,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cx_loc_conf_t, enable),
      NULL },

    { ngx_string("cx_id"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_cx_id,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("cx_time"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_cx_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cx_loc_conf_t, time),
      NULL },

    { ngx_string("cx_cookie"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_cx_cookie,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("cx_step"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF
      |NGX_CONF_TAKE2|NGX_CONF_TAKE3|NGX_CONF_TAKE4,
      ngx_http_cx_step,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("cx_goal"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_cx_named,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cx_loc_conf_t, goal),
      NULL },

    { ngx_string("cx_help"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_cx_named,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cx_loc_conf_t, help),
      NULL },

    { ngx_string("cx_shortcut"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_cx_named,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cx_loc_conf_t, shortcut_steps),
      NULL },

    { ngx_string("cx_skip"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_cx_set_predicate_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cx_loc_conf_t, skip),
      NULL },

    { ngx_string("cx_demote"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_cx_set_factor_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cx_loc_conf_t, demote),
      NULL },

    { ngx_string("cx_revisit"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_cx_set_factor_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cx_loc_conf_t, revisit),
      NULL },

    { ngx_string("cx_holdout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_cx_holdout,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("cx_levels"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_cx_levels,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("cx_pace"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_cx_pace_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("cx_suggest"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_cx_set_bounded_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cx_loc_conf_t, suggest),
      &ngx_http_cx_suggest_bounds },

    { ngx_string("cx_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_cx_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("cx_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_cx_metrics,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("cx_forget"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_cx_forget,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("cx_privacy_signals"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cx_loc_conf_t, privacy),
      NULL },

    { ngx_string("cx_prefetch"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cx_loc_conf_t, prefetch),
      NULL },

    { ngx_string("cx_inject"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cx_loc_conf_t, inject),
      NULL },

    { ngx_string("cx_inject_template"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_cx_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cx_loc_conf_t, template),
      NULL },

    { ngx_string("cx_inject_item_template"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_cx_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cx_loc_conf_t, item_template),
      NULL },

    { ngx_string("cx_inject_text"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_cx_inject_text,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("cx_header"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cx_loc_conf_t, header),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_cx_module_ctx = {
    ngx_http_cx_preconfiguration,          /* preconfiguration */
    ngx_http_cx_postconfiguration,         /* postconfiguration */

    ngx_http_cx_create_main_conf,          /* create main configuration */
    ngx_http_cx_init_main_conf,            /* init main configuration */

    ngx_http_cx_create_srv_conf,           /* create server configuration */
    ngx_http_cx_merge_srv_conf,            /* merge server configuration */

    ngx_http_cx_create_loc_conf,           /* create location configuration */
    ngx_http_cx_merge_loc_conf             /* merge location configuration */
};


ngx_module_t  ngx_http_cx_module = {
    NGX_MODULE_V1,
    &ngx_http_cx_module_ctx,               /* module context */
    ngx_http_cx_commands,                  /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_cx_init_process,              /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_cx_exit_process,              /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_http_cx_preconfiguration(ngx_conf_t *cf)
{
    return ngx_http_cx_add_variables(cf);
}


static ngx_int_t
ngx_http_cx_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;
    ngx_http_cx_main_conf_t    *cxmcf;

    cxmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_cx_module);

    ngx_http_cx_declared_reset();
    ngx_http_cx_memo_reset();

    /* what may read an answer after the response header: made before */
    cxmcf->asked = cxmcf->api || ngx_http_cx_answer_named(cf);

    if (cxmcf->on_file) {

        /*
         * Loaded after ngx_http_rewrite_module, so this handler runs
         * before the location's "return", "rewrite" and "set".
         */

        cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

        h = ngx_array_push(&cmcf->phases[NGX_HTTP_REWRITE_PHASE].handlers);
        if (h == NULL) {
            return NGX_ERROR;
        }

        *h = ngx_http_cx_handler;

        /* the step is recorded once the response is known */

        h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
        if (h == NULL) {
            return NGX_ERROR;
        }

        *h = ngx_http_cx_record;
    }

    if (ngx_http_cx_metrics_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_cx_cache_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_cx_filter_init(cf);
}


static void *
ngx_http_cx_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_cx_main_conf_t  *cmcf;

    cmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_cx_main_conf_t));
    if (cmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     cmcf->redis_name = { 0, NULL };
     *     cmcf->redis_host = { 0, NULL };
     *     cmcf->redis_port = 0;
     *     cmcf->redis_user = { 0, NULL };
     *     cmcf->redis_password = { 0, NULL };
     *     cmcf->redis_resolve = { 0, NULL };
     *     cmcf->resolve_name = { 0, NULL };
     *     cmcf->resolve_cmd = { 0, NULL };
     *     cmcf->resolve_file = NULL;
     *     cmcf->resolver = NULL;
     *     cmcf->sentinels = NULL;
     *     cmcf->cluster = NULL;
     *     cmcf->sentinel_password = { 0, NULL };
     *     cmcf->redis_tls = 0;
     *     cmcf->sentinel_tls = 0;
     *     cmcf->tls.ssl = NULL;
     *     cmcf->tls.name = { 0, NULL };
     *     cmcf->tls.trusted = { 0, NULL };
     *     cmcf->tls.certificate = { 0, NULL };
     *     cmcf->tls.certificate_key = { 0, NULL };
     *     cmcf->builtin_keys = NULL;
     *     cmcf->on_file = NULL;
     *     cmcf->on_directive = NULL;
     *     cmcf->metrics = 0;
     *     cmcf->api = 0;
     *     cmcf->asked = 0;
     *     cmcf->step_names = NULL;
     *     cmcf->metrics_zone = NULL;
     *     cmcf->cache_zone = NULL;
     */

    cmcf->redis_db = NGX_CONF_UNSET;
    cmcf->tls.verify = NGX_CONF_UNSET;
    cmcf->tls.verify_depth = NGX_CONF_UNSET_UINT;
    cmcf->timeout = NGX_CONF_UNSET_MSEC;
    cmcf->connect_timeout = NGX_CONF_UNSET_MSEC;
    cmcf->history = NGX_CONF_UNSET_UINT;
    cmcf->max_pending = NGX_CONF_UNSET_UINT;
    cmcf->distance = NGX_CONF_UNSET_UINT;
    cmcf->reverse = NGX_CONF_UNSET_UINT;
    cmcf->journey_steps = NGX_CONF_UNSET_UINT;
    cmcf->half_life = NGX_CONF_UNSET_MSEC;
    cmcf->journey_gap = NGX_CONF_UNSET_MSEC;
    cmcf->cache_size = NGX_CONF_UNSET_SIZE;
    cmcf->cache_valid = NGX_CONF_UNSET_MSEC;
    cmcf->customer_valid = NGX_CONF_UNSET_MSEC;
    cmcf->write_behind = NGX_CONF_UNSET_MSEC;
    cmcf->credits = NGX_CONF_UNSET_UINT;

    return cmcf;
}


static char *
ngx_http_cx_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_cx_main_conf_t *cmcf = conf;

    u_char                    *p;
    ngx_http_core_loc_conf_t  *clcf;

    ngx_conf_init_value(cmcf->redis_db, 0);
    ngx_conf_init_msec_value(cmcf->timeout, 10);
    ngx_conf_init_msec_value(cmcf->connect_timeout, 100);
    ngx_conf_init_uint_value(cmcf->history, NGX_HTTP_CX_RECENT);
    ngx_conf_init_uint_value(cmcf->max_pending, 256);
    ngx_conf_init_uint_value(cmcf->distance, 5);
    ngx_conf_init_uint_value(cmcf->reverse, 500);
    ngx_conf_init_uint_value(cmcf->journey_steps, 3);
    ngx_conf_init_msec_value(cmcf->half_life,
                             (ngx_msec_t) 30 * 86400 * 1000);
    ngx_conf_init_msec_value(cmcf->journey_gap, 30 * 60 * 1000);
    ngx_conf_init_size_value(cmcf->cache_size, 0);
    ngx_conf_init_msec_value(cmcf->cache_valid, 1000);
    ngx_conf_init_msec_value(cmcf->customer_valid, 0);
    ngx_conf_init_msec_value(cmcf->write_behind, 0);
    ngx_conf_init_uint_value(cmcf->credits, 1024);

    if (cmcf->on_file == NULL) {
        return NGX_CONF_OK;
    }

    if (cmcf->redis_host.data == NULL && cmcf->sentinels == NULL
        && cmcf->cluster == NULL)
    {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "no \"cx_redis\" is defined for the \"%s\" directive "
                      "in %s:%ui", cmcf->on_directive, cmcf->on_file,
                      cmcf->on_line);
        return NGX_CONF_ERROR;
    }

    if (cmcf->resolve_file) {
        /* the http block's own resolver, as "resolver" set it there */

        clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

        if (clcf->resolver == NULL || clcf->resolver->connections.nelts == 0)
        {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "no resolver defined to resolve \"%V\" of the "
                          "\"%V\" directive in %s:%ui",
                          &cmcf->resolve_name, &cmcf->resolve_cmd,
                          cmcf->resolve_file, cmcf->resolve_line);
            return NGX_CONF_ERROR;
        }

        cmcf->resolver = clcf->resolver;
        cmcf->resolver_timeout = clcf->resolver_timeout == NGX_CONF_UNSET_MSEC
                                 ? 30000 : clcf->resolver_timeout;
    }

    if (ngx_http_cx_tls_init(cf, cmcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    p = ngx_pnalloc(cf->pool, NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    cmcf->trim_text.data = p;
    cmcf->trim_text.len = ngx_sprintf(p, "%ui", cmcf->history - 1) - p;

    return NGX_CONF_OK;
}


static void *
ngx_http_cx_create_srv_conf(ngx_conf_t *cf)
{
    ngx_http_cx_srv_conf_t  *cxscf;

    cxscf = ngx_pcalloc(cf->pool, sizeof(ngx_http_cx_srv_conf_t));
    if (cxscf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     cxscf->prefix = { 0, NULL };
     *     cxscf->secret = { 0, NULL };
     *     cxscf->hash_keys = NULL;
     *     cxscf->ttl_text = { 0, NULL };
     */

    cxscf->ttl = NGX_CONF_UNSET;

    return cxscf;
}


/*
 * A server is a shop: its own keys (cx_prefix), the key its customers'
 * ids are hashed with (cx_secret) and how long its keys live (cx_ttl),
 * each inherited from http unless the server sets it.
 */

static char *
ngx_http_cx_merge_srv_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_cx_srv_conf_t *prev = parent;
    ngx_http_cx_srv_conf_t *conf = child;

    u_char                   *p;
    ngx_http_cx_main_conf_t  *cmcf;

    ngx_conf_merge_str_value(conf->prefix, prev->prefix, "cx:");
    ngx_conf_merge_str_value(conf->secret, prev->secret, "");
    ngx_conf_merge_sec_value(conf->ttl, prev->ttl, 30 * 86400);

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_cx_module);

    if (cmcf->on_file == NULL) {
        return NGX_CONF_OK;
    }

    if (conf->secret.len) {
        conf->hash_keys = ngx_palloc(cf->pool,
                                     NGX_HTTP_CX_KEYS * sizeof(uint64_t));
        if (conf->hash_keys == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_http_cx_derive_keys(conf->hash_keys, &conf->secret);

    } else {
        if (cmcf->builtin_keys == NULL) {
            ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                          "no \"cx_secret\" is defined, customer ids are "
                          "hashed with a built-in key");

            cmcf->builtin_keys = ngx_palloc(cf->pool, NGX_HTTP_CX_KEYS
                                                      * sizeof(uint64_t));
            if (cmcf->builtin_keys == NULL) {
                return NGX_CONF_ERROR;
            }

            ngx_http_cx_derive_keys(cmcf->builtin_keys, &conf->secret);
        }

        conf->hash_keys = cmcf->builtin_keys;
    }

    p = ngx_pnalloc(cf->pool, NGX_TIME_T_LEN);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    conf->ttl_text.data = p;
    conf->ttl_text.len = ngx_sprintf(p, "%T", conf->ttl) - p;

    return NGX_CONF_OK;
}


static void *
ngx_http_cx_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_cx_loc_conf_t  *clcf;

    clcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_cx_loc_conf_t));
    if (clcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     clcf->id_cookie_name = { 0, NULL };
     *     clcf->cookie = { 0, NULL };
     *     clcf->cookie_secure = 0;
     *     clcf->cookie_samesite = { 0, NULL };
     *     clcf->cookie_attrs = { 0, NULL };
     *     clcf->cookie_if = NULL;
     *     clcf->steps = NULL;
     *     clcf->exact = NULL;
     *     clcf->labelled = 0;
     *     clcf->goal = { { 0, NULL }, NULL, 0 };
     *     clcf->help = { { 0, NULL }, NULL, 0 };
     *     clcf->help_ref = { { 0, NULL }, { 0, NULL } };
     *     clcf->shortcut_steps = NULL;
     *     clcf->shortcuts = NULL;
     *     clcf->text_next = { 0, NULL };
     *     clcf->text_shortcut = { 0, NULL };
     */

    clcf->enable = NGX_CONF_UNSET;
    clcf->ids = NGX_CONF_UNSET_PTR;
    clcf->time = NGX_CONF_UNSET_PTR;
    clcf->cookie_max_age = NGX_CONF_UNSET;
    clcf->suggest = NGX_CONF_UNSET_UINT;
    clcf->header = NGX_CONF_UNSET;
    clcf->prefetch = NGX_CONF_UNSET;
    clcf->inject = NGX_CONF_UNSET;
    clcf->template = NGX_CONF_UNSET_PTR;
    clcf->item_template = NGX_CONF_UNSET_PTR;
    clcf->skip = NGX_CONF_UNSET_PTR;
    clcf->demote = NGX_CONF_UNSET_UINT;
    clcf->revisit = NGX_CONF_UNSET_UINT;
    clcf->holdout = NGX_CONF_UNSET_UINT;
    clcf->returning = NGX_CONF_UNSET_UINT;
    clcf->expert = NGX_CONF_UNSET_UINT;
    clcf->hurried = NGX_CONF_UNSET_MSEC;
    clcf->relaxed = NGX_CONF_UNSET_MSEC;
    clcf->privacy = NGX_CONF_UNSET;

    return clcf;
}


static char *
ngx_http_cx_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_cx_loc_conf_t *prev = parent;
    ngx_http_cx_loc_conf_t *conf = child;

    u_char                            *p;
    ngx_str_t                         *name_p;
    ngx_uint_t                         i;
    ngx_http_cx_named_t               *named;
    ngx_http_cx_srv_conf_t            *cxscf;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_ptr_value(conf->ids, prev->ids, NULL);
    ngx_conf_merge_ptr_value(conf->time, prev->time, NULL);
    ngx_conf_merge_uint_value(conf->suggest, prev->suggest, 3);
    ngx_conf_merge_value(conf->header, prev->header, 0);
    ngx_conf_merge_value(conf->prefetch, prev->prefetch, 0);
    ngx_conf_merge_value(conf->inject, prev->inject, 0);
    ngx_conf_merge_ptr_value(conf->template, prev->template, NULL);
    ngx_conf_merge_ptr_value(conf->item_template, prev->item_template, NULL);
    ngx_conf_merge_str_value(conf->text_next, prev->text_next,
                             "Suggested next steps");
    ngx_conf_merge_str_value(conf->text_shortcut, prev->text_shortcut,
                             "Straight to");
    ngx_conf_merge_ptr_value(conf->skip, prev->skip, NULL);
    ngx_conf_merge_value(conf->privacy, prev->privacy, 1);

    if (conf->steps == NULL) {
        conf->steps = prev->steps;
        conf->exact = prev->exact;
        conf->labelled = prev->labelled;
    }

    if (conf->cookie.data == NULL) {
        conf->cookie = prev->cookie;
        conf->cookie_max_age = prev->cookie_max_age;
        conf->cookie_secure = prev->cookie_secure;
        conf->cookie_samesite = prev->cookie_samesite;
        conf->cookie_if = prev->cookie_if;
    }

    ngx_conf_merge_uint_value(conf->demote, prev->demote, 1000);
    ngx_conf_merge_uint_value(conf->revisit, prev->revisit, 400);
    ngx_conf_merge_uint_value(conf->holdout, prev->holdout, 0);
    ngx_conf_merge_uint_value(conf->returning, prev->returning,
                              NGX_HTTP_CX_RETURNING);
    ngx_conf_merge_uint_value(conf->expert, prev->expert, NGX_HTTP_CX_EXPERT);
    ngx_conf_merge_msec_value(conf->hurried, prev->hurried,
                              NGX_HTTP_CX_HURRIED);
    ngx_conf_merge_msec_value(conf->relaxed, prev->relaxed,
                              NGX_HTTP_CX_RELAXED);

    if (conf->goal.name.data == NULL) {
        conf->goal = prev->goal;
    }

    if (conf->help.name.data == NULL) {
        conf->help = prev->help;
    }

    if (conf->shortcut_steps == NULL) {
        conf->shortcut_steps = prev->shortcut_steps;
    }

    /*
     * The steps named are checked where steps are declared: a server
     * without any (another site, cx off) inherits them unused
     */

    if (conf->steps && conf->goal.name.data
        && ngx_http_cx_check_named(cf, conf, "cx_goal", &conf->goal, NULL)
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (conf->steps && conf->help.name.data
        && ngx_http_cx_check_named(cf, conf, "cx_help", &conf->help,
                                   &conf->help_ref)
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (conf->steps && conf->shortcut_steps) {
        conf->shortcuts = ngx_array_create(cf->pool,
                                           conf->shortcut_steps->nelts,
                                           sizeof(ngx_str_t));
        if (conf->shortcuts == NULL) {
            return NGX_CONF_ERROR;
        }

        named = conf->shortcut_steps->elts;

        for (i = 0; i < conf->shortcut_steps->nelts; i++) {
            if (ngx_http_cx_check_named(cf, conf, "cx_shortcut", &named[i],
                                        NULL)
                != NGX_OK)
            {
                return NGX_CONF_ERROR;
            }

            name_p = ngx_array_push(conf->shortcuts);
            if (name_p == NULL) {
                return NGX_CONF_ERROR;
            }

            *name_p = named[i].name;
        }
    }

    if (conf->ids == NULL || conf->cookie.len) {
        /* the customer id cookie: the last id source, the only by default */

        if (conf->cookie.len) {
            conf->id_cookie_name = conf->cookie;

        } else {
            ngx_str_set(&conf->id_cookie_name, "cx_id");
        }
    }

    if (conf->cookie.len && conf->cookie_attrs.data == NULL) {

        /* merged already: the cx_ttl of this location's server */
        cxscf = ngx_http_conf_get_module_srv_conf(cf, ngx_http_cx_module);

        if (conf->cookie_max_age == NGX_CONF_UNSET) {
            conf->cookie_max_age = cxscf->ttl;
        }

        p = ngx_pnalloc(cf->pool, sizeof("; Path=/; Max-Age=; HttpOnly"
                                         "; Secure; SameSite=") - 1
                                  + NGX_TIME_T_LEN
                                  + conf->cookie_samesite.len);
        if (p == NULL) {
            return NGX_CONF_ERROR;
        }

        conf->cookie_attrs.data = p;

        p = ngx_sprintf(p, "; Path=/; Max-Age=%T; HttpOnly",
                        conf->cookie_max_age);

        if (conf->cookie_secure) {
            p = ngx_cpymem(p, "; Secure", sizeof("; Secure") - 1);
        }

        if (conf->cookie_samesite.len) {
            p = ngx_sprintf(p, "; SameSite=%V", &conf->cookie_samesite);
        }

        conf->cookie_attrs.len = p - conf->cookie_attrs.data;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_cx_init_process(ngx_cycle_t *cycle)
{
    if (ngx_http_cx_redis_init_process(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_cx_credit_init_process(cycle);
}


static void
ngx_http_cx_exit_process(ngx_cycle_t *cycle)
{
    /* the rule credits held, before the connection closes */

    ngx_http_cx_credit_exit_process(cycle);
    ngx_http_cx_redis_exit_process(cycle);

    ngx_http_cx_memo_reset();
}


/*
 * cx_redis host:port | unix:/path [user=...] [password=...] [db=N]
 *     [resolve]
 */

static char *
ngx_http_cx_redis(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cx_main_conf_t *cmcf = conf;

    ngx_str_t   *value;
    ngx_url_t    u;
    ngx_uint_t   i, resolve;
    ngx_int_t    rc;

    if (cmcf->redis_host.data) {
        return "is duplicate";
    }

    if (cmcf->sentinels) {
        return "conflicts with \"cx_redis_sentinel\"";
    }

    if (cmcf->cluster) {
        return "conflicts with \"cx_redis_cluster\"";
    }

    value = cf->args->elts;
    resolve = 0;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strcmp(value[i].data, "resolve") == 0) {
            if (resolve) {
                return ngx_http_cx_duplicate_param(cf, &value[i]);
            }

            resolve = 1;
            continue;
        }

        rc = ngx_http_cx_redis_param(cf, cmcf, &value[i]);

        if (rc == NGX_ERROR) {
            return NGX_CONF_ERROR;
        }

        if (rc == NGX_DECLINED) {
            return ngx_http_cx_redis_unknown(cf, &value[i],
                                             "\"user=\", \"password=\", "
                                             "\"db=\", \"tls\" or "
                                             "\"resolve\"");
        }
    }

    if (ngx_http_cx_redis_auth(cf, cmcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    cmcf->redis_name = value[1];

    if (resolve) {
        /* a name asked of the http resolver in the workers, never here */

        ngx_memzero(&u, sizeof(ngx_url_t));

        u.url = value[1];
        u.default_port = 6379;
        u.no_resolve = 1;

        if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
            if (u.err) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "%s in \"%V\" of the \"%V\" directive",
                                   u.err, &u.url, &value[0]);
            }

            return NGX_CONF_ERROR;
        }

        if (u.family == AF_UNIX
            || ngx_inet_addr(u.host.data, u.host.len) != INADDR_NONE
#if (NGX_HAVE_INET6)
            || u.family == AF_INET6
#endif
           )
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"resolve\" in \"%V\" directive requires "
                               "a host name, \"%V\" is an address",
                               &value[0], &value[1]);
            return NGX_CONF_ERROR;
        }

        cmcf->redis_resolve = u.host;
        cmcf->resolve_name = u.host;
        cmcf->resolve_cmd = value[0];
        cmcf->resolve_file = cf->conf_file->file.name.data;
        cmcf->resolve_line = cf->conf_file->line;

        /* no address until the worker's resolver answers */

        ngx_str_set(&cmcf->redis_host, "");
        cmcf->redis_port = u.port;

        return NGX_CONF_OK;
    }

    if (ngx_http_cx_redis_url(cf, &value[1], 6379, &u) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return ngx_http_cx_redis_addr(cf, &u.addrs[0], &cmcf->redis_host,
                                  &cmcf->redis_port);
}


/*
 * cx_redis_sentinel master-name host[:port] ... [user=...] [password=...]
 *     [db=N] [sentinel_password=...] [resolve]
 *
 * The sentinels' addresses, each port 26379 when not given, and every
 * address a host name has (with resolve, the name, asked in the
 * workers); user=, password= and db= are the primary's, as cx_redis
 * takes them, sentinel_password= the sentinels' own.
 */

static char *
ngx_http_cx_redis_sentinel(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cx_main_conf_t *cmcf = conf;

    ngx_int_t    rc;
    ngx_str_t   *value, s;
    ngx_uint_t   i, j, resolve;

    if (cmcf->sentinels) {
        return "is duplicate";
    }

    if (cmcf->redis_host.data) {
        return "conflicts with \"cx_redis\"";
    }

    if (cmcf->cluster) {
        return "conflicts with \"cx_redis_cluster\"";
    }

    value = cf->args->elts;

    /* the name is a word of the +switch-master messages: no spaces */

    s = value[1];

    for (j = 0; j < s.len; j++) {
        if (s.data[j] <= ' ' || s.data[j] == 0x7f) {
            break;
        }
    }

    if (s.len == 0 || s.len > NGX_HTTP_CX_USER_MAX || j < s.len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid master name \"%s\" in "
                           "\"cx_redis_sentinel\" directive, it must be "
                           "1 to %d bytes, without spaces or control "
                           "characters",
                           s.len ? "..." : "", NGX_HTTP_CX_USER_MAX);
        return NGX_CONF_ERROR;
    }

    cmcf->sentinels = ngx_array_create(cf->pool, 3,
                                       sizeof(ngx_http_cx_addr_t));
    if (cmcf->sentinels == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_cx_redis_resolve_param(cf, &resolve) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strcmp(value[i].data, "resolve") == 0) {
            continue;
        }

        if (ngx_strncmp(value[i].data, "sentinel_password=", 18) == 0) {
            if (cmcf->sentinel_password.data) {
                ngx_str_set(&s, "sentinel_password=...");
                return ngx_http_cx_duplicate_param(cf, &s);
            }

            cmcf->sentinel_password.data = value[i].data + 18;
            cmcf->sentinel_password.len = value[i].len - 18;

            if (cmcf->sentinel_password.len == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid value \"%V\" in "
                                   "\"cx_redis_sentinel\" directive, "
                                   "\"sentinel_password\" must not be "
                                   "empty", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strcmp(value[i].data, "sentinel_tls") == 0) {
            if (ngx_http_cx_redis_tls(cf, &cmcf->sentinel_tls, &value[i])
                != NGX_OK)
            {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strlchr(value[i].data, value[i].data + value[i].len, '=')
            || ngx_strcmp(value[i].data, "tls") == 0)
        {
            rc = ngx_http_cx_redis_param(cf, cmcf, &value[i]);

            if (rc == NGX_ERROR) {
                return NGX_CONF_ERROR;
            }

            if (rc == NGX_DECLINED) {
                return ngx_http_cx_redis_unknown(cf, &value[i],
                                                 "\"user=\", \"password=\", "
                                                 "\"db=\", \"tls\", "
                                                 "\"sentinel_password=\", "
                                                 "\"sentinel_tls\" or "
                                                 "\"resolve\"");
            }

            continue;
        }

        if (ngx_http_cx_redis_hosts(cf, cmcf, &value[i], 26379, resolve,
                                    cmcf->sentinels)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    if (cmcf->sentinels->nelts == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid number of arguments in "
                           "\"cx_redis_sentinel\" directive");
        return NGX_CONF_ERROR;
    }

    if (resolve && cmcf->resolve_file == NULL) {
        return "requires a host name with \"resolve\"";
    }

    if (ngx_http_cx_redis_auth(cf, cmcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    cmcf->redis_name = value[1];

    return NGX_CONF_OK;
}


/*
 * cx_redis_cluster host[:port] ... [user=...] [password=...] [resolve]
 *
 * The nodes a worker asks for the cluster's slots first, each port 6379
 * when not given, and every address a host name has (with resolve, the
 * name, asked in the workers); user= and password= are every node's.  A
 * cluster has database 0 only: no db=.
 */

static char *
ngx_http_cx_redis_cluster(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cx_main_conf_t *cmcf = conf;

    ngx_int_t            rc;
    ngx_str_t           *value;
    ngx_uint_t           i, j, n, resolve;
    ngx_http_cx_addr_t  *a;

    if (cmcf->cluster) {
        return "is duplicate";
    }

    if (cmcf->redis_host.data) {
        return "conflicts with \"cx_redis\"";
    }

    if (cmcf->sentinels) {
        return "conflicts with \"cx_redis_sentinel\"";
    }

    value = cf->args->elts;

    cmcf->cluster = ngx_array_create(cf->pool, 3, sizeof(ngx_http_cx_addr_t));
    if (cmcf->cluster == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_cx_redis_resolve_param(cf, &resolve) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strcmp(value[i].data, "resolve") == 0) {
            continue;
        }

        if (ngx_strncmp(value[i].data, "db=", 3) == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\" in "
                               "\"cx_redis_cluster\" directive, a Redis "
                               "Cluster has database 0 only", &value[i]);
            return NGX_CONF_ERROR;
        }

        if (ngx_strlchr(value[i].data, value[i].data + value[i].len, '=')
            || ngx_strcmp(value[i].data, "tls") == 0)
        {
            rc = ngx_http_cx_redis_param(cf, cmcf, &value[i]);

            if (rc == NGX_ERROR) {
                return NGX_CONF_ERROR;
            }

            if (rc == NGX_DECLINED) {
                return ngx_http_cx_redis_unknown(cf, &value[i],
                                                 "\"user=\", \"password=\", "
                                                 "\"tls\" or \"resolve\"");
            }

            continue;
        }

        n = cmcf->cluster->nelts;

        if (ngx_http_cx_redis_hosts(cf, cmcf, &value[i], 6379, resolve,
                                    cmcf->cluster)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }

        a = cmcf->cluster->elts;

        for (j = n; j < cmcf->cluster->nelts; j++) {
            if (a[j].port == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid address \"%V\" in "
                                   "\"cx_redis_cluster\" directive, the "
                                   "nodes of a Redis Cluster are reached "
                                   "over TCP", &value[i]);
                return NGX_CONF_ERROR;
            }
        }
    }

    if (cmcf->cluster->nelts == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid number of arguments in "
                           "\"cx_redis_cluster\" directive");
        return NGX_CONF_ERROR;
    }

    if (resolve && cmcf->resolve_file == NULL) {
        return "requires a host name with \"resolve\"";
    }

    if (ngx_http_cx_redis_auth(cf, cmcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    cmcf->redis_name = value[1];

    return NGX_CONF_OK;
}


/*
 * A parameter of the connection to Redis, of cx_redis, cx_redis_sentinel
 * or cx_redis_cluster: NGX_DECLINED when it is none of user=, password=,
 * db= and tls.
 */

static ngx_int_t
ngx_http_cx_redis_param(ngx_conf_t *cf, ngx_http_cx_main_conf_t *cmcf,
    ngx_str_t *value)
{
    ngx_str_t   *name, s;
    ngx_uint_t   j;

    name = cf->args->elts;

    if (ngx_strcmp(value->data, "tls") == 0) {
        return ngx_http_cx_redis_tls(cf, &cmcf->redis_tls, value);
    }

    if (ngx_strncmp(value->data, "user=", 5) == 0) {
        s.data = value->data + 5;
        s.len = value->len - 5;

        /* an ACL user's name: Redis takes no spaces or NULs in it */

        for (j = 0; j < s.len; j++) {
            if (s.data[j] <= ' ' || s.data[j] == 0x7f) {
                break;
            }
        }

        if (s.len == 0 || s.len > NGX_HTTP_CX_USER_MAX || j < s.len) {
            /* a name with control bytes is not written to the log */
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid value \"user=%s\" in "
                               "\"%V\" directive, \"user\" must "
                               "be 1 to %d bytes, without spaces or "
                               "control characters",
                               s.len ? "..." : "", &name[0],
                               NGX_HTTP_CX_USER_MAX);
            return NGX_ERROR;
        }

        if (cmcf->redis_user.data) {
            (void) ngx_http_cx_duplicate_param(cf, value);
            return NGX_ERROR;
        }

        cmcf->redis_user = s;

        return NGX_OK;
    }

    if (ngx_strncmp(value->data, "password=", 9) == 0) {
        if (cmcf->redis_password.data) {
            /* the password is never shown */
            ngx_str_set(&s, "password=...");
            (void) ngx_http_cx_duplicate_param(cf, &s);
            return NGX_ERROR;
        }

        cmcf->redis_password.data = value->data + 9;
        cmcf->redis_password.len = value->len - 9;

        if (cmcf->redis_password.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid value \"%V\" in \"%V\" "
                               "directive, \"password\" must not be "
                               "empty", value, &name[0]);
            return NGX_ERROR;
        }

        return NGX_OK;
    }

    if (ngx_strncmp(value->data, "db=", 3) == 0) {
        if (cmcf->redis_db != NGX_CONF_UNSET) {
            (void) ngx_http_cx_duplicate_param(cf, value);
            return NGX_ERROR;
        }

        s.data = value->data + 3;
        s.len = value->len - 3;

        cmcf->redis_db = ngx_http_cx_parse_bounded(&s,
                                                   &ngx_http_cx_db_bounds);
        if (cmcf->redis_db == NGX_ERROR) {
            (void) ngx_http_cx_invalid_value(cf, value, "db",
                                             &ngx_http_cx_db_bounds);
            return NGX_ERROR;
        }

        return NGX_OK;
    }

    return NGX_DECLINED;
}


/* tls, or sentinel_tls: only with an nginx built with OpenSSL */

static ngx_int_t
ngx_http_cx_redis_tls(ngx_conf_t *cf, ngx_flag_t *flag, ngx_str_t *value)
{
#if !(NGX_SSL)
    ngx_str_t  *name;
#endif

    if (*flag) {
        (void) ngx_http_cx_duplicate_param(cf, value);
        return NGX_ERROR;
    }

#if (NGX_SSL)
    *flag = 1;

    return NGX_OK;
#else
    name = cf->args->elts;

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"%V\" in \"%V\" directive requires an nginx "
                       "built with OpenSSL (--with-http_ssl_module)",
                       value, &name[0]);
    return NGX_ERROR;
#endif
}


/*
 * cx_redis_tls_trusted_certificate, _certificate, _certificate_key: a
 * file that can be read, said here with the directive's line; what
 * OpenSSL makes of it, at the end of the http block.
 */

static char *
ngx_http_cx_tls_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_str_t        *field, *value;
    ngx_file_info_t   fi;

    field = (ngx_str_t *) (p + cmd->offset);

    if (field->data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    *field = value[1];

    if (ngx_conf_full_name(cf->cycle, field, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_file_info(field->data, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_file_info_n " \"%s\" failed", field->data);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * The TLS context of cx_redis ... tls and sentinel_tls, as
 * proxy_ssl_* make theirs: verification on when
 * cx_redis_tls_trusted_certificate is given, unless cx_redis_tls_verify
 * says off; the name checked, cx_redis_tls_name or the host of cx_redis
 * as written (an address, else: the node's).
 */

static ngx_int_t
ngx_http_cx_tls_init(ngx_conf_t *cf, ngx_http_cx_main_conf_t *cmcf)
{
#if (NGX_SSL)
    u_char              *p;
    ngx_str_t            ciphers;
    ngx_url_t            u;
    ngx_ssl_t           *ssl;
    ngx_pool_cleanup_t  *cln;
#endif

    ngx_conf_init_value(cmcf->tls.verify, cmcf->tls.trusted.len != 0);
    ngx_conf_init_uint_value(cmcf->tls.verify_depth, 1);

    if (!cmcf->redis_tls && !cmcf->sentinel_tls) {
        return NGX_OK;
    }

#if (NGX_SSL)

    if (cmcf->tls.name.len == 0 && cmcf->redis_host.data
        && cmcf->redis_port)
    {
        /* cx_redis redis.example.com:6380 tls: that name */

        ngx_memzero(&u, sizeof(ngx_url_t));

        u.url = cmcf->redis_name;
        u.default_port = 6379;
        u.no_resolve = 1;

        if (ngx_parse_url(cf->pool, &u) == NGX_OK
            && ngx_inet_addr(u.host.data, u.host.len) == INADDR_NONE
            && u.family != AF_INET6)
        {
            cmcf->tls.name = u.host;
        }
    }

    if (cmcf->tls.name.len) {
        /* NUL-terminated, for SNI */

        p = ngx_pnalloc(cf->pool, cmcf->tls.name.len + 1);
        if (p == NULL) {
            return NGX_ERROR;
        }

        ngx_cpystrn(p, cmcf->tls.name.data, cmcf->tls.name.len + 1);
        cmcf->tls.name.data = p;
    }

    ssl = ngx_pcalloc(cf->pool, sizeof(ngx_ssl_t));
    if (ssl == NULL) {
        return NGX_ERROR;
    }

    ssl->log = cf->log;

    if (ngx_ssl_create(ssl, NGX_SSL_TLSv1_2|NGX_SSL_TLSv1_3, NULL)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        ngx_ssl_cleanup_ctx(ssl);
        return NGX_ERROR;
    }

    cln->handler = ngx_ssl_cleanup_ctx;
    cln->data = ssl;

    cmcf->tls.ssl = ssl;

    ngx_str_set(&ciphers, "DEFAULT");

    if (ngx_ssl_ciphers(cf, ssl, &ciphers, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    if (cmcf->tls.certificate.len || cmcf->tls.certificate_key.len) {

        if (cmcf->tls.certificate_key.len == 0) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "no \"cx_redis_tls_certificate_key\" is defined "
                          "for certificate \"%V\"", &cmcf->tls.certificate);
            return NGX_ERROR;
        }

        if (cmcf->tls.certificate.len == 0) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "no \"cx_redis_tls_certificate\" is defined "
                          "for key \"%V\"", &cmcf->tls.certificate_key);
            return NGX_ERROR;
        }

        if (ngx_ssl_certificate(cf, ssl, &cmcf->tls.certificate,
                                &cmcf->tls.certificate_key, NULL)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (cmcf->tls.verify) {
        if (cmcf->tls.trusted.len == 0) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "no cx_redis_tls_trusted_certificate for "
                          "cx_redis_tls_verify");
            return NGX_ERROR;
        }

        if (cmcf->redis_tls && cmcf->redis_host.data
            && cmcf->redis_port == 0 && cmcf->tls.name.len == 0)
        {
            /* a unix socket has no address to check the certificate of */
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "no cx_redis_tls_name for \"tls\" on \"%V\"",
                          &cmcf->redis_name);
            return NGX_ERROR;
        }

        if (ngx_ssl_trusted_certificate(cf, ssl, &cmcf->tls.trusted,
                                        cmcf->tls.verify_depth)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    /* a reconnect resumes the session of the connection before it */

    if (ngx_ssl_client_session_cache(cf, ssl, 1) != NGX_OK) {
        return NGX_ERROR;
    }

#endif

    return NGX_OK;
}


static char *
ngx_http_cx_redis_unknown(ngx_conf_t *cf, ngx_str_t *value, char *allowed)
{
    u_char     *p;
    ngx_str_t  *name, s;

    name = cf->args->elts;

    /* what follows "=" may be a password misspelt: never shown */

    s = *value;

    p = ngx_strlchr(s.data, s.data + s.len, '=');
    if (p) {
        s.len = p + 1 - s.data;
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V%s\" in \"%V\" directive, "
                       "it must be %s", &s, p ? "..." : "", &name[0],
                       allowed);

    return NGX_CONF_ERROR;
}


/* Redis's AUTH takes a user with a password, never a user alone */

static ngx_int_t
ngx_http_cx_redis_auth(ngx_conf_t *cf, ngx_http_cx_main_conf_t *cmcf)
{
    ngx_str_t  *name;

    if (cmcf->redis_user.data && cmcf->redis_password.data == NULL) {
        name = cf->args->elts;

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"user=\" in \"%V\" directive requires "
                           "\"password=\"", &name[0]);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * "resolve" among the parameters of cx_redis_sentinel or cx_redis_cluster,
 * once at most
 */

static ngx_int_t
ngx_http_cx_redis_resolve_param(ngx_conf_t *cf, ngx_uint_t *resolve)
{
    ngx_str_t   *value;
    ngx_uint_t   i;

    value = cf->args->elts;
    *resolve = 0;

    for (i = 1; i < cf->args->nelts; i++) {
        if (ngx_strcmp(value[i].data, "resolve") == 0) {
            if (*resolve) {
                (void) ngx_http_cx_duplicate_param(cf, &value[i]);
                return NGX_ERROR;
            }

            *resolve = 1;
        }
    }

    return NGX_OK;
}


/*
 * A host of cx_redis_sentinel or cx_redis_cluster, an entry of hosts for
 * each of its addresses; with resolve, a host name is one entry, its
 * name asked of the http block's resolver by each worker that needs it
 * (ngx_http_cx_redis_ask_name()), never here, and an address is kept.
 */

static ngx_int_t
ngx_http_cx_redis_hosts(ngx_conf_t *cf, ngx_http_cx_main_conf_t *cmcf,
    ngx_str_t *value, in_port_t port, ngx_uint_t resolve, ngx_array_t *hosts)
{
    ngx_str_t           *name;
    ngx_url_t            u;
    ngx_uint_t           j;
    ngx_http_cx_addr_t  *a;

    name = cf->args->elts;

    if (resolve) {
        ngx_memzero(&u, sizeof(ngx_url_t));

        u.url = *value;
        u.default_port = port;
        u.no_resolve = 1;

        if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
            if (u.err) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "%s in \"%V\" of the \"%V\" directive",
                                   u.err, &u.url, &name[0]);
            }

            return NGX_ERROR;
        }

        if (u.family != AF_UNIX
            && ngx_inet_addr(u.host.data, u.host.len) == INADDR_NONE
#if (NGX_HAVE_INET6)
            && u.family != AF_INET6
#endif
           )
        {
            a = ngx_array_push(hosts);
            if (a == NULL) {
                return NGX_ERROR;
            }

            a->host.data = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN);
            if (a->host.data == NULL) {
                return NGX_ERROR;
            }

            a->host.len = 0;
            a->port = u.port;
            a->name = u.host;

            if (cmcf->resolve_file == NULL) {
                cmcf->resolve_name = u.host;
                cmcf->resolve_cmd = name[0];
                cmcf->resolve_file = cf->conf_file->file.name.data;
                cmcf->resolve_line = cf->conf_file->line;
            }

            return NGX_OK;
        }
    }

    if (ngx_http_cx_redis_url(cf, value, port, &u) != NGX_OK) {
        return NGX_ERROR;
    }

    for (j = 0; j < u.naddrs; j++) {
        a = ngx_array_push(hosts);
        if (a == NULL) {
            return NGX_ERROR;
        }

        ngx_str_null(&a->name);

        if (ngx_http_cx_redis_addr(cf, &u.addrs[j], &a->host, &a->port)
            != NGX_CONF_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* resolved here, at configuration time, never at request time */

static ngx_int_t
ngx_http_cx_redis_url(ngx_conf_t *cf, ngx_str_t *url, in_port_t port,
    ngx_url_t *u)
{
    ngx_str_t  *name;

    name = cf->args->elts;

    ngx_memzero(u, sizeof(ngx_url_t));

    u->url = *url;
    u->default_port = port;

    if (ngx_parse_url(cf->pool, u) != NGX_OK) {
        if (u->err) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%s in \"%V\" of the \"%V\" directive",
                               u->err, &u->url, &name[0]);
        }

        return NGX_ERROR;
    }

    if (u->naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "host not found in \"%V\" of the \"%V\" "
                           "directive", &u->url, &name[0]);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* an address as the module connects to it: numeric, and a port; a path */

static char *
ngx_http_cx_redis_addr(ngx_conf_t *cf, ngx_addr_t *addr, ngx_str_t *host,
    ngx_int_t *port)
{
    u_char     *p;
    ngx_str_t   s;

#if (NGX_HAVE_UNIX_DOMAIN)
    if (addr->sockaddr->sa_family == AF_UNIX) {
        s.data = (u_char *) ((struct sockaddr_un *) addr->sockaddr)->sun_path;
        s.len = ngx_strlen(s.data);

        p = ngx_pnalloc(cf->pool, s.len + 1);
        if (p == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_cpystrn(p, s.data, s.len + 1);

        host->data = p;
        host->len = s.len;
        *port = 0;

        return NGX_CONF_OK;
    }
#endif

    p = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    host->data = p;
    host->len = ngx_sock_ntop(addr->sockaddr, addr->socklen, p,
                              NGX_SOCKADDR_STRLEN, 0);
    *port = ngx_inet_get_port(addr->sockaddr);

    return NGX_CONF_OK;
}


/*
 * cx_model_cache size [valid=time] [customers=time] | off: a zone of at
 * least 8 pages, as nginx's own zones; "off" takes no parameter.
 */

static char *
ngx_http_cx_model_cache(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cx_main_conf_t *cmcf = conf;

    ssize_t     size;
    ngx_int_t   n;
    ngx_str_t  *value, s;
    ngx_uint_t  i, valid, customers;

    if (cmcf->cache_size != NGX_CONF_UNSET_SIZE) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        if (cf->args->nelts > 2) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\" in "
                               "\"cx_model_cache\" directive, \"off\" "
                               "takes none", &value[2]);
            return NGX_CONF_ERROR;
        }

        cmcf->cache_size = 0;
        return NGX_CONF_OK;
    }

    size = ngx_parse_size(&value[1]);

    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"cx_model_cache\" "
                           "directive, it must be a size or \"off\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    if (size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"cx_model_cache\" of \"%V\" is too "
                           "small, it must be at least 8 pages (%uzk)",
                           &value[1], 8 * ngx_pagesize / 1024);
        return NGX_CONF_ERROR;
    }

    cmcf->cache_size = size;

    valid = 0;
    customers = 0;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "valid=", 6) == 0) {
            if (valid++) {
                return ngx_http_cx_duplicate_param(cf, &value[i]);
            }

            s.data = value[i].data + 6;
            s.len = value[i].len - 6;

            n = ngx_http_cx_parse_bounded(&s, &ngx_http_cx_valid_bounds);
            if (n == NGX_ERROR) {
                return ngx_http_cx_invalid_value(cf, &value[i], "valid",
                                                 &ngx_http_cx_valid_bounds);
            }

            cmcf->cache_valid = n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "customers=", 10) == 0) {
            if (customers++) {
                return ngx_http_cx_duplicate_param(cf, &value[i]);
            }

            s.data = value[i].data + 10;
            s.len = value[i].len - 10;

            n = ngx_http_cx_parse_bounded(&s, &ngx_http_cx_customer_bounds);
            if (n == NGX_ERROR) {
                return ngx_http_cx_invalid_value(cf, &value[i], "customers",
                                                &ngx_http_cx_customer_bounds);
            }

            cmcf->customer_valid = n;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" in \"cx_model_cache\" "
                           "directive, it must be \"valid=\" or "
                           "\"customers=\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_cx_write_behind(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cx_main_conf_t *cmcf = conf;

    ngx_int_t   n;
    ngx_str_t  *value, s;

    if (cmcf->write_behind != NGX_CONF_UNSET_MSEC) {
        return "is duplicate";
    }

    value = cf->args->elts;

    n = ngx_http_cx_parse_bounded(&value[1],
                                  &ngx_http_cx_write_behind_bounds);
    if (n == NGX_ERROR) {
        return ngx_http_cx_invalid_value(cf, &value[1], NULL,
                                         &ngx_http_cx_write_behind_bounds);
    }

    cmcf->write_behind = (ngx_msec_t) n;

    if (cf->args->nelts == 2) {
        return NGX_CONF_OK;
    }

    if (ngx_strncmp(value[2].data, "credits=", 8) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" in \"cx_write_behind\" "
                           "directive, it must be \"credits=\"", &value[2]);
        return NGX_CONF_ERROR;
    }

    s.data = value[2].data + 8;
    s.len = value[2].len - 8;

    n = ngx_http_cx_parse_bounded(&s, &ngx_http_cx_credits_bounds);
    if (n == NGX_ERROR) {
        return ngx_http_cx_invalid_value(cf, &value[2], "credits",
                                         &ngx_http_cx_credits_bounds);
    }

    cmcf->credits = (ngx_uint_t) n;

    return NGX_CONF_OK;
}


static char *
ngx_http_cx(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cx_loc_conf_t *clcf = conf;

    char  *rv;

    rv = ngx_conf_set_flag_slot(cf, cmd, conf);

    if (rv == NGX_CONF_OK && clcf->enable) {
        ngx_http_cx_needs_redis(cf, "cx");
    }

    return rv;
}


/*
 * Remembers the first directive that needs Redis: workers connect only
 * then, and without cx_redis it is the one the error names.
 */

void
ngx_http_cx_needs_redis(ngx_conf_t *cf, const char *directive)
{
    ngx_http_cx_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_cx_module);

    if (cmcf->on_file == NULL) {
        cmcf->on_file = cf->conf_file->file.name.data;
        cmcf->on_line = cf->conf_file->line;
        cmcf->on_directive = directive;
    }
}


/*
 * cx_cookie name [max_age=time] [secure] [samesite=lax|strict|none]
 *     [if=condition]
 *
 * The name is read back as $cookie_NAME, whose name nginx ends at any
 * character but a letter, a digit or "_".  Attributes are taken in any
 * case, as browsers take them; "if=" is nginx's own, as access_log's.
 */

static char *
ngx_http_cx_cookie(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cx_loc_conf_t *clcf = conf;

    u_char                            c;
    ngx_str_t                        *value, s;
    ngx_uint_t                        i;
    ngx_http_compile_complex_value_t  ccv;

    if (clcf->cookie.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (i = 0; i < value[1].len; i++) {
        c = value[1].data[i];

        if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z')
            && !(c >= '0' && c <= '9') && c != '_')
        {
            break;
        }
    }

    if (value[1].len == 0 || i < value[1].len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid cookie name \"%V\" in \"cx_cookie\" "
                           "directive, it may only contain letters, digits "
                           "and \"_\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    clcf->cookie = value[1];

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncasecmp(value[i].data, (u_char *) "max_age=", 8) == 0) {
            if (clcf->cookie_max_age != NGX_CONF_UNSET) {
                return ngx_http_cx_duplicate_param(cf, &value[i]);
            }

            s.data = value[i].data + 8;
            s.len = value[i].len - 8;

            clcf->cookie_max_age = ngx_http_cx_parse_bounded(&s,
                                                    &ngx_http_cx_ttl_bounds);

            if (clcf->cookie_max_age == NGX_ERROR) {
                return ngx_http_cx_invalid_value(cf, &value[i], "max_age",
                                                 &ngx_http_cx_ttl_bounds);
            }

            continue;
        }

        if (ngx_strcasecmp(value[i].data, (u_char *) "secure") == 0) {
            if (clcf->cookie_secure) {
                return ngx_http_cx_duplicate_param(cf, &value[i]);
            }

            clcf->cookie_secure = 1;
            continue;
        }

        if (ngx_strncasecmp(value[i].data, (u_char *) "samesite=", 9) == 0) {
            if (clcf->cookie_samesite.len) {
                return ngx_http_cx_duplicate_param(cf, &value[i]);
            }

            s.data = value[i].data + 9;
            s.len = value[i].len - 9;

            if (s.len == 3 && ngx_strncasecmp(s.data, (u_char *) "lax", 3)
                              == 0)
            {
                ngx_str_set(&clcf->cookie_samesite, "Lax");

            } else if (s.len == 6
                       && ngx_strncasecmp(s.data, (u_char *) "strict", 6)
                          == 0)
            {
                ngx_str_set(&clcf->cookie_samesite, "Strict");

            } else if (s.len == 4
                       && ngx_strncasecmp(s.data, (u_char *) "none", 4) == 0)
            {
                ngx_str_set(&clcf->cookie_samesite, "None");

            } else {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid value \"%V\" in \"cx_cookie\" "
                                   "directive, \"samesite\" must be \"lax\", "
                                   "\"strict\" or \"none\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "if=", 3) == 0) {
            if (clcf->cookie_if) {
                return ngx_http_cx_duplicate_param(cf, &value[i]);
            }

            s.data = value[i].data + 3;
            s.len = value[i].len - 3;

            if (s.len == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid value \"%V\" in \"cx_cookie\" "
                                   "directive, \"if\" must not be empty",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            clcf->cookie_if = ngx_palloc(cf->pool,
                                         sizeof(ngx_http_complex_value_t));
            if (clcf->cookie_if == NULL) {
                return NGX_CONF_ERROR;
            }

            ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

            ccv.cf = cf;
            ccv.value = &s;
            ccv.complex_value = clcf->cookie_if;

            if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" in \"cx_cookie\" "
                           "directive, it must be \"max_age=\", \"secure\", "
                           "\"samesite=\" or \"if=\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    if (clcf->cookie_samesite.len == 4 && !clcf->cookie_secure) {
        return "needs \"secure\" with \"samesite=none\"";
    }

    return NGX_CONF_OK;
}


/* a factor from 0 to 1 with at most three decimals, in 1/1000 */

static char *
ngx_http_cx_set_factor_slot(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_int_t    n;
    ngx_str_t   *value;
    ngx_uint_t  *np;

    np = (ngx_uint_t *) (p + cmd->offset);

    if (*np != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    n = ngx_atofp(value[1].data, value[1].len, 3);
    if (n == NGX_ERROR || n > 1000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"%V\" directive, "
                           "it must be a number from 0 to 1 with at most "
                           "three decimals", &value[1], &cmd->name);
        return NGX_CONF_ERROR;
    }

    *np = n;

    return NGX_CONF_OK;
}


/* cx_holdout 5%: a percentage with at most two decimals, "%" optional */

static char *
ngx_http_cx_holdout(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cx_loc_conf_t *clcf = conf;

    size_t      len;
    ngx_int_t   n;
    ngx_str_t  *value;

    if (clcf->holdout != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    len = value[1].len;

    if (len && value[1].data[len - 1] == '%') {
        len--;
    }

    n = ngx_atofp(value[1].data, len, 2);
    if (n == NGX_ERROR || n > 10000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"cx_holdout\" "
                           "directive, it must be a percentage between 0 "
                           "and 100 with at most two decimals", &value[1]);
        return NGX_CONF_ERROR;
    }

    clcf->holdout = n;

    return NGX_CONF_OK;
}


/*
 * cx_levels returning=N [expert=M]: a parameter not given is its default,
 * not what the level above sets; the error says so.
 */

static char *
ngx_http_cx_levels(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cx_loc_conf_t *clcf = conf;

    char        *name;
    ngx_int_t    n;
    ngx_str_t   *value, v;
    ngx_uint_t   i, *level;

    if (clcf->returning != NGX_CONF_UNSET_UINT
        || clcf->expert != NGX_CONF_UNSET_UINT)
    {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "returning=", 10) == 0) {
            name = "returning";
            level = &clcf->returning;

        } else if (ngx_strncmp(value[i].data, "expert=", 7) == 0) {
            name = "expert";
            level = &clcf->expert;

        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\" in \"cx_levels\" "
                               "directive, it must be \"returning=\" or "
                               "\"expert=\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        if (*level != NGX_CONF_UNSET_UINT) {
            return ngx_http_cx_duplicate_param(cf, &value[i]);
        }

        v.data = value[i].data + ngx_strlen(name) + 1;
        v.len = value[i].len - ngx_strlen(name) - 1;

        n = ngx_http_cx_parse_bounded(&v, &ngx_http_cx_level_bounds);
        if (n == NGX_ERROR) {
            return ngx_http_cx_invalid_value(cf, &value[i], name,
                                             &ngx_http_cx_level_bounds);
        }

        *level = n;
    }

    if (clcf->returning == NGX_CONF_UNSET_UINT) {
        clcf->returning = NGX_HTTP_CX_RETURNING;
    }

    if (clcf->expert == NGX_CONF_UNSET_UINT) {
        clcf->expert = NGX_HTTP_CX_EXPERT;

        if (clcf->expert < clcf->returning) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"cx_levels\" directive needs \"expert\" at "
                               "least \"returning\", and \"expert\" is %d "
                               "when not given", NGX_HTTP_CX_EXPERT);
            return NGX_CONF_ERROR;
        }
    }

    if (clcf->expert < clcf->returning) {
        return "needs \"expert\" at least \"returning\"";
    }

    return NGX_CONF_OK;
}


/*
 * cx_pace hurried=time [relaxed=time]; "hurried=0": nobody is hurried.  A
 * parameter not given is its default, as in cx_levels.
 */

static char *
ngx_http_cx_pace_directive(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cx_loc_conf_t *clcf = conf;

    char                  *name;
    ngx_int_t              n;
    ngx_str_t             *value, s;
    ngx_msec_t            *ms, dflt;
    ngx_uint_t             i;
    ngx_http_cx_bounds_t  *bounds;

    if (clcf->hurried != NGX_CONF_UNSET_MSEC
        || clcf->relaxed != NGX_CONF_UNSET_MSEC)
    {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "hurried=", 8) == 0) {
            name = "hurried";
            ms = &clcf->hurried;
            bounds = &ngx_http_cx_hurried_bounds;

        } else if (ngx_strncmp(value[i].data, "relaxed=", 8) == 0) {
            name = "relaxed";
            ms = &clcf->relaxed;
            bounds = &ngx_http_cx_relaxed_bounds;

        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\" in \"cx_pace\" "
                               "directive, it must be \"hurried=\" or "
                               "\"relaxed=\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        if (*ms != NGX_CONF_UNSET_MSEC) {
            return ngx_http_cx_duplicate_param(cf, &value[i]);
        }

        s.data = value[i].data + 8;
        s.len = value[i].len - 8;

        n = ngx_http_cx_parse_bounded(&s, bounds);
        if (n == NGX_ERROR) {
            return ngx_http_cx_invalid_value(cf, &value[i], name, bounds);
        }

        *ms = n;
    }

    name = NULL;
    dflt = 0;

    if (clcf->hurried == NGX_CONF_UNSET_MSEC) {
        clcf->hurried = NGX_HTTP_CX_HURRIED;
        name = "hurried";
        dflt = NGX_HTTP_CX_HURRIED;
    }

    if (clcf->relaxed == NGX_CONF_UNSET_MSEC) {
        clcf->relaxed = NGX_HTTP_CX_RELAXED;
        name = "relaxed";
        dflt = NGX_HTTP_CX_RELAXED;
    }

    if (clcf->relaxed > clcf->hurried) {
        return NGX_CONF_OK;
    }

    if (name) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"cx_pace\" directive needs \"relaxed\" longer "
                           "than \"hurried\", and \"%s\" is %Ms when not "
                           "given", name, dflt / 1000);
        return NGX_CONF_ERROR;
    }

    return "needs \"relaxed\" longer than \"hurried\"";
}


/*
 * cx_time, cx_inject_template, cx_inject_item_template, cx_skip: variables
 * or text, none empty (an empty one would mean nothing, or never).
 */

static char *
ngx_http_cx_set_complex_value_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    if (ngx_http_cx_not_empty(cf, cmd) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return ngx_http_set_complex_value_slot(cf, cmd, conf);
}


static char *
ngx_http_cx_set_predicate_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    if (ngx_http_cx_not_empty(cf, cmd) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return ngx_http_set_predicate_slot(cf, cmd, conf);
}


static ngx_int_t
ngx_http_cx_not_empty(ngx_conf_t *cf, ngx_command_t *cmd)
{
    ngx_str_t   *value;
    ngx_uint_t   i;

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (value[i].len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid value \"\" in \"%V\" directive, "
                               "it must not be empty", &cmd->name);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* the secret itself is never written to the log */

static char *
ngx_http_cx_secret(ngx_conf_t *cf, void *post, void *data)
{
    ngx_str_t  *secret = data;

    if (secret->len < NGX_HTTP_CX_SECRET_MIN) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value in \"cx_secret\" directive, "
                           "it must be at least %d bytes long",
                           NGX_HTTP_CX_SECRET_MIN);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* cx_inject_text [next=text] [shortcut=text] */

static char *
ngx_http_cx_inject_text(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cx_loc_conf_t *clcf = conf;

    char        *err;
    size_t       n;
    ngx_str_t   *value, *text;
    ngx_uint_t   i;

    if (clcf->text_next.data || clcf->text_shortcut.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "next=", 5) == 0) {
            text = &clcf->text_next;

        } else if (ngx_strncmp(value[i].data, "shortcut=", 9) == 0) {
            text = &clcf->text_shortcut;

        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\" in "
                               "\"cx_inject_text\" directive, it must be "
                               "\"next=\" or \"shortcut=\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        if (text->data) {
            return ngx_http_cx_duplicate_param(cf, &value[i]);
        }

        n = (text == &clcf->text_next) ? 5 : 9;
        text->data = value[i].data + n;
        text->len = value[i].len - n;

        /* the block's label: an empty one would name nothing */

        err = (text->len == 0 && text == &clcf->text_next)
              ? "is empty" : ngx_http_cx_text_check(text->data, text->len);

        if (err) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "the \"cx_inject_text\" value of \"%*s\" %s",
                               value[i].len - text->len - 1, value[i].data,
                               err);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_cx_prefix(ngx_conf_t *cf, void *post, void *data)
{
    ngx_str_t  *prefix = data;

    ngx_uint_t  i;

    for (i = 0; i < prefix->len; i++) {
        if (!ngx_http_cx_safe_char(prefix->data[i])) {
            break;
        }
    }

    if (prefix->len == 0 || prefix->len > NGX_HTTP_CX_PREFIX_MAX
        || i < prefix->len)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"cx_prefix\" directive, "
                           "it must be 1 to %d letters, digits or "
                           "\"-._~/:@!;=+*\"", prefix, NGX_HTTP_CX_PREFIX_MAX);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * A number, a time in ms or a time in seconds within bounds: what nginx's
 * own slots parse, with an error that says what is allowed, also for a
 * value they could not parse ("-1", "500ms" where seconds are taken).
 */

static char *
ngx_http_cx_set_bounded_slot(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    time_t                *sp;
    ngx_int_t              n;
    ngx_str_t             *value;
    ngx_uint_t            *np;
    ngx_msec_t            *msp;
    ngx_http_cx_bounds_t  *bounds;

    bounds = cmd->post;
    value = cf->args->elts;

    n = ngx_http_cx_parse_bounded(&value[1], bounds);
    if (n == NGX_ERROR) {
        return ngx_http_cx_invalid_value(cf, &value[1], NULL, bounds);
    }

    switch (bounds->type) {

    case NGX_HTTP_CX_MSEC:
        msp = (ngx_msec_t *) (p + cmd->offset);
        if (*msp != NGX_CONF_UNSET_MSEC) {
            return "is duplicate";
        }

        *msp = (ngx_msec_t) n;
        break;

    case NGX_HTTP_CX_SEC:
        sp = (time_t *) (p + cmd->offset);
        if (*sp != NGX_CONF_UNSET) {
            return "is duplicate";
        }

        *sp = (time_t) n;
        break;

    default: /* NGX_HTTP_CX_NUMBER */
        np = (ngx_uint_t *) (p + cmd->offset);
        if (*np != NGX_CONF_UNSET_UINT) {
            return "is duplicate";
        }

        *np = (ngx_uint_t) n;
    }

    return NGX_CONF_OK;
}


/* the value of s if it is within bounds, or NGX_ERROR */

static ngx_int_t
ngx_http_cx_parse_bounded(ngx_str_t *s, ngx_http_cx_bounds_t *bounds)
{
    ngx_int_t  n;

    switch (bounds->type) {

    case NGX_HTTP_CX_MSEC:
        n = ngx_parse_time(s, 0);
        break;

    case NGX_HTTP_CX_SEC:
        n = ngx_parse_time(s, 1);
        break;

    default: /* NGX_HTTP_CX_NUMBER */
        n = ngx_atoi(s->data, s->len);
    }

    if (n == NGX_ERROR || n < bounds->low || n > bounds->high) {
        return NGX_ERROR;
    }

    return n;
}


/*
 * As ngx_conf_set_flag_slot() words it, with what is allowed: of the
 * directive's value, or of one of its "param=" parameters.
 */

static char *
ngx_http_cx_invalid_value(ngx_conf_t *cf, ngx_str_t *value, char *param,
    ngx_http_cx_bounds_t *bounds)
{
    ngx_str_t  *name;

    name = cf->args->elts;

    if (param) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"%V\" directive, "
                           "\"%s\" must be %s", value, &name[0], param,
                           bounds->allowed);

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"%V\" directive, "
                           "it must be %s", value, &name[0],
                           bounds->allowed);
    }

    return NGX_CONF_ERROR;
}


static char *
ngx_http_cx_duplicate_param(ngx_conf_t *cf, ngx_str_t *param)
{
    ngx_str_t  *name;

    name = cf->args->elts;

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "duplicate parameter \"%V\" in \"%V\" directive",
                       param, &name[0]);

    return NGX_CONF_ERROR;
}
