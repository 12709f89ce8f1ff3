#!/usr/bin/env bash
# bench/depot_install.sh: 50 concurrent `hab pkg install` of a 10-package
# closure from one depot, against one install timed alone times 50, in the
# same run (issue 9).
#
# Builds a chain of 10 small packages (bench/p1 ... bench/p10, each needing
# the previous) with `hab plan build`, serves a depot on a free loopback port
# (`hab depot serve`, a token from `hab depot token create`), uploads p10 (the
# other nine go along from beside it) and promotes it to stable, then:
#   one   `hab pkg install bench/p10` into a fresh FS_ROOT, best of RUNS
#   CONC  of them at once, each into its own fresh FS_ROOT and key cache
# and prints
#   depot install: one X s, 50 concurrent Y s (all succeeded), ratio Y/(50*X) R
# It exits non-zero when any concurrent install fails.
#
# Environment: HAB (hab binary; built from the tree when unset), RUNS
# (default 3), CONC (default 50), BENCH_DIR (work directory, default a fresh
# one under $TMPDIR, removed at the end).
set -euo pipefail

cd "$(dirname "$0")/.."
. bench/lib.sh
RUNS=${RUNS:-3}
CONC=${CONC:-50}

bench_work depot
bench_hab

unset HAB_BLDR_URL HAB_DEPOT_URL HAB_AUTH_TOKEN HAB_BLDR_CHANNEL
export HOME=$work/home HAB_ORIGIN=bench
mkdir -p "$HOME" "$work/src"

# The chain, built by the planner into a build root.
for i in $(seq 1 10); do
  d=$work/src/p$i
  mkdir -p "$d"
  {
    echo "pkg_name=p$i"
    echo "pkg_origin=bench"
    echo "pkg_version=1.0.0"
    [ "$i" -gt 1 ] && echo "pkg_deps=(bench/p$((i - 1)))"
    echo 'do_build() { :; }'
    # About 1 MB of incompressible data per package.
    echo 'do_install() { head -c 1048576 /dev/urandom > "$pkg_prefix/data"; }'
  } > "$d/plan.sh"
done
build_env=(FS_ROOT="$work/build" HAB_CACHE_KEY_PATH="$work/keys")
env "${build_env[@]}" "$HAB" origin key generate bench > /dev/null
for i in $(seq 1 10); do
  (cd "$work/src" && env "${build_env[@]}" "$HAB" plan build "p$i" > "$work/build-p$i.log" 2>&1) ||
    { cat "$work/build-p$i.log"; exit 1; }
done
# shellcheck disable=SC1091
. "$work/src/results/last_build.env"

# The depot.
depot_start "$work/depot"
export HAB_BLDR_URL=$depot_url HAB_AUTH_TOKEN=$depot_token
env HAB_CACHE_KEY_PATH="$work/keys" "$HAB" origin create bench > /dev/null
env HAB_CACHE_KEY_PATH="$work/keys" "$HAB" origin key upload bench > /dev/null
env HAB_CACHE_KEY_PATH="$work/keys" "$HAB" pkg upload "$work/src/results/$pkg_artifact" > /dev/null
"$HAB" pkg promote "$pkg_ident" stable > /dev/null
unset HAB_AUTH_TOKEN

install_into() { # DIR: a fresh FS_ROOT and key cache
  FS_ROOT="$1" HAB_CACHE_KEY_PATH="$1/keys" "$HAB" pkg install bench/p10 > "$1.log" 2>&1
}

best=
for r in $(seq 1 "$RUNS"); do
  t0=$(now)
  install_into "$work/one-$r"
  t1=$(now)
  t=$(echo "$t1 - $t0" | bc -l)
  if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
done

t0=$(now)
pids=()
for c in $(seq 1 "$CONC"); do
  install_into "$work/conc-$c" &
  pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
t1=$(now)
total=$(echo "$t1 - $t0" | bc -l)

for c in $(seq 1 "$CONC"); do
  n=$(find "$work/conc-$c/hab/pkgs/bench" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | wc -l)
  [ "$n" -eq 10 ] || { echo "install $c has $n packages"; failed=$((failed + 1)); }
done
printf 'depot install: one %.3f s, %d concurrent %.3f s (%d failed), ratio %.3f of %d x one\n' \
  "$best" "$CONC" "$total" "$failed" "$(echo "$total / ($CONC * $best)" | bc -l)" "$CONC"
[ "$failed" -eq 0 ]
