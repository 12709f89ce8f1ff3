#!/usr/bin/env bash
# bench/failover.sh: the failover of a leader group (issue 12): five real
# supervisors with the default timing on loopback, the leader killed with
# SIGKILL twice; the time until the survivors agree on a new leader,
# against the baseline it cannot beat in the same run, the ring's failure
# detection (every survivor sees the old leader Confirmed):
#   failover: leader killed; Suspect S s, Confirmed C s, election D s, new leader L s (L-C after detection, ratio L/C)
set -euo pipefail
cd "$(dirname "$0")/.."
FAILOVER_BENCH=1 go test ./sup/ringtest/ -run '^TestFailoverBench$' -count=1 -v -timeout 10m | grep '^failover:\|FAIL\|^---'
