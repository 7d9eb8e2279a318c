package boltstore

import (
	"bytes"
	"context"

	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"

	storagev1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/storage/v1"
)

// ListTransactions returns up to size (>= 1) of member's transactions, newest first, starting
// after the page token (from a previous page of the same tenant and member; "" for the first),
// and the token of the next page ("" after the last).
// Errors: Invalid INVALID_PAGE_TOKEN on "page_token" for a token that is not one of this
// member's; storage errors.
func (s *Store) ListTransactions(ctx context.Context, tenant, member string, size int, token string) ([]loyalty.Txn, string, error) {
	prefix := historyPrefix(tenant, member)
	after, err := boltx.DecodePageToken(token)
	if err != nil {
		return nil, "", err
	}
	if after != nil && (len(after) != len(prefix)+8 || !bytes.HasPrefix(after, prefix)) {
		return nil, "", &apperr.Error{Code: apperr.Invalid, Reason: boltx.ReasonInvalidPageToken,
			Message:    "page_token is not a token of this member's transactions",
			Violations: []apperr.FieldViolation{{Field: "page_token", Description: "not a valid page token"}}}
	}
	var out []loyalty.Txn
	var next string
	err = s.db.View(ctx, func(tx *bolt.Tx) error {
		out, next = out[:0], ""
		logB := tx.Bucket(bucketTxns)
		c := tx.Bucket(bucketBooks).Cursor()
		// History keys hold inverted sequences: walking forward is newest first.
		k, _ := c.Seek(prefix)
		if after != nil {
			if k, _ = c.Seek(after); bytes.Equal(k, after) {
				k, _ = c.Next()
			}
		}
		for ; k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+8; k, _ = c.Next() {
			if len(out) == size {
				next = boltx.EncodePageToken(historyKey(prefix, out[len(out)-1].Sequence))
				return nil
			}
			var rec storagev1.TransactionRecord
			found, err := boltx.GetProto(logB, txnKey(tenant, historySeq(k, len(prefix))), &rec)
			if err != nil {
				return err
			}
			if !found {
				continue // cannot happen: a history entry commits with its transaction
			}
			out = append(out, fromTxnRecord(&rec))
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}
