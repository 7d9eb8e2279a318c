// Package boltx holds the storage platform on bbolt: opening and checking files, tenant-scoped
// keys, protobuf values, the group-commit writer, page tokens, backup and restore.
package boltx

import (
	"context"

	bolt "go.etcd.io/bbolt"
)

// Updater runs fn in a read-write transaction and returns once that transaction is durably
// committed (or fn's error). Both *Writer (group commit) and DB satisfy it, so code that writes
// does not care which it is given. fn may be run more than once: it must not have side effects
// outside the transaction, other than through tx.OnCommit.
type Updater interface {
	Update(ctx context.Context, fn func(tx *bolt.Tx) error) error
}
