package ratelimit_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mizogov/internal/db"
	"mizogov/internal/db/dbtest"
	"mizogov/internal/ratelimit"
)

func TestWindow(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 27, 10, 0, 5, 0, time.UTC)
		l := &ratelimit.Limiter{DB: d, Now: func() time.Time { return now }}
		rule := ratelimit.Rule{Max: 3, Window: time.Minute}
		for i := range 3 {
			ok, _, err := l.Allow(ctx, "k", rule)
			if err != nil || !ok {
				t.Fatalf("hit %d refused: %v", i, err)
			}
		}
		ok, wait, _ := l.Allow(ctx, "k", rule)
		if ok || wait != 55*time.Second {
			t.Fatalf("4th hit: ok=%v wait=%v", ok, wait)
		}
		if ok, _, _ := l.Allow(ctx, "other", rule); !ok {
			t.Fatal("keys are not separate")
		}
		now = now.Add(time.Minute)
		if ok, _, _ := l.Allow(ctx, "k", rule); !ok {
			t.Fatal("new window refused")
		}
		if n, err := l.Sweep(ctx); err != nil || n != 2 {
			t.Fatalf("sweep removed %d, %v", n, err)
		}
	})
}

func TestConcurrentHitsAreCounted(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		l := &ratelimit.Limiter{DB: d}
		var allowed atomic.Int32
		var wg sync.WaitGroup
		for range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, _, err := l.Allow(context.Background(), "shared", ratelimit.Rule{Max: 10, Window: time.Hour})
				if err != nil {
					t.Error(err)
				}
				if ok {
					allowed.Add(1)
				}
			}()
		}
		wg.Wait()
		if allowed.Load() != 10 {
			t.Fatalf("allowed %d, want 10", allowed.Load())
		}
	})
}
