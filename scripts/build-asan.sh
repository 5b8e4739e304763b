#!/usr/bin/env bash
#
# Builds nginx and the module with AddressSanitizer and
# UndefinedBehaviorSanitizer (clang), out of tree, into build/asan/:
#
#   build/asan/nginx                    nginx, sanitized
#   build/asan/ngx_http_cx_module.so    the module, sanitized
#   build/asan/nginx-X.Y.Z/objs/        the objects scripts/fuzz links
#
# nginx-dev holds headers only, so the source is the upstream tarball of
# the installed nginx-dev version, fetched with "apt-get source" (a deb-src
# entry mirroring the deb ones is added if apt has none), configured with
# Debian's flags.  A second run only runs make: the module's objects are
# rebuilt, nginx's are kept.
#
#   NGINX_SRC=/path/nginx-1.x.y scripts/build-asan.sh
#                                       that tree instead of the tarball
#
# As root on a fresh Debian machine it first installs what it needs.

set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/build/asan

. "$ROOT/scripts/lib.sh"

cx_need_packages nginx-dev libhiredis-dev libxxhash-dev libpcre2-dev \
    libssl-dev zlib1g-dev make clang libclang-rt-14-dev dpkg-dev

[ -r /usr/share/nginx/src/conf_flags ] || cx_die "nginx-dev is not installed"

mkdir -p "$OUT"

# the source tree: NGINX_SRC, or the upstream tarball of nginx-dev's version

if [ -n "${NGINX_SRC:-}" ]; then
    [ -x "$NGINX_SRC/configure" ] \
        || cx_die "NGINX_SRC=$NGINX_SRC has no configure"
    VERSION=$(sed -n 's/^#define NGINX_VERSION *"\(.*\)"/\1/p' \
              "$NGINX_SRC/src/core/nginx.h")
    SRC=$OUT/nginx-$VERSION
    if [ ! -d "$SRC" ]; then
        cp -a "$NGINX_SRC" "$SRC.new"
        mv "$SRC.new" "$SRC"
    fi

else
    VERSION=$(dpkg-query -W -f='${Version}' nginx-dev)
    VERSION=${VERSION%%-*}
    SRC=$OUT/nginx-$VERSION
    TARBALL=$OUT/dl/nginx_$VERSION.orig.tar.gz

    if [ ! -d "$SRC" ]; then
        if [ ! -s "$TARBALL" ]; then
            if [ -z "$(apt-cache showsrc nginx 2>/dev/null)" ]; then
                [ "$(id -u)" = 0 ] \
                    || cx_die "no deb-src entry for nginx; run as root once"
                echo "adding deb-src entries (for apt-get source nginx)"
                if [ -r /etc/apt/sources.list.d/debian.sources ]; then
                    sed 's/^Types: deb$/Types: deb-src/' \
                        /etc/apt/sources.list.d/debian.sources \
                        > /etc/apt/sources.list.d/ngx-cx-deb-src.sources
                fi
                if [ -r /etc/apt/sources.list ]; then
                    sed -n 's/^deb /deb-src /p' /etc/apt/sources.list \
                        > /etc/apt/sources.list.d/ngx-cx-deb-src.list
                fi
                apt-get update -qq
            fi
            mkdir -p "$OUT/dl"
            # only the upstream tarball is used: Debian's own patches to
            # nginx core do not matter here, and a security update's
            # debian.tar may be missing from the mirror
            (cd "$OUT/dl" && apt-get source -qq --download-only \
                "nginx=$(dpkg-query -W -f='${Version}' nginx-dev)" \
                >/dev/null 2>&1 || true)
            (cd "$OUT/dl" && [ -s "$TARBALL" ] \
                || apt-get source -qq --download-only nginx \
                >/dev/null 2>&1 || true)
            [ -s "$TARBALL" ] \
                || cx_die "apt-get source nginx gave no" \
                          "nginx_$VERSION.orig.tar.gz"
        fi
        rm -rf "$SRC.new"
        mkdir -p "$SRC.new"
        tar xzf "$TARBALL" -C "$SRC.new" --strip-components=1
        mv "$SRC.new" "$SRC"
    fi
fi

# shellcheck disable=SC1091
. /usr/share/nginx/src/conf_flags

# The module: ASan and all of UBSan, every report fatal.  nginx core: the
# same but two checks its code trips by design: "nonnull-attribute", its
# memcpy(p, NULL, 0) of empty strings (ngx_pstrdup, ngx_vslprintf,
# ngx_http_script), and "alignment", the unaligned 4-byte compares of its
# request parser on x86 (NGX_HAVE_NONALIGNED, ngx_str3_cmp and the like).
#
# NGX_DEBUG_PALLOC: every pool allocation is a malloc() of its own, so a
# write past a buffer from r->pool or cf->pool is caught, not hidden in
# the rest of the pool's block.  The ODR indicator: the module's own
# ngx_modules[] is registered at its own address, not at the interposed
# one of nginx's, which would be poisoned with the module's small size
# and trip the next cycle's ngx_cycle_modules() on a reload.

SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined
     -fsanitize-address-use-odr-indicator"
SAN=$(echo $SAN)
CORE_SAN="$SAN ${CX_CORE_UBSAN--fno-sanitize=nonnull-attribute,alignment}"
CC_OPT="$CORE_SAN -DNGX_DEBUG_PALLOC=1 -fno-omit-frame-pointer -g -O1"
LD_OPT="$SAN"

CONFIGURE=(./configure "${NGX_CONF_FLAGS[@]}" --with-cc=clang
           --add-dynamic-module="$ROOT"
           --with-cc-opt="$CC_OPT" --with-ld-opt="$LD_OPT")

cd "$SRC"

# configure once, and again when the flags or the addon file change (a
# new source): it rewrites objs/ngx_auto_config.h, so every object would
# be rebuilt each time

STAMP="${CONFIGURE[*]} $(cksum < "$ROOT/config")"

if [ ! -f objs/Makefile ] \
   || [ "$(cat objs/cx-configure 2>/dev/null)" != "$STAMP" ]; then
    "${CONFIGURE[@]}" > "$OUT/configure.log" 2>&1 \
        || { tail -20 "$OUT/configure.log"; cx_die "configure failed"; }
    # the module's objects get $(CX_CFLAGS) after nginx's CFLAGS
    sed -i -e '/^CFLAGS =/a CX_CFLAGS = '"$SAN" \
        -e '/^\t\$(CC) -c -fPIC \$(CFLAGS) \$(ALL_INCS) \\$/{
                N
                s|\$(CFLAGS)\(.*objs/addon/\)|$(CFLAGS) $(CX_CFLAGS)\1|
            }' objs/Makefile
    grep -q 'CFLAGS) $(CX_CFLAGS)' objs/Makefile \
        || cx_die "objs/Makefile: no module rule to add CX_CFLAGS to"
    echo "$STAMP" > objs/cx-configure
fi

make -j"$(nproc)" > "$OUT/make.log" 2>&1 \
    || { tail -40 "$OUT/make.log"; cx_die "make failed"; }

# rename, never overwrite in place: a running nginx may have it mapped
for f in nginx ngx_http_cx_module.so; do
    cp "objs/$f" "$OUT/$f.new"
    mv -f "$OUT/$f.new" "$OUT/$f"
done

echo "built $OUT/nginx $OUT/ngx_http_cx_module.so (ASan, UBSan)"
