package auth

import (
	"context"
	"sync"
	"time"

	"mizogov/internal/db"
)

// Refreshing a session's idle clock is a write. Done on the request that
// notices it (once a minute per session), an opening surge of thousands of
// signed-in citizens would queue thousands of one-row transactions, each
// with its own fsync, on SQLite's single writer. Instead the refreshes wait
// here a moment and are written together, in one transaction; this node
// reads its own waiting refreshes, so nothing here times out early.

// touchDelay is how long refreshes gather before they are written.
const touchDelay = 2 * time.Second

// touchChunk is how many refreshes one transaction writes.
const touchChunk = 200

type touches struct {
	mu       sync.Mutex
	pending  map[int64]time.Time // session id → last seen, not yet being written
	inflight map[int64]time.Time // the batch being written now
	writing  bool
}

// touch records that session id was seen at t.
func (s *Service) touch(id int64, t time.Time) {
	s.touched.mu.Lock()
	defer s.touched.mu.Unlock()
	if s.touched.pending == nil {
		s.touched.pending = map[int64]time.Time{}
	}
	s.touched.pending[id] = t
	if !s.touched.writing {
		s.touched.writing = true
		go s.writeTouches()
	}
}

// lastSeen is the newer of the stored time and a refresh waiting here.
func (s *Service) lastSeen(id int64, stored time.Time) time.Time {
	s.touched.mu.Lock()
	defer s.touched.mu.Unlock()
	for _, m := range []map[int64]time.Time{s.touched.pending, s.touched.inflight} {
		if t, ok := m[id]; ok && t.After(stored) {
			stored = t
		}
	}
	return stored
}

func (s *Service) writeTouches() {
	time.Sleep(touchDelay)
	s.touched.mu.Lock()
	batch := s.touched.pending
	s.touched.pending, s.touched.inflight = map[int64]time.Time{}, batch
	s.touched.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// In transactions of touchChunk rows: the single writer is free between
	// them, so bookings and filings arriving meanwhile do not wait behind
	// thousands of refreshes.
	ids := make([]int64, 0, len(batch))
	for id := range batch {
		ids = append(ids, id)
	}
	var err error
	for len(ids) > 0 && err == nil {
		chunk := ids[:min(touchChunk, len(ids))]
		ids = ids[len(chunk):]
		err = s.DB.Tx(ctx, func(tx *db.Tx) error {
			for _, id := range chunk {
				if _, err := tx.ExecContext(ctx, `UPDATE sessions SET last_seen_at = $2 WHERE id = $1 AND last_seen_at < $2`, id, db.Time(batch[id])); err != nil {
					return err
				}
			}
			return nil
		})
	}
	s.touched.mu.Lock()
	defer s.touched.mu.Unlock()
	s.touched.inflight = nil
	if err != nil {
		// Dropped: the next refresh of each session tries again.
		if s.Log != nil {
			s.Log.Warn("session refresh", "sessions", len(batch), "err", err)
		}
	}
	if len(s.touched.pending) > 0 {
		go s.writeTouches()
		return
	}
	s.touched.writing = false
}
