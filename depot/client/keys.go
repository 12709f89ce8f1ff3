package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/habgo/hab/core/crypto"
)

// KeyRevision is one revision of an origin's public signing key.
type KeyRevision struct {
	Origin   string `json:"origin"`
	Revision string `json:"revision"`
	Location string `json:"location"`
}

// KeyDownload is a key file as a depot sends it.
type KeyDownload struct {
	Filename string // the depot's x-filename (not trusted as a path)
	Data     []byte
}

// maxKeyFile bounds a key file (they are a few hundred bytes).
const maxKeyFile = 64 << 10

// OriginKeys lists an origin's public key revisions, newest first.
func (c *Client) OriginKeys(ctx context.Context, origin string) ([]KeyRevision, error) {
	if err := checkOrigin(origin); err != nil {
		return nil, err
	}
	var out []KeyRevision
	if _, err := c.call(ctx, &request{method: http.MethodGet, segments: []string{"depot", "origins", origin, "keys"}, expect: []int{http.StatusOK}}, &out); err != nil {
		return nil, fmt.Errorf("list the keys of origin %s: %w", origin, err)
	}
	return out, nil
}

// keyDownload fetches a key file; the original requires x-filename.
func (c *Client) keyDownload(ctx context.Context, what string, auth bool, segments ...string) (*KeyDownload, error) {
	res, err := c.send(ctx, &request{method: http.MethodGet, segments: segments, auth: auth, expect: []int{http.StatusOK}})
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", what, err)
	}
	defer res.Body.Close()
	name := res.Header.Get("X-Filename")
	if name == "" {
		return nil, fmt.Errorf("download %s: the depot's answer has no x-filename header", what)
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", what, err)
	}
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("download %s: the depot sent more than %d bytes, no key file is that large", what, maxKeyFile)
	}
	return &KeyDownload{Filename: name, Data: data}, nil
}

// OriginPublicKey downloads a public signing key revision ("latest" for
// the newest).
func (c *Client) OriginPublicKey(ctx context.Context, origin, rev string) (*KeyDownload, error) {
	if err := checkOrigin(origin); err != nil {
		return nil, err
	}
	if rev != "latest" {
		if err := (crypto.NamedRevision{Name: origin, Revision: rev}).Validate(); err != nil {
			return nil, err
		}
	}
	return c.keyDownload(ctx, fmt.Sprintf("public key %s-%s", origin, rev), false, "depot", "origins", origin, "keys", rev)
}

// OriginSecretKey downloads the origin's latest secret signing key
// (members only).
func (c *Client) OriginSecretKey(ctx context.Context, origin string) (*KeyDownload, error) {
	if err := checkOrigin(origin); err != nil {
		return nil, err
	}
	return c.keyDownload(ctx, "the secret key of origin "+origin, true, "depot", "origins", origin, "secret_keys", "latest")
}

// OriginEncryptionKey downloads the origin's public encryption key (the
// depot makes one when it has none).
func (c *Client) OriginEncryptionKey(ctx context.Context, origin string) (*KeyDownload, error) {
	if err := checkOrigin(origin); err != nil {
		return nil, err
	}
	return c.keyDownload(ctx, "the encryption key of origin "+origin, true, "depot", "origins", origin, "encryption_key")
}

// UploadOriginPublicKey uploads a public signing key file. It reports
// false when the depot already has that revision (409), which the
// original treats as success ("using existing").
func (c *Client) UploadOriginPublicKey(ctx context.Context, kf *crypto.KeyFile) (bool, error) {
	if kf.Type != crypto.SigPublic {
		return false, fmt.Errorf("upload key %s: a %s, not a public signing key", kf.NamedRevision, kf.Type)
	}
	if err := kf.NamedRevision.Validate(); err != nil {
		return false, err
	}
	data := kf.Encode()
	status, err := c.call(ctx, &request{method: http.MethodPost, segments: []string{"depot", "origins", kf.Name, "keys", kf.Revision},
		body: bytesBody(data), size: int64(len(data)), ctype: "text/plain", auth: true, expect: []int{http.StatusOK, http.StatusCreated, http.StatusConflict}}, nil)
	if err != nil {
		return false, fmt.Errorf("upload public key %s: %w", kf.NamedRevision, err)
	}
	return status != http.StatusConflict, nil
}

// UploadOriginSecretKey uploads a secret signing key file.
func (c *Client) UploadOriginSecretKey(ctx context.Context, kf *crypto.KeyFile) error {
	if kf.Type != crypto.SigSecret {
		return fmt.Errorf("upload key %s: a %s, not a secret signing key", kf.NamedRevision, kf.Type)
	}
	if err := kf.NamedRevision.Validate(); err != nil {
		return err
	}
	data := kf.Encode()
	// The original's client accepts only 200 while Builder answers 201;
	// both are success here.
	_, err := c.call(ctx, &request{method: http.MethodPost, segments: []string{"depot", "origins", kf.Name, "secret_keys", kf.Revision},
		body: bytesBody(data), size: int64(len(data)), ctype: "text/plain", auth: true, expect: []int{http.StatusOK, http.StatusCreated}}, nil)
	if err != nil {
		return fmt.Errorf("upload secret key %s: %w", kf.NamedRevision, err)
	}
	return nil
}

// ErrUnexpectedKey is wrapped when a depot sends a key other than the one
// asked for.
var ErrUnexpectedKey = errors.New("the depot sent another key than the one asked for")

// ParseDownloadedKey parses a downloaded key file and checks that it is of
// type kt for origin (and revision rev, unless rev is "" or "latest").
// The depot's x-filename is never used as a path: the key is stored under
// its own parsed name.
func ParseDownloadedKey(kd *KeyDownload, kt crypto.KeyType, origin, rev string) (*crypto.KeyFile, error) {
	kf, err := crypto.ParseKeyFile(kd.Data, "the key the depot sent as "+crypto.QuoteName(kd.Filename))
	if err != nil {
		return nil, err
	}
	if kf.Type != kt || kf.Name != origin || (rev != "" && rev != "latest" && kf.Revision != rev) {
		want := origin
		if rev != "" && rev != "latest" {
			want += "-" + rev
		}
		return nil, fmt.Errorf("%w: asked for the %s %s, got the %s %s", ErrUnexpectedKey, kt, want, kf.Type, kf.NamedRevision)
	}
	return kf, nil
}
