package payments

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"mizogov/internal/audit"
	"mizogov/internal/db"
	"mizogov/internal/db/dbtest"
	"mizogov/internal/refno"
	"mizogov/internal/web"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type env struct {
	s     *Service
	g     *TestGateway
	clock *clock
	d     *db.DB
	payer int64
	paid  []string // consumer codes the service heard about
	fail  bool     // make the service's handler fail
}

func newEnv(t *testing.T, d *db.DB) *env {
	c := &clock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	g := &TestGateway{DB: d, Secret: []byte("test-secret-0123456789abcdef0123"), Now: c.Now}
	e := &env{g: g, clock: c, d: d}
	e.s = &Service{DB: d, Audit: &audit.Log{Now: c.Now}, Now: c.Now, Gateways: map[string]Gateway{"test": g}, Default: "test"}
	e.s.OnPaid("permits", func(ctx context.Context, tx *db.Tx, dm Demand, r Receipt) error {
		if e.fail {
			return errors.New("service refused")
		}
		e.paid = append(e.paid, dm.ConsumerCode)
		_, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2)`, "paid:"+dm.ConsumerCode, r.Number)
		return err
	})
	if err := d.W().QueryRowContext(context.Background(), `INSERT INTO people (name, phone, created_at) VALUES ('Payer', '+919862000099', $1) RETURNING id`,
		db.Time(c.Now())).Scan(&e.payer); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) raise(t *testing.T, code string, paise int64) int64 {
	t.Helper()
	var id int64
	err := e.d.Tx(context.Background(), func(tx *db.Tx) error {
		var err error
		id, err = e.s.Raise(context.Background(), tx, NewDemand{Service: "permits", ConsumerCode: code, Purpose: "fee", PayerID: e.payer,
			PayerName: "Payer", Description: "ILP fee " + code, Lines: []Line{{Head: "ILP_FEE", AmountPaise: paise}}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// pay starts a payment and lets the payer choose at the test gateway; it
// returns the signed callback values.
func (e *env) pay(t *testing.T, demand int64, succeed bool) (Started, url.Values) {
	t.Helper()
	st, err := e.s.Start(context.Background(), demand, e.payer, "/permits/1")
	if err != nil {
		t.Fatal(err)
	}
	if !st.Test || !strings.HasPrefix(st.RedirectURL, "/pay/test-gateway/") {
		t.Fatalf("started: %+v", st)
	}
	to, err := e.g.Complete(context.Background(), st.OrderID, succeed)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(to)
	if u.Path != "/pay/callback/test" {
		t.Fatalf("callback to %s", u.Path)
	}
	return st, u.Query()
}

// snapshot is everything a refused callback must leave as it was.
func (e *env) snapshot(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT COUNT(*) FROM pay_receipts`, `SELECT COUNT(*) FROM pay_callbacks`,
		`SELECT COUNT(*) FROM pay_payments WHERE status = 'success'`, `SELECT COUNT(*) FROM pay_payments WHERE status = 'failed'`,
		`SELECT COUNT(*) FROM pay_demands WHERE status = 'paid'`, `SELECT COUNT(*) FROM settings WHERE key LIKE 'paid:%'`,
	} {
		var n int
		if err := e.d.R().QueryRow(q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%d ", n)
	}
	return b.String()
}

func TestPayHappyPathAndReceipt(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := context.Background()
		id := e.raise(t, "APP-1", 15000)
		_, v := e.pay(t, id, true)
		res, err := e.s.HandleCallback(ctx, "test", v)
		if err != nil {
			t.Fatal(err)
		}
		if res.Payment.Status != Success || res.Receipt == nil || res.Receipt.AmountPaise != 15000 {
			t.Fatalf("settled: %+v", res)
		}
		if _, _, err := refno.Parse(res.Receipt.Number); err != nil || !strings.HasPrefix(res.Receipt.Number, "MZ-RCP-") {
			t.Fatalf("receipt number %q: %v", res.Receipt.Number, err)
		}
		if len(e.paid) != 1 || e.paid[0] != "APP-1" {
			t.Fatalf("service told: %v", e.paid)
		}
		dm, _ := e.s.Demand(ctx, d.R(), id)
		if dm.Status != "paid" || dm.PaidAt == nil || len(dm.Lines) != 1 {
			t.Fatalf("demand: %+v", dm)
		}
		if r, err := e.s.ReceiptFor(ctx, d.R(), id); err != nil || r.Number != res.Receipt.Number {
			t.Fatalf("receipt for: %+v %v", r, err)
		}
		if !strings.Contains(returnTo(res), "/permits/1?payment=success&receipt=MZ-RCP-") {
			t.Fatalf("return to %s", returnTo(res))
		}
		// A paid demand cannot be paid again or cancelled.
		if _, err := e.s.Start(ctx, id, e.payer, "/x"); web.AsError(err).Status != http.StatusConflict {
			t.Fatalf("start on paid: %v", err)
		}
		if err := d.Tx(ctx, func(tx *db.Tx) error { return e.s.Cancel(ctx, tx, id) }); web.AsError(err).Status != http.StatusConflict {
			t.Fatalf("cancel paid: %v", err)
		}
		// Audited.
		var n int
		d.R().QueryRow(`SELECT COUNT(*) FROM audit_log WHERE action IN ('payments.demand', 'payments.start', 'payments.paid')`).Scan(&n)
		if n != 3 {
			t.Fatalf("audit: %d", n)
		}
	})
}

func TestRefusedCallbacksChangeNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := context.Background()
		id := e.raise(t, "APP-2", 20000)
		st, good := e.pay(t, id, true)
		other := &TestGateway{DB: d, Secret: []byte("another-secret-entirely-0000000000"), Now: e.clock.Now}

		with := func(k, val string) url.Values {
			v := url.Values{}
			for kk, vv := range good {
				v[kk] = append([]string(nil), vv...)
			}
			v.Set(k, val)
			return v
		}
		resign := func(cb Callback) url.Values { return e.g.Sign(cb) }
		base := Callback{ID: "cb-x", OrderID: st.OrderID, Status: Success, AmountPaise: 20000, At: e.clock.Now()}
		cases := []struct {
			name   string
			v      url.Values
			status int
			code   string
		}{
			{"amount raised after signing", with("amount", "1"), 400, "bad_signature"},
			{"status changed after signing", with("status", "failed"), 400, "bad_signature"},
			{"signature altered", with("sig", strings.Repeat("0", 64)), 400, "bad_signature"},
			{"signature missing", with("sig", ""), 400, "bad_signature"},
			{"signature not hex", with("sig", "zz"), 400, "bad_signature"},
			{"signed with another key", other.Sign(base), 400, "bad_signature"},
			{"stale", resign(Callback{ID: "cb-old", OrderID: st.OrderID, Status: Success, AmountPaise: 20000, At: e.clock.Now().Add(-time.Hour)}), 400, "stale_callback"},
			{"from the future", resign(Callback{ID: "cb-fut", OrderID: st.OrderID, Status: Success, AmountPaise: 20000, At: e.clock.Now().Add(time.Hour)}), 400, "stale_callback"},
			{"unknown order", resign(Callback{ID: "cb-u", OrderID: "test_nope", Status: Success, AmountPaise: 20000, At: e.clock.Now()}), 400, "unknown_order"},
			{"wrong amount, signed", resign(Callback{ID: "cb-a", OrderID: st.OrderID, Status: Success, AmountPaise: 100, At: e.clock.Now()}), 400, "amount_mismatch"},
			{"bad status, signed", resign(Callback{ID: "cb-s", OrderID: st.OrderID, Status: "maybe", AmountPaise: 20000, At: e.clock.Now()}), 400, "callback_malformed"},
		}
		before := e.snapshot(t)
		for _, c := range cases {
			_, err := e.s.HandleCallback(ctx, "test", c.v)
			we := web.AsError(err)
			if we.Status != c.status || we.Code != c.code {
				t.Errorf("%s: got %d %s (%v), want %d %s", c.name, we.Status, we.Code, err, c.status, c.code)
			}
			if after := e.snapshot(t); after != before {
				t.Fatalf("%s changed something: %s → %s", c.name, before, after)
			}
		}
		if _, err := e.s.HandleCallback(ctx, "nope", good); web.AsError(err).Status != 404 {
			t.Fatalf("unknown gateway: %v", err)
		}

		// The genuine callback goes through once; its replay is refused.
		if _, err := e.s.HandleCallback(ctx, "test", good); err != nil {
			t.Fatal(err)
		}
		settled := e.snapshot(t)
		_, err := e.s.HandleCallback(ctx, "test", good)
		if we := web.AsError(err); we.Status != http.StatusConflict || we.Code != "callback_replayed" {
			t.Fatalf("replay: %v", err)
		}
		if e.snapshot(t) != settled || len(e.paid) != 1 {
			t.Fatal("a replay changed something")
		}
		// Signed refusals are audited.
		var n int
		d.R().QueryRow(`SELECT COUNT(*) FROM audit_log WHERE action = 'payments.callback_refused'`).Scan(&n)
		if n != 3 { // unknown order, wrong amount, replay
			t.Fatalf("refusals audited: %d", n)
		}
	})
}

func TestFailureAndServiceRollback(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := context.Background()
		id := e.raise(t, "APP-3", 15000)
		_, v := e.pay(t, id, false)
		res, err := e.s.HandleCallback(ctx, "test", v)
		if err != nil || res.Payment.Status != Failed || res.Receipt != nil {
			t.Fatalf("declined: %+v %v", res, err)
		}
		// The payer tries again; this time the service refuses to take the
		// payment (its handler fails): everything rolls back, and the same
		// callback can be delivered again once the service is fixed.
		_, v = e.pay(t, id, true)
		e.fail = true
		before := e.snapshot(t)
		if _, err := e.s.HandleCallback(ctx, "test", v); err == nil {
			t.Fatal("the service's failure was ignored")
		}
		if e.snapshot(t) != before {
			t.Fatal("a failed settlement left changes")
		}
		e.fail = false
		if res, err := e.s.HandleCallback(ctx, "test", v); err != nil || res.Payment.Status != Success {
			t.Fatalf("redelivery: %+v %v", res, err)
		}
	})
}

