#!/usr/bin/env bash
# `make bench`: builds release binaries, starts the whole stack behind nginx
# (two replicas of each gateway, limits opened up for load), runs the load
# generator's scenarios through the edge, prints each table and JSON line,
# and stops everything. Bounded to about 10 minutes on 2 cores (most of it
# the first release build). Results and their explanation: BENCHMARKS.md.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

SUBSCRIBERS="${BENCH_SUBSCRIBERS:-1000}"
RATES="${BENCH_RATES:-100,200,400}"
STEP_SECS="${BENCH_STEP_SECS:-5}"
IDLE="${BENCH_IDLE:-5000}"

export PROFILE=release GATEWAY_REPLICAS=2
# Below the ephemeral port range (32768+), where thousands of client sockets would collide.
export PORT_BASE="${BENCH_PORT_BASE:-24100}" EDGE_PORT="${BENCH_EDGE_PORT:-24080}"
export MAJLIS_DB_NAME="majlis_bench_$$" MAJLIS_REDIS_PREFIX="majlis_bench:$$:"
export MAJLIS_RUN_DIR="$REPO_ROOT/.run/bench" MAJLIS_SKIP_WEB=1 RUST_LOG="${RUST_LOG:-warn}"
# Load, not abuse: the per-socket and per-user limits would (rightly) stop a
# single publisher at hundreds of messages per second.
export MAJLIS_WS_FLOOD_RATE=1000000 MAJLIS_WS_FLOOD_BURST=1000000
export MAJLIS_USER_RATE_PER_SEC=1000000 MAJLIS_USER_RATE_BURST=1000000
export MAJLIS_WS_MAX_IN_FLIGHT=256 MAJLIS_DATABASE_POOL_SIZE=32
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

echo "bench: building release binaries (the first time takes several minutes)"
cargo build -q --release --workspace --bins
rm -rf "$MAJLIS_RUN_DIR" && mkdir -p "$MAJLIS_RUN_DIR"
MAJLIS_SKIP_BUILD=1 bash deploy/local/run.sh >"$MAJLIS_RUN_DIR/run.out" 2>&1 &
runner=$!
cleanup() {
    kill -TERM "$runner" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$runner" 2>/dev/null || break; sleep 0.5; done
    psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $MAJLIS_DB_NAME WITH (FORCE)" >/dev/null 2>&1 || true
    redis-cli --scan --pattern "majlis_bench:$$:*" | xargs -r -n 500 redis-cli unlink >/dev/null 2>&1 || true
}
trap cleanup EXIT
for _ in $(seq 1 240); do
    curl -fsS -o /dev/null "http://127.0.0.1:$EDGE_PORT/healthz" 2>/dev/null && break
    kill -0 "$runner" 2>/dev/null || { tail -n 40 "$MAJLIS_RUN_DIR/run.out"; exit 1; }
    sleep 0.5
done
pids_of() { awk -v n="$1" '$1 ~ n {print $2}' "$MAJLIS_RUN_DIR/pids" | paste -sd, -; }
CHAT="$(pids_of chat-gateway)"
ALL_SERVERS="$(awk '{print $2}' "$MAJLIS_RUN_DIR/pids" | paste -sd, -)"
LG="target/release/majlis-loadgen"
EDGE="http://127.0.0.1:$EDGE_PORT"
echo "bench: machine: $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB; chat-gateway pids $CHAT"

echo; echo "## (a) fan-out: 1 channel x $SUBSCRIBERS subscribers, 2 chat-gateway replicas"
"$LG" --scenario fanout --edge "$EDGE" --subscribers "$SUBSCRIBERS" --rates "$RATES" --step-secs "$STEP_SECS" --server-pids "$CHAT"
echo; echo "## (b) write path: 100 channels x 10 senders, one send in flight each"
"$LG" --scenario write --edge "$EDGE" --channels 100 --senders 10 --step-secs "$STEP_SECS" --server-pids "$ALL_SERVERS"
echo; echo "## (c) idle: $IDLE chat sockets"
"$LG" --scenario idle --edge "$EDGE" --idle "$IDLE" --server-pids "$CHAT"
