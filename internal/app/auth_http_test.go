package app_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"mizogov/internal/app/apptest"
	"mizogov/internal/auth"
)

func TestCitizenWebSignIn(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		c := e.Client()
		if r := c.Get(t, "/account"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/signin?next=") {
			t.Fatalf("anonymous /account: %d %s", r.Status, r.Header.Get("Location"))
		}
		var page *apptest.Response
		code := e.OTP(t, "+919862012345", func() {
			page = c.Post(t, "/signin/otp", url.Values{"contact": {"098620 12345"}, "next": {"/account"}})
		})
		if page.Status != http.StatusOK || !strings.Contains(page.Body, "••••••2345") {
			t.Fatalf("code page: %d\n%s", page.Status, page.Body)
		}
		r := c.Post(t, "/signin/verify", url.Values{"contact": {"+919862012345"}, "code": {code}, "next": {"/account"}})
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/account" {
			t.Fatalf("verify: %d %s", r.Status, r.Body)
		}
		cookie := r.Header.Get("Set-Cookie")
		for _, want := range []string{"mzsession=", "HttpOnly", "SameSite=Lax", "Path=/"} {
			if !strings.Contains(cookie, want) {
				t.Errorf("cookie %q lacks %s", cookie, want)
			}
		}
		if strings.Contains(cookie, "Secure") {
			t.Error("Secure cookie on plain HTTP")
		}
		acct := c.Get(t, "/account")
		if acct.Status != http.StatusOK || !strings.Contains(acct.Body, "919862012345") {
			t.Fatalf("account: %d", acct.Status)
		}
		// An open redirect is refused.
		code = e.OTP(t, "+919862012345", func() {
			e.Clock.Advance(31 * time.Second)
			c.Post(t, "/signin/otp", url.Values{"contact": {"9862012345"}})
		})
		r = c.Post(t, "/signin/verify", url.Values{"contact": {"+919862012345"}, "code": {code}, "next": {"//evil.example/x"}})
		if r.Header.Get("Location") != "/account" {
			t.Fatalf("redirected to %q", r.Header.Get("Location"))
		}
		if r := c.Post(t, "/signout", nil); r.Status != http.StatusSeeOther {
			t.Fatalf("signout %d", r.Status)
		}
		if r := c.Get(t, "/account"); r.Status != http.StatusSeeOther {
			t.Fatal("still signed in after sign-out")
		}
	})
}

func TestSecureCookieBehindTLS(t *testing.T) {
	e := apptest.Start(t, apptest.Options{Secure: true})
	c := e.Client()
	code := e.OTP(t, "+919862012345", func() { c.Post(t, "/signin/otp", url.Values{"contact": {"9862012345"}}) })
	r := c.Post(t, "/signin/verify", url.Values{"contact": {"+919862012345"}, "code": {code}})
	ck := r.Header.Get("Set-Cookie")
	if !strings.HasPrefix(ck, "__Host-mzsession=") || !strings.Contains(ck, "Secure") {
		t.Fatalf("cookie %q", ck)
	}
	if r.Header.Get("Strict-Transport-Security") == "" {
		t.Fatal("no HSTS behind TLS")
	}
}

func TestCitizenAPISignInAndLogout(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		c := e.Citizen(t, "+447700900123")
		me := c.Get(t, "/api/v1/me")
		if me.Status != http.StatusOK {
			t.Fatalf("me %d %s", me.Status, me.Body)
		}
		m := me.JSON(t)
		if m["phone"] != "+447700900123" || m["staff"] != false {
			t.Fatalf("me = %v", m)
		}
		// Email sign-in makes a separate person.
		mc := e.Client()
		code := e.OTP(t, "mari@example.org", func() {
			if r := mc.JSON(t, "POST", "/api/v1/auth/otp", map[string]string{"email": "Mari@Example.org"}); r.Status != 202 {
				t.Fatalf("email otp %d %s", r.Status, r.Body)
			}
		})
		r := mc.JSON(t, "POST", "/api/v1/auth/otp/verify", map[string]string{"email": "mari@example.org", "code": code})
		if r.Status != 200 {
			t.Fatalf("email verify %d %s", r.Status, r.Body)
		}
		if r := c.JSON(t, "POST", "/api/v1/auth/logout", nil); r.Status != http.StatusNoContent {
			t.Fatalf("logout %d %s", r.Status, r.Body)
		}
		r = c.Get(t, "/api/v1/me")
		if r.Status != http.StatusUnauthorized || r.JSON(t)["error"].(map[string]any)["code"] != "invalid_token" {
			t.Fatalf("revoked token: %d %s", r.Status, r.Body)
		}
	})
}

