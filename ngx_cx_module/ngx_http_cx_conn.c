
/*
 * Copyright (C) ngx_cx authors
 *
 * A connection to Redis of the module's own: nginx's peer connection
 * (ngx_event_connect_peer(), non-blocking, to an address that is
 * numeric already), with TLS through nginx's ngx_ssl_* when asked, and
 * hiredis's reader parsing the replies.  hiredis 0.14 has no TLS and
 * its async layer owns its socket, so it is left to do the parsing.
 *
 * Commands come formatted (RESP), appended to the connection's output
 * and written at the end of the event loop's turn, all that one turn
 * queued in one write: only a full socket buffer waits for a write
 * event.  Each command has its wait, (callback, data), in a FIFO that
 * the replies answer in order; a reply with none waiting is a pushed
 * message of a subscription.
 *
 * As hiredis's async context did: the connected handler runs once
 * connected (TLS handshaked and checked), or failed; then the
 * disconnected handler once, when the connection is lost or freed.
 * Freeing it answers every wait with a NULL reply; a free asked for
 * from inside a callback happens once the callback returns.
 *
 * nginx's own lines about the connection (connect(), recv(), SSL
 * errors) are caught by the connection's log, not written: the last
 * becomes errstr, which the owner logs once per episode.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <hiredis/hiredis.h>

#include <ngx_http_cx_module.h>


#define NGX_HTTP_CX_CONN_WAITS    64      /* waits, first */
#define NGX_HTTP_CX_CONN_OUT      4096    /* output, first */
#define NGX_HTTP_CX_CONN_ELEMENTS 4194304 /* a reply's, at most */


static void ngx_http_cx_conn_read_handler(ngx_event_t *rev);
static void ngx_http_cx_conn_write_handler(ngx_event_t *wev);
static void ngx_http_cx_conn_flush_handler(ngx_event_t *ev);
static void ngx_http_cx_conn_write(ngx_http_cx_conn_t *cn);
static ngx_int_t ngx_http_cx_conn_replies(ngx_http_cx_conn_t *cn);
static void ngx_http_cx_conn_test(ngx_http_cx_conn_t *cn);
static void ngx_http_cx_conn_up(ngx_http_cx_conn_t *cn);
static void ngx_http_cx_conn_failed(ngx_http_cx_conn_t *cn,
    const char *detail);
static void ngx_http_cx_conn_error(ngx_http_cx_conn_t *cn,
    const char *detail);
static void ngx_http_cx_conn_close(ngx_http_cx_conn_t *cn);
static ngx_int_t ngx_http_cx_conn_addr(ngx_http_cx_conn_t *cn, u_char *host,
    ngx_int_t port);
static void ngx_http_cx_conn_writer(ngx_log_t *log, ngx_uint_t level,
    u_char *buf, size_t len);
static void *ngx_http_cx_conn_array(const redisReadTask *task, int elements);
static void *ngx_http_cx_conn_integer(const redisReadTask *task,
    long long value);
static void ngx_http_cx_conn_free_reply(void *reply);
#if (NGX_SSL)
static void ngx_http_cx_conn_tls(ngx_http_cx_conn_t *cn);
static void ngx_http_cx_conn_handshaked(ngx_connection_t *c);
static ngx_int_t ngx_http_cx_conn_check_name(ngx_connection_t *c,
    ngx_str_t *name);
static void ngx_http_cx_conn_save_session(ngx_connection_t *c);
static void ngx_http_cx_conn_alert(ngx_http_cx_conn_t *cn);
#endif


/* what a read takes at once: the reader copies it, a worker's one */
static u_char  ngx_http_cx_conn_buf[16384];

/*
 * hiredis's reply functions, but for arrays (ngx_http_cx_conn_array())
 * and a reply that is one integer (ngx_http_cx_conn_integer())
 */
static redisReplyObjectFunctions  ngx_http_cx_conn_fn;
static void *(*ngx_http_cx_conn_create_array)(const redisReadTask *task,
    int elements);
static void *(*ngx_http_cx_conn_create_integer)(const redisReadTask *task,
    long long value);

