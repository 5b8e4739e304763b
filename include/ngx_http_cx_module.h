
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
#define NGX_HTTP_CX_LABEL_MAX     256     /* a label, written or expanded */
#define NGX_HTTP_CX_MEMBER_MAX    (NGX_HTTP_CX_NAME_MAX + 1                  \
                                   + NGX_HTTP_CX_URL_MAX)
#define NGX_HTTP_CX_ID_MAX        256     /* longest customer id accepted */
#define NGX_HTTP_CX_PREFIX_MAX    64
#define NGX_HTTP_CX_KEY_MAX       (NGX_HTTP_CX_PREFIX_MAX + 64               \
                                   + NGX_HTTP_CX_NAME_MAX + 16)
/* P{16 hex digits}:seq and the like */
#define NGX_HTTP_CX_CKEY_MAX      (NGX_HTTP_CX_PREFIX_MAX + 24)
#define NGX_HTTP_CX_SLOTS         16384   /* of a Redis Cluster */
/* a personal transition: "from name url" */
#define NGX_HTTP_CX_HABIT_MAX     (NGX_HTTP_CX_NAME_MAX + 1                  \
                                   + NGX_HTTP_CX_MEMBER_MAX)
#define NGX_HTTP_CX_SUGGEST_MAX   20
#define NGX_HTTP_CX_FANOUT        100     /* successors read per step */
#define NGX_HTTP_CX_KEYS          4       /* uint64_t: a login's, a visitor's */
#define NGX_HTTP_CX_SECRET_MIN    16      /* cx_secret, bytes at least */
#define NGX_HTTP_CX_COOKIE_ID_LEN 32      /* 128 random bits, hex */
#define NGX_HTTP_CX_RECENT        16      /* steps read back per request */
#define NGX_HTTP_CX_PATHS         10      /* goal paths kept per customer */
#define NGX_HTTP_CX_PATHS_STOP    "9"     /* LRANGE, LTRIM 0 PATHS-1 */
#define NGX_HTTP_CX_PATH_STEPS    (NGX_HTTP_CX_RECENT + 1)  /* and goal */
#define NGX_HTTP_CX_PATH_MAX      (NGX_HTTP_CX_PATH_STEPS                    \
                                   * (NGX_HTTP_CX_MEMBER_MAX + 1))
#define NGX_HTTP_CX_CANDIDATES    64      /* candidates ranked at most */
#define NGX_HTTP_CX_BLEND_TOP     32      /* and of each earlier step */
#define NGX_HTTP_CX_UNSEEN        ((ngx_uint_t) -1) /* ngx_http_cx_blend() */
#define NGX_HTTP_CX_JOURNEY_MAX   8       /* cx_journey_steps at most */
#define NGX_HTTP_CX_HABITS        64      /* transitions kept per customer */
#define NGX_HTTP_CX_LOGIN_HOLD    "3600"  /* s, EX of a login's claim */
#define NGX_HTTP_CX_LOGIN_PUSH    16      /* steps per RPUSH of a login */
#define NGX_HTTP_CX_FANOUT_KEEP   256     /* successors kept per step */
#define NGX_HTTP_CX_FANOUT_ROOM   "-256"  /* ZREMRANGEBYRANK 0 -KEEP */
#define NGX_HTTP_CX_FANOUT_STOP   "99"    /* ZREVRANGE 0 FANOUT-1 */
#define NGX_HTTP_CX_RENEW         16      /* TTLs renewed every cx_ttl/16 */
#define NGX_HTTP_CX_UNSENT        8       /* steps a copy counts unsent */
#define NGX_HTTP_CX_LEARN_DAY     500     /* steps learned per customer/day */
#define NGX_HTTP_CX_RATE          3000    /* ms per step learned, */
#define NGX_HTTP_CX_RATE_BURST    20      /* after as many at once */
#define NGX_HTTP_CX_EPOCH         32      /* half-lives per decay epoch */
#define NGX_HTTP_CX_SCORE_MAX     1e300   /* larger scores are not ours */
#define NGX_HTTP_CX_SCORE_LEN     63      /* nor longer ones */
#define NGX_HTTP_CX_JLEN_MAX      1000000 /* larger state values neither */
#define NGX_HTTP_CX_COUNT_MAX     1000000000
/* an offer as the state keeps it: 8 hex digits per url, ":" shortcut */
#define NGX_HTTP_CX_OFFER_MAX     (8 * NGX_HTTP_CX_SUGGEST_MAX + 9)
#define NGX_HTTP_CX_STATE_ALL     11      /* fields of the state hash */
/* fields of a customer's hash looked at: the state, "r", transitions */
#define NGX_HTTP_CX_FIELDS_MAX    (NGX_HTTP_CX_STATE_ALL + 1                 \
                                   + 2 * NGX_HTTP_CX_HABITS)
#define NGX_HTTP_CX_READS         8       /* reads of one batch at most */
/* a step's successors, this epoch's and the previous one's */
#define NGX_HTTP_CX_RULES         (2 * NGX_HTTP_CX_FANOUT)
/* what a model's cache entry is kept for: "prefix name" */
#define NGX_HTTP_CX_MODEL_ID_MAX  (NGX_HTTP_CX_PREFIX_MAX + 1                \
                                   + NGX_HTTP_CX_NAME_MAX)


enum {
    NGX_HTTP_CX_LEVEL_NEW = 0,
    NGX_HTTP_CX_LEVEL_RETURNING,
    NGX_HTTP_CX_LEVEL_EXPERT
};


enum {
    NGX_HTTP_CX_PACE_STEADY = 0,
    NGX_HTTP_CX_PACE_HURRIED,
    NGX_HTTP_CX_PACE_RELAXED
};


enum {
    NGX_HTTP_CX_REASON_POPULAR = 0,
    NGX_HTTP_CX_REASON_PERSONAL,
    NGX_HTTP_CX_REASON_HELP,
    NGX_HTTP_CX_REASON_SHORTCUT
};


/* $cx_variant: a customer held out gets no suggestions (cx_holdout) */
enum {
    NGX_HTTP_CX_TREATMENT = 0,
    NGX_HTTP_CX_HOLDOUT
};

#define NGX_HTTP_CX_VARIANTS        2


/* what a step did with the previous step's offer: none, a rank, this */
#define NGX_HTTP_CX_FOLLOW_NONE     0
#define NGX_HTTP_CX_FOLLOW_SHORTCUT (NGX_HTTP_CX_SUGGEST_MAX + 1)


enum {
    NGX_HTTP_CX_BYPASS = 0,
    NGX_HTTP_CX_HIT,
    NGX_HTTP_CX_MISS,
    NGX_HTTP_CX_TIMEOUT,
    NGX_HTTP_CX_ERROR,
    NGX_HTTP_CX_UNASKED,        /* nothing read the answer: not made */
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
    ngx_str_t                   label;      /* label=, without captures */
    ngx_http_cx_tpl_t           label_tpl;  /* label= with captures */
    ngx_uint_t                  metric;     /* its name's, step_names */
    ngx_uint_t                  next;       /* an exact step's: the next */
                                            /* of its bucket, index + 1 */
} ngx_http_cx_step_t;


