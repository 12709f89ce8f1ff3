#!/usr/bin/env bash
# bench/hart.sh: .hart creation, extraction and verification against the
# obvious baselines, on the same data in the same run.
#
# Builds a synthetic package tree of at least 50 MB (real shared libraries,
# documentation and Go sources: binary-like and text data; generated text
# when those are short), then runs bench/hart_test.go's TestHartRatios,
# which times, best of HART_BENCH_ROUNDS (default 5; extraction runs alternate
# with their baseline, so a busy machine disturbs both alike):
#   create:  hart.Write                  vs  tar -c | xz -6          (time and size)
#   extract: hart.Extract (verify+unpack) vs  xz -d < payload | tar -x
#            (and the pure-Go decoder, HAB_XZ=go, on multi- and single-block payloads)
#   verify:  hart.Verify                 vs  b2sum -l 256
# and prints lines such as
#   extract: hab 1.01 s, xz|tar 1.05 s, ratio 0.96 (limit 1.30)
# It exits non-zero when a ratio is over its limit.
#
# Environment: BENCH_MB (tree size, default 64), BENCH_DIR (work directory,
# default a fresh one, removed at the end), HART_BENCH_ROUNDS.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

MB=${BENCH_MB:-64}
bench_work hart

tree=$work/tree
pkg=$tree/hab/pkgs/bench/big/1.0.0/20240101000000
rm -rf "$tree"
mkdir -p "$pkg"

# copy_upto SRC DEST BYTES FIND-ARGS...: copies regular files of SRC (in name
# order) into DEST until BYTES are copied; prints the bytes copied.
copy_upto() {
  local src=$1 dest=$2 limit=$3; shift 3
  [ -d "$src" ] || { echo 0; return; }
  local list=$work/list
  find "$src" "$@" -type f -readable -size -8M -printf '%s %P\n' 2>/dev/null |
    grep -v '[[:cntrl:]]' | LC_ALL=C sort -k2 |
    awk -v lim="$limit" '{ t += $1; sub(/^[0-9]+ /, ""); print; if (t >= lim) exit }' > "$list"
  mkdir -p "$dest"
  tar -C "$src" -cf - --no-recursion -T "$list" 2>/dev/null | tar -C "$dest" -xf -
  du -sb "$dest" | cut -f1
}

target=$((MB << 20))
have=0
have=$((have + $(copy_upto /usr/lib/x86_64-linux-gnu "$pkg/lib" $((target * 55 / 100)) -maxdepth 2 -name '*.so*')))
have=$((have + $(copy_upto /usr/share/doc "$pkg/share/doc" $((target * 10 / 100)))))
if command -v go >/dev/null; then
  have=$((have + $(copy_upto "$(go env GOROOT)/src" "$pkg/src" $((target - have)) -name '*.go')))
fi
i=0
while [ "$have" -lt "$target" ]; do # top up with generated text and binary-ish data
  mkdir -p "$pkg/gen"
  { seq 1 200000 | sed 's/^/generated line /'; head -c 1048576 /dev/urandom | od -An -tx1 | head -c 1048576; } > "$pkg/gen/f$i"
  have=$((have + $(stat -c %s "$pkg/gen/f$i")))
  i=$((i + 1))
done
ln -s libbench.so.1 "$pkg/lib/libbench.so"
mkdir -p "$pkg/var/empty"
echo bench/big/1.0.0/20240101000000 > "$pkg/IDENT"
echo x86_64-linux > "$pkg/TARGET"

HART_BENCH_TREE=$tree HART_BENCH_STRICT=1 go test ./bench/ -run '^TestHartRatios$' -count=1 -v -timeout 15m |
  grep -Ev '^(=== RUN|--- PASS|PASS$|ok )' || exit 1
