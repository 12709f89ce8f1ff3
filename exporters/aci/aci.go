// Package aci exports a package as an App Container Image (appc
// specification 0.8): a tarball with the image manifest and the root file
// system (the container image's, flattened), unsigned by default, and with
// a detached ASCII-armoured OpenPGP signature (.aci.asc) when signing, as
// the original's SIGN=true did with gpg.
package aci

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/klauspost/compress/gzip"

	"github.com/habgo/hab/core/atomicfile"
	"github.com/habgo/hab/exporters/closure"
	"github.com/habgo/hab/exporters/container"
)

// ACVersion is the appc specification version written.
const ACVersion = "0.8.11"

// Manifest is the appc image manifest.
type Manifest struct {
	ACKind      string      `json:"acKind"`
	ACVersion   string      `json:"acVersion"`
	Name        string      `json:"name"`
	Labels      []NameValue `json:"labels"`
	App         App         `json:"app"`
	Annotations []NameValue `json:"annotations,omitempty"`
}

type NameValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type App struct {
	Exec        []string     `json:"exec"`
	User        string       `json:"user"`
	Group       string       `json:"group"`
	Environment []NameValue  `json:"environment"`
	MountPoints []MountPoint `json:"mountPoints"`
	Ports       []Port       `json:"ports"`
}

type MountPoint struct {
	Name     string `json:"name"`
	Path     string `json:"path"`
	ReadOnly bool   `json:"readOnly,omitempty"`
}

type Port struct {
	Name     string `json:"name"`
	Protocol string `json:"protocol"`
	Port     int    `json:"port"`
}

// Request is one `hab pkg export aci`.
type Request struct {
	Arg    string
	Gather closure.Options
	Image  container.Options
	OutDir string
	// SignKey, when set, is an ASCII-armoured OpenPGP secret key that
	// signs the image (SIGN=true); Passphrase unlocks it.
	SignKey    []byte
	Passphrase []byte
	WorkDir    string
}

// Result names what was written.
type Result struct {
	ACI, Signature string
	Manifest       Manifest
}

// Export writes ORIGIN-NAME-VERSION-RELEASE.aci (and .aci.asc when
// signing) into OutDir.
func Export(ctx context.Context, r Request) (*Result, error) {
	var signer *openpgp.Entity
	if r.SignKey != nil {
		var err error
		if signer, err = readSigner(r.SignKey, r.Passphrase); err != nil {
			return nil, err
		}
	}
	imgs, err := container.Images(ctx, []string{r.Arg}, r.Gather, r.Image, r.WorkDir)
	if err != nil {
		return nil, err
	}
	img := imgs[0]
	id := img.Primary.Ident
	plat, err := container.Platform(img.Closure.Target)
	if err != nil {
		return nil, err
	}
	m := Manifest{
		ACKind: "ImageManifest", ACVersion: ACVersion, Name: strings.ToLower(img.Arg),
		Labels: []NameValue{{"version", id.Version + "-" + id.Release}, {"os", plat.OS}, {"arch", plat.Architecture}},
		App: App{
			Exec: []string{"/init.sh", "run", img.Arg}, User: "0", Group: "0",
			Environment: []NameValue{{"PATH", "/bin"}},
			MountPoints: []MountPoint{{"hab-data", "/hab/svc/" + id.Name + "/data", false}, {"hab-config", "/hab/svc/" + id.Name + "/config", false}},
			Ports:       []Port{{"habitat", "tcp", 9631}, {"habitat-gossip", "tcp", 9638}},
		},
		Annotations: []NameValue{{"created", img.Created.Format("2006-01-02T15:04:05Z")}, {"sh.habitat.package.ident", id.String()}},
	}
	ports := append([]string(nil), img.Primary.Meta.Exposes...)
	sort.Strings(ports)
	for _, p := range ports {
		n, err := strconv.Atoi(p)
		if err != nil {
			continue
		}
		m.App.Ports = append(m.App.Ports, Port{id.Name + "-" + p, "tcp", n})
	}
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	base := fmt.Sprintf("%s-%s-%s-%s.aci", id.Origin, id.Name, id.Version, id.Release)
	res := &Result{ACI: filepath.Join(r.OutDir, base), Manifest: m}
	// The signature is made from the bytes as they are written, not
	// from the file read back.
	var sig bytes.Buffer
	err = atomicfile.Create(res.ACI, 0o644, func(f *os.File) error {
		if signer == nil {
			return write(f, manifest, img)
		}
		pr, pw := io.Pipe()
		signed := make(chan error, 1)
		go func() {
			err := openpgp.ArmoredDetachSign(&sig, signer, pr, nil)
			pr.CloseWithError(err) // a signer that stops early stops the writer
			signed <- err
		}()
		err := write(io.MultiWriter(f, pw), manifest, img)
		pw.CloseWithError(err)
		if serr := <-signed; err == nil && serr != nil {
			err = fmt.Errorf("sign: %w", serr)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", res.ACI, err)
	}
	if signer != nil {
		res.Signature = res.ACI + ".asc"
		if err := atomicfile.WriteFile(res.Signature, sig.Bytes(), 0o644); err != nil {
			os.Remove(res.ACI)
			return nil, fmt.Errorf("sign %s: %w", res.ACI, err)
		}
	}
	return res, nil
}

// write writes the image: manifest, then the root file system under
// rootfs/. Every entry's name changes (rootfs/ before it), so the layers'
// compressed bytes cannot be copied as the mesos tarball copies them:
// the entries are read and written again.
func write(w io.Writer, manifest []byte, img *container.Image) error {
	z, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(z)
	mt := img.Created
	if err := tw.WriteHeader(&tar.Header{Name: "manifest", Mode: 0o644, Size: int64(len(manifest)), ModTime: mt, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := tw.Write(manifest); err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: "rootfs/", Mode: 0o755, ModTime: mt, Typeflag: tar.TypeDir}); err != nil {
		return err
	}
	rc := container.Rootfs(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		hdr.Name = "rootfs/" + strings.TrimPrefix(hdr.Name, "/")
		if hdr.Typeflag == tar.TypeLink {
			hdr.Linkname = "rootfs/" + strings.TrimPrefix(hdr.Linkname, "/")
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return z.Close()
}

// readSigner reads the first secret key of an armoured key ring and
// unlocks it.
func readSigner(key, passphrase []byte) (*openpgp.Entity, error) {
	ring, err := openpgp.ReadArmoredKeyRing(strings.NewReader(string(key)))
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	for _, e := range ring {
		if e.PrivateKey == nil {
			continue
		}
		if e.PrivateKey.Encrypted {
			if err := e.PrivateKey.Decrypt(passphrase); err != nil {
				return nil, fmt.Errorf("signing key %X: %w", e.PrimaryKey.Fingerprint, err)
			}
		}
		return e, nil
	}
	return nil, errors.New("signing key: the key ring holds no secret key")
}
