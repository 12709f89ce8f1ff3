package chroot_test

import (
	"os"
	"testing"

	"github.com/habgo/hab/studio/chroot"
	"github.com/habgo/hab/studio/studiotest"
)

func TestMain(m *testing.M) {
	chroot.MaybeInit()
	os.Exit(studiotest.Run(m))
}

// habBinary is the hab the studios under test mount: a test re-executed
// under another uid gets the one its parent built.
func habBinary(t testing.TB) string {
	t.Helper()
	if bin := os.Getenv(habEnv); bin != "" {
		return bin
	}
	return studiotest.HabBinary(t)
}
