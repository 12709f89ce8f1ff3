package plan

import "github.com/habgo/hab/core/ident"

// envNames are the variables of the caller's environment a plan sees
// while it is evaluated: the build program's own settings and what plans
// commonly test. Everything else is left out, so that the evaluation
// does not depend on the shell hab happens to be run from.
func envNames() []string {
	return []string{
		"PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR",
		"HAB_ORIGIN", "HAB_ROOT_PATH", "HAB_CACHE_KEY_PATH", "HAB_BLDR_URL", "HAB_BLDR_CHANNEL",
		"HAB_FALLBACK_CHANNEL", "HAB_REFRESH_CHANNEL", "HAB_PREFER_LOCAL_CHEF_DEPS", "HAB_HART_COMPRESSION_LEVEL",
		"HAB_SRC_PATH", "HAB_OUTPUT_PATH", "HAB_NOCOLORING", "HAB_LICENSE", "STUDIO_TYPE", "DO_CHECK", "DEBUG",
		"SOURCE_DATE_EPOCH",
	}
}

// Environment is the environment a plan is evaluated in (Options.Env),
// taken from the caller's through getenv: the variables of envNames
// that are set and not empty, as "NAME=value", extra names after them.
func Environment(getenv func(string) string, extra ...string) []string {
	var env []string
	for _, n := range append(envNames(), extra...) {
		if v := getenv(n); v != "" {
			env = append(env, n+"="+v)
		}
	}
	return env
}

// TargetFrom is the target plans are evaluated for: BUILD_PKG_TARGET as
// the build program reads it, else HAB_PKG_TARGET, else the host's.
func TargetFrom(getenv func(string) string) (ident.Target, error) {
	if t := getenv("BUILD_PKG_TARGET"); t != "" {
		return ident.ParseTarget(t)
	}
	return ident.ActiveTarget(getenv)
}
