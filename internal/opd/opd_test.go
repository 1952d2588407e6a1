package opd_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"mizogov/internal/app/apptest"
	"mizogov/internal/db"
	"mizogov/internal/opd"
	"mizogov/internal/refno"
)

// The tests run at 08:00 IST on Tuesday 1 December 2026. Aizawl Civil
// Hospital (id 1) opens booking 7 days ahead at 08:00; its first
// department is Medicine (id 1).
var t0 = time.Date(2026, 12, 1, 8, 0, 0, 0, opd.IST)

const (
	hospital = 1
	medicine = 1
	surgery  = 2
)

func clock() *apptest.Clock { return apptest.At(t0) }

// session inserts a session the way the planner does.
func session(t testing.TB, e *apptest.Env, dept int64, day string, online, counter int, status string) int64 {
	t.Helper()
	d, ok := opd.ParseDay(day)
	if !ok {
		t.Fatalf("bad day %s", day)
	}
	h := opd.Hospital{BookDaysAhead: 7, BookOpensMinute: 480}
	var id int64
	err := e.App.DB.W().QueryRow(`INSERT INTO opd_sessions (hospital_id, department_id, day, starts_at, ends_at, opens_at, online_capacity,
		counter_quota, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
		hospital, dept, day, db.Time(opd.At(d, 9*60)), db.Time(opd.At(d, 13*60)), db.Time(h.OpensAt(d)), online, counter, status, db.Time(t0)).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// person makes a signed-in citizen without the OTP round trip (the OTP
// rate limits would stop a test that needs many), with a "self" patient.
func person(t testing.TB, e *apptest.Env, n int) (*apptest.Client, int64) {
	t.Helper()
	tok := make([]byte, 24)
	rand.Read(tok)
	token := hex.EncodeToString(tok)
	sum := sha256.Sum256([]byte(token))
	now := db.Time(e.Clock.Now())
	var pid, patient int64
	phone := fmt.Sprintf("+9198%08d", 10000000+n)
	w := e.App.DB.W()
	if err := w.QueryRow(`INSERT INTO people (name, phone, lang, created_at) VALUES ($1, $2, 'en', $3) RETURNING id`,
		fmt.Sprintf("Citizen %d", n), phone, now).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Exec(`INSERT INTO sessions (token_hash, person_id, staff, kind, created_at, last_seen_at, expires_at)
		VALUES ($1, $2, FALSE, 'api', $3, $3, $4)`, hex.EncodeToString(sum[:]), pid, now, db.Time(e.Clock.Now().Add(30*24*time.Hour))); err != nil {
		t.Fatal(err)
	}
	if err := w.QueryRow(`INSERT INTO opd_patients (account_id, relation, name, sex, birth_year, created_at) VALUES ($1, 'self', $2, 'female', 1990, $3) RETURNING id`,
		pid, fmt.Sprintf("Citizen %d", n), now).Scan(&patient); err != nil {
		t.Fatal(err)
	}
	c := e.Client()
	c.Token = token
	return c, patient
}

func book(t testing.TB, c *apptest.Client, sess, patient int64) *apptest.Response {
	t.Helper()
	return c.JSON(t, "POST", "/api/v1/opd/bookings", map[string]int64{"session_id": sess, "patient_id": patient})
}

func code(t testing.TB, r *apptest.Response) string {
	t.Helper()
	var body struct {
		Error struct{ Code string } `json:"error"`
	}
	json.Unmarshal([]byte(r.Body), &body)
	return body.Error.Code
}

// snapshot is what a refused request must leave unchanged.
func snapshot(t testing.TB, e *apptest.Env) string {
	t.Helper()
	var s strings.Builder
	for _, q := range []string{`SELECT COUNT(*) FROM opd_bookings`, `SELECT COALESCE(SUM(online_booked + counter_booked + last_token), 0) FROM opd_sessions`,
		`SELECT COUNT(*) FROM opd_registrations`, `SELECT COUNT(*) FROM opd_patients`, `SELECT COUNT(*) FROM audit_log WHERE action NOT LIKE '%.read'`,
		`SELECT COUNT(*) FROM outbox`, `SELECT COUNT(*) FROM opd_bookings WHERE status = 'cancelled'`} {
		fmt.Fprintf(&s, "%d ", e.Count(t, q))
	}
	return s.String()
}

// checkTokens proves a session's tokens run 1..last_token with no gap or
// duplicate, and that the counters match the active bookings.
func checkTokens(t testing.TB, e *apptest.Env, sess int64) {
	t.Helper()
	var last, online, counter, capacity, quota int
	if err := e.App.DB.R().QueryRow(`SELECT last_token, online_booked, counter_booked, online_capacity, counter_quota FROM opd_sessions WHERE id = $1`, sess).
		Scan(&last, &online, &counter, &capacity, &quota); err != nil {
		t.Fatal(err)
	}
	if n := e.Count(t, `SELECT COUNT(DISTINCT token) FROM opd_bookings WHERE session_id = $1 AND token BETWEEN 1 AND $2`, sess, last); n != last {
		t.Errorf("session %d: %d distinct tokens in 1..%d", sess, n, last)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM opd_bookings WHERE session_id = $1`, sess); n != last {
		t.Errorf("session %d: %d bookings for last token %d", sess, n, last)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM opd_bookings WHERE session_id = $1 AND channel = 'online' AND status <> 'cancelled'`, sess); n != online {
		t.Errorf("session %d: online_booked %d but %d active online bookings", sess, online, n)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM opd_bookings WHERE session_id = $1 AND channel = 'counter' AND status <> 'cancelled'`, sess); n != counter {
		t.Errorf("session %d: counter_booked %d but %d active counter bookings", sess, counter, n)
	}
	if online > capacity || counter > quota {
		t.Errorf("session %d over capacity: %d/%d online, %d/%d counter", sess, online, capacity, counter, quota)
	}
}

