package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/habgo/hab/core/cliconfig"
	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/svcgroup"
)

// addKeyCommands adds origin, ring, service and user key commands and setup.
func (a *app) addKeyCommands(root, origin, ring, svc, user *cobra.Command) {
	originKey := keyGroup("Commands relating to Habitat origin key maintenance")
	originKey.AddCommand(a.originKeyGenerateCmd(), a.originKeyExportCmd(), a.originKeyImportCmd())
	origin.AddCommand(originKey)

	ringKey := keyGroup("Commands relating to Habitat ring keys")
	ringKey.AddCommand(a.ringKeyGenerateCmd(), a.ringKeyExportCmd(), a.ringKeyImportCmd())
	ring.AddCommand(ringKey)

	svcKey := keyGroup("Commands relating to Habitat service keys")
	svcKey.AddCommand(a.svcKeyGenerateCmd())
	svc.AddCommand(svcKey)

	userKey := keyGroup("Commands relating to Habitat user keys")
	userKey.AddCommand(a.userKeyGenerateCmd())
	user.AddCommand(userKey)

	root.AddCommand(a.setupCmd())
}

func keyGroup(short string) *cobra.Command {
	return &cobra.Command{Use: "key", Short: short, Args: cobra.NoArgs, RunE: groupHelp}
}

// keyCacheFlag adds --cache-key-path, as every key command of the original
// has, and returns a function resolving the cache: the flag, else
// HAB_CACHE_KEY_PATH, else the default cache of this user.
func (a *app) keyCacheFlag(c *cobra.Command) func() crypto.Cache {
	var dir string
	c.Flags().StringVar(&dir, "cache-key-path", "", "Cache (`PATH`) for creating and searching for encryption keys (default /hab/cache/keys as root, else ~/.hab/cache/keys)")
	a.envFlag(c, "cache-key-path", "HAB_CACHE_KEY_PATH")
	return func() crypto.Cache {
		if dir != "" {
			return crypto.Cache{Dir: dir}
		}
		return crypto.Cache{Dir: a.root.Keys()}
	}
}

// keyMsgBegin and keyMsgEnd print the original's progress lines on stdout:
// "» doing something" and "★ done".
func keyMsgBegin(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "» "+format+"\n", args...)
}

func keyMsgEnd(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "★ "+format+"\n", args...)
}

// keyJSON is what --json prints for each generated or imported key.
type keyJSON struct {
	Type        string `json:"type"`
	Name        string `json:"name"`
	Revision    string `json:"revision"`
	NameWithRev string `json:"name_with_rev"`
	Path        string `json:"path"`
}

func keyJSONOf(kf *crypto.KeyFile, path string) keyJSON {
	return keyJSON{Type: kf.Type.String(), Name: kf.Name, Revision: kf.Revision, NameWithRev: kf.NamedRevision.String(), Path: path}
}

func keysWriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (a *app) originKeyGenerateCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "generate [ORIGIN]",
		Short: "Generates a Habitat origin key pair",
		Long: "Generates a Habitat origin signing key pair (ORIGIN-REVISION.pub and ORIGIN-REVISION.sig.key) in the key cache.\n" +
			"ORIGIN defaults to $HAB_ORIGIN, then to the origin in cli.toml (see hab setup).",
		Args: cobra.MaximumNArgs(1),
	}
	cache := a.keyCacheFlag(c)
	c.Flags().BoolVar(&asJSON, "json", false, "Print the generated keys as JSON")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		var origin string
		if len(args) == 1 {
			origin = args[0]
			if !ident.ValidOrigin(origin) {
				return usageError("invalid origin name %q: origins are lowercase letters, digits, _ and -, starting with a letter or digit, at most 255 characters", origin)
			}
		} else {
			o, err := cliconfig.DefaultOrigin(a.getenv, a.root)
			if errors.Is(err, cliconfig.ErrNoOrigin) {
				return usageError("%v", err)
			}
			if err != nil {
				return err
			}
			origin = o
		}
		if !asJSON {
			keyMsgBegin(a.stdout, "Generating origin key for %s", origin)
		}
		kc := cache()
		pub, sec, err := kc.NewSigningPair(origin, time.Now())
		if err != nil {
			return fmt.Errorf("generate origin key for %s: %w", origin, err)
		}
		if asJSON {
			p, s := pub.KeyFile(), sec.KeyFile()
			return keysWriteJSON(a.stdout, []keyJSON{keyJSONOf(p, kc.Path(p.Type, p.NamedRevision)), keyJSONOf(s, kc.Path(s.Type, s.NamedRevision))})
		}
		keyMsgEnd(a.stdout, "Generated origin key pair %s.", pub.NamedRevision)
		return nil
	}
	return c
}

