#!/usr/bin/env bash
# Make sure the local dependencies of majlis are up:
#   PostgreSQL on 127.0.0.1:5432, Redis on 127.0.0.1:6379
#   and, with --nginx, that an nginx binary is installed.
#
# Idempotent. Exports nothing. Safe to execute or to `source` (when sourced it
# runs in a subshell, so it never changes the caller's shell options and never
# exits the caller; the status is returned instead).
#
# Knobs: MAJLIS_DEPS_TIMEOUT (seconds to wait for each service, default 30)
#
# Usage: deploy/local/ensure-deps.sh [--nginx]

_majlis_ensure_deps() (
    set -euo pipefail
    export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

    local want_nginx=0 arg
    for arg in "$@"; do
        case "$arg" in
            --nginx) want_nginx=1 ;;
            -h|--help) echo "usage: ensure-deps.sh [--nginx]"; return 0 ;;
            *) echo "ensure-deps: unknown argument: $arg" >&2; return 2 ;;
        esac
    done

    local timeout="${MAJLIS_DEPS_TIMEOUT:-30}"
    local is_root=0
    [[ "$(id -u)" == 0 ]] && is_root=1
    local apt_updated=0

    say()  { printf 'ensure-deps: %s\n' "$*"; }
    fail() { printf 'ensure-deps: ERROR: %s\n' "$*" >&2; exit 1; }

    # apt_install PKG... : install as root; `apt-get update` only if the first
    # attempt fails.
    apt_install() {
        command -v apt-get >/dev/null 2>&1 || return 1
        local log
        log="$(mktemp)"
        say "installing $* via apt-get"
        if DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >"$log" 2>&1; then
            rm -f "$log"; return 0
        fi
        if [[ $apt_updated == 0 ]]; then
            say "apt-get install failed; running apt-get update and retrying"
            apt_updated=1
            DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$log" 2>&1 || true
            if DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >>"$log" 2>&1; then
                rm -f "$log"; return 0
            fi
        fi
        tail -n 15 "$log" >&2
        rm -f "$log"
        return 1
    }

    # wait_for DESC CMD... : poll CMD until it succeeds or the timeout expires.
    wait_for() {
        local desc="$1"; shift
        local deadline=$((SECONDS + timeout))
        until "$@" >/dev/null 2>&1; do
            if (( SECONDS >= deadline )); then
                return 1
            fi
            sleep 0.5
        done
        say "$desc is up"
    }

    # ------------------------------------------------------------ PostgreSQL
    pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q; }
    pg_clusters() {
        # "VERSION CLUSTER" lines, newest version first, "main" preferred
        local v c
        [[ -d /etc/postgresql ]] || return 0
        for v in $(ls /etc/postgresql 2>/dev/null | sort -rV); do
            [[ -d "/etc/postgresql/$v/main" ]] && echo "$v main"
            for c in "/etc/postgresql/$v"/*/; do
                c="$(basename "$c")"
                [[ "$c" != main && -f "/etc/postgresql/$v/$c/postgresql.conf" ]] && echo "$v $c"
            done
        done
        return 0
    }

    if command -v pg_isready >/dev/null 2>&1 && pg_up; then
        say "postgresql is up (127.0.0.1:5432)"
    else
        local fresh_pg=0
        if ! command -v pg_ctlcluster >/dev/null 2>&1 || [[ -z "$(pg_clusters)" ]]; then
            if [[ $is_root == 1 ]]; then
                apt_install postgresql || fail "could not install postgresql via apt-get"
                fresh_pg=1
            else
                fail "PostgreSQL is not installed/running on 127.0.0.1:5432 — install it (as root: apt-get install -y postgresql) or start it, then retry"
            fi
        fi
        local cl
        cl="$(pg_clusters | head -n 1)"
        [[ -n "$cl" ]] || fail "no PostgreSQL cluster found under /etc/postgresql (create one: pg_createcluster 15 main)"
        local ver="${cl% *}" name="${cl#* }"
        if [[ $fresh_pg == 1 ]]; then
            # Local dev only: trust TCP connections from loopback so that
            # `psql -h 127.0.0.1 -U postgres` works like on the dev boxes.
            local hba="/etc/postgresql/$ver/$name/pg_hba.conf"
            if [[ -f "$hba" ]] && ! grep -q 'majlis-local-dev' "$hba"; then
                say "configuring trust auth for 127.0.0.1/::1 in $hba (fresh install, local dev)"
                { printf '# majlis-local-dev: trust loopback TCP\n'
                  printf 'host all all 127.0.0.1/32 trust\n'
                  printf 'host all all ::1/128 trust\n'
                  cat "$hba"; } >"$hba.new" && mv "$hba.new" "$hba"
                chown postgres:postgres "$hba" 2>/dev/null || true
                chmod 640 "$hba" 2>/dev/null || true
            fi
        fi
        if [[ $is_root == 1 || "$(id -un)" == postgres ]]; then
            say "starting postgresql cluster $ver/$name"
            pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start 2>&1 \
                | sed 's/^/ensure-deps:   /' || true
        else
            fail "PostgreSQL $ver/$name is installed but not running, and starting it needs root or the postgres user (try: sudo pg_ctlcluster $ver $name start)"
        fi
        wait_for "postgresql (127.0.0.1:5432)" pg_up \
            || fail "postgresql did not answer on 127.0.0.1:5432 within ${timeout}s (see /var/log/postgresql/)"
        if [[ $fresh_pg == 1 ]]; then
            # mirror the dev boxes: a `root` superuser role besides `postgres`
            psql -h 127.0.0.1 -U postgres -d postgres -tAc \
                "SELECT 1 FROM pg_roles WHERE rolname='root'" 2>/dev/null | grep -q 1 \
                || psql -h 127.0.0.1 -U postgres -d postgres -qc 'CREATE ROLE root SUPERUSER LOGIN' >/dev/null 2>&1 \
                || true
        fi
    fi

    # ----------------------------------------------------------------- Redis
    redis_up() { [[ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" == PONG ]]; }

    if command -v redis-cli >/dev/null 2>&1 && redis_up; then
        say "redis is up (127.0.0.1:6379)"
    else
        if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
            if [[ $is_root == 1 ]]; then
                apt_install redis-server || fail "could not install redis-server via apt-get"
            else
                fail "Redis is not installed/running on 127.0.0.1:6379 — install it (as root: apt-get install -y redis-server) or start it, then retry"
            fi
        fi
        # the apt postinst may have started one already
        if ! redis_up; then
            say "starting redis-server on 127.0.0.1:6379"
            redis-server --daemonize yes --port 6379 --save "" --appendonly no >/dev/null \
                || fail "redis-server failed to start"
        fi
        wait_for "redis (127.0.0.1:6379)" redis_up \
            || fail "redis did not answer PONG on 127.0.0.1:6379 within ${timeout}s"
    fi

    # ----------------------------------------------------------------- nginx
    if [[ $want_nginx == 1 ]]; then
        if command -v nginx >/dev/null 2>&1; then
            say "nginx is installed ($(command -v nginx))"
        elif [[ $is_root == 1 ]]; then
            apt_install nginx-light || apt_install nginx \
                || fail "could not install nginx-light or nginx via apt-get"
            command -v nginx >/dev/null 2>&1 || fail "nginx installed but no nginx binary on PATH"
            say "nginx installed ($(command -v nginx))"
        else
            fail "nginx is not installed — install it (as root: apt-get install -y nginx-light) and retry"
        fi
    fi
    return 0
)

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    _majlis_ensure_deps "$@"
    exit $?
else
    _majlis_ensure_deps "$@"
fi
