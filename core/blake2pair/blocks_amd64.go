//go:build amd64 && !purego

package blake2pair

//go:generate sh -c "go run gen.go > blocks_amd64.s"

import "golang.org/x/sys/cpu"

// fastest is the best way this machine has to compress two chains.
var fastest = func() impl {
	switch {
	case cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL:
		return avx512
	case cpu.X86.HasAVX2:
		return avx2
	}
	return generic
}()

// blocksAVX2 and blocksAVX512 compress n whole blocks at pa into a and
// n at pb into b, none the last of its stream.
//
//go:noescape
func blocksAVX2(a, b *state, pa, pb *byte, n int)

//go:noescape
func blocksAVX512(a, b *state, pa, pb *byte, n int)