func (a *app) originKeyExportCmd() *cobra.Command {
	var keyType string
	c := &cobra.Command{
		Use:   "export ORIGIN",
		Short: "Outputs the latest origin key contents to stdout",
		Long:  "Outputs the latest revision of ORIGIN's public (default) or secret signing key, in key file format, to stdout.",
		Args:  cobra.ExactArgs(1),
	}
	cache := a.keyCacheFlag(c)
	c.Flags().StringVarP(&keyType, "type", "t", "public", "Export either the 'public' or 'secret' key. The 'secret' key is the origin private key")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		origin := args[0]
		if !ident.ValidOrigin(origin) {
			return usageError("invalid origin name %q", origin)
		}
		var kt crypto.KeyType
		switch keyType {
		case "public":
			kt = crypto.SigPublic
		case "secret":
			kt = crypto.SigSecret
		default:
			return usageError("invalid value %q for --type: expected public or secret", keyType)
		}
		kf, err := cache().Latest(kt, origin)
		if err != nil {
			return fmt.Errorf("export %s origin key for %s: %w", keyType, origin, err)
		}
		_, err = a.stdout.Write(kf.Encode())
		return err
	}
	return c
}

func (a *app) originKeyImportCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "import",
		Short: "Reads a stdin stream containing a public or private origin key contents and writes the key to disk",
		Long: "Reads origin signing keys (SIG-PUB-1 or SIG-SEC-1) from stdin and writes them to the key cache under their canonical names.\n" +
			"Several keys may follow one another (such as a public key and its secret key); all are imported or none.\n" +
			"Importing a key that is already in the cache is fine; a different key under the same name is refused.",
		Args: cobra.NoArgs,
	}
	cache := a.keyCacheFlag(c)
	c.Flags().BoolVar(&asJSON, "json", false, "Print the imported keys as JSON")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		return a.importKeys(cache(), "origin", "an origin signing key (SIG-PUB-1 or SIG-SEC-1)", asJSON, crypto.SigPublic, crypto.SigSecret)
	}
	return c
}

// importKeys reads keys from stdin, refuses any of another type than
// allowed, and stores all of them or none.
func (a *app) importKeys(kc crypto.Cache, kind, want string, asJSON bool, allowed ...crypto.KeyType) error {
	if !asJSON {
		keyMsgBegin(a.stdout, "Importing %s key from standard input", kind)
	}
	data, err := io.ReadAll(a.stdin)
	if err != nil {
		return fmt.Errorf("import %s key: read standard input: %w", kind, err)
	}
	kfs, err := crypto.ParseKeyFiles(data, "standard input")
	if err != nil {
		return fmt.Errorf("import %s key: %w", kind, err)
	}
	for _, kf := range kfs {
		ok := false
		for _, t := range allowed {
			ok = ok || kf.Type == t
		}
		if !ok {
			return fmt.Errorf("import %s key: standard input holds %s key %s, which is not %s", kind, kf.Type, kf.NamedRevision, want)
		}
	}
	paths, err := kc.Import(kfs...)
	if err != nil {
		return fmt.Errorf("import %s key: %w", kind, err)
	}
	if asJSON {
		out := make([]keyJSON, len(kfs))
		for i, kf := range kfs {
			out[i] = keyJSONOf(kf, paths[i])
		}
		return keysWriteJSON(a.stdout, out)
	}
	for _, kf := range kfs {
		switch kf.Type {
		case crypto.SigPublic:
			keyMsgEnd(a.stdout, "Imported public origin key %s", kf.NamedRevision)
		case crypto.SigSecret:
			keyMsgEnd(a.stdout, "Imported secret origin key %s", kf.NamedRevision)
		default:
			keyMsgEnd(a.stdout, "Imported %s key %s.", kind, kf.NamedRevision)
		}
	}
	return nil
}

func (a *app) ringKeyGenerateCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "generate RING",
		Short: "Generates a Habitat ring key",
		Long:  "Generates a ring key (RING-REVISION.sym.key) in the key cache: the symmetric key Supervisors of a ring share to encrypt their gossip.",
		Args:  cobra.ExactArgs(1),
	}
	cache := a.keyCacheFlag(c)
	c.Flags().BoolVar(&asJSON, "json", false, "Print the generated key as JSON")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		ring := args[0]
		if err := crypto.ValidKeyName(ring); err != nil {
			return usageError("invalid ring name: %v", err)
		}
		if !asJSON {
			keyMsgBegin(a.stdout, "Generating ring key for %s", ring)
		}
		kc := cache()
		k, err := kc.NewRingKey(ring, time.Now())
		if err != nil {
			return fmt.Errorf("generate ring key for %s: %w", ring, err)
		}
		if asJSON {
			kf := k.KeyFile()
			return keysWriteJSON(a.stdout, []keyJSON{keyJSONOf(kf, kc.Path(kf.Type, kf.NamedRevision))})
		}
		keyMsgEnd(a.stdout, "Generated ring key %s.", k.NamedRevision)
		return nil
	}
	return c
}

