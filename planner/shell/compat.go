package shell

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/pattern"
	"mvdan.cc/sh/v3/syntax"
)

// The interpreter lacks a few bash features that plans use. Compat and
// CompatCall close those gaps the way the interpreter is meant to be
// extended: the syntax tree is adjusted before it runs, and commands are
// renamed to Go implementations behind the exec handler (CompatFuncs).
//
//   - let "a = b * 2": a quoted expression is parsed as arithmetic.
//   - ${x/#pat/r}, ${x/%pat/r} (anchored replacement, also element-wise
//     on arrays) and ${#assoc[@]}: computed by a Go command run just
//     before the statement holding them, whose result replaces them.
//   - printf -v VAR and read -d DELIM: run by Go implementations.

// Names of the Go commands the adjustments call.
const (
	pexpFunc    = "__hab_pexp"
	printfVFunc = "__hab_printf_v"
	readFunc    = "__hab_read"
	mapfileFunc = "__hab_mapfile"
)

// CompatFuncs returns the Go commands that Compat and CompatCall rely on.
func CompatFuncs() Funcs {
	return Funcs{pexpFunc: paramExp, printfVFunc: printfV, readFunc: readBuiltin, mapfileFunc: mapfile}
}

// CompatCall renames a command line the interpreter would run wrongly to
// its Go implementation; other command lines are returned unchanged. Use
// it from an interp.CallHandler.
func CompatCall(args []string) []string {
	switch args[0] {
	case "mapfile", "readarray":
		return append([]string{mapfileFunc}, args...)
	case "printf":
		if len(args) > 2 && args[1] == "-v" {
			return append([]string{printfVFunc}, args[2:]...)
		}
	case "read":
		array := false
		for i := 1; i < len(args); i++ {
			a := args[i]
			if !strings.HasPrefix(a, "-") || a == "--" || a == "-" {
				break
			}
			for j := 1; j < len(a); j++ {
				switch a[j] {
				case 'd', 'n', 'N':
					return append([]string{readFunc}, args[1:]...)
				case 'a', 'p', 'u', 't', 'i':
					array = array || a[j] == 'a'
					if j == len(a)-1 {
						i++ // the option's value is the next argument
					}
					j = len(a)
				}
			}
		}
		if array {
			return append([]string{mapfileFunc}, args...)
		}
	}
	return args
}

// Compat adjusts f, parsed from src, for the gaps listed above. assoc
// names the associative arrays (see AssocNames); seq numbers the
// variables it introduces (prefix followed by a number) and is advanced.
// It reports whether it changed anything.
func Compat(f *syntax.File, src []byte, assoc map[string]bool, prefix string) bool {
	seq := new(int)
	changed := false
	syntax.Walk(f, func(node syntax.Node) bool {
		switch n := node.(type) {
		case *syntax.LetClause:
			for i, e := range n.Exprs {
				if x := reparseArith(e, src); x != nil {
					n.Exprs[i] = x
					changed = true
				}
			}
		case *syntax.File:
			n.Stmts = hoistList(prefix, n.Stmts, assoc, seq)
		case *syntax.Block:
			n.Stmts = hoistList(prefix, n.Stmts, assoc, seq)
		case *syntax.Subshell:
			n.Stmts = hoistList(prefix, n.Stmts, assoc, seq)
		case *syntax.IfClause:
			n.Cond = hoistList(prefix, n.Cond, assoc, seq)
			n.Then = hoistList(prefix, n.Then, assoc, seq)
		case *syntax.WhileClause:
			n.Cond = hoistList(prefix, n.Cond, assoc, seq)
			n.Do = hoistList(prefix, n.Do, assoc, seq)
		case *syntax.ForClause:
			n.Do = hoistList(prefix, n.Do, assoc, seq)
		case *syntax.CaseItem:
			n.Stmts = hoistList(prefix, n.Stmts, assoc, seq)
		case *syntax.CmdSubst:
			n.Stmts = hoistList(prefix, n.Stmts, assoc, seq)
		case *syntax.ProcSubst:
			n.Stmts = hoistList(prefix, n.Stmts, assoc, seq)
		}
		return true
	})
	return changed || *seq > 0
}