func waitSMS(t testing.TB, e *apptest.Env, to, want string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range e.SMS.Sent() {
			if m.To == to && strings.Contains(m.Body, want) {
				return m.Body
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	var got []string
	for _, m := range e.SMS.Sent() {
		got = append(got, m.To+": "+m.Body)
	}
	rows, _ := e.App.DB.R().Query(`SELECT recipient, template, status, last_error FROM outbox`)
	for rows != nil && rows.Next() {
		var a, b, c, d string
		rows.Scan(&a, &b, &c, &d)
		got = append(got, "outbox "+a+" "+b+" "+c+" "+d)
	}
	t.Fatalf("no SMS to %s containing %q; sent:\n%s", to, want, strings.Join(got, "\n"))
	return ""
}

func TestBookingAndItsRefusals(t *testing.T) {
	apptest.Each(t, apptest.Options{Clock: clock()}, func(t *testing.T, e *apptest.Env) {
		tomorrow := session(t, e, medicine, "2026-12-02", 3, 2, "open")
		far := session(t, e, medicine, "2026-12-20", 3, 2, "open") // opens 13 December
		closed := session(t, e, surgery, "2026-12-02", 3, 2, "closed")
		a, pa := person(t, e, 1)
		b, pb := person(t, e, 2)

		r := book(t, a, tomorrow, pa)
		if r.Status != http.StatusCreated {
			t.Fatalf("book: %d %s", r.Status, r.Body)
		}
		var bk opd.Booking
		json.Unmarshal([]byte(r.Body), &bk)
		if bk.Token != 1 || bk.Status != "booked" || bk.Day != "2026-12-02" || r.Header.Get("Location") == "" {
			t.Fatalf("booking %+v", bk)
		}
		if _, svc, err := refno.Parse(bk.Refno); err != nil || svc != "OPD" {
			t.Fatalf("refno %q: %v", bk.Refno, err)
		}
		if !regexp.MustCompile(`^CHA-\d{7}-\d$`).MatchString(bk.UHID) {
			t.Fatalf("uhid %q", bk.UHID)
		}
		waitSMS(t, e, "+919810000001", "OPD token 1 for Citizen 1")

		// The same patient keeps the same UHID at the next booking.
		other := session(t, e, surgery, "2026-12-03", 3, 2, "open")
		r = book(t, a, other, pa)
		var bk2 opd.Booking
		json.Unmarshal([]byte(r.Body), &bk2)
		if r.Status != http.StatusCreated || bk2.UHID != bk.UHID {
			t.Fatalf("second booking %d %s", r.Status, r.Body)
		}

		before := snapshot(t, e)
		for _, tc := range []struct {
			name   string
			c      *apptest.Client
			body   string
			status int
			code   string
		}{
			{"second booking of the patient in the department that day", a, fmt.Sprintf(`{"session_id":%d,"patient_id":%d}`, tomorrow, pa), 409, "already_booked"},
			{"another family's patient", b, fmt.Sprintf(`{"session_id":%d,"patient_id":%d}`, tomorrow, pa), 404, "patient_not_found"},
			{"a day outside the booking window", a, fmt.Sprintf(`{"session_id":%d,"patient_id":%d}`, far, pa), 409, "not_open_yet"},
			{"a closed session", a, fmt.Sprintf(`{"session_id":%d,"patient_id":%d}`, closed, pa), 409, "session_closed"},
			{"no such session", a, fmt.Sprintf(`{"session_id":%d,"patient_id":%d}`, 99999, pa), 404, "session_not_found"},
			{"no such patient", a, fmt.Sprintf(`{"session_id":%d,"patient_id":%d}`, tomorrow, 99999), 404, "patient_not_found"},
			{"missing fields", a, `{}`, 422, "invalid"},
			{"unknown field", a, fmt.Sprintf(`{"session_id":%d,"patient_id":%d,"token":1}`, tomorrow, pa), 400, "unknown_field"},
			{"not JSON", a, `{"session_id":`, 400, "invalid_json"},
			{"wrong types", a, `{"session_id":"x","patient_id":1}`, 400, "invalid_json"},
		} {
			r := tc.c.JSON(t, "POST", "/api/v1/opd/bookings", tc.body)
			if r.Status != tc.status || code(t, r) != tc.code {
				t.Errorf("%s: %d %s, want %d %s", tc.name, r.Status, r.Body, tc.status, tc.code)
			}
		}
		if got := snapshot(t, e); got != before {
			t.Fatalf("a refused booking changed something: %s → %s", before, got)
		}
		// Mizo messages for a refusal.
		a.Lang = "lus"
		if r := book(t, a, closed, pa); !strings.Contains(r.Body, "khar a ni") {
			t.Errorf("refusal not in Mizo: %s", r.Body)
		}
		a.Lang = ""

		// Fill the session: 3 online places.
		c, pc := person(t, e, 3)
		d, pd := person(t, e, 4)
		if r := book(t, b, tomorrow, pb); r.Status != 201 {
			t.Fatalf("b: %d %s", r.Status, r.Body)
		}
		if r := book(t, c, tomorrow, pc); r.Status != 201 {
			t.Fatalf("c: %d %s", r.Status, r.Body)
		}
		before = snapshot(t, e)
		if r := book(t, d, tomorrow, pd); r.Status != 409 || code(t, r) != "session_full" {
			t.Fatalf("full session: %d %s", r.Status, r.Body)
		}
		if got := snapshot(t, e); got != before {
			t.Fatalf("a refused booking changed something: %s → %s", before, got)
		}

		// Cancelling frees the place; the next booking takes the next token.
		if r := b.JSON(t, "POST", fmt.Sprintf("/api/v1/opd/bookings/%d/cancel", bk.ID), nil); r.Status != 404 {
			t.Fatalf("cancel someone else's booking: %d", r.Status)
		}
		r = a.JSON(t, "POST", fmt.Sprintf("/api/v1/opd/bookings/%d/cancel", bk.ID), nil)
		if r.Status != 200 || !strings.Contains(r.Body, `"status":"cancelled"`) {
			t.Fatalf("cancel: %d %s", r.Status, r.Body)
		}
		if r := a.JSON(t, "POST", fmt.Sprintf("/api/v1/opd/bookings/%d/cancel", bk.ID), nil); r.Status != 409 {
			t.Fatalf("cancel twice: %d", r.Status)
		}
		r = book(t, d, tomorrow, pd)
		var bk4 opd.Booking
		json.Unmarshal([]byte(r.Body), &bk4)
		if r.Status != 201 || bk4.Token != 4 {
			t.Fatalf("after cancel: %d %s", r.Status, r.Body)
		}
		// A cancelled booking no longer blocks the patient's day.
		if r := book(t, a, tomorrow, pa); r.Status != 409 || code(t, r) != "session_full" {
			t.Fatalf("rebook after cancel on a full session: %d %s", r.Status, r.Body)
		}
		checkTokens(t, e, tomorrow)
		checkTokens(t, e, other)

		// Reads: one's own bookings only.
		if r := a.Get(t, fmt.Sprintf("/api/v1/opd/bookings/%d", bk.ID)); r.Status != 200 {
			t.Fatalf("own booking: %d", r.Status)
		}
		if r := b.Get(t, fmt.Sprintf("/api/v1/opd/bookings/%d", bk.ID)); r.Status != 404 {
			t.Fatalf("someone else's booking: %d", r.Status)
		}
		if r := b.Get(t, fmt.Sprintf("/opd/bookings/%d/card", bk4.ID)); r.Status != 404 {
			t.Fatalf("someone else's card: %d", r.Status)
		}
		if r := d.Get(t, fmt.Sprintf("/opd/bookings/%d/card", bk4.ID)); r.Status != 200 || !strings.Contains(r.Body, bk4.Refno) {
			t.Fatalf("card: %d", r.Status)
		}
		// Anonymous: sessions are public, booking is not.
		anon := e.Client()
		if r := anon.Get(t, fmt.Sprintf("/api/v1/opd/sessions?department=%d&from=2026-12-01&to=2026-12-31", medicine)); r.Status != 200 || !strings.Contains(r.Body, `"online_free":0`) {
			t.Fatalf("sessions: %d %s", r.Status, r.Body)
		}
		if r := book(t, anon, tomorrow, pa); r.Status != 401 {
			t.Fatalf("anonymous booking: %d", r.Status)
		}
		for _, q := range []string{"department=x", "department=1&from=2026-13-01", "department=1&from=2026-12-01&to=2027-06-01"} {
			if r := anon.Get(t, "/api/v1/opd/sessions?"+q); r.Status != 422 {
				t.Errorf("sessions?%s: %d", q, r.Status)
			}
		}
	})
}

func TestIdempotentBooking(t *testing.T) {
	apptest.Each(t, apptest.Options{Clock: clock()}, func(t *testing.T, e *apptest.Env) {
		sess := session(t, e, medicine, "2026-12-02", 1, 0, "open")
		a, pa := person(t, e, 1)
		a.Header.Set("Idempotency-Key", "8d0f8c3e-retry-1")
		r1 := book(t, a, sess, pa)
		r2 := book(t, a, sess, pa) // the session is full now: the retry still gets its booking
		if r1.Status != 201 || r2.Status != 201 || r1.Body != r2.Body || r2.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("retry: %d %s / %d %s", r1.Status, r1.Body, r2.Status, r2.Body)
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM opd_bookings`); n != 1 {
			t.Fatalf("%d bookings", n)
		}
		// The same key for another request is refused.
		other := session(t, e, surgery, "2026-12-02", 5, 0, "open")
		if r := book(t, a, other, pa); r.Status != 422 || code(t, r) != "idempotency_key_reused" {
			t.Fatalf("key reuse: %d %s", r.Status, r.Body)
		}
		a.Header.Set("Idempotency-Key", "bad key with spaces")
		if r := book(t, a, other, pa); r.Status != 400 {
			t.Fatalf("bad key: %d", r.Status)
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM opd_bookings`); n != 1 {
			t.Fatalf("%d bookings", n)
		}
	})
}

// TestConcurrentBookingsNeverOverbook races 120 patients for 25 places
// through the group-commit writer.
func TestConcurrentBookingsNeverOverbook(t *testing.T) {
	apptest.Each(t, apptest.Options{Clock: clock()}, func(t *testing.T, e *apptest.Env) {
		sess := session(t, e, medicine, "2026-12-02", 25, 0, "open")
		type who struct {
			c *apptest.Client
			p int64
		}
		var people []who
		for i := range 120 {
			c, p := person(t, e, i)
			people = append(people, who{c, p})
		}
		var mu sync.Mutex
		status := map[int]int{}
		tokens := map[int]bool{}
		var wg sync.WaitGroup
		for i, w := range people {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if i%3 == 0 {
					w.c.Header.Set("Idempotency-Key", fmt.Sprintf("k-%d", i))
				}
				r := book(t, w.c, sess, w.p)
				mu.Lock()
				defer mu.Unlock()
				status[r.Status]++
				if r.Status == 201 {
					var b opd.Booking
					json.Unmarshal([]byte(r.Body), &b)
					if tokens[b.Token] {
						t.Errorf("token %d given twice", b.Token)
					}
					tokens[b.Token] = true
				} else if code(t, r) != "session_full" {
					t.Errorf("unexpected answer %d %s", r.Status, r.Body)
				}
			}()
		}
		wg.Wait()
		if status[201] != 25 || status[409] != 95 {
			t.Fatalf("answers %v", status)
		}
		checkTokens(t, e, sess)
	})
}

