// Package cliref reads the reference of the original hab's command line
// (../shared/reference/cli.md): every command with its positional
// arguments and flags (long and short names, value names, defaults,
// environment variables, hidden ones). It is for tests only: the
// command-tree test of cmd/hab compares our commands with it.
//
// The reference is prose with tables and lists; the parser knows its
// conventions: section headings name a group (`hab pkg`), table rows and
// list items that start with a command synopsis name commands, flags are
// the backquoted spans that start with a dash, "env `X`" and "default `X`"
// after a flag belong to it, and the bundles [U], [Z!], [Z?], [K], [R],
// [T] of section 0 stand for their flags.
package cliref

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/habgo/hab/internal/conformance"
)

// Command is one command of the reference.
type Command struct {
	// Path is the command's words after hab: ["pkg", "binds"].
	Path []string
	Args []Arg
	// Flags of the command, shared bundles expanded.
	Flags []Flag
	// Passthrough commands hand every argument to another program
	// unparsed (hab studio, hab pkg export container).
	Passthrough bool
	// Line is where the reference names the command.
	Line int
}

// Name is the command's path as typed: "pkg binds".
func (c *Command) Name() string { return strings.Join(c.Path, " ") }

// Flag looks a flag up by its long name, or by its short name when it
// has none.
func (c *Command) Flag(name string) *Flag {
	for i := range c.Flags {
		if f := &c.Flags[i]; f.Long == name || f.Long == "" && f.Short == name {
			return f
		}
	}
	return nil
}

// Arg is one positional argument.
type Arg struct {
	Name     string
	Optional bool
	Repeated bool
	Env      string
}

// Flag is one flag. Value is empty for a switch.
type Flag struct {
	Long, Short string
	Value       string
	Default     string
	Env         []string
	Hidden      bool
	// OptionalValue: the value may be left out (`--flag [PATH]`); the
	// bare flag then means a default of its own.
	OptionalValue bool
	// Repeated: one use takes several words (`--peer IP[:PORT]...`,
	// clap's num_args 1..), up to the next flag.
	Repeated bool
	// Switch is known: the reference says whether the flag takes a
	// value (a value name, a default or an environment variable), or
	// lists it in prose without one (a switch). The flag tables of hab
	// sup run and SharedLoad often name no value; there it is unknown.
	SwitchKnown bool
}

// TakesValue tells whether the flag takes a value (when SwitchKnown).
func (f *Flag) TakesValue() bool { return f.Value != "" || f.Default != "" || len(f.Env) > 0 }

// Reference is the whole reference.
type Reference struct {
	Commands []*Command
	// Groups are the top-level groups the reference lists.
	Groups []string
}

// Find returns the command of a path ("pkg binds"), or nil.
func (r *Reference) Find(name string) *Command {
	for _, c := range r.Commands {
		if c.Name() == name {
			return c
		}
	}
	return nil
}

// ParseFile parses the reference at path.
func ParseFile(path string) (*Reference, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read CLI reference: %w", err)
	}
	defer f.Close()
	r, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("parse CLI reference %s: %w", path, err)
	}
	return r, nil
}

var (
	// "## 7. `hab pkg` (...)"
	headingRe = regexp.MustCompile("^## \\d+\\. `hab ([^`]*)`")
	// "- 14 groups: `bldr cli ...`"
	groupsRe = regexp.MustCompile("^\\s*- \\d+ groups: `([^`]*)`")
	// backquoted spans
	spanRe = regexp.MustCompile("`([^`]*)`")
	// a list item: indentation, "- ", text
	itemRe = regexp.MustCompile(`^(\s*)- (.*)$`)
	// a flag in a span: -s/--long VALUE, --long VALUE, -s
	flagRe = regexp.MustCompile(`^(?:-([A-Za-z])/)?--([a-z0-9-]+)(?: ?(\[?[A-Z_][A-Z_0-9]*(?:\.\.\.)?\]?|[A-Z]+\.\.\.|[a-z-]+(?:\\?\|[a-z-]+)+))?|^-([A-Za-z])$`)
	envRe  = regexp.MustCompile("env (?:\\*\\*)?`([A-Z_][A-Z0-9_]*)`")
	// default `X` / default X (a word or number, not "default:")
	defaultRe = regexp.MustCompile("default (?:`([^`]+)`|([A-Za-z0-9./:]+))")
	bundleRe  = regexp.MustCompile(`\[(U|Z!|Z\?|K|R|T|O)\]`)
	shortsRe  = regexp.MustCompile(`^(-[A-Za-z] ?)+$`)
	argEnvRe  = regexp.MustCompile("([A-Z_]+) is positional, env (?:\\*\\*)?`([A-Z_][A-Z0-9_]*)`")
	// "`env = HAB_BLDR_URL`"
	sectionEnvRe = regexp.MustCompile("`env = ([A-Z_][A-Z0-9_]*)`")
)

