#!/usr/bin/env bash
# bench/rolling.sh: a rolling update (--strategy rolling, track-channel)
# of five real supervisors on loopback against a real depot (issue 12):
# the time from a promotion until every member runs the new release,
# polling every 100 ms, against the issue's 5 s plus the services' own
# restart time (the test service restarts at once). Two promotions:
#   rolling: 5 members on RELEASE X s after the promotion (limit 5 s, ratio X/5)
# Environment: ROLLING_BENCH_MEMBERS (default 5).
set -euo pipefail
cd "$(dirname "$0")/.."
ROLLING_BENCH=1 go test ./sup/ringtest/ -run '^TestRollingUpdateBench$' -count=1 -v -timeout 10m | grep '^rolling:\|FAIL\|^---'
