
/*
 * Copyright (C) ngx_cx authors
 *
 * The key schema and the pure logic around it: hashing customer ids,
 * building keys, expanding step templates, reading candidates back.
 * Nothing here calls into the nginx runtime, so t/unit tests it alone.
 *
 * Keys (P is the cx_prefix of the request's server, H the 16 hex digits of
 * the hash of the id, keyed by that server's cx_secret):
 *
 *   P{H}:seq        list of "name url", newest first, cx_history long
 *   P{H}:s          hash: ts, jlen, goals, gap, ngaps (the customer's state),
 *                   lday, learned (the learning budget)
 *   P{H}:p          zset "from name url" -> times this customer went from
 *                   step <from> to "name url", the 64 most frequent
 *   P{H}:g          list of goal paths "name url|name url|...", newest first
 *   Pt:{<name>}:E   zset "name url" -> decayed weight of the rule
 *                   <name> -> it, in decay epoch E
 *
 * All keys of one customer share the hash tag {H}, so under Redis Cluster
 * they live in one slot; the two epochs of a rule share {<name>}.  Every
 * write refreshes the key's TTL (cx_ttl).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <math.h>

#include <xxhash.h>

#include <ngx_http_cx_module.h>


static u_char ngx_http_cx_hex_value(u_char c);
static ngx_uint_t ngx_http_cx_prefix_is(u_char *p, u_char *last, char *s);
static u_char *ngx_http_cx_hex32(u_char *p, uint32_t v);
static ngx_int_t ngx_http_cx_parse_hex(u_char *p, ngx_uint_t n,
    uint64_t *v);


static u_char  ngx_http_cx_hex[] = "0123456789abcdef";

/* ngx_http_cx_customer_key(): a byte in hex, "00" to "ff" */
static u_char  ngx_http_cx_hex_pairs[] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
    "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

/* ngx_http_cx_digits(): 10^0..10^19, and "00" to "99" */
static uint64_t  ngx_http_cx_tens[] = {
    1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL,
    10000000ULL, 100000000ULL, 1000000000ULL, 10000000000ULL,
    100000000000ULL, 1000000000000ULL, 10000000000000ULL,
    100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
    100000000000000000ULL, 1000000000000000000ULL,
    10000000000000000000ULL
};

static u_char  ngx_http_cx_pairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233"
    "34353637383940414243444546474849505152535455565758596061626364656667"
    "6869707172737475767778798081828384858687888990919293949596979899";

/* a url's escapes, as RFC 3986 normalizes them */
static u_char  ngx_http_cx_url_hex[] = "0123456789ABCDEF";


/*
 * The keys ids are hashed with, from cx_secret (or a built-in word): a
 * login's, then a visitor's, 128 bits each.  XXH3 spreads the secret,
 * whose bytes never show; SipHash, a keyed hash, makes the ids' hashes.
 */

void
ngx_http_cx_derive_keys(uint64_t *keys, ngx_str_t *secret)
{
    u_char         *p;
    size_t          len;
    ngx_uint_t      i;
    XXH128_hash_t   h;

    if (secret->len) {
        p = secret->data;
        len = secret->len;

    } else {
        p = (u_char *) "ngx_cx";
        len = 6;
    }

    for (i = 0; i < 2; i++) {
        h = XXH3_128bits_withSeed(p, len, i + 1);
        keys[2 * i] = h.low64;
        keys[2 * i + 1] = h.high64;
    }
}


#define ngx_http_cx_rotl(x, b)  (((x) << (b)) | ((x) >> (64 - (b))))

#define ngx_http_cx_sipround(v0, v1, v2, v3)                                  \
    v0 += v1; v1 = ngx_http_cx_rotl(v1, 13); v1 ^= v0;                       \
    v0 = ngx_http_cx_rotl(v0, 32);                                           \
    v2 += v3; v3 = ngx_http_cx_rotl(v3, 16); v3 ^= v2;                       \
    v0 += v3; v3 = ngx_http_cx_rotl(v3, 21); v3 ^= v0;                       \
    v2 += v1; v1 = ngx_http_cx_rotl(v1, 17); v1 ^= v2;                       \
    v2 = ngx_http_cx_rotl(v2, 32)


/* SipHash-2-4 (Aumasson and Bernstein, 2012), bytes read little-endian */

uint64_t
ngx_http_cx_siphash(uint64_t *key, u_char *p, size_t len)
{
    size_t    i, n;
    uint64_t  v0, v1, v2, v3, m;

    v0 = key[0] ^ 0x736f6d6570736575ULL;
    v1 = key[1] ^ 0x646f72616e646f6dULL;
    v2 = key[0] ^ 0x6c7967656e657261ULL;
    v3 = key[1] ^ 0x7465646279746573ULL;

    for (n = len; n >= 8; n -= 8, p += 8) {
        m = 0;

        for (i = 0; i < 8; i++) {
            m |= (uint64_t) p[i] << (8 * i);
        }

        v3 ^= m;
        ngx_http_cx_sipround(v0, v1, v2, v3);
        ngx_http_cx_sipround(v0, v1, v2, v3);
        v0 ^= m;
    }

    /* the last bytes, and the length's low byte on top */

    m = (uint64_t) (len & 0xff) << 56;

    for (i = 0; i < n; i++) {
        m |= (uint64_t) p[i] << (8 * i);
    }

    v3 ^= m;
    ngx_http_cx_sipround(v0, v1, v2, v3);
    ngx_http_cx_sipround(v0, v1, v2, v3);
    v0 ^= m;

    v2 ^= 0xff;
    ngx_http_cx_sipround(v0, v1, v2, v3);
    ngx_http_cx_sipround(v0, v1, v2, v3);
    ngx_http_cx_sipround(v0, v1, v2, v3);
    ngx_http_cx_sipround(v0, v1, v2, v3);

    return v0 ^ v1 ^ v2 ^ v3;
}


/*
 * A customer's keyed hash.  A login's id (a cx_id source) and a visitor's
 * (a cookie, which any client sets to what it likes) are hashed with keys
 * of their own, so that no cookie names a login's keys, and without the
 * keys no id can be told from its hash, nor one customer across shops.
 */

uint64_t
ngx_http_cx_hash_id(uint64_t *keys, ngx_uint_t login, u_char *id,
    size_t len)
{
    return ngx_http_cx_siphash(login ? keys : keys + 2, id, len);
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
    ngx_int_t   i;
    ngx_uint_t  b;

    p = ngx_cpymem(p, prefix->data, prefix->len);
    *p++ = '{';

    /* a byte a turn, its two digits at once */

    for (i = 56; i >= 0; i -= 8) {
        b = (hash >> i) & 0xff;
        ngx_memcpy(p, &ngx_http_cx_hex_pairs[2 * b], 2);
        p += 2;
    }

    *p++ = '}';
    *p++ = ':';

    /* a suffix of a few letters: copied as it is read, not measured first */

    while (*suffix) {
        *p++ = (u_char) *suffix++;
    }

    return p;
}


/*
 * The prefix (in the key) and the customer of a key that
 * ngx_http_cx_customer_key() made with suffix; NGX_ERROR if it is not one.
 */

