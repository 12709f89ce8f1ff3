package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/pelletier/go-toml/v2"
	"github.com/spf13/cobra"

	"github.com/habgo/hab/core/cliconfig"
	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/pkgs"
	"github.com/habgo/hab/sup/ctl"
	"github.com/habgo/hab/sup/manager"
	"github.com/habgo/hab/sup/spec"
)

// Exit codes of hab sup status.
const (
	exitNotLoaded    = 2
	exitNoSupervisor = 3
)

// addSupCommands adds hab sup, hab svc load|unload|start|stop|status|update,
// hab start, hab config apply|show, hab file upload and hab supportbundle.
func (a *app) addSupCommands(root, svc *cobra.Command) {
	sup := &cobra.Command{Use: "sup", Short: "Commands relating to the Habitat Supervisor", Args: cobra.NoArgs}
	// hab sup --version (-V): the original asks hab-sup, which answers
	// hab-sup VERSION; the supervisor here is this binary.
	supVersion := sup.Flags().BoolP("version", "V", false, "Print the Supervisor's version")
	sup.RunE = func(c *cobra.Command, args []string) error {
		if *supVersion {
			fmt.Fprintf(a.stdout, "hab-sup %s\n", version)
			return nil
		}
		return groupHelp(c, args)
	}
	sup.AddCommand(a.supRunCmd("run [PKG_IDENT_OR_ARTIFACT]", "Run the Habitat Supervisor"), a.supTermCmd(), a.supRestartCmd(), a.supDepartCmd(), a.svcStatusCmd("status [PKG_IDENT]", true),
		a.startCmd("Start a service (as hab start, the older CLI's spelling used in a studio): load it into the running Supervisor, or run a Supervisor with it"),
		a.supSecretCmd(), a.supShellCmd("sh", "Start an interactive Bourne-like shell"), a.supShellCmd("bash", "Start an interactive Bash-like shell"))
	root.AddCommand(sup, a.supportBundleCmd())
	svc.AddCommand(a.svcLoadCmd(),
		a.svcIdentCmd("unload", "Unload a service loaded by the Habitat Supervisor", manager.CmdUnload, true),
		a.svcIdentCmd("start", "Start a loaded, but stopped, Habitat service", manager.CmdStart, false),
		a.svcIdentCmd("stop", "Stop a running Habitat service", manager.CmdStop, true),
		a.svcStatusCmd("status [PKG_IDENT]", false),
		a.svcUpdateCmd())
	root.AddCommand(a.startCmd("Start a service: load it into the running Supervisor, or run a Supervisor with it"))
	config := &cobra.Command{Use: "config", Short: "Commands relating to a service's runtime config", Args: cobra.NoArgs, RunE: groupHelp}
	config.AddCommand(a.configApplyCmd(), a.configShowCmd())
	root.AddCommand(config)
	file := &cobra.Command{Use: "file", Short: "Commands relating to Habitat files", Args: cobra.NoArgs, RunE: groupHelp}
	file.AddCommand(a.fileUploadCmd())
	root.AddCommand(file)
}

// loadFlags are the load options shared by hab svc load, hab sup run and
// hab start.
type loadFlags struct {
	group, topology, strategy, condition, channel, url, bindingMode, configFrom string
	binds                                                                       []string
	healthInterval                                                              uint64
	shutdownTimeout                                                             uint32
	force                                                                       bool
}

