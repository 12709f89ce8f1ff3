# Builtins plans use: printf -v, indirection, read with IFS, set --, shift,
# export, trim, test operators.
pkg_name=builtins
pkg_origin=testing
printf -v pkg_version '%d.%d.%d' 1 2 3
_ref=pkg_name
pkg_description="indirect=${!_ref} trimmed=[$(trim "   padded value   ")]"
IFS=, read -r -a pkg_license <<< "MIT,Apache-2.0,BSD-3-Clause"
set -- core/x core/y core/z
shift
pkg_deps=("$@")
export pkg_maintainer="Exported <e@example.com>"
if [ -f "$PLAN_CONTEXT/plan.sh" ] && [ -d "$PLAN_CONTEXT" ] && [ ! -e "$PLAN_CONTEXT/nope" ]; then
  pkg_upstream_url="file tests ok"
fi
[[ "abc-123" =~ ^([a-z]+)-([0-9]+)$ ]] && pkg_bin_dirs=("${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}")
pkg_pconfig_dirs=(lib/pkgconfig)
build_line "this line is not part of the metadata"
warn "nor is this warning"
debug "nor this"
