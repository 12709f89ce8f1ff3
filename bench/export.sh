#!/usr/bin/env bash
# bench/export.sh: `hab pkg export container` against the original's path,
# `podman build` of the equivalent Dockerfile plus `podman save`, in the
# same run, on a closure of about BENCH_MB (default 100) MB; then a warm
# re-export after changing only the top package, to an OCI layout.
#
# The closure is PKGS (default 10) packages in a dependency chain, each
# with incompressible blobs and copies of real binaries, the top one a
# small service (2 MB); they are written straight into a fresh store
# (FS_ROOT). Times,
# best of RUNS (default 3), alternated:
#   cold:  hab pkg export container PKG   (empty layer cache; docker-load archive)
#   base:  podman build (FROM scratch, COPY of the same root) + podman save
#   warm:  the top package rebuilt as a new release, then
#          hab pkg export container --oci-layout DIR PKG (warm cache);
#          the same with the packages made of the hab and busybox binaries
#          forgotten (each export read both whole and ran busybox, before
#          they were remembered)
#   mesos: hab pkg export mesos PKG (warm layer cache: the layers'
#          compressed bytes copied) against tar -c | gzip -1 of the same
#          root
# and prints
#   export cold: hab X s, podman build+save Y s, ratio Z (limit 0.50)
#   export warm: hab X s (limit 0.50 s)
#   export warm, binaries not remembered: hab X s
#   export mesos: hab X s, tar | gzip -1 Y s, ratio Z
# It exits non-zero when a limit is missed.
#
# Environment: HAB (hab binary; built when unset), RUNS, BENCH_MB, PKGS,
# BENCH_DIR (work directory, default a fresh one, removed at the end).
set -euo pipefail

cd "$(dirname "$0")/.."
. bench/lib.sh
RUNS=${RUNS:-3}
MB=${BENCH_MB:-100}
PKGS=${PKGS:-10}
command -v podman >/dev/null || { echo "export: podman is needed for the baseline (apt-get install podman)" >&2; exit 1; }
[ -x /bin/busybox ] || { echo "export: /bin/busybox is needed (apt-get install busybox-static)" >&2; exit 1; }

bench_work export
pod() { podman --root "$work/podman/root" --runroot "$work/podman/run" "$@"; }
bench_at_exit 'pod system reset -f >/dev/null 2>&1'
bench_hab
export FS_ROOT=$work/root HOME=$work/home HAB_CACHE_KEY_PATH=$work/keys
mkdir -p "$FS_ROOT" "$HOME" "$HAB_CACHE_KEY_PATH"

