#!/usr/bin/env bash
#
# Builds the module, starts a redis-server and an nginx with a small demo
# shop on 127.0.0.1:8080 (CX_DEMO_PORT=N for another port), lets a few shoppers teach it their journeys, then
# walks a returning customer through the shop and prints what the module
# suggests at each step; ends with the dashboard's URL and a screenshot of
# it (build/dashboard.png, with chromium).  Stops both at the end; --keep
# leaves them running.

set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

. scripts/lib.sh

KEEP=${1:-}
PORT=${CX_DEMO_PORT:-8080}

cx_need_packages redis-server redis-tools curl

if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    cx_die "127.0.0.1:$PORT is in use; choose another port: CX_DEMO_PORT=8081 $0"
fi

bash scripts/build.sh

DEMO=$ROOT/build/demo
rm -rf "$DEMO"
mkdir -p "$DEMO/conf" "$DEMO/logs" "$DEMO/html/item"

for page in index search category cart shipping payment confirm help; do
    printf '<html><body><h1>%s</h1></body></html>\n' "$page" \
        > "$DEMO/html/$page.html"
done
for id in 1 2 3 4; do
    printf '<html><body><h1>item %s</h1></body></html>\n' "$id" \
        > "$DEMO/html/item/$id.html"
done

REDIS_PORT=$(cx_free_port)
REDIS_PID=$(cx_start_redis "$REDIS_PORT" "$DEMO/redis")

cat > "$DEMO/conf/nginx.conf" <<_EOC_
load_module $ROOT/build/ngx_http_cx_module.so;

worker_processes 2;
error_log logs/error.log notice;
pid logs/nginx.pid;

events { worker_connections 256; }

http {
    access_log off;

    cx_redis 127.0.0.1:$REDIS_PORT;
    cx_secret demo-secret-change-me;
    cx_timeout 10ms;

    server {
        listen 127.0.0.1:$PORT;
        root html;

        cx on;
        cx_cookie cx_id;
        cx_header on;

        # the demo runs its customers in shop time, 20 s between steps;
        # never take the time from a client on a live site
        cx_time \$http_x_demo_time;

        add_header X-CX-Level    \$cx_level;
        add_header X-CX-Pace     \$cx_pace;
        add_header X-CX-Shortcut \$cx_shortcut;

        cx_step home      /;
        cx_step search    /search;
        cx_step category  /category;
        cx_step item:\$1   ~^/item/(\\d+)$;
        cx_step cart      /cart;
        cx_step shipping  /shipping;
        cx_step payment   /payment;
        cx_step confirm   /confirm;
        cx_step help      /help;
        cx_goal     confirm;
        cx_help     help;
        cx_shortcut payment;

        location / {
            try_files \$uri \$uri.html \$uri/index.html =404;
        }

        location = /cx/next {
            cx_api;
        }

        location = /cx-metrics {
            cx_metrics;
        }
    }
}
_EOC_

stop() {
    if [ "$KEEP" != "--keep" ]; then
        [ -f "$DEMO/logs/nginx.pid" ] && kill "$(cat "$DEMO/logs/nginx.pid")" 2>/dev/null
        kill "$REDIS_PID" 2>/dev/null || true
    fi
}
trap stop EXIT

# the nginx the module was built for: NGINX_SRC builds leave build/nginx
NGINX=/usr/sbin/nginx
[ -x build/nginx ] && NGINX=$ROOT/build/nginx

"$NGINX" -e logs/error.log -p "$DEMO/" -c conf/nginx.conf
for i in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/help" && break
    sleep 0.05
done

NOW=1767225600000   # shop time, ms

header() {  # header <name> <response headers>
    echo "$2" | sed -n "s/^$1: \(.*\)\r\$/\1/p"
}

visit() {   # visit <customer> <uri>: prints what the module answered
    local h
    NOW=$((NOW + 20000))
    h=$(curl -s -D - -o /dev/null -H "Cookie: cx_id=$1" \
             -H "X-Demo-Time: $NOW" "http://127.0.0.1:$PORT$2")
    printf '  %-10s %-9s %-9s %-7s %-9s %s\n' "$2" \
        "$(header X-CX-Level "$h")" "$(header X-CX-Pace "$h")" \
        "$(header X-CX-Status "$h")" "$(header X-CX-Shortcut "$h")" \
        "$(header X-CX-Next "$h")"
}

next_day() {
    NOW=$((NOW + 86400000))
}

echo
echo "Shoppers teach the shop their journeys (quietly):"
for c in ann ben cid dot eve fay; do
    for uri in / /search /item/2 /cart /shipping /payment /confirm; do
        visit "$c" "$uri" > /dev/null
    done
done
for c in gus hal; do
    for uri in / /category /item/3 /item/2 /cart /shipping /payment /confirm
    do
        visit "$c" "$uri" > /dev/null
    done
done
echo "  8 journeys to the purchase, 58 steps"
for day in 1 2; do
    next_day
    for uri in / /search /item/1 /item/2 /cart /shipping /payment /confirm
    do
        visit zoe "$uri" > /dev/null
    done
done
echo "  zoe has bought twice, always by way of item 1 and item 2"

next_day
echo
echo "zoe comes back the next day; what the module answers at each step:"
printf '  %-10s %-9s %-9s %-7s %-9s %s\n' step level pace status \
    shortcut "suggested next (X-CX-Next)"
for uri in / /search /item/1 /item/2 /payment /confirm; do
    visit zoe "$uri"
done

next_day
echo
echo "a newcomer at the same steps gets everyone's guidance, no shortcut:"
for uri in / /search /item/2; do
    visit newbie "$uri"
done

echo
echo "the JSON endpoint, as a single-page app would ask for zoe at item 2:"
echo "  $(curl -s -H 'Cookie: cx_id=zoe' \
               "http://127.0.0.1:$PORT/cx/next?uri=/item/2")"

echo
echo "What Redis holds for the shop (keys are hashed, every key has a TTL):"
redis-cli -p "$REDIS_PORT" --scan --pattern 'cx:*' | sort | head -12 \
    | sed 's/^/  /'
key=$(redis-cli -p "$REDIS_PORT" --scan --pattern 'cx:t:{cart}:*' | head -1)
echo "  TTL of $key: $(redis-cli -p "$REDIS_PORT" TTL "$key")s"

echo
echo "The dashboard: http://127.0.0.1:$PORT/cx-metrics?format=html" \
     "$([ "$KEEP" = "--keep" ] || echo '(run with --keep to open it)')"
if command -v chromium >/dev/null; then
    rm -f build/dashboard.png
    chromium --headless --no-sandbox --disable-gpu \
        --user-data-dir="$DEMO/chromium" --virtual-time-budget=5000 \
        --window-size=1280,1600 --screenshot="$ROOT/build/dashboard.png" \
        "http://127.0.0.1:$PORT/cx-metrics?format=html" >/dev/null 2>&1 \
        && echo "  as it looked: build/dashboard.png"
else
    echo "  (with chromium installed, a screenshot in build/dashboard.png)"
fi

if [ "$KEEP" = "--keep" ]; then
    echo
    echo "Still running: http://127.0.0.1:$PORT/ (redis on port $REDIS_PORT)."
    echo "Try: curl -si -H 'Cookie: cx_id=zoe' http://127.0.0.1:$PORT/cart"
fi
