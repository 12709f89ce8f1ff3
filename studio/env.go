package studio

import (
	"sort"
	"strings"
)

// SecretPrefix marks host variables passed into the studio under the rest
// of their name: HAB_STUDIO_SECRET_TOKEN=x is TOKEN=x inside.
const SecretPrefix = "HAB_STUDIO_SECRET_"

// Path is the PATH inside a studio: its own binaries first, then the
// host toolchain fallback's directories.
const Path = "/hab/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Secrets may not replace these variables, as in the original.
var reservedSecret = map[string]bool{
	"HAB_BINLINK_DIR": true, "HAB_ORIGIN": true, "HOME": true, "LC_ALL": true, "PATH": true,
	"PWD": true, "STUDIO_TYPE": true, "TERM": true, "TERMINFO": true,
}

// Host variables naming host paths or this studio's own settings stay
// outside: inside they would point at the wrong place.
var hostOnly = map[string]bool{
	"HAB_CACHE_KEY_PATH": true, "HAB_CACHE_SRC_PATH": true, "HAB_STUDIO_ROOT": true,
	"HAB_STUDIOS_HOME": true, "HAB_ORIGIN_KEYS": true, "HAB_STUDIO_HAB_BIN": true,
}

// Other variables the original passes in besides HAB_*, and
// SOURCE_DATE_EPOCH, so that a build in a studio embeds the caller's
// time (hab plan build defaults it to the release's).
var passed = []string{"DO_CHECK", "SOURCE_DATE_EPOCH", "http_proxy", "https_proxy", "no_proxy"}

// Environ builds a studio command's environment from the host's (KEY=VALUE
// entries): LC_ALL=POSIX, HOME=/root, TERM, PATH and STUDIO_TYPE, then the
// host's HAB_* variables (but not those naming host paths), the proxy
// variables, DO_CHECK and SOURCE_DATE_EPOCH, then each HAB_STUDIO_SECRET_NAME=value as
// NAME=value. Nothing else from the host gets in. extra entries (such as
// STUDIO_ENTER=true) come last.
func Environ(host []string, studioType string, extra ...string) []string {
	get := map[string]string{}
	var names []string
	for _, kv := range host {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue
		}
		if _, dup := get[k]; !dup {
			names = append(names, k)
		}
		get[k] = v
	}
	sort.Strings(names)
	env := []string{"LC_ALL=POSIX", "HOME=/root", "TERM=" + get["TERM"], "PATH=" + Path, "STUDIO_TYPE=" + studioType}
	for _, k := range names {
		if strings.HasPrefix(k, "HAB_") && !strings.HasPrefix(k, SecretPrefix) && !hostOnly[k] {
			env = append(env, k+"="+get[k])
		}
	}
	for _, k := range passed {
		v, ok := get[k]
		if !ok || v == "" {
			continue
		}
		if k == "no_proxy" {
			v = strings.ReplaceAll(v, ", ", ",")
		}
		env = append(env, k+"="+v)
	}
	for _, k := range names {
		name, ok := strings.CutPrefix(k, SecretPrefix)
		if !ok || name == "" || reservedSecret[name] {
			continue
		}
		env = append(env, name+"="+get[k])
	}
	return dedupe(append(env, extra...))
}

// Report lists what Environ exports from the host, as the original prints
// it before entering a studio: HAB_AUTH_TOKEN and every secret show as
// [redacted]; secret values never appear.
func Report(host []string) []string {
	var out []string
	for _, kv := range Environ(host, "") {
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case k == "HAB_AUTH_TOKEN":
			out = append(out, k+"=[redacted]")
		case strings.HasPrefix(k, "HAB_") && !isSecret(host, k), k == "http_proxy", k == "https_proxy", k == "no_proxy":
			out = append(out, k+"="+v)
		}
	}
	for _, name := range SecretNames(host) {
		out = append(out, name+"=[redacted]")
	}
	return out
}

func isSecret(host []string, name string) bool {
	for _, n := range SecretNames(host) {
		if n == name {
			return true
		}
	}
	return false
}

// SecretNames are the names, inside the studio, of the secrets the host
// passes in.
func SecretNames(host []string) []string {
	var out []string
	for _, kv := range host {
		k, _, _ := strings.Cut(kv, "=")
		if name, ok := strings.CutPrefix(k, SecretPrefix); ok && name != "" && !reservedSecret[name] {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// dedupe keeps the last value of each variable, in first-seen order.
func dedupe(env []string) []string {
	last := map[string]int{}
	for i, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		last[k] = i
	}
	out := env[:0:0]
	for i, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if last[k] == i {
			out = append(out, kv)
		}
	}
	return out
}
