package coupon

import (
	"context"
	"fmt"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/ids"
)

// CreateTemplate creates a template in DRAFT from in (output-only fields ignored; unset stacking
// is exclusive, an unset refund policy FORFEIT). Errors: Invalid with violations on
// "template.<field>".
func (s *Service) CreateTemplate(ctx context.Context, tenant string, in *Template) (TemplateView, error) {
	t := in.Clone()
	var v apperr.Violations
	t.normalize("template.", &v)
	if err := v.Err(); err != nil {
		return TemplateView{}, err
	}
	now := s.now()
	t.ID, t.Status, t.CreateTime, t.UpdateTime = ids.New(), StatusDraft, now, now
	out, err := s.store.CreateTemplate(ctx, tenant, t, []Event{TemplateChanged{Kind: EventTemplateCreated, Template: t.Clone(), At: now}})
	if err != nil {
		return TemplateView{}, fmt.Errorf("create coupon template: %w", err)
	}
	return TemplateView{Template: out}, nil
}

// GetTemplate returns template id with its issued count. Errors: NotFound.
func (s *Service) GetTemplate(ctx context.Context, tenant, id string) (TemplateView, error) {
	tv, err := s.store.GetTemplate(ctx, tenant, id)
	if err != nil {
		return TemplateView{}, fmt.Errorf("get coupon template: %w", err)
	}
	return tv, nil
}

// ListTemplates returns a page of templates, of status only unless it is unspecified.
// Errors: Invalid on "page_size", "page_token" or "status".
func (s *Service) ListTemplates(ctx context.Context, tenant string, status Status, size int, token string) ([]TemplateView, string, error) {
	p, err := page(size, token)
	if err != nil {
		return nil, "", err
	}
	if status != StatusUnspecified && !status.Valid() {
		return nil, "", apperr.InvalidField("status", "must be DRAFT, ACTIVE, PAUSED or ENDED")
	}
	out, next, err := s.store.ListTemplates(ctx, tenant, status, p)
	if err != nil {
		return nil, "", fmt.Errorf("list coupon templates: %w", err)
	}
	return out, next, nil
}

// page checks a page request.
func page(size int, token string) (Page, error) {
	switch {
	case size < 0:
		return Page{}, apperr.InvalidField("page_size", "must not be negative")
	case size == 0:
		size = DefaultPageSize
	case size > MaxPageSize:
		size = MaxPageSize
	}
	return Page{Size: size, Token: token}, nil
}

// UpdateTemplate changes the fields of template id named by mask (UpdatableFields; empty: those
// patch sets). Once coupons are issued the fields they are redeemed by are frozen and stock may
// not go below the issued count. A change that raises stock clears the sold-out flag.
// Errors: Invalid on "update_mask" or "template.<field>"; NotFound; FailedPrecondition
// COUPON_TEMPLATE_IN_USE.
func (s *Service) UpdateTemplate(ctx context.Context, tenant, id string, patch *Template, mask []string) (TemplateView, error) {
	tv, err := s.store.UpdateTemplate(ctx, tenant, id, func(t *Template, issued int64) ([]Event, error) {
		changed, err := applyUpdate(t, patch, mask, issued)
		if err != nil || len(changed) == 0 {
			return nil, err
		}
		now := s.now()
		t.UpdateTime = now
		return []Event{TemplateChanged{Kind: EventTemplateUpdated, Template: t.Clone(), Issued: issued, ChangedFields: changed, At: now}}, nil
	})
	if err != nil {
		return TemplateView{}, fmt.Errorf("update coupon template: %w", err)
	}
	s.soldOut.clear(soldOutKey(tenant, id)) // stock may have been raised: let the store judge again
	return tv, nil
}

// SetStatus moves template id to status to (see CanTransition); asking for the status it has
// changes nothing. Errors: NotFound; FailedPrecondition
// COUPON_TEMPLATE_STATUS_TRANSITION_INVALID.
func (s *Service) SetStatus(ctx context.Context, tenant, id string, to Status) (TemplateView, error) {
	tv, err := s.store.UpdateTemplate(ctx, tenant, id, func(t *Template, issued int64) ([]Event, error) {
		if t.Status == to {
			return nil, nil
		}
		if !CanTransition(t.Status, to) {
			return nil, failed(ReasonStatusTransition, "coupon template %q cannot go from %s to %s", t.ID, t.Status, to).
				With("from", t.Status.String()).With("to", to.String())
		}
		now := s.now()
		t.Status, t.UpdateTime = to, now
		return []Event{TemplateChanged{Kind: EventTemplateStatusChanged, Template: t.Clone(), Issued: issued, At: now}}, nil
	})
	if err != nil {
		return TemplateView{}, fmt.Errorf("change coupon template status: %w", err)
	}
	return tv, nil
}