// reparseArith returns the arithmetic expression a quoted let argument
// holds, or nil when e is not a quoted literal.
func reparseArith(e syntax.ArithmExpr, src []byte) syntax.ArithmExpr {
	w, ok := e.(*syntax.Word)
	if !ok || len(w.Parts) != 1 {
		return nil
	}
	var text string
	switch q := w.Parts[0].(type) {
	case *syntax.SglQuoted:
		text = q.Value
	case *syntax.DblQuoted:
		start, end := int(q.Left.Offset())+1, int(q.Right.Offset())
		if start < 0 || end > len(src) || start > end {
			return nil
		}
		text = string(src[start:end])
	default:
		return nil
	}
	f, err := syntax.NewParser().Parse(strings.NewReader("(( "+text+" ))"), "")
	if err != nil || len(f.Stmts) != 1 {
		return nil
	}
	ac, ok := f.Stmts[0].Cmd.(*syntax.ArithmCmd)
	if !ok {
		return nil
	}
	return ac.X
}

// hoistList computes the unsupported expansions of each statement of
// stmts with a Go command placed just before it.
func hoistList(prefix string, stmts []*syntax.Stmt, assoc map[string]bool, seq *int) []*syntax.Stmt {
	var out []*syntax.Stmt
	changed := false
	for _, s := range stmts {
		pre := hoistStmt(prefix, s, assoc, seq)
		if len(pre) > 0 {
			changed = true
			out = append(out, pre...)
		}
		out = append(out, s)
	}
	if !changed {
		return stmts
	}
	return out
}

// hoistStmt finds the unsupported expansions of s itself (not those of
// statement lists nested in it, handled with their own list), replaces
// each by a variable, and returns the commands computing them.
func hoistStmt(prefix string, s *syntax.Stmt, assoc map[string]bool, seq *int) []*syntax.Stmt {
	inline := map[*syntax.Stmt]bool{s: true}
	var found []*syntax.ParamExp
	var stack []syntax.Node
	syntax.Walk(s, func(node syntax.Node) bool {
		if node == nil {
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if pe, ok := top.(*syntax.ParamExp); ok && unsupported(pe, assoc) {
				found = append(found, pe) // after its operands: inner ones first
			}
			return true
		}
		switch n := node.(type) {
		case *syntax.Stmt:
			if !inline[n] {
				return false
			}
		case *syntax.BinaryCmd:
			inline[n.X], inline[n.Y] = true, true
		case *syntax.TimeClause:
			if n.Stmt != nil {
				inline[n.Stmt] = true
			}
		case *syntax.CoprocClause:
			inline[n.Stmt] = true
		case *syntax.FuncDecl:
			return false
		}
		stack = append(stack, node)
		return true
	})
	var pre []*syntax.Stmt
	for _, pe := range found {
		*seq++
		out := fmt.Sprintf("%s%d", prefix, *seq)
		pre = append(pre, hoisted(pe, out, assoc))
		arrayWise := false
		if !pe.Length {
			switch indexLit(pe) {
			case "@", "*":
				arrayWise = true
			}
		}
		repl := &syntax.ParamExp{Dollar: pe.Dollar, Rbrace: pe.Rbrace, Param: lit(out)}
		if arrayWise {
			repl.Index = &syntax.Word{Parts: []syntax.WordPart{lit(indexLit(pe))}}
		}
		*pe = *repl
	}
	return pre
}

func lit(s string) *syntax.Lit { return &syntax.Lit{Value: s} }

func indexLit(pe *syntax.ParamExp) string {
	switch pe.Param.Value {
	case "@", "*":
		return pe.Param.Value
	}
	if w, ok := pe.Index.(*syntax.Word); ok {
		return w.Lit()
	}
	return ""
}

// unsupported reports whether the interpreter would expand pe wrongly.
func unsupported(pe *syntax.ParamExp, assoc map[string]bool) bool {
	if pe.Param == nil || pe.Excl || pe.NestedParam != nil {
		return false
	}
	if pe.Length {
		switch indexLit(pe) {
		case "@", "*":
			return assoc[pe.Param.Value]
		}
		return false
	}
	if pe.Repl != nil && pe.Repl.Orig != nil && len(pe.Repl.Orig.Parts) > 0 {
		if l, ok := pe.Repl.Orig.Parts[0].(*syntax.Lit); ok && (strings.HasPrefix(l.Value, "#") || strings.HasPrefix(l.Value, "%")) {
			return pe.Slice == nil
		}
	}
	return false
}

