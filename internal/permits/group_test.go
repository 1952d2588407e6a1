package permits_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"mizogov/internal/app/apptest"
	"mizogov/internal/db"
)

// draft creates an application; with docs, every person's photo and ID scan
// are uploaded too (so that it can be submitted).
func (w *world) draft(t *testing.T, c *apptest.Client, body map[string]any, docs bool) app {
	t.Helper()
	r := c.JSON(t, "POST", "/api/v1/permits/applications", body)
	if r.Status != http.StatusCreated {
		t.Fatalf("apply: %d %s", r.Status, r.Body)
	}
	var a app
	decode(t, r, &a)
	for _, m := range a.Members {
		for _, kind := range []string{"photo", "idscan"} {
			if !docs {
				continue
			}
			if r := upload(t, c, fmt.Sprintf("/api/v1/permits/applications/%d/members/%d/%s", a.ID, m.ID, kind), tinyPNG); r.Status != 200 {
				t.Fatalf("upload %s: %d %s", kind, r.Status, r.Body)
			}
		}
	}
	return a
}

// TestBatchedWritesFailAlone: requests whose writes share one group-commit
// transaction succeed or fail each on its own. Invalid submits, a bad
// application and a stale officer action get their own 4xx and change
// nothing, while the valid submits and applications in the same batch
// commit; two requests with one idempotency key in the batch create one
// application and get the same answer.
func TestBatchedWritesFailAlone(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		w := newWorld(t, e)
		const k = 3
		var good, bad []*apptest.Client
		var goodApps, badApps []app
		for i := range k {
			c := e.Citizen(t, fmt.Sprintf("+9198300002%02d", i))
			good, goodApps = append(good, c), append(goodApps, w.draft(t, c, w.application(person(fmt.Sprintf("Ready %d", i), "passport", fmt.Sprintf("M12345%02d", i))), true))
			c = e.Citizen(t, fmt.Sprintf("+9198300003%02d", i))
			bad, badApps = append(bad, c), append(badApps, w.draft(t, c, w.application(person(fmt.Sprintf("Missing %d", i), "passport", fmt.Sprintf("N12345%02d", i))), false))
		}
		// An application the officer has verified: an "approve" with the
		// old version is stale.
		sub := w.apply(t, e.Citizen(t, "+919830000400"), w.application(person("Stale Case", "passport", "P1234500")))
		if r := w.act(t, w.officer, sub.ID, "verify", ""); r.Status != 200 {
			t.Fatalf("verify: %d %s", r.Status, r.Body)
		}
		twin := e.Citizen(t, "+919830000401")
		twin.Header.Set("Idempotency-Key", "batch-twin-1")
		loner := e.Citizen(t, "+919830000402")
		before := snapshot(t, e)
		apps := e.Count(t, `SELECT COUNT(*) FROM permit_applications`)

		g := e.App.DB.Group()
		started, free := make(chan struct{}), make(chan struct{})
		held := make(chan error, 1)
		go func() {
			held <- g.Do(context.Background(), func(ctx context.Context, tx *db.Tx) error {
				close(started)
				<-free
				return nil
			})
		}()
		<-started

		type result struct {
			name string
			r    *apptest.Response
		}
		var (
			mu  sync.Mutex
			out []result
			wg  sync.WaitGroup
		)
		send := func(name string, fn func() *apptest.Response) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := fn()
				mu.Lock()
				out = append(out, result{name, r})
				mu.Unlock()
			}()
		}
		for i := range k {
			send(fmt.Sprintf("good %d", i), func() *apptest.Response {
				return good[i].JSON(t, "POST", fmt.Sprintf("/api/v1/permits/applications/%d/submit", goodApps[i].ID), nil)
			})
			send(fmt.Sprintf("bad %d", i), func() *apptest.Response {
				return bad[i].JSON(t, "POST", fmt.Sprintf("/api/v1/permits/applications/%d/submit", badApps[i].ID), nil)
			})
		}
		twinBody := w.application(person("Twin Traveller", "passport", "Q1234500"))
		send("twin a", func() *apptest.Response { return twin.JSON(t, "POST", "/api/v1/permits/applications", twinBody) })
		send("twin b", func() *apptest.Response { return twin.JSON(t, "POST", "/api/v1/permits/applications", twinBody) })
		invalid := w.application(person("No Date", "passport", "R1234500"))
		invalid["entry_date"] = "not a date"
		send("invalid apply", func() *apptest.Response { return loner.JSON(t, "POST", "/api/v1/permits/applications", invalid) })
		send("stale act", func() *apptest.Response {
			return w.officer.JSON(t, "POST", fmt.Sprintf("/api/v1/permits/office/applications/%d/act", sub.ID),
				map[string]any{"action": "approve", "version": 1})
		})
		n := 2*k + 4
		deadline := time.Now().Add(10 * time.Second)
		for g.Stats().Queued < n {
			if time.Now().After(deadline) {
				close(free)
				t.Fatalf("%d calls queued, want %d", g.Stats().Queued, n)
			}
			time.Sleep(time.Millisecond)
		}
		close(free)
		if err := <-held; err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if s := g.Stats(); s.Largest < n {
			t.Fatalf("largest batch %d: the %d requests did not share one transaction", s.Largest, n)
		}

		var twinIDs []int64
		replayed := 0
		for _, res := range out {
			switch name, r := res.name, res.r; {
			case strings.HasPrefix(name, "good"):
				var a app
				decode(t, r, &a)
				if r.Status != 200 || a.Status != "submitted" {
					t.Errorf("%s: %d %s", name, r.Status, r.Body)
				}
			case strings.HasPrefix(name, "bad"):
				if r.Status != 422 || !strings.Contains(r.Body, "photo_") {
					t.Errorf("%s: %d %s, want 422 asking for the photo", name, r.Status, r.Body)
				}
			case strings.HasPrefix(name, "twin"):
				var a app
				decode(t, r, &a)
				if r.Status != http.StatusCreated {
					t.Errorf("%s: %d %s", name, r.Status, r.Body)
				}
				twinIDs = append(twinIDs, a.ID)
				if r.Header.Get("Idempotent-Replayed") == "true" {
					replayed++
				}
			case name == "invalid apply":
				if r.Status != 422 || !strings.Contains(r.Body, "entry_date") {
					t.Errorf("%s: %d %s, want 422 on entry_date", name, r.Status, r.Body)
				}
			case name == "stale act":
				if r.Status != http.StatusConflict {
					t.Errorf("%s: %d %s, want 409", name, r.Status, r.Body)
				}
			}
		}
		if len(twinIDs) != 2 || twinIDs[0] != twinIDs[1] || replayed != 1 {
			t.Errorf("twins: ids %v, %d replayed; want one application, the second answer replayed", twinIDs, replayed)
		}
		// What changed: the twin's one application, the good ones' cases.
		if got := e.Count(t, `SELECT COUNT(*) FROM permit_applications`); got != apps+1 {
			t.Errorf("%d applications, want %d (one for the twins)", got, apps+1)
		}
		if got := e.Count(t, `SELECT COUNT(*) FROM wf_cases`); got != k+1 {
			t.Errorf("%d cases, want %d", got, k+1)
		}
		for _, a := range badApps {
			if st := e.Count(t, `SELECT COUNT(*) FROM permit_applications WHERE id = $1 AND status = 'draft' AND case_id IS NULL`, a.ID); st != 1 {
				t.Errorf("bad submit %d changed its application", a.ID)
			}
		}
		if st := e.Count(t, `SELECT COUNT(*) FROM permit_applications WHERE id = $1 AND status = 'under_verification' AND demand_id IS NULL`, sub.ID); st != 1 {
			t.Errorf("the stale approval changed its application")
		}
		if before == snapshot(t, e) {
			t.Error("nothing committed")
		}
	})
}
