package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/sup/manager"
)

// completeChannels are the channels offered for --channel: the original's
// default channels.
var completeChannels = []string{"stable", "unstable", "base"}

// addCompletions makes shell completion know the machine, not only the
// command names: a first argument that is a package identifier completes
// to installed packages (of FS_ROOT's store), an origin to the origins with
// keys in the key cache, a service group (and the group of --bind
// NAME:GROUP) to the groups of the running supervisor's services,
// --channel to the channels, --origin and --keys to origins. Commands that complete their arguments themselves keep their
// own completion.
func (a *app) addCompletions(c *cobra.Command) {
	if c.ValidArgsFunction == nil && len(c.ValidArgs) == 0 {
		switch completeFirstArg(c.Use) {
		case "PKG_IDENT", "IDENT", "FQIDENT":
			c.ValidArgsFunction = a.completeFirst(a.completeIdents, cobra.ShellCompDirectiveNoFileComp)
		case "PKG_IDENT_OR_ARTIFACT":
			c.ValidArgsFunction = a.completeAll(a.completeIdents, cobra.ShellCompDirectiveDefault)
		case "ORIGIN":
			c.ValidArgsFunction = a.completeFirst(a.completeOrigins, cobra.ShellCompDirectiveNoFileComp)
		case "SERVICE_GROUP":
			c.ValidArgsFunction = a.completeGroups
		}
	}
	if c.Flags().Lookup("bind") != nil {
		if _, ok := c.GetFlagCompletionFunc("bind"); !ok {
			_ = c.RegisterFlagCompletionFunc("bind", a.completeBind)
		}
	}
	for name, complete := range map[string]cobra.CompletionFunc{
		"channel":         cobra.FixedCompletions(completeChannels, cobra.ShellCompDirectiveNoFileComp),
		"refresh-channel": cobra.FixedCompletions(completeChannels, cobra.ShellCompDirectiveNoFileComp),
		"origin":          a.completeAll(a.completeOrigins, cobra.ShellCompDirectiveNoFileComp),
		"keys":            a.completeAll(a.completeOrigins, cobra.ShellCompDirectiveNoFileComp),
	} {
		if c.Flags().Lookup(name) != nil {
			if _, ok := c.GetFlagCompletionFunc(name); !ok {
				_ = c.RegisterFlagCompletionFunc(name, complete)
			}
		}
	}
	for _, sub := range c.Commands() {
		a.addCompletions(sub)
	}
}

// completeFirstArg is the name of the first positional argument a
// command's usage line names, without brackets: "binds <PKG_IDENT>" gives
// PKG_IDENT.
func completeFirstArg(use string) string {
	fields := strings.Fields(use)
	for _, f := range fields[min(1, len(fields)):] {
		f = strings.Trim(strings.TrimSuffix(f, "..."), "<>[]")
		if f == "" || strings.HasPrefix(f, "-") || f == "FLAGS" || f == "OPTIONS" || f == "flags" {
			continue
		}
		return f
	}
	return ""
}

// completeFirst completes the first argument with list, and nothing after.
func (a *app) completeFirst(list func(context.Context, string) []string, d cobra.ShellCompDirective) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return list(completeContext(c), toComplete), d
	}
}

// completeAll completes every argument (or a flag's value) with list.
func (a *app) completeAll(list func(context.Context, string) []string, d cobra.ShellCompDirective) cobra.CompletionFunc {
	return func(c *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return list(completeContext(c), toComplete), d
	}
}

