package main

import "github.com/spf13/cobra"

// addStoreCommands adds the package store commands: install, path, list,
// env, exec, binlink, uninstall, dependencies, provides.
func (a *app) addStoreCommands(pkg *cobra.Command) {}
