
/*
 * Copyright (C) ngx_cx authors
 *
 * Unit tests for ngx_http_cx_model.c: key schema, hashing, escaping,
 * template expansion, reading candidates back; of ngx_http_cx_reply.c and
 * ngx_http_cx_pack.c, what Redis and the model cache hand back.  Prints
 * TAP and exits non-zero on any failure.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <stdio.h>
#include <stdlib.h>
#include <math.h>

#include <hiredis/hiredis.h>

#include <ngx_http_cx_module.h>


static int  tests, failures;


#define ok(cond, name)                                                       \
    do {                                                                     \
        tests++;                                                             \
        if (cond) {                                                          \
            printf("ok %d - %s\n", tests, name);                             \
        } else {                                                             \
            failures++;                                                      \
            printf("not ok %d - %s (%s:%d)\n", tests, name, __FILE__,       \
                   __LINE__);                                                \
        }                                                                    \
    } while (0)

#define is_str(p, len, expect, name)                                         \
    ok((size_t) (len) == sizeof(expect) - 1                                  \
       && memcmp(p, expect, sizeof(expect) - 1) == 0, name)


static ngx_str_t  prefix = ngx_string("cx:");


static void
test_hash(void)
{
    u_char     m[15];
    uint64_t   k1[NGX_HTTP_CX_KEYS], k2[NGX_HTTP_CX_KEYS], a, b, c, d, e;
    uint64_t   key[2] = { 0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL };
    ngx_str_t  s1 = ngx_string("k1-0123456789abcdef"),
               s2 = ngx_string("k2-0123456789abcdef"), none;
    ngx_uint_t i;

    /* the reference vectors of the SipHash paper: key 00..0f */

    for (i = 0; i < sizeof(m); i++) {
        m[i] = (u_char) i;
    }

    ok(ngx_http_cx_siphash(key, m, 0) == 0x726fdb47dd0e0e31ULL,
       "SipHash-2-4 of no bytes");
    ok(ngx_http_cx_siphash(key, m, 15) == 0xa129ca6149be45e5ULL,
       "SipHash-2-4 of 00..0e");

    ngx_str_null(&none);

    ngx_http_cx_derive_keys(k1, &s1);
    ngx_http_cx_derive_keys(k2, &s2);

    a = ngx_http_cx_hash_id(k1, 1, (u_char *) "alice", 5);
    b = ngx_http_cx_hash_id(k1, 1, (u_char *) "alice", 5);
    c = ngx_http_cx_hash_id(k2, 1, (u_char *) "alice", 5);
    d = ngx_http_cx_hash_id(k1, 1, (u_char *) "alicf", 5);
    e = ngx_http_cx_hash_id(k1, 0, (u_char *) "alice", 5);

    ok(a == b, "hash is deterministic");
    ok(a != c, "hash depends on cx_secret");
    ok(a != d, "hash depends on the id");
    ok(a != e, "a login and a cookie of the same id hash apart");
    ok(k1[0] != k1[2] && k1[1] != k1[3], "with keys of their own");

    ngx_http_cx_derive_keys(k2, &none);
    ok(ngx_http_cx_hash_id(k2, 1, (u_char *) "alice", 5) != a,
       "no secret gives a different, built-in key");
}


static void
test_keys(void)
{
    u_char     buf[NGX_HTTP_CX_KEY_MAX], *p;
    uint64_t   hash;
    ngx_str_t  habit, to, key, pre, other;

    p = ngx_http_cx_customer_key(buf, &prefix, 0x0123456789abcdefULL, "seq");
    is_str(buf, p - buf, "cx:{0123456789abcdef}:seq",
           "customer key: prefix, hash tag, suffix");

    p = ngx_http_cx_customer_key(buf, &prefix, 0xfULL, "seq");
    is_str(buf, p - buf, "cx:{000000000000000f}:seq",
           "customer key: hash zero-padded to 16 digits");

    p = ngx_http_cx_step_key(buf, &prefix, (u_char *) "item:42", 7, 315);
    is_str(buf, p - buf, "cx:t:{item:42}:315",
           "rule key: the step as hash tag, then the epoch");

    p = ngx_http_cx_step_key(buf, &prefix, (u_char *) "a", 1, 0);
    is_str(buf, p - buf, "cx:t:{a}:0", "rule key, epoch 0");

    p = ngx_http_cx_step_key_head(buf, &prefix);
    p = ngx_cpymem(p, "item:42", 7);
    p = ngx_http_cx_step_key_tail(p, 9223372036854775807LL);
    is_str(buf, p - buf, "cx:t:{item:42}:9223372036854775807",
           "rule key from its head and tail, the largest epoch");

    p = ngx_http_cx_step_key_tail(buf, -1);
    is_str(buf, p - buf, "}:0", "rule key tail, a negative epoch as 0");

    p = ngx_http_cx_step_key_tail(buf, 9223372036854775807LL);
    ok(p - buf <= NGX_HTTP_CX_KEY_TAIL, "the longest tail within its room");

    ngx_str_set(&habit, "cart checkout /checkout");
    ok(ngx_http_cx_habit_to(&habit, (u_char *) "cart", 4, &to) == NGX_OK
       && to.len == 18 && ngx_strncmp(to.data, "checkout /checkout", 18) == 0
       && ngx_http_cx_habit_to(&habit, (u_char *) "car", 3, &to)
          == NGX_DECLINED
       && ngx_http_cx_habit_to(&habit, (u_char *) "carts", 5, &to)
          == NGX_DECLINED,
       "a transition of the customer's: where it leaves a step for");

    p = ngx_http_cx_hex_id(buf, (u_char *) "\x00\xff\x10", 3);
    is_str(buf, p - buf, "00ff10", "hex id");

    p = ngx_http_cx_customer_key(buf, &prefix, 0xfedcba9876543210ULL, "s");
    key.data = buf;
    key.len = p - buf;
    ok(ngx_http_cx_customer_of_key(&key, "s", &pre, &hash) == NGX_OK
       && hash == 0xfedcba9876543210ULL && pre.data == buf && pre.len == 3,
       "a customer's key read back: its prefix and hash");

    ngx_str_set(&key, "cx:{fedcba9876543210}:seq");
    ngx_str_set(&other, "cx:{fedcba9876543210}:g");
    ok(ngx_http_cx_customer_of_key(&key, "s", &pre, &hash) == NGX_ERROR
       && ngx_http_cx_customer_of_key(&other, "s", &pre, &hash) == NGX_ERROR
       && ngx_http_cx_customer_of_key(&key, "seq", &pre, &hash) == NGX_OK
       && hash == 0xfedcba9876543210ULL,
       "a customer's key read back with its own suffix only");

    ngx_str_set(&key, "cx:{FEDCBA9876543210}:s");
    ngx_str_set(&other, "{fedcba9876543210}:s");
    ok(ngx_http_cx_customer_of_key(&key, "s", &pre, &hash) == NGX_ERROR
       && ngx_http_cx_customer_of_key(&other, "s", &pre, &hash) == NGX_ERROR,
       "a key not made so: upper-case digits, no prefix");

    ngx_str_set(&key, "cx:{fedcba987654321}:s");
    ngx_str_set(&other, "cx:[fedcba9876543210]:s");
    ok(ngx_http_cx_customer_of_key(&key, "s", &pre, &hash) == NGX_ERROR
       && ngx_http_cx_customer_of_key(&other, "s", &pre, &hash) == NGX_ERROR,
       "a key not made so: 15 digits, no braces");
}


static void
test_resp(void)
{
    u_char     buf[128], *p;
    ngx_str_t  argv[3];

    ngx_str_set(&argv[0], "LPUSH");
    ngx_str_set(&argv[1], "cx:{0123456789abcdef}:seq");
    ngx_str_set(&argv[2], "cart /cart");

    p = ngx_http_cx_resp(buf, 3, argv);
    is_str(buf, p - buf, "*3\r\n$5\r\nLPUSH\r\n$25\r\n"
           "cx:{0123456789abcdef}:seq\r\n$10\r\ncart /cart\r\n",
           "a command in the Redis protocol");
    ok((size_t) (p - buf) <= ngx_http_cx_resp_len(3, argv),
       "within the length reserved");

    argv[0].len = 0;
    p = ngx_http_cx_resp(buf, 1, argv);
    is_str(buf, p - buf, "*1\r\n$0\r\n\r\n", "an empty argument");
}


/*
 * Counts and lengths on either side of where ngx_http_cx_resp() stops
 * writing them itself (10, 100), as printf() writes them
 */

static void
test_resp_lengths(void)
{
    char        want[4096], *w;
    u_char      buf[4096], data[1001], *p;
    size_t      lens[] = { 0, 1, 9, 10, 11, 99, 100, 101, 999, 1000 };
    ngx_str_t   argv[12];
    ngx_uint_t  argc, i, k, bad;

    ngx_memset(data, 'a', sizeof(data));

    bad = 0;

    for (argc = 1; argc <= 12; argc++) {
        for (k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
            w = want + sprintf(want, "*%u\r\n", (unsigned) argc);

            for (i = 0; i < argc; i++) {
                argv[i].data = data;
                argv[i].len = (i < 3) ? lens[(k + i) % 10] : i;

                w += sprintf(w, "$%u\r\n", (unsigned) argv[i].len);
                w = (char *) ngx_cpymem(w, data, argv[i].len);
                *w++ = '\r'; *w++ = '\n';
            }

            p = ngx_http_cx_resp(buf, argc, argv);

            bad += (size_t) (p - buf) != (size_t) (w - want)
                   || memcmp(buf, want, w - want) != 0
                   || (size_t) (p - buf) > ngx_http_cx_resp_len(argc, argv);
        }
    }

    ok(bad == 0, "counts and lengths of 0 to 1000 as printf() writes them");
}


/* numbers as printf() writes them: each length, its edges, both signs */

static void
test_digits(void)
{
    char        want[32];
    u_char      buf[32], *p;
    int64_t     s;
    uint64_t    n, x;
    ngx_uint_t  i, k, bad;

    bad = 0;
    n = 1;

    for (i = 0; i < 20; i++) {
        for (k = 0; k < 3; k++) {
            /* 10^i - 1, 10^i, 10^i + 1 */
            x = n - 1 + k;

            buf[20] = '#';
            p = ngx_http_cx_digits(buf, x);
            snprintf(want, sizeof(want), "%llu", (unsigned long long) x);

            if ((size_t) (p - buf) != strlen(want)
                || memcmp(buf, want, p - buf) != 0
                || buf[20] != '#')
            {
                printf("# %s written as \"%.*s\"\n", want, (int) (p - buf),
                       buf);
                bad++;
            }
        }

        n *= 10;
    }

    /* a 64-bit LCG: numbers of every length, every pair of digits */

    for (i = 0, x = 1; i < 100000; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        n = x >> (i % 64);
        s = (i & 1) ? (int64_t) n : -(int64_t) (n >> 1);

        p = ngx_http_cx_digits(buf, n);
        snprintf(want, sizeof(want), "%llu", (unsigned long long) n);
        bad += (size_t) (p - buf) != strlen(want)
               || memcmp(buf, want, p - buf) != 0;

        p = ngx_http_cx_int(buf, s);
        snprintf(want, sizeof(want), "%lld", (long long) s);
        bad += (size_t) (p - buf) != strlen(want)
               || memcmp(buf, want, p - buf) != 0;
    }

    p = ngx_http_cx_digits(buf, 18446744073709551615ULL);
    is_str(buf, p - buf, "18446744073709551615", "the largest uint64");

    p = ngx_http_cx_int(buf, (int64_t) (-9223372036854775807LL - 1));
    is_str(buf, p - buf, "-9223372036854775808", "the smallest int64");

    ok(bad == 0, "numbers written as printf() writes them");
}


static void
test_literals(void)
{
    ok(atoi(NGX_HTTP_CX_PATHS_STOP) == NGX_HTTP_CX_PATHS - 1
       && atoi(NGX_HTTP_CX_FANOUT_ROOM) == -NGX_HTTP_CX_FANOUT_KEEP
       && NGX_HTTP_CX_FANOUT_KEEP > NGX_HTTP_CX_FANOUT
       && atoi(NGX_HTTP_CX_FANOUT_STOP) == NGX_HTTP_CX_FANOUT - 1,
       "the literal command arguments agree with their numbers");
}


