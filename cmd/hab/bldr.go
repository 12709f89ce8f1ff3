package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/habgo/hab/core/cliconfig"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/depot/client"
	"github.com/habgo/hab/internal/progress"
)

// addDepotClientCommands adds the commands that talk to a depot (Builder's
// API): hab bldr channel, hab origin create|delete|info|transfer|depart,
// invitations, rbac, secret, key upload|download, hab pkg
// upload|download|promote|demote|channels|search|delete, and the
// top-level hab install.
func (a *app) addDepotClientCommands(root, pkg, origin *cobra.Command) {
	bldr := &cobra.Command{Use: "bldr", Short: "Commands relating to Habitat Builder (a depot)", Args: cobra.NoArgs, RunE: groupHelp}
	bldr.AddCommand(a.bldrChannelCmd())
	root.AddCommand(bldr)
	a.addOriginDepotCommands(origin)
	a.addPkgDepotCommands(pkg)
	// The original's hidden top-level shortcut for hab pkg install.
	install := a.storeInstallCmd()
	install.Hidden = true
	root.AddCommand(install)
}

// bldrSettings are the depot flags of a command: -u/--url, -z/--auth, and
// -c/--channel where it applies. Empty values fall back to the
// environment and cli.toml when the client is made.
type bldrSettings struct {
	url, auth, channel string
}

// bldrFlags adds -u and -z to c (falling back to HAB_BLDR_URL, the legacy
// HAB_DEPOT_URL and HAB_AUTH_TOKEN; then cli.toml when the client is
// made).
func (a *app) bldrFlags(c *cobra.Command) *bldrSettings {
	s := a.bldrURLFlag(c)
	c.Flags().StringVarP(&s.auth, "auth", "z", "", "Authentication token for Builder (else auth_token in cli.toml)")
	a.envFlag(c, "auth", cliconfig.AuthTokenEnv)
	return s
}

// bldrURLFlag adds -u alone (a command that never needs a token).
func (a *app) bldrURLFlag(c *cobra.Command) *bldrSettings {
	s := &bldrSettings{}
	c.Flags().StringVarP(&s.url, "url", "u", "", "Specify an alternate Builder endpoint (else bldr_url in cli.toml, else "+cliconfig.DefaultBldrURL+")")
	a.envFlag(c, "url", cliconfig.BldrURLEnv, cliconfig.DepotURLEnv)
	return s
}

// channelFlag adds -c/--channel to c; with fromEnv it falls back to
// HAB_BLDR_CHANNEL (install and download), else stable.
func (a *app) channelFlag(c *cobra.Command, s *bldrSettings, usage string, fromEnv bool) {
	c.Flags().StringVarP(&s.channel, "channel", "c", "", usage)
	if fromEnv {
		a.envFlag(c, "channel", cliconfig.BldrChannelEnv)
	}
}

// bldrChannel is the channel: the flag, else HAB_BLDR_CHANNEL, else stable.
func (a *app) bldrChannel(s *bldrSettings) string {
	if s.channel != "" {
		return s.channel
	}
	return cliconfig.BldrChannel(a.getenv)
}

// bldrClient makes the depot client from the flags, the environment and
// cli.toml. With needToken, having no token is an error said before any
// request.
func (a *app) bldrClient(s *bldrSettings, needToken bool) (*client.Client, error) {
	u := s.url
	if u == "" {
		var err error
		if u, err = cliconfig.BldrURL(a.getenv, a.root); err != nil {
			return nil, err
		}
	}
	tok := s.auth
	if tok == "" {
		var err error
		if tok, err = cliconfig.AuthToken(a.getenv, a.root); err != nil {
			return nil, err
		}
	}
	if needToken && tok == "" {
		return nil, client.ErrNoToken
	}
	target, err := ident.ActiveTarget(a.getenv)
	if err != nil {
		return nil, err
	}
	c, err := client.New(u,
		client.WithToken(tok),
		client.WithUserAgent(fmt.Sprintf("hab/%s (%s; linux)", version, target)),
		client.WithMeter(a.progressMeter))
	if err != nil {
		return nil, usageError("%v", err)
	}
	return c, nil
}

// depotSource is the depot as the installer's package source, resolving
// in the channel of the flags (else HAB_BLDR_CHANNEL, else stable).
func (a *app) depotSource(s *bldrSettings) (*client.Source, error) {
	c, err := a.bldrClient(s, false)
	if err != nil {
		return nil, err
	}
	return c.Source(a.bldrChannel(s), a.root.Artifacts(), a.storeUI().Warn), nil
}

// progressMeter draws a progress bar on stderr when it is a terminal, and
// nothing otherwise.
func (a *app) progressMeter(what string, size int64) client.Meter {
	return progress.New(a.stderr, a.stderrIsTerminal(), what, size)
}

