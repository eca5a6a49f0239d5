#!/usr/bin/env bats
# Bad input refused at create with dockerd's 400 and words (and nothing created: no container,
# no host directory), sent to the API directly so that berthd's check is what is tested, and
# through the docker CLI where the CLI passes the value on; HostConfig fields berth does not
# honour yet refused by name; inspect's HostConfig.Runtime and NetworkSettings.MacAddress.
# bats file_tags=reactor-neutral

load helpers
load containers

setup_file() { ctr_setup_file; }
setup() { ctr_setup; }
teardown() {
  [ -z "${RELDIR:-}" ] || rmdir "/$RELDIR" "$BERTHD_CWD/$RELDIR" 2>/dev/null || true
  ctr_teardown
}

@test "a HostConfig.Mounts bind with a relative Source is refused; no directory appears" {
  RELDIR=berth-relmount-$$-$RANDOM
  BERTHD_CWD=$(readlink "/proc/$BT_PID/cwd")
  refused "$(body "{\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"$RELDIR\",\"Target\":\"/x\"}]}")" \
    "invalid mount config for type \"bind\": invalid mount path: '$RELDIR' mount path must be absolute"
  cli_refused "invalid mount config for type \"bind\": invalid mount path: '$RELDIR' mount path must be absolute" \
    --mount "type=bind,source=$RELDIR,target=/x"
  [ ! -e "/$RELDIR" ]
  [ ! -e "$BERTHD_CWD/$RELDIR" ]
}

@test "a HostConfig.Mounts bind of a missing source is refused at create, not made" {
  refused "$(body "{\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"$BT_DIR/missing\",\"Target\":\"/x\"}]}")" \
    "invalid mount config for type \"bind\": bind source path does not exist: $BT_DIR/missing"
  cli_refused "invalid mount config for type \"bind\": bind source path does not exist: $BT_DIR/missing" \
    --mount "type=bind,source=$BT_DIR/missing,target=/x"
  [ ! -e "$BT_DIR/missing" ]
  # BindOptions.CreateMountpoint asks for it to be made, as dockerd does (docker 28.2's CLI
  # has no flag for it)
  code=$(api_save POST /containers/create -H 'Content-Type: application/json' -d "{
    \"Image\":\"busybox\",\"Cmd\":[\"sh\",\"-c\",\"echo hi >/x/f\"],\"HostConfig\":{\"Mounts\":[{
    \"Type\":\"bind\",\"Source\":\"$BT_DIR/made\",\"Target\":\"/x\",
    \"BindOptions\":{\"CreateMountpoint\":true}}]}}")
  [ "$code" = 201 ]
  docker start -a "$(jq -r .Id "$BT_DIR/api.body")"
  [ "$(cat "$BT_DIR/made/f")" = hi ]
}

@test "HostConfig.Mounts: destination '/', a relative target, an unknown type" {
  mkdir "$BT_DIR/src"
  refused "$(body "{\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"$BT_DIR/src\",\"Target\":\"/\"}]}")" \
    "invalid mount config for type \"bind\": invalid specification: destination can't be '/'"
  refused "$(body "{\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"$BT_DIR/src\",\"Target\":\"x/..\"}]}")" \
    "invalid mount config for type \"bind\": invalid mount path: 'x/..' mount path must be absolute"
  refused "$(body '{"Mounts":[{"Type":"bogus","Target":"/x"}]}')" \
    'invalid mount config for type "bogus": mount type unknown'
}

@test "negative Memory is refused (dockerd's 6MB minimum)" {
  refused "$(body '{"Memory":-1}')" "Minimum memory limit allowed is 6MB"
}

@test "MemorySwappiness 500 is refused; -1 and 60 are taken" {
  refused "$(body '{"MemorySwappiness":500}')" \
    "Invalid value: 500, valid memory swappiness range is 0-100"
  # (the CLI refuses --memory-swappiness 500 itself)
  docker create --memory-swappiness 60 busybox true >/dev/null
  code=$(api_save POST /containers/create -H 'Content-Type: application/json' \
    -d "$(body '{"MemorySwappiness":-1}')")
  [ "$code" = 201 ]
}

@test "CpuShares -1 is refused" {
  refused "$(body '{"CpuShares":-1}')" "invalid CPU shares (-1): value must be a positive integer"
  cli_refused "invalid CPU shares (-1): value must be a positive integer" --cpu-shares -1
}

