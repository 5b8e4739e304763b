#!/usr/bin/env bash
#
# Builds the module, starts a redis-server and an nginx with a small demo
# shop on 127.0.0.1:8080, lets a few shoppers teach it their journeys, then
# walks a returning customer through the shop and prints what the module
# suggests at each step.  Stops both at the end; --keep leaves them running.

set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

. scripts/lib.sh

KEEP=${1:-}
PORT=${CX_DEMO_PORT:-8080}

cx_need_packages redis-server redis-tools curl

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

        cx_step home      /;
        cx_step search    /search;
        cx_step category  /category;
        cx_step item:\$1   ~^/item/(\\d+)$;
        cx_step cart      /cart;
        cx_step shipping  /shipping;
        cx_step payment   /payment;
        cx_step confirm   /confirm;
        cx_step help      /help;
        cx_goal confirm;

        location / {
            try_files \$uri \$uri.html \$uri/index.html =404;
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

/usr/sbin/nginx -e logs/error.log -p "$DEMO/" -c conf/nginx.conf
for i in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/help" && break
    sleep 0.05
done

visit() {   # visit <customer> <uri>: prints the step and the suggestions
    local h
    h=$(curl -s -D - -o /dev/null -H "Cookie: cx_id=$1" \
             "http://127.0.0.1:$PORT$2")
    printf '  %-10s %-12s %-8s %s\n' "$1" "$2" \
        "$(echo "$h" | sed -n 's/^X-CX-Status: \(.*\)\r$/\1/p')" \
        "$(echo "$h" | sed -n 's/^X-CX-Next: \(.*\)\r$/\1/p')"
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
for uri in / /search /item/1 /item/2 /cart /shipping /payment /confirm; do
    visit zoe "$uri" > /dev/null
done
echo "  9 journeys, 66 steps recorded; zoe has bought once"

echo
echo "zoe comes back; the module answers each step of her visit:"
printf '  %-10s %-12s %-8s %s\n' customer step status "suggested next (X-CX-Next)"
for uri in / /search /item/2 /cart /shipping /payment /confirm; do
    visit zoe "$uri"
done

echo
echo "What Redis holds for the shop (keys are hashed, every key has a TTL):"
redis-cli -p "$REDIS_PORT" --scan --pattern 'cx:*' | sort | head -12 \
    | sed 's/^/  /'
echo "  TTL of cx:t:cart: $(redis-cli -p "$REDIS_PORT" TTL cx:t:cart)s"

if [ "$KEEP" = "--keep" ]; then
    echo
    echo "Still running: http://127.0.0.1:$PORT/ (redis on port $REDIS_PORT)."
    echo "Try: curl -si -H 'Cookie: cx_id=zoe' http://127.0.0.1:$PORT/cart"
fi
