package grpcapi

import (
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/ids"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/member"

	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

const namePrefix = "members/"

// parseID reads the member id a request names in field (member_id, or member.id for
// UpdateMember). An empty or malformed id is Invalid on field; a well-formed one that cannot
// exist is NotFound, like any absent member.
func parseID(field, id string) (string, error) {
	if id == "" {
		return "", apperr.InvalidField(field, "is required")
	}
	if strings.Contains(id, "/") || len(id) > 64 {
		return "", apperr.InvalidField(field, "must be a member id")
	}
	if !ids.Valid(id) {
		return "", member.NotFoundError(id)
	}
	return ids.Canonical(id), nil
}

// toProto maps a domain member to the API resource.
func toProto(m *member.Member) *memberv1.Member {
	p := &memberv1.Member{
		Name:        namePrefix + m.ID,
		Id:          m.ID,
		DisplayName: m.DisplayName,
		Phone:       m.Phone,
		Email:       m.Email,
		Birthday:    m.Birthday,
		Gender:      memberv1.Member_Gender(m.Gender),
		Channel:     memberv1.Member_Channel(m.Channel),
		StoreId:     m.StoreID,
		Tags:        m.Tags,
		Status:      memberv1.Member_Status(m.Status),
		Tier:        m.Tier,
		Preferences: m.Preferences,
		Address:     m.Address,
		CreateTime:  ts(m.CreateTime),
		UpdateTime:  ts(m.UpdateTime),
	}
	if !m.SpecialNeeds.IsZero() {
		p.SpecialNeeds = &memberv1.SpecialNeeds{Allergies: m.SpecialNeeds.Allergies,
			Accessibility: m.SpecialNeeds.Accessibility, Note: m.SpecialNeeds.Note}
	}
	if len(m.Identifiers) > 0 {
		p.Identifiers = make([]*memberv1.Identifier, len(m.Identifiers))
		for i, id := range m.Identifiers {
			p.Identifiers[i] = &memberv1.Identifier{Type: id.Type, Value: id.Value}
		}
	}
	if len(m.Consents) > 0 {
		p.Consents = make([]*memberv1.Consent, len(m.Consents))
		for i, c := range m.Consents {
			p.Consents[i] = &memberv1.Consent{Purpose: memberv1.Consent_Purpose(c.Purpose), Granted: c.Granted,
				UpdateTime: ts(c.UpdateTime), Channel: memberv1.Member_Channel(c.Channel)}
		}
	}
	return p
}

// fromProto maps the input fields of an API member to the domain; output-only fields (name,
// id, status, tier, times, consent stamps) are left out.
func fromProto(p *memberv1.Member) *member.Member {
	m := &member.Member{
		DisplayName: p.GetDisplayName(),
		Phone:       p.GetPhone(),
		Email:       p.GetEmail(),
		Birthday:    p.GetBirthday(),
		Address:     p.GetAddress(),
		Gender:      member.Gender(p.GetGender()),
		Channel:     member.Channel(p.GetChannel()),
		StoreID:     p.GetStoreId(),
		Tags:        p.GetTags(),
		Preferences: p.GetPreferences(),
	}
	if sn := p.GetSpecialNeeds(); sn != nil {
		m.SpecialNeeds = member.SpecialNeeds{Allergies: sn.GetAllergies(), Accessibility: sn.GetAccessibility(), Note: sn.GetNote()}
	}
	for _, id := range p.GetIdentifiers() {
		m.Identifiers = append(m.Identifiers, member.Identifier{Type: id.GetType(), Value: id.GetValue()})
	}
	for _, c := range p.GetConsents() {
		m.Consents = append(m.Consents, member.Consent{Purpose: member.ConsentPurpose(c.GetPurpose()), Granted: c.GetGranted()})
	}
	return m
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}
