// Package iamd assembles the iam service: the API keys of every tenant (huiyuan.iam.v1
// ApiKeyService) and their authentication for the other services' processes (KeyAuthService).
// Keys are stored hashed in the service's own bbolt file; each creation and revocation is an
// event, and revocations make every other process drop the key from its cache at once.
package iamd

import (
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/auth/brokerapi"
	"github.com/huiyuan-dev/huiyuan/pkg/auth/keyapi"
	"github.com/huiyuan-dev/huiyuan/pkg/config"
	"github.com/huiyuan-dev/huiyuan/pkg/kit"
	"github.com/huiyuan-dev/huiyuan/pkg/natsx"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
)

// Name is the service's name.
const Name = kit.IAM

// Domain is the ErrorInfo domain of the service's errors.
const Domain = "iam.huiyuan.dev"

// Module returns the iam service for kit.Run.
func Module() kit.Service { return &service{} }

type service struct {
	adminKey     string
	tenantIssuer string
}

// Describe implements kit.Service.
func (s *service) Describe() kit.Description {
	return kit.Description{
		Name:   Name,
		Domain: Domain,
		APIs: []string{iamv1.ApiKeyService_ServiceDesc.ServiceName, iamv1.KeyAuthService_ServiceDesc.ServiceName,
			iamv1.BrokerCredentialService_ServiceDesc.ServiceName},
		Buckets: auth.Buckets(),
		Policy:  Policy(),
		Events:  true,
		Gateway: []kit.GatewayRoutes{
			func(ctx context.Context, mux *runtime.ServeMux, cc grpc.ClientConnInterface) error {
				return iamv1.RegisterApiKeyServiceHandlerClient(ctx, mux, iamv1.NewApiKeyServiceClient(cc))
			},
			func(ctx context.Context, mux *runtime.ServeMux, cc grpc.ClientConnInterface) error {
				return iamv1.RegisterBrokerCredentialServiceHandlerClient(ctx, mux, iamv1.NewBrokerCredentialServiceClient(cc))
			},
		},
	}
}

// Policy returns the roles of each method: keys are for admins; authenticating a key is for the
// other services (an Internal principal may call any listed method).
func Policy() auth.Policy {
	return auth.Merge(keyapi.Policy(), brokerapi.Policy(), auth.Policy{iamv1.KeyAuthService_AuthenticateKey_FullMethodName: {}})
}

// Flags implements kit.Service.
func (s *service) Flags(fs *flag.FlagSet) {
	fs.StringVar(&s.adminKey, "admin-key", "", "secret of an admin API key for the tenant \"default\", ensured at start; without it a first start creates one and prints it once")
	fs.StringVar(&s.tenantIssuer, "nats-tenant-issuer", "", "the broker's tenant issuer (huiyuan nats-setup's iam/tenant-issuer.json), to issue outside subscribers' credentials; empty: <data-dir>/iam/"+tenantIssuerFile+" (the embedded broker writes it), or none")
}

// tenantIssuerFile is the tenant issuer's file name in the service's directory.
const tenantIssuerFile = "nats-tenant-issuer.json"

// TenantIssuerPath is where the iam service looks for the broker's tenant issuer in its
// directory when --nats-tenant-issuer is not set.
func TenantIssuerPath(serviceDir string) string { return filepath.Join(serviceDir, tenantIssuerFile) }

// issuer loads the broker's tenant issuer; nil (issuing disabled) when there is none.
func (s *service) issuer(env kit.Env) (*natsx.TenantIssuer, error) {
	path := s.tenantIssuer
	if path == "" {
		path = TenantIssuerPath(env.DataDir)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			env.Logger.Info("no broker tenant issuer: outside subscribers' credentials cannot be issued here")
			return nil, nil
		}
	}
	ti, err := natsx.LoadTenantIssuer(path)
	if err != nil {
		return nil, fmt.Errorf("HUIYUAN_NATS_TENANT_ISSUER: %w", err)
	}
	return ti, nil
}

var _ kit.FlagChecker = (*service)(nil)

// CheckFlags implements kit.FlagChecker.
func (s *service) CheckFlags(p *config.Problems) {
	if s.adminKey != "" && len(s.adminKey) < auth.MinBootstrapSecret {
		p.Addf("HUIYUAN_ADMIN_KEY: want at least %d characters", auth.MinBootstrapSecret)
	}
}

// Start implements kit.Service.
func (s *service) Start(ctx context.Context, env kit.Env) (*kit.Running, error) {
	keys, err := auth.NewKeyStore(env.DB, env.Clock)
	if err != nil {
		return nil, err
	}
	if err := bootstrapAdmin(ctx, keys, s.adminKey, env.Stdout); err != nil {
		return nil, err
	}
	api := keyapi.New(keys, env.Clock, env.Log)
	authn := &keyAuth{keys: keys}
	ti, err := s.issuer(env)
	if err != nil {
		return nil, err
	}
	broker := brokerapi.New(ti, brokerapi.Options{URL: env.BrokerURL, Clock: env.Clock, Logger: env.Logger})
	return &kit.Running{
		Register: func(r grpc.ServiceRegistrar) {
			iamv1.RegisterApiKeyServiceServer(r, api)
			iamv1.RegisterKeyAuthServiceServer(r, authn)
			iamv1.RegisterBrokerCredentialServiceServer(r, broker)
		},
		Keys: keys,
		Jobs: []kit.Job{{Name: "idempotency pruning", Run: func(ctx context.Context) error {
			return kit.Every(ctx, pruneInterval, env.Logger, "prune request ids", func(ctx context.Context) error {
				_, err := api.Prune(ctx)
				return err
			})
		}}},
	}, nil
}

// pruneInterval is how often old idempotency records are deleted.
const pruneInterval = time.Hour

// bootstrapAdmin ensures the configured admin key, or on a first start without one creates an
// admin key for the tenant "default" and prints its secret once.
func bootstrapAdmin(ctx context.Context, keys *auth.KeyStore, secret string, out io.Writer) error {
	if secret != "" {
		_, err := keys.Bootstrap(ctx, auth.DefaultTenant, secret)
		return err
	}
	existing, err := keys.List(ctx, auth.DefaultTenant)
	if err != nil {
		return err
	}
	if len(existing) > 0 {
		return nil
	}
	rec, created, err := keys.Create(ctx, auth.DefaultTenant, "bootstrap admin", iamv1.Role_ADMIN)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Created admin API key %s for tenant %q. Its secret is shown only now:\n\n    %s\n\n",
		rec.GetId(), auth.DefaultTenant, created)
	return nil
}

// keyAuth serves KeyAuthService over the key store.
type keyAuth struct {
	iamv1.UnimplementedKeyAuthServiceServer
	keys *auth.KeyStore
}

// AuthenticateKey implements KeyAuthService.
//
// Errors: Invalid on secret_hash when it is not 32 bytes; Unauthenticated INVALID_API_KEY for an
// unknown or revoked key.
func (k *keyAuth) AuthenticateKey(ctx context.Context, req *iamv1.AuthenticateKeyRequest) (*iamv1.AuthenticateKeyResponse, error) {
	var h [sha256.Size]byte
	if len(req.GetSecretHash()) != len(h) {
		return nil, apperr.InvalidField("secret_hash", "must be the 32-byte SHA-256 of a secret")
	}
	copy(h[:], req.GetSecretHash())
	p, err := k.keys.AuthenticateHash(ctx, h)
	if err != nil {
		return nil, err
	}
	return &iamv1.AuthenticateKeyResponse{KeyId: p.KeyID, Tenant: p.Tenant, Role: p.Role, RateLimit: int32(p.RateLimit)}, nil
}
