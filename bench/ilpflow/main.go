// Command ilpflow measures complete Inner Line Permit flows through HTTP:
// a visitor applies (draft, photo, ID scan, submit), an issuing officer
// verifies and approves, the visitor pays through the test gateway (start,
// gateway page, signed callback), and the permit is issued. It starts its
// own mizogov on a loopback port (SQLite in a temporary folder, or the
// PostgreSQL given with -db), with in-memory SMS so that visitors can sign
// in, then runs flows from -c workers for -d.
//
//	go run ./bench/ilpflow -c 32 -d 20s
//	go run ./bench/ilpflow -db 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable' -c 64 -d 20s
//
// With -gate it instead issues one permit, prints a police bearer token and
// the permit's QR text, and serves until interrupted, for bench/load:
//
//	go run ./bench/ilpflow -gate -addr 127.0.0.1:8102
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mizogov/bench/internal/benchkit"
	"mizogov/internal/app"
	"mizogov/internal/auth"
	"mizogov/internal/config"
	"mizogov/internal/notify"
	"mizogov/internal/permits"

	_ "github.com/jackc/pgx/v5/stdlib"
)

func main() {
	workers := flag.Int("c", 32, "concurrent visitors")
	dur := flag.Duration("d", 20*time.Second, "how long to run flows")
	dbURL := flag.String("db", "", "PostgreSQL URL (default: SQLite in a temporary folder)")
	gate := flag.Bool("gate", false, "issue one permit, print what bench/load needs for the gate endpoint, and serve")
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the measured part to this file")
	steps := flag.Bool("steps", false, "print the mean time of each kind of request")
	flag.Parse()
	profile = *cpuprofile
	showSteps = *steps
	if err := run(*workers, *dur, *dbURL, *gate, *addr); err != nil {
		fmt.Fprintln(os.Stderr, "ilpflow:", err)
		os.Exit(1)
	}
}

type bench struct {
	base    string
	client  *http.Client
	sms     *notify.Memory
	officer string // bearer token
	photo   []byte
}

