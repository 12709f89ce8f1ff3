package main

import (
	"github.com/spf13/cobra"

	"github.com/habgo/hab/sup/ctl"
	"github.com/habgo/hab/sup/manager"
)

// supDepartCmd is hab sup depart MEMBER_ID: the Supervisor reached
// through the control gateway marks the member departed on every member
// of the ring; the departed Supervisor exits (86) and is never admitted
// again under that id.
func (a *app) supDepartCmd() *cobra.Command {
	var client func() (ctl.Client, error)
	c := &cobra.Command{
		Use:   "depart MEMBER_ID",
		Short: "Depart a Supervisor from the gossip ring; kicking and banning the target from joining again",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := client()
			if err != nil {
				return err
			}
			return a.ctlDo(c.Context(), cl, manager.CmdSupDepart, manager.DepartArgs{MemberID: args[0]})
		},
	}
	client = a.remoteFlag(c)
	return c
}
