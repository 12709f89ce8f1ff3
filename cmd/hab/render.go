package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/habgo/hab/core/templating"
)

// addRenderCommand adds `hab plan render`.
func (a *app) addRenderCommand(plan *cobra.Command) {
	var (
		defaultTOML, userTOML, mockData, renderDir string
		printOut, noRender, quiet                  bool
	)
	cmd := &cobra.Command{
		Use:   "render [flags] TEMPLATE_PATH",
		Short: "Renders plan config files",
		Long: "Renders a config template or hook with the cfg of default.toml (and user.toml), " +
			"and mock data for sys, pkg, svc and bind, the way the supervisor will.",
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 1 {
				_ = c.Help()
				return usageError("%s needs exactly one TEMPLATE_PATH", c.CommandPath())
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			tpl := args[0]
			if st, err := os.Stat(tpl); err != nil || !st.Mode().IsRegular() {
				return usageError("invalid value '%s' for 'TEMPLATE_PATH': file '%s' cannot be found", tpl, tpl)
			}
			fileName := filepath.Base(tpl)
			say := func(format string, args ...any) {
				if !quiet {
					fmt.Fprintf(a.stdout, format, args...)
				}
			}
			say("» Rendering: %s into: %s as: %s\n\n", tpl, renderDir, fileName)
			say("» Importing default.toml: %s\n", defaultTOML)
			if userTOML != "" {
				say("» Importing user.toml: %s\n", userTOML)
			}
			if mockData != "" {
				say("» Importing override file: %s\n", mockData)
			}
			out, err := templating.PlanRender{
				TemplatePath: tpl,
				DefaultTOML:  defaultTOML,
				UserTOML:     userTOML,
				MockData:     mockData,
				PkgsPath:     a.root.Pkgs(),
			}.Render()
			if err != nil {
				return err
			}
			if printOut {
				say("\n")
				if !quiet {
					fmt.Fprintf(a.stderr, "∅ ###======== Rendered template: %s\n", tpl)
				}
				fmt.Fprintln(a.stdout, out)
				if !quiet {
					fmt.Fprintf(a.stderr, "∅ ========### End rendered template: %s\n", tpl)
				}
			}
			if !noRender {
				say("Ω Creating file: %s\n", filepath.Join(renderDir, fileName))
				if _, err := templating.WriteRendered(renderDir, fileName, out); err != nil {
					return err
				}
			}
			say("\n")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&defaultTOML, "default-toml", "d", "./default.toml", "Path to default.toml")
	f.StringVarP(&userTOML, "user-toml", "u", "", "Path to user.toml, defaults to none")
	f.StringVarP(&mockData, "mock-data", "m", "", "Path to json file with mock data for template, defaults to none")
	f.BoolVarP(&printOut, "print", "p", false, "Prints config to STDOUT")
	f.StringVarP(&renderDir, "render-dir", "r", "./results", "Path to render templates")
	f.BoolVarP(&noRender, "no-render", "n", false, "Don't write anything to disk, ignores --render-dir")
	f.BoolVarP(&quiet, "quiet", "q", false, "Don't print any helper messages.  When used with --print will only print config file")
	f.BoolVar(&quiet, "no-verbose", false, "Same as --quiet")
	_ = f.MarkHidden("no-verbose")
	plan.AddCommand(cmd)
}
