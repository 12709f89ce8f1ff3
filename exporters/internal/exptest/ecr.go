package exptest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// ECRAPI is an in-process Amazon ECR API that answers GetAuthorizationToken
// (the JSON protocol, as api.ecr.REGION.amazonaws.com does) for one AWS
// key, after checking the call's Signature Version 4 with the AWS SDK's
// own signer (an implementation other than the exporter's): a call signed
// with another secret, for another service or region, or with a changed
// body is refused as ECR refuses it. The token it gives is AWS:Password.
type ECRAPI struct {
	KeyID, Secret, Region string
	Password              string
	// Calls counts the calls whose signature verified.
	Calls atomic.Int32
}

// InFrontOf serves the ECR API's calls (POST / with an X-Amz-Target) and
// hands every other request to registry, so that one address is both.
func (e *ECRAPI) InFrontOf(registry http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.Header.Get("X-Amz-Target") != "" {
			e.ServeHTTP(w, r)
			return
		}
		registry.ServeHTTP(w, r)
	})
}

func ecrFail(w http.ResponseWriter, code int, kind, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Errortype", kind)
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": kind, "message": msg})
}

func (e *ECRAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		ecrFail(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	if t := r.Header.Get("X-Amz-Target"); t != "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken" {
		ecrFail(w, http.StatusBadRequest, "UnknownOperationException", t)
		return
	}
	if err := e.verify(r, body); err != nil {
		ecrFail(w, http.StatusForbidden, "InvalidSignatureException", err.Error())
		return
	}
	e.Calls.Add(1)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(map[string]any{"authorizationData": []map[string]any{{
		"authorizationToken": base64.StdEncoding.EncodeToString([]byte("AWS:" + e.Password)),
		"expiresAt":          float64(time.Now().Add(12*time.Hour).Unix()) + 0.5,
		"proxyEndpoint":      "https://" + r.Host,
	}}})
}

// verify recomputes the call's signature from the request as received,
// with the SDK's signer and the same signed headers, and compares.
func (e *ECRAPI) verify(r *http.Request, body []byte) error {
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return fmt.Errorf("not a Signature Version 4: %q", auth)
	}
	fields := map[string]string{}
	for _, f := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[0] != e.KeyID {
		return fmt.Errorf("The security token included in the request is invalid (credential %q)", fields["Credential"])
	}
	if scope[2] != e.Region || scope[3] != "ecr" || scope[4] != "aws4_request" {
		return fmt.Errorf("credential should be scoped to region %s and service ecr: %q", e.Region, fields["Credential"])
	}
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return fmt.Errorf("X-Amz-Date: %w", err)
	}
	sum := sha256.Sum256(body)
	check, err := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	signed := strings.Split(fields["SignedHeaders"], ";")
	for _, h := range signed {
		switch h {
		case "host":
		case "content-length":
		default:
			check.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	if !strings.Contains(";"+fields["SignedHeaders"]+";", ";content-length;") {
		check.ContentLength = 0 // the SDK signs a known length; the call did not
	}
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: e.KeyID, SecretAccessKey: e.Secret},
		check, hex.EncodeToString(sum[:]), "ecr", e.Region, when)
	if err != nil {
		return err
	}
	if want := check.Header.Get("Authorization"); want != auth {
		return fmt.Errorf("The request signature we calculated does not match the signature you provided (%s, we calculated %s)", auth, want)
	}
	return nil
}
