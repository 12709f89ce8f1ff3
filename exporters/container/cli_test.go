package container_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/habgo/hab/exporters/internal/exptest"
)

// TestCLI runs the hab binary: `hab pkg export docker` (the alias) writes
// the archive, the SBOM and the report named as the original's, and the
// image carries the binary itself as core/hab; SOURCE_DATE_EPOCH sets the
// creation time.
func TestCLI(t *testing.T) {
	e := exptest.New(t)
	svc := e.Build("service")
	results := filepath.Join(e.Work, "out")
	cmd := exec.Command(exptest.Hab(t), "pkg", "export", "docker", "--results-dir", results, "--no-tag-latest", "--tag-custom", "{{pkg_origin}}-custom", svc.Ident.String())
	cmd.Env = append(os.Environ(), "FS_ROOT="+e.Root, "HAB_CACHE_KEY_PATH="+e.Keys.Dir, "HOME="+e.Work, "SOURCE_DATE_EPOCH=1700000000")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("hab pkg export docker: %v\n%s", err, out)
	}
	archive := filepath.Join(results, "habtest-service-0.1.0-"+svc.Ident.Release+".tar")
	for _, f := range []string{archive, filepath.Join(results, "habtest-service-0.1.0-"+svc.Ident.Release+".spdx.json"), filepath.Join(results, "last_container_export.env")} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("%s: %v\n%s", f, err, out)
		}
	}
	insp := exptest.Run(t, "skopeo", "inspect", "--config", "docker-archive:"+archive)
	if !strings.Contains(insp, `"created": "2023-11-14T22:13:20Z"`) || !strings.Contains(insp, "hab pkg export: core/hab/") {
		t.Errorf("skopeo inspect:\n%s", insp)
	}
	env, _ := os.ReadFile(filepath.Join(results, "last_container_export.env"))
	if !strings.Contains(string(env), "tags=0.1.0,0.1.0-"+svc.Ident.Release+",habtest-custom\n") {
		t.Errorf("report:\n%s", env)
	}
}
