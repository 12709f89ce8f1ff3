// Package plan finds, parses and evaluates a Habitat plan.sh with the
// mvdan.cc/sh interpreter, as the original build program (hab-plan-build)
// does before any build phase runs: the same variables are set before the
// plan is sourced, the same defaults are applied after it, and the plan's
// helpers (build_line, pkg_path_for, update_pkg_version, ...) are Go
// functions behind the interpreter's exec handler. Bash never runs.
//
// The phases stay apart: Find locates the plan file, Parse turns it into a
// syntax tree, Evaluate runs the tree and derives the Metadata. The
// evaluated *Plan keeps its shell, so that the build phases can later call
// the plan's callbacks (do_build, ...) in the same interpreter state.
package plan

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/habgo/hab/core/ident"
)

// FileName is the name of a plan file.
const FileName = "plan.sh"

// ErrNotFound is wrapped by Find when no plan file exists.
var ErrNotFound = errors.New("plan file not found")

// ErrAmbiguous is wrapped by Find when several plan files compete.
var ErrAmbiguous = errors.New("more than one plan file")

// Location is where a plan was found.
type Location struct {
	// Root is the absolute directory the lookup started from. The
	// original uses it as the initial SRC_PATH.
	Root string
	// Path is the absolute path of the plan file.
	Path string
	// Context is PLAN_CONTEXT: the directory holding the plan file.
	Context string
	// Shadowed lists plan files outside the target directories that the
	// target-specific plan takes precedence over; the original warns
	// about them.
	Shadowed []string
}

// Candidates returns the places a plan file is looked for under root, for
// target: the target-specific ones first (they take precedence), then
// the plain ones.
func Candidates(root string, target ident.Target) (targeted, plain []string) {
	t := string(target)
	targeted = []string{
		filepath.Join(root, t, FileName),
		filepath.Join(root, "habitat", t, FileName),
	}
	plain = []string{
		filepath.Join(root, FileName),
		filepath.Join(root, "habitat", FileName),
	}
	return targeted, plain
}

// Find locates the plan file under dir as the original build program
// does: ./plan.sh, ./habitat/plan.sh, ./TARGET/plan.sh and
// ./habitat/TARGET/plan.sh are the candidates, a target-specific plan
// takes precedence over the others, and two candidates at the same level
// are an error naming both.
func Find(dir string, target ident.Target) (Location, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return Location{}, fmt.Errorf("find plan in %s: %w", dir, err)
	}
	if fi, err := os.Stat(root); err != nil {
		return Location{}, fmt.Errorf("find plan in %s: %w", dir, err)
	} else if !fi.IsDir() {
		return Location{}, fmt.Errorf("find plan in %s: not a directory", dir)
	}
	targeted, plain := Candidates(root, target)
	foundTargeted, foundPlain := existing(targeted), existing(plain)
	final := foundPlain
	var shadowed []string
	if len(foundTargeted) > 0 {
		final, shadowed = foundTargeted, foundPlain
	}
	switch len(final) {
	case 0:
		all := append(plain, targeted...)
		return Location{}, fmt.Errorf("%w in any of these paths: %s", ErrNotFound, strings.Join(all, ", "))
	case 1:
		return Location{Root: root, Path: final[0], Context: filepath.Dir(final[0]), Shadowed: shadowed}, nil
	default:
		return Location{}, fmt.Errorf("%w: a plan was found in each of %s; only one is allowed at a time", ErrAmbiguous, strings.Join(final, ", "))
	}
}

func existing(paths []string) []string {
	var out []string
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			out = append(out, p)
		}
	}
	return out
}
