#!/usr/bin/env bash
# bench/planbuild.sh: the planner's own overhead for a plan that installs
# one file (evaluation, phases, dependency set-up, metadata, FILES,
# outputs: everything but writing the compressed hart), from the Go
# benchmark BenchmarkBuildOneFile, and the wall time of a whole
# `hab plan build` of the same plan in a fresh process against the obvious
# baseline in the same run: bash sourcing the plan and running its phases,
# then writing IDENT and FILES (sha256sum) and the artifact (tar | xz -1),
# best of 5 each. Prints
#   planbuild: planner X ms/build (limit 100 ms), whole build with hart Y ms
#   planbuild: hab plan build process Z ms, bash+sha256sum+tar+xz baseline B ms, ratio R
# and exits non-zero when X is not below 100.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

out=$(go test ./planner/builder -run '^$' -bench '^BenchmarkBuildOneFile$' -benchtime "${PLANBUILD_N:-30}x" 2>&1) || { echo "$out" >&2; exit 1; }
line=$(echo "$out" | grep '^BenchmarkBuildOneFile')
whole=$(echo "$line" | awk '{ printf "%.1f", $3 / 1e6 }')
own=$(echo "$line" | awk '{ for (i = 1; i <= NF; i++) if ($i == "planner-ms/op") printf "%.1f", $(i-1) }')

bench_work planbuild
bench_hab
mkdir -p "$work/keys"
bench_plan "$work/plan" onefile
henv=(env -i PATH=/usr/bin:/bin HOME="$work" FS_ROOT="$work/root" HAB_CACHE_KEY_PATH="$work/keys" HAB_OUTPUT_PATH="$work/results")
"${henv[@]}" "$HAB" origin key generate habbench > /dev/null
best=""
for i in 1 2 3 4 5; do
  start=$(date +%s%N)
  "${henv[@]}" "$HAB" plan build --release "2026010100000$i" "$work/plan" > /dev/null
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
done

# The baseline: what any build of the plan has to do, in bash and
# coreutils, without the planner's checks, environment and signing.
baseline() {
  local i=$1 prefix="$work/base/hab/pkgs/habbench/onefile/0.1.0/2026010100000$i"
  env -i PATH=/usr/bin:/bin HOME="$work" prefix="$prefix" plan="$work/plan/plan.sh" out="$work/base/out-$i.hart" bash -c '
    set -e
    source "$plan"
    pkg_prefix=$prefix
    mkdir -p "$pkg_prefix/bin"
    do_build
    do_install
    cd "$pkg_prefix"
    echo "$pkg_origin/$pkg_name/$pkg_version/${pkg_prefix##*/}" > IDENT
    find . -type f ! -name FILES | sort | xargs sha256sum > FILES
    tar -C / -cf - "${pkg_prefix#/}" | xz -1 > "$out"
  '
}
base=""
for i in 1 2 3 4 5; do
  start=$(date +%s%N)
  baseline "$i"
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  if [ -z "$base" ] || [ "$ms" -lt "$base" ]; then base=$ms; fi
done
ratio=$(awk "BEGIN { printf \"%.2f\", $best / ($base > 0 ? $base : 1) }")

echo "planbuild: planner $own ms/build (limit 100 ms), whole build with hart $whole ms"
echo "planbuild: hab plan build process $best ms, bash+sha256sum+tar+xz baseline $base ms, ratio $ratio"
awk "BEGIN { exit !($own < 100) }"
