package grpcapi

import (
	"context"
	"errors"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// ProgramStore is what ProgramServer needs of the loyalty store (*boltstore.Store). The
// programme use cases answer with the API's messages, which are also what a retried
// request_id replays.
type ProgramStore interface {
	Transfer(ctx context.Context, tenant, from, to string, points int64, reason, actor string) (*loyaltyv1.TransferPointsResponse, error)
	CheckIn(ctx context.Context, tenant, member, actor string) (*loyaltyv1.CheckInResponse, error)
	Liability(ctx context.Context, tenant string) (*loyaltyv1.GetPointsLiabilityResponse, error)
	CreateReward(ctx context.Context, tenant string, r *loyaltyv1.Reward) (*loyaltyv1.Reward, error)
	ListRewards(ctx context.Context, tenant string) ([]*loyaltyv1.Reward, error)
	RedeemReward(ctx context.Context, tenant, member, reward string, quantity int64, actor string) (*loyaltyv1.RewardRedemption, error)
	UpdateRedemption(ctx context.Context, tenant, id string, status loyaltyv1.RewardRedemption_Status, actor string) (*loyaltyv1.RewardRedemption, error)
	ListRedemptions(ctx context.Context, tenant, member string) ([]*loyaltyv1.RewardRedemption, error)
	GetPolicy(ctx context.Context, tenant string) (*loyaltyv1.LoyaltyPolicy, error)
	UpdatePolicy(ctx context.Context, tenant string, change func(cur *loyaltyv1.LoyaltyPolicy) (*loyaltyv1.LoyaltyPolicy, error)) (*loyaltyv1.LoyaltyPolicy, error)
}

// ProgramServer implements loyaltyv1.LoyaltyProgramServiceServer: transfers, check-in, the
// rewards catalogue and the points liability. Errors are *apperr.Error values (or wrap
// them) for grpcx to map, or internal errors that grpcx hides.
type ProgramServer struct {
	loyaltyv1.UnimplementedLoyaltyProgramServiceServer
	store ProgramStore
}

var _ loyaltyv1.LoyaltyProgramServiceServer = (*ProgramServer)(nil)

// NewProgramServer returns a ProgramServer over store. It fails on a nil store.
func NewProgramServer(store ProgramStore) (*ProgramServer, error) {
	if store == nil {
		return nil, errors.New("grpcapi.NewProgramServer: nil store")
	}
	return &ProgramServer{store: store}, nil
}

// TransferPoints implements LoyaltyProgramServiceServer. A member may send only its own
// points. Errors: Invalid on the request's fields, TRANSFER_TO_SELF; PermissionDenied for
// another member's points; the store's.
func (s *ProgramServer) TransferPoints(ctx context.Context, req *loyaltyv1.TransferPointsRequest) (*loyaltyv1.TransferPointsResponse, error) {
	tenant, actor, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var v apperr.Violations
	loyalty.CheckToken(&v, "to_member_id", req.GetToMemberId())
	loyalty.CheckPoints(&v, "points", req.GetPoints())
	loyalty.CheckText(&v, "reason", req.GetReason(), ledger.MaxReasonLen)
	if err := member(ctx, &v, req.GetMemberId()); err != nil {
		return nil, err
	}
	if req.GetMemberId() == req.GetToMemberId() {
		return nil, apperr.E(apperr.Invalid, ledger.ReasonTransferToSelf, "a member cannot transfer points to itself")
	}
	return s.store.Transfer(ctx, tenant, req.GetMemberId(), req.GetToMemberId(), req.GetPoints(), req.GetReason(), actor)
}

// CheckIn implements LoyaltyProgramServiceServer. Errors: Invalid on member_id;
// PermissionDenied for another member; the store's (FailedPrecondition ALREADY_CHECKED_IN).
func (s *ProgramServer) CheckIn(ctx context.Context, req *loyaltyv1.CheckInRequest) (*loyaltyv1.CheckInResponse, error) {
	tenant, actor, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var v apperr.Violations
	if err := member(ctx, &v, req.GetMemberId()); err != nil {
		return nil, err
	}
	return s.store.CheckIn(ctx, tenant, req.GetMemberId(), actor)
}

// GetPointsLiability implements LoyaltyProgramServiceServer. Errors: the store's.
func (s *ProgramServer) GetPointsLiability(ctx context.Context, _ *loyaltyv1.GetPointsLiabilityRequest) (*loyaltyv1.GetPointsLiabilityResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	return s.store.Liability(ctx, tenant)
}

// ProgramPolicy returns the roles allowed on each LoyaltyProgramService method.
func ProgramPolicy() auth.Policy {
	return auth.Policy{
		loyaltyv1.LoyaltyProgramService_TransferPoints_FullMethodName:         {admin, operator, service, self},
		loyaltyv1.LoyaltyProgramService_CheckIn_FullMethodName:                {admin, operator, service, self},
		loyaltyv1.LoyaltyProgramService_GetPointsLiability_FullMethodName:     {admin, analyst},
		loyaltyv1.LoyaltyProgramService_GetLoyaltyPolicy_FullMethodName:       {admin, operator, analyst},
		loyaltyv1.LoyaltyProgramService_UpdateLoyaltyPolicy_FullMethodName:    {admin},
		loyaltyv1.LoyaltyProgramService_CreateReward_FullMethodName:           {admin, operator},
		loyaltyv1.LoyaltyProgramService_ListRewards_FullMethodName:            {admin, operator, service, analyst, self},
		loyaltyv1.LoyaltyProgramService_RedeemReward_FullMethodName:           {admin, operator, service, self},
		loyaltyv1.LoyaltyProgramService_UpdateRewardRedemption_FullMethodName: {admin, operator, service},
		loyaltyv1.LoyaltyProgramService_ListRewardRedemptions_FullMethodName:  {admin, operator, service, analyst, self},
	}
}

// The roles of the programme policy.
const (
	admin    = iamv1.Role_ADMIN
	operator = iamv1.Role_OPERATOR
	service  = iamv1.Role_SERVICE
	analyst  = iamv1.Role_ANALYST
	self     = iamv1.Role_MEMBER
)
