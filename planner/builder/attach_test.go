package builder

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const attachPlan = `pkg_name=attacher
pkg_origin=habtest
pkg_version=1.0
pkg_description="an attach test"; pkg_bin_dirs=(bin "a b")
inspect() {
  attach
}
do_build() {
  local inner=here; local -A assoc=([k]='v "w"' [a]=b)
  if [[ -n "${NESTED:-}" ]]; then inspect; else attach; fi
  test -z "${FAIL:-}"; true
}
do_install() {
  echo "${FOO:-unset}" > "$pkg_prefix/foo"
}
`

// TestAttach runs plans that stop at attach with their commands on a
// pipe: the prompt evaluates lines in the plan's shell (what they set is
// seen when the build goes on), prints where it stopped, the variables
// and its help, and leaves on exit, quit or end of input; errexit is off
// at the prompt and back on after it; exit-program, quit-program and an
// exit typed at the prompt fail the build and leave nothing behind.
func TestAttach(t *testing.T) {
	tests := []struct {
		name   string
		input  string
		env    []string
		status int    // the build's failure status; 0: it succeeds
		msg    string // the failure's message
		foo    string // what do_install saw in FOO
		want   []string
		not    []string
	}{
		{
			name:  "session",
			input: "echo \"$pkg_name\"\nwhereami\n  vars  \nFOO=bar\nfalse\nhelp\n\nexit\n",
			env:   []string{"STUDIO_TYPE=default"},
			foo:   "bar",
			want: []string{
				"\n### Attaching to debugging session\n\nFrom: PLAN @ line 10 :\n\n    1: pkg_name=attacher\n",
				"    9:   local inner=here; local -A assoc=([k]='v \"w\"' [a]=b)\n => 10:   if [[ -n \"${NESTED:-}\" ]]; then inspect; else attach; fi\n    11:   test -z \"${FAIL:-}\"; true\n",
				"    15: }\n\n[1] attacher(do_build)> echo \"$pkg_name\"\nattacher\n[2] attacher(do_build)> whereami\n\nFrom: PLAN @ line 10 :\n\n    1: pkg_name=attacher\n",
				"[3] attacher(do_build)>   vars  \n",
				"\ninner=here\n",
				"\npkg_description='an attach test'\n",
				"\npkg_deps=()\n",
				"\npkg_name=attacher\n",
				"\npkg_bin_dirs=([0]=\"bin\" [1]=\"a b\")\n",
				"\nassoc=([a]=\"b\" [k]=\"v \\\"w\\\"\" )\n",
				"[4] attacher(do_build)> FOO=bar\n[5] attacher(do_build)> false\n[6] attacher(do_build)> help\n\nHelp\n",
				"  whereami      Print the plan's lines around the attach call\n",
				"  quit-program  Alias for `exit-program`.\n",
				"[7] attacher(do_build)> \n[8] attacher(do_build)> exit\n\n### Leaving debugging session\n\n",
			},
			not: []string{"Non interactive studio"},
		},
		{
			name:  "nested function, narrow whereami, quit",
			input: "whereami 1\n@ x\n@ 0\nquit\n",
			env:   []string{"STUDIO_TYPE=default", "NESTED=1"},
			foo:   "unset",
			want: []string{
				"From: PLAN @ line 6 :\n\n    1: pkg_name=attacher\n",
				"[1] attacher(inspect)> whereami 1\n\nFrom: PLAN @ line 6 :\n\n    5: inspect() {\n => 6:   attach\n    7: }\n\n[2]",
				"[2] attacher(inspect)> @ x\nwhereami: \"x\" is not a number of lines\n[3] attacher(inspect)> @ 0\n\nFrom: PLAN @ line 6 :\n\n => 6:   attach\n\n[4] attacher(inspect)> quit\n\n### Leaving debugging session\n",
			},
		},
		{
			name:  "end of input leaves, a last line without newline runs",
			input: "FOO=eof",
			env:   []string{"STUDIO_TYPE=default"},
			foo:   "eof",
			want:  []string{"[1] attacher(do_build)> FOO=eof\n[2] attacher(do_build)> \n\n### Leaving debugging session\n"},
		},
		{
			name:   "errexit is back on after the session",
			input:  "FAIL=1\nexit\n",
			env:    []string{"STUDIO_TYPE=default"},
			status: 1,
			msg:    "do_build exited with status 1",
			want:   []string{"### Leaving debugging session"},
		},
		{
			name:   "return at the prompt returns from the calling function, errexit back on",
			input:  "FAIL=1\nreturn 0\necho never\n",
			env:    []string{"STUDIO_TYPE=default", "NESTED=1"},
			status: 1,
			msg:    "do_build exited with status 1",
			not:    []string{"never", "[3]", "Leaving debugging session"},
		},
		{
			name:   "quit-program",
			input:  "FOO=bar\nquit-program\necho never\n",
			env:    []string{"STUDIO_TYPE=default"},
			status: 1,
			msg:    "quit-program at the attach prompt in do_build",
			want:   []string{"[2] attacher(do_build)> quit-program\n"},
			not:    []string{"never", "Leaving debugging session"},
		},
		{
			name:   "exit-program",
			input:  "exit-program\n",
			env:    []string{"STUDIO_TYPE=default"},
			status: 1,
			msg:    "exit-program at the attach prompt in do_build",
		},
		{
			name:   "exit with a status typed at the prompt",
			input:  "exit 3\necho never\n",
			env:    []string{"STUDIO_TYPE=default"},
			status: 3,
			msg:    "do_build exited with status 3",
			not:    []string{"never", "[2]", "Leaving debugging session"},
		},
		{
			name:  "no studio and no terminal",
			input: "FOO=bar\n",
			foo:   "unset",
			want:  []string{"attacher: WARN: Non interactive studio, skipping 'attach'"},
			not:   []string{"Attaching", "[1]"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.extra = tt.env
			dir := writePlan(t, map[string]string{"plan.sh": attachPlan})
			var out bytes.Buffer
			opts := e.options(&out)
			// A pipe, as a terminal's line discipline delivers lines.
			pr, pw := io.Pipe()
			go func() {
				pw.Write([]byte(tt.input))
				pw.Close()
			}()
			defer pr.Close()
			opts.Stdin = pr
			res, err := Build(context.Background(), dir, opts)
			got := out.String()
			planPath := filepath.Join(dir, "plan.sh")
			for _, w := range tt.want {
				w = strings.ReplaceAll(w, "PLAN", planPath)
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q", w)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(got, n) {
					t.Errorf("output has %q", n)
				}
			}
			if tt.status != 0 {
				var be *Error
				if !errors.As(err, &be) || be.Phase != "do_build" || be.Status != tt.status || be.Msg != tt.msg {
					t.Fatalf("error = %#v, want do_build, status %d, %q\n%s", err, tt.status, tt.msg, got)
				}
				assertNothingLeft(t, e, "attacher")
				return
			}
			if err != nil {
				t.Fatalf("%v\n%s", err, got)
			}
			if log := readFile(t, res.Log); !strings.Contains(log, "### Attaching to debugging session") == (tt.env != nil) || !strings.Contains(log, "\n### Leaving debugging session\n\n") == (tt.env != nil) {
				t.Errorf("the build log %s lacks the session:\n%s", res.Log, log)
			}
			if foo := readFile(t, filepath.Join(res.Prefix, "foo")); foo != tt.foo+"\n" {
				t.Errorf("do_install saw FOO=%q, want %q", strings.TrimSpace(foo), tt.foo)
			}
			if t.Failed() {
				t.Logf("output:\n%s", got)
			}
		})
	}
}

