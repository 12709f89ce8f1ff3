package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Package is one release of a package for one target.
type Package struct {
	ID          int64
	OriginID    int64
	OwnerID     int64
	Origin      string
	Name        string
	Version     string
	Release     string
	Target      string
	Checksum    string
	Size        int64
	Manifest    string
	Config      string
	Deps        []string // fully qualified idents
	TDeps       []string
	BuildDeps   []string
	BuildTDeps  []string
	Exposes     []int
	IsService   bool
	Visibility  string
	PackageType string
	CreatedAt   string
	UpdatedAt   string
}

// Ident is origin/name/version/release.
func (p Package) Ident() string {
	return p.Origin + "/" + p.Name + "/" + p.Version + "/" + p.Release
}

const pkgCols = `p.id, p.origin_id, p.owner_id, p.origin, p.name, p.version, p.release, p.target, p.checksum, p.size,
	p.manifest, p.config, p.deps, p.tdeps, p.build_deps, p.build_tdeps, p.exposes, p.is_service, p.visibility, p.package_type,
	p.created_at, p.updated_at`

func scanPackage(row interface{ Scan(...any) error }) (Package, error) {
	var p Package
	var deps, tdeps, bdeps, btdeps, exposes string
	var svc int
	err := row.Scan(&p.ID, &p.OriginID, &p.OwnerID, &p.Origin, &p.Name, &p.Version, &p.Release, &p.Target, &p.Checksum, &p.Size,
		&p.Manifest, &p.Config, &deps, &tdeps, &bdeps, &btdeps, &exposes, &svc, &p.Visibility, &p.PackageType, &p.CreatedAt, &p.UpdatedAt)
	if err != nil {
		return p, err
	}
	p.IsService = svc != 0
	for _, f := range []struct {
		s   string
		dst any
	}{{deps, &p.Deps}, {tdeps, &p.TDeps}, {bdeps, &p.BuildDeps}, {btdeps, &p.BuildTDeps}, {exposes, &p.Exposes}} {
		if err := json.Unmarshal([]byte(f.s), f.dst); err != nil {
			return p, fmt.Errorf("package %d: stored list %q: %w", p.ID, f.s, err)
		}
	}
	return p, nil
}

func jsonList[T any](l []T) string {
	if l == nil {
		l = []T{}
	}
	b, _ := json.Marshal(l)
	return string(b)
}

