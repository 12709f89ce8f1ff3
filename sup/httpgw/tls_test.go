package httpgw

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pki is a certificate authority with a server certificate for 127.0.0.1
// and a client certificate, written as PEM files.
type pki struct {
	caFile, certFile, keyFile string
	pool                      *x509.CertPool
	client                    tls.Certificate
	other                     tls.Certificate // signed by another CA
}

func newPKI(t *testing.T) pki {
	t.Helper()
	dir := t.TempDir()
	ca, caKey := authority(t, "test CA")
	otherCA, otherKey := authority(t, "another CA")
	srvDER, srvKey := leaf(t, ca, caKey, x509.ExtKeyUsageServerAuth)
	p := pki{
		caFile:   filepath.Join(dir, "ca.pem"),
		certFile: filepath.Join(dir, "server.pem"),
		keyFile:  filepath.Join(dir, "server.key"),
		pool:     x509.NewCertPool(),
	}
	p.pool.AddCert(ca)
	writePEM(t, p.caFile, "CERTIFICATE", ca.Raw)
	writePEM(t, p.certFile, "CERTIFICATE", srvDER)
	writePEM(t, p.keyFile, "EC PRIVATE KEY", marshalKey(t, srvKey))
	cliDER, cliKey := leaf(t, ca, caKey, x509.ExtKeyUsageClientAuth)
	p.client = tls.Certificate{Certificate: [][]byte{cliDER}, PrivateKey: cliKey}
	othDER, othKey := leaf(t, otherCA, otherKey, x509.ExtKeyUsageClientAuth)
	p.other = tls.Certificate{Certificate: [][]byte{othDER}, PrivateKey: othKey}
	return p
}

func authority(t *testing.T, name string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func leaf(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, usage x509.ExtKeyUsage) ([]byte, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "hab"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return der, key
}

func marshalKey(t *testing.T, k *ecdsa.PrivateKey) []byte {
	t.Helper()
	b, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writePEM(t *testing.T, path, kind string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestGatewayTLS: with --certs and --key the gateway answers HTTPS only;
// with --ca-certs too, only clients with a certificate of that authority.
func TestGatewayTLS(t *testing.T) {
	p := newPKI(t)
	fetch := func(base string, certs ...tls.Certificate) (int, error) {
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.pool, Certificates: certs}}}
		resp, err := c.Get(base + "/services")
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}

	base := strings.Replace(serve(t, Options{CertFile: p.certFile, KeyFile: p.keyFile}), "http://", "https://", 1)
	if code, err := fetch(base); err != nil || code != 200 {
		t.Errorf("HTTPS with the server's authority trusted: %d, %v", code, err)
	}
	if resp, err := http.Get(strings.Replace(base, "https://", "http://", 1) + "/services"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("plain HTTP answered 200 on a TLS gateway")
		}
	}
	if _, err := http.Get(base + "/services"); err == nil {
		t.Error("a client that does not trust the authority connected")
	}

	mutual := strings.Replace(serve(t, Options{CertFile: p.certFile, KeyFile: p.keyFile, CAFile: p.caFile}), "http://", "https://", 1)
	if code, err := fetch(mutual, p.client); err != nil || code != 200 {
		t.Errorf("client certificate of the authority: %d, %v", code, err)
	}
	if code, err := fetch(mutual); err == nil {
		t.Errorf("no client certificate: answered %d", code)
	}
	if code, err := fetch(mutual, p.other); err == nil {
		t.Errorf("client certificate of another authority: answered %d", code)
	}
}
