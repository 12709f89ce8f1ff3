package builder

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/term"
	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"

	"github.com/habgo/hab/planner/shell"
)

// attach is the plan helper that stops the build at a debugging prompt,
// as the original's attach does: it prints where the plan stopped, then
// reads commands from the build's standard input until exit, quit or end
// of input. Prompt commands: help, whereami [N] (alias @), vars, exit
// (alias quit), exit-program (alias quit-program); any other line runs
// in the plan's shell, so what it sets is seen when the build goes on.
//
// The session is interactive in a studio (STUDIO_TYPE set, as the
// original requires) or when the build's standard input is a terminal;
// otherwise attach only warns and the build goes on, as the original does
// outside an interactive studio.
func (b *builder) attach(ctx context.Context, c *shell.Call) error {
	if b.opts.Stdin == nil || (c.Get("STUDIO_TYPE") == "" && !isTerminal(b.opts.Stdin)) {
		warnLine(c, "Non interactive studio, skipping 'attach'")
		return nil
	}
	site := b.attachSite(c)
	out, prompt := c.Stdout(), c.Stderr()
	fmt.Fprint(out, "\n### Attaching to debugging session\n")
	site.whereami(out, 10)

	// Failing commands must not end the build while debugging: errexit
	// is off during the session and restored after it.
	if c.Eval(ctx, `! [[ $- != *e* ]]`) == nil {
		if err := c.Builtin(ctx, "set", "+e"); err != nil {
			return fmt.Errorf("attach: turn errexit off: %w", err)
		}
		// The set builtin runs even while the shell returns or exits.
		defer c.Builtin(ctx, "set", "-e")
	}
	in := b.attachInput()
	tty := isTerminal(b.opts.Stdin)
	for n := 1; ; n++ {
		fmt.Fprintf(prompt, "[%d] %s(%s)> ", n, c.Get("pkg_name"), site.fn)
		line, err := in.readLine(ctx)
		if errors.Is(err, io.EOF) {
			// End of input (^D) leaves the session, as exit does.
			fmt.Fprintln(prompt)
			break
		}
		if err != nil {
			return fmt.Errorf("attach: read a command: %w", err)
		}
		// The terminal has echoed the command; the log and a non-terminal
		// transcript get it too.
		if tty {
			b.logBuf.Write([]byte(line + "\n"))
		} else {
			fmt.Fprintln(prompt, line)
		}
		cmd := strings.Trim(line, " \t\r")
		word, arg, _ := strings.Cut(cmd, " ")
		switch {
		case cmd == "exit" || cmd == "quit":
		case cmd == "exit-program" || cmd == "quit-program":
			b.exitMsg = fmt.Sprintf("%s at the attach prompt in %s", cmd, site.fn)
			return c.Exit(ctx, 1)
		case cmd == "help":
			fmt.Fprint(out, attachHelp)
		case cmd == "vars":
			printVars(out, c.Env())
		case strings.HasPrefix(word, "whereami") || strings.HasPrefix(word, "@"):
			around := 10
			if a := strings.TrimSpace(arg); a != "" {
				if around, err = strconv.Atoi(a); err != nil || around < 0 {
					fmt.Fprintf(prompt, "whereami: %q is not a number of lines\n", a)
					continue
				}
			}
			site.whereami(out, around)
		case cmd == "":
		default:
			c.Eval(ctx, cmd)
			// A line that ran exit (or return) ends the session, and the
			// shell goes on exiting (returning) as it would in bash.
			if err := c.Eval(ctx, ":"); err != nil {
				return err
			}
		}
		if cmd == "exit" || cmd == "quit" {
			break
		}
	}
	fmt.Fprint(out, "\n### Leaving debugging session\n\n")
	return nil
}

const attachHelp = `
Help
  help          List the commands of this prompt.

Context
  whereami      Print the plan's lines around the attach call
                (whereami N: N lines on either side; 10 by default).

Environment
  vars          Print the shell variables in scope, as set does.

Navigating
  exit          Leave the prompt; the build goes on (as end of input does).
  exit-program  Stop the build here: it fails and leaves no package.

Aliases
  @             Alias for ` + "`whereami`" + `.
  quit          Alias for ` + "`exit`" + `.
  quit-program  Alias for ` + "`exit-program`" + `.

Any other line runs in the plan's shell: what it sets stays set.

`

