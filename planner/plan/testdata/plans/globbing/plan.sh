# Globs expand against the plan's directory, sorted.
pkg_name=globbing
pkg_origin=testing
pkg_version=0.0.1
pkg_license=('Apache-2.0')
_patches=(*.patch)
pkg_description="patches: ${_patches[*]}"
pkg_deps=()
for _p in patches/*.diff; do
  pkg_deps+=("core/${_p##*/}")
done
_none=(*.nothing-matches)
pkg_upstream_url="unmatched: ${_none[*]}"
