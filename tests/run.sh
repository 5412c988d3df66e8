#!/usr/bin/env bash
# The test harness behind `make test`.
#
#   tests/run.sh all     fmt + clippy + cargo tests + edge tests + web tests (what CI runs)
#   tests/run.sh rust    fmt + clippy + cargo tests
#   tests/run.sh edge    the tests through the nginx edge only
#   tests/run.sh web     the SPA: typecheck, Vitest, build, browser e2e (Debian chromium)
#   tests/run.sh deploy  offline checks of the Docker, compose, kustomize and Helm files
#   tests/run.sh clean   drop leftovers of interrupted runs
#
# Each run gets its own PostgreSQL database (majlis_test_<run>) and Redis key
# prefix (majlis_test:<run>:), removed when the run ends, pass or fail.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"
mode="${1:-all}"

log() { printf '\033[1mtest:\033[0m %s\n' "$*"; }
PSQL=(psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -qAt)

clean_run() {
    local run="$1"
    for db in $("${PSQL[@]}" -c "SELECT datname FROM pg_database WHERE datname LIKE 'majlis_test_${run}%'" 2>/dev/null); do
        "${PSQL[@]}" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
    done
    redis-cli -h 127.0.0.1 --scan --pattern "majlis_test:${run}*" 2>/dev/null \
        | xargs -r -n 500 redis-cli -h 127.0.0.1 unlink >/dev/null 2>&1 || true
}

bash deploy/local/ensure-deps.sh

if [[ "$mode" == clean ]]; then
    clean_run ""
    log "removed leftover test databases and keys"
    exit 0
fi

RUN_ID="$(date +%s)_$$"
export MAJLIS_TEST_RUN_ID="$RUN_ID"
export MAJLIS_TEST_REDIS_PREFIX="majlis_test:$RUN_ID"
trap 'clean_run "$RUN_ID"' EXIT

rust_tests() {
    log "cargo fmt --check"
    cargo fmt --all -- --check
    log "cargo clippy -D warnings"
    cargo clippy --workspace --all-targets --locked -- -D warnings
    local db="majlis_test_${RUN_ID}"
    "${PSQL[@]}" -c "CREATE DATABASE \"$db\"" >/dev/null
    export MAJLIS_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db"
    log "cargo test (database $db, redis prefix $MAJLIS_TEST_REDIS_PREFIX)"
    cargo test --workspace --locked --no-fail-fast
}

edge_tests() {
    log "edge tests (a full stack behind nginx on spare ports)"
    bash tests/edge/run.sh "$RUN_ID"
}

deploy_tests() {
    log "deploy checks (kustomize + Helm render, Kubernetes schemas, yamllint; offline after the first pip install)"
    bash tests/deploy/run.sh
}

web_tests() {
    log "web tests (typecheck, unit, build, browser e2e against a stack on spare ports)"
    bash tests/web/run.sh
}

case "$mode" in
    all) deploy_tests; rust_tests; edge_tests; web_tests ;;
    deploy) deploy_tests ;;
    rust) rust_tests ;;
    edge) edge_tests ;;
    web) web_tests ;;
    *) echo "usage: tests/run.sh all|rust|edge|web|deploy|clean" >&2; exit 2 ;;
esac
log "all green"