/* a step named by a directive, with where it was named */
typedef struct {
    ngx_str_t                   name;
    u_char                     *file;
    ngx_uint_t                  line;
} ngx_http_cx_named_t;


/* a cx_id source; one that is a cookie alone is a visitor's id */
typedef struct {
    ngx_http_complex_value_t    value;
    ngx_str_t                   cookie;         /* its name, or empty */
} ngx_http_cx_id_t;


/* a step of one journey: expanded name and url */
typedef struct {
    ngx_str_t                   name;
    ngx_str_t                   url;
} ngx_http_cx_ref_t;


/* a suggestion as shown: the list, then the shortcut */
typedef struct {
    ngx_str_t                   name;
    ngx_str_t                   url;
    ngx_str_t                   label;      /* escaped where it is shown */
    double                      score;
    ngx_uint_t                  reason;
} ngx_http_cx_item_t;


/* a ranked candidate */
typedef struct {
    ngx_http_cx_ref_t           ref;
    double                      shared;     /* decayed rule weight */
    double                      personal;   /* the customer's own count */
    double                      score;
    ngx_uint_t                  reason;
    uint64_t                    key;        /* ngx_http_cx_key() of url */
} ngx_http_cx_cand_t;


/* what Redis knows of a customer, from the state hash */
typedef struct {
    int64_t                     ts;         /* last step, ms */
    ngx_uint_t                  jlen;       /* steps in the journey */
    ngx_uint_t                  goals;      /* journeys completed */
    double                      gap;        /* EWMA of gaps, ms */
    ngx_uint_t                  ngaps;
    ngx_uint_t                  lday;       /* day of the learning budget */
    ngx_uint_t                  learned;    /* steps learned that day */
    int64_t                     lstart;     /* the learning day's 1st, ms */
    ngx_uint_t                  used;       /* the journey took an offer */
    ngx_uint_t                  noffer;     /* what the last step offered: */
    uint32_t                    offer[NGX_HTTP_CX_SUGGEST_MAX]; /* urls */
    uint32_t                    shortcut;   /* hashed; 0: none */
    ngx_uint_t                  pushed;     /* steps since the last LTRIM */
    ngx_uint_t                  unsure;     /* a field read was not ours */
} ngx_http_cx_state_t;


/* what Redis knows of a customer, all of it: the batch's reads */
typedef struct {
    ngx_http_cx_state_t         state;
    ngx_uint_t                  nrecent;
    ngx_uint_t                  nhabits;
    ngx_uint_t                  npaths;
    ngx_str_t                   recent[NGX_HTTP_CX_RECENT]; /* newest 1st */
    ngx_str_t                   habits[NGX_HTTP_CX_HABITS]; /* heaviest */
    double                      habits_w[NGX_HTTP_CX_HABITS];
    ngx_str_t                   paths[NGX_HTTP_CX_PATHS];   /* newest 1st */
} ngx_http_cx_customer_t;


/*
 * An address resolved at configuration time; with resolve, a host name
 * asked in the workers, host its last answer (empty until one came)
 */
typedef struct {
    ngx_str_t                   host;           /* numeric, or a path */
    ngx_int_t                   port;           /* 0: unix socket */
    ngx_str_t                   name;           /* resolve: the name */
} ngx_http_cx_addr_t;


/* cx_redis_tls_*: how a connection with TLS is made and checked */
typedef struct {
#if (NGX_SSL)
    ngx_ssl_t                  *ssl;
#endif
    ngx_str_t                   name;           /* cx_redis_tls_name */
    ngx_flag_t                  verify;         /* cx_redis_tls_verify */
    ngx_uint_t                  verify_depth;   /* cx_redis_tls_verify_depth */
    ngx_str_t                   trusted;        /* ..._trusted_certificate */
    ngx_str_t                   certificate;    /* cx_redis_tls_certificate */
    ngx_str_t                   certificate_key; /* ..._certificate_key */
} ngx_http_cx_tls_t;


typedef struct {
    ngx_str_t                   redis_name;     /* cx_redis, as written, */
                                                /* or the master name */
    ngx_str_t                   redis_host;     /* numeric, or a path */
    ngx_int_t                   redis_port;     /* 0: unix socket */
    ngx_str_t                   redis_user;     /* its user= */
    ngx_str_t                   redis_password;
    ngx_int_t                   redis_db;
    ngx_str_t                   redis_resolve;  /* its resolve: the name */
    ngx_str_t                   resolve_name;   /* any resolve: a name, */
    ngx_str_t                   resolve_cmd;    /* its directive, where */
    u_char                     *resolve_file;
    ngx_uint_t                  resolve_line;
    ngx_resolver_t             *resolver;       /* http's resolver */
    ngx_msec_t                  resolver_timeout;
    ngx_array_t                *sentinels;      /* cx_redis_sentinel, */
                                                /* ngx_http_cx_addr_t */
    ngx_str_t                   sentinel_password;
    ngx_flag_t                  redis_tls;      /* its tls */
    ngx_flag_t                  sentinel_tls;   /* its sentinel_tls */
    ngx_http_cx_tls_t           tls;            /* cx_redis_tls_* */
    ngx_array_t                *cluster;        /* cx_redis_cluster's */
                                                /* seeds, ngx_http_cx_addr_t */
    ngx_msec_t                  timeout;        /* cx_timeout */
    ngx_msec_t                  connect_timeout; /* cx_connect_timeout */
    ngx_uint_t                  history;        /* cx_history */
    ngx_uint_t                  max_pending;    /* cx_max_pending */
    ngx_uint_t                  distance;       /* cx_rule_distance */
    ngx_uint_t                  reverse;        /* cx_rule_reverse, 1/1000 */
    ngx_uint_t                  journey_steps;  /* cx_journey_steps */
    ngx_msec_t                  half_life;      /* cx_half_life */
    ngx_msec_t                  journey_gap;    /* cx_journey_gap */
    ngx_msec_t                  write_behind;   /* cx_write_behind */
    ngx_uint_t                  credits;        /* its credits= */

    ngx_str_t                   trim_text;      /* history - 1, LTRIM */
    uint64_t                   *builtin_keys;   /* derived without cx_secret */

    u_char                     *on_file;        /* first "cx on" or cx_api */
    ngx_uint_t                  on_line;
    const char                 *on_directive;

    ngx_msec_t                  customer_valid; /* cx_customer_cache */

    ngx_flag_t                  metrics;        /* a cx_metrics location */
    ngx_flag_t                  api;            /* a cx_api location */
    ngx_flag_t                  asked;          /* the answer named, or api */
    ngx_array_t                *step_names;     /* each cx_step's, once */
    ngx_shm_zone_t             *metrics_zone;

    size_t                      cache_size;     /* cx_model_cache, 0: off */
    ngx_msec_t                  cache_valid;    /* its valid= */
    ngx_shm_zone_t             *cache_zone;
} ngx_http_cx_main_conf_t;


