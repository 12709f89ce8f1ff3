package server_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/habgo/hab/core/hart"
	"github.com/habgo/hab/depot"
	"github.com/habgo/hab/depot/server"
)

// signedByNeurosisKey lists the conformance harts signed by the one
// neurosis key the conformance data has.
func signedByNeurosisKey(t *testing.T) (ok, other []string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(builderPath(t), "*.hart"))
	odd, _ := filepath.Glob(filepath.Join(builderPath(t, "oddversions"), "*.hart"))
	fake, _ := filepath.Glob(filepath.Join(builderPath(t, "fake"), "*.hart"))
	if len(fake) == 0 {
		t.Fatal("no tampered hart under fake/")
	}
	for _, f := range append(append(files, odd...), fake...) {
		h, err := hart.ReadHeaderFile(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		if h.KeyName == neurosisKey {
			ok = append(ok, f)
		} else {
			other = append(other, f)
		}
	}
	if len(ok) < 20 || len(other) == 0 {
		t.Fatalf("conformance harts: %d signed by %s, %d by others", len(ok), neurosisKey, len(other))
	}
	return ok, other
}

// TestConformanceUploadDownload uploads every real hart the neurosis key
// signed, downloads each byte-identical, and sees the others refused with
// the missing key named.
func TestConformanceUploadDownload(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.neurosis()
		e.createOrigin("bobo", "xmen")
		good, other := signedByNeurosisKey(t)
		for _, f := range good {
			id, tgt := hartIdent(t, f)
			r := e.upload("bobo", f, "")
			if tgt == "x86_64-linux-kernel2" {
				// Not a target this depot serves (the original's default set).
				e.want(r, 501, "upload "+f)
				continue
			}
			e.want(r, 201, "upload "+f)
			if got, want := string(r.body), "/pkgs/"+id+"/download"; got != want {
				t.Errorf("upload body %q, want %q", got, want)
			}
			if loc := r.header.Get("Location"); !strings.HasPrefix(loc, "/v1/depot/pkgs/"+id+"?") {
				t.Errorf("Location %q", loc)
			}
			d := e.want(e.do("GET", "/v1/depot/pkgs/"+id+"/download?target="+tgt, "", nil), 200, "download "+id)
			orig, _ := os.ReadFile(f)
			if !bytes.Equal(d.body, orig) {
				t.Errorf("download of %s (%s) differs from the uploaded file", id, tgt)
			}
			if got := d.header.Get("X-Filename"); got != filepath.Base(f) {
				t.Errorf("x-filename %q, want %q", got, filepath.Base(f))
			}
			// The same again: 409, stored once.
			e.want(e.upload("bobo", f, ""), 409, "second upload of "+f)
		}
		for _, f := range other {
			h, _ := hart.ReadHeaderFile(context.Background(), f)
			r := e.want(e.upload("bobo", f, ""), 422, "upload of "+f+" signed by a key not uploaded")
			if !strings.Contains(r.String(), h.KeyName) {
				t.Errorf("refusal %q does not name the missing key %s", r, h.KeyName)
			}
			id, tgt := hartIdent(t, f)
			e.want(e.do("GET", "/v1/depot/pkgs/"+id+"/download?target="+tgt, "", nil), 404, "download of refused "+id)
		}
	})
}

