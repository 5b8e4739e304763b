#!/usr/bin/env bash
#
# Builds the module and runs every test: the C unit tests, then the
# Test::Nginx suite in t/ against a redis-server of its own on a free
# loopback port.  Prints "N passed, N failed" last; exits non-zero on any
# failure.  As root on a fresh Debian machine it installs what it needs.
#
#   scripts/test.sh                 everything
#   scripts/test.sh t/020-serve.t   some Test::Nginx files only
#   CX_VALGRIND=1 scripts/test.sh   the suite under valgrind memcheck
#   NGINX_SRC=/path/nginx-1.x.y scripts/test.sh
#                                   against an nginx built from that tree

set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

. scripts/lib.sh

cx_need_packages redis-server redis-tools libtest-base-perl strace \
    libhttp-message-perl python3 wrk gnuplot-nox ${CX_VALGRIND:+valgrind}

bash scripts/build.sh

passed=0
failed=0

# C unit tests, against the headers of the nginx tree just configured

if [ -n "${NGINX_SRC:-}" ]; then
    NGX=build/nginx-src
else
    NGX=build/nginx-debian
fi
INCS=""
for d in src/core src/event src/event/modules src/os/unix objs src/http \
         src/http/modules src/http/v2; do
    INCS="$INCS -I $NGX/$d"
done

gcc -Wall -Wextra -Werror -Wno-unused-parameter -g $INCS -I include \
    t/unit/test_model.c ngx_cx_module/ngx_http_cx_model.c \
    ngx_cx_module/ngx_http_cx_reply.c -lxxhash -lm \
    -o build/test_model

out=$(./build/test_model) || true
echo "$out" | grep -v '^ok' || true
u_ok=$(echo "$out" | grep -c '^ok' || true)
u_nok=$(echo "$out" | grep -c '^not ok' || true)
echo "unit: $u_ok passed, $u_nok failed"
passed=$((passed + u_ok))
failed=$((failed + u_nok))

# the Test::Nginx suite

REDIS_DIR=$(mktemp -d /tmp/cx-test-redis.XXXXXX)
REDIS_PORT=$(cx_free_port)
REDIS_PID=$(cx_start_redis "$REDIS_PORT" "$REDIS_DIR")

cleanup() {
    kill "$REDIS_PID" 2>/dev/null || true
    rm -rf "$REDIS_DIR"
}
trap cleanup EXIT

export TEST_NGINX_REDIS_PORT=$REDIS_PORT
export TEST_NGINX_SERVER_PORT=${TEST_NGINX_SERVER_PORT:-$(cx_free_port)}
export TEST_NGINX_LOAD_MODULES=$ROOT/build/ngx_http_cx_module.so

if [ -x build/nginx ]; then
    export TEST_NGINX_BINARY=$ROOT/build/nginx
else
    export TEST_NGINX_BINARY=$ROOT/scripts/nginx-test
fi

if [ -n "${CX_VALGRIND:-}" ]; then
    # through scripts/nginx-test, valgrind has to follow the exec
    export TEST_NGINX_USE_VALGRIND="--tool=memcheck --leak-check=full \
--show-possibly-lost=no --trace-children=yes --num-callers=50 \
--suppressions=$ROOT/valgrind.suppress"
    export TEST_NGINX_TIMEOUT=${TEST_NGINX_TIMEOUT:-30}
fi

INC=()
if ! perl -MTest::Nginx::Socket -e1 2>/dev/null; then
    INC=(-I t/lib)
fi

FILES=("$@")
[ ${#FILES[@]} -gt 0 ] || FILES=(t/)

set +e
prove "${INC[@]}" -r "${FILES[@]}" 2>&1 | tee build/prove.log
rc=${PIPESTATUS[0]}
set -e

total=$(sed -n 's/^Files=[0-9]*, Tests=\([0-9]*\),.*/\1/p' build/prove.log)
nok=$(sed -n 's/^Failed \([0-9]*\)\/[0-9]* subtests.*/\1/p' build/prove.log \
      | awk '{ s += $1 } END { print s + 0 }')
total=${total:-0}

if [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then
    # a file died or planned wrong without a failing subtest
    nok=1
fi

if [ -n "${CX_VALGRIND:-}" ] && grep -qE '^==[0-9]+== ' build/prove.log; then
    echo "valgrind reported errors (see build/prove.log)"
    nok=$((nok + 1))
fi

passed=$((passed + total - ${nok}))
failed=$((failed + nok))

# smoke runs of the measuring tools, so that they cannot rot: each must
# finish and print its machine-readable last line

smoke() {   # smoke <name> <pattern> <command...>
    local name=$1 pattern=$2 last
    shift 2
    if last=$("$@" 2>&1 | tee "build/smoke-$name.log" | tail -1) \
       && echo "$last" | grep -qE "$pattern"; then
        echo "smoke $name: ok ($last)"
        passed=$((passed + 1))
    else
        echo "smoke $name: FAILED, see build/smoke-$name.log"
        failed=$((failed + 1))
    fi
}

if [ ${#FILES[@]} -eq 1 ] && [ "${FILES[0]}" = t/ ] \
   && [ -z "${CX_VALGRIND:-}" ]; then
    export CX_NO_BUILD=1
    if [ -d ../shared/data/yoochoose-100k ]; then
        CX_REPLAY_LIMIT=3000 smoke replay \
            '^replay: HR@1=0\.[0-9]{4} .* n=[1-9][0-9]*$' scripts/replay
    else
        echo "smoke replay: skipped, no ../shared/data/yoochoose-100k"
    fi
    smoke simulate '^simulate: new=[0-9.]+ returning=[0-9.]+ ' \
        scripts/simulate --smoke
    smoke bench '^bench: bare=[0-9]+ .* round_trips_per_req=1\.00$' \
        scripts/bench --smoke
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
