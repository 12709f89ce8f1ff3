package container

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/habgo/hab/exporters/ecr"
)

// Registry types of --registry-type, as the original's.
const (
	RegistryDocker = "docker"
	RegistryAzure  = "azure"
	RegistryAmazon = "amazon"
)

// Registry is where a push signs in: the original's --registry-type,
// --registry-url, --username and --password.
type Registry struct {
	Type     string // RegistryDocker ("" too), RegistryAzure or RegistryAmazon
	URL      string
	Username string
	Password string
	// ECR says where an amazon registry's token is asked for; its key is
	// Username and Password.
	ECR ecr.Options
}

// Remote is how a push to r signs in. docker and azure: Username and
// Password (the original's base64 user:pass), else the docker config's
// credentials for the registry (DOCKER_CONFIG, ~/.docker/config.json).
// amazon: Username and Password are an AWS access key that signs ECR's
// GetAuthorizationToken, and the push uses the token it answers.
func (r Registry) Remote(ctx context.Context) ([]remote.Option, error) {
	switch r.Type {
	case "", RegistryDocker, RegistryAzure:
		if r.Username == "" && r.Password == "" {
			return []remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain)}, nil
		}
		return []remote.Option{remote.WithAuth(&authn.Basic{Username: r.Username, Password: r.Password})}, nil
	case RegistryAmazon:
		o := r.ECR
		o.AccessKeyID, o.SecretAccessKey = r.Username, r.Password
		tok, err := ecr.Login(ctx, r.URL, o)
		if err != nil {
			return nil, fmt.Errorf("sign in to the registry %s: %w", r.URL, err)
		}
		return []remote.Option{remote.WithAuth(tok.Authenticator())}, nil
	}
	return nil, fmt.Errorf("registry type %q: one of %s, %s, %s", r.Type, RegistryDocker, RegistryAzure, RegistryAmazon)
}
