package main

import (
	"errors"
	"fmt"
	"os/exec"

	"github.com/spf13/cobra"

	"github.com/habgo/hab/sup/ctl"
)

// supSecretCmd is hab sup secret generate: print a new control gateway
// secret (for CTL_SECRET or HAB_CTL_SECRET).
func (a *app) supSecretCmd() *cobra.Command {
	secret := &cobra.Command{Use: "secret", Short: "Commands relating to a Habitat Supervisor's Control Gateway secret", Args: cobra.NoArgs, RunE: groupHelp}
	secret.AddCommand(&cobra.Command{
		Use:   "generate",
		Short: "Generate a secret key to use as a Supervisor's Control Gateway secret",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			s, err := ctl.NewSecret()
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, s)
			return nil
		},
	})
	return secret
}

// supShellCmd is hab sup sh and hab sup bash: a shell (from the PATH)
// with the arguments given, for looking around a Supervisor's machine or
// container; its exit code is hab's.
func (a *app) supShellCmd(shell, short string) *cobra.Command {
	return &cobra.Command{
		Use:                shell + " [ARGS]...",
		Short:              short,
		DisableFlagParsing: true,
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
				return c.Help()
			}
			path, err := exec.LookPath(shell)
			if err != nil {
				return fmt.Errorf("hab sup %s: %w", shell, err)
			}
			cmd := exec.CommandContext(c.Context(), path, args...)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = a.stdin, a.stdout, a.stderr
			err = cmd.Run()
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				return &exitCodeError{code: ee.ExitCode(), err: fmt.Errorf("%s exited %d", shell, ee.ExitCode())}
			}
			return err
		},
	}
}