/* the worker's reply of one integer, and whether it is out */
static redisReply  ngx_http_cx_conn_integer_reply;
static ngx_uint_t  ngx_http_cx_conn_integer_out;


/*
 * A connection to host (numeric, or a unix socket's path when port is
 * 0), with TLS when tls is given.  NULL: no memory; err set: failed at
 * once, errstr says why, to be freed.
 */

ngx_http_cx_conn_t *
ngx_http_cx_conn_open(u_char *host, ngx_int_t port, ngx_http_cx_tls_t *tls,
    void **session, ngx_log_t *log)
{
    ngx_int_t               rc;
    ngx_connection_t       *c;
    ngx_http_cx_conn_t     *cn;
    redisReader            *reader;
    ngx_peer_connection_t  *pc;

    cn = ngx_calloc(sizeof(ngx_http_cx_conn_t), log);
    if (cn == NULL) {
        return NULL;
    }

    cn->reader = redisReaderCreate();
    cn->wait = ngx_alloc(NGX_HTTP_CX_CONN_WAITS * sizeof(ngx_http_cx_wait_t),
                         log);

    if (cn->reader == NULL || cn->wait == NULL) {
        goto failed;
    }

    reader = cn->reader;

    if (ngx_http_cx_conn_create_array == NULL) {
        ngx_http_cx_conn_fn = *reader->fn;
        ngx_http_cx_conn_create_array = reader->fn->createArray;
        ngx_http_cx_conn_create_integer = reader->fn->createInteger;
        ngx_http_cx_conn_fn.createArray = ngx_http_cx_conn_array;
        ngx_http_cx_conn_fn.createInteger = ngx_http_cx_conn_integer;
        ngx_http_cx_conn_fn.freeObject = ngx_http_cx_conn_free_reply;
    }

    reader->fn = &ngx_http_cx_conn_fn;
    reader->privdata = cn;

    cn->nwait = NGX_HTTP_CX_CONN_WAITS;
    cn->tls = tls;
    cn->session = session;
    cn->base = log;

    cn->log = *log;
    cn->log.writer = ngx_http_cx_conn_writer;
    cn->log.wdata = cn;
    cn->log.next = NULL;
    cn->log.handler = NULL;
    cn->log.data = NULL;

    cn->flush.handler = ngx_http_cx_conn_flush_handler;
    cn->flush.data = cn;
    cn->flush.log = log;

    if (ngx_http_cx_conn_addr(cn, host, port) != NGX_OK) {
        cn->err = 1;
        ngx_cpystrn((u_char *) cn->errstr, (u_char *) "no such address",
                    sizeof(cn->errstr));
        return cn;
    }

#if !(NGX_SSL)
    if (tls) {
        cn->err = 1;
        ngx_cpystrn((u_char *) cn->errstr, (u_char *) "no TLS in this nginx",
                    sizeof(cn->errstr));
        return cn;
    }
#endif

    pc = &cn->peer;
    pc->name = &cn->name;
    pc->get = ngx_event_get_peer;
    pc->log = &cn->log;
    pc->log_error = NGX_ERROR_ERR;

    rc = ngx_event_connect_peer(pc);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        cn->err = 1;

        if (cn->errstr[0] == '\0') {
            ngx_cpystrn((u_char *) cn->errstr, (u_char *) "connect failed",
                        sizeof(cn->errstr));
        }

        return cn;
    }

    c = pc->connection;

    c->data = cn;
    c->read->handler = ngx_http_cx_conn_read_handler;
    c->write->handler = ngx_http_cx_conn_write_handler;
    c->pool = NULL;

    cn->connection = c;
    cn->connecting = 1;

    if (rc == NGX_OK) {
        /* a unix socket: connected, told from the event loop all the same */
        ngx_post_event(c->write, &ngx_posted_events);
    }

    return cn;

failed:

    if (cn->reader) {
        redisReaderFree(cn->reader);
    }

    if (cn->wait) {
        ngx_free(cn->wait);
    }

    ngx_free(cn);

    return NULL;
}


/* the sockaddr of a numeric host and a port, or of a path */

