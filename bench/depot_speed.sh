#!/usr/bin/env bash
# bench/depot_speed.sh: the depot's transfer speed against the obvious
# baselines on the same 100 MB hart, side by side in one run (issue 9):
#   download  curl from `hab depot serve` against curl from nginx (Debian's
#             nginx-light, started here on a loopback port with its own
#             config) serving the same file; target >= 0.90 x nginx
#   upload    POST with verification (signature, payload digest,
#             checksum, ident, target) until the depot answers 201,
#             against `b2sum` of the same file (page-cached); target
#             >= 0.80 x b2sum. The runs upload (forced) a hart whose file
#             the depot stores already: every byte is verified, and none
#             is written again. The first upload, which also writes the
#             file and syncs it to disk, is printed too, with dd's
#             durable write of the same bytes beside it (no target: both
#             are the disk's speed).
# Each figure is the best of RUNS. It prints
#   depot download: depot X MB/s, nginx Y MB/s, ratio R (target 0.90)
#   depot upload:   depot X MB/s, b2sum Y MB/s, ratio R (target 0.80)
#   first upload:   depot X MB/s (written, synced), dd Y MB/s (conv=fsync)
# and exits non-zero when a ratio misses its target.
#
# The hart is made by `hab plan build` of a generated plan whose package
# holds SIZE_MB of random data, signed with a fresh origin key.
#
# Environment: HAB (hab binary; built from the tree when unset), RUNS
# (default 5), SIZE_MB (default 100), BENCH_DIR (work directory, kept, and
# its hart reused by the next run; default a fresh one under $TMPDIR,
# removed at the end), NGINX (default /usr/sbin/nginx).
set -euo pipefail

cd "$(dirname "$0")/.."
. bench/lib.sh
RUNS=${RUNS:-5}
SIZE_MB=${SIZE_MB:-100}
NGINX=${NGINX:-/usr/sbin/nginx}
command -v curl > /dev/null || { echo "depot_speed: curl is needed" >&2; exit 1; }
[ -x "$NGINX" ] || { echo "depot_speed: $NGINX is missing (apt-get install nginx-light)" >&2; exit 1; }

bench_work depot-speed
bench_hab

unset HAB_BLDR_URL HAB_DEPOT_URL HAB_AUTH_TOKEN HAB_BLDR_CHANNEL
export HOME=$work/home HAB_ORIGIN=bench
mkdir -p "$HOME" "$work/src/big"

# The hart: random (incompressible) data, so the file is SIZE_MB large.
cat > "$work/src/big/plan.sh" << PLAN
pkg_name=big
pkg_origin=bench
pkg_version=1.0.0
do_build() { :; }
do_install() { head -c $((SIZE_MB * 1048576)) /dev/urandom > "\$pkg_prefix/data"; }
PLAN
build_env=(FS_ROOT="$work/build" HAB_CACHE_KEY_PATH="$work/keys")
if [ ! -f "$work/src/results/last_build.env" ]; then # (a kept BENCH_DIR's hart is reused)
  env "${build_env[@]}" "$HAB" origin key generate bench > /dev/null
  (cd "$work/src" && env "${build_env[@]}" "$HAB" plan build big > "$work/build.log" 2>&1) ||
    { cat "$work/build.log"; exit 1; }