// TestLatestOddVersions: the odd versions resolve "latest" as the
// original depot's own tests expect, in unstable and by package.
func TestLatestOddVersions(t *testing.T) {
	want := map[string]string{
		"oddversion1": "R16B03-1/20190510185500",
		"oddversion2": "19.227-19/20190510223644",
		"oddversion3": "7u80/20190510225040",
		"oddversion4": "1.0.2r/20190510235906",
		"oddversion5": "1.7.3/20190513181032",
		"oddversion6": "2.0/20190513194234",
		"oddversion7": "19.1.0.dev-cloud/20190531174711",
		"oddversion8": "5/20190617213102",
	}
	eachStore(t, func(t *testing.T, e *env) {
		e.neurosis()
		odd, _ := filepath.Glob(filepath.Join(builderPath(t, "oddversions"), "*.hart"))
		for _, f := range odd {
			e.want(e.upload("bobo", f, ""), 201, "upload "+f)
		}
		for name, vr := range want {
			for _, path := range []string{
				"/v1/depot/pkgs/neurosis/" + name + "/latest?target=x86_64-linux",
				"/v1/depot/channels/neurosis/unstable/pkgs/" + name + "/latest?target=x86_64-linux",
			} {
				var p struct {
					Ident struct{ Version, Release string }
				}
				e.json(e.want(e.do("GET", path, "", nil), 200, path), &p)
				if got := p.Ident.Version + "/" + p.Ident.Release; got != vr {
					t.Errorf("%s: latest %s, want %s", path, got, vr)
				}
			}
			// Never another target's.
			e.want(e.do("GET", "/v1/depot/pkgs/neurosis/"+name+"/latest?target=x86_64-windows", "", nil), 404, name+" latest for windows")
		}
		// Not in stable until promoted.
		e.want(e.do("GET", "/v1/depot/channels/neurosis/stable/pkgs/oddversion6/latest?target=x86_64-linux", "", nil), 404, "stable latest")
		// 1.2.3 is above its betas, as Builder's tests expect of the
		// three before 2.0 is uploaded: promoted together, 1.2.3 is latest.
		for _, vr := range []string{"1.2.3-beta12/20190513194219", "1.2.3/20190513194138", "1.2.3-beta2/20190513194206"} {
			e.want(e.do("PUT", "/v1/depot/channels/neurosis/stable/pkgs/oddversion6/"+vr+"/promote?target=x86_64-linux", "bobo", nil), 200, "promote "+vr)
		}
		var p struct{ Ident struct{ Version string } }
		e.json(e.want(e.do("GET", "/v1/depot/channels/neurosis/stable/pkgs/oddversion6/latest?target=x86_64-linux", "", nil), 200, "stable latest"), &p)
		if p.Ident.Version != "1.2.3" {
			t.Errorf("stable latest of oddversion6 = %s, want 1.2.3", p.Ident.Version)
		}
		// Each package's versions: newest first, with its latest release,
		// one entry per version (Builder's tests check the head and count).
		for name, vr := range want {
			var vs []struct{ Version, Latest string }
			e.json(e.want(e.do("GET", "/v1/depot/pkgs/neurosis/"+name+"/versions", "", nil), 200, name+" versions"), &vs)
			n, _ := filepath.Glob(filepath.Join(builderPath(t, "oddversions"), "neurosis-"+name+"-*.hart"))
			if len(vs) != len(n) || vs[0].Version+"/"+vs[0].Latest != vr {
				t.Errorf("%s versions %+v: want %d, the first %s", name, vs, len(n), vr)
			}
		}
		// Versions newest first, oddversion7's 17.1.0-dev.cloud last.
		var vs []struct{ Version string }
		e.json(e.want(e.do("GET", "/v1/depot/pkgs/neurosis/oddversion7/versions", "", nil), 200, "versions"), &vs)
		if len(vs) != 3 || vs[2].Version != "17.1.0-dev.cloud" {
			t.Errorf("oddversion7 versions %+v, want 3 with 17.1.0-dev.cloud last", vs)
		}
	})
}

