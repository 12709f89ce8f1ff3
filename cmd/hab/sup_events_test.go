package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/internal/depottest"
	"github.com/habgo/hab/sup/eventstream"
	"github.com/habgo/hab/sup/eventstream/eventstreamtest"
)

// TestSupRunEventFlags: the event stream flags are checked as the
// original's clap does, each bad one a usage error (exit 2) naming it,
// before anything starts; the token's variable is named in the help and
// its value never shown.
func TestSupRunEventFlags(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"FS_ROOT": filepath.Join(dir, "root"), "HOME": filepath.Join(dir, "home")}
	hab := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, strings.NewReader(""), &out, &errb, func(k string) string { return env[k] })
		return code, out.String() + errb.String()
	}
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	full := []string{"--event-stream-url", "127.0.0.1:4222", "--event-stream-application", "shop", "--event-stream-environment", "prod", "--event-stream-token", "tok"}
	without := func(flag string) []string {
		var out []string
		for i := 0; i < len(full); i += 2 {
			if full[i] != flag {
				out = append(out, full[i], full[i+1])
			}
		}
		return out
	}
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"url without application", without("--event-stream-application"), nil, "--event-stream-url requires --event-stream-application"},
		{"url without environment", without("--event-stream-environment"), nil, "--event-stream-url requires --event-stream-environment"},
		{"url without token", without("--event-stream-token"), nil, "--event-stream-url requires --event-stream-token"},
		{"empty token variable", without("--event-stream-token"), map[string]string{"HAB_AUTOMATE_AUTH_TOKEN": ""}, "--event-stream-url requires --event-stream-token"},
		{"empty application", append(without("--event-stream-application"), "--event-stream-application="), nil, "--event-stream-application must not be empty"},
		{"empty site", append(full, "--event-stream-site", ""), nil, "--event-stream-site must not be empty"},
		{"meta without =", append(full, "--event-meta", "team=web", "tier"), nil, `"tier"`},
		{"meta with an empty value", []string{"--event-meta", "team="}, nil, `"team="`},
		{"meta without url", []string{"--event-meta", "=web"}, nil, `"=web"`},
		{"bad url", append(without("--event-stream-url"), "--event-stream-url", "http://automate:4222"), nil, `the scheme must be nats`},
		{"url without host", append(without("--event-stream-url"), "--event-stream-url", "nats://tok@"), nil, `no host`},
		{"missing certificate", append(full, "--event-stream-server-certificate", filepath.Join(dir, "missing.pem")), nil, "missing.pem"},
		{"certificate not PEM", append(full, "--event-stream-server-certificate", notPEM), nil, "no PEM certificate"},
		{"timeout not a number", full, map[string]string{"HAB_EVENT_STREAM_CONNECT_TIMEOUT": "soon"}, "HAB_EVENT_STREAM_CONNECT_TIMEOUT"},
		{"negative timeout", append(full, "--event-stream-connect-timeout", "-1"), nil, "--event-stream-connect-timeout"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				env[k] = v
				defer delete(env, k)
			}
			code, out := hab(append([]string{"sup", "run", "--listen-ctl", "127.0.0.1:1"}, tt.args...)...)
			if code != 2 || !strings.Contains(out, tt.want) {
				t.Errorf("exit %d, want 2 and %q:\n%s", code, tt.want, out)
			}
			if strings.Contains(out, "Starting ctl-gateway") {
				t.Errorf("a supervisor started:\n%s", out)
			}
		})
	}

	env["HAB_AUTOMATE_AUTH_TOKEN"] = "supersecret-token"
	code, help := hab("sup", "run", "--help")
	if code != 0 || !strings.Contains(help, "HAB_AUTOMATE_AUTH_TOKEN") || !strings.Contains(help, "HAB_EVENT_STREAM_CONNECT_TIMEOUT") || strings.Contains(help, "supersecret") {
		t.Errorf("help (exit %d) must name HAB_AUTOMATE_AUTH_TOKEN and not show its value:\n%s", code, help)
	}
	code, cfg := hab("sup", "run", "--generate-config", "--event-stream-url", "nats://automate:4222", "--event-meta", "team=web", "tier=1", "--event-stream-connect-timeout", "5")
	for _, want := range []string{`event_stream_url = 'nats://automate:4222'`, `event_meta = ['team=web', 'tier=1']`, `event_stream_connect_timeout = 5`} {
		if code != 0 || !strings.Contains(cfg, want) {
			t.Errorf("--generate-config (exit %d) lacks %s:\n%s", code, want, cfg)
		}
	}
}

