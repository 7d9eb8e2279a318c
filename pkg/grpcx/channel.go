package grpcx

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Channel connects gRPC clients to services in the same process without a network or
// serialisation, running the same unary interceptor chain a server would. It is a
// grpc.ServiceRegistrar (generated RegisterXServer functions work on it) and a
// grpc.ClientConnInterface (generated clients and grpc-gateway's RegisterXHandlerClient work on
// it). The suite's JSON edge uses it, so a call through the edge is authenticated, mapped and
// measured exactly like a network call.
//
// Semantics follow a network call: the handler gets its own copy of the request and the caller
// gets a copy of the response; the caller's outgoing metadata arrives as incoming metadata; the
// caller's context deadline and cancellation carry over but none of its values do; headers and
// trailers set by the server reach grpc.Header and grpc.Trailer call options; errors arrive as
// status errors. Messages must be protobuf messages.
//
// Streaming: server-streaming methods are supported; the unary chain runs around the whole stream
// (its request is the one request message, its response nil), so auth and error mapping apply.
// Client-streaming and bidirectional methods answer Unimplemented. As on a grpc.Server, a panic is
// recovered only by the interceptors.
//
// Register every service before the first call; registering and calling concurrently is safe but
// a method registered late is Unimplemented until then.
type Channel struct {
	unary grpc.UnaryServerInterceptor // nil without interceptors

	mu      sync.Mutex                         // serialises registrations
	methods atomic.Pointer[map[string]*method] // copy-on-write: calls read without locking
	info    map[string]grpc.ServiceInfo
}

// method is one registered method.
type method struct {
	impl   any
	unary  grpc.MethodHandler // nil for streams
	stream *grpc.StreamDesc   // nil for unary
}

var (
	_ grpc.ServiceRegistrar    = (*Channel)(nil)
	_ grpc.ClientConnInterface = (*Channel)(nil)
	_ interface {
		GetServiceInfo() map[string]grpc.ServiceInfo
	} = (*Channel)(nil)
)

// NewChannel returns a Channel whose calls run through interceptors, outermost first; pass
// UnaryInterceptors(cfg) for the server's chain.
func NewChannel(interceptors ...grpc.UnaryServerInterceptor) *Channel {
	c := &Channel{unary: chainUnary(interceptors), info: make(map[string]grpc.ServiceInfo)}
	empty := make(map[string]*method)
	c.methods.Store(&empty)
	return c
}

// RegisterService implements grpc.ServiceRegistrar. Like grpc.Server's, it panics (at wiring
// time, never on a call) when impl does not implement desc.HandlerType or the service is already
// registered.
func (c *Channel) RegisterService(desc *grpc.ServiceDesc, impl any) {
	if impl != nil {
		ht := reflect.TypeOf(desc.HandlerType).Elem()
		if !reflect.TypeOf(impl).Implements(ht) {
			panic(fmt.Sprintf("grpcx: RegisterService: %T does not implement %v", impl, ht))
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, dup := c.info[desc.ServiceName]; dup {
		panic(fmt.Sprintf("grpcx: RegisterService: service %s registered twice", desc.ServiceName))
	}
	old := *c.methods.Load()
	next := make(map[string]*method, len(old)+len(desc.Methods)+len(desc.Streams))
	for k, v := range old {
		next[k] = v
	}
	si := grpc.ServiceInfo{Metadata: desc.Metadata}
	for i := range desc.Methods {
		md := &desc.Methods[i]
		next["/"+desc.ServiceName+"/"+md.MethodName] = &method{impl: impl, unary: md.Handler}
		si.Methods = append(si.Methods, grpc.MethodInfo{Name: md.MethodName})
	}
	for i := range desc.Streams {
		sd := &desc.Streams[i]
		next["/"+desc.ServiceName+"/"+sd.StreamName] = &method{impl: impl, stream: sd}
		si.Methods = append(si.Methods, grpc.MethodInfo{Name: sd.StreamName, IsClientStream: sd.ClientStreams, IsServerStream: sd.ServerStreams})
	}
	c.info[desc.ServiceName] = si
	c.methods.Store(&next)
}

// GetServiceInfo returns the registered services, like grpc.Server's (for metrics
// initialisation and tools).
func (c *Channel) GetServiceInfo() map[string]grpc.ServiceInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]grpc.ServiceInfo, len(c.info))
	for k, v := range c.info {
		out[k] = v
	}
	return out
}