static void
test_chars(void)
{
    ok(ngx_http_cx_safe_char('a') && ngx_http_cx_safe_char('Z')
       && ngx_http_cx_safe_char('7') && ngx_http_cx_safe_char('/')
       && ngx_http_cx_safe_char(':'), "plain characters are safe");

    ok(!ngx_http_cx_safe_char(' ') && !ngx_http_cx_safe_char('<')
       && !ngx_http_cx_safe_char('>') && !ngx_http_cx_safe_char('"')
       && !ngx_http_cx_safe_char('\'') && !ngx_http_cx_safe_char('{')
       && !ngx_http_cx_safe_char('}') && !ngx_http_cx_safe_char('\r')
       && !ngx_http_cx_safe_char('\n') && !ngx_http_cx_safe_char('%')
       && !ngx_http_cx_safe_char('&') && !ngx_http_cx_safe_char('\\')
       && !ngx_http_cx_safe_char(0) && !ngx_http_cx_safe_char(0x80),
       "html, json, header and hash tag specials are not");

    ok(!ngx_http_cx_safe_char(',') && !ngx_http_cx_url_char(','),
       "nor the comma that separates X-CX-Next");

    ok(ngx_http_cx_url_char('?') && ngx_http_cx_url_char('&')
       && ngx_http_cx_url_char('%') && !ngx_http_cx_url_char('"')
       && !ngx_http_cx_url_char(' '), "urls may also carry a query");
}


/* text customers read: labels and the words of the block */

static void
test_text(void)
{
    u_char   out[64], *p, long_text[NGX_HTTP_CX_LABEL_MAX + 1];
    size_t   n;
    char    *err;

#define text_err(s)  ngx_http_cx_text_check((u_char *) s, sizeof(s) - 1)

    ok(text_err("Your <cart> & \"more\" 'stuff' 100% caf\xc3\xa9") == NULL
       && text_err("\xe2\x82\xac 5, \xe4\xb8\xad \xf0\x9f\x9b\x92") == NULL
       && text_err("") == NULL,
       "any UTF-8 text is fine: markup, quotes, %, euro, han, emoji");

    err = "has a control character";

    ok(ngx_strcmp(text_err("a\nb"), err) == 0
       && ngx_strcmp(text_err("a\rb"), err) == 0
       && ngx_strcmp(text_err("a\tb"), err) == 0
       && ngx_strcmp(text_err("a\x7f"), err) == 0
       && ngx_strcmp(text_err("a\xc2\x85"), err) == 0,
       "C0, DEL and C1 (NEL) control characters are not");

    err = "is not valid UTF-8";

    ok(ngx_strcmp(text_err("caf\xe9"), err) == 0
       && ngx_strcmp(text_err("\xc0\xaf"), err) == 0
       && ngx_strcmp(text_err("\xe0\x80\xaf"), err) == 0
       && ngx_strcmp(text_err("\xed\xa0\x80"), err) == 0
       && ngx_strcmp(text_err("\xf4\x90\x80\x80"), err) == 0
       && ngx_strcmp(text_err("\xe2\x82"), err) == 0
       && ngx_strcmp(text_err("\xc3\x28"), err) == 0,
       "nor Latin-1, overlong forms, surrogates, past U+10FFFF, cut or bad "
       "continuations");

    ngx_memset(long_text, 'x', sizeof(long_text));

    ok(ngx_http_cx_text_check(long_text, NGX_HTTP_CX_LABEL_MAX) == NULL
       && ngx_strcmp(ngx_http_cx_text_check(long_text, sizeof(long_text)),
                     "is longer than 256 bytes") == 0
       && NGX_HTTP_CX_LABEL_MAX == 256,
       "at most NGX_HTTP_CX_LABEL_MAX bytes, as the message says");

#undef text_err

    p = (u_char *) "<a href='x'>\"T&J\"</a>";
    n = ngx_strlen(p);

    ok(n + ngx_http_cx_escape_html(NULL, p, n) == sizeof("&lt;a href=&#39;x"
       "&#39;&gt;&quot;T&amp;J&quot;&lt;/a&gt;") - 1,
       "html escaping counts what it adds");

    n = (u_char *) ngx_http_cx_escape_html(out, p, n) - out;
    is_str(out, n, "&lt;a href=&#39;x&#39;&gt;&quot;T&amp;J&quot;&lt;/a&gt;",
           "and escapes both quotes, for attributes quoted either way");

    p = (u_char *) "</script>\"T&J\"\n";
    n = ngx_strlen(p);

    ok(n + ngx_http_cx_escape_json(NULL, p, n) == sizeof("\\u003c/script"
       "\\u003e\\\"T\\u0026J\\\"\\u000a") - 1,
       "json escaping counts what it adds");

    n = (u_char *) ngx_http_cx_escape_json(out, p, n) - out;
    is_str(out, n, "\\u003c/script\\u003e\\\"T\\u0026J\\\"\\u000a",
           "and escapes <, > and &, so that no inline script ends early");

    /* a Prometheus label value: item"1\2, then a newline */

    p = (u_char *) "item\"1\\2\n<";
    n = ngx_strlen(p);

    ok(n + ngx_http_cx_escape_label(NULL, p, n) == sizeof("item\\\"1\\\\2"
       "\\n<") - 1, "label escaping counts what it adds");

    n = (u_char *) ngx_http_cx_escape_label(out, p, n) - out;
    is_str(out, n, "item\\\"1\\\\2\\n<",
           "and escapes \", \\ and a newline as the exposition format has");
}


static void
test_unescape(void)
{
    u_char     out[16];
    ngx_int_t  n;

    n = ngx_http_cx_unescape((u_char *) "/caf%C3%a9%2Cx", 14, out,
                             sizeof(out));
    is_str(out, n, "/caf\xc3\xa9,x", "escapes decode, either case");

    ok(ngx_http_cx_unescape((u_char *) "/a%2", 4, out, sizeof(out))
       == NGX_ERROR
       && ngx_http_cx_unescape((u_char *) "/a%zz", 5, out, sizeof(out))
          == NGX_ERROR
       && ngx_http_cx_unescape((u_char *) "/a%00", 5, out, sizeof(out))
          == NGX_ERROR
       && ngx_http_cx_unescape((u_char *) "/a%0d", 5, out, sizeof(out))
          == NGX_ERROR,
       "a cut or bad escape, a NUL or a control byte is refused");

    ok(ngx_http_cx_unescape((u_char *) "/0123456789abcdef", 17, out,
                            sizeof(out))
       == NGX_ERROR, "as is what does not fit");
}


static void
test_referer(void)
{
    u_char      buf[64];
    ngx_str_t   ref, host, path;
    ngx_uint_t  i;

    static char  *good[][2] = {
        { "https://Shop.example/caf%C3%A9?q=1#top", "/caf\xc3\xa9" },
        { "http://shop.example:8080/cart", "/cart" },
        { "http://shop.example", "/" },
        { "http://shop.example?x", "/" }
    };

    static char  *bad[] = {
        "http://evil.example/cart", "http://shop.example.evil/cart",
        "http://user@shop.example/cart", "ftp://shop.example/cart",
        "http://shop.example:1@evil.example/cart",
        "//shop.example/cart", "/cart", "http://shop.example//evil/x",
        "http://shop.example/a/../cart", "http://shop.example/a/%2e/b",
        "http://shop.example/%00", "https://", ""
    };

    ngx_str_set(&host, "shop.example");

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        ref.data = (u_char *) good[i][0];
        ref.len = ngx_strlen(good[i][0]);

        if (ngx_http_cx_referer_path(&ref, &host, buf, sizeof(buf), &path)
            != NGX_OK)
        {
            break;
        }

        if (path.len != ngx_strlen(good[i][1])
            || ngx_memcmp(path.data, good[i][1], path.len) != 0)
        {
            break;
        }
    }

    ok(i == sizeof(good) / sizeof(good[0]),
       "a Referer of this host gives its path, decoded");

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ref.data = (u_char *) bad[i];
        ref.len = ngx_strlen(bad[i]);

        if (ngx_http_cx_referer_path(&ref, &host, buf, sizeof(buf), &path)
            != NGX_DECLINED)
        {
            break;
        }
    }

    ok(i == sizeof(bad) / sizeof(bad[0]),
       "another host's, or a path nginx would have changed, gives none");
}


static void
test_expand(void)
{
    int                     caps[6];
    u_char                  out[64];
    size_t                  n;
    ngx_http_cx_tpl_t       tpl;
    ngx_http_cx_tpl_part_t  parts[3];
    u_char                 *subject = (u_char *) "/p/<b>\"x\r\n{}";

    ngx_str_set(&parts[0].text, "p:");
    parts[0].capture = -1;
    parts[1].capture = 1;
    ngx_str_null(&parts[1].text);
    ngx_str_set(&parts[2].text, "/end");
    parts[2].capture = -1;

    tpl.parts = parts;
    tpl.nparts = 3;

    caps[0] = 0;
    caps[1] = (int) ngx_strlen(subject);
    caps[2] = 3;
    caps[3] = (int) ngx_strlen(subject);

    n = ngx_http_cx_expand(&tpl, subject, caps, 1, out, sizeof(out));
    is_str(out, n, "p:%3Cb%3E%22x%0D%0A%7B%7D/end",
           "captures are percent-encoded, literals kept");

    n = ngx_http_cx_expand(&tpl, subject, caps, 1, out, 10);
    ok(n == 0, "too long for the buffer gives 0");

    caps[2] = -1;
    caps[3] = -1;
    n = ngx_http_cx_expand(&tpl, subject, caps, 1, out, sizeof(out));
    is_str(out, n, "p:/end", "an unset capture expands to nothing");

    n = ngx_http_cx_expand(&tpl, subject, caps, 0, out, sizeof(out));
    is_str(out, n, "p:/end", "a capture past the match count is skipped");
}


static void
test_member(void)
{
    ngx_http_cx_ref_t  ref;

    ok(ngx_http_cx_member_parse((u_char *) "cart /cart", 10, &ref) == NGX_OK
       && ref.name.len == 4 && ref.url.len == 5
       && memcmp(ref.url.data, "/cart", 5) == 0, "member parses");

    ok(ngx_http_cx_member_parse((u_char *) "c /a?x=1&y", 10, &ref) == NGX_OK,
       "a url with a query parses");

    ok(ngx_http_cx_member_parse((u_char *) "cart", 4, &ref) != NGX_OK,
       "no url: rejected");
    ok(ngx_http_cx_member_parse((u_char *) " /cart", 6, &ref) != NGX_OK,
       "no name: rejected");
    ok(ngx_http_cx_member_parse((u_char *) "cart ", 5, &ref) != NGX_OK,
       "empty url: rejected");
    ok(ngx_http_cx_member_parse((u_char *) "c /<x>", 6, &ref) != NGX_OK,
       "html in a member from redis: rejected");
    ok(ngx_http_cx_member_parse((u_char *) "c /a b", 6, &ref) != NGX_OK,
       "a second space: rejected");
    ok(ngx_http_cx_member_parse((u_char *) "", 0, &ref) != NGX_OK,
       "empty: rejected");

    ngx_http_cx_member_split((u_char *) "cart /c?x", 9, &ref);
    ok(ref.name.len == 4 && memcmp(ref.name.data, "cart", 4) == 0
       && ref.url.len == 4 && memcmp(ref.url.data, "/c?x", 4) == 0,
       "a member checked before splits as it parses");

    ngx_http_cx_member_split((u_char *) "cart", 4, &ref);
    ok(ref.name.len == 4 && ref.url.len == 0,
       "a string with no space splits into a name and no url");
}


