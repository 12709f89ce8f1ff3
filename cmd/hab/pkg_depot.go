package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/depot/client"
	"github.com/habgo/hab/depot/pkgset"
)

// addPkgDepotCommands adds the depot's package commands to hab pkg.
func (a *app) addPkgDepotCommands(pkg *cobra.Command) {
	pkg.AddCommand(
		a.pkgUploadCmd(),
		a.pkgBulkUploadCmd(),
		a.pkgDownloadCmd(),
		a.pkgChannelMoveCmd("promote", "Promote a package to a specified channel", "Promoting", "Promoted", "to"),
		a.pkgChannelMoveCmd("demote", "Demote a package from a specified channel", "Demoting", "Demoted", "from"),
		a.pkgChannelsCmd(),
		a.pkgSearchCmd(),
		a.pkgDeleteCmd(),
	)
}

// fqIdentAndTarget reads FQIDENT [PKG_TARGET] arguments; the target
// defaults to the active one (HAB_PKG_TARGET, else this machine's).
func (a *app) fqIdentAndTarget(idArg string, rest []string) (ident.Ident, ident.Target, error) {
	id, err := ident.ParseFullyQualified(idArg)
	if err != nil {
		return id, "", usageError("%v", err)
	}
	if len(rest) > 0 {
		t, err := ident.ParseTarget(rest[0])
		if err != nil {
			return id, "", usageError("%v", err)
		}
		return id, t, nil
	}
	t, err := ident.ActiveTarget(a.getenv)
	return id, t, err
}

func (a *app) pkgUploadCmd() *cobra.Command {
	var force bool
	c := &cobra.Command{
		Use:   "upload HART_FILE...",
		Short: "Uploads a local Habitat Artifact to Builder",
		Long: "Uploads each HART_FILE to the depot's unstable channel (and promotes it to --channel). The signer's public origin key, " +
			"from the key cache, goes first; runtime dependencies the depot lacks are uploaded from harts of the same name in the same directory. " +
			"A release the depot already has is only promoted, unless --force.",
		Args: cobra.MinimumNArgs(1),
	}
	cache := a.keyCacheFlag(c)
	s := a.bldrFlags(c)
	a.channelFlag(c, s, "Additional release channel to upload package to (uploads always land in unstable)", false)
	c.Flags().BoolVar(&force, "force", false, "Skips checking availability of package and force uploads, potentially overwriting a stored copy of a package")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		for _, p := range args {
			if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
				return usageError("HART_FILE %s: not a file", p)
			}
		}
		cl, err := a.bldrClient(s, true)
		if err != nil {
			return err
		}
		for _, p := range args {
			if err := cl.UploadHart(cmd.Context(), p, client.UploadOptions{Channel: s.channel, Force: force, Keys: cache(), Say: a.sayer()}); err != nil {
				return err
			}
		}
		a.say("★", "Upload of %d artifact(s) complete.", len(args))
		return nil
	}
	return c
}

func (a *app) pkgBulkUploadCmd() *cobra.Command {
	var force, createOrigins bool
	c := &cobra.Command{
		Use:   "bulkupload UPLOAD_DIRECTORY",
		Short: "Bulk Uploads Habitat Artifacts to a Depot from a local directory",
		Long: "Uploads every hart in UPLOAD_DIRECTORY, as hab pkg upload does each, to unstable and the --channel. The origins they belong to " +
			"must exist in the depot: --auto-create-origins creates the missing ones (there is no prompt), else they are named and nothing is uploaded.",
		Args: cobra.ExactArgs(1),
	}
	cache := a.keyCacheFlag(c)
	s := a.bldrFlags(c)
	a.channelFlag(c, s, "Optional additional release channel to upload package to", false)
	c.Flags().BoolVar(&force, "force", false, "Skip checking availability of package and force uploads, potentially overwriting a stored copy of a package")
	c.Flags().BoolVar(&createOrigins, "auto-create-origins", false, "Create missing origins without asking")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if fi, err := os.Stat(args[0]); err != nil || !fi.IsDir() {
			return usageError("UPLOAD_DIRECTORY %s: not a directory", args[0])
		}
		cl, err := a.bldrClient(s, true)
		if err != nil {
			return err
		}
		n, err := cl.UploadDir(cmd.Context(), args[0], client.UploadOptions{Channel: s.channel, Force: force, Keys: cache(), Say: a.sayer()}, createOrigins)
		if err != nil {
			return err
		}
		a.say("★", "Bulk upload of %d artifact(s) from %s complete.", n, args[0])
		return nil
	}
	return c
}

