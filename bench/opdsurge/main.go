// Command opdsurge measures e-OPD's opening surge: many patients try to book
// the places of one department at the moment booking opens.
//
//	go run ./bench/opdsurge                       # SQLite: 20,000 patients, 2,000 places
//	go run ./bench/opdsurge -db 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable' -nodes 2
//
// It seeds a fresh database (a session with -places online places in two
// departments, -patients signed-in citizens), starts -nodes servers as child
// processes (this program re-executed, running the real platform), and runs:
//
//  1. the raw SQLite single-row insert rate on the same disk (WAL,
//     synchronous=FULL, one transaction per row): the floor a booking
//     transaction could reach without batching;
//  2. the burst: every patient books at once (closed loop, -c connections);
//     requests answered per second and latency;
//  3. a fixed arrival rate (-rate requests/s, open loop) on the second
//     department, latency measured from when each request was due.
//
// After each phase it checks in the database that exactly -places bookings
// were confirmed, that every token 1..places was given once, and that every
// success the clients saw is stored.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"mizogov/bench/internal/benchkit"
	"mizogov/internal/app"
	"mizogov/internal/config"
	"mizogov/internal/db"
	"mizogov/internal/opd"
)

func main() {
	if os.Getenv("OPDSURGE_SERVE") != "" {
		if err := benchkit.ServeChild("OPDSURGE", nil); err != nil {
			fmt.Fprintln(os.Stderr, "server:", err)
			os.Exit(1)
		}
		return
	}
	dbURL := flag.String("db", "", "PostgreSQL URL (a fresh schema is made in it); empty for SQLite in a temporary folder")
	patients := flag.Int("patients", 20000, "patients who try to book")
	places := flag.Int("places", 2000, "online places of the department's session")
	conc := flag.Int("c", 256, "connections of the burst")
	rate := flag.Int("rate", 2000, "requests per second of the fixed-rate phase (0: skip)")
	nodes := flag.Int("nodes", 1, "app servers (PostgreSQL only for more than one)")
	dir := flag.String("dir", "", "folder for the SQLite database (default: a temporary folder)")
	flag.Parse()
	if *nodes > 1 && *dbURL == "" {
		fail(errors.New("several nodes need PostgreSQL (-db)"))
	}
	if err := run(*dbURL, *dir, *patients, *places, *conc, *rate, *nodes); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "opdsurge:", err)
	os.Exit(1)
}

type patient struct {
	token string
	id    int64
}

func run(dbURL, dir string, nPatients, places, conc, rate, nodes int) error {
	ctx := context.Background()
	fmt.Printf("opdsurge: %d patients, %d places, %s, %d node(s); %d CPUs, %s\n", nPatients, places, dbName(dbURL), nodes, runtime.NumCPU(), runtime.Version())
	env := []string{"OPDSURGE_SERVE=1"}
	var dataDir string
	if dbURL != "" {
		u, cleanup, err := benchkit.FreshSchema(dbURL, "opdsurge")
		if err != nil {
			return err
		}
		defer cleanup()
		dbURL = u
		env = append(env, "OPDSURGE_DB="+dbURL)
	} else {
		dataDir = dir
		if dataDir == "" {
			d, err := os.MkdirTemp("", "opdsurge")
			if err != nil {
				return err
			}
			defer os.RemoveAll(d)
			dataDir = d
		}
		env = append(env, "OPDSURGE_DATA="+dataDir)
	}
	cfg := config.Defaults()
	cfg.DataDir, cfg.DB = dataDir, dbURL
	a, err := app.Open(ctx, cfg, app.Options{Migrate: true})
	if err != nil {
		return err
	}
	sessions, people, err := seed(ctx, a.DB, nPatients, places)
	a.Close()
	if err != nil {
		return err
	}
	var bases []string
	for i := range nodes {
		addr, err := freePort()
		if err != nil {
			return err
		}
		child := exec.Command(os.Args[0])
		child.Env = append(os.Environ(), append(env, "OPDSURGE_ADDR="+addr)...)
		child.Stdout, child.Stderr = os.Stderr, os.Stderr
		if err := child.Start(); err != nil {
			return err
		}
		defer func() { child.Process.Signal(syscall.SIGTERM); child.Wait() }()
		bases = append(bases, "http://"+addr)
		if err := waitReady(bases[i]); err != nil {
			return err
		}
	}

	var raw float64
	if dbURL == "" {
		n := 3000
		perSec, err := benchkit.RawInserts(filepath.Join(dataDir, "raw.db"), n, 90)
		if err != nil {
			return err
		}
		fmt.Printf("\nraw SQLite single-row inserts (WAL, synchronous=FULL, one transaction per row, same disk): %d in %.2fs = %.0f rows/s\n",
			n, float64(n)/perSec, perSec)
		raw = perSec
	}

	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096, IdleConnTimeout: time.Minute}}
	// Warm the connections and the server (one GET each), not counted.
	benchkit.Warm(client, bases, "/api/v1/opd/hospitals", conc)

	fmt.Printf("\n1. burst: %d booking requests at once, %d connections, closed loop\n", nPatients, conc)
	w0 := benchkit.Metrics(client, bases, bookingMetrics)
	res := burst(client, bases, sessions[0], people, conc)
	res.print()
	printWriter(benchkit.WriterBetween(w0, benchkit.Metrics(client, bases, bookingMetrics), bookingMetrics, "requests_total"))
	if raw > 0 {
		fmt.Printf("   ratio: %.2f booking requests answered per raw single-row insert\n", res.perSec()/raw)
	}
	if err := verify(ctx, cfg, sessions[0], places, res); err != nil {
		return err
	}
	if rate > 0 {
		fmt.Printf("\n2. fixed rate: %d booking requests/s for %.1fs (open loop, latency from the moment each was due)\n", rate, float64(nPatients)/float64(rate))
		w0 := benchkit.Metrics(client, bases, bookingMetrics)
		res := fixedRate(client, bases, sessions[1], people, rate)
		res.print()
		printWriter(benchkit.WriterBetween(w0, benchkit.Metrics(client, bases, bookingMetrics), bookingMetrics, "requests_total"))
		if err := verify(ctx, cfg, sessions[1], places, res); err != nil {
			return err
		}
	}
	return nil
}

