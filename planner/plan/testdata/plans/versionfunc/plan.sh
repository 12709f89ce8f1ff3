# The version is computed by a function that a build phase calls through
# update_pkg_version; while the plan loads it is unset.
pkg_name=versionfunc
pkg_origin=testing
pkg_license=('Apache-2.0')
pkg_source="https://example.com/${pkg_name}.tar.gz"

pkg_version() {
  cat "$SRC_PATH/VERSION"
}

do_before() {
  do_default_before
  update_pkg_version
}

do_build() {
  make -j"$(nproc)"
}