static void
test_decay(void)
{
    double   a, b;
    int64_t  e1, e2, hl;

    hl = 7 * 86400 * 1000LL;

    a = ngx_http_cx_decay(100 * hl + 1000, hl, &e1);
    b = ngx_http_cx_decay(101 * hl + 1000, hl, &e2);

    ok(e1 == e2 && b / a > 1.999 && b / a < 2.001,
       "a half-life later an event weighs twice as much");

    a = ngx_http_cx_decay(NGX_HTTP_CX_EPOCH * hl - 1, hl, &e1);
    b = ngx_http_cx_decay(NGX_HTTP_CX_EPOCH * hl, hl, &e2);

    ok(e2 == e1 + 1 && b > 0.999 && b < 1.001
       && a * ldexp(1, -NGX_HTTP_CX_EPOCH) > 0.999 * b
       && a * ldexp(1, -NGX_HTTP_CX_EPOCH) < 1.001 * b,
       "across an epoch, the old weight scaled by 2^-EPOCH matches the new");

    /* ngx_sprintf("%.6f") goes through an int64: the weight stays far
     * below 2^63 at the very end of any epoch */

    ok(a < 4294967296.0 && a > 4.29e9,
       "the weight peaks just below 2^32 at the end of an epoch");
}


static void
test_state(void)
{
    ngx_uint_t           prev;
    ngx_http_cx_state_t  st;

    ngx_memzero(&st, sizeof(st));

    prev = ngx_http_cx_advance(&st, 1000, 60000, 0);
    ok(prev == 0 && st.jlen == 1 && st.ngaps == 0, "first step: a journey");

    prev = ngx_http_cx_advance(&st, 3000, 60000, 0);
    ok(prev == 1 && st.jlen == 2 && st.ngaps == 1 && st.gap == 2000,
       "a step 2s later continues it");

    prev = ngx_http_cx_advance(&st, 5000, 60000, 1);
    ok(prev == 2 && st.jlen == 0 && st.goals == 1, "the goal ends it");

    prev = ngx_http_cx_advance(&st, 6000, 60000, 0);
    ok(prev == 0 && st.jlen == 1, "after the goal, a new journey");

    prev = ngx_http_cx_advance(&st, 600000, 60000, 0);
    ok(prev == 0 && st.jlen == 1 && st.ngaps == 2,
       "after cx_journey_gap, a new journey");

    ok(ngx_http_cx_pace(&st, 5000, 60000) == NGX_HTTP_CX_PACE_HURRIED,
       "2s between steps: hurried");

    st.gap = 90000;
    ok(ngx_http_cx_pace(&st, 5000, 60000) == NGX_HTTP_CX_PACE_RELAXED,
       "90s: relaxed");

    st.ngaps = 1;
    ok(ngx_http_cx_pace(&st, 5000, 60000) == NGX_HTTP_CX_PACE_STEADY,
       "one gap is no rhythm yet");

    ok(ngx_http_cx_level(0, 1, 3) == NGX_HTTP_CX_LEVEL_NEW
       && ngx_http_cx_level(1, 1, 3) == NGX_HTTP_CX_LEVEL_RETURNING
       && ngx_http_cx_level(3, 1, 3) == NGX_HTTP_CX_LEVEL_EXPERT,
       "levels by goals reached");
}


static void
test_offer(void)
{
    u_char               text[NGX_HTTP_CX_OFFER_MAX], *p;
    uint32_t             urls[3];
    int                  len;
    u_char               idb[32];
    uint64_t             keys[NGX_HTTP_CX_KEYS];
    ngx_uint_t           i, n, holdout;
    ngx_str_t            secret = ngx_string("unit-0123456789abcdef");
    ngx_str_t            a = ngx_string("/item/1"), b = ngx_string("/cart"),
                         c = ngx_string("/checkout"), d = ngx_string("/x");
    ngx_http_cx_state_t  st;

    urls[0] = ngx_http_cx_url_hash(&a);
    urls[1] = ngx_http_cx_url_hash(&b);

    p = ngx_http_cx_offer_text(text, urls, 2, ngx_http_cx_url_hash(&c));
    ok(p - text == 25 && text[16] == ':', "two urls and a shortcut: 25 bytes");

    ngx_memzero(&st, sizeof(st));
    ok(ngx_http_cx_offer_parse(text, p - text, &st) == NGX_OK
       && st.noffer == 2 && st.offer[1] == urls[1] && st.shortcut != 0,
       "read back as written");

    ok(ngx_http_cx_followed(&st, &b) == 2
       && ngx_http_cx_followed(&st, &a) == 1
       && ngx_http_cx_followed(&st, &c) == NGX_HTTP_CX_FOLLOW_SHORTCUT
       && ngx_http_cx_followed(&st, &d) == NGX_HTTP_CX_FOLLOW_NONE,
       "a step takes rank 2, rank 1, the shortcut, or none");

    p = ngx_http_cx_offer_text(text, urls, 0, urls[0]);
    ok(ngx_http_cx_offer_parse(text, p - text, &st) == NGX_OK
       && st.noffer == 0 && st.shortcut == urls[0],
       "a shortcut alone");

    ok(ngx_http_cx_offer_parse(text, 0, &st) == NGX_OK && st.noffer == 0
       && st.shortcut == 0, "nothing offered");

    /* a step that offered nothing has no text at all (UBSan: no p + 0) */
    st.noffer = 1;
    ok(ngx_http_cx_offer_parse(NULL, 0, &st) == NGX_OK && st.noffer == 0
       && st.shortcut == 0, "no offer, no text");

    ok(ngx_http_cx_offer_parse((u_char *) "0123456", 7, &st) == NGX_ERROR
       && ngx_http_cx_offer_parse((u_char *) "0123456G", 8, &st)
          == NGX_ERROR
       && ngx_http_cx_offer_parse((u_char *) "0123456A", 8, &st)
          == NGX_ERROR
       && ngx_http_cx_offer_parse((u_char *) "00000000", 8, &st)
          == NGX_ERROR
       && ngx_http_cx_offer_parse((u_char *) "01234567:0123", 13, &st)
          == NGX_ERROR
       && ngx_http_cx_offer_parse((u_char *) "0123456789abcdef:", 17, &st)
          == NGX_ERROR
       && st.noffer == 0 && st.shortcut == 0,
       "offers not of our making are none");

    /* 21 urls: more than a list holds */
    ngx_memset(text, 'a', NGX_HTTP_CX_OFFER_MAX);
    ok(ngx_http_cx_offer_parse(text, 8 * 21, &st) == NGX_ERROR
       && ngx_http_cx_offer_parse(text, 8 * 20, &st) == NGX_OK
       && st.noffer == 20, "at most 20 urls");

    /* the holdout: a share of the hashes, within 1% over 10,000 ids */

    ngx_http_cx_derive_keys(keys, &secret);

    for (holdout = 0; holdout <= 10000; holdout += 2500) {
        n = 0;

        for (i = 0; i < 10000; i++) {
            len = snprintf((char *) idb, sizeof(idb), "visitor-%u",
                           (unsigned) i);
            n += ngx_http_cx_variant(ngx_http_cx_hash_id(keys, 0, idb, len),
                                     holdout)
                 == NGX_HTTP_CX_HOLDOUT;
        }

        ok(n + 100 >= holdout && n <= holdout + 100,
           "cx_holdout: the share of 10,000 ids held out");
    }

    ok(ngx_http_cx_variant(0x1234567800000000ULL, 10000)
       == NGX_HTTP_CX_HOLDOUT
       && ngx_http_cx_variant(0x1234567800000000ULL, 0)
          == NGX_HTTP_CX_TREATMENT, "100% holds everyone out, 0% no one");
}


static void
test_combine(void)
{
    ngx_http_cx_state_t  st, anon;

    /* logged in at the cart 60s after the anonymous item page */

    ngx_memzero(&anon, sizeof(anon));
    anon.ts = 100000;
    anon.jlen = 3;
    anon.goals = 1;
    anon.gap = 4000;
    anon.ngaps = 2;

    ngx_memzero(&st, sizeof(st));
    st.ts = 160000;
    st.jlen = 1;
    st.lday = 7;
    st.learned = 5;

    ngx_http_cx_combine(&st, &anon, 1, 1800000);
    ok(st.ts == 160000 && st.jlen == 4 && st.goals == 1 && st.ngaps == 2
       && st.gap == 4000 && st.lday == 7 && st.learned == 5,
       "combine: the journey goes on into the anonymous steps");

    /* gaps are averaged by their numbers, goals add up */

    ngx_memzero(&st, sizeof(st));
    st.ts = 160000;
    st.jlen = 1;
    st.goals = 2;
    st.gap = 1000;
    st.ngaps = 6;

    ngx_http_cx_combine(&st, &anon, 1, 1800000);
    ok(st.goals == 3 && st.ngaps == 8 && st.gap == 1750,
       "combine: goals and gaps add up");

    /* the login has older steps: the anonymous ones come after them */

    ngx_memzero(&st, sizeof(st));
    st.ts = 160000;
    st.jlen = 1;

    ngx_http_cx_combine(&st, &anon, 5, 1800000);
    ok(st.jlen == 1 && st.ts == 160000, "combine: behind older steps");

    /* the anonymous visit an hour before: another journey */

    ngx_memzero(&st, sizeof(st));
    st.ts = 100000 + 3600000;
    st.jlen = 1;

    ngx_http_cx_combine(&st, &anon, 1, 1800000);
    ok(st.jlen == 1, "combine: past cx_journey_gap");

    /* newer than the login's last step, behind it in the sequence */

    ngx_memzero(&st, sizeof(st));
    st.ts = 50000;
    st.jlen = 2;

    ngx_http_cx_combine(&st, &anon, 2, 1800000);
    ok(st.jlen == 0 && st.ts == 100000, "combine: newer anonymous steps");

    /* nothing of the login: the anonymous state as it was */

    ngx_memzero(&st, sizeof(st));

    ngx_http_cx_combine(&st, &anon, 0, 1800000);
    ok(st.ts == 100000 && st.jlen == 3 && st.goals == 1 && st.gap == 4000,
       "combine: a login without steps");

    /* nothing of the anonymous visit: the login's as it was */

    ngx_memzero(&anon, sizeof(anon));

    ngx_http_cx_combine(&st, &anon, 3, 1800000);
    ok(st.ts == 100000 && st.jlen == 3 && st.goals == 1,
       "combine: an anonymous visit without state");
}


static void
set_refs(ngx_http_cx_ref_t *r, const char *names)
{
    const char  *p;

    for (p = names; *p; p++, r++) {
        r->name.data = (u_char *) p;
        r->name.len = 1;
    }
}


static void
test_caps(void)
{
    ngx_uint_t           i, n;
    ngx_http_cx_state_t  st;

    ngx_memzero(&st, sizeof(st));
    st.ngaps = 40;
    ok(ngx_http_cx_trust(&st) == 0.5, "no goal, however many steps: 1/2");

    st.goals = 1;
    ok(ngx_http_cx_trust(&st) == 1, "a goal reached: 1");

    n = 0;

    for (i = 1; i <= 100; i++) {
        n += ngx_http_cx_rate(i, 1000000, 1000000);
    }

    ok(n == NGX_HTTP_CX_RATE_BURST, "20 steps at once, no more");

    ok(ngx_http_cx_rate(21, 1000000, 1000000 + NGX_HTTP_CX_RATE - 1) == 0
       && ngx_http_cx_rate(21, 1000000, 1000000 + NGX_HTTP_CX_RATE) == 1
       && ngx_http_cx_rate(22, 1000000, 1000000 + NGX_HTTP_CX_RATE) == 0,
       "then one per NGX_HTTP_CX_RATE ms, counting every step sent");

    ok(ngx_http_cx_rate(NGX_HTTP_CX_LEARN_DAY, 0, 86400000) == 1
       && ngx_http_cx_rate(NGX_HTTP_CX_LEARN_DAY + 1, 0, 86400000) == 0,
       "and NGX_HTTP_CX_LEARN_DAY a day");
}


static void
test_stuck(void)
{
    ngx_http_cx_ref_t  r[8];

    set_refs(r, "abab");
    ok(ngx_http_cx_stuck(r, 4), "back and forth is stuck");

    set_refs(r, "abc");
    ok(!ngx_http_cx_stuck(r, 3), "a short journey is not");

    set_refs(r, "abcd");
    ok(!ngx_http_cx_stuck(r, 4), "progress is not");

    set_refs(r, "abcabca");
    ok(ngx_http_cx_stuck(r, 7), "a circle of three, three times, is");
}