func TestOTPBadInputs(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		c := e.Client()
		for _, body := range []string{
			`{"phone":"12345"}`, `{"phone":"+91 12345 67890"}`, `{"phone":"98620-1234a"}`, `{"phone":"+0123456789"}`,
			`{"email":"not-an-email"}`, `{"email":"a@b"}`, `{"email":"\"x\"@example.org"}`, `{"email":"a b@example.org"}`,
			`{"phone":"'; DROP TABLE people;--"}`, `{"email":"<script>@x.org"}`, `{}`,
		} {
			r := c.JSON(t, "POST", "/api/v1/auth/otp", body)
			if r.Status != http.StatusUnprocessableEntity {
				t.Errorf("%s: %d %s", body, r.Status, r.Body)
			}
		}
		if r := c.JSON(t, "POST", "/api/v1/auth/otp", `{"phone":"9862012345","email":"a@example.org"}`); r.Status != 400 {
			t.Errorf("both: %d", r.Status)
		}
		if r := c.JSON(t, "POST", "/api/v1/auth/otp", `{"phone":"9862012345","admin":true}`); r.Status != 400 || !strings.Contains(r.Body, "unknown_field") {
			t.Errorf("unknown field: %d %s", r.Status, r.Body)
		}
		if r := c.JSON(t, "POST", "/api/v1/auth/otp", `{"phone":`); r.Status != 400 {
			t.Errorf("malformed: %d", r.Status)
		}
		if r := c.JSON(t, "POST", "/api/v1/auth/otp", `{"phone":"9862012345"}{"phone":"9862012346"}`); r.Status != 400 {
			t.Errorf("two objects: %d", r.Status)
		}
		if r := c.Do(t, "POST", "/api/v1/auth/otp", strings.NewReader(`phone=9862012345`), "application/x-www-form-urlencoded"); r.Status != http.StatusUnsupportedMediaType {
			t.Errorf("form to JSON API: %d", r.Status)
		}
		big := `{"phone":"` + strings.Repeat("9", 100000) + `"}`
		if r := c.JSON(t, "POST", "/api/v1/auth/otp", big); r.Status != http.StatusRequestEntityTooLarge {
			t.Errorf("oversized: %d %s", r.Status, r.Body[:min(200, len(r.Body))])
		}
		// Mizo messages for Mizo speakers.
		c.Lang = "lus"
		r := c.JSON(t, "POST", "/api/v1/auth/otp", `{"phone":"12345"}`)
		if !strings.Contains(r.Body, "number chauh hmangin") {
			t.Errorf("not translated: %s", r.Body)
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM otps`) + e.Count(t, `SELECT COUNT(*) FROM people`) + e.Count(t, `SELECT COUNT(*) FROM outbox`); n != 0 {
			t.Fatalf("bad input wrote %d rows", n)
		}
	})
}

func TestOTPCodeRules(t *testing.T) {
	// Start at the top of an hour: the hourly limit counts in clock hours.
	hour := apptest.At(time.Now().Truncate(time.Hour).Add(time.Hour))
	apptest.Each(t, apptest.Options{Clock: hour}, func(t *testing.T, e *apptest.Env) {
		c := e.Client()
		phone := "+919862012345"
		send := func() {
			if r := c.JSON(t, "POST", "/api/v1/auth/otp", map[string]string{"phone": phone}); r.Status != 202 {
				t.Fatalf("otp %d %s", r.Status, r.Body)
			}
		}
		verify := func(code string) *apptest.Response {
			return c.JSON(t, "POST", "/api/v1/auth/otp/verify", map[string]string{"phone": phone, "code": code})
		}
		code := e.OTP(t, phone, send)
		// The code is kept only as a keyed hash.
		if n := e.Count(t, `SELECT COUNT(*) FROM otps WHERE code_hash LIKE '%'||$1||'%'`, code); n != 0 {
			t.Fatal("code stored in the clear")
		}
		// Resending at once is throttled.
		r := c.JSON(t, "POST", "/api/v1/auth/otp", map[string]string{"phone": phone})
		if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
			t.Fatalf("resend: %d %v", r.Status, r.Header)
		}
		// Expired after 5 minutes.
		e.Clock.Advance(5*time.Minute + time.Second)
		if r := verify(code); r.Status != 400 || !strings.Contains(r.Body, "expired") {
			t.Fatalf("expired: %d %s", r.Status, r.Body)
		}
		// Wrong codes count down; the fifth kills the code.
		code = e.OTP(t, phone, send)
		wrong := "000000"
		if wrong == code {
			wrong = "111111"
		}
		for i := 4; i >= 1; i-- {
			r := verify(wrong)
			if r.Status != 422 || !strings.Contains(r.Body, "You have "+string(rune('0'+i))+" tries left") {
				t.Fatalf("try %d: %d %s", 5-i, r.Status, r.Body)
			}
		}
		if r := verify(wrong); r.Status != 400 {
			t.Fatalf("fifth wrong: %d %s", r.Status, r.Body)
		}
		if r := verify(code); r.Status == 200 {
			t.Fatal("right code accepted after five wrong tries")
		}
		// Single use.
		e.Clock.Advance(31 * time.Second)
		code = e.OTP(t, phone, send)
		if r := verify(code); r.Status != 200 {
			t.Fatalf("good code: %d %s", r.Status, r.Body)
		}
		if r := verify(code); r.Status != 400 {
			t.Fatalf("replayed code: %d %s", r.Status, r.Body)
		}
		if r := verify("12ab56"); r.Status != 422 {
			t.Fatalf("malformed code: %d", r.Status)
		}
		// At most 5 codes an hour per number.
		for i := 0; i < 2; i++ {
			e.Clock.Advance(31 * time.Second)
			send()
		}
		e.Clock.Advance(31 * time.Second)
		if r := c.JSON(t, "POST", "/api/v1/auth/otp", map[string]string{"phone": phone}); r.Status != 429 {
			t.Fatalf("sixth code in an hour: %d", r.Status)
		}
	})
}

func TestStaffSignIn(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		cred := e.Officer(t, "officer.one", auth.RoleOfficer, 0, 1)
		c := e.Staff(t, cred)
		m := c.Get(t, "/api/v1/me").JSON(t)
		if m["staff"] != true || m["username"] != "officer.one" {
			t.Fatalf("me %v", m)
		}
		login := func(pw, code string) *apptest.Response {
			return e.Client().JSON(t, "POST", "/api/v1/auth/login", map[string]string{"username": "Officer.One", "password": pw, "totp": code})
		}
		// The TOTP step just used cannot be used again.
		if r := login(cred.Password, e.TOTP(t, cred.TOTPSecret)); r.Status != 400 {
			t.Fatalf("replayed TOTP: %d %s", r.Status, r.Body)
		}
		// TOTP is required outside the demo.
		e.Clock.Advance(time.Hour)
		if r := login(cred.Password, ""); r.Status != 422 {
			t.Fatalf("no TOTP: %d %s", r.Status, r.Body)
		}
		// Unknown user and wrong password say the same thing.
		a := e.Client().JSON(t, "POST", "/api/v1/auth/login", map[string]string{"username": "nobody", "password": "x", "totp": "123456"})
		b := login("wrong-password", e.TOTP(t, cred.TOTPSecret))
		if a.Status != 400 || b.Status != 400 || a.JSON(t)["error"].(map[string]any)["message"] != b.JSON(t)["error"].(map[string]any)["message"] {
			t.Fatalf("unknown %d %s / wrong %d %s", a.Status, a.Body, b.Status, b.Body)
		}
		// Failures (the replayed code and the wrong password were two) slow
		// down, then lock.
		if r := login(cred.Password, e.TOTP(t, cred.TOTPSecret)); r.Status != 429 || r.Header.Get("Retry-After") != "5" {
			t.Fatalf("no pause after 2 failures: %d %s", r.Status, r.Body)
		}
		for _, pause := range []time.Duration{6, 11, 21} {
			e.Clock.Advance(pause * time.Second)
			if r := login("wrong-password", "000000"); r.Status != 400 {
				t.Fatalf("failure after %ds pause: %d %s", pause, r.Status, r.Body)
			}
		}
		e.Clock.Advance(time.Minute)
		r := login(cred.Password, e.TOTP(t, cred.TOTPSecret))
		if r.Status != 429 || !strings.Contains(r.Body, "account_locked") {
			t.Fatalf("not locked after 5 failures: %d %s", r.Status, r.Body)
		}
		e.Clock.Advance(16 * time.Minute)
		if r := login(cred.Password, e.TOTP(t, cred.TOTPSecret)); r.Status != 200 {
			t.Fatalf("after the lock: %d %s", r.Status, r.Body)
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM audit_log WHERE action = 'auth.locked'`); n != 1 {
			t.Fatalf("lock audited %d times", n)
		}
	})
}

