#!/usr/bin/env bash
# bench/planbuild.sh: the planner's own overhead for a plan that installs
# one file (evaluation, phases, dependency set-up, metadata, FILES,
# outputs: everything but writing the compressed hart), from the Go
# benchmark BenchmarkBuildOneFile, and the wall time of a whole
# `hab plan build` of the same plan in a fresh process. Prints
#   planbuild: planner X ms/build (limit 100 ms), whole build with hart Y ms, hab plan build process Z ms
# and exits non-zero when X is not below 100.
set -euo pipefail
cd "$(dirname "$0")/.."

out=$(go test ./planner/builder -run '^$' -bench '^BenchmarkBuildOneFile$' -benchtime "${PLANBUILD_N:-30}x" 2>&1) || { echo "$out" >&2; exit 1; }
line=$(echo "$out" | grep '^BenchmarkBuildOneFile')
whole=$(echo "$line" | awk '{ printf "%.1f", $3 / 1e6 }')
own=$(echo "$line" | awk '{ for (i = 1; i <= NF; i++) if ($i == "planner-ms/op") printf "%.1f", $(i-1) }')

work=$(mktemp -d "${TMPDIR:-/tmp}/hab-bench-planbuild.XXXXXX")
trap 'rm -rf "$work"' EXIT
CGO_ENABLED=0 go build -o "$work/hab" ./cmd/hab
mkdir -p "$work/plan" "$work/keys"
cat > "$work/plan/plan.sh" <<'PLAN'
pkg_name=onefile
pkg_origin=habbench
pkg_version=0.1.0
pkg_bin_dirs=(bin)
do_build() { return 0; }
do_install() { echo 'echo hi' > "$pkg_prefix/bin/hi"; }
PLAN
henv=(env -i PATH=/usr/bin:/bin HOME="$work" FS_ROOT="$work/root" HAB_CACHE_KEY_PATH="$work/keys" HAB_OUTPUT_PATH="$work/results")
"${henv[@]}" "$work/hab" origin key generate habbench > /dev/null
best=""
for i in 1 2 3 4 5; do
  start=$(date +%s%N)
  "${henv[@]}" "$work/hab" plan build --release "2026010100000$i" "$work/plan" > /dev/null
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
done

echo "planbuild: planner $own ms/build (limit 100 ms), whole build with hart $whole ms, hab plan build process $best ms"
awk "BEGIN { exit !($own < 100) }"