// InsertPackage records an uploaded package (whose blob is already stored)
// and places it in its origin's unstable channel, in one transaction. Its
// visibility comes from the package's settings row, created from the
// origin's default when absent. An existing (ident, target) gives
// ErrConflict unless forced; a forced re-upload must have the stored
// checksum, else *Refused.
func (s *Store) InsertPackage(ctx context.Context, p Package, forced bool) (Package, error) {
	now := s.stamp()
	var out Package
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var vis string
		err := tx.QueryRowContext(ctx, `SELECT visibility FROM package_settings WHERE origin_id = $1 AND name = $2`, p.OriginID, p.Name).Scan(&vis)
		if errors.Is(err, sql.ErrNoRows) {
			if err := tx.QueryRowContext(ctx, `SELECT default_package_visibility FROM origins WHERE id = $1`, p.OriginID).Scan(&vis); err != nil {
				return notFound(err, "origin "+p.Origin)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO package_settings (origin_id, name, visibility, owner_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)
				ON CONFLICT (origin_id, name) DO NOTHING`, p.OriginID, p.Name, vis, p.OwnerID, now); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		var id int64
		err = tx.QueryRowContext(ctx, `INSERT INTO packages (origin_id, owner_id, origin, name, version, release, ident, target, checksum, size,
			manifest, config, deps, tdeps, build_deps, build_tdeps, exposes, is_service, visibility, package_type, version_key, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $22)
			ON CONFLICT (ident, target) DO NOTHING RETURNING id`,
			p.OriginID, p.OwnerID, p.Origin, p.Name, p.Version, p.Release, p.Ident(), p.Target, p.Checksum, p.Size,
			p.Manifest, p.Config, jsonList(p.Deps), jsonList(p.TDeps), jsonList(p.BuildDeps), jsonList(p.BuildTDeps), jsonList(p.Exposes),
			boolInt(p.IsService), vis, p.PackageType, VersionKey(p.Version), now).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			existing, err := scanPackage(tx.QueryRowContext(ctx, `SELECT `+pkgCols+` FROM packages p WHERE p.ident = $1 AND p.target = $2`, p.Ident(), p.Target))
			if err != nil {
				return err
			}
			if !forced {
				return fmt.Errorf("package %s (%s): %w", p.Ident(), p.Target, ErrConflict)
			}
			if existing.Checksum != p.Checksum {
				return &Refused{Reason: fmt.Sprintf("ds:up:4: package %s (%s) is stored with checksum %s, not %s", p.Ident(), p.Target, existing.Checksum, p.Checksum)}
			}
			id = existing.ID
		} else if err != nil {
			return err
		} else {
			for _, d := range p.TDeps {
				parts := strings.Split(d, "/")
				if len(parts) < 2 {
					continue
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO package_tdeps (package_id, origin, name) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, id, parts[0], parts[1]); err != nil {
					return err
				}
			}
		}
		var unstable int64
		if err := tx.QueryRowContext(ctx, `SELECT id FROM channels WHERE origin_id = $1 AND name = 'unstable'`, p.OriginID).Scan(&unstable); err != nil {
			return notFound(err, "channel unstable of origin "+p.Origin)
		}
		if err := addToChannel(ctx, tx, unstable, id, now); err != nil {
			return err
		}
		out, err = scanPackage(tx.QueryRowContext(ctx, `SELECT `+pkgCols+` FROM packages p WHERE p.id = $1`, id))
		return err
	})
	if err != nil {
		return Package{}, fmt.Errorf("record package %s (%s): %w", p.Ident(), p.Target, err)
	}
	return out, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Filter selects packages: origin and name always; version, release,
// target and channel when set; visibility among Visibilities (all when nil).
type Filter struct {
	Origin, Name, Version, Release string
	Target                         string
	Channel                        string
	Visibilities                   []string
}

// where renders the filter as SQL conditions on p (and channel c) with args
// numbered from 1.
func (f Filter) where() (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, fmt.Sprintf(cond, len(args)))
	}
	add("p.origin = $%d", f.Origin)
	if f.Name != "" {
		add("p.name = $%d", f.Name)
	}
	if f.Version != "" {
		add("p.version = $%d", f.Version)
		add("p.version_key = $%d", VersionKey(f.Version)) // the same test, but one the packages_latest index answers
	}
	if f.Release != "" {
		add("p.release = $%d", f.Release)
	}
	if f.Target != "" {
		add("p.target = $%d", f.Target)
	}
	if f.Visibilities != nil {
		conds, args = f.visible(conds, args)
	}
	if f.Channel != "" {
		// The channel's id is found once (the subquery does not depend on
		// p), then membership is one primary-key lookup per candidate, so
		// "latest" walks the packages_latest index from the top and stops
		// at the first release in the channel.
		args = append(args, f.Channel)
		conds = append(conds, fmt.Sprintf(`EXISTS (SELECT 1 FROM channel_packages cp WHERE cp.package_id = p.id AND cp.channel_id =
			(SELECT c.id FROM channels c JOIN origins o ON o.id = c.origin_id WHERE o.name = $1 AND c.name = $%d))`, len(args)))
	}
	return strings.Join(conds, " AND "), args
}

// channelWhere renders the filter, which names a channel, as SQL
// conditions on the channel's memberships cp (and their packages p) with
// args numbered from 1: the channel's id found once, then the prefix of
// channel_packages_latest.
func (f Filter) channelWhere() (string, []any) {
	args := []any{f.Origin, f.Channel}
	conds := []string{`cp.channel_id = (SELECT c.id FROM channels c JOIN origins o ON o.id = c.origin_id WHERE o.name = $1 AND c.name = $2)`}
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, fmt.Sprintf(cond, len(args)))
	}
	if f.Name != "" {
		add("cp.name = $%d", f.Name)
	}
	if f.Target != "" {
		add("cp.target = $%d", f.Target)
	}
	if f.Version != "" {
		add("cp.version_key = $%d", VersionKey(f.Version))
		add("p.version = $%d", f.Version)
	}
	if f.Release != "" {
		add("cp.release = $%d", f.Release)
	}
	if f.Visibilities != nil {
		conds, args = f.visible(conds, args)
	}
	return strings.Join(conds, " AND "), args
}

// visible adds the condition that p's visibility is one of f's.
func (f Filter) visible(conds []string, args []any) ([]string, []any) {
	conds = append(conds, "p.visibility IN ("+placeholders(len(args)+1, len(f.Visibilities))+")")
	for _, v := range f.Visibilities {
		args = append(args, v)
	}
	return conds, args
}

func (f Filter) String() string {
	s := f.Origin + "/" + f.Name
	for _, p := range []string{f.Version, f.Release} {
		if p != "" {
			s += "/" + p
		}
	}
	if f.Target != "" {
		s += " (" + f.Target + ")"
	}
	if f.Channel != "" {
		s += " in channel " + f.Channel
	}
	return s
}

// FindPackage returns the first package matching f (by id).
func (s *Store) FindPackage(ctx context.Context, f Filter) (Package, error) {
	w, args := f.where()
	p, err := scanPackage(s.db.QueryRowContext(ctx, `SELECT `+pkgCols+` FROM packages p WHERE `+w+` ORDER BY p.id LIMIT 1`, args...))
	return p, notFound(err, "package "+f.String())
}

// LatestPackage returns the newest release matching f, ordered as
// core/ident orders versions, then by release. Both forms are an index
// walk from the newest entry that stops at the first visible release:
// packages_latest, or with a channel channel_packages_latest, whose
// entries are only the channel's (so a channel holding one old release
// among 100,000 newer ones costs one step, not 100,000).
func (s *Store) LatestPackage(ctx context.Context, f Filter) (Package, error) {
	var q string
	var args []any
	if f.Channel == "" {
		var w string
		w, args = f.where()
		q = `SELECT ` + pkgCols + ` FROM packages p WHERE ` + w + ` ORDER BY p.version_key DESC, p.release DESC LIMIT 1`
	} else {
		w, a := f.channelWhere()
		q, args = `SELECT `+pkgCols+` FROM channel_packages cp JOIN packages p ON p.id = cp.package_id WHERE `+w+
			` ORDER BY cp.version_key DESC, cp.release DESC LIMIT 1`, a
	}
	p, err := scanPackage(s.db.QueryRowContext(ctx, q, args...))
	return p, notFound(err, "latest package "+f.String())
}

// Exists reports whether (ident, target) is stored, in any visibility.
func (s *Store) Exists(ctx context.Context, ident, target string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM packages WHERE ident = $1 AND target = $2`, ident, target).Scan(&n)
	return n > 0, err
}

// PackageChannel is a channel a package is in.
type PackageChannel struct {
	Name       string
	CreatedAt  string
	PromotedAt string
}

// ChannelsOf lists, for each of the packages ids, the channels holding
// it, names descending; every id asked for has an entry (empty when it is
// in none). One query per valuesPerQuery ids.
func (s *Store) ChannelsOf(ctx context.Context, ids []int64) (map[int64][]PackageChannel, error) {
	out := make(map[int64][]PackageChannel, len(ids))
	for _, id := range ids {
		out[id] = []PackageChannel{}
	}
	err := queryChunks(ctx, s.db, ids, `SELECT cp.package_id, c.name, c.created_at, cp.created_at FROM channel_packages cp JOIN channels c ON c.id = cp.channel_id
		WHERE cp.package_id IN ({{IN}}) ORDER BY cp.package_id, c.name DESC`, nil, func(rows *sql.Rows) error {
		var id int64
		var c PackageChannel
		if err := rows.Scan(&id, &c.Name, &c.CreatedAt, &c.PromotedAt); err != nil {
			return err
		}
		out[id] = append(out[id], c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("channels of %d packages: %w", len(ids), err)
	}
	return out, nil
}

// Platforms lists, for each of idents, the targets it is stored for with
// a visibility among visibilities (all when nil), sorted; an ident stored
// for none has no entry. One query per valuesPerQuery idents.
func (s *Store) Platforms(ctx context.Context, idents []string, visibilities []string) (map[string][]string, error) {
	out := map[string][]string{}
	if visibilities != nil && len(visibilities) == 0 {
		return out, nil
	}
	conds, args := []string{"p.ident IN ({{IN}})"}, []any(nil)
	if visibilities != nil {
		conds, args = Filter{Visibilities: visibilities}.visible(conds, args)
	}
	if err := queryChunks(ctx, s.db, idents, `SELECT p.ident, p.target FROM packages p WHERE `+strings.Join(conds, " AND ")+` ORDER BY p.ident, p.target`, args, pairs(out)); err != nil {
		return nil, fmt.Errorf("platforms of %d idents: %w", len(idents), err)
	}
	return out, nil
}

// ChannelNamesOfIdents lists, for each of idents, the channels holding
// any target of it, sorted; an ident in none has no entry. One query per
// valuesPerQuery idents.
func (s *Store) ChannelNamesOfIdents(ctx context.Context, idents []string) (map[string][]string, error) {
	out := map[string][]string{}
	err := queryChunks(ctx, s.db, idents, `SELECT DISTINCT p.ident, c.name FROM packages p JOIN channel_packages cp ON cp.package_id = p.id
		JOIN channels c ON c.id = cp.channel_id WHERE p.ident IN ({{IN}}) ORDER BY p.ident, c.name`, nil, pairs(out))
	if err != nil {
		return nil, fmt.Errorf("channels of %d idents: %w", len(idents), err)
	}
	return out, nil
}

// pairs scans rows of (key, value) into m, the values of each key in
// the rows' order.
func pairs(m map[string][]string) func(*sql.Rows) error {
	return func(rows *sql.Rows) error {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return err
		}
		m[k] = append(m[k], v)
		return nil
	}
}

// ListIdents pages the distinct idents matching f (targets merged), sorted
// by ident descending; with distinct, the distinct names sorted ascending.
// A negative limit returns everything.
func (s *Store) ListIdents(ctx context.Context, f Filter, distinct bool, offset, limit int) ([]string, int, error) {
	w, args := f.where()
	col, order := "p.ident", "DESC"
	if distinct {
		col, order = "p.name", "ASC"
	}
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(DISTINCT `+col+`) FROM packages p WHERE `+w, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count packages %s: %w", f, err)
	}
	q := `SELECT DISTINCT ` + col + ` FROM packages p WHERE ` + w + ` ORDER BY ` + col + ` ` + order
	if limit >= 0 {
		q += fmt.Sprintf(` LIMIT %d OFFSET %d`, limit, offset)
	}
	l, err := s.strings(ctx, q, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list packages %s: %w", f, err)
	}
	return l, total, nil
}

// ListReleases returns every release matching f, sorted by ident ascending
// then target; used where the caller pages or groups in memory.
func (s *Store) ListReleases(ctx context.Context, f Filter) ([]Package, error) {
	w, args := f.where()
	out := []Package{}
	if err := eachRow(ctx, s.db, `SELECT `+pkgCols+` FROM packages p WHERE `+w+` ORDER BY p.ident, p.target`, args, appendPackage(&out)); err != nil {
		return nil, fmt.Errorf("list packages %s: %w", f, err)
	}
	return out, nil
}

// appendPackage scans rows of pkgCols onto l.
func appendPackage(l *[]Package) func(*sql.Rows) error {
	return func(rows *sql.Rows) error {
		p, err := scanPackage(rows)
		if err != nil {
			return err
		}
		*l = append(*l, p)
		return nil
	}
}

// FindReleases returns the releases among idents (origin/name/version/
// release) stored for target with a visibility among visibilities (all
// when nil), sorted by ident; an ident not stored so is left out, and so
// is one that is not fully qualified (it names no release). It is one
// query for up to valuesPerQuery distinct idents, where a FindPackage
// for each would be a round trip each: a release's whole closure (its
// TDEPS) is read at once.
func (s *Store) FindReleases(ctx context.Context, idents []string, target string, visibilities []string) ([]Package, error) {
	if target == "" {
		return nil, fmt.Errorf("find releases of %d idents: no target", len(idents))
	}
	out := []Package{}
	if visibilities != nil && len(visibilities) == 0 {
		return out, nil
	}
	conds, args := []string{"p.target = $1"}, []any{target}
	if visibilities != nil {
		conds, args = Filter{Visibilities: visibilities}.visible(conds, args)
	}
	err := queryChunks(ctx, s.db, idents, `SELECT `+pkgCols+` FROM packages p WHERE `+strings.Join(conds, " AND ")+` AND p.ident IN ({{IN}}) ORDER BY p.ident`,
		args, appendPackage(&out))
	if err != nil {
		return nil, fmt.Errorf("find releases of %d idents (%s): %w", len(idents), target, err)
	}
	return out, nil
}

// PageIdents pages the distinct full idents matching f, ascending.
func (s *Store) PageIdents(ctx context.Context, f Filter, offset, limit int) ([]string, int, error) {
	w, args := f.where()
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(DISTINCT p.ident) FROM packages p WHERE `+w, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count packages %s: %w", f, err)
	}
	l, err := s.strings(ctx, fmt.Sprintf(`SELECT DISTINCT p.ident FROM packages p WHERE %s ORDER BY p.ident LIMIT %d OFFSET %d`, w, limit, offset), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list packages %s: %w", f, err)
	}
	return l, total, nil
}

// LatestPerName returns, for each package name matching f, its newest
// release, sorted by name.
func (s *Store) LatestPerName(ctx context.Context, f Filter) ([]string, error) {
	w, args := f.where()
	rows, err := s.db.QueryContext(ctx, `SELECT p.name, p.ident, p.version_key, p.release FROM packages p WHERE `+w, args...)
	if err != nil {
		return nil, fmt.Errorf("latest packages %s: %w", f, err)
	}
	defer rows.Close()
	type best struct{ ident, key, release string }
	m := map[string]best{}
	for rows.Next() {
		var name string
		var b best
		if err := rows.Scan(&name, &b.ident, &b.key, &b.release); err != nil {
			return nil, err
		}
		if cur, ok := m[name]; !ok || b.key > cur.key || b.key == cur.key && b.release > cur.release {
			m[name] = b
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = m[n].ident
	}
	return out, nil
}

// SearchResult is one search hit.
type SearchResult struct{ Origin, Name, Version, Release string }

// Search pages packages whose origin or name matches every term (the last
// one as a prefix), among public packages and, for origins in
// privateOrigins, all of them. Sorted by ident ascending; with distinct,
// one row per origin/name.
func (s *Store) Search(ctx context.Context, terms []string, privateOrigins []int64, distinct bool, offset, limit int) ([]SearchResult, int, error) {
	var conds []string
	var args []any
	for i, t := range terms {
		esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(t))
		pat := esc
		if i == len(terms)-1 {
			pat += "%"
		}
		args = append(args, pat, "%-"+pat, pat+"-%", "%-"+pat+"-%")
		n := len(args)
		conds = append(conds, fmt.Sprintf(`(LOWER(p.origin) LIKE $%d ESCAPE '\' OR LOWER(p.name) LIKE $%d ESCAPE '\' OR LOWER(p.name) LIKE $%d ESCAPE '\' OR LOWER(p.name) LIKE $%d ESCAPE '\' OR LOWER(p.name) LIKE $%d ESCAPE '\')`, n-3, n-3, n-2, n-1, n))
	}
	vis := `p.visibility = 'public'`
	if len(privateOrigins) > 0 {
		vis = `(p.visibility = 'public' OR p.origin_id IN (` + placeholders(len(args)+1, len(privateOrigins)) + `))`
		for _, o := range privateOrigins {
			args = append(args, o)
		}
	}
	conds = append(conds, vis)
	w := strings.Join(conds, " AND ")
	cols := `p.origin, p.name, p.version, p.release`
	order := `p.ident`
	if distinct {
		cols, order = `p.origin, p.name, '', ''`, `p.origin, p.name`
	}
	var total int
	countCol := `p.ident`
	if distinct {
		countCol = `p.origin || '/' || p.name`
	}
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(DISTINCT `+countCol+`) FROM packages p WHERE `+w, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("search: %w", err)
	}
	q := fmt.Sprintf(`SELECT %s FROM packages p WHERE %s GROUP BY %s ORDER BY %s LIMIT %d OFFSET %d`, cols, w, groupCols(distinct), order, limit, offset)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("search: %w", err)
	}
	defer rows.Close()
	out := []SearchResult{}
	for rows.Next() {
		var r SearchResult
		if err := rows.Scan(&r.Origin, &r.Name, &r.Version, &r.Release); err != nil {
			return nil, 0, err
		}
		out = append(out, r)
	}
	return out, total, rows.Err()
}

func groupCols(distinct bool) string {
	if distinct {
		return `p.origin, p.name`
	}
	return `p.ident, p.origin, p.name, p.version, p.release`
}

// SetVisibility sets the visibility of every target of ident.
func (s *Store) SetVisibility(ctx context.Context, ident, visibility string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE packages SET visibility = $1, updated_at = $2 WHERE ident = $3`, visibility, s.stamp(), ident)
	return affected(res, err, "package "+ident)
}

