package templating

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file compiles handlebars source into a tree. It follows the grammar
// and the whitespace rules of the handlebars engine the original supervisor
// links (the Rust "handlebars" crate), not handlebars.js, where they differ:
// white space is allowed after "{{" and around "~" and sigils ("{{ #if x }}"
// is a block), block names are plain identifiers, parameters may be JSON
// literals, "{{else if ...}}" chains, and a tag alone on its line
// ("standalone") takes its line with it.

// Error is a template error: compiling (syntax) or rendering. It names the
// template and, where known, the line and column.
type Error struct {
	Template string // the template's name: its file path for files
	Line     int    // 1-based; 0 when unknown
	Column   int    // 1-based; 0 when unknown
	Msg      string
	Err      error // the underlying error, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Template)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Template is a compiled template.
type Template struct {
	name   string
	source string
	root   *program
}

// Name is the name the template was compiled under.
func (t *Template) Name() string { return t.name }

// Source is the template's text.
func (t *Template) Source() string { return t.source }

type program struct {
	elems []element
}

type element interface{}

type textElem struct{ text string }

type exprElem struct {
	call *call
	line int
	col  int
}

type blockElem struct {
	call    *call
	tmpl    *program
	inverse *program
	line    int
	col     int
	// indentFirst: the opening tag is alone on its line (without "~"), so
	// inside an indented partial its first output is indented.
	indentFirst bool
}

type partialElem struct {
	name        string // partial name when it is an identifier
	nameExpr    *param // when the name is a subexpression or a path
	params      []param
	hash        []hashArg
	block       *program // {{#> name}}fallback{{/name}}
	indent      string
	indentFirst bool
	line        int
	col         int
}

type inlineElem struct {
	name string
	tmpl *program
}

// call is a helper call or a value reference.
type call struct {
	name        string    // helper name, or the raw path for a reference
	path        *pathExpr // set when the expression is a bare reference
	sub         *call     // set when the expression is a bare subexpression
	params      []param
	hash        []hashArg
	blockParams []string
	block       bool
}

func (c *call) nameOnly() bool { return !c.block && len(c.params) == 0 && len(c.hash) == 0 }

type hashArg struct {
	key string
	val param
}

type paramKind int

const (
	paramLiteral paramKind = iota
	paramPath
	paramSub
)

type param struct {
	kind paramKind
	lit  any
	path *pathExpr
	sub  *call
}

// pathExpr is a reference such as "cfg.port", "../cfg.port", "this",
// "@root.cfg", "@index", "@../index" or "members.[0].sys.ip".
type pathExpr struct {
	raw        string
	local      bool   // @name
	localName  string // for local
	up         int    // number of "../"
	root       bool   // @root
	segs       []string
	firstNamed bool // the first segment after "../" is a name (block params apply)
}

// ---------------------------------------------------------------------------
// Lexing: the source is cut into text and tags.

type tokKind int

const (
	tText tokKind = iota
	tComment
	tExpr      // {{x}}, {{{x}}}, {{&x}}, {{x y}}
	tBlockOpen // {{#x}}
	tRawOpen   // {{{{x}}}}
	tRawText   // the text of a raw block
	tElse      // {{else}}, {{^}}
	tElseChain // {{else if x}}
	tClose     // {{/x}}
	tRawClose  // {{{{/x}}}}
	tPartial   // {{> x}}
	tPartialOpen
	tDecorator // {{* x}}
	tDecoratorOpen
)

type token struct {
	kind       tokKind
	start, end int
	text       string // tText, tRawText: with escapes resolved
	call       *call
	pre, post  bool // "~" after "{{", "~" before "}}"
	closeName  string
	partial    *partialElem
}

type parser struct {
	name string
	src  string
	pos  int
	toks []token
}

// syntaxError makes an Error at byte offset off.
func (p *parser) errAt(off int, format string, a ...any) *Error {
	line, col := lineCol(p.src, off)
	msg := fmt.Sprintf(format, a...)
	if line > 0 {
		lines := strings.Split(p.src, "\n")
		if line-1 < len(lines) {
			text := strings.TrimRight(lines[line-1], "\r")
			msg += fmt.Sprintf("\n  %d | %s\n  %s | %s^", line, text, strings.Repeat(" ", len(strconv.Itoa(line))), caretPad(text, col))
		}
	}
	return &Error{Template: p.name, Line: line, Column: col, Msg: msg}
}

func caretPad(line string, col int) string {
	var b strings.Builder
	n := 0
	for _, r := range line {
		if n >= col-1 {
			break
		}
		if r == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
		n++
	}
	return b.String()
}

// lineCol turns a byte offset into a 1-based line and a 1-based column
// counted in characters.
func lineCol(src string, off int) (int, int) {
	if off > len(src) {
		off = len(src)
	}
	line := 1 + strings.Count(src[:off], "\n")
	start := strings.LastIndexByte(src[:off], '\n') + 1
	return line, utf8.RuneCountInString(src[start:off]) + 1
}

// Compile compiles handlebars source; name is used in errors (a file path
// for files).
func Compile(name, source string) (*Template, error) {
	p := &parser{name: name, src: source}
	if err := p.lex(); err != nil {
		return nil, err
	}
	root, err := p.build()
	if err != nil {
		return nil, err
	}
	return &Template{name: name, source: source, root: root}, nil
}

func (p *parser) lex() error {
	for p.pos < len(p.src) {
		start := p.pos
		text, err := p.scanText(false)
		if err != nil {
			return err
		}
		if p.pos > start {
			p.toks = append(p.toks, token{kind: tText, start: start, end: p.pos, text: text})
		}
		if p.pos >= len(p.src) {
			break
		}
		if err := p.lexTag(); err != nil {
			return err
		}
	}
	return nil
}

// scanText reads text up to the next tag ("{{", or "{{{{" in a raw block),
// resolving escapes: "\{{" is a literal "{{" and a run of backslashes before
// "{{" loses one backslash.
func (p *parser) scanText(raw bool) (string, error) {
	var b strings.Builder
	open := "{{"
	if raw {
		open = "{{{{"
	}
	for p.pos < len(p.src) {
		rest := p.src[p.pos:]
		if strings.HasPrefix(rest, `\{{`) {
			if strings.HasPrefix(rest, `\{{{{`) {
				b.WriteString("{{{{")
				p.pos += 5
			} else {
				b.WriteString("{{")
				p.pos += 3
			}
			continue
		}
		if rest[0] == '\\' {
			n := 0
			for n < len(rest) && rest[n] == '\\' {
				n++
			}
			if n >= 2 && strings.HasPrefix(rest[n:], "{{") {
				b.WriteString(rest[1:n])
				p.pos += n
				if raw && !strings.HasPrefix(rest[n:], open) {
					continue
				}
				return b.String(), nil
			}
			b.WriteString(rest[:n])
			p.pos += n
			continue
		}
		if strings.HasPrefix(rest, open) {
			return b.String(), nil
		}
		_, size := utf8.DecodeRuneInString(rest)
		b.WriteString(rest[:size])
		p.pos += size
	}
	return b.String(), nil
}

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (p *parser) skipWS() {
	for p.pos < len(p.src) && isWS(p.src[p.pos]) {
		p.pos++
	}
}

func (p *parser) peek(s string) bool { return strings.HasPrefix(p.src[p.pos:], s) }

func (p *parser) accept(s string) bool {
	if p.peek(s) {
		p.pos += len(s)
		return true
	}
	return false
}

// closeTag reads optional white space, an optional "~" and the closing
// delimiter; it reports whether "~" was there.
func (p *parser) closeTag(delim string, open int) (bool, error) {
	p.skipWS()
	post := p.accept("~")
	p.skipWS()
	if !p.accept(delim) {
		if p.pos >= len(p.src) {
			return false, p.errAt(open, "unclosed tag: expected %q before the end of the template", delim)
		}
		return false, p.errAt(p.pos, "unexpected %q in tag: expected %q", p.snippet(), delim)
	}
	return post, nil
}

func (p *parser) snippet() string {
	r := p.src[p.pos:]
	if i := strings.IndexAny(r, "\n"); i >= 0 {
		r = r[:i]
	}
	if utf8.RuneCountInString(r) > 20 {
		r = string([]rune(r)[:20]) + "…"
	}
	return r
}

func (p *parser) lexTag() error {
	start := p.pos
	src := p.src[p.pos:]

	// Comments: {{!-- ... --}} and {{! ... }}.
	if strings.HasPrefix(src, "{{!--") {
		if i := strings.Index(src[5:], "--}}"); i >= 0 {
			p.pos += 5 + i + 4
			p.toks = append(p.toks, token{kind: tComment, start: start, end: p.pos})
			return nil
		}
	}
	if strings.HasPrefix(src, "{{!") {
		i := strings.Index(src[3:], "}}")
		if i < 0 {
			return p.errAt(start, "unclosed comment: expected \"}}\" before the end of the template")
		}
		p.pos += 3 + i + 2
		p.toks = append(p.toks, token{kind: tComment, start: start, end: p.pos})
		return nil
	}

	// Raw blocks: {{{{name}}}} ... {{{{/name}}}}.
	if strings.HasPrefix(src, "{{{{") {
		p.pos += 4
		p.skipWS()
		pre := p.accept("~")
		p.skipWS()
		if p.accept("/") {
			return p.errAt(start, "raw block end without a raw block")
		}
		c, err := p.parseExpLine()
		if err != nil {
			return err
		}
		post, err := p.closeTag("}}}}", start)
		if err != nil {
			return err
		}
		p.toks = append(p.toks, token{kind: tRawOpen, start: start, end: p.pos, call: c, pre: pre, post: post})
		textStart := p.pos
		text, err := p.scanText(true)
		if err != nil {
			return err
		}
		p.toks = append(p.toks, token{kind: tRawText, start: textStart, end: p.pos, text: text})
		if p.pos >= len(p.src) {
			return p.errAt(start, "unclosed raw block {{{{%s}}}}", c.name)
		}
		endStart := p.pos
		p.pos += 4
		p.skipWS()
		epre := p.accept("~")
		p.skipWS()
		if !p.accept("/") {
			return p.errAt(endStart, "expected the end of raw block {{{{%s}}}}", c.name)
		}
		p.skipWS()
		name := p.scanIdentifier()
		epost, err := p.closeTag("}}}}", endStart)
		if err != nil {
			return err
		}
		p.toks = append(p.toks, token{kind: tRawClose, start: endStart, end: p.pos, closeName: name, pre: epre, post: epost})
		return nil
	}

	// Triple-stash {{{x}}} (the original never escapes, so it is the same as
	// {{x}}).
	if strings.HasPrefix(src, "{{{") {
		p.pos += 3
		p.skipWS()
		pre := p.accept("~")
		p.skipWS()
		c, err := p.parseExpression()
		if err != nil {
			return err
		}
		post, err := p.closeTag("}}}", start)
		if err != nil {
			return err
		}
		p.toks = append(p.toks, token{kind: tExpr, start: start, end: p.pos, call: c, pre: pre, post: post})
		return nil
	}

	p.pos += 2
	p.skipWS()
	pre := p.accept("~")
	p.skipWS()
	if p.pos >= len(p.src) {
		return p.errAt(start, "unclosed tag: expected \"}}\" before the end of the template")
	}
	switch c := p.src[p.pos]; {
	case c == '{': // {{~{x}~}}
		p.pos++
		p.skipWS()
		e, err := p.parseExpression()
		if err != nil {
			return err
		}
		p.skipWS()
		if !p.accept("}") {
			return p.errAt(p.pos, "expected \"}\" to close {{{...}}}")
		}
		post, err := p.closeTag("}}", start)
		if err != nil {
			return err
		}
		p.toks = append(p.toks, token{kind: tExpr, start: start, end: p.pos, call: e, pre: pre, post: post})
		return nil
	case c == '&':
		p.pos++
		p.skipWS()
		e, err := p.parseName()
		if err != nil {
			return err
		}
		post, err := p.closeTag("}}", start)
		if err != nil {
			return err
		}
		p.toks = append(p.toks, token{kind: tExpr, start: start, end: p.pos, call: e, pre: pre, post: post})
		return nil
	case c == '#':
		p.pos++
		p.skipWS()
		switch {
		case p.accept(">"):
			p.skipWS()
			pe, err := p.parsePartialLine()
			if err != nil {
				return err
			}
			post, err := p.closeTag("}}", start)
			if err != nil {
				return err
			}
			p.toks = append(p.toks, token{kind: tPartialOpen, start: start, end: p.pos, partial: pe, pre: pre, post: post})
			return nil
		case p.accept("*"):
			p.skipWS()
			e, err := p.parseExpLine()
			if err != nil {
				return err
			}
			post, err := p.closeTag("}}", start)
			if err != nil {
				return err
			}
			p.toks = append(p.toks, token{kind: tDecoratorOpen, start: start, end: p.pos, call: e, pre: pre, post: post})
			return nil
		}
		e, err := p.parseExpLine()
		if err != nil {
			return err
		}
		e.block = true
		post, err := p.closeTag("}}", start)
		if err != nil {
			return err
		}
		p.toks = append(p.toks, token{kind: tBlockOpen, start: start, end: p.pos, call: e, pre: pre, post: post})
		return nil
	case c == '/':
		p.pos++
		p.skipWS()
		name := p.scanPartialIdentifier()
		post, err := p.closeTag("}}", start)
		if err != nil {
			return err
		}
		p.toks = append(p.toks, token{kind: tClose, start: start, end: p.pos, closeName: name, pre: pre, post: post})
		return nil
	case c == '>':
		p.pos++
		p.skipWS()
		pe, err := p.parsePartialLine()
		if err != nil {
			return err
		}
		post, err := p.closeTag("}}", start)
		if err != nil {
			return err
		}
		p.toks = append(p.toks, token{kind: tPartial, start: start, end: p.pos, partial: pe, pre: pre, post: post})
		return nil
	case c == '*':
		p.pos++
		p.skipWS()
		e, err := p.parseExpLine()
		if err != nil {
			return err
		}
		post, err := p.closeTag("}}", start)
		if err != nil {
			return err
		}
		p.toks = append(p.toks, token{kind: tDecorator, start: start, end: p.pos, call: e, pre: pre, post: post})
		return nil
	}
	// {{else}}, {{^}}, {{else if x}}.
	save := p.pos
	if p.accept("^") || p.acceptWord("else") {
		p.skipWS()
		if p.peek("~") || p.peek("}}") {
			post, err := p.closeTag("}}", start)
			if err != nil {
				return err
			}
			p.toks = append(p.toks, token{kind: tElse, start: start, end: p.pos, pre: pre, post: post})
			return nil
		}
		e, err := p.parseExpLine()
		if err != nil {
			return err
		}
		e.block = true
		post, err := p.closeTag("}}", start)
		if err != nil {
			return err
		}
		p.toks = append(p.toks, token{kind: tElseChain, start: start, end: p.pos, call: e, pre: pre, post: post})
		return nil
	}
	p.pos = save
	e, err := p.parseExpression()
	if err != nil {
		return err
	}
	post, err := p.closeTag("}}", start)
	if err != nil {
		return err
	}
	p.toks = append(p.toks, token{kind: tExpr, start: start, end: p.pos, call: e, pre: pre, post: post})
	return nil
}

// acceptWord accepts w when no identifier character follows it.
func (p *parser) acceptWord(w string) bool {
	if !p.peek(w) {
		return false
	}
	if r, _ := utf8.DecodeRuneInString(p.src[p.pos+len(w):]); p.pos+len(w) < len(p.src) && isSymbolRune(r) {
		return false
	}
	p.pos += len(w)
	return true
}

func isSymbolRune(r rune) bool {
	if r >= 0x80 {
		return r != utf8.RuneError
	}
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '$' || r == ':'
}

func (p *parser) scanIdentifier() string {
	start := p.pos
	for p.pos < len(p.src) {
		r, size := utf8.DecodeRuneInString(p.src[p.pos:])
		if !isSymbolRune(r) {
			break
		}
		p.pos += size
	}
	return p.src[start:p.pos]
}

func isPartialRune(r rune) bool {
	return isSymbolRune(r) && r != '$' && r != ':' || r == '@' || r == '/' || r == '.'
}

// scanPartialIdentifier reads a partial name: name characters plus "/",
// "." and "@", or a [bracketed] or 'quoted' name.
func (p *parser) scanPartialIdentifier() string {
	if p.peek("[") {
		if i := strings.IndexByte(p.src[p.pos:], ']'); i > 1 {
			name := p.src[p.pos+1 : p.pos+i]
			p.pos += i + 1
			return name
		}
	}
	if p.peek("'") {
		if i := strings.IndexByte(p.src[p.pos+1:], '\''); i > 0 {
			name := p.src[p.pos+1 : p.pos+1+i]
			p.pos += i + 2
			return name
		}
	}
	start := p.pos
	for p.pos < len(p.src) {
		r, size := utf8.DecodeRuneInString(p.src[p.pos:])
		if !isPartialRune(r) {
			break
		}
		p.pos += size
	}
	return p.src[start:p.pos]
}

// parseExpression reads the body of {{...}}: a helper call with at least
// one argument, or a single reference or subexpression.
func (p *parser) parseExpression() (*call, error) {
	save := p.pos
	if name := p.scanIdentifier(); name != "" {
		c := &call{name: name}
		n, err := p.parseArgs(c)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			return c, nil
		}
	}
	p.pos = save
	return p.parseName()
}