static ngx_int_t
ngx_http_cx_conn_addr(ngx_http_cx_conn_t *cn, u_char *host, ngx_int_t port)
{
    size_t                len;
    in_addr_t             inaddr;
    struct sockaddr_in   *sin;
#if (NGX_HAVE_INET6)
    struct sockaddr_in6  *sin6;
#endif
#if (NGX_HAVE_UNIX_DOMAIN)
    struct sockaddr_un   *saun;
#endif

    len = ngx_strlen(host);

    cn->name.data = cn->text;

    if (port == 0) {
#if (NGX_HAVE_UNIX_DOMAIN)
        saun = &cn->sockaddr.sockaddr_un;

        if (len == 0 || len >= sizeof(saun->sun_path)) {
            return NGX_ERROR;
        }

        saun->sun_family = AF_UNIX;
        ngx_memcpy(saun->sun_path, host, len);

        cn->peer.sockaddr = &cn->sockaddr.sockaddr;
        cn->peer.socklen = sizeof(struct sockaddr_un);
        cn->name.len = ngx_snprintf(cn->text, sizeof(cn->text), "unix:%s",
                                    host)
                       - cn->text;
        return NGX_OK;
#else
        return NGX_ERROR;
#endif
    }

    cn->name.len = ngx_snprintf(cn->text, sizeof(cn->text), "%s:%i", host,
                                port)
                   - cn->text;
    cn->host.data = cn->text;
    cn->host.len = len;

    inaddr = ngx_inet_addr(host, len);

    if (inaddr != INADDR_NONE) {
        sin = &cn->sockaddr.sockaddr_in;
        sin->sin_family = AF_INET;
        sin->sin_port = htons((in_port_t) port);
        sin->sin_addr.s_addr = inaddr;

        cn->peer.sockaddr = &cn->sockaddr.sockaddr;
        cn->peer.socklen = sizeof(struct sockaddr_in);
        return NGX_OK;
    }

#if (NGX_HAVE_INET6)
    sin6 = &cn->sockaddr.sockaddr_in6;

    if (ngx_inet6_addr(host, len, sin6->sin6_addr.s6_addr) == NGX_OK) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((in_port_t) port);

        cn->peer.sockaddr = &cn->sockaddr.sockaddr;
        cn->peer.socklen = sizeof(struct sockaddr_in6);
        return NGX_OK;
    }
#endif

    return NGX_ERROR;
}


/*
 * A command, formatted, with its wait: sent at the end of this turn of
 * the event loop, or once connected.  NGX_ERROR: the connection is
 * going away, or no memory.
 */

