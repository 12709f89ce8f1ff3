package templating

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// maxPartialDepth bounds partials including partials, so that a cycle
// fails with an error instead of exhausting the stack.
const maxPartialDepth = 64

// blockCtx is one level of context: what "this" is, the block parameters
// (as |x y|), the @-variables (@index, @key, @first, @last) and the inline
// partials declared at this level.
type blockCtx struct {
	base     any
	params   map[string]any
	locals   map[string]any
	partials map[string]*program
}

// arg is an evaluated helper argument.
type arg struct {
	value   any
	missing bool   // a path that resolved to nothing
	path    string // the path's text, for references
}

// helperCall is what a helper receives.
type helperCall struct {
	name        string
	params      []arg
	hash        map[string]arg
	tmpl        *program
	inverse     *program
	blockParams []string
	block       bool
}

func (h *helperCall) param(i int) (arg, bool) {
	if i < len(h.params) {
		return h.params[i], true
	}
	return arg{}, false
}

// helperDef implements a helper: call writes output (and renders blocks);
// value, when set, gives the helper's value in a subexpression, otherwise a
// subexpression's value is what call writes.
type helperDef struct {
	call  func(s *renderState, h *helperCall, out *output) error
	value func(s *renderState, h *helperCall) (any, error)
}

// output collects rendered text. Inside an indented partial every line is
// indented; the flags follow the original's bookkeeping of whether the next
// write starts a line.
type output struct {
	b                 strings.Builder
	indent            string
	indentBeforeWrite bool
	trailingNewline   bool
	contentProduced   bool
}

func startsWithNewline(s string) bool { return s != "" && (s[0] == '\n' || s[0] == '\r') }

func endsWithNewline(s string) bool {
	return s != "" && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r')
}

func (o *output) write(s string) {
	if s == "" {
		return
	}
	o.contentProduced = true
	if o.indent != "" {
		if o.indentBeforeWrite && !startsWithNewline(s) {
			o.b.WriteString(o.indent)
		}
		rest := s
		for {
			i := strings.IndexByte(rest, '\n')
			if i < 0 || i == len(rest)-1 {
				o.b.WriteString(rest)
				break
			}
			o.b.WriteString(rest[:i+1])
			o.b.WriteString(o.indent)
			rest = rest[i+1:]
		}
	} else {
		o.b.WriteString(s)
	}
	o.trailingNewline = endsWithNewline(s)
	o.indentBeforeWrite = o.trailingNewline
}

// indentAware runs a helper or partial: if it writes nothing, the pending
// indentation is left as it was.
func (o *output) indentAware(indentFirst bool, f func() error) error {
	before, producedBefore := o.indentBeforeWrite, o.contentProduced
	o.contentProduced = false
	o.indentBeforeWrite = before || (indentFirst && o.trailingNewline)
	err := f()
	if o.contentProduced {
		o.indentBeforeWrite = o.trailingNewline
	} else {
		o.contentProduced = producedBefore
		o.indentBeforeWrite = before
	}
	return err
}

type renderState struct {
	r             *Renderer
	root          any
	blocks        []*blockCtx
	tmplName      string
	partialBlocks []*string
	depth         int
}

func (s *renderState) front() *blockCtx { return s.blocks[len(s.blocks)-1] }

func (s *renderState) push(b *blockCtx) { s.blocks = append(s.blocks, b) }

func (s *renderState) pop() { s.blocks = s.blocks[:len(s.blocks)-1] }

// evalPath resolves a reference. found is false for a missing value.
func (s *renderState) evalPath(pe *pathExpr) (any, bool, error) {
	if pe.local {
		i := len(s.blocks) - 1 - pe.up
		if i < 0 {
			return nil, false, nil
		}
		v, ok := s.blocks[i].locals[pe.localName]
		return v, ok, nil
	}
	segs := pe.segs
	if pe.firstNamed && len(segs) > 0 {
		for i := len(s.blocks) - 1; i >= 0; i-- {
			if v, ok := s.blocks[i].params[segs[0]]; ok {
				return walkPath(v, segs[1:], pe.raw)
			}
		}
	}
	var base any
	switch {
	case pe.up > 0:
		i := len(s.blocks) - 1 - pe.up
		if i < 0 {
			i = len(s.blocks) - 1
		}
		base = s.blocks[i].base
	case pe.root:
		base = s.root
	default:
		base = s.front().base
	}
	return walkPath(base, segs, pe.raw)
}

