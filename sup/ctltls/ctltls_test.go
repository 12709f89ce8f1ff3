package ctltls

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestGenerate: a pair in the original's names and modes; the
// certificate is self-signed for the name and localhost, and the key is
// its key (Go's TLS loads the pair); Latest finds the newest revision.
func TestGenerate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys", "ctl")
	old, err := Generate(dir, "sup.example.com", time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	f, err := Generate(dir, "sup.example.com", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "ctl-gateway-20260102030405.crt.pem"); f.Certificate != want {
		t.Errorf("certificate %s, want %s", f.Certificate, want)
	}
	if want := filepath.Join(dir, "ctl-gateway-20260102030405.key.pem"); f.Key != want {
		t.Errorf("key %s, want %s", f.Key, want)
	}
	for path, mode := range map[string]os.FileMode{f.Certificate: 0o644, f.Key: 0o600} {
		if st, err := os.Stat(path); err != nil || st.Mode().Perm() != mode {
			t.Errorf("%s: %v, mode %v, want %v", path, err, st.Mode().Perm(), mode)
		}
	}
	pair, err := tls.LoadX509KeyPair(f.Certificate, f.Key)
	if err != nil {
		t.Fatalf("the pair does not load: %v", err)
	}
	crt, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(crt.DNSNames, []string{"sup.example.com", "localhost"}) || crt.Subject.CommonName != CommonName {
		t.Errorf("certificate names %v, subject %q", crt.DNSNames, crt.Subject.CommonName)
	}
	roots := x509.NewCertPool()
	roots.AddCert(crt)
	for _, name := range []string{"sup.example.com", "localhost"} {
		if _, err := crt.Verify(x509.VerifyOptions{DNSName: name, Roots: roots}); err != nil {
			t.Errorf("verify for %s, trusting itself: %v", name, err)
		}
	}
	if _, err := crt.Verify(x509.VerifyOptions{DNSName: "other.example.com", Roots: roots}); err == nil {
		t.Error("verified for a name it does not carry")
	}
	latest, err := Latest(dir)
	if err != nil || latest != f {
		t.Errorf("Latest: %v %v, want %v (not %v)", latest, err, f, old)
	}
	// A certificate whose key is missing is passed over.
	if err := os.Remove(f.Key); err != nil {
		t.Fatal(err)
	}
	if latest, err := Latest(dir); err != nil || latest != old {
		t.Errorf("Latest without the newest key: %v %v, want %v", latest, err, old)
	}
	if _, err := Latest(t.TempDir()); !errors.Is(err, ErrNone) {
		t.Errorf("Latest of an empty directory: %v", err)
	}
}

// TestGenerateRefuses: bad names, an existing revision and a directory
// that cannot be written are errors naming the thing, with nothing
// written.
func TestGenerateRefuses(t *testing.T) {
	for _, tt := range []struct{ name, want string }{
		{"", "empty"},
		{"127.0.0.1", "an IP address"},
		{"bad..name", "label"},
		{"-bad.example", "hyphen"},
		{"bad name", `has ' '`},
		{strings.Repeat("a", 64) + ".example", "63"},
	} {
		dir := t.TempDir()
		_, err := Generate(dir, tt.name, time.Now())
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "--subject-alternative-name") {
			t.Errorf("Generate(%q): %v, want an error with %q", tt.name, err, tt.want)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("Generate(%q) left %d files", tt.name, len(ents))
		}
	}

	dir := t.TempDir()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f, err := Generate(dir, "a.example", now)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(f.Key)
	if _, err := Generate(dir, "a.example", now); err == nil || !strings.Contains(err.Error(), "exists already") {
		t.Errorf("a second pair of the same revision: %v", err)
	}
	if after, _ := os.ReadFile(f.Key); string(after) != string(before) {
		t.Error("the existing key was replaced")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("%d files after the refused pair, want 2", len(ents))
	}

	// A directory that cannot be made (a file is in the way).
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(filepath.Join(blocker, "ctl"), "a.example", now); err == nil || !strings.Contains(err.Error(), blocker) {
		t.Errorf("Generate under a file: %v", err)
	}
}

// TestConfigRefuses: each bad certificate, key or CA path is an error
// naming what is wrong; a directory stands for its newest pair.
func TestConfigRefuses(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "ctl")
	a, err := Generate(dir, "a.example.com", time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate(filepath.Join(root, "other"), "b.example.com", time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(root, "empty")
	notPEM := filepath.Join(root, "ca.txt")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(root, "missing.pem")
	for _, tt := range []struct {
		name string
		make func() error
		want string
	}{
		{"missing certificate", func() error { _, err := ServerConfig(missing, a.Key, ""); return err }, "missing.pem"},
		{"directory without a pair", func() error { _, err := ServerConfig(empty, empty, ""); return err }, ErrNone.Error()},
		{"key of another certificate", func() error { _, err := ServerConfig(a.Certificate, b.Key, ""); return err }, b.Key},
		{"client CA not PEM", func() error { _, err := ServerConfig(dir, dir, notPEM); return err }, "no PEM certificate in " + notPEM},
		{"server CA not PEM", func() error { _, err := ClientConfig(notPEM, "localhost", "", ""); return err }, "no PEM certificate in " + notPEM},
		{"client key missing", func() error { _, err := ClientConfig(dir, "localhost", "", missing); return err }, "missing.pem"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.make()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
	if _, err := ServerConfig(dir, dir, dir); err != nil {
		t.Fatalf("a directory's newest pair: %v", err)
	}
	if _, err := ClientConfig(dir, "localhost", dir, dir); err != nil {
		t.Fatalf("a directory's newest pair as the client's: %v", err)
	}
}
