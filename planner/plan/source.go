package plan

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"mvdan.cc/sh/v3/syntax"

	"github.com/habgo/hab/planner/shell"
)

// sourceFunc is what `source FILE` and `. FILE` are routed to, so that
// the files a plan sources get the same adjustments as the plan.
const sourceFunc = "__hab_source"

// source reads FILE, adjusts it as the plan was adjusted and runs it in
// the calling shell. A file that needs no adjustment is handed to the
// interpreter's own source builtin.
func (p *Plan) source(ctx context.Context, c *shell.Call) error {
	name := c.Arg(1)
	path := resolveSource(c, name)
	src, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(c.Stderr(), "source: %s: %v\n", name, err)
		return c.Status(1)
	}
	p.st.mu.Lock()
	p.st.sourced++
	n := p.st.sourced
	p.st.mu.Unlock()
	f, changed, err := parseSource(path, src, p.assoc, fmt.Sprintf("__hab_pe_s%d_", n))
	if err != nil {
		fmt.Fprintf(c.Stderr(), "source: %v\n", err)
		return c.Status(1)
	}
	if !changed {
		return c.Builtin(ctx, "source", name)
	}
	var b strings.Builder
	if err := syntax.NewPrinter().Print(&b, f); err != nil {
		return fmt.Errorf("source %s: %w", path, err)
	}
	return c.Eval(ctx, b.String())
}

// resolveSource finds FILE as bash's source does: a name with a slash is
// a path; a bare name is looked up in PATH, then in the current directory.
func resolveSource(c *shell.Call, name string) string {
	if !strings.Contains(name, "/") {
		for _, dir := range filepath.SplitList(c.Get("PATH")) {
			if dir == "" {
				continue
			}
			cand := filepath.Join(dir, name)
			if fi, err := os.Stat(cand); err == nil && fi.Mode().IsRegular() {
				return cand
			}
		}
	}
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(c.Dir(), name)
}