// bundle is the flags of one of section 0's shared option sets, fresh
// for each caller (nil for [T], an argument, and unknown names).
func bundle(name string) []Flag {
	switch name {
	case "U":
		return []Flag{{Long: "url", Short: "u", Value: "BLDR_URL", Env: []string{"HAB_BLDR_URL"}, SwitchKnown: true}}
	case "Z!", "Z?":
		return []Flag{{Long: "auth", Short: "z", Value: "AUTH_TOKEN", Env: []string{"HAB_AUTH_TOKEN"}}}
	case "K":
		return []Flag{{Long: "cache-key-path", Value: "PATH", Env: []string{"HAB_CACHE_KEY_PATH"}}}
	case "R":
		return []Flag{{Long: "remote-sup", Short: "r", Value: "REMOTE_SUP"}}
	}
	return nil
}

// parser holds the state while reading.
type parser struct {
	ref *Reference
	// group is the current section's command prefix.
	group []string
	// cur is the command flags attach to (nil: none).
	cur *Command
	// shared collects SharedLoad's flags; sharedUsers get them at the end.
	shared      *Command
	sharedUsers []*Command
	line        int
	inSection   bool
	// sectionFlags are the flags a section's prose defines for its
	// commands' short mentions (hab bldr channel's -u -o -z).
	sectionFlags []Flag
}

