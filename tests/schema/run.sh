#!/usr/bin/env bash
# Schemathesis against every service's OpenAPI document, through the edge:
# 0 server errors and 0 conformance failures (undocumented status codes or
# content types, schema-valid requests refused, responses that break their
# schema, 405 without Allow, ...). The ops endpoints (/healthz, /readyz,
# /metrics) are not routed by the edge, so they are checked on each
# service's own port. The WebSocket upgrades (/ws/...) are left out: a valid
# handshake switches protocols, which an HTTP tester cannot follow (its
# connection breaks on the next request); their refusal of a plain GET is in
# the gateways' tests, and their frames are fuzzed there.
#
#   bash tests/schema/run.sh EDGE_URL SERVICE_HTTP_URL...
#
# The edge suite (tests/edge/run.sh) calls it against its own stack.
# Knobs: SCHEMA_MAX_EXAMPLES (default 30), SCHEMA_SEED (default fixed, so a
# run is repeatable; set SCHEMA_SEED=random to explore).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO_ROOT"
VENV="$REPO_ROOT/.run/schema-venv"
REQS="$REPO_ROOT/tests/schema/requirements.txt"
STAMP="$VENV/.requirements.sha256"
EDGE="${1:?usage: tests/schema/run.sh EDGE_URL SERVICE_HTTP_URL...}"
shift
SERVICES=("$@")
MAX_EXAMPLES="${SCHEMA_MAX_EXAMPLES:-30}"
SEED="${SCHEMA_SEED:-20261201}"

log() { printf '\033[1mschema:\033[0m %s\n' "$*"; }
die() { printf 'schema: ERROR: %s\n' "$*" >&2; exit 1; }

want="$(sha256sum "$REQS" | cut -d' ' -f1)"
if [[ ! -x "$VENV/bin/python" ]]; then
    mkdir -p "$(dirname "$VENV")"
    python3 -m venv "$VENV" || die "python3 -m venv failed (Debian/Ubuntu: apt-get install python3-venv)"
fi
if [[ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]]; then
    log "installing schemathesis into $VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQS" \
        || die "pip install failed (first run needs PyPI; later runs are offline)"
    printf '%s\n' "$want" >"$STAMP"
fi
ST="$VENV/bin/schemathesis"

# A user with a team, so authenticated operations get past 401. Each
# document gets a token of its own: the auth document's logout revokes its
# token, and that must not turn every later check into a 401.
user="schema$(date +%s%N | tail -c 9)"
token() {
    python3 - "$EDGE" "$user" "$@" <<'PY'
import json, sys, urllib.request
edge, user, *first = sys.argv[1:]
def call(path, body, token=None):
    req = urllib.request.Request(edge + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"content-type": "application/json"})
    if token:
        req.add_header("authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)
password = "schemathesis passphrase"
if first:
    t = call("/api/auth/register", {"username": user, "email": user + "@example.org", "password": password})["token"]
    call("/api/teams", {"name": user, "display_name": "Schema"}, t)
print(call("/api/auth/login", {"login": user, "password": password})["token"])
PY
}
# Minted before any fuzzing: the auth document's wrong logins use up this
# address's login budget.
token first >/dev/null
tokens=()
for _ in 1 2 3 4 5 6 7; do tokens+=("$(token)"); done

# too_slow: generating a 16,000-character message is slow on a loaded
# 2-core machine (make test runs suites side by side); it says nothing of
# the API under test.
common=(--checks all --max-examples "$MAX_EXAMPLES" --request-timeout 10
        --generation-deterministic --no-color --suppress-health-check=too_slow)
[[ "$SEED" == random ]] || common+=(--seed "$SEED")

status=0
n=0
for doc in onboarding channels auth; do
    log "$doc (through the edge)"
    n=$((n + 1))
    "$ST" run "$EDGE/api/docs/$doc.json" --url "$EDGE" "${common[@]}" --exclude-tag ops \
        --exclude-path-regex '^/ws/' -H "Authorization: Bearer ${tokens[$n]}" || status=1
done
for svc in "${SERVICES[@]}"; do
    log "ops endpoints of $svc"
    "$ST" run "$svc/openapi.json" --url "$svc" "${common[@]}" --include-tag ops || status=1
done
exit $status