func (a *app) addLoadFlags(c *cobra.Command, f *loadFlags) {
	fl := c.Flags()
	fl.StringVar(&f.group, "group", spec.DefaultGroup, "The service group with shared config and topology")
	fl.StringVarP(&f.topology, "topology", "t", spec.DefaultTopology, "Service topology: standalone or leader")
	fl.StringVarP(&f.strategy, "strategy", "s", spec.DefaultStrategy, "The update strategy: none, at-once or rolling")
	fl.StringVar(&f.condition, "update-condition", spec.DefaultUpdateCondition, "The condition dictating when this service should update: latest or track-channel")
	// HAB_BLDR_CHANNEL counts here as the seed documentation says
	// (the newest original ignores it); HAB_BLDR_URL, then the legacy
	// HAB_DEPOT_URL, as the original's.
	fl.StringVar(&f.channel, "channel", spec.DefaultChannel, "Receive updates from the specified release channel")
	fl.StringVarP(&f.url, "url", "u", spec.DefaultURL, "Specify an alternate Builder endpoint")
	a.envFlag(c, "channel", cliconfig.BldrChannelEnv)
	a.envFlag(c, "url", cliconfig.BldrURLEnv, cliconfig.DepotURLEnv)
	fl.StringArrayVar(&f.binds, "bind", nil, "One or more service groups to bind to a configuration (NAME:SERVICE.GROUP[@ORG]; repeat the flag, or separate them by spaces)")
	wordsFlag(c, "bind", 0)
	fl.StringVar(&f.bindingMode, "binding-mode", spec.DefaultBindingMode, "Governs how the presence or absence of binds affects service startup: strict or relaxed")
	fl.Uint64Var(&f.healthInterval, "health-check-interval", spec.DefaultHealthCheckInterval, "The interval in seconds on which to run health checks")
	fl.Uint32Var(&f.shutdownTimeout, "shutdown-timeout", 0, "The number of seconds after sending a shutdown signal to wait before killing a service process")
	fl.StringVar(&f.configFrom, "config-from", "", "Use the package config from this path rather than the package itself (development only)")
	passwordFlag(c)
}

// passwordFlag adds --password, which the original has on Windows only
// (the service user's password, encrypted with DPAPI). On Linux a
// service runs as its package's pkg_svc_user without one, and the
// original has no such flag: giving it is a usage error (exit 2), as
// there.
func passwordFlag(c *cobra.Command) {
	c.Flags().String("password", "", "Password of the service user (Windows only: refused here, where services run as their pkg_svc_user)")
	prev := c.PreRunE
	c.PreRunE = func(cmd *cobra.Command, args []string) error {
		if cmd.Flags().Changed("password") {
			return usageError("--password is only for Windows services (the service user's password, encrypted with DPAPI); on Linux a service runs as its package's pkg_svc_user and takes no password")
		}
		if prev != nil {
			return prev(cmd, args)
		}
		return nil
	}
}

func (f *loadFlags) spec(c *cobra.Command, id string) (spec.Spec, error) {
	sp := spec.New(id)
	sp.Group, sp.Topology, sp.UpdateStrategy, sp.UpdateCondition = f.group, f.topology, f.strategy, f.condition
	sp.Channel, sp.BldrURL, sp.BindingMode, sp.ConfigFrom = f.channel, f.url, f.bindingMode, f.configFrom
	// Each --bind may hold several binds separated by spaces, as the
	// original's (--bind "a:x.default b:y.default").
	sp.Binds = []string{}
	for _, b := range f.binds {
		sp.Binds = append(sp.Binds, strings.Fields(b)...)
	}
	sp.HealthCheckInterval = spec.Duration{Secs: f.healthInterval}
	if c.Flags().Changed("shutdown-timeout") {
		t := f.shutdownTimeout
		sp.ShutdownTimeout = &t
	}
	if err := sp.Validate(); err != nil {
		return spec.Spec{}, usageError("%v", err)
	}
	if sp.ConfigFrom != "" {
		fmt.Fprintf(c.ErrOrStderr(), "WARNING: --config-from %s: config and hooks are read from there instead of the package; this is for development only\n", sp.ConfigFrom)
	}
	return sp, nil
}

// remoteFlag adds -r/--remote-sup and returns the client it names.
func (a *app) remoteFlag(c *cobra.Command) func() (ctl.Client, error) {
	var remote string
	c.Flags().StringVarP(&remote, "remote-sup", "r", "", "Address of the Supervisor's control gateway [default: listen_ctl in cli.toml, else 127.0.0.1:9632]")
	return func() (ctl.Client, error) { return a.ctlClient(remote) }
}