// TestUploadRefusals: nothing of a refused upload is stored.
func TestUploadRefusals(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.neurosis()
		e.createOrigin("bobo", "xmen")
		good := builderPath(t, "neurosis-testapp-0.1.13-20190511004436-x86_64-linux.hart")
		orig, _ := os.ReadFile(good)
		sum := blakeHex(orig)
		const id = "neurosis/testapp/0.1.13/20190511004436"
		tampered := bytes.Clone(orig)
		tampered[len(tampered)-100] ^= 0x55
		cases := []struct {
			name   string
			path   string
			body   []byte
			status int
			text   string
		}{
			{"tampered payload", id + "?checksum=" + sum, tampered, 422, "differs"},
			{"truncated", id + "?checksum=" + sum, orig[:len(orig)/2], 422, "differs"},
			{"header only", id + "?checksum=" + sum, orig[:150], 422, ""},
			{"empty body", id + "?checksum=" + sum, nil, 422, "ds:up:0"},
			{"not a hart", id + "?checksum=" + sum, []byte("hello world\n"), 422, "ds:up:0"},
			{"wrong checksum", id + "?checksum=" + strings.Repeat("ab", 32), orig, 422, "ds:up:3"},
			{"no checksum", id, orig, 422, "checksum"},
			{"ident differs from URL", "neurosis/testapp/0.1.13/20190511004437?checksum=" + sum, orig, 422, "ds:up:6"},
			{"name differs from URL", "neurosis/other/0.1.13/20190511004436?checksum=" + sum, orig, 422, "ds:up:6"},
			{"target differs from URL", id + "?target=x86_64-windows&checksum=" + sum, orig, 422, "target"},
			{"bad target", id + "?target=nope&checksum=" + sum, orig, 422, "target"},
			{"foreign origin", "xmen/testapp/0.1.13/20190511004436?checksum=" + sum, orig, 422, neurosisKey},
			{"dot-dot release", "neurosis/testapp/0.1.13/%2e%2e?checksum=" + sum, orig, 400, ".."},
			{"not fully qualified", "neurosis/testapp/0.1.13?checksum=" + sum, orig, 405, ""},
			{"bad name", "neurosis/te$t/0.1.13/20190511004436?checksum=" + sum, orig, 422, ""},
			{"unknown origin", "nobody/testapp/0.1.13/20190511004436?checksum=" + sum, orig, 404, ""},
		}
		for _, c := range cases {
			r := e.do("POST", "/v1/depot/pkgs/"+c.path, "bobo", bytes.NewReader(c.body))
			if r.status != c.status || !strings.Contains(r.String(), c.text) {
				t.Errorf("%s: %d %q, want %d containing %q", c.name, r.status, r, c.status, c.text)
			}
		}
		for _, path := range []string{"neurosis/testapp", "xmen/testapp"} {
			var page struct {
				TotalCount int `json:"total_count"`
			}
			e.json(e.want(e.do("GET", "/v1/depot/pkgs/"+path, "bobo", nil), 200, "list"), &page)
			if page.TotalCount != 0 {
				t.Errorf("%s: %d packages stored after refused uploads", path, page.TotalCount)
			}
		}
		assertNoBlobs(t, e)
		// And the good one goes in afterwards.
		e.want(e.upload("bobo", good, ""), 201, "upload")
	})
}

// assertNoBlobs checks that the blob store holds no blob and that no
// temporary or staged file is left.
func assertNoBlobs(t *testing.T, e *env) {
	t.Helper()
	if n, err := e.dp.Blobs.Count(context.Background()); err != nil || n != 0 {
		t.Errorf("%d blobs stored (%v)", n, err)
	}
	for _, dir := range []string{"blobs/tmp", "staging/tmp"} {
		entries, _ := os.ReadDir(filepath.Join(e.data, dir))
		for _, en := range entries {
			t.Errorf("left behind in %s: %s", dir, en.Name())
		}
	}
}

// TestMaxUploadSize: a package over the limit is refused with 413 and
// nothing is kept.
func TestMaxUploadSize(t *testing.T) {
	e := newEnv(t, "", 1000)
	e.neurosis()
	f := builderPath(t, "neurosis-testapp-0.1.13-20190511004436-x86_64-linux.hart")
	e.want(e.upload("bobo", f, ""), 413, "oversized upload")
	assertNoBlobs(t, e)
	// Chunked (no Content-Length): refused while streaming.
	orig, _ := os.ReadFile(f)
	sum := blakeHex(orig)
	r := e.do("POST", "/v1/depot/pkgs/neurosis/testapp/0.1.13/20190511004436?checksum="+sum, "bobo", struct{ *bytes.Reader }{bytes.NewReader(orig)})
	e.want(r, 413, "chunked oversized upload")
	assertNoBlobs(t, e)
	e.want(e.do("GET", "/v1/depot/pkgs/neurosis/testapp/0.1.13/20190511004436", "", nil), 404, "show")
}

