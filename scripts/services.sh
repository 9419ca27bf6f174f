#!/usr/bin/env bash
# Throwaway PostgreSQL, Redis and MariaDB servers on loopback, for the
# `services` tests, the MariaDB pass of CI and the benchmarks, with a hot
# standby of the PostgreSQL server and a replica of the Redis server (the
# tests of reads routed to a replica, tests/servers/test_replicas.py). Installs
# nothing: needs Debian's postgresql and redis-server packages, and
# mariadb-server for MariaDB (started only when installed, or when asked for).
#
#   eval "$(scripts/services.sh start)"   # start (or reuse) them, export the URLs
#   scripts/services.sh start mariadb     # just one: postgres, redis or mariadb
#                                         # (postgres and redis bring their replica)
#   scripts/services.sh env               # print the exports again
#   scripts/services.sh stop              # stop them all and delete their data
#
# Environment: SERVICES_DIR (default /tmp/sessionmgr-services), PG_PORT (5433),
# PG_REPLICA_PORT (5434), REDIS_PORT (6380), REDIS_REPLICA_PORT (6381),
# MARIADB_PORT (3307), PG_DB (sessionmgr). Everything but the export lines goes
# to stderr.
set -euo pipefail

SERVICES_DIR="${SERVICES_DIR:-/tmp/sessionmgr-services}"
PG_PORT="${PG_PORT:-5433}"
REDIS_PORT="${REDIS_PORT:-6380}"
PG_DATA="$SERVICES_DIR/pgdata"
PG_REPLICA_PORT="${PG_REPLICA_PORT:-5434}"
PG_REPLICA_DATA="$SERVICES_DIR/pgreplica"
PG_DB="${PG_DB:-sessionmgr}"
REDIS_DIR="$SERVICES_DIR/redis"
REDIS_REPLICA_PORT="${REDIS_REPLICA_PORT:-6381}"
REDIS_REPLICA_DIR="$SERVICES_DIR/redis-replica"
MARIADB_PORT="${MARIADB_PORT:-3307}"
MARIADB_DIR="$SERVICES_DIR/mariadb"
MARIADB_SOCKET="$MARIADB_DIR/mysqld.sock"
# The account the tests use; it creates and drops the test databases.
MARIADB_USER="sessionmgr"
MARIADB_PASSWORD="sessionmgr"

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

pg_replica_running() {
    [ -f "$PG_REPLICA_DATA/PG_VERSION" ] \
        && as_pg "$(pg_bin)/pg_ctl" -D "$PG_REPLICA_DATA" status >/dev/null 2>&1
}