@test "StopSignal SIGPWN is refused; RTMIN+3 and numbers are signals" {
  refused "$(body '{}' '"StopSignal":"SIGPWN"')" "invalid signal: SIGPWN"
  cli_refused "invalid signal: SIGPWN" --stop-signal SIGPWN
  docker create --stop-signal RTMIN+3 busybox true >/dev/null
  docker create --stop-signal 10 busybox true >/dev/null
}

@test "OomScoreAdj 5000 is refused" {
  refused "$(body '{"OomScoreAdj":5000}')" \
    "Invalid value 5000, range for oom score adj is [-1000, 1000]"
  cli_refused "Invalid value 5000, range for oom score adj is [-1000, 1000]" --oom-score-adj 5000
}

@test "Ulimits: soft above hard, soft -1 under a finite hard, other negatives, unknown names" {
  refused "$(body '{"Ulimits":[{"Name":"nofile","Soft":2048,"Hard":1024}]}')" \
    "ulimit soft limit must be less than or equal to hard limit: 2048 > 1024"
  refused "$(body '{"Ulimits":[{"Name":"nofile","Soft":-1,"Hard":1024}]}')" \
    "ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: 1024"
  refused "$(body '{"Ulimits":[{"Name":"core","Soft":-5,"Hard":-5}]}')" \
    "invalid ulimit value for core: -5:-5 (-1 is unlimited)"
  refused "$(body '{"Ulimits":[{"Name":"bogus","Soft":1,"Hard":1}]}')" "invalid ulimit type: bogus"
}

@test "--ulimit -1 is unlimited, as with dockerd" {
  # core and data: limits this host leaves unlimited (berthd may lack CAP_SYS_RESOURCE)
  run docker run --rm --ulimit core=1024:-1 --ulimit data=-1 busybox cat /proc/self/limits
  [ "$status" -eq 0 ]
  [ "$(grep '^Max core file size' <<<"$output" | awk '{print $(NF-2), $(NF-1)}')" = "1024 unlimited" ]
  [ "$(grep '^Max data size' <<<"$output" | awk '{print $(NF-2), $(NF-1)}')" = "unlimited unlimited" ]
}

@test "a relative WorkingDir is refused" {
  refused "$(body '{}' '"WorkingDir":"rel/dir"')" \
    "the working directory 'rel/dir' is invalid, it needs to be an absolute path"
  cli_refused "the working directory 'rel/dir' is invalid, it needs to be an absolute path" -w rel/dir
}

@test "a bind destination of ../../../etc is refused" {
  mkdir "$BT_DIR/src"
  local spec="$BT_DIR/src:../../../etc"
  local msg="invalid volume specification: '$spec': invalid mount config for type \"bind\": invalid mount path: '../../../etc' mount path must be absolute"
  refused "$(body "{\"Binds\":[\"$spec\"]}")" "$msg"
  cli_refused "$msg" -v "$spec"
}

@test "a bind destination of / is refused" {
  mkdir "$BT_DIR/src"
  local msg="invalid volume specification: '$BT_DIR/src:/': invalid mount config for type \"bind\": invalid specification: destination can't be '/'"
  refused "$(body "{\"Binds\":[\"$BT_DIR/src:/\"]}")" "$msg"
  cli_refused "$msg" -v "$BT_DIR/src:/"
  refused "$(body "{\"Binds\":[\"$BT_DIR/src:/x/..:ro\"]}")" \
    "invalid volume specification: '$BT_DIR/src:/x/..:ro': invalid mount config for type \"bind\": invalid specification: destination can't be '/'"
  refused "$(body "{\"Binds\":[\"$BT_DIR/src:/x:bogus\"]}")" "invalid mode: bogus"
}

@test "Binds of volumes: a bad volume name is refused in dockerd's words, a good one is made" {
  refused "$(body '{"Binds":["my@vol:/data"]}')" \
    'create my@vol: "my@vol" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path'
  refused "$(body '{"Binds":["v:/data"]}')" \
    "create v: volume name is too short, names should be at least two alphanumeric characters"
  [ -z "$(docker volume ls -q)" ]
  [ "$(api_save POST /containers/create -H 'Content-Type: application/json' \
    -d "$(body '{"Binds":["myvol:/data"]}')")" = 201 ]
  [ "$(docker volume ls -q)" = myvol ]
}

