package main

import (
	"errors"
	"fmt"
	"os/exec"
	"time"

	"github.com/spf13/cobra"

	"github.com/habgo/hab/sup/ctl"
	"github.com/habgo/hab/sup/ctltls"
)

// supSecretCmd is hab sup secret generate: print a new control gateway
// secret (for CTL_SECRET or HAB_CTL_SECRET); and hab sup secret
// generate-tls: a self-signed certificate and key for the supervisor's
// TLS.
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
	}, a.supSecretTLSCmd())
	return secret
}

func (a *app) supSecretTLSCmd() *cobra.Command {
	var san string
	c := &cobra.Command{
		Use:   "generate-tls --subject-alternative-name <DNS_NAME> [path]",
		Short: "Generate a private key and certificate for the Supervisor's Control Gateway TLS connection",
		Long: "Writes a new self-signed certificate, for DNS_NAME and localhost, and its private key into path " +
			"(default: FS_ROOT/hab/cache/keys/ctl) as ctl-gateway-REVISION.crt.pem and ctl-gateway-REVISION.key.pem. " +
			"They are PEM files any TLS server reads: for example hab sup run --certs CRT --key KEY serves the HTTP " +
			"gateway over HTTPS with them, and clients trust the certificate itself.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if san == "" {
				return usageError("the required flag --subject-alternative-name <DNS_NAME> was not given")
			}
			dir := ctltls.Dir(a.root)
			if len(args) == 1 {
				dir = args[0]
			}
			f, err := ctltls.Generate(dir, san, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Generated the certificate %s\nGenerated the private key %s\n", f.Certificate, f.Key)
			return nil
		},
	}
	c.Flags().StringVar(&san, "subject-alternative-name", "", "The DNS name to use in the certificate's subject alternative name extension")
	return c
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
