package opd

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"mizogov/internal/db"
	"mizogov/internal/idem"
	"mizogov/internal/notify"
	"mizogov/internal/web"
)

// Booker is the booking writer: group commit. Requests wait in a queue; one
// goroutine takes everything waiting (up to MaxBatch), runs each booking in
// a savepoint of one transaction, so that a refused booking rolls back alone
// and the others go on, commits once (one fsync for the whole batch with
// SQLite's synchronous=FULL), and only then answers every request of the
// batch. An acknowledged booking is therefore on disk, and the cost of the
// fsync is shared by every booking that arrived while the last one ran.
//
// Capacity is not decided here: each booking's conditional UPDATE and the
// table's CHECK and UNIQUE constraints decide, inside the transaction. On
// PostgreSQL each app node has its own Booker and the database orders them:
// a batch first locks its sessions in id order, so batches of two nodes
// never wait for each other in a cycle; a deadlock or serialization failure
// that happens anyway is retried.
type Booker struct {
	DB       *db.DB
	Log      *slog.Logger
	MaxBatch int           // bookings per transaction (default 256)
	Queue    int           // waiting requests before new ones are refused with 503 (default 8192)
	IdleExit time.Duration // the writer goroutine ends after this long without work (default 5 s)

	// Book runs one booking inside tx (called only by the writer goroutine).
	Book func(ctx context.Context, tx *db.Tx, r *BookRequest) (BookResult, error)
	// Notify queues the confirmations of a batch's bookings.
	Notify *notify.Service

	mu      sync.Mutex
	queue   chan *BookRequest
	running bool
	stats   BatchStats
	full    map[fullKey]time.Time // sessions found full, and when
}

type fullKey struct {
	session int64
	channel string
}

// fullFor is how long a session found full is refused without asking the
// database. A cancellation on this node forgets it at once; one on another
// node (PostgreSQL) is seen after at most this long.
const fullFor = time.Second

// Gathering under steady load: a batch smaller than gatherMin, formed
// within gatherAfter of the previous commit, waits up to gatherFor.
const (
	gatherMin   = 32
	gatherAfter = 5 * time.Millisecond
	gatherFor   = 2 * time.Millisecond
)

// BatchStats count what the writer did (for metrics and the load command).
type BatchStats struct {
	Batches  int64         // transactions committed
	Requests int64         // requests answered by them (bookings and refusals)
	Largest  int           // most requests in one transaction
	Busy     time.Duration // time spent in the transactions, commit included
}

// BookRequest is one booking waiting for the writer.
type BookRequest struct {
	Input BookInput
	ctx   context.Context
	done  chan bookAnswer
	tries int
}

type bookAnswer struct {
	res BookResult
	err error
}

// ErrBusy refuses a booking when the queue is full: the client should retry.
var ErrBusy = &web.Error{Status: http.StatusServiceUnavailable, Code: "busy", Key: "opd.busy", RetryAfter: 2 * time.Second}

func (b *Booker) init() {
	if b.queue == nil {
		n := b.Queue
		if n <= 0 {
			n = 8192
		}
		b.queue = make(chan *BookRequest, n)
	}
}

// Submit queues a booking and waits until its batch has committed. A
// session the writer has just found full is refused at once.
func (b *Booker) Submit(ctx context.Context, in BookInput) (BookResult, error) {
	r := &BookRequest{Input: in, ctx: ctx, done: make(chan bookAnswer, 1)}
	b.mu.Lock()
	if err := b.knownFull(in); err != nil {
		b.mu.Unlock()
		return BookResult{}, err
	}
	b.init()
	select {
	case b.queue <- r:
	default:
		b.mu.Unlock()
		return BookResult{}, ErrBusy
	}
	if !b.running {
		b.running = true
		go b.loop()
	}
	b.mu.Unlock()
	select {
	case a := <-r.done:
		return a.res, a.err
	case <-ctx.Done():
		// The booking may still be made; the client has gone and will not
		// hear about it. A retry with the same Idempotency-Key finds it.
		return BookResult{}, ctx.Err()
	}
}

// knownFull refuses a booking for a session found full a moment ago (b.mu held).
func (b *Booker) knownFull(in BookInput) error {
	at, ok := b.full[fullKey{in.SessionID, in.Channel}]
	if !ok || time.Since(at) > fullFor {
		return nil
	}
	if in.Channel == ChannelCounter {
		return refusal("counter_full", "opd.counter_full")
	}
	return refusal("session_full", "opd.session_full")
}

// noteFull remembers a session that refused a booking as full.
func (b *Booker) noteFull(in BookInput, err error) {
	var e *web.Error
	if !errors.As(err, &e) || (e.Code != "session_full" && e.Code != "counter_full") {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.full == nil {
		b.full = map[fullKey]time.Time{}
	}
	b.full[fullKey{in.SessionID, in.Channel}] = time.Now()
}

func (b *Booker) knownFullErr(in BookInput) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.knownFull(in)
}

// Forget drops what the writer knows of a session being full (a place was
// freed).
func (b *Booker) Forget(session int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.full, fullKey{session, ChannelOnline})
	delete(b.full, fullKey{session, ChannelCounter})
}

// Stats returns what the writer has done so far.
func (b *Booker) Stats() BatchStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stats
}

