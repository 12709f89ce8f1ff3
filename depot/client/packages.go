package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/habgo/hab/core/ident"
)

// IdentJSON is an ident as the API writes it (version and release may be
// null).
type IdentJSON struct {
	Origin  string `json:"origin"`
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	Release string `json:"release,omitempty"`
}

// Ident converts it.
func (j IdentJSON) Ident() ident.Ident {
	return ident.Ident{Origin: j.Origin, Name: j.Name, Version: j.Version, Release: j.Release}
}

// Package is a release as the depot describes it. Nothing in it is
// trusted for installation: the hart's own signed metadata is.
type Package struct {
	Ident      IdentJSON   `json:"ident"`
	Checksum   string      `json:"checksum"`
	Target     string      `json:"target"`
	Deps       []IdentJSON `json:"deps"`
	TDeps      []IdentJSON `json:"tdeps"`
	Visibility string      `json:"visibility"`
	Channels   []string    `json:"channels"`
	Size       int64       `json:"size,omitempty"`
	CreatedAt  string      `json:"created_at,omitempty"`
}

// PackageChannel is one channel a release is in.
type PackageChannel struct {
	Name       string `json:"name"`
	CreatedAt  string `json:"created_at,omitempty"`
	PromotedAt string `json:"promoted_at,omitempty"`
}

func checkIdent(id ident.Ident, full bool) error {
	if err := id.Validate(); err != nil {
		return err
	}
	if full && !id.FullyQualified() {
		return fmt.Errorf("%w: %s is not fully qualified (ORIGIN/NAME/VERSION/RELEASE)", ident.ErrInvalid, id)
	}
	return nil
}

func targetQuery(t ident.Target) url.Values { return url.Values{"target": {string(t)}} }

// ChannelLatest is the newest release of want (origin/name, optionally
// with a version) in channel for target, as the original resolves an
// install: GET /depot/channels/{o}/{ch}/pkgs/{n}[/{v}]/latest?target=.
func (c *Client) ChannelLatest(ctx context.Context, channel string, want ident.Ident, target ident.Target) (*Package, error) {
	if err := checkIdent(want, false); err != nil {
		return nil, err
	}
	segs := []string{"depot", "channels", want.Origin, channel, "pkgs", want.Name}
	if want.Version != "" {
		segs = append(segs, want.Version)
	}
	segs = append(segs, "latest")
	var p Package
	if _, err := c.call(ctx, &request{method: http.MethodGet, segments: segs, query: targetQuery(target), expect: []int{http.StatusOK}}, &p); err != nil {
		return nil, fmt.Errorf("latest %s in channel %s for %s: %w", want, channel, target, err)
	}
	return &p, nil
}

// ChannelPackage is a release in channel for target (404 when it is not
// there): GET /depot/channels/{o}/{ch}/pkgs/{n}/{v}/{r}?target=.
func (c *Client) ChannelPackage(ctx context.Context, channel string, id ident.Ident, target ident.Target) (*Package, error) {
	if err := checkIdent(id, true); err != nil {
		return nil, err
	}
	var p Package
	if _, err := c.call(ctx, &request{method: http.MethodGet, segments: []string{"depot", "channels", id.Origin, channel, "pkgs", id.Name, id.Version, id.Release},
		query: targetQuery(target), expect: []int{http.StatusOK}}, &p); err != nil {
		return nil, fmt.Errorf("%s in channel %s for %s: %w", id, channel, target, err)
	}
	return &p, nil
}

// ChannelsWith lists the channels of want's origin that hold a release
// of want for target (what the original suggests when an install finds
// none in its channel).
func (c *Client) ChannelsWith(ctx context.Context, want ident.Ident, target ident.Target) ([]string, error) {
	chs, err := c.Channels(ctx, want.Origin, false)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, ch := range chs {
		if _, err := c.ChannelLatest(ctx, ch, want, target); err == nil {
			out = append(out, ch)
		} else if Status(err) != http.StatusNotFound {
			return out, err
		}
	}
	return out, nil
}

// PackageChannels lists the channels a release is in.
func (c *Client) PackageChannels(ctx context.Context, id ident.Ident, target ident.Target) ([]PackageChannel, error) {
	if err := checkIdent(id, true); err != nil {
		return nil, err
	}
	var out []PackageChannel
	if _, err := c.call(ctx, &request{method: http.MethodGet, segments: []string{"depot", "pkgs", id.Origin, id.Name, id.Version, id.Release, "channels"},
		query: targetQuery(target), expect: []int{http.StatusOK}}, &out); err != nil {
		return nil, fmt.Errorf("channels of %s: %w", id, err)
	}
	return out, nil
}

