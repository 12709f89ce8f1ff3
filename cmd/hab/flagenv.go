package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// envAnnotation is the flag annotation that names the environment
// variables a flag falls back to, in order (what the original's clap
// declares as env = ...). The command-tree test compares it with the
// reference, and envFlag makes it true.
const envAnnotation = "hab_env"

// envFlag makes the flag name of c fall back to the first of envs that is
// set and not empty (an empty variable counts as unset, as the original's
// habitat_core::env::var has it) when the command line does not give it.
// The value is set before c runs, without marking the flag as given, so
// that a command can still tell the command line from the environment.
// The help text names the variables.
func (a *app) envFlag(c *cobra.Command, name string, envs ...string) {
	f := c.Flags().Lookup(name)
	if f == nil {
		panic(fmt.Sprintf("envFlag: %s has no flag --%s", c.CommandPath(), name))
	}
	if f.Annotations == nil {
		f.Annotations = map[string][]string{}
	}
	f.Annotations[envAnnotation] = append(f.Annotations[envAnnotation], envs...)
	f.Usage += " [env: " + strings.Join(envs, ", ") + "]"
	prev := c.PreRunE
	c.PreRunE = func(cmd *cobra.Command, args []string) error {
		if prev != nil {
			if err := prev(cmd, args); err != nil {
				return err
			}
		}
		if f.Changed {
			return nil
		}
		for _, e := range envs {
			if v := a.getenv(e); v != "" {
				if err := f.Value.Set(v); err != nil {
					return usageError("invalid value %q of %s for --%s: %v", v, e, name, err)
				}
				return nil
			}
		}
		return nil
	}
}
