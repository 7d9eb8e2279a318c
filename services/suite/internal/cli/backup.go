package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	bolt "go.etcd.io/bbolt"

	opsv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/ops/v1"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/config"
	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/pkg/kit"
	"github.com/huiyuan-dev/huiyuan/services/suite/internal/suite"
)

func backup(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("backup", "Streams a consistent copy of one database from a running process (it keeps serving) into\n"+
		"--out. Needs an admin key of the tenant \"default\". The file is written beside --out and renamed\n"+
		"into place only when complete.", stderr)
	var r remote
	db := fs.String("database", "member", "database to copy: a service's name (see the process's ListDatabases: iam, member, loyalty, ...)")
	out := fs.String("out", "", "file to write the backup to")
	if err := parseRemote(fs, &r, args, env); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("--out is required")
	}
	conn, cctx, err := r.dial(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	stream, err := opsv1.NewOperationsServiceClient(conn).BackupDatabase(cctx, &opsv1.BackupDatabaseRequest{Database: *db})
	if err != nil {
		return explain(err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(*out), ".huiyuan-backup-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	var n int64
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tmp.Close()
			return explain(err)
		}
		w, err := tmp.Write(msg.GetChunk())
		n += int64(w)
		if err != nil {
			tmp.Close()
			return err
		}
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := boltx.Replace(tmp.Name(), *out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %s: %d bytes to %s\n", *db, n, *out)
	return nil
}

func restore(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("restore", "Replaces <data-dir>/<database>/<database>.db with a backup after checking the backup is a\n"+
		"sound bbolt file of that database (not another service's), and starts a new epoch of the event\n"+
		"log it holds, so events appended from now on do not take the places of those the backup lacks.\n"+
		"Stop the process first: a database in use is refused.", stderr)
	dataDir := fs.String("data-dir", "./data", "the suite's data directory")
	db := fs.String("database", "member", "database to replace")
	from := fs.String("from", "", "backup file made by huiyuan backup")
	if err := config.Parse(fs, args, "HUIYUAN_", env); err != nil {
		return err
	}
	if *from == "" {
		return errors.New("--from is required")
	}
	d, err := store(*db)
	if err != nil {
		return err
	}
	dst := kit.StorePath(*dataDir, *db)
	if err := boltx.Restore(*from, dst, backupOf(*from, d)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %s from %s\n", dst, *from)
	if l := eventLog(*db); l != nil {
		if err := startNewEpochs(ctx, dst, l); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "started a new epoch of the %s event log for each of its tenants\n", l.Service())
	}
	return nil
}

// store returns the description of the service whose database is named database, refusing a
// name no service's store has, as the process's BackupDatabase does: restoring to a misspelt
// name would write a file no service reads.
func store(database string) (kit.Description, error) {
	var names []string
	for _, s := range suite.Services() {
		d := s.Describe()
		if d.Stateless {
			continue
		}
		if d.Name == database {
			return d, nil
		}
		names = append(names, d.Name)
	}
	return kit.Description{}, fmt.Errorf("unknown database %q: want one of %s", database, strings.Join(names, ", "))
}

// backupOf is Restore's check that the backup at path is of d's store: it must hold at least
// one of the buckets d's store has and none that only another service's store has. Buckets are
// what the stores declare, so an older backup lacking a bucket added since still passes, while
// another service's backup (its own buckets, its event log) does not.
func backupOf(path string, d kit.Description) func(tx *bolt.Tx) error {
	ours := map[string]bool{}
	for _, b := range kit.Buckets(d) {
		ours[string(b)] = true
	}
	theirs := map[string]string{} // bucket -> service, for buckets d's store does not have
	for _, s := range suite.Services() {
		o := s.Describe()
		if o.Stateless || o.Name == d.Name {
			continue
		}
		for _, b := range kit.Buckets(o) {
			if !ours[string(b)] {
				theirs[string(b)] = o.Name
			}
		}
	}
	return func(tx *bolt.Tx) error {
		var own int
		err := tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			if svc, ok := theirs[string(name)]; ok {
				return fmt.Errorf("%s is a backup of the %s database, not %s (it holds bucket %q); pass --database %s to restore it",
					path, svc, d.Name, name, svc)
			}
			if ours[string(name)] {
				own++
			}
			return nil
		})
		if err == nil && own == 0 {
			err = fmt.Errorf("%s is not a backup of the %s database: it holds none of its buckets", path, d.Name)
		}
		return err
	}
}

// eventLog returns the event log database holds (a service's database is named after it), or
// nil: the broker and the consumers may hold events the backup lacks, whose sequences the
// restored log would otherwise reuse.
func eventLog(database string) *eventlog.Log {
	for _, s := range suite.Services() {
		if d := s.Describe(); d.Name == database && d.Events {
			return eventlog.New(database)
		}
	}
	return nil
}

func startNewEpochs(ctx context.Context, path string, l *eventlog.Log) error {
	db, err := boltx.Open(path, boltx.Options{}, l.Buckets()...)
	if err != nil {
		return err
	}
	if err := eventlog.StartNewEpochs(ctx, db, l); err != nil {
		_ = db.Close()
		return err
	}
	return db.Close()
}
