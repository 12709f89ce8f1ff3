//go:build amd64 && !purego

package blake2pair

import "golang.org/x/sys/cpu"

var haveAVX2 = cpu.X86.HasAVX2

// blocksAVX2 compresses n whole blocks at pa into a and n at pb into b,
// neither the last of its stream.
//
//go:noescape
func blocksAVX2(a, b *state, pa, pb *byte, n int)
