#!/usr/bin/env bash
# bench/studio.sh: what a studio adds to a build. Runs the studio
# benchmarks (go test -bench) and prints, in milliseconds per operation:
#   chroot: create + run true + remove   (limit 150 ms)
#   chroot: run true in an existing studio
#   container (runc): create + run true + remove   (limit 500 ms)
#   container (runc): run true in an existing studio
#   container (containerd): create + run true + remove   (limit 500 ms)
#   baseline: exec true without a studio
#   stop: from cancelling a run to its return, per kind (limits: chroot
#   and runc 3000 ms, containerd 20000 ms)
# and, for each, the ratio to the baseline. These are the figures the
# studio tests used to assert (go test asserts no wall-clock limit). It
# exits non-zero when a limit is exceeded. Needs root (namespaces,
# mounts), runc for the container figures and containerd for its line.
#
# Environment: RUNS (iterations per benchmark, default 20).
set -euo pipefail

cd "$(dirname "$0")/.."
RUNS=${RUNS:-20}

if [ "$(id -u)" -ne 0 ]; then
  echo "bench/studio.sh: studios need root; run it as root" >&2
  exit 2
fi

out=$(go test -run '^$' -bench . -benchtime "${RUNS}x" ./studio/chroot ./studio/runc ./studio/containerd 2>&1) || {
  echo "$out" >&2
  exit 1
}

# ms PACKAGE BENCHMARK: the benchmark's ns/op in milliseconds, or "-".
ms() {
  echo "$out" | awk -v pkg="$1" -v name="$2" '
    /^pkg: / { cur = $2 }
    $1 ~ "^" name "(-[0-9]+)?$" && cur ~ pkg "$" { printf "%.1f", $3 / 1e6; found = 1 }
    END { if (!found) printf "-" }'
}

chroot_all=$(ms studio/chroot BenchmarkCreateRunRemove)
chroot_run=$(ms studio/chroot BenchmarkRun)
base=$(ms studio/chroot BenchmarkExecTrue)
oci_all=$(ms studio/runc BenchmarkCreateRunRemove)
oci_run=$(ms studio/runc BenchmarkRun)
ctrd_all=$(ms studio/containerd BenchmarkCreateRunRemove)

# metric PACKAGE BENCHMARK UNIT: a reported metric of the benchmark, or "-".
metric() {
  echo "$out" | awk -v pkg="$1" -v name="$2" -v unit="$3" '
    /^pkg: / { cur = $2 }
    $1 ~ "^" name "(-[0-9]+)?$" && cur ~ pkg "$" { for (i = 3; i < NF; i++) if ($(i + 1) == unit) { printf "%.0f", $i; found = 1 } }
    END { if (!found) printf "-" }'
}
chroot_stop=$(metric studio/chroot BenchmarkStop ms-to-stop)
runc_stop=$(metric studio/runc BenchmarkStop ms-to-stop)
ctrd_stop=$(metric studio/containerd BenchmarkStop ms-to-stop)

# ratio MS: MS over the baseline, or "-".
ratio() {
  awk -v v="$1" -v b="$base" 'BEGIN { if (v == "-" || b == "-" || b == 0) print "-"; else printf "%.1fx", v / b }'
}

printf 'chroot:     create + run true + remove  %8s ms = %6s baseline   (limit 150 ms)\n' "$chroot_all" "$(ratio "$chroot_all")"
printf 'chroot:     run true                    %8s ms = %6s baseline\n' "$chroot_run" "$(ratio "$chroot_run")"
printf 'runc:       create + run true + remove  %8s ms = %6s baseline   (limit 500 ms)\n' "$oci_all" "$(ratio "$oci_all")"
printf 'runc:       run true                    %8s ms = %6s baseline\n' "$oci_run" "$(ratio "$oci_run")"
printf 'containerd: create + run true + remove  %8s ms = %6s baseline   (limit 500 ms)\n' "$ctrd_all" "$(ratio "$ctrd_all")"
printf 'baseline:   exec true, no studio        %8s ms\n' "$base"
printf 'stop after cancel: chroot %s ms (limit 3000), runc %s ms (limit 3000), containerd %s ms (limit 20000)\n' "$chroot_stop" "$runc_stop" "$ctrd_stop"

fail=0
awk -v v="$chroot_all" 'BEGIN { exit !(v != "-" && v > 150) }' && { echo "chroot studio over 150 ms" >&2; fail=1; }
awk -v v="$oci_all" 'BEGIN { exit !(v != "-" && v > 500) }' && { echo "runc studio over 500 ms" >&2; fail=1; }
awk -v v="$ctrd_all" 'BEGIN { exit !(v != "-" && v > 500) }' && { echo "containerd studio over 500 ms" >&2; fail=1; }
awk -v v="$chroot_stop" 'BEGIN { exit !(v != "-" && v > 3000) }' && { echo "a cancelled chroot run took over 3000 ms to stop" >&2; fail=1; }
awk -v v="$runc_stop" 'BEGIN { exit !(v != "-" && v > 3000) }' && { echo "a cancelled runc run took over 3000 ms to stop" >&2; fail=1; }
awk -v v="$ctrd_stop" 'BEGIN { exit !(v != "-" && v > 20000) }' && { echo "a cancelled containerd run took over 20000 ms to stop" >&2; fail=1; }
exit $fail
