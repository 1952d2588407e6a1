package jobs_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"mizogov/internal/db"
	"mizogov/internal/db/dbtest"
	"mizogov/internal/jobs"
)

type pingArgs struct {
	N int `json:"n"`
}

func (pingArgs) Kind() string { return "test_ping" }

type pingWorker struct {
	river.WorkerDefaults[pingArgs]
	done     atomic.Int32
	failOnce atomic.Bool
}

func (w *pingWorker) Work(ctx context.Context, j *river.Job[pingArgs]) error {
	if w.failOnce.CompareAndSwap(true, false) {
		return errors.New("transient failure")
	}
	w.done.Add(1)
	return nil
}

func (w *pingWorker) NextRetry(*river.Job[pingArgs]) time.Time {
	return time.Now().Add(10 * time.Millisecond)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestJobsRunAfterCommitOnlyAndRetry(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := &pingWorker{}
		w.failOnce.Store(true)
		j := jobs.New(d, nil)
		j.PollInterval = 20 * time.Millisecond
		jobs.Register(j, w)
		// A job queued in a rolled-back transaction never exists.
		_ = d.Tx(ctx, func(tx *db.Tx) error {
			if err := j.Insert(ctx, tx, pingArgs{N: 1}, nil); err != nil {
				t.Fatal(err)
			}
			return errors.New("rollback")
		})
		if err := d.Tx(ctx, func(tx *db.Tx) error { return j.Insert(ctx, tx, pingArgs{N: 2}, nil) }); err != nil {
			t.Fatal(err)
		}
		if err := j.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer j.Stop(ctx)
		waitFor(t, func() bool { return w.done.Load() == 1 })
		time.Sleep(100 * time.Millisecond)
		if w.done.Load() != 1 {
			t.Fatalf("worked %d times", w.done.Load())
		}
		waitFor(t, func() bool {
			counts, err := j.Counts(ctx)
			return err == nil && counts["completed"] == 1
		})
	})
}

// Two nodes on one PostgreSQL work each job once.
func TestTwoNodesWorkEachJobOnce(t *testing.T) {
	url := dbtest.PostgresURL(t)
	ctx := context.Background()
	var nodes []*db.DB
	for range 2 {
		d, err := db.Open(ctx, db.Options{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		nodes = append(nodes, d)
	}
	if _, err := nodes[0].Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := jobs.Migrate(ctx, nodes[0]); err != nil {
		t.Fatal(err)
	}
	var workers []*pingWorker
	for _, d := range nodes {
		w := &pingWorker{}
		j := jobs.New(d, nil)
		j.PollInterval = 20 * time.Millisecond
		jobs.Register(j, w)
		for i := range 50 {
			if err := d.Tx(ctx, func(tx *db.Tx) error { return j.Insert(ctx, tx, pingArgs{N: i}, nil) }); err != nil {
				t.Fatal(err)
			}
		}
		if err := j.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer j.Stop(ctx)
		workers = append(workers, w)
	}
	waitFor(t, func() bool { return workers[0].done.Load()+workers[1].done.Load() >= 100 })
	time.Sleep(200 * time.Millisecond)
	if total := workers[0].done.Load() + workers[1].done.Load(); total != 100 {
		t.Fatalf("100 jobs were worked %d times", total)
	}
}
