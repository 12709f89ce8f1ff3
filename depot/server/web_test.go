package server_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browser starts Debian's chromium headless (flags that keep it off the
// network) and returns a context driving one tab. Without chromium the
// test skips, except under CI=true where it fails.
func browser(t *testing.T) context.Context {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("chromium is needed for the web page test under CI: %v", err)
		}
		t.Skipf("chromium not installed: %v", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1100, 800),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	return bctx
}

// TestWebPage browses the depot in headless Chromium: origin → package →
// release, the release's channels, its download link serving the uploaded
// bytes; a private package stays invisible to the (anonymous) browser and
// text from uploads is escaped.
func TestWebPage(t *testing.T) {
	e := newEnv(t, "", 0)
	e.neurosis()
	hartPath := builderPath(t, "neurosis-testapp-0.1.13-20190511004436-x86_64-linux.hart")
	e.want(e.upload("bobo", hartPath, ""), 201, "upload testapp")
	e.want(e.do("PUT", "/v1/depot/channels/neurosis/stable/pkgs/testapp/0.1.13/20190511004436/promote", "bobo", nil), 200, "promote")

	// acme: a public package whose manifest carries markup, and a private one.
	e.createOrigin("bobo", "acme")
	key := e.generatedKey("bobo", "acme")
	evil := `<script>document.title="owned"</script><b id="injected">x</b>`
	e.want(e.post("bobo", "acme/shown/1.0.0/20240101000000", buildHart(t, key, "acme/shown/1.0.0/20240101000000", map[string]string{"MANIFEST": evil}), ""), 201, "upload shown")
	e.want(e.do("PUT", "/v1/depot/origins/acme", "bobo", strings.NewReader(`{"default_package_visibility":"private"}`)), 204, "default private")
	e.want(e.post("bobo", "acme/privy/1.0.0/20240101000000", buildHart(t, key, "acme/privy/1.0.0/20240101000000", map[string]string{}), ""), 201, "upload private")

	ctx := browser(t)
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	get := func(a chromedp.Action[string]) string {
		t.Helper()
		v, err := chromedp.Run(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	do("open the index", chromedp.Navigate(e.url+"/"), chromedp.WaitVisible(chromedp.CSS("#origins")))
	origins := get(chromedp.Text(chromedp.CSS("#origins")))
	do("open origin neurosis", chromedp.Click(chromedp.CSS(`a[href="/pkgs/neurosis"]`)), chromedp.WaitVisible(chromedp.CSS("#packages")))
	packages := get(chromedp.Text(chromedp.CSS("#packages")))
	do("open package testapp", chromedp.Click(chromedp.CSS(`a[href="/pkgs/neurosis/testapp"]`)), chromedp.WaitVisible(chromedp.CSS("#releases")))
	releases := get(chromedp.Text(chromedp.CSS("#releases")))
	do("open the release", chromedp.Click(chromedp.CSS(`a[href="/pkgs/neurosis/testapp/0.1.13/20190511004436"]`)), chromedp.WaitVisible(chromedp.CSS(".channels")))
	channels := get(chromedp.Text(chromedp.CSS(".channels")))
	attr, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("a.download"), "href"))
	if err != nil {
		t.Fatal(err)
	}
	href := attr.Value
	for _, c := range []struct{ what, got, want string }{
		{"origins", origins, "neurosis"}, {"origins", origins, "acme"},
		{"packages", packages, "testapp"}, {"releases", releases, "20190511004436"},
		{"channels", channels, "stable"}, {"channels", channels, "unstable"},
	} {
		if !strings.Contains(c.got, c.want) {
			t.Errorf("%s shows %q, want %q in it", c.what, c.got, c.want)
		}
	}

	// The screenshot of the release page (kept with go test -artifacts).
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("screenshot is not a PNG")
	}
	if err := os.WriteFile(filepath.Join(t.ArtifactDir(), "release.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}

	// The download link serves the uploaded bytes under the hart's name.
	want, err := os.ReadFile(hartPath)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Get(e.url + href)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !bytes.Equal(got, want) {
		t.Errorf("download %s: status %d, %d bytes, want the %d bytes uploaded", href, res.StatusCode, len(got), len(want))
	}
	if cd := res.Header.Get("Content-Disposition"); !strings.Contains(cd, filepath.Base(hartPath)) {
		t.Errorf("download names %q, want %s", cd, filepath.Base(hartPath))
	}

	// The private package is not listed; its pages answer 404; the markup
	// in the public one's manifest is shown as text.
	do("open origin acme", chromedp.Navigate(e.url+"/pkgs/acme"), chromedp.WaitVisible(chromedp.CSS("#packages")))
	acme := get(chromedp.Text(chromedp.CSS("#packages")))
	do("open acme/shown", chromedp.Navigate(e.url+"/pkgs/acme/shown/1.0.0/20240101000000"), chromedp.WaitReady(chromedp.CSS(".manifest")))
	manifest := get(chromedp.TextContent(chromedp.CSS(".manifest")))
	title := get(chromedp.Title())
	injected, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("injected") !== null`))
	if err != nil {
		t.Fatal(err)
	}
	do("open acme/privy", chromedp.Navigate(e.url+"/pkgs/acme/privy"), chromedp.WaitReady(chromedp.CSS("body")))
	privyPage := get(chromedp.Text(chromedp.CSS("body")))
	if !strings.Contains(acme, "shown") || strings.Contains(acme, "privy") {
		t.Errorf("acme lists %q: want shown and not the private privy", acme)
	}
	if !strings.Contains(manifest, evil) || title == "owned" || injected {
		t.Errorf("manifest markup not escaped: text %q, title %q, injected element %v", manifest, title, injected)
	}
	if !strings.Contains(privyPage, "not found") {
		t.Errorf("private package's page shows %q to an anonymous browser", privyPage)
	}
	for path, want := range map[string]int{
		"/pkgs/acme/privy":                      404,
		"/pkgs/acme/privy/1.0.0/20240101000000": 404,
		"/pkgs/nobody":                          404,
		"/channels/acme/nosuch":                 404,
		"/pkgs/bad%20origin":                    422,
		"/search?q=privy":                       200,
	} {
		r := e.do("GET", path, "", nil)
		if r.status != want || strings.Contains(r.String(), "/download") || strings.Contains(r.String(), "<a href=\"/pkgs/acme/privy") {
			t.Errorf("GET %s: %d %q, want %d showing nothing of the private release", path, r.status, r, want)
		}
	}
	// Its owner, sending a token, sees it.
	r := e.want(e.do("GET", "/pkgs/acme/privy/1.0.0/20240101000000", "bobo", nil), 200, "private release to its owner")
	if !strings.Contains(r.String(), "/v1/depot/pkgs/acme/privy/1.0.0/20240101000000/download?target=x86_64-linux") {
		t.Errorf("owner's page has no download link: %s", r)
	}
	r = e.want(e.do("GET", "/search?q=privy", "bobo", nil), 200, "search as the owner")
	if !strings.Contains(r.String(), `href="/pkgs/acme/privy/1.0.0/20240101000000"`) {
		t.Errorf("owner's search lacks the private release: %s", r)
	}
	r = e.want(e.do("GET", "/channels/neurosis/stable", "", nil), 200, "stable channel page")
	if !strings.Contains(r.String(), `href="/pkgs/neurosis/testapp/0.1.13/20190511004436"`) {
		t.Errorf("stable channel page lacks testapp: %s", r)
	}
}
