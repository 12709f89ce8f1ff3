package main

import (
	"fmt"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/spf13/cobra"

	"github.com/habgo/hab/sup/ctl"
	"github.com/habgo/hab/sup/manager"
)

// configShowCmd is hab config show: the default configuration of a
// loaded service's package, as the supervisor has it; with --json, as
// one JSON object.
func (a *app) configShowCmd() *cobra.Command {
	var client func() (ctl.Client, error)
	var asJSON bool
	c := &cobra.Command{
		Use:   "show PKG_IDENT",
		Short: "Display the default configuration of a running service",
		Long: "Prints the default configuration (the package's default.toml) of a service loaded in the Supervisor, as TOML; " +
			"with --json, the same settings as one JSON object (tables as objects, arrays as arrays, dates as RFC 3339 strings).",
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := client()
			if err != nil {
				return err
			}
			if !asJSON {
				return a.ctlDo(c.Context(), cl, manager.CmdDefaultCfg, manager.IdentArgs{Ident: args[0]})
			}
			var b strings.Builder
			if err := cl.Do(c.Context(), manager.CmdDefaultCfg, manager.IdentArgs{Ident: args[0]}, func(l string) { b.WriteString(l + "\n") }); err != nil {
				return err
			}
			cfg := map[string]any{}
			if err := toml.Unmarshal([]byte(b.String()), &cfg); err != nil {
				return fmt.Errorf("default configuration of %s: %w", args[0], err)
			}
			return a.storeWriteJSON(cfg)
		},
	}
	c.Flags().BoolVarP(&asJSON, "json", "j", false, "Output the configuration as JSON")
	client = a.remoteFlag(c)
	return c
}
