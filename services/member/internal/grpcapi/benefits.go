package grpcapi

import (
	"context"
	"errors"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/ids"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/membership"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

// BenefitServer implements memberv1.BenefitServiceServer.
type BenefitServer struct {
	memberv1.UnimplementedBenefitServiceServer
	svc *membership.Service
}

var _ memberv1.BenefitServiceServer = (*BenefitServer)(nil)

// NewBenefitServer returns a BenefitServer over svc. It fails on a nil svc.
func NewBenefitServer(svc *membership.Service) (*BenefitServer, error) {
	if svc == nil {
		return nil, errors.New("grpcapi.NewBenefitServer: nil service")
	}
	return &BenefitServer{svc: svc}, nil
}

// CreateBenefit implements BenefitServiceServer.
func (s *BenefitServer) CreateBenefit(ctx context.Context, req *memberv1.CreateBenefitRequest) (*memberv1.CreateBenefitResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetBenefit() == nil {
		return nil, apperr.InvalidField("benefit", "is required")
	}
	v, err := s.svc.CreateBenefit(ctx, tenant, benefitFromProto(req.GetBenefit()))
	if err != nil {
		return nil, err
	}
	return &memberv1.CreateBenefitResponse{Benefit: benefitToProto(v)}, nil
}

// GetBenefit implements BenefitServiceServer.
func (s *BenefitServer) GetBenefit(ctx context.Context, req *memberv1.GetBenefitRequest) (*memberv1.GetBenefitResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseDefID("benefit_id", req.GetBenefitId(), membership.BenefitNotFound)
	if err != nil {
		return nil, err
	}
	v, err := s.svc.Benefit(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	return &memberv1.GetBenefitResponse{Benefit: benefitToProto(v)}, nil
}

// ListBenefits implements BenefitServiceServer.
func (s *BenefitServer) ListBenefits(ctx context.Context, _ *memberv1.ListBenefitsRequest) (*memberv1.ListBenefitsResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	vs, err := s.svc.Benefits(ctx, tenant)
	if err != nil {
		return nil, err
	}
	out := &memberv1.ListBenefitsResponse{Benefits: make([]*memberv1.Benefit, len(vs))}
	for i, v := range vs {
		out.Benefits[i] = benefitToProto(v)
	}
	return out, nil
}

// UpdateBenefit implements BenefitServiceServer.
func (s *BenefitServer) UpdateBenefit(ctx context.Context, req *memberv1.UpdateBenefitRequest) (*memberv1.UpdateBenefitResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetBenefit() == nil {
		return nil, apperr.InvalidField("benefit", "is required")
	}
	id, err := parseDefID("benefit.id", req.GetBenefit().GetId(), membership.BenefitNotFound)
	if err != nil {
		return nil, err
	}
	mask := updateMask(req.GetBenefit(), req.GetUpdateMask().GetPaths(), "open_complaints", "create_time", "update_time")
	v, err := s.svc.UpdateBenefit(ctx, tenant, id, benefitFromProto(req.GetBenefit()), mask)
	if err != nil {
		return nil, err
	}
	return &memberv1.UpdateBenefitResponse{Benefit: benefitToProto(v)}, nil
}

// DeleteBenefit implements BenefitServiceServer.
func (s *BenefitServer) DeleteBenefit(ctx context.Context, req *memberv1.DeleteBenefitRequest) (*memberv1.DeleteBenefitResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseDefID("benefit_id", req.GetBenefitId(), membership.BenefitNotFound)
	if err != nil {
		return nil, err
	}
	if err := s.svc.DeleteBenefit(ctx, tenant, id); err != nil {
		return nil, err
	}
	return &memberv1.DeleteBenefitResponse{}, nil
}

// ListMemberBenefits implements BenefitServiceServer.
func (s *BenefitServer) ListMemberBenefits(ctx context.Context, req *memberv1.ListMemberBenefitsRequest) (*memberv1.ListMemberBenefitsResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := self(ctx, req.GetMemberId())
	if err != nil {
		return nil, err
	}
	es, err := s.svc.MemberBenefits(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	out := &memberv1.ListMemberBenefitsResponse{Benefits: make([]*memberv1.BenefitEntitlement, len(es))}
	for i, e := range es {
		out.Benefits[i] = entitlementToProto(e)
	}
	return out, nil
}

// UseBenefit implements BenefitServiceServer.
func (s *BenefitServer) UseBenefit(ctx context.Context, req *memberv1.UseBenefitRequest) (*memberv1.UseBenefitResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := self(ctx, req.GetMemberId())
	if err != nil {
		return nil, err
	}
	benefit, err := parseDefID("benefit_id", req.GetBenefitId(), membership.BenefitNotFound)
	if err != nil {
		return nil, err
	}
	u, err := s.svc.UseBenefit(ctx, tenant, id, benefit, req.GetStoreId())
	if err != nil {
		return nil, err
	}
	return &memberv1.UseBenefitResponse{Use: useToProto(u)}, nil
}

// reporter names who records a complaint: the member, or the staff key.
func reporter(ctx context.Context) string {
	p, _ := auth.FromContext(ctx)
	if p.Role == iamv1.Role_MEMBER {
		return membership.ReporterMember
	}
	return p.KeyID
}

// CreateBenefitComplaint implements BenefitServiceServer.
func (s *BenefitServer) CreateBenefitComplaint(ctx context.Context, req *memberv1.CreateBenefitComplaintRequest) (*memberv1.CreateBenefitComplaintResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := self(ctx, req.GetMemberId())
	if err != nil {
		return nil, err
	}
	c := req.GetComplaint()
	if c == nil {
		return nil, apperr.InvalidField("complaint", "is required")
	}
	occur, err := timeOf(c.GetOccurTime(), "complaint.occur_time")
	if err != nil {
		return nil, err
	}
	out, err := s.svc.OpenComplaint(ctx, tenant, id, membership.Complaint{BenefitID: c.GetBenefitId(), StoreID: c.GetStoreId(),
		OccurTime: occur, Description: c.GetDescription()}, reporter(ctx))
	if err != nil {
		return nil, err
	}
	return &memberv1.CreateBenefitComplaintResponse{Complaint: complaintToProto(out)}, nil
}

// parseComplaintID reads a complaint id.
func parseComplaintID(id string) (string, error) {
	switch {
	case id == "":
		return "", apperr.InvalidField("complaint_id", "is required")
	case !ids.Valid(id):
		return "", membership.ComplaintNotFound(id)
	}
	return id, nil
}

// GetBenefitComplaint implements BenefitServiceServer.
func (s *BenefitServer) GetBenefitComplaint(ctx context.Context, req *memberv1.GetBenefitComplaintRequest) (*memberv1.GetBenefitComplaintResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseComplaintID(req.GetComplaintId())
	if err != nil {
		return nil, err
	}
	c, err := s.svc.Complaint(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	return &memberv1.GetBenefitComplaintResponse{Complaint: complaintToProto(c)}, nil
}

// ListBenefitComplaints implements BenefitServiceServer.
func (s *BenefitServer) ListBenefitComplaints(ctx context.Context, req *memberv1.ListBenefitComplaintsRequest) (*memberv1.ListBenefitComplaintsResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	cs, next, err := s.svc.Complaints(ctx, tenant, membership.ComplaintQuery{BenefitID: req.GetBenefitId(), MemberID: ids.Canonical(req.GetMemberId()),
		State: membership.ComplaintState(req.GetState()), PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken()})
	if err != nil {
		return nil, err
	}
	out := &memberv1.ListBenefitComplaintsResponse{Complaints: make([]*memberv1.BenefitComplaint, len(cs)), NextPageToken: next}
	for i, c := range cs {
		out.Complaints[i] = complaintToProto(c)
	}
	return out, nil
}

// ResolveBenefitComplaint implements BenefitServiceServer.
func (s *BenefitServer) ResolveBenefitComplaint(ctx context.Context, req *memberv1.ResolveBenefitComplaintRequest) (*memberv1.ResolveBenefitComplaintResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseComplaintID(req.GetComplaintId())
	if err != nil {
		return nil, err
	}
	c, err := s.svc.ResolveComplaint(ctx, tenant, id, req.GetNote(), reporter(ctx))
	if err != nil {
		return nil, err
	}
	return &memberv1.ResolveBenefitComplaintResponse{Complaint: complaintToProto(c)}, nil
}