func (a *app) ringKeyExportCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "export RING",
		Short: "Outputs the latest ring key contents to stdout",
		Args:  cobra.ExactArgs(1),
	}
	cache := a.keyCacheFlag(c)
	c.RunE = func(cmd *cobra.Command, args []string) error {
		kf, err := cache().Latest(crypto.SymSecret, args[0])
		if err != nil {
			return fmt.Errorf("export ring key %s: %w", args[0], err)
		}
		_, err = a.stdout.Write(kf.Encode())
		return err
	}
	return c
}

func (a *app) ringKeyImportCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "import",
		Short: "Reads a stdin stream containing ring key contents and writes the key to disk",
		Args:  cobra.NoArgs,
	}
	cache := a.keyCacheFlag(c)
	c.Flags().BoolVar(&asJSON, "json", false, "Print the imported key as JSON")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		return a.importKeys(cache(), "ring", "a ring key (SYM-SEC-1)", asJSON, crypto.SymSecret)
	}
	return c
}

func (a *app) svcKeyGenerateCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "generate SERVICE_GROUP [ORG]",
		Short: "Generates a Habitat service key",
		Long: "Generates a service group's box key pair (SERVICE.GROUP@ORG-REVISION.pub and .box.key) in the key cache.\n\n" +
			"SERVICE_GROUP is service.group[@organization] (ex: redis.default or foo.default@bazcorp).\n" +
			"ORG is the service organization; it defaults to the @organization of SERVICE_GROUP, then to $HAB_ORG, then to $HABITAT_ORG.",
		Args: cobra.RangeArgs(1, 2),
	}
	cache := a.keyCacheFlag(c)
	c.Flags().BoolVar(&asJSON, "json", false, "Print the generated keys as JSON")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		sg, err := svcgroup.Parse(args[0])
		if err != nil {
			return usageError("%v", err)
		}
		group, org := sg.Name(), sg.Organization
		if len(args) == 2 {
			if org != "" && org != args[1] {
				return usageError("service group %q names organization %q but ORG is %q", args[0], org, args[1])
			}
			org = args[1]
		}
		for _, e := range []string{"HAB_ORG", "HABITAT_ORG"} {
			if org == "" {
				org = a.getenv(e)
			}
		}
		if org == "" {
			return usageError("no organization specified: give ORG, write SERVICE_GROUP as service.group@org, or set HAB_ORG")
		}
		if err := svcgroup.CheckOrganization(org); err != nil {
			return usageError("%v", err)
		}
		if !asJSON {
			keyMsgBegin(a.stdout, "Generating service key for %s in %s", group, org)
		}
		kc := cache()
		pub, sec, err := kc.NewBoxPair(crypto.ServiceKeyName(group, org), time.Now())
		if err != nil {
			return fmt.Errorf("generate service key for %s in %s: %w", group, org, err)
		}
		if asJSON {
			p, s := pub.KeyFile(), sec.KeyFile()
			return keysWriteJSON(a.stdout, []keyJSON{keyJSONOf(p, kc.Path(p.Type, p.NamedRevision)), keyJSONOf(s, kc.Path(s.Type, s.NamedRevision))})
		}
		keyMsgEnd(a.stdout, "Generated service key pair %s.", pub.NamedRevision)
		return nil
	}
	return c
}

func (a *app) userKeyGenerateCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "generate USER",
		Short: "Generates a Habitat user key",
		Long:  "Generates a user's box key pair (USER-REVISION.pub and .box.key) in the key cache, used to encrypt messages for service groups.",
		Args:  cobra.ExactArgs(1),
	}
	cache := a.keyCacheFlag(c)
	c.Flags().BoolVar(&asJSON, "json", false, "Print the generated keys as JSON")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		user := args[0]
		if err := crypto.ValidKeyName(user); err != nil {
			return usageError("invalid user name: %v", err)
		}
		if !asJSON {
			keyMsgBegin(a.stdout, "Generating user key for %s", user)
		}
		kc := cache()
		pub, sec, err := kc.NewBoxPair(user, time.Now())
		if err != nil {
			return fmt.Errorf("generate user key for %s: %w", user, err)
		}
		if asJSON {
			p, s := pub.KeyFile(), sec.KeyFile()
			return keysWriteJSON(a.stdout, []keyJSON{keyJSONOf(p, kc.Path(p.Type, p.NamedRevision)), keyJSONOf(s, kc.Path(s.Type, s.NamedRevision))})
		}
		keyMsgEnd(a.stdout, "Generated user encryption key pair %s.", pub.NamedRevision)
		return nil
	}
	return c
}