ngx_int_t
ngx_http_cx_customer_of_key(ngx_str_t *key, const char *suffix,
    ngx_str_t *prefix, uint64_t *hash)
{
    u_char  *p;
    size_t   n, len;

    /* "{", 16 hex digits, "}:", the suffix */

    len = ngx_strlen(suffix);

    if (key->len < 1 + 19 + len) {
        return NGX_ERROR;
    }

    n = key->len - 19 - len;
    p = key->data + n;

    if (p[0] != '{' || p[17] != '}' || p[18] != ':'
        || ngx_memcmp(p + 19, suffix, len) != 0
        || ngx_http_cx_parse_hex(p + 1, 16, hash) != NGX_OK)
    {
        return NGX_ERROR;
    }

    prefix->data = key->data;
    prefix->len = n;

    return NGX_OK;
}


/*
 * Written in place from the last digit: no copy, no call.  The length
 * from the number's bits, the digits two by one division (a step's HSET
 * has two times in ms, of 13 digits each, and every command a length of
 * each argument).
 */

u_char *
ngx_http_cx_digits(u_char *p, uint64_t n)
{
    u_char      *last, *d;
    uint64_t     q;
    ngx_uint_t   len;

#if (__GNUC__ >= 4)

    /*
     * 1233 / 4096 is about log10(2): the length or one more, which the
     * powers of 10 tell; n | 1 is as long as n, and not 0
     */

    len = (64 - __builtin_clzll(n | 1)) * 1233 >> 12;
    len += 1 - ((n | 1) < ngx_http_cx_tens[len]);

#else

    for (len = 1;
         len < sizeof(ngx_http_cx_tens) / sizeof(uint64_t)
         && n >= ngx_http_cx_tens[len];
         len++)
    { /* void */ }

#endif

    last = p + len;
    p = last;

    /* a pair a turn, its two digits at once */

    while (n >= 100) {
        q = n / 100;
        d = &ngx_http_cx_pairs[2 * (n - q * 100)];
        n = q;

        p -= 2;
        ngx_memcpy(p, d, 2);
    }

    if (n >= 10) {
        p -= 2;
        ngx_memcpy(p, &ngx_http_cx_pairs[2 * n], 2);

    } else {
        *--p = (u_char) ('0' + n);
    }

    return last;
}


/* a number as ngx_sprintf("%L") writes it, at a fraction of its cost */

u_char *
ngx_http_cx_int(u_char *p, int64_t n)
{
    if (n < 0) {
        *p++ = '-';
        return ngx_http_cx_digits(p, 0 - (uint64_t) n);
    }

    return ngx_http_cx_digits(p, (uint64_t) n);
}


/* a command in the Redis protocol: *argc, then $len and data each */

size_t
ngx_http_cx_resp_len(ngx_uint_t argc, ngx_str_t *argv)
{
    size_t      len;
    ngx_uint_t  i;

    len = 1 + NGX_INT64_LEN + 2;

    for (i = 0; i < argc; i++) {
        len += 1 + NGX_INT64_LEN + 2 + argv[i].len + 2;
    }

    return len;
}


u_char *
ngx_http_cx_resp(u_char *p, ngx_uint_t argc, ngx_str_t *argv)
{
    ngx_uint_t  i;

    *p++ = '*';

    if (argc < 10) {
        *p++ = (u_char) ('0' + argc);

    } else {
        p = ngx_http_cx_digits(p, argc);
    }

    *p++ = CR; *p++ = LF;

    for (i = 0; i < argc; i++) {
        *p++ = '$';

        /*
         * most arguments are short: a field, a count, a command's name;
         * most others shorter than 100, a key, a member
         */

        if (argv[i].len < 10) {
            *p++ = (u_char) ('0' + argv[i].len);

        } else if (argv[i].len < 100) {
            *p++ = ngx_http_cx_pairs[2 * argv[i].len];
            *p++ = ngx_http_cx_pairs[2 * argv[i].len + 1];

        } else {
            p = ngx_http_cx_digits(p, argv[i].len);
        }

        *p++ = CR; *p++ = LF;
        p = ngx_cpymem(p, argv[i].data, argv[i].len);
        *p++ = CR; *p++ = LF;
    }

    return p;
}


/*
 * A transition of the customer's, "from name url" (a field of P{H}:s):
 * if it leaves the step called name, its "name url" part in "to".
 */

ngx_int_t
ngx_http_cx_habit_to(ngx_str_t *habit, u_char *name, size_t len,
    ngx_str_t *to)
{
    /* the space first: most of a customer's leave other steps */

    if (habit->len <= len + 1
        || habit->data[len] != ' '
        || ngx_strncmp(habit->data, name, len) != 0)
    {
        return NGX_DECLINED;
    }

    to->data = habit->data + len + 1;
    to->len = habit->len - len - 1;

    return NGX_OK;
}


/* a transition as ngx_http_cx_record.c writes it: "from name url" */

ngx_uint_t
ngx_http_cx_habit_ok(ngx_str_t *habit)
{
    u_char             *sp, *p;
    ngx_http_cx_ref_t   ref;

    if (habit->len == 0 || habit->len > NGX_HTTP_CX_HABIT_MAX) {
        return 0;
    }

    sp = ngx_strlchr(habit->data, habit->data + habit->len, ' ');

    if (sp == NULL || sp == habit->data
        || sp - habit->data > NGX_HTTP_CX_NAME_MAX)
    {
        return 0;
    }

    for (p = habit->data; p < sp; p++) {
        if (!ngx_http_cx_url_char(*p)) {
            return 0;
        }
    }

    return ngx_http_cx_member_parse(sp + 1, habit->data + habit->len - sp - 1,
                                    &ref)
           == NGX_OK;
}


/* the field of a transition "from name url" in the customer's hash: the end */

u_char *
ngx_http_cx_habit_field(u_char *p, ngx_str_t *habit)
{
    *p++ = '>';

    return ngx_cpymem(p, habit->data, habit->len);
}


/* s is one of m[0..n) */

ngx_uint_t
ngx_http_cx_among(ngx_str_t *s, ngx_str_t *m, ngx_uint_t n)
{
    ngx_uint_t  i;

    for (i = 0; i < n; i++) {
        if (ngx_http_cx_same(&m[i], s)) {
            return 1;
        }
    }

    return 0;
}


/* a before b in ZREVRANGE's order: the higher count, then the later bytes */

ngx_uint_t
ngx_http_cx_habit_before(double wa, ngx_str_t *a, double wb, ngx_str_t *b)
{
    ngx_int_t  rc;

    if (wa != wb) {
        return wa > wb;
    }

    rc = ngx_memcmp(a->data, b->data, ngx_min(a->len, b->len));

    return rc > 0 || (rc == 0 && a->len > b->len);
}


/*
 * habit with its count into h[0..n), w[0..n), kept in that order and at
 * most max long (the lightest falls off): the new n.
 */