ngx_int_t
ngx_http_cx_conn_send(ngx_http_cx_conn_t *cn, ngx_http_cx_redis_cb_pt fn,
    void *data, u_char *buf, size_t len)
{
    u_char  *p;

    p = ngx_http_cx_conn_room(cn, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(p, buf, len);

    return ngx_http_cx_conn_push(cn, fn, data, len);
}


/*
 * Room for len bytes at the end of the output, where a command is
 * formatted in place, then sent with ngx_http_cx_conn_push(): no copy.
 * NULL: the connection is going away, or no memory.
 */

u_char *
ngx_http_cx_conn_room(ngx_http_cx_conn_t *cn, size_t len)
{
    u_char  *out;
    size_t   size;

    if (cn->connection == NULL || cn->err || cn->freeing
        || cn->disconnecting)
    {
        return NULL;
    }

    if (cn->out_size - cn->out_last < len) {

        /* what is sent is dropped first, then the buffer grows */

        if (cn->out_pos) {
            ngx_memmove(cn->out, cn->out + cn->out_pos,
                        cn->out_last - cn->out_pos);
            cn->out_last -= cn->out_pos;
            cn->out_pos = 0;
        }

        if (cn->out_size - cn->out_last < len) {
            size = ngx_max(cn->out_size, NGX_HTTP_CX_CONN_OUT);

            while (size - cn->out_last < len) {
                size *= 2;
            }

            out = ngx_alloc(size, cn->base);
            if (out == NULL) {
                return NULL;
            }

            if (cn->out) {
                ngx_memcpy(out, cn->out, cn->out_last);
                ngx_free(cn->out);
            }

            cn->out = out;
            cn->out_size = size;
        }
    }

    return cn->out + cn->out_last;
}


/* the len bytes formatted in the room, a command, with its wait */

ngx_int_t
ngx_http_cx_conn_push(ngx_http_cx_conn_t *cn, ngx_http_cx_redis_cb_pt fn,
    void *data, size_t len)
{
    ngx_uint_t           i, n;
    ngx_http_cx_wait_t  *wait;

    if (cn->tail - cn->head == cn->nwait) {
        n = 2 * cn->nwait;

        wait = ngx_alloc(n * sizeof(ngx_http_cx_wait_t), cn->base);
        if (wait == NULL) {
            return NGX_ERROR;
        }

        for (i = cn->head; i != cn->tail; i++) {
            wait[i & (n - 1)] = cn->wait[i & (cn->nwait - 1)];
        }

        ngx_free(cn->wait);
        cn->wait = wait;
        cn->nwait = n;
    }

    cn->out_last += len;

    wait = &cn->wait[cn->tail++ & (cn->nwait - 1)];
    wait->fn = fn;
    wait->data = data;

    if (cn->up && !cn->flush.posted) {
        ngx_post_event(&cn->flush, &ngx_posted_events);
    }

    return NGX_OK;
}


/* a command of argc arguments, formatted in the output */

ngx_int_t
ngx_http_cx_conn_command(ngx_http_cx_conn_t *cn, ngx_http_cx_redis_cb_pt fn,
    void *data, ngx_uint_t argc, ngx_str_t *argv)
{
    u_char  *p, *last;

    p = ngx_http_cx_conn_room(cn, ngx_http_cx_resp_len(argc, argv));
    if (p == NULL) {
        return NGX_ERROR;
    }

    last = ngx_http_cx_resp(p, argc, argv);

    return ngx_http_cx_conn_push(cn, fn, data, last - p);
}


static void
ngx_http_cx_conn_flush_handler(ngx_event_t *ev)
{
    ngx_http_cx_conn_write(ev->data);
}


static void
ngx_http_cx_conn_write_handler(ngx_event_t *wev)
{
    ngx_connection_t    *c;
    ngx_http_cx_conn_t  *cn;

    c = wev->data;
    cn = c->data;

    if (cn->connecting) {
        ngx_http_cx_conn_test(cn);
        return;
    }

    ngx_http_cx_conn_write(cn);
}


/* the output, as much as the socket takes now; the rest on a write event */

static void
ngx_http_cx_conn_write(ngx_http_cx_conn_t *cn)
{
    ssize_t            n;
    ngx_connection_t  *c;

    c = cn->connection;

    if (c == NULL || !cn->up) {
        return;
    }

    cn->errstr[0] = '\0';

    while (cn->out_pos < cn->out_last) {
        n = c->send(c, cn->out + cn->out_pos, cn->out_last - cn->out_pos);

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == NGX_ERROR) {
#if (NGX_SSL)
            if (c->ssl) {
                /* what the peer said before it went, a TLS alert, says more */
                ngx_http_cx_conn_alert(cn);
            }
#endif
            ngx_http_cx_conn_error(cn, "write failed");
            return;
        }

        cn->out_pos += n;
    }

    if (cn->out_pos == cn->out_last) {
        cn->out_pos = 0;
        cn->out_last = 0;
    }

    if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
        ngx_http_cx_conn_error(cn, "write event failed");
    }
}


/* replies: read while there is any, each answering its wait */

