package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/pkgs"
	"github.com/habgo/hab/depot/client"
	"github.com/habgo/hab/internal/flagfile"
	"github.com/habgo/hab/sup/ctltls"
	"github.com/habgo/hab/sup/httpgw"
	"github.com/habgo/hab/sup/manager"
	"github.com/habgo/hab/sup/selfupdate"
)

// ctlTLSBare is what a bare --ctl-server-certificate, --ctl-server-key or
// --ctl-client-ca-certificate means: hab's ctl key directory (under
// FS_ROOT when it is set), where hab sup secret generate-tls writes.
const ctlTLSBare = "/hab/cache/keys/ctl"

type supRunFlags struct {
	load                   loadFlags
	listenCtl, listenHTTP  string
	listenGossip, sysIP    string
	permanent, httpDisable bool
	key, certs, caCerts    string
	minBackoff, maxBackoff uint64
	cooldown, hookTimeout  uint64
	serviceUpdatePeriod    uint64              // --service-update-period
	keys                   func() crypto.Cache // --cache-key-path: where harts' signing keys are found
	org                    string              // --org
	peers                  []string
	peerWatchFile          string
	localGossip            bool
	ring, ringKey          string
	verbose, jsonLogging   bool // -v, --json-logging
	configFiles            []string
	keepLatest             int    // --keep-latest-packages, -1 when not given
	ctlCert, ctlKey, ctlCA string // --ctl-server-certificate, --ctl-server-key, --ctl-client-ca-certificate
	generateConfig         bool
	autoUpdate             bool   // -A, --auto-update
	autoUpdatePeriod       uint64 // --auto-update-period, seconds
	events                 eventFlags
}

// eventFlags are the event stream's (--event-stream-*, --event-meta).
type eventFlags struct {
	application, environment, site string
	connectTimeout                 uint64 // seconds; 0: do not wait
	token, url, serverCertificate  string
	meta                           []string
}

// supRunKeys names each sup run setting in a sup.toml file
// (--config-files) and in --generate-config's output: the original's
// names.
func supRunKeys() []flagfile.Key {
	return []flagfile.Key{
		{TOML: "listen_gossip", Flag: "listen-gossip"}, {TOML: "peer", Flag: "peer"},
		{TOML: "peer_watch_file", Flag: "peer-watch-file"}, {TOML: "local_gossip_mode", Flag: "local-gossip-mode"},
		{TOML: "listen_http", Flag: "listen-http"}, {TOML: "http_disable", Flag: "http-disable"},
		{TOML: "listen_ctl", Flag: "listen-ctl"},
		{TOML: "ctl_server_certificate", Flag: "ctl-server-certificate"}, {TOML: "ctl_server_key", Flag: "ctl-server-key"},
		{TOML: "ctl_client_ca_certificate", Flag: "ctl-client-ca-certificate"},
		{TOML: "organization", Flag: "org"}, {TOML: "permanent_peer", Flag: "permanent-peer"},
		{TOML: "cache_key_path", Flag: "cache-key-path"}, {TOML: "ring_key", Flag: "ring-key"}, {TOML: "ring", Flag: "ring"},
		{TOML: "auto_update", Flag: "auto-update"}, {TOML: "auto_update_period", Flag: "auto-update-period"},
		{TOML: "service_update_period", Flag: "service-update-period"},
		{TOML: "service_min_backoff_period", Flag: "service-min-backoff-period"},
		{TOML: "service_max_backoff_period", Flag: "service-max-backoff-period"},
		{TOML: "service_restart_cooldown_period", Flag: "service-restart-cooldown-period"},
		{TOML: "key_file", Flag: "key"}, {TOML: "cert_file", Flag: "certs"}, {TOML: "ca_cert_file", Flag: "ca-certs"},
		{TOML: "verbose", Flag: "verbose"}, {TOML: "no_color", Flag: "no-color"}, {TOML: "json_logging", Flag: "json-logging"},
		{TOML: "sys_ip_address", Flag: "sys-ip-address"},
		{TOML: "event_stream_application", Flag: "event-stream-application"},
		{TOML: "event_stream_environment", Flag: "event-stream-environment"},
		{TOML: "event_stream_connect_timeout", Flag: "event-stream-connect-timeout"},
		{TOML: "event_stream_token", Flag: "event-stream-token"},
		{TOML: "event_stream_url", Flag: "event-stream-url"},
		{TOML: "event_stream_site", Flag: "event-stream-site"},
		{TOML: "event_meta", Flag: "event-meta"},
		{TOML: "event_stream_server_certificate", Flag: "event-stream-server-certificate"},
		{TOML: "keep_latest_packages", Flag: "keep-latest-packages"},
		{TOML: "channel", Flag: "channel"}, {TOML: "bldr_url", Flag: "url"}, {TOML: "group", Flag: "group"},
		{TOML: "topology", Flag: "topology"}, {TOML: "strategy", Flag: "strategy"},
		{TOML: "update_condition", Flag: "update-condition"}, {TOML: "bind", Flag: "bind"},
		{TOML: "binding_mode", Flag: "binding-mode"}, {TOML: "health_check_interval", Flag: "health-check-interval"},
		{TOML: "shutdown_timeout", Flag: "shutdown-timeout"}, {TOML: "config_from", Flag: "config-from"},
	}
}

