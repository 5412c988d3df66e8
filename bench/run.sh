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
# Direct to the gateways (and the Socket.IO peer, also direct) the steps go
# further, to show where latency gives way.
DIRECT_RATES="${BENCH_DIRECT_RATES:-200,400,800}"
STEP_SECS="${BENCH_STEP_SECS:-5}"
IDLE="${BENCH_IDLE:-20000}"
IDLE_PRESENCE="${BENCH_IDLE_PRESENCE:-20000}"
PRESENCE="${BENCH_PRESENCE:-5000}"
PRESENCE_CHANNELS="${BENCH_PRESENCE_CHANNELS:-20}"
STORM_SUBSCRIBERS="${BENCH_STORM_SUBSCRIBERS:-5000}"
STORM_RATE="${BENCH_STORM_RATE:-100}"
# A comma-separated subset of fanout,direct,write,idle,presence,storm,peer
# (all when empty), for working on one figure; the peer needs direct.
ONLY="${BENCH_ONLY:-}"
want() { [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]; }

export PROFILE=release GATEWAY_REPLICAS=2
# Below the ephemeral port range (32768+), where thousands of client sockets would collide.
export PORT_BASE="${BENCH_PORT_BASE:-24100}" EDGE_PORT="${BENCH_EDGE_PORT:-24080}"
export MAJLIS_DB_NAME="majlis_bench_$$" MAJLIS_REDIS_PREFIX="majlis_bench:$$:"
export MAJLIS_RUN_DIR="$REPO_ROOT/.run/bench" MAJLIS_SKIP_WEB=1 RUST_LOG="${RUST_LOG:-warn}"
# Load, not abuse: the per-socket and per-user limits would (rightly) stop a
# single publisher at hundreds of messages per second.
export MAJLIS_WS_FLOOD_RATE=1000000 MAJLIS_WS_FLOOD_BURST=1000000
# Thousands of sockets per bench user (8 users hold 20k idle sockets).
export MAJLIS_WS_MAX_SOCKETS_PER_USER=1000000
export MAJLIS_USER_RATE_PER_SEC=1000000 MAJLIS_USER_RATE_BURST=1000000
export MAJLIS_WS_MAX_IN_FLIGHT=256 MAJLIS_DATABASE_POOL_SIZE=32
# Thousands of users register and log in from 127.0.0.1: the edge's
# per-address auth limits would (rightly) stop that too.
export NGINX_AUTH_RATE=100000r/s NGINX_AUTH_BURST=100000 NGINX_AUTH_CONN=60000
export MAJLIS_REGISTER_MAX_PER_ADDRESS=1000000
# (e) kills a chat-gateway replica on purpose: the stack must outlive it.
export MAJLIS_TOLERATE_EXIT=chat-gateway
# The hard nofile limit is per process (20000 here, and root cannot raise
# it), so (c) spreads its sockets over loadgen worker processes and nginx
# over enough workers: each proxies ~5k sockets (client + upstream fds),
# well inside its 16384 worker_connections.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
nginx_workers=$(( (IDLE + IDLE_PRESENCE + 4999) / 5000 ))
export NGINX_WORKERS="${BENCH_NGINX_WORKERS:-$(( nginx_workers > 2 ? nginx_workers : 2 ))}"

