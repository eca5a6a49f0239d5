# tests/integration/registry.bash — bats helpers for a private Docker registry (Debian's
# docker-registry, distribution 2.8) on 127.0.0.1, filled with images that tools/mkimage.py builds.
#
#   load registry
#   start_registry [--tls] [--htpasswd USER:PASS | --token [USER:PASS] [--anonymous-pull]]
#   out=$(mkimage DIR --busybox …)          # tools/mkimage.py with Debian's python
#   push_layout DIR REPO:TAG                # skopeo, --all for an index, creds/CA as needed
#   pull_layout REPO:TAG DIR                # the other way (fails on a corrupt blob)
#   corrupt_blob DIGEST [flip|truncate|append]
#   registry_api GET /v2/REPO/tags/list     # curl with the right auth; last line "HTTP <code>"
#   stop_registry                           # in teardown
#
# start_registry exports REGISTRY (127.0.0.1:PORT), REGISTRY_SCHEME (http|https),
# REGISTRY_DIR (temp dir, removed by stop_registry), REGISTRY_STORAGE (the registry's
# rootdirectory), REGISTRY_AUTH (none|htpasswd|token), REGISTRY_USER, REGISTRY_PASS, and with
# --tls REGISTRY_CA (CA cert), REGISTRY_CERT_DIR (dir with ca.crt, for skopeo --cert-dir) and
# REGISTRY_CERTS_D (docker's certs.d layout: $REGISTRY_CERTS_D/$REGISTRY/ca.crt); with --token
# REGISTRY_TOKEN_REALM, REGISTRY_SERVICE and REGISTRY_TOKEN_LOG (one JSON line per token
# request). One registry at a time per test process.

REGISTRY_SRC=${BERTH_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
HOSTPY=${HOSTPY:-/usr/bin/python3} # Debian's python, not a pyenv one on PATH

# require_registry_tools [--tls] [--htpasswd] [--token]: skip the test (not fail) when a
# package it needs is missing; tools/install-deps installs them all.
require_registry_tools() {
  local need=(docker-registry skopeo curl jq zstd) t
  while [ $# -gt 0 ]; do
    case "$1" in
      --tls | --token) need+=(openssl) ;;
      --htpasswd) need+=(htpasswd) ;;
    esac
    shift
  done
  for t in "${need[@]}"; do
    command -v "$t" >/dev/null 2>&1 || skip "$t is not installed (run tools/install-deps)"
  done
}

mkimage() { "$HOSTPY" "$REGISTRY_SRC/tools/mkimage.py" "$@"; }

