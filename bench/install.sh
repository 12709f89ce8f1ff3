#!/usr/bin/env bash
# bench/install.sh: `hab pkg install` of a big hart against the obvious
# baseline, `xz -d < payload | tar -x` of the same payload, in the same run.
#
# Builds a synthetic package tree of at least 50 MB (incompressible blobs,
# copies of real ELF binaries and libraries, generated text, many small
# files), makes a hart of it with hab (tar sorted by name, xz, `hab pkg
# sign`), then times, best of RUNS each on a fresh FS_ROOT:
#   hab pkg install HART                 (verify + extract + rename + cache copy)
#   xz -d < payload | tar -x             (decompress + extract only)
# and prints
#   install: hab X s, xz -d|tar -x Y s, ratio Z (limit 1.30)
# It exits non-zero when the ratio is over the limit.
#
# Environment: HAB (hab binary; built from the tree when unset), RUNS
# (default 3), BENCH_MB (tree size, default 56), BENCH_DIR (work directory,
# default a fresh one under $TMPDIR, removed at the end).
set -euo pipefail

cd "$(dirname "$0")/.."
LIMIT=1.30
RUNS=${RUNS:-3}
MB=${BENCH_MB:-56}

work=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/hab-bench-install.XXXXXX")}
cleanup() { [ -n "${BENCH_DIR:-}" ] || rm -rf "$work"; }
trap cleanup EXIT

if [ -z "${HAB:-}" ]; then
  HAB=$work/hab
  CGO_ENABLED=0 go build -trimpath -o "$HAB" ./cmd/hab
fi

export HAB_CACHE_KEY_PATH=$work/keys
export HOME=$work/home
mkdir -p "$HAB_CACHE_KEY_PATH" "$HOME"

ident=bench/big/1.0.0/20240101000000
tree=$work/tree
pkg=$tree/hab/pkgs/$ident

# ---- the package tree -------------------------------------------------------
mkdir -p "$pkg"/{bin,lib,share/blobs,share/doc,share/small}
echo "$ident" > "$pkg/IDENT"
echo x86_64-linux > "$pkg/TARGET"
echo "/hab/pkgs/$ident/bin" > "$pkg/PATH"
printf '# bench / big\nA synthetic package for the install benchmark.\n' > "$pkg/MANIFEST"
printf 'port = 8080\n' > "$pkg/default.toml"

budget=$((MB * 1024 * 1024))
size() { du -sb "$pkg" | cut -f1; }

# A third: incompressible blobs (media, compressed assets).
for i in $(seq -w 1 $((MB / 3 / 2))); do
  head -c $((2 * 1024 * 1024)) /dev/urandom > "$pkg/share/blobs/blob$i.bin"
done
# Real binaries and libraries, as packages mostly hold (repeated until
# another third is reached).
copied=0
round=0
while [ $copied -lt $((budget / 3)) ] && [ $round -lt 50 ]; do
  round=$((round + 1))
  for f in /usr/bin/* /usr/lib/x86_64-linux-gnu/*.so*; do
    [ -f "$f" ] && [ ! -L "$f" ] || continue
    case $f in */bin/*) d=bin ;; *) d=lib ;; esac
    cp "$f" "$pkg/$d/$(basename "$f").$round" 2>/dev/null || continue
    copied=$((copied + $(stat -c %s "$f")))
    [ $copied -lt $((budget / 3)) ] || break 2
  done
done
# Text: generated documentation, then many small files.
awk -v n=$((budget / 4 / 64)) 'BEGIN {
  srand(42)
  for (i = 0; i < n; i++) printf "%08d %s line of documentation with value %d and %x\n", i, (i % 7 ? "plain" : "special"), int(rand() * 1e6), i * 2654435761 % 4294967296
}' > "$pkg/share/doc/reference.txt"
for i in $(seq 1 3000); do
  printf 'config item %d\nvalue = %d\nname = "item-%d"\n' "$i" $((i * 37)) "$i" > "$pkg/share/small/item$i.toml"
done
while [ "$(size)" -lt "$budget" ]; do
  head -c $((1024 * 1024)) /dev/urandom | base64 >> "$pkg/share/doc/encoded.txt"
done
tree_bytes=$(size)
files=$(find "$pkg" -type f | wc -l)

# ---- the hart, made with hab ------------------------------------------------
"$HAB" origin key generate bench > /dev/null
tar --sort=name --owner=0 --group=0 --numeric-owner -C "$tree" -cf - hab |
  xz -6 -T2 --block-size=$((24 * 1024 * 1024)) > "$work/payload.tar.xz"
hart=$work/bench-big-1.0.0-20240101000000-x86_64-linux.hart
"$HAB" pkg sign --origin bench "$work/payload.tar.xz" "$hart" > /dev/null
# The baseline reads the very payload bytes the hart carries.
header=$(head -n 5 "$hart" | wc -c)
tail -c +$((header + 1)) "$hart" > "$work/payload.xz"
cmp -s "$work/payload.xz" "$work/payload.tar.xz"

now() { date +%s.%N; }
best_hab=
best_base=
for run in $(seq 1 "$RUNS"); do
  root=$work/root-hab
  rm -rf "$root"; mkdir -p "$root"; sync
  t0=$(now)
  FS_ROOT=$root "$HAB" pkg install "$hart" > /dev/null
  t1=$(now)
  # Sanity: the package is complete.
  [ "$(find "$root/hab/pkgs/$ident" -type f | wc -l)" -eq "$files" ]
  hab_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')

  base=$work/root-base
  rm -rf "$base"; mkdir -p "$base"; sync
  t0=$(now)
  xz -d < "$work/payload.xz" | tar -x -C "$base"
  t1=$(now)
  base_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')

  best_hab=$(awk -v a="$best_hab" -v b="$hab_s" 'BEGIN { print (a == "" || b < a) ? b : a }')
  best_base=$(awk -v a="$best_base" -v b="$base_s" 'BEGIN { print (a == "" || b < a) ? b : a }')
  printf '  run %d: hab %.3f s, xz -d|tar -x %.3f s\n' "$run" "$hab_s" "$base_s"
done
rm -rf "$work/root-hab" "$work/root-base"

ratio=$(awk -v a="$best_hab" -v b="$best_base" 'BEGIN { printf "%.2f", a / b }')
printf '  tree %d MB in %d files, hart %d MB\n' $((tree_bytes / 1024 / 1024)) "$files" $(($(stat -c %s "$hart") / 1024 / 1024))
printf 'install: hab %.3f s, xz -d|tar -x %.3f s, ratio %.2f (limit %s)\n' "$best_hab" "$best_base" "$ratio" "$LIMIT"
awk -v r="$ratio" -v l="$LIMIT" 'BEGIN { exit !(r <= l) }'
