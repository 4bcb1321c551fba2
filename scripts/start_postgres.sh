#!/usr/bin/env bash
# Start a throwaway PostgreSQL server for the test suite.
#
#   eval "$(scripts/start_postgres.sh)"      # prints export lines on stdout, logs on stderr
#   ... run things with $DATABASE_URL ...
#   scripts/stop_postgres.sh "$OBO_PG_DATADIR"
#
# What it does: creates a temp dir (data dir, unix socket dir and log inside it), runs initdb
# with scram-sha-256 auth, listens on 127.0.0.1 only on a free port, creates a login role with a
# random password (CREATEDB, so Django can create its test database) and a database owned by it,
# then prints:
#   export DATABASE_URL=postgres://USER:PASS@127.0.0.1:PORT/DBNAME
#   export OBO_PG_DATADIR=/tmp/obo-pg.XXXXXX      (the temp dir; pass it to stop_postgres.sh)
#
# Run as root, the server runs as the OS user $OBO_PG_OSUSER (default: postgres), because
# initdb/postgres refuse to run as root. Run as anyone else, it runs as you.
#
# Environment (all optional):
#   PG_BINDIR      directory holding initdb/pg_ctl/postgres (default: /usr/local/bin, then
#                  the newest /usr/lib/postgresql/*/bin, then $PATH)
#   OBO_PG_USER    role name      (default: obo)
#   OBO_PG_DB      database name  (default: obo)
#   OBO_PG_OSUSER  OS user the server runs as when invoked as root (default: postgres)
#   OBO_PG_TIMEOUT seconds to wait for the server to accept connections (default: 60)
set -euo pipefail

# Everything below writes to stderr; only the final export lines go to the real stdout (fd 3).
exec 3>&1 1>&2

log() { printf 'start_postgres: %s\n' "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

PG_USER=${OBO_PG_USER:-obo}
PG_DB=${OBO_PG_DB:-obo}
OS_USER=${OBO_PG_OSUSER:-postgres}
TIMEOUT=${OBO_PG_TIMEOUT:-60}

[[ $PG_USER =~ ^[a-z_][a-z0-9_]*$ ]] || die "OBO_PG_USER must match [a-z_][a-z0-9_]*: $PG_USER"
[[ $PG_DB =~ ^[a-z_][a-z0-9_]*$ ]] || die "OBO_PG_DB must match [a-z_][a-z0-9_]*: $PG_DB"
command -v python3 >/dev/null 2>&1 || die "python3 is needed (free port, password)"

# --- locate the server binaries -------------------------------------------------------------
find_bindir() {
    local d
    if [[ -n ${PG_BINDIR:-} ]]; then
        echo "$PG_BINDIR"
        return 0
    fi
    if [[ -x /usr/local/bin/initdb && -x /usr/local/bin/pg_ctl && -x /usr/local/bin/postgres ]]; then
        # Usually symlinks into /usr/lib/postgresql/N/bin: resolve so pg_isready/psql of the same
        # version are found next to them.
        d=$(dirname "$(readlink -f /usr/local/bin/initdb)")
        if [[ -x $d/pg_ctl && -x $d/postgres ]]; then echo "$d"; else echo /usr/local/bin; fi
        return 0
    fi
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -n $d && -x $d/initdb ]]; then
        echo "$d"
        return 0
    fi
    if command -v initdb >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v initdb)")"
        return 0
    fi
    return 1
}
BINDIR=$(find_bindir) || die "no PostgreSQL server binaries (initdb, pg_ctl, postgres) found; install postgresql or set PG_BINDIR"
for b in initdb pg_ctl postgres; do
    [[ -x $BINDIR/$b ]] || die "$BINDIR/$b missing"
done
pick_tool() { # prefer the server's own version, else whatever is on PATH
    if [[ -x $BINDIR/$1 ]]; then echo "$BINDIR/$1"; else command -v "$1" || true; fi
}
PSQL=$(pick_tool psql)
PG_ISREADY=$(pick_tool pg_isready)
[[ -n $PSQL ]] || die "psql not found (needed to create the role and database)"

# --- who runs the server ----------------------------------------------------------------------
if [[ $(id -u) -eq 0 ]]; then
    id "$OS_USER" >/dev/null 2>&1 || die "OS user '$OS_USER' does not exist (create it: useradd --system $OS_USER)"
    if command -v runuser >/dev/null 2>&1; then
        as_server() { runuser -u "$OS_USER" -- "$@"; }
    else
        as_server() { su -s /bin/sh "$OS_USER" -c '"$0" "$@"' -- "$@"; }
    fi
    TMPROOT=/tmp # $TMPDIR may live under /root, which the server user cannot traverse
else
    as_server() { "$@"; }
    TMPROOT=${TMPDIR:-/tmp}
fi

