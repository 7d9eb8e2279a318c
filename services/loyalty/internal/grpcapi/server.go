// Package grpcapi serves huiyuan.loyalty.v1.LoyaltyService over the loyalty store: request
// validation with the request's field names, proto to domain mapping, and a member's reach to
// its own points. Authentication, the method policy, idempotency keys and error mapping come
// from the pkg/grpcx interceptors.
package grpcapi

import (
	"context"
	"errors"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// Store is what the server needs of the loyalty store (*boltstore.Store). tenant is the
// caller's; actor is who asked (an API key id or a member id), recorded in transactions.
type Store interface {
	RecordOrder(ctx context.Context, tenant string, o loyalty.Order, actor string) (loyalty.Order, error)
	GetOrder(ctx context.Context, tenant, id string) (loyalty.Order, error)
	RefundOrder(ctx context.Context, tenant, id string, amount int64, actor string) (loyalty.RefundResult, error)
	Balance(ctx context.Context, tenant, member string) (loyalty.Balance, error)
	ListTransactions(ctx context.Context, tenant, member string, size int, token string) ([]loyalty.Txn, string, error)
	Redeem(ctx context.Context, tenant, member string, points int64, reason, actor string) (loyalty.Txn, error)
	Adjust(ctx context.Context, tenant, member string, points int64, reason, actor string) (loyalty.Txn, error)
	Hold(ctx context.Context, tenant, member string, points int64, expires time.Time, reference, actor string) (loyalty.Hold, error)
	Capture(ctx context.Context, tenant, member, id string, points int64) (loyalty.Hold, error)
	Release(ctx context.Context, tenant, member, id, actor string) (loyalty.Hold, error)
	Verify(ctx context.Context, tenant string) (loyalty.VerifyReport, error)
}

// Page sizes of ListPointsTransactions.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// Server implements loyaltyv1.LoyaltyServiceServer. Every error it returns is an
// *apperr.Error (or wraps one) for grpcx to map, or an internal error that grpcx hides.
type Server struct {
	loyaltyv1.UnimplementedLoyaltyServiceServer
	store Store
	clock clock.Clock
}

var _ loyaltyv1.LoyaltyServiceServer = (*Server)(nil)

// New returns a Server over store. It fails on a nil store or clock.
func New(store Store, clk clock.Clock) (*Server, error) {
	if store == nil || clk == nil {
		return nil, errors.New("grpcapi.New: nil store or clock")
	}
	return &Server{store: store, clock: clk}, nil
}

// caller returns the tenant and the actor (API key id or member id) of the authenticated caller.
func caller(ctx context.Context) (tenant, actor string, err error) {
	p, ok := auth.FromContext(ctx)
	if !ok || p.Tenant == "" {
		return "", "", apperr.E(apperr.Unauthenticated, auth.ReasonUnauthenticated, "credentials required")
	}
	actor = p.KeyID
	if actor == "" {
		actor = p.MemberID
	}
	return p.Tenant, actor, nil
}

// member checks the member_id of a request and that the caller may act on it.
func member(ctx context.Context, v *apperr.Violations, id string) error {
	loyalty.CheckToken(v, "member_id", id)
	if err := v.Err(); err != nil {
		return err
	}
	return auth.RequireSelf(ctx, id)
}
