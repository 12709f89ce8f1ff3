package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/habgo/hab/exporters/aci"
)

func (a *app) exportACICmd() *cobra.Command {
	var (
		src             exportSource
		signKey, outDir string
	)
	c := &cobra.Command{
		Use:   "aci [FLAGS] <PKG_IDENT_OR_ARTIFACT>",
		Short: "Creates an App Container Image (appc), unsigned unless SIGN=true",
		Long: "Writes ORIGIN-NAME-VERSION-RELEASE.aci (manifest and rootfs). With SIGN=true it also writes a detached ASCII-armoured " +
			"OpenPGP signature, .aci.asc, made with the secret key in --sign-key (default $SIGN_KEY: a file from " +
			"`gpg --export-secret-keys --armor`; its passphrase in $SIGN_PASSPHRASE).",
		Args: cobra.ExactArgs(1),
	}
	a.exportSourceFlags(c, &src)
	c.Flags().StringVar(&signKey, "sign-key", "", "ASCII-armoured OpenPGP secret key that signs the image when SIGN=true (default $SIGN_KEY)")
	c.Flags().StringVar(&outDir, "output-dir", "results", "Directory the image is written to (the original's $HAB_RESULTS_DIR)")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		req := aci.Request{Arg: args[0], OutDir: outDir, WorkDir: os.TempDir()}
		if !c.Flags().Changed("output-dir") && a.getenv("HAB_RESULTS_DIR") != "" {
			req.OutDir = a.getenv("HAB_RESULTS_DIR")
		}
		if sign := a.getenv("SIGN"); sign != "" && sign != "false" && sign != "0" {
			if signKey == "" {
				signKey = a.getenv("SIGN_KEY")
			}
			if signKey == "" {
				return usageError("SIGN=%s: give the secret key with --sign-key or SIGN_KEY (gpg --export-secret-keys --armor)", sign)
			}
			key, err := os.ReadFile(signKey)
			if err != nil {
				return fmt.Errorf("read signing key: %w", err)
			}
			req.SignKey, req.Passphrase = key, []byte(a.getenv("SIGN_PASSPHRASE"))
		}
		g, done, err := a.gatherOptions(&src)
		if err != nil {
			return err
		}
		defer done()
		req.Gather = g
		if req.Image, err = a.imageOptions(); err != nil {
			return err
		}
		res, err := aci.Export(cmd.Context(), req)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "★ Wrote %s\n", res.ACI)
		if res.Signature != "" {
			fmt.Fprintf(a.stdout, "★ Wrote %s\n", res.Signature)
		}
		return nil
	}
	return c
}
