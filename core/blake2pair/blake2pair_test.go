package blake2pair

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"testing"

	"golang.org/x/crypto/blake2b"
)

// paths are the ways this machine can compress two chains: each one up
// to the fastest it has, down to the generic code.
func paths(t testing.TB) []impl {
	if fastest != avx512 {
		t.Logf("this machine's best is %v: the faster ways are not tested", fastest)
	}
	var out []impl
	for i := generic; i <= fastest; i++ {
		out = append(out, i)
	}
	return out
}

func newHasher(i impl) *Hasher {
	h := New()
	h.impl = i
	return h
}

// feed writes data to h as a stream whose lane B starts at off, in
// pieces of the given sizes (cycled), the bytes before off through
// WriteA and the rest through Write, as a hart reader does.
func feed(h *Hasher, data []byte, off int, pieces []int) {
	h.WriteA(data[:off])
	rest := data[off:]
	for i := 0; len(rest) > 0; i++ {
		n := min(pieces[i%len(pieces)], len(rest))
		h.Write(rest[:n])
		rest = rest[n:]
	}
}

func TestSumsMatchBLAKE2b(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 300_000)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	sizes := []int{0, 1, 2, 127, 128, 129, 255, 256, 257, 383, 384, 385, 1000, 4096, 65536 + 17, 300_000}
	offs := []int{0, 1, 64, 127, 128, 129, 255, 256, 700}
	pieceSets := [][]int{{1 << 30}, {1}, {127}, {128}, {129}, {1, 255, 4096, 128, 3}, {262144}}
	for _, impl := range paths(t) {
		for _, size := range sizes {
			for _, off := range offs {
				if off > size {
					continue
				}
				for _, pieces := range pieceSets {
					if pieces[0] == 1 && size > 5000 {
						continue // byte by byte is slow and adds nothing past a few blocks
					}
					t.Run(fmt.Sprintf("%v/size=%d/off=%d/pieces=%v", impl, size, off, pieces), func(t *testing.T) {
						h := newHasher(impl)
						feed(h, data[:size], off, pieces)
						a, b := h.Sums()
						if want := blake2b.Sum256(data[:size]); a != want {
							t.Errorf("lane A: %x, want %x", a, want)
						}
						if want := blake2b.Sum256(data[off:size]); b != want {
							t.Errorf("lane B: %x, want %x", b, want)
						}
					})
				}
			}
		}
	}
}

// TestLanesIndependent gives the lanes streams that share some bytes and
// not others, written in pieces of random sizes, so a lane mixed up with
// the other (registers, counters, buffers) shows.
func TestLanesIndependent(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, impl := range paths(t) {
		for i := 0; i < 300; i++ {
			h := newHasher(impl)
			var ga, gb []byte // what each lane was given
			for op := 0; op < 12; op++ {
				p := make([]byte, rng.IntN(700))
				for j := range p {
					p[j] = byte(rng.Uint32())
				}
				switch rng.IntN(3) {
				case 0:
					h.Write(p)
					ga, gb = append(ga, p...), append(gb, p...)
				case 1:
					h.WriteA(p)
					ga = append(ga, p...)
				case 2:
					h.WriteB(p)
					gb = append(gb, p...)
				}
			}
			sa, sb := h.Sums()
			if want := blake2b.Sum256(ga); sa != want {
				t.Fatalf("%v case %d: lane A %x, want %x", impl, i, sa, want)
			}
			if want := blake2b.Sum256(gb); sb != want {
				t.Fatalf("%v case %d: lane B %x, want %x", impl, i, sb, want)
			}
		}
	}
}

// TestSumsLeavesHasher checks that Sums can be asked midway.
func TestSumsLeavesHasher(t *testing.T) {
	data := bytes.Repeat([]byte("hart"), 1000)
	for _, impl := range paths(t) {
		h := newHasher(impl)
		h.Write(data[:1000])
		a1, _ := h.Sums()
		a2, _ := h.Sums()
		if a1 != a2 || a1 != blake2b.Sum256(data[:1000]) {
			t.Fatalf("%v: midway sums %x, %x", impl, a1, a2)
		}
		h.Write(data[1000:])
		a, b := h.Sums()
		if a != blake2b.Sum256(data) || b != a {
			t.Fatalf("%v: sums after more %x %x", impl, a, b)
		}
	}
}