func run(workers int, dur time.Duration, dbURL string, gate bool, addr string) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "ilpflow-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if dbURL != "" {
		// A schema of its own, dropped at the end.
		u, drop, err := benchkit.FreshSchema(dbURL, "ilpflow")
		if err != nil {
			return err
		}
		defer drop()
		dbURL = u
	}
	cfg := config.Defaults()
	cfg.DataDir, cfg.DB, cfg.TrustProxy = dir, dbURL, true
	sms := &notify.Memory{}
	a, err := app.Open(ctx, cfg, app.Options{Migrate: true, SMS: sms, Email: &notify.Memory{}, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Jobs.Start(ctx); err != nil {
		return err
	}
	defer a.Jobs.Stop(context.Background())
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: a.Handler()}
	go srv.Serve(ln)
	defer srv.Close()
	b := &bench{base: "http://" + ln.Addr().String(), sms: sms, photo: photo(),
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1024},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}

	home, err := a.Auth.SaveDepartment(ctx, nil, auth.Department{Code: "HOME", Name: "Home Department", NameLus: "Home Department"})
	if err != nil {
		return err
	}
	var kolasib int64
	a.DB.R().QueryRowContext(ctx, `SELECT id FROM districts WHERE name = 'Kolasib'`).Scan(&kolasib)
	stamp := time.Now().UnixNano() % 1e6
	if b.officer, err = b.staff(ctx, a, fmt.Sprintf("bench.ilp.%d", stamp), permits.RoleOfficer, home, kolasib); err != nil {
		return err
	}
	if gate {
		police, err := b.staff(ctx, a, fmt.Sprintf("bench.police.%d", stamp), permits.RolePolice, home, kolasib)
		if err != nil {
			return err
		}
		v, err := b.visitor("10.9.0.1", "+919830999999")
		if err != nil {
			return err
		}
		if _, err := b.flow(v); err != nil {
			return err
		}
		var list []struct{ ID int64 }
		if err := v.do("GET", "/api/v1/permits/applications", nil, "", &list); err != nil {
			return err
		}
		var view struct{ Permits []struct{ Token string } }
		if err := v.do("GET", fmt.Sprintf("/api/v1/permits/applications/%d", list[0].ID), nil, "", &view); err != nil {
			return err
		}
		body, _ := json.Marshal(map[string]string{"token": view.Permits[0].Token})
		fmt.Printf("serving on %s (Ctrl-C to stop)\n\ngo run ./bench/load -url %s/api/v1/permits/gate/verify -method POST \\\n  -H 'Authorization: Bearer %s' \\\n  -body '%s' -rate 1000 -d 10s\n",
			b.base, b.base, police, body)
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, os.Interrupt)
		<-stop
		return nil
	}

	visitors := make([]*visitor, workers)
	for i := range visitors {
		if visitors[i], err = b.visitor(fmt.Sprintf("10.8.%d.%d", i/250, i%250+1), fmt.Sprintf("+9198%08d", 30000000+int(stamp%100)*10000+i)); err != nil {
			return err
		}
	}
	// Warm up: one flow each, not counted.
	for _, v := range visitors {
		if _, err := b.flow(v); err != nil {
			return err
		}
	}
	var (
		mu      sync.Mutex
		lat     []time.Duration
		failed  atomic.Int64
		firstEr atomic.Value
	)
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	deadline := time.Now().Add(dur)
	start := time.Now()
	var wg sync.WaitGroup
	for _, v := range visitors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				t := time.Now()
				if _, err := b.flow(v); err != nil {
					failed.Add(1)
					firstEr.CompareAndSwap(nil, err.Error())
					continue
				}
				d := time.Since(t)
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))]
	}
	db := "SQLite"
	if dbURL != "" {
		db = "PostgreSQL"
	}
	fmt.Printf("ILP flows (apply with photo and ID scan → submit → verify → approve → pay via test gateway → issued), %s, %d visitors, %s\n", db, workers, dur)
	fmt.Printf("flows: %d in %.1fs = %.0f flows/s (%d HTTP requests each); failed: %d\n", len(lat), elapsed.Seconds(), float64(len(lat))/elapsed.Seconds(), requestsPerFlow, failed.Load())
	fmt.Printf("flow latency: p50 %v  p90 %v  p99 %v  max %v\n", pct(.5), pct(.9), pct(.99), pct(1))
	if e := firstEr.Load(); e != nil {
		fmt.Println("first error:", e)
	}
	if showSteps {
		for k, d := range stepTime {
			fmt.Printf("  %-60s %8.2f ms\n", k, float64(d.Microseconds())/1000/float64(stepN[k]))
		}
	}
	var issued int
	a.DB.R().QueryRowContext(ctx, `SELECT COUNT(*) FROM permits`).Scan(&issued)
	fmt.Printf("permits in the register: %d\n", issued)
	if showSteps {
		gs := a.DB.Group().Stats()
		fmt.Printf("group commit: %d calls in %d transactions (largest %d), writer busy %.1fs\n", gs.Calls, gs.Batches, gs.Largest, gs.Busy.Seconds())
	}
	return nil
}

const requestsPerFlow = 9

var (
	profile   string
	showSteps bool
)

// staff creates an officer and signs them in through the API.
func (b *bench) staff(ctx context.Context, a *app.App, username, role string, dept, district int64) (string, error) {
	cred, err := a.Auth.CreateStaff(ctx, nil, auth.NewStaff{Username: username, Name: "Bench " + username, Role: role, DepartmentID: dept, DistrictID: district})
	if err != nil {
		return "", err
	}
	code, _ := auth.TOTP(cred.TOTPSecret, auth.TOTPStep(time.Now()))
	v := &visitor{b: b, ip: "10.7.0.1"}
	var out struct{ Token string }
	if err := v.do("POST", "/api/v1/auth/login", map[string]string{"username": username, "password": cred.Password, "totp": code}, "", &out); err != nil {
		return "", err
	}
	return out.Token, nil
}

type visitor struct {
	b     *bench
	ip    string
	token string
}

var sixDigits = regexp.MustCompile(`\b\d{6}\b`)

