package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

// TestLogRelay: a logger over a relay logs through the first logger's
// handler (its level and format), then through the one set later, with
// the attributes and groups added before the change; a relay a test's
// app never made ignores set.
func TestLogRelay(t *testing.T) {
	var first, second bytes.Buffer
	r := newLogRelay(slog.New(slog.NewTextHandler(&first, &slog.HandlerOptions{Level: slog.LevelWarn})))
	log := slog.New(r)
	withAttrs := log.With("part", "settler").WithGroup("mem")

	log.Debug("hidden at warn")
	log.Warn("as text")
	if got := first.String(); strings.Contains(got, "hidden") || !strings.Contains(got, "level=WARN msg=\"as text\"") {
		t.Errorf("before set: %q", got)
	}

	r.set(slog.New(slog.NewJSONHandler(&second, &slog.HandlerOptions{Level: slog.LevelDebug})))
	log.Debug("debug now")
	withAttrs.Debug("released", "after", 3)
	lines := strings.Split(strings.TrimSpace(second.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("after set, %d lines: %q", len(lines), second.String())
	}
	var recs []map[string]any
	for _, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("not JSON: %v: %s", err, l)
		}
		recs = append(recs, rec)
	}
	if recs[0]["msg"] != "debug now" || recs[0]["level"] != "DEBUG" {
		t.Errorf("first record: %v", recs[0])
	}
	if mem, _ := recs[1]["mem"].(map[string]any); recs[1]["part"] != "settler" || mem["after"] != 3.0 {
		t.Errorf("the attributes and group added before set: %v", recs[1])
	}
	if strings.Contains(first.String(), "debug now") || strings.Contains(first.String(), "released") {
		t.Errorf("the first handler still gets records: %q", first.String())
	}

	var zero logRelay
	zero.set(slog.Default()) // does nothing, and does not panic
}

// TestSupSettlerLogsAsTheSupervisor: the resident-page settler of a real
// hab sup run (main starts it before the command line is read) logs its
// debug lines with the supervisor's -v, and as JSON with --json-logging,
// with nothing in the environment asking for debug.
func TestSupSettlerLogsAsTheSupervisor(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"-v", []string{"-v"}, `level=DEBUG msg="resident memory: released the binary's idle pages"`},
		{"-v --json-logging", []string{"-v", "--json-logging"}, `"level":"DEBUG","msg":"resident memory: released the binary's idle pages"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newSupEnv(t)
			for _, k := range []string{"HAB_LOG", "RUST_LOG", "DEBUG"} {
				e.env[k] = "" // hab's own debug settings off
			}
			s := e.startSup(tc.args...)
			s.waitOutput(tc.want)
		})
	}
}