// TestPackageReads covers show, list, versions, search, channels of a
// release, and visibility.
func TestPackageReads(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.neurosis()
		good, _ := signedByNeurosisKey(t)
		for _, f := range good {
			e.upload("bobo", f, "")
		}
		const id = "neurosis/testapp/0.1.13/20190511004436"
		var p map[string]any
		r := e.want(e.do("GET", "/v1/depot/pkgs/"+id, "", nil), 200, "show")
		e.json(r, &p)
		for _, k := range []string{"id", "owner_id", "name", "ident", "ident_array", "checksum", "manifest", "config", "target", "deps", "tdeps",
			"build_deps", "build_tdeps", "exposes", "visibility", "created_at", "updated_at", "origin", "package_type", "channels", "is_a_service", "size"} {
			if _, ok := p[k]; !ok {
				t.Errorf("package JSON lacks %s: %s", k, r)
			}
		}
		if _, isStr := p["id"].(string); !isStr {
			t.Errorf("id %v is not a JSON string", p["id"])
		}
		if p["manifest"] != "" || p["visibility"] != "public" || p["package_type"] != "Standard" {
			t.Errorf("show: manifest %q visibility %v type %v", p["manifest"], p["visibility"], p["package_type"])
		}
		if ts, _ := p["created_at"].(string); len(ts) != len("2024-01-02T03:04:05.123456") || strings.ContainsAny(ts, "Z+") {
			t.Errorf("created_at %q is not a naive timestamp with microseconds", ts)
		}
		if chs := fmt.Sprint(p["channels"]); chs != "[unstable]" {
			t.Errorf("channels %s", chs)
		}
		var native map[string]any
		e.json(e.want(e.do("GET", "/v1/depot/pkgs/neurosis/native-testapp/0.1.0/20220824122359", "", nil), 200, "show native"), &native)
		if native["package_type"] != "Native" {
			t.Errorf("native-testapp package_type %v", native["package_type"])
		}

		// List: 50 per page, 206 while more follow, descending idents.
		var page struct {
			RangeStart int `json:"range_start"`
			RangeEnd   int `json:"range_end"`
			TotalCount int `json:"total_count"`
			Data       []struct {
				Origin, Name, Version, Release string
				Platforms                      []string
			}
		}
		e.json(e.want(e.do("GET", "/v1/depot/pkgs/neurosis/testapp", "", nil), 200, "list"), &page)
		if page.TotalCount != 2 || page.Data[0].Version != "0.1.4" || fmt.Sprint(page.Data[0].Platforms) != "[x86_64-windows]" {
			t.Errorf("list testapp: %+v", page)
		}
		e.json(e.want(e.do("GET", "/v1/depot/pkgs/neurosis?distinct=true", "", nil), 200, "distinct"), &page)
		if page.TotalCount != 10 || page.Data[0].Name != "native-testapp" {
			t.Errorf("distinct: %+v", page)
		}

		// Search.
		var sr struct {
			TotalCount int `json:"total_count"`
			Data       []struct{ Origin, Name string }
		}
		e.json(e.want(e.do("GET", "/v1/depot/pkgs/search/oddversion?distinct=true", "", nil), 200, "search"), &sr)
		if sr.TotalCount != 8 {
			t.Errorf("search oddversion distinct: %+v", sr)
		}
		e.json(e.want(e.do("GET", "/v1/depot/pkgs/search/testapp", "", nil), 200, "search"), &sr)
		if sr.TotalCount != 3 {
			t.Errorf("search testapp: %+v", sr)
		}

		// Channels of a release.
		var chs []struct{ Name string }
		e.json(e.want(e.do("GET", "/v1/depot/pkgs/"+id+"/channels?target=x86_64-linux", "", nil), 200, "channels"), &chs)
		if len(chs) != 1 || chs[0].Name != "unstable" {
			t.Errorf("channels %+v", chs)
		}
		e.want(e.do("GET", "/v1/depot/pkgs/neurosis/nope/1/2/channels", "", nil), 200, "channels of a missing package")

		// Private: invisible (404, never 403) to outsiders, visible to members.
		e.want(e.do("PATCH", "/v1/depot/pkgs/"+id+"/hidden", "bobo", nil), 422, "hidden by PATCH")
		e.want(e.do("PATCH", "/v1/depot/pkgs/"+id+"/private", "bobo", nil), 200, "make private")
		for _, tok := range []string{"", "mystique"} {
			e.want(e.do("GET", "/v1/depot/pkgs/"+id, tok, nil), 404, "private show as "+tok)
			e.want(e.do("GET", "/v1/depot/pkgs/"+id+"/download", tok, nil), 404, "private download as "+tok)
			e.want(e.do("GET", "/v1/depot/pkgs/neurosis/testapp/latest", tok, nil), 404, "private latest as "+tok)
			e.want(e.do("GET", "/v1/depot/channels/neurosis/unstable/pkgs/testapp/latest", tok, nil), 404, "private channel latest as "+tok)
			e.json(e.want(e.do("GET", "/v1/depot/pkgs/search/testapp", tok, nil), 200, "search"), &sr)
			if sr.TotalCount != 2 {
				t.Errorf("search as %q sees %d testapp releases, want 2 (the private one hidden)", tok, sr.TotalCount)
			}
		}
		e.json(e.want(e.do("GET", "/v1/depot/pkgs/search/testapp", "bobo", nil), 200, "search as owner"), &sr)
		if sr.TotalCount != 3 {
			t.Errorf("search as the owner sees %d testapp releases, want 3 (the private one too)", sr.TotalCount)
		}
		e.want(e.do("GET", "/v1/depot/pkgs/"+id, "bobo", nil), 200, "private show as owner")
		e.want(e.do("GET", "/v1/depot/pkgs/"+id+"/download", "bobo", nil), 200, "private download as owner")
	})
}

