package boltstore

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"

	storagev1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/storage/v1"
	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// liabilityPage is how many books one read transaction of Liability sums, so no read
// transaction lasts long.
const liabilityPage = 500

// Liability reports tenant's points liability now: every book settled as of now (so points
// past their expiry count as expired whether or not the job has run), summed, valued at the
// tenant's point value, with the available points by month of expiry. Books are read in
// pages of bounded read transactions, so the report is not one snapshot when writes run
// meanwhile. Errors: storage errors, a book that does not decode.
func (s *Store) Liability(ctx context.Context, tenant string) (*loyaltyv1.GetPointsLiabilityResponse, error) {
	var set *loyalty.Settings
	now := s.clock.Now().UTC()
	var total ledger.Totals
	months := map[string]int64{}
	prefix := boltx.TenantPrefix(tenant)
	var after []byte
	for more := true; more; {
		err := s.db.View(ctx, func(tx *bolt.Tx) error {
			if set == nil {
				var err error
				if set, err = s.tenantSettings(tx, tenant); err != nil {
					return err
				}
			}
			c := tx.Bucket(bucketBooks).Cursor()
			// History entries (member + 0x00 + ...) follow each book; seeking past member+0x01
			// skips them, as member ids hold no control characters.
			skip := func(k []byte) ([]byte, []byte) { return c.Seek(append(bytes.Clone(k), 1)) }
			k, raw := c.Seek(prefix)
			if after != nil {
				k, raw = skip(after)
			}
			for n := 0; ; k, raw = skip(k) {
				if k == nil || !bytes.HasPrefix(k, prefix) {
					more = false
					return nil
				}
				if n == liabilityPage {
					return nil
				}
				n++
				if i := bytes.IndexByte(k[len(prefix):], 0); i >= 0 {
					k = k[:len(prefix)+i]
					after = bytes.Clone(k)
					continue
				}
				after = bytes.Clone(k)
				var rec storagev1.BookRecord
				if err := protoUnmarshal(raw, &rec); err != nil {
					return fmt.Errorf("decode book %q: %w", k[len(prefix):], err)
				}
				b := fromBookRecord(&rec)
				for _, m := range set.Ledger.ExpiringByMonth(b, now) {
					months[m.Month] += m.Points
				}
				// Settle a decoded copy (never saved) so the totals are as of now.
				if _, err := set.Ledger.Settle(b, now); err != nil {
					return fmt.Errorf("settle book %q: %w", k[len(prefix):], err)
				}
				total = total.Add(b.Totals())
			}
		})
		if err != nil {
			return nil, err
		}
	}
	l, err := ledger.LiabilityOf(total, set.PointValue)
	if err != nil {
		return nil, fmt.Errorf("value liability: %w", err)
	}
	out := &loyaltyv1.GetPointsLiabilityResponse{OutstandingPoints: l.OutstandingPoints, OutstandingValueMinor: l.ValueMinor,
		Currency: set.Currency, IssuedPoints: l.IssuedPoints, ExpiredPoints: l.ExpiredPoints, BreakageBasisPoints: l.BreakageBasisPoints,
		ExpiringByMonth: make([]*loyaltyv1.MonthlyExpiry, 0, len(months))}
	for m, p := range months {
		out.ExpiringByMonth = append(out.ExpiringByMonth, &loyaltyv1.MonthlyExpiry{Month: m, Points: p})
	}
	slices.SortFunc(out.ExpiringByMonth, func(a, b *loyaltyv1.MonthlyExpiry) int { return strings.Compare(a.Month, b.Month) })
	return out, nil
}
