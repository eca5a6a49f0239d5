#!/usr/bin/env bats
# docker push and login against private registries, and TLS: push then pull back into a fresh
# berthd root (equal digests and ID), cross-repository mounts, push -a, a missing image;
# login to htpasswd and token registries (wrong and right passwords) and pulls with the
# stored credentials; a TLS registry trusted through --certs-dir, and refused without it.
# Each test has its own registry (they start in a fraction of a second) and docker config.

load helpers
load registry
load images

setup_file() {
  FIX=$BATS_FILE_TMPDIR
  export FIX
  # A: base + top layer; B shares A's base layer and adds its own.
  mkimage "$FIX/a" --layer-files '[{"path":"base","size":300000,"seed":31}]' \
    --layer-files '[{"path":"etc/a","content":"image a\n"}]' --label img=a >"$FIX/a.json"
  mkimage "$FIX/b" --layer-files '[{"path":"base","size":300000,"seed":31}]' \
    --layer-files '[{"path":"etc/b","content":"image b\n"}]' --label img=b >"$FIX/b.json"
  layout_tar "$FIX/a" "$FIX/a.tar"
  layout_tar "$FIX/b" "$FIX/b.tar"
}

setup() {
  require_registry_tools
  WORK=$(mktemp -d /tmp/berth-push.XXXXXX)
  export DOCKER_CONFIG=$WORK/docker-config # docker login writes here, not in ~/.docker
  start_berthd
}

teardown() {
  stop_slowproxy
  stop_berthd
  stop_registry
  rm -rf "$WORK"
}

cfg() { jq -r '.manifests[0].config' "$FIX/$1.json"; }
short_layer() { jq -r ".manifests[0].layers[$2].digest" "$FIX/$1.json" | cut -c8-19; }
inspect() { docker image inspect "$1" | jq -c ".[0]$2"; }

# load_as X NAME: fixture X loaded and named NAME.
load_as() {
  docker load -q -i "$FIX/$1.tar" >/dev/null
  docker tag "$(cfg "$1")" "$2"
}

# The manifest digest a push printed ("v1: digest: sha256:… size: N").
pushed_digest() { sed -n 's/^.*: digest: \(sha256:[0-9a-f]*\) size: [0-9]*$/\1/p' <<<"$1" | tail -1; }

@test "push, then pull back into a fresh root: equal digests and image ID" {
  start_registry
  load_as a "$REGISTRY/p/img:v1"
  run docker push "$REGISTRY/p/img:v1"
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "The push refers to repository [$REGISTRY/p/img]" ]]
  [[ "$output" == *"$(short_layer a 0): Pushed"* ]]
  [[ "$output" == *"$(short_layer a 1): Pushed"* ]]
  local digest
  digest=$(pushed_digest "$output")
  [[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]]
  # The registry holds exactly those manifest bytes, and the push recorded the repo digest.
  registry_inspect p/img:v1 --raw >"$WORK/manifest"
  [ "sha256:$(sha256sum <"$WORK/manifest" | cut -d' ' -f1)" = "$digest" ]
  [ "$(inspect "$REGISTRY/p/img:v1" .RepoDigests)" = "[\"$REGISTRY/p/img@$digest\"]" ]
  local layers
  layers=$(inspect "$REGISTRY/p/img:v1" .RootFS.Layers)
  # A fresh daemon with an empty root pulls the same image back.
  stop_berthd
  start_berthd
  [ "$(info_images)" -eq 0 ]
  run docker pull "$REGISTRY/p/img:v1"
  [ "$status" -eq 0 ]
  [[ "$output" == *"Digest: $digest"* ]]
  [ "$(inspect "$REGISTRY/p/img:v1" .Id)" = "\"$(cfg a)\"" ]
  [ "$(inspect "$REGISTRY/p/img:v1" .RepoDigests)" = "[\"$REGISTRY/p/img@$digest\"]" ]
  [ "$(inspect "$REGISTRY/p/img:v1" .RootFS.Layers)" = "$layers" ]
  # Pushed back unchanged from there, the manifest (and so its digest) stays the same.
  docker tag "$REGISTRY/p/img:v1" "$REGISTRY/p/again:v1"
  run docker push "$REGISTRY/p/again:v1"
  [ "$status" -eq 0 ]
  [ "$(pushed_digest "$output")" = "$digest" ]
}

