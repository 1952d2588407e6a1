package payments

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"mizogov/internal/db"
	"mizogov/internal/refno"
)

const demandCols = `id, service, consumer_code, purpose, COALESCE(payer_id, 0), payer_name, description, amount_paise, status, created_at, paid_at`

func scanDemand(row interface{ Scan(...any) error }) (Demand, error) {
	var d Demand
	var paid sql.NullTime
	err := row.Scan(&d.ID, &d.Service, &d.ConsumerCode, &d.Purpose, &d.PayerID, &d.PayerName, &d.Description, &d.AmountPaise, &d.Status, &d.CreatedAt, &paid)
	if errors.Is(err, sql.ErrNoRows) {
		return d, db.ErrNotFound
	}
	if paid.Valid {
		t := paid.Time
		d.PaidAt = &t
	}
	return d, err
}

func (s *Service) demand(ctx context.Context, q db.Querier, id int64) (Demand, error) {
	d, err := scanDemand(q.QueryRowContext(ctx, `SELECT `+demandCols+` FROM pay_demands WHERE id = $1`, id))
	if err != nil {
		return d, err
	}
	rows, err := q.QueryContext(ctx, `SELECT head, amount_paise FROM pay_demand_lines WHERE demand_id = $1 ORDER BY head`, id)
	if err != nil {
		return d, err
	}
	defer rows.Close()
	for rows.Next() {
		var l Line
		if err := rows.Scan(&l.Head, &l.AmountPaise); err != nil {
			return d, err
		}
		d.Lines = append(d.Lines, l)
	}
	return d, rows.Err()
}

// Demand returns a demand with its lines.
func (s *Service) Demand(ctx context.Context, q db.Querier, id int64) (Demand, error) {
	return s.demand(ctx, q, id)
}

// DemandFor returns the demand a service raised for a consumer code and purpose.
func (s *Service) DemandFor(ctx context.Context, q db.Querier, service, consumer, purpose string) (Demand, error) {
	d, err := scanDemand(q.QueryRowContext(ctx, `SELECT `+demandCols+` FROM pay_demands WHERE service = $1 AND consumer_code = $2 AND purpose = $3`,
		service, consumer, purpose))
	if err != nil {
		return d, err
	}
	return s.demand(ctx, q, d.ID)
}

const paymentCols = `id, demand_id, txn_id, gateway, COALESCE(order_id, ''), amount_paise, status, failure, return_url, created_at, completed_at`

func scanPayment(row interface{ Scan(...any) error }) (Payment, error) {
	var p Payment
	var done sql.NullTime
	err := row.Scan(&p.ID, &p.DemandID, &p.TxnID, &p.Gateway, &p.OrderID, &p.AmountPaise, &p.Status, &p.Failure, &p.ReturnURL, &p.CreatedAt, &done)
	if errors.Is(err, sql.ErrNoRows) {
		return p, db.ErrNotFound
	}
	if done.Valid {
		t := done.Time
		p.CompletedAt = &t
	}
	return p, err
}

func (s *Service) paymentByOrder(ctx context.Context, q db.Querier, gateway, order string) (Payment, error) {
	return scanPayment(q.QueryRowContext(ctx, `SELECT `+paymentCols+` FROM pay_payments WHERE gateway = $1 AND order_id = $2`, gateway, order))
}

// Payments lists a demand's payment attempts, newest first.
func (s *Service) Payments(ctx context.Context, demandID int64) ([]Payment, error) {
	rows, err := s.DB.R().QueryContext(ctx, `SELECT `+paymentCols+` FROM pay_payments WHERE demand_id = $1 ORDER BY id DESC`, demandID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Payment
	for rows.Next() {
		p, err := scanPayment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

const receiptCols = `r.number, r.payment_id, r.demand_id, r.amount_paise, r.issued_at, p.txn_id, p.gateway`

func scanReceipt(row interface{ Scan(...any) error }) (Receipt, error) {
	var r Receipt
	err := row.Scan(&r.Number, &r.PaymentID, &r.DemandID, &r.AmountPaise, &r.IssuedAt, &r.TxnID, &r.Gateway)
	if errors.Is(err, sql.ErrNoRows) {
		return r, db.ErrNotFound
	}
	return r, err
}

func (s *Service) receiptByPayment(ctx context.Context, q db.Querier, paymentID int64) (Receipt, error) {
	return scanReceipt(q.QueryRowContext(ctx, `SELECT `+receiptCols+` FROM pay_receipts r JOIN pay_payments p ON p.id = r.payment_id WHERE r.payment_id = $1`, paymentID))
}

// Receipt returns a receipt by number.
func (s *Service) Receipt(ctx context.Context, number string) (Receipt, error) {
	return scanReceipt(s.DB.R().QueryRowContext(ctx, `SELECT `+receiptCols+` FROM pay_receipts r JOIN pay_payments p ON p.id = r.payment_id WHERE r.number = $1`, number))
}

// ReceiptFor returns the receipt of a paid demand.
func (s *Service) ReceiptFor(ctx context.Context, q db.Querier, demandID int64) (Receipt, error) {
	return scanReceipt(q.QueryRowContext(ctx, `SELECT `+receiptCols+` FROM pay_receipts r JOIN pay_payments p ON p.id = r.payment_id WHERE r.demand_id = $1`, demandID))
}

func nextReceipt(ctx context.Context, tx *db.Tx, now time.Time) (string, error) {
	return refno.Next(ctx, tx, "RCP", now)
}

// pendingBefore lists pending payments created before t (for reconciliation).
func (s *Service) pendingBefore(ctx context.Context, t time.Time, limit int) ([]Payment, error) {
	rows, err := s.DB.R().QueryContext(ctx, `SELECT `+paymentCols+` FROM pay_payments WHERE status = 'pending' AND created_at < $1 ORDER BY created_at LIMIT $2`,
		db.Time(t), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Payment
	for rows.Next() {
		p, err := scanPayment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
