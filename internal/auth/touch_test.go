package auth

import (
	"context"
	"fmt"
	"testing"
	"time"

	"mizogov/internal/db"
	"mizogov/internal/db/dbtest"
)

// TestTouchesWrittenInChunks: more refreshes than one transaction takes
// are all written, in several transactions.
func TestTouchesWrittenInChunks(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		then := db.Time(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
		n := 2*touchChunk + 50
		ids := make([]int64, n)
		for i := range ids {
			var person int64
			if err := d.W().QueryRowContext(ctx, `INSERT INTO people (phone, created_at) VALUES ($1, $2) RETURNING id`,
				fmt.Sprintf("+91986210%04d", i), then).Scan(&person); err != nil {
				t.Fatal(err)
			}
			if err := d.W().QueryRowContext(ctx, `INSERT INTO sessions (token_hash, person_id, staff, kind, created_at, last_seen_at, expires_at, ip, user_agent)
				VALUES ($1, $2, FALSE, 'web', $3, $3, $4, '', '') RETURNING id`, fmt.Sprintf("%064d", i), person, then, then.Add(24*time.Hour)).Scan(&ids[i]); err != nil {
				t.Fatal(err)
			}
		}
		s := &Service{DB: d}
		seen := then.Add(10 * time.Minute)
		for _, id := range ids {
			s.touch(id, seen)
		}
		if got := s.lastSeen(ids[n-1], then); !got.Equal(seen) {
			t.Fatalf("a waiting refresh is not read: %v", got)
		}
		deadline := time.Now().Add(15 * time.Second)
		for {
			var done int
			if err := d.R().QueryRowContext(ctx, `SELECT COUNT(*) FROM sessions WHERE last_seen_at = $1`, seen).Scan(&done); err != nil {
				t.Fatal(err)
			}
			if done == n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d refreshes written", done, n)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}