@test "an imported image pushes and pulls back into a fresh root with its ID" {
  start_registry
  rootfs_tar "$WORK/root.tar" etc/msg=imported
  local id
  id=$(docker import --change 'CMD ["cat","/etc/msg"]' - "$REGISTRY/p/imp:v1" <"$WORK/root.tar")
  run docker push "$REGISTRY/p/imp:v1"
  [ "$status" -eq 0 ]
  local digest
  digest=$(pushed_digest "$output")
  stop_berthd
  start_berthd
  run docker pull -q "$REGISTRY/p/imp:v1"
  [ "$status" -eq 0 ]
  [ "$(inspect "$REGISTRY/p/imp:v1" .Id)" = "\"$id\"" ]
  [ "$(inspect "$REGISTRY/p/imp:v1" .RepoDigests)" = "[\"$REGISTRY/p/imp@$digest\"]" ]
  [ "$(inspect "$REGISTRY/p/imp:v1" .Config.Cmd)" = '["cat","/etc/msg"]' ]
}

@test "a second repository mounts the shared layers; a pushed layer already exists" {
  start_registry
  load_as a "$REGISTRY/p/one:v1"
  docker push "$REGISTRY/p/one:v1" >/dev/null
  # The same image in another repository: every layer is mounted, none sent again.
  docker tag "$REGISTRY/p/one:v1" "$REGISTRY/p/two:v1"
  run docker push "$REGISTRY/p/two:v1"
  [ "$status" -eq 0 ]
  [[ "$output" == *"$(short_layer a 0): Mounted from p/one"* ]]
  [[ "$output" == *"$(short_layer a 1): Mounted from p/one"* ]]
  [[ "$output" != *"Pushed"* ]]
  # B shares A's base layer: in p/one it is already there, B's own layer is sent.
  load_as b "$REGISTRY/p/one:v2"
  run docker push "$REGISTRY/p/one:v2"
  [ "$status" -eq 0 ]
  [[ "$output" == *"$(short_layer b 0): Layer already exists"* ]]
  [[ "$output" == *"$(short_layer b 1): Pushed"* ]]
  # The mount source is remembered across a restart.
  restart_berthd
  docker tag "$REGISTRY/p/one:v2" "$REGISTRY/p/three:v1"
  run docker push "$REGISTRY/p/three:v1"
  [ "$status" -eq 0 ]
  [[ "$output" == *"$(short_layer b 1): Mounted from p/one"* ]]
}

@test "push -a: every tag of the repository" {
  start_registry
  load_as a "$REGISTRY/p/all:a"
  docker tag "$REGISTRY/p/all:a" "$REGISTRY/p/all:b"
  load_as b "$REGISTRY/p/all:c"
  run docker push -a "$REGISTRY/p/all"
  [ "$status" -eq 0 ]
  [[ "$output" == *"a: digest: sha256:"* ]]
  [[ "$output" == *"b: digest: sha256:"* ]]
  [[ "$output" == *"c: digest: sha256:"* ]]
  run registry_api GET /v2/p/all/tags/list
  [ "${lines[-1]}" = "HTTP 200" ]
  [ "$(jq -c '.tags | sort' <<<"${lines[0]}")" = '["a","b","c"]' ]
  [ "$(registry_inspect p/all:c | jq -r '.Labels.img')" = b ]
}

@test "pushing an image that does not exist: dockerd's words" {
  start_registry
  run docker push "$REGISTRY/p/nope:v1"
  [ "$status" -ne 0 ]
  [[ "$output" == *"An image does not exist locally with the tag: $REGISTRY/p/nope"* ]]
  run docker push -a "$REGISTRY/p/nope"
  [ "$status" -ne 0 ]
  [[ "$output" == *"An image does not exist locally with the tag: $REGISTRY/p/nope"* ]]
  run registry_api GET /v2/_catalog
  [ "${lines[0]}" = '{"repositories":[]}' ]
}

