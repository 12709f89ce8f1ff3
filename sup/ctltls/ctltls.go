// Package ctltls makes and finds the supervisor's self-signed TLS
// certificate and key (hab sup secret generate-tls), in the original's
// files: ctl-gateway-REVISION.crt.pem and ctl-gateway-REVISION.key.pem
// (PEM, ECDSA P-256, the key PKCS #8) in FS_ROOT/hab/cache/keys/ctl,
// the newest revision winning. They serve the control gateway's TLS as in
// the original, and are a certificate and key any TLS server reads, such
// as the HTTP gateway's (hab sup run --key/--certs).
package ctltls

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/habgo/hab/core/atomicfile"
	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/paths"
)

// Name is the files' name before the revision, and CommonName the
// certificate subject's, as the original's.
const (
	Name       = "ctl-gateway"
	CommonName = "Habitat Supervisor Control Gateway"
	crtExt     = ".crt.pem"
	keyExt     = ".key.pem"
)

// Dir is the default directory of the files, FS_ROOT/hab/cache/keys/ctl
// (the original's /hab/cache/keys/ctl, for every user).
func Dir(r paths.Root) string { return r.Join("hab", "cache", "keys", "ctl") }

// Files are the paths of one generated pair.
type Files struct {
	Certificate, Key string
}

// Generate writes a new self-signed certificate for dnsName and
// localhost, and its private key, into dir (made when missing), named by
// the revision of now. Either both files are written or neither is.
func Generate(dir, dnsName string, now time.Time) (Files, error) {
	if err := CheckDNSName(dnsName); err != nil {
		return Files{}, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Files{}, fmt.Errorf("generate the control gateway's key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return Files{}, fmt.Errorf("generate the control gateway's certificate: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: CommonName},
		DNSNames:     slices.Compact([]string{dnsName, "localhost"}),
		// The original's (rcgen's) validity: from 1975 to 4096.
		NotBefore:             time.Date(1975, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(4096, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return Files{}, fmt.Errorf("generate the control gateway's certificate: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return Files{}, fmt.Errorf("encode the control gateway's key: %w", err)
	}
	base := filepath.Join(dir, crypto.NewRevision(Name, now).String())
	f := Files{Certificate: base + crtExt, Key: base + keyExt}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Files{}, fmt.Errorf("generate TLS files in %s: %w", dir, err)
	}
	err = writeAll(map[string]file{
		f.Certificate: {pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644},
		f.Key:         {pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600},
	})
	if err != nil {
		return Files{}, err
	}
	return f, nil
}

type file struct {
	data []byte
	mode os.FileMode
}

// writeAll writes every file, each whole (core/atomicfile), or none: on
// failure those already written are removed. An existing file is never
// replaced, even one that appears while they are written.
func writeAll(files map[string]file) error {
	for path := range files {
		if _, err := os.Lstat(path); err == nil {
			return fmt.Errorf("write %s: it exists already", path)
		}
	}
	var done []string
	for path, f := range files {
		if err := atomicfile.WriteFile(path, f.data, f.mode, atomicfile.NoReplace(), atomicfile.Durable()); err != nil {
			for _, d := range done {
				os.Remove(d)
			}
			return fmt.Errorf("write %s: %w", path, err)
		}
		done = append(done, path)
	}
	return nil
}

// CheckDNSName accepts a DNS name as a certificate's subject alternative
// name: dot-separated labels of letters, digits and hyphens (not at a
// label's ends), at most 63 bytes each and 253 in all, and not an IP
// address, as the original's check (rustls' DnsName) does.
func CheckDNSName(s string) error {
	bad := func(why string) error {
		return fmt.Errorf("invalid DNS name %q for --subject-alternative-name: %s", s, why)
	}
	name := strings.TrimSuffix(s, ".")
	switch {
	case name == "":
		return bad("empty")
	case len(name) > 253:
		return bad("longer than 253 bytes")
	case net.ParseIP(name) != nil:
		return bad("an IP address, not a name")
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 {
			return bad("each dot-separated label must have 1 to 63 characters")
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return bad(fmt.Sprintf("label %q starts or ends with a hyphen", label))
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return bad(fmt.Sprintf("label %q has %q (letters, digits, hyphens and underscores only)", label, r))
			}
		}
	}
	return nil
}

// ErrNone is wrapped when a directory holds no generated pair.
var ErrNone = errors.New("no control gateway TLS files")

// Latest is the newest pair in dir (the greatest revision whose
// certificate and key both exist).
func Latest(dir string) (Files, error) {
	crts, err := filepath.Glob(filepath.Join(dir, Name+"-*"+crtExt))
	if err != nil {
		return Files{}, err
	}
	slices.Sort(crts)
	for i := len(crts) - 1; i >= 0; i-- {
		f := Files{Certificate: crts[i], Key: strings.TrimSuffix(crts[i], crtExt) + keyExt}
		if st, err := os.Stat(f.Key); err == nil && st.Mode().IsRegular() {
			return f, nil
		}
	}
	return Files{}, fmt.Errorf("%w in %s (hab sup secret generate-tls makes them)", ErrNone, dir)
}
