#!/usr/bin/env bash
# The main job: generate an origin key, build the fixtures/hello chain
# (greetdata, libgreet, hello: a data package, a C library, a C program) with
# `hab pkg build` in a chroot studio into signed .harts, verify them, install
# hello and its dependencies into a throw-away file-system root and run it.
#
# Everything lives under ./.hab-demo (DEMO_ROOT): the file-system root
# (FS_ROOT, with the studios, the artifact cache and the key cache), the
# source tree the studio mounts at /src (a copy of the fixtures, so that
# results/ never lands in the repository) and HOME. The machine's real /hab
# and key caches are never touched. Each run starts clean.
#
# Studios need root, or unprivileged user namespaces for another user.
# Where no studio can run, the chain is built with `hab plan build` in the
# current environment instead, and the script says so in one line.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
hab="${HAB_BIN:-$repo/bin/hab}" # make demo builds bin/hab
demo="${DEMO_ROOT:-$repo/.hab-demo}"
case "$demo" in /*) ;; *) demo="$repo/$demo" ;; esac
origin=habtest # the fixture plans' pkg_origin
chain=(greetdata libgreet hello)
greeting="Hello from greetdata, through libgreet!"

step() { printf '\n» %s\n' "$*"; }
die() { printf '✗ %s\n' "$*" >&2; exit 1; }

[ -x "$hab" ] || CGO_ENABLED=0 go build -o "$hab" ./cmd/hab

# Start clean, but never delete through a mount point.
if awk -v d="$demo" '$5 == d || index($5, d "/") == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
  die "something is mounted under $demo; unmount it first"
fi
rm -rf "$demo"
root="$demo/root"
src="$demo/src"
mkdir -p "$root" "$src" "$demo/home"
for p in "${chain[@]}"; do cp -a "fixtures/$p" "$src/$p"; done

# Only the demo's locations: no host setting may point elsewhere.
unset ARTIFACT_PATH SRC_PATH HAB_STUDIO_ROOT HAB_STUDIOS_HOME HAB_CACHE_SRC_PATH HAB_OUTPUT_PATH HAB_ORIGIN_KEYS NO_SRC_PATH NO_ARTIFACT_PATH
export FS_ROOT="$root" HAB_CACHE_KEY_PATH="$root/hab/cache/keys" HOME="$demo/home" HAB_ORIGIN="$origin" HAB_STUDIO_HAB_BIN="$hab"

# The packages built in a studio name /hab/pkgs/...: they run where /hab is
# the demo root's, in a studio over that root. Lay it out first (an empty
# directory is the only one a studio takes), and see whether studios run
# here (as root; as another user, where user namespaces are allowed).
# DEMO_STUDIO=no skips the studio.
studio=no
why=""
if [ "${DEMO_STUDIO:-auto}" = no ]; then
  why="DEMO_STUDIO=no"
elif HAB_ORIGIN= "$hab" studio -q new -r "$root" -n -N 2>"$demo/studio-probe.log" &&
  HAB_ORIGIN= "$hab" studio -q run -r "$root" -n -N true 2>>"$demo/studio-probe.log"; then
  studio=yes
else
  [ "$(id -u)" -eq 0 ] || why="not running as root, and "
  why="${why}no studio can run here: $(grep -v '^ *$' "$demo/studio-probe.log" | grep -v '^✗✗✗$' | tail -n 1)"
  rm -rf "$root" && mkdir -p "$root"
fi

step "Generating an origin key pair for $origin in $HAB_CACHE_KEY_PATH"
"$hab" origin key generate "$origin"

if [ "$studio" = yes ]; then
  artifacts="$root/hab/cache/artifacts"
  [ "$(id -u)" -eq 0 ] || artifacts="$HOME/.hab/cache/artifacts"
  for p in "${chain[@]}"; do
    step "hab pkg build $p (chroot studio for $src; dependencies from $artifacts)"
    "$hab" pkg build -s "$src" "$p"
  done
  left=$({ find "$root/hab/studios" "$HOME/.hab/studios" -mindepth 1 -maxdepth 1 2>/dev/null || true; } | wc -l)
  [ "$left" -eq 0 ] || die "a studio was left under $root/hab/studios or $HOME/.hab/studios"
else
  echo "No studio ($why): building with 'hab plan build' in the current environment instead."
  for p in "${chain[@]}"; do
    step "hab plan build $p"
    (cd "$src" && "$hab" plan build "$p")
  done
fi

# The last build is hello's.
# shellcheck disable=SC1091
artifact=$(. "$src/results/last_build.env" && echo "$src/results/$pkg_artifact")
ident=$(. "$src/results/last_build.env" && echo "$pkg_ident")
[ -f "$artifact" ] || die "no artifact at $artifact"

step "Verifying the harts"
for h in "$src"/results/*.hart; do "$hab" pkg verify "$h"; done
"$hab" pkg header "$artifact"

step "Installing $ident into $FS_ROOT (dependencies from the artifact cache)"
"$hab" pkg install "$artifact"
"$hab" pkg install "$artifact" # idempotent: already installed
"$hab" pkg path "$origin/hello"
"$hab" pkg list --all

step "Running it with hab pkg exec$( [ "$studio" = yes ] && echo " in a studio over $FS_ROOT (the binaries name /hab/pkgs/...)")"
if [ "$studio" = yes ]; then
  out=$(HAB_ORIGIN= "$hab" studio -q run -r "$root" -n -N hab pkg exec "$origin/hello" hello)
else
  out=$("$hab" pkg exec "$origin/hello" hello)
fi
echo "$out"
[ "$out" = "$greeting" ] || die "hello printed '$out', want '$greeting'"

step "Done: $(basename "$artifact") is built, signed, verified and installed under $FS_ROOT/hab/pkgs/$ident"
