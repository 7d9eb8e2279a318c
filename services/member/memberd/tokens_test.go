package memberd_test

import (
	"context"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/kittest"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/member"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

// TestMemberTokenLifetimes: the limits a token is issued within, and the member it may be
// issued to.
func TestMemberTokenLifetimes(t *testing.T) {
	if member.MaxTokenTTL != auth.MaxTokenTTL {
		t.Fatalf("the service issues up to %s, the verifiers accept %s", member.MaxTokenTTL, auth.MaxTokenTTL)
	}
	h, c := startKit(t)
	tokens := memberv1.NewMemberTokenServiceClient(h.Conn)
	m := register(t, h, c, "13800138301")
	svc := h.As(iamv1.Role_SERVICE)
	for _, tc := range []struct {
		name   string
		ttl    *durationpb.Duration
		code   codes.Code
		expire time.Duration
	}{
		{"default", nil, codes.OK, member.DefaultTokenTTL},
		{"30 days", durationpb.New(30 * 24 * time.Hour), codes.OK, 30 * 24 * time.Hour},
		{"31 days", durationpb.New(31 * 24 * time.Hour), codes.InvalidArgument, 0},
		{"negative", durationpb.New(-time.Second), codes.InvalidArgument, 0},
		{"invalid", &durationpb.Duration{Seconds: 1, Nanos: -1}, codes.InvalidArgument, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := tokens.IssueMemberToken(svc, &memberv1.IssueMemberTokenRequest{MemberId: m, Ttl: tc.ttl})
			if tc.code != codes.OK {
				kittest.WantErr(t, err, tc.code, "INVALID_ARGUMENT", "ttl")
				return
			}
			if err != nil || resp.GetTokenId() == "" || !resp.GetExpireTime().AsTime().Equal(h.Clock.Now().Add(tc.expire)) {
				t.Fatalf("issue: %v %v", resp, err)
			}
			if _, err := c.members.GetMember(kittest.Bearer(t.Context(), resp.GetToken()), &memberv1.GetMemberRequest{MemberId: m}); err != nil {
				t.Fatalf("the token does not work: %v", err)
			}
		})
	}
	_, err := tokens.IssueMemberToken(svc, &memberv1.IssueMemberTokenRequest{MemberId: "0190a0e0-0000-7000-8000-000000000000"})
	kittest.WantErr(t, err, codes.NotFound, "MEMBER_NOT_FOUND")
	if _, err := c.members.ChangeMemberStatus(h.As(iamv1.Role_OPERATOR), &memberv1.ChangeMemberStatusRequest{MemberId: m, Status: memberv1.Member_FROZEN}); err != nil {
		t.Fatal(err)
	}
	_, err = tokens.IssueMemberToken(svc, &memberv1.IssueMemberTokenRequest{MemberId: m})
	kittest.WantErr(t, err, codes.FailedPrecondition, "MEMBER_NOT_ACTIVE")
	_, err = tokens.IssueMemberToken(h.As(iamv1.Role_OPERATOR), &memberv1.IssueMemberTokenRequest{MemberId: m})
	kittest.WantErr(t, err, codes.PermissionDenied, "PERMISSION_DENIED")
	_, err = tokens.IssueMemberToken(h.AsMember(m), &memberv1.IssueMemberTokenRequest{MemberId: m})
	kittest.WantErr(t, err, codes.PermissionDenied, "PERMISSION_DENIED")
	_, err = tokens.CheckMemberToken(h.As(iamv1.Role_ADMIN), &memberv1.CheckMemberTokenRequest{MemberId: m, TokenId: "x"})
	kittest.WantErr(t, err, codes.PermissionDenied, "PERMISSION_DENIED")

	// A token signed with the shared secret but living ten years, or without an issue time, is
	// refused by every service, though its signature is good.
	secret := h.MemberTokenSecret()
	for name, claims := range map[string]jwt.MapClaims{
		"ten years": {"iss": "huiyuan", "sub": m, "tnt": kittest.Tenant, "jti": "0190a0e0-0000-7000-8000-000000000009",
			"iat": h.Clock.Now().Unix(), "exp": h.Clock.Now().AddDate(10, 0, 0).Unix()},
		"no issue time": {"iss": "huiyuan", "sub": m, "tnt": kittest.Tenant, "jti": "0190a0e0-0000-7000-8000-000000000009",
			"exp": h.Clock.Now().Add(time.Hour).Unix()},
	} {
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		ctx := kittest.Bearer(t.Context(), tok)
		_, err = c.members.GetMember(ctx, &memberv1.GetMemberRequest{MemberId: m})
		kittest.WantErr(t, err, codes.Unauthenticated, "INVALID_TOKEN")
		_, err = c.orders.GetPointsBalance(ctx, &loyaltyv1.GetPointsBalanceRequest{MemberId: m})
		kittest.WantErr(t, err, codes.Unauthenticated, "INVALID_TOKEN")
		t.Logf("%s: refused", name)
	}
}

