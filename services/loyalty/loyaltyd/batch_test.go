package loyaltyd_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/huiyuan-dev/huiyuan/pkg/kittest"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/loyaltyd"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// errorOf returns a result's error: its code, the ErrorInfo reason and domain, and the field
// violations.
func errorOf(t *testing.T, r *loyaltyv1.OrderResult) (codes.Code, string, string, []string) {
	t.Helper()
	st := r.GetError()
	if st == nil {
		t.Fatalf("result %v has no error", r)
	}
	var reason, domain string
	var fields []string
	for _, d := range st.GetDetails() {
		m, err := d.UnmarshalNew()
		if err != nil {
			t.Fatal(err)
		}
		switch m := m.(type) {
		case *errdetails.ErrorInfo:
			reason, domain = m.GetReason(), m.GetDomain()
		case *errdetails.BadRequest:
			for _, v := range m.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	return codes.Code(st.GetCode()), reason, domain, fields
}

// deterministic re-packs the details of each status deterministically, so that two answers with
// the same content compare equal (protobuf encodes a map, such as ErrorInfo's metadata, in any
// order).
func deterministic(t *testing.T, sts ...*loyaltyv1.Status) {
	t.Helper()
	for _, st := range sts {
		for i, d := range st.GetDetails() {
			m, err := d.UnmarshalNew()
			if err != nil {
				t.Fatal(err)
			}
			a := &anypb.Any{}
			if err := anypb.MarshalFrom(a, m, proto.MarshalOptions{Deterministic: true}); err != nil {
				t.Fatal(err)
			}
			st.Details[i] = a
		}
	}
}

// resultErrors returns the statuses of a batch's results.
func resultErrors(rs []*loyaltyv1.OrderResult) []*loyaltyv1.Status {
	var out []*loyaltyv1.Status
	for _, r := range rs {
		if st := r.GetError(); st != nil {
			out = append(out, st)
		}
	}
	return out
}

// failureErrors returns the statuses of a stream's failures.
func failureErrors(fs []*loyaltyv1.OrderFailure) []*loyaltyv1.Status {
	var out []*loyaltyv1.Status
	for _, f := range fs {
		out = append(out, f.GetError())
	}
	return out
}

// TestBatchRecordOrders: a result per order in request order, each recorded or refused on its
// own as RecordOrder would, idempotent by order id and by the batch's request_id.
func TestBatchRecordOrders(t *testing.T) {
	h := start(t, kittest.Options{})
	m1 := h.NewMember(t)
	m2 := h.NewMember(t)
	h.order(t, "before", m1, 500)
	req := &loyaltyv1.BatchRecordOrdersRequest{RequestId: "batch-1", Orders: []*loyaltyv1.Order{
		{Id: "b1", MemberId: m1, AmountMinor: 10_000, Currency: "CNY"},
		{Id: "b2", MemberId: m2, AmountMinor: 20_000, Currency: "CNY", StoreId: "s1"},
		{Id: "b3", MemberId: m2, AmountMinor: -1, Currency: "CNY"},
		{Id: "before", MemberId: m1, AmountMinor: 600, Currency: "CNY"},
		{Id: "guest", AmountMinor: 9_900, Currency: "CNY"},
		{Id: "b6", MemberId: m1, AmountMinor: 10_000, Currency: "USD"},
		{Id: "b7", MemberId: m1, AmountMinor: 100, Currency: "CNY", Items: []*loyaltyv1.OrderItem{{Sku: "a", Quantity: 2, UnitPriceMinor: 51}}},
		{Id: "b8", MemberId: m1, AmountMinor: 100, Currency: "CNY", CreateTime: timestamppb.New(t0.Add(time.Hour))},
	}}
	resp, err := h.points().BatchRecordOrders(h.As(iamv1.Role_SERVICE), req)
	if err != nil {
		t.Fatal(err)
	}
	rs := resp.GetResults()
	if len(rs) != 8 || rs[0].GetPointsEarned() != 100 || rs[1].GetOrder().GetStoreId() != "s1" || rs[1].GetPointsEarned() != 200 ||
		rs[4].GetOrder().GetId() != "guest" || rs[4].PointsEarned == nil || rs[4].GetPointsEarned() != 0 {
		t.Fatalf("results %v", rs)
	}
	if c, reason, domain, fields := errorOf(t, rs[2]); c != codes.InvalidArgument || reason != "INVALID_ARGUMENT" ||
		domain != loyaltyd.Domain || !slices.Equal(fields, []string{"orders[2].amount_minor"}) {
		t.Fatalf("bad order: %v %s %s %v", c, reason, domain, fields)
	}
	if c, reason, _, fields := errorOf(t, rs[3]); c != codes.AlreadyExists || reason != "ORDER_EXISTS" || !slices.Equal(fields, []string{"orders[3].id"}) {
		t.Fatalf("taken id: %v %s %v", c, reason, fields)
	}
	for i, w := range map[int][2]string{5: {"CURRENCY_NOT_ACCEPTED", "orders[5].currency"}, 6: {"ITEMS_EXCEED_AMOUNT", "orders[6].items"},
		7: {"ORDER_TIME_OUT_OF_RANGE", "orders[7].create_time"}} {
		if c, reason, _, fields := errorOf(t, rs[i]); c != codes.InvalidArgument || reason != w[0] || !slices.Equal(fields, []string{w[1]}) {
			t.Fatalf("order %d: %v %s %v, want %v", i, c, reason, fields, w)
		}
	}
	again, err := h.points().BatchRecordOrders(h.As(iamv1.Role_SERVICE), req)
	if err != nil {
		t.Fatal(err)
	}
	deterministic(t, append(resultErrors(again.GetResults()), resultErrors(resp.GetResults())...)...)
	if !proto.Equal(again, resp) {
		t.Fatalf("retry: %v\n%v\nwant\n%v", err, again, resp)
	}
	req.Orders = req.Orders[:1]
	_, err = h.points().BatchRecordOrders(h.As(iamv1.Role_SERVICE), req)
	kittest.WantErr(t, err, codes.InvalidArgument, "REQUEST_ID_REUSED", "request_id")
	big := &loyaltyv1.BatchRecordOrdersRequest{}
	for i := range 1001 {
		big.Orders = append(big.Orders, &loyaltyv1.Order{Id: fmt.Sprint("x", i), AmountMinor: 1, Currency: "CNY"})
	}
	_, err = h.points().BatchRecordOrders(h.As(iamv1.Role_SERVICE), big)
	kittest.WantErr(t, err, codes.InvalidArgument, "", "orders")
	if b := h.balance(t, m1); b.GetAvailable() != 105 {
		t.Fatalf("m1 %v", b)
	}
	if n := count(h.events(t), "order_recorded"); n != 4 {
		t.Fatalf("%d orders recorded, want 4", n)
	}
	h.verify(t)
}

// TestStreamRecordOrders streams a till's backlog across several commits: every good order is
// recorded once, failures come back by their index in the stream, and streaming it again
// records nothing twice.
func TestStreamRecordOrders(t *testing.T) {
	h := start(t, kittest.Options{})
	members := h.NewMembers(t, 7)
	send := func() *loyaltyv1.StreamRecordOrdersResponse {
		t.Helper()
		stream, err := h.points().StreamRecordOrders(h.As(iamv1.Role_SERVICE))
		if err != nil {
			t.Fatal(err)
		}
		for m := range 4 {
			msg := &loyaltyv1.StreamRecordOrdersRequest{}
			for i := range 300 {
				n := m*300 + i
				o := &loyaltyv1.Order{Id: fmt.Sprint("till-", n), MemberId: members[n%7], AmountMinor: 1_000, Currency: "CNY"}
				switch n {
				case 777:
					o.Currency = "cny"
				case 901:
					o.Currency = "EUR"
				}
				msg.Orders = append(msg.Orders, o)
			}
			if err := stream.Send(msg); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := stream.CloseAndRecv()
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	first := send()
	fs := first.GetFailures()
	if first.GetRecorded() != 1198 || first.GetPointsEarned() != 1198*10 || len(fs) != 2 ||
		fs[0].GetIndex() != 777 || fs[0].GetOrderId() != "till-777" || fs[0].GetError().GetCode() != int32(codes.InvalidArgument) ||
		fs[1].GetIndex() != 901 || fs[1].GetOrderId() != "till-901" {
		t.Fatalf("first stream %v", first)
	}
	// A failure's fields are named by its index in the stream, across commits (proto paths:
	// this is gRPC).
	if _, reason, _, fields := errorOf(t, &loyaltyv1.OrderResult{Result: &loyaltyv1.OrderResult_Error{Error: fs[1].GetError()}}); reason != "CURRENCY_NOT_ACCEPTED" ||
		!slices.Equal(fields, []string{"orders[901].currency"}) {
		t.Fatalf("stream failure %s %v", reason, fields)
	}
	again := send()
	deterministic(t, append(failureErrors(again.GetFailures()), failureErrors(first.GetFailures())...)...)
	if !proto.Equal(again, first) {
		t.Fatalf("streamed again %v, want %v", again, first)
	}
	var total int64
	for m := range 7 {
		total += h.balance(t, members[m]).GetAvailable()
	}
	if total != 1198*10 {
		t.Fatalf("points %d", total)
	}
	if n := count(h.events(t), "order_recorded"); n != 1198 {
		t.Fatalf("%d orders recorded", n)
	}
	h.verify(t)
}

// TestMemberIDTheMemberServiceRefuses: a member id loyalty accepts (up to 128 characters) but
// the member service refuses as malformed (more than 64) names no member: its order is refused
// MEMBER_NOT_FOUND, alone or in a batch whose other orders are recorded, never Unavailable
// (which a till would retry forever).
func TestMemberIDTheMemberServiceRefuses(t *testing.T) {
	h := start(t, kittest.Options{})
	m1 := h.NewMember(t)
	bad := strings.Repeat("m", 80)
	svc := h.As(iamv1.Role_SERVICE)

	_, err := h.points().RecordOrder(svc, &loyaltyv1.RecordOrderRequest{
		Order: &loyaltyv1.Order{Id: "alone", MemberId: bad, AmountMinor: 10_000, Currency: "CNY"}})
	if status.Code(err) != codes.NotFound || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("RecordOrder: %v, want NotFound", err)
	}

	resp, err := h.points().BatchRecordOrders(svc, &loyaltyv1.BatchRecordOrdersRequest{Orders: []*loyaltyv1.Order{
		{Id: "good", MemberId: m1, AmountMinor: 10_000, Currency: "CNY"},
		{Id: "bad", MemberId: bad, AmountMinor: 10_000, Currency: "CNY"},
		{Id: "guest", AmountMinor: 10_000, Currency: "CNY"},
	}})
	if err != nil {
		t.Fatalf("BatchRecordOrders: %v", err)
	}
	rs := resp.GetResults()
	if len(rs) != 3 || rs[0].GetOrder() == nil || rs[2].GetOrder() == nil {
		t.Fatalf("results %v", rs)
	}
	code, reason, _, fields := errorOf(t, rs[1])
	if code != codes.NotFound || reason != "MEMBER_NOT_FOUND" || !slices.Equal(fields, []string{"orders[1].member_id"}) {
		t.Fatalf("bad member's order: %v %s %v", code, reason, fields)
	}
}
