// Package ratelimit counts attempts in fixed windows kept in the database,
// so every app node shares the same limits.
package ratelimit

import (
	"context"
	"fmt"
	"time"

	"mizogov/internal/db"
)

// Limiter checks and records hits.
type Limiter struct {
	DB  *db.DB
	Now func() time.Time
}

// Rule allows Max hits per Window.
type Rule struct {
	Max    int
	Window time.Duration
}

func (l *Limiter) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// Allow records one hit on key and reports whether it is within the rule.
// When it is not, it also says how long until the window ends.
func (l *Limiter) Allow(ctx context.Context, key string, r Rule) (bool, time.Duration, error) {
	now := l.now().UTC()
	start := now.Truncate(r.Window)
	end := start.Add(r.Window)
	var hits int
	err := l.DB.W().QueryRowContext(ctx, `INSERT INTO rate_limits (key, window_start, hits, expires_at) VALUES ($1, $2, 1, $3)
		ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_limits.hits + 1
		RETURNING hits`, key, db.Time(start), db.Time(end)).Scan(&hits)
	if err != nil {
		return false, 0, fmt.Errorf("rate limit: %w", err)
	}
	if hits > r.Max {
		return false, end.Sub(now), nil
	}
	return true, 0, nil
}

// Peek reports whether one more hit would be allowed, without recording it.
func (l *Limiter) Peek(ctx context.Context, key string, r Rule) (bool, time.Duration, error) {
	now := l.now().UTC()
	start := now.Truncate(r.Window)
	var hits int
	err := l.DB.R().QueryRowContext(ctx, `SELECT COALESCE(SUM(hits), 0) FROM rate_limits WHERE key = $1 AND window_start = $2`,
		key, db.Time(start)).Scan(&hits)
	if err != nil {
		return false, 0, fmt.Errorf("rate limit: %w", err)
	}
	if hits >= r.Max {
		return false, start.Add(r.Window).Sub(now), nil
	}
	return true, 0, nil
}

// Reset forgets the hits on key (for example after a successful sign-in).
func (l *Limiter) Reset(ctx context.Context, key string) error {
	_, err := l.DB.W().ExecContext(ctx, `DELETE FROM rate_limits WHERE key = $1`, key)
	return err
}

// Sweep deletes windows that have ended.
func (l *Limiter) Sweep(ctx context.Context) (int64, error) {
	res, err := l.DB.W().ExecContext(ctx, `DELETE FROM rate_limits WHERE expires_at < $1`, db.Time(l.now()))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
