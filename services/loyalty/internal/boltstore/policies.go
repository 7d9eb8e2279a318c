package boltstore

import (
	"bytes"
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// Policies are how the store turns tenants' stored policies into settings.
type Policies struct {
	// Default is the policy of a tenant that never stored one, as GetPolicy shows it; it must
	// describe the settings Config.Settings returns for such a tenant.
	Default *loyaltyv1.LoyaltyPolicy
	// Build returns the settings policy p describes; its errors are the validation's
	// (Invalid with violations on "policy.<field>"). It must be safe for concurrent use.
	Build func(p *loyaltyv1.LoyaltyPolicy) (*loyalty.Settings, error)
}

// cachedSettings are the settings built from one stored encoding of a tenant's policy.
type cachedSettings struct {
	raw []byte
	set *loyalty.Settings
}

// tenantSettings returns tenant's settings as tx sees them: the defaults, or those its stored
// policy describes. Parsed settings are cached per tenant and reused while the stored bytes
// are unchanged, so a request pays one lookup and one comparison, and a policy update (or a
// rolled-back one) can never leave a stale entry in use.
func (s *Store) tenantSettings(tx *bolt.Tx, tenant string) (*loyalty.Settings, error) {
	raw := tx.Bucket(bucketPolicies).Get([]byte(tenant))
	if raw == nil {
		return s.defaultSettings(tenant)
	}
	if c, ok := s.cache.Load(tenant); ok {
		if c := c.(*cachedSettings); bytes.Equal(c.raw, raw) {
			return c.set, nil
		}
	}
	p, err := decodePolicy(raw)
	if err != nil {
		return nil, fmt.Errorf("decode policy of tenant %s: %w", tenant, err)
	}
	set, err := s.policies.Build(p)
	if err != nil {
		return nil, fmt.Errorf("settings of tenant %s: %w", tenant, err)
	}
	s.cache.Store(tenant, &cachedSettings{raw: bytes.Clone(raw), set: set})
	return set, nil
}

// defaultSettings returns the settings of a tenant without a stored policy.
func (s *Store) defaultSettings(tenant string) (*loyalty.Settings, error) {
	set, err := s.settings(tenant)
	if err != nil {
		return nil, fmt.Errorf("settings of tenant %s: %w", tenant, err)
	}
	if set == nil || set.Ledger == nil {
		return nil, fmt.Errorf("settings of tenant %s: no ledger", tenant)
	}
	return set, nil
}

// guessSettings returns the settings tenant most likely has, without a transaction, for work
// done before one; the transaction checks the guess with tenantSettings.
func (s *Store) guessSettings(tenant string) (*loyalty.Settings, error) {
	if c, ok := s.cache.Load(tenant); ok {
		return c.(*cachedSettings).set, nil
	}
	return s.defaultSettings(tenant)
}

// policy returns tenant's policy as tx sees it.
func (s *Store) policy(tx *bolt.Tx, tenant string) (*loyaltyv1.LoyaltyPolicy, error) {
	raw := tx.Bucket(bucketPolicies).Get([]byte(tenant))
	if raw == nil {
		return proto.CloneOf(s.policies.Default), nil
	}
	p, err := decodePolicy(raw)
	if err != nil {
		return nil, fmt.Errorf("decode policy of tenant %s: %w", tenant, err)
	}
	return p, nil
}

// Field numbers of a policy stored before expiry_kind and refund_policy became enums: both
// were strings holding the enum's value name ("END_OF_MONTH", "FULL_WITH_DEBT").
const (
	legacyExpiryKind   protowire.Number = 4
	legacyRefundPolicy protowire.Number = 7
)

// decodePolicy decodes a stored policy. A policy stored with the string fields 4 and 7 (now
// reserved) reads back with their enum values, so an older file keeps its tenants' policies;
// the next update stores the new encoding.
func decodePolicy(raw []byte) (*loyaltyv1.LoyaltyPolicy, error) {
	p := &loyaltyv1.LoyaltyPolicy{}
	if err := proto.Unmarshal(raw, p); err != nil {
		return nil, err
	}
	unknown := p.ProtoReflect().GetUnknown()
	if len(unknown) == 0 {
		return p, nil
	}
	var keep []byte
	for b := unknown; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			return nil, protowire.ParseError(m)
		}
		field := b[:n+m]
		b = b[n+m:]
		if typ != protowire.BytesType || (num != legacyExpiryKind && num != legacyRefundPolicy) {
			keep = append(keep, field...)
			continue
		}
		name, _ := protowire.ConsumeBytes(field[n:])
		switch num {
		case legacyExpiryKind:
			if v, ok := loyaltyv1.LoyaltyPolicy_ExpiryKind_value[string(name)]; ok && p.GetExpiryKind() == 0 {
				p.ExpiryKind = loyaltyv1.LoyaltyPolicy_ExpiryKind(v)
			}
		case legacyRefundPolicy:
			if v, ok := loyaltyv1.LoyaltyPolicy_RefundPolicy_value[string(name)]; ok && p.GetRefundPolicy() == 0 {
				p.RefundPolicy = loyaltyv1.LoyaltyPolicy_RefundPolicy(v)
			}
		}
	}
	p.ProtoReflect().SetUnknown(keep)
	return p, nil
}

// GetPolicy returns tenant's loyalty policy: the one it stored, or the defaults.
// Errors: storage errors, a stored policy that does not decode.
func (s *Store) GetPolicy(ctx context.Context, tenant string) (*loyaltyv1.LoyaltyPolicy, error) {
	var out *loyaltyv1.LoyaltyPolicy
	err := s.db.View(ctx, func(tx *bolt.Tx) (err error) {
		out, err = s.policy(tx, tenant)
		return err
	})
	return out, err
}

// UpdatePolicy replaces tenant's policy with change(current), in one write transaction that
// also records loyalty_policy_updated (the new policy) and the request_id's answer. Only later
// operations see the new policy; lots already credited keep their expiry.
// Errors: change's; Invalid on "policy.<field>" when the new policy is not valid; Invalid
// REQUEST_ID_REUSED; storage errors.
func (s *Store) UpdatePolicy(ctx context.Context, tenant string,
	change func(cur *loyaltyv1.LoyaltyPolicy) (*loyaltyv1.LoyaltyPolicy, error)) (*loyaltyv1.LoyaltyPolicy, error) {
	now := s.clock.Now().UTC()
	out := &loyaltyv1.UpdateLoyaltyPolicyResponse{}
	err := s.runIdem(ctx, out, func(tx *bolt.Tx) error {
		cur, err := s.policy(tx, tenant)
		if err != nil {
			return err
		}
		next, err := change(cur)
		if err != nil {
			return err
		}
		set, err := s.policies.Build(next)
		if err != nil {
			return err
		}
		raw, err := marshal.Marshal(next)
		if err != nil {
			return fmt.Errorf("marshal policy: %w", err)
		}
		if err := tx.Bucket(bucketPolicies).Put([]byte(tenant), raw); err != nil {
			return err
		}
		if err := s.begin(tx, tenant, set, now).emit("loyalty_policy_updated", next, now); err != nil {
			return err
		}
		tx.OnCommit(func() { s.cache.Store(tenant, &cachedSettings{raw: raw, set: set}) })
		out.Policy = next
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out.GetPolicy(), nil
}
