# Command substitutions, running real programs at the top level.
pkg_name=cmdsubst
pkg_origin=testing
pkg_version="$(cat "$PLAN_CONTEXT/VERSION")"
pkg_maintainer=$(echo "Nobody" | tr 'a-z' 'A-Z')
_year=$(date -u -d @0 +%Y)
_nested="$(echo "outer $(echo inner)")"
_back=`echo backticks`
pkg_description="year=${_year} nested=${_nested} back=${_back} lines=$(printf '%s\n' a b c | wc -l) dir=$(basename "$PWD")"
pkg_upstream_url=$(printf 'https://%s/%s' example.org "$pkg_name")
pkg_license=("$(echo "GPL-2.0" )")
pkg_source=https://example.org/$pkg_name/v${pkg_version}/src.tgz
pkg_shasum=$(printf '%s' "abc" | sha256sum | cut -d' ' -f1)
pkg_deps=($(echo core/a core/b))
pkg_svc_user=$(id -un 2>/dev/null >/dev/null; echo svc)
