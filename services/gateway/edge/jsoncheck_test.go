package edge

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"

	_ "github.com/huiyuan-dev/huiyuan/gen/huiyuan/coupon/v1"
	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
	_ "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
	_ "github.com/huiyuan-dev/huiyuan/gen/huiyuan/ops/v1"
)

// bodyDescriptors are the messages the edge's routes decode bodies into, by full name.
func bodyDescriptors(tb testing.TB) []protoreflect.MessageDescriptor {
	rs, err := loadRoutes()
	if err != nil {
		tb.Fatal(err)
	}
	seen := map[protoreflect.FullName]protoreflect.MessageDescriptor{}
	for _, r := range rs {
		if md := r.body(); md != nil {
			seen[md.FullName()] = md
		}
	}
	out := make([]protoreflect.MessageDescriptor, 0, len(seen))
	for _, md := range seen {
		out = append(out, md)
	}
	slices.SortFunc(out, func(a, b protoreflect.MessageDescriptor) int {
		return strings.Compare(string(a.FullName()), string(b.FullName()))
	})
	if len(out) < 40 {
		tb.Fatalf("only %d body messages: the services' descriptors are not linked", len(out))
	}
	return out
}

// FuzzCheckJSON: for any JSON body of any route's message, the check that explains protojson's
// refusals never panics, names something whenever protojson refuses the body, and names nothing
// in a body protojson takes.
func FuzzCheckJSON(f *testing.F) {
	mds := bodyDescriptors(f)
	f.Add(uint16(0), []byte(`{"requestId":"r","unknown":1}`))
	f.Add(uint16(1), []byte(`{"a":[1,2,{"b":null}],"c":"x"}`))
	f.Add(uint16(7), []byte(`{"requestId":"r","request_id":"s"}`))
	f.Add(uint16(9), []byte(`[]`))
	f.Fuzz(func(t *testing.T, which uint16, raw []byte) {
		if !json.Valid(raw) || !utf8.Valid(raw) {
			return // the edge refuses it as MALFORMED_JSON before any check
		}
		md := mds[int(which)%len(mds)]
		vs := checkJSON(raw, md, "")
		msg := newMessage(md)
		err := protojson.Unmarshal(raw, msg)
		switch {
		case err != nil && len(vs) == 0:
			t.Fatalf("protojson refuses %s as %s (%v), the check names nothing", raw, md.FullName(), err)
		case err == nil && !undefinedEnum(msg.ProtoReflect()) && len(vs) > 0:
			t.Fatalf("protojson takes %s as %s, the check names %v", raw, md.FullName(), vs)
		}
	})
}

// TestCheckJSONOneof: no request has a oneof today, so a message with one (a batch's result)
// stands in: two members of one choice are named, a null member sets nothing, and protojson
// agrees with both answers.
func TestCheckJSONOneof(t *testing.T) {
	md := (&loyaltyv1.OrderResult{}).ProtoReflect().Descriptor()
	tests := []struct {
		body   string
		fields []string
	}{
		{`{"order":{"id":"o"},"error":{"code":3}}`, []string{"order"}}, // "error" sorts first
		{`{"order":{"id":"o"},"error":null,"pointsEarned":"5"}`, nil},
		{`{"order":{"id":"o"},"points_earned":"5","pointsEarned":"6"}`, []string{"points_earned"}},
	}
	for _, tt := range tests {
		var got []string
		for _, v := range checkJSON([]byte(tt.body), md, "") {
			got = append(got, v.field)
		}
		if !slices.Equal(got, tt.fields) {
			t.Errorf("%s: violations at %q, want %q", tt.body, got, tt.fields)
		}
		if err := protojson.Unmarshal([]byte(tt.body), &loyaltyv1.OrderResult{}); (err != nil) != (len(tt.fields) > 0) {
			t.Errorf("%s: protojson says %v", tt.body, err)
		}
	}
}

// TestCheckJSONQuotesObjects: a refusal that quotes the value sent (an enum's) quotes an object
// as the client wrote it, in its order.
func TestCheckJSONQuotesObjects(t *testing.T) {
	want := `{"b":1,"a":[true,null]}`
	if got := jsonText(object{{key: "b", value: json.Number("1")}, {key: "a", value: []any{true, nil}}}); got != want {
		t.Fatalf("jsonText %s, want %s", got, want)
	}
}