// ctlClient is the client of the control gateway at remote (host or
// host:port, port 9632 by default); an empty remote is HAB_LISTEN_CTL,
// then listen_ctl in cli.toml, then 127.0.0.1:9632. The secret is
// HAB_CTL_SECRET, then ctl_secret in cli.toml, then the local
// supervisor's CTL_SECRET, as the original resolves them.
func (a *app) ctlClient(remote string) (ctl.Client, error) {
	cfg, err := cliconfig.Load(cliconfig.Path(a.root))
	if err != nil {
		return ctl.Client{}, err
	}
	addr := remote
	if addr == "" {
		addr = a.getenv("HAB_LISTEN_CTL")
	}
	if addr == "" {
		addr = cfg.ListenCtl
	}
	if addr == "" {
		addr = "127.0.0.1:9632"
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(addr, "9632")
	}
	secret := cfg.CtlSecretOr(a.getenv)
	if secret == "" {
		s, err := ctl.ReadSecret(ctl.SecretFile(manager.SupRoot(a.root)))
		if err != nil {
			return ctl.Client{}, fmt.Errorf("no control secret: set HAB_CTL_SECRET or ctl_secret in %s, or run a supervisor here first: %w", cliconfig.Path(a.root), err)
		}
		secret = s
	}
	ctlTLS, err := ctlClientTLS(cfg, addr)
	if err != nil {
		return ctl.Client{}, err
	}
	return ctl.Client{Addr: addr, Secret: secret, TLS: ctlTLS}, nil
}

// ctlDo sends one request and prints its output.
func (a *app) ctlDo(ctx context.Context, cl ctl.Client, cmd string, args any) error {
	return cl.Do(ctx, cmd, args, func(l string) { fmt.Fprintln(a.stdout, l) })
}

func (a *app) supRestartCmd() *cobra.Command {
	var client func() (ctl.Client, error)
	c := &cobra.Command{
		Use:   "restart",
		Short: "Restart the Supervisor process but keep its services running (it executes its own binary again and takes them over)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if c.Flags().Changed("remote-sup") {
				cl, err := client()
				if err != nil {
					return err
				}
				return a.ctlDo(c.Context(), cl, manager.CmdSupRestart, nil)
			}
			pid, found, err := manager.Signal(a.root, syscall.SIGHUP)
			if err != nil {
				return err
			}
			if !found {
				return &exitCodeError{code: exitError, err: fmt.Errorf("no supervisor is running (no %s)", manager.LockFile(a.root))}
			}
			fmt.Fprintf(a.stdout, "Restarting the Supervisor (PID %d)\n", pid)
			return nil
		},
	}
	client = a.remoteFlag(c)
	c.Flags().Lookup("remote-sup").Usage = "Address of the Supervisor's control gateway: restart it through the gateway rather than by signal"
	return c
}

// supInstall installs a hart, or an ident from the artifact cache.
func (a *app) supInstall(ctx context.Context, store *pkgs.Store, keys crypto.Cache, what string) (*pkgs.Package, error) {
	xz, err := a.xzChoice()
	if err != nil {
		return nil, err
	}
	in := &pkgs.Installer{Store: store, Keys: keys, ArtifactCache: a.root.Artifacts(), Reporter: a.storeUI(), XZ: xz,
		Hooks: pkgs.ExecHooks{Env: os.Environ(), Stdout: a.stdout, Stderr: a.stderr}}
	results, err := in.InstallAll(ctx, []string{what})
	if err != nil {
		return nil, err
	}
	if len(results) == 0 {
		return nil, fmt.Errorf("install %s: nothing installed", what)
	}
	return results[0].Package, nil
}

