#!/usr/bin/env bats
# Local image commands through the real docker CLI, no registry: import, images (flags,
# filters, format), image inspect, tag, rmi, history, save/load (berth's own tarballs, skopeo's
# oci-archive and docker-archive), image prune, and the image counts of images and info.

load helpers
load registry
load images

# Three small images made by mkimage, each with its own creation time and labels:
#   A 2021 tier=base (2 layers)   B 2022 tier=app,extra=1   C 2023 tier=app
# FIX/<x>.json is mkimage's summary, FIX/<x>.tar the layout as a docker load tarball.
setup_file() {
  FIX=$BATS_FILE_TMPDIR
  export FIX
  mkimage "$FIX/a" --created 2021-01-01T00:00:00Z --label tier=base \
    --layer-files '[{"path":"etc/a","content":"alpha\n"},{"path":"data/a.bin","size":4096,"seed":1}]' \
    --layer-files '[{"path":"etc/a2","content":"second layer\n"}]' \
    --cmd '["cat","/etc/a"]' --env A=1 --workdir /data >"$FIX/a.json"
  mkimage "$FIX/b" --created 2022-01-01T00:00:00Z --label tier=app --label extra=1 \
    --layer-files '[{"path":"etc/b","content":"bravo\n"}]' >"$FIX/b.json"
  mkimage "$FIX/c" --created 2023-01-01T00:00:00Z --label tier=app \
    --layer-files '[{"path":"etc/c","content":"charlie\n"}]' >"$FIX/c.json"
  local x
  for x in a b c; do layout_tar "$FIX/$x" "$FIX/$x.tar"; done
}

setup() {
  start_berthd
  WORK=$(mktemp -d /tmp/berth-images.XXXXXX)
}

teardown() {
  stop_berthd
  rm -rf "$WORK"
}

# id X: the image ID of fixture X (its config digest); short X: the 12 hex digits docker shows.
id() { jq -r '.manifests[0].config' "$FIX/$1.json"; }
short() { local i; i=$(id "$1"); echo "${i:7:12}"; }
diff_ids() { jq -c '[.manifests[0].layers[].diff_id]' "$FIX/$1.json"; }

# load_fixtures: A as local/a:v1, local/a:latest; B as local/b:v1; C without a name.
load_fixtures() {
  local x
  for x in a b c; do docker load -q -i "$FIX/$x.tar" >/dev/null; done
  docker tag "$(id a)" local/a:v1
  docker tag "$(id a)" local/a:latest
  docker tag "$(id b)" local/b:v1
}

inspect() { docker image inspect "$1" | jq -c ".[0]$2"; }

# Distinct images docker images -a lists, and the count docker info gives: always equal.
assert_counts() {
  [ "$(docker images -aq --no-trunc | sort -u | grep -c .)" -eq "$1" ]
  [ "$(info_images)" -eq "$1" ]
}

host_arch() { docker version --format '{{.Server.Arch}}'; }

# Sum of the regular files' sizes in a tarball: an image's Size as berth and dockerd count it.
tar_file_bytes() { tar -tvf "$1" | awk '/^-/ { s += $3 } END { print s + 0 }'; }

