package payments_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"mizogov/internal/app/apptest"
	"mizogov/internal/auth"
	"mizogov/internal/db"
	"mizogov/internal/payments"
)

func TestBrowserPaymentThroughTestGateway(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		ctx := context.Background()
		payer := e.Citizen(t, "+919862000011")
		me := payer.Get(t, "/api/v1/me").JSON(t)
		var demand int64
		if err := e.App.DB.Tx(ctx, func(tx *db.Tx) error {
			var err error
			demand, err = e.App.Payments.Raise(ctx, tx, payments.NewDemand{Service: "other", ConsumerCode: "X-1", Purpose: "fee",
				PayerID: int64(me["id"].(float64)), PayerName: "Zoremi", Description: "Test fee", Lines: []payments.Line{{Head: "FEE", AmountPaise: 15000}}})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		path := "/api/v1/payments/demands/" + itoa(demand)
		if r := payer.Get(t, path); r.Status != 200 || !strings.Contains(r.Body, `"status":"open"`) {
			t.Fatalf("demand: %d %s", r.Status, r.Body)
		}
		stranger := e.Citizen(t, "+919862000012")
		if r := stranger.Get(t, path); r.Status != 404 {
			t.Fatalf("stranger reads demand: %d", r.Status)
		}
		if r := stranger.JSON(t, "POST", path+"/pay", map[string]string{"return_path": "/"}); r.Status != 404 {
			t.Fatalf("stranger pays: %d", r.Status)
		}
		r := payer.JSON(t, "POST", path+"/pay", map[string]string{"return_path": "/account"})
		if r.Status != 201 {
			t.Fatalf("pay: %d %s", r.Status, r.Body)
		}
		start := r.JSON(t)
		if start["test_gateway"] != true {
			t.Fatal("test gateway not flagged")
		}
		browser := e.Client()
		page := browser.Get(t, start["redirect_url"].(string))
		if page.Status != 200 || !strings.Contains(page.Body, "TEST GATEWAY") || !strings.Contains(page.Body, "no money moves") || !strings.Contains(page.Body, "₹150") {
			t.Fatalf("gateway page: %d", page.Status)
		}
		if r := browser.Post(t, start["redirect_url"].(string), url.Values{"outcome": {"maybe"}}); r.Status != 400 {
			t.Fatalf("bad outcome: %d", r.Status)
		}
		done := browser.Post(t, start["redirect_url"].(string), url.Values{"outcome": {"paid"}})
		if done.Status != http.StatusSeeOther {
			t.Fatalf("complete: %d %s", done.Status, done.Body)
		}
		cb := done.Header.Get("Location")
		if again := browser.Post(t, start["redirect_url"].(string), url.Values{"outcome": {"paid"}}); again.Status != 409 {
			t.Fatalf("complete twice: %d", again.Status)
		}
		back := browser.Get(t, cb)
		if back.Status != http.StatusSeeOther || !strings.HasPrefix(back.Header.Get("Location"), "/account?payment=success&receipt=MZ-RCP-") {
			t.Fatalf("callback: %d %s", back.Status, back.Header.Get("Location"))
		}
		receipt := strings.SplitN(back.Header.Get("Location"), "receipt=", 2)[1]
		// The same callback URL again is a replay: 409, nothing changed.
		if r := browser.Get(t, cb); r.Status != http.StatusConflict || !strings.Contains(r.Body, "already received") {
			t.Fatalf("replay: %d", r.Status)
		}
		// Tampered amount in the URL: 400.
		if r := browser.Get(t, strings.Replace(cb, "amount=15000", "amount=1", 1)); r.Status != 400 {
			t.Fatalf("tampered: %d", r.Status)
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM pay_receipts`); n != 1 {
			t.Fatalf("receipts: %d", n)
		}
		// The receipt: the payer and payments staff see it, nobody else.
		rp := payer.Get(t, "/pay/receipts/"+receipt)
		if rp.Status != 200 || !strings.Contains(rp.Body, "TEST GATEWAY") || !strings.Contains(rp.Body, receipt) {
			t.Fatalf("receipt page: %d", rp.Status)
		}
		if r := stranger.Get(t, "/pay/receipts/"+receipt); r.Status != 404 {
			t.Fatalf("stranger receipt: %d", r.Status)
		}
		auditor := e.Staff(t, e.Officer(t, "aud1", auth.RoleAuditor, 0, 0))
		if r := auditor.Get(t, "/api/v1/payments/receipts/"+receipt); r.Status != 200 {
			t.Fatalf("auditor receipt: %d", r.Status)
		}
		// The webhook form of the callback refuses bad signatures with JSON.
		hook := e.Client().Do(t, "POST", "/api/v1/payments/callback/test", strings.NewReader("cbid=1&order=x&status=success&amount=1&ts=1&sig=00"), "application/x-www-form-urlencoded")
		if hook.Status != 400 || !strings.Contains(hook.Body, `"bad_signature"`) {
			t.Fatalf("webhook: %d %s", hook.Status, hook.Body)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