static void
test_shortcut(void)
{
    ngx_str_t          paths[3], cur = ngx_string("item"),
                       target = ngx_string("checkout");
    ngx_http_cx_ref_t  out;

    ngx_str_set(&paths[0], "home /|item /i|cart /c|checkout /k");
    ngx_str_set(&paths[1], "item /i|cart /c|checkout /k");
    ngx_str_set(&paths[2], "home /|search /s|checkout /k");

    ok(ngx_http_cx_shortcut(paths, 1, &cur, &target, 1, &out)
       == NGX_DECLINED, "one path is no habit");

    ok(ngx_http_cx_shortcut(paths, 3, &cur, &target, 1, &out) == NGX_OK
       && out.url.len == 2 && memcmp(out.url.data, "/k", 2) == 0,
       "two paths through item reach checkout: the shortcut");

    ngx_str_set(&paths[1], "item /i|checkout /k");
    ok(ngx_http_cx_shortcut(paths, 2, &cur, &target, 1, &out)
       == NGX_DECLINED, "nothing skipped in one of two: not reliable");
}


static void
test_rank(void)
{
    ngx_str_t           cur = ngx_string("cart");
    ngx_uint_t          n;
    ngx_http_cx_ref_t   ref, journey[1];
    ngx_http_cx_cand_t  c[8];

    n = 0;

    ngx_str_set(&ref.name, "pop");
    ngx_str_set(&ref.url, "/pop");
    n = ngx_http_cx_merge(c, n, 8, &ref, 10, 0);

    ngx_str_set(&ref.name, "mine");
    ngx_str_set(&ref.url, "/mine");
    n = ngx_http_cx_merge(c, n, 8, &ref, 2, 0);
    n = ngx_http_cx_merge(c, n, 8, &ref, 0, 5);

    ngx_str_set(&ref.name, "cart");
    ngx_str_set(&ref.url, "/cart");
    n = ngx_http_cx_merge(c, n, 8, &ref, 50, 50);

    ok(n == 3 && c[1].shared == 2 && c[1].personal == 5,
       "merge adds to the same url");

    n = ngx_http_cx_rank(c, 3, 0, 0.25, 0, &cur, NULL, 0);
    ok(n == 2 && c[0].ref.url.len == 4 && c[0].reason == 0,
       "new customer: the popular step first, the current one dropped");

    n = 0;
    ngx_str_set(&ref.name, "pop");
    ngx_str_set(&ref.url, "/pop");
    n = ngx_http_cx_merge(c, n, 8, &ref, 10, 0);
    ngx_str_set(&ref.name, "mine");
    ngx_str_set(&ref.url, "/mine");
    n = ngx_http_cx_merge(c, n, 8, &ref, 2, 5);

    n = ngx_http_cx_rank(c, n, 0.75, 0.25, 0, &cur, NULL, 0);
    ok(n == 2 && c[0].ref.url.len == 5 && c[0].reason == 1,
       "expert: the own habit first, as personal");

    journey[0].name = c[0].ref.name;
    n = ngx_http_cx_rank(c, n, 0.75, 0.25, 0, &cur, journey, 1);
    ok(n == 2 && c[0].ref.url.len == 4,
       "a step taken in this journey is demoted");
}


static void
test_blend(void)
{
    double              now[2] = { 10, 9 }, before[2] = { 40, 20 },
                        zero[1] = { 0 };
    ngx_str_t           cur = ngx_string("b");
    ngx_uint_t          n, at[2];
    ngx_http_cx_ref_t   own[2], earlier[2];
    ngx_http_cx_cand_t  c[3];

    ngx_str_set(&own[0].name, "x");
    ngx_str_set(&own[0].url, "/x");
    ngx_str_set(&own[1].name, "y");
    ngx_str_set(&own[1].url, "/y");
    earlier[0] = own[1];
    ngx_str_set(&earlier[1].name, "z");
    ngx_str_set(&earlier[1].url, "/z");

    /* the current step's successors alone: x, then y */

    n = ngx_http_cx_blend(c, 0, 3, own, now, NULL, 2, 1);
    ok(n == 2 && c[0].shared == 1 && c[1].shared == 0.9,
       "blend: weights relative to the heaviest");

    n = ngx_http_cx_rank(c, n, 0, 1, 0, &cur, NULL, 0);
    ok(n == 2 && c[0].ref.url.len == 2 && c[0].ref.url.data[1] == 'x',
       "blend: the step's own heaviest first");

    /* the step before, at half weight: y 0.9 + 0.5, z 0.25 */

    n = ngx_http_cx_blend(c, 0, 3, own, now, NULL, 2, 1);
    n = ngx_http_cx_blend(c, n, 3, earlier, before, NULL, 2, 0.5);
    ok(n == 3 && fabs(c[1].shared - 1.4) < 1e-12 && c[2].shared == 0.25,
       "blend: the earlier step's successors added at its weight");

    n = ngx_http_cx_rank(c, n, 0, 1, 0, &cur, NULL, 0);
    ok(n == 3 && c[0].ref.url.data[1] == 'y' && c[1].ref.url.data[1] == 'x'
       && c[2].ref.url.data[1] == 'z',
       "blend: the journey's successor first, then the step's own");

    n = ngx_http_cx_blend(c, 0, 2, own, now, NULL, 2, 1);
    n = ngx_http_cx_blend(c, n, 2, earlier, before, NULL, 2, 0.5);
    ok(n == 2 && fabs(c[1].shared - 1.4) < 1e-12,
       "blend: a new candidate past max is left out, known ones add up");

    n = ngx_http_cx_blend(c, 0, 3, earlier, zero, NULL, 1, 0.5);
    ok(n == 0, "blend: a list of no weight adds nothing");

    /* y's candidate given (1), z's not: as if both were searched for */

    at[0] = 1;
    at[1] = NGX_HTTP_CX_UNSEEN;

    n = ngx_http_cx_blend(c, 0, 3, own, now, NULL, 2, 1);
    n = ngx_http_cx_blend(c, n, 3, earlier, before, at, 2, 0.5);
    ok(n == 3 && fabs(c[1].shared - 1.4) < 1e-12 && c[1].personal == 0
       && c[2].shared == 0.25 && c[2].ref.url.data[1] == 'z'
       && c[0].shared == 1,
       "blend: a candidate given is added to as the one of its url");
}


static void
test_same_bytes(void)
{
    u_char      a[24], b[24];
    size_t      n, i;
    ngx_uint_t  bad;

    /* every length the words cover and past them, every byte changed */

    bad = 0;

    for (n = 1; n <= 20; n++) {
        for (i = 0; i < n; i++) {
            a[i] = b[i] = (u_char) ('a' + i);
        }

        bad += !ngx_http_cx_same_bytes(a, b, n);

        for (i = 0; i < n; i++) {
            b[i] ^= 0x20;
            bad += ngx_http_cx_same_bytes(a, b, n);
            b[i] ^= 0x20;
        }
    }

    ok(bad == 0, "same_bytes: equal as memcmp() finds, at every length");
}


static void
test_url_key(void)
{
    u_char              buf[24];
    ngx_uint_t          n;
    ngx_http_cx_ref_t   a, b;
    ngx_http_cx_cand_t  c[4];

    /* the first 8 and the last 8 bytes the same, the one between not */

    ngx_str_set(&a.name, "item:12345678901");
    ngx_str_set(&a.url, "/item/12345678901");
    ngx_str_set(&b.name, "item:12045678901");
    ngx_str_set(&b.url, "/item/12045678901");

    ok(ngx_http_cx_key(&a.url) == ngx_http_cx_key(&b.url),
       "key: two urls of one word");

    n = ngx_http_cx_merge(c, 0, 4, &a, 3, 0);
    n = ngx_http_cx_merge(c, n, 4, &b, 2, 0);

    ok(n == 2 && c[0].shared == 3 && c[1].shared == 2
       && ngx_http_cx_same(&c[1].ref.url, &b.url),
       "merge: urls of one word, their bytes not the same, two candidates");

    /* the same bytes elsewhere: one candidate, at every length */

    for (n = 1; n <= sizeof(buf); n++) {
        ngx_memcpy(buf, "/a/bc/def/ghij/klmnopqrs", n);
        b.url.data = buf;
        b.url.len = n;
        a.url.data = (u_char *) "/a/bc/def/ghij/klmnopqrs";
        a.url.len = n;

        if (ngx_http_cx_key(&a.url) != ngx_http_cx_key(&b.url)
            || ngx_http_cx_merge(c, ngx_http_cx_merge(c, 0, 4, &a, 1, 0), 4,
                                 &b, 1, 0)
               != 1)
        {
            break;
        }
    }

    ok(n == sizeof(buf) + 1, "merge: the same url at another address, one");
}


static void
test_revisit(void)
{
    ngx_str_t           cur = ngx_string("b");
    ngx_uint_t          n;
    ngx_http_cx_ref_t   ref, journey[4];
    ngx_http_cx_cand_t  c[4];

    /* x 10, y 4 and z, a step of the journey no rule suggests */

    ngx_str_set(&ref.name, "x");
    ngx_str_set(&ref.url, "/x");
    n = ngx_http_cx_merge(c, 0, 4, &ref, 10, 0);
    ngx_str_set(&ref.name, "y");
    ngx_str_set(&ref.url, "/y");
    n = ngx_http_cx_merge(c, n, 4, &ref, 4, 0);
    journey[0] = ref;
    journey[3] = ref;
    journey[1].name = cur;
    ngx_str_set(&ref.name, "z");
    ngx_str_set(&ref.url, "/z");
    n = ngx_http_cx_merge(c, n, 4, &ref, 0, 0);
    journey[2] = ref;

    /* y, the step before, 0.4 + 0.5; the current one not counted; z
     * 0.25; y again counted where it was last */

    n = ngx_http_cx_rank(c, n, 0, 1, 0.5, &cur, journey, 4);
    ok(n == 3 && c[0].ref.name.data[0] == 'x'
       && c[1].ref.name.data[0] == 'y' && fabs(c[1].score - 0.9) < 1e-12
       && c[2].ref.name.data[0] == 'z' && fabs(c[2].score - 0.25) < 1e-12,
       "revisit: the journey's steps gain half the best, a quarter");

    n = ngx_http_cx_rank(c, n, 0, 0, 0.5, &cur, journey, 4);
    ok(n == 1 && c[0].ref.name.data[0] == 'x',
       "revisit: demoted to nothing, the steps taken are dropped");

    n = ngx_http_cx_rank(c, n, 0, 1, 0, &cur, journey, 4);
    ok(n == 1, "revisit: 0 adds nothing");
}


/* replies built by hand, as hiredis would hand them over */

static redisReply *
str_reply(redisReply *r, int type, const char *s)
{
    ngx_memzero(r, sizeof(redisReply));
    r->type = type;
    r->str = (char *) s;
    r->len = s ? strlen(s) : 0;
    return r;
}


/* the recent steps: longer than 16 of the longest is not ours, not scanned */