@test "a newline in an ExtraHosts entry is refused (it would add lines to /etc/hosts)" {
  refused "$(body '{"ExtraHosts":["evil:1.2.3.4\n6.6.6.6 bank.example"]}')" \
    'invalid IP address in add-host: "1.2.3.4\n6.6.6.6 bank.example"'
  refused "$(body '{"ExtraHosts":["a\n6.6.6.6 bank.example:1.2.3.4"]}')" \
    'bad format for add-host: "a\n6.6.6.6 bank.example:1.2.3.4"'
  refused "$(body '{"ExtraHosts":["nocolon"]}')" 'bad format for add-host: "nocolon"'
  run docker run --rm --add-host db:10.0.0.7 --add-host v6:fd00::7 busybox cat /etc/hosts
  [[ "$output" == *$'10.0.0.7\tdb'* ]]
  [[ "$output" == *$'fd00::7\tv6'* ]]
}

@test "a newline in Hostname is refused (it would add lines to /etc/hostname and /etc/hosts)" {
  refused "$(body '{}' '"Hostname":"h\n6.6.6.6 bank.example"')" \
    'invalid hostname "h\n6.6.6.6 bank.example": whitespace and control characters are not allowed'
  cli_refused 'invalid hostname "a\nb": whitespace and control characters are not allowed' \
    --hostname $'a\nb'
  local long
  long=$(printf 'h%.0s' $(seq 65))
  refused "$(body '{}' "\"Hostname\":\"$long\"")" "hostname \"$long\" is too long (maximum 64 bytes)"
}

@test "a newline in Dns is refused (it would add lines to /etc/resolv.conf)" {
  refused "$(body '{"Dns":["1.1.1.1\nnameserver 6.6.6.6"]}')" \
    $'bad nameserver address 1.1.1.1\nnameserver 6.6.6.6'
}

@test "HostConfig.Links is checked at create in dockerd's words (59-links has the rest)" {
  refused "$(body '{"Links":["other:alias"]}')" \
    "could not get container for other: No such container: other"
  refused "$(body '{"Links":[""]}')" "empty string specified for links"
  docker create --name other busybox true >/dev/null
  docker create --name lnk --link other:alias busybox true >/dev/null
  [ "$(docker ps -aq | wc -l)" -eq 2 ]
  # empty lists are no request at all
  code=$(api_save POST /containers/create -H 'Content-Type: application/json' \
    -d "$(body '{"Links":[],"DeviceCgroupRules":null}')")
  [ "$code" = 201 ]
}

@test "inspect: HostConfig.Runtime is runc; --runtime runc runs; an unknown runtime is refused" {
  docker create --name dflt busybox true >/dev/null
  [ "$(docker inspect -f '{{.HostConfig.Runtime}}' dflt)" = runc ]
  [ "$(api_save GET /containers/dflt/json)" = 200 ]
  [ "$(jq -r .HostConfig.Runtime "$BT_DIR/api.body")" = runc ]
  run docker run --rm --runtime runc busybox echo ran
  [ "$output" = ran ]
  docker create --name asked --runtime runc busybox true >/dev/null
  [ "$(docker inspect -f '{{.HostConfig.Runtime}}' asked)" = runc ]
  run docker create --runtime nope busybox true
  [ "$status" -ne 0 ]
  [[ "$output" == *"Error response from daemon: unknown or invalid runtime name: nope"* ]]
  [ "$(docker ps -aq | wc -l)" -eq 2 ]
  [ "$(docker info -f '{{.DefaultRuntime}}')" = runc ]
}

@test "inspect: NetworkSettings.MacAddress and the endpoint per network, as dockerd's for none and host" {
  docker create --name nn --network none busybox true >/dev/null
  docker create --name hn --network host busybox true >/dev/null
  local c ns # the API's own JSON: the CLI's templates fill in missing fields with zero values
  for c in nn hn; do
    [ "$(api_save GET "/containers/$c/json")" = 200 ]
    ns=$(jq -c .NetworkSettings "$BT_DIR/api.body")
    [ "$(jq -c '[.MacAddress, .IPAddress, .EndpointID, .SecondaryIPAddresses]' <<<"$ns")" = '["","","",null]' ]
    [ "$(jq -r '.Networks | keys | join(",")' <<<"$ns")" = "$([ $c = nn ] && echo none || echo host)" ]
    [ "$(jq -c '.Networks[] | [.MacAddress, .GwPriority, .DNSNames, has("DNSNames")]' <<<"$ns")" = '["",0,null,true]' ]
  done
  [ "$(api_save GET /containers/json?all=1)" = 200 ]
  [ "$(jq -c '[.[].NetworkSettings.Networks[] | has("GwPriority")] | unique' "$BT_DIR/api.body")" = '[true]' ]
}
