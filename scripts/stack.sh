#!/usr/bin/env bash
# TierGate's local service stack: Postgres, Redis, SecantusDB (MongoDB wire protocol)
# and PgBouncer, all on 127.0.0.1, all data under .stack/ at the repository root.
#
#   scripts/stack.sh up     [SERVICE...]   install what is missing, start, wait, print URLs
#   scripts/stack.sh down   [SERVICE...]   stop what this script started (data is kept)
#   scripts/stack.sh env                   print `export TIERGATE_*_PORT=...` lines for eval
#   scripts/stack.sh status                which services run, on which port
#   scripts/stack.sh reset                 down, then delete .stack/
#
# SERVICE is postgres, redis, mongo or pgbouncer; none means all four.
# Every command is idempotent: `up` on a running service only checks it answers.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STACK="$ROOT/.stack"
RUN_DIR="$STACK/run"   # unix sockets of Postgres and PgBouncer (short path: sun_path is 108 bytes)
VENV="$ROOT/.venv"

# Default ports sit below the kernel's ephemeral range (32768-60999 on Linux): a port in
# that range can be taken at any moment as the local end of some outgoing connection (a
# benchmark with thousands of loopback clients takes most of it), and the server then
# fails to bind. A port set in TIERGATE_*_PORT is used as given; a default that another
# process holds is replaced by a free one, remembered in .stack/ports for later commands.
PORTS_FILE="$STACK/ports"
declare -A REMEMBERED_PORT=()
if [[ -f $PORTS_FILE ]]; then
    while IFS='=' read -r name value; do
        [[ $name =~ ^TIERGATE_[A-Z]+_PORT$ && $value =~ ^[0-9]+$ ]] && REMEMBERED_PORT[$name]=$value
    done <"$PORTS_FILE"
fi
default_port() { echo "${!1:-${REMEMBERED_PORT[$1]:-$2}}"; }   # default_port VARIABLE DEFAULT
PG_PORT=$(default_port TIERGATE_PG_PORT 25432)
REDIS_PORT=$(default_port TIERGATE_REDIS_PORT 26379)
MONGO_PORT=$(default_port TIERGATE_MONGO_PORT 27117)
PGBOUNCER_PORT=$(default_port TIERGATE_PGBOUNCER_PORT 26432)

PGBIN=/usr/lib/postgresql/15/bin
ALL_SERVICES=(postgres redis mongo pgbouncer)

# Debian packages the stack and the Swift build need (the build links libpq, hiredis
# and libmongoc through pkg-config).
# libpostgresql-jdbc-java: pgjdbc, the JDBC driver the integration tests connect with.
APT_PACKAGES=(postgresql-15 postgresql-client-15 redis-server redis-tools pgbouncer socat
              libpq-dev libhiredis-dev libmongoc-dev pkg-config python3 python3-venv
              libpostgresql-jdbc-java libssl-dev openssl prometheus)

# Messages must never fail: `down` runs from EXIT traps, when a reader such as
# `scripts/demo.sh | tee` may already be gone, and a failed write would end it halfway.
log() { printf '[stack] %s\n' "$*" >&2 2>/dev/null || true; }
die() { printf '[stack] error: %s\n' "$*" >&2 2>/dev/null || true; exit 1; }

