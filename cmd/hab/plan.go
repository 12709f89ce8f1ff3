package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/habgo/hab/core/cliconfig"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/planner/plan"
	"github.com/habgo/hab/planner/scaffold"
)

// addPlanCommands adds plan evaluation commands: show, init.
func (a *app) addPlanCommands(p *cobra.Command) {
	p.AddCommand(a.planShowCmd(), a.planInitCmd())
	p.AddCommand(a.planBuildCmd())
}

func (a *app) planShowCmd() *cobra.Command {
	var asJSON, all bool
	c := &cobra.Command{
		Use:   "show [--json] [--all] [PLAN_CONTEXT]",
		Short: "Evaluates a plan and prints its metadata",
		Long: "Finds the plan in PLAN_CONTEXT (default: the current directory) as a build does " +
			"(plan.sh, habitat/plan.sh, TARGET/plan.sh, habitat/TARGET/plan.sh), evaluates it with the " +
			"defaults a build applies, and prints its settings. With --json, one JSON object with sorted " +
			"keys named after the plan variables: lists for arrays, objects for associative arrays. " +
			"Values that depend on the build clock (pkg_release, pkg_prefix, pkg_artifact) and the derived " +
			"paths are shown only with --all.",
		Args: cobra.MaximumNArgs(1),
	}
	c.Flags().BoolVar(&asJSON, "json", false, "Print the metadata as JSON")
	c.Flags().BoolVar(&all, "all", false, "Also show the derived values: pkg_release, pkg_prefix, pkg_artifact, pkg_target, service paths, source paths, composite and shutdown settings")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		dir := "."
		if len(args) == 1 {
			dir = args[0]
		}
		target, err := plan.TargetFrom(a.getenv)
		if err != nil {
			return usageError("%v", err)
		}
		p, err := plan.Evaluate(cmd.Context(), dir, plan.Options{
			Target: target,
			Env:    plan.Environment(a.getenv),
			Stdout: a.stderr,
			Stderr: a.stderr,
		})
		if err != nil {
			return err
		}
		for _, s := range p.Shadowed {
			fmt.Fprintf(a.stderr, "warning: %s is ignored: the plan for %s, %s, takes precedence\n", s, target, p.Path)
		}
		values := p.Values()
		if all {
			values = p.AllValues()
		}
		if asJSON {
			out := plan.MarshalValues(values)
			_, err := a.stdout.Write(append(out, '\n'))
			return err
		}
		return printPlan(a.stdout, p, values)
	}
	return c
}

// printPlan prints the metadata as an aligned listing: one setting a line,
// list and map entries one a line under it.
func printPlan(w io.Writer, p *plan.Plan, values map[string]plan.Value) error {
	m := p.Meta
	fmt.Fprintf(w, "%s/%s/%s (%s)\n", m.Origin, m.Name, m.Version, m.Target)
	fmt.Fprintf(w, "plan: %s\n\n", p.Path)
	keys := make([]string, 0, len(values))
	width := 0
	for k := range values {
		keys = append(keys, k)
		width = max(width, len(k))
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := values[k]
		var lines []string
		switch v.Kind {
		case plan.Scalar:
			lines = strings.Split(v.Str, "\n")
		case plan.Array:
			lines = v.List
			if len(lines) == 0 {
				lines = []string{"(none)"}
			}
		case plan.Map:
			mk := make([]string, 0, len(v.Map))
			for key := range v.Map {
				mk = append(mk, key)
			}
			sort.Strings(mk)
			for _, key := range mk {
				lines = append(lines, key+"="+v.Map[key])
			}
			if len(lines) == 0 {
				lines = []string{"(none)"}
			}
		}
		for i, l := range lines {
			name := ""
			if i == 0 {
				name = k
			}
			if _, err := fmt.Fprintf(w, "%-*s  %s\n", width, name, l); err != nil {
				return err
			}
		}
	}
	return nil
}

func (a *app) planInitCmd() *cobra.Command {
	var (
		origin, scaffolding                       string
		minimal, withDocs, withCallbacks, withAll bool
	)
	c := &cobra.Command{
		Use:     "init [FLAGS] [OPTIONS] [PKG_NAME]",
		Aliases: []string{"i", "in", "ini"},
		Short:   "Generates common package specific configuration files. Executing without argument will create a `habitat` directory in your current folder for the plan. If `PKG_NAME` is specified it will create a folder with that name. Environment variables (those starting with 'pkg_') that are set will be used in the generated plan",
		Args:    cobra.MaximumNArgs(1),
	}
	c.Flags().StringVarP(&origin, "origin", "o", "", "Origin for the new app (default $HAB_ORIGIN, else the origin of cli.toml)")
	c.Flags().BoolVarP(&minimal, "min", "m", false, "Create a minimal plan file")
	c.Flags().StringVarP(&scaffolding, "scaffolding", "s", "", "Specify explicit Scaffolding for your app (ex: node, ruby)")
	c.Flags().BoolVar(&withDocs, "with-docs", false, "Include plan options documentation")
	c.Flags().BoolVar(&withCallbacks, "with-callbacks", false, "Include callback functions in template")
	c.Flags().BoolVar(&withAll, "with-all", false, "Generate omnibus plan with all available plan options")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if origin == "" {
			o, err := cliconfig.DefaultOrigin(a.getenv, a.root)
			if errors.Is(err, cliconfig.ErrNoOrigin) {
				return usageError("%v: pass --origin ORIGIN, set HAB_ORIGIN, or run hab setup", err)
			}
			if err != nil {
				return usageError("%v", err)
			}
			origin = o
		}
		if !ident.ValidOrigin(origin) {
			return usageError("invalid origin %q: origins are lowercase letters, digits, _ and -, starting with a letter or digit", origin)
		}
		var scaff string
		if scaffolding != "" {
			s, err := scaffold.Scaffolding(scaffolding)
			if err != nil {
				return usageError("%v", err)
			}
			scaff = s
		}
		var dir, name string
		if len(args) == 1 {
			dir, name = args[0], args[0]
		} else {
			wd, err := os.Getwd()
			if err != nil {
				return fmt.Errorf("plan init: %w", err)
			}
			dir, name = "habitat", filepath.Base(wd)
		}
		if !ident.ValidName(name) {
			return usageError("invalid package name %q: use only letters, digits, _ and -", name)
		}
		values := scaffold.ValuesFrom(a.getenv)
		fmt.Fprintln(a.stdout, "» Constructing a cozy habitat for your app...")
		res, err := scaffold.Init(scaffold.Options{
			Dir: dir, Name: name, Origin: origin, Scaffolding: scaff,
			Minimal: minimal, WithDocs: withDocs, WithCallbacks: withCallbacks, WithAll: withAll,
			Values: values,
		})
		if res != nil {
			for _, f := range res.Created {
				fmt.Fprintf(a.stdout, "Ω Creating %s\n", f)
			}
			for _, f := range res.Existing {
				fmt.Fprintf(a.stdout, "→ Using existing %s\n", f)
			}
			if res.Appended != "" {
				fmt.Fprintf(a.stdout, "→ Using existing %s (results/ appended)\n", res.Appended)
			}
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "★ An abode for your code is initialized in %s: edit %s, then check it with hab plan show %s\n", dir, filepath.Join(dir, "plan.sh"), dir)
		return nil
	}
	return c
}
