// Command grvfile measures filing grievances through HTTP: POST
// /api/v1/grievances on a real mizogov server, every acknowledged filing
// durable (SQLite synchronous=FULL).
//
//	go run ./bench/grvfile                       # SQLite in a fresh data folder, -c 128 for 10 s
//	go run ./bench/grvfile -crash                # kill -9 the server half-way, restart it, check
//	go run ./bench/grvfile -db 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
//	go run ./bench/grvfile -addr 127.0.0.1:8080 -data ./data   # a server already running
//
// Without -addr it migrates a fresh database (a SQLite data folder, or a
// schema of its own in PostgreSQL), seeds a category and -citizens
// citizens, and starts the server as a child process (this program run
// again, serving the real platform). Citizens get API sessions written
// straight into the database (the OTP sign-in is rate-limited per address,
// so thousands of sign-ins from one machine would measure the limiter);
// with -addr they are written into the running server's database, named
// by -data or -db.
//
// It then measures the raw SQLite single-row insert rate on the same disk
// (one transaction per row, synchronous=FULL: what filing could reach
// without group commit), files for -d with -c connections (closed loop,
// each request with its own Idempotency-Key), prints filings/s, latency
// percentiles and errors, and checks in the database that every reference
// the clients were given is stored, with its case and acknowledgement.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"mizogov/bench/internal/benchkit"
	"mizogov/internal/app"
	"mizogov/internal/config"
	"mizogov/internal/db"
	"mizogov/internal/grievance"
)

const category = "bench_pothole"

func main() {
	if os.Getenv("GRVFILE_SERVE") != "" {
		if err := benchkit.ServeChild("GRVFILE", func(a *app.App) {
			if n, err := strconv.Atoi(os.Getenv("GRVFILE_MAXBATCH")); err == nil {
				a.DB.Group().SetMaxBatch(n)
			}
		}); err != nil {
			fmt.Fprintln(os.Stderr, "server:", err)
			os.Exit(1)
		}
		return
	}
	var o opts
	flag.StringVar(&o.addr, "addr", "", "a running server (host:port); needs -data or -db to reach its database")
	flag.StringVar(&o.data, "data", "", "SQLite data folder (default: a fresh temporary one)")
	flag.StringVar(&o.dbURL, "db", "", "PostgreSQL URL (without -addr a fresh schema is made in it)")
	flag.IntVar(&o.citizens, "citizens", 1000, "citizens who file")
	flag.IntVar(&o.conc, "c", 128, "concurrent connections")
	flag.DurationVar(&o.dur, "d", 10*time.Second, "how long to file")
	flag.IntVar(&o.raw, "raw", 3000, "raw SQLite single-row inserts to time first (0: skip)")
	flag.BoolVar(&o.crash, "crash", false, "kill -9 the server half-way, restart it, then check every acknowledged filing")
	flag.IntVar(&o.batch, "batch", 256, "the server's group-commit batch limit: 1 = a transaction per filing, one after another; 0 = a transaction per filing, concurrently")
	flag.StringVar(&o.profile, "cpuprofile", "", "write the server's CPU profile here")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "grvfile:", err)
		os.Exit(1)
	}
}

type opts struct {
	addr, data, dbURL, profile string
	citizens, conc, raw        int
	dur                        time.Duration
	crash                      bool
	batch                      int
}

type citizen struct {
	token string
	id    int64
}

