#!/usr/bin/env bash
# bench/install.sh: `hab pkg install` of a big hart against the obvious
# baseline, `xz -d < payload | tar -x` of the same payload, in the same run.
#
# Builds a synthetic package tree of at least 50 MB (incompressible blobs,
# copies of real ELF binaries and libraries, generated text, many small
# files), makes a hart of it with hab (tar sorted by name, xz, `hab pkg
# sign`), then times, best of RUNS each on a fresh FS_ROOT:
#   hab pkg install HART                 (verify first, then extract, rename, cache copy)
#   HAB_XZ=go hab pkg install HART       (the same with the pure-Go block-parallel decoder)
#   xz -d < payload | tar -x             (decompress + extract only)
#   hab pkg hash HART                    (what the verification pass costs)
# alternated, and prints the best and median wall-time ratios and the
# median CPU-time (user + sys) ratio, such as
#   install: hab X s, xz -d|tar -x Y s, ratio Z (median M, cpu C) (limit 1.00)
# It exits non-zero when the best wall-time ratio is over LIMIT (1.00).
#
# Environment: HAB (hab binary; built from the tree when unset), RUNS
# (default 3), BENCH_MB (tree size, default 56), BENCH_DIR (work directory,
# default a fresh one under $TMPDIR, removed at the end).
set -euo pipefail

cd "$(dirname "$0")/.."
. bench/lib.sh
LIMIT=${LIMIT:-1.00}
RUNS=${RUNS:-3}
MB=${BENCH_MB:-56}

bench_work install
bench_hab

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

# timed LABEL CMD...: runs CMD, appends "wall cpu" (cpu = user + sys of it
# and its children) to $work/LABEL.times.
timed() {
  local label=$1; shift
  local t
  /usr/bin/time -o "$work/time.out" -f '%e %U %S' "$@" > /dev/null
  t=$(tail -n 1 "$work/time.out")
  awk -v t="$t" 'BEGIN { split(t, a, " "); printf "%s %.3f\n", a[1], a[2] + a[3] }' >> "$work/$label.times"
}
rm -f "$work"/*.times
fresh() { rm -rf "$1"; mkdir -p "$1"; sync; }
complete() { [ "$(find "$1/hab/pkgs/$ident" -type f | wc -l)" -eq "$files" ]; }
for run in $(seq 1 "$RUNS"); do
  # Alternated, so that a busy machine disturbs each alike.
  fresh "$work/root-hab"
  timed hab env FS_ROOT="$work/root-hab" "$HAB" pkg install "$hart"
  complete "$work/root-hab"
  fresh "$work/root-go"
  timed go env HAB_XZ=go FS_ROOT="$work/root-go" "$HAB" pkg install "$hart"
  complete "$work/root-go"
  fresh "$work/root-base"
  timed base sh -c "xz -d < '$work/payload.xz' | tar -x -C '$work/root-base'"
  complete "$work/root-base"
  timed hash "$HAB" pkg hash "$hart"
  printf '  run %d: hab %s, HAB_XZ=go %s, xz -d|tar -x %s (wall and cpu seconds)\n' "$run" \
    "$(tail -n 1 "$work/hab.times")" "$(tail -n 1 "$work/go.times")" "$(tail -n 1 "$work/base.times")"
done
rm -rf "$work/root-hab" "$work/root-go" "$work/root-base"

# pick LABEL COLUMN min|median: of the recorded runs.
pick() { sort -n -k"$2" "$work/$1.times" | awk -v c="$2" -v w="$3" '{ v[NR] = $c } END { print (w == "min") ? v[1] : v[int((NR + 1) / 2)] }'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
printf '  tree %d MB in %d files, hart %d MB; one hashing pass over the hart (hab pkg hash): %.3f s\n' \
  $((tree_bytes / 1024 / 1024)) "$files" $(($(stat -c %s "$hart") / 1024 / 1024)) "$(pick hash 1 min)"
ratio=$(div "$(pick hab 1 min)" "$(pick base 1 min)")
for label in hab go; do
  name="install"
  [ "$label" = go ] && name="install, pure Go (HAB_XZ=go)"
  printf '%s: hab %.3f s, xz -d|tar -x %.3f s, ratio %.2f (median %.2f, cpu %.2f)%s\n' "$name" \
    "$(pick "$label" 1 min)" "$(pick base 1 min)" "$(div "$(pick "$label" 1 min)" "$(pick base 1 min)")" \
    "$(div "$(pick "$label" 1 median)" "$(pick base 1 median)")" "$(div "$(pick "$label" 2 median)" "$(pick base 2 median)")" \
    "$([ "$label" = hab ] && echo " (limit $LIMIT)")"
done
awk -v r="$ratio" -v l="$LIMIT" 'BEGIN { exit !(r <= l) }'
