package aci_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"

	"github.com/habgo/hab/exporters/aci"
	"github.com/habgo/hab/exporters/container"
	"github.com/habgo/hab/exporters/internal/exptest"
)

// appcManifest is the appc image manifest as the specification defines
// it, written here independently, for a strict decode.
type appcManifest struct {
	ACKind    string `json:"acKind"`
	ACVersion string `json:"acVersion"`
	Name      string `json:"name"`
	Labels    []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"labels"`
	App struct {
		Exec        []string `json:"exec"`
		User        string   `json:"user"`
		Group       string   `json:"group"`
		Environment []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"environment"`
		MountPoints []struct {
			Name     string `json:"name"`
			Path     string `json:"path"`
			ReadOnly bool   `json:"readOnly"`
		} `json:"mountPoints"`
		Ports []struct {
			Name     string `json:"name"`
			Protocol string `json:"protocol"`
			Port     int    `json:"port"`
		} `json:"ports"`
	} `json:"app"`
	Annotations []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"annotations"`
}

// TestACI: the image unpacks with tar into manifest and rootfs/, the
// manifest decodes strictly as appc's, and with a signing key gpg
// verifies the detached signature.
func TestACI(t *testing.T) {
	e := exptest.New(t)
	svc := e.Build("service")
	ent, err := openpgp.NewEntity("hab test", "", "test@example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	var sec, pub bytes.Buffer
	w, _ := armor.Encode(&sec, openpgp.PrivateKeyType, nil)
	ent.SerializePrivate(w, nil)
	w.Close()
	w, _ = armor.Encode(&pub, openpgp.PublicKeyType, nil)
	ent.Serialize(w)
	w.Close()

	out := t.TempDir()
	res, err := aci.Export(context.Background(), aci.Request{Arg: svc.Ident.String(), Gather: e.Gather(), Image: container.Options{CacheDir: filepath.Join(e.Cache, "layers")},
		OutDir: out, SignKey: sec.Bytes(), WorkDir: e.Work})
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	exptest.Run(t, "tar", "-xzf", res.ACI, "-C", root)
	data, err := os.ReadFile(filepath.Join(root, "manifest"))
	if err != nil {
		t.Fatal(err)
	}
	var m appcManifest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("strict decode of the manifest: %v\n%s", err, data)
	}
	if m.ACKind != "ImageManifest" || m.Name != svc.Ident.String() || m.App.Exec[0] != "/init.sh" || len(m.App.Ports) != 3 || m.App.Ports[2].Port != 8080 ||
		m.App.MountPoints[0].Path != "/hab/svc/service/data" {
		t.Errorf("manifest:\n%s", data)
	}
	for _, f := range []string{"rootfs/init.sh", "rootfs/etc/passwd", "rootfs/hab/pkgs/habtest/service"} {
		if _, err := os.Lstat(filepath.Join(root, f)); err != nil {
			t.Errorf("the image lacks %s: %v", f, err)
		}
	}
	// gpg checks the signature with the public key only.
	home := t.TempDir()
	os.WriteFile(filepath.Join(home, "pub.asc"), pub.Bytes(), 0o644)
	gpg := func(args ...string) (string, error) {
		cmd := exec.Command(exptest.Tool(t, "gpg"), append([]string{"--homedir", home, "--batch"}, args...)...)
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	if o, err := gpg("--import", filepath.Join(home, "pub.asc")); err != nil {
		t.Fatalf("gpg --import: %v\n%s", err, o)
	}
	if o, err := gpg("--verify", res.Signature, res.ACI); err != nil || !strings.Contains(o, "Good signature") {
		t.Fatalf("gpg --verify: %v\n%s", err, o)
	}
	// A changed image no longer verifies.
	b, _ := os.ReadFile(res.ACI)
	b[len(b)/2] ^= 1
	os.WriteFile(res.ACI, b, 0o644)
	if o, err := gpg("--verify", res.Signature, res.ACI); err == nil {
		t.Errorf("gpg verified a changed image:\n%s", o)
	}

	// A bad key fails before anything is written.
	out2 := t.TempDir()
	if _, err := aci.Export(context.Background(), aci.Request{Arg: svc.Ident.String(), Gather: e.Gather(), OutDir: out2, SignKey: []byte("not a key"), WorkDir: e.Work}); err == nil || !strings.Contains(err.Error(), "signing key") {
		t.Errorf("bad key: %v", err)
	}
	if ents, _ := os.ReadDir(out2); len(ents) != 0 {
		t.Errorf("left %v", ents)
	}
}