func TestDemoMakesTOTPOptional(t *testing.T) {
	e := apptest.Start(t, apptest.Options{Demo: true})
	c := e.Client()
	r := c.Post(t, "/staff/signin", url.Values{"username": {"admin"}, "password": {"mizoram-demo-2026"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("demo sign-in: %d %s", r.Status, r.Body)
	}
	home := c.Get(t, "/staff")
	if !strings.Contains(home.Body, `href="/admin"`) || !strings.Contains(home.Body, "DEMO") {
		t.Fatalf("staff home:\n%s", home.Body)
	}
}

func TestSessionsExpireAndEndEverywhere(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		cred := e.Officer(t, "officer.two", auth.RoleOfficer, 0, 0)
		a := e.StaffBrowser(t, cred)
		b := e.StaffBrowser(t, cred)
		api := e.Staff(t, cred)
		// Idle sessions end after 30 minutes.
		e.Clock.Advance(20 * time.Minute)
		if r := a.Get(t, "/account"); r.Status != 200 {
			t.Fatalf("active session: %d", r.Status)
		}
		e.Clock.Advance(20 * time.Minute)
		if r := a.Get(t, "/account"); r.Status != 200 {
			t.Fatal("a session used 20 minutes ago timed out")
		}
		if r := b.Get(t, "/account"); r.Status != http.StatusSeeOther {
			t.Fatalf("idle session still valid: %d", r.Status)
		}
		if r := api.Get(t, "/api/v1/me"); r.Status != 401 {
			t.Fatalf("idle staff token still valid: %d", r.Status)
		}
		// Sign out everywhere.
		c := e.StaffBrowser(t, cred)
		if r := c.Post(t, "/account/signout-everywhere", nil); r.Status != http.StatusSeeOther {
			t.Fatalf("signout everywhere: %d", r.Status)
		}
		if r := a.Get(t, "/account"); r.Status != http.StatusSeeOther {
			t.Fatal("other session survived sign-out everywhere")
		}
		// Absolute expiry: 12 hours even when active.
		d := e.StaffBrowser(t, cred)
		for range 25 {
			e.Clock.Advance(29 * time.Minute)
			d.Get(t, "/account")
		}
		if r := d.Get(t, "/account"); r.Status != http.StatusSeeOther {
			t.Fatal("session outlived its absolute lifetime")
		}
	})
}