// hoisted returns the command that computes pe into the variable out:
//
//	__hab_pexp OUT OP NAME SUB [PATTERN WITH] -- [POSITIONAL...]
func hoisted(pe *syntax.ParamExp, out string, assoc map[string]bool) *syntax.Stmt {
	word := func(parts ...syntax.WordPart) *syntax.Word { return &syntax.Word{Parts: parts} }
	str := func(s string) *syntax.Word {
		return word(&syntax.SglQuoted{Value: s})
	}
	name := pe.Param.Value
	args := []*syntax.Word{word(lit(pexpFunc)), str(out)}
	sub := str("")
	switch idx := indexLit(pe); {
	case idx == "@" || idx == "*":
		sub = str(idx)
	case pe.Index != nil && assoc[name]:
		sub = word(&syntax.DblQuoted{Parts: dquoteParts(pe.Index.(*syntax.Word).Parts, false)})
	case pe.Index != nil:
		sub = word(&syntax.ArithmExp{X: pe.Index})
	}
	if pe.Length {
		args = append(args, str("len"), str(name), sub)
	} else {
		orig := pe.Repl.Orig
		first := orig.Parts[0].(*syntax.Lit)
		op := "repl" + first.Value[:1]
		rest := append([]syntax.WordPart{lit(first.Value[1:])}, orig.Parts[1:]...)
		with := []syntax.WordPart{}
		if pe.Repl.With != nil {
			with = pe.Repl.With.Parts
		}
		args = append(args, str(op), str(name), sub,
			word(&syntax.DblQuoted{Parts: dquoteParts(rest, true)}),
			word(&syntax.DblQuoted{Parts: dquoteParts(with, false)}))
	}
	args = append(args, str("--"))
	if name == "@" || name == "*" {
		args = append(args, word(&syntax.DblQuoted{Parts: []syntax.WordPart{&syntax.ParamExp{Param: lit("@")}}}))
	}
	return &syntax.Stmt{Position: pe.Pos(), Cmd: &syntax.CallExpr{Args: args}}
}

// dquoteParts rewrites word parts so that, inside double quotes, they
// expand to the same string; with pattern set, quoted parts are escaped
// so that they match literally, as quoted parts of a bash pattern do.
func dquoteParts(parts []syntax.WordPart, pattern bool) []syntax.WordPart {
	var out []syntax.WordPart
	for _, p := range parts {
		switch p := p.(type) {
		case *syntax.SglQuoted:
			out = append(out, lit(escapeDquote(p.Value, pattern)))
		case *syntax.DblQuoted:
			for _, q := range p.Parts {
				if l, ok := q.(*syntax.Lit); ok && pattern {
					out = append(out, lit(escapeGlob(l.Value)))
					continue
				}
				out = append(out, q)
			}
		default:
			out = append(out, p)
		}
	}
	return out
}

