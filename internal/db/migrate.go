package db

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations
var migrationsFS embed.FS

// Migration is one numbered schema change.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// ErrSchemaTooNew means the database was migrated by a newer mizogov.
var ErrSchemaTooNew = errors.New("the database schema is newer than this program; upgrade mizogov before running it on this database")

// ErrNotMigrated means migrations are pending.
var ErrNotMigrated = errors.New("the database has pending migrations; run mizogov migrate")

// Migrations lists the migrations for the dialect in order.
func (d *DB) Migrations() ([]Migration, error) { return migrations(d.Dialect) }

func migrations(dialect Dialect) ([]Migration, error) {
	dir := path.Join("migrations", string(dialect))
	entries, err := fs.ReadDir(migrationsFS, dir)
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, rest, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must be NNN_name.sql", name)
		}
		body, err := fs.ReadFile(migrationsFS, path.Join(dir, name))
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: rest, SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("two migrations numbered %d", out[i].Version)
		}
	}
	return out, nil
}

const createVersions = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version INTEGER PRIMARY KEY,
	name TEXT NOT NULL,
	applied_at TIMESTAMP NOT NULL
)`

// Version returns the newest applied migration and the newest known one.
func (d *DB) Version(ctx context.Context) (applied, known int, err error) {
	ms, err := d.Migrations()
	if err != nil {
		return 0, 0, err
	}
	if len(ms) > 0 {
		known = ms[len(ms)-1].Version
	}
	var v sql.NullInt64
	err = d.r.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v)
	if err != nil {
		// A missing table means nothing was applied yet.
		if strings.Contains(err.Error(), "schema_migrations") {
			return 0, known, nil
		}
		return 0, known, err
	}
	return int(v.Int64), known, nil
}

// CheckVersion fails unless the schema is exactly the one this program knows.
func (d *DB) CheckVersion(ctx context.Context) error {
	applied, known, err := d.Version(ctx)
	if err != nil {
		return err
	}
	if applied > known {
		return fmt.Errorf("%w (database %d, program %d)", ErrSchemaTooNew, applied, known)
	}
	if applied < known {
		return fmt.Errorf("%w (database %d, program %d)", ErrNotMigrated, applied, known)
	}
	return nil
}

// Migrate applies pending migrations, each in its own transaction. Several
// processes may call it at once: PostgreSQL serialises them with an advisory
// lock, SQLite with its write lock.
func (d *DB) Migrate(ctx context.Context) (int, error) {
	ms, err := d.Migrations()
	if err != nil {
		return 0, err
	}
	conn, err := d.w.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	if d.Dialect == Postgres {
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(7283741)`); err != nil {
			return 0, fmt.Errorf("migration lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(7283741)`)
	}
	if _, err := conn.ExecContext(ctx, createVersions); err != nil {
		return 0, fmt.Errorf("create schema_migrations: %w", err)
	}
	var cur sql.NullInt64
	if err := conn.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&cur); err != nil {
		return 0, err
	}
	if len(ms) > 0 && int(cur.Int64) > ms[len(ms)-1].Version {
		return 0, fmt.Errorf("%w (database %d, program %d)", ErrSchemaTooNew, cur.Int64, ms[len(ms)-1].Version)
	}
	applied := 0
	for _, m := range ms {
		if m.Version <= int(cur.Int64) {
			continue
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return applied, err
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			tx.Rollback()
			return applied, fmt.Errorf("migration %03d_%s: %w", m.Version, m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
			m.Version, m.Name, Time(time.Now())); err != nil {
			tx.Rollback()
			return applied, fmt.Errorf("record migration %d: %w", m.Version, err)
		}
		if err := tx.Commit(); err != nil {
			return applied, fmt.Errorf("migration %03d_%s: %w", m.Version, m.Name, err)
		}
		applied++
	}
	return applied, nil
}
