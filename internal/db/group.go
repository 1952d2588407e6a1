package db

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Group is group commit for any service: concurrent callers hand it their
// work, and one writer goroutine runs what has arrived (up to MaxBatch) in
// ONE write transaction, each caller's work in a SAVEPOINT of its own, then
// commits once and answers every caller. On SQLite with synchronous=FULL a
// commit costs an fsync; here one fsync is shared by every caller whose
// work arrived while the previous batch ran, so throughput grows with load
// while each acknowledged change is still on disk before its caller hears
// "ok".
//
// A caller's error rolls back its own savepoint only: the others go on and
// the caller gets its error. A caller whose work panics gets an error (the
// panic is recovered and logged with its stack). Do returns nil only after
// the commit that holds the caller's work has returned.
//
// On PostgreSQL each app node has its own Group (DB.Group); the database
// orders the nodes' transactions. A deadlock or serialization failure in a
// caller's work is retried in the next batch (at most five times).
//
// The rules of DB.Tx hold inside the work: no second transaction, no
// d.W(), and no Group.Do (each would wait for the writer it runs on).
// Work to be shared by the whole batch goes through Tx.AtCommit.
type Group struct {
	db       *DB
	maxBatch int
	timeout  time.Duration
	idle     time.Duration
	log      *slog.Logger

	mu      sync.Mutex
	queue   chan *call
	running bool
	closed  bool
	stop    chan struct{} // closed by Close: wakes an idle writer
	done    chan struct{} // closed when the writer goroutine ends after Close
	stats   GroupStats
}

// GroupStats count what a Group's writer did.
type GroupStats struct {
	Batches int64         // transactions committed
	Calls   int64         // calls answered by them
	Largest int           // most calls in one transaction
	Busy    time.Duration // time spent in the transactions, commit included
	Queued  int           // calls waiting now
}

// ErrClosed is returned by Do once the database is closing.
var ErrClosed = errors.New("db: closed")

// Group defaults.
const (
	groupMaxBatch = 256
	groupQueue    = 4096
	groupTimeout  = 30 * time.Second
	groupIdle     = 5 * time.Second
	groupTries    = 5
)

// Group returns the database's shared group-commit writer.
func (d *DB) Group() *Group {
	d.groupOnce.Do(func() {
		d.group = &Group{db: d, maxBatch: groupMaxBatch, timeout: groupTimeout, idle: groupIdle,
			queue: make(chan *call, groupQueue), stop: make(chan struct{})}
	})
	return d.group
}

// SetLogger sets where a Group logs a failed batch or a recovered panic.
func (g *Group) SetLogger(l *slog.Logger) {
	g.mu.Lock()
	g.log = l
	g.mu.Unlock()
}

// SetMaxBatch sets how many calls one transaction takes at most (default
// 256). 1 runs every call in a transaction of its own, one after another
// on the writer goroutine; 0 turns the writer off: each call runs in a
// transaction of its own on the caller's goroutine, concurrently (for
// comparison on PostgreSQL).
func (g *Group) SetMaxBatch(n int) {
	g.mu.Lock()
	g.maxBatch = max(0, n)
	g.mu.Unlock()
}

// call states: the caller and the writer race to move a call out of
// pending; whoever wins decides whether the work runs.
const (
	pending int32 = iota
	taken         // the writer runs it: the caller waits for the outcome
	dropped       // the caller gave up first: it never runs
)

type call struct {
	ctx   context.Context
	fn    func(ctx context.Context, tx *Tx) error
	state atomic.Int32
	done  chan error
	tries int
}