# --- temp dir, cleaned up again if anything below fails ----------------------------------------
TMP=$(mktemp -d "${TMPROOT%/}/obo-pg.XXXXXX")
PGDATA=$TMP/data
SOCKDIR=$TMP/sock
PGLOG=$TMP/postgres.log
STARTED=0
OK=0
cleanup_on_failure() {
    [[ $OK -eq 1 ]] && return 0
    if [[ -f $PGLOG ]]; then
        log "---- last lines of $PGLOG ----"
        tail -n 30 "$PGLOG" >&2 || true
    fi
    if [[ $STARTED -eq 1 ]]; then
        (cd "$TMP" && as_server "$BINDIR/pg_ctl" -D "$PGDATA" -m immediate -w -t 20 stop >/dev/null 2>&1) || true
    fi
    rm -rf "$TMP"
}
trap cleanup_on_failure EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

touch "$TMP/.obo-pg-tempdir" # marker: stop_postgres.sh only deletes dirs carrying it
echo "$BINDIR" >"$TMP/pg_bindir"
mkdir -p "$SOCKDIR"
PASSWORD=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
printf '%s\n' "$PASSWORD" >"$TMP/pwfile"
chmod 600 "$TMP/pwfile"
if [[ $(id -u) -eq 0 ]]; then
    chown -R "$OS_USER" "$TMP"
fi
chmod 700 "$TMP"

# --- initdb -----------------------------------------------------------------------------------
log "initdb ($BINDIR) in $PGDATA"
# cd into the temp dir: the server user may not be allowed into the caller's cwd.
(cd "$TMP" && as_server "$BINDIR/initdb" -D "$PGDATA" -U postgres -A scram-sha-256 \
    --pwfile="$TMP/pwfile" -E UTF8 --no-locale --no-sync >"$TMP/initdb.log" 2>&1) || {
    tail -n 30 "$TMP/initdb.log" >&2
    die "initdb failed"
}
rm -f "$TMP/pwfile"

# Only 127.0.0.1; local and host lines already demand scram-sha-256 (initdb -A).
cat >>"$PGDATA/postgresql.conf" <<EOF

# --- added by scripts/start_postgres.sh (throwaway test server) ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$SOCKDIR'
max_connections = 100
fsync = off
synchronous_commit = off
full_page_writes = off
EOF

free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# The postmaster outlives this script: it must not inherit any fd beyond 0-2 (pg_ctl points those
# at the log). Otherwise it would keep e.g. the caller's `$(...)` pipe (our fd 3) or a CI log pipe
# open, and `eval "$(scripts/start_postgres.sh)"` would never return.
close_extra_fds() {
    local fd fds
    if [[ -d /proc/$BASHPID/fd ]]; then
        fds=$(ls /proc/$BASHPID/fd)
    else
        fds=$(seq 3 63)
    fi
    for fd in $fds; do
        if ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
}

# --- start (retry with a new port if another process grabbed ours in between) ------------------
PORT=
for attempt in 1 2 3 4 5; do
    PORT=$(free_port)
    log "starting postgres on 127.0.0.1:$PORT (attempt $attempt)"
    STARTED=1
    if (cd "$TMP" && close_extra_fds && as_server "$BINDIR/pg_ctl" -D "$PGDATA" -l "$PGLOG" -o "-p $PORT" \
        -w -t "$TIMEOUT" start </dev/null >/dev/null); then
        break
    fi
    (cd "$TMP" && as_server "$BINDIR/pg_ctl" -D "$PGDATA" -m immediate -w -t 20 stop >/dev/null 2>&1) || true
    STARTED=0
    if ! grep -qiE 'could not (bind|create listen)|address already in use' "$PGLOG" 2>/dev/null; then
        die "postgres failed to start"
    fi
    PORT=
done
[[ -n $PORT ]] || die "postgres failed to start (no usable port after 5 attempts)"

# --- wait until it accepts connections over TCP ---------------------------------------------
export PGPASSWORD=$PASSWORD PGCONNECT_TIMEOUT=5
deadline=$((SECONDS + TIMEOUT))
until
    if [[ -n $PG_ISREADY ]]; then
        "$PG_ISREADY" -q -h 127.0.0.1 -p "$PORT" -U postgres -d postgres
    else
        "$PSQL" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1
    fi
do
    ((SECONDS < deadline)) || die "postgres not accepting connections on 127.0.0.1:$PORT after ${TIMEOUT}s"
    sleep 0.5
done

# --- role and database --------------------------------------------------------------------------
log "creating role $PG_USER and database $PG_DB"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres -d postgres >/dev/null <<EOF
CREATE ROLE "$PG_USER" LOGIN CREATEDB PASSWORD '$PASSWORD';
CREATE DATABASE "$PG_DB" OWNER "$PG_USER";
EOF
PGPASSWORD=$PASSWORD "$PSQL" -X -h 127.0.0.1 -p "$PORT" -U "$PG_USER" -d "$PG_DB" -Atqc 'select 1' >/dev/null ||
    die "cannot connect as $PG_USER to $PG_DB"

OK=1
URL="postgres://$PG_USER:$PASSWORD@127.0.0.1:$PORT/$PG_DB"
log "ready: postgres://$PG_USER:***@127.0.0.1:$PORT/$PG_DB (data: $TMP, log: $PGLOG)"
printf 'export DATABASE_URL=%q\n' "$URL" >&3
printf 'export OBO_PG_DATADIR=%q\n' "$TMP" >&3
