# bench/lib.sh: the set-up the bench scripts share. A script sources it
# after `cd` to the repository root (`. bench/lib.sh`) and calls:
#   bench_work NAME   sets work: $BENCH_DIR (kept), else a fresh directory
#                     $TMPDIR/hab-bench-NAME.XXXXXX, removed when the script
#                     exits, after the commands given to bench_at_exit
#   bench_at_exit CMD runs CMD (a string, eval'ed) when the script exits,
#                     its failure ignored
#   bench_hab         sets HAB: $HAB, else hab built from the tree (static,
#                     -trimpath) into $work/hab
#   free_port         prints a free loopback TCP port
#   now               prints the time in seconds, with nanoseconds
#   bench_plan DIR NAME  writes DIR/plan.sh: habbench/NAME 0.1.0, whose
#                     package holds one small script, bin/hi
#   depot_start ROOT  `hab depot serve` of the data under ROOT on a free
#                     loopback port, its output in ROOT.log, stopped at
#                     exit; sets depot_url, depot_pid and depot_token (a
#                     token of the account "bench") once it answers
# shellcheck shell=bash

bench_exit_cmds=()

bench_at_exit() { bench_exit_cmds+=("$1"); }

bench_cleanup() {
  local c
  for c in "${bench_exit_cmds[@]}"; do eval "$c" || true; done
  [ -n "${BENCH_DIR:-}" ] || rm -rf "$work"
}

bench_work() {
  work=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/hab-bench-$1.XXXXXX")}
  mkdir -p "$work"
  trap bench_cleanup EXIT
}

bench_hab() {
  if [ -z "${HAB:-}" ]; then
    HAB=$work/hab
    CGO_ENABLED=0 go build -trimpath -o "$HAB" ./cmd/hab
  fi
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

now() { date +%s.%N; }

bench_plan() {
  mkdir -p "$1"
  cat > "$1/plan.sh" << PLAN
pkg_name=$2
pkg_origin=habbench
pkg_version=0.1.0
pkg_bin_dirs=(bin)
do_build() { return 0; }
do_install() { echo 'echo hi' > "\$pkg_prefix/bin/hi"; }
PLAN
}

depot_start() {
  local root=$1 port
  port=$(free_port)
  depot_token=$(FS_ROOT="$root" "$HAB" depot token create --account bench)
  FS_ROOT="$root" "$HAB" depot serve --listen "127.0.0.1:$port" > "$root.log" 2>&1 &
  depot_pid=$!
  # shellcheck disable=SC2016 # expanded at exit
  bench_at_exit 'kill "$depot_pid" 2>/dev/null'
  depot_url=http://127.0.0.1:$port
  for _ in $(seq 1 200); do
    curl -fs "$depot_url/v1/status" > /dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "bench: the depot at $depot_url does not answer; its log, $root.log:" >&2
  cat "$root.log" >&2
  return 1
}