# ---- the closure ------------------------------------------------------------
# The libraries share the size; the top package (the application) is
# small, as applications are beside their dependencies.
per=$((MB / (PKGS - 1)))
bins=(/usr/bin/*)
mkpkg() { # mkpkg NAME RELEASE MB DEPS...
  local name=$1 rel=$2 per=$3; shift 3
  local id=bench/$name/1.0.0/$rel dir=$FS_ROOT/hab/pkgs/bench/$name/1.0.0/$rel
  mkdir -p "$dir/bin" "$dir/share"
  echo "$id" > "$dir/IDENT"; echo x86_64-linux > "$dir/TARGET"; echo "/hab/pkgs/$id/bin" > "$dir/PATH"
  printf '# bench / %s\nA synthetic package for the export benchmark.\n\n* __License__: Apache-2.0 \n' "$name" > "$dir/MANIFEST"
  : > "$dir/DEPS"; : > "$dir/TDEPS"
  for d in "$@"; do echo "$d" >> "$dir/DEPS"; echo "$d" >> "$dir/TDEPS"; cat "$FS_ROOT/hab/pkgs/$d/TDEPS" >> "$dir/TDEPS"; done
  head -c $((per * 1024 * 1024 / 2)) /dev/urandom > "$dir/share/blob.bin"
  local n=0 i=0
  while [ $n -lt $((per * 1024 * 1024 / 2)) ]; do
    b=${bins[$(( (i * 7 + ${#name}) % ${#bins[@]} ))]}; i=$((i + 1))
    [ -f "$b" ] && [ "$(stat -L -c %s "$b")" -lt 2000000 ] || continue
    cp "$b" "$dir/bin/$name-$i"; n=$((n + $(stat -L -c %s "$b")))
  done
  echo "$id"
}
prev=()
for k in $(seq 1 $((PKGS - 1))); do
  prev=("$(mkpkg "lib$k" 20240101000000 "$per" "${prev[@]}")")
done
top=$(mkpkg app 20240101000000 2 "${prev[@]}")
topdir=$FS_ROOT/hab/pkgs/$top
printf '#!/bin/sh\nexec sleep 1000\n' > "$topdir/run"; chmod 755 "$topdir/run"
echo root > "$topdir/SVC_USER"; echo root > "$topdir/SVC_GROUP"; echo 8080 > "$topdir/EXPOSES"
echo "export: closure of $(du -sm "$FS_ROOT/hab/pkgs" | cut -f1) MB in $PKGS packages" >&2

cache=$FS_ROOT/hab/cache/export
t() { local s e; s=$(now); "$@" >/dev/null 2>&1 || { echo "export: $* failed" >&2; "$@"; exit 1; }; e=$(now); echo "$e - $s" | bc; }
best() { printf '%s\n' "$@" | sort -g | head -1; }

# The baseline's context: the same root the image holds (closure, hab and
# busybox packages, /bin, /etc, /init.sh), taken from one export.
"$HAB" pkg export container --oci-layout "$work/ref" "$top" >/dev/null
mkdir -p "$work/ctx/rootfs"
umoci unpack --rootless --image "$work/ref:latest" "$work/unpacked" >/dev/null 2>&1 || true
if [ -d "$work/unpacked/rootfs" ]; then
  cp -a "$work/unpacked/rootfs/." "$work/ctx/rootfs/"
else
  cp -a "$FS_ROOT/hab" "$work/ctx/rootfs/hab"
fi
cat > "$work/ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
ENV PATH /bin
ADD rootfs/hab /hab
COPY rootfs/bin /bin
COPY rootfs/etc /etc
COPY rootfs/init.sh /init.sh
EXPOSE 9631 9638 8080
ENTRYPOINT ["/init.sh"]
CMD ["run", "bench/app"]
DOCKERFILE

cold=() base=()
for r in $(seq 1 "$RUNS"); do
  rm -rf "$cache/layers" "$work/results"
  cold+=("$(t "$HAB" pkg export container --results-dir "$work/results" "$top")")
  pod rmi -af >/dev/null 2>&1 || true; rm -f "$work/saved.tar"
  base+=("$(t sh -c "podman --root '$work/podman/root' --runroot '$work/podman/run' build -q -t bench/app -f '$work/ctx/Dockerfile' '$work/ctx' && podman --root '$work/podman/root' --runroot '$work/podman/run' save -o '$work/saved.tar' bench/app")")
done
c=$(best "${cold[@]}"); b=$(best "${base[@]}")
ratio=$(echo "scale=2; $c / $b" | bc)
printf 'export cold: hab %.2f s, podman build+save %.2f s, ratio %s (limit 0.50)\n' "$c" "$b" "$ratio"

warm=()
rel=20240101000000
for r in $(seq 1 "$RUNS"); do
  "$HAB" pkg export container --oci-layout "$work/layout" "bench/app" >/dev/null
  rel=$((rel + 1))
  new=$FS_ROOT/hab/pkgs/bench/app/1.0.0/$rel
  cp -a "$topdir" "$new"; echo "bench/app/1.0.0/$rel" > "$new/IDENT"; echo "change $r" > "$new/share/changed"
  warm+=("$(t "$HAB" pkg export container --oci-layout "$work/layout" "bench/app/1.0.0/$rel")")
done
w=$(best "${warm[@]}")
printf 'export warm: hab %.2f s after changing only the top package (limit 0.50 s)\n' "$w"

forgot=()
for r in $(seq 1 "$RUNS"); do
  rel=$((rel + 1))
  new=$FS_ROOT/hab/pkgs/bench/app/1.0.0/$rel
  cp -a "$topdir" "$new"; echo "bench/app/1.0.0/$rel" > "$new/IDENT"; echo "change forgot $r" > "$new/share/changed"
  rm -rf "$cache"/host-pkgs/*/made
  forgot+=("$(t "$HAB" pkg export container --oci-layout "$work/layout" "bench/app/1.0.0/$rel")")
done
printf 'export warm, binaries not remembered: hab %.2f s\n' "$(best "${forgot[@]}")"

mes=() mbase=()
"$HAB" pkg export mesos --output-dir "$work/mesos" "bench/app/1.0.0/$rel" >/dev/null 2>&1
for r in $(seq 1 "$RUNS"); do
  mes+=("$(t "$HAB" pkg export mesos --output-dir "$work/mesos" "bench/app/1.0.0/$rel")")
  mbase+=("$(t sh -c "tar -C '$work/ctx/rootfs' -cf - . | gzip -1 > '$work/base.tgz'")")
done
m=$(best "${mes[@]}"); mb=$(best "${mbase[@]}")
printf 'export mesos: hab %.2f s, tar | gzip -1 %.2f s, ratio %s\n' "$m" "$mb" "$(echo "scale=2; $m / $mb" | bc)"

status=0
[ "$(echo "$ratio <= 0.50" | bc)" = 1 ] || { echo "export: cold export is not 2x faster than podman build+save" >&2; status=1; }
[ "$(echo "$w < 0.50" | bc)" = 1 ] || { echo "export: warm re-export took $w s" >&2; status=1; }
exit $status
