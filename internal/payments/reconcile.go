package payments

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"mizogov/internal/db"
)

// Reconciliation: a payer who closes the tab after paying never brings the
// callback back. Pending payments older than ReconcileAfter are checked with
// the gateway; those the gateway still calls pending after GiveUpAfter fail.
const (
	ReconcileAfter = 2 * time.Minute
	GiveUpAfter    = 24 * time.Hour
)

// ReconcileArgs is the periodic reconciliation job.
type ReconcileArgs struct{}

// Kind names the job.
func (ReconcileArgs) Kind() string { return "payments_reconcile" }

// ReconcileWorker runs Reconcile.
type ReconcileWorker struct {
	river.WorkerDefaults[ReconcileArgs]
	S *Service
}

// Work reconciles one batch.
func (w *ReconcileWorker) Work(ctx context.Context, _ *river.Job[ReconcileArgs]) error {
	_, err := w.S.Reconcile(ctx)
	return err
}

// Reconcile asks the gateways about pending payments and settles those with
// an answer. It returns how many it settled.
func (s *Service) Reconcile(ctx context.Context) (int, error) {
	now := s.now()
	list, err := s.pendingBefore(ctx, now.Add(-ReconcileAfter), 500)
	if err != nil {
		return 0, err
	}
	settled := 0
	for _, p := range list {
		status, why := Pending, ""
		g := s.Gateways[p.Gateway]
		if g != nil && p.OrderID != "" {
			cb, err := g.Status(ctx, p.OrderID)
			switch {
			case err != nil:
				if s.Log != nil {
					s.Log.WarnContext(ctx, "payment status query failed", "txn", p.TxnID, "err", err)
				}
			case cb.AmountPaise != p.AmountPaise && cb.Status == Success:
				if s.Log != nil {
					s.Log.ErrorContext(ctx, "gateway reports a different amount", "txn", p.TxnID)
				}
			default:
				status, why = cb.Status, "declined at the gateway"
			}
		}
		if status == Pending && now.Sub(p.CreatedAt) > GiveUpAfter {
			status, why = Failed, "no answer from the gateway within 24 hours"
		}
		if status == Pending {
			continue
		}
		err := s.DB.Tx(ctx, func(tx *db.Tx) error {
			cur, err := scanPayment(tx.QueryRowContext(ctx, `SELECT `+paymentCols+` FROM pay_payments WHERE id = $1`, p.ID))
			if err != nil {
				return err
			}
			_, err = s.settleWhy(ctx, tx, cur, status, "reconcile", why)
			return err
		})
		if err != nil {
			return settled, err
		}
		settled++
	}
	return settled, nil
}
