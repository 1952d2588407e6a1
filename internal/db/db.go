// Package db opens the platform database (embedded SQLite by default, or
// PostgreSQL), applies migrations and runs transactions. SQL is written once
// with $1, $2 … placeholders and runs on both.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// ErrNotFound is returned by stores when a row does not exist.
var ErrNotFound = errors.New("not found")

// Dialect names the SQL engine in use.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Querier is what *sql.DB, *sql.Conn and *sql.Tx have in common.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// DB is the platform database: one writer and a pool of readers on SQLite,
// one pool for both on PostgreSQL.
type DB struct {
	Dialect Dialect
	w       *Pool
	r       *Pool
	path    string // SQLite file

	groupOnce sync.Once
	group     *Group // group commit (DB.Group), made on first use
}

// Options say which database to open.
type Options struct {
	// URL is a postgres:// URL; empty means SQLite at Path.
	URL  string
	Path string
	// Readers is the size of the SQLite reader pool (default: 2×CPUs, at least 4).
	Readers int
}

// Open opens (and for SQLite creates) the database. It does not migrate.
func Open(ctx context.Context, o Options) (*DB, error) {
	if o.URL != "" {
		pool, err := sql.Open("pgx", o.URL)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		pool.SetMaxOpenConns(20)
		pool.SetMaxIdleConns(20)
		pool.SetConnMaxIdleTime(5 * time.Minute)
		if err := pool.PingContext(ctx); err != nil {
			pool.Close()
			return nil, fmt.Errorf("connect to postgres: %w", err)
		}
		p := &Pool{DB: pool}
		return &DB{Dialect: Postgres, w: p, r: p}, nil
	}
	if err := os.MkdirAll(filepath.Dir(o.Path), 0o700); err != nil {
		return nil, fmt.Errorf("create data folder: %w", err)
	}
	base := "file:" + o.Path + "?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_time_format=sqlite"
	// temp_store(MEMORY): savepoints (group commit runs each caller in
	// one) keep their statement journal in memory instead of spilling it
	// to a temporary file; durability is the WAL's, unchanged.
	w, err := sql.Open("sqlite", base+"&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=temp_store(MEMORY)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	// One writer connection: SQLite allows one writer at a time, and a pool
	// of writers only adds busy-wait latency.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", o.Path, err)
	}
	n := o.Readers
	if n <= 0 {
		n = max(4, 2*runtime.NumCPU())
	}
	r, err := sql.Open("sqlite", base+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite readers: %w", err)
	}
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxIdleTime(0)
	return &DB{Dialect: SQLite, w: &Pool{DB: w, cache: true}, r: &Pool{DB: r, cache: true}, path: o.Path}, nil
}

// W is the writer pool. Use it for statements that change data outside Tx.
func (d *DB) W() *Pool { return d.w }

// R is the reader pool. Reads see every committed write.
func (d *DB) R() *Pool { return d.r }

// Path is the SQLite file, or "" on PostgreSQL.
func (d *DB) Path() string { return d.path }

// Close finishes the group-commit writer's queued work (for up to 30
// seconds), then closes both pools.
func (d *DB) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
	defer cancel()
	err := d.Group().Close(ctx)
	err = errors.Join(err, d.w.Close())
	if d.r != d.w {
		err = errors.Join(err, d.r.Close())
	}
	return err
}

// Tx runs fn in a write transaction and commits when fn returns nil.
// On SQLite the transaction starts IMMEDIATE, so it never fails late with
// SQLITE_BUSY after reading.
func (d *DB) Tx(ctx context.Context, fn func(tx *Tx) error) error {
	stx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	tx := &Tx{Tx: stx, pool: d.w}
	defer tx.warm(ctx)
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.runAtCommit(ctx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Ping checks that the database answers.
func (d *DB) Ping(ctx context.Context) error {
	if err := d.w.PingContext(ctx); err != nil {
		return err
	}
	return d.r.PingContext(ctx)
}

// Pools names the connection pools, for metrics.
func (d *DB) Pools() map[string]*sql.DB {
	if d.r == d.w {
		return map[string]*sql.DB{"postgres": d.w.DB}
	}
	return map[string]*sql.DB{"sqlite_writer": d.w.DB, "sqlite_readers": d.r.DB}
}

// Time converts t to the form the database keeps: UTC, microseconds.
func Time(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// IsUnique reports whether err is a unique-constraint violation.
func IsUnique(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// IsCheck reports whether err is a CHECK-constraint violation.
func IsCheck(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_CHECK
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23514"
}

// IsForeignKey reports whether err is a foreign-key violation.
func IsForeignKey(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23503"
}

// Like escapes s for use in a LIKE pattern with ESCAPE '\'.
func Like(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}
