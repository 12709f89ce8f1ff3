// Package cliconfig reads and writes the hab command-line configuration
// file, cli.toml, that `hab setup` writes: the default origin, Builder URL
// and token, Supervisor control gateway secret and refresh channel. It also
// resolves those defaults the way the original does: an environment
// variable first, then cli.toml.
package cliconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/pelletier/go-toml/v2"

	"github.com/habgo/hab/core/atomicfile"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/paths"
)

// DefaultBldrURL is the depot used when neither HAB_BLDR_URL (nor the
// legacy HAB_DEPOT_URL) nor cli.toml names one: a `hab depot serve` on this
// machine (the original's default is its public Builder).
const DefaultBldrURL = "http://localhost:9636"

// DefaultChannel is the channel packages are installed from when neither
// --channel nor HAB_BLDR_CHANNEL names one, as the documentation says.
const DefaultChannel = "stable"

// Environment variables that override cli.toml.
const (
	OriginEnv    = "HAB_ORIGIN"
	AuthTokenEnv = "HAB_AUTH_TOKEN"
	BldrURLEnv   = "HAB_BLDR_URL"
	// DepotURLEnv is the legacy name of HAB_BLDR_URL, still honoured.
	DepotURLEnv       = "HAB_DEPOT_URL"
	BldrChannelEnv    = "HAB_BLDR_CHANNEL"
	CtlSecretEnv      = "HAB_CTL_SECRET"
	RefreshChannelEnv = "HAB_REFRESH_CHANNEL"
	// StudioRefreshChannelEnv is how the refresh channel reaches a studio.
	StudioRefreshChannelEnv = "HAB_STUDIO_SECRET_HAB_REFRESH_CHANNEL"
)

// ErrNoOrigin is wrapped when no default origin is configured anywhere.
var ErrNoOrigin = errors.New("no origin specified")

// Config is the content of cli.toml. Empty fields are left out of the
// file. Keys this version does not know are kept as they were.
type Config struct {
	AuthToken               string `toml:"auth_token,omitempty"`
	RefreshChannel          string `toml:"refresh_channel,omitempty"`
	Origin                  string `toml:"origin,omitempty"`
	CtlSecret               string `toml:"ctl_secret,omitempty"`
	ListenCtl               string `toml:"listen_ctl,omitempty"`
	CtlClientCertificate    string `toml:"ctl_client_certificate,omitempty"`
	CtlClientKey            string `toml:"ctl_client_key,omitempty"`
	CtlServerCACertificate  string `toml:"ctl_server_ca_certificate,omitempty"`
	CtlServerNameIndication string `toml:"ctl_server_name_indication,omitempty"`
	BldrURL                 string `toml:"bldr_url,omitempty"`

	// other holds keys this version does not know, to write them back.
	other map[string]any
}

// fields maps every known key to its field, in one place for Load and Save.
func (c *Config) fields() map[string]*string {
	return map[string]*string{
		"auth_token":                 &c.AuthToken,
		"refresh_channel":            &c.RefreshChannel,
		"origin":                     &c.Origin,
		"ctl_secret":                 &c.CtlSecret,
		"listen_ctl":                 &c.ListenCtl,
		"ctl_client_certificate":     &c.CtlClientCertificate,
		"ctl_client_key":             &c.CtlClientKey,
		"ctl_server_ca_certificate":  &c.CtlServerCACertificate,
		"ctl_server_name_indication": &c.CtlServerNameIndication,
		"bldr_url":                   &c.BldrURL,
	}
}

// Path is where cli.toml lives: ~/.hab/etc/cli.toml for a user with a home
// directory, FS_ROOT/hab/etc/cli.toml for the superuser.
func Path(r paths.Root) string {
	if !r.Root && r.Home != "" {
		return filepath.Join(r.Home, ".hab", "etc", "cli.toml")
	}
	return r.Join("hab", "etc", "cli.toml")
}

// Load reads the cli.toml at path. A missing file is an empty
// configuration, as for a user who never ran `hab setup`.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Config{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read CLI configuration: %w", err)
	}
	return Parse(data, path)
}

