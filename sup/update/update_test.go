package update

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/hart"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/pkgmeta"
	"github.com/habgo/hab/depot/client"
	"github.com/habgo/hab/internal/depottest"
	"github.com/habgo/hab/sup/census"
)

func TestParse(t *testing.T) {
	for _, s := range []string{"none", "at-once", "rolling"} {
		if got, err := ParseStrategy(s); err != nil || string(got) != s {
			t.Errorf("ParseStrategy(%q) = %q, %v", s, got, err)
		}
	}
	for _, s := range []string{"latest", "track-channel"} {
		if got, err := ParseCondition(s); err != nil || string(got) != s {
			t.Errorf("ParseCondition(%q) = %q, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "Rolling", "at_once"} {
		if _, err := ParseStrategy(s); err == nil || !strings.Contains(err.Error(), "update strategy") {
			t.Errorf("ParseStrategy(%q) = %v", s, err)
		}
	}
	if _, err := ParseCondition("newest"); err == nil || !strings.Contains(err.Error(), `"newest"`) {
		t.Errorf("ParseCondition(newest) = %v", err)
	}
}

func TestNext(t *testing.T) {
	r1, r2 := ident.MustParse("acme/app/1.0/20200101000000"), ident.MustParse("acme/app/1.1/20200102000000")
	for _, c := range []struct {
		name          string
		running, head ident.Ident
		cond          Condition
		want          string
	}{
		{"newer under latest", r1, r2, Latest, r2.String()},
		{"older under latest", r2, r1, Latest, ""},
		{"older under track-channel (a demotion)", r2, r1, TrackChannel, r1.String()},
		{"the same release", r1, r1, TrackChannel, ""},
		{"a partial head", r1, ident.MustParse("acme/app"), TrackChannel, ""},
	} {
		next, ok := Next(c.running, c.head, c.cond)
		if got := map[bool]string{true: next.String(), false: ""}[ok]; got != c.want {
			t.Errorf("%s: Next = %q, want %q", c.name, got, c.want)
		}
	}
}

// The rolling order: the leader first, then each follower once the
// previous Alive member (member id order, wrapping) caught up.
func TestFollowerTurn(t *testing.T) {
	const newPkg, oldPkg = "acme/app/1.1/20200102000000", "acme/app/1.0/20200101000000"
	p := func(id string, alive bool, pkg string, inc uint64) Peer {
		return Peer{ID: id, Alive: alive, Pkg: pkg, PkgIncarnation: inc}
	}
	for _, c := range []struct {
		name         string
		self, leader string
		peers        []Peer
		want         string
	}{
		{"leader not ahead", "c", "b", []Peer{p("a", true, oldPkg, 1), p("b", true, oldPkg, 1), p("c", true, oldPkg, 1)}, ""},
		{"right after the leader", "c", "b", []Peer{p("a", true, oldPkg, 1), p("b", true, newPkg, 2), p("c", true, oldPkg, 1)}, newPkg},
		{"waits for the previous member", "a", "b", []Peer{p("a", true, oldPkg, 1), p("b", true, newPkg, 2), p("c", true, oldPkg, 1)}, ""},
		{"previous member caught up (wrapping)", "a", "b", []Peer{p("a", true, oldPkg, 1), p("b", true, newPkg, 2), p("c", true, newPkg, 2)}, newPkg},
		{"a dead previous member is skipped", "a", "b", []Peer{p("a", true, oldPkg, 1), p("b", true, newPkg, 2), p("c", false, oldPkg, 1)}, newPkg},
		{"already there", "c", "b", []Peer{p("b", true, newPkg, 2), p("c", true, newPkg, 2)}, ""},
		{"the leader itself", "b", "b", []Peer{p("b", true, newPkg, 2), p("c", true, oldPkg, 1)}, ""},
		{"no leader in the census", "c", "x", []Peer{p("b", true, newPkg, 2), p("c", true, oldPkg, 1)}, ""},
	} {
		pkg, inc, ok := FollowerTurn(c.self, c.leader, c.peers)
		if pkg != c.want || ok != (c.want != "") || (ok && inc != 2) {
			t.Errorf("%s: FollowerTurn = %q %d %v, want %q", c.name, pkg, inc, ok, c.want)
		}
	}
	if got := LeaderIncarnation([]Peer{p("a", true, oldPkg, 3), p("b", true, oldPkg, 7)}); got != 8 {
		t.Errorf("LeaderIncarnation = %d", got)
	}
}

func TestPeersFromCensus(t *testing.T) {
	ring := census.NewRing(census.Member{ID: "b"})
	ring.AddMember(census.Member{ID: "a"}, census.Confirmed)
	for _, id := range []string{"b", "a"} {
		ring.Services.Insert(census.Service{MemberID: id, ServiceGroup: "app.default", Incarnation: 1, Pkg: "acme/app/1.0/20200101000000", PkgIncarnation: 4})
	}
	got := Peers(ring, "app.default")
	if len(got) != 2 || got[0].ID != "a" || got[0].Alive || !got[1].Alive || got[1].PkgIncarnation != 4 {
		t.Fatalf("Peers = %+v", got)
	}
}

// Polling a real depot on a loopback port: promotions move the head, a
// demotion rolls track-channel back and leaves latest where it is, and
// a channel without the package is an error saying so.
func TestPollDepot(t *testing.T) {
	ctx := context.Background()
	c, r1, r2 := appDepot(t)
	want := ident.Ident{Origin: "acme", Name: "app"}
	poll := func(running ident.Ident, cond Condition) string {
		t.Helper()
		next, ok, err := Poll(ctx, c, "stable", want, ident.X86_64Linux, running, cond)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return ""
		}
		return next.String()
	}
	// An empty channel, and one that is not there, are errors saying so.
	for _, channel := range []string{"stable", "nosuch"} {
		if _, ok, err := Poll(ctx, c, channel, want, ident.X86_64Linux, r1, Latest); ok || !errors.Is(err, ErrNotInChannel) || !strings.Contains(err.Error(), "poll channel "+channel+" for acme/app") {
			t.Fatalf("channel %s without the package: %v, %v", channel, ok, err)
		}
	}
	if err := c.Promote(ctx, "stable", r1, ident.X86_64Linux); err != nil {
		t.Fatal(err)
	}
	if got := poll(r1, Latest); got != "" {
		t.Fatalf("running the head: %q", got)
	}
	if err := c.Promote(ctx, "stable", r2, ident.X86_64Linux); err != nil {
		t.Fatal(err)
	}
	if got := poll(r1, Latest); got != r2.String() {
		t.Fatalf("after promoting r2: %q", got)
	}
	if err := c.Demote(ctx, "stable", r2, ident.X86_64Linux); err != nil {
		t.Fatal(err)
	}
	if got := poll(r2, TrackChannel); got != r1.String() {
		t.Fatalf("track-channel after the demotion: %q", got)
	}
	if got := poll(r2, Latest); got != "" {
		t.Fatalf("latest after the demotion: %q", got)
	}
	// A depot that is not there is an error naming the channel.
	ts2 := httptest.NewServer(nil)
	ts2.Close()
	gone, _ := client.New(ts2.URL, client.WithRetry(1, time.Millisecond))
	if _, _, err := Poll(ctx, gone, "stable", want, ident.X86_64Linux, r1, Latest); err == nil || !strings.Contains(err.Error(), "poll channel stable for acme/app") {
		t.Fatalf("poll of a missing depot: %v", err)
	}
}

// appDepot is a real depot on a loopback port holding two releases of
// acme/app, none promoted.
func appDepot(t *testing.T) (*client.Client, ident.Ident, ident.Ident) {
	t.Helper()
	keys := crypto.Cache{Dir: t.TempDir()}
	_, sec, err := keys.NewSigningPair("acme", time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	r1, r2 := ident.MustParse("acme/app/1.0/20200101000000"), ident.MustParse("acme/app/1.1/20200102000000")
	c, _ := depottest.Start(t, keys, "acme", buildHart(t, sec, r1), buildHart(t, sec, r2))
	return c, r1, r2
}

// buildHart writes a signed hart of id.
func buildHart(t *testing.T, sec *crypto.SigningSecretKey, id ident.Ident) string {
	t.Helper()
	tree := t.TempDir()
	dir := filepath.Join(append([]string{tree, "hab", "pkgs"}, id.Parts()...)...)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{pkgmeta.FileIdent: id.String() + "\n", pkgmeta.FileTarget: "x86_64-linux\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := hart.Write(context.Background(), &buf, tree, id, sec, hart.WriteOptions{XZ: hart.XZGo, Level: 1, TempDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	name, _ := id.ArchiveName(ident.X86_64Linux)
	out := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// channelFunc is a depot channel answering what a test says: a depot
// gone wrong, which a real one does not make.
type channelFunc func() (*client.Package, error)

func (f channelFunc) ChannelLatest(context.Context, string, ident.Ident, ident.Target) (*client.Package, error) {
	return f()
}

// A head that is not a release of the package polled for is an error,
// never a release to move to.
func TestPollRefusesAnotherPackage(t *testing.T) {
	want := ident.Ident{Origin: "acme", Name: "app"}
	running := ident.MustParse("acme/app/1.0/20200101000000")
	for _, head := range [][4]string{
		{"acme", "other", "1.1", "20200102000000"},
		{"evil", "app", "1.1", "20200102000000"},
		{"acme", "app", "1.1", ""},
		{"acme", "app", "1.1", "../../x"},
	} {
		f := channelFunc(func() (*client.Package, error) {
			var p client.Package
			p.Ident.Origin, p.Ident.Name, p.Ident.Version, p.Ident.Release = head[0], head[1], head[2], head[3]
			return &p, nil
		})
		next, ok, err := Poll(context.Background(), f, "stable", want, ident.X86_64Linux, running, TrackChannel)
		if ok || err == nil || !strings.Contains(err.Error(), "not a release of it") {
			t.Errorf("head %s: Poll = %s, %v, %v; want an error", head, next, ok, err)
		}
	}
}
