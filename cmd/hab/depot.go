package main

import (
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/spf13/cobra"

	"github.com/habgo/hab/depot"
	"github.com/habgo/hab/depot/server"
)

// depotDataDir is where a depot keeps its data by default, under FS_ROOT.
func (a *app) depotDataDir() string { return a.root.Join("hab", "svc", "depot", "data") }

func (a *app) depotCmd() *cobra.Command {
	d := &cobra.Command{Use: "depot", Short: "Run a package depot speaking Habitat Builder's API", Args: cobra.NoArgs, RunE: groupHelp}
	var opts depot.Options
	addStorage := func(c *cobra.Command) {
		c.Flags().StringVar(&opts.DataDir, "data", "", "data directory (default /hab/svc/depot/data under FS_ROOT)")
		c.Flags().StringVar(&opts.DatabaseURL, "database-url", "", "PostgreSQL URL (postgres://...); default an embedded database in the data directory")
	}

	var listen string
	serve := &cobra.Command{
		Use:   "serve",
		Short: "Serve the depot's HTTP API until SIGTERM or Ctrl-C",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.MaxUploadSize < 0 {
				return usageError("--max-upload-size %d: a number of bytes (0: no limit)", opts.MaxUploadSize)
			}
			if opts.DataDir == "" {
				opts.DataDir = a.depotDataDir()
			}
			opts.Log = slog.New(slog.NewJSONHandler(a.stderr, nil))
			l, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("depot: listen on %s: %w", listen, err)
			}
			defer l.Close()
			if opts.DevAuth {
				if err := server.DevAuthListeners(l); err != nil {
					return fmt.Errorf("depot: %w", err)
				}
			}
			dp, err := depot.Open(cmd.Context(), opts)
			if err != nil {
				return fmt.Errorf("depot: %w", err)
			}
			defer dp.Close()
			fmt.Fprintf(a.stdout, "depot: serving on http://%s (data %s)\n", l.Addr(), opts.DataDir)
			return dp.Server.Serve(cmd.Context(), 30*time.Second, l)
		},
	}
	addStorage(serve)
	serve.Flags().StringVar(&listen, "listen", "0.0.0.0:9636", "address to listen on")
	serve.Flags().StringVar(&opts.BlobURL, "blob-url", "", "where package files go: a directory, file:///DIR, or S3 storage s3://KEY:SECRET@HOST/BUCKET[/PREFIX] (s3+http:// without TLS); default DATA/blobs")
	serve.Flags().BoolVar(&opts.DevAuth, "dev-auth", false, "accept 'Authorization: Bearer NAME' as account NAME (loopback listeners only)")
	serve.Flags().Int64Var(&opts.MaxUploadSize, "max-upload-size", 2<<30, "largest package accepted, in bytes (0: no limit)")

	token := &cobra.Command{Use: "token", Short: "Access tokens of depot accounts", Args: cobra.NoArgs, RunE: groupHelp}
	var account string
	create := &cobra.Command{
		Use:   "create --account NAME",
		Short: "Create (or replace) the access token of an account, creating the account; prints the token",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if account == "" {
				return usageError("hab depot token create: --account NAME is required")
			}
			if opts.DataDir == "" {
				opts.DataDir = a.depotDataDir()
			}
			st, err := depot.OpenStore(cmd.Context(), opts)
			if err != nil {
				return fmt.Errorf("depot: %w", err)
			}
			defer st.Close()
			tok, err := server.IssueToken(cmd.Context(), st, account)
			if err != nil {
				return fmt.Errorf("depot token create: %w", err)
			}
			fmt.Fprintln(a.stdout, tok)
			return nil
		},
	}
	addStorage(create)
	create.Flags().StringVar(&account, "account", "", "account name")
	token.AddCommand(create)
	d.AddCommand(serve, token)
	return d
}