/* a shop: the keys its requests read and write */
typedef struct {
    ngx_str_t                   prefix;         /* cx_prefix */
    ngx_str_t                   secret;         /* cx_secret */
    uint64_t                   *hash_keys;      /* derived from secret */
    time_t                      ttl;            /* cx_ttl */
    ngx_str_t                   ttl_text;       /* for EXPIRE */
} ngx_http_cx_srv_conf_t;


typedef struct {
    ngx_flag_t                  enable;         /* cx */
    ngx_array_t                *ids;            /* cx_id, ngx_http_cx_id_t */
    ngx_str_t                   id_cookie_name; /* the last source, */
                                                /* $cookie_NAME: NAME */
    ngx_http_complex_value_t   *time;           /* cx_time */
    ngx_str_t                   cookie;         /* cx_cookie */
    time_t                      cookie_max_age;
    ngx_uint_t                  cookie_secure;
    ngx_str_t                   cookie_samesite;
    ngx_str_t                   cookie_attrs;   /* "; Path=/; ..." */
    ngx_http_complex_value_t   *cookie_if;      /* cx_cookie if=, consent */
    ngx_flag_t                  privacy;        /* cx_privacy_signals */
    ngx_array_t                *steps;          /* cx_step */
    ngx_uint_t                 *exact;          /* their exact ones by */
                                                /* name, index + 1 */
    ngx_flag_t                  labelled;       /* a step with label= */
    ngx_http_cx_named_t         goal;           /* cx_goal */
    ngx_uint_t                  suggest;        /* cx_suggest */
    ngx_flag_t                  header;         /* cx_header */
    ngx_flag_t                  prefetch;       /* cx_prefetch */
    ngx_flag_t                  inject;         /* cx_inject */
    ngx_http_complex_value_t   *template;       /* cx_inject_template */
    ngx_http_complex_value_t   *item_template;  /* cx_inject_item_template */
    ngx_str_t                   text_next;      /* cx_inject_text */
    ngx_str_t                   text_shortcut;
    ngx_uint_t                  demote;         /* cx_demote, in 1/1000 */
    ngx_uint_t                  revisit;        /* cx_revisit, in 1/1000 */
    ngx_uint_t                  returning;      /* cx_levels */
    ngx_uint_t                  expert;
    ngx_msec_t                  hurried;        /* cx_pace */
    ngx_msec_t                  relaxed;
    ngx_http_cx_named_t         help;           /* cx_help */
    ngx_http_cx_ref_t           help_ref;
    ngx_array_t                *shortcut_steps; /* cx_shortcut */
    ngx_array_t                *shortcuts;      /* their names, ngx_str_t */
    ngx_array_t                *skip;           /* cx_skip */
    ngx_uint_t                  holdout;        /* cx_holdout, 1/100 % */
} ngx_http_cx_loc_conf_t;


/* the location shows a step's answer: X-CX-*, Link, the block */
#define ngx_http_cx_shows(clcf)                                               \
    ((clcf)->header || (clcf)->prefetch || (clcf)->inject)


typedef struct ngx_http_cx_ctx_s  ngx_http_cx_ctx_t;

typedef struct ngx_http_cx_conn_s  ngx_http_cx_conn_t;

/* a reply's callback: reply NULL when the connection went away */
typedef void (*ngx_http_cx_redis_cb_pt)(ngx_http_cx_conn_t *cn,
    void *reply, void *privdata);
typedef void (*ngx_http_cx_conn_handler_pt)(ngx_http_cx_conn_t *cn,
    ngx_int_t rc);


/* a wait for a reply: ngx_http_cx_conn.c */
typedef struct {
    ngx_http_cx_redis_cb_pt     fn;
    void                       *data;
} ngx_http_cx_wait_t;


/*
 * A connection to Redis, on nginx's own connection (plain or TLS):
 * hiredis formats nothing and reads nothing here, its reader only
 * parses what arrives.  ngx_http_cx_conn.c.
 */
struct ngx_http_cx_conn_s {
    void                       *data;           /* its owner's */
    ngx_http_cx_conn_handler_pt connected;      /* NGX_OK or NGX_ERROR */
    ngx_http_cx_conn_handler_pt disconnected;   /* once connected */
    ngx_http_cx_redis_cb_pt     push;           /* subscribed: messages */
    void                       *push_data;
    ngx_uint_t                  err;            /* errstr says what */
    char                        errstr[256];

    ngx_connection_t           *connection;
    ngx_peer_connection_t       peer;
    ngx_sockaddr_t              sockaddr;
    u_char                      text[NGX_SOCKADDR_STRLEN + NGX_INT_T_LEN];
    ngx_str_t                   name;           /* host:port */
    ngx_str_t                   host;           /* its host */
    ngx_log_t                   log;            /* nginx's lines caught */
    ngx_log_t                  *base;
    ngx_http_cx_tls_t          *tls;
    void                      **session;        /* TLS, kept to reuse */
    void                       *reader;         /* hiredis's redisReader */
    ngx_uint_t                  elements;       /* of the reply being read */
    ngx_event_t                 flush;

    u_char                     *out;            /* commands to send */
    size_t                      out_pos;
    size_t                      out_last;
    size_t                      out_size;

    ngx_http_cx_wait_t         *wait;           /* a ring, FIFO */
    ngx_uint_t                  nwait;          /* its size, a power of 2 */
    ngx_uint_t                  head;
    ngx_uint_t                  tail;

    unsigned                    connecting:1;
    unsigned                    up:1;           /* connected: TCP, TLS */
    unsigned                    in_callback:1;
    unsigned                    freeing:1;      /* once it returns */
    unsigned                    disconnecting:1; /* once all answered */
};


/* one command batch in flight; outlives the request that sent it */
typedef struct ngx_http_cx_slot_s  ngx_http_cx_slot_t;

struct ngx_http_cx_slot_s {
    ngx_http_cx_slot_t         *next;           /* free list */
    ngx_http_cx_ctx_t          *ctx;            /* NULL: request gone */
    uint64_t                    hash;           /* the customer */
    int64_t                     now;            /* ms */
    int64_t                     epoch;          /* decay epoch of now */
    double                      weight;         /* decay weight of now */
    ngx_uint_t                  fresh;          /* id just issued */
    ngx_uint_t                  kept;           /* the customer's copy */
    ngx_uint_t                  count;          /* steps to HINCRBY */
    ngx_uint_t                  unsent;         /* and the copy's, too */
    ngx_uint_t                  errors;         /* error replies so far */
    uint64_t                    sent;           /* us, metric_clock() */
    ngx_http_cx_state_t         state;
    uint64_t                    anon;           /* a login's: merged from */
    ngx_http_cx_customer_t     *visit;          /* what anon's hash told */
    ngx_http_cx_srv_conf_t     *shop;           /* the request's keys */
    size_t                      name_len;
    size_t                      member_len;
    u_char                      member[NGX_HTTP_CX_MEMBER_MAX];

