#!/usr/bin/env bash
# majlis local runner — `make run`
#
# Builds the workspace, migrates the DB, starts every service plus the nginx
# edge, prints where everything runs and waits. Ctrl-C / SIGTERM (or any
# child exiting, unless MAJLIS_TOLERATE_EXIT lists it) stops everything.
#
# Knobs (environment):
#   GATEWAY_REPLICAS   1 or 2 (default 1) — chat/presence gateway replicas
#   PROFILE            dev (default) | release
#   MAJLIS_DB_NAME     database name (default majlis)
#   EDGE_PORT          nginx edge port (default 8080)
#   EDGE_BIND          nginx listen address (default 127.0.0.1)
#   NGINX_WORKERS      nginx worker_processes: auto (default, one per core) or a number; each
#                      worker proxies up to ~8k WebSockets (its 20000-fd limit), so `make bench`
#                      raises it for tens of thousands of idle sockets
#   NGINX_AUTH_RATE    per client address on /api/auth/ (register, login, logout): sustained
#                      rate (default 10r/s), NGINX_AUTH_BURST requests above it (50, the first
#                      NGINX_AUTH_DELAY=20 at once, the rest slowed to the rate), NGINX_AUTH_CONN
#                      requests in flight (20); over either: 429 JSON
#   NGINX_CLIENT_TIMEOUT  a client's time to send its headers, or between body reads (15s)
#   NGINX_PROXY_TIMEOUT   an API service's time to answer (60s); see deploy/nginx/render.sh
#   PORT_BASE          services listen on PORT_BASE+1.. (HTTP) and PORT_BASE+1001.. (gRPC);
#                      default 8100, i.e. 8101-8105 and 9101-9103
#   MAJLIS_RUN_DIR     where logs, pids and the nginx config go (default .run)
#   HEALTH_TIMEOUT     seconds to wait for /healthz of all services (default 30)
#   MAJLIS_SKIP_BUILD  1 = do not run cargo build (use existing binaries)
#   MAJLIS_BIN_DIR     directory with the service binaries (overrides target/<profile>)
#   MAJLIS_TOLERATE_EXIT  services whose exit does not stop the stack, comma- or
#                      space-separated: "chat-gateway" covers every replica,
#                      "chat-gateway-2" only that one (default: none; the
#                      reconnect-storm benchmark kills a replica on purpose)
#   RUST_LOG and every MAJLIS_* variable below may be preset to override defaults.
set -euo pipefail

export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO_ROOT"

RUN_DIR="${MAJLIS_RUN_DIR:-$REPO_ROOT/.run}"
LOG_DIR="$RUN_DIR/logs"
NGINX_DIR="$RUN_DIR/nginx"
PIDS_FILE="$RUN_DIR/pids"
RENDER="$REPO_ROOT/deploy/nginx/render.sh"

GATEWAY_REPLICAS="${GATEWAY_REPLICAS:-1}"
PROFILE="${PROFILE:-dev}"
MAJLIS_DB_NAME="${MAJLIS_DB_NAME:-majlis}"
EDGE_PORT="${EDGE_PORT:-8080}"
EDGE_BIND="${EDGE_BIND:-127.0.0.1}"
HEALTH_TIMEOUT="${HEALTH_TIMEOUT:-30}"
NGINX_WORKERS="${NGINX_WORKERS:-auto}"
PORT_BASE="${PORT_BASE:-8100}"
[[ "$PORT_BASE" =~ ^[0-9]+$ ]] || { echo "run: ERROR: PORT_BASE must be a number" >&2; exit 1; }
p() { echo "127.0.0.1:$((PORT_BASE + $1))"; }

if [[ -t 1 ]]; then _B=$'\033[1m' _N=$'\033[0m'; else _B='' _N=''; fi
log()  { printf '%srun:%s %s\n' "$_B" "$_N" "$*"; }
die()  { printf 'run: ERROR: %s\n' "$*" >&2; exit 1; }

