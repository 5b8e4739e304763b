#!/usr/bin/env bash
#
# Builds the module and runs every test: the C unit tests, then the
# Test::Nginx suite in t/ against a redis-server of its own on a free
# loopback port; then the same again with nginx and the module built with
# AddressSanitizer and UndefinedBehaviorSanitizer, where any sanitizer
# report is a failure; then each fuzz target of t/fuzz/ briefly.  Prints
# "N passed, N failed" last; exits non-zero on any failure.  As root on a
# fresh Debian machine it installs what it needs.
#
#   scripts/test.sh                 everything
#   scripts/test.sh t/020-serve.t   some Test::Nginx files only (plain)
#   CX_ASAN=1 scripts/test.sh [t/..]
#                                   the sanitized suite only
#   CX_QUICK=1 scripts/test.sh      the plain suite and smoke runs only
#   CX_VALGRIND=1 scripts/test.sh   the suite under valgrind memcheck
#   NGINX_SRC=/path/nginx-1.x.y scripts/test.sh
#                                   against an nginx built from that tree
#
#   CX_FUZZ_SECONDS=N               seconds per fuzz target (default 15)

set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

. scripts/lib.sh

FILES=("$@")
[ ${#FILES[@]} -gt 0 ] || FILES=(t/)

for f in "${FILES[@]}"; do
    if [ ! -e "$f" ]; then
        echo "scripts/test.sh: $f: no such test file" >&2
        exit 1
    fi
done

cx_need_packages redis-server redis-tools libtest-base-perl strace procps \
    libhttp-message-perl python3 wrk gnuplot-nox chromium \
    ${CX_VALGRIND:+valgrind}

FULL=
if [ ${#FILES[@]} -eq 1 ] && [ "${FILES[0]}" = t/ ] \
   && [ -z "${CX_VALGRIND:-}" ] && [ -z "${CX_ASAN:-}" ]; then
    FULL=1
fi

# the plain suite always, but for CX_ASAN alone; the sanitized one with
# CX_ASAN, or after the plain one in a full run

PLAIN=1
SANITIZED=
if [ -n "${CX_ASAN:-}" ]; then
    PLAIN=
    SANITIZED=1
elif [ -n "$FULL" ] && [ -z "${CX_QUICK:-}" ]; then
    SANITIZED=1
fi

[ -z "$PLAIN" ] || bash scripts/build.sh
[ -z "$SANITIZED" ] || bash scripts/build-asan.sh

passed=0
failed=0

# C unit tests, against the headers of the nginx tree just configured

unit() {    # unit <nginx tree> <binary> <compiler and flags...>
    local ngx=$1 bin=$2 d incs=() out u_ok u_nok u_plan rc
    shift 2
    for d in src/core src/event src/event/modules src/os/unix objs src/http \
             src/http/modules src/http/v2; do
        incs+=(-I "$ngx/$d")
    done

    "$@" -Wall -Wextra -Werror -Wno-unused-parameter -g "${incs[@]}" \
        -I include t/unit/test_model.c ngx_cx_module/ngx_http_cx_model.c \
        ngx_cx_module/ngx_http_cx_reply.c ngx_cx_module/ngx_http_cx_pack.c \
        -lxxhash -lm -o "$bin"

    # its TAP in $bin.log; on the console what failed, and a count
    rc=0
    out=$("$bin") || rc=$?
    echo "$out" > "$bin.log"
    echo "$out" | grep -vE '^(ok |1\.\.[0-9]+$)' || true
    u_ok=$(echo "$out" | grep -c '^ok ' || true)
    u_nok=$(echo "$out" | grep -c '^not ok' || true)
    u_plan=$(echo "$out" | sed -n 's/^1\.\.\([0-9]*\)$/\1/p')
    if [ "$rc" -ne 0 ] && [ "$u_nok" -eq 0 ]; then
        echo "unit: $bin exited with $rc"
        u_nok=1
    elif [ "${u_plan:-none}" != $((u_ok + u_nok)) ]; then
        echo "unit: $bin planned ${u_plan:-no} tests, ran $((u_ok + u_nok))"
        u_nok=$((u_nok + 1))
    fi
    echo "unit: $u_ok passed, $u_nok failed"
    passed=$((passed + u_ok))
    failed=$((failed + u_nok))
}

# the Test::Nginx suite, its log in $1

suite() {   # suite <log>
    local log=$1 rc total nok

    set +e
    # what nginx says at start-up (the must_die blocks provoke it on
    # purpose) goes to the log only
    prove "${INC[@]}" -r "${FILES[@]}" 2>&1 | tee "$log" \
        | grep --line-buffered -vE '^nginx: (\[(emerg|warn)\] |configuration file )'
    rc=${PIPESTATUS[0]}
    set -e

    total=$(sed -n 's/^Files=[0-9]*, Tests=\([0-9]*\),.*/\1/p' "$log")
    nok=$(sed -n 's/^Failed \([0-9]*\)\/[0-9]* subtests.*/\1/p' "$log" \
          | awk '{ s += $1 } END { print s + 0 }')
    total=${total:-0}

    if [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then
        # a file died or planned wrong without a failing subtest
        nok=1
    fi

    if [ -n "${CX_VALGRIND:-}" ] && grep -qE '^==[0-9]+== ' "$log"; then
        echo "valgrind reported errors (see $log)"
        nok=$((nok + 1))
    fi

    # a file that died counts its plan as failed, not its tests as run
    passed=$((passed + (total > nok ? total - nok : 0)))
    failed=$((failed + nok))
}

INC=()
if ! perl -MTest::Nginx::Socket -e1 2>/dev/null; then
    INC=(-I t/lib)
fi

REDIS_DIR=$(mktemp -d /tmp/cx-test-redis.XXXXXX)
REDIS_PORT=$(cx_free_port)
REDIS_PID=$(cx_start_redis "$REDIS_PORT" "$REDIS_DIR")

cleanup() {
    local i

    # redis-server writes its log as it goes: gone before its directory
    if kill "$REDIS_PID" 2>/dev/null; then
        for i in $(seq 1 100); do
            kill -0 "$REDIS_PID" 2>/dev/null || break
            sleep 0.05
        done
    fi
    rm -rf "$REDIS_DIR" || true
}
trap cleanup EXIT

export TEST_NGINX_REDIS_PORT=$REDIS_PORT
export TEST_NGINX_SERVER_PORT=${TEST_NGINX_SERVER_PORT:-$(cx_free_port)}

if [ -n "$PLAIN" ]; then

    if [ -n "${NGINX_SRC:-}" ]; then
        unit build/nginx-src build/test_model gcc
    else
        unit build/nginx-debian build/test_model gcc
    fi

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

    suite build/prove.log
fi

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

if [ -n "$FULL" ]; then
    export CX_NO_BUILD=1
    if [ -d ../shared/data/yoochoose-100k ]; then
        CX_REPLAY_LIMIT=3000 smoke replay \
            '^replay: HR@1=0\.[0-9]{4} .* n=[1-9][0-9]* markov_hr20=0\.[0-9]{4} markov_mrr20=0\.[0-9]{4}$' \
            scripts/replay
    else
        echo "smoke replay: skipped, no ../shared/data/yoochoose-100k"
    fi
    smoke simulate '^simulate: new=[0-9.]+ returning=[0-9.]+ ' \
        scripts/simulate --smoke
    smoke bench \
        '^bench: bare=[0-9]+ .* round_trips_per_req=(0\.[0-9]{2}|1\.00) zero_rtt_share=[0-9.]+$' \
        scripts/bench --smoke
    smoke faults \
        '^faults: scenarios=7 failed_requests=0 max_recover_ms=[0-9]+ crashes=0$' \
        scripts/faults --smoke
    smoke memory '^memory: customers=[0-9]+ .* cookieless_keys=0$' \
        scripts/memory --smoke
    CX_COST_REQUESTS=300 CX_COST_RATE=50 smoke cost \
        '^cost: bare=[1-9][0-9]* on=[1-9][0-9]* on_over_bare=[1-9][0-9]*$' \
        scripts/cost
fi

# the sanitized suite: the unit tests and t/ again, with nginx and the
# module built by scripts/build-asan.sh; every report goes to a file of
# build/asan/reports/, and each file is a failure

if [ -n "$SANITIZED" ]; then
    REPORTS=$ROOT/build/asan/reports
    rm -rf "$REPORTS"
    mkdir -p "$REPORTS"

    # the workers run as another user (nobody): their reports too
    chmod 1777 "$REPORTS"

    # detect_leaks=0: nginx leaves what its pools and cycles hold to exit();
    # detect_odr_violation=0: a dynamic module defines ngx_modules[] as
    # nginx does, by design (scripts/build-asan.sh registers each at its
    # own address)
    export ASAN_OPTIONS="log_path=$REPORTS/asan:detect_leaks=0\
:detect_odr_violation=0\
:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1"
    export UBSAN_OPTIONS="log_path=$REPORTS/ubsan:print_stacktrace=1"

    echo "sanitized: unit tests and Test::Nginx, ASan + UBSan"

    # the suite again from an empty Redis, as the plain run found it: a
    # file may expect no keys of its prefix yet (t/090's MISS)
    redis-cli -p "$REDIS_PORT" flushall >/dev/null

    unit "$(ls -d build/asan/nginx-*/ | head -1)" build/asan/test_model \
        clang -fsanitize=address,undefined -fno-sanitize-recover=undefined \
        -fno-omit-frame-pointer -O1

    export TEST_NGINX_LOAD_MODULES=$ROOT/build/asan/ngx_http_cx_module.so
    export TEST_NGINX_BINARY=$ROOT/scripts/nginx-test
    export CX_NGINX=$ROOT/build/asan/nginx
    export TEST_NGINX_TIMEOUT=${TEST_NGINX_TIMEOUT:-10}
    unset TEST_NGINX_USE_VALGRIND

    suite build/asan/prove.log

    reports=$(find "$REPORTS" -type f | wc -l)
    if grep -qE 'ERROR: AddressSanitizer|runtime error:' \
            build/asan/prove.log; then
        reports=$((reports + 1))
    fi

    if [ "$reports" -gt 0 ]; then
        echo "sanitized: $reports sanitizer report(s), in $REPORTS:"
        for f in $(find "$REPORTS" -type f | head -5); do
            echo "--- $f"
            grep -E 'ERROR|SUMMARY|runtime error|^ +#[0-9]+ ' "$f" | head -20
        done
        failed=$((failed + reports))
    else
        echo "sanitized: no sanitizer reports"
    fi

    unset ASAN_OPTIONS UBSAN_OPTIONS CX_NGINX
fi

# each fuzz target for a few seconds: a crash or a sanitizer report fails

if [ -n "$FULL" ] && [ -z "${CX_QUICK:-}" ]; then
    set +e
    last=$(scripts/fuzz "${CX_FUZZ_SECONDS:-15}" 2>&1 | tee build/fuzz.log \
           | tail -1)
    set -e
    targets=$(echo "$last" \
              | sed -n 's/^fuzz: targets=\([0-9]*\) .*crashes=\([0-9]*\)$/\1/p')
    crashes=$(echo "$last" \
              | sed -n 's/^fuzz: targets=\([0-9]*\) .*crashes=\([0-9]*\)$/\2/p')
    if [ -n "$targets" ] && [ "$targets" -gt 0 ]; then
        echo "$last"
        passed=$((passed + targets - crashes))
        failed=$((failed + crashes))
    else
        echo "fuzz: FAILED, see build/fuzz.log"
        failed=$((failed + 1))
    fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
