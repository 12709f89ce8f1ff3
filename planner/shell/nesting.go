package shell

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
)

// MaxNestingFrames bounds how deep the interpreter may recurse, in Go
// stack frames of the goroutine that runs the shell. mvdan.cc/sh runs a
// shell function call as a Go call (about a dozen frames and 9 KB of
// stack per level), so unbounded recursion in a script (f() { f; }; f)
// would end the whole process with a Go stack overflow, which no
// recover catches. 25,000 frames is 1,000 to 3,000 nested calls (real
// plans nest a few dozen) and about 25 MB of stack, far from the 1 GB at
// which Go gives up; the interpreter's time per call grows with the
// depth, so reaching the bound takes under a second.
const MaxNestingFrames = 25_000

// nestingCheckEvery is how many commands run between two measures of the
// stack: recursion gains a level per call, so it is caught within this
// many levels of the bound, while commands at an ordinary depth cost a
// counter increment.
const nestingCheckEvery = 32

// NestingGuard stops runaway recursion with an error instead of a crash.
// Its Check goes in the runner's call handler, which sees every command.
// The zero value is ready; one guard may serve several runners.
type NestingGuard struct {
	calls atomic.Uint64
	mu    sync.Mutex
	pcs   []uintptr
}

// NestingError is the error Check returns past the bound, as bash's own
// "maximum function nesting level exceeded".
type NestingError struct {
	Name  string // the command being called
	Depth int    // nested shell function calls on the stack
}

func (e *NestingError) Error() string {
	return fmt.Sprintf("%s: maximum function nesting level exceeded: unbounded recursion?", e.Name)
}

// Check returns a *NestingError when the goroutine calling it is deeper
// than MaxNestingFrames; name is the command about to run.
func (g *NestingGuard) Check(name string) error {
	if g.calls.Add(1)%nestingCheckEvery != 0 {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.pcs == nil {
		g.pcs = make([]uintptr, MaxNestingFrames)
	}
	n := runtime.Callers(1, g.pcs)
	if n < len(g.pcs) {
		return nil
	}
	depth := 0
	frames := runtime.CallersFrames(g.pcs[:n])
	for {
		f, more := frames.Next()
		if strings.HasSuffix(f.Function, "interp.(*Runner).call") {
			depth++
		}
		if !more {
			break
		}
	}
	return &NestingError{Name: name, Depth: depth}
}