case "$GATEWAY_REPLICAS" in 1|2) ;; *) die "GATEWAY_REPLICAS must be 1 or 2 (got '$GATEWAY_REPLICAS')";; esac
case "$PROFILE" in dev|debug|release) ;; *) die "PROFILE must be dev or release (got '$PROFILE')";; esac
[[ "$MAJLIS_DB_NAME" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "MAJLIS_DB_NAME must match [A-Za-z_][A-Za-z0-9_]* (got '$MAJLIS_DB_NAME')"
[[ "$EDGE_PORT" =~ ^[0-9]+$ ]] || die "EDGE_PORT must be a number (got '$EDGE_PORT')"
[[ "$NGINX_WORKERS" == auto || "$NGINX_WORKERS" =~ ^[1-9][0-9]*$ ]] || die "NGINX_WORKERS must be auto or a number (got '$NGINX_WORKERS')"
NGINX_WORKERS="$NGINX_WORKERS" bash "$RENDER" --check-knobs || exit 1

mkdir -p "$LOG_DIR" "$NGINX_DIR"

# ----------------------------------------------------------------- helpers
# alive PID: process exists and is not a zombie
alive() {
    local pid="$1" state
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
    state="$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)"
    [[ "$state" != Z ]]
}

# port_busy HOST:PORT — something already accepts connections there
port_busy() {
    local host="${1%:*}" port="${1##*:}"
    (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
}

# --------------------------------------------- leftovers of a previous run
kill_stale() {
    [[ -f "$PIDS_FILE" ]] || return 0
    local name pid cmd victims=()
    while read -r name pid; do
        [[ -n "${pid:-}" ]] || continue
        alive "$pid" || continue
        # make sure the PID was not recycled by something unrelated
        cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
        case "$name" in
            nginx) [[ "$cmd" == *nginx* ]] || continue ;;
            *)     [[ "$cmd" == *"${name%-[0-9]}"* ]] || continue ;;
        esac
        log "stopping stale $name (pid $pid) from a previous run"
        kill -TERM "$pid" 2>/dev/null || true
        victims+=("$pid")
    done <"$PIDS_FILE"
    local deadline=$((SECONDS + 10)) p
    for p in "${victims[@]}"; do
        while alive "$p" && (( SECONDS < deadline )); do sleep 0.2; done
        alive "$p" && kill -KILL "$p" 2>/dev/null || true
    done
    rm -f "$PIDS_FILE"
}
kill_stale
# an nginx left behind without a pids entry
if [[ -f "$NGINX_DIR/nginx.pid" ]]; then
    stale_ngx="$(cat "$NGINX_DIR/nginx.pid" 2>/dev/null || true)"
    if [[ "$stale_ngx" =~ ^[0-9]+$ ]] && alive "$stale_ngx" \
        && tr '\0' ' ' <"/proc/$stale_ngx/cmdline" 2>/dev/null | grep -q nginx; then
        log "stopping stale nginx (pid $stale_ngx)"
        kill -TERM "$stale_ngx" 2>/dev/null || true
        for _ in $(seq 50); do alive "$stale_ngx" || break; sleep 0.2; done
        alive "$stale_ngx" && kill -KILL "$stale_ngx" 2>/dev/null || true
    fi
    rm -f "$NGINX_DIR/nginx.pid"
fi

# ------------------------------------------------------------ 1. deps
bash "$REPO_ROOT/deploy/local/ensure-deps.sh" --nginx
NGINX_BIN="${NGINX_BIN:-$(command -v nginx || true)}"
[[ -n "$NGINX_BIN" && -x "$NGINX_BIN" ]] || die "nginx binary not found"

# -------------------------------------------------------- 2. database
log "ensuring database '$MAJLIS_DB_NAME' exists"
if ! psql -h 127.0.0.1 -U postgres -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname='$MAJLIS_DB_NAME'" | grep -q 1; then
    createdb -h 127.0.0.1 -U postgres "$MAJLIS_DB_NAME"
    log "created database '$MAJLIS_DB_NAME'"
fi

# ----------------------------------------------------------- 3. build
if [[ "$PROFILE" == release ]]; then PROFILE_DIR=release; else PROFILE_DIR=debug; fi
if [[ -n "${MAJLIS_BIN_DIR:-}" ]]; then
    BIN="$MAJLIS_BIN_DIR"
else
    TARGET_DIR="${CARGO_TARGET_DIR:-target}"
    [[ "$TARGET_DIR" = /* ]] || TARGET_DIR="$REPO_ROOT/$TARGET_DIR"
    BIN="$TARGET_DIR/$PROFILE_DIR"
fi
if [[ "${MAJLIS_SKIP_BUILD:-0}" != 1 ]]; then
    build_args=(build --workspace --bins)
    [[ "$PROFILE" == release ]] && build_args+=(--release)
    log "cargo ${build_args[*]}"
    cargo "${build_args[@]}"
fi
for b in auth-svc channels-svc onboarding-svc chat-gateway presence-gateway; do
    [[ -x "$BIN/$b" ]] || die "missing binary $BIN/$b (did the build produce it?)"
done

# ------------------------------------------------------ common env
export MAJLIS_DATABASE_URL="${MAJLIS_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/$MAJLIS_DB_NAME}"
export MAJLIS_REDIS_URL="${MAJLIS_REDIS_URL:-redis://127.0.0.1:6379}"
export MAJLIS_REDIS_PREFIX="${MAJLIS_REDIS_PREFIX:-majlis:}"
# Ed25519 keys, generated once into the run dir (deploy/gen-service-keys.sh):
# for gRPC, one per service that calls gRPC, every service getting the public
# key list and each caller only its own private key; for user tokens, one
# pair, every service getting the public key and auth-svc alone the signing
# key (step 5).
KEYS_DIR="$RUN_DIR/service-keys"
bash "$REPO_ROOT/deploy/gen-service-keys.sh" --dir "$KEYS_DIR" || die "cannot generate the service keys in $KEYS_DIR"
MAJLIS_SERVICE_PUBLIC_KEYS="$(cat "$KEYS_DIR/public-keys")"
MAJLIS_TOKEN_PUBLIC_KEY="$(cat "$KEYS_DIR/token-public-key")"
export MAJLIS_SERVICE_PUBLIC_KEYS MAJLIS_TOKEN_PUBLIC_KEY
unset MAJLIS_SERVICE_KEY MAJLIS_TOKEN_SIGNING_KEY
export MAJLIS_AUTH_GRPC_URL="${MAJLIS_AUTH_GRPC_URL:-http://$(p 1001)}"
export MAJLIS_CHANNELS_GRPC_URL="${MAJLIS_CHANNELS_GRPC_URL:-http://$(p 1002)}"
export MAJLIS_ONBOARDING_GRPC_URL="${MAJLIS_ONBOARDING_GRPC_URL:-http://$(p 1003)}"
export MAJLIS_TRUST_PROXY_HEADERS="${MAJLIS_TRUST_PROXY_HEADERS:-true}"
# A local stack serves one developer (or one test suite) from one address:
# registrations from it are counted, but not as strictly as a deployment's
# default of 60 an hour per address.
export MAJLIS_REGISTER_MAX_PER_ADDRESS="${MAJLIS_REGISTER_MAX_PER_ADDRESS:-1000}"
export RUST_LOG="${RUST_LOG:-info}"

# --------------------------------------------------------- 4. migrate
log "migrating ($BIN/auth-svc migrate)"
"$BIN/auth-svc" migrate 2>&1 | tee "$LOG_DIR/migrate.log" \
    || die "migration failed (see $LOG_DIR/migrate.log)"

# ----------------------------------------------------------- the SPA
# Built into web/dist (which the edge serves) when Node is available; a
# rebuild is skipped when nothing under web/src changed since the last one.
if [[ -f "$REPO_ROOT/web/package.json" && "${MAJLIS_SKIP_WEB:-0}" != 1 ]]; then
    if command -v npm >/dev/null 2>&1; then
        if [[ ! -f "$REPO_ROOT/web/dist/index.html" ]] \
            || [[ -n "$(find "$REPO_ROOT/web/src" "$REPO_ROOT/web/index.html" -newer "$REPO_ROOT/web/dist/index.html" -print -quit 2>/dev/null)" ]]; then
            log "building the SPA (web/dist)"
            (cd "$REPO_ROOT/web" && { [[ -d node_modules ]] || npm ci --no-audit --no-fund; } && npm run build) \
                >"$LOG_DIR/web-build.log" 2>&1 || die "the SPA build failed (see $LOG_DIR/web-build.log)"
        fi
    else
        log "npm not found: serving the placeholder page (install nodejs and npm for the SPA)"
    fi
fi

# ----------------------------------------------------- services table
# name | binary | http addr | grpc addr ("-" = none) | instance id ("-" = none)
SERVICES=(
    "auth-svc|auth-svc|$(p 1)|$(p 1001)|-"
    "channels-svc|channels-svc|$(p 2)|$(p 1002)|-"
    "onboarding-svc|onboarding-svc|$(p 3)|$(p 1003)|-"
    "chat-gateway-1|chat-gateway|$(p 4)|-|chat-1"
    "presence-gateway-1|presence-gateway|$(p 5)|-|presence-1"
)
if [[ "$GATEWAY_REPLICAS" == 2 ]]; then
    SERVICES+=(
        "chat-gateway-2|chat-gateway|$(p 14)|-|chat-2"
        "presence-gateway-2|presence-gateway|$(p 15)|-|presence-2"
    )
fi

for s in "${SERVICES[@]}"; do
    IFS='|' read -r name _ http grpc _ <<<"$s"
    for addr in "$http" "$grpc"; do
        [[ "$addr" == - ]] && continue
        port_busy "$addr" && die "$addr (for $name) is already in use — stop whatever listens there first"
    done
done
port_busy "127.0.0.1:$EDGE_PORT" && die "edge port $EDGE_PORT is already in use (set EDGE_PORT=...)"

# ------------------------------------------------- lifecycle / cleanup
declare -a CHILD_NAMES=() CHILD_PIDS=()
STOPPING=0

record_pid() { # name pid
    CHILD_NAMES+=("$1"); CHILD_PIDS+=("$2")
    printf '%s %s\n' "$1" "$2" >>"$PIDS_FILE"
}

stop_all() {
    (( STOPPING )) && return 0
    STOPPING=1
    trap '' INT TERM
    local i pid
    if (( ${#CHILD_PIDS[@]} )); then
        log "stopping ${#CHILD_PIDS[@]} process(es)…"
        # nginx first so no new traffic reaches the services
        for (( i=${#CHILD_PIDS[@]}-1; i>=0; i-- )); do
            pid="${CHILD_PIDS[$i]}"
            alive "$pid" && kill -TERM "$pid" 2>/dev/null || true
        done
        local deadline=$((SECONDS + 10)) any
        while (( SECONDS < deadline )); do
            any=0
            for pid in "${CHILD_PIDS[@]}"; do alive "$pid" && { any=1; break; }; done
            (( any )) || break
            sleep 0.2
        done
        for i in "${!CHILD_PIDS[@]}"; do
            pid="${CHILD_PIDS[$i]}"
            if alive "$pid"; then
                log "${CHILD_NAMES[$i]} (pid $pid) did not stop within 10s — SIGKILL"
                kill -KILL "$pid" 2>/dev/null || true
            fi
        done
        wait 2>/dev/null || true
    fi
    rm -f "$PIDS_FILE" "$NGINX_DIR/nginx.pid"
    log "stopped"
}

on_signal() {
    log "received SIG$1"
    stop_all
    exit 0
}
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM
trap 'rc=$?; stop_all; exit $rc' EXIT

show_log_tail() { # name
    local f="$LOG_DIR/$1.log"
    printf -- '----- %s (this run, last 40 lines) -----\n' "$f" >&2
    # only what this run wrote: everything after the last "starting" marker
    awk '/^===== .* starting /{buf=""; n=0; next} {buf=buf $0 "\n"} END{printf "%s", buf}' "$f" 2>/dev/null \
        | tail -n 40 >&2 || true
    printf -- '-----\n' >&2
}

# -------------------------------------------------------- 5. start
: >"$PIDS_FILE"
declare -A PID_OF=()
for s in "${SERVICES[@]}"; do
    IFS='|' read -r name bin http grpc inst <<<"$s"
    logf="$LOG_DIR/$name.log"
    printf '\n===== %s starting %s =====\n' "$(date -Is)" "$name" >>"$logf"
    envs=(MAJLIS_HTTP_ADDR="$http")
    unsets=()
    if [[ "$grpc" != - ]]; then envs+=(MAJLIS_GRPC_ADDR="$grpc"); else unsets+=(-u MAJLIS_GRPC_ADDR); fi
    if [[ "$inst" != - ]]; then envs+=(MAJLIS_INSTANCE_ID="$inst"); else unsets+=(-u MAJLIS_INSTANCE_ID); fi
    # keys go through the environment, never argv (ps would show them)
    key=""
    if [[ -s "$KEYS_DIR/$bin.key" ]]; then key="$(cat "$KEYS_DIR/$bin.key")"; else unsets+=(-u MAJLIS_SERVICE_KEY); fi
    token_key=""
    if [[ "$bin" == auth-svc ]]; then token_key="$(cat "$KEYS_DIR/token-signing.key")"; else unsets+=(-u MAJLIS_TOKEN_SIGNING_KEY); fi
    MAJLIS_SERVICE_KEY="$key" MAJLIS_TOKEN_SIGNING_KEY="$token_key" \
        env "${unsets[@]}" "${envs[@]}" "$BIN/$bin" >>"$logf" 2>&1 </dev/null &
    pid=$!
    record_pid "$name" "$pid"
    PID_OF[$name]="$pid"
    if [[ "$grpc" != - ]]; then log "started $name (pid $pid) http=$http grpc=$grpc"
    else log "started $name (pid $pid) http=$http"; fi
done

# ------------------------------------------------------ 6. health
log "waiting up to ${HEALTH_TIMEOUT}s for /healthz …"
declare -A HEALTHY=()
deadline=$((SECONDS + HEALTH_TIMEOUT))
while :; do
    pending=0
    for s in "${SERVICES[@]}"; do
        IFS='|' read -r name _ http _ _ <<<"$s"
        [[ -n "${HEALTHY[$name]:-}" ]] && continue
        if ! alive "${PID_OF[$name]}"; then
            printf 'run: ERROR: %s exited during startup\n' "$name" >&2
            show_log_tail "$name"
            exit 1
        fi
        code="$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://$http/healthz" || true)"
        if [[ "$code" == 200 ]]; then
            HEALTHY[$name]=1
            log "$name healthy"
        else
            pending=$((pending + 1))
        fi
    done
    (( pending == 0 )) && break
    if (( SECONDS >= deadline )); then
        for s in "${SERVICES[@]}"; do
            IFS='|' read -r name _ http _ _ <<<"$s"
            [[ -n "${HEALTHY[$name]:-}" ]] && continue
            printf 'run: ERROR: %s did not answer 200 on http://%s/healthz within %ss\n' "$name" "$http" "$HEALTH_TIMEOUT" >&2
            show_log_tail "$name"
        done
        exit 1
    fi
    sleep 0.5
done

# ------------------------------------------------------- 7. nginx
if [[ -d "$REPO_ROOT/web/dist" ]]; then WEB_ROOT="$REPO_ROOT/web/dist"; else WEB_ROOT="$REPO_ROOT/web/static"; fi
chat_servers="server $(p 4);"
presence_servers="server $(p 5);"
if [[ "$GATEWAY_REPLICAS" == 2 ]]; then
    chat_servers+=$'\n        server '"$(p 14)"';'
    presence_servers+=$'\n        server '"$(p 15)"';'
fi
if [[ "$(id -u)" == 0 ]]; then
    user_directive="user root;"
else
    user_directive="# (not root: workers run as $(id -un))"
fi

# reuseport: one listening socket per worker, so the kernel spreads
# connections evenly; with one shared socket the least busy worker takes
# nearly all of them and runs out of worker_connections long before the rest.
# The NGINX_* knobs (header) pass through the environment.
conf="$(USER_DIRECTIVE="$user_directive" NGINX_DIR="$NGINX_DIR" \
    ERROR_LOG="\"$LOG_DIR/nginx-error.log\"" ACCESS_LOG="\"$LOG_DIR/nginx-access.log\"" \
    EDGE_LISTEN="$EDGE_BIND:$EDGE_PORT reuseport" NGINX_WORKERS="$NGINX_WORKERS" WEB_ROOT="$WEB_ROOT" \
    AUTH_SERVER="$(p 1)" CHANNELS_SERVER="$(p 2)" ONBOARDING_SERVER="$(p 3)" \
    CHAT_GATEWAY_SERVERS="$chat_servers" PRESENCE_GATEWAY_SERVERS="$presence_servers" \
    bash "$RENDER")" || die "cannot render the nginx config"
mkdir -p "$NGINX_DIR/tmp"/{client_body,proxy,fastcgi,uwsgi,scgi}
printf '%s\n' "$conf" >"$NGINX_DIR/nginx.conf"

ngx_args=(-p "$NGINX_DIR/" -c "$NGINX_DIR/nginx.conf")
# -e (1.19.5+) keeps nginx from touching the compiled-in /var/log/nginx/error.log
if "$NGINX_BIN" -h 2>&1 | grep -q -- '-e filename'; then
    ngx_args+=(-e "$LOG_DIR/nginx-error.log")
fi
log "nginx -t"
"$NGINX_BIN" -t -q "${ngx_args[@]}" || die "nginx config test failed ($NGINX_DIR/nginx.conf)"
"$NGINX_BIN" "${ngx_args[@]}" -g 'daemon off;' >>"$LOG_DIR/nginx-stdout.log" 2>&1 </dev/null &
ngx_pid=$!
record_pid nginx "$ngx_pid"
edge_ok=0
for _ in $(seq 50); do
    alive "$ngx_pid" || break
    if [[ "$(curl -s -o /dev/null -m 1 -w '%{http_code}' "http://$EDGE_BIND:$EDGE_PORT/healthz" || true)" == 200 ]]; then
        edge_ok=1; break
    fi
    sleep 0.2
done
if (( ! edge_ok )); then
    printf 'run: ERROR: nginx edge did not come up on %s:%s\n' "$EDGE_BIND" "$EDGE_PORT" >&2
    tail -n 20 "$LOG_DIR/nginx-error.log" "$LOG_DIR/nginx-stdout.log" >&2 2>/dev/null || true
    exit 1
fi

# ------------------------------------------------------- 8. table
edge_host="$EDGE_BIND"; [[ "$edge_host" == 0.0.0.0 ]] && edge_host=127.0.0.1
{
    echo
    echo "majlis is running (profile=$PROFILE, gateway replicas=$GATEWAY_REPLICAS, db=$MAJLIS_DB_NAME)"
    echo
    printf '  %-20s %-22s %-18s %-7s %s\n' SERVICE HTTP GRPC PID LOG
    printf '  %-20s %-22s %-18s %-7s %s\n' edge/nginx "http://$edge_host:$EDGE_PORT" - "$ngx_pid" "$LOG_DIR/nginx-{access,error}.log"
    for s in "${SERVICES[@]}"; do
        IFS='|' read -r name _ http grpc _ <<<"$s"
        printf '  %-20s %-22s %-18s %-7s %s\n' "$name" "$http" "$grpc" "${PID_OF[$name]}" "$LOG_DIR/$name.log"
    done
    echo
    echo "  web:  http://$edge_host:$EDGE_PORT/   (root: $WEB_ROOT)"
    echo "  api:  http://$edge_host:$EDGE_PORT/api    docs: http://$edge_host:$EDGE_PORT/api/docs/auth.json"
    echo "  ws:   ws://$edge_host:$EDGE_PORT/ws/chat/…   ws://$edge_host:$EDGE_PORT/ws/presence"
    echo "  Ctrl-C to stop everything."
    echo
}

# ------------------------------------------------------- wait
# Returns when any child exits (or a signal arrives -> on_signal); a child
# that MAJLIS_TOLERATE_EXIT names is reported and the wait goes on without it.
tolerated() { # name
    local t list="${MAJLIS_TOLERATE_EXIT:-}"
    for t in ${list//,/ }; do
        [[ "$1" == "$t" || "$1" == "$t"-[0-9] ]] && return 0
    done
    return 1
}
set +e
rc=0
declare -a WATCH=("${!CHILD_PIDS[@]}")
all_alive() { local i; for i in "${WATCH[@]}"; do alive "${CHILD_PIDS[$i]}" || return 1; done; }
while :; do
    if all_alive; then
        if (( BASH_VERSINFO[0] > 5 || (BASH_VERSINFO[0] == 5 && BASH_VERSINFO[1] >= 1) )); then
            watched=(); for i in "${WATCH[@]}"; do watched+=("${CHILD_PIDS[$i]}"); done
            wait -n "${watched[@]}"; rc=$?
        else
            wait -n; rc=$?
        fi
    fi
    dead="" dead_i=""
    for i in "${WATCH[@]}"; do
        alive "${CHILD_PIDS[$i]}" || { dead="${CHILD_NAMES[$i]}"; dead_i="$i"; break; }
    done
    if [[ -n "$dead" ]] && tolerated "$dead"; then
        printf 'run: %s exited (status %s); MAJLIS_TOLERATE_EXIT lists it, the rest keeps running\n' "$dead" "$rc" >&2
        rest=(); for i in "${WATCH[@]}"; do [[ "$i" == "$dead_i" ]] || rest+=("$i"); done
        WATCH=("${rest[@]}")
        (( ${#WATCH[@]} )) && continue
    fi
    break
done
set -e
printf 'run: ERROR: %s exited (status %s) — stopping everything\n' "${dead:-a child}" "$rc" >&2
[[ -n "$dead" && "$dead" != nginx ]] && show_log_tail "$dead"
[[ "$dead" == nginx ]] && tail -n 20 "$LOG_DIR/nginx-error.log" >&2 2>/dev/null
exit 1
