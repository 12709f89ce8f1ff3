package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestBar(t *testing.T) {
	for _, tc := range []struct {
		name     string
		terminal bool
		total    int64
		writes   []int
		want     []string // in the output, in order
	}{
		{"off a terminal nothing at all", false, 100, []int{50, 50}, nil},
		{"known size", true, 2048, []int{1024, 1024}, []string{"\rget [>                             ]   0%       0 B / 2.0 KiB", "\rget [==============================] 100%   2.0 KiB / 2.0 KiB\n"}},
		{"unknown size", true, -1, []int{10}, []string{"\rget 0 B", "\rget 10 B\n"}},
		{"more than announced", true, 10, []int{20}, []string{"100%"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			b := New(&out, tc.terminal, "get", tc.total)
			clock := time.Unix(0, 0)
			b.now = func() time.Time { clock = clock.Add(time.Second); return clock }
			for _, n := range tc.writes {
				if k, err := b.Write(make([]byte, n)); k != n || err != nil {
					t.Fatalf("write: %d %v", k, err)
				}
			}
			b.Close()
			b.Close()
			if !tc.terminal {
				if out.Len() != 0 {
					t.Errorf("drew %q off a terminal", out.String())
				}
				if b.Done() != 100 {
					t.Errorf("counted %d", b.Done())
				}
				return
			}
			s := out.String()
			for _, w := range tc.want {
				i := strings.Index(s, w)
				if i < 0 {
					t.Fatalf("output %q lacks %q", out.String(), w)
				}
				s = s[i+len(w):]
			}
			if strings.Count(out.String(), "\n") != 1 {
				t.Errorf("not one line: %q", out.String())
			}
		})
	}
	// Redraws are throttled: many writes within the interval draw once.
	var out bytes.Buffer
	b := New(&out, true, "x", 1000)
	b.now = func() time.Time { return time.Unix(0, 0) }
	b.last = b.now()
	for range 100 {
		b.Write(make([]byte, 5))
	}
	if n := strings.Count(out.String(), "\r"); n != 1 {
		t.Errorf("%d redraws within one interval", n)
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 100 << 20: "100.0 MiB", 3 << 30: "3.0 GiB"} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}