func run(o opts) error {
	ctx := context.Background()
	cfg := config.Defaults()
	if o.addr != "" && o.data == "" && o.dbURL == "" {
		return errors.New("-addr needs -data or -db: the citizens' sessions are made in the server's database")
	}
	if o.dbURL != "" {
		cfg.DB = o.dbURL
		if o.addr == "" {
			u, cleanup, err := benchkit.FreshSchema(o.dbURL, "grvfile")
			if err != nil {
				return err
			}
			defer cleanup()
			cfg.DB = u
		}
	} else {
		cfg.DataDir = o.data
		if cfg.DataDir == "" {
			d, err := os.MkdirTemp("", "grvfile")
			if err != nil {
				return err
			}
			defer os.RemoveAll(d)
			cfg.DataDir = d
		}
	}
	name := "SQLite (synchronous=FULL) in " + cfg.DataDir
	if cfg.IsPostgres() {
		name = "PostgreSQL"
	}
	fmt.Printf("grvfile: %d citizens, -c %d, -d %v, -batch %d, %s; %d CPUs, %s\n", o.citizens, o.conc, o.dur, o.batch, name, runtime.NumCPU(), runtime.Version())

	a, err := app.Open(ctx, cfg, app.Options{Migrate: o.addr == ""})
	if err != nil {
		return err
	}
	cat, district, people, err := seed(ctx, a, o.citizens)
	a.Close()
	if err != nil {
		return err
	}

	base := "http://" + o.addr
	var srv *server
	if o.addr == "" {
		srv = &server{cfg: cfg, batch: o.batch, profile: o.profile}
		if err := srv.start(); err != nil {
			return err
		}
		defer srv.stop()
		base = srv.base
	}

	if o.raw > 0 && !cfg.IsPostgres() {
		perSec, err := benchkit.RawInserts(filepath.Join(cfg.DataDir, "raw.db"), o.raw, 200)
		if err != nil {
			return err
		}
		fmt.Printf("\nraw SQLite single-row inserts (WAL, synchronous=FULL, one transaction per row, same disk): %.0f rows/s\n", perSec)
		os.Remove(filepath.Join(cfg.DataDir, "raw.db"))
	}

	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096, IdleConnTimeout: time.Minute}}
	benchkit.Warm(client, []string{base}, "/readyz", o.conc)
	w0 := benchkit.Metrics(client, []string{base}, groupMetrics)
	cpu0, self0 := srv.cpu(), selfCPU()
	var kill func()
	if o.crash && srv != nil {
		kill = srv.kill
	}
	fmt.Printf("\nfiling: POST /api/v1/grievances, %d connections, closed loop, %v\n", o.conc, o.dur)
	res := load(client, base, cat, district, people, o.conc, o.dur, kill)
	res.print()
	if kill == nil {
		printWriter(benchkit.WriterBetween(w0, benchkit.Metrics(client, []string{base}, groupMetrics), groupMetrics, "calls_total"))
		if filed := float64(len(res.acked)); filed > 0 && srv != nil {
			fmt.Printf("   CPU per filing: server %.0f µs, this load generator %.0f µs (so the machine's other load does not blur the comparison)\n",
				(srv.cpu()-cpu0).Seconds()/filed*1e6, (selfCPU()-self0).Seconds()/filed*1e6)
		}
	} else {
		fmt.Println("   server killed (SIGKILL) half-way; restarting it on the same database")
		if err := srv.start(); err != nil {
			return err
		}
	}
	return verify(ctx, cfg, res)
}