func completeContext(c *cobra.Command) context.Context {
	if ctx := c.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

// completeIdents are the installed packages whose identifiers start with
// prefix: each ORIGIN/NAME, and each release in full. Errors complete
// nothing.
func (a *app) completeIdents(ctx context.Context, prefix string) []string {
	s, err := a.storeOpen()
	if err != nil {
		return nil
	}
	ids, err := s.List(ctx, ident.Ident{})
	if err != nil {
		return nil
	}
	var out []string
	for _, id := range ids {
		for _, cand := range []string{id.Origin + "/" + id.Name, id.String()} {
			if strings.HasPrefix(cand, prefix) {
				out = append(out, cand)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// completeOrigins are the origins that have a signing key (public or
// secret) in the key cache and start with prefix.
func (a *app) completeOrigins(_ context.Context, prefix string) []string {
	cache := crypto.Cache{Dir: a.root.Keys()}
	var out []string
	for _, kt := range []crypto.KeyType{crypto.SigSecret, crypto.SigPublic} {
		names, err := cache.Names(kt)
		if err != nil {
			return nil
		}
		for _, n := range names {
			if strings.HasPrefix(n, prefix) {
				out = append(out, n)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// completeGroupsTimeout bounds the question completion asks the
// supervisor: a Tab press must not hang on an unreachable one.
const completeGroupsTimeout = 2 * time.Second

// completeGroups completes a first argument SERVICE_GROUP with the
// service groups of the running supervisor's services (the one -r names,
// else the local one), asked through its control gateway. A supervisor
// that cannot be asked completes nothing.
func (a *app) completeGroups(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return a.runningGroups(c, toComplete), cobra.ShellCompDirectiveNoFileComp
}

// completeBind completes --bind NAME:SERVICE.GROUP after the colon with
// the running supervisor's service groups.
func (a *app) completeBind(c *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	name, group, ok := strings.Cut(toComplete, ":")
	if !ok {
		return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
	var out []string
	for _, g := range a.runningGroups(c, group) {
		out = append(out, name+":"+g)
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// runningGroups are the service groups of the running supervisor's
// services that start with prefix, sorted.
func (a *app) runningGroups(c *cobra.Command, prefix string) []string {
	remote := ""
	if f := c.Flags().Lookup("remote-sup"); f != nil {
		remote = f.Value.String()
	}
	cl, err := a.ctlClient(remote)
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(completeContext(c), completeGroupsTimeout)
	defer cancel()
	rows, err := svcStatuses(ctx, cl, manager.IdentArgs{})
	if err != nil {
		return nil
	}
	var out []string
	for _, r := range rows {
		if strings.HasPrefix(r.ServiceGroup, prefix) {
			out = append(out, r.ServiceGroup)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// completersCmd is hab cli completers: the original's way to print a
// completion script (hab completion SHELL is cobra's, and works too).
func (a *app) completersCmd() *cobra.Command {
	var shell string
	c := &cobra.Command{
		Use:   "completers --shell <SHELL>",
		Short: "Creates command-line completers for your shell",
		Long: "Prints a completion script for hab in SHELL (bash, zsh, fish or powershell) to standard output. Besides commands and " +
			"flags it completes installed package identifiers, origins with keys in the key cache, the service groups of the " +
			"running Supervisor, export formats and channels.",
		Args: cobra.NoArgs,
	}
	c.Flags().StringVarP(&shell, "shell", "s", "", "The name of the `SHELL` you want to generate the command-completion (bash, zsh, fish, powershell, elvish)")
	_ = c.RegisterFlagCompletionFunc("shell", cobra.FixedCompletions([]string{"bash", "zsh", "fish", "powershell", "elvish"}, cobra.ShellCompDirectiveNoFileComp))
	c.RunE = func(cmd *cobra.Command, _ []string) error {
		root := cmd.Root()
		switch shell {
		case "bash":
			return root.GenBashCompletionV2(a.stdout, true)
		case "zsh":
			return root.GenZshCompletion(a.stdout)
		case "fish":
			return root.GenFishCompletion(a.stdout, true)
		case "powershell":
			return root.GenPowerShellCompletionWithDesc(a.stdout)
		case "elvish":
			return fmt.Errorf("no completion script for elvish: this hab writes them for bash, zsh, fish and powershell")
		case "":
			return usageError("the required flag --shell <SHELL> was not given")
		}
		return usageError("invalid value %q for --shell: one of bash, zsh, fish, powershell, elvish", shell)
	}
	return c
}
