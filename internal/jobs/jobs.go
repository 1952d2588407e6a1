// Package jobs runs durable background jobs on River (riverqueue.com): jobs
// are rows in the platform database, inserted in the same transaction as the
// change that needs them, retried with backoff, kept across restarts, and
// worked exactly once across several nodes sharing a PostgreSQL database.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"mizogov/internal/db"
)

// Jobs collects workers and periodic jobs from every package, then runs them.
type Jobs struct {
	DB           *db.DB
	Log          *slog.Logger
	PollInterval time.Duration // how often idle workers look for new jobs

	workers  *river.Workers
	periodic []*river.PeriodicJob
	client   *river.Client[*sql.Tx]
}

// New returns an empty registry.
func New(d *db.DB, log *slog.Logger) *Jobs {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Jobs{DB: d, Log: log, workers: river.NewWorkers(), PollInterval: 250 * time.Millisecond}
}

// Register adds the worker for one kind of job. Call it before Start.
func Register[T river.JobArgs](j *Jobs, w river.Worker[T]) {
	river.AddWorker(j.workers, w)
}

// Every schedules a job to be inserted at a fixed interval (by one node only).
func (j *Jobs) Every(interval time.Duration, args river.JobArgs) {
	j.periodic = append(j.periodic, river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { return args, nil }, &river.PeriodicJobOpts{RunOnStart: true}))
}

func driver(d *db.DB) riverdriver.Driver[*sql.Tx] {
	if d.Dialect == db.SQLite {
		return riversqlite.New(d.W().DB)
	}
	return riverdatabasesql.New(d.W().DB)
}

// Migrate creates or upgrades River's own tables.
func Migrate(ctx context.Context, d *db.DB) error {
	m, err := rivermigrate.New(driver(d), &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return fmt.Errorf("job queue migration: %w", err)
	}
	return nil
}

func (j *Jobs) build(work bool) error {
	cfg := &river.Config{
		Logger:                      j.Log.With("component", "jobs"),
		FetchPollInterval:           j.PollInterval,
		FetchCooldown:               j.PollInterval / 5,
		PollOnly:                    true,
		CompletedJobRetentionPeriod: 7 * 24 * time.Hour,
		JobTimeout:                  2 * time.Minute,
		MaxAttempts:                 12,
	}
	if work {
		cfg.Workers = j.workers
		cfg.PeriodicJobs = j.periodic
		cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 8}}
	}
	c, err := river.NewClient(driver(j.DB), cfg)
	if err != nil {
		return fmt.Errorf("job client: %w", err)
	}
	j.client = c
	return nil
}

// Start works jobs until Stop. Without Start, a Jobs can still insert.
func (j *Jobs) Start(ctx context.Context) error {
	if err := j.build(true); err != nil {
		return err
	}
	return j.client.Start(ctx)
}

// Stop lets running jobs finish (until ctx ends), then stops.
func (j *Jobs) Stop(ctx context.Context) error {
	if j.client == nil {
		return nil
	}
	err := j.client.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		return j.client.StopAndCancel(context.Background())
	}
	return err
}

// Insert queues a job inside tx, so that it exists exactly when tx commits.
func (j *Jobs) Insert(ctx context.Context, tx *db.Tx, args river.JobArgs, opts *river.InsertOpts) error {
	if j.client == nil {
		if err := j.build(false); err != nil {
			return err
		}
	}
	_, err := j.client.InsertTx(ctx, tx.Tx, args, opts)
	if err != nil {
		return fmt.Errorf("queue %s job: %w", args.Kind(), err)
	}
	return nil
}

// Counts reports jobs by state (for metrics and the admin page).
func (j *Jobs) Counts(ctx context.Context) (map[string]int64, error) {
	rows, err := j.DB.R().QueryContext(ctx, `SELECT state, COUNT(*) FROM river_job GROUP BY state`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for _, s := range []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStateRunning, rivertype.JobStateRetryable,
		rivertype.JobStateScheduled, rivertype.JobStateCompleted, rivertype.JobStateDiscarded, rivertype.JobStateCancelled} {
		out[string(s)] = 0
	}
	for rows.Next() {
		var state string
		var n int64
		if err := rows.Scan(&state, &n); err != nil {
			return nil, err
		}
		out[state] = n
	}
	return out, rows.Err()
}
