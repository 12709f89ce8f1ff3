# Here-documents and here-strings.
pkg_name=heredoc
pkg_origin=testing
pkg_version=1.0.0
pkg_description=$(cat <<EOF
A description spanning
several lines for ${pkg_name} ${pkg_version}.
	A tab-indented line.
EOF
)
read -r -d '' _quoted <<'END' || true
No $expansion here, ${pkg_name} stays literal.
END
pkg_maintainer="$_quoted"
_stripped=$(cat <<-EOF
	leading tabs removed
	from ${pkg_name}
	EOF
)
pkg_upstream_url="http://example.com/${_stripped//$'\n'/ }"
read -r _first _second <<< "alpha beta gamma"
pkg_license=("$_first" "$_second")
mapfile -t pkg_deps <<'EOF'
core/one
core/two
EOF
