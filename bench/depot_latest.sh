#!/usr/bin/env bash
# bench/depot_latest.sh: "latest" in a channel with 100,000 releases stored,
# on the embedded database and on PostgreSQL (a throw-away cluster started
# by depot/pgtest when Debian's postgresql is installed), through the
# depot's HTTP handler on loopback (issue 9: p99 under 10 ms). It prints,
# per store and query (latest in unstable, in stable, in a sparse channel
# holding only the oldest release, and of the oldest version),
#   depot latest: ..., latest WHAT (M matching of N releases): p50 X ms, p99 Y ms, max Z ms, p99/limit R
# and exits non-zero when a p99 is over the limit.
#
# Environment: DEPOT_BENCH_RELEASES (default 100000), DEPOT_BENCH_QUERIES
# (default 2000).
set -euo pipefail
cd "$(dirname "$0")/.."
DEPOT_BENCH=1 DEPOT_BENCH_STRICT=1 go test ./bench/ -run '^TestDepotLatestBench$' -count=1 -v -timeout 60m |
  grep --line-buffered '^depot latest:\|stored\|FAIL\|^---\|skip\|SKIP'
