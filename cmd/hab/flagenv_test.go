package main

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestEnvFlag: a flag falls back to the first of its variables that is set
// and not empty, the command line wins, the flag does not count as given,
// and a variable's bad value is a usage error naming it.
func TestEnvFlag(t *testing.T) {
	tests := []struct {
		env     map[string]string
		args    []string
		want    string
		changed bool
		code    int
		says    string
	}{
		{nil, nil, "dflt|0", false, 0, ""},
		{map[string]string{"HAB_A": "", "HAB_B": "b"}, nil, "b|0", false, 0, ""},
		{map[string]string{"HAB_A": "a", "HAB_B": "b"}, nil, "a|0", false, 0, ""},
		{map[string]string{"HAB_A": "a"}, []string{"--dir", "flag"}, "flag|0", true, 0, ""},
		{map[string]string{"HAB_N": "7"}, nil, "dflt|7", false, 0, ""},
		{map[string]string{"HAB_N": "seven"}, nil, "", false, exitUsage, `invalid value "seven" of HAB_N for --n`},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		a := &app{stdout: &out, stderr: &errb, getenv: func(k string) string { return tt.env[k] }}
		var dir string
		var n int
		var changed bool
		c := &cobra.Command{Use: "probe", SilenceErrors: true, SilenceUsage: true}
		c.Flags().StringVar(&dir, "dir", "dflt", "a directory")
		c.Flags().IntVar(&n, "n", 0, "a number")
		a.envFlag(c, "dir", "HAB_A", "HAB_B")
		a.envFlag(c, "n", "HAB_N")
		c.RunE = func(cmd *cobra.Command, _ []string) error {
			changed = cmd.Flags().Changed("dir")
			return nil
		}
		c.SetArgs(tt.args)
		c.SetOut(&out)
		err := c.ExecuteContext(context.Background())
		if tt.code != 0 {
			if err == nil || exitCode(err) != tt.code || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("env %v: %v, want exit %d saying %q", tt.env, err, tt.code, tt.says)
			}
			continue
		}
		if err != nil {
			t.Errorf("env %v args %v: %v", tt.env, tt.args, err)
			continue
		}
		if got := dir + "|" + strconv.Itoa(n); got != tt.want || changed != tt.changed {
			t.Errorf("env %v args %v: %q changed %v, want %q changed %v", tt.env, tt.args, got, changed, tt.want, tt.changed)
		}
		if !strings.Contains(c.Flags().Lookup("dir").Usage, "[env: HAB_A, HAB_B]") {
			t.Errorf("usage does not name the variables: %q", c.Flags().Lookup("dir").Usage)
		}
	}
}