// Do runs fn in the writer's current transaction and returns once that
// transaction has committed (nil) or fn's work has been rolled back (fn's
// error, or the batch's). fn gets a context that carries ctx's values but
// not its cancellation: an interrupted statement would roll back the whole
// shared transaction on SQLite and end the connection on PostgreSQL, so
// fn must use that context, not ctx, for its statements. fn may run more
// than once (a retried deadlock on PostgreSQL); what it does outside tx
// must bear that.
//
// If ctx ends before the writer takes the call, fn never runs and Do
// returns ctx's error. Once fn has started, Do waits for the outcome (on
// PostgreSQL a batch has a 30-second deadline), so an error means the work
// was not committed (or, rarely, that the commit's outcome is unknown).
func (g *Group) Do(ctx context.Context, fn func(ctx context.Context, tx *Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := &call{ctx: ctx, fn: fn, done: make(chan error, 1)}
	g.mu.Lock()
	direct, closed := g.maxBatch == 0, g.closed
	g.mu.Unlock()
	if direct && !closed {
		return g.direct(c)
	}
	if err := g.enqueue(ctx, c); err != nil {
		return err
	}
	select {
	case err := <-c.done:
		return err
	case <-ctx.Done():
		if c.state.CompareAndSwap(pending, dropped) {
			return ctx.Err()
		}
		return <-c.done
	}
}

func (g *Group) enqueue(ctx context.Context, c *call) error {
	for {
		g.mu.Lock()
		if g.closed {
			g.mu.Unlock()
			return ErrClosed
		}
		select {
		case g.queue <- c:
			if !g.running {
				g.running = true
				go g.loop()
			}
			g.mu.Unlock()
			return nil
		default:
		}
		g.mu.Unlock()
		// The queue is full: wait for room (or for the caller to give up).
		t := time.NewTimer(time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Close refuses new calls, lets the writer finish every call already
// queued, and waits for it (or for ctx). DB.Close calls it.
func (g *Group) Close(ctx context.Context) error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	g.closed = true
	close(g.stop)
	g.done = make(chan struct{})
	if !g.running {
		close(g.done)
	}
	done := g.done
	g.mu.Unlock()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stats returns what the writer has done so far.
func (g *Group) Stats() GroupStats {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.stats
	s.Queued = len(g.queue)
	return s
}

func (g *Group) loop() {
	g.mu.Lock()
	idle, maxBatch := g.idle, g.maxBatch
	g.mu.Unlock()
	timer := time.NewTimer(idle)
	defer timer.Stop()
	var retry []*call
	for {
		var batch []*call
		if len(retry) > 0 {
			batch, retry = retry, nil
		} else {
			g.mu.Lock()
			closing := g.closed
			g.mu.Unlock()
			var first *call
			if closing {
				// Drain: run what is queued, then end.
				select {
				case first = <-g.queue:
				default:
				}
			} else {
				select {
				case first = <-g.queue:
				case <-timer.C:
				case <-g.stop:
					continue
				}
			}
			if first == nil {
				g.mu.Lock()
				if len(g.queue) > 0 {
					g.mu.Unlock()
					timer.Reset(idle)
					continue
				}
				g.running = false
				if g.closed {
					close(g.done)
				}
				g.mu.Unlock()
				return
			}
			batch = append(make([]*call, 0, 64), first)
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case c := <-g.queue:
				batch = append(batch, c)
			default:
				break fill
			}
		}
		retry = g.run(batch)
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(idle)
		g.mu.Lock()
		maxBatch = g.maxBatch
		g.mu.Unlock()
	}
}

// errRetry marks a call to run again in the next batch.
var errRetry = errors.New("db: retry in the next batch")

// run commits one batch and answers its calls; it returns the calls to run
// again (PostgreSQL deadlocks and serialization failures).
func (g *Group) run(batch []*call) []*call {
	live := batch[:0]
	for _, c := range batch {
		if c.tries > 0 || c.state.CompareAndSwap(pending, taken) {
			live = append(live, c)
		}
	}
	if len(live) == 0 {
		return nil
	}
	errs := make([]error, len(live))
	bctx, cancel := g.batchContext()
	defer cancel()
	start := time.Now()
	err := g.db.Tx(bctx, func(tx *Tx) error {
		for i, c := range live {
			if len(live) == 1 {
				// Alone: no savepoint needed, the transaction is the caller's.
				errs[i] = g.call(bctx, tx, c)
				if errs[i] != nil {
					return errs[i]
				}
				continue
			}
			if _, err := tx.ExecContext(bctx, `SAVEPOINT grp`); err != nil {
				return err
			}
			mark := len(tx.atCommit)
			if errs[i] = g.call(bctx, tx, c); errs[i] != nil {
				tx.atCommit = tx.atCommit[:mark]
				if _, err := tx.ExecContext(bctx, `ROLLBACK TO SAVEPOINT grp`); err != nil {
					return fmt.Errorf("db: roll back a call's work: %w (after %w)", err, errs[i])
				}
			}
			if _, err := tx.ExecContext(bctx, `RELEASE SAVEPOINT grp`); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && (len(live) > 1 || !errors.Is(err, errs[0])) {
		// The batch as a whole failed: nothing of it was stored.
		if retryable(err) {
			var again []*call
			for _, c := range live {
				if c.tries < groupTries {
					c.tries++
					again = append(again, c)
				} else {
					c.done <- err
				}
			}
			return again
		}
		g.logger().Error("group commit failed", "calls", len(live), "err", err)
		for _, c := range live {
			c.done <- err
		}
		return nil
	}
	var again []*call
	for i, c := range live {
		if errs[i] != nil && retryable(errs[i]) && c.tries < groupTries {
			c.tries++
			again = append(again, c)
			continue
		}
		c.done <- errs[i]
	}
	g.mu.Lock()
	g.stats.Batches++
	g.stats.Calls += int64(len(live) - len(again))
	g.stats.Largest = max(g.stats.Largest, len(live))
	g.stats.Busy += time.Since(start)
	g.mu.Unlock()
	return again
}

// direct runs c in a transaction of its own on the caller's goroutine.
func (g *Group) direct(c *call) error {
	for {
		bctx, cancel := g.batchContext()
		err := g.db.Tx(bctx, func(tx *Tx) error { return g.call(bctx, tx, c) })
		cancel()
		if err == nil || !retryable(err) || c.tries >= groupTries {
			return err
		}
		c.tries++
	}
}

// batchContext is the context of a batch's statements. On SQLite it never
// ends: an interrupted statement would roll back the whole batch, and a
// context with a Done channel costs the driver a goroutine per statement.
// On PostgreSQL, where a statement may wait for another node's lock, the
// batch has a deadline.
func (g *Group) batchContext() (context.Context, context.CancelFunc) {
	if g.db.Dialect == Postgres {
		return context.WithTimeout(context.Background(), g.timeout)
	}
	return context.Background(), func() {}
}

// call runs one caller's work with the caller's values and the batch's
// deadline, turning a panic into an error.
func (g *Group) call(bctx context.Context, tx *Tx, c *call) (err error) {
	defer func() {
		if p := recover(); p != nil {
			g.logger().Error("group commit: a call panicked", "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("db: the work panicked: %v", p)
		}
	}()
	return c.fn(valuesOf{Context: bctx, values: c.ctx}, tx)
}

func (g *Group) logger() *slog.Logger {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.log != nil {
		return g.log
	}
	return slog.New(slog.DiscardHandler)
}

// valuesOf is a context with one context's deadline and cancellation and
// another's values (who is acting, the request id …).
type valuesOf struct {
	context.Context
	values context.Context
}

func (v valuesOf) Value(key any) any { return v.values.Value(key) }

// retryable reports PostgreSQL deadlocks and serialization failures.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}
