package grievance_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mizogov/internal/app"
	"mizogov/internal/app/apptest"
	"mizogov/internal/db"
	"mizogov/internal/grievance"
	"mizogov/internal/web"
	"mizogov/internal/workflow"
)

// perfSetup adds a department and a category, and returns a service on
// the running platform's core, the category code and Aizawl's id.
func perfSetup(t testing.TB, e *apptest.Env) (*grievance.Service, string, int64) {
	t.Helper()
	return perfCategory(t, e.App)
}

func perfCategory(t testing.TB, a *app.App) (*grievance.Service, string, int64) {
	t.Helper()
	svc := &grievance.Service{DB: a.DB, Audit: a.Audit, Notify: a.Notify, Jobs: a.Jobs, Workflow: a.Workflow, Files: a.Files,
		Geo: a.Geo, Auth: a.Auth, Limits: a.Limits, Render: a.Render, Log: a.Log, Now: a.Now}
	ctx := context.Background()
	var district int64
	err := a.DB.Tx(ctx, func(tx *db.Tx) error {
		var dept int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO departments (code, name, name_lus, created_at) VALUES ('PWD', 'Public Works', 'Public Works', $1)
			RETURNING id`, db.Time(a.Now())).Scan(&dept); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT id FROM districts WHERE name = 'Aizawl'`).Scan(&district); err != nil {
			return err
		}
		_, err := svc.SaveCategory(ctx, tx, grievance.Category{Code: "pothole", DepartmentID: dept, Name: "Pothole", NameLus: "Kawng khur", Active: true})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return svc, "pothole", district
}

func perfPersonID(t testing.TB, e *apptest.Env, phone string) int64 {
	t.Helper()
	var id int64
	if err := e.App.DB.R().QueryRow(`SELECT id FROM people WHERE phone = $1`, phone).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestFileGroupedOnce: filings that share one group-commit batch each get
// their own reference and acknowledgement (one delivery job for the
// batch); repeats of one token in the same batch file once; a filing the
// check refuses never reaches the writer; someone else's token is refused.
func TestFileGroupedOnce(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		svc, cat, district := perfSetup(t, e)
		e.Citizen(t, "+919862100001")
		e.Citizen(t, "+919862100002")
		p1, p2 := perfPersonID(t, e, "+919862100001"), perfPersonID(t, e, "+919862100002")
		ctx := context.Background()

		// Hold the writer so that every filing below queues for one batch.
		g := e.App.DB.Group()
		started, free := make(chan struct{}), make(chan struct{})
		held := make(chan error, 1)
		go func() {
			held <- g.Do(ctx, func(context.Context, *db.Tx) error { close(started); <-free; return nil })
		}()
		<-started

		const n = 30
		type result struct {
			g   grievance.Grievance
			err error
		}
		res := make([]result, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				in := grievance.NewGrievance{Category: cat, Description: fmt.Sprintf("Pothole number %d", i), DistrictID: district,
					CitizenID: p1, Channel: grievance.ChannelAPI, Token: fmt.Sprintf("api:%d:k%d", p1, i), Actor: perfActor(p1)}
				switch {
				case i < 5: // one filing submitted five times
					in.Token = fmt.Sprintf("api:%d:same", p1)
				case i == 5: // refused by the check, before the writer
					in.VillageID = -1
				}
				res[i].g, res[i].err = svc.File(ctx, in)
			}()
		}
		for g.Stats().Queued < n-1 { // the refused one never reaches the writer
			time.Sleep(time.Millisecond)
		}
		close(free)
		if err := <-held; err != nil {
			t.Fatal(err)
		}
		wg.Wait()

		refs := map[string]bool{}
		again := 0
		for i, r := range res {
			switch {
			case i < 5:
				if r.err != nil {
					t.Fatalf("same-token filing %d: %v", i, r.err)
				}
				if r.g.Ref != res[0].g.Ref {
					t.Fatalf("same token, refs %s and %s", r.g.Ref, res[0].g.Ref)
				}
				if r.g.Again {
					again++
				}
			case i == 5:
				if r.err == nil {
					t.Fatalf("filing %d was accepted: %+v", i, r.g)
				}
			default:
				if r.err != nil || r.g.Ref == "" || refs[r.g.Ref] {
					t.Fatalf("filing %d: %v %q", i, r.err, r.g.Ref)
				}
				refs[r.g.Ref] = true
			}
		}
		if again != 4 {
			t.Fatalf("%d of 5 same-token filings were repeats, want 4", again)
		}
		// Someone else's token is refused.
		_, err := svc.File(ctx, grievance.NewGrievance{Category: cat, Description: "Mine", DistrictID: district, CitizenID: p2,
			Channel: grievance.ChannelAPI, Token: fmt.Sprintf("api:%d:same", p1), Actor: perfActor(p2)})
		var we *web.Error
		if !errors.As(err, &we) || we.Key != "grievance.token_used" {
			t.Fatalf("someone else's token: %v", err)
		}
		if got := e.Count(t, `SELECT COUNT(*) FROM grv_grievances`); got != n-5 {
			t.Fatalf("%d grievances, want %d", got, n-5)
		}
		if got := e.Count(t, `SELECT COUNT(*) FROM wf_cases WHERE type = 'grievance'`); got != n-5 {
			t.Fatalf("%d cases, want %d", got, n-5)
		}
		if s := g.Stats(); s.Largest < n-1 {
			t.Fatalf("largest batch %d, want the filings in one", s.Largest)
		}
		// Each filing acknowledged; the batch's acknowledgements share one
		// delivery job, and they reach the citizen.
		if got := e.Count(t, `SELECT COUNT(*) FROM outbox WHERE template = 'grievance.filed' AND subject_id = $1`, p1); got != n-5 {
			t.Fatalf("%d acknowledgements queued, want %d", got, n-5)
		}
		if got := e.Count(t, `SELECT COUNT(*) FROM river_job WHERE kind = 'notify_deliver_batch'`); got != 1 {
			t.Fatalf("%d delivery jobs, want 1 for the batch", got)
		}
		deadline := time.Now().Add(10 * time.Second)
		for e.Count(t, `SELECT COUNT(*) FROM outbox WHERE template = 'grievance.filed' AND status = 'sent'`) != n-5 {
			if time.Now().After(deadline) {
				t.Fatal("acknowledgements not delivered")
			}
			time.Sleep(20 * time.Millisecond)
		}
		if m, ok := e.SMS.Last("+919862100001"); !ok || !strings.Contains(m.Body, "MZ-GRV-") {
			t.Fatalf("acknowledgement SMS: %q", m.Body)
		}
	})
}

