package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/habgo/hab/sup/manager"
	"github.com/habgo/hab/sup/supportbundle"
)

// reportTimeout bounds each question a support bundle asks the running
// supervisor, so that a hung one still gives a bundle.
const reportTimeout = 10 * time.Second

// supportBundleCmd is hab supportbundle: a tarball, in the current
// directory, of what helps someone debug this machine's supervisor.
func (a *app) supportBundleCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "supportbundle",
		Short: "Create a tarball of Habitat Supervisor data to send to support",
		Long: "Writes support-bundle-HOST-TIME.tar.gz into the current directory: the Supervisor's directory (FS_ROOT/hab/sup: " +
			"specs, member id, rumors), each service's logs, the machine and the environment, the running Supervisor's " +
			"hab svc status and its HTTP gateway's /services, /census and /butterfly (at HAB_LISTEN_HTTP, else 127.0.0.1:9631; " +
			"these show the services' configuration as the gateway does). The control gateway's CTL_SECRET, key files and the " +
			"values of environment variables holding secrets never go in. What could not be fetched is recorded in the bundle.",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cwd, err := os.Getwd()
			if err != nil {
				return err
			}
			host, err := os.Hostname()
			if err != nil {
				fmt.Fprintf(a.stderr, "Hostname lookup failed; using fallback of localhost (%v)\n", err)
				host = "localhost"
			}
			now := time.Now()
			fmt.Fprintf(a.stdout, "» Generating New Support Bundle at %s\n", now.Format("2006-01-02 15:04:05"))
			fmt.Fprintf(a.stdout, "☛ Adding files from %s\n", a.root.Join("hab", "sup"))
			s, err := supportbundle.Create(c.Context(), cwd, supportbundle.Options{
				Root: a.root, Env: os.Environ(), Host: host, Version: version, Now: now, Reports: a.supportReports(),
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "★ Created %s\n", s.Path)
			return nil
		},
	}
}

// supportReports are the running supervisor's answers a bundle holds.
func (a *app) supportReports() []supportbundle.Report {
	status := func(ctx context.Context) ([]byte, error) {
		cl, err := a.ctlClient("")
		if err != nil {
			return nil, err
		}
		var b strings.Builder
		err = cl.Do(ctx, manager.CmdStatus, manager.IdentArgs{}, func(l string) { b.WriteString(l + "\n") })
		return []byte(b.String()), err
	}
	reports := []supportbundle.Report{{Name: "svc-status.txt", Fetch: bounded(status)}}
	addr := a.getenv("HAB_LISTEN_HTTP")
	if addr == "" {
		addr = "127.0.0.1:9631"
	}
	if host, port, err := net.SplitHostPort(addr); err == nil && (host == "" || net.ParseIP(host) != nil && net.ParseIP(host).IsUnspecified()) {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	for _, path := range []string{"services", "census", "butterfly"} {
		url := "http://" + addr + "/" + path
		reports = append(reports, supportbundle.Report{Name: "gateway/" + path + ".json", Fetch: bounded(func(ctx context.Context) ([]byte, error) {
			return a.gatewayGet(ctx, url)
		})})
	}
	return reports
}

func bounded(f func(context.Context) ([]byte, error)) func(context.Context) ([]byte, error) {
	return func(ctx context.Context) ([]byte, error) {
		ctx, cancel := context.WithTimeout(ctx, reportTimeout)
		defer cancel()
		return f(ctx)
	}
}

// gatewayGet fetches one page of the HTTP gateway, with its token
// (HAB_SUP_GATEWAY_AUTH_TOKEN) when there is one.
func (a *app) gatewayGet(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	if tok := a.getenv("HAB_SUP_GATEWAY_AUTH_TOKEN"); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	return body, nil
}
