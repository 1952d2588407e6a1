// Package payments collects fees for every service, the way DIGIT's billing
// and collection services do: a service raises a demand (what is owed, in
// integer paise, by tax head); the payer pays it through a Gateway; the
// gateway's signed callback settles the payment exactly once; a receipt with
// a reference number is issued; and the service that raised the demand is
// told in the same transaction (so a permit is issued exactly when its fee
// is paid). Pending payments whose callback never came are reconciled by a
// background job that asks the gateway.
//
// A real gateway plugs in by implementing Gateway. The built-in TestGateway
// is plainly labelled on every page it shows: no money moves.
package payments

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"mizogov/internal/audit"
	"mizogov/internal/db"
	"mizogov/internal/jobs"
	"mizogov/internal/web"
)

// Gateway is a payment gateway: it takes an order and sends the payer to
// pay, reports the outcome in a signed callback, and answers status queries.
type Gateway interface {
	// Name is the gateway's code in URLs and the database ("test", "sbiepay" …).
	Name() string
	// Test reports whether this is a test gateway (no money moves).
	Test() bool
	// CreateOrder registers a payment with the gateway and returns the
	// gateway's order id and the URL to send the payer to.
	CreateOrder(ctx context.Context, o Order) (OrderRef, error)
	// ParseCallback checks a callback's signature and reads it. A callback
	// whose signature does not verify returns ErrBadSignature.
	ParseCallback(v url.Values) (Callback, error)
	// Status asks the gateway about an order (for reconciliation).
	Status(ctx context.Context, orderID string) (Callback, error)
}

// Order is what a gateway is asked to collect.
type Order struct {
	TxnID       string // ours, unique
	AmountPaise int64
	Description string
	PayerName   string
	CallbackURL string // where the gateway reports the outcome (and returns the payer)
}

// OrderRef is the gateway's answer to CreateOrder.
type OrderRef struct {
	OrderID     string
	RedirectURL string
}

// Outcome of a payment at the gateway.
const (
	Success = "success"
	Failed  = "failed"
	Pending = "pending"
)

// Callback is a gateway's report on one order.
type Callback struct {
	ID          string // unique per callback (nonce): kept once, a replay is refused
	OrderID     string
	Status      string // Success, Failed or Pending
	AmountPaise int64
	At          time.Time // when the gateway signed it
}

// Errors of callbacks. Each is a 4xx and changes nothing.
var (
	ErrBadSignature = web.NewError(http.StatusBadRequest, "bad_signature", "payments.bad_signature")
	ErrStale        = web.NewError(http.StatusBadRequest, "stale_callback", "payments.stale_callback")
	ErrReplayed     = web.NewError(http.StatusConflict, "callback_replayed", "payments.callback_replayed")
	ErrUnknownOrder = web.NewError(http.StatusBadRequest, "unknown_order", "payments.unknown_order")
	ErrAmount       = web.NewError(http.StatusBadRequest, "amount_mismatch", "payments.amount_mismatch")
)

// CallbackWindow is how far a callback's timestamp may be from our clock.
const CallbackWindow = 10 * time.Minute

// Paid tells the service that raised a demand that it has been paid. It
// runs inside the transaction that settles the payment: an error rolls the
// settlement back.
type Paid func(ctx context.Context, tx *db.Tx, d Demand, r Receipt) error