// stderrIsTerminal reports whether stderr is a terminal.
func (a *app) stderrIsTerminal() bool {
	f, ok := a.stderr.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// bldrOrigin is the origin of -o/--origin, else HAB_ORIGIN, else cli.toml.
func (a *app) bldrOrigin(flag string) (string, error) {
	if flag != "" {
		if !ident.ValidOrigin(flag) {
			return "", usageError("invalid origin name %q", flag)
		}
		return flag, nil
	}
	return cliconfig.DefaultOrigin(a.getenv, a.root)
}

// originClient validates an ORIGIN argument and makes the client.
func (a *app) originClient(arg string, s *bldrSettings, needToken bool) (string, *client.Client, error) {
	o, err := originArg(arg)
	if err != nil {
		return "", nil, err
	}
	c, err := a.bldrClient(s, needToken)
	return o, c, err
}

// originFlagClient resolves the origin of -o/--origin (else HAB_ORIGIN,
// else cli.toml) and makes the client.
func (a *app) originFlagClient(flag string, s *bldrSettings, needToken bool) (string, *client.Client, error) {
	o, err := a.bldrOrigin(flag)
	if err != nil {
		return "", nil, err
	}
	c, err := a.bldrClient(s, needToken)
	return o, c, err
}

// say prints a progress line of the original's UI on stdout.
func (a *app) say(glyph, format string, args ...any) {
	fmt.Fprintf(a.stdout, glyph+" "+format+"\n", args...)
}

// sayer is a Say function for library progress lines.
func (a *app) sayer() func(string) {
	return func(s string) { fmt.Fprintln(a.stdout, "» "+s) }
}

func (a *app) bldrChannelCmd() *cobra.Command {
	ch := &cobra.Command{Use: "channel", Short: "Commands relating to Habitat Builder channels", Args: cobra.NoArgs, RunE: groupHelp}

	withOrigin := func(c *cobra.Command) (*bldrSettings, *string) {
		s := a.bldrFlags(c)
		o := new(string)
		c.Flags().StringVarP(o, "origin", "o", "", "Sets the origin to which the channel belongs (default $HAB_ORIGIN, else origin in cli.toml)")
		return s, o
	}

	create := &cobra.Command{Use: "create CHANNEL", Short: "Creates a new channel", Args: cobra.ExactArgs(1)}
	cs, co := withOrigin(create)
	create.RunE = func(cmd *cobra.Command, args []string) error {
		origin, c, err := a.originFlagClient(*co, cs, true)
		if err != nil {
			return err
		}
		a.say("»", "Creating channel %s.", args[0])
		created, err := c.CreateChannel(cmd.Context(), origin, args[0])
		if err != nil {
			return err
		}
		if !created {
			return fmt.Errorf("create channel %s in origin %s: it already exists", args[0], origin)
		}
		a.say("✓", "Created channel %s.", args[0])
		return nil
	}

	destroy := &cobra.Command{Use: "destroy CHANNEL", Short: "Destroys a channel", Args: cobra.ExactArgs(1)}
	ds, do := withOrigin(destroy)
	destroy.RunE = func(cmd *cobra.Command, args []string) error {
		origin, c, err := a.originFlagClient(*do, ds, true)
		if err != nil {
			return err
		}
		a.say("»", "Destroying channel %s.", args[0])
		if err := c.DeleteChannel(cmd.Context(), origin, args[0]); err != nil {
			return err
		}
		a.say("✓", "Destroyed channel %s.", args[0])
		return nil
	}

	var sandbox, listJSON bool
	list := &cobra.Command{Use: "list [ORIGIN]", Short: "Lists origin channels", Args: cobra.MaximumNArgs(1)}
	ls := a.bldrURLFlag(list)
	list.Flags().BoolVarP(&sandbox, "sandbox", "s", false, "Include sandbox channels for the origin")
	list.Flags().BoolVarP(&listJSON, "json", "j", false, "Output as JSON")
	list.RunE = func(cmd *cobra.Command, args []string) error {
		var flag string
		if len(args) == 1 {
			flag = args[0]
		}
		origin, c, err := a.originFlagClient(flag, ls, false)
		if err != nil {
			return err
		}
		names, err := c.Channels(cmd.Context(), origin, sandbox)
		if err != nil {
			return err
		}
		if listJSON {
			return keysWriteJSON(a.stdout, names)
		}
		fmt.Fprintf(a.stdout, "Channels for %s:\n", origin)
		for _, n := range names {
			fmt.Fprintln(a.stdout, n)
		}
		return nil
	}

	between := func(use, short string, fn func(c *client.Client, cmd *cobra.Command, origin, src, dst string) error) *cobra.Command {
		c := &cobra.Command{Use: use + " SOURCE_CHANNEL TARGET_CHANNEL", Short: short, Args: cobra.ExactArgs(2)}
		s, o := withOrigin(c)
		c.RunE = func(cmd *cobra.Command, args []string) error {
			origin, cl, err := a.originFlagClient(*o, s, true)
			if err != nil {
				return err
			}
			verb := strings.ToUpper(use[:1]) + use[1:]
			a.say("»", "%sing packages of channel %s to %s in origin %s.", strings.TrimSuffix(verb, "e"), args[0], args[1], origin)
			if err := fn(cl, cmd, origin, args[0], args[1]); err != nil {
				return err
			}
			a.say("✓", "%sd packages of channel %s to %s.", verb, args[0], args[1])
			return nil
		}
		return c
	}
	promote := between("promote", "Atomically promotes all packages in channel", func(c *client.Client, cmd *cobra.Command, origin, src, dst string) error {
		return c.PromoteChannel(cmd.Context(), origin, src, dst)
	})
	demote := between("demote", "Atomically demotes selected packages in a target channel", func(c *client.Client, cmd *cobra.Command, origin, src, dst string) error {
		return c.DemoteChannel(cmd.Context(), origin, src, dst)
	})
	ch.AddCommand(create, destroy, list, promote, demote)
	return ch
}