// bookingMetrics names the booking writers' counters in /metrics.
const bookingMetrics = "mizogov_opd_booking_"

func printWriter(w benchkit.Writer) {
	if w.Batches == 0 {
		return
	}
	fmt.Printf("   booking writer: %.0f requests in %.0f transactions (%.1f per commit, largest %.0f), busy %.2fs = %.0f µs per request\n",
		w.Calls, w.Batches, w.Calls/w.Batches, w.Largest, w.Busy, w.Busy/w.Calls*1e6)
}

func dbName(u string) string {
	if u == "" {
		return "SQLite"
	}
	return "PostgreSQL"
}

// seed makes two sessions tomorrow (Medicine and Surgery of Aizawl Civil
// Hospital) whose booking opened a minute ago, and the patients: each a
// citizen with an API session and a "self" patient.
func seed(ctx context.Context, d *db.DB, n, places int) ([2]int64, []patient, error) {
	var sessions [2]int64
	now := time.Now()
	day, _ := opd.ParseDay(opd.Today(now.AddDate(0, 0, 1)))
	people := make([]patient, n)
	err := d.Tx(ctx, func(tx *db.Tx) error {
		for i, dept := range []int64{1, 2} {
			err := tx.QueryRowContext(ctx, `INSERT INTO opd_sessions (hospital_id, department_id, day, starts_at, ends_at, opens_at,
				online_capacity, counter_quota, created_at) VALUES (1, $1, $2, $3, $4, $5, $6, 0, $7) RETURNING id`,
				dept, day.Format(opd.DayLayout), db.Time(opd.At(day, 9*60)), db.Time(opd.At(day, 13*60)), db.Time(now.Add(-time.Minute)),
				places, db.Time(now)).Scan(&sessions[i])
			if err != nil {
				return err
			}
		}
		for i := range people {
			tok := make([]byte, 24)
			rand.Read(tok)
			people[i].token = hex.EncodeToString(tok)
			sum := sha256.Sum256([]byte(people[i].token))
			var pid int64
			if err := tx.QueryRowContext(ctx, `INSERT INTO people (name, phone, lang, created_at) VALUES ($1, $2, 'en', $3) RETURNING id`,
				fmt.Sprintf("Patient %d", i), fmt.Sprintf("+9197%08d", i), db.Time(now)).Scan(&pid); err != nil {
				return err
			}
			// Signed in a few minutes before booking opened: every request
			// of the surge also refreshes its session's idle clock.
			if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (token_hash, person_id, staff, kind, created_at, last_seen_at, expires_at)
				VALUES ($1, $2, FALSE, 'api', $3, $3, $4)`, hex.EncodeToString(sum[:]), pid, db.Time(now.Add(-5*time.Minute)), db.Time(now.Add(24*time.Hour))); err != nil {
				return err
			}
			if err := tx.QueryRowContext(ctx, `INSERT INTO opd_patients (account_id, relation, name, sex, birth_year, created_at)
				VALUES ($1, 'self', $2, 'female', 1990, $3) RETURNING id`, pid, fmt.Sprintf("Patient %d", i), db.Time(now)).Scan(&people[i].id); err != nil {
				return err
			}
		}
		return nil
	})
	return sessions, people, err
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitReady(base string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if r, err := http.Get(base + "/readyz"); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not become ready", base)
}

type result struct {
	mu      sync.Mutex
	lat     []time.Duration
	status  map[int]int
	errs    map[string]int
	elapsed time.Duration
	ok      map[int64]booked // booking id → what the client was told
}

type booked struct {
	Token     int   `json:"token"`
	PatientID int64 `json:"patient_id"`
	SessionID int64 `json:"session_id"`
}

func newResult() *result {
	return &result{status: map[int]int{}, errs: map[string]int{}, ok: map[int64]booked{}}
}

func (r *result) add(d time.Duration, code int, body []byte, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		msg := err.Error()
		if len(msg) > 80 {
			msg = msg[:80]
		}
		r.errs[msg]++
		return
	}
	r.lat = append(r.lat, d)
	r.status[code]++
	if code == http.StatusCreated {
		var b struct {
			ID int64 `json:"id"`
			booked
		}
		if json.Unmarshal(body, &b) == nil {
			r.ok[b.ID] = b.booked
		}
	}
}

func (r *result) perSec() float64 { return float64(len(r.lat)) / r.elapsed.Seconds() }

func (r *result) print() {
	sort.Slice(r.lat, func(i, j int) bool { return r.lat[i] < r.lat[j] })
	pct := func(p float64) time.Duration {
		if len(r.lat) == 0 {
			return 0
		}
		return r.lat[min(len(r.lat)-1, int(p*float64(len(r.lat))))].Round(100 * time.Microsecond)
	}
	fmt.Printf("   answered: %d in %.2fs = %.0f requests/s; status %v; client errors %v\n", len(r.lat), r.elapsed.Seconds(), r.perSec(), r.status, r.errs)
	fmt.Printf("   latency: p50 %v  p90 %v  p99 %v  p99.9 %v  max %v\n", pct(.5), pct(.9), pct(.99), pct(.999), pct(1))
}

func send(c *http.Client, base string, sess int64, p patient) (int, []byte, error) {
	body, _ := json.Marshal(map[string]int64{"session_id": sess, "patient_id": p.id})
	req, err := http.NewRequest("POST", base+"/api/v1/opd/bookings", bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	key := make([]byte, 16)
	rand.Read(key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("Idempotency-Key", hex.EncodeToString(key))
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func burst(c *http.Client, bases []string, sess int64, people []patient, conc int) *result {
	res := newResult()
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(len(people)) {
					return
				}
				t := time.Now()
				code, body, err := send(c, bases[w%len(bases)], sess, people[i])
				res.add(time.Since(t), code, body, err)
			}
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

func fixedRate(c *http.Client, bases []string, sess int64, people []patient, rate int) *result {
	res := newResult()
	var wg sync.WaitGroup
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	for i, p := range people {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, body, err := send(c, bases[i%len(bases)], sess, p)
			res.add(time.Since(due), code, body, err)
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

// verify checks the database after a phase.
func verify(ctx context.Context, cfg config.Config, sess int64, places int, res *result) error {
	opts := db.Options{Path: cfg.SQLitePath()}
	if cfg.IsPostgres() {
		opts = db.Options{URL: cfg.DB}
	}
	d, err := db.Open(ctx, opts)
	if err != nil {
		return err
	}
	defer d.Close()
	var booked, last, rows, distinct int
	if err := d.R().QueryRowContext(ctx, `SELECT online_booked, last_token FROM opd_sessions WHERE id = $1`, sess).Scan(&booked, &last); err != nil {
		return err
	}
	if err := d.R().QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT token) FROM opd_bookings WHERE session_id = $1 AND status = 'booked'`, sess).Scan(&rows, &distinct); err != nil {
		return err
	}
	var lo, hi int
	d.R().QueryRowContext(ctx, `SELECT COALESCE(MIN(token), 0), COALESCE(MAX(token), 0) FROM opd_bookings WHERE session_id = $1`, sess).Scan(&lo, &hi)
	missing := 0
	for id, b := range res.ok {
		var token int
		var patient int64
		err := d.R().QueryRowContext(ctx, `SELECT token, patient_id FROM opd_bookings WHERE id = $1 AND session_id = $2`, id, sess).Scan(&token, &patient)
		if err != nil || token != b.Token || patient != b.PatientID {
			missing++
		}
	}
	fmt.Printf("   database: %d confirmed (online_booked %d, last token %d, tokens %d..%d, %d distinct); clients saw %d successes, %d of them not stored as told\n",
		rows, booked, last, lo, hi, distinct, res.status[201], missing)
	if rows != places || booked != places || last != places || distinct != places || lo != 1 || hi != places || res.status[201] != places || missing != 0 {
		return fmt.Errorf("wrong outcome: want exactly %d confirmed bookings with tokens 1..%d", places, places)
	}
	fmt.Printf("   correct: exactly %d confirmed, no token twice, no gap, every acknowledged booking stored\n", places)
	return nil
}
