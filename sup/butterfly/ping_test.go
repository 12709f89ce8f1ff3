package butterfly

import (
	"strings"
	"testing"
	"time"
)

// Ping answers nil for a live member, and an error naming the member for
// one not known here or one that no longer answers.
func TestPing(t *testing.T) {
	nodes := startRing(t, 2, nil)
	waitFor(t, 10*time.Second, "all alive", func() bool { return allAlive(nodes) })
	if err := nodes[0].srv.Ping("m01"); err != nil {
		t.Fatalf("ping a live member: %v", err)
	}
	if err := nodes[0].srv.Ping("m-nobody"); err == nil || !strings.Contains(err.Error(), "m-nobody") {
		t.Fatalf("ping an unknown member: %v, want an error naming m-nobody", err)
	}
	nodes[1].srv.Kill()
	if err := nodes[0].srv.Ping("m01"); err == nil || !strings.Contains(err.Error(), "m01") {
		t.Fatalf("ping a killed member: %v, want an error naming m01", err)
	}
}
