package app_test

import (
	"net/http"
	"testing"
	"time"

	"mizogov/internal/app/apptest"
	"mizogov/internal/db/dbtest"
)

// TestTwoNodesShareOnePostgres runs two app nodes on one PostgreSQL
// database: a session made on one works on the other, rate limits are
// shared, and each queued message is delivered once although both nodes
// run job workers.
func TestTwoNodesShareOnePostgres(t *testing.T) {
	url := dbtest.PostgresURL(t)
	clock := apptest.NewClock()
	a := apptest.Start(t, apptest.Options{DBURL: url, Clock: clock})
	b := apptest.Start(t, apptest.Options{DBURL: url, Clock: clock})
	// b's SMS channel records too; together they must hold exactly one code.
	phone := "+919862012345"
	ca, cb := a.Client(), b.Client()
	if r := ca.JSON(t, "POST", "/api/v1/auth/otp", map[string]string{"phone": phone}); r.Status != http.StatusAccepted {
		t.Fatalf("otp on a: %d %s", r.Status, r.Body)
	}
	// The resend limit set on node a holds on node b.
	if r := cb.JSON(t, "POST", "/api/v1/auth/otp", map[string]string{"phone": phone}); r.Status != http.StatusTooManyRequests {
		t.Fatalf("resend on b: %d, want 429", r.Status)
	}
	var code string
	deadline := time.Now().Add(10 * time.Second)
	for code == "" && time.Now().Before(deadline) {
		if m, ok := a.SMS.Last(phone); ok {
			code = m.Body[:6]
		} else if m, ok := b.SMS.Last(phone); ok {
			code = m.Body[:6]
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code == "" {
		t.Fatal("no code delivered")
	}
	// The code asked for on a is verified on b.
	r := cb.JSON(t, "POST", "/api/v1/auth/otp/verify", map[string]string{"phone": phone, "code": code})
	if r.Status != http.StatusOK {
		t.Fatalf("verify on b: %d %s", r.Status, r.Body)
	}
	ca.Token = r.JSON(t)["token"].(string)
	if r := ca.Get(t, "/api/v1/me"); r.Status != http.StatusOK {
		t.Fatalf("b's token on a: %d", r.Status)
	}
	time.Sleep(500 * time.Millisecond)
	if n := len(a.SMS.Sent()) + len(b.SMS.Sent()); n != 1 {
		t.Fatalf("the code was sent %d times", n)
	}
	// Signing out on a ends the session on b too.
	cb.Token = ca.Token
	if r := ca.JSON(t, "POST", "/api/v1/auth/logout", nil); r.Status != http.StatusNoContent {
		t.Fatalf("logout on a: %d", r.Status)
	}
	if r := cb.Get(t, "/api/v1/me"); r.Status != http.StatusUnauthorized {
		t.Fatalf("session alive on b after logout on a: %d", r.Status)
	}
}