static void
ngx_http_cx_conn_read_handler(ngx_event_t *rev)
{
    ssize_t              n;
    ngx_connection_t    *c;
    ngx_http_cx_conn_t  *cn;

    c = rev->data;
    cn = c->data;

    if (cn->connecting) {
        ngx_http_cx_conn_test(cn);
        return;
    }

    if (!cn->up) {
        return;
    }

    cn->errstr[0] = '\0';

    for ( ;; ) {
        n = c->recv(c, ngx_http_cx_conn_buf, sizeof(ngx_http_cx_conn_buf));

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == 0) {
            ngx_http_cx_conn_error(cn, "Server closed the connection");
            return;
        }

        if (n == NGX_ERROR) {
            ngx_http_cx_conn_error(cn, "read failed");
            return;
        }

        if (redisReaderFeed(cn->reader, (char *) ngx_http_cx_conn_buf, n)
            != REDIS_OK)
        {
            ngx_http_cx_conn_error(cn,
                                   ((redisReader *) cn->reader)->errstr);
            return;
        }

        if (ngx_http_cx_conn_replies(cn) != NGX_OK) {
            /* freed */
            return;
        }

        if (!rev->ready) {
            break;
        }
    }

    if (ngx_handle_read_event(rev, 0) != NGX_OK) {
        ngx_http_cx_conn_error(cn, "read event failed");
    }
}


/* the replies parsed, to their waits; NGX_DONE: the connection is freed */

static ngx_int_t
ngx_http_cx_conn_replies(ngx_http_cx_conn_t *cn)
{
    void                     *reply;
    ngx_http_cx_wait_t        w;

    for ( ;; ) {
        if (redisReaderGetReply(cn->reader, &reply) != REDIS_OK) {
            ngx_http_cx_conn_error(cn,
                                   ((redisReader *) cn->reader)->errstr);
            return NGX_DONE;
        }

        if (reply == NULL) {
            return NGX_OK;
        }

        cn->elements = 0;

        if (cn->head != cn->tail) {
            w = cn->wait[cn->head++ & (cn->nwait - 1)];

        } else if (cn->push) {
            w.fn = cn->push;
            w.data = cn->push_data;

        } else {
            ngx_http_cx_conn_free_reply(reply);
            ngx_http_cx_conn_error(cn, "a reply to no command");
            return NGX_DONE;
        }

        if (w.fn) {
            cn->in_callback = 1;
            w.fn(cn, reply, w.data);
            cn->in_callback = 0;
        }

        ngx_http_cx_conn_free_reply(reply);

        if (cn->freeing || (cn->disconnecting && cn->head == cn->tail)) {
            ngx_http_cx_conn_close(cn);
            return NGX_DONE;
        }
    }
}


/*
 * An array of the reply being read, as its header says: no more than
 * NGX_HTTP_CX_CONN_ELEMENTS elements in all the reply's arrays, more
 * than any reply to the module's commands has (CLUSTER SLOTS of 16384
 * ranges).  hiredis 0.14 allocates the elements the header names before
 * they arrive and frees them one by one: "*2147483647" from a peer took
 * 16 GB and seconds of the worker.
 */

static void *
ngx_http_cx_conn_array(const redisReadTask *task, int elements)
{
    ngx_http_cx_conn_t  *cn = task->privdata;

    if (elements > 0) {
        if ((ngx_uint_t) elements > NGX_HTTP_CX_CONN_ELEMENTS - cn->elements)
        {
            ngx_snprintf((u_char *) cn->errstr, sizeof(cn->errstr) - 1,
                         "a reply of more than %d elements%Z",
                         NGX_HTTP_CX_CONN_ELEMENTS);
            return NULL;
        }

        cn->elements += elements;
    }

    return ngx_http_cx_conn_create_array(task, elements);
}


/*
 * A reply that is one integer, the commonest (HSET, ZINCRBY, EXPIRE):
 * the worker's, not a calloc() and a free() each.  An element of an
 * array is hiredis's own, freed with its array, as is an integer read
 * while the worker's is out (a callback that reads another connection).
 */

static void *
ngx_http_cx_conn_integer(const redisReadTask *task, long long value)
{
    redisReply  *reply;

    if (task->parent || ngx_http_cx_conn_integer_out) {
        return ngx_http_cx_conn_create_integer(task, value);
    }

    reply = &ngx_http_cx_conn_integer_reply;

    ngx_memzero(reply, sizeof(redisReply));
    reply->type = REDIS_REPLY_INTEGER;
    reply->integer = value;

    ngx_http_cx_conn_integer_out = 1;

    return reply;
}


static void
ngx_http_cx_conn_free_reply(void *reply)
{
    if (reply == &ngx_http_cx_conn_integer_reply) {
        ngx_http_cx_conn_integer_out = 0;
        return;
    }

    freeReplyObject(reply);
}


