package grpcx_test

import (
	"context"
	"strings"
	"testing"

	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"
)

// TestReflectionServesComments describes services through the reflection client as grpcurl
// does: a Huiyuan service comes with its proto comments, and the health service (not in the
// embedded set) still resolves.
func TestReflectionServesComments(t *testing.T) {
	f := newFixture(t)
	stream, err := reflectionpb.NewServerReflectionClient(f.conn).ServerReflectionInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stream.CloseSend() }()
	describe := func(t *testing.T, symbol string) []*descriptorpb.FileDescriptorProto {
		t.Helper()
		if err := stream.Send(&reflectionpb.ServerReflectionRequest{
			MessageRequest: &reflectionpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: symbol}}); err != nil {
			t.Fatal(err)
		}
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if e := resp.GetErrorResponse(); e != nil {
			t.Fatalf("describe %s: %s", symbol, e.GetErrorMessage())
		}
		var out []*descriptorpb.FileDescriptorProto
		for _, raw := range resp.GetFileDescriptorResponse().GetFileDescriptorProto() {
			fd := &descriptorpb.FileDescriptorProto{}
			if err := proto.Unmarshal(raw, fd); err != nil {
				t.Fatal(err)
			}
			out = append(out, fd)
		}
		return out
	}

	files := describe(t, "huiyuan.iam.v1.ApiKeyService")
	set := &descriptorpb.FileDescriptorSet{File: files}
	reg, err := protodesc.NewFiles(set)
	if err != nil {
		t.Fatalf("the answer does not resolve on its own: %v", err)
	}
	d, err := reg.FindDescriptorByName("huiyuan.iam.v1.ApiKeyService.CreateApiKey")
	if err != nil {
		t.Fatal(err)
	}
	loc := d.ParentFile().SourceLocations().ByDescriptor(d)
	if !strings.Contains(loc.LeadingComments, "returns its secret once") {
		t.Fatalf("CreateApiKey's comment %q, want the proto comment", loc.LeadingComments)
	}
	if files := describe(t, "grpc.health.v1.Health"); len(files) == 0 {
		t.Fatal("health service does not resolve")
	}
}