@test "htpasswd registry: a wrong password is a 401, the right one logs in; push and pull" {
  require_registry_tools --htpasswd
  start_registry --htpasswd alice:wonderland
  run docker login -u alice --password-stdin "$REGISTRY" <<<wrong
  [ "$status" -ne 0 ]
  [[ "$output" == *"login attempt to http://$REGISTRY/v2/ failed with status: 401 Unauthorized"* ]]
  [ ! -e "$DOCKER_CONFIG/config.json" ] || [ "$(jq -r ".auths[\"$REGISTRY\"] // empty" "$DOCKER_CONFIG/config.json")" = "" ]
  run docker login -u alice --password-stdin "$REGISTRY" <<<wonderland
  [ "$status" -eq 0 ]
  [[ "$output" == *"Login Succeeded"* ]]
  [ -n "$(jq -r ".auths[\"$REGISTRY\"].auth" "$DOCKER_CONFIG/config.json")" ]
  load_as a "$REGISTRY/p/private:v1"
  run docker push "$REGISTRY/p/private:v1"
  [ "$status" -eq 0 ]
  docker rmi "$REGISTRY/p/private:v1" >/dev/null
  docker logout "$REGISTRY" >/dev/null
  run docker pull "$REGISTRY/p/private:v1"
  [ "$status" -ne 0 ]
  [[ "$output" == *"pull access denied for $REGISTRY/p/private, repository does not exist or may require 'docker login'"* ]]
  docker login -u alice --password-stdin "$REGISTRY" <<<wonderland >/dev/null
  run docker pull -q "$REGISTRY/p/private:v1"
  [ "$status" -eq 0 ]
  [ "$(inspect "$REGISTRY/p/private:v1" .Id)" = "\"$(cfg a)\"" ]
}

@test "token registry: login refused then accepted; pull with the credentials docker login kept" {
  require_registry_tools --token
  start_registry --token bob:builder
  push_layout "$FIX/a" t/secret:v1
  run docker login -u bob --password-stdin "$REGISTRY" <<<wrong
  [ "$status" -ne 0 ]
  [[ "$output" == *"Error response from daemon: Get \"http://$REGISTRY/v2/\": unauthorized"* ]]
  run docker pull "$REGISTRY/t/secret:v1"
  [ "$status" -ne 0 ]
  [[ "$output" == *"pull access denied for $REGISTRY/t/secret"* ]]
  run docker login -u bob --password-stdin "$REGISTRY" <<<builder
  [ "$status" -eq 0 ]
  [[ "$output" == *"Login Succeeded"* ]]
  run docker pull "$REGISTRY/t/secret:v1"
  [ "$status" -eq 0 ]
  [ "$(inspect "$REGISTRY/t/secret:v1" .Id)" = "\"$(cfg a)\"" ]
  # The token server gave bob pull access to that repository.
  run jq -c 'select(.account == "bob" and .status == 200) | .granted[] | select(.name == "t/secret") | .actions' "$REGISTRY_TOKEN_LOG"
  [[ "$output" == *'"pull"'* ]]
  # And push works with the same credentials.
  docker tag "$REGISTRY/t/secret:v1" "$REGISTRY/t/secret:v2"
  run docker push "$REGISTRY/t/secret:v2"
  [ "$status" -eq 0 ]
  [[ "$output" == *"v2: digest: sha256:"* ]]
}

# A registry under a name berth does not count as insecure (not localhost, not an IP in
# 127.0.0.0/8): the host's own name, reached on loopback. berth checks the registry name as
# written; dockerd would resolve it and count a loopback address as insecure too.
tls_name() {
  local name addr
  name=$(hostname)
  [[ "$name" =~ ^[a-z0-9]([a-z0-9-]*[a-z0-9])?$ && "$name" != localhost ]] ||
    skip "host name '$name' is not usable as a registry name"
  addr=$(getent ahostsv4 "$name" | awk 'NR == 1 { print $1 }')
  [[ "$addr" == 127.* ]] || skip "host name '$name' does not resolve to a loopback address"
  TLS_NAME=$name TLS_ADDR=$addr
}

@test "TLS registry: trusted through its CA in --certs-dir, an x509 error without it" {
  require_registry_tools --tls
  tls_name
  REGISTRY_TLS_NAME=$TLS_NAME start_registry --tls
  push_layout "$FIX/a" t/tls:v1
  start_slowproxy 0 "$TLS_ADDR" # the registry listens on 127.0.0.1 only
  local secure=$TLS_NAME:${SLOW##*:}
  # Without the CA: Docker's x509 words, and nothing pulled.
  run docker pull "$secure/t/tls:v1"
  [ "$status" -ne 0 ]
  [[ "$output" == *"Get \"https://$secure/v2/\": tls: failed to verify certificate: x509: certificate signed by unknown authority"* ]]
  [ -z "$(docker images -aq)" ]
  # With it, in certs.d's layout under that name.
  mkdir -p "$REGISTRY_CERTS_D/$secure"
  cp "$REGISTRY_CA" "$REGISTRY_CERTS_D/$secure/ca.crt"
  stop_berthd
  start_berthd --certs-dir "$REGISTRY_CERTS_D"
  run docker pull "$secure/t/tls:v1"
  [ "$status" -eq 0 ]
  [ "$(inspect "$secure/t/tls:v1" .Id)" = "\"$(cfg a)\"" ]
  docker tag "$secure/t/tls:v1" "$secure/t/tls:pushed"
  run docker push "$secure/t/tls:pushed"
  [ "$status" -eq 0 ]
  # The IP address is insecure by default (127.0.0.0/8): TLS without verification, as dockerd.
  stop_berthd
  start_berthd
  run docker pull -q "$REGISTRY/t/tls:v1"
  [ "$status" -eq 0 ]
}
