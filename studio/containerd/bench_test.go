package containerd_test

import (
	"github.com/habgo/hab/studio/studiotest"
	"testing"

	"github.com/habgo/hab/studio/containerd"
	"github.com/habgo/hab/studio/containerd/containerdtest"
)

// BenchmarkCreateRunRemove is what a containerd studio adds to a build:
// lay out a studio, run true in it through containerd, remove it.
func BenchmarkCreateRunRemove(b *testing.B) {
	studiotest.BenchCreateRunRemove(b, containerd.Opener(containerdtest.Start(b)), studiotest.HabBinary(b))
}

// BenchmarkRun is running true in an existing studio through containerd.
func BenchmarkRun(b *testing.B) {
	studiotest.BenchRun(b, containerd.Opener(containerdtest.Start(b)), studiotest.HabBinary(b))
}

// BenchmarkStop is how long a cancelled run takes to stop its command.
func BenchmarkStop(b *testing.B) {
	studiotest.BenchStop(b, containerd.Opener(containerdtest.Start(b)), studiotest.HabBinary(b))
}
