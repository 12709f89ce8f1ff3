package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/depot/client"
)

// addOriginDepotCommands adds the depot's origin commands to hab origin
// (and upload/download to hab origin key).
func (a *app) addOriginDepotCommands(origin *cobra.Command) {
	origin.AddCommand(
		a.originCreateCmd(),
		a.originSimpleCmd("delete", "Removes an unused/empty origin", "Deleting", "Deleted", func(c *client.Client, cmd *cobra.Command, o string) error {
			return c.DeleteOrigin(cmd.Context(), o)
		}),
		a.originSimpleCmd("depart", "Departs membership from selected origin", "Departing from", "Departed from", func(c *client.Client, cmd *cobra.Command, o string) error {
			return c.DepartOrigin(cmd.Context(), o)
		}),
		a.originInfoCmd(),
		a.originTransferCmd(),
		a.originInvitationsCmd(),
		a.originRbacCmd(),
		a.originSecretCmd(),
	)
	for _, sub := range origin.Commands() {
		if sub.Name() == "key" {
			sub.AddCommand(a.originKeyUploadCmd(), a.originKeyDownloadCmd())
		}
	}
}

// originArg validates an ORIGIN argument.
func originArg(s string) (string, error) {
	if !ident.ValidOrigin(s) {
		return "", usageError("invalid origin name %q (lowercase letters, digits, _ and -, starting with a letter or digit)", s)
	}
	return s, nil
}

func (a *app) originCreateCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{Use: "create ORIGIN", Short: "Creates a new Builder origin", Args: cobra.ExactArgs(1)}
	s := a.bldrFlags(c)
	c.Flags().BoolVarP(&asJSON, "json", "j", false, "Output the created origin as JSON")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		o, cl, err := a.originClient(args[0], s, true)
		if err != nil {
			return err
		}
		if !asJSON {
			a.say("»", "Creating origin %s.", o)
		}
		created, err := cl.CreateOrigin(cmd.Context(), o, "")
		if client.Status(err) == 409 {
			// As the original: an origin that exists is skipped, not an
			// error (scripts create theirs on every run).
			if asJSON {
				info, err := cl.Origin(cmd.Context(), o)
				if err != nil {
					return err
				}
				return keysWriteJSON(a.stdout, info)
			}
			a.say("→", "Skipping creation of origin %s. Origin already exists!", o)
			return nil
		}
		if err != nil {
			return err
		}
		if asJSON {
			return keysWriteJSON(a.stdout, created)
		}
		a.say("✓", "Created origin %s.", o)
		return nil
	}
	return c
}

// originSimpleCmd is a command on one ORIGIN with no answer to print.
func (a *app) originSimpleCmd(use, short, doing, done string, fn func(*client.Client, *cobra.Command, string) error) *cobra.Command {
	c := &cobra.Command{Use: use + " ORIGIN", Short: short, Args: cobra.ExactArgs(1)}
	s := a.bldrFlags(c)
	c.RunE = func(cmd *cobra.Command, args []string) error {
		o, cl, err := a.originClient(args[0], s, true)
		if err != nil {
			return err
		}
		a.say("»", "%s origin %s.", doing, o)
		if err := fn(cl, cmd, o); err != nil {
			return err
		}
		a.say("✓", "%s origin %s.", done, o)
		return nil
	}
	return c
}

func (a *app) originInfoCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{Use: "info ORIGIN", Short: "Displays general information about an origin", Args: cobra.ExactArgs(1),
		Long: "Prints the origin's name, owner, newest private key and default package visibility. With --json, the depot's origin " +
			`object: {"name", "owner_id", "owner_account", "private_key_name", "default_package_visibility", "created_at", "updated_at"}.`}
	s := a.bldrFlags(c)
	c.Flags().BoolVarP(&asJSON, "json", "j", false, "Output JSON")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		o, cl, err := a.originClient(args[0], s, false)
		if err != nil {
			return err
		}
		info, err := cl.Origin(cmd.Context(), o)
		if err != nil {
			return err
		}
		if asJSON {
			return keysWriteJSON(a.stdout, info)
		}
		key := "none"
		if info.PrivateKeyName != nil && *info.PrivateKeyName != "" {
			key = *info.PrivateKeyName
		}
		fmt.Fprintf(a.stdout, "Origin [%s]:\n  Owner Id: %s\n  Owner: %s\n  Private Key: %s\n  Default Package Visibility: %s\n", info.Name, info.OwnerID, info.OwnerAccount, key, info.DefaultPackageVisibility)
		return nil
	}
	return c
}

