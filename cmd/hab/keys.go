package main

import "github.com/spf13/cobra"

// addKeyCommands adds origin, ring, service and user key commands and setup.
func (a *app) addKeyCommands(root, origin, ring, svc, user *cobra.Command) {}