static void
test_steps_long(void)
{
    u_char      *buf, *p;
    size_t       len;
    ngx_str_t    text, out[NGX_HTTP_CX_RECENT];
    ngx_uint_t   i, n, bad;

    len = 1 + 1000000;
    buf = malloc(len);
    if (buf == NULL) {
        ok(0, "malloc");
        return;
    }

    /* 16 steps of 128 + 1 + 256 bytes: all that ngx_cx writes */

    for (p = buf, i = 0; i < NGX_HTTP_CX_RECENT; i++) {
        if (i) {
            *p++ = '|';
        }

        ngx_memset(p, 'n', NGX_HTTP_CX_NAME_MAX);
        p += NGX_HTTP_CX_NAME_MAX;
        *p++ = ' ';
        ngx_memset(p, '/', NGX_HTTP_CX_URL_MAX);
        p += NGX_HTTP_CX_URL_MAX;
    }

    text.data = buf;
    text.len = p - buf;
    bad = 0;
    n = ngx_http_cx_steps_parse(&text, out, NGX_HTTP_CX_RECENT, &bad);
    ok(n == NGX_HTTP_CX_RECENT && bad == 0
       && text.len == NGX_HTTP_CX_RECENT * (NGX_HTTP_CX_MEMBER_MAX + 1) - 1,
       "16 steps of the longest are read");

    *p++ = '|';
    text.len++;
    bad = 0;
    n = ngx_http_cx_steps_parse(&text, out, NGX_HTTP_CX_RECENT, &bad);
    ok(n == 0 && bad == 1, "a byte more is not ours: skipped whole");

    ngx_memcpy(buf, "a /a", 4);
    ngx_memset(buf + 4, '|', len - 4);
    text.len = len;
    bad = 0;
    n = ngx_http_cx_steps_parse(&text, out, NGX_HTTP_CX_RECENT, &bad);
    ok(n == 0 && bad == 1, "a step and a million bars: one entry skipped");

    free(buf);
}


static void
test_reply(void)
{
    char                    many[400][16];
    double                  sc[8];
    ngx_str_t               out[8], extra[NGX_HTTP_CX_HABITS];
    ngx_uint_t              i, n, bad, nextra;
    redisReply              e[16], arr, *el[16], *mel[400], me[400];
    static ngx_http_cx_customer_t  cu;

    ngx_memzero(&arr, sizeof(arr));
    arr.type = REDIS_REPLY_ARRAY;
    arr.element = el;

    el[0] = str_reply(&e[0], REDIS_REPLY_STRING, "b /b");
    el[1] = str_reply(&e[1], REDIS_REPLY_STRING, "inf");
    el[2] = str_reply(&e[2], REDIS_REPLY_STRING, "a /a");
    el[3] = str_reply(&e[3], REDIS_REPLY_STRING, "2.5");
    el[4] = str_reply(&e[4], REDIS_REPLY_STRING, "c /c");
    el[5] = str_reply(&e[5], REDIS_REPLY_STRING, "1e301");
    el[6] = str_reply(&e[6], REDIS_REPLY_STRING, "d /d");
    el[7] = str_reply(&e[7], REDIS_REPLY_STRING, "-1");
    el[8] = str_reply(&e[8], REDIS_REPLY_STRING, "e /e");
    el[9] = str_reply(&e[9], REDIS_REPLY_STRING, "7x");
    el[10] = str_reply(&e[10], REDIS_REPLY_STRING, "f /f");
    el[11] = str_reply(&e[11], REDIS_REPLY_STRING, "0.5");
    arr.elements = 12;

    bad = 0;
    n = ngx_http_cx_reply_scored(&arr, out, sc, 8, 1, 100, &bad);
    ok(n == 2 && bad == 4 && out[0].data[0] == 'f' && sc[1] == 2.5,
       "inf, huge, negative and malformed scores are skipped; "
       "ascending read from the end");

    arr.elements = 7;
    bad = 0;
    n = ngx_http_cx_reply_scored(&arr, out, sc, 8, 0, 100, &bad);
    ok(n == 1 && bad == 2 && out[0].data[0] == 'a',
       "an odd element count reads whole pairs only");

    /* a customer's hash: HGETALL's field, value pairs */

    el[0] = str_reply(&e[0], REDIS_REPLY_STRING, "ts");
    el[1] = str_reply(&e[1], REDIS_REPLY_STRING, "1700000000000");
    el[2] = str_reply(&e[2], REDIS_REPLY_STRING, "jlen");
    el[3] = str_reply(&e[3], REDIS_REPLY_STRING, "99999999999999999999");
    el[4] = str_reply(&e[4], REDIS_REPLY_STRING, "goals");
    el[5] = str_reply(&e[5], REDIS_REPLY_STRING, "abc");
    el[6] = str_reply(&e[6], REDIS_REPLY_STRING, "learned");
    el[7] = str_reply(&e[7], REDIS_REPLY_STRING, "3");
    el[8] = str_reply(&e[8], REDIS_REPLY_STRING, "r");
    el[9] = str_reply(&e[9], REDIS_REPLY_STRING,
                      "cart /cart|<b> x|item:1 /item/1||a b c");
    el[10] = str_reply(&e[10], REDIS_REPLY_STRING, ">home cart /cart");
    el[11] = str_reply(&e[11], REDIS_REPLY_STRING, "2");
    el[12] = str_reply(&e[12], REDIS_REPLY_STRING, ">home item:1 /item/1");
    el[13] = str_reply(&e[13], REDIS_REPLY_STRING, "5");
    el[14] = str_reply(&e[14], REDIS_REPLY_STRING, "u");
    el[15] = str_reply(&e[15], REDIS_REPLY_STRING, "1");
    arr.elements = 16;

    bad = ngx_http_cx_reply_customer(&arr, &cu, extra, &nextra);
    ok(cu.state.ts == 1700000000000LL && cu.state.jlen == 0
       && cu.state.goals == 0 && cu.state.learned == 3 && cu.state.used == 1
       && cu.state.unsure, "state fields not numbers in range read as 0");
    ok(cu.nrecent == 2 && cu.recent[1].len == 14
       && ngx_strncmp(cu.recent[0].data, "cart /cart", 10) == 0,
       "the recent steps, newest first, those not ours skipped");
    ok(cu.nhabits == 2 && cu.habits_w[0] == 5 && cu.habits[0].len == 19
       && cu.habits_w[1] == 2 && nextra == 0, "the transitions, heaviest first");
    ok(bad == 5, "each entry not ours counted");

    el[11] = str_reply(&e[11], REDIS_REPLY_STRING, "1.5");
    el[12] = str_reply(&e[12], REDIS_REPLY_STRING, ">home <b>");
    el[14] = str_reply(&e[14], REDIS_REPLY_STRING, "o");
    el[15] = str_reply(&e[15], REDIS_REPLY_STRING, "0123abcd:89abcdef");
    bad = ngx_http_cx_reply_customer(&arr, &cu, extra, &nextra);
    ok(cu.nhabits == 0 && cu.state.noffer == 1
       && cu.state.offer[0] == 0x0123abcd && cu.state.shortcut == 0x89abcdef,
       "counts not integers, transitions not ours skipped; the offer read");

    el[15] = str_reply(&e[15], REDIS_REPLY_STRING, "<script>");
    el[13] = str_reply(&e[13], REDIS_REPLY_INTEGER, NULL);
    bad = ngx_http_cx_reply_customer(&arr, &cu, extra, &nextra);
    ok(cu.state.noffer == 0 && cu.state.shortcut == 0 && bad == 8,
       "an offer not ours reads as none; a value not a string is skipped");

    arr.elements = 15;
    ok(ngx_http_cx_reply_customer(&arr, &cu, extra, &nextra) == 1
       && cu.state.ts == 0, "an odd count of elements is not read at all");

    /* transitions beyond the 64 kept: the lightest, to delete */

    arr.element = mel;
    arr.elements = 2 * 70;

    for (i = 0; i < 70; i++) {
        snprintf(many[2 * i], 16, ">a b /%u", (unsigned) i);
        snprintf(many[2 * i + 1], 16, "%u", (unsigned) (100 - i));
        mel[2 * i] = str_reply(&me[2 * i], REDIS_REPLY_STRING, many[2 * i]);
        mel[2 * i + 1] = str_reply(&me[2 * i + 1], REDIS_REPLY_STRING,
                                   many[2 * i + 1]);
    }

    bad = ngx_http_cx_reply_customer(&arr, &cu, extra, &nextra);
    ok(bad == 0 && cu.nhabits == NGX_HTTP_CX_HABITS && nextra == 6
       && cu.habits_w[0] == 100 && cu.habits_w[63] == 37
       && extra[0].len == 7 && extra[0].data[6] == '4',
       "the 64 heaviest kept, the 6 others to delete");

    arr.elements = 2 * 200;

    for (i = 70; i < 200; i++) {
        mel[2 * i] = str_reply(&me[2 * i], REDIS_REPLY_STRING, "x");
        mel[2 * i + 1] = str_reply(&me[2 * i + 1], REDIS_REPLY_STRING, "1");
    }

    bad = ngx_http_cx_reply_customer(&arr, &cu, extra, &nextra);
    ok(bad == 1 + NGX_HTTP_CX_FIELDS_MAX - 70,
       "only the first fields are looked at");

    arr.element = el;

    el[0] = str_reply(&e[0], REDIS_REPLY_STRING, "");
    el[1] = str_reply(&e[1], REDIS_REPLY_STRING, "a /a|b /b");
    arr.elements = 2;
    bad = 0;
    ok(ngx_http_cx_reply_strings(&arr, out, 8, 5, &bad) == 0 && bad == 2,
       "strings empty or over the bound are skipped");

    str_reply(&e[0], REDIS_REPLY_ERROR, "WRONGTYPE");
    bad = 0;
    ok(ngx_http_cx_reply_customer(&e[0], &cu, extra, &nextra) == 1
       && ngx_http_cx_reply_scored(&e[0], out, sc, 8, 0, 9, &bad) == 0
       && bad == 1, "an error reply gives nothing");
    ok(ngx_http_cx_reply_customer(NULL, &cu, extra, &nextra) == 0
       && cu.nrecent == 0, "no reply: a customer new to Redis");
}


/* a model's cache entry: made, read back, and nothing else read back */