ngx_uint_t
ngx_http_cx_habit_insert(ngx_str_t *h, double *w, ngx_uint_t n,
    ngx_uint_t max, ngx_str_t *habit, double count)
{
    ngx_uint_t  j;

    if (n == max) {
        if (!ngx_http_cx_habit_before(count, habit, w[n - 1], &h[n - 1])) {
            return n;
        }

        n--;
    }

    for (j = n; j > 0 && ngx_http_cx_habit_before(count, habit, w[j - 1],
                                                   &h[j - 1]);
         j--)
    {
        h[j] = h[j - 1];
        w[j] = w[j - 1];
    }

    h[j] = *habit;
    w[j] = count;

    return n + 1;
}


/*
 * The recent steps as the customer's hash keeps them, "name url|name
 * url|...", newest first: at most max into out[], each that is not ours
 * skipped and counted.  A text longer than max steps of the longest is
 * not ours: skipped whole, not scanned.
 */

ngx_uint_t
ngx_http_cx_steps_parse(ngx_str_t *text, ngx_str_t *out, ngx_uint_t max,
    ngx_uint_t *bad)
{
    u_char             *p, *last, *bar;
    ngx_uint_t          n;
    ngx_http_cx_ref_t   ref;

    if (text->len >= max * (NGX_HTTP_CX_MEMBER_MAX + 1)) {
        (*bad)++;
        return 0;
    }

    n = 0;
    p = text->data;
    last = p + text->len;

    while (p < last && n < max) {
        bar = ngx_strlchr(p, last, '|');
        if (bar == NULL) {
            bar = last;
        }

        if (ngx_http_cx_member_parse(p, bar - p, &ref) == NGX_OK) {
            out[n].data = p;
            out[n].len = bar - p;
            n++;

        } else {
            (*bad)++;
        }

        p = bar + 1;
    }

    return n;
}


/* "name url|name url|..." of s[0..n) into p: the end */

u_char *
ngx_http_cx_steps_text(u_char *p, ngx_str_t *s, ngx_uint_t n)
{
    ngx_uint_t  i;

    for (i = 0; i < n; i++) {
        if (i) {
            *p++ = '|';
        }

        p = ngx_cpymem(p, s[i].data, s[i].len);
    }

    return p;
}


/* Pt:{name}:epoch; the two epochs of a rule share a hash tag */

u_char *
ngx_http_cx_step_key(u_char *p, ngx_str_t *prefix, u_char *name, size_t len,
    int64_t epoch)
{
    p = ngx_http_cx_step_key_head(p, prefix);
    p = ngx_cpymem(p, name, len);

    return ngx_http_cx_step_key_tail(p, epoch);
}


/*
 * A step key's parts around the name, "Pt:{" and "}:epoch": the keys of
 * a journey's steps share them, written once (ngx_http_cx_record.c)
 */

u_char *
ngx_http_cx_step_key_head(u_char *p, ngx_str_t *prefix)
{
    p = ngx_cpymem(p, prefix->data, prefix->len);
    *p++ = 't';
    *p++ = ':';
    *p++ = '{';

    return p;
}


u_char *
ngx_http_cx_step_key_tail(u_char *p, int64_t epoch)
{
    *p++ = '}';
    *p++ = ':';

    return ngx_http_cx_digits(p, epoch < 0 ? 0 : (uint64_t) epoch);
}


/*
 * Characters that may stand in a step name or url as they are,
 * [A-Za-z0-9-._~/:@!;=+*]: ngx_http_cx_safe_char().  Everything else taken
 * from a request is percent-encoded, so a name or url never carries
 * spaces, quotes, angle brackets, braces or control characters into
 * Redis, headers, HTML or JSON.
 */

uint32_t  ngx_http_cx_safe_chars[] = {
    0x00000000, /* 0000 0000 0000 0000  0000 0000 0000 0000 */

                /* ?>=< ;:98 7654 3210  /.-, +*)( '&%$ #"!  */
    0x2fffec02, /* 0010 1111 1111 1111  1110 1100 0000 0010 */

                /* _^]\ [ZYX WVUT SRQP  ONML KJIH GFED CBA@  */
    0x87ffffff, /* 1000 0111 1111 1111  1111 1111 1111 1111 */

                /*  ~}| {zyx wvut srqp  onml kjih gfed cba`  */
    0x47fffffe, /* 0100 0111 1111 1111  1111 1111 1111 1110 */

    0x00000000, /* 0000 0000 0000 0000  0000 0000 0000 0000 */
    0x00000000, /* 0000 0000 0000 0000  0000 0000 0000 0000 */
    0x00000000, /* 0000 0000 0000 0000  0000 0000 0000 0000 */
    0x00000000  /* 0000 0000 0000 0000  0000 0000 0000 0000 */
};


/* a url from the configuration may also carry a query, [%?&#] */

uint32_t  ngx_http_cx_url_chars[] = {
    0x00000000, /* 0000 0000 0000 0000  0000 0000 0000 0000 */

                /* ?>=< ;:98 7654 3210  /.-, +*)( '&%$ #"!  */
    0xafffec6a, /* 1010 1111 1111 1111  1110 1100 0110 1010 */

                /* _^]\ [ZYX WVUT SRQP  ONML KJIH GFED CBA@  */
    0x87ffffff, /* 1000 0111 1111 1111  1111 1111 1111 1111 */

                /*  ~}| {zyx wvut srqp  onml kjih gfed cba`  */
    0x47fffffe, /* 0100 0111 1111 1111  1111 1111 1111 1110 */

    0x00000000, /* 0000 0000 0000 0000  0000 0000 0000 0000 */
    0x00000000, /* 0000 0000 0000 0000  0000 0000 0000 0000 */
    0x00000000, /* 0000 0000 0000 0000  0000 0000 0000 0000 */
    0x00000000  /* 0000 0000 0000 0000  0000 0000 0000 0000 */
};


/*
 * Text of the configuration that customers read (a label, the block's
 * words): NULL if it is fine, else what is wrong with it.  It must be
 * UTF-8 (shortest form, no surrogates) without control characters (C0,
 * DEL, C1), so that it is valid JSON once escaped and never breaks a
 * header or a log line.
 */

char *
ngx_http_cx_text_check(u_char *p, size_t len)
{
    u_char      *last;
    uint32_t     u, min;
    ngx_uint_t   n;

    if (len > NGX_HTTP_CX_LABEL_MAX) {
        return "is longer than 256 bytes";
    }

    for (last = p + len; p < last; /* void */ ) {

        u = *p++;

        if (u < 0x80) {
            if (u < 0x20 || u == 0x7f) {
                return "has a control character";
            }

            continue;
        }

        if (u >= 0xc2 && u <= 0xdf) {
            u &= 0x1f;
            n = 1;
            min = 0x80;

        } else if (u >= 0xe0 && u <= 0xef) {
            u &= 0x0f;
            n = 2;
            min = 0x800;

        } else if (u >= 0xf0 && u <= 0xf4) {
            u &= 0x07;
            n = 3;
            min = 0x10000;

        } else {
            return "is not valid UTF-8";
        }

        if ((size_t) (last - p) < n) {
            return "is not valid UTF-8";
        }

        while (n--) {
            if ((*p & 0xc0) != 0x80) {
                return "is not valid UTF-8";
            }

            u = (u << 6) | (*p++ & 0x3f);
        }

        if (u < min || u > 0x10ffff || (u >= 0xd800 && u <= 0xdfff)) {
            return "is not valid UTF-8";
        }

        if (u <= 0x9f) {
            return "has a control character";
        }
    }

    return NULL;
}


