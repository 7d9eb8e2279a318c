// Package member is the member domain: the Member entity, its validation and normalisation,
// field-mask updates, status transitions, the list filter, and the use cases (Service) over the
// interfaces it consumes (Store, Auditor). It imports neither gRPC, bbolt nor generated code.
package member

import (
	"maps"
	"slices"
	"time"
)

// Gender is a member's declared gender. The numbers match huiyuan.member.v1.Member.Gender.
type Gender int32

// The genders.
const (
	GenderUnspecified Gender = iota
	GenderFemale
	GenderMale
	GenderOther
)

// Channel is how a member came in. The numbers match huiyuan.member.v1.Member.Channel.
type Channel int32

// The channels. ChannelUnspecified is stored as ChannelOnline.
const (
	ChannelUnspecified Channel = iota
	ChannelOnline
	ChannelStore
	ChannelImport
	ChannelThirdParty
)

// Status is a member's lifecycle status. The numbers match huiyuan.member.v1.Member.Status.
type Status int32

// The statuses.
const (
	StatusUnspecified Status = iota
	StatusActive
	StatusFrozen
	StatusClosed
	StatusErased
)

// ConsentPurpose names what a consent covers. The numbers match huiyuan.member.v1.Consent.Purpose.
type ConsentPurpose int32

// The consent purposes.
const (
	PurposeUnspecified ConsentPurpose = iota
	PurposeMarketingSMS
	PurposeMarketingEmail
	PurposeMarketingPush
	PurposeProfiling
)

// statusNames and channelNames are the values' names as the API spells them (AIP-126).
var statusNames = [...]string{"STATUS_UNSPECIFIED", "ACTIVE", "FROZEN", "CLOSED", "ERASED"}
var channelNames = [...]string{"CHANNEL_UNSPECIFIED", "ONLINE", "STORE", "IMPORT", "THIRD_PARTY"}

// String returns the status's name, such as "ACTIVE".
func (s Status) String() string {
	if s >= 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "UNKNOWN"
}

// String returns the channel's name, such as "STORE".
func (c Channel) String() string {
	if c >= 0 && int(c) < len(channelNames) {
		return channelNames[c]
	}
	return "UNKNOWN"
}

// Identifier is an extra way to recognise a member, unique per (Type, Value) within a tenant.
// The value (a card number, an open id) is personal data; the type is not.
type Identifier struct {
	Type  string // a token such as "card" or "wechat_openid"
	Value string
}

// SpecialNeeds lists needs staff should know about. Allergies are health data: personal.
type SpecialNeeds struct {
	Allergies     []string
	Accessibility []string
	Note          string
}

// IsZero reports whether no need is recorded.
func (s SpecialNeeds) IsZero() bool {
	return len(s.Allergies) == 0 && len(s.Accessibility) == 0 && s.Note == ""
}

// Consent is a member's choice for one purpose.
type Consent struct {
	Purpose    ConsentPurpose
	Granted    bool
	UpdateTime time.Time
	Channel    Channel
}

// Member is a person enrolled in a tenant's member programme. DisplayName, Phone, Email,
// Birthday, Address, SpecialNeeds and the identifiers' values are personal data: they are empty
// when a member is read without them (ViewRedacted) and after erasure.
type Member struct {
	ID           string
	DisplayName  string
	Phone        string // E.164
	Email        string // lower-case
	Birthday     string // YYYY-MM-DD
	Address      string
	SpecialNeeds SpecialNeeds
	Gender       Gender
	Channel      Channel
	StoreID      string
	Tags         []string
	Status       Status
	Tier         string
	Identifiers  []Identifier
	Preferences  map[string]string
	Consents     []Consent
	ReferralCode string
	CreateTime   time.Time
	UpdateTime   time.Time
}

// Clone returns a deep copy of m, so a mutation of the copy never reaches m.
func (m *Member) Clone() *Member {
	c := *m
	c.SpecialNeeds.Allergies = slices.Clone(m.SpecialNeeds.Allergies)
	c.SpecialNeeds.Accessibility = slices.Clone(m.SpecialNeeds.Accessibility)
	c.Tags = slices.Clone(m.Tags)
	c.Identifiers = slices.Clone(m.Identifiers)
	c.Preferences = maps.Clone(m.Preferences)
	c.Consents = slices.Clone(m.Consents)
	return &c
}

// HasTag reports whether m carries tag.
func (m *Member) HasTag(tag string) bool { return slices.Contains(m.Tags, tag) }

// ClearPersonal empties the personal fields, as a reader without the right to see them gets m:
// identifiers keep their type only.
func (m *Member) ClearPersonal() {
	m.DisplayName, m.Phone, m.Email, m.Birthday, m.Address = "", "", "", "", ""
	m.SpecialNeeds = SpecialNeeds{}
	if len(m.Identifiers) > 0 {
		m.Identifiers = slices.Clone(m.Identifiers)
		for i := range m.Identifiers {
			m.Identifiers[i].Value = ""
		}
	}
}