// TestSupEventStream runs real supervisors with a real service against a
// NATS server in the test (token auth; once with TLS and
// --event-stream-server-certificate): the service's started, health
// check and stopped events arrive with the supervisor's and the
// service's metadata. A supervisor keeps running, and its services, with
// the server gone; with --event-stream-connect-timeout and no server it
// fails to start, as the original.
func TestSupEventStream(t *testing.T) {
	e := newSupEnv(t)
	e.buildService("evsvc", map[string]string{"hooks/health-check": "#!/bin/sh\necho all good\necho a warning >&2\nexit 0\n"})

	// stop ends a supervisor (they share the root: one at a time).
	stop := func(s *sup) {
		s.cmd.Process.Signal(syscall.SIGTERM)
		<-s.done
	}
	for _, tls := range []bool{false, true} {
		func() {
			t.Logf("TLS: %v", tls)
			srv := eventstreamtest.Start(t, eventstreamtest.Options{Token: "tok", TLS: tls})
			e.env["HAB_AUTOMATE_AUTH_TOKEN"] = "tok"
			defer delete(e.env, "HAB_AUTOMATE_AUTH_TOKEN")
			args := []string{"--event-stream-url", srv.Addr, "--event-stream-application", "shop", "--event-stream-environment", "prod",
				"--event-stream-site", "eu-west", "--event-meta", "team=web", "tier=1", "--event-stream-connect-timeout", "30"}
			if tls {
				args = append(args, "--event-stream-server-certificate", srv.CertFile)
			}
			s := e.startSup(args...)
			s.mustHab("", "svc", "load", "habtest/evsvc", "--health-check-interval", "1")
			memberID, err := os.ReadFile(filepath.Join(e.root, "hab", "sup", "default", "MEMBER_ID"))
			if err != nil {
				t.Fatal(err)
			}

			started, i := srv.WaitFor(t, 0, eventstream.SubjectServiceStarted, nil)
			md := eventstreamtest.Field(started.Fields, "event_metadata")
			for k, want := range map[string]any{
				"supervisor_id": string(memberID), "application": "shop", "environment": "prod", "site": "eu-west",
				"meta": map[string]any{"team": "web", "tier": "1"},
			} {
				if got := eventstreamtest.Field(md, k); !reflect.DeepEqual(got, want) {
					t.Errorf("event_metadata.%s = %#v, want %#v", k, got, want)
				}
			}
			ip, _ := eventstreamtest.Field(md, "ip_address").(string)
			if port, err := strconv.Atoi(strings.TrimPrefix(ip, "127.0.0.1:")); !strings.HasPrefix(ip, "127.0.0.1:") || err != nil || port == 0 {
				t.Errorf("ip_address %q: not the gossip listener", ip)
			}
			if eventstreamtest.Field(md, "fqdn") == "" || eventstreamtest.Field(md, "occurred_at") == nil {
				t.Errorf("no fqdn or occurred_at: %v", md)
			}
			sm := eventstreamtest.Field(started.Fields, "service_metadata")
			pkg, _ := eventstreamtest.Field(sm, "package_ident").(string)
			if !strings.HasPrefix(pkg, "habtest/evsvc/0.1.0/") || eventstreamtest.Field(sm, "spec_ident") != "habtest/evsvc" || eventstreamtest.Field(sm, "service_group") != "evsvc.default" || eventstreamtest.Field(sm, "update_config") != nil {
				t.Errorf("service_metadata = %v", sm)
			}

			// Each health check carries its own run's output (the hook's
			// log files are appended to): a second one too.
			thisRun := func(ev eventstreamtest.Event) bool { return eventstreamtest.Field(ev.Fields, "stdout") == "all good\n" }
			_, next := srv.WaitFor(t, i, eventstream.SubjectHealthCheck, thisRun)
			h, _ := srv.WaitFor(t, next, eventstream.SubjectHealthCheck, thisRun)
			// result Ok is the enum's zero, which proto3 leaves out.
			if eventstreamtest.Field(h.Fields, "result") != nil || eventstreamtest.Field(h.Fields, "exit_status") != float64(0) || eventstreamtest.Field(h.Fields, "stderr") != "a warning\n" ||
				eventstreamtest.Field(h.Fields, "execution") == nil || eventstreamtest.Field(h.Fields, "interval") == nil {
				t.Errorf("health check event: %v", h.Fields)
			}
			if eventstreamtest.Field(h.Fields, "service_metadata", "package_ident") != pkg || eventstreamtest.Field(h.Fields, "event_metadata", "application") != "shop" {
				t.Errorf("health check event without its metadata: %v", h.Fields)
			}

			s.mustHab("", "svc", "unload", "habtest/evsvc")
			stopped, _ := srv.WaitFor(t, i, eventstream.SubjectServiceStopped, nil)
			if eventstreamtest.Field(stopped.Fields, "service_metadata", "package_ident") != pkg || eventstreamtest.Field(stopped.Fields, "event_metadata", "supervisor_id") != string(memberID) {
				t.Errorf("stopped event: %v", stopped.Fields)
			}

			// The server goes away: the supervisor and a service it loads
			// carry on.
			srv.Shutdown()
			s.mustHab("", "svc", "load", "habtest/evsvc", "--health-check-interval", "1")
			supWaitFor(t, "evsvc up with the event stream's server gone", func() bool { return s.pid("evsvc") != 0 })
			s.mustHab("", "svc", "unload", "habtest/evsvc")
			if s.exited() {
				t.Fatalf("the supervisor exited:\n%s", s.output())
			}
			stop(s)
		}()
	}

	{
		nowhere := "127.0.0.1:" + strconv.Itoa(freeLoopbackPort(t))
		args := []string{"--event-stream-url", nowhere, "--event-stream-application", "shop", "--event-stream-environment", "prod", "--event-stream-token", "tok"}
		// No timeout: the supervisor starts, and its service runs.
		s := e.startSup(args...)
		s.mustHab("", "svc", "load", "habtest/evsvc")
		supWaitFor(t, "evsvc up without the event stream's server", func() bool { return s.pid("evsvc") != 0 })
		s.mustHab("", "svc", "unload", "habtest/evsvc")
		if s.exited() {
			t.Fatalf("the supervisor exited:\n%s", s.output())
		}
		stop(s)

		// A timeout: the supervisor gives up starting.
		cmd := exec.Command(e.bin, append([]string{"sup", "run", "--listen-ctl", "127.0.0.1:" + strconv.Itoa(freeLoopbackPort(t)),
			"--listen-http", "127.0.0.1:" + strconv.Itoa(freeLoopbackPort(t)), "--listen-gossip", "127.0.0.1:0", "--event-stream-connect-timeout", "1"}, args...)...)
		cmd.Env = os.Environ()
		for k, v := range e.env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		began := time.Now()
		out, err := cmd.CombinedOutput()
		if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 1 || !strings.Contains(string(out), "could not connect") || !strings.Contains(string(out), nowhere) {
			t.Errorf("hab sup run with an unreachable server and a timeout: %v (after %s)\n%s", err, time.Since(began), out)
		}
		if strings.Contains(string(out), "Starting ctl-gateway") {
			t.Errorf("the supervisor started before giving up:\n%s", out)
		}
	}
}

