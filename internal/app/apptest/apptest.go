// Package apptest starts a whole mizogov (database, jobs, HTTP server) for
// tests, on SQLite and, when MIZOGOV_TEST_POSTGRES is set, on PostgreSQL,
// with a clock the test controls and in-memory SMS and email channels.
package apptest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"mizogov/internal/app"
	"mizogov/internal/auth"
	"mizogov/internal/config"
	"mizogov/internal/db/dbtest"
	"mizogov/internal/notify"
)

// Clock is a settable time source.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts at the current second.
func NewClock() *Clock { return &Clock{t: time.Now().UTC().Truncate(time.Second)} }

// At starts a clock at t.
func At(t time.Time) *Clock { return &Clock{t: t.UTC()} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// Env is a running platform.
type Env struct {
	App   *app.App
	URL   string
	SMS   *notify.Memory
	Email *notify.Memory
	Clock *Clock
}

// Options choose the database and mode.
type Options struct {
	Demo     bool
	Postgres bool
	DBURL    string // an existing PostgreSQL URL (to run several nodes on one database)
	Clock    *Clock // share a clock between nodes
	Secure   bool   // pretend to be behind TLS (Secure cookies, HSTS)
}

// Start runs a platform for the test and stops it when the test ends.
func Start(t testing.TB, o Options) *Env {
	t.Helper()
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.Demo = o.Demo
	if o.Secure {
		cfg.BaseURL = "https://mizogov.test"
	}
	if o.DBURL != "" {
		cfg.DB = o.DBURL
	} else if o.Postgres {
		cfg.DB = dbtest.PostgresURL(t)
	}
	clock := o.Clock
	if clock == nil {
		clock = NewClock()
	}
	e := &Env{SMS: &notify.Memory{}, Email: &notify.Memory{}, Clock: clock}
	ctx := context.Background()
	a, err := app.Open(ctx, cfg, app.Options{Migrate: true, SMS: e.SMS, Email: e.Email, Now: clock.Now, JobPoll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	e.App = a
	if o.Demo {
		if err := a.SeedDemo(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Jobs.Start(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	e.URL = srv.URL
	t.Cleanup(func() {
		srv.Close()
		stop, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		a.Jobs.Stop(stop)
		a.Close()
	})
	return e
}

// Each runs fn on SQLite and, when configured, on PostgreSQL. A clock in o
// is copied, so that each database starts at the same time.
func Each(t *testing.T, o Options, fn func(t *testing.T, e *Env)) {
	start := func(t *testing.T, pg bool) *Env {
		o := o
		o.Postgres = pg
		if o.Clock != nil {
			o.Clock = At(o.Clock.Now())
		}
		return Start(t, o)
	}
	t.Run("sqlite", func(t *testing.T) { fn(t, start(t, false)) })
	if os.Getenv(dbtest.EnvPostgres) != "" {
		t.Run("postgres", func(t *testing.T) { fn(t, start(t, true)) })
	}
}

// Client is a browser-like or API client with its own cookies.
type Client struct {
	e     *Env
	HTTP  *http.Client
	Token string // sent as a bearer token when set
	Lang  string // sent as Accept-Language when set
	// Header is added to every request.
	Header http.Header
}

// Client returns a client that keeps cookies and does not follow redirects.
func (e *Env) Client() *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{e: e, Header: http.Header{}, HTTP: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Response is a finished response with its body read.
type Response struct {
	Status int
	Header http.Header
	Body   string
}

// JSON decodes the body into a map.
func (r *Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
		t.Fatalf("response is not a JSON object: %v\n%s", err, r.Body)
	}
	return m
}

// Do sends a request.
func (c *Client) Do(t testing.TB, method, path string, body io.Reader, contentType string) *Response {
	t.Helper()
	req, err := http.NewRequest(method, c.e.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if c.Lang != "" {
		req.Header.Set("Accept-Language", c.Lang)
	}
	for k, v := range c.Header {
		req.Header[k] = v
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

// Get fetches a page.
func (c *Client) Get(t testing.TB, path string) *Response { return c.Do(t, "GET", path, nil, "") }

// Post submits a form.
func (c *Client) Post(t testing.TB, path string, form url.Values) *Response {
	return c.Do(t, "POST", path, strings.NewReader(form.Encode()), "application/x-www-form-urlencoded")
}

// JSON sends v as JSON (a string is sent as it is).
func (c *Client) JSON(t testing.TB, method, path string, v any) *Response {
	t.Helper()
	var body string
	if s, ok := v.(string); ok {
		body = s
	} else if v != nil {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		body = string(b)
	}
	return c.Do(t, method, path, strings.NewReader(body), "application/json")
}

var sixDigits = regexp.MustCompile(`\b\d{6}\b`)

// OTP runs send (which asks for a code for to) and returns the code that arrives.
func (e *Env) OTP(t testing.TB, to string, send func()) string {
	t.Helper()
	before := 0
	for _, m := range append(e.SMS.Sent(), e.Email.Sent()...) {
		if m.To == to && m.Template == "auth.otp" {
			before++
		}
	}
	send()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var got []notify.Rendered
		for _, m := range append(e.SMS.Sent(), e.Email.Sent()...) {
			if m.To == to && m.Template == "auth.otp" {
				got = append(got, m)
			}
		}
		if len(got) > before {
			code := sixDigits.FindString(got[len(got)-1].Body)
			if code == "" {
				t.Fatalf("no code in %q", got[len(got)-1].Body)
			}
			return code
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no message reached %s", to)
	return ""
}

// Citizen signs a new API client in with phone (E.164) and returns it.
func (e *Env) Citizen(t testing.TB, phone string) *Client {
	t.Helper()
	c := e.Client()
	code := e.OTP(t, phone, func() {
		if r := c.JSON(t, "POST", "/api/v1/auth/otp", map[string]string{"phone": phone}); r.Status != http.StatusAccepted {
			t.Fatalf("otp: %d %s", r.Status, r.Body)
		}
	})
	r := c.JSON(t, "POST", "/api/v1/auth/otp/verify", map[string]string{"phone": phone, "code": code})
	if r.Status != http.StatusOK {
		t.Fatalf("verify: %d %s", r.Status, r.Body)
	}
	c.Token = r.JSON(t)["token"].(string)
	return c
}

// Officer creates a staff account with one grant.
func (e *Env) Officer(t testing.TB, username, role string, dept, district int64) auth.Credentials {
	t.Helper()
	cred, err := e.App.Auth.CreateStaff(context.Background(), nil, auth.NewStaff{Username: username, Name: "Officer " + username,
		Role: role, DepartmentID: dept, DistrictID: district})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

// TOTP is the current authenticator code for a secret.
func (e *Env) TOTP(t testing.TB, secret string) string {
	t.Helper()
	code, err := auth.TOTP(secret, auth.TOTPStep(e.Clock.Now()))
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// Staff signs an officer in through the API and returns the client. It moves
// the clock to the next TOTP step first, since a step may be used only once.
func (e *Env) Staff(t testing.TB, cred auth.Credentials) *Client {
	t.Helper()
	e.Clock.Advance(30 * time.Second)
	c := e.Client()
	r := c.JSON(t, "POST", "/api/v1/auth/login", map[string]string{"username": cred.Username, "password": cred.Password, "totp": e.TOTP(t, cred.TOTPSecret)})
	if r.Status != http.StatusOK {
		t.Fatalf("login %s: %d %s", cred.Username, r.Status, r.Body)
	}
	c.Token = r.JSON(t)["token"].(string)
	return c
}

// StaffBrowser signs an officer in through the web form and returns a
// client holding the session cookie.
func (e *Env) StaffBrowser(t testing.TB, cred auth.Credentials) *Client {
	t.Helper()
	e.Clock.Advance(30 * time.Second)
	c := e.Client()
	r := c.Post(t, "/staff/signin", url.Values{"username": {cred.Username}, "password": {cred.Password}, "totp": {e.TOTP(t, cred.TOTPSecret)}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("staff sign-in %s: %d %s", cred.Username, r.Status, r.Body)
	}
	return c
}

// Count runs a COUNT query.
func (e *Env) Count(t testing.TB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := e.App.DB.R().QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}
