#!/usr/bin/env bash
#
# Builds build/ngx_http_cx_module.so, out of tree, never writing under /usr.
#
#   scripts/build.sh                  against Debian's nginx-dev, loads into
#                                     Debian's /usr/sbin/nginx
#   NGINX_SRC=/path/nginx-1.x.y scripts/build.sh
#                                     against that source tree (copied into
#                                     build/), also builds build/nginx
#
# As root on a fresh Debian machine it first installs what it needs.

set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build

. "$ROOT/scripts/lib.sh"

cx_need_packages nginx-core nginx-dev libhiredis-dev libxxhash-dev \
    libpcre2-dev libssl-dev zlib1g-dev gcc make

mkdir -p "$BUILD"
rm -f "$BUILD/nginx"

if [ -n "${NGINX_SRC:-}" ]; then
    [ -x "$NGINX_SRC/configure" ] || cx_die "NGINX_SRC=$NGINX_SRC has no configure"
    SRC=$BUILD/nginx-src
    rm -rf "$SRC"
    cp -a "$NGINX_SRC" "$SRC"
    FLAGS=(--with-compat --with-debug --with-http_ssl_module
           --with-http_gunzip_module --with-threads)
else
    [ -r /usr/share/nginx/src/conf_flags ] || cx_die "nginx-dev is not installed"
    SRC=$BUILD/nginx-debian
    rm -rf "$SRC"
    cp -a /usr/share/nginx/src "$SRC"
    # shellcheck disable=SC1091
    . "$SRC/conf_flags"
    FLAGS=("${NGX_CONF_FLAGS[@]}")
fi

cd "$SRC"

./configure "${FLAGS[@]}" --add-dynamic-module="$ROOT" \
    --with-cc-opt="-Wall -Wextra -Werror -O2 -g" > "$BUILD/configure.log" 2>&1 \
    || { tail -20 "$BUILD/configure.log"; cx_die "configure failed"; }

if [ -n "${NGINX_SRC:-}" ]; then
    make -j"$(nproc)" > "$BUILD/make.log" 2>&1 \
        || { tail -40 "$BUILD/make.log"; cx_die "make failed"; }
    cp objs/nginx "$BUILD/nginx"
else
    make -j"$(nproc)" -f objs/Makefile modules > "$BUILD/make.log" 2>&1 \
        || { tail -40 "$BUILD/make.log"; cx_die "make modules failed"; }
fi

# Every frame of the module stays small: buffers sized by what a client or
# Redis sends come from pools, never from the stack.  Checked apart from
# nginx's own build, whose core has larger frames of its own.

INCS=(-I "$ROOT/include")
for d in src/core src/event src/event/modules src/os/unix objs src/http \
         src/http/modules src/http/v2; do
    INCS+=(-I "$SRC/$d")
done
for f in "$ROOT"/ngx_cx_module/*.c; do
    gcc -c -O2 -Wall -Wextra -Werror -Wno-unused-parameter \
        -Wframe-larger-than=2048 "${INCS[@]}" "$f" -o /dev/null \
        || cx_die "$(basename "$f"): a stack frame over 2048 bytes"
done

# rename, never overwrite in place: a running nginx may have it mapped
cp objs/ngx_http_cx_module.so "$BUILD/ngx_http_cx_module.so.new"
mv -f "$BUILD/ngx_http_cx_module.so.new" "$BUILD/ngx_http_cx_module.so"
echo "built $BUILD/ngx_http_cx_module.so"
