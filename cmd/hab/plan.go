package main

import "github.com/spf13/cobra"

// addPlanCommands adds plan evaluation commands: show, init, build.
func (a *app) addPlanCommands(plan *cobra.Command) {}