func (a *app) originTransferCmd() *cobra.Command {
	c := &cobra.Command{Use: "transfer ORIGIN NEW_OWNER_ACCOUNT", Short: "Transfers ownership of an origin to another member of that origin", Args: cobra.ExactArgs(2)}
	s := a.bldrFlags(c)
	c.RunE = func(cmd *cobra.Command, args []string) error {
		o, cl, err := a.originClient(args[0], s, true)
		if err != nil {
			return err
		}
		a.say("»", "Transferring ownership of origin %s to %s.", o, args[1])
		if err := cl.TransferOrigin(cmd.Context(), o, args[1]); err != nil {
			return err
		}
		a.say("✓", "Transferred ownership of origin %s to %s.", o, args[1])
		return nil
	}
	return c
}

func (a *app) originInvitationsCmd() *cobra.Command {
	g := &cobra.Command{Use: "invitations", Short: "Manage origin member invitations", Args: cobra.NoArgs, RunE: groupHelp}

	byID := func(use, short, doing, done string, fn func(*client.Client, *cobra.Command, string, uint64) error) *cobra.Command {
		c := &cobra.Command{Use: use + " ORIGIN INVITATION_ID", Short: short, Args: cobra.ExactArgs(2)}
		s := a.bldrFlags(c)
		c.RunE = func(cmd *cobra.Command, args []string) error {
			o, err := originArg(args[0])
			if err != nil {
				return err
			}
			id, err := strconv.ParseUint(args[1], 10, 64)
			if err != nil {
				return usageError("invalid invitation id %q: a number", args[1])
			}
			cl, err := a.bldrClient(s, true)
			if err != nil {
				return err
			}
			a.say("»", "%s invitation %d in origin %s.", doing, id, o)
			if err := fn(cl, cmd, o, id); err != nil {
				return err
			}
			a.say("✓", "%s invitation %d in origin %s.", done, id, o)
			return nil
		}
		return c
	}
	accept := byID("accept", "Accept an origin member invitation", "Accepting", "Accepted", func(c *client.Client, cmd *cobra.Command, o string, id uint64) error {
		return c.AcceptInvitation(cmd.Context(), o, id)
	})
	ignore := byID("ignore", "Ignore an origin member invitation", "Ignoring", "Ignored", func(c *client.Client, cmd *cobra.Command, o string, id uint64) error {
		return c.IgnoreInvitation(cmd.Context(), o, id)
	})
	rescind := byID("rescind", "Rescind an existing origin member invitation", "Rescinding", "Rescinded", func(c *client.Client, cmd *cobra.Command, o string, id uint64) error {
		return c.RescindInvitation(cmd.Context(), o, id)
	})

	printInvitations := func(asJSON bool, l []client.Invitation, header string) error {
		if asJSON {
			if l == nil {
				l = []client.Invitation{}
			}
			return keysWriteJSON(a.stdout, l)
		}
		fmt.Fprintln(a.stdout, header)
		for _, inv := range l {
			fmt.Fprintf(a.stdout, "  Id: %s, Origin: %s, Account: %s\n", inv.ID, inv.Origin, inv.AccountName)
		}
		return nil
	}
	var listJSON bool
	list := &cobra.Command{Use: "list", Short: "List origin invitations sent to your account", Args: cobra.NoArgs}
	ls := a.bldrFlags(list)
	list.Flags().BoolVarP(&listJSON, "json", "j", false, "Output JSON")
	list.RunE = func(cmd *cobra.Command, _ []string) error {
		cl, err := a.bldrClient(ls, true)
		if err != nil {
			return err
		}
		l, err := cl.UserInvitations(cmd.Context())
		if err != nil {
			return err
		}
		return printInvitations(listJSON, l, fmt.Sprintf("Invitations for your account (%d):", len(l)))
	}
	var pendingJSON bool
	pending := &cobra.Command{Use: "pending ORIGIN", Short: "List pending invitations for a particular origin", Args: cobra.ExactArgs(1)}
	ps := a.bldrFlags(pending)
	pending.Flags().BoolVarP(&pendingJSON, "json", "j", false, "Output JSON")
	pending.RunE = func(cmd *cobra.Command, args []string) error {
		o, cl, err := a.originClient(args[0], ps, true)
		if err != nil {
			return err
		}
		l, err := cl.OriginInvitations(cmd.Context(), o)
		if err != nil {
			return err
		}
		return printInvitations(pendingJSON, l, fmt.Sprintf("Pending invitations for origin %s (%d):", o, len(l)))
	}
	send := &cobra.Command{Use: "send ORIGIN INVITEE_ACCOUNT", Short: "Send an origin member invitation", Args: cobra.ExactArgs(2)}
	ss := a.bldrFlags(send)
	send.RunE = func(cmd *cobra.Command, args []string) error {
		o, cl, err := a.originClient(args[0], ss, true)
		if err != nil {
			return err
		}
		a.say("»", "Sending an invitation to %s for origin %s.", args[1], o)
		inv, err := cl.SendInvitation(cmd.Context(), o, args[1])
		if err != nil {
			return err
		}
		a.say("✓", "Sent invitation %s to %s for origin %s.", inv.ID, args[1], o)
		return nil
	}
	g.AddCommand(accept, ignore, list, pending, rescind, send)
	return g
}