func walkPath(v any, segs []string, raw string) (any, bool, error) {
	for _, seg := range segs {
		switch t := v.(type) {
		case *Object:
			x, ok := t.Get(seg)
			if !ok {
				return nil, false, nil
			}
			v = x
		case []any:
			i, err := strconv.ParseUint(seg, 10, 64)
			if err != nil {
				return nil, false, fmt.Errorf("%s: cannot index an array with %q", raw, seg)
			}
			if i >= uint64(len(t)) {
				return nil, false, nil
			}
			v = t[i]
		default:
			return nil, false, nil
		}
	}
	return v, true, nil
}

func (s *renderState) evalParam(p param) (arg, error) {
	switch p.kind {
	case paramLiteral:
		return arg{value: p.lit}, nil
	case paramPath:
		v, ok, err := s.evalPath(p.path)
		if err != nil {
			return arg{}, err
		}
		return arg{value: v, missing: !ok, path: p.path.raw}, nil
	default:
		v, err := s.evalSub(p.sub)
		if err != nil {
			return arg{}, err
		}
		return arg{value: v}, nil
	}
}

// evalSub evaluates a subexpression: the helper's value, or what it writes.
func (s *renderState) evalSub(c *call) (any, error) {
	def, ok := s.r.helpers[c.name]
	if !ok {
		return nil, fmt.Errorf("helper not found: %s", c.name)
	}
	h, err := s.newCall(c, nil, nil)
	if err != nil {
		return nil, err
	}
	if def.value != nil {
		return def.value(s, h)
	}
	var o output
	if err := def.call(s, h, &o); err != nil {
		return nil, err
	}
	return o.b.String(), nil
}

func (s *renderState) newCall(c *call, tmpl, inverse *program) (*helperCall, error) {
	h := &helperCall{name: c.name, tmpl: tmpl, inverse: inverse, blockParams: c.blockParams, block: c.block}
	for _, p := range c.params {
		a, err := s.evalParam(p)
		if err != nil {
			return nil, err
		}
		h.params = append(h.params, a)
	}
	if len(c.hash) > 0 {
		h.hash = make(map[string]arg, len(c.hash))
		for _, kv := range c.hash {
			a, err := s.evalParam(kv.val)
			if err != nil {
				return nil, err
			}
			h.hash[kv.key] = a
		}
	}
	return h, nil
}

func (s *renderState) callHelper(c *call, tmpl, inverse *program, out *output) error {
	def, ok := s.r.helpers[c.name]
	if !ok {
		return fmt.Errorf("helper not found: %s", c.name)
	}
	h, err := s.newCall(c, tmpl, inverse)
	if err != nil {
		return err
	}
	return def.call(s, h, out)
}

// renderProgram renders a block body; nil renders nothing.
func (s *renderState) renderProgram(p *program, out *output) error {
	if p == nil {
		return nil
	}
	for _, e := range p.elems {
		if err := s.renderElem(e, out); err != nil {
			return err
		}
	}
	return nil
}

// at gives err the template's name and a position, unless an inner element
// already did.
func (s *renderState) at(err error, line, col int) error {
	if err == nil {
		return nil
	}
	var te *Error
	if errors.As(err, &te) {
		return err
	}
	return &Error{Template: s.tmplName, Line: line, Column: col, Msg: err.Error(), Err: err}
}

func (s *renderState) renderElem(e element, out *output) error {
	switch t := e.(type) {
	case *textElem:
		out.write(t.text)
	case *exprElem:
		return s.at(s.renderExpr(t.call, out), t.line, t.col)
	case *blockElem:
		return s.at(out.indentAware(t.indentFirst, func() error {
			return s.callHelper(t.call, t.tmpl, t.inverse, out)
		}), t.line, t.col)
	case *partialElem:
		return s.at(s.renderPartial(t, out), t.line, t.col)
	case *inlineElem:
		f := s.front()
		if f.partials == nil {
			f.partials = map[string]*program{}
		}
		f.partials[t.name] = t.tmpl
	}
	return nil
}

