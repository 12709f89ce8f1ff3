package server_test

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/habgo/hab/depot"
)

// TestTwoDepotsShareData: two depot processes on one PostgreSQL database
// and one blob directory (behind a load balancer, say) serve the same
// data: what one stores the other serves, and concurrent writes through
// both are all kept once.
func TestTwoDepotsShareData(t *testing.T) {
	if cluster == nil {
		t.Skip(pgReason)
	}
	dsn := cluster.NewDatabase(t)
	blobs := t.TempDir()
	a := newEnvWith(t, depot.Options{DatabaseURL: dsn, BlobURL: blobs})
	b := newEnvWith(t, depot.Options{DatabaseURL: dsn, BlobURL: "file://" + blobs})
	a.neurosis()
	odd, _ := filepath.Glob(filepath.Join(builderPath(t, "oddversions"), "*.hart"))
	var wg sync.WaitGroup
	for i, f := range odd {
		e := a
		if i%2 == 1 {
			e = b
		}
		wg.Go(func() {
			data, _ := os.ReadFile(f)
			id, _ := hartIdent(t, f)
			if r := e.do("POST", "/v1/depot/pkgs/"+id+"?checksum="+blakeHex(data), "bobo", bytes.NewReader(data)); r.status != 201 {
				t.Errorf("upload %s: %d %q", id, r.status, r)
			}
		})
	}
	wg.Wait()
	for i, f := range odd {
		other := b
		if i%2 == 1 {
			other = a
		}
		data, _ := os.ReadFile(f)
		id, _ := hartIdent(t, f)
		r := other.want(other.do("GET", "/v1/depot/pkgs/"+id+"/download", "", nil), 200, "download from the other depot")
		if !bytes.Equal(r.body, data) {
			t.Errorf("%s differs when read through the other depot", id)
		}
		wg.Go(func() {
			if r := other.do("PUT", "/v1/depot/channels/neurosis/stable/pkgs/"+id[len("neurosis/"):]+"/promote", "bobo", nil); r.status != 200 {
				t.Errorf("promote %s: %d %q", id, r.status, r)
			}
		})
	}
	wg.Wait()
	for _, e := range []*env{a, b} {
		var page idPage
		e.json(e.want(e.do("GET", "/v1/depot/channels/neurosis/stable/pkgs", "", nil), 200, "stable"), &page)
		if page.TotalCount != len(odd) {
			t.Errorf("stable holds %d, want %d", page.TotalCount, len(odd))
		}
	}
}