// creatingBlobs is a depot's real blob store that counts the blobs it is
// asked to create.
type creatingBlobs struct {
	depot.BlobStore
	created *atomic.Int32
}

func (c creatingBlobs) Create(ctx context.Context) (server.BlobWriter, error) {
	c.created.Add(1)
	return c.BlobStore.Create(ctx)
}

// TestReuploadWritesNoSecondCopy: a hart whose blob is stored already is
// verified as ever and not written again, and a claim of a stored blob's
// digest gets nothing past the verification: tampered bytes, or another
// good hart sent with the stored one's checksum, are refused and change
// nothing.
func TestReuploadWritesNoSecondCopy(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		var created atomic.Int32
		srv := server.New(server.Config{Store: e.dp.Store, Blobs: creatingBlobs{e.dp.Blobs, &created}, DevAuth: true})
		ts := httptest.NewServer(srv)
		t.Cleanup(ts.Close)
		c := &env{t: t, url: ts.URL, dp: e.dp, data: e.data}
		c.neurosis()
		good := builderPath(t, "neurosis-testapp-0.1.13-20190511004436-x86_64-linux.hart")
		orig, _ := os.ReadFile(good)
		sum := blakeHex(orig)
		const id = "neurosis/testapp/0.1.13/20190511004436"
		c.want(c.upload("bobo", good, ""), 201, "first upload")
		if n := created.Load(); n != 1 {
			t.Fatalf("first upload created %d blobs, want 1", n)
		}
		c.want(c.upload("bobo", good, "&forced=true"), 201, "forced re-upload")
		if n := created.Load(); n != 1 {
			t.Errorf("a re-upload of a stored blob created %d blobs in all, want 1", n)
		}
		tampered := bytes.Clone(orig)
		tampered[len(tampered)-100] ^= 0x55
		other := builderPath(t, "oddversions")
		odd, _ := filepath.Glob(filepath.Join(other, "*.hart"))
		if len(odd) == 0 {
			t.Fatal("no hart under oddversions/")
		}
		otherBytes, _ := os.ReadFile(odd[0])
		otherID, _ := hartIdent(t, odd[0])
		for _, bad := range []struct {
			name, path string
			body       []byte
			text       string
		}{
			{"tampered", id, tampered, "differs"},
			{"truncated", id, orig[:len(orig)-1], "differs"},
			{"another hart with the stored checksum", otherID, otherBytes, "ds:up:3"},
		} {
			r := c.do("POST", "/v1/depot/pkgs/"+bad.path+"?checksum="+sum+"&forced=true", "bobo", bytes.NewReader(bad.body))
			if r.status != 422 || !strings.Contains(r.String(), bad.text) {
				t.Errorf("%s: %d %q, want 422 containing %q", bad.name, r.status, r, bad.text)
			}
		}
		if n, err := e.dp.Blobs.Count(context.Background()); err != nil || n != 1 {
			t.Errorf("%d blobs stored (%v), want 1", n, err)
		}
		var page struct {
			TotalCount int `json:"total_count"`
		}
		c.json(c.want(c.do("GET", "/v1/depot/pkgs/"+strings.Join(strings.Split(otherID, "/")[:2], "/"), "bobo", nil), 200, "list"), &page)
		if page.TotalCount != 0 {
			t.Errorf("%d releases of %s stored after the refused upload", page.TotalCount, otherID)
		}
		body := c.want(c.do("GET", "/v1/depot/pkgs/"+id+"/download", "bobo", nil), 200, "download").body
		if !bytes.Equal(body, orig) {
			t.Errorf("the download differs from the hart uploaded (%d bytes, want %d)", len(body), len(orig))
		}
	})
}
