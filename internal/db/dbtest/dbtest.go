// Package dbtest gives tests a fresh, migrated database: SQLite always, and
// PostgreSQL as well when MIZOGOV_TEST_POSTGRES holds a URL. Each PostgreSQL
// test gets its own schema, dropped when the test ends.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"mizogov/internal/db"
	"mizogov/internal/jobs"
)

// EnvPostgres names the variable holding the PostgreSQL URL for tests.
const EnvPostgres = "MIZOGOV_TEST_POSTGRES"

// Migrator applies extra migrations (such as the job queue's) after the core ones.
type Migrator func(ctx context.Context, d *db.DB) error

// Each runs fn once per available database, as subtests named sqlite and postgres.
func Each(t *testing.T, fn func(t *testing.T, d *db.DB), extra ...Migrator) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t, extra...)) })
	if os.Getenv(EnvPostgres) != "" {
		t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t, extra...)) })
	}
}

// SQLite opens a migrated SQLite database in a temporary folder.
func SQLite(t testing.TB, extra ...Migrator) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), db.Options{Path: filepath.Join(t.TempDir(), "test.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	migrate(t, d, extra)
	return d
}

// PostgresURL creates a fresh schema and returns a URL whose search_path
// points at it. The schema is dropped when the test ends. The test is
// skipped when MIZOGOV_TEST_POSTGRES is not set.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		t.Skip(EnvPostgres + " is not set")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer a.Close()
		a.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Postgres opens a migrated PostgreSQL database in a schema of its own.
func Postgres(t testing.TB, extra ...Migrator) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), db.Options{URL: PostgresURL(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	migrate(t, d, extra)
	return d
}

func migrate(t testing.TB, d *db.DB, extra []Migrator) {
	extra = append([]Migrator{Jobs}, extra...)
	t.Helper()
	ctx := context.Background()
	if _, err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, m := range extra {
		if err := m(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
}

// Jobs applies the job queue's migrations; every test database has them.
var Jobs Migrator = jobs.Migrate