# Postgres and PgBouncer refuse to run as root, so they run as the postgres user.
as_postgres() { runuser -u postgres -- "$@"; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_until SECONDS DESCRIPTION COMMAND...: poll every 0.1 s.
wait_until() {
    local seconds=$1 what=$2; shift 2
    local tries=$((seconds * 10))
    while ((tries-- > 0)); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    return 1
}
port_closed() { ! port_open "$1"; }

# A port is free when nothing answers on it and it can be bound the way servers bind
# (SO_REUSEADDR: a connection of ours in TIME_WAIT does not count; a listener, or an
# outgoing connection that holds the port as its local end, does).
port_bindable() {
    python3 - "$1" <<'PY' 2>/dev/null
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
PY
}
port_free() { ! port_open "$1" && port_bindable "$1"; }

# Before starting a service: a port taken by someone else's server would make our
# readiness check talk to the wrong server, or the start fail with a vague log line.
# A port the user set is theirs to change; a default moves to the next free port.
ensure_port_free() {   # ensure_port_free SHELL_VARIABLE ENV_VARIABLE
    local -n port=$1
    local env=$2 candidate
    port_free "$port" && return 0
    [[ -n ${!env:-} ]] && die "port $port is already taken by another process (not started by this script); set $env to another port"
    for ((candidate = port + 1; candidate < port + 200; candidate++)); do
        if port_free "$candidate"; then
            log "port $port is taken by another process; using $candidate for $env (remembered in $PORTS_FILE)"
            port=$candidate
            REMEMBERED_PORT[$env]=$candidate
            remember_ports
            return 0
        fi
    done
    die "ports $port-$((port + 199)) are all taken; set $env to a free port"
}
remember_ports() {
    local name
    for name in "${!REMEMBERED_PORT[@]}"; do echo "$name=${REMEMBERED_PORT[$name]}"; done >"$PORTS_FILE"
}

# A pid file is trusted only if the process is alive and is the program we expect:
# after a machine restart an old pid may belong to something else.
pid_alive() {   # pid_alive PIDFILE PATTERN
    local pidfile=$1 pattern=$2 pid
    [[ -s $pidfile ]] || return 1
    pid=$(head -n1 "$pidfile" | tr -dc '0-9')
    [[ -n $pid ]] && ! pid_gone "$pid" || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$pattern"
}

# stop_pid PIDFILE PATTERN SIGNAL PORT: signal, wait for the process to exit and the
# port to close (tests restart a service right away), then SIGKILL as a last resort.
stop_pid() {
    local pidfile=$1 pattern=$2 signal=$3 port=$4 pid
    if pid_alive "$pidfile" "$pattern"; then
        pid=$(head -n1 "$pidfile" | tr -dc '0-9')
        kill "-$signal" "$pid" 2>/dev/null || true
        if ! wait_until 30 "exit" pid_gone "$pid"; then
            log "pid $pid did not stop on SIG$signal; killing it"
            kill -KILL "$pid" 2>/dev/null || true
            wait_until 5 "exit" pid_gone "$pid" || die "could not stop pid $pid"
        fi
        # Only a port we closed is waited for: another program's server may hold it.
        wait_until 10 "port $port closed" port_closed "$port" || die "port $port is still open after stopping pid $pid"
    fi
    rm -f "$pidfile"
}
# A zombie counts as gone: the process has exited and closed its sockets, but here
# PID 1 reaps orphans only every second or two, and kill -0 still succeeds until then.
pid_gone() {
    local state
    state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null) || return 0
    [[ -z $state || $state == Z || $state == X ]]
}

# --- installation ------------------------------------------------------------------

