package main

import "github.com/spf13/cobra"

// addOtherExportCommands adds the formats other than container.
func (a *app) addOtherExportCommands(export *cobra.Command) {}