// seed adds a department and a category (once) and the citizens, each with
// an API session.
func seed(ctx context.Context, a *app.App, n int) (string, int64, []citizen, error) {
	svc := &grievance.Service{DB: a.DB, Now: time.Now}
	people := make([]citizen, n)
	var district int64
	now := db.Time(time.Now())
	first := mrand.IntN(90_000_000 - n)
	err := a.DB.Tx(ctx, func(tx *db.Tx) error {
		var dept int64
		if _, err := tx.ExecContext(ctx, `INSERT INTO departments (code, name, name_lus, created_at) VALUES ('PWD', 'Public Works Department', 'Public Works Department', $1)
			ON CONFLICT (code) DO NOTHING`, now); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT id FROM departments WHERE code = 'PWD'`).Scan(&dept); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT id FROM districts WHERE name = 'Aizawl'`).Scan(&district); err != nil {
			return err
		}
		if _, err := svc.SaveCategory(ctx, tx, grievance.Category{Code: category, DepartmentID: dept, Name: "Pothole (load test)",
			NameLus: "Kawng khur (load test)", Active: true}); err != nil {
			return err
		}
		for i := range people {
			tok := make([]byte, 24)
			rand.Read(tok)
			people[i].token = hex.EncodeToString(tok)
			sum := sha256.Sum256([]byte(people[i].token))
			if err := tx.QueryRowContext(ctx, `INSERT INTO people (name, phone, lang, created_at) VALUES ($1, $2, 'en', $3) RETURNING id`,
				fmt.Sprintf("Citizen %d", i), fmt.Sprintf("+9196%08d", first+i), now).Scan(&people[i].id); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (token_hash, person_id, staff, kind, created_at, last_seen_at, expires_at)
				VALUES ($1, $2, FALSE, 'api', $3, $3, $4)`, hex.EncodeToString(sum[:]), people[i].id, now, db.Time(now.Add(24*time.Hour))); err != nil {
				return err
			}
		}
		return nil
	})
	return category, district, people, err
}

// server is the child process serving the platform.
type server struct {
	cfg     config.Config
	batch   int
	profile string
	cmd     *exec.Cmd
	base    string
}

func (s *server) start() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "GRVFILE_SERVE=1", "GRVFILE_ADDR="+addr, "GRVFILE_DATA="+s.cfg.DataDir, "GRVFILE_DB="+s.cfg.DB)
	cmd.Env = append(cmd.Env, "GRVFILE_MAXBATCH="+strconv.Itoa(s.batch))
	if s.profile != "" {
		cmd.Env = append(cmd.Env, "GRVFILE_CPUPROFILE="+s.profile)
	}
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd, s.base = cmd, "http://"+addr
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if r, err := http.Get(s.base + "/readyz"); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("server at %s did not become ready", addr)
}

// cpu is the CPU time the server process has used (Linux /proc).
func (s *server) cpu() time.Duration {
	if s == nil || s.cmd == nil {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name "(…)": utime and stime are the 12th and 13th.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * (time.Second / 100) // USER_HZ
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (s *server) stop() {
	if s.cmd != nil {
		s.cmd.Process.Signal(syscall.SIGTERM)
		s.cmd.Wait()
		s.cmd = nil
	}
}

func (s *server) kill() {
	s.cmd.Process.Kill() // SIGKILL: no shutdown, no flush
	s.cmd.Wait()
	s.cmd = nil
}

type result struct {
	mu      sync.Mutex
	lat     []time.Duration
	status  map[int]int
	errs    map[string]int
	bodies  map[string]int // first words of unexpected answers
	elapsed time.Duration
	acked   map[string]int64 // reference → the citizen it was filed for
}

func (r *result) add(d time.Duration, code int, body []byte, who int64, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		msg := err.Error()
		if i := strings.LastIndex(msg, ": "); i >= 0 {
			msg = msg[i+2:] // "connection refused", "EOF" … without the URL
		}
		r.errs[msg]++
		return
	}
	r.lat = append(r.lat, d)
	r.status[code]++
	if code != http.StatusCreated && code != http.StatusOK {
		b := string(body)
		if len(b) > 120 {
			b = b[:120]
		}
		r.bodies[b]++
		return
	}
	var f struct {
		Ref string `json:"ref"`
	}
	if json.Unmarshal(body, &f) == nil && f.Ref != "" {
		r.acked[f.Ref] = who
	}
}

func (r *result) print() {
	sort.Slice(r.lat, func(i, j int) bool { return r.lat[i] < r.lat[j] })
	pct := func(p float64) time.Duration {
		if len(r.lat) == 0 {
			return 0
		}
		return r.lat[min(len(r.lat)-1, int(p*float64(len(r.lat))))].Round(100 * time.Microsecond)
	}
	fmt.Printf("   filed: %d in %.2fs = %.0f filings/s\n", len(r.acked), r.elapsed.Seconds(), float64(len(r.acked))/r.elapsed.Seconds())
	fmt.Printf("   latency: p50 %v  p95 %v  p99 %v  max %v\n", pct(.5), pct(.95), pct(.99), pct(1))
	fmt.Printf("   status %v; connection errors %v\n", r.status, r.errs)
	for b, n := range r.bodies {
		fmt.Printf("   %d× %s\n", n, b)
	}
}

// load files for dur with conc connections; kill, when set, is called
// half-way (the crash test).
func load(c *http.Client, base, cat string, district int64, people []citizen, conc int, dur time.Duration, kill func()) *result {
	res := &result{status: map[int]int{}, errs: map[string]int{}, bodies: map[string]int{}, acked: map[string]int64{}}
	var seq atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(dur)
	if kill != nil {
		time.AfterFunc(dur/2, kill)
	}
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				i := seq.Add(1)
				p := people[(int(i)+w)%len(people)]
				body := fmt.Sprintf(`{"category":%q,"description":"Pothole %d on the road near the market, deep enough to stop a bike","district_id":%d}`,
					cat, i, district)
				t := time.Now()
				code, b, err := post(c, base, p.token, fmt.Sprintf("grvfile-%d-%d", start.UnixNano(), i), body)
				res.add(time.Since(t), code, b, p.id, err)
				if err != nil && kill != nil {
					time.Sleep(10 * time.Millisecond) // the server is down: do not spin
				}
			}
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

func post(c *http.Client, base, token, key, body string) (int, []byte, error) {
	req, err := http.NewRequest("POST", base+"/api/v1/grievances", bytes.NewReader([]byte(body)))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Idempotency-Key", key)
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// groupMetrics names the group-commit writer's counters in /metrics.
const groupMetrics = "mizogov_db_group_"

func printWriter(w benchkit.Writer) {
	if w.Batches == 0 {
		fmt.Println("   group-commit writer: no batches (-batch 0 turns it off; or /metrics is not reachable from here)")
		return
	}
	fmt.Printf("   group-commit writer: %.0f filings in %.0f transactions (%.1f per commit, largest %.0f), busy %.2fs = %.0f µs per filing\n",
		w.Calls, w.Batches, w.Calls/w.Batches, w.Largest, w.Busy, w.Busy/w.Calls*1e6)
}

// verify checks that every acknowledged reference is stored, for its
// citizen, with its case and its acknowledgement message.
func verify(ctx context.Context, cfg config.Config, res *result) error {
	opts := db.Options{Path: cfg.SQLitePath()}
	if cfg.IsPostgres() {
		opts = db.Options{URL: cfg.DB}
	}
	d, err := db.Open(ctx, opts)
	if err != nil {
		return err
	}
	defer d.Close()
	stored := map[string]int64{}
	err = each(ctx, d, `SELECT g.ref, g.citizen_id FROM grv_grievances g JOIN wf_cases c ON c.id = g.case_id
		JOIN grv_categories k ON k.id = g.category_id WHERE k.code = $1`, []any{category}, func(rows *sql.Rows) error {
		var ref string
		var who int64
		err := rows.Scan(&ref, &who)
		stored[ref] = who
		return err
	})
	if err != nil {
		return err
	}
	told := map[string]bool{} // acknowledgements in the outbox
	err = each(ctx, d, `SELECT data FROM outbox WHERE template = 'grievance.filed'`, nil, func(rows *sql.Rows) error {
		var data string
		var m map[string]string
		if err := rows.Scan(&data); err != nil {
			return err
		}
		json.Unmarshal([]byte(data), &m)
		told[m["ref"]] = true
		return nil
	})
	if err != nil {
		return err
	}
	lost := 0
	for ref, who := range res.acked {
		if stored[ref] != who || !told[ref] {
			lost++
			if lost <= 5 {
				fmt.Printf("   LOST: %s (citizen %d) was acknowledged but is not stored\n", ref, who)
			}
		}
	}
	fmt.Printf("\ndatabase: %d filings stored (with their case), %d acknowledgements queued; clients were given %d references; %d of those missing\n",
		len(stored), len(told), len(res.acked), lost)
	if lost > 0 {
		return fmt.Errorf("%d acknowledged filings lost", lost)
	}
	fmt.Println("   correct: every acknowledged filing is stored")
	return nil
}

func each(ctx context.Context, d *db.DB, query string, args []any, fn func(*sql.Rows) error) error {
	rows, err := d.R().QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
