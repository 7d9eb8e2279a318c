// Package pgpeer is the yardstick of docs/benchmarks.md: the earn of an order written as a team
// would write it on PostgreSQL, as one transaction: an idempotent order row, the member's
// balance locked and updated, two postings, a lot and an outbox row. The benchmarks run it
// beside the suite, against the PostgreSQL at HUIYUAN_PEER_PG (default 127.0.0.1:5432, trust
// auth), and skip it when none answers.
package pgpeer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultDSN is the PostgreSQL the benchmarks use unless HUIYUAN_PEER_PG names another.
const DefaultDSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres sslmode=disable"

// Peer is a schema of its own in a PostgreSQL database, dropped by Close.
type Peer struct {
	pool   *pgxpool.Pool
	schema string
}

// Open connects with up to conns connections and creates a fresh schema with the tables.
// Errors: the server is unreachable (the caller skips), or the schema cannot be made.
func Open(ctx context.Context, dsn string, conns int) (*Peer, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns, cfg.MinConns = int32(conns), int32(conns)
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	schema := "huiyuan_peer_" + hex.EncodeToString(suffix[:])
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(pctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, err
	}
	p := &Peer{pool: pool, schema: schema}
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+schema+";"+ddl); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pgpeer: create schema: %w", err)
	}
	return p, nil
}

// ddl is the peer's tables: what an earn touches.
const ddl = `
CREATE TABLE orders (tenant text, id text, member_id text, amount_minor bigint, currency text,
  points bigint, create_time timestamptz, PRIMARY KEY (tenant, id));
CREATE TABLE balances (tenant text, member_id text, available bigint, lifetime bigint,
  PRIMARY KEY (tenant, member_id));
CREATE TABLE postings (id bigserial PRIMARY KEY, tenant text, order_id text, member_id text,
  account text, points bigint);
CREATE TABLE lots (id bigserial PRIMARY KEY, tenant text, member_id text, points bigint,
  remaining bigint, expire_time timestamptz);
CREATE TABLE outbox (id bigserial PRIMARY KEY, tenant text, type text, payload bytea,
  create_time timestamptz);`

// Close drops the schema and disconnects.
func (p *Peer) Close(ctx context.Context) error {
	_, err := p.pool.Exec(ctx, "DROP SCHEMA "+p.schema+" CASCADE")
	p.pool.Close()
	return err
}

// Order is what an earn records.
type Order struct {
	Tenant, ID, MemberID string
	AmountMinor          int64
	Currency             string
}

// Earn records o and credits its points (1 per 100 minor units) in one transaction, and
// returns the member's available points after it. Recording an order id again changes
// nothing and returns the balance as it is.
func (p *Peer) Earn(ctx context.Context, o Order) (int64, error) {
	points := o.AmountMinor / 100
	now := time.Now()
	var available int64
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO orders VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
			o.Tenant, o.ID, o.MemberID, o.AmountMinor, o.Currency, points, now)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 { // recorded before: answer the balance
			return tx.QueryRow(ctx, `SELECT available FROM balances WHERE tenant = $1 AND member_id = $2`,
				o.Tenant, o.MemberID).Scan(&available)
		}
		// The upsert locks the member's row until the commit, as SELECT ... FOR UPDATE would.
		if err := tx.QueryRow(ctx, `INSERT INTO balances VALUES ($1, $2, $3, $3)
			ON CONFLICT (tenant, member_id) DO UPDATE SET available = balances.available + $3, lifetime = balances.lifetime + $3
			RETURNING available`, o.Tenant, o.MemberID, points).Scan(&available); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO postings (tenant, order_id, member_id, account, points)
			VALUES ($1, $2, $3, 'issued', $4), ($1, $2, $3, 'available', $5)`, o.Tenant, o.ID, o.MemberID, -points, points); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO lots (tenant, member_id, points, remaining, expire_time) VALUES ($1, $2, $3, $3, $4)`,
			o.Tenant, o.MemberID, points, now.AddDate(1, 0, 0)); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO outbox (tenant, type, payload, create_time) VALUES ($1, 'order_recorded', $2, $3)`,
			o.Tenant, []byte(o.ID), now)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("pgpeer: earn %s: %w", o.ID, err)
	}
	return available, nil
}

// Count returns how many orders and postings the schema holds, for the benchmark's check.
func (p *Peer) Count(ctx context.Context) (orders, postings int64, err error) {
	if err := p.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM postings)`).Scan(&orders, &postings); err != nil {
		return 0, 0, errors.Join(errors.New("pgpeer: count"), err)
	}
	return orders, postings, nil
}
