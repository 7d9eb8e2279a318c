package eventlog

import (
	"context"
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
		force, err := c.fill(ctx, tenant, mine[0].d.Sequence-1)
		if err != nil {
			if ctx.Err() == nil {
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

// startsStream reports whether it is the oldest event of its tenant on the broker and the
// consumer has applied none of the tenant's events yet.
func (c *Consumer) startsStream(ctx context.Context, it item) bool {
	if applied, err := c.Applied(ctx, it.d.Tenant); err != nil || applied != 0 {
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
	first, err := strconv.ParseUint(m.Header.Get(HeaderSequence), 10, 64)
	if err != nil || first != it.d.Sequence {
		return false
	}
	c.log.Info("starting at the oldest event the broker keeps", "tenant", it.d.Tenant, "first", first)
	return true
}

// fill applies tenant's events after its applied position up to upTo, read from the Fetcher.
// It reports force when some of them are gone from the producer too, so the event after upTo
// must be applied despite the gap.
func (c *Consumer) fill(ctx context.Context, tenant string, upTo uint64) (force bool, err error) {
	after, err := c.Applied(ctx, tenant)
	if err != nil {
		return false, err
	}
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
			items = append(items, item{d: d})
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
