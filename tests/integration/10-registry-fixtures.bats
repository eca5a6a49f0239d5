#!/usr/bin/env bats
# The image-test fixtures end to end, without berth: tools/mkimage.py layouts pushed with skopeo
# to each registry variant (plain, TLS, htpasswd, token), read back, and a corrupt blob caught.
# bats file_tags=reactor-neutral

load registry

setup() { WORK=$(mktemp -d /tmp/berth-fixtures.XXXXXX); }
teardown() {
  stop_registry
  rm -rf "$WORK"
}

need_busybox() {
  command -v busybox >/dev/null || skip "busybox is not installed (busybox-static)"
}

# A two-layer image (busybox, then a text file and 200 kB of seeded random bytes); sets DIGEST.
build_two_layer() {
  need_busybox
  mkimage "$WORK/img" --busybox --layer-files \
    '[{"path":"etc/msg","content":"hello\n"},{"path":"data/blob","size":200000,"seed":1}]' \
    --cmd '["cat","/etc/msg"]' --label fixture=two-layer >"$WORK/img.json"
  DIGEST=$(jq -r .digest "$WORK/img.json")
}

sha256_of() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }

# Push the two-layer image, then check the registry serves the same manifest digest and layers.
roundtrip() {
  build_two_layer
  push_layout "$WORK/img" fixtures/two:v1
  registry_inspect fixtures/two:v1 --raw >"$WORK/manifest.json"
  [ "$(sha256_of "$WORK/manifest.json")" = "$DIGEST" ]
  run registry_inspect fixtures/two:v1
  [ "$status" -eq 0 ]
  [ "$(jq -r .Digest <<<"$output")" = "$DIGEST" ]
  [ "$(jq -r '.Layers | length' <<<"$output")" = 2 ]
  [ "$(jq -r .Labels.fixture <<<"$output")" = two-layer ]
}

@test "mkimage: the same spec gives the same digests, and every blob matches its name" {
  command -v jq >/dev/null || skip "jq is not installed"
  build_two_layer
  mkimage "$WORK/again" --busybox --layer-files \
    '[{"path":"etc/msg","content":"hello\n"},{"path":"data/blob","size":200000,"seed":1}]' \
    --cmd '["cat","/etc/msg"]' --label fixture=two-layer >"$WORK/again.json"
  [ "$(jq -r .digest "$WORK/again.json")" = "$DIGEST" ]
  diff -r "$WORK/img" "$WORK/again"
  local f
  for f in "$WORK"/img/blobs/sha256/*; do
    [ "$(sha256_of "$f")" = "sha256:${f##*/}" ]
  done
  [ "$(jq -r '.manifests[0].layers | length' "$WORK/img.json")" = 2 ]
}

@test "mkimage: gzip, zstd and plain layers uncompress to the config's diff_ids" {
  command -v zstd >/dev/null || skip "zstd is not installed"
  mkimage "$WORK/c" --layer-files '[{"path":"a","content":"1"}]' --compression zstd \
    --layer-files '[{"path":"b","size":5000,"fill":"zero"}]' --compression none \
    --layer-files '[{"path":"c","type":"symlink","target":"a"}]' >"$WORK/c.json"
  run jq -r '.manifests[0].layers[] | "\(.mediaType) \(.digest) \(.diff_id)"' "$WORK/c.json"
  [ "${#lines[@]}" -eq 3 ]
  local media digest diff_id blob
  for line in "${lines[@]}"; do
    read -r media digest diff_id <<<"$line"
    blob=$WORK/c/blobs/sha256/${digest#sha256:}
    case "$media" in
      *+gzip) gzip -dc "$blob" >"$WORK/tar" ;;
      *+zstd) zstd -qdc "$blob" >"$WORK/tar" ;;
      *.tar) cp "$blob" "$WORK/tar" ;;
    esac
    [ "$(sha256_of "$WORK/tar")" = "$diff_id" ]
  done
}

