package hart

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/habgo/hab/core/crypto"
)

// validHart writes a small, valid hart and returns its bytes.
func validHart(t *testing.T, key *crypto.SigningSecretKey) []byte {
	t.Helper()
	src := t.TempDir()
	makeTree(t, src)
	t.Cleanup(func() { makeWritable(src) })
	p := writeTestHart(t, t.TempDir(), src, key, WriteOptions{XZ: XZGo})
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// splitHart returns header and payload of a hart's bytes.
func splitHart(t *testing.T, b []byte) ([]byte, []byte) {
	t.Helper()
	br := bufio.NewReader(bytes.NewReader(b))
	if _, err := ReadHeader(br); err != nil {
		t.Fatal(err)
	}
	n := len(b) - br.Buffered()
	return b[:n], b[n:]
}

// TestBadInputs feeds malformed harts to Verify and Extract: each is
// refused with an error that names the file and says what is wrong, and
// Extract leaves nothing outside its destination.
func TestBadInputs(t *testing.T) {
	key, keys := testKey(t, "acme")
	other, _ := testKey(t, "acme") // same name-revision, different key
	good := validHart(t, key)
	hdr, payload := splitHart(t, good)
	nr := key.NamedRevision.String()
	sig := func(p []byte) string { // base64 signature line for payload p
		h := newHash()
		h.Write(p)
		return Header{Signature: key.Sign([]byte(hexSum(h)))}.EncodedSignature()
	}
	notTar := xzBytes(t, bytes.Repeat([]byte("this is not a tar archive\n"), 100))
	binary := bytes.Repeat([]byte{0xfd, 0x37, 0x7a}, 3000)

	cases := []struct {
		name      string
		data      []byte
		verifyErr error // nil: Verify succeeds (it does not decompress)
		extract   error
		msg       string // in both errors
	}{
		{"empty file", nil, ErrFormat, ErrFormat, "empty file"},
		{"truncated header", []byte("HART-1\n" + nr + "\n"), ErrFormat, ErrFormat, "truncated header"},
		{"header without empty line", []byte("HART-1\n" + nr + "\nBLAKE2b\n" + sig(payload) + "\n"), ErrFormat, ErrFormat, "line 5"},
		{"non-empty fifth line", append([]byte("HART-1\n"+nr+"\nBLAKE2b\n"+sig(payload)+"\nxx\n"), payload...), ErrFormat, ErrFormat, "expected the empty line"},
		{"truncated payload", good[:len(hdr)+len(payload)/2], crypto.ErrBadSignature, crypto.ErrBadSignature, "differs from"},
		{"wrong format line", append([]byte("HART-2\n"+nr+"\nBLAKE2b\n"+sig(payload)+"\n\n"), payload...), ErrFormat, ErrFormat, `"HART-2"`},
		{"unknown hash type", append([]byte("HART-1\n"+nr+"\nSHA256\n"+sig(payload)+"\n\n"), payload...), ErrFormat, ErrFormat, `hash type "SHA256"`},
		{"bad base64", append([]byte("HART-1\n"+nr+"\nBLAKE2b\nnot:base64:signature\n\n"), payload...), ErrFormat, ErrFormat, "base64"},
		{"bad key name", append([]byte("HART-1\nnope-nope\nBLAKE2b\n"+sig(payload)+"\n\n"), payload...), ErrFormat, ErrFormat, `"nope-nope"`},
		{"binary instead of header", binary, ErrFormat, ErrFormat, "line 1"},
		{"signature over a different digest", append([]byte("HART-1\n"+nr+"\nBLAKE2b\n"+sig([]byte("other payload"))+"\n\n"), payload...), crypto.ErrBadSignature, crypto.ErrBadSignature, "differs from"},
		{"signed by another key of the same name", func() []byte {
			h := newHash()
			h.Write(payload)
			s := Header{Signature: other.Sign([]byte(hexSum(h)))}.EncodedSignature()
			return append([]byte("HART-1\n"+nr+"\nBLAKE2b\n"+s+"\n\n"), payload...)
		}(), crypto.ErrBadSignature, crypto.ErrBadSignature, nr},
		{"signed message is not a digest", func() []byte {
			s := Header{Signature: key.Sign([]byte("hello"))}.EncodedSignature()
			return append([]byte("HART-1\n"+nr+"\nBLAKE2b\n"+s+"\n\n"), payload...)
		}(), crypto.ErrBadSignature, crypto.ErrBadSignature, "not a hex BLAKE2b-256 digest"},
		{"payload not xz", append([]byte("HART-1\n"+nr+"\nBLAKE2b\n"+sig([]byte("plain text"))+"\n\n"), "plain text"...), nil, ErrFormat, "not xz-compressed"},
		{"empty payload", []byte("HART-1\n" + nr + "\nBLAKE2b\n" + sig(nil) + "\n\n"), nil, ErrFormat, ""},
		{"xz that is not a tar", append([]byte("HART-1\n"+nr+"\nBLAKE2b\n"+sig(notTar)+"\n\n"), notTar...), nil, ErrFormat, "not a tar archive"},
		{"unknown signer", append([]byte("HART-1\nstranger-20200101000000\nBLAKE2b\n"+sig(payload)+"\n\n"), payload...), crypto.ErrKeyNotFound, crypto.ErrKeyNotFound, "stranger-20200101000000"},
	}
	ctx := context.Background()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tmp := t.TempDir()
			in := filepath.Join(tmp, "in")
			os.Mkdir(in, 0o755)
			p := filepath.Join(in, "bad.hart")
			if err := os.WriteFile(p, c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Verify(ctx, p, keys)
			if c.verifyErr == nil {
				if err != nil {
					t.Errorf("Verify: %v", err)
				}
			} else {
				checkErr(t, "Verify", err, c.verifyErr, p, c.msg)
			}
			for _, mode := range xzModes(t) {
				root := filepath.Join(tmp, "root-"+string(mode))
				os.Mkdir(root, 0o755)
				_, err = ExtractWith(ctx, p, keys, root, ExtractOptions{XZ: mode})
				checkErr(t, "Extract/"+string(mode), err, c.extract, p, c.msg)
				if err := os.RemoveAll(root); err != nil {
					t.Fatalf("caller's removal of the destination: %v", err)
				}
			}
			if got := listTree(t, tmp); !reflect.DeepEqual(got, []string{"in/", "in/bad.hart"}) {
				t.Errorf("left behind: %v", got)
			}
		})
	}
}

