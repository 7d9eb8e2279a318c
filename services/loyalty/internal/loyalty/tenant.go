package loyalty

import "context"

// GetPolicy returns tenant's loyalty policy: its own, or DefaultPolicy.
func (s *Service) GetPolicy(ctx context.Context, tenant string) (*Policy, error) {
	var out Policy
	err := s.store.View(ctx, tenant, func(v View) error {
		set, err := s.settings(v)
		if err == nil {
			out = set.Policy
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdatePolicy replaces tenant's policy with change(current) when it validates, in one update
// that records LOYALTY_POLICY_UPDATED (the new policy). Only later operations see it: lots
// already credited keep their expiry.
// Errors: change's; Invalid on "policy.<field>" (see Policy.Validate); Invalid
// REQUEST_ID_REUSED.
func (s *Service) UpdatePolicy(ctx context.Context, tenant string, change func(cur Policy) (Policy, error)) (*Policy, error) {
	now := s.now()
	res, err := s.store.Update(ctx, tenant, func(tx Tx) (Result, []Event, error) {
		cur, err := s.settings(tx)
		if err != nil {
			return nil, nil, err
		}
		next, err := change(cur.Policy)
		if err != nil {
			return nil, nil, err
		}
		if err := next.Validate(); err != nil {
			return nil, nil, err
		}
		if err := tx.SavePolicy(next); err != nil {
			return nil, nil, err
		}
		return &next, []Event{PolicyUpdated{Policy: next, At: now}}, nil
	})
	if err != nil {
		return nil, err
	}
	return res.(*Policy), nil
}

// SetTier records, in tx, that the member service says member has tier ("" for none): later
// orders of the member earn at that tier's multiplier, earlier ones keep what they earned.
// Applying it again changes nothing, so a redelivered event is harmless. A member id no order
// can carry is ignored rather than refused (the producer's event cannot be fixed by retrying
// it).
func SetTier(tx Tx, member, tier string) error {
	if !ValidToken(member) {
		return nil
	}
	a, err := tx.Account(member)
	if err != nil {
		return err
	}
	if a.Tier == tier {
		return nil // unchanged: leave the page clean
	}
	a.Tier = tier
	tx.SaveAccount(a)
	return nil
}
