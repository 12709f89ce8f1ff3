package main

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/habgo/hab/core/cliconfig"
	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/ident"
)

// setupOptions are the answers `hab setup` takes from flags.
type setupOptions struct {
	url, origin, authToken, ctlSecret, refreshChannel string
	generateKey, nonInteractive                       bool
}

// setupCmd is `hab setup` (the original's `hab cli setup`, of which `hab
// setup` is an alias).
func (a *app) setupCmd() *cobra.Command {
	var o setupOptions
	c := &cobra.Command{
		Use:     "setup",
		Aliases: []string{"set", "setu"},
		Short:   "Sets up the CLI with reasonable defaults",
		Long: `Sets up the CLI: writes the default Builder URL, origin, Builder token,
Supervisor control gateway secret and refresh channel to cli.toml
(~/.hab/etc/cli.toml, or /hab/etc/cli.toml as root), and generates a
signing key pair for the default origin if asked.

When standard input is a terminal, setup asks a question for every value
no flag gives. When it is not (or with --non-interactive, or
HAB_NONINTERACTIVE=true), only the flags are applied and the other values
in cli.toml are left as they are. An empty flag value (--url '') removes
that value from cli.toml.`,
		Example: `  hab setup
  hab setup --origin acme --generate-origin-key --url https://bldr.example.com --auth-token "$TOKEN"
  hab setup --non-interactive --refresh-channel stable`,
		Args: cobra.NoArgs,
	}
	cache := a.keyCacheFlag(c)
	f := c.Flags()
	f.StringVar(&o.url, "url", "", "Builder URL to use by default (bldr_url)")
	f.StringVar(&o.origin, "origin", "", "Default origin (origin)")
	f.BoolVar(&o.generateKey, "generate-origin-key", false, "Generate a signing key pair for the default origin if the key cache has none")
	f.StringVar(&o.authToken, "auth-token", "", "Builder personal access token (auth_token)")
	f.StringVar(&o.ctlSecret, "ctl-secret", "", "Supervisor control gateway secret for remote Supervisors (ctl_secret)")
	f.StringVar(&o.refreshChannel, "refresh-channel", "", "Channel core packages are refreshed from during builds (refresh_channel)")
	f.BoolVar(&o.nonInteractive, "non-interactive", false, "Never ask: apply the flags only")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		s := &setupRun{a: a, opts: o, flags: cmd, cache: cache(), path: cliconfig.Path(a.root)}
		return s.run()
	}
	return c
}

// setupRun is one run of hab setup.
type setupRun struct {
	a     *app
	opts  setupOptions
	flags *cobra.Command
	cache crypto.Cache
	path  string
	cfg   *cliconfig.Config
	tty   int // file descriptor of the terminal on stdin, or -1
	quit  bool
}

func (s *setupRun) given(flag string) bool { return s.flags.Flags().Changed(flag) }

// setupStdinTerminal returns the descriptor of stdin when it is a terminal.
func (a *app) setupStdinTerminal() (int, bool) {
	f, ok := a.stdin.(interface{ Fd() uintptr })
	if !ok {
		return -1, false
	}
	fd := int(f.Fd())
	return fd, term.IsTerminal(fd)
}

func (s *setupRun) run() error {
	a := s.a
	// Check every flag before touching anything.
	if s.given("url") && s.opts.url != "" {
		if err := setupValidURL(s.opts.url); err != nil {
			return usageError("--url: %v", err)
		}
	}
	if s.given("origin") && s.opts.origin != "" && !ident.ValidOrigin(s.opts.origin) {
		return usageError("--origin: %q is not a valid origin name (lowercase letters, digits, _ and -, starting with a letter or digit, at most 255 characters)", s.opts.origin)
	}
	cfg, err := cliconfig.Load(s.path)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	s.cfg = cfg
	if s.opts.generateKey && !s.given("origin") && cfg.Origin == "" {
		// Interactive mode may still ask for the origin; checked below.
		if !s.interactiveWanted() {
			return usageError("--generate-origin-key needs an origin: pass --origin or set one first")
		}
	}

	s.tty = -1
	if s.interactiveWanted() && !s.allAnswered() {
		fd, _ := a.setupStdinTerminal()
		s.tty = fd
	}
	if s.tty >= 0 {
		return s.interactive()
	}
	return s.nonInteractive()
}

