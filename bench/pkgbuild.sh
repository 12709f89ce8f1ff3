#!/usr/bin/env bash
# bench/pkgbuild.sh: what a studio adds to a build. Builds the same trivial
# plan (one file installed) with `hab plan build` (no studio) and with
# `hab pkg build` in a chroot studio and in a container studio (-D, runc),
# each the best of RUNS fresh processes, and prints
#   pkgbuild: plan build X ms; pkg build (chroot) Y ms = ratio R, +D ms (limit 150 ms); pkg build -D (runc) ... (limit 500 ms)
# It exits non-zero when a studio adds more than its limit. Studios need
# root: as another user it says so and exits 0 without figures.
#
# Environment: RUNS (processes per figure, default 5).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
RUNS=${RUNS:-5}

if [ "$(id -u)" -ne 0 ]; then
  echo "pkgbuild: skipped, hab pkg build needs root (studios); run bench/pkgbuild.sh as root"
  exit 0
fi

bench_work pkgbuild
bench_hab
mkdir -p "$work/keys"
bench_plan "$work/src/trivial" trivial
henv=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$work" FS_ROOT="$work/root" HAB_CACHE_KEY_PATH="$work/keys" HAB_ORIGIN=habbench)
"${henv[@]}" "$HAB" origin key generate habbench > /dev/null

# timed NAME CMD...: runs CMD once (RELEASE in its arguments replaced by a
# distinct release) and keeps the best wall time in best_NAME, in ms.
n=0
declare -A best
timed() {
  local name=$1 ms start a args=()
  shift
  n=$((n + 1))
  for a in "$@"; do args+=("${a/RELEASE/$(printf '20260101%06d' "$n")}"); done
  start=$(date +%s%N)
  "${henv[@]}" "${args[@]}" > "$work/out.log" 2>&1 || { cat "$work/out.log" >&2; exit 1; }
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  if [ -z "${best[$name]:-}" ] || [ "$ms" -lt "${best[$name]}" ]; then best[$name]=$ms; fi
}

# Interleaved, so that a burst of load on the machine hits all alike.
cd "$work/src"
runc=$(command -v runc || true)
for _ in $(seq "$RUNS"); do
  timed plan "$HAB" plan build --release RELEASE trivial
  timed chroot "$HAB" pkg build --release RELEASE trivial
  [ -z "$runc" ] || timed oci "$HAB" pkg build -D --release RELEASE trivial
done
plan=${best[plan]} chroot=${best[chroot]}
line="pkgbuild: plan build $plan ms; pkg build (chroot) $chroot ms = $(awk "BEGIN { printf \"%.2fx\", $chroot / $plan }"), +$((chroot - plan)) ms (limit 150 ms)"
status=0
[ $((chroot - plan)) -lt 150 ] || status=1
if [ -n "$runc" ]; then
  oci=${best[oci]}
  line="$line; pkg build -D (runc) $oci ms = $(awk "BEGIN { printf \"%.2fx\", $oci / $plan }"), +$((oci - plan)) ms (limit 500 ms)"
  [ $((oci - plan)) -lt 500 ] || status=1
else
  line="$line; pkg build -D: runc not installed"
fi
echo "$line"
exit $status