// TestSupEventStreamUpdate: a service updated by its at-once worker
// sends the update's start (the release running and the one it moves
// to, with the service's update configuration), then its stop and its
// start with the new release; its health checks (no hook) are OK; the
// supervisor stopping sends its stop. The URL's token wins over
// --event-stream-token.
func TestSupEventStreamUpdate(t *testing.T) {
	e := newSupEnv(t)
	var harts []string
	var rels []ident.Ident
	for range 2 {
		harts = append(harts, e.buildService("evupd", nil))
		rels = append(rels, ident.MustParse(fmt.Sprintf("habtest/evupd/0.1.0/%d", e.release)))
	}
	c, url := depottest.Start(t, crypto.Cache{Dir: e.keys}, "habtest", harts...)
	ctx := context.Background()
	// The root has the first release only: the second comes from the depot.
	var out, errb bytes.Buffer
	if code := run(ctx, []string{"pkg", "uninstall", rels[1].String()}, strings.NewReader(""), &out, &errb, func(k string) string { return e.env[k] }); code != 0 {
		t.Fatalf("uninstall %s: %s%s", rels[1], out.String(), errb.String())
	}
	if err := c.Promote(ctx, "stable", rels[0], ident.X86_64Linux); err != nil {
		t.Fatal(err)
	}
	srv := eventstreamtest.Start(t, eventstreamtest.Options{Token: "tok"})
	e.env["HAB_UPDATE_STRATEGY_PERIOD_MS"] = "100"
	e.env["HAB_UPDATE_STRATEGY_PERIOD_BYPASS_CHECK"] = "1"
	s := e.startSup("--event-stream-url", "nats://tok@"+srv.Addr, "--event-stream-application", "shop", "--event-stream-environment", "prod", "--event-stream-token", "unused", "--event-stream-connect-timeout", "30")
	s.mustHab("", "svc", "load", "habtest/evupd", "--strategy", "at-once", "--url", url, "--channel", "stable")
	wantPkg := func(id ident.Ident) func(eventstreamtest.Event) bool {
		return func(ev eventstreamtest.Event) bool {
			return eventstreamtest.Field(ev.Fields, "service_metadata", "package_ident") == id.String()
		}
	}
	_, i := srv.WaitFor(t, 0, eventstream.SubjectServiceStarted, wantPkg(rels[0]))
	// Without a health-check hook: OK while the process runs, and no
	// hook's duration, exit status or output.
	h, _ := srv.WaitFor(t, i, eventstream.SubjectHealthCheck, wantPkg(rels[0]))
	for _, k := range []string{"result", "execution", "exit_status", "stdout", "stderr"} {
		if v := eventstreamtest.Field(h.Fields, k); v != nil {
			t.Errorf("health check without a hook has %s %v", k, v)
		}
	}
	if eventstreamtest.Field(h.Fields, "interval") == nil {
		t.Errorf("health check without an interval: %v", h.Fields)
	}
	if err := c.Promote(ctx, "stable", rels[1], ident.X86_64Linux); err != nil {
		t.Fatal(err)
	}
	upd, i := srv.WaitFor(t, i, eventstream.SubjectServiceUpdateStarted, wantPkg(rels[0]))
	// AtOnce is the strategy enum's zero, which proto3 leaves out.
	if got, want := eventstreamtest.Field(upd.Fields, "service_metadata", "update_config"), map[string]any{"channel": "stable"}; !reflect.DeepEqual(got, want) {
		t.Errorf("update_config = %#v, want %#v", got, want)
	}
	if got := eventstreamtest.Field(upd.Fields, "update_package_ident"); got != rels[1].String() {
		t.Errorf("update_package_ident = %v, want %s", got, rels[1])
	}
	_, i = srv.WaitFor(t, i, eventstream.SubjectServiceStopped, wantPkg(rels[0]))
	_, i = srv.WaitFor(t, i, eventstream.SubjectServiceStarted, wantPkg(rels[1]))
	// The supervisor stopping stops its service, whose event goes out
	// before the stream closes.
	s.cmd.Process.Signal(syscall.SIGTERM)
	<-s.done
	srv.WaitFor(t, i, eventstream.SubjectServiceStopped, wantPkg(rels[1]))
}