# A hot standby of the server above, by streaming replication: what a project
# that routes reads to a replica reads from. The primary's defaults allow it
# (wal_level replica, max_wal_senders 10; initdb --auth=trust lets local
# replication connections in).
start_pg_replica() {
    local bin
    bin="$(pg_bin)"
    if pg_replica_running; then
        # A test run that was killed may have left replay paused.
        as_pg "$bin/psql" -h 127.0.0.1 -p "$PG_REPLICA_PORT" -U postgres -qtAc \
            "SELECT pg_wal_replay_resume()" postgres >/dev/null 2>&1 || true
        log "PostgreSQL standby already running on 127.0.0.1:$PG_REPLICA_PORT"
        return
    fi
    if [ ! -f "$PG_REPLICA_DATA/standby.signal" ]; then
        rm -rf "$PG_REPLICA_DATA"
        mkdir -p "$PG_REPLICA_DATA"
        chmod 700 "$PG_REPLICA_DATA"
        [ "$(id -u)" -ne 0 ] || chown postgres: "$PG_REPLICA_DATA"
        # -R writes primary_conninfo and standby.signal; -X stream copies the
        # WAL written meanwhile.
        as_pg "$bin/pg_basebackup" -h 127.0.0.1 -p "$PG_PORT" -U postgres \
            -D "$PG_REPLICA_DATA" -R -X stream -c fast 2>&1 >/dev/null \
            | { grep -v "skipping special file" || true; } >&2
        # The copied postgresql.conf is the primary's: later lines win.
        cat >>"$PG_REPLICA_DATA/postgresql.conf" <<EOF
port = $PG_REPLICA_PORT
unix_socket_directories = '$PG_REPLICA_DATA'
hot_standby = on
EOF
    fi
    as_pg "$bin/pg_ctl" -D "$PG_REPLICA_DATA" -l "$PG_REPLICA_DATA/server.log" -w -t 60 \
        start >/dev/null
    log "PostgreSQL standby running on 127.0.0.1:$PG_REPLICA_PORT"
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

redis_replica_running() {
    redis-cli -h 127.0.0.1 -p "$REDIS_REPLICA_PORT" ping 2>/dev/null | grep -q PONG
}

# A replica of the Redis server above (what a RedisCache with several
# LOCATION entries reads from).
start_redis_replica() {
    if redis_replica_running; then
        # A test run that was killed may have left it cut off (REPLICAOF NO ONE).
        redis-cli -h 127.0.0.1 -p "$REDIS_REPLICA_PORT" replicaof 127.0.0.1 "$REDIS_PORT" \
            >/dev/null
        log "Redis replica already running on 127.0.0.1:$REDIS_REPLICA_PORT"
        return
    fi
    mkdir -p "$REDIS_REPLICA_DIR"
    redis-server --bind 127.0.0.1 --port "$REDIS_REPLICA_PORT" --save '' --appendonly no \
        --replicaof 127.0.0.1 "$REDIS_PORT" --dir "$REDIS_REPLICA_DIR" \
        --pidfile "$REDIS_REPLICA_DIR/redis.pid" --logfile "$REDIS_REPLICA_DIR/redis.log" \
        --daemonize yes
    for _ in $(seq 50); do
        redis_replica_running && break
        sleep 0.1
    done
    redis_replica_running || {
        log "The Redis replica did not start; see $REDIS_REPLICA_DIR/redis.log"
        exit 1
    }
    log "Redis replica running on 127.0.0.1:$REDIS_REPLICA_PORT"
}

mariadb_installed() {
    command -v mariadbd >/dev/null 2>&1 && command -v mariadb-install-db >/dev/null 2>&1
}

mariadb_running() {
    [ -S "$MARIADB_SOCKET" ] && mariadb-admin --socket="$MARIADB_SOCKET" -u root ping >/dev/null 2>&1
}

start_mariadb() {
    if ! mariadb_installed; then
        log "MariaDB is not installed (apt-get install mariadb-server)"
        exit 1
    fi
    if mariadb_running; then
        log "MariaDB already running on 127.0.0.1:$MARIADB_PORT"
        return
    fi
    local data="$MARIADB_DIR/data" run_as=()
    # mariadbd refuses to run as root; the socket lets root in without a password.
    [ "$(id -u)" -ne 0 ] || run_as=(--user=mysql)
    mkdir -p "$SERVICES_DIR"
    chmod 755 "$SERVICES_DIR"
    if [ ! -d "$data/mysql" ]; then
        rm -rf "$MARIADB_DIR"
        mkdir -p "$data"
        [ "$(id -u)" -ne 0 ] || chown -R mysql: "$MARIADB_DIR"
        mariadb-install-db --no-defaults "${run_as[@]}" --datadir="$data" \
            --auth-root-authentication-method=socket --skip-test-db >/dev/null
    fi
    # A throwaway server: durability buys nothing here, speed does.
    mariadbd --no-defaults "${run_as[@]}" --datadir="$data" --socket="$MARIADB_SOCKET" \
        --pid-file="$MARIADB_DIR/mariadb.pid" --log-error="$MARIADB_DIR/server.log" \
        --bind-address=127.0.0.1 --port="$MARIADB_PORT" --skip-name-resolve \
        --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
        --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 --skip-log-bin \
        --innodb-buffer-pool-size=128M --max-connections=200 >/dev/null 2>&1 &
    for _ in $(seq 100); do
        mariadb_running && break
        sleep 0.2
    done
    mariadb_running || { log "MariaDB did not start; see $MARIADB_DIR/server.log"; exit 1; }
    mariadb --socket="$MARIADB_SOCKET" -u root -e "
        CREATE USER IF NOT EXISTS '$MARIADB_USER'@'127.0.0.1' IDENTIFIED BY '$MARIADB_PASSWORD';
        GRANT ALL PRIVILEGES ON *.* TO '$MARIADB_USER'@'127.0.0.1';
        CREATE DATABASE IF NOT EXISTS sessionmgr CHARACTER SET utf8mb4;"
    log "MariaDB running on 127.0.0.1:$MARIADB_PORT"
}

print_env() {
    printf 'export POSTGRES_URL=%s\n' "postgres://postgres@127.0.0.1:$PG_PORT/$PG_DB"
    printf 'export DATABASE_URL=%s\n' "postgres://postgres@127.0.0.1:$PG_PORT/$PG_DB"
    printf 'export REDIS_URL=%s\n' "redis://127.0.0.1:$REDIS_PORT/0"
    if pg_replica_running; then
        printf 'export POSTGRES_REPLICA_URL=%s\n' \
            "postgres://postgres@127.0.0.1:$PG_REPLICA_PORT/$PG_DB"
    fi
    if redis_replica_running; then
        printf 'export REDIS_REPLICA_URL=%s\n' "redis://127.0.0.1:$REDIS_REPLICA_PORT/0"
    fi
    if mariadb_running; then
        printf 'export MARIADB_URL=%s\n' \
            "mysql://$MARIADB_USER:$MARIADB_PASSWORD@127.0.0.1:$MARIADB_PORT/sessionmgr"
    fi
}

stop_all() {
    if pg_replica_running; then
        as_pg "$(pg_bin)/pg_ctl" -D "$PG_REPLICA_DATA" -m fast -w stop >/dev/null
        log "PostgreSQL standby stopped"
    fi
    if redis_replica_running; then
        redis-cli -h 127.0.0.1 -p "$REDIS_REPLICA_PORT" shutdown nosave >/dev/null 2>&1 || true
        log "Redis replica stopped"
    fi
    if pg_running; then
        as_pg "$(pg_bin)/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null
        log "PostgreSQL stopped"
    fi
    if redis_running; then
        redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
        log "Redis stopped"
    fi
    if mariadb_running; then
        mariadb-admin --socket="$MARIADB_SOCKET" -u root shutdown >/dev/null 2>&1 || true
        log "MariaDB stopped"
    fi
    rm -rf "$SERVICES_DIR"
}

case "${1:-start}" in
    start)
        case "${2:-all}" in
            all)
                start_postgres
                start_pg_replica
                start_redis
                start_redis_replica
                if mariadb_installed; then start_mariadb; fi
                ;;
            postgres)
                start_postgres
                start_pg_replica
                ;;
            redis)
                start_redis
                start_redis_replica
                ;;
            mariadb) start_mariadb ;;
            *)
                log "unknown service: $2"
                exit 2
                ;;
        esac
        print_env
        ;;
    env) print_env ;;
    stop) stop_all ;;
    *)
        log "usage: $0 [start [postgres|redis|mariadb]|env|stop]"
        exit 2
        ;;
esac
