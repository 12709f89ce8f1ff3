package builder

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
	"syscall"
	"time"

	"github.com/habgo/hab/planner/shell"
)

// HTTPDoer sends HTTP requests (*http.Client).
type HTTPDoer interface {
	Do(*http.Request) (*http.Response, error)
}

// downloadFile is download_file URL FILE [SHASUM]: a file already in the
// source cache with the expected checksum is reused; otherwise the source
// is fetched into HAB_CACHE_SRC_PATH/FILE. http(s) downloads resume a
// partial FILE.part left by an interrupted download; file:// URLs and
// plain paths (relative to PLAN_CONTEXT) are copied.
func (b *builder) downloadFile(ctx context.Context, c *shell.Call) error {
	src, name, sha := c.Arg(1), c.Arg(2), c.Arg(3)
	if name == "" {
		name = filepath.Base(src)
	}
	if !filepath.IsAbs(name) && !filepath.IsLocal(name) {
		return b.failWith(c, "download %s: %q is not a file name in the source cache (HAB_CACHE_SRC_PATH)", src, name)
	}
	dst := srcPath(c, name)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return b.failWith(c, "download %s: %v", src, err)
	}
	if _, err := os.Stat(dst); err == nil && sha != "" {
		buildLine(c, fmt.Sprintf("Found previous file '%s', attempting to re-use", name))
		if b.checksumOK(c, name, sha) {
			buildLine(c, fmt.Sprintf("Using cached and verified '%s'", name))
			b.failure = ""
			return nil
		}
		b.failure = ""
		buildLine(c, fmt.Sprintf("Clearing previous '%s' file and re-attempting download", name))
		if err := removeBeneath(c.Get("HAB_CACHE_SRC_PATH"), dst); err != nil {
			return b.failWith(c, "download %s: %v", src, err)
		}
	}
	buildLine(c, fmt.Sprintf("Downloading '%s' to '%s'", src, name))
	var err error
	u, perr := url.Parse(src)
	switch {
	case perr == nil && (u.Scheme == "http" || u.Scheme == "https"):
		err = b.fetchHTTP(ctx, c, src, dst)
	case perr == nil && u.Scheme == "file":
		err = copyLocal(u.Path, dst)
	case perr == nil && u.Scheme != "" && len(u.Scheme) > 1:
		err = fmt.Errorf("unsupported URL scheme %q", u.Scheme)
	default:
		p := src
		if !filepath.IsAbs(p) {
			p = filepath.Join(c.Get("PLAN_CONTEXT"), p)
		}
		err = copyLocal(p, dst)
	}
	if err != nil {
		warnLine(c, fmt.Sprintf("Download of '%s' failed: %v", src, err))
		return b.failWith(c, "download %s: %v", src, err)
	}
	buildLine(c, fmt.Sprintf("Downloaded '%s'", name))
	return nil
}

// copyLocal copies a local source into the cache keeping its own mode
// (an executable installer stays executable), through dst.part, never
// writing through a link found at either name.
func copyLocal(src, dst string) error {
	in, err := os.Open(src)
	if os.IsNotExist(err) {
		return fmt.Errorf("source file %s does not exist", src)
	}
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("source %s is not a regular file", src)
	}
	mode := fi.Mode().Perm()
	tmp := dst + ".part"
	if err := os.Remove(tmp); err != nil && !os.IsNotExist(err) {
		return err
	}
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY|syscall.O_NOFOLLOW, mode|0o200)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Chmod(mode) // past the umask
	}
	if err != nil {
		out.Close()
		os.Remove(tmp)
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if err := out.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, dst)
}

// fetchHTTP downloads url into dst through dst.part, resuming a partial
// download with a Range request, and prints progress.
func (b *builder) fetchHTTP(ctx context.Context, c *shell.Call, src, dst string) error {
	client := b.opts.HTTPClient
	if client == nil {
		client = &http.Client{}
	}
	part := dst + ".part"
	var have int64
	if fi, err := os.Stat(part); err == nil {
		have = fi.Size()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "hab-plan-build")
	if have > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	flags := os.O_CREATE | os.O_WRONLY
	total := resp.ContentLength
	switch {
	case resp.StatusCode == http.StatusPartialContent && have > 0:
		flags |= os.O_APPEND
		buildLine(c, fmt.Sprintf("Resuming download of '%s' at byte %d", filepath.Base(dst), have))
		if total >= 0 {
			total += have
		}
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && have > 0:
		// The partial file is complete already.
		return os.Rename(part, dst)
	case resp.StatusCode == http.StatusOK:
		flags |= os.O_TRUNC
		have = 0
	default:
		return fmt.Errorf("GET %s: %s", src, resp.Status)
	}
	f, err := os.OpenFile(part, flags, 0o644)
	if err != nil {
		return err
	}
	pw := &progress{c: c, name: filepath.Base(dst), done: have, total: total, last: time.Now()}
	_, err = io.Copy(io.MultiWriter(f, pw), resp.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		// The partial file stays for the next attempt to resume.
		return fmt.Errorf("GET %s: %w", src, err)
	}
	if total >= 0 && pw.done != total {
		return fmt.Errorf("GET %s: got %d of %d bytes", src, pw.done, total)
	}
	pw.report(true)
	return os.Rename(part, dst)
}

// progress prints download progress at most once a second.
type progress struct {
	c           *shell.Call
	name        string
	done, total int64
	last        time.Time
}

func (p *progress) Write(b []byte) (int, error) {
	p.done += int64(len(b))
	if time.Since(p.last) >= time.Second {
		p.report(false)
		p.last = time.Now()
	}
	return len(b), nil
}

func (p *progress) report(final bool) {
	msg := fmt.Sprintf("%s: %s", p.name, humanBytes(p.done))
	if p.total > 0 {
		msg += fmt.Sprintf(" of %s (%d%%)", humanBytes(p.total), p.done*100/p.total)
	}
	if final {
		msg += ", done"
	}
	fmt.Fprintln(p.c.Stdout(), "    "+msg)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", float64(n)/(1<<20)), ".0") + " MiB"
	case n >= 1<<10:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", float64(n)/(1<<10)), ".0") + " KiB"
	}
	return fmt.Sprintf("%d B", n)
}
