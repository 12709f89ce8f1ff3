package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/pkgs"
	"github.com/habgo/hab/exporters/closure"
	"github.com/habgo/hab/exporters/container"
	"github.com/habgo/hab/exporters/ecr"
)

// exportFormats are the formats `hab pkg export` knows, for its errors.
const exportFormats = "container (alias docker), tar, aci, mesos, cf, kubernetes, helm"

// addExportCommands adds `hab pkg export FORMAT`.
func (a *app) addExportCommands(pkg *cobra.Command) {
	export := &cobra.Command{
		Use:   "export <FORMAT> <PKG_IDENT_OR_ARTIFACT>...",
		Short: "Exports a package and its runtime closure to another format (" + exportFormats + ")",
		Long: "Exports a package and its runtime closure to another format (" + exportFormats + "). " +
			"PKG_IDENT_OR_ARTIFACT is a Habitat Artifact (verified, then installed with its dependencies into a temporary root) " +
			"or a package identifier resolved in the installed store; one that is not installed is first installed into the store, " +
			"with its runtime closure, from the artifact cache and the depot (-u, -c, -z; with --offline the artifact cache only), " +
			"as `hab pkg install` does: verified and atomic.",
		Args: cobra.ArbitraryArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return groupHelp(c, args)
			}
			return usageError("unknown export format %q: one of %s", args[0], exportFormats)
		},
	}
	export.AddCommand(a.exportContainerCmd())
	a.addOtherExportCommands(export)
	pkg.AddCommand(export)
}

// exportSource are the flags that say where packages come from (the
// depot flags of `hab pkg install`) and what an export adds of its own.
type exportSource struct {
	depot     *bldrSettings
	offline   bool
	busybox   string
	habBinary []string
}

// exportSourceFlags adds the flags of s to c.
func (a *app) exportSourceFlags(c *cobra.Command, s *exportSource) {
	s.depot = a.bldrFlags(c)
	a.channelFlag(c, s.depot, "Channel that packages not installed are installed from (else stable)", true)
	f := c.Flags()
	f.BoolVar(&s.offline, "offline", false, "Install packages not installed from the artifact cache only, not from the depot")
	_ = f.MarkHidden("offline")
	f.StringVar(&s.busybox, "busybox", "/bin/busybox", "Static busybox binary packaged as the export's shell (Debian: busybox-static); another target's shell is its core/busybox-static package")
	f.StringArrayVar(&s.habBinary, "hab-binary", nil, "TARGET=PATH: the hab binary (built for TARGET, e.g. GOARCH=arm64 CGO_ENABLED=0) exports of TARGET carry, instead of its core/hab package; this machine's target gets this hab (repeatable)")
}

// exportCacheDir keeps layers and the packages made from host binaries.
func (a *app) exportCacheDir() string {
	return filepath.Join(filepath.Dir(a.root.Artifacts()), "export")
}

// gatherOptions resolves where the packages of an export come from: the
// store, then the artifact cache and the depot, as `hab pkg install`.
// done removes the depot's downloads.
func (a *app) gatherOptions(s *exportSource) (g closure.Options, done func(), err error) {
	done = func() {}
	store, err := a.storeOpen()
	if err != nil {
		return g, done, err
	}
	hab, err := os.Executable()
	if err != nil {
		return g, done, fmt.Errorf("find this hab binary: %w", err)
	}
	habs := map[ident.Target]string{store.Target: hab}
	for _, v := range s.habBinary {
		t, path, ok := strings.Cut(v, "=")
		target, err := ident.ParseTarget(t)
		if !ok || path == "" || err != nil {
			return g, done, usageError("--hab-binary %q: give TARGET=PATH, e.g. %s=./hab", v, ident.AArch64Linux)
		}
		habs[target] = path
	}
	g = closure.Options{
		Store:         store,
		Keys:          crypto.Cache{Dir: a.root.Keys()},
		ArtifactCache: a.root.Artifacts(),
		Reporter:      storeUI{out: a.stderr, err: a.stderr}, // stdout may be the export (kubernetes)
		Channel:       a.bldrChannel(s.depot),
		HabBinary:     habs,
		Busybox:       map[ident.Target]string{store.Target: s.busybox},
		HabVersion:    version,
		HostRoot:      filepath.Join(a.exportCacheDir(), "host-pkgs"),
	}
	if !s.offline {
		src, err := a.depotSource(s.depot)
		if err != nil {
			return g, done, err
		}
		g.Sources = []pkgs.Source{pkgs.LocalSource{Dirs: []string{g.ArtifactCache}}, src}
		done = func() { _ = src.Close() }
	}
	return g, done, nil
}

