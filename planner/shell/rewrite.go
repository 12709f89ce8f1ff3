package shell

import (
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// AssocNames returns the names f declares as associative arrays anywhere
// (declare -A, local -A, typeset -A, declare -gA, ...), added to known.
func AssocNames(f *syntax.File, known ...string) map[string]bool {
	names := make(map[string]bool, len(known)+4)
	for _, n := range known {
		names[n] = true
	}
	syntax.Walk(f, func(node syntax.Node) bool {
		dc, ok := node.(*syntax.DeclClause)
		if !ok {
			return true
		}
		assoc := false
		for _, as := range dc.Args {
			if as.Name == nil && as.Naked && as.Value != nil {
				if lit := as.Value.Lit(); strings.HasPrefix(lit, "-") && strings.Contains(lit, "A") {
					assoc = true
				}
				continue
			}
			if assoc && as.Name != nil {
				names[as.Name.Value] = true
			}
		}
		return true
	})
	return names
}

// FixAssoc adjusts the syntax tree f, parsed from src, so that the
// interpreter treats the associative arrays named in assoc as bash does.
// The parser reads every subscript as arithmetic and the interpreter
// decides from the first key's quoting whether a compound assignment is
// associative, so without this `pkg_exports=([port]=x)` on an array
// declared with declare -A would build an indexed array, a key such as
// [ssl-port] would be computed as ssl minus port, and
// `pkg_exports+=([k]=v)` would be dropped. The fix, done on the tree
// before it runs: subscripts of those names become quoted strings (as bash
// reads them for associative arrays), and an appending compound assignment
// becomes one element assignment per key. It reports whether it changed
// anything.
func FixAssoc(f *syntax.File, src []byte, assoc map[string]bool) bool {
	changed := false
	key := func(e syntax.ArithmExpr) *syntax.Word {
		w := keyWord(e, src)
		if w != e {
			changed = true
		}
		return w
	}
	syntax.Walk(f, func(node syntax.Node) bool {
		switch n := node.(type) {
		case *syntax.CallExpr:
			var out []*syntax.Assign
			split := false
			for _, as := range n.Assigns {
				if as.Name != nil && assoc[as.Name.Value] && as.Append && as.Array != nil && allIndexed(as.Array) {
					for _, el := range as.Array.Elems {
						out = append(out, &syntax.Assign{Name: as.Name, Index: key(el.Index), Value: el.Value})
					}
					if len(as.Array.Elems) == 0 {
						out = append(out, as)
					}
					split = true
					continue
				}
				out = append(out, as)
			}
			if split {
				n.Assigns = out
				changed = true
			}
		case *syntax.Assign:
			if n.Name == nil || !assoc[n.Name.Value] {
				return true
			}
			if n.Index != nil {
				n.Index = key(n.Index)
			}
			if n.Array != nil {
				for _, el := range n.Array.Elems {
					if el.Index != nil {
						el.Index = key(el.Index)
					}
				}
			}
		case *syntax.ParamExp:
			if n.Param != nil && n.Index != nil && assoc[n.Param.Value] {
				switch n.Index.(type) {
				case *syntax.Word:
					// a word is read as a string already; "@" and "*" must stay.
				default:
					n.Index = key(n.Index)
				}
			}
		}
		return true
	})
	return changed
}

func allIndexed(a *syntax.ArrayExpr) bool {
	for _, el := range a.Elems {
		if el.Index == nil {
			return false
		}
	}
	return true
}

// keyWord returns the subscript e as a quoted word, which the interpreter
// reads as an associative array key. Subscripts already quoted are kept.
func keyWord(e syntax.ArithmExpr, src []byte) *syntax.Word {
	if w, ok := e.(*syntax.Word); ok {
		if len(w.Parts) == 1 {
			switch w.Parts[0].(type) {
			case *syntax.SglQuoted, *syntax.DblQuoted:
				return w
			}
		}
		for _, p := range w.Parts {
			switch p.(type) {
			case *syntax.Lit, *syntax.ParamExp, *syntax.CmdSubst, *syntax.ArithmExp:
			default:
				return w // mixed quoting: still read as a string, just not first
			}
		}
		return &syntax.Word{Parts: []syntax.WordPart{&syntax.DblQuoted{Left: w.Pos(), Right: w.End(), Parts: w.Parts}}}
	}
	// Parsed as arithmetic (e.g. ssl-port): take the text as written.
	start, end := int(e.Pos().Offset()), int(e.End().Offset())
	text := ""
	if start >= 0 && end <= len(src) && start <= end {
		text = string(src[start:end])
	}
	var parts []syntax.WordPart
	if doc, err := syntax.NewParser().Document(strings.NewReader(text)); err == nil && doc != nil {
		parts = doc.Parts
	} else {
		parts = []syntax.WordPart{&syntax.Lit{Value: text}}
	}
	return &syntax.Word{Parts: []syntax.WordPart{&syntax.DblQuoted{Left: e.Pos(), Right: e.End(), Parts: parts}}}
}
