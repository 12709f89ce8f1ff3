package eventstream_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/habgo/hab/sup/eventstream"
	"github.com/habgo/hab/sup/eventstream/eventstreamtest"
)

var testSup = eventstream.Supervisor{
	ID: "0123456789abcdef0123456789abcdef", IPAddress: "127.0.0.1:9638", FQDN: "box.example.com",
	Application: "shop", Environment: "prod", Site: "eu-west",
	Meta: map[string]string{"team": "web", "tier": "1"},
}

var testSvc = eventstream.Service{
	PackageIdent: "core/redis/7.0.0/20260101000000", SpecIdent: "core/redis", ServiceGroup: "redis.default",
	UpdateStrategy: "rolling", Channel: "stable",
}

func connect(t *testing.T, cfg eventstream.Config) *eventstream.Stream {
	t.Helper()
	s, err := eventstream.Connect(context.Background(), cfg, testSup)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func addr(t *testing.T, s string) eventstream.Address {
	t.Helper()
	a, err := eventstream.ParseAddress(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestEvents publishes every kind of event to a real NATS server that
// wants a token, and decodes what it received with the original's
// event.proto: subjects, the supervisor's metadata (meta, site, time),
// the service's, and each health check's optional parts.
func TestEvents(t *testing.T) {
	srv := eventstreamtest.Start(t, eventstreamtest.Options{Token: "sekrit"})
	before := time.Now()
	s := connect(t, eventstream.Config{Address: addr(t, srv.Addr), Token: "sekrit", ConnectTimeout: 30 * time.Second})
	five, code, out, errs := 5*time.Second, int32(2), "health 2\n", ""
	s.ServiceStarted(testSvc)
	s.ServiceUpdateStarted(testSvc, "core/redis/7.0.1/20260102000000")
	s.HealthChecked(testSvc, eventstream.HealthCheck{Result: "OK", Interval: 30 * time.Second})
	s.HealthChecked(testSvc, eventstream.HealthCheck{Result: "CRITICAL", Execution: &five, ExitStatus: &code, Stdout: &out, Stderr: &errs, Interval: 1500 * time.Millisecond})
	s.HealthChecked(testSvc, eventstream.HealthCheck{Result: "nonsense", Execution: &five, Interval: time.Second})
	none := testSvc
	none.UpdateStrategy, none.Channel = "none", "stable"
	s.ServiceStopped(none)

	started, i := srv.WaitFor(t, 0, eventstream.SubjectServiceStarted, nil)
	md := eventstreamtest.Field(started.Fields, "event_metadata")
	for k, want := range map[string]any{
		"supervisor_id": testSup.ID, "ip_address": "127.0.0.1:9638", "fqdn": "box.example.com",
		"application": "shop", "environment": "prod", "site": "eu-west",
		"meta": map[string]any{"team": "web", "tier": "1"},
	} {
		if got := eventstreamtest.Field(md, k); !reflect.DeepEqual(got, want) {
			t.Errorf("event_metadata.%s = %#v, want %#v", k, got, want)
		}
	}
	at, err := time.Parse(time.RFC3339Nano, eventstreamtest.Field(md, "occurred_at").(string))
	if err != nil || at.Before(before.Truncate(time.Second)) || at.After(time.Now()) {
		t.Errorf("occurred_at %v (%v): not the time the event went out", eventstreamtest.Field(md, "occurred_at"), err)
	}
	wantSvc := map[string]any{
		"package_ident": testSvc.PackageIdent, "spec_ident": "core/redis", "service_group": "redis.default",
		"update_config": map[string]any{"strategy": "Rolling", "channel": "stable"},
	}
	if got := eventstreamtest.Field(started.Fields, "service_metadata"); !reflect.DeepEqual(got, wantSvc) {
		t.Errorf("service_metadata = %#v, want %#v", got, wantSvc)
	}

	upd, i := srv.WaitFor(t, i, eventstream.SubjectServiceUpdateStarted, nil)
	if got := eventstreamtest.Field(upd.Fields, "update_package_ident"); got != "core/redis/7.0.1/20260102000000" {
		t.Errorf("update_package_ident = %v", got)
	}
	for _, tt := range []struct {
		want map[string]any
	}{
		// Ok is the enum's zero: proto3 leaves it out, JSON shows none.
		{map[string]any{"interval": "30s"}},
		{map[string]any{"result": "Critical", "execution": "5s", "exit_status": float64(2), "stdout": "health 2\n", "stderr": "", "interval": "1.500s"}},
		{map[string]any{"result": "Unknown", "execution": "5s", "interval": "1s"}},
	} {
		var h eventstreamtest.Event
		h, i = srv.WaitFor(t, i, eventstream.SubjectHealthCheck, nil)
		got := map[string]any{}
		for k, v := range h.Fields {
			if k != "event_metadata" && k != "service_metadata" {
				got[k] = v
			}
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("health check event = %#v, want %#v", got, tt.want)
		}
		if eventstreamtest.Field(h.Fields, "service_metadata", "service_group") != "redis.default" || eventstreamtest.Field(h.Fields, "event_metadata", "supervisor_id") != testSup.ID {
			t.Errorf("health check event without its metadata: %v", h.Fields)
		}
	}
	stopped, _ := srv.WaitFor(t, i, eventstream.SubjectServiceStopped, nil)
	if got := eventstreamtest.Field(stopped.Fields, "service_metadata", "update_config"); got != nil {
		t.Errorf("a service without an update strategy has update_config %v", got)
	}
}

// TestTLS: a server that requires TLS with a certificate of its own is
// reached with --event-stream-server-certificate's certificate trusted,
// and refused (the connect timeout ends) without it.
func TestTLS(t *testing.T) {
	srv := eventstreamtest.Start(t, eventstreamtest.Options{Token: "tok", TLS: true})
	cert, err := eventstream.LoadCertificate(srv.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	s := connect(t, eventstream.Config{Address: addr(t, srv.Addr), Token: "tok", ServerCertificate: cert, ConnectTimeout: 30 * time.Second})
	s.ServiceStarted(testSvc)
	ev, _ := srv.WaitFor(t, 0, eventstream.SubjectServiceStarted, nil)
	if eventstreamtest.Field(ev.Fields, "service_metadata", "spec_ident") != "core/redis" {
		t.Errorf("event over TLS: %v", ev.Fields)
	}

	_, err = eventstream.Connect(context.Background(), eventstream.Config{Address: addr(t, srv.Addr), Token: "tok", ConnectTimeout: time.Second}, testSup)
	if !errors.Is(err, eventstream.ErrConnect) || !strings.Contains(err.Error(), srv.Addr) {
		t.Errorf("without the server's certificate: %v, want ErrConnect naming %s", err, srv.Addr)
	}
}

// TestConnectTimeout: with a timeout, a server that refuses the token,
// or nothing listening, fails Connect with ErrConnect naming the
// address; an address's own token wins over Config.Token.
func TestConnectTimeout(t *testing.T) {
	srv := eventstreamtest.Start(t, eventstreamtest.Options{Token: "right"})
	for _, tt := range []struct {
		name, addr, token string
	}{
		{"wrong token", srv.Addr, "wrong"},
		{"no token", srv.Addr, ""},
		{"wrong token in the address", "nats://wrong@" + srv.Addr, "right"},
		{"nothing listening", "127.0.0.1:" + strconv.Itoa(eventstreamtest.Port(t)), "right"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := addr(t, tt.addr)
			_, err := eventstream.Connect(context.Background(), eventstream.Config{Address: a, Token: tt.token, ConnectTimeout: time.Second}, testSup)
			if !errors.Is(err, eventstream.ErrConnect) || !strings.Contains(err.Error(), a.String()) || !strings.Contains(err.Error(), "--event-stream-connect-timeout") {
				t.Errorf("Connect: %v, want ErrConnect naming %s and the flag", err, a)
			}
		})
	}
	s := connect(t, eventstream.Config{Address: addr(t, "nats://right@"+srv.Addr), Token: "wrong", ConnectTimeout: 30 * time.Second})
	s.ServiceStarted(testSvc)
	srv.WaitFor(t, 0, eventstream.SubjectServiceStarted, nil)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := eventstream.Connect(ctx, eventstream.Config{Address: addr(t, "127.0.0.1:"+strconv.Itoa(eventstreamtest.Port(t))), ConnectTimeout: time.Hour}, testSup); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled Connect: %v", err)
	}
}

// TestServerDown: without a timeout Connect returns at once whatever the
// server; events while it is down are dropped without blocking the
// caller, and once a server comes up on the address the stream connects
// by itself and later events arrive; when it goes down again the
// stream carries on and reconnects to the next one.
func TestServerDown(t *testing.T) {
	port := eventstreamtest.Port(t)
	s := connect(t, eventstream.Config{Address: addr(t, "127.0.0.1:"+strconv.Itoa(port)), Token: "tok", QueueLength: 4})
	for range 100 {
		s.ServiceStarted(testSvc) // nobody listening: dropped, never blocking
	}
	srv := eventstreamtest.Start(t, eventstreamtest.Options{Token: "tok", Port: port})
	// Published until one arrives: the stream reconnects on its own
	// schedule; the events before that are dropped.
	publishUntilReceived(t, s, srv)
	srv.Shutdown()
	s.ServiceStarted(testSvc) // down again: dropped
	srv2 := eventstreamtest.Start(t, eventstreamtest.Options{Token: "tok", Port: port})
	publishUntilReceived(t, s, srv2)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s.ServiceStarted(testSvc) // after Close: ignored
}

// publishUntilReceived sends stopped events until srv has one.
func publishUntilReceived(t *testing.T, s *eventstream.Stream, srv *eventstreamtest.Server) {
	t.Helper()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(90 * time.Second) // a broken stream fails instead of hanging
	defer deadline.Stop()
	for {
		for _, e := range srv.Events() {
			if e.Subject == eventstream.SubjectServiceStopped {
				return
			}
		}
		select {
		case <-tick.C:
			s.ServiceStopped(testSvc)
		case <-deadline.C:
			t.Fatalf("no event reached the server at %s", srv.Addr)
		}
	}
}

func TestParseAddress(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want eventstream.Address
		bad  string
	}{
		{in: "127.0.0.1", want: eventstream.Address{Host: "127.0.0.1", Port: 4222}},
		{in: "nats://127.0.0.1:90", want: eventstream.Address{Host: "127.0.0.1", Port: 90}},
		{in: "automate.example.com:4222", want: eventstream.Address{Host: "automate.example.com", Port: 4222}},
		{in: "nats://token@my-machine", want: eventstream.Address{Host: "my-machine", Port: 4222, HasAuth: true, Token: "token"}},
		{in: "user:pass@10.0.0.1:1023", want: eventstream.Address{Host: "10.0.0.1", Port: 1023, HasAuth: true, User: "user", Password: "pass"}},
		{in: "http://127.0.0.1:90", bad: `the scheme must be nats, not "http"`},
		{in: "", bad: "no host"},
		{in: "token@", bad: "no host"},
		{in: ":1234", bad: "no host"},
		{in: "domain:", bad: "no port"},
		{in: "domain:100000", bad: `port "100000"`},
		{in: "domain:bad", bad: `port "bad"`},
	} {
		got, err := eventstream.ParseAddress(tt.in)
		if tt.bad != "" {
			if err == nil || !strings.Contains(err.Error(), tt.bad) || !strings.Contains(err.Error(), `"`+tt.in+`"`) {
				t.Errorf("ParseAddress(%q) = %v, %v; want an error naming it and %q", tt.in, got, err, tt.bad)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseAddress(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	if got := addr(t, "nats://tok@h").String(); got != "h:4222" {
		t.Errorf("String() = %q: the token must not show", got)
	}
}

func TestParseMeta(t *testing.T) {
	got, err := eventstream.ParseMeta([]string{"a=1", "b=two", "a=3"})
	if err != nil || !reflect.DeepEqual(got, map[string]string{"a": "3", "b": "two"}) {
		t.Errorf("ParseMeta = %v, %v", got, err)
	}
	for _, bad := range []string{"novalue", "=v", "k=", "k=v=w", ""} {
		if _, err := eventstream.ParseMeta([]string{"ok=1", bad}); err == nil || !strings.Contains(err.Error(), `"`+bad+`"`) {
			t.Errorf("ParseMeta(%q): %v, want an error naming it", bad, err)
		}
	}
}

func TestLoadCertificate(t *testing.T) {
	srv := eventstreamtest.Start(t, eventstreamtest.Options{TLS: true})
	if c, err := eventstream.LoadCertificate(srv.CertFile); err != nil || c.Subject.CommonName != "eventstreamtest" {
		t.Errorf("LoadCertificate = %v, %v", c, err)
	}
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tt := range []struct{ path, want string }{
		{filepath.Join(dir, "missing.pem"), "no such file"},
		{write("text.pem", "not a certificate\n"), "no PEM certificate"},
		{write("key.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), "no PEM certificate"},
		{write("junk.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), "junk.pem"},
	} {
		if _, err := eventstream.LoadCertificate(tt.path); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("LoadCertificate(%s): %v, want %q", tt.path, err, tt.want)
		}
	}
}
