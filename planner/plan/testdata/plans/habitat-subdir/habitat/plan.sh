# A plan in habitat/: PLAN_CONTEXT is that directory.
pkg_name=habitat-subdir
pkg_origin=testing
pkg_version=$(cat "$PLAN_CONTEXT/../VERSION")
pkg_license=('Apache-2.0')
pkg_description="context=$(basename "$PLAN_CONTEXT") cwd=$(basename "$(pwd)")"
pkg_svc_run="bin/server"