/*
 * ngx_escape_html() and the single quote too, so that a value is safe in
 * text and in attributes quoted either way: the bytes it adds, or (dst
 * given) the end of what it wrote.
 */

uintptr_t
ngx_http_cx_escape_html(u_char *dst, u_char *src, size_t size)
{
    u_char     *last;
    uintptr_t   n;

    last = src + size;

    if (dst == NULL) {
        n = 0;

        for ( /* void */ ; src < last; src++) {
            switch (*src) {
            case '<': case '>':
                n += sizeof("&lt;") - 2;
                break;
            case '&':
                n += sizeof("&amp;") - 2;
                break;
            case '"':
                n += sizeof("&quot;") - 2;
                break;
            case '\'':
                n += sizeof("&#39;") - 2;
                break;
            }
        }

        return n;
    }

    for ( /* void */ ; src < last; src++) {
        switch (*src) {
        case '<':
            dst = ngx_cpymem(dst, "&lt;", sizeof("&lt;") - 1);
            break;
        case '>':
            dst = ngx_cpymem(dst, "&gt;", sizeof("&gt;") - 1);
            break;
        case '&':
            dst = ngx_cpymem(dst, "&amp;", sizeof("&amp;") - 1);
            break;
        case '"':
            dst = ngx_cpymem(dst, "&quot;", sizeof("&quot;") - 1);
            break;
        case '\'':
            dst = ngx_cpymem(dst, "&#39;", sizeof("&#39;") - 1);
            break;
        default:
            *dst++ = *src;
        }
    }

    return (uintptr_t) dst;
}


/*
 * As ngx_escape_json(), and also "<", ">" and "&", as \u003c, \u003e and
 * \u0026 (as OWASP advises), so that JSON written into an html page's
 * inline script can neither end it ("</script>") nor open markup; control
 * characters are all \u00XX.  The bytes it adds, or (dst given) the end of
 * what it wrote.
 */

uintptr_t
ngx_http_cx_escape_json(u_char *dst, u_char *src, size_t size)
{
    u_char     *last, c;
    uintptr_t   n;

    static u_char  hex[] = "0123456789abcdef";

    last = src + size;

    if (dst == NULL) {
        n = 0;

        for ( /* void */ ; src < last; src++) {
            c = *src;

            if (c == '"' || c == '\\') {
                n += sizeof("\\\"") - 2;

            } else if (c <= 0x1f || c == '<' || c == '>' || c == '&') {
                n += sizeof("\\u003c") - 2;
            }
        }

        return n;
    }

    for ( /* void */ ; src < last; src++) {
        c = *src;

        if (c == '"' || c == '\\') {
            *dst++ = '\\';
            *dst++ = c;

        } else if (c <= 0x1f || c == '<' || c == '>' || c == '&') {
            dst = ngx_cpymem(dst, "\\u00", sizeof("\\u00") - 1);
            *dst++ = hex[c >> 4];
            *dst++ = hex[c & 0xf];

        } else {
            *dst++ = c;
        }
    }

    return (uintptr_t) dst;
}


/*
 * A label value of the Prometheus text format: a backslash, a double
 * quote and a newline escaped with a backslash.  As ngx_escape_json():
 * with dst NULL, the bytes it adds; else the end of what it wrote.
 */

uintptr_t
ngx_http_cx_escape_label(u_char *dst, u_char *src, size_t size)
{
    u_char     *last, c;
    uintptr_t   n;

    last = src + size;

    if (dst == NULL) {
        n = 0;

        for ( /* void */ ; src < last; src++) {
            c = *src;

            if (c == '"' || c == '\\' || c == '\n') {
                n++;
            }
        }

        return n;
    }

    for ( /* void */ ; src < last; src++) {
        c = *src;

        if (c == '"' || c == '\\') {
            *dst++ = '\\';
            *dst++ = c;

        } else if (c == '\n') {
            *dst++ = '\\';
            *dst++ = 'n';

        } else {
            *dst++ = c;
        }
    }

    return (uintptr_t) dst;
}


static u_char
ngx_http_cx_hex_value(u_char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : 16;
}


/*
 * Percent-decodes a path as nginx decodes a request's uri: the length
 * written, or NGX_ERROR for a bad escape, a control byte or no room.
 */

ngx_int_t
ngx_http_cx_unescape(u_char *src, size_t len, u_char *dst, size_t size)
{
    u_char  *p, *last, c, h, l;

    p = dst;
    last = src + len;

    for ( /* void */ ; src < last; src++) {

        c = *src;

        if (c == '%') {
            if (last - src < 3) {
                return NGX_ERROR;
            }

            h = ngx_http_cx_hex_value(src[1]);
            l = ngx_http_cx_hex_value(src[2]);

            if (h > 15 || l > 15) {
                return NGX_ERROR;
            }

            c = (u_char) (h << 4 | l);
            src += 2;
        }

        if (c < 0x20 || c == 0x7f || (size_t) (p - dst) == size) {
            return NGX_ERROR;
        }

        *p++ = c;
    }

    return p - dst;
}


/*
 * A path decoded as nginx decodes a request's uri, if nginx would have
 * left it as it is: no "//", no dot segment.  The length, or NGX_ERROR.
 */

ngx_int_t
ngx_http_cx_path(u_char *src, size_t len, u_char *dst, size_t size)
{
    ngx_int_t  n, i;

    n = ngx_http_cx_unescape(src, len, dst, size);
    if (n == NGX_ERROR) {
        return NGX_ERROR;
    }

    for (i = 0; i + 1 < n; i++) {
        if (dst[i] == '/' && (dst[i + 1] == '/' || dst[i + 1] == '.')) {
            return NGX_ERROR;
        }
    }

    return n;
}


/*
 * The path of a Referer "scheme://host[:port]/path?query" of this host,
 * decoded as nginx decodes a uri into buf; a path that nginx would have
 * normalized (// or a dot segment) is not taken.
 */

ngx_int_t
ngx_http_cx_referer_path(ngx_str_t *referer, ngx_str_t *host, u_char *buf,
    size_t size, ngx_str_t *path)
{
    u_char     *p, *last, *start, *port;
    ngx_int_t   n, i;

    p = referer->data;
    last = p + referer->len;

    if (ngx_http_cx_prefix_is(p, last, "https://")) {
        p += sizeof("https://") - 1;

    } else if (ngx_http_cx_prefix_is(p, last, "http://")) {
        p += sizeof("http://") - 1;

    } else {
        return NGX_DECLINED;
    }

    start = p;
    port = NULL;

    while (p < last && *p != '/' && *p != '?' && *p != '#') {
        if (*p == ':') {
            port = p;

        } else if (*p == '@') {
            /* a user name */
            return NGX_DECLINED;
        }

        p++;
    }

    if (host->len == 0
        || (size_t) ((port ? port : p) - start) != host->len)
    {
        return NGX_DECLINED;
    }

    for (i = 0; i < (ngx_int_t) host->len; i++) {
        if (ngx_tolower(start[i]) != ngx_tolower(host->data[i])) {
            /* another site's */
            return NGX_DECLINED;
        }
    }

    start = p;

    while (p < last && *p != '?' && *p != '#') {
        p++;
    }

    if (p == start) {
        ngx_str_set(path, "/");
        return NGX_OK;
    }

    n = ngx_http_cx_path(start, p - start, buf, size);
    if (n == NGX_ERROR) {
        return NGX_DECLINED;
    }

    path->data = buf;
    path->len = n;

    return NGX_OK;
}


