package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	hartar "github.com/habgo/hab/exporters/tar"
)

// addOtherExportCommands adds the formats other than container.
func (a *app) addOtherExportCommands(export *cobra.Command) {
	export.AddCommand(a.exportTarCmd())
}

func (a *app) exportTarCmd() *cobra.Command {
	var (
		src             exportSource
		noHabBin, noSup bool
		outDir          string
	)
	c := &cobra.Command{
		Use:   "tar [FLAGS] <PKG_IDENT_OR_ARTIFACT>",
		Short: "Creates a tarball of a package, its runtime closure and hab, that runs after tar xf on a machine with nothing installed",
		Long: "Writes ORIGIN-NAME-VERSION-RELEASE.tar.gz: hab/pkgs (the package, its runtime closure, this hab and a busybox) and hab/bin/hab. " +
			"Unpacked at /, `/hab/bin/hab sup run ORIGIN/NAME` starts the service.",
		Args: cobra.ExactArgs(1),
	}
	src.flags(c)
	c.Flags().BoolVar(&noHabBin, "no-hab-bin", false, "Leave hab/bin/hab out")
	c.Flags().BoolVar(&noSup, "no-hab-sup", false, "Accepted for compatibility: the supervisor is part of hab")
	c.Flags().StringVar(&outDir, "output-dir", ".", "Directory the tarball is written to")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		g, err := a.gatherOptions(&src)
		if err != nil {
			return err
		}
		path, err := hartar.Export(cmd.Context(), hartar.Request{Arg: args[0], Gather: g, OutDir: outDir, NoHabBin: noHabBin, WorkDir: os.TempDir()})
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "★ Wrote %s\n", path)
		return nil
	}
	return c
}
