package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/depot/pgtest"
)

// The PostgreSQL cluster the package's tests share (one database each).
var (
	cluster  *pgtest.Cluster
	pgReason string
)

func TestMain(m *testing.M) {
	os.Exit(pgtest.Main(m, func(c *pgtest.Cluster, reason string) { cluster, pgReason = c, reason }))
}

// eachDatabase runs fn with the DSN of a fresh embedded database and of a
// fresh PostgreSQL database.
func eachDatabase(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, filepath.Join(t.TempDir(), "depot.db")) })
	t.Run("postgres", func(t *testing.T) {
		if cluster == nil {
			t.Skip(pgReason)
		}
		fn(t, cluster.NewDatabase(t))
	})
}

// oddVersions are versions whose order only core/ident knows (the
// original's odd-version cases among them).
var oddVersions = []string{
	"R11B-5", "R16B", "R16B02-5", "R16B03-1", "R9B03-1", "19.209-37", "19.227-15", "7u79", "7u80", "1.0.2h", "1.0.2r",
	"0.0~r131", "1.7.3", "1.2.3", "1.2.3-beta12", "1.2.3-beta2", "2.0", "17.1.0-dev.cloud", "19.1.0.", "19.1.0.dev-cloud",
	"4", "5", "master", "latest", "1.02", "1.2", "1.10", "00001", "1", "1.0", "1.0.0", "10", "99999999999999999999999",
}

type release struct {
	id               int64
	version, release string
	visibility       string
	channels         []string
}

// newest is the release core/ident orders last among rs (versions, then
// releases), "" when rs is empty.
func newest(rs []release) string {
	var best *release
	for i := range rs {
		r := &rs[i]
		if best == nil {
			best = r
			continue
		}
		c := ident.CompareVersions(r.version, best.version)
		if c > 0 || c == 0 && r.release > best.release {
			best = r
		}
	}
	if best == nil {
		return ""
	}
	return best.version + "/" + best.release
}

