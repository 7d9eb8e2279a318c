package grpcx_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/grpcx"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
)

func TestChannelMetadata(t *testing.T) {
	f := newFixture(t)
	for tname, cc := range f.transports() {
		t.Run(tname, func(t *testing.T) {
			client := testpb.NewTestServiceClient(cc)
			var header, trailer metadata.MD
			_, err := client.EmptyCall(withKey(context.Background(), "op"), &testpb.Empty{}, grpc.Header(&header), grpc.Trailer(&trailer))
			if err != nil {
				t.Fatal(err)
			}
			if got := header.Get("x-header"); len(got) != 1 || got[0] != "h1" {
				t.Fatalf("header = %v", header)
			}
			if got := trailer.Get("x-trailer"); len(got) != 1 || got[0] != "t1" {
				t.Fatalf("trailer = %v", trailer)
			}
			ctx := metadata.AppendToOutgoingContext(withKey(context.Background(), "op"), "X-Custom", "v1", "x-custom", "v2")
			ctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			resp, err := client.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("whoami")}})
			if err != nil {
				t.Fatal(err)
			}
			if resp.GetUsername() != "acme/v1,v2" || resp.GetOauthScope() != "deadline=true" {
				t.Fatalf("handler saw %q %q, want tenant/metadata acme/v1,v2 and a deadline", resp.GetUsername(), resp.GetOauthScope())
			}
		})
	}
}

func TestChannelIsolation(t *testing.T) {
	f := newFixture(t)
	client := testpb.NewTestServiceClient(f.ch)
	ctx := withKey(context.Background(), "op")

	// The handler mutates its request: the caller's must not change.
	req := &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("mutate")}}
	resp, err := client.UnaryCall(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if string(req.GetPayload().GetBody()) != "mutate" || string(resp.GetPayload().GetBody()) != "mutated by handler" {
		t.Fatalf("request %q, response %q", req.GetPayload().GetBody(), resp.GetPayload().GetBody())
	}

	// The handler returns a message it keeps: the caller's changes must not reach it.
	f.svc.shared = &testpb.SimpleResponse{Username: "shared", Payload: &testpb.Payload{Body: []byte("keep")}}
	resp, err = client.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("shared")}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Payload.Body[0] = 'X'
	resp.Username = "changed"
	if f.svc.shared.GetUsername() != "shared" || string(f.svc.shared.GetPayload().GetBody()) != "keep" {
		t.Fatalf("caller changed the handler's message: %v", f.svc.shared)
	}

	// The reply is replaced, not merged into.
	reply := &testpb.SimpleResponse{Username: "stale", OauthScope: "stale"}
	if err := f.ch.Invoke(ctx, "/grpc.testing.TestService/UnaryCall", &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("x")}}, reply); err != nil {
		t.Fatal(err)
	}
	if reply.GetUsername() != "" || string(reply.GetPayload().GetBody()) != "x" {
		t.Fatalf("reply = %v, want only the new answer", reply)
	}

	// Context values of the caller do not cross: a principal in ctx is no credential.
	ctx2 := auth.WithPrincipal(context.Background(), auth.Principal{Tenant: "acme", Role: iamv1.Role_ADMIN})
	if _, err := client.UnaryCall(ctx2, &testpb.SimpleRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("principal in caller context: %v, want Unauthenticated", err)
	}
}

