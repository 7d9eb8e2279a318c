package edge

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"google.golang.org/protobuf/types/dynamicpb"
)

// queryRoutes are the routes that read query parameters (GET and DELETE), by method and pattern.
func queryRoutes(tb testing.TB) []*route {
	rs, err := loadRoutes()
	if err != nil {
		tb.Fatal(err)
	}
	var out []*route
	for _, r := range rs {
		if r.request != nil && r.Body == "" {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b *route) int { return strings.Compare(a.Method+a.Pattern, b.Method+b.Pattern) })
	if len(out) < 20 {
		tb.Fatalf("only %d routes without a body: the services' descriptors are not linked", len(out))
	}
	return out
}

// FuzzCheckQuery: for any query string on any route without a body, the query check never
// panics, and a query it lets through is one grpc-gateway then reads without an error.
func FuzzCheckQuery(f *testing.F) {
	rts := queryRoutes(f)
	f.Add(uint16(0), "pageSize=10&pageToken=x")
	f.Add(uint16(3), "filter=tag%20%3D%20%22vip%22&page_size=2&pageSize=3")
	f.Add(uint16(5), "state=AVAILABLE&state=USED")
	f.Add(uint16(8), "afterSequence=-1&service=member")
	f.Fuzz(func(t *testing.T, which uint16, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return // net/http hands the gateway what parses; the rest is dropped before it
		}
		rt := rts[int(which)%len(rts)]
		if vs := checkQuery(q, rt, nil); len(vs) > 0 {
			return
		}
		msg := dynamicpb.NewMessage(rt.request)
		if err := runtime.PopulateQueryParameters(msg, q, utilities.NewDoubleArray(nil)); err != nil {
			t.Fatalf("%s %s?%s passes the check, and the gateway refuses it: %v", rt.Method, rt.Pattern, raw, err)
		}
	})
}
