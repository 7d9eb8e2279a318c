package loyalty

import (
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
)

func TestNextDue(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	exp := t0.Add(30 * day)
	cases := []struct {
		name   string
		book   ledger.Book
		notice time.Duration
		want   time.Time
	}{
		{"empty", ledger.Book{}, day, time.Time{}},
		{"never expires", ledger.Book{Lots: []ledger.Lot{{Remaining: 5}}}, day, time.Time{}},
		{"expiry", ledger.Book{Lots: []ledger.Lot{{Remaining: 5, ExpiresAt: exp}}}, 0, exp},
		{"notice first", ledger.Book{Lots: []ledger.Lot{{Remaining: 5, ExpiresAt: exp}}}, 7 * day, exp.Add(-7 * day)},
		{"notified", ledger.Book{Lots: []ledger.Lot{{Remaining: 5, ExpiresAt: exp, Notified: true}}}, 7 * day, exp},
		{"fully held lot waits for its hold", ledger.Book{
			Lots:  []ledger.Lot{{Held: 5, ExpiresAt: t0.Add(day)}},
			Holds: []ledger.Hold{{Status: ledger.HoldOpen, ExpiresAt: t0.Add(2 * day)}}}, 0, t0.Add(2 * day)},
		{"pending matures before notice", ledger.Book{Lots: []ledger.Lot{{Remaining: 5, Pending: true,
			PendingUntil: t0.Add(7 * day), ExpiresAt: exp}}}, 30 * day, t0.Add(7 * day)},
		{"closed holds do not count", ledger.Book{Holds: []ledger.Hold{{Status: ledger.HoldCaptured, ExpiresAt: t0}}}, 0, time.Time{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := nextDue(&tc.book, tc.notice); !got.Equal(tc.want) {
				t.Fatalf("nextDue = %v, want %v", got, tc.want)
			}
		})
	}
}

// FuzzPageToken: a page token from a client never panics; it decodes to a sequence only when it
// is one of this tenant's member's tokens, and is otherwise refused as INVALID_PAGE_TOKEN.
func FuzzPageToken(f *testing.F) {
	f.Add(encodePageToken("acme", "m1", 7))
	f.Add(encodePageToken("acme", "m2", 7))
	f.Add(encodePageToken("globex", "m1", 7))
	f.Add("")
	f.Add("AAAA")
	f.Add("%%%")
	f.Fuzz(func(t *testing.T, tok string) {
		seq, err := decodePageToken("acme", "m1", tok)
		switch {
		case err != nil:
			if e, ok := err.(interface{ Error() string }); !ok || seq != 0 {
				t.Fatalf("%q: %v %d", tok, e, seq)
			}
		case tok == "":
			if seq != 0 {
				t.Fatalf("empty token gives %d", seq)
			}
		default:
			if seq == 0 || encodePageToken("acme", "m1", seq) == "" {
				t.Fatalf("%q decodes to %d", tok, seq)
			}
		}
	})
}
