#!/usr/bin/env bash
# Renders deploy/nginx/majlis.conf.template to stdout: the one place that
# knows the template's placeholders, the edge knobs' defaults and their
# checks. deploy/local/run.sh (make run, the edge/web tests, the bench) and
# deploy/compose/render-edge.sh call it.
#
# Inputs are environment variables named like the placeholders.
#   Required: NGINX_DIR ERROR_LOG ACCESS_LOG EDGE_LISTEN WEB_ROOT AUTH_SERVER
#             CHANNELS_SERVER ONBOARDING_SERVER CHAT_GATEWAY_SERVERS
#             PRESENCE_GATEWAY_SERVERS
#   Optional (default):
#     USER_DIRECTIVE        (a comment)
#     NGINX_WORKERS         (auto)  worker_processes: auto or a number
#     NGINX_AUTH_RATE       (10r/s) sustained requests per client address on
#                                   /api/auth/ (N r/s or N r/m)
#     NGINX_AUTH_BURST      (50)    requests above that rate that are served (the
#                                   rest: 429); the first NGINX_AUTH_DELAY of them
#                                   at once, the others slowed to the rate, so a
#                                   client that sends one request after another is
#                                   slowed, never refused
#     NGINX_AUTH_DELAY      (20)
#     NGINX_AUTH_CONN       (20)    /api/auth/ requests in flight per address
#     NGINX_CLIENT_TIMEOUT  (15s)   to send the headers, or between body reads
#     NGINX_PROXY_TIMEOUT   (60s)   for an API service to answer (WebSockets: 600 s)
# Exits non-zero, naming the variable, on a missing or malformed value.
#
#   bash deploy/nginx/render.sh >nginx.conf
#   bash deploy/nginx/render.sh --check-knobs    # only check the optional knobs
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
template="$here/majlis.conf.template"

die() { printf 'render: ERROR: %s\n' "$*" >&2; exit 1; }

: "${USER_DIRECTIVE:=# (running as the invoking user)}"
: "${NGINX_WORKERS:=auto}"
: "${NGINX_AUTH_RATE:=10r/s}"
: "${NGINX_AUTH_BURST:=50}"
: "${NGINX_AUTH_DELAY:=20}"
: "${NGINX_AUTH_CONN:=20}"
: "${NGINX_CLIENT_TIMEOUT:=15s}"
: "${NGINX_PROXY_TIMEOUT:=60s}"

check() { # name regex what
    [[ "${!1}" =~ $2 ]] || die "$1 must be $3 (got '${!1}')"
}
check NGINX_WORKERS '^(auto|[1-9][0-9]*)$' "auto or a number"
check NGINX_AUTH_RATE '^[1-9][0-9]*r/[sm]$' "N r/s or N r/m, e.g. 5r/s"
check NGINX_AUTH_BURST '^[0-9]+$' "a number"
check NGINX_AUTH_DELAY '^[0-9]+$' "a number"
(( NGINX_AUTH_DELAY <= NGINX_AUTH_BURST )) || die "NGINX_AUTH_DELAY must be at most NGINX_AUTH_BURST"
check NGINX_AUTH_CONN '^[1-9][0-9]*$' "a number above 0"
# nginx refuses a limit_conn of 65536 or more, and only when it starts.
(( NGINX_AUTH_CONN < 65536 )) || die "NGINX_AUTH_CONN must be below 65536 (got $NGINX_AUTH_CONN)"
check NGINX_CLIENT_TIMEOUT '^[1-9][0-9]*(ms|s|m)?$' "a duration, e.g. 15s"
check NGINX_PROXY_TIMEOUT '^[1-9][0-9]*(ms|s|m)?$' "a duration, e.g. 60s"
# --check-knobs: only the checks above (run.sh fails fast, before building).
[[ "${1:-}" == --check-knobs ]] && exit 0

# Retry-After on the edge's 429: one period of the auth rate, rounded up to
# whole seconds (1 for any r/s rate).
n="${NGINX_AUTH_RATE%r/*}"
if [[ "$NGINX_AUTH_RATE" == */m ]]; then NGINX_RETRY_AFTER=$(( (60 + n - 1) / n )); else NGINX_RETRY_AFTER=1; fi

names=(USER_DIRECTIVE NGINX_DIR ERROR_LOG ACCESS_LOG EDGE_LISTEN NGINX_WORKERS WEB_ROOT
       AUTH_SERVER CHANNELS_SERVER ONBOARDING_SERVER CHAT_GATEWAY_SERVERS PRESENCE_GATEWAY_SERVERS
       NGINX_AUTH_RATE NGINX_AUTH_BURST NGINX_AUTH_DELAY NGINX_AUTH_CONN NGINX_RETRY_AFTER NGINX_CLIENT_TIMEOUT NGINX_PROXY_TIMEOUT)
conf="$(<"$template")"
for name in "${names[@]}"; do
    [[ -n "${!name:-}" ]] || die "$name is required"
    # quoted replacement: literal text (bash 5.2 would otherwise expand '&')
    conf="${conf//"@@$name@@"/"${!name}"}"
done
if left="$(grep -v '^ *#' <<<"$conf" | grep -o '@@[A-Z_]*@@' | sort -u | tr '\n' ' ')" && [[ -n "$left" ]]; then
    die "unrendered placeholders in $template: $left"
fi
printf '%s\n' "$conf"
