package boltstore

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/member"

	storagev1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/storage/v1"
	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

// toRecord returns the non-personal part of m as a record (identifiers by type only); the
// caller seals the personal part.
func toRecord(m *member.Member) *storagev1.MemberRecord {
	r := &storagev1.MemberRecord{
		Id:           m.ID,
		Gender:       storagev1.MemberRecord_StoredGender(m.Gender),
		Channel:      storagev1.MemberRecord_StoredChannel(m.Channel),
		StoreId:      m.StoreID,
		Tags:         m.Tags,
		Status:       storagev1.MemberRecord_StoredStatus(m.Status),
		Tier:         m.Tier,
		Preferences:  m.Preferences,
		CreateTime:   ts(m.CreateTime),
		UpdateTime:   ts(m.UpdateTime),
		ReferralCode: m.ReferralCode,
	}
	if len(m.Identifiers) > 0 {
		// The values are personal: seal puts them in the sealed part and sets the indexes.
		r.Identifiers = make([]*storagev1.IdentifierRecord, len(m.Identifiers))
		for i, id := range m.Identifiers {
			r.Identifiers[i] = &storagev1.IdentifierRecord{Type: id.Type}
		}
	}
	if len(m.Consents) > 0 {
		r.Consents = make([]*storagev1.ConsentRecord, len(m.Consents))
		for i, c := range m.Consents {
			r.Consents[i] = &storagev1.ConsentRecord{Purpose: storagev1.ConsentRecord_StoredPurpose(c.Purpose), Granted: c.Granted,
				UpdateTime: ts(c.UpdateTime), Channel: storagev1.MemberRecord_StoredChannel(c.Channel)}
		}
	}
	return r
}

// fromRecord returns the member r holds, without its personal fields: identifiers have their
// type and no value.
func fromRecord(r *storagev1.MemberRecord) *member.Member {
	m := &member.Member{
		ID:           r.GetId(),
		Gender:       member.Gender(r.GetGender()),
		Channel:      member.Channel(r.GetChannel()),
		StoreID:      r.GetStoreId(),
		Tags:         r.GetTags(),
		Status:       member.Status(r.GetStatus()),
		Tier:         r.GetTier(),
		Preferences:  r.GetPreferences(),
		CreateTime:   r.GetCreateTime().AsTime(),
		UpdateTime:   r.GetUpdateTime().AsTime(),
		ReferralCode: r.GetReferralCode(),
	}
	if ids := r.GetIdentifiers(); len(ids) > 0 {
		m.Identifiers = make([]member.Identifier, len(ids))
		for i, id := range ids {
			m.Identifiers[i] = member.Identifier{Type: id.GetType()}
		}
	}
	if cs := r.GetConsents(); len(cs) > 0 {
		m.Consents = make([]member.Consent, len(cs))
		for i, c := range cs {
			m.Consents[i] = member.Consent{Purpose: member.ConsentPurpose(c.GetPurpose()), Granted: c.GetGranted(),
				UpdateTime: c.GetUpdateTime().AsTime(), Channel: member.Channel(c.GetChannel())}
		}
	}
	return m
}

func toPersonal(m *member.Member) *storagev1.PersonalData {
	p := &storagev1.PersonalData{
		DisplayName: m.DisplayName,
		Phone:       m.Phone,
		Email:       m.Email,
		Birthday:    m.Birthday,
		Address:     m.Address,
	}
	for _, id := range m.Identifiers {
		p.IdentifierValues = append(p.IdentifierValues, id.Value)
	}
	if !m.SpecialNeeds.IsZero() {
		p.SpecialNeeds = &storagev1.SpecialNeedsRecord{Allergies: m.SpecialNeeds.Allergies,
			Accessibility: m.SpecialNeeds.Accessibility, Note: m.SpecialNeeds.Note}
	}
	return p
}

// applyPersonal sets m's personal fields from p; m's identifiers (from the record) get their
// values. Errors: a p that does not fit the record.
func applyPersonal(m *member.Member, p *storagev1.PersonalData) error {
	vals := p.GetIdentifierValues()
	if len(vals) != len(m.Identifiers) {
		return fmt.Errorf("member %s: %d identifier values for %d identifiers", m.ID, len(vals), len(m.Identifiers))
	}
	m.DisplayName, m.Phone, m.Email = p.GetDisplayName(), p.GetPhone(), p.GetEmail()
	m.Birthday, m.Address = p.GetBirthday(), p.GetAddress()
	if sn := p.GetSpecialNeeds(); sn != nil {
		m.SpecialNeeds = member.SpecialNeeds{Allergies: sn.GetAllergies(), Accessibility: sn.GetAccessibility(), Note: sn.GetNote()}
	}
	for i, v := range vals {
		m.Identifiers[i].Value = v
	}
	return nil
}

// toEvent returns the type and protobuf payload of a domain event of member m (as stored with
// the event). Payloads carry member ids and non-personal facts only; registrations and updates
// carry the member's current tier, which consumers (loyalty's earning) keep a copy of.
func toEvent(ev member.Event, m *member.Member) (string, proto.Message, error) {
	switch e := ev.(type) {
	case member.Registered:
		return eventlog.TypeName(memberv1.EventType_MEMBER_REGISTERED), &memberv1.MemberRegisteredEvent{
			MemberId: e.MemberID, Channel: memberv1.Member_Channel(e.Channel), StoreId: e.StoreID, Tags: e.Tags,
			ReferralCode: e.ReferralCode, CreateTime: ts(e.At), Tier: m.Tier}, nil
	case member.Updated:
		return eventlog.TypeName(memberv1.EventType_MEMBER_UPDATED), &memberv1.MemberUpdatedEvent{
			MemberId: e.MemberID, ChangedFields: e.ChangedFields, Tags: e.Tags, StoreId: e.StoreID, UpdateTime: ts(e.At),
			Tier: m.Tier}, nil
	case member.StatusChanged:
		return eventlog.TypeName(memberv1.EventType_MEMBER_STATUS_CHANGED), &memberv1.MemberStatusChangedEvent{
			MemberId: e.MemberID, OldStatus: memberv1.Member_Status(e.Old), NewStatus: memberv1.Member_Status(e.New),
			Reason: e.Reason, UpdateTime: ts(e.At)}, nil
	}
	return "", nil, fmt.Errorf("boltstore: unknown event %T", ev)
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}