func (s *renderState) renderExpr(c *call, out *output) error {
	if c.sub != nil {
		v, err := s.evalSub(c.sub)
		if err != nil {
			return err
		}
		out.write(renderValue(v))
		return nil
	}
	if c.nameOnly() {
		if _, ok := s.r.helpers[c.name]; ok {
			return out.indentAware(false, func() error { return s.callHelper(c, nil, nil, out) })
		}
		v, ok, err := s.evalPath(c.path)
		if err != nil {
			return err
		}
		if ok {
			out.write(renderValue(v))
		}
		return nil
	}
	return out.indentAware(false, func() error { return s.callHelper(c, nil, nil, out) })
}

const partialBlockName = "@partial-block"

func (s *renderState) renderPartial(pe *partialElem, out *output) error {
	name := pe.name
	if pe.nameExpr != nil {
		a, err := s.evalParam(*pe.nameExpr)
		if err != nil {
			return err
		}
		name = renderValue(a.value)
	}
	if name == s.tmplName {
		return fmt.Errorf("partial %s cannot include itself", name)
	}
	if s.depth >= maxPartialDepth {
		return fmt.Errorf("partial %s: partials nest deeper than %d (a cycle?)", name, maxPartialDepth)
	}
	if name == partialBlockName {
		if n := len(s.partialBlocks); n > 0 && s.partialBlocks[n-1] != nil {
			out.write(*s.partialBlocks[n-1])
			return nil
		}
		if pe.block != nil {
			return s.renderProgram(pe.block, out)
		}
		return errors.New("no partial block to render for @partial-block")
	}
	var body *program
	found := false
	for i := len(s.blocks) - 1; i >= 0 && body == nil; i-- {
		body = s.blocks[i].partials[name]
	}
	if body != nil {
		found = true
	} else if t, ok := s.r.templates[name]; ok {
		body, found = t.root, true
	} else if pe.block != nil {
		body = pe.block
	} else {
		return fmt.Errorf("partial not found: %s", name)
	}

	hash := NewObject()
	blk := &blockCtx{params: map[string]any{}, locals: map[string]any{}}
	for _, kv := range pe.hash {
		a, err := s.evalParam(kv.val)
		if err != nil {
			return err
		}
		hash.Set(kv.key, a.value)
		blk.params[kv.key] = a.value
	}
	for k, v := range s.front().locals {
		blk.locals[k] = v
	}
	base := s.front().base
	if len(pe.params) > 0 {
		a, err := s.evalParam(pe.params[0])
		if err != nil {
			return err
		}
		base = a.value
	}
	blk.base = mergeHash(base, hash)
	s.push(blk)
	defer s.pop()

	var pb *string
	if found && pe.block != nil {
		var tmp output
		if err := s.renderProgram(pe.block, &tmp); err != nil {
			return err
		}
		str := tmp.b.String()
		pb = &str
	}
	s.partialBlocks = append(s.partialBlocks, pb)
	defer func() { s.partialBlocks = s.partialBlocks[:len(s.partialBlocks)-1] }()

	savedName, savedIndent := s.tmplName, out.indent
	if found {
		if _, ok := s.r.templates[name]; ok {
			s.tmplName = name
		}
	}
	before, producedBefore := out.indentBeforeWrite, out.contentProduced
	out.indentBeforeWrite = pe.indentFirst && (out.trailingNewline || pe.indent != "")
	out.contentProduced = false
	out.indent = savedIndent + pe.indent
	s.depth++
	err := s.renderProgram(body, out)
	s.depth--
	s.tmplName = savedName
	out.indent = savedIndent
	if out.contentProduced {
		out.indentBeforeWrite = out.trailingNewline
	} else {
		out.contentProduced = producedBefore
		out.indentBeforeWrite = before
	}
	return err
}

// mergeHash is the context a partial sees: its context with the hash
// arguments added (an array's items become "0", "1", ...; a string's
// characters likewise).
func mergeHash(base any, hash *Object) any {
	if hash.Len() == 0 {
		return base
	}
	m := NewObject()
	switch t := base.(type) {
	case *Object:
		m = t.Clone()
	case []any:
		for i, v := range t {
			m.Set(strconv.Itoa(i), v)
		}
	case string:
		i := 0
		for _, r := range t {
			m.Set(strconv.Itoa(i), string(r))
			i++
		}
	}
	for _, k := range hash.keys {
		m.Set(k, hash.vals[k])
	}
	return m
}
