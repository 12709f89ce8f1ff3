package builder

import "github.com/habgo/hab/planner/plan"

// Environment is the environment a build starts from (Options.Env),
// taken from the caller's through getenv: what a plan evaluation sees
// (plan.Environment) and the build program's own settings
// (HAB_NATIVE_PACKAGE, HAB_CONFIG_EXCLUDE, NO_INSTALL_DEPS, HAB_XZ).
func Environment(getenv func(string) string) []string {
	return plan.Environment(getenv, "HAB_NATIVE_PACKAGE", "HAB_CONFIG_EXCLUDE", "NO_INSTALL_DEPS", "HAB_XZ")
}