func TestCounterQueue(t *testing.T) {
	apptest.Each(t, apptest.Options{Clock: clock()}, func(t *testing.T, e *apptest.Env) {
		today := session(t, e, medicine, "2026-12-01", 5, 2, "open")
		tomorrow := session(t, e, medicine, "2026-12-02", 5, 2, "open")
		a, pa := person(t, e, 1)
		b, pb := person(t, e, 2)
		var ba, bb, bt opd.Booking
		json.Unmarshal([]byte(book(t, a, today, pa).Body), &ba)
		json.Unmarshal([]byte(book(t, b, today, pb).Body), &bb)
		json.Unmarshal([]byte(book(t, a, tomorrow, pa).Body), &bt)
		if ba.Token != 1 || bb.Token != 2 || bt.Token != 1 {
			t.Fatalf("tokens %d %d %d", ba.Token, bb.Token, bt.Token)
		}
		cred := e.Officer(t, "counter.aizawl", "opd_counter", 0, 1)
		far := e.Officer(t, "counter.champhai", "opd_counter", 0, 2)
		api := e.Staff(t, cred)
		web := e.StaffBrowser(t, cred)
		other := e.Staff(t, far)

		r := web.Get(t, fmt.Sprintf("/opd/counter/%d", medicine))
		if r.Status != 200 || !strings.Contains(r.Body, "Citizen 1") || !strings.Contains(r.Body, "Citizen 2") {
			t.Fatalf("queue page: %d", r.Status)
		}
		if r := other.Get(t, fmt.Sprintf("/api/v1/opd/counter/queue?department=%d", medicine)); r.Status != 404 {
			t.Fatalf("another district's counter sees the queue: %d", r.Status)
		}
		if r := a.Get(t, fmt.Sprintf("/api/v1/opd/counter/queue?department=%d", medicine)); r.Status != 403 {
			t.Fatalf("a citizen sees the queue: %d", r.Status)
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM audit_log WHERE action = 'opd.queue.read'`); n != 1 {
			t.Fatalf("queue read not audited: %d", n)
		}

		// Check-in by token (form) and by reference number (API).
		r = web.Post(t, fmt.Sprintf("/opd/counter/%d/checkin", medicine), url.Values{"session_id": {strconv.FormatInt(today, 10)}, "token": {"1"}})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("check-in by token: %d %s", r.Status, r.Body)
		}
		r = api.JSON(t, "POST", "/api/v1/opd/counter/checkin", map[string]any{"department_id": medicine, "card": strings.ToLower(bb.Refno)})
		if r.Status != 200 || !strings.Contains(r.Body, `"status":"checked_in"`) {
			t.Fatalf("check-in by refno: %d %s", r.Status, r.Body)
		}
		before := snapshot(t, e)
		for _, tc := range []struct {
			body   map[string]any
			status int
		}{
			{map[string]any{"department_id": medicine, "card": bb.Refno}, 409},                // checked in already
			{map[string]any{"department_id": medicine, "card": bt.Refno}, 422},                // tomorrow's
			{map[string]any{"department_id": surgery, "card": ba.Refno}, 422},                 // another department
			{map[string]any{"department_id": medicine, "card": "MZ-OPD-2627-000001-0"}, 422},  // bad check digit
			{map[string]any{"department_id": medicine, "session_id": today, "token": 9}, 422}, // no such token
			{map[string]any{"department_id": medicine}, 422},                                  // nothing given
			{map[string]any{"department_id": 999, "card": ba.Refno}, 404},                     // no such department
		} {
			if r := api.JSON(t, "POST", "/api/v1/opd/counter/checkin", tc.body); r.Status != tc.status {
				t.Errorf("check-in %v: %d %s, want %d", tc.body, r.Status, r.Body, tc.status)
			}
		}
		if r := other.JSON(t, "POST", "/api/v1/opd/counter/checkin", map[string]any{"department_id": medicine, "card": ba.Refno}); r.Status != 404 {
			t.Errorf("another district checks in: %d", r.Status)
		}
		if got := snapshot(t, e); got != before {
			t.Fatalf("refused check-ins changed something: %s → %s", before, got)
		}

		// Call the next patient (token 1), then done; backwards is refused.
		r = web.Post(t, fmt.Sprintf("/opd/counter/sessions/%d/next", today), nil)
		if r.Status != http.StatusSeeOther {
			t.Fatalf("call next: %d %s", r.Status, r.Body)
		}
		board := e.Client().Get(t, fmt.Sprintf("/opd/board/%d?auto=1", hospital))
		if board.Status != 200 || !regexp.MustCompile(`class="now-token">1<`).MatchString(board.Body) ||
			!strings.Contains(board.Body, `http-equiv="refresh"`) || strings.Contains(board.Body, "Citizen") {
			t.Fatalf("board: %d %s", board.Status, board.Body)
		}
		if r := api.JSON(t, "POST", fmt.Sprintf("/api/v1/opd/counter/bookings/%d/done", ba.ID), nil); r.Status != 200 {
			t.Fatalf("done: %d %s", r.Status, r.Body)
		}
		if r := api.JSON(t, "POST", fmt.Sprintf("/api/v1/opd/counter/bookings/%d/checkin", ba.ID), nil); r.Status != 409 {
			t.Fatalf("backwards: %d", r.Status)
		}
		if r := api.JSON(t, "POST", fmt.Sprintf("/api/v1/opd/counter/bookings/%d/fly", ba.ID), nil); r.Status != 404 {
			t.Fatalf("unknown action: %d", r.Status)
		}
		if r := api.JSON(t, "POST", fmt.Sprintf("/api/v1/opd/counter/bookings/%d/noshow", bt.ID), nil); r.Status != 409 {
			t.Fatalf("tomorrow's no-show: %d", r.Status)
		}
		if r := api.JSON(t, "POST", fmt.Sprintf("/api/v1/opd/counter/bookings/%d/noshow", bb.ID), nil); r.Status != 200 {
			t.Fatalf("no-show: %d", r.Status)
		}

		// Walk-ins take the counter quota and the next token; a retry with
		// the same Idempotency-Key registers nobody twice.
		api.Header.Set("Idempotency-Key", "walkin-1")
		walkin := map[string]any{"department_id": medicine, "session_id": today, "name": "Pu Thanga", "sex": "male", "age": 67, "phone": "9862011111", "lang": "lus"}
		r = api.JSON(t, "POST", "/api/v1/opd/counter/walkins", walkin)
		if again := api.JSON(t, "POST", "/api/v1/opd/counter/walkins", walkin); again.Status != 201 || again.Body != r.Body {
			t.Fatalf("walk-in retry: %d %s", again.Status, again.Body)
		}
		api.Header.Del("Idempotency-Key")
		var w1 opd.Booking
		json.Unmarshal([]byte(r.Body), &w1)
		if r.Status != 201 || w1.Token != 3 || w1.Channel != "counter" || w1.UHID == "" {
			t.Fatalf("walk-in: %d %s", r.Status, r.Body)
		}
		waitSMS(t, e, "+919862011111", "tan OPD token 3")
		// A returning patient (known by UHID) keeps it; one who has a
		// booking in the department today cannot take a second place.
		c, pc := person(t, e, 3)
		var bc opd.Booking
		json.Unmarshal([]byte(book(t, c, session(t, e, surgery, "2026-12-02", 5, 0, "open"), pc).Body), &bc)
		r = web.Post(t, fmt.Sprintf("/opd/counter/%d/walkin", medicine), url.Values{"session_id": {strconv.FormatInt(today, 10)}, "uhid": {strings.ToLower(bc.UHID)}})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("returning walk-in: %d %s", r.Status, r.Body)
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM opd_bookings WHERE patient_id = $1 AND session_id = $2`, pc, today); n != 1 {
			t.Fatalf("returning walk-in booked %d times", n)
		}
		before = snapshot(t, e)
		for _, tc := range []struct {
			body   map[string]any
			status int
		}{
			{map[string]any{"department_id": medicine, "session_id": today, "name": "Nu Mawii", "sex": "female", "age": 40}, 409}, // quota of 2 used
			{map[string]any{"department_id": medicine, "session_id": tomorrow, "name": "Nu Mawii", "sex": "female", "age": 40}, 409},
			{map[string]any{"department_id": medicine, "session_id": today, "name": "", "sex": "x", "age": 200, "phone": "12"}, 422},
			{map[string]any{"department_id": medicine, "session_id": today, "uhid": "CHA-9999999-1"}, 422},
			{map[string]any{"department_id": medicine, "session_id": today, "uhid": ba.UHID}, 409}, // quota full (and booked today)
			{map[string]any{"department_id": surgery, "session_id": today, "name": "A", "sex": "male", "age": 3}, 422},
		} {
			if r := api.JSON(t, "POST", "/api/v1/opd/counter/walkins", tc.body); r.Status != tc.status {
				t.Errorf("walk-in %v: %d %s, want %d", tc.body, r.Status, r.Body, tc.status)
			}
		}
		if got := snapshot(t, e); got != before {
			t.Fatalf("refused walk-ins changed something: %s → %s", before, got)
		}
		checkTokens(t, e, today)
		r = api.Get(t, fmt.Sprintf("/api/v1/opd/counter/queue?department=%d", medicine))
		var q opd.QueueOut
		json.Unmarshal([]byte(r.Body), &q)
		if r.Status != 200 || q.Counts["done"] != 1 || q.Counts["no_show"] != 1 || q.Counts["booked"] != 2 {
			t.Fatalf("queue: %d %+v", r.Status, q.Counts)
		}
	})
}

