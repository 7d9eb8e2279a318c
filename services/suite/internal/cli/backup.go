package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

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
		"sound bbolt file, and starts a new epoch of the event log it holds, so events appended from now\n"+
		"on do not take the places of those the backup lacks. Stop the process first: a database in use\n"+
		"is refused.", stderr)
	dataDir := fs.String("data-dir", "./data", "the suite's data directory")
	db := fs.String("database", "member", "database to replace")
	from := fs.String("from", "", "backup file made by huiyuan backup")
	if err := config.Parse(fs, args, "HUIYUAN_", env); err != nil {
		return err
	}
	if *from == "" {
		return errors.New("--from is required")
	}
	dst := kit.StorePath(*dataDir, *db)
	if err := boltx.Restore(*from, dst); err != nil {
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
