// Package bench holds benchmarks that compare hab with the obvious
// baselines (tar, xz, b2sum) on the same data, in the same run.
package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/hart"
	"github.com/habgo/hab/core/ident"
)

// Limits of the requirements.
const (
	extractLimit    = 1.30 // hab extract / (xz -d | tar -x)
	createTimeLimit = 1.00 // hab write / (tar -c | xz -6)
	createSizeLimit = 1.05 // hart payload / tar.xz
)

// benchKey makes a throw-away origin key and a cache holding it.
func benchKey(tb testing.TB) (*crypto.SigningSecretKey, crypto.Cache) {
	tb.Helper()
	pub, sec, err := crypto.GenerateSigningPair("bench", time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		tb.Fatal(err)
	}
	c := crypto.Cache{Dir: tb.TempDir()}
	if _, err := c.Write(pub.KeyFile()); err != nil {
		tb.Fatal(err)
	}
	return sec, c
}

// findPackage finds the one package under tree/hab/pkgs.
func findPackage(tb testing.TB, tree string) ident.Ident {
	tb.Helper()
	m, err := filepath.Glob(filepath.Join(tree, "hab", "pkgs", "*", "*", "*", "*"))
	if err != nil || len(m) != 1 {
		tb.Fatalf("expected one package under %s/hab/pkgs, found %v %v", tree, m, err)
	}
	rel, _ := filepath.Rel(filepath.Join(tree, "hab", "pkgs"), m[0])
	id, err := ident.ParseFullyQualified(filepath.ToSlash(rel))
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

func shell(tb testing.TB, script string) {
	tb.Helper()
	out, err := exec.Command("bash", "-c", "set -eo pipefail; "+script).CombinedOutput()
	if err != nil {
		tb.Fatalf("%s: %v\n%s", script, err, out)
	}
}

func fileSize(tb testing.TB, p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		tb.Fatal(err)
	}
	return st.Size()
}

func writeHart(tb testing.TB, dst, tree string, id ident.Ident, key *crypto.SigningSecretKey, opts hart.WriteOptions) {
	tb.Helper()
	f, err := os.Create(dst)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := hart.Write(context.Background(), bw, tree, id, key, opts); err != nil {
		tb.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		tb.Fatal(err)
	}
}

// payloadOf copies the payload of a hart to dst.
func payloadOf(tb testing.TB, hartPath, dst string) {
	tb.Helper()
	f, err := os.Open(hartPath)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	if _, err := hart.ReadHeader(br); err != nil {
		tb.Fatal(err)
	}
	out, err := os.Create(dst)
	if err != nil {
		tb.Fatal(err)
	}
	defer out.Close()
	if _, err := io.Copy(out, br); err != nil {
		tb.Fatal(err)
	}
}

// cpuTime is the CPU time (user and system) used so far by this process
// and its waited-for children.
func cpuTime() time.Duration {
	var self, kids syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return tv(self.Utime) + tv(self.Stime) + tv(kids.Utime) + tv(kids.Stime)
}

// run is one timed run: wall and CPU time.
type run struct{ wall, cpu time.Duration }

func (r run) String() string { return secs(r.wall) + " s (cpu " + secs(r.cpu) + " s)" }

// best runs f rounds times and returns the shortest wall time (with the
// CPU time of that run); prep runs before each round, untimed. The
// machine may be shared: the shortest run is the least disturbed.
func best(rounds int, prep func(), f func()) run {
	var min run
	for i := 0; i < rounds; i++ {
		if prep != nil {
			prep()
		}
		c0, t0 := cpuTime(), time.Now()
		f()
		r := run{time.Since(t0), cpuTime() - c0}
		if i == 0 || r.wall < min.wall {
			min = r
		}
	}
	return min
}

