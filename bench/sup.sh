#!/usr/bin/env bash
# bench/sup.sh: the supervisor (issue 10). Two figures, in one run:
#   - from `hab svc load` of an installed package to its run hook started,
#     median of N loads (each unloaded again), beside the time of starting
#     the same command directly (the baseline: fork and exec of the hook);
#   - the idle supervisor running one service: its CPU time (utime+stime
#     from /proc/PID/stat) over SUP_IDLE seconds (30) once settled, then
#     its resident memory (VmRSS, RssAnon, RssFile from /proc/PID/status).
# Prints
#   sup: load to run hook X ms median (limit 100 ms), direct start Y ms, ratio R
#   sup: idle supervisor with one service: C ms CPU in S s (P% of one core)
#   sup: idle supervisor with one service Z MB resident (limit 30 MB): A MB anonymous, F MB pages of the B MB hab binary
# and exits non-zero when a limit is missed.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
n=${SUP_N:-15}

bench_work sup
sup_pid=""
# shellcheck disable=SC2016 # expanded at exit
bench_at_exit 'if [ -n "$sup_pid" ]; then kill "$sup_pid" 2>/dev/null; wait "$sup_pid" 2>/dev/null; fi'
# HAB_BIN measures a given hab binary (for example the previous commit's)
# instead of one built from this tree.
if [ -n "${HAB_BIN:-}" ]; then
  cp "$HAB_BIN" "$work/hab"
else
  CGO_ENABLED=0 go build -o "$work/hab" ./cmd/hab
fi
# An installed binary's pages are clean in the page cache; a fresh copy's
# are dirty until written back, and the kernel keeps dirty pages cached
# when the idle supervisor pages its binary out (internal/resident).
sync -f "$work/hab"
mkdir -p "$work/plan/hooks" "$work/keys"
cat > "$work/plan/plan.sh" <<'PLAN'
pkg_name=benchsvc
pkg_origin=habbench
pkg_version=0.1.0
pkg_svc_user=root
pkg_svc_group=root
do_build() { return 0; }
do_install() { return 0; }
PLAN
# The run hook notes when it started, then idles.
cat > "$work/plan/hooks/run" <<'HOOK'
#!/bin/sh
date +%s%N > "$BENCH_MARK"
exec sleep 100000
HOOK
chmod 0755 "$work/plan/hooks/run"
ctl="127.0.0.1:$(free_port)"
henv=(env -i PATH=/usr/bin:/bin HOME="$work" FS_ROOT="$work/root" HAB_CACHE_KEY_PATH="$work/keys" HAB_OUTPUT_PATH="$work/results" HAB_LISTEN_CTL="$ctl" BENCH_MARK="$work/mark")
"${henv[@]}" "$work/hab" origin key generate habbench > /dev/null
"${henv[@]}" "$work/hab" plan build --release 20260101000001 "$work/plan" > /dev/null

"${henv[@]}" "$work/hab" sup run --listen-ctl "$ctl" --listen-http "127.0.0.1:$(free_port)" --sys-ip-address 127.0.0.1 > "$work/sup.log" 2>&1 &
sup_pid=$!
for _ in $(seq 1 200); do
  grep -q "Starting ctl-gateway" "$work/sup.log" 2>/dev/null && break
  sleep 0.05
done

wait_mark() {
  for _ in $(seq 1 2000); do
    [ -s "$work/mark" ] && return 0
    sleep 0.005
  done
  echo "sup: the run hook never started" >&2
  cat "$work/sup.log" >&2
  exit 1
}

median() { sort -n | awk '{ a[NR] = $1 } END { m = a[int((NR + 1) / 2)]; printf "%.1f", m }'; }

: > "$work/loads"
for i in $(seq 1 "$n"); do
  rm -f "$work/mark"
  start=$(date +%s%N)
  "${henv[@]}" "$work/hab" svc load habbench/benchsvc > /dev/null
  wait_mark
  echo "$(( $(cat "$work/mark") - start ))" | awk '{ printf "%.3f\n", $1 / 1e6 }' >> "$work/loads"
  if [ "$i" -lt "$n" ]; then
    "${henv[@]}" "$work/hab" svc unload habbench/benchsvc > /dev/null
  fi
done

# The idle supervisor with its one service: CPU over the idle window,
# then its resident memory.
# The window starts SUP_SETTLE seconds (15) after the loads: by then the
# supervisor has given back its start-up pages (internal/resident looks
# every 5 s and releases at its first quiet look), a one-off cost that is
# not the idle one.
idle=${SUP_IDLE:-30}
sleep "${SUP_SETTLE:-15}"
cpu() { awk '{ print $14 + $15 }' "/proc/$sup_pid/stat"; }
cpu0=$(cpu)
sleep "$idle"
cpu1=$(cpu)
cpu_ms=$(awk -v a="$cpu0" -v b="$cpu1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f", (b - a) * 1000 / hz }')
rss_kb=$(awk '/^VmRSS/ { print $2 }' "/proc/$sup_pid/status")
anon_kb=$(awk '/^RssAnon/ { print $2 }' "/proc/$sup_pid/status")
file_kb=$(awk '/^RssFile/ { print $2 }' "/proc/$sup_pid/status")
bin_mb=$(du -m "$work/hab" | cut -f1)

: > "$work/direct"
hook="$work/root/hab/svc/benchsvc/hooks/run"
for _ in $(seq 1 "$n"); do
  rm -f "$work/mark"
  start=$(date +%s%N)
  BENCH_MARK="$work/mark" "$hook" &
  wait_mark
  kill $! 2>/dev/null || true
  wait $! 2>/dev/null || true
  echo "$(( $(cat "$work/mark") - start ))" | awk '{ printf "%.3f\n", $1 / 1e6 }' >> "$work/direct"
done

load=$(median < "$work/loads")
direct=$(median < "$work/direct")
ratio=$(awk -v a="$load" -v b="$direct" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }')
mb=$(awk -v k="$rss_kb" 'BEGIN { printf "%.1f", k / 1024 }')
anon=$(awk -v k="$anon_kb" 'BEGIN { printf "%.1f", k / 1024 }')
file=$(awk -v k="$file_kb" 'BEGIN { printf "%.1f", k / 1024 }')
echo "sup: load to run hook $load ms median (limit 100 ms), direct start $direct ms, ratio $ratio"
echo "sup: idle supervisor with one service: $cpu_ms ms CPU in $idle s ($(awk -v c="$cpu_ms" -v s="$idle" 'BEGIN { printf "%.2f", c / (s * 10) }')% of one core)"
echo "sup: idle supervisor with one service $mb MB resident (limit 30 MB): $anon MB anonymous, $file MB pages of the $bin_mb MB hab binary"
fail=0
awk -v a="$load" 'BEGIN { exit !(a < 100) }' || fail=1
awk -v m="$mb" 'BEGIN { exit !(m < 30) }' || fail=1
exit $fail