// DeletePackage deletes a release for one target, refusing (*Refused) when
// it is in stable or when any package of that target depends on any
// release of its origin/name.
func (s *Store) DeletePackage(ctx context.Context, id int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		p, err := scanPackage(tx.QueryRowContext(ctx, `SELECT `+pkgCols+` FROM packages p WHERE p.id = $1`, id))
		if err != nil {
			return notFound(err, fmt.Sprintf("package %d", id))
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM channel_packages cp JOIN channels c ON c.id = cp.channel_id WHERE cp.package_id = $1 AND c.name = 'stable'`, id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return &Refused{Reason: fmt.Sprintf("package %s is in the stable channel: demote it first", p.Ident())}
		}
		var dep string
		err = tx.QueryRowContext(ctx, `SELECT r.ident FROM package_tdeps d JOIN packages r ON r.id = d.package_id
			WHERE d.origin = $1 AND d.name = $2 AND r.target = $3 AND r.id <> $4 ORDER BY r.ident LIMIT 1`, p.Origin, p.Name, p.Target, id).Scan(&dep)
		if err == nil {
			return &Refused{Reason: fmt.Sprintf("package %s/%s is a dependency of %s", p.Origin, p.Name, dep)}
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM packages WHERE id = $1`, id)
		return err
	})
}

// ReverseDeps lists the origin/name of packages for target whose
// transitive dependencies include origin/name, sorted.
func (s *Store) ReverseDeps(ctx context.Context, origin, name, target string) ([]string, error) {
	return s.strings(ctx, `SELECT DISTINCT r.origin || '/' || r.name FROM package_tdeps d JOIN packages r ON r.id = d.package_id
		WHERE d.origin = $1 AND d.name = $2 AND r.target = $3 AND r.visibility = 'public' ORDER BY 1`, origin, name, target)
}