static void
test_pack(void)
{
    u_char      blob[8192], *p, *q, big[NGX_HTTP_CX_MEMBER_MAX + 1];
    double      w[300], wo[NGX_HTTP_CX_RULES];
    size_t      len, i;
    int64_t     epoch;
    uint16_t    u16;
    ngx_str_t   id, other, m[300], mo[NGX_HTTP_CX_RULES];
    ngx_uint_t  n, k, bad;

    ngx_str_set(&id, "cx: item:42");

    ngx_str_set(&m[0], "cart /cart");
    w[0] = 3.5;
    ngx_str_set(&m[1], "item:7 /item/7");
    w[1] = 0x1p-40;
    ngx_str_set(&m[2], "");
    w[2] = 1;
    ngx_memset(big, 'n', sizeof(big));
    m[3].data = big;
    m[3].len = sizeof(big);
    w[3] = 1;
    ngx_str_set(&m[4], "a /a");
    w[4] = 0;
    ngx_str_set(&m[5], "b /b");
    w[5] = INFINITY;
    ngx_str_set(&m[6], "c /c");
    w[6] = NAN;
    ngx_str_set(&m[7], "d /d");
    w[7] = -1;
    ngx_str_set(&m[8], "e /e");
    w[8] = 1e301;
    m[9].data = big;
    m[9].len = NGX_HTTP_CX_MEMBER_MAX;
    w[9] = 2;

    len = ngx_http_cx_pack_len(&id, m, w, 10);
    p = ngx_http_cx_pack(blob, &id, 15000, m, w, 10);

    ok((size_t) (p - blob) == len && len == 12 + id.len + 3 * 10 + 10 + 14
                                             + NGX_HTTP_CX_MEMBER_MAX,
       "pack: its length as told, empty, long and unweighable ones left out");

    n = 0;
    ok(ngx_http_cx_unpack(blob, len, &id, &epoch, mo, wo, NGX_HTTP_CX_RULES,
                          &n) == NGX_OK
       && n == 3 && epoch == 15000
       && mo[0].len == 10 && ngx_memcmp(mo[0].data, "cart /cart", 10) == 0
       && wo[0] == 3.5 && mo[1].len == 14 && wo[1] == 0x1p-40
       && mo[2].len == NGX_HTTP_CX_MEMBER_MAX && wo[2] == 2,
       "unpack: the members kept, in order, weights exact");

    ngx_str_set(&other, "cx: item:43");
    ok(ngx_http_cx_unpack(blob, len, &other, &epoch, mo, wo,
                          NGX_HTTP_CX_RULES, &n) == NGX_DECLINED,
       "another step's entry under the same key is never served");

    ngx_str_set(&other, "cx: item:4");
    ok(ngx_http_cx_unpack(blob, len, &other, &epoch, mo, wo,
                          NGX_HTTP_CX_RULES, &n) == NGX_DECLINED,
       "nor that of a step whose name begins this one's");

    ngx_str_set(&other, "cy: item:42");
    ok(ngx_http_cx_unpack(blob, len, &other, &epoch, mo, wo,
                          NGX_HTTP_CX_RULES, &n) == NGX_DECLINED,
       "nor another shop's");

    bad = 0;
    for (i = 0; i < len; i++) {
        bad += (ngx_http_cx_unpack(blob, i, &id, &epoch, mo, wo,
                                   NGX_HTTP_CX_RULES, &n) == NGX_OK);
    }

    blob[len] = 0;
    bad += (ngx_http_cx_unpack(blob, len + 1, &id, &epoch, mo, wo,
                               NGX_HTTP_CX_RULES, &n) != NGX_ERROR);
    ok(bad == 0, "every cut of a blob, and one byte more, is refused");

    ok(ngx_http_cx_unpack(blob, len, &id, &epoch, mo, wo, 2, &n)
       == NGX_ERROR, "more members than there is room for: refused");

    ok(ngx_http_cx_unpack_count(blob, len) == 3
       && ngx_http_cx_unpack(blob, len, &id, &epoch, mo, wo,
                             ngx_http_cx_unpack_count(blob, len), &n)
          == NGX_OK && n == 3
       && ngx_http_cx_unpack_count(blob, 3) == 0,
       "unpack_count: room for the members a blob holds, none for a cut one");

    u16 = 60000;
    ngx_memcpy(blob + 2, &u16, 2);
    ok(ngx_http_cx_unpack_count(blob, len) == NGX_HTTP_CX_RULES
       && ngx_http_cx_unpack(blob, len, &id, &epoch, mo, wo,
                             ngx_http_cx_unpack_count(blob, len), &n)
          == NGX_ERROR,
       "a count past NGX_HTTP_CX_RULES: no more room, and refused");
    u16 = 3;
    ngx_memcpy(blob + 2, &u16, 2);

    /* damaged in place: the version, a member's length, a weight */

    q = blob + 12 + id.len;

    blob[0] = 2;
    k = (ngx_http_cx_unpack(blob, len, &id, &epoch, mo, wo,
                            NGX_HTTP_CX_RULES, &n) == NGX_ERROR);
    blob[0] = 1;

    ngx_memcpy(&u16, q, 2);
    u16 += 1;
    ngx_memcpy(q, &u16, 2);
    k += (ngx_http_cx_unpack(blob, len, &id, &epoch, mo, wo,
                             NGX_HTTP_CX_RULES, &n) == NGX_ERROR);
    u16 = 0;
    ngx_memcpy(q, &u16, 2);
    k += (ngx_http_cx_unpack(blob, len, &id, &epoch, mo, wo,
                             NGX_HTTP_CX_RULES, &n) == NGX_ERROR);
    u16 = 10;
    ngx_memcpy(q, &u16, 2);

    w[0] = NAN;
    ngx_memcpy(q + 2, &w[0], 8);
    k += (ngx_http_cx_unpack(blob, len, &id, &epoch, mo, wo,
                             NGX_HTTP_CX_RULES, &n) == NGX_ERROR);
    w[0] = -3.5;
    ngx_memcpy(q + 2, &w[0], 8);
    k += (ngx_http_cx_unpack(blob, len, &id, &epoch, mo, wo,
                             NGX_HTTP_CX_RULES, &n) == NGX_ERROR);
    w[0] = 3.5;
    ngx_memcpy(q + 2, &w[0], 8);
    k += (ngx_http_cx_unpack(blob, len, &id, &epoch, mo, wo,
                             NGX_HTTP_CX_RULES, &n) == NGX_OK);

    ok(k == 6, "a wrong version, length or weight is refused");

    for (i = 0; i < 300; i++) {
        ngx_str_set(&m[i], "x /x");
        w[i] = (double) i + 1;
    }

    len = ngx_http_cx_pack_len(&id, m, w, 300);
    p = ngx_http_cx_pack(blob, &id, -1, m, w, 300);
    ok((size_t) (p - blob) == len
       && ngx_http_cx_unpack(blob, len, &id, &epoch, mo, wo,
                             NGX_HTTP_CX_RULES, &n) == NGX_OK
       && n == NGX_HTTP_CX_RULES && wo[n - 1] == NGX_HTTP_CX_RULES
       && epoch == -1, "at most NGX_HTTP_CX_RULES members, the first");

    ngx_memset(big, 'p', sizeof(big));
    other.data = big;
    other.len = NGX_HTTP_CX_MODEL_ID_MAX + 1;
    ok(ngx_http_cx_pack_len(&other, m, w, 1) == 0,
       "an id longer than any step's has no blob");
}


/* a customer as the edge keeps it: packed, unpacked, and a step applied */

static void
test_customer(void)
{
    u_char                   buf[65536], *p;
    size_t                   len;
    ngx_str_t                steps[2], habits[2], path;
    ngx_uint_t               i, same;
    ngx_http_cx_state_t      st;
    ngx_http_cx_customer_t   a, b;

    ngx_memzero(&a, sizeof(a));

    a.state.ts = 1700000000123LL;
    a.state.jlen = 3;
    a.state.goals = 2;
    a.state.gap = 4500;
    a.state.learned = 7;
    a.state.noffer = 2;
    a.state.offer[0] = 0xdeadbeef;
    a.state.offer[1] = 1;
    a.state.shortcut = 9;

    ngx_str_set(&a.recent[0], "cart /cart");
    ngx_str_set(&a.recent[1], "home /");
    a.nrecent = 2;

    ngx_str_set(&a.habits[0], "home cart /cart");
    a.habits_w[0] = 3;
    ngx_str_set(&a.habits[1], "cart pay /pay");
    a.habits_w[1] = 1;
    a.nhabits = 2;

    ngx_str_set(&a.paths[0], "home /|cart /cart|pay /pay");
    a.npaths = 1;

    len = ngx_http_cx_customer_size(&a);
    p = ngx_http_cx_customer_pack(buf, &a);

    ok((size_t) (p - buf) == len, "a customer packs into its size");

    ok(ngx_http_cx_customer_unpack(buf, len, &b) == NGX_OK
       && b.state.ts == a.state.ts && b.state.goals == 2
       && b.state.gap == 4500 && b.state.learned == 7
       && b.state.offer[0] == 0xdeadbeef && b.state.shortcut == 9
       && b.nrecent == 2 && ngx_http_cx_same(&b.recent[1], &a.recent[1])
       && b.nhabits == 2 && b.habits_w[0] == 3
       && ngx_http_cx_same(&b.habits[1], &a.habits[1])
       && b.npaths == 1 && ngx_http_cx_same(&b.paths[0], &a.paths[0]),
       "and unpacks as it was");

    same = 1;

    for (i = 0; i < len; i++) {
        if (ngx_http_cx_customer_unpack(buf, i, &b) != NGX_ERROR) {
            same = 0;
        }
    }

    ok(same, "a cut copy is refused at every length");

    buf[len] = 'x';
    ok(ngx_http_cx_customer_unpack(buf, len + 1, &b) == NGX_ERROR,
       "and one with bytes after it");

    buf[0] ^= 1;
    ok(ngx_http_cx_customer_unpack(buf, len, &b) == NGX_ERROR,
       "and one of another layout");
    buf[0] ^= 1;

    /* a step: two pushed (the Referer's, then this one), a transition
     * counted, a path kept */

    st = a.state;
    st.jlen = 5;

    ngx_str_set(&steps[0], "item:1 /item/1");
    ngx_str_set(&steps[1], "pay /pay");
    ngx_str_set(&habits[0], "cart pay /pay");
    ngx_str_set(&path, "cart /cart|pay /pay");

    ngx_http_cx_customer_step(&a, &st, steps, 2, habits, 1, &path, 3);

    ok(a.state.jlen == 5 && a.nrecent == 3
       && ngx_http_cx_same(&a.recent[0], &steps[1])
       && ngx_http_cx_same(&a.recent[1], &steps[0])
       && a.recent[2].len == sizeof("cart /cart") - 1,
       "a step pushes the newest first, cut to cx_history");

    ok(a.nhabits == 2 && a.habits_w[0] == 3 && a.habits_w[1] == 2
       && a.npaths == 2 && ngx_http_cx_same(&a.paths[0], &path),
       "counts the transition and keeps the path");

    /* equal counts go as ZREVRANGE has them: the later bytes first */

    ngx_http_cx_customer_step(&a, &st, steps, 1, habits, 1, NULL, 50);

    ok(a.habits_w[0] == 3 && a.habits_w[1] == 3
       && a.habits[0].data[0] == 'h',
       "a tie stays behind the later bytes");

    ngx_http_cx_customer_step(&a, &st, steps, 1, habits, 1, NULL, 50);

    ok(a.habits_w[0] == 4 && a.habits[0].data[0] == 'c',
       "and a heavier one goes first");

    /* a full set: cut to the heaviest 63 before the count, as Redis */

    a.nhabits = NGX_HTTP_CX_HABITS;

    for (i = 0; i < NGX_HTTP_CX_HABITS; i++) {
        a.habits[i] = habits[0];
        a.habits_w[i] = 100 - (double) i;
    }

    ngx_str_set(&habits[1], "x y /y");

    ngx_http_cx_customer_step(&a, &st, steps, 1, &habits[1], 1, NULL, 50);

    ok(a.nhabits == NGX_HTTP_CX_HABITS
       && a.habits_w[NGX_HTTP_CX_HABITS - 1] == 1
       && ngx_http_cx_same(&a.habits[NGX_HTTP_CX_HABITS - 1], &habits[1])
       && a.habits_w[NGX_HTTP_CX_HABITS - 2] == 100 - 62,
       "a new transition into a full set takes the lightest one's place");

    /* a count at the most the reply reads stays there */

    a.habits_w[0] = NGX_HTTP_CX_COUNT_MAX;

    ngx_http_cx_customer_step(&a, &st, steps, 1, &a.habits[0], 1, NULL, 50);

    ok(a.habits_w[0] == NGX_HTTP_CX_COUNT_MAX,
       "a count never passes what the reply reads back");

    for (i = 0; i < 12; i++) {
        ngx_http_cx_customer_step(&a, &st, steps, 1, NULL, 0, &path, 50);
    }

    ok(a.npaths == NGX_HTTP_CX_PATHS && a.nrecent == NGX_HTTP_CX_RECENT,
       "paths and recent steps stay within their bounds");

    /* a path again, as the one before it: its bytes once */

    ngx_memzero(&a, sizeof(a));

    ngx_str_set(&a.paths[0], "home /|cart /cart|pay /pay");
    ngx_str_set(&a.paths[1], "home /|cart /cart|pay /pay");
    ngx_str_set(&a.paths[2], "home /|cart /cart");
    ngx_str_set(&a.paths[3], "home /|cart /cart|pay /pay");
    a.npaths = 4;

    len = ngx_http_cx_customer_size(&a);
    p = ngx_http_cx_customer_pack(buf, &a);

    a.npaths = 1;

    ok((size_t) (p - buf) == len
       && len == ngx_http_cx_customer_size(&a) + 2 + 2
                 + sizeof("home /|cart /cart") - 1
                 + 2 + sizeof("home /|cart /cart|pay /pay") - 1,
       "a path the same as the one before it packs as its length alone");

    ok(ngx_http_cx_customer_unpack(buf, len, &b) == NGX_OK
       && b.npaths == 4
       && ngx_http_cx_same(&b.paths[0], &a.paths[0])
       && ngx_http_cx_same(&b.paths[1], &a.paths[0])
       && b.paths[2].len == sizeof("home /|cart /cart") - 1
       && ngx_http_cx_same(&b.paths[3], &a.paths[0]),
       "and unpacks as it was");

    /* the same path in full again, or a first path of length 0: refused */

    a.npaths = 2;
    ngx_str_set(&a.paths[1], "home /|cart /cart|pay /paz");

    len = ngx_http_cx_customer_size(&a);
    p = ngx_http_cx_customer_pack(buf, &a);
    p[-1] = 'y';

    ok(ngx_http_cx_customer_unpack(buf, len, &b) == NGX_ERROR,
       "a path the same as the one before it in full is refused");

    a.npaths = 1;
    a.paths[0].len = 0;

    len = ngx_http_cx_customer_size(&a);
    (void) ngx_http_cx_customer_pack(buf, &a);

    ok(ngx_http_cx_customer_unpack(buf, len, &b) == NGX_ERROR,
       "and a first path of length 0");
}


