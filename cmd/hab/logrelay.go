package main

import (
	"context"
	"log/slog"
	"sync/atomic"
)

// logRelay is a slog.Handler that hands each record to the handler last
// given to set. A logger made before the command line is read (main's
// resident-page settler's, which every hab process runs) logs through it
// with hab's own settings (the environment's), then through the
// command's once the command has resolved them (hab sup run's -v and
// --json-logging).
type logRelay struct {
	to   *atomic.Pointer[slog.Handler]
	with func(slog.Handler) slog.Handler // attributes and groups added through WithAttrs/WithGroup, nil for none
}

func newLogRelay(first *slog.Logger) logRelay {
	r := logRelay{to: new(atomic.Pointer[slog.Handler])}
	r.set(first)
	return r
}

// set sends what is logged from now on to l's handler; on a zero relay
// (a command run in-process by a test, with no settler) it does nothing.
func (r logRelay) set(l *slog.Logger) {
	if r.to != nil {
		h := l.Handler()
		r.to.Store(&h)
	}
}

func (r logRelay) target() slog.Handler {
	h := *r.to.Load()
	if r.with != nil {
		h = r.with(h)
	}
	return h
}

func (r logRelay) Enabled(ctx context.Context, l slog.Level) bool {
	return r.target().Enabled(ctx, l)
}

func (r logRelay) Handle(ctx context.Context, rec slog.Record) error {
	return r.target().Handle(ctx, rec)
}

func (r logRelay) WithAttrs(as []slog.Attr) slog.Handler {
	return r.then(func(h slog.Handler) slog.Handler { return h.WithAttrs(as) })
}

func (r logRelay) WithGroup(name string) slog.Handler {
	return r.then(func(h slog.Handler) slog.Handler { return h.WithGroup(name) })
}

// then is r with add applied, after what r already adds, to whichever
// handler is the target when a record comes.
func (r logRelay) then(add func(slog.Handler) slog.Handler) logRelay {
	prev := r.with
	r.with = func(h slog.Handler) slog.Handler {
		if prev != nil {
			h = prev(h)
		}
		return add(h)
	}
	return r
}