/* whether [p, last) begins with s, in any case */

static ngx_uint_t
ngx_http_cx_prefix_is(u_char *p, u_char *last, char *s)
{
    for ( /* void */ ; *s; s++, p++) {
        if (p == last || ngx_tolower(*p) != (u_char) *s) {
            return 0;
        }
    }

    return 1;
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
            *p++ = ngx_http_cx_url_hex[*s >> 4];
            *p++ = ngx_http_cx_url_hex[*s & 0xf];
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

    if (sp == NULL || sp == data || sp + 1 == end
        || sp - data > NGX_HTTP_CX_NAME_MAX
        || end - sp - 1 > NGX_HTTP_CX_URL_MAX)
    {
        return NGX_DECLINED;
    }

    ref->name.data = data;
    ref->name.len = sp - data;
    ref->url.data = sp + 1;
    ref->url.len = end - sp - 1;

    return NGX_OK;
}


/*
 * The two parts of a member ngx_http_cx_member_parse() accepted when it
 * came in (a reply of Redis, a copy made of such, a step classified
 * here): no byte of it is looked at again.
 */

void
ngx_http_cx_member_split(u_char *data, size_t len, ngx_http_cx_ref_t *ref)
{
    u_char  *sp;

    /* memchr(): libc's, a word or more at a time */

    sp = memchr(data, ' ', len);

    ref->name.data = data;

    if (sp == NULL) {
        /* not one: a name no step has */
        ref->name.len = len;
        ref->url.data = data + len;
        ref->url.len = 0;
        return;
    }

    ref->name.len = sp - data;
    ref->url.data = sp + 1;
    ref->url.len = data + len - sp - 1;
}


/*
 * Forward decay: an event at "now" weighs 2^((now - landmark) / half-life),
 * so older counts fade relative to new ones without rewriting them.  The
 * landmark moves every NGX_HTTP_CX_EPOCH half-lives to keep weights finite;
 * the previous epoch's scores are read scaled by 2^-NGX_HTTP_CX_EPOCH.
 */

double
ngx_http_cx_decay(int64_t now, ngx_msec_t half_life, int64_t *epoch)
{
    int64_t  span;

    span = (int64_t) half_life * NGX_HTTP_CX_EPOCH;
    *epoch = now / span;

    return exp2((double) (now - *epoch * span) / (double) half_life);
}


ngx_uint_t
ngx_http_cx_level(ngx_uint_t goals, ngx_uint_t returning, ngx_uint_t expert)
{
    if (goals >= expert) {
        return NGX_HTTP_CX_LEVEL_EXPERT;
    }

    if (goals >= returning) {
        return NGX_HTTP_CX_LEVEL_RETURNING;
    }

    return NGX_HTTP_CX_LEVEL_NEW;
}


/* the state after a step at "now"; journeys cut at the goal or a long gap */

ngx_uint_t
ngx_http_cx_advance(ngx_http_cx_state_t *st, int64_t now,
    ngx_msec_t journey_gap, ngx_uint_t goal)
{
    ngx_uint_t  prev;
    int64_t     gap;

    gap = now - st->ts;
    prev = 0;

    if (st->ts > 0 && st->jlen > 0 && gap >= 0
        && gap <= (int64_t) journey_gap)
    {
        /* the journey goes on: this many earlier steps belong to it */
        prev = st->jlen;

        st->gap = st->ngaps ? 0.7 * st->gap + 0.3 * (double) gap
                            : (double) gap;
        st->ngaps++;
    }

    st->ts = now;
    st->jlen = goal ? 0 : prev + 1;

    if (goal) {
        st->goals++;
    }

    return prev;
}


/*
 * The state of a customer who logged in (st, with "steps" steps in their
 * sequence) once the history of their anonymous visit (anon) is appended
 * after those steps, as older ones: goals and gaps add up, the last step
 * is the later one.  The journey goes on into the anonymous steps when
 * they are the whole sequence, or when the login's sequence holds only
 * its journey and the anonymous last step came at most journey_gap before
 * the login's last; anonymous steps newer than the login's, behind its
 * older ones, start a new journey.  The learning day is left alone.
 */

void
ngx_http_cx_combine(ngx_http_cx_state_t *st, ngx_http_cx_state_t *anon,
    ngx_uint_t steps, ngx_msec_t journey_gap)
{
    ngx_uint_t  jlen, ngaps;

    if (anon->ts <= 0) {
        /* nothing known of the anonymous visit */
        return;
    }

    if (steps == 0) {
        jlen = anon->jlen;

    } else if (steps <= st->jlen && anon->jlen
               && anon->ts <= st->ts
               && st->ts - anon->ts <= (int64_t) journey_gap)
    {
        jlen = st->jlen + anon->jlen;

    } else if (anon->ts > st->ts) {
        jlen = 0;

    } else {
        jlen = st->jlen;
    }

    ngaps = st->ngaps + anon->ngaps;

    if (ngaps) {
        st->gap = (st->gap * (double) st->ngaps
                   + anon->gap * (double) anon->ngaps) / (double) ngaps;
    }

    st->ngaps = ngx_min(ngaps, NGX_HTTP_CX_COUNT_MAX);
    st->goals = ngx_min(st->goals + anon->goals, NGX_HTTP_CX_COUNT_MAX);
    st->jlen = ngx_min(jlen, NGX_HTTP_CX_JLEN_MAX);
    st->ts = ngx_max(st->ts, anon->ts);
}


/*
 * What a customer's steps teach everyone weighs by their past: 1/2 until
 * their first goal, 1 after it.  Ids cost nothing to make; a purchase
 * answered to a POST costs something.
 */

double
ngx_http_cx_trust(ngx_http_cx_state_t *st)
{
    return (st->goals > 0) ? 1 : 0.5;
}


/*
 * The customer's side of cx_holdout (in 1/100 %): the keyed hash of their
 * id decides, so that a customer stays where they are on every worker and
 * edge, across reloads and restarts, as long as cx_secret is the same.
 * The key's high half is used: its low bits name nothing else either.
 */

ngx_uint_t
ngx_http_cx_variant(uint64_t hash, ngx_uint_t holdout)
{
    return ((hash >> 32) % 10000 < holdout) ? NGX_HTTP_CX_HOLDOUT
                                            : NGX_HTTP_CX_TREATMENT;
}


/*
 * A url as an offer keeps it: 32 bits of FNV-1a, never 0, which means
 * "none".  Only the customer's own offers are compared with it.
 */

