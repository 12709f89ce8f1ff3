package sqlstore

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/habgo/hab/core/ident"
)

// TestVersionKeyOrder: sorting by VersionKey gives exactly the order of
// ident.CompareVersions, on the odd versions the original's tests use and
// on random versions built from the pieces that matter.
func TestVersionKeyOrder(t *testing.T) {
	versions := []string{
		"R11B-5", "R16B", "R16B02-5", "R16B03-1", "R9B03-1", "R9Z-9", "19.209-37", "19.227-15", "19.227-19",
		"7u79", "7u80", "1.0.2h", "1.0.2r", "0.0~r131", "1.7.3", "1.2.3", "1.2.3-beta12", "1.2.3-beta2", "2.0",
		"17.1.0-dev.cloud", "19.1.0.", "19.1.0.dev-cloud", "4", "5", "master", "latest", "1.02", "1.2", "1.10",
		"00001", "1", "1.0", "1.0.0", "10", "9.99999999999999999999", "99999999999999999999999", "1.2.3a", "1.2.3-",
	}
	r := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"0", "1", "2", "10", "007", ".", "-", "a", "b", "rc", "~", "beta", "9"}
	for range 2000 {
		var b strings.Builder
		for range 1 + r.IntN(6) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		versions = append(versions, b.String())
	}
	byKey := slices.Clone(versions)
	slices.SortStableFunc(byKey, func(a, b string) int { return strings.Compare(VersionKey(a), VersionKey(b)) })
	for i := 1; i < len(byKey); i++ {
		if c := ident.CompareVersions(byKey[i-1], byKey[i]); c > 0 {
			t.Errorf("by key %q sorts before %q, but CompareVersions says it is newer", byKey[i-1], byKey[i])
		}
		if (VersionKey(byKey[i-1]) == VersionKey(byKey[i])) != (byKey[i-1] == byKey[i]) {
			t.Errorf("keys of %q and %q: equal %v", byKey[i-1], byKey[i], VersionKey(byKey[i-1]) == VersionKey(byKey[i]))
		}
	}
	for _, v := range versions {
		if k := VersionKey(v); strings.Trim(k, "0123456789abcdef") != "" {
			t.Errorf("key of %q is not lowercase hex: %q", v, k)
		}
	}
}
