#!/usr/bin/env bash
# Stop a server started by scripts/start_postgres.sh and delete its temp dir.
#
#   scripts/stop_postgres.sh "$OBO_PG_DATADIR"
#
# The argument (default: $OBO_PG_DATADIR) is the temp dir printed by start_postgres.sh, or the
# data dir inside it. Safe to call twice, or on a dir whose server is already gone. Only dirs
# created by start_postgres.sh (carrying its marker file) are deleted.
set -uo pipefail

log() { printf 'stop_postgres: %s\n' "$*" >&2; }

DIR=${1:-${OBO_PG_DATADIR:-}}
if [[ -z $DIR ]]; then
    log "usage: $0 DATADIR   (or set OBO_PG_DATADIR)"
    exit 2
fi
DIR=${DIR%/}
if [[ ! -e $DIR ]]; then
    log "$DIR does not exist; nothing to do"
    exit 0
fi

# Accept the temp dir (holding data/) or the data dir itself.
if [[ -f $DIR/data/PG_VERSION ]]; then
    TMP=$DIR
    PGDATA=$DIR/data
elif [[ -f $DIR/PG_VERSION ]]; then
    PGDATA=$DIR
    TMP=$(dirname "$DIR")
else
    TMP=$DIR
    PGDATA=
fi

if [[ -n $PGDATA && -f $PGDATA/postmaster.pid ]]; then
    BINDIR=
    [[ -f $TMP/pg_bindir ]] && BINDIR=$(<"$TMP/pg_bindir")
    if [[ -z $BINDIR || ! -x $BINDIR/pg_ctl ]]; then
        if [[ -x /usr/local/bin/pg_ctl ]]; then
            BINDIR=/usr/local/bin
        else
            BINDIR=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
        fi
    fi
    # pg_ctl refuses to run as root: run it as the owner of the data dir.
    owner=$(stat -c %U "$PGDATA" 2>/dev/null || echo "")
    if [[ $(id -u) -eq 0 && -n $owner && $owner != root ]]; then
        as_server() { (cd "$TMP" && runuser -u "$owner" -- "$@"); }
    else
        as_server() { (cd "$TMP" && "$@"); }
    fi
    pid=$(head -n 1 "$PGDATA/postmaster.pid" 2>/dev/null || echo "")
    log "stopping postgres (pid ${pid:-?}) in $PGDATA"
    if [[ -x ${BINDIR:-}/pg_ctl ]] &&
        { as_server "$BINDIR/pg_ctl" -D "$PGDATA" -m fast -w -t 30 stop >/dev/null 2>&1 ||
            as_server "$BINDIR/pg_ctl" -D "$PGDATA" -m immediate -w -t 15 stop >/dev/null 2>&1; }; then
        :
    elif [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
        log "pg_ctl stop failed; signalling postmaster $pid"
        kill -INT "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "$pid" 2>/dev/null || true
    fi
fi

if [[ -f $TMP/.obo-pg-tempdir ]]; then
    rm -rf "$TMP"
    log "removed $TMP"
else
    log "$TMP was not created by start_postgres.sh; left in place"
fi
exit 0
