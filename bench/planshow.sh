#!/usr/bin/env bash
# bench/planshow.sh: `hab plan show --json` against the reference bash
# evaluation (shared/tools/plan-oracle.sh) over the 40 sample core plans,
# in the same run, one process per plan for both, and prints
#   plan show: hab X s, bash oracle Y s, ratio Z (must be < 1)
# plus how many of the outputs are byte-identical. Best of
# PLANSHOW_ROUNDS (default 3) rounds each. Exits non-zero when the ratio is
# not below 1 or an output differs.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

shared=${SHARED_DIR:-../shared}
oracle=$shared/tools/plan-oracle.sh
plans=$shared/conformance/core-plans-sample
rounds=${PLANSHOW_ROUNDS:-3}
[ -x "$oracle" ] || [ -f "$oracle" ] || { echo "planshow: no oracle at $oracle" >&2; exit 2; }
[ -d "$plans" ] || { echo "planshow: no sample plans at $plans" >&2; exit 2; }

bench_work planshow
bench_hab

dirs=()
for d in "$plans"/*/; do dirs+=("${d%/}"); done

calc() { awk "BEGIN { x = $1; print x }"; }

# run_all KIND OUTDIR: evaluates every plan once, writing OUTDIR/NAME.json.
run_all() {
  local kind=$1 out=$2 d
  mkdir -p "$out"
  for d in "${dirs[@]}"; do
    if [ "$kind" = hab ]; then
      env -i PATH=/usr/bin:/bin HOME=/nonexistent BUILD_PKG_TARGET=x86_64-linux \
        "$HAB" plan show --json "$d" > "$out/$(basename "$d").json" 2>/dev/null
    else
      bash "$oracle" "$d" > "$out/$(basename "$d").json"
    fi
  done
}

best_hab=""
best_bash=""
for ((r = 1; r <= rounds; r++)); do
  t0=$(now); run_all hab "$work/hab-out"; t1=$(now)
  run_all bash "$work/bash-out"; t2=$(now)
  h=$(calc "$t1 - $t0"); b=$(calc "$t2 - $t1")
  if [ -z "$best_hab" ] || [ "$(calc "$h < $best_hab")" = 1 ]; then best_hab=$h; fi
  if [ -z "$best_bash" ] || [ "$(calc "$b < $best_bash")" = 1 ]; then best_bash=$b; fi
done

same=0
for d in "${dirs[@]}"; do
  n=$(basename "$d")
  if cmp -s "$work/hab-out/$n.json" "$work/bash-out/$n.json"; then
    same=$((same + 1))
  else
    echo "planshow: $n differs from bash" >&2
  fi
done

ratio=$(calc "$best_hab / $best_bash")
printf 'plan show: hab %.3f s, bash oracle %.3f s, ratio %.3f (must be < 1)\n' "$best_hab" "$best_bash" "$ratio"
printf 'plan show: %d/%d plans byte-identical to bash; hab %.1f ms per plan (process start included)\n' \
  "$same" "${#dirs[@]}" "$(calc "$best_hab * 1000 / ${#dirs[@]}")"
[ "$(calc "$ratio < 1")" = 1 ] || exit 1
[ "$same" -eq "${#dirs[@]}" ] || exit 1