    /* a step's batch, or a refresh of the model (a pool, no request) */
    ngx_pool_t                 *pool;           /* a refresh's */
    ngx_uint_t                  cached;         /* the model is not read */
    ngx_str_t                  *past;           /* the previous epoch's */
    double                     *past_w;         /* rules, weights scaled */
    ngx_uint_t                  npast;
    ngx_uint_t                  pasted;         /* those answered */
    ngx_str_t                  *rules;          /* this epoch's, answered */
    double                     *rules_w;        /* before them: kept */
    ngx_uint_t                  nrules;
    ngx_uint_t                  batch;          /* its reads are counted: */
    ngx_uint_t                  reads;          /* sent */
    ngx_uint_t                  replies;        /* and answered */
    ngx_uint_t                  reading;        /* the read answered */
    ngx_uint_t                  gone;           /* reads answered NULL */
    ngx_uint_t                  hashed;         /* the customer's is in */
    ngx_uint_t                  pathed;         /* their paths, before */
    ngx_http_cx_redis_cb_pt     read[NGX_HTTP_CX_READS];    /* handlers */
};


struct ngx_http_cx_ctx_s {
    ngx_http_request_t         *request;
    ngx_http_cx_loc_conf_t     *conf;           /* where the step was */
    ngx_uint_t                  status;
    ngx_http_cx_ref_t           step;
    ngx_http_cx_step_t         *declared;       /* the cx_step it matched */
    ngx_str_t                   member;         /* "name url" of the step */
    ngx_str_t                   viewed;         /* ditto, of the Referer */
    ngx_str_t                   next;           /* urls, space separated */
    ngx_str_t                   shortcut;       /* url */
    ngx_str_t                   json;           /* made once asked for */
    ngx_http_cx_item_t         *items;          /* next, then the shortcut */
    ngx_uint_t                  nitems;
    ngx_uint_t                  nnext;          /* of which the list */
    ngx_http_cx_item_t         *item;           /* $cx_item_*, rendering */
    ngx_str_t                   cookie;         /* Set-Cookie to send */
    ngx_uint_t                  level;
    ngx_uint_t                  pace;
    ngx_uint_t                  variant;        /* NGX_HTTP_CX_TREATMENT.. */
    ngx_event_t                 wake;
    ngx_http_cx_slot_t         *slot;

    /* what the step is recorded with, once the response is known */
    uint64_t                    hash;           /* the customer */
    uint64_t                    cache_id;       /* their entries' key */
    uint64_t                    anon;           /* their cookie's, to merge */
    int64_t                     now;            /* ms */
    int64_t                     epoch;          /* decay epoch of now */
    double                      weight;         /* decay weight of now */
    double                      trust;          /* by the customer's past */
    double                      again;          /* the transition, before */
    ngx_uint_t                  steps_today;    /* HINCRBY learned */
    ngx_uint_t                  count;          /* steps it added to it */
    ngx_str_t                   offer;          /* what this step offers */
    ngx_uint_t                  followed;       /* of the last step's */
    ngx_uint_t                  start_level;    /* of the journey */
    ngx_uint_t                  goal_steps;     /* the goal's, included */
    ngx_uint_t                  forgotten;      /* keys cx_forget deleted */

    /* copied from the replies, for the answer and the record */
    ngx_str_t                  *journey;        /* earlier steps, newest 1st */
    ngx_uint_t                  njourney;
    ngx_str_t                  *vjourney;       /* ditto, before "viewed" */
    ngx_uint_t                  nvjourney;
    ngx_str_t                  *personal;
    double                     *personal_w;
    ngx_uint_t                  npersonal;
    ngx_str_t                  *extra;          /* transitions to delete */
    ngx_uint_t                  nextra;
    ngx_str_t                  *paths;
    ngx_uint_t                  npaths;
    ngx_str_t                  *shared;         /* everyone's successors, */
    double                     *shared_w;       /* both epochs, weighed */
    ngx_uint_t                  nshared;
    void                       *memo;           /* where shared is, if */
    ngx_http_cx_state_t         state;

    /* all the reads told of the customer, as Redis or the edge knew it */
    ngx_http_cx_customer_t     *customer;
    int64_t                     read_at;        /* when Redis told it, ms */
    uint64_t                    version;        /* of the copy, as read */

    unsigned                    waiting:1;
    unsigned                    known:1;        /* level, pace are set */
    unsigned                    goal:1;         /* the step is the goal */
    unsigned                    walked:1;       /* "viewed" is a step */
    unsigned                    learn:1;        /* a step to record */
    unsigned                    blank:1;        /* no state in redis */
    unsigned                    api:1;          /* answered by cx_api */
    unsigned                    inject:1;       /* the body gets the block */
    unsigned                    injected:1;
    unsigned                    login:1;        /* anon to merge into hash */
    unsigned                    offered:1;      /* the last step a list, */
    unsigned                    offered_shortcut:1; /* a shortcut */
    unsigned                    begins:1;       /* a journey */
    unsigned                    top_goal:1;     /* the goal is suggested 1st */
    unsigned                    counted:1;      /* in cx_requests_total */
    unsigned                    untracked:1;    /* GPC, DNT, no consent */
    unsigned                    forget:1;       /* answered by cx_forget */
    unsigned                    cached:1;       /* the customer's copy */

    ngx_str_t                   block;          /* the html to inject */
    ngx_uint_t                  match;          /* of "</body>" so far */
    size_t                      nheld;
    u_char                      held[8];        /* a match cut by a buffer */
};


/* ngx_http_cx_module.c */
extern ngx_module_t  ngx_http_cx_module;
void ngx_http_cx_needs_redis(ngx_conf_t *cf, const char *directive);

/* ngx_http_cx_handler.c */
ngx_int_t ngx_http_cx_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_cx_start(ngx_http_request_t *r,
    ngx_http_cx_loc_conf_t *clcf, ngx_str_t *uri, ngx_uint_t api);
ngx_http_cx_ctx_t *ngx_http_cx_create_ctx(ngx_http_request_t *r);
void ngx_http_cx_wait(ngx_http_request_t *r, ngx_http_cx_ctx_t *ctx,
    ngx_http_cx_slot_t *slot);
ngx_http_cx_ctx_t *ngx_http_cx_get_ctx(ngx_http_request_t *r);

/* ngx_http_cx_id.c: what ngx_http_cx_identify() may do */
#define NGX_HTTP_CX_ID_ISSUE   0x01     /* a new id to a visitor without */
#define NGX_HTTP_CX_ID_ANY     0x02     /* the cookie, consent or not */