func (a *app) originRbacCmd() *cobra.Command {
	g := &cobra.Command{Use: "rbac", Short: "Role Based Access Control for origin members", Args: cobra.NoArgs, RunE: groupHelp}

	var showOrigin string
	var showJSON bool
	show := &cobra.Command{Use: "show MEMBER_ACCOUNT --origin ORIGIN", Short: "Display an origin member's current role", Args: cobra.ExactArgs(1)}
	ss := a.bldrFlags(show)
	show.Flags().StringVarP(&showOrigin, "origin", "o", "", "The origin name (required)")
	show.Flags().BoolVarP(&showJSON, "json", "j", false, "Output JSON")
	show.RunE = func(cmd *cobra.Command, args []string) error {
		if showOrigin == "" {
			return usageError("--origin ORIGIN is required")
		}
		o, cl, err := a.originClient(showOrigin, ss, true)
		if err != nil {
			return err
		}
		role, err := cl.MemberRole(cmd.Context(), o, args[0])
		if err != nil {
			return err
		}
		if showJSON {
			return keysWriteJSON(a.stdout, map[string]string{"origin": o, "member": args[0], "role": role})
		}
		fmt.Fprintf(a.stdout, "Origin: %s, Member: %s, Role: %s\n", o, args[0], role)
		return nil
	}

	var setOrigin string
	var noPrompt bool
	set := &cobra.Command{Use: "set MEMBER_ACCOUNT ROLE --origin ORIGIN", Short: "Change an origin member's role", Args: cobra.ExactArgs(2)}
	sets := a.bldrFlags(set)
	set.Flags().StringVarP(&setOrigin, "origin", "o", "", "The origin name (required)")
	set.Flags().BoolVarP(&noPrompt, "no-prompt", "n", false, "Do not prompt for confirmation (there is no prompt: accepted for compatibility)")
	set.RunE = func(cmd *cobra.Command, args []string) error {
		if setOrigin == "" {
			return usageError("--origin ORIGIN is required")
		}
		o, err := originArg(setOrigin)
		if err != nil {
			return err
		}
		role, err := client.ParseRole(args[1])
		if err != nil {
			return usageError("%v", err)
		}
		cl, err := a.bldrClient(sets, true)
		if err != nil {
			return err
		}
		a.say("»", "Setting the role of %s in origin %s to %s.", args[0], o, role)
		if err := cl.SetMemberRole(cmd.Context(), o, args[0], role); err != nil {
			return err
		}
		a.say("✓", "Set the role of %s in origin %s to %s.", args[0], o, role)
		return nil
	}
	g.AddCommand(show, set)
	return g
}