/*
 * ngx_http_cx_same(), which tells strings of one length apart by their
 * last byte before comparing them whole: a difference anywhere counts.
 */

static void
test_same(void)
{
    ngx_str_t  a, b, e1, e2;

    ngx_str_set(&a, "item:1 /item/1");
    ngx_str_set(&b, "item:1 /item/1");
    ok(ngx_http_cx_same(&a, &b), "same: equal bytes");

    ngx_str_set(&b, "item:1 /item/2");
    ok(!ngx_http_cx_same(&a, &b), "same: the last byte differs");

    ngx_str_set(&b, "jtem:1 /item/1");
    ok(!ngx_http_cx_same(&a, &b), "same: the first byte differs, not the last");

    ngx_str_set(&b, "item:1 /itex/1");
    ok(!ngx_http_cx_same(&a, &b), "same: a middle byte differs, not the last");

    ngx_str_set(&b, "item:1 /item/1 ");
    ok(!ngx_http_cx_same(&a, &b), "same: another length");

    ngx_str_null(&e1);
    e2.len = 0;
    e2.data = (u_char *) "x";
    ok(ngx_http_cx_same(&e1, &e2) && !ngx_http_cx_same(&e1, &a),
       "same: empty strings, whatever their data");
}


/*
 * ngx_http_cx_customer_copy() into a worker's scratch that holds another
 * customer's entries (ngx_http_cx_record.c): the copy, stepped, is what
 * the whole struct stepped is, and the scratch's old entries never show.
 */

static void
test_customer_copy(void)
{
    ngx_str_t                steps[1], habits[1], path, other;
    ngx_uint_t               i, same;
    ngx_http_cx_state_t      st;
    ngx_http_cx_customer_t   a, whole, scratch;

    ngx_memzero(&a, sizeof(a));

    a.state.ts = 1700000000123LL;
    a.state.goals = 1;

    ngx_str_set(&a.recent[0], "cart /cart");
    ngx_str_set(&a.recent[1], "home /");
    a.nrecent = 2;

    ngx_str_set(&a.habits[0], "home cart /cart");
    a.habits_w[0] = 3;
    a.nhabits = 1;

    ngx_str_set(&a.paths[0], "home /|cart /cart");
    a.npaths = 1;

    /* the scratch as another, fuller customer left it */

    ngx_str_set(&other, "other /other");

    for (i = 0; i < NGX_HTTP_CX_RECENT; i++) {
        scratch.recent[i] = other;
    }

    for (i = 0; i < NGX_HTTP_CX_HABITS; i++) {
        scratch.habits[i] = other;
        scratch.habits_w[i] = 1000;
    }

    for (i = 0; i < NGX_HTTP_CX_PATHS; i++) {
        scratch.paths[i] = other;
    }

    scratch.nrecent = NGX_HTTP_CX_RECENT;
    scratch.nhabits = NGX_HTTP_CX_HABITS;
    scratch.npaths = NGX_HTTP_CX_PATHS;

    whole = a;
    ngx_http_cx_customer_copy(&scratch, &a);

    st = a.state;
    st.jlen = 2;

    ngx_str_set(&steps[0], "pay /pay");
    ngx_str_set(&habits[0], "cart pay /pay");
    ngx_str_set(&path, "cart /cart|pay /pay");

    ngx_http_cx_customer_step(&whole, &st, steps, 1, habits, 1, &path, 50);
    ngx_http_cx_customer_step(&scratch, &st, steps, 1, habits, 1, &path, 50);

    same = whole.state.jlen == scratch.state.jlen
           && whole.nrecent == scratch.nrecent
           && whole.nhabits == scratch.nhabits
           && whole.npaths == scratch.npaths;

    for (i = 0; same && i < whole.nrecent; i++) {
        same = ngx_http_cx_same(&whole.recent[i], &scratch.recent[i]);
    }

    for (i = 0; same && i < whole.nhabits; i++) {
        same = ngx_http_cx_same(&whole.habits[i], &scratch.habits[i])
               && whole.habits_w[i] == scratch.habits_w[i];
    }

    for (i = 0; same && i < whole.npaths; i++) {
        same = ngx_http_cx_same(&whole.paths[i], &scratch.paths[i]);
    }

    ok(same && scratch.nrecent == 3 && scratch.nhabits == 2
       && scratch.habits_w[1] == 1 && scratch.npaths == 2,
       "customer_copy: a used scratch, stepped, is the customer stepped");

    /* and copied back over a customer with more entries than it has */

    ngx_http_cx_customer_copy(&a, &scratch);

    ok(a.nrecent == 3 && ngx_http_cx_same(&a.recent[0], &steps[0])
       && a.nhabits == 2 && a.npaths == 2
       && ngx_http_cx_same(&a.paths[0], &path),
       "customer_copy: copied back with its counts");
}


/*
 * ngx_http_cx_keyslot() against what CLUSTER KEYSLOT of redis-server
 * 7.0.15 answered for each key: hash tags and their edge cases, keys of
 * the module's schema, random bytes.
 */

