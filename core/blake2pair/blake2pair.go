// Package blake2pair computes two BLAKE2b-256 digests of one stream in a
// single pass: lane A of every byte written, lane B of the bytes from a
// point in the stream on. A hart is both at once: a depot checks the
// digest of the whole file (the upload's checksum) and the digest of its
// payload (what the signature signs), and the payload is all of the file
// but its first few hundred bytes.
//
// BLAKE2b's compression is one long dependency chain, so a core hashing
// one stream waits on it more than it computes. On amd64 with AVX2 the
// two chains are compressed together, their instructions interleaved
// (with AVX-512, a rotation takes one instruction), and two digests cost
// little more than one (see BenchmarkPair). The
// digests are those of golang.org/x/crypto/blake2b.Sum256, which the tests
// check them against.
package blake2pair

import (
	"encoding/binary"
	"math/bits"
)

// Size is the length of a digest.
const Size = 32

// blockSize is BLAKE2b's block.
const blockSize = 128

// iv is BLAKE2b's initialisation vector.
var iv = [8]uint64{
	0x6a09e667f3bcc908, 0xbb67ae8584caa73b, 0x3c6ef372fe94f82b, 0xa54ff53a5f1d36f1,
	0x510e527fade682d1, 0x9b05688c2b3e6c1f, 0x1f83d9abfb41bd6b, 0x5be0cd19137e2179,
}

// state is one chain: h, then the count of bytes compressed (low, high
// word). The assembly relies on this layout.
type state struct {
	h [8]uint64
	t [2]uint64
}

// lane is a chain and the bytes not yet compressed: a block is
// compressed only once a byte after it arrives, since the last block is
// compressed differently.
type lane struct {
	s   state
	buf [blockSize]byte
	n   int
}

func (l *lane) reset() {
	l.s = state{h: iv}
	// The parameter block: a 32-byte digest, no key, fanout and depth 1.
	l.s.h[0] ^= 0x01010000 | Size
}

// impl is a way to compress two chains.
type impl int

const (
	generic impl = iota // one chain after the other, in Go
	avx2                // interleaved, AVX2
	avx512              // interleaved, AVX2 with AVX-512 (F, VL) rotations
)

func (i impl) String() string { return [...]string{"generic", "avx2", "avx512"}[i] }

// Hasher is the pair of digests being computed. The zero value is not
// ready; use New.
type Hasher struct {
	a, b lane
	impl impl
}

// New returns a Hasher with both lanes empty.
func New() *Hasher {
	h := &Hasher{impl: fastest}
	h.a.reset()
	h.b.reset()
	return h
}

// Accelerated tells whether this machine compresses the two chains
// together; when it does not, a Hasher costs what two BLAKE2b hashes do.
func Accelerated() bool { return fastest != generic }

// Write adds p to both lanes.
func (h *Hasher) Write(p []byte) {
	pa := h.a.complete(p)
	pb := h.b.complete(p)
	k := min(fullBlocks(pa), fullBlocks(pb))
	if k > 0 {
		h.blocks2(pa[:k*blockSize], pb[:k*blockSize])
	}
	h.a.store(pa[k*blockSize:])
	h.b.store(pb[k*blockSize:])
}

// WriteA adds p to lane A only.
func (h *Hasher) WriteA(p []byte) { h.a.store(h.a.complete(p)) }

// WriteB adds p to lane B only.
func (h *Hasher) WriteB(p []byte) { h.b.store(h.b.complete(p)) }

// Sums returns the digests of what each lane was given. The Hasher is
// unchanged and can take more.
func (h *Hasher) Sums() (a, b [Size]byte) {
	return h.a.sum(), h.b.sum()
}

// fullBlocks is the number of blocks of p that can be compressed now:
// every whole block but the one holding p's last byte.
func fullBlocks(p []byte) int {
	if len(p) == 0 {
		return 0
	}
	return (len(p) - 1) / blockSize
}

