package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/pkgs"
	"github.com/habgo/hab/core/svcgroup"
	"github.com/habgo/hab/sup/ctl"
	"github.com/habgo/hab/sup/httpgw"
	"github.com/habgo/hab/sup/manager"
	"github.com/habgo/hab/sup/spec"
)

// Exit codes of hab sup status.
const (
	exitNotLoaded    = 2
	exitNoSupervisor = 3
)

// addSupCommands adds hab sup, hab svc load|unload|start|stop|status,
// hab start, hab config apply and hab file upload.
func (a *app) addSupCommands(root, svc *cobra.Command) {
	sup := &cobra.Command{Use: "sup", Short: "Commands relating to the Habitat Supervisor", Args: cobra.NoArgs, RunE: groupHelp}
	sup.AddCommand(a.supRunCmd("run [PKG_IDENT_OR_ARTIFACT]", "Run the Habitat Supervisor"), a.supTermCmd(), a.supRestartCmd(), a.svcStatusCmd("status [PKG_IDENT]", true),
		a.startCmd("Start a service (as hab start, the older CLI's spelling used in a studio): load it into the running Supervisor, or run a Supervisor with it"),
		a.supSecretCmd(), a.supShellCmd("sh", "Start an interactive Bourne-like shell"), a.supShellCmd("bash", "Start an interactive Bash-like shell"))
	root.AddCommand(sup)
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
	channel := a.getenv("HAB_BLDR_CHANNEL")
	if channel == "" {
		channel = spec.DefaultChannel
	}
	url := a.getenv("HAB_BLDR_URL")
	if url == "" {
		url = spec.DefaultURL
	}
	fl.StringVar(&f.group, "group", spec.DefaultGroup, "The service group with shared config and topology")
	fl.StringVarP(&f.topology, "topology", "t", spec.DefaultTopology, "Service topology: standalone or leader")
	fl.StringVarP(&f.strategy, "strategy", "s", spec.DefaultStrategy, "The update strategy: none, at-once or rolling")
	fl.StringVar(&f.condition, "update-condition", spec.DefaultUpdateCondition, "The condition dictating when this service should update: latest or track-channel")
	fl.StringVar(&f.channel, "channel", channel, "Receive updates from the specified release channel")
	fl.StringVarP(&f.url, "url", "u", url, "Specify an alternate Builder endpoint")
	fl.StringArrayVar(&f.binds, "bind", nil, "One or more service groups to bind to a configuration (NAME:SERVICE.GROUP[@ORG])")
	fl.StringVar(&f.bindingMode, "binding-mode", spec.DefaultBindingMode, "Governs how the presence or absence of binds affects service startup: strict or relaxed")
	fl.Uint64Var(&f.healthInterval, "health-check-interval", spec.DefaultHealthCheckInterval, "The interval in seconds on which to run health checks")
	fl.Uint32Var(&f.shutdownTimeout, "shutdown-timeout", 0, "The number of seconds after sending a shutdown signal to wait before killing a service process")
	fl.StringVar(&f.configFrom, "config-from", "", "Use the package config from this path rather than the package itself (development only)")
}

func (f *loadFlags) spec(c *cobra.Command, id string) (spec.Spec, error) {
	sp := spec.New(id)
	sp.Group, sp.Topology, sp.UpdateStrategy, sp.UpdateCondition = f.group, f.topology, f.strategy, f.condition
	sp.Channel, sp.BldrURL, sp.BindingMode, sp.ConfigFrom = f.channel, f.url, f.bindingMode, f.configFrom
	sp.Binds = append([]string{}, f.binds...)
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
	c.Flags().StringVarP(&remote, "remote-sup", "r", "", "Address of the Supervisor's control gateway [default: 127.0.0.1:9632]")
	return func() (ctl.Client, error) {
		addr := remote
		if addr == "" {
			addr = a.getenv("HAB_LISTEN_CTL")
		}
		if addr == "" {
			addr = "127.0.0.1:9632"
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			addr = net.JoinHostPort(addr, "9632")
		}
		secret := a.getenv("HAB_CTL_SECRET")
		if secret == "" {
			s, err := ctl.ReadSecret(ctl.SecretFile(manager.SupRoot(a.root)))
			if err != nil {
				return ctl.Client{}, fmt.Errorf("no control secret: set HAB_CTL_SECRET or run a supervisor here first: %w", err)
			}
			secret = s
		}
		return ctl.Client{Addr: addr, Secret: secret}, nil
	}
}

