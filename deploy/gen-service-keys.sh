#!/usr/bin/env bash
# Generates the Ed25519 keys majlis services sign their gRPC calls with: one
# private key per service that calls gRPC (MAJLIS_SERVICE_KEY, a secret), and
# the list of their public keys that every service gets (MAJLIS_SERVICE_PUBLIC_KEYS,
# not secret). Needs openssl (1.1.1 or newer).
#
#   deploy/gen-service-keys.sh                 # Kubernetes: prints the Secret keys
#                                              # (service-key-<name>) and the ConfigMap value
#   deploy/gen-service-keys.sh --helm          # the same as Helm values (secret.serviceKeys,
#                                              # config.MAJLIS_SERVICE_PUBLIC_KEYS)
#   deploy/gen-service-keys.sh --env           # docker compose: lines for deploy/compose/.env
#   deploy/gen-service-keys.sh --dir DIR       # writes DIR/<name>.key (mode 600) for each
#                                              # service lacking one, and DIR/public-keys
#
# Every run but --dir makes new keys: apply the private keys and the list
# together (a service refuses to start when its key is not the one listed).
# The services that call gRPC are those in majlis-runtime's POLICY
# (crates/runtime/src/service_auth.rs); tests/deploy/check.py checks this list.
set -euo pipefail

CALLERS=(channels-svc onboarding-svc chat-gateway presence-gateway)

die() { printf 'gen-service-keys: %s\n' "$*" >&2; exit 1; }
command -v openssl >/dev/null || die "openssl not found"

# new_key -> base64 of a PKCS#8 DER Ed25519 private key, on one line
new_key() { openssl genpkey -algorithm ed25519 -outform DER 2>/dev/null | base64 -w0; }
# public_of KEY -> base64 of its raw 32-byte public key
public_of() {
    base64 -d <<<"$1" | openssl pkey -inform DER -pubout -outform DER 2>/dev/null | tail -c 32 | base64 -w0
}
# env_name SERVICE -> MAJLIS_CHAT_GATEWAY_KEY (compose's variable for that service's key)
env_name() { local n="${1^^}"; printf 'MAJLIS_%s_KEY' "${n//-/_}"; }

mode="${1:-k8s}"
case "$mode" in
    --dir)
        dir="${2:?--dir needs a directory}"
        mkdir -p "$dir"
        list=()
        for s in "${CALLERS[@]}"; do
            if [[ ! -s "$dir/$s.key" ]]; then
                (umask 077; new_key >"$dir/$s.key")
            fi
            pub="$(public_of "$(cat "$dir/$s.key")")"
            [[ ${#pub} == 44 ]] || die "$dir/$s.key is not an Ed25519 PKCS#8 key"
            list+=("$s=$pub")
        done
        (IFS=,; printf '%s\n' "${list[*]}") >"$dir/public-keys"
        ;;
    k8s|--k8s|--helm|--env)
        declare -A key=()
        list=()
        for s in "${CALLERS[@]}"; do
            key[$s]="$(new_key)"
            list+=("$s=$(public_of "${key[$s]}")")
        done
        public="$(IFS=,; printf '%s' "${list[*]}")"
        case "$mode" in
            --helm)
                echo "# values for deploy/helm/majlis: keep the secret part out of version control"
                echo "secret:"
                echo "  serviceKeys:"
                for s in "${CALLERS[@]}"; do echo "    $s: \"${key[$s]}\""; done
                echo "config:"
                echo "  MAJLIS_SERVICE_PUBLIC_KEYS: \"$public\""
                ;;
            --env)
                echo "# for deploy/compose/.env: keep it out of version control"
                echo "MAJLIS_SERVICE_PUBLIC_KEYS=$public"
                for s in "${CALLERS[@]}"; do echo "$(env_name "$s")=${key[$s]}"; done
                ;;
            *)
                echo "# Secret majlis-secrets: add these keys (e.g. kubectl create secret generic"
                echo "# majlis-secrets --from-literal=service-key-chat-gateway=… plus the others)."
                for s in "${CALLERS[@]}"; do echo "service-key-$s=${key[$s]}"; done
                echo
                echo "# ConfigMap majlis-config (k8s/base/config.env or an overlay's configMapGenerator):"
                echo "MAJLIS_SERVICE_PUBLIC_KEYS=$public"
                ;;
        esac
        ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) die "unknown option $mode (see --help)" ;;
esac
