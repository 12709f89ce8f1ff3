package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
)

const (
	linux   = "x86_64-linux"
	windows = "x86_64-windows"
)

// packagesFixture opens a fresh store with origins acme and core (public),
// and returns it with a function that records a release for a target in
// a visibility (each depending on core/z/1.0/20240101000000).
func packagesFixture(t *testing.T, dsn string) (*Store, func(id, target, visibility string) Package) {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	a, err := s.EnsureAccount(ctx, "bobo")
	if err != nil {
		t.Fatal(err)
	}
	origins := map[string]Origin{}
	for _, name := range []string{"acme", "core"} {
		if origins[name], err = s.CreateOrigin(ctx, name, a.ID, "public"); err != nil {
			t.Fatal(err)
		}
	}
	return s, func(id, target, visibility string) Package {
		t.Helper()
		parts := strings.Split(id, "/")
		o := origins[parts[0]]
		p, err := s.InsertPackage(ctx, Package{OriginID: o.ID, OwnerID: a.ID, Origin: o.Name, Name: parts[1], Version: parts[2], Release: parts[3],
			Target: target, Checksum: strings.Repeat("ab", 32), Size: 1, PackageType: "Standard", Deps: []string{"core/z/1.0/20240101000000"}}, false)
		if err != nil {
			t.Fatal(err)
		}
		if visibility != "public" {
			if err := s.SetVisibility(ctx, id, visibility); err != nil {
				t.Fatal(err)
			}
		}
		return p
	}
}

