package ctltls

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// Pick reads a path given for a certificate, key or CA certificate as
// the original does: a directory means its newest generated pair (the
// certificate or the key of it, as key says), anything else is the file.
func Pick(path string, key bool) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("control gateway TLS: %w", err)
	}
	if !st.IsDir() {
		return path, nil
	}
	f, err := Latest(path)
	if err != nil {
		return "", fmt.Errorf("control gateway TLS: %w", err)
	}
	if key {
		return f.Key, nil
	}
	return f.Certificate, nil
}

// pool reads the PEM certificates of a CA file (or directory, see Pick).
func pool(path string) (*x509.CertPool, error) {
	file, err := Pick(path, false)
	if err != nil {
		return nil, err
	}
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("control gateway TLS: read CA certificates: %w", err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("control gateway TLS: no PEM certificate in %s", file)
	}
	return p, nil
}

// pair loads a certificate and its key (each a file or directory).
func pair(certPath, keyPath string) (tls.Certificate, error) {
	crt, err := Pick(certPath, false)
	if err != nil {
		return tls.Certificate{}, err
	}
	key, err := Pick(keyPath, true)
	if err != nil {
		return tls.Certificate{}, err
	}
	c, err := tls.LoadX509KeyPair(crt, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("control gateway TLS: certificate %s and key %s: %w", crt, key, err)
	}
	return c, nil
}

// ServerConfig is the control gateway's TLS: its certificate and key,
// and, when clientCA is given, clients must present a certificate that
// CA signed (hab sup run --ctl-server-certificate, --ctl-server-key,
// --ctl-client-ca-certificate).
func ServerConfig(cert, key, clientCA string) (*tls.Config, error) {
	c, err := pair(cert, key)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{c}, MinVersion: tls.VersionTLS12}
	if clientCA != "" {
		p, err := pool(clientCA)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs, cfg.ClientAuth = p, tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// ClientConfig is a control client's TLS: the server is verified against
// serverCA under serverName; cert and key, when key is given, are the
// client's certificate (cli.toml's ctl_server_ca_certificate,
// ctl_server_name_indication, ctl_client_certificate, ctl_client_key).
func ClientConfig(serverCA, serverName, cert, key string) (*tls.Config, error) {
	p, err := pool(serverCA)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{RootCAs: p, ServerName: serverName, MinVersion: tls.VersionTLS12}
	if key != "" {
		if cert == "" {
			cert = key
		}
		c, err := pair(cert, key)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	return cfg, nil
}