@test "import: stdin with --change and --message, seen in image inspect and history" {
  rootfs_tar "$WORK/root.tar" etc/msg='hello from import'
  run docker import \
    --change 'CMD ["cat", "/etc/msg"]' --change 'ENV FOO=bar BAZ="two words"' \
    --change 'WORKDIR /srv' --change 'WORKDIR app' --change 'LABEL team=berth' \
    --change 'EXPOSE 8080' --change 'USER nobody' --change 'ENTRYPOINT ["/bin/sh", "-c"]' \
    --change 'STOPSIGNAL SIGINT' --change 'VOLUME /data' \
    --message 'first import' - local/imp:v1 <"$WORK/root.tar"
  [ "$status" -eq 0 ]
  [[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]]
  local id=$output
  run inspect local/imp:v1
  [ "$status" -eq 0 ]
  local j=$output
  [ "$(jq -r .Id <<<"$j")" = "$id" ]
  [ "$(jq -c .RepoTags <<<"$j")" = '["local/imp:v1"]' ]
  [ "$(jq -c .RepoDigests <<<"$j")" = '[]' ]
  [ "$(jq -r .Comment <<<"$j")" = "first import" ]
  [ "$(jq -c .Config.Cmd <<<"$j")" = '["cat","/etc/msg"]' ] # ENTRYPOINT after CMD keeps it
  [ "$(jq -c .Config.Entrypoint <<<"$j")" = '["/bin/sh","-c"]' ]
  [ "$(jq -c .Config.Env <<<"$j")" = '["FOO=bar","BAZ=two words"]' ]
  [ "$(jq -r .Config.WorkingDir <<<"$j")" = /srv/app ]
  [ "$(jq -r .Config.Labels.team <<<"$j")" = berth ]
  [ "$(jq -c .Config.ExposedPorts <<<"$j")" = '{"8080/tcp":{}}' ]
  [ "$(jq -r .Config.User <<<"$j")" = nobody ]
  [ "$(jq -r .Config.StopSignal <<<"$j")" = SIGINT ]
  [ "$(jq -c .Config.Volumes <<<"$j")" = '{"/data":{}}' ]
  [ "$(jq -r .Os <<<"$j")" = linux ]
  [ "$(jq -r .Architecture <<<"$j")" = "$(host_arch)" ]
  # An uncompressed tarball is its own diff: the layer's diff ID is its sha256.
  [ "$(jq -c .RootFS <<<"$j")" = "{\"Type\":\"layers\",\"Layers\":[\"sha256:$(sha256sum <"$WORK/root.tar" | cut -d' ' -f1)\"]}" ]
  [ "$(jq -r .Size <<<"$j")" -gt 0 ]
  # Created and LastTagTime (the import named it) are now-ish.
  local created tagged now
  created=$(date -d "$(jq -r .Created <<<"$j")" +%s)
  tagged=$(date -d "$(jq -r .Metadata.LastTagTime <<<"$j")" +%s)
  now=$(date +%s)
  [ $((now - created)) -lt 60 ] && [ $((now - created)) -ge -5 ]
  [ $((now - tagged)) -lt 60 ] && [ $((now - tagged)) -ge -5 ]
  run docker history --format '{{.ID}}|{{.Comment}}' local/imp:v1
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [ "${lines[0]}" = "${id:7:12}|first import" ]
  assert_counts 1
}

@test "import: no name gives a dangling image; a gzip tarball gets its tar's diff ID" {
  rootfs_tar "$WORK/root.tar" etc/msg=gz
  gzip -c "$WORK/root.tar" >"$WORK/root.tar.gz"
  run docker import - <"$WORK/root.tar.gz"
  [ "$status" -eq 0 ]
  local id=$output
  [ "$(inspect "$id" .RepoTags)" = '[]' ]
  [ "$(inspect "$id" .Comment)" = '"Imported from -"' ]
  [ "$(inspect "$id" .Metadata.LastTagTime)" = '"0001-01-01T00:00:00Z"' ]
  [ "$(inspect "$id" .RootFS.Layers)" = "[\"sha256:$(sha256sum <"$WORK/root.tar" | cut -d' ' -f1)\"]" ]
  run docker images --format '{{.Repository}}:{{.Tag}} {{.ID}}'
  [ "$output" = "<none>:<none> ${id:7:12}" ]
  run docker images -q --filter dangling=true
  [ "$output" = "${id:7:12}" ]
  assert_counts 1
}

@test "import: an unknown --change instruction is refused before anything is stored" {
  rootfs_tar "$WORK/root.tar"
  run docker import --change 'RUN echo hi' - local/bad:v1 <"$WORK/root.tar"
  [ "$status" -ne 0 ]
  [[ "$output" == *"run is not a valid change command"* ]]
  assert_counts 0
  [ "$(layer_dirs)" -eq 0 ]
  [ "$(tmp_entries)" -eq 0 ]
}

