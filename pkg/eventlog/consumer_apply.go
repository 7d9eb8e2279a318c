package eventlog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	platformv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/platform/v1"
)

type outcome uint8

const (
	outApplied outcome = iota
	outDuplicate
	outGap
)

// handlerError carries a Handler's error out of the transaction with the item that failed. It
// does not unwrap to that error on purpose: a boltx.Unwritten mark inside it (a handler calling
// store code that uses one) would make the group-commit writer commit the batch's earlier
// events without the cursor that records them, and they would be applied again.
type handlerError struct {
	index int
	err   error
}

func (e *handlerError) Error() string { return e.err.Error() }

// apply applies broker messages, acknowledging what is applied or was already, and handles
// events after a gap: filled from the Fetcher when fillGaps is set, otherwise redelivered later.
func (c *Consumer) apply(ctx context.Context, items []item, fillGaps bool) {
	items = c.ackApplied(ctx, items)
	for len(items) > 0 {
		outs, err := c.commit(ctx, items)
		var he *handlerError
		switch {
		case err == nil:
			var gaps []item
			for i, it := range items {
				if outs[i] == outGap {
					gaps = append(gaps, it)
				} else {
					c.ack(it)
				}
			}
			c.gaps(ctx, gaps, fillGaps)
			return
		case errors.As(err, &he):
			failed := items[he.index]
			delay := c.backoff(failed.msg)
			c.log.Error("event handler failed; redelivering later", "tenant", failed.d.Tenant,
				"sequence", failed.d.Sequence, "type", failed.d.Type, "err", he.err, "retry_in", delay)
			// The rest of the batch is applied again without the failed event; its tenant's later
			// events wait for it.
			rest := make([]item, 0, len(items)-1)
			for i, it := range items {
				if i >= he.index && it.d.Tenant == failed.d.Tenant {
					c.nak(it, delay)
				} else {
					rest = append(rest, it)
				}
			}
			items = rest
		default:
			if ctx.Err() == nil {
				c.log.Error("cannot apply events; redelivering later", "events", len(items), "err", err)
			}
			for _, it := range items {
				c.nak(it, c.cfg.Backoff)
			}
			return
		}
	}
}

// ackApplied acknowledges, after a read, the events already applied (redeliveries after a lost
// ack, the broker replaying a recreated consumer) and those of older epochs, so they cost no
// write. It returns the rest.
func (c *Consumer) ackApplied(ctx context.Context, items []item) []item {
	rest := items[:0:0]
	err := c.db.View(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(consumerBucket)
		applied := make(map[string]Position, 2)
		for _, it := range items {
			cur, ok := applied[it.d.Tenant]
			if !ok {
				var err error
				if cur, err = readApplied(b, c.cursorKey(it.d.Tenant)); err != nil {
					return err
				}
				applied[it.d.Tenant] = cur
			}
			if pos, ok := cur.enter(it.epoch, it.start); !ok || it.d.Sequence <= pos.Sequence {
				c.ack(it)
			} else {
				rest = append(rest, it)
			}
		}
		return nil
	})
	if err != nil {
		return items // the write transaction checks again
	}
	return rest
}

// commit runs, in one write transaction, the Handler of every item that directly follows its
// tenant's applied position, and advances the positions. It reports each item's outcome.
func (c *Consumer) commit(ctx context.Context, items []item) ([]outcome, error) {
	outs := make([]outcome, len(items))
	err := c.w.Update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(consumerBucket)
		if b == nil {
			var err error
			if b, err = tx.CreateBucket(consumerBucket); err != nil {
				return err
			}
		}
		applied := make(map[string]Position, 2)
		moved := make(map[string]bool, 2)
		for i, it := range items {
			t, seq := it.d.Tenant, it.d.Sequence
			cur, ok := applied[t]
			if !ok {
				var err error
				if cur, err = readApplied(b, c.cursorKey(t)); err != nil {
					return err
				}
				applied[t] = cur
			}
			// Entering a newer epoch is recorded only with an event applied in it.
			pos, live := cur.enter(it.epoch, it.start)
			switch {
			case !live || seq <= pos.Sequence:
				outs[i] = outDuplicate
			case seq != pos.Sequence+1 && !it.force && !(it.sparse && pos.Sequence > 0):
				// A sparse consumer's gap is the other types' events, except before the first
				// event it applies of a tenant (or of an epoch that starts at 1): those it
				// fills as any consumer does.
				outs[i] = outGap
			default:
				if c.types == nil || c.types[it.d.Type] {
					if err := c.h(tx, it.d); err != nil {
						return &handlerError{index: i, err: err}
					}
				}
				pos.Sequence = seq
				applied[t] = pos
				moved[t] = true
				outs[i] = outApplied
			}
		}
		for t := range moved {
			v, err := proto.MarshalOptions{Deterministic: true}.Marshal(&platformv1.ConsumerCursor{
				AppliedSequence: applied[t].Sequence, AppliedEpoch: applied[t].Epoch})
			if err != nil {
				return err
			}
			if err := b.Put(c.cursorKey(t), v); err != nil {
				return err
			}
		}
		return nil
	})
	return outs, err
}

