package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/habgo/hab/exporters/closure"
	"github.com/habgo/hab/exporters/container"
	"github.com/habgo/hab/exporters/helm"
	"github.com/habgo/hab/exporters/kubernetes"
	"github.com/habgo/hab/exporters/mesos"
	hartar "github.com/habgo/hab/exporters/tar"
)

// addOtherExportCommands adds the formats other than container.
func (a *app) addOtherExportCommands(export *cobra.Command) {
	export.AddCommand(a.exportTarCmd(), a.exportMesosCmd(), a.exportKubernetesCmd(false), a.exportKubernetesCmd(true), a.exportCFCmd(), a.exportCFInitCmd(), a.exportACICmd())
}

func (a *app) exportTarCmd() *cobra.Command {
	var (
		src             exportSource
		noHabBin, noSup bool
		outDir          string
	)
	c := &cobra.Command{
		Use:   "tar [FLAGS] <PKG_IDENT_OR_ARTIFACT>",
		Short: "Creates a tarball of a package, its runtime closure and hab, that runs after tar xf on a machine with nothing installed",
		Long: "Writes ORIGIN-NAME-VERSION-RELEASE.tar.gz: hab/pkgs (the package, its runtime closure, this hab and a busybox) and hab/bin/hab. " +
			"Unpacked at /, `/hab/bin/hab sup run ORIGIN/NAME` starts the service.",
	}
	a.exportSourceFlags(c, &src)
	c.Flags().BoolVar(&noHabBin, "no-hab-bin", false, "Leave hab/bin/hab out")
	c.Flags().BoolVar(&noSup, "no-hab-sup", false, "Accepted for compatibility: the supervisor is part of hab")
	c.Flags().StringVar(&outDir, "output-dir", ".", "Directory the tarball is written to")
	passThrough(c, cobra.ExactArgs(1), func(cmd *cobra.Command, args []string) error {
		g, done, err := a.gatherOptions(&src)
		if err != nil {
			return err
		}
		defer done()
		path, err := hartar.Export(cmd.Context(), hartar.Request{Arg: args[0], Gather: g, OutDir: outDir, NoHabBin: noHabBin, WorkDir: os.TempDir()})
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "★ Wrote %s\n", path)
		return nil
	})
	return c
}

// imageOptions are the container image options every format built on the
// image uses.
func (a *app) imageOptions() (container.Options, error) {
	created, err := a.sourceDateEpoch()
	if err != nil {
		return container.Options{}, err
	}
	o := container.Options{Created: created, CacheDir: filepath.Join(a.exportCacheDir(), "layers"), Jobs: 2}
	if certs, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt"); err == nil {
		o.CACerts = certs
	}
	return o, nil
}

// envFloat is the value of an environment variable the original's
// mesosize read, or def.
func (a *app) envFloat(name string, def float64) (float64, error) {
	v := a.getenv(name)
	if v == "" {
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, usageError("%s=%q is not a number", name, v)
	}
	return f, nil
}