func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) }

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// TestHartRatios compares hab with the baselines on the tree named by
// HART_BENCH_TREE (bench/hart.sh builds one and runs this) and prints
// ratio lines. With HART_BENCH_STRICT=1 a ratio over its limit fails.
func TestHartRatios(t *testing.T) {
	tree := os.Getenv("HART_BENCH_TREE")
	if tree == "" {
		t.Skip("set HART_BENCH_TREE to a package tree (bench/hart.sh does) to measure against the baselines")
	}
	for _, tool := range []string{"tar", "xz", "b2sum", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the baselines need %s: %v", tool, err)
		}
	}
	rounds := envInt("HART_BENCH_ROUNDS", 5)
	strict := os.Getenv("HART_BENCH_STRICT") == "1"
	id := findPackage(t, tree)
	prefix := "hab/pkgs/" + strings.Join(id.Parts(), "/")
	key, keys := benchKey(t)
	work := t.TempDir()
	ctx := context.Background()
	over := func(name string, ratio, limit float64) {
		if ratio > limit && strict {
			t.Errorf("%s: ratio %.2f over the limit %.2f", name, ratio, limit)
		}
	}
	var treeBytes int64
	filepath.WalkDir(filepath.Join(tree, prefix), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				treeBytes += fi.Size()
			}
		}
		return nil
	})
	mode, _ := hart.XZAuto.Mode()
	fmt.Printf("tree: %s, %.1f MB in files; xz implementation: %s; %d CPUs; best of %d\n", prefix, float64(treeBytes)/1e6, mode, runtime.NumCPU(), rounds)

	// Create: one round each (the slowest step).
	ours := filepath.Join(work, "ours.hart")
	tHab := best(1, nil, func() { writeHart(t, ours, tree, id, key, hart.WriteOptions{}) })
	base := filepath.Join(work, "base.tar.xz")
	tBase := best(1, nil, func() { shell(t, fmt.Sprintf("tar -C %q -cf - %q | xz -6 > %q && sync %q", tree, prefix, base, base)) })
	payload := filepath.Join(work, "payload.tar.xz")
	payloadOf(t, ours, payload)
	sOurs, sBase := fileSize(t, payload), fileSize(t, base)
	rt, rs := tHab.wall.Seconds()/tBase.wall.Seconds(), float64(sOurs)/float64(sBase)
	fmt.Printf("create: hab %v, %.2f MB; tar|xz -6 %v, %.2f MB; time ratio %.2f (limit %.2f), size ratio %.3f (limit %.2f)\n",
		tHab, float64(sOurs)/1e6, tBase, float64(sBase)/1e6, rt, createTimeLimit, rs, createSizeLimit)
	over("create time", rt, createTimeLimit)
	over("create size", rs, createSizeLimit)
	goHart := filepath.Join(work, "go.hart")
	tGoW := best(1, nil, func() { writeHart(t, goHart, tree, id, key, hart.WriteOptions{XZ: hart.XZGo}) })
	sGo := fileSize(t, goHart) - (fileSize(t, ours) - sOurs)
	fmt.Printf("create, pure Go (HAB_XZ=go): %v, %.2f MB; time ratio %.2f, size ratio %.3f\n",
		tGoW, float64(sGo)/1e6, tGoW.wall.Seconds()/tBase.wall.Seconds(), float64(sGo)/float64(sBase))

	// Extract: the same payload, fresh destination each round, alternating.
	dest := filepath.Join(work, "dest")
	clean := func() {
		os.RemoveAll(dest)
		if err := os.Mkdir(dest, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	extract := func(p string, x hart.XZ) func() {
		return func() {
			if _, err := hart.ExtractWith(ctx, p, keys, dest, hart.ExtractOptions{XZ: x}); err != nil {
				t.Fatal(err)
			}
		}
	}
	xzTar := func(p string) func() {
		return func() { shell(t, fmt.Sprintf("xz -d < %q | tar -x -C %q", p, dest)) }
	}
	var tOurs, tXZTar run
	for i := 0; i < rounds; i++ {
		r1 := best(1, clean, extract(ours, hart.XZAuto))
		r2 := best(1, clean, xzTar(payload))
		if i == 0 || r1.wall < tOurs.wall {
			tOurs = r1
		}
		if i == 0 || r2.wall < tXZTar.wall {
			tXZTar = r2
		}
	}
	r := tOurs.wall.Seconds() / tXZTar.wall.Seconds()
	fmt.Printf("extract: hab %v, xz|tar %v, ratio %.2f (limit %.2f)\n", tOurs, tXZTar, r, extractLimit)
	over("extract", r, extractLimit)

	// The pure-Go path, on our multi-block payload and on a single-block
	// one (the baseline's tar.xz signed as is, like the original's harts).
	tGo := best(rounds, clean, extract(ours, hart.XZGo))
	single := filepath.Join(work, "single.hart")
	sf, _ := os.Create(single)
	bf, _ := os.Open(base)
	if err := hart.Sign(ctx, bf, sf, key); err != nil {
		t.Fatal(err)
	}
	sf.Close()
	bf.Close()
	tExec1 := best(rounds, clean, extract(single, hart.XZAuto))
	tGo1 := best(rounds, clean, extract(single, hart.XZGo))
	tXZTar1 := best(rounds, clean, xzTar(base))
	fmt.Printf("extract, multi-block payload, pure Go (HAB_XZ=go): %v, ratio %.2f\n", tGo, tGo.wall.Seconds()/tXZTar.wall.Seconds())
	fmt.Printf("extract, single-block payload: hab %v, pure Go %v, xz|tar %v, ratios %.2f and %.2f\n",
		tExec1, tGo1, tXZTar1, tExec1.wall.Seconds()/tXZTar1.wall.Seconds(), tGo1.wall.Seconds()/tXZTar1.wall.Seconds())

	// Verify: BLAKE2b over the file, against b2sum -l 256.
	size := float64(fileSize(t, ours)) / 1e6
	tVer := best(rounds, nil, func() {
		if _, err := hart.Verify(ctx, ours, keys); err != nil {
			t.Fatal(err)
		}
	})
	tB2 := best(rounds, nil, func() { shell(t, fmt.Sprintf("b2sum -l 256 %q > /dev/null", ours)) })
	fmt.Printf("verify: hab %.0f MB/s, b2sum %.0f MB/s, ratio %.2f (%.1f MB hart)\n", size/tVer.wall.Seconds(), size/tB2.wall.Seconds(), tVer.wall.Seconds()/tB2.wall.Seconds(), size)
	os.RemoveAll(dest)
}

// ---- go test -bench ----

// benchTree copies up to mb megabytes of real files (shared libraries and
// Go sources, binary-like and text) into a package tree, topping up with
// generated data, and returns the fs root.
func benchTree(b *testing.B, mb int) (string, ident.Ident, int64) {
	b.Helper()
	root := b.TempDir()
	id := ident.MustParse("bench/tree/1.0.0/20240101000000")
	base := filepath.Join(root, "hab", "pkgs", "bench", "tree", "1.0.0", "20240101000000")
	limit := int64(mb) << 20
	var total int64
	copyFrom := func(src, dst string, share int64, match func(string) bool) {
		var n int64
		var files []string
		filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() && match(p) {
				files = append(files, p)
			}
			return nil
		})
		sort.Strings(files)
		for _, p := range files {
			if n >= share || total >= limit {
				return
			}
			data, err := os.ReadFile(p)
			if err != nil || len(data) > 8<<20 {
				continue
			}
			rel, _ := filepath.Rel(src, p)
			q := filepath.Join(base, dst, rel)
			os.MkdirAll(filepath.Dir(q), 0o755)
			if os.WriteFile(q, data, 0o644) == nil {
				n += int64(len(data))
				total += int64(len(data))
			}
		}
	}
	copyFrom("/usr/lib/x86_64-linux-gnu", "lib", limit*6/10, func(p string) bool { return strings.Contains(filepath.Base(p), ".so") })
	copyFrom(filepath.Join(runtime.GOROOT(), "src"), "src", limit, func(p string) bool { return strings.HasSuffix(p, ".go") })
	for i := 0; total < limit; i++ { // generated text
		var sb strings.Builder
		for sb.Len() < 1<<20 {
			fmt.Fprintf(&sb, "generated line %d of file %d\n", sb.Len(), i)
		}
		q := filepath.Join(base, "gen", fmt.Sprintf("f%03d.txt", i))
		os.MkdirAll(filepath.Dir(q), 0o755)
		os.WriteFile(q, []byte(sb.String()), 0o644)
		total += int64(sb.Len())
	}
	os.WriteFile(filepath.Join(base, "IDENT"), []byte(id.String()+"\n"), 0o644)
	return root, id, total
}