@test "images: default, -a, -q, --no-trunc, --digests and --format" {
  load_fixtures
  # Newest first; an image with two tags is listed once per tag; C is dangling.
  run docker images --format '{{.Repository}}:{{.Tag}}|{{.ID}}'
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 4 ]
  [ "${lines[0]}" = "<none>:<none>|$(short c)" ]
  [ "${lines[1]}" = "local/b:v1|$(short b)" ]
  [[ "${lines[2]}|${lines[3]}" == "local/a:latest|$(short a)|local/a:v1|$(short a)" ||
    "${lines[2]}|${lines[3]}" == "local/a:v1|$(short a)|local/a:latest|$(short a)" ]]
  run docker images -a --format '{{.ID}}'
  [ "${#lines[@]}" -eq 4 ]
  run docker images -q
  [ "$(printf '%s\n' "${lines[@]}" | sort -u | tr '\n' ' ')" = "$(printf '%s\n' "$(short a)" "$(short b)" "$(short c)" | sort | tr '\n' ' ')" ]
  run docker images -q --no-trunc local/b
  [ "$output" = "$(id b)" ]
  run docker images --no-trunc --format '{{.ID}}' local/a:v1
  [ "$output" = "$(id a)" ]
  # The table: columns as dockerd's, DIGEST with --digests (<none>: never pushed or pulled).
  run docker images --digests local/b
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" =~ ^REPOSITORY\ +TAG\ +DIGEST\ +IMAGE\ ID\ +CREATED\ +SIZE$ ]]
  [[ "${lines[1]}" =~ ^local/b\ +v1\ +\<none\>\ +$(short b)\ + ]]
  run docker images --format '{{json .}}' local/b:v1
  [ "$(jq -r .Repository <<<"$output")" = local/b ]
  [ "$(jq -r .Tag <<<"$output")" = v1 ]
  [ "$(jq -r .CreatedAt <<<"$output")" = "2022-01-01 00:00:00 +0000 UTC" ]
  [ "$(jq -r .Size <<<"$output")" = 6B ]
  [ "$(jq -r .Digest <<<"$output")" = "<none>" ]
  assert_counts 3
}

@test "images --filter: dangling, reference, label, before, since" {
  load_fixtures
  list() { docker images --format '{{.Repository}}:{{.Tag}}' "$@" | sort | tr '\n' ' '; }
  [ "$(list --filter dangling=true)" = "<none>:<none> " ]
  [ "$(list --filter dangling=false)" = "local/a:latest local/a:v1 local/b:v1 " ]
  run docker images --filter dangling=maybe
  [ "$status" -ne 0 ]
  [[ "$output" == *"invalid filter 'dangling="* ]]
  [ "$(list --filter reference=local/a)" = "local/a:latest local/a:v1 " ]
  [ "$(list --filter reference=local/a:v1)" = "local/a:v1 " ]
  [ "$(list --filter 'reference=local/*')" = "local/a:latest local/a:v1 local/b:v1 " ]
  [ "$(list --filter 'reference=local/*:v1')" = "local/a:v1 local/b:v1 " ]
  [ "$(list --filter 'reference=*:v1')" = "" ] # path.Match: * stops at a slash
  [ "$(list --filter label=tier=app)" = "<none>:<none> local/b:v1 " ]
  [ "$(list --filter label=extra)" = "local/b:v1 " ]
  [ "$(list --filter label=tier=app --filter label=extra=1)" = "local/b:v1 " ]
  [ "$(list --filter label=tier=none)" = "" ]
  [ "$(list --filter before=local/b:v1)" = "local/a:latest local/a:v1 " ]
  [ "$(list --filter "before=$(short c)")" = "local/a:latest local/a:v1 local/b:v1 " ]
  [ "$(list --filter since=local/a:v1)" = "<none>:<none> local/b:v1 " ]
  [ "$(list --filter since=local/b:v1 --filter dangling=true)" = "<none>:<none> " ]
  run docker images --filter before=nope:latest
  [ "$status" -ne 0 ]
  [[ "$output" == *"No such image: nope:latest"* ]]
  run docker images --filter bogus=1
  [ "$status" -ne 0 ]
  [[ "$output" == *"invalid filter 'bogus'"* ]]
}

