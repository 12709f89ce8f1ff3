//go:build !amd64 || purego

package blake2pair

const fastest = generic

func blocksAVX2(a, b *state, pa, pb *byte, n int) { panic("blake2pair: no AVX2 here") }

func blocksAVX512(a, b *state, pa, pb *byte, n int) { panic("blake2pair: no AVX-512 here") }
