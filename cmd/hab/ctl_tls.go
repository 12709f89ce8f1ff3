package main

import (
	"crypto/tls"
	"net"

	"github.com/habgo/hab/core/cliconfig"
	"github.com/habgo/hab/sup/ctltls"
)

// ctlClientTLS is the control client's TLS from cli.toml (cfg), as the
// original's: ctl_server_ca_certificate turns it on (the supervisor is
// verified against it, under ctl_server_name_indication or else the
// host of addr), ctl_client_key (with ctl_client_certificate) adds a
// client certificate. Without a CA the connection is plain (nil).
func ctlClientTLS(cfg *cliconfig.Config, addr string) (*tls.Config, error) {
	if cfg.CtlServerCACertificate == "" {
		return nil, nil
	}
	name := cfg.CtlServerNameIndication
	if name == "" {
		name, _, _ = net.SplitHostPort(addr)
	}
	return ctltls.ClientConfig(cfg.CtlServerCACertificate, name, cfg.CtlClientCertificate, cfg.CtlClientKey)
}