@test "image inspect: Id, RepoTags, Created, Config, RootFS diff IDs, Size, Os, Architecture" {
  docker load -q -i "$FIX/a.tar"
  run inspect "$(id a)"
  [ "$status" -eq 0 ]
  local j=$output
  [ "$(jq -r .Id <<<"$j")" = "$(id a)" ]
  [ "$(jq -c .RepoTags <<<"$j")" = '[]' ]
  [ "$(jq -r .Created <<<"$j")" = 2021-01-01T00:00:00Z ]
  [ "$(jq -c .Config.Cmd <<<"$j")" = '["cat","/etc/a"]' ]
  [ "$(jq -r .Config.WorkingDir <<<"$j")" = /data ]
  [[ "$(jq -c .Config.Env <<<"$j")" == *'"A=1"'* ]]
  [ "$(jq -c .Config.Labels <<<"$j")" = '{"tier":"base"}' ]
  [ "$(jq -r .RootFS.Type <<<"$j")" = layers ]
  [ "$(jq -c .RootFS.Layers <<<"$j")" = "$(diff_ids a)" ]
  [ "$(jq -r .Os <<<"$j")" = linux ]
  [ "$(jq -r .Architecture <<<"$j")" = amd64 ] # mkimage's default platform
  [ "$(jq -r .Size <<<"$j")" -eq $((6 + 4096 + 13)) ]
  [ "$(jq -r .GraphDriver.Name <<<"$j")" = overlay2 ]
  [ "$(jq -r .Metadata.LastTagTime <<<"$j")" = 0001-01-01T00:00:00Z ]
  # Tagging names it, sets LastTagTime, and keeps it across a restart.
  docker tag "$(id a)" local/a:v1
  [ "$(inspect local/a:v1 .RepoTags)" = '["local/a:v1"]' ]
  local t
  t=$(inspect local/a:v1 .Metadata.LastTagTime | jq -r .)
  [ $(($(date +%s) - $(date -d "$t" +%s))) -lt 60 ]
  restart_berthd
  [ "$(inspect local/a:v1 .Id)" = "\"$(id a)\"" ]
  [ "$(inspect local/a:v1 .Metadata.LastTagTime | jq -r .)" = "$t" ]
  # By short ID, and a missing image.
  [ "$(inspect "$(short a)" .Id)" = "\"$(id a)\"" ]
  run docker image inspect local/nope
  [ "$status" -ne 0 ]
  [[ "$output" == *"No such image: local/nope"* ]]
}

@test "tag: more names for one ID; bad names and missing images are refused" {
  load_fixtures
  run docker tag local/b:v1 other/b:2
  [ "$status" -eq 0 ]
  run docker tag "$(short b)" registry.example:5000/team/b
  [ "$status" -eq 0 ]
  [ "$(inspect local/b:v1 .RepoTags)" = '["local/b:v1","other/b:2","registry.example:5000/team/b:latest"]' ]
  [ "$(docker images -q other/b:2)" = "$(short b)" ]
  # Moving a tag to another image leaves the old one with its other names.
  docker tag local/a:v1 other/b:2
  [ "$(docker images -q other/b:2)" = "$(short a)" ]
  [ "$(inspect local/b:v1 .RepoTags)" = '["local/b:v1","registry.example:5000/team/b:latest"]' ]
  run docker tag local/b:v1 'Bad/Name:x'
  [ "$status" -ne 0 ]
  [[ "$output" == *"invalid reference format"* ]]
  run docker tag local/nope:v1 x:y
  [ "$status" -ne 0 ]
  [[ "$output" == *"No such image: local/nope:v1"* ]]
  assert_counts 3
}

@test "rmi: untag until the last name, then Deleted; -f; conflict across repositories" {
  load_fixtures
  docker tag local/a:v1 other/a:1
  local layers
  layers=$(layer_dirs)
  run docker rmi local/a:latest
  [ "$status" -eq 0 ]
  [ "$output" = "Untagged: local/a:latest" ]
  [ "$(inspect "$(id a)" .RepoTags)" = '["local/a:v1","other/a:1"]' ]
  # By ID, while names in two repositories point at it: dockerd's conflict.
  run docker rmi "$(short a)"
  [ "$status" -ne 0 ]
  [[ "$output" == *"conflict: unable to delete $(short a) (must be forced) - image is referenced in multiple repositories"* ]]
  assert_counts 3
  run docker rmi -f "$(short a)"
  [ "$status" -eq 0 ]
  [[ "$output" == *"Untagged: local/a:v1"* ]]
  [[ "$output" == *"Untagged: other/a:1"* ]]
  [[ "$output" == *"Deleted: $(id a)"* ]]
  # Both of A's layers are deleted too (their chain IDs).
  [ "$(grep -c '^Deleted: ' <<<"$output")" -eq 3 ]
  [ "$(layer_dirs)" -eq $((layers - 2)) ]
  assert_counts 2
  # The last name: untagged and deleted at once.
  run docker rmi local/b:v1
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "Untagged: local/b:v1" ]
  [ "${lines[1]}" = "Deleted: $(id b)" ]
  assert_counts 1
  # A dangling image goes by ID without -f.
  run docker rmi "$(short c)"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "Deleted: $(id c)" ]
  assert_counts 0
  [ "$(layer_dirs)" -eq 0 ]
  [ -z "$(ls -A "$BT_DIR/root/blobs/sha256")" ]
  run docker rmi local/nope
  [ "$status" -ne 0 ]
  [[ "$output" == *"No such image: local/nope"* ]]
}

