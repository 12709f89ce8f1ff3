package shell

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"
)

// Func is a shell command implemented in Go. It is reached like an external
// program: only when no shell function or builtin of that name exists, so a
// script that defines its own function of the same name overrides it, as it
// would override a function sourced before it in bash.
//
// A nil error means exit status 0; use Call.Status for another status and
// Call.Exit to make the shell exit.
type Func func(ctx context.Context, c *Call) error

// Funcs maps command names to Go implementations.
type Funcs map[string]Func

// Middleware returns an interp.ExecHandlers middleware that runs the command
// through funcs when it names one, and passes it on to next otherwise.
// lookup is consulted on every call, so that the set can change between
// runs (the build phases add their own commands); it may return nil.
func Middleware(lookup func(name string) Func) func(next interp.ExecHandlerFunc) interp.ExecHandlerFunc {
	return func(next interp.ExecHandlerFunc) interp.ExecHandlerFunc {
		return func(ctx context.Context, args []string) error {
			if f := lookup(args[0]); f != nil {
				c := &Call{Args: args, hc: interp.HandlerCtx(ctx)}
				err := f(ctx, c)
				if err == nil && c.ranShell {
					// What ran in the shell left its own status behind;
					// the command's status is 0.
					_ = c.hc.Builtin(ctx, []string{"eval", "true"})
				}
				return err
			}
			return next(ctx, args)
		}
	}
}

// Call is one invocation of a Func: its arguments and a view of the shell
// that ran it.
type Call struct {
	// Args holds the command name and its arguments.
	Args     []string
	hc       interp.HandlerContext
	ranShell bool // Eval or Builtin ran: the shell's status may have changed
}

// Arg returns argument i (1-based, like $1), or "" when absent.
func (c *Call) Arg(i int) string {
	if i < len(c.Args) {
		return c.Args[i]
	}
	return ""
}

// Stdout is the command's standard output.
func (c *Call) Stdout() io.Writer { return c.hc.Stdout }

// Stderr is the command's standard error.
func (c *Call) Stderr() io.Writer { return c.hc.Stderr }

// Stdin is the command's standard input.
func (c *Call) Stdin() io.Reader { return c.hc.Stdin }

// Dir is the shell's current directory.
func (c *Call) Dir() string { return c.hc.Dir }

// Pos is the position of the command in the script.
func (c *Call) Pos() syntax.Pos { return c.hc.Pos }

// Env is the shell's environment as the command sees it (read-only).
func (c *Call) Env() expand.Environ { return c.hc.Env }

// Var returns the shell variable name.
func (c *Call) Var(name string) expand.Variable { return c.hc.Env.Get(name) }

// Get returns the string value of the shell variable name ("" if unset).
func (c *Call) Get(name string) string { return c.hc.Env.Get(name).String() }

// Eval runs src in the calling shell, as the eval builtin does: assignments
// it makes are seen by the script afterwards. It returns the status of src
// as an interp.ExitStatus error, or nil when it is 0.
func (c *Call) Eval(ctx context.Context, src string) error {
	c.ranShell = true
	return c.hc.Builtin(ctx, []string{"eval", src})
}

// Set assigns a string value to the shell variable name in the calling
// shell (honouring local declarations of the calling functions, as a bash
// function assigning it would).
func (c *Call) Set(ctx context.Context, name, value string) error {
	if !ValidName(name) {
		return fmt.Errorf("set %q: invalid variable name", name)
	}
	q, err := syntax.Quote(value, syntax.LangBash)
	if err != nil {
		return fmt.Errorf("set %s: %w", name, err)
	}
	if err := c.Eval(ctx, name+"="+q); err != nil {
		return fmt.Errorf("set %s: %w", name, err)
	}
	return nil
}

// SetArray assigns an indexed array to the shell variable name.
func (c *Call) SetArray(ctx context.Context, name string, values []string) error {
	if !ValidName(name) {
		return fmt.Errorf("set %q: invalid variable name", name)
	}
	var b strings.Builder
	b.WriteString(name)
	b.WriteString("=(")
	for i, v := range values {
		q, err := syntax.Quote(v, syntax.LangBash)
		if err != nil {
			return fmt.Errorf("set %s[%d]: %w", name, i, err)
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(q)
	}
	b.WriteByte(')')
	if err := c.Eval(ctx, b.String()); err != nil {
		return fmt.Errorf("set %s: %w", name, err)
	}
	return nil
}

// IsFunc reports whether a shell function called name is defined.
func (c *Call) IsFunc(ctx context.Context, name string) bool {
	if !ValidName(name) {
		return false
	}
	// Negated, so that a shell running with errexit (set -e, as builds
	// do) does not exit when the name is not a function.
	return c.Eval(ctx, `! [[ "$(type -t `+name+`)" != function ]]`) == nil
}

// Status returns the error that makes the command exit with code.
func (c *Call) Status(code int) error {
	if code == 0 {
		return nil
	}
	return interp.ExitStatus(uint8(code))
}

// Exit makes the shell running the command exit with code, as the exit
// builtin does (only a subshell exits when the command runs in one).
func (c *Call) Exit(ctx context.Context, code int) error {
	return c.hc.Builtin(ctx, []string{"exit", strconv.Itoa(code & 0xff)})
}

// ExitCode returns the exit status an error returned by Run carries: 0 for
// nil, the status for interp.ExitStatus, and -1 for any other error.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var es interp.ExitStatus
	if errors.As(err, &es) {
		return int(es)
	}
	return -1
}

// ValidName reports whether s is a valid shell variable or function name.
func ValidName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// Builtin runs the interpreter's builtin name with args in the calling
// shell.
func (c *Call) Builtin(ctx context.Context, name string, args ...string) error {
	c.ranShell = true
	return c.hc.Builtin(ctx, append([]string{name}, args...))
}
