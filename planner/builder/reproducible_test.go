package builder

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ulikunitz/xz"

	"github.com/habgo/hab/core/hart"
)

// hartEntryTimes returns the distinct mtimes of a hart's entries.
func hartEntryTimes(t *testing.T, path string) map[time.Time]int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	if _, err := hart.ReadHeader(r); err != nil {
		t.Fatal(err)
	}
	zr, err := xz.NewReader(r)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	times := map[time.Time]int{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return times
		}
		if err != nil {
			t.Fatal(err)
		}
		times[h.ModTime.UTC()]++
	}
}

// awaitNextSecond returns once the wall clock has moved to a later
// second than at, so that files written after it carry other mtimes.
func awaitNextSecond(at time.Time) {
	for time.Now().Unix() <= at.Unix() {
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReproducibleHelloChain builds the C fixtures (greetdata, libgreet,
// hello) twice in the same root with the same releases, at different
// times: the harts (payload and signature) are byte-identical, every
// entry carries the release's time, the build saw SOURCE_DATE_EPOCH, and
// the cached hart is readable by others (0644) like the copy in results/.
func TestReproducibleHelloChain(t *testing.T) {
	needTools(t, "gcc", "make")
	e := newEnv(t)
	chain := []string{"greetdata", "libgreet", "hello"}
	buildAll := func() map[string][]byte {
		e.release.Store(20260101000000)
		harts := map[string][]byte{}
		for _, name := range chain {
			res := e.build(fixture(name))
			for _, p := range []string{res.Artifact, res.CachedArtifact} {
				fi, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != 0o644 {
					t.Errorf("%s has mode %v, want 0644", p, fi.Mode().Perm())
				}
			}
			data, err := os.ReadFile(res.Artifact)
			if err != nil {
				t.Fatal(err)
			}
			harts[name] = data
			want := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(len(harts)) * time.Second)
			times := hartEntryTimes(t, res.Artifact)
			if len(times) != 1 || times[want] == 0 {
				t.Errorf("%s: entry times %v, want all %v (the release's time)", name, times, want)
			}
		}
		return harts
	}
	first := buildAll()
	awaitNextSecond(time.Now())
	if err := os.RemoveAll(e.root); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(e.work, "results")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(e.root, 0o755); err != nil {
		t.Fatal(err)
	}
	second := buildAll()
	for _, name := range chain {
		if !bytes.Equal(first[name], second[name]) {
			t.Errorf("%s: two builds of the same release differ (%d and %d bytes)", name, len(first[name]), len(second[name]))
		}
	}
}

// TestSourceDateEpoch: the caller's SOURCE_DATE_EPOCH is every entry's
// time and what the plan sees; without it the plan sees the release's
// time; a malformed one is refused before anything is built.
func TestSourceDateEpoch(t *testing.T) {
	plan := `pkg_name=epoch
pkg_origin=habtest
pkg_version=0.1.0
seen_at_load="$SOURCE_DATE_EPOCH"
do_build() { return 0; }
do_install() {
  mkdir -p "$pkg_prefix/share"
  echo "load=$seen_at_load build=$SOURCE_DATE_EPOCH" > "$pkg_prefix/share/epoch"
  date -u -d "@$SOURCE_DATE_EPOCH" +%Y%m%d%H%M%S >> "$pkg_prefix/share/epoch"
}
`
	dir := writePlan(t, map[string]string{"plan.sh": plan})
	cases := []struct {
		name, setting, release string
		want                   time.Time
	}{
		{"release time", "", "20240229235959", time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC)},
		{"caller's epoch", "1000000000", "20240229235959", time.Unix(1000000000, 0).UTC()},
		{"epoch zero", "0", "20240301000000", time.Unix(0, 0).UTC()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			if c.setting != "" {
				e.extra = []string{"SOURCE_DATE_EPOCH=" + c.setting}
			}
			opts := e.options(nil)
			opts.Release = c.release
			res, err := Build(context.Background(), dir, opts)
			if err != nil {
				t.Fatal(err)
			}
			got := readFile(t, filepath.Join(res.Prefix, "share", "epoch"))
			sec := c.want.Unix()
			want := "load=" + itoa(sec) + " build=" + itoa(sec) + "\n" + c.want.Format("20060102150405") + "\n"
			if got != want {
				t.Errorf("the plan saw %q, want %q", got, want)
			}
			for _, h := range []string{res.Artifact, res.CachedArtifact} {
				if fi, err := os.Stat(h); err != nil || fi.Mode().Perm() != 0o644 {
					t.Errorf("%s: %v %v, want mode 0644 (readable by others)", h, fi, err)
				}
			}
			if times := hartEntryTimes(t, res.Artifact); len(times) != 1 || times[c.want] == 0 {
				t.Errorf("entry times %v, want all %v", times, c.want)
			}
		})
	}
	for _, bad := range []string{"yesterday", "-1", "1e9", "99999999999999999999", " 1"} {
		e := newEnv(t)
		e.extra = []string{"SOURCE_DATE_EPOCH=" + bad}
		var out bytes.Buffer
		_, err := Build(context.Background(), dir, e.options(&out))
		if err == nil || !strings.Contains(err.Error(), "SOURCE_DATE_EPOCH") || ExitStatus(err) != 1 {
			t.Errorf("SOURCE_DATE_EPOCH=%q: %v, want an error naming it", bad, err)
		}
		if _, err := os.Stat(filepath.Join(e.root, "hab", "pkgs")); !os.IsNotExist(err) {
			t.Errorf("SOURCE_DATE_EPOCH=%q: the build started (%v)", bad, err)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
