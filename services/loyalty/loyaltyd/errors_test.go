package loyaltyd_test

import (
	"context"
	"errors"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/huiyuan-dev/huiyuan/pkg/kittest"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/loyaltyd"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

func TestErrors(t *testing.T) {
	h := start(t, kittest.Options{})
	m1 := h.NewMember(t)
	op := h.As(iamv1.Role_OPERATOR)
	long := strings.Repeat("x", 129)
	cases := []struct {
		name   string
		call   func() error
		code   codes.Code
		reason string
		fields []string
	}{
		{"no credentials", func() error {
			_, err := h.points().GetPointsBalance(context.Background(), &loyaltyv1.GetPointsBalanceRequest{MemberId: m1})
			return err
		}, codes.Unauthenticated, "UNAUTHENTICATED", nil},
		{"missing order", func() error {
			_, err := h.points().RecordOrder(op, &loyaltyv1.RecordOrderRequest{})
			return err
		}, codes.InvalidArgument, "INVALID_ARGUMENT", []string{"order"}},
		{"bad order", func() error {
			_, err := h.points().RecordOrder(op, &loyaltyv1.RecordOrderRequest{Order: &loyaltyv1.Order{Id: "has space", MemberId: long,
				AmountMinor: 0, Currency: "cny", StoreId: "s/1"}})
			return err
		}, codes.InvalidArgument, "INVALID_ARGUMENT", []string{"order.id", "order.member_id", "order.store_id", "order.amount_minor", "order.currency"}},
		{"bad items", func() error {
			_, err := h.points().RecordOrder(op, &loyaltyv1.RecordOrderRequest{Order: &loyaltyv1.Order{Id: "o", AmountMinor: 100, Currency: "CNY",
				Items: []*loyaltyv1.OrderItem{{Sku: "a", Quantity: 0, UnitPriceMinor: -1}}}})
			return err
		}, codes.InvalidArgument, "", []string{"order.items[0].quantity", "order.items[0].unit_price_minor"}},
		{"order from the future", func() error {
			_, err := h.points().RecordOrder(op, &loyaltyv1.RecordOrderRequest{Order: &loyaltyv1.Order{Id: "o", AmountMinor: 100, Currency: "CNY",
				CreateTime: timestamppb.New(t0.Add(6 * time.Minute))}})
			return err
		}, codes.InvalidArgument, "ORDER_TIME_OUT_OF_RANGE", []string{"order.create_time"}},
		{"order too old", func() error {
			_, err := h.points().RecordOrder(op, &loyaltyv1.RecordOrderRequest{Order: &loyaltyv1.Order{Id: "o", AmountMinor: 100, Currency: "CNY",
				CreateTime: timestamppb.New(t0.AddDate(0, 0, -91))}})
			return err
		}, codes.InvalidArgument, "ORDER_TIME_OUT_OF_RANGE", []string{"order.create_time"}},
		{"order in a currency not accepted", func() error {
			_, err := h.points().RecordOrder(op, &loyaltyv1.RecordOrderRequest{Order: &loyaltyv1.Order{Id: "o", MemberId: "m1", AmountMinor: 100, Currency: "USD"}})
			return err
		}, codes.InvalidArgument, "CURRENCY_NOT_ACCEPTED", []string{"order.currency"}},
		{"items over the amount", func() error {
			_, err := h.points().RecordOrder(op, &loyaltyv1.RecordOrderRequest{Order: &loyaltyv1.Order{Id: "o", MemberId: "m1", AmountMinor: 100, Currency: "CNY",
				Items: []*loyaltyv1.OrderItem{{Sku: "a", Quantity: 3, UnitPriceMinor: 34}}}})
			return err
		}, codes.InvalidArgument, "ITEMS_EXCEED_AMOUNT", []string{"order.items"}},
		{"bad order id", func() error {
			_, err := h.points().GetOrder(op, &loyaltyv1.GetOrderRequest{Id: long})
			return err
		}, codes.InvalidArgument, "", []string{"id"}},
		{"refund nothing", func() error {
			_, err := h.points().RefundOrder(op, &loyaltyv1.RefundOrderRequest{Id: "o", AmountMinor: 0})
			return err
		}, codes.InvalidArgument, "", []string{"amount_minor"}},
		{"balance without member", func() error {
			_, err := h.points().GetPointsBalance(op, &loyaltyv1.GetPointsBalanceRequest{})
			return err
		}, codes.InvalidArgument, "", []string{"member_id"}},
		{"negative page size", func() error {
			_, err := h.points().ListPointsTransactions(op, &loyaltyv1.ListPointsTransactionsRequest{MemberId: m1, PageSize: -1})
			return err
		}, codes.InvalidArgument, "", []string{"page_size"}},
		{"garbage page token", func() error {
			_, err := h.points().ListPointsTransactions(op, &loyaltyv1.ListPointsTransactionsRequest{MemberId: m1, PageToken: "%%%"})
			return err
		}, codes.InvalidArgument, "INVALID_PAGE_TOKEN", []string{"page_token"}},
		{"redeem zero", func() error {
			_, err := h.points().RedeemPoints(op, &loyaltyv1.RedeemPointsRequest{MemberId: m1, Points: 0, Reason: strings.Repeat("r", 501)})
			return err
		}, codes.InvalidArgument, "", []string{"points", "reason"}},
		{"redeem more than there is", func() error {
			_, err := h.points().RedeemPoints(op, &loyaltyv1.RedeemPointsRequest{MemberId: m1, Points: 1})
			return err
		}, codes.FailedPrecondition, "INSUFFICIENT_POINTS", nil},
		{"adjust without reason", func() error {
			_, err := h.points().AdjustPoints(h.As(iamv1.Role_ADMIN), &loyaltyv1.AdjustPointsRequest{MemberId: m1, Points: 0})
			return err
		}, codes.InvalidArgument, "", []string{"points", "reason"}},
		{"hold in the past", func() error {
			_, err := h.points().HoldPoints(op, &loyaltyv1.HoldPointsRequest{MemberId: m1, Points: 1, ExpireTime: timestamppb.New(t0.Add(-time.Minute))})
			return err
		}, codes.InvalidArgument, "", []string{"expire_time"}},
		{"hold too long", func() error {
			_, err := h.points().HoldPoints(op, &loyaltyv1.HoldPointsRequest{MemberId: m1, Points: 1, ExpireTime: timestamppb.New(t0.Add(8 * 24 * time.Hour))})
			return err
		}, codes.InvalidArgument, "", []string{"expire_time"}},
		{"hold bad reference", func() error {
			_, err := h.points().HoldPoints(op, &loyaltyv1.HoldPointsRequest{MemberId: m1, Points: 1, Reference: "a\x01b"})
			return err
		}, codes.InvalidArgument, "", []string{"reference"}},
		{"capture without hold id", func() error {
			_, err := h.points().CaptureHold(op, &loyaltyv1.CaptureHoldRequest{MemberId: m1, Points: -1})
			return err
		}, codes.InvalidArgument, "", []string{"hold_id", "points"}},
		{"release unknown hold", func() error {
			_, err := h.points().ReleaseHold(op, &loyaltyv1.ReleaseHoldRequest{MemberId: m1, HoldId: "h"})
			return err
		}, codes.NotFound, "HOLD_NOT_FOUND", nil},
		{"bad request id", func() error {
			_, err := h.points().RedeemPoints(op, &loyaltyv1.RedeemPointsRequest{MemberId: m1, Points: 1, RequestId: "has space"})
			return err
		}, codes.InvalidArgument, "", []string{"request_id"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { kittest.WantErr(t, tc.call(), tc.code, tc.reason, tc.fields...) })
	}
	if evs := h.events(t); len(evs) != 0 {
		t.Fatalf("failed calls recorded events %v", evs)
	}
}

// TestRoles calls every method with every role and checks PermissionDenied exactly where the
// policy (or a member's reach to itself only) says so.
func TestRoles(t *testing.T) {
	h := start(t, kittest.Options{})
	policy := loyaltyd.Policy()
	// fresh returns a member with 1000 points and an open hold.
	fresh := func(t *testing.T) (string, string) {
		id := h.NewMember(t)
		h.adjust(t, id, 1000)
		resp, err := h.points().HoldPoints(h.As(iamv1.Role_SERVICE), &loyaltyv1.HoldPointsRequest{MemberId: id, Points: 10})
		if err != nil {
			t.Fatal(err)
		}
		return id, resp.GetHold().GetId()
	}
	calls := map[string]func(ctx context.Context, member, hold string) error{
		loyaltyv1.LoyaltyService_RecordOrder_FullMethodName: func(ctx context.Context, member, _ string) error {
			_, err := h.points().RecordOrder(ctx, &loyaltyv1.RecordOrderRequest{Order: &loyaltyv1.Order{Id: "o-" + member, MemberId: member, AmountMinor: 100, Currency: "CNY"}})
			return err
		},
		loyaltyv1.LoyaltyService_BatchRecordOrders_FullMethodName: func(ctx context.Context, member, _ string) error {
			_, err := h.points().BatchRecordOrders(ctx, &loyaltyv1.BatchRecordOrdersRequest{Orders: []*loyaltyv1.Order{
				{Id: "b-" + member, MemberId: member, AmountMinor: 100, Currency: "CNY"}}})
			return err
		},
		loyaltyv1.LoyaltyService_StreamRecordOrders_FullMethodName: func(ctx context.Context, member, _ string) error {
			stream, err := h.points().StreamRecordOrders(ctx)
			if err != nil {
				return err
			}
			if err := stream.Send(&loyaltyv1.StreamRecordOrdersRequest{Orders: []*loyaltyv1.Order{
				{Id: "s-" + member, MemberId: member, AmountMinor: 100, Currency: "CNY"}}}); err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			// A Send that meets io.EOF means the server has already ended the
			// stream (a denied call); its status comes from CloseAndRecv.
			_, err = stream.CloseAndRecv()
			return err
		},
		loyaltyv1.LoyaltyService_GetOrder_FullMethodName: func(ctx context.Context, _, _ string) error {
			_, err := h.points().GetOrder(ctx, &loyaltyv1.GetOrderRequest{Id: "roles-order"})
			return err
		},
		loyaltyv1.LoyaltyService_RefundOrder_FullMethodName: func(ctx context.Context, member, _ string) error {
			h.order(t, "r-"+member, member, 1000)
			_, err := h.points().RefundOrder(ctx, &loyaltyv1.RefundOrderRequest{Id: "r-" + member, AmountMinor: 1})
			return err
		},
		loyaltyv1.LoyaltyService_GetPointsBalance_FullMethodName: func(ctx context.Context, member, _ string) error {
			_, err := h.points().GetPointsBalance(ctx, &loyaltyv1.GetPointsBalanceRequest{MemberId: member})
			return err
		},
		loyaltyv1.LoyaltyService_ListPointsTransactions_FullMethodName: func(ctx context.Context, member, _ string) error {
			_, err := h.points().ListPointsTransactions(ctx, &loyaltyv1.ListPointsTransactionsRequest{MemberId: member})
			return err
		},
		loyaltyv1.LoyaltyService_RedeemPoints_FullMethodName: func(ctx context.Context, member, _ string) error {
			_, err := h.points().RedeemPoints(ctx, &loyaltyv1.RedeemPointsRequest{MemberId: member, Points: 1})
			return err
		},
		loyaltyv1.LoyaltyService_AdjustPoints_FullMethodName: func(ctx context.Context, member, _ string) error {
			_, err := h.points().AdjustPoints(ctx, &loyaltyv1.AdjustPointsRequest{MemberId: member, Points: 1, Reason: "r"})
			return err
		},
		loyaltyv1.LoyaltyService_HoldPoints_FullMethodName: func(ctx context.Context, member, _ string) error {
			_, err := h.points().HoldPoints(ctx, &loyaltyv1.HoldPointsRequest{MemberId: member, Points: 1})
			return err
		},
		loyaltyv1.LoyaltyService_CaptureHold_FullMethodName: func(ctx context.Context, member, hold string) error {
			_, err := h.points().CaptureHold(ctx, &loyaltyv1.CaptureHoldRequest{MemberId: member, HoldId: hold})
			return err
		},
		loyaltyv1.LoyaltyService_ReleaseHold_FullMethodName: func(ctx context.Context, member, hold string) error {
			_, err := h.points().ReleaseHold(ctx, &loyaltyv1.ReleaseHoldRequest{MemberId: member, HoldId: hold})
			return err
		},
		loyaltyv1.LoyaltyService_VerifyLedger_FullMethodName: func(ctx context.Context, _, _ string) error {
			_, err := h.points().VerifyLedger(ctx, &loyaltyv1.VerifyLedgerRequest{})
			return err
		},
	}
	maps.Copy(calls, programCalls(t, h))
	if len(calls) != len(policy) {
		t.Fatalf("policy lists %d methods, the test %d", len(policy), len(calls))
	}
	h.order(t, "roles-order", "", 100)
	roles := []iamv1.Role{iamv1.Role_ADMIN, iamv1.Role_OPERATOR, iamv1.Role_SERVICE, iamv1.Role_ANALYST, iamv1.Role_MEMBER}
	for method, call := range calls {
		for _, role := range roles {
			t.Run(method+"/"+role.String(), func(t *testing.T) {
				member, hold := fresh(t)
				ctx := h.As(role)
				if role == iamv1.Role_MEMBER {
					ctx = h.AsMember(member)
				}
				err := call(ctx, member, hold)
				allowed := slices.Contains(policy[method], role)
				if allowed && err != nil {
					t.Fatalf("allowed call failed: %v", err)
				}
				if !allowed && status.Code(err) != codes.PermissionDenied {
					t.Fatalf("denied call: %v, want PermissionDenied", err)
				}
				// The catalogue is the tenant's, not a member's: it has no other member to deny.
				if role == iamv1.Role_MEMBER && allowed && method != loyaltyv1.LoyaltyProgramService_ListRewards_FullMethodName {
					other, otherHold := fresh(t)
					kittest.WantErr(t, call(ctx, other, otherHold), codes.PermissionDenied, "PERMISSION_DENIED")
				}
			})
		}
	}
}