// TestBlocksMatchGeneric compares the assembly with the generic
// compression block by block, from random states and counters near the
// 64-bit carry.
func TestBlocksMatchGeneric(t *testing.T) {
	if !Accelerated() {
		t.Skip("this machine has no AVX2")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	impls := paths(t)[1:] // the assembly ones
	for i := 0; i < 200; i++ {
		impl := impls[i%len(impls)]
		var a, b state
		for j := range a.h {
			a.h[j], b.h[j] = rng.Uint64(), rng.Uint64()
		}
		a.t = [2]uint64{^uint64(0) - uint64(rng.IntN(1024)), rng.Uint64()}
		b.t = [2]uint64{rng.Uint64(), rng.Uint64()}
		n := 1 + rng.IntN(8)
		pa := make([]byte, n*blockSize)
		pb := make([]byte, n*blockSize)
		for j := range pa {
			pa[j], pb[j] = byte(rng.Uint32()), byte(rng.Uint32())
		}
		ga, gb := a, b
		for j := 0; j < n; j++ {
			compressGeneric(&ga, pa[j*blockSize:], blockSize, 0)
			compressGeneric(&gb, pb[j*blockSize:], blockSize, 0)
		}
		h := &Hasher{a: lane{s: a}, b: lane{s: b}, impl: impl}
		h.blocks2(pa, pb)
		if a, b = h.a.s, h.b.s; a != ga || b != gb {
			t.Fatalf("%v case %d (%d blocks): assembly states\n%x\n%x\ngeneric\n%x\n%x", impl, i, n, a, b, ga, gb)
		}
	}
}

func FuzzSums(f *testing.F) {
	f.Add([]byte("habitat"), uint16(3), uint16(5))
	f.Add(bytes.Repeat([]byte{0xa5}, 1000), uint16(129), uint16(128))
	f.Fuzz(func(t *testing.T, data []byte, off, piece uint16) {
		o := int(off) % (len(data) + 1)
		for _, impl := range paths(t) {
			h := newHasher(impl)
			feed(h, data, o, []int{int(piece%2048) + 1})
			a, b := h.Sums()
			if a != blake2b.Sum256(data) || b != blake2b.Sum256(data[o:]) {
				t.Fatalf("%v off=%d piece=%d: sums differ from blake2b.Sum256", impl, o, piece)
			}
		}
	})
}

// BenchmarkPair hashes 1 MiB into both lanes, in each way the machine
// has; BenchmarkTwoHashes is the obvious baseline, two
// golang.org/x/crypto/blake2b hashes of the same bytes one after the
// other. Their ns/op ratio is what a Hasher saves.
func BenchmarkPair(b *testing.B) {
	buf := make([]byte, 1<<20)
	for _, impl := range paths(b) {
		b.Run(impl.String(), func(b *testing.B) {
			b.SetBytes(int64(len(buf)))
			h := newHasher(impl)
			for b.Loop() {
				h.Write(buf)
			}
		})
	}
}

func BenchmarkTwoHashes(b *testing.B) {
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(buf)))
	x, _ := blake2b.New256(nil)
	y, _ := blake2b.New256(nil)
	for b.Loop() {
		x.Write(buf)
		y.Write(buf)
	}
}

// TestAssemblyGenerated checks that blocks_amd64.s is what gen.go writes.
func TestAssemblyGenerated(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to run gen.go with")
	}
	out, err := exec.Command(goBin, "run", "gen.go").Output()
	if err != nil {
		t.Fatalf("go run gen.go: %v", err)
	}
	have, err := os.ReadFile("blocks_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, have) {
		t.Fatal("blocks_amd64.s differs from what gen.go writes: run go generate ./core/blake2pair")
	}
}
