package eventlog

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/huiyuan-dev/huiyuan/pkg/natsx"
)

// gaps handles events that follow a gap, in arrival order.
func (c *Consumer) gaps(ctx context.Context, gaps []item, fill bool) {
	if len(gaps) == 0 {
		return
	}
	for len(gaps) > 0 {
		tenant := gaps[0].d.Tenant
		var mine, others []item
		for _, it := range gaps {
			if it.d.Tenant == tenant {
				mine = append(mine, it)
			} else {
				others = append(others, it)
			}
		}
		gaps = others
		if !fill {
			c.wait(mine)
			continue
		}
		if c.cfg.Fetcher == nil {
			// A consumer that never saw this tenant starts at the oldest event the broker
			// keeps. Anything else waits for the relay to republish what is missing.
			if c.startsStream(ctx, mine[0]) {
				mine[0].force = true
				c.apply(ctx, mine, false)
			} else {
				c.wait(mine)
			}
			continue
		}
		force, err := c.fill(ctx, mine[0])
		if err != nil {
			switch {
			case ctx.Err() != nil:
			case errors.Is(err, errNotProducers):
				c.log.Warn("the event after a gap is not the producer's (forged, or of a history the producer replaced); waiting for the producer's relay",
					"tenant", tenant, "sequence", mine[0].d.Sequence, "epoch", mine[0].d.Epoch, "id", mine[0].d.ID)
			default:
				c.log.Warn("cannot fill a gap from the producer's log; redelivering later",
					"tenant", tenant, "before", mine[0].d.Sequence, "err", err)
			}
			for _, it := range mine {
				c.nak(it, c.cfg.GapDelay)
			}
			continue
		}
		mine[0].force = force
		c.apply(ctx, mine, false)
	}
}

// wait has events after a gap redelivered later.
func (c *Consumer) wait(items []item) {
	for _, it := range items {
		c.log.Debug("event after a gap; redelivering later", "tenant", it.d.Tenant, "sequence", it.d.Sequence)
		c.nak(it, c.cfg.GapDelay)
	}
}

// startsStream reports whether it is the oldest event of its tenant on the broker (for a sparse
// consumer: at or after the oldest, of its epoch) and the consumer has applied none of the
// tenant's events of its history yet.
func (c *Consumer) startsStream(ctx context.Context, it item) bool {
	cur, err := c.Position(ctx, it.d.Tenant)
	if err != nil {
		return false
	}
	if pos, live := cur.enter(it.epoch, it.start); !live || pos.Sequence != 0 {
		return false
	}
	gctx, cancel := context.WithTimeout(ctx, c.cfg.CheckInterval)
	defer cancel()
	s, err := c.js.Stream(gctx, natsx.StreamName(c.cfg.Service))
	if err != nil {
		return false
	}
	m, err := s.GetMsg(gctx, 1, jetstream.WithGetMsgSubject(TenantFilter(it.d.Tenant, c.cfg.Service)))
	if err != nil {
		return false
	}
	// A sparse consumer's first event may come after the oldest: the broker holds the tenant's
	// log from there without holes, so those before it are of other types.
	first, err := strconv.ParseUint(m.Header.Get(HeaderSequence), 10, 64)
	if err != nil || first > it.d.Sequence || (first != it.d.Sequence && !it.sparse) {
		return false
	}
	if epoch, _, err := parseEpoch(m.Header, first); err != nil || epoch != it.d.Epoch {
		return false
	}
	c.log.Info("starting at the oldest event the broker keeps", "tenant", it.d.Tenant, "first", first)
	return true
}

// errNotProducers marks an event after a gap that the producer's log holds differently.
var errNotProducers = errors.New("eventlog: the event is not the producer's")

// fill applies the events between the tenant's applied position and trig, the event after a
// gap, read from the Fetcher; they join trig's epoch. It first checks that the producer's log
// holds trig itself (errNotProducers otherwise): events fetched before a message that is not
// the producer's would be applied again once the producer's relay starts a new epoch below it.
// It reports force when some of the events are gone from the producer too, so trig must be
// applied despite the gap.
func (c *Consumer) fill(ctx context.Context, trig item) (force bool, err error) {
	tenant := trig.d.Tenant
	cur, err := c.Position(ctx, tenant)
	if err != nil {
		return false, err
	}
	pos, live := cur.enter(trig.epoch, trig.start)
	if !live {
		return false, fmt.Errorf("event %d of epoch %d is older than the applied epoch %d", trig.d.Sequence, trig.epoch, cur.Epoch)
	}
	upTo := trig.d.Sequence - 1
	if trig.msg != nil {
		ds, err := c.cfg.Fetcher.ListEvents(ctx, c.cfg.Service, tenant, upTo, 1)
		if err != nil {
			return false, fmt.Errorf("fetch: %w", err)
		}
		// A pruned event cannot be compared; a later one says nothing about it.
		if len(ds) > 0 && ds[0].Sequence == trig.d.Sequence && !sameEvent(ds[0], trig.d) {
			return false, errNotProducers
		}
	}
	after := pos.Sequence
	for after < upTo {
		ds, err := c.cfg.Fetcher.ListEvents(ctx, c.cfg.Service, tenant, after, int(min(upTo-after, MaxListLimit)))
		if err != nil {
			return false, fmt.Errorf("fetch: %w", err)
		}
		items := make([]item, 0, len(ds))
		prev := after
		for _, d := range ds {
			if d.Tenant != tenant || d.Service != c.cfg.Service || d.Sequence <= prev {
				return false, fmt.Errorf("fetcher returned %s/%s event %d after %d", d.Service, d.Tenant, d.Sequence, prev)
			}
			if d.Sequence > upTo {
				break
			}
			items = append(items, item{d: d, epoch: trig.epoch, start: trig.start})
			prev = d.Sequence
		}
		if len(items) == 0 {
			c.lost(tenant, after+1, upTo)
			return true, nil
		}
		if first := items[0].d.Sequence; first > after+1 {
			c.lost(tenant, after+1, first-1)
			items[0].force = true
		}
		outs, err := c.commit(ctx, items)
		if err != nil {
			return false, err
		}
		for i, o := range outs {
			if o == outGap {
				return false, fmt.Errorf("event %d still follows a gap", items[i].d.Sequence)
			}
		}
		after = prev
	}
	return false, nil
}

// sameEvent reports whether two deliveries are the same event: the same place in the same
// epoch, and the same content.
func sameEvent(a, b Delivery) bool {
	return a.Epoch == b.Epoch && a.Sequence == b.Sequence && digestOf(a) == digestOf(b)
}
