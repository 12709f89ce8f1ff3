#!/usr/bin/env bash
# bench/studio.sh: what a studio adds to a build. Runs the studio
# benchmarks (go test -bench) and prints, in milliseconds per operation:
#   chroot: create + run true + remove   (limit 150 ms)
#   chroot: run true in an existing studio
#   container (runc): create + run true + remove   (limit 500 ms)
#   container (runc): run true in an existing studio
#   baseline: exec true without a studio
# It exits non-zero when a limit is exceeded. Needs root (namespaces,
# mounts) and runc for the container figures.
#
# Environment: RUNS (iterations per benchmark, default 20).
set -euo pipefail

cd "$(dirname "$0")/.."
RUNS=${RUNS:-20}

if [ "$(id -u)" -ne 0 ]; then
  echo "bench/studio.sh: studios need root; run it as root" >&2
  exit 2
fi

out=$(go test -run '^$' -bench . -benchtime "${RUNS}x" ./studio/chroot ./studio/runc 2>&1) || {
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

printf 'chroot:    create + run true + remove  %8s ms   (limit 150 ms)\n' "$chroot_all"
printf 'chroot:    run true                    %8s ms\n' "$chroot_run"
printf 'container: create + run true + remove  %8s ms   (limit 500 ms)\n' "$oci_all"
printf 'container: run true                    %8s ms\n' "$oci_run"
printf 'baseline:  exec true, no studio        %8s ms\n' "$base"

fail=0
awk -v v="$chroot_all" 'BEGIN { exit !(v != "-" && v > 150) }' && { echo "chroot studio over 150 ms" >&2; fail=1; }
awk -v v="$oci_all" 'BEGIN { exit !(v != "-" && v > 500) }' && { echo "container studio over 500 ms" >&2; fail=1; }
exit $fail