// Service is the payments module.
type Service struct {
	DB       *db.DB
	Audit    *audit.Log
	Jobs     *jobs.Jobs
	Render   *web.Renderer
	Log      *slog.Logger
	Now      func() time.Time
	Gateways map[string]Gateway
	Default  string // the gateway new payments use

	handlers map[string]Paid
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// OnPaid registers what happens when a demand of service is paid. Call it
// at start-up.
func (s *Service) OnPaid(service string, fn Paid) {
	if s.handlers == nil {
		s.handlers = map[string]Paid{}
	}
	s.handlers[service] = fn
}

// Gateway returns the gateway new payments use.
func (s *Service) Gateway() Gateway { return s.Gateways[s.Default] }

// Demand is what someone owes a service.
type Demand struct {
	ID           int64      `json:"id"`
	Service      string     `json:"service"`
	ConsumerCode string     `json:"consumer_code" doc:"the service's own reference, e.g. an application number"`
	Purpose      string     `json:"purpose"`
	PayerID      int64      `json:"-"`
	PayerName    string     `json:"payer_name"`
	Description  string     `json:"description"`
	AmountPaise  int64      `json:"amount_paise"`
	Lines        []Line     `json:"lines"`
	Status       string     `json:"status" enum:"open,paid,cancelled"`
	CreatedAt    time.Time  `json:"created_at"`
	PaidAt       *time.Time `json:"paid_at,omitempty"`
}

// Line is one tax head of a demand.
type Line struct {
	Head        string `json:"head"`
	AmountPaise int64  `json:"amount_paise"`
}

// Payment is one attempt to pay a demand.
type Payment struct {
	ID          int64      `json:"-"`
	DemandID    int64      `json:"demand_id"`
	TxnID       string     `json:"txn_id"`
	Gateway     string     `json:"gateway"`
	OrderID     string     `json:"order_id,omitempty"`
	AmountPaise int64      `json:"amount_paise"`
	Status      string     `json:"status" enum:"pending,success,failed"`
	Failure     string     `json:"failure,omitempty"`
	ReturnURL   string     `json:"-"`
	CreatedAt   time.Time  `json:"created_at"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
}

// Receipt proves a payment.
type Receipt struct {
	Number      string    `json:"number"`
	PaymentID   int64     `json:"-"`
	DemandID    int64     `json:"demand_id"`
	AmountPaise int64     `json:"amount_paise"`
	IssuedAt    time.Time `json:"issued_at"`
	TxnID       string    `json:"txn_id"`
	Gateway     string    `json:"gateway"`
}

// NewDemand is a demand to raise.
type NewDemand struct {
	Service      string
	ConsumerCode string
	Purpose      string
	PayerID      int64
	PayerName    string
	Description  string
	Lines        []Line
}

// Raise records a demand inside tx (the transaction that makes the fee
// due) and returns its id. The same (service, consumer code, purpose) can
// be raised once.
func (s *Service) Raise(ctx context.Context, tx *db.Tx, d NewDemand) (int64, error) {
	if d.Service == "" || d.ConsumerCode == "" || d.Purpose == "" || len(d.Lines) == 0 {
		return 0, errors.New("payments: a demand needs a service, consumer code, purpose and lines")
	}
	var total int64
	for _, l := range d.Lines {
		if l.AmountPaise <= 0 || l.Head == "" {
			return 0, fmt.Errorf("payments: line %q: amount must be positive", l.Head)
		}
		total += l.AmountPaise
	}
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO pay_demands (service, consumer_code, purpose, payer_id, payer_name, description,
		amount_paise, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8) RETURNING id`,
		d.Service, d.ConsumerCode, d.Purpose, nullID(d.PayerID), d.PayerName, d.Description, total, db.Time(s.now())).Scan(&id)
	if db.IsUnique(err) {
		return 0, web.Conflict("payments.demand_exists")
	}
	if err != nil {
		return 0, err
	}
	for _, l := range d.Lines {
		if _, err := tx.ExecContext(ctx, `INSERT INTO pay_demand_lines (demand_id, head, amount_paise) VALUES ($1, $2, $3)`,
			id, l.Head, l.AmountPaise); err != nil {
			return 0, err
		}
	}
	_, err = s.Audit.Append(ctx, tx, audit.Event{Action: "payments.demand", ObjectType: "pay_demand", ObjectID: fmt.Sprint(id),
		SubjectID: d.PayerID, Summary: map[string]any{"service": d.Service, "consumer": d.ConsumerCode, "purpose": d.Purpose, "paise": total}})
	return id, err
}

