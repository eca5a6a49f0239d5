#!/usr/bin/env bash
# tests/net/registry-up.sh — starts a docker-registry for tests/net/test_registry.c with the bats
# fixtures (tests/integration/registry.bash) and prints its variables as NAME=VALUE lines. The
# registry (and token server) keep running; the test stops them by pid and removes REGISTRY_DIR.
#   tests/net/registry-up.sh [--tls] [--htpasswd USER:PASS | --token [USER:PASS]]
set -u
BERTH_SRC=${BERTH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=../integration/registry.bash
source "$BERTH_SRC/tests/integration/registry.bash"
start_registry "$@" >&2 || exit 1
for v in REGISTRY REGISTRY_PID REGISTRY_TOKEN_PID REGISTRY_DIR REGISTRY_USER REGISTRY_PASS \
  REGISTRY_TOKEN_LOG REGISTRY_CERTS_D REGISTRY_SCHEME; do
  printf '%s=%s\n' "$v" "${!v:-}"
done