func TestChannelErrors(t *testing.T) {
	f := newFixture(t)
	ctx := withKey(context.Background(), "op")
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	tests := []struct {
		name   string
		ctx    context.Context
		method string
		req    any
		reply  any
		code   codes.Code
	}{
		{"unknown method", ctx, "/grpc.testing.TestService/Nope", &testpb.Empty{}, &testpb.Empty{}, codes.Unimplemented},
		{"unknown service", ctx, "/x.Y/Z", &testpb.Empty{}, &testpb.Empty{}, codes.Unimplemented},
		{"unimplemented method", ctx, "/grpc.testing.TestService/UnimplementedCall", &testpb.Empty{}, &testpb.Empty{}, codes.PermissionDenied}, // not in policy
		{"request not proto", ctx, "/grpc.testing.TestService/EmptyCall", "x", &testpb.Empty{}, codes.Internal},
		{"reply not proto", ctx, "/grpc.testing.TestService/EmptyCall", &testpb.Empty{}, 42, codes.Internal},
		{"wrong request type", ctx, "/grpc.testing.TestService/EmptyCall", &testpb.SimpleRequest{}, &testpb.Empty{}, codes.Internal},
		{"wrong reply type", ctx, "/grpc.testing.TestService/EmptyCall", &testpb.Empty{}, &testpb.SimpleResponse{}, codes.Internal},
		{"canceled before", canceled, "/grpc.testing.TestService/EmptyCall", &testpb.Empty{}, &testpb.Empty{}, codes.Canceled},
		{"stream method via Invoke", ctx, "/grpc.testing.TestService/StreamingOutputCall", &testpb.Empty{}, &testpb.Empty{}, codes.Unimplemented},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := f.ch.Invoke(tt.ctx, tt.method, tt.req, tt.reply)
			if status.Code(err) != tt.code {
				t.Fatalf("err = %v, want %s", err, tt.code)
			}
			if _, ok := status.FromError(err); !ok {
				t.Fatalf("%T is not a status error", err)
			}
		})
	}

	// A deadline that passes while the handler runs: DeadlineExceeded, as over the network.
	dctx, dcancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer dcancel()
	_, err := testpb.NewTestServiceClient(f.ch).UnaryCall(dctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("block")}})
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("deadline: %v", err)
	}

	// Bidirectional streams are not supported in process.
	_, err = testpb.NewTestServiceClient(f.ch).FullDuplexCall(ctx)
	if status.Code(err) != codes.Unimplemented {
		t.Fatalf("bidi stream: %v, want Unimplemented", err)
	}
}

func TestChannelStreamCancel(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(withKey(context.Background(), "op"))
	req := &testpb.StreamingOutputCallRequest{}
	for i := 0; i < 100; i++ {
		req.ResponseParameters = append(req.ResponseParameters, &testpb.ResponseParameters{Size: 1})
	}
	stream, err := testpb.NewTestServiceClient(f.ch).StreamingOutputCall(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	cancel()
	// The handler is blocked in Send; cancelling must end it and the stream.
	deadline := time.After(5 * time.Second)
	for {
		_, err := stream.Recv()
		if status.Code(err) == codes.Canceled {
			break
		}
		if err != nil {
			t.Fatalf("after cancel: %v, want Canceled", err)
		}
		select {
		case <-deadline:
			t.Fatal("stream did not end after cancel")
		default:
		}
	}
}

func TestChannelRegister(t *testing.T) {
	ch := grpcx.NewChannel()
	testpb.RegisterTestServiceServer(ch, &testService{})
	mustPanic := func(name string, fn func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Fatalf("%s did not panic", name)
			}
		}()
		fn()
	}
	mustPanic("duplicate", func() { testpb.RegisterTestServiceServer(ch, &testService{}) })
	mustPanic("wrong type", func() { ch.RegisterService(&iamv1.ApiKeyService_ServiceDesc, &testService{}) })
	info := ch.GetServiceInfo()["grpc.testing.TestService"]
	if len(info.Methods) != 8 {
		t.Fatalf("service info lists %d methods, want 8", len(info.Methods))
	}
	// Without interceptors, calls go straight to the handler and errors still arrive as statuses.
	_, err := testpb.NewTestServiceClient(ch).UnaryCall(context.Background(), &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("internal")}})
	if st, ok := status.FromError(err); !ok || st.Code() != codes.Unknown {
		t.Fatalf("plain error without interceptors: %v, want Unknown like grpc-go", err)
	}
}

// TestChannelConcurrent calls through one Channel from many goroutines while services are still
// being registered; run with -race.
func TestChannelConcurrent(t *testing.T) {
	f := newFixture(t)
	client := testpb.NewTestServiceClient(f.ch)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				body := fmt.Sprintf("g%d-%d", g, i)
				resp, err := client.UnaryCall(withKey(context.Background(), "op"), &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte(body)}})
				if err != nil || string(resp.GetPayload().GetBody()) != body {
					errs <- fmt.Errorf("call %s: %v %v", body, resp, err)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 20; i++ {
			desc := testpb.TestService_ServiceDesc
			desc.ServiceName = fmt.Sprintf("late.Service%d", i)
			f.ch.RegisterService(&desc, &testService{})
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