// parseName reads a single reference or a subexpression.
func (p *parser) parseName() (*call, error) {
	if p.peek("(") {
		sub, err := p.parseSubexpression()
		if err != nil {
			return nil, err
		}
		return &call{name: sub.name, sub: sub}, nil
	}
	start := p.pos
	path, ok := p.parsePath()
	if !ok {
		p.pos = start
		if p.pos >= len(p.src) {
			return nil, p.errAt(p.pos, "unexpected end of the template in a tag")
		}
		return nil, p.errAt(p.pos, "unexpected %q in tag: expected a name or a path", p.snippet())
	}
	return &call{name: path.raw, path: path}, nil
}

// parseExpLine reads what follows "{{#": an identifier, arguments and block
// parameters ("as |x y|").
func (p *parser) parseExpLine() (*call, error) {
	name := p.scanIdentifier()
	if name == "" {
		return nil, p.errAt(p.pos, "unexpected %q: expected a helper name", p.snippet())
	}
	c := &call{name: name}
	if _, err := p.parseArgs(c); err != nil {
		return nil, err
	}
	save := p.pos
	p.skipWS()
	if p.acceptWord("as") {
		p.skipWS()
		if !p.accept("|") {
			return nil, p.errAt(p.pos, "expected \"|\" after \"as\" for block parameters")
		}
		p.skipWS()
		first := p.scanIdentifier()
		if first == "" {
			return nil, p.errAt(p.pos, "expected a block parameter name")
		}
		c.blockParams = []string{first}
		p.skipWS()
		if second := p.scanIdentifier(); second != "" {
			c.blockParams = append(c.blockParams, second)
			p.skipWS()
		}
		if !p.accept("|") {
			return nil, p.errAt(p.pos, "expected \"|\" to close the block parameters")
		}
	} else {
		p.pos = save
	}
	return c, nil
}

