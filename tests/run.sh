#!/usr/bin/env bash
# The one test command: `bash tests/run.sh [pytest args...]`.
#
# Runs the whole test suite twice, once on SQLite and once on PostgreSQL, and fails if either run
# fails (pytest's "no tests collected" counts as a failure). Extra arguments go to pytest verbatim,
# e.g. `bash tests/run.sh -x -k cases` or `bash tests/run.sh tests/unit`.
#
# What it sets up, on a fresh Debian machine as well as on one where everything is installed:
#   * .venv in the repository root with `pip install -e '.[test]'` (tools/venv.sh; skipped while the
#     stamp file .venv/.rathaus-installed-test is newer than pyproject.toml);
#   * /usr/bin/chromium for the browser tests (installed with apt-get when run as root or with sudo);
#   * a PostgreSQL database, chosen in this order:
#       1. RATHAUS_TEST_POSTGRES_URL, if set, is used as it is (nothing is created or dropped);
#       2. a server on 127.0.0.1:5432: a fresh database rathaus_test_<random> is created on it
#          (as user `postgres`, else as the current user) and dropped again at exit;
#       3. otherwise a throwaway server is started from the installed PostgreSQL binaries
#          (installed with apt-get when missing and run as root) in a temporary directory on a free
#          port, and stopped and removed at exit.
#     RATHAUS_TEST_POSTGRES=throwaway forces 3. even when a server on 5432 is up (the default,
#     RATHAUS_TEST_POSTGRES=auto, picks as above). In 2. and 3. the database belongs to the role
#     rathaus_test_app (made when missing; no superuser, no BYPASSRLS) and the suite connects as it,
#     so that the row-level security policies hold for the app under test as they do in production.
#
# Each pytest run gets RATHAUS_TEST_DATABASE: `sqlite` for the first, the PostgreSQL URL
# (postgresql+asyncpg://...) for the second. The two run side by side (the SQLite run's output is shown
# when both are done); RATHAUS_TEST_SERIAL=1 runs them one after the other.
#
# Other knobs: PYTHON (interpreter used to create .venv, default python3).

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# shellcheck source=tools/venv.sh
. "$ROOT/tools/venv.sh"

say() { printf '%s\n' "$*"; }

# ---------------------------------------------------------------------------------------------
# Clean-up: everything started or created below registers itself here and is undone at exit.