func (a *app) originSecretCmd() *cobra.Command {
	g := &cobra.Command{Use: "secret", Short: "Commands related to secret management", Args: cobra.NoArgs, RunE: groupHelp}
	withOrigin := func(c *cobra.Command) (*bldrSettings, *string) {
		s := a.bldrFlags(c)
		o := new(string)
		c.Flags().StringVarP(o, "origin", "o", "", "The origin for which the secret will be used (default $HAB_ORIGIN, else origin in cli.toml)")
		return s, o
	}

	upload := &cobra.Command{Use: "upload KEY_NAME SECRET", Short: "Create and upload a secret for your origin", Long: "Encrypts SECRET for the origin's public encryption key (fetched from the depot) and uploads it as KEY_NAME; the plain value never leaves this machine.", Args: cobra.ExactArgs(2)}
	us, uo := withOrigin(upload)
	upload.RunE = func(cmd *cobra.Command, args []string) error {
		o, cl, err := a.originFlagClient(*uo, us, true)
		if err != nil {
			return err
		}
		a.say("»", "Encrypting and uploading secret %s for origin %s.", args[0], o)
		if err := cl.UploadSecret(cmd.Context(), o, args[0], args[1]); err != nil {
			return err
		}
		a.say("✓", "Uploaded secret %s for origin %s.", args[0], o)
		return nil
	}

	var listJSON bool
	list := &cobra.Command{Use: "list", Short: "List all secrets for your origin", Args: cobra.NoArgs}
	ls, lo := withOrigin(list)
	list.Flags().BoolVarP(&listJSON, "json", "j", false, "Output JSON")
	list.RunE = func(cmd *cobra.Command, _ []string) error {
		o, cl, err := a.originFlagClient(*lo, ls, true)
		if err != nil {
			return err
		}
		l, err := cl.Secrets(cmd.Context(), o)
		if err != nil {
			return err
		}
		if listJSON {
			names := []string{}
			for _, s := range l {
				names = append(names, s.Name)
			}
			return keysWriteJSON(a.stdout, names)
		}
		for _, s := range l {
			fmt.Fprintln(a.stdout, s.Name)
		}
		return nil
	}

	del := &cobra.Command{Use: "delete KEY_NAME", Short: "Delete a secret for your origin", Args: cobra.ExactArgs(1)}
	ds, do := withOrigin(del)
	del.RunE = func(cmd *cobra.Command, args []string) error {
		o, cl, err := a.originFlagClient(*do, ds, true)
		if err != nil {
			return err
		}
		a.say("»", "Deleting secret %s of origin %s.", args[0], o)
		if err := cl.DeleteSecret(cmd.Context(), o, args[0]); err != nil {
			return err
		}
		a.say("✓", "Deleted secret %s of origin %s.", args[0], o)
		return nil
	}
	g.AddCommand(upload, list, del)
	return g
}

func (a *app) originKeyUploadCmd() *cobra.Command {
	var (
		secret           bool
		pubfile, secfile string
	)
	c := &cobra.Command{
		Use:   "upload (ORIGIN | --pubfile PATH)",
		Short: "Upload origin keys to Builder",
		Long:  "Uploads the latest public signing key of ORIGIN from the key cache (and, with --secret, its secret key), or the key files --pubfile (and --secfile).",
		Args:  cobra.MaximumNArgs(1),
	}
	cache := a.keyCacheFlag(c)
	s := a.bldrFlags(c)
	c.Flags().BoolVarP(&secret, "secret", "s", false, "Upload the secret key as well")
	c.Flags().StringVar(&pubfile, "pubfile", "", "Path to a local public origin key file on disk")
	c.Flags().StringVar(&secfile, "secfile", "", "Path to a local secret origin key file on disk")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if (len(args) == 1) == (pubfile != "") {
			return usageError("give exactly one of ORIGIN or --pubfile PATH")
		}
		if secret && pubfile != "" {
			return usageError("--secret goes with ORIGIN; with --pubfile, give --secfile")
		}
		if secfile != "" && len(args) == 1 {
			return usageError("--secfile goes with --pubfile, not with ORIGIN")
		}
		var pub, sec *crypto.KeyFile
		if len(args) == 1 {
			o, err := originArg(args[0])
			if err != nil {
				return err
			}
			if pub, err = cache().Latest(crypto.SigPublic, o); err != nil {
				return fmt.Errorf("upload the public key of origin %s: %w", o, err)
			}
			if secret {
				if sec, err = cache().Read(crypto.SigSecret, pub.NamedRevision); err != nil {
					return fmt.Errorf("upload the secret key of origin %s: %w", o, err)
				}
			}
		} else {
			var err error
			if pub, err = crypto.LoadKeyFile(pubfile); err != nil {
				return err
			}
			if secfile != "" {
				if sec, err = crypto.LoadKeyFile(secfile); err != nil {
					return err
				}
			}
		}
		cl, err := a.bldrClient(s, true)
		if err != nil {
			return err
		}
		a.say("»", "Uploading public origin key %s.", pub.NamedRevision)
		created, err := cl.UploadOriginPublicKey(cmd.Context(), pub)
		if err != nil {
			return err
		}
		if created {
			a.say("✓", "Uploaded public origin key %s.", pub.NamedRevision)
		} else {
			a.say("→", "Using existing public origin key %s.", pub.NamedRevision)
		}
		if sec != nil {
			a.say("»", "Uploading secret origin key %s.", sec.NamedRevision)
			if err := cl.UploadOriginSecretKey(cmd.Context(), sec); err != nil {
				return err
			}
			a.say("✓", "Uploaded secret origin key %s.", sec.NamedRevision)
		}
		return nil
	}
	return c
}

