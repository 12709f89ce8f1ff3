// Package closure orders runtime closures: the packages a package needs at
// run time, directly or through others, in the order the original's build
// writes them to TDEPS. The installer, `hab pkg env`, the planner, the
// studio's backline and the exporters all take a closure from here.
package closure

import (
	"context"
	"fmt"

	"github.com/habgo/hab/core/ident"
)

// TDepsFunc returns the recorded TDEPS (transitive runtime dependencies)
// of one package of the closure.
type TDepsFunc func(ctx context.Context, id ident.Ident) ([]ident.Ident, error)

// TDeps returns the runtime closure of the packages direct in TDEPS order,
// as the original computes pkg_tdeps_resolved: the direct packages (each
// once, at its first place), then,
// for each of them in turn, its own TDEPS, an entry met again moving to
// the end of the list (so that a dependency always comes after the
// packages of the list that need it, and installing in reverse order puts
// dependencies first). A package naming itself in its TDEPS is ignored
// there. tdeps is asked once for each direct package, not for the others:
// TDEPS is already transitive. Time and memory are linear in the length of
// the lists.
func TDeps(ctx context.Context, direct []ident.Ident, tdeps TDepsFunc) ([]ident.Ident, error) {
	var l list
	for _, d := range direct {
		if !l.has(d) {
			l.add(d) // a direct package named twice keeps its first place
		}
	}
	for _, d := range direct {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ts, err := tdeps(ctx, d)
		if err != nil {
			return nil, fmt.Errorf("runtime closure: %s: %w", d, err)
		}
		for _, t := range ts {
			if t != d {
				l.add(t)
			}
		}
	}
	return l.items(), nil
}

// list is an ordered set in which adding an element that is there moves
// it to the end, in constant time: the old place is left empty.
type list struct {
	order []ident.Ident
	live  []bool
	at    map[ident.Ident]int
}

func (l *list) add(id ident.Ident) {
	if l.at == nil {
		l.at = map[ident.Ident]int{}
	}
	if i, ok := l.at[id]; ok {
		l.live[i] = false
	}
	l.at[id] = len(l.order)
	l.order = append(l.order, id)
	l.live = append(l.live, true)
}

func (l *list) has(id ident.Ident) bool {
	_, ok := l.at[id]
	return ok
}

func (l *list) items() []ident.Ident {
	out := make([]ident.Ident, 0, len(l.at))
	for i, id := range l.order {
		if l.live[i] {
			out = append(out, id)
		}
	}
	return out
}
