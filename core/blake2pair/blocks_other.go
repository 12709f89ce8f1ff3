//go:build !amd64 || purego

package blake2pair

const haveAVX2 = false

func blocksAVX2(a, b *state, pa, pb *byte, n int) { panic("blake2pair: no AVX2 on this machine") }
