# A sibling file sourced at the top level, and functions defined but never
# called while the plan loads.
source "$PLAN_CONTEXT/common.sh"
. ./more.sh
pkg_name=sourcing
pkg_origin=testing
pkg_version=$_common_version
pkg_deps=("${_common_deps[@]}")
pkg_license=('MIT')

do_build() {
  exit_with "never runs while loading" 9
}

do_install() {
  pkg_name=changed
}
