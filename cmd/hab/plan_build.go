package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/hart"
	"github.com/habgo/hab/planner/builder"
	"github.com/habgo/hab/planner/plan"
)

func (a *app) planBuildCmd() *cobra.Command {
	var asJSON bool
	var release string
	c := &cobra.Command{
		Use:   "build [--json] [--release RELEASE] [PLAN_CONTEXT]",
		Short: "Builds a plan into a signed .hart in the current environment",
		Long: "Builds the plan found in PLAN_CONTEXT (default: the current directory) as hab-plan-build does, " +
			"in the current environment (no studio): resolves pkg_deps and pkg_build_deps from the installed packages " +
			"(installing them from local harts in the artifact cache when needed), runs the build phases and the plan's " +
			"callbacks, installs the package under FS_ROOT, and writes the signed artifact, last_build.env and the build " +
			"log into results/ (or $HAB_OUTPUT_PATH). The package is signed with the newest secret key of its origin. " +
			"Outside a studio, FS_ROOT/hab is the plan's HAB_ROOT_PATH: pkg_prefix is the real path under FS_ROOT. " +
			"With --json, the build output goes to standard error and a JSON summary to standard output.",
		Args: cobra.MaximumNArgs(1),
	}
	c.Flags().BoolVar(&asJSON, "json", false, "Print a JSON summary of the build (ident, artifact, checksums) on standard output")
	c.Flags().StringVar(&release, "release", "", "Use this pkg_release instead of the current time (YYYYMMDDhhmmss)")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		dir := "."
		if len(args) == 1 {
			dir = args[0]
		}
		target, err := plan.TargetFrom(a.getenv)
		if err != nil {
			return usageError("%v", err)
		}
		wd, err := os.Getwd()
		if err != nil {
			return fmt.Errorf("plan build: %w", err)
		}
		var out io.Writer = a.stdout
		if asJSON {
			out = a.stderr
		}
		xz, err := a.xzChoice()
		if err != nil {
			return err
		}
		res, err := builder.Build(cmd.Context(), dir, builder.Options{
			Hart:    hart.WriteOptions{XZ: xz},
			Root:    a.root,
			Target:  target,
			Env:     builder.Environment(a.getenv),
			Release: release,
			WorkDir: wd,
			Keys:    crypto.Cache{Dir: a.root.Keys()},
			Output:  out,
			Stdin:   a.stdin, // attach reads its debugging commands here
		})
		if err != nil {
			return &exitCodeError{code: builder.ExitStatus(err), err: err}
		}
		if asJSON {
			data, err := json.MarshalIndent(map[string]string{
				"ident":           res.Ident.String(),
				"target":          string(res.Target),
				"prefix":          res.Prefix,
				"artifact":        res.Artifact,
				"cached_artifact": res.CachedArtifact,
				"sha256sum":       res.SHA256,
				"blake2bsum":      res.Blake2b,
				"last_build":      res.LastBuild,
				"log":             res.Log,
			}, "", "  ")
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.stdout, "%s\n", data)
			return err
		}
		return nil
	}
	return c
}