@test "mkimage: hostile layers hold the entries they promise" {
  mkimage "$WORK/h" --compression none --hostile dotdot --hostile absolute \
    --hostile hardlink-abs-out --hostile whiteout-dotdot --hostile many:1000 >"$WORK/h.json"
  run jq -r '.manifests[0].layers[].digest' "$WORK/h.json"
  [ "${#lines[@]}" -eq 5 ]
  local names=() d
  for d in "${lines[@]}"; do names+=("$(tar -tf "$WORK/h/blobs/sha256/${d#sha256:}" 2>/dev/null | head -3 | tr '\n' ' ')"); done
  [ "${names[0]}" = "../../escape " ]
  [ "${names[1]}" = "/etc/evil " ]
  [ "${names[2]}" = "hl " ]
  [ "${names[3]}" = ".wh... " ]
  [ "$(tar -tf "$WORK/h/blobs/sha256/${lines[4]#sha256:}" | wc -l)" -eq 1100 ]
  # tar itself would strip the "/" when listing, so read the raw link name.
  run "$HOSTPY" -c 'import sys, tarfile; print(tarfile.open(sys.argv[1]).getmembers()[0].linkname)' \
    "$WORK/h/blobs/sha256/${lines[2]#sha256:}"
  [ "$output" = /etc/passwd ]
}

@test "plain registry: push, then inspect gives the same digest" {
  require_registry_tools
  start_registry
  roundtrip
}

@test "plain registry: a two-platform index pushes with --all and resolves per platform" {
  require_registry_tools
  need_busybox
  start_registry
  mkimage "$WORK/multi" --busybox --platforms linux/amd64,linux/arm64/v8 >"$WORK/multi.json"
  push_layout "$WORK/multi" fixtures/multi:v1
  registry_inspect fixtures/multi:v1 --raw >"$WORK/index.json"
  [ "$(sha256_of "$WORK/index.json")" = "$(jq -r .digest "$WORK/multi.json")" ]
  [ "$(jq -r '.manifests | length' "$WORK/index.json")" = 2 ]
  run registry_inspect fixtures/multi:v1 --override-arch arm64 --override-variant v8
  [ "$status" -eq 0 ]
  [ "$(jq -r .Architecture <<<"$output")" = arm64 ]
  [ "$(jq -r '.Labels["berth.test.platform"]' <<<"$output")" = linux/arm64/v8 ]
  # skopeo reports the digest it was asked about: the index's.
  [ "$(jq -r .Digest <<<"$output")" = "$(jq -r .digest "$WORK/multi.json")" ]
  run registry_inspect "fixtures/multi@$(jq -r '.manifests[1].digest' "$WORK/multi.json")" --config
  [ "$status" -eq 0 ]
  [ "$(jq -r .architecture <<<"$output")/$(jq -r .variant <<<"$output")" = arm64/v8 ]
}

@test "plain registry: Docker schema2 media types push unchanged" {
  require_registry_tools
  need_busybox
  start_registry
  mkimage "$WORK/d" --format docker --busybox >"$WORK/d.json"
  push_layout "$WORK/d" fixtures/docker:v1
  registry_inspect fixtures/docker:v1 --raw >"$WORK/m.json"
  [ "$(sha256_of "$WORK/m.json")" = "$(jq -r .digest "$WORK/d.json")" ]
  [ "$(jq -r .mediaType "$WORK/m.json")" = application/vnd.docker.distribution.manifest.v2+json ]
}

@test "plain registry: zstd layers push and come back byte for byte" {
  require_registry_tools
  need_busybox
  start_registry
  mkimage "$WORK/z" --compression zstd --busybox --layer-files '[{"path":"x","content":"y"}]' \
    >"$WORK/z.json"
  push_layout "$WORK/z" fixtures/zstd:v1
  pull_layout fixtures/zstd:v1 "$WORK/back"
  local d
  for d in $(jq -r '.digest, .manifests[0].config, .manifests[0].layers[].digest' "$WORK/z.json"); do
    cmp "$WORK/z/blobs/sha256/${d#sha256:}" "$WORK/back/blobs/sha256/${d#sha256:}"
  done
  run registry_inspect fixtures/zstd:v1 --raw
  [ "$(jq -r '.layers[0].mediaType' <<<"$output")" = application/vnd.oci.image.layer.v1.tar+zstd ]
}

@test "TLS registry: push and inspect verified with the generated CA" {
  require_registry_tools --tls
  start_registry --tls
  roundtrip
  [ -f "$REGISTRY_CERTS_D/$REGISTRY/ca.crt" ]
  # Without the CA the certificate must not verify.
  run skopeo inspect --raw "docker://$REGISTRY/fixtures/two:v1"
  [ "$status" -ne 0 ]
  [[ "$output" == *"certificate"* ]]
  run registry_api GET /v2/fixtures/two/tags/list
  [ "${lines[-1]}" = "HTTP 200" ]
}

@test "htpasswd registry: push with credentials; none or wrong ones are refused" {
  require_registry_tools --htpasswd
  start_registry --htpasswd alice:wonderland
  roundtrip
  run skopeo inspect --tls-verify=false --raw "docker://$REGISTRY/fixtures/two:v1"
  [ "$status" -ne 0 ]
  [[ "$output" == *"unauthorized"* || "$output" == *"authentication required"* ]]
  run skopeo inspect --tls-verify=false --creds alice:wrong "docker://$REGISTRY/fixtures/two:v1"
  [ "$status" -ne 0 ]
  run registry_api GET /v2/fixtures/two/tags/list
  [ "${lines[-1]}" = "HTTP 200" ]
}

@test "token registry: push with a bearer token from the token server" {
  require_registry_tools --token
  start_registry --token bob:builder
  roundtrip
  # The token server granted push to bob on the repository skopeo asked for.
  run jq -c 'select(.account == "bob" and .status == 200) | .granted[] | select(.name == "fixtures/two") | .actions' "$REGISTRY_TOKEN_LOG"
  [[ "$output" == *'"push"'* ]]
  run skopeo inspect --tls-verify=false --creds bob:wrong "docker://$REGISTRY/fixtures/two:v1"
  [ "$status" -ne 0 ]
  # Anonymous tokens carry no access, so the registry still says 401.
  run skopeo inspect --tls-verify=false --raw "docker://$REGISTRY/fixtures/two:v1"
  [ "$status" -ne 0 ]
  run registry_api GET /v2/fixtures/two/tags/list
  [ "${lines[-1]}" = "HTTP 200" ]
  [[ "${lines[0]}" == *'"v1"'* ]]
}

@test "token registry with --anonymous-pull: pulls need no credentials" {
  require_registry_tools --token
  start_registry --token --anonymous-pull
  roundtrip
  run skopeo inspect --tls-verify=false --raw "docker://$REGISTRY/fixtures/two:v1"
  [ "$status" -eq 0 ]
}

@test "corrupt_blob: the registry serves bad bytes and a download fails digest verification" {
  require_registry_tools
  start_registry
  build_two_layer
  push_layout "$WORK/img" fixtures/two:v1
  pull_layout fixtures/two:v1 "$WORK/before" # intact: copies fine
  local layer
  layer=$(jq -r '.manifests[0].layers[1].digest' "$WORK/img.json")
  corrupt_blob "$layer"
  # The registry still answers 200 with the right size, only the content is wrong.
  run registry_api GET "/v2/fixtures/two/blobs/$layer" -o "$WORK/served"
  [ "${lines[-1]}" = "HTTP 200" ]
  [ "$(stat -c %s "$WORK/served")" = "$(jq -r '.manifests[0].layers[1].size' "$WORK/img.json")" ]
  [ "$(sha256_of "$WORK/served")" != "$layer" ]
  run pull_layout fixtures/two:v1 "$WORK/after"
  [ "$status" -ne 0 ]
  [[ "$output" == *"Digest did not match, expected $layer"* ]]
}