/* the non-blocking connect is done: how */

static void
ngx_http_cx_conn_test(ngx_http_cx_conn_t *cn)
{
    int                err;
    socklen_t          len;
    ngx_connection_t  *c;

    c = cn->connection;

    err = 0;
    len = sizeof(int);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len) == -1) {
        err = ngx_socket_errno;
    }

    if (err) {
        ngx_http_cx_conn_failed(cn, strerror(err));
        return;
    }

    cn->connecting = 0;

#if (NGX_SSL)
    if (cn->tls) {
        ngx_http_cx_conn_tls(cn);
        return;
    }
#endif

    ngx_http_cx_conn_up(cn);
}


/* connected: the owner told, then what it queued meanwhile sent */

static void
ngx_http_cx_conn_up(ngx_http_cx_conn_t *cn)
{
    cn->connecting = 0;
    cn->up = 1;
    cn->errstr[0] = '\0';

    if (cn->connected) {
        cn->in_callback = 1;
        cn->connected(cn, NGX_OK);
        cn->in_callback = 0;
    }

    if (cn->freeing) {
        ngx_http_cx_conn_close(cn);
        return;
    }

    ngx_http_cx_conn_write(cn);
}


/* the connect failed: the owner told, then the connection freed */

static void
ngx_http_cx_conn_failed(ngx_http_cx_conn_t *cn, const char *detail)
{
    cn->err = 1;
    cn->connecting = 0;

    if (detail) {
        ngx_cpystrn((u_char *) cn->errstr, (u_char *) detail,
                    sizeof(cn->errstr));
    }

    if (cn->connected) {
        cn->in_callback = 1;
        cn->connected(cn, NGX_ERROR);
        cn->in_callback = 0;
    }

    ngx_http_cx_conn_close(cn);
}


/*
 * A connection lost: freed, its waits answered NULL, its owner told;
 * nginx's own line about it, when there is one, says more than
 * detail does.
 */

static void
ngx_http_cx_conn_error(ngx_http_cx_conn_t *cn, const char *detail)
{
    cn->err = 1;

    if (cn->errstr[0] == '\0') {
        ngx_cpystrn((u_char *) cn->errstr, (u_char *) detail,
                    sizeof(cn->errstr));
    }

    if (cn->in_callback) {
        cn->freeing = 1;
        return;
    }

    ngx_http_cx_conn_close(cn);
}


/* closed once its waits are answered: hiredis's redisAsyncDisconnect() */

void
ngx_http_cx_conn_disconnect(ngx_http_cx_conn_t *cn)
{
    cn->disconnecting = 1;

    if (cn->in_callback || cn->head != cn->tail) {
        return;
    }

    ngx_http_cx_conn_close(cn);
}


/* hiredis's redisAsyncFree(): at once, or once the callback returns */

void
ngx_http_cx_conn_free(ngx_http_cx_conn_t *cn)
{
    if (cn->in_callback) {
        cn->freeing = 1;
        return;
    }

    ngx_http_cx_conn_close(cn);
}


static void
ngx_http_cx_conn_close(ngx_http_cx_conn_t *cn)
{
    ngx_uint_t           up;
    ngx_pool_t          *pool;
    ngx_connection_t    *c;
    ngx_http_cx_wait_t   w;

    cn->freeing = 1;
    cn->in_callback = 1;

    while (cn->head != cn->tail) {
        w = cn->wait[cn->head++ & (cn->nwait - 1)];

        if (w.fn) {
            w.fn(cn, NULL, w.data);
        }
    }

    if (cn->push) {
        cn->push(cn, NULL, cn->push_data);
    }

    if (cn->flush.posted) {
        ngx_delete_posted_event(&cn->flush);
    }

    c = cn->connection;
    up = cn->up;

    cn->up = 0;

    if (c) {
        pool = c->pool;

#if (NGX_SSL)
        if (c->ssl) {
            c->ssl->no_wait_shutdown = 1;
            c->ssl->no_send_shutdown = 1;
            (void) ngx_ssl_shutdown(c);
        }
#endif

        ngx_close_connection(c);

        if (pool) {
            ngx_destroy_pool(pool);
        }

        cn->connection = NULL;
    }

    if (up && cn->disconnected) {
        cn->disconnected(cn, cn->err ? NGX_ERROR : NGX_OK);
    }

    redisReaderFree(cn->reader);

    if (cn->out) {
        ngx_free(cn->out);
    }

    ngx_free(cn->wait);
    ngx_free(cn);
}