// parseArgs reads hash arguments (key=value) and parameters until none
// follows; it returns how many it read.
func (p *parser) parseArgs(c *call) (int, error) {
	n := 0
	for {
		save := p.pos
		p.skipWS()
		if p.pos == save && n == 0 && p.pos < len(p.src) && p.src[p.pos] != '(' {
			// Arguments are separated from the name by white space,
			// except a subexpression.
			if p.pos < len(p.src) {
				r, _ := utf8.DecodeRuneInString(p.src[p.pos:])
				if r != '"' && r != '\'' && r != '[' {
					return 0, nil
				}
			}
		}
		// hash: identifier "=" parameter
		hstart := p.pos
		if key := p.scanIdentifier(); key != "" {
			p.skipWS()
			if p.accept("=") {
				p.skipWS()
				v, ok, err := p.parseParam()
				if err != nil {
					return n, err
				}
				if !ok {
					return n, p.errAt(p.pos, "expected a value for %s=", key)
				}
				c.hash = append(c.hash, hashArg{key: key, val: v})
				n++
				continue
			}
		}
		p.pos = hstart
		if p.isKeyword() {
			p.pos = save
			return n, nil
		}
		v, ok, err := p.parseParam()
		if err != nil {
			return n, err
		}
		if !ok {
			p.pos = save
			return n, nil
		}
		c.params = append(c.params, v)
		n++
	}
}

