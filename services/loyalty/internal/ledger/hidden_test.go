package ledger_test

import (
	"math/rand/v2"
	"time"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
)

// lotShelf is a LotSource over lots taken out of a book, as a store's lots bucket would be.
type lotShelf struct {
	lots  []ledger.Lot // consumption order
	reads *int         // lots handed out, over every shelf of a run
}

func (s *lotShelf) Lots(from, to time.Time, n int) ([]ledger.Lot, time.Time) {
	var out []ledger.Lot
	for i := range s.lots {
		l := s.lots[i]
		if l.ExpiresAt.Before(from) || l.ExpiresAt.After(to) {
			continue
		}
		if n > 0 && len(out) >= n && !l.ExpiresAt.Equal(out[len(out)-1].ExpiresAt) {
			return out, l.ExpiresAt
		}
		out = append(out, l)
	}
	*s.reads += len(out)
	return out, time.Time{}
}

func (s *lotShelf) FirstUnannounced(from, to time.Time) time.Time {
	for i := range s.lots {
		if l := &s.lots[i]; !l.Notified && !l.ExpiresAt.Before(from) && !l.ExpiresAt.After(to) {
			return l.ExpiresAt
		}
	}
	return time.Time{}
}

// hideLots hides a random run of b's lots behind a shelf, as a store that loaded only the
// lots around it would. Usually the run holds only lots a store may hide (expiring, with
// points left, neither pending nor held, no expiry shared across its ends); with unsafe, it
// may hold any lots, which the ledger must notice and read back.
func hideLots(rng *rand.Rand, b *ledger.Book, unsafe bool, reads *int) bool {
	hideable := func(l *ledger.Lot) bool {
		return unsafe || (!l.ExpiresAt.IsZero() && !l.Pending && l.Held == 0 && l.Remaining > 0)
	}
	if len(b.Lots) == 0 {
		return false
	}
	i := rng.IntN(len(b.Lots))
	j := i
	for j < len(b.Lots) && hideable(&b.Lots[j]) && rng.IntN(8) != 0 {
		j++
	}
	if unsafe { // the ledger only needs expiries apart; zero expiries stay loaded
		for j > i && b.Lots[j-1].ExpiresAt.IsZero() {
			j--
		}
	}
	for i < j && i > 0 && b.Lots[i-1].ExpiresAt.Equal(b.Lots[i].ExpiresAt) {
		i++
	}
	for j > i && j < len(b.Lots) && b.Lots[j].ExpiresAt.Equal(b.Lots[j-1].ExpiresAt) {
		j--
	}
	if i >= j || b.Lots[i].ExpiresAt.IsZero() {
		return false
	}
	shelf := &lotShelf{lots: append([]ledger.Lot(nil), b.Lots[i:j]...), reads: reads}
	first, last := b.Lots[i].ExpiresAt, b.Lots[j-1].ExpiresAt
	b.Lots = append(b.Lots[:i:i], b.Lots[j:]...)
	b.Hide(shelf, first, last)
	return true
}