// interactiveWanted reports whether prompts may be shown: stdin is a
// terminal and nothing asked for silence.
func (s *setupRun) interactiveWanted() bool {
	if s.opts.nonInteractive {
		return false
	}
	switch strings.ToLower(s.a.getenv("HAB_NONINTERACTIVE")) {
	case "1", "true", "yes":
		return false
	}
	_, isTTY := s.a.setupStdinTerminal()
	return isTTY
}

// allAnswered reports whether the flags answer every question, so that
// setup needs to ask nothing even on a terminal.
func (s *setupRun) allAnswered() bool {
	for _, f := range []string{"url", "origin", "auth-token", "ctl-secret", "refresh-channel"} {
		if !s.given(f) {
			return false
		}
	}
	if s.given("generate-origin-key") || s.opts.origin == "" {
		return true
	}
	return s.hasOriginKey(s.opts.origin)
}

func (s *setupRun) hasOriginKey(origin string) bool {
	_, err := s.cache.LatestSigningSecretKey(origin)
	return err == nil
}

func (s *setupRun) nonInteractive() error {
	a := s.a
	changed := false
	set := func(flag string, field *string, value string) {
		if s.given(flag) {
			*field = value
			changed = true
		}
	}
	set("url", &s.cfg.BldrURL, s.opts.url)
	set("origin", &s.cfg.Origin, s.opts.origin)
	set("auth-token", &s.cfg.AuthToken, s.opts.authToken)
	set("ctl-secret", &s.cfg.CtlSecret, s.opts.ctlSecret)
	set("refresh-channel", &s.cfg.RefreshChannel, s.opts.refreshChannel)
	if s.opts.generateKey {
		if s.cfg.Origin == "" {
			return usageError("--generate-origin-key needs an origin: pass --origin or set one first")
		}
		if err := s.ensureOriginKey(s.cfg.Origin); err != nil {
			return err
		}
	}
	if !changed {
		if !s.opts.generateKey {
			fmt.Fprintf(a.stdout, "Nothing to set up: standard input is not a terminal and no flag gave a value; %s is unchanged. See 'hab setup --help'.\n", s.path)
		}
		return nil
	}
	if err := s.cfg.Save(s.path); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	keyMsgEnd(a.stdout, "Wrote CLI configuration to %s", s.path)
	return nil
}

// ensureOriginKey generates the origin's signing pair unless the cache
// already has a secret key for it.
func (s *setupRun) ensureOriginKey(origin string) error {
	if s.hasOriginKey(origin) {
		fmt.Fprintf(s.a.stdout, "You already have an origin key for %s in %s.\n", origin, s.cache.Dir)
		return nil
	}
	keyMsgBegin(s.a.stdout, "Generating origin key for %s", origin)
	pub, _, err := s.cache.NewSigningPair(origin, time.Now())
	if err != nil {
		return fmt.Errorf("setup: generate origin key for %s: %w", origin, err)
	}
	keyMsgEnd(s.a.stdout, "Generated origin key pair %s.", pub.NamedRevision)
	return nil
}

// errSetupQuit stops the questions when the user answers "quit".
var errSetupQuit = errors.New("quit")

func (s *setupRun) interactive() error {
	err := s.ask()
	if err != nil && !errors.Is(err, errSetupQuit) {
		return err
	}
	if saveErr := s.cfg.Save(s.path); saveErr != nil {
		return fmt.Errorf("setup: %w", saveErr)
	}
	w := s.a.stdout
	if errors.Is(err, errSetupQuit) {
		fmt.Fprintf(w, "\nSetup stopped; the answers given so far are saved in %s.\n", s.path)
		return nil
	}
	s.heading("CLI Setup Complete")
	s.para(fmt.Sprintf("Your answers are saved in %s. Run hab setup again at any time to change them.", s.path))
	return nil
}

