package audit_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"mizogov/internal/audit"
	"mizogov/internal/db"
	"mizogov/internal/db/dbtest"
)

func appendN(t testing.TB, d *db.DB, l *audit.Log, n int) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		err := d.Tx(ctx, func(tx *db.Tx) error {
			_, err := l.Append(ctx, tx, audit.Event{Action: "test.write", ObjectType: "thing", ObjectID: fmt.Sprint(i),
				SubjectID: int64(i%3 + 1), Summary: map[string]any{"n": i}, Actor: &audit.Actor{ID: 7, Label: "tester"}})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestChainVerifies(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		l := &audit.Log{}
		appendN(t, d, l, 20)
		n, err := audit.Verify(context.Background(), d)
		if err != nil || n != 20 {
			t.Fatalf("Verify = %d, %v", n, err)
		}
	})
}

func TestConcurrentAppendsKeepOneChain(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		l := &audit.Log{}
		ctx := context.Background()
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 10 {
					err := d.Tx(ctx, func(tx *db.Tx) error {
						_, err := l.Append(ctx, tx, audit.Event{Action: "test.write", ObjectType: "w", ObjectID: fmt.Sprint(w, i), Actor: audit.System("t")})
						return err
					})
					if err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		if n, err := audit.Verify(ctx, d); err != nil || n != 80 {
			t.Fatalf("Verify = %d, %v", n, err)
		}
	})
}

func TestRolledBackChangeLeavesNoEntry(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		l := &audit.Log{}
		ctx := context.Background()
		appendN(t, d, l, 2)
		err := d.Tx(ctx, func(tx *db.Tx) error {
			if _, err := l.Append(ctx, tx, audit.Event{Action: "x", ObjectType: "y", Actor: audit.System("t")}); err != nil {
				return err
			}
			return errors.New("change failed")
		})
		if err == nil {
			t.Fatal("expected error")
		}
		appendN(t, d, l, 1)
		if n, err := audit.Verify(ctx, d); err != nil || n != 3 {
			t.Fatalf("Verify = %d, %v", n, err)
		}
	})
}

func TestAppendOnlyTriggers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		appendN(t, d, &audit.Log{}, 1)
		if _, err := d.W().Exec(`UPDATE audit_log SET actor = 'x'`); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Fatalf("update allowed: %v", err)
		}
		if _, err := d.W().Exec(`DELETE FROM audit_log`); err == nil {
			t.Fatal("delete allowed")
		}
	})
}

// tamper lifts the append-only guard, as someone with database access could.
func tamper(t *testing.T, d *db.DB, stmts ...string) {
	t.Helper()
	if d.Dialect == db.SQLite {
		stmts = append([]string{`DROP TRIGGER audit_log_no_update`, `DROP TRIGGER audit_log_no_delete`}, stmts...)
	} else {
		stmts = append([]string{`ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change`}, stmts...)
	}
	for _, s := range stmts {
		if _, err := d.W().Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func TestVerifyFindsTampering(t *testing.T) {
	cases := []struct {
		name   string
		stmts  []string
		wantID int64
	}{
		{"edited summary", []string{`UPDATE audit_log SET summary = '{"n":99}' WHERE id = 4`}, 4},
		{"edited actor", []string{`UPDATE audit_log SET actor_id = 1 WHERE id = 6`}, 6},
		{"deleted middle", []string{`DELETE FROM audit_log WHERE id = 5`}, 5},
		{"deleted tail", []string{`DELETE FROM audit_log WHERE id = 10`}, 10},
		{"reordered", []string{
			`UPDATE audit_log SET id = 100 WHERE id = 3`,
			`UPDATE audit_log SET id = 3 WHERE id = 4`,
			`UPDATE audit_log SET id = 4 WHERE id = 100`}, 3},
		{"inserted", []string{
			`UPDATE audit_log SET id = id + 100 WHERE id > 5`,
			`UPDATE audit_log SET id = id - 99 WHERE id > 100`,
			`INSERT INTO audit_log (id, at, actor, action, object_type, object_id, summary, request_id, ip, prev_hash, hash)
			 SELECT 6, at, actor, action, object_type, object_id, summary, request_id, ip, hash, 'forged' FROM audit_log WHERE id = 5`}, 6},
		{"rehashed entry", nil, 0}, // filled below: a forger recomputes one hash but not the next prev_hash
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, d *db.DB) {
				ctx := context.Background()
				appendN(t, d, &audit.Log{}, 10)
				stmts, want := tc.stmts, tc.wantID
				if tc.name == "rehashed entry" {
					es, _ := audit.List(ctx, d, audit.Query{ObjectID: "1"})
					e := es[0]
					e.Summary = `{"n":1000}`
					stmts = []string{fmt.Sprintf(`UPDATE audit_log SET summary = '%s', hash = '%s' WHERE id = %d`, e.Summary, audit.Hash(e), e.ID)}
					want = e.ID + 1
				}
				tamper(t, d, stmts...)
				_, err := audit.Verify(ctx, d)
				var ve *audit.VerifyError
				if !errors.As(err, &ve) {
					t.Fatalf("Verify = %v, want a VerifyError", err)
				}
				if ve.ID != want {
					t.Fatalf("first bad entry %d (%s), want %d", ve.ID, ve.Reason, want)
				}
			})
		})
	}
}