func TestManageTemplatesAndHolidays(t *testing.T) {
	apptest.Each(t, apptest.Options{Clock: clock()}, func(t *testing.T, e *apptest.Env) {
		admin := e.StaffBrowser(t, e.Officer(t, "opd.admin", "admin", 0, 0))
		far := e.StaffBrowser(t, e.Officer(t, "hod.champhai", "hod", 0, 2))
		if r := far.Get(t, "/opd/manage/1"); r.Status != 404 {
			t.Fatalf("another district manages: %d", r.Status)
		}
		// Every Wednesday 09:00–13:00 in Medicine.
		r := admin.Post(t, "/opd/manage/1/template", url.Values{"department_id": {"1"}, "weekday": {"3"}, "start": {"09:00"}, "end": {"13:00"},
			"online_capacity": {"40"}, "counter_quota": {"10"}})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("template: %d %s", r.Status, r.Body)
		}
		// 14 days ahead from Tuesday 1 December: the 2nd, 9th and 15th... Wednesdays are 2, 9, 16 (16 > 15).
		if n := e.Count(t, `SELECT COUNT(*) FROM opd_sessions WHERE template_id IS NOT NULL`); n != 2 {
			t.Fatalf("%d sessions planned", n)
		}
		if r := admin.Post(t, "/opd/manage/1/plan", nil); r.Status != http.StatusSeeOther {
			t.Fatalf("plan again: %d", r.Status)
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM opd_sessions WHERE template_id IS NOT NULL`); n != 2 {
			t.Fatalf("planning twice made %d sessions", n)
		}
		before := snapshot(t, e)
		for _, form := range []url.Values{
			{"department_id": {"1"}, "weekday": {"9"}, "start": {"09:00"}, "end": {"13:00"}, "online_capacity": {"1"}, "counter_quota": {"1"}},
			{"department_id": {"1"}, "weekday": {"1"}, "start": {"13:00"}, "end": {"09:00"}, "online_capacity": {"1"}, "counter_quota": {"1"}},
			{"department_id": {"1"}, "weekday": {"1"}, "start": {"9am"}, "end": {"13:00"}, "online_capacity": {"-1"}, "counter_quota": {"1"}},
			{"department_id": {"999"}, "weekday": {"1"}, "start": {"09:00"}, "end": {"13:00"}, "online_capacity": {"1"}, "counter_quota": {"1"}},
		} {
			if r := admin.Post(t, "/opd/manage/1/template", form); r.Status != 422 {
				t.Errorf("bad template %v: %d", form, r.Status)
			}
		}
		if got := snapshot(t, e); got != before {
			t.Fatalf("refused templates changed something: %s → %s", before, got)
		}
		// A booking on the 9th, then the 9th becomes a holiday.
		var s9 int64
		e.App.DB.R().QueryRow(`SELECT id FROM opd_sessions WHERE day = '2026-12-02'`).Scan(&s9)
		a, pa := person(t, e, 1)
		if r := book(t, a, s9, pa); r.Status != 201 {
			t.Fatalf("book: %d %s", r.Status, r.Body)
		}
		r = admin.Post(t, "/opd/manage/1/holiday", url.Values{"day": {"2026-12-02"}, "holiday_name": {"Special holiday"}})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("holiday: %d %s", r.Status, r.Body)
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM opd_bookings WHERE status = 'cancelled' AND cancel_reason = 'holiday'`); n != 1 {
			t.Fatalf("%d bookings cancelled", n)
		}
		waitSMS(t, e, "+919810000001", "is cancelled: Special holiday")
		a2, pa2 := person(t, e, 2)
		if r := book(t, a2, s9, pa2); r.Status != 409 || code(t, r) != "session_closed" {
			t.Fatalf("book on a holiday: %d %s", r.Status, r.Body)
		}
		if r := admin.Post(t, "/opd/manage/1/holiday", url.Values{"day": {"2026-12-02"}, "holiday_name": {"Again"}}); r.Status != 422 {
			t.Fatalf("same holiday twice: %d", r.Status)
		}
		if r := admin.Post(t, "/opd/manage/1/holiday", url.Values{"day": {"2026-11-02"}, "holiday_name": {"Past"}}); r.Status != 422 {
			t.Fatalf("past holiday: %d", r.Status)
		}
		// A capacity below the bookings is refused by the database's CHECK.
		tomorrow := session(t, e, surgery, "2026-12-03", 2, 0, "open")
		book(t, a, tomorrow, pa)
		book(t, a2, tomorrow, pa2)
		r = admin.Post(t, "/opd/manage/1/session", url.Values{"session_id": {strconv.FormatInt(tomorrow, 10)}, "online_capacity_s": {"1"},
			"counter_quota_s": {"0"}, "status": {"open"}})
		if r.Status != 422 || !strings.Contains(r.Body, "cannot be fewer than the bookings") {
			t.Fatalf("capacity below bookings: %d", r.Status)
		}
		checkTokens(t, e, tomorrow)
	})
}