func checkErr(t *testing.T, what string, err, want error, path, msg string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error", what)
		return
	}
	if !errors.Is(err, want) {
		t.Errorf("%s: error %q does not wrap %q", what, err, want)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("%s: error %q does not name the file", what, err)
	}
	if msg != "" && !strings.Contains(err.Error(), msg) {
		t.Errorf("%s: error %q does not say %q", what, err, msg)
	}
}

// TestExtractRefusesUnsafeEntries builds payloads that try to write or
// point outside the package, signs them properly, and checks that
// Extract refuses each with an error naming the entry, leaving nothing
// outside fsRoot.
func TestExtractRefusesUnsafeEntries(t *testing.T) {
	key, keys := testKey(t, "acme")
	base := []entry{dir("hab/"), dir("hab/pkgs/"), dir(pfx), reg(pfx+"IDENT", testID.String()+"\n")}
	cases := []struct {
		name    string
		entries []entry
		bad     string // the entry the error must name
		unsafe  bool   // wraps ErrUnsafeEntry (else just ErrFormat)
	}{
		{"absolute path", []entry{reg("/tmp/evil", "x")}, "/tmp/evil", true},
		{"absolute path in prefix", []entry{reg("/"+pfx+"evil", "x")}, "/" + pfx + "evil", true},
		{"dot-dot", []entry{reg(pfx+"../../../../../../evil", "x")}, pfx + "../../../../../../evil", true},
		{"dot-dot inside", []entry{reg(pfx+"bin/../IDENT2", "x")}, pfx + "bin/../IDENT2", true},
		{"outside hab", []entry{reg("etc/passwd", "x")}, "etc/passwd", true},
		{"file above the prefix", []entry{reg("hab/pkgs/acme/evil", "x")}, "hab/pkgs/acme/evil", true},
		{"outside hab/pkgs", []entry{reg("hab/svc/evil", "x")}, "hab/svc/evil", true},
		{"second package", []entry{reg("hab/pkgs/acme/other/1.0.0/20240102030405/IDENT", "acme/other/1.0.0/20240102030405")}, "hab/pkgs/acme/other/1.0.0/20240102030405/IDENT", true},
		{"second release", []entry{reg("hab/pkgs/acme/widget/1.2.3/20240102030406/x", "x")}, "hab/pkgs/acme/widget/1.2.3/20240102030406/x", true},
		{"hard link outside", []entry{hardlink(pfx+"h", "etc/passwd")}, pfx + "h", true},
		{"hard link absolute", []entry{hardlink(pfx+"h", "/etc/passwd")}, pfx + "h", true},
		{"hard link dot-dot", []entry{hardlink(pfx+"h", pfx+"../../../../../../etc/passwd")}, pfx + "h", true},
		{"hard link to a symlink", []entry{symlink(pfx+"s", "/hab/pkgs/core/x/1/20240102030405/f"), hardlink(pfx+"h", pfx+"s")}, pfx + "h", true},
		{"hard link to a later file", []entry{hardlink(pfx+"h", pfx+"later"), reg(pfx+"later", "x")}, pfx + "h", true},
		{"symlink relative escape", []entry{symlink(pfx+"s", "../../../../../../../outside")}, pfx + "s", true},
		{"symlink relative escape from subdir", []entry{dir(pfx + "lib/"), symlink(pfx+"lib/s", "../../x")}, pfx + "lib/s", true},
		{"symlink absolute outside /hab", []entry{symlink(pfx+"s", "/etc")}, pfx + "s", true},
		{"symlink absolute to /hab itself", []entry{symlink(pfx+"s", "/hab")}, pfx + "s", true},
		{"symlink absolute with dot-dot", []entry{symlink(pfx+"s", "/hab/../etc/passwd")}, pfx + "s", true},
		{"symlink empty target", []entry{symlink(pfx+"s", "")}, pfx + "s", true},
		{"file through absolute symlink", []entry{symlink(pfx+"s", "/hab/pkgs/acme/widget/1.2.3/20240102030405/lib"), reg(pfx+"s/evil", "x")}, pfx + "s/evil", true},
		{"file through relative symlink", []entry{dir(pfx + "sub/"), symlink(pfx+"s", "sub"), reg(pfx+"s/evil", "x")}, pfx + "s/evil", true},
		{"dir through symlink", []entry{symlink(pfx+"s", "/hab/pkgs/x/y/1/20240102030405"), dir(pfx + "s/d/")}, pfx + "s/d/", true},
		{"symlink over a file", []entry{reg(pfx+"f", "x"), symlink(pfx+"f", "/hab/x")}, pfx + "f", false},
		{"file over a symlink", []entry{symlink(pfx+"f", "/hab/pkgs/x/y/1/20240102030405/f"), reg(pfx+"f", "x")}, pfx + "f", false},
		{"symlink steps out of a symlink", []entry{symlink(pfx+"a", "/hab/pkgs/"), symlink(pfx+"b", "a/../etc")}, pfx + "b", true},
		{"device", []entry{{name: pfx + "dev", typ: '3', mode: 0o644}}, pfx + "dev", false},
		{"fifo", []entry{{name: pfx + "fifo", typ: '6', mode: 0o644}}, pfx + "fifo", false},
		{"IDENT disagrees", []entry{reg(pfx+"TARGET", "x86_64-linux\n"), reg("hab/pkgs/acme/widget/1.2.3/20240102030405/IDENT2", "")}, "", false},
	}
	ctx := context.Background()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			entries := append(append([]entry(nil), base...), c.entries...)
			if c.name == "IDENT disagrees" {
				entries = []entry{dir(pfx), reg(pfx+"IDENT", "acme/widget/9.9.9/20240102030405\n")}
			}
			tmp := t.TempDir()
			in := filepath.Join(tmp, "in")
			os.Mkdir(in, 0o755)
			p := signedHart(t, in, "evil.hart", key, xzBytes(t, tarBytes(t, entries)))
			if _, err := Verify(ctx, p, keys); err != nil {
				t.Fatalf("the crafted hart must be validly signed: %v", err)
			}
			for _, mode := range xzModes(t) {
				root := filepath.Join(tmp, "root")
				os.Mkdir(root, 0o755)
				_, err := ExtractWith(ctx, p, keys, root, ExtractOptions{XZ: mode})
				want := ErrFormat
				if c.unsafe {
					want = ErrUnsafeEntry
				}
				checkErr(t, "Extract/"+string(mode), err, want, p, c.bad)
				if err != nil && c.bad != "" && !strings.Contains(err.Error(), "entry "+quote(c.bad)) {
					t.Errorf("error %q does not name entry %q", err, c.bad)
				}
				for _, q := range listTree(t, tmp) {
					if !strings.HasPrefix(q, "in/") && !strings.HasPrefix(q, "root/") && q != "root/" && q != "in/" {
						t.Errorf("written outside fsRoot: %s", q)
					}
				}
				if err := os.RemoveAll(root); err != nil {
					t.Fatalf("caller's removal of the destination: %v", err)
				}
				if got := listTree(t, tmp); !reflect.DeepEqual(got, []string{"in/", "in/evil.hart"}) {
					t.Errorf("left behind: %v", got)
				}
			}
		})
	}
}