// Search finds packages whose origin or name match term, at most limit
// (distinct names, as `hab pkg search` lists them), following the depot's
// 206 pages; total is how many the depot counts.
func (c *Client) Search(ctx context.Context, term string, limit int) (found []ident.Ident, total int, err error) {
	term = strings.TrimSpace(term)
	if term == "" {
		return nil, 0, fmt.Errorf("search: empty search term")
	}
	for start := 0; len(found) < limit; {
		var page struct {
			RangeEnd   int         `json:"range_end"`
			TotalCount int         `json:"total_count"`
			Data       []IdentJSON `json:"data"`
		}
		status, err := c.call(ctx, &request{method: http.MethodGet, segments: []string{"depot", "pkgs", "search", term},
			query: url.Values{"range": {strconv.Itoa(start)}, "distinct": {"true"}}, expect: []int{http.StatusOK, http.StatusPartialContent}}, &page)
		if err != nil {
			return nil, 0, fmt.Errorf("search %q: %w", term, err)
		}
		total = page.TotalCount
		for _, d := range page.Data {
			if len(found) < limit {
				found = append(found, d.Ident())
			}
		}
		if status != http.StatusPartialContent || len(page.Data) == 0 {
			break
		}
		start = page.RangeEnd + 1
	}
	return found, total, nil
}

// DeletePackage deletes a release for target (204).
func (c *Client) DeletePackage(ctx context.Context, id ident.Ident, target ident.Target) error {
	if err := checkIdent(id, true); err != nil {
		return err
	}
	_, err := c.call(ctx, &request{method: http.MethodDelete, segments: []string{"depot", "pkgs", id.Origin, id.Name, id.Version, id.Release},
		query: targetQuery(target), auth: true, expect: []int{http.StatusNoContent}}, nil)
	if err != nil {
		return fmt.Errorf("delete %s (%s): %w", id, target, err)
	}
	return nil
}

// Promote adds a release to channel, creating the channel first unless it
// is unstable or stable, which every origin has (a 409 means it exists).
func (c *Client) Promote(ctx context.Context, channel string, id ident.Ident, target ident.Target) error {
	if err := checkIdent(id, true); err != nil {
		return err
	}
	if channel != "unstable" && channel != "stable" {
		if _, err := c.CreateChannel(ctx, id.Origin, channel); err != nil {
			return fmt.Errorf("promote %s to %s: %w", id, channel, err)
		}
	}
	_, err := c.call(ctx, &request{method: http.MethodPut, segments: []string{"depot", "channels", id.Origin, channel, "pkgs", id.Name, id.Version, id.Release, "promote"},
		query: targetQuery(target), auth: true, expect: []int{http.StatusOK}}, nil)
	if err != nil {
		return fmt.Errorf("promote %s (%s) to %s: %w", id, target, channel, err)
	}
	return nil
}

// Demote removes a release from channel.
func (c *Client) Demote(ctx context.Context, channel string, id ident.Ident, target ident.Target) error {
	if err := checkIdent(id, true); err != nil {
		return err
	}
	_, err := c.call(ctx, &request{method: http.MethodPut, segments: []string{"depot", "channels", id.Origin, channel, "pkgs", id.Name, id.Version, id.Release, "demote"},
		query: targetQuery(target), auth: true, expect: []int{http.StatusOK}}, nil)
	if err != nil {
		return fmt.Errorf("demote %s (%s) from %s: %w", id, target, channel, err)
	}
	return nil
}

// Channels lists an origin's channels (with sandbox, bldr-* ones too).
func (c *Client) Channels(ctx context.Context, origin string, sandbox bool) ([]string, error) {
	if err := checkOrigin(origin); err != nil {
		return nil, err
	}
	var q url.Values
	if sandbox {
		q = url.Values{"sandbox": {"true"}}
	}
	var out []struct {
		Name string `json:"name"`
	}
	if _, err := c.call(ctx, &request{method: http.MethodGet, segments: []string{"depot", "channels", origin}, query: q, expect: []int{http.StatusOK}}, &out); err != nil {
		return nil, fmt.Errorf("list channels of origin %s: %w", origin, err)
	}
	names := make([]string, 0, len(out))
	for _, o := range out {
		names = append(names, o.Name)
	}
	return names, nil
}

// checkChannel refuses channel names that cannot be one path segment.
func checkChannel(ch string) error {
	if ch == "" || ch == "." || ch == ".." || strings.ContainsAny(ch, "/\\\x00") {
		return fmt.Errorf("invalid channel name %q", ch)
	}
	return nil
}

// CreateChannel creates a channel; false when it existed (409).
func (c *Client) CreateChannel(ctx context.Context, origin, channel string) (bool, error) {
	if err := checkOrigin(origin); err != nil {
		return false, err
	}
	if err := checkChannel(channel); err != nil {
		return false, err
	}
	status, err := c.call(ctx, &request{method: http.MethodPost, segments: []string{"depot", "channels", origin, channel}, auth: true, expect: []int{http.StatusCreated, http.StatusConflict}}, nil)
	if err != nil {
		return false, fmt.Errorf("create channel %s in origin %s: %w", channel, origin, err)
	}
	return status == http.StatusCreated, nil
}

// DeleteChannel deletes a channel (unstable and stable cannot be).
func (c *Client) DeleteChannel(ctx context.Context, origin, channel string) error {
	if err := checkOrigin(origin); err != nil {
		return err
	}
	if err := checkChannel(channel); err != nil {
		return err
	}
	_, err := c.call(ctx, &request{method: http.MethodDelete, segments: []string{"depot", "channels", origin, channel}, auth: true, expect: []int{http.StatusOK}}, nil)
	if err != nil {
		return fmt.Errorf("destroy channel %s of origin %s: %w", channel, origin, err)
	}
	return nil
}

