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

// DefineTier records, in tx, the earning multiplier the member service gives tier (its
// pointsMultiplierPercent); DeleteTier forgets it. Later orders of the tier's members earn by it.
// A tier id or percent no tier can have is ignored rather than refused (the producer's event
// cannot be fixed by retrying it).
func DefineTier(tx Tx, tier string, percent int64) error {
	if !ValidToken(tier) || percent < 0 || percent > MaxTierPercent {
		return nil
	}
	return tx.SaveTierMultiplier(tier, percent)
}

// DeleteTier forgets the multiplier of a tier the member service deleted.
func DeleteTier(tx Tx, tier string) error {
	if !ValidToken(tier) {
		return nil
	}
	return tx.DeleteTierMultiplier(tier)
}
