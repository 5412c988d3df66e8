#!/usr/bin/env bash
# Generates majlis's Ed25519 keys. For gRPC between services: one private key
# per service that calls gRPC (MAJLIS_SERVICE_KEY, a secret), and the list of
# their public keys that every service gets (MAJLIS_SERVICE_PUBLIC_KEYS, not
# secret). For user tokens: the key auth-svc signs them with
# (MAJLIS_TOKEN_SIGNING_KEY, a secret only auth-svc gets), and its public half
# that every service verifies them with (MAJLIS_TOKEN_PUBLIC_KEY, not secret).
# Needs openssl (1.1.1 or newer).
#
#   deploy/gen-service-keys.sh                 # Kubernetes: prints the Secret keys
#                                              # (service-key-<name>, token-signing-key)
#                                              # and the ConfigMap values
#   deploy/gen-service-keys.sh --helm          # the same as Helm values (secret.serviceKeys,
#                                              # secret.tokenSigningKey, config.MAJLIS_SERVICE_PUBLIC_KEYS,
#                                              # config.MAJLIS_TOKEN_PUBLIC_KEY)
#   deploy/gen-service-keys.sh --env           # docker compose: lines for deploy/compose/.env
#   deploy/gen-service-keys.sh --dir DIR       # writes DIR/<name>.key and DIR/token-signing.key
#                                              # (mode 600) where missing, DIR/public-keys
#                                              # and DIR/token-public-key
#
# Every run but --dir makes new keys: apply the private keys and the public
# ones together (a service refuses to start when its key is not the one
# listed; auth-svc when its signing key is not the token public key's pair).
# A new token key pair invalidates every token issued (users log in again).
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
        if [[ ! -s "$dir/token-signing.key" ]]; then
            (umask 077; new_key >"$dir/token-signing.key")
        fi
        pub="$(public_of "$(cat "$dir/token-signing.key")")"
        [[ ${#pub} == 44 ]] || die "$dir/token-signing.key is not an Ed25519 PKCS#8 key"
        printf '%s\n' "$pub" >"$dir/token-public-key"
        ;;
    k8s|--k8s|--helm|--env)
        declare -A key=()
        list=()
        for s in "${CALLERS[@]}"; do
            key[$s]="$(new_key)"
            list+=("$s=$(public_of "${key[$s]}")")
        done
        public="$(IFS=,; printf '%s' "${list[*]}")"
        token_key="$(new_key)"
        token_public="$(public_of "$token_key")"
        case "$mode" in
            --helm)
                echo "# values for deploy/helm/majlis: keep the secret part out of version control"
                echo "secret:"
                echo "  serviceKeys:"
                for s in "${CALLERS[@]}"; do echo "    $s: \"${key[$s]}\""; done
                echo "  tokenSigningKey: \"$token_key\""
                echo "config:"
                echo "  MAJLIS_SERVICE_PUBLIC_KEYS: \"$public\""
                echo "  MAJLIS_TOKEN_PUBLIC_KEY: \"$token_public\""
                ;;
            --env)
                echo "# for deploy/compose/.env: keep it out of version control"
                echo "MAJLIS_SERVICE_PUBLIC_KEYS=$public"
                for s in "${CALLERS[@]}"; do echo "$(env_name "$s")=${key[$s]}"; done
                echo "MAJLIS_TOKEN_PUBLIC_KEY=$token_public"
                echo "MAJLIS_TOKEN_SIGNING_KEY=$token_key"
                ;;
            *)
                echo "# Secret majlis-secrets: add these keys (e.g. kubectl create secret generic"
                echo "# majlis-secrets --from-literal=service-key-chat-gateway=… plus the others)."
                for s in "${CALLERS[@]}"; do echo "service-key-$s=${key[$s]}"; done
                echo "token-signing-key=$token_key"
                echo
                echo "# ConfigMap majlis-config (k8s/base/config.env or an overlay's configMapGenerator):"
                echo "MAJLIS_SERVICE_PUBLIC_KEYS=$public"
                echo "MAJLIS_TOKEN_PUBLIC_KEY=$token_public"
                ;;
        esac
        ;;
    -h|--help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) die "unknown option $mode (see --help)" ;;
esac