// isKeyword reports whether "as" or "else" starts here as a whole word.
func (p *parser) isKeyword() bool {
	save := p.pos
	defer func() { p.pos = save }()
	return p.acceptWord("as") || p.acceptWord("else")
}

// parseParam reads a literal, a reference or a subexpression.
func (p *parser) parseParam() (param, bool, error) {
	if p.pos >= len(p.src) {
		return param{}, false, nil
	}
	save := p.pos
	if v, ok, err := p.parseLiteral(); err != nil {
		return param{}, false, err
	} else if ok {
		return param{kind: paramLiteral, lit: v}, true, nil
	}
	p.pos = save
	if p.peek("(") {
		sub, err := p.parseSubexpression()
		if err != nil {
			return param{}, false, err
		}
		return param{kind: paramSub, sub: sub}, true, nil
	}
	if path, ok := p.parsePath(); ok {
		return param{kind: paramPath, path: path}, true, nil
	}
	p.pos = save
	return param{}, false, nil
}

func (p *parser) parseSubexpression() (*call, error) {
	open := p.pos
	p.pos++ // "("
	p.skipWS()
	save := p.pos
	var c *call
	if name := p.scanIdentifier(); name != "" {
		c = &call{name: name}
		n, err := p.parseArgs(c)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			c = nil
		}
	}
	if c == nil {
		p.pos = save
		path, ok := p.parsePath()
		if !ok {
			return nil, p.errAt(p.pos, "unexpected %q in subexpression", p.snippet())
		}
		c = &call{name: path.raw, path: path}
	}
	p.skipWS()
	if !p.accept(")") {
		if p.pos >= len(p.src) {
			return nil, p.errAt(open, "unclosed subexpression")
		}
		return nil, p.errAt(p.pos, "unexpected %q: expected \")\" to close the subexpression", p.snippet())
	}
	return c, nil
}