// applyConfigFiles reads --config-files (several may be given,
// separated by spaces; each must exist), or else
// /hab/sup/default/config/sup.toml when it exists, into the flags not
// given on the command line; the last file wins.
func (a *app) applyConfigFiles(c *cobra.Command, f *supRunFlags) error {
	files := splitPeers(f.configFiles)
	for _, file := range files {
		if _, err := os.Stat(file); err != nil {
			return usageError("--config-files: %v", err)
		}
	}
	if !c.Flags().Changed("config-files") {
		def := a.root.Join("hab", "sup", "default", "config", "sup.toml")
		if _, err := os.Stat(def); err == nil {
			files = []string{def}
		}
	}
	return flagfile.Apply(c.Flags(), supRunKeys(), files)
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
	fl.StringVar(&f.listenGossip, "listen-gossip", "0.0.0.0:9638", "The listen address for the gossip system (the ring)")
	a.envFlag(c, "listen-ctl", "HAB_LISTEN_CTL")
	a.envFlag(c, "listen-http", "HAB_LISTEN_HTTP")
	a.envFlag(c, "listen-gossip", "HAB_LISTEN_GOSSIP")
	fl.StringArrayVar(&f.peers, "peer", nil, "The listen address of one or more initial peers (`IP[:PORT]`, port 9638 when omitted; repeat the flag, or separate them by spaces)")
	wordsFlag(c, "peer", 0)
	fl.StringVar(&f.peerWatchFile, "peer-watch-file", "", "Watch this file (one peer a line) for connecting to the ring")
	fl.BoolVar(&f.localGossip, "local-gossip-mode", false, "Start the Supervisor in local gossip mode (gossip on a loopback address, no peers)")
	ringShort := "r"
	if c.Name() == "start" {
		ringShort = "" // hab start's -r is --remote-sup, as for the other commands that reach a Supervisor
	}
	fl.StringVarP(&f.ring, "ring", ringShort, "", "The name of the ring key (in the key cache) that encrypts the ring's gossip")
	a.envFlag(c, "ring", "HAB_RING")
	fl.StringVar(&f.ringKey, "ring-key", "", "The contents of the ring key that encrypts the ring's gossip")
	a.envFlag(c, "ring-key", "HAB_RING_KEY")
	_ = fl.MarkHidden("ring-key")
	f.keys = a.keyCacheFlag(c)
	fl.StringVar(&f.org, "org", "", "The organization the Supervisor and its services are part of (service groups become SERVICE.GROUP@ORG)")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "Verbose output: debug-level log lines")
	fl.BoolVar(&f.jsonLogging, "json-logging", false, "Log lines as JSON objects, one a line")
	for _, o := range []struct {
		v          *string
		name, help string
	}{
		{&f.ctlCert, "ctl-server-certificate", "Serve the control gateway over TLS with this certificate (a PEM file, or a directory's newest hab sup secret generate-tls pair)"},
		{&f.ctlKey, "ctl-server-key", "The private key of the control gateway's TLS certificate (a PEM file, or a directory as above)"},
		{&f.ctlCA, "ctl-client-ca-certificate", "Require control clients to present a certificate signed by these CA certificates (a PEM file, or a directory as above)"},
	} {
		fl.StringVar(o.v, o.name, "", o.help+" [bare flag: "+ctlTLSBare+"]")
		fl.Lookup(o.name).NoOptDefVal = ctlTLSBare
	}
	fl.IntVar(&f.keepLatest, "keep-latest-packages", -1, "After a service starts (loaded or updated), uninstall all but this number (`N`) of the newest releases of its package")
	a.envFlag(c, "keep-latest-packages", "HAB_KEEP_LATEST_PACKAGES")
	fl.StringArrayVar(&f.configFiles, "config-files", nil, "Read the Supervisor's settings from these TOML files (separated by spaces; the last file wins, the command line wins over all) [default: /hab/sup/default/config/sup.toml if it exists]")
	wordsFlag(c, "config-files", 0)
	fl.BoolVar(&f.generateConfig, "generate-config", false, "Print the Supervisor's settings as a TOML file (for --config-files) and exit")
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
	fl.BoolVarP(&f.autoUpdate, "auto-update", "A", false, "Update the Supervisor itself: install a newer "+selfupdate.Package+" from --channel of --url and run it, its services kept running")
	fl.Uint64Var(&f.autoUpdatePeriod, "auto-update-period", 60, "The number of seconds between checks for a newer Supervisor (--auto-update)")
	fl.Uint64Var(&f.serviceUpdatePeriod, "service-update-period", 60, "The number of seconds between checks of a service's channel for updates (HAB_UPDATE_STRATEGY_PERIOD_MS overrides it)")
	a.addEventFlags(c, &f.events)
	a.addLoadFlags(c, &f.load)
	fl.BoolVar(&f.load.force, "force", true, "")
	_ = fl.MarkHidden("force")
}

