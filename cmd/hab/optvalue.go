package main

import (
	"strconv"
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

// wordsAnnotation marks a flag that, as the original's (clap's num_args
// 1.. or 0..), takes the words that follow it on the command line as
// further values, up to the next flag: --bind a:x.default b:y.default
// is --bind a:x.default --bind b:y.default. Its value is the most words
// one use takes, 0 for any number.
const wordsAnnotation = "hab_words"

// wordsFlag marks c's flag name as taking several words (at most most
// of them; 0: any number), as clap's num_args 1.. does. The flag must
// hold a list (a string array or slice).
func wordsFlag(c *cobra.Command, name string, most int) {
	_ = c.Flags().SetAnnotation(name, wordsAnnotation, []string{strconv.Itoa(most)})
}

// flagWords is how many words f takes: 1 for an ordinary flag, -1 for
// any number (wordsFlag's 0).
func flagWords(f *pflag.Flag) int {
	v, ok := f.Annotations[wordsAnnotation]
	if !ok || len(v) == 0 {
		return 1
	}
	n, err := strconv.Atoi(v[0])
	if err != nil || n <= 0 {
		return -1
	}
	return n
}

// clapArgs rewrites a command line so that pflag takes values as the
// original's parser (clap) does where the two differ:
//   - a flag whose value is optional takes the word after it when that
//     word is not a flag (--ctl-server-certificate DIR becomes
//     --ctl-server-certificate=DIR; pflag would leave DIR a positional
//     argument), and is bare before a flag, "--" or the end;
//   - a flag marked by wordsFlag takes every following word up to the
//     next flag (or its most), each as a value of its own.
//
// The command is found as cobra finds it; pass-through commands and
// everything after "--" are left alone.
func clapArgs(root *cobra.Command, args []string) []string {
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
	word := func(i int) bool { return i < len(args) && !strings.HasPrefix(args[i], "-") }
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			return append(out, args[i:]...)
		}
		name, ok := strings.CutPrefix(arg, "--")
		name, _, joined := strings.Cut(name, "=")
		var f *pflag.Flag
		if ok && name != "" {
			f = lookup(name)
		}
		if f == nil || isSwitch(f) {
			out = append(out, arg)
			continue
		}
		most, n := flagWords(f), 0
		switch {
		case joined:
			out, n = append(out, arg), 1
		case takesOptionalValue(f) && word(i+1):
			out, n = append(out, arg+"="+args[i+1]), 1
			i++
		case takesOptionalValue(f):
			out = append(out, arg) // bare
			continue
		case i+1 < len(args):
			// pflag takes the next word as the value, whatever it is.
			out, n = append(out, arg, args[i+1]), 1
			i++
		default:
			out = append(out, arg)
			continue
		}
		for ; (most < 0 || n < most) && word(i+1); n++ {
			out = append(out, "--"+name+"="+args[i+1])
			i++
		}
	}
	return out
}
