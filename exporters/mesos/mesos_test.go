package mesos_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/habgo/hab/exporters/container"
	"github.com/habgo/hab/exporters/internal/exptest"
	"github.com/habgo/hab/exporters/mesos"
)

// TestMesos: the tarball unpacks with tar into the image's root (init.sh,
// hab, the service), and the Marathon application decodes with the
// original's defaults.
func TestMesos(t *testing.T) {
	e := exptest.New(t)
	svc := e.Build("service")
	out := t.TempDir()
	res, err := mesos.Export(context.Background(), mesos.Request{Arg: svc.Ident.String(), Gather: e.Gather(),
		Image: container.Options{CacheDir: filepath.Join(e.Cache, "layers")}, Resources: mesos.DefaultResources(), OutDir: out, WorkDir: e.Work})
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	exptest.Run(t, "tar", "-xzf", res.Tarball, "-C", root)
	for _, f := range []string{"init.sh", "etc/passwd", "hab/bin", "hab/pkgs/habtest/service/0.1.0/" + svc.Ident.Release + "/run"} {
		if _, err := os.Lstat(filepath.Join(root, f)); err != nil {
			t.Errorf("unpacked root lacks %s: %v", f, err)
		}
	}
	// The tarball is the layers' compressed entries as the cache holds
	// them, one after another: none was compressed again.
	tgz, err := os.ReadFile(res.Tarball)
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := filepath.Glob(filepath.Join(e.Cache, "layers", "keys", "*.json"))
	if len(keys) < 4 {
		t.Fatalf("%d cached layers", len(keys))
	}
	for _, k := range keys {
		var rec struct {
			Digest string
			Body   int64
		}
		data, err := os.ReadFile(k)
		if err == nil {
			err = json.Unmarshal(data, &rec)
		}
		if err != nil {
			t.Fatal(err)
		}
		blob, err := os.ReadFile(filepath.Join(e.Cache, "layers", "blobs", "sha256", strings.TrimPrefix(rec.Digest, "sha256:")))
		if err != nil || rec.Body <= 0 || rec.Body >= int64(len(blob)) {
			t.Fatalf("layer %s: body %d of %d bytes: %v", rec.Digest, rec.Body, len(blob), err)
		}
		if !bytes.Contains(tgz, blob[:rec.Body]) {
			t.Errorf("the tarball does not hold layer %s's compressed entries as they are", rec.Digest)
		}
	}
	data, err := os.ReadFile(res.AppFile)
	if err != nil {
		t.Fatal(err)
	}
	var app map[string]any
	dec := json.NewDecoder(strings.NewReader(string(data)))
	if err := dec.Decode(&app); err != nil {
		t.Fatal(err)
	}
	if app["cpus"] != 0.5 || app["mem"] != 256.0 || app["disk"] != 0.0 || app["instances"] != 1.0 || app["id"] != svc.Ident.String() ||
		!strings.HasSuffix(app["cmd"].(string), "./init.sh run "+svc.Ident.String()) {
		t.Errorf("marathon app: %s", data)
	}
	_, err = mesos.Export(context.Background(), mesos.Request{Arg: svc.Ident.String(), Gather: e.Gather(), Resources: mesos.Resources{CPU: 0, MemoryMB: 1, Instances: 1}, OutDir: out, WorkDir: e.Work})
	if err == nil || !strings.Contains(err.Error(), "--cpu 0") {
		t.Errorf("cpu 0: %v", err)
	}
}