func TestTokensOfOthersAndCrossOrigin(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		citizen := e.Citizen(t, "+919862012345")
		if r := citizen.Get(t, "/admin"); r.Status != http.StatusForbidden {
			t.Fatalf("citizen on /admin: %d", r.Status)
		}
		bogus := e.Client()
		bogus.Token = "not-a-token"
		if r := bogus.Get(t, "/api/v1/me"); r.Status != 401 || r.Header.Get("WWW-Authenticate") == "" {
			t.Fatalf("bogus token: %d", r.Status)
		}
		// A forged cross-site form post is refused and changes nothing.
		browser := e.Client()
		browser.Header.Set("Sec-Fetch-Site", "cross-site")
		browser.Header.Set("Origin", "https://evil.example")
		if r := browser.Post(t, "/signin/otp", url.Values{"contact": {"9862099999"}}); r.Status != http.StatusForbidden || !strings.Contains(r.Body, "another website") {
			t.Fatalf("cross-origin post: %d %s", r.Status, r.Body)
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM otps WHERE target = '+919862099999'`); n != 0 {
			t.Fatal("cross-origin post wrote a code")
		}
		// The same post from our own pages works.
		browser.Header.Set("Sec-Fetch-Site", "same-origin")
		browser.Header.Set("Origin", e.URL)
		if r := browser.Post(t, "/signin/otp", url.Values{"contact": {"9862099999"}}); r.Status != 200 {
			t.Fatalf("same-origin post: %d", r.Status)
		}
	})
}

func TestMetacharactersAreStoredAndEscaped(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		c := e.Citizen(t, "+919862012345")
		evil := `<script>alert(1)</script>' OR 1=1; DROP TABLE people;--`
		r := c.JSON(t, "PATCH", "/api/v1/me", map[string]string{"name": evil, "lang": "lus"})
		if r.Status != 200 || r.JSON(t)["name"] != evil {
			t.Fatalf("patch: %d %s", r.Status, r.Body)
		}
		if r := c.JSON(t, "PATCH", "/api/v1/me", map[string]string{"name": "x", "lang": "fr"}); r.Status != 422 {
			t.Fatalf("bad lang: %d", r.Status)
		}
		if e.Count(t, `SELECT COUNT(*) FROM people`) != 1 {
			t.Fatal("people table damaged")
		}
		// Sign in by cookie to see the page.
		b := e.Client()
		code := e.OTP(t, "+919862012345", func() {
			e.Clock.Advance(31 * time.Second)
			b.Post(t, "/signin/otp", url.Values{"contact": {"9862012345"}})
		})
		b.Post(t, "/signin/verify", url.Values{"contact": {"+919862012345"}, "code": {code}})
		page := b.Get(t, "/account")
		if strings.Contains(page.Body, "<script>alert") || !strings.Contains(page.Body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Fatal("name not escaped on the page")
		}
		if !strings.Contains(page.Body, `lang="lus"`) {
			t.Fatal("page not in the person's language")
		}
	})
}

