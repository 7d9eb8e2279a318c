package kittest

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"sync"
	"testing"

	"google.golang.org/grpc"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

// phoneSpan bounds the numbers a harness hands out after its random start, so that every
// number stays an 11-digit mainland mobile number (+86 139 and 8 digits).
const phoneSpan = 10_000_000

// phones hands out phone numbers no other member of a harness has. The start is random so
// that two harnesses on one data directory (a test that reopens it) hardly ever collide.
type phones struct {
	mu   sync.Mutex
	next int64
}

func newPhones() *phones {
	p := &phones{}
	if n, err := rand.Int(rand.Reader, big.NewInt(100_000_000-phoneSpan)); err == nil {
		p.next = n.Int64()
	}
	return p
}

func (p *phones) take() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.next++
	return fmt.Sprintf("+86139%08d", p.next)
}

// NewMember registers a member of Tenant through the member service, which the harness must
// run, and returns its id. Every process refuses member tokens of members the member service
// does not know, and loyalty and coupon refuse to act for them, so tests of those services
// call with members made here. Each has a phone number of its own.
func (h *Harness) NewMember(tb testing.TB) string {
	tb.Helper()
	return h.NewMemberOf(tb, Tenant)
}

// NewMemberOf registers a member of tenant (see NewMember).
func (h *Harness) NewMemberOf(tb testing.TB, tenant string) string {
	tb.Helper()
	id, err := h.register(tenant)
	if err != nil {
		tb.Fatalf("kittest: register a member: %v", err)
	}
	return id
}

// register registers a member of tenant with a phone number of its own.
func (h *Harness) register(tenant string) (string, error) {
	return create(h.AsTenant(tenant, iamv1.Role_ADMIN), h.Conn, h.phones.take())
}

// NewMembers registers n members of Tenant (see NewMember), eight at a time, and returns their
// ids in no particular order.
func (h *Harness) NewMembers(tb testing.TB, n int) []string {
	tb.Helper()
	return registerEach(tb, n, func() (string, error) { return h.register(Tenant) })
}

// RegisterMembers registers n members through the member service at cc, calling with ctx (an
// admin's credentials), eight at a time, each with a phone number of its own, and returns their
// ids: for tests that run services outside a Harness (the suite in process, processes).
func RegisterMembers(tb testing.TB, ctx context.Context, cc grpc.ClientConnInterface, n int) []string {
	tb.Helper()
	p := newPhones()
	return registerEach(tb, n, func() (string, error) { return create(ctx, cc, p.take()) })
}

// create registers one member with phone.
func create(ctx context.Context, cc grpc.ClientConnInterface, phone string) (string, error) {
	resp, err := memberv1.NewMemberServiceClient(cc).CreateMember(ctx,
		&memberv1.CreateMemberRequest{Member: &memberv1.Member{DisplayName: "Test member", Phone: phone}})
	return resp.GetMember().GetId(), err
}

// registerEach runs register n times, eight at a time, and fails tb on any error.
func registerEach(tb testing.TB, n int, register func() (string, error)) []string {
	tb.Helper()
	out := make([]string, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			out[i], errs[i] = register()
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			tb.Fatalf("kittest: register members: %v", err)
		}
	}
	return out
}