uint32_t
ngx_http_cx_url_hash(ngx_str_t *url)
{
    size_t    i;
    uint32_t  h;

    h = 2166136261u;

    for (i = 0; i < url->len; i++) {
        h = (h ^ url->data[i]) * 16777619u;
    }

    return h ? h : 1;
}


/*
 * What a step offered, as the state keeps it for the next step: the
 * list's urls hashed, 8 hex digits each, in rank order, then ":" and the
 * shortcut's if one was offered.  At most NGX_HTTP_CX_OFFER_MAX bytes.
 */

u_char *
ngx_http_cx_offer_text(u_char *p, uint32_t *urls, ngx_uint_t n,
    uint32_t shortcut)
{
    ngx_uint_t  i;

    for (i = 0; i < n && i < NGX_HTTP_CX_SUGGEST_MAX; i++) {
        p = ngx_http_cx_hex32(p, urls[i]);
    }

    if (shortcut) {
        *p++ = ':';
        p = ngx_http_cx_hex32(p, shortcut);
    }

    return p;
}


static u_char *
ngx_http_cx_hex32(u_char *p, uint32_t v)
{
    ngx_int_t  i;

    for (i = 28; i >= 0; i -= 4) {
        *p++ = ngx_http_cx_hex[(v >> i) & 0xf];
    }

    return p;
}


/* n lowercase hex digits, as ngx_http_cx_hex writes them, into v */