// ctlDo sends one request and prints its output.
func (a *app) ctlDo(ctx context.Context, cl ctl.Client, cmd string, args any) error {
	return cl.Do(ctx, cmd, args, func(l string) { fmt.Fprintln(a.stdout, l) })
}

type supRunFlags struct {
	load                   loadFlags
	listenCtl, listenHTTP  string
	listenGossip, sysIP    string
	permanent, httpDisable bool
	key, certs, caCerts    string
	minBackoff, maxBackoff uint64
	cooldown, hookTimeout  uint64
	keys                   func() crypto.Cache // --cache-key-path: where harts' signing keys are found
}

func (a *app) supRunCmd(use, short string) *cobra.Command {
	f := &supRunFlags{}
	c := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			pkg := ""
			if len(args) == 1 {
				pkg = args[0]
			}
			return a.supRun(c, f, pkg)
		},
	}
	a.addSupRunFlags(c, f)
	return c
}

func (a *app) addSupRunFlags(c *cobra.Command, f *supRunFlags) {
	fl := c.Flags()
	fl.StringVar(&f.listenCtl, "listen-ctl", "127.0.0.1:9632", "The listen address for the control gateway")
	fl.StringVar(&f.listenHTTP, "listen-http", "0.0.0.0:9631", "The listen address for the HTTP gateway")
	fl.StringVar(&f.listenGossip, "listen-gossip", "0.0.0.0:9638", "The listen address for the gossip system (reserved: the ring is not built yet)")
	a.envFlag(c, "listen-ctl", "HAB_LISTEN_CTL")
	a.envFlag(c, "listen-http", "HAB_LISTEN_HTTP")
	a.envFlag(c, "listen-gossip", "HAB_LISTEN_GOSSIP")
	f.keys = a.keyCacheFlag(c)
	fl.Bool("no-color", false, "Turn ANSI color off (the Supervisor's output has none)")
	fl.StringVar(&f.sysIP, "sys-ip-address", "", "The IPv4 address of this machine [default: detected, else 127.0.0.1]")
	fl.BoolVarP(&f.permanent, "permanent-peer", "I", false, "This Supervisor is a permanent peer")
	fl.BoolVarP(&f.httpDisable, "http-disable", "D", false, "Disable the HTTP gateway")
	fl.StringVar(&f.key, "key", "", "The TLS private key for the HTTP gateway")
	fl.StringVar(&f.certs, "certs", "", "The TLS certificate chain for the HTTP gateway (requires --key)")
	fl.StringVar(&f.caCerts, "ca-certs", "", "CA certificates to verify HTTP gateway clients with")
	fl.Uint64Var(&f.minBackoff, "service-min-backoff-period", 0, "The minimum seconds before restarting a service that died")
	fl.Uint64Var(&f.maxBackoff, "service-max-backoff-period", 0, "The maximum seconds before restarting a service that died")
	fl.Uint64Var(&f.cooldown, "service-restart-cooldown-period", 300, "Seconds a service must run before its backoff is reset")
	fl.Uint64Var(&f.hookTimeout, "hook-timeout", 600, "Seconds after which a hook (other than run and health-check) is killed")
	a.addLoadFlags(c, &f.load)
	fl.BoolVar(&f.load.force, "force", true, "")
	_ = fl.MarkHidden("force")
}

