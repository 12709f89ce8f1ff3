package main

import "github.com/spf13/cobra"

// addRenderCommand adds `hab plan render`.
func (a *app) addRenderCommand(plan *cobra.Command) {}