// Cancel withdraws an open demand inside tx. A paid demand cannot be cancelled.
func (s *Service) Cancel(ctx context.Context, tx *db.Tx, id int64) error {
	res, err := tx.ExecContext(ctx, `UPDATE pay_demands SET status = 'cancelled' WHERE id = $1 AND status = 'open'`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return web.Conflict("payments.demand_not_open")
	}
	_, err = s.Audit.Append(ctx, tx, audit.Event{Action: "payments.demand_cancel", ObjectType: "pay_demand", ObjectID: fmt.Sprint(id)})
	return err
}

// Started is a payment on its way to the gateway.
type Started struct {
	TxnID       string `json:"txn_id"`
	OrderID     string `json:"order_id"`
	RedirectURL string `json:"redirect_url" doc:"send the payer here"`
	Test        bool   `json:"test_gateway" doc:"true when the built-in test gateway is in use: no money moves"`
}

// Start begins paying a demand: it records a pending payment, asks the
// gateway for an order (outside any transaction: a real gateway is a
// network call), and returns where to send the payer. returnURL is a path
// on this site where the payer lands afterwards.
func (s *Service) Start(ctx context.Context, demandID, payerID int64, returnURL string) (Started, error) {
	g := s.Gateway()
	if g == nil {
		return Started{}, errors.New("payments: no gateway configured")
	}
	if !strings.HasPrefix(returnURL, "/") || strings.HasPrefix(returnURL, "//") {
		return Started{}, web.BadRequest("payments.return_invalid")
	}
	txn := newTxnID(s.now())
	var d Demand
	err := s.DB.Group().Do(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		d, err = s.demand(ctx, tx, demandID)
		if errors.Is(err, db.ErrNotFound) {
			return web.NotFound()
		}
		if err != nil {
			return err
		}
		if d.PayerID != payerID {
			return web.NotFound()
		}
		if d.Status != "open" {
			return web.Conflict("payments.demand_not_open")
		}
		var pid int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO pay_payments (demand_id, txn_id, gateway, amount_paise, status, return_url, created_at)
			VALUES ($1, $2, $3, $4, 'pending', $5, $6) RETURNING id`, d.ID, txn, g.Name(), d.AmountPaise, returnURL, db.Time(s.now())).Scan(&pid); err != nil {
			return err
		}
		_, err = s.Audit.Append(ctx, tx, audit.Event{Action: "payments.start", ObjectType: "pay_payment", ObjectID: txn,
			SubjectID: d.PayerID, Summary: map[string]any{"demand": d.ID, "gateway": g.Name(), "paise": d.AmountPaise}})
		return err
	})
	if err != nil {
		return Started{}, err
	}
	ref, err := g.CreateOrder(ctx, Order{TxnID: txn, AmountPaise: d.AmountPaise, Description: d.Description, PayerName: d.PayerName,
		CallbackURL: "/pay/callback/" + g.Name()})
	if err != nil {
		failure := "gateway: " + truncate(err.Error(), 200)
		s.DB.Group().Do(context.WithoutCancel(ctx), func(ctx context.Context, tx *db.Tx) error {
			_, e := tx.ExecContext(ctx, `UPDATE pay_payments SET status = 'failed', failure = $2, completed_at = $3 WHERE txn_id = $1 AND status = 'pending'`,
				txn, failure, db.Time(s.now()))
			return e
		})
		return Started{}, web.NewError(http.StatusBadGateway, "gateway_unavailable", "payments.gateway_unavailable")
	}
	err = s.DB.Group().Do(ctx, func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE pay_payments SET order_id = $2 WHERE txn_id = $1`, txn, ref.OrderID)
		return err
	})
	if err != nil {
		return Started{}, err
	}
	return Started{TxnID: txn, OrderID: ref.OrderID, RedirectURL: ref.RedirectURL, Test: g.Test()}, nil
}

// Settled is the result of a callback or a reconciliation.
type Settled struct {
	Payment Payment
	Receipt *Receipt // set when the payment succeeded
}