func (c *Channel) lookup(fullMethod string) *method {
	return (*c.methods.Load())[fullMethod]
}

// Invoke implements grpc.ClientConnInterface for unary calls.
//
// Errors are status errors: Unimplemented for an unknown method, Internal for arguments that are
// not protobuf messages of the method's types, the context's code when ctx is done, or whatever
// the handler and interceptors returned.
func (c *Channel) Invoke(ctx context.Context, fullMethod string, args, reply any, opts ...grpc.CallOption) error {
	m := c.lookup(fullMethod)
	if m == nil || m.unary == nil {
		return status.Errorf(codes.Unimplemented, "unknown method %s", fullMethod)
	}
	req, ok := args.(proto.Message)
	if !ok {
		return status.Errorf(codes.Internal, "grpcx: request of %s is %T, not a protobuf message", fullMethod, args)
	}
	out, ok := reply.(proto.Message)
	if !ok {
		return status.Errorf(codes.Internal, "grpcx: reply of %s is %T, not a protobuf message", fullMethod, reply)
	}
	if err := ctx.Err(); err != nil {
		return status.FromContextError(err).Err()
	}
	meta := &callMeta{method: fullMethod}
	sctx := serverContext(ctx, meta)
	dec := func(v any) error {
		if err := copyInto(v, req); err != nil {
			return status.Errorf(codes.Internal, "grpcx: request of %s: %v", fullMethod, err)
		}
		return nil
	}
	resp, err := m.unary(m.impl, sctx, dec, c.unary)
	meta.deliver(opts)
	if err != nil {
		return statusError(err)
	}
	if err := copyInto(out, resp); err != nil {
		return status.Errorf(codes.Internal, "grpcx: reply of %s: %v", fullMethod, err)
	}
	return nil
}

// copyInto replaces dst's contents with a deep copy of src, as unmarshalling a received message
// would. It refuses messages of different types instead of panicking.
func copyInto(dst any, src any) error {
	d, ok := dst.(proto.Message)
	if !ok {
		return fmt.Errorf("%T is not a protobuf message", dst)
	}
	s, ok := src.(proto.Message)
	if !ok {
		return fmt.Errorf("%T is not a protobuf message", src)
	}
	dr, sr := d.ProtoReflect(), s.ProtoReflect()
	if dr.Descriptor() != sr.Descriptor() {
		return fmt.Errorf("message type %s does not match %s", sr.Descriptor().FullName(), dr.Descriptor().FullName())
	}
	proto.Reset(d)
	if sr.IsValid() { // a typed nil pointer reads as empty
		proto.Merge(d, s)
	}
	return nil
}

// chainUnary composes interceptors into one, outermost first; nil when there are none.
func chainUnary(ics []grpc.UnaryServerInterceptor) grpc.UnaryServerInterceptor {
	switch len(ics) {
	case 0:
		return nil
	case 1:
		return ics[0]
	}
	ics = append([]grpc.UnaryServerInterceptor(nil), ics...)
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		return ics[0](ctx, req, info, chainStep(ics, 1, info, handler))
	}
}

func chainStep(ics []grpc.UnaryServerInterceptor, i int, info *grpc.UnaryServerInfo, final grpc.UnaryHandler) grpc.UnaryHandler {
	if i == len(ics) {
		return final
	}
	return func(ctx context.Context, req any) (any, error) {
		return ics[i](ctx, req, info, chainStep(ics, i+1, info, final))
	}
}
