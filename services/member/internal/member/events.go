package member

import "time"

// Event is a domain event a mutation records in the same transaction as its change. Events
// carry member ids and non-personal facts only. Their names in the event log and in subjects
// are declared once, by huiyuan.member.v1.EventType, which the store maps them to.
type Event interface{ event() }

// Registered says a member registered.
type Registered struct {
	MemberID     string
	Channel      Channel
	StoreID      string
	Tags         []string
	ReferralCode string
	At           time.Time
}

// Updated says a member's fields changed; ChangedFields names them, never their values.
type Updated struct {
	MemberID      string
	ChangedFields []string
	Tags          []string
	StoreID       string
	At            time.Time
}

// StatusChanged says a member's status changed, erasure included (New == StatusErased).
// Revoked, when set, revokes all of the member's tokens with the change (closing, erasure); the
// store records it as its own event after this one.
type StatusChanged struct {
	MemberID string
	Old, New Status
	Reason   string
	At       time.Time
	Revoked  *TokensRevoked
}

func (Registered) event()    {}
func (Updated) event()       {}
func (StatusChanged) event() {}
