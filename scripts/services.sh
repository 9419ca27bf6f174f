#!/usr/bin/env bash
# Throwaway PostgreSQL and Redis servers on loopback, for the `services` tests
# and the benchmarks. Installs nothing: needs Debian's postgresql and
# redis-server packages.
#
#   eval "$(scripts/services.sh start)"   # start (or reuse) both, export the URLs
#   scripts/services.sh env               # print the exports again
#   scripts/services.sh stop              # stop both and delete their data
#
# Environment: SERVICES_DIR (default /tmp/sessionmgr-services), PG_PORT (5433),
# REDIS_PORT (6380). Everything but the export lines goes to stderr.
set -euo pipefail

SERVICES_DIR="${SERVICES_DIR:-/tmp/sessionmgr-services}"
PG_PORT="${PG_PORT:-5433}"
REDIS_PORT="${REDIS_PORT:-6380}"
PG_DATA="$SERVICES_DIR/pgdata"
PG_DB="sessionmgr"
REDIS_DIR="$SERVICES_DIR/redis"

log() { printf 'services: %s\n' "$*" >&2; }

pg_bin() {
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    if [ -z "$dir" ]; then
        log "PostgreSQL is not installed (apt-get install postgresql)"
        exit 1
    fi
    printf '%s' "$dir"
}

# initdb and postgres refuse to run as root: run them as the postgres user then.
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        # From /, which postgres can read (the checkout may not be).
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

pg_running() {
    [ -f "$PG_DATA/PG_VERSION" ] && as_pg "$(pg_bin)/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1
}

start_postgres() {
    local bin
    bin="$(pg_bin)"
    if pg_running; then
        log "PostgreSQL already running on 127.0.0.1:$PG_PORT"
        return
    fi
    mkdir -p "$SERVICES_DIR"
    chmod 755 "$SERVICES_DIR"
    if [ ! -f "$PG_DATA/PG_VERSION" ]; then
        rm -rf "$PG_DATA"
        mkdir -p "$PG_DATA"
        [ "$(id -u)" -ne 0 ] || chown postgres: "$PG_DATA"
        as_pg "$bin/initdb" -D "$PG_DATA" -U postgres --auth=trust --encoding=UTF8 \
            --no-instructions >/dev/null
        # A throwaway cluster: durability buys nothing here, speed does.
        cat >>"$PG_DATA/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_DATA'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    fi
    as_pg "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w -t 60 start >/dev/null
    if ! as_pg "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'" | grep -q 1; then
        as_pg "$bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$PG_DB"
    fi
    log "PostgreSQL running on 127.0.0.1:$PG_PORT"
}

redis_running() {
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG
}

start_redis() {
    if ! command -v redis-server >/dev/null; then
        log "Redis is not installed (apt-get install redis-server)"
        exit 1
    fi
    if redis_running; then
        log "Redis already running on 127.0.0.1:$REDIS_PORT"
        return
    fi
    mkdir -p "$REDIS_DIR"
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
        --dir "$REDIS_DIR" --pidfile "$REDIS_DIR/redis.pid" \
        --logfile "$REDIS_DIR/redis.log" --daemonize yes
    for _ in $(seq 50); do
        redis_running && break
        sleep 0.1
    done
    redis_running || { log "Redis did not start; see $REDIS_DIR/redis.log"; exit 1; }
    log "Redis running on 127.0.0.1:$REDIS_PORT"
}

print_env() {
    printf 'export POSTGRES_URL=%s\n' "postgres://postgres@127.0.0.1:$PG_PORT/$PG_DB"
    printf 'export DATABASE_URL=%s\n' "postgres://postgres@127.0.0.1:$PG_PORT/$PG_DB"
    printf 'export REDIS_URL=%s\n' "redis://127.0.0.1:$REDIS_PORT/0"
}

stop_all() {
    if pg_running; then
        as_pg "$(pg_bin)/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null
        log "PostgreSQL stopped"
    fi
    if redis_running; then
        redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
        log "Redis stopped"
    fi
    rm -rf "$SERVICES_DIR"
}

case "${1:-start}" in
    start)
        start_postgres
        start_redis
        print_env
        ;;
    env) print_env ;;
    stop) stop_all ;;
    *)
        log "usage: $0 [start|env|stop]"
        exit 2
        ;;
esac
