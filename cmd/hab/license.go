package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// licenseCmd is hab license: the original asks users to accept a license
// before its first run; this implementation has nothing to accept, and
// keeps the command (and HAB_LICENSE) so that scripts calling it work.
func (a *app) licenseCmd() *cobra.Command {
	group := &cobra.Command{
		Use:   "license",
		Short: "Commands relating to Habitat license agreements",
		Long: "The original hab asks to accept its license before the first run (hab license accept, or HAB_LICENSE=accept). " +
			"This implementation needs no license acceptance: the command exists so that scripts calling it keep working, " +
			"and HAB_LICENSE is accepted whatever its value, silently.",
		Args: cobra.NoArgs,
		RunE: groupHelp,
	}
	group.AddCommand(&cobra.Command{
		Use:   "accept",
		Short: "Accept the Chef License Agreement (nothing to accept here)",
		Long:  "Says that this implementation of hab needs no license acceptance, writes nothing, and succeeds.",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprintln(a.stdout, "This implementation of hab needs no license acceptance: there is nothing to accept.")
			return nil
		},
	})
	return group
}
