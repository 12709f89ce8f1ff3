package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/habgo/hab/sup/manager"
)

// readStatusTable reads hab svc status's printed table back into rows:
// the header must be the original's names in its order, and each row
// seven cells separated by runs of spaces (no cell holds a space), at
// the header's column offsets.
func readStatusTable(t *testing.T, out string) []serviceStatus {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) == 1 && lines[0] == "No services loaded." {
		return nil
	}
	names := strings.Split(manager.StatusHeader, "\t")
	var starts []int
	at := 0
	for _, n := range names {
		i := strings.Index(lines[0][at:], n)
		if i < 0 || i > 0 && strings.TrimSpace(lines[0][at:at+i]) != "" {
			t.Fatalf("svc status header %q: no column %q in its place\n%s", lines[0], n, out)
		}
		starts = append(starts, at+i)
		at += i + len(n)
	}
	var tabbed []string
	tabbed = append(tabbed, manager.StatusHeader)
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) != len(names) {
			t.Fatalf("svc status row %q: %d cells, want %d\n%s", l, len(f), len(names), out)
		}
		for i, start := range starts {
			if len(l) < start || !strings.HasPrefix(l[start:], f[i]) {
				t.Fatalf("svc status row %q: cell %q not under %q (column %d)\n%s", l, f[i], names[i], start, out)
			}
		}
		tabbed = append(tabbed, strings.Join(f, "\t"))
	}
	rows, err := parseStatus(tabbed)
	if err != nil {
		t.Fatalf("svc status: %v\n%s", err, out)
	}
	return rows
}

// TestStatusTable: hab svc status aligns the supervisor's status lines as
// the original's TabWriter does: each column as wide as its widest cell
// (at least 2) plus 2 spaces, the last one unpadded; "No services
// loaded." passes unchanged; readStatusTable reads it back.
func TestStatusTable(t *testing.T) {
	for _, tt := range []struct {
		name  string
		lines []string
		want  string
	}{
		{"two services", []string{manager.StatusHeader,
			"habtest/service/0.1.0/20260101000000\tstandalone\tup\tup\t12\t4242\tservice.default",
			"habtest/client/0.1.0/20260101000000\tstandalone\tdown\tdown\t0\t<none>\tclient.web"},
			"package                               type        desired  state  elapsed (s)  pid     group\n" +
				"habtest/service/0.1.0/20260101000000  standalone  up       up     12           4242    service.default\n" +
				"habtest/client/0.1.0/20260101000000   standalone  down     down   0            <none>  client.web\n"},
		{"narrow cells", []string{"a\tb\tc", "\t\tlast"}, "a   b   c\n        last\n"},
		{"none", []string{"No services loaded."}, "No services loaded.\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			tw := statusTable(&b)
			for _, l := range tt.lines {
				fmt.Fprintln(tw, l)
			}
			if err := tw.Flush(); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("got\n%q\nwant\n%q", b.String(), tt.want)
			}
		})
	}
	var b strings.Builder
	tw := statusTable(&b)
	fmt.Fprintln(tw, manager.StatusHeader)
	fmt.Fprintln(tw, "a/b/1/2\tstandalone\tup\tup\t5\t42\tb.default")
	tw.Flush()
	rows := readStatusTable(t, b.String())
	if len(rows) != 1 || rows[0].Package != "a/b/1/2" || *rows[0].PID != 42 || rows[0].ServiceGroup != "b.default" {
		t.Errorf("read back: %+v", rows)
	}
}