char *ngx_http_cx_id(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
ngx_int_t ngx_http_cx_identify(ngx_http_request_t *r,
    ngx_http_cx_loc_conf_t *clcf, ngx_http_cx_ctx_t *ctx, ngx_str_t *id,
    ngx_uint_t *login, ngx_str_t *anon, ngx_uint_t flags);

/* ngx_http_cx_login.c */
void ngx_http_cx_login(ngx_http_cx_ctx_t *ctx);

/* ngx_http_cx_batch.c */
ngx_int_t ngx_http_cx_send(ngx_http_cx_main_conf_t *cmcf,
    ngx_http_cx_srv_conf_t *cxscf, ngx_http_cx_slot_t *slot);
ngx_int_t ngx_http_cx_cmd(ngx_http_cx_redis_cb_pt fn,
    ngx_http_cx_slot_t *slot, ngx_uint_t argc, ...);
void ngx_http_cx_skipped(ngx_uint_t n, const char *what);
void ngx_http_cx_batch_init(ngx_http_cx_slot_t *slot);

/* ngx_http_cx_shared.c: everyone's successors of a step */
void ngx_http_cx_read_model(ngx_http_cx_srv_conf_t *cxscf,
    ngx_http_cx_slot_t *slot);
ngx_int_t ngx_http_cx_model(ngx_http_cx_ctx_t *ctx,
    ngx_http_cx_srv_conf_t *cxscf);
ngx_int_t ngx_http_cx_model_earlier(ngx_http_cx_ctx_t *ctx,
    ngx_http_cx_srv_conf_t *cxscf, ngx_http_cx_loc_conf_t *clcf,
    ngx_str_t *name, ngx_http_cx_ref_t **refs, double **w, ngx_uint_t *np,
    ngx_uint_t *declared);
ngx_http_cx_ref_t *ngx_http_cx_model_declared(ngx_http_cx_ctx_t *ctx,
    ngx_http_cx_loc_conf_t *clcf, ngx_str_t *shared, ngx_uint_t n);
void ngx_http_cx_refresh(ngx_http_cx_ctx_t *ctx,
    ngx_http_cx_srv_conf_t *cxscf);
/* the worker's memo of the zone's entries forgotten */
void ngx_http_cx_memo_reset(void);

void ngx_http_cx_use(ngx_http_cx_ctx_t *ctx, ngx_http_cx_customer_t *cu);

/* ngx_http_cx_customer.c: a customer's copy at the edge */
ngx_int_t ngx_http_cx_customer_get(ngx_http_cx_ctx_t *ctx,
    ngx_http_cx_srv_conf_t *cxscf, int64_t now);
void ngx_http_cx_customer_put(ngx_http_cx_ctx_t *ctx,
    ngx_http_cx_customer_t *cu);
ngx_uint_t ngx_http_cx_customer_count(ngx_http_cx_ctx_t *ctx,
    ngx_uint_t floor, ngx_uint_t count);
ngx_uint_t ngx_http_cx_customer_unsent(ngx_http_cx_ctx_t *ctx);
ngx_uint_t ngx_http_cx_customer_unsend(ngx_http_cx_ctx_t *ctx, ngx_uint_t n);
void ngx_http_cx_customer_drop(ngx_http_cx_srv_conf_t *cxscf, uint64_t hash);
void ngx_http_cx_customer_remade(u_char *key, size_t len);

/* a command's argument: a literal, or bytes with their length */
#define ngx_http_cx_lit(s)     ((ngx_str_t) ngx_string(s))
/* the day of a time in ms: the learning budget's, lday */
#define ngx_http_cx_day(ms)    ((ngx_uint_t) ((ms) / 86400000))
#define ngx_http_cx_str(d, n)  ((ngx_str_t) { (n), (u_char *) (d) })


/*
 * The same n bytes (n > 0), without a call up to 16 of them, the most a
 * shop's names and urls mostly have: the first and the last 8 (or 4)
 * bytes as words, which overlap in the middle, or each of up to 3.
 */

static ngx_inline ngx_uint_t
ngx_http_cx_same_bytes(u_char *a, u_char *b, size_t n)
{
    uint32_t  x32, y32, u32, v32;
    uint64_t  x, y, u, v;

    if (n > 16) {
        return ngx_memcmp(a, b, n) == 0;
    }

    if (n >= 8) {
        ngx_memcpy(&x, a, 8);
        ngx_memcpy(&y, b, 8);
        ngx_memcpy(&u, a + n - 8, 8);
        ngx_memcpy(&v, b + n - 8, 8);

        return ((x ^ y) | (u ^ v)) == 0;
    }

    if (n >= 4) {
        ngx_memcpy(&x32, a, 4);
        ngx_memcpy(&y32, b, 4);
        ngx_memcpy(&u32, a + n - 4, 4);
        ngx_memcpy(&v32, b + n - 4, 4);

        return ((x32 ^ y32) | (u32 ^ v32)) == 0;
    }

    return a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1];
}


/*
 * The same bytes: compared on every candidate of every answer.  Names and
 * urls of one length mostly differ in their last byte ("item:1",
 * "item:2"), told before the rest.
 */

static ngx_inline ngx_uint_t
ngx_http_cx_same(ngx_str_t *a, ngx_str_t *b)
{
    return a->len == b->len
           && (a->len == 0
               || (a->data[a->len - 1] == b->data[a->len - 1]
                   && ngx_http_cx_same_bytes(a->data, b->data, a->len)));
}

/*
 * A word of a string, the same for the same bytes: its length with its
 * first and last 8 (or 4, or 3) bytes.  A candidate keeps its url's, so
 * that a search for a url compares a word a candidate, and its bytes only
 * where the words are the same.
 */

static ngx_inline uint64_t
ngx_http_cx_key(ngx_str_t *s)
{
    uint32_t  x32, y32;
    uint64_t  x, y;

    if (s->len >= 8) {
        ngx_memcpy(&x, s->data, 8);
        ngx_memcpy(&y, s->data + s->len - 8, 8);

        return (x * 0x9e3779b97f4a7c15ULL) ^ y ^ s->len;
    }

    if (s->len >= 4) {
        ngx_memcpy(&x32, s->data, 4);
        ngx_memcpy(&y32, s->data + s->len - 4, 4);

        return ((uint64_t) x32 << 32 | y32) ^ s->len;
    }

    if (s->len) {
        return (uint64_t) s->data[0] << 24 | s->data[s->len / 2] << 16
               | s->data[s->len - 1] << 8 | s->len;
    }

    return 0;
}

/* ngx_http_cx_record.c */
ngx_uint_t ngx_http_cx_header_in(ngx_http_request_t *r, ngx_str_t *names,
    ngx_str_t *value);
ngx_int_t ngx_http_cx_learnable(ngx_http_request_t *r,
    ngx_http_cx_loc_conf_t *clcf, ngx_http_cx_ctx_t *ctx);
void ngx_http_cx_walk(ngx_http_cx_ctx_t *ctx, ngx_http_cx_state_t *st,
    ngx_str_t *m, ngx_uint_t n);
void ngx_http_cx_habit(ngx_http_cx_ctx_t *ctx, ngx_str_t *from,
    ngx_str_t *habit, double count);
ngx_int_t ngx_http_cx_record(ngx_http_request_t *r);
void ngx_http_cx_record_response(ngx_http_request_t *r);

/* ngx_http_cx_credit.c: rule credits summed per worker, written behind */
ngx_int_t ngx_http_cx_credit_init_process(ngx_cycle_t *cycle);
void ngx_http_cx_credit_exit_process(ngx_cycle_t *cycle);
uint32_t ngx_http_cx_credit_hash(ngx_str_t *s);
ngx_int_t ngx_http_cx_credit_add(ngx_http_cx_srv_conf_t *cxscf,
    ngx_str_t *key, uint32_t key_hash, ngx_str_t *member,
    uint32_t member_hash, double weight);
