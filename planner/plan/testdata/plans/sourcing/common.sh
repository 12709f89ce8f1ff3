_common_version=0.9.1
_common_deps=(core/glibc core/gcc-libs)
pkg_exports=([port]=srv.port [ssl-port]=srv.ssl.port)