// escapeDquote writes s so that inside double quotes it stands for itself
// (and, for a pattern, matches itself).
func escapeDquote(s string, pattern bool) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\\':
			if pattern {
				b.WriteString(`\\\\`)
			} else {
				b.WriteString(`\\`)
			}
		case '$', '"', '`':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '*', '?', '[', ']':
			if pattern {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func escapeGlob(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// paramExp is the Go command hoisted expansions call.
func paramExp(ctx context.Context, c *Call) error {
	a := c.Args
	if len(a) < 5 {
		return fmt.Errorf("%s: too few arguments", pexpFunc)
	}
	out, op, name, sub := a[1], a[2], a[3], a[4]
	rest := a[5:]
	var positional []string
	if i := slices.Index(rest, "--"); i >= 0 {
		positional, rest = rest[i+1:], rest[:i]
	}
	var vr expand.Variable
	if name == "@" || name == "*" {
		vr = expand.Variable{Set: true, Kind: expand.Indexed, List: positional}
	} else {
		vr = c.Var(name)
	}
	elems, arrayWise := selectElems(vr, sub)
	switch op {
	case "len":
		return c.Set(ctx, out, strconv.Itoa(len(elems)))
	case "repl#", "repl%":
		if len(rest) < 2 {
			return fmt.Errorf("%s: missing pattern", pexpFunc)
		}
		res := make([]string, len(elems))
		for i, e := range elems {
			res[i] = anchoredReplace(e, rest[0], rest[1], op == "repl%")
		}
		if arrayWise {
			return c.SetArray(ctx, out, res)
		}
		v := ""
		if len(res) > 0 {
			v = res[0]
		}
		return c.Set(ctx, out, v)
	}
	return fmt.Errorf("%s: unknown operation %q", pexpFunc, op)
}

// selectElems returns what ${name}, ${name[sub]} or ${name[@]} selects.
func selectElems(vr expand.Variable, sub string) ([]string, bool) {
	switch sub {
	case "@", "*":
		switch vr.Kind {
		case expand.Indexed:
			return slices.Clone(vr.List), true
		case expand.Associative:
			keys := make([]string, 0, len(vr.Map))
			for k := range vr.Map {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			var vals []string
			for _, k := range keys {
				vals = append(vals, vr.Map[k])
			}
			return vals, true
		case expand.String:
			if vr.Set {
				return []string{vr.Str}, true
			}
		}
		return nil, true
	case "":
		sub = "0"
	}
	switch vr.Kind {
	case expand.Associative:
		if v, ok := vr.Map[sub]; ok {
			return []string{v}, false
		}
	case expand.Indexed:
		i, _ := strconv.Atoi(sub)
		idx := make([]int, len(vr.List))
		for j := range vr.List {
			idx[j] = j
			if vr.Indexes != nil {
				idx[j] = vr.Indexes[j]
			}
		}
		if i < 0 && len(idx) > 0 {
			i += idx[len(idx)-1] + 1
		}
		if j, ok := slices.BinarySearch(idx, i); ok {
			return []string{vr.List[j]}, false
		}
	case expand.String:
		if sub == "0" && vr.Set {
			return []string{vr.Str}, false
		}
	}
	return []string{""}, false
}

// anchoredReplace replaces the longest prefix (or suffix) of s matching
// the shell pattern pat with with, as ${s/#pat/with} (${s/%pat/with}).
func anchoredReplace(s, pat, with string, suffix bool) string {
	if pat == "" {
		if suffix {
			return s + with
		}
		return with + s
	}
	expr, err := pattern.Regexp(pat, pattern.EntireString)
	if err != nil {
		return s
	}
	rx, err := regexp.Compile(expr)
	if err != nil {
		return s
	}
	if suffix {
		for i := 0; i <= len(s); i++ {
			if rx.MatchString(s[i:]) {
				return s[:i] + with
			}
		}
		return s
	}
	for i := len(s); i >= 0; i-- {
		if rx.MatchString(s[:i]) {
			return with + s[i:]
		}
	}
	return s
}

// printfV is printf -v VAR FORMAT [ARGS...].
func printfV(ctx context.Context, c *Call) error {
	if len(c.Args) < 3 {
		fmt.Fprintln(c.Stderr(), "printf: usage: printf [-v var] format [arguments]")
		return c.Status(2)
	}
	name, format, args := c.Args[1], c.Args[2], c.Args[3:]
	var b strings.Builder
	for {
		s, n, err := expand.Format(nil, format, args)
		if err != nil {
			fmt.Fprintf(c.Stderr(), "printf: %v\n", err)
			return c.Status(1)
		}
		b.WriteString(s)
		if n <= 0 || n >= len(args) {
			break
		}
		args = args[n:]
	}
	return c.Set(ctx, name, b.String())
}

// mapfile runs the interpreter's mapfile, readarray or read -a (the
// builtin is the first argument) and, when it stored no element, makes
// the array empty: the interpreter leaves it a nil list, which
// "${name[@]}" expands to one empty word where bash gives none.
func mapfile(ctx context.Context, c *Call) error {
	name := arrayOperand(c.Args[1], c.Args[2:])
	err := c.Builtin(ctx, c.Args[1], c.Args[2:]...)
	if vr := c.Var(name); vr.Kind == expand.Indexed && len(vr.List) == 0 && ValidName(name) {
		if serr := c.SetArray(ctx, name, nil); serr != nil {
			return serr
		}
	}
	return err
}

// arrayOperand is the array a mapfile, readarray or read -a command
// line assigns.
func arrayOperand(builtin string, args []string) string {
	if builtin == "read" {
		for i := 0; i < len(args); i++ {
			a := args[i]
			if !strings.HasPrefix(a, "-") || a == "--" {
				break
			}
			for j := 1; j < len(a); j++ {
				if strings.IndexByte("adnNptui", a[j]) < 0 {
					continue
				}
				val := a[j+1:]
				if val == "" && i+1 < len(args) {
					i++
					val = args[i]
				}
				if a[j] == 'a' {
					return val
				}
				break
			}
		}
		return ""
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			if i+1 < len(args) {
				return args[i+1]
			}
			break
		}
		if strings.HasPrefix(a, "-") && len(a) > 1 {
			if strings.IndexByte("dnOsuCc", a[len(a)-1]) >= 0 {
				i++ // the option's value is the next argument
			}
			continue
		}
		return a
	}
	return "MAPFILE"
}

// readBuiltin is bash's read for the options the interpreter lacks:
// -r, -a NAME, -d DELIM, -n N, -N N, -p PROMPT, -s, -u FD (ignored).
func readBuiltin(ctx context.Context, c *Call) error {
	args := c.Args[1:]
	raw, delim, limit, exact := false, byte('\n'), -1, false
	arrayName := ""
	for len(args) > 0 && strings.HasPrefix(args[0], "-") && args[0] != "-" {
		opt := args[0]
		args = args[1:]
		if opt == "--" {
			break
		}
		for i := 1; i < len(opt); i++ {
			f := opt[i]
			needArg := strings.IndexByte("adnNpuit", f) >= 0
			val := ""
			if needArg {
				if i+1 < len(opt) {
					val, i = opt[i+1:], len(opt)
				} else if len(args) > 0 {
					val, args = args[0], args[1:]
				} else {
					fmt.Fprintf(c.Stderr(), "read: -%c: option requires an argument\n", f)
					return c.Status(2)
				}
			}
			switch f {
			case 'r':
				raw = true
			case 's', 'e':
			case 'a':
				arrayName = val
			case 'd':
				delim = 0
				if val != "" {
					delim = val[0]
				}
			case 'n', 'N':
				n, err := strconv.Atoi(val)
				if err != nil || n < 0 {
					fmt.Fprintf(c.Stderr(), "read: %s: invalid number\n", val)
					return c.Status(1)
				}
				limit, exact = n, f == 'N'
			case 'p':
				fmt.Fprint(c.Stderr(), val)
			case 'u', 'i', 't':
			default:
				fmt.Fprintf(c.Stderr(), "read: -%c: invalid option\n", f)
				return c.Status(2)
			}
		}
	}
	in := c.Stdin()
	if in == nil {
		return c.Status(1)
	}
	var buf []byte
	one := make([]byte, 1)
	eof := false
	escaped := false
	for limit < 0 || len(buf) < limit {
		n, err := in.Read(one)
		if n == 0 {
			if err == io.EOF || err != nil {
				eof = true
				break
			}
			continue
		}
		b := one[0]
		if !raw && !escaped && b == '\\' {
			escaped = true
			continue
		}
		if escaped {
			escaped = false
			if b == '\n' {
				continue
			}
			buf = append(buf, '\\', b) // kept escaped for splitting below
			continue
		}
		if !exact && b == delim {
			break
		}
		buf = append(buf, b)
	}
	ifs := " \t\n"
	if v := c.Var("IFS"); v.IsSet() {
		ifs = v.String()
	}
	line := string(buf)
	names := args
	if arrayName != "" {
		fields := splitIFS(line, ifs, -1, raw)
		if err := c.SetArray(ctx, arrayName, fields); err != nil {
			return err
		}
	} else {
		if len(names) == 0 {
			names = []string{"REPLY"}
			fields := []string{unescape(line, raw)}
			if err := c.Set(ctx, "REPLY", fields[0]); err != nil {
				return err
			}
		} else {
			fields := splitIFS(line, ifs, len(names), raw)
			for i, n := range names {
				v := ""
				if i < len(fields) {
					v = fields[i]
				}
				if err := c.Set(ctx, n, v); err != nil {
					return err
				}
			}
		}
	}
	if eof {
		return c.Status(1)
	}
	return nil
}

// splitIFS splits s into at most n fields (all when n < 0) by the
// characters of ifs, as read does: IFS white space around fields is
// dropped, the last field keeps the rest of the line.
func splitIFS(s, ifs string, n int, raw bool) []string {
	isWS := func(r byte) bool { return (r == ' ' || r == '\t' || r == '\n') && strings.IndexByte(ifs, r) >= 0 }
	isSep := func(r byte) bool { return strings.IndexByte(ifs, r) >= 0 }
	var fields []string
	i := 0
	for i < len(s) && isWS(s[i]) {
		i++
	}
	for i < len(s) {
		if n > 0 && len(fields) == n-1 {
			rest := strings.TrimRightFunc(s[i:], func(r rune) bool { return r < 128 && isWS(byte(r)) })
			fields = append(fields, unescape(rest, raw))
			return fields
		}
		j := i
		for j < len(s) && !isSep(s[j]) {
			if !raw && s[j] == '\\' && j+1 < len(s) {
				j++
			}
			j++
		}
		fields = append(fields, unescape(s[i:j], raw))
		i = j
		// one non-white separator and the white space around it
		for i < len(s) && isWS(s[i]) {
			i++
		}
		if i < len(s) && isSep(s[i]) && !isWS(s[i]) {
			i++
			for i < len(s) && isWS(s[i]) {
				i++
			}
		}
	}
	return fields
}

func unescape(s string, raw bool) string {
	if raw || !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
