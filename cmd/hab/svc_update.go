package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/habgo/hab/sup/ctl"
	"github.com/habgo/hab/sup/manager"
	"github.com/habgo/hab/sup/spec"
)

// svcUpdateCmd is hab svc update: change options of a loaded service
// (only the flags given) without unloading it; a running service
// restarts with them. The newest original always sends a channel and an
// update condition, so that any update resets both (the reference calls
// it a quirk); this sends only what is given, as the version before it
// did.
func (a *app) svcUpdateCmd() *cobra.Command {
	var f loadFlags
	var client func() (ctl.Client, error)
	c := &cobra.Command{
		Use:   "update PKG_IDENT",
		Short: "Update how the Supervisor manages an already-running service",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			u := manager.UpdateArgs{Ident: args[0]}
			fl := c.Flags()
			for name, dst := range map[string]**string{
				"group": &u.Group, "topology": &u.Topology, "strategy": &u.Strategy, "update-condition": &u.UpdateCondition,
				"channel": &u.Channel, "url": &u.URL, "binding-mode": &u.BindingMode,
			} {
				if fl.Changed(name) {
					v, _ := fl.GetString(name)
					*dst = &v
				}
			}
			if fl.Changed("bind") {
				// A bare --bind (its NoOptDefVal, a space) or --bind=
				// is no binds; a value may hold several, separated by
				// spaces.
				binds := []string{}
				for _, b := range f.binds {
					binds = append(binds, strings.Fields(b)...)
				}
				u.Binds = &binds
			}
			if fl.Changed("health-check-interval") {
				u.HealthCheckInterval = &f.healthInterval
			}
			if fl.Changed("shutdown-timeout") {
				u.ShutdownTimeout = &f.shutdownTimeout
			}
			if u == (manager.UpdateArgs{Ident: args[0]}) {
				return usageError("no options to update: give at least one flag")
			}
			cl, err := client()
			if err != nil {
				return err
			}
			return a.ctlDo(c.Context(), cl, manager.CmdUpdate, u)
		},
	}
	// Only the flags given are sent, so none shows a default but
	// --update-condition, whose the original's help shows.
	fl := c.Flags()
	fl.StringVar(&f.group, "group", "", "The service group with shared config and topology")
	fl.StringVarP(&f.topology, "topology", "t", "", "Service topology: standalone or leader")
	fl.StringVarP(&f.strategy, "strategy", "s", "", "The update strategy: none, at-once or rolling")
	fl.StringVar(&f.condition, "update-condition", spec.DefaultUpdateCondition, "The condition dictating when this service should update: latest or track-channel")
	fl.StringVar(&f.channel, "channel", "", "Receive updates from the specified release channel")
	fl.StringVarP(&f.url, "url", "u", "", "Specify an alternate Builder endpoint")
	fl.StringArrayVar(&f.binds, "bind", nil, "Service groups to bind to a configuration (NAME:SERVICE.GROUP[@ORG]; several words, or separated by spaces); bare, no binds")
	fl.Lookup("bind").NoOptDefVal = " "
	wordsFlag(c, "bind", 0)
	fl.StringVar(&f.bindingMode, "binding-mode", "", "Governs how the presence or absence of binds affects service startup: strict or relaxed")
	fl.Uint64VarP(&f.healthInterval, "health-check-interval", "i", 0, "The interval in seconds on which to run health checks")
	fl.Uint32Var(&f.shutdownTimeout, "shutdown-timeout", 0, "The number of seconds after sending a shutdown signal to wait before killing a service process")
	passwordFlag(c)
	client = a.remoteFlag(c)
	return c
}