void ngx_http_cx_credit_flush(void);

/* ngx_http_cx_step.c */
char *ngx_http_cx_step(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_cx_named(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
ngx_int_t ngx_http_cx_check_named(ngx_conf_t *cf,
    ngx_http_cx_loc_conf_t *clcf, const char *directive,
    ngx_http_cx_named_t *named, ngx_http_cx_ref_t *fixed);
ngx_int_t ngx_http_cx_classify(ngx_http_request_t *r,
    ngx_http_cx_loc_conf_t *clcf, ngx_str_t *uri, u_char *member,
    size_t *name_len, size_t *member_len, ngx_http_cx_step_t **declared);
ngx_int_t ngx_http_cx_declared(ngx_http_cx_loc_conf_t *clcf,
    ngx_http_cx_ref_t *ref);
void ngx_http_cx_declared_reset(void);
size_t ngx_http_cx_label(ngx_http_cx_loc_conf_t *clcf, ngx_http_cx_ref_t *ref,
    u_char *text);

/* ngx_http_cx_redis.c */
ngx_int_t ngx_http_cx_redis_init_process(ngx_cycle_t *cycle);
void ngx_http_cx_redis_exit_process(ngx_cycle_t *cycle);
ngx_http_cx_slot_t *ngx_http_cx_redis_acquire(ngx_log_t *log,
    ngx_uint_t *status);
void ngx_http_cx_redis_release(ngx_http_cx_slot_t *slot);
ngx_int_t ngx_http_cx_redis_command(ngx_http_cx_redis_cb_pt fn,
    ngx_http_cx_slot_t *slot, ngx_uint_t argc, ngx_str_t *argv);
/* how a write's reply says it made its key: ngx_http_cx_redis_write() */
#define NGX_HTTP_CX_MADE_LEN      1       /* a list's length, at most n */
#define NGX_HTTP_CX_MADE_FIELDS   2       /* a hash's fields added, over n */
#define NGX_HTTP_CX_MADE_SCORE    3       /* a score that is the increment */
#define NGX_HTTP_CX_MADE_STATE    4       /* FIELDS, of the edge's copy */
/* a key a write follows to its reply, at most (ngx_http_cx_redis_write()) */
#define NGX_HTTP_CX_FOLLOW_MAX    47
ngx_int_t ngx_http_cx_redis_write(ngx_http_cx_redis_cb_pt fn,
    ngx_uint_t made, ngx_int_t n, ngx_str_t *ttl, ngx_uint_t argc,
    ngx_str_t *argv);
void ngx_http_cx_redis_episode(ngx_uint_t ok, const char *what,
    const char *detail);
void ngx_http_cx_redis_primary(u_char *host, size_t len, ngx_int_t port,
    ngx_http_cx_addr_t *by);
ngx_int_t ngx_http_cx_redis_ask_name(ngx_http_cx_addr_t *a,
    ngx_resolver_handler_pt handler, ngx_resolver_ctx_t **resolving);
ngx_int_t ngx_http_cx_redis_answered(ngx_resolver_ctx_t *ctx,
    ngx_http_cx_addr_t *a);
void ngx_http_cx_redis_retry(const char *what, const char *detail);

/* ngx_http_cx_conn.c */
ngx_http_cx_conn_t *ngx_http_cx_conn_open(u_char *host, ngx_int_t port,
    ngx_http_cx_tls_t *tls, void **session, ngx_log_t *log);
ngx_int_t ngx_http_cx_conn_send(ngx_http_cx_conn_t *cn,
    ngx_http_cx_redis_cb_pt fn, void *data, u_char *buf, size_t len);
u_char *ngx_http_cx_conn_room(ngx_http_cx_conn_t *cn, size_t len);
ngx_int_t ngx_http_cx_conn_push(ngx_http_cx_conn_t *cn,
    ngx_http_cx_redis_cb_pt fn, void *data, size_t len);
ngx_int_t ngx_http_cx_conn_command(ngx_http_cx_conn_t *cn,
    ngx_http_cx_redis_cb_pt fn, void *data, ngx_uint_t argc,
    ngx_str_t *argv);
void ngx_http_cx_conn_disconnect(ngx_http_cx_conn_t *cn);
void ngx_http_cx_conn_free(ngx_http_cx_conn_t *cn);
void ngx_http_cx_conn_forget(void **session);

/* ngx_http_cx_sentinel.c */
ngx_int_t ngx_http_cx_sentinel_init_process(ngx_cycle_t *cycle);
void ngx_http_cx_sentinel_ask(ngx_uint_t need);
void ngx_http_cx_sentinel_cleanup(void);

/* ngx_http_cx_reply.c: what Redis answers, checked before use */
struct redisReply;
ngx_uint_t ngx_http_cx_reply_customer(struct redisReply *reply,
    ngx_http_cx_customer_t *cu, ngx_str_t *extra, ngx_uint_t *nextra);
ngx_uint_t ngx_http_cx_reply_scored(struct redisReply *reply, ngx_str_t *out,
    double *scores, ngx_uint_t max, ngx_uint_t ascending, size_t len_max,
    ngx_uint_t *bad);
ngx_uint_t ngx_http_cx_reply_strings(struct redisReply *reply,
    ngx_str_t *out, ngx_uint_t max, size_t len_max, ngx_uint_t *bad);
ngx_int_t ngx_http_cx_score(u_char *data, size_t len, double *score);

/* ngx_http_cx_model.c: pure functions, unit tested in t/unit */
void ngx_http_cx_derive_keys(uint64_t *keys, ngx_str_t *secret);
uint64_t ngx_http_cx_hash_id(uint64_t *keys, ngx_uint_t login, u_char *id,
    size_t len);
uint64_t ngx_http_cx_siphash(uint64_t *key, u_char *p, size_t len);
u_char *ngx_http_cx_customer_key(u_char *p, ngx_str_t *prefix,
    uint64_t hash, const char *suffix);
ngx_int_t ngx_http_cx_customer_of_key(ngx_str_t *key, const char *suffix,
    ngx_str_t *prefix, uint64_t *hash);
ngx_uint_t ngx_http_cx_habit_ok(ngx_str_t *habit);
u_char *ngx_http_cx_habit_field(u_char *p, ngx_str_t *habit);
ngx_uint_t ngx_http_cx_among(ngx_str_t *s, ngx_str_t *m, ngx_uint_t n);
ngx_uint_t ngx_http_cx_habit_before(double wa, ngx_str_t *a, double wb,
    ngx_str_t *b);
ngx_uint_t ngx_http_cx_habit_insert(ngx_str_t *h, double *w, ngx_uint_t n,
    ngx_uint_t max, ngx_str_t *habit, double count);
ngx_uint_t ngx_http_cx_steps_parse(ngx_str_t *text, ngx_str_t *out,
    ngx_uint_t max, ngx_uint_t *bad);
u_char *ngx_http_cx_steps_text(u_char *p, ngx_str_t *s, ngx_uint_t n);
ngx_int_t ngx_http_cx_habit_to(ngx_str_t *habit, u_char *name, size_t len,
    ngx_str_t *to);
u_char *ngx_http_cx_step_key(u_char *p, ngx_str_t *prefix, u_char *name,
    size_t len, int64_t epoch);
u_char *ngx_http_cx_step_key_head(u_char *p, ngx_str_t *prefix);
u_char *ngx_http_cx_step_key_tail(u_char *p, int64_t epoch);
/* room for a step key's tail, "}:" and an epoch's digits, in words */
#define NGX_HTTP_CX_KEY_TAIL      24
extern uint32_t ngx_http_cx_safe_chars[];
extern uint32_t ngx_http_cx_url_chars[];
#define ngx_http_cx_safe_char(c)                                             \
    (ngx_http_cx_safe_chars[(u_char) (c) >> 5] & (1U << ((c) & 0x1f)))
#define ngx_http_cx_url_char(c)                                              \
    (ngx_http_cx_url_chars[(u_char) (c) >> 5] & (1U << ((c) & 0x1f)))
u_char *ngx_http_cx_digits(u_char *p, uint64_t n);
u_char *ngx_http_cx_int(u_char *p, int64_t n);
ngx_uint_t ngx_http_cx_keyslot(u_char *key, size_t len);
size_t ngx_http_cx_resp_len(ngx_uint_t argc, ngx_str_t *argv);
u_char *ngx_http_cx_resp(u_char *p, ngx_uint_t argc, ngx_str_t *argv);
char *ngx_http_cx_text_check(u_char *p, size_t len);
uintptr_t ngx_http_cx_escape_html(u_char *dst, u_char *src, size_t size);
uintptr_t ngx_http_cx_escape_json(u_char *dst, u_char *src, size_t size);
uintptr_t ngx_http_cx_escape_label(u_char *dst, u_char *src, size_t size);
ngx_int_t ngx_http_cx_unescape(u_char *src, size_t len, u_char *dst,
    size_t size);
ngx_int_t ngx_http_cx_path(u_char *src, size_t len, u_char *dst,
    size_t size);
ngx_int_t ngx_http_cx_referer_path(ngx_str_t *referer, ngx_str_t *host,
    u_char *buf, size_t size, ngx_str_t *path);
size_t ngx_http_cx_expand(ngx_http_cx_tpl_t *tpl, u_char *subject,
    int *captures, ngx_int_t ncaptures, u_char *out, size_t size);
void ngx_http_cx_member_split(u_char *data, size_t len,
    ngx_http_cx_ref_t *ref);
ngx_int_t ngx_http_cx_member_parse(u_char *data, size_t len,
    ngx_http_cx_ref_t *ref);
u_char *ngx_http_cx_hex_id(u_char *p, u_char *bytes, size_t n);
double ngx_http_cx_decay(int64_t now, ngx_msec_t half_life, int64_t *epoch);
ngx_uint_t ngx_http_cx_level(ngx_uint_t goals, ngx_uint_t returning,
    ngx_uint_t expert);
ngx_uint_t ngx_http_cx_advance(ngx_http_cx_state_t *st, int64_t now,
    ngx_msec_t journey_gap, ngx_uint_t goal);
void ngx_http_cx_combine(ngx_http_cx_state_t *st, ngx_http_cx_state_t *anon,
    ngx_uint_t steps, ngx_msec_t journey_gap);
ngx_uint_t ngx_http_cx_pace(ngx_http_cx_state_t *st, ngx_msec_t hurried,
    ngx_msec_t relaxed);
double ngx_http_cx_trust(ngx_http_cx_state_t *st);
ngx_uint_t ngx_http_cx_variant(uint64_t hash, ngx_uint_t holdout);
uint32_t ngx_http_cx_url_hash(ngx_str_t *url);
u_char *ngx_http_cx_offer_text(u_char *p, uint32_t *urls, ngx_uint_t n,
    uint32_t shortcut);
ngx_int_t ngx_http_cx_offer_parse(u_char *p, size_t len,
    ngx_http_cx_state_t *st);
ngx_uint_t ngx_http_cx_followed(ngx_http_cx_state_t *st, ngx_str_t *url);
ngx_uint_t ngx_http_cx_rate(ngx_uint_t count, int64_t start, int64_t now);
ngx_uint_t ngx_http_cx_stuck(ngx_http_cx_ref_t *steps, ngx_uint_t n);
ngx_uint_t ngx_http_cx_path_parse(ngx_str_t *path, ngx_http_cx_ref_t *steps,
    ngx_uint_t max);
ngx_int_t ngx_http_cx_shortcut(ngx_str_t *paths, ngx_uint_t npaths,
    ngx_str_t *current, ngx_str_t *targets, ngx_uint_t ntargets,
    ngx_http_cx_ref_t *out);
ngx_uint_t ngx_http_cx_merge(ngx_http_cx_cand_t *cands, ngx_uint_t n,
    ngx_uint_t max, ngx_http_cx_ref_t *ref, double shared, double personal);
ngx_uint_t ngx_http_cx_cand_add(ngx_http_cx_cand_t *cands, ngx_uint_t n,
    ngx_uint_t max, ngx_http_cx_ref_t *ref, double shared, double personal);
ngx_uint_t ngx_http_cx_cand_find(ngx_http_cx_cand_t *cands, ngx_uint_t n,
    ngx_str_t *url);
ngx_uint_t ngx_http_cx_blend(ngx_http_cx_cand_t *cands, ngx_uint_t n,
    ngx_uint_t max, ngx_http_cx_ref_t *refs, double *w, ngx_uint_t *at,
    ngx_uint_t nrefs, double weight);
ngx_uint_t ngx_http_cx_rank(ngx_http_cx_cand_t *cands, ngx_uint_t n,
    double personal, double demote, double revisit, ngx_str_t *current,
    ngx_http_cx_ref_t *journey, ngx_uint_t njourney);

/* ngx_http_cx_cache.c: entries in the cx_model_cache zone, all workers' */
typedef struct {
    int64_t                     stored;     /* ms, the request's: cx_time */
    uint64_t                    version;    /* free for the caller; 0 */
} ngx_http_cx_meta_t;

#define NGX_HTTP_CX_CACHE_MODEL     'm'     /* a step's successors */
#define NGX_HTTP_CX_CACHE_CUSTOMER  'c'     /* ngx_http_cx_customer.c */
#define NGX_HTTP_CX_CACHE_MOVE      1000    /* ms an entry stays in place */
#define NGX_HTTP_CX_COUNT_TODAY     1       /* a customer's steps today, */
#define NGX_HTTP_CX_COUNT_UNSENT    2       /* those not yet in Redis */

ngx_int_t ngx_http_cx_cache_init(ngx_conf_t *cf);
uint64_t ngx_http_cx_cache_key(u_char kind, u_char *p, size_t len);
/* NGX_OK: a copy of the blob in pool; NGX_DECLINED: none (or no zone) */
ngx_int_t ngx_http_cx_cache_get(uint64_t key, ngx_pool_t *pool,
    ngx_str_t *blob, ngx_http_cx_meta_t *meta);
ngx_int_t ngx_http_cx_cache_put(uint64_t key, u_char *data, size_t len,
    ngx_http_cx_meta_t *meta);
/* 1: the caller is the one to refresh key now (one refresh in flight per
 * key per edge; a claim older than a bound expires, so a lost reply
 * cannot pin it); 0: another worker is at it, or the entry is stored as
 * of now already */
ngx_uint_t ngx_http_cx_cache_claim(uint64_t key, int64_t now);
#define NGX_HTTP_CX_CACHE_ANY  ((uint64_t) -1)  /* a put whatever is there */
ngx_int_t ngx_http_cx_cache_swap(uint64_t key, u_char *data, size_t len,
    ngx_http_cx_meta_t *meta, uint64_t expect);
uint32_t ngx_http_cx_cache_count(uint64_t key, uint32_t day, ngx_uint_t i,
    uint32_t floor, uint32_t n);
uint32_t ngx_http_cx_cache_take(uint64_t key, uint32_t day, ngx_uint_t i);
void ngx_http_cx_cache_drop(uint64_t key);
void ngx_http_cx_cache_touch(uint64_t key);
ngx_uint_t ngx_http_cx_cache_enabled(void);

/* ngx_http_cx_pack.c: a model's cache entry, pure functions */
size_t ngx_http_cx_pack_len(ngx_str_t *id, ngx_str_t *m, double *w,
    ngx_uint_t n);
u_char *ngx_http_cx_pack(u_char *p, ngx_str_t *id, int64_t epoch,
    ngx_str_t *m, double *w, ngx_uint_t n);
ngx_uint_t ngx_http_cx_unpack_count(u_char *p, size_t len);
ngx_int_t ngx_http_cx_unpack(u_char *p, size_t len, ngx_str_t *id,
    int64_t *epoch, ngx_str_t *m, double *w, ngx_uint_t max, ngx_uint_t *n);
size_t ngx_http_cx_customer_size(ngx_http_cx_customer_t *cu);
u_char *ngx_http_cx_customer_pack(u_char *p, ngx_http_cx_customer_t *cu);
ngx_int_t ngx_http_cx_customer_unpack(u_char *p, size_t len,
    ngx_http_cx_customer_t *cu);
void ngx_http_cx_customer_copy(ngx_http_cx_customer_t *dst,
    ngx_http_cx_customer_t *src);
void ngx_http_cx_customer_step(ngx_http_cx_customer_t *cu,
    ngx_http_cx_state_t *st, ngx_str_t *steps, ngx_uint_t nsteps,
    ngx_str_t *habits, ngx_uint_t nhabits, ngx_str_t *path,
    ngx_uint_t history);

/* ngx_http_cx_answer.c */
void ngx_http_cx_answer(ngx_http_cx_ctx_t *ctx, ngx_str_t *shared,
    double *weights, ngx_uint_t n);
void ngx_http_cx_ask(ngx_http_cx_ctx_t *ctx);
ngx_str_t *ngx_http_cx_keep(ngx_pool_t *pool, ngx_str_t *m, ngx_uint_t n);
ngx_int_t ngx_http_cx_json_of(ngx_http_request_t *r, ngx_http_cx_ctx_t *ctx,
    ngx_str_t *json);
extern ngx_str_t  ngx_http_cx_level_names[];
extern ngx_str_t  ngx_http_cx_pace_names[];
extern ngx_str_t  ngx_http_cx_reason_names[];

/* ngx_http_cx_metrics.c: counters in one shared memory zone */
void ngx_http_cx_metric_served(ngx_uint_t suggestions, ngx_uint_t shortcut);
void ngx_http_cx_metric_step(ngx_http_cx_ctx_t *ctx, ngx_uint_t variant,
    ngx_uint_t begins);
void ngx_http_cx_metric_follow(ngx_uint_t variant, ngx_uint_t offered,
    ngx_uint_t shortcut_offered, ngx_uint_t followed);
void ngx_http_cx_metric_goal(ngx_uint_t variant, ngx_uint_t level,
    ngx_uint_t steps, ngx_uint_t assisted);

/* what the request path and the Redis connection count themselves */
enum {
    NGX_HTTP_CX_M_ERRORS = 0,
    NGX_HTTP_CX_M_TIMEOUTS,
    NGX_HTTP_CX_M_RECONNECTS
};

/* and the caches */
enum {
    NGX_HTTP_CX_M_MODEL_HIT = 0,
    NGX_HTTP_CX_M_MODEL_STALE,
    NGX_HTTP_CX_M_MODEL_MISS,
    NGX_HTTP_CX_M_REFRESHES,
    NGX_HTTP_CX_M_EVICTIONS,
    NGX_HTTP_CX_M_NO_ROUND_TRIP,
    NGX_HTTP_CX_M_CUSTOMER_HIT,
    NGX_HTTP_CX_M_CUSTOMER_MISS
};

#define NGX_HTTP_CX_M_CACHE  8

void ngx_http_cx_metric_cache(ngx_uint_t what, ngx_uint_t n);

void ngx_http_cx_metric_status(ngx_uint_t status);
void ngx_http_cx_metric_redis(ngx_uint_t what);
void ngx_http_cx_metric_in_flight(ngx_int_t n);
uint64_t ngx_http_cx_metric_clock(void);
void ngx_http_cx_metric_round_trip(uint64_t sent);
char *ngx_http_cx_metrics(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
ngx_int_t ngx_http_cx_metrics_declare(ngx_conf_t *cf,
    ngx_http_cx_step_t *step);
ngx_int_t ngx_http_cx_metrics_init(ngx_conf_t *cf);

/* ngx_http_cx_dashboard.c: the page of cx_metrics' ?format=html */
extern ngx_str_t  ngx_http_cx_dashboard_html;

/* ngx_http_cx_api.c */
char *ngx_http_cx_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
ngx_int_t ngx_http_cx_api_send(ngx_http_request_t *r, ngx_http_cx_ctx_t *ctx);

/* ngx_http_cx_forget.c */
char *ngx_http_cx_forget(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
ngx_int_t ngx_http_cx_forget_send(ngx_http_request_t *r,
    ngx_http_cx_ctx_t *ctx);

/* ngx_http_cx_filter.c */
ngx_int_t ngx_http_cx_filter_init(ngx_conf_t *cf);
ngx_int_t ngx_http_cx_add_header(ngx_http_request_t *r, ngx_str_t *key,
    ngx_str_t *value);
ngx_int_t ngx_http_cx_items(ngx_http_request_t *r, ngx_http_cx_ctx_t *ctx,
    ngx_str_t *out);

/* ngx_http_cx_var.c */
ngx_int_t ngx_http_cx_add_variables(ngx_conf_t *cf);
ngx_flag_t ngx_http_cx_answer_named(ngx_conf_t *cf);
void ngx_http_cx_item_flush(ngx_http_request_t *r);
extern ngx_str_t  ngx_http_cx_status_names[];
extern ngx_str_t  ngx_http_cx_variant_names[];


#endif /* _NGX_HTTP_CX_MODULE_H_INCLUDED_ */
