package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/habgo/hab/exporters/cf"
	"github.com/habgo/hab/exporters/container"
)

func (a *app) exportCFCmd() *cobra.Command {
	var (
		src        exportSource
		naming     container.Naming
		resultsDir string
	)
	c := &cobra.Command{
		Use:   "cf [FLAGS] <PKG_IDENT_OR_ARTIFACT> <MAPPING_TOML>",
		Short: "Creates a container image for Cloud Foundry, whose mapping file becomes the service's user.toml at start",
		Long: "Builds the container image with the mapping at " + cf.MappingPath + "; when the container starts, hab renders it " +
			"($VARS, $(service NAME JQ), $(services JQ), $(application JQ), $(port) over VCAP_SERVICES, VCAP_APPLICATION and PORT) " +
			"to /hab/svc/NAME/user.toml, then runs /init.sh. Tags are the container tags prefixed with cf-.",
		Args: cobra.ExactArgs(2),
	}
	a.exportSourceFlags(c, &src)
	c.Flags().StringVarP(&naming.ImageName, "image-name", "i", container.DefaultImageName, "Image name template")
	c.Flags().StringVar(&resultsDir, "results-dir", "results", "Directory of the archive, the SBOM and last_container_export.env")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		mapping, err := os.ReadFile(args[1])
		if err != nil {
			return fmt.Errorf("read mapping: %w", err)
		}
		g, done, err := a.gatherOptions(&src)
		if err != nil {
			return err
		}
		defer done()
		img, err := a.imageOptions()
		if err != nil {
			return err
		}
		naming.Channel = g.Channel
		res, err := cf.Export(cmd.Context(), cf.Request{Mapping: mapping, Container: container.Request{
			Args: args[:1], Gather: g, Image: img, Naming: naming, ResultsDir: resultsDir, WorkDir: os.TempDir()}})
		if err != nil {
			return err
		}
		for _, r := range res.Names.Refs {
			fmt.Fprintf(a.stdout, "★ Built %s\n", r)
		}
		fmt.Fprintf(a.stdout, "★ Wrote %s (docker load -i)\n", res.Archive)
		return nil
	}
	return c
}

// exportCFInitCmd is the Cloud Foundry image's entrypoint: render the
// mapping to user.toml from the container's environment, then replace
// this process with the program that follows.
func (a *app) exportCFInitCmd() *cobra.Command {
	return &cobra.Command{
		Use:                "cf-init MAPPING USER_TOML PROGRAM [ARGS...]",
		Short:              "Renders a Cloud Foundry mapping to user.toml, then runs PROGRAM (the cf image's entrypoint)",
		Hidden:             true,
		DisableFlagParsing: true,
		Args:               cobra.MinimumNArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			mapping, err := os.ReadFile(args[0])
			if err != nil {
				return fmt.Errorf("read mapping: %w", err)
			}
			out, err := cf.Render(string(mapping), a.getenv)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(args[1]), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(args[1], []byte(out), 0o644); err != nil {
				return fmt.Errorf("write %s: %w", args[1], err)
			}
			prog, err := exec.LookPath(args[2])
			if err != nil {
				return err
			}
			return syscall.Exec(prog, args[2:], os.Environ())
		},
	}
}