func detectIP() string {
	conn, err := net.Dial("udp", "192.0.2.1:9")
	if err != nil {
		return "127.0.0.1"
	}
	defer conn.Close()
	if ua, ok := conn.LocalAddr().(*net.UDPAddr); ok {
		return ua.IP.String()
	}
	return "127.0.0.1"
}

func (a *app) supRun(c *cobra.Command, f *supRunFlags, pkg string) error {
	ctx := c.Context()
	store, err := a.storeOpen()
	if err != nil {
		return err
	}
	if f.certs != "" && f.key == "" {
		return usageError("--certs requires --key")
	}
	cfg := manager.Config{
		Root: a.root, Store: store,
		ListenCtl: f.listenCtl, ListenHTTP: f.listenHTTP, ListenGossip: f.listenGossip,
		SysIP: f.sysIP, Permanent: f.permanent, Version: version,
		BaseEnv: os.Environ(), Getenv: a.getenv, Out: a.stdout, Log: a.log,
		HookTimeout: time.Duration(f.hookTimeout) * time.Second,
		MinBackoff:  time.Duration(f.minBackoff) * time.Second, MaxBackoff: time.Duration(f.maxBackoff) * time.Second,
		Cooldown:       time.Duration(f.cooldown) * time.Second,
		DisableHTTP:    f.httpDisable,
		SecretOverride: a.getenv("HAB_CTL_SECRET"),
		InstallMissing: func(ctx context.Context, id ident.Ident) (*pkgs.Package, error) {
			return a.supInstall(ctx, store, f.keys(), id.String())
		},
	}
	if cfg.SysIP == "" {
		cfg.SysIP = detectIP()
	}
	gw := httpgw.Options{AuthToken: a.getenv("HAB_SUP_GATEWAY_AUTH_TOKEN"), CertFile: f.certs, KeyFile: f.key, CAFile: f.caCerts, Redact: a.getenv("HAB_FEAT_REDACT_HTTP") != ""}
	cfg.ServeHTTP = func(ctx context.Context, ln net.Listener, m *manager.Manager) error {
		return httpgw.Serve(ctx, ln, m, gw)
	}
	if pkg != "" {
		id := pkg
		if strings.HasSuffix(pkg, ".hart") {
			p, err := a.supInstall(ctx, store, f.keys(), pkg)
			if err != nil {
				return err
			}
			id = p.Ident.String()
		} else if _, err := ident.Parse(pkg); err != nil {
			return usageError("%v", err)
		}
		sp, err := f.load.spec(c, id)
		if err != nil {
			return err
		}
		cfg.Preload = &sp
	}
	// SIGHUP (hab sup restart) or a restart request on the control
	// gateway (hab sup restart --remote-sup) restarts the supervisor in
	// place: every service stops, then the specs are read again and
	// started.
	asked := make(chan struct{}, 1)
	cfg.Restart = func() {
		select {
		case asked <- struct{}{}:
		default:
		}
	}
	for {
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		rctx, cancel := context.WithCancel(ctx)
		var why atomic.Value
		go func() {
			select {
			case <-hup:
				why.Store("SIGHUP")
				cancel()
			case <-asked:
				why.Store("asked through the control gateway")
				cancel()
			case <-rctx.Done():
			}
		}()
		err = manager.Run(rctx, cfg)
		signal.Stop(hup)
		cancel()
		if err != nil || why.Load() == nil || ctx.Err() != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "hab-sup(MR): Restarting the Supervisor (%s)\n", why.Load())
	}
}