// gossipFlagConflicts is a usage error (exit 2) naming two ring flags
// given together that the original refuses together.
func gossipFlagConflicts(c *cobra.Command) error {
	conflicts := [][2]string{
		{"peer", "peer-watch-file"},
		{"local-gossip-mode", "listen-gossip"}, {"local-gossip-mode", "peer"}, {"local-gossip-mode", "peer-watch-file"},
		{"ring", "ring-key"},
	}
	for _, pair := range conflicts {
		if c.Flags().Changed(pair[0]) && c.Flags().Changed(pair[1]) {
			return usageError("--%s cannot be used with --%s", pair[0], pair[1])
		}
	}
	return nil
}

// splitPeers reads the --peer values: each may hold several peers
// separated by spaces, as the original's.
func splitPeers(values []string) []string {
	var out []string
	for _, v := range values {
		out = append(out, strings.Fields(v)...)
	}
	return out
}

// localGossipAddr is where --local-gossip-mode gossips: a loopback
// address of its own, so that no other machine reaches it.
const localGossipAddr = "127.0.0.2:9638"

// resolveRingKey reads the ring key: --ring names one in the key cache
// (its latest revision), --ring-key (HAB_RING_KEY) holds its contents.
func (f *supRunFlags) resolveRingKey() (*crypto.RingKey, error) {
	switch {
	case f.ringKey != "":
		kf, err := crypto.ParseKeyFile([]byte(f.ringKey), "--ring-key (HAB_RING_KEY)")
		if err != nil {
			return nil, fmt.Errorf("ring key: %w", err)
		}
		k, err := crypto.RingKeyFrom(kf)
		if err != nil {
			return nil, fmt.Errorf("ring key from --ring-key (HAB_RING_KEY): %w", err)
		}
		return k, nil
	case f.ring != "":
		k, err := f.keys().LatestRingKey(f.ring)
		if err != nil {
			return nil, fmt.Errorf("ring key %s (--ring): %w", crypto.QuoteName(f.ring), err)
		}
		return k, nil
	}
	return nil, nil
}