@test "history: newest first, the image ID on the top row and <missing> below" {
  docker load -q -i "$FIX/a.tar"
  docker tag "$(id a)" local/a:v1
  run docker history --format '{{.ID}}|{{.CreatedBy}}|{{.Size}}' local/a:v1
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 2 ]
  [ "${lines[0]}" = "$(short a)|mkimage: layer 1|13B" ]
  [ "${lines[1]}" = "<missing>|mkimage: layer 0|4.1kB" ]
  run docker history --no-trunc -q local/a:v1
  [ "${lines[0]}" = "$(id a)" ]
  [ "${lines[1]}" = "<missing>" ]
  run docker history local/nope
  [ "$status" -ne 0 ]
  [[ "$output" == *"No such image: local/nope"* ]]
  # Empty-layer steps (ENV, CMD) are rows of 0 B; each layer's size goes to the step that made it.
  jq -n '{created: "2022-05-05T00:00:00Z", config: {Env: ["A=1"]},
    history: [{created_by: "ADD rootfs", created: "2022-05-01T00:00:00Z"},
      {created_by: "ENV A=1", empty_layer: true}, {created_by: "RUN make", comment: "built"},
      {created_by: "CMD [\"sh\"]", empty_layer: true}],
    layers: [{files: [{path: "a", content: "12345"}]}, {files: [{path: "b", size: 2000, seed: 1}]}]}' |
    mkimage "$WORK/hist" --spec - >"$WORK/hist.json"
  layout_tar "$WORK/hist" "$WORK/hist.tar"
  docker load -q -i "$WORK/hist.tar"
  local hid
  hid=$(jq -r '.manifests[0].config' "$WORK/hist.json")
  run docker history --format '{{.ID}}|{{.CreatedBy}}|{{.Size}}|{{.Comment}}|{{.CreatedAt}}' "$hid"
  [ "${#lines[@]}" -eq 4 ]
  [ "${lines[0]}" = "${hid:7:12}|CMD [\"sh\"]|0B||2022-05-05T00:00:00Z" ]
  [ "${lines[1]}" = "<missing>|RUN make|2kB|built|2022-05-05T00:00:00Z" ]
  [ "${lines[2]}" = "<missing>|ENV A=1|0B||2022-05-05T00:00:00Z" ]
  [ "${lines[3]}" = "<missing>|ADD rootfs|5B||2022-05-01T00:00:00Z" ]
}

@test "save, rmi, load: the same ID comes back with its tags and history" {
  load_fixtures
  docker tag local/a:v1 other/a:1
  run docker save -o "$WORK/a.tar" local/a:v1 other/a:1
  [ "$status" -eq 0 ]
  # dockerd's layout: an OCI layout with manifest.json beside it.
  tar -tf "$WORK/a.tar" >"$WORK/list"
  grep -qx manifest.json "$WORK/list"
  grep -qx index.json "$WORK/list"
  grep -qx oci-layout "$WORK/list"
  [ "$(tar -xOf "$WORK/a.tar" manifest.json | jq -c '.[0].RepoTags | sort')" = '["local/a:v1","other/a:1"]' ]
  local before
  before=$(docker history --no-trunc --format '{{.ID}} {{.CreatedBy}}' local/a:v1)
  docker rmi -f "$(short a)" >/dev/null
  assert_counts 2
  run docker load -i "$WORK/a.tar"
  [ "$status" -eq 0 ]
  [[ "$output" == *"Loaded image: local/a:v1"* ]]
  [[ "$output" == *"Loaded image: other/a:1"* ]]
  [ "$(inspect local/a:v1 .Id)" = "\"$(id a)\"" ]
  [ "$(inspect other/a:1 .Id)" = "\"$(id a)\"" ]
  [ "$(inspect local/a:v1 .RootFS.Layers)" = "$(diff_ids a)" ]
  [ "$(docker history --no-trunc --format '{{.ID}} {{.CreatedBy}}' local/a:v1)" = "$before" ]
  assert_counts 3
  # Through a pipe too, and loading what is already there changes nothing.
  run bash -c "'$DOCKER_BIN' save local/b:v1 | '$DOCKER_BIN' load"
  [ "$status" -eq 0 ]
  [ "$output" = "Loaded image: local/b:v1" ]
  assert_counts 3
}

