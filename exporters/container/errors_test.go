package container_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/habgo/hab/exporters/container"
	"github.com/habgo/hab/exporters/internal/exptest"
)

// TestExportErrors: bad inputs fail with an error naming the thing, and
// nothing is left in the results.
func TestExportErrors(t *testing.T) {
	e := exptest.New(t)
	svc := e.Build("service")
	bad := filepath.Join(e.Work, "bad.hart")
	data, err := os.ReadFile(svc.Artifact)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-40] ^= 0xff
	if err := os.WriteFile(bad, data, 0o644); err != nil {
		t.Fatal(err)
	}
	e.Build("sh")
	for _, tc := range []struct {
		name, arg, want string
	}{
		{"not installed", "habtest/nothing", "habtest/nothing"},
		{"missing hart", filepath.Join(e.Work, "none.hart"), "none.hart"},
		{"hart that does not verify", bad, "bad.hart"},
		{"not a service", "habtest/sh", "habtest/sh/1.0.0"},
		{"bad ident", "habtest/", "habtest/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := request(e, tc.arg)
			r.ResultsDir = filepath.Join(t.TempDir(), "results")
			_, err := container.Export(context.Background(), r)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("export %s: %v, want an error naming %s", tc.arg, err, tc.want)
			}
			if ents, _ := os.ReadDir(r.ResultsDir); len(ents) != 0 {
				t.Errorf("a failed export left %v", ents)
			}
		})
	}
}

// TestExportFullDisk: the results directory on a file system too small
// for the image: the error names the archive, and nothing is left.
func TestExportFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	e := exptest.New(t)
	svc := e.Build("service")
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	for _, layout := range []bool{false, true} {
		r := request(e, svc.Ident.String())
		r.ResultsDir = dir
		if layout {
			r.OCILayout = filepath.Join(dir, "oci")
		}
		_, err := container.Export(context.Background(), r)
		if err == nil || !strings.Contains(err.Error(), "no space left on device") || !strings.Contains(err.Error(), dir) {
			t.Fatalf("export to a full disk: %v", err)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			t.Errorf("a failed export left %v", names)
		}
	}
}