// apiSession makes a citizen and an API session for them in the database
// (the OTP sign-in is rate-limited per address; its own tests cover it).
func perfAPISession(t testing.TB, e *apptest.Env, phone string) string {
	t.Helper()
	token, _ := perfNewSession(t, e.App.DB, phone, e.Clock.Now())
	return token
}

func perfNewSession(t testing.TB, d *db.DB, phone string, at time.Time) (string, int64) {
	t.Helper()
	tok := make([]byte, 24)
	rand.Read(tok)
	token := hex.EncodeToString(tok)
	sum := sha256.Sum256([]byte(token))
	now := db.Time(at)
	var pid int64
	w := d.W()
	if err := w.QueryRow(`INSERT INTO people (name, phone, lang, created_at) VALUES ($1, $2, 'en', $3) RETURNING id`,
		"Citizen "+phone, phone, now).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Exec(`INSERT INTO sessions (token_hash, person_id, staff, kind, created_at, last_seen_at, expires_at)
		VALUES ($1, $2, FALSE, 'api', $3, $3, $4)`, hex.EncodeToString(sum[:]), pid, now, db.Time(now.Add(30*24*time.Hour))); err != nil {
		t.Fatal(err)
	}
	return token, pid
}

func perfActor(id int64) workflow.Actor { return workflow.Actor{ID: id} }

// BenchmarkFileParallel measures filing through the whole server (HTTP
// handler, checks on a reader, group-commit writer, synchronous=FULL
// commit) with 64 requests at a time and no network: ns/op is the time per
// filing, so 1e9/ns_op is filings per second.
func BenchmarkFileParallel(b *testing.B) {
	e := apptest.Start(b, apptest.Options{})
	_, cat, district := perfSetup(b, e)
	tokens := make([]string, 64)
	for i := range tokens {
		tokens[i] = perfAPISession(b, e, fmt.Sprintf("+91986220%04d", i))
	}
	h := e.App.Handler()
	var next atomic.Int64
	b.SetParallelism(32) // 64 goroutines on 2 CPUs
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			body := fmt.Sprintf(`{"category":%q,"description":"Pothole %d on the main road","district_id":%d}`, cat, i, district)
			req := httptest.NewRequest("POST", "/api/v1/grievances", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+tokens[i%int64(len(tokens))])
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusCreated {
				b.Errorf("status %d %s", rec.Code, rec.Body)
			}
		}
	})
	b.StopTimer()
	s := e.App.DB.Group().Stats()
	if s.Batches > 0 {
		b.ReportMetric(float64(s.Calls)/float64(s.Batches), "filings/batch")
	}
}
