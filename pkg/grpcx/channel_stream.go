package grpcx

import (
	"context"
	"io"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// NewStream implements grpc.ClientConnInterface for server-streaming methods; the handler starts
// when the request is sent. Messages are handed over one at a time (the handler's SendMsg waits
// until the client has received the message), so a slow reader holds back the handler rather
// than letting memory grow. As with grpc-go, the caller must read until an error (io.EOF on
// success) or cancel ctx, or the handler blocks forever.
//
// Errors: Unimplemented for an unknown method or one that is client-streaming or bidirectional.
func (c *Channel) NewStream(ctx context.Context, desc *grpc.StreamDesc, fullMethod string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	m := c.lookup(fullMethod)
	if m == nil || m.stream == nil {
		return nil, status.Errorf(codes.Unimplemented, "unknown method %s", fullMethod)
	}
	if m.stream.ClientStreams || (desc != nil && desc.ClientStreams) {
		return nil, status.Errorf(codes.Unimplemented, "grpcx: the in-process channel supports unary and server-streaming methods only, not %s", fullMethod)
	}
	if err := ctx.Err(); err != nil {
		return nil, status.FromContextError(err).Err()
	}
	cs := &clientStream{
		ch:     c,
		m:      m,
		ctx:    ctx,
		opts:   opts,
		msgs:   make(chan any),
		acks:   make(chan struct{}, 1),
		header: make(chan struct{}),
		done:   make(chan struct{}),
	}
	cs.meta = &callMeta{method: fullMethod, onHeader: func() { close(cs.header) }}
	return cs, nil
}

// clientStream is the caller's end of an in-process server-streaming call.
type clientStream struct {
	ch   *Channel
	m    *method
	ctx  context.Context
	opts []grpc.CallOption
	meta *callMeta

	started atomic.Bool        // SendMsg and RecvMsg may run on different goroutines
	cancel  context.CancelFunc // set before started

	msgs   chan any      // server -> client, unbuffered: one message in flight
	acks   chan struct{} // client -> server: the message was copied
	header chan struct{} // closed when the header is sent
	done   chan struct{} // closed when the handler returned; err is then set
	err    error         // final status error, nil for OK

	endOnce sync.Once
}

func (cs *clientStream) Context() context.Context { return cs.ctx }

// Header waits for the header or the end of the stream; like grpc-go it returns (nil, nil) when
// the stream ended without one, leaving the error to RecvMsg.
func (cs *clientStream) Header() (metadata.MD, error) {
	select {
	case <-cs.header:
	case <-cs.done:
	case <-cs.ctx.Done():
		return nil, nil
	}
	h, _ := cs.meta.metadata()
	return h, nil
}

// Trailer returns the trailer; it is complete once RecvMsg returned an error.
func (cs *clientStream) Trailer() metadata.MD {
	select {
	case <-cs.done:
		_, t := cs.meta.metadata()
		return t
	default:
		return nil
	}
}

func (cs *clientStream) CloseSend() error { return nil }

// SendMsg sends the one request and starts the handler.
func (cs *clientStream) SendMsg(m any) error {
	req, ok := m.(proto.Message)
	if !ok {
		return status.Errorf(codes.Internal, "grpcx: request is %T, not a protobuf message", m)
	}
	if cs.cancel != nil {
		return status.Error(codes.Internal, "grpcx: a server-streaming call sends exactly one request")
	}
	// The caller may reuse req once SendMsg returns, so the handler gets a copy.
	req = proto.Clone(req)
	sctx, cancel := context.WithCancel(serverContext(cs.ctx, cs.meta))
	cs.cancel = cancel
	cs.started.Store(true)
	ss := &serverStream{cs: cs, ctx: sctx, req: req}
	go cs.run(ss)
	return nil
}

// run executes the handler, inside the unary chain if there is one.
func (cs *clientStream) run(ss *serverStream) {
	var err error
	defer func() { cs.end(err) }()
	if cs.ch.unary == nil {
		err = cs.m.stream.Handler(cs.m.impl, ss)
		return
	}
	info := &grpc.UnaryServerInfo{Server: cs.m.impl, FullMethod: cs.meta.method}
	_, err = cs.ch.unary(ss.ctx, ss.req, info, func(ctx context.Context, _ any) (any, error) {
		ss.ctx = ctx // the handler sees what the interceptors added (the principal, ...)
		return nil, cs.m.stream.Handler(cs.m.impl, ss)
	})
}

// end records the final status and wakes the client.
func (cs *clientStream) end(err error) {
	cs.endOnce.Do(func() {
		cs.err = statusError(err)
		cs.cancel()
		cs.meta.deliver(cs.opts) // before done: the caller reads them once RecvMsg fails
		close(cs.done)
	})
}

// RecvMsg receives the next message into m; io.EOF after the last one of a successful stream,
// else the stream's status error.
func (cs *clientStream) RecvMsg(m any) error {
	if !cs.started.Load() {
		return status.Error(codes.Internal, "grpcx: RecvMsg before SendMsg")
	}
	select {
	case msg := <-cs.msgs:
		err := copyInto(m, msg)
		cs.acks <- struct{}{}
		if err != nil {
			return status.Errorf(codes.Internal, "grpcx: response of %s: %v", cs.meta.method, err)
		}
		return nil
	case <-cs.done:
		if cs.err == nil {
			return io.EOF
		}
		return cs.err
	case <-cs.ctx.Done():
		cs.cancel() // stop the handler; it sees its context canceled
		return status.FromContextError(cs.ctx.Err()).Err()
	}
}

// serverStream is the handler's end: a grpc.ServerStream.
type serverStream struct {
	cs   *clientStream
	ctx  context.Context
	req  proto.Message
	recv bool
}

func (ss *serverStream) Context() context.Context        { return ss.ctx }
func (ss *serverStream) SetHeader(md metadata.MD) error  { return ss.cs.meta.SetHeader(md) }
func (ss *serverStream) SendHeader(md metadata.MD) error { return ss.cs.meta.SendHeader(md) }
func (ss *serverStream) SetTrailer(md metadata.MD)       { _ = ss.cs.meta.SetTrailer(md) }

// SendMsg hands m to the client and waits until it has copied it, so the handler may reuse m.
func (ss *serverStream) SendMsg(m any) error {
	ss.cs.meta.sendHeader()
	select {
	case ss.cs.msgs <- m:
		<-ss.cs.acks
		return nil
	case <-ss.ctx.Done():
		return status.FromContextError(ss.ctx.Err()).Err()
	}
}

// RecvMsg yields the one request, then io.EOF.
func (ss *serverStream) RecvMsg(m any) error {
	if ss.recv {
		return io.EOF
	}
	ss.recv = true
	if err := copyInto(m, ss.req); err != nil {
		return status.Errorf(codes.Internal, "grpcx: request of %s: %v", ss.cs.meta.method, err)
	}
	return nil
}
