package workflow

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/riverqueue/river"

	"mizogov/internal/db"
)

// SweepResult counts what a sweep did.
type SweepResult struct {
	Escalated int // cases moved up the ladder
	Failed    int // cases whose escalation failed (logged; retried next sweep)
	Skipped   int // cases that changed while the sweep looked at them
}

// SweepBatch is how many cases one transaction escalates.
const SweepBatch = 200

// Sweep escalates every case that is past a rung of its workflow's ladder.
// For each rung, highest level first (so a very late case jumps straight
// to the level it has reached), it walks the due cases in (due, id) order
// in batches of SweepBatch, one transaction per batch and a savepoint per
// case: a case that fails is rolled back alone, logged and counted, and the
// walk goes on past it. An error reading one rung does not stop the others.
func (e *Engine) Sweep(ctx context.Context) (SweepResult, error) {
	var res SweepResult
	var errs []error
	now := e.now()
	// Who holds a role where, and how to reach them, is looked up once a sweep.
	b := newNoticeBatch()
	for _, d := range e.definitions() {
		rungs := append([]Escalation(nil), d.Escalations...)
		sort.SliceStable(rungs, func(i, j int) bool { return rungs[i].Level > rungs[j].Level })
		for _, r := range rungs {
			if err := e.sweepRung(ctx, d, r, now, b, &res); err != nil {
				if ctx.Err() != nil {
					return res, ctx.Err()
				}
				e.log().Error("escalation rung failed", "workflow", d.Name, "state", r.State, "level", r.Level, "err", err)
				errs = append(errs, fmt.Errorf("%s %s level %d: %w", d.Name, r.State, r.Level, err))
			}
		}
	}
	return res, errors.Join(errs...)
}

func (e *Engine) sweepRung(ctx context.Context, d *Definition, r Escalation, now time.Time, b *noticeBatch, res *SweepResult) error {
	threshold := db.Time(now.Add(-r.After))
	var lastDue time.Time
	var lastID int64
	for {
		args := []any{d.Name, r.State, r.Level, threshold}
		q := `SELECT ` + caseCols + ` FROM wf_cases WHERE type = $1 AND state = $2 AND open AND level < $3 AND state_due <= $4`
		if lastID != 0 {
			q += ` AND (state_due, id) > ($5, $6)`
			args = append(args, db.Time(lastDue), lastID)
		}
		rows, err := e.DB.R().QueryContext(ctx, q+` ORDER BY state_due, id LIMIT `+fmt.Sprint(SweepBatch), args...)
		if err != nil {
			return err
		}
		var cases []Case
		for rows.Next() {
			c, err := scanCase(rows)
			if err != nil {
				rows.Close()
				return err
			}
			cases = append(cases, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(cases) == 0 {
			return nil
		}
		lastDue, lastID = cases[len(cases)-1].StateDue, cases[len(cases)-1].ID
		if err := e.escalateBatch(ctx, d, r, cases, threshold, b, res); err != nil {
			return err
		}
		if len(cases) < SweepBatch {
			return nil
		}
	}
}

// errRedo asks for a batch to run again, a savepoint per case.
var errRedo = errors.New("workflow: redo the batch with savepoints")

// escalateBatch escalates cases in one transaction and queues their
// notifications together at the end. It first runs without savepoints (a
// savepoint costs two statements a case, most of a step's cost on
// PostgreSQL): a case that is no longer due is skipped before anything is
// written, and any other failure rolls the batch back and runs it again
// with a savepoint per case, so that only the failing case is left out.
// The cases were read before the transaction; each step still checks the
// version it read, so a case an officer changed meanwhile is skipped.
func (e *Engine) escalateBatch(ctx context.Context, d *Definition, r Escalation, cases []Case, threshold time.Time, b *noticeBatch, res *SweepResult) error {
	var got SweepResult
	err := e.runBatch(ctx, d, r, cases, threshold, b, false, &got)
	if errors.Is(err, errRedo) {
		got = SweepResult{}
		err = e.runBatch(ctx, d, r, cases, threshold, b, true, &got)
	}
	if err == nil {
		res.Escalated += got.Escalated
		res.Failed += got.Failed
		res.Skipped += got.Skipped
	}
	return err
}

func (e *Engine) runBatch(ctx context.Context, d *Definition, r Escalation, cases []Case, threshold time.Time, b *noticeBatch, savepoints bool, res *SweepResult) error {
	return e.DB.Tx(ctx, func(tx *db.Tx) error {
		*res = SweepResult{}
		b.msgs = b.msgs[:0]
		bctx := context.WithValue(ctx, batchKey{}, b)
		for _, c := range cases {
			if savepoints {
				if _, err := tx.ExecContext(ctx, `SAVEPOINT wf_case`); err != nil {
					return err
				}
			}
			queued := len(b.msgs)
			err := e.escalate(bctx, tx, d, r, c, threshold)
			switch {
			case err == nil:
				res.Escalated++
			case errors.Is(err, errSkip):
				res.Skipped++ // nothing was written
				continue
			case !savepoints:
				return errRedo
			case IsChanged(err):
				res.Skipped++
			default:
				res.Failed++
				e.log().Error("escalation failed", "workflow", d.Name, "case", c.ID, "level", r.Level, "err", err)
			}
			if !savepoints {
				continue
			}
			if err != nil {
				b.msgs = b.msgs[:queued] // the case's notices go with its rollback
				if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT wf_case`); rerr != nil {
					return rerr
				}
			}
			if _, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT wf_case`); err != nil {
				return err
			}
		}
		if e.Notify == nil || len(b.msgs) == 0 {
			return nil
		}
		// One delivery job for the batch's notices, in its transaction.
		return e.Notify.EnqueueAll(ctx, tx, b.msgs)
	})
}

// escalate runs one rung on one case: the rung's action as the system,
// then the case goes to the rung's role at the rung's level.
func (e *Engine) escalate(ctx context.Context, tx *db.Tx, d *Definition, r Escalation, c Case, threshold time.Time) error {
	if e.failCase != nil {
		if err := e.failCase(c.ID); err != nil {
			return err
		}
	}
	_, err := e.Act(ctx, tx, Act{CaseID: c.ID, Action: r.Action, Actor: SystemActor, rung: &r, loaded: &c,
		check: func(c Case) bool {
			return c.Open && c.State == r.State && c.Level < r.Level && !c.StateDue.After(threshold)
		}})
	return err
}

// SweepArgs is the periodic job that runs Sweep.
type SweepArgs struct{}

// Kind names the job.
func (SweepArgs) Kind() string { return "workflow_sweep" }

// SweepWorker runs sweeps for River. Register it with jobs.Register and
// schedule it with Jobs.Every(time.Minute, workflow.SweepArgs{}).
type SweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	Engine *Engine
}

// Work runs one sweep. Failed cases are logged and retried by the next
// sweep; the job itself fails only when a rung could not be read.
func (w *SweepWorker) Work(ctx context.Context, job *river.Job[SweepArgs]) error {
	res, err := w.Engine.Sweep(ctx)
	if res.Escalated+res.Failed > 0 {
		w.Engine.log().Info("workflow sweep", "escalated", res.Escalated, "failed", res.Failed, "skipped", res.Skipped)
	}
	return err
}
