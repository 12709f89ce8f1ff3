package service

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/habgo/hab/sup/spec"
)

// TestSuitabilityHook runs a real service with a real suitability hook
// for each kind of answer and checks what the ring records for the
// group's elections and what the supervisor says. As the original: the
// trimmed last line of the standard output, exit 0, parsed as Rust's u64
// (an optional "+"); anything else (no output, a blank last line, a word,
// a negative or too large number, a failing hook) is a suitability of 0.
// The ring holds 99 before the hook runs, so a 0 is the hook's answer.
func TestSuitabilityHook(t *testing.T) {
	for _, tc := range []struct {
		name string
		hook string // the body of a sh script
		want uint64
		why  string // in the supervisor's line; "" when the hook answered
	}{
		{"a number", "echo 42", 42, ""},
		{"the last line, trimmed", "echo 1; echo 2; printf ' 7 \\t\\n'", 7, ""},
		{"the last line without a newline", "echo 1; printf 8", 8, ""},
		{"a plus sign", "echo +5", 5, ""},
		{"the largest", "echo 18446744073709551615", math.MaxUint64, ""},
		{"much output before it", "i=0; while [ $i -lt 20000 ]; do echo line $i; i=$((i+1)); done; echo 11", 11, ""},
		{"too large", "echo 18446744073709551616", 0, `"18446744073709551616", is not an unsigned 64-bit integer`},
		{"negative", "echo -1", 0, `"-1", is not an unsigned 64-bit integer`},
		{"two signs", "echo ++1", 0, `"++1", is not an unsigned 64-bit integer`},
		{"not a number", "echo 3; echo high", 0, `"high", is not an unsigned 64-bit integer`},
		{"a blank last line", "echo 5; echo", 0, `"", is not an unsigned 64-bit integer`},
		{"no output", "true", 0, "printed nothing to its standard output"},
		{"only on standard error", "echo 5 >&2", 0, "printed nothing to its standard output"},
		{"a failing hook", "echo 9; exit 3", 0, "the suitability hook exited 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			store, pkg := testPackage(t, root)
			hook := filepath.Join(pkg.Path, "hooks", HookSuitability)
			if err := os.WriteFile(hook, []byte("#!/bin/sh\n"+tc.hook+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			out := &syncBuffer{written: make(chan struct{}, 1)}
			opts := testOptions(t, root, store, out)
			s, err := New(opts, spec.New("test/watched"), pkg)
			if err != nil {
				t.Fatal(err)
			}
			const sg = "watched.default"
			opts.Ring.SetSuitability(sg, 99)
			ctx, cancel := context.WithCancel(context.Background())
			go s.Run(ctx)
			defer func() { cancel(); <-s.Done() }()

			deadline := time.NewTimer(30 * time.Second)
			defer deadline.Stop()
			var said string
			for said == "" {
				for _, l := range strings.Split(out.String(), "\n") {
					if strings.Contains(l, "(SV): Suitability is ") {
						said = l
					}
				}
				if said != "" {
					break
				}
				select {
				case <-out.written:
				case <-deadline.C:
					t.Fatalf("the supervisor never told the suitability; output:\n%s", out.String())
				}
			}
			if got := opts.Ring.Suitability(sg); got != tc.want {
				t.Errorf("the ring's suitability is %d, want %d (%s)", got, tc.want, said)
			}
			if tc.why == "" {
				if want := "Suitability is " + strconv.FormatUint(tc.want, 10); !strings.HasSuffix(said, want) {
					t.Errorf("the supervisor said %q, want it to end with %q", said, want)
				}
			} else if !strings.Contains(said, "Suitability is 0: ") || !strings.Contains(said, tc.why) {
				t.Errorf("the supervisor said %q, want suitability 0 and %q", said, tc.why)
			}
		})
	}
}

// TestParseSuitability holds the parsing rule beside the hook: what Rust's
// u64 from_str accepts after a trim.
func TestParseSuitability(t *testing.T) {
	for _, tc := range []struct {
		line string
		want uint64
		ok   bool
	}{
		{"0", 0, true},
		{"  12\r", 12, true},
		{"+3", 3, true},
		{"007", 7, true},
		{"18446744073709551615", math.MaxUint64, true},
		{"18446744073709551616", 0, false},
		{"", 0, false},
		{"+", 0, false},
		{"-0", 0, false},
		{"+-1", 0, false},
		{"1_000", 0, false},
		{"0x10", 0, false},
		{"1 2", 0, false},
	} {
		got, err := parseSuitability(tc.line)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseSuitability(%q) = %d, %v; want %d, ok %v", tc.line, got, err, tc.want, tc.ok)
		}
	}
}
