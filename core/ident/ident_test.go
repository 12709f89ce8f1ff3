package ident

import (
	"errors"
	"github.com/habgo/hab/internal/conformance"
	"maps"
	"os"
	"regexp"
	"slices"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    Ident
		wantErr string
	}{
		{in: "core/redis", want: Ident{Origin: "core", Name: "redis"}},
		{in: "core/redis/3.2.1", want: Ident{Origin: "core", Name: "redis", Version: "3.2.1"}},
		{in: "core/redis/3.2.1/20160101000000", want: Ident{"core", "redis", "3.2.1", "20160101000000"}},
		{in: "neurosis/oddversion5/0.0~r131/20190513181055", want: Ident{"neurosis", "oddversion5", "0.0~r131", "20190513181055"}},
		{in: "core", wantErr: "expected origin/name"},
		{in: "a/b/c/d/e", wantErr: "expected origin/name"},
		{in: "Core/redis", wantErr: `origin "Core"`},
		{in: "core/re.dis", wantErr: `name "re.dis"`},
		{in: "core/redis//1", wantErr: "empty version"},
		{in: "core/redis/1/", wantErr: "empty release"},
		{in: "/redis", wantErr: `origin ""`},
		{in: "core/", wantErr: `name ""`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.wantErr != "" {
				if err == nil || !errors.Is(err, ErrInvalid) || !regexp.MustCompile(regexp.QuoteMeta(tt.wantErr)).MatchString(err.Error()) {
					t.Fatalf("Parse(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("Parse(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
			if got.String() != tt.in {
				t.Fatalf("String() = %q, want %q", got.String(), tt.in)
			}
		})
	}
}

func TestFullyQualified(t *testing.T) {
	if _, err := ParseFullyQualified("core/redis/1.0"); err == nil {
		t.Fatal("core/redis/1.0 accepted as fully qualified")
	}
	id, err := ParseFullyQualified("core/redis/1.0/20200101000000")
	if err != nil {
		t.Fatal(err)
	}
	name, err := id.ArchiveName(X86_64Linux)
	if err != nil || name != "core-redis-1.0-20200101000000-x86_64-linux.hart" {
		t.Fatalf("ArchiveName = %q, %v", name, err)
	}
	if _, err := (Ident{Origin: "core", Name: "redis"}).ArchiveName(X86_64Linux); err == nil {
		t.Fatal("ArchiveName of a partial ident succeeded")
	}
}

func TestSatisfies(t *testing.T) {
	id := MustParse("core/redis/3.2.1/20160101000000")
	for in, want := range map[string]bool{
		"core/redis":                      true,
		"core/redis/3.2.1":                true,
		"core/redis/3.2.1/20160101000000": true,
		"core/redis/3.2.2":                false,
		"core/redis/3.2.1/20160101000001": false,
		"acme/redis":                      false,
		"core/redis-cli":                  false,
	} {
		if got := id.Satisfies(MustParse(in)); got != want {
			t.Errorf("%s.Satisfies(%s) = %v, want %v", id, in, got, want)
		}
	}
}

func TestCompareVersions(t *testing.T) {
	// Each row: a < b.
	less := [][2]string{
		{"1.0", "2.0"},
		{"1.0.0", "2.0.0"},
		{"2.0.0", "2.0.1"},
		{"2.1.1.4", "2.1.1.5"},
		{"1.9", "1.10"},
		{"1.0", "1.0.0"},
		{"1.0.0-alpha1", "1.0.0-alpha2"},
		{"1.0.0-alpha1000", "1.0.0-beta1"},
		{"1.2.3-beta12", "1.2.3"},
		{"1.2.3-beta12", "1.2.3-beta2"},
		{"R16B", "R16B02-5"},
		{"R16B02-5", "R16B03-1"},
		{"R9Z-9", "R16B"},
		{"7u79", "7u80"},
		{"0.0~r131", "1.7.3"},
		{"1.0.2h", "1.0.2r"},
		{"19.209-37", "19.227-15"},
		{"19.227-15", "19.227-19"},
		{"17.1.0-dev.cloud", "19.1.0."},
		{"19.1.0.", "19.1.0.dev-cloud"},
		{"4", "5"},
		{"master", "0.0.1"},
		{"aaster", "master"},
		{"18446744073709551615", "18446744073709551616"},
	}
	for _, p := range less {
		if c := CompareVersions(p[0], p[1]); c != -1 {
			t.Errorf("CompareVersions(%q, %q) = %d, want -1", p[0], p[1], c)
		}
		if c := CompareVersions(p[1], p[0]); c != 1 {
			t.Errorf("CompareVersions(%q, %q) = %d, want 1", p[1], p[0], c)
		}
	}
	for _, v := range []string{"1.0", "R16B", "master", "0.0~r131"} {
		if c := CompareVersions(v, v); c != 0 {
			t.Errorf("CompareVersions(%q, %q) = %d, want 0", v, v, c)
		}
	}
}

// TestLatestOddVersions checks, on the real packages the original depot's
// own tests upload, that Latest picks what the depot answers for "latest".
func TestLatestOddVersions(t *testing.T) {
	entries, err := os.ReadDir(conformance.Path(t, "builder", "oddversions"))
	if err != nil {
		t.Fatal(err)
	}
	fileRE := regexp.MustCompile(`^(neurosis)-(oddversion\d)-(.+)-(\d{14})-x86_64-linux\.hart$`)
	byName := map[string][]Ident{}
	for _, e := range entries {
		m := fileRE.FindStringSubmatch(e.Name())
		if m == nil {
			t.Fatalf("unexpected file name %q", e.Name())
		}
		id, err := ParseFullyQualified(m[1] + "/" + m[2] + "/" + m[3] + "/" + m[4])
		if err != nil {
			t.Fatal(err)
		}
		byName[m[2]] = append(byName[m[2]], id)
	}
	// What the original depot's API tests expect from /pkgs/neurosis/NAME/latest.
	want := map[string]string{
		"oddversion1": "neurosis/oddversion1/R16B03-1/20190510185500",
		"oddversion2": "neurosis/oddversion2/19.227-19/20190510223644",
		"oddversion3": "neurosis/oddversion3/7u80/20190510225040",
		"oddversion4": "neurosis/oddversion4/1.0.2r/20190510235906",
		"oddversion5": "neurosis/oddversion5/1.7.3/20190513181032",
		"oddversion6": "neurosis/oddversion6/2.0/20190513194234",
		"oddversion7": "neurosis/oddversion7/19.1.0.dev-cloud/20190531174711",
		"oddversion8": "neurosis/oddversion8/5/20190617213102",
	}
	if len(byName) != len(want) {
		t.Fatalf("found packages %v, want %d of them", slices.Collect(maps.Keys(byName)), len(want))
	}
	for name, ids := range byName {
		got, _ := Latest(ids)
		if got.String() != want[name] {
			t.Errorf("Latest(%s) = %s, want %s", name, got, want[name])
		}
	}
	// Without 2.0 (not in the depot test's upload set), 1.2.3 wins over its betas.
	six := slices.DeleteFunc(slices.Clone(byName["oddversion6"]), func(i Ident) bool { return i.Version == "2.0" })
	if got, _ := Latest(six); got.Version != "1.2.3" {
		t.Errorf("Latest(oddversion6 without 2.0) = %s, want version 1.2.3", got)
	}
	// The depot lists oddversion7's versions newest first with 17.1.0-dev.cloud last.
	seven := slices.Clone(byName["oddversion7"])
	slices.SortFunc(seven, func(a, b Ident) int { return Compare(b, a) })
	if seven[2].Version != "17.1.0-dev.cloud" {
		t.Errorf("oddversion7 sorted newest first = %v, want 17.1.0-dev.cloud last", seven)
	}
}

func TestTargets(t *testing.T) {
	for _, s := range []string{"x86_64-linux", "x86_64-linux-kernel2", "x86_64-windows", "aarch64-linux", "aarch64-darwin"} {
		if _, err := ParseTarget(s); err != nil {
			t.Errorf("ParseTarget(%q): %v", s, err)
		}
	}
	if _, err := ParseTarget("sparc-solaris"); err == nil {
		t.Error("ParseTarget(sparc-solaris) succeeded")
	}
	got, err := ActiveTarget(func(k string) string {
		if k == "HAB_PKG_TARGET" {
			return "aarch64-linux"
		}
		return ""
	})
	if err != nil || got != AArch64Linux {
		t.Errorf("ActiveTarget with HAB_PKG_TARGET = %v, %v", got, err)
	}
}
