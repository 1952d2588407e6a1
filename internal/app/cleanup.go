package app

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"mizogov/internal/db"
)

type cleanupArgs struct{}

func (cleanupArgs) Kind() string { return "core_cleanup" }

// cleanupWorker removes what has outlived its use: ended sessions, spent
// one-time codes, finished rate-limit windows and old idempotency keys.
// Audit entries are never removed.
type cleanupWorker struct {
	river.WorkerDefaults[cleanupArgs]
	a *App
}

func (w *cleanupWorker) Work(ctx context.Context, _ *river.Job[cleanupArgs]) error {
	now := w.a.Now()
	steps := []struct {
		sql    string
		before time.Time
	}{
		{`DELETE FROM sessions WHERE expires_at < $1 OR revoked_at < $1`, now.AddDate(0, 0, -30)},
		{`DELETE FROM otps WHERE expires_at < $1`, now.Add(-24 * time.Hour)},
		{`DELETE FROM rate_limits WHERE expires_at < $1`, now},
		{`DELETE FROM idempotency_keys WHERE created_at < $1`, now.Add(-72 * time.Hour)},
	}
	for _, s := range steps {
		if _, err := w.a.DB.W().ExecContext(ctx, s.sql, db.Time(s.before)); err != nil {
			return err
		}
	}
	return nil
}