_registry_free_port() {
  "$HOSTPY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# A CA and a server certificate for 127.0.0.1 and localhost, both EC P-256, valid two days.
_registry_make_tls() {
  local d=$REGISTRY_DIR
  mkdir -p "$d/certs"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -keyout "$d/ca.key" -out "$d/certs/ca.crt" -subj "/CN=berth test CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null || return 1
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$d/server.key" -out "$d/server.csr" -subj "/CN=127.0.0.1" 2>/dev/null || return 1
  printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost${REGISTRY_TLS_NAME:+,DNS:$REGISTRY_TLS_NAME}" \
    "basicConstraints=CA:FALSE" \
    "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >"$d/server.ext"
  openssl x509 -req -in "$d/server.csr" -CA "$d/certs/ca.crt" -CAkey "$d/ca.key" \
    -CAcreateserial -days 2 -extfile "$d/server.ext" -out "$d/server.crt" 2>/dev/null || return 1
  REGISTRY_CA=$d/certs/ca.crt REGISTRY_CERT_DIR=$d/certs
  export REGISTRY_CA REGISTRY_CERT_DIR
}

# The token server signs with a self-signed RSA cert that is also the registry's root bundle.
_registry_start_token_server() {
  local d=$REGISTRY_DIR anonymous=$1 i
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -keyout "$d/token.key" \
    -out "$d/token.crt" -subj "/CN=berth test token signer" 2>/dev/null || return 1
  REGISTRY_SERVICE=berth-test-registry REGISTRY_TOKEN_LOG=$d/token.log
  "$HOSTPY" "$REGISTRY_SRC/tests/integration/token_server.py" --key "$d/token.key" \
    --cert "$d/token.crt" --issuer berth-test-issuer --service "$REGISTRY_SERVICE" \
    --user "$REGISTRY_USER" --password "$REGISTRY_PASS" ${anonymous:+--anonymous "$anonymous"} \
    --port-file "$d/token.port" --log "$REGISTRY_TOKEN_LOG" \
    </dev/null >"$d/token_server.log" 2>&1 3>&- &
  REGISTRY_TOKEN_PID=$!
  for i in $(seq 200); do
    [ -s "$d/token.port" ] && break
    kill -0 "$REGISTRY_TOKEN_PID" 2>/dev/null || { cat "$d/token_server.log" >&2; return 1; }
    sleep 0.025
  done
  [ -s "$d/token.port" ] || return 1
  REGISTRY_TOKEN_REALM=http://127.0.0.1:$(cat "$d/token.port")/token
  export REGISTRY_SERVICE REGISTRY_TOKEN_LOG REGISTRY_TOKEN_PID REGISTRY_TOKEN_REALM
}

_registry_write_config() {
  local port=$1
  cat >"$REGISTRY_DIR/config.yml" <<EOF
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $REGISTRY_STORAGE
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
  secret: berth-test-secret
EOF
  if [ "$REGISTRY_SCHEME" = https ]; then
    printf '  tls:\n    certificate: %s\n    key: %s\n' \
      "$REGISTRY_DIR/server.crt" "$REGISTRY_DIR/server.key" >>"$REGISTRY_DIR/config.yml"
  fi
  case "$REGISTRY_AUTH" in
    htpasswd)
      printf 'auth:\n  htpasswd:\n    realm: berth-test\n    path: %s\n' \
        "$REGISTRY_DIR/htpasswd" >>"$REGISTRY_DIR/config.yml" ;;
    token)
      printf 'auth:\n  token:\n    realm: %s\n    service: %s\n    issuer: %s\n    rootcertbundle: %s\n' \
        "$REGISTRY_TOKEN_REALM" "$REGISTRY_SERVICE" berth-test-issuer \
        "$REGISTRY_DIR/token.crt" >>"$REGISTRY_DIR/config.yml" ;;
  esac
}

# Wait until /v2/ answers (200, or 401 with auth). Returns 2 if the port was taken.
_registry_wait() {
  local i code
  for i in $(seq 400); do
    code=$(curl -s -o /dev/null -w '%{http_code}' ${REGISTRY_CA:+--cacert "$REGISTRY_CA"} \
      "$REGISTRY_SCHEME://$REGISTRY/v2/" 2>/dev/null)
    case "$code" in 200 | 401) return 0 ;; esac
    if ! kill -0 "$REGISTRY_PID" 2>/dev/null; then
      grep -q "address already in use" "$REGISTRY_DIR/registry.log" && return 2
      return 1
    fi
    sleep 0.025
  done
  return 1
}

_registry_launch() {
  local attempt port rc
  for attempt in 1 2 3; do
    port=$(_registry_free_port)
    REGISTRY=127.0.0.1:$port
    _registry_write_config "$port"
    # A clean environment: distribution reads every REGISTRY_* variable as a config override
    # (REGISTRY_STORAGE=/path would replace the storage driver), and we export those names.
    env -i PATH="$PATH" docker-registry serve "$REGISTRY_DIR/config.yml" </dev/null \
      >"$REGISTRY_DIR/registry.log" 2>&1 3>&- &
    REGISTRY_PID=$!
    _registry_wait && return 0
    rc=$?
    kill "$REGISTRY_PID" 2>/dev/null
    wait "$REGISTRY_PID" 2>/dev/null
    [ $rc -eq 2 ] || break # retry only when another process took the port meanwhile
  done
  echo "start_registry: docker-registry did not come up:" >&2
  cat "$REGISTRY_DIR/registry.log" >&2
  return 1
}

