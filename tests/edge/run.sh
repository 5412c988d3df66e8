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

rm -rf "$MAJLIS_RUN_DIR"
mkdir -p "$MAJLIS_RUN_DIR"
bash deploy/local/run.sh >"$MAJLIS_RUN_DIR/run.out" 2>&1 &
runner=$!
stop() {
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

status=0
python3 tests/edge/test_edge.py "http://127.0.0.1:$EDGE_PORT" || status=$?
MAJLIS_EDGE_URL="http://127.0.0.1:$EDGE_PORT" \
    cargo test -q --locked -p edge-tests -- --ignored || status=$?
if [[ $status -ne 0 ]]; then
    echo "edge: failures; service logs in $MAJLIS_RUN_DIR/logs" >&2
    for f in "$MAJLIS_RUN_DIR"/logs/*.log; do echo "== $f"; tail -n 20 "$f"; done >&2
fi
exit $status
