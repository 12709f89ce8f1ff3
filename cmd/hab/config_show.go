package main

import (
	"github.com/spf13/cobra"

	"github.com/habgo/hab/sup/ctl"
	"github.com/habgo/hab/sup/manager"
)

// configShowCmd is hab config show: the default configuration of a
// loaded service's package, as the supervisor has it.
func (a *app) configShowCmd() *cobra.Command {
	var client func() (ctl.Client, error)
	c := &cobra.Command{
		Use:   "show PKG_IDENT",
		Short: "Display the default configuration of a running service",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := client()
			if err != nil {
				return err
			}
			return a.ctlDo(c.Context(), cl, manager.CmdDefaultCfg, manager.IdentArgs{Ident: args[0]})
		},
	}
	client = a.remoteFlag(c)
	return c
}