// supTermCmd is hab sup term. The original hands its arguments to
// hab-sup term unparsed, which takes none: so does this, with -h/--help
// printing the help and anything else a usage error (exit 2).
func (a *app) supTermCmd() *cobra.Command {
	return &cobra.Command{
		Use:                "term [ARGS]...",
		Short:              "Gracefully terminate the Habitat Supervisor and all of its running services",
		DisableFlagParsing: true,
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				if args[0] == "--help" || args[0] == "-h" {
					return c.Help()
				}
				return usageError("hab sup term takes no arguments, got %q", strings.Join(args, " "))
			}
			pid, found, err := manager.Signal(a.root, syscall.SIGTERM)
			if err != nil {
				return err
			}
			if !found {
				fmt.Fprintf(a.stdout, "Supervisor not terminated: no supervisor is running (no %s)\n", manager.LockFile(a.root))
				return nil
			}
			fmt.Fprintf(a.stdout, "Terminating the Supervisor (PID %d)\n", pid)
			return nil
		},
	}
}

func (a *app) svcLoadCmd() *cobra.Command {
	f := &loadFlags{}
	var client func() (ctl.Client, error)
	var genConfig bool
	c := &cobra.Command{
		Use:   "load PKG_IDENT",
		Short: "Load a service to be started and supervised by Habitat from a package identifier",
		// With the original's hidden --generate-config, which prints the
		// command's settings as TOML, PKG_IDENT is optional.
		Args: func(c *cobra.Command, args []string) error {
			if genConfig {
				return cobra.MaximumNArgs(1)(c, args)
			}
			return cobra.ExactArgs(1)(c, args)
		},
		RunE: func(c *cobra.Command, args []string) error {
			if genConfig {
				return a.printLoadConfig(c, args)
			}
			if _, err := ident.Parse(args[0]); err != nil {
				return usageError("%v", err)
			}
			sp, err := f.spec(c, args[0])
			if err != nil {
				return err
			}
			cl, err := client()
			if err != nil {
				return err
			}
			return a.ctlDo(c.Context(), cl, manager.CmdLoad, manager.LoadArgs{Spec: sp, Force: f.force})
		},
	}
	a.addLoadFlags(c, f)
	c.Flags().BoolVarP(&f.force, "force", "f", false, "Load or reload an already loaded service")
	c.Flags().BoolVar(&genConfig, "generate-config", false, "Print the command's settings as TOML and exit (PKG_IDENT is then optional)")
	_ = c.Flags().MarkHidden("generate-config")
	client = a.remoteFlag(c)
	return c
}

// loadConfigFields are the settings hab svc load --generate-config
// prints, by the original's names, and the flags that hold them.
var loadConfigFields = []struct{ name, flag string }{
	{"force", "force"}, {"remote_sup", "remote-sup"}, {"channel", "channel"}, {"bldr_url", "url"}, {"group", "group"},
	{"topology", "topology"}, {"strategy", "strategy"}, {"update_condition", "update-condition"}, {"bind", "bind"},
	{"binding_mode", "binding-mode"}, {"health_check_interval", "health-check-interval"},
	{"shutdown_timeout", "shutdown-timeout"}, {"config_from", "config-from"},
}

