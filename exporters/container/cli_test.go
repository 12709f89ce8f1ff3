package container_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/habgo/hab/exporters/internal/exptest"
)

// TestCLI runs the hab binary: `hab pkg export docker` (the alias) writes
// the archive, the SBOM and the report named as the original's, and the
// image carries the binary itself as core/hab; SOURCE_DATE_EPOCH sets the
// creation time.
func TestCLI(t *testing.T) {
	e := exptest.New(t)
	svc := e.Build("service")
	results := filepath.Join(e.Work, "out")
	cmd := exec.Command(exptest.Hab(t), "pkg", "export", "docker", "--results-dir", results, "--no-tag-latest", "--tag-custom", "{{pkg_origin}}-custom", svc.Ident.String())
	cmd.Env = append(os.Environ(), "FS_ROOT="+e.Root, "HAB_CACHE_KEY_PATH="+e.Keys.Dir, "HOME="+e.Work, "SOURCE_DATE_EPOCH=1700000000")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("hab pkg export docker: %v\n%s", err, out)
	}
	archive := filepath.Join(results, "habtest-service-0.1.0-"+svc.Ident.Release+".tar")
	for _, f := range []string{archive, filepath.Join(results, "habtest-service-0.1.0-"+svc.Ident.Release+".spdx.json"), filepath.Join(results, "last_container_export.env")} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("%s: %v\n%s", f, err, out)
		}
	}
	insp := exptest.Run(t, "skopeo", "inspect", "--config", "docker-archive:"+archive)
	if !strings.Contains(insp, `"created": "2023-11-14T22:13:20Z"`) || !strings.Contains(insp, "hab pkg export: core/hab/") {
		t.Errorf("skopeo inspect:\n%s", insp)
	}
	env, _ := os.ReadFile(filepath.Join(results, "last_container_export.env"))
	if !strings.Contains(string(env), "tags=0.1.0,0.1.0-"+svc.Ident.Release+",habtest-custom\n") {
		t.Errorf("report:\n%s", env)
	}
}

// TestCLIPushAmazon: `--registry-type amazon` from the command line: the
// AWS key signs ECR's GetAuthorizationToken at $AWS_ENDPOINT_URL_ECR (an
// in-process ECR API that checks the signature with the AWS SDK's
// signer), and the push uses the token, which is all the registry behind
// it takes.
func TestCLIPushAmazon(t *testing.T) {
	e := exptest.New(t)
	svc := e.Build("service")
	api := &exptest.ECRAPI{KeyID: "AKIDCLI", Secret: "cli-secret", Region: "us-west-2", Password: "cli-token"}
	host := ecrRegistry(t, api)
	push := func(secret string) (string, error) {
		cmd := exec.Command(exptest.Hab(t), "pkg", "export", "container", svc.Ident.String(), "--results-dir", filepath.Join(e.Work, "out"),
			"--push-image", "--registry-type", "amazon", "--registry-url", host, "--username", api.KeyID, "--password", secret)
		cmd.Env = append(os.Environ(), "FS_ROOT="+e.Root, "HAB_CACHE_KEY_PATH="+e.Keys.Dir, "HOME="+e.Work, "AWS_ENDPOINT_URL_ECR=http://"+host)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := push("not-the-secret"); err == nil || !strings.Contains(out, "sign in to the registry "+host) || !strings.Contains(out, "InvalidSignatureException") {
		t.Fatalf("push with a wrong AWS secret: %v\n%s", err, out)
	}
	out, err := push(api.Secret)
	if err != nil {
		t.Fatalf("hab pkg export container --registry-type amazon: %v\n%s", err, out)
	}
	if !strings.Contains(out, "Pushed "+host+"/habtest/service:latest") || api.Calls.Load() != 1 {
		t.Errorf("%d signed ECR calls:\n%s", api.Calls.Load(), out)
	}
	ref, err := name.ParseReference(host + "/habtest/service:0.1.0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Image(ref, remote.WithAuth(&authn.Basic{Username: "AWS", Password: api.Password})); err != nil {
		t.Errorf("pull %s: %v", ref, err)
	}
}