// complete tops up a partly filled buffer from p, compressing it once p
// has more after it, and returns the rest of p.
func (l *lane) complete(p []byte) []byte {
	if l.n == 0 {
		return p
	}
	c := copy(l.buf[l.n:], p)
	l.n += c
	p = p[c:]
	if len(p) > 0 {
		compressGeneric(&l.s, l.buf[:], blockSize, 0)
		l.n = 0
	}
	return p
}

// store compresses the blocks of p that can be compressed now and keeps
// the rest; the buffer is empty or p is.
func (l *lane) store(p []byte) {
	k := fullBlocks(p)
	for i := 0; i < k; i++ {
		compressGeneric(&l.s, p[i*blockSize:(i+1)*blockSize], blockSize, 0)
	}
	l.n += copy(l.buf[l.n:], p[k*blockSize:])
}

// sum compresses a copy of the lane's last block, flagged last.
func (l *lane) sum() [Size]byte {
	s := l.s
	var last [blockSize]byte
	copy(last[:], l.buf[:l.n])
	compressGeneric(&s, last[:], uint64(l.n), ^uint64(0))
	var out [Size]byte
	for i := 0; i < Size/8; i++ {
		binary.LittleEndian.PutUint64(out[8*i:], s.h[i])
	}
	return out
}

// blocks2 compresses the same number of whole blocks into each lane.
func (h *Hasher) blocks2(pa, pb []byte) {
	switch h.impl {
	case avx512:
		blocksAVX512(&h.a.s, &h.b.s, &pa[0], &pb[0], len(pa)/blockSize)
		return
	case avx2:
		blocksAVX2(&h.a.s, &h.b.s, &pa[0], &pb[0], len(pa)/blockSize)
		return
	}
	for i := 0; i < len(pa); i += blockSize {
		compressGeneric(&h.a.s, pa[i:i+blockSize], blockSize, 0)
		compressGeneric(&h.b.s, pb[i:i+blockSize], blockSize, 0)
	}
}

// sigma is the message schedule of the ten rounds; rounds 10 and 11 take
// those of rounds 0 and 1 again.
var sigma = [10][16]byte{
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
	{14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
	{11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
	{7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
	{9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
	{2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
	{12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
	{13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
	{6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
	{10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
}

// compressGeneric compresses one block of which n bytes count, with the
// final flag f (all ones for the last block).
func compressGeneric(s *state, block []byte, n, f uint64) {
	var m [16]uint64
	for i := range m {
		m[i] = binary.LittleEndian.Uint64(block[8*i:])
	}
	var c uint64
	s.t[0], c = bits.Add64(s.t[0], n, 0)
	s.t[1] += c
	v := [16]uint64{
		s.h[0], s.h[1], s.h[2], s.h[3], s.h[4], s.h[5], s.h[6], s.h[7],
		iv[0], iv[1], iv[2], iv[3], iv[4] ^ s.t[0], iv[5] ^ s.t[1], iv[6] ^ f, iv[7],
	}
	g := func(a, b, c, d int, x, y uint64) {
		v[a] += v[b] + x
		v[d] = bits.RotateLeft64(v[d]^v[a], -32)
		v[c] += v[d]
		v[b] = bits.RotateLeft64(v[b]^v[c], -24)
		v[a] += v[b] + y
		v[d] = bits.RotateLeft64(v[d]^v[a], -16)
		v[c] += v[d]
		v[b] = bits.RotateLeft64(v[b]^v[c], -63)
	}
	for r := 0; r < 12; r++ {
		x := &sigma[r%10]
		g(0, 4, 8, 12, m[x[0]], m[x[1]])
		g(1, 5, 9, 13, m[x[2]], m[x[3]])
		g(2, 6, 10, 14, m[x[4]], m[x[5]])
		g(3, 7, 11, 15, m[x[6]], m[x[7]])
		g(0, 5, 10, 15, m[x[8]], m[x[9]])
		g(1, 6, 11, 12, m[x[10]], m[x[11]])
		g(2, 7, 8, 13, m[x[12]], m[x[13]])
		g(3, 4, 9, 14, m[x[14]], m[x[15]])
	}
	for i := 0; i < 8; i++ {
		s.h[i] ^= v[i] ^ v[i+8]
	}
}
