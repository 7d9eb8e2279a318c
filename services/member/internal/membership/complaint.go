package membership

import (
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
)

// ComplaintState is where a complaint is. The numbers match
// huiyuan.member.v1.BenefitComplaint.State.
type ComplaintState int32

// The complaint states.
const (
	ComplaintUnspecified ComplaintState = iota
	ComplaintOpen
	ComplaintResolved
)

// ReporterMember is the reporter of a complaint a member recorded themselves.
const ReporterMember = "member"

// Complaint records that a benefit was not honoured: who (the member), when, where and what.
type Complaint struct {
	ID          string
	MemberID    string
	BenefitID   string
	StoreID     string
	OccurTime   time.Time
	Description string
	State       ComplaintState
	Reporter    string // ReporterMember or the API key id of staff
	Note        string
	Resolver    string
	CreateTime  time.Time
	ResolveTime time.Time
}

// maxComplaintAge bounds how far back a complaint may say it happened.
const maxComplaintAge = 2 * 366 * 24 * time.Hour

// OpenComplaint validates in (benefit, store, time, description), by reporter, and returns it
// open as complaint id with the event; open is the benefit's open complaints before it. A
// benefit deleted since is still named by its id, so complaints about it are accepted only
// while it is in the catalogue.
// Errors: Invalid (BENEFIT_COMPLAINT_INVALID on complaint.*); NotFound (BENEFIT_NOT_FOUND).
func OpenComplaint(c *Catalog, in Complaint, reporter, id string, open int64, now time.Time) (*Complaint, []Event, error) {
	var v apperr.Violations
	if in.BenefitID == "" {
		v.Add("complaint.benefit_id", "is required")
	}
	checkStoreID(in.StoreID, "complaint.store_id", &v)
	in.Description = text(in.Description, MaxText, true, true, "complaint.description", &v)
	switch {
	case in.OccurTime.IsZero():
		in.OccurTime = now
	case in.OccurTime.After(now.Add(5 * time.Minute)):
		v.Add("complaint.occur_time", "must not be in the future")
	case now.Sub(in.OccurTime) > maxComplaintAge:
		v.Add("complaint.occur_time", "must be within the last 2 years")
	}
	if err := invalid(ReasonComplaintInvalid, v); err != nil {
		return nil, nil, err
	}
	if c.Benefit(in.BenefitID) == nil {
		return nil, nil, BenefitNotFound(in.BenefitID)
	}
	out := &Complaint{ID: id, MemberID: in.MemberID, BenefitID: in.BenefitID, StoreID: in.StoreID, OccurTime: in.OccurTime.UTC(),
		Description: in.Description, State: ComplaintOpen, Reporter: reporter, CreateTime: now}
	x := *out
	return out, []Event{ComplaintChanged{Complaint: &x, Open: open + 1, At: now}}, nil
}

// ResolveComplaint closes cmp with note, by resolver; open is its benefit's open complaints
// before.
// Errors: Invalid (BENEFIT_COMPLAINT_INVALID on note); FailedPrecondition
// (BENEFIT_COMPLAINT_RESOLVED).
func ResolveComplaint(cmp *Complaint, note, resolver string, open int64, now time.Time) ([]Event, error) {
	var v apperr.Violations
	note = text(note, MaxText, true, true, "note", &v)
	if err := invalid(ReasonComplaintInvalid, v); err != nil {
		return nil, err
	}
	if cmp.State == ComplaintResolved {
		return nil, apperr.E(apperr.FailedPrecondition, ReasonComplaintResolved, "benefit complaint %q is resolved already", cmp.ID).
			With("complaint_id", cmp.ID)
	}
	cmp.State, cmp.Note, cmp.Resolver, cmp.ResolveTime = ComplaintResolved, note, resolver, now
	x := *cmp
	return []Event{ComplaintChanged{Complaint: &x, Open: max(0, open-1), At: now}}, nil
}