func (s *setupRun) ask() error {
	a, cfg := s.a, s.cfg
	fmt.Fprintln(a.stdout)
	title := "Habitat CLI Setup"
	fmt.Fprintf(a.stdout, "%s\n%s\n\n", title, strings.Repeat("=", len(title)))
	s.para("This sets the defaults the hab command uses. Every answer can be changed later, and environment variables override them.")

	// Builder.
	if s.given("url") {
		cfg.BldrURL = s.opts.url
	} else {
		s.heading("Habitat Builder Instance")
		s.para("Packages are shared through the depot at " + cliconfig.DefaultBldrURL + " (hab depot serve) unless you name another depot or Builder here. HAB_BLDR_URL or --url override this default.")
		yes, err := s.yesNo("Connect to an on-premises Builder instance?", false)
		if err != nil {
			return err
		}
		if yes {
			def := cfg.BldrURL
			if def == "" {
				def = a.getenv(cliconfig.BldrURLEnv)
			}
			for {
				u, err := s.askValue("Private builder url", def)
				if err != nil {
					return err
				}
				if err := setupValidURL(u); err != nil {
					fmt.Fprintf(a.stdout, "✗ %v; please give a valid URL such as https://bldr.example.com\n", err)
					continue
				}
				cfg.BldrURL = u
				break
			}
		}
	}

	// Origin and its key.
	origin := ""
	if s.given("origin") {
		cfg.Origin = s.opts.origin
		origin = s.opts.origin
	} else {
		s.heading("Set up a default origin")
		s.para("Every package belongs to an origin, and packages are signed with the origin's key. A default origin spares you naming it to every build.")
		yes, err := s.yesNo("Set up a default origin?", true)
		if err != nil {
			return err
		}
		if yes {
			def := cfg.Origin
			if def == "" {
				def = a.getenv(cliconfig.OriginEnv)
			}
			if def == "" {
				def = a.getenv("USER")
			}
			if def != "" && !ident.ValidOrigin(def) {
				def = ""
			}
			s.para("Origin names are lowercase letters, digits, _ and -, starting with a letter or digit, at most 255 characters.")
			for {
				o, err := s.askValue("Default origin name", def)
				if err != nil {
					return err
				}
				if !ident.ValidOrigin(o) {
					fmt.Fprintf(a.stdout, "✗ %q is not a valid origin name\n", o)
					continue
				}
				cfg.Origin, origin = o, o
				break
			}
		}
	}
	if origin != "" {
		switch {
		case s.given("generate-origin-key"):
			if s.opts.generateKey {
				if err := s.ensureOriginKey(origin); err != nil {
					return err
				}
			}
		case s.hasOriginKey(origin):
			fmt.Fprintf(a.stdout, "You already have an origin key for %s.\n\n", origin)
		default:
			s.heading("Create origin key pair")
			s.para(fmt.Sprintf("There is no signing key for the origin %s in %s yet; building packages for it needs one. Create one now, or import the origin's key from its owner later (hab origin key import).", origin, s.cache.Dir))
			yes, err := s.yesNo(fmt.Sprintf("Create an origin key for `%s'?", origin), true)
			if err != nil {
				return err
			}
			if yes {
				if err := s.ensureOriginKey(origin); err != nil {
					return err
				}
				fmt.Fprintln(a.stdout)
			}
		}
	}

	// Secrets and channel.
	type question struct {
		flag, heading, para, ask, prompt, env string
		field                                 *string
		secret                                bool
	}
	for _, q := range []question{
		{"auth-token", "Habitat Personal Access Token", "Uploading packages and other Builder operations need a personal access token, which your Builder profile page generates.", "Set up a default Builder personal access token?", "Habitat personal access token", cliconfig.AuthTokenEnv, &cfg.AuthToken, true},
		{"ctl-secret", "Supervisor Control Gateway Secret", "A local Supervisor's secret is read from its CTL_SECRET file; a default secret is only needed to send commands to a remote Supervisor.", "Set up a default Habitat Supervisor control gateway secret?", "Habitat Supervisor control gateway secret", cliconfig.CtlSecretEnv, &cfg.CtlSecret, true},
		{"refresh-channel", "Habitat Refresh Channel", "Builds take core packages from the refresh channel, such as stable or base.", "Set up a default Habitat refresh channel?", "Habitat refresh channel", cliconfig.RefreshChannelEnv, &cfg.RefreshChannel, false},
	} {
		if s.given(q.flag) {
			v, _ := s.flags.Flags().GetString(q.flag)
			*q.field = v
			continue
		}
		s.heading(q.heading)
		s.para(q.para + " The " + q.env + " environment variable overrides this default.")
		yes, err := s.yesNo(q.ask, false)
		if err != nil {
			return err
		}
		if !yes {
			continue
		}
		var v string
		if q.secret {
			v, err = s.askSecret(q.prompt, *q.field != "")
			if err == nil && v == "" {
				v = *q.field
			}
		} else {
			def := *q.field
			if def == "" {
				def = a.getenv(q.env)
			}
			v, err = s.askValue(q.prompt, def)
		}
		if err != nil {
			return err
		}
		*q.field = v
	}
	return nil
}

