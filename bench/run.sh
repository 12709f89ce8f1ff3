#!/usr/bin/env bash
# Runs every benchmark script under bench/ and prints their ratio lines.
set -euo pipefail
cd "$(dirname "$0")"
status=0
for s in ./*.sh; do
  [ "$s" = ./run.sh ] || [ "$s" = ./lib.sh ] && continue
  echo "== $s"
  "$s" || status=1
done
exit $status
