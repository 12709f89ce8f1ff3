#!/usr/bin/env bash
# The main job, the whole path a user takes:
#   build   generate an origin key, build the fixtures/hello chain (greetdata,
#           libgreet, hello: a data package, a C library, a C program) and the
#           fixtures/service and service-client packages with `hab pkg build`
#           in chroot studios into signed .harts, verify them, install hello
#           and run it;
#   share   serve a depot (`hab depot serve`) on a loopback port, create the
#           origin, upload its key and the harts, promote them to stable, and
#           install hello and the services from the depot into a second,
#           empty root with an empty key cache, and run hello there;
#   run     run the service under `hab sup run` in that root, show it through
#           the control and HTTP gateways, reconfigure it with `hab config
#           apply`, bind the client to it, then `hab sup term`;
#   export  export the service to a container image archive and a tarball.
#
# Everything lives under ./.hab-demo (DEMO_ROOT): the file-system roots
# (FS_ROOT, with the studios, the artifact cache and the key cache), the
# source tree the studio mounts at /src (a copy of the fixtures, so that
# results/ never lands in the repository), the depot's data, the exports
# and HOME. The machine's real /hab and key caches are never touched, and
# every listener is on a free loopback port. Each run starts clean; the
# depot and the supervisor are stopped when the script ends, however it ends.
#
# Studios need root, or unprivileged user namespaces for another user.
# Where no studio can run, the packages are built with `hab plan build` in
# the current environment instead, and the script says so in one line.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
hab="${HAB_BIN:-$repo/bin/hab}" # make demo builds bin/hab
demo="${DEMO_ROOT:-$repo/.hab-demo}"
case "$demo" in /*) ;; *) demo="$repo/$demo" ;; esac
origin=habtest # the fixture plans' pkg_origin
chain=(greetdata libgreet hello)
services=(service service-client)
greeting="Hello from greetdata, through libgreet!"
started=$SECONDS

step() { printf '\n» %s\n' "$*"; }
die() { printf '✗ %s\n' "$*" >&2; exit 1; }

# await DESCRIPTION COMMAND...: polls COMMAND until it succeeds (a process
# we start cannot tell us when it is ready); gives up after a minute.
await() {
  local what=$1 i
  shift
  for ((i = 0; i < 600; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  die "gave up waiting for $what"
}

# get URL: prints the body of a successful HTTP GET of URL (python3, which
# the demo needs for free ports anyway, rather than curl).
get() {
  python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' "$1"
}

# answers URL BODY: whether URL answers BODY (trailing newlines aside).
answers() { [ "$(get "$1")" = "$2" ]; }

# svc_pid FILE: the pid of service.default in the table hab svc status
# prints (columns aligned by spaces; the rows' cells hold none).
svc_pid() { awk '$7 == "service.default" { print $6 }' "$1"; }

[ -x "$hab" ] || CGO_ENABLED=0 go build -o "$hab" ./cmd/hab

# Start clean, but never delete through a mount point.
if awk -v d="$demo" '$5 == d || index($5, d "/") == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
  die "something is mounted under $demo; unmount it first"
fi
rm -rf "$demo"
root="$demo/root"
src="$demo/src"
mkdir -p "$root" "$src" "$demo/home" "$demo/logs"
for p in "${chain[@]}" "${services[@]}"; do cp -a "fixtures/$p" "$src/$p"; done

# The depot and the supervisor run in the background; whatever happens,
# they are stopped (a supervisor in a studio goes with its studio's
# processes) before the script exits.
depot_pid="" sup_pid=""
stop_background() {
  local pid
  for pid in $sup_pid $depot_pid; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  sup_pid="" depot_pid=""
}
trap stop_background EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Free loopback ports, from the kernel: the depot, the control and HTTP
# gateways, and the service.
read -r depot_port ctl_port http_port svc_port < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(4)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
')

# Only the demo's locations: no host setting may point elsewhere.
unset ARTIFACT_PATH SRC_PATH HAB_STUDIO_ROOT HAB_STUDIOS_HOME HAB_CACHE_SRC_PATH HAB_OUTPUT_PATH HAB_ORIGIN_KEYS NO_SRC_PATH NO_ARTIFACT_PATH
unset HAB_BLDR_URL HAB_DEPOT_URL HAB_AUTH_TOKEN HAB_BLDR_CHANNEL HAB_LISTEN_CTL HAB_CTL_SECRET HAB_SUP_GATEWAY_AUTH_TOKEN
export FS_ROOT="$root" HAB_CACHE_KEY_PATH="$root/hab/cache/keys" HOME="$demo/home" HAB_ORIGIN="$origin" HAB_STUDIO_HAB_BIN="$hab"

# The packages built in a studio name /hab/pkgs/... and /hab/svc/...: they
# run where /hab is the demo root's, in a studio over that root. Lay it out
# first (an empty directory is the only one a studio takes), and see
# whether studios run here (as root; as another user, where user
# namespaces are allowed). DEMO_STUDIO=no skips the studio.
studio=no
why=""
if [ "${DEMO_STUDIO:-auto}" = no ]; then
  why="DEMO_STUDIO=no"
elif HAB_ORIGIN= "$hab" studio -q new -r "$root" -n -N 2>"$demo/logs/studio-probe.log" &&
  HAB_ORIGIN= "$hab" studio -q run -r "$root" -n -N true 2>>"$demo/logs/studio-probe.log"; then
  studio=yes
else
  [ "$(id -u)" -eq 0 ] || why="not running as root, and "
  why="${why}no studio can run here: $(grep -v '^ *$' "$demo/logs/studio-probe.log" | grep -v '^✗✗✗$' | tail -n 1)"
  rm -rf "$root" && mkdir -p "$root"
fi

# hab_in ROOT ARGS...: runs hab ARGS where the packages of ROOT find what
# they name: in a studio over ROOT, or in place.
hab_in() {
  local r=$1
  shift
  if [ "$studio" = yes ]; then
    HAB_ORIGIN= "$hab" studio -q run -r "$r" -n -N hab "$@"
  else
    FS_ROOT="$r" HAB_CACHE_KEY_PATH="$r/hab/cache/keys" "$hab" "$@"
  fi
}

echo "== build"
step "Generating an origin key pair for $origin in $HAB_CACHE_KEY_PATH"
"$hab" origin key generate "$origin"

declare -A idents harts
for p in "${chain[@]}" "${services[@]}"; do
  if [ "$studio" = yes ]; then
    artifacts="$root/hab/cache/artifacts"
    [ "$(id -u)" -eq 0 ] || artifacts="$HOME/.hab/cache/artifacts"
    step "hab pkg build $p (chroot studio for $src; dependencies from $artifacts)"
    "$hab" pkg build -s "$src" "$p"
  else
    [ "$p" != "${chain[0]}" ] || echo "No studio ($why): building with 'hab plan build' in the current environment instead."
    step "hab plan build $p"
    (cd "$src" && "$hab" plan build "$p")
  fi
  # shellcheck disable=SC1091
  idents[$p]=$(. "$src/results/last_build.env" && echo "$pkg_ident")
  # shellcheck disable=SC1091
  harts[$p]=$(. "$src/results/last_build.env" && echo "$src/results/$pkg_artifact")
  [ -f "${harts[$p]}" ] || die "no artifact at ${harts[$p]}"
done
if [ "$studio" = yes ]; then
  left=$({ find "$root/hab/studios" "$HOME/.hab/studios" -mindepth 1 -maxdepth 1 2>/dev/null || true; } | wc -l)
  [ "$left" -eq 0 ] || die "a studio was left under $root/hab/studios or $HOME/.hab/studios"
fi
artifact=${harts[hello]}
ident=${idents[hello]}

step "Verifying the harts"
for h in "$src"/results/*.hart; do "$hab" pkg verify "$h"; done
"$hab" pkg header "$artifact"

step "Installing $ident into $FS_ROOT (dependencies from the artifact cache)"
"$hab" pkg install "$artifact"
"$hab" pkg install "$artifact" # idempotent: already installed
"$hab" pkg path "$origin/hello"
"$hab" pkg list --all

step "Running it with hab pkg exec$( [ "$studio" = yes ] && echo " in a studio over $FS_ROOT (the binaries name /hab/pkgs/...)")"
out=$(hab_in "$root" pkg exec "$origin/hello" hello)
echo "$out"
[ "$out" = "$greeting" ] || die "hello printed '$out', want '$greeting'"

echo
echo "== share"
depot_data="$demo/depot"
depot="http://127.0.0.1:$depot_port"
step "hab depot serve --listen 127.0.0.1:$depot_port --data $depot_data (in the background), with a token from hab depot token create"
mkdir -p "$depot_data"
token=$("$hab" depot token create --account demo --data "$depot_data")
"$hab" depot serve --listen "127.0.0.1:$depot_port" --data "$depot_data" </dev/null >"$demo/logs/depot.log" 2>&1 &
depot_pid=$!
await "the depot at $depot" get "$depot/v1/status"
echo "The depot answers at $depot (log: $demo/logs/depot.log)"
export HAB_BLDR_URL="$depot" HAB_AUTH_TOKEN="$token"

step "hab origin create $origin; hab origin key upload $origin"
"$hab" origin create "$origin"
"$hab" origin key upload "$origin"

step "hab pkg upload hello, service and service-client (the dependencies beside them go too)"
"$hab" pkg upload "$artifact" "${harts[service]}" "${harts[service-client]}"

step "hab pkg promote ... stable"
for p in hello "${services[@]}"; do "$hab" pkg promote "${idents[$p]}" stable; done

# The second root has never seen a package or a key: everything comes from
# the depot. Built in a studio, the packages name /hab/...: a new studio
# root is laid out first, and they run in a studio over it. Built in
# place, they name the first root's path: the second takes its place.
if [ "$studio" = yes ]; then
  installed="$demo/root2"
  mkdir -p "$installed"
  HAB_ORIGIN= "$hab" studio -q new -r "$installed" -n -N
else
  mv "$root" "$demo/root.built"
  installed=$root
  mkdir -p "$installed"
fi
step "hab pkg install hello, service and service-client from the depot into $installed (an empty root, an empty key cache)"
FS_ROOT="$installed" HAB_CACHE_KEY_PATH="$installed/hab/cache/keys" \
  "$hab" pkg install "$origin/hello" "$origin/service" "$origin/service-client"

step "Running hello from the depot-installed root"
out=$(hab_in "$installed" pkg exec "$origin/hello" hello)
echo "$out"
[ "$out" = "$greeting" ] || die "hello from the depot printed '$out', want '$greeting'"

echo
echo "== run"
export FS_ROOT="$installed" HAB_CACHE_KEY_PATH="$installed/hab/cache/keys"
ctl="127.0.0.1:$ctl_port"
gw="http://127.0.0.1:$http_port"
svc="http://127.0.0.1:$svc_port/"
mkdir -p "$installed/hab/user/service/config"
printf 'port = %d\n\n[listen]\nhost = "127.0.0.1"\n' "$svc_port" >"$installed/hab/user/service/config/user.toml"
sup_args=(habtest/service --listen-ctl "$ctl" --listen-http "127.0.0.1:$http_port" --listen-gossip 127.0.0.1:0 --sys-ip-address 127.0.0.1)
term_file=/hab/demo-sup-term
sup_log="$demo/logs/sup.log"
if [ "$studio" = yes ]; then
  step "hab sup run ${sup_args[*]} (in the background, in a studio over $installed)"
  # A studio has a process namespace of its own, where the pid in the
  # supervisor's LOCK means something: hab sup term runs there, when the
  # script asks for it.
  HAB_ORIGIN= "$hab" studio -q run -r "$installed" -n -N \
    "hab sup run ${sup_args[*]} & until [ -e $term_file ]; do sleep 0.1; done; hab sup term; wait" \
    </dev/null >"$sup_log" 2>&1 &
else
  step "hab sup run ${sup_args[*]} (in the background)"
  "$hab" sup run "${sup_args[@]}" </dev/null >"$sup_log" 2>&1 &
fi
sup_pid=$!
echo "port = $svc_port and listen.host = 127.0.0.1 from $installed/hab/user/service/config/user.toml"
await "the HTTP gateway at $gw" get "$gw/services"
await "the service at $svc" get "$svc"
echo "The service answers at $svc: $(get "$svc")"

step "hab svc status -r $ctl; the HTTP gateway's $gw/services"
"$hab" svc status -r "$ctl" | tee "$demo/logs/status-before"
get "$gw/services" | python3 -c '
import json, sys
for s in json.load(sys.stdin):
    print("%s: %s, process %s, cfg %s" % (s["service_group"], s["pkg"]["ident"], s["process"]["state"], json.dumps(s["cfg"], sort_keys=True)))
'

step "hab config apply service.default 1 -r $ctl (a new message)"
echo 'message = "reconfigured by the demo"' | "$hab" config apply service.default 1 -r "$ctl"
await "the reconfigure hook" grep -q "hook\[reconfigure\]:(HK): reconfigured service: reconfigured by the demo" "$sup_log"
await "the new message" answers "$svc" "reconfigured by the demo"
grep -F "hook[reconfigure]" "$sup_log"
echo "The service answers at $svc: $(get "$svc")"
"$hab" svc status -r "$ctl" | tee "$demo/logs/status-after"
[ "$(svc_pid "$demo/logs/status-before")" = "$(svc_pid "$demo/logs/status-after")" ] ||
  die "the service restarted: pid $(svc_pid "$demo/logs/status-before"), then $(svc_pid "$demo/logs/status-after")"
echo "Reconfigured, not restarted: the service's pid is still $(svc_pid "$demo/logs/status-after")"

step "hab svc load habtest/service-client --bind backend:service.default -r $ctl"
"$hab" svc load habtest/service-client --bind backend:service.default -r "$ctl"
await "the client's answer from the service" grep -q "service-client.default(O): backend says: " "$sup_log"
grep -F "service-client.default(O): " "$sup_log"

step "hab sup term"
if [ "$studio" = yes ]; then
  touch "$installed$term_file"
else
  "$hab" sup term
fi
wait "$sup_pid" || die "the supervisor exited with status $?; see $sup_log"
sup_pid=""
grep -F "Supervisor stopped" "$sup_log" || die "the supervisor did not say it stopped; see $sup_log"

echo
echo "== export"
exports="$demo/export"
step "hab pkg export container habtest/service --results-dir $exports"
"$hab" pkg export container habtest/service --results-dir "$exports"
image=$(ls "$exports"/*.tar)
if command -v skopeo >/dev/null; then
  printf 'skopeo inspect docker-archive:%s: ' "$image"
  skopeo inspect --format '{{.Digest}}, {{len .Layers}} layers, labels title {{index .Labels "org.opencontainers.image.title"}} version {{index .Labels "org.opencontainers.image.version"}}' "docker-archive:$image"
else
  echo "skopeo is not installed: $image, sha256 $(sha256sum <"$image" | cut -d' ' -f1)"
fi

step "hab pkg export tar habtest/service --output-dir $exports"
"$hab" pkg export tar habtest/service --output-dir "$exports"
tarball=$(ls "$exports"/*.tar.gz)
tar -tzf "$tarball" | grep -E '^hab/bin/hab$|^hab/pkgs/habtest/service/[^/]+/[^/]+/run$'

stop_background
step "Done in $((SECONDS - started)) s: $(basename "$artifact") built, shared through a depot and installed from it; the service run, reconfigured and exported"
