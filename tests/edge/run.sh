#!/usr/bin/env bash
# Starts the whole stack exactly as `make run` does (run.sh), on spare ports and
# a database of its own, runs the edge test suite against it, and stops it.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO_ROOT"
RUN_ID="${1:-edge_$$}"

export PORT_BASE="${EDGE_TEST_PORT_BASE:-18100}"
export EDGE_PORT="${EDGE_TEST_PORT:-18080}"
export MAJLIS_DB_NAME="majlis_test_${RUN_ID}_edge"
export MAJLIS_REDIS_PREFIX="majlis_test:${RUN_ID}:edge:"
export MAJLIS_RUN_DIR="$REPO_ROOT/.run/edge-test"
export GATEWAY_REPLICAS=2
export RUST_LOG="${RUST_LOG:-warn}"
# Every test registers its own users from 127.0.0.1: the edge's per-address
# auth limits are opened up here (the fault edge below tests them).
export NGINX_AUTH_RATE=1000r/s NGINX_AUTH_BURST=1000 NGINX_AUTH_CONN=100
export MAJLIS_REGISTER_MAX_PER_ADDRESS=1000000
# Schemathesis sends hundreds of requests a second as one user; the limit
# would answer most with 429 (documented, but then little else is tested).
export MAJLIS_USER_RATE_PER_SEC=1000 MAJLIS_USER_RATE_BURST=1000

rm -rf "$MAJLIS_RUN_DIR"
mkdir -p "$MAJLIS_RUN_DIR"
bash deploy/local/run.sh >"$MAJLIS_RUN_DIR/run.out" 2>&1 &
runner=$!
fault_pid=""
stop() {
    [[ -n "$fault_pid" ]] && kill -TERM "$fault_pid" 2>/dev/null || true
    kill -TERM "$runner" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$runner" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$runner" 2>/dev/null || true
}
trap stop EXIT

# Wait for the edge (the runner builds first, which may take a while cold).
for _ in $(seq 1 1200); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$EDGE_PORT/healthz" 2>/dev/null; then break; fi
    if ! kill -0 "$runner" 2>/dev/null; then
        echo "edge: the stack failed to start:" >&2
        tail -n 60 "$MAJLIS_RUN_DIR/run.out" >&2
        exit 1
    fi
    sleep 0.5
done
curl -fsS -o /dev/null "http://127.0.0.1:$EDGE_PORT/healthz" || { tail -n 60 "$MAJLIS_RUN_DIR/run.out" >&2; exit 1; }

# The fault edge: a second nginx from the same template, whose upstreams are
# down (auth, onboarding, the gateways: a closed port) or never answer
# (channels: the silent port, where the 504 test listens), with strict
# per-address auth limits and 2 s timeouts, for the errors a healthy stack
# never shows (502, 504, 429, a stalled client cut off).
FAULT_PORT="$((EDGE_PORT + 1))"
DEAD="127.0.0.1:$((PORT_BASE + 99))"
SILENT_PORT="$((PORT_BASE + 98))"
FAULT_DIR="$MAJLIS_RUN_DIR/fault-edge"
mkdir -p "$FAULT_DIR"/tmp/{client_body,proxy,fastcgi,uwsgi,scgi}
if [[ -d web/dist ]]; then web_root="$REPO_ROOT/web/dist"; else web_root="$REPO_ROOT/web/static"; fi
user_directive="# (not root)"; [[ "$(id -u)" == 0 ]] && user_directive="user root;"
USER_DIRECTIVE="$user_directive" NGINX_DIR="$FAULT_DIR" ERROR_LOG="$FAULT_DIR/error.log" \
    ACCESS_LOG="$FAULT_DIR/access.log" EDGE_LISTEN="127.0.0.1:$FAULT_PORT" NGINX_WORKERS=1 \
    WEB_ROOT="$web_root" AUTH_SERVER="$DEAD" CHANNELS_SERVER="127.0.0.1:$SILENT_PORT" \
    ONBOARDING_SERVER="$DEAD" CHAT_GATEWAY_SERVERS="server $DEAD;" PRESENCE_GATEWAY_SERVERS="server $DEAD;" \
    NGINX_AUTH_RATE=1r/m NGINX_AUTH_BURST=2 NGINX_AUTH_DELAY=2 NGINX_AUTH_CONN=1 NGINX_CLIENT_TIMEOUT=2s NGINX_PROXY_TIMEOUT=2s \
    bash deploy/nginx/render.sh >"$FAULT_DIR/nginx.conf"
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
"$nginx_bin" -p "$FAULT_DIR/" -c "$FAULT_DIR/nginx.conf" -e "$FAULT_DIR/error.log" -g 'daemon off;' \
    >"$FAULT_DIR/stdout.log" 2>&1 </dev/null &
fault_pid=$!
for _ in $(seq 1 50); do
    curl -fsS -o /dev/null "http://127.0.0.1:$FAULT_PORT/healthz" 2>/dev/null && break
    kill -0 "$fault_pid" 2>/dev/null || { cat "$FAULT_DIR/stdout.log" "$FAULT_DIR/error.log" >&2; exit 1; }
    sleep 0.1
done

status=0
MAJLIS_EDGE_FAULT_URL="http://127.0.0.1:$FAULT_PORT" MAJLIS_EDGE_SILENT_PORT="$SILENT_PORT" \
    python3 tests/edge/test_edge.py "http://127.0.0.1:$EDGE_PORT" || status=$?
MAJLIS_EDGE_URL="http://127.0.0.1:$EDGE_PORT" \
    MAJLIS_EDGE_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$MAJLIS_DB_NAME" \
    cargo test -q --locked -p edge-tests -- --ignored || status=$?
services=()
for i in 1 2 3 4 5; do services+=("http://127.0.0.1:$((PORT_BASE + i))"); done
bash tests/schema/run.sh "http://127.0.0.1:$EDGE_PORT" "${services[@]}" || status=$?
if [[ $status -ne 0 ]]; then
    echo "edge: failures; service logs in $MAJLIS_RUN_DIR/logs" >&2
    for f in "$MAJLIS_RUN_DIR"/logs/*.log; do echo "== $f"; tail -n 20 "$f"; done >&2
fi
exit $status