func quote(s string) string { return `"` + s + `"` }

// TestExtractVerifiesFirst alters a hart with a good payload in ways that
// still decompress (padding appended) or not: the digest is checked
// before anything is decompressed, so nothing is written at all.
func TestExtractVerifiesFirst(t *testing.T) {
	key, keys := testKey(t, "acme")
	good := validHart(t, key)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"padding appended", append(append([]byte(nil), good...), 0, 0, 0, 0), crypto.ErrBadSignature},
		{"last byte changed", append(append([]byte(nil), good[:len(good)-1]...), good[len(good)-1]^0x55), crypto.ErrBadSignature},
		{"byte in the middle changed", func() []byte {
			b := append([]byte(nil), good...)
			b[len(b)-len(b)/3] ^= 0x01
			return b
		}(), crypto.ErrBadSignature},
	} {
		for _, mode := range xzModes(t) {
			t.Run(tc.name+"/"+string(mode), func(t *testing.T) {
				tmp := t.TempDir()
				p := filepath.Join(tmp, "tampered.hart")
				os.WriteFile(p, tc.data, 0o644)
				root := filepath.Join(tmp, "root")
				os.Mkdir(root, 0o755)
				_, err := ExtractWith(ctx, p, keys, root, ExtractOptions{XZ: mode})
				if err == nil || !strings.Contains(err.Error(), p) {
					t.Fatalf("want an error naming the file, got %v", err)
				}
				if tc.want != nil && !errors.Is(err, tc.want) {
					t.Fatalf("want %v, got %v", tc.want, err)
				}
				if tc.want == nil && !errors.Is(err, crypto.ErrBadSignature) && !errors.Is(err, ErrFormat) {
					t.Fatalf("want a signature or format error, got %v", err)
				}
				// Nothing was written before the digest failed.
				if got := listTree(t, root); len(got) != 0 {
					t.Errorf("written before verification: %v", got)
				}
				if err := os.RemoveAll(root); err != nil {
					t.Fatal(err)
				}
				if got := listTree(t, tmp); !reflect.DeepEqual(got, []string{"tampered.hart"}) {
					t.Errorf("left behind: %v", got)
				}
			})
		}
	}
	// Verify sees the same.
	p := filepath.Join(t.TempDir(), "padded.hart")
	os.WriteFile(p, append(append([]byte(nil), good...), 0, 0, 0, 0), 0o644)
	if _, err := Verify(ctx, p, keys); !errors.Is(err, crypto.ErrBadSignature) {
		t.Errorf("Verify: %v", err)
	}
}

