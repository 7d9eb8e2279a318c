package kit

import (
	"context"
	"fmt"
	"slices"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"

	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/pkg/natsx"

	opsv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/ops/v1"
)

// startEvents starts a hosted service's relay and consumers.
func (p *Process) startEvents(ctx context.Context, h *hostedService, conn func(*hostedService, string, bool) grpc.ClientConnInterface) error {
	if h.nc == nil {
		return nil
	}
	js, err := jetstream.New(h.nc)
	if err != nil {
		return fmt.Errorf("%s: JetStream: %w", h.d.Name, err)
	}
	if h.log != nil {
		relay := eventlog.NewRelay(h.log, h.db, js, p.log.With("service", h.d.Name, "component", "relay"),
			eventlog.RelayOptions{Retention: p.cfg.EventRetention, Clock: p.cfg.Clock,
				StreamOptions: append([]natsx.StreamOption{natsx.WithMaxAge(p.cfg.EventRetention)}, p.cfg.StreamOptions...)})
		p.stores.outbox.watch(h.d.Name, relay.Backlog)
		rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := relay.Run(rctx); err != nil && rctx.Err() == nil {
				p.fail(fmt.Errorf("%s relay: %w", h.d.Name, err))
			}
		}()
		p.onClose(h.d.Name+" relay", func(ctx context.Context) error {
			err := relay.Flush(ctx) // acknowledged writes reach the broker before we stop
			cancel()
			<-done
			return err
		})
	}
	for _, c := range h.running.Consumers {
		switch c.Name {
		case "":
			c.Name = h.d.Name
		case h.d.Name:
		default:
			return fmt.Errorf("%s: consumer %q: a service's durable consumers are named after it", h.d.Name, c.Name)
		}
		if !slices.Contains(h.d.Consumes, c.Producer) {
			return fmt.Errorf("%s: consumes %s, which its description does not list", h.d.Name, c.Producer)
		}
		fetcher := opsFetcher{client: opsv1.NewOperationsServiceClient(conn(h, c.Producer, false))}
		cons := eventlog.NewConsumer(js, h.db, h.w, eventlog.ConsumerConfig{
			Name: c.Name, Service: c.Producer, Types: c.Types, Sparse: c.Sparse, Fetcher: fetcher,
		}, c.Handler, p.log.With("service", h.d.Name, "consumer", c.Name))
		p.startJob(ctx, h.d.Name+" consumer of "+c.Producer, cons.Run)
	}
	return nil
}

// startJob runs fn until Close; an error before that stops the process.
func (p *Process) startJob(ctx context.Context, name string, fn func(context.Context) error) {
	jctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := fn(jctx); err != nil && jctx.Err() == nil {
			p.fail(fmt.Errorf("%s: %w", name, err))
		}
	}()
	p.onClose(name, func(context.Context) error {
		cancel()
		<-done
		return nil
	})
}

func (p *Process) fail(err error) {
	p.log.Error("background work stopped", "err", err)
	select {
	case p.errc <- err:
	default:
	}
}