start_registry() {
  local tls=0 anonymous="" creds=""
  REGISTRY_AUTH=none REGISTRY_USER="" REGISTRY_PASS="" REGISTRY_CA="" REGISTRY_TOKEN_PID=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --tls) tls=1 ;;
      --htpasswd) REGISTRY_AUTH=htpasswd creds=$2; shift ;;
      --token)
        REGISTRY_AUTH=token creds=berth:berth-secret
        if [[ "${2:-}" == *:* && "${2:-}" != --* ]]; then creds=$2; shift; fi ;;
      --anonymous-pull) anonymous=pull ;;
      *) echo "start_registry: unknown option $1" >&2; return 2 ;;
    esac
    shift
  done
  REGISTRY_USER=${creds%%:*} REGISTRY_PASS=${creds#*:}
  REGISTRY_DIR=$(mktemp -d /tmp/berth-registry.XXXXXX)
  REGISTRY_STORAGE=$REGISTRY_DIR/storage REGISTRY_SCHEME=http
  export REGISTRY_DIR REGISTRY_STORAGE REGISTRY_AUTH REGISTRY_USER REGISTRY_PASS
  if [ $tls -eq 1 ]; then
    REGISTRY_SCHEME=https
    _registry_make_tls || { echo "start_registry: openssl failed" >&2; return 1; }
  fi
  if [ "$REGISTRY_AUTH" = htpasswd ]; then
    # bcrypt is the only hash distribution's htpasswd accepts.
    htpasswd -Bbn "$REGISTRY_USER" "$REGISTRY_PASS" >"$REGISTRY_DIR/htpasswd" || return 1
  elif [ "$REGISTRY_AUTH" = token ]; then
    _registry_start_token_server "$anonymous" || { echo "start_registry: token server failed" >&2; return 1; }
  fi
  _registry_launch || return 1
  if [ $tls -eq 1 ]; then
    REGISTRY_CERTS_D=$REGISTRY_DIR/certs.d
    mkdir -p "$REGISTRY_CERTS_D/$REGISTRY"
    cp "$REGISTRY_CA" "$REGISTRY_CERTS_D/$REGISTRY/ca.crt"
    export REGISTRY_CERTS_D
  fi
  export REGISTRY REGISTRY_PID REGISTRY_SCHEME
}

stop_registry() {
  local p
  for p in ${REGISTRY_PID:-} ${REGISTRY_TOKEN_PID:-}; do
    kill -TERM "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  [ -n "${REGISTRY_DIR:-}" ] && rm -rf "$REGISTRY_DIR"
  unset REGISTRY REGISTRY_PID REGISTRY_TOKEN_PID REGISTRY_DIR REGISTRY_STORAGE REGISTRY_CA \
    REGISTRY_CERT_DIR REGISTRY_CERTS_D REGISTRY_USER REGISTRY_PASS REGISTRY_TOKEN_REALM \
    REGISTRY_TOKEN_LOG REGISTRY_SERVICE
  REGISTRY_AUTH=none
  return 0
}

registry_log() { cat "$REGISTRY_DIR/registry.log"; }

# registry_skopeo_opts [src|dest]: skopeo flags reaching this registry (TLS via the CA, plain
# HTTP otherwise, creds when set), one per line. No prefix gives inspect's --creds etc.
registry_skopeo_opts() {
  local p=--${1:+$1-}
  if [ "${REGISTRY_SCHEME:-http}" = https ]; then
    echo "${p}cert-dir=$REGISTRY_CERT_DIR"
  else
    echo "${p}tls-verify=false"
  fi
  [ -n "${REGISTRY_USER:-}" ] && echo "${p}creds=$REGISTRY_USER:$REGISTRY_PASS"
  return 0
}