// printLoadConfig prints the settings of hab svc load as the original's
// --generate-config does: each one's help as ### comments, then
// name = value, or # name = when it has no value.
func (a *app) printLoadConfig(c *cobra.Command, args []string) error {
	var b strings.Builder
	line := func(name, help string, v any) error {
		fmt.Fprintf(&b, "### %s\n", help)
		if v == nil {
			fmt.Fprintf(&b, "# %s = \n\n", name)
			return nil
		}
		out, err := toml.Marshal(map[string]any{name: v})
		if err != nil {
			return fmt.Errorf("generate config: %s: %w", name, err)
		}
		fmt.Fprintf(&b, "%s\n", out)
		return nil
	}
	var id any
	if len(args) == 1 {
		id = args[0]
	}
	if err := line("pkg_ident", "A package identifier (ex: core/redis, core/busybox-static/1.42.2)", id); err != nil {
		return err
	}
	fl := c.Flags()
	for _, field := range loadConfigFields {
		f := fl.Lookup(field.flag)
		var v any
		switch f.Value.Type() {
		case "bool":
			v, _ = fl.GetBool(field.flag)
		case "uint64", "uint32":
			if f.Changed || f.DefValue != "0" {
				n, _ := strconv.ParseUint(f.Value.String(), 10, 64)
				v = n
			}
		case "stringArray":
			v, _ = fl.GetStringArray(field.flag)
		default:
			if s := f.Value.String(); s != "" {
				v = s
			}
		}
		if err := line(field.name, f.Usage, v); err != nil {
			return err
		}
	}
	_, err := io.WriteString(a.stdout, b.String())
	return err
}

// svcIdentCmd is a command that sends one ident to the supervisor: hab
// svc unload, start and stop (with --shutdown-timeout when timeout).
func (a *app) svcIdentCmd(use, short, cmd string, timeout bool) *cobra.Command {
	var secs uint32
	var client func() (ctl.Client, error)
	c := &cobra.Command{
		Use:   use + " PKG_IDENT",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := client()
			if err != nil {
				return err
			}
			ia := manager.IdentArgs{Ident: args[0]}
			if c.Flags().Changed("shutdown-timeout") {
				ia.ShutdownTimeout = &secs
			}
			return a.ctlDo(c.Context(), cl, cmd, ia)
		},
	}
	if timeout {
		c.Flags().Uint32Var(&secs, "shutdown-timeout", 0, "The number of seconds after sending a shutdown signal to wait before killing the service")
	}
	client = a.remoteFlag(c)
	return c
}

// svcStatusCmd is hab svc status and hab sup status; the latter exits 2
// when the service is not loaded and 3 when no supervisor runs. With
// --json, the table is a JSON array of serviceStatus.
func (a *app) svcStatusCmd(use string, codes bool) *cobra.Command {
	var client func() (ctl.Client, error)
	var asJSON bool
	c := &cobra.Command{
		Use:   use,
		Short: "Query the status of Habitat services",
		Long: "Prints the services of the Supervisor, or the one PKG_IDENT names, as a table aligned by spaces: package, type, desired state, " +
			"state, seconds in that state, pid and service group. With --json, a JSON array with an object per service: " +
			`{"package", "type", "desired", "state", "elapsed_seconds", "pid" (null when down), "service_group"}; ` +
			"[] when none is loaded.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			ia := manager.IdentArgs{}
			if len(args) == 1 {
				ia.Ident = args[0]
			}
			cl, err := client()
			if err != nil {
				if codes {
					return &exitCodeError{code: exitNoSupervisor, err: err}
				}
				return err
			}
			if asJSON {
				var rows []serviceStatus
				rows, err = svcStatuses(c.Context(), cl, ia)
				if err == nil {
					err = a.storeWriteJSON(rows)
				}
			} else {
				err = a.svcStatusTable(c.Context(), cl, ia)
			}
			if err == nil || !codes {
				return err
			}
			var ce *ctl.Error
			switch {
			case errors.Is(err, ctl.ErrNoSupervisor):
				return &exitCodeError{code: exitNoSupervisor, err: err}
			case errors.As(err, &ce) && ce.Code == ctl.CodeNotFound:
				return &exitCodeError{code: exitNotLoaded, err: err}
			}
			return err
		},
	}
	c.Flags().BoolVarP(&asJSON, "json", "j", false, "Output the services as a JSON array")
	client = a.remoteFlag(c)
	return c
}