// supLogger is the Supervisor's logger: debug lines with -v (or when
// hab's own logger already has them), JSON lines with --json-logging.
func (a *app) supLogger(verbose, json bool) *slog.Logger {
	level := slog.LevelWarn
	if verbose || a.log.Enabled(context.Background(), slog.LevelDebug) {
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level}
	if json {
		return slog.New(slog.NewJSONHandler(a.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(a.stderr, opts))
}

// selfUpdater is --auto-update's watch on the channel of --url and
// --channel for a newer core/hab than this binary.
func (a *app) selfUpdater(f *supRunFlags, store *pkgs.Store, log *slog.Logger) (*selfupdate.Updater, error) {
	if f.autoUpdatePeriod == 0 {
		return nil, usageError("--auto-update-period must be at least 1 second")
	}
	depot, err := client.New(f.load.url)
	if err != nil {
		return nil, usageError("--url: %v", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("--auto-update: find this hab binary: %w", err)
	}
	return &selfupdate.Updater{
		Running: selfupdate.Running(store, exe, version), Depot: depot, Channel: f.load.channel,
		Store: store, Keys: f.keys(), ArtifactCache: a.root.Artifacts(),
		Period: time.Duration(f.autoUpdatePeriod) * time.Second, Log: log,
	}, nil
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
	if err := a.applyConfigFiles(c, f); err != nil {
		return err
	}
	if f.generateConfig {
		return flagfile.Write(a.stdout, c.Flags(), supRunKeys())
	}
	store, err := a.storeOpen()
	if err != nil {
		return err
	}
	if f.certs != "" && f.key == "" {
		return usageError("--certs requires --key")
	}
	if err := gossipFlagConflicts(c); err != nil {
		return err
	}
	log := a.supLogger(f.verbose, f.jsonLogging)
	openEvents, err := f.events.open(c, log)
	if err != nil {
		return err
	}
	for _, v := range []*string{&f.ctlCert, &f.ctlKey, &f.ctlCA} {
		if *v == ctlTLSBare {
			*v = ctltls.Dir(a.root) // under FS_ROOT
		}
	}
	if (f.ctlCert == "") != (f.ctlKey == "") || (f.ctlCA != "" && f.ctlCert == "") {
		return usageError("--ctl-server-certificate and --ctl-server-key go together, and --ctl-client-ca-certificate needs both")
	}
	var ctlTLS *tls.Config
	if f.ctlCert != "" {
		if ctlTLS, err = ctltls.ServerConfig(f.ctlCert, f.ctlKey, f.ctlCA); err != nil {
			return err
		}
	}
	var keepLatest *int
	if f.keepLatest >= 0 {
		keepLatest = &f.keepLatest
	} else if f.keepLatest != -1 || c.Flags().Changed("keep-latest-packages") {
		return usageError("--keep-latest-packages must not be negative")
	}
	ringKey, err := f.resolveRingKey()
	if err != nil {
		return err
	}
	updatePeriod, err := a.serviceUpdatePeriod(f.serviceUpdatePeriod)
	if err != nil {
		return err
	}
	listenGossip := f.listenGossip
	if f.localGossip {
		listenGossip = localGossipAddr
	}
	cfg := manager.Config{
		Root: a.root, Store: store,
		ListenCtl: f.listenCtl, CtlTLS: ctlTLS, KeepLatestPackages: keepLatest, ListenHTTP: f.listenHTTP, ListenGossip: listenGossip,
		Gossip: manager.GossipConfig{Peers: splitPeers(f.peers), PeerWatchFile: f.peerWatchFile, RingKey: ringKey},
		SysIP:  f.sysIP, Permanent: f.permanent, Version: version,
		BaseEnv: os.Environ(), Getenv: a.getenv, Out: a.stdout, Log: log,
		HookTimeout: time.Duration(f.hookTimeout) * time.Second,
		MinBackoff:  time.Duration(f.minBackoff) * time.Second, MaxBackoff: time.Duration(f.maxBackoff) * time.Second,
		Cooldown:       time.Duration(f.cooldown) * time.Second,
		DisableHTTP:    f.httpDisable,
		SecretOverride: a.getenv("HAB_CTL_SECRET"),
		Org:            f.org,
		Keys:           f.keys(),
		UpdatePeriod:   updatePeriod,
		InstallMissing: func(ctx context.Context, id ident.Ident) (*pkgs.Package, error) {
			return a.supInstall(ctx, store, f.keys(), id.String())
		},
	}
	a.settleLog.set(cfg.Log) // the resident-page settler's lines as the supervisor's
	cfg.OpenEvents = openEvents
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
	var upd *selfupdate.Updater
	if f.autoUpdate {
		if upd, err = a.selfUpdater(f, store, cfg.Log); err != nil {
			return err
		}
	}
	// SIGHUP (hab sup restart) or a restart request on the control
	// gateway (hab sup restart --remote-sup) restarts the supervisor with
	// its services kept running, as a self-update does: it stops leaving
	// their run processes running, executes its own binary again in this
	// process, and the new supervisor takes them over.
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
		// handover, closed by a restart or by --auto-update's newer hab,
		// stops the supervisor with its services left running.
		handover := make(chan struct{})
		var once sync.Once
		handOver := func() { once.Do(func() { close(handover) }) }
		cfg.Handover = handover
		var why atomic.Value
		go func() {
			select {
			case <-hup:
				why.Store("SIGHUP")
				handOver()
			case <-asked:
				why.Store("asked through the control gateway")
				handOver()
			case <-rctx.Done():
			}
		}()
		found := make(chan *selfupdate.Release, 1)
		if upd != nil {
			go func() {
				rel, _ := upd.Watch(rctx)
				if rel != nil {
					handOver()
				}
				found <- rel
			}()
		} else {
			found <- nil
		}
		err = manager.Run(rctx, cfg)
		signal.Stop(hup)
		cancel()
		rel := <-found
		if errors.Is(err, manager.ErrDeparted) {
			return &exitCodeError{code: manager.DepartedExitCode, err: err}
		}
		if err != nil || ctx.Err() != nil {
			return err
		}
		switch {
		case rel != nil:
			fmt.Fprintf(a.stdout, "hab-sup(MR): Supervisor shutting down for automatic update to %s\n", rel.Ident)
			cfg.Log.Info("self-update: executing the new hab with the same arguments", "binary", rel.Binary, "args", os.Args[1:])
			xerr := selfupdate.Exec(rel.Binary, os.Args[1:], os.Environ())
			upd.Refuse(rel.Ident, xerr.Error())
			fmt.Fprintf(a.stdout, "hab-sup(MR): Restarting the Supervisor (the automatic update failed: %v)\n", xerr)
		case why.Load() != nil:
			fmt.Fprintf(a.stdout, "hab-sup(MR): Restarting the Supervisor (%s)\n", why.Load())
			cfg.Log.Info("restart: executing this hab again with the same arguments", "args", os.Args[1:])
			xerr := selfupdate.Reexec(os.Args[1:], os.Environ())
			fmt.Fprintf(a.stdout, "hab-sup(MR): Restarting the Supervisor in this process (executing it again failed: %v)\n", xerr)
		default:
			return nil
		}
	}
}