func (a *app) supRestartCmd() *cobra.Command {
	var client func() (ctl.Client, error)
	c := &cobra.Command{
		Use:   "restart",
		Short: "Restart the Supervisor: its services stop, and start again from their specs",
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

func (a *app) supTermCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "term",
		Short: "Gracefully terminate the Habitat Supervisor and all of its running services",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
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
	c := &cobra.Command{
		Use:   "load PKG_IDENT",
		Short: "Load a service to be started and supervised by Habitat from a package identifier",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
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
	client = a.remoteFlag(c)
	return c
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
// when the service is not loaded and 3 when no supervisor runs.
func (a *app) svcStatusCmd(use string, codes bool) *cobra.Command {
	var client func() (ctl.Client, error)
	c := &cobra.Command{
		Use:   use,
		Short: "Query the status of Habitat services",
		Args:  cobra.MaximumNArgs(1),
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
			err = a.ctlDo(c.Context(), cl, manager.CmdStatus, ia)
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
	client = a.remoteFlag(c)
	return c
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

func readPayload(a *app, file string) ([]byte, error) {
	var data []byte
	var err error
	if file == "" || file == "-" {
		data, err = io.ReadAll(io.LimitReader(a.stdin, manager.MaxPayload+1))
	} else {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", map[bool]string{true: "standard input", false: file}[file == "" || file == "-"], err)
	}
	return data, nil
}

// parseGroupVersion reads the SERVICE_GROUP and VERSION arguments of hab
// config apply and hab file upload.
func parseGroupVersion(group, version string) (svcgroup.Group, uint64, error) {
	sg, err := svcgroup.Parse(group)
	if err != nil {
		return svcgroup.Group{}, 0, usageError("%v", err)
	}
	var v uint64
	if _, err := fmt.Sscan(version, &v); err != nil || fmt.Sprint(v) != version {
		return svcgroup.Group{}, 0, usageError("invalid version %q: a whole number is expected", version)
	}
	return sg, v, nil
}

func (a *app) configApplyCmd() *cobra.Command {
	var client func() (ctl.Client, error)
	c := &cobra.Command{
		Use:   "apply SERVICE_GROUP VERSION [FILE]",
		Short: "Sets a configuration to be shared by members of a Service Group",
		Args:  cobra.RangeArgs(2, 3),
		RunE: func(c *cobra.Command, args []string) error {
			sg, v, err := parseGroupVersion(args[0], args[1])
			if err != nil {
				return err
			}
			file := "-"
			if len(args) == 3 {
				file = args[2]
			}
			data, err := readPayload(a, file)
			if err != nil {
				return err
			}
			if len(data) > manager.MaxPayload {
				return fmt.Errorf("Configuration too large. Maximum size allowed is %d bytes", manager.MaxPayload)
			}
			cl, err := client()
			if err != nil {
				return err
			}
			ca := manager.ConfigArgs{ServiceGroup: sg.String(), Version: v, Config: string(data)}
			if err := a.ctlDo(c.Context(), cl, manager.CmdValidate, ca); err != nil {
				return err
			}
			return a.ctlDo(c.Context(), cl, manager.CmdConfigApply, ca)
		},
	}
	client = a.remoteFlag(c)
	return c
}

func (a *app) fileUploadCmd() *cobra.Command {
	var client func() (ctl.Client, error)
	c := &cobra.Command{
		Use:   "upload SERVICE_GROUP VERSION FILE",
		Short: "Upload a file to the Supervisor ring",
		Args:  cobra.ExactArgs(3),
		RunE: func(c *cobra.Command, args []string) error {
			sg, v, err := parseGroupVersion(args[0], args[1])
			if err != nil {
				return err
			}
			data, err := os.ReadFile(args[2])
			if err != nil {
				return fmt.Errorf("read %s: %w", args[2], err)
			}
			if len(data) > manager.MaxPayload {
				return fmt.Errorf("File too large. Maximum size allowed is %d bytes", manager.MaxPayload)
			}
			cl, err := client()
			if err != nil {
				return err
			}
			name := args[2]
			if i := strings.LastIndexByte(name, '/'); i >= 0 {
				name = name[i+1:]
			}
			return a.ctlDo(c.Context(), cl, manager.CmdFileUpload, manager.FileArgs{ServiceGroup: sg.String(), Version: v, Filename: name, Body: data})
		},
	}
	client = a.remoteFlag(c)
	return c
}
