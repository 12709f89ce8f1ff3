package closure

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/habgo/hab/core/ident"
)

func ids(ss ...string) []ident.Ident {
	var out []ident.Ident
	for _, s := range ss {
		out = append(out, ident.MustParse("o/"+s+"/1/1"))
	}
	return out
}

func names(l []ident.Ident) string {
	var out []string
	for _, id := range l {
		out = append(out, id.Name)
	}
	return strings.Join(out, " ")
}

// table returns a TDepsFunc over a map of name to TDEPS names, counting calls.
func table(m map[string]string, calls *int) TDepsFunc {
	return func(_ context.Context, id ident.Ident) ([]ident.Ident, error) {
		*calls++
		t, ok := m[id.Name]
		if !ok {
			return nil, fmt.Errorf("%s is not installed", id)
		}
		if t == "" {
			return nil, nil
		}
		return ids(strings.Fields(t)...), nil
	}
}

func TestTDeps(t *testing.T) {
	for _, c := range []struct {
		name   string
		direct string
		tdeps  map[string]string
		want   string
	}{
		{"no dependencies", "", nil, ""},
		{"one package and its TDEPS", "a", map[string]string{"a": "b c"}, "a b c"},
		{"shared dependency moves to the end", "a b", map[string]string{"a": "c d", "b": "c"}, "a b d c"},
		{"direct dependency of another moves after it", "b a", map[string]string{"a": "b", "b": "x"}, "a x b"},
		{"self-edge ignored", "a", map[string]string{"a": "a b"}, "a b"},
		{"duplicate TDEPS lines keep the last", "a", map[string]string{"a": "b c b"}, "a c b"},
		{"two-package cycle", "a b", map[string]string{"a": "b", "b": "a"}, "b a"},
		{"duplicate direct", "a a", map[string]string{"a": "b"}, "a b"},
	} {
		t.Run(c.name, func(t *testing.T) {
			calls := 0
			got, err := TDeps(context.Background(), ids(strings.Fields(c.direct)...), table(c.tdeps, &calls))
			if err != nil {
				t.Fatal(err)
			}
			if names(got) != c.want {
				t.Errorf("got %q, want %q", names(got), c.want)
			}
			if n := len(strings.Fields(c.direct)); calls != n {
				t.Errorf("%d lookups for %d direct packages", calls, n)
			}
		})
	}
}

// oracle is the original's algorithm as its shell writes it: copy the
// direct list, then for every TDEPS entry of every direct package remove
// it wherever it is and append it.
func oracle(direct []ident.Ident, tdeps map[ident.Ident][]ident.Ident) []ident.Ident {
	out := slices.Clone(direct)
	add := func(x ident.Ident) {
		out = slices.DeleteFunc(out, func(y ident.Ident) bool { return y == x })
		out = append(out, x)
	}
	// The shell's pkg_deps_resolved is already a set: first of each.
	var set []ident.Ident
	for _, d := range out {
		if !slices.Contains(set, d) {
			set = append(set, d)
		}
	}
	out = set
	for _, d := range direct {
		for _, x := range tdeps[d] {
			if x != d {
				add(x)
			}
		}
	}
	return out
}

func TestTDepsMatchesOriginalOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		pool := ids("a", "b", "c", "d", "e", "f", "g", "h")
		direct := []ident.Ident{}
		for range 1 + r.IntN(4) {
			direct = append(direct, pool[r.IntN(len(pool))])
		}
		m := map[ident.Ident][]ident.Ident{}
		for _, p := range pool {
			for range r.IntN(5) {
				m[p] = append(m[p], pool[r.IntN(len(pool))])
			}
		}
		got, err := TDeps(context.Background(), direct, func(_ context.Context, id ident.Ident) ([]ident.Ident, error) { return m[id], nil })
		if err != nil {
			t.Fatal(err)
		}
		if want := oracle(direct, m); !slices.Equal(got, want) {
			t.Fatalf("round %d: direct %s: got %s, want %s", round, names(direct), names(got), names(want))
		}
	}
}

func TestTDepsErrors(t *testing.T) {
	calls := 0
	_, err := TDeps(context.Background(), ids("a", "missing"), table(map[string]string{"a": "b"}, &calls))
	if err == nil || !strings.Contains(err.Error(), "o/missing/1/1") {
		t.Errorf("missing package: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := TDeps(ctx, ids("a"), table(map[string]string{"a": ""}, &calls)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// TestTDepsLinear: 100,000 TDEPS lines, each met twice, cost one lookup
// and a list of 100,001 entries: the work is counted, not timed (bench/
// times it).
func TestTDepsLinear(t *testing.T) {
	const n = 100_000
	var many []ident.Ident
	for i := range n {
		many = append(many, ident.Ident{Origin: "o", Name: fmt.Sprintf("p%d", i), Version: "1", Release: "1"})
	}
	root := ids("root")[0]
	other := ids("other")[0]
	calls := 0
	got, err := TDeps(context.Background(), []ident.Ident{root, other}, func(_ context.Context, id ident.Ident) ([]ident.Ident, error) {
		calls++
		return many, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 2 || len(got) != n+2 || got[0] != root || got[1] != other || got[n+1] != many[n-1] {
		t.Fatalf("calls %d, %d entries", calls, len(got))
	}
	var l list
	for _, id := range many {
		l.add(id)
		l.add(id)
	}
	if len(l.order) != 2*n || len(l.items()) != n {
		t.Errorf("the list grew to %d entries for %d adds", len(l.order), 2*n)
	}
}