func TestListFilters(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		appendN(t, d, &audit.Log{}, 9)
		es, err := audit.List(ctx, d, audit.Query{SubjectID: 2})
		if err != nil || len(es) != 3 {
			t.Fatalf("subject filter: %d, %v", len(es), err)
		}
		if es[0].ID < es[1].ID {
			t.Fatal("not newest first")
		}
		es, _ = audit.List(ctx, d, audit.Query{Action: "test.", Limit: 4})
		if len(es) != 4 {
			t.Fatalf("limit: %d", len(es))
		}
		next, _ := audit.List(ctx, d, audit.Query{Action: "test.", Before: es[3].ID, Limit: 50})
		if len(next) != 5 {
			t.Fatalf("next page: %d", len(next))
		}
		none, _ := audit.List(ctx, d, audit.Query{Action: "%"})
		if len(none) != 0 {
			t.Fatal("LIKE metacharacter was not escaped")
		}
	})
}

func BenchmarkAppend(b *testing.B) {
	d := dbtest.SQLite(b)
	l := &audit.Log{}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		err := d.Tx(ctx, func(tx *db.Tx) error {
			_, err := l.Append(ctx, tx, audit.Event{Action: "bench.write", ObjectType: "thing", ObjectID: "1", Summary: "x", Actor: audit.System("bench")})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify1M times audit.Verify over a chain of 1,000,000 entries
// (built once, outside the timer, with the same hash function).
func BenchmarkVerify1M(b *testing.B) {
	d := dbtest.SQLite(b)
	ctx := context.Background()
	const total = 1_000_000
	prev := ""
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	for start := 1; start <= total; start += 20_000 {
		err := d.Tx(ctx, func(tx *db.Tx) error {
			stmt, err := tx.PrepareContext(ctx, `INSERT INTO audit_log (id, at, actor_id, actor, action, object_type, object_id, subject_id,
				summary, request_id, ip, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`)
			if err != nil {
				return err
			}
			defer stmt.Close()
			for id := start; id < start+20_000 && id <= total; id++ {
				e := audit.Entry{ID: int64(id), At: at.Add(time.Duration(id) * time.Millisecond), ActorID: int64(id%50 + 1), Actor: "officer",
					Action: "grievance.assign", ObjectType: "grievance", ObjectID: fmt.Sprint(id / 3), SubjectID: int64(id%1000 + 1),
					Summary: `{"to":"field officer","note":"site visit on Monday"}`, RequestID: "req", IP: "10.0.0.1", PrevHash: prev}
				e.Hash = audit.Hash(e)
				prev = e.Hash
				if _, err := stmt.ExecContext(ctx, e.ID, e.At, e.ActorID, e.Actor, e.Action, e.ObjectType, e.ObjectID, e.SubjectID,
					e.Summary, e.RequestID, e.IP, e.PrevHash, e.Hash); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	if _, err := d.W().Exec(`UPDATE audit_head SET seq = $1, hash = $2`, total, prev); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n, err := audit.Verify(ctx, d)
		if err != nil || n != total {
			b.Fatalf("Verify = %d, %v", n, err)
		}
	}
	b.ReportMetric(float64(total), "entries")
}

// BenchmarkAppendInTx is the added cost of one entry inside a transaction
// that is committing anyway (what a service's change pays).
func BenchmarkAppendInTx(b *testing.B) {
	d := dbtest.SQLite(b)
	l := &audit.Log{}
	ctx := context.Background()
	b.ResetTimer()
	for done := 0; done < b.N; {
		err := d.Tx(ctx, func(tx *db.Tx) error {
			for i := 0; i < 1000 && done < b.N; i++ {
				if _, err := l.Append(ctx, tx, audit.Event{Action: "bench.write", ObjectType: "thing", ObjectID: "1", Summary: "x", Actor: audit.System("bench")}); err != nil {
					return err
				}
				done++
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