// promptWatch is a build output that reports when the attach prompt
// has been printed.
type promptWatch struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	prompt string
	seen   chan struct{}
	once   sync.Once
}

func (w *promptWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.prompt) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}

func (w *promptWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestAttachCancel: a build waiting at the prompt for input that does
// not come stops when its context is cancelled (^C), as a failure
// (status 130) that leaves nothing behind.
func TestAttachCancel(t *testing.T) {
	e := newEnv(t)
	e.extra = []string{"STUDIO_TYPE=default"}
	dir := writePlan(t, map[string]string{"plan.sh": attachPlan})
	w := &promptWatch{prompt: "[1] attacher(do_build)> ", seen: make(chan struct{})}
	opts := e.options(nil)
	opts.Output = w
	pr, pw := io.Pipe()
	defer pw.Close()
	opts.Stdin = pr
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := Build(ctx, dir, opts)
		done <- err
	}()
	select {
	case <-w.seen:
	case err := <-done:
		t.Fatalf("the build ended without a prompt: %v\n%s", err, w.String())
	}
	cancel()
	err := <-done
	var be *Error
	if !errors.As(err, &be) || be.Phase != "do_build" || be.Status != 130 || !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want do_build cancelled with status 130\n%s", err, w.String())
	}
	assertNothingLeft(t, e, "attacher")
}

// TestAttachInSourcedFile: attach in a function of a file the plan
// sources names that function; whereami knows the line, not the file.
func TestAttachInSourcedFile(t *testing.T) {
	e := newEnv(t)
	e.extra = []string{"STUDIO_TYPE=default"}
	dir := writePlan(t, map[string]string{
		"plan.sh":   "pkg_name=sourcer\npkg_origin=habtest\npkg_version=1.0\nsource \"$PLAN_CONTEXT/helper.sh\"\ndo_build() { helper; }\ndo_install() { return 0; }\n",
		"helper.sh": "# helpers\n\nhelper() {\n  attach\n}\n",
	})
	var out bytes.Buffer
	opts := e.options(&out)
	opts.Stdin = strings.NewReader("whereami\n")
	if _, err := Build(context.Background(), dir, opts); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	want := "### Attaching to debugging session\n\nFrom: (a file the plan sourced) @ line 4 :\n\n[1] sourcer(helper)> whereami\n\nFrom: (a file the plan sourced) @ line 4 :\n\n[2] sourcer(helper)> \n\n### Leaving debugging session\n"
	if !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, out.String())
	}
}