func (a *app) exportMesosCmd() *cobra.Command {
	var (
		src       exportSource
		res       mesos.Resources
		instances int
		outDir    string
	)
	c := &cobra.Command{
		Use:   "mesos [FLAGS] <PKG_IDENT_OR_ARTIFACT>",
		Short: "Creates a root file system tarball and a Marathon application for Apache Mesos and DC/OS",
		Long: "Writes ORIGIN-NAME-VERSION-RELEASE.tgz (the container image's root file system) and its Marathon application JSON beside it, " +
			"and prints the JSON. Upload the tarball and put its URL in \"uris\". Defaults come from $CPU, $MEM, $DISK, $INSTANCES as in the original.",
		Args: cobra.ExactArgs(1),
	}
	a.exportSourceFlags(c, &src)
	f := c.Flags()
	f.Float64Var(&res.CPU, "cpu", 0, "CPU shares (default $CPU, else 0.5)")
	f.Float64Var(&res.MemoryMB, "memory", 0, "Memory in MB (default $MEM, else 256)")
	f.Float64Var(&res.MemoryMB, "mem", 0, "Memory in MB (the original's name)")
	f.Float64Var(&res.DiskMB, "disk", 0, "Disk in MB (default $DISK, else 0)")
	f.IntVar(&instances, "instances", 0, "Number of instances (default $INSTANCES, else 1)")
	f.StringVar(&outDir, "output-dir", "results", "Directory of the tarball and the application JSON")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		var err error
		def := mesos.DefaultResources()
		for _, v := range []struct {
			flag, env string
			dst       *float64
			def       float64
		}{{"cpu", "CPU", &res.CPU, def.CPU}, {"memory", "MEM", &res.MemoryMB, def.MemoryMB}, {"disk", "DISK", &res.DiskMB, def.DiskMB}} {
			if !f.Changed(v.flag) && !(v.flag == "memory" && f.Changed("mem")) {
				if *v.dst, err = a.envFloat(v.env, v.def); err != nil {
					return err
				}
			}
		}
		if !f.Changed("instances") {
			n, err := a.envFloat("INSTANCES", float64(def.Instances))
			if err != nil {
				return err
			}
			instances = int(n)
		}
		res.Instances = instances
		g, done, err := a.gatherOptions(&src)
		if err != nil {
			return err
		}
		defer done()
		img, err := a.imageOptions()
		if err != nil {
			return err
		}
		out, err := mesos.Export(cmd.Context(), mesos.Request{Arg: args[0], Gather: g, Image: img, Resources: res, OutDir: outDir, WorkDir: os.TempDir()})
		if err != nil {
			return err
		}
		js, _ := json.MarshalIndent(out.App, "", "  ")
		fmt.Fprintf(a.stdout, "%s\n", js)
		fmt.Fprintf(a.stderr, "★ Wrote %s and %s\n", out.Tarball, out.AppFile)
		return nil
	}
	return c
}