func BenchmarkHartWrite(b *testing.B) {
	tree, id, size := benchTree(b, 16)
	key, _ := benchKey(b)
	for _, x := range []hart.XZ{hart.XZExec, hart.XZGo} {
		if _, err := x.Mode(); err != nil {
			continue
		}
		b.Run(string(x), func(b *testing.B) {
			b.SetBytes(size)
			for i := 0; i < b.N; i++ {
				writeHart(b, filepath.Join(b.TempDir(), "b.hart"), tree, id, key, hart.WriteOptions{XZ: x})
			}
		})
	}
}

func BenchmarkHartExtract(b *testing.B) {
	tree, id, size := benchTree(b, 32)
	key, keys := benchKey(b)
	p := filepath.Join(b.TempDir(), "b.hart")
	writeHart(b, p, tree, id, key, hart.WriteOptions{XZ: hart.XZAuto, BlockSize: 8 << 20})
	for _, x := range []hart.XZ{hart.XZExec, hart.XZGo} {
		if _, err := x.Mode(); err != nil {
			continue
		}
		b.Run(string(x), func(b *testing.B) {
			b.SetBytes(size)
			for i := 0; i < b.N; i++ {
				dest := b.TempDir()
				if _, err := hart.ExtractWith(context.Background(), p, keys, dest, hart.ExtractOptions{XZ: x}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkHartVerify(b *testing.B) {
	tree, id, _ := benchTree(b, 32)
	key, keys := benchKey(b)
	p := filepath.Join(b.TempDir(), "b.hart")
	writeHart(b, p, tree, id, key, hart.WriteOptions{})
	b.SetBytes(fileSize(b, p))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := hart.Verify(context.Background(), p, keys); err != nil {
			b.Fatal(err)
		}
	}
}
