package resolve_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/habgo/hab/core/paths"
	"github.com/habgo/hab/studio"
	"github.com/habgo/hab/studio/resolve"
	"github.com/habgo/hab/studio/rootfs"
)

func TestOrigins(t *testing.T) {
	for _, tt := range []struct {
		in   []string
		want []string
	}{
		{nil, nil},
		{[]string{""}, nil},
		{[]string{"core"}, []string{"core"}},
		{[]string{" a , b,,c "}, []string{"a", "b", "c"}},
		{[]string{"a", "b,c"}, []string{"a", "b", "c"}},
	} {
		if got := resolve.Origins(tt.in...); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Origins(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSudoOwner(t *testing.T) {
	for _, tt := range []struct {
		uid, gid string
		want     *studio.Owner
	}{
		{"1000", "1001", &studio.Owner{UID: 1000, GID: 1001}},
		{"", "", nil},
		{"0", "0", nil}, // root owns root's files already
		{"x", "1", nil},
		{"1000", "", nil},
		{"-5", "1", nil},
	} {
		if got := resolve.SudoOwner(tt.uid, tt.gid); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SudoOwner(%q, %q) = %+v, want %+v", tt.uid, tt.gid, got, tt.want)
		}
	}
}

// TestOpen resolves requests as hab studio and hab pkg build make them:
// root and source defaults, the kind, the caches, and the refusals.
func TestOpen(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("as root, no user-namespace probe runs (a non-root user's request starts one)")
	}
	base := t.TempDir()
	src := filepath.Join(base, "my plans")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(src, link); err != nil {
		t.Fatal(err)
	}
	r := paths.At(filepath.Join(base, "fs"))
	name := rootfs.DirName(src) // "tmp--...--my-plans"
	ctx := context.Background()
	tests := []struct {
		name     string
		req      resolve.Request
		root     string
		kind     string
		caches   int
		wantErr  error
		typeErr  bool
		noSource bool
	}{
		{name: "defaults from the working directory", req: resolve.Request{Paths: r, Workdir: src, HabBinary: "/bin/true"},
			root: filepath.Join(r.Studios(), name), kind: "chroot", caches: 2},
		{name: "source through a link", req: resolve.Request{Paths: r, Src: link, Workdir: "/", HabBinary: "/bin/true"},
			root: filepath.Join(r.Studios(), name), kind: "chroot", caches: 2},
		{name: "root and home", req: resolve.Request{Paths: r, Workdir: src, StudiosHome: "/x/studios", HabBinary: "/bin/true"},
			root: "/x/studios/" + name, kind: "chroot", caches: 2},
		{name: "explicit root", req: resolve.Request{Paths: r, Workdir: src, Root: "/y/s", HabBinary: "/bin/true", NoArtifacts: true},
			root: "/y/s", kind: "chroot"},
		{name: "containerd", req: resolve.Request{Paths: r, Workdir: src, Root: "/y/s", Container: true, ContainerdAddress: "/run/c.sock", HabBinary: "/bin/true"},
			root: "/y/s", kind: "containerd", caches: 2},
		{name: "unknown type", req: resolve.Request{Paths: r, Workdir: src, Type: "busybox"}, typeErr: true},
		{name: "container as a user", req: resolve.Request{Paths: paths.Root{FS: r.FS, Home: base}, Workdir: src, Container: true}, wantErr: resolve.ErrNeedsRoot},
		{name: "missing source", req: resolve.Request{Paths: r, Src: filepath.Join(base, "none"), HabBinary: "/bin/true"}, noSource: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := resolve.Open(ctx, tt.req)
			var te *resolve.TypeError
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("error %v, want %v", err, tt.wantErr)
				}
				return
			case tt.typeErr:
				if !errors.As(err, &te) {
					t.Errorf("error %v, want a *TypeError", err)
				}
				return
			case tt.noSource:
				if err == nil {
					t.Error("a missing source path was accepted")
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if st.Root() != tt.root || st.Kind != tt.kind || len(st.Caches) != tt.caches || st.Src != src {
				t.Errorf("root %s kind %s caches %v src %s; want %s %s %d %s", st.Root(), st.Kind, st.Caches, st.Src, tt.root, tt.kind, tt.caches, src)
			}
		})
	}
}
