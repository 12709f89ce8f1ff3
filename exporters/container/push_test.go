package container_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/habgo/hab/exporters/container"
	"github.com/habgo/hab/exporters/ecr"
	"github.com/habgo/hab/exporters/internal/exptest"
)

// withBasicAuth lets through requests with user:pass only, as a registry
// with credentials does.
func withBasicAuth(h http.Handler, user, pass string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// TestPushInProcessRegistry pushes to go-containerregistry's registry
// (behind basic authentication) and pulls the image back by each tag;
// wrong credentials fail naming the image and leave nothing behind.
func TestPushInProcessRegistry(t *testing.T) {
	e := exptest.New(t)
	svc := e.Build("service")
	srv := httptest.NewServer(withBasicAuth(registry.New(registry.Logger(log.New(io.Discard, "", 0))), "hab", "secret"))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")

	r := request(e, svc.Ident.String())
	r.Push = true
	r.Naming.RegistryURL = srv.URL
	r.Remote = []remote.Option{remote.WithAuth(&authn.Basic{Username: "hab", Password: "wrong"})}
	_, err := container.Export(context.Background(), r)
	if err == nil || !strings.Contains(err.Error(), host+"/habtest/service:latest") || !strings.Contains(err.Error(), "the registry "+host+" refused the credentials") {
		t.Fatalf("push with wrong credentials: %v", err)
	}
	if ents, _ := os.ReadDir(r.ResultsDir); len(ents) != 0 {
		t.Errorf("a refused push left %v in the results", ents)
	}

	r.Remote = []remote.Option{remote.WithAuth(&authn.Basic{Username: "hab", Password: "secret"})}
	res := export(t, r)
	if res.Archive != "" {
		t.Errorf("a push wrote an archive %s", res.Archive)
	}
	for _, tag := range []string{"latest", "0.1.0", "0.1.0-" + svc.Ident.Release} {
		ref, err := name.ParseReference(host + "/habtest/service:" + tag)
		if err != nil {
			t.Fatal(err)
		}
		img, err := remote.Image(ref, r.Remote...)
		if err != nil {
			t.Fatalf("pull %s: %v", ref, err)
		}
		if d, _ := img.Digest(); d.String() != res.Digest {
			t.Errorf("pulled %s as %s, pushed %s", ref, d, res.Digest)
		}
	}
}

// ecrRegistry starts api in front of go-containerregistry's registry,
// which takes only the token api gives; it returns the host.
func ecrRegistry(t *testing.T, api *exptest.ECRAPI) string {
	t.Helper()
	srv := httptest.NewServer(api.InFrontOf(withBasicAuth(registry.New(registry.Logger(log.New(io.Discard, "", 0))), "AWS", api.Password)))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// TestPushAmazonECR: --registry-type amazon signs ECR's
// GetAuthorizationToken with the AWS key (the server checks the signature
// with the AWS SDK's signer) and pushes with the token it answers, to
// go-containerregistry's registry behind the same address, which takes
// only the token; the image pulls back with the same digest. A wrong
// secret fails naming the registry and the refusal, before any output.
func TestPushAmazonECR(t *testing.T) {
	e := exptest.New(t)
	svc := e.Build("service")
	api := &exptest.ECRAPI{KeyID: "AKIDHABTEST", Secret: "habtest/secret+key", Region: "us-west-2", Password: "ecr-token-password"}
	host := ecrRegistry(t, api)

	reg := container.Registry{Type: container.RegistryAmazon, URL: host, Username: api.KeyID, Password: "wrong", ECR: ecr.Options{Endpoint: "http://" + host}}
	if _, err := reg.Remote(context.Background()); err == nil || !strings.Contains(err.Error(), "sign in to the registry "+host) || !strings.Contains(err.Error(), "InvalidSignatureException") {
		t.Fatalf("ECR sign-in with a wrong secret: %v", err)
	}
	reg.Password = api.Secret
	r := request(e, svc.Ident.String())
	r.Push = true
	r.Naming.RegistryURL = host
	var err error
	if r.Remote, err = reg.Remote(context.Background()); err != nil {
		t.Fatal(err)
	}
	res := export(t, r)
	if api.Calls.Load() != 1 {
		t.Errorf("%d signed ECR calls", api.Calls.Load())
	}
	ref, err := name.ParseReference(host + "/habtest/service:0.1.0-" + svc.Ident.Release)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref, remote.WithAuth(&authn.Basic{Username: "AWS", Password: api.Password}))
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	if d, _ := img.Digest(); d.String() != res.Digest {
		t.Errorf("pulled %s as %s, pushed %s", ref, d, res.Digest)
	}
}

// TestPushDockerRegistry pushes to Debian's docker-registry (the
// distribution registry) started on a loopback port, and reads it back
// with skopeo.
func TestPushDockerRegistry(t *testing.T) {
	bin := exptest.Tool(t, "docker-registry")
	e := exptest.New(t)
	svc := e.Build("service")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n", filepath.Join(dir, "data"), addr)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", cfg)
	logf, _ := os.Create(filepath.Join(dir, "log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// Wait until it answers (bounded).
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Fatalf("docker-registry does not answer on %s: %v\n%s", addr, err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}

	r := request(e, svc.Ident.String())
	r.Push = true
	r.Naming.RegistryURL = addr
	res := export(t, r)
	out := exptest.Run(t, "skopeo", "inspect", "--tls-verify=false", "--format", "{{.Digest}}", "docker://"+addr+"/habtest/service:0.1.0-"+svc.Ident.Release)
	if strings.TrimSpace(out) != res.Digest {
		t.Errorf("skopeo reads %s from docker-registry, pushed %s", out, res.Digest)
	}
}

// TestRegistryRemote: each registry type signs in as the original's; an
// unknown type fails naming it and the known ones, and amazon without a
// secret fails before any call.
func TestRegistryRemote(t *testing.T) {
	for _, tc := range []struct {
		reg  container.Registry
		want string // error; "" for none
	}{
		{container.Registry{}, ""},
		{container.Registry{Type: container.RegistryDocker, Username: "u", Password: "p"}, ""},
		{container.Registry{Type: container.RegistryAzure, URL: "x.azurecr.io", Username: "u", Password: "p"}, ""},
		{container.Registry{Type: "quay", URL: "quay.io"}, `registry type "quay": one of docker, azure, amazon`},
		{container.Registry{Type: container.RegistryAmazon, URL: "1.dkr.ecr.eu-west-1.amazonaws.com", Username: "AKID"}, "sign in to the registry 1.dkr.ecr.eu-west-1.amazonaws.com: amazon ECR: the AWS access key id (--username) and secret access key (--password) are both needed"},
	} {
		opts, err := tc.reg.Remote(context.Background())
		switch {
		case tc.want == "" && (err != nil || len(opts) != 1):
			t.Errorf("%+v: %d options, %v", tc.reg, len(opts), err)
		case tc.want != "" && (err == nil || err.Error() != tc.want):
			t.Errorf("%+v: %v, want %q", tc.reg, err, tc.want)
		}
	}
}