CLEANUPS=()
# shellcheck disable=SC2329  # invoked by the trap
cleanup() {
    local i
    for ((i = ${#CLEANUPS[@]} - 1; i >= 0; i--)); do
        eval "${CLEANUPS[$i]}" || true
    done
    CLEANUPS=()
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

case "${RATHAUS_TEST_POSTGRES:-auto}" in
    auto | throwaway) ;;
    *) die "RATHAUS_TEST_POSTGRES must be 'auto' or 'throwaway', not '${RATHAUS_TEST_POSTGRES}'" ;;
esac

# ---------------------------------------------------------------------------------------------
# 1. Python environment

ensure_venv test

# ---------------------------------------------------------------------------------------------
# 2. Chromium for the browser tests

if [ ! -x /usr/bin/chromium ]; then
    note "/usr/bin/chromium is missing; installing Debian's chromium package"
    if ! can_be_root || ! apt_install chromium || [ ! -x /usr/bin/chromium ]; then
        die "/usr/bin/chromium is needed for the browser tests and could not be installed; install it with 'apt-get install chromium' (as root) and run again"
    fi
fi

# ---------------------------------------------------------------------------------------------
# 3. PostgreSQL

PG_BIN=""          # directory with initdb, pg_ctl, postgres (and usually psql, pg_isready)

# /usr/lib/postgresql/<version>/bin directories, highest version first.
pg_lib_dirs() {
    local d
    for d in /usr/lib/postgresql/*/bin; do
        [ -d "$d" ] && printf '%s\n' "$d"
    done | sort -V -r
}

find_pg_bin() {
    local d initdb
    if initdb="$(command -v initdb 2>/dev/null)"; then
        d="$(dirname "$(readlink -f "$initdb")")"
        if [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
            PG_BIN="$d"
            return 0
        fi
    fi
    for d in $(pg_lib_dirs); do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
            PG_BIN="$d"
            return 0
        fi
    done
    return 1
}

# Finds a PostgreSQL client tool in PATH or next to the server binaries.
pg_tool() {
    local name="$1" d
    if command -v "$name" >/dev/null 2>&1; then
        command -v "$name"
        return 0
    fi
    for d in ${PG_BIN:+"$PG_BIN"} $(pg_lib_dirs); do
        if [ -x "$d/$name" ]; then
            printf '%s\n' "$d/$name"
            return 0
        fi
    done
    return 1
}

port_is_open() {  # host port
    local isready
    if isready="$(pg_tool pg_isready)"; then
        "$isready" -q -h "$1" -p "$2" -t 3
        return
    fi
    "$VENV/bin/python" - "$1" "$2" <<'EOF'
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3).close()
except OSError:
    sys.exit(1)
EOF
}

# Runs one SQL statement against database `postgres`: pg_sql host port user sql
pg_sql() {
    local host="$1" port="$2" user="$3" sql="$4" psql
    if psql="$(pg_tool psql)"; then
        PGCONNECT_TIMEOUT=5 "$psql" -X -q -w -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U "$user" -d postgres \
            -c "$sql" >/dev/null
    else
        "$VENV/bin/python" - "$host" "$port" "$user" "$sql" <<'EOF'
import asyncio, sys
import asyncpg

async def main(host, port, user, sql):
    conn = await asyncpg.connect(host=host, port=int(port), user=user, database="postgres", timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()

asyncio.run(main(*sys.argv[1:]))
EOF
    fi
}

drop_database() {  # host port user db
    pg_sql "$1" "$2" "$3" "DROP DATABASE IF EXISTS \"$4\" WITH (FORCE)" 2>/dev/null \
        || pg_sql "$1" "$2" "$3" "DROP DATABASE IF EXISTS \"$4\"" \
        || note "could not drop database $4 on $1:$2; drop it by hand"
}

random_suffix() { "$VENV/bin/python" -c 'import secrets; print(secrets.token_hex(4))'; }

free_port() {
    "$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# The app runs as a role that is neither superuser nor BYPASSRLS, as in production: only then do the
# row-level security policies hold for it, so the whole PostgreSQL suite runs behind them.
APP_ROLE=rathaus_test_app

# Creates database db owned by APP_ROLE (made when missing) as the superuser user; prints the role that owns
# it: APP_ROLE, or the superuser itself where roles cannot be made.
create_app_database() {  # host port user db
    local host="$1" port="$2" user="$3" db="$4"
    pg_sql "$host" "$port" "$user" "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$APP_ROLE') THEN CREATE ROLE $APP_ROLE LOGIN NOSUPERUSER NOBYPASSRLS CREATEDB; END IF; END \$\$" 2>/dev/null || true
    if pg_sql "$host" "$port" "$user" "CREATE DATABASE \"$db\" OWNER $APP_ROLE" 2>/dev/null; then
        echo "$APP_ROLE"
    elif pg_sql "$host" "$port" "$user" "CREATE DATABASE \"$db\""; then
        note "role $APP_ROLE could not be used: the PostgreSQL suite runs as $user, which row-level security lets pass"
        echo "$user"
    else
        return 1
    fi
}

# Tries to create a fresh database on the server at 127.0.0.1:5432; sets PG_URL on success.
use_shared_server() {
    local db user owner
    db="rathaus_test_$(random_suffix)"
    for user in postgres "$(id -un)"; do
        if owner="$(create_app_database 127.0.0.1 5432 "$user" "$db" 2>/dev/null)"; then
            CLEANUPS+=("drop_database 127.0.0.1 5432 '$user' '$db'")
            PG_URL="postgresql+asyncpg://$owner@127.0.0.1:5432/$db"
            note "using database $db on the PostgreSQL server at 127.0.0.1:5432 as $owner (dropped at exit)"
            return 0
        fi
    done
    note "a server answers on 127.0.0.1:5432 but neither 'postgres' nor '$(id -un)' may create a database there"
    return 1
}

PG_RUN_AS=()       # prefix that runs a command as the owner of the throwaway cluster

# Runs a PostgreSQL server program as the cluster's owner, from / (its home may not be readable).
as_pg_owner() { (cd / && "${PG_RUN_AS[@]}" "$@"); }

stop_throwaway() {  # dir
    local dir="$1"
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_pg_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}

# Starts a throwaway server from the installed binaries; sets PG_URL.
use_throwaway_server() {
    local dir port role owner=""
    if ! find_pg_bin; then
        if is_root; then
            note "no PostgreSQL server binaries found; installing Debian's postgresql package"
            apt_install postgresql || die "could not install PostgreSQL with apt-get"
            find_pg_bin || die "PostgreSQL was installed but initdb/pg_ctl are not found"
        else
            die "no PostgreSQL server binaries (initdb, pg_ctl) found in PATH or /usr/lib/postgresql/*/bin; install PostgreSQL (Debian: apt-get install postgresql), or set RATHAUS_TEST_POSTGRES_URL"
        fi
    fi

    if is_root; then
        # initdb and postgres refuse to run as root: run them as the postgres system user, or as a
        # throwaway user when there is none. /tmp keeps the directory reachable for that user.
        if id -u postgres >/dev/null 2>&1; then
            owner=postgres
        else
            owner="rathaus-pgtest-$(random_suffix)"
            useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$owner" \
                || die "cannot create a user to run the throwaway PostgreSQL server"
            CLEANUPS+=("userdel '$owner' >/dev/null 2>&1")
        fi
        command -v runuser >/dev/null 2>&1 || die "runuser is needed to start PostgreSQL as user $owner"
        PG_RUN_AS=(runuser -u "$owner" --)
        dir="$(mktemp -d /tmp/rathaus-pg.XXXXXX)"
        chown "$owner" "$dir"
    else
        PG_RUN_AS=(env)
        dir="$(mktemp -d "${TMPDIR:-/tmp}/rathaus-pg.XXXXXX")"
    fi
    CLEANUPS+=("stop_throwaway '$dir'")

    port="$(free_port)"
    note "starting a throwaway PostgreSQL server ($PG_BIN) on 127.0.0.1:$port in $dir"
    as_pg_owner "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-locale \
        >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        die "initdb failed"
    }
    # fsync=off etc.: the data is thrown away, so durability only costs time.
    as_pg_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        start >/dev/null || {
        cat "$dir/server.log" >&2 || true
        die "the throwaway PostgreSQL server did not start"
    }
    role="$(create_app_database 127.0.0.1 "$port" postgres rathaus_test)" \
        || die "could not create a database on the throwaway server"
    PG_URL="postgresql+asyncpg://$role@127.0.0.1:$port/rathaus_test"
}

PG_URL=""
if [ -n "${RATHAUS_TEST_POSTGRES_URL:-}" ]; then
    PG_URL="$RATHAUS_TEST_POSTGRES_URL"
    note "using RATHAUS_TEST_POSTGRES_URL"
elif [ "${RATHAUS_TEST_POSTGRES:-}" = "throwaway" ]; then
    use_throwaway_server
elif port_is_open 127.0.0.1 5432 && use_shared_server; then
    :
else
    use_throwaway_server
fi

# ---------------------------------------------------------------------------------------------
# 4. The suite, twice

run_suite() {  # label database -- pytest args
    local label="$1" database="$2" rc=0
    shift 2
    say ""
    say "== suite on $label =="
    RATHAUS_TEST_DATABASE="$database" "$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@" || rc=$?
    return "$rc"
}

describe() {  # exit code
    case "$1" in
        0) printf 'passed' ;;
        1) printf 'FAILED (tests failed)' ;;
        5) printf 'FAILED (no tests collected)' ;;
        *) printf 'FAILED (pytest exit code %s)' "$1" ;;
    esac
}

