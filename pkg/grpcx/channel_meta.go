package grpcx

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// detachedContext keeps the deadline and cancellation of a caller's context but none of its
// values: over a network, a server sees no value its client put in a context (principals,
// idempotency keys, outgoing metadata), and the Channel must behave the same way.
type detachedContext struct{ parent context.Context }

func (c detachedContext) Deadline() (time.Time, bool) { return c.parent.Deadline() }
func (c detachedContext) Done() <-chan struct{}       { return c.parent.Done() }
func (c detachedContext) Err() error                  { return c.parent.Err() }
func (c detachedContext) Value(any) any               { return nil }

// AfterFunc lets context.WithCancel on a detachedContext hook into the parent directly instead
// of starting a goroutine to watch it.
func (c detachedContext) AfterFunc(f func()) func() bool { return context.AfterFunc(c.parent, f) }

// serverContext builds the context a handler sees for a call made with ctx: detached from ctx's
// values, with ctx's outgoing metadata as incoming metadata and meta as the transport stream
// (for grpc.SetHeader, grpc.SetTrailer and grpc.Method).
func serverContext(ctx context.Context, meta *callMeta) context.Context {
	md, _ := metadata.FromOutgoingContext(ctx) // a copy, keys lowercased
	if md == nil {
		md = metadata.MD{}
	}
	sctx := metadata.NewIncomingContext(detachedContext{ctx}, md)
	return grpc.NewContextWithServerTransportStream(sctx, meta)
}

// errHeaderSent is what grpc.SetHeader returns after the header went out.
var errHeaderSent = errors.New("grpcx: the header was already sent")

// callMeta is the header and trailer metadata of one call; it implements
// grpc.ServerTransportStream. onHeader, when set, runs once when the header is sent.
type callMeta struct {
	method     string
	mu         sync.Mutex
	header     metadata.MD
	trailer    metadata.MD
	headerSent bool
	onHeader   func()
}

// Method implements grpc.ServerTransportStream.
func (m *callMeta) Method() string { return m.method }

// SetHeader implements grpc.ServerTransportStream.
func (m *callMeta) SetHeader(md metadata.MD) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.headerSent {
		return errHeaderSent
	}
	m.header = join(m.header, md)
	return nil
}

// SendHeader implements grpc.ServerTransportStream.
func (m *callMeta) SendHeader(md metadata.MD) error {
	m.mu.Lock()
	if m.headerSent {
		m.mu.Unlock()
		return errHeaderSent
	}
	m.header = join(m.header, md)
	m.mu.Unlock()
	m.sendHeader()
	return nil
}

// sendHeader marks the header sent; later SetHeader calls fail, as on a network stream.
func (m *callMeta) sendHeader() {
	m.mu.Lock()
	first := !m.headerSent
	m.headerSent = true
	m.mu.Unlock()
	if first && m.onHeader != nil {
		m.onHeader()
	}
}

// SetTrailer implements grpc.ServerTransportStream.
func (m *callMeta) SetTrailer(md metadata.MD) error {
	m.mu.Lock()
	m.trailer = join(m.trailer, md)
	m.mu.Unlock()
	return nil
}

// metadata returns copies of the header and trailer.
func (m *callMeta) metadata() (header, trailer metadata.MD) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.header.Copy(), m.trailer.Copy()
}

// deliver hands header and trailer to the caller's grpc.Header and grpc.Trailer call options.
func (m *callMeta) deliver(opts []grpc.CallOption) {
	for _, o := range opts {
		switch o := o.(type) {
		case grpc.HeaderCallOption:
			if o.HeaderAddr != nil {
				*o.HeaderAddr, _ = m.metadata()
			}
		case grpc.TrailerCallOption:
			if o.TrailerAddr != nil {
				_, *o.TrailerAddr = m.metadata()
			}
		}
	}
}

// join appends src to dst with lowercased keys, as the wire would carry them.
func join(dst, src metadata.MD) metadata.MD {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = make(metadata.MD, len(src))
	}
	for k, vs := range src {
		k = strings.ToLower(k)
		dst[k] = append(dst[k], vs...)
	}
	return dst
}

// statusError turns a handler's error into what a network client would receive: a status
// error (as grpc-go's server does, a non-status error becomes Unknown, a context error its code).
func statusError(err error) error {
	if err == nil {
		return nil
	}
	if st, ok := status.FromError(err); ok {
		return st.Err()
	}
	return status.FromContextError(err).Err()
}