// isTerminal reports whether r is a terminal.
func isTerminal(r io.Reader) bool {
	f, ok := r.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

// attachInput is the build's standard input, read a line at a time by
// every attach of the build.
func (b *builder) attachInput() *lineReader {
	b.stdinOnce.Do(func() { b.stdin = &lineReader{r: bufio.NewReader(b.opts.Stdin)} })
	return b.stdin
}

// lineReader reads lines that a cancelled context may stop waiting for:
// the read goes on in the background and its line is the next one
// returned.
type lineReader struct {
	mu      sync.Mutex
	r       *bufio.Reader
	pending chan lineResult
}

type lineResult struct {
	line string
	err  error
}

// readLine returns the next line without its newline, or io.EOF at the
// end of the input; a last line without newline is a line.
func (l *lineReader) readLine(ctx context.Context) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pending == nil {
		ch := make(chan lineResult, 1)
		l.pending = ch
		go func() {
			s, err := l.r.ReadString('\n')
			if err == io.EOF && s != "" {
				err = nil
			}
			ch <- lineResult{strings.TrimSuffix(s, "\n"), err}
		}()
	}
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case res := <-l.pending:
		l.pending = nil
		return res.line, res.err
	}
}

// attachSiteInfo is where attach was called: the file (empty when it is
// not known: a file the plan sourced), the line and the shell function.
type attachSiteInfo struct {
	file string
	line int
	fn   string
}

// attachSite finds where attach was called. In the plan file, the
// innermost function of the plan around the call; elsewhere (a file the
// plan sourced), the innermost shell function whose body holds the
// position, with the file unknown.
func (b *builder) attachSite(c *shell.Call) attachSiteInfo {
	pos := c.Pos()
	site := attachSiteInfo{line: int(pos.Line()), fn: "main"}
	if !pos.IsValid() {
		return site
	}
	if src, err := os.ReadFile(b.p.Path); err == nil && b.p.Syntax != nil {
		off := int(pos.Offset())
		if off < len(src) && strings.HasPrefix(string(src[off:]), "attach") {
			site.file = b.p.Path
			var best *syntax.FuncDecl
			syntax.Walk(b.p.Syntax, func(n syntax.Node) bool {
				if fd, ok := n.(*syntax.FuncDecl); ok && contains(fd, pos) {
					if best == nil || span(fd) < span(best) {
						best = fd
					}
				}
				return true
			})
			if best != nil {
				site.fn = best.Name.Value
			}
			return site
		}
	}
	best := -1
	for name, body := range b.p.Runner().Funcs {
		if body != nil && contains(body, pos) && (best < 0 || span(body) < best || span(body) == best && name < site.fn) {
			best, site.fn = span(body), name
		}
	}
	return site
}

func contains(n syntax.Node, pos syntax.Pos) bool {
	return n.Pos().Offset() <= pos.Offset() && pos.Offset() < n.End().Offset()
}

func span(n syntax.Node) int { return int(n.End().Offset() - n.Pos().Offset()) }

// whereami prints the lines of the plan around the attach call, context
// lines on either side, the call's line marked with "=>".
func (s attachSiteInfo) whereami(w io.Writer, context int) {
	if s.file == "" {
		fmt.Fprintf(w, "\nFrom: (a file the plan sourced) @ line %d :\n\n", s.line)
		return
	}
	fmt.Fprintf(w, "\nFrom: %s @ line %d :\n\n", s.file, s.line)
	data, err := os.ReadFile(s.file)
	if err != nil {
		fmt.Fprintf(w, "whereami: %v\n\n", err)
		return
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	for i := max(1, s.line-context); i <= min(len(lines), s.line+context); i++ {
		mark := "    "
		if i == s.line {
			mark = " => "
		}
		fmt.Fprintf(w, "%s%d: %s\n", mark, i, lines[i-1])
	}
	fmt.Fprintln(w)
}

// printVars prints the shell variables as bash's set prints them in
// POSIX mode: sorted by name, values quoted for the shell, arrays as
// ([index]="value" ...).
func printVars(w io.Writer, env expand.Environ) {
	vars := map[string]expand.Variable{}
	env.Each(func(name string, vr expand.Variable) bool {
		if vr.IsSet() && shell.ValidName(name) {
			vars[name] = vr
		}
		return true
	})
	names := make([]string, 0, len(vars))
	for n := range vars {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(w, "%s=%s\n", n, varValue(vars[n]))
	}
}

func varValue(vr expand.Variable) string {
	switch vr.Kind {
	case expand.Indexed:
		var b strings.Builder
		b.WriteByte('(')
		for i, v := range vr.List {
			idx := i
			if vr.Indexes != nil {
				idx = vr.Indexes[i]
			}
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "[%d]=%s", idx, doubleQuote(v))
		}
		b.WriteByte(')')
		return b.String()
	case expand.Associative:
		keys := make([]string, 0, len(vr.Map))
		for k := range vr.Map {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var b strings.Builder
		b.WriteByte('(')
		for _, k := range keys {
			fmt.Fprintf(&b, "[%s]=%s ", quote(k), doubleQuote(vr.Map[k]))
		}
		b.WriteByte(')')
		return b.String()
	}
	if vr.Str == "" {
		return ""
	}
	return quote(vr.Str)
}

func doubleQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`, "`", "\\`")
	return `"` + r.Replace(s) + `"`
}