// TestLatestInChannelAfterMigration: a database as the first schema left
// it (memberships without sort keys) is migrated on Open, and then "latest"
// in every channel, sparse ones included, is the release core/ident orders
// last, with and without a version and among visible releases only;
// promotions, channel promotions and demotions after the migration keep it
// so, and promoting a package that does not exist is ErrNotFound.
func TestLatestInChannelAfterMigration(t *testing.T) {
	eachDatabase(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		old, err := open(ctx, dsn, 1)
		if err != nil {
			t.Fatal(err)
		}
		a, err := old.EnsureAccount(ctx, "bobo")
		if err != nil {
			t.Fatal(err)
		}
		o, err := old.CreateOrigin(ctx, "odd", a.ID, "public")
		if err != nil {
			t.Fatal(err)
		}
		chans := map[string]int64{}
		for _, name := range []string{"unstable", "stable", "sparse", "empty"} {
			c, err := old.EnsureChannel(ctx, o.ID, name, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			chans[name] = c.ID
		}
		// Two releases of every version, in a random order; the oldest
		// alone in sparse, every third in stable, a private newest.
		r := rand.New(rand.NewPCG(3, 4))
		var rels []release
		for _, i := range r.Perm(2 * len(oddVersions)) {
			rels = append(rels, release{version: oddVersions[i/2], release: fmt.Sprintf("2024010100%04d", i), visibility: "public", channels: []string{"unstable"}})
		}
		oldestAt, newestAt := 0, 0
		for i := range rels {
			if i%3 == 0 {
				rels[i].channels = append(rels[i].channels, "stable")
			}
			if c := ident.CompareVersions(rels[i].version, rels[oldestAt].version); c < 0 || c == 0 && rels[i].release < rels[oldestAt].release {
				oldestAt = i
			}
			if c := ident.CompareVersions(rels[i].version, rels[newestAt].version); c > 0 || c == 0 && rels[i].release > rels[newestAt].release {
				newestAt = i
			}
		}
		rels[oldestAt].channels = append(rels[oldestAt].channels, "sparse")
		rels[newestAt].visibility = "private"
		for i := range rels {
			rl := &rels[i]
			id := ident.Ident{Origin: "odd", Name: "app", Version: rl.version, Release: rl.release}
			err := old.db.QueryRowContext(ctx, `INSERT INTO packages (origin_id, owner_id, origin, name, version, release, ident, target, checksum, size,
				manifest, config, deps, tdeps, build_deps, build_tdeps, exposes, is_service, visibility, package_type, version_key, created_at, updated_at)
				VALUES ($1, $2, 'odd', 'app', $3, $4, $5, 'x86_64-linux', $6, 1, '', '', '[]', '[]', '[]', '[]', '[]', 0, $7, 'Standard', $8, 'now', 'now')
				RETURNING id`, o.ID, a.ID, rl.version, rl.release, id.String(), fmt.Sprintf("%064x", i), rl.visibility, VersionKey(rl.version)).Scan(&rl.id)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range rl.channels {
				if _, err := old.db.ExecContext(ctx, `INSERT INTO channel_packages (channel_id, package_id, created_at, updated_at) VALUES ($1, $2, 'now', 'now')`, chans[c], rl.id); err != nil {
					t.Fatal(err)
				}
			}
		}
		old.Close()

		s, err := Open(ctx, dsn)
		if err != nil {
			t.Fatalf("open and migrate: %v", err)
		}
		defer s.Close()
		check := func(when string) {
			t.Helper()
			for name := range chans {
				var all, public []release
				for _, rl := range rels {
					for _, c := range rl.channels {
						if c == name {
							all = append(all, rl)
							if rl.visibility == "public" {
								public = append(public, rl)
							}
						}
					}
				}
				for _, c := range []struct {
					vis  []string
					want string
				}{{nil, newest(all)}, {[]string{"public"}, newest(public)}} {
					f := Filter{Origin: "odd", Name: "app", Target: "x86_64-linux", Channel: name, Visibilities: c.vis}
					p, err := s.LatestPackage(ctx, f)
					got := p.Version + "/" + p.Release
					if c.want == "" {
						if !errors.Is(err, ErrNotFound) {
							t.Errorf("%s: latest in %s %v: %s %v, want ErrNotFound", when, name, c.vis, got, err)
						}
						continue
					}
					if err != nil || got != c.want {
						t.Errorf("%s: latest in %s %v: %s %v, want %s", when, name, c.vis, got, err, c.want)
					}
				}
				// Latest of one version: its newer release, if the channel holds it.
				v := rels[0].version
				var ofV []release
				for _, rl := range all {
					if rl.version == v {
						ofV = append(ofV, rl)
					}
				}
				p, err := s.LatestPackage(ctx, Filter{Origin: "odd", Name: "app", Version: v, Target: "x86_64-linux", Channel: name})
				if want := newest(ofV); want != "" && (err != nil || p.Version+"/"+p.Release != want) || want == "" && !errors.Is(err, ErrNotFound) {
					t.Errorf("%s: latest %s in %s: %s/%s %v, want %q", when, v, name, p.Version, p.Release, err, want)
				}
			}
		}
		check("after the migration")

		// Memberships made after the migration.
		if err := s.Promote(ctx, chans["sparse"], rels[1].id); err != nil {
			t.Fatal(err)
		}
		rels[1].channels = append(rels[1].channels, "sparse")
		if err := s.PromoteChannel(ctx, chans["stable"], chans["empty"]); err != nil {
			t.Fatal(err)
		}
		for i := range rels {
			if slices.Contains(rels[i].channels, "stable") {
				rels[i].channels = append(rels[i].channels, "empty")
			}
		}
		if err := s.Demote(ctx, chans["unstable"], rels[newestAt].id); err != nil {
			t.Fatal(err)
		}
		rels[newestAt].channels = rels[newestAt].channels[1:]
		p, err := s.InsertPackage(ctx, Package{OriginID: o.ID, OwnerID: a.ID, Origin: "odd", Name: "app", Version: "99999999999999999999999", Release: "20990101000000",
			Target: "x86_64-linux", Checksum: strings.Repeat("ab", 32), Size: 1, PackageType: "Standard"}, false)
		if err != nil {
			t.Fatal(err)
		}
		rels = append(rels, release{id: p.ID, version: p.Version, release: p.Release, visibility: "public", channels: []string{"unstable"}})
		check("after promotions")

		if err := s.Promote(ctx, chans["stable"], 1<<40); !errors.Is(err, ErrNotFound) {
			t.Errorf("promote a missing package: %v, want ErrNotFound", err)
		}
	})
}