func (a *app) pkgDownloadCmd() *cobra.Command {
	var (
		fileArgs    []string
		dir, target string
		verify      bool
		asJSON      bool
		ignoreSeeds bool
	)
	c := &cobra.Command{
		Use:   "download [PKG_IDENT...] [--file FILE...]",
		Short: "Download Habitat artifacts (including dependencies and keys) from Builder",
		Long: "Downloads the harts of each PKG_IDENT (resolved in --channel, or in unstable when fully qualified) and of their runtime " +
			"dependencies, with their signers' public keys, into DOWNLOAD_DIRECTORY/artifacts and DOWNLOAD_DIRECTORY/keys, without installing them.",
	}
	s := a.bldrFlags(c)
	a.channelFlag(c, s, "Download from the specified release channel (else stable)", true)
	c.Flags().StringSliceVar(&fileArgs, "file", nil, "File with newline-separated package identifiers (# starts a comment), or a package-set TOML file (name ending in .toml; its channels win over --channel)")
	wordsFlag(c, "file", 10) // 1 to 10 files a use, as the original's
	c.Flags().StringVar(&dir, "download-directory", "", "The path to store downloaded artifacts and keys (default the cache root: /hab/cache as root, else ~/.hab/cache)")
	c.Flags().StringVarP(&target, "target", "t", "", "Package target (else $HAB_PKG_TARGET, else this machine's)")
	a.envFlag(c, "target", "HAB_PACKAGE_TARGET")
	c.Flags().BoolVar(&verify, "verify", false, "Verify package integrity after download (with the downloaded keys)")
	c.Flags().BoolVar(&ignoreSeeds, "ignore-missing-seeds", false, "Ignore packages specified that are not present on the target Builder (their dependencies must all be there)")
	c.Flags().BoolVarP(&asJSON, "json", "j", false, "Output the downloaded releases as JSON")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		t, err := ident.ActiveTarget(a.getenv)
		if err != nil {
			return err
		}
		if target != "" {
			if t, err = ident.ParseTarget(target); err != nil {
				return usageError("%v", err)
			}
		}
		channel := a.bldrChannel(s)
		var ids []ident.Ident
		for _, arg := range args {
			id, err := ident.Parse(arg)
			if err != nil {
				return usageError("%v", err)
			}
			ids = append(ids, id)
		}
		sets := []pkgset.Set{{Target: t, Channel: channel, Idents: ids}}
		for _, f := range fileArgs {
			l, err := pkgset.Read(f, channel, t)
			if err != nil {
				return usageError("--file: %v", err)
			}
			sets = append(sets, l...)
		}
		sets = slices.DeleteFunc(sets, func(s pkgset.Set) bool { return len(s.Idents) == 0 })
		if len(sets) == 0 {
			return usageError("give package identifiers or --file")
		}
		if dir == "" {
			dir = filepath.Dir(a.root.Artifacts())
		}
		cl, err := a.bldrClient(s, false)
		if err != nil {
			return err
		}
		say := a.sayer()
		if asJSON {
			say = nil
		}
		got, err := cl.DownloadClosure(cmd.Context(), sets, client.DownloadOptions{Dir: dir, Verify: verify, IgnoreMissingSeeds: ignoreSeeds, Say: say})
		if err != nil {
			return err
		}
		if asJSON {
			type release struct {
				Ident  string       `json:"ident"`
				Target ident.Target `json:"target"`
			}
			out, rels := []string{}, []release{}
			for _, d := range got {
				out = append(out, d.Ident.String())
				rels = append(rels, release{d.Ident.String(), d.Target})
			}
			return keysWriteJSON(a.stdout, map[string]any{"target": t, "directory": dir, "packages": out, "releases": rels})
		}
		a.say("★", "Download of %d package(s) into %s complete.", len(got), dir)
		return nil
	}
	return c
}

