package grpcx

import (
	"fmt"
	"log/slog"

	"google.golang.org/grpc"
	"google.golang.org/grpc/reflection"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/huiyuan-dev/huiyuan/gen/descriptors"
)

// SourceFiles returns the Huiyuan proto files with their comments (gen/descriptors), for
// reflection and for tools that show descriptions; the generated Go descriptors have no source
// info.
func SourceFiles() (*protoregistry.Files, error) {
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(descriptors.Set, &set); err != nil {
		return nil, fmt.Errorf("grpcx: decode the embedded descriptor set: %w", err)
	}
	files, err := protodesc.NewFiles(&set)
	if err != nil {
		return nil, fmt.Errorf("grpcx: resolve the embedded descriptor set: %w", err)
	}
	return files, nil
}

// registerReflection serves gRPC server reflection (v1 and v1alpha) on srv from SourceFiles, so
// that `grpcurl describe` shows the proto comments, falling back to the compiled-in registry for
// files the set does not hold (the health and reflection services themselves). When the set
// cannot be read it serves the compiled-in registry alone and logs why.
func registerReflection(srv *grpc.Server, log *slog.Logger) {
	files, err := SourceFiles()
	if err != nil {
		log.Error("gRPC reflection serves descriptors without comments", "err", err)
		reflection.Register(srv)
		return
	}
	opts := reflection.ServerOptions{Services: srv, DescriptorResolver: layered{files, protoregistry.GlobalFiles}}
	v1 := reflection.NewServerV1(opts)
	reflectionv1.RegisterServerReflectionServer(srv, v1)
	reflectionv1alpha.RegisterServerReflectionServer(srv, reflection.NewServer(opts))
}

// layered resolves from first, then from then.
type layered struct{ first, then *protoregistry.Files }

func (l layered) FindFileByPath(path string) (protoreflect.FileDescriptor, error) {
	if fd, err := l.first.FindFileByPath(path); err == nil {
		return fd, nil
	}
	return l.then.FindFileByPath(path)
}

func (l layered) FindDescriptorByName(name protoreflect.FullName) (protoreflect.Descriptor, error) {
	if d, err := l.first.FindDescriptorByName(name); err == nil {
		return d, nil
	}
	return l.then.FindDescriptorByName(name)
}
