#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests, on loopback, with database `csp`.
#
#   eval "$(.ci/postgres.sh)"      # installs PostgreSQL if missing, starts it, exports CSP_PG_DSN
#
# Idempotent: a server already running in the data directory is reused. Trust authentication
# on 127.0.0.1 only: this is for tests, never for a warehouse holding real data.
# Settings: CSP_PG_DATA (default /tmp/csp-postgres), CSP_PG_PORT (default 55432, or the next
# free port when that one is taken by something else).
set -euo pipefail

DATA="${CSP_PG_DATA:-/tmp/csp-postgres}"
PORT="${CSP_PG_PORT:-55432}"

find_bin() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

BIN="$(find_bin)"
if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ]; then
    echo "postgres.sh: installing Debian's postgresql" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    BIN="$(find_bin)"
fi

# Every server command runs as the `postgres` OS user (initdb refuses root).
as_postgres() {
    if [ "$(id -u)" = "0" ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

if [ -f "$DATA/PG_VERSION" ] && as_postgres "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    PORT="$(sed -n 4p "$DATA/postmaster.pid")"
else
    if [ ! -f "$DATA/PG_VERSION" ]; then
        mkdir -p "$DATA"
        [ "$(id -u)" = "0" ] && chown postgres:postgres "$DATA"
        chmod 700 "$DATA"
        as_postgres "$BIN/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 \
            --locale=C.UTF-8 >/dev/null
    fi
    while port_in_use "$PORT"; do PORT=$((PORT + 1)); done
    as_postgres "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DATA -c fsync=off \
            -c synchronous_commit=off -c full_page_writes=off" start >/dev/null
fi

if ! "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -tAc \
        "select 1 from pg_database where datname = 'csp'" | grep -q 1; then
    "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres csp
fi

echo "export CSP_PG_DSN='host=127.0.0.1 port=$PORT user=postgres dbname=csp'"
echo "export CSP_PG_HOST=127.0.0.1 CSP_PG_PORT=$PORT CSP_PG_USER=postgres CSP_PG_DBNAME=csp"
