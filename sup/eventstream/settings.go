package eventstream

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// DefaultPort is the NATS port an address without one means.
const DefaultPort = 4222

// Address is a NATS server's address as the original's event stream
// takes it (--event-stream-url): [nats://][AUTH@]HOST[:PORT], AUTH being
// a token or USER:PASSWORD, which wins over --event-stream-token.
type Address struct {
	Host string
	Port uint16
	// HasAuth is true when the address carries its own authorization:
	// Token, or User and Password when it held a colon.
	HasAuth        bool
	Token          string
	User, Password string
}

// ParseAddress reads an --event-stream-url: only the nats scheme, a
// host, and a port that fits 16 bits (DefaultPort when none).
func ParseAddress(s string) (Address, error) {
	bad := func(why string) (Address, error) {
		return Address{}, fmt.Errorf("event stream address %q: %s", s, why)
	}
	rest := s
	if scheme, after, ok := strings.Cut(rest, "://"); ok {
		if scheme != "nats" {
			return bad(fmt.Sprintf("the scheme must be nats, not %q", scheme))
		}
		rest = after
	}
	var a Address
	if auth, after, ok := strings.Cut(rest, "@"); ok {
		a.HasAuth = true
		if user, pass, ok := strings.Cut(auth, ":"); ok {
			a.User, a.Password = user, pass
		} else {
			a.Token = auth
		}
		rest = after
	}
	host, port := rest, ""
	if i := strings.LastIndex(rest, ":"); i >= 0 {
		host, port = rest[:i], rest[i+1:]
		if port == "" {
			return bad("no port after the colon")
		}
	}
	if host == "" {
		return bad("no host")
	}
	a.Host, a.Port = host, DefaultPort
	if port != "" {
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			return bad(fmt.Sprintf("port %q is not a number from 0 to 65535", port))
		}
		a.Port = uint16(n)
	}
	return a, nil
}

// String is the address without its authorization, HOST:PORT.
func (a Address) String() string { return a.Host + ":" + strconv.Itoa(int(a.Port)) }

// ParseMeta reads --event-meta pairs, KEY=VALUE with both non-empty and
// one '=' (the original's rule); a key given twice keeps its last value.
func ParseMeta(pairs []string) (map[string]string, error) {
	meta := map[string]string{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" || v == "" || strings.Contains(v, "=") {
			return nil, fmt.Errorf("event meta %q: not a KEY=VALUE pair of non-empty strings", p)
		}
		meta[k] = v
	}
	return meta, nil
}

// LoadCertificate reads --event-stream-server-certificate: the first
// PEM certificate of the file, which the stream trusts beside the
// system's roots.
func LoadCertificate(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("event stream server certificate: %w", err)
	}
	for rest := b; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			return nil, fmt.Errorf("event stream server certificate %s: no PEM certificate in it", path)
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("event stream server certificate %s: %w", path, err)
		}
		return c, nil
	}
}
