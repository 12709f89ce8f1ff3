# Conditionals, case, local variables, user associative arrays, brace
# expansion and arithmetic at the top level.
pkg_name=control
pkg_origin=testing
pkg_version=2.0.0
pkg_license=('Apache-2.0')

_pick() {
  local kind="$1"
  local -a out=()
  case "$kind" in
    tool*) out=(core/make core/gcc) ;;
    lib|library) out=(core/zlib) ;;
    *) out=() ;;
  esac
  echo "${out[*]}"
}

if [[ "$pkg_version" == 2.* && -n "$pkg_name" ]]; then
  pkg_build_deps=($(_pick tools))
elif [ "$pkg_version" = "1.0.0" ]; then
  pkg_build_deps=(core/never)
else
  pkg_build_deps=()
fi
pkg_deps=($(_pick lib))
[[ "$STUDIO_TYPE" = "stage1" ]] && pkg_deps=()

declare -A _ports=([http]=8080 [https]=8443)
for _k in "${!_ports[@]}"; do
  pkg_exports[$_k]="ports.$_k"
done
pkg_exposes=($(printf '%s\n' "${!_ports[@]}" | sort))
pkg_lib_dirs=(lib{,64})
pkg_include_dirs=(include/{a,b}{1..2})
_n=$(( 6 * 7 ))
(( _n += 1 ))
let "_m = _n * 2"
pkg_description="n=$_n m=$_m mod=$(( 17 % 5 )) pow=$(( 2 ** 10 )) hex=$(( 0x1f )) tern=$(( _n > 40 ? 1 : 0 ))"
_i=0
while (( _i < 3 )); do
  pkg_bin_dirs+=("bin$_i")
  _i=$((_i + 1))
done
until [[ $_i -eq 0 ]]; do _i=$((_i - 1)); done
pkg_upstream_url="https://example.com/i/$_i"
if ! command -v definitely-not-a-command >/dev/null 2>&1; then
  pkg_maintainer="no such command"
fi
pkg_svc_run="control --config $pkg_svc_config_path/control.toml --data ${pkg_svc_data_path}"
pkg_svc_user=root
pkg_svc_group=$pkg_svc_user
true