// Parse reads a reference.
func Parse(rd io.Reader) (*Reference, error) {
	p := &parser{ref: &Reference{}, shared: &Command{Path: []string{"SharedLoad"}}}
	sc := bufio.NewScanner(rd)
	for sc.Scan() {
		p.line++
		if err := p.parseLine(sc.Text()); err != nil {
			return nil, fmt.Errorf("line %d: %w", p.line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, c := range p.sharedUsers {
		for _, f := range p.shared.Flags {
			addFlag(c, f)
		}
	}
	if len(p.ref.Groups) == 0 {
		return nil, fmt.Errorf("no list of groups")
	}
	return p.ref, nil
}

func (p *parser) parseLine(l string) error {
	if strings.HasPrefix(l, "## ") {
		p.cur = nil
		p.group = nil
		p.inSection = false
		p.sectionFlags = nil
		m := headingRe.FindStringSubmatch(l)
		if m == nil {
			return nil
		}
		p.inSection = true
		words := strings.Fields(m[1])
		// A heading that is a command itself: hab studio [ARGS...],
		// hab supportbundle.
		if len(words) > 1 && strings.HasPrefix(words[len(words)-1], "[") || m[1] == "supportbundle" {
			c, err := p.command(m[1])
			if err != nil {
				return err
			}
			p.group = c.Path
			p.cur = c
			return nil
		}
		p.group = words
		return nil
	}
	if m := groupsRe.FindStringSubmatch(l); m != nil {
		p.ref.Groups = strings.Fields(m[1])
		return nil
	}
	if !p.inSection {
		return nil
	}
	if strings.HasPrefix(l, "|") {
		return p.parseRow(l)
	}
	if m := itemRe.FindStringSubmatch(l); m != nil {
		return p.parseItem(m[1], m[2])
	}
	// Prose: flags defined for the section ("In this group `-u/--url
	// BLDR_URL` is ... `env = HAB_BLDR_URL` and default `https://...`").
	for _, m := range spanRe.FindAllStringSubmatch(l, -1) {
		if f, ok := parseFlag(m[1]); ok && f.Long != "" {
			if e := sectionEnvRe.FindStringSubmatch(l); e != nil && f.Short == "u" {
				f.Env = []string{e[1]}
				if d := defaultRe.FindStringSubmatch(l); d != nil {
					f.Default = d[1] + d[2]
				}
			}
			f.SwitchKnown = true
			p.sectionFlags = append(p.sectionFlags, f)
		}
	}
	return nil
}

// parseRow reads a table row: a command row (first cell a synopsis), or a
// flag row (first cell a flag) of the current command.
func (p *parser) parseRow(l string) error {
	cells := strings.Split(strings.Trim(l, "|"), "|")
	// A pipe inside backquotes splits a cell: join spans back.
	cells = joinQuoted(cells)
	first := strings.TrimSpace(cells[0])
	if strings.HasPrefix(first, "+ all SharedLoad") && p.cur != nil {
		p.sharedUsers = append(p.sharedUsers, p.cur)
		return nil
	}
	if bundleRe.MatchString(first) && p.cur != nil && !strings.HasPrefix(first, "`") {
		p.bundleFlags(p.cur, first)
		return nil
	}
	if !strings.HasPrefix(first, "`") {
		return nil
	}
	spans := spanRe.FindAllStringSubmatch(first, -1)
	if strings.HasPrefix(spans[0][1], "-") {
		// A flag table: flag | default / env | notes.
		if p.cur == nil {
			return nil
		}
		rest := ""
		if len(cells) > 1 {
			rest = strings.TrimSpace(cells[1])
		}
		notes := ""
		if len(cells) > 2 {
			notes = cells[2]
		}
		for _, s := range spans {
			f, ok := parseFlag(s[1])
			if !ok {
				continue
			}
			f.Env = envs(rest)
			// In a row of several flags, a default belongs to the
			// ones without a short name (-A/--auto-update, a switch,
			// shares its row with --auto-update-period 60).
			if len(spans) == 1 || f.Short == "" {
				f.Default = tableDefault(rest)
			}
			f.Hidden = strings.Contains(notes, "**hidden**")
			f.SwitchKnown = f.TakesValue()
			p.add(p.cur, f)
		}
		return nil
	}
	// A command table: synopsis | flags | effect.
	var cmds []*Command
	for _, s := range spans {
		if strings.HasPrefix(s[1], "-") || strings.ToUpper(s[1]) == s[1] {
			continue
		}
		c, err := p.command(s[1])
		if err != nil {
			return err
		}
		cmds = append(cmds, c)
	}
	if len(cells) > 1 {
		for _, c := range cmds {
			p.flagText(c, cells[1])
			if strings.Contains(cells[1], "no parsing at all") {
				c.Passthrough = true
			}
			if strings.Contains(cells[1], "SharedLoad") {
				p.sharedUsers = append(p.sharedUsers, c)
			}
			// "ORG is positional, env **`HABITAT_ORG`**"
			for _, m := range argEnvRe.FindAllStringSubmatch(cells[1], -1) {
				for i := range c.Args {
					if c.Args[i].Name == m[1] {
						c.Args[i].Env = m[2]
					}
				}
			}
		}
	}
	if len(cmds) > 0 {
		p.cur = cmds[len(cmds)-1]
	}
	return nil
}

// joinQuoted joins cells that a | inside backquotes split.
func joinQuoted(cells []string) []string {
	var out []string
	for i := 0; i < len(cells); i++ {
		c := cells[i]
		for strings.Count(c, "`")%2 == 1 && i+1 < len(cells) {
			i++
			c += "|" + cells[i]
		}
		out = append(out, c)
	}
	return out
}

// parseItem reads a list item.
func (p *parser) parseItem(indent, text string) error {
	switch {
	case strings.HasPrefix(text, "**SharedLoad**"):
		p.cur = p.shared
		return nil
	case strings.HasPrefix(text, "**`"):
		// "**`pkg install` flags**": the flags of a command named before.
		name := spanRe.FindStringSubmatch(text)[1]
		if c := p.ref.Find(strings.Join(append(slices.Clone(p.group[:1]), strings.Fields(name)[1:]...), " ")); c != nil && strings.Fields(name)[0] == p.group[0] {
			p.cur = c
		} else if c := p.find(name); c != nil {
			p.cur = c
		} else {
			return fmt.Errorf("flags of unknown command %q", name)
		}
		return nil
	case strings.HasPrefix(text, "`"):
		spans := spanRe.FindAllStringSubmatch(text, -1)
		if strings.HasPrefix(spans[0][1], "-") {
			if p.cur != nil {
				p.flagText(p.cur, text)
			}
			return nil
		}
		if !isCommandSpan(spans[0][1]) {
			return nil
		}
		// One or more synopses before the first ':' or '(' outside spans.
		head := text
		if i := outsideSpans(text, ":("); i >= 0 {
			head = text[:i]
		}
		var last *Command
		for _, s := range spanRe.FindAllStringSubmatch(head, -1) {
			if !isCommandSpan(s[1]) {
				continue
			}
			c, err := p.command(s[1])
			if err != nil {
				return err
			}
			last = c
		}
		p.cur = last
		// Flags given on the same line after the synopsis.
		p.flagText(last, text[len(head):])
		return nil
	case strings.HasPrefix(text, "Flags") || strings.HasPrefix(text, "Inputs") || strings.HasPrefix(text, "Output"):
		if p.cur != nil {
			p.flagText(p.cur, text)
		}
		return nil
	}
	if indent == "" {
		// Another top-level item ends the current command.
		p.cur = nil
	}
	return nil
}

// isCommandSpan tells a command synopsis (lowercase first word) from a
// value or a flag.
func isCommandSpan(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	w := strings.Fields(s)[0]
	return strings.ToLower(w) == w && !strings.ContainsAny(w, "./=:") && w != "accepted-licenses"
}

// outsideSpans is the index of the first of chars outside backquotes, or -1.
func outsideSpans(s, chars string) int {
	in := false
	for i, r := range s {
		if r == '`' {
			in = !in
			continue
		}
		if !in && strings.ContainsRune(chars, r) {
			return i
		}
	}
	return -1
}

// find returns the command whose name ends with name within the group.
func (p *parser) find(name string) *Command {
	return p.ref.Find(strings.Join(append(slices.Clone(p.group), strings.Fields(name)...), " "))
}

// command adds the command of a synopsis ("key upload (ORIGIN | --pubfile
// PATH)", "depart MEMBER_ID [R]") in the current group.
func (p *parser) command(syn string) (*Command, error) {
	c := &Command{Path: slices.Clone(p.group), Line: p.line}
	// (A | --flag VALUE): one of an argument or a flag.
	if i := strings.Index(syn, "("); i >= 0 {
		alt := strings.Trim(syn[i:], "()")
		syn = syn[:i]
		for _, part := range strings.Split(alt, "|") {
			part = strings.TrimSpace(part)
			part = strings.TrimSpace(strings.TrimSuffix(part, "\\"))
			if strings.HasPrefix(part, "-") {
				if f, ok := parseFlag(part); ok {
					f.SwitchKnown = true
					p.add(c, f)
				}
			} else if part != "" {
				c.Args = append(c.Args, Arg{Name: part, Optional: true})
			}
		}
	}
	words := strings.Fields(syn)
	for i := 0; i < len(words); i++ {
		w := words[i]
		switch {
		case bundleRe.MatchString(w):
			p.bundleFlags(c, w)
		case strings.HasPrefix(w, "-"):
			spec := w
			if i+1 < len(words) && isValueName(words[i+1]) && !strings.HasPrefix(words[i+1], "[") {
				spec += " " + words[i+1]
				i++
			}
			if f, ok := parseFlag(spec); ok {
				f.SwitchKnown = true
				p.add(c, f)
			}
		case strings.HasPrefix(w, "["):
			a := Arg{Name: strings.Trim(w, "[]."), Optional: true, Repeated: strings.Contains(w, "...")}
			c.Args = append(c.Args, a)
			if a.Name == "ARGS" {
				c.Passthrough = true
			}
		case isValueName(strings.TrimSuffix(w, "...")):
			c.Args = append(c.Args, Arg{Name: strings.TrimSuffix(w, "..."), Repeated: strings.HasSuffix(w, "...")})
		default:
			c.Path = append(c.Path, w)
		}
	}
	if len(c.Args) > 0 && c.Args[len(c.Args)-1].Name == "ARGS" && len(c.Path) == 1 {
		c.Passthrough = true
	}
	if old := p.ref.Find(c.Name()); old != nil {
		return nil, fmt.Errorf("command %q listed twice (line %d)", c.Name(), old.Line)
	}
	p.ref.Commands = append(p.ref.Commands, c)
	return c, nil
}

// isValueName tells an argument's name: upper case, digits and _.
func isValueName(w string) bool {
	w = strings.Trim(w, "[]")
	if w == "" || w[0] < 'A' || w[0] > 'Z' {
		return false
	}
	for _, r := range w {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// bundleFlags adds the flags (and [T]'s argument) of the bundles in s.
func (p *parser) bundleFlags(c *Command, s string) {
	for _, m := range bundleRe.FindAllStringSubmatch(s, -1) {
		if m[1] == "T" {
			c.Args = append(c.Args, Arg{Name: "PKG_TARGET", Optional: true, Env: "HAB_PACKAGE_TARGET"})
			continue
		}
		for _, f := range bundle(m[1]) {
			if rest := s[strings.Index(s, m[0])+len(m[0]):]; strings.HasPrefix(rest, " (flag only; no env") {
				f.Env = nil
			}
			f.SwitchKnown = true
			addFlag(c, f)
		}
	}
}

// flagText adds the flags a stretch of prose names: backquoted flags, each
// with the env and default that follow it up to the next flag, and the
// bundles.
func (p *parser) flagText(c *Command, text string) {
	if c == nil {
		return
	}
	idx := spanRe.FindAllStringSubmatchIndex(text, -1)
	type found struct {
		f        Flag
		from, to int
	}
	var fs []found
	for _, m := range idx {
		// "`-u -o -z`": several short flags in one span.
		if span := strings.Fields(text[m[2]:m[3]]); len(span) > 1 && shortsRe.MatchString(text[m[2]:m[3]]) {
			for _, w := range span {
				f, _ := parseFlag(w)
				f.SwitchKnown = false
				p.add(c, f)
			}
			continue
		}
		f, ok := parseFlag(text[m[2]:m[3]])
		if !ok || f.Long == "help" || strings.HasPrefix(text[m[1]:], " is not accepted") || strings.HasSuffix(text[:m[0]], "no ") {
			continue
		}
		// "hidden `--generate-config`": hidden, said before the flag.
		f.Hidden = strings.HasSuffix(text[:m[0]], "hidden ")
		fs = append(fs, found{f: f, from: m[1]})
	}
	// "exactly one of `-a/--all`, `-o/--origin ORIGIN`, `PKG_IDENT`":
	// an argument given instead of flags.
	if strings.Contains(text, "exactly one of") {
		for _, m := range idx {
			if v := text[m[2]:m[3]]; isValueName(v) {
				c.Args = append(c.Args, Arg{Name: v, Optional: true})
			}
		}
	}
	for i := range fs {
		end := len(text)
		if i+1 < len(fs) {
			// The text up to the next flag's opening backquote.
			for _, m := range idx {
				if m[1] == fs[i+1].from {
					end = m[0]
				}
			}
		}
		after := text[fs[i].from:end]
		// Only the parenthesis or clause right after the flag.
		clause := after
		if j := outsideSpans(after, ","); j >= 0 && !strings.HasPrefix(strings.TrimSpace(after), "(") {
			clause = after[:j]
		}
		if strings.HasPrefix(strings.TrimSpace(after), "(") {
			if j := strings.Index(after, ")"); j >= 0 {
				clause = after[:j]
			}
		}
		f := fs[i].f
		f.Env = envs(clause)
		if m := defaultRe.FindStringSubmatch(clause); m != nil && !strings.Contains(clause, "default:") {
			f.Default = m[1] + m[2]
		}
		if strings.Contains(clause, "(hidden") {
			f.Hidden = true
		}
		f.SwitchKnown = true
		if !f.TakesValue() {
			// "`--channel`, `--group`" in svc update's list: named
			// without a value, a SharedLoad flag takes one as
			// SharedLoad's does (unknown when its table does not
			// say).
			if g := p.shared.Flag(f.Long); g != nil && f.Long != "" {
				f.Value = g.Value
				f.SwitchKnown = g.SwitchKnown && g.TakesValue()
				if f.SwitchKnown && f.Value == "" {
					f.Value = strings.ToUpper(strings.ReplaceAll(f.Long, "-", "_"))
				}
			}
		}
		p.add(c, f)
	}
	p.bundleFlags(c, text)
}

// add adds f to c. A flag named by its short name alone (`-u`, `-R`) is
// the command's, the section's, SharedLoad's or a bundle's flag of that
// short name when there is one.
func (p *parser) add(c *Command, f Flag) {
	if f.Long == "" {
		for _, g := range c.Flags {
			if g.Short == f.Short {
				return
			}
		}
		// A SharedLoad flag named in another command's list (svc
		// update's -s) is that command's own, without SharedLoad's
		// default; a section's flag keeps the section's.
		shared := make([]Flag, len(p.shared.Flags))
		for i, g := range p.shared.Flags {
			g.Default = ""
			shared[i] = g
		}
		known := append(slices.Clone(p.sectionFlags), shared...)
		known = append(known, bundle("U")...)
		known = append(known, bundle("Z!")...)
		for _, g := range known {
			if g.Short == f.Short {
				g.Env = slices.Clone(g.Env)
				g.SwitchKnown = g.SwitchKnown || f.SwitchKnown
				addFlag(c, g)
				return
			}
		}
	}
	addFlag(c, f)
}

func envs(s string) []string {
	var out []string
	for _, m := range envRe.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// tableDefault is a flag table's default: the cell's first value when
// the cell is a single value, or a value followed by ", env".
func tableDefault(cell string) string {
	cell = strings.TrimSpace(cell)
	v, _, _ := strings.Cut(cell, ", env")
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, "env ") || strings.ContainsAny(strings.Trim(v, "`"), " ;") || v == "" || v == "unset" {
		return ""
	}
	return strings.Trim(v, "`")
}

// parseFlag reads "-s/--long VALUE", "--long VALUE", "--long" or "-s".
func parseFlag(s string) (Flag, bool) {
	m := flagRe.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return Flag{}, false
	}
	if m[4] != "" {
		return Flag{Short: m[4]}, true
	}
	v := strings.TrimSuffix(strings.Trim(m[3], "[]"), "...")
	return Flag{Long: m[2], Short: m[1], Value: v, OptionalValue: strings.HasPrefix(m[3], "["),
		Repeated: m[3] != "" && strings.HasSuffix(strings.TrimRight(strings.TrimSpace(s), "]"), "...")}, true
}

// addFlag adds f to c, or completes the flag c has of that name.
func addFlag(c *Command, f Flag) {
	for i := range c.Flags {
		g := &c.Flags[i]
		if f.Long != "" && g.Long == f.Long || f.Long == "" && g.Long == "" && g.Short == f.Short {
			if g.Short == "" {
				g.Short = f.Short
			}
			if g.Value == "" {
				g.Value = f.Value
			}
			if g.Default == "" {
				g.Default = f.Default
			}
			for _, e := range f.Env {
				if !slices.Contains(g.Env, e) {
					g.Env = append(g.Env, e)
				}
			}
			g.Hidden = g.Hidden || f.Hidden
			g.OptionalValue = g.OptionalValue || f.OptionalValue
			g.Repeated = g.Repeated || f.Repeated
			return
		}
	}
	c.Flags = append(c.Flags, f)
}

// Load parses the shared reference beside the repository
// (../shared/reference/cli.md), skipping the test as the conformance data
// does when it is absent.
func Load(t testing.TB) *Reference {
	t.Helper()
	r, err := ParseFile(conformance.Path(t, "..", "reference", "cli.md"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}