/*
 * nginx's lines about the connection: up to info, the last is kept as
 * errstr (after its "[level] pid#tid: *n " prefix) and not written; the
 * module logs its own, once per episode.  Debug lines go to the log.
 */

static void
ngx_http_cx_conn_writer(ngx_log_t *log, ngx_uint_t level, u_char *buf,
    size_t len)
{
    u_char              *p, *last;
    ngx_http_cx_conn_t  *cn;

    cn = log->wdata;
    last = buf + len;

    p = ngx_strlchr(buf, last, ']');

    if (p && last - p > 2) {
        p = ngx_strlchr(p + 2, last, ' ');
    }

    if (p == NULL) {
        p = buf;

    } else {
        p++;
    }

    if (p < last && *p == '*') {
        while (p < last && *p != ' ') {
            p++;
        }

        if (p < last) {
            p++;
        }
    }

    while (last > p && (last[-1] == LF || last[-1] == CR)) {
        last--;
    }

    if (level > NGX_LOG_INFO) {
        ngx_log_error(level, cn->base, 0, "%*s", last - p, p);
        return;
    }

    len = ngx_min((size_t) (last - p), sizeof(cn->errstr) - 1);

    ngx_memcpy(cn->errstr, p, len);
    cn->errstr[len] = '\0';
}


#if (NGX_SSL)

