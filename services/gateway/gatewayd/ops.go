package gatewayd

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	opsv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/ops/v1"
)

// opsRouter sends each operations call to the process that holds what it names: ListEvents to
// the producing service, backups to the database's service. Every process serves the operations
// API for its own stores, so the edge must pick the right one.
type opsRouter struct {
	conns map[string]grpc.ClientConnInterface // by service name
}

func (r opsRouter) target(method string, args any) (grpc.ClientConnInterface, error) {
	var name string
	switch req := args.(type) {
	case *opsv1.ListEventsRequest:
		name = req.GetService()
	case *opsv1.BackupDatabaseRequest:
		name = req.GetDatabase()
	default:
		// Ping and ListDatabases: any process answers Ping; ListDatabases names only its own,
		// so in the separated layout it lists one process's databases.
		for _, c := range r.conns {
			return c, nil
		}
		return nil, status.Error(codes.Unavailable, "no service behind the edge")
	}
	c, ok := r.conns[name]
	if !ok {
		return nil, status.Errorf(codes.InvalidArgument, "unknown service %q", name)
	}
	return c, nil
}

func (r opsRouter) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	c, err := r.target(method, args)
	if err != nil {
		return err
	}
	return c.Invoke(ctx, method, args, reply, opts...)
}

// NewStream routes a server-streaming call; its request is only known after the first
// SendMsg, so the stream picks its target then.
func (r opsRouter) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return &routedStream{ctx: ctx, r: r, desc: desc, method: method, opts: opts}, nil
}

// routedStream defers opening the real stream to its first message.
type routedStream struct {
	grpc.ClientStream // set by the first SendMsg
	ctx               context.Context
	r                 opsRouter
	desc              *grpc.StreamDesc
	method            string
	opts              []grpc.CallOption
}

func (s *routedStream) SendMsg(m any) error {
	if s.ClientStream == nil {
		c, err := s.r.target(s.method, m)
		if err != nil {
			return err
		}
		if s.ClientStream, err = c.NewStream(s.ctx, s.desc, s.method, s.opts...); err != nil {
			return err
		}
	}
	return s.ClientStream.SendMsg(m)
}

func (s *routedStream) Context() context.Context {
	if s.ClientStream == nil {
		return s.ctx
	}
	return s.ClientStream.Context()
}