// svcStatusTable prints the supervisor's status lines as the original's
// table: its columns aligned (statusTable), or "No services loaded.".
func (a *app) svcStatusTable(ctx context.Context, cl ctl.Client, ia manager.IdentArgs) error {
	tw := statusTable(a.stdout)
	err := cl.Do(ctx, manager.CmdStatus, ia, func(l string) { fmt.Fprintln(tw, l) })
	if ferr := tw.Flush(); err == nil {
		err = ferr
	}
	return err
}

// statusTable aligns tab-separated columns as the original's hab svc
// status does (the tabwriter crate's defaults: a column is as wide as
// its widest cell, at least 2, and 2 spaces follow it; the last column
// is not padded). text/tabwriter's minimum width counts the padding, so
// 2+2.
func statusTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 4, 0, 2, ' ', 0)
}

// serviceStatus is one service of hab svc status --json.
type serviceStatus struct {
	Package        string `json:"package"`
	Type           string `json:"type"`
	Desired        string `json:"desired"`
	State          string `json:"state"`
	ElapsedSeconds int64  `json:"elapsed_seconds"`
	PID            *int   `json:"pid"`
	ServiceGroup   string `json:"service_group"`
}

// svcStatuses asks the supervisor for the status table and reads it.
func svcStatuses(ctx context.Context, cl ctl.Client, ia manager.IdentArgs) ([]serviceStatus, error) {
	var lines []string
	if err := cl.Do(ctx, manager.CmdStatus, ia, func(l string) { lines = append(lines, l) }); err != nil {
		return nil, err
	}
	return parseStatus(lines)
}

// parseStatus reads the status table (manager.StatusHeader, then a
// tab-separated line per service), or "No services loaded.".
func parseStatus(lines []string) ([]serviceStatus, error) {
	out := []serviceStatus{}
	if len(lines) == 0 || len(lines) == 1 && lines[0] == "No services loaded." {
		return out, nil
	}
	if lines[0] != manager.StatusHeader {
		return nil, fmt.Errorf("read the supervisor's status: unexpected header %q", lines[0])
	}
	for _, l := range lines[1:] {
		f := strings.Split(l, "\t")
		if len(f) != 7 {
			return nil, fmt.Errorf("read the supervisor's status: line %q has %d fields, not 7", l, len(f))
		}
		elapsed, err := strconv.ParseInt(f[4], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("read the supervisor's status: line %q: elapsed: %w", l, err)
		}
		st := serviceStatus{Package: f[0], Type: f[1], Desired: f[2], State: f[3], ElapsedSeconds: elapsed, ServiceGroup: f[6]}
		if f[5] != "<none>" {
			pid, err := strconv.Atoi(f[5])
			if err != nil {
				return nil, fmt.Errorf("read the supervisor's status: line %q: pid: %w", l, err)
			}
			st.PID = &pid
		}
		out = append(out, st)
	}
	return out, nil
}

// startCmd is hab start, and hab sup start (the older CLI's spelling,
// which a studio's users type): start the service in the running
// supervisor (loading it when it is not loaded), or, when no supervisor
// runs, run one in the foreground with it.
func (a *app) startCmd(short string) *cobra.Command {
	f := &supRunFlags{}
	var client func() (ctl.Client, error)
	c := &cobra.Command{
		Use:   "start PKG_IDENT_OR_ARTIFACT",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if cl, err := client(); err == nil {
				// A loaded service is started; another is loaded.
				err = a.ctlDo(c.Context(), cl, manager.CmdStart, manager.IdentArgs{Ident: args[0]})
				var ce *ctl.Error
				if errors.As(err, &ce) && ce.Code == ctl.CodeNotFound {
					sp, serr := f.load.spec(c, args[0])
					if serr != nil {
						return serr
					}
					err = a.ctlDo(c.Context(), cl, manager.CmdLoad, manager.LoadArgs{Spec: sp})
				}
				if !errors.Is(err, ctl.ErrNoSupervisor) {
					return err
				}
			}
			return a.supRun(c, f, args[0])
		},
	}
	a.addSupRunFlags(c, f)
	client = a.remoteFlag(c)
	return c
}