// Parse reads cli.toml content; source names it in errors.
func Parse(data []byte, source string) (*Config, error) {
	var raw map[string]any
	if err := toml.Unmarshal(data, &raw); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			return nil, fmt.Errorf("%s:%d:%d: invalid TOML: %v", source, row, col, err)
		}
		return nil, fmt.Errorf("%s: invalid TOML: %w", source, err)
	}
	c := &Config{}
	fields := c.fields()
	for k, v := range raw {
		f, ok := fields[k]
		if !ok {
			if c.other == nil {
				c.other = map[string]any{}
			}
			c.other[k] = v
			continue
		}
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%s: %s must be a string, found %T", source, k, v)
		}
		*f = s
	}
	if c.Origin != "" && !ident.ValidOrigin(c.Origin) {
		return nil, fmt.Errorf("%s: origin %q is not a valid origin name (lowercase letters, digits, _ and -, starting with a letter or digit)", source, c.Origin)
	}
	return c, nil
}

// Marshal renders the configuration as TOML (go-toml sorts the keys).
func (c *Config) Marshal() ([]byte, error) {
	out := map[string]any{}
	for k, v := range c.other {
		out[k] = v
	}
	for k, f := range c.fields() {
		if *f != "" {
			out[k] = *f
		} else {
			delete(out, k)
		}
	}
	data, err := toml.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encode CLI configuration: %w", err)
	}
	return data, nil
}

// Save writes the configuration to path atomically, creating its
// directory. The file is readable by its owner only: it may hold a Builder
// token and a control gateway secret.
func (c *Config) Save(path string) error {
	data, err := c.Marshal()
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err := atomicfile.WriteFile(path, data, 0o600, atomicfile.Durable()); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	return nil
}

// Env reads environment variables (os.Getenv, or a map in tests).
type Env func(string) string

// DefaultOrigin is the origin commands use when none is given: HAB_ORIGIN,
// then cli.toml's origin. It fails, wrapping ErrNoOrigin, when neither is
// set, and names the source of an invalid name.
func DefaultOrigin(getenv Env, r paths.Root) (string, error) {
	if o := getenv(OriginEnv); o != "" {
		if !ident.ValidOrigin(o) {
			return "", fmt.Errorf("%s=%q is not a valid origin name (lowercase letters, digits, _ and -, starting with a letter or digit)", OriginEnv, o)
		}
		return o, nil
	}
	p := Path(r)
	c, err := Load(p)
	if err != nil {
		return "", err
	}
	if c.Origin == "" {
		return "", fmt.Errorf("%w: give one, set %s, or set origin in %s (hab setup)", ErrNoOrigin, OriginEnv, p)
	}
	return c.Origin, nil
}

// AuthToken is the Builder token: HAB_AUTH_TOKEN, then cli.toml; empty
// when neither is set.
func AuthToken(getenv Env, r paths.Root) (string, error) {
	return envThenFile(getenv, r, func(c *Config) string { return c.AuthToken }, AuthTokenEnv)
}

// BldrURL is the Builder to talk to: HAB_BLDR_URL, then HAB_DEPOT_URL,
// then cli.toml, then DefaultBldrURL.
func BldrURL(getenv Env, r paths.Root) (string, error) {
	u, err := envThenFile(getenv, r, func(c *Config) string { return c.BldrURL }, BldrURLEnv, DepotURLEnv)
	if u == "" && err == nil {
		u = DefaultBldrURL
	}
	return u, err
}

// BldrChannel is the channel to install from: HAB_BLDR_CHANNEL, else
// DefaultChannel.
func BldrChannel(getenv Env) string {
	if c := getenv(BldrChannelEnv); c != "" {
		return c
	}
	return DefaultChannel
}

// CtlSecretOr is the Supervisor control gateway secret for remote
// Supervisors: HAB_CTL_SECRET, then c's ctl_secret (c is cli.toml, which
// the control client has loaded for the gateway's address and TLS
// already); empty when neither is set.
func (c *Config) CtlSecretOr(getenv Env) string {
	if v := getenv(CtlSecretEnv); v != "" {
		return v
	}
	return c.CtlSecret
}

// RefreshChannel is the channel core packages are refreshed from during a
// build: HAB_REFRESH_CHANNEL, then HAB_STUDIO_SECRET_HAB_REFRESH_CHANNEL,
// then cli.toml; empty when none is set.
func RefreshChannel(getenv Env, r paths.Root) (string, error) {
	return envThenFile(getenv, r, func(c *Config) string { return c.RefreshChannel }, RefreshChannelEnv, StudioRefreshChannelEnv)
}

func envThenFile(getenv Env, r paths.Root, field func(*Config) string, envs ...string) (string, error) {
	for _, e := range envs {
		if v := getenv(e); v != "" {
			return v, nil
		}
	}
	c, err := Load(Path(r))
	if err != nil {
		return "", err
	}
	return field(c), nil
}
