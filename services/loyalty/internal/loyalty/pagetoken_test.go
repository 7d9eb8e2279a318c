package loyalty_test

import (
	"encoding/base64"
	"encoding/binary"
	"testing"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"
)

// TestPageTokenForgedSequence: a page token is the caller's input; one naming a sequence that
// is not one of the member's transactions (another member's entry, or none) is refused as an
// invalid page_token, not failed as an internal error.
func TestPageTokenForgedSequence(t *testing.T) {
	const tenant = "t1"
	e := newEnv(t)
	e.order(t, tenant, "o1", "m1", 10_000)
	e.order(t, tenant, "o2", "m2", 10_000)
	for _, seq := range []uint64{2, 999} {
		b := binary.AppendUvarint(nil, seq)
		b = append(append(append(b, tenant...), 0), "m1"...)
		tok := base64.RawURLEncoding.EncodeToString(b)
		_, _, err := e.svc.ListTransactions(bg, tenant, "m1", 10, tok)
		if c := apperr.CodeOf(err); c != apperr.Invalid || apperr.ReasonOf(err) != loyalty.ReasonInvalidPageToken {
			t.Errorf("seq %d: ListTransactions with a forged token: code %v (%v), want Invalid", seq, c, err)
		}
	}
}
