package opd_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mizogov/internal/app"
	"mizogov/internal/app/apptest"
	"mizogov/internal/audit"
	"mizogov/internal/config"
	"mizogov/internal/db"
	"mizogov/internal/opd"
)

// TestMain lets the crash test re-execute this binary as a server.
func TestMain(m *testing.M) {
	apptest.ServeIfChild()
	os.Exit(m.Run())
}

type crashPatient struct {
	token string
	id    int64
	key   string
}

// TestCrashKeepsAcknowledgedBookings kills the server with SIGKILL in the
// middle of a booking surge, restarts it on the same SQLite file, and checks
// that every booking that got a success reply is there as told, that no
// place was sold twice, that the audit chain is whole, and that retrying the
// requests that got no answer, with their Idempotency-Keys, books nobody twice.
func TestCrashKeepsAcknowledgedBookings(t *testing.T) {
	const capacity, patients = 400, 1200
	dir := t.TempDir()
	ctx := context.Background()
	cfg := config.Defaults()
	cfg.DataDir = dir
	a, err := app.Open(ctx, cfg, app.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	day, _ := opd.ParseDay(opd.Today(now.AddDate(0, 0, 1)))
	var sess int64
	people := make([]crashPatient, patients)
	err = a.DB.Tx(ctx, func(tx *db.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO opd_sessions (hospital_id, department_id, day, starts_at, ends_at, opens_at,
			online_capacity, counter_quota, created_at) VALUES (1, 1, $1, $2, $3, $4, $5, 0, $4) RETURNING id`,
			day.Format(opd.DayLayout), db.Time(opd.At(day, 540)), db.Time(opd.At(day, 780)), db.Time(now.Add(-time.Minute)), capacity).Scan(&sess); err != nil {
			return err
		}
		for i := range people {
			b := make([]byte, 24)
			rand.Read(b)
			people[i].token, people[i].key = hex.EncodeToString(b), fmt.Sprintf("crash-%d", i)
			sum := sha256.Sum256([]byte(people[i].token))
			var pid int64
			if err := tx.QueryRowContext(ctx, `INSERT INTO people (name, phone, lang, created_at) VALUES ($1, $2, 'en', $3) RETURNING id`,
				fmt.Sprintf("P%d", i), fmt.Sprintf("+9196%08d", i), db.Time(now)).Scan(&pid); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (token_hash, person_id, staff, kind, created_at, last_seen_at, expires_at)
				VALUES ($1, $2, FALSE, 'api', $3, $3, $4)`, hex.EncodeToString(sum[:]), pid, db.Time(now), db.Time(now.Add(time.Hour))); err != nil {
				return err
			}
			if err := tx.QueryRowContext(ctx, `INSERT INTO opd_patients (account_id, relation, name, sex, birth_year, created_at)
				VALUES ($1, 'self', $2, 'male', 1980, $3) RETURNING id`, pid, fmt.Sprintf("P%d", i), db.Time(now)).Scan(&people[i].id); err != nil {
				return err
			}
		}
		return nil
	})
	a.Close()
	if err != nil {
		t.Fatal(err)
	}

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	type ack struct {
		ID        int64 `json:"id"`
		Token     int   `json:"token"`
		PatientID int64 `json:"patient_id"`
	}
	var mu sync.Mutex
	acked := map[int64]ack{}     // booking id → what the client was told
	unanswered := map[int]bool{} // patients whose request got no answer
	statuses := map[int]int{}
	book := func(base string, i int) (int, error) {
		p := people[i]
		body, _ := json.Marshal(map[string]int64{"session_id": sess, "patient_id": p.id})
		req, _ := http.NewRequest("POST", base+"/api/v1/opd/bookings", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+p.token)
		req.Header.Set("Idempotency-Key", p.key)
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return 0, err
		}
		mu.Lock()
		statuses[resp.StatusCode]++
		mu.Unlock()
		if resp.StatusCode == http.StatusCreated {
			var a ack
			if err := json.Unmarshal(b, &a); err != nil {
				return 0, err
			}
			mu.Lock()
			acked[a.ID] = a
			mu.Unlock()
		}
		return resp.StatusCode, nil
	}

	// Surge, and kill -9 once some bookings were acknowledged.
	srv := apptest.StartChild(t, dir)
	var next atomic.Int64
	var killed atomic.Bool
	var wg sync.WaitGroup
	for range 48 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= patients || killed.Load() {
					return
				}
				if _, err := book(srv.Base, i); err != nil {
					mu.Lock()
					unanswered[i] = true
					mu.Unlock()
				}
			}
		}()
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= capacity/4 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	srv.Kill()
	killed.Store(true)
	wg.Wait()
	mu.Lock()
	ackedBefore := len(acked)
	mu.Unlock()
	if ackedBefore == 0 || ackedBefore >= capacity {
		t.Fatalf("killed after %d acknowledged bookings; the test needs a kill mid-surge", ackedBefore)
	}
	t.Logf("killed after %d acknowledged bookings, %d requests unanswered, answers %v", ackedBefore, len(unanswered), statuses)

	// Restart: everything acknowledged is there, exactly as told.
	srv = apptest.StartChild(t, dir)
	defer srv.Stop()
	d, err := db.Open(ctx, db.Options{Path: filepath.Join(dir, "mizogov.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var integrity string
	if err := d.R().QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&integrity); err != nil || integrity != "ok" {
		t.Fatalf("integrity_check: %q %v", integrity, err)
	}
	checkAcked := func() {
		mu.Lock()
		defer mu.Unlock()
		for id, a := range acked {
			var token int
			var patient int64
			var audited int
			err := d.R().QueryRowContext(ctx, `SELECT token, patient_id FROM opd_bookings WHERE id = $1 AND session_id = $2 AND status = 'booked'`, id, sess).Scan(&token, &patient)
			if err != nil || token != a.Token || patient != a.PatientID {
				t.Errorf("acknowledged booking %d (token %d, patient %d) lost or changed: %v", id, a.Token, a.PatientID, err)
			}
			d.R().QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'opd.book' AND object_id = $1`, fmt.Sprint(id)).Scan(&audited)
			if audited != 1 {
				t.Errorf("booking %d has %d audit entries", id, audited)
			}
		}
	}
	checkAcked()
	checkSold := func() int {
		var booked, last, rows, distinct, lo, hi, twice int
		d.R().QueryRowContext(ctx, `SELECT online_booked, last_token FROM opd_sessions WHERE id = $1`, sess).Scan(&booked, &last)
		d.R().QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT token), COALESCE(MIN(token), 0), COALESCE(MAX(token), 0) FROM opd_bookings WHERE session_id = $1`, sess).
			Scan(&rows, &distinct, &lo, &hi)
		d.R().QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT patient_id FROM opd_bookings WHERE session_id = $1 GROUP BY patient_id HAVING COUNT(*) > 1) x`, sess).Scan(&twice)
		if booked != rows || last != rows || distinct != rows || (rows > 0 && (lo != 1 || hi != rows)) || rows > capacity || twice > 0 {
			t.Fatalf("places: online_booked %d, last token %d, %d bookings, %d distinct tokens %d..%d, capacity %d, %d patients twice",
				booked, last, rows, distinct, lo, hi, capacity, twice)
		}
		return rows
	}
	stored := checkSold()
	if _, err := audit.Verify(ctx, d); err != nil {
		t.Fatalf("audit chain after the crash: %v", err)
	}
	t.Logf("after restart: %d bookings stored (%d acknowledged)", stored, ackedBefore)

	// The requests that got no answer are retried with their keys: each is
	// either replayed (it had committed) or made now; nobody holds two places.
	for i := range unanswered {
		if _, err := book(srv.Base, i); err != nil {
			t.Fatalf("retry: %v", err)
		}
	}
	// The surge goes on until the session is full.
	var rest sync.WaitGroup
	for range 32 {
		rest.Add(1)
		go func() {
			defer rest.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= patients {
					return
				}
				if _, err := book(srv.Base, i); err != nil {
					t.Errorf("after restart: %v", err)
					return
				}
			}
		}()
	}
	rest.Wait()
	checkAcked()
	if n := checkSold(); n != capacity {
		t.Fatalf("%d places sold of %d", n, capacity)
	}
	mu.Lock()
	if len(acked) != capacity {
		t.Errorf("%d bookings acknowledged for %d places", len(acked), capacity)
	}
	mu.Unlock()
	if _, err := audit.Verify(ctx, d); err != nil {
		t.Fatalf("audit chain: %v", err)
	}
}
