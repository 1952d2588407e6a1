package grievance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mizogov/internal/app"
	"mizogov/internal/app/apptest"
	"mizogov/internal/audit"
	"mizogov/internal/config"
	"mizogov/internal/db"
)

// TestMain lets the crash test re-execute this binary as a server.
func TestMain(m *testing.M) {
	apptest.ServeIfChild()
	os.Exit(m.Run())
}

type crashFiling struct {
	token, key string
	citizen    int64
}

// TestCrashKeepsAcknowledgedFilings kills the server with SIGKILL while
// citizens file through the API (group commit at work), restarts it on
// the same SQLite file, and checks that every filing that got its
// reference is there for its citizen with its case and acknowledgement,
// that the audit chain is whole, and that retrying the requests that got
// no answer, with their Idempotency-Keys, files each exactly once.
func TestCrashKeepsAcknowledgedFilings(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills a server")
	}
	dir := t.TempDir()
	cfg := config.Defaults()
	cfg.DataDir = dir
	ctx := context.Background()
	a, err := app.Open(ctx, cfg, app.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	_, cat, district := perfCategory(t, a)
	var people []crashFiling
	for i := range 32 {
		token, id := perfNewSession(t, a.DB, fmt.Sprintf("+91986230%04d", i), time.Now())
		people = append(people, crashFiling{token: token, citizen: id})
	}
	a.Close()

	client := &http.Client{Timeout: 10 * time.Second}
	file := func(base string, f crashFiling) (int, string, error) {
		body := fmt.Sprintf(`{"category":%q,"description":"Broken culvert, key %s","district_id":%d}`, cat, f.key, district)
		req, _ := http.NewRequest("POST", base+"/api/v1/grievances", bytes.NewReader([]byte(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+f.token)
		req.Header.Set("Idempotency-Key", f.key)
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		var out struct{ Ref string }
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out.Ref, nil
	}

	srv := apptest.StartChild(t, dir)
	base := srv.Base
	var mu sync.Mutex
	acked := map[string]crashFiling{} // ref → filing
	var unanswered []crashFiling
	var n atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 48 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				f := people[w%len(people)]
				f.key = fmt.Sprintf("crash-%d", n.Add(1))
				code, ref, err := file(base, f)
				mu.Lock()
				if err == nil && code == http.StatusCreated && ref != "" {
					acked[ref] = f
				} else {
					unanswered = append(unanswered, f)
				}
				mu.Unlock()
				if err != nil {
					return // the server is gone
				}
			}
		}()
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		got := len(acked)
		mu.Unlock()
		if got >= 400 || time.Now().After(deadline) {
			break
		}
	}
	srv.Kill()
	close(stop)
	wg.Wait()
	if len(acked) < 50 {
		t.Fatalf("only %d filings acknowledged before the kill", len(acked))
	}

	srv = apptest.StartChild(t, dir)
	base = srv.Base
	defer srv.Stop()
	d, err := db.Open(ctx, db.Options{Path: cfg.SQLitePath()})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for ref, f := range acked {
		var who int64
		var state string
		err := d.R().QueryRowContext(ctx, `SELECT g.citizen_id, c.state FROM grv_grievances g JOIN wf_cases c ON c.id = g.case_id
			WHERE g.ref = $1 AND g.token = $2`, ref, fmt.Sprintf("api:%d:%s", f.citizen, f.key)).Scan(&who, &state)
		if err != nil || who != f.citizen || state != "submitted" {
			t.Fatalf("acknowledged %s (key %s) after the crash: %v, citizen %d, state %q", ref, f.key, err, who, state)
		}
		var acks int
		d.R().QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE template = 'grievance.filed' AND subject_id = $1 AND data LIKE $2`,
			f.citizen, "%"+ref+"%").Scan(&acks)
		if acks != 1 {
			t.Fatalf("%s has %d acknowledgements queued", ref, acks)
		}
	}
	if _, err := audit.Verify(ctx, d); err != nil {
		t.Fatalf("audit chain after the crash: %v", err)
	}
	// Requests that got no answer may or may not have been filed: a retry
	// with the same key answers either way, and files nothing twice.
	for _, f := range unanswered {
		code, ref, err := file(base, f)
		if err != nil || (code != http.StatusCreated && code != http.StatusOK) || ref == "" {
			t.Fatalf("retry of %s: %d %v", f.key, code, err)
		}
	}
	var rows, keys int
	d.R().QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT token) FROM grv_grievances`).Scan(&rows, &keys)
	if want := len(acked) + len(unanswered); rows != want || keys != want {
		t.Fatalf("%d grievances (%d distinct keys), want %d: one per request", rows, keys, want)
	}
	t.Logf("%d filings acknowledged before SIGKILL, all kept; %d unanswered requests retried, each filed once", len(acked), len(unanswered))
}
