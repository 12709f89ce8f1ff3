#!/usr/bin/env bash
# The main job until the planner lands: generate an origin key, package a
# fixture, sign it into a .hart, verify it, install it and run it, all under a
# throw-away file-system root so the machine's real /hab is never touched.
set -euo pipefail
cd "$(dirname "$0")/.."
hab="$PWD/bin/hab"
demo="${DEMO_ROOT:-$PWD/.hab-demo}"
origin="${HAB_ORIGIN:-demo}"
version=0.1.0
release=$(date -u +%Y%m%d%H%M%S)
target=x86_64-linux
ident="$origin/hello-sh/$version/$release"

rm -rf "$demo"
mkdir -p "$demo/root" "$demo/stage" "$demo/results"
export FS_ROOT="$demo/root" HAB_CACHE_KEY_PATH="$demo/root/hab/cache/keys" HAB_ORIGIN="$origin"

step() { printf '\n» %s\n' "$*"; }

step "Generating an origin key pair for $origin"
"$hab" origin key generate "$origin"

step "Laying out $ident"
prefix="$demo/stage/hab/pkgs/$ident"
mkdir -p "$prefix"
cp -a fixtures/demo/hello-sh/. "$prefix/"
printf '%s\n' "$ident" >"$prefix/IDENT"
printf '%s\n' "$target" >"$prefix/TARGET"
printf '%s\n' "/hab/pkgs/$ident/bin" >"$prefix/PATH"
printf '%s\n' "/hab/pkgs/$ident/bin" >"$prefix/RUNTIME_PATH"
printf '# %s\n\nA greeting, packaged by the hab demo.\n' "$ident" >"$prefix/MANIFEST"
(cd "$demo/stage" && find hab -type f | sort) >"$demo/files.txt"

step "Archiving with tar and xz, then signing with hab pkg sign"
tarball="$demo/stage/payload.tar.xz"
tar -C "$demo/stage" --sort=name --owner=0 --group=0 --numeric-owner -cf - hab | xz -6 >"$tarball"
hart="$demo/results/$origin-hello-sh-$version-$release-$target.hart"
"$hab" pkg sign --origin "$origin" "$tarball" "$hart"
"$hab" pkg header "$hart"

step "Verifying $(basename "$hart")"
"$hab" pkg verify "$hart"

step "Installing into $FS_ROOT"
"$hab" pkg install "$hart"
"$hab" pkg install "$hart"   # idempotent: already installed
"$hab" pkg path "$origin/hello-sh"
"$hab" pkg list --all

step "Running it"
out=$("$hab" pkg exec "$origin/hello-sh" hello Habitat)
echo "$out"
[ "$out" = "Hello, Habitat, from a signed Habitat package!" ]

step "Done: $hart is signed, verified and installed under $FS_ROOT/hab/pkgs/$ident"