sqlite_rc=0
postgres_rc=0
if [ "${RATHAUS_TEST_SERIAL:-0}" = 1 ]; then
    run_suite SQLite sqlite "$@" || sqlite_rc=$?
    run_suite PostgreSQL "$PG_URL" "$@" || postgres_rc=$?
else
    # Side by side: each run is mostly one busy core (pytest, or the database server and the browser),
    # so the two together take little longer than the slower one. The SQLite run writes to a log that
    # is shown once both are done; RATHAUS_TEST_SERIAL=1 runs them one after the other instead.
    SQLITE_LOG="$(mktemp "${TMPDIR:-/tmp}/rathaus-sqlite-suite.XXXXXX")"
    CLEANUPS+=("rm -f '$SQLITE_LOG'")
    say "the SQLite run goes on beside the PostgreSQL run; its output follows when both are done"
    run_suite SQLite sqlite "$@" >"$SQLITE_LOG" 2>&1 &
    sqlite_pid=$!
    CLEANUPS+=("pkill -TERM -P $sqlite_pid 2>/dev/null; kill $sqlite_pid 2>/dev/null")
    run_suite PostgreSQL "$PG_URL" "$@" || postgres_rc=$?
    wait "$sqlite_pid" || sqlite_rc=$?
    cat "$SQLITE_LOG"
fi

say ""
say "== summary: SQLite $(describe "$sqlite_rc"), PostgreSQL $(describe "$postgres_rc") =="

if [ "$sqlite_rc" -ne 0 ] || [ "$postgres_rc" -ne 0 ]; then
    exit 1
fi
exit 0
