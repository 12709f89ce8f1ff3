package main

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// isSwitch tells a flag that takes no value (a boolean or a counter)
// from one whose value may be left out (pflag's NoOptDefVal on a value
// flag: hab sup run --ctl-server-certificate [PATH]).
func isSwitch(f *pflag.Flag) bool {
	t := f.Value.Type()
	return t == "bool" || t == "count"
}

// takesOptionalValue tells a value flag that may be given bare.
func takesOptionalValue(f *pflag.Flag) bool {
	return f.NoOptDefVal != "" && !isSwitch(f)
}

// optionalValueArgs joins a flag whose value is optional to the word
// after it when that word is not a flag (--ctl-server-certificate DIR
// becomes --ctl-server-certificate=DIR), as the original's parser takes
// such a value; pflag would take only the joined form and leave DIR as
// a positional argument. A bare flag followed by another flag, by "--" or
// by nothing keeps its bare meaning. The command is found as cobra finds
// it; pass-through commands are left alone.
func optionalValueArgs(root *cobra.Command, args []string) []string {
	c, _, err := root.Find(args)
	if err != nil || c.DisableFlagParsing {
		return args
	}
	lookup := func(name string) *pflag.Flag {
		if f := c.Flags().Lookup(name); f != nil {
			return f
		}
		return c.InheritedFlags().Lookup(name)
	}
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			return append(out, args[i:]...)
		}
		if name, ok := strings.CutPrefix(arg, "--"); ok && !strings.Contains(name, "=") && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			if f := lookup(name); f != nil && takesOptionalValue(f) {
				out = append(out, arg+"="+args[i+1])
				i++
				continue
			}
		}
		out = append(out, arg)
	}
	return out
}