// parseLiteral reads a JSON-ish literal: "string", 'string', number, true,
// false, null, [array] or {"object": ...}.
func (p *parser) parseLiteral() (any, bool, error) {
	if p.pos >= len(p.src) {
		return nil, false, nil
	}
	start := p.pos
	switch c := p.src[p.pos]; {
	case c == '"' || c == '\'':
		s, ok, err := p.parseStringLiteral(c)
		return s, ok, err
	case c == '-' || c >= '0' && c <= '9':
		end := p.pos
		if p.src[end] == '-' {
			end++
		}
		digits := end
		for end < len(p.src) && p.src[end] >= '0' && p.src[end] <= '9' {
			end++
		}
		if end == digits {
			return nil, false, nil
		}
		if end < len(p.src) && p.src[end] == '.' {
			end++
			for end < len(p.src) && p.src[end] >= '0' && p.src[end] <= '9' {
				end++
			}
		}
		if end < len(p.src) && p.src[end] == 'E' {
			e := end + 1
			if e < len(p.src) && p.src[e] == '-' {
				e++
			}
			ds := e
			for e < len(p.src) && p.src[e] >= '0' && p.src[e] <= '9' {
				e++
			}
			if e > ds {
				end = e
			}
		}
		if r, _ := utf8.DecodeRuneInString(p.src[end:]); end < len(p.src) && isSymbolRune(r) {
			return nil, false, nil // a name such as 2fa
		}
		text := p.src[start:end]
		if !validJSONNumber(text) {
			return nil, false, p.errAt(start, "invalid number literal %s", text)
		}
		v, err := parseJSONNumber(text)
		if err != nil {
			return nil, false, p.errAt(start, "invalid number literal %s", text)
		}
		p.pos = end
		return v, true, nil
	case c == '[':
		p.pos++
		arr := []any{}
		p.skipWS()
		if p.accept("]") {
			return arr, true, nil
		}
		for {
			p.skipWS()
			v, ok, err := p.parseLiteral()
			if err != nil {
				return nil, false, err
			}
			if !ok {
				p.pos = start
				return nil, false, nil
			}
			arr = append(arr, v)
			p.skipWS()
			if p.accept("]") {
				return arr, true, nil
			}
			if !p.accept(",") {
				p.pos = start
				return nil, false, nil
			}
		}
	case c == '{':
		p.pos++
		obj := NewObject()
		p.skipWS()
		if p.accept("}") {
			return obj, true, nil
		}
		for {
			p.skipWS()
			if p.pos >= len(p.src) || (p.src[p.pos] != '"' && p.src[p.pos] != '\'') {
				p.pos = start
				return nil, false, nil
			}
			k, ok, err := p.parseStringLiteral(p.src[p.pos])
			if err != nil || !ok {
				p.pos = start
				return nil, false, err
			}
			p.skipWS()
			if !p.accept(":") {
				p.pos = start
				return nil, false, nil
			}
			p.skipWS()
			v, ok, err := p.parseLiteral()
			if err != nil {
				return nil, false, err
			}
			if !ok {
				p.pos = start
				return nil, false, nil
			}
			obj.Set(k.(string), v)
			p.skipWS()
			if p.accept("}") {
				return obj, true, nil
			}
			if !p.accept(",") {
				p.pos = start
				return nil, false, nil
			}
		}
	}
	for _, w := range []struct {
		word string
		v    any
	}{{"true", true}, {"false", false}, {"null", nil}} {
		if p.acceptWord(w.word) {
			return w.v, true, nil
		}
	}
	return nil, false, nil
}

func validJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	if i >= len(s) {
		return false
	}
	if s[i] == '0' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' {
		return false
	}
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i < len(s) && s[i] == '.' {
		i++
		d := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	return true
}

// parseStringLiteral reads a quoted string with JSON escapes (\" \\ \/ \b
// \f \n \r \t \uXXXX; \' in single quotes).
func (p *parser) parseStringLiteral(q byte) (any, bool, error) {
	start := p.pos
	i := p.pos + 1
	var b strings.Builder
	for i < len(p.src) {
		c := p.src[i]
		switch {
		case c == q:
			p.pos = i + 1
			return b.String(), true, nil
		case c == '\\':
			if i+1 >= len(p.src) {
				return nil, false, p.errAt(start, "unterminated string literal")
			}
			e := p.src[i+1]
			switch e {
			case '"', '\\', '/':
				b.WriteByte(e)
			case '\'':
				if q != '\'' {
					return nil, false, p.errAt(i, "invalid escape \\' in a double-quoted string")
				}
				b.WriteByte(e)
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				if i+6 > len(p.src) {
					return nil, false, p.errAt(i, "invalid \\u escape")
				}
				n, err := strconv.ParseUint(p.src[i+2:i+6], 16, 32)
				if err != nil {
					return nil, false, p.errAt(i, "invalid \\u escape")
				}
				r := rune(n)
				i += 4
				if r >= 0xD800 && r < 0xDC00 && strings.HasPrefix(p.src[i+2:], `\u`) && i+8 <= len(p.src) {
					if lo, err := strconv.ParseUint(p.src[i+4:i+8], 16, 32); err == nil && lo >= 0xDC00 && lo < 0xE000 {
						r = (r-0xD800)<<10 + (rune(lo) - 0xDC00) + 0x10000
						i += 6
					}
				}
				b.WriteRune(r)
			default:
				return nil, false, p.errAt(i, "invalid escape \\%c in a string literal", e)
			}
			i += 2
		default:
			b.WriteByte(c)
			i++
		}
	}
	return nil, false, p.errAt(start, "unterminated string literal")
}

// parsePath reads a reference: [this. | ./] [@root.] [@] [../]* item
// (sep item)*, where an item is a name or a [bracketed key] and sep is "."
// or "/". It never crosses white space.
func (p *parser) parsePath() (*pathExpr, bool) {
	start := p.pos
	pe := &pathExpr{}
	isSep := func() bool { return p.pos < len(p.src) && (p.src[p.pos] == '.' || p.src[p.pos] == '/') }
	// this. / this/ / ./
	if p.peek("this") && len(p.src) > p.pos+4 && (p.src[p.pos+4] == '.' || p.src[p.pos+4] == '/') &&
		!strings.HasPrefix(p.src[p.pos+4:], "..") {
		p.pos += 5
	} else if p.peek("./") {
		p.pos += 2
	}
	if p.peek("@root") && len(p.src) > p.pos+5 && (p.src[p.pos+5] == '.' || p.src[p.pos+5] == '/') {
		p.pos += 6
		pe.root = true
	}
	if p.accept("@") {
		pe.local = true
	}
	for p.peek("..") && len(p.src) > p.pos+2 && (p.src[p.pos+2] == '.' || p.src[p.pos+2] == '/') {
		p.pos += 3
		pe.up++
	}
	item := func() (string, bool) {
		if p.peek("[") {
			i := strings.IndexByte(p.src[p.pos:], ']')
			if i < 0 {
				return "", false
			}
			s := p.src[p.pos+1 : p.pos+i]
			p.pos += i + 1
			return s, true
		}
		s := p.scanIdentifier()
		return s, s != ""
	}
	first, ok := item()
	if !ok {
		p.pos = start
		return nil, false
	}
	items := []string{first}
	for isSep() {
		save := p.pos
		p.pos++
		s, ok := item()
		if !ok {
			p.pos = save
			break
		}
		items = append(items, s)
	}
	pe.raw = p.src[start:p.pos]
	if pe.local {
		pe.localName = items[0]
		return pe, true
	}
	pe.firstNamed = !pe.root
	for _, s := range items {
		if s != "this" {
			pe.segs = append(pe.segs, s)
		}
	}
	return pe, true
}

