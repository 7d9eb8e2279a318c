package suite_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"sync"
	"testing"

	"google.golang.org/grpc"

	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

// registerMembers registers n members over gRPC (ctx carries the admin key), sixteen at a
// time, each with a phone number of its own, and returns their ids: loyalty acts only for
// members the member service knows. The numbers start at a random place, so two calls on one
// suite hardly ever collide.
func registerMembers(tb testing.TB, ctx context.Context, cc grpc.ClientConnInterface, n int) []string {
	tb.Helper()
	start, err := rand.Int(rand.Reader, big.NewInt(90_000_000))
	if err != nil {
		tb.Fatal(err)
	}
	client := memberv1.NewMemberServiceClient(cc)
	out := make([]string, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			resp, err := client.CreateMember(ctx, &memberv1.CreateMemberRequest{Member: &memberv1.Member{
				DisplayName: "Member", Phone: fmt.Sprintf("+86135%08d", start.Int64()+int64(i))}})
			out[i], errs[i] = resp.GetMember().GetId(), err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			tb.Fatalf("register members: %v", err)
		}
	}
	return out
}
