// Package ecr signs in to an Amazon Elastic Container Registry as the
// original's container exporter does for --registry-type amazon: the
// username and password are an AWS access key id and secret, which sign
// (AWS Signature Version 4) a call of ECR's GetAuthorizationToken; the
// token it answers is the registry's user and password for the push.
package ecr

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/aws/smithy-go/aws-http-auth/credentials"
	"github.com/aws/smithy-go/aws-http-auth/sigv4"
	"github.com/google/go-containerregistry/pkg/authn"
)

// DefaultRegion is the region the original asks for a token in; a
// registry host of the form ACCOUNT.dkr.ecr.REGION.amazonaws.com names
// its own.
const DefaultRegion = "us-west-2"

// target is the JSON protocol's operation header of GetAuthorizationToken.
const target = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"

// maxAnswer bounds what is read of the API's answer.
const maxAnswer = 1 << 20

// Options say whose key signs the call and where it goes.
type Options struct {
	// AccessKeyID and SecretAccessKey are the AWS key (the exporter's
	// --username and --password); SessionToken goes with temporary keys.
	AccessKeyID, SecretAccessKey, SessionToken string
	// Region is the registry's region; "" reads it from the registry
	// host, else DefaultRegion.
	Region string
	// Endpoint is the ECR API's URL; "" is
	// https://api.ecr.REGION.amazonaws.com (cmd/hab passes
	// $AWS_ENDPOINT_URL_ECR, as the AWS tools take it).
	Endpoint string
	// Client makes the call; nil is http.DefaultClient.
	Client *http.Client
	// Now is the signing time; nil is time.Now.
	Now func() time.Time
}

var hostRegion = regexp.MustCompile(`\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?(?::[0-9]+)?$`)

// Region is the region of registry (a host or URL): the one its
// ECR host name carries, else DefaultRegion.
func Region(registry string) string {
	host := registry
	if i := strings.Index(host, "://"); i >= 0 {
		host = host[i+3:]
	}
	host, _, _ = strings.Cut(host, "/")
	if m := hostRegion.FindStringSubmatch(host); m != nil {
		return m[1]
	}
	return DefaultRegion
}

// Token is what GetAuthorizationToken answers.
type Token struct {
	// Username and Password sign in to the registry (docker's basic
	// authentication): the token decoded, AWS and a password.
	Username, Password string
	// ProxyEndpoint is the registry the token is for; ExpiresAt its end.
	ProxyEndpoint string
	ExpiresAt     time.Time
}

// Authenticator is the token as go-containerregistry's credentials.
func (t *Token) Authenticator() authn.Authenticator {
	return &authn.Basic{Username: t.Username, Password: t.Password}
}

type answer struct {
	AuthorizationData []struct {
		AuthorizationToken string  `json:"authorizationToken"`
		ExpiresAt          float64 `json:"expiresAt"`
		ProxyEndpoint      string  `json:"proxyEndpoint"`
	} `json:"authorizationData"`
}

type apiError struct {
	Type    string `json:"__type"`
	Message string `json:"message"`
	// Some answers spell it Message.
	Message2 string `json:"Message"`
}

// Login asks ECR for an authorization token for registry (the
// --registry-url), signing the call with o's key.
func Login(ctx context.Context, registry string, o Options) (*Token, error) {
	if o.AccessKeyID == "" || o.SecretAccessKey == "" {
		return nil, errors.New("amazon ECR: the AWS access key id (--username) and secret access key (--password) are both needed")
	}
	region := o.Region
	if region == "" {
		region = Region(registry)
	}
	endpoint := o.Endpoint
	if endpoint == "" {
		endpoint = "https://api.ecr." + region + ".amazonaws.com"
	}
	what := fmt.Sprintf("amazon ECR GetAuthorizationToken at %s (region %s, key %s)", endpoint, region, o.AccessKeyID)
	body := []byte("{}")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(endpoint, "/")+"/", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target)
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	sum := sha256.Sum256(body)
	err = sigv4.New().SignRequest(&sigv4.SignRequestInput{
		Request:     req,
		PayloadHash: sum[:],
		Credentials: credentials.Credentials{AccessKeyID: o.AccessKeyID, SecretAccessKey: o.SecretAccessKey, SessionToken: o.SessionToken},
		Service:     "ecr",
		Region:      region,
		Time:        now(),
	})
	if err != nil {
		return nil, fmt.Errorf("%s: sign: %w", what, err)
	}
	client := o.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("%s: read the answer: %w", what, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e apiError
		_ = json.Unmarshal(data, &e)
		kind := e.Type
		if i := strings.LastIndexByte(kind, '#'); i >= 0 {
			kind = kind[i+1:]
		}
		if kind == "" {
			kind = resp.Header.Get("X-Amzn-Errortype")
		}
		msg := e.Message
		if msg == "" {
			msg = e.Message2
		}
		if kind == "" && msg == "" {
			msg = strings.TrimSpace(string(data))
		}
		return nil, fmt.Errorf("%s: the key was refused: %s %s: %s", what, resp.Status, kind, msg)
	}
	var a answer
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, fmt.Errorf("%s: the answer is not GetAuthorizationToken's: %w", what, err)
	}
	if len(a.AuthorizationData) == 0 {
		return nil, fmt.Errorf("%s: the answer holds no authorization data", what)
	}
	d := a.AuthorizationData[0]
	raw, err := base64.StdEncoding.DecodeString(d.AuthorizationToken)
	if err != nil {
		return nil, fmt.Errorf("%s: the authorization token is not base64: %w", what, err)
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok || user == "" || pass == "" {
		return nil, fmt.Errorf("%s: the authorization token is not USER:PASSWORD", what)
	}
	t := &Token{Username: user, Password: pass, ProxyEndpoint: d.ProxyEndpoint}
	if d.ExpiresAt > 0 {
		t.ExpiresAt = time.Unix(0, int64(d.ExpiresAt*float64(time.Second))).UTC()
	}
	return t, nil
}