// visitor signs a visitor in with a one-time code read from the in-memory SMS.
func (b *bench) visitor(ip, phone string) (*visitor, error) {
	v := &visitor{b: b, ip: ip}
	if err := v.do("POST", "/api/v1/auth/otp", map[string]string{"phone": phone}, "", nil); err != nil {
		return nil, err
	}
	var code string
	for i := 0; i < 500 && code == ""; i++ {
		for _, m := range b.sms.Sent() {
			if m.To == phone && strings.Contains(m.Body, "sign-in code") {
				code = sixDigits.FindString(m.Body)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	var out struct{ Token string }
	if err := v.do("POST", "/api/v1/auth/otp/verify", map[string]string{"phone": phone, "code": code}, "", &out); err != nil {
		return nil, err
	}
	v.token = out.Token
	return v, nil
}

// stepTime adds up the time each kind of request takes (for -steps).
var (
	stepMu   sync.Mutex
	stepTime = map[string]time.Duration{}
	stepN    = map[string]int{}
)

var idRE = regexp.MustCompile(`/[0-9]+|test_[0-9a-f]+|\?.*`)

// do sends JSON (or a prepared body with its content type) and decodes the answer.
func (v *visitor) do(method, path string, body any, ctype string, out any) error {
	t0 := time.Now()
	defer func() {
		k := method + " " + idRE.ReplaceAllString(path, "/…")
		stepMu.Lock()
		stepTime[k] += time.Since(t0)
		stepN[k]++
		stepMu.Unlock()
	}()
	var rd io.Reader
	switch x := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(x)
	default:
		j, _ := json.Marshal(x)
		rd, ctype = bytes.NewReader(j), "application/json"
	}
	req, _ := http.NewRequest(method, v.b.base+path, rd)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if v.token != "" {
		req.Header.Set("Authorization", "Bearer "+v.token)
	}
	req.Header.Set("X-Forwarded-For", v.ip)
	resp, err := v.b.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	if resp.StatusCode == http.StatusSeeOther {
		if out, ok := out.(*string); ok {
			*out = resp.Header.Get("Location")
		}
		return nil
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

func (b *bench) flow(v *visitor) (string, error) {
	ist := time.FixedZone("IST", 5*3600+1800)
	app := map[string]any{"type": "TEMP", "purpose": "tourism", "places": "Aizawl", "entry_point": "VRT",
		"entry_date": time.Now().In(ist).Format("2006-01-02"), "local_contact": "Hotel, 0389 2300000",
		"members": []any{map[string]any{"name": "Bench Visitor", "gender": "f", "birth_date": "1990-01-01", "address": "Kolkata",
			"id_type": "passport", "id_number": "K1234567"}}}
	var a struct {
		ID      int64
		Members []struct{ ID int64 }
	}
	if err := v.do("POST", "/api/v1/permits/applications", app, "", &a); err != nil {
		return "", err
	}
	for _, kind := range []string{"photo", "idscan"} {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, _ := mw.CreateFormFile("file", "p.png")
		fw.Write(b.photo)
		mw.Close()
		if err := v.do("POST", fmt.Sprintf("/api/v1/permits/applications/%d/members/%d/%s", a.ID, a.Members[0].ID, kind), body.Bytes(), mw.FormDataContentType(), nil); err != nil {
			return "", err
		}
	}
	if err := v.do("POST", fmt.Sprintf("/api/v1/permits/applications/%d/submit", a.ID), nil, "", nil); err != nil {
		return "", err
	}
	officer := &visitor{b: b, ip: "10.7.0.2", token: b.officer}
	for version, action := range []string{"verify", "approve"} {
		if err := officer.do("POST", fmt.Sprintf("/api/v1/permits/office/applications/%d/act", a.ID),
			map[string]any{"action": action, "version": version + 1}, "", nil); err != nil {
			return "", err
		}
	}
	var st struct {
		RedirectURL string `json:"redirect_url"`
	}
	if err := v.do("POST", fmt.Sprintf("/api/v1/permits/applications/%d/pay", a.ID), nil, "", &st); err != nil {
		return "", err
	}
	var callback, back string
	form := []byte(url.Values{"outcome": {"paid"}}.Encode())
	if err := v.do("POST", st.RedirectURL, form, "application/x-www-form-urlencoded", &callback); err != nil {
		return "", err
	}
	if err := v.do("GET", callback, nil, "", &back); err != nil {
		return "", err
	}
	if !strings.Contains(back, "payment=success") {
		return "", fmt.Errorf("payment: back to %s", back)
	}
	return back, nil
}

func photo() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 60, 75))
	for x := 0; x < 60; x++ {
		for y := 0; y < 75; y++ {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 3), 140, 255})
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	return buf.Bytes()
}