static void
ngx_http_cx_conn_tls(ngx_http_cx_conn_t *cn)
{
    ngx_int_t          rc;
    ngx_connection_t  *c;

    c = cn->connection;

    c->pool = ngx_create_pool(512, &cn->log);
    if (c->pool == NULL) {
        ngx_http_cx_conn_failed(cn, "no memory");
        return;
    }

    if (ngx_ssl_create_connection(cn->tls->ssl, c, NGX_SSL_CLIENT)
        != NGX_OK)
    {
        ngx_http_cx_conn_failed(cn, NULL);
        return;
    }

    c->sendfile = 0;

    /*
     * A write that waits is retried with what the output holds then:
     * the same bytes, and more, but maybe moved (the output grown, or
     * what was sent before dropped); OpenSSL takes that only so.
     */

    SSL_set_mode(c->ssl->connection, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

    if (cn->tls->name.len
        && ngx_inet_addr(cn->tls->name.data, cn->tls->name.len)
           == INADDR_NONE
        && ngx_strlchr(cn->tls->name.data,
                       cn->tls->name.data + cn->tls->name.len, ':')
           == NULL)
    {
        /* SNI: the name, never an address (cx_redis_tls_name is NUL'd) */

        if (SSL_set_tlsext_host_name(c->ssl->connection,
                                     (char *) cn->tls->name.data)
            == 0)
        {
            ngx_ssl_error(NGX_LOG_ERR, c->log, 0,
                          "SSL_set_tlsext_host_name(\"%V\") failed",
                          &cn->tls->name);
            ngx_http_cx_conn_failed(cn, NULL);
            return;
        }
    }

    if (cn->session && *cn->session) {
        if (ngx_ssl_set_session(c, *cn->session) != NGX_OK) {
            ngx_http_cx_conn_failed(cn, NULL);
            return;
        }
    }

    c->ssl->save_session = ngx_http_cx_conn_save_session;

    rc = ngx_ssl_handshake(c);

    if (rc == NGX_AGAIN) {
        c->ssl->handler = ngx_http_cx_conn_handshaked;
        return;
    }

    ngx_http_cx_conn_handshaked(c);
}


static void
ngx_http_cx_conn_handshaked(ngx_connection_t *c)
{
    long                 rc;
    ngx_str_t           *name;
    ngx_http_cx_conn_t  *cn;

    cn = c->data;

    if (!c->ssl->handshaked) {
        ngx_http_cx_conn_failed(cn, cn->errstr[0] ? NULL
                                                  : "TLS handshake failed");
        return;
    }

    if (cn->tls->verify) {
        rc = SSL_get_verify_result(c->ssl->connection);

        if (rc != X509_V_OK) {
            ngx_snprintf((u_char *) cn->errstr, sizeof(cn->errstr) - 1,
                         "TLS certificate verify error: (%l:%s)%Z",
                         rc, X509_verify_cert_error_string(rc));
            ngx_http_cx_conn_failed(cn, NULL);
            return;
        }

        name = cn->tls->name.len ? &cn->tls->name : &cn->host;

        if (ngx_http_cx_conn_check_name(c, name) != NGX_OK) {
            ngx_snprintf((u_char *) cn->errstr, sizeof(cn->errstr) - 1,
                         "TLS certificate does not match \"%V\"%Z", name);
            ngx_http_cx_conn_failed(cn, NULL);
            return;
        }
    }

    c->read->handler = ngx_http_cx_conn_read_handler;
    c->write->handler = ngx_http_cx_conn_write_handler;

    /* what came with the handshake: read next (a close drops the event) */

    if (c->read->ready) {
        ngx_post_event(c->read, &ngx_posted_events);
    }

    ngx_http_cx_conn_up(cn);
}


/*
 * A write failed, the peer gone (a reset): a TLS alert it sent before
 * it went may still be read, and then named instead of the reset; a
 * server that wants a client certificate says so only this way, once
 * the handshake is over (TLSv1.3).
 */

static void
ngx_http_cx_conn_alert(ngx_http_cx_conn_t *cn)
{
    u_char             errstr[sizeof(cn->errstr)];
    ngx_connection_t  *c;

    c = cn->connection;

    ngx_memcpy(errstr, cn->errstr, sizeof(errstr));
    cn->errstr[0] = '\0';

    (void) c->recv(c, ngx_http_cx_conn_buf, sizeof(ngx_http_cx_conn_buf));

    if (ngx_strstr(cn->errstr, "alert") == NULL) {
        ngx_memcpy(cn->errstr, errstr, sizeof(errstr));
    }
}


/* a host name, or an address: the certificate's names, or its IPs */

static ngx_int_t
ngx_http_cx_conn_check_name(ngx_connection_t *c, ngx_str_t *name)
{
    int     rc;
    u_char  addr[NGX_SOCKADDR_STRLEN + 1];
    X509   *cert;

    if (name->len == 0) {
        return NGX_ERROR;
    }

    if (ngx_inet_addr(name->data, name->len) == INADDR_NONE
        && ngx_strlchr(name->data, name->data + name->len, ':') == NULL)
    {
        return ngx_ssl_check_host(c, name);
    }

    /* an address: NUL-terminated for OpenSSL (a name may be longer) */

    if (name->len > NGX_SOCKADDR_STRLEN) {
        return NGX_ERROR;
    }

    ngx_cpystrn(addr, name->data, name->len + 1);

    cert = SSL_get_peer_certificate(c->ssl->connection);
    if (cert == NULL) {
        return NGX_ERROR;
    }

    rc = X509_check_ip_asc(cert, (char *) addr, 0);

    X509_free(cert);

    return rc == 1 ? NGX_OK : NGX_ERROR;
}


/* the newest session of a connection, for the next one to resume */

static void
ngx_http_cx_conn_save_session(ngx_connection_t *c)
{
    ngx_ssl_session_t   *session;
    ngx_http_cx_conn_t  *cn;

    cn = c->data;

    if (cn->session == NULL) {
        return;
    }

    session = ngx_ssl_get_session(c);
    if (session == NULL) {
        return;
    }

    ngx_http_cx_conn_forget(cn->session);

    *cn->session = session;
}

#endif


/* a session kept, let go */

void
ngx_http_cx_conn_forget(void **session)
{
#if (NGX_SSL)
    if (*session) {
        ngx_ssl_free_session(*session);
    }
#endif

    *session = NULL;
}