echo "bench: building release binaries (the first time takes several minutes)"
cargo build -q --release --workspace --bins
rm -rf "$MAJLIS_RUN_DIR" && mkdir -p "$MAJLIS_RUN_DIR"
MAJLIS_SKIP_BUILD=1 bash deploy/local/run.sh >"$MAJLIS_RUN_DIR/run.out" 2>&1 &
runner=$!
cleanup() {
    [ -z "${SIO_PIDS:-}" ] || kill -TERM $SIO_PIDS 2>/dev/null || true
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

want fanout && { echo; echo "## (a) fan-out: 1 channel x $SUBSCRIBERS subscribers, 2 chat-gateway replicas"
"$LG" --scenario fanout --edge "$EDGE" --subscribers "$SUBSCRIBERS" --rates "$RATES" --step-secs "$STEP_SECS" --server-pids "$CHAT" \
    | tee "$MAJLIS_RUN_DIR/fanout.out"; }
# The same, straight to the two chat-gateways: their own figure without the
# edge, and the like-for-like comparison with the Socket.IO peer (also direct).
DIRECT="http://127.0.0.1:$((PORT_BASE + 4)),http://127.0.0.1:$((PORT_BASE + 14))"
want direct && { echo; echo "## (a) fan-out, direct: the same against the chat-gateways, without nginx"
"$LG" --scenario fanout --edge "$EDGE" --direct-urls "$DIRECT" --subscribers "$SUBSCRIBERS" --rates "$DIRECT_RATES" \
    --step-secs "$STEP_SECS" --server-pids "$CHAT" | tee "$MAJLIS_RUN_DIR/fanout-direct.out"; }
want write && { echo; echo "## (b) write path: 100 channels x 10 senders, one send in flight each"
"$LG" --scenario write --edge "$EDGE" --channels 100 --senders 10 --step-secs "$STEP_SECS" --server-pids "$ALL_SERVERS"; }
want idle && { echo; echo "## (c) idle: $IDLE chat + $IDLE_PRESENCE presence sockets, 2 replicas each, $NGINX_WORKERS nginx workers"
"$LG" --scenario idle --edge "$EDGE" --idle "$IDLE" --idle-presence "$IDLE_PRESENCE" --step-secs "$STEP_SECS" \
    --server-pids "$CHAT" --presence-pids "$(pids_of presence-gateway)"; }
want presence && { echo; echo "## (d) channel_created: $PRESENCE_CHANNELS channels to $PRESENCE presence sockets, 2 presence-gateway replicas"
"$LG" --scenario presence --edge "$EDGE" --presence "$PRESENCE" --channels "$PRESENCE_CHANNELS" \
    --server-pids "$(pids_of presence-gateway)"; }
# Last of the majlis scenarios: it leaves one chat-gateway replica dead.
want storm && { echo; echo "## (e) reconnect storm: $STORM_SUBSCRIBERS subscribers, $STORM_RATE msg/s, kill -9 of chat-gateway-2"
"$LG" --scenario storm --edge "$EDGE" --subscribers "$STORM_SUBSCRIBERS" --rate "$STORM_RATE" \
    --kill-pid "$(pids_of chat-gateway-2)"; }

# Issue #8's peer: Socket.IO 4 + @socket.io/redis-adapter, two processes on the
# same Redis, running (a) under the same generator; then the ratio to majlis.
SIO_DIR="$REPO_ROOT/bench/socketio-peer"
SIO_PORT="${BENCH_SIO_PORT:-24090}"
want peer && echo && echo "## peer: Socket.IO 4 + redis-adapter, 2 processes, 1 room x $SUBSCRIBERS subscribers (direct, no nginx)"
if ! want peer || ! want direct; then
    echo "bench: BENCH_ONLY=$ONLY: the peer is skipped"
elif ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "bench: node or npm is not installed; skipping the Socket.IO peer"
elif [ ! -d "$SIO_DIR/node_modules" ] && ! (cd "$SIO_DIR" && npm ci --silent --no-audit --no-fund); then
    echo "bench: npm ci failed in bench/socketio-peer; skipping the Socket.IO peer"
else
    SIO_PIDS="" SIO_URLS=""
    for port in "$SIO_PORT" "$((SIO_PORT + 1))"; do
        PORT="$port" SIO_REDIS_KEY="majlis_bench:$$:sio" \
            node "$SIO_DIR/server.js" >"$MAJLIS_RUN_DIR/sio-$port.log" 2>&1 &
        SIO_PIDS="$SIO_PIDS $!" SIO_URLS="${SIO_URLS:+$SIO_URLS,}http://127.0.0.1:$port"
    done
    for port in "$SIO_PORT" "$((SIO_PORT + 1))"; do
        log="$MAJLIS_RUN_DIR/sio-$port.log"
        for _ in $(seq 1 60); do grep -q listening "$log" && break; sleep 0.25; done
        grep -q listening "$log" || { echo "bench: the Socket.IO peer on :$port did not start"; cat "$log"; exit 1; }
    done
    SIO_PID_LIST="$(echo $SIO_PIDS | tr ' ' ,)"
    echo "bench: Socket.IO peer pids $SIO_PID_LIST"
    "$LG" --scenario sio-fanout --sio-urls "$SIO_URLS" --subscribers "$SUBSCRIBERS" --rates "$DIRECT_RATES" \
        --step-secs "$STEP_SECS" --server-pids "$SIO_PID_LIST" | tee "$MAJLIS_RUN_DIR/sio-fanout.out"
    # Stopped now, not at exit, so they cost nothing to whatever runs next.
    kill -TERM $SIO_PIDS 2>/dev/null || true
    wait $SIO_PIDS 2>/dev/null || true
    SIO_PIDS=""
    echo; echo "## (a) majlis / Socket.IO, both direct (no nginx)"
    python3 - "$MAJLIS_RUN_DIR/fanout-direct.out" "$MAJLIS_RUN_DIR/sio-fanout.out" <<'EOF'
import json, sys

def last_json(path):
    rows = [json.loads(l) for l in open(path) if l.startswith("{")]
    if not rows:
        sys.exit(f"bench: no JSON line in {path}")
    return rows[-1]

majlis, sio = last_json(sys.argv[1]), last_json(sys.argv[2])
out = {"scenario": "fanout-vs-socketio"}
print("| figure | majlis | Socket.IO | majlis / Socket.IO | better when |")
print("|---|---|---|---|---|")
for name, key, better in [
    ("deliveries/s", "per_sec", "higher"),
    ("p99 ms", "p99_ms", "lower"),
    ("server µs per delivery", "server_cpu_us_per_delivery", "lower"),
]:
    m, s = majlis[key], sio[key]
    ratio = m / s if s else None
    out[key + "_ratio"] = ratio
    shown = "n/a" if ratio is None else f"{ratio:.2f}"
    print(f"| {name} | {m:,.2f} | {s:,.2f} | {shown} | {better} |")
print(f"| lost / duplicated | {majlis['lost']:.0f} / {majlis['duplicated']:.0f} "
      f"| {sio['lost']:.0f} / {sio['duplicated']:.0f} | | |")
print(json.dumps(out))
EOF
fi
