package db_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"mizogov/internal/db"
	"mizogov/internal/db/dbtest"
)

func TestMigrateTwiceAndVersion(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		n, err := d.Migrate(ctx)
		if err != nil || n != 0 {
			t.Fatalf("second migrate applied %d, err %v", n, err)
		}
		if err := d.CheckVersion(ctx); err != nil {
			t.Fatal(err)
		}
		var count int
		if err := d.R().QueryRowContext(ctx, `SELECT COUNT(*) FROM districts`).Scan(&count); err != nil || count != 11 {
			t.Fatalf("districts = %d, %v", count, err)
		}
	})
}

// TestAppliesMigrationBelowNewest: a service's migration numbered below one
// already applied (services number in ranges of their own) is applied
// when the program meets a database without it.
func TestAppliesMigrationBelowNewest(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		// An older program applied everything but Open311's 015 (040 and
		// 041 among the rest): undo 015 as if it had never run.
		for _, q := range []string{`DROP TABLE grv_open311_updates`, `DROP TABLE grv_open311`, `DROP INDEX wf_cases_updated`,
			`DELETE FROM schema_migrations WHERE version = 15`} {
			if _, err := d.W().ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		if err := d.CheckVersion(ctx); !errors.Is(err, db.ErrNotMigrated) {
			t.Fatalf("CheckVersion = %v, want ErrNotMigrated", err)
		}
		if n, err := d.Migrate(ctx); n != 1 || err != nil {
			t.Fatalf("Migrate = %d, %v; want the one missing", n, err)
		}
		if err := d.CheckVersion(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestRefusesNewerSchema(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if _, err := d.W().ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', $1)`, db.Time(time.Now())); err != nil {
			t.Fatal(err)
		}
		if err := d.CheckVersion(ctx); !errors.Is(err, db.ErrSchemaTooNew) {
			t.Fatalf("CheckVersion = %v, want ErrSchemaTooNew", err)
		}
		if _, err := d.Migrate(ctx); !errors.Is(err, db.ErrSchemaTooNew) {
			t.Fatalf("Migrate = %v, want ErrSchemaTooNew", err)
		}
	})
}

func TestConstraintErrors(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		now := db.Time(time.Now())
		_, err := d.W().ExecContext(ctx, `INSERT INTO departments (code, name, name_lus, created_at) VALUES ('HOME', 'Home', 'Home', $1)`, now)
		if err != nil {
			t.Fatal(err)
		}
		_, err = d.W().ExecContext(ctx, `INSERT INTO departments (code, name, name_lus, created_at) VALUES ('HOME', 'Home', 'Home', $1)`, now)
		if !db.IsUnique(err) {
			t.Fatalf("duplicate code: %v, want unique violation", err)
		}
		_, err = d.W().ExecContext(ctx, `INSERT INTO departments (code, name, name_lus, created_at) VALUES ('X', 'Home', 'Home', $1)`, now)
		if !db.IsCheck(err) {
			t.Fatalf("short code: %v, want check violation", err)
		}
		_, err = d.W().ExecContext(ctx, `INSERT INTO blocks (code, district_id, name) VALUES ('B1', 999, 'Nowhere')`)
		if !db.IsForeignKey(err) {
			t.Fatalf("bad district: %v, want foreign-key violation", err)
		}
	})
}

func TestTimesRoundTrip(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		at := db.Time(time.Date(2026, 11, 27, 10, 30, 15, 123456789, time.FixedZone("IST", 19800)))
		if _, err := d.W().ExecContext(ctx, `INSERT INTO departments (code, name, name_lus, created_at) VALUES ('TM', 'T', 'T', $1)`, at); err != nil {
			t.Fatal(err)
		}
		var got time.Time
		if err := d.R().QueryRowContext(ctx, `SELECT created_at FROM departments WHERE code = 'TM' AND created_at >= $1`, at).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if !got.Equal(at) {
			t.Fatalf("got %v want %v", got, at)
		}
	})
}

func TestTxRollsBackOnError(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		boom := errors.New("boom")
		err := d.Tx(ctx, func(tx *db.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('a', 'b')`); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		var n int
		d.R().QueryRowContext(ctx, `SELECT COUNT(*) FROM settings WHERE key = 'a'`).Scan(&n)
		if n != 0 {
			t.Fatal("rolled-back row is visible")
		}
	})
}

func TestConcurrentWriters(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		var wg sync.WaitGroup
		errs := make(chan error, 50)
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- d.Tx(ctx, func(tx *db.Tx) error {
					var n int
					if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM settings`).Scan(&n); err != nil {
						return err
					}
					_, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ($1, 'v')`, "k"+string(rune('A'+i)))
					return err
				})
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	})
}
