package main

import (
	"context"
	"crypto/x509"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/habgo/hab/sup/eventstream"
	"github.com/habgo/hab/sup/manager"
)

// addEventFlags adds hab sup run's event stream flags (events to Chef
// Automate over NATS), as the original's.
func (a *app) addEventFlags(c *cobra.Command, f *eventFlags) {
	fl := c.Flags()
	fl.StringVar(&f.application, "event-stream-application", "", "The name of the application for event stream purposes, attached to every event this Supervisor sends")
	fl.StringVar(&f.environment, "event-stream-environment", "", "The name of the environment for event stream purposes, attached to every event this Supervisor sends")
	fl.StringVar(&f.site, "event-stream-site", "", "The name of the site where this Supervisor runs, for event stream purposes")
	fl.Uint64Var(&f.connectTimeout, "event-stream-connect-timeout", 0, "Seconds to wait for the event stream's server before the Supervisor gives up starting; 0 starts at once and connects in the background")
	a.envFlag(c, "event-stream-connect-timeout", "HAB_EVENT_STREAM_CONNECT_TIMEOUT")
	// The variable's value never shows in the help: envFlag names it only.
	fl.StringVar(&f.token, "event-stream-token", "", "The authentication token for connecting the event stream to Chef Automate")
	a.envFlag(c, "event-stream-token", "HAB_AUTOMATE_AUTH_TOKEN")
	fl.StringVar(&f.url, "event-stream-url", "", "The event stream's connection `URL` ([nats://][TOKEN@]HOST[:PORT], port 4222 when omitted) for sending events to Chef Automate; requires --event-stream-application, --event-stream-environment and --event-stream-token")
	fl.StringArrayVar(&f.meta, "event-meta", nil, "A `KEY=VALUE` pair to add to every event this Supervisor sends (several separated by spaces, or the flag repeated)")
	wordsFlag(c, "event-meta", 0)
	fl.StringVar(&f.serverCertificate, "event-stream-server-certificate", "", "The `PATH` of Chef Automate's event stream certificate (PEM): the stream then requires TLS and trusts it beside the system's roots")
}

// open checks the event stream flags as the original does (whether or
// not --event-stream-url is given) and, with a URL, returns what opens
// the stream for the supervisor; nil without one.
func (f *eventFlags) open(c *cobra.Command, log *slog.Logger) (manager.OpenEvents, error) {
	for _, name := range []string{"event-stream-application", "event-stream-environment", "event-stream-site", "event-stream-token"} {
		if fl := c.Flags().Lookup(name); fl.Changed && fl.Value.String() == "" {
			return nil, usageError("--%s must not be empty", name)
		}
	}
	meta, err := eventstream.ParseMeta(splitPeers(f.meta))
	if err != nil {
		return nil, usageError("--event-meta: %v", err)
	}
	var cert *x509.Certificate
	if f.serverCertificate != "" {
		if cert, err = eventstream.LoadCertificate(f.serverCertificate); err != nil {
			return nil, usageError("--event-stream-server-certificate: %v", err)
		}
	}
	if f.url == "" {
		return nil, nil
	}
	addr, err := eventstream.ParseAddress(f.url)
	if err != nil {
		return nil, usageError("--event-stream-url: %v", err)
	}
	for _, req := range []struct{ v, name string }{
		{f.application, "--event-stream-application"}, {f.environment, "--event-stream-environment"},
		{f.token, "--event-stream-token (or HAB_AUTOMATE_AUTH_TOKEN)"},
	} {
		if req.v == "" {
			return nil, usageError("--event-stream-url requires %s", req.name)
		}
	}
	cfg := eventstream.Config{
		Address: addr, Token: f.token, ServerCertificate: cert,
		ConnectTimeout: time.Duration(f.connectTimeout) * time.Second, Log: log,
	}
	app, env, site := f.application, f.environment, f.site
	return func(ctx context.Context, who eventstream.Supervisor) (manager.Events, error) {
		who.Application, who.Environment, who.Site, who.Meta = app, env, site, meta
		s, err := eventstream.Connect(ctx, cfg, who)
		if err != nil {
			return nil, err
		}
		return s, nil
	}, nil
}
