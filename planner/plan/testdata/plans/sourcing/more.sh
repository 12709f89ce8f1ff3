pkg_exposes=(port ssl-port)
pkg_description="sourced, deps=${#_common_deps[@]}"