_layout_is_index() {
  jq -e '.manifests[0].mediaType | test("image.index|manifest.list")' "$1/index.json" >/dev/null
}

# push_layout DIR REPO[:TAG] [skopeo args…]: digests stay as mkimage made them.
push_layout() {
  local dir=$1 ref=$2 opts
  shift 2
  mapfile -t opts < <(registry_skopeo_opts dest)
  local args=(copy --quiet --insecure-policy --preserve-digests "${opts[@]}")
  _layout_is_index "$dir" && args+=(--all)
  skopeo "${args[@]}" "$@" "oci:$dir" "docker://$REGISTRY/$ref"
}

# pull_layout REPO[:TAG|@DIGEST] DIR [skopeo args…]: skopeo verifies every blob's digest.
pull_layout() {
  local ref=$1 dir=$2 opts
  shift 2
  mapfile -t opts < <(registry_skopeo_opts src)
  skopeo copy --quiet --insecure-policy "${opts[@]}" "$@" "docker://$REGISTRY/$ref" "oci:$dir"
}

# registry_inspect REPO[:TAG] [skopeo inspect args…], e.g. --raw for the manifest bytes.
registry_inspect() {
  local ref=$1 opts
  shift
  mapfile -t opts < <(registry_skopeo_opts)
  skopeo inspect "${opts[@]}" "$@" "docker://$REGISTRY/$ref"
}

# corrupt_blob DIGEST [flip|truncate|append]: change the stored bytes so the registry serves
# content that no longer matches DIGEST. flip (default) keeps the size, so only a digest check
# can notice; the registry itself never re-verifies what it stored.
corrupt_blob() {
  local hex=${1#sha256:} mode=${2:-flip}
  local f=$REGISTRY_STORAGE/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data
  [ -f "$f" ] || { echo "corrupt_blob: no blob $1 in the registry" >&2; return 1; }
  "$HOSTPY" - "$f" "$mode" <<'EOF'
import sys
path, mode = sys.argv[1], sys.argv[2]
with open(path, "r+b") as f:
    data = f.read()
    if mode == "flip" and data:
        f.seek(len(data) // 2)
        f.write(bytes([data[len(data) // 2] ^ 0xFF]))
    elif mode == "truncate" and data:
        f.truncate(len(data) - 1)
    elif mode == "append":
        f.write(b"\0")
    else:
        sys.exit(f"corrupt_blob: cannot {mode} a {len(data)}-byte blob")
EOF
}

# registry_token SCOPE…: a bearer token from the token server (as REGISTRY_USER).
registry_token() {
  local q="service=$REGISTRY_SERVICE" s
  for s in "$@"; do q+="&scope=$s"; done
  curl -sf -u "$REGISTRY_USER:$REGISTRY_PASS" "$REGISTRY_TOKEN_REALM?$q" | jq -r .token
}

# registry_api METHOD PATH [curl args…]: the body, then a last line "HTTP <status>".
registry_api() {
  local method=$1 path=$2 auth=() scope
  shift 2
  case "${REGISTRY_AUTH:-none}" in
    htpasswd) auth=(-u "$REGISTRY_USER:$REGISTRY_PASS") ;;
    token)
      if [[ "$path" =~ ^/v2/(.+)/(manifests|blobs|tags)/ ]]; then
        scope="repository:${BASH_REMATCH[1]}:pull,push,delete"
      elif [[ "$path" == /v2/_catalog* ]]; then
        scope="registry:catalog:*"
      fi
      auth=(-H "Authorization: Bearer $(registry_token ${scope:+"$scope"})") ;;
  esac
  curl -s -X "$method" ${REGISTRY_CA:+--cacert "$REGISTRY_CA"} "${auth[@]}" \
    -w '\nHTTP %{http_code}\n' "$@" "$REGISTRY_SCHEME://$REGISTRY$path"
}
