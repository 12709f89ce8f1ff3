// Package shell is the thin layer between the planner and mvdan.cc/sh: it
// parses bash files into syntax trees with errors that name the file and
// line, builds the environment a runner starts from, and lets shell commands
// be implemented as Go functions behind the interpreter's exec handler.
//
// It knows nothing about plans: package plan uses it to evaluate plan.sh,
// and the build phases use the same runner to run callbacks later.
package shell

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"mvdan.cc/sh/v3/syntax"
)

// Error is an error located in a shell file. Its text is
// "FILE:LINE: MESSAGE", the form compilers and editors understand.
type Error struct {
	File string // the file as it was named to the parser
	Line uint   // 1-based; 0 when the error concerns the whole file
	Col  uint   // 1-based; 0 when unknown
	Msg  string
	Err  error // the underlying error, if any
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error at pos (which may be invalid, meaning the whole
// file) in file.
func Errorf(file string, pos syntax.Pos, format string, a ...any) *Error {
	e := &Error{File: file, Msg: fmt.Sprintf(format, a...)}
	if pos.IsValid() {
		e.Line, e.Col = pos.Line(), pos.Col()
	}
	return e
}

// Parse parses bash source named name. Syntax errors are returned as *Error.
func Parse(name string, src []byte) (*syntax.File, error) {
	p := syntax.NewParser(syntax.Variant(syntax.LangBash))
	f, err := p.Parse(bytes.NewReader(src), name)
	if err == nil {
		return f, nil
	}
	var pe syntax.ParseError
	if errors.As(err, &pe) {
		return nil, &Error{File: name, Line: pe.Pos.Line(), Col: pe.Pos.Col(), Msg: "syntax error: " + pe.Text, Err: err}
	}
	var le syntax.LangError
	if errors.As(err, &le) {
		return nil, &Error{File: name, Line: le.Pos.Line(), Col: le.Pos.Col(), Msg: fmt.Sprintf("syntax error: %s is not supported in bash", le.Feature), Err: err}
	}
	return nil, &Error{File: name, Msg: "parse: " + err.Error(), Err: err}
}

// ParseFile reads and parses the bash file at path.
func ParseFile(path string) (*syntax.File, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return Parse(path, src)
}
