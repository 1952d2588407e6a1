package db_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mizogov/internal/db"
	"mizogov/internal/db/dbtest"
)

// hold occupies the group's writer until the returned release is called,
// so that the calls made meanwhile queue up and run in one batch.
func hold(t *testing.T, g *db.Group) (release func()) {
	t.Helper()
	started, free := make(chan struct{}), make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- g.Do(context.Background(), func(ctx context.Context, tx *db.Tx) error {
			close(started)
			<-free
			return nil
		})
	}()
	<-started
	return func() {
		close(free)
		if err := <-errc; err != nil {
			t.Errorf("holding call: %v", err)
		}
	}
}

// waitQueued waits until n calls wait for the writer.
func waitQueued(t *testing.T, g *db.Group, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for g.Stats().Queued < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d calls queued, want %d", g.Stats().Queued, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func setting(ctx context.Context, tx *db.Tx, key string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ($1, 'v')`, key)
	return err
}

func countSettings(t *testing.T, d *db.DB, like string) int {
	t.Helper()
	var n int
	if err := d.R().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM settings WHERE key LIKE $1`, like).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestGroupOneBatch: calls that arrive while the writer is busy share one
// transaction, and a failing or panicking call or a lost unique race
// changes nothing of its own while the others commit.
func TestGroupOneBatch(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		g := d.Group()
		release := hold(t, g)
		const n = 40
		boom := errors.New("boom")
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = g.Do(context.Background(), func(ctx context.Context, tx *db.Tx) error {
					switch i {
					case 7: // writes, then fails: its row must go
						if err := setting(ctx, tx, "g:7"); err != nil {
							return err
						}
						return boom
					case 8: // writes, then panics
						if err := setting(ctx, tx, "g:8"); err != nil {
							return err
						}
						panic("caller bug")
					case 9, 10: // both insert the same key: one wins
						return setting(ctx, tx, "g:dup")
					}
					return setting(ctx, tx, fmt.Sprintf("g:%d", i))
				})
			}()
		}
		waitQueued(t, g, n)
		before := g.Stats()
		release()
		wg.Wait()
		if got := g.Stats(); got.Batches-before.Batches != 2 || got.Largest < n { // the holding call, then the others
			t.Fatalf("stats %+v then %+v: want the %d calls in one batch after the holding one", before, got, n)
		}
		dupWins := 0
		for i, err := range errs {
			switch {
			case i == 7:
				if !errors.Is(err, boom) {
					t.Errorf("failing call: %v, want boom", err)
				}
			case i == 8:
				if err == nil || !strings.Contains(err.Error(), "panicked") {
					t.Errorf("panicking call: %v", err)
				}
			case i == 9 || i == 10:
				if err == nil {
					dupWins++
				} else if !db.IsUnique(err) {
					t.Errorf("duplicate key call %d: %v, want a unique violation", i, err)
				}
			case err != nil:
				t.Errorf("call %d: %v", i, err)
			}
		}
		if dupWins != 1 {
			t.Errorf("%d duplicate inserts succeeded, want 1", dupWins)
		}
		if c := countSettings(t, d, "g:%"); c != n-3 {
			t.Errorf("%d rows, want %d", c, n-3)
		}
		if countSettings(t, d, "g:7")+countSettings(t, d, "g:8") != 0 {
			t.Error("the failed and the panicked calls' rows were committed")
		}
	})
}

// TestGroupManyCallers: many concurrent callers, each told ok only for a
// row that is there.
func TestGroupManyCallers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		const n = 300
		var wg sync.WaitGroup
		var failed atomic.Int32
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := d.Group().Do(context.Background(), func(ctx context.Context, tx *db.Tx) error {
					return setting(ctx, tx, fmt.Sprintf("m:%03d", i))
				})
				if err != nil {
					failed.Add(1)
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if c := countSettings(t, d, "m:%"); c != n || failed.Load() != 0 {
			t.Fatalf("%d rows, %d failures", c, failed.Load())
		}
		if s := d.Group().Stats(); s.Calls != n {
			t.Fatalf("stats %+v, want %d calls", s, n)
		}
	})
}

type ctxKey struct{}

// TestGroupCancel: a call whose context ends before the writer takes it
// never runs; one that has started is carried through and reported
// truthfully; the work gets the caller's values.
func TestGroupCancel(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		g := d.Group()
		release := hold(t, g)
		ctx, cancel := context.WithCancel(context.Background())
		var ran atomic.Bool
		errc := make(chan error, 1)
		go func() {
			errc <- g.Do(ctx, func(ctx context.Context, tx *db.Tx) error {
				ran.Store(true)
				return setting(ctx, tx, "c:queued")
			})
		}()
		waitQueued(t, g, 1)
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled queued call: %v", err)
		}
		release()
		// An already cancelled context is refused at once.
		if err := g.Do(ctx, func(ctx context.Context, tx *db.Tx) error { ran.Store(true); return nil }); !errors.Is(err, context.Canceled) {
			t.Fatalf("dead context: %v", err)
		}

		// Cancelled while its work runs: the work finishes with a live
		// context carrying the caller's values, and Do says it committed.
		ctx2, cancel2 := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "who"))
		inside := make(chan struct{})
		go func() {
			errc <- g.Do(ctx2, func(ctx context.Context, tx *db.Tx) error {
				close(inside)
				time.Sleep(50 * time.Millisecond)
				if ctx.Value(ctxKey{}) != "who" {
					return errors.New("lost the caller's values")
				}
				return setting(ctx, tx, "c:running")
			})
		}()
		<-inside
		cancel2()
		if err := <-errc; err != nil {
			t.Fatalf("call cancelled while running: %v", err)
		}
		if ran.Load() || countSettings(t, d, "c:queued") != 0 {
			t.Fatal("a call cancelled before it started ran")
		}
		if countSettings(t, d, "c:running") != 1 {
			t.Fatal("the call reported as committed is missing")
		}
	})
}

// TestGroupDurable: every call told ok is in the database after it is
// closed and opened again; calls queued at Close still run; later ones are
// refused.
func TestGroupDurable(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "g.db")
	d, err := db.Open(ctx, db.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	g := d.Group()
	release := hold(t, g)
	const n = 50
	var wg sync.WaitGroup
	var oks atomic.Int32
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := g.Do(ctx, func(ctx context.Context, tx *db.Tx) error { return setting(ctx, tx, fmt.Sprintf("d:%d", i)) }); err == nil {
				oks.Add(1)
			} else {
				t.Error(err)
			}
		}()
	}
	waitQueued(t, g, n)
	closed := make(chan error, 1)
	go func() { closed <- d.Close() }()
	for {
		// Until Close has begun, a probe waits behind the held writer and
		// gives up (it never runs); then it is refused.
		pctx, cancel := context.WithTimeout(ctx, 5*time.Millisecond)
		err := g.Do(pctx, func(context.Context, *db.Tx) error { return errors.New("a probe ran") })
		cancel()
		if errors.Is(err, db.ErrClosed) {
			break
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatal(err)
		}
	}
	release()
	wg.Wait()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if err := g.Do(ctx, func(context.Context, *db.Tx) error { return nil }); !errors.Is(err, db.ErrClosed) {
		t.Fatalf("Do after Close: %v", err)
	}
	d, err = db.Open(ctx, db.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if c := countSettings(t, d, "d:%"); c != int(oks.Load()) || c != n {
		t.Fatalf("%d rows after reopening, %d calls told ok", c, oks.Load())
	}
}

// TestGroupSolo: with batches of one, every call has a transaction of its own.
func TestGroupSolo(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		g := d.Group()
		g.SetMaxBatch(1)
		boom := errors.New("boom")
		var wg sync.WaitGroup
		errs := make([]error, 20)
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = g.Do(context.Background(), func(ctx context.Context, tx *db.Tx) error {
					if err := setting(ctx, tx, fmt.Sprintf("s:%d", i)); err != nil || i != 3 {
						return err
					}
					return boom
				})
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if (i == 3) != errors.Is(err, boom) || (i != 3 && err != nil) {
				t.Errorf("call %d: %v", i, err)
			}
		}
		if s := g.Stats(); s.Largest != 1 || countSettings(t, d, "s:%") != 19 {
			t.Fatalf("stats %+v, %d rows", s, countSettings(t, d, "s:%"))
		}
	})
}

// TestGroupAtCommit: work shared at commit sees the items of the calls
// that succeeded, once per batch, and none of a failed call's.
func TestGroupAtCommit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		g := d.Group()
		release := hold(t, g)
		var flushes atomic.Int32
		flush := func(ctx context.Context, tx *db.Tx, items []any) error {
			flushes.Add(1)
			keys := make([]string, len(items))
			for i, it := range items {
				keys[i] = it.(string)
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('flushed', $1)`, strings.Join(keys, ","))
			return err
		}
		var wg sync.WaitGroup
		errs := make([]error, 3)
		for i := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = g.Do(context.Background(), func(ctx context.Context, tx *db.Tx) error {
					tx.AtCommit("test", fmt.Sprint("item", i), flush)
					if i == 1 {
						return errors.New("refused")
					}
					return nil
				})
			}()
		}
		waitQueued(t, g, 3)
		release()
		wg.Wait()
		if errs[0] != nil || errs[1] == nil || errs[2] != nil {
			t.Fatalf("errors %v", errs)
		}
		var v string
		if err := d.R().QueryRowContext(context.Background(), `SELECT value FROM settings WHERE key = 'flushed'`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		if flushes.Load() != 1 || (v != "item0,item2" && v != "item2,item0") {
			t.Fatalf("%d flushes with %q", flushes.Load(), v)
		}
	})
}
