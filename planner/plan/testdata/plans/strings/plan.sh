# Values that need escaping in JSON, and settings as plain strings.
pkg_name=strings
pkg_origin=testing
pkg_version=1.0.0
pkg_license="MIT"
pkg_maintainer='Zoë Ünicode <zoe@example.com> — “quoted” & <tags> \ back\slash'
pkg_description=$'Tabs\tand\nnewlines and a bell\a and emoji 🎉 and "double quotes"'
pkg_upstream_url="http://example.com/a b/c?d=e&f=g"
pkg_deps=("core/with space" '' "core/\$literal")
pkg_svc_run=$'run\twith tab'
pkg_type=standalone
pkg_shasum=""