ensure_packages() {
    local missing=() p
    for p in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    ((${#missing[@]} == 0)) && return 0
    log "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Debian starts a package's service on install: a system PgBouncer on 6432 (the demo's
    # proxy port), Redis on 6379, a Postgres cluster on 5432. We run our own, so forbid
    # service starts for the install, unless the machine already has a policy of its own.
    local policy=/usr/sbin/policy-rc.d own_policy=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; own_policy=1
    fi
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || { ((own_policy)) && rm -f "$policy"; die "apt-get install failed"; }
    ((own_policy)) && rm -f "$policy"
    return 0
}

# SecantusDB and pymongo live in a project-local virtualenv; reinstall only when the
# pinned requirements change (a stamp file remembers what was installed).
ensure_venv() {
    local reqs="$ROOT/scripts/requirements-stack.txt" stamp="$VENV/.tiergate-stack-requirements"
    if [[ -x $VENV/bin/secantusd-py && -f $stamp ]] && cmp -s "$reqs" "$stamp"; then return 0; fi
    log "installing SecantusDB and pymongo into .venv/"
    [[ -x $VENV/bin/python ]] || python3 -m venv "$VENV"
    # --pre: SecantusDB is published as a pre-release only.
    "$VENV/bin/pip" install -q --pre -r "$reqs"
    cp "$reqs" "$stamp"
}

# The postgres user must be able to walk down to .stack/ (a repo under /root or a
# 0700 home would stop it); add o+x to each parent that blocks it.
ensure_postgres_can_traverse() {
    local dir=$STACK
    while [[ $dir != / ]]; do
        dir=$(dirname "$dir")
        as_postgres test -x "$dir" || { log "chmod o+x $dir (so postgres can reach .stack/)"; chmod o+x "$dir"; }
    done
}

ensure_dirs() {
    mkdir -p "$STACK" "$RUN_DIR" "$STACK/postgres" "$STACK/redis" "$STACK/mongo" "$STACK/pgbouncer"
    chown postgres:postgres "$RUN_DIR" "$STACK/postgres" "$STACK/pgbouncer"
    chmod 0755 "$STACK" "$RUN_DIR"
    ensure_postgres_can_traverse
}

# Every daemon below is started with </dev/null and its output in a file: a caller
# that reads this script's output through a pipe (a test's Process) would otherwise
# wait for EOF until the daemon exits.

# --- postgres ------------------------------------------------------------------------

PG_DATA="$STACK/postgres/data"
PG_LOG="$STACK/postgres/postgres.log"

pg_running() { [[ -f $PG_DATA/PG_VERSION ]] && as_postgres "$PGBIN/pg_ctl" status -D "$PG_DATA" >/dev/null 2>&1; }
pg_ready() { "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; }
psql_admin() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@"; }

pg_init() {
    [[ -f $PG_DATA/PG_VERSION ]] && return 0
    log "initdb $PG_DATA"
    as_postgres "$PGBIN/initdb" -D "$PG_DATA" -U postgres -E UTF8 --no-locale \
        --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    # Our settings live in their own file so the generated postgresql.conf stays stock.
    echo "include 'tiergate.conf'" >>"$PG_DATA/postgresql.conf"
}

pg_write_config() {
    # Rewritten on every start so a changed TIERGATE_PG_PORT takes effect.
    cat >"$PG_DATA/tiergate.conf" <<EOF
# Written by scripts/stack.sh on every start; edit the script, not this file.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$RUN_DIR'
# Each org may hold up to 100 connections (ENTERPRISE); tests open several orgs at once.
max_connections = 400
# A throwaway dev stack: durability is not worth the fsyncs.
fsync = off
synchronous_commit = off
full_page_writes = off
password_encryption = scram-sha-256
# TLS with a self-signed certificate (server.crt, made once): TierGate's --upstream-tls
# verify-full is tested against it (--upstream-ca .stack/postgres/data/server.crt).
ssl = on
EOF
    pg_ensure_certificate
    # postgres is trusted on loopback (admin work in tests, PgBouncer's admin user);
    # everyone else proves a password with SCRAM, as production clients would.
    cat >"$PG_DATA/pg_hba.conf" <<EOF
# Written by scripts/stack.sh on every start; edit the script, not this file.
# TYPE  DATABASE  USER      ADDRESS        METHOD
local   all       all                      trust
host    all       postgres  127.0.0.1/32   trust
host    all       all       127.0.0.1/32   scram-sha-256
EOF
    chown postgres:postgres "$PG_DATA/tiergate.conf" "$PG_DATA/pg_hba.conf"
}

pg_ensure_certificate() {
    [[ -f $PG_DATA/server.crt && -f $PG_DATA/server.key ]] && return 0
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
        -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$PG_DATA/server.key" -out "$PG_DATA/server.crt" >/dev/null 2>&1 || die "openssl could not make the Postgres certificate"
    chmod 0600 "$PG_DATA/server.key"
    chmod 0644 "$PG_DATA/server.crt"
    chown postgres:postgres "$PG_DATA/server.key" "$PG_DATA/server.crt"
}

# Each sample org has a role of its own (scripts/sample-orgs.json lists it under
# postgres.roles) that owns the org's database; `database:role:password`.
SAMPLE_ORG_DATABASES=(acme:acme_app:acme_pw beta:beta_app:beta_pw gamma:gamma_app:gamma_pw delta:delta_app:delta_pw)

# Roles and databases the tests and the demo expect; safe to run on every `up`.
# - app / app_pw owns tiergate_test, the database of the orgs tests create for themselves;
#   other / other_pw is a second login role.
# - Each sample org's database is reachable by its own role only: CONNECT is revoked from
#   PUBLIC, so another org's role cannot log in to it even straight at Postgres.
pg_bootstrap() {
    local entry db role password sql=""
    for entry in "${SAMPLE_ORG_DATABASES[@]}"; do
        IFS=: read -r db role password <<<"$entry"
        sql+="SELECT 'CREATE ROLE $role LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$role')
\\gexec
ALTER ROLE $role LOGIN PASSWORD '$password';
SELECT 'CREATE DATABASE $db OWNER $role' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$db')
\\gexec
ALTER DATABASE $db OWNER TO $role;
REVOKE CONNECT, TEMPORARY ON DATABASE $db FROM PUBLIC;
GRANT CONNECT ON DATABASE $db TO $role;
"
    done
    psql_admin -d postgres <<SQL
SELECT 'CREATE ROLE app LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app')
\\gexec
SELECT 'CREATE ROLE other LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'other')
\\gexec
-- Reset the passwords each time so the stack is always in the documented state.
ALTER ROLE app LOGIN PASSWORD 'app_pw';
ALTER ROLE other LOGIN PASSWORD 'other_pw';
SELECT 'CREATE DATABASE tiergate_test OWNER app' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'tiergate_test')
\\gexec
$sql
SQL
}

up_postgres() {
    pg_init
    if ! pg_running; then
        ensure_port_free PG_PORT TIERGATE_PG_PORT
        pg_write_config
        log "starting postgres on $PG_PORT"
        as_postgres "$PGBIN/pg_ctl" start -D "$PG_DATA" -l "$PG_LOG" -w -t 60 </dev/null >/dev/null 9>&- \
            || { tail -n 20 "$PG_LOG" >&2; die "postgres did not start (log: $PG_LOG)"; }
    fi
    wait_until 30 "postgres" pg_ready || die "postgres does not answer on $PG_PORT (log: $PG_LOG)"
    pg_bootstrap
    pg_harden
}

down_postgres() {
    if pg_running; then
        log "stopping postgres"
        # fast: roll back open transactions and disconnect clients instead of waiting for them.
        as_postgres "$PGBIN/pg_ctl" stop -D "$PG_DATA" -m fast -w -t 60 >/dev/null
        wait_until 10 "port closed" port_closed "$PG_PORT" || die "port $PG_PORT is still open after stopping postgres"
    fi
}

# The Postgres-side setup TierGate relies on (README, "Postgres-side setup"); safe to run
# on every `up`:
# - UPDATE on pg_settings is revoked from PUBLIC in every database that accepts connections
#   and in template1, whose copies inherit it: `UPDATE pg_settings SET setting = ...` is
#   set_config by another name, and nothing legitimate updates the view.
# - SET on temp_file_limit, a superuser-only parameter, is granted to PUBLIC (cluster-wide),
#   so the tier's value can be injected into sessions of ordinary roles.
pg_harden() {
    local db
    psql_admin -d postgres -c 'GRANT SET ON PARAMETER temp_file_limit TO PUBLIC'
    psql_admin -d postgres -At -c 'SELECT datname FROM pg_database WHERE datallowconn' | while IFS= read -r db; do
        psql_admin -d "$db" -c 'REVOKE UPDATE ON pg_catalog.pg_settings FROM PUBLIC'
    done
}

# --- redis ---------------------------------------------------------------------------

REDIS_PID="$STACK/redis/redis.pid"
redis_ready() { [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]; }

up_redis() {
    if ! pid_alive "$REDIS_PID" redis-server; then
        ensure_port_free REDIS_PORT TIERGATE_REDIS_PORT
        log "starting redis on $REDIS_PORT"
        # A pure cache: no RDB snapshots, no AOF, so a restart starts empty like an outage would.
        redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes \
            --save '' --appendonly no --dir "$STACK/redis" \
            --pidfile "$REDIS_PID" --logfile "$STACK/redis/redis.log" \
            </dev/null >"$STACK/redis/start.out" 2>&1 9>&- \
            || { cat "$STACK/redis/start.out" >&2; die "redis did not start"; }
    fi
    wait_until 30 "redis" redis_ready || die "redis does not answer on $REDIS_PORT (log: $STACK/redis/redis.log)"
}

down_redis() {
    if pid_alive "$REDIS_PID" redis-server; then log "stopping redis"; fi
    stop_pid "$REDIS_PID" redis-server TERM "$REDIS_PORT"
}

# --- mongo (SecantusDB) --------------------------------------------------------------

MONGO_PID="$STACK/mongo/secantusd.pid"
MONGO_LOG="$STACK/mongo/secantusd.log"
mongo_ready() {
    "$VENV/bin/python" - "$MONGO_PORT" <<'PY'
import sys
from pymongo import MongoClient
client = MongoClient("127.0.0.1", int(sys.argv[1]), serverSelectionTimeoutMS=1000)
client.admin.command("ping")
PY
}

up_mongo() {
    ensure_venv
    if ! pid_alive "$MONGO_PID" secantusd; then
        ensure_port_free MONGO_PORT TIERGATE_MONGO_PORT
        log "starting SecantusDB on $MONGO_PORT"
        # An empty config file of our own: --config turns off the search for a stray
        # secantusd.toml in the current directory or ~/.secantus/.
        : >"$STACK/mongo/secantusd.toml"
        # secantusd-py stays in the foreground: detach it into its own session.
        (cd "$STACK/mongo" && exec setsid nohup "$VENV/bin/secantusd-py" \
            --config "$STACK/mongo/secantusd.toml" --host 127.0.0.1 --port "$MONGO_PORT" \
            --storage-path "$STACK/mongo/data" --log-level WARNING \
            </dev/null >>"$MONGO_LOG" 2>&1 9>&- &
         echo $! >"$MONGO_PID")
    fi
    wait_until 60 "SecantusDB" mongo_ready || { tail -n 20 "$MONGO_LOG" >&2; die "SecantusDB does not answer on $MONGO_PORT (log: $MONGO_LOG)"; }
    # `down` finds the server by this pid; make sure it is the server, not a wrapper.
    pid_alive "$MONGO_PID" secantusd || die "SecantusDB answers but $MONGO_PID does not name it"
    # The sample orgs of scripts/sample-orgs.json, upserted (rewritten) on every `up`.
    "$VENV/bin/python" "$ROOT/scripts/seed-orgs.py" --port "$MONGO_PORT" >&2
}

down_mongo() {
    if pid_alive "$MONGO_PID" secantusd; then log "stopping SecantusDB (takes a few seconds)"; fi
    # SIGTERM: SecantusDB closes WiredTiger cleanly (about 3-4 s).
    stop_pid "$MONGO_PID" secantusd TERM "$MONGO_PORT"
}

# --- pgbouncer -----------------------------------------------------------------------

PGB_DIR="$STACK/pgbouncer"
PGB_PID="$PGB_DIR/pgbouncer.pid"
pgbouncer_ready() { psql -X -q -h 127.0.0.1 -p "$PGBOUNCER_PORT" -U postgres -d pgbouncer -c 'SHOW VERSION' ; }

pgbouncer_reaches_postgres() {
    PGPASSWORD=app_pw PGCONNECT_TIMEOUT=5 psql -X -q -h 127.0.0.1 -p "$PGBOUNCER_PORT" -U app -d tiergate_test -c 'select 1'
}

pgbouncer_write_config() {
    # The [pgbouncer] section from the repo's template (see pgbouncer/README.md).
    sed -e "s|@LISTEN_PORT@|$PGBOUNCER_PORT|g" -e "s|@RUN_DIR@|$RUN_DIR|g" \
        -e "s|@PGBOUNCER_DIR@|$PGB_DIR|g" -e "s|@PG_PORT@|$PG_PORT|g" \
        "$ROOT/pgbouncer/pgbouncer.base.ini" >"$PGB_DIR/pgbouncer.ini"
    # The [databases] file is the generator's to own once it exists; the stack writes
    # its catch-all only when the file is missing or is still the stack's own.
    if [[ ! -f $PGB_DIR/databases.ini ]] || head -n1 "$PGB_DIR/databases.ini" | grep -q '^; stack.sh default'; then
        cat >"$PGB_DIR/databases.ini" <<EOF
; stack.sh default: every database name maps to the same name on the stack's Postgres.
[databases]
* = host=127.0.0.1 port=$PG_PORT
EOF
    fi
    # Plain-text passwords: PgBouncer needs them to log in to Postgres with SCRAM.
    # postgres is let in by pgbouncer_hba.conf without one; it must still be listed.
    {
        echo '"app" "app_pw"'
        echo '"other" "other_pw"'
        local entry db role password
        for entry in "${SAMPLE_ORG_DATABASES[@]}"; do
            IFS=: read -r db role password <<<"$entry"
            echo "\"$role\" \"$password\""
        done
        echo '"postgres" ""'
    } >"$PGB_DIR/userlist.txt"
    cat >"$PGB_DIR/pgbouncer_hba.conf" <<'EOF'
# TYPE  DATABASE  USER      ADDRESS        METHOD
local   all       postgres                 trust
host    all       postgres  127.0.0.1/32   trust
local   all       all                      scram-sha-256
host    all       all       127.0.0.1/32   scram-sha-256
EOF
    chown postgres:postgres "$PGB_DIR"/*.ini "$PGB_DIR"/*.txt "$PGB_DIR"/*.conf
    chmod 0600 "$PGB_DIR/userlist.txt"
}

up_pgbouncer() {
    if ! pid_alive "$PGB_PID" pgbouncer; then
        ensure_port_free PGBOUNCER_PORT TIERGATE_PGBOUNCER_PORT
        pgbouncer_write_config
        log "starting pgbouncer on $PGBOUNCER_PORT"
        # max_client_conn = 2000 needs more descriptors than the usual 1024.
        (ulimit -n 4096 2>/dev/null || true
         as_postgres pgbouncer -q -d "$PGB_DIR/pgbouncer.ini" </dev/null >"$PGB_DIR/start.out" 2>&1 9>&-) \
            || { cat "$PGB_DIR/start.out" >&2; die "pgbouncer did not start (log: $PGB_DIR/pgbouncer.log)"; }
    fi
    wait_until 30 "pgbouncer" pgbouncer_ready || die "pgbouncer does not answer on $PGBOUNCER_PORT (log: $PGB_DIR/pgbouncer.log)"
    # End to end (client SCRAM, then PgBouncer's own login to Postgres), when Postgres is up.
    # Retried: after Postgres was down, PgBouncer waits server_login_retry before logging in again.
    if pg_ready 2>/dev/null; then
        wait_until 15 "pgbouncer to postgres" pgbouncer_reaches_postgres \
            || die "app cannot reach tiergate_test through pgbouncer (log: $PGB_DIR/pgbouncer.log)"
    fi
}

down_pgbouncer() {
    if pid_alive "$PGB_PID" pgbouncer; then log "stopping pgbouncer"; fi
    # PgBouncer 1.18: SIGTERM is an immediate shutdown (SIGINT would wait for clients).
    stop_pid "$PGB_PID" pgbouncer TERM "$PGBOUNCER_PORT"
}

# --- commands ------------------------------------------------------------------------

print_urls() {
    local s
    for s in "$@"; do
        case $s in
        postgres)  echo "postgres   postgresql://acme_app:acme_pw@127.0.0.1:$PG_PORT/acme   (superuser: postgres, no password)";;
        pgbouncer) echo "pgbouncer  postgresql://acme_app:acme_pw@127.0.0.1:$PGBOUNCER_PORT/acme   (admin: psql -h 127.0.0.1 -p $PGBOUNCER_PORT -U postgres pgbouncer)";;
        redis)     echo "redis      redis://127.0.0.1:$REDIS_PORT";;
        mongo)     echo "mongo      mongodb://127.0.0.1:$MONGO_PORT   (SecantusDB; orgs in dynabase.organizations)";;
        esac
    done
}

print_env() {
    echo "export TIERGATE_PG_PORT=$PG_PORT"
    echo "export TIERGATE_REDIS_PORT=$REDIS_PORT"
    echo "export TIERGATE_MONGO_PORT=$MONGO_PORT"
    echo "export TIERGATE_PGBOUNCER_PORT=$PGBOUNCER_PORT"
}

# Checked in the main shell: a die inside select_services' process substitution would
# not stop the script.
check_services() {
    local a
    for a in "$@"; do
        [[ " ${ALL_SERVICES[*]} " == *" $a "* ]] || die "unknown service '$a' (expected: ${ALL_SERVICES[*]})"
    done
}

# Order matters: up starts Postgres before PgBouncer; down stops PgBouncer first.
select_services() {   # select_services ORDER_ARRAY_NAME ARGS...: print chosen services in order
    local -n order=$1; shift
    local s a
    for s in "${order[@]}"; do
        if (($# == 0)); then echo "$s"; continue; fi
        for a in "$@"; do [[ $a == "$s" ]] && echo "$s"; done
    done | awk '!seen[$0]++'
}

cmd_up() {
    local services s
    check_services "$@"
    mapfile -t services < <(select_services ALL_SERVICES "$@")
    ensure_packages
    ensure_dirs
    for s in "${services[@]}"; do "up_$s"; done
    print_urls "${services[@]}"
}

cmd_down() {
    local services s down_order=(pgbouncer mongo redis postgres)
    check_services "$@"
    mapfile -t services < <(select_services down_order "$@")
    [[ -d $STACK ]] || return 0
    for s in "${services[@]}"; do "down_$s"; done
}

cmd_status() {
    local state
    state=$(pg_running 2>/dev/null && echo running || echo stopped);  printf '%-10s %-8s 127.0.0.1:%s\n' postgres "$state" "$PG_PORT"
    state=$(pid_alive "$REDIS_PID" redis-server && echo running || echo stopped); printf '%-10s %-8s 127.0.0.1:%s\n' redis "$state" "$REDIS_PORT"
    state=$(pid_alive "$MONGO_PID" secantusd && echo running || echo stopped); printf '%-10s %-8s 127.0.0.1:%s\n' mongo "$state" "$MONGO_PORT"
    state=$(pid_alive "$PGB_PID" pgbouncer && echo running || echo stopped); printf '%-10s %-8s 127.0.0.1:%s\n' pgbouncer "$state" "$PGBOUNCER_PORT"
}

cmd_reset() {
    (($# == 0)) || die "reset takes no service: it deletes all of .stack/"
    cmd_down
    log "deleting $STACK"
    rm -rf "$STACK"
}

main() {
    local cmd=${1:-}; shift || true
    case $cmd in
    up|down|reset)
        [[ $EUID -eq 0 ]] || die "run as root (it installs packages and switches to the postgres user)"
        mkdir -p "$STACK"
        # One stack command at a time: tests may call down/up from parallel processes.
        # Every daemon is started with 9>&- so that it does not inherit (and hold) the lock.
        exec 9>"$STACK/.lock"
        flock -w 600 9 || die "another scripts/stack.sh is still running (lock: $STACK/.lock)"
        "cmd_$cmd" "$@";;
    env)    print_env;;
    status) cmd_status;;
    *)      sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; [[ -z $cmd || $cmd == help || $cmd == -h ]] || exit 2;;
    esac
}

# Sourcing the file (for a check of one function) defines everything and runs nothing.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then main "$@"; fi