// parsePartialLine reads what follows "{{>": a partial name (an identifier
// with "/", "." and "@", a 'quoted' or [bracketed] name, a subexpression or
// a path), an optional context and hash arguments.
func (p *parser) parsePartialLine() (*partialElem, error) {
	pe := &partialElem{}
	if p.peek("(") {
		sub, err := p.parseSubexpression()
		if err != nil {
			return nil, err
		}
		pe.nameExpr = &param{kind: paramSub, sub: sub}
	} else {
		name := p.scanPartialIdentifier()
		if name == "" {
			return nil, p.errAt(p.pos, "unexpected %q: expected a partial name", p.snippet())
		}
		pe.name = name
	}
	c := &call{}
	// Arguments are optional here; a partial name can be directly followed
	// by white space and "}}".
	for {
		save := p.pos
		p.skipWS()
		if p.pos == save {
			break
		}
		hstart := p.pos
		if key := p.scanIdentifier(); key != "" {
			p.skipWS()
			if p.accept("=") {
				p.skipWS()
				v, ok, err := p.parseParam()
				if err != nil {
					return nil, err
				}
				if !ok {
					return nil, p.errAt(p.pos, "expected a value for %s=", key)
				}
				c.hash = append(c.hash, hashArg{key: key, val: v})
				continue
			}
		}
		p.pos = hstart
		v, ok, err := p.parseParam()
		if err != nil {
			return nil, err
		}
		if !ok {
			p.pos = save
			break
		}
		c.params = append(c.params, v)
	}
	pe.params, pe.hash = c.params, c.hash
	return pe, nil
}

// ---------------------------------------------------------------------------
// Building the tree, with the original's whitespace control.

type blockFrame struct {
	tok      token
	sections []*call    // the opening call, then each "else if" call
	indents  []bool     // per section: its tag is standalone, without "~"
	progs    []*program // one per section
	elseProg *program
	partial  *partialElem
	inline   bool
}

