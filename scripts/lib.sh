# Shared shell helpers for scripts/*.sh; sourced, not run.

cx_die() {
    echo "error: $*" >&2
    exit 1
}

# installs the Debian packages that are missing (as root), or says which
cx_need_packages() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
            || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" != 0 ]; then
        cx_die "missing packages: ${missing[*]} (run as root, or apt-get install them)"
    fi
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# a free TCP port on 127.0.0.1
cx_free_port() {
    perl -MIO::Socket::INET -e \
        'my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1",
             LocalPort => 0) or die; print $s->sockport, "\n"'
}

# starts redis-server on 127.0.0.1:$1 with its files under $2; prints the pid
cx_start_redis() {
    local port=$1 dir=$2 i
    mkdir -p "$dir"
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$dir" --daemonize yes --pidfile "$dir/redis.pid" \
        --logfile "$dir/redis.log" >/dev/null
    for i in $(seq 1 100); do
        redis-cli -p "$port" ping >/dev/null 2>&1 && break
        sleep 0.05
    done
    redis-cli -p "$port" ping >/dev/null 2>&1 || cx_die "redis-server did not start"
    cat "$dir/redis.pid"
}
