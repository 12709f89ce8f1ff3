#!/usr/bin/env bash
# bench/store.sh: the dependency graph against a package with 100,000 DEPS
# lines (issue 7, item 6: it made an unrelated uninstall take 32 s).
#
# Times, best of RUNS each on a fresh copy of the same FS_ROOT:
#   hab pkg uninstall bench/small   with bench/huge (100,000 DEPS lines) installed
#   hab pkg uninstall bench/small   without it (the store's fixed cost)
#   sort -u DEPS                    (the obvious cost of reading the lines as a set)
# and prints
#   store: uninstall beside 100k DEPS X s, without Y s, sort -u Z s, ratio R (limit 20.00)
# where R = X / (Y + Z). It exits non-zero when the ratio is over the limit.
# The quadratic graph it replaces took about 32 s here (a ratio in the
# hundreds); linear parsing of 100,000 idents into sets is a few times
# sort -u in C.
#
# Environment: HAB (hab binary; built from the tree when unset), RUNS
# (default 3), BENCH_DEPS (default 100000), BENCH_DIR (work directory,
# default a fresh one under $TMPDIR, removed at the end).
set -euo pipefail

cd "$(dirname "$0")/.."
. bench/lib.sh
LIMIT=20.00
RUNS=${RUNS:-3}
N=${BENCH_DEPS:-100000}

bench_work store
bench_hab
export HOME=$work/home
mkdir -p "$HOME"

pkg() { # ROOT IDENT [DEPS-FILE]
  local d=$1/hab/pkgs/$2
  mkdir -p "$d"
  echo "$2" > "$d/IDENT"
  echo x86_64-linux > "$d/TARGET"
  if [ -n "${3:-}" ]; then cp "$3" "$d/DEPS"; fi
}

deps=$work/DEPS
seq 1 "$N" | sed 's|.*|bench/dep&/1.0/20240101000000|' > "$deps"
echo bench/lib/1.0/20240101000000 > "$work/small-deps"

base=$work/base
pkg "$base" bench/lib/1.0/20240101000000
pkg "$base" bench/small/1.0/20240101000000 "$work/small-deps"
with=$work/with
cp -a "$base" "$with"
pkg "$with" bench/huge/1.0/20240101000000 "$deps"

best() { # prints the best time of RUNS runs of "$@" (each on a fresh copy)
  local b=
  for _ in $(seq "$RUNS"); do
    "$@" prepare
    local s e
    s=$(now)
    "$@" run
    e=$(now)
    b=$(echo "$e - $s" | bc -l | awk -v b="$b" '{ if (b == "" || $1 < b) print $1; else print b }')
  done
  echo "$b"
}
uninstall_in() { # SRC prepare|run
  case $2 in
    prepare) rm -rf "$work/run"; cp -a "$1" "$work/run" ;;
    run) FS_ROOT=$work/run "$HAB" pkg uninstall bench/small > /dev/null ;;
  esac
}
sort_u() {
  case $1 in
    prepare) : ;;
    run) sort -u "$deps" > /dev/null ;;
  esac
}

t_with=$(best uninstall_in "$with")
t_without=$(best uninstall_in "$base")
t_sort=$(best sort_u)
ratio=$(echo "$t_with / ($t_without + $t_sort)" | bc -l)
printf 'store: uninstall beside %d DEPS %.3f s, without %.3f s, sort -u %.3f s, ratio %.2f (limit %.2f)\n' \
  "$N" "$t_with" "$t_without" "$t_sort" "$ratio" "$LIMIT"
awk -v r="$ratio" -v l="$LIMIT" 'BEGIN { exit !(r <= l) }'
