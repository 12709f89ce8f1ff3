package builder

import (
	"context"
	"os"
	"testing"
	"time"
)

// onefilePlan installs one file with shell builtins only: what a build of
// it costs is the planner's own overhead (evaluation, phases, metadata,
// FILES, signing, outputs) plus the compression of a tiny tree.
const onefilePlan = `pkg_name=onefile
pkg_origin=habtest
pkg_version=0.1.0
pkg_bin_dirs=(bin)
do_build() { return 0; }
do_install() { echo 'echo hi' > "$pkg_prefix/bin/hi"; }
`

// buildOnce builds dir and returns the planner's own time: the whole
// build but the artifact's compression and signing. bench/planbuild.sh
// prints it (go test asserts no wall-clock limit).
func buildOnce(tb testing.TB, e *env, dir string) time.Duration {
	start := time.Now()
	res, err := Build(context.Background(), dir, e.options(nil))
	if err != nil {
		tb.Fatal(err)
	}
	return time.Since(start) - res.ArtifactTime
}

// BenchmarkBuildOneFile reports the time of a whole one-file build.
func BenchmarkBuildOneFile(b *testing.B) {
	e := newEnv(b)
	dir := b.TempDir()
	if err := os.WriteFile(dir+"/plan.sh", []byte(onefilePlan), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var own time.Duration
	for b.Loop() {
		own += buildOnce(b, e, dir)
	}
	b.ReportMetric(float64(own.Microseconds())/1000/float64(b.N), "planner-ms/op")
}
