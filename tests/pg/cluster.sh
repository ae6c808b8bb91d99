#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests, on 127.0.0.1 only.
#   cluster.sh start | stop | restart | url
# Installs Debian's postgresql when missing. Runs the server as the `postgres` OS
# user (the server refuses root). Login: chat1c / chat1c-pw (scram-sha-256 over TCP).
set -euo pipefail
DIR=${CHAT1C_PG_DIR:-/tmp/chat1c-pg}
PORT=${CHAT1C_PG_PORT:-54329}
URL="postgresql://chat1c:chat1c-pw@127.0.0.1:$PORT/postgres?sslmode=disable"

bin_dir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

install() {
    if [ -z "$(bin_dir)" ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    fi
}

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

pgctl() { as_pg "$(bin_dir)/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 30 "$@" >/dev/null; }

start() {
    install
    if [ ! -f "$DIR/data/PG_VERSION" ]; then
        rm -rf "$DIR"; mkdir -p "$DIR"
        [ "$(id -u)" = 0 ] && chown postgres: "$DIR"
        echo chat1c-pw > "$DIR/pw"
        as_pg "$(bin_dir)/initdb" -D "$DIR/data" -U chat1c --pwfile="$DIR/pw" \
            --auth-local=trust --auth-host=scram-sha-256 >/dev/null
        cat >> "$DIR/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DIR'
max_connections = 400
fsync = off
CONF
    fi
    local running=
    as_pg test -f "$DIR/data/postmaster.pid" && pgctl status >/dev/null 2>&1 && running=1
    if ! grep -q pg_stat_statements "$DIR/data/postgresql.conf"; then
        # tests/postgres.rs counts how often each statement is planned (a cluster made
        # before that test gets it here, and a restart).
        cat >> "$DIR/data/postgresql.conf" <<CONF
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all
pg_stat_statements.track_planning = on
CONF
        [ -n "$running" ] && pgctl restart -m fast -o "-p $PORT"
    fi
    [ -n "$running" ] || pgctl start -o "-p $PORT"
}

case "${1:-}" in
    start) start; echo "$URL" ;;
    stop) pgctl stop -m fast || true ;;
    restart) pgctl restart -m fast -o "-p $PORT" ;;
    url) echo "$URL" ;;
    *) echo "usage: $0 start|stop|restart|url" >&2; exit 2 ;;
esac