func (p *parser) build() (*program, error) {
	root := &program{}
	stack := []*program{root}
	var frames []*blockFrame
	omitProWS := false
	trimLine := false
	front := func() *program { return stack[len(stack)-1] }
	trimPrev := func() {
		f := front()
		if n := len(f.elems); n > 0 {
			if t, ok := f.elems[n-1].(*textElem); ok {
				t.text = strings.TrimRightFunc(t.text, unicode.IsSpace)
			}
		}
	}
	// standalone reports whether the tag is alone on its line; the spaces
	// before it on its line are dropped.
	standalone := func(t token) bool {
		cont := p.src[t.end:]
		trailing := startsWithEmptyLine(cont) || cont == ""
		if !trailing {
			return false
		}
		leading := endsWithEmptyLine(p.src[:t.start])
		if leading {
			f := front()
			if n := len(f.elems); n > 0 {
				if tx, ok := f.elems[n-1].(*textElem); ok {
					tx.text = strings.TrimRight(tx.text, " \t")
				}
			}
		}
		return t.start == 0 || leading
	}

	for _, t := range p.toks {
		line, col := lineCol(p.src, t.start)
		switch t.kind {
		case tRawText:
			// The text of a raw block loses its leading white space, as in
			// the original (its grammar skips it).
			text := strings.TrimLeft(t.text, " \t\n\r")
			if omitProWS {
				text = strings.TrimLeftFunc(text, unicode.IsSpace)
			}
			stack = append(stack, &program{})
			if text != "" {
				front().elems = append(front().elems, &textElem{text: text})
			}
		case tText:
			wsOnly := strings.Trim(p.src[t.start:t.end], " \t\n\r") == ""
			switch {
			case wsOnly && omitProWS:
				// dropped, and a pending standalone line trim stays pending
			default:
				text := t.text
				if omitProWS {
					text = strings.TrimLeftFunc(text, unicode.IsSpace)
				} else if trimLine {
					text = strings.TrimLeft(text, " \t")
					if strings.HasPrefix(text, "\r\n") {
						text = text[2:]
					} else if strings.HasPrefix(text, "\n") {
						text = text[1:]
					}
				}
				trimLine = false
				if text != "" {
					front().elems = append(front().elems, &textElem{text: text})
				}
			}
		case tComment:
			trimLine = standalone(t)
		case tExpr:
			if t.pre {
				trimPrev()
			}
			omitProWS = t.post
			front().elems = append(front().elems, &exprElem{call: t.call, line: line, col: col})
		case tBlockOpen, tRawOpen, tDecoratorOpen, tPartialOpen:
			if t.pre {
				trimPrev()
			}
			omitProWS = t.post
			trimLine = standalone(t)
			fr := &blockFrame{tok: t, partial: t.partial}
			if t.kind == tDecoratorOpen {
				if t.call.name != "inline" {
					return nil, p.errAt(t.start, "unknown decorator %q: only *inline is supported", t.call.name)
				}
				fr.inline = true
			} else if t.call != nil {
				fr.sections = []*call{t.call}
				fr.indents = []bool{trimLine && !t.pre}
			}
			if t.kind == tPartialOpen {
				fr.partial.line, fr.partial.col = line, col
			}
			frames = append(frames, fr)
			if t.kind != tRawOpen {
				stack = append(stack, &program{})
			}
		case tElse, tElseChain:
			if t.pre {
				trimPrev()
			}
			omitProWS = t.post
			trimLine = standalone(t)
			if len(frames) == 0 || frames[len(frames)-1].partial != nil || frames[len(frames)-1].inline {
				return nil, p.errAt(t.start, "{{else}} outside of a block")
			}
			fr := frames[len(frames)-1]
			if fr.elseProg != nil {
				return nil, p.errAt(t.start, "a second {{else}} in the block {{#%s}} opened at line %d", fr.sections[0].name, lineOf(p.src, fr.tok.start))
			}
			body := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			fr.progs = append(fr.progs, body)
			next := &program{}
			if t.kind == tElseChain {
				fr.sections = append(fr.sections, t.call)
				fr.indents = append(fr.indents, trimLine && !t.pre)
			} else {
				fr.elseProg = next
			}
			stack = append(stack, next)
		case tClose, tRawClose:
			if t.pre {
				trimPrev()
			}
			omitProWS = t.post
			trimLine = standalone(t)
			if len(frames) == 0 {
				return nil, p.errAt(t.start, "{{/%s}} closes no open block", t.closeName)
			}
			fr := frames[len(frames)-1]
			frames = frames[:len(frames)-1]
			body := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			switch {
			case fr.inline:
				if t.closeName != "" && t.closeName != "inline" {
					return nil, p.errAt(t.start, "{{/%s}} does not close {{#*inline}} opened at line %d", t.closeName, lineOf(p.src, fr.tok.start))
				}
				name, ok := inlineName(fr.tok.call)
				if !ok {
					return nil, p.errAt(fr.tok.start, "{{#*inline}} needs a partial name as a string")
				}
				front().elems = append(front().elems, &inlineElem{name: name, tmpl: body})
			case fr.partial != nil:
				if t.closeName != "" && t.closeName != fr.partial.name {
					return nil, p.errAt(t.start, "{{/%s}} does not close the partial block {{#> %s}} opened at line %d", t.closeName, fr.partial.name, lineOf(p.src, fr.tok.start))
				}
				fr.partial.block = body
				front().elems = append(front().elems, fr.partial)
			default:
				if t.closeName != fr.sections[0].name {
					return nil, p.errAt(t.start, "{{/%s}} does not close the block {{#%s}} opened at line %d", t.closeName, fr.sections[0].name, lineOf(p.src, fr.tok.start))
				}
				fr.progs = append(fr.progs, body)
				if fr.elseProg != nil {
					fr.progs = fr.progs[:len(fr.progs)-1]
				}
				front().elems = append(front().elems, chainBlocks(fr, p.src))
			}
		case tPartial:
			if t.pre {
				trimPrev()
			}
			omitProWS = t.post
			pe := t.partial
			pe.line, pe.col = line, col
			if !t.pre {
				before := p.src[:t.start]
				pe.indent = before[len(strings.TrimRight(before, " \t")):]
			}
			trimLine = standalone(t)
			pe.indentFirst = trimLine && !t.pre
			front().elems = append(front().elems, pe)
		case tDecorator:
			return nil, p.errAt(t.start, "unknown decorator %q", t.call.name)
		}
	}
	if len(frames) > 0 {
		fr := frames[len(frames)-1]
		name := ""
		if len(fr.sections) > 0 {
			name = "#" + fr.sections[0].name
		} else if fr.partial != nil {
			name = "#> " + fr.partial.name
		} else {
			name = "#*inline"
		}
		return nil, p.errAt(fr.tok.start, "unclosed block {{%s}}: no {{/...}} before the end of the template", name)
	}
	return root, nil
}

// chainBlocks nests "{{#if a}}A{{else if b}}B{{else}}C{{/if}}" as
// if a → A, else (if b → B, else C).
func chainBlocks(fr *blockFrame, src string) *blockElem {
	var inverse *program = fr.elseProg
	var blk *blockElem
	for i := len(fr.sections) - 1; i >= 0; i-- {
		line, col := lineCol(src, fr.tok.start)
		blk = &blockElem{call: fr.sections[i], tmpl: fr.progs[i], inverse: inverse, line: line, col: col, indentFirst: fr.indents[i]}
		inverse = &program{elems: []element{blk}}
	}
	return blk
}

func inlineName(c *call) (string, bool) {
	if c == nil || len(c.params) != 1 || c.params[0].kind != paramLiteral {
		return "", false
	}
	s, ok := c.params[0].lit.(string)
	return s, ok
}

func lineOf(src string, off int) int {
	l, _ := lineCol(src, off)
	return l
}

func startsWithEmptyLine(s string) bool {
	s = strings.TrimLeft(s, " \t")
	return strings.HasPrefix(s, "\n") || strings.HasPrefix(s, "\r")
}

func endsWithEmptyLine(s string) bool {
	s = strings.TrimRight(s, " \t")
	return s == "" || strings.HasSuffix(s, "\n") || strings.HasSuffix(s, "\r")
}