func TestPaidTwiceOnlyOneCounts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := context.Background()
		id := e.raise(t, "APP-4", 15000)
		// Two tabs: both payments succeed at the gateway; callbacks race.
		_, v1 := e.pay(t, id, true)
		_, v2 := e.pay(t, id, true)
		var wg sync.WaitGroup
		results := make([]Settled, 2)
		errs := make([]error, 2)
		for i, v := range []url.Values{v1, v2} {
			wg.Add(1)
			go func() { defer wg.Done(); results[i], errs[i] = e.s.HandleCallback(ctx, "test", v) }()
		}
		wg.Wait()
		ok := 0
		for i := range results {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if results[i].Payment.Status == Success {
				ok++
			}
		}
		var receipts, refunds int
		d.R().QueryRow(`SELECT COUNT(*) FROM pay_receipts`).Scan(&receipts)
		d.R().QueryRow(`SELECT COUNT(*) FROM pay_payments WHERE failure LIKE '%refund due%'`).Scan(&refunds)
		if ok != 1 || receipts != 1 || refunds != 1 || len(e.paid) != 1 {
			t.Fatalf("successes %d receipts %d refunds %d told %d", ok, receipts, refunds, len(e.paid))
		}
	})
}

func TestReconcile(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := context.Background()
		paid := e.raise(t, "APP-5", 15000)
		_, _ = e.pay(t, paid, true) // the payer closes the tab: no callback
		abandoned := e.raise(t, "APP-6", 15000)
		if _, err := e.s.Start(ctx, abandoned, e.payer, "/x"); err != nil { // never completed at the gateway
			t.Fatal(err)
		}
		if n, err := e.s.Reconcile(ctx); err != nil || n != 0 {
			t.Fatalf("too early: %d %v", n, err)
		}
		e.clock.Advance(ReconcileAfter + time.Second)
		if n, err := e.s.Reconcile(ctx); err != nil || n != 1 {
			t.Fatalf("reconcile: %d %v", n, err)
		}
		if dm, _ := e.s.Demand(ctx, d.R(), paid); dm.Status != "paid" || len(e.paid) != 1 {
			t.Fatalf("paid demand: %+v", dm)
		}
		e.clock.Advance(GiveUpAfter)
		if n, err := e.s.Reconcile(ctx); err != nil || n != 1 {
			t.Fatalf("give up: %d %v", n, err)
		}
		var failure string
		d.R().QueryRow(`SELECT failure FROM pay_payments p JOIN pay_demands d ON d.id = p.demand_id WHERE d.consumer_code = 'APP-6'`).Scan(&failure)
		if !strings.Contains(failure, "24 hours") {
			t.Fatalf("abandoned payment: %q", failure)
		}
	})
}

func TestStartRefusals(t *testing.T) {
	d := dbtest.SQLite(t)
	e := newEnv(t, d)
	ctx := context.Background()
	id := e.raise(t, "APP-7", 15000)
	for name, c := range map[string]struct {
		demand, payer int64
		ret           string
		status        int
	}{
		"someone else's demand": {id, e.payer + 1000, "/x", 404},
		"no such demand":        {id + 1000, e.payer, "/x", 404},
		"return off site":       {id, e.payer, "https://evil.example/", 400},
		"return protocol-rel":   {id, e.payer, "//evil.example/", 400},
	} {
		if _, err := e.s.Start(ctx, c.demand, c.payer, c.ret); web.AsError(err).Status != c.status {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := d.Tx(ctx, func(tx *db.Tx) error {
		_, err := e.s.Raise(ctx, tx, NewDemand{Service: "permits", ConsumerCode: "APP-7", Purpose: "fee", PayerID: e.payer, Lines: []Line{{"ILP_FEE", 1}}})
		return err
	}); web.AsError(err).Status != http.StatusConflict {
		t.Fatalf("raised twice: %v", err)
	}
	if err := d.Tx(ctx, func(tx *db.Tx) error {
		_, err := e.s.Raise(ctx, tx, NewDemand{Service: "permits", ConsumerCode: "APP-8", Purpose: "fee", Lines: []Line{{"ILP_FEE", -5}}})
		return err
	}); err == nil {
		t.Fatal("negative amount raised")
	}
}

func TestRupees(t *testing.T) {
	for paise, want := range map[int64]string{15000: "₹150", 2000000: "₹20,000", 12345678: "₹1,23,456.78", 5: "₹0.05", 100000000: "₹10,00,000"} {
		if got := Rupees(paise); got != want {
			t.Errorf("%d: %s, want %s", paise, got, want)
		}
	}
	if !regexp.MustCompile(`^TXN\d{6}[A-Z2-7]{16}$`).MatchString(newTxnID(time.Now())) {
		t.Fatal(newTxnID(time.Now()))
	}
}