@test "load: skopeo's oci-archive and docker-archive tarballs" {
  command -v skopeo >/dev/null || skip "skopeo is not installed"
  skopeo copy --quiet --insecure-policy "oci:$FIX/a" "oci-archive:$WORK/oci.tar"
  skopeo copy --quiet --insecure-policy "oci:$FIX/b" "docker-archive:$WORK/docker.tar:local/dock:v2"
  run docker load -i "$WORK/oci.tar"
  [ "$status" -eq 0 ]
  [ "$output" = "Loaded image ID: $(id a)" ]
  [ "$(inspect "$(id a)" .RootFS.Layers)" = "$(diff_ids a)" ]
  run docker load -i "$WORK/docker.tar"
  [ "$status" -eq 0 ]
  [ "$output" = "Loaded image: local/dock:v2" ]
  [ "$(inspect local/dock:v2 .Id)" = "\"$(id b)\"" ]
  [ "$(inspect local/dock:v2 .RootFS.Layers)" = "$(diff_ids b)" ]
  assert_counts 2
  # A compressed archive loads as well (docker load takes gzip'd tarballs).
  docker rmi local/dock:v2 >/dev/null
  gzip -c "$WORK/docker.tar" >"$WORK/docker.tar.gz"
  run docker load -i "$WORK/docker.tar.gz"
  [ "$status" -eq 0 ]
  [ "$output" = "Loaded image: local/dock:v2" ]
  # Not an image archive at all.
  rootfs_tar "$WORK/root.tar"
  run docker load -i "$WORK/root.tar"
  [ "$status" -ne 0 ]
  [[ "$output" == *"manifest.json"* ]]
  assert_counts 2
  [ "$(tmp_entries)" -eq 0 ]
}

@test "image prune: dangling images only; prune -a: every image; counts follow" {
  load_fixtures
  assert_counts 3
  local all_layers
  all_layers=$(layer_dirs)
  [ "$all_layers" -eq 4 ]
  run docker image prune -f
  [ "$status" -eq 0 ]
  [[ "$output" == *"deleted: $(id c)"* ]]
  # what left the disk: the layer's 8 bytes of files, its tar blob and the config blob
  local freed
  freed=$((8 + $(jq '.manifests[0].layers[0].size' "$FIX/c.json") +
    $(stat -c %s "$FIX/c/blobs/sha256/$(id c | cut -d: -f2)")))
  [[ "$output" == *"Total reclaimed space: ${freed}B"* ]]
  assert_counts 2
  [ "$(layer_dirs)" -eq 3 ]
  run docker images --format '{{.Repository}}:{{.Tag}}'
  [[ "$output" != *"<none>"* ]]
  # Nothing dangling left: a second prune deletes nothing.
  run docker image prune -f
  [ "$status" -eq 0 ]
  [[ "$output" == *"Total reclaimed space: 0B"* ]]
  assert_counts 2
  # -a with a label filter: only B goes.
  run docker image prune -a -f --filter label=tier=app
  [ "$status" -eq 0 ]
  [[ "$output" == *"untagged: local/b:v1"* ]]
  [[ "$output" == *"deleted: $(id b)"* ]]
  assert_counts 1
  run docker image prune -a -f
  [ "$status" -eq 0 ]
  [[ "$output" == *"untagged: local/a:v1"* ]]
  [[ "$output" == *"untagged: local/a:latest"* ]]
  [[ "$output" == *"deleted: $(id a)"* ]]
  assert_counts 0
  [ "$(layer_dirs)" -eq 0 ]
  [ -z "$(ls -A "$BT_DIR/root/layers/l")" ]
  [ -z "$(ls -A "$BT_DIR/root/blobs/sha256")" ]
  [ -z "$(docker images -aq)" ]
}