// HandleCallback verifies a gateway's callback and settles the payment. A
// wrong signature, a stale timestamp, a replayed callback id, an unknown
// order or a wrong amount each gives a 4xx and changes nothing.
func (s *Service) HandleCallback(ctx context.Context, gateway string, v url.Values) (Settled, error) {
	g := s.Gateways[gateway]
	if g == nil {
		return Settled{}, web.NotFound()
	}
	// Unsigned noise is logged, not audited (anyone can send it).
	cb, err := g.ParseCallback(v)
	if err != nil {
		s.warn(ctx, gateway, cb, err)
		return Settled{}, err
	}
	if d := s.now().Sub(cb.At); d > CallbackWindow || d < -CallbackWindow {
		s.warn(ctx, gateway, cb, ErrStale)
		return Settled{}, ErrStale
	}
	var out Settled
	err = s.DB.Group().Do(ctx, func(ctx context.Context, tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO pay_callbacks (gateway, callback_id, received_at) VALUES ($1, $2, $3)`,
			gateway, cb.ID, db.Time(s.now())); err != nil {
			if db.IsUnique(err) {
				return ErrReplayed
			}
			return err
		}
		p, err := s.paymentByOrder(ctx, tx, gateway, cb.OrderID)
		if errors.Is(err, db.ErrNotFound) {
			return ErrUnknownOrder
		}
		if err != nil {
			return err
		}
		if cb.AmountPaise != p.AmountPaise {
			return ErrAmount
		}
		if _, err := tx.ExecContext(ctx, `UPDATE pay_callbacks SET payment_id = $3 WHERE gateway = $1 AND callback_id = $2`, gateway, cb.ID, p.ID); err != nil {
			return err
		}
		out, err = s.settle(ctx, tx, p, cb.Status, "callback")
		return err
	})
	if err != nil {
		var we *web.Error
		if errors.As(err, &we) && we.Status < 500 {
			s.reject(ctx, gateway, cb, err)
		}
		return Settled{}, err
	}
	return out, nil
}

func (s *Service) warn(ctx context.Context, gateway string, cb Callback, why error) {
	if s.Log != nil {
		s.Log.WarnContext(ctx, "payment callback refused", "gateway", gateway, "order", truncate(cb.OrderID, 64), "err", why)
	}
}

// reject records a refused callback that the gateway did sign (a replay, an
// unknown order, a wrong amount) in the audit log, in a transaction of its
// own: the refusal changed nothing else.
func (s *Service) reject(ctx context.Context, gateway string, cb Callback, why error) {
	s.warn(ctx, gateway, cb, why)
	err := s.Audit.Read(ctx, s.DB, audit.Event{Action: "payments.callback_refused", ObjectType: "pay_gateway", ObjectID: gateway,
		Summary: map[string]string{"order": truncate(cb.OrderID, 64), "callback": truncate(cb.ID, 64), "reason": web.AsError(why).Code}})
	if err != nil && s.Log != nil {
		s.Log.ErrorContext(ctx, "audit refused callback", "err", err)
	}
}

// settle moves a pending payment to its outcome inside tx. Settling twice
// (a callback after reconciliation) changes nothing the second time.
func (s *Service) settle(ctx context.Context, tx *db.Tx, p Payment, status, via string) (Settled, error) {
	return s.settleWhy(ctx, tx, p, status, via, "declined at the gateway")
}

func (s *Service) settleWhy(ctx context.Context, tx *db.Tx, p Payment, status, via, failure string) (Settled, error) {
	out := Settled{Payment: p}
	if p.Status != Pending || status == Pending {
		if p.Status == Success {
			r, err := s.receiptByPayment(ctx, tx, p.ID)
			if err == nil {
				out.Receipt = &r
			}
		}
		return out, nil
	}
	now := db.Time(s.now())
	if status != Success {
		if _, err := tx.ExecContext(ctx, `UPDATE pay_payments SET status = 'failed', failure = $3, completed_at = $2
			WHERE id = $1 AND status = 'pending'`, p.ID, now, failure); err != nil {
			return out, err
		}
		out.Payment.Status = Failed
		_, err := s.Audit.Append(ctx, tx, audit.Event{Action: "payments.failed", ObjectType: "pay_payment", ObjectID: p.TxnID,
			Summary: map[string]string{"via": via}, Actor: audit.System("payments")})
		return out, err
	}
	d, err := s.demand(ctx, tx, p.DemandID)
	if err != nil {
		return out, err
	}
	// The demand is taken first, with a conditional update: of two payments
	// settling at once, the second waits on the row and then finds it paid.
	res, err := tx.ExecContext(ctx, `UPDATE pay_demands SET status = 'paid', paid_at = $2 WHERE id = $1 AND status = 'open'`, d.ID, now)
	if err != nil {
		return out, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		// Paid twice (two tabs), or paid after the demand was withdrawn:
		// the money came, the demand does not take it. Refund due.
		if _, err := tx.ExecContext(ctx, `UPDATE pay_payments SET status = 'failed', failure = 'demand no longer open: refund due', completed_at = $2
			WHERE id = $1 AND status = 'pending'`, p.ID, now); err != nil {
			return out, err
		}
		out.Payment.Status = Failed
		_, err := s.Audit.Append(ctx, tx, audit.Event{Action: "payments.refund_due", ObjectType: "pay_payment", ObjectID: p.TxnID,
			SubjectID: d.PayerID, Summary: map[string]any{"demand": d.ID, "paise": p.AmountPaise}, Actor: audit.System("payments")})
		return out, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE pay_payments SET status = 'success', completed_at = $2 WHERE id = $1 AND status = 'pending'`, p.ID, now); err != nil {
		return out, err
	}
	number, err := nextReceipt(ctx, tx, s.now())
	if err != nil {
		return out, err
	}
	r := Receipt{Number: number, PaymentID: p.ID, DemandID: d.ID, AmountPaise: p.AmountPaise, IssuedAt: now, TxnID: p.TxnID, Gateway: p.Gateway}
	if _, err := tx.ExecContext(ctx, `INSERT INTO pay_receipts (number, payment_id, demand_id, amount_paise, issued_at) VALUES ($1, $2, $3, $4, $5)`,
		r.Number, r.PaymentID, r.DemandID, r.AmountPaise, r.IssuedAt); err != nil {
		return out, err
	}
	out.Payment.Status, out.Receipt = Success, &r
	paidAt := now
	d.Status, d.PaidAt = "paid", &paidAt
	if _, err := s.Audit.Append(ctx, tx, audit.Event{Action: "payments.paid", ObjectType: "pay_payment", ObjectID: p.TxnID,
		SubjectID: d.PayerID, Summary: map[string]any{"demand": d.ID, "receipt": r.Number, "paise": r.AmountPaise, "via": via},
		Actor: audit.System("payments")}); err != nil {
		return out, err
	}
	if h := s.handlers[d.Service]; h != nil {
		if err := h(ctx, tx, d, r); err != nil {
			return out, fmt.Errorf("payments: %s on paid: %w", d.Service, err)
		}
	}
	return out, nil
}

func newTxnID(now time.Time) string {
	b := make([]byte, 10)
	rand.Read(b)
	return "TXN" + now.UTC().Format("060102") + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// Rupees formats paise as "₹1,234.50" (Indian digit grouping).
func Rupees(paise int64) string {
	neg := paise < 0
	if neg {
		paise = -paise
	}
	r, p := paise/100, paise%100
	s := fmt.Sprint(r)
	if len(s) > 3 {
		head, tail := s[:len(s)-3], s[len(s)-3:]
		var parts []string
		for len(head) > 2 {
			parts = append([]string{head[len(head)-2:]}, parts...)
			head = head[:len(head)-2]
		}
		if head != "" {
			parts = append([]string{head}, parts...)
		}
		s = strings.Join(parts, ",") + "," + tail
	}
	out := "₹" + s
	if p != 0 {
		out += fmt.Sprintf(".%02d", p)
	}
	if neg {
		out = "−" + out
	}
	return out
}
