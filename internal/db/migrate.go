package db

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
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

// Status compares the applied migrations with the program's. Services
// number their migrations in ranges of their own (CONTRIBUTING.md), so a
// new service's migration can be lower than one already applied: pending
// lists every known migration not yet applied, in order, and unknown the
// applied versions this program does not know (a newer program migrated
// the database).
func (d *DB) Status(ctx context.Context, q Querier) (pending []Migration, unknown []int, err error) {
	ms, err := d.Migrations()
	if err != nil {
		return nil, nil, err
	}
	applied := map[int]bool{}
	rows, err := q.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		// A missing table means nothing was applied yet.
		if strings.Contains(err.Error(), "schema_migrations") {
			return ms, nil, nil
		}
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, nil, err
		}
		applied[v] = true
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	for _, m := range ms {
		if !applied[m.Version] {
			pending = append(pending, m)
		}
		delete(applied, m.Version)
	}
	for v := range applied {
		unknown = append(unknown, v)
	}
	slices.Sort(unknown)
	return pending, unknown, nil
}

// CheckVersion fails unless the schema is exactly the one this program knows.
func (d *DB) CheckVersion(ctx context.Context) error {
	pending, unknown, err := d.Status(ctx, d.r)
	if err != nil {
		return err
	}
	if len(unknown) > 0 {
		return fmt.Errorf("%w (database has migration %d, which this program does not know)", ErrSchemaTooNew, unknown[len(unknown)-1])
	}
	if len(pending) > 0 {
		return fmt.Errorf("%w (migration %03d_%s and %d more not applied)", ErrNotMigrated, pending[0].Version, pending[0].Name, len(pending)-1)
	}
	return nil
}

// Migrate applies pending migrations, each in its own transaction. Several
// processes may call it at once: PostgreSQL serialises them with an advisory
// lock, SQLite with its write lock.
func (d *DB) Migrate(ctx context.Context) (int, error) {
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
	pending, unknown, err := d.Status(ctx, conn)
	if err != nil {
		return 0, err
	}
	if len(unknown) > 0 {
		return 0, fmt.Errorf("%w (database has migration %d, which this program does not know)", ErrSchemaTooNew, unknown[len(unknown)-1])
	}
	applied := 0
	for _, m := range pending {
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