// pkgChannelMoveCmd is hab pkg promote or demote.
func (a *app) pkgChannelMoveCmd(use, short, doing, done, prep string) *cobra.Command {
	c := &cobra.Command{Use: use + " PKG_IDENT CHANNEL [PKG_TARGET]", Short: short, Args: cobra.RangeArgs(2, 3)}
	s := a.bldrFlags(c)
	c.RunE = func(cmd *cobra.Command, args []string) error {
		id, t, err := a.fqIdentAndTarget(args[0], args[2:])
		if err != nil {
			return err
		}
		ch := args[1]
		cl, err := a.bldrClient(s, true)
		if err != nil {
			return err
		}
		a.say("»", "%s %s (%s) %s channel '%s'.", doing, id, t, prep, ch)
		if use == "promote" {
			err = cl.Promote(cmd.Context(), ch, id, t)
		} else {
			err = cl.Demote(cmd.Context(), ch, id, t)
		}
		if err != nil {
			return err
		}
		a.say("✓", "%s %s (%s) %s channel '%s'.", done, id, t, prep, ch)
		return nil
	}
	return c
}

func (a *app) pkgChannelsCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{Use: "channels PKG_IDENT [PKG_TARGET]", Short: "Find out what channels a package belongs to", Args: cobra.RangeArgs(1, 2),
		Long: "Prints the channels of the depot that hold the release PKG_IDENT (fully qualified), one a line. With --json, " +
			"a JSON array of the channel names."}
	s := a.bldrFlags(c)
	c.Flags().BoolVarP(&asJSON, "json", "j", false, "Output JSON")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		id, t, err := a.fqIdentAndTarget(args[0], args[1:])
		if err != nil {
			return err
		}
		cl, err := a.bldrClient(s, false)
		if err != nil {
			return err
		}
		chs, err := cl.PackageChannels(cmd.Context(), id, t)
		if err != nil {
			return err
		}
		names := []string{}
		for _, ch := range chs {
			names = append(names, ch.Name)
		}
		if asJSON {
			return keysWriteJSON(a.stdout, names)
		}
		for _, n := range names {
			fmt.Fprintln(a.stdout, n)
		}
		return nil
	}
	return c
}

func (a *app) pkgSearchCmd() *cobra.Command {
	var (
		limit  int
		asJSON bool
	)
	c := &cobra.Command{Use: "search SEARCH_TERM", Short: "Search for a package in Builder", Args: cobra.ExactArgs(1),
		Long: "Prints the packages of the depot that match SEARCH_TERM, one identifier a line, at most --limit of them. With --json, " +
			`one JSON object: {"total": the number of matches, "packages": [the identifiers shown]}.`}
	s := a.bldrFlags(c)
	c.Flags().IntVarP(&limit, "limit", "l", 50, "Limit how many packages to retrieve")
	c.Flags().BoolVarP(&asJSON, "json", "j", false, "Output JSON")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if limit < 1 {
			return usageError("--limit must be at least 1")
		}
		cl, err := a.bldrClient(s, false)
		if err != nil {
			return err
		}
		found, total, err := cl.Search(cmd.Context(), args[0], limit)
		if err != nil {
			return err
		}
		if asJSON {
			out := []string{}
			for _, id := range found {
				out = append(out, id.String())
			}
			return keysWriteJSON(a.stdout, map[string]any{"total": total, "packages": out})
		}
		if len(found) == 0 {
			fmt.Fprintln(a.stdout, "No packages found that match '"+args[0]+"'")
			return nil
		}
		for _, id := range found {
			fmt.Fprintln(a.stdout, id)
		}
		if total > len(found) {
			fmt.Fprintf(a.stdout, "Search returned too many items, only showing the first %d of %d\n", len(found), total)
		}
		return nil
	}
	return c
}

func (a *app) pkgDeleteCmd() *cobra.Command {
	c := &cobra.Command{Use: "delete PKG_IDENT [PKG_TARGET]", Short: "Removes a package from Builder", Args: cobra.RangeArgs(1, 2)}
	s := a.bldrFlags(c)
	c.RunE = func(cmd *cobra.Command, args []string) error {
		id, t, err := a.fqIdentAndTarget(args[0], args[1:])
		if err != nil {
			return err
		}
		cl, err := a.bldrClient(s, true)
		if err != nil {
			return err
		}
		a.say("»", "Deleting %s (%s) from the depot.", id, t)
		if err := cl.DeletePackage(cmd.Context(), id, t); err != nil {
			return err
		}
		a.say("✓", "Deleted %s (%s).", id, t)
		return nil
	}
	return c
}
