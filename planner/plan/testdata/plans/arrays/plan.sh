# Arrays built up step by step, and parameter expansions on them.
pkg_name=arrays
pkg_origin=testing
_major=2
_minor=${_major}.5
pkg_version="${_minor}.13-rc1"
pkg_license=('Apache-2.0')
pkg_license+=("MIT")
pkg_deps=(core/glibc)
pkg_deps+=(core/zlib core/openssl)
_extra=(readline ncurses)
pkg_deps+=("${_extra[@]/#/core/}")
pkg_build_deps=()
for d in make gcc patch; do
  pkg_build_deps+=("core/$d")
done
pkg_bin_dirs=(bin sbin)
pkg_lib_dirs=("${pkg_bin_dirs[@]:1}")
pkg_include_dirs=(include "include/${pkg_name}")
pkg_description="major=${pkg_version%%.*} minor=${pkg_version#*.} base=${pkg_version%-*} upper=${pkg_name^^} dotted=${pkg_version//./_} first=${pkg_version/./-} len=${#pkg_version} count=${#pkg_deps[@]} last=${pkg_deps[-1]} sub=${pkg_name:1:3}"
pkg_upstream_url="https://example.com/${pkg_name}/${pkg_version%%-*}"
pkg_source="https://example.com/dl/${pkg_name}-${pkg_version}.tar.gz"
pkg_maintainer="Test <test@example.com>"
pkg_interpreters=(bin/sh)
pkg_interpreters[3]=bin/bash
unset 'pkg_bin_dirs[0]'
