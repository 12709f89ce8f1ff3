package chroot_test

import (
	"context"
	"github.com/habgo/hab/studio/studiotest"
	"os"
	"os/exec"
	"testing"

	"github.com/habgo/hab/studio/chroot"
)

// BenchmarkExecTrue is the baseline: running true without a studio.
func BenchmarkExecTrue(b *testing.B) {
	for b.Loop() {
		if err := exec.Command("true").Run(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreateRunRemove is what a studio adds to a build: lay out a
// studio, run true in it, remove it.
func BenchmarkCreateRunRemove(b *testing.B) {
	if why := studiosWork(); why != "" {
		b.Skip(why)
	}
	studiotest.BenchCreateRunRemove(b, chroot.Open, habBinary(b))
}

// BenchmarkRun is entering an existing studio to run true.
func BenchmarkRun(b *testing.B) {
	if why := studiosWork(); why != "" {
		b.Skip(why)
	}
	studiotest.BenchRun(b, chroot.Open, habBinary(b))
}

// BenchmarkCheckUserNamespaces is what "hab studio" pays first as a
// non-root user: a short-lived init that mounts in a user namespace.
func BenchmarkCheckUserNamespaces(b *testing.B) {
	if os.Geteuid() == 0 {
		b.Skip("root needs no user namespace: the check returns at once")
	}
	ctx := context.Background()
	for b.Loop() {
		if err := chroot.CheckUserNamespaces(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStop is how long a cancelled run takes to stop its command.
func BenchmarkStop(b *testing.B) {
	if why := studiosWork(); why != "" {
		b.Skip(why)
	}
	studiotest.BenchStop(b, chroot.Open, habBinary(b))
}
