#!/usr/bin/env bash
# The web SPA suite: node deps, chromium, typecheck (the app, its unit tests and the e2e specs), ESLint
# (zero warnings), unit tests (vitest), build, then the browser e2e specs (TypeScript compiled by tsc;
# playwright-core + Debian chromium) against a whole stack started like `make run`, on spare ports
# and a database of its own. Ends with a line "N passed, N failed"; exits non-zero on any failure.
set -uo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WEB="$REPO_ROOT/web"
cd "$REPO_ROOT"

passed=0
failed=0
ok()   { passed=$((passed + $1)); }
bad()  { failed=$((failed + $1)); }
step() { printf '\n== web: %s\n' "$*"; }
finish() {
    echo
    echo "$passed passed, $failed failed"
    [[ $failed -eq 0 ]] && exit 0 || exit 1
}

# ------------------------------------------------------------ node deps
step "node dependencies"
lock_sum="$(sha256sum "$WEB/package-lock.json" | cut -d' ' -f1)"
if [[ ! -d "$WEB/node_modules" || "$(cat "$WEB/node_modules/.majlis-lock-sum" 2>/dev/null)" != "$lock_sum" ]]; then
    (cd "$WEB" && npm ci --no-audit --no-fund) || { echo "web: npm ci failed" >&2; bad 1; finish; }
    echo "$lock_sum" >"$WEB/node_modules/.majlis-lock-sum"
fi

# ------------------------------------------------------------ chromium
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [[ ! -x "$CHROMIUM" ]]; then
    if [[ $(id -u) -eq 0 ]]; then
        step "installing chromium"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
            || { echo "web: could not install chromium" >&2; bad 1; finish; }
    else
        echo "web: $CHROMIUM is missing and we are not root (apt-get install chromium)" >&2
        bad 1
        finish
    fi
fi
export CHROMIUM_PATH="$CHROMIUM"

cd "$WEB"
mkdir -p test-results

# ------------------------------------------------------------ static checks and unit tests
step "typecheck"
if npm run -s typecheck; then ok 1; else bad 1; fi

step "lint (eslint, zero warnings)"
if npm run -s lint; then ok 1; else bad 1; fi

step "unit tests (vitest)"
rm -f test-results/vitest.json
npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json
vstatus=$?
if [[ -s test-results/vitest.json ]]; then
    read -r vp vf < <(node -e 'const r=require("./test-results/vitest.json");console.log(r.numPassedTests, r.numFailedTests + (r.numRuntimeErrorTestSuites||0))')
    ok "$vp"; bad "$vf"
    [[ $vstatus -ne 0 && $vf -eq 0 ]] && bad 1
else
    bad 1
fi

step "build"
if npm run -s build; then ok 1; else bad 1; echo "web: build failed; skipping e2e" >&2; finish; fi

step "e2e specs (tsc → test-results/e2e)"
if npm run -s e2e:build; then ok 1; else bad 1; echo "web: the e2e specs do not compile; skipping e2e" >&2; finish; fi

# ------------------------------------------------------------ the stack
cd "$REPO_ROOT"
RUN_ID="$$"
export PORT_BASE="${WEB_TEST_PORT_BASE:-28100}"
export EDGE_PORT="${WEB_TEST_EDGE_PORT:-28080}"
export MAJLIS_DB_NAME="majlis_test_web_${RUN_ID}"
export MAJLIS_REDIS_PREFIX="majlis_test:web${RUN_ID}:"
export MAJLIS_RUN_DIR="$REPO_ROOT/.run/web-test"
export GATEWAY_REPLICAS=1
export RUST_LOG="${RUST_LOG:-warn}"
# The browser tests register users from 127.0.0.1: the edge's per-address
# auth limits (a production default of 5 r/s) are opened up for them.
export NGINX_AUTH_RATE=1000r/s NGINX_AUTH_BURST=1000 NGINX_AUTH_CONN=100
export MAJLIS_REGISTER_MAX_PER_ADDRESS=1000000
rm -rf "$MAJLIS_RUN_DIR"
mkdir -p "$MAJLIS_RUN_DIR"

step "starting the stack (cargo build --workspace --bins, then services + edge on :$EDGE_PORT)"
bash deploy/local/run.sh >"$MAJLIS_RUN_DIR/run.out" 2>&1 &
runner=$!
stop() {
    kill -TERM "$runner" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$runner" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$runner" 2>/dev/null || true
    psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS $MAJLIS_DB_NAME WITH (FORCE)" >/dev/null 2>&1 || true
}
trap stop EXIT

up=0
for _ in $(seq 1 1200); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$EDGE_PORT/healthz" 2>/dev/null; then up=1; break; fi
    kill -0 "$runner" 2>/dev/null || break
    sleep 0.5
done
if [[ $up -ne 1 ]]; then
    echo "web: the stack failed to start:" >&2
    tail -n 60 "$MAJLIS_RUN_DIR/run.out" >&2
    bad 1
    finish
fi
grep -q "root: $WEB/dist" "$MAJLIS_RUN_DIR/run.out" || echo "web: warning: the edge does not serve web/dist" >&2

# ------------------------------------------------------------ browser e2e
step "browser e2e (playwright-core + $CHROMIUM)"
cd "$WEB"
rm -rf test-results/screenshots
# A spec makes its system admin as an operator would (auth-svc grant-system-admin).
target_dir="${CARGO_TARGET_DIR:-target}"; [[ "$target_dir" = /* ]] || target_dir="$REPO_ROOT/$target_dir"
MAJLIS_AUTH_SVC_BIN="${MAJLIS_BIN_DIR:-$target_dir/debug}/auth-svc" \
MAJLIS_WEB_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$MAJLIS_DB_NAME" \
MAJLIS_WEB_URL="http://127.0.0.1:$EDGE_PORT" node --test --test-concurrency=1 --test-reporter=tap \
    test-results/e2e/*.spec.js >test-results/e2e.tap 2>&1
estatus=$?
grep -E '^(not )?ok |^# (pass|fail)' test-results/e2e.tap | grep -v '^    '
ep="$(sed -n 's/^# pass \([0-9]*\)$/\1/p' test-results/e2e.tap | tail -1)"
ef="$(sed -n 's/^# fail \([0-9]*\)$/\1/p' test-results/e2e.tap | tail -1)"
ok "${ep:-0}"; bad "${ef:-0}"
if [[ $estatus -ne 0 ]]; then
    [[ "${ef:-0}" -eq 0 ]] && bad 1
    echo "web: e2e failures (full TAP in web/test-results/e2e.tap):" >&2
    grep -A 25 '^not ok' test-results/e2e.tap | head -120 >&2
    for f in "$MAJLIS_RUN_DIR"/logs/*.log; do echo "== $f"; tail -n 15 "$f"; done >&2
fi
echo "web: screenshots in web/test-results/screenshots/"
finish
