package ctl

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
)

type echo struct{ calls int }

func (e *echo) Handle(ctx context.Context, cmd string, args json.RawMessage, out func(string)) error {
	e.calls++
	if cmd == "fail" {
		return Errorf(CodeNotFound, "no such thing")
	}
	out("got " + cmd + " " + string(args))
	return nil
}

func TestSecretAndRequests(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &echo{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- (&Server{Secret: "s3cret", Handler: h}).Serve(ctx, ln) }()
	addr := ln.Addr().String()

	var lines []string
	if err := (Client{Addr: addr, Secret: "s3cret"}).Do(ctx, "hello", map[string]int{"a": 1}, func(l string) { lines = append(lines, l) }); err != nil || len(lines) != 1 || lines[0] != `got hello {"a":1}` {
		t.Errorf("Do = %v, %q", err, lines)
	}
	var ce *Error
	if err := (Client{Addr: addr, Secret: "s3cret"}).Do(ctx, "fail", nil, nil); !errors.As(err, &ce) || ce.Code != CodeNotFound {
		t.Errorf("fail = %v", err)
	}
	before := h.calls
	for _, secret := range []string{"wrong", "", "s3cret "} {
		err := (Client{Addr: addr, Secret: secret}).Do(ctx, "hello", nil, nil)
		if !errors.As(err, &ce) || ce.Code != CodeUnauthorized {
			t.Errorf("secret %q: %v, want Unauthorized", secret, err)
		}
	}
	if h.calls != before {
		t.Error("a request with a wrong secret reached the handler")
	}
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
	if err := (Client{Addr: addr, Secret: "s3cret"}).Do(context.Background(), "hello", nil, nil); !errors.Is(err, ErrNoSupervisor) {
		t.Errorf("closed gateway: %v", err)
	}
}

func TestEnsureSecret(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sup", "CTL_SECRET")
	a, err := EnsureSecret(p)
	if err != nil || len(a) < 80 {
		t.Fatalf("EnsureSecret = %q, %v", a, err)
	}
	b, err := EnsureSecret(p)
	if err != nil || a != b {
		t.Errorf("second EnsureSecret = %q, %v", b, err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode())
	}
	os.WriteFile(p, []byte("  \n"), 0o600)
	if _, err := ReadSecret(p); err == nil {
		t.Error("empty secret accepted")
	}
}