func (b *Booker) loop() {
	idle := b.IdleExit
	if idle <= 0 {
		idle = 5 * time.Second
	}
	maxBatch := b.MaxBatch
	if maxBatch <= 0 {
		maxBatch = 256
	}
	timer := time.NewTimer(idle)
	defer timer.Stop()
	var retry []*BookRequest
	var lastCommit time.Time
	for {
		var first *BookRequest
		if len(retry) > 0 {
			first, retry = retry[0], retry[1:]
		} else {
			select {
			case first = <-b.queue:
			case <-timer.C:
				b.mu.Lock()
				if len(b.queue) > 0 {
					b.mu.Unlock()
					timer.Reset(idle)
					continue
				}
				b.running = false
				b.mu.Unlock()
				return
			}
		}
		batch := append(make([]*BookRequest, 0, 64), first)
		batch = append(batch, retry...)
		retry = nil
	fill:
		for len(batch) < maxBatch {
			select {
			case r := <-b.queue:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		// Under steady load (the last commit just ended) a small batch
		// waits up to gatherFor for more requests, so that a commit's fixed
		// cost is shared by more bookings and the writer keeps ahead of the
		// arrivals; a booking after a quiet spell is committed at once.
		if len(batch) < gatherMin && time.Since(lastCommit) < gatherAfter {
			deadline := time.NewTimer(gatherFor)
		gather:
			for len(batch) < maxBatch {
				select {
				case r := <-b.queue:
					batch = append(batch, r)
				case <-deadline.C:
					break gather
				}
			}
			deadline.Stop()
		}
		retry = b.run(batch)
		lastCommit = time.Now()
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(idle)
	}
}

// run commits one batch and answers its requests. It returns the requests
// to try again in the next batch (PostgreSQL deadlocks and serialization
// failures).
func (b *Booker) run(batch []*BookRequest) []*BookRequest {
	live := batch[:0]
	for _, r := range batch {
		if r.ctx.Err() != nil {
			r.done <- bookAnswer{err: r.ctx.Err()}
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return nil
	}
	answers := make([]bookAnswer, len(live))
	var again []*BookRequest
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	err := b.DB.Tx(ctx, func(tx *db.Tx) error {
		again = again[:0]
		if b.DB.Dialect == db.Postgres {
			if err := lockSessions(ctx, tx, live); err != nil {
				return err
			}
		}
		for i, r := range live {
			// A session found full a moment ago refuses at once: only a
			// repeated request (its key already stored) still gets its answer.
			if full := b.knownFullErr(r.Input); full != nil {
				answers[i] = bookAnswer{err: full}
				if r.Input.Idem != nil {
					prev, err := idem.Lookup(ctx, tx, *r.Input.Idem)
					if err != nil && !errors.Is(err, idem.ErrMismatch) {
						return err
					}
					if prev != nil {
						answers[i] = bookAnswer{res: BookResult{Replay: prev}}
					} else if err != nil {
						answers[i] = bookAnswer{err: err}
					}
				}
				continue
			}
			if _, err := tx.ExecContext(ctx, `SAVEPOINT booking`); err != nil {
				return err
			}
			res, err := b.Book(ctx, tx, r)
			b.noteFull(r.Input, err)
			if err != nil {
				if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT booking`); rerr != nil {
					return rerr
				}
				if retryable(err) && r.tries < 5 {
					r.tries++
					again = append(again, r)
					answers[i] = bookAnswer{err: errRetry}
				} else {
					answers[i] = bookAnswer{err: err}
				}
			} else {
				answers[i] = bookAnswer{res: res}
			}
			if _, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT booking`); err != nil {
				return err
			}
		}
		// The confirmations of every booking made: one job insert for all.
		var msgs []notify.Message
		for _, a := range answers {
			if a.err == nil {
				msgs = append(msgs, a.res.msgs...)
			}
		}
		return b.Notify.EnqueueAll(ctx, tx, msgs)
	})
	if err != nil {
		if retryable(err) {
			// The batch as a whole lost a race on PostgreSQL: try it again.
			var out []*BookRequest
			for _, r := range live {
				if r.tries < 5 {
					r.tries++
					out = append(out, r)
				} else {
					r.done <- bookAnswer{err: err}
				}
			}
			return out
		}
		// Nothing of the batch was stored: every request hears so.
		if b.Log != nil {
			b.Log.Error("booking batch failed", "size", len(live), "err", err)
		}
		for _, r := range live {
			r.done <- bookAnswer{err: err}
		}
		return nil
	}
	b.mu.Lock()
	b.stats.Batches++
	b.stats.Requests += int64(len(live) - len(again))
	b.stats.Largest = max(b.stats.Largest, len(live))
	b.stats.Busy += time.Since(start)
	b.mu.Unlock()
	for i, r := range live {
		if answers[i].err == errRetry {
			continue
		}
		r.done <- answers[i]
	}
	return again
}

var errRetry = errors.New("retry in the next batch")

// lockSessions takes the row locks of every session of the batch in id
// order before anything else, so that two nodes' batches cannot deadlock on them.
func lockSessions(ctx context.Context, tx *db.Tx, batch []*BookRequest) error {
	var ids []int64
	for _, r := range batch {
		if r.Input.SessionID != 0 {
			ids = append(ids, r.Input.SessionID)
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `SELECT id FROM opd_sessions WHERE id = $1 FOR UPDATE`, id); err != nil {
			return err
		}
	}
	return nil
}

// retryable reports PostgreSQL deadlocks and serialization failures.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}