// TestFindReleases: FindReleases answers, for a list of idents, the
// releases stored for one target among the visibilities asked for, sorted
// by ident and each once; missing, partial, private or hidden (when not
// asked for) and other-target idents are left out; an empty list or no
// visibility answers nothing; no target is an error naming the count; a
// list longer than one query takes (valuesPerQuery) is answered whole.
func TestFindReleases(t *testing.T) {
	eachDatabase(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s, insert := packagesFixture(t, dsn)
		const (
			a1      = "acme/a/1.0.0/20240101000000"
			a2      = "acme/a/1.0.1/20240102000000" // both targets
			private = "acme/b/1.0.0/20240101000000"
			hidden  = "acme/c/1.0.0/20240101000000"
			win     = "acme/w/1.0.0/20240101000000" // windows only
			z       = "core/z/1.0/20240101000000"
			gone    = "acme/gone/1.0.0/20240101000000"
		)
		insert(a1, linux, "public")
		insert(a2, linux, "public")
		insert(a2, windows, "public")
		insert(private, linux, "private")
		insert(hidden, linux, "hidden")
		insert(win, windows, "public")
		insert(z, linux, "public")
		several := []string{z, hidden, gone, a2, private, win, a1, "acme/a", "acme/a/1.0.0", ""}

		for _, tc := range []struct {
			name    string
			idents  []string
			target  string
			vis     []string
			want    []string
			wantErr string
		}{
			{"public", several, linux, []string{"public"}, []string{a1, a2, z}, ""},
			{"public and private", several, linux, []string{"public", "private"}, []string{a1, a2, private, z}, ""},
			{"every visibility", several, linux, nil, []string{a1, a2, private, hidden, z}, ""},
			{"another target", several, windows, []string{"public"}, []string{a2, win}, ""},
			{"a target nothing is stored for", several, "aarch64-linux", nil, []string{}, ""},
			{"duplicates", []string{z, a1, z, a1, a1}, linux, []string{"public"}, []string{a1, z}, ""},
			{"missing only", []string{gone, "acme/a"}, linux, nil, []string{}, ""},
			{"empty list", []string{}, linux, []string{"public"}, []string{}, ""},
			{"nil list", nil, linux, nil, []string{}, ""},
			{"no visibility", several, linux, []string{}, []string{}, ""},
			{"no target", several, "", []string{"public"}, nil, "find releases of 10 idents: no target"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				l, err := s.FindReleases(ctx, tc.idents, tc.target, tc.vis)
				if tc.wantErr != "" {
					if err == nil || err.Error() != tc.wantErr {
						t.Fatalf("error %v, want %q", err, tc.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if l == nil {
					t.Error("nil list, want an empty one")
				}
				got := []string{}
				for _, p := range l {
					got = append(got, p.Ident())
					if p.Target != tc.target || p.ID == 0 || !slices.Equal(p.Deps, []string{z}) {
						t.Errorf("%s: target %s, id %d, deps %v: not the stored row", p.Ident(), p.Target, p.ID, p.Deps)
					}
					if tc.vis != nil && !slices.Contains(tc.vis, p.Visibility) {
						t.Errorf("%s is %s, not among %v", p.Ident(), p.Visibility, tc.vis)
					}
				}
				if !slices.Equal(got, tc.want) {
					t.Errorf("got %v, want %v", got, tc.want)
				}
			})
		}

		// More idents than one query names, and more than a statement of
		// either database takes parameters (65,535): every third of the
		// first ones stored, the rest missing, asked for in reverse order.
		var many, stored []string
		for i := range 70_000 {
			id := fmt.Sprintf("core/dep%05d/1.0/20240101000000", i)
			many = append(many, id)
			if i%3 == 0 && i < 3*valuesPerQuery+7 {
				insert(id, linux, "public")
				stored = append(stored, id)
			}
		}
		slices.Reverse(many)
		stored = append(stored, z)
		many = append(many, z, private)
		l, err := s.FindReleases(ctx, many, linux, []string{"public"})
		if err != nil {
			t.Fatalf("%d idents: %v", len(many), err)
		}
		got := make([]string, len(l))
		for i, p := range l {
			got[i] = p.Ident()
		}
		if !slices.Equal(got, stored) {
			t.Errorf("%d idents: got %d releases, want %d (first %v)", len(many), len(got), len(stored), got[:min(3, len(got))])
		}
	})
}

// TestListReads: Platforms, ChannelNamesOfIdents and ChannelsOf answer
// for a whole list at once, each ident or id with its own targets or
// channels only: visibilities filter the platforms, unknown idents have
// no entry (unknown ids an empty one), an empty list answers nothing, and
// a list longer than one query takes is answered whole.
func TestListReads(t *testing.T) {
	eachDatabase(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s, insert := packagesFixture(t, dsn)
		const (
			a    = "acme/a/1.0.0/20240101000000" // both targets, linux in stable
			b    = "acme/b/1.0.0/20240101000000" // private
			gone = "acme/gone/1.0.0/20240101000000"
		)
		aLinux, aWindows := insert(a, linux, "public"), insert(a, windows, "public")
		bLinux := insert(b, linux, "private")
		o, err := s.Origin(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		stable, err := s.Channel(ctx, o.ID, "stable")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Promote(ctx, stable.ID, aLinux.ID); err != nil {
			t.Fatal(err)
		}
		// Far more idents and ids than one query names, the few stored
		// among them.
		var manyIdents []string
		var manyIDs []int64
		for i := range 3*valuesPerQuery + 7 {
			manyIdents = append(manyIdents, fmt.Sprintf("acme/x%04d/1.0/20240101000000", i))
			manyIDs = append(manyIDs, int64(1<<40+i))
		}
		manyIdents = append(manyIdents, b, a, a)
		manyIDs = append(manyIDs, bLinux.ID, aWindows.ID, aLinux.ID, aLinux.ID)

		checkReads(t, []readCase{
			{"platforms, public", func() (any, error) { return s.Platforms(ctx, []string{gone, b, a}, []string{"public"}) },
				"map[" + a + ":[x86_64-linux x86_64-windows]]"},
			{"platforms, every visibility", func() (any, error) { return s.Platforms(ctx, []string{gone, b, a}, nil) },
				"map[" + a + ":[x86_64-linux x86_64-windows] " + b + ":[x86_64-linux]]"},
			{"platforms, no visibility", func() (any, error) { return s.Platforms(ctx, []string{a}, []string{}) }, "map[]"},
			{"platforms, no idents", func() (any, error) { return s.Platforms(ctx, nil, nil) }, "map[]"},
			{"platforms, many idents", func() (any, error) { return s.Platforms(ctx, manyIdents, []string{"public", "private"}) },
				"map[" + a + ":[x86_64-linux x86_64-windows] " + b + ":[x86_64-linux]]"},
			{"channel names", func() (any, error) { return s.ChannelNamesOfIdents(ctx, []string{gone, b, a}) },
				"map[" + a + ":[stable unstable] " + b + ":[unstable]]"},
			{"channel names, no idents", func() (any, error) { return s.ChannelNamesOfIdents(ctx, []string{}) }, "map[]"},
			{"channel names, many idents", func() (any, error) { return s.ChannelNamesOfIdents(ctx, manyIdents) },
				"map[" + a + ":[stable unstable] " + b + ":[unstable]]"},
			{"channels of ids", func() (any, error) {
				return channelNamesOf(s.ChannelsOf(ctx, []int64{aLinux.ID, aWindows.ID, 1 << 40}))
			},
				fmt.Sprintf("map[%d:[unstable stable] %d:[unstable] %d:[]]", aLinux.ID, aWindows.ID, int64(1<<40))},
			{"channels of no ids", func() (any, error) { return channelNamesOf(s.ChannelsOf(ctx, nil)) }, "map[]"},
			{"channels of many ids", func() (any, error) {
				m, err := channelNamesOf(s.ChannelsOf(ctx, manyIDs))
				if len(m) != 3*valuesPerQuery+7+3 {
					return nil, fmt.Errorf("%d entries for %d distinct ids", len(m), 3*valuesPerQuery+7+3)
				}
				for _, id := range []int64{aLinux.ID, aWindows.ID, bLinux.ID} {
					if len(m[id]) == 0 {
						return nil, fmt.Errorf("package %d: no channels", id)
					}
				}
				return fmt.Sprint(m[aLinux.ID], m[aWindows.ID], m[bLinux.ID], m[1<<40]), err
			}, "[unstable stable] [unstable] [unstable] []"},
		})
	})
}

// channelNamesOf keeps the names of ChannelsOf's channels, checking that
// each has its dates.
func channelNamesOf(m map[int64][]PackageChannel, err error) (map[int64][]string, error) {
	if err != nil {
		return nil, err
	}
	out := map[int64][]string{}
	for id, l := range m {
		out[id] = []string{}
		for _, c := range l {
			if c.CreatedAt == "" || c.PromotedAt == "" {
				return nil, fmt.Errorf("package %d: channel %s without its dates: %+v", id, c.Name, c)
			}
			out[id] = append(out[id], c.Name)
		}
	}
	return out, nil
}

// TestIntegrations: Integrations answers each kind of one origin's
// integrations with its names, sorted, in one call (nothing of another
// origin's); IntegrationNames one kind's.
func TestIntegrations(t *testing.T) {
	eachDatabase(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s, _ := packagesFixture(t, dsn)
		ids := map[string]int64{}
		for _, name := range []string{"acme", "core"} {
			o, err := s.Origin(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			ids[name] = o.ID
		}
		a, err := s.EnsureAccount(ctx, "other")
		if err != nil {
			t.Fatal(err)
		}
		empty, err := s.CreateOrigin(ctx, "empty", a.ID, "public")
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range [][3]string{{"acme", "github", "x"}, {"acme", "docker", "quay"}, {"acme", "docker", "hub"}, {"core", "docker", "other"}} {
			if err := s.CreateIntegration(ctx, ids[in[0]], in[1], in[2], `{"a":1}`); err != nil {
				t.Fatal(err)
			}
		}
		checkReads(t, []readCase{
			{"every kind", func() (any, error) { return s.Integrations(ctx, ids["acme"]) }, "map[docker:[hub quay] github:[x]]"},
			{"another origin's", func() (any, error) { return s.Integrations(ctx, ids["core"]) }, "map[docker:[other]]"},
			{"none", func() (any, error) { return s.Integrations(ctx, empty.ID) }, "map[]"},
			{"one kind", func() (any, error) { return s.IntegrationNames(ctx, ids["acme"], "docker") }, "[hub quay]"},
			{"a kind of none", func() (any, error) { return s.IntegrationNames(ctx, ids["acme"], "slack") }, "[]"},
		})
	})
}

// readCase is a read and what it answers, printed with fmt.Sprint.
type readCase struct {
	name string
	read func() (any, error)
	want string
}

func checkReads(t *testing.T, cases []readCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.read()
			if err != nil {
				t.Fatal(err)
			}
			if s := fmt.Sprint(got); s != tc.want {
				t.Errorf("got %s, want %s", s, tc.want)
			}
		})
	}
}
