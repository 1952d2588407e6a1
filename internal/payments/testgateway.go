package payments

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"mizogov/internal/db"
	"mizogov/internal/web"
)

// TestGateway is the built-in gateway for demonstrations and tests. It keeps
// its own book of orders, shows a page marked TEST GATEWAY where the payer
// chooses the outcome, and signs its callbacks with HMAC-SHA-256 exactly as a
// real gateway would, so the whole path (signature, replay, amount, receipt)
// runs for real. No money moves.
type TestGateway struct {
	DB     *db.DB
	Secret []byte // HMAC key for callbacks
	Now    func() time.Time
}

// Name implements Gateway.
func (g *TestGateway) Name() string { return "test" }

// Test implements Gateway.
func (g *TestGateway) Test() bool { return true }

func (g *TestGateway) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

// CreateOrder implements Gateway.
func (g *TestGateway) CreateOrder(ctx context.Context, o Order) (OrderRef, error) {
	b := make([]byte, 16)
	rand.Read(b)
	id := "test_" + hex.EncodeToString(b)
	// Through the group-commit writer, like the payment rows around it.
	err := g.DB.Group().Do(ctx, func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO pay_test_orders (order_id, txn_id, amount_paise, description, status, callback_url, created_at)
			VALUES ($1, $2, $3, $4, 'created', $5, $6)`, id, o.TxnID, o.AmountPaise, o.Description, o.CallbackURL, db.Time(g.now()))
		return err
	})
	if err != nil {
		return OrderRef{}, err
	}
	return OrderRef{OrderID: id, RedirectURL: "/pay/test-gateway/" + id}, nil
}

// testOrder is a row of the test gateway's book.
type testOrder struct {
	ID, TxnID, Description, Status, CallbackURL string
	AmountPaise                                 int64
}

func (g *TestGateway) order(ctx context.Context, id string) (testOrder, error) {
	var o testOrder
	err := g.DB.R().QueryRowContext(ctx, `SELECT order_id, txn_id, description, status, callback_url, amount_paise FROM pay_test_orders WHERE order_id = $1`, id).
		Scan(&o.ID, &o.TxnID, &o.Description, &o.Status, &o.CallbackURL, &o.AmountPaise)
	if errors.Is(err, sql.ErrNoRows) {
		return o, db.ErrNotFound
	}
	return o, err
}

// Complete records the payer's choice (paid or failed) and returns the
// signed callback the payer's browser carries back.
func (g *TestGateway) Complete(ctx context.Context, orderID string, paid bool) (string, error) {
	o, err := g.order(ctx, orderID)
	if errors.Is(err, db.ErrNotFound) {
		return "", web.NotFound()
	}
	if err != nil {
		return "", err
	}
	status, outcome := "failed", Failed
	if paid {
		status, outcome = "paid", Success
	}
	err = g.DB.Group().Do(ctx, func(ctx context.Context, tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE pay_test_orders SET status = $2 WHERE order_id = $1 AND status = 'created'`, orderID, status)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return web.Conflict("payments.test_order_done")
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	b := make([]byte, 12)
	rand.Read(b)
	v := g.Sign(Callback{ID: hex.EncodeToString(b), OrderID: orderID, Status: outcome, AmountPaise: o.AmountPaise, At: g.now()})
	return o.CallbackURL + "?" + v.Encode(), nil
}

// Sign builds the signed parameters of a callback.
func (g *TestGateway) Sign(cb Callback) url.Values {
	v := url.Values{}
	v.Set("cbid", cb.ID)
	v.Set("order", cb.OrderID)
	v.Set("status", cb.Status)
	v.Set("amount", strconv.FormatInt(cb.AmountPaise, 10))
	v.Set("ts", strconv.FormatInt(cb.At.Unix(), 10))
	v.Set("sig", g.mac(v))
	return v
}

func (g *TestGateway) mac(v url.Values) string {
	m := hmac.New(sha256.New, g.Secret)
	for _, k := range []string{"cbid", "order", "status", "amount", "ts"} {
		m.Write([]byte(k + "=" + v.Get(k) + "\n"))
	}
	return hex.EncodeToString(m.Sum(nil))
}

// ParseCallback implements Gateway: the signature is checked first, in
// constant time, then the fields are read.
func (g *TestGateway) ParseCallback(v url.Values) (Callback, error) {
	cb := Callback{ID: v.Get("cbid"), OrderID: v.Get("order"), Status: v.Get("status")}
	sig, err := hex.DecodeString(v.Get("sig"))
	want, _ := hex.DecodeString(g.mac(v))
	if err != nil || !hmac.Equal(sig, want) {
		return cb, ErrBadSignature
	}
	amount, err1 := strconv.ParseInt(v.Get("amount"), 10, 64)
	ts, err2 := strconv.ParseInt(v.Get("ts"), 10, 64)
	if err1 != nil || err2 != nil || cb.ID == "" || cb.OrderID == "" || (cb.Status != Success && cb.Status != Failed) {
		return cb, web.NewError(http.StatusBadRequest, "callback_malformed", "payments.callback_malformed")
	}
	cb.AmountPaise, cb.At = amount, time.Unix(ts, 0)
	return cb, nil
}

// Status implements Gateway.
func (g *TestGateway) Status(ctx context.Context, orderID string) (Callback, error) {
	o, err := g.order(ctx, orderID)
	if err != nil {
		return Callback{}, err
	}
	st := Pending
	switch o.Status {
	case "paid":
		st = Success
	case "failed":
		st = Failed
	}
	return Callback{OrderID: o.ID, Status: st, AmountPaise: o.AmountPaise, At: g.now()}, nil
}