// TestExtractDestination checks the destination must exist.
func TestExtractDestination(t *testing.T) {
	key, keys := testKey(t, "acme")
	p := filepath.Join(t.TempDir(), "x.hart")
	os.WriteFile(p, validHart(t, key), 0o644)
	missing := filepath.Join(t.TempDir(), "missing")
	if _, err := Extract(context.Background(), p, keys, missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing destination: %v", err)
	}
	if _, err := Extract(context.Background(), p, nil, t.TempDir()); !errors.Is(err, crypto.ErrKeyNotFound) {
		t.Errorf("no key lookup: %v", err)
	}
}

// TestExtractCancelled checks a cancelled context stops extraction.
func TestExtractCancelled(t *testing.T) {
	key, keys := testKey(t, "acme")
	p := filepath.Join(t.TempDir(), "x.hart")
	os.WriteFile(p, validHart(t, key), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, mode := range xzModes(t) {
		if _, err := ExtractWith(ctx, p, keys, t.TempDir(), ExtractOptions{XZ: mode}); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: %v", mode, err)
		}
	}
	if _, err := Verify(ctx, p, keys); !errors.Is(err, context.Canceled) {
		t.Errorf("Verify: %v", err)
	}
}

// TestVerifyConstantMemory verifies a 32 MiB payload (Verify does not
// decompress, so any bytes do) and checks it allocates a small, fixed
// amount: the payload streams through the hash.
func TestVerifyConstantMemory(t *testing.T) {
	key, keys := testKey(t, "acme")
	payload := bytes.Repeat([]byte("0123456789abcdef"), 2<<20)
	p := signedHart(t, t.TempDir(), "big.hart", key, payload)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if _, err := Verify(context.Background(), p, keys); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Errorf("Verify of a %d MiB payload allocated %d bytes", len(payload)>>20, alloc)
	} else {
		t.Logf("Verify of a %d MiB payload allocated %d KiB", len(payload)>>20, alloc>>10)
	}
}
