package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestSupRunLogging runs real supervisors: -v adds debug lines (one per
// control request), --json-logging writes every log line as a JSON
// object, and without either a control request logs nothing.
func TestSupRunLogging(t *testing.T) {
	e := newSupEnv(t)

	s := e.startSup("-v", "--json-logging")
	s.mustHab("", "svc", "status", "-r", s.ctl)
	s.waitOutput(`"msg":"control gateway: request"`)
	for _, line := range strings.Split(s.output(), "\n") {
		if !strings.Contains(line, "control gateway: request") {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %v\n%s", err, line)
		}
		if rec["level"] != "DEBUG" || rec["cmd"] == nil || rec["remote"] == nil {
			t.Errorf("debug line: %v", rec)
		}
	}

	e2 := newSupEnv(t)
	plain := e2.startSup()
	plain.mustHab("", "svc", "status", "-r", plain.ctl)
	e2.env["HAB_CTL_SECRET"] = "not-the-secret"
	plain.hab("", "svc", "status", "-r", plain.ctl)
	delete(e2.env, "HAB_CTL_SECRET")
	plain.waitOutput("refused a request with a wrong secret")
	out := plain.output()
	if strings.Contains(out, "control gateway: request") || strings.Contains(out, `"level"`) {
		t.Errorf("without -v or --json-logging:\n%s", out)
	}
	if !strings.Contains(out, "level=WARN") {
		t.Errorf("the warning is not a text line:\n%s", out)
	}
}