func (a *app) originKeyDownloadCmd() *cobra.Command {
	var secret, encryption bool
	c := &cobra.Command{
		Use:   "download ORIGIN [REVISION]",
		Short: "Download origin key(s)",
		Long:  "Downloads the public signing key revisions of ORIGIN (or REVISION only) into the key cache; with --secret its latest secret signing key, with --encryption its public encryption key. Keys are stored under their own names, whatever the depot calls them.",
		Args:  cobra.RangeArgs(1, 2),
	}
	cache := a.keyCacheFlag(c)
	s := a.bldrFlags(c)
	c.Flags().BoolVarP(&secret, "secret", "s", false, "Download the secret key instead of the public key")
	c.Flags().BoolVarP(&encryption, "encryption", "e", false, "Download the public encryption key instead of the public key")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		o, err := originArg(args[0])
		if err != nil {
			return err
		}
		if secret && encryption {
			return usageError("--secret and --encryption exclude each other")
		}
		cl, err := a.bldrClient(s, secret || encryption)
		if err != nil {
			return err
		}
		ctx := cmd.Context()
		keys := cache()
		store := func(kd *client.KeyDownload, kt crypto.KeyType, rev string) error {
			kf, err := client.ParseDownloadedKey(kd, kt, o, rev)
			if err != nil {
				return err
			}
			p, err := keys.Write(kf)
			if err != nil {
				return err
			}
			a.say("☑", "Cached %s key %s in %s.", kf.Type, kf.NamedRevision, p)
			return nil
		}
		switch {
		case secret:
			a.say("»", "Downloading the latest secret origin key of %s.", o)
			kd, err := cl.OriginSecretKey(ctx, o)
			if err != nil {
				return err
			}
			return store(kd, crypto.SigSecret, "")
		case encryption:
			a.say("»", "Downloading the public encryption key of %s.", o)
			kd, err := cl.OriginEncryptionKey(ctx, o)
			if err != nil {
				return err
			}
			return store(kd, crypto.BoxPublic, "")
		}
		revs := []string{}
		if len(args) == 2 {
			revs = append(revs, args[1])
		} else {
			l, err := cl.OriginKeys(ctx, o)
			if err != nil {
				return err
			}
			for _, k := range l {
				revs = append(revs, k.Revision)
			}
			if len(revs) == 0 {
				return fmt.Errorf("download the keys of origin %s: the depot has none", o)
			}
		}
		a.say("»", "Downloading public origin keys of %s.", o)
		for _, rev := range revs {
			kd, err := cl.OriginPublicKey(ctx, o, rev)
			if err != nil {
				return err
			}
			if err := store(kd, crypto.SigPublic, rev); err != nil {
				return err
			}
		}
		a.say("★", "Download of %s public origin keys completed.", o)
		return nil
	}
	return c
}
