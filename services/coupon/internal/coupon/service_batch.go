package coupon

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/ids"
)

// Code batch limits.
const (
	MaxBatchCount = 1_000_000
	batchChunk    = 5000 // codes per transaction: big enough to amortise the fsync, small enough not to hold the writer long
	exportPage    = 2000
)

// CreateBatch starts generating count codes (1 to MaxBatchCount) of template templateID for
// distribution; the template's stock counts them at once. The batch worker generates them in
// the background (GetBatch shows the progress); the codes are unclaimed coupons, bound to the
// member who first claims, locks or redeems one. Errors: Invalid on "count"; NotFound;
// FailedPrecondition COUPON_TEMPLATE_NOT_ACTIVE, COUPON_TEMPLATE_EXPIRED, COUPON_OUT_OF_STOCK.
func (s *Service) CreateBatch(ctx context.Context, tenant, templateID string, count int64) (*Batch, error) {
	if count < 1 || count > MaxBatchCount {
		return nil, apperr.InvalidField("count", "must be between 1 and %d", MaxBatchCount)
	}
	now := s.now()
	b := &Batch{ID: ids.New(), TemplateID: templateID, Count: count, State: BatchRunning, CreateTime: now}
	out, err := s.store.CreateBatch(ctx, tenant, b, func(t *Template, issued *int64) error {
		switch {
		case t.Status != StatusActive:
			return failed(ReasonTemplateNotActive, "coupon template %q is %s", t.ID, t.Status).With("status", t.Status.String())
		case !t.ValidUntil.IsZero() && !t.ValidUntil.After(now):
			return failed(ReasonTemplateExpired, "the validity of template %q has ended", t.ID)
		case t.TotalStock > 0 && *issued+count > t.TotalStock:
			return outOfStock(t.ID, t.TotalStock).With("remaining", fmt.Sprint(t.TotalStock-*issued))
		}
		*issued += count
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("create code batch: %w", err)
	}
	select {
	case s.batches <- struct{}{}:
	default:
	}
	return out, nil
}

// BatchWake delivers a value whenever a batch is created, so the worker need not wait for its
// next round.
func (s *Service) BatchWake() <-chan struct{} { return s.batches }

// RunBatches generates the codes of every running batch to the end, batchChunk per transaction.
// Progress is durable per transaction, so after a crash the batch goes on where it stopped.
func (s *Service) RunBatches(ctx context.Context) error {
	refs, err := s.store.RunningBatches(ctx)
	if err != nil {
		return fmt.Errorf("run code batches: %w", err)
	}
	for _, r := range refs {
		if err := s.runBatch(ctx, r.Tenant, r.ID); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) runBatch(ctx context.Context, tenant, id string) error {
	b, err := s.store.GetBatch(ctx, tenant, id)
	if err != nil {
		return fmt.Errorf("run code batch %s: %w", id, err)
	}
	tv, err := s.store.GetTemplate(ctx, tenant, b.TemplateID)
	if err != nil {
		return fmt.Errorf("run code batch %s: %w", id, err)
	}
	zone, err := s.store.TenantZone(ctx, tenant)
	if err != nil {
		return fmt.Errorf("run code batch %s: %w", id, err)
	}
	loc := s.zones.get(zone)
	for b.State == BatchRunning && ctx.Err() == nil {
		n := min(batchChunk, b.Count-b.Generated)
		now := s.now()
		start, end := tv.Template.Validity(now, loc)
		coupons := make([]*Coupon, 0, n)
		for range n {
			code, err := NewCode()
			if err != nil {
				return err
			}
			coupons = append(coupons, &Coupon{ID: ids.New(), Code: code, TemplateID: b.TemplateID, State: StateAvailable,
				Source: SourceCodeBatch, IssueTime: now, StartTime: start, ExpireTime: end, BatchID: b.ID, UpdateTime: now})
		}
		var next Batch
		if _, err := s.store.AddBatchCodes(ctx, tenant, id, coupons, func(x *Batch, stored int64) []Event {
			x.Generated += stored
			next = *x
			if x.Generated < x.Count {
				return nil
			}
			x.State, x.DoneTime = BatchDone, now
			next = *x
			return []Event{BatchCompleted{BatchID: x.ID, TemplateID: x.TemplateID, Count: x.Count, At: now}}
		}); err != nil {
			return fmt.Errorf("run code batch %s: %w", id, err)
		}
		b = &next
	}
	return nil
}

// GetBatch returns code batch id. Errors: NotFound.
func (s *Service) GetBatch(ctx context.Context, tenant, id string) (*Batch, error) {
	b, err := s.store.GetBatch(ctx, tenant, id)
	if err != nil {
		return nil, fmt.Errorf("get code batch: %w", err)
	}
	return b, nil
}

// ListBatches returns template templateID's code batches. Errors: NotFound.
func (s *Service) ListBatches(ctx context.Context, tenant, templateID string) ([]*Batch, error) {
	if _, err := s.store.GetTemplate(ctx, tenant, templateID); err != nil {
		return nil, fmt.Errorf("list code batches: %w", err)
	}
	out, err := s.store.ListBatches(ctx, tenant, templateID)
	if err != nil {
		return nil, fmt.Errorf("list code batches: %w", err)
	}
	return out, nil
}

// ExportBatch writes code batch id as CSV to w: a header, then one line per code generated so
// far (code grouped for reading, state as it stands now, end of validity in RFC 3339), reading
// the store a page at a time. Errors: NotFound; w's.
func (s *Service) ExportBatch(ctx context.Context, tenant, id string, w io.Writer) error {
	if _, err := s.store.GetBatch(ctx, tenant, id); err != nil {
		return fmt.Errorf("export code batch: %w", err)
	}
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"code", "state", "member_id", "expire_time"}); err != nil {
		return err
	}
	after := ""
	for {
		cs, err := s.store.BatchCoupons(ctx, tenant, id, after, exportPage)
		if err != nil {
			return fmt.Errorf("export code batch: %w", err)
		}
		now := s.now()
		for _, c := range cs {
			e := c.Effective(now)
			if err := cw.Write([]string{FormatCode(e.Code), e.State.String(), e.MemberID, e.ExpireTime.Format(time.RFC3339)}); err != nil {
				return err
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
		if len(cs) < exportPage {
			return nil
		}
		after = cs[len(cs)-1].ID
	}
}

// CreateSharedCode creates shared code in for its template: the code an operator chose (4 to 32
// letters and digits, not shaped like a generated code) or a generated one. Errors: Invalid on
// "shared_code.*"; NotFound; AlreadyExists COUPON_CODE_EXISTS; FailedPrecondition
// COUPON_TEMPLATE_NOT_ACTIVE when the template has ended.
func (s *Service) CreateSharedCode(ctx context.Context, tenant string, in SharedCode) (*SharedCode, error) {
	var v apperr.Violations
	if in.TemplateID == "" {
		v.Add("shared_code.template_id", "is required")
	}
	if in.MaxUses < 1 || in.MaxUses > MaxMinor {
		v.Add("shared_code.max_uses", "must be between 1 and %d", int64(MaxMinor))
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var err error
	if in.Code == "" {
		in.Code, err = newSharedCode()
	} else {
		in.Code, err = sharedCodeSpelling("shared_code.code", in.Code)
	}
	if err != nil {
		return nil, err
	}
	sc := &SharedCode{Code: in.Code, TemplateID: in.TemplateID, MaxUses: in.MaxUses, CreateTime: s.now()}
	out, err := s.store.CreateSharedCode(ctx, tenant, sc, func(t *Template) error {
		if t.Status == StatusEnded {
			return failed(ReasonTemplateNotActive, "coupon template %q has ended", t.ID).With("status", t.Status.String())
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("create shared code: %w", err)
	}
	return out, nil
}

// GetSharedCode returns shared code code. Errors: NotFound.
func (s *Service) GetSharedCode(ctx context.Context, tenant, code string) (*SharedCode, error) {
	sc, err := s.store.GetSharedCode(ctx, tenant, code)
	if err != nil {
		return nil, fmt.Errorf("get shared code: %w", err)
	}
	return sc, nil
}

// SweepDue settles every coupon whose lock lapsed or whose validity ended by now (released,
// expired, each with its event), in transactions of 256, and returns how many changed.
func (s *Service) SweepDue(ctx context.Context) (int, error) {
	total := 0
	for {
		now := s.now()
		refs, err := s.store.DueCoupons(ctx, now, 256)
		if err != nil {
			return total, fmt.Errorf("sweep coupons: %w", err)
		}
		if len(refs) == 0 {
			return total, nil
		}
		n, err := s.store.SettleCoupons(ctx, refs, func(c *Coupon) []Event { return c.settle(now) })
		total += n
		if err != nil {
			return total, fmt.Errorf("sweep coupons: %w", err)
		}
		if n == 0 || len(refs) < 256 {
			return total, nil
		}
	}
}
