#!/usr/bin/env bash
# Offline checks of the deployment artefacts: Dockerfiles, compose, k8s/
# (kustomize base + staging overlay) and the Helm chart.
#
#   bash tests/deploy/run.sh
#
# Needs python3 (>= 3.9, with venv) and kubectl (with its built-in kustomize).
# The first run creates .run/deploy-venv and pip-installs
# tests/deploy/requirements.txt; later runs reuse it and need no network.
# Knobs: DEPLOY_K8S_VERSION (schema version, default 1.32.0),
#        DEPLOY_CHECK_VERBOSE=1 (details for passing checks too).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO_ROOT"
VENV="$REPO_ROOT/.run/deploy-venv"
REQS="$REPO_ROOT/tests/deploy/requirements.txt"
STAMP="$VENV/.requirements.sha256"

log() { printf '\033[1mdeploy:\033[0m %s\n' "$*"; }
die() { printf 'deploy: ERROR: %s\n' "$*" >&2; exit 1; }

command -v kubectl >/dev/null || die "kubectl not found (it renders k8s/ with its built-in kustomize)"
command -v python3 >/dev/null || die "python3 not found"

want="$(sha256sum "$REQS" | cut -d' ' -f1)"
if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating $VENV"
    mkdir -p "$(dirname "$VENV")"
    python3 -m venv "$VENV" || die "python3 -m venv failed (Debian/Ubuntu: apt-get install python3-venv)"
fi
if [[ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]]; then
    log "installing $(grep -cvE '^\s*(#|$)' "$REQS") packages into $VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQS" \
        || die "pip install failed (first run needs PyPI; later runs are offline)"
    printf '%s\n' "$want" >"$STAMP"
fi

exec "$VENV/bin/python" "$REPO_ROOT/tests/deploy/check.py" "$@"
