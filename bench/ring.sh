#!/usr/bin/env bash
# bench/ring.sh: a gossip ring of 50 members (sup/butterfly, the default
# timing of the original: probes every second) started in one process on
# loopback ports, each joining through the first and publishing its
# service rumor (issue 12). Prints the time until every member sees every
# member Alive and holds every service rumor, against the 5 s limit, and
# the resident memory the members added, per member, against 30 MB:
#   ring: 50 members started in S s, converged in X s (limit 5 s, ratio X/5)
#   ring: a configuration applied on one member reached all 50 in C s (limit 2 s, ratio C/2)
#   ring: resident ... MB per member (limit 30 MB, ratio R)
# The members share one process, so the memory per member leaves out what
# each supervisor process carries anyway (the Go runtime, the binary).
#
# Then the same with real supervisors (TestRingProcsBench): RING_BENCH_PROCS
# `hab sup run` processes, each with its own FS_ROOT and loopback ports,
# joined through the first; the time until every /butterfly shows every
# one Alive, a `hab config apply` through one reaching every /census, and
# each process's resident memory (median and max) once the ring is quiet:
#   ring: 50 hab sup run processes started in S s; every one Alive ... X s
#   ring: hab config apply through one reached every /census in C s
#   ring: resident memory per supervisor: median M MB, max X MB (limit 30 MB,
#   ratio R); proportional share (Pss, the shared binary divided among the
#   N): median P MB, max Q MB
#
# Environment: RING_BENCH_MEMBERS and RING_BENCH_PROCS (default 50 each),
# RING_BENCH_STRICT=1 to fail over the limits.
set -euo pipefail
cd "$(dirname "$0")/.."
RING_BENCH=1 go test ./bench/ -run '^TestRingBench$|^TestRingProcsBench$' -count=1 -v -timeout 10m | grep '^ring:\|FAIL\|^---'