fi
# shellcheck disable=SC1091
. "$work/src/results/last_build.env"
hart=$work/src/results/$pkg_artifact
size=$(stat -c %s "$hart")
sum=$(b2sum -l 256 "$hart" | cut -d' ' -f1)
rel=${pkg_ident#bench/}

# The depot, with the origin, its key and the package.
rm -rf "$work/depot"
depot_start "$work/depot"
depot=$depot_url token=$depot_token
export HAB_BLDR_URL=$depot HAB_AUTH_TOKEN=$token
env HAB_CACHE_KEY_PATH="$work/keys" "$HAB" origin create bench > /dev/null
env HAB_CACHE_KEY_PATH="$work/keys" "$HAB" origin key upload bench > /dev/null

upload() { # prints the seconds one verified upload took
  local t0 t1 code
  t0=$(now)
  # -T streams the file as it sends it (--data-binary would read all of
  # it into memory first, which times curl rather than the depot).
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" -H 'Content-Type: application/octet-stream' \
    -H 'Expect:' -X POST -T "$hart" "$depot/v1/depot/pkgs/$pkg_ident?checksum=$sum&target=$pkg_target&forced=true")
  t1=$(now)
  [ "$code" = 201 ] || { echo "depot_speed: upload answered $code" >&2; exit 1; }
  echo "$t1 - $t0" | bc -l
}
timed() { # CMD...: prints the seconds it took; a failure stops the bench
  local t0 t1
  t0=$(now)
  "$@" > /dev/null || { echo "depot_speed: $* failed" >&2; exit 1; }
  t1=$(now)
  echo "$t1 - $t0" | bc -l
}
min() { sort -g | head -1; }

# nginx serving the same file.
nport=$(free_port)
mkdir -p "$work/nginx/www"
cp "$hart" "$work/nginx/www/big.hart"
cat > "$work/nginx/nginx.conf" << CONF
daemon off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 64; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  client_body_temp_path $work/nginx/tmp;
  proxy_temp_path $work/nginx/tmp;
  fastcgi_temp_path $work/nginx/tmp;
  uwsgi_temp_path $work/nginx/tmp;
  scgi_temp_path $work/nginx/tmp;
  server {
    listen 127.0.0.1:$nport;
    root $work/nginx/www;
  }
}
CONF
"$NGINX" -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" &
nginx_pid=$!
# shellcheck disable=SC2016 # expanded at exit
bench_at_exit 'kill "$nginx_pid" 2>/dev/null'
for i in $(seq 1 200); do
  curl -fs -o /dev/null "http://127.0.0.1:$nport/big.hart" && break
  [ "$i" = 200 ] && { echo "depot_speed: nginx did not serve the file:" >&2; cat "$work/nginx/error.log" >&2; exit 1; }
  sleep 0.05
done

# Warm both: the file in the page cache, the first upload stored (and
# timed, with a durable copy by dd of the same bytes to compare with).
cat "$hart" > /dev/null
first_t=$(upload)
fsync_t=$(timed dd if="$hart" of="$work/dd.copy" bs=1M conv=fsync status=none)
rm -f "$work/dd.copy"
dl_url=$depot/v1/depot/pkgs/$pkg_ident/download?target=$pkg_target
cmp <(curl -fs "$dl_url") "$hart" || { echo "depot_speed: the download differs from the hart" >&2; exit 1; }

up=() b2=() dd=() dn=()
for _ in $(seq 1 "$RUNS"); do
  up+=("$(upload)")
  b2+=("$(timed b2sum "$hart")")
  dd+=("$(timed curl -fs -o /dev/null "$dl_url")")
  dn+=("$(timed curl -fs -o /dev/null "http://127.0.0.1:$nport/big.hart")")
done
up_t=$(printf '%s\n' "${up[@]}" | min)
b2_t=$(printf '%s\n' "${b2[@]}" | min)
dd_t=$(printf '%s\n' "${dd[@]}" | min)
dn_t=$(printf '%s\n' "${dn[@]}" | min)
mbs() { echo "$size / 1048576 / $1" | bc -l; }
dl_ratio=$(echo "$dn_t / $dd_t" | bc -l)
up_ratio=$(echo "$b2_t / $up_t" | bc -l)
printf 'depot download: %d bytes, depot %.0f MB/s, nginx %.0f MB/s, ratio %.2f (target 0.90)\n' \
  "$size" "$(mbs "$dd_t")" "$(mbs "$dn_t")" "$dl_ratio"
printf 'depot upload:   %d bytes, depot %.0f MB/s (verified, stored already), b2sum %.0f MB/s, ratio %.2f (target 0.80)\n' \
  "$size" "$(mbs "$up_t")" "$(mbs "$b2_t")" "$up_ratio"
printf 'first upload:   %d bytes, depot %.0f MB/s (verified, written, synced), dd %.0f MB/s (conv=fsync)\n' \
  "$size" "$(mbs "$first_t")" "$(mbs "$fsync_t")"
ok=0
[ "$(echo "$dl_ratio >= 0.90" | bc -l)" = 1 ] || ok=1
[ "$(echo "$up_ratio >= 0.80" | bc -l)" = 1 ] || ok=1
exit $ok
