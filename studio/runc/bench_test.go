package runc_test

import (
	"github.com/habgo/hab/studio/studiotest"
	"testing"

	"github.com/habgo/hab/studio/runc"
)

// BenchmarkCreateRunRemove is what a container studio adds to a build:
// lay out a studio, run true in it with runc, remove it.
func BenchmarkCreateRunRemove(b *testing.B) {
	if why := containersWork(); why != "" {
		b.Skip(why)
	}
	studiotest.BenchCreateRunRemove(b, runc.Open, studiotest.HabBinary(b))
}

// BenchmarkRun is running true in an existing container studio.
func BenchmarkRun(b *testing.B) {
	if why := containersWork(); why != "" {
		b.Skip(why)
	}
	studiotest.BenchRun(b, runc.Open, studiotest.HabBinary(b))
}

// BenchmarkStop is how long a cancelled run takes to stop its command.
func BenchmarkStop(b *testing.B) {
	if why := containersWork(); why != "" {
		b.Skip(why)
	}
	studiotest.BenchStop(b, runc.Open, studiotest.HabBinary(b))
}