func (s *setupRun) heading(h string) { fmt.Fprintf(s.a.stdout, "\n%s\n\n", h) }

func (s *setupRun) para(text string) {
	// Wrap at 75 columns, indented by two, as the original's paragraphs.
	var line strings.Builder
	w := s.a.stdout
	for _, word := range strings.Fields(text) {
		if line.Len() > 0 && line.Len()+1+len(word) > 73 {
			fmt.Fprintf(w, "  %s\n", line.String())
			line.Reset()
		}
		if line.Len() > 0 {
			line.WriteByte(' ')
		}
		line.WriteString(word)
	}
	if line.Len() > 0 {
		fmt.Fprintf(w, "  %s\n", line.String())
	}
	fmt.Fprintln(w)
}

// readLine reads one line from stdin, a byte at a time so that nothing is
// read ahead of the answer (a later secret is read with echo off).
func (s *setupRun) readLine(question string) (string, error) {
	var b strings.Builder
	buf := make([]byte, 1)
	for {
		n, err := s.a.stdin.Read(buf)
		if n == 1 {
			if buf[0] == '\n' {
				return strings.TrimSpace(b.String()), nil
			}
			b.WriteByte(buf[0])
		}
		if err == io.EOF {
			if b.Len() > 0 {
				return strings.TrimSpace(b.String()), nil
			}
			return "", fmt.Errorf("setup: standard input closed before %q was answered", question)
		}
		if err != nil {
			return "", fmt.Errorf("setup: read answer to %q: %w", question, err)
		}
	}
}

// yesNo asks a question answered yes, no or quit; an empty answer takes
// the default.
func (s *setupRun) yesNo(question string, def bool) (bool, error) {
	choices := "[yes/No/quit]"
	if def {
		choices = "[Yes/no/quit]"
	}
	for {
		fmt.Fprintf(s.a.stdout, "%s %s ", question, choices)
		ans, err := s.readLine(question)
		if err != nil {
			return false, err
		}
		switch strings.ToLower(ans) {
		case "":
			return def, nil
		case "y", "yes":
			return true, nil
		case "n", "no":
			return false, nil
		case "q", "quit":
			return false, errSetupQuit
		}
	}
}

// askValue asks for a value; an empty answer takes the default, and with
// no default the question is asked again.
func (s *setupRun) askValue(question, def string) (string, error) {
	for {
		if def != "" {
			fmt.Fprintf(s.a.stdout, "%s: [default: %s] ", question, def)
		} else {
			fmt.Fprintf(s.a.stdout, "%s: ", question)
		}
		ans, err := s.readLine(question)
		if err != nil {
			return "", err
		}
		if ans != "" {
			return ans, nil
		}
		if def != "" {
			return def, nil
		}
	}
}

// askSecret reads a secret with echo off. An empty answer keeps the
// current value when there is one (the caller's choice) and asks again
// otherwise.
func (s *setupRun) askSecret(question string, hasCurrent bool) (string, error) {
	for {
		if hasCurrent {
			fmt.Fprintf(s.a.stdout, "%s: [default: keep the current one] ", question)
		} else {
			fmt.Fprintf(s.a.stdout, "%s: ", question)
		}
		b, err := term.ReadPassword(s.tty)
		fmt.Fprintln(s.a.stdout)
		if err != nil {
			return "", fmt.Errorf("setup: read answer to %q: %w", question, err)
		}
		v := strings.TrimSpace(string(b))
		if v != "" || hasCurrent {
			return v, nil
		}
	}
}

// setupValidURL accepts absolute http and https URLs with a host.
func setupValidURL(u string) error {
	p, err := url.Parse(u)
	if err != nil {
		return fmt.Errorf("URL %q is not valid: %v", u, err)
	}
	if (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return fmt.Errorf("URL %q is not valid: expected http:// or https:// and a host", u)
	}
	return nil
}