// sourceDateEpoch is $SOURCE_DATE_EPOCH, or zero.
func (a *app) sourceDateEpoch() (time.Time, error) {
	v := a.getenv("SOURCE_DATE_EPOCH")
	if v == "" {
		return time.Time{}, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q is not a number of seconds: %w", v, err)
	}
	return time.Unix(n, 0).UTC(), nil
}

func (a *app) exportContainerCmd() *cobra.Command {
	var (
		src                        exportSource
		naming                     container.Naming
		registryType               string
		username, password         string
		push, rmImage, multiLayer  bool
		ociLayout, resultsDir      string
		maxLayers                  int
		engine, memory, basePkgURL string
	)
	c := &cobra.Command{
		Use:     "container [FLAGS] <PKG_IDENT_OR_ARTIFACT>...",
		Aliases: []string{"docker"},
		Short:   "Creates a container image from a set of Habitat packages (and optionally pushes it to a remote repository)",
		Long: "Builds an OCI container image of the packages and their runtime closure, with this hab (its supervisor) and a busybox shell, " +
			"without a container daemon: one layer per package (up to --max-layers), reproducible (created from $SOURCE_DATE_EPOCH, else the newest release), " +
			"with OCI labels and an SPDX SBOM (in the image at " + container.SBOMPath + " and beside the output). " +
			"It is written as a `docker load` archive in ./results, or as an OCI image layout (--oci-layout), or pushed (--push-image).",
	}
	a.exportSourceFlags(c, &src)
	f := c.Flags()
	f.StringVarP(&naming.ImageName, "image-name", "i", container.DefaultImageName, "Image name template (pkg_origin, pkg_name, pkg_version, pkg_release, channel)")
	f.StringVarP(&naming.RegistryURL, "registry-url", "G", "", "Remote registry URL, prefixed to the image name")
	f.StringVarP(&registryType, "registry-type", "R", "docker", "Remote registry type: docker, azure or amazon (--username and --password are an AWS access key, which asks ECR for the push's token; $AWS_ENDPOINT_URL_ECR, $AWS_SESSION_TOKEN apply)")
	f.StringVarP(&username, "username", "U", "", "Remote registry username (else the docker config's credentials); amazon: the AWS access key id")
	f.StringVarP(&password, "password", "P", "", "Remote registry password; amazon: the AWS secret access key")
	f.BoolVar(&push, "push-image", false, "Push the image to the remote registry")
	f.BoolVar(&rmImage, "rm-image", false, "Accepted for compatibility: no image is left in a daemon")
	f.BoolVar(&multiLayer, "multi-layer", false, "Accepted for compatibility: images always have one layer per package")
	f.BoolVar(&naming.NoTagLatest, "no-tag-latest", false, "Do not tag the image with latest")
	f.BoolVar(&naming.NoTagVersion, "no-tag-version", false, "Do not tag the image with VERSION")
	f.BoolVar(&naming.NoTagVersionRelease, "no-tag-version-release", false, "Do not tag the image with VERSION-RELEASE")
	f.StringVar(&naming.TagCustom, "tag-custom", "", "Custom tag template (pkg_origin, pkg_name, pkg_version, pkg_release, channel)")
	f.StringVar(&ociLayout, "oci-layout", "", "Write an OCI image layout into DIR instead of the archive")
	f.StringVar(&resultsDir, "results-dir", "results", "Directory of the archive, the SBOM and last_container_export.env")
	f.IntVar(&maxLayers, "max-layers", container.DefaultMaxLayers, "Layer budget: one layer per package up to it, the rest merged")
	f.StringVar(&engine, "engine", "", "Accepted for compatibility: no container engine is used")
	f.StringVarP(&memory, "memory", "m", "", "Accepted for compatibility: no build container runs")
	f.StringVar(&basePkgURL, "base-pkgs-url", "", "Accepted for compatibility: hab and busybox come from this machine, another target's from the artifact cache or the depot of -u")
	passThrough(c, cobra.MinimumNArgs(1), func(cmd *cobra.Command, args []string) error {
		g, done, err := a.gatherOptions(&src)
		if err != nil {
			return err
		}
		defer done()
		created, err := a.sourceDateEpoch()
		if err != nil {
			return err
		}
		naming.Channel = g.Channel
		req := container.Request{
			Args:       args,
			Gather:     g,
			Image:      container.Options{MaxLayers: maxLayers, Created: created, CacheDir: filepath.Join(a.exportCacheDir(), "layers"), Jobs: runtime.NumCPU()},
			Naming:     naming,
			ResultsDir: resultsDir,
			OCILayout:  ociLayout,
			Push:       push,
			WorkDir:    os.TempDir(),
		}
		if certs, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt"); err == nil {
			req.Image.CACerts = certs
		}
		if push {
			switch registryType {
			case container.RegistryDocker, container.RegistryAzure, container.RegistryAmazon:
			default:
				return usageError("--registry-type %q: one of docker, azure, amazon", registryType)
			}
			if registryType != container.RegistryDocker && naming.RegistryURL == "" {
				return usageError("--registry-type %s needs --registry-url", registryType)
			}
			if registryType == container.RegistryAmazon && (username == "" || password == "") {
				return usageError("--registry-type amazon needs the AWS access key id (--username) and secret access key (--password)")
			}
			reg := container.Registry{Type: registryType, URL: naming.RegistryURL, Username: username, Password: password,
				ECR: ecr.Options{SessionToken: a.getenv("AWS_SESSION_TOKEN"), Endpoint: a.getenv("AWS_ENDPOINT_URL_ECR")}}
			if reg.ECR.Endpoint == "" {
				reg.ECR.Endpoint = a.getenv("AWS_ENDPOINT_URL")
			}
			if req.Remote, err = reg.Remote(cmd.Context()); err != nil {
				return err
			}
		}
		res, err := container.Export(cmd.Context(), req)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "★ Built image %s (%s), %s\n", res.Names.Name, strings.Join(res.Names.Tags, ", "), res.Digest)
		if res.Archive != "" {
			fmt.Fprintf(a.stdout, "★ Wrote %s (docker load -i)\n", res.Archive)
		}
		if ociLayout != "" {
			fmt.Fprintf(a.stdout, "★ Wrote OCI image layout %s\n", ociLayout)
		}
		if push {
			for _, r := range res.Names.Refs {
				fmt.Fprintf(a.stdout, "★ Pushed %s\n", r)
			}
		}
		for _, s := range res.SBOMs {
			fmt.Fprintf(a.stdout, "★ Wrote SBOM %s\n", s)
		}
		return nil
	})
	return c
}

// passThrough makes c take its command line as the original's exporter
// program does: hab hands everything after the format over unparsed
// (--help included), and the exporter parses it with its own flags. Here
// the exporter is c itself: cobra leaves the arguments alone, and run gets
// them parsed by c's flag set and checked by args; --help prints c's help.
func passThrough(c *cobra.Command, args cobra.PositionalArgs, run func(*cobra.Command, []string) error) {
	c.DisableFlagParsing = true
	c.Args = cobra.ArbitraryArgs
	c.RunE = func(cmd *cobra.Command, raw []string) error {
		f := cmd.Flags()
		if err := f.Parse(raw); err != nil {
			if errors.Is(err, pflag.ErrHelp) {
				return cmd.Help()
			}
			return usageError("%v\nSee '%s --help'.", err, cmd.CommandPath())
		}
		if help, err := f.GetBool("help"); err == nil && help {
			return cmd.Help()
		}
		if err := args(cmd, f.Args()); err != nil {
			return usageError("%v", err)
		}
		return run(cmd, f.Args())
	}
}