// lost logs events that neither the broker nor the producer holds any more.
func (c *Consumer) lost(tenant string, from, to uint64) {
	if from == 1 {
		c.log.Info("starting at the oldest event the producer keeps", "tenant", tenant, "first", to+1)
		return
	}
	c.log.Error("events lost for good (pruned by the producer); skipping them", "tenant", tenant, "from", from, "to", to)
}

func (c *Consumer) ack(it item) {
	if it.msg == nil {
		return
	}
	if err := it.msg.Ack(); err != nil {
		c.log.Debug("ack failed; the event will be redelivered and skipped", "err", err)
	}
}

func (c *Consumer) nak(it item, delay time.Duration) {
	if it.msg == nil {
		return
	}
	if err := it.msg.NakWithDelay(delay); err != nil {
		c.log.Debug("nak failed; the event will be redelivered after AckWait", "err", err)
	}
}

// backoff is the redelivery delay after m's Handler failed: Backoff doubled per delivery.
func (c *Consumer) backoff(m jetstream.Msg) time.Duration {
	if m == nil {
		return c.cfg.Backoff
	}
	meta, err := m.Metadata()
	if err != nil || meta.NumDelivered <= 1 {
		return c.cfg.Backoff
	}
	d := c.cfg.Backoff << min(meta.NumDelivered-1, 30)
	if d <= 0 || d > c.cfg.MaxBackoff {
		return c.cfg.MaxBackoff
	}
	return d
}

func (c *Consumer) cursorKey(tenant string) []byte {
	k := make([]byte, 0, len(c.cfg.Name)+len(c.cfg.Service)+len(tenant)+2)
	k = append(k, c.cfg.Name...)
	k = append(k, 0)
	k = append(k, c.cfg.Service...)
	k = append(k, 0)
	return append(k, tenant...)
}

// Position is how far a consumer has applied one producer tenant's log: the epoch of the
// producer's history it follows and the highest sequence applied.
type Position struct {
	Epoch, Sequence uint64
}

// enter returns the position an event of epoch (starting at start) is judged against: p itself
// for the same epoch; for a newer one, p moved into it, no further than the events before start
// that the epochs share, so the new epoch's events from start on are applied even where an
// older epoch had others. ok is false for an event of an older epoch: history the consumer has
// moved past, acknowledged without effect.
func (p Position) enter(epoch, start uint64) (Position, bool) {
	switch {
	case epoch == p.Epoch:
		return p, true
	case epoch < p.Epoch:
		return p, false
	default:
		return Position{Epoch: epoch, Sequence: min(p.Sequence, max(start, 1)-1)}, true
	}
}

func readApplied(b *bolt.Bucket, key []byte) (Position, error) {
	if b == nil {
		return Position{}, nil
	}
	v := b.Get(key)
	if v == nil {
		return Position{}, nil
	}
	cur := &platformv1.ConsumerCursor{}
	if err := proto.Unmarshal(v, cur); err != nil {
		return Position{}, fmt.Errorf("decode consumer cursor %q: %w", key, err)
	}
	return Position{Epoch: cur.GetAppliedEpoch(), Sequence: cur.GetAppliedSequence()}, nil
}
