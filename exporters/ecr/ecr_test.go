package ecr_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/habgo/hab/exporters/ecr"
	"github.com/habgo/hab/exporters/internal/exptest"
)

func TestRegion(t *testing.T) {
	for _, tc := range []struct{ registry, want string }{
		{"123456789012.dkr.ecr.eu-central-1.amazonaws.com", "eu-central-1"},
		{"https://123456789012.dkr.ecr.ap-south-1.amazonaws.com/", "ap-south-1"},
		{"123456789012.dkr.ecr-fips.us-east-1.amazonaws.com:443", "us-east-1"},
		{"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", "cn-north-1"},
		{"registry.example.com", ecr.DefaultRegion},
		{"127.0.0.1:5000", ecr.DefaultRegion},
		{"", ecr.DefaultRegion},
	} {
		if got := ecr.Region(tc.registry); got != tc.want {
			t.Errorf("Region(%q) = %q, want %q", tc.registry, got, tc.want)
		}
	}
}

// TestLogin: the call is signed so that the AWS SDK's signer, in the
// server, computes the same signature; the token comes back as the
// registry's user and password. A wrong secret, a wrong key id, a region
// the key is not asked in, a missing key and an API that is not ECR's
// fail naming the call, the endpoint and the key.
func TestLogin(t *testing.T) {
	api := &exptest.ECRAPI{KeyID: "AKIDEXAMPLE", Secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", Region: "eu-west-3", Password: "token-password"}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	notECR := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>hello</html>")) }))
	t.Cleanup(notECR.Close)
	registry := "123456789012.dkr.ecr.eu-west-3.amazonaws.com"

	tok, err := ecr.Login(context.Background(), registry, ecr.Options{AccessKeyID: api.KeyID, SecretAccessKey: api.Secret, Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if tok.Username != "AWS" || tok.Password != "token-password" || tok.ExpiresAt.IsZero() || !strings.HasPrefix(tok.ProxyEndpoint, "https://") {
		t.Errorf("token %+v", tok)
	}
	if api.Calls.Load() != 1 {
		t.Errorf("%d verified calls", api.Calls.Load())
	}
	for _, tc := range []struct {
		name     string
		registry string
		o        ecr.Options
		want     []string
	}{
		{"wrong secret", registry, ecr.Options{AccessKeyID: api.KeyID, SecretAccessKey: "not-the-secret", Endpoint: srv.URL}, []string{"InvalidSignatureException", "signature we calculated does not match", "key AKIDEXAMPLE", srv.URL}},
		{"wrong key id", registry, ecr.Options{AccessKeyID: "AKIDOTHER", SecretAccessKey: api.Secret, Endpoint: srv.URL}, []string{"security token included in the request is invalid", "key AKIDOTHER"}},
		{"other region", "registry.example.com", ecr.Options{AccessKeyID: api.KeyID, SecretAccessKey: api.Secret, Endpoint: srv.URL}, []string{"region " + ecr.DefaultRegion, "scoped to region eu-west-3"}},
		{"no secret", registry, ecr.Options{AccessKeyID: api.KeyID, Endpoint: srv.URL}, []string{"--password"}},
		{"not ECR", registry, ecr.Options{AccessKeyID: api.KeyID, SecretAccessKey: api.Secret, Endpoint: notECR.URL}, []string{"not GetAuthorizationToken's", notECR.URL}},
		{"no answer", registry, ecr.Options{AccessKeyID: api.KeyID, SecretAccessKey: api.Secret, Endpoint: "http://127.0.0.1:1"}, []string{"amazon ECR GetAuthorizationToken at http://127.0.0.1:1", "refused"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ecr.Login(context.Background(), tc.registry, tc.o)
			if err == nil {
				t.Fatal("signed in")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
		})
	}
	if api.Calls.Load() != 1 {
		t.Errorf("%d verified calls after the refusals", api.Calls.Load())
	}
}
