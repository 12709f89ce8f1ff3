# Associative arrays: exports, binds and optional binds in every form.
pkg_name=assoc
pkg_origin=testing
pkg_version=0.1.0
pkg_license=('Apache-2.0')
pkg_exports=(
  [port]=srv.port
  [ssl-port]=srv.ssl.port
  ["quoted key"]="some.value"
)
pkg_exports+=([host]=srv.address)
pkg_exports[admin-port]=srv.admin.port
pkg_exposes=(port ssl-port)
pkg_binds=(
  [database]="port host"
)
pkg_binds_optional=([cache]="port" ['search']="http-port transport-port")
_key=dynamic
pkg_binds_optional[$_key]="addr"
pkg_description="exports=${#pkg_exports[@]} port=${pkg_exports[port]} ssl=${pkg_exports[ssl-port]}"
unset 'pkg_exports[host]'
