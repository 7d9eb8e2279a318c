package eventlog

import (
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/types/known/timestamppb"

	platformv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/platform/v1"
)

func TestMessageRoundTrip(t *testing.T) {
	t.Parallel()
	rec := &platformv1.EventRecord{
		Sequence: 42, Epoch: 7, EpochStart: 40, Id: "loyalty:acme:7:42", Type: "points_earned", Tenant: "acme",
		Subject: "huiyuan.acme.loyalty.v1.points_earned", Time: timestamppb.New(time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)),
		Payload: []byte{1, 2, 3}, PayloadType: "huiyuan.loyalty.v1.PointsEarned",
	}
	m := newMsg("loyalty", rec)
	got, err := parseDelivery(m.Subject, m.Header, m.Data)
	if err != nil {
		t.Fatal(err)
	}
	want := DeliveryFromRecord("loyalty", rec)
	if got.Tenant != want.Tenant || got.Service != want.Service || got.Sequence != want.Sequence ||
		got.Epoch != 7 || got.EpochStart != 40 || got.Epoch != want.Epoch || got.EpochStart != want.EpochStart ||
		got.Type != want.Type || got.Subject != want.Subject || got.ID != want.ID || !got.Time.Equal(want.Time) ||
		string(got.Payload) != string(want.Payload) || got.PayloadType != want.PayloadType {
		t.Fatalf("parseDelivery(newMsg(rec)) = %+v, want %+v", got, want)
	}
}

func TestParseDeliveryRejects(t *testing.T) {
	t.Parallel()
	good := func() nats.Header {
		return nats.Header{HeaderSequence: {"3"}, HeaderTenant: {"acme"}, HeaderTime: {"2025-01-02T03:04:05Z"}}
	}
	tests := []struct {
		name    string
		subject string
		edit    func(nats.Header)
	}{
		{name: "bad_subject", subject: "huiyuan.acme.loyalty.v1", edit: func(nats.Header) {}},
		{name: "no_sequence", subject: "huiyuan.acme.loyalty.v1.x", edit: func(h nats.Header) { h.Del(HeaderSequence) }},
		{name: "zero_sequence", subject: "huiyuan.acme.loyalty.v1.x", edit: func(h nats.Header) { h.Set(HeaderSequence, "0") }},
		{name: "negative_sequence", subject: "huiyuan.acme.loyalty.v1.x", edit: func(h nats.Header) { h.Set(HeaderSequence, "-1") }},
		{name: "other_tenant", subject: "huiyuan.acme.loyalty.v1.x", edit: func(h nats.Header) { h.Set(HeaderTenant, "globex") }},
		{name: "bad_time", subject: "huiyuan.acme.loyalty.v1.x", edit: func(h nats.Header) { h.Set(HeaderTime, "yesterday") }},
		{name: "bad_epoch", subject: "huiyuan.acme.loyalty.v1.x", edit: func(h nats.Header) { h.Set(HeaderEpoch, "-1"); h.Set(HeaderEpochStart, "1") }},
		{name: "epoch_without_start", subject: "huiyuan.acme.loyalty.v1.x", edit: func(h nats.Header) { h.Set(HeaderEpoch, "7") }},
		{name: "zero_start", subject: "huiyuan.acme.loyalty.v1.x", edit: func(h nats.Header) { h.Set(HeaderEpoch, "7"); h.Set(HeaderEpochStart, "0") }},
		{name: "start_after_sequence", subject: "huiyuan.acme.loyalty.v1.x", edit: func(h nats.Header) { h.Set(HeaderEpoch, "7"); h.Set(HeaderEpochStart, "4") }},
		{name: "republished", subject: "huiyuan.acme.member.v1.x", edit: func(h nats.Header) { h.Set("Nats-Stream", "LOYALTY") }},
		{name: "sourced", subject: "huiyuan.acme.member.v1.x", edit: func(h nats.Header) { h.Set("Nats-Stream-Source", "LOYALTY 12") }},
	}
	for _, tt := range tests {
		h := good()
		tt.edit(h)
		if _, err := parseDelivery(tt.subject, h, nil); !errors.Is(err, errBadMessage) {
			t.Errorf("%s: err = %v, want errBadMessage", tt.name, err)
		}
	}
}

// FuzzParseDelivery feeds arbitrary broker input to parseDelivery: it must never panic, and
// what it accepts must be consistent with the subject.
func FuzzParseDelivery(f *testing.F) {
	f.Add("huiyuan.acme.loyalty.v1.points_earned", "1", "acme", "2025-01-02T03:04:05.000000006Z", []byte("x"))
	f.Add("huiyuan.acme.loyalty.v1.x", "18446744073709551615", "acme", "2025-01-02T03:04:05Z", []byte(nil))
	f.Add("huiyuan.acme.loyalty.v1.x", "0x1", "acme", "", []byte(nil))
	f.Fuzz(func(t *testing.T, subject, seq, tenant, at string, data []byte) {
		h := nats.Header{HeaderSequence: {seq}, HeaderTenant: {tenant}, HeaderTime: {at}}
		d, err := parseDelivery(subject, h, data)
		if err != nil {
			if !errors.Is(err, errBadMessage) {
				t.Fatalf("error %v does not wrap errBadMessage", err)
			}
			return
		}
		st, ss, se, perr := ParseSubject(subject)
		if perr != nil || d.Tenant != st || d.Service != ss || d.Type != se || d.Tenant != tenant || d.Sequence == 0 {
			t.Fatalf("accepted inconsistent delivery %+v from %q", d, subject)
		}
	})
}
