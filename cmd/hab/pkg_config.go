package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/habgo/hab/core/pkgmeta"
)

// storeBindsCmd is hab pkg binds: the binds an installed package declares.
func (a *app) storeBindsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "binds <PKG_IDENT>",
		Short: "Displays the binds for a service",
		Long: "Prints the binds the latest installed release of PKG_IDENT declares: the required ones (BINDS), then the optional " +
			"ones (BINDS_OPTIONAL), each as NAME=EXPORTS, the configuration keys the bound service group must export.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, p, err := a.storeResolve(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			m, err := p.Metadata()
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Showing binds for %s\n", p.Ident)
			storePrintBinds(a, "required", m.Binds)
			storePrintBinds(a, "optional", m.BindsOptional)
			return nil
		},
	}
}

// storePrintBinds prints one kind of binds as the original does.
func storePrintBinds(a *app, kind string, binds []pkgmeta.Bind) {
	if len(binds) == 0 {
		fmt.Fprintf(a.stdout, "%s: none\n", kind)
		return
	}
	lines := make([]string, len(binds))
	for i, b := range binds {
		lines[i] = b.String()
	}
	fmt.Fprintf(a.stdout, "%s:\n    %s\n", kind, strings.Join(lines, "\n    "))
}

// storeConfigCmd is hab pkg config: an installed package's default.toml.
func (a *app) storeConfigCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "config <PKG_IDENT>",
		Short: "Displays the default configuration options for a service",
		Long: "Prints the default configuration (default.toml) of the latest installed release of PKG_IDENT, as the package " +
			"holds it. A package without one is said so on standard error, and the command succeeds.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, p, err := a.storeResolve(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			cfg, err := p.DefaultConfig()
			if err != nil {
				return err
			}
			if cfg == nil {
				fmt.Fprintf(a.stderr, "No '%s' found for %s\n", pkgmeta.FileDefaultConfig, p.Ident)
				return nil
			}
			_, err = a.stdout.Write(cfg)
			return err
		},
	}
}