// PromoteChannel adds every package of channel src to dst; DemoteChannel
// removes them from dst.
func (c *Client) PromoteChannel(ctx context.Context, origin, src, dst string) error {
	return c.channelToChannel(ctx, "promote", origin, src, dst)
}

// DemoteChannel removes the packages of channel src from dst.
func (c *Client) DemoteChannel(ctx context.Context, origin, src, dst string) error {
	return c.channelToChannel(ctx, "demote", origin, src, dst)
}

func (c *Client) channelToChannel(ctx context.Context, op, origin, src, dst string) error {
	if err := checkOrigin(origin); err != nil {
		return err
	}
	for _, ch := range []string{src, dst} {
		if err := checkChannel(ch); err != nil {
			return err
		}
	}
	_, err := c.call(ctx, &request{method: http.MethodPut, segments: []string{"depot", "channels", origin, src, "pkgs", op}, query: url.Values{"channel": {dst}}, auth: true, expect: []int{http.StatusOK}}, nil)
	if err != nil {
		return fmt.Errorf("%s channel %s to %s in origin %s: %w", op, src, dst, origin, err)
	}
	return nil
}

// UploadPackage posts the hart at path as release id for target with its
// BLAKE2b checksum (hex). It reports false when the depot already has the
// release (409), which the original treats as present.
func (c *Client) UploadPackage(ctx context.Context, path string, id ident.Ident, target ident.Target, checksum string, force bool) (bool, error) {
	if err := checkIdent(id, true); err != nil {
		return false, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return false, fmt.Errorf("upload %s: %w", path, err)
	}
	body := func() (io.ReadCloser, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("upload %s: %w", path, err)
		}
		if c.meter == nil {
			return f, nil
		}
		m := c.meter("Uploading "+filepath.Base(path), fi.Size())
		return &meteredBody{r: io.TeeReader(f, m), f: f, m: m}, nil
	}
	q := url.Values{"checksum": {checksum}, "target": {string(target)}, "forced": {strconv.FormatBool(force)}}
	status, err := c.call(ctx, &request{method: http.MethodPost, segments: []string{"depot", "pkgs", id.Origin, id.Name, id.Version, id.Release}, query: q,
		body: body, size: fi.Size(), ctype: "application/octet-stream", auth: true, expect: []int{http.StatusOK, http.StatusCreated, http.StatusConflict}, retry: true}, nil)
	if err != nil {
		return false, fmt.Errorf("upload %s: %w", path, err)
	}
	return status != http.StatusConflict, nil
}

// meteredBody is a file read through a meter, closed together.
type meteredBody struct {
	r io.Reader
	f *os.File
	m Meter
}

func (b *meteredBody) Read(p []byte) (int, error) { return b.r.Read(p) }
func (b *meteredBody) Close() error {
	b.m.Close()
	return b.f.Close()
}

// Download streams the hart of release id for target into dir, under its
// archive name, through a temporary file renamed into place once complete
// (a failed or cancelled download leaves nothing). It returns the path.
// A download cut short or answered 5xx is tried again, as the original.
// Nothing about the content is trusted: the caller verifies it.
func (c *Client) Download(ctx context.Context, id ident.Ident, target ident.Target, dir string) (string, error) {
	if err := checkIdent(id, true); err != nil {
		return "", err
	}
	name, err := id.ArchiveName(target)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("download %s: %w", id, err)
	}
	var dst string
	err = c.retrying(ctx, func() error {
		var err error
		dst, err = c.downloadOnce(ctx, id, target, dir, name)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("download %s (%s): %w", id, target, err)
	}
	return dst, nil
}

func (c *Client) downloadOnce(ctx context.Context, id ident.Ident, target ident.Target, dir, name string) (string, error) {
	res, err := c.send(ctx, &request{method: http.MethodGet, segments: []string{"depot", "pkgs", id.Origin, id.Name, id.Version, id.Release, "download"},
		query: targetQuery(target), expect: []int{http.StatusOK}})
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	if res.Header.Get("X-Filename") == "" {
		return "", fmt.Errorf("the depot's answer has no x-filename header")
	}
	tmp, err := os.CreateTemp(dir, ".hab-download-"+name+"-*")
	if err != nil {
		return "", err
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	var w io.Writer = tmp
	if c.meter != nil {
		m := c.meter("Downloading "+name, res.ContentLength)
		defer m.Close()
		w = io.MultiWriter(tmp, m)
	}
	n, err := io.Copy(w, &ctxReader{ctx: ctx, r: res.Body})
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return "", err
	}
	if res.ContentLength >= 0 && n != res.ContentLength {
		return "", fmt.Errorf("got %d of %d bytes: %w", n, res.ContentLength, io.ErrUnexpectedEOF)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return "", err
	}
	if err := tmp.Sync(); err != nil {
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	dst := filepath.Join(dir, name)
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", err
	}
	ok = true
	return dst, nil
}

// ctxReader stops reading when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r *ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}
