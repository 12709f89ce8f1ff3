package manager

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/habgo/hab/internal/procio"
	"github.com/habgo/hab/sup/ctl"
	"github.com/habgo/hab/sup/spec"
)

// TestStatusReadsSpecsOnce: `hab svc status [IDENT]` answers from one
// read of the specs directory (it read every spec file twice when given
// an ident); the rows of loaded services that do not run, one service's
// or every one's, and the errors of an ident not loaded and of no
// ident. The bytes this process reads (rchar of /proc/self/io) while
// answering stay below two reads of the spec files.
func TestStatusReadsSpecsOnce(t *testing.T) {
	m := specsManager(t, t.TempDir(), false)
	size := 0
	for _, id := range []string{"habtest/kept", "habtest/other"} {
		if err := m.specs.Write(spec.New(id)); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(m.specs.Path(strings.TrimPrefix(id, "habtest/")))
		if err != nil {
			t.Fatal(err)
		}
		size += int(fi.Size())
	}
	rchar := func() int {
		n, err := procio.BytesRead()
		if err != nil {
			t.Skipf("%v", err)
		}
		return int(n)
	}
	row := func(name string) string {
		return "habtest/" + name + "\tstandalone\tup\tdown\t0\t<none>\t" + name + ".default"
	}
	for _, tt := range []struct {
		ident string
		want  []string
		code  string // the error's, when it fails
	}{
		{"habtest/kept", []string{StatusHeader, row("kept")}, ""},
		{"", []string{StatusHeader, row("kept"), row("other")}, ""},
		{"habtest/nope", nil, ctl.CodeNotFound},
		{"habtest", nil, ctl.CodeInvalid},
	} {
		var got []string
		before := rchar()
		err := m.status(tt.ident, func(l string) { got = append(got, l) })
		read := rchar() - before
		var ce *ctl.Error
		switch {
		case tt.code != "" && (!errors.As(err, &ce) || ce.Code != tt.code):
			t.Errorf("status %q: error %v, want code %s", tt.ident, err, tt.code)
		case tt.code == "" && err != nil:
			t.Errorf("status %q: %v", tt.ident, err)
		case strings.Join(got, "\n") != strings.Join(tt.want, "\n"):
			t.Errorf("status %q:\n%s\nwant:\n%s", tt.ident, strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
		}
		if read >= 2*size {
			t.Errorf("status %q read %d bytes: the %d bytes of spec files twice or more", tt.ident, read, size)
		}
	}
}
