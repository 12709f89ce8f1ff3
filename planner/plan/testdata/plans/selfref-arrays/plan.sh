# Arrays built from their own preset (empty) value, as scaffolding plans do
# (core-plans' scaffolding-go: pkg_deps=("${pkg_deps[@]}" core/go core/git)):
# an empty array expands to no word at all, never to one empty word.
pkg_name=selfref-arrays
pkg_origin=testing
pkg_version=1.0.0
pkg_deps=("${pkg_deps[@]}" core/go core/git)
pkg_build_deps=("${pkg_build_deps[@]}")
pkg_lib_dirs=(${pkg_lib_dirs[@]} lib)
pkg_include_dirs=("${pkg_include_dirs[@]:0}" include)
pkg_pconfig_dirs=("${pkg_pconfig_dirs[@]/#/x}" "${pkg_pconfig_dirs[@]%.pc}")
pkg_exposes=("${pkg_exposes[@]}" "${pkg_exposes[@]}")
pkg_bin_dirs=("${pkg_bin_dirs[*]}" bin)
_empty=()
_copy=("${_empty[@]}")
pkg_interpreters=("${_copy[@]}" "${_empty[@]}" bin/sh)
_fn() { local -a _local=("${pkg_build_deps[@]}" "$@"); pkg_license=("${_local[@]}"); }
_fn
pkg_description="deps=${#pkg_deps[@]} build=${#pkg_build_deps[@]} copy=${#_copy[@]} lic=${#pkg_license[@]} keys=${!pkg_exposes[*]} star=[${pkg_build_deps[*]}]"
readarray -t _none < /dev/null
mapfile -t _lines <<'LINES'
a
b
LINES
mapfile _none2 < /dev/null
readarray -t -s 5 _skipped <<'LINES'
only
LINES
pkg_exposes=("${_none[@]}" "${_none2[@]}" "${_skipped[@]}" "${_lines[@]}" 80)
read -ra _words < /dev/null || true
read -r -a _blank <<< ""
pkg_lib_dirs=("${_words[@]}" "${_blank[@]}" "${pkg_lib_dirs[@]}")