// TestMemberTokenRevocation: one token, all of a member's (the member itself logging out
// everywhere), closing and erasure; each revoked token is refused at once by the member service
// and by loyalty, which verify tokens in one process; a retried revocation does not revoke the
// tokens issued since.
func TestMemberTokenRevocation(t *testing.T) {
	h, c := startKit(t)
	tokens := memberv1.NewMemberTokenServiceClient(h.Conn)
	svc := h.As(iamv1.Role_SERVICE)
	issue := func(m string) (session, string) {
		t.Helper()
		resp, err := tokens.IssueMemberToken(svc, &memberv1.IssueMemberTokenRequest{MemberId: m})
		if err != nil {
			t.Fatal(err)
		}
		return session{kittest.Bearer(t.Context(), resp.GetToken()), m}, resp.GetTokenId()
	}
	m := register(t, h, c, "13800138302")
	phone, phoneID := issue(m)
	laptop, _ := issue(m)
	phone.works(t, c)
	laptop.works(t, c)

	// Staff revoke the phone's token: refused everywhere, the laptop's goes on.
	rev, err := tokens.RevokeMemberToken(h.As(iamv1.Role_OPERATOR), &memberv1.RevokeMemberTokenRequest{RequestId: "r1", MemberId: m, TokenId: phoneID})
	if err != nil || rev.GetRevocation().GetTokenId() != phoneID {
		t.Fatalf("revoke: %v %v", rev, err)
	}
	phone.refused(t, c)
	laptop.works(t, c)
	_, err = tokens.RevokeMemberToken(svc, &memberv1.RevokeMemberTokenRequest{MemberId: m, TokenId: "not-an-id"})
	kittest.WantErr(t, err, codes.InvalidArgument, "INVALID_ARGUMENT", "token_id")

	// The member logs out everywhere with its own token; a token issued afterwards works, and a
	// retry of the same request does not log it out.
	other := register(t, h, c, "13800138303")
	_, err = tokens.RevokeMemberTokens(laptop.ctx, &memberv1.RevokeMemberTokensRequest{RequestId: "all-1", MemberId: other})
	kittest.WantErr(t, err, codes.PermissionDenied, "PERMISSION_DENIED")
	if _, err := tokens.RevokeMemberTokens(laptop.ctx, &memberv1.RevokeMemberTokensRequest{RequestId: "all-1", MemberId: m}); err != nil {
		t.Fatal(err)
	}
	laptop.refused(t, c)
	fresh, _ := issue(m)
	fresh.works(t, c)
	if _, err := tokens.RevokeMemberTokens(fresh.ctx, &memberv1.RevokeMemberTokensRequest{RequestId: "all-1", MemberId: m}); err != nil {
		t.Fatalf("retry: %v", err)
	}
	fresh.works(t, c)
	// kittest's own tokens (generation 0) went with the rest.
	_, err = c.members.GetMember(h.AsMember(m), &memberv1.GetMemberRequest{MemberId: m})
	kittest.WantErr(t, err, codes.Unauthenticated, "TOKEN_REVOKED")

	// Closing and erasure revoke every token of the member.
	closing, _ := issue(other)
	closing.works(t, c)
	if _, err := c.members.ChangeMemberStatus(h.As(iamv1.Role_OPERATOR), &memberv1.ChangeMemberStatusRequest{MemberId: other, Status: memberv1.Member_CLOSED}); err != nil {
		t.Fatal(err)
	}
	closing.refused(t, c)
	erased := register(t, h, c, "13800138304")
	erasing, _ := issue(erased)
	erasing.works(t, c)
	if _, err := c.members.EraseMember(erasing.ctx, &memberv1.EraseMemberRequest{MemberId: erased}); err != nil {
		t.Fatal(err)
	}
	erasing.refused(t, c)
	// A token for a member that never existed is refused too.
	_, err = c.orders.GetPointsBalance(h.AsMember("0190a0e0-0000-7000-8000-0000000000aa"), &loyaltyv1.GetPointsBalanceRequest{MemberId: "0190a0e0-0000-7000-8000-0000000000aa"})
	kittest.WantErr(t, err, codes.Unauthenticated, "TOKEN_REVOKED")

	evs := h.Events("member", kittest.Tenant)
	if n := count(evs, "member_tokens_revoked"); n != 4 {
		t.Fatalf("%d member_tokens_revoked events, want 4 (one, all, closing, erasure): %v", n, evs)
	}
}

// session is a member's app calling with one token.
type session struct {
	ctx    context.Context
	member string
}

// works checks that the token reaches the member service and loyalty.
func (s session) works(t *testing.T, c clients) {
	t.Helper()
	if _, err := c.members.GetMember(s.ctx, &memberv1.GetMemberRequest{MemberId: s.member}); err != nil {
		t.Fatalf("member service refused the token: %v", err)
	}
	if _, err := c.orders.GetPointsBalance(s.ctx, &loyaltyv1.GetPointsBalanceRequest{MemberId: s.member}); err != nil {
		t.Fatalf("loyalty refused the token: %v", err)
	}
}

// refused checks that both refuse the token as revoked.
func (s session) refused(t *testing.T, c clients) {
	t.Helper()
	_, err := c.members.GetMember(s.ctx, &memberv1.GetMemberRequest{MemberId: s.member})
	kittest.WantErr(t, err, codes.Unauthenticated, "TOKEN_REVOKED")
	_, err = c.orders.GetPointsBalance(s.ctx, &loyaltyv1.GetPointsBalanceRequest{MemberId: s.member})
	kittest.WantErr(t, err, codes.Unauthenticated, "TOKEN_REVOKED")
}