// TestIdleRefreshIsWrittenInABatch: a request more than a minute after the
// last one refreshes the session's idle clock at once for this node, and in
// the database within a few seconds.
func TestIdleRefreshIsWrittenInABatch(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		c := e.Citizen(t, "+919862077777")
		e.Clock.Advance(10 * time.Minute)
		if r := c.Get(t, "/api/v1/me"); r.Status != 200 {
			t.Fatalf("me: %d", r.Status)
		}
		want := e.Clock.Now()
		deadline := time.Now().Add(10 * time.Second)
		for {
			var seen time.Time
			if err := e.App.DB.R().QueryRow(`SELECT last_seen_at FROM sessions ORDER BY last_seen_at DESC LIMIT 1`).Scan(&seen); err == nil && !seen.Before(want.Add(-time.Second)) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("last_seen_at not refreshed (want %v)", want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// TestIdleRefreshUnderLoad: many sessions refreshed at once, on every
// request, while batches are written (run with -race).
func TestIdleRefreshUnderLoad(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	var clients []*apptest.Client
	for i := range 4 {
		clients = append(clients, e.Citizen(t, fmt.Sprintf("+91986207780%d", i)))
	}
	e.Clock.Advance(5 * time.Minute)
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 40; j++ {
				if r := c.Get(t, "/api/v1/me"); r.Status != 200 {
					t.Errorf("me: %d", r.Status)
					return
				}
				if j%10 == 9 {
					e.Clock.Advance(2 * time.Minute)
					time.Sleep(700 * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
}