static ngx_int_t
ngx_http_cx_parse_hex(u_char *p, ngx_uint_t n, uint64_t *v)
{
    ngx_uint_t  i;

    *v = 0;

    for (i = 0; i < n; i++) {
        if (p[i] >= '0' && p[i] <= '9') {
            *v = (*v << 4) | (p[i] - '0');

        } else if (p[i] >= 'a' && p[i] <= 'f') {
            *v = (*v << 4) | (p[i] - 'a' + 10);

        } else {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * The offer a state holds ("o"); NGX_ERROR, and none, if it is not ours.
 * An empty one, whose data may be NULL (a step that offered nothing), is
 * none.
 */

ngx_int_t
ngx_http_cx_offer_parse(u_char *p, size_t len, ngx_http_cx_state_t *st)
{
    u_char      *colon;
    size_t       n;
    uint64_t     v;
    ngx_uint_t   i;

    st->noffer = 0;
    st->shortcut = 0;

    if (len == 0) {
        return NGX_OK;
    }

    colon = ngx_strlchr(p, p + len, ':');
    n = colon ? (size_t) (colon - p) : len;

    if (n % 8 || n / 8 > NGX_HTTP_CX_SUGGEST_MAX
        || (colon && len - n != 9))
    {
        return NGX_ERROR;
    }

    /* each url 8 digits, as ngx_http_cx_hex32() writes, not all 0 */

    for (i = 0; i < n / 8; i++) {
        if (ngx_http_cx_parse_hex(p + 8 * i, 8, &v) != NGX_OK || v == 0) {
            return NGX_ERROR;
        }

        st->offer[i] = (uint32_t) v;
    }

    if (colon) {
        if (ngx_http_cx_parse_hex(colon + 1, 8, &v) != NGX_OK || v == 0) {
            return NGX_ERROR;
        }

        st->shortcut = (uint32_t) v;
    }

    st->noffer = n / 8;

    return NGX_OK;
}


/*
 * What the customer did with the offer of their last step, stepping to
 * url: took the suggestion of that rank (from 1), the shortcut, or none.
 */

ngx_uint_t
ngx_http_cx_followed(ngx_http_cx_state_t *st, ngx_str_t *url)
{
    uint32_t    h;
    ngx_uint_t  i;

    h = ngx_http_cx_url_hash(url);

    for (i = 0; i < st->noffer; i++) {
        if (st->offer[i] == h) {
            return i + 1;
        }
    }

    if (st->shortcut == h) {
        return NGX_HTTP_CX_FOLLOW_SHORTCUT;
    }

    return NGX_HTTP_CX_FOLLOW_NONE;
}


/*
 * The learning rate of one customer: of the steps they sent since the
 * first one of their learning day (count, Redis's atomic HINCRBY, so that
 * requests in parallel never share one), at most NGX_HTTP_CX_RATE_BURST
 * and one more per NGX_HTTP_CX_RATE ms teach anyone, and at most
 * NGX_HTTP_CX_LEARN_DAY in all.
 */

ngx_uint_t
ngx_http_cx_rate(ngx_uint_t count, int64_t start, int64_t now)
{
    int64_t  allowed;

    allowed = NGX_HTTP_CX_RATE_BURST;

    if (now > start) {
        allowed += (now - start) / NGX_HTTP_CX_RATE;
    }

    return count <= (ngx_uint_t) ngx_min(allowed, NGX_HTTP_CX_LEARN_DAY);
}


ngx_uint_t
ngx_http_cx_pace(ngx_http_cx_state_t *st, ngx_msec_t hurried,
    ngx_msec_t relaxed)
{
    if (st->ngaps < 2) {
        return NGX_HTTP_CX_PACE_STEADY;
    }

    if (st->gap < (double) hurried) {
        return NGX_HTTP_CX_PACE_HURRIED;
    }

    if (st->gap > (double) relaxed) {
        return NGX_HTTP_CX_PACE_RELAXED;
    }

    return NGX_HTTP_CX_PACE_STEADY;
}


/*
 * Going in circles: the journey's last steps (newest first) hold at most
 * two distinct steps over four or more, or one step three times in eight.
 */

ngx_uint_t
ngx_http_cx_stuck(ngx_http_cx_ref_t *steps, ngx_uint_t n)
{
    ngx_uint_t  i, j, distinct, seen;

    if (n >= 4) {
        distinct = 0;

        for (i = 0; i < ngx_min(n, 6); i++) {
            for (j = 0; j < i; j++) {
                if (ngx_http_cx_same(&steps[i].name, &steps[j].name)) {
                    break;
                }
            }

            if (j == i) {
                distinct++;
            }
        }

        if (distinct <= 2) {
            return 1;
        }
    }

    for (i = 0; i < ngx_min(n, 8); i++) {
        seen = 0;

        for (j = 0; j < ngx_min(n, 8); j++) {
            if (ngx_http_cx_same(&steps[i].name, &steps[j].name)) {
                seen++;
            }
        }

        if (seen >= 3) {
            return 1;
        }
    }

    return 0;
}


/* splits a goal path "name url|name url|..." into at most max steps */

ngx_uint_t
ngx_http_cx_path_parse(ngx_str_t *path, ngx_http_cx_ref_t *steps,
    ngx_uint_t max)
{
    u_char      *p, *last, *bar;
    ngx_uint_t   n;

    n = 0;
    p = path->data;
    last = p + path->len;

    while (p < last && n < max) {
        bar = ngx_strlchr(p, last, '|');
        if (bar == NULL) {
            bar = last;
        }

        if (ngx_http_cx_member_parse(p, bar - p, &steps[n]) == NGX_OK) {
            n++;
        }

        p = bar + 1;
    }

    return n;
}


/*
 * The shortcut: of the customer's goal paths (newest first) that pass
 * through the current step, a target that follows it with at least one
 * step in between, in two of three such paths and at least two of them.
 * Of those, the one furthest along the newest path.
 */

ngx_int_t
ngx_http_cx_shortcut(ngx_str_t *paths, ngx_uint_t npaths, ngx_str_t *current,
    ngx_str_t *targets, ngx_uint_t ntargets, ngx_http_cx_ref_t *out)
{
    ngx_int_t          best_dist, dist;
    ngx_uint_t         i, j, k, t, n, support, hits;
    ngx_http_cx_ref_t  steps[NGX_HTTP_CX_PATH_STEPS], best;

    best_dist = 0;

    for (t = 0; t < ntargets; t++) {
        support = 0;
        hits = 0;
        dist = 0;
        ngx_memzero(&best, sizeof(ngx_http_cx_ref_t));

        for (i = 0; i < npaths; i++) {
            n = ngx_http_cx_path_parse(&paths[i], steps,
                                       NGX_HTTP_CX_PATH_STEPS);

            for (j = 0; j < n; j++) {
                if (ngx_http_cx_same(&steps[j].name, current)) {
                    break;
                }
            }

            if (j == n) {
                continue;
            }

            support++;

            for (k = j + 2; k < n; k++) {
                if (ngx_http_cx_same(&steps[k].name, &targets[t])) {
                    break;
                }
            }

            if (k >= n) {
                continue;
            }

            hits++;

            if (best.name.len == 0) {
                /* the newest path that takes it */
                best = steps[k];
                dist = k - j;
            }
        }

        if (support >= 2 && hits * 3 >= support * 2 && dist > best_dist) {
            best_dist = dist;
            *out = best;
        }
    }

    return best_dist ? NGX_OK : NGX_DECLINED;
}


/* adds a candidate, or adds to the one with the same url */

ngx_uint_t
ngx_http_cx_merge(ngx_http_cx_cand_t *cands, ngx_uint_t n, ngx_uint_t max,
    ngx_http_cx_ref_t *ref, double shared, double personal)
{
    ngx_uint_t  i;

    i = ngx_http_cx_cand_find(cands, n, &ref->url);

    if (i < n) {
        cands[i].shared += shared;
        cands[i].personal += personal;
        return n;
    }

    return ngx_http_cx_cand_add(cands, n, max, ref, shared, personal);
}


/*
 * The candidate of a url, or n: its word (ngx_http_cx_key()) compared
 * first, its bytes only where the words are the same
 */

ngx_uint_t
ngx_http_cx_cand_find(ngx_http_cx_cand_t *cands, ngx_uint_t n, ngx_str_t *url)
{
    uint64_t    key;
    ngx_uint_t  i;

    key = ngx_http_cx_key(url);

    for (i = 0; i < n; i++) {
        if (cands[i].key == key && ngx_http_cx_same(&cands[i].ref.url, url)) {
            break;
        }
    }

    return i;
}


/* adds a candidate of its own, if there is room for it */

ngx_uint_t
ngx_http_cx_cand_add(ngx_http_cx_cand_t *cands, ngx_uint_t n, ngx_uint_t max,
    ngx_http_cx_ref_t *ref, double shared, double personal)
{
    if (n == max) {
        return n;
    }

    ngx_memzero(&cands[n], sizeof(ngx_http_cx_cand_t));

    cands[n].ref = *ref;
    cands[n].shared = shared;
    cands[n].personal = personal;
    cands[n].key = ngx_http_cx_key(&ref->url);

    return n + 1;
}


/*
 * Adds a step's successors, heaviest first, each weighing "weight" times
 * its weight relative to the heaviest of them: the successors of the
 * journey's steps, blended (ngx_http_cx_answer()).  at[i], if at is not
 * NULL, is the candidate that has refs[i]'s url, as the caller found it,
 * or NGX_HTTP_CX_UNSEEN: then the candidates are searched (a candidate's
 * url is no other's, so it is the one ngx_http_cx_merge() would find).
 */

ngx_uint_t
ngx_http_cx_blend(ngx_http_cx_cand_t *cands, ngx_uint_t n, ngx_uint_t max,
    ngx_http_cx_ref_t *refs, double *w, ngx_uint_t *at, ngx_uint_t nrefs,
    double weight)
{
    double      top;
    ngx_uint_t  i, c;

    top = 0;

    for (i = 0; i < nrefs; i++) {
        top = ngx_max(top, w[i]);
    }

    if (top <= 0) {
        return n;
    }

    for (i = 0; i < nrefs; i++) {
        c = at ? at[i] : NGX_HTTP_CX_UNSEEN;

        if (c == NGX_HTTP_CX_UNSEEN) {
            n = ngx_http_cx_merge(cands, n, max, &refs[i],
                                  weight * w[i] / top, 0);
            continue;
        }

        /* as ngx_http_cx_merge() adds to it: a blend is shared alone */

        cands[c].shared += weight * w[i] / top;
    }

    return n;
}


static ngx_uint_t
ngx_http_cx_before(ngx_http_cx_cand_t *a, ngx_http_cx_cand_t *b)
{
    double     d;
    ngx_int_t  rc;

    d = a->score - b->score;

    if (d > 1e-9 * b->score) {
        return 1;
    }

    if (-d > 1e-9 * a->score) {
        return 0;
    }

    rc = ngx_memcmp(a->ref.url.data, b->ref.url.data,
                    ngx_min(a->ref.url.len, b->ref.url.len));

    return rc < 0 || (rc == 0 && a->ref.url.len < b->ref.url.len);
}


/*
 * Scores the candidates, best first: the shared and the personal weights,
 * each relative to its best, blended by "personal" (0: shared only); the
 * journey's earlier steps gain "revisit" times the best score, the step
 * before this one, half as much each step further back; then steps
 * already taken in this journey count "demote" times as much.  Drops the
 * current step.
 */

ngx_uint_t
ngx_http_cx_rank(ngx_http_cx_cand_t *cands, ngx_uint_t n, double personal,
    double demote, double revisit, ngx_str_t *current,
    ngx_http_cx_ref_t *journey, ngx_uint_t njourney)
{
    double              max_s, max_p, s, p, top;
    ngx_uint_t          i, j, k;
    ngx_http_cx_cand_t  c;

    max_s = 0;
    max_p = 0;
    k = 0;

    for (i = 0; i < n; i++) {
        if (ngx_http_cx_same(&cands[i].ref.name, current)) {
            continue;
        }

        cands[k++] = cands[i];
        max_s = ngx_max(max_s, cands[i].shared);
        max_p = ngx_max(max_p, cands[i].personal);
    }

    n = k;

    for (i = 0; i < n; i++) {
        s = max_s > 0 ? (1 - personal) * cands[i].shared / max_s : 0;
        p = max_p > 0 ? personal * cands[i].personal / max_p : 0;

        cands[i].score = s + p;
        cands[i].reason = p > s ? NGX_HTTP_CX_REASON_PERSONAL
                                : NGX_HTTP_CX_REASON_POPULAR;
    }

    if (revisit > 0) {
        top = 0;

        for (i = 0; i < n; i++) {
            top = ngx_max(top, cands[i].score);
        }

        revisit *= (top > 0) ? top : 1;

        for (j = 0; j < njourney; j++) {
            if (ngx_http_cx_same(&journey[j].name, current)) {
                continue;
            }

            for (k = 0; k < j; k++) {
                if (ngx_http_cx_same(&journey[k].name, &journey[j].name)) {
                    break;
                }
            }

            if (k < j) {
                /* the same step again: counted once, where it was last */
                continue;
            }

            for (i = 0; i < n; i++) {
                if (ngx_http_cx_same(&journey[j].name, &cands[i].ref.name)) {
                    cands[i].score += revisit;
                    break;
                }
            }

            revisit /= 2;
        }
    }

    for (i = 0; demote != 1 && i < n; i++) {
        for (j = 0; j < njourney; j++) {
            if (ngx_http_cx_same(&journey[j].name, &cands[i].ref.name)) {
                cands[i].score *= demote;
                break;
            }
        }
    }

    /* insertion sort, few candidates; near ties go by url, so the order
     * does not hang on how floating point sums were accumulated */

    for (i = 1; i < n; i++) {
        c = cands[i];

        for (j = i; j > 0 && ngx_http_cx_before(&c, &cands[j - 1]); j--) {
            cands[j] = cands[j - 1];
        }

        cands[j] = c;
    }

    while (n && cands[n - 1].score <= 0) {
        n--;
    }

    return n;
}



/*
 * The Redis Cluster slot of a key: CRC16 (XMODEM: polynomial 0x1021,
 * initial 0) of the key, or of what its first "{...}" holds when that is
 * not empty, modulo 16384.  Keys of one customer share their "{H}", so
 * one slot; a step's rule keys, "{name}".
 */

static const uint16_t  ngx_http_cx_crc16_table[256] = {
    0x0000, 0x1021, 0x2042, 0x3063, 0x4084, 0x50a5, 0x60c6, 0x70e7,
    0x8108, 0x9129, 0xa14a, 0xb16b, 0xc18c, 0xd1ad, 0xe1ce, 0xf1ef,
    0x1231, 0x0210, 0x3273, 0x2252, 0x52b5, 0x4294, 0x72f7, 0x62d6,
    0x9339, 0x8318, 0xb37b, 0xa35a, 0xd3bd, 0xc39c, 0xf3ff, 0xe3de,
    0x2462, 0x3443, 0x0420, 0x1401, 0x64e6, 0x74c7, 0x44a4, 0x5485,
    0xa56a, 0xb54b, 0x8528, 0x9509, 0xe5ee, 0xf5cf, 0xc5ac, 0xd58d,
    0x3653, 0x2672, 0x1611, 0x0630, 0x76d7, 0x66f6, 0x5695, 0x46b4,
    0xb75b, 0xa77a, 0x9719, 0x8738, 0xf7df, 0xe7fe, 0xd79d, 0xc7bc,
    0x48c4, 0x58e5, 0x6886, 0x78a7, 0x0840, 0x1861, 0x2802, 0x3823,
    0xc9cc, 0xd9ed, 0xe98e, 0xf9af, 0x8948, 0x9969, 0xa90a, 0xb92b,
    0x5af5, 0x4ad4, 0x7ab7, 0x6a96, 0x1a71, 0x0a50, 0x3a33, 0x2a12,
    0xdbfd, 0xcbdc, 0xfbbf, 0xeb9e, 0x9b79, 0x8b58, 0xbb3b, 0xab1a,
    0x6ca6, 0x7c87, 0x4ce4, 0x5cc5, 0x2c22, 0x3c03, 0x0c60, 0x1c41,
    0xedae, 0xfd8f, 0xcdec, 0xddcd, 0xad2a, 0xbd0b, 0x8d68, 0x9d49,
    0x7e97, 0x6eb6, 0x5ed5, 0x4ef4, 0x3e13, 0x2e32, 0x1e51, 0x0e70,
    0xff9f, 0xefbe, 0xdfdd, 0xcffc, 0xbf1b, 0xaf3a, 0x9f59, 0x8f78,
    0x9188, 0x81a9, 0xb1ca, 0xa1eb, 0xd10c, 0xc12d, 0xf14e, 0xe16f,
    0x1080, 0x00a1, 0x30c2, 0x20e3, 0x5004, 0x4025, 0x7046, 0x6067,
    0x83b9, 0x9398, 0xa3fb, 0xb3da, 0xc33d, 0xd31c, 0xe37f, 0xf35e,
    0x02b1, 0x1290, 0x22f3, 0x32d2, 0x4235, 0x5214, 0x6277, 0x7256,
    0xb5ea, 0xa5cb, 0x95a8, 0x8589, 0xf56e, 0xe54f, 0xd52c, 0xc50d,
    0x34e2, 0x24c3, 0x14a0, 0x0481, 0x7466, 0x6447, 0x5424, 0x4405,
    0xa7db, 0xb7fa, 0x8799, 0x97b8, 0xe75f, 0xf77e, 0xc71d, 0xd73c,
    0x26d3, 0x36f2, 0x0691, 0x16b0, 0x6657, 0x7676, 0x4615, 0x5634,
    0xd94c, 0xc96d, 0xf90e, 0xe92f, 0x99c8, 0x89e9, 0xb98a, 0xa9ab,
    0x5844, 0x4865, 0x7806, 0x6827, 0x18c0, 0x08e1, 0x3882, 0x28a3,
    0xcb7d, 0xdb5c, 0xeb3f, 0xfb1e, 0x8bf9, 0x9bd8, 0xabbb, 0xbb9a,
    0x4a75, 0x5a54, 0x6a37, 0x7a16, 0x0af1, 0x1ad0, 0x2ab3, 0x3a92,
    0xfd2e, 0xed0f, 0xdd6c, 0xcd4d, 0xbdaa, 0xad8b, 0x9de8, 0x8dc9,
    0x7c26, 0x6c07, 0x5c64, 0x4c45, 0x3ca2, 0x2c83, 0x1ce0, 0x0cc1,
    0xef1f, 0xff3e, 0xcf5d, 0xdf7c, 0xaf9b, 0xbfba, 0x8fd9, 0x9ff8,
    0x6e17, 0x7e36, 0x4e55, 0x5e74, 0x2e93, 0x3eb2, 0x0ed1, 0x1ef0
};


ngx_uint_t
ngx_http_cx_keyslot(u_char *key, size_t len)
{
    size_t    s, e;
    uint16_t  crc;

    for (s = 0; s < len; s++) {
        if (key[s] == '{') {
            break;
        }
    }

    if (s < len) {
        for (e = s + 1; e < len; e++) {
            if (key[e] == '}') {
                break;
            }
        }

        if (e < len && e != s + 1) {
            /* the hash tag, between the first "{" and the "}" after it */
            key += s + 1;
            len = e - s - 1;
        }
    }

    crc = 0;

    while (len--) {
        crc = (uint16_t) (crc << 8)
              ^ ngx_http_cx_crc16_table[((crc >> 8) ^ *key++) & 0xff];
    }

    return crc & (NGX_HTTP_CX_SLOTS - 1);
}