func TestPagesInBothLanguages(t *testing.T) {
	e := apptest.Start(t, apptest.Options{Clock: clock(), Demo: true})
	citizen := e.Client()
	code := e.OTP(t, "+919862000001", func() {
		citizen.Post(t, "/signin/otp", url.Values{"contact": {"9862000001"}})
	})
	if r := citizen.Post(t, "/signin/verify", url.Values{"contact": {"9862000001"}, "code": {code}}); r.Status != http.StatusSeeOther {
		t.Fatalf("sign in: %d %s", r.Status, r.Body)
	}
	var bid int64
	e.App.DB.R().QueryRow(`SELECT b.id FROM opd_bookings b JOIN opd_patients p ON p.id = b.patient_id WHERE p.account_id IS NOT NULL AND b.status = 'checked_in'`).Scan(&bid)
	var cred = struct{ Username, Password string }{"counter.cha", "mizoram-demo-2026"}
	staff := e.Client()
	if r := staff.Post(t, "/staff/signin", url.Values{"username": {cred.Username}, "password": {cred.Password}}); r.Status != http.StatusSeeOther {
		t.Fatalf("counter sign-in: %d", r.Status)
	}
	admin := e.Client()
	admin.Post(t, "/staff/signin", url.Values{"username": {"admin"}, "password": {cred.Password}})
	pages := []struct {
		c    *apptest.Client
		path string
		want string
	}{
		{e.Client(), "/opd", "Aizawl Civil Hospital"},
		{e.Client(), "/opd/book?hospital=1&department=1", "Medicine"},
		{citizen, "/opd/book?hospital=1&department=1", "Lalhruaitluangi"},
		{citizen, "/opd/patients", "Thangzuala"},
		{citizen, "/opd/bookings", "MZ-OPD-"},
		{citizen, fmt.Sprintf("/opd/bookings/%d", bid), "CHA-"},
		{citizen, fmt.Sprintf("/opd/bookings/%d/card", bid), "CHA-"},
		{e.Client(), "/opd/board/1", "auto=1"},
		{e.Client(), "/opd/board/1?department=1&auto=1", "http-equiv=\"refresh\""},
		{e.Client(), "/opd/card/verify?c=nonsense", "OPD"},
		{staff, "/opd/counter", "Medicine"},
		{staff, "/opd/counter/1", "MZ-OPD-"},
		{admin, "/opd/manage", "Aizawl Civil Hospital"},
		{admin, "/opd/manage/1", "Dr. Lalrinfela"},
	}
	for _, p := range pages {
		for _, lang := range []string{"en", "lus"} {
			sep := "?"
			if strings.Contains(p.path, "?") {
				sep = "&"
			}
			r := p.c.Get(t, p.path+sep+"lang="+lang)
			if r.Status != 200 && !(strings.Contains(p.path, "verify") && r.Status == 422) {
				t.Errorf("%s (%s): %d", p.path, lang, r.Status)
				continue
			}
			if !strings.Contains(r.Body, p.want) || !strings.Contains(r.Body, `<html lang="`+lang+`">`) || !strings.Contains(r.Body, opd.CSSURL()) {
				t.Errorf("%s (%s): page lacks %q, the language or the stylesheet", p.path, lang, p.want)
			}
			if len(r.Body) > 40<<10 {
				t.Errorf("%s: %d bytes", p.path, len(r.Body))
			}
			if regexp.MustCompile(`<script>|<script [^>]*>[^<]| on[a-z]+="| style="`).MatchString(r.Body) {
				t.Errorf("%s: inline script or style", p.path)
			}
			if lang == "lus" && regexp.MustCompile(`>opd\.[a-z_]+<`).MatchString(r.Body) {
				t.Errorf("%s: untranslated key", p.path)
			}
		}
	}
	css := e.Client().Get(t, opd.CSSURL())
	if css.Status != 200 || !strings.Contains(css.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("css: %d", css.Status)
	}
	// The demo has bookings in every state.
	for _, st := range opd.Statuses {
		if e.Count(t, `SELECT COUNT(*) FROM opd_bookings WHERE status = $1`, st) == 0 {
			t.Errorf("demo has no %s booking", st)
		}
	}
	if e.Count(t, `SELECT COUNT(DISTINCT day) FROM opd_sessions`) < 7 {
		t.Error("demo has less than a week of sessions")
	}
}

