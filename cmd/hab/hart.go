package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/habgo/hab/core/atomicfile"
	"github.com/habgo/hab/core/cliconfig"
	"github.com/habgo/hab/core/hart"
	"github.com/habgo/hab/core/ident"
)

// addHartCommands adds the artifact commands: sign, verify, header, hash.
// (hab pkg info belongs to the store commands.)
func (a *app) addHartCommands(pkg *cobra.Command) {
	pkg.AddCommand(a.pkgSignCmd(), a.pkgVerifyCmd(), a.pkgHeaderCmd(), a.pkgHashCmd())
}

func (a *app) pkgSignCmd() *cobra.Command {
	var origin string
	c := &cobra.Command{
		Use:   "sign [--origin ORIGIN] SOURCE DEST",
		Short: "Signs an archive with an origin key, generating a Habitat Artifact",
		Long: "Signs SOURCE, an xz-compressed tar of a package (ex: /home/acme-redis-3.0.7-21120102031201.tar.xz), " +
			"with the newest secret signing key of ORIGIN (default $HAB_ORIGIN) from the key cache, and writes the " +
			"Habitat Artifact DEST (ex: /home/acme-redis-3.0.7-21120102031201-x86_64-linux.hart).",
		Args: cobra.ExactArgs(2),
	}
	c.Flags().StringVar(&origin, "origin", "", "`ORIGIN` key used to create signature (default $HAB_ORIGIN, else the origin of cli.toml)")
	cache := a.keyCacheFlag(c)
	c.RunE = func(cmd *cobra.Command, args []string) error {
		src, dst := args[0], args[1]
		if origin == "" {
			// As the original: $HAB_ORIGIN, then cli.toml's origin.
			o, err := cliconfig.DefaultOrigin(a.getenv, a.root)
			if errors.Is(err, cliconfig.ErrNoOrigin) {
				return usageError("no origin to sign with: pass --origin ORIGIN, set HAB_ORIGIN or run hab setup")
			}
			if err != nil {
				return usageError("%v", err)
			}
			origin = o
		}
		if !ident.ValidOrigin(origin) {
			return usageError("invalid origin %q", origin)
		}
		key, err := cache().LatestSigningSecretKey(origin)
		if err != nil {
			return fmt.Errorf("sign %s: %w", src, err)
		}
		in, err := os.Open(src)
		if err != nil {
			return fmt.Errorf("sign: %w", err)
		}
		defer in.Close()
		fmt.Fprintf(a.stdout, "» Signing %s\n", src)
		fmt.Fprintf(a.stdout, "☛ Signing %s with %s to create %s\n", src, key.NamedRevision, dst)
		err = atomicfile.Create(dst, 0o644, func(f *os.File) error {
			return hart.Sign(cmd.Context(), in, f, key)
		})
		if err != nil {
			return fmt.Errorf("sign %s: %w", src, err)
		}
		fmt.Fprintf(a.stdout, "★ Signed artifact %s.\n", dst)
		return nil
	}
	return c
}

func (a *app) pkgVerifyCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "verify SOURCE",
		Short: "Verifies a Habitat Artifact with an origin key",
		Long: "Verifies the signature of the Habitat Artifact SOURCE (ex: /home/acme-redis-3.0.7-21120102031201-x86_64-linux.hart) " +
			"with the public origin key named in its header, found in the key cache.",
		Args: cobra.ExactArgs(1),
	}
	cache := a.keyCacheFlag(c)
	c.RunE = func(cmd *cobra.Command, args []string) error {
		src := args[0]
		fmt.Fprintf(a.stdout, "» Verifying artifact %s\n", src)
		h, err := hart.Verify(cmd.Context(), src, cache())
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "✓ Verified checksum %s signed with %s\n", h.SignedDigest(), h.KeyName)
		fmt.Fprintf(a.stdout, "★ Verified artifact %s.\n", src)
		return nil
	}
	return c
}

// hartHeaderJSON is what `hab pkg header --json` prints.
type hartHeaderJSON struct {
	Package       string `json:"package"`
	FormatVersion string `json:"format_version"`
	KeyName       string `json:"key_name"`
	HashType      string `json:"hash_type"`
	Signature     string `json:"signature"`
}

func (a *app) pkgHeaderCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "header SOURCE",
		Short: "Returns the Habitat Artifact header",
		Long:  "Prints the header of the Habitat Artifact SOURCE (ex: /home/acme-redis-3.0.7-21120102031201-x86_64-linux.hart) without verifying it.",
		Args:  cobra.ExactArgs(1),
	}
	c.Flags().BoolVarP(&asJSON, "json", "j", false, "Output will be rendered in json")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		src := args[0]
		h, err := hart.ReadHeaderFile(cmd.Context(), src)
		if err != nil {
			return err
		}
		if asJSON {
			enc := json.NewEncoder(a.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(hartHeaderJSON{src, h.Format, h.KeyName, h.HashType, h.EncodedSignature()})
		}
		fmt.Fprintf(a.stdout, "» Reading package header for %s\n\n", src)
		fmt.Fprintf(a.stdout, "Package        : %s\n", src)
		fmt.Fprintf(a.stdout, "Format Version : %s\n", h.Format)
		fmt.Fprintf(a.stdout, "Key Name       : %s\n", h.KeyName)
		fmt.Fprintf(a.stdout, "Hash Type      : %s\n", h.HashType)
		fmt.Fprintf(a.stdout, "Raw Signature  : %s\n", h.EncodedSignature())
		return nil
	}
	return c
}

func (a *app) pkgHashCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "hash [SOURCE]",
		Short: "Generates a blake2b hashsum from a target at any given filepath",
		Long: "Prints the hex BLAKE2b-256 digest of SOURCE, followed by two spaces and its path. " +
			"Without SOURCE, reads file paths from standard input, one per line, and prints a line for each.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				return a.hartHashOne(cmd.Context(), args[0])
			}
			sc := bufio.NewScanner(a.stdin)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				name := strings.TrimRight(sc.Text(), " \t\r")
				if name == "" {
					continue
				}
				if err := a.hartHashOne(cmd.Context(), name); err != nil {
					return err
				}
			}
			if err := sc.Err(); err != nil {
				return fmt.Errorf("read file names from standard input: %w", err)
			}
			return nil
		},
	}
}

func (a *app) hartHashOne(ctx context.Context, path string) error {
	h, err := hart.Hash(ctx, path)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "%s  %s\n", h, path)
	return nil
}

// xzChoice is the xz implementation $HAB_XZ asks for ("go", "exec", or
// auto when unset), read here at the edge: the libraries take the value.
func (a *app) xzChoice() (hart.XZ, error) {
	return hart.ParseXZ(a.getenv(hart.EnvXZ))
}