static void
test_keyslot(void)
{
    ngx_uint_t  i, bad;

    static struct {
        char        *key;
        size_t       len;
        ngx_uint_t   slot;
    } keys[] = {
    { "", 0, 0 },
    { "a", 1, 15495 },
    { "foo", 3, 12182 },
    { "{", 1, 4092 },
    { "}", 1, 12090 },
    { "{}", 2, 15257 },
    { "{}x", 3, 10595 },
    { "x{}", 3, 2608 },
    { "{a", 2, 10276 },
    { "a}", 2, 5921 },
    { "}{", 2, 12793 },
    { "}a{b}", 5, 3300 },
    { "{a}", 3, 15495 },
    { "x{a}y", 5, 15495 },
    { "{a}{b}", 6, 15495 },
    { "{}{a}", 5, 13650 },
    { "{{a}}", 5, 10276 },
    { "a{b{c}d}", 8, 15725 },
    { "{user1000}.following", 20, 3443 },
    { "{user1000}.followers", 20, 3443 },
    { "foo{}{bar}", 10, 8363 },
    { "foo{{bar}}zap", 13, 4015 },
    { "foo{bar}{zap}", 13, 5061 },
    { "123456789", 9, 12739 },
    { "\000", 1, 0 },
    { "\377\376{\000}", 5, 0 },
    { "cx:t:{home}:0", 13, 10814 },
    { "cx:t:{cart}:20241", 17, 15997 },
    { "P{0123456789abcdef}:s", 21, 10405 },
    { "P{895747542690d408}:s", 21, 9622 },
    { "cx280a:{8ed48b7fdbda3b8e}:p", 27, 5629 },
    { "cx280a:{4ee5965b8be88c4f}:g", 27, 1291 },
    { "P{76b42dec0d174fe8}:m", 21, 13058 },
    { "cx280a:{8b6b47f611ba5965}:s", 27, 13033 },
    { "{752d1ea20493d982}:p", 20, 5714 },
    { "{b10aa4ff7691c548}:g", 20, 12456 },
    { "cx:{8d7b79d6bd1ace22}:p", 23, 15607 },
    { "P{096efca19d4413b5}:seq", 23, 306 },
    { "shop1:{9c91b43bfed1b941}:g", 26, 15475 },
    { "cx280a:{40742fb2b86177e6}:m", 27, 6131 },
    { "cx:{1134bc94982b1050}:p", 23, 9272 },
    { "P{82ad591339ccfc84}:m", 21, 20 },
    { "cx280a:{90088a77bd5fd84e}:p", 27, 9866 },
    { "cx280a:{e6cf601f5430492f}:p", 27, 213 },
    { "shop1:{16d004941d87f037}:p", 26, 14581 },
    { "shop1:{0ea71d703b4eb4b7}:p", 26, 13139 },
    { "cx280a:{284453140ebcfd2e}:seq", 29, 15036 },
    { "cx:{ac36ac2fd90ecdf1}:seq", 25, 1208 },
    { "shop1:{604a96d9062342c6}:g", 26, 170 },
    { "cx280a:{055117d5d2f431b1}:p", 27, 11054 },
    { "cx:{52d9d9789d986325}:s", 23, 11415 },
    { "shop1:{847933fe31d4f7fa}:s", 26, 7838 },
    { "cx:{0f238e0d4047b4dd}:seq", 25, 9595 },
    { "cx280a:{bab63455d1d3fd64}:m", 27, 323 },
    { "P{0ccadc927c51ee3e}:p", 21, 13080 },
    { "P{1607d1f8d1b6ec5e}:m", 21, 2441 },
    { "cx:{c1cc76d6110ecc4e}:m", 23, 3070 },
    { "cx:{fe201f5730d6ef1d}:g", 23, 10306 },
    { "{8f44405295f6f072}:s", 20, 9852 },
    { "cx280a:{22c5610c6ea4e547}:p", 27, 8470 },
    { "cx:{2d5cd799e03ee758}:m", 23, 5449 },
    { "cx:{6804da7e0c8341ae}:s", 23, 16206 },
    { "cx280a:{23b25fe0e0ab2dd2}:g", 27, 7602 },
    { "cx:{a4342c9f9d6f63c9}:s", 23, 5138 },
    { "cx:{9e6f01d2f963a09f}:g", 23, 14868 },
    { "cx280a:{a19d0d4d1b45bc79}:m", 27, 15802 },
    { "cx:{603a51779bc90068}:p", 23, 7822 },
    { "P{743dce9a82d97d3f}:s", 21, 4580 },
    { "{263a652bc76a32ad}:m", 20, 12603 },
    { "shop1:{cc2bd589cf242b0a}:m", 26, 1264 },
    { "{dc536c363cdf6c28}:m", 20, 13344 },
    { "P{0b69f85b9a851a24}:seq", 23, 13345 },
    { "cx:{9b0f25cedbd30857}:s", 23, 3938 },
    { "{03d756e5a3d23dc1}:seq", 22, 11978 },
    { "{29863f2e19e5bf68}:p", 20, 399 },
    { "cx280a:{da8c4a12f6d9bd6c}:s", 27, 303 },
    { "P{fd0a892d219762e0}:m", 21, 6451 },
    { "P{f6003514991ee39c}:s", 21, 2074 },
    { "cx280a:{0f8f54530a01858a}:m", 27, 12356 },
    { "cx:{b7697aa2c5146ef8}:s", 23, 4755 },
    { "shop1:{128f3fb8f04a959c}:seq", 28, 3316 },
    { "cx:{dec5625e7d441a4a}:p", 23, 14665 },
    { "P{eab060d9c4811d7a}:s", 21, 6580 },
    { "{13f54d5d8601d7e7}:seq", 22, 5001 },
    { "shop1:{96f1d83baee7a4a7}:g", 26, 9296 },
    { "cx280a:{ac5aae1ecbc3f133}:p", 27, 15580 },
    { "cx280a:{f3712e2ed8306af1}:seq", 29, 11868 },
    { "cx280a:{a3854c64558f6a8e}:s", 27, 8849 },
    { "P{b3b17a703a600913}:g", 21, 2757 },
    { "{1e4a22ca6ad519b7}:s", 20, 9190 },
    { "cx280a:{14e32286bff94a4b}:s", 27, 8659 },
    { "shop1:{e3e3b1ef80781ffe}:g", 26, 10734 },
    { "cx280a:{819e4ab70b646338}:p", 27, 1523 },
    { "P{62f894dcc943a280}:p", 21, 10316 },
    { "shop1:{f3f66c4b753f0cbf}:g", 26, 4810 },
    { "shop1:{7185174cafe7e844}:seq", 28, 15216 },
    { "{22548989fc41b2eb}:g", 20, 86 },
    { "P{9acac3e9ee700528}:g", 21, 12453 },
    { "{452161ceabc06cc5}:seq", 22, 9704 },
    { "P{352bedc476da2391}:p", 21, 15560 },
    { "cx280a:{126805c5cfbae1e3}:s", 27, 12481 },
    { "cx280a:{219c31acd39eaedb}:s", 27, 11168 },
    { "P{97aa5fd0a674bf0e}:seq", 23, 9815 },
    { "shop1:{ac4683e1c48fff82}:s", 26, 4373 },
    { "shop1:{2c7ebe3673e87b40}:seq", 28, 10414 },
    { "cx:{3bddc665372b068b}:g", 23, 1974 },
    { "shop1:{e54f954478c70bdb}:s", 26, 9917 },
    { "shop1:{df66b245ebb4478a}:seq", 28, 14135 },
    { "P{7104a25409336403}:p", 21, 7088 },
    { "cx280a:{99c81fb0cfb8d501}:seq", 29, 14964 },
    { "shop1:{daa9c4d2091e53a0}:seq", 28, 488 },
    { "P{acff6701e10dfe37}:s", 21, 1652 },
    { "P{54a5ba7cd43e9d5e}:p", 21, 2820 },
    { "{1bea52b799993c76}:p", 20, 15601 },
    { "P{e28dc4bf636f426f}:s", 21, 3622 },
    { "P{8a6fc906d9380c69}:p", 21, 3256 },
    { "P{91dbe1cd93b93560}:m", 21, 15675 },
    { "{716714774c9eb511}:g", 20, 9424 },
    { "shop1:{9ad5de82635fb225}:s", 26, 7179 },
    { "P{db37927b5f42b3b0}:seq", 23, 2262 },
    { "P{2d36eeb8a85fddba}:g", 21, 1196 },
    { "{54e2daba17c6fd0a}:m", 20, 7044 },
    { "P{438ab4a9516c53ae}:seq", 23, 11477 },
    { "{94c1450dc2a895a4}:s", 20, 11548 },
    { "cx280a:{292aaa5ca46d633a}:seq", 29, 2011 },
    { "cx:{799ff80784f674e0}:p", 23, 7312 },
    { "{f1bdc5defe9c02e6}:g", 20, 7799 },
    { "{f549730726fdc344}:seq", 22, 5015 },
    { "{ceca3f66081eb10f}:m", 20, 2353 },
    { "shop1:{e94ff551d99a441a}:p", 26, 2519 },
    { "shop1:{f49b505801af57e0}:g", 26, 5411 },
    { "shop1:{73de70c223665fa8}:p", 26, 14988 },
    { "P{c3eab6244549a8c4}:m", 21, 16136 },
    { "{8f463128bbc6e14f}:g", 20, 269 },
    { "cx280a:{41309f9e672d98af}:g", 27, 6602 },
    { "cx280a:{b6fa11711cce4bd0}:seq", 29, 12525 },
    { "P{2e12f8dd75975e5a}:m", 21, 6898 },
    { "cx:{a7132d1c64e39f46}:p", 23, 9108 },
    { "cx280a:{7eb60beade5dbc7e}:m", 27, 5349 },
    { "cx280a:{a714dbef38ac631a}:seq", 29, 14402 },
    { "{0af68e19a5af358d}:s", 20, 14712 },
    { "cx280a:{379eb1100003c735}:g", 27, 6188 },
    { "P{ddfc973eb1c30b67}:m", 21, 1906 },
    { "cx:{7142244571960768}:p", 23, 10119 },
    { "shop1:{1af475073a04e994}:p", 26, 178 },
    { "P{85035cb5c3d75302}:m", 21, 961 },
    { "cx:{23d043198fac9a53}:g", 23, 10822 },
    { "cx:{469fce5292e18366}:g", 23, 4076 },
    { "P{4c9681955fced3c2}:g", 21, 4332 },
    { "Pt:t:{gbwfjkmz2nyddx3_1%2}:77968", 32, 3490 },
    { "t:{f1}:28218", 12, 2046 },
    { "Pt:t:{20rato-lb}:54714", 22, 5387 },
    { "Pt:t:{gswqvpda_kw-r3fj}:47972", 29, 3279 },
    { "t:{3mu2jm}:72152", 16, 5589 },
    { "Pt:t:{2xfz}:15579", 17, 3705 },
    { "Pt:t:{%tkqbu%dijmd_kq}:11124", 28, 12578 },
    { "t:{tpk1sfrjx}:79225", 19, 13608 },
    { "Pt:t:{buiicnotqomnsqpb}:393", 27, 864 },
    { "Pt:t:{zoveaxt0d0j}:1084", 23, 9282 },
    { "cx:t:{m%t0}:98924", 17, 16300 },
    { "t:{f-djovhq3y%h2w}:69267", 24, 2570 },
    { "t:{fwjyt3ocgszdb-r%p}:44546", 27, 127 },
    { "Pt:t:{if3spxb}:6442", 19, 9382 },
    { "cx:t:{gbnw_d-e2sbtuz22upn-}:10283", 33, 8917 },
    { "cx:t:{_mhbyyc_y}:676", 20, 3260 },
    { "Pt:t:{v%db_2irwp2iv-e}:29240", 28, 785 },
    { "Pt:t:{u}:58470", 14, 11826 },
    { "t:{pv0}:17227", 13, 3236 },
    { "t:{ggx32_}:3029", 15, 15103 },
    { "t:{x2q_zdu-ziin3-wp}:84453", 26, 1747 },
    { "t:{3akcuv}:97132", 16, 16106 },
    { "t:{io%e_}:79929", 15, 3695 },
    { "Pt:t:{g00ta}:40684", 18, 12126 },
    { "Pt:t:{jb3y%aethscv}:44280", 25, 14520 },
    { "Pt:t:{3lwjokcfu0jxob}:88408", 27, 9252 },
    { "cx:t:{xgbu_kplzk0biv}:14772", 27, 15528 },
    { "Pt:t:{ydc1}:90257", 17, 3746 },
    { "cx:t:{2-iya}:5735", 17, 3353 },
    { "t:{b%mv32v}:43192", 17, 6633 },
    { "cx:t:{gb1pcj1ryo--1}:57037", 26, 15417 },
    { "t:{e-}:15520", 12, 272 },
    { "Pt:t:{qfkj%0nea0_}:77241", 24, 12995 },
    { "Pt:t:{czlmo13sy-bz}:3027", 24, 9473 },
    { "t:{aejwwa_xvmqr}:66352", 22, 7594 },
    { "Pt:t:{c}:7244", 13, 7365 },
    { "cx:t:{a%cwb2xfm1m3}:8618", 24, 15673 },
    { "Pt:t:{ijn_fctz0}:23610", 22, 4454 },
    { "cx:t:{jw-ft1ajwpxtc}:24352", 26, 13825 },
    { "cx:t:{3t_m31-n%umva3z3%}:27080", 30, 309 },
    { "\377f", 2, 3999 },
    { "\225o7\362dK\370m\252\312=\017K\247\312\033F\253\350\301"
      "\254", 21, 12565 },
    { "\357\374e\352\304\251\024\236E\343S\230\264", 13, 8240 },
    { "\023\034\311${\030\034\360\353\307+\307\370\202\037\363i"
      "6RE|#W\236y\324\020'i-\201\357E", 33, 13740 },
    { "\312\005\250\202P\005\263\326I\235\213\0363\227)\260\252"
      "\232A%\234\341eP\264\336\0056\261\206", 30, 10795 },
    { "\275d\035\206\274\241\012\346\366\201\366\277`!bJ\2248"
      "\356\361\363RLr\361=\026J\134\266\354", 31, 3795 },
    { "\0320\214=R\270W\312\355\322s\267\221\026w\013S\347A4L"
      "\032\337\031\205\352\354ZNF'\231", 32, 12889 },
    { "\023\355\016\025\024\352I\271\224\235\213\304\004\2549~L"
      "\351\217vV\202\026\014\002\346A\305\346\237\323\035\027"
      "\231o\344\332", 37, 3744 },
    { "\336\134\271R\225\351\014\374p\223qh`\231\030\377``\273"
      "\032\222\303a\362m\207\237\366\253\271\037\315\025\244", 34, 12833 },
    { "\366*\245\260`CB\364\345\243\246\355\177\177-\265\220~"
      "\034\030\231\027\234[\240G\377_td3:(\277\243\216\241", 37, 4453 },
    { "\30113\316\255\216\253\204{\013G\231", 12, 13858 },
    { "4V\3602\310E\014\201s\017\237(\266X\016o\254\010\271", 19, 4804 },
    { "!\270\031^\022", 5, 5318 },
    { "\3358Rd\200\027\255y\262\337\376\034i\236w\220IILwf69"
      "\352i\311{\210\261`\353I\350\242}_\323", 37, 2814 },
    { "\275\267\276\370;\031\017EY\250\200\202\307\362\274,\002"
      "Mi8\202\035\022sw\371\211I`", 29, 12000 },
    { "B~\377+\306G[\032\037\311\011\230K\252`\345\343\245\245z"
      "\316\226\351f\261ya", 27, 1309 },
    { "9\1773\303N\345\311\215\026Ha\035", 12, 12223 },
    { "M\332Z6~\241\326\336g\377\301", 11, 10930 },
    { "\272\337)i$n\0428\035gv\234O\006\340\037", 16, 7347 },
    { "\327p4\356\226\306\326q\362\327\320X\200iTvB\251~\014"
      "\326B\272\203\265\010e", 27, 4870 },
    { "\200B1Uj\274\321c\273\373C\234D", 13, 10992 },
    { "i|\217\227\365", 5, 5450 },
    { "\326A{\310T\243\304E\232\177*\301'3uP\000\356\233\372"
      "\223\274\250\016\367!\033\327n\354\270J\346\2508", 35, 10216 },
    { "8o\037y\357u\333\306+\246\212\376p\352\336\354=\031", 18, 12833 },
    { "\134\023\3073\000\324(\246\247\340\005oi\254\213", 15, 2441 },
    { "\013C\013\367\207[j\214y1T\225\332\032E\230}\230\254\336"
      "3;L\016\370\314{:\230\344\346\365\325", 33, 1531 },
    { "/\235\012\340\002\042\314f\367L\030$\035\031\275\303v", 17, 3430 },
    { "\204\006W\251i\360\037\362", 8, 15587 },
    { "\212\340]\240\021S\344\362DY\236\250\330\353\361\352IN"
      "\253\354\252\134Z\012\214", 25, 14367 },
    { "\2625\013\014+\206c`\202\014/\034\305\030\360\251\005e"
      "\270C\236\201~-\003wm\037|0", 30, 7191 },
    };

    bad = 0;

    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (ngx_http_cx_keyslot((u_char *) keys[i].key, keys[i].len)
            != keys[i].slot)
        {
            printf("# %u: slot %u, not %u\n", (unsigned) i,
                   (unsigned) ngx_http_cx_keyslot((u_char *) keys[i].key,
                                                  keys[i].len),
                   (unsigned) keys[i].slot);
            bad++;
        }
    }

    ok(bad == 0, "keyslot: CLUSTER KEYSLOT's answers for 219 keys");

    ok(ngx_http_cx_keyslot((u_char *) "cx:{0123456789abcdef}:s", 23)
       == ngx_http_cx_keyslot((u_char *) "cx:{0123456789abcdef}:seq", 25),
       "keyslot: a customer's keys share one slot");
}


int
main(void)
{
    test_hash();
    test_keys();
    test_resp();
    test_resp_lengths();
    test_digits();
    test_literals();
    test_chars();
    test_text();
    test_unescape();
    test_referer();
    test_expand();
    test_member();
    test_decay();
    test_state();
    test_offer();
    test_combine();
    test_caps();
    test_stuck();
    test_shortcut();
    test_rank();
    test_same_bytes();
    test_url_key();
    test_blend();
    test_revisit();
    test_reply();
    test_steps_long();
    test_pack();
    test_customer();
    test_same();
    test_customer_copy();
    test_keyslot();

    printf("1..%d\n", tests);

    return failures ? 1 : 0;
}