func TestSignedCard(t *testing.T) {
	apptest.Each(t, apptest.Options{Clock: clock()}, func(t *testing.T, e *apptest.Env) {
		today := session(t, e, medicine, "2026-12-01", 5, 2, "open")
		tomorrow := session(t, e, medicine, "2026-12-02", 5, 2, "open")
		a, pa := person(t, e, 1)
		var b1, b2 opd.Booking
		json.Unmarshal([]byte(book(t, a, today, pa).Body), &b1)
		json.Unmarshal([]byte(book(t, a, tomorrow, pa).Body), &b2)
		link := regexp.MustCompile(`href="https?://[^/"]+(/opd/card/verify\?c=[^"]+)"`)
		card := func(id int64) string {
			t.Helper()
			r := a.Get(t, fmt.Sprintf("/opd/bookings/%d/card", id))
			m := link.FindStringSubmatch(r.Body)
			if r.Status != 200 || m == nil || !strings.Contains(r.Body, `src="data:image/png;base64,`) {
				t.Fatalf("card: %d %s", r.Status, r.Body)
			}
			return strings.ReplaceAll(m[1], "&amp;", "&")
		}
		v1 := card(b1.ID)
		if again := card(b1.ID); again != v1 {
			t.Fatal("a second view issued another card")
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM documents WHERE type = 'OPD'`); n != 1 {
			t.Fatalf("%d cards in the register", n)
		}
		anon := e.Client()
		r := anon.Get(t, v1)
		if r.Status != 200 || !strings.Contains(r.Body, "genuine") || !strings.Contains(r.Body, b1.Refno) || strings.Contains(r.Body, "Citizen 1") {
			t.Fatalf("verify: %d %s", r.Status, r.Body)
		}
		// Tampered with: one character of the signature changed.
		u, _ := url.Parse(v1)
		tok := u.Query().Get("c")
		bad := tok[:len(tok)-2] + map[bool]string{true: "A", false: "B"}[tok[len(tok)-2] != 'A'] + tok[len(tok)-1:]
		if r := anon.Get(t, "/opd/card/verify?c="+url.QueryEscape(bad)); r.Status != 422 || !strings.Contains(r.Body, "not a valid OPD card") {
			t.Fatalf("tampered card: %d", r.Status)
		}
		// The counter checks in by scanning the card (the URL the QR holds).
		api := e.Staff(t, e.Officer(t, "counter.aizawl", "opd_counter", 0, 1))
		if r := api.JSON(t, "POST", "/api/v1/opd/counter/checkin", map[string]any{"department_id": medicine, "card": "https://mizogov.test" + v1}); r.Status != 200 {
			t.Fatalf("scan: %d %s", r.Status, r.Body)
		}
		if r := api.JSON(t, "POST", "/api/v1/opd/counter/checkin", map[string]any{"department_id": medicine, "card": bad}); r.Status != 422 {
			t.Fatalf("scan of a tampered card: %d %s", r.Status, r.Body)
		}
		// Cancelling revokes the card.
		v2 := card(b2.ID)
		if r := a.JSON(t, "POST", fmt.Sprintf("/api/v1/opd/bookings/%d/cancel", b2.ID), nil); r.Status != 200 {
			t.Fatalf("cancel: %d", r.Status)
		}
		if r := anon.Get(t, v2); r.Status != 422 || !strings.Contains(r.Body, "was cancelled") {
			t.Fatalf("verify a cancelled card: %d %s", r.Status, r.Body)
		}
		if r := a.Get(t, fmt.Sprintf("/opd/bookings/%d/card", b2.ID)); r.Status != 409 {
			t.Fatalf("card of a cancelled booking: %d", r.Status)
		}
	})
}