// exportKubernetesCmd is `hab pkg export kubernetes` or, with chart,
// `hab pkg export helm`.
func (a *app) exportKubernetesCmd(chart bool) *cobra.Command {
	var (
		src                                 exportSource
		o                                   kubernetes.Options
		noImage, plain                      bool
		output, configFile, storage, outDir string
		envs, binds                         []string
		ch                                  helm.Chart
		maint                               []string
		operatorVersion                     string
		downloadDeps                        bool
	)
	use, short := "kubernetes", "Creates a Kubernetes manifest for the Habitat operator (or, --plain, standard objects) and the container image it runs"
	if chart {
		use, short = "helm", "Creates a Helm chart for the Habitat operator (or, --plain, standard objects) and the container image it runs"
	}
	c := &cobra.Command{Use: use + " [FLAGS] <PKG_IDENT_OR_ARTIFACT>", Short: short, Args: cobra.ExactArgs(1)}
	a.exportSourceFlags(c, &src)
	f := c.Flags()
	f.BoolVarP(&noImage, "no-docker-image", "d", false, "Do not build the container image")
	f.StringVar(&o.Name, "k8s-name", "", "Name of the Kubernetes resource (default NAME-VERSION-RELEASE)")
	f.StringVarP(&o.Image, "image-name", "i", "", "Image the pods run (default the built image ORIGIN/NAME:VERSION-RELEASE)")
	f.IntVar(&o.Count, "count", 1, "Number of pods")
	f.StringVarP(&o.Topology, "topology", "t", "standalone", "Service group topology: standalone or leader")
	f.StringVarP(&o.Group, "service-group", "g", "", "Service group")
	f.StringVarP(&configFile, "config", "n", "", "A user.toml put in a Secret for the service")
	f.StringArrayVarP(&envs, "env", "e", nil, "NAME=VALUE for the pods (repeatable)")
	f.StringVar(&storage, "storage", "", "Persistent storage SIZE:PATH:STORAGE_CLASS")
	f.StringVarP(&o.RingSecretName, "ring-secret-name", "r", "", "Secret holding the ring key")
	f.StringArrayVarP(&binds, "bind", "b", nil, "Bind NAME:SERVICE.GROUP (repeatable)")
	f.BoolVar(&plain, "plain", false, "Standard objects (Deployment or StatefulSet, Service) instead of the operator's resource")
	if chart {
		f.StringVar(&ch.Name, "chart", "", "Chart name (default the package name)")
		f.StringVarP(&ch.Version, "version", "V", "", "Chart version X.Y.Z (default the package version, else 0.0.1)")
		f.StringVar(&ch.Description, "desc", "", "Chart description")
		f.StringArrayVarP(&ch.Keywords, "keyword", "k", nil, "Chart keyword (repeatable)")
		f.StringVar(&ch.Home, "home", "", "Project home page URL")
		f.StringVar(&ch.Icon, "icon", "", "Icon URL")
		f.StringArrayVarP(&ch.Sources, "source", "s", nil, "Source URL (repeatable)")
		f.StringArrayVarP(&maint, "maint", "m", nil, "Maintainer NAME[,EMAIL[,URL]] (repeatable)")
		f.BoolVar(&ch.Deprecated, "depr", false, "Mark the chart deprecated")
		f.StringVar(&operatorVersion, "operator-version", "0.6.1", "Accepted for compatibility: the operator is not a dependency (as in the original)")
		f.BoolVar(&downloadDeps, "download-deps", false, "Accepted for compatibility: there are no dependencies to download")
		f.StringVarP(&outDir, "output-dir", "o", ".", "Directory the chart directory is written in")
	} else {
		f.StringVarP(&output, "output", "o", "-", "File the manifest is written to (- for standard output)")
	}
	c.RunE = func(cmd *cobra.Command, args []string) error {
		var err error
		for _, s := range envs {
			e, err := kubernetes.ParseEnv(s)
			if err != nil {
				return usageError("%v", err)
			}
			o.Env = append(o.Env, e)
		}
		for _, s := range binds {
			b, err := kubernetes.ParseBind(s)
			if err != nil {
				return usageError("%v", err)
			}
			o.Binds = append(o.Binds, b)
		}
		if storage != "" {
			if o.Storage, err = kubernetes.ParseStorage(storage); err != nil {
				return usageError("%v", err)
			}
		}
		for _, m := range maint {
			p := append(strings.Split(m, ","), "", "")
			ch.Maintainers = append(ch.Maintainers, helm.Maintainer{Name: p[0], Email: p[1], URL: p[2]})
		}
		if configFile != "" {
			if o.Config, err = os.ReadFile(configFile); err != nil {
				return fmt.Errorf("read --config: %w", err)
			}
		}
		g, done, err := a.gatherOptions(&src)
		if err != nil {
			return err
		}
		defer done()
		var pkg *closure.Package
		if noImage {
			if pkg, err = closure.Resolve(cmd.Context(), args[0], g, os.TempDir()); err != nil {
				return err
			}
		} else {
			img, err := a.imageOptions()
			if err != nil {
				return err
			}
			res, err := container.Export(cmd.Context(), container.Request{Args: args, Gather: g, Image: img, ResultsDir: "results", WorkDir: os.TempDir()})
			if err != nil {
				return err
			}
			pkg = res.Images[0].Primary
			fmt.Fprintf(a.stderr, "★ Wrote %s\n", res.Archive)
		}
		for _, p := range pkg.Meta.Exposes {
			if n, err := strconv.ParseInt(p, 10, 32); err == nil {
				o.Ports = append(o.Ports, int32(n))
			}
		}
		if chart {
			dir, err := helm.Write(outDir, pkg.Ident, ch, o, plain)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "★ Wrote chart %s\n", dir)
			return nil
		}
		gen := kubernetes.Operator
		if plain {
			gen = kubernetes.Plain
		}
		data, err := gen(pkg.Ident, o)
		if err != nil {
			return usageError("%v", err)
		}
		if output == "-" {
			_, err = a.stdout.Write(data)
			return err
		}
		return os.WriteFile(output, data, 0o644)
	}
	return c
}
