package kit

import (
	"context"
	"crypto/tls"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"

	opsv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/ops/v1"
)

// serviceConn is a connection that authenticates as one service: each call carries a service
// token and the tenant of the principal in its context, replacing any credentials the context
// already carries.
type serviceConn struct {
	cc    grpc.ClientConnInterface
	token *tokenSource
}

func (c serviceConn) outgoing(ctx context.Context) (context.Context, error) {
	tok, err := c.token.get()
	if err != nil {
		return nil, err
	}
	tenant := auth.TenantOf(ctx)
	if tenant == "" {
		tenant = auth.DefaultTenant // calls about no tenant (authenticating a key) still name one
	}
	md, _ := metadata.FromOutgoingContext(ctx)
	md = md.Copy()
	md.Set(auth.MetadataKey, "Bearer "+tok)
	md.Set(auth.TenantMetadataKey, tenant)
	return metadata.NewOutgoingContext(ctx, md), nil
}

func (c serviceConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	ctx, err := c.outgoing(ctx)
	if err != nil {
		return err
	}
	return c.cc.Invoke(ctx, method, args, reply, opts...)
}

func (c serviceConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	ctx, err := c.outgoing(ctx)
	if err != nil {
		return nil, err
	}
	return c.cc.NewStream(ctx, desc, method, opts...)
}

// tokenSource issues one service's token and renews it well before it expires.
type tokenSource struct {
	service string
	tokens  *auth.ServiceTokens
	now     func() time.Time

	mu      sync.Mutex
	tok     string
	renewAt time.Time
}

func (s *tokenSource) get() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != "" && s.now().Before(s.renewAt) {
		return s.tok, nil
	}
	tok, exp, err := s.tokens.Issue(s.service)
	if err != nil {
		return "", err
	}
	s.tok, s.renewAt = tok, exp.Add(-exp.Sub(s.now())/2)
	return tok, nil
}

// dialer holds one network connection per address, shared by every service of the process.
type dialer struct {
	creds credentials.TransportCredentials

	mu    sync.Mutex
	conns map[string]*grpc.ClientConn
}

func newDialer(tlsCfg *tls.Config) *dialer {
	creds := insecure.NewCredentials()
	if tlsCfg != nil {
		creds = credentials.NewTLS(tlsCfg)
	}
	return &dialer{creds: creds, conns: make(map[string]*grpc.ClientConn)}
}

// conn returns the connection to addr, creating it on first use (grpc connects lazily).
func (d *dialer) conn(addr string) (*grpc.ClientConn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, ok := d.conns[addr]; ok {
		return c, nil
	}
	c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(d.creds))
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	d.conns[addr] = c
	return c, nil
}

func (d *dialer) close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var first error
	for addr, c := range d.conns {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
		delete(d.conns, addr)
	}
	return first
}

// opsFetcher fills a consumer's gaps from the producer's own log through its ListEvents.
type opsFetcher struct {
	client opsv1.OperationsServiceClient
}

// ListEvents implements eventlog.Fetcher.
func (f opsFetcher) ListEvents(ctx context.Context, service, tenant string, after uint64, limit int) ([]eventlog.Delivery, error) {
	ctx = auth.ServiceContext(ctx, tenant)
	resp, err := f.client.ListEvents(ctx, &opsv1.ListEventsRequest{Service: service, AfterSequence: after, PageSize: int32(limit)})
	if err != nil {
		return nil, fmt.Errorf("list %s events of %s after %d: %w", service, tenant, after, err)
	}
	out := make([]eventlog.Delivery, 0, len(resp.GetEvents()))
	for _, e := range resp.GetEvents() {
		out = append(out, eventlog.DeliveryFromEvent(service, tenant, e))
	}
	return out, nil
}
